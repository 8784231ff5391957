"""The filters of the map, the matrix, the GeoJSON and the photo zip: one definition, read from a
query string, turned into a Piccolo `where`, and written back into links (so a shared URL shows
the same view)."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, NamedTuple
from collections.abc import Mapping

from piccolo.columns.combination import WhereRaw

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


# What the map, the matrix, the GeoJSON and the zip show when no status is asked for. Rejected
# constats and duplicates are not findings of the diagnosis: counting them would inflate the matrix
# (a duplicate twice) and put refused photos in the committee's files. They stay one choice away.
DEFAULT_STATUSES = ("new", "validated")
ALL_STATUSES = "all"  # `?status=all`: every status


class StatusChoice(NamedTuple):
    code: str  # the `status` value in the URL ("" = the default)
    label: str


def _normalised_statuses(raw: str) -> str | None:
    """`status` as kept in the filter: None for the default, "all", or codes in GUSP order joined
    by commas ("duplicate,rejected"). Raises ValueError for an unknown word."""
    if raw.lower() == ALL_STATUSES:
        return ALL_STATUSES
    asked = {part.strip() for part in raw.split(",") if part.strip()}
    if not asked or not all(gusp.is_code("observation_status", code) for code in asked):
        raise ValueError(raw)
    ordered = tuple(code for code in gusp.codes("observation_status") if code in asked)
    if set(ordered) == set(DEFAULT_STATUSES):
        return None  # the default view's link carries no status
    if len(ordered) == len(gusp.codes("observation_status")):
        return ALL_STATUSES
    return ",".join(ordered)


@dataclass(frozen=True)
class ObservationFilter(UrlFilter):
    walk: int | None = None
    neighbourhood: int | None = None
    issue: str | None = None
    angle: str | None = None
    polarity: str | None = None
    status: str | None = None  # None: DEFAULT_STATUSES; "all"; or codes joined by commas
    date_from: dt.date | None = None  # on the walk's date: a walk is one day of constats
    date_to: dt.date | None = None
    # `?revu=`: REVISITED_YES (constats re-visited by a follow-up walk), REVISITED_NO, or an
    # outcome code (those whose latest re-visit found that outcome). See revisited_where.
    revisited: str | None = None

    @classmethod
    def from_query(cls, params: Mapping[str, Any]) -> tuple[ObservationFilter, dict[str, str]]:
        """Reads `?walk=&neighbourhood=&issue=&angle=&polarity=&status=&du=&au=`. Unknown or
        malformed values are dropped with a French message, never an error page. `status` is one
        code, codes separated by commas, or "all"; absent, rejected constats and duplicates are left
        out."""
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
        for name, kind in (("issue", "issue"), ("angle", "angle"), ("polarity", "polarity")):
            raw = one(name)
            if raw:
                if gusp.is_code(kind, raw):
                    values[name] = raw
                else:
                    errors[name] = f"Filtre « {name} » ignoré : valeur inconnue."
        raw = one("status")
        if raw:
            try:
                values["status"] = _normalised_statuses(raw)
            except ValueError:
                errors["status"] = ("Filtre « status » ignoré : valeur inconnue (new, validated, duplicate, "
                                    "rejected, séparés par des virgules, ou all).")
        raw = one("revu")
        if raw:
            if raw in (REVISITED_YES, REVISITED_NO) or gusp.is_code("outcome", raw):
                values["revisited"] = raw
            else:
                errors["revisited"] = ("Filtre « revu » ignoré : valeur inconnue (oui, non, "
                                       f"{', '.join(gusp.codes('outcome'))}).")
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
        for name in ("issue", "angle", "polarity"):
            value = getattr(self, name)
            if value is not None:
                clauses.append(getattr(Observation, name) == value)
        if self.status != ALL_STATUSES:
            clauses.append(Observation.status.is_in(list(self.statuses)))
        if self.date_from is not None:
            clauses.append(Observation.walk.date >= self.date_from)
        if self.date_to is not None:
            clauses.append(Observation.walk.date <= self.date_to)
        if self.revisited is not None:
            clauses.append(revisited_where(self.revisited))
        return all_of(clauses)

    def within(self, visible: set[int] | None) -> ObservationFilter:
        """These filters for someone who sees only the walks `visible` (policy.visible_walk_ids;
        None: every walk): one of their walks, the one asked for if it is theirs."""
        if visible is not None and self.walk not in visible:
            return replace(self, walk=min(visible))
        return self

    @property
    def statuses(self) -> tuple[str, ...]:
        """The statuses shown, in GUSP order."""
        if self.status is None:
            return DEFAULT_STATUSES
        if self.status == ALL_STATUSES:
            return gusp.codes("observation_status")
        return tuple(self.status.split(","))

    def status_text(self) -> str:
        """The statuses shown, in French (the zip's LISEZMOI, the map's count)."""
        if self.status is None:
            return "Nouveau, Validé (par défaut : sans les constats rejetés ni les doublons)"
        if self.status == ALL_STATUSES:
            return "Tous, y compris les constats rejetés et les doublons"
        return ", ".join(gusp.label("observation_status", code) for code in self.statuses)

    def status_choices(self) -> list[StatusChoice]:
        """The options of the map's status filter; a combination typed in a URL is kept as one."""
        choices = [StatusChoice("", "Nouveaux et validés"),
                   *(StatusChoice(t.code, t.label) for t in gusp.OBSERVATION_STATUSES),
                   StatusChoice("duplicate,rejected", "Rejetés et doublons"),
                   StatusChoice(ALL_STATUSES, "Tous, y compris rejetés et doublons")]
        if self.status is not None and all(c.code != self.status for c in choices):
            choices.append(StatusChoice(self.status, self.status_text()))
        return choices

    def revisited_text(self) -> str:
        """The "revu" filter in French ("" when not set): the zip's LISEZMOI, the map."""
        return {None: "", REVISITED_YES: "revus lors d'une marche de suivi",
                REVISITED_NO: "pas encore revus"}.get(
            self.revisited, f"revus, dernière évolution : {gusp.label('outcome', self.revisited)}")

    def revisited_choices(self) -> list[StatusChoice]:
        """The options of the map's "Revus" filter."""
        return [StatusChoice("", "Tous"), StatusChoice(REVISITED_YES, "Revus (marche de suivi)"),
                *(StatusChoice(t.code, f"Revus : {t.label}") for t in gusp.OUTCOMES),
                StatusChoice(REVISITED_NO, "Pas encore revus")]

    def params(self) -> dict[str, str]:
        """The query-string form, without empty filters."""
        names = {"date_from": "du", "date_to": "au", "revisited": "revu"}
        result = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if value is not None:
                result[names.get(item.name, item.name)] = (
                    value.isoformat() if isinstance(value, dt.date) else str(value))
        return result


