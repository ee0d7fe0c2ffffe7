"""Loading YAML and JSON documents into plain JSON values, keeping line and column of every node.

YAML is read with PyYAML's composer and a resolver of the YAML 1.2 core
schema, not PyYAML's YAML 1.1 default: ``on``, ``no`` and ``yes`` stay
strings, ``1:30`` is not the number 90, ``2024-01-01`` is not a date and
``010`` is ten. Values are built by hand from the node tree so that every
value and every mapping key keeps its position (`SourceMap`). Things a JSON
value cannot hold, or that hide mistakes, are reported as problems, never
silently accepted: duplicate keys, aliases, non-scalar keys, tags other than
the standard scalar ones, ``.nan`` and ``.inf``, several documents in one file.

JSON text is parsed by the standard library (so what is valid JSON is
exactly that), and positions are taken from the same text read as YAML.
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path as FilePath
from typing import Any

import attrs

try:
    import yaml
except ImportError as missing:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "durable.declarative needs PyYAML; install the extra: pip install 'durable[declarative]'"
    ) from missing

from durable.declarative.problems import Path, Problem

__all__ = ["LoadResult", "SourceMap", "load_file", "load_text"]

_NULL = "tag:yaml.org,2002:null"
_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_STR = "tag:yaml.org,2002:str"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"


class _Resolver(yaml.resolver.BaseResolver):
    """The YAML 1.2 core schema's implicit types, and nothing else."""


