"""Benchmark (not a test): the committee's map at any volume (PRODUCT.md, Budgets: "Map").

    .venv/bin/python benchmarks/map_page.py [--points 100000] [--database sqlite|postgres|URL]
        [--runs 15] [--browser-runs 3] [--no-browser] [--root PATH]

Budgets at 100,000 constats: the page ≤ 150 KB of HTML and ≤ 300 ms of server time; each view (a
pan or a zoom: GET /api/v1/observations/clusters) ≤ 100 ms of server time and ≤ 50 KB; the clusters
drawn in a phone's browser ≤ 1.5 s after navigation.

It seeds a throwaway database (a SQLite file; `--database postgres` starts a throwaway PostgreSQL
server as tests/pgserver.py does; or an EMPTY database at a postgresql:// URL) with `--points`
constats spread uniformly over ~2 x 2 km around Lillers (ten walks, 1 % of them re-visited by a
follow-up walk), signs in as a committee member and measures, in-process (server time, no network):

- the page: GET /carte (median, p90, HTML size), and the htmx block a filter change asks for;
- the page and a view "after a change": a constat's status is changed between requests, so
  whatever is kept in memory is stale and must be rebuilt (the first map opened after a constat
  arrives or is reviewed);
- views: the whole area at zoom 13, the neighbourhood at zoom 16, street level at zoom 18 (three
  places), each a bbox of a Pixel 5's map box (370 x 510 px) at that zoom;

then starts `walkapp serve` on the same database and opens /carte in Debian's Chromium as a Pixel
5 (Playwright): "drawn" is the time from navigation start to the last cluster or marker added to
the map (a MutationObserver; measured once no marker has been added for 1.5 s).

`--root` serves and imports another source tree, e.g. the "before":
    mkdir /tmp/walkapp-before && git archive main | tar -x -C /tmp/walkapp-before
(a tree without the clusters endpoint prints "n/a" for the views). A benchmark is read: it
prints, never asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "benchmarks"), str(ROOT / "tests")]
from load_capture import free_port, stop_server, wait_until_up  # noqa: E402 (the server helpers, one copy)

EMAIL, PASSWORD = "comite@bench.example", "mot-de-passe-bench"
CENTRE = (50.5636, 2.4826)
SPREAD = (0.01, 0.015)  # ± degrees of latitude and longitude: ~2.2 x 2.1 km
MAP_BOX = (370, 510)  # the map's box on a Pixel 5 (60vh of 851 px), CSS pixels
MARKERS = ".marker-cluster, .ring-cluster, path.leaflet-interactive"
BUDGET = {"page_kb": 150, "page_ms": 300, "view_ms": 100, "view_kb": 50, "drawn_ms": 1500}

# Records when markers or clusters are added to the page: the first and the last time.
WATCH_MARKERS = """
(() => {
  window.__marks = {first: null, last: null, count: 0};
  new MutationObserver(records => {
    for (const record of records) for (const node of record.addedNodes) {
      if (node.nodeType === 1 && (node.matches(%(sel)r) || node.querySelector(%(sel)r))) {
        const now = performance.now();
        window.__marks.first = window.__marks.first ?? now;
        window.__marks.last = now;
        window.__marks.count += 1;
      }
    }
  }).observe(document, {childList: true, subtree: true});
})();
""".replace("%(sel)r", repr(MARKERS))


def setup_env(database: str, work: Path) -> object | None:
    """Points walkapp at the throwaway database; returns the PostgreSQL server it started, if any."""
    server = None
    if database == "postgres":
        import pgserver

        server = pgserver.start()
        database = server.create_database("walkapp_bench")
    os.environ["WALKAPP_MEDIA_DIR"] = str(work / "media")
    os.environ["WALKAPP_SECRET_KEY"] = "bench-" + "x" * 40
    os.environ["WALKAPP_DATABASE_URL"] = f"sqlite:///{work / 'bench.sqlite'}" if database == "sqlite" else database
    # No tile server: the browser's tile requests fail at once instead of waiting on the network.
    os.environ["WALKAPP_TILES_URL"] = f"http://127.0.0.1:{free_port()}/{{z}}/{{x}}/{{y}}.png"
    os.environ["WALKAPP_BLUR_IN_SERVER"] = "0"
    return server


async def seed(points: int) -> None:
    import datetime as dt

    from walkapp import gusp
    from walkapp.accounts.services import create_user
    from walkapp.tables import Neighbourhood, Observation, Walk

    hood = Neighbourhood(qpv_code="QP062057", name="Ville Centre", town="Lillers",
                         centre_lat=CENTRE[0], centre_lon=CENTRE[1])
    await hood.save()
    walks = []
    for n in range(10):
        walk = Walk(neighbourhood=hood.id, title=f"Marche {n}", date=dt.date(2026, 1 + n, 10), status="closed",
                    join_secret=uuid.uuid4().hex)
        await walk.save()
        walks.append(walk.id)
    rng = random.Random(7)
    issues, angles, outcomes = gusp.codes("issue"), gusp.codes("angle"), gusp.codes("outcome")
    revisits = points // 100
    rows = [Observation(walk=walks[i % 10], client_uuid=str(uuid.uuid4()), issue=rng.choice(issues),
                        angle=rng.choice(angles), polarity=rng.choice(("negative", "negative", "positive")),
                        description="Constat de test " * 5, lat=CENTRE[0] + rng.uniform(-SPREAD[0], SPREAD[0]),
                        lon=CENTRE[1] + rng.uniform(-SPREAD[1], SPREAD[1]), location_source="device",
                        status=rng.choice(("validated", "validated", "validated", "new", "rejected")))
            for i in range(points - revisits)]
    for start in range(0, len(rows), 500):
        await Observation.insert(*rows[start:start + 500])
    # A follow-up walk re-visits 1 % of them: those markers take their outcome's colour.
    followup = Walk(neighbourhood=hood.id, title="Marche de suivi", date=dt.date(2026, 11, 20), status="closed",
                    join_secret=uuid.uuid4().hex, follows=walks[0])
    await followup.save()
    first = await Observation.select(Observation.id, Observation.lat, Observation.lon, Observation.issue,
                                     Observation.angle).where(Observation.walk == walks[0]).limit(revisits)
    again = [Observation(walk=followup.id, client_uuid=str(uuid.uuid4()), issue=r["issue"], angle=r["angle"],
                         polarity="negative", lat=r["lat"] + 0.00002, lon=r["lon"], location_source="device",
                         status="validated", revisit_of=r["id"], outcome=rng.choice(outcomes)) for r in first]
    for start in range(0, len(again), 500):
        await Observation.insert(*again[start:start + 500])
    await create_user(EMAIL, PASSWORD, "Comité", "committee")


def view_bbox(lat: float, lon: float, zoom: int, box: tuple[int, int] = MAP_BOX) -> str:
    """W,S,E,N of a `box`-pixel map centred on (lat, lon) at `zoom` (Web Mercator, 256 px tiles), as
    Leaflet's getBounds() gives it."""
    scale = 256 * 2 ** zoom

    def project(la: float, lo: float) -> tuple[float, float]:
        s = math.sin(math.radians(la))
        return (lo + 180) / 360 * scale, (0.5 - math.log((1 + s) / (1 - s)) / (4 * math.pi)) * scale

    def unproject(x: float, y: float) -> tuple[float, float]:
        n = math.pi - 2 * math.pi * y / scale
        return math.degrees(math.atan(math.sinh(n))), x / scale * 360 - 180

    x, y = project(lat, lon)
    north, west = unproject(x - box[0] / 2, y - box[1] / 2)
    south, east = unproject(x + box[0] / 2, y + box[1] / 2)
    return f"{west:.6f},{south:.6f},{east:.6f},{north:.6f}"


