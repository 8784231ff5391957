"""Reading a QPV perimeter from GeoJSON, and testing constats against it (no database here).

What is accepted: the official contours file of the quartiers prioritaires (data.gouv.fr,
« Quartiers prioritaires de la politique de la ville (QPV) », its WGS 84 GeoJSON; ANCT / SIG
Ville), whole or cut down: a FeatureCollection, a Feature or a bare geometry, of Polygon or
MultiPolygon in longitude/latitude (WGS 84). When the file holds several quartiers, the features
whose code property (CODE_KEYS: `code_qp` in the 2024 files, `CODE_QP` in the 2015 ones,
`code_quartier` in some portals' re-publications) is the neighbourhood's QPV code are taken
(several: one MultiPolygon). Everything else is refused with a French sentence and nothing is
changed: broken JSON, another geometry, a projected file (Lambert-93 coordinates, or a `crs`
member naming anything but WGS 84 / CRS84), an outline far from the neighbourhood's centre
(latitude and longitude swapped), a file over MAX_FILE_BYTES or MAX_VERTICES.

Outside or not: a constat is "hors périmètre" when it lies more than OUTSIDE_MARGIN_M from the
outline. Why a margin: the official limit follows the axis of a border street ("elle est réputée
suivre l'axe central de cette voie"), so the far pavement of that street, which the walk covers,
is a few metres outside; a phone's position is good to ±5-15 m. Computed in a local metric frame
(an equirectangular projection at the outline's latitude: exact to a fraction of a metre at the
scale of a quartier).

Why shapely (GEOS): the import recomputes the flag of every constat of the neighbourhood at once,
and shapely.intersects_xy tests 100,000 points in milliseconds where a Python ray-casting loop
over a 1,000-vertex outline takes tens of seconds; it also repairs an invalid polygon
(make_valid), buffers the margin and simplifies the drawn outline, each of which would be a
page of hand-written geometry.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from shapely.geometry import mapping, shape

from ..errors import AppError

MAX_FILE_BYTES = 40 * 1024 * 1024  # the national 2024 file (all of France's QPVs) fits; beyond is not a QPV file
MAX_VERTICES = 200_000  # in the chosen quartier(s): official outlines have hundreds to a few thousands
MAX_FEATURES = 20_000  # quartiers in one file (France has ~1,600)
MAX_DISTANCE_KM = 20  # from the neighbourhood's centre, when it has one
OUTSIDE_MARGIN_M = 20.0
STORED_DIGITS = 7  # ~1 cm: the outline as imported
DRAWN_DIGITS = 5  # ~1 m: the outline the maps draw
DRAWN_TOLERANCE_M = 1.0  # simplification of the drawn outline (invisible at street zoom)
MAX_DRAWN_VERTICES = 2_000  # keeps the drawn outline under ~40 kB in any page
CODE_KEYS = ("code_qp", "code_quartier", "code_qpv", "codeqp", "cod_qp", "qp", "code")
NAME_KEYS = ("lib_qp", "nom_qp", "nom_quartier", "nom", "name", "libelle")
WGS84_NAMES = {"urn:ogc:def:crs:ogc:1.3:crs84", "urn:ogc:def:crs:ogc::crs84", "crs84", "epsg:4326",
               "urn:ogc:def:crs:epsg::4326", "urn:ogc:def:crs:epsg:4326", "wgs84", "wgs 84",
               "http://www.opengis.net/def/crs/ogc/1.3/crs84", "http://www.opengis.net/def/crs/epsg/0/4326"}
PROJECTED_HINT = ("Téléchargez la version WGS 84 du fichier des contours (data.gouv.fr propose les deux), ou "
                  "reprojetez-le en EPSG:4326 (QGIS : Exporter, « Enregistrer les entités sous », SCR EPSG:4326).")
POLYGONAL = ("Polygon", "MultiPolygon")


class OutlineError(AppError):
    """A file refused: what is wrong and what to do, in French (422: nothing was changed)."""

    status, code = 422, "invalid_outline"


@dataclass(frozen=True)
class Outline:
    """A perimeter read from a file: its GeoJSON geometry as stored, the one maps draw, and what
    the coordinator is told about it."""

    geometry: dict[str, Any]
    drawn: dict[str, Any]
    code: str  # the QPV code the file gave it ("" when it had none)
    name: str  # the quartier's name in the file ("" when none)
    vertices: int
    area_ha: float
    repaired: bool  # the polygon was invalid (a ring crossing itself…) and was repaired


# ---------------------------------------------------------------- reading a file

def _no_constant(name: str) -> float:
    raise ValueError(name)


def _loads(raw: bytes) -> Any:
    if len(raw) > MAX_FILE_BYTES:
        raise OutlineError(f"Fichier trop gros ({len(raw) / 2**20:.0f} Mo) : {MAX_FILE_BYTES // 2**20} Mo au plus. "
                           "Gardez seulement votre quartier (QGIS : sélection, puis « Enregistrer les entités "
                           "sélectionnées »).")
    if not raw.strip():
        raise OutlineError("Le fichier est vide : choisissez le fichier GeoJSON des contours du quartier.")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise OutlineError("Ce fichier n'est pas du texte UTF-8 : un fichier GeoJSON (.geojson) est attendu "
                           "(un shapefile ou un zip ne convient pas : ouvrez-le et exportez-le en GeoJSON).") from None
    try:
        return json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError) as error:
        where = f" (ligne {error.lineno}, colonne {error.colno})" if isinstance(error, json.JSONDecodeError) else ""
        raise OutlineError(f"Ce fichier n'est pas un GeoJSON lisible{where} : le JSON est mal formé ou "
                           "incomplet.") from None


def _check_crs(document: dict[str, Any]) -> None:
    """The `crs` member of GeoJSON 2008 (RFC 7946 dropped it: WGS 84 only): only WGS 84 passes."""
    crs = document.get("crs")
    if crs is None:
        return
    name = crs.get("properties", {}).get("name") if isinstance(crs, dict) and isinstance(
        crs.get("properties"), dict) else None
    if isinstance(name, str) and " ".join(name.lower().split()) in WGS84_NAMES:
        return
    shown = name if isinstance(name, str) else json.dumps(crs, ensure_ascii=False)
    lambert = " (Lambert-93)" if isinstance(name, str) and "2154" in name else ""
    raise OutlineError(f"Système de coordonnées « {shown[:80]} »{lambert} : le périmètre doit être en "
                       f"longitude/latitude WGS 84. {PROJECTED_HINT}")


def _properties(feature: dict[str, Any]) -> dict[str, Any]:
    props = feature.get("properties")
    return {str(k).lower(): v for k, v in props.items()} if isinstance(props, dict) else {}


def _first(props: dict[str, Any], keys: Sequence[str]) -> str:
    for key in keys:
        value = props.get(key)
        if isinstance(value, (str, int)) and str(value).strip():
            return str(value).strip()
    return ""


def _norm(code: str) -> str:
    return "".join(code.split()).upper()


def _features(document: Any) -> list[dict[str, Any]]:
    if not isinstance(document, dict):
        raise OutlineError("Ce fichier n'est pas un GeoJSON : un objet « FeatureCollection », « Feature » ou une "
                           "géométrie « Polygon » / « MultiPolygon » est attendu.")
    kind = document.get("type")
    if kind == "FeatureCollection":
        features = document.get("features")
        if not isinstance(features, list) or not features:
            raise OutlineError("Ce FeatureCollection ne contient aucune entité (features vide).")
        if len(features) > MAX_FEATURES:
            raise OutlineError(f"Ce fichier contient {len(features)} entités : {MAX_FEATURES} au plus.")
        if not all(isinstance(f, dict) for f in features):
            raise OutlineError("Ce FeatureCollection contient des entités illisibles.")
        return features
    if kind == "Feature":
        return [document]
    if kind in POLYGONAL:
        return [{"type": "Feature", "properties": {}, "geometry": document}]
    shown = kind if isinstance(kind, str) else "absent"
    raise OutlineError(f"Type GeoJSON « {shown[:40]} » : un FeatureCollection, un Feature ou une géométrie "
                       "Polygon / MultiPolygon est attendu.")


def _choose(features: list[dict[str, Any]], qpv_code: str) -> list[dict[str, Any]]:
    """The quartier's features: those with its code; the only one when there is one without another code."""
    wanted = _norm(qpv_code)
    coded = [(f, _first(_properties(f), CODE_KEYS)) for f in features]
    mine = [f for f, code in coded if code and _norm(code) == wanted]
    if mine:
        return mine
    if len(features) == 1:
        code = coded[0][1]
        if code and code.upper().startswith("Q"):
            raise OutlineError(f"Ce fichier décrit le quartier {code[:20]}, pas {qpv_code} : choisissez le périmètre "
                               "de ce quartier-ci.")
        return features
    examples = ", ".join(dict.fromkeys(code for _, code in coded if code))
    found = f" (codes trouvés : {examples[:120]}{'…' if len(examples) > 120 else ''})" if examples else \
        " et aucune n'a de propriété code_qp"
    raise OutlineError(f"Ce fichier contient {len(features)} quartiers, aucun avec le code {qpv_code}{found}. "
                       "Vérifiez le code QPV du quartier, ou gardez seulement son contour.")


