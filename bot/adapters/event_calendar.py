"""The event calendar: FOMC and CPI days read from a small CSV (`date,label`, `#` comments)."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path


class EventCalendarError(ValueError):
    """An event calendar file that cannot be read; the message names the file, line and value."""


def load_event_days(path: Path) -> dict[date, str]:
    """Read event days from `path`: one `YYYY-MM-DD,label` row per day after a header.

    Raises:
        EventCalendarError: On a missing file, a bad header, a bad date or an empty label.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise EventCalendarError(f"{path}: cannot read event calendar: {exc.strerror}") from exc
    rows = [
        (number, line)
        for number, line in enumerate(text.splitlines(), start=1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    if not rows or rows[0][1].replace(" ", "") != "date,label":
        got = rows[0][1] if rows else "nothing"
        raise EventCalendarError(f"{path}: expected header 'date,label', got {got!r}")
    days: dict[date, str] = {}
    for number, fields in zip(
        (n for n, _ in rows[1:]), csv.reader(line for _, line in rows[1:]), strict=True
    ):
        if len(fields) != 2:
            raise EventCalendarError(f"{path} line {number}: expected 'date,label', got {fields}")
        raw_day, label = (field.strip() for field in fields)
        try:
            day = date.fromisoformat(raw_day)
        except ValueError:
            raise EventCalendarError(
                f"{path} line {number}, field 'date': expected YYYY-MM-DD, got {raw_day!r}"
            ) from None
        if not label:
            raise EventCalendarError(f"{path} line {number}, field 'label': empty")
        days[day] = f"{days[day]}, {label}" if day in days else label
    return days
