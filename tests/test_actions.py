"""The tableau de suivi des actions (Annexe 2): who may do what (a matrix), history, lateness,
"Reportée" needs its cause, money as Decimal, and the XLSX/CSV exports read back."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from conftest import PASSWORD, make_user, make_walk, post_form, shown
from test_api_observations import join
from test_review import XSS, seed

from walkapp import gusp
from walkapp import policy
from walkapp.actions import exports, queries, services
from walkapp.actions.forms import ActionInput, format_euros, parse_euros
from walkapp.tables import Action, ActionEvent, ActionObservation

HYPERLINK = '=HYPERLINK("http://x")'
ANNEXE2 = ["Axes d'intervention", "Problème à traiter", "Constat", "Actions", "Réponse gestion",
           "Réponse usage (prévention, sanction)", "Réponse conception / aménagement", "État d'avancement", "Coût",
           "Causes retard ou report", "Évaluation de l'action / Évolution", "Commentaire"]


async def login(client, user) -> None:
    response = await post_form(client, "/connexion", {"email": user.email, "password": PASSWORD})
    assert response.status_code in (200, 303), response.text


async def partner_id(name: str) -> int:
    from walkapp.tables import Partner

    row = await Partner.objects().where(Partner.name == name).first()
    if row is None:
        row = Partner(name=name, kind="bailleur")
        await row.save()
    return row.id


async def new_action(user, **values) -> Action:
    data = ActionInput(**{"axe": "dechets", "problem": "Dépôts sauvages", **values})
    return await services.create_action(data, user)


@pytest.fixture
async def scene(client):
    """A walk with two constats posted by a resident (`client` stays joined), a coordinator, and one
    action piloted by SIA Habitat answering the first constat."""
    walk = await make_walk("open")
    await join(client, walk)
    first, second = await seed(client, walk, [("dechets", "usages", "negative"), ("dechets", "gestion", "negative")])
    coordinator = await make_user("coordinator", "chef@ville.example")
    sia, ville = await partner_id("SIA Habitat"), await partner_id("Ville de Lillers")
    action = await new_action(coordinator, pilot=sia, other_partners=[ville], constats=[first],
                              deadline=dt.date(2026, 12, 31), neighbourhood=walk.neighbourhood)
    return {"walk": walk, "constats": (first, second), "coordinator": coordinator, "action": action,
            "sia": sia, "ville": ville}


# ---------------------------------------------------------------- the permission matrix

ROLES = ["anonymous", "participant", "committee", "agent_pilot", "agent_other", "agent_no_partner", "coordinator"]
READERS = {"committee", "agent_pilot", "agent_other", "agent_no_partner", "coordinator"}
FOLLOWERS = {"agent_pilot", "coordinator"}
ONLY_COORDINATOR = {"coordinator"}


def operations(s) -> list[tuple[str, str, str, dict | None, set[str]]]:
    """(name, method, path, form, roles allowed)."""
    a, (c1, c2) = s["action"].id, s["constats"]
    full = {"axe": "proprete", "problem": "Nouveau problème", "state": "en_cours", "cost": "10", "pilot": str(s["sia"])}
    return [
        ("table", "GET", "/actions", None, READERS),
        ("page", "GET", f"/actions/{a}", None, READERS),
        ("bilan", "GET", "/actions/bilan", None, READERS),
        ("xlsx", "GET", "/actions/export.xlsx", None, READERS),
        ("csv", "GET", "/actions/export.csv", None, READERS),
        ("print", "GET", "/actions/imprimer", None, READERS),
        ("new form", "GET", f"/actions/nouvelle?constats={c1}", None, ONLY_COORDINATOR),
        ("create", "POST", "/actions", {"axe": "dechets", "problem": "Autre", "state": "a_engager"}, ONLY_COORDINATOR),
        ("edit form", "GET", f"/actions/{a}/modifier", None, ONLY_COORDINATOR),
        ("edit", "POST", f"/actions/{a}/modifier", full, ONLY_COORDINATOR),
        ("follow-up", "POST", f"/actions/{a}/suivi", {"state": "en_cours", "cost": "1 234,50", "comment": "Vu"},
         FOLLOWERS),
        ("inline state", "POST", f"/actions/{a}/etat", {"state": "realisee"}, FOLLOWERS),
        ("link", "POST", f"/actions/{a}/constats", {"constats": str(c2)}, ONLY_COORDINATOR),
        ("link from constat", "POST", "/actions/lier", {"action": str(a), "constats": str(c2), "back": "constat"},
         ONLY_COORDINATOR),
        ("unlink", "POST", f"/actions/{a}/constats/{c1}/retirer", None, ONLY_COORDINATOR),
    ]


@pytest.mark.parametrize("role", ROLES)
async def test_permission_matrix(role, scene, client, other_client):
    if role == "participant":
        who = client  # joined the walk and posted its constats; no staff session
    else:
        who = other_client
        if role == "coordinator":
            await login(who, scene["coordinator"])
        elif role != "anonymous":
            base, _, partner = role.partition("_")
            partner_name = {"pilot": "SIA Habitat", "other": "Ville de Lillers"}.get(partner)
            await login(who, await make_user(base, f"{role}@ville.example", partner_name))

    outcome, expected = {}, {}
    for name, method, path, form, allowed in operations(scene):
        events_before = await ActionEvent.count()
        actions_before = await Action.count()
        if method == "GET":
            response = await who.get(path, follow_redirects=False)
        else:
            response = await post_form(who, path, form or {})
        ok = response.status_code == 200 if method == "GET" else response.status_code == 303
        if not ok:
            assert response.status_code in (303, 401, 403), (name, response.status_code, response.text[:300])
            if response.status_code == 303:
                assert response.headers["location"].startswith("/connexion"), name
            else:
                assert "<html" in response.text and "Traceback" not in response.text
            # Refused: nothing changed.
            assert await ActionEvent.count() == events_before and await Action.count() == actions_before, name
        outcome[name] = ok
        expected[name] = role in allowed
    assert outcome == expected


async def test_participant_is_told_no_and_a_stranger_is_sent_to_sign_in(scene, client, other_client):
    assert (await client.get("/actions")).status_code == 403
    assert "réservé aux agents" in shown(await client.get("/actions"))
    stranger = await other_client.get("/actions", follow_redirects=False)
    assert stranger.status_code == 303 and stranger.headers["location"].startswith("/connexion")


def test_can_is_one_function_for_every_role():
    class User:
        def __init__(self, role, partner=None):
            self.role, self.partner = role, partner

    verbs = ("actions.read", "actions.create", "actions.edit", "actions.follow", "actions.link")
    action = {"pilot_id": 7}
    table = {(role, verb): policy.can(policy.Actor(user=user), verb, action) for role, user in (
        ("none", None), ("committee", User("committee")), ("agent7", User("agent", 7)), ("agent8", User("agent", 8)),
        ("coordinator", User("coordinator"))) for verb in verbs}
    assert [v for v in verbs if table[("coordinator", v)]] == list(verbs)
    assert [v for v in verbs if table[("agent7", v)]] == ["actions.read", "actions.follow"]
    assert [v for v in verbs if table[("agent8", v)]] == ["actions.read"]
    assert [v for v in verbs if table[("committee", v)]] == ["actions.read"]
    assert not any(table[("none", v)] for v in verbs)


async def test_an_agent_changes_only_the_follow_up_fields(scene, other_client):
    agent = await make_user("agent", "agent@sia.example", "SIA Habitat")
    await login(other_client, agent)
    a = scene["action"].id
    response = await post_form(other_client, f"/actions/{a}/suivi", {
        "state": "en_cours", "cost": "1 234,50", "evaluation": "Moins de dépôts", "comment": "Passage hebdo",
        "problem": "Piraté", "axe": "ambiance", "pilot": str(scene["ville"])})
    assert response.status_code == 303
    saved = await Action.objects().where(Action.id == a).first()
    assert (saved.problem, saved.axe, saved.pilot) == ("Dépôts sauvages", "dechets", scene["sia"])
    assert (saved.state, saved.cost, saved.evaluation, saved.comment) == (
        "en_cours", Decimal("1234.50"), "Moins de dépôts", "Passage hebdo")
    page = await other_client.get(f"/actions/{a}")
    assert "Mettre à jour le suivi" in shown(page) and "Modifier l'action" not in shown(page)
    # The table offers the agent the state select of this row only.
    table = await other_client.get("/actions")
    assert f'id="state-{a}"' in table.text


# ---------------------------------------------------------------- creating, history, validation

async def test_create_from_constats_prefills_then_history_records_every_change(client, other_client):
    walk = await make_walk("open")
    await join(client, walk)
    c1, c2, c3 = await seed(client, walk, [("dechets", "usages", "negative"), ("proprete", "gestion", "negative"),
                                           ("dechets", "gestion", "negative")], description="Sacs éventrés rue Carnot")
    coordinator = await make_user("coordinator", "chef@ville.example")
    await login(other_client, coordinator)
    sia = await partner_id("SIA Habitat")

    form = await other_client.get(f"/actions/nouvelle?constats={c1},{c2},{c3}")
    assert form.status_code == 200
    assert '<option value="dechets" selected>' in form.text  # the most common issue
    assert f"Constat n° {c1} (Rue Carnot) : Sacs éventrés rue Carnot" in shown(form)
    assert f'name="constats" value="{c1},{c2},{c3}"' in form.text

    created = await post_form(other_client, "/actions", {
        "constats": f"{c1},{c3}", "axe": "dechets", "problem": "Dépôts sauvages", "finding": "Sacs éventrés",
        "actions": "Enlèvement et sensibilisation", "response_gestion": "1", "response_usage": "1", "pilot": str(sia),
        "deadline": "31/12/2026", "state": "a_engager", "cost": "1 234,50", "tfpb_heading": "4",
        "neighbourhood": str(walk.neighbourhood)})
    assert created.status_code == 303, created.text
    action = await Action.objects().first()
    assert created.headers["location"] == f"/actions/{action.id}"
    assert (action.cost, action.deadline, action.response_gestion, action.response_conception) == (
        Decimal("1234.50"), dt.date(2026, 12, 31), True, False)
    assert sorted(r["observation"] for r in await ActionObservation.select(ActionObservation.observation)) == [c1, c3]

    await post_form(other_client, f"/actions/{action.id}/suivi", {
        "state": "en_cours", "cost": "1500", "evaluation": "", "comment": "Relance faite", "delay_causes": ""})
    events = await ActionEvent.objects().where(ActionEvent.action == action.id).order_by(ActionEvent.id)
    assert [e.field for e in events] == ["created", "constat", "constat", "comment", "cost", "state"]
    assert all(e.user == coordinator.id and e.at is not None for e in events)
    state = next(e for e in events if e.field == "state")
    cost = next(e for e in events if e.field == "cost")
    assert (state.before, state.after, cost.before, cost.after) == ("a_engager", "en_cours", "1234.50", "1500.00")

    await post_form(other_client, f"/actions/{action.id}/constats/{c1}/retirer", {})
    await post_form(other_client, f"/actions/{action.id}/constats", {"constats": str(c2)})
    page = shown(await other_client.get(f"/actions/{action.id}"))
    assert "État d'avancement : À engager → En cours" in page
    assert "Coût : 1 234,50 € → 1 500,00 €" in page.replace("\u202f", " ").replace("\u00a0", " ")
    assert f"Constat n° {c1} retiré" in page and f"Constat n° {c2} lié" in page
    assert "Création de l'action" in page and "Coordinator" in page  # who made each change

    # The constat page lists its actions with their state, and offers to make another.
    constat = await other_client.get(f"/constats/{c3}")
    assert f'href="/actions/{action.id}"' in constat.text and "En cours" in shown(constat)
    assert f'href="/actions/nouvelle?constats={c3}"' in constat.text


async def test_reported_without_a_cause_is_refused_and_nothing_is_saved(scene, other_client):
    await login(other_client, scene["coordinator"])
    a = scene["action"].id
    events = await ActionEvent.count()
    refused = await post_form(other_client, f"/actions/{a}/suivi", {"state": "reportee", "delay_causes": " ",
                                                                     "cost": "99"})
    assert refused.status_code == 422
    assert "Causes retard ou report : indiquez pourquoi l'action est reportée" in shown(refused)
    inline = await post_form(other_client, f"/actions/{a}/etat", {"state": "reportee"}, htmx=True)
    assert inline.status_code == 422 and "indiquez pourquoi" in shown(inline) and "<html" not in inline.text
    new = await post_form(other_client, "/actions", {"axe": "dechets", "problem": "X", "state": "reportee"})
    assert new.status_code == 422 and "indiquez pourquoi" in shown(new)
    saved = await Action.objects().where(Action.id == a).first()
    assert (saved.state, saved.cost) == ("a_engager", None)
    assert await ActionEvent.count() == events and await Action.count() == 1

    accepted = await post_form(other_client, f"/actions/{a}/suivi",
                               {"state": "reportee", "delay_causes": "Marché infructueux"})
    assert accepted.status_code == 303
    # Once the cause is known, the row's select may report it again.
    assert (await post_form(other_client, f"/actions/{a}/etat", {"state": "en_cours"}, htmx=True)).status_code == 200
    assert (await post_form(other_client, f"/actions/{a}/etat", {"state": "reportee"}, htmx=True)).status_code == 200


@pytest.mark.parametrize("typed, amount", [("1 234,50", "1234.50"), ("1234.5", "1234.50"),
                                           ("1\u202f234,5 €", "1234.50"),
                                           ("1.234,50", "1234.50"), ("0", "0.00"), ("", None)])
def test_euros_are_read_the_french_way_and_never_as_floats(typed, amount):
    errors: dict[str, str] = {}
    value = parse_euros(errors, "cost", typed)
    assert errors == {} and value == (Decimal(amount) if amount else None)
    assert value is None or isinstance(value, Decimal)


@pytest.mark.parametrize("typed", ["abc", "12,345", "-5", "1e3", "99999999999"])
def test_bad_amounts_get_a_french_message(typed):
    errors: dict[str, str] = {}
    assert parse_euros(errors, "cost", typed) is None and errors["cost"].startswith("Coût : ")


async def test_bad_input_is_a_french_4xx_and_stores_nothing(scene, other_client):
    await login(other_client, scene["coordinator"])
    a = scene["action"].id
    bad = await post_form(other_client, "/actions", {"axe": "bruit", "problem": "", "cost": "douze", "pilot": "999",
                                                     "deadline": "31/02/2026", "state": "fini", "tfpb_heading": "9"})
    assert bad.status_code == 422
    text = shown(bad)
    for message in ("Axes d'intervention : choisissez", "Problème à traiter : ce champ est obligatoire",
                    "Coût : saisissez un montant", "Pilote : choisissez", "Échéance : saisissez une date",
                    "État d'avancement : choisissez", "Ligne du programme TFPB : choisissez"):
        assert message in text, message
    assert 'value="douze"' in bad.text  # the form keeps what was typed
    unknown = await post_form(other_client, "/actions", {"axe": "dechets", "problem": "X", "constats": "999999",
                                                         "state": "a_engager"})
    assert unknown.status_code == 400 and "Constat inconnu" in shown(unknown)
    assert await Action.count() == 1
    assert (await post_form(other_client, f"/actions/{a}/constats", {"constats": "abc"})).status_code == 400
    assert (await other_client.get("/actions/999999")).status_code == 404
    assert (await post_form(other_client, f"/actions/{a}/constats/999999/retirer", {})).status_code == 404
    filtered = await other_client.get("/actions?state=fini&year=abc&partner=x")
    assert filtered.status_code == 200 and "ignoré" in shown(filtered)
    assert (await other_client.get("/actions/export.csv?year=abc")).status_code == 400


async def test_user_text_is_escaped_in_the_table_the_page_and_the_form(scene, other_client):
    coordinator = scene["coordinator"]
    action = await new_action(coordinator, problem=XSS, comment=XSS)
    await login(other_client, coordinator)
    for path in ("/actions", f"/actions/{action.id}", f"/actions/{action.id}/modifier", "/actions/imprimer",
                 f"/constats/{scene['constats'][0]}"):
        page = await other_client.get(path)
        assert page.status_code == 200, path
        assert "<script>alert" not in page.text and "<img src=x" not in page.text, path


# ---------------------------------------------------------------- the table: lateness, groups, filters

def test_late_means_past_deadline_and_not_done():
    today = dt.date(2026, 11, 25)
    yesterday = today - dt.timedelta(days=1)
    assert queries.is_late(yesterday, "en_cours", today) and queries.is_late(yesterday, "a_engager", today)
    assert queries.is_late(yesterday, "reportee", today)
    assert not queries.is_late(yesterday, "realisee", today) and not queries.is_late(yesterday, "abandonnee", today)
    assert not queries.is_late(today, "en_cours", today) and not queries.is_late(None, "en_cours", today)


async def test_table_groups_by_axe_marks_late_actions_and_filters(scene, other_client):
    coordinator = scene["coordinator"]
    yesterday = dt.date.today() - dt.timedelta(days=1)
    late = await new_action(coordinator, axe="ambiance", problem="Éclairage en panne", deadline=yesterday,
                            state="en_cours")
    done = await new_action(coordinator, axe="ambiance", problem="Banc réparé", deadline=yesterday, state="realisee",
                            pilot=scene["ville"])
    await login(other_client, await make_user("committee", "comite@ville.example"))

    page = await other_client.get("/actions")
    text = shown(page)
    bands = [t.label for t in gusp.ISSUES]
    # One axe per band: singular (the form's label keeps the convention's plural heading).
    positions = [text.index(f"Axe d'intervention : {label}") for label in bands]
    assert positions == sorted(positions)  # the seven axes, in the convention's order
    assert "Axes d'intervention :" not in text
    assert f'<tr id="action-{late.id}" class="late">' in page.text
    assert f'<tr id="action-{done.id}" class="">' in page.text
    assert "dont 1 en retard" in text
    assert 'id="state-' not in page.text  # a committee member reads, never edits

    only_late = await other_client.get("/actions?late=1", headers={"hx-request": "true"})
    assert f"action-{late.id}" in only_late.text and f"action-{done.id}" not in only_late.text
    assert only_late.headers["hx-push-url"] == "/actions?late=1" and "<html" not in only_late.text
    by_partner = shown(await other_client.get(f"/actions?partner={scene['ville']}"))
    assert "Banc réparé" in by_partner and "Dépôts sauvages" in by_partner and "Éclairage" not in by_partner
    by_walk = shown(await other_client.get(f"/actions?walk={scene['walk'].id}"))
    assert "Dépôts sauvages" in by_walk and "Banc réparé" not in by_walk
    by_state = shown(await other_client.get("/actions?state=realisee"))
    assert "Banc réparé" in by_state and "Dépôts sauvages" not in by_state
    hood = scene["walk"].neighbourhood
    assert "Dépôts sauvages" in shown(await other_client.get(f"/actions?year=2026&neighbourhood={hood}"))
    assert "Dépôts sauvages" not in shown(await other_client.get("/actions?year=2030"))


async def test_bilan_counts_costs_and_coverage(scene, other_client):
    coordinator = scene["coordinator"]
    await Action.update({Action.cost: Decimal("100.10"), Action.tfpb_heading: "4"}).where(
        Action.id == scene["action"].id)
    await new_action(coordinator, axe="ambiance", state="realisee", cost=Decimal("50.00"), pilot=scene["ville"])
    await new_action(coordinator, axe="ambiance", cost=Decimal("0.40"))
    summary = await queries.summary(queries.ActionFilter())
    assert summary["counts"]["ambiance"]["realisee"] == 1 and summary["counts"]["ambiance"]["a_engager"] == 1
    assert summary["counts"]["dechets"]["a_engager"] == 1 and summary["total"] == 3
    assert summary["total_cost"] == Decimal("150.50")
    assert {p["name"]: p["cost"] for p in summary["by_pilot"]} == {
        "SIA Habitat": Decimal("100.10"), "Ville de Lillers": Decimal("50.00"), "": Decimal("0.40")}
    tfpb = {h["code"]: h["cost"] for h in summary["by_tfpb"]}
    assert tfpb["4"] == Decimal("100.10") and tfpb[""] == Decimal("50.40") and tfpb["1"] == Decimal("0.00")
    assert summary["coverage"]["all"] == {"with_action": 1, "total": 2, "percent": 50}

    await login(other_client, await make_user("committee", "comite@ville.example"))
    page = shown(await other_client.get("/actions/bilan"))
    assert "50 % des constats retenus ont une action (1 sur 2)" in page
    assert "4. Gestion des déchets et encombrants / épaves 1 100,10 €" in (
        page.replace("\u202f", " ").replace("\u00a0", " "))


# ---------------------------------------------------------------- exports

async def export_scene(scene):
    coordinator = scene["coordinator"]
    await Action.update({Action.cost: Decimal("1234.50"), Action.comment: HYPERLINK,
                         Action.response_gestion: True}).where(Action.id == scene["action"].id)
    await new_action(coordinator, axe="proprete", problem="+33 tags", finding="@mur", actions="-nettoyage",
                     cost=Decimal("10.25"), deadline=dt.date(2026, 3, 1), response_conception=True,
                     comment="Propreté: éèàçù", neighbourhood=scene["walk"].neighbourhood)
    await new_action(coordinator, axe="proprete", problem="Trottoir", cost=None,
                     neighbourhood=scene["walk"].neighbourhood)


async def test_xlsx_is_laid_out_like_annexe_2(scene, other_client):
    await export_scene(scene)
    await login(other_client, await make_user("committee", "comite@ville.example"))
    response = await other_client.get(f"/actions/export.xlsx?neighbourhood={scene['walk'].neighbourhood}&year=2026")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml")
    assert "attachment" in response.headers["content-disposition"]
    sheet = load_workbook(io.BytesIO(response.content)).active
    title = sheet["A1"].value
    assert "Ville Centre (QP062057)" in title and "année 2026" in title

    header = [cell.value for cell in sheet[4]]
    assert header[0] == "N°" and header[1:len(ANNEXE2) + 1] == ANNEXE2
    assert header == exports.columns()
    assert sheet.freeze_panes == "C5" and sheet.auto_filter.ref.startswith("A4:")
    cost_col = header.index("Coût") + 1

    rows = list(sheet.iter_rows(min_row=5, values_only=False))
    bands = [(r[0].value, r[cost_col - 1].value) for r in rows if isinstance(r[0].value, str)
             and r[0].value != "Total"]
    labels = [t.label for t in gusp.ISSUES]
    assert [b[0].rsplit(" (", 1)[0] for b in bands] == labels
    assert [b[0] for b in bands][3] == "Gestion de tous les types de déchets (1 action)"
    assert [b[0] for b in bands][1] == "Propreté, entretien (2 actions)"
    band_costs = {b[0].rsplit(" (", 1)[0]: b[1] for b in bands}
    assert band_costs["Propreté, entretien"] == 10.25 and band_costs["Gestion de tous les types de déchets"] == 1234.5
    total = next(r for r in rows if r[0].value == "Total")
    assert total[cost_col - 1].value == 1244.75
    assert "€" in total[cost_col - 1].number_format

    data = {r[2].value: r for r in rows if r[2].value and r[1].value in labels}
    deposit = data["Dépôts sauvages"]
    assert deposit[0].value == scene["action"].id and deposit[0].data_type == "n"  # the action's number
    assert deposit[header.index("Réponse gestion")].value == "Oui"
    assert deposit[header.index("Réponse conception / aménagement")].value is None
    assert deposit[cost_col - 1].value == 1234.5 and "€" in deposit[cost_col - 1].number_format
    assert deposit[header.index("Échéance")].value.date() == dt.date(2026, 12, 31)
    # Formula injection: shown exactly as typed (no apostrophe, no quote prefix), never a formula.
    comment = deposit[header.index("Commentaire")]
    assert comment.value == HYPERLINK and comment.data_type == "s" and not comment.quotePrefix
    tags = data["+33 tags"]
    assert tags[2].data_type == "s" and tags[3].value == "@mur" and tags[4].value == "-nettoyage"
    assert all(c.data_type == "s" and not c.quotePrefix for c in tags[2:5])
    assert not any(c.data_type == "f" for row in sheet.iter_rows() for c in row)

    # The flat sheet: one row per action (axes in order), no merged cells, filterable.
    flat = load_workbook(io.BytesIO(response.content))["Actions (tableau)"]
    assert not flat.merged_cells.ranges and flat.freeze_panes == "A2"
    assert [c.value for c in flat[1]] == header
    assert flat.auto_filter.ref == f"A1:{flat.cell(1, len(header)).column_letter}4"
    flat_rows = [[c.value for c in r] for r in flat.iter_rows(min_row=2)]
    assert len(flat_rows) == 3 and [r[1] for r in flat_rows] == ["Propreté, entretien"] * 2 + [labels[3]]
    assert {r[2] for r in flat_rows} == {"+33 tags", "Trottoir", "Dépôts sauvages"}
    assert HYPERLINK in [r[header.index("Commentaire")] for r in flat_rows]
    assert not any(c.data_type == "f" for row in flat.iter_rows() for c in row)


async def test_xlsx_band_text_reads_on_its_axe_colour(scene, other_client):
    """Each axe band keeps its colour and writes on it in black or white at 4.5:1 at least (white on
    Propreté's #009E73 was 3.42:1)."""
    from walkapp.colours import AA_NORMAL_TEXT, contrast

    await export_scene(scene)
    await login(other_client, scene["coordinator"])
    response = await other_client.get("/actions/export.xlsx")
    sheet = load_workbook(io.BytesIO(response.content)).active
    fills = {t.colour.lstrip("#").upper(): t for t in gusp.ISSUES}
    bands = [row[0] for row in sheet.iter_rows(min_row=5)
             if row[0].fill.fgColor.rgb and row[0].fill.fgColor.rgb[-6:] in fills]
    assert [c.value.rsplit(" (", 1)[0] for c in bands] == [t.label for t in gusp.ISSUES]
    for cell in bands:
        fill, ink = cell.fill.fgColor.rgb[-6:], cell.font.color.rgb[-6:]
        assert contrast("#" + fill, "#" + ink) >= AA_NORMAL_TEXT, (cell.value, fill, ink)
        assert "#" + ink == fills[fill].on_colour

async def test_csv_opens_with_semicolons_and_keeps_accents(scene, other_client):
    await export_scene(scene)
    await login(other_client, scene["coordinator"])
    response = await other_client.get("/actions/export.csv")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][1:len(ANNEXE2) + 1] == ANNEXE2 and rows[0] == exports.columns() and rows[0][0] == "N°"
    header = rows[0]
    by_problem = {r[2]: dict(zip(header, r, strict=False)) for r in rows[1:]}
    assert len(rows) == 4  # one line per action, no band lines
    assert [r[1] for r in rows[1:]] == ["Propreté, entretien", "Propreté, entretien",
                                        "Gestion de tous les types de déchets"]
    deposit = by_problem["Dépôts sauvages"]
    assert deposit["Coût"] == "1234,50" and deposit["Échéance"] == "31/12/2026" and deposit["Réponse gestion"] == "Oui"
    assert deposit["Commentaire"] == "'" + HYPERLINK
    assert deposit["Pilote"] == "SIA Habitat" and deposit["Autres partenaires"] == "Ville de Lillers"
    tags = by_problem["'+33 tags"]
    assert tags["Constat"] == "'@mur" and tags["Actions"] == "'-nettoyage" and tags["Commentaire"] == "Propreté: éèàçù"
    assert tags["Échéance"] == "01/03/2026" and tags["Coût"] == "10,25"


