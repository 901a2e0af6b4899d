"""Output folders written all or nothing (reports, model cards).

A folder is built in a staging folder beside its target and moved into place with renames, so a
failure never leaves half of it, and an older folder is only removed once the new one is in place.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

__all__ = ["replace_folder", "unwritable_reason"]


def unwritable_reason(target: Path) -> str | None:
    """None when ``target``'s parent can be created and written to; otherwise why not.

    Creates the parent folders, nothing else (a probe folder is made and removed).
    """
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryDirectory(dir=target.parent).cleanup()
    except OSError as error:
        return str(error.strerror or error)
    return None


def replace_folder(staging: Path, target: Path) -> None:
    """Replace ``target`` by the finished ``staging`` folder (renames on one file system)."""
    # mkdtemp makes the folder private (0700); reports and cards are meant to be read by others.
    mask = os.umask(0)
    os.umask(mask)
    staging.chmod(0o777 & ~mask)
    if not target.exists():
        staging.rename(target)
        return
    retired = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent))
    retired.rmdir()
    target.rename(retired)
    try:
        staging.rename(target)
    except BaseException:
        retired.rename(target)  # put the earlier folder back
        raise
    shutil.rmtree(retired, ignore_errors=True)
