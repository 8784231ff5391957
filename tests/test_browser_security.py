"""In Chromium, with the Content-Security-Policy on: the field page, the map and the actions pages
run without a single violation; after a sign-out no staff page can be read offline; a constat
waiting in the outbox survives a sign-out and another walk's join, and leaves exactly once."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from browser import problems, service_worker_controls, sign_in
from conftest import PHOTOS, make_user, make_walk
from test_api_observations import join as join_by_client
from test_browser_capture import join, make_constat, server_count, wait_for_count
from test_review import KNOWN, seed
from test_browser_map import COUNT_DRAWN

from walkapp.tables import Observation

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("server_log_stays_clean")]

# Every CSP violation of the page (and of its workers' fetches) lands in window.__csp.
WATCH_CSP = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  var where = (e.sourceFile || "") + ":" + e.lineNumber;
  window.__csp.push([e.violatedDirective, e.blockedURI || "inline", where].join(" "));
});
"""


def watch(page) -> list[str]:
    """Console errors and warnings, but a tile server out of reach (this machine has no Internet)."""
    seen: list[str] = []
    page.on("console", lambda m: seen.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") and
            "Failed to load resource" not in m.text else None)
    return seen


async def violations(page) -> list[str]:
    return await page.evaluate("window.__csp || []")


async def test_pages_run_under_the_csp(phone, live_server, client):
    base = live_server["url"]
    walk = await make_walk("open")
    await join_by_client(client, walk)
    ids = await seed(client, walk, KNOWN)

    resident = await join(phone, base, walk, "Zoé")
    await resident.context.add_init_script(WATCH_CSP)
    console = watch(resident)
    await resident.reload()
    await make_constat(resident, "Déchets", "Usages", "Sous CSP", PHOTOS / "ok" / "portrait_6.jpg")
    assert await wait_for_count(walk.id, len(ids) + 1) == len(ids) + 1
    await expect(resident.locator(".feed-item").first).to_contain_text("Sous CSP", timeout=8_000)
    assert await violations(resident) == [] and console == [] and problems(resident) == []

    coordinator = await make_user("coordinator")
    staff = await phone(viewport={"width": 1280, "height": 900}, is_mobile=False, has_touch=False,
                        device_scale_factor=1)
    await staff.context.add_init_script(WATCH_CSP)
    console = watch(staff)
    await sign_in(staff, base, coordinator.email)
    checked = []
    for path, ready in ((f"/carte?walk={walk.id}", "#map-count"), (f"/constats/{ids[0]}", ".folium-map"),
                        ("/actions", "#action-count"), (f"/actions/nouvelle?constats={ids[0]},{ids[1]}", "form"),
                        ("/marches/nouvelle", "#stop-rows"), ("/comptes", "#accounts"), ("/compte", "#password-form")):
        await staff.goto(base + path)
        await expect(staff.locator(ready).first).to_be_visible()
        checked.append((path, await violations(staff)))
    # The map's clusters were drawn: folium's inline script ran (it has the nonce) and called
    # static/js/map.js, which asked the view's clusters ...
    await staff.goto(f"{base}/carte?walk={walk.id}")
    await expect(staff.locator("#map-count")).to_contain_text(f"{len(ids) + 1} constats")
    await expect(staff.locator('.map-box[data-view="drawn"]')).to_have_count(1)
    assert await staff.evaluate(COUNT_DRAWN) == len(ids) + 1
    # ... and again after htmx swapped in the filtered map (its script runs with the page's nonce).
    await staff.get_by_label("Enjeu", exact=True).select_option("dechets")
    await expect(staff.locator("#map-count")).to_contain_text("4 constats sur la carte")
    await expect(staff.locator('.map-box[data-view="drawn"]')).to_have_count(1)
    assert await staff.evaluate(COUNT_DRAWN) == 4
    checked.append(("/carte filtered", await violations(staff)))
    # "Ajouter une halte" (its row number came from an eval'd hx-vals before).
    await staff.goto(f"{base}/marches/nouvelle")
    await staff.get_by_role("button", name="Ajouter une halte").click()
    await expect(staff.get_by_label("Halte 2 : nom")).to_be_visible()
    checked.append(("/marches/nouvelle + halte", await violations(staff)))
    assert all(not found for _, found in checked), checked
    assert console == [] and problems(staff) == []


