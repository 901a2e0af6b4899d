"""The exceptions rigorlab raises, all under one root.

::

    RigorlabError                 every error rigorlab raises on purpose
    ├── InputError                the user's input is wrong; the CLI exits with code 2
    │   ├── SpecError             a study file: YAML syntax, unknown key, wrong type or value
    │   ├── DataError             a dataset: missing file, absent target column, missing labels
    │   └── NotFoundError         an unknown study, trial, arm, dataset or metric in the store
    ├── StoreError                the store cannot be opened or written (corrupt, newer schema)
    │   └── SchemaVersionError    the store was written by a newer rigorlab
    └── ExecutionError            the executor itself failed (not a trial: trials fail into the store)

Every message names what to fix: the file and line, the field or value, what was expected and
what was found. Library errors are wrapped with ``raise ... from error`` so the cause stays
visible to developers while users see one clear paragraph.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence

__all__ = [
    "DataError",
    "ExecutionError",
    "InputError",
    "NotFoundError",
    "RigorlabError",
    "SchemaVersionError",
    "SpecError",
    "StoreError",
    "did_you_mean",
]


def did_you_mean(word: str, choices: Sequence[str], cutoff: float = 0.5) -> str:
    """`` Did you mean 'x'?`` for the closest of ``choices``, or an empty string: the end of a message.

    Examples
    --------
    >>> did_you_mean("fairnes", ["data", "fairness"])
    " Did you mean 'fairness'?"
    """
    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=cutoff)
    return f" Did you mean '{match[0]}'?" if match else ""


class RigorlabError(Exception):
    """Root of every error rigorlab raises on purpose.

    ``exit_code`` is what the command line exits with: 2 for bad input, 1 otherwise.
    """

    exit_code: int = 1


class InputError(RigorlabError):
    """The user's input (a study file, a dataset, a command argument) is wrong."""

    exit_code = 2


class SpecError(InputError):
    """A study file is malformed or invalid. The message names ``file:line`` and the field."""


class DataError(InputError):
    """A dataset cannot be loaded or does not have the declared shape."""


class NotFoundError(InputError):
    """Something asked for by name is not in the store (a study, trial, arm, dataset, metric)."""


class StoreError(RigorlabError):
    """The store cannot be opened, read or written."""

    exit_code = 2


class SchemaVersionError(StoreError):
    """The store's schema is newer than this version of rigorlab understands."""


class ExecutionError(RigorlabError):
    """The executor failed as a whole (a single trial's failure is stored, not raised)."""
