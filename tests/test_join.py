"""Joining a walk by its link: a display name, a participant session, nothing else."""

from conftest import make_walk, post_form, shown, sign_in

from walkapp.tables import Participant


async def test_join_with_a_display_name(client):
    walk = await make_walk("open")
    page = await client.get(f"/j/{walk.join_secret}")
    assert page.status_code == 200 and "Votre nom" in page.text and "Marche test" in page.text
    response = await post_form(client, f"/j/{walk.join_secret}", {"display_name": "  Zoé   Martin "})
    assert response.status_code == 303 and response.headers["location"] == f"/marches/{walk.id}/terrain"
    participant = await Participant.objects().first()
    assert participant.display_name == "Zoé Martin" and participant.walk == walk.id and participant.user is None
    field = await client.get(f"/marches/{walk.id}/terrain")
    assert field.status_code == 200 and "Zoé Martin" in field.text
    # Opening the link again goes straight to the walk: no second participant.
    again = await client.get(f"/j/{walk.join_secret}", follow_redirects=False)
    assert again.status_code == 303 and await Participant.count() == 1


async def test_a_planned_walk_can_be_joined_ahead(client):
    walk = await make_walk("planned")
    assert (await post_form(client, f"/j/{walk.join_secret}", {"display_name": "Ali"})).status_code == 303


async def test_field_page_needs_a_join(client, other_client):
    walk = await make_walk("open")
    response = await other_client.get(f"/marches/{walk.id}/terrain", follow_redirects=False)
    # 401 and the reason, not the staff's sign-in page: a resident joins, with the link or QR code.
    assert response.status_code == 401 and "Rejoignez d'abord la marche" in shown(response)


async def test_a_participant_is_not_staff(client):
    walk = await make_walk("open")
    await post_form(client, f"/j/{walk.join_secret}", {"display_name": "Ali"})
    # Known, and refused: the staff's pages say who they are for (policy "walks.list").
    assert (await client.get(f"/marches/{walk.id}", follow_redirects=False)).status_code == 403
    refused = await client.get("/marches", follow_redirects=False)
    assert refused.status_code == 403 and "réservée aux agents, coordinateurs et membres du comité" in shown(refused)


async def test_unknown_join_link(client):
    for secret in ("nimportequoi1234", "x", "a" * 300):
        response = await client.get(f"/j/{secret}")
        assert response.status_code == 404
        assert "Ce lien d'invitation ne correspond à aucune marche" in shown(response)
    response = await post_form(client, "/j/nimportequoi1234", {"display_name": "Ali"})
    assert response.status_code == 404 and await Participant.count() == 0


async def test_closed_walk_cannot_be_joined(client):
    walk = await make_walk("closed")
    page = await client.get(f"/j/{walk.join_secret}")
    assert "Cette marche est close" in page.text and "<form id=\"join-form\"" not in page.text
    response = await post_form(client, f"/j/{walk.join_secret}", {"display_name": "Ali"})
    assert response.status_code == 403 and "Cette marche est close : on ne peut plus la rejoindre." in response.text
    assert await Participant.count() == 0


async def test_empty_or_too_long_display_name(client):
    walk = await make_walk("open")
    for name, message in (("", "Votre nom : ce champ est obligatoire."),
                          ("   ", "Votre nom : ce champ est obligatoire."),
                          ("é" * 500, "Votre nom : 60 caractères au plus.")):
        response = await post_form(client, f"/j/{walk.join_secret}", {"display_name": name}, htmx=True)
        assert response.status_code == 422 and message in response.text
        assert 'aria-invalid="true"' in response.text
    assert await Participant.count() == 0


async def test_html_display_name_is_escaped_everywhere(client, other_client):
    walk = await make_walk("open")
    name = '<script>alert(1)</script>'
    assert (await post_form(client, f"/j/{walk.join_secret}", {"display_name": name})).status_code == 303
    field = await client.get(f"/marches/{walk.id}/terrain")
    assert "<script>alert(1)</script>" not in field.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in field.text
    await sign_in(other_client)
    for path in (f"/marches/{walk.id}", f"/marches/{walk.id}/participants"):
        page = await other_client.get(path, headers={"hx-request": "true"} if "participants" in path else {})
        assert "<script>alert(1)</script>" not in page.text and "&lt;script&gt;" in page.text


async def test_staff_joining_is_linked_to_their_account(client):
    user = await sign_in(client, "agent")
    walk = await make_walk("open")
    page = await client.get(f"/j/{walk.join_secret}")
    assert f'value="{user.display_name}"' in page.text
    await post_form(client, f"/j/{walk.join_secret}", {"display_name": user.display_name})
    participant = await Participant.objects().first()
    assert participant.user == user.id
    detail = await client.get(f"/marches/{walk.id}")
    assert "(compte Agent)" in detail.text


async def test_join_session_survives_sign_in(client):
    walk = await make_walk("open")
    await post_form(client, f"/j/{walk.join_secret}", {"display_name": "Ali"})
    await sign_in(client, "agent")
    assert (await client.get(f"/marches/{walk.id}/terrain")).status_code == 200
