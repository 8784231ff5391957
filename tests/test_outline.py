"""The QPV outline (issue 15): a coordinator imports the neighbourhood's perimeter from the official
contours GeoJSON (Polygon or MultiPolygon, WGS 84; other files refused in French, nothing
changed); it is drawn on every map; constats outside it are flagged on their page and in exports."""

import csv
import io
import json
import re
import uuid
import zipfile

import pytest

from conftest import make_walk, post_form, shown, sign_in

from walkapp.exports.builder import zip_url
from walkapp.observations import services
from walkapp.observations.filters import ObservationFilter
from walkapp.observations.schemas import ObservationInput
from walkapp.outline import geometry
from walkapp.settings import get_settings
from walkapp.storage import MediaStore
from walkapp.tables import NeighbourhoodOutline, Observation

# Around the test neighbourhood's centre (50.5636 N, 2.4826 E): ~500 x 550 m.
SQUARE = [[2.479, 50.561], [2.486, 50.561], [2.486, 50.566], [2.479, 50.566], [2.479, 50.561]]
ANNEX = [[2.490, 50.561], [2.493, 50.561], [2.493, 50.563], [2.490, 50.563], [2.490, 50.561]]
INSIDE, NEAR_EDGE, OUTSIDE, IN_ANNEX = (50.5636, 2.4826), (50.5636, 2.4862), (50.5636, 2.4880), (50.562, 2.4915)


