"""The committee's map at any volume: clusters computed on the server (GET
/api/v1/observations/clusters) and the map page's figures, from one in-memory index per filter set.

Why arrays in memory, not a GROUP BY in SQL at each request. Measured at 100,000 constats on this
machine (2 shared cores, load 5-9; benchmarks/map_page.py, figures in benchmarks/README.md):
- A grid GROUP BY over the view (cells at the view's zoom, counts per issue and faible/fort) costs
  what it scans: the whole area at zoom 13 took 125-140 ms on PostgreSQL and 205-215 ms on SQLite,
  over the 100 ms budget, and every pan pays it again. The page's 7x4 matrix as a GROUP BY: 75 ms
  on PostgreSQL, 350-470 ms on SQLite, at every page.
- The same grouping on numpy arrays of the filtered constats: whole requests of 4-30 ms, whatever
  the view (one pass of comparisons for the box, a sort of the constats in it).
- Reading the arrays costs about one GROUP BY (100-250 ms on PostgreSQL, as arrays that asyncpg
  decodes in C; 130-220 ms on SQLite, as tuples): it is done once per filter set, then only the
  constats that changed are read again. So neither the page nor a view does anything proportional
  to the number of constats in SQL, nor carries them: the page reads one row (the revision) and
  takes its figures (`Summary`) from the index, kept with it (after a change, numpy passes over the
  arrays: a few ms at 100,000).

Staying right: triggers (migration 0011) raise `map_revision` in the same transaction as any change
of a constat the map shows (or of a walk's date or neighbourhood), and write into `map_change` which
constats changed. Each request reads the revision: unchanged, the index serves as it is; raised, the
constats of map_change since the index's revision are read again with the filter's own SQL
(ObservationFilter.where) and replace their old rows; a walk's change, a TRUNCATE, more than
MAX_PATCH constats, or revisions already pruned from map_change rebuild it. On PostgreSQL the trigger
raising the revision is deferred to the commit: commits that change constats take the revision row
in turn, so revisions are numbered in the order changes become visible (what reading "map_change
since r" needs), and no transaction waits for that row while holding constats' rows. A request may
see a change newer than its revision: it reads that constat again at the next revision, no harm.

One index per filter set without its filters on one column's codes (status, issue, angle, polarity):
those are masks on the index (Index.shown), so changing the issue on the map reads nothing, and the
default view, "all" and "rejected and duplicates" share one (the page's "set aside" count needs the
rejected ones); tests/test_map_clusters.py holds the masks to the filter's SQL. KEPT filter sets in
memory, least recently used out first (~25 bytes a constat: 2.5 MB at 100,000). Each process keeps
its own (`walkapp serve --workers N`): the revision is in the database, so they agree. `walkapp
serve` reads the default view's index at start (`warm`).

The clusters: a grid of CELL_PX pixels at the view's zoom, on Web Mercator pixels of the world (a
cell holds the same constats whatever the view: the box is widened to whole cells), clusters closer
than MERGE_PX merged so that rings do not overlap. From SINGLES_ZOOM every constat is its own marker
(as Leaflet.markercluster's disableClusteringAtZoom did), unless the view holds more than
MAX_SINGLES. A box larger than MAX_VIEW_PX at its zoom is no map's view: refused (400), so an answer
stays small whatever is asked.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import math
import sqlite3
import weakref
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import gusp
from ..db import engine
from ..errors import BadRequest
from ..observations.filters import ALL_STATUSES, ObservationFilter
from ..tables import MapChange, MapRevision, Observation
from ..validation import parse_int

CELL_PX = 64  # the grid's cell, in screen pixels at the view's zoom (a ring is 38-54 px)
MERGE_PX = 40  # clusters whose centres are closer than this become one
SINGLES_ZOOM = 19  # from this zoom, every constat its own marker...
MAX_SINGLES = 400  # ...unless the view holds more (a view stays under 50 KB)
MAX_VIEW_PX = 4096  # the largest box, in pixels at its zoom, a map shows (a 4K screen)
MAX_ZOOM = 22
KEPT = 8  # filter sets kept in memory, per process
MEMO = 48  # masks and figures kept per index
MAX_PATCH = 5000  # changed constats read again one by one; beyond, the index is read again whole
_BATCH = 500  # ids per IN (...) when constats are read again

ISSUES = gusp.codes("issue")
ANGLES = gusp.codes("angle")
POLARITIES = gusp.codes("polarity")  # ("negative", "positive")
STATUSES = gusp.codes("observation_status")
OUTCOMES = gusp.codes("outcome")
UNKNOWN = "inconnu"  # an issue code the taxonomy does not know (never written by the app): still counted
log = logging.getLogger("walkapp")


# ---------------------------------------------------------------- the index of one filter set

@dataclass(frozen=True)
class Index:
    """The constats of one base filter set (Indexes.base_filter), as arrays sorted by id. `issue`,
    `angle`, `polarity`, `status` and `outcome` are indexes in the gusp codes (-1: none or unknown;
    an unknown issue is len(ISSUES)); `lat`/`lon` are NaN without a position."""

    revision: int
    ids: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    issue: np.ndarray
    angle: np.ndarray
    polarity: np.ndarray
    status: np.ndarray
    outcome: np.ndarray
    _memos: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def located(self) -> np.ndarray:
        return self._memo("located", lambda: ~np.isnan(self.lat))

    def shown(self, chosen: ObservationFilter) -> np.ndarray:
        """The rows `chosen` shows: its statuses, issue, angle and polarity (the filters that are
        one column's codes, kept here as masks; the others made the index: Indexes.base_filter)."""
        key = ("shown", chosen.statuses, chosen.issue, chosen.angle, chosen.polarity)
        return self._memo(key, lambda: self._shown(chosen))

    def _shown(self, chosen: ObservationFilter) -> np.ndarray:
        mask = np.isin(self.status, [STATUSES.index(code) for code in chosen.statuses if code in STATUSES])
        for name, codes in (("issue", ISSUES), ("angle", ANGLES), ("polarity", POLARITIES)):
            value = getattr(chosen, name)
            if value is not None:
                mask &= getattr(self, name) == (codes.index(value) if value in codes else -2)
        return mask

    def _memo(self, key: Any, make) -> Any:
        # Made once per index (an index never changes: a new revision makes a new one); a few
        # dozen filter sets at most (a mask is a byte a constat).
        value = self._memos.get(key)
        if value is None:
            if len(self._memos) >= MEMO:
                self._memos.clear()
            value = self._memos[key] = make()
        return value


_COLUMNS = ("ids", "lat", "lon", "issue", "angle", "polarity", "status", "outcome")


def _case(column: str, codes: tuple[str, ...]) -> str:
    """The code's index + 1 (0: unknown). Codes are the taxonomy's own constants, never user input."""
    whens = " ".join(f"WHEN '{code}' THEN {n + 1}" for n, code in enumerate(codes))
    return f"CASE q.{column} {whens} ELSE 0 END"


# Four small codes in one integer (3 bits each): a quarter of the values to carry out of the
# database and into arrays, where most of the time of reading 100,000 constats goes.
_CODES = (("issue", ISSUES), ("angle", ANGLES), ("polarity", POLARITIES), ("status", STATUSES))
_PACKED = " + ".join(f"{_case(column, codes)} * {8 ** n}" for n, (column, codes) in enumerate(_CODES))
_SELECT = ("q.id", "q.lat", "q.lon", f"({_PACKED})")


def _compiled(chosen: ObservationFilter, ids: list[int] | None) -> tuple[str, list[Any], str]:
    """The filter's own SQL (its joins, its `revu` subqueries), as Piccolo writes it."""
    query = Observation.select(Observation.id, Observation.lat, Observation.lon, Observation.issue,
                               Observation.angle, Observation.polarity, Observation.status)
    where = chosen.where()
    if where is not None:
        query = query.where(where)
    if ids is not None:
        query = query.where(Observation.id.is_in(ids))
    db = engine()
    sql, args = query.querystrings[0].compile_string(engine_type=db.engine_type)
    return sql, args, db.engine_type


def _sqlite_rows(path: str, sql: str, args: list[Any]) -> list[tuple]:
    # A connection of its own, in a worker thread: tuples, not Piccolo's dicts (4x less work here).
    connection = sqlite3.connect(path, timeout=30)
    try:
        return connection.execute(sql, args).fetchall()
    finally:
        connection.close()


async def _postgres_row(statement: str, args: list[Any]):
    db = engine()
    if db.pool is not None:
        async with db.pool.acquire() as connection:
            return await connection.fetchrow(statement, *args)
    connection = await db.get_new_connection()
    try:
        return await connection.fetchrow(statement, *args)
    finally:
        await connection.close()


async def _read(chosen: ObservationFilter, ids: list[int] | None = None) -> dict[str, np.ndarray]:
    """The constats of the filter (only `ids` when given) as arrays in id order, without outcomes."""
    sql, args, engine_type = _compiled(chosen, ids)
    if engine_type == "sqlite":
        rows = await asyncio.to_thread(_sqlite_rows, engine().path, f"SELECT {', '.join(_SELECT)} FROM ({sql}) AS q",
                                       args)
        table = np.array(rows, dtype=np.float64).reshape(-1, 4)
        columns = [table[:, n] for n in range(4)]
    else:
        # One row of arrays, which asyncpg decodes in C: ~10x faster than 100,000 records. The
        # aggregates of one query see the rows in the same order.
        row = await _postgres_row("SELECT " + ", ".join(f"array_agg({part})" for part in _SELECT)
                                  + f" FROM ({sql}) AS q", args)
        columns = [np.array(row[n] or [], dtype=np.float64) for n in range(4)]
    ids, lat, lon, packed = columns
    order = np.argsort(ids, kind="stable")
    packed = packed[order].astype(np.int64)
    codes = {name: ((packed >> (3 * n)) & 7).astype(np.int8) - 1 for n, (name, _) in enumerate(_CODES)}
    codes["issue"][codes["issue"] < 0] = len(ISSUES)  # an issue the taxonomy does not know: still counted
    return {"ids": ids[order].astype(np.int64), "lat": lat[order], "lon": lon[order], **codes}


async def _outcomes(ids: np.ndarray, only: list[int] | None = None) -> np.ndarray:
    """The outcome each constat shows (-1: none), for `ids` sorted; `only`: ask about those alone."""
    from ..revisits.services import map_outcomes  # the one rule of which outcome a marker shows

    outcome = np.full(len(ids), -1, dtype=np.int8)
    known = [(i, OUTCOMES.index(code)) for i, code in (await map_outcomes(only)).items() if code in OUTCOMES]
    if known and len(ids):
        wanted = np.array([i for i, _ in known], dtype=np.int64)
        at = np.minimum(np.searchsorted(ids, wanted), len(ids) - 1)
        hit = ids[at] == wanted
        outcome[at[hit]] = np.array([o for _, o in known], dtype=np.int8)[hit]
    return outcome


async def _build(chosen: ObservationFilter, revision: int) -> Index:
    columns = await _read(chosen)
    return Index(revision, **columns, outcome=await _outcomes(columns["ids"]))


async def _patched(index: Index, chosen: ObservationFilter, revision: int) -> Index | None:
    """`index` brought to `revision` by reading again only the constats changed since; None when
    it must be rebuilt."""
    if revision == index.revision:
        return index
    if revision < index.revision:
        return None  # another database (a restore): nothing of the index holds
    rows = await MapChange.select(MapChange.revision, MapChange.observation).where(
        (MapChange.revision > index.revision) & (MapChange.revision <= revision)).order_by(
        MapChange.revision).limit(MAX_PATCH + 1)
    if not rows or rows[0]["revision"] != index.revision + 1 or len(rows) > MAX_PATCH \
            or any(row["observation"] is None for row in rows):
        return None
    changed = sorted({row["observation"] for row in rows})
    parts = [await _read(chosen, changed[start:start + _BATCH]) for start in range(0, len(changed), _BATCH)]
    fresh = {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}
    fresh["outcome"] = await _outcomes(fresh["ids"], changed) if len(fresh["ids"]) else np.empty(0, np.int8)
    keep = ~np.isin(index.ids, np.array(changed, dtype=np.int64))
    merged = {name: np.concatenate([getattr(index, name)[keep], fresh[name]]) for name in _COLUMNS}
    order = np.argsort(merged["ids"], kind="stable")
    return Index(revision, **{name: values[order] for name, values in merged.items()})


async def current_revision() -> int:
    row = await MapRevision.select(MapRevision.value).first()
    return int(row["value"]) if row else 0


class Indexes:
    """The indexes kept by this process, by filter set (least recently used out first)."""

    def __init__(self, kept: int = KEPT):
        self.kept = kept
        self._indexes: OrderedDict[tuple, Index] = OrderedDict()
        # One lock per filter set and event loop: two requests for a stale index build it once.
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple, asyncio.Lock]] = \
            weakref.WeakKeyDictionary()

    @staticmethod
    def base_filter(chosen: ObservationFilter) -> ObservationFilter:
        """The filter an index is read with: `chosen` but for its filters on one column's codes,
        which are masks on the index (Index.shown): changing the issue on the map reads nothing."""
        return dataclasses.replace(chosen, status=ALL_STATUSES, issue=None, angle=None, polarity=None)

    def _lock(self, key: tuple) -> asyncio.Lock:
        locks = self._locks.setdefault(asyncio.get_running_loop(), {})
        return locks.setdefault(key, asyncio.Lock())

    async def get(self, chosen: ObservationFilter) -> Index:
        base = self.base_filter(chosen)
        key = tuple(sorted(base.params().items()))
        index = self._indexes.get(key)
        if index is None or index.revision != await current_revision():
            async with self._lock(key):
                # Read again under the lock: another request may have brought it up to date.
                index, revision = self._indexes.get(key), await current_revision()
                if index is None or index.revision != revision:
                    patched = await _patched(index, base, revision) if index is not None else None
                    index = self._indexes[key] = patched or await _build(base, revision)
        self._indexes.move_to_end(key)
        while len(self._indexes) > self.kept:
            gone, _ = self._indexes.popitem(last=False)
            for locks in self._locks.values():
                locks.pop(gone, None)  # filter sets come and go (dates): their locks with them
        return index

    def clear(self) -> None:
        self._indexes.clear()


