"""The follow-up walk (marche de suivi, issue 12 parts 3-4): a walk made "from" an earlier one,
re-visits through the JSON API (and every refusal), the "À revoir" list, Avant / Après, the map's
"revus" filter and GeoJSON, the summary per enjeu and the actions' evaluation proposal."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import pytest

from conftest import PHOTOS, make_neighbourhood, make_user, make_walk, post_form, shown, sign_in
from test_api_observations import fields, join, media_files, photo, post_observation

from walkapp.actions.forms import ActionInput
from walkapp.actions.services import create_action
from walkapp.observations.filters import ObservationFilter
from walkapp.observations.schemas import ObservationInput
from walkapp.observations.services import record
from walkapp.revisits import services as revisits
from walkapp.review.services import set_status
from walkapp.storage import media_store
from walkapp.tables import Action, Observation, Photo, Stop, Walk
from walkapp.walks.services import StopInput, WalkInput, create_walk, set_status as set_walk_status

LATER = dt.date(2027, 1, 12)
AFTER = PHOTOS / "ok" / "landscape_3.jpg"


async def earlier_constat(walk, issue="dechets", angle="usages", polarity="negative", status="validated",
                          offset=0.0, stop=None, text="Dépôt sauvage"):
    """A constat of an earlier (closed) walk, through the one write path, with a photo."""
    observation, _ = await record(media_store(), walk, None, ObservationInput(
        client_uuid=str(uuid.uuid4()), issue=issue, angle=angle, polarity=polarity, description=text,
        lat=50.5636 + offset, lon=2.4826, location_source="device", status=status, stop_id=stop,
        photos=[((PHOTOS / "ok" / "jolla.jpg").read_bytes(), "avant.jpg")]))
    return observation


async def follow_up_of(earlier, status="open", date=LATER, title="Marche de suivi"):
    walk = await create_walk(WalkInput(neighbourhood=earlier.neighbourhood if isinstance(earlier.neighbourhood, int)
                                       else earlier.neighbourhood.id, title=title, date=date, follows=earlier.id,
                                       stops=[StopInput("Halte 0", 50.5636, 2.4826),
                                              StopInput("Halte 1", 50.5646, 2.4826)]), None)
    if status != "planned":
        await set_walk_status(walk, status)
    return await Walk.objects().where(Walk.id == walk.id).first()


def revisit_fields(target, outcome="ameliore", **overrides):
    data = {"client_uuid": str(uuid.uuid4()), "revisit_of": None if target is None else str(target), "outcome": outcome,
            "description": "Mieux qu'avant", "lat": "50.5637", "lon": "2.4827"}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


# ---------------------------------------------------------------- creating a follow-up walk

async def test_a_follow_up_walk_is_made_from_an_earlier_one_with_its_route(client):
    earlier = await make_walk("closed", title="Diagnostic d'automne", stops=3)
    await sign_in(client, "coordinator")
    detail = await client.get(f"/marches/{earlier.id}")
    assert f'href="/marches/{earlier.id}/marche-de-suivi"' in detail.text
    form = await client.get(f"/marches/{earlier.id}/marche-de-suivi")
    assert form.status_code == 200
    page = shown(form)
    assert "Marche de suivi de « Diagnostic d'automne » du 25/11/2026" in page
    assert f'name="follows" value="{earlier.id}"' in form.text
    for i in range(3):  # the route is copied, as editable rows
        assert f'value="Halte {i}"' in form.text

    data = {"neighbourhood": str(earlier.neighbourhood), "title": "Suivi d'hiver", "date": "2027-01-12",
            "follows": str(earlier.id), "stop_id": ["", ""], "stop_name": ["Halte 0", "Nouvelle halte"],
            "stop_lat": ["50.5636", "50.5650"], "stop_lon": ["2.4826", "2.4830"]}
    created = await post_form(client, "/marches/", data)
    assert created.status_code == 303, created.text
    walk = await Walk.objects().where(Walk.title == "Suivi d'hiver").first()
    assert walk.follows == earlier.id and walk.status == "planned"
    assert [s["name"] for s in await Stop.select(Stop.name).where(Stop.walk == walk.id).order_by(Stop.position)] == [
        "Halte 0", "Nouvelle halte"]
    assert "Marche de suivi de" in shown(await client.get(f"/marches/{walk.id}"))
    assert "Suivi d'hiver" in shown(await client.get(f"/marches/{earlier.id}"))  # its follow-ups are listed

    # Another quartier, or a day not after the earlier walk: refused in French, nothing made.
    other = await make_neighbourhood("QP000001")
    for changes, words in (({"neighbourhood": str(other.id)}, "dans le quartier de la marche suivie"),
                           ({"date": "2026-11-25"}, "après la marche suivie, du 25/11/2026"),
                           ({"follows": "999999"}, "cette marche n'existe pas")):
        refused = await post_form(client, "/marches/", {**data, "title": "Refusée", **changes})
        assert refused.status_code == 422 and words in shown(refused), shown(refused)
    assert not await Walk.exists().where(Walk.title == "Refusée")
    # Editing a follow-up walk keeps what it follows.
    edit = {**data, "title": "Suivi d'hiver (modifié)", "follows": ""}
    assert (await post_form(client, f"/marches/{walk.id}/modifier", edit)).status_code == 303
    assert (await Walk.objects().where(Walk.id == walk.id).first()).follows == earlier.id


# ---------------------------------------------------------------- re-visits through the API

async def test_a_revisit_through_the_api_then_its_replay(client, media):
    earlier = await make_walk("closed")
    before = await earlier_constat(earlier, issue="proprete", angle="conception", polarity="positive")
    walk = await follow_up_of(earlier)
    await join(client, walk)
    data = revisit_fields(before.id, "ameliore")
    first = await post_observation(client, walk, data, [photo(AFTER)])
    assert first.status_code == 201, first.text
    body = first.json()
    assert (body["revisit_of"], body["outcome"], body["outcome_label"]) == (before.id, "ameliore", "Amélioré")
    # Issue, angle and polarity default to the earlier constat's.
    assert (body["issue"], body["angle"], body["polarity"]) == ("proprete", "conception", "positive")
    assert len(body["photos"]) == 1
    again = await post_observation(client, walk, data, [photo(AFTER)])
    assert again.status_code == 200 and again.json()["id"] == body["id"]
    assert await Observation.count().where(Observation.walk == walk.id) == 1
    assert await Photo.count() == 2
    # Sent with its own issue, a re-visit keeps it; the listing and the GeoJSON carry the new fields.
    other = await post_observation(client, walk, revisit_fields(before.id, "resolu", issue="dechets", angle="usages"))
    assert other.status_code == 201 and other.json()["issue"] == "dechets"
    listing = (await client.get(f"/api/v1/walks/{walk.id}/observations")).json()["observations"]
    assert {o["outcome"] for o in listing} == {"ameliore", "resolu"}


@pytest.fixture
def media(test_env) -> Path:
    return Path(test_env["WALKAPP_MEDIA_DIR"])


async def test_every_bad_revisit_is_refused_in_french_and_stores_nothing(client, media):
    earlier = await make_walk("closed")
    good = await earlier_constat(earlier)
    rejected = await earlier_constat(earlier, text="Photo floue")
    await Observation.update({Observation.status: "rejected"}).where(Observation.id == rejected.id)
    elsewhere_hood = await make_neighbourhood("QP000002")
    elsewhere_walk = await create_walk(WalkInput(neighbourhood=elsewhere_hood.id, title="Ailleurs",
                                                 date=dt.date(2026, 11, 20), stops=[StopInput("A", 50.0, 2.0)]), None)
    elsewhere = await earlier_constat(elsewhere_walk)
    walk = await follow_up_of(earlier)
    await join(client, walk)
    same_walk = (await post_observation(client, walk, fields(observed_at=None))).json()["id"]
    later_walk = await follow_up_of(earlier, date=dt.date(2027, 3, 1), title="Plus tard")
    later = await earlier_constat(later_walk)
    count, files = await Observation.count(), media_files(media)
    cases = [
        (revisit_fields(elsewhere.id), 422, "invalid", "d'un autre quartier"),
        (revisit_fields(rejected.id), 409, "revisit_rejected", "a été rejeté"),
        (revisit_fields(same_walk), 422, "invalid", "de cette marche-ci"),
        (revisit_fields(later.id), 422, "invalid", "marche postérieure"),
        (revisit_fields(999999), 422, "invalid", "n'existe pas"),
        (revisit_fields(None, "resolu", issue="dechets", angle="usages"), 422, "invalid",
         "ne va qu'avec le constat revu"),
        (revisit_fields(good.id, None), 422, "invalid", "Résolu, Amélioré, Inchangé ou Dégradé"),
        (revisit_fields(good.id, "repare"), 422, "invalid", "choisissez Résolu, Amélioré, Inchangé ou Dégradé"),
        (revisit_fields("n°3"), 422, "invalid", "le numéro d'un constat"),
    ]
    for data, status, code, words in cases:
        response = await post_observation(client, walk, data, [photo(AFTER)])
        assert response.status_code == status, (data, response.text)
        body = response.json()
        assert body["error"] == code and words in body["detail"], body
    assert await Observation.count() == count
    assert media_files(media) == files  # not even the photo sent along


async def test_a_duplicate_is_revisited_as_its_original(client):
    earlier = await make_walk("closed")
    original = await earlier_constat(earlier)
    duplicate = await earlier_constat(earlier)
    coordinator = await make_user("coordinator")
    await set_status(duplicate, coordinator, "duplicate", duplicate_of=original.id)
    walk = await follow_up_of(earlier)
    await join(client, walk)
    response = await post_observation(client, walk, revisit_fields(duplicate.id, "inchange"))
    assert response.status_code == 201 and response.json()["revisit_of"] == original.id


# ---------------------------------------------------------------- "À revoir", Avant / Après, summary

async def test_the_to_revisit_list_nearest_first_without_rejected_with_originals(client):
    earlier = await make_walk("closed", stops=3)
    stops = await Stop.objects().where(Stop.walk == earlier.id).order_by(Stop.position)
    far = await earlier_constat(earlier, offset=0.0040, stop=stops[2].id, text="loin")
    near = await earlier_constat(earlier, offset=0.0009, stop=stops[1].id, text="près")
    middle = await earlier_constat(earlier, offset=0.0020, stop=stops[1].id, text="milieu")
    rejected = await earlier_constat(earlier, offset=0.0010, text="rejeté")
    await Observation.update({Observation.status: "rejected"}).where(Observation.id == rejected.id)
    duplicate = await earlier_constat(earlier, offset=0.0010, text="doublon")
    await Observation.update({Observation.status: "duplicate", Observation.duplicate_of: far.id}).where(
        Observation.id == duplicate.id)
    walk = await follow_up_of(earlier)
    halte = (await Stop.objects().where(Stop.walk == walk.id).order_by(Stop.position))[1]  # at 50.5646
    await Walk.update({Walk.current_stop: halte.id}).where(Walk.id == walk.id)
    walk = await Walk.objects().where(Walk.id == walk.id).first()
    listed = await revisits.to_revisit(walk)
    assert [r["id"] for r in listed] == [near.id, middle.id, far.id]  # 11 m, 111 m, 333 m from the halte
    assert [round(r["distance_m"]) for r in listed] == [11, 111, 334]
    assert all(r["photo_id"] for r in listed) and not any(r["outcome"] for r in listed)

    await join(client, walk)
    assert (await post_observation(client, walk, revisit_fields(middle.id, "resolu"))).status_code == 201
    listed = await revisits.to_revisit(walk)
    assert [(r["id"], r["outcome"]) for r in listed] == [(near.id, None), (middle.id, "resolu"), (far.id, None)]
    page = await client.get(f"/marches/{walk.id}/terrain")
    text = shown(page)
    assert "À revoir 1 / 3 revu" in text and "Revu : Résolu" in text
    assert text.index("près") < text.index("milieu") < text.index("loin") and "rejeté" not in text
    # The earlier walk's photos are this participant's to see (their list shows them), not its pages.
    thumb = next(r for r in listed if r["id"] == near.id)["photo_id"]
    assert (await client.get(f"/photos/{thumb}/vignette.jpg")).status_code == 200
    assert (await client.get(f"/photos/{thumb}/original")).status_code == 403
    assert (await client.get(f"/constats/{near.id}")).status_code == 403


async def test_before_after_pairs_and_the_constat_page(client):
    earlier = await make_walk("closed")
    before = await earlier_constat(earlier)
    walk = await follow_up_of(earlier)
    await join(client, walk)
    first = (await post_observation(client, walk, revisit_fields(before.id, "inchange"), [photo(AFTER)])).json()
    second = (await post_observation(client, walk, revisit_fields(before.id, "resolu"), [photo(AFTER)])).json()
    pairs = await revisits.before_after([before.id, first["id"]])
    assert [(p.before.id, p.after.id, p.outcome) for p in pairs[before.id]] == [
        (before.id, first["id"], "inchange"), (before.id, second["id"], "resolu")]
    assert [(p.before.id, p.after.id) for p in pairs[first["id"]]] == [(before.id, first["id"])]
    assert pairs[before.id][0].before.photo_id and pairs[before.id][0].after.photo_id

    await sign_in(client, "committee")
    page = await client.get(f"/constats/{before.id}")
    text = shown(page)
    assert "Avant / Après" in text and "Inchangé" in text and "Résolu" in text
    assert text.count("Avant ·") == 2 and text.count("Après ·") == 2
    assert page.text.count('class="ba-pair"') == 2
    revisit_page = shown(await client.get(f"/constats/{first['id']}"))
    assert f"Revoit le constat n° {before.id}" in revisit_page and revisit_page.count("Avant ·") == 1
    # A rejected re-visit no longer counts.
    await Observation.update({Observation.status: "rejected"}).where(Observation.id == second["id"])
    assert len((await revisits.before_after([before.id]))[before.id]) == 1


async def test_revisit_summary_per_enjeu(client):
    earlier = await make_walk("closed")
    waste = [await earlier_constat(earlier, issue="dechets") for _ in range(3)]
    clean = await earlier_constat(earlier, issue="proprete")
    walk = await follow_up_of(earlier)
    await join(client, walk)
    for target, outcome in ((waste[0], "resolu"), (waste[1], "degrade"), (clean, "ameliore")):
        assert (await post_observation(client, walk, revisit_fields(target.id, outcome))).status_code == 201
    # Re-visited twice in the walk: the latest counts once.
    assert (await post_observation(client, walk, revisit_fields(clean.id, "resolu"))).status_code == 201
    summary = await revisits.revisit_summary(walk.id)
    rows = {r.issue.code: (r.counts, r.not_revisited) for r in summary.rows}
    assert list(rows) == ["proprete", "dechets"]  # the convention's order, only enjeux with something
    assert rows["dechets"] == ({"resolu": 1, "ameliore": 0, "inchange": 0, "degrade": 1}, 1)
    assert rows["proprete"] == ({"resolu": 1, "ameliore": 0, "inchange": 0, "degrade": 0}, 0)
    assert summary.totals == {"resolu": 2, "ameliore": 0, "inchange": 0, "degrade": 1}
    assert (summary.revisited, summary.not_revisited) == (3, 1)
    await sign_in(client, "coordinator")
    detail = shown(await client.get(f"/marches/{walk.id}"))
    assert "Évolution des constats revus, par enjeu" in detail and "3 revus, 1 non revu" in detail
    assert (await revisits.revisit_summary(earlier.id)).empty


# ---------------------------------------------------------------- the map's filter, GeoJSON, colours

async def test_map_filter_revus_and_geojson_agree_with_the_latest_outcome(client):
    earlier = await make_walk("closed")
    a, b, c = [await earlier_constat(earlier, offset=n / 1000) for n in range(3)]
    first = await follow_up_of(earlier, date=dt.date(2027, 1, 12), title="Suivi 1")
    second = await follow_up_of(earlier, date=dt.date(2027, 6, 1), title="Suivi 2")
    await join(client, first)
    await join(client, second)
    # b: re-visited in the later walk first (lower id), then in the earlier one: the later WALK wins.
    assert (await post_observation(client, second, revisit_fields(b.id, "degrade"))).status_code == 201
    assert (await post_observation(client, first, revisit_fields(b.id, "resolu"))).status_code == 201
    assert (await post_observation(client, first, revisit_fields(a.id, "resolu"))).status_code == 201
    latest = await revisits.latest_outcomes([a.id, b.id, c.id])
    assert {k: v["outcome"] for k, v in latest.items()} == {a.id: "resolu", b.id: "degrade"}

    async def ids(revu):
        where = ObservationFilter(walk=earlier.id, revisited=revu).where()
        return {row["id"] for row in await Observation.select(Observation.id).where(where)}

    assert await ids("oui") == {a.id, b.id}
    assert await ids("non") == {c.id}
    assert await ids("resolu") == {a.id} and await ids("degrade") == {b.id} and await ids("inchange") == set()

    await sign_in(client, "committee")
    geo = (await client.get(f"/api/v1/observations.geojson?walk={earlier.id}&revu=resolu")).json()
    assert [f["id"] for f in geo["features"]] == [a.id]
    assert geo["features"][0]["properties"]["latest_outcome"] == "resolu"
    revisits_geo = (await client.get(f"/api/v1/observations.geojson?walk={first.id}")).json()
    assert {f["properties"]["outcome"] for f in revisits_geo["features"]} == {"resolu"}
    assert {f["properties"]["revisit_of"] for f in revisits_geo["features"]} == {a.id, b.id}
    page = await client.get(f"/carte?walk={earlier.id}&revu=oui")
    assert "<strong>2</strong> constats sur la carte" in page.text
    assert 'option value="oui" selected' in page.text and "Revu : Dégradé" in shown(page)  # filter and legend
    # The markers carry the latest outcome, and a constat never re-visited carries none (the map's
    # clusters API at street level: one marker per constat).
    box = f"{a.lon - 0.001},{a.lat - 0.001},{a.lon + 0.001},{a.lat + 0.003}"
    view = (await client.get(f"/api/v1/observations/clusters?walk={earlier.id}&bbox={box}&zoom=19")).json()
    assert {f["id"]: f["properties"].get("outcome") for f in view["features"]} == {
        a.id: "resolu", b.id: "degrade", c.id: None}
    bad = await client.get("/carte?revu=peut-etre")
    assert bad.status_code == 200 and "Filtre « revu » ignoré" in shown(bad)
    # The zip of the view says its filter.
    from walkapp.exports.builder import collect

    plan = await collect(ObservationFilter(walk=earlier.id, revisited="oui"), originals=False)
    assert {row.data["id"] for row in plan.rows} == {a.id, b.id}
    assert "Constats revus lors d'une marche de suivi" in plan.filter_lines


# ---------------------------------------------------------------- actions: the evaluation proposal

async def test_an_actions_evaluation_is_proposed_from_the_revisits_and_changes_only_when_confirmed(client):
    earlier = await make_walk("closed")
    x, y, z = [await earlier_constat(earlier, offset=n / 1000) for n in range(3)]
    coordinator = await sign_in(client, "coordinator")
    action = await create_action(ActionInput(axe="dechets", problem="Dépôts", constats=[x.id, y.id, z.id]),
                                 coordinator)
    assert await revisits.evaluation_proposal(action.id) is None
    page = await client.get(f"/actions/{action.id}/modifier")
    assert "evaluation-proposal" not in page.text

    walk = await follow_up_of(earlier)
    await join(client, walk)
    for target, outcome in ((x, "resolu"), (y, "ameliore")):
        assert (await post_observation(client, walk, revisit_fields(target.id, outcome))).status_code == 201
    expected = "2 constats revus sur 3 : 1 Résolu, 1 Amélioré (marche de suivi du 12/01/2027)"
    assert await revisits.evaluation_proposal(action.id) == expected
    page = await client.get(f"/actions/{action.id}/modifier")
    assert page.status_code == 200 and expected in shown(page)
    assert f'data-fill="evaluation" data-fill-text="{expected}"' in page.text
    # Saving the form without taking the proposal leaves the evaluation as it was (empty).
    row = await Action.objects().where(Action.id == action.id).first()
    form = {"axe": "dechets", "problem": "Dépôts", "state": "en_cours", "evaluation": ""}
    assert (await post_form(client, f"/actions/{action.id}/modifier", form)).status_code == 303
    row = await Action.objects().where(Action.id == action.id).first()
    assert row.evaluation == "" and row.state == "en_cours"
    detail = await client.get(f"/actions/{action.id}")
    assert expected in shown(detail)  # the pilot's follow-up form proposes it too
