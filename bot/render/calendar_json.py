"""Calendar listings as JSON-ready values: the `condorbot calendar vix --json` output."""

from __future__ import annotations

from datetime import date

from core.calendar import vix_settlements_between


def vix_settlements_json(start: date, end: date) -> list[str]:
    """Return the monthly VIX settlement dates in [start, end] as "YYYY-MM-DD" strings.

    Both ends are inclusive; dates follow `core.calendar.vix_monthly_settlement` with the default
    NYSE holidays. ``json.dumps`` of the result is the command's output.

    Raises:
        ValueError: If `start` is after `end`.
    """
    if start > end:
        raise ValueError(f"start must not be after end, was {start} > {end}")
    return [day.isoformat() for day in vix_settlements_between(start, end)]
