"""The walk's report (/marches/{id}/compte-rendu, .pdf) and the public restitution (/restitution/{secret}),
issue 12 parts 1-2: content, the server-drawn map (with and without a tile server), the PDF read back
with pypdf, and what the public may and may not see."""

from __future__ import annotations

import hashlib
import io
import re
import time
import uuid
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader

from conftest import PHOTOS, make_user, make_walk, post_form, shown, sign_in
from tileserver import TileServer

from walkapp.actions import services as actions
from walkapp.actions.forms import ActionInput
from walkapp.observations import services as observations
from walkapp.observations.schemas import ObservationInput
from walkapp.privacy import services as privacy
from walkapp.reports import services as reports
from walkapp.reports.images import PRINT_SIZE
from walkapp.review import services as review
from walkapp.storage import MediaStore
from walkapp.tables import Observation, Participant, Partner, Photo, Stop, Walk

OK = PHOTOS / "ok"
NAMES = ("Zoé Martin", "Karim Benali")
COMMENTS = {
    "c1": "Sacs d'ordures au pied du bâtiment B",
    "c2": "Pelouse bien entretenue devant l'école",
    "c3": "Éclairage en panne sous le porche",
    "c4": "Constat hors sujet à écarter",
    "c5": "Le même dépôt vu par une autre personne",
    "c6": "Trottoir trop étroit pour les poussettes",
}


@pytest.fixture
def store(test_env) -> MediaStore:
    return MediaStore(Path(test_env["WALKAPP_MEDIA_DIR"]))


async def record(store, walk, participant, issue, angle, polarity, description, stop=None, photo=None,
                 lat=50.5640, lon=2.4830, status="new", minute=0):
    import datetime as dt

    data = ObservationInput(client_uuid=str(uuid.uuid4()), issue=issue, angle=angle, polarity=polarity,
                            description=description, lat=lat, lon=lon, location_source="device", street="Rue Carnot",
                            stop_id=stop, status=status,
                            observed_at=dt.datetime(2026, 11, 25, 13, minute, tzinfo=dt.UTC))
    if photo is not None:
        data.photos = [(photo.read_bytes(), photo.name)]
    observation, created = await observations.record(store, walk, participant, data)
    assert created
    return observation


async def scene(store) -> dict:
    """A closed walk with 3 haltes; 2 residents, 2 agents of 2 partners and a coordinator took part;
    constats: 3 validated (2 with photos), 1 new, 1 rejected, 1 duplicate; two actions."""
    walk = await make_walk("closed", title="Marche du Centre-Ville", stops=3)
    stops = await Stop.objects().where(Stop.walk == walk.id).order_by(Stop.position)
    coordinator = await make_user("coordinator", "chef@ville.example")
    sia_agent = await make_user("agent", "agent@sia.example", "SIA Habitat")
    town_agent = await make_user("agent", "agent@ville.example", "Ville de Lillers")
    people = []
    for name in NAMES:
        people.append(await Participant(walk=walk.id, display_name=name, token=uuid.uuid4().hex).save())
    for user in (sia_agent, town_agent, coordinator):
        await Participant(walk=walk.id, display_name=user.display_name + " " + user.email, user=user.id,
                          token=uuid.uuid4().hex).save()
    zoe = (await Participant.objects().where(Participant.display_name == NAMES[0]).first())
    c = {}
    c["c1"] = await record(store, walk, zoe, "dechets", "usages", "negative", COMMENTS["c1"], stops[0].id,
                           OK / "landscape_1.jpg", status="validated", minute=1)
    c["c2"] = await record(store, walk, zoe, "proprete", "gestion", "positive", COMMENTS["c2"], stops[1].id,
                           OK / "landscape_2.jpg", lat=50.5648, status="validated", minute=2)
    c["c3"] = await record(store, walk, None, "ambiance", "conception", "negative", COMMENTS["c3"], stops[1].id,
                           OK / "landscape_3.jpg", lat=50.5650, minute=3)
    c["c4"] = await record(store, walk, zoe, "dechets", "usages", "negative", COMMENTS["c4"], stops[2].id,
                           OK / "landscape_4.jpg", minute=4)
    c["c5"] = await record(store, walk, None, "dechets", "usages", "negative", COMMENTS["c5"], stops[0].id,
                           OK / "landscape_5.jpg", minute=5)
    c["c6"] = await record(store, walk, None, "mobilites", "usages", "negative", COMMENTS["c6"], None,
                           None, lat=50.5655, lon=2.4840, status="validated", minute=6)
    await review.set_status(c["c4"], coordinator, "rejected", "Hors du périmètre")
    await review.set_status(c["c5"], coordinator, "duplicate", duplicate_of=c["c1"].id)
    sia = await Partner.objects().where(Partner.name == "SIA Habitat").first()
    a1 = await actions.create_action(ActionInput(axe="dechets", problem="Dépôts au pied du bâtiment B",
                                                 actions="Passage hebdomadaire de l'encombrant", pilot=sia.id,
                                                 state="en_cours", constats=[c["c1"].id]), coordinator)
    a2 = await actions.create_action(ActionInput(axe="ambiance", problem="Porche sombre",
                                                 actions="Remplacer l'éclairage", constats=[c["c3"].id]),
                                     coordinator)
    walk = await Walk.objects(Walk.neighbourhood).where(Walk.id == walk.id).first()
    return {"walk": walk, "c": c, "a1": a1, "a2": a2, "coordinator": coordinator}


