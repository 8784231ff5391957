"""The filters of the map, the matrix, the GeoJSON and the photo zip: one definition, read from a
query string, turned into a Piccolo `where`, and written back into links (so a shared URL shows
the same view)."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, fields, replace
from typing import Any
from collections.abc import Mapping

from .. import gusp
from ..tables import Observation
from ..urls import query_string
from ..validation import parse_id


def first_value(params: Mapping[str, Any], name: str) -> str:
    """One query-string value, trimmed: the first when a name is repeated, "" when absent."""
    value = params.get(name)
    if isinstance(value, (list, tuple)):
        value = value[0] if value else ""
    return str(value or "").strip()


class UrlFilter:
    """What every set of filters kept in a URL shares (the map's, the actions table's): links
    with one filter changed, and whether any is set. Subclasses are frozen dataclasses that say
    how they write themselves in `params()`."""

    def params(self) -> dict[str, str]:
        raise NotImplementedError

    def query_string(self, **changes: Any) -> str:
        """`?…` for these filters with some changed (None removes one): links in a matrix, etc."""
        return query_string(replace(self, **changes).params())

    @property
    def is_empty(self) -> bool:
        return not any(asdict(self).values())


@dataclass(frozen=True)
class ObservationFilter(UrlFilter):
    walk: int | None = None
    neighbourhood: int | None = None
    issue: str | None = None
    angle: str | None = None
    polarity: str | None = None
    status: str | None = None
    date_from: dt.date | None = None  # on the walk's date: a walk is one day of constats
    date_to: dt.date | None = None

    @classmethod
    def from_query(cls, params: Mapping[str, Any]) -> tuple[ObservationFilter, dict[str, str]]:
        """Reads `?walk=&neighbourhood=&issue=&angle=&polarity=&status=&du=&au=`. Unknown or
        malformed values are dropped with a French message, never an error page."""
        errors: dict[str, str] = {}
        values: dict[str, Any] = {}

        def one(name: str) -> str:
            return first_value(params, name)

        for name in ("walk", "neighbourhood"):
            raw = one(name)
            if raw:
                number = parse_id(raw)  # a number that can't name a row is no filter either
                if number is not None:
                    values[name] = number
                else:
                    errors[name] = f"Filtre « {name} » ignoré : un numéro était attendu."
        for name, kind in (("issue", "issue"), ("angle", "angle"), ("polarity", "polarity"),
                           ("status", "observation_status")):
            raw = one(name)
            if raw:
                if gusp.is_code(kind, raw):
                    values[name] = raw
                else:
                    errors[name] = f"Filtre « {name} » ignoré : valeur inconnue."
        for name, key in (("date_from", "du"), ("date_to", "au")):
            raw = one(key)
            if raw:
                try:
                    values[name] = dt.date.fromisoformat(raw)
                except ValueError:
                    try:
                        values[name] = dt.datetime.strptime(raw, "%d/%m/%Y").date()
                    except ValueError:
                        errors[name] = "Filtre de date ignoré : format jj/mm/aaaa attendu."
        return cls(**values), errors

    def where(self):
        """The Piccolo condition for these filters, or None for "everything"."""
        clauses = []
        if self.walk is not None:
            clauses.append(Observation.walk == self.walk)
        if self.neighbourhood is not None:
            clauses.append(Observation.walk.neighbourhood == self.neighbourhood)
        for name in ("issue", "angle", "polarity", "status"):
            value = getattr(self, name)
            if value is not None:
                clauses.append(getattr(Observation, name) == value)
        if self.date_from is not None:
            clauses.append(Observation.walk.date >= self.date_from)
        if self.date_to is not None:
            clauses.append(Observation.walk.date <= self.date_to)
        return all_of(clauses)

    def params(self) -> dict[str, str]:
        """The query-string form, without empty filters."""
        names = {"date_from": "du", "date_to": "au"}
        result = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if value is not None:
                result[names.get(item.name, item.name)] = (
                    value.isoformat() if isinstance(value, dt.date) else str(value))
        return result


def all_of(clauses: list) -> Any:
    """The Piccolo AND of some conditions; None for none (no `where` at all)."""
    if not clauses:
        return None
    condition = clauses[0]
    for clause in clauses[1:]:
        condition = condition & clause
    return condition


def apply(query, condition):
    """`query.where(condition)` when there is a condition."""
    return query.where(condition) if condition is not None else query