def test_neutralise_covers_every_formula_start():
    for text in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"):
        assert exports.neutralise(text) == "'" + text
    assert exports.neutralise("Rue d'Aire") == "Rue d'Aire" and exports.neutralise(12) == 12
    assert format_euros(Decimal("1234.5")) == "1\u202f234,50\u00a0€"


async def test_print_page_and_navigation(scene, other_client):
    await login(other_client, scene["coordinator"])
    page = await other_client.get("/actions/imprimer?year=2026")
    assert page.status_code == 200 and "Tableau de suivi des actions engagées" in shown(page)
    assert "année 2026" in shown(page)
    assert '<a href="/actions">Actions</a>' in (await other_client.get("/marches")).text


async def test_map_popup_offers_selection_to_coordinators_only(scene, other_client, client):
    c1 = scene["constats"][0]
    assert "Sélectionner" not in (await client.get(f"/carte/popup/{c1}")).text  # the resident
    assert "Actions" not in shown(await client.get(f"/constats/{c1}")).split("Historique")[-1]
    await login(other_client, await make_user("committee", "comite@ville.example"))
    assert "Sélectionner" not in (await other_client.get(f"/carte/popup/{c1}")).text
    committee_page = await other_client.get(f"/constats/{c1}")
    assert ("Créer une action" not in shown(committee_page)
            and f'href="/actions/{scene["action"].id}"' in committee_page.text)
    await post_form(other_client, "/deconnexion", {})
    await login(other_client, scene["coordinator"])
    popup = await other_client.get(f"/carte/popup/{c1}")
    assert f'data-constat="{c1}"' in popup.text and "Sélectionner" in popup.text
    assert 'id="selection-tray"' in (await other_client.get("/carte")).text


