"""Due dates of conditions as an iCalendar feed a manager can subscribe to."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from icalendar import Calendar, Event

from authreg.domain.conditions import ConditionState


def calendar(states: Iterable[ConditionState], *, generated_at: datetime) -> bytes:
    """One all-day event per condition that has a due date; the UID is stable per condition and
    due date, so a calendar client updates an event instead of duplicating it."""
    feed = Calendar()
    feed.add("prodid", "-//authreg//conditions//EN")
    feed.add("version", "2.0")
    feed.add("x-wr-calname", "authreg: conditions")
    for state in states:
        if state.due_on is None:
            continue
        event = Event()
        event.add("uid", f"{state.authorisation}.{state.condition}.{state.due_on.isoformat()}@authreg")
        event.add("dtstamp", generated_at)
        event.add("dtstart", state.due_on)
        event.add("summary", f"[{state.state}] {state.authorisation}: {state.condition}")
        paragraphs = ", ".join(f"§{number}" for number in state.paragraphs)
        event.add(
            "description",
            f"{state.description}\nresponsible: {', '.join(state.responsible)}"
            + (f"\nowed to: {', '.join(state.owed_to)}" if state.owed_to else "")
            + f"\nkind: {state.kind}, effect: {state.effect}"
            + (f"\nparagraphs: {paragraphs}" if paragraphs else ""),
        )
        event.add("categories", [state.state])
        feed.add_component(event)
    return feed.to_ical()
