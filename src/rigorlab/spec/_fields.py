"""Building blocks of the study file's schema: field-aware validation errors and the strict base model."""

from __future__ import annotations

import difflib

from pydantic import BaseModel, ConfigDict

__all__ = ["FieldProblem", "MissingField", "Strict", "closest"]


class FieldProblem(ValueError):
    """A validation problem that knows which field (relative path) it is about."""

    def __init__(self, message: str, *path: str | int) -> None:
        super().__init__(message)
        self.path = path


class MissingField(FieldProblem):
    """A field that is required only in some cases (``estimator`` of a scikit-learn model) is missing."""

    def __init__(self, *path: str | int) -> None:
        super().__init__("missing", *path)


def closest(word: str, choices: list[str]) -> str:
    """`` Did you mean 'x'?`` for the closest of ``choices``, or an empty string.

    Examples
    --------
    >>> closest("fairnes", ["data", "fairness"])
    " Did you mean 'fairness'?"
    """
    match = difflib.get_close_matches(word, choices, n=1, cutoff=0.5)
    return f" Did you mean '{match[0]}'?" if match else ""


class Strict(BaseModel):
    """Unknown fields are errors; validated specs are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
