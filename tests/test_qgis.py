"""The QGIS live layer: personal read tokens (made, shown once, revoked; Bearer on the GeoJSON, the
OGC API and photos; read-only), the OGC API - Features at /ogc/, the one set of flat properties of
the API's GeoJSON, the OGC items and the zip, the .qml style, and GDAL's ogrinfo reading it all
from a real server."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import sys
import zipfile
from xml.etree import ElementTree as ET

import pytest

from conftest import make_user, make_walk, post_form, shown, sign_in
from test_api_observations import JOLLA, fields, join, photo, post_observation

from walkapp import gusp
from walkapp.observations.features import PROPERTIES
from walkapp.ogc import services as ogc
from walkapp.tables import Observation, ReadToken, StaffUser

ITEMS = "/ogc/collections/constats/items"
TOKEN_FIELD = re.compile(r'id="new-token-value" readonly value="(wrt\.[^"]+)"')


async def new_token(client, name: str = "QGIS urbanisme") -> str:
    """A token made on the account page (its htmx block), as a person does."""
    response = await post_form(client, "/compte/jetons", {"name": name}, htmx=True)
    assert response.status_code == 201, response.text
    return TOKEN_FIELD.search(response.text).group(1)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def constats(client, walk, count: int = 3, with_photo: bool = True) -> list[int]:
    """`count` constats along a street (0.001° apart), issues in GUSP order, one a day at 10:00 from
    23/11/2026 (the walk's date is 25/11: within the 2 days a phone's date is believed), the first
    with a photo."""
    await join(client, walk)
    ids = []
    for n in range(count):
        data = fields(issue=gusp.ISSUES[n % 7].code, lat=f"{50.56 + n / 1000:.4f}", lon=f"{2.48 + n / 1000:.4f}",
                      observed_at=f"2026-11-{23 + n}T10:00:00+01:00")
        response = await post_observation(client, walk, data, [photo(JOLLA)] if with_photo and n == 0 else None)
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    return ids


# ---------------------------------------------------------------- tokens

async def test_a_token_is_shown_once_reads_as_its_owner_and_dies_when_revoked(client, other_client):
    walk = await make_walk("open")
    ids = await constats(other_client, walk, 2)
    user = await sign_in(client, "committee")
    token = await new_token(client)
    row = await ReadToken.objects().first()
    assert row.token_hash != token and len(row.token_hash) == 64 and token.startswith(row.prefix)
    page = await client.get("/compte")
    assert token not in page.text and row.prefix in page.text and "jamais utilisé" in shown(page)

    geo = await other_client.get("/api/v1/observations.geojson", headers=bearer(token))  # no cookie of its own
    assert geo.status_code == 200 and {f["id"] for f in geo.json()["features"]} == set(ids)
    assert geo.json()["features"][0]["properties"]["author"] == "Zoé"  # staff's permission: authors
    assert "utilisé pour la dernière fois" in shown(await client.get("/compte"))
    # The owner's permissions, not more: the committee downloads no originals.
    photo_id = (await client.get(f"/api/v1/walks/{walk.id}/observations")).json()["observations"][-1]["photos"][0]["id"]
    assert (await other_client.get(f"/photos/{photo_id}/original", headers=bearer(token))).status_code == 403
    image = await other_client.get(f"/photos/{photo_id}/affichage.jpg", headers=bearer(token))
    assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"

    # Read-only: no write passes with it, whatever the route, and nothing changes.
    for path, data in ((f"/constats/{ids[0]}/statut", {"status": "rejected", "reason": "x"}),
                       (f"/api/v1/walks/{walk.id}/observations", fields()), ("/compte/jetons", {"name": "x"})):
        refused = await other_client.post(path, data=data, headers=bearer(token))
        assert refused.status_code == 403 and refused.json()["error"] == "read_only_token", path
    assert await Observation.count() == 2 and await ReadToken.count() == 1
    assert {o.status for o in await Observation.objects()} == {"new"}

    revoked = await post_form(client, f"/compte/jetons/{row.id}/revoquer", {})
    assert revoked.status_code == 303 and "Révoqué le" in shown(await client.get("/compte"))
    for path in ("/api/v1/observations.geojson", "/ogc/", f"/photos/{photo_id}/affichage.jpg"):
        gone = await other_client.get(path, headers=bearer(token), follow_redirects=False)
        assert gone.status_code == 401 and gone.json()["error"] == "invalid_token", path
        assert gone.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    unknown = await other_client.get("/ogc/", headers=bearer("wrt." + "x" * 43))
    assert unknown.status_code == 401 and set(unknown.json()) == {"error", "detail"}
    # Another account's token is not yours to revoke; an account made inactive reads nothing.
    second = await new_token(client, "Script")
    other = await make_user("agent", "agent@ville.example")
    await sign_in(other_client, "coordinator", "coord@ville.example")
    mine = await ReadToken.objects().where(ReadToken.name == "Script").first()
    assert (await post_form(other_client, f"/compte/jetons/{mine.id}/revoquer", {})).status_code == 404
    await StaffUser.update({StaffUser.active: False}).where(StaffUser.id == user.id)
    assert (await other_client.get("/ogc/", headers=bearer(second))).status_code == 401
    assert other.id  # (the agent exists only to make the accounts several)


async def test_token_form_refuses_a_bad_name_and_the_cli_prints_a_working_token(client, test_env, work_dir):
    await sign_in(client, "agent")
    refused = await post_form(client, "/compte/jetons", {"name": "  "}, htmx=True)
    assert refused.status_code == 422 and "obligatoire" in shown(refused) and await ReadToken.count() == 0
    made = subprocess.run([sys.executable, "-m", "walkapp", "createtoken", "--email", "AGENT@ville.example",
                           "--name", "Script nocturne"], cwd=work_dir, env=test_env, capture_output=True, text=True,
                          timeout=60)
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    assert token.startswith("wrt.") and "\n" not in token and "ne sera plus affiché" in made.stderr
    assert (await client.get("/ogc/collections", headers=bearer(token))).status_code == 200
    unknown = subprocess.run([sys.executable, "-m", "walkapp", "createtoken", "--email", "nobody@ville.example"],
                             cwd=work_dir, env=test_env, capture_output=True, text=True, timeout=60)
    assert unknown.returncode == 1 and unknown.stdout == "" and "aucun compte actif" in unknown.stderr


async def test_ending_an_accounts_sessions_revokes_its_tokens(client, other_client):
    await sign_in(other_client, "agent")
    token = await new_token(other_client)
    await sign_in(client, "coordinator")
    agent = await StaffUser.objects().where(StaffUser.email == "agent@ville.example").first()
    ended = await post_form(client, f"/comptes/{agent.id}/fermer-sessions", {}, htmx=True)
    assert "1 session fermée, 1 jeton de lecture révoqué." in shown(ended)
    assert (await client.get("/ogc/", headers=bearer(token))).status_code == 401


# ---------------------------------------------------------------- one set of properties

async def test_api_geojson_ogc_items_and_zip_share_their_properties(client, other_client):
    walk = await make_walk("open")
    ids = await constats(other_client, walk, 2)
    await sign_in(client, "coordinator")
    api = (await client.get("/api/v1/observations.geojson")).json()["features"]
    items = (await client.get(ITEMS)).json()["features"]
    one = (await client.get(f"{ITEMS}/{ids[0]}")).json()
    archive = zipfile.ZipFile(io.BytesIO((await client.get(f"/exports/photos.zip?walk={walk.id}")).content))
    in_zip = json.loads(archive.read("constats.geojson"))["features"]
    for feature in [*api, *items, one, *in_zip]:
        assert list(feature["properties"]) == list(PROPERTIES)
    props = {f["id"]: f["properties"] for f in items}[ids[0]]
    assert props["issue"] == "ambiance" and props["issue_label"] == gusp.label("issue", "ambiance")
    assert props["angle_label"] == "Usages" and props["polarity_label"] == "Point faible"
    assert props["status_label"] == "Nouveau" and props["location_source"] == "device"
    assert props["location_source_label"] == "Position du téléphone"
    assert props["photo_count"] == 1 and props["photo_urls"] == [props["photo_url"]]
    assert props["photo_url"].startswith("http") and props["photo_url"].split("?")[0].endswith("/affichage.jpg")
    assert one["properties"] == props and one["geometry"] == {"type": "Point", "coordinates": [2.48, 50.56]}
    zipped = {f["id"]: f["properties"] for f in in_zip}[ids[0]]
    assert zipped["photo_url"] in archive.namelist() and zipped["issue_label"] == props["issue_label"]
    # A participant reads the blurred variant (walkapp.privacy), and no names.
    mine = (await other_client.get("/api/v1/observations.geojson")).json()["features"]
    theirs = {f["id"]: f["properties"] for f in mine}[ids[0]]
    assert theirs["photo_url"].split("?")[0].endswith("/floutee.jpg") and theirs["author"] is None
    assert (await other_client.get(theirs["photo_url"])).status_code == 200


# ---------------------------------------------------------------- OGC API - Features

async def test_ogc_landing_conformance_collection_and_paged_items(client, other_client):
    walk = await make_walk("open")
    ids = await constats(other_client, walk, 5, with_photo=False)
    await sign_in(client, "agent")
    landing = await client.get("/ogc/?f=json")
    assert landing.status_code == 200 and landing.headers["content-type"].startswith("application/json")
    rels = {link["rel"]: link["href"] for link in landing.json()["links"]}
    assert {"self", "conformance", "data", "service-desc"} <= set(rels)
    assert set((await client.get(rels["conformance"])).json()["conformsTo"]) == set(ogc.CONFORMANCE)
    listed = (await client.get(rels["data"])).json()["collections"]
    assert [c["id"] for c in listed] == ["constats"]
    collection = (await client.get("/ogc/collections/constats")).json()
    assert collection["extent"]["spatial"]["bbox"] == [[2.48, 50.56, 2.484, 50.564]]
    assert collection["extent"]["temporal"]["interval"] == [["2026-11-23T09:00:00Z", "2026-11-27T09:00:00Z"]]

    page = await client.get(f"{ITEMS}?limit=2")
    assert page.headers["content-type"].startswith("application/geo+json")
    body = page.json()
    assert body["numberMatched"] == 5 and body["numberReturned"] == 2 and [f["id"] for f in body["features"]] == ids[:2]
    seen = [f["id"] for f in body["features"]]
    while next_link := next((link["href"] for link in body["links"] if link["rel"] == "next"), None):
        body = (await client.get(next_link)).json()
        seen += [f["id"] for f in body["features"]]
    assert seen == ids  # the next links walk every constat once, in order
    assert (await client.get(f"{ITEMS}?limit=999999")).json()["numberReturned"] == 5  # clamped, not refused

    async def found(query: str) -> list[int]:
        response = await client.get(f"{ITEMS}?{query}")
        assert response.status_code == 200, (query, response.text)
        return sorted(f["id"] for f in response.json()["features"])

    assert await found("bbox=2.4805,50.5605,2.4825,50.5625") == ids[1:3]
    assert await found("bbox=2.4805,50.5605,0,2.4825,50.5625,10") == ids[1:3]  # with heights
    assert await found("bbox=179,-10,-179,10") == []  # across the antimeridian
    assert await found("datetime=2026-11-24") == [ids[1]]  # a day, in the site's zone
    assert await found("datetime=2026-11-24T09:00:00Z") == [ids[1]]
    assert await found("datetime=2026-11-24/2026-11-25") == ids[1:3]
    assert await found("datetime=../2026-11-24T10:00:00%2B01:00") == ids[:2]
    assert await found("datetime=2026-11-26T00:00:00Z/..") == await found("datetime=2026-11-26/") == ids[3:]
    assert await found("issue=mobilites") == [ids[2]]
    assert await found(f"walk={walk.id}&issue=proprete&polarity=negative&f=json") == [ids[1]]
    assert await found("status=rejected") == []
    assert (await client.get(f"{ITEMS}/{ids[0]}")).json()["id"] == ids[0]


@pytest.mark.parametrize("query", [
    "limit=0", "limit=abc", "limit=-1", "offset=-1", "offset=1e3", "bbox=1,2,3", "bbox=a,b,c,d", "bbox=0,10,1,5",
    "bbox=0,0,200,1", "bbox=nan,0,1,1", "datetime=hier", "datetime=2026-11-22/2026-11-21", "datetime=2026-13-01",
    "datetime=1/2/3", "datetime=9999-12-31T23:59:59-14:00", "issue=bruit", "status=ouvert", "walk=abc", "du=hier",
    "f=html", "crs=EPSG:2154", "bbox-crs=http://www.opengis.net/def/crs/EPSG/0/4326", "couleur=rouge",
    "limit=1&limit=2",
])
async def test_ogc_bad_parameters_are_a_french_400(client, query):
    await sign_in(client, "committee")
    response = await client.get(f"{ITEMS}?{query}")
    assert response.status_code == 400, (query, response.text)
    assert set(response.json()) == {"error", "detail"} and response.json()["detail"]


async def test_ogc_refuses_strangers_and_unknown_names_in_json(client, app):
    from litestar.testing import AsyncTestClient

    async with AsyncTestClient(app=app) as anonymous:
        refused = await anonymous.get(ITEMS, follow_redirects=False)
        assert refused.status_code == 401 and set(refused.json()) == {"error", "detail"}
    await sign_in(client, "committee")
    for path in ("/ogc/collections/rues", "/ogc/collections/rues/items", f"{ITEMS}/999999", f"{ITEMS}/abc",
                 "/ogc/nulle-part"):
        missing = await client.get(path)
        assert missing.status_code == 404 and missing.json()["error"] == "not_found", path


# ---------------------------------------------------------------- the QGIS style

async def test_the_qml_style_is_made_from_gusp_and_linked_from_the_map(client):
    await sign_in(client, "committee")
    page = await client.get("/carte")
    assert 'href="/carte/constats.qml"' in page.text and "/ogc" in shown(page)
    response = await client.get("/carte/constats.qml")
    assert response.status_code == 200 and "constats.qml" in response.headers["content-disposition"]
    root = ET.fromstring(response.content)
    renderer = root.find("renderer-v2")
    assert renderer.get("type") == "categorizedSymbol" and renderer.get("attr") == "issue"
    categories = renderer.findall("categories/category")
    assert [(c.get("value"), c.get("label")) for c in categories] == [(t.code, t.label) for t in gusp.ISSUES]
    for category, issue in zip(categories, gusp.ISSUES, strict=True):
        symbol = renderer.find(f"symbols/symbol[@name='{category.get('symbol')}']")
        colour = symbol.find("layer/Option/Option[@name='color']").get("value")
        assert colour == ",".join(str(int(issue.colour[i:i + 2], 16)) for i in (1, 3, 5)) + ",255"
    assert {a.get("field") for a in root.findall("aliases/alias")} == set(PROPERTIES)


# ---------------------------------------------------------------- GDAL, against a real server

@pytest.mark.skipif(shutil.which("ogrinfo") is None, reason="gdal-bin is installed by .ci/run")
async def test_ogrinfo_reads_the_ogc_api_and_the_geojson_with_a_token(live_server, client, other_client):
    walk = await make_walk("open")
    ids = await constats(other_client, walk, 3)
    await sign_in(client, "committee")
    token = await new_token(client)
    header = ["--config", "GDAL_HTTP_HEADERS", f"Authorization: Bearer {token}", "--config", "GDAL_HTTP_TIMEOUT", "20"]

    def ogrinfo(*args: str) -> str:
        result = subprocess.run(["ogrinfo", "-ro", *header, *args], capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr + result.stdout
        return result.stdout

    base = live_server["url"]
    summary = ogrinfo("-so", f"OAPIF:{base}/ogc/", "constats")
    print(summary)
    assert "Layer name: constats" in summary and "Feature Count: 3" in summary
    assert "issue_label: String" in summary and "location_source_label: String" in summary
    features = ogrinfo("-q", f"OAPIF:{base}/ogc/", "constats", "-where", "issue = 'proprete'")
    assert f"issue_label (String) = {gusp.label('issue', 'proprete')}" in features
    geojson = ogrinfo("-so", "-al", f"{base}/api/v1/observations.geojson?walk={walk.id}")
    print(geojson)
    assert "Feature Count: 3" in geojson and "photo_urls: StringList" in geojson
    assert len(ids) == 3
    without = subprocess.run(["ogrinfo", "-ro", "-so", f"OAPIF:{base}/ogc/"], capture_output=True, text=True,
                             timeout=60)
    assert without.returncode != 0  # no token: GDAL is told 401


# ---------------------------------------------------------------- a person makes and revokes a token

@pytest.mark.browser
@pytest.mark.usefixtures("server_log_stays_clean")
async def test_a_staff_member_makes_a_token_in_the_browser_and_revokes_it(live_server, phone):
    import httpx

    from browser import problems
    from browser import sign_in as browser_sign_in

    base = live_server["url"]
    user = await make_user("agent")
    page = await phone()
    await browser_sign_in(page, base, user.email)
    await page.goto(f"{base}/compte")
    await page.get_by_label("Nom du jeton (à quoi il sert, ex. QGIS du service urbanisme)").fill("QGIS voirie")
    await page.get_by_role("button", name="Créer un jeton").click()
    shown_once = page.get_by_label("Jeton", exact=True)
    token = await shown_once.input_value()
    assert token.startswith("wrt.")
    async with httpx.AsyncClient(base_url=base) as qgis:
        assert (await qgis.get("/ogc/collections", headers=bearer(token))).status_code == 200
        await page.reload()
        assert await page.get_by_label("Jeton", exact=True).count() == 0  # never shown again
        await page.evaluate("window.confirm = () => true")  # the person answers yes to « Révoquer ce jeton ? »
        await page.get_by_role("button", name="Révoquer « QGIS voirie »").click()
        await page.get_by_text("Révoqué le").wait_for()
        assert (await qgis.get("/ogc/collections", headers=bearer(token))).status_code == 401
    assert problems(page) == []
