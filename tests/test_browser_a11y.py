"""Accessibility in Chromium: every page of the README passes axe-core's WCAG 2.1 A/AA rules with
0 violations, on a phone (Pixel 5) and a 1366x768 desktop; on the phone pages every control is a
tap target of at least 44x44 CSS px; the colours' text contrast is computed, never guessed.

axe-core is vendored under tests/vendor (npm, MPL-2.0), never served by the app. Playwright's
add_script_tag injects it as an inline <script>, which the app's CSP (nonce-only scripts) rightly
blocks: these contexts alone open with `bypass_csp=True`. The CSP itself is tested elsewhere
(tests/test_browser_security.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import expect

from browser import assert_fits_phone_width, problems, sign_in
from conftest import make_user, make_walk
from test_api_observations import join as join_by_api
from test_review import KNOWN, seed

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("server_log_stays_clean")]

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
LILLERS = {"latitude": 50.5636, "longitude": 2.4826, "accuracy": 12}
DESKTOP = {"viewport": {"width": 1366, "height": 768}, "is_mobile": False, "has_touch": False,
           "device_scale_factor": 1}
MIN_TAP = 44  # WCAG 2.5.5 (AAA) target size, which the product asks of every phone page

RUN_AXE = """async () => {
  const result = await axe.run(document, {runOnly: {type: 'tag',
    values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}});
  return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
    targets: v.nodes.map(n => n.target.join(' ')).slice(0, 8), count: v.nodes.length}));
}"""

# Every control a finger aims at, with its effective target: a visually hidden radio, checkbox
# or file input is aimed at through its label. Links inside a line of text are exempt (WCAG 2.5.5
# "Inline": their size is the text's), like elements off-screen (the skip link until focused).
SMALL_TARGETS = """(minimum) => {
  const visible = e => { const s = getComputedStyle(e);
    return s.display !== 'none' && s.visibility !== 'hidden' && e.getClientRects().length > 0; };
  const inline = a => {
    if (getComputedStyle(a).display !== 'inline') return false;
    let block = a.parentElement;
    while (block && getComputedStyle(block).display.startsWith('inline')) block = block.parentElement;
    return block && block.textContent.trim().length > a.textContent.trim().length;
  };
  const targets = new Set();
  document.querySelectorAll('a[href], button, select, summary, input[type=checkbox], input[type=radio],'
                            + ' input[type=file], .ring-cluster').forEach(e => {
    if (e.matches('input') && e.labels && e.labels.length) e.labels.forEach(l => targets.add(l));
    else targets.add(e);
  });
  const small = [];
  targets.forEach(e => {
    if (!visible(e) || (e.matches('a') && inline(e))) return;
    const r = e.getBoundingClientRect();
    if (r.right <= 0 || r.bottom <= 0 && window.scrollY === 0 && r.top < -100) return;
    if (r.width < minimum || r.height < minimum) {
      const name = (e.getAttribute('aria-label') || e.textContent || e.name || '').trim().slice(0, 40);
      small.push(`${e.tagName.toLowerCase()}${e.className ? '.' + String(e.className).split(' ').join('.') : ''}`
                 + ` "${name}" ${Math.round(r.width)}x${Math.round(r.height)}`);
    }
  });
  return small;
}"""


@pytest.fixture
async def site(client):
    """A walk under way with the known constats, an action linked to one, a coordinator."""
    from walkapp.actions.forms import ActionInput
    from walkapp.actions.services import create_action

    walk = await make_walk("open", stops=8)  # more haltes than a phone's width: the chips scroll
    await join_by_api(client, walk)
    ids = await seed(client, walk, KNOWN)
    coordinator = await make_user("coordinator")
    action = await create_action(ActionInput(axe="dechets", problem="Dépôts sauvages",
                                             constats=[ids[0]]), coordinator)
    return {"walk": walk, "constat": ids[0], "action": action.id, "coordinator": coordinator}


def staff_pages(site) -> list[str]:
    walk = site["walk"].id
    return ["/marches", f"/marches/{walk}", "/marches/nouvelle", "/carte", f"/constats/{site['constat']}",
            "/actions", "/actions/nouvelle", f"/actions/{site['action']}", "/actions/bilan",
            "/open311/cles", "/compte", "/comptes", "/page-qui-n-existe-pas",
            "/bilan", "/bilan?modifier=dechets.encombrants", "/bilan?modifier=appreciation.dechets"]


async def settle(page) -> None:
    """The page drawn: its main part shown, fonts and the map's first frame in place."""
    await expect(page.locator("main")).to_be_visible()
    await page.wait_for_load_state("load")
    # The committee's map draws the clusters its script asks for after the load (static/js/map.js).
    await page.wait_for_function("() => !document.querySelector('.map-box[data-clusters-url]:not([data-view=drawn])')")
    await page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


