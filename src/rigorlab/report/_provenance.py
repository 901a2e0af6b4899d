"""The report's view of provenance: environments, git states and compute time of a study.

The methods section, the checklist and the caveats all describe the same facts; they read them
from here so they never disagree.
"""

from __future__ import annotations

import importlib.metadata
import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

import pandas as pd

from rigorlab.provenance import KEY_PACKAGES
from rigorlab.store import DONE

from ._facts import StoredStudy

__all__ = [
    "CORE_PACKAGES",
    "ComputeView",
    "EnvironmentView",
    "GitState",
    "compute_view",
    "duration_text",
    "environment_differences",
    "environment_views",
    "estimator_package",
    "git_states",
    "gpu_text",
    "key_package_versions",
    "memory_text",
    "plural",
]

CORE_PACKAGES = ("numpy", "scipy", "pandas", "scikit-learn")


@dataclass(frozen=True)
class EnvironmentView:
    """One recorded environment, how many (sampled) trials and how many invocations ran in it."""

    hash: str
    trials: int
    runs: int
    python: str | None
    os: str | None
    cpu: str | None
    cpu_cores: int | None
    memory_bytes: int | None
    gpus: tuple[str, ...]
    packages: dict[str, str] = field(default_factory=dict)

    @property
    def hardware(self) -> str:
        parts = [self.cpu or "an unrecorded CPU"]
        if self.cpu_cores:
            parts[0] += f" ({self.cpu_cores} logical cores)"
        if self.memory_bytes:
            parts.append(f"{memory_text(self.memory_bytes)} of memory")
        parts.append(", ".join(self.gpus) if self.gpus else "no GPU")
        return ", ".join(parts)


def plural(count: int, word: str) -> str:
    """``1 run``, ``2 runs``."""
    return f"{count} {word}{'' if count == 1 else 's'}"


def memory_text(size: int | float | None) -> str:
    """Bytes as GiB, e.g. ``23.5 GiB``."""
    if not size:
        return "unknown"
    return f"{float(size) / 2**30:.1f} GiB"


def gpu_text(gpu: dict[str, Any]) -> str:
    """One GPU: name, memory, driver and CUDA when recorded."""
    text = str(gpu.get("name", "GPU"))
    details = []
    if gpu.get("memory_mib"):
        details.append(f"{float(gpu['memory_mib']) / 1024:.0f} GiB")
    if gpu.get("driver"):
        details.append(f"driver {gpu['driver']}")
    if gpu.get("cuda"):
        details.append(f"CUDA {gpu['cuda']}")
    return f"{text} ({', '.join(details)})" if details else text


def environment_views(facts: StoredStudy) -> list[EnvironmentView]:
    """The study's environments, the most used first."""
    views = []
    for env_hash, record in facts.environments.items():
        views.append(
            EnvironmentView(
                hash=env_hash,
                trials=facts.environment_trials.get(env_hash, 0),
                runs=facts.environment_runs.get(env_hash, 0),
                python=record.get("python"),
                os=record.get("os"),
                cpu=record.get("cpu"),
                cpu_cores=record.get("cpu_cores"),
                memory_bytes=record.get("memory_bytes"),
                gpus=tuple(gpu_text(gpu) for gpu in record.get("gpus") or []),
                packages=dict(record.get("packages") or {}),
            )
        )
    return sorted(views, key=lambda view: (-view.trials, -view.runs, view.hash))


def _values(views: Iterable[EnvironmentView], read: Any) -> dict[str, tuple[int, int]]:
    counts: dict[str, tuple[int, int]] = {}
    for view in views:
        value = str(read(view))
        trials, runs = counts.get(value, (0, 0))
        counts[value] = (trials + view.trials, runs + view.runs)
    return counts


def environment_differences(views: list[EnvironmentView]) -> list[tuple[str, dict[str, tuple[int, int]]]]:
    """What differs between the environments: ``(what, {value: (trials, runs)})`` for each field
    with more than one value (Python, OS, CPU, cores, GPUs, each package version)."""
    if len(views) < 2:
        return []
    fields: list[tuple[str, Any]] = [
        ("Python", lambda v: v.python),
        ("OS", lambda v: v.os),
        ("CPU", lambda v: v.cpu),
        ("CPU cores", lambda v: v.cpu_cores),
        ("GPU", lambda v: ", ".join(v.gpus) or "none"),
    ]
    names = sorted({name for view in views for name in view.packages})
    fields += [(name, lambda v, name=name: v.packages.get(name, "not installed")) for name in names]
    differences = []
    for label, read in fields:
        values = _values(views, read)
        if len(values) > 1:
            differences.append((label, values))
    return differences


