"""YAML → database → YAML: what ``show`` prints is the stored document, and applying it again
changes nothing."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from authreg.domain import yaml_input
from authreg.domain.documents import parse
from tests.conftest import SEED, SEED_ID, dump_tables, examples


def test_show_yaml_applied_again_is_unchanged(seeded: Engine, tmp_path: Path, run_cli: Callable[..., Any]) -> None:
    shown = run_cli("show", SEED_ID, "--format", "yaml")
    assert shown.exit_code == 0
    file = tmp_path / "shown.yaml"
    file.write_text(shown.stdout, encoding="utf-8")
    before = dump_tables(seeded)

    result = run_cli("apply", str(file))

    assert result.stdout.startswith(f"unchanged authorisation {SEED_ID} (version 1)")
    assert dump_tables(seeded) == before


def test_show_json_is_the_seed_document_with_its_keys(seeded: Engine, run_cli: Callable[..., Any]) -> None:
    shown = json.loads(run_cli("show", SEED_ID, "--format", "json").stdout)
    seed = parse(yaml_input.load(SEED.read_text(encoding="utf-8")), "seed")
    assert shown == seed.canonical()
    assert list(shown)[:9] == [
        "id",
        "reference",
        "title",
        "authority",
        "decided_on",
        "valid_from",
        "valid_until",
        "status",
        "legal_bases",
    ]
    assert shown["flows"][0]["from"] == "AII"
    assert shown["parties"][3] == {
        "id": "HBPLUS",
        "name": "HBplus",
        "role": "processor",
        "acts_for": "WSE-ESF",
        "paragraphs": [86, 93],
    }


def test_show_yaml_and_json_agree(seeded: Engine, run_cli: Callable[..., Any]) -> None:
    as_yaml = yaml_input.load(run_cli("show", SEED_ID, "--format", "yaml").stdout)
    as_json = json.loads(run_cli("show", SEED_ID, "--format", "json").stdout)
    assert as_yaml == as_json


_slug = st.from_regex(r"[a-z0-9][a-z0-9-]{0,10}", fullmatch=True)
_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=30)
_paragraphs = st.lists(st.integers(min_value=1, max_value=500), max_size=4)


@st.composite
def _documents(draw: st.DrawFn) -> dict[str, Any]:
    """Valid authorisation documents with arbitrary text, ids, dates and optional parts."""
    start = draw(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31)))
    purposes = draw(st.lists(_slug, min_size=1, max_size=3, unique=True))
    categories = draw(st.lists(_slug, min_size=1, max_size=4, unique=True))
    document: dict[str, Any] = {
        "id": draw(_slug),
        "reference": draw(_text),
        "title": draw(_text),
        "authority": "AUTH",
        "decided_on": start.isoformat(),
        "valid_from": start.isoformat(),
        "parties": [
            {"id": "AUTH", "name": draw(_text), "role": "authority"},
            {"id": "FROM", "roles": ["discloser", "recipient"]},
            {"id": "TO", "name": draw(_text), "role": "recipient", "paragraphs": draw(_paragraphs)},
        ],
        "purposes": [{"id": p, "description": draw(_text), "paragraphs": draw(_paragraphs)} for p in purposes],
        "flows": [
            {
                "id": "f",
                "from": "FROM",
                "to": "TO",
                "purposes": purposes,
                "data_categories": categories,
                "national_register_number": {"allowed": draw(st.booleans())},
            }
        ],
        "sensitive": draw(st.booleans()),
    }
    if draw(st.booleans()):
        document["valid_until"] = start.replace(year=start.year + 1, day=min(start.day, 28)).isoformat()
    if draw(st.booleans()):
        document["conditions"] = [
            {"id": "c", "description": draw(_text), "responsible": "FROM", "kind": "recurring", "every": "P1Y"}
        ]
    return document


@settings(max_examples=examples(150), deadline=None)
@given(_documents())
def test_canonical_form_survives_yaml_and_json(document: dict[str, Any]) -> None:
    first = parse(document, "generated").canonical()
    assert parse(yaml_input.load(yaml_input.dump(first)), "yaml").canonical() == first
    assert parse(json.loads(json.dumps(first)), "json").canonical() == first
