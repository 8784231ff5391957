"""The JSON API of constats: PRODUCT.md's contract, idempotency, errors, and who sees photos."""

import asyncio
import uuid
from pathlib import Path

import httpx
import pytest

from conftest import PHOTOS, csrf_headers, make_walk, post_form, server_log_problems, sign_in

from walkapp.tables import Observation, Photo, Stop

JOLLA = PHOTOS / "ok" / "jolla.jpg"


async def join(client, walk, name="Zoé"):
    response = await post_form(client, f"/j/{walk.join_secret}", {"display_name": name})
    assert response.status_code == 303
    return response


def fields(**overrides):
    data = {"client_uuid": str(uuid.uuid4()), "issue": "dechets", "angle": "usages", "polarity": "negative",
            "description": "Dépôt sauvage <b>rue Carnot</b>", "lat": "50.5637", "lon": "2.4827",
            "accuracy_m": "12", "street": "Rue Carnot", "observed_at": "2026-11-25T14:30:00+01:00"}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


async def post_observation(client, walk, data, files=None, headers=None):
    headers = headers if headers is not None else await csrf_headers(client)
    return await client.post(f"/api/v1/walks/{walk.id}/observations", data=data, files=files or [], headers=headers)


def photo(path: Path, name: str | None = None):
    return ("photos", (name or path.name, path.read_bytes(), "application/octet-stream"))


def media_files(media: Path) -> set[str]:
    return {str(p.relative_to(media)) for p in media.rglob("*") if p.is_file() and p.name != ".secret_key"}


@pytest.fixture
def media(test_env) -> Path:
    return Path(test_env["WALKAPP_MEDIA_DIR"])


async def test_post_then_replay_then_list(client):
    walk = await make_walk("open")
    await join(client, walk)
    data = fields()
    first = await post_observation(client, walk, data, [photo(JOLLA)])
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["client_uuid"] == data["client_uuid"] and body["walk_id"] == walk.id
    assert (body["issue"], body["angle"], body["polarity"]) == ("dechets", "usages", "negative")
    assert body["issue_label"] == "Gestion de tous les types de déchets"
    assert body["lat"] == 50.5637 and body["location_source"] == "device" and body["author"] == "Zoé"
    assert (body["observed_at"].startswith("2026-11-25T13:30:00")
            or body["observed_at"].startswith("2026-11-25T14:30:00"))
    assert [(p["width"], p["height"]) for p in body["photos"]] == [(3264, 2448)]
    # The same client_uuid again: 200, the same constat, nothing new stored.
    again = await post_observation(client, walk, data, [photo(JOLLA)])
    assert again.status_code == 200 and again.json()["id"] == body["id"]
    assert await Observation.count() == 1 and await Photo.count() == 1
    listing = await client.get(f"/api/v1/walks/{walk.id}/observations")
    assert listing.status_code == 200
    assert [o["id"] for o in listing.json()["observations"]] == [body["id"]]
    thumb = await client.get(body["photos"][0]["thumb_url"])
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"


async def test_errors_are_french_json_and_store_nothing(client, media):
    walk = await make_walk("open")
    await join(client, walk)
    before = media_files(media)
    cases = [
        (fields(client_uuid=None), 422, "invalid", "client_uuid"),
        (fields(issue="bruit"), 422, "invalid", "sept enjeux"),
        (fields(angle=""), 422, "invalid", "quatre angles"),
        (fields(polarity="neutre"), 422, "invalid", "point fort"),
        (fields(lat="91"), 422, "invalid", "Latitude"),
        (fields(lon=None), 422, "invalid", "vont ensemble"),
        (fields(description="x" * 4001), 422, "invalid", "4000 caractères"),
        (fields(observed_at="hier"), 422, "invalid", "ISO 8601"),
        (fields(stop_id="999999"), 422, "invalid", "Halte"),
    ]
    for data, status, code, words in cases:
        response = await post_observation(client, walk, data)
        assert response.status_code == status, (data, response.text)
        assert response.json()["error"] == code and words in response.json()["detail"], response.json()
    for name, status in (("empty.jpg", 422), ("not-an-image.jpg", 415), ("polyglot.jpg", 415), ("script.svg", 415),
                         ("truncated.jpg", 415), ("bomb.png", 413)):
        response = await post_observation(client, walk, fields(), [photo(JOLLA), photo(PHOTOS / "bad" / name)])
        assert response.status_code == status, (name, response.text)
        assert response.json()["detail"] and "Traceback" not in response.text
    assert await Observation.count() == 0 and await Photo.count() == 0
    assert media_files(media) == before  # not even the good photo sent with a bad one


async def test_who_may_post(client, other_client):
    walk = await make_walk("open")
    anonymous = await post_observation(other_client, walk, fields())
    # 401, and the code says what to do: join the walk (a resident has no account to sign in with).
    assert anonymous.status_code == 401 and anonymous.json()["error"] == "unauthorized"
    missing = await client.post("/api/v1/walks/999999/observations", data=fields(), headers=await csrf_headers(client))
    assert missing.status_code == 404 and missing.json() == {"error": "not_found",
                                                             "detail": "Cette marche n'existe pas."}
    await join(client, walk)
    no_csrf = await client.post(f"/api/v1/walks/{walk.id}/observations", data=fields())
    assert no_csrf.status_code == 403 and no_csrf.json()["error"] == "forbidden"
    assert await Observation.count() == 0


async def test_planned_walk_refuses_constats(client):
    walk = await make_walk("planned")
    await join(client, walk)
    response = await post_observation(client, walk, fields())
    assert response.status_code == 409 and "pas encore commencé" in response.json()["detail"]


