"""Which text colour goes on a coloured background, in one place (WCAG 2.1 contrast).

The issue and state colours are chosen to stay apart for the common colour blindnesses; some of
them are too light for white text (#009E73 gives 3.42:1) and too dark for black. Every text drawn
on one of them (badges, selected tiles, the actions' axe bands, the XLSX bands) takes its colour
from `text_colour`, which picks black or white by computed contrast and refuses a background on
which neither reaches AA's 4.5:1 for normal text.
"""

from __future__ import annotations

import re
from functools import lru_cache

BLACK = "#000000"
WHITE = "#FFFFFF"
AA_NORMAL_TEXT = 4.5  # WCAG 2.1 SC 1.4.3, text under 18pt (our badges and bands)

_HEX = re.compile(r"#?([0-9A-Fa-f]{6}|[0-9A-Fa-f]{3})")


def _channel(value: int) -> float:
    """An sRGB channel (0-255) made linear, as WCAG's relative luminance defines it."""
    c = value / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def luminance(colour: str) -> float:
    """WCAG relative luminance of '#RRGGBB' or '#RGB' (0 for black, 1 for white)."""
    match = _HEX.fullmatch(colour.strip())
    if match is None:
        raise ValueError(f"not a #RRGGBB colour: {colour!r}")
    digits = match.group(1)
    if len(digits) == 3:  # the templates' '#555' fallback
        digits = "".join(d * 2 for d in digits)
    r, g, b = (_channel(int(digits[i : i + 2], 16)) for i in (0, 2, 4))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(first: str, second: str) -> float:
    """WCAG contrast ratio between two colours, from 1 to 21."""
    light, dark = sorted((luminance(first), luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


@lru_cache(maxsize=256)
def text_colour(background: str) -> str:
    """Black or white, whichever reads better on `background`; it must reach 4.5:1.

    On any opaque colour one of the two reaches at least 4.58:1 (the worst case is a mid-grey of
    luminance 0.18), so the check guards against a change of threshold (AAA's 7:1) or of inks, in
    which case the background itself must be darkened for text: it fails here and in the tests
    rather than as unreadable text in a page.
    """
    best = max((BLACK, WHITE), key=lambda ink: contrast(background, ink))
    ratio = contrast(background, best)
    if ratio < AA_NORMAL_TEXT:
        raise ValueError(f"no text colour reaches {AA_NORMAL_TEXT}:1 on {background} (best {ratio:.2f}:1)")
    return best
