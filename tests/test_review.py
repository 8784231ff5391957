"""The committee's review: filters and matrix on known data, escaping, history of changes, who may
do what, and GeoJSON that follows RFC 7946."""

import json
import re

import pytest

from conftest import make_walk, post_form, shown, sign_in
from test_api_observations import fields, join, post_observation
from test_api_observations import make_walk_second

from walkapp.review import services
from walkapp.tables import Observation, ObservationEvent

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)> & "quotes"'

# (issue, angle, polarity) of the known data set: 2 x dechets/usages faibles, 1 fort, ...
KNOWN = [("dechets", "usages", "negative"), ("dechets", "usages", "negative"), ("dechets", "usages", "positive"),
         ("proprete", "gestion", "negative"), ("ambiance", "conception", "positive"),
         ("services", "cooperation", "negative")]


async def seed(client, walk, rows=KNOWN, **extra):
    ids = []
    for n, (issue, angle, polarity) in enumerate(rows):
        data = fields(issue=issue, angle=angle, polarity=polarity, lat=str(50.5636 + n * 0.0001), lon="2.4826", **extra)
        response = await post_observation(client, walk, data)
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    return ids


async def test_filters_and_matrix_counts(client, other_client):
    walk = await make_walk("open")
    await join(client, walk)
    await seed(client, walk)
    other = await make_walk_second()
    await join(client, other, "Zoé")
    await seed(client, other, [("dechets", "gestion", "negative")])
    await sign_in(other_client, "committee")

    page = await other_client.get("/carte")
    assert page.status_code == 200 and "7 constats sur la carte" in shown(page)
    filtered = await other_client.get(f"/carte?walk={walk.id}&issue=dechets", headers={"hx-request": "true"})
    assert "3 constats sur la carte" in shown(filtered)
    assert filtered.headers["hx-push-url"] == f"/carte?walk={walk.id}&issue=dechets"
    assert f'href="/exports/photos.zip?walk={walk.id}&amp;issue=dechets"' in filtered.text  # the same view, zipped
    assert "<html" not in filtered.text  # only the results block
    positives = await other_client.get(f"/carte?walk={walk.id}&issue=dechets&polarity=positive")
    assert "1 constat sur la carte" in shown(positives)
    assert "0 constat sur la carte" in shown(await other_client.get("/carte?issue=mobilites"))
    bad = await other_client.get("/carte?issue=bruit&walk=abc&du=hier")
    assert bad.status_code == 200 and "valeur inconnue" in shown(bad) and "7 constats" in shown(bad)

    grid = await services.matrix(Observation.walk == walk.id)
    assert grid.cells[("dechets", "usages")] == {"negative": 2, "positive": 1, "total": 3}
    assert grid.cells[("ambiance", "conception")] == {"negative": 0, "positive": 1, "total": 1}
    assert grid.row_totals["dechets"] == 3 and grid.column_totals["usages"] == 3 and grid.total == 6
    assert grid.heat("dechets", "usages") == 5 and grid.heat("mobilites", "gestion") == 0
    # The page shows the same, each cell a link to the filtered map.
    link = re.search(rf'<a href="/carte\?walk={walk.id}&amp;issue=dechets&amp;angle=usages"[^>]*>(.*?)</a>',
                     (await other_client.get(f"/carte?walk={walk.id}")).text, re.S).group(1)
    seen = re.sub(r'<span class="visually-hidden">.*?</span>', "", link)  # what the eye reads
    cell = re.search(r"<strong>(\d+)</strong><small>(\d+) / (\d+)", seen)
    assert cell and cell.groups() == ("3", "2", "1")
    # Its name (for a screen reader) is those figures with their words, in the same order.
    assert " ".join(re.sub(r"<[^>]+>", " ", link).split()) == (
        "Déchets, Usages : 3 constats, 2 points faibles / 1 point fort")


