"""Cleaning what people type: one set of rules, used by forms, the API and the CLI."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

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


def coordinate(errors: dict[str, str], name: str, value: object, label: str, limit: float) -> float | None:
    text = clean_text(value, max_length=32).replace(",", ".")
    try:
        number = float(text)
    except ValueError:
        errors[name] = f"{label} : saisissez un nombre (degrés décimaux, ex. 50.5636)."
        return None
    if not -limit <= number <= limit or number != number:
        errors[name] = f"{label} : doit être compris entre -{limit:g} et {limit:g}."
        return None
    return number
