"""What every browser test needs: Debian's Chromium driven by Playwright as a phone, against the
`live_server` fixture (a real `walkapp serve`), with JS errors, dialogs and server tracebacks
turned into failures. Loaded as a plugin by conftest.py; browser test modules say
`pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("server_log_stays_clean")]`.

Chromium must be at /usr/bin/chromium (`apt-get install chromium`): these tests fail, they never
skip, when it is missing.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import Page, async_playwright, expect

from conftest import PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SHOTS = Path("/tmp/walkapp-shots")
PHONE = "Pixel 5"
PHONE_WIDTH = 393

expect.set_options(timeout=10_000)


@pytest.fixture(scope="module")
async def playwright_browser():
    """One Chromium for the module; each test opens its own phone context(s)."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium)")
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield p, browser
        finally:
            await browser.close()


@pytest.fixture
async def phone(playwright_browser):
    """Opens phone contexts (French, Pixel 5) for the test; each page records its JS errors/dialogs."""
    p, browser = playwright_browser
    contexts = []

    async def open_phone(install_clock: bool = False, **options) -> Page:
        context = await browser.new_context(**{**p.devices[PHONE], "locale": "fr-FR", **options})
        context.set_default_timeout(10_000)
        # A page load may wait on a busy machine (the two engines' passes run side by side, a
        # report or a PDF may be rendering): a slow goto is not what these tests judge.
        context.set_default_navigation_timeout(30_000)
        if install_clock:
            # Time keeps flowing; the test can fast-forward it to fire htmx's "every 10s" poll.
            await context.clock.install()
        contexts.append(context)
        page = await context.new_page()
        seen: list[str] = []
        page.problems = seen  # type: ignore[attr-defined]

        async def on_dialog(dialog) -> None:
            seen.append(f"dialog: {dialog.message}")
            await dialog.dismiss()

        page.on("pageerror", lambda exc: seen.append(f"JS error: {exc}"))
        page.on("dialog", on_dialog)
        return page

    yield open_phone
    for context in contexts:
        await context.close()


@pytest.fixture
def server_log_stays_clean(live_server):
    """Whatever the browser asked for (its /favicon.ico too), the server logged no traceback."""
    log: Path = live_server["log"]
    start = log.stat().st_size
    yield
    with open(log, encoding="utf-8", errors="replace") as f:
        f.seek(start)
        new = f.read()
    bad = re.findall(r".*(?:database is locked|Traceback|Internal Server Error|Unhandled error).*", new)
    assert not bad, "server log:\n" + new[-4000:]


_SET_VISIBILITY = """state => {
  for (const [name, value] of [["visibilityState", state], ["hidden", state === "hidden"]]) {
    Object.defineProperty(document, name, {configurable: true, get: () => value});
  }
  document.dispatchEvent(new Event("visibilitychange"));
}"""


async def set_visibility(page: Page, state: str) -> None:
    """As when the phone's screen goes off or another app comes in front ("hidden"), and back
    ("visible"): headless Chromium's pages stay visible, so what the page reads is patched."""
    await page.evaluate(_SET_VISIBILITY, state)


async def service_worker_controls(page: Page) -> None:
    """Wait until the service worker controls the page, and a moment for it to keep what it fetched."""
    await page.wait_for_function("() => navigator.serviceWorker && navigator.serviceWorker.controller !== null")
    await page.wait_for_timeout(500)


async def image_loaded(page: Page, selector: str, timeout: float = 10_000) -> None:
    """Wait until the first image matching `selector` has loaded with pixels. A single check races
    with lazy loading and with htmx swapping the block (a feed poll): wait, don't look once."""
    await page.wait_for_function(
        "s => { const i = document.querySelector(s); return !!i && i.complete && i.naturalWidth > 0 }",
        arg=selector, timeout=timeout)


def problems(page: Page) -> list[str]:
    return page.problems  # type: ignore[attr-defined]


async def sign_in(page: Page, base: str, email: str) -> None:
    await page.goto(f"{base}/connexion")
    await page.get_by_label("Adresse e-mail").fill(email)
    await page.get_by_label("Mot de passe").fill(PASSWORD)
    await page.get_by_role("button", name="Se connecter").click()
    await page.wait_for_url(f"{base}/marches")


async def assert_fits_phone_width(page: Page) -> None:
    """The layout viewport is the phone's (the viewport meta works) and nothing scrolls sideways."""
    width, scroll_width = await page.evaluate(
        "[window.innerWidth, document.documentElement.scrollWidth]")
    assert width == PHONE_WIDTH, f"{page.url}: viewport is {width}px wide, not {PHONE_WIDTH}px"
    assert scroll_width <= width, f"{page.url}: horizontal scroll ({scroll_width}px > {width}px)"


async def assert_every_field_labelled(page: Page) -> int:
    """Every visible form field has a <label>, and get_by_label(that label) finds it."""
    fields = page.locator("input:not([type=hidden]), select, textarea")
    count = await fields.count()
    for i in range(count):
        field = fields.nth(i)
        html = await field.evaluate("e => e.outerHTML")
        label = await field.evaluate("e => e.labels && e.labels.length ? e.labels[0].innerText.trim() : ''")
        assert label, f"{page.url}: field without a label: {html}"
        found = page.get_by_label(label, exact=True)
        handle = await field.element_handle()
        assert await found.evaluate_all("(all, e) => all.includes(e)", handle), (
            f"{page.url}: get_by_label({label!r}) does not find {html}")
    return count


def injected(scope):
    """Elements that would exist only if the display name '<b>Zoé</b> <img …>' had been parsed as HTML."""
    return scope.locator("b", has_text="Zoé").or_(scope.locator("img[onerror], img[src='x']"))


async def screenshot(page: Page, name: str, backend: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"{name}-{backend}.png"), full_page=True)


