"""The state of every condition on any day (DESIGN §4), from the facts recorded so far.

Pure functions: the store gathers the facts, these answer. Only fulfilments and sample
communications dated on or before the day count. A fulfilment that a later correction
supersedes does not count at all: the correction states what really happened.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from authreg.domain.durations import parse_duration
from authreg.domain.lifecycle import IN_FORCE, Timeline, last_in_force

STATES = (
    "in-effect",
    "not-triggered",
    "open",
    "due-soon",
    "overdue",
    "fulfilled",
    "fulfilled-late",
    "not-yet-valid",
    "expired",
    "suspended",
    "revoked",
    "replaced",
)


@dataclass(frozen=True)
class ConditionSpec:
    """A condition as the authorisation document states it."""

    id: str
    kind: str
    description: str
    responsible: tuple[str, ...]
    effect: str
    paragraphs: tuple[int, ...] = ()
    due_on: date | None = None
    every: str | None = None
    within: str | None = None
    trigger: str | None = None  # on-event: the event that starts its clock
    purposes: tuple[str, ...] = ()  # sample-gate: the purposes it gates; empty: all
    owed_to: tuple[str, ...] = ()  # party ids or names of outside bodies

    def gates(self, purpose: str) -> bool:
        """Whether a request for ``purpose`` must name a person inside a communicated sample."""
        return self.kind == "sample-gate" and (not self.purposes or purpose in self.purposes)


# Conditions no document states: the registry derives them from the authorisation's own dates,
# so that they are listed and fall due like any other; the deletion is fulfilled with evidence,
# the ending is a notice only (``record_facts.record_fulfilment`` refuses it).
RETENTION_END = "retention-end"  # kind "deletion": the recipients delete what they received
VALIDITY_END = "validity-end"  # kind "ending": the authorisation ends; listed from 90 days before
DERIVED = (RETENTION_END, VALIDITY_END)
ENDING_NOTICE = timedelta(days=90)


def derived_conditions(
    *,
    timeline: Timeline,
    retention_until: date | None,
    recipients: Sequence[str],
    paragraphs: Mapping[str, Sequence[int]],
) -> tuple[ConditionSpec, ...]:
    """The end of the validity, and at ``retention_until`` the duty to delete (issue 13): the
    recipients owe both. The deletion outlives the authorisation: it falls due after the last
    day data may be received, and stays overdue until a deletion is recorded; an authorisation
    that is never in force (revoked or replaced before it began) gave nothing to delete."""
    found = []
    responsible = tuple(sorted(set(recipients)))
    if timeline.valid_until is not None:
        found.append(
            ConditionSpec(
                id=VALIDITY_END,
                kind="ending",
                description="De machtiging loopt af: een ontvanger die de gegevens daarna nog nodig heeft, "
                "vraagt tijdig een nieuwe machtiging aan.",
                responsible=responsible,
                effect="flag",
                paragraphs=tuple(paragraphs.get("valid_until", ())),
                due_on=timeline.valid_until,
            )
        )
    if retention_until is not None and last_in_force(timeline) is not None:
        found.append(
            ConditionSpec(
                id=RETENTION_END,
                kind="deletion",
                description="De bewaartermijn loopt af: de ontvanger wist de persoonsgegevens die hij onder deze "
                "machtiging ontving, en legt dat vast met een bewijs.",
                responsible=responsible,
                effect="flag",
                paragraphs=tuple(paragraphs.get("retention_until", ())),
                due_on=retention_until,
            )
        )
    return tuple(found)


@dataclass(frozen=True)
class Fulfilment:
    id: int
    condition: str
    fulfilled_on: date
    evidence: str
    recorded_by: str
    link: str | None = None
    supersedes: int | None = None


@dataclass(frozen=True)
class SampleRecord:
    """A sample: the days subjects were added to it (drawing and extensions) and the days it
    was communicated to the security consultants."""

    id: str
    drawn_on: date
    added_on: tuple[date, ...]
    communicated_on: tuple[date, ...] = ()


@dataclass(frozen=True)
class Event:
    """Something that happened on a day and starts the clock of ``on-event`` conditions."""

    event: str
    occurred_on: date


@dataclass(frozen=True)
class AuthorisationFacts:
    timeline: Timeline
    conditions: tuple[ConditionSpec, ...] = ()
    fulfilments: tuple[Fulfilment, ...] = ()
    samples: tuple[SampleRecord, ...] = ()
    events: tuple[Event, ...] = ()

    def occurrences(self, condition: ConditionSpec, at: date) -> list[date]:
        """The days the trigger of an on-event condition happened, on or before ``at``."""
        return sorted({e.occurred_on for e in self.events if e.event == condition.trigger and e.occurred_on <= at})


@dataclass(frozen=True)
class ConditionState:
    authorisation: str
    condition: str
    kind: str
    state: str
    due_on: date | None
    overdue_since: date | None
    paragraphs: tuple[int, ...]
    responsible: tuple[str, ...]
    description: str
    effect: str
    fulfilled_on: date | None = None
    pending_samples: tuple[str, ...] = field(default=())
    owed_to: tuple[str, ...] = ()
    trigger: str | None = None

    @property
    def overdue(self) -> bool:
        return self.state == "overdue"

    def as_dict(self) -> dict[str, object]:
        """The JSON shape shared by ``authreg conditions --format json`` and the HTTP API."""
        return {
            "authorisation": self.authorisation,
            "condition": self.condition,
            "kind": self.kind,
            "state": self.state,
            "due_on": self.due_on.isoformat() if self.due_on else None,
            "overdue_since": self.overdue_since.isoformat() if self.overdue_since else None,
            "paragraphs": list(self.paragraphs),
            "responsible": list(self.responsible),
            "owed_to": list(self.owed_to),
            "trigger": self.trigger,
            "effect": self.effect,
            "description": self.description,
            "fulfilled_on": self.fulfilled_on.isoformat() if self.fulfilled_on else None,
            "pending_samples": list(self.pending_samples),
        }


def effective_fulfilments(fulfilments: Iterable[Fulfilment], at: date) -> list[Fulfilment]:
    """Fulfilments that count on ``at``: dated on or before it and not superseded, oldest first."""
    fulfilments = list(fulfilments)
    superseded = {f.supersedes for f in fulfilments if f.supersedes is not None}
    return sorted(
        (f for f in fulfilments if f.id not in superseded and f.fulfilled_on <= at),
        key=lambda f: (f.fulfilled_on, f.id),
    )


def states(facts: AuthorisationFacts, at: date, window_days: int = 30) -> list[ConditionState]:
    """Every condition of one authorisation as of ``at``."""
    return [condition_state(facts, condition, at, window_days) for condition in facts.conditions]


def condition_state(facts: AuthorisationFacts, condition: ConditionSpec, at: date, window_days: int) -> ConditionState:
    window = timedelta(days=window_days)
    judge = {
        "deadline": _deadline,
        "deletion": _deadline,
        "ending": _deadline,
        "recurring": _recurring,
        "standing": _standing,
        "on-event": _on_event,
        "sample-gate": _sample_gate,
    }[condition.kind]
    if condition.kind == "ending":
        window = max(window, ENDING_NOTICE)
    state, due, done, pending = judge(condition, facts, at, window)
    in_force = facts.timeline.state_on(at)
    if in_force != IN_FORCE and condition.kind != "deletion":  # data are deleted after the end too
        state = in_force
    return ConditionState(
        authorisation=facts.timeline.authorisation,
        condition=condition.id,
        kind=condition.kind,
        state=state,
        due_on=due,
        overdue_since=due + timedelta(days=1) if state == "overdue" and due else None,
        paragraphs=condition.paragraphs,
        responsible=condition.responsible,
        description=condition.description,
        effect=condition.effect,
        fulfilled_on=done,
        pending_samples=pending,
        owed_to=condition.owed_to,
        trigger=condition.trigger,
    )


_Result = tuple[str, date | None, date | None, tuple[str, ...]]


def _open_or_due_soon(due: date, at: date, window: timedelta) -> str:
    if at > due:
        return "overdue"
    return "due-soon" if due - at <= window else "open"


def _deadline(condition: ConditionSpec, facts: AuthorisationFacts, at: date, window: timedelta) -> _Result:
    assert condition.due_on is not None
    done = _done(facts, condition, at)
    if done:
        first = done[0].fulfilled_on
        return ("fulfilled" if first <= condition.due_on else "fulfilled-late"), condition.due_on, first, ()
    return _open_or_due_soon(condition.due_on, at, window), condition.due_on, None, ()


def _recurring(condition: ConditionSpec, facts: AuthorisationFacts, at: date, window: timedelta) -> _Result:
    """Due ``every`` after the last fulfilment, or after ``valid_from`` before the first one."""
    assert condition.every is not None
    every = parse_duration(condition.every)
    done = _done(facts, condition, at)
    start = facts.timeline.valid_from
    due = every.after(start)
    last_on: date | None = None
    late = False
    for fulfilment in done:
        late = fulfilment.fulfilled_on > due
        last_on = fulfilment.fulfilled_on
        due = every.after(fulfilment.fulfilled_on)
    state = _open_or_due_soon(due, at, window)
    if state == "open" and last_on is not None:
        state = "fulfilled-late" if late else "fulfilled"
    return state, due, last_on, ()


def _standing(condition: ConditionSpec, facts: AuthorisationFacts, at: date, window: timedelta) -> _Result:
    """A duty that holds as long as the authorisation is in force (§79 "voortdurend", §89,
    §93): no due date; with ``every``, an attestation is due each period as for ``recurring``."""
    if condition.every is not None:
        return _recurring(condition, facts, at, window)
    return "in-effect", None, None, ()


def _done(facts: AuthorisationFacts, condition: ConditionSpec, at: date) -> list[Fulfilment]:
    return [f for f in effective_fulfilments(facts.fulfilments, at) if f.condition == condition.id]


def _event_clocks(
    facts: AuthorisationFacts, condition: ConditionSpec, at: date
) -> list[tuple[date, date, date | None]]:
    """Per occurrence of the trigger (on or before ``at``): the day it happened, the day the duty
    is due (``within`` after it) and the first fulfilment dated on or after it (by ``at``)."""
    assert condition.within is not None
    within = parse_duration(condition.within)
    done = [f.fulfilled_on for f in _done(facts, condition, at)]
    return [
        (occurred, within.after(occurred), next((day for day in done if day >= occurred), None))
        for occurred in facts.occurrences(condition, at)
    ]


def _on_event(condition: ConditionSpec, facts: AuthorisationFacts, at: date, window: timedelta) -> _Result:
    """Dormant until its trigger happens (§88: when a processor is engaged); from then on a
    deadline ``within`` after it, met by a fulfilment dated on or after that day. Each new
    occurrence starts a new clock."""
    clocks = _event_clocks(facts, condition, at)
    if not clocks:
        return "not-triggered", None, None, ()
    unmet = [due for _, due, met in clocks if met is None]
    last_met = max((met for _, _, met in clocks if met is not None), default=None)
    if unmet:
        return _open_or_due_soon(unmet[0], at, window), unmet[0], last_met, ()
    _, due, met = clocks[-1]
    assert met is not None
    return ("fulfilled" if met <= due else "fulfilled-late"), due, met, ()


def _sample_gate(condition: ConditionSpec, facts: AuthorisationFacts, at: date, window: timedelta) -> _Result:
    """Every addition to a sample (its drawing, each extension) is due for communication
    ``within`` after it (default P0D: overdue from the next day)."""
    within = parse_duration(condition.within or "P0D")
    earliest_due: date | None = None
    pending: list[str] = []
    last_communicated: date | None = None
    for sample in facts.samples:
        if sample.drawn_on > at:
            continue
        communications = sorted(day for day in sample.communicated_on if day <= at)
        if communications:
            last_communicated = max(last_communicated or communications[-1], communications[-1])
        for added in sorted({day for day in sample.added_on if day <= at}):
            if not any(day >= added for day in communications):
                due = within.after(added)
                earliest_due = due if earliest_due is None else min(earliest_due, due)
                if sample.id not in pending:
                    pending.append(sample.id)
    if earliest_due is None:
        return ("fulfilled" if last_communicated else "open"), None, last_communicated, ()
    state = "overdue" if at > earliest_due else "due-soon"
    return state, earliest_due, last_communicated, tuple(pending)


Interval = tuple[date, date | None]  # inclusive; None: no end


def overdue_intervals(facts: AuthorisationFacts, condition: ConditionSpec) -> list[Interval]:
    """The days on which a condition other than the sample-gate is overdue, given every
    fulfilment and event recorded (as ``condition_state`` judges each day, before the in-force
    check; a standing duty without ``every`` never is). The decision engine compiles these into
    its policy, so "overdue on day d" needs no computation per request."""
    day = timedelta(days=1)
    if condition.kind == "on-event":
        return [
            (due + day, None if met is None else met - day)
            for _, due, met in _event_clocks(facts, condition, date.max)
            if met is None or met > due + day
        ]
    if condition.kind == "ending" or (condition.kind == "standing" and condition.every is None):
        return []  # an ending is overdue only once the authorisation has ended
    done = _done(facts, condition, date.max)
    if condition.kind in ("deadline", "deletion"):
        assert condition.due_on is not None
        if not done:
            return [(condition.due_on + day, None)]
        first = done[0].fulfilled_on
        return [(condition.due_on + day, first - day)] if first > condition.due_on + day else []
    if condition.kind in ("recurring", "standing"):
        assert condition.every is not None
        every = parse_duration(condition.every)
        due = every.after(facts.timeline.valid_from)
        intervals: list[Interval] = []
        for fulfilment in done:
            if fulfilment.fulfilled_on > due + day:
                intervals.append((due + day, fulfilment.fulfilled_on - day))
            due = every.after(fulfilment.fulfilled_on)
        intervals.append((due + day, None))
        return intervals
    raise ValueError(f"a {condition.kind} condition has no overdue days of its own")
