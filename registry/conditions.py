"""The state of every condition on any day (DESIGN §4), from the facts recorded so far.

Pure functions: the store gathers the facts, these answer. Only fulfilments and sample
communications dated on or before the day count. A fulfilment that a later correction
supersedes does not count at all: the correction states what really happened.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

from registry.durations import parse_duration
from registry.lifecycle import IN_FORCE, Timeline

STATES = (
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
    responsible: str
    effect: str
    paragraphs: tuple[int, ...] = ()
    due_on: date | None = None
    every: str | None = None
    within: str | None = None


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
class AuthorisationFacts:
    timeline: Timeline
    conditions: tuple[ConditionSpec, ...] = ()
    fulfilments: tuple[Fulfilment, ...] = ()
    samples: tuple[SampleRecord, ...] = ()


@dataclass(frozen=True)
class ConditionState:
    authorisation: str
    condition: str
    kind: str
    state: str
    due_on: date | None
    overdue_since: date | None
    paragraphs: tuple[int, ...]
    responsible: str
    description: str
    effect: str
    fulfilled_on: date | None = None
    pending_samples: tuple[str, ...] = field(default=())

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
            "responsible": self.responsible,
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
    if condition.kind == "deadline":
        state, due, done, pending = _deadline(condition, facts, at, window)
    elif condition.kind == "recurring":
        state, due, done, pending = _recurring(condition, facts, at, window)
    else:
        state, due, done, pending = _sample_gate(condition, facts, at, window)
    in_force = facts.timeline.state_on(at)
    if in_force != IN_FORCE:
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
    )


_Result = tuple[str, date | None, date | None, tuple[str, ...]]


def _open_or_due_soon(due: date, at: date, window: timedelta) -> str:
    if at > due:
        return "overdue"
    return "due-soon" if due - at <= window else "open"


def _deadline(condition: ConditionSpec, facts: AuthorisationFacts, at: date, window: timedelta) -> _Result:
    assert condition.due_on is not None
    done = [f for f in effective_fulfilments(facts.fulfilments, at) if f.condition == condition.id]
    if done:
        first = done[0].fulfilled_on
        return ("fulfilled" if first <= condition.due_on else "fulfilled-late"), condition.due_on, first, ()
    return _open_or_due_soon(condition.due_on, at, window), condition.due_on, None, ()


def _recurring(condition: ConditionSpec, facts: AuthorisationFacts, at: date, window: timedelta) -> _Result:
    """Due ``every`` after the last fulfilment, or after ``valid_from`` before the first one."""
    assert condition.every is not None
    every = parse_duration(condition.every)
    done = [f for f in effective_fulfilments(facts.fulfilments, at) if f.condition == condition.id]
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
    """The days on which a deadline or recurring condition is overdue, given every fulfilment
    recorded (as ``condition_state`` judges each day, before the in-force check). The decision
    engine compiles these into its policy, so "overdue on day d" needs no computation per request."""
    done = [f for f in effective_fulfilments(facts.fulfilments, date.max) if f.condition == condition.id]
    day = timedelta(days=1)
    if condition.kind == "deadline":
        assert condition.due_on is not None
        if not done:
            return [(condition.due_on + day, None)]
        first = done[0].fulfilled_on
        return [(condition.due_on + day, first - day)] if first > condition.due_on + day else []
    if condition.kind == "recurring":
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
