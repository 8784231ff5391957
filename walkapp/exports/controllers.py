"""`GET /exports/photos.zip`: the photos of a walk or of a filter of the map, as one streamed zip.

Who may (walkapp.policy, "photos.zip" and "photos.zip_originals"): signed-in staff for the display
size (a participant or a Bearer token gets 403, a stranger the sign-in page), coordinators only for
the originals: photos show residents and their streets, and originals carry GPS metadata.
Why a Stream with a Content-Length: the browser shows real progress on a 2 GB download, the zip
is sent while it is built, and memory stays flat whatever its size.
"""

from __future__ import annotations

from anyio import to_thread
from litestar import Controller, Request, get
from litestar.response import Stream

from ..errors import BadRequest
from ..observations.filters import ObservationFilter
from ..storage import media_store
from ..policy import actor_of, allowed, require
from . import builder

_YES = {"1", "true", "oui", "on", "yes"}
_NO = {"", "0", "false", "non", "off", "no"}


def _originals(value: object) -> bool:
    text = str(value or "").strip().lower()
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise BadRequest("Paramètre « originals » : 1 pour les photos originales, 0 pour la taille d'affichage.")


class ExportController(Controller):
    path = "/exports"
    guards = [allowed("photos.zip")]
    include_in_schema = False

    @get("/photos.zip", name="photos.zip")
    async def photos_zip(self, request: Request) -> Stream:
        params = request.query_params
        filter, errors = ObservationFilter.from_query(params)
        if errors:
            # Dropping a filter silently would send far more photos than asked: refuse instead.
            raise BadRequest(" ".join(errors.values()))
        originals = _originals(params.get("originals"))
        if originals:
            require(actor_of(request), "photos.zip_originals")
        plan = await builder.collect(filter, originals, base_url=str(request.base_url))
        zs = await to_thread.run_sync(builder.build_zip, plan, media_store())
        return Stream(
            builder.stream(zs),
            media_type="application/zip",
            headers={
                "Content-Length": str(len(zs)),
                "Content-Disposition": f'attachment; filename="{plan.archive_name}"',
                "Cache-Control": "private, no-store",
                "X-Content-Type-Options": "nosniff",
            },
        )
