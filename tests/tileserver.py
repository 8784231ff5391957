"""A tiny tile server on a free loopback port for tests (the report's map, the phone's offline
tiles): the same PNG for every /z/x/y.png; it counts requests, remembers their Referer and how
many were in flight at once. It answers as a public tile server does: CORS open to any site,
cache headers for a day."""

from __future__ import annotations

import http.server
import io
import threading
import time

from PIL import Image


class TileServer:
    def __init__(self, delay: float = 0.0):
        tile = io.BytesIO()
        Image.new("RGB", (256, 256), (200, 220, 200)).save(tile, "PNG")
        owner = self
        self.requests: list[str] = []
        self.referers: list[str | None] = []
        self.in_flight = 0
        self.max_in_flight = 0
        lock = threading.Lock()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                with lock:
                    owner.requests.append(self.path)
                    owner.referers.append(self.headers.get("Referer"))
                    owner.in_flight += 1
                    owner.max_in_flight = max(owner.max_in_flight, owner.in_flight)
                time.sleep(delay)
                body = tile.getvalue()
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "max-age=86400")
                self.send_header("Access-Control-Allow-Origin", "*")
                self.end_headers()
                with lock:  # done before the last bytes leave: the client cannot start the next one sooner
                    owner.in_flight -= 1
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.url = self.origin + "/{z}/{x}/{y}.png"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
