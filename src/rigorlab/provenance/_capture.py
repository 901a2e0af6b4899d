"""What produced a result: environment, hardware, git state, command line.

The environment (Python, packages, OS, hardware) is the same for every trial a worker runs, so it
is captured once per process, hashed, and stored once; trials refer to it by hash.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import platform
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

__all__ = [
    "capture_environment",
    "capture_git",
    "command_line",
    "environment_hash",
    "now_iso",
]

# Packages named in reports and the methods section (when installed).
KEY_PACKAGES = (
    "rigorlab",
    "numpy",
    "scipy",
    "pandas",
    "scikit-learn",
    "statsmodels",
    "torch",
    "transformers",
    "ray",
    "fairlearn",
    "shap",
    "cleanlab",
    "optuna",
    "mlflow",
)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_bytes() -> int | None:
    try:
        import psutil

        return int(psutil.virtual_memory().total)
    except Exception:  # psutil can fail in restricted containers; memory is then unknown
        return None


def _gpus() -> list[dict[str, Any]]:
    """GPUs from nvidia-smi (no torch import: importing torch costs seconds)."""
    gpus: list[dict[str, Any]] = []
    if shutil.which("nvidia-smi"):
        try:
            output = subprocess.run(
                ["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader,nounits"],
                capture_output=True,
                text=True,
                timeout=10,
                check=True,
            ).stdout
            for line in output.strip().splitlines():
                name, driver, memory = (part.strip() for part in line.split(","))
                gpus.append({"name": name, "driver": driver, "memory_mib": int(float(memory))})
        except (OSError, subprocess.SubprocessError, ValueError):
            pass
    torch = sys.modules.get("torch")
    if torch is not None and gpus:
        for gpu in gpus:
            gpu["cuda"] = getattr(torch.version, "cuda", None)
    return gpus


@cache
def capture_environment() -> dict[str, Any]:
    """The Python, packages, OS and hardware of this process (cached per process)."""
    packages = {
        dist.metadata["Name"].lower(): dist.version
        for dist in importlib.metadata.distributions()
        if dist.metadata["Name"]
    }
    return {
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "executable": sys.executable,
        "os": f"{platform.system()} {platform.release()}",
        "platform": platform.platform(),
        "machine": platform.machine(),
        "hostname": platform.node(),
        "cpu": _cpu_model(),
        "cpu_cores": os.cpu_count(),
        "memory_bytes": _memory_bytes(),
        "gpus": _gpus(),
        "packages": dict(sorted(packages.items())),
    }


def environment_hash(environment: dict[str, Any]) -> str:
    # The hostname and executable path identify a machine, not what computed a number.
    content = {k: v for k, v in environment.items() if k not in ("hostname", "executable")}
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:32]


def _git(folder: Path, *args: str) -> str | None:
    try:
        result = subprocess.run(
            ["git", "-C", str(folder), *args], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout if result.returncode == 0 else None


def capture_git(folder: Path) -> dict[str, Any] | None:
    """Commit, branch and uncommitted diff of the git work tree holding ``folder`` (None outside one)."""
    if shutil.which("git") is None:
        return None
    top = _git(folder, "rev-parse", "--show-toplevel")
    if top is None:
        return None
    commit = _git(folder, "rev-parse", "HEAD")
    status = _git(folder, "status", "--porcelain") or ""
    diff = _git(folder, "diff", "HEAD") if commit else None
    return {
        "root": top.strip(),
        "commit": commit.strip() if commit else None,
        "branch": (_git(folder, "rev-parse", "--abbrev-ref", "HEAD") or "").strip() or None,
        "dirty": bool(status.strip()),
        "status": status,
        "diff": diff or "",
        "diff_sha256": hashlib.sha256((diff or "").encode()).hexdigest(),
    }


def command_line() -> list[str]:
    return [Path(sys.argv[0]).name if sys.argv else "python", *sys.argv[1:]]
