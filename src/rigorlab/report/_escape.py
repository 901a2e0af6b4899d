"""Escaping plain report text for HTML, Markdown and LaTeX (Jinja2 filters).

Report prose marks commands and paths as Markdown code spans (```rigorlab run study.yaml```);
each format renders them its own way. Jinja2 escapes HTML itself (``markupsafe``); no maintained
library escapes LaTeX or Markdown inline text, so those two are written here.
"""

from __future__ import annotations

import re
import unicodedata

from markupsafe import Markup, escape

__all__ = [
    "html_prose",
    "latex",
    "latex_cell",
    "latex_prose",
    "latex_verbatim",
    "markdown",
    "markdown_cell",
    "markdown_prose",
]

_CODE_SPAN = re.compile(r"`([^`]+)`")
_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "|": r"\textbar{}",
}
# Characters the report writes itself, and common ones in names and errors, that pdflatex with
# the default fonts cannot typeset from UTF-8 input.
_LATEX_UNICODE = {
    "\N{DAGGER}": r"\textsuperscript{\dag}",
    "\N{DOUBLE DAGGER}": r"\textsuperscript{\ddag}",
    "\N{CHECK MARK}": r"\textsuperscript{$\surd$}",
    "\N{EM DASH}": "---",
    "\N{EN DASH}": "--",
    "\N{PLUS-MINUS SIGN}": r"$\pm$",
    "\N{MULTIPLICATION SIGN}": r"$\times$",
    "\N{MINUS SIGN}": "-",
    "\N{GREATER-THAN OR EQUAL TO}": r"$\geq$",
    "\N{LESS-THAN OR EQUAL TO}": r"$\leq$",
    "\N{RIGHTWARDS ARROW}": r"$\rightarrow$",
    "\N{HORIZONTAL ELLIPSIS}": r"\ldots{}",
    "\N{GREEK SMALL LETTER ALPHA}": r"$\alpha$",
    "\N{LEFT SINGLE QUOTATION MARK}": "`",
    "\N{RIGHT SINGLE QUOTATION MARK}": "'",
    "\N{LEFT DOUBLE QUOTATION MARK}": "``",
    "\N{RIGHT DOUBLE QUOTATION MARK}": "''",
    "\N{NO-BREAK SPACE}": "~",
}
_HEX = frozenset("0123456789abcdef")
_MARKDOWN_SPECIAL = re.compile(r"([\\*_<>\[\]|#])")


def _ascii(character: str) -> str:
    """A non-ASCII character as ASCII: accents dropped (é -> e), anything else as ``?``."""
    decomposed = unicodedata.normalize("NFKD", character).encode("ascii", "ignore").decode()
    return decomposed or "?"


def latex(text: object, *, breakable: bool = False) -> str:
    """Plain text as LaTeX that pdflatex compiles with no extra package.

    With ``breakable``, long identifiers may wrap: a line may break after ``_``, ``/`` and a dot
    between letters (``sklearn.datasets.load_iris``), and inside runs of more than 16 hexadecimal
    digits (SHA-256 fingerprints), never inside a number like ``0.975`` or a word.

    Examples
    --------
    >>> latex("logreg[C=0.1] & 5% of x_1 † ±")
    'logreg[C=0.1] \\\\& 5\\\\% of x\\\\_1 \\\\textsuperscript{\\\\dag} $\\\\pm$'
    """
    text = str(text)
    out = []
    run = 0
    for index, character in enumerate(text):
        if character in _LATEX_SPECIAL:
            out.append(_LATEX_SPECIAL[character])
        elif character in _LATEX_UNICODE:
            out.append(_LATEX_UNICODE[character])
        elif ord(character) < 128:
            out.append(character)
        else:
            out.append(_ascii(character))
        if not breakable:
            continue
        run = run + 1 if character in _HEX else 0
        following = text[index + 1] if index + 1 < len(text) else ""
        dotted = character == "." and following.isalpha() and index > 0 and text[index - 1].isalpha()
        if character in "_/" or dotted or (run >= 16 and run % 8 == 0):
            out.append(r"\allowbreak{}")
    return "".join(out)


def latex_cell(text: object) -> str:
    """Text for a wrapped table cell: escaped, long identifiers allowed to break."""
    return latex(text, breakable=True)


def latex_prose(text: object) -> str:
    """Report prose as LaTeX: code spans become ``\\texttt`` (where long paths may break); the
    rest stays free of break hints, so that it reads well when pasted into a paper and edited."""
    parts = _CODE_SPAN.split(str(text))
    return "".join(
        latex(part) if index % 2 == 0 else rf"\texttt{{{latex(part, breakable=True)}}}"
        for index, part in enumerate(parts)
    )


def latex_verbatim(text: object) -> str:
    """Text for a ``verbatim`` environment: ASCII only (pdflatex reads verbatim bytes as they are),
    and no line that would end the environment early."""
    cleaned = "".join(c if ord(c) < 128 or c == "\n" else _ascii(c) for c in str(text))
    return cleaned.replace("\\end{verbatim}", "\\end {verbatim}")


def markdown(text: object) -> str:
    """Plain text as Markdown inline text (GitHub flavour): special characters escaped.

    Examples
    --------
    >>> markdown("hist_gb [C=1] | x*")
    'hist\\\\_gb \\\\[C=1\\\\] \\\\| x\\\\*'
    """
    return _MARKDOWN_SPECIAL.sub(r"\\\1", str(text))


def markdown_cell(text: object) -> str:
    """Text (or prose) for a Markdown table cell: on one line, escaped, code spans kept; a ``|``
    is escaped inside code spans too (GitHub ends the cell at a bare one)."""
    parts = _CODE_SPAN.split(" ".join(str(text).split()))
    return "".join(
        markdown(part) if index % 2 == 0 else "`" + part.replace("|", "\\|") + "`" for index, part in enumerate(parts)
    )


def markdown_prose(text: object) -> str:
    """Report prose as Markdown: code spans kept, the rest escaped."""
    parts = _CODE_SPAN.split(str(text))
    return "".join(markdown(part) if index % 2 == 0 else f"`{part}`" for index, part in enumerate(parts))


def html_prose(text: object) -> Markup:
    """Report prose as HTML: escaped, code spans as ``<code>``."""
    parts = _CODE_SPAN.split(str(text))
    pieces = [
        str(escape(part)) if index % 2 == 0 else f"<code>{escape(part)}</code>" for index, part in enumerate(parts)
    ]
    return Markup("".join(pieces))
