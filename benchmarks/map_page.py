"""Benchmark (not a test): the observation map page with 10,000 constats.

Budget (PRODUCT.md): rendered in ≤ 300 ms of server time and ≤ 1 MB of HTML.
Run: .venv/bin/python benchmarks/map_page.py [--points 10000] [--runs 20] [--database sqlite|URL]

It builds a throwaway SQLite database (or uses the PostgreSQL URL given), inserts the constats in
bulk, signs in as a committee member, and times GET /carte (whole page, then the htmx fragment a
filter change asks for) through the app in-process: server time, without network.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shutil
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def setup_env(database: str) -> Path:
    work = Path(tempfile.mkdtemp(prefix="walkapp-bench-map-"))
    os.environ["WALKAPP_MEDIA_DIR"] = str(work / "media")
    os.environ["WALKAPP_SECRET_KEY"] = "bench-" + "x" * 40
    os.environ["WALKAPP_DATABASE_URL"] = f"sqlite:///{work / 'bench.sqlite'}" if database == "sqlite" else database
    sys.path.insert(0, str(ROOT))
    return work


async def seed(points: int) -> None:
    import datetime as dt

    from walkapp import gusp
    from walkapp.accounts.services import create_user
    from walkapp.tables import Neighbourhood, Observation, Walk

    hood = Neighbourhood(qpv_code="QP062057", name="Ville Centre", town="Lillers",
                         centre_lat=50.5636, centre_lon=2.4826)
    await hood.save()
    walks = []
    for n in range(10):
        walk = Walk(neighbourhood=hood.id, title=f"Marche {n}", date=dt.date(2026, 1 + n, 10), status="closed",
                    join_secret=uuid.uuid4().hex)
        await walk.save()
        walks.append(walk.id)
    rng = random.Random(7)
    issues, angles = gusp.codes("issue"), gusp.codes("angle")
    rows = [Observation(walk=walks[i % 10], client_uuid=str(uuid.uuid4()), issue=rng.choice(issues),
                        angle=rng.choice(angles), polarity=rng.choice(("negative", "negative", "positive")),
                        description="Constat de test " * 5, lat=50.5636 + rng.uniform(-0.01, 0.01),
                        lon=2.4826 + rng.uniform(-0.015, 0.015), location_source="device", status="validated")
            for i in range(points)]
    for start in range(0, len(rows), 500):
        await Observation.insert(*rows[start:start + 500])
    await create_user("comite@bench.example", "mot-de-passe-bench", "Comité", "committee")


async def measure(points: int, runs: int) -> None:
    from litestar.testing import AsyncTestClient

    from walkapp import db
    from walkapp.app import create_app
    from walkapp.cli import migrate

    await migrate(quiet=True)
    await db.prepare(pool=False)
    started = time.perf_counter()
    await seed(points)
    print(f"seeded {points} constats in {time.perf_counter() - started:.1f} s")
    async with AsyncTestClient(app=create_app(db_pool=False)) as client:
        await client.get("/connexion")
        await client.post("/connexion", data={"email": "comite@bench.example", "password": "mot-de-passe-bench"},
                          headers={"x-csrftoken": client.cookies["walkapp_csrf"]})
        for label, path, headers in (("full page  /carte", "/carte", {}),
                                     ("htmx block /carte?issue=dechets", "/carte?issue=dechets",
                                      {"hx-request": "true"}),
                                     ("htmx block /carte (all)", "/carte", {"hx-request": "true"})):
            timings, size = [], 0
            for run in range(runs + 2):
                t = time.perf_counter()
                response = await client.get(path, headers=headers)
                elapsed = (time.perf_counter() - t) * 1000
                assert response.status_code == 200, response.text[:500]
                size = len(response.content)
                if run >= 2:  # two warm-up requests
                    timings.append(elapsed)
            timings.sort()
            p90 = timings[int(0.9 * len(timings)) - 1]
            print(f"{label:34} median {statistics.median(timings):6.1f} ms  p90 {p90:6.1f} ms"
                  f"  HTML {size / 1024:7.1f} KiB ({size:,} bytes)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--database", default="sqlite", help="sqlite (a temporary file) or a postgresql:// URL")
    args = parser.parse_args()
    logging.getLogger("httpx").setLevel(logging.WARNING)
    work = setup_env(args.database)
    print(f"database: {os.environ['WALKAPP_DATABASE_URL']}")
    try:
        asyncio.run(measure(args.points, args.runs))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
