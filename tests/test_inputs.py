"""One constat input everywhere (API, field edit, requalification, Open311), numbers read once,
dates read once, and nothing left behind: files without rows, rows without files."""

import asyncio
import datetime as dt
import random
import types
import uuid
from pathlib import Path

import pytest

from conftest import PHOTOS, csrf_headers, make_walk, post_form, shown, sign_in
from test_api_observations import fields, join, media_files, photo, post_observation
from test_open311 import assert_json_error, make_key, post_fields

from walkapp import clock, photos
from walkapp.observations import services
from walkapp.observations.controllers import MAX_PHOTOS, MAX_UPLOAD_BYTES
from walkapp.observations.schemas import ObservationInput
from walkapp.photos import MAX_BYTES
from walkapp.settings import get_settings
from walkapp.storage import MediaStore
from walkapp.tables import Observation, ObservationEvent, Photo, Stop, Walk
from walkapp.validation import MAX_ID

HUGE = str(2**70)  # past SQLite's 64-bit and PostgreSQL's 32-bit integers
SQUARED = "²"  # str.isdigit() says yes, int() says no
SMALL = PHOTOS / "ok" / "no_exif.jpg"
V2 = "/open311/v2"


@pytest.fixture
def media(test_env) -> Path:
    return Path(test_env["WALKAPP_MEDIA_DIR"])


def store() -> MediaStore:
    return MediaStore(get_settings().media_dir)


async def walk_of_today(status="open"):
    """A walk dated today on the site's calendar, so that a phone's "now" is plausible."""
    walk = await make_walk(status)
    today = clock.today()
    await Walk.update({Walk.date: today}).where(Walk.id == walk.id)
    walk.date = today
    return walk


def files_of(*contents: bytes) -> list[str]:
    """The three files each photo is stored as (content-addressed: known from the bytes)."""
    paths = [photos.stored_paths(photos.process(content)) for content in contents]
    return [p for s in paths for p in (s.original_path, s.display_path, s.thumb_path)]


def raw_multipart(parts: list[tuple[str, bytes]]) -> tuple[bytes, str]:
    boundary = "walkapp-test-boundary"
    body = b"".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode() + value + b"\r\n"
                    for name, value in parts) + f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


# ---------------------------------------------------------------- one constat input

async def test_api_reads_numbers_in_ascii_only_and_refuses_without_storing(client, media):
    walk = await walk_of_today()
    await join(client, walk)
    before = media_files(media)
    for data, words in ((fields(lat="5_0.5", lon="2.48"), "Latitude"), (fields(lon="٢"), "Longitude"),
                        (fields(lat="nan", lon="nan"), "Latitude"), (fields(accuracy_m="inf"), "Précision"),
                        (fields(stop_id=SQUARED), "Halte"), (fields(stop_id=HUGE), "Halte"),
                        (fields(observed_at="0001-01-01T00:00:00+14:00"), "Date du constat"),
                        (fields(observed_at="9999-12-31T23:59:59-14:00"), "Date du constat"),
                        (fields(observed_at="1999-12-31T12:00:00+01:00"), "Date du constat"),
                        (fields(observed_at=(dt.datetime.now(dt.UTC) + dt.timedelta(days=3)).isoformat()),
                         "Date du constat")):
        response = await post_observation(client, walk, data, [photo(SMALL), photo(PHOTOS / "ok" / "jolla.jpg"),
                                                               photo(PHOTOS / "ok" / "landscape_3.jpg")])
        assert response.status_code == 422, (data, response.text)
        body = response.json()
        assert body["error"] == "invalid" and words in body["detail"] and body["fields"], body
    as_file = await post_observation(client, walk, fields(description=None),
                                     [("description", ("d.txt", b"Un commentaire", "text/plain"))])
    assert as_file.status_code == 422 and "pas un fichier" in as_file.json()["detail"], as_file.text
    assert await Observation.count() == 0 and await Photo.count() == 0
    assert media_files(media) == before


