"""`walkapp demo`: the Lillers case, idempotent, ending with url/login/join."""

import datetime as dt
import re
import subprocess
import sys
from pathlib import Path

from test_ops import query

from walkapp import clock, gusp
from walkapp.demo import COORDINATOR_EMAIL, DEMO_PASSWORD
from walkapp.tables import (ALL_TABLES, Neighbourhood, Observation, Participant, Partner, Photo, StaffUser, Street,
                            Walk)


def run_demo(test_env, cwd):
    result = subprocess.run([sys.executable, "-m", "walkapp", "demo"], cwd=cwd, env=test_env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stdout


async def counts():
    return {t._meta.tablename: await t.count() for t in ALL_TABLES}


async def participant_tokens() -> dict[tuple[int, str], str]:
    return {(row["walk"], row["display_name"]): row["token"] for row in await Participant.select(
        Participant.walk, Participant.display_name, Participant.token)}


async def test_demo_loads_lillers_and_twice_duplicates_nothing(test_env, work_dir, client):
    out = run_demo(test_env, work_dir)
    lines = out.strip().splitlines()[-3:]
    assert lines[0] == "url: http://127.0.0.1:8000"
    login = re.fullmatch(r"login: (\S+@\S+) (\S+)", lines[1])
    join = re.fullmatch(r"join: http://127\.0\.0\.1:8000/j/(\S+)", lines[2])
    assert login and join, lines
    first = await counts()
    tokens = await participant_tokens()
    run_demo(test_env, work_dir)
    assert await counts() == first
    assert await participant_tokens() == tokens  # made once, kept: sessions survive a re-run

    hood = await Neighbourhood.objects().where(Neighbourhood.qpv_code == "QP062057").first()
    assert hood.name == "Ville Centre" and hood.town == "Lillers"
    assert await Street.count() == 43
    assert {"Ville de Lillers", "SIA Habitat", "Pas-de-Calais Habitat", "Maisons et Cités"} <= {
        p["name"] for p in await Partner.select(Partner.name)}
    coordinator = await StaffUser.objects().where(StaffUser.email == login.group(1)).first()
    assert coordinator.role == "coordinator"

    walks = await Walk.objects().order_by(Walk.date)
    assert [w.status for w in walks] == ["closed", "closed", "open"]
    past, follow_up, today = walks
    assert follow_up.follows == past.id and past.date < follow_up.date < today.date
    assert today.join_secret == join.group(1)
    observations = await Observation.objects().where(Observation.walk == past.id)
    assert len(observations) >= 20
    assert {o.issue for o in observations} == set(gusp.codes("issue"))
    assert {o.angle for o in observations} == set(gusp.codes("angle"))
    assert {o.polarity for o in observations} == {"negative", "positive"}
    assert all(o.lat and o.lon and abs(o.lat - 50.5636) < 0.01 for o in observations)
    assert await Participant.count() >= 4

    # Every observation has its photo, on disk, made by the photo pipeline.
    media = Path(test_env["WALKAPP_MEDIA_DIR"])
    photos = await Photo.objects()
    revisits = await Observation.objects().where(Observation.walk == follow_up.id)
    assert {p.observation for p in photos} == {o.id for o in observations + revisits}
    for photo in photos:
        for relative in (photo.original_path, photo.display_path, photo.thumb_path):
            assert (media / relative).is_file(), relative
        assert photo.width == 1200 and photo.height == 900

    # The printed login and join work.
    sign_in = await client.post("/connexion", data={"email": login.group(1), "password": login.group(2)},
                                headers={"x-csrftoken": (await client.get("/connexion")).cookies.get("walkapp_csrf")
                                         or client.cookies["walkapp_csrf"]}, follow_redirects=False)
    assert sign_in.status_code == 303
    assert (await client.get(f"/j/{join.group(1)}")).status_code == 200


async def test_demo_secrets_differ_per_site_and_every_start_prints_the_links(test_env, work_dir, tmp_path,
                                                                            fresh_database):
    """Participant tokens and join secrets are random per site (never computable from the source);
    `demo --if-empty` on a site holding the demo prints its three lines again, today's walk open."""
    run_demo(test_env, work_dir)
    ours = await participant_tokens()
    other_site = {**test_env, "WALKAPP_DATABASE_URL": fresh_database, "WALKAPP_MEDIA_DIR": str(tmp_path / "m")}
    run_demo(other_site, tmp_path)
    other_tokens = {token for (token,) in await query(fresh_database, "SELECT token FROM participant")} | {
        secret for (secret,) in await query(fresh_database, "SELECT join_secret FROM walk")}
    assert len(ours) == 9 and len(other_tokens) == 12  # 6 + 3 participants, and 3 walks
    ours_all = set(ours.values()) | {w.join_secret for w in await Walk.objects()}
    assert not ours_all & other_tokens

    today = await Walk.objects().where(Walk.status == "open").first()
    await Walk.update({Walk.date: today.date - dt.timedelta(days=3), Walk.status: "closed"}).where(
        Walk.id == today.id)
    again = subprocess.run([sys.executable, "-m", "walkapp", "demo", "--if-empty", "--host", "0.0.0.0",
                            "--port", "8080"], cwd=work_dir, env=test_env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip().splitlines() == [
        "url: http://127.0.0.1:8080", f"login: {COORDINATOR_EMAIL} {DEMO_PASSWORD}",
        f"join: http://127.0.0.1:8080/j/{today.join_secret}"]
    reopened = await Walk.objects().where(Walk.id == today.id).first()
    assert reopened.status == "open" and reopened.date == clock.today()
    assert await participant_tokens() == ours


async def test_demo_shows_the_evaluation_actions_and_a_follow_up_walk(test_env, work_dir, client):
    """Issue 12: the past walk's actions in several states (pilots among the partners, costs, one
    late, one done), and a closed follow-up walk with re-visits of every outcome, with photos."""
    from collections import Counter

    from walkapp.actions.queries import action_rows
    from walkapp.demo import ACTIONS, FOLLOW_UP_TITLE, REVISITS
    from walkapp.revisits.services import before_after, evaluation_proposal, revisit_summary
    from walkapp.tables import Action, ActionObservation

    run_demo(test_env, work_dir)
    first = await counts()
    run_demo(test_env, work_dir)
    assert await counts() == first  # idempotent, the new content too

    rows = await action_rows()
    assert len(rows) == len(ACTIONS) == 6
    assert Counter(r["state"] for r in rows) == {"en_cours": 3, "realisee": 1, "a_engager": 1, "reportee": 1}
    assert sum(1 for r in rows if r["late"]) == 1
    late = next(r for r in rows if r["late"])
    assert late["state"] == "en_cours" and late["deadline"] < clock.today()
    partners = {p["name"] for p in await Partner.select(Partner.name)}
    assert all(r["pilot_name"] in partners for r in rows) and len({r["pilot_name"] for r in rows}) >= 4
    assert sum(1 for r in rows if r["cost"] is not None) == 4
    for row in rows:
        assert await ActionObservation.count().where(ActionObservation.action == row["id"]), row

    follow_up = await Walk.objects().where(Walk.title == FOLLOW_UP_TITLE).first()
    past = await Walk.objects().where(Walk.id == follow_up.follows).first()
    assert follow_up.status == "closed" and past.date < follow_up.date < clock.today()
    revisits = await Observation.objects().where(Observation.walk == follow_up.id)
    assert len(revisits) == len(REVISITS)
    assert Counter(o.outcome for o in revisits) == {"resolu": 3, "ameliore": 2, "inchange": 2, "degrade": 2}
    assert all(o.revisit_of and o.status == "validated" for o in revisits)
    assert {p.observation for p in await Photo.objects().where(Photo.observation.is_in([o.id for o in revisits]))} == {
        o.id for o in revisits}
    pairs = await before_after([o.revisit_of for o in revisits])
    assert all(len(pairs[o.revisit_of]) == 1 and pairs[o.revisit_of][0].after.photo_id for o in revisits)
    summary = await revisit_summary(follow_up.id)
    assert summary.totals == {"resolu": 3, "ameliore": 2, "inchange": 2, "degrade": 2}

    # The done action's evaluation is the confirmed proposal; the others wait for a person.
    done = await Action.objects().where(Action.state == "realisee").first()
    assert done.evaluation == await evaluation_proposal(done.id) and "Résolu" in done.evaluation
    others = await Action.objects().where(Action.state != "realisee")
    assert all(a.evaluation == "" for a in others)
    proposals = [await evaluation_proposal(a.id) for a in others]
    assert sum(1 for p in proposals if p) == 4  # 13, 15, 21, 5 re-visited; 9 (reportée) not

    # The pages show it.
    sign_in = await client.post("/connexion", data={"email": COORDINATOR_EMAIL, "password": DEMO_PASSWORD},
                                headers={"x-csrftoken": (await client.get("/connexion")).cookies.get("walkapp_csrf")
                                         or client.cookies["walkapp_csrf"]}, follow_redirects=False)
    assert sign_in.status_code == 303
    page = await client.get(f"/constats/{revisits[0].revisit_of}")
    assert "Avant / Après" in page.text
    assert "Évolution des constats revus" in (await client.get(f"/marches/{follow_up.id}")).text
    geo = (await client.get("/api/v1/observations.geojson?revu=degrade")).json()
    assert len(geo["features"]) == 2

    # The report and the restitution of the past walk show the pairs; the follow-up walk's report
    # sums the outcomes per enjeu; the restitution is published and its "après" photos load for anyone.
    report = await client.get(f"/marches/{past.id}/compte-rendu")
    assert report.status_code == 200 and report.text.count('class="ba-pair"') == len(REVISITS)
    assert "Évolution des constats revus" in (await client.get(f"/marches/{follow_up.id}/compte-rendu")).text
    past = await Walk.objects().where(Walk.id == past.id).first()
    assert past.restitution_secret and past.restitution_published_at
    await client.post("/deconnexion", headers={"x-csrftoken": client.cookies["walkapp_csrf"]})
    public = await client.get(f"/restitution/{past.restitution_secret}")
    assert public.status_code == 200 and "Avant / Après" in public.text
    after = [p for p in re.findall(r'src="([^"]+)"', public.text) if "/photos/" in p]
    assert after and [(await client.get(src)).status_code for src in after] == [200] * len(after)
