"""HTML to PDF on the server, in one place (WeasyPrint, with the system's Pango).

    pdf = await anyio.to_thread.run_sync(html_to_pdf, html, base_url)

`html_to_pdf` is synchronous and CPU-bound: controllers call it through anyio's to_thread so the
event loop keeps serving. Whatever the HTML refers to is read from disk, never over HTTP (not from
the app itself, not from the internet):

- `/static/...` (as `static_url()` writes it, `?v=` and all) from the static folder;
- the photo URLs the caller lists in `files` (app path -> file on disk; e.g. the report maps each
  `/marches/<id>/compte-rendu/photos/<photo id>` it wrote to the print-sized JPEG it chose);
- `data:` URIs (the report's map tiles are embedded that way).

Anything else (http(s) to anywhere, file:, an app path not listed) is refused: the image or
stylesheet is left out and the PDF is made without it. Relative URLs are resolved against
`base_url` first (the request's `base_url`), so `https://site/static/css/app.css` is the same file.

Why WeasyPrint rather than headless Chromium (benchmarks/report_pdf.py --chromium, the same report
of 100 constats with photos, 2026-12-03 on this 2-core machine at a load of ~3): WeasyPrint 5.6 s
(5.5 s of CPU), 7.8 MB; Chromium 5.9 s (2.2 s of CPU), 8.6 MB, with a ~400 MB browser launched
for each PDF. Chromium uses less CPU and is no quicker in wall time; WeasyPrint meets the budget
(<= 10 s, <= 10 MB) and wins where it matters on a small server: it runs in the worker (no browser
to install, launch, sandbox or keep alive), and every resource goes through this fetcher, so
"never over the network" is enforced here rather than by rewriting the page for a browser that
would fetch whatever it names. The print CSS avoids flex and floats on paper: WeasyPrint lays flex
boxes out repeatedly (6x slower on this report).
"""

from __future__ import annotations

import logging
import mimetypes
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

from .caching import STATIC_PATH
from .settings import STATIC_DIR

# The site's CSS is written for browsers: WeasyPrint warns about every screen-only property it
# skips (sticky, media features, keyframes), dozens of lines per PDF. Its errors still show.
logging.getLogger("weasyprint").setLevel(logging.ERROR)


class RefusedURL(ValueError):
    """A URL the PDF may not fetch (WeasyPrint logs it and leaves the resource out)."""


def html_to_pdf(html: str, base_url: str, files: Mapping[str, Path | str] | None = None) -> bytes:
    """The PDF of `html` (print media, @page rules apply). `base_url` is the site's address that
    relative and absolute URLs of the app are read against; `files` maps app paths (no query) to
    files on disk that may be embedded, for photos and other media."""
    HTML = _weasyprint_html()
    fetcher = _fetcher_class()(base_url, files or {})
    return HTML(string=html, base_url=_normalised_base(base_url), url_fetcher=fetcher).write_pdf()


@cache
def _weasyprint_html():
    """WeasyPrint's HTML class, imported when first used (~0.3 s, only in processes that make PDFs).
    Importing it turns on Pillow's process-wide ImageFile.LOAD_TRUNCATED_IMAGES (weasyprint/images.py),
    which would make the photo pipeline accept a truncated upload as a half-grey photo after the
    first PDF: the flag is put back. PDFs embed only files the app made, which are complete."""
    from PIL import ImageFile

    before = ImageFile.LOAD_TRUNCATED_IMAGES
    from weasyprint import HTML

    ImageFile.LOAD_TRUNCATED_IMAGES = before
    return HTML


def _normalised_base(base_url: str) -> str:
    return str(base_url).rstrip("/") + "/"


@cache
def _fetcher_class():
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class DiskFetcher(URLFetcher):
        def __init__(self, base_url: str, files: Mapping[str, Path | str]):
            super().__init__(allowed_protocols=("data", "http", "https"))
            base = urlsplit(_normalised_base(base_url))
            self._origin = (base.scheme, base.netloc)
            self._files = {path: Path(file) for path, file in files.items()}

        def fetch(self, url, headers=None):
            if url.startswith("data:"):
                return super().fetch(url, headers)  # urllib's DataHandler: no network
            path = local_file(url, self._origin, self._files)
            media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            return URLFetcherResponse(path.as_uri(), path.read_bytes(), {"Content-Type": media_type})

    return DiskFetcher


def local_file(url: str, origin: tuple[str, str], files: Mapping[str, Path]) -> Path:
    """The file on disk that `url` (absolute, as WeasyPrint resolved it) stands for, or RefusedURL."""
    parts = urlsplit(url)
    if (parts.scheme, parts.netloc) != origin:
        raise RefusedURL(f"not fetched for a PDF (another site): {url}")
    path = unquote(parts.path)
    if path in files:
        return files[path]
    if path.startswith(STATIC_PATH + "/"):
        root = STATIC_DIR.resolve()
        candidate = (root / path[len(STATIC_PATH) + 1:]).resolve()
        if root in candidate.parents and candidate.is_file():
            return candidate
    raise RefusedURL(f"not fetched for a PDF (not a static file or a listed photo): {url}")
