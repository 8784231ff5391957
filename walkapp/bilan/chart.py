"""The small chart of an enjeu, drawn on the server as SVG (no script, prints as it shows):
horizontal bars for points faibles, points forts and the actions in each state, the year before
(hatched, outlined) above the year (solid), each bar with its number written beside it.

Accessible: role="img", a <title> and a <desc> that say every figure in words (the text
alternative), the colours of walkapp.gusp (polarities, action states), and the numbers written
in black on white, so nothing is told by colour alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from markupsafe import Markup, escape

WIDTH = 360
LABEL_WIDTH = 150
BAR_HEIGHT = 10
GAP = 4
ROW_GAP = 10
TOP = 30
INK = "#1A1A1A"


def text_alternative(title: str, bars: Sequence[dict[str, Any]], year: int) -> str:
    """Every figure of the chart in a sentence per bar."""
    parts = [f"{bar['label']} : {bar['this']} en {year}, {bar['last']} en {year - 1}" for bar in bars]
    return f"{title}. " + " ; ".join(parts) + "."


def svg(chart_id: str, title: str, bars: Sequence[dict[str, Any]], year: int) -> Markup:
    """The chart of `bars` ({label, colour, last, this}) for `year` against the year before."""
    biggest = max([1, *(b["this"] for b in bars), *(b["last"] for b in bars)])
    scale = (WIDTH - LABEL_WIDTH - 40) / biggest
    row_height = 2 * BAR_HEIGHT + GAP + ROW_GAP
    height = TOP + row_height * len(bars) + 4
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{escape(chart_id)}" role="img" '
           f'viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" '
           f'aria-labelledby="{escape(chart_id)}-title {escape(chart_id)}-desc">',
           f'<title id="{escape(chart_id)}-title">{escape(title)}</title>',
           f'<desc id="{escape(chart_id)}-desc">{escape(text_alternative(title, bars, year))}</desc>',
           "<defs>"]
    for n, bar in enumerate(bars):
        out.append(f'<pattern id="{escape(chart_id)}-h{n}" width="4" height="4" patternUnits="userSpaceOnUse" '
                   f'patternTransform="rotate(45)"><rect width="4" height="4" fill="#FFFFFF"/>'
                   f'<line x1="0" y1="0" x2="0" y2="4" stroke="{escape(bar["colour"])}" stroke-width="2"/></pattern>')
    out.append(f'<pattern id="{escape(chart_id)}-hl" width="4" height="4" patternUnits="userSpaceOnUse" '
               f'patternTransform="rotate(45)"><rect width="4" height="4" fill="#FFFFFF"/>'
               f'<line x1="0" y1="0" x2="0" y2="4" stroke="{INK}" stroke-width="2"/></pattern>')
    out.append("</defs>")
    # The legend: which bar is which year.
    out.append(f'<g font-family="sans-serif" font-size="11" fill="{INK}">'
               f'<rect x="{LABEL_WIDTH}" y="6" width="14" height="10" fill="url(#{escape(chart_id)}-hl)" '
               f'stroke="{INK}" stroke-width="1"/><text x="{LABEL_WIDTH + 18}" y="15">{year - 1}</text>'
               f'<rect x="{LABEL_WIDTH + 60}" y="6" width="14" height="10" fill="{INK}"/>'
               f'<text x="{LABEL_WIDTH + 78}" y="15">{year}</text></g>')
    for n, bar in enumerate(bars):
        y = TOP + n * row_height
        colour = escape(bar["colour"])
        last_width, this_width = bar["last"] * scale, bar["this"] * scale
        out.append(f'<g class="bar" font-family="sans-serif" font-size="11" fill="{INK}">'
                   f'<text x="{LABEL_WIDTH - 6}" y="{y + BAR_HEIGHT + GAP // 2 + 4}" text-anchor="end">'
                   f'{escape(bar["label"])}</text>'
                   f'<rect class="last" x="{LABEL_WIDTH}" y="{y}" width="{last_width:.1f}" height="{BAR_HEIGHT}" '
                   f'fill="url(#{escape(chart_id)}-h{n})" stroke="{colour}" stroke-width="1"/>'
                   f'<text x="{LABEL_WIDTH + last_width + 4:.1f}" y="{y + BAR_HEIGHT - 1}">{bar["last"]}</text>'
                   f'<rect class="this" x="{LABEL_WIDTH}" y="{y + BAR_HEIGHT + GAP}" width="{this_width:.1f}" '
                   f'height="{BAR_HEIGHT}" fill="{colour}"/>'
                   f'<text x="{LABEL_WIDTH + this_width + 4:.1f}" y="{y + 2 * BAR_HEIGHT + GAP - 1}" '
                   f'font-weight="bold">{bar["this"]}</text></g>')
    out.append("</svg>")
    return Markup("".join(out))
