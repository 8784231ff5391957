"""The field page's feed in a real phone browser (issue 11, "light on the network"): polls name the
feed on screen and get bodiless 304s while nothing changes; a hidden tab does not poll, and a
shown one refreshes at once."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from browser import problems, set_visibility
from conftest import make_walk
from test_exports import constat, store  # noqa: F401 (the fixture)

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("server_log_stays_clean")]

POLL_MS = 4_000


def is_poll(url: str) -> bool:
    return url.split("?")[0].endswith("/fil")


async def next_poll(page: Page, action):
    """What the server answered to the poll `action` causes."""
    async with page.expect_response(lambda r: is_poll(r.url)) as info:
        await action()
    return await info.value


async def test_feed_revalidates_and_sleeps_in_a_hidden_tab(phone, live_server, store):  # noqa: F811
    base = live_server["url"]
    walk = await make_walk("open")
    page = await phone(install_clock=True)
    await page.goto(f"{base}/j/{walk.join_secret}")
    await page.get_by_label(re.compile("^Votre nom")).fill("Zoé")
    await page.get_by_role("button", name="Rejoindre la marche").click()
    await page.wait_for_url(f"{base}/marches/{walk.id}/terrain")
    tick = lambda: page.clock.run_for(POLL_MS + 100)  # noqa: E731

    first = await next_poll(page, tick)
    assert first.status == 200 and first.headers["etag"].startswith('W/"')
    # Unchanged: the poll names the feed on screen and gets a 304 with no body; nothing is swapped.
    live = await page.locator("#live").element_handle()
    unchanged = await next_poll(page, tick)
    assert unchanged.status == 304 and (await unchanged.request.sizes())["responseBodySize"] == 0
    assert (await unchanged.request.all_headers())["if-none-match"] == first.headers["etag"]
    assert await live.evaluate("e => e.isConnected"), "a 304 replaced the feed"

    # Someone else's constat: the next poll brings it.
    await constat(store, walk, description="Tag sur le transformateur")
    changed = await next_poll(page, tick)
    assert changed.status == 200 and changed.headers["etag"] != first.headers["etag"]
    await expect(page.locator("#counts-title")).to_have_text("1 constat")

    # Hidden (another app, the screen off): no poll at all for five poll periods.
    polls: list[str] = []
    page.on("request", lambda r: polls.append(r.url) if is_poll(r.url) else None)
    await set_visibility(page, "hidden")
    await constat(store, walk, description="Banc cassé")
    for _ in range(5):
        await page.clock.run_for(POLL_MS)
    await page.wait_for_timeout(300)
    assert polls == [], polls
    await expect(page.locator("#counts-title")).to_have_text("1 constat")

    # Shown again: one poll at once, without waiting for the next period.
    shown = await next_poll(page, lambda: set_visibility(page, "visible"))
    assert shown.status == 200
    await expect(page.locator("#counts-title")).to_have_text("2 constats")
    resumed = await next_poll(page, tick)
    assert resumed.status == 304
    assert problems(page) == [], problems(page)


async def test_service_worker_serves_versioned_static_files_offline(phone, live_server):
    """Pages name static files with their version (?v=): the service worker keeps each version it
    served; offline, a version it never saw (a page rendered after a deploy) gets the copy it has."""
    base = live_server["url"]
    walk = await make_walk("open")
    page = await phone()
    await page.goto(f"{base}/j/{walk.join_secret}")
    await page.get_by_label(re.compile("^Votre nom")).fill("Zoé")
    await page.get_by_role("button", name="Rejoindre la marche").click()
    await page.wait_for_url(f"{base}/marches/{walk.id}/terrain")
    await page.wait_for_function("() => navigator.serviceWorker && navigator.serviceWorker.controller !== null")
    feed_js = await page.locator("script[src*='/js/feed.js']").get_attribute("src")
    assert re.fullmatch(r"/static/js/feed\.js\?v=[0-9a-f]{10}", feed_js), feed_js
    await page.reload()  # now under the worker's control: it keeps what the page asks for
    await page.wait_for_timeout(500)

    await page.context.set_offline(True)
    fetch = """async url => { const r = await fetch(url); return [r.status, (await r.text()).length]; }"""
    status, length = await page.evaluate(fetch, feed_js)
    assert status == 200 and length > 100
    status, other = await page.evaluate(fetch, "/static/js/feed.js?v=0123456789")
    assert status == 200 and other == length
    await page.reload()
    await expect(page.locator("#live")).to_be_attached()
    assert await page.evaluate("() => typeof window.htmx") == "object"
    await page.context.set_offline(False)
    assert problems(page) == [], problems(page)
