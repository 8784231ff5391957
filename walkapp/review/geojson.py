"""GeoJSON (RFC 7946) of constats: one Feature per constat, longitude first, WGS 84, photo URLs."""

from __future__ import annotations

from typing import Any

from .. import gusp
from ..observations.filters import ObservationFilter
from ..observations.services import observations_with_photos
from ..revisits.services import latest_outcomes
from ..tables import Observation, Walk
from ..urls import absolute


def _absolute(base_url: str, photo: dict[str, Any]) -> dict[str, Any]:
    return {**photo, **{k: base_url + v for k, v in photo.items() if k.endswith("_url")}}


async def feature_collection(chosen: ObservationFilter, base_url: str, with_authors: bool = True) -> dict[str, Any]:
    """`with_authors=False` (anyone but staff: policy "geojson.authors") leaves participants'
    names out: a GeoJSON file travels (PRODUCT.md, "Privacy")."""
    where = chosen.where()
    items = await observations_with_photos(where if where is not None else Observation.id.is_not_null())
    walk_titles = {w["id"]: w["title"] for w in await Walk.select(Walk.id, Walk.title)}
    latest = await latest_outcomes()  # re-visited constats (few): their latest outcome, for QGIS styles
    features = []
    for item in items:
        has_point = item["lat"] is not None and item["lon"] is not None
        features.append({
            "type": "Feature",
            "id": item["id"],
            # RFC 7946 §3.1.1: [longitude, latitude]; a constat without a place has a null geometry.
            "geometry": {"type": "Point", "coordinates": [item["lon"], item["lat"]]} if has_point else None,
            "properties": {
                **{k: v for k, v in item.items() if k not in ("photos", "lat", "lon")},
                **({} if with_authors else {"author": None}),
                "polarity_label": gusp.label("polarity", item["polarity"]),
                "status_label": gusp.label("observation_status", item["status"]),
                "walk_title": walk_titles.get(item["walk_id"]),
                "latest_outcome": latest[item["id"]]["outcome"] if item["id"] in latest else None,
                "url": absolute(base_url, "constat.page", observation_id=item["id"]),
                "photos": [_absolute(base_url, p) for p in item["photos"]],
            },
        })
    return {"type": "FeatureCollection", "features": features}
