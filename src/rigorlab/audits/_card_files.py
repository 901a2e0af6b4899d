"""Model cards and datasheets as Markdown files, written from the store.

The store holds the cards (``rigorlab.audits.cards_table``); :func:`write_cards` writes the current
ones into a folder, one ``.md`` file each, all or nothing: the files are written into a hidden
folder beside the target, which then replaces the target in one rename, so a reader never sees a
half-written set and cards of arms that no longer exist do not linger. A folder that rigorlab did
not write (no :data:`CARDS_MARKER` file) is never replaced.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

import pandas as pd

from rigorlab._folders import replace_folder, unwritable_reason
from rigorlab.audits import _messages as msg
from rigorlab.audits._frames import rows_of
from rigorlab.audits._views import cards_table, current_audit_results
from rigorlab.errors import InputError
from rigorlab.store import RunStore

__all__ = ["CARDS_MARKER", "card_filename", "check_cards_folder", "default_cards_folder", "write_cards"]

CARDS_MARKER = ".rigorlab-cards"
"""The file that marks a folder of cards written by rigorlab (and so safe to replace)."""


def default_cards_folder(study: str) -> Path:
    """``reports/STUDY-cards``: beside the report folder ``reports/STUDY``, which ``rigorlab report``
    replaces as a whole.

    Examples
    --------
    >>> default_cards_folder("arrests").as_posix()
    'reports/arrests-cards'
    """
    return Path("reports") / f"{study}-cards"


def card_filename(card: str, dataset: str, arm: str | None = None) -> str:
    """The file name of a card: ``datasheet-DATASET.md`` or ``model_card-ARM-DATASET.md``.

    Characters other than letters, digits and ``._=+-`` become ``_``.

    Examples
    --------
    >>> card_filename("model_card", "arrests", "logreg[C=0.1]")
    'model_card-logreg_C=0.1-arrests.md'
    """
    parts = [card, *([arm] if arm else []), dataset]
    return "-".join(re.sub(r"[^\w.=+-]+", "_", str(part)).strip("_") for part in parts) + ".md"


def check_cards_folder(folder: str | Path) -> None:
    """Raise an InputError unless the cards can be written to ``folder`` (absent, empty or cards
    written before, in a writable place). Creates the parent folders, nothing else; the command
    line calls it before any audit runs.
    """
    target = Path(folder)
    if target.exists() and not target.is_dir():
        raise InputError(msg.CARDS_FOLDER_IS_A_FILE.format(path=target))
    if target.is_dir() and any(target.iterdir()) and not (target / CARDS_MARKER).exists():
        raise InputError(msg.CARDS_FOLDER_NOT_OURS.format(path=target, marker=CARDS_MARKER))
    reason = unwritable_reason(target)
    if reason is not None:
        raise InputError(msg.CARDS_FOLDER_UNWRITABLE.format(path=target, error=reason))


def write_cards(store: RunStore, study: str, folder: str | Path) -> list[Path]:
    """Write the stored model cards and datasheets of a study as Markdown files into ``folder``.

    Parameters
    ----------
    store : RunStore
    study : str
    folder : str or Path
        Created when missing; replaced as a whole when it holds cards rigorlab wrote before.

    Returns
    -------
    list of Path
        The files written, datasheets first (empty, and nothing written, when no card is stored).

    Raises
    ------
    InputError
        ``folder`` is a file, or a non-empty folder rigorlab did not write.

    Examples
    --------
    >>> paths = write_cards(open_store(), "arrests", "reports/arrests-cards")  # doctest: +SKIP
    >>> [p.name for p in paths]  # doctest: +SKIP
    ['datasheet-arrests.md', 'model_card-forest-arrests.md', 'model_card-logreg-arrests.md']
    """
    target = Path(folder)
    check_cards_folder(target)
    cards = cards_table(current_audit_results(store, study, kind="cards"))
    if cards.empty:
        return []
    cards = cards.assign(_order=cards["card"] != "datasheet").sort_values(["_order", "dataset", "arm"])
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent))
    names: list[str] = []
    try:
        for row in rows_of(cards):
            name = card_filename(str(row.card), str(row.dataset), None if pd.isna(row.arm) else str(row.arm))
            if name in names:  # two names that differ only in replaced characters
                name = name.removesuffix(".md") + f"-{len(names)}.md"
            (staging / name).write_text(str(row.markdown), encoding="utf-8")
            names.append(name)
        (staging / CARDS_MARKER).write_text(
            f"Model cards and datasheets of study {study}, written by rigorlab from its store.\n", encoding="utf-8"
        )
        replace_folder(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return [target / name for name in names]
