"""Benchmark (not a test): the QPV outline's "hors périmètre" flag at volume (walkapp/outline).

Run: .venv/bin/python benchmarks/outline_flags.py [--points 100000] [--vertices 1000] [--database sqlite|URL]

It seeds N constats around a quartier, then measures:
- the import of a V-vertex outline through walkapp.outline.services.import_outline (parse, store,
  recompute every constat's flag: one vectorised test and a few UPDATEs), with its split;
- the point-in-polygon test alone for the N constats: shapely (what the import runs) against a
  pure-Python ray-casting loop on a sample, extrapolated (why shapely);
- the zip's constats.csv and constats.geojson for the N constats (they read the stored flag).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CENTRE = (50.5636, 2.4826)


def setup_env(database: str) -> Path:
    work = Path(tempfile.mkdtemp(prefix="walkapp-bench-outline-"))
    os.environ["WALKAPP_MEDIA_DIR"] = str(work / "media")
    os.environ["WALKAPP_SECRET_KEY"] = "bench-" + "x" * 40
    os.environ["WALKAPP_DATABASE_URL"] = f"sqlite:///{work / 'bench.sqlite'}" if database == "sqlite" else database
    sys.path.insert(0, str(ROOT))
    return work


def outline_file(vertices: int) -> bytes:
    """A wobbly ring of `vertices` points around the centre (~600 x 400 m), as the official file has it."""
    ring = []
    for k in range(vertices):
        t = 2 * math.pi * k / vertices
        r = 1 + 0.08 * math.sin(7 * t)
        ring.append([round(CENTRE[1] + 0.0042 * r * math.cos(t), 7), round(CENTRE[0] + 0.0018 * r * math.sin(t), 7)])
    ring.append(ring[0])
    feature = {"type": "Feature", "properties": {"code_qp": "QP062057", "lib_qp": "Ville Centre"},
               "geometry": {"type": "Polygon", "coordinates": [ring]}}
    return json.dumps({"type": "FeatureCollection", "features": [feature]}).encode()


def ray_casting(lon: float, lat: float, ring: list[list[float]]) -> bool:
    inside, j = False, len(ring) - 1
    for i in range(len(ring)):
        (xi, yi), (xj, yj) = ring[i], ring[j]
        if (yi > lat) != (yj > lat) and lon < (xj - xi) * (lat - yi) / (yj - yi) + xi:
            inside = not inside
        j = i
    return inside


async def seed(points: int) -> int:
    import datetime as dt

    from walkapp import gusp
    from walkapp.tables import Neighbourhood, Observation, Walk

    hood = Neighbourhood(qpv_code="QP062057", name="Ville Centre", town="Lillers",
                         centre_lat=CENTRE[0], centre_lon=CENTRE[1])
    await hood.save()
    walk = Walk(neighbourhood=hood.id, title="Marche", date=dt.date(2026, 5, 10), status="closed",
                join_secret=uuid.uuid4().hex)
    await walk.save()
    rng = random.Random(7)
    issues, angles = gusp.codes("issue"), gusp.codes("angle")
    # As walks go: nearly all in the quartier, one in twenty anywhere around it.
    spread = [(0.0014, 0.0033) if rng.random() < 0.95 else (0.004, 0.009) for _ in range(points)]
    rows = [Observation(walk=walk.id, client_uuid=str(uuid.uuid4()), issue=rng.choice(issues),
                        angle=rng.choice(angles), description="Constat de test", location_source="device",
                        lat=CENTRE[0] + rng.uniform(-dlat, dlat), lon=CENTRE[1] + rng.uniform(-dlon, dlon),
                        status="validated") for dlat, dlon in spread]
    for start in range(0, len(rows), 500):
        await Observation.insert(*rows[start:start + 500])
    return hood.id


async def measure(points: int, vertices: int) -> None:
    from walkapp import db
    from walkapp.cli import migrate
    from walkapp.exports import builder, manifest
    from walkapp.observations.filters import ObservationFilter
    from walkapp.outline import geometry, services
    from walkapp.tables import Neighbourhood, Observation

    await migrate(quiet=True)
    await db.prepare(pool=False)
    started = time.perf_counter()
    hood_id = await seed(points)
    print(f"seeded {points:,} constats in {time.perf_counter() - started:.1f} s")
    hood = await Neighbourhood.objects().where(Neighbourhood.id == hood_id).first()
    raw = outline_file(vertices)

    t = time.perf_counter()
    parsed = geometry.parse(raw, "QP062057", CENTRE)
    parse_ms = (time.perf_counter() - t) * 1000
    t = time.perf_counter()
    done = await services.import_outline(hood, raw, "bench.geojson", None)
    import_s = time.perf_counter() - t
    print(f"import of a {vertices}-vertex outline ({len(raw) / 1024:.0f} KiB): {import_s:.2f} s in all "
          f"(parse {parse_ms:.0f} ms), {done.inside:,} inside, {done.outside:,} outside")

    rows = await Observation.select(Observation.lat, Observation.lon)
    lats, lons = [r["lat"] for r in rows], [r["lon"] for r in rows]
    t = time.perf_counter()
    zone = geometry.Zone(parsed.geometry)
    flags = zone.outside(lats, lons)
    shapely_ms = (time.perf_counter() - t) * 1000
    ring = parsed.geometry["coordinates"][0]
    sample = min(2000, points)
    t = time.perf_counter()
    for lat, lon in zip(lats[:sample], lons[:sample], strict=True):
        ray_casting(lon, lat, ring)
    ray_s = (time.perf_counter() - t) * points / sample
    print(f"point-in-polygon for {points:,} constats: shapely {shapely_ms:.0f} ms (margin included, "
          f"{sum(flags):,} outside); pure-Python ray casting ~{ray_s:.1f} s (from {sample} points, no margin)")

    t = time.perf_counter()
    plan = await builder.collect(ObservationFilter(status="all"), originals=False)
    collect_s = time.perf_counter() - t
    t = time.perf_counter()
    csv_size = len(manifest.csv_bytes(plan))
    csv_s = time.perf_counter() - t
    t = time.perf_counter()
    geojson_size = len(manifest.geojson_bytes(plan))
    geojson_s = time.perf_counter() - t
    print(f"zip manifest for {points:,} constats: collect {collect_s:.2f} s, constats.csv {csv_s:.2f} s "
          f"({csv_size / 2**20:.1f} MiB), constats.geojson {geojson_s:.2f} s ({geojson_size / 2**20:.1f} MiB)")
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--vertices", type=int, default=1_000)
    parser.add_argument("--database", default="sqlite", help="sqlite (a temporary file) or a postgresql:// URL")
    args = parser.parse_args()
    work = setup_env(args.database)
    print(f"database: {os.environ['WALKAPP_DATABASE_URL']}")
    try:
        asyncio.run(measure(args.points, args.vertices))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
