"""Property-based fuzz of the JSON API and Open311, driven by the app's own OpenAPI schema.

Schemathesis makes requests from the schema the app serves at /schema/openapi.json (valid ones,
and ones that break the schema on purpose); the app answers in-process on the test database,
which holds an open walk with a participant token (sent as `Authorization: Bearer` in most
examples), a stored constat and an Open311 key; some examples come from a signed-in coordinator.
Each answer must be: never a 5xx; an error in the shape its route documents (the API's
`{error, detail, fields?}`, Open311's list of `{code, description}`) with a status the schema
lists; well-formed XML on Open311's .xml URLs; one charset in Content-Type.

Bounded and reproducible: FUZZ_EXAMPLES examples per operation and generation mode,
derandomized, no deadline, no example database. WALKAPP_FUZZ_EXAMPLES raises it for a longer
hunt, WALKAPP_FUZZ_KEEP_GOING lists every 5xx instead of stopping at the first.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections import Counter
from xml.etree import ElementTree as ET

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from conftest import PASSWORD, make_user, make_walk

FUZZ_EXAMPLES = int(os.environ.get("WALKAPP_FUZZ_EXAMPLES", "100"))
VERBOSE = bool(os.environ.get("WALKAPP_FUZZ_VERBOSE"))  # print every request's status and answer
# List every 5xx and go on, instead of stopping (and shrinking) at the first: for a bug hunt.
KEEP_GOING = bool(os.environ.get("WALKAPP_FUZZ_KEEP_GOING"))
FUZZED_PREFIXES = ("/api/v1/", "/open311/v2/")
API_ERROR_KEYS = {"error", "detail", "fields"}
TALLY: dict[str, tuple[int, float]] = {}


def _load():
    """The app and its schema, at collection time: one test per operation."""
    from walkapp.app import create_app

    app = create_app(db_pool=False)
    raw = json.loads(json.dumps(app.openapi_schema.to_schema()))
    schema = schemathesis.openapi.from_dict(raw)
    schema.app = app
    return app, raw, schema


APP, RAW_SCHEMA, SCHEMA = _load()
OPERATIONS = sorted((method.upper(), path) for path, item in RAW_SCHEMA["paths"].items()
                    if path.startswith(FUZZED_PREFIXES) for method in item if method in ("get", "post"))


@pytest.fixture
async def world():
    """What makes the authenticated and keyed paths reachable: an open walk with its stops, a
    participant's token, a constat (validated, so public Open311 reads list it; its description
    holds characters XML 1.0 forbids, as rows stored before clean_text dropped them may), and an
    Open311 key for the walk."""
    from walkapp.open311 import keys
    from walkapp.tables import Observation, Stop
    from walkapp.walks.services import join_walk

    walk = await make_walk("open")
    participant = await join_walk(walk, "Fuzz", None)
    stop = await Stop.objects().where(Stop.walk == walk.id).first()
    await Observation(walk=walk.id, participant=participant.id, client_uuid=str(uuid.uuid4()), issue="dechets",
                      angle="usages", polarity="negative", description="Dépôt\ufffe sauvage\x01", street="Rue Carnot",
                      lat=50.5637, lon=2.4827, location_source="device", status="validated", stop=stop.id).save()
    _, key = await keys.create_key("fuzz", walk, None)
    staff = await make_user("coordinator")
    return {"walk_id": walk.id, "token": participant.token, "api_key": key, "stop_id": stop.id,
            "staff_email": staff.email}


def _staff_session(world) -> tuple[dict[str, str], dict[str, str]]:
    """A coordinator's cookies and CSRF header, signed in through the app like a browser."""
    from schemathesis.python import asgi

    with asgi.get_client(APP) as client:
        client.get("/connexion")
        headers = {"x-csrftoken": client.cookies["walkapp_csrf"]}
        response = client.post("/connexion", data={"email": world["staff_email"], "password": PASSWORD},
                               headers=headers, allow_redirects=False)
        assert response.status_code == 303, response.text
        return dict(client.cookies), headers


