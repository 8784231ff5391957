"""Sign-in, sign-out, sessions, CSRF, throttling, role guards, and the createuser command."""

import logging
import subprocess
import sys

from conftest import PASSWORD, csrf_headers, make_user, post_form, shown, sign_in

from walkapp.tables import StaffUser


async def test_sign_in_and_out(client):
    await make_user("coordinator")
    response = await post_form(client, "/connexion", {"email": "  COORDINATOR@ville.example ", "password": PASSWORD,
                                                      "next": "/marches"})
    assert response.status_code == 303 and response.headers["location"] == "/marches"
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("walkapp_session="))
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
    assert "secure" not in cookie.lower()  # served over http here: a Secure cookie would never come back
    page = await client.get("/marches")
    assert page.status_code == 200 and "<h1>Marches</h1>" in page.text and "Se déconnecter" in page.text
    out = await post_form(client, "/deconnexion", {})
    assert out.status_code == 303
    assert (await client.get("/marches", follow_redirects=False)).status_code == 303


async def test_wrong_password_and_unknown_email_say_the_same_thing(client):
    await make_user("agent")
    for email, password in (("agent@ville.example", "faux-mot-de-passe"), ("nobody@ville.example", PASSWORD)):
        response = await post_form(client, "/connexion", {"email": email, "password": password})
        assert response.status_code == 401
        assert "Adresse e-mail ou mot de passe incorrect." in response.text
        assert "user_id" not in str(client.cookies.get("walkapp_session", ""))
    assert (await client.get("/marches", follow_redirects=False)).status_code == 303


async def test_htmx_sign_in_error_swaps_the_form_only(client):
    await make_user("agent")
    response = await post_form(client, "/connexion", {"email": "agent@ville.example", "password": "x"}, htmx=True)
    assert response.status_code == 401
    assert response.text.lstrip().startswith("<form") and "incorrect" in response.text


async def test_sign_in_attempts_are_rate_limited(client):
    await make_user("agent")
    for _ in range(5):
        response = await post_form(client, "/connexion", {"email": "agent@ville.example", "password": "x"})
        assert response.status_code == 401
    # Even the right password waits now: the attacker can't tell.
    response = await post_form(client, "/connexion", {"email": "agent@ville.example", "password": PASSWORD})
    assert response.status_code == 429
    assert "Trop de tentatives de connexion" in response.text


async def test_post_without_csrf_token_is_refused_in_french(client):
    await make_user("coordinator")
    await client.get("/connexion")
    response = await client.post("/connexion", data={"email": "coordinator@ville.example", "password": PASSWORD})
    assert response.status_code == 403
    assert "Le formulaire a expiré" in response.text
    assert "Traceback" not in response.text


async def test_next_is_never_an_open_redirect(client):
    await make_user("coordinator")
    response = await post_form(client, "/connexion", {"email": "coordinator@ville.example", "password": PASSWORD,
                                                      "next": "//evil.example/"})
    assert response.headers["location"] == "/"


async def test_role_guards(client):
    # Anonymous: sent to sign in. Committee and agent: may read walks, not create them.
    assert (await client.get("/marches/nouvelle", follow_redirects=False)).headers["location"].startswith("/connexion")
    for role in ("committee", "agent"):
        await sign_in(client, role)
        assert (await client.get("/marches")).status_code == 200
        response = await client.get("/marches/nouvelle")
        assert response.status_code == 403 and "Votre rôle ne permet pas cette action : seuls les coordinateurs " \
            "planifient" in shown(response)
        assert (await post_form(client, "/marches/", {"title": "x"})).status_code == 403
        await post_form(client, "/deconnexion", {})
    await sign_in(client, "coordinator")
    assert (await client.get("/marches/nouvelle")).status_code == 200


async def test_secure_cookie_over_https(app):
    from litestar.testing import AsyncTestClient

    from walkapp.security import SecureCookiesOverHttps

    await make_user("coordinator")
    async with AsyncTestClient(app=SecureCookiesOverHttps(app), base_url="https://walkapp.example") as client:
        response = await client.get("/connexion")
        assert all("Secure" in c for c in response.headers.get_list("set-cookie"))


