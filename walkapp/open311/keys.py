"""Open311 API keys: made by a coordinator for one walk, shown once, kept only as a SHA-256.

Why a hash and not the key: a copy of the database (a backup) must not let anyone post. Why SHA-256
and not argon2: the key is 32 random bytes, not a password; nothing to slow down, and the lookup
is by the hash's unique index. The prefix lets a coordinator recognise a key in the list.
"""

from __future__ import annotations

import hashlib
import secrets

from .. import clock
from ..db import write_transaction
from ..security import new_token
from ..tables import ApiKey, Participant, StaffUser, Walk
from ..walks.services import MAX_DISPLAY_NAME

KEY_START = "w311_"
PREFIX_LENGTH = 10
MAX_NAME = 120


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


async def create_key(name: str, walk: Walk, user: StaffUser | None) -> tuple[ApiKey, str]:
    """A new key: returns the row and the key itself, which is never stored nor shown again."""
    key = KEY_START + secrets.token_urlsafe(32)
    row = ApiKey(name=name, key_hash=key_hash(key), prefix=key[:PREFIX_LENGTH], walk=walk.id,
                 created_by=user.id if user else None)
    await row.save()
    return row, key


async def active_key(key: str | None) -> ApiKey | None:
    """The unrevoked key row for `key` (with its walk), or None."""
    key = (key or "").strip()
    if not key or len(key) > 200:
        return None
    return await ApiKey.objects(ApiKey.walk).where(
        (ApiKey.key_hash == key_hash(key)) & ApiKey.revoked_at.is_null()).first()


async def author_of(key: ApiKey) -> Participant:
    """The participant the key's constats are signed by, named after the key; made on first use."""
    walk_id = getattr(key.walk, "id", key.walk)
    if key.participant is not None:
        found = await Participant.objects().where(Participant.id == key.participant).first()
        if found is not None:
            return found
    async with write_transaction():
        current = await ApiKey.select(ApiKey.participant).where(ApiKey.id == key.id).first()
        if current and current["participant"] is not None:
            found = await Participant.objects().where(Participant.id == current["participant"]).first()
            if found is not None:
                return found
        participant = Participant(walk=walk_id, display_name=key.name[:MAX_DISPLAY_NAME] or "Open311",
                                  token=new_token())
        await participant.save()
        await ApiKey.update({ApiKey.participant: participant.id}).where(ApiKey.id == key.id)
    return participant


async def list_keys() -> list[ApiKey]:
    return await ApiKey.objects(ApiKey.walk, ApiKey.created_by).order_by(ApiKey.created_at, ascending=False)


async def revoke(key_id: int) -> bool:
    """Revokes a key (again is harmless). False when there is no such key."""
    if not await ApiKey.exists().where(ApiKey.id == key_id):
        return False
    await ApiKey.update({ApiKey.revoked_at: clock.now()}).where(
        (ApiKey.id == key_id) & ApiKey.revoked_at.is_null())
    return True
