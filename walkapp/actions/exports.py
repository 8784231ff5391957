"""The table as files: XLSX laid out like Annexe 2, CSV for French spreadsheets.

Both start with Annexe 2's columns in the convention's order (the response split into its three
kinds right after "Actions", as the convention draws it), then what the follow-up adds: pilot,
other partners, échéance, TFPB line, linked constats, late.

Formula injection: a cell typed as `=HYPERLINK("http://x")` (or starting with + - @, a tab or a
carriage return) would run as a formula when the file is opened; such text goes out prefixed with
an apostrophe, so it is shown as typed and never evaluated (OWASP's advice for CSV injection).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from typing import Any
from collections.abc import Iterable

from .. import clock, gusp
from .forms import field_label
from .queries import by_axe, total_cost

_DANGEROUS_START = ("=", "+", "-", "@", "\t", "\r")
EURO_FORMAT = '#,##0.00\\ "€"'
DATE_FORMAT = "DD/MM/YYYY"
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
    return head + [field_label("pilot"), field_label("other_partners"), field_label("deadline"),
                   field_label("tfpb_heading"), "Constats liés", "En retard"]


def _values(row: dict[str, Any]) -> list[Any]:
    """One action as cells, in `columns()` order (dates and amounts left typed)."""
    tfpb = f"{row['tfpb_heading']}. {row['tfpb_label']}" if row["tfpb_heading"] else ""
    return [row["axe_label"], row["problem"], row["finding"], row["actions"],
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

def _widths() -> Iterable[int]:
    for name in columns():
        if name in (field_label("problem"), field_label("finding"), field_label("actions"),
                    field_label("evaluation"), field_label("comment"), field_label("delay_causes")):
            yield 38
        elif name in (t.label for t in gusp.RESPONSES):
            yield 14
        else:
            yield 18


def to_xlsx(rows: list[dict[str, Any]], title: str, subtitle: str) -> bytes:
    """One sheet like Annexe 2: a title (neighbourhood and period), the header row frozen and
    filterable, then one band per axe (its label and the axe's total cost) followed by its
    actions, and a last row with the total."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter

    head = columns()
    last = get_column_letter(len(head))
    book = Workbook()
    sheet = book.active
    sheet.title = "Suivi des actions"
    sheet.append([neutralise(title)])
    sheet.append([neutralise(subtitle)])
    sheet.append([])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.merge_cells(f"A1:{last}1")
    sheet.merge_cells(f"A2:{last}2")

    header_row = 4
    sheet.append(head)
    thin = Side(style="thin", color="999999")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    for cell in sheet[header_row]:
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor="0B5394")
        cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
        cell.border = border
    sheet.row_dimensions[header_row].height = 45
    cost_letter = get_column_letter(COST_COLUMN + 1)
    before_cost = get_column_letter(COST_COLUMN)

    for term, group in by_axe(rows):
        sheet.append([term.label] + [None] * (len(head) - 1))
        band = sheet.max_row
        sheet.merge_cells(f"A{band}:{before_cost}{band}")
        sheet[f"A{band}"].value = f"{term.label} ({len(group)} action{'s' if len(group) > 1 else ''})"
        sheet[f"{cost_letter}{band}"].value = total_cost(group)
        fill = PatternFill("solid", fgColor=term.colour.lstrip("#").upper())
        ink = term.on_colour.lstrip("#")  # black or white by contrast, as in the pages
        for cell in sheet[band]:
            cell.fill = fill
            cell.font = Font(bold=True, color=ink)
            cell.number_format = EURO_FORMAT
        for row in group:
            sheet.append([neutralise(v) for v in _values(row)])
            line = sheet.max_row
            for cell in sheet[line]:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
                cell.border = border
            sheet[f"{cost_letter}{line}"].number_format = EURO_FORMAT
            sheet[f"{get_column_letter(DEADLINE_COLUMN + 1)}{line}"].number_format = DATE_FORMAT
            if row["late"]:
                sheet[f"{get_column_letter(len(head))}{line}"].font = Font(bold=True, color="B00020")

    sheet.append(["Total"] + [None] * (len(head) - 1))
    total = sheet.max_row
    sheet.merge_cells(f"A{total}:{before_cost}{total}")
    sheet[f"{cost_letter}{total}"].value = total_cost(rows)
    sheet[f"{cost_letter}{total}"].number_format = EURO_FORMAT
    for cell in sheet[total]:
        cell.font = Font(bold=True)

    sheet.auto_filter.ref = f"A{header_row}:{last}{total - 1}"
    sheet.freeze_panes = f"B{header_row + 1}"  # the header and the axe column stay in view
    for index, width in enumerate(_widths(), start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.fitToWidth = 1
    sheet.print_title_rows = f"{header_row}:{header_row}"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