VIEWS = [("whole area, zoom 13", CENTRE, 13), ("neighbourhood, zoom 16", CENTRE, 16),
         ("street, zoom 18 (centre)", CENTRE, 18),
         ("street, zoom 18 (north-east)", (CENTRE[0] + 0.006, CENTRE[1] + 0.009), 18),
         ("street, zoom 18 (edge)", (CENTRE[0] - SPREAD[0], CENTRE[1] - SPREAD[1]), 18)]


def stats(timings: list[float]) -> tuple[float, float]:
    timings = sorted(timings)
    return statistics.median(timings), timings[max(0, math.ceil(0.9 * len(timings)) - 1)]


async def timed(client, path: str, runs: int, headers: dict | None = None, between=None, warm: int = 2):
    timings, size = [], 0
    for run in range(runs + warm):
        if between is not None:
            await between()
        t = time.perf_counter()
        response = await client.get(path, headers=headers or {})
        elapsed = (time.perf_counter() - t) * 1000
        if response.status_code == 404:
            return None
        assert response.status_code == 200, (path, response.status_code, response.text[:500])
        size = len(response.content)
        if run >= warm:
            timings.append(elapsed)
    return (*stats(timings), size)


def line(label: str, result, budget_ms: float | None = None, budget_kb: float | None = None) -> dict | None:
    if result is None:
        print(f"  {label:44} n/a (no such route in this tree)")
        return None
    median, p90, size = result
    verdict = ""
    if budget_ms is not None:
        ok = median <= budget_ms and (budget_kb is None or size / 1024 <= budget_kb)
        verdict = "  within budget" if ok else "  OUTSIDE budget"
    print(f"  {label:44} median {median:7.1f} ms  p90 {p90:7.1f} ms  {size / 1024:8.1f} KB{verdict}")
    return {"median": median, "p90": p90, "kb": size / 1024}


