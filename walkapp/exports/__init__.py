"""Bulk photo export: one streamed zip per walk or per filter of the map (issue 6).

Why a folder of its own: the zip is built by the web route and by `walkapp export-photos` alike
(builder.py), its file names must be safe on every system (names.py), and its manifest files
(manifest.py) are what a committee opens first. The controller only checks who asks and streams.
"""