def _check_positions(geometry: dict[str, Any]) -> int:
    """Every position a pair of finite longitude/latitude numbers; every ring of 4 positions or
    more. Returns the number of vertices."""
    kind = geometry.get("type")
    coordinates = geometry.get("coordinates")
    polygons = [coordinates] if kind == "Polygon" else coordinates
    if not isinstance(polygons, list) or not polygons:
        raise OutlineError(f"Géométrie {kind} sans coordonnées.")
    count = 0
    for polygon in polygons:
        if not isinstance(polygon, list) or not polygon:
            raise OutlineError(f"Géométrie {kind} illisible : un polygone sans anneau.")
        for ring in polygon:
            if not isinstance(ring, list) or len(ring) < 4:
                raise OutlineError(f"Géométrie {kind} illisible : un anneau a moins de 4 points.")
            for position in ring:
                if not (isinstance(position, list) and 2 <= len(position) <= 4 and all(
                        isinstance(n, (int, float)) and not isinstance(n, bool) for n in position)):
                    raise OutlineError(f"Géométrie {kind} illisible : des coordonnées [longitude, latitude] "
                                       "sont attendues.")
                lon, lat = position[0], position[1]
                if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
                    raise OutlineError(f"Coordonnées hors des longitudes et latitudes ({lon:.0f}, {lat:.0f}) : ce "
                                       f"fichier est projeté (Lambert-93 ?). {PROJECTED_HINT}")
            count += len(ring)
            if count > MAX_VERTICES:
                raise OutlineError(f"Périmètre trop détaillé : plus de {MAX_VERTICES} sommets.")
    return count


