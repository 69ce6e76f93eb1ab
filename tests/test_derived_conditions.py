"""The conditions the registry derives from an authorisation's dates (issue 13, item 5): at
``retention_until`` the recipients owe the deletion of what they received, a duty like any
other (due soon, overdue, fulfilled with evidence) that outlives the authorisation; and an
authorisation ending within 90 days is listed by ``authreg conditions`` and the feed."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from authreg.domain.conditions import RETENTION_END, VALIDITY_END
from authreg.domain.documents import Document
from authreg.domain.lifecycle import IN_FORCE, StatusChange, Timeline, last_in_force
from authreg.services.reports import condition_states
from bench.generate import START
from tests.conftest import SEED_ASK, SEED_ID, check_args, generated_registry, write_yaml

Cli = Callable[..., Any]


def derived(run_cli: Cli, at: str, *more: str) -> dict[str, dict[str, Any]]:
    listed = json.loads(run_cli("conditions", "--at", at, "--authorisation", SEED_ID, "--format", "json", *more).stdout)
    return {state["condition"]: state for state in listed if state["condition"] in (RETENTION_END, VALIDITY_END)}


def test_the_end_of_the_retention_period_is_a_deletion_the_recipients_owe(seeded: Engine, run_cli: Cli) -> None:
    found = derived(run_cli, "2029-12-01")[RETENTION_END]
    assert found["kind"] == "deletion" and found["state"] == "due-soon" and found["due_on"] == "2029-12-31"
    assert found["responsible"] == ["WSE-ESF"] and found["paragraphs"] == [68, 69, 70]
    assert derived(run_cli, "2029-11-01")[RETENTION_END]["state"] == "open"
    # the authorisation expired in 2023; the duty to delete does not end with it
    overdue = derived(run_cli, "2030-01-01")[RETENTION_END]
    assert overdue["state"] == "overdue" and overdue["overdue_since"] == "2030-01-01"
    assert RETENTION_END in derived(run_cli, "2030-01-01", "--overdue")


def test_a_deletion_recorded_with_evidence_fulfils_it(seeded: Engine, run_cli: Cli) -> None:
    recorded = run_cli(
        "fulfil", SEED_ID, RETENTION_END, "--on", "2026-11-02", "--evidence", "gewist, proces-verbaal 12"
    )
    assert recorded.exit_code == 0, recorded.stdout
    later = derived(run_cli, "2030-06-01")[RETENTION_END]
    assert later["state"] == "fulfilled" and later["fulfilled_on"] == "2026-11-02"
    assert RETENTION_END not in derived(run_cli, "2030-06-01", "--overdue")


def test_an_authorisation_ending_within_90_days_is_listed_and_in_the_feed(seeded: Engine, run_cli: Cli) -> None:
    assert derived(run_cli, "2023-03-31")[VALIDITY_END]["state"] == "open"
    ending = derived(run_cli, "2023-04-01")[VALIDITY_END]  # 90 days before 2023-06-30
    assert ending["kind"] == "ending" and ending["state"] == "due-soon" and ending["due_on"] == "2023-06-30"
    assert ending["paragraphs"] == [73, 74, 99]
    assert derived(run_cli, "2023-07-01")[VALIDITY_END]["state"] == "expired"  # ended: never overdue
    feed = run_cli("conditions", "--at", "2023-04-01", "--format", "ics").stdout
    assert f"[due-soon] {SEED_ID}: {VALIDITY_END}" in feed and f"[open] {SEED_ID}: {RETENTION_END}" in feed
    assert "DTSTART;VALUE=DATE:20230630" in feed and "DTSTART;VALUE=DATE:20291231" in feed


@pytest.mark.parametrize("reserved", [RETENTION_END, VALIDITY_END])
def test_a_document_may_not_state_a_derived_condition(
    seeded: Engine, run_cli: Cli, seed_document: dict[str, Any], tmp_path: Any, reserved: str
) -> None:
    seed_document["conditions"][0]["id"] = reserved
    refused = run_cli("apply", str(write_yaml(tmp_path, "seed.yaml", seed_document)))
    assert refused.exit_code != 0
    assert f"conditions[0].id: {reserved} is a condition the registry derives from the dates" in refused.stderr


def test_without_the_dates_nothing_is_derived(
    seeded: Engine, run_cli: Cli, seed_document: dict[str, Any], tmp_path: Any
) -> None:
    del seed_document["retention_until"], seed_document["valid_until"]
    seed_document["paragraphs"].pop("retention_until"), seed_document["paragraphs"].pop("valid_until")
    assert run_cli("apply", str(write_yaml(tmp_path, "seed.yaml", seed_document))).exit_code == 0
    assert derived(run_cli, "2030-01-01") == {}
    assert "no condition" in run_cli("fulfil", SEED_ID, RETENTION_END, "--on", "2026-11-02", "--evidence", "x").stderr


def test_data_kept_past_the_retention_period_warns_an_allow(
    seeded: Engine, run_cli: Cli, seed_document: dict[str, Any], tmp_path: Any
) -> None:
    """A decision that lets data be kept for less time than it may be received: an allow after
    the end of the retention period carries the overdue deletion as a warning."""
    seed_document["retention_until"] = date(2018, 3, 1)
    assert run_cli("apply", str(write_yaml(tmp_path, "seed.yaml", seed_document))).exit_code == 0
    before = json.loads(run_cli(*check_args({**SEED_ASK, "at": "2018-02-15"}), "--format", "json").stdout)
    after = json.loads(run_cli(*check_args({**SEED_ASK, "at": "2018-03-05"}), "--format", "json").stdout)
    assert before["decision"] == after["decision"] == "allow"
    assert RETENTION_END not in json.dumps(before["warnings"])
    assert [w["code"] for w in after["warnings"] if RETENTION_END in w["message"]] == ["condition-overdue"]


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Engine, dict[str, dict[str, Any]]]:
    """40 authorisations of the bench's shape, every other one keeping data 0-400 days after its end."""

    def keep_after_the_end(made: list[Document]) -> None:
        for index, document in enumerate(d for d in made if d.kind == "authorisation"):
            if index % 2:
                document.body["retention_until"] = document.body["valid_until"] + timedelta(days=index * 10)

    return generated_registry(tmp_path_factory.mktemp("derived"), size=40, seed=17, change=keep_after_the_end)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(min_value=-30, max_value=1600))
