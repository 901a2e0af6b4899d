"""What differs between the environment that produced a result and this one.

Shown before a reproduction runs, and used afterwards to explain a mismatch ("scikit-learn
1.8.0 -> 1.9.1"). Only differences that can change a number choose the tolerance: the machine's
name, the interpreter's path and the amount of memory cannot.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from rigorlab.provenance._capture import KEY_PACKAGES

__all__ = [
    "Change",
    "EnvironmentDiff",
    "diff_environments",
    "diff_git",
    "explain",
]

# Kinds of change that can alter computed numbers (and so loosen the default tolerance).
NUMERIC_KINDS = ("python", "package", "machine", "cpu", "cpu_cores", "gpu", "os")
# Compared field by field: (record key, kind, label).
_FIELDS = (
    ("python", "python", "Python"),
    ("python_implementation", "python", "Python implementation"),
    ("machine", "machine", "machine architecture"),
    ("cpu", "cpu", "CPU"),
    ("cpu_cores", "cpu_cores", "CPU cores"),
    ("platform", "os", "OS"),
)
# The numerical core under every model: a change here can move the last bits of any result.
_CORE_PACKAGES = ("numpy", "scipy", "scikit-learn", "pandas", "threadpoolctl", "torch")
NOT_RECORDED = "not recorded"
NOT_INSTALLED = "not installed"


@dataclass(frozen=True)
class Change:
    """One difference: ``kind`` (python, package, machine, cpu, cpu_cores, gpu, os, git, dataset),
    ``name`` (what changed) and its value then and now."""

    kind: str
    name: str
    before: str | None
    after: str | None

    @property
    def numeric(self) -> bool:
        """Whether the change can alter computed numbers."""
        return self.kind in NUMERIC_KINDS

    def __str__(self) -> str:
        before = self.before if self.before is not None else NOT_RECORDED
        after = self.after if self.after is not None else NOT_RECORDED
        return f"{self.name} {before} -> {after}"


@dataclass
class EnvironmentDiff:
    """The differences between one stored environment (``stored_hash``, used by ``trials``
    trials) and the current one."""

    stored_hash: str | None
    current_hash: str
    trials: int
    changes: list[Change] = field(default_factory=list)

    @property
    def recorded(self) -> bool:
        return self.stored_hash is not None

    @property
    def numeric_changes(self) -> list[Change]:
        return [change for change in self.changes if change.numeric]

    @property
    def same(self) -> bool:
        """True when nothing that can change a number differs (bit-identical results expected on CPU)."""
        return self.recorded and not self.numeric_changes

    @property
    def has_gpu(self) -> bool:
        return any(change.kind == "gpu" for change in self.changes)

    def lines(self, limit: int = 12) -> list[str]:
        """The changes as text, packages last, at most ``limit`` lines (then a count of the rest)."""
        ordered = sorted(self.changes, key=lambda c: (c.kind == "package", c.kind, _package_rank(c.name), c.name))
        text = [
            f"{change.kind}: {change}" if change.kind not in ("package", "python") else str(change)
            for change in ordered
        ]
        if len(text) > limit:
            return [*text[: limit - 1], f"... and {len(text) - limit + 1} more"]
        return text


def _package_rank(name: str) -> int:
    return KEY_PACKAGES.index(name) if name in KEY_PACKAGES else len(KEY_PACKAGES)


def _gpu_text(gpus: Any) -> str:
    if not gpus:
        return "none"
    return ", ".join(
        f"{gpu.get('name', '?')} (driver {gpu.get('driver', '?')}"
        + (f", CUDA {gpu['cuda']}" if gpu.get("cuda") else "")
        + ")"
        for gpu in gpus
    )


def diff_environments(before: Mapping[str, Any] | None, after: Mapping[str, Any]) -> list[Change]:
    """The changes from the environment record ``before`` (None: not recorded) to ``after``.

    Examples
    --------
    >>> then = {"python": "3.11.7", "packages": {"scikit-learn": "1.8.0"}}
    >>> now = {"python": "3.11.7", "packages": {"scikit-learn": "1.9.1"}}
    >>> [str(change) for change in diff_environments(then, now)]
    ['scikit-learn 1.8.0 -> 1.9.1']
    """
    if before is None:
        return []
    changes: list[Change] = []
    for key, kind, label in _FIELDS:
        old, new = before.get(key), after.get(key)
        if old is not None and new is not None and old != new:
            changes.append(Change(kind, label, str(old), str(new)))
    old_gpus, new_gpus = before.get("gpus"), after.get("gpus")
    if old_gpus is not None and new_gpus is not None and _gpu_text(old_gpus) != _gpu_text(new_gpus):
        changes.append(Change("gpu", "GPU", _gpu_text(old_gpus), _gpu_text(new_gpus)))
    old_packages: Mapping[str, str] = before.get("packages") or {}
    new_packages: Mapping[str, str] = after.get("packages") or {}
    for name in sorted(set(old_packages) | set(new_packages)):
        old_version, new_version = old_packages.get(name), new_packages.get(name)
        if old_version != new_version:
            changes.append(Change("package", name, old_version or NOT_INSTALLED, new_version or NOT_INSTALLED))
    return changes


def _short(text: str | None) -> str | None:
    return text[:12] if text else text


def diff_git(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> list[Change]:
    """Changes of the git commit and of the uncommitted diff (None: not in a git work tree).

    Examples
    --------
    >>> [str(c) for c in diff_git({"commit": "a" * 40, "diff_sha256": "0"}, {"commit": "b" * 40, "diff_sha256": "0"})]
    ['commit aaaaaaaaaaaa -> bbbbbbbbbbbb']
    """
    if before is None and after is None:
        return []
    if before is None or after is None:
        old = "not a git work tree" if before is None else f"commit {_short(before.get('commit'))}"
        new = "not a git work tree" if after is None else f"commit {_short(after.get('commit'))}"
        return [Change("git", "git", old, new)]
    changes: list[Change] = []
    if before.get("commit") != after.get("commit"):
        changes.append(Change("git", "commit", _short(before.get("commit")), _short(after.get("commit"))))
    if before.get("diff_sha256") != after.get("diff_sha256"):

        def describe(record: Mapping[str, Any]) -> str:
            return "none" if not record.get("diff") else f"diff sha256 {_short(record.get('diff_sha256'))}"

        changes.append(Change("git", "uncommitted changes", describe(before), describe(after)))
    return changes


@cache
def _distributions() -> Mapping[str, list[str]]:
    return importlib.metadata.packages_distributions()


def estimator_distribution(estimator: str) -> str | None:
    """The installed distribution that provides an import path (sklearn.x.Y -> scikit-learn)."""
    top_level = estimator.replace(":", ".").split(".")[0]
    names = _distributions().get(top_level)
    return names[0].lower() if names else None


def explain(changes: list[Change], config: Mapping[str, Any] | None) -> list[str]:
    """The changes that may explain a different result, the most likely first.

    The package that provides the estimator comes first, then the numerical core (numpy, scipy,
    scikit-learn...), the interpreter and the hardware; a git change counts when the estimator is
    the user's own code (not an installed package).

    Examples
    --------
    >>> changes = [Change("package", "rich", "13", "14"), Change("package", "scikit-learn", "1.8.0", "1.9.1")]
    >>> explain(changes, {"estimator": "sklearn.linear_model.LogisticRegression"})
    ['scikit-learn 1.8.0 -> 1.9.1 (provides the estimator)', 'rich 13 -> 14']
    """
    estimator = str((config or {}).get("estimator") or "")
    own = estimator_distribution(estimator) if estimator else None
    ranked: list[tuple[int, str]] = []
    for change in changes:
        if change.kind == "package" and own is not None and change.name == own:
            ranked.append((0, f"{change} (provides the estimator)"))
        elif change.kind == "package" and change.name in _CORE_PACKAGES:
            ranked.append((1, str(change)))
        elif change.kind in ("python", "machine", "cpu", "gpu", "cpu_cores", "os"):
            ranked.append(
                (2, f"{change.name}: {change.before} -> {change.after}" if change.kind != "python" else str(change))
            )
        elif change.kind == "git" and estimator and own is None:
            ranked.append((3, f"{change} (the estimator is code from the work tree)"))
        elif change.kind == "dataset":
            ranked.append((0, str(change)))
        elif change.kind == "package":
            ranked.append((4, str(change)))
    return [text for _, text in sorted(ranked, key=lambda item: item[0])]
