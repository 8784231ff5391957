"""The year\x27s bilan for the comité de pilotage: indicators per enjeu, assessments, exports."""
