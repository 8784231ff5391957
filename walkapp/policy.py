"""Who may do what, on which object: the one policy of walkapp.

Every route, query and template asks here: guards are built by `allowed(verb)`, handlers call
`require(actor, verb, obj)`, visibility queries use `visible_walk_ids` / `open311_condition`,
templates call the Jinja global `can(verb, obj)`. Nothing else tests a role.

Decisions (PRODUCT.md: "Who uses it", flow 3 "Review", "Privacy"):
- The comité (committee) reads everything staff reads (walks, map, matrix, constats, the
  follow-up table, the display-size photo zip) and reviews constats (requalify, mark duplicate,
  reject, validate). It does not download originals, does not set the current halte (that is for
  those who lead the walk), and does not create or edit actions.
- Originals (full resolution, GPS in their metadata) are for coordinators only, as the Privacy
  line says; agents and the committee get the display size (zip included).
- Agents take part like residents, lead the walk with the coordinator (current halte), read what
  staff reads and follow up the actions their partner pilots. They do not review constats: the
  review is the committee's and the coordinator's (flow 3; gusp.ROLES).
- Coordinators may do everything, except edit or delete someone else's constat (they requalify it).
- A constat goes only into an open walk, for everyone and by every route (field page, JSON API,
  Open311 key): a planned walk answers 409 ("not yet open"), a closed one 403. Its author edits or
  deletes it while the walk is open.
- The neighbourhood's perimeter (walkapp.outline) is imported by coordinators only; whoever reads
  a map ("map.see") reads it (it is the State's open data, drawn on every map).
- Participants (this browser's joined walks, or one Bearer participant token) see the walks they
  joined, nothing else, except the photos of the walk a joined follow-up walk follows (its
  "À revoir" list shows them; not the earlier constats' pages, nor who made them). An Open311 key
  sees its own walk's constats and posts into it; anyone reads validated constats through Open311.

Who is acting (`Actor`) is resolved once per request by `ActorMiddleware` and kept in the scope
(`scope["auth"]`; `scope["user"]` is its staff user). Bearer rule, the one place it lives: a
request whose Authorization header has the Bearer scheme is authenticated by that token only,
never by the cookie, even when the token is blank (then it is anonymous); CSRF is skipped for
exactly those requests (security.CSRFUnlessBearer calls `bearer_token` too). The token is a
participant's (its walk), or a staff member's read token (`wrt.…`, walkapp.accounts.tokens): then
the Actor is its owner, with `read_only` set, and only GET and HEAD pass (403 for any other method,
before the handler runs: a read token never authorises a write); an unknown or revoked read token
is a 401. Errors of Bearer requests are JSON whatever the route (web.error_shape).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from jinja2 import pass_context
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from .errors import AppError, Conflict, Forbidden, JoinRequired, SignInRequired
from .tables import ApiKey, Observation, Participant, StaffUser, Walk

# ---------------------------------------------------------------- actors

ANONYMOUS, PARTICIPANT, API_KEY = "anonymous", "participant", "api_key"
COORDINATOR, AGENT, COMMITTEE = "coordinator", "agent", "committee"
KINDS = (ANONYMOUS, PARTICIPANT, API_KEY, AGENT, COMMITTEE, COORDINATOR)
STAFF = frozenset({COORDINATOR, AGENT, COMMITTEE})
MAX_TOKEN = 200  # longer than any token we make: not looked up


def _id(value: Any) -> int | None:
    """A foreign key as Piccolo gives it (an id, a joined row, a row dict) or a row: its id."""
    value = value.get("id") if isinstance(value, dict) else getattr(value, "id", value)
    return value if isinstance(value, int) else None


@dataclass(frozen=True)
class Actor:
    """Who is acting on this request.

    `participants` maps walk id -> participant id: the walks this browser joined (session), or the
    one walk of a Bearer participant token. A staff user may have joined walks too (their own
    constats). `api_key` is an Open311 key, bound to one walk."""

    user: StaffUser | None = None
    participants: Mapping[int, int] = field(default_factory=dict)
    api_key: ApiKey | None = None
    bearer: bool = False
    # A staff member's read token (`user` is its owner): GET and HEAD only (resolve_actor).
    read_only: bool = False
    # The walks that the walks of `participants` follow (marche de suivi): their constats are
    # re-visited, so their photos are shown on the follow-up's page (rule "photo.see").
    followed: frozenset[int] = frozenset()

    @property
    def role(self) -> str | None:
        return getattr(self.user, "role", None) if self.user is not None else None

    @property
    def kind(self) -> str:
        if self.role in STAFF:
            return self.role
        if self.api_key is not None:
            return API_KEY
        return PARTICIPANT if self.participants else ANONYMOUS

    @property
    def is_anonymous(self) -> bool:
        return self.kind == ANONYMOUS

    @property
    def partner_id(self) -> int | None:
        return _id(getattr(self.user, "partner", None))

    @property
    def key_walk_id(self) -> int | None:
        return _id(self.api_key.walk) if self.api_key is not None else None

    def participant_in(self, walk: Any) -> int | None:
        """The participant id this actor acts as on `walk` (a Walk, a walk id), or None."""
        return self.participants.get(_id(walk))  # type: ignore[arg-type]


NOBODY = Actor()


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer …` header: "" when blank, None without the Bearer
    scheme. The one reading of the header (the actor and the CSRF exemption both use it)."""
    parts = (authorization or "").split(None, 1)
    if not parts or parts[0].lower() != "bearer":
        return None
    return parts[1].strip() if len(parts) > 1 else ""


