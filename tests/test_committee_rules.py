"""The committee's rules (issue 11): rejected constats and duplicates are left out of the map, the
matrix, the GeoJSON and the photo zip unless asked for; an action made from constats takes its
axe and its problème from the same constats; a rejected constat is never linked to an action (a
duplicate links its original); and the words people read ("Clôturée", "Retour à la marche")."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import make_user, make_walk, post_form, shown, sign_in
from test_actions import login, new_action
from test_api_observations import join
from test_exports import MANIFEST, constat, png_bytes, read_zip

from walkapp.actions import services as actions
from walkapp.exports.builder import zip_url
from walkapp.observations.filters import ObservationFilter
from walkapp.review import services as review
from walkapp.storage import MediaStore
from walkapp.tables import Action, ActionEvent, ActionObservation, Observation

# The demo's review, scaled down: 3 validated + 2 new + 1 rejected + 1 duplicate = 7 constats.
STATUSES = ["validated", "validated", "validated", "new", "new", "rejected", "duplicate"]
DEFAULT_SHOWN, EVERYTHING = 5, 7


@pytest.fixture
def store(test_env) -> MediaStore:
    return MediaStore(Path(test_env["WALKAPP_MEDIA_DIR"]))


async def reviewed(store, walk, coordinator) -> list[Observation]:
    """Seven constats with one photo each, reviewed by the committee into STATUSES (the duplicate
    names the first constat as its original)."""
    made = []
    for n in range(len(STATUSES)):
        made.append(await constat(store, walk, issue=("dechets", "proprete", "ambiance")[n % 3],
                                  photos=[png_bytes((20 * n, 30, 30))], lat=50.5637 + n / 10_000))
    for item, status in zip(made, STATUSES, strict=True):
        if status != "new":
            await review.set_status(item, coordinator, status, reason="Hors périmètre" if status == "rejected" else "",
                                    duplicate_of=made[0].id if status == "duplicate" else None)
    return made


def map_count(page) -> int:
    return int(re.search(r"(\d+) constats? sur la carte", shown(page)).group(1))


def matrix_total(page) -> int:
    return int(re.search(r'<td class="total"><strong>(\d+)</strong></td>', page.text).group(1))


def zip_photos(response) -> int:
    assert response.status_code == 200, response.text
    return len(set(read_zip(response.content).namelist()) - MANIFEST)


# ---------------------------------------------------------------- one default: new and validated

async def test_map_matrix_geojson_and_zip_leave_rejected_and_duplicates_out_by_default(client, store):
    walk = await make_walk("open")
    coordinator = await sign_in(client, "coordinator")
    await reviewed(store, walk, coordinator)
    assert await Observation.count() == EVERYTHING

    page = await client.get(f"/carte?walk={walk.id}")
    assert page.status_code == 200
    assert map_count(page) == DEFAULT_SHOWN and matrix_total(page) == DEFAULT_SHOWN
    # The map says what it leaves out, and how to see it.
    assert "2 constats rejetés ou en doublon non affichés : les afficher aussi" in shown(page)
    assert f'href="/carte?walk={walk.id}&amp;status=all"' in page.text
    assert '<option value="duplicate,rejected" >Rejetés et doublons</option>' in page.text
    geojson = await client.get(f"/api/v1/observations.geojson?walk={walk.id}")
    assert len(geojson.json()["features"]) == DEFAULT_SHOWN
    default_zip = await client.get(zip_url(ObservationFilter(walk=walk.id)))
    assert zip_photos(default_zip) == DEFAULT_SHOWN
    readme = read_zip(default_zip.content).read("LISEZMOI.txt").decode()
    assert "Statut : Nouveau, Validé (par défaut : sans les constats rejetés ni les doublons)" in readme
    # The walk page's zip button is the same default.
    assert zip_photos(await client.get(f"/exports/photos.zip?walk={walk.id}")) == DEFAULT_SHOWN

    # On request: all of them, or only the ones set aside, or one status.
    for status, expected in (("all", EVERYTHING), ("duplicate,rejected", 2), ("rejected", 1),
                             ("rejected,duplicate", 2), ("new", 2), ("validated,new", DEFAULT_SHOWN)):
        asked = await client.get(f"/carte?walk={walk.id}&status={status}")
        assert (map_count(asked), matrix_total(asked)) == (expected, expected), status
        # A status was chosen: nothing to explain (new and validated together is the default view).
        assert ("non affiché" in shown(asked)) == (expected == DEFAULT_SHOWN), status
        features = (await client.get(f"/api/v1/observations.geojson?walk={walk.id}&status={status}")).json()
        assert len(features["features"]) == expected, status
        assert zip_photos(await client.get(f"/exports/photos.zip?walk={walk.id}&status={status}")) == expected
    everything = await client.get(f"/exports/photos.zip?walk={walk.id}&status=all")
    assert "Statut : Tous, y compris les constats rejetés et les doublons" in \
        read_zip(everything.content).read("LISEZMOI.txt").decode()


async def test_shared_links_show_the_default_without_a_parameter(client, store):
    walk = await make_walk("open")
    coordinator = await sign_in(client, "coordinator")
    await reviewed(store, walk, coordinator)
    htmx = {"hx-request": "true"}
    for query, pushed in ((f"walk={walk.id}", f"/carte?walk={walk.id}"),
                          (f"walk={walk.id}&status=", f"/carte?walk={walk.id}"),
                          (f"walk={walk.id}&status=new,validated", f"/carte?walk={walk.id}"),
                          (f"walk={walk.id}&status=rejected,duplicate",
                           f"/carte?walk={walk.id}&status=duplicate%2Crejected"),
                          (f"walk={walk.id}&status=ALL", f"/carte?walk={walk.id}&status=all")):
        answer = await client.get(f"/carte?{query}", headers=htmx)
        assert answer.headers["hx-push-url"] == pushed, query
    # A link as shared opens the same view, and its select shows the choice.
    shared = await client.get(f"/carte?walk={walk.id}&status=duplicate%2Crejected")
    assert map_count(shared) == 2 and '<option value="duplicate,rejected" selected>' in shared.text
    # An unknown status is ignored with a French word: the default view, never an error page.
    bad = await client.get(f"/carte?walk={walk.id}&status=archived")
    assert bad.status_code == 200 and "valeur inconnue" in shown(bad) and map_count(bad) == DEFAULT_SHOWN
    # The zip refuses it instead of sending more than asked.
    refused = await client.get(f"/exports/photos.zip?walk={walk.id}&status=archived")
    assert refused.status_code == 400 and "valeur inconnue" in shown(refused)


@pytest.mark.parametrize(("raw", "status", "statuses"), [
    ("", None, ("new", "validated")),
    ("new,validated", None, ("new", "validated")),
    (" validated , new ", None, ("new", "validated")),
    ("rejected,duplicate", "duplicate,rejected", ("duplicate", "rejected")),
    ("rejected", "rejected", ("rejected",)),
    ("all", "all", ("new", "validated", "duplicate", "rejected")),
    ("new,validated,duplicate,rejected", "all", ("new", "validated", "duplicate", "rejected")),
])
def test_status_filter_reads_codes_lists_and_all(raw, status, statuses):
    chosen, errors = ObservationFilter.from_query({"status": raw})
    assert errors == {} and chosen.status == status and chosen.statuses == statuses
    assert ObservationFilter.from_query(chosen.params())[0] == chosen  # a link reads back the same


@pytest.mark.parametrize("raw", ["archived", ",", "new;rejected", "tous", "new,bogus"])
def test_unknown_statuses_fall_back_to_the_default_with_a_french_word(raw):
    chosen, errors = ObservationFilter.from_query({"status": raw})
    assert chosen.status is None and chosen.statuses == ("new", "validated")
    assert "status" in errors and "ignoré" in errors["status"]


# ---------------------------------------------------------------- an action from mixed constats

async def test_action_from_mixed_constats_takes_axe_and_problem_from_the_same_constats(client, store):
    walk = await make_walk("open")
    coordinator = await make_user("coordinator", "chef@ville.example")
    await login(client, coordinator)
    # The first constat ticked is about cleanliness; most are about the atmosphere, one of them a
    # point fort (a strength is no problem to treat).
    litter = await constat(store, walk, issue="proprete", description="Papiers au sol", street="Rue Carnot")
    square = await constat(store, walk, issue="ambiance", description="Belle place arborée", street="Place Roger",
                           polarity="positive")
    dark = await constat(store, walk, issue="ambiance", description="Rue sombre le soir", street="Rue du Marais")
    bench = await constat(store, walk, issue="ambiance", description="", street="")
    ids = [litter.id, square.id, dark.id, bench.id]

    form = await client.get(f"/actions/nouvelle?constats={','.join(map(str, ids))}")
    assert form.status_code == 200
    assert '<option value="ambiance" selected>' in form.text
    problem = re.search(r'<textarea id="problem"[^>]*>([^<]*)</textarea>', form.text).group(1)
    assert problem == "Rue sombre le soir"  # the axe's point faible, not the first constat's litter
    finding = re.search(r'<textarea id="finding"[^>]*>([^<]*)</textarea>', form.text).group(1).splitlines()
    assert finding == [f"Constat n° {square.id} (Place Roger) : Belle place arborée",
                       f"Constat n° {dark.id} (Rue du Marais) : Rue sombre le soir",
                       f"Constat n° {bench.id} : (sans commentaire)",
                       f"Constat n° {litter.id} (Rue Carnot) : Papiers au sol"]
    assert f'name="constats" value="{",".join(map(str, ids))}"' in form.text  # every constat is linked

    # A tie between issues: the convention's order (proprete before dechets), and its problème,
    # though the constat ticked first is about waste.
    bags = await constat(store, walk, issue="dechets", description="Sacs éventrés")
    data = actions.prefill(await actions.selected_constats([bags.id, litter.id]))
    assert (data.axe, data.problem) == ("proprete", "Papiers au sol")


# ---------------------------------------------------------------- a rejected constat is never linked

@pytest.fixture
async def linking(client, store):
    walk = await make_walk("open")
    coordinator = await make_user("coordinator", "chef@ville.example")
    await login(client, coordinator)
    kept, refused, copy = [await constat(store, walk, description=text) for text in ("Dépôt", "Hors sujet", "Idem")]
    await review.set_status(refused, coordinator, "rejected", reason="Hors périmètre")
    await review.set_status(copy, coordinator, "duplicate", duplicate_of=kept.id)
    action = await new_action(coordinator, constats=[])
    return {"walk": walk, "kept": kept.id, "rejected": refused.id, "duplicate": copy.id, "action": action.id}


async def links() -> tuple[int, int, int]:
    return await Action.count(), await ActionObservation.count(), await ActionEvent.count()


async def test_a_rejected_constat_is_refused_in_every_path_and_nothing_is_written(client, linking):
    a, kept, rejected = linking["action"], linking["kept"], linking["rejected"]
    before = await links()
    for path, form, htmx in (
            (f"/actions/{a}/constats", {"constats": f"{kept}, {rejected}"}, False),  # the action's page
            ("/actions/lier", {"action": str(a), "constats": str(rejected), "back": "constat"}, False),  # constat page
            ("/actions/", {"axe": "dechets", "problem": "Dépôts", "state": "a_engager",  # the new action form
                           "constats": f"{kept},{rejected}"}, True),
            ("/actions/", {"axe": "dechets", "problem": "Dépôts", "state": "a_engager",
                           "constats": str(rejected)}, False)):
        answer = await post_form(client, path, form, htmx=htmx)
        assert answer.status_code == 409, (path, answer.text)
        assert f"Constat rejeté : n° {rejected} (un constat rejeté ne peut pas être lié à une action)" in shown(answer)
        assert "Rien n'a été enregistré" in shown(answer)
        assert await links() == before, path  # nothing half-written: not even the valid constat
    # An unknown number with it stays a 400, and both are named.
    unknown = await post_form(client, f"/actions/{a}/constats", {"constats": f"{rejected},999999"})
    assert unknown.status_code == 400 and "n° 999999" in shown(unknown) and f"n° {rejected}" in shown(unknown)
    assert await links() == before


async def test_the_new_action_form_leaves_a_rejected_constat_aside(client, linking):
    kept, rejected = linking["kept"], linking["rejected"]
    # The map's selection tray links here with whatever was ticked, even a constat rejected since.
    form = await client.get(f"/actions/nouvelle?constats={rejected},{kept}")
    assert form.status_code == 200
    assert f'name="constats" value="{kept}"' in form.text
    assert f"Constat rejeté : n° {rejected}" in shown(form) and "Laissé de côté." in shown(form)
    assert f"Constat n° {rejected}" not in shown(form).replace(f"Constat rejeté : n° {rejected}", "")
    # The rejected constat's page offers neither to make an action nor to link one, and says why.
    page = await client.get(f"/constats/{rejected}")
    assert "Ce constat est rejeté : il ne peut pas être lié à une action." in shown(page)
    assert 'id="create-action"' not in page.text and 'action="/actions/lier"' not in page.text
    assert 'id="create-action"' in (await client.get(f"/constats/{kept}")).text
    # Its map popup has no box for the selection tray.
    assert "Sélectionner" not in (await client.get(f"/carte/popup/{rejected}")).text
    assert f'data-constat="{kept}"' in (await client.get(f"/carte/popup/{kept}")).text
    # Nor its row in the map's list, when rejected constats are asked for.
    listed = await client.get(f"/carte/liste?walk={linking['walk'].id}&status=all")
    assert f'id="list-select-{kept}"' in listed.text and f'data-constat="{rejected}"' in listed.text
    assert f'id="list-select-{rejected}"' not in listed.text


async def test_a_duplicate_links_its_original(client, linking):
    a, kept, duplicate = linking["action"], linking["kept"], linking["duplicate"]
    linked = await post_form(client, f"/actions/{a}/constats", {"constats": str(duplicate)})
    assert linked.status_code == 303
    rows = await ActionObservation.select(ActionObservation.observation).where(ActionObservation.action == a)
    assert [r["observation"] for r in rows] == [kept]
    # Linking the original and its duplicate together links it once.
    await post_form(client, f"/actions/{a}/constats", {"constats": f"{kept},{duplicate}"})
    assert await ActionObservation.count().where(ActionObservation.action == a) == 1

    form = await client.get(f"/actions/nouvelle?constats={duplicate}")
    assert f'name="constats" value="{kept}"' in form.text
    assert f"Le constat n° {duplicate} est un doublon du n° {kept} : c'est le n° {kept} qui est lié." in shown(form)
    page = await client.get(f"/constats/{duplicate}")
    assert f"Ce constat est un doublon du n° {kept} : une action créée ou liée d'ici répond au n° {kept}." in \
        shown(page)


# ---------------------------------------------------------------- wording and the way back

async def test_a_closed_walk_reads_cloturee(client):
    walk = await make_walk("closed", title="Marche d'octobre")
    await sign_in(client, "coordinator")
    for path in ("/marches", f"/marches/{walk.id}"):
        page = await client.get(path)
        assert '<span class="badge badge-closed">Clôturée</span>' in page.text, path
        assert ">Close<" not in page.text


async def test_a_band_of_the_actions_table_names_one_axe(client):
    coordinator = await sign_in(client, "coordinator")
    await new_action(coordinator, axe="ambiance", problem="Éclairage")
    for path in ("/actions", "/actions/imprimer"):
        text = shown(await client.get(path))
        assert "Axe d'intervention : Ambiance urbaine" in text and "Axes d'intervention :" not in text, path


async def test_a_participant_on_the_map_goes_back_to_their_walk(client, other_client):
    walk = await make_walk("open")
    await make_walk("open", title="Une autre marche")
    await join(client, walk)
    page = await client.get("/carte")
    assert page.status_code == 200
    assert f'<a id="back-to-walk" href="/marches/{walk.id}/terrain">← Retour à la marche</a>' in page.text
    # Staff who never joined it have no walk to go back to.
    await sign_in(other_client, "committee")
    assert "Retour à la marche" not in (await other_client.get(f"/carte?walk={walk.id}")).text
