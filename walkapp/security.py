"""Passwords, who is signed in, and the role guards of the routes (the sign-in throttle: accounts.throttle)."""

from __future__ import annotations

import hmac
import secrets
from typing import Any
from collections.abc import Callable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.middleware.csrf import CSRFMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from .errors import Forbidden, SignInRequired
from .tables import StaffUser

_hasher = PasswordHasher()
# A hash to verify against when the e-mail is unknown, so that the answer takes as long as for a
# known one and doesn't tell which addresses have accounts.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def new_token(nbytes: int = 24) -> str:
    return secrets.token_urlsafe(nbytes)


def same_secret(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


class SessionUserMiddleware(AbstractAuthenticationMiddleware):
    """Puts the signed-in staff user (or None) on every request, as `request.user`.

    Never refuses a request itself: the guards below decide, route by route.
    """

    async def authenticate_request(self, connection: ASGIConnection) -> AuthenticationResult:
        user = None
        if connection.headers.get("authorization", "").lower().startswith("bearer "):
            # Bearer requests skip CSRF (CSRFUnlessBearer), so they must never ride on the
            # staff session cookie: the token is their only credential.
            return AuthenticationResult(user=None, auth=None)
        session = connection.scope.get("session") or {}
        user_id = session.get("user_id") if isinstance(session, dict) else None
        if isinstance(user_id, int):
            user = await StaffUser.objects(StaffUser.partner).where(
                (StaffUser.id == user_id) & (StaffUser.active == True)  # noqa: E712
            ).first()
        return AuthenticationResult(user=user, auth=None)


def requires_staff(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    if connection.user is None:
        raise SignInRequired("Connectez-vous pour accéder à cette page.")


def requires_role(*roles: str) -> Callable[[ASGIConnection, BaseRouteHandler], None]:
    def guard(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
        requires_staff(connection, handler)
        if connection.user.role not in roles:
            raise Forbidden("Votre rôle ne permet pas cette action.")

    guard.__name__ = f"requires_role_{'_'.join(roles)}"
    return guard


requires_coordinator = requires_role("coordinator")


def staff_only(refusal: str, sign_in: str) -> Callable[[ASGIConnection, BaseRouteHandler], None]:
    """A guard for staff-only pages that a participant may well stumble on: staff signed in by
    session pass; a walk participant (joined walk or Bearer token) is told no with `refusal`
    (403); a stranger is sent to sign in with `sign_in`."""
    from .observations.access import bearer_token, session_participants

    def guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
        if connection.user is not None:  # never set for Bearer requests (SessionUserMiddleware)
            return
        if bearer_token(connection) or session_participants(connection):  # type: ignore[arg-type]
            raise Forbidden(refusal)
        raise SignInRequired(sign_in)

    return guard


class SecureCookiesOverHttps:
    """Marks every cookie Secure when the request came over https (directly or via a proxy that
    uvicorn trusts), so the same install works on a laptop over http and behind TLS in production."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("scheme") != "https":
            await self.app(scope, receive, send)
            return

        async def send_secure(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers: list[Any] = []
                for name, value in message.get("headers", []):
                    if name.lower() == b"set-cookie" and b"secure" not in value.lower():
                        value = value + b"; Secure"
                    headers.append((name, value))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_secure)


class CSRFUnlessBearer(CSRFMiddleware):
    """Litestar's double-submit CSRF check, except for requests that carry a Bearer token, and
    for the Open311 POST of a constat.

    CSRF abuses credentials a browser adds by itself (cookies); no browser adds an Authorization
    header to a cross-site request. Requests with a Bearer token are authenticated by that token
    alone (see observations.access), so the check has nothing to protect there.
    Open311 clients post a form with an `api_key` field (the spec's credential) and no CSRF token.
    Only those two exact paths skip the check, and their handler reads the key and never a cookie
    or session (open311.controllers), so a cross-site forged POST gains nothing a stranger without
    a key could not do; every other form under /open311/ (the keys page) keeps the check.
    """

    EXEMPT_POSTS = frozenset({"/open311/v2/requests.json", "/open311/v2/requests.xml"})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (any(
            name == b"authorization" and value[:7].lower() == b"bearer " for name, value in scope["headers"]
        ) or (scope.get("method") == "POST" and scope.get("path") in self.EXEMPT_POSTS)):
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)
