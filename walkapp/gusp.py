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
    # Set by the server for a constat posted through Open311 with lat/long: the client's position,
    # not one this site's phones measured (a client may not send it as its own location_source).
    Term("open311", "Position transmise par Open311"),
)
OPEN311_SOURCE = "open311"

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

# Annexe 1: the lines of each heading, as the Lillers 2023 programme spells them (GUSP.md, seed).
# Code "3.2" = heading 3, line 2; `short` is the heading's code. An action carries one line (or
# only its heading, for actions recorded before lines existed: "ligne non précisée").
TFPB_LINES: tuple[Term, ...] = (
    Term("1.1", "Agents de médiation sociale", "1"),
    Term("1.2", "Agents de développement social et urbain", "1"),
    Term("1.3", "Coordonnateur HLM de la gestion de proximité", "1"),
    Term("1.4", "Référents sécurité", "1"),
    Term("2.1", "Formations spécifiques (relation client, gestion des conflits…)", "2"),
    Term("2.2", "Sessions de coordination inter-acteurs", "2"),
    Term("2.3", "Dispositifs de soutien", "2"),
    Term("3.1", "Renforcement nettoyage", "3"),
    Term("3.2", "Enlèvement de tags et graffitis", "3"),
    Term("3.3", "Amélioration des délais d'intervention", "3"),
    Term("3.4", "Réparation des équipements vandalisés", "3"),
    Term("4.1", "Gestion des encombrants", "4"),
    Term("4.2", "Renforcement ramassage papiers et détritus", "4"),
    Term("4.3", "Enlèvement des épaves", "4"),
    Term("4.4", "Amélioration de la collecte des déchets", "4"),
    Term("5.1", "Dispositif tranquillité", "5"),
    Term("5.2", "Vidéosurveillance", "5"),
    Term("5.3", "Surveillance des chantiers", "5"),
    Term("5.4", "Analyse des besoins en vidéosurveillance", "5"),
    Term("6.1", "Soutien aux associations de locataires", "6"),
    Term("6.2", "Dispositif spécifique à la sensibilisation, à la maîtrise des charges, collecte sélective, "
                "nouveaux usages, gestes éco-citoyens", "6"),
    Term("6.3", "Enquêtes de satisfaction territorialisées", "6"),
    Term("7.1", "Soutien aux actions favorisant le « vivre ensemble »", "7"),
    Term("7.2", "Actions d'accompagnement social spécifiques", "7"),
    Term("7.3", "Services spécifiques aux locataires (ex. : portage de courses en cas de panne d'ascenseur)", "7"),
    Term("7.4", "Actions d'insertion (chantiers jeunes, chantiers d'insertion)", "7"),
    Term("7.5", "Mise à disposition de locaux associatifs ou de services", "7"),
    Term("8.1", "Petits travaux d'amélioration du cadre de vie", "8"),
    Term("8.2", "Surcoût de remise en état des logements", "8"),
    Term("8.3", "Travaux de sécurisation (gestion des caves, digicode, Vigik)", "8"),
)
# Annexe 1's columns. Earlier periods (the bilans 2016-2018, 2019-2020, 2021-2022): what was
# engaged, not engaged, carried over. The programme's year: the forecast, the spending valued from
# the actions' costs (computed, never typed: `computed` in description), the amount carried into
# the year from an action reported.
TFPB_PERIOD_AMOUNTS: tuple[Term, ...] = (
    Term("engage", "Montant engagé", "Engagé"),
    Term("non_engage", "Montant non engagé", "Non engagé"),
    Term("reporte", "Montant reporté", "Reporté"),
)
TFPB_YEAR_AMOUNTS: tuple[Term, ...] = (
    Term("previsionnel", "Montant prévisionnel", "Prévisionnel"),
    Term("valorise", "Dépense valorisée (coûts des actions)", "Dépense valorisée", "computed"),
    Term("reaffecte", "Montant réaffecté (action reportée)", "Réaffecté"),
)
TFPB_PROGRAMME_FIELDS: tuple[Term, ...] = (
    Term("landlord", "Bailleur"),
    Term("neighbourhood", "Quartier"),
    Term("year", "Année"),
    Term("dwellings", "Nombre de logements dans le quartier"),
    Term("abatement", "Montant de l'abattement TFPB de l'année"),
    Term("periods", "Périodes des bilans précédents"),
    Term("comment", "Commentaire"),
)
UNSPECIFIED_LINE = "Ligne non précisée"


