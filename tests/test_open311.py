"""Open311 GeoReport v2 (issue 6): every endpoint in JSON and XML, the spec's field names and
error shape, API keys (missing, wrong, revoked), the read rules, and a POST that lands in the walk."""

import datetime as dt
import re
import uuid
from xml.etree import ElementTree as ET

import pytest

from conftest import PHOTOS, make_walk, post_form, shown, sign_in

from walkapp import gusp
from walkapp.observations import services
from walkapp.observations.schemas import ObservationInput
from walkapp.settings import get_settings
from walkapp.storage import MediaStore
from walkapp.tables import ApiKey, Observation, Participant

V2 = "/open311/v2"
W3C = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d([+-]\d\d:\d\d|Z)$")
SERVICE_FIELDS = ["service_code", "service_name", "description", "metadata", "type", "keywords", "group"]
REQUEST_FIELDS = ["service_request_id", "status", "status_notes", "service_name", "service_code", "description",
                  "agency_responsible", "service_notice", "requested_datetime", "updated_datetime",
                  "expected_datetime", "address", "address_id", "zipcode", "lat", "long", "media_url"]


def xml(response) -> ET.Element:
    assert response.headers["content-type"].startswith("text/xml")
    assert response.content.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    return ET.fromstring(response.content)


def assert_json_error(response, code: int, words: str) -> None:
    assert response.status_code == code, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert isinstance(body, list) and len(body) == 1 and set(body[0]) == {"code", "description"}
    assert body[0]["code"] == code and words in body[0]["description"], body


def assert_xml_error(response, code: int, words: str) -> None:
    assert response.status_code == code, response.text
    root = xml(response)
    assert root.tag == "errors" and [e.tag for e in root] == ["error"]
    assert root.find("error/code").text == str(code) and words in root.find("error/description").text


async def make_key(client, walk, name="Appli Signalements Lillers") -> str:
    """Through the coordinator's page, as a person would."""
    response = await post_form(client, "/open311/cles", {"name": name, "walk": str(walk.id)})
    assert response.status_code == 201, response.text
    match = re.search(r'id="new-key-value" readonly value="(w311_[^"]+)"', response.text)
    assert match, response.text
    return match.group(1)


async def constat(walk, status="validated", issue="dechets", observed_at=None, photos=(), street="Rue Carnot"):
    store = MediaStore(get_settings().media_dir)
    data = ObservationInput(client_uuid=str(uuid.uuid4()), issue=issue, angle="usages", description="Dépôt <sauvage>",
                            lat=50.5637, lon=2.4827, location_source="device", street=street,
                            observed_at=observed_at, status=status)
    data.photos = [(p.read_bytes(), p.name) for p in photos]
    observation, _ = await services.record(store, walk, None, data)
    return observation


def post_fields(key=None, **overrides):
    data = {"api_key": key, "service_code": "dechets", "lat": "50.5631", "long": "2.4829",
            "address_string": "Rue d'Aire", "description": "Encombrants devant le n° 12",
            "email": "habitant@example.org", "first_name": "Jean"}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


async def test_services_in_json_and_xml(client):
    response = await client.get(f"{V2}/services.json")
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert [s["service_code"] for s in body] == list(gusp.codes("issue"))
    assert [s["service_name"] for s in body] == [t.label for t in gusp.ISSUES]
    for item in body:
        assert list(item) == SERVICE_FIELDS
        assert item["metadata"] is True and item["type"] == "realtime" and item["description"]
    root = xml(await client.get(f"{V2}/services.xml"))
    assert root.tag == "services" and [s.tag for s in root] == ["service"] * 7
    first = root[0]
    assert [child.tag for child in first] == SERVICE_FIELDS
    assert first.findtext("service_code") == "ambiance"
    assert first.findtext("service_name") == "Ambiance urbaine (tranquillité, sécurité)"
    assert first.findtext("metadata") == "true" and first.findtext("type") == "realtime"


