"""How walkapp's XLSX files print and read, in one place (Annexe 2, Annexe 1, the bilan...).

Every workbook the app makes goes through here:

- **Print**: A4 landscape, fit to one page width with the fit-to-page flag set (`fitToPage`,
  `fitToWidth=1`, `fitToHeight=0`: as many pages down as needed), the header rows repeated on each
  page, narrow margins, a header (the title) and a footer ("Page x / y").
- **Row heights** computed from the text and the column widths: LibreOffice does not auto-fit rows
  of a file it opens, so a wrapped comment would otherwise be clipped into the next row. The
  estimate is deliberately generous (a proportional font narrower than the digit '0' that column
  widths count in, or a wider fallback font such as DejaVu Sans): a row may have a little air,
  never hidden text.
- **Text is text**: a value starting with `=`, `+`, `-` or `@` is written as a string cell
  (openpyxl's data type "s", an inline string), never a formula, and without a quote prefix or an
  apostrophe: it shows exactly as typed. (openpyxl turns any str starting with "=" into a formula
  unless the type is set back to "s"; it never sets `quotePrefix` by itself.) Control characters
  that XML refuses are dropped rather than failing the export.
- **Flat sheets**: one row per record, no merged cells, an autofilter and a frozen header, for
  sorting and filtering (`flat_sheet`).

CSV files are another matter: they have no types, so their cells are neutralised with an
apostrophe (walkapp/actions/exports.py).
"""

from __future__ import annotations

import datetime as dt
import io
import math
import textwrap
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.page import PageMargins
from openpyxl.worksheet.worksheet import Worksheet

EURO_FORMAT = '#,##0.00\\ "€"'
INTEGER_FORMAT = "#,##0"
DATE_FORMAT = "DD/MM/YYYY"
CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

HEADER_FILL = "0B5394"
THIN = Side(style="thin", color="999999")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)

# Row heights: points per line of a font size, and how many characters fit in one unit of column
# width (a unit is the width of the digit '0' of the default font; French text set in Calibri
# averages about 1.3 characters per unit, and so does LibreOffice's fallback here: 1.2 leaves a
# margin for wider fonts; bold is wider).
LINE_FACTOR = 1.22
CHARS_PER_UNIT = 1.2
BOLD_FACTOR = 0.72
ROW_PADDING = 4.0  # points above and below the lines
MIN_HEIGHT = 15.0
MAX_HEIGHT = 409.0  # the largest row height Excel allows


# ---------------------------------------------------------------- cells

def clean(value: str) -> str:
    """Text an XLSX can hold (XML 1.0 refuses most control characters; tab and newline stay)."""
    return ILLEGAL_CHARACTERS_RE.sub("", value)


def write(sheet: Worksheet, row: int, column: int, value: Any, *, number_format: str | None = None) -> Cell:
    """Put a value in a cell with its type: text as text (never a formula, no apostrophe),
    Decimal as a number (euros by default), dates as dates (dd/mm/yyyy)."""
    cell = sheet.cell(row=row, column=column)
    set_value(cell, value)
    if number_format:
        cell.number_format = number_format
    elif isinstance(value, Decimal):
        cell.number_format = EURO_FORMAT
    elif isinstance(value, dt.date):
        cell.number_format = DATE_FORMAT
    return cell


def set_value(cell: Cell, value: Any) -> None:
    if isinstance(value, str):
        cell.value = clean(value)
        cell.data_type = "s"  # "=..." would have become a formula: written as a string instead
    elif isinstance(value, Decimal):
        cell.value = float(value)
    elif isinstance(value, dt.datetime):
        cell.value = value.replace(tzinfo=None)
    else:
        cell.value = value


def append(sheet: Worksheet, values: Sequence[Any]) -> int:
    """A new row of typed values (see `write`); returns its number."""
    line = sheet.max_row + 1 if sheet.max_row > 1 or sheet.cell(1, 1).value is not None else 1
    for column, value in enumerate(values, start=1):
        if value is not None:
            write(sheet, line, column, value)
    return line


def style_header(sheet: Worksheet, row: int, *, fill: str = HEADER_FILL, height: float | None = None) -> None:
    """A header row: bold white on the app's blue, centred, wrapped, bordered."""
    for cell in sheet[row]:
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor=fill)
        cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
        cell.border = BORDER
    if height:
        sheet.row_dimensions[row].height = height


