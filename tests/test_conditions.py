"""Every state of every condition kind, at its boundaries, from plain facts (no database)."""

from __future__ import annotations

from datetime import date

import pytest

from authreg.domain.conditions import (
    AuthorisationFacts,
    ConditionSpec,
    ConditionState,
    Fulfilment,
    SampleRecord,
    condition_state,
)
from authreg.domain.lifecycle import StatusChange, Timeline

D = date.fromisoformat
TIMELINE = Timeline(
    "auth", decided_on=D("2017-09-13"), valid_from=D("2017-09-13"), valid_until=D("2023-06-30"), status="active"
)
DEADLINE = ConditionSpec("plan", "deadline", "deliver the plan", "AII", "flag", (101,), due_on=D("2017-11-30"))
RECURRING = ConditionSpec("list", "recurring", "keep the list", "WSE-ESF", "flag", (79, 80), every="P1Y")
GATE = ConditionSpec("samples", "sample-gate", "communicate samples", "WSE-ESF", "gate", (100,))


def fulfilled(on: str, condition: str = "plan", id: int = 1, supersedes: int | None = None) -> Fulfilment:
    return Fulfilment(id, condition, D(on), "evidence", "tester", supersedes=supersedes)


def state(
    spec: ConditionSpec,
    at: str,
    *,
    fulfilments: tuple[Fulfilment, ...] = (),
    samples: tuple[SampleRecord, ...] = (),
    timeline: Timeline = TIMELINE,
    window: int = 30,
) -> ConditionState:
    facts = AuthorisationFacts(timeline, (spec,), fulfilments, samples)
    return condition_state(facts, spec, D(at), window)


@pytest.mark.parametrize(
    ("at", "fulfilments", "expected", "overdue_since"),
    [
        ("2017-10-30", (), "open", None),  # 31 days before
        ("2017-10-31", (), "due-soon", None),  # 30 days before: the window's first day
        ("2017-11-30", (), "due-soon", None),  # the due date itself
        ("2017-12-01", (), "overdue", "2017-12-01"),
        ("2017-12-01", (fulfilled("2017-11-20"),), "fulfilled", None),
        ("2017-12-01", (fulfilled("2017-11-30"),), "fulfilled", None),  # on the due date: on time
        ("2018-01-14", (fulfilled("2018-01-15"),), "overdue", "2017-12-01"),  # not yet fulfilled then
        ("2018-01-15", (fulfilled("2018-01-15"),), "fulfilled-late", None),
        ("2017-11-25", (fulfilled("2017-11-20"),), "fulfilled", None),
    ],
)
def test_deadline(at: str, fulfilments: tuple[Fulfilment, ...], expected: str, overdue_since: str | None) -> None:
    result = state(DEADLINE, at, fulfilments=fulfilments)
    assert result.state == expected
    assert result.due_on == D("2017-11-30")
    assert result.overdue_since == (D(overdue_since) if overdue_since else None)
    assert result.paragraphs == (101,)


def test_deadline_window_is_configurable() -> None:
    assert state(DEADLINE, "2017-11-20", window=7).state == "open"
    assert state(DEADLINE, "2017-11-23", window=7).state == "due-soon"
    assert state(DEADLINE, "2017-11-29", window=0).state == "open"
    assert state(DEADLINE, "2017-11-30", window=0).state == "due-soon"


def test_a_correction_supersedes_the_fulfilment_it_names() -> None:
    wrong = fulfilled("2017-11-20", id=1)
    correction = fulfilled("2018-01-15", id=2, supersedes=1)
    assert state(DEADLINE, "2017-12-15", fulfilments=(wrong, correction)).state == "overdue"
    assert state(DEADLINE, "2018-02-01", fulfilments=(wrong, correction)).state == "fulfilled-late"
    assert state(DEADLINE, "2018-02-01", fulfilments=(wrong,)).state == "fulfilled"


def test_fulfilments_of_other_conditions_do_not_count() -> None:
    assert state(DEADLINE, "2017-12-01", fulfilments=(fulfilled("2017-11-20", condition="list"),)).state == "overdue"


@pytest.mark.parametrize(
    ("at", "fulfilments", "expected", "due_on"),
    [
        ("2018-08-13", (), "open", "2018-09-13"),
        ("2018-08-14", (), "due-soon", "2018-09-13"),
        ("2018-09-13", (), "due-soon", "2018-09-13"),  # valid_from + P1Y, the day itself
        ("2018-09-14", (), "overdue", "2018-09-13"),
        ("2018-09-14", (fulfilled("2018-09-01", "list"),), "fulfilled", "2019-09-01"),
        ("2018-09-14", (fulfilled("2018-09-13", "list"),), "fulfilled", "2019-09-13"),
        ("2018-10-01", (fulfilled("2018-09-20", "list"),), "fulfilled-late", "2019-09-20"),
        ("2019-09-02", (fulfilled("2018-09-01", "list"),), "overdue", "2019-09-01"),
        (
            "2019-10-01",
            (fulfilled("2018-09-01", "list", 1), fulfilled("2019-08-30", "list", 2)),
            "fulfilled",
            "2020-08-30",
        ),
        (
            "2018-08-31",
            (fulfilled("2018-09-01", "list"),),
            "due-soon",
            "2018-09-13",
        ),  # a later fulfilment does not count yet
    ],
)
def test_recurring(at: str, fulfilments: tuple[Fulfilment, ...], expected: str, due_on: str) -> None:
    result = state(RECURRING, at, fulfilments=fulfilments)
    assert (result.state, result.due_on) == (expected, D(due_on))


