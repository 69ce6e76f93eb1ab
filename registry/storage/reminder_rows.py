"""The rows ``authreg remind`` reads and writes: the organisations' contacts, and the reminders
that reached their recipient (``reminder_sent``), which is how a state is sent only once.

Like ``registry_rows``, every function takes a session that is already inside a transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from sqlmodel import Session, select

from authreg.storage.models import Organisation, ReminderSent

StateKey = tuple[str, str, str, date]  # authorisation, condition, state, due day: one reminder


def contacts(session: Session) -> dict[str, str]:
    """Organisation id -> its contact address, for the organisations that have one."""
    query = select(Organisation.id, Organisation.contact).where(Organisation.contact.is_not(None))  # type: ignore[union-attr]
    return dict(session.exec(query).all())


def sent(session: Session, authorisations: Iterable[str]) -> dict[str, set[StateKey]]:
    """By recipient, the states of these authorisations' conditions it has been sent."""
    wanted = sorted(set(authorisations))
    found: dict[str, set[StateKey]] = {}
    if not wanted:
        return found
    query = select(ReminderSent).where(ReminderSent.authorisation_id.in_(wanted))  # type: ignore[attr-defined]
    for row in session.exec(query):
        found.setdefault(row.recipient, set()).add((row.authorisation_id, row.condition_id, row.state, row.due_on))
    return found


def record_sent(session: Session, recipient: str, states: Iterable[StateKey], now: datetime) -> None:
    """A row per state sent to the recipient; the caller's transaction makes them all or none,
    and the table's unique key refuses a state recorded twice (``Conflict``)."""
    session.add_all(
        ReminderSent(
            recipient=recipient,
            authorisation_id=authorisation,
            condition_id=condition,
            state=state,
            due_on=due_on,
            sent_at=now,
        )
        for authorisation, condition, state, due_on in states
    )