def hrefs(html: str) -> list[str]:
    return re.findall(r'(?<![\w-])(?:href|src|action)="([^"]+)"', html)


# ---------------------------------------------------------------- the report's page

async def test_report_shows_the_walk_its_matrix_every_constat_and_the_actions(client, store):
    s = await scene(store)
    await sign_in(client, "committee")
    response = await client.get(f"/marches/{s['walk'].id}/compte-rendu")
    assert response.status_code == 200, response.text
    page, text = response.text, shown(response)
    assert "Marche du Centre-Ville" in text and "Ville Centre (QP062057), Lillers" in text and "25/11/2026" in text
    assert all(f"Halte {i}" in text for i in range(3))
    # The map's default view: new and validated constats (not the rejected one nor the duplicate).
    for key in ("c1", "c2", "c3", "c6"):
        assert COMMENTS[key] in text, key
    for key in ("c4", "c5"):
        assert COMMENTS[key] not in text, key
    assert page.count('class="report-constat"') == 4
    # Numbered in the walk's order (halte by halte, then time); the constat without a halte last.
    numbers = re.findall(r'id="constat-(\d+)" data-constat="(\d+)"', page)
    c = s["c"]
    assert numbers == [("1", str(c["c1"].id)), ("2", str(c["c2"].id)), ("3", str(c["c3"].id)), ("4", str(c["c6"].id))]
    # The matrix counts exactly those four.
    cell = re.search(r'data-cell="dechets-usages"><span class="cell"><strong>(\d+)</strong><small>(\d+)', page)
    assert cell.groups() == ("1", "1")
    assert re.search(r'data-cell="proprete-gestion"><span class="cell"><strong>1</strong><small>0', page)
    assert re.search(r'id="matrix-total"><span class="cell"><strong>4</strong>', page)
    # Points forts / faibles per halte; status and actions per constat; the actions table by axe.
    assert "Points forts (1)" in text and "Hors des haltes" in text
    assert "Validé" in text and "Nouveau" in text
    assert "Dépôts au pied du bâtiment B" in text and "En cours" in text and "pilote : SIA Habitat" in text
    assert "Porche sombre" in text and "Actions décidées (2)" in text
    assert "2 rejetés ou en doublon" not in text and "2 autres (rejetés ou en doublon) non repris" in text
    # Participation: counts, no names unless a coordinator asks.
    assert "5 participants : 2 habitants, 3 agents des partenaires" in text
    assert "SIA Habitat : 1" in text and "Ville de Lillers : 1" in text and "Sans partenaire : 1" in text
    assert not any(name in text for name in NAMES)
    assert 'id="names-toggle"' not in page  # the committee may not ask for names
    assert (await client.get(f"/marches/{s['walk'].id}/compte-rendu?noms=1")).status_code == 403
    # Photos at print size, from the report's own route.
    srcs = [h for h in hrefs(page) if "/compte-rendu/photos/" in h]
    assert len(srcs) == 3
    image = await client.get(srcs[0])
    assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
    assert max(Image.open(io.BytesIO(image.content)).size) <= PRINT_SIZE


async def test_names_appear_only_when_the_coordinator_asks(client, store):
    s = await scene(store)
    await post_form(client, "/connexion", {"email": "chef@ville.example", "password": "un-mot-de-passe-solide"})
    plain = await client.get(f"/marches/{s['walk'].id}/compte-rendu")
    assert plain.status_code == 200
    assert not any(name in shown(plain) for name in NAMES)
    assert "Afficher les noms des participants" in shown(plain)
    named = await client.get(f"/marches/{s['walk'].id}/compte-rendu?noms=1")
    assert all(name in shown(named) for name in NAMES)
    assert "Zoé Martin (Habitant)" in shown(named) and "Masquer les noms des participants" in shown(named)
    walk_page = await client.get(f"/marches/{s['walk'].id}")
    assert f"/marches/{s['walk'].id}/compte-rendu" in walk_page.text
    assert f"/marches/{s['walk'].id}/compte-rendu.pdf" in walk_page.text


