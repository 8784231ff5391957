"""Cleaning what people type: one set of rules, used by forms, the API and the CLI."""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from decimal import Decimal

from . import clock

# Control characters (but tab and newline in long texts) never belong in a name or a comment, nor
# do surrogates (invalid UTF-8 decoded with "surrogateescape") and Unicode's non-characters
# (U+FFFE, U+FFFF, U+FDD0..U+FDEF and the last two of every plane), which XML 1.0 refuses.
_CONTROL = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff"
    + "".join(f"{chr(plane * 0x10000 + 0xFFFE)}{chr(plane * 0x10000 + 0xFFFF)}" for plane in range(1, 17))
    + "]")

# The largest id a row can have on both engines (PostgreSQL's integer; SQLite's is larger): an id
# beyond it names nothing, and is never sent to the database (where it would overflow).
MAX_ID = 2**31 - 1
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# A decimal number in ASCII (float() also reads "1_0", "٣", "inf" and "nan": nobody types those).
_DECIMAL = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d{1,3})?", re.ASCII)
# The instants a constat can have been made: the app did not exist before 2000, and a phone's
# clock a little ahead is tolerated, not one a year ahead.
EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
AHEAD = dt.timedelta(days=1)


def clean_text(value: object, *, max_length: int, multiline: bool = False) -> str:
    """Trimmed, NFC-normalised text without control characters. HTML is kept as typed: it is
    escaped where it is shown, never stripped here (a resident may well write "<" or "&")."""
    text = unicodedata.normalize("NFC", str(value or ""))
    text = _CONTROL.sub("", text)
    if not multiline:
        text = " ".join(text.split())
    return text.strip()[: max_length + 1]


def parse_int(value: object, *, low: int, high: int) -> int | None:
    """A whole number written in ASCII digits (an optional minus sign) within [low, high], else
    None. Python's int() also reads "²", "١٢" or "1_000": people and forms never mean those."""
    text = str(value).strip() if value is not None else ""
    digits = text[1:] if text.startswith("-") else text
    if not digits or len(digits) > 20 or not digits.isascii() or not digits.isdigit():
        return None
    number = int(text)
    return number if low <= number <= high else None


def parse_id(value: object) -> int | None:
    """A row's id from a path, query or form: None when it can't name a row (so: not found)."""
    return parse_int(value, low=1, high=MAX_ID)


def required_text(errors: dict[str, str], name: str, value: object, label: str, max_length: int,
                  multiline: bool = False) -> str:
    text = clean_text(value, max_length=max_length, multiline=multiline)
    if not text:
        errors[name] = f"{label} : ce champ est obligatoire."
    elif len(text) > max_length:
        errors[name] = f"{label} : {max_length} caractères au plus."
    return text[:max_length]


def email_address(errors: dict[str, str], name: str, value: object) -> str:
    email = clean_text(value, max_length=254).lower()
    if not _EMAIL.match(email) or len(email) > 254:
        errors[name] = "Adresse e-mail : saisissez une adresse valide, par exemple nom@ville.fr."
    return email


def french_date(errors: dict[str, str], name: str, value: object, label: str) -> dt.date | None:
    """Accepts the browser's date input (yyyy-mm-dd) and the French dd/mm/yyyy."""
    text = clean_text(value, max_length=20)
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    errors[name] = f"{label} : saisissez une date au format jj/mm/aaaa."
    return None


def number(errors: dict[str, str], name: str, value: object, label: str, low: float, high: float, *,
           required: bool = True, hint: str = "") -> float | None:
    """A decimal number (a comma is read as the decimal point) within [low, high]; None, and a
    French message in `errors`, when it is not one. Empty is None, an error only if `required`."""
    text = clean_text(value, max_length=40).replace(",", ".")
    if not text and not required:
        return None
    if not _DECIMAL.fullmatch(text):
        shown = f" : « {text[:20]} » n'est pas un nombre" if text else ""
        errors[name] = f"{label} : saisissez un nombre{hint}{shown}."
        return None
    result = float(text)
    if not math.isfinite(result) or not low <= result <= high:
        errors[name] = f"{label} : doit être compris entre {low:g} et {high:g}."
        return None
    return result


def coordinate(errors: dict[str, str], name: str, value: object, label: str, limit: float, *,
               required: bool = True) -> float | None:
    """A latitude (limit 90) or longitude (limit 180) in decimal degrees (WGS 84)."""
    return number(errors, name, value, label, -limit, limit, required=required,
                  hint=" (degrés décimaux, ex. 50.5636)")


def instant(errors: dict[str, str], name: str, value: object, label: str, *,
            bounded: bool = True) -> dt.datetime | None:
    """An ISO 8601 / W3C date-time, in UTC. Without an offset it is the site's time (clock).
    `bounded`: refused before 2000 or more than a day ahead of now (the date of a constat); else
    any date (a search filter). None, and a French message in `errors`, when refused; a date near
    the ends of the calendar (0001-01-01T00:00:00+14:00) is refused, never an OverflowError."""
    text = clean_text(value, max_length=60)
    if "T" in text:
        text = text.replace(" ", "+")  # a "+01:00" sent unencoded in a query string reads " 01:00"
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        errors[name] = f"{label} : format ISO 8601 attendu (ex. 2026-11-25T14:30:00+01:00)."
        return None
    try:
        result = clock.assume_local(parsed)
    except OverflowError:
        result = None
    if result is None:
        errors[name] = f"{label} : cette date est hors du calendrier."
        return None
    if bounded and not EARLIEST <= result <= clock.now() + AHEAD:
        errors[name] = f"{label} : la date doit être comprise entre l'an 2000 et demain."
        return None
    return result


# Thousands separators people type: spaces (also no-break and narrow no-break) and apostrophes.
_GROUPING = re.compile(r"[\s\u00a0\u202f']")
_UNSIGNED_DECIMAL = re.compile(r"\d+(?:\.\d*)?|\.\d+", re.ASCII)


def french_decimal(value: object) -> Decimal | None:
    """A number typed the French way ("1 234,50", "1.234,50", "-3,5") or the computer way
    ("1234.5", "1,234.50") as an exact Decimal (never through a float); None when it is not one
    (empty included). With both a comma and a point, the last one is the decimal separator. The
    actions' costs (actions.forms.parse_euros) and the bilan's indicators read numbers here."""
    text = _GROUPING.sub("", clean_text(value, max_length=40)).replace("\u2212", "-")
    sign = ""
    if text[:1] in ("-", "+"):
        sign, text = text[0], text[1:]
    if "," in text and "." in text:
        thousands = "." if text.rfind(",") > text.rfind(".") else ","
        text = text.replace(thousands, "")
    text = text.replace(",", ".")
    if not _UNSIGNED_DECIMAL.fullmatch(text):
        return None
    return Decimal(sign + text)