async def test_bearer_token_needs_no_csrf_and_ignores_cookies(client, other_client):
    from walkapp.tables import Participant

    walk = await make_walk("open")
    await join(client, walk)
    token = (await Participant.objects().first()).token
    response = await other_client.post(f"/api/v1/walks/{walk.id}/observations", data=fields(),
                                       headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 201, response.text
    wrong = await client.post(f"/api/v1/walks/{walk.id}/observations", data=fields(),
                              headers={"Authorization": "Bearer not-a-token"})
    assert wrong.status_code == 401  # the joined session cookie does not rescue a wrong token


async def test_signed_in_agent_posts_as_themselves(client):
    await sign_in(client, "agent")
    walk = await make_walk("open")
    response = await post_observation(client, walk, fields())
    assert response.status_code == 201 and response.json()["author"] == "Agent"


async def test_position_falls_back_to_exif_then_to_the_stop(client):
    walk = await make_walk("open")
    await join(client, walk)
    exif = await post_observation(client, walk, fields(lat=None, lon=None), [photo(PHOTOS / "ok" / "DSCN0010.jpg")])
    assert exif.json()["location_source"] == "exif" and abs(exif.json()["lat"] - 43.4675) < 0.001
    stop = await Stop.objects().where(Stop.walk == walk.id).first()
    halte = await post_observation(client, walk, fields(lat=None, lon=None, stop_id=str(stop.id)),
                                   [photo(PHOTOS / "ok" / "no_exif.jpg")])
    body = halte.json()
    assert (body["lat"], body["lon"], body["location_source"], body["stop_id"]) == (stop.lat, stop.lon, "stop", stop.id)
    nowhere = await post_observation(client, walk, fields(lat=None, lon=None))
    assert nowhere.json()["lat"] is None and nowhere.json()["location_source"] is None


async def test_who_sees_photos(client, other_client, app):
    from litestar.testing import AsyncTestClient

    walk = await make_walk("open")
    await join(client, walk)
    body = (await post_observation(client, walk, fields(), [photo(PHOTOS / "ok" / "landscape_6.jpg")])).json()
    urls = body["photos"][0]
    from PIL import Image
    import io

    from walkapp.privacy import services as privacy
    from walkapp.storage import media_store

    # A participant gets a neutral placeholder until the photo is blurred, then the blurred image.
    waiting = await client.get(urls["display_url"])
    assert waiting.status_code == 200 and waiting.content == privacy.PLACEHOLDERS[privacy.DISPLAY].read_bytes()
    await privacy.process_pending(media_store())
    urls = (await client.get(f"/api/v1/walks/{walk.id}/observations")).json()["observations"][0]["photos"][0]
    display = await client.get(urls["display_url"])
    assert display.status_code == 200

    image = Image.open(io.BytesIO(display.content))
    assert image.size == (600, 450) and not image.getexif() and "comment" not in image.info
    assert (await client.get(urls["original_url"])).status_code == 403  # originals: coordinators only
    assert (await other_client.get(urls["thumb_url"], follow_redirects=False)).status_code == 401  # not on the walk
    other_walk = await make_walk_second()
    async with AsyncTestClient(app=app) as stranger:
        await join(stranger, other_walk, "Autre")
        # A participant of another walk is known, and refused (403): joined walks only.
        assert (await stranger.get(urls["display_url"], follow_redirects=False)).status_code == 403
        assert (await stranger.get(f"/api/v1/walks/{walk.id}/observations")).status_code == 403
    await sign_in(other_client, "committee")
    refused = await other_client.get(urls["original_url"])
    assert refused.status_code == 403 and "réservées aux coordinateurs" in refused.text  # PRODUCT.md, Privacy
    await post_form(other_client, "/deconnexion", {})
    await sign_in(other_client, "coordinator")
    original = await other_client.get(urls["original_url"])
    assert original.status_code == 200
    assert original.content == (PHOTOS / "ok" / "landscape_6.jpg").read_bytes()  # byte for byte
    assert (await other_client.get("/photos/999999/affichage.jpg")).status_code == 404
    assert (await other_client.get(f"/photos/{urls['id']}/../../etc/passwd")).status_code == 404


async def make_walk_second():
    import datetime as dt

    from walkapp.tables import Neighbourhood
    from walkapp.walks.services import StopInput, WalkInput, create_walk, set_status

    hood = await Neighbourhood.objects().first()
    walk = await create_walk(WalkInput(neighbourhood=hood.id, title="Autre", date=dt.date(2026, 11, 26),
                                       stops=[StopInput("A", 50.0, 2.0)]), None)
    await set_status(walk, "open")
    return walk


async def test_twenty_concurrent_replays_make_one_constat(live_server):
    walk = await make_walk("open")
    async with httpx.AsyncClient(base_url=live_server["url"], timeout=60) as client:
        await client.get(f"/j/{walk.join_secret}")
        headers = {"x-csrftoken": client.cookies["walkapp_csrf"]}
        await client.post(f"/j/{walk.join_secret}", data={"display_name": "Ali"}, headers=headers)
        data = fields()
        content = JOLLA.read_bytes()
        responses = await asyncio.gather(*(
            client.post(f"/api/v1/walks/{walk.id}/observations", data=data, headers=headers,
                        files=[("photos", ("jolla.jpg", content, "image/jpeg"))]) for _ in range(20)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(201) == 1 and statuses.count(200) == 19, statuses
    assert len({r.json()["id"] for r in responses}) == 1
    assert await Observation.count() == 1 and await Photo.count() == 1
    assert server_log_problems(live_server["log"]) == []
