"""Reading contract documents from YAML or JSON text, keeping the line of every value."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml

from contracts.problems import Problem

__all__ = ["DocumentSyntaxError", "SourceDocument", "parse_text", "read_file"]

Format = Literal["yaml", "json"]

# Hard limits on what any document may be, whatever reads it: deeper nesting cannot be
# encoded as canonical JSON (and recursion over it would exhaust the stack), and YAML
# aliases must not turn a small text into an enormous document ("billion laughs").
MAX_DEPTH = 200
# JSON nests two levels for one of YAML's block style ({"properties": {"a": ...}}); past
# this, checking a document would run out of Python's recursion.
MAX_JSON_DEPTH = 300
MAX_ALIAS_NODES = 100_000


class DocumentSyntaxError(ValueError):
    """The text is not YAML/JSON at all (unreadable input, as opposed to an invalid contract).

    `pointer` is the JSON pointer of the offending value, when the text parsed that far.
    """

    def __init__(
        self, source: str, message: str, line: int | None = None, pointer: str = ""
    ) -> None:
        self.source, self.reason, self.line, self.pointer = source, message, line, pointer
        where = f"{source}:{line}" if line else source
        super().__init__(f"{where}: {message}")


class SourceDocument:
    """A parsed document, where it came from, and the line each JSON pointer starts on."""

    __slots__ = ("_json_text", "_lines", "data", "problems", "source")

    def __init__(
        self,
        data: Any,
        source: str = "<document>",
        lines: Mapping[str, int] | None = None,
        problems: tuple[Problem, ...] = (),
        json_text: str | None = None,
    ) -> None:
        self.data = data
        self.source = source
        self.problems = problems
        self._lines = lines
        self._json_text = json_text

    @property
    def lines(self) -> Mapping[str, int]:
        if self._lines is None:
            # Only asked for when there is something to report, so JSON pays for it then.
            self._lines = {}
            if self._json_text is not None:
                with contextlib.suppress(DocumentSyntaxError):
                    _, self._lines, _ = _compose(self._json_text, self.source)
        return self._lines

    def line_of(self, pointer: str) -> int | None:
        """Line of `pointer`, or of its nearest ancestor that has one."""
        lines = self.lines
        while True:
            if pointer in lines:
                return lines[pointer]
            if not pointer:
                return None
            pointer = pointer.rsplit("/", 1)[0]


_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BaseLoader):  # type: ignore[valid-type,misc]
    """Safe YAML with 1.2 scalars: dates stay strings and only true/false are booleans."""


_YAML11_ONLY = {"tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:bool"}
_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in _YAML11_ONLY]
    for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


def _escape(key: object) -> str:
    return str(key).replace("~", "~0").replace("/", "~1")


_TEXT_KEYS = {"tag:yaml.org,2002:str", "tag:yaml.org,2002:merge"}  # `<<: *anchor` merges


def _index_lines(
    node: yaml.Node, pointer: str, lines: dict[str, int], problems: list[Problem], source: str
) -> None:
    lines.setdefault(pointer, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            child = f"{pointer}/{_escape(key)}"
            if key_node.tag not in _TEXT_KEYS:
                # JSON, hence every contract, has text keys only; YAML reads `200:` as a
                # number and `null:` as null, which no later step expects.
                kind = key_node.tag.rsplit(":", 1)[-1]
                raise DocumentSyntaxError(
                    source,
                    f"invalid YAML: key {key} at {child} is not text but YAML's {kind}: "
                    f"quote it ('{key}')",
                    key_node.start_mark.line + 1,
                    child,
                )
            if key in seen:
                problems.append(
                    Problem(
                        child,
                        f"duplicate key {key!r} (the later value would silently win)",
                        "duplicate-key",
                        line=key_node.start_mark.line + 1,
                    )
                )
            seen.add(key)
            lines[child] = key_node.start_mark.line + 1
            _index_lines(value_node, child, lines, problems, source)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _index_lines(item, f"{pointer}/{i}", lines, problems, source)


def _check_shape(text: str, source: str) -> None:
    """Refuse YAML nested deeper than MAX_DEPTH, with a recursive alias, or whose aliases
    repeat more than MAX_ALIAS_NODES nodes: from the parser's events, before composing."""
    loader = _Loader(text)
    depth = nodes = repeated = 0
    sizes: dict[str, int] = {}
    open_nodes: list[tuple[str | None, int]] = []
    try:
        while loader.check_event():
            event = loader.get_event()
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                nodes += 1
                if depth > MAX_DEPTH:
                    line = event.start_mark.line + 1 if event.start_mark else None
                    message = f"invalid YAML: nested more than {MAX_DEPTH} levels deep"
                    raise DocumentSyntaxError(source, message, line)
                open_nodes.append((event.anchor, nodes))
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
                anchor, first = open_nodes.pop()
                if anchor is not None:
                    sizes[anchor] = nodes - first + 1
            elif isinstance(event, yaml.ScalarEvent):
                nodes += 1
                if event.anchor is not None:
                    sizes[event.anchor] = 1
            elif isinstance(event, yaml.AliasEvent):
                line = event.start_mark.line + 1 if event.start_mark else None
                if any(anchor == event.anchor for anchor, _ in open_nodes):
                    message = f"invalid YAML: alias *{event.anchor} refers to a node it is inside"
                    raise DocumentSyntaxError(source, message, line)
                size = sizes.get(str(event.anchor), 1)
                nodes += size
                repeated += size
                if repeated > MAX_ALIAS_NODES:
                    message = f"invalid YAML: aliases repeat more than {MAX_ALIAS_NODES} nodes"
                    raise DocumentSyntaxError(source, message, line)
    except yaml.YAMLError:
        return  # composing reports the syntax error, with its line
    finally:
        loader.dispose()


