"""Reading an action's form: French messages by field, nothing half-accepted.

Why the money parser: people type euros the French way ("1 234,50", "1 234,50 €") or the
computer way ("1234.5"); the amount is kept as a Decimal to the cent and never goes through a float.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from collections.abc import Mapping

from .. import gusp
from ..validation import clean_text, french_date, french_decimal, parse_id

# Longest texts accepted, by field (Annexe 2 cells stay readable; a constat list can be long).
MAX_LENGTHS = {"problem": 2000, "finding": 8000, "actions": 4000, "delay_causes": 2000,
               "evaluation": 4000, "comment": 4000}
MAX_COST = Decimal("9999999999.99")  # Numeric(12, 2)
CENT = Decimal("0.01")
_SPACES = re.compile(r"[\s\u00a0\u202f']")
RESPONSE_FIELDS = tuple(f"response_{t.code}" for t in gusp.RESPONSES)


def field_label(name: str) -> str:
    """The French label of a field of the action, from walkapp.gusp."""
    if name.startswith("response_"):
        return gusp.label("response", name.removeprefix("response_"))
    for kind in ("annexe2", "action_field"):
        found = gusp.term(kind, name)
        if found:
            return found.label
    return name


@dataclass
class ActionInput:
    """What the form holds, as typed (`raw`) and as understood (the typed attributes)."""

    axe: str = ""
    neighbourhood: int | None = None
    problem: str = ""
    finding: str = ""
    actions: str = ""
    response_gestion: bool = False
    response_usage: bool = False
    response_conception: bool = False
    pilot: int | None = None
    other_partners: list[int] = field(default_factory=list)
    deadline: dt.date | None = None
    state: str = "a_engager"
    cost: Decimal | None = None
    delay_causes: str = ""
    evaluation: str = ""
    comment: str = ""
    tfpb_heading: str | None = None
    tfpb_line: str | None = None
    constats: list[int] = field(default_factory=list)
    raw: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def values(self, names: frozenset[str] | set[str]) -> dict[str, Any]:
        return {name: getattr(self, name) for name in sorted(names)}


def parse_euros(errors: dict[str, str], name: str, value: object, *, label: str = "",
                maximum: Decimal = MAX_COST) -> Decimal | None:
    """"1 234,50", "1234.5", "1.234,50 €" → Decimal("1234.50"); empty → None. The one reading of an
    amount in euros (actions' costs, the TFPB programme): never negative, at most `maximum`."""
    text = _SPACES.sub("", clean_text(value, max_length=40)).removesuffix("€").removesuffix("EUR")
    if not text:
        return None
    label = label or field_label(name)
    if text.startswith(("-", "\u2212")) and len(text) > 1:
        errors[name] = f"{label} : un montant ne peut pas être négatif."
        return None
    amount = None if text.startswith("+") else french_decimal(text)  # the one number reader
    if amount is None:
        errors[name] = f"{label} : saisissez un montant en euros, par exemple 1 234,50."
        return None
    if amount != amount.quantize(CENT, rounding=ROUND_HALF_UP):
        errors[name] = f"{label} : au centime près (deux chiffres après la virgule au plus)."
        return None
    if amount > maximum:
        errors[name] = f"{label} : montant trop grand (au plus {format_euros(maximum)})."
        return None
    return amount.quantize(CENT)


def format_number(value: Decimal | int | float | None, places: int | None = None) -> str:
    """1234.5 → "1 234,5" (French: narrow no-break space between thousands, decimal comma);
    trailing zeros dropped unless `places` is given. "" for nothing."""
    if value is None:
        return ""
    number = Decimal(str(value))
    if places is not None:
        text = f"{number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP):,.{places}f}"
    else:
        number = number.normalize() if number != number.to_integral_value() else number.to_integral_value()
        text = f"{number:,f}"
    return text.replace(",", "\u202f").replace(".", ",")


def format_euros(amount: Decimal | None, unit: bool = True) -> str:
    """1234.5 → "1 234,50 €" (a narrow no-break space between thousands, as French typography)."""
    if amount is None:
        return ""
    text = f"{Decimal(amount).quantize(CENT):,.2f}".replace(",", "\u202f").replace(".", ",")
    return f"{text}\u00a0€" if unit else text


def parse_ids(value: object) -> list[int]:
    """"12, 13 14" → [12, 13, 14]: the constats of a selection (unknown ones are checked later)."""
    seen: list[int] = []
    for part in re.split(r"[\s,;]+", str(value or "")):
        number = parse_id(part.strip().lstrip("n°").strip())
        if number is not None and number not in seen:
            seen.append(number)
    return seen[:500]


def _one(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name)
    if isinstance(value, (list, tuple)):
        value = value[0] if value else ""
    return str(value or "")


def _all(form: Any, name: str) -> list[str]:
    if hasattr(form, "getall"):
        return [str(v) for v in form.getall(name, [])]
    value = form.get(name)
    return [str(v) for v in value] if isinstance(value, (list, tuple)) else ([str(value)] if value else [])


def _optional_id(errors: dict[str, str], name: str, raw: str, known: set[int]) -> int | None:
    raw = raw.strip()
    if not raw:
        return None
    number = parse_id(raw)
    if number in known:
        return number
    errors[name] = f"{field_label(name)} : choisissez dans la liste."
    return None


def parse_action_form(form: Any, names: frozenset[str], partners: set[int], neighbourhoods: set[int]) -> ActionInput:
    """Reads the fields in `names` (what this user may change); the others are left untouched
    however they were posted. `partners`, `neighbourhoods`: the ids that exist."""
    data = ActionInput()
    errors = data.errors
    data.raw = {key: _one(form, key)[:10000] for key in names | {"constats"}}
    if "axe" in names:
        data.axe = data.raw["axe"].strip()
        if not gusp.is_code("issue", data.axe):
            errors["axe"] = f"{field_label('axe')} : choisissez l'un des sept axes."
    if "neighbourhood" in names:
        data.neighbourhood = _optional_id(errors, "neighbourhood", data.raw["neighbourhood"], neighbourhoods)
    for name, limit in MAX_LENGTHS.items():
        if name in names:
            text = clean_text(data.raw[name], max_length=limit, multiline=True)
            if len(text) > limit:
                errors[name] = f"{field_label(name)} : {limit} caractères au plus."
            setattr(data, name, text[:limit])
    if "problem" in names and not data.problem:
        errors["problem"] = f"{field_label('problem')} : ce champ est obligatoire."
    for name in RESPONSE_FIELDS:
        if name in names:
            setattr(data, name, data.raw[name].strip().lower() in ("1", "on", "true", "oui"))
    if "pilot" in names:
        data.pilot = _optional_id(errors, "pilot", data.raw["pilot"], partners)
    if "other_partners" in names:
        chosen = []
        for raw in _all(form, "other_partners"):
            partner = _optional_id(errors, "other_partners", raw, partners)
            if partner is not None and partner not in chosen and partner != data.pilot:
                chosen.append(partner)
        data.other_partners = chosen
    if "deadline" in names and data.raw["deadline"].strip():
        data.deadline = french_date(errors, "deadline", data.raw["deadline"], field_label("deadline"))
    if "state" in names:
        data.state = data.raw["state"].strip()
        if not gusp.is_code("action_state", data.state):
            errors["state"] = f"{field_label('state')} : choisissez un état de la liste."
    if "cost" in names:
        data.cost = parse_euros(errors, "cost", data.raw["cost"])
    if "tfpb_line" in names or "tfpb_heading" in names:
        # One choice: a line of Annexe 1 ("3.2", its heading follows) or a heading alone ("3").
        choice = data.raw.get("tfpb_line", "").strip() or data.raw.get("tfpb_heading", "").strip()
        line = gusp.term("tfpb_line", choice)
        if line is not None:
            data.tfpb_line, data.tfpb_heading = line.code, line.short
        elif gusp.is_code("tfpb", choice) or not choice:
            data.tfpb_line, data.tfpb_heading = None, choice or None
        else:
            errors["tfpb_line"] = f"{field_label('tfpb_line')} : choisissez une ligne de la liste."
    data.constats = parse_ids(data.raw.get("constats"))
    return data


def require_cause_when_reported(data: ActionInput, current_causes: str = "") -> None:
    """"Reportée" needs its cause: the comité asks why an action slipped."""
    causes = data.delay_causes if "delay_causes" in data.raw else current_causes
    if data.state == "reportee" and not causes.strip():
        data.errors["delay_causes"] = (f"{field_label('delay_causes')} : indiquez pourquoi l'action est reportée "
                                       "(obligatoire quand l'état est « Reportée »).")
