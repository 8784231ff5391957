"""The TFPB programme (Annexe 1 of the GUSP convention): one per landlord, neighbourhood and year,
its amounts per line and period, and the actions' costs rolled up as "dépense valorisée"."""
