"""xai-gov: explainability and model governance for credit decisions."""

from xai_gov.errors import XaiGovError
from xai_gov.lineage.capture import capture_environment, training_run
from xai_gov.lineage.datahash import hash_file, hash_frame
from xai_gov.registry.adapters import HttpAdapter, PythonAdapter, SklearnAdapter
from xai_gov.registry.schema import Feature, FeatureSchema
from xai_gov.sdk import (
    Client,
    approve,
    connect,
    explain,
    get_explanation,
    get_model,
    import_mlflow,
    lineage,
    lineage_between,
    lineage_by_commit,
    lineage_by_data_hash,
    lineage_by_dataset_digest,
    lineage_by_decision,
    lineage_by_mlflow_run,
    lineage_by_trainer,
    list_models,
    monitor,
    move_alias,
    register,
    replay,
)

__version__ = "0.1.0"

__all__ = [
    "Client",
    "Feature",
    "FeatureSchema",
    "HttpAdapter",
    "PythonAdapter",
    "SklearnAdapter",
    "XaiGovError",
    "approve",
    "capture_environment",
    "connect",
    "explain",
    "get_explanation",
    "get_model",
    "hash_file",
    "hash_frame",
    "import_mlflow",
    "lineage",
    "lineage_between",
    "lineage_by_commit",
    "lineage_by_data_hash",
    "lineage_by_dataset_digest",
    "lineage_by_decision",
    "lineage_by_mlflow_run",
    "lineage_by_trainer",
    "list_models",
    "monitor",
    "move_alias",
    "register",
    "replay",
    "training_run",
]
