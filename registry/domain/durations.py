"""ISO 8601 durations in whole days, months and years, as the decisions use them (``P1Y``,
``P6M``, ``P30D``, ``P2W``); calendar arithmetic keeps month ends (31 Jan + P1M = 28/29 Feb)."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

# A duty repeats or a sample waits at most this long: longer ones would run past the calendar.
MAX_MONTHS, MAX_DAYS = 1200, 36600
_DURATION = re.compile(r"^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?$")


@dataclass(frozen=True)
class Duration:
    """A calendar duration; time-of-day parts are not allowed because every bound is a day."""

    years: int = 0
    months: int = 0
    days: int = 0

    def after(self, start: date) -> date:
        """The day this long after ``start`` (leap days and short months clamp to the month end)."""
        month_index = start.month - 1 + self.months + 12 * self.years
        year, month = start.year + month_index // 12, month_index % 12 + 1
        day = min(start.day, calendar.monthrange(year, month)[1])
        return date(year, month, day) + timedelta(days=self.days)


def parse_duration(text: str) -> Duration:
    """``P1Y6M`` → Duration(1, 6, 0); raises ValueError for anything else, including ``P``."""
    match = _DURATION.match(text)
    if not match or text == "P":
        raise ValueError(f"not an ISO 8601 duration in days, weeks, months or years: {text!r}")
    years, months, weeks, days = (int(part or 0) for part in match.groups())
    if 12 * years + months > MAX_MONTHS or days + 7 * weeks > MAX_DAYS:
        raise ValueError(f"longer than {MAX_MONTHS // 12} years: {text!r}")
    return Duration(years=years, months=months, days=days + 7 * weeks)
