"""The ``rigorlab`` command. Thin: every command calls the same functions the Python API offers.

Each group of commands lives in its own module and registers itself on the shared Typer app.
"""

from __future__ import annotations

from typing import Annotated

import typer

import rigorlab.cli._audit  # noqa: F401  (registers its commands)
import rigorlab.cli._report  # noqa: F401  (registers its commands)
import rigorlab.cli._reproduce  # noqa: F401  (registers its commands)
import rigorlab.cli._tracking  # noqa: F401  (registers its commands)
from rigorlab._version import __version__
from rigorlab.cli import _compare, _study  # noqa: F401  (register their commands)
from rigorlab.cli._app import app, console

__all__ = ["app", "main"]


def _version_callback(value: bool) -> None:
    if value:
        console.print(f"rigorlab {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version_callback, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """rigorlab: reproducible studies, sound statistics, audits and paper-ready reports."""


def main() -> None:
    app()