async def test_a_session_survives_a_restart(tmp_path, monkeypatch):
    """No WALKAPP_SECRET_KEY: the key made on first start is read back by the next start."""
    from litestar.testing import AsyncTestClient

    from walkapp.app import create_app
    from walkapp.settings import Settings

    monkeypatch.delenv("WALKAPP_SECRET_KEY")
    monkeypatch.setenv("WALKAPP_MEDIA_DIR", str(tmp_path / "media"))
    await make_user("coordinator")
    async with AsyncTestClient(app=create_app(Settings.from_env(), db_pool=False)) as first:
        await post_form(first, "/connexion", {"email": "coordinator@ville.example", "password": PASSWORD})
        cookies = dict(first.cookies)
    async with AsyncTestClient(app=create_app(Settings.from_env(), db_pool=False), cookies=cookies) as second:
        assert (await second.get("/marches", follow_redirects=False)).status_code == 200


async def test_passwords_are_hashed_and_never_logged(client, caplog, test_env, tmp_path):
    caplog.set_level(logging.DEBUG)
    await make_user("coordinator")
    stored = await StaffUser.select(StaffUser.password_hash).first()
    assert stored["password_hash"].startswith("$argon2id$") and PASSWORD not in stored["password_hash"]
    await post_form(client, "/connexion", {"email": "coordinator@ville.example", "password": "secret-essai-123"})
    assert "secret-essai-123" not in caplog.text and PASSWORD not in caplog.text


async def test_createuser_command(test_env, tmp_path):
    from walkapp.tables import Partner

    await Partner(name="SIA Habitat", kind="bailleur").save()
    command = [sys.executable, "-m", "walkapp", "createuser", "--email", "Agent.SIA@sia.example", "--role", "agent",
               "--partner", "SIA Habitat", "--name", "Agent SIA", "--password-stdin"]
    result = subprocess.run(command, input="mot-de-passe-agent\n", capture_output=True, text=True, env=test_env,
                            cwd=tmp_path, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "mot-de-passe-agent" not in result.stdout + result.stderr
    user = await StaffUser.objects(StaffUser.partner).where(StaffUser.email == "agent.sia@sia.example").first()
    assert user.role == "agent" and user.partner.name == "SIA Habitat"
    # A second account with the same address, or a short password: refused, in French, nothing stored.
    again = subprocess.run(command, input="mot-de-passe-agent\n", capture_output=True, text=True, env=test_env,
                           cwd=tmp_path, timeout=60)
    assert again.returncode != 0 and "existe déjà" in again.stderr
    short = subprocess.run([*command[:5], "autre@sia.example", *command[6:]], input="court\n", capture_output=True,
                           text=True, env=test_env, cwd=tmp_path, timeout=60)
    assert short.returncode != 0 and "10 caractères" in short.stderr
    assert await StaffUser.count() == 1


async def test_csrf_header_is_accepted_for_htmx(client):
    await make_user("coordinator")
    headers = await csrf_headers(client)
    response = await client.post("/connexion", data={"email": "coordinator@ville.example", "password": PASSWORD},
                                 headers={**headers, "hx-request": "true"})
    assert response.status_code == 200 and response.headers.get("hx-redirect") == "/"


async def test_html_typed_as_email_comes_back_escaped(client):
    response = await post_form(client, "/connexion", {"email": '"><script>alert(1)</script>', "password": "x"})
    assert response.status_code == 401
    assert "<script>alert(1)</script>" not in response.text and "&lt;script&gt;" in response.text


async def test_bearer_requests_never_ride_on_the_staff_session(client):
    """Bearer requests skip CSRF, so a staff cookie sent along must not sign them in."""
    await sign_in(client, "coordinator")
    assert (await client.get("/marches", follow_redirects=False)).status_code == 200
    response = await client.post("/marches/", data={"title": "x"}, headers={"Authorization": "Bearer nimporte"},
                                 follow_redirects=False)
    assert response.status_code in (401, 303)
    from walkapp.tables import Walk

    assert await Walk.count() == 0
