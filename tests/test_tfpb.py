"""The TFPB programme (Annexe 1): the roll-up of actions' costs (lines → headings → total) on known
data, who edits (coordinators and the landlord's own agents) and who only reads, bad amounts
refused in French with nothing written, the demo's programme from the seed, the action form's line,
and the XLSX laid out like Annexe 1, read back with openpyxl and printed by LibreOffice."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

from openpyxl import load_workbook

from conftest import make_neighbourhood, make_user, post_form, shown
from printing import page_count, page_size, page_texts, to_pdf
from test_actions import login, new_action, partner_id

from walkapp import gusp
from walkapp.demo import load_tfpb_demo
from walkapp.tables import Action, ActionEvent, Partner, TfpbAmount, TfpbProgramme
from walkapp.tfpb import services

YEAR = 2026
D = Decimal


async def programme_scene():
    """SIA Habitat's 2026 programme for Ville Centre (one earlier period, 2024-2025), typed amounts,
    and actions: counted ones on lines 3.1 and 8.3 and on heading 3 alone; ones that must not count
    (abandoned, another pilot, another year, no TFPB line)."""
    hood = await make_neighbourhood()
    coordinator = await make_user("coordinator", "chef@ville.example")
    sia, ville = await partner_id("SIA Habitat"), await partner_id("Ville de Lillers")
    await Partner.update({Partner.kind: "ville"}).where(Partner.id == ville)
    programme = TfpbProgramme(landlord=sia, neighbourhood=hood.id, year=YEAR, dwellings=120, abatement=D("5000.00"),
                              periods="2024-2025")
    await programme.save()
    for line, period, kind, amount in (("3.1", "2026", "previsionnel", "1000.00"),
                                       ("3.2", "2026", "previsionnel", "500.50"),
                                       ("3.1", "2024-2025", "engage", "200.00"),
                                       ("3.1", "2024-2025", "non_engage", "20.00"),
                                       ("8.3", "2026", "reaffecte", "300.00")):
        await TfpbAmount(programme=programme.id, line=line, period=period, kind=kind, amount=D(amount)).save()
    june = dt.date(YEAR, 6, 30)
    common = {"pilot": sia, "neighbourhood": hood.id, "deadline": june}
    await new_action(coordinator, cost=D("100.10"), tfpb_line="3.1", tfpb_heading="3", **common)
    await new_action(coordinator, cost=D("50.00"), tfpb_line="3.1", tfpb_heading="3", state="en_cours", **common)
    await new_action(coordinator, cost=D("30.00"), tfpb_heading="3", **common)  # heading only: "ligne non précisée"
    await new_action(coordinator, cost=D("20.00"), tfpb_line="8.3", tfpb_heading="8", **common)
    await new_action(coordinator, cost=None, tfpb_line="8.3", tfpb_heading="8", **common)  # no cost: counts 0
    await new_action(coordinator, cost=D("999.00"), tfpb_line="3.1", tfpb_heading="3", state="abandonnee", **common)
    await new_action(coordinator, cost=D("70.00"), tfpb_line="3.1", tfpb_heading="3",
                     **{**common, "pilot": ville})
    await new_action(coordinator, cost=D("40.00"), tfpb_line="3.1", tfpb_heading="3",
                     **{**common, "deadline": dt.date(YEAR - 1, 6, 30)})
    await new_action(coordinator, cost=D("60.00"), **common)  # outside the TFPB programme
    return {"programme": programme, "coordinator": coordinator, "sia": sia, "ville": ville, "hood": hood}


def line_of(sheet, code):
    return next(line for h in sheet.headings for line in h["lines"] if line["code"] == code)


async def test_actions_costs_roll_up_into_lines_headings_and_total():
    scene = await programme_scene()
    programme = await services.get_programme(scene["programme"].id)
    sheet = await services.programme_sheet(programme)
    keys = [c.key for c in sheet.columns]
    assert keys == ["2024-2025|engage", "2024-2025|non_engage", "2024-2025|reporte",
                    "2026|previsionnel", "2026|valorise", "2026|reaffecte"]
    assert [c.computed for c in sheet.columns] == [False] * 4 + [True, False]
    assert line_of(sheet, "3.1")["values"] == {"2026|previsionnel": D("1000.00"), "2024-2025|engage": D("200.00"),
                                               "2024-2025|non_engage": D("20.00"), "2026|valorise": D("150.10")}
    assert line_of(sheet, "3.1")["actions"] == 2
    sur_entretien = sheet.headings[2]
    assert sur_entretien["term"].code == "3"
    unspecified = sur_entretien["lines"][-1]
    assert unspecified.get("unspecified") and unspecified["label"] == "Ligne non précisée"
    assert unspecified["values"] == {"2026|valorise": D("30.00")}
    assert sur_entretien["subtotal"]["2026|valorise"] == D("180.10")
    assert sur_entretien["subtotal"]["2026|previsionnel"] == D("1500.50")
    assert sheet.headings[7]["subtotal"]["2026|valorise"] == D("20.00")
    assert sheet.headings[7]["subtotal"]["2026|reaffecte"] == D("300.00")
    assert sheet.headings[0]["subtotal"] == dict.fromkeys(keys, D("0.00"))
    assert sheet.total == {"2024-2025|engage": D("200.00"), "2024-2025|non_engage": D("20.00"),
                           "2024-2025|reporte": D("0.00"), "2026|previsionnel": D("1500.50"),
                           "2026|valorise": D("200.10"), "2026|reaffecte": D("300.00")}
    assert sorted(a["cost"] or 0 for a in sheet.actions) == [0, D("20.00"), D("30.00"), D("50.00"), D("100.10")]


async def test_programme_page_and_list_show_the_figures(client):
    scene = await programme_scene()
    await login(client, await make_user("committee", "comite@ville.example"))
    page = await client.get(f"/tfpb/{scene['programme'].id}")
    assert page.status_code == 200
    text = shown(page)
    assert "Programme d'actions lié à l'abattement de TFPB 2026" in text and "SIA Habitat" in text
    assert "5 000,00 €" in text and "200,10 €" in text and "1 500,50 €" in text  # (spaces folded by shown)
    assert "Ligne non précisée" in text and "Bilan 2024-2025" in text and "Saisir les montants" not in text
    listing = await client.get("/tfpb")
    assert listing.status_code == 200 and "SIA Habitat" in shown(listing) and "200,10 €" in shown(listing)
    assert "Nouveau programme" not in shown(listing)
    assert (await client.get("/tfpb/999999")).status_code == 404
    assert (await client.get("/tfpb/abc")).status_code == 404
    assert (await client.get(f"/tfpb/{scene['programme'].id}.pdf")).status_code == 404
    assert (await client.get("/tfpb?annee=deux")).status_code == 200


async def test_landlords_agent_edits_another_partners_agent_and_committee_read(client, other_client):
    scene = await programme_scene()
    ref = scene["programme"].id
    form = {"m-5.2-2026-previsionnel": "2 500,00"}
    own_agent = await make_user("agent", "agent@sia.example", "SIA Habitat")
    other_agent = await make_user("agent", "agent@ville.example", "Ville de Lillers")
    committee = await make_user("committee", "comite@ville.example")
    for user in (other_agent, committee):
        await login(other_client, user)
        assert (await other_client.get(f"/tfpb/{ref}")).status_code == 200  # everyone on the staff reads
        for path in (f"/tfpb/{ref}/modifier", f"/tfpb/{ref}/rubriques/5"):
            assert (await other_client.get(path)).status_code == 403
        refused = await post_form(other_client, f"/tfpb/{ref}/rubriques/5", form)
        assert refused.status_code == 403 and "agents du bailleur de ce programme" in shown(refused)
        assert (await other_client.get("/tfpb/nouveau")).status_code == 403
        creating = await post_form(other_client, "/tfpb/", {"landlord": str(scene["sia"]), "year": "2027",
                                                            "neighbourhood": str(scene["hood"].id)})
        assert creating.status_code == 403
    assert await TfpbAmount.count().where(TfpbAmount.line == "5.2") == 0 and await TfpbProgramme.count() == 1

    await login(client, own_agent)
    page = await client.get(f"/tfpb/{ref}")
    assert "Saisir les montants" in page.text
    saved = await post_form(client, f"/tfpb/{ref}/rubriques/5", form)
    assert saved.status_code == 303, saved.text
    row = await TfpbAmount.objects().where(TfpbAmount.line == "5.2").first()
    assert row.amount == D("2500.00") and row.period == "2026" and row.kind == "previsionnel"
    # The landlord's agent makes a programme for its own landlord only.
    new = await client.get("/tfpb/nouveau")
    assert new.status_code == 200 and "SIA Habitat" in new.text and "Ville de Lillers" not in new.text
    other = await post_form(client, "/tfpb/", {"landlord": str(scene["ville"]), "neighbourhood": str(scene["hood"].id),
                                               "year": "2027"})
    assert other.status_code == 422 and "choisissez un bailleur" in shown(other)
    own = await post_form(client, "/tfpb/", {"landlord": str(scene["sia"]), "neighbourhood": str(scene["hood"].id),
                                             "year": "2027", "abatement": "1234.5", "dwellings": "120"})
    assert own.status_code == 303 and await TfpbProgramme.count() == 2


async def test_bad_amounts_are_refused_in_french_and_nothing_is_written(client):
    scene = await programme_scene()
    ref = scene["programme"].id
    await login(client, scene["coordinator"])
    before = await TfpbAmount.select().order_by(TfpbAmount.id)
    for typed, words in (("-5", "ne peut pas être négatif"), ("\u22125", "ne peut pas être négatif"),
                         ("99999999999", "montant trop grand"), ("12 000 000,00", "montant trop grand"),
                         ("abc", "saisissez un montant en euros"), ("1,234", "au centime près"),
                         ("1e5", "saisissez un montant en euros")):
        response = await post_form(client, f"/tfpb/{ref}/rubriques/3", {
            "m-3.1-2026-previsionnel": "1 111,11", "m-3.2-2026-previsionnel": typed})
        assert response.status_code == 422, (typed, response.status_code)
        assert words in shown(response), (typed, shown(response)[:500])
        assert "3.2 Enlèvement de tags et graffitis" in shown(response)  # which field, in words
        assert await TfpbAmount.select().order_by(TfpbAmount.id) == before  # not even the good one
    # French and English notation, as actions' costs.
    for typed in ("1 234,50", "1234.5", "1.234,50 €", "1\u202f234,50"):
        response = await post_form(client, f"/tfpb/{ref}/rubriques/3", {"m-3.2-2026-previsionnel": typed})
        assert response.status_code == 303, typed
        row = await TfpbAmount.objects().where((TfpbAmount.line == "3.2") & (TfpbAmount.kind == "previsionnel")).first()
        assert row.amount == D("1234.50")
    # Saving a heading replaces its typed amounts (empty = none) and leaves the other headings alone.
    assert await TfpbAmount.count().where(TfpbAmount.line.like("3.%")) == 1
    assert await TfpbAmount.count().where(TfpbAmount.line == "8.3") == 1
    # The programme's own form: bad figures refused, nothing changed.
    for form, words in (({"abatement": "-8535", "dwellings": "42"}, "négatif"),
                        ({"abatement": "8535", "dwellings": "-1"}, "nombre entier entre 0"),
                        ({"abatement": "8535", "dwellings": "4000000"}, "nombre entier entre 0"),
                        ({"abatement": "8535", "periods": "2016-2018 2026"}, "doit précéder"),
                        ({"abatement": "8535", "periods": "2019-2021 2020-2022"}, "chevauchent"),
                        ({"abatement": "8535", "periods": "hier"}, "n'est pas une période")):
        response = await post_form(client, f"/tfpb/{ref}/modifier", form)
        assert response.status_code == 422 and words in shown(response), (form, shown(response)[:300])
    kept = await TfpbProgramme.objects().where(TfpbProgramme.id == ref).first()
    assert kept.abatement == D("5000.00") and kept.dwellings == 120 and kept.periods == "2024-2025"
    ok = await post_form(client, f"/tfpb/{ref}/modifier", {"abatement": "8 535,00", "dwellings": "42",
                                                           "periods": "2021-2022, 2019-2020"})
    assert ok.status_code == 303
    kept = await TfpbProgramme.objects().where(TfpbProgramme.id == ref).first()
    assert kept.abatement == D("8535.00") and kept.dwellings == 42 and kept.periods == "2019-2020 2021-2022"
    assert await TfpbAmount.count().where(TfpbAmount.period == "2024-2025") == 0  # its period was taken out
    # One programme per landlord, neighbourhood and year.
    again = await post_form(client, "/tfpb/", {"landlord": str(scene["sia"]), "neighbourhood": str(scene["hood"].id),
                                               "year": str(YEAR)})
    assert again.status_code == 409 and "déjà un programme TFPB 2026" in shown(again)
    assert await TfpbProgramme.count() == 1
    assert (await client.get(f"/tfpb/{ref}/rubriques/9")).status_code == 404


async def test_the_action_form_chooses_a_line_of_annexe_1(client):
    scene = await programme_scene()
    await login(client, scene["coordinator"])
    page = await client.get("/actions/nouvelle")
    assert 'name="tfpb_line"' in page.text and "3.2 Enlèvement de tags et graffitis" in page.text
    assert "ligne non précisée" in page.text
    response = await post_form(client, "/actions/", {
        "axe": "proprete", "problem": "Tags rue Carnot", "pilot": str(scene["sia"]), "state": "a_engager",
        "neighbourhood": str(scene["hood"].id), "deadline": "30/09/2026", "cost": "1 000,00", "tfpb_line": "3.2"})
    assert response.status_code == 303, shown(response)
    action = await Action.objects().order_by(Action.id, ascending=False).first()
    assert action.tfpb_line == "3.2" and action.tfpb_heading == "3"
    sheet = await services.programme_sheet(await services.get_programme(scene["programme"].id))
    assert line_of(sheet, "3.2")["values"]["2026|valorise"] == D("1000.00")
    # A heading alone stays possible; an unknown line is refused.
    edit = await post_form(client, f"/actions/{action.id}/modifier", {
        "axe": "proprete", "problem": "Tags rue Carnot", "pilot": str(scene["sia"]), "state": "a_engager",
        "neighbourhood": str(scene["hood"].id), "deadline": "30/09/2026", "cost": "1 000,00", "tfpb_line": "3"})
    assert edit.status_code == 303
    action = await Action.objects().where(Action.id == action.id).first()
    assert action.tfpb_line is None and action.tfpb_heading == "3"
    events = {e["field"]: e for e in await ActionEvent.select().where(ActionEvent.action == action.id)}
    assert events["tfpb_line"]["before"] == "3.2" and events["tfpb_line"]["after"] == ""
    bad = await post_form(client, f"/actions/{action.id}/modifier", {
        "axe": "proprete", "problem": "Tags", "state": "a_engager", "tfpb_line": "3.9"})
    assert bad.status_code == 422 and "Ligne du programme TFPB : choisissez une ligne" in shown(bad)


async def test_the_demo_programme_has_the_seeds_figures():
    hood = await make_neighbourhood()
    coordinator = await make_user("coordinator", "chef@ville.example")
    await Partner(name="Pas-de-Calais Habitat", kind="bailleur").save()
    first = await load_tfpb_demo(hood, coordinator)
    again = await load_tfpb_demo(hood, coordinator)  # idempotent
    assert first.id == again.id and await TfpbProgramme.count() == 1 and await TfpbAmount.count() == 9
    programme = await services.get_programme(first.id)
    assert programme["dwellings"] == 42 and programme["abatement"] == D("8535.00") and programme["year"] == 2023
    assert programme["landlord_name"] == "Pas-de-Calais Habitat" and programme["neighbourhood_name"] == "Ville Centre"
    sheet = await services.programme_sheet(programme)
    # The seed's total row: engaged 11 535 € in 2019-2020, 74 659 € in 2021-2022, 72 000 € forecast for 2023.
    assert sheet.total["2019-2020|engage"] == D("11535.00")
    assert sheet.total["2021-2022|engage"] == D("74659.00")
    assert sheet.total["2023|previsionnel"] == D("72000.00")
    subtotals = {h["term"].code: h["subtotal"]["2019-2020|engage"] for h in sheet.headings}
    assert subtotals == {"1": 0, "2": 0, "3": D("1965.00"), "4": D("65.00"), "5": 0, "6": D("8755.00"),
                         "7": D("750.00"), "8": 0}
    assert line_of(sheet, "8.3")["values"]["2023|previsionnel"] == D("72000.00")


async def test_annexe_1_xlsx_prints_like_annexe_1(client, tmp_path):
    scene = await programme_scene()
    await login(client, await make_user("committee", "comite@ville.example"))
    # A comment that a spreadsheet would read as a formula stays text.
    await TfpbProgramme.update({TfpbProgramme.comment: "=1+1"}).where(TfpbProgramme.id == scene["programme"].id)
    response = await client.get(f"/tfpb/{scene['programme'].id}.xlsx")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml")
    assert "attachment" in response.headers["content-disposition"]
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["Annexe 1 TFPB 2026", "Lignes (tableau)", "Actions valorisées"]
    ws = book["Annexe 1 TFPB 2026"]
    assert ws["A1"].value == "Programme d'actions lié à l'abattement de TFPB 2026 — SIA Habitat"
    assert "Nombre de logements dans le quartier : 120" in ws["A3"].value and "5\u202f000,00\u00a0€" in ws["A3"].value
    assert [ws.cell(5, c).value for c in (1, 2, 3, 6)] == ["N°", "Rubrique et actions", "Bilan 2024-2025", "2026"]
    assert [ws.cell(6, c).value for c in range(3, 9)] == ["Engagé", "Non engagé", "Reporté", "Prévisionnel",
                                                         "Dépense valorisée (actions)", "Réaffecté"]
    assert ws.print_title_rows == "$5:$6" and ws.freeze_panes == "C7"
    assert ws.page_setup.orientation == "landscape" and int(ws.page_setup.paperSize) == 9
    assert ws.sheet_properties.pageSetUpPr.fitToPage and int(ws.page_setup.fitToWidth) == 1
    assert int(ws.page_setup.fitToHeight) == 0
    rows = {ws.cell(r, 1).value: r for r in range(7, ws.max_row + 1) if ws.cell(r, 1).value}
    assert ws.cell(rows["3.1"], 2).value == "Renforcement nettoyage (2 actions)"
    assert ws.cell(rows["3.1"], 7).value == 150.1 and "€" in ws.cell(rows["3.1"], 7).number_format
    assert ws.cell(rows["Sous-total 3"], 7).value == 180.1 and ws.cell(rows["Sous-total 3"], 6).value == 1500.5
    assert ws.cell(rows["Montant total"], 7).value == 200.1 and ws.cell(rows["Montant total"], 3).value == 200
    assert ws.cell(rows["8. Petits travaux d'amélioration de la qualité de service"], 1).data_type == "s"
    assert all(ws.row_dimensions[r].height for r in range(7, ws.max_row + 1))
    assert not any(c.data_type == "f" for row in ws.iter_rows() for c in row)
    flat = book["Lignes (tableau)"]
    assert not flat.merged_cells.ranges and flat.freeze_panes == "A2" and flat.auto_filter.ref
    assert flat.max_row == 1 + len(gusp.TFPB_LINES) + 1  # every line, and heading 3's "ligne non précisée"
    valued = book["Actions valorisées"]
    assert [c.value for c in valued[1]] == ["N°", "Ligne", "Rubrique", "Problème à traiter", "État d'avancement",
                                            "Coût"]
    assert valued.max_row == 6

    pdf = to_pdf(response.content, tmp_path, "annexe1")
    width, height = page_size(pdf)
    assert round(width) == 842 and round(height) == 595
    pages = page_texts(pdf)
    annexe = [p for p in pages if "Rubrique et actions" in p and "Bilan 2024-2025" in p]
    assert annexe and all("Réaffecté" in p for p in annexe)  # one page wide: the last column on every page
    assert page_count(pdf) == len(pages) <= 6
    assert "Montant total" in pages[len(annexe) - 1]
