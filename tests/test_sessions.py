"""Sessions kept in the database, the sign-in throttle, and the security headers of every response."""

from __future__ import annotations

import datetime as dt

from conftest import PASSWORD, csrf_headers, make_user, make_walk, post_form, sign_in
from litestar.testing import AsyncTestClient

from walkapp.tables import SignInFailure, WebSession


class FromAddress:
    """The app as reached from one client address (the test client always says "testclient")."""

    def __init__(self, app, host: str):
        self.app, self.host = app, host

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            scope = {**scope, "client": (self.host, 40000)}
        await self.app(scope, receive, send)


def session_cookie(response) -> str | None:
    for header in response.headers.get_list("set-cookie"):
        if header.startswith("walkapp_session="):
            return header
    return None


# ---------------------------------------------------------------- sessions

async def test_the_cookie_holds_only_a_random_id(client):
    user = await sign_in(client, "coordinator")
    value = client.cookies["walkapp_session"]
    assert len(value) == 64 and set(value) <= set("0123456789abcdef")  # no data, nothing signed
    row = await WebSession.objects().first()
    assert row.staff_user == user.id and '"user_id"' in row.data
    assert row.key_hash != value  # the table keeps its hash: a backup opens no session


async def test_a_copied_cookie_opens_nothing_after_sign_out(client, app):
    await sign_in(client, "coordinator")
    copied = dict(client.cookies)
    async with AsyncTestClient(app=app, cookies=copied) as thief:
        assert (await thief.get("/marches", follow_redirects=False)).status_code == 200
        out = await post_form(client, "/deconnexion", {})
        assert out.status_code == 303 and out.headers["clear-site-data"] == '"cache"'
        assert "max-age=0" in session_cookie(out).lower()
        assert await WebSession.count() == 0
        assert (await thief.get("/marches", follow_redirects=False)).status_code == 303


async def test_sign_in_gives_a_new_session_id(client):
    """An id planted before sign-in (fixation) never becomes the signed-in session."""
    walk = await make_walk("open")
    await post_form(client, f"/j/{walk.join_secret}", {"display_name": "Zoé"})
    before = client.cookies["walkapp_session"]
    await sign_in(client, "agent")
    after = client.cookies["walkapp_session"]
    assert after != before
    assert await WebSession.count() == 1
    # The walk joined before signing in is still joined.
    assert (await client.get(f"/marches/{walk.id}/terrain")).status_code == 200


async def test_an_unknown_or_malformed_session_cookie_is_no_session(client):
    for value in ("0" * 64, "nimporte", "null", "x" * 5000):
        client.cookies.set("walkapp_session", value)
        response = await client.get("/marches", follow_redirects=False)
        assert response.status_code == 303
        cookie = session_cookie(response)  # none, or one that deletes the stale cookie
        assert cookie is None or "max-age=0" in cookie.lower()
    assert await WebSession.count() == 0


async def test_anonymous_requests_write_no_session(client):
    for path in ("/", "/connexion", "/static/css/app.css", "/api/v1/csrf", "/pas-de-page"):
        await client.get(path)
    assert await WebSession.count() == 0


async def test_sessions_are_shared_by_every_app_instance(client, app):
    """What two workers (or a restart) see: the session is in the database, not in a process."""
    from walkapp.app import create_app

    await sign_in(client, "coordinator")
    async with AsyncTestClient(app=create_app(db_pool=False), cookies=dict(client.cookies)) as other_worker:
        assert (await other_worker.get("/marches", follow_redirects=False)).status_code == 200
        await post_form(client, "/deconnexion", {})
        assert (await other_worker.get("/marches", follow_redirects=False)).status_code == 303


