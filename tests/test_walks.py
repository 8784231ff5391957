"""Coordinators create, edit, open and close walks; bad input changes nothing."""

from conftest import make_neighbourhood, make_walk, post_form, shown, sign_in

from walkapp.tables import Stop, Walk

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def walk_form(hood_id, title="Diagnostic Ville Centre", date="2026-12-03", stops=(("Mairie", "50.5636", "2.4826"),)):
    data = {"neighbourhood": str(hood_id), "title": title, "date": date,
            "stop_id": [], "stop_name": [], "stop_lat": [], "stop_lon": []}
    for name, lat, lon in stops:
        data["stop_id"].append("")
        data["stop_name"].append(name)
        data["stop_lat"].append(lat)
        data["stop_lon"].append(lon)
    return data


async def test_create_walk_with_ordered_stops(client):
    await sign_in(client)
    hood = await make_neighbourhood()
    response = await post_form(client, "/marches/", walk_form(hood.id, stops=(
        ("Hôtel de Ville", "50.5636", "2.4826"), ("Place de l'Église", "50,56295", "2,48400"),
        ("Gare", "50.559", "2.4803"))))
    assert response.status_code == 303, response.text
    walk = await Walk.objects().first()
    assert response.headers["location"] == f"/marches/{walk.id}"
    assert walk.status == "planned" and walk.date.isoformat() == "2026-12-03" and len(walk.join_secret) >= 20
    stops = await Stop.objects().where(Stop.walk == walk.id).order_by(Stop.position)
    assert [(s.position, s.name) for s in stops] == [(1, "Hôtel de Ville"), (2, "Place de l'Église"), (3, "Gare")]
    assert stops[1].lat == 50.56295  # a French decimal comma is understood
    page = await client.get(f"/marches/{walk.id}")
    assert "03/12/2026" in page.text and "Prévue" in page.text
    assert f"/j/{walk.join_secret}" in page.text


async def test_walk_without_stops_is_refused_and_keeps_what_was_typed(client):
    await sign_in(client)
    hood = await make_neighbourhood()
    response = await post_form(client, "/marches/",
                               walk_form(hood.id, title="Ma marche sans haltes", stops=(("", "", ""),)))
    assert response.status_code == 422
    assert "ajoutez au moins une halte" in response.text
    assert 'value="Ma marche sans haltes"' in response.text
    assert await Walk.count() == 0 and await Stop.count() == 0


async def test_every_bad_field_gets_a_french_message_and_nothing_is_stored(client):
    await sign_in(client)
    await make_neighbourhood()
    response = await post_form(client, "/marches/", walk_form(
        "999", title="", date="31/02/2026", stops=(("", "91", "abc"),)), htmx=True)
    assert response.status_code == 422
    for message in ("Quartier : ce quartier n'existe pas.", "Titre : ce champ est obligatoire.",
                    "Date : saisissez une date au format jj/mm/aaaa.", "Halte 1, nom : ce champ est obligatoire.",
                    "Halte 1, latitude : doit être compris entre -90 et 90.",
                    "Halte 1, longitude : saisissez un nombre"):
        assert message in shown(response)
    assert response.text.lstrip().startswith("<form")  # htmx gets the form block only
    assert await Walk.count() == 0


async def test_too_long_title_is_refused(client):
    await sign_in(client)
    hood = await make_neighbourhood()
    response = await post_form(client, "/marches/", walk_form(hood.id, title="x" * 500))
    assert response.status_code == 422 and "200 caractères au plus" in response.text
    assert await Walk.count() == 0


async def test_html_in_every_text_field_is_shown_escaped(client):
    await sign_in(client)
    hood = await make_neighbourhood()
    response = await post_form(client, "/marches/", walk_form(hood.id, title=XSS, stops=((XSS, "50.5", "2.4"),)))
    assert response.status_code == 303
    walk = await Walk.objects().first()
    assert walk.title == XSS  # kept as typed: escaping is the page's job
    for path in ("/marches", f"/marches/{walk.id}", f"/marches/{walk.id}/modifier", f"/marches/{walk.id}/terrain"):
        page = await client.get(path)
        assert page.status_code == 200, path
        assert "<script>alert" not in page.text and "<img src=x" not in page.text, path
        assert "&lt;script&gt;alert(" in page.text, path


async def test_edit_keeps_stop_ids_reorders_and_removes(client):
    await sign_in(client)
    walk = await make_walk("planned", stops=3)
    before = await Stop.objects().where(Stop.walk == walk.id).order_by(Stop.position)
    data = walk_form(walk.neighbourhood, title="Nouveau titre", stops=(
        (before[2].name, "50.1", "2.1"), (before[0].name, "50.2", "2.2"), ("Nouvelle halte", "50.3", "2.3")))
    data["stop_id"] = [str(before[2].id), str(before[0].id), ""]
    response = await post_form(client, f"/marches/{walk.id}/modifier", data)
    assert response.status_code == 303, response.text
    after = await Stop.objects().where(Stop.walk == walk.id).order_by(Stop.position)
    assert [s.id for s in after][:2] == [before[2].id, before[0].id]
    assert [s.name for s in after] == [before[2].name, before[0].name, "Nouvelle halte"]
    assert before[1].id not in {s.id for s in after}
    assert (await Walk.objects().first()).title == "Nouveau titre"


async def test_open_close_and_closed_walk_cannot_be_edited(client):
    await sign_in(client)
    walk = await make_walk("planned")
    assert (await post_form(client, f"/marches/{walk.id}/statut", {"status": "open"})).status_code == 303
    assert (await Walk.objects().first()).status == "open"
    assert (await post_form(client, f"/marches/{walk.id}/statut", {"status": "closed"})).status_code == 303
    response = await post_form(client, f"/marches/{walk.id}/modifier", walk_form(walk.neighbourhood, title="Changé"))
    assert response.status_code == 403 and "Cette marche est close" in response.text
    assert (await Walk.objects().first()).title == "Marche test"
    bad = await post_form(client, f"/marches/{walk.id}/statut", {"status": "n'importe quoi"})
    assert bad.status_code == 400 and "Statut de marche inconnu." in bad.text


async def test_new_stop_row_fragment(client):
    await sign_in(client)
    response = await client.get("/marches/halte?index=3", headers={"hx-request": "true"})
    assert response.status_code == 200
    assert response.text.lstrip().startswith("<li") and 'id="stop-name-3"' in response.text
    assert "<html" not in response.text


async def test_qr_code_is_svg_of_the_join_link(client):
    await sign_in(client, "agent")
    walk = await make_walk()
    response = await client.get(f"/marches/{walk.id}/qr.svg")
    assert response.status_code == 200 and response.headers["content-type"].startswith("image/svg+xml")
    assert response.text.lstrip().startswith("<svg") and "<title>" in response.text


async def test_unknown_walk_is_a_french_404(client):
    await sign_in(client)
    response = await client.get("/marches/424242")
    assert response.status_code == 404 and "Cette marche n'existe pas." in shown(response)
    assert (await client.get("/marches/pas-un-nombre")).status_code == 404