INDEXES = Indexes()


async def warm() -> None:
    """`walkapp serve` reads the default view's index at start: the first map opened does not wait
    for it. A failure here is only a slower first map (it is logged, and the map reads it then)."""
    try:
        await INDEXES.get(ObservationFilter())
    except Exception:  # noqa: BLE001 - never stop the server for this
        log.warning("the map's index could not be read at start", exc_info=True)


# ---------------------------------------------------------------- the page's figures

@dataclass(frozen=True)
class Summary:
    """What the map page says about the filtered constats (walkapp.review.controllers)."""

    shown: int  # with a position: on the map
    without_position: int
    set_aside: int  # rejected or duplicates the default status filter leaves out (0 when a status is asked)
    matrix: Any  # walkapp.review.services.Matrix
    bounds: tuple[tuple[float, float], tuple[float, float]] | None  # ((south, west), (north, east))


def summary(index: Index, chosen: ObservationFilter) -> Summary:
    key = ("summary", chosen.statuses, chosen.status is None, chosen.issue, chosen.angle, chosen.polarity)
    return index._memo(key, lambda: _summary(index, chosen))  # once per index and filter set


def _summary(index: Index, chosen: ObservationFilter) -> Summary:
    from .services import matrix_of

    wanted = index.shown(chosen)
    located = index.located
    on_map = wanted & located
    # The 7x4 matrix counts every shown constat, with or without a position, of known codes.
    issue, angle, polarity = index.issue[wanted], index.angle[wanted], index.polarity[wanted]
    known = (issue < len(ISSUES)) & (angle >= 0) & (polarity >= 0)
    shape = (len(ISSUES), len(ANGLES), len(POLARITIES))
    cells = np.bincount(np.ravel_multi_index((issue[known], angle[known], polarity[known]), shape),
                        minlength=math.prod(shape)).reshape(shape)
    counts = [(ISSUES[i], ANGLES[a], POLARITIES[p], int(cells[i, a, p])) for i, a, p in zip(*np.nonzero(cells),
                                                                                            strict=True)]
    set_aside = 0
    if chosen.status is None:
        set_aside = int(np.count_nonzero(index.shown(dataclasses.replace(chosen, status="duplicate,rejected"))))
    bounds = None
    if on_map.any():
        lat, lon = index.lat[on_map], index.lon[on_map]
        bounds = ((float(lat.min()), float(lon.min())), (float(lat.max()), float(lon.max())))
    return Summary(shown=int(np.count_nonzero(on_map)), without_position=int(np.count_nonzero(wanted & ~located)),
                   set_aside=set_aside, matrix=matrix_of(counts), bounds=bounds)


