"""The shared pieces of the command line: the Typer app, consoles, error handling, options."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from rigorlab.errors import InputError, RigorlabError

app = typer.Typer(
    name="rigorlab",
    help="A research bench for AI/ML: reproducible studies, sound statistics, audits and reports.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console()
errors = Console(stderr=True)


MSG_BAD_FORMAT = "--format must be one of {choices}. Got '{value}' instead."

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
            errors.print(f"[bold red]Error:[/bold red] {error}", highlight=False, soft_wrap=True)
            raise typer.Exit(code=error.exit_code) from None

    return wrapper  # type: ignore[return-value]


def choice(value: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise InputError(MSG_BAD_FORMAT.format(choices=", ".join(choices), value=value))
    return value


def short_key(key: str) -> str:
    return key[:10]


__all__ = ["StoreOption", "app", "choice", "console", "errors", "handles_errors", "short_key"]
