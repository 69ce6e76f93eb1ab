"""The one clock: the current instant (UTC) and the calendar day it is in the registry's legal
time zone. Every act and decision reads the time here, so a test or a table can say which day
it is, and no day is computed in two ways."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo


def utcnow() -> datetime:
    return datetime.now(UTC)


def local_day(now: datetime, timezone: str) -> date:
    """The calendar day ``now`` falls on in the registry's legal time zone: every bound is a
    whole day there, so 2019-12-31T23:30Z is already 1 January 2020 in Brussels."""
    return now.astimezone(ZoneInfo(timezone)).date()


@dataclass(frozen=True)
class Clock:
    """When an act is recorded: the instant, and the day it is in the registry's time zone."""

    now: datetime
    today: date

    @classmethod
    def current(cls, timezone: str) -> Clock:
        now = utcnow()
        return cls(now=now, today=local_day(now, timezone))
