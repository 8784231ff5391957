"""Sessions kept in the application's database, so that they can end.

The cookie carries only a random id; what the session holds (`user_id` for staff, `participants`
{walk id: token} for the walks this browser joined) stays on the server, in the `web_session`
table, shared by every worker and kept across restarts. Because the server holds it, a session
can be ended: sign-out deletes it (a copied cookie then opens nothing), a coordinator can end
every session of an account (lost phone, departed agent), and a password change ends the
account's other sessions.

Sessions expire after a sliding idle time: STAFF_IDLE for a staff sign-in (staff pages show
every walk, so a forgotten session should not last), PARTICIPANT_IDLE for a browser that only
joined walks (a resident may come back to the walk's page weeks later).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import time
from dataclasses import dataclass, field
from typing import Any

from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.middleware.session.server_side import ServerSideSessionBackend, ServerSideSessionConfig
from litestar.serialization import decode_json
from litestar.stores.base import Store
from litestar.types import Empty, Message, ScopeSession
from litestar.utils.dataclass import extract_dataclass_items

from .clock import as_utc, now
from .tables import WebSession

COOKIE = "walkapp_session"
STAFF_IDLE = dt.timedelta(days=3)
PARTICIPANT_IDLE = dt.timedelta(days=30)
# A session is renewed (one write) only when at least this much of its idle time has passed:
# every phone polls the feed every few seconds, and a write per poll would be all SQLite does.
RENEW_STEP = dt.timedelta(hours=1)
PURGE_EVERY_S = 60
# What the session id in a cookie looks like (secrets.token_hex(32)); anything else is no session.
_ID = re.compile(r"[0-9a-f]{64}")
_LOADED = "walkapp.session_loaded"  # scope key: the session's bytes as read, to see changes



def _hash(session_id: str) -> str:
    """The table keeps the id's hash: a copy of the database (a backup) opens no session."""
    return hashlib.sha256(session_id.encode()).hexdigest()


