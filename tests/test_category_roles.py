"""The role manager that links categories, purposes and kinds of person to flows, held against
plain reachability: ``has_link(a, b)`` holds when a path of one to ``max_hierarchy_level``
links leads from a to b, whatever links were added and deleted before."""

from __future__ import annotations

from collections import deque
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from authreg.domain.category_roles import WideRoleManager

NAMES = ["a", "b", "c", "d", "e", "f"]
LEVELS = 3
links = st.tuples(st.sampled_from(NAMES), st.sampled_from(NAMES))


def reachable(graph: set[tuple[str, str]], start: str, goal: str) -> bool:
    """Shortest walk of at least one link from start to goal, within LEVELS links."""
    distance = {start: 0}
    queue = deque([start])
    while queue:
        name = queue.popleft()
        for source, target in graph:
            if source == name and target not in distance:
                distance[target] = distance[name] + 1
                queue.append(target)
    return any(target == goal and distance.get(source, LEVELS) < LEVELS for source, target in graph)


@settings(max_examples=300)
@given(st.lists(st.tuples(st.booleans(), links), max_size=30))
def test_has_link_is_reachability_within_the_levels(operations: list[tuple[bool, tuple[str, str]]]) -> None:
    manager = WideRoleManager(max_hierarchy_level=LEVELS)
    graph: set[tuple[str, str]] = set()
    for adding, (name1, name2) in operations:
        if adding:
            manager.add_link(name1, name2)
            graph.add((name1, name2))
        else:
            manager.delete_link(name1, name2)
            graph.discard((name1, name2))
    for name1 in NAMES:
        for name2 in NAMES:
            assert manager.has_link(name1, name2) == reachable(graph, name1, name2), (name1, name2, sorted(graph))


def test_a_chain_longer_than_the_levels_is_not_a_link() -> None:
    manager = WideRoleManager(max_hierarchy_level=LEVELS)
    for name1, name2 in pairwise(NAMES):
        manager.add_link(name1, name2)
    assert manager.has_link("a", "d") and not manager.has_link("a", "e")
    assert not manager.has_link("a", "a")  # no name is linked to itself


def test_no_levels_no_links() -> None:
    manager = WideRoleManager(max_hierarchy_level=0)
    manager.add_link("a", "b")
    assert not manager.has_link("a", "b")
