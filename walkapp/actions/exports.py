"""The table as files: XLSX laid out like Annexe 2, CSV for French spreadsheets.

Both start with Annexe 2's columns in the convention's order (the response split into its three
kinds right after "Actions", as the convention draws it), then what the follow-up adds: pilot,
other partners, échéance, TFPB line, linked constats, late.

Both start with the action's number, then Annexe 2's columns in order.

Formula injection: a cell typed as `=HYPERLINK("http://x")` (or starting with + - @, a tab or a
carriage return) would run as a formula when the file is opened. The CSV has no types, so such
text goes out prefixed with an apostrophe (OWASP's advice for CSV injection); the XLSX writes it as
a text cell, shown exactly as typed and never evaluated (walkapp/spreadsheets.py).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from typing import Any

from .. import clock, gusp
from .. import spreadsheets as sheets
from .forms import field_label
from .queries import by_axe, total_cost

_DANGEROUS_START = ("=", "+", "-", "@", "\t", "\r")
NUMBER = "N°"
LATE = "En retard"
YES = "Oui"


def neutralise(value: Any) -> Any:
    """Text that a spreadsheet would take for a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(_DANGEROUS_START):
        return "'" + value
    return value


def columns() -> list[str]:
    """The header: Annexe 2's columns in order (responses after "Actions"), then the others."""
    annexe = [t.label for t in gusp.ANNEXE2_COLUMNS]
    at = annexe.index(field_label("actions")) + 1
    head = annexe[:at] + [t.label for t in gusp.RESPONSES] + annexe[at:]
    return [NUMBER] + head + [field_label("pilot"), field_label("other_partners"), field_label("deadline"),
                   field_label("tfpb_heading"), "Constats liés", LATE]


def _values(row: dict[str, Any]) -> list[Any]:
    """One action as cells, in `columns()` order (dates and amounts left typed)."""
    tfpb = (f"{row['tfpb_line']} {row['tfpb_line_label']}" if row.get("tfpb_line")
            else f"{row['tfpb_heading']}. {row['tfpb_label']}" if row["tfpb_heading"] else "")
    return [row["id"], row["axe_label"], row["problem"], row["finding"], row["actions"],
            *[YES if row["responses"][t.code] else "" for t in gusp.RESPONSES],
            row["state_label"], row["cost"], row["delay_causes"], row["evaluation"], row["comment"],
            row["pilot_name"], ", ".join(row["other_partner_names"]), row["deadline"], tfpb,
            ", ".join(f"n° {i}" for i in row["constat_ids"]), YES if row["late"] else ""]


COST_COLUMN = columns().index(field_label("cost"))
DEADLINE_COLUMN = columns().index(field_label("deadline"))


# ---------------------------------------------------------------- CSV

def _csv_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:.2f}".replace(".", ",")  # a number for French spreadsheets: decimal comma
    if isinstance(value, dt.date):
        return clock.date_text(value)
    return str(neutralise(value))


def to_csv(rows: list[dict[str, Any]]) -> bytes:
    """`;`-separated, UTF-8 with a BOM (so Excel reads the accents), one line per action, axes in
    the convention's order."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(columns())
    for _, group in by_axe(rows):
        for row in group:
            writer.writerow([_csv_text(v) for v in _values(row)])
    return out.getvalue().encode("utf-8-sig")


# ---------------------------------------------------------------- XLSX

# Column widths (in widths of "0") chosen so that the 21 columns fit one A4 landscape page wide at a
# readable scale; long texts wrap and the rows grow to hold them (spreadsheets.fit_row_heights).
_LONG = ("problem", "finding", "actions")
_MEDIUM = ("evaluation", "comment", "delay_causes")


def _widths() -> list[float]:
    widths: list[float] = []
    for name in columns():
        if name == NUMBER:
            widths.append(6)
        elif name == gusp.ANNEXE2_COLUMNS[0].label:
            widths.append(14)
        elif name in (field_label(f) for f in _LONG):
            widths.append(24)
        elif name in (field_label(f) for f in _MEDIUM):
            widths.append(18)
        elif name in (t.label for t in gusp.RESPONSES):
            widths.append(12)
        elif name == LATE:
            widths.append(8)
        elif name == field_label("state"):
            widths.append(13)
        else:
            widths.append(12)
    return widths


def to_xlsx(rows: list[dict[str, Any]], title: str, subtitle: str) -> bytes:
    """Two sheets. "Suivi des actions" is laid out like Annexe 2 for printing: a title
    (neighbourhood and period), the header row repeated on every page, one band per axe (its
    label and the axe's total cost) followed by its actions, and a last row with the total.
    "Actions (tableau)" has one row per action and no merged cells, for sorting and filtering.
    Both print A4 landscape, one page wide (walkapp/spreadsheets.py)."""
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    head = columns()
    width = len(head)
    last = get_column_letter(width)
    book = sheets.Workbook()
    sheet = book.active
    sheet.title = "Suivi des actions"
    sheets.write(sheet, 1, 1, title).font = Font(bold=True, size=14)
    sheets.write(sheet, 2, 1, subtitle)
    sheet.merge_cells(f"A1:{last}1")
    sheet.merge_cells(f"A2:{last}2")
    for cell in (sheet["A1"], sheet["A2"]):
        cell.alignment = Alignment(wrap_text=True, vertical="top")

    header_row = 4
    for column, label in enumerate(head, start=1):
        sheets.write(sheet, header_row, column, label)
    sheets.style_header(sheet, header_row)
    cost = COST_COLUMN + 1

    line = header_row
    blocks = []
    for term, group in by_axe(rows):
        line += 1
        blocks.append((line, line + len(group)))
        sheet.merge_cells(start_row=line, start_column=1, end_row=line, end_column=cost - 1)
        sheets.write(sheet, line, 1, f"{term.label} ({len(group)} action{'s' if len(group) > 1 else ''})")
        sheets.write(sheet, line, cost, total_cost(group))
        fill = PatternFill("solid", fgColor=term.colour.lstrip("#").upper())
        ink = term.on_colour.lstrip("#")  # black or white by contrast, as in the pages
        for cell in sheet[line]:
            cell.fill = fill
            cell.font = Font(bold=True, color=ink)
            cell.number_format = sheets.EURO_FORMAT
        for row in group:
            line += 1
            for column, value in enumerate(_values(row), start=1):
                cell = sheets.write(sheet, line, column, value)
                cell.alignment = Alignment(wrap_text=True, vertical="top")
                cell.border = sheets.BORDER
            if row["late"]:
                sheet.cell(line, width).font = Font(bold=True, color="B00020")

    line += 1
    sheet.merge_cells(start_row=line, start_column=1, end_row=line, end_column=cost - 1)
    sheets.write(sheet, line, 1, "Total")
    sheets.write(sheet, line, cost, total_cost(rows))
    for cell in sheet[line]:
        cell.font = Font(bold=True)

    sheet.auto_filter.ref = f"A{header_row}:{last}{line - 1}"
    sheet.freeze_panes = f"C{header_row + 1}"  # the header, the number and the axe stay in view
    sheets.set_widths(sheet, _widths())
    sheets.fit_row_heights(sheet)
    sheets.set_print(sheet, title=title, title_rows=(header_row, header_row))
    sheets.keep_together(sheet, blocks, last_column=width, title_rows=(header_row, header_row))

    flat = [_values(row) for _, group in by_axe(rows) for row in group]
    sheets.flat_sheet(book, "Actions (tableau)", head, flat, widths=_widths(), title=title)
    return sheets.to_bytes(book)
