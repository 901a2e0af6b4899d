"""Fairness mitigation arms: a scikit-learn classifier wrapped by fairlearn.

A model with ``mitigation:`` in the study file trains as :class:`MitigatedClassifier`, which reads
its input frame as the features *plus* the dataset's sensitive columns (named with
:data:`SENSITIVE_PREFIX`, so that they never collide with a feature): it passes the features to
the classifier and the sensitive columns to fairlearn, at fit and (for the threshold optimizer) at
prediction time. Several sensitive columns form intersectional groups (fairlearn combines them).

- ``threshold_optimizer``: fairlearn's ``ThresholdOptimizer`` (post-processing; ``prefit=False``,
  so it fits the classifier itself on the trial's training rows, then picks group-specific
  thresholds that satisfy the constraint while maximising ``objective``).
- ``exponentiated_gradient``: fairlearn's ``ExponentiatedGradient`` (a reduction that refits the
  classifier with sample weights and returns a randomized mixture of the fits).

Both predict at random between two decisions for some rows; the draws come from ``random_state``
(the trial's init seed), so a trial's predictions are reproducible. ``predict_proba`` returns the
probability of each decision (fairlearn's ``_pmf_predict``, which its own plotting uses; there is
no public method for it). fairlearn needs 0/1 labels: the larger label is the positive class (as
in the fairness audit) and predictions are mapped back to the dataset's labels.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from sklearn.base import BaseEstimator, ClassifierMixin, clone

__all__ = [
    "MSG_MITIGATION_BINARY",
    "MSG_MITIGATION_DEGENERATE",
    "MSG_MITIGATION_SENSITIVE",
    "SENSITIVE_PREFIX",
    "MitigatedClassifier",
]

SENSITIVE_PREFIX = "sensitive:"
"""Prefix of the sensitive columns in a mitigated model's input frame."""

MSG_MITIGATION_BINARY = (
    "Mitigation ({method}) needs a binary classification target, but the training rows hold {count} classes "
    "({classes}). Use it on a two-class dataset, or remove mitigation:."
)
MSG_MITIGATION_DEGENERATE = (
    "Mitigation ({method}) needs both labels in every sensitive group of the training rows, but {detail}. Mitigate "
    "for fewer sensitive columns (mitigation: {{method: {method}, sensitive: [column]}}: several columns make small "
    "intersectional groups), or use more training rows."
)
MSG_MITIGATION_SENSITIVE = (
    "The mitigated model needs the sensitive columns {columns} in its input (as '{prefix}<column>'), and they are "
    "missing from the rows it was given."
)

_PANDAS_DEPRECATION: type[Warning] = getattr(pd.errors, "Pandas4Warning", FutureWarning)

# fairlearn's constraint names -> reductions moment classes (exponentiated gradient).
_MOMENTS = {
    "demographic_parity": "DemographicParity",
    "equalized_odds": "EqualizedOdds",
    "true_positive_rate_parity": "TruePositiveRateParity",
    "false_positive_rate_parity": "FalsePositiveRateParity",
    "error_rate_parity": "ErrorRateParity",
}