async def test_service_definition_in_json_and_xml(client):
    body = (await client.get(f"{V2}/services/dechets.json")).json()
    assert body["service_code"] == "dechets"
    angle, polarity = body["attributes"]
    assert (angle["code"], angle["datatype"], angle["required"], angle["variable"], angle["order"]) == \
        ("angle", "singlevaluelist", False, True, 1)
    assert [v["key"] for v in angle["values"]] == list(gusp.codes("angle"))
    assert [v["name"] for v in polarity["values"]] == ["Point faible", "Point fort"]
    root = xml(await client.get(f"{V2}/services/dechets.xml"))
    assert root.tag == "service_definition" and root.findtext("service_code") == "dechets"
    attributes = root.findall("attributes/attribute")
    assert [a.findtext("code") for a in attributes] == ["angle", "polarity"]
    assert attributes[0].findtext("required") == "false"
    assert [v.findtext("key") for v in attributes[0].findall("values/value")] == list(gusp.codes("angle"))
    assert_json_error(await client.get(f"{V2}/services/bruit.json"), 404, "inconnu")
    assert_xml_error(await client.get(f"{V2}/services/bruit.xml"), 404, "inconnu")
    assert_json_error(await client.get(f"{V2}/services/dechets.csv"), 404, ".json ou .xml")


async def test_post_without_or_with_a_wrong_key_is_refused(client, other_client):
    walk = await make_walk("open")
    await sign_in(client)
    key = await make_key(client, walk)
    for suffix, check in (("json", assert_json_error), ("xml", assert_xml_error)):
        check(await other_client.post(f"{V2}/requests.{suffix}", data=post_fields()), 403, "api_key manquante")
        check(await other_client.post(f"{V2}/requests.{suffix}", data=post_fields("w311_pas-la-bonne")), 403,
              "invalide")
        check(await other_client.post(f"{V2}/requests.{suffix}", data=post_fields(key[:-1])), 403, "invalide")
    # A staff session cookie is no credential here (and no CSRF token is asked): still the key's refusal.
    assert_json_error(await client.post(f"{V2}/requests.json", data=post_fields()), 403, "api_key manquante")
    # Revoked on the page: refused from then on.
    row = await ApiKey.objects().first()
    revoked = await post_form(client, f"/open311/cles/{row.id}/revoquer", {})
    assert revoked.status_code == 303
    assert_json_error(await other_client.post(f"{V2}/requests.json", data=post_fields(key)), 403, "révoquée")
    assert await Observation.count() == 0 and await Participant.count() == 0


async def test_post_creates_a_constat_in_the_keys_walk(client, other_client, app):
    from litestar.testing import AsyncTestClient

    walk = await make_walk("open")
    await sign_in(client)
    key = await make_key(client, walk, "Appli Signalements Lillers")
    # No cookie, no CSRF token: the key is the credential.
    created = await other_client.post(f"{V2}/requests.json", data=post_fields(
        key, **{"attribute[angle]": "conception", "media_url": "https://exemple.fr/p.jpg"}))
    assert created.status_code == 201, created.text
    body = created.json()
    assert isinstance(body, list) and list(body[0]) == ["service_request_id", "service_notice", "account_id"]
    number = body[0]["service_request_id"]
    assert body[0]["account_id"] is None and f"Constat n° {number}" in body[0]["service_notice"]
    observation = await Observation.objects().where(Observation.id == number).first()
    assert observation.walk == walk.id and observation.issue == "dechets" and observation.angle == "conception"
    assert observation.polarity == "negative" and observation.status == "new"
    assert (observation.lat, observation.lon, observation.street) == (50.5631, 2.4829, "Rue d'Aire")
    assert observation.description == "Encombrants devant le n° 12\n\nMédia joint : https://exemple.fr/p.jpg"
    # In XML too, by the same author (one participant, named after the key).
    again = await other_client.post(f"{V2}/requests.xml", data=post_fields(key, service_code="proprete",
                                                                          **{"attribute[polarity]": "positive"}))
    assert again.status_code == 201
    root = xml(again)
    assert root.tag == "service_requests" and root.find("request/service_request_id").text.isdigit()
    assert root.find("request/account_id").text is None
    authors = await Participant.select(Participant.display_name).where(Participant.walk == walk.id)
    assert authors == [{"display_name": "Appli Signalements Lillers"}]
    # Shows in the walk's constats, as the walk's phones and the map read them.
    async with AsyncTestClient(app=app) as phone:
        joined = await post_form(phone, f"/j/{walk.join_secret}", {"display_name": "Zoé"})
        assert joined.status_code == 303
        listing = (await phone.get(f"/api/v1/walks/{walk.id}/observations")).json()["observations"]
    assert {o["id"] for o in listing} == {number, int(root.find("request/service_request_id").text)}
    posted = next(o for o in listing if o["id"] == number)
    assert posted["author"] == "Appli Signalements Lillers" and posted["issue_label"] == gusp.label("issue", "dechets")
    # The key's client follows its own (not yet validated) requests with its key.
    mine = await other_client.get(f"{V2}/requests/{number}.json", params={"api_key": key})
    assert mine.status_code == 200 and mine.json()[0]["status"] == "open"
    assert_json_error(await other_client.get(f"{V2}/requests/{number}.json"), 404, "introuvable")


