"""HTTP as clients read it: the API's error shape and what the OpenAPI schema says of it, HEAD
wherever GET works, one charset per Content-Type, well-formed Open311 XML whatever the rows hold,
ids past the database's integer, and htmx-only URLs opened in the address bar."""

import uuid
from xml.etree import ElementTree as ET

import pytest

from conftest import make_walk, post_form, sign_in

from walkapp import gusp
from walkapp.tables import Observation
from walkapp.walks.services import join_walk

API_ERROR_CODES = ("400", "401", "403", "404", "409", "413", "415", "422")
UPLOAD_FIELDS = {"client_uuid", "issue", "angle", "polarity", "description", "lat", "lon", "accuracy_m", "street",
                 "stop_id", "observed_at", "photos",
                 "revisit_of", "outcome"}  # issue 12: re-visits of a follow-up walk


async def validated_constat(walk, description="Dépôt sauvage") -> Observation:
    participant = await join_walk(walk, "Zoé", None)
    observation = Observation(walk=walk.id, participant=participant.id, client_uuid=str(uuid.uuid4()),
                              issue="dechets", angle="usages", polarity="negative", description=description,
                              street="Rue Carnot", lat=50.5637, lon=2.4827, location_source="device",
                              status="validated")
    await observation.save()
    return observation


# ---------------------------------------------------------------- the API's errors and the schema

async def test_api_errors_are_exactly_error_and_detail(client):
    walk = await make_walk("open")
    participant = await join_walk(walk, "Zoé", None)
    bearer = {"Authorization": f"Bearer {participant.token}"}
    not_found = await client.get("/api/v1/walks/999999/observations")
    unauthorized = await client.get(f"/api/v1/walks/{walk.id}/observations")
    invalid = await client.post(f"/api/v1/walks/{walk.id}/observations", headers=bearer,
                                data={"client_uuid": str(uuid.uuid4()), "issue": "bruit", "angle": "usages"})
    for response, status, code in ((not_found, 404, "not_found"), (unauthorized, 401, "unauthorized"),
                                    (invalid, 422, "invalid")):
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == "application/json"
        body = response.json()
        # The pinned shape: error and detail always; fields (name -> French message) on a refused form.
        expected = {"error", "detail", "fields"} if status == 422 else {"error", "detail"}
        assert set(body) == expected and body["error"] == code, body
        assert isinstance(body["detail"], str) and body["detail"].strip()
    assert "sept enjeux" in invalid.json()["detail"]
    assert invalid.json()["fields"] == {"issue": invalid.json()["detail"]}
    assert await Observation.count() == 0