def _compose(text: str, source: str) -> tuple[Any, dict[str, int], list[Problem]]:
    _check_shape(text, source)
    loader = _Loader(text)
    lines: dict[str, int] = {}
    problems: list[Problem] = []
    try:
        node = loader.get_single_node()
        if node is not None:
            # Before constructing: that merges `<<: *anchor` keys into the mapping node,
            # where a key the mapping overrides would look like a duplicate.
            _index_lines(node, "", lines, problems, source)
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise DocumentSyntaxError(source, f"invalid YAML: {exc.problem or exc}", line) from None
    except yaml.YAMLError as exc:
        raise DocumentSyntaxError(source, f"invalid YAML: {exc}") from None
    except (ValueError, RecursionError) as exc:  # e.g. an integer of 10,000 digits
        if isinstance(exc, DocumentSyntaxError):
            raise
        raise DocumentSyntaxError(source, f"invalid YAML: {exc}") from None
    finally:
        loader.dispose()
    return data, lines, problems


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def _deeper_than(data: Any, limit: int) -> bool:
    """Whether `data` nests more than `limit` levels of objects and arrays (iteratively)."""
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            if depth >= limit:
                return True
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, depth + 1) for child in children)
    return False


def parse_text(
    text: str | bytes, source: str = "<document>", fmt: Format | None = None
) -> SourceDocument:
    """Parse YAML or JSON (`fmt` None: JSON when the text starts with ``{``)."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DocumentSyntaxError(source, f"not UTF-8 text (byte {exc.start})") from None
    text = text.removeprefix("\ufeff")
    if fmt is None:
        fmt = "json" if text.lstrip().startswith("{") else "yaml"
    if fmt == "json":
        try:
            data = json.loads(text, object_pairs_hook=_reject_duplicates)
        except json.JSONDecodeError as exc:
            raise DocumentSyntaxError(source, f"invalid JSON: {exc.msg}", exc.lineno) from None
        except ValueError as exc:
            raise DocumentSyntaxError(source, f"invalid JSON: {exc}") from None
        except RecursionError:
            raise DocumentSyntaxError(
                source, f"invalid JSON: nested more than {MAX_DEPTH} levels deep"
            ) from None
        if _deeper_than(data, MAX_JSON_DEPTH):  # later steps recurse
            raise DocumentSyntaxError(
                source, f"invalid JSON: nested more than {MAX_JSON_DEPTH} levels deep"
            )
        # JSON is (nearly) YAML: the YAML composer finds the lines if they are ever needed.
        return SourceDocument(data, source, json_text=text)
    data, lines, problems = _compose(text, source)
    return SourceDocument(data, source, lines, tuple(problems))


def read_file(path: str | Path) -> SourceDocument:
    """Read and parse a contract file; the format follows the extension."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DocumentSyntaxError(str(path), f"cannot read: {exc.strerror or exc}") from None
    fmt: Format | None = "json" if path.suffix.lower() == ".json" else None
    return parse_text(raw, str(path), fmt)
