"""One clock (issue 9): times stored in UTC, read by people in the site's zone (WALKAPP_TIMEZONE,
Europe/Paris by default) on every page, in the zip and the exports; machine formats (JSON API,
GeoJSON, Open311) carry the site's offset. A constat made at 14:30 in Lillers reads 14:30 everywhere."""

import datetime as dt
import io
import json
import subprocess
import sys
import uuid
import zipfile
from pathlib import Path

import pytest
from PIL import ExifTags, Image

from conftest import ROOT, make_walk, post_form, shown, sign_in

from walkapp import clock, photos
from walkapp.observations import services
from walkapp.observations.schemas import ObservationInput
from walkapp.settings import Settings, SettingsError, get_settings
from walkapp.storage import MediaStore
from walkapp.tables import Observation, ObservationEvent

UTC = dt.UTC
WINTER = dt.datetime(2026, 11, 25, 13, 30, tzinfo=UTC)  # 14:30 in Paris (+01:00)
SUMMER = dt.datetime(2026, 7, 14, 12, 30, tzinfo=UTC)  # 14:30 in Paris (+02:00)
V2 = "/open311/v2"


@pytest.fixture
def site_zone(monkeypatch):
    """Runs a test with another WALKAPP_TIMEZONE, then puts the suite's settings back."""
    def use(name: str) -> None:
        monkeypatch.setenv("WALKAPP_TIMEZONE", name)
        get_settings.cache_clear()

    yield use
    monkeypatch.delenv("WALKAPP_TIMEZONE", raising=False)
    get_settings.cache_clear()


# ---------------------------------------------------------------- the clock itself

@pytest.mark.parametrize("instant, offset", [(WINTER, "+01:00"), (SUMMER, "+02:00")])
def test_paris_reads_1430_in_winter_and_summer(instant, offset):
    day = instant.strftime("%d/%m/%Y")
    assert clock.zone().key == "Europe/Paris"
    assert clock.time_text(instant) == "14:30"
    assert clock.datetime_text(instant) == f"{day} 14:30"
    assert clock.date_text(instant) == day
    assert clock.iso(instant) == f"{instant:%Y-%m-%d}T14:30:00{offset}"
    assert clock.local(instant).utcoffset() == dt.timedelta(hours=int(offset[1:3]))


def test_as_utc_takes_what_the_databases_give():
    assert clock.as_utc(WINTER) == WINTER
    assert clock.as_utc(WINTER.replace(tzinfo=None)) == WINTER  # naive = UTC, as stored
    assert clock.as_utc(WINTER.astimezone(dt.timezone(dt.timedelta(hours=-5)))) == WINTER
    # SQLite's text for an aggregate such as MAX(at), with and without offset or microseconds.
    for text in ("2026-11-25 13:30:00+00:00", "2026-11-25 13:30:00", "2026-11-25T14:30:00+01:00",
                 "2026-11-25 13:30:00.000000+00:00"):
        assert clock.as_utc(text) == WINTER, text
    assert clock.as_utc(text).tzinfo == UTC
    assert clock.as_utc(None) is None and clock.as_utc("") is None
    with pytest.raises(TypeError):
        clock.as_utc(dt.date(2026, 11, 25))  # a calendar day is not an instant


def test_nothing_and_calendar_days():
    for format_ in (clock.date_text, clock.datetime_text, clock.time_text):
        assert format_(None) == "" and format_("") == ""
    assert clock.iso(None) is None
    # A walk's date or an échéance is a day, not an instant: never shifted by a zone.
    assert clock.date_text(dt.date(2026, 12, 31)) == "31/12/2026"
    assert clock.time_text(dt.date(2026, 12, 31)) == ""
    assert clock.iso(WINTER.replace(microsecond=123456)) == "2026-11-25T14:30:00+01:00"  # to the second


