"""Routes of the follow-up table: /actions (table, filters, inline state), an action's page and
forms, links to constats, the bilan and the exports. Every route passes the "actions.read" guard
(staff only), then requires from walkapp.policy what it does."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Template

from .. import clock
from ..errors import BadRequest, NotFound
from ..urls import url
from ..validation import parse_id
from ..web import redirect, render
from ..revisits.services import before_after, evaluation_proposal
from ..policy import ACTION_ALL_FIELDS, ACTION_FOLLOW_FIELDS, actor_of, allowed, can, require
from . import exports, queries, services
from .forms import ActionInput, format_euros, parse_action_form, parse_ids, require_cause_when_reported

LIST = "actions/list.html"
FORM = "actions/form.html"
DETAIL = "actions/detail.html"
ROW = "actions/_row_fragment.html"


def _render(request: Request, template: str, **context: Any) -> Template:
    """web.render, with the euro formatting the pages need."""
    return render(request, template, euros=format_euros, **context)


def _user(request: Request, verb: str, action: Any = None) -> Any:
    """The staff user doing `verb`, once the policy has said yes (else its French 401/403)."""
    return require(actor_of(request), verb, action).user


async def _choices() -> dict[str, Any]:
    return {"partners": await services.partners(), "neighbourhoods": await services.neighbourhoods()}


async def _form_page(request: Request, data: ActionInput, action: Any, status_code: int = 200,
                     notes: list[str] | None = None) -> Template:
    constats = await services.selected_constats(data.constats) if action is None else []
    # The re-visits of its constats propose an "Évaluation de l'action / Évolution": the person
    # confirms it (a button fills the field; nothing is saved without "Enregistrer").
    proposal = await evaluation_proposal(action["id"]) if action is not None else None
    return _render(request, FORM, block="form", status_code=status_code, data=data, action=action,
                   constats=constats, errors=data.errors, notes=notes or [], proposal=proposal, **await _choices())


def _input_from(row: dict[str, Any]) -> ActionInput:
    """The form's values for an existing action."""
    data = ActionInput(**{name: row[name] for name in (
        "axe", "problem", "finding", "actions", "response_gestion", "response_usage", "response_conception",
        "deadline", "state", "cost", "delay_causes", "evaluation", "comment", "tfpb_heading", "tfpb_line",
        "neighbourhood")})
    data.pilot = row["pilot_id"]
    data.other_partners = row["other_partner_ids"]
    data.raw = {"cost": format_euros(row["cost"], unit=False).replace("\u202f", " ")}
    return data


async def _row(action_id: int) -> dict[str, Any]:
    if not 0 < action_id <= services.MAX_ID:
        raise NotFound("Cette action n'existe pas.")
    rows = await queries.action_rows(action_id=action_id)
    if not rows:
        await services.get_action(action_id)  # raises the French 404
    return rows[0]


async def _parse(request: Request, names: frozenset[str], current_causes: str = "") -> ActionInput:
    choices = await _choices()
    data = parse_action_form(await request.form(), names, {p.id for p in choices["partners"]},
                             {n.id for n in choices["neighbourhoods"]})
    require_cause_when_reported(data, current_causes)
    return data


def _filters(request: Request) -> tuple[queries.ActionFilter, dict[str, str]]:
    return queries.ActionFilter.from_query(request.query_params.dict())


