"""The year's bilan (/bilan): computed indicators on known constats and actions (every figure),
entered indicators and their history, the year-over-year change, the SVG chart, bad input, and the
XLSX read back with openpyxl and converted by LibreOffice."""

from __future__ import annotations

import datetime as dt
import io
import re
import shutil
import uuid
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from conftest import make_user, post_form, shown, sign_in
import printing

from walkapp.actions.forms import ActionInput
from walkapp.actions.services import create_action, update_action
from walkapp.bilan import queries, services
from walkapp.tables import (Action, ActionEvent, BilanEvent, IndicatorValue, LocalIndicator, Neighbourhood,
                            Observation, Walk)

YEAR, PREVIOUS = 2026, 2025


async def _hood(code: str, name: str) -> Neighbourhood:
    hood = Neighbourhood(qpv_code=code, name=name, town="Lillers")
    await hood.save()
    return hood


async def _walk(hood: Neighbourhood, day: dt.date) -> Walk:
    walk = Walk(neighbourhood=hood.id, title=f"Marche du {day}", date=day, status="closed",
                join_secret=uuid.uuid4().hex)
    await walk.save()
    return walk


async def _constats(walk: Walk, rows: list[tuple[str, str, str]]) -> list[int]:
    ids = []
    for issue, polarity, status in rows:
        row = Observation(walk=walk.id, client_uuid=uuid.uuid4().hex, issue=issue, angle="usages",
                          polarity=polarity, status=status)
        await row.save()
        ids.append(row.id)
    return ids


async def _action(user, hood, *, created: dt.datetime, done_after: int | None = None, **values) -> Action:
    """An action created at `created`; with `done_after`, made « Réalisée » that many days later
    through update_action (its history row), dated as said."""
    state = values.pop("state", "a_engager")
    action = await create_action(ActionInput(**{"axe": "dechets", "problem": "Dépôts", "neighbourhood": hood.id,
                                                "state": state, **values}), user)
    await Action.update({Action.created_at: created}).where(Action.id == action.id)
    if done_after is not None:
        await update_action(action, user, {"state": "realisee"})
        await ActionEvent.update({ActionEvent.at: created + dt.timedelta(days=done_after)}).where(
            (ActionEvent.action == action.id) & (ActionEvent.field == "state"))
    return action


@pytest.fixture
async def known():
    """Ville Centre: constats and actions of 2026 and 2025 with known counts and dates; another
    neighbourhood whose figures must not leak in."""
    hood, other = await _hood("QP062057", "Ville Centre"), await _hood("QP062999", "Autre quartier")
    coordinator = await make_user("coordinator", "chef@ville.example")
    walk, last, elsewhere = (await _walk(hood, dt.date(YEAR, 5, 10)), await _walk(hood, dt.date(PREVIOUS, 6, 1)),
                             await _walk(other, dt.date(YEAR, 5, 10)))
    await _constats(walk, [("dechets", "negative", "new"), ("dechets", "negative", "validated"),
                           ("dechets", "negative", "new"), ("dechets", "positive", "validated"),
                           ("dechets", "negative", "rejected"), ("dechets", "negative", "duplicate"),
                           ("proprete", "negative", "new"), ("proprete", "negative", "new")])
    await _constats(last, [("dechets", "negative", "validated")])
    await _constats(elsewhere, [("dechets", "negative", "new")] * 5)
    start = dt.datetime(YEAR, 3, 1, 10, 0, tzinfo=dt.UTC)
    await _action(coordinator, hood, created=start, done_after=10, deadline=dt.date(YEAR, 6, 30))
    await _action(coordinator, hood, created=start, state="en_cours", cost=Decimal("100.50"),
                  deadline=dt.date(YEAR, 2, 1))  # late: échéance passed, still en cours
    await _action(coordinator, hood, created=start, state="abandonnee", deadline=dt.date(YEAR, 9, 1))
    await _action(coordinator, hood, created=start, cost=Decimal("20.00"), deadline=dt.date(YEAR, 12, 31))
    await _action(coordinator, hood, created=start, done_after=30, deadline=dt.date(YEAR, 10, 1))
    await _action(coordinator, hood, created=dt.datetime(PREVIOUS, 3, 1, tzinfo=dt.UTC), state="realisee",
                  cost=Decimal("50.00"), deadline=dt.date(PREVIOUS, 6, 30))  # entered done: no delay known
    await _action(coordinator, other, created=start, state="realisee", cost=Decimal("999.00"),
                  deadline=dt.date(YEAR, 6, 30))
    return {"hood": hood, "other": other, "coordinator": coordinator}


