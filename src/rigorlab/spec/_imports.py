"""Importing the user's own code named in a study file (estimators, torch modules, dataset callables).

A module named by ``module:attribute`` can be missing (ImportError: the path is wrong or a package is
not installed) or present but broken: a SyntaxError, or any exception its top-level code raises. The
two need different fixes, so they get different messages; both must be one paragraph, never a
traceback, because importing runs code the user wrote.
"""

from __future__ import annotations

import importlib
import traceback
from types import ModuleType
from typing import Any

from rigorlab.spec._model import import_path_parts

__all__ = ["ModuleBroken", "import_attribute", "import_failure_reason"]


class ModuleBroken(Exception):
    """The module exists but raised while it was imported (``__cause__`` holds the error)."""

    def __init__(self, module: str, reason: str) -> None:
        super().__init__(reason)
        self.module = module
        self.reason = reason


def import_failure_reason(error: BaseException) -> str:
    """One line saying what went wrong while importing a module, with the user's file:line.

    A SyntaxError names the line of the broken file (its traceback points into importlib, not at
    the user's code); any other error names the frame that raised it.

    Examples
    --------
    >>> try:
    ...     compile("def f(:", "mine.py", "exec")
    ... except SyntaxError as error:
    ...     import_failure_reason(error)
    'SyntaxError in mine.py:1: invalid syntax'
    """
    if isinstance(error, SyntaxError):
        return f"{type(error).__name__} in {error.filename}:{error.lineno}: {error.msg}"
    frames = [frame for frame in traceback.extract_tb(error.__traceback__) if not frame.filename.startswith("<")]
    at = f" (raised at {frames[-1].filename}:{frames[-1].lineno})" if frames else ""
    return f"{type(error).__name__}: {error}{at}"


def _import_module(module_name: str) -> ModuleType:
    try:
        return importlib.import_module(module_name)
    except (ImportError, ValueError):
        raise  # not found (or an empty module name): the caller's "cannot be imported" message
    except Exception as error:  # the module's own code failed: reported with its file:line
        raise ModuleBroken(module_name, import_failure_reason(error)) from error


def import_attribute(path: str) -> Any:
    """Import ``pkg.mod:Name`` (or ``pkg.mod.Name``).

    Raises
    ------
    ImportError, AttributeError, ValueError
        The module or the attribute is not there.
    ModuleBroken
        The module is there but raised while it was imported.

    Examples
    --------
    >>> import_attribute("collections:OrderedDict").__name__
    'OrderedDict'
    """
    module_name, attribute = import_path_parts(path)
    return getattr(_import_module(module_name), attribute)
