"""Which statement of an authorisation rests on which paragraph of its decision, both ways.

A privacy officer checks a registered authorisation against the decision paragraph by paragraph
(randnummer): "§90 — where did that go?". So every statement that cites paragraphs gets a stable
anchor, and the paragraphs are indexed back to the statements citing them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Statement:
    """One statement of the document: what it is (``kind``, ``key``), where it is shown
    (``anchor``, an HTML id) and the paragraphs it cites."""

    kind: str
    key: str
    anchor: str
    paragraphs: tuple[int, ...]


def statements(document: Mapping[str, Any]) -> list[Statement]:
    """Every statement of a stored document that cites paragraphs, in the document's order."""
    return [found for found in _all(document) if found.paragraphs]


def _all(document: Mapping[str, Any]) -> Iterator[Statement]:
    for field, cited in document.get("paragraphs", {}).items():
        yield Statement("field", field, f"field-{field}", tuple(cited))
    for kind, plural in (("legal-basis", "legal_bases"), ("party", "parties"), ("purpose", "purposes")):
        for entry in document.get(plural, []):
            yield Statement(kind, entry["id"], f"{kind}-{entry['id']}", tuple(entry.get("paragraphs", [])))
    for flow in document.get("flows", []):
        yield Statement("flow", flow["id"], f"flow-{flow['id']}", tuple(flow.get("paragraphs", [])))
        number = flow.get("national_register_number", {})
        yield Statement("number", flow["id"], f"number-{flow['id']}", tuple(number.get("paragraphs", [])))
    for index, entry in enumerate(document.get("related", []), start=1):
        yield Statement("related", entry["reference"], f"related-{index}", tuple(entry.get("paragraphs", [])))
    onward = document.get("onward_disclosure")
    exceptions = onward.get("exceptions", []) if isinstance(onward, dict) else []
    for index, entry in enumerate(exceptions, start=1):
        yield Statement("exception", entry["to"], f"exception-{index}", tuple(entry.get("paragraphs", [])))
    for condition in document.get("conditions", []):
        anchor = f"condition-{condition['id']}"
        yield Statement("condition", condition["id"], anchor, tuple(condition.get("paragraphs", [])))
    for index, remark in enumerate(document.get("remarks", []), start=1):
        yield Statement("remark", str(index), f"remark-{index}", tuple(remark.get("paragraphs", [])))


def paragraph_index(document: Mapping[str, Any]) -> dict[int, list[Statement]]:
    """Paragraph number -> the statements citing it, by number."""
    index: dict[int, list[Statement]] = {}
    for found in statements(document):
        for number in found.paragraphs:
            index.setdefault(number, [])
            if found not in index[number]:
                index[number].append(found)
    return dict(sorted(index.items()))
