"""The field page and its live block; a participant edits or deletes their own constats only."""

from pathlib import Path

from conftest import PHOTOS, make_walk, post_form, shown, sign_in
from test_api_observations import fields, join, photo, post_observation

from walkapp.tables import Observation, Photo, Stop, Walk


async def test_field_page_and_live_block(client):
    walk = await make_walk("open")
    await join(client, walk)
    await post_observation(client, walk, fields(issue="proprete", description="<script>x()</script>"),
                           [photo(PHOTOS / "ok" / "landscape_1.jpg")])
    page = await client.get(f"/marches/{walk.id}/terrain")
    assert page.status_code == 200
    text = shown(page)
    assert "Nouveau constat" in text and "1 constat" in text and "Propreté 1" in text
    assert "<script>x()</script>" not in page.text and "&lt;script&gt;x()&lt;/script&gt;" in page.text
    assert 'rel="manifest"' in page.text
    live = await client.get(f"/marches/{walk.id}/fil", headers={"hx-request": "true"})
    assert live.status_code == 200 and live.text.lstrip().startswith('<div id="live"') and "<html" not in live.text


async def test_planned_and_closed_walks_have_no_new_constat_button(client):
    for status, words in (("planned", "pas encore commencé"), ("closed", "Cette marche est close")):
        walk = await make_walk(status, title=f"Marche {status}")
        await join(client, walk) if status != "closed" else None
        if status == "closed":
            await sign_in(client, "agent", f"agent-{status}@ville.example")
        page = await client.get(f"/marches/{walk.id}/terrain")
        assert words in shown(page) and 'id="new-constat"' not in page.text


async def test_staff_set_the_current_stop_participants_cannot(client, other_client):
    walk = await make_walk("open", stops=3)
    stops = await Stop.objects().where(Stop.walk == walk.id).order_by(Stop.position)
    await join(other_client, walk)
    refused = await post_form(other_client, f"/marches/{walk.id}/halte-en-cours", {"stop_id": str(stops[1].id)})
    assert refused.status_code == 403
    await sign_in(client, "agent")
    response = await post_form(client, f"/marches/{walk.id}/halte-en-cours", {"stop_id": str(stops[1].id)}, htmx=True)
    assert response.status_code == 200 and 'aria-current="step"' in response.text
    assert (await Walk.objects().first()).current_stop == stops[1].id
    live = await other_client.get(f"/marches/{walk.id}/fil")
    assert f'data-current-stop="{stops[1].id}"' in live.text
    bad = await post_form(client, f"/marches/{walk.id}/halte-en-cours", {"stop_id": "99999"})
    assert bad.status_code == 404


async def test_edit_own_constat_only(client, other_client):
    walk = await make_walk("open")
    await join(client, walk, "Zoé")
    await join(other_client, walk, "Ali")
    mine = (await post_observation(client, walk, fields())).json()
    edit_url = f"/marches/{walk.id}/constats/{mine['id']}/modifier"
    assert (await client.get(edit_url)).status_code == 200
    response = await post_form(client, edit_url, {"issue": "mobilites", "angle": "gestion", "polarity": "positive",
                                                  "description": "Corrigé", "street": "Rue Pasteur"})
    assert response.status_code == 303
    saved = await Observation.objects().first()
    assert (saved.issue, saved.angle, saved.polarity, saved.description, saved.street) == (
        "mobilites", "gestion", "positive", "Corrigé", "Rue Pasteur")
    bad = await post_form(client, edit_url, {"issue": "bruit", "angle": "gestion", "polarity": "positive"}, htmx=True)
    assert bad.status_code == 422 and "sept enjeux" in shown(bad)
    assert (await Observation.objects().first()).issue == "mobilites"
    other = await post_form(other_client, edit_url, {"issue": "ambiance", "angle": "gestion", "polarity": "negative"})
    assert other.status_code == 403 and "Seul l'auteur" in shown(other)
    assert (await Observation.objects().first()).issue == "mobilites"


async def test_delete_own_constat_removes_unshared_files(client, test_env):
    media = Path(test_env["WALKAPP_MEDIA_DIR"])
    walk = await make_walk("open")
    await join(client, walk)
    shared_photo = photo(PHOTOS / "ok" / "landscape_4.jpg")
    other_photo = photo(PHOTOS / "ok" / "landscape_5.jpg")
    first = (await post_observation(client, walk, fields(), [shared_photo, other_photo])).json()
    second = (await post_observation(client, walk, fields(), [shared_photo])).json()
    rows = {p.sha256: p for p in await Photo.objects()}
    response = await post_form(client, f"/marches/{walk.id}/constats/{first['id']}/supprimer", {})
    assert response.status_code == 303
    assert [o["id"] for o in await Observation.select(Observation.id)] == [second["id"]]
    for sha, row in rows.items():
        still_used = await Photo.exists().where(Photo.sha256 == sha)
        for relative in (row.original_path, row.display_path, row.thumb_path):
            assert (media / relative).exists() == still_used, relative
    assert (await client.get(second["photos"][0]["display_url"])).status_code == 200


async def test_no_edits_once_the_walk_is_closed(client):
    walk = await make_walk("open")
    await join(client, walk)
    mine = (await post_observation(client, walk, fields())).json()
    await Walk.update({Walk.status: "closed"}).where(Walk.id == walk.id)
    response = await post_form(client, f"/marches/{walk.id}/constats/{mine['id']}/supprimer", {})
    assert response.status_code == 403 and await Observation.count() == 1


async def test_service_worker_and_csrf_endpoint(client):
    worker = await client.get("/sw.js")
    assert worker.status_code == 200 and worker.headers["service-worker-allowed"] == "/"
    assert "javascript" in worker.headers["content-type"]
    token = await client.get("/api/v1/csrf")
    assert token.status_code == 200 and token.json()["token"] == client.cookies["walkapp_csrf"]
    manifest = await client.get("/static/manifest.webmanifest")
    assert manifest.status_code == 200 and '"lang": "fr"' in manifest.text
