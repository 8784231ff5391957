"""Reading the bilan of a neighbourhood's year: the computed indicators (from constats and
actions), the entered ones (walkapp.bilan.services writes them), each beside the year before with
the change, and what each enjeu's section shows.

How the computed figures count (gusp.COMPUTED_INDICATORS says what each is called):
- constats: those of the neighbourhood's walks dated in the year, kept by the review (the map's
  default statuses, observations/filters.py: neither rejected nor duplicates), by issue;
- actions: those of the year (actions.queries.action_year: the échéance's year, else the year it
  was decided) answering the neighbourhood (its own, or one of its constats'), by axe, in their
  state of today (a late action of last year is still late now);
- median time to done: for actions réalisées, days from creation to the last change of state to
  « Réalisée » in the action's history; an action entered already réalisée has no such change
  and is left out (its delay is unknown, not zero).
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from collections.abc import Mapping

from .. import clock, gusp
from . import chart
from ..actions.forms import format_euros, format_number
from ..actions.queries import ActionFilter, action_rows, by_axe, total_cost
from ..errors import BadRequest, NotFound
from ..observations.filters import ObservationFilter, first_value
from ..tables import ActionEvent, Assessment, BilanEvent, IndicatorValue, LocalIndicator, Neighbourhood, Observation
from ..validation import parse_id, parse_int

FIRST_YEAR = 2000  # no GUSP convention of this app's kind before it
ENGAGED_STATES = ("en_cours", "realisee", "reportee")
NOT_COMPARABLE = "—"
ASSESSMENT_PREFIX = "appreciation."  # the subject of an assessment's history rows


# ---------------------------------------------------------------- which bilan: ?annee=&quartier=

@dataclass(frozen=True)
class Scope:
    year: int
    neighbourhood: Neighbourhood | None  # None: several neighbourhoods and none chosen (or none at all)
    neighbourhoods: list[Neighbourhood] = field(default_factory=list)

    @property
    def previous(self) -> int:
        return self.year - 1

    def query(self) -> dict[str, Any]:
        """The query string of this bilan's URLs."""
        return {"annee": self.year, "quartier": self.neighbourhood.id if self.neighbourhood else None}


def last_year() -> int:
    """The latest year a bilan may be asked for: next year's, prepared in December."""
    return clock.today().year + 1


async def scope_from_query(params: Mapping[str, Any]) -> Scope:
    """`?annee=YYYY&quartier=ID`: the year defaults to the current one (site zone), the
    neighbourhood to the only one when there is one. A year or a neighbourhood that is not a
    number, or out of range, is a French 400; an unknown neighbourhood a 404."""
    hoods = list(await Neighbourhood.objects().order_by(Neighbourhood.name))
    raw_year = first_value(params, "annee")
    year = clock.today().year
    if raw_year:
        parsed = parse_int(raw_year, low=FIRST_YEAR, high=last_year())
        if parsed is None:
            raise BadRequest(f"Année : saisissez une année entre {FIRST_YEAR} et {last_year()}, par exemple "
                             f"{clock.today().year}.")
        year = parsed
    raw_hood = first_value(params, "quartier")
    chosen = None
    if raw_hood:
        hood_id = parse_id(raw_hood)
        if hood_id is None:
            raise BadRequest("Quartier : choisissez un quartier de la liste (un numéro était attendu).")
        chosen = next((h for h in hoods if h.id == hood_id), None)
        if chosen is None:
            raise NotFound("Ce quartier n'existe pas.")
    elif len(hoods) == 1:
        chosen = hoods[0]
    return Scope(year, chosen, hoods)


# ---------------------------------------------------------------- computed figures

def _year_bounds(year: int) -> tuple[dt.date, dt.date]:
    return dt.date(year, 1, 1), dt.date(year, 12, 31)


async def _constats(hood_id: int, year: int) -> list[dict[str, Any]]:
    start, end = _year_bounds(year)
    condition = ObservationFilter(neighbourhood=hood_id, date_from=start, date_to=end).where()
    # A re-visit is a constat, but it says how an earlier one went, not a new finding: it is counted
    # by revisit_outcomes, not here.
    return await Observation.select(Observation.id, Observation.issue, Observation.polarity).where(
        condition & Observation.revisit_of.is_null())