# ---------------------------------------------------------------- the view: clusters and single constats

def parse_view(bbox: str, zoom: str) -> tuple[tuple[float, float, float, float], int]:
    """`bbox=W,S,E,N` and `zoom` of a map's view; a 400 in French for anything else."""
    from .services import parse_bbox

    if not bbox:
        raise BadRequest("Zone de carte manquante : bbox=O,S,E,N attendu.", fields={"bbox": "Zone manquante."})
    box = parse_bbox(bbox, error=BadRequest)
    level = parse_int(zoom, low=0, high=MAX_ZOOM) if zoom else None
    if level is None:
        raise BadRequest(f"Zoom : un nombre entier de 0 à {MAX_ZOOM} est attendu.",
                         fields={"zoom": f"Zoom : un nombre entier de 0 à {MAX_ZOOM}."})
    west, south, east, north = box
    x0, y0 = _pixels(np.array([north]), np.array([west]), level)
    x1, y1 = _pixels(np.array([south]), np.array([east]), level)
    if x1[0] - x0[0] > MAX_VIEW_PX or y1[0] - y0[0] > MAX_VIEW_PX:
        raise BadRequest("Zone de carte trop grande pour ce zoom : ce n'est pas la vue d'une carte.",
                         fields={"bbox": f"Zone : {MAX_VIEW_PX} pixels de côté au plus à ce zoom."})
    return box, level


