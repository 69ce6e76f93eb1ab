"""Click parameter types the commands share (``main``'s and ``remind``'s, which ``main`` imports)."""

from __future__ import annotations

from datetime import date
from typing import Any

import click


class Day(click.ParamType):
    """An ISO 8601 date; anything else is a usage error (exit 2) naming the option."""

    name = "DATE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> date:
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(value)
        except ValueError:
            self.fail(f"not a date (YYYY-MM-DD): {value!r}", param, ctx)


DAY = Day()
