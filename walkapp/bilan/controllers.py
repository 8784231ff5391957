"""Routes of the year's bilan: the page /bilan?annee=&quartier=, its XLSX (and PDF once
walkapp.pdf is there), and the htmx inline editing of entered indicators and of the committee's
assessments. Every route passes the "bilan.read" guard (staff); writes require "bilan.edit"."""

from __future__ import annotations

from typing import Any

from jinja2_fragments.litestar import HTMXBlockTemplate
from litestar import Controller, Request, Response, get, post
from litestar.response import Redirect, Template

from .. import clock, gusp
from ..errors import AppError, BadRequest, Invalid
from ..policy import actor_of, allowed, can, require
from ..urls import url
from ..web import redirect, render
from . import exports, queries, services

PAGE = "bilan/page.html"
FRAGMENTS = "bilan/_fragments.html"
PRINT = "bilan/print.html"


def _user(request: Request) -> Any:
    return require(actor_of(request), "bilan.edit").user


async def _scope(params: Any, need_neighbourhood: bool = False) -> queries.Scope:
    scope = await queries.scope_from_query(params)
    if need_neighbourhood and scope.neighbourhood is None:
        raise BadRequest("Quartier : choisissez le quartier du bilan.")
    return scope


def _page_url(scope: queries.Scope, anchor: str = "", **extra: Any) -> str:
    return url("bilan.page", query={**scope.query(), **extra}) + (f"#{anchor}" if anchor else "")


def _fragment(request: Request, block: str, status_code: int = 200, saved: bool = False, **context: Any) -> Template:
    """One block of bilan/_fragments.html; `saved`: an entry was written, and the page's history
    section refreshes itself on the "bilan-saved" event."""
    return HTMXBlockTemplate(template_name=FRAGMENTS, block_name=block, status_code=status_code,
                             headers={"HX-Trigger": "bilan-saved"} if saved else None,
                             context={"can_edit": can(actor_of(request), "bilan.edit"), **context})


async def _row(scope: queries.Scope, key: str) -> dict[str, Any]:
    """The table row of one entered indicator, as the page shows it."""
    data = await queries.bilan(scope)
    for enjeu in data["enjeux"]:
        for row in enjeu["entered"]:
            if row["key"] == key:
                return row
    await services.indicator_of(scope, key)  # the French 404
    raise BadRequest()


