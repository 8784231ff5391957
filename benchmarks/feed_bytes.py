"""What an idle phone costs on the walk page, in bytes per hour (PRODUCT.md, Budgets: "Feed").

    .venv/bin/python benchmarks/feed_bytes.py [--constats 20] [--minutes 60] [--root PATH]

It starts `walkapp serve` from the source tree `--root` (default: this one; give an export of an
older commit to measure "before") on a fresh temporary SQLite database, loads the demo, adds
`--constats` constats to its open walk (another participant, through the API), then opens the
join link in Chromium as a phone (Playwright, Pixel 5), joins, and stays on the field page. The
service worker is on, as on a phone: its own fetches count, answers from its cache do not.

The page's clock is Playwright's: `--minutes` of polling are played in seconds, each poll a real
request to the real server, waited for before the next. Counted per request as Chromium reports
it (request headers + body, response headers + body as received, i.e. compressed): the page's
first load (cold caches), then the idle minutes with the tab visible, then with it hidden
(document.visibilityState patched, as when the phone's screen is off or another app is in
front). Figures are scaled to an hour. A benchmark is read: it prints, never asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import sys
import tempfile
import uuid
from collections import Counter
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "benchmarks"), str(ROOT / "tests")]
from browser import CHROMIUM, CHROMIUM_ARGS, set_visibility  # noqa: E402 (Chromium as the browser tests drive it)
from load_capture import (  # noqa: E402 (the server helpers, one copy)
    CSRF_COOKIE, free_port, server_env, start_server, stop_server, wait_until_up, walkapp)

POLL_MS = 4_000


class Meter:
    """Bytes on the wire per request, as Chromium counts them, grouped by what was asked."""

    def __init__(self) -> None:
        self.up = 0
        self.down = 0
        self.statuses: Counter[str] = Counter()
        self.pending: set = set()

    def reset(self) -> None:
        self.__init__()

    def started(self, request) -> None:
        self.pending.add(request)

    def failed(self, request) -> None:
        self.pending.discard(request)
        self.statuses["failed"] += 1

    async def finished(self, request) -> None:
        try:
            sizes = await request.sizes()
            response = await request.response()
        finally:
            self.pending.discard(request)
        kind = "feed" if request.url.split("?")[0].endswith("/fil") else "other"
        if response is not None and response.from_service_worker:
            # Answered by the service worker: no byte on the network for this one (the worker's
            # own fetch, if it made one, is counted as a request of its own).
            self.statuses[f"{kind} from the service worker"] += 1
            return
        self.up += sizes["requestHeadersSize"] + sizes["requestBodySize"]
        self.down += sizes["responseHeadersSize"] + max(sizes["responseBodySize"], 0)
        self.statuses[f"{kind} {response.status if response else '?'}"] += 1

    async def settle(self, timeout_s: float = 10) -> None:
        for _ in range(int(timeout_s / 0.02)):
            if not self.pending:
                return
            await asyncio.sleep(0.02)


async def add_constats(base_url: str, join_path: str, count: int) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        await client.get(join_path)
        joined = await client.post(join_path, data={"display_name": "Ali"},
                                   headers={"x-csrftoken": client.cookies[CSRF_COOKIE]})
        walk_id = int(re.match(r"/marches/(\d+)/", joined.headers["location"]).group(1))
        for number in range(count):
            response = await client.post(
                f"/api/v1/walks/{walk_id}/observations",
                data={"client_uuid": str(uuid.uuid4()), "issue": ("dechets", "proprete", "ambiance")[number % 3],
                      "angle": "usages", "polarity": "negative", "street": "Rue Carnot",
                      "description": f"Constat n° {number} : dépôt au pied du conteneur, côté parking."},
                headers={"x-csrftoken": client.cookies[CSRF_COOKIE]})
            response.raise_for_status()


async def idle(page, meter: Meter, minutes: float) -> None:
    """Plays `minutes` of the page's clock one poll period at a time, letting each request the
    period starts finish before the next (htmx drops a poll while one is in flight)."""
    for _ in range(int(minutes * 60_000 / POLL_MS)):
        await page.clock.run_for(POLL_MS)
        await page.wait_for_timeout(40)
        await meter.settle()
    await page.wait_for_timeout(500)
    await meter.settle()


def line(label: str, meter: Meter, minutes: float | None = None) -> str:
    scale = 60 / minutes if minutes else 1
    total = (meter.up + meter.down) * scale
    unit = "per hour" if minutes else "once"
    statuses = ", ".join(f"{k}: {round(v * scale)}" for k, v in sorted(meter.statuses.items()))
    return (f"{label:<22} {total / 1024:9.1f} KB {unit:<8} (down {meter.down * scale / 1024:.1f} KB, "
            f"up {meter.up * scale / 1024:.1f} KB; {statuses or 'no request'})")


async def measure(base_url: str, join_url: str, minutes: float) -> list[str]:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = await browser.new_context(**p.devices["Pixel 5"], locale="fr-FR")
        await context.clock.install()
        meter = Meter()  # the context's requests: the page's and its service worker's
        context.on("request", meter.started)
        context.on("requestfailed", meter.failed)
        context.on("requestfinished", lambda request: asyncio.ensure_future(meter.finished(request)))
        page = await context.new_page()
        await page.goto(join_url)
        await page.get_by_label(re.compile("^Votre nom")).fill("Zoé")
        await page.get_by_role("button", name="Rejoindre la marche").click()
        await page.wait_for_url(re.compile(r"/marches/\d+/terrain$"))
        await page.wait_for_load_state("networkidle")
        await meter.settle()
        lines = [line("first load (cold)", meter)]
        meter.reset()
        await idle(page, meter, minutes)
        lines.append(line("idle, tab visible", meter, minutes))
        meter.reset()
        await set_visibility(page, "hidden")
        await idle(page, meter, minutes)
        lines.append(line("idle, tab hidden", meter, minutes))
        await browser.close()
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="the source tree to serve (default: this one)")
    parser.add_argument("--constats", type=int, default=20, help="constats in the walk's feed (default 20)")
    parser.add_argument("--minutes", type=float, default=60, help="idle minutes played per state (default 60)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="walkapp-bench-feed-"))
    env = {**server_env(work), "PYTHONPATH": str(args.root.resolve())}
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    server = None
    try:
        walkapp(["migrate"], env, work)
        demo = walkapp(["demo", "--url", base_url], env, work)
        join_url = next(text.split(" ", 1)[1] for text in demo.splitlines() if text.startswith("join: "))
        server = start_server(port, env, work, work / "server.log")
        wait_until_up(base_url, server, work / "server.log")
        asyncio.run(add_constats(base_url, join_url.removeprefix(base_url), args.constats))
        print(f"walkapp from {args.root.resolve()}, {args.constats} constats in the feed, "
              f"{args.minutes:g} idle minutes per state, load average {os.getloadavg()[0]:.2f}")
        for text in asyncio.run(measure(base_url, join_url, args.minutes)):
            print(text)
    finally:
        if server is not None:
            stop_server(server)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
