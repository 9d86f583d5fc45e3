"""Registration from the systems banks already run (MLflow); each needs its optional extra."""
