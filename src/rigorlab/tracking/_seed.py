"""``seed_everything``: seed Python, numpy and torch for a hand-written training loop, and say so.

Study trials never touch global random state (every function takes a seed). A hand-written loop
does: ``random``, ``np.random`` and torch's generators are what user code and libraries draw from.
This is the one place rigorlab sets them, on request, and it records exactly what it did so the
record can be stored with the run (``rigorlab.track`` picks it up).
"""

from __future__ import annotations

import importlib.util
import os
import random
import sys
from typing import Any

import numpy as np

from rigorlab.errors import InputError
from rigorlab.tracking._messages import MSG_BAD_SEED

__all__ = ["last_seeding", "seed_everything"]

# cuBLAS needs this set before CUDA starts to give the same results run after run (NVIDIA's
# documented value for deterministic workspaces).
CUBLAS_WORKSPACE = ":4096:8"
MAX_SEED = 2**32 - 1

_last: dict[str, Any] | None = None


def _torch() -> Any | None:
    """torch when installed (imported now if the user has not yet, so later imports are seeded)."""
    if "torch" in sys.modules:
        return sys.modules["torch"]
    if importlib.util.find_spec("torch") is None:
        return None
    import torch

    return torch


def seed_everything(seed: int, *, deterministic: bool = True, warn_only: bool = True) -> dict[str, Any]:
    """Seed Python's ``random``, numpy's global generator and torch (CPU and every CUDA device).

    Parameters
    ----------
    seed : int
        Between 0 and 2**32 - 1 (numpy's limit).
    deterministic : bool
        Also ask torch for deterministic algorithms: ``torch.use_deterministic_algorithms(True)``,
        ``cudnn.deterministic = True``, ``cudnn.benchmark = False`` and, when unset,
        ``CUBLAS_WORKSPACE_CONFIG=:4096:8``. Slower on GPUs; identical results run after run.
    warn_only : bool
        With ``deterministic``: an operation without a deterministic implementation warns
        (``True``) instead of raising (``False``).

    Returns
    -------
    dict
        What was done: ``seed``, ``seeds`` (generator -> seed, the form stored as a run's seeds),
        ``deterministic`` (setting -> value) and ``pythonhashseed``. ``rigorlab.track`` stores it
        with the run (seeds, and the tag ``rigorlab.seeding``).

    Examples
    --------
    >>> import rigorlab
    >>> record = rigorlab.seed_everything(7, deterministic=False)
    >>> record["seeds"]["numpy"]
    7
    """
    global _last
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or not 0 <= int(seed) <= MAX_SEED:
        raise InputError(MSG_BAD_SEED.format(value=seed))
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002  (the legacy global generator is what user code draws from)
    seeds: dict[str, int] = {"python": seed, "numpy": seed}
    # Only new processes read PYTHONHASHSEED (DataLoader workers, subprocesses); this one keeps its own.
    os.environ.setdefault("PYTHONHASHSEED", str(seed))
    flags: dict[str, Any] = {}
    torch = _torch()
    if torch is not None:
        torch.manual_seed(seed)  # seeds the CPU generator and every CUDA device
        seeds["torch"] = seed
        if torch.cuda.is_available():
            torch.cuda.manual_seed_all(seed)
            seeds["torch_cuda"] = seed
        if deterministic:
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", CUBLAS_WORKSPACE)
            torch.use_deterministic_algorithms(True, warn_only=warn_only)
            torch.backends.cudnn.deterministic = True
            torch.backends.cudnn.benchmark = False
            flags = {
                "torch.use_deterministic_algorithms": True,
                "warn_only": warn_only,
                "torch.backends.cudnn.deterministic": True,
                "torch.backends.cudnn.benchmark": False,
                "CUBLAS_WORKSPACE_CONFIG": os.environ["CUBLAS_WORKSPACE_CONFIG"],
            }
    _last = {
        "seed": seed,
        "seeds": seeds,
        "deterministic": flags,
        "pythonhashseed": os.environ.get("PYTHONHASHSEED"),
    }
    return dict(_last)


def last_seeding() -> dict[str, Any] | None:
    """The record of the last ``seed_everything`` call in this process (None before any)."""
    return None if _last is None else dict(_last)
