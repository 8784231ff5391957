"""OGC API - Features (/ogc/) and the QGIS style of the constats layer: the live layer for GIS tools."""