def qpv_file(*features) -> bytes:
    """The official file's shape: a FeatureCollection of QPVs, WGS 84, properties code_qp, lib_qp…"""
    return json.dumps({"type": "FeatureCollection", "name": "QP2024_WGS84", "crs": {
        "type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}}, "features": list(features)}).encode()


def qpv(code, name, geometry_type, coordinates):
    return {"type": "Feature", "properties": {"code_qp": code, "lib_qp": name, "insee_com": "62516",
                                              "lib_com": "Lillers", "insee_dep": "62"},
            "geometry": {"type": geometry_type, "coordinates": coordinates}}


OTHER = qpv("QN05901M", "Ailleurs", "Polygon", [[[3.0, 50.6], [3.01, 50.6], [3.01, 50.61], [3.0, 50.6]]])
MINE = qpv("QP062057", "Ville Centre", "Polygon", [SQUARE])


async def constat(walk, where, status="validated"):
    data = ObservationInput(client_uuid=str(uuid.uuid4()), issue="dechets", angle="usages", status=status,
                            lat=where[0] if where else None, lon=where[1] if where else None,
                            location_source="device" if where else None, street="Rue Carnot")
    observation, _ = await services.record(MediaStore(get_settings().media_dir), walk, None, data)
    return observation


async def send(client, walk, content: bytes, name="qpv.geojson", htmx=True):
    return await post_form(client, f"/quartiers/{walk.neighbourhood}/perimetre", {"walk": str(walk.id)}, htmx=htmx,
                           files={"perimetre": (name, content, "application/geo+json")})


async def flags() -> dict[int, bool | None]:
    return {r["id"]: r["outside_perimeter"] for r in await Observation.select(Observation.id,
                                                                                Observation.outside_perimeter)}


async def test_import_a_polygon_flags_the_constats_outside(client):
    walk = await make_walk("open")
    await sign_in(client)
    inside, edge, outside, nowhere = [await constat(walk, w) for w in (INSIDE, NEAR_EDGE, OUTSIDE, None)]
    assert set((await flags()).values()) == {None}  # no outline yet: unknown
    page = await client.get(f"/marches/{walk.id}")
    assert "aucun contour importé" in shown(page) and 'id="outline-form"' in page.text

    # The whole file of several QPVs: the feature with the neighbourhood's code is taken.
    response = await send(client, walk, qpv_file(OTHER, MINE))
    assert response.status_code == 200, response.text
    text = shown(response)
    assert "Périmètre importé : Ville Centre (QP062057), 5 sommets" in text
    assert "2 dans le périmètre, 1 hors périmètre , 1 sans position" in text, text
    assert await flags() == {inside.id: False, edge.id: False, outside.id: True, nowhere.id: None}
    row = await NeighbourhoodOutline.objects().first()
    assert json.loads(row.geometry)["type"] == "Polygon" and "qpv.geojson" in row.source and row.vertices == 5

    # A constat written afterwards is flagged at once; placed again, flagged again.
    late = await constat(walk, OUTSIDE)
    assert (await flags())[late.id] is True
    moved = await post_form(client, f"/constats/{late.id}/requalifier", {"lat": "50.5637", "lon": "2.4827"})
    assert moved.status_code in (200, 303)
    assert (await flags())[late.id] is False

    # Its page says so; the inside one says it is inside.
    assert "Hors périmètre à plus de 20 m du contour du quartier Ville Centre" in shown(
        await client.get(f"/constats/{outside.id}"))
    inside_page = await client.get(f"/constats/{inside.id}")
    assert 'id="inside-perimeter"' in inside_page.text and 'id="outside-perimeter"' not in inside_page.text
    # The walk's page describes the stored outline, and offers it as GeoJSON.
    assert "contour importé le" in shown(await client.get(f"/marches/{walk.id}"))
    stored = await client.get(f"/quartiers/{row.neighbourhood}/perimetre.geojson")
    assert stored.status_code == 200 and stored.headers["content-type"].startswith("application/geo+json")
    assert stored.json()["features"][0]["properties"]["code_qp"] == "QP062057"


async def test_import_a_multipolygon(client):
    walk = await make_walk("open")
    await sign_in(client)
    annex, outside = await constat(walk, IN_ANNEX), await constat(walk, OUTSIDE)
    feature = qpv("QP062057", "Ville Centre", "MultiPolygon", [[SQUARE], [ANNEX]])
    response = await send(client, walk, json.dumps(feature).encode(), name="ville-centre.json")  # a lone Feature
    assert response.status_code == 200, response.text
    assert "1 dans le périmètre, 1 hors périmètre" in shown(response)
    assert await flags() == {annex.id: False, outside.id: True}
    assert json.loads((await NeighbourhoodOutline.objects().first()).drawn)["type"] == "MultiPolygon"
    # A bare geometry works too, and replaces the outline: the flags follow it.
    again = await send(client, walk, json.dumps({"type": "Polygon", "coordinates": [SQUARE]}).encode())
    assert again.status_code == 200 and await NeighbourhoodOutline.count() == 1
    assert await flags() == {annex.id: True, outside.id: True}


LAMBERT = [[[651000.0, 6862000.0], [652000.0, 6862000.0], [652000.0, 6863000.0], [651000.0, 6862000.0]]]
REFUSALS = [
    (b"{\"type\": \"FeatureCollection\", \"features\": [", "pas un GeoJSON lisible"),
    (b"", "vide"),
    ("\ufeffpas du json".encode("utf-16"), "UTF-8"),
    (json.dumps({"type": "Point", "coordinates": [2.48, 50.56]}).encode(), "Type GeoJSON « Point »"),
    (qpv_file(qpv("QP062057", "Ville Centre", "LineString", SQUARE)), "Géométrie « LineString »"),
    (json.dumps({"type": "GeometryCollection", "geometries": []}).encode(), "GeometryCollection"),
    (qpv_file(qpv("QP062057", "Ville Centre", "Polygon", LAMBERT)), "projeté (Lambert-93 ?)"),
    (json.dumps({"type": "FeatureCollection", "crs": {"type": "name", "properties": {
        "name": "urn:ogc:def:crs:EPSG::2154"}}, "features": [MINE]}).encode(), "(Lambert-93)"),
    (qpv_file(OTHER, qpv("QN06211A", "Autre", "Polygon", [SQUARE])), "aucun avec le code QP062057"),
    (qpv_file(OTHER), "décrit le quartier QN05901M"),
    (qpv_file(qpv("QP062057", "Ville Centre", "Polygon", [[[lat, lon] for lon, lat in SQUARE]])),
     "Longitude et latitude inversées"),
    (qpv_file(qpv("QP062057", "Ville Centre", "Polygon", [[[2.48, 50.56], [2.49, 50.56]]])), "moins de 4 points"),
    (qpv_file(qpv("QP062057", "Ville Centre", "Polygon", [[[2.48, 50.56], [2.49, 50.56], [2.485, 50.56],
                                                           [2.48, 50.56]]])), "aucune surface"),
    (b"[" * 100_000 + b"]" * 100_000, "pas un GeoJSON lisible"),
    (json.dumps({"type": "Polygon", "coordinates": [[["2.48", "50.56"]] * 4]}).encode(), "coordonnées"),
    (b'{"type": "Polygon", "coordinates": [[[NaN, 50.5], [2.4, 50.5], [2.4, 50.6], [NaN, 50.5]]]}', "pas un GeoJSON"),
]


async def test_refusals_change_nothing(client, other_client, monkeypatch):
    walk = await make_walk("open")
    await sign_in(client)
    out, inside = await constat(walk, OUTSIDE), await constat(walk, INSIDE)
    assert (await send(client, walk, qpv_file(MINE))).status_code == 200
    before_outline = (await NeighbourhoodOutline.objects().first()).geometry
    before_flags = await flags()
    assert before_flags == {out.id: True, inside.id: False}
    for content, words in REFUSALS:
        response = await send(client, walk, content)
        assert response.status_code == 422, (words, response.text[:300])
        assert words in shown(response) and "Rien n'a été changé" in shown(response), (words, shown(response)[:400])
    # Too big: refused before it is read as JSON (the limit lowered for the test: 40 MB is slow to send).
    monkeypatch.setattr(geometry, "MAX_FILE_BYTES", 10_000)
    big = await send(client, walk, qpv_file(MINE, *[OTHER] * 100))
    assert big.status_code == 422 and "Fichier trop gros" in shown(big)
    monkeypatch.undo()
    # No file at all; and without htmx, the page's own error.
    empty = await post_form(client, f"/quartiers/{walk.neighbourhood}/perimetre", {"walk": str(walk.id)}, htmx=True,
                            files={"autre": ("x.txt", b"x", "text/plain")})
    assert empty.status_code == 422 and "Choisissez le fichier GeoJSON" in shown(empty)
    plain = await send(client, walk, b"{", htmx=False)
    assert plain.status_code == 422 and "pas un GeoJSON lisible" in shown(plain)
    # Not a coordinator: refused; unknown neighbourhood: 404.
    await sign_in(other_client, "agent")
    assert (await send(other_client, walk, qpv_file(MINE))).status_code == 403
    assert "Importer" not in shown(await other_client.get(f"/marches/{walk.id}"))
    assert (await post_form(client, "/quartiers/999999/perimetre", {}, files={
        "perimetre": ("q.geojson", qpv_file(MINE), "application/geo+json")})).status_code == 404
    assert (await NeighbourhoodOutline.objects().first()).geometry == before_outline
    assert await NeighbourhoodOutline.count() == 1 and await flags() == before_flags


async def test_outside_in_the_exports(client):
    walk = await make_walk("open")
    await sign_in(client)
    out, inside, nowhere = await constat(walk, OUTSIDE), await constat(walk, INSIDE), await constat(walk, None)
    assert (await send(client, walk, qpv_file(MINE))).status_code == 200
    archive = zipfile.ZipFile(io.BytesIO((await client.get(zip_url(ObservationFilter(walk=walk.id)))).content))
    rows = {int(r["Numéro"]): r for r in csv.DictReader(io.StringIO(archive.read("constats.csv").decode("utf-8-sig")),
                                                       delimiter=";")}
    assert {k: r["Hors périmètre"] for k, r in rows.items()} == {out.id: "Oui", inside.id: "Non", nowhere.id: ""}
    features = {f["id"]: f["properties"] for f in json.loads(archive.read("constats.geojson"))["features"]}
    flags = {k: p["outside_perimeter"] for k, p in features.items()}
    assert flags == {out.id: True, inside.id: False, nowhere.id: None}
    assert "Hors périmètre" in archive.read("LISEZMOI.txt").decode("utf-8")
    api = (await client.get("/api/v1/observations.geojson", params={"walk": walk.id})).json()
    assert {f["id"]: f["properties"]["outside_perimeter"] for f in api["features"]} == {
        out.id: True, inside.id: False, nowhere.id: None}


async def test_the_outline_is_on_every_map(client, app):
    from litestar.testing import AsyncTestClient

    walk = await make_walk("open")
    await sign_in(client)
    item = await constat(walk, OUTSIDE)
    # Before any import: no outline anywhere.
    assert "walk-outline" not in (await client.get("/carte")).text
    assert (await client.get(f"/quartiers/{walk.neighbourhood}/perimetre.geojson")).status_code == 404
    assert (await send(client, walk, qpv_file(MINE))).status_code == 200
    hood = walk.neighbourhood

    # The committee's folium map: one GeoJSON layer under the points, with the legend.
    for query in ({}, {"walk": walk.id}, {"neighbourhood": hood}):
        page = await client.get("/carte", params=query)
        assert '"className": "walk-outline"' in page.text and "[2.486, 50.561]" in page.text, query
        assert "Périmètre du quartier (QPV)" in shown(page)
    # The constat's small map, and the requalify form's map (data, no script).
    constat_page = (await client.get(f"/constats/{item.id}")).text
    assert '"className": "walk-outline"' in constat_page
    data = re.search(r'id="rq-map"[^>]*data-outline="([^"]+)"', constat_page)
    assert data and json.loads(data.group(1).replace("&#34;", '"'))["features"][0]["geometry"]["type"] == "Polygon"
    # The walk form's map fetches it for the chosen quartier.
    form = (await client.get(f"/marches/{walk.id}/modifier")).text
    url = f"/quartiers/{hood}/perimetre.geojson"
    assert f'data-outline-url="{url}"' in form and "js/outline.js" in form
    # The capture form's map has it in the page (no network needed), for a participant too.
    async with AsyncTestClient(app=app) as phone:
        joined = await post_form(phone, f"/j/{walk.join_secret}", {"display_name": "Zoé"})
        assert joined.status_code == 303
        field = (await phone.get(f"/marches/{walk.id}/terrain")).text
        assert re.search(r'id="field"[^>]*data-outline="\{', field.replace("&#34;", '"'))
        assert (await phone.get(url)).status_code == 200  # a map reader reads it
    # The report's SVG map.
    report = (await client.get(f"/marches/{walk.id}/compte-rendu")).text
    assert re.search(r'<path class="outline" d="M-?[\d.]+,-?[\d.]+ L', report)
    assert "périmètre du quartier (QPV)" in report


@pytest.mark.parametrize("code", ["QP062057", "qp062057", " QP062057 "])
def test_the_quartier_is_found_by_its_code_whatever_the_file_calls_it(code):
    for key in ("code_qp", "CODE_QP", "code_quartier"):
        feature = {"type": "Feature", "properties": {key: code, "NOM_QP": "Ville Centre"},
                   "geometry": {"type": "Polygon", "coordinates": [SQUARE]}}
        found = geometry.parse(qpv_file(OTHER, feature), "QP062057", (50.5636, 2.4826))
        assert found.name == "Ville Centre" and found.code == code.strip()


def test_a_crossing_ring_is_repaired_and_the_margin_holds():
    bow = [[2.479, 50.561], [2.486, 50.566], [2.486, 50.561], [2.479, 50.566], [2.479, 50.561]]
    found = geometry.parse(json.dumps({"type": "Polygon", "coordinates": [bow]}).encode(), "QP062057")
    assert found.repaired and found.geometry["type"] == "MultiPolygon"
    zone = geometry.Zone(geometry.parse(qpv_file(MINE), "QP062057").geometry)
    # 14 m and 21 m east of the eastern edge; 20 m is the margin.
    assert zone.outside([50.5636, 50.5636], [2.4862, 2.4863]) == [False, True]
    assert zone.is_outside(None, 2.48) is None
