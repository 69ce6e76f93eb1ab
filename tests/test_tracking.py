"""Conditions, fulfilments, samples and the life cycle of the seed, through the CLI on a real
database: what managers see as of any day, and what privacy officers record."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from icalendar import Calendar
from sqlalchemy import Engine, text
from sqlmodel import Session, select

from authreg.domain.subjects import subject_hash
from authreg.storage.models import AuthorisationVersion, ConditionFulfilment, StatusChangeRecord
from tests.conftest import POLICIES, SEED_ID, TEST_SECRET, dump_tables, write_yaml

Cli = Callable[..., Any]
PERSON = "85.07.30-033.28"
CHILD = "00010100105"


def conditions_at(run_cli: Cli, day: str, *args: str) -> tuple[dict[str, dict[str, Any]], int]:
    result = run_cli("conditions", "--at", day, "--format", "json", *args)
    assert result.stderr == ""
    return {row["condition"]: row for row in json.loads(result.stdout)}, result.exit_code


def state_of(run_cli: Cli, day: str, condition: str) -> str:
    return str(conditions_at(run_cli, day)[0][condition]["state"])


@pytest.mark.parametrize(
    ("day", "expected", "exit_code"),
    [("2017-11-29", "due-soon", 0), ("2017-11-30", "due-soon", 0), ("2017-12-01", "overdue", 1)],
)
def test_security_plan_before_and_after_its_deadline(
    seeded: Engine, run_cli: Cli, day: str, expected: str, exit_code: int
) -> None:
    rows, code = conditions_at(run_cli, day)
    assert rows["security-plan"]["state"] == expected
    assert code == exit_code
    assert rows["security-plan"]["due_on"] == "2017-11-30"
    assert rows["security-plan"]["paragraphs"] == [96, 101]
    assert rows["security-plan"]["responsible"] == ["AII"]
    assert rows["security-plan"]["owed_to"] == ["VTC"]
    assert {"authorisation", "condition", "kind", "state", "due_on", "paragraphs", "responsible"} <= set(
        rows["security-plan"]
    )


def test_fulfilled_on_time(seeded: Engine, run_cli: Cli) -> None:
    result = run_cli("fulfil", SEED_ID, "security-plan", "--on", "2017-11-20", "--evidence", "brief aan de VTC")
    assert result.exit_code == 0
    assert result.stdout == f"fulfilment 1 of {SEED_ID}/security-plan on 2017-11-20\n"
    assert state_of(run_cli, "2017-12-01", "security-plan") == "fulfilled"
    assert run_cli("conditions", "--at", "2017-12-01").exit_code == 0


def test_fulfilled_late(seeded: Engine, run_cli: Cli) -> None:
    run_cli("fulfil", SEED_ID, "security-plan", "--on", "2018-01-15", "--evidence", "plan bezorgd")
    assert state_of(run_cli, "2018-01-14", "security-plan") == "overdue"
    assert state_of(run_cli, "2018-01-15", "security-plan") == "fulfilled-late"
    rows, code = conditions_at(run_cli, "2018-02-01")
    assert code == 0 and not [row for row in rows.values() if row["state"] == "overdue"]


def test_after_expiry_nothing_is_overdue(seeded: Engine, run_cli: Cli) -> None:
    """Every condition ends with the authorisation but the deletion it owes at the end of the
    retention period (2029-12-31), which outlives it."""
    rows, code = conditions_at(run_cli, "2023-07-01")
    assert {row["state"] for key, row in rows.items() if key != "retention-end"} == {"expired"}
    assert rows["retention-end"]["state"] == "open"
    assert code == 0


def test_overdue_filter_and_table(seeded: Engine, run_cli: Cli) -> None:
    result = run_cli("conditions", "--at", "2017-12-01", "--overdue")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0].split() == [
        "authorisation",
        "condition",
        "kind",
        "state",
        "due_on",
        "responsible",
        "owed_to",
        "paragraphs",
    ]
    assert len(lines) == 2 and lines[1].split()[:5] == [SEED_ID, "security-plan", "deadline", "overdue", "2017-11-30"]
    assert run_cli("conditions", "--at", "2017-12-01", "--authorisation", "nope").exit_code == 2


def test_sample_not_communicated_is_overdue_and_communicated_is_not(seeded: Engine, run_cli: Cli) -> None:
    added = run_cli("sample", "add", SEED_ID, "controle-2018-1", "--drawn-on", "2018-03-01", PERSON, CHILD)
    assert added.exit_code == 0, added.stderr
    assert added.stdout == f"sample {SEED_ID}/controle-2018-1 drawn on 2018-03-01: 2 persons\n"
    assert state_of(run_cli, "2018-03-01", "samples-communicated") == "due-soon"
    rows, code = conditions_at(run_cli, "2018-03-02")
    assert rows["samples-communicated"]["state"] == "overdue" and code == 1
    assert rows["samples-communicated"]["pending_samples"] == ["controle-2018-1"]

    communicated = run_cli("sample", "communicate", SEED_ID, "controle-2018-1", "--on", "2018-03-02", "--to", "AII-SC")
    assert communicated.exit_code == 0, communicated.stderr
    assert state_of(run_cli, "2018-03-02", "samples-communicated") == "fulfilled"
    assert state_of(run_cli, "2018-03-01", "samples-communicated") == "due-soon"  # as of before the communication

    extended = run_cli("sample", "extend", SEED_ID, "controle-2018-1", "--on", "2018-03-10", "-", input="85273003371\n")
    assert extended.stdout == f"sample {SEED_ID}/controle-2018-1 extended on 2018-03-10: 1 person added\n"
    assert state_of(run_cli, "2018-03-11", "samples-communicated") == "overdue"
    run_cli("sample", "communicate", SEED_ID, "controle-2018-1", "--on", "2018-03-11", "--to", "AII-SC")
    assert state_of(run_cli, "2018-03-11", "samples-communicated") == "fulfilled"


def test_subjects_are_stored_only_as_keyed_hashes(seeded: Engine, run_cli: Cli) -> None:
    run_cli("sample", "add", SEED_ID, "s1", "--drawn-on", "2018-03-01", PERSON, CHILD)
    run_cli("sample", "extend", SEED_ID, "s1", "--on", "2018-03-05", "85473003317")
    dump = repr(dump_tables(seeded))
    for number in (PERSON, "85073003328", CHILD, "85473003317", "850730033", "000101001"):
        assert number not in dump
    for number in (PERSON, CHILD, "85473003317"):
        assert subject_hash(number, TEST_SECRET) in dump


def test_ics_feed_parses_back(seeded: Engine, run_cli: Cli) -> None:
    result = run_cli("conditions", "--at", "2017-12-01", "--format", "ics")
    assert result.exit_code == 1  # the security plan is overdue
    feed = Calendar.from_ical(result.stdout)
    events = {str(event["uid"]): event for event in feed.walk("VEVENT")}
    assert set(events) == {  # the conditions with a due day: the stated one, and the two the dates make
        f"{SEED_ID}.security-plan.2017-11-30@authreg",
        f"{SEED_ID}.validity-end.2023-06-30@authreg",
        f"{SEED_ID}.retention-end.2029-12-31@authreg",
    }
    plan = events[f"{SEED_ID}.security-plan.2017-11-30@authreg"]
    assert plan.decoded("dtstart").isoformat() == "2017-11-30"
    assert str(plan["summary"]) == f"[overdue] {SEED_ID}: security-plan"
    assert "paragraphs: §96, §101" in str(plan["description"])
    assert "owed to: VTC" in str(plan["description"])


def test_a_correction_supersedes_and_both_are_kept(seeded: Engine, run_cli: Cli) -> None:
    run_cli("fulfil", SEED_ID, "security-plan", "--on", "2017-11-20", "--evidence", "verkeerd geregistreerd")
    corrected = run_cli(
        "fulfil", SEED_ID, "security-plan", "--on", "2018-01-15", "--evidence", "brief 15/1", "--supersedes", "1"
    )
    assert corrected.stdout == f"fulfilment 2 of {SEED_ID}/security-plan on 2018-01-15, superseding 1\n"
    assert state_of(run_cli, "2017-12-15", "security-plan") == "overdue"
    assert state_of(run_cli, "2018-02-01", "security-plan") == "fulfilled-late"
    again = run_cli("fulfil", SEED_ID, "security-plan", "--on", "2018-01-16", "--evidence", "x", "--supersedes", "1")
    assert again.exit_code == 2 and "already superseded" in again.stderr
    with Session(seeded) as session:
        rows = session.exec(select(ConditionFulfilment).order_by(ConditionFulfilment.id)).all()  # type: ignore[arg-type]
    assert [(row.id, str(row.fulfilled_on), row.supersedes_id, row.recorded_by) for row in rows] == [
        (1, "2017-11-20", None, "tester"),
        (2, "2018-01-15", 1, "tester"),
    ]


REJECTED = {
    "fulfilment in the future": (
        ("fulfil", SEED_ID, "security-plan", "--on", "2999-01-01", "--evidence", "x"),
        "is in the future",
    ),
    "fulfilment before the decision": (
        ("fulfil", SEED_ID, "security-plan", "--on", "2017-09-12", "--evidence", "x"),
        "fulfilled_on: before the decision of 2017-09-13",
    ),
    "unknown authorisation": (
        ("fulfil", "nope", "security-plan", "--on", "2017-11-20", "--evidence", "x"),
        "no authorisation 'nope'",
    ),
    "unknown condition": (
        ("fulfil", SEED_ID, "nope", "--on", "2017-11-20", "--evidence", "x"),
        "has no condition 'nope'",
    ),
    "fulfilling a sample-gate": (
        ("fulfil", SEED_ID, "samples-communicated", "--on", "2017-11-20", "--evidence", "x"),
        "met by communicating samples",
    ),
    "bad date": (
        ("fulfil", SEED_ID, "security-plan", "--on", "30/11/2017", "--evidence", "x"),
        "not a date (YYYY-MM-DD): '30/11/2017'",
    ),
    "a number no database holds": (
        ("fulfil", SEED_ID, "security-plan", "--on", "2017-11-20", "--evidence", "x", "--supersedes", str(2**70)),
        "--supersedes",
    ),
    "empty evidence": (
        ("fulfil", SEED_ID, "security-plan", "--on", "2017-11-20", "--evidence", " "),
        "evidence: required",
    ),
    "invalid INSZ": (
        ("sample", "add", SEED_ID, "s1", "--drawn-on", "2018-03-01", PERSON, "85073003329"),
        "subjects[1]: '85073003329' is not an INSZ: the check digits do not match",
    ),
    "short INSZ": (
        ("sample", "add", SEED_ID, "s1", "--drawn-on", "2018-03-01", "8507300"),
        "subjects[0]: '8507300' is not an INSZ",
    ),
    "sample before validity": (
        ("sample", "add", SEED_ID, "s1", "--drawn-on", "2017-01-01", PERSON),
        "drawn_on: before the authorisation is valid",
    ),
    "sample id syntax": (
        ("sample", "add", SEED_ID, "S 1", "--drawn-on", "2018-03-01", PERSON),
        "id: not a lower-case id",
    ),
    "unknown sample": (
        ("sample", "communicate", SEED_ID, "nope", "--on", "2018-03-02", "--to", "AII-SC"),
        "has no sample 'nope'",
    ),
    "unknown sample to extend": (("sample", "extend", SEED_ID, "nope", PERSON), "has no sample 'nope'"),
}


@pytest.mark.parametrize("case", REJECTED, ids=list(REJECTED))
def test_bad_input_is_rejected_with_exit_2_and_nothing_written(seeded: Engine, run_cli: Cli, case: str) -> None:
    args, message = REJECTED[case]
    before = dump_tables(seeded)
    result = run_cli(*args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert dump_tables(seeded) == before


def test_communication_only_to_security_consultants_of_the_authorisation(seeded: Engine, run_cli: Cli) -> None:
    run_cli("sample", "add", SEED_ID, "s1", "--drawn-on", "2018-03-01", PERSON)
    before = dump_tables(seeded)
    result = run_cli("sample", "communicate", SEED_ID, "s1", "--on", "2018-03-02", "--to", "AII-SC", "--to", "HBPLUS")
    assert result.exit_code == 2
    assert f"error: to[1]: 'HBPLUS' is not a security-consultant party of {SEED_ID}" in result.stderr
    assert dump_tables(seeded) == before
    early = run_cli("sample", "communicate", SEED_ID, "s1", "--on", "2018-02-28", "--to", "AII-SC")
    assert early.exit_code == 2 and "communicated_on: before the sample was drawn (2018-03-01)" in early.stderr


def test_a_sample_id_is_registered_once(seeded: Engine, run_cli: Cli) -> None:
    run_cli("sample", "add", SEED_ID, "s1", "--drawn-on", "2018-03-01", PERSON)
    again = run_cli("sample", "add", SEED_ID, "s1", "--drawn-on", "2018-03-02", CHILD)
    assert again.exit_code == 2 and "already has a sample 's1'" in again.stderr


def test_a_placeholder_secret_is_refused(seeded: Engine, run_cli: Cli) -> None:
    before = dump_tables(seeded)
    result = run_cli("sample", "add", SEED_ID, "s1", "--drawn-on", "2018-03-01", PERSON, AUTHREG_SECRET_KEY="change-me")
    assert result.exit_code == 1
    assert "looks like a placeholder" in result.stderr
    assert dump_tables(seeded) == before


def test_the_key_file_is_used_when_no_key_is_set(seeded: Engine, run_cli: Cli, tmp_path: Path) -> None:
    key = tmp_path / "secret.key"
    key.write_text(TEST_SECRET[::-1] + "\n", encoding="utf-8")
    with seeded.begin() as connection:  # a registry not yet used with any key takes this one
        connection.execute(text("UPDATE registry_identity SET key_fingerprint = NULL"))
        connection.execute(text("UPDATE audit_head SET head_mac = NULL"))
    result = run_cli(
        "sample",
        "add",
        SEED_ID,
        "s1",
        "--drawn-on",
        "2018-03-01",
        PERSON,
        AUTHREG_SECRET_KEY=None,
        AUTHREG_SECRET_KEY_FILE=str(key),
    )
    assert result.exit_code == 0, result.stderr
    assert subject_hash(PERSON, TEST_SECRET[::-1]) in repr(dump_tables(seeded))


def test_suspend_reinstate_revoke_are_dated_versions(seeded: Engine, run_cli: Cli) -> None:
    suspended = run_cli(
        "suspend", SEED_ID, "--on", "2019-01-01", "--reason", "veiligheidsincident", AUTHREG_ACTOR="dpo"
    )
    assert suspended.stdout == f"{SEED_ID} suspended from 2019-01-01 (version 2)\n"
    assert state_of(run_cli, "2018-12-31", "security-plan") == "overdue"
    assert state_of(run_cli, "2019-01-01", "security-plan") == "suspended"
    assert run_cli("reinstate", SEED_ID, "--on", "2019-03-01", "--reason", "opgelost").exit_code == 0
    assert state_of(run_cli, "2019-03-01", "security-plan") == "overdue"
    assert run_cli("revoke", SEED_ID, "--on", "2020-01-01", "--reason", "einde project").exit_code == 0
    assert state_of(run_cli, "2020-01-01", "security-plan") == "revoked"
    assert state_of(run_cli, "2019-12-31", "security-plan") == "overdue"

    with Session(seeded) as session:
        versions = session.exec(select(AuthorisationVersion).order_by(AuthorisationVersion.version)).all()  # type: ignore[arg-type]
        changes = session.exec(select(StatusChangeRecord).order_by(StatusChangeRecord.id)).all()  # type: ignore[arg-type]
    assert [(v.version, v.created_by, v.note) for v in versions[1:]] == [
        (2, "dpo", "suspend from 2019-01-01: veiligheidsincident"),
        (3, "tester", "reinstate from 2019-03-01: opgelost"),
        (4, "tester", "revoke from 2020-01-01: einde project"),
    ]
    assert len({v.digest for v in versions}) == 1  # the decision itself did not change
    assert [(c.kind, str(c.effective_on), c.version) for c in changes] == [
        ("suspend", "2019-01-01", 2),
        ("reinstate", "2019-03-01", 3),
        ("revoke", "2020-01-01", 4),
    ]
    again = run_cli("reinstate", SEED_ID, "--on", "2020-02-01", "--reason", "toch niet")
    assert again.exit_code == 2 and "is revoked: cannot reinstate" in again.stderr
    reapplied = run_cli("apply", str(POLICIES))
    assert reapplied.stdout.startswith(f"unchanged authorisation {SEED_ID} (version 4)")
    assert state_of(run_cli, "2020-01-01", "security-plan") == "revoked"


@pytest.mark.parametrize(
    ("first", "second", "message"),
    [
        (("suspend", "2019-01-01"), ("suspend", "2019-02-01"), "is suspended: cannot suspend"),
        (("suspend", "2019-01-01"), ("reinstate", "2018-12-01"), "last status change is dated 2019-01-01"),
        (None, ("reinstate", "2019-01-01"), "is active: cannot reinstate"),
        (None, ("suspend", "2017-01-01"), "on: before the decision of 2017-09-13"),
    ],
)
def test_status_changes_must_make_sense(
    seeded: Engine, run_cli: Cli, first: tuple[str, str] | None, second: tuple[str, str], message: str
) -> None:
    if first:
        assert run_cli(first[0], SEED_ID, "--on", first[1], "--reason", "r").exit_code == 0
    before = dump_tables(seeded)
    result = run_cli(second[0], SEED_ID, "--on", second[1], "--reason", "r")
    assert result.exit_code == 2
    assert message in result.stderr
    assert dump_tables(seeded) == before


def test_replaces_takes_effect_from_the_replacing_valid_from(
    seeded: Engine, run_cli: Cli, seed_document: dict[str, Any], tmp_path: Path
) -> None:
    successor = dict(seed_document, id="vtc-2020-amif-aii-wse", decided_on="2019-12-01", valid_from="2020-01-01")
    successor["replaces"] = [SEED_ID]
    successor["reference"] = "VTC beraadslaging 2019 (AMIF, vervolg)"
    assert run_cli("apply", str(write_yaml(tmp_path, "successor.yaml", successor))).exit_code == 0
    rows, _ = conditions_at(run_cli, "2019-12-31", "--authorisation", SEED_ID)
    assert rows["security-plan"]["state"] == "overdue"
    rows, code = conditions_at(run_cli, "2020-01-01", "--authorisation", SEED_ID)
    assert {row["state"] for key, row in rows.items() if key != "retention-end"} == {"replaced"}
    assert rows["retention-end"]["state"] == "open"  # what it received is deleted all the same
    assert code == 0
    assert re.search(
        r"vtc-2020-amif-aii-wse\s+security-plan\s+deadline\s+not-yet-valid",
        run_cli("conditions", "--at", "2019-06-01").stdout,
    )