async def test_post_refusals_store_nothing(client, other_client):
    walk = await make_walk("open")
    planned = await make_walk("planned", title="Plus tard")
    await sign_in(client)
    key = await make_key(client, walk)
    later = await make_key(client, planned, "Clé de la marche prévue")
    cases = [
        (post_fields(key, service_code=None), 400, "service_code manquant"),
        (post_fields(key, service_code="bruit"), 404, "inconnu"),
        (post_fields(key, lat=None, long=None, address_string=None), 400, "Lieu manquant"),
        (post_fields(key, long=None), 400, "vont ensemble"),
        (post_fields(key, lat="91"), 400, "entre -90 et 90"),
        (post_fields(key, long="est"), 400, "n'est pas un nombre"),
        (post_fields(key, description="x" * 4001), 400, "4000 caractères"),
        (post_fields(key, **{"attribute[angle]": "hasard"}), 400, "attribute[angle]"),
        (post_fields(key, **{"attribute[polarity]": "neutre"}), 400, "attribute[polarity]"),
        (post_fields(later), 409, "pas encore commencé"),
    ]
    for data, code, words in cases:
        assert_json_error(await other_client.post(f"{V2}/requests.json", data=data), code, words)
    assert_xml_error(await other_client.post(f"{V2}/requests.xml", data=post_fields(key, service_code=None)), 400,
                     "service_code")
    assert await Observation.count() == 0
    # An address alone is a place.
    only_address = await other_client.post(f"{V2}/requests.json", data=post_fields(key, lat=None, long=None))
    assert only_address.status_code == 201
    stored = await Observation.objects().first()
    assert stored.lat is None and stored.street == "Rue d'Aire"


async def test_who_reads_what(client, other_client):
    walk = await make_walk("open")
    other = await make_walk("open", title="Autre")
    validated = await constat(walk, "validated", photos=[PHOTOS / "ok" / "landscape_1.jpg"])
    new = await constat(walk, "new")
    rejected = await constat(walk, "rejected")
    elsewhere = await constat(other, "new")
    # Anyone: validated constats only.
    public = (await other_client.get(f"{V2}/requests.json")).json()
    assert [r["service_request_id"] for r in public] == [validated.id]
    item = public[0]
    assert list(item) == REQUEST_FIELDS
    assert item["status"] == "open" and item["status_notes"] == "Validé" and item["service_code"] == "dechets"
    assert item["service_name"] == "Gestion de tous les types de déchets" and item["description"] == "Dépôt <sauvage>"
    assert W3C.match(item["requested_datetime"]) and W3C.match(item["updated_datetime"])
    assert (item["lat"], item["long"], item["address"]) == (50.5637, 2.4827, "Rue Carnot")
    assert item["expected_datetime"] is None and item["zipcode"] is None
    assert item["media_url"].startswith("http://") and item["media_url"].endswith(".jpg")
    photo = await other_client.get(item["media_url"])
    assert photo.status_code == 200 and photo.headers["content-type"] == "image/jpeg"
    # XML, same content; XML escapes what residents typed.
    root = xml(await other_client.get(f"{V2}/requests.xml"))
    assert root.tag == "service_requests" and [r.tag for r in root] == ["request"]
    assert [c.tag for c in root[0]] == REQUEST_FIELDS
    assert root[0].findtext("description") == "Dépôt <sauvage>" and root[0].findtext("long") == "2.4827"
    assert root[0].findtext("expected_datetime") == "" and root[0].findtext("status") == "open"
    # A key's client: also everything of its walk, not of other walks.
    await sign_in(client)
    key = await make_key(client, walk)
    with_key = (await other_client.get(f"{V2}/requests.json", params={"api_key": key})).json()
    assert {r["service_request_id"] for r in with_key} == {validated.id, new.id, rejected.id}
    assert next(r for r in with_key if r["service_request_id"] == rejected.id)["status"] == "closed"
    assert_json_error(await other_client.get(f"{V2}/requests.json", params={"api_key": "w311_faux"}), 403, "invalide")
    # Staff: everything.
    staff = (await client.get(f"{V2}/requests.json")).json()
    assert {r["service_request_id"] for r in staff} == {validated.id, new.id, rejected.id, elsewhere.id}
    # The media of a constat one may not read: 404.
    unseen = await constat(walk, "new", photos=[PHOTOS / "ok" / "landscape_2.jpg"])
    staff_view = (await client.get(f"{V2}/requests/{unseen.id}.json")).json()[0]
    assert (await other_client.get(staff_view["media_url"])).status_code == 404
    assert (await client.get(staff_view["media_url"])).status_code == 200


