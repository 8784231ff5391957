"""Staff accounts: creating them and checking a sign-in."""

from __future__ import annotations

import anyio

from ..errors import Invalid
from .. import gusp
from ..security import hash_password, verify_password
from ..tables import Partner, StaffUser
from ..validation import email_address, required_text

MIN_PASSWORD_LENGTH = 10
# argon2 takes 64 MiB and a few tens of ms per hash by design. Bounding how many run at once keeps
# a burst of sign-ins (everyone at the start of a walk) from taking gigabytes on a small server;
# the others wait their turn in line.
_password_slots = anyio.CapacityLimiter(4)


async def _in_password_slot(function, *args):
    return await anyio.to_thread.run_sync(function, *args, limiter=_password_slots)


class AccountError(Invalid):
    """An account that can't be created: French messages by field."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()), fields=errors)
        self.errors = errors


async def create_user(email: str, password: str, display_name: str, role: str,
                      partner_name: str | None = None) -> StaffUser:
    errors: dict[str, str] = {}
    email = email_address(errors, "email", email)
    display_name = required_text(errors, "display_name", display_name, "Nom affiché", 120)
    if not gusp.is_code("role", role):
        errors["role"] = "Rôle : choisissez coordinator, agent ou committee."
    if len(password) < MIN_PASSWORD_LENGTH:
        errors["password"] = f"Mot de passe : {MIN_PASSWORD_LENGTH} caractères au moins."
    partner = None
    if partner_name:
        partner = await Partner.objects().where(Partner.name == partner_name).first()
        if partner is None:
            errors["partner"] = f"Partenaire inconnu : {partner_name}."
    if not errors and await StaffUser.exists().where(StaffUser.email == email):
        errors["email"] = "Un compte existe déjà avec cette adresse."
    if errors:
        raise AccountError(errors)
    user = StaffUser(
        email=email,
        password_hash=await _in_password_slot(hash_password, password),
        display_name=display_name,
        role=role,
        partner=partner.id if partner else None,
    )
    await user.save()
    return user


async def authenticate(email: str, password: str) -> StaffUser | None:
    email = (email or "").strip().lower()
    user = await StaffUser.objects().where(
        (StaffUser.email == email) & (StaffUser.active == True)  # noqa: E712
    ).first()
    # Verify even for an unknown address (against a dummy hash): same time either way.
    ok = await _in_password_slot(verify_password, user.password_hash if user else None, password or "")
    return user if ok and user else None
