"""Safe YAML loading that remembers the line of every value, so errors can say `FILE:LINE: field.path`.

Only plain data is built (mappings, lists, scalars through PyYAML's safe resolver): no tags that construct
objects, no code. Alias expansion, nesting depth and size are bounded so hostile files fail fast.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from sim.errors import Problem

MAX_BYTES = 10_000_000
MAX_NODES = 200_000
MAX_TEXT = MAX_BYTES  # characters of keys and values once aliases are expanded
MAX_DEPTH = 64

Path = tuple[str | int, ...]


@dataclass
class LinedDocument:
    """Plain data from a YAML file plus the 1-based line of each path in it."""

    data: Any
    file: str
    lines: dict[Path, int] = field(default_factory=dict)

    def line_of(self, path: Path) -> int:
        """Line of `path`, or of its nearest ancestor that has one (the document start for the root)."""
        path = tuple(path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), 1)


class _TooBig(Exception):
    pass


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing nesting deeper than MAX_DEPTH as it reads rather than after: its
    scanner looks ahead up to 1,024 characters at every `[` or `{` of a deep flow nest, and its composer
    recurses once a level, so a nest of thousands costs seconds and then a RecursionError."""

    def __init__(self, text: str):
        super().__init__(text)
        self._depth = 0

    def fetch_flow_collection_start(self, TokenClass):
        if self.flow_level >= MAX_DEPTH:
            raise _TooBig(f"document nests deeper than {MAX_DEPTH} levels", self.get_mark().line + 1)
        super().fetch_flow_collection_start(TokenClass)

    def add_indent(self, column):
        if len(self.indents) >= MAX_DEPTH:
            raise _TooBig(f"document nests deeper than {MAX_DEPTH} levels", self.get_mark().line + 1)
        return super().add_indent(column)

    def compose_node(self, parent, index):
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH + 1:
                mark = self.peek_event().start_mark
                raise _TooBig(f"document nests deeper than {MAX_DEPTH} levels", mark.line + 1)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


class _Builder:
    def __init__(self, file: str, loader: yaml.SafeLoader):
        self.file = file
        self.loader = loader
        self.lines: dict[Path, int] = {}
        self.problems: list[Problem] = []
        self.nodes = 0
        self.text = 0

    def build(self, node: yaml.Node, path: Path) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise _TooBig(f"document expands to more than {MAX_NODES} values (alias bomb?)", 1)
        if len(path) > MAX_DEPTH:
            raise _TooBig(f"document nests deeper than {MAX_DEPTH} levels", node.start_mark.line + 1)
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.ScalarNode):
            self.text += len(node.value) + (len(str(path[-1])) if path else 0)
            if self.text > MAX_TEXT:
                message = f"document expands to more than {MAX_TEXT:,} characters (an alias repeated?)"
                raise _TooBig(message, node.start_mark.line + 1)
        if not isinstance(node, yaml.ScalarNode) and node.tag not in _COLLECTION_TAGS:
            return self._refuse_tag(node, path)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        return self._scalar(node, path)

    def _mapping(self, node: yaml.MappingNode, path: Path) -> dict:
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            where = ".".join(map(str, path))
            if not isinstance(key_node, yaml.ScalarNode):
                self.problems.append(Problem(self.file, line, where, "mapping keys must be plain text"))
                continue
            if key_node.tag == "tag:yaml.org,2002:merge":
                self.problems.append(
                    Problem(self.file, line, where, "YAML merge keys (<<) are not supported")
                )
                continue
            key = str(key_node.value)
            child = (*path, key)
            if key in out:
                dotted = ".".join(map(str, child))
                self.problems.append(Problem(self.file, line, dotted, "duplicate key"))
                continue
            self.lines[child] = line
            out[key] = self.build(value_node, child)
        return out

    def _scalar(self, node: yaml.ScalarNode, path: Path) -> Any:
        if node.tag.startswith("tag:yaml.org,2002:") and node.tag[18:] in _PLAIN_TAGS:
            try:
                return self.loader.construct_object(node, deep=True)
            except ValueError as exc:  # a number of thousands of digits, an impossible date
                line = node.start_mark.line + 1
                message = f"cannot read {node.value[:20]!r}{'...' if len(node.value) > 20 else ''}: {exc}"
                self.problems.append(Problem(self.file, line, ".".join(map(str, path)), message))
                return None
        return self._refuse_tag(node, path)

    def _refuse_tag(self, node: yaml.Node, path: Path) -> None:
        dotted = ".".join(map(str, path))
        line = node.start_mark.line + 1
        self.problems.append(Problem(self.file, line, dotted, f"unsupported YAML tag {node.tag}"))


_COLLECTION_TAGS = {"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"}
_PLAIN_TAGS = {"str", "int", "float", "bool", "null", "timestamp"}


def load_lined_yaml(text: str | bytes, file: str) -> LinedDocument:
    """Parse one YAML document; raise `ScenarioError`-ready problems as a list via `YamlProblems`."""
    if isinstance(text, bytes):
        if len(text) > MAX_BYTES:
            raise YamlProblems([Problem(file, 1, "", f"file is larger than {MAX_BYTES} bytes")])
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = text[: exc.start].count(b"\n") + 1
            raise YamlProblems([Problem(file, line, "", "file is not UTF-8 text")]) from None
    loader = None
    try:
        loader = _BoundedLoader(text)
        node = loader.get_single_node()
        if node is None:
            raise YamlProblems([Problem(file, 1, "", "file is empty")])
        builder = _Builder(file, loader)
        data = builder.build(node, ())
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise YamlProblems([Problem(file, line, "", f"invalid YAML: {exc.problem or exc}")]) from None
    except yaml.reader.ReaderError as exc:
        line = text[: exc.position].count("\n") + 1
        message = f"invalid YAML: character {exc.character!r} is not allowed"
        raise YamlProblems([Problem(file, line, "", message)]) from None
    except yaml.YAMLError as exc:
        raise YamlProblems([Problem(file, 1, "", f"invalid YAML: {exc}")]) from None
    except _TooBig as exc:
        message, line = exc.args
        raise YamlProblems([Problem(file, line, "", message)]) from None
    except RecursionError:
        raise YamlProblems([Problem(file, 1, "", "document nests too deeply")]) from None
    finally:
        if loader is not None:
            loader.dispose()
    if builder.problems:
        raise YamlProblems(builder.problems)
    return LinedDocument(data, file, builder.lines)


class YamlProblems(Exception):
    """Internal carrier of problems found while reading YAML; the loader turns them into a ScenarioError."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(map(str, problems)))