def _scope(hood, year=YEAR) -> queries.Scope:
    return queries.Scope(year, hood, [hood])


def _rows(data, issue):
    enjeu = next(e for e in data["enjeux"] if e["term"].code == issue)
    return {r["key"]: r for r in enjeu["rows"]}, enjeu


async def test_computed_indicators_on_known_data(known):
    figures = await queries.computed(known["hood"].id, YEAR)
    assert figures["values"]["dechets"] == {
        "constats": 4, "faibles": 3, "forts": 1, "actions": 5, "engagees": 3, "realisees": 2, "en_retard": 1,
        "abandonnees": 1, "cout": Decimal("120.50"), "delai_median": Decimal("20"), "revisites_ameliores": 0}
    assert figures["values"]["proprete"]["constats"] == 2 and figures["values"]["proprete"]["faibles"] == 2
    assert figures["values"]["proprete"]["actions"] == 0 and figures["values"]["proprete"]["delai_median"] is None
    assert figures["states"]["dechets"] == {"a_engager": 1, "en_cours": 1, "realisee": 2, "reportee": 0,
                                            "abandonnee": 1}
    before = await queries.computed(known["hood"].id, PREVIOUS)
    assert before["values"]["dechets"]["constats"] == 1 and before["values"]["dechets"]["actions"] == 1
    assert before["values"]["dechets"]["realisees"] == 1 and before["values"]["dechets"]["cout"] == Decimal("50.00")
    assert before["values"]["dechets"]["delai_median"] is None  # entered already réalisée: no delay
    other = await queries.computed(known["other"].id, YEAR)
    assert other["values"]["dechets"]["constats"] == 5 and other["values"]["dechets"]["cout"] == Decimal("999.00")


async def test_revisits_count_as_improved_not_as_new_constats(known):
    """A follow-up walk of the year re-visits last year's constats: those found « Résolu » or
    « Amélioré » (and kept by the review) make the indicator; no re-visit counts as a constat."""
    last = await Walk.objects().where((Walk.neighbourhood == known["hood"].id)
                                      & (Walk.date == dt.date(PREVIOUS, 6, 1))).first()
    target = (await Observation.objects().where(Observation.walk == last.id).first()).id
    follow_up = await _walk(known["hood"], dt.date(YEAR, 11, 2))
    await Walk.update({Walk.follows: last.id}).where(Walk.id == follow_up.id)
    for outcome, status in (("resolu", "validated"), ("ameliore", "new"), ("inchange", "validated"),
                            ("degrade", "new"), ("ameliore", "rejected")):
        await Observation(walk=follow_up.id, client_uuid=uuid.uuid4().hex, issue="dechets", angle="usages",
                          polarity="negative", status=status, revisit_of=target, outcome=outcome).save()
    figures = await queries.computed(known["hood"].id, YEAR)
    assert figures["values"]["dechets"]["revisites_ameliores"] == 2  # not the rejected one
    assert figures["values"]["dechets"]["constats"] == 4  # as before the re-visits
    assert figures["values"]["proprete"]["revisites_ameliores"] == 0


async def test_year_over_year_figures_and_change(known):
    data = await queries.bilan(_scope(known["hood"]))
    rows, enjeu = _rows(data, "dechets")
    assert rows["constats"]["last"]["value"] == 1 and rows["constats"]["this"]["value"] == 4
    assert rows["constats"]["change"]["absolute"] == 3 and rows["constats"]["change"]["percent"] == Decimal("300.0")
    assert rows["constats"]["change"]["text"] == "+3" and rows["constats"]["change"]["percent_text"] == "+300,0\u00a0%"
    cost = rows["cout"]
    assert cost["this"]["text"] == "120,50\u00a0€" and cost["change"]["text"] == "+70,50\u00a0€"
    assert cost["change"]["percent"] == Decimal("141.0")
    # From zero: a difference, no percentage; with no figure a year: not comparable.
    assert rows["abandonnees"]["change"]["text"] == "+1" and rows["abandonnees"]["change"]["percent_text"] == "—"
    assert rows["delai_median"]["change"]["text"] == "—" and rows["delai_median"]["this"]["text"] == "20"
    assert [o for o in enjeu["objectives"]][0].startswith("Maintenir des espaces publics de qualité")
    assert rows["dechets.encombrants"]["this"]["value"] is None  # nothing entered yet
    assert [a["id"] for a in enjeu["actions"]] and len(enjeu["actions"]) == 5
    totals = {r["key"]: r for r in data["totals"]}
    assert totals["constats"]["this"]["value"] == 6 and totals["constats"]["last"]["value"] == 1
    assert totals["cout"]["this"]["value"] == Decimal("120.50")


