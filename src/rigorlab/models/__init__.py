"""Model adapters and metrics: scikit-learn estimators by import path, metrics by name."""

from rigorlab.models._metrics import (
    CLASSIFICATION,
    METRICS,
    REGRESSION,
    MetricInfo,
    compute_metric,
    higher_is_better,
    is_known_metric,
    known_metric_names,
)
from rigorlab.models._sklearn import build_estimator, build_pipeline, check_encoding, import_object

__all__ = [
    "CLASSIFICATION",
    "build_estimator",
    "build_pipeline",
    "check_encoding",
    "import_object",
    "METRICS",
    "REGRESSION",
    "MetricInfo",
    "compute_metric",
    "higher_is_better",
    "is_known_metric",
    "known_metric_names",
]