async def _done_at(action_ids: list[int]) -> dict[int, dt.datetime]:
    """When each action last became « Réalisée », from its history."""
    if not action_ids:
        return {}
    rows = await ActionEvent.select(ActionEvent.action, ActionEvent.at).where(
        ActionEvent.action.is_in(action_ids) & (ActionEvent.field == "state") & (ActionEvent.after == "realisee"))
    done: dict[int, dt.datetime] = {}
    for row in rows:
        at = clock.as_utc(row["at"])
        if row["action"] not in done or at > done[row["action"]]:
            done[row["action"]] = at
    return done


def median_days(rows: list[dict[str, Any]], done_at: Mapping[int, dt.datetime]) -> Decimal | None:
    """The median number of days from creation to « Réalisée » of the réalisée actions among
    `rows` whose history says when; None when there is none. Days counted in the site's zone."""
    days = []
    for row in rows:
        if row["state"] == "realisee" and row["id"] in done_at and row["created_at"]:
            days.append((clock.local(done_at[row["id"]]).date() - clock.local(row["created_at"]).date()).days)
    return Decimal(str(statistics.median(days))) if days else None


async def revisit_outcomes(hood_id: int, year: int) -> dict[str, int]:
    """Re-visits by issue, made on the neighbourhood's walks of the year (the map's default
    statuses: the review's rejected ones and duplicates do not count) that found the earlier
    constat « Résolu » or « Amélioré »: {issue: count}, 0 for an issue without one."""
    start, end = _year_bounds(year)
    condition = ObservationFilter(neighbourhood=hood_id, date_from=start, date_to=end).where()
    rows = await Observation.select(Observation.issue).where(
        condition & Observation.revisit_of.is_not_null() & Observation.outcome.is_in(list(gusp.IMPROVED_OUTCOMES)))
    found = Counter(r["issue"] for r in rows)
    return {term.code: found.get(term.code, 0) for term in gusp.ISSUES}


async def computed(hood_id: int, year: int, today: dt.date | None = None) -> dict[str, Any]:
    """Every computed indicator of every enjeu for one neighbourhood and year:
    {"values": {issue: {code: value}}, "actions": {issue: [rows]}, "states": {issue: {state: n}}}."""
    constats = await _constats(hood_id, year)
    rows = await action_rows(ActionFilter(neighbourhood=hood_id, year=year), today)
    done = await _done_at([r["id"] for r in rows if r["state"] == "realisee"])
    revisits = await revisit_outcomes(hood_id, year)
    values: dict[str, dict[str, Any]] = {}
    states: dict[str, dict[str, int]] = {}
    grouped = dict((term.code, group) for term, group in by_axe(rows))
    for term in gusp.ISSUES:
        mine = [c for c in constats if c["issue"] == term.code]
        group = grouped.get(term.code, [])
        values[term.code] = {
            "constats": len(mine),
            "faibles": sum(1 for c in mine if c["polarity"] == "negative"),
            "forts": sum(1 for c in mine if c["polarity"] == "positive"),
            "actions": len(group),
            "engagees": sum(1 for r in group if r["state"] in ENGAGED_STATES),
            "realisees": sum(1 for r in group if r["state"] == "realisee"),
            "en_retard": sum(1 for r in group if r["late"]),
            "abandonnees": sum(1 for r in group if r["state"] == "abandonnee"),
            "cout": total_cost(group),
            "delai_median": median_days(group, done),
            "revisites_ameliores": revisits[term.code],
        }
        states[term.code] = {s.code: sum(1 for r in group if r["state"] == s.code) for s in gusp.ACTION_STATES}
    return {"values": values, "actions": grouped, "states": states}


# ---------------------------------------------------------------- entered figures

async def local_indicators(hood_id: int) -> list[dict[str, Any]]:
    return await LocalIndicator.select().where(LocalIndicator.neighbourhood == hood_id).order_by(LocalIndicator.id)


async def entered(hood_id: int, year: int) -> dict[str, dict[str, Any]]:
    """The entered values of a neighbourhood's year, by indicator code."""
    rows = await IndicatorValue.select(IndicatorValue.all_columns(), IndicatorValue.updated_by.display_name.as_alias(
        "who")).where((IndicatorValue.neighbourhood == hood_id) & (IndicatorValue.year == year))
    for row in rows:
        if row["value"] is not None:
            row["value"] = Decimal(row["value"]).quantize(Decimal("0.01"))
    return {row["indicator"]: row for row in rows}


async def assessments(hood_id: int, year: int) -> dict[str, dict[str, Any]]:
    rows = await Assessment.select(Assessment.all_columns(), Assessment.updated_by.display_name.as_alias("who")).where(
        (Assessment.neighbourhood == hood_id) & (Assessment.year == year))
    return {row["axe"]: row for row in rows}


