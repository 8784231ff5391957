"""The GUSP vocabulary, in one place.

Every label a user reads about issues, angles, responses, polarities and states comes from here:
tables take their choices, forms their buttons, templates their labels and colours. The French
labels are spelled exactly as in the Lillers convention (see shared/domain/GUSP.md); the codes are
the ones of the JSON API contract and never change.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from .colours import text_colour


@dataclass(frozen=True)
class Term:
    """One entry of a GUSP list: a stable code and what people read."""

    code: str
    label: str
    short: str = ""
    description: str = ""
    colour: str = "#555555"

    @property
    def on_colour(self) -> str:
        """The text colour on this term's colour (black or white, at least 4.5:1): badges, bands."""
        return text_colour(self.colour)


def _enum(name: str, terms: tuple[Term, ...]) -> type[Enum]:
    """A str Enum whose members are the codes, for Piccolo's `choices` and validation."""
    return Enum(name, {t.code: t.code for t in terms}, type=str)  # type: ignore[return-value]


# The seven issues (enjeux opérationnels / axes d'intervention), in the convention's order.
# Colours: a qualitative palette that stays distinct for the common colour blindnesses
# (Okabe-Ito based). Text on them takes `Term.on_colour` (black or white by computed contrast,
# walkapp/colours.py): the markers keep these exact colours and every label on them reads at 4.5:1.
ISSUES: tuple[Term, ...] = (
    Term(
        "ambiance",
        "Ambiance urbaine (tranquillité, sécurité)",
        "Ambiance urbaine",
        "Réguler les espaces publics, prévention situationnelle, tranquillité et sécurité.",
        "#0072B2",
    ),
    Term(
        "proprete",
        "Propreté, entretien",
        "Propreté",
        "Niveau de propreté attendu, qui fait quoi, espaces problématiques.",
        "#009E73",
    ),
    Term(
        "mobilites",
        "Mobilités et déplacements",
        "Mobilités",
        "Modes de déplacement, stationnement, circulation pendant les travaux.",
        "#6A3D9A",
    ),
    Term(
        "dechets",
        "Gestion de tous les types de déchets",
        "Déchets",
        "Dépôts sauvages, risques d'incendie, collecte, encombrants.",
        "#A0522D",
    ),
    Term(
        "chantiers",
        "Gestions transitoires et de chantiers",
        "Chantiers",
        "Qualité de gestion pendant les travaux, accès aux équipements et logements.",
        "#D55E00",
    ),
    Term(
        "usagers",
        "Relation aux usagers",
        "Usagers",
        "Implication des habitants, moyens de la relation avec les usagers.",
        "#CC3D8F",
    ),
    Term(
        "services",
        "Accès aux services de proximité",
        "Services",
        "Maintien des services et équipements dans le quartier.",
        "#3C6E71",
    ),
)

# The four analysis angles (angles d'analyse): where a dysfunction comes from.
ANGLES: tuple[Term, ...] = (
    Term(
        "gestion",
        "Entretien et gestion",
        "Gestion",
        "Gestion du site ou du bâtiment : manque de moyens, responsabilités floues.",
    ),
    Term(
        "conception",
        "Conception",
        "Conception",
        "Conception : espaces interstitiels difficiles à entretenir, recoins.",
    ),
    Term("usages", "Usages", "Usages", "Usages : incivilités, regroupements."),
    Term(
        "cooperation",
        "Coopération et veille",
        "Coopération",
        "Pas de partenariat entre acteurs, terrain coupé des décideurs.",
    ),
)

# Point faible / point fort. The API says negative|positive.
POLARITIES: tuple[Term, ...] = (
    Term("negative", "Point faible", "Faible", colour="#B00020"),
    Term("positive", "Point fort", "Fort", colour="#1B7F3B"),
)

# The three kinds of response of Annexe 2.
RESPONSES: tuple[Term, ...] = (
    Term("gestion", "Réponse gestion", "Gestion"),
    Term("usage", "Réponse usage (prévention, sanction)", "Usage"),
    Term("conception", "Réponse conception / aménagement", "Conception"),
)

# État d'avancement of an action (Annexe 2).
ACTION_STATES: tuple[Term, ...] = (
    Term("a_engager", "À engager", colour="#6B6B6B"),
    Term("en_cours", "En cours", colour="#0072B2"),
    Term("realisee", "Réalisée", colour="#1B7F3B"),
    Term("reportee", "Reportée", colour="#D55E00"),
    Term("abandonnee", "Abandonnée", colour="#444444"),
)

# Review status of a constat.
OBSERVATION_STATUSES: tuple[Term, ...] = (
    Term("new", "Nouveau"),
    Term("validated", "Validé"),
    Term("duplicate", "Doublon"),
    Term("rejected", "Rejeté"),
)

# Where a constat's position came from.
LOCATION_SOURCES: tuple[Term, ...] = (
    Term("device", "Position du téléphone"),
    Term("exif", "Position de la photo"),
    Term("manual", "Position corrigée à la main"),
    Term("stop", "Position de la halte"),
)

WALK_STATUSES: tuple[Term, ...] = (
    Term("planned", "Prévue"),
    Term("open", "En cours"),
    Term("closed", "Clôturée"),  # "Close" read as English on a badge
)

ROLES: tuple[Term, ...] = (
    Term("coordinator", "Coordinateur", description="Prépare les marches, trie les constats, crée les actions."),
    Term("agent", "Agent", description="Participe aux marches, suit les actions de son partenaire."),
    Term("committee", "Membre du comité", description="Consulte la carte, la matrice et le tableau de suivi."),
)