async def _cached_urls(page) -> list[str]:
    return await page.evaluate("""async () => {
      const urls = [];
      for (const name of await caches.keys()) {
        for (const request of await (await caches.open(name)).keys()) urls.push(name + " " + request.url);
      }
      return urls;
    }""")


async def test_no_staff_page_is_readable_offline_after_sign_out(phone, live_server):
    base = live_server["url"]
    walk = await make_walk("open")
    agent = await make_user("agent")
    page = await phone()
    await sign_in(page, base, agent.email)
    await page.goto(f"{base}/marches/{walk.id}/terrain")  # installs the service worker
    await service_worker_controls(page)
    for path in ("/marches", f"/marches/{walk.id}", "/carte", f"/marches/{walk.id}/terrain"):
        await page.goto(base + path)
        await expect(page.locator("h1").first).to_be_visible()
    await page.wait_for_timeout(500)
    # Static files, and the walk's map tiles (public images; here only their list: OSM's tiles
    # are not fetched in advance) are all the worker kept: no staff answer.
    kept = [u for u in await _cached_urls(page) if "/static/" not in u and not u.startswith("walkapp-tiles-")]
    assert not kept, "staff answers were cached"

    await page.get_by_role("button", name="Se déconnecter").click()
    await page.wait_for_url(f"{base}/connexion")
    await page.context.set_offline(True)
    for path in ("/marches", f"/marches/{walk.id}", f"/marches/{walk.id}/terrain"):
        try:
            await page.goto(base + path)
        except Exception:  # noqa: BLE001 - net::ERR_INTERNET_DISCONNECTED: nothing kept, as wanted
            continue
        text = await page.locator("body").inner_text()
        assert "Marche test" not in text and "Halte" not in text and "Se déconnecter" not in text, (path, text)
    await page.context.set_offline(False)


async def test_outbox_survives_sign_out_and_another_join_and_leaves_once(phone, live_server):
    base = live_server["url"]
    first = await make_walk("open", title="Première marche")
    second = await make_walk("open", title="Seconde marche")
    page = await join(phone, base, first, "Zoé")
    await service_worker_controls(page)
    # The upload fails (a dead spot): the constat waits in the outbox.
    await page.context.route("**/api/v1/walks/*/observations", lambda route: route.abort("internetdisconnected"))
    await make_constat(page, "Propreté", "Conception", "En attente pendant la sortie")
    await expect(page.locator(".outbox-item")).to_have_count(1)
    await page.wait_for_timeout(1_000)
    assert await server_count(first.id) == 0
    assert [u for u in await _cached_urls(page) if f"/marches/{first.id}/terrain" in u]

    # The phone changes hands: sign-out, and the next person joins another walk.
    await page.get_by_role("button", name="Se déconnecter").click()
    await page.wait_for_url(f"{base}/connexion")
    await page.wait_for_timeout(300)
    assert not [u for u in await _cached_urls(page) if "/static/" not in u], "the previous person's pages remain"
    await page.goto(f"{base}/j/{second.join_secret}")
    await page.get_by_label("Votre nom").fill("Ali")
    await page.get_by_role("button", name="Rejoindre la marche").click()
    await page.wait_for_url(f"{base}/marches/{second.id}/terrain")
    assert (await page.request.get(f"{base}/marches/{first.id}/terrain")).status == 403  # not Zoé any more

    await page.context.unroute("**/api/v1/walks/*/observations")
    await expect(page.locator(".outbox-item")).to_have_count(0, timeout=20_000)
    assert await wait_for_count(first.id, 1) == 1
    await page.wait_for_timeout(6_000)  # a stray retry must not add a second one
    assert await server_count(first.id) == 1 and await server_count(second.id) == 0
    constat = await Observation.objects(Observation.participant).first()
    assert constat.participant.display_name == "Zoé" and constat.description == "En attente pendant la sortie"
    assert problems(page) == []
