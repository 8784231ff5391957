"""The follow-up walk (marche de suivi): re-visits of earlier constats, and what is read from them.

A re-visit is a constat like any other (same write path: observations.services.record, same
outbox on the phone, same client_uuid idempotency), with `revisit_of` (the earlier constat) and
`outcome` (Résolu / Amélioré / Inchangé / Dégradé, walkapp.gusp.OUTCOMES). Rules, in one place:

- What may be re-visited (`prepare`): a constat of another, earlier or same-day walk of the same
  neighbourhood, not rejected. A duplicate is re-visited as its original (the linking rule of
  actions.services.sort_constats). The re-visit's issue, angle and polarity default to the
  earlier constat's.
- Which re-visits count (`LIVE`): new and validated ones, as every view shows by default; a
  rejected or duplicate re-visit says nothing about the place.
- The latest re-visit of a constat (its outcome colours the map, filters "revus"): the one of
  the latest walk, then the latest recorded (highest id). observations.filters.revisited_where
  says the same in SQL; tests/test_revisits.py holds both to it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from .. import clock, gusp
from ..errors import Conflict, Invalid
from ..observations.filters import DEFAULT_STATUSES
from ..tables import ActionObservation, Observation, Photo, Stop, Walk

LIVE = DEFAULT_STATUSES  # the re-visits that count
_BATCH = 500  # ids per IN (...) query


def _batches(ids: list[int]):
    for start in range(0, len(ids), _BATCH):
        yield ids[start:start + _BATCH]


def _revisit_error(message: str) -> Invalid:
    return Invalid(f"Constat revu : {message}", fields={"revisit_of": f"Constat revu : {message}"})


# ---------------------------------------------------------------- recording a re-visit

async def prepare(walk: Walk, data: Any) -> None:
    """Checks the re-visit of an ObservationInput going into `walk` and completes it: the
    earlier constat a duplicate stands for, its issue, angle and polarity where none was sent.
    Raises a French 422 (unknown constat, another neighbourhood, the same walk, a later walk) or
    409 (a rejected constat); writes nothing. A constat without `revisit_of` is left as it is."""
    if data.revisit_of is None:
        return
    from ..actions.services import sort_constats  # the one rule of duplicates and rejections

    sorted_ = await sort_constats([data.revisit_of])
    if sorted_.unknown:
        raise _revisit_error(f"le constat n° {data.revisit_of} n'existe pas.")
    if sorted_.rejected:
        raise Conflict(f"Constat revu : le constat n° {data.revisit_of} a été rejeté, il ne se revoit pas.",
                       code="revisit_rejected")
    target = sorted_.ids[0]
    earlier = await Observation.select(
        Observation.id, Observation.issue, Observation.angle, Observation.polarity, Observation.walk,
        Observation.walk.neighbourhood.as_alias("neighbourhood"), Observation.walk.date.as_alias("walk_date"),
    ).where(Observation.id == target).first()
    walk_hood = getattr(walk.neighbourhood, "id", walk.neighbourhood)
    if earlier["walk"] == walk.id:
        raise _revisit_error(f"le constat n° {target} est de cette marche-ci : on revoit le constat d'une "
                             "marche précédente.")
    if earlier["neighbourhood"] != walk_hood:
        raise _revisit_error(f"le constat n° {target} est d'un autre quartier que cette marche.")
    if earlier["walk_date"] > walk.date:
        raise _revisit_error(f"le constat n° {target} vient d'une marche postérieure à celle-ci.")
    data.revisit_of = target
    for name in ("issue", "angle", "polarity"):
        if getattr(data, name) is None:
            setattr(data, name, earlier[name])


# ---------------------------------------------------------------- the latest outcome of each constat

def _later(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Is re-visit `a` later than `b`: a later walk, else recorded later (a higher id)."""
    return (a["walk_date"], a["id"]) > (b["walk_date"], b["id"])


