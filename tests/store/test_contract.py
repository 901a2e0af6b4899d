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