async def test_idle_sessions_expire_and_are_renewed_when_used(client):
    from walkapp import sessions

    user = await sign_in(client, "agent")
    row = await WebSession.objects().first()
    assert row.idle_seconds == sessions.STAFF_IDLE.total_seconds()
    # Used after two hours: renewed for the whole idle time again, and the cookie is sent again.
    earlier = dt.datetime.now(dt.UTC) + sessions.STAFF_IDLE - dt.timedelta(hours=2)
    await WebSession.update({WebSession.expires_at: earlier}).where(WebSession.id == row.id)
    response = await client.get("/marches")
    assert response.status_code == 200 and session_cookie(response) is not None
    renewed = await WebSession.objects().first()
    assert renewed.expires_at > earlier + dt.timedelta(hours=1)
    # Used a second later: no write, no cookie (every phone polls the feed every few seconds).
    assert session_cookie(await client.get("/marches")) is None
    # Past its idle time: no session, and the purge deletes it.
    await WebSession.update({WebSession.expires_at: dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)}).where(
        WebSession.id == row.id)
    assert (await client.get("/marches", follow_redirects=False)).status_code == 303
    await sessions.purge_expired()
    assert await WebSession.count().where(WebSession.staff_user == user.id) == 0


async def test_participant_sessions_last_longer_than_staff_ones(client):
    from walkapp import sessions

    walk = await make_walk("open")
    await post_form(client, f"/j/{walk.join_secret}", {"display_name": "Zoé"})
    row = await WebSession.objects().first()
    assert row.staff_user is None and row.idle_seconds == sessions.PARTICIPANT_IDLE.total_seconds()
    assert sessions.PARTICIPANT_IDLE > sessions.STAFF_IDLE


async def test_a_coordinator_ends_an_agents_sessions(client, other_client, app):
    agent = await sign_in(other_client, "agent")
    async with AsyncTestClient(app=app) as second_phone:
        await post_form(second_phone, "/connexion", {"email": agent.email, "password": PASSWORD})
        assert (await second_phone.get("/marches", follow_redirects=False)).status_code == 200
        coordinator = await sign_in(client, "coordinator")
        page = await client.get("/comptes")
        assert page.status_code == 200 and "Fermer ses sessions" in page.text and agent.email in page.text
        response = await post_form(client, f"/comptes/{agent.id}/fermer-sessions", {}, htmx=True)
        assert response.status_code == 200 and "2 sessions fermées" in response.text
        for phone in (other_client, second_phone):
            assert (await phone.get("/marches", follow_redirects=False)).status_code == 303
    # The coordinator's own session is untouched.
    assert (await client.get("/marches", follow_redirects=False)).status_code == 200
    assert await WebSession.count().where(WebSession.staff_user == coordinator.id) == 1


async def test_only_coordinators_see_accounts(client):
    await sign_in(client, "agent")
    assert (await client.get("/comptes")).status_code == 403
    assert (await post_form(client, "/comptes/1/fermer-sessions", {})).status_code == 403
    await post_form(client, "/deconnexion", {})
    await sign_in(client, "coordinator", "chef@ville.example")
    assert (await post_form(client, "/comptes/2147483647/fermer-sessions", {})).status_code == 404
    assert (await post_form(client, "/comptes/99999999999/fermer-sessions", {})).status_code == 404


async def test_changing_a_password_ends_the_other_sessions(client, other_client):
    user = await sign_in(client, "agent")
    await post_form(other_client, "/connexion", {"email": user.email, "password": PASSWORD})
    new = "un-nouveau-mot-de-passe"
    refused = await post_form(client, "/compte/mot-de-passe", {"current": "faux", "new": new, "confirm": new},
                              htmx=True)
    assert refused.status_code == 422 and "il ne correspond pas" in refused.text
    short = await post_form(client, "/compte/mot-de-passe", {"current": PASSWORD, "new": "court", "confirm": "court"})
    assert short.status_code == 422 and "10 caractères au moins" in short.text
    assert (await other_client.get("/marches", follow_redirects=False)).status_code == 200  # nothing changed yet
    done = await post_form(client, "/compte/mot-de-passe", {"current": PASSWORD, "new": new, "confirm": new}, htmx=True)
    assert done.status_code == 200 and "Mot de passe changé" in done.text and "1 session fermée" in done.text
    assert (await other_client.get("/marches", follow_redirects=False)).status_code == 303
    assert (await client.get("/marches", follow_redirects=False)).status_code == 200
    await post_form(client, "/deconnexion", {})
    assert (await post_form(client, "/connexion", {"email": user.email, "password": PASSWORD})).status_code == 401
    assert (await post_form(client, "/connexion", {"email": user.email, "password": new})).status_code == 303