async def test_the_chart_says_every_figure(known):
    data = await queries.bilan(_scope(known["hood"]))
    _, enjeu = _rows(data, "dechets")
    svg = str(enjeu["chart_svg"])
    assert svg.startswith("<svg") and 'role="img"' in svg
    assert 'aria-labelledby="chart-dechets-title chart-dechets-desc"' in svg
    desc = re.search(r"<desc[^>]*>(.*?)</desc>", svg).group(1)
    assert "Point faible : 3 en 2026, 1 en 2025" in desc and "Point fort : 1 en 2026, 0 en 2025" in desc
    assert "Actions « Réalisée » : 2 en 2026, 1 en 2025" in desc
    assert "Actions « Abandonnée » : 1 en 2026, 0 en 2025" in desc
    # Bars in the GUSP colours: the year's solid, the year before hatched; their widths follow the counts.
    assert 'class="this"' in svg and 'fill="#B00020"' in svg and 'fill="#1B7F3B"' in svg
    widths = [float(w) for w in re.findall(r'class="this" x="\d+" y="\d+" width="([\d.]+)"', svg)]
    assert widths[0] == max(widths) and widths[0] > 0
    assert widths[1] == pytest.approx(widths[0] / 3, abs=0.1)  # 3 faibles, 1 fort
    from xml.etree import ElementTree

    ElementTree.fromstring(svg)  # well-formed XML


async def test_entered_indicators_keep_their_history(known):
    hood, user = known["hood"], known["coordinator"]
    scope = _scope(hood)
    indicator, _ = await services.indicator_of(scope, "dechets.encombrants")
    first = services.parse_value_form({"value": "37", "unit": "rendez-vous", "source": "CABBALR",
                                       "measured_on": "15/01/2026"}, indicator, YEAR)
    assert first.errors == {} and first.value == Decimal("37.00") and first.measured_on == dt.date(2026, 1, 15)
    assert await services.save_value(scope, "dechets.encombrants", first, user) == 4
    again = services.parse_value_form({"value": "1 234,5", "unit": "rendez-vous", "source": "CABBALR",
                                       "measured_on": "2026-01-15"}, indicator, YEAR)
    assert await services.save_value(scope, "dechets.encombrants", again, user) == 1  # only the value changed
    assert await services.save_value(scope, "dechets.encombrants", again, user) == 0
    assert await IndicatorValue.count() == 1
    events = await BilanEvent.select(BilanEvent.field, BilanEvent.before, BilanEvent.after, BilanEvent.user).order_by(
        BilanEvent.id)
    assert [(e["field"], e["before"], e["after"]) for e in events] == [
        ("value", "", "37.00"), ("unit", "", "rendez-vous"), ("source", "", "CABBALR"),
        ("measured_on", "", "2026-01-15"), ("value", "37.00", "1234.50")]
    assert {e["user"] for e in events} == {user.id}
    history = await queries.history(hood.id, YEAR)
    assert history[0]["subject_label"] == "Nombre de rendez-vous Encombrants"
    assert history[0]["field_label"] == "Valeur" and history[0]["before"] == "37"
    assert history[0]["after"] == "1\u202f234,5"
    # The year before, and the change; English notation reads the same.
    last = services.parse_value_form({"value": "1,000.50", "unit": "Rendez-vous"}, indicator, PREVIOUS)
    assert last.value == Decimal("1000.50")
    await services.save_value(_scope(hood, PREVIOUS), "dechets.encombrants", last, user)
    rows, _ = _rows(await queries.bilan(scope), "dechets")
    row = rows["dechets.encombrants"]
    assert row["last"]["value"] == Decimal("1000.50") and row["this"]["value"] == Decimal("1234.50")
    assert row["change"]["absolute"] == Decimal("234.00") and row["change"]["percent"] == Decimal("23.4")
    assert row["last"]["source"] == ""  # shown "source non renseignée"