def tfpb_lines(heading: str) -> tuple[Term, ...]:
    """The lines of one Annexe 1 heading, in order."""
    return tuple(t for t in TFPB_LINES if t.short == heading)

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
    Term("tfpb_line", "Ligne du programme TFPB"),
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
# The outcomes that say the earlier constat got better (the bilan's "résolus ou améliorés").
IMPROVED_OUTCOMES = ("resolu", "ameliore")

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
    "tfpb_line": TFPB_LINES,
    "tfpb_period_amount": TFPB_PERIOD_AMOUNTS,
    "tfpb_year_amount": TFPB_YEAR_AMOUNTS,
    "tfpb_field": TFPB_PROGRAMME_FIELDS,
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
        "TFPB_LINES": TFPB_LINES,
        "tfpb_lines": tfpb_lines,
        "ANNEXE2_COLUMNS": ANNEXE2_COLUMNS,
        "gusp_label": label,
        "gusp_term": term,
        "text_colour": text_colour,  # the text on a colour that is not a term's (a '#555' fallback)
        "OUTCOMES": OUTCOMES,
    }


# ---------------------------------------------------------------- the bilan: objectives and indicators
# The comité de pilotage's end-of-year evaluation (issue 13; shared/domain/GUSP.md's table). Each
# enjeu has the convention's operational objectives and its indicators. An indicator is either
# COMPUTED from the data (the same list for every enjeu: constats, actions, costs, time to done) or
# ENTERED by a coordinator per neighbourhood and year with its value, unit, source and date (the
# convention's own indicators, and the ones a neighbourhood adds: walkapp.bilan).

COMPUTED, ENTERED = "computed", "entered"

# The operational objectives of each enjeu, as the convention words them (seed, "b) Objectifs
# opérationnels").
OBJECTIVES: dict[str, tuple[str, ...]] = {
    "ambiance": (
        "Intervenir sur la régulation des espaces publics",
        "Faire converger les préoccupations de gestion urbaine et de tranquillité publique",
        "Accompagner l'appropriation de son quartier par les habitants",
        "Contribuer à la régulation des relations sociales",
        "Garantir une prise en compte des acteurs de l'ambiance urbaine dans les projets d'aménagement",
        "Développer la prévention situationnelle",
    ),
    "proprete": (
        "Poser une définition partagée de la notion de propreté et du niveau de propreté à atteindre",
        "Poser les principes de l'intervention de chacun sur les quartiers prioritaires",
        "Envisager la mobilisation d'outils spécifiques pour assurer un entretien de qualité sur des espaces "
        "problématiques (ex. : conventions de gestion des espaces publics et privés)",
        "Poser l'expertise d'usage comme enjeu fondamental de la propreté",
    ),
    "mobilites": (
        "Intégrer et développer les différents modes de déplacement selon les usages et les besoins du quartier "
        "et des habitants",
        "Contribuer à organiser les stationnements sur les quartiers en identifiant les leviers exploitables "
        "(mutualisation, action sur les coûts…)",
        "Assurer le maintien des circulations dans les quartiers, notamment pendant les phases de chantier",
        "Garantir une qualité de service équivalente par rapport au reste du territoire",
        "Travailler sur la perception de la mobilité par les habitants",
    ),
    "dechets": (
        "Maintenir des espaces publics de qualité grâce à un traitement des déchets sauvages",
        "Contribuer à prévenir les risques d'incendies grâce à une gestion optimale et organisée des déchets",
        "Adapter la collecte des résidus urbains aux besoins des habitants et des bailleurs",
        "Agir sur les comportements déviants",
    ),
    "chantiers": (
        "Proposer une gestion de qualité au service du maintien du cadre de vie pendant les travaux",
        "Garantir l'accessibilité des équipements et au logement pendant les chantiers",
        "Offrir un niveau de service équivalent pendant les chantiers",
        "Développer des actions transitoires pour que les habitants restent acteurs de leur environnement et "
        "contribuent au retournement d'image",
    ),
    "usagers": (
        "Créer les conditions d'une implication des habitants et usagers dans les démarches de gestion urbaine "
        "et sociale de proximité",
        "Identifier les moyens nécessaires à cette mobilisation",
        "Fournir des ressources pour accompagner la relation aux usagers",
    ),
    "services": (
        "Garantir un maintien aux services et équipements sur les quartiers",
        "S'assurer d'un équilibre sur la présence d'équipements sur les quartiers",
    ),
}


@dataclass(frozen=True)
class Indicator:
    """An indicator of the bilan. `code` is stable (stored with entered values); `label` is the
    convention's name; `unit` is what a computed figure counts, or an entered one's usual unit
    (shown as an example, never stored for the coordinator); `signed`: may be negative (an
    "Évolution"); `source`: where a computed figure comes from."""

    code: str
    label: str
    kind: str = ENTERED
    unit: str = ""
    description: str = ""
    signed: bool = False
    source: str = ""


