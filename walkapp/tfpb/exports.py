"""A programme as an XLSX laid out like Annexe 1 (through walkapp/spreadsheets.py): the title, the
commune, neighbourhood, landlord, dwellings and the year's abatement; two header rows (the
periods, then their columns); each heading as a band, its lines, its sub-total; the total. Two
flat sheets follow for sorting and filtering: one row per line, one row per action valued."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from .. import gusp
from .. import spreadsheets as sheets
from ..actions.forms import format_euros
from .services import Sheet, title

BAND_FILL = "DCE6F2"
TOTAL_FILL = "F2F2F2"
FIRST_AMOUNT = 3  # columns A (code) and B (line) come first


def _period_title(period: str, year: int) -> str:
    return str(year) if period == str(year) else f"Bilan {period}"


def to_xlsx(programme: dict[str, Any], sheet: Sheet) -> bytes:
    book = Workbook()
    ws = book.active
    ws.title = f"Annexe 1 TFPB {programme['year']}"[:31]
    cols = sheet.columns
    last = FIRST_AMOUNT + len(cols) - 1
    last_letter = get_column_letter(last)
    heading_title = title(programme)

    sheets.write(ws, 1, 1, f"Programme d'actions lié à l'abattement de TFPB {programme['year']} — "
                           f"{programme['landlord_name']}").font = Font(bold=True, size=14)
    sheets.write(ws, 2, 1, f"Commune : {programme['town']} · Quartier : {programme['neighbourhood_name']} "
                           f"(QPV {programme['qpv_code']}) · Organisme : {programme['landlord_name']}")
    dwellings = programme["dwellings"] if programme["dwellings"] is not None else "non renseigné"
    abatement = format_euros(programme["abatement"]) if programme["abatement"] is not None else "non renseigné"
    sheets.write(ws, 3, 1, f"Nombre de logements dans le quartier : {dwellings} · Montant de l'abattement "
                           f"{programme['year']} : {abatement}")
    for row in (1, 2, 3):
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=last)
        ws.cell(row, 1).alignment = Alignment(wrap_text=True, vertical="top")

    # Two header rows: the periods (merged over their columns), then each column's name.
    top, sub = 5, 6
    sheets.write(ws, top, 1, "N°")
    sheets.write(ws, top, 2, "Rubrique et actions")
    ws.merge_cells(start_row=top, start_column=1, end_row=sub, end_column=1)
    ws.merge_cells(start_row=top, start_column=2, end_row=sub, end_column=2)
    column = FIRST_AMOUNT
    for period in dict.fromkeys(c.period for c in cols):
        width = sum(1 for c in cols if c.period == period)
        sheets.write(ws, top, column, _period_title(period, programme["year"]))
        ws.merge_cells(start_row=top, start_column=column, end_row=top, end_column=column + width - 1)
        column += width
    for index, col in enumerate(cols):
        sheets.write(ws, sub, FIRST_AMOUNT + index, col.label + (" (actions)" if col.computed else ""))
    sheets.style_header(ws, top)
    sheets.style_header(ws, sub)

    line = sub
    blocks = []
    for heading in sheet.headings:
        term = heading["term"]
        line += 1
        first = line
        sheets.write(ws, line, 1, f"{term.code}. {term.label}")
        ws.merge_cells(start_row=line, start_column=1, end_row=line, end_column=last)
        for cell in ws[line]:
            cell.font = Font(bold=True)
            cell.fill = PatternFill("solid", fgColor=BAND_FILL)
        for item in heading["lines"]:
            line += 1
            sheets.write(ws, line, 1, item["code"])
            label = item["label"] + (f" ({item['actions']} action{'s' if item['actions'] > 1 else ''})"
                                     if item["actions"] else "")
            sheets.write(ws, line, 2, label)
            for index, col in enumerate(cols):
                amount = item["values"].get(col.key)
                if amount:
                    sheets.write(ws, line, FIRST_AMOUNT + index, amount)
            _frame(ws, line, last, italic=item.get("unspecified", False))
        line += 1
        sheets.write(ws, line, 1, f"Sous-total {term.code}")
        ws.merge_cells(start_row=line, start_column=1, end_row=line, end_column=2)
        _amount_row(ws, line, cols, heading["subtotal"], last)
        blocks.append((first, line))

    line += 1
    sheets.write(ws, line, 1, "Montant total")
    ws.merge_cells(start_row=line, start_column=1, end_row=line, end_column=2)
    _amount_row(ws, line, cols, sheet.total, last)
    for cell in ws[line]:
        cell.font = Font(bold=True, size=12)

    sheets.set_widths(ws, [6, 44] + [13] * len(cols))
    sheets.fit_row_heights(ws)
    sheets.set_print(ws, title=heading_title, title_rows=(top, sub))
    blocks[-1] = (blocks[-1][0], line)  # the last heading keeps the total with it
    sheets.keep_together(ws, blocks, last_column=last, title_rows=(top, sub))
    ws.freeze_panes = f"C{sub + 1}"
    ws.print_area = f"A1:{last_letter}{line}"

    # Flat sheets, for sorting and filtering.
    header = ["Rubrique", "Code", "Ligne"] + [f"{c.label} {c.period}" for c in cols]
    rows = [[f"{h['term'].code}. {h['term'].label}", item["code"], item["label"]]
            + [item["values"].get(c.key, Decimal("0.00")) for c in cols]
            for h in sheet.headings for item in h["lines"]]
    sheets.flat_sheet(book, "Lignes (tableau)", header, rows, widths=[24, 6, 36] + [12] * len(cols),
                      title=heading_title)
    action_header = ["N°", "Ligne", "Rubrique", "Problème à traiter", "État d'avancement", "Coût"]
    action_rows = [[a["id"], f"{a['tfpb_line']} {a['tfpb_line_label']}" if a["tfpb_line"] else gusp.UNSPECIFIED_LINE,
                    f"{a['tfpb_heading']}. {a['tfpb_label']}", a["problem"], a["state_label"], a["cost"]]
                   for a in sheet.actions]
    sheets.flat_sheet(book, "Actions valorisées", action_header, action_rows, widths=[6, 30, 24, 40, 14, 12],
                      title=heading_title, number_formats={5: sheets.EURO_FORMAT})
    return sheets.to_bytes(book)


def _frame(ws: Any, row: int, last: int, italic: bool = False) -> None:
    for index in range(1, last + 1):
        cell = ws.cell(row, index)
        cell.border = sheets.BORDER
        cell.alignment = Alignment(wrap_text=index == 2, vertical="top")
        if italic:
            cell.font = Font(italic=True)


def _amount_row(ws: Any, row: int, cols: list[Any], values: dict[str, Decimal], last: int) -> None:
    for index, col in enumerate(cols):
        sheets.write(ws, row, FIRST_AMOUNT + index, values.get(col.key, Decimal("0.00")))
    for index in range(1, last + 1):
        cell = ws.cell(row, index)
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor=TOTAL_FILL)
        cell.border = sheets.BORDER