def _metres(geometry, lat0: float):
    """The geometry in a local metric frame (x east, y north) around latitude `lat0`."""
    kx, ky = metres_per_degree(lat0)
    return shapely.transform(geometry, lambda xy: xy * np.array([kx, ky]))


def metres_per_degree(lat: float) -> tuple[float, float]:
    return 111_320.0 * math.cos(math.radians(lat)), 110_574.0


def _rounded(geometry, digits: int) -> dict[str, Any]:
    return json.loads(json.dumps(mapping(shapely.set_precision(geometry, 10 ** -digits))))


def _drawn(geometry, lat0: float) -> dict[str, Any]:
    """Simplified (topology kept) to about a metre, then coarser while it has too many vertices."""
    kx, ky = metres_per_degree(lat0)
    tolerance = DRAWN_TOLERANCE_M / ky
    for _ in range(12):
        simple = shapely.simplify(geometry, tolerance, preserve_topology=True)
        if shapely.get_num_coordinates(simple) <= MAX_DRAWN_VERTICES:
            break
        tolerance *= 2
    return _rounded(simple, DRAWN_DIGITS)


def parse(raw: bytes, qpv_code: str, centre: tuple[float, float] | None = None) -> Outline:
    """The perimeter of the quartier `qpv_code` in `raw` (a GeoJSON file), or OutlineError."""
    document = _loads(raw)
    features = _features(document)
    _check_crs(document)
    chosen = _choose(features, qpv_code)
    shapes = []
    vertices = 0
    for feature in chosen:
        _check_crs(feature)
        geometry = feature.get("geometry")
        kind = geometry.get("type") if isinstance(geometry, dict) else None
        if kind not in POLYGONAL:
            shown = kind if isinstance(kind, str) else "aucune"
            raise OutlineError(f"Géométrie « {shown[:40]} » : le périmètre d'un quartier est un Polygon ou un "
                               "MultiPolygon.")
        vertices += _check_positions(geometry)
        if vertices > MAX_VERTICES:
            raise OutlineError(f"Périmètre trop détaillé : plus de {MAX_VERTICES} sommets.")
        try:
            shapes.append(shape(geometry))
        except (ValueError, TypeError, shapely.errors.GEOSException):
            raise OutlineError(f"Géométrie {kind} illisible.") from None
    geometry = shapely.force_2d(shapely.union_all(shapes) if len(shapes) > 1 else shapes[0])
    repaired = not geometry.is_valid
    if repaired:
        geometry = shapely.make_valid(geometry)
    polygons = [g for g in shapely.get_parts(geometry) if g.geom_type in POLYGONAL]
    geometry = shapely.union_all(polygons) if polygons else shapely.Polygon()
    if geometry.is_empty or geometry.area == 0:
        raise OutlineError("Ce périmètre n'entoure aucune surface (anneaux plats ou dégénérés).")
    lat0 = geometry.centroid.y
    metric = _metres(geometry, lat0)
    if centre is not None:
        kx, ky = metres_per_degree(lat0)
        here = shapely.Point(centre[1] * kx, centre[0] * ky)
        far = metric.distance(here) / 1000
        if far > MAX_DISTANCE_KM:
            raise OutlineError(f"Ce périmètre est à {far:,.0f} km du centre du quartier".replace(",", " ")
                               + " : est-ce le bon fichier ? (Longitude et latitude inversées ?)")
    props = _properties(chosen[0])
    return Outline(geometry=_rounded(geometry, STORED_DIGITS), drawn=_drawn(geometry, lat0),
                   code=_first(props, CODE_KEYS), name=_first(props, NAME_KEYS), vertices=vertices,
                   area_ha=metric.area / 10_000, repaired=repaired)


