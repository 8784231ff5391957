"""The map's clusters from the server (GET /api/v1/observations/clusters, walkapp.review.clusters):
counts that add up to the page's, the map's filters and permissions, changes seen at once (by
reading again only the changed constats), bad views refused in the API's shape, and a page that
carries no constat."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from urllib.parse import parse_qsl

import numpy as np

from conftest import make_walk, post_form, shown, sign_in
from test_api_observations import fields, join, make_walk_second, post_observation
from test_review import KNOWN, seed

from walkapp.observations.filters import ObservationFilter
from walkapp.review import clusters
from walkapp.tables import Observation, Walk

# The seeded constats (50.5636 + n * 0.0001, 2.4826): the area at zoom 13-16, a street at zoom 19.
AROUND, STREET = "2.47,50.55,2.50,50.58", "2.4815,50.5630,2.4835,50.5650"
URL = "/api/v1/observations/clusters"


async def view(client, query: str = "", bbox: str | None = None, zoom: int = 13) -> dict:
    bbox = bbox or (STREET if zoom >= 17 else AROUND)
    response = await client.get(f"{URL}?bbox={bbox}&zoom={zoom}{'&' + query if query else ''}")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/geo+json")
    return response.json()


def on_the_map(page) -> int:
    return int(re.search(r"(\d+) constats? sur la carte", shown(page)).group(1))


async def test_clusters_add_up_to_the_page_and_follow_the_filters(client, other_client):
    walk = await make_walk("open")
    await join(client, walk)
    ids = await seed(client, walk)
    rejected = (await seed(client, walk, [("mobilites", "gestion", "negative")]))[0]
    await Observation.update({Observation.status: "rejected"}).where(Observation.id == rejected)
    nowhere = await post_observation(client, walk, fields(lat=None, lon=None, issue="chantiers"))
    assert nowhere.status_code == 201
    await sign_in(other_client, "committee")

    page = await other_client.get(f"/carte?walk={walk.id}")
    assert "6 constats sur la carte, 1 sans position" in shown(page)
    assert "1 constat rejeté ou en doublon non affiché" in shown(page)
    # Zoomed out: one cluster, its counts by issue and faible/fort, the box of its constats.
    whole = await view(other_client, f"walk={walk.id}")
    assert whole["total"] == 6 and len(whole["features"]) == 1
    (group,) = whole["features"]
    assert group["properties"] == {"cluster": True, "count": 6, "negative": 4, "positive": 2,
                                   "issues": {"ambiance": 1, "proprete": 1, "dechets": 3, "services": 1},
                                   "bbox": [2.4826, 50.5636, 2.4826, 50.5641]}
    lon, lat = group["geometry"]["coordinates"]
    assert lon == 2.4826 and 50.5636 < lat < 50.5641  # their centre
    # At street level each constat is its own marker, with what the markers show.
    street = await view(other_client, f"walk={walk.id}", zoom=19)
    singles = {f["id"]: f["properties"] for f in street["features"]}
    assert set(singles) == set(ids) and street["total"] == 6
    assert singles[ids[2]] == {"id": ids[2], "issue": "dechets", "polarity": "positive"}
    assert street["features"][0]["geometry"]["coordinates"] == [2.4826, 50.5636]
    # The map's filters: the same total as the page and as the filter's SQL for each.
    for query, expected in (("issue=dechets", 3), ("issue=dechets&polarity=positive", 1), ("angle=usages", 3),
                            ("status=all", 7), ("status=rejected", 1), ("status=rejected&issue=mobilites", 1),
                            ("polarity=negative&status=all", 5), ("du=2026-11-26", 0), ("au=2026-11-25", 6)):
        answer = await view(other_client, f"walk={walk.id}&{query}", zoom=16)
        counted = sum(f["properties"].get("count", 1) for f in answer["features"])
        page = await other_client.get(f"/carte?walk={walk.id}&{query}")
        chosen, _ = ObservationFilter.from_query({"walk": str(walk.id), **dict(parse_qsl(query))})
        in_sql = await Observation.count().where(chosen.where() & Observation.lat.is_not_null())
        assert answer["total"] == counted == on_the_map(page) == in_sql == expected, query
    # A box away from them holds none; the other walk's constats are not these.
    assert (await view(other_client, f"walk={walk.id}", bbox="2.0,50.0,2.01,50.01", zoom=16))["features"] == []
    other = await make_walk_second()
    assert (await view(other_client, f"walk={other.id}"))["total"] == 0
    assert (await view(other_client))["total"] == 6  # every walk: staff see them all


async def test_a_change_is_seen_at_once_reading_only_the_changed_constats(client, other_client):
    walk = await make_walk("open")
    await join(client, walk)
    ids = await seed(client, walk, KNOWN[:3])
    await sign_in(other_client, "coordinator")
    chosen = ObservationFilter(walk=walk.id)
    before = await clusters.INDEXES.get(chosen)
    assert (await view(other_client, f"walk={walk.id}&issue=dechets", zoom=19))["total"] == 3

    # Requalified, rejected, a new one: each seen by the next view.
    response = await post_form(other_client, f"/constats/{ids[0]}/requalifier", {"issue": "proprete"})
    assert response.status_code in (200, 303), response.text
    assert {f["id"] for f in (await view(other_client, f"walk={walk.id}&issue=dechets", zoom=19))["features"]} \
        == set(ids[1:])
    await post_form(other_client, f"/constats/{ids[1]}/statut", {"status": "rejected", "reason": "Hors sujet"})
    added = await post_observation(client, walk, fields(issue="dechets", lat="50.5640", lon="2.4830"))
    latest = await view(other_client, f"walk={walk.id}&issue=dechets", zoom=19)
    assert {f["id"] for f in latest["features"]} == {ids[2], added.json()["id"]}
    assert latest["revision"] > before.revision
    # Those changes were read again one by one, and give what reading everything gives.
    base = clusters.Indexes.base_filter(chosen)
    revision = await clusters.current_revision()
    patched = await clusters._patched(before, base, revision)
    rebuilt = await clusters._build(base, revision)
    assert patched is not None
    for name in clusters._COLUMNS:
        assert np.array_equal(getattr(patched, name), getattr(rebuilt, name), equal_nan=True), name
    # A walk's date changes what the date filters pick: the index is rebuilt.
    await Walk.update({Walk.date: dt.date(2026, 12, 1)}).where(Walk.id == walk.id)
    assert await clusters._patched(rebuilt, base, await clusters.current_revision()) is None
    assert (await view(other_client, f"walk={walk.id}&du=2026-11-30"))["total"] == 3


async def test_bad_views_are_400s_in_the_api_shape(client, other_client):
    walk = await make_walk("open")
    await join(client, walk)
    await seed(client, walk, KNOWN[:1])
    response = await other_client.get(f"{URL}?bbox={AROUND}&zoom=13")
    assert response.status_code == 401 and response.json()["error"] == "unauthorized"
    await sign_in(other_client, "committee")
    for query in ("", f"bbox={AROUND}", "zoom=13", f"bbox={AROUND}&zoom=", f"bbox={AROUND}&zoom=23",
                  f"bbox={AROUND}&zoom=-1", f"bbox={AROUND}&zoom=13.5", f"bbox={AROUND}&zoom=1e3",
                  "bbox=1,2,3&zoom=13", "bbox=a,b,c,d&zoom=13", "bbox=2.5,50.6,2.4,50.5&zoom=13",
                  "bbox=200,0,201,1&zoom=13", "bbox=NaN,1,2,3&zoom=13", "bbox=-180,-90,180,90&zoom=19",
                  f"bbox={AROUND}&zoom=" + "9" * 40, "bbox=" + ",".join(["1" * 400] * 4) + "&zoom=3"):
        response = await other_client.get(f"{URL}?{query}")
        assert response.status_code == 400, (query, response.text)
        body = response.json()
        assert body["error"] == "bad_request" and body["detail"], query
    # The whole world at a low zoom is a view; filters it does not know are ignored, as on the map.
    assert (await view(other_client, "issue=bruit&walk=abc", bbox="-180,-90,180,90", zoom=1))["total"] == 1


async def test_participants_see_only_their_walk(client, other_client):
    walk = await make_walk("open")
    await join(client, walk)
    mine = await seed(client, walk, KNOWN[:2])
    other = await make_walk_second()
    await join(other_client, other, "Zoé")
    await seed(other_client, other, KNOWN[:1])
    for query in (f"walk={other.id}", "", "status=all"):
        answer = await view(client, query, zoom=19)
        assert {f["id"] for f in answer["features"]} == set(mine), query


async def test_the_page_carries_no_constat_whatever_their_number(client, other_client):
    walk = await make_walk("open")
    await join(client, walk)
    await seed(client, walk, KNOWN)
    await sign_in(other_client, "committee")
    small = await other_client.get(f"/carte?walk={walk.id}")
    await Observation.insert(*[Observation(
        walk=walk.id, client_uuid=str(uuid.uuid4()), issue="dechets", angle="usages", polarity="negative",
        lat=50.5636 + n * 1e-5, lon=2.4826, status="validated", description=f"Constat {n}") for n in range(300)])
    large = await other_client.get(f"/carte?walk={walk.id}")
    assert "306 constats sur la carte" in shown(large)
    # The same page but for its figures (a count, the matrix): no marker, no coordinate list.
    assert abs(len(large.content) - len(small.content)) < 100, (len(small.content), len(large.content))
    # Coordinates: the haltes' and the view to open on, as many with 6 constats as with 306.
    assert len(re.findall(r"50\.56\d+", large.text)) == len(re.findall(r"50\.56\d+", small.text)) < 10
    assert "markercluster" not in large.text.lower() and "/api/v1/observations/clusters" in large.text


def test_views_group_whole_cells_and_merge_neighbours():
    # Two constats 10 px apart on either side of a cell's edge make one cluster, not two rings; a
    # third in the next cell but one stays alone.
    zoom, edge = 16, clusters.CELL_PX * 1000
    lon = [clusters._lon_of(edge - 5, zoom), clusters._lon_of(edge + 5, zoom), clusters._lon_of(edge + 150, zoom)]
    lat = [clusters._lat_of(edge + 20, zoom)] * 3
    index = clusters.Index(1, np.array([1, 2, 3]), np.array(lat), np.array(lon), np.array([3, 1, 0], np.int8),
                           np.zeros(3, np.int8), np.array([0, 1, 0], np.int8), np.ones(3, np.int8),
                           np.array([-1, -1, 2], np.int8))
    chosen = ObservationFilter()
    box = (min(lon) - 0.01, lat[0] - 0.01, max(lon) + 0.01, lat[0] + 0.01)
    features = clusters.view(index, chosen, box, zoom)["features"]
    groups = sorted(features, key=lambda f: f["properties"].get("count", 1))
    assert [g["properties"].get("count", 1) for g in groups] == [1, 2]
    assert groups[0]["properties"] == {"id": 3, "issue": "ambiance", "polarity": "negative", "outcome": "inchange"}
    assert groups[1]["properties"]["issues"] == {"proprete": 1, "dechets": 1}
    # A view of only part of a cell still counts the whole cell: the same cluster whatever the view.
    narrow = (lon[0] - 1e-6, lat[0] - 1e-6, lon[0] + 1e-6, lat[0] + 1e-6)
    assert [f["properties"].get("count", 1) for f in clusters.view(index, chosen, narrow, zoom)["features"]] == [2]