def session_participants(connection: ASGIConnection) -> dict[str, str]:
    """walk id (text) -> participant token, as the join page wrote them into this browser's session."""
    session = connection.scope.get("session")
    value = session.get("participants") if isinstance(session, dict) else None
    return value if isinstance(value, dict) else {}


async def _participations(tokens: Mapping[str, str]) -> tuple[dict[int, int], frozenset[int]]:
    """walk id -> participant id for the (walk, token) pairs that still name a participant, and
    the walks those walks follow."""
    wanted = [t for t in tokens.values() if isinstance(t, str) and 0 < len(t) <= MAX_TOKEN]
    if not wanted:
        return {}, frozenset()
    rows = await Participant.select(Participant.id, Participant.walk, Participant.token,
                                    Participant.walk.follows.as_alias("follows")).where(
        Participant.token.is_in(wanted))
    kept = [row for row in rows if tokens.get(str(row["walk"])) == row["token"]]
    return {row["walk"]: row["id"] for row in kept}, frozenset(row["follows"] for row in kept if row["follows"])


READS = frozenset({"GET", "HEAD"})
READ_ONLY = "Un jeton de lecture ne sert qu'à lire (GET) : il n'autorise aucune modification. Rien n'a changé."
UNKNOWN_READ_TOKEN = ("Jeton de lecture inconnu ou révoqué : créez-en un autre sur la page « Mon compte » "
                      "(ou avec walkapp createtoken).")


