"""Routes of the TFPB programme (Annexe 1): /tfpb (the programmes), a programme's page laid out
like Annexe 1 and its XLSX, the programme's form, and one form per heading for its amounts.
Every route passes the "tfpb.read" guard (staff), then requires "tfpb.create" / "tfpb.edit" from
walkapp.policy for what it writes (coordinators, and the landlord's own agents)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Template

from .. import gusp
from ..actions.forms import format_euros
from ..errors import NotFound
from ..policy import actor_of, allowed, can, require
from ..spreadsheets import CONTENT_TYPE
from ..urls import url
from ..validation import parse_id, parse_int
from ..web import redirect, render
from . import exports, services

LIST = "tfpb/list.html"
DETAIL = "tfpb/detail.html"
FORM = "tfpb/form.html"
HEADING = "tfpb/heading.html"


def _ref(ref: str) -> tuple[int | None, str]:
    """"12" → (12, ""), "12.xlsx" → (12, "xlsx")."""
    ident, _, suffix = ref.partition(".")
    return parse_id(ident), suffix


async def _programme(ref: str) -> dict[str, Any]:
    programme_id, suffix = _ref(ref)
    if suffix:
        raise NotFound("Ce programme TFPB n'existe pas.")
    return await services.get_programme(programme_id)


def _heading(code: str) -> gusp.Term:
    term = gusp.term("tfpb", code)
    if term is None:
        raise NotFound("Cette rubrique du programme TFPB n'existe pas (1 à 8).")
    return term


async def _creatable(request: Request) -> list[Any]:
    """The landlords this person may make a programme for (policy "tfpb.create", landlord by landlord)."""
    actor = actor_of(request)
    return [p for p in await services.landlords() if can(actor, "tfpb.create", {"landlord": p.id})]


def _page(request: Request, template: str, **context: Any) -> Template:
    return render(request, template, euros=format_euros, amount_text=services.amount_text, **context)


class TfpbController(Controller):
    path = "/tfpb"
    guards = [allowed("tfpb.read")]
    include_in_schema = False  # pages for people, not the JSON API

    @get("/", name="tfpb.list")
    async def programmes(self, request: Request) -> Template:
        raw = request.query_params.get("annee") or ""
        year = parse_int(raw, low=services.FIRST_YEAR, high=services.LAST_YEAR) if raw else None
        notes = ["Filtre « Année » ignoré : valeur non reconnue."] if raw and year is None else []
        return _page(request, LIST, programmes=await services.list_programmes(year), year=year, notes=notes,
                     can_create=bool(await _creatable(request)))

    @get("/nouveau", name="tfpb.new")
    async def new(self, request: Request) -> Template:
        landlords = await _creatable(request)
        if not landlords:
            require(actor_of(request), "tfpb.create", {"landlord": None})
        return await self._form(request, services.ProgrammeInput(), None, landlords)

    @post("/", name="tfpb.create")
    async def create(self, request: Request) -> Response | Template:
        landlords = await _creatable(request)
        if not landlords:
            require(actor_of(request), "tfpb.create", {"landlord": None})
        data = services.parse_programme(await request.form(), {p.id for p in landlords},
                                        {n.id for n in await services.neighbourhoods()})
        if data.errors:
            return await self._form(request, data, None, landlords, status_code=422)
        user = require(actor_of(request), "tfpb.create", {"landlord": data.landlord}).user
        programme_id = await services.create_programme(data, user)
        return redirect(request, url("tfpb.detail", ref=str(programme_id)))

    @get("/{ref:str}", name="tfpb.detail")
    async def detail(self, request: Request, ref: FromPath[str]) -> Template | Response:
        programme_id, suffix = _ref(ref)
        if suffix not in ("", "xlsx"):
            raise NotFound("Ce programme TFPB n'existe pas (adresse /tfpb/12 ou /tfpb/12.xlsx).")
        programme = await services.get_programme(programme_id)
        sheet = await services.programme_sheet(programme)
        if suffix == "xlsx":
            body = exports.to_xlsx(programme, sheet)
            name = f"programme-tfpb-{programme['year']}-{programme['id']}.xlsx"
            return Response(body, media_type=CONTENT_TYPE,
                            headers={"Content-Disposition": f'attachment; filename="{name}"'})
        return _page(request, DETAIL, programme=programme, sheet=sheet, title=services.title(programme),
                     can_edit=can(actor_of(request), "tfpb.edit", programme))

    @get("/{ref:str}/modifier", name="tfpb.edit")
    async def edit(self, request: Request, ref: FromPath[str]) -> Template:
        programme = await _programme(ref)
        require(actor_of(request), "tfpb.edit", programme)
        data = services.ProgrammeInput(dwellings=programme["dwellings"], abatement=programme["abatement"],
                                       periods=programme["periods"], comment=programme["comment"])
        data.raw = {"abatement": services.amount_text(programme["abatement"])}
        return await self._form(request, data, programme, [])

    @post("/{ref:str}/modifier", name="tfpb.update")
    async def update(self, request: Request, ref: FromPath[str]) -> Response | Template:
        programme = await _programme(ref)
        user = require(actor_of(request), "tfpb.edit", programme).user
        data = services.parse_programme(await request.form(), set(), set(), fixed_year=programme["year"])
        if data.errors:
            return await self._form(request, data, programme, [], status_code=422)
        await services.update_programme(programme, data, user)
        return redirect(request, url("tfpb.detail", ref=str(programme["id"])))

    @get("/{ref:str}/rubriques/{code:str}", name="tfpb.heading")
    async def heading(self, request: Request, ref: FromPath[str], code: FromPath[str]) -> Template:
        programme = await _programme(ref)
        require(actor_of(request), "tfpb.edit", programme)
        term = _heading(code)
        sheet = await services.programme_sheet(programme)
        current = next(h for h in sheet.headings if h["term"].code == term.code)
        raw = {services.input_name(line["code"], column): services.amount_text(line["values"].get(column.key))
               for line in current["lines"] if line["code"] for column in sheet.columns if not column.computed}
        return self._heading_page(request, programme, term, sheet, raw, {})

    @post("/{ref:str}/rubriques/{code:str}", name="tfpb.heading_save")
    async def save_heading(self, request: Request, ref: FromPath[str], code: FromPath[str]) -> Response | Template:
        programme = await _programme(ref)
        user = require(actor_of(request), "tfpb.edit", programme).user
        term = _heading(code)
        values, errors, raw = services.parse_amounts(await request.form(), programme, term.code)
        if errors:
            sheet = await services.programme_sheet(programme)
            return self._heading_page(request, programme, term, sheet, raw, errors, status_code=422)
        await services.save_amounts(programme, term.code, values, user)
        return redirect(request, url("tfpb.detail", ref=str(programme["id"])) + f"#rubrique-{term.code}")

    async def _form(self, request: Request, data: services.ProgrammeInput, programme: dict[str, Any] | None,
                    landlords: list[Any], status_code: int = 200) -> Template:
        return _page(request, FORM, data=data, programme=programme, landlords=landlords, errors=data.errors,
                     neighbourhoods=await services.neighbourhoods(), status_code=status_code)

    def _heading_page(self, request: Request, programme: dict[str, Any], term: gusp.Term, sheet: services.Sheet,
                      raw: dict[str, str], errors: dict[str, str], status_code: int = 200) -> Template:
        return _page(request, HEADING, programme=programme, term=term, sheet=sheet, raw=raw, errors=errors,
                     title=services.title(programme), input_name=services.input_name, status_code=status_code)

