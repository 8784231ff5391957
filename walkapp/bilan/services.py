"""Writing the bilan: an entered indicator's value, a neighbourhood's own indicator, the
committee's assessment of an enjeu. Each change is written with its BilanEvent rows (who, when,
which entry, which field, before, after) in the same transaction, as actions are with theirs, so
an entry and its history never disagree. Input is read here, with French messages by field;
nothing is written when one is refused."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from collections.abc import Mapping

from .. import clock, gusp
from ..db import lock_names, write_transaction
from ..errors import Conflict, Invalid, NotFound
from ..tables import Assessment, BilanEvent, IndicatorValue, LocalIndicator, StaffUser
from ..validation import clean_text, french_date, french_decimal, parse_id
from .queries import ASSESSMENT_PREFIX, Scope

# An indicator counts things, hours, places, percentages: a trillion of anything is a typo.
MAX_VALUE = Decimal("999999999999.99")  # Numeric(14, 2)
MAX_UNIT, MAX_SOURCE, MAX_NOTE, MAX_NAME, MAX_ASSESSMENT = 80, 200, 2000, 200, 8000
VALUE_FIELDS = ("value", "unit", "source", "measured_on", "note")


@dataclass
class ValueInput:
    """An entered indicator's form: as typed (`raw`) and as understood."""

    value: Decimal | None = None
    unit: str = ""
    source: str = ""
    measured_on: dt.date | None = None
    note: str = ""
    raw: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def _one(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name)
    if isinstance(value, (list, tuple)):
        value = value[0] if value else ""
    return str(value or "")[:10000]


def _text(errors: dict[str, str], name: str, raw: str, label: str, limit: int, multiline: bool = False) -> str:
    text = clean_text(raw, max_length=limit, multiline=multiline)
    if len(text) > limit:
        errors[name] = f"{label} : {limit} caractères au plus."
    return text[:limit]


def parse_value_form(form: Mapping[str, Any], indicator: gusp.Indicator | None, year: int) -> ValueInput:
    """Value (French or English notation, as actions' costs; empty clears it), unit, source,
    date of the measure, comment. Refused: what is not a number, a negative value where the
    indicator can't be negative, more than two decimals, an absurd size, a date of the measure
    before the year preceding the bilan's or after today."""
    data = ValueInput(raw={name: _one(form, name) for name in VALUE_FIELDS})
    errors = data.errors
    raw = data.raw["value"].strip()
    if raw:
        number = french_decimal(raw)
        if number is None:
            errors["value"] = "Valeur : saisissez un nombre, par exemple 37 ou 1 234,5."
        elif number < 0 and not (indicator and indicator.signed):
            errors["value"] = "Valeur : un nombre positif ou nul est attendu pour cet indicateur."
        elif number != number.quantize(Decimal("0.01")):
            errors["value"] = "Valeur : deux chiffres après la virgule au plus."
        elif abs(number) > MAX_VALUE:
            errors["value"] = "Valeur : ce nombre est trop grand pour un indicateur ; vérifiez la saisie."
        else:
            data.value = number.quantize(Decimal("0.01"))
    data.unit = _text(errors, "unit", data.raw["unit"], "Unité", MAX_UNIT)
    data.source = _text(errors, "source", data.raw["source"], "Source", MAX_SOURCE)
    data.note = _text(errors, "note", data.raw["note"], "Commentaire", MAX_NOTE, multiline=True)
    if data.raw["measured_on"].strip():
        measured = french_date(errors, "measured_on", data.raw["measured_on"], "Date de la mesure")
        if measured is not None and not dt.date(year - 1, 1, 1) <= measured <= clock.today():
            errors["measured_on"] = (f"Date de la mesure : entre le 01/01/{year - 1} et aujourd'hui "
                                     "(la mesure de l'année ou de sa préparation).")
        else:
            data.measured_on = measured
    return data