async def axe_violations(page, where: str) -> list[str]:
    await settle(page)
    await page.add_script_tag(path=str(AXE))
    found = await page.evaluate(RUN_AXE)
    return [f"{where}: {v['id']} ({v['impact']}, {v['count']}x) {v['help']}\n    " + "\n    ".join(v["targets"])
            for v in found]


async def join_walk(page, base: str, walk) -> None:
    await page.goto(f"{base}/j/{walk.join_secret}")
    await page.get_by_label("Votre nom").fill("Zoé")
    await page.get_by_role("button", name="Rejoindre la marche").click()
    await page.wait_for_url(f"{base}/marches/{walk.id}/terrain")


async def open_constat_form(page) -> None:
    await page.get_by_role("button", name="Nouveau constat").click()
    await expect(page.locator("#constat-form")).to_be_visible()


def device(kind: str) -> dict:
    return {} if kind == "phone" else DESKTOP


@pytest.mark.parametrize("kind", ["phone", "desktop"])
async def test_every_page_passes_axe_wcag21_aa(kind, phone, live_server, site):
    base = live_server["url"]
    found: list[str] = []
    visitor = await phone(bypass_csp=True, geolocation=LILLERS, permissions=["geolocation"], **device(kind))
    for path in ("/", "/connexion", f"/j/{site['walk'].join_secret}"):
        await visitor.goto(base + path)
        found += await axe_violations(visitor, f"{kind} {path}")
    await join_walk(visitor, base, site["walk"])
    await open_constat_form(visitor)
    found += await axe_violations(visitor, f"{kind} /marches/{site['walk'].id}/terrain (constat form open)")

    staff = await phone(bypass_csp=True, **device(kind))
    await sign_in(staff, base, site["coordinator"].email)
    for path in staff_pages(site):
        await staff.goto(base + path)
        found += await axe_violations(staff, f"{kind} {path}")
    assert not found, f"{len(found)} axe violation(s):\n" + "\n".join(found)
    assert problems(visitor) == [] and problems(staff) == []


async def test_phone_tap_targets_are_44px(phone, live_server, site):
    base = live_server["url"]
    small: list[str] = []
    visitor = await phone(geolocation=LILLERS, permissions=["geolocation"])
    await visitor.goto(f"{base}/j/{site['walk'].join_secret}")
    await settle(visitor)
    small += [f"join: {s}" for s in await visitor.evaluate(SMALL_TARGETS, MIN_TAP)]
    await join_walk(visitor, base, site["walk"])
    await open_constat_form(visitor)
    small += [f"field: {s}" for s in await visitor.evaluate(SMALL_TARGETS, MIN_TAP)]

    staff = await phone()
    await sign_in(staff, base, site["coordinator"].email)
    for path in ("/carte", f"/constats/{site['constat']}", "/actions"):
        await staff.goto(base + path)
        await settle(staff)
        small += [f"{path}: {s}" for s in await staff.evaluate(SMALL_TARGETS, MIN_TAP)]
    assert not small, f"{len(small)} tap target(s) under {MIN_TAP}x{MIN_TAP} px:\n" + "\n".join(small)