async def test_filters_and_paging(client):
    walk = await make_walk("open")
    now = dt.datetime.now(dt.UTC)
    old = await constat(walk, observed_at=now - dt.timedelta(days=200))
    dechets = [await constat(walk, observed_at=now - dt.timedelta(hours=i)) for i in range(1, 4)]
    proprete = await constat(walk, issue="proprete", observed_at=now - dt.timedelta(days=3))
    duplicate = await constat(walk, status="duplicate", observed_at=now - dt.timedelta(days=1))
    await Observation.update({Observation.duplicate_of: dechets[0].id}).where(Observation.id == duplicate.id)
    await sign_in(client)

    async def ids(**params):
        response = await client.get(f"{V2}/requests.json", params=params)
        assert response.status_code == 200, response.text
        return [r["service_request_id"] for r in response.json()]

    recent = await ids()
    assert old.id not in recent and len(recent) == 5  # the spec's default: the last 90 days
    assert await ids(start_date=(now - dt.timedelta(days=365)).isoformat()) == sorted(
        [old.id, proprete.id, duplicate.id, *[d.id for d in dechets]], reverse=True)
    assert set(await ids(service_code="proprete")) == {proprete.id}
    assert set(await ids(service_code="proprete,dechets")) == {proprete.id, duplicate.id, *[d.id for d in dechets]}
    assert await ids(status="closed") == [duplicate.id]
    closed = (await client.get(f"{V2}/requests.json", params={"status": "closed"})).json()[0]
    assert closed["status_notes"] == f"Doublon du constat n° {dechets[0].id}"
    assert set(await ids(status="open,closed")) == set(recent)
    window = await ids(start_date=(now - dt.timedelta(days=4)).isoformat(),
                       end_date=(now - dt.timedelta(hours=12)).isoformat())
    assert set(window) == {proprete.id, duplicate.id}
    assert set(await ids(end_date="2000-01-01T00:00:00Z")) == set()
    # service_request_id overrides every other argument.
    assert set(await ids(service_request_id=f"{old.id},{proprete.id}", service_code="dechets")) == {old.id, proprete.id}
    # Paging: page and page_size, newest first, no overlap.
    pages = [await ids(page_size="2", page=str(p)) for p in (1, 2, 3, 4)]
    assert [len(p) for p in pages] == [2, 2, 1, 0] and [i for p in pages for i in p] == recent
    for params, words in (({"page_size": "0"}, "page_size"), ({"page_size": "5000"}, "page_size"),
                          ({"page": "x"}, "page"), ({"start_date": "hier"}, "start_date"),
                          ({"status": "pending"}, "status"), ({"service_request_id": "1,abc"}, "service_request_id"),
                          ({"start_date": "2026-02-01T00:00:00Z", "end_date": "2026-01-01T00:00:00Z"}, "précéder")):
        assert_json_error(await client.get(f"{V2}/requests.json", params=params), 400, words)
    assert_xml_error(await client.get(f"{V2}/requests.xml", params={"service_code": "bruit"}), 404, "inconnu")


