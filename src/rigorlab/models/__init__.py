"""Model adapters and metrics: scikit-learn estimators by import path, the torch trainer (batched
replicates; torch is imported on first use), the transformers text classifier, metrics by name."""

from rigorlab.models._fairness import SENSITIVE_PREFIX, MitigatedClassifier
from rigorlab.models._metrics import (
    CLASSIFICATION,
    METRICS,
    REGRESSION,
    MetricDirection,
    MetricInfo,
    compute_metric,
    higher_is_better,
    is_known_metric,
    known_metric_names,
    metric_bounds,
    metric_direction,
)
from rigorlab.models._sklearn import build_estimator, build_pipeline, build_preprocessor, check_encoding, import_object
from rigorlab.models._torch import (
    ReplicateFit,
    ReplicateJob,
    TorchModel,
    TorchSetupError,
    check_torch_model,
    fit_torch_replicates,
    resolve_device,
)
from rigorlab.models._torch_config import EarlyStopping, TrainingConfig


def __getattr__(name: str) -> object:
    # TextClassifier subclasses torch.nn.Module: importing it imports torch and transformers, which a
    # scikit-learn-only study should not pay for. It is loaded on first access.
    if name == "TextClassifier":
        from rigorlab.models._transformers import TextClassifier

        return TextClassifier
    raise AttributeError(f"module 'rigorlab.models' has no attribute '{name}'")


__all__ = [
    "CLASSIFICATION",
    "EarlyStopping",
    "MitigatedClassifier",
    "ReplicateFit",
    "ReplicateJob",
    "TextClassifier",
    "TorchModel",
    "TorchSetupError",
    "TrainingConfig",
    "build_estimator",
    "build_pipeline",
    "build_preprocessor",
    "check_encoding",
    "check_torch_model",
    "fit_torch_replicates",
    "import_object",
    "METRICS",
    "REGRESSION",
    "SENSITIVE_PREFIX",
    "MetricDirection",
    "MetricInfo",
    "compute_metric",
    "higher_is_better",
    "is_known_metric",
    "known_metric_names",
    "metric_bounds",
    "metric_direction",
    "resolve_device",
]