async def test_focus_is_visible_on_every_kind_of_control(phone, live_server, site):
    """Tabbing through the field page and the table, each focused control draws an outline."""
    base = live_server["url"]
    visitor = await phone(geolocation=LILLERS, permissions=["geolocation"])
    await join_walk(visitor, base, site["walk"])
    await open_constat_form(visitor)
    missing = []
    for _ in range(40):
        await visitor.keyboard.press("Tab")
        shown = await visitor.evaluate("""() => {
          const e = document.activeElement;
          if (!e || e === document.body) return null;
          const ring = x => { const s = getComputedStyle(x);
            return (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2) || s.boxShadow !== 'none'; };
          // A visually hidden radio or file input must show its focus on its tile or its label.
          const look = getComputedStyle(e), box = e.getBoundingClientRect();
          const unseen = box.width < 4 || box.height < 4 || look.opacity === '0' || look.clip !== 'auto';
          const next = e.nextElementSibling, label = e.labels && e.labels[0];
          const ok = (!unseen && ring(e)) || (next && e.matches('.tile input') && ring(next))
                     || (label && ring(label));
          return ok ? '' : e.outerHTML.slice(0, 120);
        }""")
        if shown:
            missing.append(shown)
    assert not missing, "focused without a visible outline:\n" + "\n".join(missing)


# ---------------------------------------------------------------- the TFPB programme (Annexe 1)

async def tfpb_programme(site) -> int:
    """The demo's programme (seed figures) beside the site's walk, and an action valued on it."""
    import datetime as dt
    from decimal import Decimal

    from walkapp.actions.forms import ActionInput
    from walkapp.actions.services import create_action
    from walkapp.demo import load_tfpb_demo
    from walkapp.tables import Neighbourhood, Partner

    landlord = Partner(name="Pas-de-Calais Habitat", kind="bailleur")
    await landlord.save()
    hood = await Neighbourhood.objects().where(Neighbourhood.id == site["walk"].neighbourhood).first()
    programme = await load_tfpb_demo(hood, site["coordinator"])
    await create_action(ActionInput(axe="proprete", problem="Tags", pilot=landlord.id, neighbourhood=hood.id,
                                    deadline=dt.date(2023, 6, 30), cost=Decimal("1200.00"), tfpb_line="3.2",
                                    tfpb_heading="3"), site["coordinator"])
    return programme.id


@pytest.mark.parametrize("kind", ["phone", "desktop"])
async def test_tfpb_pages_pass_axe_and_phone_targets(kind, phone, live_server, site):
    base = live_server["url"]
    ref = await tfpb_programme(site)
    staff = await phone(bypass_csp=True, **device(kind))
    await sign_in(staff, base, site["coordinator"].email)
    found: list[str] = []
    small: list[str] = []
    for path in ("/tfpb", f"/tfpb/{ref}", "/tfpb/nouveau", f"/tfpb/{ref}/modifier", f"/tfpb/{ref}/rubriques/3"):
        await staff.goto(base + path)
        found += await axe_violations(staff, f"{kind} {path}")
        if kind == "phone":
            small += [f"{path}: {s}" for s in await staff.evaluate(SMALL_TARGETS, MIN_TAP)]
            await assert_fits_phone_width(staff)  # Annexe 1's wide table scrolls in its own region
    await staff.goto(base + f"/tfpb/{ref}")
    await expect(staff.locator("#dwellings")).to_have_text("42")
    assert not found, f"{len(found)} axe violation(s):\n" + "\n".join(found)
    assert not small, f"{len(small)} tap target(s) under {MIN_TAP}x{MIN_TAP} px:\n" + "\n".join(small)
    assert problems(staff) == []
# ---------------------------------------------------------------- the follow-up walk (issue 12)