async def test_participants_can_sign_out_too(client):
    walk = await make_walk("open")
    await post_form(client, f"/j/{walk.join_secret}", {"display_name": "Zoé"})
    page = await client.get(f"/marches/{walk.id}/terrain")
    assert "Se déconnecter" in page.text
    await post_form(client, "/deconnexion", {})
    assert (await client.get(f"/marches/{walk.id}/terrain")).status_code == 401  # a stranger again: join first (policy)
    assert await WebSession.count() == 0


# ---------------------------------------------------------------- the sign-in throttle

async def _try(app, host: str, email: str, password: str):
    async with AsyncTestClient(app=FromAddress(app, host)) as phone:
        return await post_form(phone, "/connexion", {"email": email, "password": password})


async def test_wrong_passwords_from_one_address_never_lock_the_owner_out(app):
    from walkapp.app import create_app

    user = await make_user("agent")
    for _ in range(5):
        assert (await _try(app, "203.0.113.7", user.email, "mauvais")).status_code == 401
    refused = await _try(app, "203.0.113.7", user.email, PASSWORD)
    assert refused.status_code == 429 and "Réessayez dans 15 minutes" in refused.text
    assert 800 < int(refused.headers["retry-after"]) <= 900
    # The agent, from the town hall's address: signed in at once.
    assert (await _try(app, "198.51.100.20", user.email, PASSWORD)).status_code == 303
    # A restarted app (or another worker) still refuses the first address.
    assert (await _try(create_app(db_pool=False), "203.0.113.7", user.email, PASSWORD)).status_code == 429


async def test_an_address_failing_on_many_emails_is_refused_for_all(app):
    from walkapp.accounts import throttle

    user = await make_user("agent")
    for i in range(throttle.PER_ADDRESS - 1):  # as the earlier tries would have left them
        await throttle.failed(f"essai{i}@ville.example", "2001:db8:1:2::/64")
    assert (await _try(app, "2001:db8:1:2::1", "dernier@ville.example", "mauvais")).status_code == 401
    # Another address of the same IPv6 /64 is the same subscriber.
    refused = await _try(app, "2001:db8:1:2::ffff", user.email, PASSWORD)
    assert refused.status_code == 429 and "retry-after" in refused.headers
    assert (await _try(app, "2001:db8:1:3::1", user.email, PASSWORD)).status_code == 303


async def test_the_json_api_shape_of_a_throttled_sign_in(app):
    await make_user("agent")
    for _ in range(5):
        await _try(app, "192.0.2.9", "agent@ville.example", "mauvais")
    async with AsyncTestClient(app=FromAddress(app, "192.0.2.9")) as phone:
        headers = {**await csrf_headers(phone), "accept": "application/json"}
        response = await phone.post("/connexion", data={"email": "agent@ville.example", "password": "x"},
                                    headers=headers)
    assert response.status_code == 429 and response.json()["error"] == "too_many_requests"
    assert "Réessayez dans" in response.json()["detail"]


async def test_a_right_password_forgives_that_addresses_mistakes_and_old_failures_are_deleted(app):
    from walkapp.accounts import throttle

    user = await make_user("agent")
    for _ in range(4):
        await _try(app, "192.0.2.1", user.email, "mauvais")
    assert (await _try(app, "192.0.2.1", user.email, PASSWORD)).status_code == 303
    assert await SignInFailure.count() == 0
    old = dt.datetime.now(dt.UTC) - throttle.WINDOW - dt.timedelta(minutes=1)
    await SignInFailure(email="x@ville.example", address="192.0.2.2", at=old).save()
    throttle._last_purge = 0.0
    await throttle.failed("y@ville.example", "192.0.2.3")
    assert await SignInFailure.count() == 1 and await throttle.retry_after("x@ville.example", "192.0.2.2") == 0


