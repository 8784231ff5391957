"""Staff accounts: creating them, checking a sign-in, changing a password."""

from __future__ import annotations

import anyio

from ..errors import Invalid
from .. import gusp
from ..security import hash_password, verify_password
from ..sessions import end_sessions
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
    check_new_password(errors, "password", password)
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


def check_new_password(errors: dict[str, str], field: str, password: str) -> None:
    """The one rule for a new password (account creation and password change)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        errors[field] = f"Mot de passe : {MIN_PASSWORD_LENGTH} caractères au moins."


async def change_password(user: StaffUser, current: str, new: str, confirm: str, keep_session: str | None) -> int:
    """Sets a new password after checking the current one, and ends the account's other sessions
    (a phone left signed in, someone who saw the old password). Returns how many were ended."""
    errors: dict[str, str] = {}
    if not await _in_password_slot(verify_password, user.password_hash, current or ""):
        errors["current"] = "Mot de passe actuel : il ne correspond pas."
    check_new_password(errors, "new", new or "")
    if "new" not in errors and new != confirm:
        errors["confirm"] = "Les deux nouveaux mots de passe diffèrent."
    if errors:
        raise AccountError(errors)
    password_hash = await _in_password_slot(hash_password, new)
    await StaffUser.update({StaffUser.password_hash: password_hash}).where(StaffUser.id == user.id)
    return await end_sessions(user.id, keep=keep_session)


async def staff_accounts() -> list[StaffUser]:
    return await StaffUser.objects(StaffUser.partner).order_by(StaffUser.display_name)