PARTNER_KINDS: tuple[Term, ...] = (
    Term("ville", "Ville"),
    Term("bailleur", "Bailleur social"),
    Term("intercommunalite", "Intercommunalité"),
    Term("etat", "État"),
    Term("association", "Association"),
    Term("service", "Service"),
)

# Annexe 1: headings of the TFPB abatement programme (one per landlord and year).
TFPB_HEADINGS: tuple[Term, ...] = (
    Term("1", "Renforcement de la présence du personnel de proximité"),
    Term("2", "Formation / soutien des personnels de proximité"),
    Term("3", "Sur-entretien"),
    Term("4", "Gestion des déchets et encombrants / épaves"),
    Term("5", "Tranquillité résidentielle"),
    Term("6", "Concertation / sensibilisation des locataires"),
    Term("7", "Animation, lien social, vivre ensemble"),
    Term("8", "Petits travaux d'amélioration de la qualité de service"),
)

# Annexe 2: the columns of the tableau de suivi des actions engagées, in the convention's order.
# Codes are the Action table's columns; the response of each action is split into RESPONSES.
ANNEXE2_COLUMNS: tuple[Term, ...] = (
    # The column is plural (the convention's heading); a band of the table names one axe: `short`.
    Term("axe", "Axes d'intervention", "Axe d'intervention"),
    Term("problem", "Problème à traiter"),
    Term("finding", "Constat"),
    Term("actions", "Actions"),
    Term("state", "État d'avancement"),
    Term("cost", "Coût"),
    Term("delay_causes", "Causes retard ou report"),
    Term("evaluation", "Évaluation de l'action / Évolution"),
    Term("comment", "Commentaire"),
)

# The other fields of an action (not columns of Annexe 2, but asked by the follow-up).
ACTION_FIELDS: tuple[Term, ...] = (
    Term("pilot", "Pilote"),
    Term("other_partners", "Autres partenaires"),
    Term("deadline", "Échéance"),
    Term("tfpb_heading", "Ligne du programme TFPB"),
    Term("neighbourhood", "Quartier"),
)

# Follow-up walk (marche de suivi): what a re-visit finds of an earlier constat. Colours for the
# map's markers and badges: green to red through blue and orange, told apart by lightness too.
OUTCOMES: tuple[Term, ...] = (
    Term("resolu", "Résolu", description="Le problème a disparu.", colour="#1B7F3B"),
    Term("ameliore", "Amélioré", description="C'est mieux, sans être réglé.", colour="#56B4E9"),
    Term("inchange", "Inchangé", description="Rien n'a changé.", colour="#E69F00"),
    Term("degrade", "Dégradé", description="C'est pire qu'avant.", colour="#B00020"),
)

Issue = _enum("Issue", ISSUES)
Angle = _enum("Angle", ANGLES)
Polarity = _enum("Polarity", POLARITIES)
ActionState = _enum("ActionState", ACTION_STATES)
ObservationStatus = _enum("ObservationStatus", OBSERVATION_STATUSES)
LocationSource = _enum("LocationSource", LOCATION_SOURCES)
WalkStatus = _enum("WalkStatus", WALK_STATUSES)
Role = _enum("Role", ROLES)
PartnerKind = _enum("PartnerKind", PARTNER_KINDS)
Outcome = _enum("Outcome", OUTCOMES)

_ALL = {
    "issue": ISSUES,
    "angle": ANGLES,
    "polarity": POLARITIES,
    "response": RESPONSES,
    "action_state": ACTION_STATES,
    "observation_status": OBSERVATION_STATUSES,
    "location_source": LOCATION_SOURCES,
    "walk_status": WALK_STATUSES,
    "role": ROLES,
    "partner_kind": PARTNER_KINDS,
    "tfpb": TFPB_HEADINGS,
    "annexe2": ANNEXE2_COLUMNS,
    "action_field": ACTION_FIELDS,
    "outcome": OUTCOMES,
}
_BY_CODE = {kind: {t.code: t for t in terms} for kind, terms in _ALL.items()}


def term(kind: str, code: str | None) -> Term | None:
    """The term of a list by its code (None for an unknown code)."""
    if code is None:
        return None
    return _BY_CODE[kind].get(str(getattr(code, "value", code)))


def label(kind: str, code: str | None) -> str:
    """The French label of a code, or the code itself when unknown (never an exception in a page)."""
    found = term(kind, code)
    return found.label if found else (code or "")


def codes(kind: str) -> tuple[str, ...]:
    return tuple(t.code for t in _ALL[kind])


def is_code(kind: str, value: object) -> bool:
    return isinstance(value, str) and value in _BY_CODE[kind]


def template_globals() -> dict[str, object]:
    """What templates get: the lists to loop over, and `label`/`term` to look a code up."""
    return {
        "ISSUES": ISSUES,
        "ANGLES": ANGLES,
        "POLARITIES": POLARITIES,
        "RESPONSES": RESPONSES,
        "ACTION_STATES": ACTION_STATES,
        "OBSERVATION_STATUSES": OBSERVATION_STATUSES,
        "WALK_STATUSES": WALK_STATUSES,
        "ROLES": ROLES,
        "TFPB_HEADINGS": TFPB_HEADINGS,
        "ANNEXE2_COLUMNS": ANNEXE2_COLUMNS,
        "gusp_label": label,
        "gusp_term": term,
        "text_colour": text_colour,  # the text on a colour that is not a term's (a '#555' fallback)
        "OUTCOMES": OUTCOMES,
    }
