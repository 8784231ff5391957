"""QR codes as SVG (segno), for every link the app prints: a walk's join link, a restitution's."""

from __future__ import annotations

import io

import segno


def qr_svg(url: str, title: str) -> str:
    """`url` as an SVG QR code, scalable for print and screen, its <title> saying what it opens.
    A standalone document (with its xmlns): browsers show no <img> of an SVG without it."""
    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="svg", scale=8, dark="#000", light="#fff", xmldecl=False,
                                    svgns=True, omitsize=True, title=title)
    return out.getvalue().decode()