async def test_coordinator_edit_records_each_field_in_words(scene, other_client):
    await login(other_client, scene["coordinator"])
    a = scene["action"].id
    form = await other_client.get(f"/actions/{a}/modifier")
    assert 'value="31/12/2026"' in form.text  # the échéance shown dd/mm/yyyy
    response = await post_form(other_client, f"/actions/{a}/modifier", {
        "axe": "proprete", "problem": "Dépôts sauvages", "pilot": str(scene["ville"]),
        "other_partners": [str(scene["sia"])], "deadline": "15/01/2027", "state": "a_engager",
        "response_conception": "1", "tfpb_heading": "3", "neighbourhood": str(scene["walk"].neighbourhood)})
    assert response.status_code == 303, response.text
    events = {e.field: (e.before, e.after) for e in await ActionEvent.objects().where(
        (ActionEvent.action == a) & (ActionEvent.field.not_in(["created", "constat"])))}
    assert events == {"axe": ("dechets", "proprete"), "pilot": ("SIA Habitat", "Ville de Lillers"),
                      "other_partners": ("Ville de Lillers", "SIA Habitat"), "deadline": ("2026-12-31", "2027-01-15"),
                      "response_conception": ("0", "1"), "tfpb_heading": ("", "3")}
    page = shown(await other_client.get(f"/actions/{a}"))
    assert "Axes d'intervention : Gestion de tous les types de déchets → Propreté, entretien" in page
    assert "Échéance : 31/12/2026 → 15/01/2027" in page and "Pilote : SIA Habitat → Ville de Lillers" in page
    assert "Réponse conception / aménagement : Non → Oui" in page
    # Saving the same values again writes no history.
    before = await ActionEvent.count()
    await post_form(other_client, f"/actions/{a}/suivi", {"state": "a_engager"})
    assert await ActionEvent.count() == before


async def test_huge_or_unknown_ids_are_404_not_500(scene, other_client):
    await login(other_client, scene["coordinator"])
    a = scene["action"].id
    for path in ("/actions/99999999999", "/actions/99999999999/modifier"):
        assert (await other_client.get(path)).status_code == 404, path
    assert (await post_form(other_client, f"/actions/{a}/constats/99999999999/retirer", {})).status_code == 404
    assert (await post_form(other_client, "/actions/99999999999/etat", {"state": "en_cours"})).status_code == 404
    assert (await post_form(other_client, "/actions/lier", {"action": "abc", "constats": "1"})).status_code == 400
