"""The data of walkapp (PRODUCT.md, "Data"), as Piccolo tables.

Choices come from walkapp.gusp. Nullable numbers and times say `default=None`: Piccolo would
otherwise fill them with 0.0 or now(), and a photo without GPS would land at 0°N 0°E.
"""

from __future__ import annotations

from piccolo.columns import (
    JSON,
    BigInt,
    Boolean,
    Date,
    DoublePrecision,
    ForeignKey,
    Integer,
    Numeric,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.reference import LazyTableReference
from piccolo.table import Table

from . import gusp


class Neighbourhood(Table, tablename="neighbourhood"):
    """A quartier prioritaire de la politique de la ville (QPV)."""

    qpv_code = Varchar(length=16, unique=True, help_text="Code QPV officiel, ex. QP062057.")
    name = Varchar(length=200, help_text="Nom du quartier, ex. Ville Centre.")
    town = Varchar(length=200, help_text="Commune.")
    centre_lat = DoublePrecision(null=True, default=None, help_text="Centre, latitude WGS 84.")
    centre_lon = DoublePrecision(null=True, default=None, help_text="Centre, longitude WGS 84.")


class Street(Table, tablename="street"):
    """A street of a neighbourhood's perimeter, offered when a constat is placed."""

    neighbourhood = ForeignKey(Neighbourhood, null=False, on_delete=OnDelete.cascade)
    name = Varchar(length=200)
    extent = Varchar(length=200, default="", help_text="Partie comprise, ex. « jusqu'au n° 38 ».")
    position = Integer(default=0, help_text="Ordre d'affichage.")


class Partner(Table, tablename="partner"):
    """A partner of the convention: the town, a landlord, a service, an association…"""

    name = Varchar(length=200, unique=True)
    kind = Varchar(length=32, choices=gusp.PartnerKind, default="ville")


class StaffUser(Table, tablename="staff_user"):
    """A signed-in account (coordinator, agent or committee member). Residents have none."""

    email = Varchar(length=254, unique=True, help_text="Adresse e-mail, en minuscules.")
    password_hash = Varchar(length=255, secret=True)
    display_name = Varchar(length=120)
    role = Varchar(length=32, choices=gusp.Role, default="agent")
    partner = ForeignKey(Partner, null=True, default=None, on_delete=OnDelete.set_null)
    active = Boolean(default=True)
    created_at = Timestamptz(default=TimestamptzNow())


class WebSession(Table, tablename="web_session"):
    """A browser's session: a staff sign-in and/or the walks it joined (walkapp.sessions).
    The cookie holds only a random id; this row holds the rest, so that a session can be ended."""

    key_hash = Varchar(length=64, unique=True, secret=True,
                       help_text="SHA-256 de l'identifiant du cookie (l'identifiant lui-même n'est pas gardé).")
    data = Text(default="", secret=True, help_text="Contenu de la session (JSON) : user_id, participants.")
    staff_user = ForeignKey(StaffUser, null=True, default=None, on_delete=OnDelete.cascade, index=True,
                            help_text="Compte connecté par cette session, pour pouvoir fermer ses sessions.")
    idle_seconds = Integer(default=0, help_text="Inactivité (secondes) au bout de laquelle la session expire.")
    created_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz(index=True, help_text="Fin de la session, repoussée quand elle sert.")


class SignInFailure(Table, tablename="sign_in_failure"):
    """A failed sign-in, kept 15 minutes for the throttle (accounts.throttle): in the database so
    that every worker counts the same failures and a restart forgets none."""

    email = Varchar(length=254, help_text="Adresse e-mail essayée, en minuscules.")
    address = Varchar(length=64, index=True, help_text="Adresse IP du client (préfixe /64 en IPv6).")
    at = Timestamptz(default=TimestamptzNow(), index=True)


class Walk(Table, tablename="walk"):
    """One diagnostic en marchant: a date, a route of haltes, a group of participants."""

    neighbourhood = ForeignKey(Neighbourhood, null=False, on_delete=OnDelete.restrict)
    title = Varchar(length=200)
    date = Date()
    status = Varchar(length=16, choices=gusp.WalkStatus, default="planned")
    join_secret = Varchar(length=64, unique=True, help_text="Secret du lien d'invitation.")
    created_by = ForeignKey(StaffUser, null=True, default=None, on_delete=OnDelete.set_null)
    created_at = Timestamptz(default=TimestamptzNow())
    current_stop = ForeignKey(
        LazyTableReference("Stop", module_path=__name__), null=True, default=None,
        on_delete=OnDelete.set_null, help_text="La halte où se trouve le groupe (mise à jour pendant la marche).")
    follows = ForeignKey("self", null=True, default=None, on_delete=OnDelete.set_null,
                         help_text="Marche de suivi : la marche plus ancienne dont elle revoit les constats.")
    # The restitution (walkapp/reports): a public page at /restitution/<secret> while published.
    # The secret is unique by an index of migration 0006 (SQLite cannot add a UNIQUE column).
    restitution_secret = Varchar(length=64, null=True, default=None, secret=True,
                                 help_text="Secret du lien public de la restitution (aucun : non publiée).")
    restitution_published_at = Timestamptz(null=True, default=None, help_text="Publication de la restitution.")


class Stop(Table, tablename="stop"):
    """A halte of a walk's route, in order."""

    walk = ForeignKey(Walk, null=False, on_delete=OnDelete.cascade)
    position = Integer(help_text="Ordre de la halte dans le parcours, à partir de 1.")
    name = Varchar(length=200)
    lat = DoublePrecision()
    lon = DoublePrecision()


class Participant(Table, tablename="participant"):
    """Someone on a walk: a resident with a display name, or a staff user."""

    walk = ForeignKey(Walk, null=False, on_delete=OnDelete.cascade)
    display_name = Varchar(length=80)
    user = ForeignKey(StaffUser, null=True, default=None, on_delete=OnDelete.set_null)
    token = Varchar(length=64, unique=True, secret=True, help_text="Jeton de la session.")
    joined_at = Timestamptz(default=TimestamptzNow())
    # Erasure on request (walkapp.privacy): the name is replaced, who erased and when are kept.
    erased_at = Timestamptz(null=True, default=None, help_text="Effacé à sa demande le…")
    erased_by = ForeignKey(StaffUser, null=True, default=None, on_delete=OnDelete.set_null,
                           help_text="Coordinateur qui a effacé ce participant.")


class Observation(Table, tablename="observation"):
    """A constat. (walk, client_uuid) is unique: replays from a phone never make a second one."""

    walk = ForeignKey(Walk, null=False, on_delete=OnDelete.restrict)
    participant = ForeignKey(Participant, null=True, default=None, on_delete=OnDelete.set_null)
    client_uuid = Varchar(length=64, help_text="Clé d'idempotence faite sur le téléphone.")
    issue = Varchar(length=16, choices=gusp.Issue)
    angle = Varchar(length=16, choices=gusp.Angle)
    polarity = Varchar(length=16, choices=gusp.Polarity, default="negative")
    description = Text(default="")
    lat = DoublePrecision(null=True, default=None)
    lon = DoublePrecision(null=True, default=None)
    accuracy_m = DoublePrecision(null=True, default=None)
    location_source = Varchar(length=16, choices=gusp.LocationSource, null=True, default=None)
    street = Varchar(length=200, default="")
    stop = ForeignKey(Stop, null=True, default=None, on_delete=OnDelete.set_null)
    observed_at = Timestamptz(null=True, default=None)
    received_at = Timestamptz(default=TimestamptzNow())
    status = Varchar(length=16, choices=gusp.ObservationStatus, default="new")
    duplicate_of = ForeignKey("self", null=True, default=None, on_delete=OnDelete.set_null)
    # A re-visit (marche de suivi) is a constat linked to the one it revisits, with its outcome.
    revisit_of = ForeignKey("self", null=True, default=None, on_delete=OnDelete.set_null, index=True,
                            help_text="Le constat plus ancien que celui-ci revoit (marche de suivi).")
    outcome = Varchar(length=16, choices=gusp.Outcome, null=True, default=None,
                      help_text="Évolution constatée en revoyant : resolu, ameliore, inchange, degrade.")
    # walkapp.outline: set when the constat is written or placed again, recomputed on import.
    outside_perimeter = Boolean(null=True, default=None,
                                help_text="Hors du périmètre du quartier (à plus de 20 m de son contour) ; "
                                          "vide : pas de contour importé ou pas de position.")


class ObservationEvent(Table, tablename="observation_event"):
    """One change of a constat by staff (requalified, marked duplicate, rejected, validated):
    who, when, which field, before and after, and the reason given."""

    observation = ForeignKey(Observation, null=False, on_delete=OnDelete.cascade)
    user = ForeignKey(StaffUser, null=True, default=None, on_delete=OnDelete.set_null)
    at = Timestamptz(default=TimestamptzNow())
    field = Varchar(length=64)
    before = Text(default="")
    after = Text(default="")
    note = Text(default="", help_text="Motif (rejet) ou commentaire.")


class ApiKey(Table, tablename="api_key"):
    """A key for an Open311 client to post constats into one walk. Only its hash is kept."""

    name = Varchar(length=120, help_text="À qui ou à quoi sert la clé.")
    key_hash = Varchar(length=64, unique=True, secret=True, help_text="SHA-256 de la clé.")
    prefix = Varchar(length=12, help_text="Début de la clé, pour la reconnaître.")
    walk = ForeignKey(Walk, null=False, on_delete=OnDelete.cascade, help_text="Marche où vont les constats reçus.")
    participant = ForeignKey(Participant, null=True, default=None, on_delete=OnDelete.set_null,
                             help_text="Auteur des constats reçus avec cette clé.")
    created_by = ForeignKey(StaffUser, null=True, default=None, on_delete=OnDelete.set_null)
    created_at = Timestamptz(default=TimestamptzNow())
    revoked_at = Timestamptz(null=True, default=None)


class Photo(Table, tablename="photo"):
    """A photo of a constat. Files are content-addressed: `sha256` names the original."""

    observation = ForeignKey(Observation, null=False, on_delete=OnDelete.cascade)
    sha256 = Varchar(length=64, index=True)
    original_path = Varchar(length=255, help_text="Relatif au dossier media.")
    display_path = Varchar(length=255)
    thumb_path = Varchar(length=255)
    content_type = Varchar(length=64)
    width = Integer()
    height = Integer()
    bytes = Integer()
    taken_at = Timestamptz(null=True, default=None)
    gps_lat = DoublePrecision(null=True, default=None)
    gps_lon = DoublePrecision(null=True, default=None)
    position = Integer(default=0)
    # Privacy (walkapp.privacy): what everyone but staff sees is the blurred display and thumbnail,
    # made after the constat is acknowledged by the server's workers; until then a placeholder.
    privacy_state = Varchar(length=16, default="pending", index=True,
                            help_text="pending (à flouter), done (flouté), failed (échec : image neutre).")
    privacy_boxes = JSON(default=[], help_text="Zones floutées : fractions x, y, w, h ; kind face|plate|manual ; "
                                               "removed pour une zone automatique écartée.")
    blurred_display_path = Varchar(length=255, default="")
    blurred_thumb_path = Varchar(length=255, default="")
    privacy_rev = Integer(default=0, help_text="Version du floutage (dans l'URL des images).")
    privacy_claim = Varchar(length=64, default="", help_text="Travailleur qui floute la photo.")
    privacy_claimed_at = Timestamptz(null=True, default=None)
    privacy_attempts = Integer(default=0)
    original_purged_at = Timestamptz(null=True, default=None,
                                     help_text="Original supprimé (durée de conservation) le…")


class Action(Table, tablename="action"):
    """A line of the tableau de suivi des actions engagées (Annexe 2)."""

    neighbourhood = ForeignKey(Neighbourhood, null=True, default=None, on_delete=OnDelete.set_null)
    axe = Varchar(length=16, choices=gusp.Issue, help_text="Axe d'intervention.")
    problem = Text(default="", help_text="Problème à traiter.")
    finding = Text(default="", help_text="Constat.")
    actions = Text(default="", help_text="Actions.")
    response_gestion = Boolean(default=False, help_text="Réponse gestion.")
    response_usage = Boolean(default=False, help_text="Réponse usage (prévention, sanction).")
    response_conception = Boolean(default=False, help_text="Réponse conception / aménagement.")
    pilot = ForeignKey(Partner, null=True, default=None, on_delete=OnDelete.set_null)
    other_partners = JSON(default=[], help_text="Identifiants des autres partenaires.")
    deadline = Date(null=True, default=None, help_text="Échéance.")
    state = Varchar(length=16, choices=gusp.ActionState, default="a_engager")
    cost = Numeric(digits=(12, 2), null=True, default=None, help_text="Coût en euros.")
    delay_causes = Text(default="", help_text="Causes retard ou report.")
    evaluation = Text(default="", help_text="Évaluation de l'action / évolution.")
    comment = Text(default="", help_text="Commentaire.")
    tfpb_heading = Varchar(length=8, null=True, default=None, help_text="Ligne du programme TFPB.")
    # The line of Annexe 1 ("3.2", gusp.TFPB_LINES); tfpb_heading stays its heading ("3"), so actions
    # recorded with a heading only keep their meaning ("ligne non précisée").
    tfpb_line = Varchar(length=8, null=True, default=None, help_text="Ligne de l'Annexe 1 (rubrique.ligne).")
    created_by = ForeignKey(StaffUser, null=True, default=None, on_delete=OnDelete.set_null)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class ActionObservation(Table, tablename="action_observation"):
    """The constats an action answers; (action, observation) is unique."""

    action = ForeignKey(Action, null=False, on_delete=OnDelete.cascade)
    observation = ForeignKey(Observation, null=False, on_delete=OnDelete.cascade)


class ActionEvent(Table, tablename="action_event"):
    """One change of an action: who, when, which field, before and after."""

    action = ForeignKey(Action, null=False, on_delete=OnDelete.cascade)
    user = ForeignKey(StaffUser, null=True, default=None, on_delete=OnDelete.set_null)
    at = Timestamptz(default=TimestamptzNow())
    field = Varchar(length=64)
    before = Text(default="")
    after = Text(default="")


class TfpbProgramme(Table, tablename="tfpb_programme"):
    """Annexe 1: a landlord's programme of actions in return for the TFPB abatement, for one
    neighbourhood and one year (one per landlord x neighbourhood x year: walkapp/tfpb/services.py)."""

    landlord = ForeignKey(Partner, null=False, on_delete=OnDelete.restrict)
    neighbourhood = ForeignKey(Neighbourhood, null=False, on_delete=OnDelete.restrict)
    year = Integer()
    dwellings = Integer(null=True, default=None, help_text="Nombre de logements dans le quartier.")
    abatement = Numeric(digits=(12, 2), null=True, default=None, help_text="Abattement TFPB de l'année, en euros.")
    periods = Varchar(length=100, default="", help_text="Périodes des bilans précédents, ex. 2016-2018 2019-2020.")
    comment = Text(default="")
    created_by = ForeignKey(StaffUser, null=True, default=None, on_delete=OnDelete.set_null)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_by = ForeignKey(StaffUser, null=True, default=None, on_delete=OnDelete.set_null)
    updated_at = Timestamptz(default=TimestamptzNow())


class TfpbAmount(Table, tablename="tfpb_amount"):
    """One amount of a programme: a line (gusp.TFPB_LINES), a period ("2019-2020" or the year) and
    a column (gusp.TFPB_PERIOD_AMOUNTS for earlier periods, TFPB_YEAR_AMOUNTS for the year)."""

    programme = ForeignKey(TfpbProgramme, null=False, on_delete=OnDelete.cascade)
    line = Varchar(length=8)
    period = Varchar(length=9)
    kind = Varchar(length=16)
    amount = Numeric(digits=(12, 2))


ALL_TABLES: tuple[type[Table], ...] = (
    Neighbourhood,
    Street,
    Partner,
    StaffUser,
    Walk,
    Stop,
    Participant,
    Observation,
    ObservationEvent,
    Photo,
    Action,
    ActionObservation,
    ActionEvent,
    ApiKey,
    WebSession,
    SignInFailure,
    TfpbProgramme,
    TfpbAmount,
)


# ---------------------------------------------------------------- the bilan (walkapp.bilan)

class LocalIndicator(Table, tablename="local_indicator"):
    """An indicator a neighbourhood adds to the convention's, under one enjeu; its values are
    IndicatorValue rows whose `indicator` is "local.<id>"."""

    neighbourhood = ForeignKey(Neighbourhood, null=False, on_delete=OnDelete.cascade)
    axe = Varchar(length=16, choices=gusp.Issue, help_text="Enjeu de l'indicateur.")
    name = Varchar(length=200, help_text="Nom de l'indicateur.")
    created_by = ForeignKey(StaffUser, null=True, default=None, on_delete=OnDelete.set_null)
    created_at = Timestamptz(default=TimestamptzNow())


class IndicatorValue(Table, tablename="indicator_value"):
    """An entered indicator's value for a neighbourhood and a year: (neighbourhood, year,
    indicator) is unique. `indicator`: a code of gusp.CONVENTION_INDICATORS or "local.<id>"."""

    neighbourhood = ForeignKey(Neighbourhood, null=False, on_delete=OnDelete.cascade)
    year = Integer(help_text="Année du bilan.")
    indicator = Varchar(length=64, help_text="Code de l'indicateur.")
    value = Numeric(digits=(14, 2), null=True, default=None, help_text="Valeur (vide : effacée).")
    unit = Varchar(length=80, default="", help_text="Unité.")
    source = Varchar(length=200, default="", help_text="Source, ex. CABBALR.")
    measured_on = Date(null=True, default=None, help_text="Date de la mesure.")
    note = Text(default="", help_text="Commentaire.")
    updated_by = ForeignKey(StaffUser, null=True, default=None, on_delete=OnDelete.set_null)
    updated_at = Timestamptz(default=TimestamptzNow())


class Assessment(Table, tablename="assessment"):
    """The committee's qualitative assessment of one enjeu, for a neighbourhood and a year:
    (neighbourhood, year, axe) is unique."""

    neighbourhood = ForeignKey(Neighbourhood, null=False, on_delete=OnDelete.cascade)
    year = Integer(help_text="Année du bilan.")
    axe = Varchar(length=16, choices=gusp.Issue, help_text="Enjeu.")
    text = Text(default="", help_text="Appréciation du comité.")
    updated_by = ForeignKey(StaffUser, null=True, default=None, on_delete=OnDelete.set_null)
    updated_at = Timestamptz(default=TimestamptzNow())


class BilanEvent(Table, tablename="bilan_event"):
    """One change of a bilan's entries, like ActionEvent: who, when, which entry (`subject`: an
    indicator's code, "local.<id>" or "appreciation.<axe>"), which field, before and after."""

    neighbourhood = ForeignKey(Neighbourhood, null=False, on_delete=OnDelete.cascade)
    year = Integer(help_text="Année du bilan.")
    subject = Varchar(length=64)
    user = ForeignKey(StaffUser, null=True, default=None, on_delete=OnDelete.set_null)
    at = Timestamptz(default=TimestamptzNow())
    field = Varchar(length=64)
    before = Text(default="")
    after = Text(default="")


ALL_TABLES += (LocalIndicator, IndicatorValue, Assessment, BilanEvent)


# ---------------------------------------------------------------- read tokens (walkapp.accounts.tokens)

class ReadToken(Table, tablename="read_token"):
    """A staff member's personal read token (QGIS, a script): `Authorization: Bearer <token>` reads
    what its owner reads, and never writes. Only its SHA-256 is kept; the token is shown once."""

    name = Varchar(length=120, help_text="À quoi sert le jeton, ex. « QGIS du service urbanisme ».")
    token_hash = Varchar(length=64, unique=True, secret=True, help_text="SHA-256 du jeton.")
    prefix = Varchar(length=16, help_text="Début du jeton, pour le reconnaître.")
    user = ForeignKey(StaffUser, null=False, on_delete=OnDelete.cascade, index=True,
                      help_text="Propriétaire : le jeton lit ce que ce compte lit.")
    created_at = Timestamptz(default=TimestamptzNow())
    last_used_at = Timestamptz(null=True, default=None, help_text="Dernière utilisation (à quelques minutes près).")
    revoked_at = Timestamptz(null=True, default=None)


ALL_TABLES += (ReadToken,)
# ---------------------------------------------------------------- the QPV outline (walkapp.outline)

class NeighbourhoodOutline(Table, tablename="neighbourhood_outline"):
    """A neighbourhood's perimeter, imported by a coordinator from the official QPV contours
    (GeoJSON). Its own table: pages that join a neighbourhood never carry its geometry."""

    neighbourhood = ForeignKey(Neighbourhood, null=False, unique=True, on_delete=OnDelete.cascade)
    geometry = Text(help_text="Contour tel qu'importé : GeoJSON Polygon ou MultiPolygon, WGS 84.")
    drawn = Text(help_text="Contour simplifié (à ~1 m) que dessinent les cartes, GeoJSON.")
    source = Varchar(length=300, default="", help_text="Fichier importé et quartier qu'il y désignait.")
    vertices = Integer(default=0, help_text="Nombre de sommets du contour importé.")
    area_ha = DoublePrecision(null=True, default=None, help_text="Surface, en hectares.")
    imported_by = ForeignKey(StaffUser, null=True, default=None, on_delete=OnDelete.set_null)
    imported_at = Timestamptz(default=TimestamptzNow())


ALL_TABLES += (NeighbourhoodOutline,)


# ---------------------------------------------------------------- the map's clusters (walkapp.review.clusters)
# Kept by the database's own triggers (migration 0011), read by the map's in-memory index: derived
# from the constats, so not in ALL_TABLES (not data a restore must find empty, nor that anyone edits).

class MapRevision(Table, tablename="map_revision"):
    """One row: a number the triggers raise in the same transaction as every change of a constat
    (or of a walk's date or neighbourhood) that the map shows."""

    value = BigInt(default=0, help_text="Révision des constats de la carte : change à chaque modification.")


class MapChange(Table, tablename="map_change"):
    """Which constats a revision changed (so a map index re-reads only those); `observation`
    empty: everything may have changed (a walk's date or neighbourhood, a TRUNCATE). The triggers
    keep the last 100,000 revisions (migration 0011)."""

    revision = BigInt(index=True, help_text="La révision (map_revision) de ce changement.")
    observation = BigInt(null=True, default=None, help_text="Le constat changé (pas de clé étrangère : il peut "
                                                             "avoir été supprimé) ; vide : tous.")
