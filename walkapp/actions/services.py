"""Writing actions: create from constats, change fields, link and unlink constats — each change
written with its ActionEvent rows (who, when, field, before, after) in the same transaction, so the
action and its history never disagree."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .. import clock, gusp
from ..db import write_transaction
from ..errors import BadRequest, Conflict, NotFound
from ..policy import can
from ..tables import Action, ActionEvent, ActionObservation, Neighbourhood, Observation, Partner, StaffUser
from .forms import ActionInput, field_label, format_euros

CREATED = "created"   # the history row of a new action
LINKED = "constat"    # a constat linked (after = its id) or unlinked (before = its id)


def partner_ids(value: Any) -> list[int]:
    """Action.other_partners as a list of ints, whatever the engine handed back (text or list)."""
    if isinstance(value, str):
        try:
            value = json.loads(value or "[]")
        except ValueError:
            return []
    return [v for v in (value or []) if isinstance(v, int)]


async def partners() -> list[Partner]:
    return await Partner.objects().order_by(Partner.name)


async def partner_names() -> dict[int, str]:
    return {row["id"]: row["name"] for row in await Partner.select(Partner.id, Partner.name)}


async def neighbourhoods() -> list[Neighbourhood]:
    return await Neighbourhood.objects().order_by(Neighbourhood.name)


MAX_ID = 2**31 - 1  # an INTEGER key: a bigger number in a URL must be a 404, not a database error


async def get_action(action_id: int) -> Action:
    if not 0 < action_id <= MAX_ID:
        raise NotFound("Cette action n'existe pas.")
    action = await Action.objects(Action.pilot, Action.neighbourhood, Action.created_by).where(
        Action.id == action_id).first()
    if action is None:
        raise NotFound("Cette action n'existe pas.")
    return action


async def constats_of(action_id: int) -> list[dict[str, Any]]:
    return await ActionObservation.select(
        ActionObservation.observation.id.as_alias("id"), ActionObservation.observation.issue.as_alias("issue"),
        ActionObservation.observation.description.as_alias("description"),
        ActionObservation.observation.street.as_alias("street"),
        ActionObservation.observation.status.as_alias("status"),
        ActionObservation.observation.walk.title.as_alias("walk_title"),
        ActionObservation.observation.walk.date.as_alias("walk_date"),
    ).where(ActionObservation.action == action_id).order_by(ActionObservation.observation)


async def actions_of_constat(observation_id: int) -> list[dict[str, Any]]:
    """The actions answering a constat, with their state (shown on the constat's page)."""
    return await ActionObservation.select(
        ActionObservation.action.id.as_alias("id"), ActionObservation.action.problem.as_alias("problem"),
        ActionObservation.action.state.as_alias("state"), ActionObservation.action.deadline.as_alias("deadline"),
    ).where(ActionObservation.observation == observation_id).order_by(ActionObservation.action)


# ---------------------------------------------------------------- a new action, pre-filled from constats

async def selected_constats(ids: list[int]) -> list[dict[str, Any]]:
    if not ids:
        return []
    rows = await Observation.select(
        Observation.id, Observation.issue, Observation.description, Observation.street, Observation.polarity,
        Observation.walk.neighbourhood.as_alias("neighbourhood"), Observation.walk.date.as_alias("walk_date"),
    ).where(Observation.id.is_in(ids))
    order = {oid: n for n, oid in enumerate(ids)}
    return sorted(rows, key=lambda r: order[r["id"]])


def _most_common(values: list[Any], order: tuple[Any, ...] = ()) -> Any:
    """The most frequent value; on a tie, the first in `order` (the convention's order of the axes)."""
    counts = Counter(v for v in values if v is not None)
    if not counts:
        return None
    best = max(counts.values())
    tied = [v for v in counts if counts[v] == best]
    return min(tied, key=lambda v: order.index(v) if v in order else len(order))


def _one_line(text: str | None) -> str:
    return " ".join((text or "").split())


def prefill(constats: list[dict[str, Any]]) -> ActionInput:
    """The new action's fields, all editable, from ONE group of constats so that they agree: the
    axe is the most common issue (on a tie, the convention's order), and the problème à traiter,
    the quartier and the head of the constat text come from the constats of that issue (a point
    faible's comment first: an action treats a problem). The other constats follow in the text,
    and every selected constat is linked."""
    data = ActionInput(constats=[c["id"] for c in constats])
    data.axe = _most_common([c["issue"] for c in constats], gusp.codes("issue")) or ""
    same = [c for c in constats if c["issue"] == data.axe]
    others = [c for c in constats if c["issue"] != data.axe]
    data.neighbourhood = _most_common([c["neighbourhood"] for c in same])
    weak_first = sorted(same, key=lambda c: c["polarity"] != "negative")  # stable: selection order kept
    data.problem = next((_one_line(c["description"]) for c in weak_first if _one_line(c["description"])), "")[:200]
    lines = []
    for row in same + others:
        where = f" ({row['street']})" if row["street"] else ""
        lines.append(f"Constat n° {row['id']}{where} : {_one_line(row['description']) or '(sans commentaire)'}")
    data.finding = "\n".join(lines)[:8000]
    return data


# ---------------------------------------------------------------- history

def stored(name: str, value: Any, names: dict[int, str] | None = None) -> str:
    """How a value is kept in the history: codes for lists of terms, partners by name (a partner
    renamed or removed later does not rewrite the past), ISO dates, amounts to the cent."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, Decimal):
        return f"{value.quantize(Decimal('0.01'))}"
    if isinstance(value, dt.date):
        return value.isoformat()
    if name == "pilot":
        return (names or {}).get(getattr(value, "id", value), str(value))
    if name == "other_partners":
        return ", ".join((names or {}).get(p, str(p)) for p in partner_ids(value))
    return str(value)


def readable(name: str, value: str) -> str:
    """A history value in words, for the action's page."""
    if not value:
        return ""
    if name.startswith("response_"):
        return "Oui" if value == "1" else "Non"
    if name == "axe":
        return gusp.label("issue", value)
    if name == "state":
        return gusp.label("action_state", value)
    if name == "tfpb_heading":
        return f"{value}. {gusp.label('tfpb', value)}"
    if name == "tfpb_line":
        return f"{value} {gusp.label('tfpb_line', value)}"
    if name == "cost":
        try:
            return format_euros(Decimal(value))
        except ArithmeticError:
            return value
    if name == "deadline":
        try:
            return clock.date_text(dt.date.fromisoformat(value))
        except ValueError:
            return value
    if name == "neighbourhood":
        return value
    return value


async def history(action_id: int) -> list[dict[str, Any]]:
    """The action's changes, newest first, in words."""
    rows = await ActionEvent.select(
        ActionEvent.at, ActionEvent.field, ActionEvent.before, ActionEvent.after,
        ActionEvent.user.display_name.as_alias("who"),
    ).where(ActionEvent.action == action_id).order_by(ActionEvent.at, ascending=False).order_by(
        ActionEvent.id, ascending=False)
    for row in rows:
        name = row["field"]
        row["label"] = {CREATED: "Création de l'action", LINKED: "Constat lié"}.get(name) or field_label(name)
        row["before"] = readable(name, row["before"])
        row["after"] = readable(name, row["after"])
    return rows


async def _neighbourhood_names() -> dict[int, str]:
    return {r["id"]: f"{r['name']} ({r['qpv_code']})"
            for r in await Neighbourhood.select(Neighbourhood.id, Neighbourhood.name, Neighbourhood.qpv_code)}


# ---------------------------------------------------------------- which constats an action may answer

MAX_DUPLICATE_HOPS = 10  # a chain of duplicates longer than this is a data error, not a constat


@dataclass
class Linkable:
    """The constats asked for, sorted by the one rule of linking: a rejected constat is no finding
    and answers no action; a duplicate stands for its original, which is linked instead (the
    committee follows one constat per problem); an unknown number is refused."""

    ids: list[int] = field(default_factory=list)  # what gets linked, in the order asked, once each
    originals: dict[int, int] = field(default_factory=dict)  # duplicate -> the original linked instead
    rejected: list[int] = field(default_factory=list)
    unknown: list[int] = field(default_factory=list)

    @property
    def refused(self) -> bool:
        return bool(self.rejected or self.unknown)

    def refusal(self) -> str:
        """Why nothing can be linked, in French."""
        parts = []
        if self.unknown:
            parts.append(f"Constat inconnu : n° {_numbers(self.unknown)}.")
        if self.rejected:
            plural = len(self.rejected) > 1
            parts.append(f"Constat{'s' if plural else ''} rejeté{'s' if plural else ''} : n° {_numbers(self.rejected)} "
                         "(un constat rejeté ne peut pas être lié à une action).")
        return " ".join(parts)

    def notes(self) -> list[str]:
        """What was done with duplicates, in French."""
        return [f"Le constat n° {dup} est un doublon du n° {original} : c'est le n° {original} qui est lié."
                for dup, original in self.originals.items()]


def _numbers(ids: list[int]) -> str:
    return ", ".join(str(i) for i in ids)


async def sort_constats(ids: list[int]) -> Linkable:
    """Applies the linking rule to `ids` (reads only)."""
    result = Linkable()
    rows: dict[int, dict[str, Any]] = {}
    wanted = set(ids)
    for _ in range(MAX_DUPLICATE_HOPS):  # one query per step of a chain of duplicates
        missing = wanted - set(rows)
        if not missing:
            break
        for row in await Observation.select(Observation.id, Observation.status, Observation.duplicate_of).where(
                Observation.id.is_in(sorted(missing))):
            rows[row["id"]] = row
        wanted = {r["duplicate_of"] for r in rows.values() if r["status"] == "duplicate" and r["duplicate_of"]}
    for asked in ids:
        target, hops = asked, 0
        while (target in rows and rows[target]["status"] == "duplicate" and rows[target]["duplicate_of"]
               and hops < MAX_DUPLICATE_HOPS):
            target, hops = rows[target]["duplicate_of"], hops + 1
        row = rows.get(target)
        if row is None or row["status"] == "duplicate":  # unknown, or a chain that never ends
            result.unknown.append(asked)
        elif row["status"] == "rejected":
            result.rejected.append(asked)
        else:
            if target != asked:
                result.originals[asked] = target
            if target not in result.ids:
                result.ids.append(target)
    return result


async def linkable_constats(ids: list[int]) -> list[int]:
    """The constats to link for `ids`, or a French refusal saying which can't be (nothing is
    written): 400 for an unknown number, 409 for a rejected constat (its state forbids it)."""
    linkable = await sort_constats(ids)
    if linkable.refused:
        refusal = BadRequest if linkable.unknown else Conflict
        raise refusal(f"{linkable.refusal()} Rien n'a été enregistré.")
    return linkable.ids


# ---------------------------------------------------------------- writes


async def create_action(data: ActionInput, user: StaffUser) -> Action:
    """A new action and its links, with a "created" history row and one row per linked constat."""
    async with write_transaction():
        # Inside the transaction: a constat rejected meanwhile is refused, not linked.
        constats = await linkable_constats(data.constats)
        action = Action(
            neighbourhood=data.neighbourhood, axe=data.axe, problem=data.problem, finding=data.finding,
            actions=data.actions, response_gestion=data.response_gestion, response_usage=data.response_usage,
            response_conception=data.response_conception, pilot=data.pilot, other_partners=data.other_partners,
            deadline=data.deadline, state=data.state, cost=data.cost, delay_causes=data.delay_causes,
            evaluation=data.evaluation, comment=data.comment, tfpb_heading=data.tfpb_heading,
            tfpb_line=data.tfpb_line, created_by=user.id,
        )
        await action.save()
        await ActionEvent(action=action.id, user=user.id, field=CREATED, before="",
                          after=data.problem[:200]).save()
        for observation_id in constats:
            await ActionObservation(action=action.id, observation=observation_id).save()
            await ActionEvent(action=action.id, user=user.id, field=LINKED, before="", after=str(observation_id)).save()
    return action


def _current(action: Action, name: str) -> Any:
    value = getattr(action, name)
    if name in ("pilot", "neighbourhood", "created_by"):
        return getattr(value, "id", value)
    if name == "other_partners":
        return partner_ids(value)
    if name == "cost" and value is not None:
        return Decimal(value).quantize(Decimal("0.01"))
    return value


async def update_action(action: Action, user: StaffUser, values: dict[str, Any]) -> int:
    """Applies the fields of `values` that really change, each with its history row. Returns how
    many changed."""
    names = await partner_names()
    hoods = await _neighbourhood_names()
    async with write_transaction():
        # Read again inside the transaction: the history's "before" is what this write replaces,
        # even when someone else changed the action since the form was shown.
        action = await Action.objects().where(Action.id == action.id).first() or action
        changed = {name: value for name, value in values.items() if _current(action, name) != value}
        if not changed:
            return 0
        update = {getattr(Action, name): value for name, value in changed.items()}
        update[Action.updated_at] = clock.now()
        await Action.update(update).where(Action.id == action.id)
        for name, value in changed.items():
            before, after = _current(action, name), value
            if name == "neighbourhood":
                before_text, after_text = hoods.get(before, ""), hoods.get(after, "")
            else:
                before_text, after_text = stored(name, before, names), stored(name, after, names)
            await ActionEvent(action=action.id, user=user.id, field=name, before=before_text, after=after_text).save()
    return len(changed)


async def link_constats(action: Action, user: StaffUser, ids: list[int]) -> int:
    """Links constats (already linked ones are left as they are). Returns how many were new."""
    if not ids:
        raise BadRequest("Indiquez le numéro d'un constat à lier, par exemple 12.")
    async with write_transaction():
        ids = await linkable_constats(ids)
        linked = {r["observation"] for r in await ActionObservation.select(ActionObservation.observation).where(
            ActionObservation.action == action.id)}
        new = [i for i in ids if i not in linked]
        for observation_id in new:
            await ActionObservation(action=action.id, observation=observation_id).save()
            await ActionEvent(action=action.id, user=user.id, field=LINKED, before="", after=str(observation_id)).save()
    return len(new)


async def unlink_constat(action: Action, user: StaffUser, observation_id: int) -> None:
    if not 0 < observation_id <= MAX_ID:
        raise NotFound("Ce constat n'est pas lié à cette action.")
    async with write_transaction():
        link = await ActionObservation.select(ActionObservation.id).where(
            (ActionObservation.action == action.id) & (ActionObservation.observation == observation_id)).first()
        if link is None:
            raise NotFound("Ce constat n'est pas lié à cette action.")
        await ActionObservation.delete().where(ActionObservation.id == link["id"])
        await ActionEvent(action=action.id, user=user.id, field=LINKED, before=str(observation_id), after="").save()


async def constat_panel(observation_id: int, actor: Any) -> dict[str, Any] | None:
    """What a constat's page shows of the follow-up: its actions with their state, and for a
    coordinator the ways to make one or to link it to one. None for who may not read the
    follow-up table (participants)."""
    if not can(actor, "actions.read"):
        return None
    actions = await actions_of_constat(observation_id)
    linkable = await sort_constats([observation_id])
    # A rejected constat answers no action: no button leads to a refusal. A duplicate's buttons
    # act for its original, and the panel says so.
    original = next(iter(linkable.originals.values()), None)
    note = "Ce constat est rejeté : il ne peut pas être lié à une action." if linkable.refused else (
        f"Ce constat est un doublon du n° {original} : une action créée ou liée d'ici répond au n° {original}."
        if original else "")
    can_create = can(actor, "actions.create") and not linkable.refused
    can_link = can(actor, "actions.link") and not linkable.refused
    choices = []
    if can_link:
        linked = {a["id"] for a in actions}
        choices = [row for row in await Action.select(Action.id, Action.axe, Action.problem).order_by(
            Action.id, ascending=False) if row["id"] not in linked]
    return {"actions": actions, "can_create": can_create, "can_link": can_link, "choices": choices, "note": note}