async def test_a_phone_date_far_from_the_walk_keeps_the_constat_without_it(client):
    walk = await walk_of_today()
    await join(client, walk)
    far = (dt.datetime.now(dt.UTC) - dt.timedelta(days=30)).replace(microsecond=0)
    response = await post_observation(client, walk, fields(observed_at=far.isoformat()))
    assert response.status_code == 201, response.text
    assert response.json()["observed_at"] is None and response.json()["received_at"]
    [event] = await ObservationEvent.objects().where(ObservationEvent.observation == response.json()["id"])
    assert event.field == "observed_at" and dt.datetime.fromisoformat(event.before) == far
    assert "Date du téléphone écartée" in event.note
    near = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=3)).replace(microsecond=0)
    kept = await post_observation(client, walk, fields(observed_at=near.isoformat()))
    assert dt.datetime.fromisoformat(kept.json()["observed_at"]) == near
    # The history of the first one says so, and Open311 still lists both (its dates are datetimes).
    await sign_in(client)
    page = shown(await client.get(f"/constats/{response.json()['id']}"))
    assert "Date du constat" in page and "Date du téléphone écartée" in page
    listing = await client.get(f"{V2}/requests.json")
    assert listing.status_code == 200 and len(listing.json()) == 2, listing.text


async def test_requalify_cleans_text_as_the_api_does(client, other_client):
    walk = await walk_of_today()
    await join(client, walk)
    constat = (await post_observation(client, walk, fields())).json()
    await sign_in(other_client)
    decomposed = "Rue de l'E\u0301glise\x07\u200b\ufffe"
    response = await post_form(other_client, f"/constats/{constat['id']}/requalifier",
                               {"issue": "proprete", "angle": "gestion", "polarity": "negative",
                                "street": decomposed, "lat": "", "lon": ""})
    assert response.status_code in (200, 303), response.text
    saved = await Observation.objects().where(Observation.id == constat["id"]).first()
    assert saved.street == "Rue de l'Église\u200b" and saved.lat == 50.5637  # NFC, no BEL, no U+FFFE
    for data, words in (({"lat": "5_0", "lon": "2"}, "Latitude"), ({"lat": "50.5"}, "vont ensemble"),
                        ({"issue": "bruit"}, "sept enjeux"), ({"street": "x" * 201}, "200 caractères")):
        refused = await post_form(other_client, f"/constats/{constat['id']}/requalifier", data, htmx=True)
        assert refused.status_code == 422 and words in shown(refused), (data, refused.text)
    assert (await Observation.objects().where(Observation.id == constat["id"]).first()).lat == 50.5637


async def test_field_edit_shows_each_fields_message_and_changes_only_what_is_sent(client):
    walk = await walk_of_today()
    await join(client, walk)
    constat = (await post_observation(client, walk, fields(description="Avant"))).json()
    url = f"/marches/{walk.id}/constats/{constat['id']}/modifier"
    bad = await post_form(client, url, {"issue": "bruit", "angle": "usages", "polarity": "negative",
                                        "description": "x" * 4001, "street": "Rue Carnot"}, htmx=True)
    assert bad.status_code == 422
    assert "Enjeu : choisissez l'un des sept enjeux." in shown(bad)
    assert "Commentaire : 4000 caractères au plus." in shown(bad)
    only_description = await post_form(client, url, {"description": "Apre\u0300s\x00", "lat": "1",
                                                     "status": "validated"})
    assert only_description.status_code in (200, 303), only_description.text
    saved = await Observation.objects().where(Observation.id == constat["id"]).first()
    assert (saved.description, saved.issue, saved.lat, saved.status) == ("Après", "dechets", 50.5637, "new")


async def test_open311_post_reads_the_same_rules_under_the_spec_names(client, other_client):
    walk = await walk_of_today()
    await sign_in(client)
    key = await make_key(client, walk)
    for data, words in ((post_fields(key, lat="5_0"), "lat"), (post_fields(key, long="inf"), "long"),
                        (post_fields(key, address_string="x" * 201), "address_string")):
        assert_json_error(await other_client.post(f"{V2}/requests.json", data=data), 400, words)
    created = await other_client.post(f"{V2}/requests.json", data=post_fields(
        key, description="Encombrants\x1b devant le n\u0301", address_string=" Rue  d'Aire "))
    assert created.status_code == 201, created.text
    stored = await Observation.objects().first()
    assert stored.description == "Encombrants devant le \u0144" and stored.street == "Rue d'Aire"  # NFC