# ---------------------------------------------------------------- inside or outside

class Zone:
    """An outline widened by OUTSIDE_MARGIN_M, ready to test many points at once."""

    def __init__(self, geometry: dict[str, Any], margin_m: float = OUTSIDE_MARGIN_M):
        outline = shape(geometry)
        self.lat0 = outline.centroid.y
        self.kx, self.ky = metres_per_degree(self.lat0)
        self.area = _metres(outline, self.lat0).buffer(margin_m)
        shapely.prepare(self.area)

    def outside(self, lats: Sequence[float], lons: Sequence[float]) -> list[bool]:
        """For each point: True when it lies farther than the margin from the outline."""
        if not len(lats):
            return []
        x = np.asarray(lons, dtype=float) * self.kx
        y = np.asarray(lats, dtype=float) * self.ky
        return (~shapely.intersects_xy(self.area, x, y)).tolist()

    def is_outside(self, lat: float | None, lon: float | None) -> bool | None:
        return None if lat is None or lon is None else self.outside([lat], [lon])[0]


def rings(geometry: dict[str, Any]) -> list[list[list[float]]]:
    """Every ring of a Polygon / MultiPolygon GeoJSON, as [lon, lat] lists (for the SVG map)."""
    coordinates = geometry.get("coordinates") or []
    polygons = [coordinates] if geometry.get("type") == "Polygon" else coordinates
    return [ring for polygon in polygons for ring in polygon]