MAX_LAT = 85.05112878  # Web Mercator's edge


def _pixels(lat: np.ndarray, lon: np.ndarray, zoom: int) -> tuple[np.ndarray, np.ndarray]:
    """Web Mercator pixels of the world at `zoom` (256 px tiles), as Leaflet places them."""
    world = 256.0 * 2 ** zoom
    s = np.sin(np.radians(np.clip(lat, -MAX_LAT, MAX_LAT)))
    return (lon + 180.0) / 360.0 * world, (0.5 - np.log((1 + s) / (1 - s)) / (4 * math.pi)) * world


def _lat_of(y: float, zoom: int) -> float:
    n = math.pi - 2 * math.pi * y / (256.0 * 2 ** zoom)
    return math.degrees(math.atan(math.sinh(n)))


def _lon_of(x: float, zoom: int) -> float:
    return x / (256.0 * 2 ** zoom) * 360.0 - 180.0


@dataclass
class _Group:
    count: int
    lat_sum: float
    lon_sum: float
    south: float
    west: float
    north: float
    east: float
    issues: np.ndarray
    negative: int
    positive: int
    x: float
    y: float
    member: int  # an index of one constat (the only one of a single)


def _inside(index: Index, chosen: ObservationFilter, bbox: tuple[float, float, float, float]) -> np.ndarray:
    """The rows of the constats shown (their statuses) inside the box."""
    west, south, east, north = bbox
    with np.errstate(invalid="ignore"):  # NaN (no position) compares False: left out
        inside = (index.shown(chosen) & (index.lat >= south) & (index.lat <= north)
                  & (index.lon >= west) & (index.lon <= east))
    return np.flatnonzero(inside)