async def _read_token_actor(connection: ASGIConnection, token: str) -> Actor:
    """A staff member's read token (walkapp.accounts.tokens): the owner's Actor, for reads only.
    An unknown or revoked one is a 401 whatever the route (RFC 6750's invalid_token), a write a 403."""
    from .accounts.tokens import owner_of

    user = await owner_of(token)
    if user is None:
        raise SignInRequired(UNKNOWN_READ_TOKEN, code="invalid_token",
                             headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
    if connection.scope.get("method") not in READS:
        raise Forbidden(READ_ONLY, code="read_only_token")
    return Actor(user=user, bearer=True, read_only=True)


async def resolve_actor(connection: ASGIConnection) -> Actor:
    token = bearer_token(connection.headers.get("authorization"))
    if token is not None:
        # Authenticated by the token alone: such requests skip CSRF, so no cookie may count.
        if not token or len(token) > MAX_TOKEN:
            return Actor(bearer=True)
        from .accounts.tokens import is_read_token

        if is_read_token(token):
            return await _read_token_actor(connection, token)
        row = await Participant.select(Participant.id, Participant.walk, Participant.walk.follows.as_alias(
            "follows")).where(Participant.token == token).first()
        return Actor(participants={row["walk"]: row["id"]} if row else {}, bearer=True,
                     followed=frozenset([row["follows"]] if row and row["follows"] else []))
    session = connection.scope.get("session")
    user_id = session.get("user_id") if isinstance(session, dict) else None
    user = None
    if isinstance(user_id, int):
        user = await StaffUser.objects(StaffUser.partner).where(
            (StaffUser.id == user_id) & (StaffUser.active == True)  # noqa: E712
        ).first()
    participants, followed = await _participations(session_participants(connection))
    return Actor(user=user, participants=participants, followed=followed)


class ActorMiddleware(AbstractAuthenticationMiddleware):
    """Resolves the request's Actor once: `request.auth` is the Actor, `request.user` its staff user
    (or None). Never refuses a request itself: the policy decides, route by route."""

    async def authenticate_request(self, connection: ASGIConnection) -> AuthenticationResult:
        actor = await resolve_actor(connection)
        return AuthenticationResult(user=actor.user, auth=actor)


def actor_of(connection: ASGIConnection | None) -> Actor:
    """The request's Actor (anonymous where the middleware did not run: unknown URLs' error pages)."""
    auth = connection.scope.get("auth") if connection is not None else None
    return auth if isinstance(auth, Actor) else NOBODY


async def with_api_key(connection: ASGIConnection, raw: Any, *, cookies: bool) -> Actor:
    """The request's Actor holding the Open311 key `raw` (403 when unknown or revoked), kept as the
    request's Actor. `cookies=False` for the CSRF-exempt Open311 POST: there the key is the only
    credential, so the session's user and joins are dropped."""
    from .open311.keys import active_key

    key = await active_key(str(raw or ""))
    if key is None:
        raise Forbidden("api_key invalide ou révoquée.")
    actor = replace(actor_of(connection) if cookies else NOBODY, api_key=key)
    connection.scope["auth"] = actor
    return actor


# ---------------------------------------------------------------- the rules

# Who a rule admits, besides staff roles: conditions on the object.
WALK_PARTICIPANT = "participant of the walk"
ANY_PARTICIPANT = "participant of a walk"
WALK_KEY = "api key of the walk"
AUTHOR = "author of the constat"
PILOT_AGENT = "agent of the pilot partner"
VALIDATED = "validated constat"
ANYONE = "anyone"
LANDLORD_AGENT = "agent of the programme's landlord"
FOLLOWING = "participant of a follow-up of the walk"

NOT_YET_OPEN = "La marche n'a pas encore commencé : les constats ne sont pas encore ouverts."
CLOSED_TO_CONSTATS = ("Cette marche est close : elle ne reçoit plus de nouveau constat, "
                      "ni depuis la page de la marche, ni par l'API, ni par Open311.")
CLOSED_TO_EDITS = "Cette marche est close : ses constats ne se modifient plus ici."
JOIN_FIRST = "Rejoignez d'abord la marche avec le lien ou le code QR de l'organisateur."
STAFF_READS = "réservé aux agents, coordinateurs et membres du comité"
STAFF_READS_F = "réservée aux agents, coordinateurs et membres du comité"
COORDINATORS_ONLY = "Votre rôle ne permet pas cette action : seuls les coordinateurs"


@dataclass(frozen=True)
class Rule:
    """Who may (`who`: roles and object conditions), what every refusal says (`refusal`: the rule
    itself; `stranger`: to someone not signed in nor on the walk), and the walk states that refuse
    it whoever asks (`states`: walk status -> error)."""

    who: frozenset[str]
    refusal: str
    stranger: str = ""
    join: bool = False  # a stranger's way in is joining the walk, not signing in
    states: Mapping[str, AppError] = field(default_factory=dict)


def _rule(who: set[str], refusal: str, stranger: str = "", join: bool = False,
          states: Mapping[str, AppError] | None = None) -> Rule:
    return Rule(frozenset(who), refusal, stranger or refusal, join, states or {})


_SEE_WALK = STAFF | {WALK_PARTICIPANT, WALK_KEY}
_MANAGE_WALKS = _rule({COORDINATOR}, f"{COORDINATORS_ONLY} planifient, modifient, ouvrent et closent les marches.",
                      "Connectez-vous pour planifier ou modifier une marche.")
_AUTHOR_ONLY = _rule({AUTHOR}, "Seul l'auteur d'un constat peut le modifier ou le supprimer, tant que la marche "
                     "est ouverte.", join=True, states={"closed": Forbidden(CLOSED_TO_EDITS)})
_COORDINATOR_ACTIONS = _rule({COORDINATOR}, f"{COORDINATORS_ONLY} créent et modifient les actions.",
                             "Connectez-vous pour accéder au suivi des actions.")
_CONSTAT_STATES = {"planned": Conflict(NOT_YET_OPEN, code="walk_not_open"), "closed": Forbidden(CLOSED_TO_CONSTATS)}

# The whole policy: verb -> rule. tests/test_policy.py holds the same table as expectations.
RULES: dict[str, Rule] = {
    # Walks
    "walks.list": _rule(STAFF, f"La liste des marches est {STAFF_READS_F}.",
                        "Connectez-vous pour accéder aux marches."),
    "walk.participants": _rule(STAFF, f"La page d'une marche (invitation, participants) est {STAFF_READS_F}.",
                               "Connectez-vous pour accéder aux marches."),
    "walk.plan": _MANAGE_WALKS,
    "walk.edit": _MANAGE_WALKS,
    "walk.join": _rule({ANYONE}, "",
                       states={"closed": Forbidden("Cette marche est close : on ne peut plus la rejoindre.")}),
    "walk.see": _rule(_SEE_WALK, "Vous n'avez pas rejoint cette marche : ouvrez son lien ou son code QR.",
                      JOIN_FIRST, join=True),
    "walk.lead": _rule({COORDINATOR, AGENT}, "Seuls les agents et coordinateurs, qui mènent la marche, "
                       "indiquent la halte en cours.", "Connectez-vous pour indiquer la halte en cours."),
    # Constats
    "map.see": _rule(STAFF | {ANY_PARTICIPANT}, "La carte montre les marches que vous avez rejointes.",
                     "Connectez-vous, ou rejoignez une marche, pour voir ses constats."),
    "constats.all": _rule(STAFF, f"Voir les constats de toutes les marches est {STAFF_READS}.",
                          "Connectez-vous pour voir les constats de toutes les marches."),
    "constat.see": _rule(_SEE_WALK, "Ce constat appartient à une marche que vous n'avez pas rejointe.",
                         "Rejoignez la marche (lien ou code QR) pour voir ses constats.", join=True),
    "constat.create": _rule(_SEE_WALK, "Rejoignez cette marche (lien ou code QR) avant d'y envoyer un constat.",
                            "Rejoignez la marche (lien ou code QR) avant d'envoyer un constat.", join=True,
                            states=_CONSTAT_STATES),
    "constat.edit": _AUTHOR_ONLY,
    "constat.delete": _AUTHOR_ONLY,
    "constat.review": _rule({COORDINATOR, COMMITTEE}, "Seuls les coordinateurs et les membres du comité requalifient, "
                            "valident, rejettent un constat ou le marquent comme doublon.",
                            "Connectez-vous pour examiner les constats."),
    "open311.read": _rule(STAFF | {VALIDATED, WALK_KEY}, "Demande introuvable."),
    # Photos
    "photo.see": _rule(_SEE_WALK | {FOLLOWING},
                       "Vous n'avez pas rejoint la marche de cette photo : ouvrez son lien ou son code QR.",
                       "Rejoignez la marche pour voir ses photos.", join=True),
    "photo.original": _rule({COORDINATOR}, "Les photos originales (avec leur position GPS) sont réservées aux "
                            "coordinateurs.",
                            "Connectez-vous : les photos originales sont réservées aux coordinateurs."),
    # Privacy: staff see photos unblurred (they review what a photo shows); everyone else gets
    # the blurred image (walkapp.privacy.services.shared_image_path). Staff redact by hand.
    "photo.unblurred": _rule(STAFF, "Les photos non floutées sont réservées aux agents, coordinateurs et membres "
                             "du comité.", "Connectez-vous pour voir les photos non floutées."),
    "photo.redact": _rule(STAFF, "Le floutage à la main est réservé aux agents, coordinateurs et membres du comité.",
                          "Connectez-vous pour flouter une photo."),
    "geojson.authors": _rule(STAFF, "Les noms des participants ne sortent pas de leur marche (GeoJSON sans auteur)."),
    "participant.erase": _rule({COORDINATOR}, f"{COORDINATORS_ONLY} effacent un participant à sa demande.",
                               "Connectez-vous pour effacer un participant."),
    "photos.zip": _rule(STAFF, f"Le téléchargement des photos est {STAFF_READS}.",
                        "Connectez-vous pour télécharger les photos."),
    "photos.zip_originals": _rule({COORDINATOR}, "Les photos originales (avec leur position GPS) sont réservées aux "
                                  "coordinateurs : téléchargez la taille d'affichage.",
                                  "Connectez-vous pour télécharger les photos."),
    # The neighbourhood's perimeter (walkapp.outline): coordinators import it from the official
    # QPV contours; it is drawn on every map anyone reading a map sees ("map.see").
    "neighbourhood.outline": _rule({COORDINATOR}, f"{COORDINATORS_ONLY} importent le périmètre d'un quartier.",
                                   "Connectez-vous pour importer le périmètre du quartier."),
    # Open311 keys
    "apikeys.manage": _rule({COORDINATOR}, f"{COORDINATORS_ONLY} gèrent les clés d'API Open311.",
                            "Connectez-vous pour gérer les clés d'API."),
    # Staff accounts: one's own password; coordinators see the accounts and end their sessions
    "account.own": _rule(STAFF, "Seuls les agents, coordinateurs et membres du comité ont un compte ici.",
                         "Connectez-vous pour gérer votre compte."),
    "accounts.manage": _rule({COORDINATOR}, f"{COORDINATORS_ONLY} gèrent les comptes et leurs sessions.",
                             "Connectez-vous pour gérer les comptes."),
    # The follow-up table (Annexe 2)
    "actions.read": _rule(STAFF, f"Le suivi des actions est {STAFF_READS}.",
                          "Connectez-vous pour accéder au suivi des actions."),
    "actions.create": _COORDINATOR_ACTIONS,
    "actions.edit": _COORDINATOR_ACTIONS,
    "actions.link": _rule({COORDINATOR}, f"{COORDINATORS_ONLY} lient ou délient des constats et des actions.",
                          "Connectez-vous pour accéder au suivi des actions."),
    "actions.follow": _rule({COORDINATOR, PILOT_AGENT}, "Seuls les coordinateurs et les agents du partenaire pilote "
                            "peuvent mettre à jour le suivi de cette action.",
                            "Connectez-vous pour accéder au suivi des actions."),
    # The year's bilan (walkapp.bilan): staff read it; coordinators enter indicators, add the
    # neighbourhood's own, and write the committee's assessment.
    "bilan.read": _rule(STAFF, f"Le bilan de l'année est {STAFF_READS}.", "Connectez-vous pour accéder au bilan."),
    "bilan.edit": _rule({COORDINATOR}, f"{COORDINATORS_ONLY} saisissent les indicateurs et les appréciations du "
                        "bilan.", "Connectez-vous pour accéder au bilan."),
    # The TFPB programme (Annexe 1): a landlord's own agents and the coordinators write it (the
    # landlord reports its spending), every staff member reads it (the committee evaluates it).
    "tfpb.read": _rule(STAFF, f"Le programme TFPB est {STAFF_READS}.",
                       "Connectez-vous pour accéder aux programmes TFPB."),
    "tfpb.create": _rule({COORDINATOR, LANDLORD_AGENT}, "Seuls les coordinateurs et les agents d'un bailleur "
                         "créent le programme TFPB de ce bailleur.",
                         "Connectez-vous pour accéder aux programmes TFPB."),
    "tfpb.edit": _rule({COORDINATOR, LANDLORD_AGENT}, "Seuls les coordinateurs et les agents du bailleur de ce "
                       "programme peuvent le modifier.", "Connectez-vous pour accéder aux programmes TFPB."),
    # The walk's report (compte rendu, its PDF) and its public restitution (walkapp/reports)
    "walk.report": _rule(STAFF, f"Le compte rendu d'une marche est {STAFF_READS}.",
                         "Connectez-vous pour accéder au compte rendu de la marche."),
    "walk.report_names": _rule({COORDINATOR}, f"{COORDINATORS_ONLY} font figurer les noms des participants "
                               "dans le compte rendu.", "Connectez-vous pour accéder au compte rendu de la marche."),
    "walk.publish": _rule({COORDINATOR}, f"{COORDINATORS_ONLY} publient ou retirent la restitution d'une marche.",
                          "Connectez-vous pour publier la restitution."),
}
VERBS = tuple(RULES)

# What a pilot's agent may change of an action. The cause of a delay goes with the state: a pilot
# who reports an action must say why (the form refuses "Reportée" without it).
ACTION_FOLLOW_FIELDS = frozenset({"state", "cost", "evaluation", "comment", "delay_causes"})
# Everything a coordinator's form holds.
ACTION_ALL_FIELDS = frozenset({"axe", "neighbourhood", "problem", "finding", "actions", "response_gestion",
                               "response_usage", "response_conception", "pilot", "other_partners", "deadline",
                               "tfpb_heading"}) | ACTION_FOLLOW_FIELDS | {"tfpb_line"}


# ---------------------------------------------------------------- asking

def _field(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)


def _walk_of(obj: Any) -> Any:
    """The walk an object belongs to: a Walk itself, a constat's (joined or id), an id."""
    if isinstance(obj, (Walk, int)):
        return obj
    if isinstance(obj, Observation) or isinstance(obj, dict) and "walk" in obj:
        return _field(obj, "walk")
    return None


def _walk_status(obj: Any) -> str | None:
    walk = _walk_of(obj)
    return _field(walk, "status") if walk is not None and not isinstance(walk, int) else None


def _admits(actor: Actor, condition: str, obj: Any) -> bool:
    if condition in STAFF:
        return actor.role == condition
    if condition == ANYONE:
        return True
    if condition == ANY_PARTICIPANT:
        return bool(actor.participants)
    if condition == WALK_PARTICIPANT:
        walk_id = _id(_walk_of(obj))
        return walk_id is not None and actor.participant_in(walk_id) is not None
    if condition == WALK_KEY:
        walk_id = _id(_walk_of(obj))
        return walk_id is not None and actor.key_walk_id == walk_id
    if condition == AUTHOR:
        mine = actor.participant_in(_id(_walk_of(obj)) or 0)
        return mine is not None and _id(_field(obj, "participant")) == mine
    if condition == PILOT_AGENT:
        pilot = _field(obj, "pilot_id") if isinstance(obj, dict) and "pilot_id" in obj else _field(obj, "pilot")
        return actor.role == AGENT and actor.partner_id is not None and actor.partner_id == _id(pilot)
    if condition == VALIDATED:
        return _field(obj, "status") == "validated"
    if condition == LANDLORD_AGENT:  # obj: a programme, or {"landlord": id} for a new one
        return actor.role == AGENT and actor.partner_id is not None and actor.partner_id == _id(_field(obj, "landlord"))
    if condition == FOLLOWING:
        walk_id = _id(_walk_of(obj))
        return walk_id is not None and walk_id in actor.followed
    raise ValueError(condition)


def _admitted(actor: Actor, verb: str, obj: Any) -> bool:
    return any(_admits(actor, condition, obj) for condition in RULES[verb].who)


def refusal(actor: Actor, verb: str, obj: Any = None) -> AppError | None:
    """The error `require` raises, or None when allowed."""
    rule = RULES[verb]
    if not _admitted(actor, verb, obj):
        if actor.is_anonymous:
            # Joining is a resident's way in: no sign-in page for them (web.page_error).
            return (JoinRequired if rule.join else SignInRequired)(rule.stranger)
        return Forbidden(rule.refusal)
    refused = rule.states.get(_walk_status(obj) or "")
    return type(refused)(refused.detail, code=refused.code) if refused is not None else None


def can(actor: Actor, verb: str, obj: Any = None) -> bool:
    """May `actor` do `verb` (on `obj`: a Walk, a constat, an action row)?"""
    return refusal(actor, verb, obj) is None


def require(actor: Actor, verb: str, obj: Any = None) -> Actor:
    """Raises the French 401 / 403 / 409 that says the rule, unless `can`; returns the actor."""
    error = refusal(actor, verb, obj)
    if error is not None:
        raise error
    return actor


def allowed(verb: str) -> Callable[[ASGIConnection, BaseRouteHandler], None]:
    """A route guard: `guards=[allowed("actions.read")]`."""
    def guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
        require(actor_of(connection), verb)

    guard.__name__ = f"allowed_{verb.replace('.', '_')}"
    return guard


# ---------------------------------------------------------------- queries and templates

def visible_walk_ids(actor: Actor) -> set[int] | None:
    """The walks whose constats `actor` may see: None for every walk, else their ids."""
    if can(actor, "constats.all"):
        return None
    ids = set(actor.participants)
    if actor.key_walk_id is not None:
        ids.add(actor.key_walk_id)
    return ids


def open311_condition(actor: Actor) -> Any:
    """The Open311 "open311.read" rule as a query condition on Observation (None: everything)."""
    if can(actor, "constats.all"):
        return None
    condition = Observation.status == "validated"
    return condition | (Observation.walk == actor.key_walk_id) if actor.key_walk_id is not None else condition


@pass_context
def template_can(context: Any, verb: str, obj: Any = None) -> bool:
    """`can(verb, obj)` in templates, for the request's actor."""
    return can(actor_of(context.get("request")), verb, obj)
