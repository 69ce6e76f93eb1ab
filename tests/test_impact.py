"""The impact of a change before it is made (issue 13, item 1): ``authreg apply --dry-run
--impact`` and ``POST /api/v1/impact`` replay the logged decisions against the registry as it
is and as it would be, and list the answers that would flip. Held against a plain replay on a
copy of a generated registry to which the change was really applied; nothing is ever written."""

from __future__ import annotations

import json
import random
import shutil
from copy import deepcopy
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, text

from authreg.domain.documents import Document, parse
from authreg.domain.policy_engine import PolicyEngine
from authreg.domain.requests import load_request
from authreg.services.apply import apply_documents
from authreg.services.decision_service import DecisionService
from authreg.services.impact import impact
from authreg.storage.audit_log import Replayed, replayable
from authreg.storage.sessions import make_engine, reading
from authreg.storage.snapshot_loader import load_snapshot
from bench.generate import requests as generated_requests
from bench.generate import taxonomy
from tests.conftest import SEED_ASK, SEED_ID, SEED_SUBJECT, TEST_SECRET, dump_tables, generated_registry, write_yaml

NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)
DAYS = ["2017-11-01", "2018-01-10", "2018-03-05"]


def log_seed_decisions(engine: Engine) -> None:
    """Allows of the seed user on three days, and denials for a purpose it does not have."""
    service = DecisionService.load(engine, timezone="Europe/Brussels", secret=TEST_SECRET)
    asked = [{**SEED_ASK, "at": day} for day in DAYS] + [{**SEED_ASK, "at": DAYS[0], "purpose": "marketing"}]
    service.ask_many([load_request(r) for r in asked], asked_by="case-app", now=NOW)


def amended(seed: dict[str, Any], **changes: Any) -> Document:
    return parse({**deepcopy(seed), **changes}, "amended.yaml")


def test_an_earlier_end_turns_the_later_allows_round_and_writes_nothing(
    seeded: Engine, seed_document: dict[str, Any]
) -> None:
    log_seed_decisions(seeded)
    before = dump_tables(seeded)
    found = impact(seeded, [amended(seed_document, valid_until=date(2017, 12, 31))], since=None, actor="t", now=NOW)
    assert dump_tables(seeded) == before  # the rehearsal was rolled back: no version, no change log, no entry
    assert found.apply.dry_run and found.apply.changes[0].status == "changed"
    assert (found.replayed, found.unreadable, found.drifted) == (4, 0, 0)
    assert found.counts() == {"allow_to_deny": 2, "deny_to_allow": 0}
    assert sorted(flip.request.day_text for flip in found.flips) == ["2018-01-10", "2018-03-05"]
    assert all(flip.reasons == ("expired",) for flip in found.flips), [f.reasons for f in found.flips]
    groups = found.groups()
    assert groups["authorisation"] == [{"authorisation": SEED_ID, "allow_to_deny": 2, "deny_to_allow": 0}]
    assert groups["user"] == [{"user": SEED_ASK["user"], "allow_to_deny": 2, "deny_to_allow": 0}]
    assert groups["data_category"] == [{"data_category": "naam", "allow_to_deny": 2, "deny_to_allow": 0}]
    printed = json.dumps(found.as_dict())
    assert SEED_SUBJECT not in printed and "data_subject_hash" not in printed  # not even the hash is shown
    assert all(flip["request"]["named_person"] for flip in found.as_dict()["flips"])


def test_a_new_purpose_turns_the_denials_for_it_round(seeded: Engine, seed_document: dict[str, Any]) -> None:
    log_seed_decisions(seeded)
    document = deepcopy(seed_document)
    document["purposes"].append({"id": "marketing", "description": "wat niet mag", "paragraphs": [1]})
    document["flows"][0]["purposes"].append("marketing")
    found = impact(seeded, [amended(document)], since=None, actor="t", now=NOW)
    assert found.counts() == {"allow_to_deny": 0, "deny_to_allow": 1}
    (flip,) = found.flips
    assert (flip.request.purpose, flip.before, flip.after, flip.authorisation) == (
        "marketing",
        "deny",
        "allow",
        SEED_ID,
    )


def test_since_an_unchanged_document_and_an_unreadable_entry(seeded: Engine, seed_document: dict[str, Any]) -> None:
    log_seed_decisions(seeded)
    later = impact(
        seeded,
        [amended(seed_document, valid_until=date(2017, 12, 31))],
        since=NOW.date() + timedelta(1),
        actor="t",
        now=NOW,
    )
    assert later.replayed == 0 and later.flips == []
    same = impact(seeded, [amended(seed_document)], since=None, actor="t", now=NOW)
    assert not same.apply.changed and same.flips == [] and same.replayed == 4
    with seeded.begin() as connection:
        connection.execute(
            text("UPDATE audit_entry SET request = '[1]' WHERE seq = (SELECT min(seq) FROM audit_entry)")
        )
    found = impact(seeded, [amended(seed_document, valid_until=date(2017, 12, 31))], since=None, actor="t", now=NOW)
    assert (found.replayed, found.unreadable) == (3, 1)