async def test_units_that_differ_are_not_compared(known):
    hood, user = known["hood"], known["coordinator"]
    indicator, _ = await services.indicator_of(_scope(hood), "ambiance.tadao")
    for year, value, unit in ((PREVIOUS, "12", "signalements"), (YEAR, "15", "plaintes")):
        await services.save_value(_scope(hood, year), "ambiance.tadao",
                                  services.parse_value_form({"value": value, "unit": unit}, indicator, year), user)
    rows, _ = _rows(await queries.bilan(_scope(hood)), "ambiance")
    assert rows["ambiance.tadao"]["change"]["text"] == "—"
    assert rows["ambiance.tadao"]["change"]["reason"] == "unités différentes"


@pytest.mark.parametrize("code, raw, message", [
    ("dechets.encombrants", "-3", "positif ou nul"),
    ("dechets.encombrants", "beaucoup", "saisissez un nombre"),
    ("dechets.encombrants", "1e9", "saisissez un nombre"),
    ("dechets.encombrants", "12,345", "deux chiffres après la virgule"),
    ("dechets.encombrants", "99999999999999", "trop grand"),
])
async def test_bad_values_are_refused_in_french(known, code, raw, message):
    indicator, _ = await services.indicator_of(_scope(known["hood"]), code)
    data = services.parse_value_form({"value": raw}, indicator, YEAR)
    assert message in data.errors["value"]
    with pytest.raises(services.Invalid):
        await services.save_value(_scope(known["hood"]), code, data, known["coordinator"])
    assert await IndicatorValue.count() == 0 and await BilanEvent.count() == 0


async def test_a_signed_indicator_takes_a_negative_value(known):
    indicator, _ = await services.indicator_of(_scope(known["hood"]), "services.frequentation")
    assert services.parse_value_form({"value": "-12,5"}, indicator, YEAR).value == Decimal("-12.50")


# ---------------------------------------------------------------- over HTTP

async def test_the_page_shows_the_bilan(known, client):
    await sign_in(client, "committee", "comite@ville.example")
    hood = known["hood"]
    page = await client.get(f"/bilan?annee={YEAR}&quartier={hood.id}")
    assert page.status_code == 200
    text = shown(page).replace("\u202f", " ").replace("\u00a0", " ")
    assert f"Bilan {YEAR} de la GUSP — Ville Centre" in text
    assert "Gestion de tous les types de déchets" in text and "Nombre de rendez-vous Encombrants" in text
    assert "Intervenir sur la régulation des espaces publics" in text  # an objective
    dechets = text[text.find("4. Gestion de tous les types de déchets"):]
    assert ("Constats relevés Constats des marches de l'année, ni rejetés ni doublons. "
            "1 constats 4 constats +3 +300,0 %") in dechets
    assert "Coût des actions 50,00 € 120,50 € +70,50 € +141,0 %" in dechets
    assert "Délai médian de réalisation" in dechets and "— 20 jours — (pas de valeur à comparer)" in dechets
    assert "Actions de l'année (5)" in dechets
    assert text.count("non renseigné") >= 16  # the entered indicators, both years, nothing entered
    assert 'role="img"' in page.text and "Saisir" not in text  # the committee reads; no edit control
    assert "Pas encore d'appréciation du comité." in text
    # The only neighbourhood is not the default when there are two: the page asks.
    default = shown(await client.get("/bilan"))
    assert "Choisissez le quartier du bilan." in default


async def test_defaults_to_this_year_and_the_only_neighbourhood(client):
    hood = await _hood("QP062057", "Ville Centre")
    await sign_in(client, "agent", "agent@ville.example")
    from walkapp import clock

    page = shown(await client.get("/bilan"))
    assert f"Bilan {clock.today().year} de la GUSP — {hood.name}" in page