async def test_one_request_in_json_and_xml(client):
    walk = await make_walk("open")
    item = await constat(walk, "validated")
    body = (await client.get(f"{V2}/requests/{item.id}.json")).json()
    assert isinstance(body, list) and body[0]["service_request_id"] == item.id and list(body[0]) == REQUEST_FIELDS
    assert body[0]["media_url"] == ""  # no photo
    root = xml(await client.get(f"{V2}/requests/{item.id}.xml"))
    assert root.tag == "service_requests" and root.findtext("request/service_request_id") == str(item.id)
    assert_json_error(await client.get(f"{V2}/requests/999999.json"), 404, "introuvable")
    assert_xml_error(await client.get(f"{V2}/requests/abc.xml"), 404, "introuvable")
    assert_xml_error(await client.get(f"{V2}/nimporte/quoi.xml"), 404, "inconnue")
    discovery = (await client.get(f"{V2}/discovery.json")).json()
    assert discovery["endpoints"][0]["formats"] == ["text/xml", "application/json"]
    assert xml(await client.get(f"{V2}/discovery.xml")).findtext("endpoints/endpoint/specification")


async def test_keys_page(client, other_client):
    walk = await make_walk("open", title="Marche des clés")
    page = await client.get("/open311/cles", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/connexion")
    await sign_in(other_client, "agent")
    assert (await other_client.get("/open311/cles")).status_code == 403
    await sign_in(client)
    assert "Aucune clé" in shown(await client.get("/open311/cles"))
    refused = await post_form(client, "/open311/cles", {"name": "  ", "walk": "999999"})
    assert refused.status_code == 422
    assert "Nom : ce champ est obligatoire" in shown(refused) and "Marche : choisissez" in shown(refused)
    no_csrf = await client.post("/open311/cles", data={"name": "Sans jeton", "walk": str(walk.id)})
    assert no_csrf.status_code == 403
    assert await ApiKey.count() == 0
    key = await make_key(client, walk, "Système de la ville")
    row = await ApiKey.objects().first()
    assert row.key_hash != key and len(row.key_hash) == 64 and key.startswith(row.prefix)
    listing = await client.get("/open311/cles")
    assert key not in listing.text and row.prefix in listing.text  # shown once, then only its start
    assert "Système de la ville" in shown(listing) and "Marche des clés" in shown(listing)
    assert "Active" in shown(listing)
    revoked = await post_form(client, f"/open311/cles/{row.id}/revoquer", {}, follow_redirects=True)
    assert revoked.status_code == 200 and "Révoquée le" in shown(revoked)
    assert (await post_form(client, "/open311/cles/999999/revoquer", {})).status_code == 404


@pytest.mark.parametrize("path", ["/open311/cles", "/api/v1/walks/1/observations"])
async def test_csrf_still_guards_everything_else(client, path):
    await sign_in(client)
    walk = await make_walk("open")
    response = await client.post(path.replace("/1/", f"/{walk.id}/"), data={"name": "x", "walk": str(walk.id)})
    assert response.status_code == 403 and await ApiKey.count() == 0


# ---------------------------------------------------------------- what was done (issue 15)

async def _action(user, constats, problem, state="en_cours", deadline=None, pilot=None):
    from walkapp.actions.forms import ActionInput
    from walkapp.actions.services import create_action
    from walkapp.tables import Partner

    partner = None
    if pilot:
        partner = await Partner.objects().where(Partner.name == pilot).first()
        if partner is None:
            partner = Partner(name=pilot, kind="ville")
            await partner.save()
    return await create_action(ActionInput(axe="dechets", problem=problem, state=state, deadline=deadline,
                                           pilot=partner.id if partner else None,
                                           constats=[c.id for c in constats]), user)


async def _last_event_at(action, when: dt.datetime) -> None:
    """Dates an action's latest history row (ActionEvent) at `when`, as if made then."""
    from walkapp.tables import ActionEvent

    last = await ActionEvent.objects().where(ActionEvent.action == action.id).order_by(
        ActionEvent.id, ascending=False).first()
    await ActionEvent.update({ActionEvent.at: when}).where(ActionEvent.id == last.id)


async def test_status_tells_what_the_actions_did(client, other_client):
    from walkapp.actions.services import unlink_constat, update_action

    walk = await make_walk("open")
    user = await sign_in(client)
    item = await constat(walk, "validated")
    alone = await constat(walk, "validated")  # no action: open, nothing to tell
    first = await _action(user, [item], "Encombrants devant le n° 12, rue d'Aire", deadline=dt.date(2026, 12, 15),
                          pilot="Ville de Lillers")
    second = await _action(user, [item], "Sensibiliser au tri", state="realisee", deadline=dt.date(2026, 12, 31),
                           pilot="Pas-de-Calais Habitat")

    async def read(fmt="json", **params):
        response = await other_client.get(f"{V2}/requests/{item.id}.{fmt}", params=params)  # the public's read
        assert response.status_code == 200, response.text
        return response.json()[0] if fmt == "json" else xml(response).find("request")

    body = await read()
    assert body["status"] == "open"  # one action still en cours
    assert body["status_notes"] == (f"Validé. Action n° {first.id} « Encombrants devant le n° 12, rue d'Aire » : "
                                    f"En cours ; action n° {second.id} « Sensibiliser au tri » : Réalisée.")
    assert body["agency_responsible"] == "Ville de Lillers, Pas-de-Calais Habitat"
    assert body["expected_datetime"] == "2026-12-31T23:59:59+01:00"  # the latest échéance, end of its day
    assert W3C.match(body["updated_datetime"])

    await update_action(first, user, {"state": "realisee"})
    await _last_event_at(first, dt.datetime(2027, 1, 15, 9, 30, tzinfo=dt.UTC))
    body = await read()
    assert body["status"] == "closed" and body["status_notes"].count(": Réalisée") == 2
    assert body["updated_datetime"] == "2027-01-15T10:30:00+01:00"  # from the actions' history
    root = await read("xml")
    assert root.findtext("status") == "closed" and root.findtext("agency_responsible").startswith("Ville de Lillers")
    assert root.findtext("expected_datetime") == "2026-12-31T23:59:59+01:00"
    # The spec's status filter says the same, in JSON and XML, for staff and the public.
    since = {"start_date": "2020-01-01T00:00:00Z"}
    for reader in (client, other_client):
        closed = (await reader.get(f"{V2}/requests.json", params={"status": "closed", **since})).json()
        opened = (await reader.get(f"{V2}/requests.json", params={"status": "open", **since})).json()
        assert [r["service_request_id"] for r in closed] == [item.id]
        assert [r["service_request_id"] for r in opened] == [alone.id]
        assert opened[0]["status_notes"] == "Validé" and opened[0]["agency_responsible"] == ""
        assert opened[0]["expected_datetime"] is None
    assert [r.findtext("service_request_id") for r in xml(await other_client.get(
        f"{V2}/requests.xml", params={"status": "closed", **since}))] == [str(item.id)]

    # An action unlinked: open again, and the unlinking is the latest change.
    await update_action(first, user, {"state": "en_cours"})
    await unlink_constat(first, user, item.id)
    await _last_event_at(first, dt.datetime(2027, 2, 1, 8, 0, tzinfo=dt.UTC))
    body = await read()
    assert body["status"] == "closed"  # the action left is Réalisée
    assert body["status_notes"] == f"Validé. Action n° {second.id} « Sensibiliser au tri » : Réalisée."
    assert body["updated_datetime"] == "2027-02-01T09:00:00+01:00"
    assert body["agency_responsible"] == "Pas-de-Calais Habitat"
    # Rejected or a duplicate: closed whatever its actions.
    await Observation.update({Observation.status: "duplicate", Observation.duplicate_of: alone.id}).where(
        Observation.id == item.id)
    await update_action(second, user, {"state": "en_cours"})
    body = (await client.get(f"{V2}/requests/{item.id}.json")).json()[0]
    assert body["status"] == "closed"
    assert body["status_notes"] == (f"Doublon du constat n° {alone.id}. Action n° {second.id} "
                                    "« Sensibiliser au tri » : En cours.")


async def test_post_with_a_media_photo_goes_through_the_photo_pipeline(client, other_client):
    from walkapp.privacy import services as privacy
    from walkapp.tables import Photo

    walk = await make_walk("open")
    await sign_in(client)
    key = await make_key(client, walk)
    photo = PHOTOS / "ok" / "landscape_1.jpg"
    created = await other_client.post(f"{V2}/requests.json", data=post_fields(key),
                                      files=[("media", (photo.name, photo.read_bytes(), "image/jpeg"))])
    assert created.status_code == 201, created.text
    number = created.json()[0]["service_request_id"]
    observation = await Observation.objects().where(Observation.id == number).first()
    assert observation.location_source == "open311"  # the client's position, not a phone's here
    assert gusp.label("location_source", "open311") == "Position transmise par Open311"
    rows = await Photo.objects().where(Photo.observation == number)
    assert len(rows) == 1 and rows[0].width > 0 and rows[0].privacy_state == "pending"  # blurred after the 201
    store = MediaStore(get_settings().media_dir)
    assert store.path(rows[0].display_path).is_file() and store.path(rows[0].original_path).is_file()
    # Its media_url serves the neutral image until the privacy job has blurred it, then the blurred one.
    item = (await other_client.get(f"{V2}/requests/{number}.json", params={"api_key": key})).json()[0]
    assert item["media_url"].endswith(f"/{rows[0].id}.jpg")
    before = await other_client.get(item["media_url"], params={"api_key": key})
    assert before.status_code == 200 and before.headers["cache-control"] == "no-store"
    assert await privacy.process_pending(store) == 1
    after = await other_client.get(item["media_url"], params={"api_key": key})
    done = await Photo.objects().where(Photo.id == rows[0].id).first()
    assert done.privacy_state == "done" and after.content == store.path(done.blurred_display_path).read_bytes()
    # In XML, several photos at once (a multipart form with many media parts).
    again = await other_client.post(f"{V2}/requests.xml", data=post_fields(key), files=[
        ("media", (p.name, p.read_bytes(), "image/jpeg")) for p in (PHOTOS / "ok" / "landscape_2.jpg",
                                                                      PHOTOS / "ok" / "portrait_6.jpg")])
    assert again.status_code == 201, again.text
    assert await Photo.count().where(Photo.observation == int(xml(again).findtext("request/service_request_id"))) == 2


async def test_post_media_refusals_store_nothing(client, other_client):
    from walkapp.tables import Photo

    walk = await make_walk("open")
    await sign_in(client)
    key = await make_key(client, walk)
    good = ("media", ("landscape_1.jpg", (PHOTOS / "ok" / "landscape_1.jpg").read_bytes(), "image/jpeg"))
    cases = [
        ([("media", ("not-an-image.jpg", (PHOTOS / "bad" / "not-an-image.jpg").read_bytes(), "image/jpeg"))],
         {}, 415, "n'est pas une photo"),
        ([("media", ("truncated.jpg", (PHOTOS / "bad" / "truncated.jpg").read_bytes(), "image/jpeg"))], {}, 415,
         "abîmée"),
        ([good, ("photo", ("b.jpg", b"x", "image/jpeg"))], {}, 400, "champ media"),
        ([], {"media": "https://exemple.fr/p.jpg"}, 400, "media_url"),
        ([good] * 9, {}, 422, "8 photos au plus"),
    ]
    for files, extra, code, words in cases:
        for suffix, check in (("json", assert_json_error), ("xml", assert_xml_error)):
            check(await other_client.post(f"{V2}/requests.{suffix}", data=post_fields(key, **extra),
                                          files=files or None), code, words)
    assert await Observation.count() == 0 and await Photo.count() == 0


async def test_keys_of_closed_walks_are_refused(client, other_client):
    from walkapp.walks.services import set_status

    walk = await make_walk("open")
    await sign_in(client)
    key = await make_key(client, walk)
    assert (await other_client.post(f"{V2}/requests.json", data=post_fields(key))).status_code == 201
    await set_status(walk, "closed")
    for suffix, check in (("json", assert_json_error), ("xml", assert_xml_error)):
        check(await other_client.post(f"{V2}/requests.{suffix}", data=post_fields(key)), 403, "close")
    assert await Observation.count() == 1
    # Its constats stay readable by the key (it follows what it posted).
    assert len((await other_client.get(f"{V2}/requests.json", params={"api_key": key})).json()) == 1


async def test_clients_may_not_claim_the_open311_source(client):
    """location_source "open311" is the server's, for Open311 posts only."""
    from conftest import csrf_headers

    walk = await make_walk("open")
    await sign_in(client)
    response = await client.post(f"/api/v1/walks/{walk.id}/observations", headers=await csrf_headers(client), data={
        "client_uuid": str(uuid.uuid4()), "issue": "dechets", "angle": "usages", "lat": "50.5637", "lon": "2.4827",
        "location_source": "open311"})
    assert response.status_code == 422 and "réservée aux constats reçus par Open311" in response.json()["detail"]
    assert await Observation.count() == 0
