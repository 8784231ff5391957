"""One clock: times are stored in UTC and read by people in the site's zone (WALKAPP_TIMEZONE).

Every "now", every time shown on a page, in a file or in a machine format goes through here, so a
constat made at 14:30 in Lillers reads 14:30 everywhere, summer or winter. People read
dd/mm/yyyy and HH:MM in the site's zone; machines get ISO 8601 with the site's offset, to the
second (the W3C form Open311 asks for), so both the instant and the local hour survive.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from .settings import get_settings


def zone() -> ZoneInfo:
    return get_settings().timezone


def now() -> dt.datetime:
    """The current instant, aware, in UTC (what we store)."""
    return dt.datetime.now(dt.UTC)


def today() -> dt.date:
    """The site's calendar day: past 23:00 UTC it is already tomorrow in Paris."""
    return now().astimezone(zone()).date()


def as_utc(value: Any) -> dt.datetime | None:
    """An aware UTC datetime from what the database or a caller hands us.

    Naive datetimes are UTC (what we store). Text is ISO 8601: SQLite gives aggregates such as
    MAX(at) back as text ("2026-11-25 13:30:00+00:00") where PostgreSQL gives a datetime.
    """
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if not isinstance(value, dt.datetime):
        raise TypeError(f"an instant is a datetime or ISO text, not {type(value).__name__}")
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def assume_local(value: dt.datetime) -> dt.datetime:
    """A wall-clock time without a zone (a camera's EXIF time, an Open311 date without offset)
    read as the site's time; aware values are kept. Returned in UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone())
    return value.astimezone(dt.UTC)


def local(value: Any) -> dt.datetime | None:
    """The instant in the site's zone."""
    instant = as_utc(value)
    return instant.astimezone(zone()) if instant else None


def _shown(value: Any, pattern: str) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value.strftime(pattern)  # a calendar day (a walk's date, a deadline) has no zone
    return local(value).strftime(pattern)


def date_text(value: Any) -> str:
    """dd/mm/yyyy, for people; "" for nothing."""
    return _shown(value, "%d/%m/%Y")


def datetime_text(value: Any) -> str:
    """dd/mm/yyyy HH:MM in the site's zone, for people."""
    return _shown(value, "%d/%m/%Y %H:%M")


def time_text(value: Any) -> str:
    """HH:MM in the site's zone, for people."""
    return "" if isinstance(value, dt.date) and not isinstance(value, dt.datetime) else _shown(value, "%H:%M")


def iso(value: Any) -> str | None:
    """ISO 8601 with the site's offset, to the second, for machines: 2026-11-25T14:30:00+01:00."""
    instant = local(value)
    return instant.replace(microsecond=0).isoformat() if instant else None


def end_of_day(day: dt.date | None) -> dt.datetime | None:
    """The last second of a calendar day in the site's zone, in UTC: a deadline ("by 31/12") as an
    instant for machine formats (Open311's expected_datetime reads 2026-12-31T23:59:59+01:00)."""
    if day is None:
        return None
    return dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=zone()).astimezone(dt.UTC)