def test_recurring_over_a_leap_day() -> None:
    leap = Timeline("auth", decided_on=D("2020-02-29"), valid_from=D("2020-02-29"), valid_until=None, status="active")
    assert state(RECURRING, "2021-02-28", timeline=leap).due_on == D("2021-02-28")
    assert state(RECURRING, "2021-02-28", timeline=leap).state == "due-soon"
    assert state(RECURRING, "2021-03-01", timeline=leap).state == "overdue"
    fulfilled_on_leap_day = (fulfilled("2024-02-29", "list"),)
    assert state(RECURRING, "2024-03-01", timeline=leap, fulfilments=fulfilled_on_leap_day).due_on == D("2025-02-28")


@pytest.mark.parametrize(
    ("at", "samples", "expected", "due_on"),
    [
        ("2018-03-01", (), "open", None),
        ("2018-03-01", (SampleRecord("s1", D("2018-03-01"), (D("2018-03-01"),)),), "due-soon", "2018-03-01"),
        ("2018-03-02", (SampleRecord("s1", D("2018-03-01"), (D("2018-03-01"),)),), "overdue", "2018-03-01"),
        (
            "2018-03-02",
            (SampleRecord("s1", D("2018-03-01"), (D("2018-03-01"),), (D("2018-03-01"),)),),
            "fulfilled",
            None,
        ),
        (
            "2018-03-05",
            (SampleRecord("s1", D("2018-03-01"), (D("2018-03-01"),), (D("2018-03-03"),)),),
            "fulfilled",
            None,
        ),
        # communicated after the day asked about: not yet
        (
            "2018-03-02",
            (SampleRecord("s1", D("2018-03-01"), (D("2018-03-01"),), (D("2018-03-03"),)),),
            "overdue",
            "2018-03-01",
        ),
        # drawn after the day asked about: not yet there
        ("2018-02-28", (SampleRecord("s1", D("2018-03-01"), (D("2018-03-01"),)),), "open", None),
        # extended on 03-10 after being communicated on 03-01: the extension is pending
        (
            "2018-03-11",
            (SampleRecord("s1", D("2018-03-01"), (D("2018-03-01"), D("2018-03-10")), (D("2018-03-01"),)),),
            "overdue",
            "2018-03-10",
        ),
        (
            "2018-03-11",
            (
                SampleRecord(
                    "s1", D("2018-03-01"), (D("2018-03-01"), D("2018-03-10")), (D("2018-03-01"), D("2018-03-10"))
                ),
            ),
            "fulfilled",
            None,
        ),
    ],
)
def test_sample_gate(at: str, samples: tuple[SampleRecord, ...], expected: str, due_on: str | None) -> None:
    result = state(GATE, at, samples=samples)
    assert (result.state, result.due_on) == (expected, D(due_on) if due_on else None)
    assert result.pending_samples == (("s1",) if expected in ("overdue", "due-soon") else ())


def test_sample_gate_within() -> None:
    within = ConditionSpec("samples", "sample-gate", "communicate", "WSE-ESF", "gate", within="P7D")
    drawn = (SampleRecord("s1", D("2018-03-01"), (D("2018-03-01"),)),)
    assert state(within, "2018-03-08", samples=drawn).state == "due-soon"
    assert state(within, "2018-03-09", samples=drawn).state == "overdue"
    assert state(within, "2018-03-09", samples=drawn).overdue_since == D("2018-03-09")


def life(*changes: tuple[str, str], status: str = "active", replaced_from: str | None = None) -> Timeline:
    """The seed's dates with no end, a status and dated changes such as ("suspend", "2018-01-01")."""
    dated = tuple(StatusChange(kind, D(on), "r") for kind, on in changes)  # type: ignore[arg-type]
    replaced = D(replaced_from) if replaced_from else None
    return Timeline("auth", D("2017-09-13"), D("2017-09-13"), None, status, dated, replaced)


@pytest.mark.parametrize(
    ("timeline", "at", "expected"),
    [
        (TIMELINE, "2017-09-12", "not-yet-valid"),
        (TIMELINE, "2023-06-30", "overdue"),  # the last valid day: still in force
        (TIMELINE, "2023-07-01", "expired"),
        (life(status="suspended"), "2018-01-01", "suspended"),
        (life(status="revoked"), "2018-01-01", "revoked"),
        (life(("suspend", "2018-01-01")), "2017-12-31", "overdue"),
        (life(("suspend", "2018-01-01")), "2018-01-01", "suspended"),
        (life(("suspend", "2018-01-01"), ("reinstate", "2018-02-01")), "2018-02-01", "overdue"),
        (life(("revoke", "2018-01-01")), "2030-01-01", "revoked"),
        (life(replaced_from="2019-01-01"), "2018-12-31", "overdue"),
        (life(replaced_from="2019-01-01"), "2019-01-01", "replaced"),
    ],
)
def test_an_authorisation_not_in_force_gives_its_state_and_nothing_is_overdue(
    timeline: Timeline, at: str, expected: str
) -> None:
    assert state(DEADLINE, at, timeline=timeline).state == expected
    if expected != "overdue":
        for spec in (RECURRING, GATE):
            assert state(spec, at, timeline=timeline).state == expected
            assert not state(spec, at, timeline=timeline).overdue
