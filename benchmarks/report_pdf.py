"""Benchmark (not a test): the walk's report PDF with 100 constats and their photos.
Budget (PRODUCT.md): <= 10 s and <= 10 MB.

    .venv/bin/python benchmarks/report_pdf.py [--constats 100] [--runs 3] [--out report.pdf] [--chromium]

In a temporary folder deleted at the end: a SQLite database and a media folder; one closed walk of
8 haltes, 100 constats (every issue, angle and polarity) each with a real photo from
../shared/photos/ok (the JPEGs and the HEIC in turn, each stamped with its number so every photo
has its own bytes) sent through the real photo pipeline, 20 actions. The tile server is a closed
loopback port: the map has no background (what a server without internet makes; with tiles the
PDF grows by the tiles' bytes, ~20 KB each, once). Then, in-process, as a coordinator:

  GET /marches/{id}/compte-rendu.pdf  first (cold: the print-sized JPEGs are made), then `runs`
  times warm; prints each time, the size, the pages and the embedded images (pypdf).

With --chromium it also prints, for the same report HTML, headless Chromium's --print-to-pdf time and
size (photos read from files), the measure behind walkapp/pdf.py's choice.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PHOTOS = ROOT.parent / "shared" / "photos" / "ok"
EMAIL, PASSWORD = "bench@ville.example", "banc-d-essai-rapport-2026"


def setup_env() -> Path:
    work = Path(tempfile.mkdtemp(prefix="walkapp-bench-report-"))
    os.environ["WALKAPP_MEDIA_DIR"] = str(work / "media")
    os.environ["WALKAPP_SECRET_KEY"] = "bench-" + "x" * 40
    os.environ["WALKAPP_DATABASE_URL"] = f"sqlite:///{work / 'bench.sqlite'}"
    os.environ["WALKAPP_TILES_URL"] = "http://127.0.0.1:9/{z}/{x}/{y}.png"  # discard port: nothing answers
    sys.path.insert(0, str(ROOT))
    return work


def stamped(path: Path, number: int) -> bytes:
    """The real photo with its number drawn on it: its own bytes, the same kind of content."""
    from PIL import Image, ImageDraw
    from pillow_heif import register_heif_opener

    register_heif_opener()
    with Image.open(path) as image:
        image = image.convert("RGB")
        ImageDraw.Draw(image).text((30, 30), f"constat {number}", fill=(255, 255, 0), font_size=60)
        out = io.BytesIO()
        image.save(out, "JPEG", quality=90)
    return out.getvalue()


async def seed(count: int) -> int:
    import datetime as dt

    from walkapp import gusp
    from walkapp.accounts.services import create_user
    from walkapp.actions.forms import ActionInput
    from walkapp.actions.services import create_action
    from walkapp.observations.schemas import ObservationInput
    from walkapp.observations.services import record
    from walkapp.storage import media_store
    from walkapp.tables import Neighbourhood, Partner, Stop
    from walkapp.walks.services import StopInput, WalkInput, create_walk, set_status

    user = await create_user(EMAIL, PASSWORD, "Banc d'essai", "coordinator", None)
    partner = Partner(name="SIA Habitat", kind="bailleur")
    await partner.save()
    hood = Neighbourhood(qpv_code="QP062057", name="Ville Centre", town="Lillers", centre_lat=50.5636,
                         centre_lon=2.4826)
    await hood.save()
    walk = await create_walk(WalkInput(neighbourhood=hood.id, title="Banc d'essai du compte rendu",
                                       date=dt.date(2026, 11, 25),
                                       stops=[StopInput(f"Halte {i + 1}", 50.5620 + i * 0.0006, 2.4800 + i * 0.0007)
                                              for i in range(8)]), None)
    await set_status(walk, "open")
    stops = await Stop.objects().where(Stop.walk == walk.id).order_by(Stop.position)
    sources = sorted(p for p in PHOTOS.iterdir() if p.suffix.lower() in (".jpg", ".heic"))
    issues, angles = gusp.codes("issue"), gusp.codes("angle")
    store = media_store()
    ids = []
    for n in range(count):
        stop = stops[n % len(stops)]
        data = ObservationInput(
            client_uuid=str(uuid.uuid4()), issue=issues[n % len(issues)], angle=angles[n % len(angles)],
            polarity="positive" if n % 4 == 0 else "negative", status="validated" if n % 3 else "new",
            description=f"Constat n° {n + 1} du banc d'essai : un commentaire de quelques mots, comme sur le terrain.",
            lat=stop.lat + (n % 5 - 2) * 0.00012, lon=stop.lon + (n % 7 - 3) * 0.00012, location_source="device",
            street="Rue Carnot", stop_id=stop.id,
            observed_at=dt.datetime(2026, 11, 25, 13, 0, tzinfo=dt.UTC) + dt.timedelta(minutes=n))
        source = sources[n % len(sources)]
        data.photos = [(stamped(source, n + 1), f"{source.stem}-{n}.jpg")]
        observation, _ = await record(store, walk, None, data)
        ids.append(observation.id)
    await set_status(walk, "closed")
    for n in range(20):
        await create_action(ActionInput(axe=issues[n % len(issues)], problem=f"Problème n° {n + 1}",
                                        actions="Intervention des services", pilot=partner.id,
                                        state=gusp.codes("action_state")[n % 5], constats=[ids[n * 5]]), user)
    return walk.id


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--constats", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path, help="keep the last PDF there")
    parser.add_argument("--chromium", action="store_true", help="also time headless Chromium on the same HTML")
    args = parser.parse_args()
    work = setup_env()
    logging.disable(logging.INFO)
    try:
        from litestar.testing import AsyncTestClient
        from pypdf import PdfReader

        from walkapp import db
        from walkapp.app import create_app
        from walkapp.cli import migrate

        await migrate(quiet=True)
        await db.prepare(pool=False)
        started = time.perf_counter()
        walk_id = await seed(args.constats)
        print(f"seeded {args.constats} constats with photos in {time.perf_counter() - started:.1f} s")
        async with AsyncTestClient(app=create_app(db_pool=False), timeout=120) as client:
            await client.get("/connexion")
            signed = await client.post("/connexion", data={"email": EMAIL, "password": PASSWORD},
                                       headers={"x-csrftoken": client.cookies["walkapp_csrf"]})
            assert signed.status_code in (200, 303), signed.text
            times, cpu_times, pdf = [], [], b""
            for run in range(args.runs + 1):
                started, cpu = time.perf_counter(), time.process_time()
                response = await client.get(f"/marches/{walk_id}/compte-rendu.pdf")
                elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
                assert response.status_code == 200, response.text[:500]
                pdf = response.content
                print(f"{'cold' if run == 0 else 'warm'} run: {elapsed:.2f} s wall, {cpu:.2f} s CPU, "
                      f"{len(pdf) / 1e6:.2f} MB")
                if run:
                    times.append(elapsed)
                    cpu_times.append(cpu)
            html = (await client.get(f"/marches/{walk_id}/compte-rendu")).text
        reader = PdfReader(io.BytesIO(pdf))
        import hashlib

        images = {hashlib.sha256(i.data).hexdigest(): len(i.data) for page in reader.pages for i in page.images}
        print(f"pages: {len(reader.pages)}, distinct images: {len(images)}, "
              f"{sum(images.values()) / 1e6:.2f} MB of them")
        median = statistics.median(times)
        size_mb = len(pdf) / 1e6
        verdict = "within" if median <= 10 and size_mb <= 10 else "OUTSIDE"
        print(f"median warm {median:.2f} s wall ({statistics.median(cpu_times):.2f} s CPU), {size_mb:.2f} MB: "
              f"{verdict} budget (<= 10 s, <= 10 MB); load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs "
              "(wall time on a busy machine is CPU time stretched by the others' load)")
        import resource

        print(f"peak RSS of this process (server, WeasyPrint and the seeding): "
              f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
        if args.out:
            args.out.write_bytes(pdf)
            print(f"kept: {args.out}")
        if args.chromium:
            chromium(html, work)
    finally:
        await db.release()
        shutil.rmtree(work, ignore_errors=True)


def chromium(html: str, work: Path) -> None:
    """The same page printed by headless Chromium: photos and static files read from disk."""
    import re

    from walkapp.reports.images import PRINT_FOLDER
    from walkapp.settings import STATIC_DIR
    from walkapp.tables import Photo  # noqa: F401 (the print files exist: the PDF runs made them)

    media = work / "media"
    prints = sorted((media / PRINT_FOLDER).rglob("*.jpg"))
    by_number = iter(prints)
    page = re.sub(r'src="/marches/\d+/compte-rendu/photos/\d+"', lambda m: f'src="file://{next(by_number, prints[0])}"',
                  html)
    page = page.replace('href="/static/', f'href="file://{STATIC_DIR}/').replace('src="/static/', f'src="file://{STATIC_DIR}/')
    source = work / "report.html"
    source.write_text(page)
    target = work / "chromium.pdf"
    import resource

    started, children = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(["/usr/bin/chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
                    f"--print-to-pdf={target}", source.as_uri()], capture_output=True, check=True, timeout=120)
    elapsed, after = time.perf_counter() - started, resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime
    print(f"chromium --print-to-pdf (browser launched for it): {elapsed:.2f} s wall, {cpu:.2f} s CPU "
          f"(all its processes), peak RSS of its largest process {after.ru_maxrss / 1024:.0f} MB, "
          f"{target.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    asyncio.run(main())