@pytest.fixture
async def followup_site():
    """An earlier walk with constats, a follow-up walk under way that re-visited one of them, and
    an action on the re-visited constat (its evaluation is proposed)."""
    import datetime as dt
    import uuid

    from walkapp.actions.forms import ActionInput
    from walkapp.actions.services import create_action
    from walkapp.observations.schemas import ObservationInput
    from walkapp.observations.services import record
    from walkapp.storage import media_store
    from test_revisits import AFTER, earlier_constat, follow_up_of

    earlier = await make_walk("closed", title="Diagnostic d'automne")
    constats = [await earlier_constat(earlier, issue=issue, offset=n / 2000, text=f"Constat {issue}")
                for n, issue in enumerate(("dechets", "proprete", "ambiance"))]
    walk = await follow_up_of(earlier, date=dt.date.today(), title="Marche de suivi")
    revisit, _ = await record(media_store(), walk, None, ObservationInput(
        client_uuid=str(uuid.uuid4()), issue=None, angle=None, polarity=None, description="Mieux",
        lat=50.5636, lon=2.4826, location_source="device", revisit_of=constats[0].id, outcome="ameliore",
        photos=[(AFTER.read_bytes(), "apres.jpg")]))
    coordinator = await make_user("coordinator")
    action = await create_action(ActionInput(axe="dechets", problem="Dépôts sauvages", constats=[constats[0].id]),
                                 coordinator)
    return {"earlier": earlier, "walk": walk, "constat": constats[0].id, "revisit": revisit.id,
            "action": action.id, "coordinator": coordinator}


def followup_staff_pages(site) -> list[str]:
    return [f"/constats/{site['constat']}", f"/constats/{site['revisit']}", f"/marches/{site['walk'].id}",
            f"/marches/{site['earlier'].id}", f"/marches/{site['earlier'].id}/marche-de-suivi",
            f"/actions/{site['action']}/modifier", f"/actions/{site['action']}", "/carte?revu=oui"]


async def open_revisit_form(page) -> None:
    await page.locator(".revisit-button").first.click()
    await expect(page.locator("#revisit-panel")).to_be_visible()


@pytest.mark.parametrize("kind", ["phone", "desktop"])
async def test_follow_up_pages_pass_axe_wcag21_aa(kind, phone, live_server, followup_site):
    base = live_server["url"]
    found: list[str] = []
    visitor = await phone(bypass_csp=True, geolocation=LILLERS, permissions=["geolocation"], **device(kind))
    await join_walk(visitor, base, followup_site["walk"])
    await expect(visitor.locator("#to-revisit li[data-revisit-id]")).to_have_count(3)
    found += await axe_violations(visitor, f"{kind} follow-up field page (À revoir)")
    await open_revisit_form(visitor)
    found += await axe_violations(visitor, f"{kind} follow-up field page (re-visit form open)")
    staff = await phone(bypass_csp=True, **device(kind))
    await sign_in(staff, base, followup_site["coordinator"].email)
    for path in followup_staff_pages(followup_site):
        await staff.goto(base + path)
        found += await axe_violations(staff, f"{kind} {path}")
    assert not found, f"{len(found)} axe violation(s):\n" + "\n".join(found)
    assert problems(visitor) == [] and problems(staff) == []


async def test_follow_up_phone_tap_targets_are_44px(phone, live_server, followup_site):
    base = live_server["url"]
    small: list[str] = []
    visitor = await phone(geolocation=LILLERS, permissions=["geolocation"])
    await join_walk(visitor, base, followup_site["walk"])
    await expect(visitor.locator("#to-revisit li[data-revisit-id]")).to_have_count(3)
    await settle(visitor)
    small += [f"field: {s}" for s in await visitor.evaluate(SMALL_TARGETS, MIN_TAP)]
    await open_revisit_form(visitor)
    small += [f"re-visit form: {s}" for s in await visitor.evaluate(SMALL_TARGETS, MIN_TAP)]
    staff = await phone()
    await sign_in(staff, base, followup_site["coordinator"].email)
    # The pages a phone opens (as the older test: the map and a constat's page); the walk's and the
    # action's pages are desktop ones (their back links predate this: see the report of issue 12).
    for path in (f"/constats/{followup_site['constat']}", f"/constats/{followup_site['revisit']}", "/carte?revu=oui"):
        await staff.goto(base + path)
        await settle(staff)
        small += [f"{path}: {s}" for s in await staff.evaluate(SMALL_TARGETS, MIN_TAP)]
