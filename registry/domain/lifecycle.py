"""Whether an authorisation is in force on a day, and how its status changes over time.

A document's ``status`` is what it was registered with; suspensions, reinstatements and
revocations are dated facts recorded afterwards, in order. So "as of" any day the status is
known, and re-applying the unchanged policy file never undoes a suspension.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from authreg.domain.errors import Conflict, Invalid, Problem

ChangeKind = Literal["suspend", "reinstate", "revoke"]
IN_FORCE = "in-force"
# what ``Timeline.state_on`` answers: in force, or why not
STATES = (IN_FORCE, "suspended", "not-yet-valid", "expired", "replaced", "revoked")
RESULTING_STATUS: dict[str, str] = {"suspend": "suspended", "reinstate": "active", "revoke": "revoked"}
_ALLOWED_FROM: dict[str, tuple[str, ...]] = {
    "suspend": ("active",),
    "reinstate": ("suspended",),
    "revoke": ("active", "suspended"),
}


@dataclass(frozen=True)
class StatusChange:
    kind: ChangeKind
    on: date
    reason: str


@dataclass(frozen=True)
class Timeline:
    """The dates that decide whether an authorisation grants anything on a given day."""

    authorisation: str
    decided_on: date
    valid_from: date
    valid_until: date | None
    status: str
    changes: tuple[StatusChange, ...] = ()
    replaced_from: date | None = None  # the earliest valid_from of the authorisations replacing it
    replaced_by: tuple[str, ...] = ()

    def status_on(self, day: date) -> str:
        status = self.status
        for change in self.changes:
            if change.on <= day:
                status = RESULTING_STATUS[change.kind]
        return status

    def state_on(self, day: date) -> str:
        """``in-force``, or why not: revoked, replaced, not-yet-valid, expired, suspended."""
        status = self.status_on(day)
        if status == "revoked":
            return "revoked"
        if self.replaced_from is not None and day >= self.replaced_from:
            return "replaced"
        if day < self.valid_from:
            return "not-yet-valid"
        if self.valid_until is not None and day > self.valid_until:
            return "expired"
        if status == "suspended":
            return "suspended"
        return IN_FORCE


def in_force_periods(timeline: Timeline) -> list[tuple[date, date | None]]:
    """The periods the authorisation is in force as the recorded facts stand, in order (an end
    of None: no end yet), as ``state_on`` judges them. Its state changes only where its validity
    begins and ends, at a status change and at a replacement, so only those days are judged."""
    bounds = {timeline.valid_from, *(change.on for change in timeline.changes)}
    if timeline.valid_until is not None and timeline.valid_until < date.max:
        bounds.add(timeline.valid_until + timedelta(days=1))
    if timeline.replaced_from is not None:
        bounds.add(timeline.replaced_from)
    points = sorted(bounds)
    found: list[tuple[date, date | None]] = []
    for start, following in zip(points, [*points[1:], None], strict=True):
        if timeline.state_on(start) != IN_FORCE:
            continue
        # a change that left it in force (suspended and reinstated the same day) starts no period
        if found and found[-1][1] == start - timedelta(days=1):
            start = found.pop()[0]
        found.append((start, None if following is None else following - timedelta(days=1)))
    return found


def last_in_force(timeline: Timeline) -> date | None:
    """The last day the authorisation is in force as the recorded facts stand (``date.max``: no
    end yet); None when it never is (revoked, or replaced, before it began)."""
    periods = in_force_periods(timeline)
    return (periods[-1][1] or date.max) if periods else None


def check_change(timeline: Timeline, change: StatusChange) -> None:
    """A change is recorded in date order and must make sense from the status it finds."""
    if change.on < timeline.decided_on:
        raise Invalid([Problem("", "on", f"before the decision of {timeline.decided_on}")])
    if not change.reason.strip():
        raise Invalid([Problem("", "reason", "required")])
    if timeline.changes and change.on < timeline.changes[-1].on:
        latest = timeline.changes[-1].on
        raise Conflict(f"{timeline.authorisation}: its last status change is dated {latest}; record changes in order")
    current = timeline.status_on(date.max)
    if current not in _ALLOWED_FROM[change.kind]:
        raise Conflict(f"{timeline.authorisation} is {current}: cannot {change.kind}")


@dataclass(frozen=True)
class Milestone:
    """A dated point in an authorisation's life: ``kind`` is decided, valid-from, suspend,
    reinstate, revoke, replaced, valid-until or retention-until; ``detail`` says why or by what."""

    on: date
    kind: str
    detail: str = ""


def milestones(timeline: Timeline, retention_until: date | None = None) -> list[Milestone]:
    """The life of an authorisation in date order, for a reader who wants to see it at a
    glance: when it was decided, in force, changed status, replaced, ends, and until when the
    recipient may keep the data (for the same day, in the order things happen)."""
    points = [Milestone(timeline.decided_on, "decided"), Milestone(timeline.valid_from, "valid-from")]
    points += [Milestone(change.on, change.kind, change.reason) for change in timeline.changes]
    if timeline.replaced_from is not None:
        points.append(Milestone(timeline.replaced_from, "replaced", ", ".join(timeline.replaced_by)))
    if timeline.valid_until is not None:
        points.append(Milestone(timeline.valid_until, "valid-until"))
    if retention_until is not None:
        points.append(Milestone(retention_until, "retention-until"))
    return sorted(points, key=lambda point: (point.on, _SAME_DAY_ORDER[point.kind]))  # stable: changes in turn


_SAME_DAY_ORDER = {
    "decided": 0,
    "valid-from": 1,
    "suspend": 2,
    "reinstate": 2,
    "revoke": 2,
    "replaced": 3,
    "valid-until": 4,
    "retention-until": 5,
}
MILESTONE_KINDS = tuple(_SAME_DAY_ORDER)
