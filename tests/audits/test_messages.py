"""Every message the audits define is shown somewhere: a constant no code uses is a message no user sees
(and a test that checks it proves nothing)."""

from __future__ import annotations

import re
from pathlib import Path

import rigorlab
from rigorlab.audits import _messages as msg

SOURCE = Path(rigorlab.__file__).parent


def test_every_message_constant_is_used_by_the_code():
    names = [name for name in vars(msg) if re.fullmatch(r"[A-Z][A-Z_]+", name)]
    code = "\n".join(path.read_text(encoding="utf-8") for path in SOURCE.rglob("*.py") if path.name != "_messages.py")
    unused = [name for name in names if not re.search(rf"\b{name}\b", code)]
    assert unused == []
    assert not hasattr(msg, "REFIT_TORCH") and not hasattr(msg, "WORKER_DIED")