# ---------------------------------------------------------------- the walk's report and its restitution (issue 12)

async def test_the_report_and_the_restitution_pass_axe_and_fit_a_360px_phone(phone, live_server, test_env, backend):
    from browser import image_loaded, screenshot
    from test_report import scene

    from walkapp.reports.services import publish
    from walkapp.storage import MediaStore
    from walkapp.tables import Walk

    base = live_server["url"]
    s = await scene(MediaStore(Path(test_env["WALKAPP_MEDIA_DIR"])))
    await publish(s["walk"])
    secret = (await Walk.objects().where(Walk.id == s["walk"].id).first()).restitution_secret
    walk = s["walk"].id
    found: list[str] = []
    small: list[str] = []
    for kind in ("phone", "desktop"):
        staff = await phone(bypass_csp=True, **device(kind))
        await sign_in(staff, base, "chef@ville.example")
        for path in (f"/marches/{walk}", f"/marches/{walk}/compte-rendu", f"/marches/{walk}/compte-rendu?noms=1"):
            await staff.goto(base + path)
            found += await axe_violations(staff, f"{kind} {path}")
            if kind == "desktop" and path.endswith("compte-rendu"):
                await screenshot(staff, "report-desktop", backend)
            if kind == "phone" and "compte-rendu" in path:
                small += [f"{path}: {t}" for t in await staff.evaluate(SMALL_TARGETS, MIN_TAP)]
        reader = await phone(bypass_csp=True, **device(kind))  # anonymous
        for path in (f"/restitution/{secret}", f"/restitution/{secret}/affiche"):
            await reader.goto(base + path)
            found += await axe_violations(reader, f"{kind} {path}")
            if kind == "phone" and path.endswith("affiche"):
                await screenshot(reader, "flyer-phone", backend)
        assert problems(staff) == [] and problems(reader) == []
    assert not found, f"{len(found)} axe violation(s):\n" + "\n".join(found)

    # A 360 px phone, anonymous: nothing scrolls sideways, every photo loads, targets are 44 px.
    reader = await phone(viewport={"width": 360, "height": 740})
    await reader.goto(f"{base}/restitution/{secret}")
    await settle(reader)
    for index in range(await reader.locator(".report-photo img").count()):
        await reader.locator(".report-photo img").nth(index).scroll_into_view_if_needed()
        await image_loaded(reader, f".report-constat:nth-of-type({index + 1}) .report-photo img")
    width, scroll_width = await reader.evaluate("[window.innerWidth, document.documentElement.scrollWidth]")
    wide = await reader.evaluate("""() => [...document.querySelectorAll('body *')].filter(e =>
      e.getBoundingClientRect().right > window.innerWidth + 1
      && !(e.parentElement && e.parentElement.getBoundingClientRect().right > window.innerWidth + 1))
      .map(e => e.tagName + '.' + e.className + ' in ' + e.parentElement.className + ' '
           + getComputedStyle(e.parentElement).overflowX + ' ' + e.parentElement.getBoundingClientRect().right)
      .slice(0, 5)""")
    assert width == 360 and scroll_width <= 360, (scroll_width, wide)
    small += [f"restitution: {t}" for t in await reader.evaluate(SMALL_TARGETS, MIN_TAP)]
    assert await reader.locator("header nav, a[href^='/marches'], a[href^='/connexion']").count() == 0
    await screenshot(reader, "restitution-360", backend)
    assert not small, f"{len(small)} tap target(s) under {MIN_TAP}x{MIN_TAP} px:\n" + "\n".join(small)
