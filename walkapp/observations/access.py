"""Who is acting on a walk: a participant (by this browser's session or a Bearer token) or staff."""

from __future__ import annotations

from litestar import Request

from ..tables import Participant, Walk


def session_participants(request: Request) -> dict[str, str]:
    """walk id -> participant token, for the walks this browser joined."""
    session = request.scope.get("session")
    value = session.get("participants") if isinstance(session, dict) else None
    return value if isinstance(value, dict) else {}


def bearer_token(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    return auth[7:].strip() or None if auth.lower().startswith("bearer ") else None


async def current_participant(request: Request, walk_id: int) -> Participant | None:
    """The participant this request acts as on the walk. A Bearer token, when sent, is the only
    credential looked at (such requests skip CSRF, so they must not ride on cookies)."""
    token = bearer_token(request)
    if token is None:
        token = session_participants(request).get(str(walk_id))
    if not token:
        return None
    return await Participant.objects().where((Participant.walk == walk_id) & (Participant.token == token)).first()


def staff_user(request: Request):
    """The signed-in staff user, unless the request authenticates by Bearer token."""
    return None if bearer_token(request) else request.scope.get("user")


async def can_see_walk(request: Request, walk: Walk) -> bool:
    return staff_user(request) is not None or await current_participant(request, walk.id) is not None