def _stored(value: Any) -> str:
    """How a value is kept in the history (as ActionEvent's: ISO dates, numbers to the cent)."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value.quantize(Decimal('0.01'))}"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


async def indicator_of(scope: Scope, code: str) -> tuple[gusp.Indicator | None, str]:
    """The entered indicator named `code` in this neighbourhood (the convention's, or one of
    its own "local.<id>"), and its label; a 404 in French for any other code (computed ones
    are not entered)."""
    indicator = gusp.convention_indicator(code)
    if indicator is not None:
        return indicator, indicator.label
    if code.startswith(gusp.LOCAL_PREFIX) and scope.neighbourhood is not None:
        local_id = parse_id(code.removeprefix(gusp.LOCAL_PREFIX))
        if local_id is not None:
            local = await LocalIndicator.select(LocalIndicator.name).where(
                (LocalIndicator.id == local_id) & (LocalIndicator.neighbourhood == scope.neighbourhood.id)).first()
            if local is not None:
                return None, local["name"]
    raise NotFound("Cet indicateur n'existe pas pour ce quartier (seuls les indicateurs saisis se modifient).")


def _event(scope: Scope, subject: str, user: StaffUser, name: str, before: Any, after: Any) -> BilanEvent:
    return BilanEvent(neighbourhood=scope.neighbourhood.id, year=scope.year, subject=subject, user=user.id,
                      field=name, before=_stored(before), after=_stored(after))


async def save_value(scope: Scope, code: str, data: ValueInput, user: StaffUser) -> int:
    """Writes the fields that change, each with its history row; returns how many changed."""
    if data.errors:
        raise Invalid(" ".join(data.errors.values()), fields=data.errors)
    hood = scope.neighbourhood.id
    async with write_transaction():
        await lock_names([f"bilan:{hood}:{scope.year}:{code}"])  # two first saves never both insert
        row = await IndicatorValue.objects().where((IndicatorValue.neighbourhood == hood)
                                                   & (IndicatorValue.year == scope.year)
                                                   & (IndicatorValue.indicator == code)).first()
        current = {name: getattr(row, name) if row else (None if name in ("value", "measured_on") else "")
                   for name in VALUE_FIELDS}
        if current["value"] is not None:
            current["value"] = Decimal(current["value"]).quantize(Decimal("0.01"))
        wanted = {name: getattr(data, name) for name in VALUE_FIELDS}
        changed = [name for name in VALUE_FIELDS if current[name] != wanted[name]]
        if not changed:
            return 0
        if row is None:
            row = IndicatorValue(neighbourhood=hood, year=scope.year, indicator=code, updated_by=user.id, **wanted)
            await row.save()
        else:
            await IndicatorValue.update({**{getattr(IndicatorValue, n): wanted[n] for n in changed},
                                         IndicatorValue.updated_by: user.id,
                                         IndicatorValue.updated_at: clock.now()}).where(IndicatorValue.id == row.id)
        for name in changed:
            await _event(scope, code, user, name, current[name], wanted[name]).save()
    return len(changed)


async def add_local_indicator(scope: Scope, form: Mapping[str, Any], user: StaffUser) -> int:
    """A neighbourhood's own indicator under an enjeu; returns its id."""
    errors: dict[str, str] = {}
    axe = _one(form, "enjeu").strip()
    if not gusp.is_code("issue", axe):
        errors["enjeu"] = "Enjeu : choisissez l'un des sept enjeux."
    name = _text(errors, "name", _one(form, "name"), "Nom de l'indicateur", MAX_NAME)
    if not name and "name" not in errors:
        errors["name"] = "Nom de l'indicateur : ce champ est obligatoire."
    if errors:
        raise Invalid(" ".join(errors.values()), fields=errors)
    hood = scope.neighbourhood.id
    async with write_transaction():
        await lock_names([f"bilan:{hood}:local"])
        existing = await LocalIndicator.select(LocalIndicator.name).where(
            (LocalIndicator.neighbourhood == hood) & (LocalIndicator.axe == axe))
        known = {gusp_name.lower() for gusp_name in (i.label for i in gusp.CONVENTION_INDICATORS.get(axe, ()))}
        if name.lower() in known | {r["name"].lower() for r in existing}:
            raise Conflict(f"L'indicateur « {name} » existe déjà pour cet enjeu.")
        local = LocalIndicator(neighbourhood=hood, axe=axe, name=name, created_by=user.id)
        await local.save()
        await _event(scope, f"{gusp.LOCAL_PREFIX}{local.id}", user, "created", "", name).save()
    return local.id


def parse_assessment(form: Mapping[str, Any]) -> tuple[str, dict[str, str]]:
    errors: dict[str, str] = {}
    text = _text(errors, "text", _one(form, "text"), "Appréciation du comité", MAX_ASSESSMENT, multiline=True)
    return text, errors


async def save_assessment(scope: Scope, axe: str, text: str, user: StaffUser) -> bool:
    """The committee's text for an enjeu of the year; True when it changed."""
    hood = scope.neighbourhood.id
    async with write_transaction():
        await lock_names([f"bilan:{hood}:{scope.year}:{ASSESSMENT_PREFIX}{axe}"])
        row = await Assessment.objects().where((Assessment.neighbourhood == hood) & (Assessment.year == scope.year)
                                               & (Assessment.axe == axe)).first()
        before = row.text if row else ""
        if before == text:
            return False
        if row is None:
            await Assessment(neighbourhood=hood, year=scope.year, axe=axe, text=text, updated_by=user.id).save()
        else:
            await Assessment.update({Assessment.text: text, Assessment.updated_by: user.id,
                                     Assessment.updated_at: clock.now()}).where(Assessment.id == row.id)
        await _event(scope, f"{ASSESSMENT_PREFIX}{axe}", user, "text", before, text).save()
    return True