def _strategies(operation, world) -> list:
    """Positive and negative cases, most aimed at the real walk (any other id is only a 404)."""
    fixed = {"walk_id": world["walk_id"]} if "walk_id" in operation.path else None
    result = []
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        anywhere = operation.as_strategy(generation_mode=mode)
        if fixed:
            real = operation.as_strategy(generation_mode=mode, path_parameters=fixed)
            result.append(st.sampled_from([real, real, real, anywhere]).flatmap(lambda s: s))
        else:
            result.append(anywhere)
    return result


# Who sends the request: mostly the participant (the paths behind the token are the deep ones).
WHO = st.sampled_from(["participant", "participant", "participant", "coordinator", "stranger"])
REAL_KEY = st.sampled_from([True, True, True, False])


def _credentials(case, world, who: str, real_key: bool) -> dict:
    """The headers and cookies of `who`, and the real Open311 key in place of a generated one."""
    if real_key:
        for values in (case.query, case.body):
            if isinstance(values, dict) and "api_key" in values:
                values["api_key"] = world["api_key"]
    if who == "participant":
        return {"headers": {"Authorization": f"Bearer {world['token']}"}}
    if who == "coordinator":
        cookies, headers = world["staff_session"]
        return {"headers": headers, "cookies": cookies}
    return {}


def content_type(response) -> str:
    """Schemathesis keeps each header as a list (a repeated header would show as two items)."""
    values = {k.lower(): v for k, v in response.headers.items()}.get("content-type", [""])
    assert len(values) == 1, response.headers
    return values[0]


def _check_api_error(response) -> None:
    assert content_type(response).startswith("application/json"), response.headers
    body = response.json()
    assert isinstance(body, dict) and {"error", "detail"} <= set(body) <= API_ERROR_KEYS, body
    assert isinstance(body["error"], str) and body["error"], body
    assert isinstance(body["detail"], str) and body["detail"].strip(), body
    if "fields" in body:
        assert isinstance(body["fields"], dict) and all(
            isinstance(k, str) and isinstance(v, str) for k, v in body["fields"].items()), body


def _check_open311_error(response, path: str) -> None:
    if content_type(response).startswith("text/xml"):
        root = ET.fromstring(response.content)
        assert root.tag == "errors" and len(root) == 1 and root[0].tag == "error", response.text
        items = [{child.tag: child.text for child in error} for error in root]
    else:
        items = response.json()
    assert isinstance(items, list) and items, items
    for item in items:
        assert set(item) == {"code", "description"}, item
        assert str(item["code"]) == str(response.status_code) and item["description"].strip(), item


def check(response, method: str, path: str) -> None:
    """What every answer to a fuzzed request must be."""
    status = response.status_code
    if KEEP_GOING and status >= 500:
        print(f"FUZZ-5XX {status} {method} {response.request.url}")
        return
    assert status < 500, f"{status} on {method} {response.request.url}: {response.text[:300]}"
    assert content_type(response).count("charset") <= 1, response.headers
    documented = RAW_SCHEMA["paths"][path][method.lower()]["responses"]
    if status >= 400:
        assert str(status) in documented, f"{status} not documented for {method} {path}: {response.text[:200]}"
        if path.startswith("/api/v1/"):
            _check_api_error(response)
        else:
            _check_open311_error(response, path)
    elif content_type(response).startswith("text/xml"):
        ET.fromstring(response.content)  # well-formed, whatever the rows hold


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_fuzz(method, path, world):
    operation = SCHEMA[path][method]
    statuses: Counter[int] = Counter()
    world["staff_session"] = _staff_session(world)
    started = time.monotonic()
    for strategy in _strategies(operation, world):
        @settings(max_examples=FUZZ_EXAMPLES, deadline=None, derandomize=True, database=None,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        @given(case=strategy, who=WHO, real_key=REAL_KEY)
        def run(case, who, real_key):
            response = case.call(**_credentials(case, world, who, real_key))
            statuses[response.status_code] += 1
            if VERBOSE:
                print(response.status_code, who, real_key, response.request.url, response.text[:160])
            check(response, method, path)

        try:
            run()
        except Unsatisfiable:
            pass  # nothing in this operation can break its schema (no parameters, no body)
    elapsed = time.monotonic() - started
    TALLY[f"{method} {path}"] = (statuses.total(), elapsed)
    print(f"\nfuzz {method} {path}: {statuses.total()} requests in {elapsed:.1f} s, {dict(sorted(statuses.items()))}")
    assert statuses.total() > 0
