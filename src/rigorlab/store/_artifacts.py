"""Content-addressed storage of arrays (predictions, split indices) beside the SQLite file.

An object's name is the sha256 of its arrays' names, dtypes, shapes and bytes, so identical
content (the same split used by every arm) is stored once. Files are written to a temporary
name and renamed, so a reader never sees half an object, even after SIGKILL.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from rigorlab.errors import StoreError

__all__ = ["ArtifactStore"]

MSG_MISSING_OBJECT = (
    "The store object {ref} is missing from {root}. The store was copied without its objects/ folder, "
    "or the file was deleted; copy the whole .rigorlab folder."
)


def _plain_array(value: Any) -> NDArray[Any]:
    array = np.asarray(value)
    if array.dtype == object:
        # Object arrays would need pickle to load; store labels as text instead.
        array = array.astype(str)
    return array


class ArtifactStore:
    """Arrays by content hash under ``root``. Safe for several processes writing at once."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @staticmethod
    def content_hash(arrays: Mapping[str, NDArray[Any]]) -> str:
        digest = hashlib.sha256()
        for name in sorted(arrays):
            array = np.ascontiguousarray(arrays[name])
            digest.update(f"{name}|{array.dtype.str}|{array.shape}|".encode())
            digest.update(array.tobytes())
        return digest.hexdigest()

    def path_of(self, ref: str) -> Path:
        return self.root / ref[:2] / f"{ref[2:]}.npz"

    def put(self, arrays: Mapping[str, Any]) -> str:
        """Store arrays; returns their reference (content hash)."""
        plain = {name: _plain_array(value) for name, value in arrays.items() if value is not None}
        ref = self.content_hash(plain)
        path = self.path_of(ref)
        if path.exists():
            return ref
        path.parent.mkdir(parents=True, exist_ok=True)
        buffer = io.BytesIO()
        np.savez(buffer, **plain)  # type: ignore[arg-type]
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(buffer.getvalue())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return ref

    def get(self, ref: str) -> dict[str, NDArray[Any]]:
        path = self.path_of(ref)
        if not path.exists():
            raise StoreError(MSG_MISSING_OBJECT.format(ref=ref, root=self.root))
        with np.load(path, allow_pickle=False) as archive:
            return {name: archive[name] for name in archive.files}
