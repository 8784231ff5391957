"""The neighbourhood's perimeter: its import (the panel of the walk's page) and its GeoJSON."""

from __future__ import annotations

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.params import FromPath
from litestar.response import Template

from ..errors import NotFound
from ..policy import actor_of, allowed, require
from ..tables import Walk
from ..urls import url
from ..validation import parse_id
from ..web import redirect, render
from . import services
from .geometry import MAX_FILE_BYTES, OutlineError

PANEL = "outline/panel.html"
FIELD = "perimetre"  # the file input's name


class OutlineController(Controller):
    path = "/quartiers"
    include_in_schema = False

    @post("/{neighbourhood_id:int}/perimetre", name="neighbourhood.outline_import", status_code=200,
          guards=[allowed("neighbourhood.outline")], request_max_body_size=MAX_FILE_BYTES + 1_000_000)
    async def import_file(self, request: Request, neighbourhood_id: FromPath[int]) -> Response | Template:
        hood = await services.get_neighbourhood(neighbourhood_id)
        form = await request.form()
        walk_id = parse_id(form.get("walk"))
        walk = await Walk.objects().where(Walk.id == walk_id).first() if walk_id else None
        upload = form.get(FIELD)
        try:
            if not isinstance(upload, UploadFile) or not upload.filename:
                raise OutlineError("Choisissez le fichier GeoJSON du périmètre (contours officiels du QPV).")
            raw = await upload.read(MAX_FILE_BYTES + 1)
            imported = await services.import_outline(hood, raw, upload.filename, request.user)
        except OutlineError as error:
            if not getattr(request, "htmx", False):
                raise
            return render(request, PANEL, block="panel", status_code=error.status,
                          **await services.panel_context(hood, walk, error=error.detail))
        if not getattr(request, "htmx", False):
            return redirect(request, url("walk.detail", walk_id=walk.id) if walk else url("walks.list"))
        return render(request, PANEL, block="panel", **await services.panel_context(hood, walk, imported=imported))

    @get("/{neighbourhood_id:int}/perimetre.geojson", name="neighbourhood.outline_geojson",
         media_type="application/geo+json")
    async def geojson(self, request: Request, neighbourhood_id: FromPath[int]) -> Response:
        """The outline as imported (full precision), for a GIS officer or a map's script."""
        require(actor_of(request), "map.see")
        body = await services.stored_geojson(neighbourhood_id)
        if body is None:
            raise NotFound("Ce quartier n'a pas de périmètre importé.")
        return Response(body, media_type="application/geo+json", headers={
            "Content-Disposition": f'inline; filename="perimetre-quartier-{neighbourhood_id}.geojson"'})