class ActionController(Controller):
    path = "/actions"
    guards = [allowed("actions.read")]
    include_in_schema = False

    # ------------------------------------------------------------ the table

    @get("/", name="actions.table")
    async def table(self, request: Request) -> Template:
        chosen, errors = _filters(request)
        rows = await queries.action_rows(chosen)
        actor = actor_of(request)
        for row in rows:
            row["can_follow"] = can(actor, "actions.follow", row)
        return _render(request, LIST, block="table", push_url=url("actions.table") + chosen.query_string(),
                      filter=chosen, filter_errors=errors, groups=queries.by_axe(rows), shown=len(rows),
                      late=sum(1 for r in rows if r["late"]), total_cost=queries.total_cost(rows),
                      can_create=can(actor, "actions.create"), **await self._filter_choices())

    async def _filter_choices(self) -> dict[str, Any]:
        from ..walks.services import list_walks

        rows = await queries.action_rows()
        years = sorted({r["year"] for r in rows if r["year"]} | {clock.today().year}, reverse=True)
        return {"walks": await list_walks(), "years": years, **await _choices()}

    @get("/imprimer", name="actions.print")
    async def print_page(self, request: Request) -> Template:
        chosen, _ = _filters(request)
        rows = await queries.action_rows(chosen)
        return _render(request, "actions/print.html", groups=queries.by_axe(rows),
                       heading=await queries.heading(chosen, rows), total_cost=queries.total_cost(rows),
                       today=clock.today())

    @get("/bilan", name="actions.bilan")
    async def summary(self, request: Request) -> Template:
        chosen, errors = _filters(request)
        return _render(request, "actions/bilan.html", block="bilan",
                       push_url=url("actions.bilan") + chosen.query_string(),
                       filter=chosen, filter_errors=errors, bilan=await queries.summary(chosen),
                       heading=await queries.heading(chosen, await queries.action_rows(chosen)),
                       **await self._filter_choices())

    @get("/export.xlsx", name="actions.xlsx")
    async def export_xlsx(self, request: Request) -> Response:
        chosen, errors = _filters(request)
        if errors:
            raise BadRequest(" ".join(errors.values()))
        rows = await queries.action_rows(chosen)
        heading = await queries.heading(chosen, rows)
        subtitle = f"Extrait le {clock.date_text(clock.today())} · {len(rows)} action{'s' if len(rows) > 1 else ''}"
        body = exports.to_xlsx(rows, heading["title"], subtitle)
        return _download(body, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx")

    @get("/export.csv", name="actions.csv")
    async def export_csv(self, request: Request) -> Response:
        chosen, errors = _filters(request)
        if errors:
            raise BadRequest(" ".join(errors.values()))
        # "text/csv": Litestar appends "; charset=utf-8" to text/* types itself.
        return _download(exports.to_csv(await queries.action_rows(chosen)), "text/csv", "csv")

    # ------------------------------------------------------------ creating

    @get("/nouvelle", name="action.new")
    async def new_page(self, request: Request) -> Template:
        _user(request, "actions.create")
        # The map's selection may hold constats rejected since: the form starts from the ones an
        # action may answer (services.sort_constats) and says what it left aside or replaced.
        linkable = await services.sort_constats(parse_ids(request.query_params.get("constats")))
        data = services.prefill(await services.selected_constats(linkable.ids))
        notes = linkable.notes()
        if linkable.refused:
            notes.insert(0, f"{linkable.refusal()} Laissé de côté.")
        return await _form_page(request, data, None, notes=notes)

    @post("/", name="action.create", status_code=200)
    async def create(self, request: Request) -> Response | Template:
        user = _user(request, "actions.create")
        data = await _parse(request, ACTION_ALL_FIELDS)
        if data.errors:
            return await _form_page(request, data, None, status_code=422)
        action = await services.create_action(data, user)
        return redirect(request, url("action.detail", action_id=action.id))

    # ------------------------------------------------------------ one action

    @get("/{action_id:int}", name="action.detail")
    async def detail(self, request: Request, action_id: FromPath[int]) -> Template:
        return _render(request, DETAIL, **await self._detail_context(request, action_id))

    async def _detail_context(self, request: Request, action_id: int,
                              data: ActionInput | None = None) -> dict[str, Any]:
        row = await _row(action_id)
        actor = actor_of(request)
        constats = await services.constats_of(action_id)
        pairs = await before_after([c["id"] for c in constats])
        return {"a": row, "constats": constats,
                # Avant / Après of its constats: what the proposed evaluation rests on.
                "pairs": [p for c in constats for p in pairs[c["id"]] if p.before.id == c["id"]],
                "history": await services.history(action_id),
                "can_edit": can(actor, "actions.edit", row), "can_follow": can(actor, "actions.follow", row),
                "can_link": can(actor, "actions.link", row), "data": data or _input_from(row),
                "errors": data.errors if data else {}, "proposal": await evaluation_proposal(action_id)}

    @get("/{action_id:int}/modifier", name="action.edit")
    async def edit_page(self, request: Request, action_id: FromPath[int]) -> Template:
        row = await _row(action_id)
        _user(request, "actions.edit", row)
        return await _form_page(request, _input_from(row), row)

    @post("/{action_id:int}/modifier", name="action.update", status_code=200)
    async def update(self, request: Request, action_id: FromPath[int]) -> Response | Template:
        action = await services.get_action(action_id)
        row = await _row(action_id)
        user = _user(request, "actions.edit", row)
        data = await _parse(request, ACTION_ALL_FIELDS)
        if data.errors:
            return await _form_page(request, data, row, status_code=422)
        await services.update_action(action, user, data.values(ACTION_ALL_FIELDS))
        return redirect(request, url("action.detail", action_id=action_id))

    @post("/{action_id:int}/suivi", name="action.follow_up", status_code=200)
    async def follow_up(self, request: Request, action_id: FromPath[int]) -> Response | Template:
        """The pilot's update: state, cost, cause of a delay, evaluation, comment."""
        action = await services.get_action(action_id)
        user = _user(request, "actions.follow", await _row(action_id))
        data = await _parse(request, ACTION_FOLLOW_FIELDS, action.delay_causes)
        if data.errors:
            return _render(request, DETAIL, block="followup", status_code=422,
                          **await self._detail_context(request, action_id, data))
        await services.update_action(action, user, data.values(ACTION_FOLLOW_FIELDS))
        return redirect(request, url("action.detail", action_id=action_id))

    @post("/{action_id:int}/etat", name="action.state", status_code=200)
    async def change_state(self, request: Request, action_id: FromPath[int]) -> Response | Template:
        """The state select of a row of the table (htmx swaps the row)."""
        action = await services.get_action(action_id)
        user = _user(request, "actions.follow", await _row(action_id))
        data = await _parse(request, frozenset({"state"}), action.delay_causes)
        if not data.errors:
            await services.update_action(action, user, {"state": data.state})
        if not getattr(request, "htmx", False):
            if data.errors:
                raise BadRequest(" ".join(data.errors.values()))
            return redirect(request, url("actions.table"))
        row = await _row(action_id)
        row["can_follow"] = can(actor_of(request), "actions.follow", row)
        return Template(template_name=ROW, context={"row": row, "row_error": " ".join(data.errors.values())},
                        status_code=422 if data.errors else 200)

    @post("/{action_id:int}/constats", name="action.link", status_code=200)
    async def link(self, request: Request, action_id: FromPath[int]) -> Response:
        return await self._link(request, action_id, await request.form())

    @post("/lier", name="action.link_from_constat", status_code=200)
    async def link_from_constat(self, request: Request) -> Response:
        """The constat page's "Lier à une action existante": the action comes in the form."""
        form = await request.form()
        action_id = parse_id(form.get("action"))
        if action_id is None:
            _user(request, "actions.link")
            raise BadRequest("Choisissez l'action à laquelle lier le constat.")
        return await self._link(request, action_id, form)

    async def _link(self, request: Request, action_id: int, form: Any) -> Response:
        user = _user(request, "actions.link")
        action = await services.get_action(action_id)
        ids = parse_ids(form.get("constats"))
        await services.link_constats(action, user, ids)
        if str(form.get("back") or "") == "constat" and len(ids) == 1:
            # Built from an id: never an open redirect.
            return redirect(request, url("constat.page", observation_id=ids[0]))
        return redirect(request, url("action.detail", action_id=action_id))

    @post("/{action_id:int}/constats/{observation_id:int}/retirer", name="action.unlink", status_code=200)
    async def unlink(self, request: Request, action_id: FromPath[int], observation_id: FromPath[int]) -> Response:
        user = _user(request, "actions.link")
        action = await services.get_action(action_id)
        await services.unlink_constat(action, user, observation_id)
        return redirect(request, url("action.detail", action_id=action_id))


def _download(body: bytes, media_type: str, extension: str) -> Response:
    name = f"suivi-des-actions-{clock.today():%Y-%m-%d}.{extension}"
    return Response(body, media_type=media_type, headers={
        "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "private, no-store",
        "X-Content-Type-Options": "nosniff"})


__all__ = ["ActionController"]