# ---------------------------------------------------------------- numbers past the database's integers

async def test_ids_past_the_database_or_not_ascii_are_never_a_500(client, other_client):
    walk = await walk_of_today()
    await join(other_client, walk)
    constat = (await post_observation(other_client, walk, fields())).json()
    await sign_in(client)
    for value in (HUGE, SQUARED, str(MAX_ID + 1)):
        for path in (f"/carte?walk={value}", f"/carte?neighbourhood={value}", f"/actions?walk={value}",
                     f"/actions?partner={value}", f"/actions?year={value}",
                     f"/api/v1/observations.geojson?walk={value}"):
            response = await client.get(path)
            assert response.status_code == 200, (path, response.text)
        for path in (f"/exports/photos.zip?walk={value}", f"{V2}/requests.json?page={value}",
                     f"{V2}/requests.json?page_size={value}"):
            response = await client.get(path)
            assert response.status_code == 400, (path, response.text)
        for path in (f"{V2}/requests/{value}.json", f"{V2}/media/{value}.jpg"):
            response = await client.get(path)
            assert response.status_code == 404, (path, response.text)
        listing = await client.get(f"{V2}/requests.json", params={"service_request_id": f"{constat['id']},{value}"})
        assert listing.status_code in (200, 400), listing.text
        status = await post_form(client, f"/constats/{constat['id']}/statut",
                                 {"status": "duplicate", "duplicate_of": value})
        assert status.status_code == 400 and "Doublon" in shown(status), status.text
        stop = await post_form(client, f"/marches/{walk.id}/halte-en-cours", {"stop_id": value})
        assert stop.status_code == 404, stop.text
        link = await post_form(client, "/actions/lier", {"action": value, "constats": str(constat["id"])})
        assert link.status_code == 400, link.text
        key = await post_form(client, "/open311/cles", {"name": "Clé", "walk": value})
        assert key.status_code == 422 and "Marche" in shown(key), key.text
        new_walk = await post_form(client, "/marches/", {"neighbourhood": value, "title": "T", "date": "25/11/2026",
                                                         "stop_name": "A", "stop_lat": "50.5", "stop_lon": "2.4"})
        assert new_walk.status_code == 422, new_walk.text
    assert (await Observation.objects().first()).status == "new"


async def test_open311_date_filters_use_the_one_date_rule(client):
    await sign_in(client)
    for value in ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "hier"):
        assert_json_error(await client.get(f"{V2}/requests.json", params={"start_date": value}), 400, "start_date")
    found = await client.get(f"{V2}/requests.json", params={"start_date": "1990-01-01T00:00:00 01:00"})
    assert found.status_code == 200, found.text


# ---------------------------------------------------------------- bodies: encoding and size

async def test_invalid_utf8_in_a_multipart_field_is_a_french_422(client):
    walk = await walk_of_today()
    await join(client, walk)
    body, content_type = raw_multipart([("client_uuid", str(uuid.uuid4()).encode()), ("issue", b"dechets"),
                                        ("angle", b"usages"), ("description", b"D\xe9p\xf4t \xff\xfe sauvage")])
    headers = {**await csrf_headers(client), "content-type": content_type}
    response = await client.post(f"/api/v1/walks/{walk.id}/observations", content=body, headers=headers)
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "invalid" and "UTF-8" in response.json()["detail"]
    # Without a CSRF header the middleware reads the form first: the same answer, not a 500.
    no_header = await client.post(f"/api/v1/walks/{walk.id}/observations", content=body,
                                  headers={"content-type": content_type})
    assert no_header.status_code == 422, no_header.text
    constat = (await post_observation(client, walk, fields())).json()
    body, content_type = raw_multipart([("description", b"\xc3\x28")])
    edit = await client.post(f"/marches/{walk.id}/constats/{constat['id']}/modifier", content=body,
                             headers={**await csrf_headers(client), "content-type": content_type})
    assert edit.status_code == 422 and "UTF-8" in shown(edit), edit.text
    assert await Observation.count() == 1


