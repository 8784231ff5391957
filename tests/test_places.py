"""Server side of "place on a map, actions on a phone" (issue 11): what the pages give the maps,
the perimeter's streets in requalification (a street outside the list is still accepted), and the
inline state change's confirmation (an out-of-band status) or its French refusal."""

from __future__ import annotations

import re

from conftest import make_neighbourhood, make_walk, post_form, shown, sign_in
from test_actions import login, scene  # noqa: F401 (fixture)
from test_api_observations import fields, join, post_observation

from walkapp.tables import Action, Observation, ObservationEvent, Street


async def test_walk_form_gives_the_map_the_neighbourhood_centre(other_client):
    await make_neighbourhood()
    await sign_in(other_client, "coordinator")
    page = await other_client.get("/marches/nouvelle")
    assert page.status_code == 200
    assert re.search(r'<div id="stops-map"[^>]*data-stops-map', page.text)
    assert 'data-centre-lat="50.5636"' in page.text and 'data-centre-lon="2.4826"' in page.text
    assert "/static/js/place-map.js" in page.text and "/static/vendor/leaflet/leaflet.js" in page.text
    # Every option carries its centre: choosing another neighbourhood recentres the map.
    assert re.search(r'<option value="\d+"[^>]*data-centre-lat="50.5636"', page.text)


async def test_requalify_offers_the_perimeter_and_keeps_accepting_other_streets(client, other_client):
    walk = await make_walk("open")
    await join(client, walk)
    for position, name in enumerate(["Rue Carnot", "Rue Pasteur"]):
        await Street(neighbourhood=walk.neighbourhood, name=name, position=position).save()
    constat = (await post_observation(client, walk, fields(street="Rue Carnot", lat=None, lon=None,
                                                           accuracy_m=None))).json()["id"]
    await sign_in(other_client, "coordinator")

    page = await other_client.get(f"/constats/{constat}")
    form = page.text[page.text.index('id="rq-street"'):]
    assert form.index("Rue Carnot") < form.index("Rue Pasteur") < form.index("</select>")
    assert re.search(r'<option value="Rue Carnot"\s+selected', form)
    # No position yet: the pin starts at the walk's centre, and nothing fills the fields for it.
    assert re.search(r'id="rq-map"[^>]*data-centre-lat="50.5636"', page.text)
    assert 'id="rq-lat" name="lat" inputmode="decimal" value=""' in page.text

    # Perimeters are incomplete: a street outside the list is kept (and offered back, selected).
    response = await post_form(other_client, f"/constats/{constat}/requalifier",
                               {"street": "Impasse des Tilleuls", "lat": "", "lon": ""}, htmx=True)
    assert response.status_code == 200
    saved = await Observation.objects().where(Observation.id == constat).first()
    assert (saved.street, saved.lat, saved.location_source) == ("Impasse des Tilleuls", None, None)
    assert re.search(r'<option value="Impasse des Tilleuls" selected>', response.text)

    # The pin's point, as the map writes it (6 decimals), makes a manual position.
    await post_form(other_client, f"/constats/{constat}/requalifier",
                    {"lat": "50.564012", "lon": "2.483456"}, htmx=True)
    saved = await Observation.objects().where(Observation.id == constat).first()
    assert (saved.lat, saved.lon, saved.location_source) == (50.564012, 2.483456, "manual")
    # A bad coordinate is a French 4xx and changes nothing.
    events = await ObservationEvent.count()
    refused = await post_form(other_client, f"/constats/{constat}/requalifier",
                              {"lat": "95", "lon": "2.48"}, htmx=True)
    assert refused.status_code == 422 and "Latitude" in shown(refused)
    assert (await Observation.objects().where(Observation.id == constat).first()).lat == 50.564012
    assert await ObservationEvent.count() == events


async def test_inline_state_change_says_what_it_saved_or_why_not(scene, other_client):  # noqa: F811
    await login(other_client, scene["coordinator"])
    a = scene["action"].id
    done = await post_form(other_client, f"/actions/{a}/etat", {"state": "realisee"}, htmx=True)
    assert done.status_code == 200
    status = re.search(r'<p id="action-status" hx-swap-oob="innerHTML"><span class="toast">([^<]*)</span></p>',
                       done.text)
    assert status and status.group(1) == f"État enregistré : Réalisée (action n° {a})"
    assert f'id="action-{a}"' in done.text

    refused = await post_form(other_client, f"/actions/{a}/etat", {"state": "reportee"}, htmx=True)
    assert refused.status_code == 422 and "indiquez pourquoi" in shown(refused)
    assert '<p id="action-status" hx-swap-oob="innerHTML"></p>' in refused.text  # no confirmation
    assert (await Action.objects().where(Action.id == a).first()).state == "realisee"

    table = await other_client.get("/actions")
    assert '<p id="action-status" class="toast-region" role="status" aria-live="polite"></p>' in table.text
    assert re.search(r'<td class="state-cell" data-label="État d&#39;avancement">', table.text)