for _tag, _pattern, _first in (
    (_NULL, r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    (_BOOL, r"^(?:true|True|TRUE|false|False|FALSE)$", list("tTfF")),
    (_INT, r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", list("-+0123456789")),
    (
        _FLOAT,
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        list("-+.0123456789"),
    ),
):
    _Resolver.add_implicit_resolver(_tag, re.compile(_pattern), _first)


class _Loader(
    yaml.reader.Reader,
    yaml.scanner.Scanner,
    yaml.parser.Parser,
    yaml.composer.Composer,
    _Resolver,
):
    """Reads one YAML document into a node tree (values are built by `_Builder`)."""

    def __init__(self, stream: str) -> None:
        yaml.reader.Reader.__init__(self, stream)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)
        yaml.composer.Composer.__init__(self)
        _Resolver.__init__(self)


_CParser: Any = getattr(getattr(yaml, "cyaml", None), "CParser", None)
_FastLoader: Any = _Loader
if _CParser is not None:

    class _CLoader(_CParser, _Resolver):  # type: ignore[misc]
        """The same, with libyaml's scanner and parser (several times faster)."""

        def __init__(self, stream: str) -> None:
            _CParser.__init__(self, stream)
            _Resolver.__init__(self)

    _FastLoader = _CLoader


@attrs.frozen
class SourceMap:
    """Line and column (1-based) of each value and each mapping key of a document.

    Attributes:
        values: the position of the node at each path.
        keys: the position of the mapping key that leads to each path.
    """

    values: dict[Path, tuple[int, int]] = attrs.field(factory=dict)
    keys: dict[Path, tuple[int, int]] = attrs.field(factory=dict)

    def value_at(self, path: Path) -> tuple[int, int]:
        """The position of the value at `path`, or of its nearest known ancestor; (0, 0) if none."""
        for end in range(len(path), -1, -1):
            found = self.values.get(path[:end])
            if found is not None:
                return found
        return (0, 0)

    def key_at(self, path: Path) -> tuple[int, int]:
        """The position of the key naming `path`, else of the value there."""
        return self.keys.get(path) or self.value_at(path)


@attrs.frozen
class LoadResult:
    """A loaded document: its value (None if it did not load), positions and problems."""

    data: Any
    source_map: SourceMap
    problems: list[Problem]


def load_file(path: str | os.PathLike[str]) -> LoadResult:
    """Load a ``.json`` file as JSON and anything else as YAML."""
    target = FilePath(path)
    try:
        text = target.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        problem = Problem(
            file=str(path), line=0, column=0, path=(), message=f"cannot read: {error}"
        )
        return LoadResult(None, SourceMap(), [problem])
    return load_text(text, file=str(path), json_text=target.suffix.lower() == ".json")


def load_text(text: str, *, file: str = "<document>", json_text: bool = False) -> LoadResult:
    """Load YAML (or, with `json_text`, JSON) text."""
    if json_text:
        return _load_json(text, file)
    builder = _Builder(file)
    try:
        node = _FastLoader(text).get_single_node()
    except yaml.YAMLError as error:
        return LoadResult(None, SourceMap(), [_yaml_problem(error, file, text)])
    if node is None:
        problem = Problem(file=file, line=1, column=1, path=(), message="the document is empty")
        return LoadResult(None, SourceMap(), [problem])
    data = builder.build(node, ())
    return LoadResult(data, builder.source_map, builder.problems)


def _load_json(text: str, file: str) -> LoadResult:
    try:
        data = json.loads(text, parse_constant=_no_constant)
    except ValueError as error:
        line, column = (
            (error.lineno, error.colno) if isinstance(error, json.JSONDecodeError) else (1, 1)
        )
        message = error.msg if isinstance(error, json.JSONDecodeError) else str(error)
        problem = Problem(
            file=file, line=line, column=column, path=(), message=f"not valid JSON: {message}"
        )
        return LoadResult(None, SourceMap(), [problem])
    builder = _Builder(file)
    try:
        node = _FastLoader(text.replace("\t", " ")).get_single_node()
    except yaml.YAMLError:
        node = None
    if node is not None:
        builder.build(node, ())
    duplicates = [each for each in builder.problems if each.message.startswith("duplicate key")]
    return LoadResult(data, builder.source_map, duplicates)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _yaml_problem(error: yaml.YAMLError, file: str, text: str) -> Problem:
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    line, column = (mark.line + 1, mark.column + 1) if mark is not None else (0, 0)
    problem = getattr(error, "problem", None) or str(error)
    context = getattr(error, "context", None)
    message = f"not valid YAML: {problem}" + (f" ({context})" if context else "")
    at_tab = mark is not None and text[mark.index : mark.index + 1] == "\t"
    hint = _yaml_hint(f"{problem} {context or ''}", at_tab=at_tab)
    return Problem(file=file, line=line, column=column, path=(), message=message, hint=hint)


def _yaml_hint(problem: str, *, at_tab: bool) -> str | None:
    if at_tab or "'\\t'" in problem:
        return "indent with spaces, not tabs"
    if "single document" in problem:
        return "a workflow file holds one document: remove the extra '---'"
    if "mapping values are not allowed" in problem or "flow mapping" in problem:
        return "quote strings that contain ': ', '{' or '${ }' inside flow collections"
    return None


class _Builder:
    """Builds JSON values from YAML nodes, recording positions and problems."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.source_map = SourceMap()
        self.problems: list[Problem] = []
        self._seen: set[int] = set()

    def problem(
        self,
        node: yaml.Node,
        path: Path,
        message: str,
        hint: str | None = None,
        *,
        at_key: bool = False,
    ) -> None:
        line, column = (at_key and self.source_map.keys.get(path)) or (
            node.start_mark.line + 1,
            node.start_mark.column + 1,
        )
        self.problems.append(
            Problem(
                file=self.file,
                line=line,
                column=column,
                path=path,
                message=message,
                hint=hint,
            )
        )

    def build(self, node: yaml.Node, path: Path) -> Any:
        if id(node) in self._seen:
            self.problem(
                node,
                path,
                "YAML aliases (*name) are not supported",
                "write the value out",
                at_key=True,
            )
            return None
        self._seen.add(id(node))
        self.source_map.values[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            self._check_tag(node, path, _SEQ)
            return [self.build(item, (*path, index)) for index, item in enumerate(node.value)]
        assert isinstance(node, yaml.ScalarNode)
        return self._scalar(node, path)

    def _check_tag(self, node: yaml.Node, path: Path, expected: str) -> None:
        if node.tag != expected:
            self.problem(node, path, f"unsupported YAML tag {node.tag!r}", "remove the tag")

    def _mapping(self, node: yaml.MappingNode, path: Path) -> dict[str, Any]:
        self._check_tag(node, path, _MAP)
        result: dict[str, Any] = {}
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = self._key(key_node, path)
            if key is None:
                continue
            child = (*path, key)
            if key in result or key in first_line:
                self.problem(
                    key_node,
                    child,
                    f"duplicate key '{key}' (the first is at line {first_line[key]})",
                    "YAML keeps only the last value; remove one",
                )
                continue
            first_line[key] = key_node.start_mark.line + 1
            self.source_map.keys[child] = (
                key_node.start_mark.line + 1,
                key_node.start_mark.column + 1,
            )
            result[key] = self.build(value_node, child)
        return result

    def _key(self, node: yaml.Node, path: Path) -> str | None:
        if not isinstance(node, yaml.ScalarNode):
            self.problem(node, path, "mapping keys must be plain strings, not lists or mappings")
            return None
        if node.tag == _NULL and node.value in ("", "~"):
            self.problem(node, path, "a mapping key is empty")
            return None
        if node.value == "<<" and not node.style:
            self.problem(
                node,
                (*path, "<<"),
                "YAML merge keys (<<) are not supported",
                "write the fields out",
            )
            return None
        return str(node.value)

    def _scalar(self, node: yaml.ScalarNode, path: Path) -> Any:
        tag, text = node.tag, node.value
        if tag == _STR:
            return text
        if tag == _NULL:
            return None
        if tag == _BOOL:
            return text.lower() == "true"
        if tag == _INT:
            return self._int(node, path)
        if tag == _FLOAT:
            value = float(text) if "n" not in text.lower() else math.nan
            if not math.isfinite(value):
                self.problem(node, path, f"{text} is not a JSON number", "quote it if it is text")
                return None
            return value
        self.problem(node, path, f"unsupported YAML tag {tag!r}", "remove the tag")
        return text

    def _int(self, node: yaml.ScalarNode, path: Path) -> int | None:
        text = node.value
        try:
            if text.startswith("0o"):
                return int(text[2:], 8)
            if text.startswith("0x"):
                return int(text[2:], 16)
            return int(text)
        except ValueError:
            self.problem(node, path, f"{text!r} is not a number")
            return None