def test_late_evening_utc_is_already_tomorrow_in_paris():
    late = dt.datetime(2026, 12, 31, 23, 30, tzinfo=UTC)
    assert clock.datetime_text(late) == "01/01/2027 00:30"
    assert clock.today() == clock.local(clock.now()).date()
    assert clock.now().tzinfo == UTC


def test_another_site_zone(site_zone):
    site_zone("Indian/Reunion")  # +04:00, no summer time
    assert clock.zone().key == "Indian/Reunion"
    assert clock.datetime_text(WINTER) == "25/11/2026 17:30"
    assert clock.iso(SUMMER) == "2026-07-14T16:30:00+04:00"
    assert clock.assume_local(dt.datetime(2026, 7, 14, 16, 30)) == SUMMER
    site_zone("America/Montreal")  # west of UTC, with summer time
    assert clock.iso(WINTER) == "2026-11-25T08:30:00-05:00"
    assert clock.iso(SUMMER) == "2026-07-14T08:30:00-04:00"
    assert clock.date_text(dt.datetime(2026, 1, 1, 3, 0, tzinfo=UTC)) == "31/12/2025"


def test_assume_local_reads_wall_clock_times_in_the_site_zone():
    assert clock.assume_local(dt.datetime(2026, 11, 25, 14, 30)) == WINTER
    assert clock.assume_local(dt.datetime(2026, 7, 14, 14, 30)) == SUMMER
    given = dt.datetime(2026, 11, 25, 8, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    assert clock.assume_local(given) == WINTER  # a time that says its zone keeps it


def test_unknown_zone_is_refused_at_start(tmp_path):
    env = {"WALKAPP_MEDIA_DIR": str(tmp_path), "WALKAPP_SECRET_KEY": "k" * 40}
    assert Settings.from_env(env).timezone.key == "Europe/Paris"
    assert Settings.from_env({**env, "WALKAPP_TIMEZONE": "Europe/Brussels"}).timezone.key == "Europe/Brussels"
    for wrong in ("Europe/Lillers", "Europe", "../etc/passwd", "europe/paris"):
        with pytest.raises(SettingsError, match="WALKAPP_TIMEZONE"):
            Settings.from_env({**env, "WALKAPP_TIMEZONE": wrong})
    # The command stops with one sentence, not a traceback.
    done = subprocess.run([sys.executable, "-m", "walkapp", "migrate"], cwd=tmp_path, capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), **env,
                               "WALKAPP_DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite'}",
                               "WALKAPP_TIMEZONE": "Europe/Lillers"}, timeout=60)
    assert done.returncode == 1
    assert "WALKAPP_TIMEZONE" in done.stderr and "Europe/Lillers" in done.stderr and "Traceback" not in done.stderr


def _jpeg_taken_at(text: str, offset: str | None = None) -> Image.Image:
    image = Image.new("RGB", (32, 24), (90, 120, 200))
    exif = image.getexif()
    exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = text
    if offset:
        exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.OffsetTimeOriginal] = offset
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return Image.open(io.BytesIO(out.getvalue()))


@pytest.mark.parametrize("text, instant", [("2026:11:25 14:30:00", WINTER), ("2026:07:14 14:30:00", SUMMER)])
def test_exif_times_are_the_site_wall_clock(text, instant):
    _, taken, _ = photos.read_metadata(_jpeg_taken_at(text))
    assert taken == instant and clock.time_text(taken) == "14:30"
    _, taken, _ = photos.read_metadata(_jpeg_taken_at("2026:11:25 08:30:00", "-05:00"))
    assert taken == WINTER  # a camera that says its offset is believed


def test_exif_times_follow_the_setting(site_zone):
    site_zone("Indian/Reunion")
    _, taken, _ = photos.read_metadata(_jpeg_taken_at("2026:11:25 17:30:00"))
    assert taken == WINTER


# ---------------------------------------------------------------- the hour everywhere it is shown