async def _live_revisits(targets: list[int] | None = None, walk_id: int | None = None,
                         ids: list[int] | None = None) -> list[dict[str, Any]]:
    """The live re-visits: of `targets` (the constats they revisit), or among `ids` (the re-visits
    themselves), or all of them."""
    query = Observation.select(
        Observation.id, Observation.revisit_of, Observation.outcome, Observation.walk,
        Observation.walk.date.as_alias("walk_date"), Observation.observed_at, Observation.received_at,
    ).where(Observation.revisit_of.is_not_null() & Observation.status.is_in(list(LIVE)))
    if walk_id is not None:
        query = query.where(Observation.walk == walk_id)
    if targets is None and ids is None:
        return await query
    column = Observation.revisit_of if ids is None else Observation.id
    rows: list[dict[str, Any]] = []
    for batch in _batches(sorted(set(targets if ids is None else ids))):
        rows += await query.where(column.is_in(batch))
    return rows


async def latest_outcomes(targets: list[int] | None = None, walk_id: int | None = None) -> dict[int, dict[str, Any]]:
    """{earlier constat id: its latest live re-visit (id, outcome, walk, walk_date)}; all re-visited
    constats when `targets` is None (re-visits are few: one query), or only those of `walk_id`."""
    return _latest(await _live_revisits(targets, walk_id))


