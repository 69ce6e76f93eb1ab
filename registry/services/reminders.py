"""Reminders (issue 13, item 6): who must hear that a condition is due soon or overdue, told once
per state, by e-mail and a signed webhook.

``authreg remind`` runs from cron. It takes the states ``authreg conditions`` lists
(``reports.condition_states``: no state is judged twice), keeps those ``due-soon`` or
``overdue``, and sends a digest to each responsible party's contact (the organisation's
``contact``; for a group without one, its members' contacts), to every manager
(``AUTHREG_REMIND_MANAGERS``: everything) and to the webhook (everything, as JSON). A reminder
is keyed by recipient, authorisation, condition, state and due day: it is recorded only once
the SMTP server accepted the message or the webhook answered 2xx, in one transaction per
recipient, and a recorded one is never sent again. A new state (due soon, then overdue) or a
new due day (the next period, a new sample) is a new reminder. A send that fails records
nothing, so the next run tries it again.

The digests name authorisations, conditions, organisations' codes and paragraphs: never a
person, a data subject or a user.

This module decides who hears what and writes it; ``reminder_delivery`` carries it (SMTP, the
signed webhook) and ``storage.reminder_rows`` holds the contacts and what was sent.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from itertools import chain
from typing import Any, Literal

from sqlalchemy import Engine

from authreg.config import ReminderSettings
from authreg.domain.conditions import ConditionState
from authreg.domain.errors import RegistryError
from authreg.services.reminder_delivery import post_signed, send_mails
from authreg.services.reports import condition_states
from authreg.storage import registry_rows, reminder_rows
from authreg.storage.reminder_rows import StateKey
from authreg.storage.sessions import reading, transaction
from authreg.storage.snapshot_loader import load_groups

REMINDED = ("overdue", "due-soon")  # the states worth a reminder, the worse first


@dataclass(frozen=True)
class Reminder:
    """A condition in a state worth a reminder, with what a digest says of it."""

    authorisation: str
    reference: str
    title: str
    condition: str
    kind: str
    state: str
    due_on: date
    paragraphs: tuple[int, ...]
    responsible: tuple[str, ...]
    without_contact: tuple[str, ...]  # the responsible parties that have no contact

    @property
    def key(self) -> StateKey:
        """What makes it new to a recipient: another state or another due day is another reminder."""
        return (self.authorisation, self.condition, self.state, self.due_on)

    def as_dict(self) -> dict[str, Any]:
        return {
            "authorisation": self.authorisation,
            "reference": self.reference,
            "title": self.title,
            "condition": self.condition,
            "kind": self.kind,
            "state": self.state,
            "due_on": self.due_on.isoformat(),
            "paragraphs": list(self.paragraphs),
            "responsible": list(self.responsible),
            "without_contact": list(self.without_contact),
        }


@dataclass(frozen=True)
class Digest:
    """What one recipient is sent in one run: the reminders it has not had yet."""

    recipient: str  # the key reminders are recorded under: an address, or "webhook:<hash>"
    channel: Literal["e-mail", "webhook"]
    reminders: tuple[Reminder, ...]
    contact_of: tuple[str, ...] = ()  # the organisations whose contact this address is
    manager: bool = False

    @property
    def role(self) -> str:
        roles = [f"contact of {', '.join(self.contact_of)}"] if self.contact_of else []
        return ", ".join([*roles, *(["manager"] if self.manager else [])]) or "webhook"


@dataclass
class RemindReport:
    """What a run did: the digests (sent, or only planned in a dry run), those that failed and
    why, and the parties that have no contact, with the reminders they miss."""

    at: date
    due: int  # conditions due soon or overdue on the day
    planned: list[Digest]
    dry_run: bool
    sent: list[Digest] = field(default_factory=list)
    failed: list[tuple[Digest, str]] = field(default_factory=list)
    without_contact: dict[str, list[Reminder]] = field(default_factory=dict)
    reaches_no_one: list[Reminder] = field(default_factory=list)


def remind(
    engine: Engine,
    settings: ReminderSettings,
    *,
    at: date,
    window_days: int,
    now: datetime,
    dry_run: bool = False,
    sleep: Callable[[float], None] = time.sleep,
) -> RemindReport:
    """Send every recipient the reminders new to it as of ``at``, and record those delivered.
    Raises ``RegistryError`` before sending anything when e-mail is due but no SMTP server is
    set; a refused or unreachable recipient is a failure in the report, not an exception."""
    found = [state for state in condition_states(engine, at=at, window_days=window_days) if state.state in REMINDED]
    with reading(engine) as session:
        named = {row.id: (row.reference, row.title) for row in registry_rows.authorisations(session)}
        reach = reached(reminder_rows.contacts(session), load_groups(session))
        sent = reminder_rows.sent(session, {state.authorisation for state in found})
    reminders = [_reminder(state, named[state.authorisation], reach) for state in found]
    report = RemindReport(at=at, due=len(reminders), planned=[], dry_run=dry_run)
    report.planned = plan(reminders, reach, settings, sent)
    for reminder in reminders:
        for party in reminder.without_contact:
            report.without_contact.setdefault(party, []).append(reminder)
    if not settings.managers and settings.webhook_url is None:
        report.reaches_no_one = [r for r in reminders if r.without_contact == r.responsible]
    if dry_run:
        return report
    mails = [digest for digest in report.planned if digest.channel == "e-mail"]
    if mails and settings.smtp_host is None:
        raise RegistryError(
            f"AUTHREG_SMTP_HOST is not set: {len(mails)} e-mail reminders cannot be sent (see them with --dry-run)"
        )
    hooks = [digest for digest in report.planned if digest.channel == "webhook"]
    outcomes = chain(
        send_mails([(digest, message(digest, settings, at, now)) for digest in mails], settings),
        ((digest, _post_digest(digest, settings, at, sleep)) for digest in hooks),  # lazy: one after the other
    )
    for digest, error in outcomes:  # each recipient recorded once reached, before the next is tried
        if error is None:
            try:
                _record(engine, digest, now)
            except RegistryError as problem:
                error = f"delivered but not recorded ({problem}): it is sent again at the next run"
        if error is None:
            report.sent.append(digest)
        else:
            report.failed.append((digest, error))
    return report


def reached(contacts: Mapping[str, str], groups: Mapping[str, frozenset[str]]) -> dict[str, dict[str, str]]:
    """Party -> {address: the organisation whose contact it is}. A party is reached at its own
    contact; a group without one, at its members' (every organisation in it, however deep):
    when a group owes a condition whose lapse suspends its flows, each member loses access, so
    each must hear of it. A group with a contact of its own is trusted to tell its members."""
    found: dict[str, dict[str, str]] = {party: {address.lower(): party} for party, address in contacts.items()}
    for member, memberships in groups.items():
        if member in contacts:
            for group in memberships - contacts.keys():
                found.setdefault(group, {})[contacts[member].lower()] = member
    return found


def plan(
    reminders: Iterable[Reminder],
    reach: Mapping[str, Mapping[str, str]],
    settings: ReminderSettings,
    sent: Mapping[str, set[StateKey]],
) -> list[Digest]:
    """Per recipient, the reminders it has not had: each responsible party's contacts
    (``reached``) hear of the conditions that party owes, each manager and the webhook of all of
    them. One address is one recipient, whatever roles it has."""
    owed: dict[str, dict[StateKey, Reminder]] = {}
    contact_of: dict[str, set[str]] = {}
    listed = list(reminders)
    for reminder in listed:
        for party in reminder.responsible:
            for address, organisation in reach.get(party, {}).items():
                owed.setdefault(address, {})[reminder.key] = reminder
                named = organisation if organisation == party else f"{organisation} (member of {party})"
                contact_of.setdefault(address, set()).add(named)
    for address in settings.managers:
        owed[address] = {reminder.key: reminder for reminder in listed}
    digests = [
        Digest(
            recipient=address,
            channel="e-mail",
            reminders=_new(owed[address].values(), sent.get(address, set())),
            contact_of=tuple(sorted(contact_of.get(address, ()))),
            manager=address in settings.managers,
        )
        for address in sorted(owed)
    ]
    if settings.webhook_url is not None:
        key = webhook_key(settings.webhook_url)
        digests.append(Digest(recipient=key, channel="webhook", reminders=_new(listed, sent.get(key, set()))))
    return [digest for digest in digests if digest.reminders]


def webhook_key(url: str) -> str:
    """What a webhook's reminders are recorded under: a hash of its URL, so that a new receiver
    gets what is due and no token in the URL is stored."""
    return "webhook:" + hashlib.sha256(url.encode()).hexdigest()[:16]


def _new(reminders: Iterable[Reminder], had: set[StateKey]) -> tuple[Reminder, ...]:
    return tuple(sorted((r for r in reminders if r.key not in had), key=_order))


def _order(reminder: Reminder) -> tuple[Any, ...]:
    return (reminder.authorisation, REMINDED.index(reminder.state), reminder.due_on, reminder.condition)


def _reminder(state: ConditionState, named: tuple[str, str], reach: Mapping[str, Mapping[str, str]]) -> Reminder:
    assert state.due_on is not None  # due soon and overdue always have a due day
    return Reminder(
        authorisation=state.authorisation,
        reference=" ".join(named[0].split()),
        title=" ".join(named[1].split()),
        condition=state.condition,
        kind=state.kind,
        state=state.state,
        due_on=state.due_on,
        paragraphs=state.paragraphs,
        responsible=state.responsible,
        without_contact=tuple(party for party in state.responsible if not reach.get(party)),
    )


def _record(engine: Engine, digest: Digest, now: datetime) -> None:
    """One transaction per recipient: all of its digest, or (on any error) none of it."""
    with transaction(engine) as session:
        reminder_rows.record_sent(session, digest.recipient, (reminder.key for reminder in digest.reminders), now)


# ---- the e-mail ----------------------------------------------------------------------------


def subject(digest: Digest, at: date) -> str:
    """What a mail client lists: how many of each state, and the day, so the worst is seen unread."""
    counts = [
        f"{count} {state.replace('-', ' ')}"
        for state in REMINDED
        if (count := sum(r.state == state for r in digest.reminders))
    ]
    noun = "condition" if len(digest.reminders) == 1 else "conditions"
    return f"authreg: {', '.join(counts)} {noun} on {at.isoformat()}"


def digest_text(digest: Digest, at: date) -> str:
    """The plain text of a digest: per authorisation its reference and title, then a line per
    condition (id, kind, state, due day, paragraphs, who owes it)."""
    if digest.contact_of:
        whom = f"the conditions {', '.join(digest.contact_of)} must meet"
        if digest.manager:
            whom += ", and as a manager every other one"
    elif digest.manager:
        whom = "every condition of the registry, as you are one of its managers"
    else:
        whom = "every condition of the registry"
    lines = [
        f"Due soon or overdue on {at.isoformat()}: {whom}.",
        "You hear of each once per state: again when it becomes overdue or falls due anew.",
        "",
    ]
    current = None
    for reminder in digest.reminders:
        if reminder.authorisation != current:
            if current is not None:
                lines.append("")
            current = reminder.authorisation
            lines.append(f"{reminder.authorisation}: {reminder.reference}, {reminder.title}")
        lines.append(_line(reminder))
    lines += [
        "",
        "Record a fulfilment with `authreg fulfil AUTHORISATION CONDITION --on DATE --evidence TEXT`;",
        "`authreg conditions --at DATE` lists every condition and its state.",
    ]
    missing = sorted({party for reminder in digest.reminders for party in reminder.without_contact})
    if missing and digest.manager:
        lines += [
            "",
            f"No contact is registered for {', '.join(missing)}: this reminder does not reach them. Give each a",
            "`contact` in the organisations document.",
        ]
    return "\n".join(lines) + "\n"


def _line(reminder: Reminder) -> str:
    cited = f" ({', '.join(f'§{n}' for n in reminder.paragraphs)})" if reminder.paragraphs else ""
    parties = ", ".join(f"{p} (no contact)" if p in reminder.without_contact else p for p in reminder.responsible)
    due = f"due {reminder.due_on.isoformat()}"
    return f"  - {reminder.condition} ({reminder.kind}) {reminder.state}: {due}{cited}; responsible {parties}"


def message(digest: Digest, settings: ReminderSettings, at: date, now: datetime) -> EmailMessage:
    """The digest as an e-mail, built the same for sending and for ``--dry-run``'s preview."""
    mail = EmailMessage()
    sender = settings.smtp_sender or "authreg@localhost"
    mail["From"] = sender
    mail["To"] = digest.recipient
    mail["Subject"] = subject(digest, at)
    mail["Date"] = format_datetime(now)
    mail["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[1])
    mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies to it
    mail.set_content(digest_text(digest, at))
    return mail


# ---- the webhook ---------------------------------------------------------------------------


def webhook_body(digest: Digest, at: date, delivery: str) -> bytes:
    """The JSON the webhook is sent (and its signature covers), keys sorted so that it is the
    same bytes for the same digest."""
    document = {
        "event": "authreg.reminders",
        "delivery": delivery,
        "at": at.isoformat(),
        "reminders": [reminder.as_dict() for reminder in digest.reminders],
    }
    return json.dumps(document, ensure_ascii=False, sort_keys=True).encode()


def _post_digest(digest: Digest, settings: ReminderSettings, at: date, sleep: Callable[[float], None]) -> str | None:
    """The webhook's digest as signed JSON, with a delivery id of its own that every attempt of
    this run repeats (a receiver that saw it ignores the retry)."""
    delivery = str(uuid.uuid4())
    return post_signed(settings, webhook_body(digest, at, delivery), delivery, sleep=sleep)
