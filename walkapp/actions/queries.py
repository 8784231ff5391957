"""Reading the table: the filters of /actions (in the URL, so a shared link shows the same view),
the rows with their partners, constats and lateness, grouped by the seven axes, and the bilan.

Filtering happens here in Python, on all actions: a neighbourhood's convention has tens or hundreds
of actions, and "partner" must look into the JSON list of other partners, "walk" through the links
to constats — both awkward to say the same way in SQLite's and PostgreSQL's SQL.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any
from collections.abc import Mapping

from .. import clock, gusp
from ..observations.filters import UrlFilter, first_value
from ..tables import Action, ActionObservation, Neighbourhood, Observation
from ..validation import parse_id, parse_int
from .forms import format_euros
from .services import partner_ids, partner_names

DONE_STATES = ("realisee", "abandonnee")
_YES = ("1", "oui", "on", "true")


def is_late(deadline: dt.date | None, state: str, today: dt.date | None = None) -> bool:
    """Overdue: the échéance has passed and the action is neither réalisée nor abandonnée."""
    today = today or clock.today()
    return deadline is not None and deadline < today and state not in DONE_STATES


@dataclass(frozen=True)
class ActionFilter(UrlFilter):
    partner: int | None = None
    state: str | None = None
    late: bool = False
    walk: int | None = None
    neighbourhood: int | None = None
    year: int | None = None

    @classmethod
    def from_query(cls, params: Mapping[str, Any]) -> tuple[ActionFilter, dict[str, str]]:
        """Reads `?partner=&state=&late=1&walk=&neighbourhood=&year=`. A malformed value is dropped
        with a French message, never an error page."""
        errors: dict[str, str] = {}
        values: dict[str, Any] = {}

        def one(name: str) -> str:
            return first_value(params, name)

        labels = {"partner": "Partenaire", "walk": "Marche", "neighbourhood": "Quartier", "year": "Année"}
        for name, label in labels.items():
            raw = one(name)
            if raw:
                number = parse_int(raw, low=1901, high=2999) if name == "year" else parse_id(raw)
                if number is not None:
                    values[name] = number
                else:
                    errors[name] = f"Filtre « {label} » ignoré : valeur non reconnue."
        state = one("state")
        if state:
            if gusp.is_code("action_state", state):
                values["state"] = state
            else:
                errors["state"] = "Filtre « État d'avancement » ignoré : valeur inconnue."
        values["late"] = one("late").lower() in _YES
        return cls(**values), errors

    def params(self) -> dict[str, str]:
        result = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if value is True:
                result[item.name] = "1"
            elif value not in (None, False):
                result[item.name] = str(value)
        return result

    def keeps(self, row: dict[str, Any]) -> bool:
        if (self.partner is not None and self.partner != row["pilot_id"]
                and self.partner not in row["other_partner_ids"]):
            return False
        if self.state is not None and row["state"] != self.state:
            return False
        if self.late and not row["late"]:
            return False
        if self.walk is not None and self.walk not in row["walk_ids"]:
            return False
        if self.neighbourhood is not None and self.neighbourhood not in row["neighbourhood_ids"]:
            return False
        if self.year is not None and row["year"] != self.year:
            return False
        return True


def action_year(deadline: dt.date | None, created_at: dt.datetime | None) -> int | None:
    """The year an action counts in: its échéance's, or the year it was decided when it has none."""
    if deadline is not None:
        return deadline.year
    return clock.local(created_at).year if created_at else None


async def _links() -> dict[int, list[dict[str, Any]]]:
    rows = await ActionObservation.select(
        ActionObservation.action, ActionObservation.observation,
        ActionObservation.observation.walk.as_alias("walk"),
        ActionObservation.observation.walk.neighbourhood.as_alias("neighbourhood"),
    ).order_by(ActionObservation.observation)
    links: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        links[row["action"]].append(row)
    return links


async def action_rows(chosen: ActionFilter | None = None, today: dt.date | None = None,
                      action_id: int | None = None) -> list[dict[str, Any]]:
    """Every action (or one) as a row of the table, with what the filters and the views need."""
    today = today or clock.today()
    names = await partner_names()
    hoods = {h["id"]: h for h in await Neighbourhood.select(Neighbourhood.id, Neighbourhood.name,
                                                              Neighbourhood.qpv_code, Neighbourhood.town)}
    links = await _links()
    query = Action.select().order_by(Action.id)
    if action_id is not None:
        query = query.where(Action.id == action_id)
    rows = []
    for action in await query:
        others = partner_ids(action["other_partners"])
        linked = links.get(action["id"], [])
        cost = action["cost"]
        row = {
            **action,
            "cost": Decimal(cost).quantize(Decimal("0.01")) if cost is not None else None,
            "cost_text": format_euros(cost),
            "axe_label": gusp.label("issue", action["axe"]),
            "state_label": gusp.label("action_state", action["state"]),
            "responses": {t.code: bool(action[f"response_{t.code}"]) for t in gusp.RESPONSES},
            "response_labels": [t.label for t in gusp.RESPONSES if action[f"response_{t.code}"]],
            "pilot_id": action["pilot"], "pilot_name": names.get(action["pilot"], ""),
            "other_partner_ids": others, "other_partner_names": [names.get(p, "?") for p in others],
            "tfpb_label": gusp.label("tfpb", action["tfpb_heading"]) if action["tfpb_heading"] else "",
            "tfpb_line_label": gusp.label("tfpb_line", action["tfpb_line"]) if action["tfpb_line"] else "",
            "constat_ids": [link["observation"] for link in linked],
            "walk_ids": {link["walk"] for link in linked},
            "neighbourhood_ids": {action["neighbourhood"]} | {link["neighbourhood"] for link in linked},
            "neighbourhood_name": hoods[action["neighbourhood"]]["name"] if action["neighbourhood"] in hoods else "",
            "late": is_late(action["deadline"], action["state"], today),
            "year": action_year(action["deadline"], action["created_at"]),
        }
        if chosen is None or chosen.keeps(row):
            rows.append(row)
    return rows


