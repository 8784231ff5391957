"""Personal read tokens: a staff member makes one for QGIS or a script, on their account page or
with `walkapp createtoken`; it is sent as `Authorization: Bearer <token>` and reads what its owner
reads (walkapp.policy: the Actor is the owner), never writes (policy.resolve_actor refuses every
method but GET and HEAD with one).

Why SHA-256 and not argon2: the token is 32 random bytes (256 bits) made by `secrets`, not a
password a person chose; there is nothing to guess, so nothing to slow down, and the lookup is by
the hash's unique index, once per request (QGIS asks many times a minute). Why a hash at all: a
copy of the database (a backup) must not read anything. The token starts with TOKEN_START, so it
is never mistaken for a participant's token (those have no dot) and a person recognises it; the
prefix kept in the row names it in the list.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from .. import clock
from ..errors import Invalid, NotFound
from ..tables import ReadToken, StaffUser
from ..validation import clean_text

TOKEN_START = "wrt."  # walkapp read token; "." never occurs in secrets.token_urlsafe
PREFIX_LENGTH = 12
MAX_NAME = 120
MAX_ACTIVE = 20  # active tokens per account: more is a leak waiting to happen
DEFAULT_NAME = "Jeton de lecture"
# last_used_at is written at most this often per token: QGIS sends a request per pan and zoom,
# and a write per read would be most of what SQLite does.
USE_STEP = dt.timedelta(minutes=5)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def is_read_token(token: str) -> bool:
    return token.startswith(TOKEN_START)


def check_name(raw: object) -> str:
    """The token's name, cleaned; Invalid (French, field "name") when empty or too long."""
    name = clean_text(raw, max_length=MAX_NAME)
    if not name:
        raise Invalid(fields={"name": "Nom : ce champ est obligatoire (à quoi sert le jeton, ex. QGIS)."})
    if len(name) > MAX_NAME:
        raise Invalid(fields={"name": f"Nom : {MAX_NAME} caractères au plus."})
    return name


async def create_token(user: StaffUser, name: str) -> tuple[ReadToken, str]:
    """A new token for `user`: returns the row and the token itself, which is never stored nor
    shown again."""
    name = check_name(name)
    active = await ReadToken.count().where((ReadToken.user == user.id) & ReadToken.revoked_at.is_null())
    if active >= MAX_ACTIVE:
        raise Invalid(fields={"name": f"Vous avez déjà {MAX_ACTIVE} jetons actifs : révoquez ceux qui ne servent "
                                      "plus avant d'en créer un autre."})
    token = TOKEN_START + secrets.token_urlsafe(32)
    row = ReadToken(name=name, token_hash=token_hash(token), prefix=token[:PREFIX_LENGTH], user=user.id)
    await row.save()
    return row, token


async def owner_of(token: str) -> StaffUser | None:
    """The active staff account an unrevoked token reads as (with its partner), or None. Notes
    the use (at most once per USE_STEP)."""
    row = await ReadToken.select(ReadToken.id, ReadToken.user, ReadToken.last_used_at).where(
        (ReadToken.token_hash == token_hash(token)) & ReadToken.revoked_at.is_null()).first()
    if row is None:
        return None
    user = await StaffUser.objects(StaffUser.partner).where(
        (StaffUser.id == row["user"]) & (StaffUser.active == True)  # noqa: E712
    ).first()
    if user is None:
        return None
    at = clock.now()
    last = clock.as_utc(row["last_used_at"]) if row["last_used_at"] else None
    if last is None or at - last >= USE_STEP:
        await ReadToken.update({ReadToken.last_used_at: at}).where(ReadToken.id == row["id"])
    return user


async def tokens_of(user: StaffUser) -> list[ReadToken]:
    """The account's tokens, active first, newest first."""
    rows = await ReadToken.objects().where(ReadToken.user == user.id).order_by(ReadToken.created_at, ascending=False)
    return sorted(rows, key=lambda row: row.revoked_at is not None)


async def revoke(user: StaffUser, token_id: int) -> ReadToken:
    """Revokes one of `user`'s own tokens (again is harmless); another's or none is a 404."""
    row = await ReadToken.objects().where((ReadToken.id == token_id) & (ReadToken.user == user.id)).first()
    if row is None:
        raise NotFound("Ce jeton n'existe pas.")
    if row.revoked_at is None:
        row.revoked_at = clock.now()
        await ReadToken.update({ReadToken.revoked_at: row.revoked_at}).where(
            (ReadToken.id == row.id) & ReadToken.revoked_at.is_null())
    return row


async def revoke_all(user_id: int) -> int:
    """Revokes every active token of an account (a coordinator ends its sessions: a departed agent's
    QGIS stops reading too). Returns how many."""
    where = (ReadToken.user == user_id) & ReadToken.revoked_at.is_null()
    count = await ReadToken.count().where(where)
    if count:
        await ReadToken.update({ReadToken.revoked_at: clock.now()}).where(where)
    return count
