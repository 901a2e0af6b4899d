"""Fixtures for the statistics tests: where the reference cases live, and how to read them."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, settings

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SHARED_CASES = PROJECT_ROOT.parent / "shared" / "reference-cases" / "stats"
IN_REPO_CASES = Path(__file__).resolve().parent / "reference_cases"
CASE_NAMES = (
    "baycomp_nbc_j48",
    "deepsig_aso_readme",
    "rliable_metrics",
    "scikit_posthocs_nemenyi_friedman_bn",
)

# Property tests stay quick: a few dozen examples, no deadline (first calls warm scipy up).
# RIGORLAB_HYPOTHESIS_PROFILE=thorough runs 20x more examples when hunting edge cases. The profiles are
# applied per test (``PROPERTY_SETTINGS`` in the test modules), never loaded globally, so other test packages
# keep their own Hypothesis settings.
settings.register_profile(
    "rigorlab-stats", max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("thorough", max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def reference_root() -> Path:
    """The shared reference cases when this checkout sits beside them, else the in-repo copy."""
    return SHARED_CASES if SHARED_CASES.is_dir() else IN_REPO_CASES


@pytest.fixture(scope="session")
def shared_cases() -> Path:
    return SHARED_CASES


@pytest.fixture(scope="session")
def in_repo_cases() -> Path:
    return IN_REPO_CASES


@pytest.fixture(scope="session")
def case_names() -> tuple[str, ...]:
    return CASE_NAMES


@pytest.fixture(scope="session")
def case_dir() -> Callable[[str], Path]:
    def locate(name: str) -> Path:
        return reference_root() / name

    return locate


@pytest.fixture(scope="session")
def expected() -> Callable[[str], dict[str, Any]]:
    def load(name: str) -> dict[str, Any]:
        with (reference_root() / name / "expected.json").open(encoding="utf-8") as handle:
            return dict(json.load(handle))

    return load


@pytest.fixture(scope="session")
def read_csv() -> Callable[[str, str], pd.DataFrame]:
    def load(name: str, file_name: str) -> pd.DataFrame:
        return pd.read_csv(reference_root() / name / file_name)

    return load
