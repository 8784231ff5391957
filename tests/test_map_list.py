"""The map's list of the constats in view (GET /carte/liste): the map's filters, the box of the
view, the limit with "zoom in", escaped user text, and participants see only their walk."""

from __future__ import annotations

import re

from conftest import make_walk, shown, sign_in
from test_api_observations import join, make_walk_second
from test_review import KNOWN, XSS, seed

from walkapp.review import services

# Seeded constats sit at lat 50.5636 + n * 0.0001, lon 2.4826: this box holds the first three.
FIRST_THREE = "2.4820,50.56355,2.4830,50.56385"


def listed(response) -> list[int]:
    return [int(n) for n in re.findall(r'<li class="in-view-row" data-constat="(\d+)"', response.text)]


async def test_list_follows_filters_and_box(client, other_client):
    walk = await make_walk("open")
    await join(client, walk)
    ids = await seed(client, walk, KNOWN)
    await sign_in(other_client, "coordinator")

    everything = await other_client.get(f"/carte/liste?walk={walk.id}")
    assert everything.status_code == 200 and "<html" not in everything.text
    assert sorted(listed(everything)) == sorted(ids) and "6 constats dans la vue" in shown(everything)
    boxed = await other_client.get(f"/carte/liste?walk={walk.id}&bbox={FIRST_THREE}")
    assert sorted(listed(boxed)) == ids[:3] and "3 constats dans la vue" in shown(boxed)
    both = await other_client.get(f"/carte/liste?walk={walk.id}&issue=dechets&polarity=positive&bbox={FIRST_THREE}")
    assert listed(both) == [ids[2]] and "1 constat dans la vue" in shown(both)
    # Each row: issue, angle, faible/fort, street, date (dd/mm/yyyy), status, a tick box for the tray.
    text = shown(boxed)
    for words in ("Déchets", "Usages", "Point faible", "Point fort", "Rue Carnot", "25/11/2026", "Nouveau"):
        assert words in text, words
    assert f'class="select-constat" data-constat="{ids[0]}"' in boxed.text


async def test_list_is_limited_with_a_word_to_zoom_in(client, other_client):
    walk = await make_walk("open")
    await join(client, walk)
    ids = await seed(client, walk, KNOWN)
    await sign_in(other_client, "committee")
    in_view = await services.list_in_view(None, None, limit=4)
    assert (len(in_view.rows), in_view.total, in_view.more) == (4, 6, 2)
    assert [r["id"] for r in in_view.rows] == sorted(ids, reverse=True)[:4]  # newest first
    assert services.LIST_LIMIT == 200
    page = await other_client.get(f"/carte/liste?walk={walk.id}")
    assert "et 0 de plus" not in shown(page) and "zoomez" not in shown(page)


async def test_bad_box_is_a_clear_422_and_unknown_filters_are_ignored(client, other_client):
    walk = await make_walk("open")
    await join(client, walk)
    await seed(client, walk, KNOWN[:1])
    await sign_in(other_client, "committee")
    for box in ("1,2,3", "a,b,c,d", "2.5,50.6,2.4,50.5", "200,0,201,1", "1,2,3,4,5", "NaN,1,2,3"):
        response = await other_client.get(f"/carte/liste?bbox={box}")
        assert response.status_code == 422, box
        assert "Zone" in shown(response), box
    ignored = await other_client.get("/carte/liste?issue=bruit&walk=abc")
    assert ignored.status_code == 200 and len(listed(ignored)) == 1


async def test_user_text_in_the_list_is_escaped(client, other_client):
    walk = await make_walk("open")
    await join(client, walk)
    await seed(client, walk, KNOWN[:1], street=XSS[:200])
    await sign_in(other_client, "agent")
    page = await other_client.get(f"/carte/liste?walk={walk.id}")
    assert page.status_code == 200
    assert "<script>alert" not in page.text and "<img src=x" not in page.text
    assert "&lt;script&gt;alert(" in page.text


async def test_participants_list_only_their_walk(client, other_client):
    walk = await make_walk("open")
    await join(client, walk)
    mine = await seed(client, walk, KNOWN[:2])
    other = await make_walk_second()
    await join(other_client, other, "Zoé")
    theirs = await seed(other_client, other, KNOWN[:1])
    # Asking for the other walk, or for everything, still lists only one's own walk.
    for query in (f"walk={other.id}", "", f"walk={other.id}&bbox=-180,-90,180,90"):
        page = await client.get(f"/carte/liste?{query}")
        assert page.status_code == 200, query
        assert sorted(listed(page)) == sorted(mine) and theirs[0] not in listed(page), query
    # Participants can't create actions: no tick boxes.
    assert "select-constat" not in (await client.get("/carte/liste")).text


async def test_list_needs_sign_in(app):
    from litestar.testing import AsyncTestClient

    async with AsyncTestClient(app=app) as anonymous:
        response = await anonymous.get("/carte/liste", follow_redirects=False)
    assert response.status_code in (401, 303) and "constat" not in response.text