# ---------------------------------------------------------------- security headers

async def test_security_headers_on_every_kind_of_response(client):
    for path in ("/connexion", "/pas-de-page", "/static/css/app.css", "/api/v1/csrf", "/open311/v2/services.json"):
        response = await client.get(path)
        csp = response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp, path
        assert "'unsafe-inline'" not in csp.split("script-src", 1)[1].split(";")[0], path
        assert "'unsafe-eval'" not in csp, path
        assert response.headers["x-content-type-options"] == "nosniff", path
        assert response.headers["x-frame-options"] == "DENY", path
        assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin", path
        assert "camera=(self)" in response.headers["permissions-policy"], path
        assert "strict-transport-security" not in response.headers, path  # over http


async def test_hsts_over_https(app):
    from walkapp.security import SecureCookiesOverHttps

    async with AsyncTestClient(app=SecureCookiesOverHttps(app), base_url="https://walkapp.example") as secure:
        assert (await secure.get("/connexion")).headers["strict-transport-security"].startswith("max-age=")


def test_tiles_host_in_the_csp():
    from walkapp.headers import content_security_policy, tiles_source

    assert tiles_source("https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png") == "https://*.tile.openstreetmap.org"
    assert tiles_source("https://tile.openstreetmap.org/{z}/{x}/{y}.png") == "https://tile.openstreetmap.org"
    assert tiles_source("http://tuiles.local:8080/{z}/{x}/{y}.png") == "http://tuiles.local:8080"
    assert tiles_source("/tuiles/{z}/{x}/{y}.png") == ""
    csp = content_security_policy("https://{s}.tile.example.org/{z}/{x}/{y}.png", "abc")
    assert "img-src 'self' data: blob: https://*.tile.example.org" in csp and "script-src 'self' 'nonce-abc'" in csp
    # The service worker fetches the walk's tiles (static/js/sw.js): its fetches need the host too;
    # pages' don't.
    assert "connect-src 'self';" in csp
    worker = content_security_policy("https://{s}.tile.example.org/{z}/{x}/{y}.png", None, worker=True)
    assert "connect-src 'self' https://*.tile.example.org;" in worker
    assert "connect-src 'self';" in content_security_policy("/tuiles/{z}/{x}/{y}.png", None, worker=True)


async def test_the_map_script_runs_with_the_pages_nonce(client):
    import re

    await sign_in(client, "coordinator")
    response = await client.get("/carte")
    nonce = re.search(r"'nonce-([^']+)'", response.headers["content-security-policy"]).group(1)
    scripts = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", response.text)
    assert scripts and all(f'nonce="{nonce}"' in attributes for attributes in scripts)
    assert f'"inlineScriptNonce":"{nonce}"' in response.text  # htmx's swapped-in map scripts
    assert nonce not in (await client.get("/carte")).text  # one per response


async def test_staff_answers_are_never_stored_but_static_files_and_participant_pages_may_be(client, other_client):
    walk = await make_walk("open")
    await post_form(other_client, f"/j/{walk.join_secret}", {"display_name": "Zoé"})
    field = await other_client.get(f"/marches/{walk.id}/terrain")
    assert "no-store" not in field.headers.get("cache-control", "")
    await sign_in(client, "coordinator")
    for path in ("/marches", f"/marches/{walk.id}/terrain", "/carte", "/actions", "/compte"):
        assert (await client.get(path)).headers["cache-control"] == "no-store", path
    assert "no-store" not in (await client.get("/static/css/app.css")).headers.get("cache-control", "")
