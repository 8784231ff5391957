"""Answers compressed when the browser accepts it: brotli, else gzip (Litestar's compression).

Only text compresses well: HTML, CSS, JavaScript, JSON (GeoJSON, the OpenAPI schema), XML,
CSV, SVG. Photos, zips, PDFs and XLSX are compressed already: compressing them again costs CPU
for nothing, and would drop the photo zip's exact Content-Length (Litestar removes it from a
compressed stream). The rule is the media type of the answer, not its path, so a new route
needs nothing here.
"""

from __future__ import annotations

from litestar.config.compression import CompressionConfig
from litestar.datastructures import MutableScopeHeaders
from litestar.enums import CompressionEncoding
from litestar.middleware.compression import CompressionMiddleware
from litestar.types import Message, Scope, Send

TEXT_TYPES = {"application/json", "application/javascript", "application/xml", "application/x-yaml",
              "application/yaml", "application/manifest+json", "application/geo+json", "image/svg+xml"}


def compressible(content_type: str | None) -> bool:
    media_type = (content_type or "").split(";")[0].strip().lower()
    return (media_type.startswith("text/") or media_type in TEXT_TYPES
            or media_type.endswith(("+json", "+xml")))


class TextCompression(CompressionMiddleware):
    """Litestar's middleware, deciding per answer from its Content-Type (see the module's doc)."""

    def create_compression_send_wrapper(self, send: Send, compression_encoding: CompressionEncoding | str,
                                        scope: Scope) -> Send:
        compressing = super().create_compression_send_wrapper(send, compression_encoding, scope)
        chosen: Send = send

        async def choose(message: Message) -> None:
            nonlocal chosen
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                already = "content-encoding" in headers
                chosen = compressing if compressible(headers.get("content-type")) and not already else send
            await chosen(message)

        return choose


def compression() -> CompressionConfig:
    # Brotli (the `brotli` package) at quality 5: 4-5% smaller than gzip level 6 on our scripts and
    # styles (leaflet.js: 147.6 KB -> 41.0 KB br, 42.7 KB gzip) for about the same CPU, compressed per
    # request; gzip for the browsers without it. Under 500 bytes is not worth it.
    return CompressionConfig(backend="brotli", brotli_quality=5, brotli_gzip_fallback=True,
                             gzip_compress_level=6, minimum_size=500, middleware_class=TextCompression)
