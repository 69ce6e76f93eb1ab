"""YAML as policy-as-code needs it: dates stay text until the schema reads them, only
``true``/``false`` are booleans (so an organisation code like ``NO`` or ``ON`` stays a code),
and a key given twice in one mapping is an error instead of a silent overwrite.

Hostile files are input errors too (``yaml.YAMLError`` with a line number): lists and mappings
nested deeper than ``MAX_DEPTH`` (PyYAML composes recursively, so 20,000 levels overflowed
Python's stack), aliases (which expand a small file into gigabytes), and integers longer than
``MAX_INTEGER_LENGTH`` characters (``int`` refuses more than 4,300 digits, and YAML 1.1's
base-60 integers such as ``1:0:0`` take quadratic time).
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError
from yaml.nodes import Node, ScalarNode

from authreg.domain.document_format import MAX_DEPTH

MAX_INTEGER_LENGTH = 32  # characters: any count or paragraph number of a decision, with room to spare
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_BOOL = "tag:yaml.org,2002:bool"
_STRICT_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")


def _plain_resolvers() -> dict[str, list[tuple[str, re.Pattern[str]]]]:
    return {
        first: [(tag, rx) for tag, rx in resolvers if tag not in (_TIMESTAMP, _BOOL)]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }


class _Loader(yaml.SafeLoader):
    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0  # lists and mappings open around the node being composed

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        """PyYAML composes one level per call: stop at ``MAX_DEPTH`` lists and mappings, long
        before Python's stack would. Aliases are refused: a 5 MB file of aliases to aliases
        expands to gigabytes ("billion laughs"), and a decision has nothing to repeat."""
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            raise ComposerError(None, None, "aliases (*name) are not allowed: write the entry out", mark)
        if not self.check_event(yaml.SequenceStartEvent, yaml.MappingStartEvent):
            return super().compose_node(parent, index)
        if self._depth >= MAX_DEPTH:
            mark = self.peek_event().start_mark
            raise ComposerError(None, None, f"lists and mappings nested deeper than {MAX_DEPTH} levels", mark)
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_yaml_int(self, node: ScalarNode) -> int:
        if len(node.value) > MAX_INTEGER_LENGTH:
            message = f"an integer longer than {MAX_INTEGER_LENGTH} characters"
            raise ConstructorError(None, None, message, node.start_mark)
        number: int = super().construct_yaml_int(node)
        return number

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise ConstructorError(None, None, f"key {key!r} given twice", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        """What is dumped must load again, and the loader refuses aliases."""
        return True

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        """Indent list items under their key, as people write them."""
        super().increase_indent(flow, False)


_Loader.add_constructor("tag:yaml.org,2002:int", _Loader.construct_yaml_int)
for _cls in (_Loader, _Dumper):
    _cls.yaml_implicit_resolvers = _plain_resolvers()
    _cls.add_implicit_resolver(_BOOL, _STRICT_BOOL, list("tTfF"))


def _represent_list(dumper: yaml.SafeDumper, data: list[Any]) -> yaml.SequenceNode:
    """Paragraph numbers read best on one line; ids one per line, so a diff shows which changed."""
    flow = bool(data) and all(isinstance(item, int) and not isinstance(item, bool) for item in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


_Dumper.add_representer(list, _represent_list)


def load(text: str) -> Any:
    """Parse one YAML document; raises ``yaml.YAMLError`` with a line number on bad syntax."""
    return yaml.load(text, Loader=_Loader)


def dump(data: Any) -> str:
    """Block-style YAML in the key order given, readable beside the decision it encodes."""
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
