"""The neighbourhood's perimeter (QPV outline, issue 15).

- geometry.py: reading the official contours GeoJSON (what is accepted and refused, and why), the
  20 m margin of "hors périmètre", and why shapely.
- services.py: the stored outline (table neighbourhood_outline), the constats' flag
  (observation.outside_perimeter: when it is computed), and the drawn outline the maps get.
- controllers.py: the import (the panel of the walk's page, templates/outline/panel.html) and
  /quartiers/<id>/perimetre.geojson.
Maps: review/maps.py (outline_layer, folium), static/js/outline.js (Leaflet maps built in
static/js: the walk form's, a constat's pin, the capture form's), reports/svgmap.py (the report).
Who may: policy "neighbourhood.outline" (coordinators import), "map.see" (read).
"""
