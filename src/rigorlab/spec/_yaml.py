"""YAML loading that remembers where every value came from.

PyYAML builds plain Python objects and forgets the positions. Pydantic reports errors by path
(``("protocol", "folds")``), so we walk the composed node tree once and record the line of every
path; error messages then read ``study.yaml:14``. ruamel.yaml keeps positions too, but only on its
own container types, which pydantic would have to be taught; a path->line map is simpler.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from rigorlab.errors import SpecError

__all__ = ["Located", "load_yaml_with_positions"]

Path_ = tuple[str | int, ...]

MSG_YAML_SYNTAX = "{file}:{line}: the study file is not valid YAML: {problem}. Fix the syntax at that line."
MSG_NOT_MAPPING = (
    "{file}:1: a study file must be a YAML mapping of fields (study:, datasets:, models:, ...). "
    "Got {kind} instead. Run `rigorlab init` to write a template to start from."
)
MSG_DUPLICATE_KEY = (
    "{file}:{line}: the field '{key}' appears twice in the same mapping (first at line {first}). Keep one of them."
)
MSG_UNREADABLE = "Cannot read the study file {file}: {reason}."


@dataclass(frozen=True)
class Located:
    """A parsed YAML document and the 1-based line of every path inside it."""

    data: Any
    file: str
    lines: dict[Path_, int] = field(default_factory=dict)

    def line_of(self, path: Path_) -> int:
        """Line of ``path``, or of its closest recorded parent (1 when nothing matches)."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(tuple(path[:end]))
            if line is not None:
                return line
        return 1

    def where(self, path: Path_) -> str:
        return f"{self.file}:{self.line_of(path)}"


def _walk(node: yaml.Node, path: Path_, lines: dict[Path_, int], file: str) -> None:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            key_line = key_node.start_mark.line + 1
            if key in seen:
                raise SpecError(MSG_DUPLICATE_KEY.format(file=file, line=key_line, key=key, first=seen[key]))
            seen[key] = key_line
            lines[(*path, key)] = key_line
            _walk(value_node, (*path, key), lines, file)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[(*path, index)] = item.start_mark.line + 1
            _walk(item, (*path, index), lines, file)


def parse_yaml_text(text: str, file: str) -> Located:
    """Parse ``text`` (the content of ``file``) into a :class:`Located` document."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else 1
        problem = error.problem or str(error)
        raise SpecError(MSG_YAML_SYNTAX.format(file=file, line=line, problem=problem)) from error
    except yaml.YAMLError as error:
        raise SpecError(MSG_YAML_SYNTAX.format(file=file, line=1, problem=error)) from error
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        kind = "an empty file" if data is None else f"a {type(data).__name__}"
        raise SpecError(MSG_NOT_MAPPING.format(file=file, kind=kind))
    lines: dict[Path_, int] = {}
    assert node is not None
    _walk(node, (), lines, file)
    return Located(data=data, file=file, lines=lines)


def load_yaml_with_positions(path: Path) -> Located:
    """Read and parse a YAML file, keeping the line of every value."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as error:
        raise SpecError(MSG_UNREADABLE.format(file=path, reason="no such file")) from error
    except (OSError, UnicodeDecodeError) as error:
        raise SpecError(MSG_UNREADABLE.format(file=path, reason=error)) from error
    return parse_yaml_text(text, str(path))