class MitigatedClassifier(ClassifierMixin, BaseEstimator):  # type: ignore[misc]  # scikit-learn ships no type information
    """A binary classifier made fairer by fairlearn, reading features and sensitive columns from one frame.

    Parameters
    ----------
    estimator : scikit-learn classifier (often a Pipeline)
        Reads the feature columns (every column not in ``sensitive_columns``).
    method : {"threshold_optimizer", "exponentiated_gradient"}
    constraints : str
        fairlearn's constraint (``demographic_parity``, ``equalized_odds``, ...).
    settings : mapping, optional
        ``objective`` and ``grid_size`` (threshold optimizer), ``eps`` and ``max_iter`` (exponentiated
        gradient).
    sensitive_columns : sequence of str
        The sensitive columns of the input frame (``SENSITIVE_PREFIX + name``).
    random_state : int, optional
        Seeds the randomized predictions.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> model = MitigatedClassifier(LogisticRegression(), "threshold_optimizer", "demographic_parity",
    ...                             sensitive_columns=["sensitive:sex"], random_state=0)  # doctest: +SKIP
    >>> model.fit(frame, labels).predict(frame)  # doctest: +SKIP
    """

    def __init__(
        self,
        estimator: Any = None,
        method: str = "threshold_optimizer",
        constraints: str = "demographic_parity",
        settings: Mapping[str, Any] | None = None,
        sensitive_columns: Sequence[str] = (),
        random_state: int | None = None,
    ) -> None:
        self.estimator = estimator
        self.method = method
        self.constraints = constraints
        self.settings = settings
        self.sensitive_columns = sensitive_columns
        self.random_state = random_state

    def _split(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        columns = list(self.sensitive_columns)
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise ValueError(
                MSG_MITIGATION_SENSITIVE.format(
                    columns=", ".join(c.removeprefix(SENSITIVE_PREFIX) for c in missing), prefix=SENSITIVE_PREFIX
                )
            )
        # Groups as text, missing values a group of their own (as in the fairness audit).
        sensitive = frame[columns].astype("string").fillna("missing").astype(str)
        return frame.drop(columns=columns), sensitive

    def _mitigator(self) -> Any:
        settings = dict(self.settings or {})
        if self.method == "threshold_optimizer":
            from fairlearn.postprocessing import ThresholdOptimizer

            return ThresholdOptimizer(
                estimator=clone(self.estimator),
                constraints=self.constraints,
                objective=settings.get("objective", "accuracy_score"),
                grid_size=int(settings.get("grid_size", 1000)),
                prefit=False,
                predict_method="auto",
            )
        if self.method == "exponentiated_gradient":
            from fairlearn import reductions

            steps = getattr(self.estimator, "steps", None)
            # fairlearn passes the weights as fit(..., sample_weight=w); a Pipeline takes them for its last step.
            weight_name = f"{steps[-1][0]}__sample_weight" if steps else "sample_weight"
            return reductions.ExponentiatedGradient(
                clone(self.estimator),
                constraints=getattr(reductions, _MOMENTS[self.constraints])(),
                eps=float(settings.get("eps", 0.01)),
                max_iter=int(settings.get("max_iter", 50)),
                sample_weight_name=weight_name,
            )
        raise ValueError(f"unknown mitigation method '{self.method}'")

    def fit(self, X: pd.DataFrame, y: Any) -> MitigatedClassifier:
        """Fit the classifier and the mitigation on ``X`` (features and sensitive columns) and labels ``y``."""
        features, sensitive = self._split(X)
        labels = np.asarray(y)
        classes = np.unique(labels)
        if len(classes) != 2:
            shown = ", ".join(str(c) for c in classes[:5])
            raise ValueError(MSG_MITIGATION_BINARY.format(method=self.method, count=len(classes), classes=shown))
        self.classes_ = classes
        binary = (labels == classes[1]).astype(np.int64)
        mitigator = self._mitigator()
        with warnings.catch_warnings():
            # fairlearn 0.15's moments grow and retype Series in ways pandas 3 deprecates (Pandas4Warning raised
            # from fairlearn's own lines); it is theirs to fix and harmless here.
            warnings.filterwarnings("ignore", category=_PANDAS_DEPRECATION, module=r"fairlearn\.")
            try:
                mitigator.fit(features, binary, sensitive_features=sensitive)
            except ValueError as error:
                if "Degenerate labels" not in str(error):
                    raise
                # fairlearn names the group ("... for sensitive feature value Black,Female,No").
                detail = (
                    str(error).strip().rstrip(".").replace("Degenerate labels for sensitive feature value", "group")
                )
                raise ValueError(
                    MSG_MITIGATION_DEGENERATE.format(method=self.method, detail=f"{detail} has one label only")
                ) from error
        self.mitigator_ = mitigator
        return self

    def _decisions(self, X: pd.DataFrame) -> NDArray[np.int64]:
        features, sensitive = self._split(X)
        if self.method == "threshold_optimizer":
            decided = self.mitigator_.predict(features, sensitive_features=sensitive, random_state=self.random_state)
        else:
            decided = self.mitigator_.predict(features, random_state=self.random_state)
        return np.asarray(decided, dtype=np.int64)

    def predict(self, X: pd.DataFrame) -> NDArray[Any]:
        """The dataset's labels, decided by the mitigated model (randomized rows drawn from ``random_state``)."""
        return np.asarray(self.classes_[self._decisions(X)])

    def predict_proba(self, X: pd.DataFrame) -> NDArray[np.float64]:
        """Probability of each label (shape (n_rows, 2)) under the mitigated model's randomized decision."""
        features, sensitive = self._split(X)
        if self.method == "threshold_optimizer":
            probabilities = self.mitigator_._pmf_predict(features, sensitive_features=sensitive)
        else:
            probabilities = self.mitigator_._pmf_predict(features)
        return np.asarray(probabilities, dtype=np.float64)
