"""walkapp/spreadsheets.py: how every XLSX prints and reads. Read back with openpyxl (page setup,
print titles, row heights, cell types) and printed by LibreOffice headless (pages counted, text of
each page read): the Annexe 2 export is one A4 landscape page wide with its header on every page."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment

from printing import page_count, page_size, page_texts, to_pdf
from test_actions import export_scene, login, scene  # noqa: F401,F811 (fixture)

from walkapp import spreadsheets as sheets
from walkapp.actions import exports

TRICKY = ["=1+1", "+33 6 12 34 56 78", "-", "-nettoyage", "@mur", '=HYPERLINK("http://x")', "Rue d'Aire"]


def reread(book: Workbook):
    return load_workbook(io.BytesIO(sheets.to_bytes(book)))


def test_text_is_written_as_text_shown_as_typed():
    book = Workbook()
    sheet = book.active
    for row, text in enumerate(TRICKY, start=1):
        sheets.write(sheet, row, 1, text)
    sheets.write(sheet, 20, 1, "bip\x07\x0bfin")  # control characters XML refuses: dropped, no crash
    sheets.write(sheet, 21, 1, Decimal("1234.50"))
    sheets.write(sheet, 22, 1, dt.date(2026, 3, 1))
    back = reread(book).active
    for row, text in enumerate(TRICKY, start=1):
        cell = back.cell(row, 1)
        assert cell.value == text and cell.data_type == "s" and not cell.quotePrefix, (text, cell.data_type)
    assert back["A20"].value == "bipfin"
    assert back["A21"].value == 1234.5 and back["A21"].data_type == "n" and "€" in back["A21"].number_format
    assert back["A22"].value.date() == dt.date(2026, 3, 1) and back["A22"].number_format == "DD/MM/YYYY"


def test_print_setup_a4_landscape_one_page_wide():
    book = Workbook()
    sheet = book.active
    sheets.write(sheet, 4, 1, "En-tête")
    sheets.set_print(sheet, title="Programme & bilan", title_rows=(4, 5))
    back = reread(book).active
    assert back.page_setup.orientation == "landscape" and int(back.page_setup.paperSize) == 9  # A4
    assert back.sheet_properties.pageSetUpPr.fitToPage is True
    assert int(back.page_setup.fitToWidth) == 1 and int(back.page_setup.fitToHeight) == 0
    assert back.print_title_rows == "$4:$5"
    assert back.oddHeader.center.text == "Programme && bilan"  # "&" would start a code
    assert back.oddFooter.center.text == "Page &P / &N"
    assert back.page_margins.left < 0.75


def test_row_heights_follow_the_text_and_the_widths():
    book = Workbook()
    sheet = book.active
    sheets.set_widths(sheet, [20, 40])
    long = "Dépôts sauvages récurrents au pied de la résidence après la collecte. " * 4
    wrap = Alignment(wrap_text=True)
    for row, (text, column) in enumerate([("court", 1), (long, 1), (long, 2), ("a\nb\nc", 1)], start=1):
        sheets.write(sheet, row, column, text).alignment = wrap
    sheets.write(sheet, 5, 1, long).alignment = wrap  # merged over both columns: 60 wide
    sheet.merge_cells("A5:B5")
    sheets.fit_row_heights(sheet)
    height = {row: sheet.row_dimensions[row].height for row in range(1, 6)}
    assert height[1] == round(11 * sheets.LINE_FACTOR + sheets.ROW_PADDING, 1)  # one line
    assert height[2] > height[3] > height[5] > height[1]  # narrower column, more lines
    assert height[2] >= sheets.text_lines(long, 20) * 11 * sheets.LINE_FACTOR
    assert height[4] >= 3 * 11 * sheets.LINE_FACTOR  # line breaks count
    assert reread(book).active.row_dimensions[2].height == height[2]  # written in the file


def test_flat_sheet_one_row_per_record():
    book = Workbook()
    sheets.flat_sheet(book, "Tableau", ["N°", "Texte", "Coût"], [[1, "-", Decimal("2.5")], [2, "=x", None]],
                      widths=[6, 30, 12], title="Essai")
    flat = reread(book)["Tableau"]
    assert not flat.merged_cells.ranges and flat.freeze_panes == "A2" and flat.auto_filter.ref == "A1:C3"
    assert [[c.value for c in row] for row in flat.iter_rows()] == [["N°", "Texte", "Coût"], [1, "-", 2.5],
                                                                     [2, "=x", None]]
    assert flat["B3"].data_type == "s" and flat.print_title_rows == "$1:$1"
    assert flat.sheet_properties.pageSetUpPr.fitToPage is True


async def test_annexe_2_prints_one_page_wide_in_libreoffice(scene, other_client, tmp_path):  # noqa: F811
    """The export of the table, as LibreOffice prints it: A4 landscape, every page carries the whole
    header (first and last columns: one page wide), and each sheet fits one page down here."""
    await export_scene(scene)
    await login(other_client, scene["coordinator"])
    response = await other_client.get("/actions/export.xlsx")
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["Suivi des actions", "Actions (tableau)"]
    for sheet in book:
        assert sheet.page_setup.orientation == "landscape" and int(sheet.page_setup.paperSize) == 9
        assert sheet.sheet_properties.pageSetUpPr.fitToPage and int(sheet.page_setup.fitToWidth) == 1
        assert int(sheet.page_setup.fitToHeight) == 0
        wrapped = [r for r in sheet.iter_rows(min_row=5) if any(isinstance(c.value, str) and len(c.value) > 40
                                                                  for c in r)]
        assert all(sheet.row_dimensions[r[0].row].height for r in wrapped)
    assert book["Suivi des actions"].print_title_rows == "$4:$4"
    assert book["Actions (tableau)"].print_title_rows == "$1:$1"

    pdf = to_pdf(response.content, tmp_path, "annexe2")
    width, height = page_size(pdf)
    assert round(width) == 842 and round(height) == 595  # A4 landscape
    pages = page_texts(pdf)
    assert page_count(pdf) == len(pages) == 2  # one per sheet: without fit-to-page, five wide
    for text in pages:
        assert "N°" in text and "Problème à traiter" in text and "Échéance" in text and "Pilote" in text
    assert "=HYPERLINK" in pages[0] and "'=HYPERLINK" not in pages[0] and "'+33" not in pages[0]
    assert exports.columns()[0] == "N°"


async def test_the_demos_annexe_2_and_annexe_1_print_one_page_wide(client, tmp_path):
    """The demo as loaded by `walkapp demo` (its actions, whatever the demo holds, and its TFPB
    programme): both exports print A4 landscape with the whole header on every page."""
    from conftest import post_form
    from walkapp.demo import COORDINATOR_EMAIL, DEMO_PASSWORD, load_demo
    from walkapp.storage import media_store
    from walkapp.tables import TfpbProgramme

    await load_demo(media_store())
    signed = await post_form(client, "/connexion", {"email": COORDINATOR_EMAIL, "password": DEMO_PASSWORD})
    assert signed.status_code == 303
    annexe2 = await client.get("/actions/export.xlsx")
    programme = await TfpbProgramme.objects().first()
    annexe1 = await client.get(f"/tfpb/{programme.id}.xlsx")
    assert annexe2.status_code == annexe1.status_code == 200
    for body, name, first, last in ((annexe2.content, "annexe2", "Problème à traiter", "Échéance"),
                                    (annexe1.content, "annexe1", "Rubrique et actions", "Réaffecté")):
        pdf = to_pdf(body, tmp_path, name)
        assert tuple(round(x) for x in page_size(pdf)) == (842, 595)
        main = [text for text in page_texts(pdf) if first in text and ("Bilan" in text or name == "annexe2")]
        assert main, name
        assert all(last in text for text in main), name  # one page wide: the last column on each page
