"""Names inside the zip and of the zip itself.

Why so careful: a zip member name is a path the unzipping tool will create. A street typed on a
phone may hold `/`, `\\`, `..` or control characters; unchecked, "../../.bashrc" would leave the
target folder on a naive unzipper, and `:` or `?` make Windows refuse the file. Accents and emoji
are what people wrote: they are kept (the zip flags names as UTF-8).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

from .. import gusp

NO_STREET = "sans-rue"
# Characters no file name may hold: path separators, Windows' reserved set, and control characters.
_FORBIDDEN = re.compile(r'[/\\:*?"<>|\x00-\x1f\x7f\u0080-\u009f\u2028\u2029]')
_DOTS = re.compile(r"\.{2,}")
_SPACES = re.compile(r"\s+")
_DASHES = re.compile(r"-{2,}")
MAX_PART_BYTES = 120  # one file name stays well under the 255 bytes of common file systems


def safe_part(text: str | None, fallback: str, max_bytes: int = MAX_PART_BYTES, spaces: bool = False) -> str:
    """One path component: no separators, no `..`, no control characters, no leading or trailing
    dot, dash or space. Spaces become dashes (file names people type in a terminal) unless
    `spaces` (folder labels, read as they are). Accents and emoji stay."""
    value = unicodedata.normalize("NFC", str(text or ""))
    value = _FORBIDDEN.sub("-", value)
    value = _SPACES.sub(" " if spaces else "-", value)
    value = _DOTS.sub(".", value)
    value = _DASHES.sub("-", value).strip(".- _")
    encoded = value.encode("utf-8")
    if len(encoded) > max_bytes:
        value = encoded[:max_bytes].decode("utf-8", "ignore").rstrip(".- _")
    return value or fallback


def issue_folder(issue: str) -> str:
    """The folder of an issue: its French label, exactly as in gusp (made safe, just in case)."""
    return safe_part(gusp.label("issue", issue), safe_part(issue, "enjeu-inconnu"), spaces=True)


def photo_member(issue: str, observation_id: int, street: str | None, number: int, extension: str) -> str:
    """`<issue label>/<constat number>_<street>_<n>.<ext>`."""
    extension = safe_part(extension.lower(), "jpg", 8).replace(".", "") or "jpg"
    return f"{issue_folder(issue)}/{observation_id}_{safe_part(street, NO_STREET)}_{number}.{extension}"


def slug(text: str | None, fallback: str) -> str:
    """ASCII, lower case, dashes: for the zip's own name in a Content-Disposition header."""
    ascii_text = unicodedata.normalize("NFKD", str(text or "")).encode("ascii", "ignore").decode()
    value = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:60].strip("-")
    return value or fallback


def archive_name(walk_title: str | None, day: dt.date) -> str:
    """`walkapp-<walk title slug or "constats">-<yyyy-mm-dd>.zip`."""
    return f"walkapp-{slug(walk_title, 'constats') if walk_title else 'constats'}-{day.isoformat()}.zip"
