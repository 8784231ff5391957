"""Passwords, secure cookies and CSRF. The sign-in throttle: accounts.throttle; who may do what: walkapp.policy."""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from litestar.middleware.csrf import CSRFMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from .policy import bearer_token

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
    alone (see walkapp.policy), so the check has nothing to protect there.
    Open311 clients post a form with an `api_key` field (the spec's credential) and no CSRF token.
    Only that handler skips the check (it says so itself: `opt={"exclude_from_csrf": True}`, Litestar's
    CSRFConfig.exclude_from_csrf_key), and it reads the key and never a cookie or session
    (policy.with_api_key(cookies=False)), so a cross-site forged POST gains nothing a stranger
    without a key could not do; every other form under /open311/ (the keys page) keeps it.
    "Carries a Bearer token" is policy.bearer_token's answer, the same one that keeps such requests
    off the cookie (a blank token included: it is anonymous, never the cookie's user).
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _has_bearer(scope):
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def _has_bearer(scope: Scope) -> bool:
    return any(name == b"authorization" and bearer_token(value.decode("latin-1")) is not None
               for name, value in scope["headers"])
