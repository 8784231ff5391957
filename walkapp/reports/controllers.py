"""The walk's report (/marches/{id}/compte-rendu, its PDF) and the public restitution
(/restitution/{secret}): pages, photos, QR code, publishing."""

from __future__ import annotations

import anyio
from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath
from litestar.response import File, Template

from ..errors import BadRequest, NotFound
from ..pdf import html_to_pdf
from ..privacy import services as privacy
from ..policy import actor_of, allowed, require
from ..qr import qr_svg
from ..storage import media_store
from ..urls import absolute, url
from ..walks.services import get_walk
from ..web import redirect, render, render_text
from . import services
from .images import print_image

REPORT = "reports/report.html"
RESTITUTION = "reports/restitution.html"
FLYER = "reports/flyer.html"
_YES = ("1", "oui", "on", "true")


def _with_names(request: Request) -> bool:
    """`?noms=1`: the participants' names in the report, when the reader may ask for them."""
    asked = str(request.query_params.get("noms", "")).lower() in _YES
    if asked:
        require(actor_of(request), "walk.report_names")
    return asked


def _file(path, name: str, cache: str) -> File:
    if not path.is_file():
        raise NotFound("Le fichier de cette photo est introuvable sur le serveur.")
    return File(path=path, filename=name, media_type="image/jpeg", content_disposition_type="inline",
                headers={"Cache-Control": cache})


class ReportController(Controller):
    path = "/marches"
    guards = [allowed("walk.report")]
    include_in_schema = False

    @get("/{walk_id:int}/compte-rendu", name="walk.report")
    async def report(self, request: Request, walk_id: FromPath[int]) -> Template:
        walk = await get_walk(walk_id)
        names = _with_names(request)
        report = await services.build_report(walk, with_names=names)
        return render(request, REPORT, report=report, walk=walk, with_names=names)

    @get("/{walk_id:int}/compte-rendu.pdf", name="walk.report_pdf")
    async def report_pdf(self, request: Request, walk_id: FromPath[int]) -> Response:
        walk = await get_walk(walk_id)
        names = _with_names(request)
        report = await services.build_report(walk, with_names=names)
        html = render_text(request, REPORT, report=report, walk=walk, with_names=names, for_pdf=True)
        files = await services.print_files(report, media_store())
        pdf = await anyio.to_thread.run_sync(html_to_pdf, html, str(request.base_url), files)
        return Response(pdf, media_type="application/pdf", headers={
            "Content-Disposition": f'inline; filename="compte-rendu-marche-{walk.id}.pdf"'})

    @get("/{walk_id:int}/compte-rendu/photos/{photo_id:int}", name="walk.report_photo")
    async def report_photo(self, request: Request, walk_id: FromPath[int], photo_id: FromPath[int]) -> File:
        """A photo at print size (the report's page and its PDF show the same file)."""
        walk = await get_walk(walk_id)
        require(actor_of(request), "photo.see", walk)
        photo = await services.report_photo(walk, photo_id, public=False)
        try:
            path = await anyio.to_thread.run_sync(print_image, media_store(), photo)
        except OSError:  # the display image is missing or unreadable (`walkapp check-media` says which)
            raise NotFound("Le fichier de cette photo est introuvable sur le serveur.") from None
        return _file(path, f"constat-{photo.observation}-{photo.position + 1}.jpg",
                     "private, max-age=31536000, immutable")

    @post("/{walk_id:int}/restitution", name="walk.publish", guards=[allowed("walk.publish")], status_code=200)
    async def publish(self, request: Request, walk_id: FromPath[int]) -> Response:
        walk = await get_walk(walk_id)
        choice = str((await request.form()).get("action", ""))
        if choice == "publier":
            await services.publish(walk)
        elif choice == "retirer":
            await services.unpublish(walk)
        else:
            raise BadRequest("Choisissez « publier » ou « retirer » la restitution.")
        return redirect(request, url("walk.detail", walk_id=walk.id) + "#restitution")


class RestitutionController(Controller):
    """Public and anonymous: the same answer for everyone, and a 404 that says nothing for a secret
    that is unknown or withdrawn."""

    path = "/restitution"
    include_in_schema = False

    @get("/{secret:str}", name="restitution")
    async def page(self, request: Request, secret: FromPath[str]) -> Template:
        walk = await services.published_walk(secret)
        report = await services.build_report(walk, public=True)
        return render(request, RESTITUTION, report=report, walk=walk,
                      public_url=absolute(str(request.base_url), "restitution", secret=secret))

    @get("/{secret:str}/affiche", name="restitution.flyer")
    async def flyer(self, request: Request, secret: FromPath[str]) -> Template:
        walk = await services.published_walk(secret)
        return render(request, FLYER, walk=walk, counts=await services.public_counts(walk),
                      public_url=absolute(str(request.base_url), "restitution", secret=secret))

    @get("/{secret:str}/qr.svg", name="restitution.qr", media_type="image/svg+xml")
    async def qr_code(self, request: Request, secret: FromPath[str]) -> Response:
        walk = await services.published_walk(secret)
        svg = qr_svg(absolute(str(request.base_url), "restitution", secret=secret),
                     "Code QR du compte rendu de la marche")
        return Response(svg, media_type="image/svg+xml", headers={
            "Content-Disposition": f'inline; filename="restitution-marche-{walk.id}-qr.svg"'})

    @get("/{secret:str}/photos/{photo_id:int}", name="restitution.photo")
    async def photo(self, request: Request, secret: FromPath[str], photo_id: FromPath[int]) -> File:
        walk = await services.published_walk(secret)
        photo = await services.report_photo(walk, photo_id, public=True)
        # What every reader who is not staff gets: blurred, or the placeholder until it is (never kept).
        image = privacy.reader_image(media_store(), photo, "display", unblurred=False)
        # Withdrawn or no longer validated: gone within minutes from shared caches too.
        cache = "no-store" if image.placeholder else "public, max-age=300"
        return _file(image.path, f"constat-{photo_id}.jpg", cache)