async def measure_server(points: int, runs: int) -> dict:
    from litestar.testing import AsyncTestClient

    from walkapp import db
    from walkapp.app import create_app
    from walkapp.cli import migrate
    from walkapp.tables import Observation

    await migrate(quiet=True)
    await db.prepare(pool=False)
    started = time.perf_counter()
    await seed(points)
    total = await Observation.count()
    print(f"seeded {total} constats in {time.perf_counter() - started:.1f} s")
    some = [r["id"] for r in await Observation.select(Observation.id).where(
        Observation.status == "validated").limit(50)]
    flips = iter(range(10**6))
    url = os.environ["WALKAPP_DATABASE_URL"]

    async def change_a_constat() -> None:
        # Between "new" and "validated": the view's count stays, but every cache must notice. On a
        # connection of its own: the app runs in the test client's thread, with its own pool.
        n = next(flips)
        status, constat = ("new" if n % 2 == 0 else "validated"), some[n % len(some)]
        if url.startswith("sqlite:///"):
            with sqlite3.connect(url[len("sqlite:///"):]) as connection:
                connection.execute("UPDATE observation SET status = ? WHERE id = ?", (status, constat))
        else:
            import asyncpg

            connection = await asyncpg.connect(url)
            await connection.execute("UPDATE observation SET status = $1 WHERE id = $2", status, constat)
            await connection.close()

    results: dict = {}
    # With PostgreSQL's connection pool, as `walkapp serve` runs (the app's lifespan starts it).
    async with AsyncTestClient(app=create_app(db_pool=True)) as client:
        await client.get("/connexion")
        await client.post("/connexion", data={"email": EMAIL, "password": PASSWORD},
                          headers={"x-csrftoken": client.cookies["walkapp_csrf"]})
        print("page (GET /carte, in-process):")
        results["page"] = line("full page /carte", await timed(client, "/carte", runs),
                               BUDGET["page_ms"], BUDGET["page_kb"])
        line("htmx block /carte?issue=dechets", await timed(client, "/carte?issue=dechets", runs,
                                                            {"hx-request": "true"}))
        results["page_changed"] = line("full page, a constat changed before each",
                                       await timed(client, "/carte", max(3, runs // 3), between=change_a_constat),
                                       BUDGET["page_ms"], BUDGET["page_kb"])
        print("views (GET /api/v1/observations/clusters, in-process):")
        results["views"] = {}
        for label, (lat, lon), zoom in VIEWS:
            path = f"/api/v1/observations/clusters?bbox={view_bbox(lat, lon, zoom)}&zoom={zoom}"
            results["views"][label] = line(label, await timed(client, path, runs), BUDGET["view_ms"], BUDGET["view_kb"])
        path = f"/api/v1/observations/clusters?bbox={view_bbox(*CENTRE, 16)}&zoom=16"
        results["view_changed"] = line("zoom 16, a constat changed before each",
                                       await timed(client, path, max(3, runs // 3), between=change_a_constat),
                                       BUDGET["view_ms"], BUDGET["view_kb"])
        path = f"/api/v1/observations/clusters?bbox={view_bbox(*CENTRE, 16)}&zoom=16&issue=dechets&polarity=negative"
        results["view_filtered"] = line("zoom 16, issue and polarity filters", await timed(client, path, runs),
                                        BUDGET["view_ms"], BUDGET["view_kb"])
    await db.release()
    return results


async def measure_browser(root: Path, work: Path, runs: int) -> list[float]:
    from playwright.async_api import async_playwright

    from browser import CHROMIUM, CHROMIUM_ARGS, PHONE

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = work / "server.log"
    env = {**os.environ, "PYTHONPATH": str(root)}
    with open(log, "w") as out:
        server = subprocess.Popen([sys.executable, "-m", "walkapp", "serve", "--port", str(port)],
                                  env=env, cwd=work, stdout=out, stderr=subprocess.STDOUT)
    drawn: list[float] = []
    try:
        wait_until_up(base, server, log)
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            context = await browser.new_context(**p.devices[PHONE], locale="fr-FR")
            await context.add_init_script(WATCH_MARKERS)
            page = await context.new_page()
            page.set_default_timeout(120_000)
            await page.goto(f"{base}/connexion")
            await page.get_by_label("Adresse e-mail").fill(EMAIL)
            await page.get_by_label("Mot de passe").fill(PASSWORD)
            await page.get_by_role("button", name="Se connecter").click()
            await page.wait_for_url(f"{base}/marches")
            for run in range(runs + 1):  # the first run warms the server's and the browser's caches
                await page.goto(f"{base}/carte", wait_until="commit")
                await page.wait_for_function("() => window.__marks && window.__marks.last !== null"
                                             " && performance.now() - window.__marks.last > 1500",
                                             polling=100, timeout=180_000)
                marks = await page.evaluate("() => window.__marks")
                shown = await page.locator(MARKERS).count()
                if run:
                    drawn.append(marks["last"])
                print(f"  {'(warm-up) ' if not run else ''}drawn at {marks['last']:7.0f} ms "
                      f"(first at {marks['first']:.0f} ms), {shown} clusters or markers on screen")
            await browser.close()
    finally:
        stop_server(server)
    return drawn


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--browser-runs", type=int, default=3)
    parser.add_argument("--no-browser", action="store_true")
    parser.add_argument("--database", default="sqlite",
                        help="sqlite (a temporary file), postgres (a throwaway server) or a postgresql:// URL")
    parser.add_argument("--root", type=Path, default=ROOT, help="the source tree to measure (default: this one)")
    args = parser.parse_args()
    root = args.root.resolve()
    sys.path.insert(0, str(root))
    logging.getLogger("httpx").setLevel(logging.WARNING)
    work = Path(tempfile.mkdtemp(prefix="walkapp-bench-map-"))
    pg = setup_env(args.database, work)
    print(f"walkapp from {root}; database {os.environ['WALKAPP_DATABASE_URL']}; {args.points} constats; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    try:
        results = asyncio.run(measure_server(args.points, args.runs))
        if not args.no_browser:
            print("browser (Chromium as a Pixel 5, navigation start -> clusters drawn):")
            drawn = asyncio.run(measure_browser(root, work, args.browser_runs))
            median = statistics.median(drawn)
            verdict = "within budget" if median <= BUDGET["drawn_ms"] else "OUTSIDE budget"
            print(f"  drawn: median {median:.0f} ms over {len(drawn)} runs  {verdict}")
        views = [v for v in results["views"].values() if v]
        if views:
            print(f"summary: page {results['page']['kb']:.1f} KB {results['page']['median']:.0f} ms "
                  f"(after a change {results['page_changed']['median']:.0f} ms); views "
                  f"{min(v['median'] for v in views):.1f}-{max(v['median'] for v in views):.1f} ms, "
                  f"≤ {max(v['kb'] for v in views):.1f} KB (after a change "
                  f"{results['view_changed']['median']:.0f} ms); load average {os.getloadavg()[0]:.1f}")
    finally:
        if pg is not None:
            pg.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
