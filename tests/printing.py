"""Printing a spreadsheet as LibreOffice does (headless, to PDF) and reading the PDF's pages with
poppler (pdfinfo, pdftotext, pdftoppm): what a town hall sees when it prints an export."""

from __future__ import annotations

import subprocess
from pathlib import Path


def to_pdf(body: bytes, folder: Path, name: str = "export") -> Path:
    """One conversion, with its own LibreOffice profile (two test runs at once must not share one)."""
    folder.mkdir(parents=True, exist_ok=True)
    source = folder / f"{name}.xlsx"
    source.write_bytes(body)
    profile = folder / "lo-profile"
    subprocess.run(["libreoffice", f"-env:UserInstallation={profile.as_uri()}", "--headless",
                    "--convert-to", "pdf", "--outdir", str(folder), str(source)],
                   check=True, capture_output=True, timeout=120)
    pdf = folder / f"{name}.pdf"
    assert pdf.exists(), "LibreOffice made no PDF"
    return pdf


def page_count(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True).stdout
    return int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))


def page_size(pdf: Path) -> tuple[float, float]:
    """Width and height in points (A4 landscape: 842 x 595)."""
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True).stdout
    line = next(line for line in info.splitlines() if line.startswith("Page size:"))
    parts = line.split()
    return float(parts[2]), float(parts[4])


def page_texts(pdf: Path) -> list[str]:
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True,
                          text=True).stdout
    return [page for page in text.split("\f") if page.strip()]


def to_png(pdf: Path, prefix: Path, dpi: int = 80) -> list[Path]:
    """The pages as PNG files, to look at."""
    subprocess.run(["pdftoppm", "-r", str(dpi), "-png", str(pdf), str(prefix)], check=True, capture_output=True)
    return sorted(prefix.parent.glob(prefix.name + "*.png"))