def set_widths(sheet: Worksheet, widths: Iterable[float]) -> None:
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width


# ---------------------------------------------------------------- row heights

def _width(sheet: Worksheet, column: int) -> float:
    width = sheet.column_dimensions[get_column_letter(column)].width
    return float(width) if width else 13.0  # openpyxl's and Excel's default width


def text_lines(text: str, width: float, *, bold: bool = False, size: float = 11.0) -> int:
    """How many lines a text takes once wrapped in a column `width` units wide."""
    per_line = max(1, math.floor((width - 1) * CHARS_PER_UNIT * (BOLD_FACTOR if bold else 1.0) * 11.0 / size))
    return sum(max(1, len(textwrap.wrap(paragraph, per_line, break_long_words=True,
                                        break_on_hyphens=False)))
               for paragraph in text.split("\n"))


def fit_row_heights(sheet: Worksheet, first_row: int = 1, last_row: int | None = None) -> None:
    """Set each row's height from its tallest cell (wrapped text in its column or merged range):
    LibreOffice and Excel keep an explicit height, and clip nothing under it."""
    spans: dict[tuple[int, int], float] = {}
    covered: set[tuple[int, int]] = set()
    for merged in sheet.merged_cells.ranges:
        width = sum(_width(sheet, c) for c in range(merged.min_col, merged.max_col + 1))
        spans[(merged.min_row, merged.min_col)] = width
        for r in range(merged.min_row, merged.max_row + 1):
            for c in range(merged.min_col, merged.max_col + 1):
                if (r, c) != (merged.min_row, merged.min_col):
                    covered.add((r, c))
    for row in sheet.iter_rows(min_row=first_row, max_row=last_row or sheet.max_row):
        tallest = MIN_HEIGHT
        for cell in row:
            if cell.value is None or (cell.row, cell.column) in covered:
                continue
            text = cell.value if isinstance(cell.value, str) else _shown(cell)
            size = float(cell.font.sz or 11) if cell.font else 11.0
            bold = bool(cell.font and cell.font.b)
            if cell.alignment is not None and cell.alignment.text_rotation:
                tallest = max(tallest, _rotated_height(text, _width(sheet, cell.column), size))
                continue
            if cell.alignment is not None and cell.alignment.wrap_text:
                width = spans.get((cell.row, cell.column)) or _width(sheet, cell.column)
                lines = text_lines(text, width, bold=bold, size=size)
            else:
                lines = text.count("\n") + 1
            tallest = max(tallest, lines * size * LINE_FACTOR + ROW_PADDING)
        sheet.row_dimensions[row[0].row].height = min(MAX_HEIGHT, round(tallest, 1))


def _rotated_height(text: str, width: float, size: float) -> float:
    """A header written upwards: its lines stack across the column, its length runs up the row."""
    across = max(1, math.floor(width * 5.25 / (size * LINE_FACTOR)))  # a unit is about 5.25 pt
    per_line = math.ceil(len(text) / across) + 2  # wrapping at word ends loses a few characters
    return per_line * size * 0.58 + ROW_PADDING


def _shown(cell: Cell) -> str:
    value = cell.value
    if isinstance(value, float | int) and cell.number_format == EURO_FORMAT:
        return f"{value:,.2f} €"
    if isinstance(value, dt.date | dt.datetime):
        return "00/00/0000"
    return str(value)


# ---------------------------------------------------------------- print

def header_text(text: str) -> str:
    """Text for a page header or footer: "&" starts a code there, so it is doubled."""
    return clean(text).replace("&", "&&")[:200]


def set_print(sheet: Worksheet, *, title: str, title_rows: tuple[int, int] | None = None,
              landscape: bool = True) -> None:
    """A4 landscape, one page wide (as many pages down as needed), narrow margins, the header
    rows repeated on every page, the title at the top and "Page x / y" at the foot."""
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.orientation = "landscape" if landscape else "portrait"
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.page_margins = PageMargins(left=0.4, right=0.4, top=0.7, bottom=0.7, header=0.3, footer=0.3)
    sheet.print_options.horizontalCentered = True
    if title_rows:
        sheet.print_title_rows = f"{title_rows[0]}:{title_rows[1]}"
    for header in (sheet.oddHeader, sheet.evenHeader, sheet.firstHeader):
        header.center.text = header_text(title)
        header.center.size = 9
    for footer in (sheet.oddFooter, sheet.evenFooter, sheet.firstFooter):
        footer.center.text = "Page &P / &N"
        footer.center.size = 9


