"""Light on the network (issue 11): the feed answers 304 while unchanged, text is compressed
(brotli, else gzip), photos and zips are not, static files carry their version in their URL."""

from __future__ import annotations

import gzip
import re
import uuid

import brotli
import httpx
from litestar.testing import AsyncTestClient
from conftest import PASSWORD, PHOTOS, make_user, make_walk, post_form, sign_in
from test_api_observations import fields, join, photo, post_observation
from test_exports import constat, store  # noqa: F401 (the fixture)

from walkapp.caching import IMMUTABLE, SHORT, body_etag, etag_matches
from walkapp.exports.builder import zip_url
from walkapp.observations.filters import ObservationFilter
from walkapp.privacy import services as privacy
from walkapp.tables import Observation, Participant, Photo, Stop
from walkapp.walks import services as walks

HTMX = {"hx-request": "true"}


async def poll(client, walk, etag: str | None = None):
    headers = {**HTMX, **({"if-none-match": etag} if etag else {})}
    return await client.get(f"/marches/{walk.id}/fil", headers=headers)


async def assert_changed(client, walk, etag: str) -> str:
    """The feed changed: a 200 with a body and a new ETag, which the next poll revalidates."""
    response = await poll(client, walk, etag)
    assert response.status_code == 200 and response.text.lstrip().startswith('<div id="live"')
    assert response.headers["etag"] != etag
    assert (await poll(client, walk, response.headers["etag"])).status_code == 304
    return response.headers["etag"]


async def test_unchanged_poll_is_a_304_without_body(client):
    walk = await make_walk("open")
    await join(client, walk)
    await post_observation(client, walk, fields(), [photo(PHOTOS / "ok" / "landscape_1.jpg")])
    first = await poll(client, walk)
    etag = first.headers["etag"]
    assert first.status_code == 200 and etag.startswith('W/"')
    assert first.headers["cache-control"] == "no-cache, private"
    again = await poll(client, walk, etag)
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag and again.headers["cache-control"] == "no-cache, private"
    assert "content-length" not in again.headers or again.headers["content-length"] == "0"
    # Any of several tags, the strong form of the weak one, or "*": still unchanged (RFC 9110).
    for header in (f'"other", {etag}', etag.removeprefix("W/"), "*"):
        assert (await poll(client, walk, header)).status_code == 304
    assert (await poll(client, walk, '"other"')).status_code == 200
    # The same feed compressed is the same feed: one ETag whatever the encoding.
    for encoding in ("br", "gzip", "identity"):
        answer = await client.get(f"/marches/{walk.id}/fil", headers={**HTMX, "accept-encoding": encoding})
        assert answer.headers["etag"] == etag


async def test_every_change_the_feed_shows_gives_a_new_etag(app, client, other_client):
    walk = await make_walk("open", stops=3)
    await join(client, walk, "Zoé")
    etag = (await poll(client, walk)).headers["etag"]
    # A new constat, by someone else.
    await join(other_client, walk, "Ali")
    await post_observation(other_client, walk, fields(description="Premier"))
    etag = await assert_changed(client, walk, etag)
    # One's own constat (its Modifier/Supprimer links), then an edit of it.
    mine = (await post_observation(client, walk, fields(description="Le mien"))).json()
    etag = await assert_changed(client, walk, etag)
    edit = f"/marches/{walk.id}/constats/{mine['id']}/modifier"
    response = await post_form(client, edit, {"issue": "mobilites", "angle": "gestion", "polarity": "positive",
                                              "description": "Corrigé", "street": "Rue Pasteur"})
    assert response.status_code == 303
    etag = await assert_changed(client, walk, etag)
    # A delete.
    response = await post_form(client, f"/marches/{walk.id}/constats/{mine['id']}/supprimer", {})
    assert response.status_code == 303 and not await Observation.exists().where(Observation.id == mine["id"])
    etag = await assert_changed(client, walk, etag)
    # A new current halte, moved by an agent.
    stops = await Stop.objects().where(Stop.walk == walk.id).order_by(Stop.position)
    async with AsyncTestClient(app=app) as agent:
        await sign_in(agent, "agent")
        moved = await post_form(agent, f"/marches/{walk.id}/halte-en-cours", {"stop_id": str(stops[2].id)}, htmx=True)
        assert moved.status_code == 200
    etag = await assert_changed(client, walk, etag)
    # An author's new name, and the walk's status (closed: no more Modifier/Supprimer).
    await Participant.update({Participant.display_name: "Ali B."}).where(Participant.display_name == "Ali")
    etag = await assert_changed(client, walk, etag)
    await post_observation(client, walk, fields(description="Encore le mien"))
    etag = await assert_changed(client, walk, etag)
    await walks.set_status(await walks.get_walk(walk.id), "closed")
    await assert_changed(client, walk, etag)


async def test_errors_are_never_revalidated(client):
    walk = await make_walk("open")
    refused = await poll(client, walk, "*")  # not a participant
    assert refused.status_code in (401, 403) and "etag" not in refused.headers
    missing = await client.get("/marches/999999/fil", headers={**HTMX, "if-none-match": "*"})
    assert missing.status_code == 404 and "etag" not in missing.headers


def test_etag_helpers():
    assert body_etag(b"a") == body_etag(b"a") != body_etag(b"b")
    assert not etag_matches(None, body_etag(b"a")) and not etag_matches("", body_etag(b"a"))


async def raw_get(client, path: str, encoding: str) -> httpx.Response:
    """The bytes on the wire (httpx would decode them), with what was asked of the server."""
    request = client.build_request("GET", path, headers={"accept-encoding": encoding})
    response = await client.send(request, stream=True)
    body = b"".join([chunk async for chunk in response.aiter_raw()])
    await response.aclose()
    response._raw = body  # type: ignore[attr-defined]
    return response


