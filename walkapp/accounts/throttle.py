"""The sign-in throttle: slows password guessing without letting anyone lock a person out.

Failures are counted per (e-mail, address) and per address, never per e-mail alone: five wrong
passwords typed for an agent's e-mail from one address refuse that address for that e-mail, and
the agent signs in at once from anywhere else. An address that fails on many e-mails is refused
for all of them. Failures live in the database (`sign_in_failure`), so every worker counts the
same ones and a restart forgets none; rows older than the window are deleted.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import time

from ..clock import as_utc, now
from ..errors import TooManyRequests
from ..tables import SignInFailure

WINDOW = dt.timedelta(minutes=15)
PER_PAIR = 5       # wrong passwords for one e-mail from one address
PER_ADDRESS = 20   # wrong passwords from one address, whatever the e-mails
PURGE_EVERY_S = 60
_last_purge = 0.0



def client_address(host: str | None) -> str:
    """The address failures are counted against: an IPv6 client by its /64 (one subscriber gets a
    whole /64 and could otherwise try from each of its addresses)."""
    try:
        ip = ipaddress.ip_address((host or "").strip())
    except ValueError:
        return (host or "?")[:64]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def _wait(times: list[dt.datetime], limit: int, at: dt.datetime) -> int:
    """Seconds until fewer than `limit` of these failures (newest first) are inside the window."""
    if len(times) < limit:
        return 0
    return max(1, int((times[limit - 1] + WINDOW - at).total_seconds()) + 1)


async def _recent(where, limit: int, at: dt.datetime) -> list[dt.datetime]:
    rows = await SignInFailure.select(SignInFailure.at).where(where & (SignInFailure.at > at - WINDOW)).order_by(
        SignInFailure.at, ascending=False).limit(limit)
    return [as_utc(row["at"]) for row in rows]


async def retry_after(email: str, address: str) -> int:
    """Seconds before this e-mail may be tried again from this address; 0 when it may now."""
    at = now()
    pair = await _recent((SignInFailure.email == email) & (SignInFailure.address == address), PER_PAIR, at)
    anyone = await _recent(SignInFailure.address == address, PER_ADDRESS, at)
    return max(_wait(pair, PER_PAIR, at), _wait(anyone, PER_ADDRESS, at))


async def check(email: str, address: str) -> None:
    """Refuses (429, with Retry-After and the wait in minutes) a sign-in the throttle holds back."""
    wait = await retry_after(email, address)
    if wait:
        minutes = max(1, -(-wait // 60))
        raise TooManyRequests(
            "Trop de tentatives de connexion depuis cette adresse. "
            f"Réessayez dans {minutes} minute{'s' if minutes > 1 else ''}.",
            headers={"Retry-After": str(wait)})


async def failed(email: str, address: str) -> None:
    await SignInFailure(email=email, address=address, at=now()).save()
    await _purge_now_and_then()


async def succeeded(email: str, address: str) -> None:
    """The right password from this address: its past mistakes for this e-mail are forgiven."""
    await SignInFailure.delete().where((SignInFailure.email == email) & (SignInFailure.address == address))


async def _purge_now_and_then() -> None:
    """Failures past the window count for nothing: deleted during writes, at most once a minute."""
    global _last_purge
    if time.monotonic() - _last_purge < PURGE_EVERY_S:
        return
    _last_purge = time.monotonic()
    await SignInFailure.delete().where(SignInFailure.at <= now() - WINDOW)