# Computed for every enjeu, from the constats of the neighbourhood's walks of the year (neither
# rejected nor duplicates) and the actions of the year (walkapp.bilan.queries says how each is counted).
COMPUTED_INDICATORS: tuple[Indicator, ...] = (
    Indicator("constats", "Constats relevés", COMPUTED, "constats",
              "Constats des marches de l'année, ni rejetés ni doublons.", source="Diagnostics en marchant"),
    Indicator("faibles", "Points faibles", COMPUTED, "constats", source="Diagnostics en marchant"),
    Indicator("forts", "Points forts", COMPUTED, "constats", source="Diagnostics en marchant"),
    Indicator("actions", "Actions inscrites au suivi", COMPUTED, "actions",
              "Toutes les actions de l'année, quel que soit leur état.", source="Tableau de suivi des actions"),
    Indicator("engagees", "Actions engagées", COMPUTED, "actions",
              "En cours, réalisées ou reportées.", source="Tableau de suivi des actions"),
    Indicator("realisees", "Actions réalisées", COMPUTED, "actions", source="Tableau de suivi des actions"),
    Indicator("en_retard", "Actions en retard", COMPUTED, "actions",
              "Échéance dépassée, ni réalisées ni abandonnées.", source="Tableau de suivi des actions"),
    Indicator("abandonnees", "Actions abandonnées", COMPUTED, "actions", source="Tableau de suivi des actions"),
    Indicator("cout", "Coût des actions", COMPUTED, "€", source="Tableau de suivi des actions"),
    Indicator("delai_median", "Délai médian de réalisation", COMPUTED, "jours",
              "De la création de l'action au passage à « Réalisée » (historique de l'action).",
              source="Tableau de suivi des actions"),
    # The re-visits of constats by a follow-up walk: walkapp.bilan.queries.revisit_outcomes.
    Indicator("revisites_ameliores", "Constats revisités : résolus ou améliorés", COMPUTED, "constats",
              "Constats revisités lors d'une marche de suivi, jugés résolus ou améliorés.",
              source="Marches de suivi"),
)

# The convention's indicators, per enjeu (GUSP.md), entered by a coordinator.
CONVENTION_INDICATORS: dict[str, tuple[Indicator, ...]] = {
    "ambiance": (
        Indicator("ambiance.tadao", "Nombre de signalements et/ou plaintes de Tadao", unit="signalements",
                  description="Réseau de bus Tadao."),
        Indicator("ambiance.vandalisme", "Nombre d'actes de vandalisme sur le mobilier urbain communal",
                  unit="actes"),
        Indicator("ambiance.prevention", "Nombre d'études de prévention situationnelle", unit="études",
                  description="Menées dans le cadre de nouveaux projets urbains, aménagements, éclairages publics…"),
    ),
    "proprete": (
        Indicator("proprete.conventions", "Nombre de conventions de gestion des espaces publics et privés",
                  unit="conventions", description="Mises en place dans le cadre du contrat de ville."),
    ),
    "mobilites": (
        Indicator("mobilites.transports", "Proximité des quartiers et des zones de transport en commun",
                  unit="mètres"),
        Indicator("mobilites.pmr", "Nombre de places PMR / nombre d'habitants", unit="places pour 1 000 habitants"),
        Indicator("mobilites.points_noirs", "Nombre de points noirs sur les stationnements sauvages",
                  unit="points noirs"),
        Indicator("mobilites.sensibilisation", "Nombre d'actions de sensibilisation à la mobilité", unit="actions"),
        Indicator("mobilites.parcours", "Parcours alternatifs et sécurisés sur les chantiers", unit="parcours",
                  description="Mis en œuvre sur les chantiers de la commune."),
    ),
    "dechets": (
        Indicator("dechets.tri", "Qualité du tri sur les quartiers", unit="%"),
        Indicator("dechets.encombrants", "Nombre de rendez-vous Encombrants", unit="rendez-vous"),
        Indicator("dechets.sensibilisation", "Actions de sensibilisation menées sur les déchets", unit="actions"),
    ),
    "chantiers": (
        Indicator("chantiers.dce", "Inscription des règlements de chantiers dans les DCE", unit="DCE"),
        Indicator("chantiers.accidents", "Évolution du nombre d'accidents de chantiers impliquant des habitants",
                  unit="accidents", signed=True),
        Indicator("chantiers.horaires",
                  "Adaptation des chantiers à l'organisation horaire des équipements (école…)", unit="chantiers"),
    ),
    "usagers": (
        Indicator("usagers.temps", "Temps de travail impliquant des habitants sur la GUSP", unit="heures"),
    ),
    "services": (
        Indicator("services.frequentation", "Évolution de la fréquentation des équipements de proximité",
                  unit="%", signed=True, description="Fréquentation par les habitants des équipements de proximité."),
    ),
}
LOCAL_PREFIX = "local."  # an entered value of a neighbourhood's own indicator: "local.<its id>"
_CONVENTION_BY_CODE = {i.code: i for group in CONVENTION_INDICATORS.values() for i in group}


def convention_indicator(code: str) -> Indicator | None:
    """One of the convention's entered indicators by its code (None for another code)."""
    return _CONVENTION_BY_CODE.get(code)


def indicator_issue(code: str) -> str | None:
    """The enjeu of one of the convention's entered indicators."""
    return code.split(".", 1)[0] if code in _CONVENTION_BY_CODE else None