async def test_upload_limit_admits_eight_full_photos_and_refuses_more_in_json(client):
    assert MAX_UPLOAD_BYTES >= MAX_PHOTOS * MAX_BYTES + 100_000 and MAX_PHOTOS == 8
    walk = await walk_of_today()
    await join(client, walk)
    body, content_type = raw_multipart([("client_uuid", str(uuid.uuid4()).encode())])
    headers = {**await csrf_headers(client), "content-type": content_type}
    # Litestar refuses on the announced length, before reading: no need to send 200 MB.
    for length, status in ((MAX_UPLOAD_BYTES + 1, 413), (4 * MAX_BYTES + 2_000_000, 422)):
        response = await client.post(f"/api/v1/walks/{walk.id}/observations", content=body,
                                     headers={**headers, "content-length": str(length)})
        assert response.status_code == status, (length, response.text[:300])
        assert response.headers["content-type"].startswith("application/json")
    assert response.json()["error"] == "invalid"
    too_big = await client.post(f"/api/v1/walks/{walk.id}/observations", content=body,
                                headers={**headers, "content-length": str(MAX_UPLOAD_BYTES + 1)})
    assert too_big.json() == {"error": "too_large", "detail": "L'envoi est trop gros."}


# ---------------------------------------------------------------- nothing left behind

async def test_a_constat_whose_rows_fail_leaves_no_new_file(media):
    walk = await walk_of_today()
    before = media_files(media)
    jolla = (PHOTOS / "ok" / "jolla.jpg").read_bytes()
    data = ObservationInput(client_uuid=str(uuid.uuid4()), issue="dechets", angle="usages",
                            photos=[(SMALL.read_bytes(), SMALL.name), (jolla, "jolla.jpg")])
    nobody = types.SimpleNamespace(id=MAX_ID)  # a participant that does not exist: the insert fails
    with pytest.raises(Exception):  # noqa: B017 - whatever the engine's integrity error is
        await services.record(store(), walk, nobody, data)
    assert await Observation.count() == 0 and await Photo.count() == 0
    assert not media_files(media) - before and not any(map(store().exists, files_of(SMALL.read_bytes(), jolla)))
    # A file some row names stays, even when a failed constat had the same photo.
    kept, _ = await services.record(store(), walk, None, ObservationInput(
        client_uuid=str(uuid.uuid4()), issue="dechets", angle="usages", photos=[(SMALL.read_bytes(), SMALL.name)]))
    with_kept = media_files(media)
    data.client_uuid = str(uuid.uuid4())
    with pytest.raises(Exception):  # noqa: B017
        await services.record(store(), walk, nobody, data)
    assert media_files(media) == with_kept and all(map(store().exists, files_of(SMALL.read_bytes())))
    assert not any(map(store().exists, files_of(jolla)))


async def test_concurrent_create_and_delete_of_the_same_photo_never_lose_a_rows_files():
    walk = await walk_of_today()
    content = SMALL.read_bytes()
    media = store()
    rng = random.Random(7)

    def constat() -> ObservationInput:
        return ObservationInput(client_uuid=str(uuid.uuid4()), issue="dechets", angle="usages",
                                photos=[(content, SMALL.name)])

    async def delete_later(observation, delay: float) -> None:
        await asyncio.sleep(delay)
        await services.delete_observation(media, observation)

    previous, _ = await services.record(media, walk, None, constat())
    for _ in range(60):
        # The deletion lands anywhere in the creation: before, during the files, before the rows.
        created, _ = await asyncio.gather(services.record(media, walk, None, constat()),
                                          delete_later(previous, rng.uniform(0, 0.06)))
        previous = created[0]
        for row in await Photo.objects():
            for relative in (row.original_path, row.display_path, row.thumb_path):
                assert media.exists(relative), relative
    assert await Photo.count() == 1
    await services.delete_observation(media, previous)
    assert await Photo.count() == 0 and not any(map(media.exists, files_of(content)))


async def test_stop_of_another_walk_is_refused_in_the_api(client):
    walk = await walk_of_today()
    other = await make_walk("open", title="Autre")
    await join(client, walk)
    stop = await Stop.objects().where(Stop.walk == other.id).first()
    response = await post_observation(client, walk, fields(stop_id=str(stop.id)))
    assert response.status_code == 422 and response.json()["fields"] == {
        "stop_id": "Halte : elle n'appartient pas à cette marche."}