# ---------------------------------------------------------------- a row of the table: year before, year, change

def shown_value(value: Any, unit: str) -> str:
    """A figure in French: euros as money, other numbers with a decimal comma; "" for none."""
    if value is None:
        return ""
    if unit == "€":
        return format_euros(value)
    return format_number(value)


def change(last: Any, this: Any, last_unit: str = "", this_unit: str = "") -> dict[str, Any]:
    """This year against the year before: the difference and its percentage. Not comparable
    ("—") when either year has no figure or the units differ; no percentage from zero."""
    if last is None or this is None or (last_unit or "").strip().lower() != (this_unit or "").strip().lower():
        reason = "unités différentes" if last is not None and this is not None else "pas de valeur à comparer"
        return {"absolute": None, "percent": None, "text": NOT_COMPARABLE, "percent_text": NOT_COMPARABLE,
                "reason": reason}
    absolute = Decimal(str(this)) - Decimal(str(last))
    percent = (absolute * 100 / Decimal(str(last))).quantize(Decimal("0.1")) if last else None
    sign = "+" if absolute > 0 else ""
    text = sign + (format_euros(absolute) if this_unit == "€" else format_number(absolute))
    percent_text = f"{'+' if percent and percent > 0 else ''}{format_number(percent, 1)}\u00a0%" \
        if percent is not None else NOT_COMPARABLE
    return {"absolute": absolute, "percent": percent, "text": text, "percent_text": percent_text,
            "reason": "" if percent is not None else "pas de pourcentage depuis zéro"}


def _entry(value: Any, unit: str, source: str = "", row: Mapping[str, Any] | None = None) -> dict[str, Any]:
    row = row or {}
    return {"value": value, "text": shown_value(value, unit), "unit": unit, "source": source,
            "measured_on": row.get("measured_on"), "note": row.get("note", ""), "who": row.get("who"),
            "updated_at": row.get("updated_at")}


def _computed_row(indicator: gusp.Indicator, last: Any, this: Any) -> dict[str, Any]:
    return {"key": indicator.code, "label": indicator.label, "kind": gusp.COMPUTED,
            "description": indicator.description, "indicator": indicator,
            "last": _entry(last, indicator.unit, indicator.source), "this": _entry(this, indicator.unit,
                                                                                   indicator.source),
            "change": change(last, this, indicator.unit, indicator.unit)}


def _entered_row(key: str, label: str, description: str, indicator: gusp.Indicator | None,
                 last: Mapping[str, Any] | None, this: Mapping[str, Any] | None) -> dict[str, Any]:
    def entry(row: Mapping[str, Any] | None) -> dict[str, Any]:
        row = row or {}
        return _entry(row.get("value"), row.get("unit", ""), row.get("source", ""), row)

    before, now = entry(last), entry(this)
    return {"key": key, "label": label, "kind": gusp.ENTERED, "description": description, "indicator": indicator,
            "last": before, "this": now, "change": change(before["value"], now["value"], before["unit"],
                                                          now["unit"]),
            "example_unit": indicator.unit if indicator else ""}


# ---------------------------------------------------------------- the whole bilan

async def bilan(scope: Scope, today: dt.date | None = None) -> dict[str, Any]:
    """Everything the page, the XLSX and the PDF show, per enjeu in the convention's order."""
    hood = scope.neighbourhood
    if hood is None:
        return {"enjeux": [], "history": []}
    now, before = await computed(hood.id, scope.year, today), await computed(hood.id, scope.previous, today)
    values, previous_values = await entered(hood.id, scope.year), await entered(hood.id, scope.previous)
    notes = await assessments(hood.id, scope.year)
    locals_ = await local_indicators(hood.id)
    enjeux = []
    for term in gusp.ISSUES:
        rows = [_computed_row(i, before["values"][term.code][i.code], now["values"][term.code][i.code])
                for i in gusp.COMPUTED_INDICATORS]
        for indicator in gusp.CONVENTION_INDICATORS.get(term.code, ()):
            rows.append(_entered_row(indicator.code, indicator.label, indicator.description, indicator,
                                     previous_values.get(indicator.code), values.get(indicator.code)))
        for local in (li for li in locals_ if li["axe"] == term.code):
            key = f"{gusp.LOCAL_PREFIX}{local['id']}"
            rows.append(_entered_row(key, local["name"], "Indicateur propre au quartier.", None,
                                     previous_values.get(key), values.get(key)))
        note = notes.get(term.code)
        enjeux.append({
            "term": term, "objectives": gusp.OBJECTIVES.get(term.code, ()), "rows": rows,
            "computed": [r for r in rows if r["kind"] == gusp.COMPUTED],
            "entered": [r for r in rows if r["kind"] == gusp.ENTERED],
            "chart": (bars := chart_data(term, scope, before, now)),
            "chart_svg": chart.svg(f"chart-{term.code}", f"{term.short} : constats et actions", bars, scope.year),
            "assessment": {"text": note["text"] if note else "", "who": note["who"] if note else None,
                           "updated_at": note["updated_at"] if note else None},
            "actions": now["actions"].get(term.code, []),
        })
    return {"enjeux": enjeux, "history": await history(hood.id, scope.year),
            "totals": totals(now, before)}