async def test_schema_documents_the_upload_body_and_our_error_shapes(client):
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    upload = schema["paths"]["/api/v1/walks/{walk_id}/observations"]["post"]
    body = upload["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert set(body["properties"]) == UPLOAD_FIELDS and set(body["required"]) == {"client_uuid", "issue", "angle"}
    assert body["properties"]["issue"]["enum"] == list(gusp.codes("issue"))
    assert body["properties"]["angle"]["enum"] == list(gusp.codes("angle"))
    assert body["properties"]["polarity"]["enum"] == ["negative", "positive"]
    assert body["properties"]["description"]["maxLength"] == 4000
    photos = body["properties"]["photos"]
    assert photos["type"] == "array" and photos["maxItems"] == 8 and photos["items"]["format"] == "binary"

    api_error = schema["components"]["schemas"]["ApiError"]
    assert api_error["required"] == ["error", "detail"]
    assert set(api_error["properties"]) == {"error", "detail", "fields"}
    assert set(upload["responses"]) >= set(API_ERROR_CODES)
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            errors = {status: r for status, r in operation["responses"].items() if status.startswith("4")}
            assert errors, f"{method} {path} documents no error"
            for status, error in errors.items():
                refs = {media["schema"].get("$ref") for media in error["content"].values()}
                expected = "ApiError" if path.startswith(("/api/v1/", "/ogc")) else "Open311Errors"
                assert refs == {f"#/components/schemas/{expected}"}, (method, path, status)
    open311 = schema["components"]["schemas"]["Open311Errors"]
    assert open311["type"] == "array" and open311["items"]["required"] == ["code", "description"]
    assert "status_code" not in response.text  # Litestar's default error shape is nowhere


# ---------------------------------------------------------------- HEAD, content types, XML

async def test_head_answers_like_get_with_no_body(client):
    await sign_in(client)
    walk = await make_walk("open")
    await validated_constat(walk)
    urls = ["/connexion", "/marches", f"/marches/{walk.id}", f"/marches/{walk.id}/qr.svg", "/carte",
            f"/api/v1/walks/{walk.id}/observations", "/api/v1/observations.geojson", "/api/v1/nulle-part",
            "/open311/v2/services.xml", "/open311/v2/requests.json", "/open311/v2/requests/1.xml",
            "/open311/v2/requests/99.json", "/actions/export.csv", "/static/css/app.css", "/page-inconnue"]
    for url in urls:
        get = await client.get(url)
        head = await client.head(url)
        assert head.status_code == get.status_code, url
        assert head.content == b"", url
        # Cookies, the date and the CSP's nonce are new on every answer; compressed (walkapp.compression),
        # a page with a new nonce and token may be a byte or two longer or shorter.
        varying = ("set-cookie", "date", "content-security-policy") + (
            ("content-length",) if "content-encoding" in get.headers else ())
        same = {k: v for k, v in get.headers.items() if k not in varying}
        assert {k: v for k, v in head.headers.items() if k not in varying} == same, url


async def test_content_types_name_their_charset_once(client):
    await sign_in(client)
    walk = await make_walk("open")
    await validated_constat(walk)
    expected = {
        "/actions/export.csv": "text/csv; charset=utf-8",
        "/actions/export.xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "/open311/v2/requests.xml": "text/xml; charset=utf-8",
        "/open311/v2/nulle-part.xml": "text/xml; charset=utf-8",  # an error, in XML
        "/open311/v2/requests.json": "application/json; charset=utf-8",
        "/api/v1/observations.geojson": "application/geo+json",
    }
    for url, content_type in expected.items():
        response = await client.get(url)
        assert response.headers["content-type"] == content_type, (url, response.status_code)


async def test_open311_xml_stays_well_formed_whatever_a_row_holds(client):
    walk = await make_walk("open")
    # Stored before clean_text dropped them: U+FFFE, U+FFFF and control characters XML 1.0 forbids.
    await validated_constat(walk, description="Dépôt\ufffe sauvage\x01\x1f rue\uffff Carnot\t!")
    response = await client.get("/open311/v2/requests.xml")
    assert response.status_code == 200
    root = ET.fromstring(response.content)
    assert root.find("request/description").text == "Dépôt sauvage rue Carnot\t!"


# ---------------------------------------------------------------- ids past the database's integer

@pytest.mark.parametrize("url", ["/open311/v2/requests/99999999999.json", "/open311/v2/requests/2147483648.xml",
                                 "/open311/v2/media/99999999999.jpg"])
async def test_open311_ids_past_the_database_integer_are_not_found(client, url):
    response = await client.get(url)
    assert response.status_code == 404, response.text


async def test_open311_request_ids_past_the_database_integer_name_nothing(client):
    walk = await make_walk("open")
    observation = await validated_constat(walk)
    response = await client.get(f"/open311/v2/requests.json?service_request_id=99999999999,{observation.id}")
    assert response.status_code == 200, response.text
    assert [r["service_request_id"] for r in response.json()] == [observation.id]
    response = await client.get("/open311/v2/requests.json?service_request_id=99999999999")
    assert response.status_code == 200 and response.json() == []


# ---------------------------------------------------------------- htmx-only URLs

async def test_htmx_blocks_opened_in_the_address_bar_lead_to_their_page(client):
    await sign_in(client)
    walk = await make_walk("open")
    for url, page in (("/marches/halte", "/marches/nouvelle"), ("/marches/halte?index=99999999999999999999",
                                                                "/marches/nouvelle"),
                      (f"/marches/{walk.id}/participants", f"/marches/{walk.id}")):
        response = await client.get(url, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == page, (url, response.text[:200])
    row = await client.get("/marches/halte?index=2", headers={"hx-request": "true"})
    assert row.status_code == 200 and row.text.lstrip().startswith('<li class="stop-row">')
    block = await client.get(f"/marches/{walk.id}/participants", headers={"hx-request": "true"})
    assert block.status_code == 200 and 'id="participants"' in block.text
    bad = await client.get("/marches/halte?index=abc", headers={"hx-request": "true"})
    assert bad.status_code == 400


async def test_forms_still_post_after_the_schema_pass(client):
    """The OpenAPI pass documents bodies; it must not make Litestar parse them (our own French
    refusals would turn into its English 400s)."""
    await sign_in(client)
    walk = await make_walk("open")
    await post_form(client, f"/j/{walk.join_secret}", {"display_name": "Zoé"})
    response = await client.post(f"/api/v1/walks/{walk.id}/observations",
                                 data={"client_uuid": "pas-un-uuid", "issue": "dechets", "angle": "usages"},
                                 headers={"x-csrftoken": client.cookies["walkapp_csrf"]})
    assert response.status_code == 422 and "client_uuid" in response.json()["detail"]


def test_templates_carry_no_inline_event_handler():
    """The CSP (walkapp/headers.py) blocks onclick=… and friends: such a button would do nothing.
    Behaviours live in static/js (app.js reads data-print and data-confirm)."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "templates"
    handler = re.compile(r"\son[a-z]+\s*=\s*[\"']", re.I)
    offenders = [f"{path.relative_to(root)}:{n}" for path in sorted(root.rglob("*.html"))
                 for n, line in enumerate(path.read_text().splitlines(), 1) if handler.search(line)]
    assert offenders == []