def test_the_cli_and_the_api_report_the_same(
    seeded: Engine,
    seed_document: dict[str, Any],
    run_cli: Any,
    client: FlaskClient,
    bearer: dict[str, Any],
    tmp_path: Path,
) -> None:
    log_seed_decisions(seeded)
    changed = {**seed_document, "valid_until": "2017-12-31"}
    path = write_yaml(tmp_path, "amended.yaml", changed)
    text_report = run_cli("apply", str(path), "--dry-run", "--impact")
    assert text_report.exit_code == 0, text_report.output
    assert "replayed 4 logged decisions: 2 would flip (2 allow -> deny, 0 deny -> allow)" in text_report.output
    assert "dry run: nothing written" in text_report.output
    cli = json.loads(run_cli("apply", str(path), "--dry-run", "--impact", "--format", "json").output)
    answer = client.post(
        "/api/v1/impact", json=json.loads(json.dumps(changed, default=str)), headers=bearer["privacy-officer"]
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.get_json() == {key: value for key, value in cli.items() if key != "flips"}  # the audit log's
    assert (
        client.post(
            "/api/v1/impact?since=2026-12-02",
            json=changed | {"valid_until": "2017-12-31"},
            headers=bearer["privacy-officer"],
        ).get_json()["replayed"]
        == 0
    )
    refused = run_cli("apply", str(path), "--impact")
    assert refused.exit_code == 2 and "--impact needs --dry-run" in refused.output
    for role in ("manager", "application", "auditor"):
        assert client.post("/api/v1/impact", json=changed, headers=bearer[role]).status_code == 403
    bad = client.post("/api/v1/impact", json={**changed, "valid_from": "soon"}, headers=bearer["privacy-officer"])
    assert bad.status_code == 422 and "valid_from" in bad.get_data(as_text=True)


def _shortened(body: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """A change a privacy officer makes: an earlier end, a user or a purpose or a category less,
    or a purpose more; each draws from the document as it is."""
    changed = deepcopy(body)
    flow = changed["flows"][0]
    kind = rng.choice(["end", "user", "purpose", "category", "more"])
    if kind == "end":
        changed["valid_until"] = changed["valid_from"] + timedelta(days=rng.randrange(30))
    elif kind == "user" and len(changed["authorised_users"]) > 1:
        changed["authorised_users"].pop(rng.randrange(len(changed["authorised_users"])))
    elif kind == "purpose" and len(flow["purposes"]) > 1:
        flow["purposes"].pop()
    elif kind == "category" and len(flow["data_categories"]) > 1:
        flow["data_categories"].pop(0)
    else:
        extra = (
            next(p["id"] for p in changed["purposes"] if p["id"] not in flow["purposes"])
            if len(changed["purposes"]) > len(flow["purposes"])
            else None
        )
        if extra:
            flow["purposes"].append(extra)
    return changed


@pytest.mark.parametrize("seed", [3, 5])
def test_on_a_generated_registry_the_flips_are_those_of_the_change_really_made(
    tmp_path_factory: pytest.TempPathFactory, seed: int
) -> None:
    folder = tmp_path_factory.mktemp("impact")
    engine, bodies = generated_registry(folder, size=60, seed=seed)
    service = DecisionService.load(engine, timezone="Europe/Brussels", secret=TEST_SECRET)
    docs = [Document("authorisation", "gen", body) for body in bodies.values()]
    asked = [{k: v for k, v in r.items() if k != "expect"} for r in generated_requests(docs, count=600, seed=seed)]
    service.ask_many([load_request(r) for r in asked], asked_by="gen", now=NOW)
    rng = random.Random(seed)
    changed = [
        Document("authorisation", "changed", _shortened(bodies[key], rng)) for key in rng.sample(sorted(bodies), 8)
    ]
    found = impact(engine, changed, since=None, actor="t", now=NOW)
    # the reference: the change really applied to a copy, both registries replayed in full
    engine.dispose()
    shutil.copy(folder / "generated.db", folder / "copy.db")
    copy = make_engine(f"sqlite:///{folder / 'copy.db'}")
    apply_documents(copy, changed, actor="t", now=NOW)
    expected = _flips(engine, copy)
    assert {(f.seq, f.before, f.after) for f in found.flips} == expected
    assert found.replayed == 600 and found.flips, "the changes turn some answers round"


def test_a_taxonomy_change_replays_against_the_whole_registry(tmp_path_factory: pytest.TempPathFactory) -> None:
    folder = tmp_path_factory.mktemp("impact-taxonomy")
    engine, bodies = generated_registry(folder, size=30, seed=9)
    service = DecisionService.load(engine, timezone="Europe/Brussels", secret=TEST_SECRET)
    docs = [Document("authorisation", "gen", body) for body in bodies.values()]
    asked = [{k: v for k, v in r.items() if k != "expect"} for r in generated_requests(docs, count=300, seed=9)]
    service.ask_many([load_request(r) for r in asked], asked_by="gen", now=NOW)
    moved = taxonomy()
    for entry in moved.body["taxonomy"]:
        if entry["id"] == "cat-00-1":
            entry["national_register_number"] = True  # now it needs the number, which most flows do not allow
    found = impact(engine, [moved], since=None, actor="t", now=NOW)
    engine.dispose()
    shutil.copy(folder / "generated.db", folder / "copy.db")
    copy = make_engine(f"sqlite:///{folder / 'copy.db'}")
    apply_documents(copy, [moved], actor="t", now=NOW)
    assert {(f.seq, f.before, f.after) for f in found.flips} == _flips(engine, copy)


def _flips(before_db: Engine, after_db: Engine) -> set[tuple[int, str, str]]:
    with reading(before_db) as session:
        before = PolicyEngine(load_snapshot(session))
        logged = [entry for entry in replayable(session) if isinstance(entry, Replayed)]
    with reading(after_db) as session:
        after = PolicyEngine(load_snapshot(session))
    found = set()
    for entry in logged:
        was, now = before.grant(entry.request) is not None, after.grant(entry.request) is not None
        if was != now:
            found.add((entry.seq, "allow" if was else "deny", "allow" if now else "deny"))
    return found
