"""Who may do what with the follow-up table: one function, `can`, asked by every route.

Kept in one place (rather than spread over guards) so that the whole policy reads at a glance and
is tested as a matrix (tests/test_actions.py):

- coordinators create and edit everything, and link or unlink constats;
- an agent updates the follow-up of the actions whose pilot is the agent's partner;
- every staff member (coordinator, agent, committee member) reads the table, its exports and bilan;
- participants (a resident's walk session, a Bearer token) and strangers see nothing of it.
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection

from ..errors import Forbidden, SignInRequired
from ..security import staff_only

READ = "read"        # the table, an action's page, the bilan, the exports
CREATE = "create"    # a new action (from constats or from nothing)
EDIT = "edit"        # every field of an action
FOLLOW = "follow"    # the follow-up fields below (state, cost, evaluation, comment)
LINK = "link"        # link and unlink constats
OPERATIONS = (READ, CREATE, EDIT, FOLLOW, LINK)

# What a pilot's agent may change. The cause of a delay goes with the state: a pilot who reports an
# action must say why (the form refuses "Reportée" without it), and the pilot is the one who knows.
FOLLOW_FIELDS = frozenset({"state", "cost", "evaluation", "comment", "delay_causes"})
# Everything a coordinator's form holds.
ALL_FIELDS = frozenset({"axe", "neighbourhood", "problem", "finding", "actions", "response_gestion",
                        "response_usage", "response_conception", "pilot", "other_partners", "deadline",
                        "tfpb_heading"}) | FOLLOW_FIELDS


def _partner_id(value: Any) -> int | None:
    """A foreign key as Piccolo gives it: an id, a joined row, or None."""
    value = getattr(value, "id", value)
    return value if isinstance(value, int) else None


def is_pilot_agent(user: Any, action: Any) -> bool:
    """The user is an agent of the partner that pilots the action."""
    if user is None or getattr(user, "role", None) != "agent" or action is None:
        return False
    mine = _partner_id(getattr(user, "partner", None))
    pilot = _partner_id(action.get("pilot") if isinstance(action, dict) else getattr(action, "pilot", None))
    return mine is not None and mine == pilot


def can(user: Any, operation: str, action: Any = None) -> bool:
    """May `user` (a StaffUser, or None for anyone else) do `operation` (on `action`, when it is one
    action's business)?"""
    if user is None:
        return False
    role = getattr(user, "role", None)
    if role == "coordinator":
        return operation in OPERATIONS
    if operation == READ:
        return role in ("agent", "committee")
    if operation == FOLLOW:
        return is_pilot_agent(user, action)
    return False


def editable_fields(user: Any, action: Any = None) -> frozenset[str]:
    if can(user, EDIT, action):
        return ALL_FIELDS
    if can(user, FOLLOW, action):
        return FOLLOW_FIELDS
    return frozenset()


def check(user: Any, operation: str, action: Any = None) -> None:
    """Raises the French 401/403 the user should read when `can` says no."""
    if user is None:
        raise SignInRequired("Connectez-vous pour accéder au suivi des actions.")
    if not can(user, operation, action):
        if operation == FOLLOW:
            raise Forbidden("Seuls les coordinateurs et les agents du partenaire pilote peuvent mettre à jour "
                            "le suivi de cette action.")
        raise Forbidden("Votre rôle ne permet pas cette action : seuls les coordinateurs créent et modifient "
                        "les actions.")


def staff_of(connection: ASGIConnection) -> Any:
    """The staff user signed in by session (never set for a Bearer request)."""
    return connection.scope.get("user")


# The guard of every route of the table. Every staff role reads it (can(user, READ) holds for all
# three), so it is the shared staff-only guard: participants 403, strangers sent to sign in.
requires_reader = staff_only(
    "Le suivi des actions est réservé aux agents, coordinateurs et membres du comité.",
    "Connectez-vous pour accéder au suivi des actions.")
