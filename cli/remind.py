"""``authreg remind``: the reminders for cron. Only wiring: ``services.reminders`` decides who
hears what and sends it; this prints what happened and exits 1 when anything was not sent.

The command takes the group's ``Runtime`` as its context object (``click.pass_obj``) rather
than importing ``main``'s ``pass_runtime``: ``main`` registers this module, and an import the
other way round would be circular."""

from __future__ import annotations

import sys
from datetime import date, datetime
from typing import Protocol

import click

from authreg.cli.params import DAY
from authreg.config import ReminderSettings, Settings
from authreg.domain.clock import Clock, utcnow
from authreg.services import reminders
from authreg.services.database import Database
from authreg.services.reminder_delivery import shown_url
from authreg.services.reminders import Digest, RemindReport


class Runtime(Protocol):
    """What the command uses of ``authreg.cli.main.Runtime``."""

    settings: Settings

    @property
    def engine(self) -> Database: ...

    @property
    def clock(self) -> Clock: ...


@click.command(name="remind")
@click.option("--at", type=DAY, help="The day to judge on [default: today in the registry's time zone].")
@click.option("--due-soon-days", type=click.IntRange(min=0), help="Warning window [env AUTHREG_DUE_SOON_DAYS; 30].")
@click.option("--dry-run", is_flag=True, help="Print what would be sent; send and record nothing.")
@click.pass_obj
def remind(runtime: Runtime, at: date | None, due_soon_days: int | None, dry_run: bool) -> None:
    """Send each responsible party's contact and each manager a digest of the conditions due
    soon or overdue, by e-mail and to the webhook; each state of a condition once. Exits 1
    naming every recipient not reached (it is tried again at the next run)."""
    settings = ReminderSettings.from_env()  # a bad setting stops here, named
    day = at or runtime.clock.today
    window = runtime.settings.due_soon_days if due_soon_days is None else due_soon_days
    now = utcnow()
    report = reminders.remind(runtime.engine, settings, at=day, window_days=window, now=now, dry_run=dry_run)
    if dry_run:
        click.echo(_preview(report, settings, now), nl=False)
    for digest in report.sent:
        click.echo(f"sent to {_to(digest, settings)}: {_count(digest)} ({digest.role})")
    for party, missed in sorted(report.without_contact.items()):
        which = ", ".join(f"{r.condition} of {r.authorisation} ({r.state})" for r in missed)
        click.echo(f"warning: {party} has no contact; not reminded of {which}", err=True)
    for reminder in report.reaches_no_one:
        click.echo(
            f"warning: {reminder.condition} of {reminder.authorisation} ({reminder.state}) reaches no one: "
            "no contact, no AUTHREG_REMIND_MANAGERS, no webhook",
            err=True,
        )
    for digest, error in report.failed:
        click.echo(f"error: not sent to {_to(digest, settings)}: {error}; tried again at the next run", err=True)
    if not report.planned:
        due = f"{report.due} condition" + ("" if report.due == 1 else "s")
        click.echo(f"nothing new to remind of on {day} ({due} due soon or overdue)")
    if report.failed:
        sys.exit(1)


def _preview(report: RemindReport, settings: ReminderSettings, now: datetime) -> str:
    """Every message as it would go out, headers and body; the webhook's JSON unsigned."""
    parts = []
    for digest in report.planned:
        if digest.channel == "webhook":
            body = reminders.webhook_body(digest, report.at, "(a new id per run)").decode()
            parts.append(f"would POST to {_to(digest, settings)}:\n{body}\n")
            continue
        mail = reminders.message(digest, settings, report.at, now)
        head = "".join(f"{name}: {mail[name]}\n" for name in ("From", "To", "Subject"))
        parts.append(f"would send ({digest.role}):\n{head}\n{reminders.digest_text(digest, report.at)}")
    parts.append(f"dry run: {len(report.planned)} messages, nothing sent or recorded\n")
    return "\n".join(parts)


def _to(digest: Digest, settings: ReminderSettings) -> str:
    if digest.channel == "webhook":
        return f"the webhook {shown_url(settings.webhook_url or '')}"
    return digest.recipient


def _count(digest: Digest) -> str:
    return f"{len(digest.reminders)} reminder" + ("" if len(digest.reminders) == 1 else "s")
