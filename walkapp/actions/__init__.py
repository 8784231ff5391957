"""The tableau de suivi des actions engagées (Annexe 2 of the GUSP convention): actions made from
constats, assigned to partners, followed, summed up for the committee and exported."""