def _latest(revisits: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    latest: dict[int, dict[str, Any]] = {}
    for row in revisits:
        seen = latest.get(row["revisit_of"])
        if seen is None or _later(row, seen):
            latest[row["revisit_of"]] = row
    return latest


async def map_outcomes(ids: list[int] | None = None) -> dict[int, str]:
    """The outcome a constat shows on the map: its latest re-visit's; a re-visit without one of its
    own shows its own outcome. {id: outcome code}, for `ids` only when given (the map's index
    re-reads the constats that changed: walkapp.review.clusters)."""
    if ids is None:
        own = every = await _live_revisits()  # one query: the re-visits are both
    elif ids:
        own, every = await _live_revisits(ids=ids), await _live_revisits(targets=ids)
    else:
        return {}
    return {**{row["id"]: row["outcome"] for row in own},
            **{target: row["outcome"] for target, row in _latest(every).items()}}


# ---------------------------------------------------------------- "À revoir" on the phone

async def first_photos(ids: list[int]) -> dict[int, int]:
    thumbs: dict[int, int] = {}
    for batch in _batches(sorted(set(ids))):
        for photo in await Photo.select(Photo.id, Photo.observation).where(
                Photo.observation.is_in(batch)).order_by(Photo.position, ascending=False):
            thumbs[photo["observation"]] = photo["id"]
    return thumbs


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    from ..review.services import distance_m as haversine

    return haversine(lat1, lon1, lat2, lon2)


async def earlier_constats(followed_walk_id: int) -> list[int]:
    """The constats of the followed walk a follow-up re-visits: new and validated ones, never the
    rejected; a duplicate is listed as its original (once)."""
    from ..actions.services import sort_constats

    ids = [row["id"] for row in await Observation.select(Observation.id).where(
        (Observation.walk == followed_walk_id) & (Observation.status != "rejected")).order_by(Observation.id)]
    return (await sort_constats(ids)).ids if ids else []


async def to_revisit(walk: Walk) -> list[dict[str, Any]]:
    """The "À revoir" list of a follow-up walk's page: the followed walk's constats, nearest to
    the current halte first (the phone re-sorts by its own position: static/js/capture.js), each
    with its first photo and, when this walk re-visited it already, its latest outcome here."""
    followed = getattr(walk.follows, "id", walk.follows)
    if not followed:
        return []
    ids = await earlier_constats(followed)
    if not ids:
        return []
    rows = []
    for batch in _batches(ids):
        rows += await Observation.select(
            Observation.id, Observation.issue, Observation.angle, Observation.polarity, Observation.description,
            Observation.street, Observation.lat, Observation.lon, Observation.observed_at, Observation.received_at,
            Observation.stop.name.as_alias("stop_name"), Observation.stop.position.as_alias("stop_position"),
            Observation.walk.date.as_alias("walk_date"),
        ).where(Observation.id.is_in(batch))
    thumbs = await first_photos(ids)
    done = await latest_outcomes(ids, walk_id=walk.id)
    here = None
    current = getattr(walk.current_stop, "id", walk.current_stop)
    if current:
        here = await Stop.select(Stop.lat, Stop.lon).where(Stop.id == current).first()
    for row in rows:
        row["photo_id"] = thumbs.get(row["id"])
        revisit = done.get(row["id"])
        row["outcome"] = revisit["outcome"] if revisit else None
        row["revisit_id"] = revisit["id"] if revisit else None
        row["distance_m"] = (distance_m(here["lat"], here["lon"], row["lat"], row["lon"])
                             if here and row["lat"] is not None else None)
    rows.sort(key=lambda r: (r["distance_m"] is None, r["distance_m"] or 0, r["stop_position"] or 10**6, r["id"]))
    return rows


# ---------------------------------------------------------------- Avant / Après

@dataclass
class Side:
    """One constat of a pair: what the partial shows of it."""

    id: int
    photo_id: int | None
    at: Any  # when it was seen (observed_at; None: its walk's day), shown through clock
    walk_title: str
    walk_date: dt.date
    description: str
    status: str
    issue: str

    @property
    def date_text(self) -> str:
        return clock.date_text(self.at or self.walk_date)


@dataclass
class Pair:
    """An earlier constat (avant) and one re-visit of it (après), with the outcome."""

    before: Side
    after: Side
    outcome: str

    @property
    def outcome_term(self) -> gusp.Term | None:
        return gusp.term("outcome", self.outcome)


async def _sides(ids: list[int]) -> dict[int, Side]:
    rows = []
    for batch in _batches(sorted(set(ids))):
        rows += await Observation.select(
            Observation.id, Observation.observed_at, Observation.received_at, Observation.description,
            Observation.status, Observation.issue, Observation.walk.title.as_alias("walk_title"),
            Observation.walk.date.as_alias("walk_date"),
        ).where(Observation.id.is_in(batch))
    thumbs = await first_photos(ids)
    # When it was seen: the phone's moment, else its walk's day (a constat sent later, imported).
    return {r["id"]: Side(r["id"], thumbs.get(r["id"]), r["observed_at"], r["walk_title"],
                          r["walk_date"], r["description"], r["status"], r["issue"]) for r in rows}


async def before_after(ids: list[int], statuses: tuple[str, ...] = LIVE) -> dict[int, list[Pair]]:
    """The Avant / Après pairs of each constat of `ids`: an earlier constat has one pair per
    re-visit (oldest first); a re-visit has its own pair. Re-visits of `statuses` only (the
    restitution passes ("validated",)). {id: [pairs]}, every id present (maybe empty)."""
    wanted = sorted(set(ids))
    found: list[dict[str, Any]] = []
    for batch in _batches(wanted):
        found += await Observation.select(Observation.id, Observation.revisit_of, Observation.outcome,
                                          Observation.walk.date.as_alias("walk_date")).where(
            Observation.revisit_of.is_not_null() & Observation.status.is_in(list(statuses))
            & (Observation.revisit_of.is_in(batch) | Observation.id.is_in(batch)))
    unique = {row["id"]: row for row in found}
    ordered = sorted(unique.values(), key=lambda r: (r["walk_date"], r["id"]))
    sides = await _sides([r["id"] for r in ordered] + [r["revisit_of"] for r in ordered])
    result: dict[int, list[Pair]] = {i: [] for i in wanted}
    for row in ordered:
        before, after = sides.get(row["revisit_of"]), sides.get(row["id"])
        if before is None or after is None:
            continue
        pair = Pair(before, after, row["outcome"])
        for key in {row["revisit_of"], row["id"]} & set(result):
            result[key].append(pair)
    return result


# ---------------------------------------------------------------- the report of a follow-up walk

@dataclass
class SummaryRow:
    issue: gusp.Term
    counts: dict[str, int]  # outcome code -> re-visits
    not_revisited: int  # earlier constats of this issue the walk did not re-visit

    @property
    def revisited(self) -> int:
        return sum(self.counts.values())


@dataclass
class RevisitSummary:
    """Outcomes per enjeu of a follow-up walk (the enjeu of the earlier constat)."""

    walk_id: int
    followed: Walk | None
    rows: list[SummaryRow] = field(default_factory=list)

    @property
    def totals(self) -> dict[str, int]:
        return {code: sum(r.counts[code] for r in self.rows) for code in gusp.codes("outcome")}

    @property
    def revisited(self) -> int:
        return sum(r.revisited for r in self.rows)

    @property
    def not_revisited(self) -> int:
        return sum(r.not_revisited for r in self.rows)

    @property
    def empty(self) -> bool:
        return not self.rows


async def revisit_summary(walk_id: int) -> RevisitSummary:
    """How the earlier constats went, per enjeu, for the follow-up walk `walk_id`: its live
    re-visits counted by outcome (the latest, when it re-visited a constat twice), and the
    followed walk's constats it did not re-visit. Rows in the convention's order, only the
    enjeux with something to say."""
    walk = await Walk.objects().where(Walk.id == walk_id).first()
    followed = await Walk.objects().where(Walk.id == walk.follows).first() if walk and walk.follows else None
    summary = RevisitSummary(walk_id, followed)
    if walk is None:
        return summary
    latest = await latest_outcomes(walk_id=walk_id)
    pending = [i for i in (await earlier_constats(followed.id) if followed else []) if i not in latest]
    issues: dict[int, str] = {}
    for batch in _batches(sorted(set(latest) | set(pending))):
        issues.update({r["id"]: r["issue"] for r in await Observation.select(Observation.id, Observation.issue).where(
            Observation.id.is_in(batch))})
    for term in gusp.ISSUES:
        counts = {code: 0 for code in gusp.codes("outcome")}
        for target, row in latest.items():
            if issues.get(target) == term.code and row["outcome"] in counts:
                counts[row["outcome"]] += 1
        left = sum(1 for i in pending if issues.get(i) == term.code)
        if sum(counts.values()) or left:
            summary.rows.append(SummaryRow(term, counts, left))
    return summary


# ---------------------------------------------------------------- actions: Évaluation de l'action / Évolution

def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n > 1 else ''}"