# ---------------------------------------------------------------- keeping blocks on one page

A4_LANDSCAPE = (842.0, 595.0)  # points


def _column_points(width: float) -> float:
    """A column's printed width: Excel's width w holds w digits of 7 px plus 5 px of padding."""
    return (width * 7 + 5) * 0.75


def page_body(sheet: Worksheet, last_column: int) -> tuple[float, float]:
    """The scale fit-to-width prints at, and the height of one page's body in the sheet's points."""
    margins = sheet.page_margins
    width = A4_LANDSCAPE[0] - (margins.left + margins.right) * 72
    height = A4_LANDSCAPE[1] - (margins.top + margins.bottom) * 72
    total = sum(_column_points(_width(sheet, c)) for c in range(1, last_column + 1))
    scale = min(1.0, math.floor(width / total * 100) / 100)  # spreadsheets round the zoom down to a percent
    return scale, height / scale


def _height(sheet: Worksheet, row: int) -> float:
    return float(sheet.row_dimensions[row].height or MIN_HEIGHT)


def keep_together(sheet: Worksheet, blocks: Sequence[tuple[int, int]], *, last_column: int,
                  title_rows: tuple[int, int] | None = None, last_row: int | None = None) -> list[int]:
    """Page breaks so that each block of rows (a heading, its lines and its sub-total) starts on a
    new page rather than being split, when it fits on one page; a longer block at least keeps its
    first row (a band) with the next one. Works from the row heights set by
    `fit_row_heights` and the fit-to-width scale; a small margin absorbs the estimate's error.
    Returns the rows a page break follows."""
    from openpyxl.worksheet.pagebreak import Break

    _, body = page_body(sheet, last_column)
    body *= 0.96
    repeated = sum(_height(sheet, r) for r in range(title_rows[0], title_rows[1] + 1)) if title_rows else 0.0
    starts = {first: last for first, last in blocks}
    used, breaks = 0.0, []
    row = 1
    end = last_row or sheet.max_row
    while row <= end:
        if row in starts:
            size = sum(_height(sheet, r) for r in range(row, starts[row] + 1))
            if repeated + size > body:  # longer than a page: keep the band with its first row
                size = sum(_height(sheet, r) for r in range(row, min(row + 1, starts[row]) + 1))
            if used + size > body and repeated + size <= body and used > repeated:
                breaks.append(row - 1)
                used = repeated
        height = _height(sheet, row)
        if used + height > body:  # the spreadsheet breaks here by itself
            used = repeated
        used += height
        row += 1
    for after in breaks:
        sheet.row_breaks.append(Break(id=after))
    return breaks


# ---------------------------------------------------------------- flat sheets

def flat_sheet(book: Workbook, name: str, header: Sequence[str], rows: Iterable[Sequence[Any]], *,
               widths: Sequence[float], title: str,
               number_formats: dict[int, str] | None = None) -> Worksheet:
    """A sheet for sorting and filtering: the header in row 1, then one row per record, typed,
    no merged cells; autofilter, frozen header, printed like the others."""
    sheet = book.create_sheet(title=name[:31])
    for column, label in enumerate(header, start=1):
        write(sheet, 1, column, label)
    style_header(sheet, 1)
    line = 1
    for values in rows:
        line += 1
        for column, value in enumerate(values, start=1):
            fmt = (number_formats or {}).get(column - 1)
            cell = write(sheet, line, column, value, number_format=fmt)
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            cell.border = BORDER
    set_widths(sheet, widths)
    last = get_column_letter(len(header))
    sheet.auto_filter.ref = f"A1:{last}{max(line, 2)}"
    sheet.freeze_panes = "A2"
    fit_row_heights(sheet)
    set_print(sheet, title=title, title_rows=(1, 1))
    return sheet


def to_bytes(book: Workbook) -> bytes:
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