def unpack(response) -> bytes:
    encoding = response.headers.get("content-encoding")
    body = response._raw
    return {"br": brotli.decompress, "gzip": gzip.decompress}.get(encoding, lambda b: b)(body)


async def test_text_is_compressed_brotli_or_gzip(client, store):  # noqa: F811
    walk = await make_walk("open")
    for index in range(3):
        await constat(store, walk, description=f"Constat {index} " + "trottoir encombré " * 10)
    await sign_in(client, "committee")
    plain_js = (await raw_get(client, "/static/js/capture.js", "identity"))._raw
    for path, kind in (("/marches", "text/html"), ("/static/js/capture.js", "text/javascript"),
                       ("/static/css/app.css", "text/css"), (f"/api/v1/walks/{walk.id}/observations",
                                                             "application/json")):
        for encoding in ("br", "gzip"):
            response = await raw_get(client, path, f"{encoding}, deflate" if encoding == "gzip" else "gzip, br")
            assert response.status_code == 200, (path, response.status_code)
            assert response.headers["content-type"].startswith(kind)
            assert response.headers.get("content-encoding") == encoding, (path, encoding, response.headers)
            assert "accept-encoding" in response.headers.get("vary", "").lower()
            body = unpack(response)
            assert len(response._raw) < len(body) / 2, (path, encoding, len(response._raw), len(body))
            if path.endswith("capture.js"):
                assert body == plain_js
    # Without Accept-Encoding: as it is.
    plain = await raw_get(client, "/static/js/capture.js", "identity")
    assert "content-encoding" not in plain.headers and int(plain.headers.get("content-length", len(plain._raw))) == len(
        plain._raw)


async def test_photos_icons_and_zip_are_not_compressed(client, store):  # noqa: F811
    walk = await make_walk("open")
    await constat(store, walk, photos=[PHOTOS / "ok" / "landscape_1.jpg", PHOTOS / "ok" / "landscape_2.jpg"])
    await sign_in(client, "committee")
    photo_id = (await Photo.objects().first()).id
    for path in (f"/photos/{photo_id}/affichage.jpg", f"/photos/{photo_id}/vignette.jpg", "/static/icons/icon-512.png"):
        response = await raw_get(client, path, "br, gzip")
        assert response.status_code == 200 and response.headers["content-type"].startswith("image/")
        assert "content-encoding" not in response.headers
    archive = await raw_get(client, zip_url(ObservationFilter(walk=walk.id)), "br, gzip")
    assert archive.status_code == 200 and archive.headers["content-type"] == "application/zip"
    assert "content-encoding" not in archive.headers
    assert int(archive.headers["content-length"]) == len(archive._raw)


async def test_zip_streams_with_its_exact_length_on_a_real_server(live_server, store):  # noqa: F811
    walk = await make_walk("open")
    await constat(store, walk, photos=[PHOTOS / "ok" / f"landscape_{i}.jpg" for i in range(1, 5)])
    # The committee's zip holds what others see (walkapp.privacy): the blurred images once made,
    # not the few-KB placeholders.
    assert await privacy.process_pending(store) == 4
    user = await make_user("committee", f"committee-{uuid.uuid4().hex[:6]}@ville.example")
    async with httpx.AsyncClient(base_url=live_server["url"]) as http:
        await http.get("/connexion")
        signed = await http.post("/connexion", data={"email": user.email, "password": PASSWORD},
                                 headers={"x-csrftoken": http.cookies["walkapp_csrf"]})
        assert signed.status_code in (200, 303)
        async with http.stream("GET", zip_url(ObservationFilter(walk=walk.id)),
                               headers={"accept-encoding": "br, gzip"}) as response:
            assert response.status_code == 200 and "content-encoding" not in response.headers
            assert "chunked" not in response.headers.get("transfer-encoding", "")
            length = int(response.headers["content-length"])
            chunks = [chunk async for chunk in response.aiter_raw()]
        assert len(chunks) > 1, "the zip came in one piece: it was built before being sent"
        assert sum(map(len, chunks)) == length


async def test_static_urls_carry_their_version_and_are_immutable(client):
    page = await client.get("/connexion")
    urls = re.findall(r'(?:href|src)="(/static/[^"]+)"', page.text)
    assert urls and all(re.search(r"\?v=[0-9a-f]{10}$", url) for url in urls), urls
    app_js = next(url for url in urls if "/js/app.js" in url)
    versioned = await client.get(app_js)
    assert versioned.status_code == 200 and versioned.headers["cache-control"] == IMMUTABLE
    for other in (app_js.split("?")[0], app_js.split("?")[0] + "?v=0000000000"):
        answer = await client.get(other)  # no version, or an old page's: kept a few minutes only
        assert answer.status_code == 200 and answer.headers["cache-control"] == SHORT
    assert (await client.get("/static/js/nope.js?v=1")).status_code == 404
    # Staff pages are never stored; static files, the same for everyone, are.
    await sign_in(client, "committee")
    assert (await client.get("/marches")).headers["cache-control"] == "no-store"
    assert (await client.get(app_js)).headers["cache-control"] == IMMUTABLE


async def test_staff_polls_are_never_stored_yet_revalidated(client):
    """Answers to staff are no-store (walkapp/headers.py): the browser keeps no copy to revalidate,
    so static/js/feed.js names the feed on screen itself, and the server still answers 304."""
    walk = await make_walk("open")
    await sign_in(client, "agent")
    first = await poll(client, walk)
    assert first.status_code == 200 and first.headers["cache-control"] == "no-store"
    again = await poll(client, walk, first.headers["etag"])
    assert again.status_code == 304 and again.content == b"" and again.headers["cache-control"] == "no-store"