async def test_a_year_with_no_data_is_an_empty_well_formed_bilan(known, client):
    await sign_in(client, "coordinator", "coord2@ville.example")
    page = await client.get(f"/bilan?annee=2010&quartier={known['hood'].id}")
    assert page.status_code == 200
    text = shown(page)
    assert "Bilan 2010 de la GUSP" in text and "Aucune action cette année pour cet enjeu." in text
    assert text.count("ni rejetés ni doublons. 0 constats 0 constats 0 —") == 7  # no percentage from zero
    assert "Coût des actions 0,00 € 0,00 € 0,00 € — calculé" in text
    xlsx = await client.get(f"/bilan.xlsx?annee=2010&quartier={known['hood'].id}")
    assert xlsx.status_code == 200
    book = load_workbook(io.BytesIO(xlsx.content))
    assert book["Indicateurs"].max_row == 1 + 7 * 11 + 17 and book["Actions 2010"].max_row == 1  # header only


@pytest.mark.parametrize("query, status, words", [
    ("annee=abc", 400, "Année : saisissez une année entre 2000"),
    ("annee=1899", 400, "Année"),
    ("annee=99999999999999999999999", 400, "Année"),
    ("annee=2026&quartier=abc", 400, "Quartier"),
    ("annee=2026&quartier=-1", 400, "Quartier"),
    ("annee=2026&quartier=999999", 404, "Ce quartier n'existe pas"),
    ("annee=2026&quartier=99999999999", 400, "Quartier"),
])
async def test_bad_year_or_neighbourhood_is_a_french_4xx(known, client, query, status, words):
    await sign_in(client, "committee", "comite@ville.example")
    for path in ("/bilan", "/bilan.xlsx"):
        response = await client.get(f"{path}?{query}")
        assert response.status_code == status, (path, response.text[:300])
        assert words in shown(response) and "Traceback" not in response.text


async def test_inline_editing_by_htmx_and_by_plain_forms(known, client, other_client):
    hood = known["hood"]
    await sign_in(client, "coordinator", "coord2@ville.example")
    base = {"annee": str(YEAR), "quartier": str(hood.id), "indicateur": "dechets.encombrants"}
    form = await client.get(f"/bilan/valeur?annee={YEAR}&quartier={hood.id}&indicateur=dechets.encombrants",
                            headers={"hx-request": "true"})
    assert form.status_code == 200 and 'name="value"' in form.text and "<html" not in form.text
    refused = await post_form(client, "/bilan/valeur", {**base, "value": "-5"}, htmx=True)
    assert refused.status_code == 422 and "positif ou nul" in shown(refused) and 'value="-5"' in refused.text
    saved = await post_form(client, "/bilan/valeur", {**base, "value": "37", "source": "CABBALR"}, htmx=True)
    assert saved.status_code == 200 and saved.headers["hx-trigger"] == "bilan-saved"
    text = shown(saved)
    assert "37" in text and "Source : CABBALR" in text and "(unité non renseignée)" in text
    history = await client.get(f"/bilan/historique?annee={YEAR}&quartier={hood.id}", headers={"hx-request": "true"})
    assert "Nombre de rendez-vous Encombrants — Valeur : — → 37" in shown(history)
    # Without htmx: a 303 back to the row on the page.
    plain = await post_form(client, "/bilan/valeur", {**base, "value": "38"})
    assert plain.status_code == 303 and plain.headers["location"].endswith("#ind-dechets-encombrants")
    # A computed indicator, an unknown one or another neighbourhood's own: not entered here.
    for code in ("constats", "dechets.inconnu", "local.999"):
        response = await post_form(client, "/bilan/valeur", {**base, "indicateur": code, "value": "1"})
        assert response.status_code == 404, code
    # The assessment, with its history.
    note = {"annee": str(YEAR), "quartier": str(hood.id), "enjeu": "dechets", "text": "Les dépôts reculent."}
    assert (await post_form(client, "/bilan/appreciation", note, htmx=True)).status_code == 200
    note["text"] = "Les dépôts reculent nettement."
    assert (await post_form(client, "/bilan/appreciation", note)).status_code == 303
    page = shown(await client.get(f"/bilan?annee={YEAR}&quartier={hood.id}"))
    assert "Les dépôts reculent nettement." in page
    assert ("Appréciation du comité : Déchets — Appréciation du comité : Les dépôts reculent. → "
            "Les dépôts reculent nettement.") in page
    # A neighbourhood's own indicator, then its value.
    created = await post_form(client, "/bilan/indicateurs", {"annee": str(YEAR), "quartier": str(hood.id),
                                                            "enjeu": "proprete", "name": "Nombre de tags effacés"})
    assert created.status_code == 303
    local = await LocalIndicator.objects().first()
    code = f"local.{local.id}"
    saved = await post_form(client, "/bilan/valeur", {**base, "indicateur": code, "value": "12", "unit": "tags"})
    assert saved.status_code == 303
    rows, _ = _rows(await queries.bilan(_scope(hood)), "proprete")
    assert rows[code]["label"] == "Nombre de tags effacés" and rows[code]["this"]["value"] == Decimal("12.00")
    again = await post_form(client, "/bilan/indicateurs", {"annee": str(YEAR), "quartier": str(hood.id),
                                                          "enjeu": "proprete", "name": "nombre de tags effacés"})
    assert again.status_code == 409 and await LocalIndicator.count() == 1
    # Another neighbourhood's bilan does not take this one's local indicator.
    other = {**base, "quartier": str(known["other"].id), "indicateur": code, "value": "1"}
    assert (await post_form(client, "/bilan/valeur", other)).status_code == 404