def test_on_generated_registries_the_dates_decide_the_states(
    generated: tuple[Engine, dict[str, dict[str, Any]]], offset: int
) -> None:
    engine, bodies = generated
    day = START + timedelta(days=offset)
    found = {(s.authorisation, s.condition): s for s in condition_states(engine, at=day, window_days=30)}
    for key, body in bodies.items():
        ending = found[key, VALIDITY_END]
        if day < body["valid_from"]:
            assert ending.state == "not-yet-valid"
        elif day > body["valid_until"]:
            assert ending.state == "expired"
        else:
            assert ending.state == ("due-soon" if body["valid_until"] - day <= timedelta(days=90) else "open")
        assert ending.responsible == (body["flows"][0]["to"],)
        if "retention_until" not in body:
            assert (key, RETENTION_END) not in found
            continue
        until = body["retention_until"]
        expected = "overdue" if day > until else "due-soon" if until - day <= timedelta(days=30) else "open"
        assert found[key, RETENTION_END].state == expected, (key, day, until)


def test_a_deletion_is_not_recorded_while_data_may_still_be_received(seeded: Engine, run_cli: Cli) -> None:
    early = run_cli("fulfil", SEED_ID, RETENTION_END, "--on", "2020-01-01", "--evidence", "gewist")
    assert early.exit_code == 2
    assert "data may still be received under vtc-2017-amif-aii-wse (until 2023-06-30): delete after" in early.stderr
    assert run_cli("fulfil", SEED_ID, RETENTION_END, "--on", "2023-07-01", "--evidence", "gewist").exit_code == 0


def test_the_end_of_the_validity_is_a_notice_not_a_duty(seeded: Engine, run_cli: Cli) -> None:
    refused = run_cli("fulfil", SEED_ID, VALIDITY_END, "--on", "2023-05-01", "--evidence", "verlenging gevraagd")
    assert refused.exit_code == 2 and "is a notice of the end of the validity" in refused.stderr
    assert derived(run_cli, "2023-05-01")[VALIDITY_END]["state"] == "due-soon"


def test_an_authorisation_never_in_force_owes_no_deletion(seeded: Engine, run_cli: Cli) -> None:
    assert run_cli("revoke", SEED_ID, "--on", "2017-09-13", "--reason", "ingetrokken vóór de start").exit_code == 0
    assert RETENTION_END not in derived(run_cli, "2030-01-01")
    assert run_cli("conditions", "--at", "2030-01-01", "--overdue").exit_code == 0


days = st.integers(min_value=0, max_value=60).map(lambda n: date(2020, 1, 1) + timedelta(days=n))


@given(
    days,
    st.none() | days,
    st.lists(st.tuples(st.sampled_from(["suspend", "reinstate", "revoke"]), days), max_size=4),
    st.none() | days,
)
def test_last_in_force_is_the_last_day_a_day_by_day_walk_finds_in_force(
    valid_from: date, valid_until: date | None, changes: list[tuple[str, date]], replaced_from: date | None
) -> None:
    timeline = Timeline(
        authorisation="a",
        decided_on=date(2019, 12, 1),
        valid_from=valid_from,
        valid_until=valid_until,
        status="active",
        changes=tuple(StatusChange(kind, on, "r") for kind, on in sorted(changes, key=lambda c: c[1])),  # type: ignore[arg-type]
        replaced_from=replaced_from,
    )
    walked = [date(2019, 12, 1) + timedelta(days=n) for n in range(120)]
    in_force = [day for day in walked if timeline.state_on(day) == IN_FORCE]
    expected = None if not in_force else date.max if in_force[-1] == walked[-1] else in_force[-1]
    assert last_in_force(timeline) == expected


def test_over_http_a_deletion_is_recorded_and_an_early_one_or_a_notice_refused(
    client: FlaskClient, bearer: dict[str, dict[str, str]]
) -> None:
    def fulfil(condition: str, day: str) -> Any:
        path = f"/api/v1/authorisations/{SEED_ID}/conditions/{condition}/fulfilments"
        return client.post(path, json={"fulfilled_on": day, "evidence": "gewist"}, headers=bearer["privacy-officer"])

    early, notice = fulfil(RETENTION_END, "2020-01-01"), fulfil(VALIDITY_END, "2023-05-01")
    assert early.status_code == notice.status_code == 422
    assert [e["path"] for e in early.get_json()["errors"]] == ["fulfilled_on"]
    assert [e["path"] for e in notice.get_json()["errors"]] == ["condition"]
    assert fulfil(RETENTION_END, "2023-07-01").status_code == 201
    states = client.get(f"/api/v1/conditions?at=2030-01-01&authorisation={SEED_ID}", headers=bearer["manager"])
    found = {c["condition"]: c for c in states.get_json()["conditions"]}
    assert found[RETENTION_END]["state"] == "fulfilled" and found[RETENTION_END]["fulfilled_on"] == "2023-07-01"
