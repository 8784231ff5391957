"""The bilan as an XLSX workbook for the comité: one flat table of every indicator of every
enjeu (sortable and filterable: no merged cells), a sheet of the committee's assessments beside
each enjeu's objectives, and the year's actions one per row. Figures are numbers (euros and
percentages with their formats), dates are dates; text is text, never a formula. How the sheets
print and read is walkapp.spreadsheets' (the tfpb branch's), not this module's.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .. import clock, gusp
from .queries import Scope

PERCENT_FORMAT = "0.0\\ %"
KINDS = {gusp.COMPUTED: "Calculé", gusp.ENTERED: "Saisi"}


def file_name(scope: Scope, extension: str) -> str:
    hood = scope.neighbourhood.qpv_code if scope.neighbourhood else "quartier"
    return f"bilan-{scope.year}-{hood}.{extension}"


def title(scope: Scope) -> str:
    hood = scope.neighbourhood
    return f"Bilan {scope.year} de la GUSP — {hood.name} ({hood.qpv_code}), {hood.town}"


def _number(value: Any, unit: str) -> Any:
    """A figure as the cell's number: euros stay Decimal (the sheets' euro format), other
    figures are plain numbers (an int when whole)."""
    if not isinstance(value, Decimal) or unit == "€":
        return value
    return int(value) if value == value.to_integral_value() else float(value)


def indicator_rows(scope: Scope, data: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    """The flat table: one row per indicator and enjeu."""
    head = ["Enjeu", "Indicateur", "Type", f"Valeur {scope.previous}", f"Valeur {scope.year}", "Évolution",
            "Évolution (%)", "Unité", "Source", "Date de la mesure", "Commentaire"]
    rows = []
    for enjeu in data["enjeux"]:
        for row in enjeu["rows"]:
            this, last, change = row["this"], row["last"], row["change"]
            rows.append([
                enjeu["term"].label, row["label"], KINDS[row["kind"]], _number(last["value"], last["unit"]),
                _number(this["value"], this["unit"]), _number(change["absolute"], this["unit"]),
                float(change["percent"]) / 100 if change["percent"] is not None else None,
                this["unit"] or ("" if row["kind"] == gusp.COMPUTED else "unité non renseignée"),
                this["source"] or ("source non renseignée" if this["value"] is not None else ""),
                this["measured_on"], this["note"],
            ])
    return head, rows


def to_xlsx(scope: Scope, data: dict[str, Any]) -> bytes:
    """Three flat sheets (walkapp.spreadsheets: printed A4 landscape one page wide, header row
    repeated, row heights from the text, text cells never formulas)."""
    from openpyxl import Workbook

    from .. import spreadsheets

    book = Workbook()
    book.remove(book.active)
    heading = title(scope)
    head, rows = indicator_rows(scope, data)
    spreadsheets.flat_sheet(book, "Indicateurs", head, rows, widths=[24, 40, 9, 12, 12, 12, 11, 16, 18, 12, 30],
                            title=heading, number_formats={6: PERCENT_FORMAT})
    note_rows = [[e["term"].label, "\n".join(f"• {o}" for o in e["objectives"]), e["assessment"]["text"]]
                 for e in data["enjeux"]]
    spreadsheets.flat_sheet(book, "Appréciations", ["Enjeu", "Objectifs opérationnels", "Appréciation du comité"],
                            note_rows, widths=[26, 60, 70], title=f"{heading} — appréciations du comité")
    action_head = ["N°", "Enjeu", "Problème à traiter", "Actions", "État d'avancement", "En retard", "Pilote",
                   "Échéance", "Coût"]
    action_rows = [[r["id"], enjeu["term"].label, r["problem"], r["actions"], r["state_label"],
                    "Oui" if r["late"] else "", r["pilot_name"], r["deadline"], r["cost"]]
                   for enjeu in data["enjeux"] for r in enjeu["actions"]]
    spreadsheets.flat_sheet(book, f"Actions {scope.year}", action_head, action_rows,
                            widths=[7, 24, 40, 40, 15, 9, 22, 12, 13],
                            title=f"{heading} — actions de l'année (état au {clock.date_text(clock.today())})")
    return spreadsheets.to_bytes(book)