async def test_only_coordinators_edit(known, client):
    hood = known["hood"]
    await sign_in(client, "committee", "comite@ville.example")
    base = {"annee": str(YEAR), "quartier": str(hood.id), "indicateur": "dechets.encombrants", "value": "3"}
    assert (await post_form(client, "/bilan/valeur", base)).status_code == 403
    note = {"annee": str(YEAR), "quartier": str(hood.id), "enjeu": "dechets", "text": "x"}
    assert (await post_form(client, "/bilan/appreciation", note)).status_code == 403
    form = await client.get(f"/bilan/valeur?annee={YEAR}&quartier={hood.id}&indicateur=dechets.encombrants",
                            headers={"hx-request": "true"})
    assert form.status_code == 403
    assert await IndicatorValue.count() == 0 and await BilanEvent.count() == 0


# ---------------------------------------------------------------- the XLSX

async def _filled(known):
    hood, user = known["hood"], known["coordinator"]
    indicator, _ = await services.indicator_of(_scope(hood), "dechets.encombrants")
    for year, value in ((PREVIOUS, "30"), (YEAR, "37")):
        data = services.parse_value_form({"value": value, "unit": "rendez-vous", "source": "CABBALR",
                                          "measured_on": f"{year}-12-01"}, indicator, year)
        await services.save_value(_scope(hood, year), "dechets.encombrants", data, user)
    await services.save_assessment(_scope(hood), "dechets", "=HYPERLINK(\"http://x\") moins de dépôts", user)


async def test_the_xlsx_reads_back(known, client):
    await _filled(known)
    await sign_in(client, "committee", "comite@ville.example")
    response = await client.get(f"/bilan.xlsx?annee={YEAR}&quartier={known['hood'].id}")
    assert response.status_code == 200
    assert response.headers["content-disposition"] == f'attachment; filename="bilan-{YEAR}-QP062057.xlsx"'
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["Indicateurs", "Appréciations", f"Actions {YEAR}"]
    sheet = book["Indicateurs"]
    assert [c.value for c in sheet[1]][:7] == ["Enjeu", "Indicateur", "Type", f"Valeur {PREVIOUS}", f"Valeur {YEAR}",
                                               "Évolution", "Évolution (%)"]
    rows = {(r[0], r[1]): r for r in sheet.iter_rows(min_row=2, values_only=True)}
    constats = rows[("Gestion de tous les types de déchets", "Constats relevés")]
    assert constats[2:7] == ("Calculé", 1, 4, 3, 3.0) and isinstance(constats[4], int)
    cost = rows[("Gestion de tous les types de déchets", "Coût des actions")]
    assert cost[3:6] == (50, 120.5, 70.5) and cost[7] == "€"
    encombrants = rows[("Gestion de tous les types de déchets", "Nombre de rendez-vous Encombrants")]
    assert encombrants[2:10] == ("Saisi", 30, 37, 7, pytest.approx(7 / 30, abs=0.001), "rendez-vous", "CABBALR",
                                 dt.datetime(YEAR, 12, 1))
    tadao = rows[("Ambiance urbaine (tranquillité, sécurité)", "Nombre de signalements et/ou plaintes de Tadao")]
    assert tadao[3:9] == (None, None, None, None, "unité non renseignée", None)
    cells = {c.coordinate: c for row in sheet.iter_rows(min_row=2) for c in row}
    pct = next(c for c in cells.values() if c.column == 7 and c.value is not None)
    assert "%" in pct.number_format
    notes = book["Appréciations"]
    dechets = next(r for r in notes.iter_rows(min_row=2) if r[0].value == "Gestion de tous les types de déchets")
    assert dechets[2].value.startswith("=HYPERLINK") and dechets[2].data_type == "s"  # text, never a formula
    # How it prints: walkapp.spreadsheets' rules, on every sheet.
    for ws in book.worksheets:
        setup = ws.page_setup
        assert (setup.orientation, setup.paperSize, setup.fitToWidth, setup.fitToHeight) == ("landscape", 9, 1, 0)
        assert ws.sheet_properties.pageSetUpPr.fitToPage is True and ws.print_title_rows == "$1:$1"
        assert ws.freeze_panes == "A2" and ws.auto_filter.ref.startswith("A1:")
        assert not ws.merged_cells.ranges
        assert all(ws.row_dimensions[r].height for r in range(1, ws.max_row + 1))  # heights from the text
    long_note = notes.row_dimensions[dechets[0].row].height
    assert long_note > 15  # the objectives wrap over several lines
    actions = book[f"Actions {YEAR}"]
    assert actions.max_row == 1 + 5
    first = [c.value for c in actions[2]]
    assert isinstance(first[0], int) and first[4] in ("À engager", "En cours", "Réalisée", "Abandonnée")