def _sort_key(row: dict[str, Any]) -> tuple:
    return (row["deadline"] is None, row["deadline"] or dt.date.max, row["id"])


def by_axe(rows: list[dict[str, Any]]) -> list[tuple[gusp.Term, list[dict[str, Any]]]]:
    """The seven axes in the convention's order, each with its actions (soonest échéance first)."""
    groups: dict[str, list[dict[str, Any]]] = {t.code: [] for t in gusp.ISSUES}
    for row in rows:
        groups.setdefault(row["axe"], []).append(row)
    return [(term, sorted(groups[term.code], key=_sort_key)) for term in gusp.ISSUES]


def total_cost(rows: list[dict[str, Any]]) -> Decimal:
    return sum((row["cost"] for row in rows if row["cost"] is not None), Decimal("0.00"))


async def heading(chosen: ActionFilter, rows: list[dict[str, Any]]) -> dict[str, str]:
    """What the title of an export says: which neighbourhood, which period."""
    hood_ids = {chosen.neighbourhood} if chosen.neighbourhood else {r["neighbourhood"] for r in rows
                                                                    if r["neighbourhood"] is not None}
    hoods = await Neighbourhood.objects().where(Neighbourhood.id.is_in(list(hood_ids))) if hood_ids else []
    place = " ; ".join(f"{h.name} ({h.qpv_code}), {h.town}" for h in sorted(hoods, key=lambda h: h.name))
    if chosen.year:
        period = f"année {chosen.year}"
    else:
        created = [clock.local(r["created_at"]).date() for r in rows if r["created_at"]]
        dates = [r["deadline"] for r in rows if r["deadline"]] + created
        period = f"du {clock.date_text(min(dates))} au {clock.date_text(max(dates))}" if dates else "aucune action"
    return {"place": place or "Tous les quartiers", "period": period,
            "title": f"Tableau de suivi des actions engagées — {place or 'Tous les quartiers'} — {period}"}


# ---------------------------------------------------------------- the bilan for the committee

async def summary(chosen: ActionFilter, today: dt.date | None = None) -> dict[str, Any]:
    """Counts by axe and state, cost by pilot partner and by TFPB heading, and how many constats
    have at least one action."""
    rows = await action_rows(chosen, today)
    states = gusp.codes("action_state")
    counts = {t.code: {s: 0 for s in states} for t in gusp.ISSUES}
    for row in rows:
        counts.setdefault(row["axe"], {s: 0 for s in states})[row["state"]] += 1
    by_pilot: dict[str, Decimal] = defaultdict(lambda: Decimal("0.00"))
    pilot_counts: dict[str, int] = defaultdict(int)
    by_tfpb: dict[str, Decimal] = {t.code: Decimal("0.00") for t in gusp.TFPB_HEADINGS}
    tfpb_counts: dict[str, int] = defaultdict(int)
    for row in rows:
        pilot = row["pilot_name"] or ""
        by_pilot[pilot] += row["cost"] or 0
        pilot_counts[pilot] += 1
        key = row["tfpb_heading"] or ""
        by_tfpb[key] = by_tfpb.get(key, Decimal("0.00")) + (row["cost"] or 0)
        tfpb_counts[key] += 1
    pilots = sorted(by_pilot.items(), key=lambda item: (item[0] == "", -item[1], item[0]))
    return {
        "rows": rows, "counts": counts,
        "axe_totals": {code: sum(c.values()) for code, c in counts.items()},
        "state_totals": {s: sum(c[s] for c in counts.values()) for s in states},
        "late": sum(1 for r in rows if r["late"]), "total": len(rows), "total_cost": total_cost(rows),
        "by_pilot": [{"name": n, "cost": c, "count": pilot_counts[n]} for n, c in pilots],
        "by_tfpb": [{"code": code, "cost": cost, "count": tfpb_counts[code]} for code, cost in by_tfpb.items()],
        "coverage": await coverage(chosen),
    }


async def coverage(chosen: ActionFilter) -> dict[str, Any]:
    """Share of constats with an action, over the constats kept by the review (neither rejected nor
    duplicates), for all of them and for points faibles; scoped by walk, neighbourhood and year
    (the walk's) when those filters are set."""
    query = Observation.select(Observation.id, Observation.polarity).where(
        Observation.status.not_in(["rejected", "duplicate"]))
    if chosen.walk is not None:
        query = query.where(Observation.walk == chosen.walk)
    if chosen.neighbourhood is not None:
        query = query.where(Observation.walk.neighbourhood == chosen.neighbourhood)
    if chosen.year is not None:
        query = query.where((Observation.walk.date >= dt.date(chosen.year, 1, 1))
                            & (Observation.walk.date <= dt.date(chosen.year, 12, 31)))
    constats = await query
    with_action = {r["observation"] for r in await ActionObservation.select(ActionObservation.observation)}

    def share(items: list[dict[str, Any]]) -> dict[str, Any]:
        done = sum(1 for c in items if c["id"] in with_action)
        return {"with_action": done, "total": len(items), "percent": round(100 * done / len(items)) if items else 0}

    return {"all": share(constats), "negative": share([c for c in constats if c["polarity"] == "negative"])}