REVISITED_YES, REVISITED_NO = "oui", "non"

# The re-visits that count (walkapp.revisits.services.LIVE): those a view shows by default.
_LIVE_SQL = ", ".join(f"'{code}'" for code in DEFAULT_STATUSES)
_REVISITED = f"""observation.id IN (SELECT r.revisit_of FROM observation r
    WHERE r.revisit_of IS NOT NULL AND r.status IN ({_LIVE_SQL}))"""
# The latest live re-visit (a later walk, else a higher id: walkapp.revisits.services._later) has
# the outcome asked for.
_LATEST_OUTCOME = f"""observation.id IN (SELECT r.revisit_of FROM observation r JOIN walk rw ON rw.id = r.walk
    WHERE r.revisit_of IS NOT NULL AND r.status IN ({_LIVE_SQL}) AND r.outcome = {{}}
    AND NOT EXISTS (SELECT 1 FROM observation r2 JOIN walk rw2 ON rw2.id = r2.walk
        WHERE r2.revisit_of = r.revisit_of AND r2.status IN ({_LIVE_SQL})
        AND (rw2.date > rw.date OR (rw2.date = rw.date AND r2.id > r.id))))"""


def revisited_where(value: str) -> Any:
    """The "revu" filter as a condition on Observation (the main table of the query)."""
    if value == REVISITED_YES:
        return WhereRaw(_REVISITED)
    if value == REVISITED_NO:
        return WhereRaw(f"NOT ({_REVISITED})")
    return WhereRaw(_LATEST_OUTCOME, value)


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