async def test_a_photo_of_another_walk_is_not_served_by_this_report(client, store):
    s = await scene(store)
    other = await make_walk("open", title="Autre marche")
    elsewhere = await record(store, other, None, "dechets", "usages", "negative", "Ailleurs", photo=OK / "jolla.jpg")
    photo = await Photo.objects().where(Photo.observation == elsewhere.id).first()
    await sign_in(client, "agent", "lecteur@ville.example")
    assert (await client.get(f"/marches/{s['walk'].id}/compte-rendu/photos/{photo.id}")).status_code == 404
    assert (await client.get(f"/marches/{other.id}/compte-rendu/photos/{photo.id}")).status_code == 200


# ---------------------------------------------------------------- the map, drawn by the server

def markers(svg: str) -> list[str]:
    return re.findall(r'<g class="marker" data-number="(\d+)">', svg)


async def test_the_map_has_the_route_the_haltes_and_one_numbered_marker_per_constat(store):
    s = await scene(store)
    closed_port = TileServer()
    url = closed_port.url
    closed_port.close()  # nothing listens there any more: no background
    started = time.monotonic()
    report = await reports.build_report(s["walk"], tiles_url=url)
    assert time.monotonic() - started < 5
    svg = report.map_svg
    assert markers(svg) == ["1", "2", "3", "4"]
    assert svg.count('class="halte"') == 3 and svg.count('class="route"') == 2
    assert 'data-background="none"' in svg and "<image" not in svg
    # A marker's colour is its issue's; a point fort has its green ring.
    assert "#009E73" in svg and svg.count('stroke="#1a7f37"') == 1
    assert "Constat 2 : Propreté, point fort" in svg


async def test_the_map_embeds_the_tiles_when_the_tile_server_answers_and_keeps_them(store, test_env):
    s = await scene(store)
    tiles = TileServer()
    try:
        report = await reports.build_report(s["walk"], tiles_url=tiles.url)
        first = len(tiles.requests)
        again = await reports.build_report(s["walk"], tiles_url=tiles.url)
    finally:
        tiles.close()
    svg = report.map_svg
    assert 'data-background="tiles"' in svg and report.map_has_background
    assert first >= 1 and svg.count('<image href="data:image/png;base64,') == first
    assert all(re.fullmatch(r"/1[5-8]/\d+/\d+\.png", path) for path in tiles.requests)
    assert markers(svg) == ["1", "2", "3", "4"]
    assert len(tiles.requests) == first and again.map_svg == svg  # the second time from the disk cache
    cache = Path(test_env["WALKAPP_MEDIA_DIR"]) / "cache" / "tiles"
    assert len(list(cache.rglob("*.tile"))) == first


async def test_a_tile_server_too_slow_leaves_the_map_without_background(store):
    s = await scene(store)
    slow = TileServer(delay=3)
    try:
        started = time.monotonic()
        report = await reports.build_report(s["walk"], tiles_url=slow.url)
        assert time.monotonic() - started < 4
    finally:
        slow.close()
    assert 'data-background="none"' in report.map_svg and markers(report.map_svg) == ["1", "2", "3", "4"]


# ---------------------------------------------------------------- the PDF