async def _enjeu(scope: queries.Scope, axe: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    if not gusp.is_code("issue", axe):
        raise BadRequest("Enjeu : choisissez l'un des sept enjeux.")
    data = await queries.bilan(scope)
    return next(e for e in data["enjeux"] if e["term"].code == axe), data["history"]


class BilanController(Controller):
    path = "/"
    guards = [allowed("bilan.read")]
    include_in_schema = False

    @get("/bilan", name="bilan.page")
    async def page(self, request: Request) -> Template:
        scope = await _scope(request.query_params)
        return render(request, PAGE, scope=scope, bilan=await queries.bilan(scope), today=clock.today(),
                      editing=str(request.query_params.get("modifier") or ""),
                      can_edit=can(actor_of(request), "bilan.edit"), years=_years())

    @get("/bilan.xlsx", name="bilan.xlsx")
    async def xlsx(self, request: Request) -> Response:
        scope = await _scope(request.query_params, need_neighbourhood=True)
        body = exports.to_xlsx(scope, await queries.bilan(scope))
        return _download(body, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                         exports.file_name(scope, "xlsx"))

    @get("/bilan.pdf", name="bilan.pdf")
    async def pdf(self, request: Request) -> Response:
        """The same bilan as a PDF, A4 portrait (walkapp/pdf.py, off the event loop)."""
        import anyio

        from ..pdf import html_to_pdf

        scope = await _scope(request.query_params, need_neighbourhood=True)
        html = request.app.template_engine.get_template(PRINT).render(
            request=request, scope=scope, bilan=await queries.bilan(scope), today=clock.today(), editing="",
            can_edit=False)
        body = await anyio.to_thread.run_sync(html_to_pdf, html, str(request.base_url))
        return _download(body, "application/pdf", exports.file_name(scope, "pdf"))

    # ------------------------------------------------------------ an entered indicator, inline

    @get("/bilan/valeur", name="bilan.value_form")
    async def value_form(self, request: Request) -> Response | Template:
        scope = await _scope(request.query_params, need_neighbourhood=True)
        key = str(request.query_params.get("indicateur") or "")
        viewing = bool(request.query_params.get("vue"))
        if not viewing:
            _user(request)
        if not getattr(request, "htmx", False):
            return Redirect(path=_page_url(scope, _anchor(key), **({} if viewing else {"modifier": key})),
                            status_code=303)
        row = await _row(scope, key)
        return _fragment(request, "indicator_row" if viewing else "indicator_form", scope=scope, r=row, errors={})

    @post("/bilan/valeur", name="bilan.value_save", status_code=200)
    async def value_save(self, request: Request) -> Response | Template:
        user = _user(request)
        form = await request.form()
        scope = await _scope(form, need_neighbourhood=True)
        key = str(form.get("indicateur") or "")
        indicator, _ = await services.indicator_of(scope, key)
        data = services.parse_value_form(form, indicator, scope.year)
        try:
            await services.save_value(scope, key, data, user)
        except AppError as error:
            if not getattr(request, "htmx", False) or error.status != 422:
                raise
            row = await _row(scope, key)
            return _fragment(request, "indicator_form", status_code=422, scope=scope, r=row, errors=data.errors,
                             raw=data.raw)
        if not getattr(request, "htmx", False):
            return redirect(request, _page_url(scope, _anchor(key)))
        return _fragment(request, "indicator_row", saved=True, scope=scope, r=await _row(scope, key))

    # ------------------------------------------------------------ the neighbourhood's own indicators

    @post("/bilan/indicateurs", name="bilan.local_create", status_code=200)
    async def local_create(self, request: Request) -> Response:
        user = _user(request)
        form = await request.form()
        scope = await _scope(form, need_neighbourhood=True)
        local_id = await services.add_local_indicator(scope, form, user)
        return redirect(request, _page_url(scope, _anchor(f"{gusp.LOCAL_PREFIX}{local_id}")))

    # ------------------------------------------------------------ the committee's assessment, inline

    @get("/bilan/appreciation", name="bilan.assessment_form")
    async def assessment_form(self, request: Request) -> Response | Template:
        scope = await _scope(request.query_params, need_neighbourhood=True)
        axe = str(request.query_params.get("enjeu") or "")
        viewing = bool(request.query_params.get("vue"))
        if not viewing:
            _user(request)
        if not getattr(request, "htmx", False):
            extra = {} if viewing else {"modifier": f"{queries.ASSESSMENT_PREFIX}{axe}"}
            return Redirect(path=_page_url(scope, f"appreciation-{axe}", **extra), status_code=303)
        enjeu, _ = await _enjeu(scope, axe)
        return _fragment(request, "assessment" if viewing else "assessment_form", scope=scope, e=enjeu, errors={})

    @post("/bilan/appreciation", name="bilan.assessment_save", status_code=200)
    async def assessment_save(self, request: Request) -> Response | Template:
        user = _user(request)
        form = await request.form()
        scope = await _scope(form, need_neighbourhood=True)
        axe = str(form.get("enjeu") or "")
        enjeu, _ = await _enjeu(scope, axe)
        text, errors = services.parse_assessment(form)
        if errors:
            if getattr(request, "htmx", False):
                return _fragment(request, "assessment_form", status_code=422, scope=scope, e=enjeu, errors=errors,
                                 raw={"text": str(form.get("text") or "")})
            raise Invalid(" ".join(errors.values()), fields=errors)
        await services.save_assessment(scope, axe, text, user)
        if not getattr(request, "htmx", False):
            return redirect(request, _page_url(scope, f"appreciation-{axe}"))
        enjeu, _ = await _enjeu(scope, axe)
        return _fragment(request, "assessment", saved=True, scope=scope, e=enjeu)

    @get("/bilan/historique", name="bilan.history")
    async def history(self, request: Request) -> Response | Template:
        """The history section again, after a save (htmx asks on "bilan-saved")."""
        scope = await _scope(request.query_params, need_neighbourhood=True)
        if not getattr(request, "htmx", False):
            return Redirect(path=_page_url(scope, "bilan-history"), status_code=303)
        return _fragment(request, "history", scope=scope,
                         history=await queries.history(scope.neighbourhood.id, scope.year))


def _anchor(key: str) -> str:
    return "ind-" + key.replace(".", "-")


def _years() -> list[int]:
    return list(range(queries.last_year(), queries.FIRST_YEAR - 1, -1))


def _download(body: bytes, media_type: str, name: str) -> Response:
    return Response(body, media_type=media_type, headers={
        "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "private, no-store",
        "X-Content-Type-Options": "nosniff"})


__all__ = ["BilanController"]
