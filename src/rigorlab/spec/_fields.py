"""Building blocks of the study file's schema: field-aware validation errors and the strict base model."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["FieldProblem", "MissingField", "Strict"]


class FieldProblem(ValueError):
    """A validation problem that knows which field (relative path) it is about."""

    def __init__(self, message: str, *path: str | int) -> None:
        super().__init__(message)
        self.path = path


class MissingField(FieldProblem):
    """A field that is required only in some cases (``estimator`` of a scikit-learn model) is missing."""

    def __init__(self, *path: str | int) -> None:
        super().__init__("missing", *path)


class Strict(BaseModel):
    """Unknown fields are errors; validated specs are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