@pytest.mark.skipif(shutil.which("libreoffice") is None and shutil.which("soffice") is None,
                    reason="LibreOffice is installed by .ci/run")
async def test_the_xlsx_prints_through_libreoffice(known, client, tmp_path):
    await _filled(known)
    await sign_in(client, "committee", "comite@ville.example")
    response = await client.get(f"/bilan.xlsx?annee={YEAR}&quartier={known['hood'].id}")
    pdf = printing.to_pdf(response.content, tmp_path, "bilan")
    pages, texts = printing.page_count(pdf), printing.page_texts(pdf)
    text = " ".join(" ".join(texts).split())
    assert "Nombre de rendez-vous Encombrants" in text and "CABBALR" in text and "HYPERLINK" in text
    assert "'=HYPERLINK" not in text  # no apostrophe shown
    width, height = printing.page_size(pdf)
    assert width > height  # landscape
    # One page wide: every page carries the first column's enjeux or the header, never a lone
    # right-hand strip of columns (a strip would have no "Enjeu" header at its top).
    sheets = 3
    assert sheets <= pages <= 14, pages
    assert all(("Enjeu" in page or "N°" in page) for page in texts), [page[:200] for page in texts]


# ---------------------------------------------------------------- the PDF

async def test_the_pdf_opens_with_one_page_per_enjeu(known, client):
    await _filled(known)
    await sign_in(client, "committee", "comite@ville.example")
    response = await client.get(f"/bilan.pdf?annee={YEAR}&quartier={known['hood'].id}")
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == f'attachment; filename="bilan-{YEAR}-QP062057.pdf"'
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(response.content))
    first = reader.pages[0]
    assert (round(float(first.mediabox.width)), round(float(first.mediabox.height))) == (595, 842)  # A4 portrait
    texts = [" ".join(page.extract_text().split()) for page in reader.pages]
    assert 8 <= len(texts) <= 16, len(texts)  # the synthesis, then each enjeu from a new page
    assert f"Bilan {YEAR} de la GUSP — Ville Centre" in texts[0] and "Synthèse des sept enjeux" in texts[0]
    starts = [n for n, text in enumerate(texts) for t in ("1. Ambiance urbaine", "4. Gestion de tous les types")
              if t in text]
    assert len(starts) == 2 and starts[0] >= 1
    dechets = " ".join(texts[starts[1]:])
    assert "Nombre de rendez-vous Encombrants" in dechets and "Source : CABBALR" in dechets
    assert "=HYPERLINK(\"http://x\") moins de dépôts" in dechets  # the assessment, as typed
    assert "Saisir" not in " ".join(texts) and "Imprimer" not in " ".join(texts)  # no controls on paper


async def test_the_pdf_of_an_empty_year(known, client):
    await sign_in(client, "agent", "agent@ville.example")
    response = await client.get(f"/bilan.pdf?annee=2010&quartier={known['hood'].id}")
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    bad = await client.get("/bilan.pdf?annee=deux-mille")
    assert bad.status_code == 400 and "Année" in shown(bad)