@cache
def _distributions() -> dict[str, list[str]]:
    return dict(importlib.metadata.packages_distributions())


def estimator_package(import_path: str) -> str | None:
    """The distribution that provides an estimator (``sklearn.x.Y`` -> ``scikit-learn``)."""
    top_level = import_path.replace(":", ".").split(".")[0]
    names = _distributions().get(top_level)
    return names[0].lower() if names else None


def key_package_versions(views: list[EnvironmentView], extra: Iterable[str] = ()) -> dict[str, list[str]]:
    """Versions of the packages named in methods: rigorlab's key packages plus ``extra``."""
    wanted = list(dict.fromkeys([*KEY_PACKAGES, *extra]))
    versions: dict[str, list[str]] = {}
    for name in wanted:
        found = sorted({view.packages[name] for view in views if name in view.packages})
        if found:
            versions[name] = found
    return versions


@dataclass(frozen=True)
class GitState:
    """A git state that produced results: commit, branch, uncommitted changes, runs."""

    commit: str | None
    branch: str | None
    dirty: bool
    diff_sha256: str | None
    runs: int


def git_states(facts: StoredStudy) -> list[GitState] | None:
    """Distinct git states over the study's runs; None when no run recorded git (not a work tree)."""
    if facts.runs.empty:
        return None
    states: Counter[tuple[str | None, str | None, bool, str | None]] = Counter()
    recorded = False
    for git in facts.runs["git"]:
        if not git:
            continue
        recorded = True
        dirty = bool(git.get("dirty"))
        states[(git.get("commit"), git.get("branch"), dirty, git.get("diff_sha256") if dirty else None)] += 1
    if not recorded:
        return None
    return [
        GitState(commit=commit, branch=branch, dirty=dirty, diff_sha256=diff, runs=count)
        for (commit, branch, dirty, diff), count in states.most_common()
    ]


@dataclass(frozen=True)
class ComputeView:
    """Compute time of the study's trials (seconds)."""

    trials: int
    finished: int
    unfinished: int
    fit_seconds: float
    predict_seconds: float
    unfinished_seconds: float
    median_trial_seconds: float
    max_trial_seconds: float
    wall_seconds: float
    runs: int

    @property
    def total_seconds(self) -> float:
        return self.fit_seconds + self.predict_seconds


def _elapsed(started: Any, finished: Any) -> float:
    if not started or not finished:
        return 0.0
    try:
        return max(0.0, (datetime.fromisoformat(str(finished)) - datetime.fromisoformat(str(started))).total_seconds())
    except ValueError:
        return 0.0


def compute_view(facts: StoredStudy) -> ComputeView:
    """Fit and prediction time of finished trials, time spent on unfinished ones, and the
    wall-clock time of the runs (invocations) that wrote them."""
    trials = facts.trials
    done = trials["status"] == DONE
    fit = pd.to_numeric(trials["fit_seconds"], errors="coerce").fillna(0.0)
    predict = pd.to_numeric(trials["predict_seconds"], errors="coerce").fillna(0.0)
    per_trial = (fit + predict)[done]
    unfinished = [
        _elapsed(s, f) for s, f in zip(trials["started_at"][~done], trials["finished_at"][~done], strict=True)
    ]
    wall = sum(_elapsed(s, f) for s, f in zip(facts.runs["started_at"], facts.runs["finished_at"], strict=True))
    return ComputeView(
        trials=len(trials),
        finished=int(done.sum()),
        unfinished=int((~done).sum()),
        fit_seconds=float(fit[done].sum()),
        predict_seconds=float(predict[done].sum()),
        unfinished_seconds=float(sum(unfinished)),
        median_trial_seconds=float(per_trial.median()) if len(per_trial) else math.nan,
        max_trial_seconds=float(per_trial.max()) if len(per_trial) else math.nan,
        wall_seconds=float(wall),
        runs=len(facts.runs),
    )


def duration_text(seconds: float) -> str:
    """Seconds in words: ``42.1 s``, ``12.5 min``, ``3.2 h``."""
    if not math.isfinite(seconds):
        return "unknown"
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"
