"""What the zip says about itself: constats.csv, constats.geojson and LISEZMOI.txt.

Why these shapes: the CSV is for French spreadsheets (`;` between cells, decimal commas, UTF-8
with a BOM so Excel reads the accents, dates dd/mm/yyyy); the GeoJSON is for GIS tools (RFC 7946:
longitude first, WGS 84, exact numbers); LISEZMOI.txt is for the person who opens the zip. A cell
starting with = + - @ (or tab, carriage return) would be run as a formula by a spreadsheet:
text cells are neutralised with a leading quote.
"""

from __future__ import annotations

import csv
import io
import json
from typing import TYPE_CHECKING, Any

from .. import clock, gusp
from ..observations import features
from ..urls import absolute
from .names import NO_STREET, issue_folder

if TYPE_CHECKING:  # builder imports this module
    from .builder import ConstatRow, ExportPlan

README = "LISEZMOI.txt"
CSV = "constats.csv"
GEOJSON = "constats.geojson"
MISSING = "fichier manquant"

CSV_HEADER = (
    "Numéro", "Marche", "Date de la marche", "Quartier", "Auteur", "Enjeu (code)", "Enjeu",
    "Angle (code)", "Angle d'analyse", "Point faible / fort", "Statut", "Doublon du constat",
    "Commentaire", "Rue", "Halte", "Latitude", "Longitude", "Précision (m)", "Origine de la position",
    "Hors périmètre", "Date du constat", "Heure du constat", "Reçu le", "Nombre de photos", "Photos",
    "Fichiers manquants",
)
OUTSIDE = {True: "Oui", False: "Non", None: ""}  # "Hors périmètre": blank without an outline or a position
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralised(value: str) -> str:
    """A text cell a spreadsheet will show as text, never evaluate."""
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def _number(value: Any, digits: int) -> str:
    """A decimal comma, as French spreadsheets expect with `;`-separated files."""
    if value is None:
        return ""
    return f"{float(value):.{digits}f}".rstrip("0").rstrip(".").replace(".", ",")


def _id(value: Any) -> Any:
    return getattr(value, "id", value)


def _photo_names(row: ConstatRow) -> tuple[str, str]:
    present = " | ".join(p.member for p in row.photos if not p.missing)
    missing = " | ".join(f"{p.member} ({MISSING})" for p in row.photos if p.missing)
    return present, missing


def csv_bytes(plan: ExportPlan) -> bytes:
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(CSV_HEADER)
    for row in plan.rows:
        o = row.data
        present, missing = _photo_names(row)
        observed = o.get("observed_at") or o.get("received_at")
        text = [
            o.get("walk_title") or "", clock.date_text(o.get("walk_date")), o.get("neighbourhood_name") or "",
            o.get("author") or "", o["issue"], gusp.label("issue", o["issue"]), o["angle"],
            gusp.label("angle", o["angle"]), gusp.label("polarity", o["polarity"]),
            gusp.label("observation_status", o["status"]),
        ]
        writer.writerow([
            str(o["id"]), *map(neutralised, text),
            str(_id(o.get("duplicate_of")) or ""),
            neutralised(o.get("description") or ""), neutralised(o.get("street") or ""),
            neutralised(o.get("stop_name") or ""),
            _number(o.get("lat"), 7), _number(o.get("lon"), 7), _number(o.get("accuracy_m"), 1),
            neutralised(gusp.label("location_source", o.get("location_source")) if o.get("location_source") else ""),
            OUTSIDE.get(o.get("outside_perimeter"), ""),
            clock.date_text(observed), clock.time_text(observed), clock.datetime_text(o.get("received_at")),
            str(len(row.photos)), neutralised(present), neutralised(missing),
        ])
    return out.getvalue().encode("utf-8")


def geojson_bytes(plan: ExportPlan) -> bytes:
    """The constats as the API's GeoJSON and the OGC API give them (walkapp.observations.features:
    the same properties), with `photo_url` / `photo_urls` naming the files of this zip, relative to
    constats.geojson (a photo whose file is missing is left out: LISEZMOI.txt names it)."""
    collection = {"type": "FeatureCollection", "features": [
        features.feature(row.data, features.properties(
            row.data, [p.member for p in row.photos if not p.missing],
            url=absolute(plan.base_url, "constat.page", observation_id=row.data["id"]) if plan.base_url else None,
            author=True, latest_outcome=plan.latest_outcomes.get(row.data["id"])))
        for row in plan.rows]}
    return json.dumps(collection, ensure_ascii=False, indent=1).encode("utf-8")


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f}".replace(".", ",") + " Mo"


def readme_text(plan: ExportPlan) -> str:
    photos = plan.photos
    missing = plan.missing
    included = [p for p in photos if not p.missing]
    lines = [
        "Export des constats et de leurs photos",
        "walkapp, diagnostic en marchant (GUSP)",
        "",
        f"Exporté le {clock.date_text(plan.exported_at)} à {clock.time_text(plan.exported_at)} "
        f"(heure locale, fuseau {clock.zone().key}).",
        "",
        "Filtres utilisés :",
        *(f"  - {line}" for line in plan.filter_lines),
        "",
        "Images : " + ("photos originales, telles qu'envoyées par les téléphones. Attention : elles "
                       "gardent leurs métadonnées (date, modèle d'appareil, souvent la position GPS)."
                       if plan.originals else
                       "taille d'affichage (1600 pixels de côté au plus), sans métadonnées."),
        "",
        "Contenu :",
        f"  - {len(plan.rows)} constat{'s' if len(plan.rows) != 1 else ''}, "
        f"{len(included)} photo{'s' if len(included) != 1 else ''} ({_megabytes(sum(p.size for p in included))})"
        + (f", {len(missing)} fichier{'s' if len(missing) != 1 else ''} manquant{'s' if len(missing) != 1 else ''}"
           if missing else "") + ".",
        f"  - {CSV} : un constat par ligne, avec les libellés, la position et les noms de ses photos "
        "(séparateur point-virgule, virgule décimale, UTF-8 ; s'ouvre dans un tableur).",
        "    « Hors périmètre » : Oui pour un constat à plus de 20 m du contour du quartier (vide quand le "
        "quartier n'a pas de contour importé ou que le constat n'a pas de position).",
        f"  - {GEOJSON} : les mêmes constats pour un logiciel de cartographie (GeoJSON, WGS 84).",
        "  - Un dossier par enjeu, où chaque photo s'appelle <numéro du constat>_<rue>_<n° de la photo> "
        f"(« {NO_STREET} » quand la rue n'est pas renseignée).",
    ]
    counts: dict[str, int] = {}
    for photo in included:
        folder = photo.member.split("/", 1)[0]
        counts[folder] = counts.get(folder, 0) + 1
    for folder in (issue_folder(term.code) for term in gusp.ISSUES):
        if folder in counts:
            lines.append(f"      {folder} : {counts[folder]} photo{'s' if counts[folder] != 1 else ''}")
    lines.append("")
    if missing:
        lines += [
            f"Fichiers manquants ({len(missing)}) : ces photos sont enregistrées mais leur fichier est "
            "introuvable sur le serveur ; elles ne sont pas dans ce zip. Prévenez l'administrateur du site.",
            *(f"  - {p.member} : constat n° {p.observation_id}, photo {p.number} (photo n° {p.photo_id}), "
              f"{MISSING}" for p in missing),
        ]
    else:
        lines.append("Fichiers manquants : aucun.")
    if not plan.rows:
        lines += ["", "Aucun constat ne correspond à ces filtres."]
    return "\r\n".join(lines) + "\r\n"