async def test_html_in_a_description_is_escaped_everywhere(client, other_client):
    walk = await make_walk("open")
    await join(client, walk)
    [constat] = await seed(client, walk, [("dechets", "usages", "negative")], description=XSS)
    await sign_in(other_client, "agent")
    for path in (f"/carte/popup/{constat}", f"/constats/{constat}", f"/carte?walk={walk.id}"):
        page = await other_client.get(path)
        assert page.status_code == 200, path
        assert "<script>alert" not in page.text and "<img src=x" not in page.text, path
    assert "&lt;script&gt;alert(" in (await other_client.get(f"/constats/{constat}")).text
    # The map page carries no user text at all: popups are fetched (and escaped) on opening.
    assert "alert(" not in (await other_client.get(f"/carte?walk={walk.id}")).text
    geo = await other_client.get(f"/api/v1/observations.geojson?walk={walk.id}")
    assert geo.headers["content-type"].startswith("application/geo+json")
    assert geo.json()["features"][0]["properties"]["description"] == XSS  # data, exactly as typed


async def test_requalify_duplicate_reject_validate_are_in_the_history(client, other_client):
    walk = await make_walk("open")
    await join(client, walk)
    first, second = await seed(client, walk, [("dechets", "usages", "negative"), ("dechets", "gestion", "negative")])
    user = await sign_in(other_client, "coordinator")

    response = await post_form(other_client, f"/constats/{first}/requalifier",
                               {"issue": "proprete", "angle": "gestion", "polarity": "negative",
                                "street": "Rue Pasteur",
                                "lat": "50.5640", "lon": "2.4830"}, htmx=True)
    assert response.status_code == 200 and "Propreté, entretien" in shown(response)
    saved = await Observation.objects().where(Observation.id == first).first()
    assert (saved.issue, saved.angle, saved.street, saved.lat, saved.location_source) == (
        "proprete", "gestion", "Rue Pasteur", 50.564, "manual")
    events = await ObservationEvent.objects().where(ObservationEvent.observation == first)
    assert {e.field for e in events} == {"issue", "angle", "street", "lat", "lon", "location_source"}
    assert all(e.user == user.id and e.at is not None for e in events)
    issue_event = next(e for e in events if e.field == "issue")
    assert (issue_event.before, issue_event.after) == ("dechets", "proprete")

    # Duplicate: the nearby constat of the same issue is proposed.
    await post_form(other_client, f"/constats/{second}/requalifier",
                    {"issue": "proprete", "angle": "gestion", "polarity": "negative", "street": "", "lat": "50.56401",
                     "lon": "2.48301"})
    page = await other_client.get(f"/constats/{second}")
    assert f'name="duplicate_of" value="{first}"' in page.text and "à moins de 50 m" in shown(page)
    await post_form(other_client, f"/constats/{second}/statut", {"status": "duplicate", "duplicate_of": str(first)})
    dup = await Observation.objects().where(Observation.id == second).first()
    assert dup.status == "duplicate" and dup.duplicate_of == first

    refused = await post_form(other_client, f"/constats/{first}/statut", {"status": "rejected", "reason": "  "})
    assert refused.status_code == 400 and "indiquez le motif" in shown(refused)
    assert (await Observation.objects().where(Observation.id == first).first()).status == "new"
    await post_form(other_client, f"/constats/{first}/statut", {"status": "rejected", "reason": "Hors périmètre"})
    rejected = await ObservationEvent.objects().where(
        (ObservationEvent.observation == first) & (ObservationEvent.field == "status")).first()
    assert (rejected.before, rejected.after, rejected.note) == ("new", "rejected", "Hors périmètre")
    await post_form(other_client, f"/constats/{first}/statut", {"status": "validated"})
    history = shown(await other_client.get(f"/constats/{first}"))
    assert "Statut : Rejeté → Validé" in history and "Statut : Nouveau → Rejeté (motif : Hors périmètre)" in history
    assert "Enjeu : Gestion de tous les types de déchets → Propreté, entretien" in history


