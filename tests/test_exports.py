"""The photo zip (issue 6): exactly the filtered photos with their manifest, missing files named
in the manifest, an exact Content-Length, staff only, safe member names, and the command line."""

import csv
import io
import json
import subprocess
import sys
import uuid
import zipfile
from pathlib import Path

import httpx
import pytest
from PIL import Image

from conftest import PHOTOS, make_walk, post_form, shown, sign_in

from walkapp.exports.builder import zip_url
from walkapp.exports.names import photo_member, safe_part
from walkapp.observations import services
from walkapp.observations.filters import ObservationFilter
from walkapp.observations.schemas import ObservationInput
from walkapp.privacy import services as privacy
from walkapp.storage import MediaStore
from walkapp.tables import Observation, Participant, Photo

DECHETS = "Gestion de tous les types de déchets"
PROPRETE = "Propreté, entretien"
MANIFEST = {"LISEZMOI.txt", "constats.csv", "constats.geojson"}


@pytest.fixture
def store(test_env) -> MediaStore:
    return MediaStore(Path(test_env["WALKAPP_MEDIA_DIR"]))


def png_bytes(colour=(200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(out, "PNG")
    return out.getvalue()


async def constat(store, walk, issue="dechets", street="Rue Carnot", photos=(), description="Dépôt sauvage",
                  lat=50.5637, lon=2.4827, participant=None, **extra):
    data = ObservationInput(client_uuid=str(uuid.uuid4()), issue=issue, angle="usages", description=description,
                            lat=lat, lon=lon, location_source="device" if lat is not None else None,
                            street=street, **extra)
    data.photos = [(p.read_bytes() if isinstance(p, Path) else p, getattr(p, "name", "photo.png")) for p in photos]
    observation, created = await services.record(store, walk, participant, data)
    assert created
    return observation


def read_zip(content: bytes) -> zipfile.ZipFile:
    archive = zipfile.ZipFile(io.BytesIO(content))
    assert archive.testzip() is None
    return archive


def csv_rows(archive: zipfile.ZipFile) -> list[dict[str, str]]:
    raw = archive.read("constats.csv")
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads the accents
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline=""), delimiter=";"))