def staff_user_id(session: dict[str, Any]) -> int | None:
    value = session.get("user_id") if isinstance(session, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def idle_time(session: dict[str, Any]) -> dt.timedelta:
    """How long the session lasts unused: shorter once a staff user is signed in."""
    return STAFF_IDLE if staff_user_id(session) is not None else PARTICIPANT_IDLE


def _decode(data: bytes | str) -> dict[str, Any]:
    try:
        value = decode_json(data)
    except Exception:  # noqa: BLE001 - a row we can't read is no session
        return {}
    return value if isinstance(value, dict) else {}


class DatabaseSessionStore(Store):
    """Litestar's key/value `Store` over the `web_session` table (both engines).

    `set` also copies the session's staff user id to an indexed column, so that every session of
    an account can be found and ended (`end_sessions`).
    """

    __slots__ = ("_last_purge",)

    def __init__(self) -> None:
        self._last_purge = 0.0

    async def set(self, key: str, value: str | bytes, expires_in: int | dt.timedelta | None = None) -> None:
        data = value.encode() if isinstance(value, str) else value
        idle = expires_in if isinstance(expires_in, dt.timedelta) else dt.timedelta(seconds=expires_in or 0)
        if idle <= dt.timedelta(0):
            idle = idle_time(_decode(data))
        row = WebSession(key_hash=_hash(key), data=data.decode(), staff_user=staff_user_id(_decode(data)),
                         idle_seconds=int(idle.total_seconds()), expires_at=now() + idle)
        await WebSession.insert(row).on_conflict(
            target=WebSession.key_hash, action="DO UPDATE",
            values=[WebSession.data, WebSession.staff_user, WebSession.idle_seconds, WebSession.expires_at])
        await self._purge_now_and_then()

    async def load(self, key: str, renew_for: int | dt.timedelta | None = None) -> tuple[bytes | None, bool]:
        """The session's data, and whether its expiry was pushed back (then the cookie is sent again).

        With `renew_for`, the session is renewed by its own idle time (at most `renew_for`), and only
        once RENEW_STEP of it has passed."""
        row = await WebSession.select(WebSession.id, WebSession.data, WebSession.expires_at,
                                      WebSession.idle_seconds).where(WebSession.key_hash == _hash(key)).first()
        at = now()
        expires_at = as_utc(row["expires_at"]) if row else None
        if expires_at is None or expires_at <= at:
            return None, False
        renewed = False
        if renew_for is not None:
            limit = renew_for if isinstance(renew_for, dt.timedelta) else dt.timedelta(seconds=renew_for)
            idle = min(dt.timedelta(seconds=row["idle_seconds"]), limit)
            if at + idle - expires_at >= RENEW_STEP:
                await WebSession.update({WebSession.expires_at: at + idle}).where(WebSession.id == row["id"])
                renewed = True
        return row["data"].encode(), renewed

    async def get(self, key: str, renew_for: int | dt.timedelta | None = None) -> bytes | None:
        return (await self.load(key, renew_for))[0]

    async def delete(self, key: str) -> None:
        await WebSession.delete().where(WebSession.key_hash == _hash(key))

    async def delete_all(self) -> None:
        await WebSession.delete(force=True)

    async def exists(self, key: str) -> bool:
        return await self.get(key) is not None

    async def expires_in(self, key: str) -> int | None:
        row = await WebSession.select(WebSession.expires_at).where(WebSession.key_hash == _hash(key)).first()
        left = int((as_utc(row["expires_at"]) - now()).total_seconds()) if row else -1
        return left if left > 0 else None

    async def _purge_now_and_then(self) -> None:
        """Expired sessions are deleted during writes, at most once a minute per process."""
        if time.monotonic() - self._last_purge < PURGE_EVERY_S:
            return
        self._last_purge = time.monotonic()
        await purge_expired()


async def purge_expired() -> None:
    await WebSession.delete().where(WebSession.expires_at <= now())


async def end_sessions(user_id: int, keep: str | None = None) -> int:
    """Ends every session of a staff account (but `keep`, the id of the caller's own session).
    Returns how many were ended."""
    where = WebSession.staff_user == user_id
    if keep:
        where = where & (WebSession.key_hash != _hash(keep))
    ended = await WebSession.count().where(where)
    await WebSession.delete().where(where)
    return ended


async def open_session_counts() -> dict[int, int]:
    """Staff user id -> number of unexpired sessions."""
    rows = await WebSession.select(WebSession.staff_user).where(
        (WebSession.staff_user.is_not_null()) & (WebSession.expires_at > now()))
    counts: dict[int, int] = {}
    for row in rows:
        counts[row["staff_user"]] = counts.get(row["staff_user"], 0) + 1
    return counts


def session_id(connection: ASGIConnection) -> str | None:
    """The id in the request's session cookie, when it has the shape of one we issue."""
    value = connection.cookies.get(COOKIE) or ""
    return value if _ID.fullmatch(value) else None


class DatabaseSessionBackend(ServerSideSessionBackend):
    """Litestar's server-side sessions, with three changes:

    - a new id whenever the signed-in staff user changes (sign-in, sign-out) or the cookie names no
      live session: an id chosen or planted by someone else never becomes a signed-in session;
    - nothing is written nor a cookie set for a request that has no session (static files, API
      calls, a stranger's first visit): no row per anonymous request;
    - the idle time depends on who the session is (`idle_time`), and the store renews it.
    """

    config: DatabaseSessionConfig

    async def load_from_connection(self, connection: ASGIConnection) -> dict[str, Any]:
        key = session_id(connection)
        if key is None:
            return {}
        store = self.config.get_store_from_app(connection.scope["app"])
        data, renewed = await store.load(key, renew_for=self.config.max_age)
        if data is None:
            return {}
        connection.scope[_LOADED] = (data, renewed)  # type: ignore[literal-required]
        return self.deserialize_data(data)

    async def store_in_message(self, scope_session: ScopeSession, message: Message, connection: ASGIConnection) -> None:
        scope = connection.scope
        store = self.config.get_store_from_app(scope["app"])
        headers = MutableScopeHeaders.from_message(message)
        key = session_id(connection)
        loaded, renewed = scope.get(_LOADED, (None, False))  # type: ignore[misc]
        if scope_session is Empty or not isinstance(scope_session, dict) or not any(scope_session.values()):
            if key is not None:  # sign-out, or a session emptied: it ends here, for every copy of the cookie
                if loaded is not None:
                    await store.delete(key)
                headers.add("Set-Cookie", self._cookie("", max_age=0, expires=0))
            return
        data = self.serialize_data(scope_session, scope)
        idle = idle_time(scope_session)
        same_user = loaded is not None and staff_user_id(_decode(loaded)) == staff_user_id(scope_session)
        if key is not None and same_user:
            if data != loaded:
                await store.set(key, data, expires_in=idle)
            if data != loaded or renewed:
                headers.add("Set-Cookie", self._cookie(key, max_age=int(idle.total_seconds())))
            return
        if key is not None:
            await store.delete(key)
        new_key = self.generate_session_id()
        await store.set(new_key, data, expires_in=idle)
        headers.add("Set-Cookie", self._cookie(new_key, max_age=int(idle.total_seconds())))

    def _cookie(self, value: str, **params: Any) -> str:
        fields = extract_dataclass_items(self.config, exclude_none=True, include=Cookie.__dict__.keys())
        return Cookie(key=self.config.key, value=value, **{**dict(fields), **params}).to_header(header="")


@dataclass
class DatabaseSessionConfig(ServerSideSessionConfig):
    _backend_class = DatabaseSessionBackend  # type: ignore[assignment]

    key: str = field(default=COOKIE)
    # The longest a session may last unused (a participant's); staff sessions end sooner.
    max_age: int = field(default=int(PARTICIPANT_IDLE.total_seconds()))
    renew_on_access: bool = field(default=True)
    httponly: bool = field(default=True)
    samesite: str = field(default="lax")  # type: ignore[assignment]
    # Static files need no session: no database read for each of them.
    exclude: str | list[str] | None = field(default="^/static/")