async def evaluation_proposal(action_id: int) -> str | None:
    """What the re-visits of an action's constats say, as a sentence for its "Évaluation de
    l'action / Évolution" (proposed; the person confirms it): "2 constats revus sur 3 : 1 Résolu,
    1 Amélioré (marche de suivi du 12/01/2027)". None when no linked constat was re-visited."""
    linked = [row["observation"] for row in await ActionObservation.select(ActionObservation.observation).where(
        ActionObservation.action == action_id)]
    if not linked:
        return None
    latest = await latest_outcomes(linked)
    if not latest:
        return None
    counts = {code: 0 for code in gusp.codes("outcome")}
    for row in latest.values():
        if row["outcome"] in counts:
            counts[row["outcome"]] += 1
    parts = ", ".join(f"{n} {gusp.label('outcome', code)}" for code, n in counts.items() if n)
    dates = sorted({row["walk_date"] for row in latest.values()})
    when = " et du ".join(clock.date_text(d) for d in dates)
    walks = "marches de suivi" if len(dates) > 1 else "marche de suivi"
    of = f" sur {len(linked)}" if len(linked) > len(latest) else ""
    return f"{_plural(len(latest), 'constat')} revu{'s' if len(latest) > 1 else ''}{of} : {parts} ({walks} du {when})"
