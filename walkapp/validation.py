"""Cleaning what people type: one set of rules, used by forms, the API and the CLI."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

# Control characters (but tab and newline in long texts) never belong in a name or a comment.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def clean_text(value: object, *, max_length: int, multiline: bool = False) -> str:
    """Trimmed, NFC-normalised text without control characters. HTML is kept as typed: it is
    escaped where it is shown, never stripped here (a resident may well write "<" or "&")."""
    text = unicodedata.normalize("NFC", str(value or ""))
    text = _CONTROL.sub("", text)
    if not multiline:
        text = " ".join(text.split())
    return text.strip()[: max_length + 1]


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