def totals(now: Mapping[str, Any], before: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The summary line of the bilan: the computed figures summed over the seven enjeux."""
    summed = []
    for indicator in gusp.COMPUTED_INDICATORS:
        if indicator.code == "delai_median":
            continue  # a median does not add up
        this = sum((now["values"][t.code][indicator.code] for t in gusp.ISSUES), Decimal(0) if indicator.unit == "€"
                   else 0)
        last = sum((before["values"][t.code][indicator.code] for t in gusp.ISSUES), Decimal(0)
                   if indicator.unit == "€" else 0)
        summed.append(_computed_row(indicator, last, this))
    return summed


def chart_data(term: gusp.Term, scope: Scope, before: Mapping[str, Any], now: Mapping[str, Any]) -> list[dict]:
    """The bars of an enjeu's chart: points faibles and forts, then actions by state, each with
    the year before and the year."""
    bars = []
    for code, polarity in (("faibles", "negative"), ("forts", "positive")):
        kind = gusp.term("polarity", polarity)
        bars.append({"label": kind.label, "colour": kind.colour, "unit": "constats",
                     "last": before["values"][term.code][code], "this": now["values"][term.code][code]})
    for state in gusp.ACTION_STATES:
        bars.append({"label": f"Actions « {state.label} »", "colour": state.colour, "unit": "actions",
                     "last": before["states"][term.code][state.code], "this": now["states"][term.code][state.code]})
    return bars


# ---------------------------------------------------------------- history

FIELD_LABELS = {"value": "Valeur", "unit": "Unité", "source": "Source", "measured_on": "Date de la mesure",
                "note": "Commentaire", "text": "Appréciation du comité", "created": "Création de l'indicateur"}


def subject_label(subject: str, local_names: Mapping[int, str]) -> str:
    """What a history row is about, in French."""
    if subject.startswith(ASSESSMENT_PREFIX):
        term = gusp.term("issue", subject.removeprefix(ASSESSMENT_PREFIX))
        return f"Appréciation du comité : {term.short if term else subject}"
    if subject.startswith(gusp.LOCAL_PREFIX):
        number = parse_id(subject.removeprefix(gusp.LOCAL_PREFIX))
        return local_names.get(number or 0, "Indicateur du quartier (supprimé)")
    indicator = gusp.convention_indicator(subject)
    return indicator.label if indicator else subject


def readable(field_name: str, value: str) -> str:
    if not value:
        return ""
    if field_name == "value":
        try:
            return format_number(Decimal(value))
        except ArithmeticError:
            return value
    if field_name == "measured_on":
        try:
            return clock.date_text(dt.date.fromisoformat(value))
        except ValueError:
            return value
    return value


async def history(hood_id: int, year: int) -> list[dict[str, Any]]:
    """The changes of a neighbourhood's bilan of that year, newest first, in words."""
    rows = await BilanEvent.select(BilanEvent.all_columns(), BilanEvent.user.display_name.as_alias("who")).where(
        (BilanEvent.neighbourhood == hood_id) & (BilanEvent.year == year)).order_by(
        BilanEvent.at, ascending=False).order_by(BilanEvent.id, ascending=False)
    names = {row["id"]: row["name"] for row in await local_indicators(hood_id)}
    for row in rows:
        row["subject_label"] = subject_label(row["subject"], names)
        row["field_label"] = FIELD_LABELS.get(row["field"], row["field"])
        row["before"] = readable(row["field"], row["before"])
        row["after"] = readable(row["field"], row["after"])
    return rows