def _groups(index: Index, rows: np.ndarray, zoom: int, singles: bool) -> list[_Group]:
    if not len(rows):
        return []
    lat, lon = index.lat[rows], index.lon[rows]
    x, y = _pixels(lat, lon, zoom)
    if singles:
        key = np.arange(len(rows), dtype=np.int64)
    else:
        columns = int(256 * 2 ** zoom // CELL_PX) + 1
        key = np.floor(x / CELL_PX).astype(np.int64) * columns + np.floor(y / CELL_PX).astype(np.int64)
    order = np.argsort(key, kind="stable")
    key, rows, lat, lon, x, y = key[order], rows[order], lat[order], lon[order], x[order], y[order]
    starts = np.flatnonzero(np.concatenate(([True], key[1:] != key[:-1])))
    sizes = np.diff(np.append(starts, len(key)))
    group = np.repeat(np.arange(len(starts)), sizes)
    kinds = len(ISSUES) + 1
    issues = np.bincount(group * kinds + index.issue[rows], minlength=len(starts) * kinds).reshape(-1, kinds)
    polarity = index.polarity[rows]
    negative = np.bincount(group, weights=polarity == 0, minlength=len(starts))
    positive = np.bincount(group, weights=polarity == 1, minlength=len(starts))
    sums = [np.add.reduceat(values, starts) for values in (lat, lon, x, y)]
    lows = [np.minimum.reduceat(values, starts) for values in (lat, lon)]
    highs = [np.maximum.reduceat(values, starts) for values in (lat, lon)]
    return [_Group(int(sizes[g]), float(sums[0][g]), float(sums[1][g]), float(lows[0][g]), float(lows[1][g]),
                   float(highs[0][g]), float(highs[1][g]), issues[g], int(negative[g]), int(positive[g]),
                   float(sums[2][g] / sizes[g]), float(sums[3][g] / sizes[g]), int(rows[starts[g]]))
            for g in range(len(starts))]


def _merged(groups: list[_Group]) -> list[_Group]:
    """Groups whose centres are closer than MERGE_PX join the largest near them (rings of
    neighbouring cells would overlap otherwise)."""
    by_cell: dict[tuple[int, int], list[int]] = {}
    for n, g in enumerate(groups):
        by_cell.setdefault((int(g.x // MERGE_PX), int(g.y // MERGE_PX)), []).append(n)
    taken = [False] * len(groups)
    kept = []
    for n in sorted(range(len(groups)), key=lambda n: -groups[n].count):
        if taken[n]:
            continue
        taken[n] = True
        g = dataclasses.replace(groups[n])
        cx, cy = int(g.x // MERGE_PX), int(g.y // MERGE_PX)
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                for m in by_cell.get((cx + dx, cy + dy), ()):
                    other = groups[m]
                    if not taken[m] and (other.x - groups[n].x) ** 2 + (other.y - groups[n].y) ** 2 < MERGE_PX ** 2:
                        taken[m] = True
                        g.count += other.count
                        g.lat_sum += other.lat_sum
                        g.lon_sum += other.lon_sum
                        g.south, g.west = min(g.south, other.south), min(g.west, other.west)
                        g.north, g.east = max(g.north, other.north), max(g.east, other.east)
                        g.issues = g.issues + other.issues
                        g.negative += other.negative
                        g.positive += other.positive
        kept.append(g)
    return kept


def view(index: Index, chosen: ObservationFilter, bbox: tuple[float, float, float, float], zoom: int) -> dict:
    """The GeoJSON of one view: clusters (position: their constats' centre; count, count per issue,
    faible/fort, bbox) and single constats (id, issue, polarity, outcome when re-visited)."""
    rows = _inside(index, chosen, bbox)
    if zoom >= SINGLES_ZOOM and len(rows) <= MAX_SINGLES:
        groups = _groups(index, rows, zoom, singles=True)
    else:
        # Whole cells, and one more around them: a cell's cluster, and the neighbours it merges
        # with, are the same whatever the view that shows it.
        west, south, east, north = bbox
        (x0,), (y0,) = _pixels(np.array([north]), np.array([west]), zoom)
        (x1,), (y1,) = _pixels(np.array([south]), np.array([east]), zoom)
        x0, y0 = math.floor(x0 / CELL_PX) * CELL_PX, math.floor(y0 / CELL_PX) * CELL_PX
        x1, y1 = math.ceil(x1 / CELL_PX) * CELL_PX, math.ceil(y1 / CELL_PX) * CELL_PX
        wider = (max(-180.0, _lon_of(x0 - CELL_PX, zoom)), max(-90.0, _lat_of(y1 + CELL_PX, zoom)),
                 min(180.0, _lon_of(x1 + CELL_PX, zoom)), min(90.0, _lat_of(y0 - CELL_PX, zoom)))
        groups = [g for g in _merged(_groups(index, _inside(index, chosen, wider), zoom, singles=False))
                  if x0 <= g.x < x1 and y0 <= g.y < y1]
    features = []
    for g in groups:
        if g.count == 1:
            n = g.member
            constat = int(index.ids[n])
            properties: dict[str, Any] = {"id": constat, "issue": _issue_code(int(index.issue[n])),
                                          "polarity": POLARITIES[index.polarity[n]] if index.polarity[n] >= 0 else None}
            if index.outcome[n] >= 0:
                properties["outcome"] = OUTCOMES[index.outcome[n]]
            features.append({"type": "Feature", "id": constat, "geometry": {
                "type": "Point", "coordinates": [round(float(index.lon[n]), 6), round(float(index.lat[n]), 6)]},
                "properties": properties})
        else:
            features.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [
                round(g.lon_sum / g.count, 6), round(g.lat_sum / g.count, 6)]}, "properties": {
                "cluster": True, "count": g.count,
                "issues": {_issue_code(i): int(c) for i, c in enumerate(g.issues) if c},
                "negative": g.negative, "positive": g.positive,
                "bbox": [round(g.west, 6), round(g.south, 6), round(g.east, 6), round(g.north, 6)]}})
    return {"type": "FeatureCollection", "features": features, "zoom": zoom,
            "total": int(sum(g.count for g in groups)), "revision": index.revision}


def _issue_code(n: int) -> str:
    return ISSUES[n] if 0 <= n < len(ISSUES) else UNKNOWN