async def test_participant_cannot_requalify_and_sees_only_their_walk(client, other_client):
    walk = await make_walk("open")
    await join(client, walk)
    [mine] = await seed(client, walk, [("dechets", "usages", "negative")])
    other = await make_walk_second()
    await join(other_client, other, "Ali")
    [theirs] = await seed(other_client, other, [("ambiance", "usages", "negative")])

    for path, data in ((f"/constats/{mine}/requalifier",
                        {"issue": "proprete", "angle": "gestion", "polarity": "negative"}),
                       (f"/constats/{mine}/statut", {"status": "rejected", "reason": "x"})):
        response = await post_form(client, path, data)
        assert response.status_code == 403, path
    assert (await Observation.objects().where(Observation.id == mine).first()).issue == "dechets"
    assert await ObservationEvent.count() == 0

    # The map, the popups, the constat pages and the GeoJSON: only their own walk.
    page = await client.get(f"/carte?walk={other.id}")
    assert "1 constat sur la carte" in shown(page) and f'value="{other.id}"' not in page.text
    assert "photos.zip" not in page.text  # the zip is for staff
    assert (await client.get(f"/carte/popup/{theirs}")).status_code == 403
    assert (await client.get(f"/constats/{theirs}")).status_code == 403
    assert (await client.get(f"/constats/{mine}")).status_code == 200
    geo = (await client.get("/api/v1/observations.geojson")).json()
    assert [f["id"] for f in geo["features"]] == [mine]


async def test_anonymous_gets_nothing(app):
    from litestar.testing import AsyncTestClient

    async with AsyncTestClient(app=app) as anonymous:
        assert (await anonymous.get("/api/v1/observations.geojson")).status_code == 401
        assert (await anonymous.get("/carte", follow_redirects=False)).status_code == 303


def check_rfc7946(document: dict) -> None:
    """The rules of RFC 7946 that a reader relies on, checked one by one."""
    assert document["type"] == "FeatureCollection" and isinstance(document["features"], list)
    assert "crs" not in document  # §4: no CRS member, WGS 84 only
    for feature in document["features"]:
        assert feature["type"] == "Feature"
        assert isinstance(feature.get("properties"), dict)
        assert "id" not in feature or isinstance(feature["id"], (str, int, float))
        geometry = feature["geometry"]
        if geometry is None:
            continue
        assert geometry["type"] == "Point"
        lon, lat = geometry["coordinates"][:2]  # §3.1.1: longitude first
        assert len(geometry["coordinates"]) in (2, 3)
        assert all(isinstance(v, (int, float)) for v in geometry["coordinates"])
        assert -180 <= lon <= 180 and -90 <= lat <= 90


async def test_geojson_follows_rfc_7946(client, other_client):
    walk = await make_walk("open")
    await join(client, walk)
    await seed(client, walk)
    await post_observation(client, walk, fields(lat=None, lon=None, issue="services"))  # a constat with no place
    await sign_in(other_client, "committee")
    response = await other_client.get(f"/api/v1/observations.geojson?walk={walk.id}")
    document = json.loads(response.content)
    check_rfc7946(document)
    assert len(document["features"]) == 7
    located = [f for f in document["features"] if f["geometry"]]
    rows = {o.id: o for o in await Observation.objects()}
    for feature in located:
        lon, lat = feature["geometry"]["coordinates"]
        assert (lat, lon) == (rows[feature["id"]].lat, rows[feature["id"]].lon)
        props = feature["properties"]
        assert props["issue_label"] and props["url"].startswith("http")
    assert sum(1 for f in document["features"] if f["geometry"] is None) == 1
    filtered = (await other_client.get(
        f"/api/v1/observations.geojson?walk={walk.id}&issue=dechets&angle=usages")).json()
    assert len(filtered["features"]) == 3


@pytest.mark.parametrize("path", ["/carte/popup/999999", "/constats/999999"])
async def test_unknown_constat_is_a_french_404(client, path):
    await sign_in(client, "agent")
    response = await client.get(path)
    assert response.status_code == 404 and "Ce constat n'existe pas." in shown(response)
