"""Every RunStore backend passes the shipped contract (today: SQLite)."""

from __future__ import annotations

import pytest

from rigorlab.store import SQLiteStore
from rigorlab.store.testing import CONTRACT

BACKENDS = {"sqlite": lambda root: SQLiteStore(root, create=True)}


@pytest.mark.parametrize("backend", sorted(BACKENDS))
@pytest.mark.parametrize("check", CONTRACT, ids=lambda check: check.__name__)
def test_store_contract(check, backend, tmp_path):
    check(lambda: BACKENDS[backend](tmp_path / "store"))


class _LosesPrecision(SQLiteStore):
    """A backend that stores prediction scores as float32: the contract must catch it."""

    def predictions(self, study, key):
        loaded = super().predictions(study, key)
        return {**loaded, "scores": loaded["scores"].astype("float32").astype("float64")}


class _ForgetsErrors(SQLiteStore):
    """A backend that loses the error message of a failed trial."""

    def trials(self, study, *args, **kwargs):
        return super().trials(study, *args, **kwargs).assign(error=None)


@pytest.mark.parametrize(
    ("broken", "check"),
    [
        (_LosesPrecision, "check_arrays_round_trip"),
        (_ForgetsErrors, "check_done_is_immutable_and_failed_is_replaced"),
    ],
)
def test_the_contract_fails_a_backend_that_breaks_it(broken, check, tmp_path):
    (found,) = [c for c in CONTRACT if c.__name__ == check]
    with pytest.raises(AssertionError):
        found(lambda: broken(tmp_path / "store", create=True))
