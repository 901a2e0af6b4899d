"""What the MLflow import and export share: the client, store locations, names and messages."""

from __future__ import annotations

import os
import posixpath
import re
import sqlite3
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rigorlab.errors import InputError, NotFoundError

__all__ = [
    "MSG_DESTINATION_NOT_A_STORE",
    "MSG_DESTINATION_UNDER_FILE",
    "MSG_MLFLOW_MISSING",
    "MSG_NOT_AN_MLFLOW_STORE",
    "MSG_NO_MLFLOW_STORE",
    "TAG",
    "client_for",
    "from_millis",
    "mlflow_name",
    "to_millis",
    "tracking_uri",
]

TAG = "rigorlab."  # prefix of the tags rigorlab writes on MLflow runs (and reads back)
SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")
PAGE = 1000

MSG_MLFLOW_MISSING = (
    "Reading and writing MLflow stores needs the mlflow package, which is not installed. "
    "Install it with: pip install 'rigorlab[mlflow]'."
)
MSG_NO_MLFLOW_STORE = (
    "There is no MLflow tracking store at {path}. Give the folder MLflow writes runs to (often ./mlruns), "
    "an MLflow SQLite file (mlflow.db), or a tracking URI such as sqlite:///path/mlflow.db."
)
MSG_NOT_AN_MLFLOW_STORE = (
    "{path} is not an MLflow tracking store: {reason}. Give the folder MLflow writes runs to (often ./mlruns) "
    "or an MLflow SQLite file (mlflow.db); nothing was read or written."
)
MSG_MLFLOW_FAILED = "MLflow could not {action} {uri}: {error}"
MSG_DESTINATION_NOT_A_STORE = (
    "{path} is a file but not an MLflow SQLite store ({reason}), so runs cannot be written to it. Give a folder "
    "for an MLflow file store (created when missing, e.g. ./mlruns), an MLflow SQLite file (created when "
    "missing, e.g. mlflow.db), or a tracking URI such as sqlite:///path/mlflow.db; nothing was written."
)
MSG_DESTINATION_UNDER_FILE = (
    "{path} cannot hold an MLflow store: {parent} is a file, not a folder. Give a folder for an MLflow file "
    "store (e.g. ./mlruns), an MLflow SQLite file (e.g. mlflow.db), or a tracking URI; nothing was written."
)


def tracking_uri(location: str | Path, *, must_exist: bool) -> str:
    """The MLflow tracking URI for a folder (file store), a SQLite file, or a URI given as is.

    With ``must_exist`` (import), a path must hold an MLflow store: MLflow would otherwise create
    one (and run its migrations on any SQLite file), changing what the user pointed at.
    """
    text = str(location)
    if "://" in text or text.startswith(("sqlite:", "file:")):
        return text
    path = Path(text).expanduser().resolve()
    is_sqlite = path.suffix.lower() in SQLITE_SUFFIXES
    if must_exist:
        if not path.exists():
            raise NotFoundError(MSG_NO_MLFLOW_STORE.format(path=path))
        if is_sqlite or path.is_file():
            _check_mlflow_sqlite(path)
            is_sqlite = True
        elif not any((child / "meta.yaml").is_file() for child in path.iterdir() if child.is_dir()):
            raise InputError(MSG_NOT_AN_MLFLOW_STORE.format(path=path, reason="no experiment folder with a meta.yaml"))
    else:
        is_sqlite = _check_destination(path, is_sqlite)
    if is_sqlite:
        return f"sqlite:///{path}"
    return path.as_uri()


def _check_destination(path: Path, is_sqlite: bool) -> bool:
    """Refuse an export destination MLflow cannot write to, or would write into someone else's file;
    return whether it is a SQLite store (an MLflow SQLite file need not end in .db)."""
    parent = next((folder for folder in path.parents if folder.exists()), None)
    if parent is not None and not parent.is_dir():
        raise InputError(MSG_DESTINATION_UNDER_FILE.format(path=path, parent=parent))
    if not path.is_file() or (is_sqlite and path.stat().st_size == 0):
        return is_sqlite  # created by MLflow (a folder that exists is used as a file store)
    try:
        # MLflow would otherwise run its migrations on any SQLite file, adding its tables to it.
        _check_mlflow_sqlite(path)
    except InputError as error:
        reason = error.__cause__ or "a SQLite file without MLflow's experiments/runs tables"
        raise InputError(MSG_DESTINATION_NOT_A_STORE.format(path=path, reason=reason)) from error
    return True


def _check_mlflow_sqlite(path: Path) -> None:
    try:
        db = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
        try:
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            db.close()
    except sqlite3.DatabaseError as error:
        raise InputError(MSG_NOT_AN_MLFLOW_STORE.format(path=path, reason=error)) from error
    if not {"experiments", "runs", "metrics"} <= tables:
        raise InputError(
            MSG_NOT_AN_MLFLOW_STORE.format(path=path, reason="a SQLite file without MLflow's experiments/runs tables")
        )


def client_for(uri: str) -> Any:
    """An ``MlflowClient`` for ``uri`` that sends nothing over the network."""
    # MLflow sends usage telemetry unless told not to; rigorlab never lets a command reach the
    # network behind the user's back (the user's own setting wins).
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # one bar per file otherwise
    if uri.startswith("file:"):
        # MLflow 3 refuses file stores unless allowed; reading and writing existing ones is the point here.
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    try:
        from mlflow import MlflowClient
    except ImportError as error:
        raise InputError(MSG_MLFLOW_MISSING) from error
    with warnings.catch_warnings():
        # SQLAlchemy deprecation notices raised inside MLflow's own store code; nothing a user can act on.
        warnings.filterwarnings("ignore", message=r".*noload.*", category=DeprecationWarning)
        try:
            client = MlflowClient(tracking_uri=uri)
            client.search_experiments(max_results=1)  # open the store now, so errors surface here
        except Exception as error:  # MlflowException and the SQLAlchemy/OS errors under it
            raise InputError(MSG_MLFLOW_FAILED.format(action="open", uri=uri, error=error)) from error
    return client


def mlflow_name(name: str) -> str:
    """``name`` as a valid MLflow metric/param/tag key (invalid characters become ``_``)."""
    cleaned = re.sub(r"[^/\w.\- :]", "_", name)[:250]
    if posixpath.normpath(cleaned) != cleaned or cleaned.startswith("/") or cleaned in ("", "."):
        cleaned = cleaned.replace("/", "_").replace("..", "__") or "_"
    return cleaned


def to_millis(iso: str | None) -> int | None:
    return None if not iso else int(datetime.fromisoformat(iso).timestamp() * 1000)


def from_millis(millis: int | None) -> str | None:
    if millis is None:
        return None
    return datetime.fromtimestamp(millis / 1000, UTC).isoformat(timespec="milliseconds")


def paged(call: Any, **kwargs: Any) -> Iterator[Any]:
    """Every item of a paged MLflow search (``search_runs``, ``search_experiments``)."""
    token = None
    while True:
        page = call(max_results=PAGE, page_token=token, **kwargs)
        yield from page
        token = page.token
        if not token:
            return
