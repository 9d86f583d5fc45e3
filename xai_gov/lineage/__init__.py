"""Where a model version came from: code, data, trainer, run, environment."""