async def _constat_at(walk, instant: dt.datetime, status: str = "validated") -> Observation:
    store = MediaStore(get_settings().media_dir)
    data = ObservationInput(client_uuid=str(uuid.uuid4()), issue="dechets", angle="usages",
                            description="Dépôt sauvage", lat=50.5637, lon=2.4827, location_source="device",
                            street="Rue Carnot", observed_at=instant, status=status)
    observation, _ = await services.record(store, walk, None, data)
    # received_at is the server's "now" when it arrives: put it at the same known instant.
    await Observation.update({Observation.received_at: instant}).where(Observation.id == observation.id)
    return observation


def _zip_csv(content: bytes) -> tuple[list[dict[str, str]], dict, str]:
    import csv

    archive = zipfile.ZipFile(io.BytesIO(content))
    rows = list(csv.DictReader(io.StringIO(archive.read("constats.csv").decode("utf-8-sig"), newline=""),
                               delimiter=";"))
    return rows, json.loads(archive.read("constats.geojson")), archive.read("LISEZMOI.txt").decode("utf-8")


@pytest.mark.parametrize("instant, offset", [(WINTER, "+01:00"), (SUMMER, "+02:00")])
async def test_a_constat_made_at_1430_reads_1430_everywhere(client, instant, offset):
    await sign_in(client)
    walk = await make_walk("open")
    item = await _constat_at(walk, instant)
    day, w3c = f"{instant:%d/%m/%Y}", f"{instant:%Y-%m-%d}T14:30:00{offset}"

    # The field feed (the block every phone polls) and the whole walk page.
    feed = shown(await client.get(f"/marches/{walk.id}/fil", headers={"hx-request": "true"}))
    assert "14:30" in feed and f"{instant:%H:%M}" not in feed
    assert "14:30" in shown(await client.get(f"/marches/{walk.id}/terrain"))
    # The constat's page and its map popup.
    page = shown(await client.get(f"/constats/{item.id}"))
    assert f"Constaté le {day} 14:30" in page
    assert f"{day} 14:30" in shown(await client.get(f"/carte/popup/{item.id}"))
    # The zip: CSV for people, GeoJSON for machines.
    response = await client.get(f"/exports/photos.zip?walk={walk.id}")
    assert response.status_code == 200, response.text
    rows, geojson, readme = _zip_csv(response.content)
    assert rows[0]["Date du constat"] == day and rows[0]["Heure du constat"] == "14:30"
    assert rows[0]["Reçu le"] == f"{day} 14:30"
    properties = geojson["features"][0]["properties"]
    assert properties["observed_at"] == w3c and properties["received_at"] == w3c
    assert "fuseau Europe/Paris" in readme
    # The JSON API and Open311.
    api = (await client.get(f"/api/v1/walks/{walk.id}/observations")).json()
    listed = api if isinstance(api, list) else api.get("observations", api.get("items"))
    assert listed[0]["observed_at"] == w3c and listed[0]["received_at"] == w3c
    request = (await client.get(f"{V2}/requests/{item.id}.json")).json()[0]
    assert request["requested_datetime"] == w3c and request["requested_datetime"].endswith(f"T14:30:00{offset}")
    assert request["updated_datetime"] == w3c  # no change since it arrived


async def test_site_zone_reaches_the_pages(client, site_zone):
    site_zone("Indian/Reunion")
    await sign_in(client)
    walk = await make_walk("open")
    item = await _constat_at(walk, WINTER)
    assert "Constaté le 25/11/2026 17:30" in shown(await client.get(f"/constats/{item.id}"))
    request = (await client.get(f"{V2}/requests/{item.id}.json")).json()[0]
    assert request["requested_datetime"] == "2026-11-25T17:30:00+04:00"