async def test_zip_has_exactly_the_filtered_photos_and_their_manifest(client, store):
    walk = await make_walk("open", title="Marche du Centre-Ville")
    other = await make_walk("open", title="Autre marche")
    zoe = Participant(walk=walk.id, display_name="Zoé", token=uuid.uuid4().hex)
    await zoe.save()
    landscapes = [PHOTOS / "ok" / f"landscape_{i}.jpg" for i in range(1, 6)]
    first = await constat(store, walk, photos=landscapes[:2], participant=zoe,
                          description="=HYPERLINK(\"http://x\")\nsur deux lignes ; avec point-virgule")
    second = await constat(store, walk, issue="proprete", street="Rue de l'Église", photos=[png_bytes()],
                           lat=None, lon=None)
    third = await constat(store, walk, issue="dechets", street="")  # no photo: a row, no file
    await constat(store, other, photos=[landscapes[2]])  # another walk: not in this zip
    await privacy.process_pending(store)  # the zip without originals holds the blurred images
    await sign_in(client, "committee")

    response = await client.get(zip_url(ObservationFilter(walk=walk.id)))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    assert int(response.headers["content-length"]) == len(response.content)
    assert response.headers["content-disposition"] == (
        'attachment; filename="walkapp-marche-du-centre-ville-2026-11-25.zip"')
    archive = read_zip(response.content)
    photos = {f"{DECHETS}/{first.id}_Rue-Carnot_1.jpg", f"{DECHETS}/{first.id}_Rue-Carnot_2.jpg",
              f"{PROPRETE}/{second.id}_Rue-de-l'Église_1.jpg"}
    assert set(archive.namelist()) == MANIFEST | photos
    assert all(info.compress_type == zipfile.ZIP_STORED for info in archive.infolist())
    # Display-size images, byte for byte the blurred files the site serves to everyone but staff.
    rows = await Photo.select(Photo.observation, Photo.position, Photo.blurred_display_path).order_by(Photo.id)
    display = {(r["observation"], r["position"]): store.read(r["blurred_display_path"]) for r in rows}
    assert archive.read(f"{DECHETS}/{first.id}_Rue-Carnot_2.jpg") == display[(first.id, 1)]

    table = csv_rows(archive)
    assert [r["Numéro"] for r in table] == [str(first.id), str(second.id), str(third.id)]
    row = table[0]
    assert row["Enjeu"] == DECHETS and row["Enjeu (code)"] == "dechets" and row["Angle d'analyse"] == "Usages"
    assert row["Point faible / fort"] == "Point faible" and row["Statut"] == "Nouveau" and row["Auteur"] == "Zoé"
    assert row["Marche"] == "Marche du Centre-Ville" and row["Date de la marche"] == "25/11/2026"
    assert row["Latitude"] == "50,5637" and row["Longitude"] == "2,4827"
    assert row["Commentaire"].startswith("'=HYPERLINK") and "\n" in row["Commentaire"]  # neutralised, kept whole
    assert row["Photos"] == f"{DECHETS}/{first.id}_Rue-Carnot_1.jpg | {DECHETS}/{first.id}_Rue-Carnot_2.jpg"
    assert row["Nombre de photos"] == "2" and row["Fichiers manquants"] == ""
    assert table[1]["Latitude"] == "" and table[1]["Rue"] == "Rue de l'Église"
    assert table[2]["Photos"] == "" and table[2]["Nombre de photos"] == "0"

    geo = json.loads(archive.read("constats.geojson"))
    assert geo["type"] == "FeatureCollection" and len(geo["features"]) == 3
    feature = geo["features"][0]
    assert feature["geometry"] == {"type": "Point", "coordinates": [2.4827, 50.5637]}  # lon, lat
    assert feature["properties"]["issue_label"] == DECHETS and feature["properties"]["author"] == "Zoé"
    assert geo["features"][1]["geometry"] is None  # a constat without a position stays, unplaced

    readme = archive.read("LISEZMOI.txt").decode("utf-8")
    assert "Marche : Marche du Centre-Ville" in readme and "3 constats, 3 photos" in readme
    assert "taille d'affichage" in readme and "Fichiers manquants : aucun." in readme
    assert "Exporté le " in readme

    # A filter of the map: one issue only.
    only = read_zip((await client.get(zip_url(ObservationFilter(walk=walk.id, issue="proprete")))).content)
    assert set(only.namelist()) == MANIFEST | {f"{PROPRETE}/{second.id}_Rue-de-l'Église_1.jpg"}
    assert "Enjeu : Propreté, entretien" in only.read("LISEZMOI.txt").decode()
    # Every walk: four constats, four folders' worth of photos; the name says "constats".
    everything = await client.get("/exports/photos.zip")
    assert len(read_zip(everything.content).namelist()) == len(MANIFEST) + 4
    assert "walkapp-constats-" in everything.headers["content-disposition"]


async def test_originals_keep_their_bytes_and_extension(client, store):
    walk = await make_walk("open")
    picture = PHOTOS / "ok" / "landscape_1.jpg"
    png = png_bytes((10, 120, 10))
    observation = await constat(store, walk, photos=[picture, png])
    await sign_in(client, "agent")
    refused = await client.get(zip_url(ObservationFilter(walk=walk.id), originals=True))
    assert refused.status_code == 403 and "réservées aux coordinateurs" in shown(refused)  # PRODUCT.md, Privacy
    await post_form(client, "/deconnexion", {})
    await sign_in(client, "coordinator")
    response = await client.get(zip_url(ObservationFilter(walk=walk.id), originals=True))
    archive = read_zip(response.content)
    assert archive.read(f"{DECHETS}/{observation.id}_Rue-Carnot_1.jpg") == picture.read_bytes()
    assert archive.read(f"{DECHETS}/{observation.id}_Rue-Carnot_2.png") == png
    assert "photos originales" in archive.read("LISEZMOI.txt").decode()


