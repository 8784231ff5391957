"""The QGIS style of the constats layer (.qml), made from walkapp.gusp: a categorised renderer on
the `issue` code with the seven issues' colours and French labels (the map's legend), points forts
ringed in green as on the site's map, French field aliases (walkapp.observations.features.TITLES),
and a map tip. Written from the vocabulary at each request, never kept as a file: a colour changed in
gusp.py is the colour in QGIS.

The XML is QGIS 3's layer style format (renderer-v2; symbol layer properties as an `Option` map,
plus the older `prop` elements that QGIS before 3.26 reads).
"""

from __future__ import annotations

from xml.etree import ElementTree as ET

from .. import gusp
from ..observations.features import PROPERTIES, TITLES

QGIS_VERSION = "3.28.0-Firenze"
SIZE_MM = "3.4"
OUTLINE = "255,255,255,255"
OUTLINE_MM = "0.4"
STRONG_OUTLINE_MM = "1"  # a point fort: a thicker ring, in the point fort's colour


def _rgba(colour: str) -> str:
    """'#0072B2' -> '0,114,178,255' (QGIS's colour text)."""
    value = colour.lstrip("#")
    return ",".join(str(int(value[i:i + 2], 16)) for i in (0, 2, 4)) + ",255"


def _option(parent: ET.Element, name: str | None, value: str, kind: str = "QString") -> ET.Element:
    attributes = {"type": kind, "value": value}
    if name is not None:
        attributes = {"name": name, **attributes}
    return ET.SubElement(parent, "Option", attributes)


def _map(parent: ET.Element, name: str | None = None) -> ET.Element:
    return ET.SubElement(parent, "Option", {"type": "Map", **({"name": name} if name else {})})


def _data_defined(parent: ET.Element, expressions: dict[str, str]) -> None:
    root = _map(ET.SubElement(parent, "data_defined_properties"))
    _option(root, "name", "")
    properties = _map(root, "properties") if expressions else _option(root, "properties", "")
    for name, expression in expressions.items():
        one = _map(properties, name)
        _option(one, "active", "true", "bool")
        _option(one, "expression", expression)
        _option(one, "type", "3", "int")  # QgsProperty::ExpressionBasedProperty
    _option(root, "type", "collection")


def _symbol(parent: ET.Element, name: str, colour: str) -> None:
    symbol = ET.SubElement(parent, "symbol", {"type": "marker", "name": name, "alpha": "1", "clip_to_extent": "1",
                                              "force_rhr": "0", "frame_rate": "10", "is_animated": "0"})
    _data_defined(symbol, {})
    layer = ET.SubElement(symbol, "layer", {"class": "SimpleMarker", "enabled": "1", "locked": "0", "pass": "0"})
    values = {"angle": "0", "color": _rgba(colour), "joinstyle": "bevel", "name": "circle",
              "outline_color": OUTLINE, "outline_style": "solid", "outline_width": OUTLINE_MM,
              "outline_width_unit": "MM", "scale_method": "diameter", "size": SIZE_MM, "size_unit": "MM"}
    options = _map(layer)
    for key, value in values.items():
        _option(options, key, value)
    for key, value in values.items():
        ET.SubElement(layer, "prop", {"k": key, "v": value})
    strong = _rgba(gusp.term("polarity", "positive").colour)
    _data_defined(layer, {
        "outlineColor": f"if(\"polarity\" = 'positive', '{strong}', '{OUTLINE}')",
        "outlineWidth": f"if(\"polarity\" = 'positive', {STRONG_OUTLINE_MM}, {OUTLINE_MM})",
    })


def constats_style() -> bytes:
    """The .qml document, UTF-8."""
    root = ET.Element("qgis", {"version": QGIS_VERSION, "styleCategories": "Symbology|Fields|MapTips"})
    renderer = ET.SubElement(root, "renderer-v2", {"type": "categorizedSymbol", "attr": "issue", "forceraster": "0",
                                                   "symbollevels": "0", "enableorderby": "0",
                                                   "referencescale": "-1"})
    categories = ET.SubElement(renderer, "categories")
    symbols = ET.SubElement(renderer, "symbols")
    for index, issue in enumerate(gusp.ISSUES):
        ET.SubElement(categories, "category", {"value": issue.code, "symbol": str(index), "label": issue.label,
                                               "render": "true", "type": "string"})
        _symbol(symbols, str(index), issue.colour)
    _symbol(ET.SubElement(renderer, "source-symbol"), "0", "#555555")
    aliases = ET.SubElement(root, "aliases")
    for index, name in enumerate(PROPERTIES):
        ET.SubElement(aliases, "alias", {"field": name, "index": str(index), "name": TITLES[name]})
    ET.SubElement(root, "mapTip").text = (
        '<strong>[% "issue_label" %]</strong> · [% "polarity_label" %]<br>[% "angle_label" %] · '
        '[% "status_label" %]<br>[% "street" %]<br>[% "description" %]')
    ET.SubElement(root, "previewExpression").text = "\"issue_label\" || ' · ' || \"street\""
    ET.SubElement(root, "layerGeometryType").text = "0"  # points
    ET.indent(root)
    text = "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n" + ET.tostring(root, encoding="unicode")
    return (text + "\n").encode("utf-8")