async def test_the_pdf_opens_with_its_pages_photos_and_every_comment(client, store):
    s = await scene(store)
    await sign_in(client, "agent", "lecteur@ville.example")
    response = await client.get(f"/marches/{s['walk'].id}/compte-rendu.pdf")
    assert response.status_code == 200, response.text[:500]
    assert response.headers["content-type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    assert 2 <= len(reader.pages) <= 6
    text = " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)
    for key in ("c1", "c2", "c3", "c6"):
        assert COMMENTS[key] in text, (key, text[:2000])
    assert COMMENTS["c4"] not in text and "Marche du Centre-Ville" in text and "25/11/2026" in text
    assert "Imprimer" not in text and "Télécharger le PDF" not in text  # no buttons on paper
    # WeasyPrint shares the images' resources between pages: count each image once.
    images = list({hashlib.sha256(image.data).hexdigest(): image for page in reader.pages
                   for image in page.images}.values())
    assert len(images) == 3  # one photo per constat that has one (the map is vector)
    assert all(max(image.image.size) <= PRINT_SIZE for image in images)
    assert not any(name in text for name in NAMES)


# ---------------------------------------------------------------- the restitution

async def test_publishing_with_no_validated_constat_is_refused_in_french(client, store):
    walk = await make_walk("closed")
    await record(store, walk, None, "dechets", "usages", "negative", "Pas encore validé")
    await sign_in(client, "coordinator")
    response = await post_form(client, f"/marches/{walk.id}/restitution", {"action": "publier"})
    assert response.status_code == 409
    assert "Aucun constat de cette marche n'est validé" in shown(response)
    row = await Walk.select(Walk.restitution_secret, Walk.restitution_published_at).where(Walk.id == walk.id).first()
    assert row == {"restitution_secret": None, "restitution_published_at": None}
    assert (await post_form(client, f"/marches/{walk.id}/restitution", {"action": "n'importe"})).status_code == 400


async def test_the_restitution_shows_validated_constats_without_names_nor_staff_links(client, other_client, store):
    s = await scene(store)
    await post_form(client, "/connexion", {"email": "chef@ville.example", "password": "un-mot-de-passe-solide"})
    response = await post_form(client, f"/marches/{s['walk'].id}/restitution", {"action": "publier"})
    assert response.status_code == 303
    walk = await Walk.objects().where(Walk.id == s["walk"].id).first()
    assert walk.restitution_secret and walk.restitution_published_at
    public = f"/restitution/{walk.restitution_secret}"
    walk_page = await client.get(f"/marches/{walk.id}")
    assert public in walk_page.text and "Retirer la restitution" in shown(walk_page)

    page = await other_client.get(public)  # anonymous
    assert page.status_code == 200, page.text
    text = shown(page)
    for key in ("c1", "c2", "c6"):
        assert COMMENTS[key] in text, key
    for key in ("c3", "c4", "c5"):  # new, rejected, duplicate
        assert COMMENTS[key] not in text, key
    assert page.text.count('class="report-constat"') == 3
    assert markers(page.text) == ["1", "2", "3"]
    for name in (*NAMES, "Agent", "Coordinator", "@"):
        assert name not in text, name
    assert "Dépôts au pied du bâtiment B" in text and "En cours" in text
    assert "Porche sombre" not in text  # its only constat is not validated
    assert "Validé" not in text and "Statut" not in text
    # Nothing but the restitution itself and static files: no link into the site.
    links = hrefs(page.text)
    outside = [h for h in links if not h.startswith((public, "/static/", "#"))]
    assert links and outside == []
    photos = [h for h in links if h.startswith(f"{public}/photos/")]
    assert len(photos) == 2
    # The public gets what every reader who is not staff gets (walkapp.privacy): the neutral
    # placeholder until the photo is blurred, then the blurred image; never the display image.
    placeholder = privacy.PLACEHOLDERS[privacy.DISPLAY].read_bytes()
    for src in photos:
        image = await other_client.get(src)
        assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
        assert image.content == placeholder and image.headers["cache-control"] == "no-store"
    await privacy.process_pending(store)
    for src in photos:
        photo = await Photo.objects().where(Photo.id == int(src.rsplit("/", 1)[1])).first()
        image = await other_client.get(src)
        assert image.content == store.read(photo.blurred_display_path) != store.read(photo.display_path)
    # Only photos of validated constats of this walk: not the new one's, nor any other.
    hidden = await Photo.objects().where(Photo.observation == s["c"]["c3"].id).first()
    assert (await other_client.get(f"{public}/photos/{hidden.id}")).status_code == 404
    qr = await other_client.get(f"{public}/qr.svg")
    assert qr.status_code == 200 and qr.text.startswith("<svg")
    flyer = await other_client.get(f"{public}/affiche")
    assert flyer.status_code == 200 and "3 constats retenus · 1 action engagée" in shown(flyer)
    assert all(h.startswith((public, "/static/", "#")) for h in hrefs(flyer.text)), hrefs(flyer.text)


async def test_unpublishing_makes_the_old_address_a_404_like_an_unknown_one(client, other_client, store):
    s = await scene(store)
    await post_form(client, "/connexion", {"email": "chef@ville.example", "password": "un-mot-de-passe-solide"})
    await post_form(client, f"/marches/{s['walk'].id}/restitution", {"action": "publier"})
    old = (await Walk.objects().where(Walk.id == s["walk"].id).first()).restitution_secret
    photo = await Photo.objects().where(Photo.observation == s["c"]["c1"].id).first()
    assert (await other_client.get(f"/restitution/{old}/photos/{photo.id}")).status_code == 200
    assert (await post_form(client, f"/marches/{s['walk'].id}/restitution", {"action": "retirer"})).status_code == 303
    unknown = await other_client.get("/restitution/" + "x" * len(old))
    assert unknown.status_code == 404
    for path in ("", "/affiche", "/qr.svg", f"/photos/{photo.id}"):
        gone = await other_client.get(f"/restitution/{old}{path}")
        assert gone.status_code == 404, path
    withdrawn = await other_client.get(f"/restitution/{old}")
    assert shown(withdrawn) == shown(unknown)  # the same page: nothing tells them apart
    assert "Marche du Centre-Ville" not in withdrawn.text
    # Publishing again gives a new address; the withdrawn one stays dead.
    await post_form(client, f"/marches/{s['walk'].id}/restitution", {"action": "publier"})
    new = (await Walk.objects().where(Walk.id == s["walk"].id).first()).restitution_secret
    assert new and new != old
    assert (await other_client.get(f"/restitution/{new}")).status_code == 200
    assert (await other_client.get(f"/restitution/{old}")).status_code == 404


async def test_only_coordinators_publish(client, store):
    s = await scene(store)
    await sign_in(client, "committee")
    response = await post_form(client, f"/marches/{s['walk'].id}/restitution", {"action": "publier"})
    assert response.status_code == 403
    assert (await Walk.objects().where(Walk.id == s["walk"].id).first()).restitution_secret is None


async def test_only_published_photos_of_validated_constats_are_public(store):
    s = await scene(store)
    walk = await reports.publish(s["walk"])
    walk = await Walk.objects().where(Walk.id == walk.id).first()
    ids = {p["id"] for p in await Photo.select(Photo.id)}
    served = set()
    for photo_id in ids:
        try:
            served.add((await reports.report_photo(walk, photo_id, public=True)).observation)
        except Exception:
            pass
    assert served == {s["c"]["c1"].id, s["c"]["c2"].id}
    await Observation.update({Observation.status: "rejected"}).where(Observation.id == s["c"]["c2"].id)
    photo = await Photo.objects().where(Photo.observation == s["c"]["c2"].id).first()
    with pytest.raises(Exception, match="n'existe pas"):
        await reports.report_photo(walk, photo.id, public=True)


# ---------------------------------------------------------------- walkapp.pdf: resources from disk only

def test_html_to_pdf_reads_static_files_and_listed_photos_from_disk_and_nothing_else(tmp_path):
    from walkapp.pdf import html_to_pdf

    watched = TileServer()  # anything fetched over HTTP would show up in its requests
    host = watched.url.split("/{z}")[0]
    secret = tmp_path / "secret.jpg"
    Image.new("RGB", (40, 30), (250, 0, 0)).save(secret, "JPEG")
    listed = tmp_path / "listed.jpg"
    Image.new("RGB", (64, 48), (0, 0, 250)).save(listed, "JPEG")
    dot = io.BytesIO()
    Image.new("RGB", (8, 8), (0, 250, 0)).save(dot, "PNG")
    import base64

    html = f"""<html><head><link rel="stylesheet" href="/static/css/app.css?v=1"></head><body>
      <p class="report-kicker">Bonjour</p>
      <img src="/photos/1/print"><img src="/photos/2/print"><img src="{host}/tile.png">
      <img src="http://testserver/../../etc/passwd"><img src="file://{secret}">
      <img src="data:image/png;base64,{base64.b64encode(dot.getvalue()).decode()}"></body></html>"""
    try:
        pdf = html_to_pdf(html, "http://testserver", {"/photos/1/print": listed})
    finally:
        watched.close()
    assert watched.requests == []  # never over HTTP, not even to a server that answers
    reader = PdfReader(io.BytesIO(pdf))
    sizes = sorted(image.image.size for page in reader.pages for image in page.images)
    assert sizes == [(8, 8), (64, 48)]  # the listed photo and the data: URI; not the file: one
    assert "BONJOUR" in reader.pages[0].extract_text()  # upper case: app.css was read from the static folder


async def test_a_photo_whose_file_is_gone_is_a_404_and_the_pdf_is_made_without_it(client, store):
    s = await scene(store)
    photo = await Photo.objects().where(Photo.observation == s["c"]["c1"].id).first()
    store.path(photo.display_path).unlink()
    await sign_in(client, "agent", "lecteur@ville.example")
    missing = await client.get(f"/marches/{s['walk'].id}/compte-rendu/photos/{photo.id}")
    assert missing.status_code == 404 and "introuvable" in shown(missing)
    pdf = await client.get(f"/marches/{s['walk'].id}/compte-rendu.pdf")
    assert pdf.status_code == 200
    assert COMMENTS["c1"] in " ".join(" ".join((p.extract_text() or "").split())
                                      for p in PdfReader(io.BytesIO(pdf.content)).pages)
