"""walkapp.policy: every actor kind x every verb in one table (MATRIX), asked directly and through
real HTTP requests, plus the rules that were contradicted before it: originals and the current
halte are not the committee's, a closed walk takes no constat by any route, a blank Bearer token is
anonymous (never the cookie), a participant sees only the walks they joined."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from conftest import PASSWORD, make_user, make_walk, post_form, shown, sign_in
from test_api_observations import JOLLA, fields, join, make_walk_second, media_files, photo, post_observation
from test_open311 import post_fields

from walkapp import policy
from walkapp.actions import services as actions
from walkapp.actions.forms import ActionInput
from walkapp.errors import Conflict, Forbidden, JoinRequired, SignInRequired
from walkapp.open311 import keys
from walkapp.tables import Action, ActionEvent, Observation, ObservationEvent, Participant, Walk

ROOT = Path(__file__).resolve().parent.parent

# ---------------------------------------------------------------- the table

# Columns: who acts. The objects: an open walk W; a constat C on W, by "participant", not yet
# validated; an action A piloted by the agent's partner.
ACTORS = ("anonymous", "participant", "participant_other", "api_key", "agent", "agent_other", "committee",
          "coordinator")
MATRIX = {  # verb:          anon  part  other key  agent agent2 comm coord
    "walks.list":            ".     .     .     .     Y     Y     Y    Y",
    "walk.participants":     ".     .     .     .     Y     Y     Y    Y",
    "walk.plan":             ".     .     .     .     .     .     .    Y",
    "walk.edit":             ".     .     .     .     .     .     .    Y",
    "walk.join":             "Y     Y     Y     Y     Y     Y     Y    Y",
    "walk.see":              ".     Y     .     Y     Y     Y     Y    Y",
    "walk.lead":             ".     .     .     .     Y     Y     .    Y",
    "map.see":               ".     Y     Y     .     Y     Y     Y    Y",
    "constats.all":          ".     .     .     .     Y     Y     Y    Y",
    "constat.see":           ".     Y     .     Y     Y     Y     Y    Y",
    "constat.create":        ".     Y     .     Y     Y     Y     Y    Y",
    "constat.edit":          ".     Y     .     .     .     .     .    .",
    "constat.delete":        ".     Y     .     .     .     .     .    .",
    "constat.review":        ".     .     .     .     .     .     Y    Y",
    "open311.read":          ".     .     .     Y     Y     Y     Y    Y",
    "photo.see":             ".     Y     .     Y     Y     Y     Y    Y",
    "photo.original":        ".     .     .     .     .     .     .    Y",
    "photo.unblurred":       ".     .     .     .     Y     Y     Y    Y",
    "photo.redact":          ".     .     .     .     Y     Y     Y    Y",
    "participant.erase":     ".     .     .     .     .     .     .    Y",
    "geojson.authors":       ".     .     .     .     Y     Y     Y    Y",
    "photos.zip":            ".     .     .     .     Y     Y     Y    Y",
    "photos.zip_originals":  ".     .     .     .     .     .     .    Y",
    "neighbourhood.outline": ".     .     .     .     .     .     .    Y",
    "apikeys.manage":        ".     .     .     .     .     .     .    Y",
    "account.own":           ".     .     .     .     Y     Y     Y    Y",
    "accounts.manage":       ".     .     .     .     .     .     .    Y",
    "actions.read":          ".     .     .     .     Y     Y     Y    Y",
    "actions.create":        ".     .     .     .     .     .     .    Y",
    "actions.edit":          ".     .     .     .     .     .     .    Y",
    "actions.link":          ".     .     .     .     .     .     .    Y",
    "actions.follow":        ".     .     .     .     Y     .     .    Y",
    "bilan.read":            ".     .     .     .     Y     Y     Y    Y",
    "bilan.edit":            ".     .     .     .     .     .     .    Y",
    # The TFPB programme P of the agent's partner (a landlord): its agents and coordinators write it.
    "tfpb.read":             ".     .     .     .     Y     Y     Y    Y",
    "tfpb.create":           ".     .     .     .     Y     .     .    Y",
    "tfpb.edit":             ".     .     .     .     Y     .     .    Y",
    "walk.report":           ".     .     .     .     Y     Y     Y    Y",
    "walk.report_names":     ".     .     .     .     .     .     .    Y",
    "walk.publish":          ".     .     .     .     .     .     .    Y",
}


def expected(verb: str, actor: str) -> bool:
    return MATRIX[verb].split()[ACTORS.index(actor)] == "Y"


WALK, OTHER_WALK, PARTICIPANT, OTHER_PARTICIPANT, PILOT, OTHER_PARTNER = 1, 2, 10, 20, 7, 8


def actor_objects(status: str = "open") -> tuple[dict[str, policy.Actor], dict[str, object]]:
    """The actors and objects of the table, in memory (can() asks no database)."""
    walk = Walk(_ignore_missing=True, id=WALK, status=status)
    constat = Observation(_ignore_missing=True, id=5, participant=PARTICIPANT, status="new")
    constat.walk = walk
    key = SimpleNamespace(walk=WALK)
    staff = {name: policy.Actor(user=SimpleNamespace(role=role, partner=partner)) for name, role, partner in (
        ("agent", "agent", PILOT), ("agent_other", "agent", OTHER_PARTNER), ("committee", "committee", None),
        ("coordinator", "coordinator", None))}
    actors = {"anonymous": policy.Actor(), "participant": policy.Actor(participants={WALK: PARTICIPANT}),
              "participant_other": policy.Actor(participants={OTHER_WALK: OTHER_PARTICIPANT}),
              "api_key": policy.Actor(api_key=key), **staff}  # type: ignore[arg-type]
    objects = {"walk": walk, "constat": constat, "action": {"id": 3, "pilot_id": PILOT}}
    objects["programme"] = {"id": 4, "landlord": PILOT}
    return actors, objects


def object_of(verb: str, objects: dict[str, object]) -> object:
    if verb.startswith("actions."):
        return objects["action"]
    if verb.startswith("tfpb."):
        return objects["programme"]
    if verb.startswith(("constat.", "open311.")):
        return objects["constat"]
    return objects["walk"]


def test_the_matrix_covers_every_verb_and_every_kind():
    assert set(MATRIX) == set(policy.VERBS)
    actors, _ = actor_objects()
    assert {actors[name].kind for name in ACTORS} == set(policy.KINDS)


@pytest.mark.parametrize("verb", list(MATRIX))
def test_can_answers_the_matrix(verb):
    actors, objects = actor_objects()
    answers = {name: policy.can(actors[name], verb, object_of(verb, objects)) for name in ACTORS}
    assert answers == {name: expected(verb, name) for name in ACTORS}


def test_refusals_say_the_rule_with_the_right_status():
    actors, objects = actor_objects()
    with pytest.raises(SignInRequired):
        policy.require(actors["anonymous"], "actions.read")
    with pytest.raises(Forbidden, match="réservées aux coordinateurs"):
        policy.require(actors["committee"], "photo.original", objects["walk"])
    with pytest.raises(Forbidden, match="agents et coordinateurs, qui mènent la marche"):
        policy.require(actors["committee"], "walk.lead", objects["walk"])
    # A resident is told to join the walk, not to sign in.
    with pytest.raises(SignInRequired) as stranger:
        policy.require(actors["anonymous"], "walk.see", objects["walk"])
    assert (isinstance(stranger.value, JoinRequired) and stranger.value.code == "unauthorized"
            and "Rejoignez" in stranger.value.detail)


@pytest.mark.parametrize("status, error, words", [("planned", Conflict, "pas encore commencé"),
                                                  ("closed", Forbidden, "close")])
def test_a_walk_that_is_not_open_takes_no_constat_from_anyone(status, error, words):
    actors, objects = actor_objects(status)
    for name in ACTORS:
        assert not policy.can(actors[name], "constat.create", objects["walk"]), name
        if expected("constat.create", name):  # allowed on an open walk: refused for the walk's state
            with pytest.raises(error, match=words):
                policy.require(actors[name], "constat.create", objects["walk"])
    if status == "closed":
        with pytest.raises(Forbidden, match="close"):
            policy.require(actors["participant"], "constat.edit", objects["constat"])


def test_bearer_scheme_is_read_in_one_place():
    assert policy.bearer_token(None) is None and policy.bearer_token("") is None
    assert policy.bearer_token("Basic dXNlcg==") is None and policy.bearer_token("Bearerabc") is None
    assert policy.bearer_token("Bearer") == "" and policy.bearer_token("bearer   ") == ""
    assert policy.bearer_token("Bearer \t ") == "" and policy.bearer_token("BEARER abc ") == "abc"


def test_templates_never_test_a_role():
    """Templates ask can(verb, obj); role tests and staff flags were six copies of the policy."""
    # A role shown (gusp_label('role', …)) is fine; a role tested is not.
    pattern = re.compile(r"\.role\s*(==|!=|in\b|not\b)|is_staff|can_lead")
    offenders = [f"{path.relative_to(ROOT)}:{n}" for path in sorted((ROOT / "templates").rglob("*.html"))
                 for n, line in enumerate(path.read_text().splitlines(), 1) if pattern.search(line)]
    assert offenders == []


# ---------------------------------------------------------------- the same table over HTTP

async def _scene(client) -> dict:
    """W open with two haltes, `client` joined it and posted C with a photo; a second walk; a
    coordinator; an action piloted by SIA Habitat; an Open311 key for W."""
    walk = await make_walk("open")
    other = await make_walk_second()
    await join(client, walk)
    response = await post_observation(client, walk, fields(), [photo(JOLLA)])
    assert response.status_code == 201, response.text
    body = response.json()
    coordinator = await make_user("coordinator", "chef@ville.example")
    await make_user("agent", "agent@sia.example", "SIA Habitat")
    await make_user("agent", "agent@ville.example", "Ville de Lillers")
    await make_user("committee", "comite@ville.example")
    from walkapp.tables import Partner, Stop

    sia = await Partner.objects().where(Partner.name == "SIA Habitat").first()
    action = await actions.create_action(ActionInput(axe="dechets", problem="Dépôts", pilot=sia.id), coordinator)
    _, key = await keys.create_key("Appli", walk, coordinator)
    stops = await Stop.objects().where(Stop.walk == walk.id).order_by(Stop.position)
    from walkapp.tables import TfpbProgramme

    programme = TfpbProgramme(landlord=sia.id, neighbourhood=walk.neighbourhood, year=2026)
    await programme.save()
    await Partner.update({Partner.kind: "ville"}).where(Partner.name == "Ville de Lillers")  # not a landlord
    return {"walk": walk, "other": other, "constat": body["id"], "photo": body["photos"][0], "action": action.id,
            "key": key, "stop": stops[1].id, "programme": programme.id}


async def _become(name: str, scene: dict, client, other_client):
    """The client acting as `name` (the participant is `client`, who posted C)."""
    if name == "participant":
        return client
    emails = {"agent": "agent@sia.example", "agent_other": "agent@ville.example", "committee": "comite@ville.example",
              "coordinator": "chef@ville.example"}
    if name in emails:
        response = await post_form(other_client, "/connexion", {"email": emails[name], "password": PASSWORD})
        assert response.status_code == 303
    elif name == "participant_other":
        await join(other_client, scene["other"], "Autre")
    return other_client


def http_rows(s: dict) -> list[tuple[str, str, str, dict | None]]:
    """(verb, method, path, form): one request per verb that has a route of its own."""
    w, c, a, urls = s["walk"].id, s["constat"], s["action"], s["photo"]
    review = {"issue": "dechets", "angle": "usages", "polarity": "negative", "street": "Rue Carnot",
              "lat": "50.5637", "lon": "2.4827"}
    return [
        ("walks.list", "GET", "/marches", None),
        ("walk.participants", "GET", f"/marches/{w}", None),
        ("walk.plan", "GET", "/marches/nouvelle", None),
        ("walk.edit", "GET", f"/marches/{w}/modifier", None),
        ("walk.see", "GET", f"/marches/{w}/terrain", None),
        ("walk.see", "GET", f"/api/v1/walks/{w}/observations", None),
        ("walk.lead", "POST", f"/marches/{w}/halte-en-cours", {"stop_id": str(s["stop"])}),
        ("map.see", "GET", "/carte", None),
        ("map.see", "GET", "/carte/liste", None),
        ("constat.see", "GET", f"/constats/{c}", None),
        ("constat.see", "GET", f"/carte/popup/{c}", None),
        ("constat.review", "POST", f"/constats/{c}/requalifier", review),
        ("constat.edit", "GET", f"/marches/{w}/constats/{c}/modifier", None),
        ("photo.see", "GET", urls["thumb_url"], None),
        ("photo.see", "GET", urls["display_url"], None),
        ("photo.original", "GET", urls["original_url"], None),
        ("photos.zip", "GET", f"/exports/photos.zip?walk={w}", None),
        ("photos.zip_originals", "GET", f"/exports/photos.zip?walk={w}&originals=1", None),
        ("apikeys.manage", "GET", "/open311/cles", None),
        ("account.own", "GET", "/compte", None),
        ("accounts.manage", "GET", "/comptes", None),
        ("actions.read", "GET", "/actions", None),
        ("actions.read", "GET", f"/actions/{a}", None),
        ("actions.create", "GET", "/actions/nouvelle", None),
        ("actions.edit", "GET", f"/actions/{a}/modifier", None),
        ("actions.follow", "POST", f"/actions/{a}/etat", {"state": "en_cours"}),
        ("actions.link", "POST", f"/actions/{a}/constats", {"constats": str(c)}),
        ("open311.read", "GET", f"/open311/v2/requests/{c}.json", None),
        ("constat.create", "POST", f"/api/v1/walks/{w}/observations", None),
        ("bilan.read", "GET", f"/bilan?annee=2026&quartier={s['walk'].neighbourhood}", None),
        ("bilan.read", "GET", f"/bilan.xlsx?annee=2026&quartier={s['walk'].neighbourhood}", None),
        ("bilan.edit", "POST", "/bilan/valeur", {"annee": "2026", "quartier": str(s["walk"].neighbourhood),
                                                 "indicateur": "dechets.encombrants", "value": "37"}),
        ("bilan.edit", "POST", "/bilan/appreciation", {"annee": "2026", "quartier": str(s["walk"].neighbourhood),
                                                       "enjeu": "dechets", "text": "Moins de dépôts."}),
        ("tfpb.read", "GET", "/tfpb", None),
        ("tfpb.read", "GET", f"/tfpb/{s['programme']}", None),
        ("tfpb.read", "GET", f"/tfpb/{s['programme']}.xlsx", None),
        ("tfpb.create", "GET", "/tfpb/nouveau", None),
        ("tfpb.edit", "GET", f"/tfpb/{s['programme']}/modifier", None),
        ("tfpb.edit", "POST", f"/tfpb/{s['programme']}/rubriques/3", {"m-3.1-2026-previsionnel": "10"}),
        ("walk.report", "GET", f"/marches/{w}/compte-rendu", None),
        ("walk.report", "GET", f"/marches/{w}/compte-rendu.pdf", None),
        ("walk.report_names", "GET", f"/marches/{w}/compte-rendu?noms=1", None),
        # Withdrawing always succeeds for those allowed (publishing needs a validated constat).
        ("walk.publish", "POST", f"/marches/{w}/restitution", {"action": "retirer"}),
    ]


@pytest.mark.parametrize("name", ACTORS)
async def test_http_answers_the_matrix(name, client, other_client):
    scene = await _scene(client)
    who = await _become(name, scene, client, other_client)
    outcome, wanted = {}, {}
    for n, (verb, method, path, form) in enumerate(http_rows(scene)):
        if name == "api_key" and not verb.startswith(("open311.", "constat.create")):
            continue  # a key is a credential on Open311 only; elsewhere its holder is anonymous
        before = (await Observation.count(), await ObservationEvent.count(), await ActionEvent.count(),
                  await Action.count())
        if name == "api_key" and verb == "constat.create":
            response = await who.post("/open311/v2/requests.json", data=post_fields(scene["key"]))
        elif name == "api_key":
            response = await who.get(path, params={"api_key": scene["key"]})
        elif verb == "constat.create":
            response = await post_observation(who, scene["walk"], fields())
        elif method == "GET":
            response = await who.get(path, follow_redirects=False)
        else:
            response = await post_form(who, path, form or {})
        ok = response.status_code in ((200,) if method == "GET" else (200, 201, 303))
        refused = {"open311.read": (404,)}.get(verb, (401, 403, 303))
        if not ok:
            assert response.status_code in refused, (verb, path, response.status_code, response.text[:300])
            if response.status_code == 303:
                assert response.headers["location"].startswith("/connexion"), path
            assert "Traceback" not in response.text
            assert before == (await Observation.count(), await ObservationEvent.count(), await ActionEvent.count(),
                              await Action.count()), (verb, path)  # a refusal changes nothing
        outcome[f"{verb} {n}"] = ok
        wanted[f"{verb} {n}"] = expected(verb, name)
    assert outcome == wanted


# ---------------------------------------------------------------- the rules that used to disagree

async def test_committee_neither_downloads_originals_nor_sets_the_halte(client, other_client):
    scene = await _scene(client)
    await sign_in(other_client, "committee", "membre@ville.example")
    original = await other_client.get(scene["photo"]["original_url"])
    assert original.status_code == 403 and "réservées aux coordinateurs" in shown(original)
    zipped = await other_client.get(f"/exports/photos.zip?walk={scene['walk'].id}&originals=1")
    assert zipped.status_code == 403 and "réservées aux coordinateurs" in shown(zipped)
    assert (await other_client.get(f"/exports/photos.zip?walk={scene['walk'].id}")).status_code == 200
    halte = await post_form(other_client, f"/marches/{scene['walk'].id}/halte-en-cours",
                            {"stop_id": str(scene["stop"])})
    assert halte.status_code == 403 and "qui mènent la marche" in shown(halte)
    assert (await Walk.objects().where(Walk.id == scene["walk"].id).first()).current_stop is None
    # Neither link is offered: the page says what the policy says.
    page = await other_client.get(f"/constats/{scene['constat']}")
    assert "/original" not in page.text and "Requalifier" in page.text
    field = await other_client.get(f"/marches/{scene['walk'].id}/terrain")
    assert field.status_code == 200 and "Nous sommes ici" not in field.text
    walk_page = await other_client.get(f"/marches/{scene['walk'].id}")
    assert "Télécharger les photos (zip)" in walk_page.text and "originals=1" not in walk_page.text


async def test_closed_walk_takes_no_constat_by_any_route(client, other_client, test_env):
    scene = await _scene(client)
    walk = scene["walk"]
    await sign_in(other_client, "coordinator", "coord2@ville.example")
    assert (await post_form(other_client, f"/marches/{walk.id}/statut", {"status": "closed"})).status_code == 303
    media = Path(test_env["WALKAPP_MEDIA_DIR"])
    before = (await Observation.count(), await Participant.count(), media_files(media))

    by_participant = await post_observation(client, walk, fields(), [photo(JOLLA)])
    assert by_participant.status_code == 403 and "close" in by_participant.json()["detail"]
    by_staff = await post_observation(other_client, walk, fields())
    assert by_staff.status_code == 403 and by_staff.json()["error"] == "forbidden"
    by_key = await other_client.post("/open311/v2/requests.json", data=post_fields(scene["key"]))
    assert by_key.status_code == 403 and "close" in by_key.json()[0]["description"]
    assert (await Observation.count(), await Participant.count(), media_files(media)) == before  # nothing written
    # The field page offers no "Nouveau constat" and no edits.
    field = await client.get(f"/marches/{walk.id}/terrain")
    assert "Cette marche est close" in shown(field) and 'id="new-constat"' not in field.text
    edit = await client.get(f"/marches/{walk.id}/constats/{scene['constat']}/modifier")
    assert edit.status_code == 403


async def test_planned_walk_is_409_by_the_api_and_open311(client, other_client):
    walk = await make_walk("planned")
    await join(client, walk)
    coordinator = await make_user("coordinator", "chef@ville.example")
    _, key = await keys.create_key("Appli", walk, coordinator)
    response = await post_observation(client, walk, fields())
    assert response.status_code == 409 and response.json()["error"] == "walk_not_open"
    by_key = await other_client.post("/open311/v2/requests.json", data=post_fields(key))
    assert by_key.status_code == 409 and "pas encore commencé" in by_key.json()[0]["description"]
    assert await Observation.count() == 0


@pytest.mark.parametrize("header", ["Bearer", "Bearer   ", "bearer \t ", "Bearer " + "x" * 300])
async def test_a_blank_or_unknown_bearer_token_is_anonymous_never_the_cookie(header, client):
    walk = await make_walk("open")
    await join(client, walk)
    await sign_in(client, "coordinator")  # the cookie holds a coordinator and a joined walk
    assert (await client.get("/actions")).status_code == 200
    auth = {"Authorization": header}
    page = await client.get("/actions", headers=auth, follow_redirects=False)
    # A program (it sent a token): a JSON 401, not the sign-in page (web.error_shape).
    assert page.status_code == 401 and page.json()["error"] == "unauthorized"
    # No CSRF token (Bearer requests skip it), so the cookie must not count either.
    created = await client.post("/marches/", data={"title": "Pirate"}, headers=auth, follow_redirects=False)
    assert created.status_code == 401 and await Walk.count() == 1
    posted = await post_observation(client, walk, fields(), headers=auth)
    assert posted.status_code == 401 and posted.json()["error"] == "unauthorized"
    assert (await client.get(f"/api/v1/walks/{walk.id}/observations", headers=auth)).status_code == 401
    assert await Observation.count() == 0


async def test_another_authorization_scheme_keeps_the_cookie_and_its_csrf_check(client):
    await sign_in(client, "coordinator")
    basic = {"Authorization": "Basic dXNlcjpwYXNz"}
    assert (await client.get("/actions", headers=basic)).status_code == 200
    forged = await client.post("/marches/", data={"title": "x"}, headers=basic, follow_redirects=False)
    assert forged.status_code == 403 and await Walk.count() == 0  # CSRF refused it


async def test_a_participant_sees_only_the_walks_they_joined(client, other_client):
    scene = await _scene(client)  # `client` joined W and posted C
    other = scene["other"]
    await join(other_client, other, "Autre")
    theirs = (await post_observation(other_client, other, fields(), [photo(JOLLA)])).json()
    for path in (f"/marches/{other.id}/terrain", f"/api/v1/walks/{other.id}/observations",
                 f"/constats/{theirs['id']}", f"/carte/popup/{theirs['id']}", theirs["photos"][0]["display_url"]):
        response = await client.get(path, follow_redirects=False)
        assert response.status_code == 403, path
    geo = (await client.get(f"/api/v1/observations.geojson?walk={other.id}")).json()
    assert {f["properties"]["id"] for f in geo["features"]} == {scene["constat"]}
    page = await client.get(f"/carte?walk={other.id}")
    assert page.status_code == 200 and f'value="{other.id}"' not in page.text
    assert (await client.get(f"/open311/v2/requests/{theirs['id']}.json")).status_code == 404
    # The same participant by Bearer token (and no cookie counts): the token's walk only.
    token = (await Participant.objects().where(Participant.walk == scene["walk"].id).first()).token
    bearer = {"Authorization": f"Bearer {token}"}
    mine = await other_client.get(f"/api/v1/walks/{scene['walk'].id}/observations", headers=bearer)
    assert mine.status_code == 200
    assert (await other_client.get(f"/api/v1/walks/{other.id}/observations", headers=bearer)).status_code == 403


async def test_an_agent_leads_the_walk(client, other_client):
    scene = await _scene(client)
    await sign_in(other_client, "agent", "agent2@ville.example")
    response = await post_form(other_client, f"/marches/{scene['walk'].id}/halte-en-cours",
                               {"stop_id": str(scene["stop"])}, htmx=True)
    assert response.status_code == 200 and "Nous sommes ici" in response.text
    assert (await Walk.objects().where(Walk.id == scene["walk"].id).first()).current_stop == scene["stop"]
    # Agents read and follow up, they don't review: the committee and coordinators do.
    review = await post_form(other_client, f"/constats/{scene['constat']}/statut", {"status": "validated"})
    assert review.status_code == 403 and "membres du comité" in shown(review)



# ---------------------------------------------------------------- follow-up walks (issue 12)

def test_a_follow_up_walks_participant_sees_the_followed_walks_photos_and_nothing_more():
    """One more column of the table: a participant of walk OTHER_WALK, a follow-up of WALK. They
    read what "participant_other" reads, plus the photos of WALK (their "À revoir" list)."""
    actors, objects = actor_objects()
    follower = policy.Actor(participants={OTHER_WALK: OTHER_PARTICIPANT}, followed=frozenset({WALK}))
    for verb in MATRIX:
        answer = policy.can(follower, verb, object_of(verb, objects))
        assert answer == (verb == "photo.see" or expected(verb, "participant_other")), verb
    assert not policy.can(follower, "constat.see", objects["constat"])  # not the earlier constats' pages
    assert not policy.can(follower, "photo.original", objects["walk"])
