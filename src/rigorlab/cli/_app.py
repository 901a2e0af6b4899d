"""The shared pieces of the command line: the Typer app, consoles, error handling, options."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table

from rigorlab.errors import InputError, RigorlabError

app = typer.Typer(
    name="rigorlab",
    help="A research bench for AI/ML: reproducible studies, sound statistics, audits and reports.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

PIPE_WIDTH = 200
"""Columns of output that goes to a pipe or a file (rich assumes 80 there, and cuts table cells
such as ``logreg[C=0.1]`` and ``logreg[C=1.0]`` to the same ``logreg[…``). ``COLUMNS`` wins."""


def _width(stream: Any) -> int | None:
    """None (rich measures the terminal) on a terminal or when COLUMNS is set; PIPE_WIDTH otherwise."""
    if "COLUMNS" in os.environ:
        return None
    try:
        return None if stream.isatty() else PIPE_WIDTH
    except (AttributeError, ValueError):  # a closed or unusual stream
        return PIPE_WIDTH


console = Console(width=_width(sys.stdout))
errors = Console(stderr=True, width=_width(sys.stderr))


MSG_BAD_CHOICE = "{option} must be one of {choices}. Got '{value}' instead."
MSG_BOTH_DIRECTIONS = (
    "--higher-is-better and --lower-is-better were both given; they contradict each other. Give one of them, "
    "or neither to take the metric's known direction."
)
HELP_HIGHER = "The metric is higher-is-better (default: known metrics keep their direction; see --lower-is-better)."
HELP_LOWER = (
    "The metric is lower-is-better. Default: known metrics keep theirs; unknown names with loss, error, wer, "
    "perplexity, ... are lower-is-better, other unknown names higher-is-better."
)
HigherOption = Annotated[bool, typer.Option("--higher-is-better", help=HELP_HIGHER)]
LowerOption = Annotated[bool, typer.Option("--lower-is-better", help=HELP_LOWER)]
MSG_STUDY_FILE_WITHOUT_NAME = (
    "{path} is a study file without a 'study:' name, so it names no study in the store. Add `study: NAME` to it "
    "(and run it with `rigorlab run {path}`), or give the study's name (`rigorlab status` lists them)."
)
NOTE_STUDY_FROM_FILE = "[dim]{path}: study '{study}' (the study: name in the file)[/dim]"
MSG_STUDY_FILE_MISSING = (
    "There is no study file {path} (looked from {cwd}), and a study name cannot contain '/'. Give an existing "
    "study file, or the study's name (`rigorlab status` lists them)."
)
STUDY_FILE_SUFFIXES = (".yaml", ".yml")

StoreOption = Annotated[
    Path | None,
    typer.Option(
        "--store", envvar="RIGORLAB_STORE", help="The store folder (default: ./.rigorlab).", show_default=False
    ),
]
F = TypeVar("F", bound=Callable[..., Any])


def handles_errors(function: F) -> F:
    """Print a RigorlabError as one clear paragraph and exit with its code (2 for bad input)."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except RigorlabError as error:
            # Messages quote user values and examples in brackets ([column, ...]): not markup.
            errors.print(f"[bold red]Error:[/bold red] {escape(str(error))}", highlight=False, soft_wrap=True)
            raise typer.Exit(code=error.exit_code) from None

    return wrapper  # type: ignore[return-value]


def direction(higher: bool, lower: bool) -> bool | None:
    """The direction the two flags state: True, False, or None (neither: the metric's own)."""
    if higher and lower:
        raise InputError(MSG_BOTH_DIRECTIONS)
    return True if higher else False if lower else None


def choice(value: str, choices: tuple[str, ...], option: str = "--format") -> str:
    """``value`` when it is one of ``choices``; otherwise an InputError naming ``option``."""
    if value not in choices:
        raise InputError(MSG_BAD_CHOICE.format(option=option, choices=", ".join(choices), value=value))
    return value


def resolve_study(argument: str) -> str:
    """The study name an argument means: a name as it is, or the ``study:`` name of a study file.

    An existing ``.yaml``/``.yml`` file is read with the study-file YAML loader (syntax errors name
    ``file:line``; nothing else is validated, so this stays cheap) and its name is used; one dim line
    on stderr says so (stdout stays clean for ``--format json``/``csv``).

    Examples
    --------
    >>> resolve_study("quickstart")
    'quickstart'
    >>> resolve_study("examples/quickstart.yaml")  # doctest: +SKIP
    'quickstart'
    """
    path = Path(argument)
    if argument.endswith(STUDY_FILE_SUFFIXES) and "/" in argument and not path.is_file():
        raise InputError(MSG_STUDY_FILE_MISSING.format(path=argument, cwd=Path.cwd()))
    if not argument.endswith(STUDY_FILE_SUFFIXES) or not path.is_file():
        return argument
    from rigorlab.spec._yaml import load_yaml_with_positions

    name = load_yaml_with_positions(path).data.get("study")
    if not isinstance(name, str) or not name.strip():
        raise InputError(MSG_STUDY_FILE_WITHOUT_NAME.format(path=argument))
    errors.print(NOTE_STUDY_FROM_FILE.format(path=argument, study=name), highlight=False, soft_wrap=True, markup=False)
    return name


def name_column(table: Table, header: str, **options: Any) -> None:
    """Add a column of names (arms, datasets, studies, keys) that are folded, never cut with an
    ellipsis: ``logreg[C=0.1]`` and ``logreg[C=1.0]`` must stay distinguishable."""
    table.add_column(header, overflow="fold", **options)


class QuietProgress(Progress):
    """A rich Progress whose ``stop`` prints nothing when it never started.

    rich prints an empty line on ``stop`` when the console is not interactive, so an error raised
    before any progress was shown (a bad ``--store``) would start with a blank line.
    """

    def stop(self) -> None:
        if self.live.is_started:
            super().stop()


def short_key(key: str) -> str:
    return key[:10]


__all__ = [
    "PIPE_WIDTH",
    "QuietProgress",
    "StoreOption",
    "app",
    "choice",
    "console",
    "errors",
    "handles_errors",
    "name_column",
    "resolve_study",
    "short_key",
]
