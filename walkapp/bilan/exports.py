"""The bilan as an XLSX workbook for the comité: one flat table of every indicator of every
enjeu (sortable and filterable: no merged cells), a sheet of the committee's assessments beside
each enjeu's objectives, and the year's actions one per row. Figures are numbers (euros and
percentages with their formats), dates are dates; text is text, never a formula.
"""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

from .. import clock, gusp
from .queries import Scope

EURO_FORMAT = '#,##0.00\\ "€"'
NUMBER_FORMAT = "#,##0.##"
PERCENT_FORMAT = "0.0\\ %"
DATE_FORMAT = "DD/MM/YYYY"
KINDS = {gusp.COMPUTED: "Calculé", gusp.ENTERED: "Saisi"}


def file_name(scope: Scope, extension: str) -> str:
    hood = scope.neighbourhood.qpv_code if scope.neighbourhood else "quartier"
    return f"bilan-{scope.year}-{hood}.{extension}"


def title(scope: Scope) -> str:
    hood = scope.neighbourhood
    return f"Bilan {scope.year} de la GUSP — {hood.name} ({hood.qpv_code}), {hood.town}"


def _number(value: Any) -> Any:
    """A figure as the cell's number: Decimal kept exact when it has cents, int when whole."""
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    return value


def indicator_rows(scope: Scope, data: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    """The flat table: one row per indicator and enjeu."""
    head = ["Enjeu", "Indicateur", "Type", f"Valeur {scope.previous}", f"Valeur {scope.year}", "Évolution",
            "Évolution (%)", "Unité", "Source", "Date de la mesure", "Commentaire"]
    rows = []
    for enjeu in data["enjeux"]:
        for row in enjeu["rows"]:
            this, last, change = row["this"], row["last"], row["change"]
            rows.append([
                enjeu["term"].label, row["label"], KINDS[row["kind"]], _number(last["value"]), _number(this["value"]),
                _number(change["absolute"]),
                float(change["percent"]) / 100 if change["percent"] is not None else None,
                this["unit"] or ("" if row["kind"] == gusp.COMPUTED else "unité non renseignée"),
                this["source"] or ("source non renseignée" if this["value"] is not None else ""),
                this["measured_on"], this["note"],
            ])
    return head, rows


def to_xlsx(scope: Scope, data: dict[str, Any]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    book = Workbook()
    sheet = book.active
    sheet.title = "Indicateurs"
    head, rows = indicator_rows(scope, data)
    _table(sheet, title(scope), f"Extrait le {clock.date_text(clock.today())}", head, rows)
    for row in sheet.iter_rows(min_row=5):
        euro = row[7].value == "€"
        for cell in row[3:6]:
            cell.number_format = EURO_FORMAT if euro else NUMBER_FORMAT
        row[6].number_format = PERCENT_FORMAT
        row[9].number_format = DATE_FORMAT
    _widths(sheet, [28, 46, 10, 14, 14, 14, 12, 18, 22, 14, 40])

    notes = book.create_sheet("Appréciations")
    note_rows = [[e["term"].label, "\n".join(f"• {o}" for o in e["objectives"]), e["assessment"]["text"]]
                 for e in data["enjeux"]]
    _table(notes, title(scope), "Objectifs opérationnels de la convention et appréciation du comité",
           ["Enjeu", "Objectifs opérationnels", "Appréciation du comité"], note_rows)
    _widths(notes, [28, 60, 70])

    actions = book.create_sheet(f"Actions {scope.year}")
    action_head = ["N°", "Enjeu", "Problème à traiter", "Actions", "État d'avancement", "En retard", "Pilote",
                   "Échéance", "Coût"]
    action_rows = [[r["id"], enjeu["term"].label, r["problem"], r["actions"], r["state_label"],
                    "Oui" if r["late"] else "", r["pilot_name"], r["deadline"], r["cost"]]
                   for enjeu in data["enjeux"] for r in enjeu["actions"]]
    _table(actions, title(scope), "Actions de l'année (leur état à la date de l'extraction)", action_head,
           action_rows)
    for row in actions.iter_rows(min_row=5):
        row[7].number_format = DATE_FORMAT
        row[8].number_format = EURO_FORMAT
    _widths(actions, [7, 26, 40, 40, 16, 10, 24, 12, 14])

    for ws in book.worksheets:
        ws["A1"].font = Font(bold=True, size=14)
        for cell in ws[4]:
            cell.font = Font(bold=True)
            cell.alignment = Alignment(wrap_text=True, vertical="center")
        for row in ws.iter_rows(min_row=5):
            for cell in row:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


HEADER_ROW = 4


def _table(sheet: Any, heading: str, subtitle: str, head: list[str], rows: list[list[Any]]) -> None:
    """A title, a subtitle, an empty line, the header row (frozen, filterable) and the rows; text
    goes in as text cells (a leading = + - @ is never read as a formula)."""
    sheet.append([_text(heading)])
    sheet.append([_text(subtitle)])
    sheet.append([])
    sheet.append([_text(h) for h in head])
    for row in rows:
        sheet.append([_text(v) for v in row])
    sheet.freeze_panes = f"A{HEADER_ROW + 1}"
    if rows:
        from openpyxl.utils import get_column_letter

        sheet.auto_filter.ref = f"A{HEADER_ROW}:{get_column_letter(len(head))}{HEADER_ROW + len(rows)}"


def _text(value: Any) -> Any:
    return value


def _widths(sheet: Any, widths: list[int]) -> None:
    from openpyxl.utils import get_column_letter

    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