async def test_participants_and_histories_in_the_site_zone(client):
    user = await sign_in(client)
    walk = await make_walk("open")
    item = await _constat_at(walk, WINTER, status="new")
    assert (await post_form(client, f"/constats/{item.id}/statut", {"status": "validated"})).status_code in (200, 303)
    await ObservationEvent.update({ObservationEvent.at: WINTER}).where(ObservationEvent.observation == item.id)
    assert "25/11/2026 14:30" in shown(await client.get(f"/constats/{item.id}"))  # the history line
    joined = await client.get(f"/marches/{walk.id}/terrain")  # staff on the walk page
    assert joined.status_code == 200
    from walkapp.tables import Participant

    await Participant(walk=walk.id, display_name="Zoé", token=uuid.uuid4().hex, user=user.id,
                      joined_at=WINTER).save()
    assert "Zoé" in (page := shown(await client.get(f"/marches/{walk.id}"))) and "25/11/2026 14:30" in page


async def test_an_action_page_shows_its_times_in_the_site_zone(client):
    from walkapp.actions import services as actions
    from walkapp.actions.forms import ActionInput
    from walkapp.tables import Action, ActionEvent

    user = await sign_in(client)
    action = await actions.create_action(ActionInput(axe="dechets", problem="Dépôts sauvages"), user)
    await Action.update({Action.created_at: WINTER}).where(Action.id == action.id)
    await ActionEvent.update({ActionEvent.at: SUMMER}).where(ActionEvent.action == action.id)
    page = shown(await client.get(f"/actions/{action.id}"))
    assert "Créée le 25/11/2026 14:30" in page and "14/07/2026 14:30" in page  # created, then its history


# ---------------------------------------------------------------- Open311 after a validation

async def test_open311_feed_lives_after_a_validation(client, other_client):
    """SQLite gives MAX(at) over the history back as text: the public feed used to answer 500."""
    await sign_in(client)
    walk = await make_walk("open")
    item = await _constat_at(walk, clock.now() - dt.timedelta(days=1), status="new")
    for status in ("rejected", "validated"):  # two history lines: the latest one is the update
        response = await post_form(client, f"/constats/{item.id}/statut", {"status": status, "reason": "Vu"})
        assert response.status_code in (200, 303), response.text
    events = await ObservationEvent.select(ObservationEvent.id).where(
        ObservationEvent.observation == item.id).order_by(ObservationEvent.id)
    assert len(events) >= 2
    later = clock.now().replace(microsecond=0) - dt.timedelta(hours=2)
    await ObservationEvent.update({ObservationEvent.at: later - dt.timedelta(hours=3)}).where(
        ObservationEvent.observation == item.id)
    await ObservationEvent.update({ObservationEvent.at: later}).where(ObservationEvent.id == events[-1]["id"])

    listing = await other_client.get(f"{V2}/requests.json")  # anyone: the public feed
    assert listing.status_code == 200, listing.text
    assert [r["service_request_id"] for r in listing.json()] == [item.id]
    assert listing.json()[0]["updated_datetime"] == clock.iso(later)
    xml = await other_client.get(f"{V2}/requests.xml")
    assert xml.status_code == 200, xml.text
    assert f"<updated_datetime>{clock.iso(later)}</updated_datetime>" in xml.text
    one = await other_client.get(f"{V2}/requests/{item.id}.json")
    assert one.status_code == 200 and one.json()[0]["updated_datetime"] == clock.iso(later)


def test_no_copy_of_the_zone_or_of_time_formats_is_left():
    """One rule, one place: formats and zones live in walkapp/clock.py only."""
    package = Path(ROOT / "walkapp")
    for path in [*package.rglob("*.py"), *(ROOT / "templates").rglob("*.html")]:
        if path.name in ("clock.py", "settings.py") or "piccolo_migrations" in path.parts:
            continue
        text = path.read_text()
        for copy in ("LOCAL_TZ", "ZoneInfo(", "astimezone(", "%H:%M\"", "[11:16]", "datetime.now(", "date.today("):
            assert copy not in text, f"{path.relative_to(ROOT)} keeps its own {copy}"
