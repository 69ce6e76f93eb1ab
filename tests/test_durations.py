"""ISO 8601 durations as conditions use them, with calendar arithmetic."""

from __future__ import annotations

from datetime import date

import pytest

from authreg.domain.durations import Duration, parse_duration


@pytest.mark.parametrize(
    ("text", "duration"),
    [
        ("P1Y", Duration(years=1)),
        ("P6M", Duration(months=6)),
        ("P30D", Duration(days=30)),
        ("P2W", Duration(days=14)),
        ("P1Y6M2D", Duration(1, 6, 2)),
        ("P0D", Duration()),
    ],
)
def test_parse(text: str, duration: Duration) -> None:
    assert parse_duration(text) == duration


@pytest.mark.parametrize("text", ["P", "1Y", "P1H", "PT1H", "P1.5Y", "p1y", "P-1D", ""])
def test_parse_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="not an ISO 8601 duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("start", "text", "end"),
    [
        (date(2017, 9, 13), "P1Y", date(2018, 9, 13)),
        (date(2020, 2, 29), "P1Y", date(2021, 2, 28)),
        (date(2019, 2, 28), "P1Y", date(2020, 2, 28)),
        (date(2024, 2, 29), "P4Y", date(2028, 2, 29)),
        (date(2017, 1, 31), "P1M", date(2017, 2, 28)),
        (date(2017, 11, 30), "P3M", date(2018, 2, 28)),
        (date(2017, 12, 31), "P30D", date(2018, 1, 30)),
        (date(2017, 8, 31), "P6M1D", date(2018, 3, 1)),
    ],
)
def test_after(start: date, text: str, end: date) -> None:
    assert parse_duration(text).after(start) == end