async def test_missing_file_is_named_in_the_manifest_and_the_zip_stays_valid(client, store):
    walk = await make_walk("open")
    kept = await constat(store, walk, photos=[PHOTOS / "ok" / "landscape_1.jpg"])
    lost = await constat(store, walk, street="Rue Pasteur",
                         photos=[PHOTOS / "ok" / "landscape_2.jpg", PHOTOS / "ok" / "landscape_3.jpg"])
    await privacy.process_pending(store)
    gone = await Photo.objects().where((Photo.observation == lost.id) & (Photo.position == 1)).first()
    store.remove(gone.blurred_display_path)  # the file the zip without originals holds
    await sign_in(client)
    response = await client.get(zip_url(ObservationFilter(walk=walk.id)))
    assert response.status_code == 200
    assert int(response.headers["content-length"]) == len(response.content)
    archive = read_zip(response.content)
    missing_name = f"{DECHETS}/{lost.id}_Rue-Pasteur_2.jpg"
    assert set(archive.namelist()) == MANIFEST | {f"{DECHETS}/{kept.id}_Rue-Carnot_1.jpg",
                                                   f"{DECHETS}/{lost.id}_Rue-Pasteur_1.jpg"}
    readme = archive.read("LISEZMOI.txt").decode()
    assert "Fichiers manquants (1)" in readme
    assert f"{missing_name} : constat n° {lost.id}, photo 2 (photo n° {gone.id}), fichier manquant" in readme
    row = next(r for r in csv_rows(archive) if r["Numéro"] == str(lost.id))
    assert row["Fichiers manquants"] == f"{missing_name} (fichier manquant)"
    assert row["Photos"] == f"{DECHETS}/{lost.id}_Rue-Pasteur_1.jpg" and row["Nombre de photos"] == "2"
    feature = next(f for f in json.loads(archive.read("constats.geojson"))["features"] if f["id"] == lost.id)
    # The GeoJSON names only the photos the zip holds (photo_urls, as on the site: walkapp.observations.features).
    kept_name = f"{DECHETS}/{lost.id}_Rue-Pasteur_1.jpg"
    assert feature["properties"]["photo_urls"] == [kept_name] and feature["properties"]["photo_url"] == kept_name


@pytest.mark.parametrize("street, expected", [
    ("../../etc/passwd", "etc-passwd"),
    ("a/b\\c", "a-b-c"),
    ("..", "sans-rue"),
    ("", "sans-rue"),
    ("Rue de l'Église 🚧 n°3", "Rue-de-l'Église-🚧-n°3"),
    ("Impasse\x07Duwet\x00\x1b", "Impasse-Duwet"),
    ("C:\\Windows?*<>|\"", "C-Windows"),
    ("Rue du Dr. M. Laversin...", "Rue-du-Dr.-M.-Laversin"),
])
def test_safe_part(street, expected):
    assert safe_part(street, "sans-rue") == expected


def test_long_names_are_cut_on_a_character_boundary():
    member = photo_member("dechets", 12, "é" * 300 + "🚧" * 50, 3, "jpg")
    name = member.split("/", 1)[1]
    assert len(name.encode("utf-8")) < 200 and name.startswith("12_éé") and name.endswith("_3.jpg")
    name.encode("utf-8").decode("utf-8")  # no half character


async def test_unsafe_streets_make_safe_member_names(client, store, tmp_path):
    walk = await make_walk("open")
    streets = ["../../../../tmp/évasion", "a/b\\c", "..", "Rue de l'Église 🚧", "\x07\x1b..\\..\\"]
    made = [await constat(store, walk, street=s, photos=[PHOTOS / "ok" / f"landscape_{i + 1}.jpg"])
            for i, s in enumerate(streets)]
    await sign_in(client)
    archive = read_zip((await client.get(zip_url(ObservationFilter(walk=walk.id)))).content)
    photos = sorted(set(archive.namelist()) - MANIFEST)
    assert len(photos) == len(streets)
    for name in photos:
        folder, _, file_name = name.partition("/")
        assert folder == DECHETS and file_name and "/" not in file_name and "\\" not in file_name
        assert ".." not in name and not name.startswith("/")
        assert not any(ord(c) < 32 for c in name)
    assert f"{DECHETS}/{made[0].id}_tmp-évasion_1.jpg" in photos
    assert f"{DECHETS}/{made[2].id}_sans-rue_1.jpg" in photos
    assert f"{DECHETS}/{made[3].id}_Rue-de-l'Église-🚧_1.jpg" in photos
    # Unzipped for real, everything lands inside the target folder.
    archive.extractall(tmp_path)
    assert all(tmp_path in p.resolve().parents for p in tmp_path.rglob("*"))
    assert all(info.flag_bits & 0x800 for info in archive.infolist() if not info.filename.isascii())  # UTF-8 flag


