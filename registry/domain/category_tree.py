"""What a flow's categories grant, as a tree.

A flow that grants a category grants everything below it in the taxonomy; a reader of the flow
sees only the top names (``officiele-personalia``). Shown as a tree, with the national register
number and sensitive categories marked, the reader sees that ``officiele-personalia`` holds the
INSZ, and so needs the number to be allowed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Node:
    id: str
    label: str
    national_register_number: bool
    sensitive: bool
    children: tuple[Node, ...]

    @property
    def holds_number(self) -> bool:
        """Whether this category, or one below it, is the national register number: asking for
        it needs the number."""
        return self.national_register_number or any(child.holds_number for child in self.children)


def category_tree(granted: Iterable[str], categories: Mapping[str, Mapping[str, Any]]) -> list[Node]:
    """One tree per granted category, its descendants below it by id; a category the taxonomy
    does not know (which ``merge`` refuses) is shown as a leaf with its id for label."""
    below: dict[str, list[str]] = {}
    for key, entry in categories.items():
        if entry.get("parent"):
            below.setdefault(entry["parent"], []).append(key)

    def node(key: str, seen: frozenset[str]) -> Node:
        entry = categories.get(key, {})
        children = tuple(node(child, seen | {key}) for child in sorted(below.get(key, [])) if child not in seen)
        return Node(
            id=key,
            label=entry.get("label", key),
            national_register_number=bool(entry.get("national_register_number")),
            sensitive=bool(entry.get("sensitive")),
            children=children,
        )

    return [node(key, frozenset()) for key in granted]