async def test_who_may_download(client, other_client, store):
    walk = await make_walk("open")
    await constat(store, walk, photos=[PHOTOS / "ok" / "landscape_1.jpg"])
    url = zip_url(ObservationFilter(walk=walk.id))
    anonymous = await client.get(url, follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/connexion")
    response = await post_form(client, f"/j/{walk.join_secret}", {"display_name": "Zoé"})
    assert response.status_code == 303
    participant = await client.get(url)
    assert participant.status_code == 403 and "réservé" in shown(participant)
    token = (await Participant.objects().first()).token
    await sign_in(other_client, "coordinator")
    bearer = await other_client.get(url, headers={"Authorization": f"Bearer {token}"})
    assert bearer.status_code == 403  # a token is a participant's credential, even beside a staff cookie
    assert (await other_client.get(url)).status_code == 200


async def test_bad_filters_are_refused_in_french(client):
    await sign_in(client)
    for query, status, words in (("?walk=abc", 400, "numéro"), ("?issue=bruit", 400, "valeur inconnue"),
                                 ("?walk=999999", 404, "n'existe pas"), ("?originals=peut-etre", 400, "originals"),
                                 ("?du=hier", 400, "jj/mm/aaaa")):
        response = await client.get("/exports/photos.zip" + query)
        assert response.status_code == status, (query, response.text)
        assert words in shown(response) and "Traceback" not in response.text


async def test_walk_page_links_to_the_zip(client):
    walk = await make_walk("open")
    await sign_in(client, "agent")
    page = await client.get(f"/marches/{walk.id}")
    assert page.status_code == 200
    assert f'href="{zip_url(ObservationFilter(walk=walk.id))}"' in page.text
    assert "Télécharger les photos (zip)" in page.text
    assert zip_url(ObservationFilter(walk=3, issue="dechets"), originals=True) == \
        "/exports/photos.zip?walk=3&issue=dechets&originals=1"
    assert zip_url(ObservationFilter()) == "/exports/photos.zip"


async def test_content_length_is_what_a_real_server_sends(live_server, store):
    walk = await make_walk("open")
    for i in range(1, 9):
        await constat(store, walk, photos=[PHOTOS / "ok" / f"landscape_{i}.jpg", PHOTOS / "ok" / "jolla.jpg"])
    async with httpx.AsyncClient(base_url=live_server["url"], timeout=60) as browser:
        await sign_in(browser)
        received = 0
        async with browser.stream("GET", zip_url(ObservationFilter(walk=walk.id), originals=True)) as response:
            assert response.status_code == 200
            assert "transfer-encoding" not in response.headers
            announced = int(response.headers["content-length"])
            body = io.BytesIO()
            async for chunk in response.aiter_raw():
                received += len(chunk)
                body.write(chunk)
    assert received == announced and announced > 8 * 811_904
    assert len(read_zip(body.getvalue()).namelist()) == len(MANIFEST) + 16


async def test_cli_writes_the_same_zip(client, store, test_env, tmp_path):
    walk = await make_walk("open", title="Marche CLI")
    observation = await constat(store, walk, photos=[PHOTOS / "ok" / "landscape_4.jpg"])
    out = tmp_path / "export.zip"
    done = subprocess.run([sys.executable, "-m", "walkapp", "export-photos", "--walk", str(walk.id),
                           "--out", str(out)], env=test_env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "1 constats, 1 photos" in done.stdout
    archive = read_zip(out.read_bytes())
    assert set(archive.namelist()) == MANIFEST | {f"{DECHETS}/{observation.id}_Rue-Carnot_1.jpg"}
    assert [p.name for p in tmp_path.iterdir()] == ["export.zip"]  # no temporary file left
    originals = subprocess.run([sys.executable, "-m", "walkapp", "export-photos", "--walk", str(walk.id),
                                "--originals", "--out", str(out)], env=test_env, capture_output=True, text=True,
                               timeout=120)
    assert originals.returncode == 0, originals.stderr
    assert read_zip(out.read_bytes()).read(f"{DECHETS}/{observation.id}_Rue-Carnot_1.jpg") == \
        (PHOTOS / "ok" / "landscape_4.jpg").read_bytes()
    missing = subprocess.run([sys.executable, "-m", "walkapp", "export-photos", "--walk", "999999",
                              "--out", str(tmp_path / "none.zip")], env=test_env, capture_output=True, text=True,
                             timeout=120)
    assert missing.returncode != 0 and "Cette marche n'existe pas" in missing.stderr
    assert not (tmp_path / "none.zip").exists()
    assert await Observation.count() == 1
