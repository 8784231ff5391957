"""`walkapp demo`: the Lillers case of the 2023 GUSP convention (shared/domain/GUSP.md).

Idempotent: every row is found by its natural key before it is made (QPV code, partner name,
e-mail, walk title, client_uuid), so running it twice duplicates nothing. The photos are
placeholders drawn here, sent through the same photo pipeline as a phone's.
"""

from __future__ import annotations

import datetime as dt
import io
import uuid

from PIL import Image, ImageDraw, ImageFont

from . import clock, gusp
from .accounts.services import create_user
from .observations.schemas import ObservationInput
from .observations.services import record
from .reports.services import publish as publish_restitution
from .security import new_token
from .storage import MediaStore
from .tables import Action, Neighbourhood, Observation, Participant, Partner, StaffUser, Stop, Street, Walk
from .tables import TfpbAmount, TfpbProgramme
from .db import write_transaction

QPV_CODE = "QP062057"
CENTRE = (50.5636, 2.4826)
COORDINATOR_EMAIL = "coordination@lillers.example"
# A known password, printed at the end: this is demo data. Load the demo only on a demo site.
DEMO_PASSWORD = "marche-lillers-2023"
PAST_WALK_TITLE = "Diagnostic en marchant de la Ville Centre (automne)"
TODAY_WALK_TITLE = "Marche du jour : Ville Centre"
FOLLOW_UP_TITLE = "Marche de suivi de la Ville Centre (hiver)"
PAST_WALK_DAYS_AGO = 42
FOLLOW_UP_DAYS_AGO = 7  # between the past walk and today: the re-visits of its constats
# Namespace of the demo constats' client_uuid (idempotency keys, not secrets: a replay needs a
# participant's session, whose token is random).
_UUIDS = uuid.UUID("6f1c1c64-3b8e-4a3e-9a0e-7d4c2b1a0f00")

PARTNERS = (
    ("Ville de Lillers", "ville"),
    ("SIA Habitat", "bailleur"),
    ("Pas-de-Calais Habitat", "bailleur"),
    ("Société Immobilière du Grand Hainaut", "bailleur"),
    ("Maisons et Cités", "bailleur"),
    ("CABBALR", "intercommunalite"),
    ("État", "etat"),
    ("Association SOLILLERS", "association"),
    ("Police rurale", "service"),
    ("Services techniques", "service"),
    ("Espaces verts", "service"),
)

STREETS = (
    ("Rue d'Aire", ""), ("Rue Pasteur", ""), ("Rue de Verdun", "jusqu'au n° 38"), ("Place des FFI", ""),
    ("Rue du Dr M. Laversin", ""), ("Rue de Saint-Venant", "jusqu'au n° 79"),
    ("Rue du Maréchal de Lattre de Tassigny", ""), ("Rue Mozart", ""), ("Rue Philiomel", "jusqu'au n° 42"),
    ("Rue de la Gare", ""), ("Rue Sébastopol", ""), ("Boulevard de Paris", "jusqu'au n° 25"),
    ("Rue de Relingue", ""), ("Rue de Pernes", ""), ("Rue de la Plaine", "jusqu'au n° 45"), ("Rue des Chats", ""),
    ("Rue Carnot", ""), ("Rue des Promenades", "jusqu'au n° 23"), ("Rue du Faubourg d'Aval", ""), ("Rue Neuve", ""),
    ("Rue Angela Davis", ""), ("Place de l'Église", ""), ("Rue Fanien", ""), ("Impasse Duwet", ""),
    ("Place Jean Jaurès", ""), ("Rue de l'Église", ""), ("Rue A. Rosenberg", ""), ("Place Roger Salengro", ""),
    ("Rue du Commerce", ""), ("Résidence Sycomores", ""), ("Rue d'Ham", ""), ("Impasse Jaurès", ""),
    ("Résidence Allende", ""), ("Rue de la République", ""), ("Place Ansart", ""), ("Cité Bellevue", ""),
    ("Rue des Remparts", ""), ("Rue d'Hurionville", ""), ("Rue du Chapitre", ""), ("Rue du Maréchal Juin", ""),
    ("Rue de la Poste", ""), ("Rue du Maréchal Leclerc", ""), ("Rue de la Dondaine", ""),
)

# The route: approximate points of the landmarks the convention names.
STOPS = (
    ("Hôtel de Ville, place Roger Salengro", 50.56360, 2.48260),
    ("Place de l'Église", 50.56295, 2.48400),
    ("Collège Léo-Lagrange", 50.56590, 2.47920),
    ("Résidence Sycomores", 50.56480, 2.48650),
    ("Gare", 50.55900, 2.48030),
)

STAFF = (
    (COORDINATOR_EMAIL, "Claire Devaux", "coordinator", "Ville de Lillers"),
    ("agent@pdc-habitat.example", "Karim Benali", "agent", "Pas-de-Calais Habitat"),
    ("comite@lillers.example", "Martine Leroy", "committee", "Ville de Lillers"),
)

RESIDENTS = ("Josiane", "Mehdi", "Élodie (conseil citoyen)", "Gérard")

# Constats of the past walk: (issue, angle, polarity, street, stop index, comment).
CONSTATS = (
    ("ambiance", "gestion", "negative", "Place Roger Salengro", 0, "Éclairage en panne depuis trois semaines sur le parvis de la mairie."),
    ("ambiance", "conception", "negative", "Rue des Chats", 1, "Recoin derrière l'abri vélo, regroupements le soir, pas de visibilité depuis la rue."),
    ("ambiance", "usages", "negative", "Place de l'Église", 1, "Rodéos de scooters signalés par les riverains en fin de journée."),
    ("ambiance", "cooperation", "positive", "Place Roger Salengro", 0, "Les médiateurs passent chaque soir : les habitants les connaissent et les appellent."),
    ("proprete", "gestion", "negative", "Rue Carnot", 0, "Corbeilles pleines le lundi matin, le passage du week-end ne suffit pas."),
    ("proprete", "conception", "negative", "Résidence Sycomores", 3, "Pelouse en pente entre deux bâtiments : la tondeuse ne passe pas, déchets accumulés."),
    ("proprete", "usages", "negative", "Rue de la Gare", 4, "Déjections canines nombreuses le long du trottoir."),
    ("proprete", "cooperation", "positive", "Place de l'Église", 1, "Le nettoyage partagé ville / bailleur du parvis fonctionne bien depuis la convention de gestion."),
    ("mobilites", "gestion", "negative", "Boulevard de Paris", 4, "Marquage du passage piéton effacé devant l'arrêt de bus."),
    ("mobilites", "conception", "negative", "Rue de Saint-Venant", 2, "Trottoir trop étroit pour une poussette près du collège."),
    ("mobilites", "usages", "negative", "Rue Pasteur", 2, "Stationnement sauvage sur le trottoir aux heures de sortie du collège."),
    ("mobilites", "cooperation", "positive", "Rue de la Gare", 4, "Nouvel abri vélo sécurisé à la gare, bien utilisé."),
    ("dechets", "gestion", "negative", "Résidence Allende", 3, "Bacs de tri débordants, collecte jaune trop espacée pour 40 logements."),
    ("dechets", "conception", "negative", "Cité Bellevue", 3, "Local poubelles sans porte, accès libre : feux de poubelles l'an dernier."),
    ("dechets", "usages", "negative", "Impasse Duwet", 3, "Dépôt sauvage d'encombrants (matelas, meubles) au fond de l'impasse."),
    ("dechets", "cooperation", "negative", "Rue d'Ham", 3, "Les habitants ne connaissent pas le numéro pour les rendez-vous encombrants."),
    ("chantiers", "gestion", "negative", "Rue de Verdun", 1, "Palissade de chantier tombée, trou non protégé."),
    ("chantiers", "conception", "negative", "Rue du Commerce", 0, "Cheminement piéton dévié sur la chaussée sans protection pendant les travaux."),
    ("chantiers", "usages", "negative", "Rue Neuve", 1, "Matériaux de chantier entreposés devant l'entrée de l'école le matin."),
    ("chantiers", "cooperation", "positive", "Rue de la République", 0, "Réunion d'information des riverains avant le chantier : bien appréciée."),
    ("usagers", "gestion", "negative", "Résidence Sycomores", 3, "Loge du gardien fermée l'après-midi, les locataires ne savent pas qui appeler."),
    ("usagers", "conception", "negative", "Place Ansart", 3, "Panneau d'affichage du bailleur illisible, vitre cassée."),
    ("usagers", "usages", "positive", "Résidence Allende", 3, "Jardin partagé entretenu par les habitants, beaucoup d'enfants."),
    ("usagers", "cooperation", "negative", "Rue des Remparts", 1, "Les signalements faits au bailleur restent sans réponse : pas de retour aux habitants."),
    ("services", "gestion", "negative", "Rue de la Poste", 0, "Bureau de poste : horaires réduits, file d'attente sur le trottoir."),
    ("services", "conception", "negative", "Place Jean Jaurès", 1, "Pas de banc ni d'ombre près du centre social pour les personnes âgées."),
    ("services", "usages", "positive", "Rue Fanien", 2, "La médiathèque est très fréquentée par les collégiens après les cours."),
    ("services", "cooperation", "positive", "Place Roger Salengro", 0, "Permanence France services à la mairie bien connue des habitants."),
)


def placeholder_photo(issue: str, number: int) -> bytes:
    """A 1200x900 JPEG in the issue's colour, saying what it is: a demo, not a real place."""
    colour = gusp.term("issue", issue).colour
    image = Image.new("RGB", (1200, 900), colour)
    draw = ImageDraw.Draw(image)
    for step in range(0, 900, 60):  # stripes, so that thumbnails differ from a flat colour
        draw.rectangle((0, step, 1200, step + 20), fill=_lighter(colour))
    font, small = _font(64), _font(40)
    draw.rectangle((60, 300, 1140, 600), fill="white")
    draw.text((100, 340), gusp.term("issue", issue).short, fill="black", font=font)
    draw.text((100, 450), f"Photo de démonstration n° {number}", fill="black", font=small)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


def _font(size: int):
    """DejaVu Sans where installed (it has the accents); Pillow's own font otherwise."""
    try:
        return ImageFont.truetype("DejaVuSans.ttf", size)
    except OSError:
        return ImageFont.load_default(size=size)


def _lighter(hex_colour: str) -> tuple[int, int, int]:
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return tuple(min(255, c + 40) for c in (r, g, b))  # type: ignore[return-value]


async def _get_or_create(table, where, **values):
    row = await table.objects().where(where).first()
    if row is None:
        row = table(**values)
        await row.save()
    return row


async def _walk(neighbourhood: Neighbourhood, title: str, date: dt.date, status: str,
                creator: StaffUser) -> Walk:
    walk = await Walk.objects().where((Walk.title == title) & (Walk.neighbourhood == neighbourhood.id)).first()
    if walk is None:
        walk = Walk(neighbourhood=neighbourhood.id, title=title, date=date, status=status,
                    join_secret=new_token(18), created_by=creator.id)
        await walk.save()
        for position, (name, lat, lon) in enumerate(STOPS, start=1):
            await Stop(walk=walk.id, position=position, name=name, lat=lat, lon=lon).save()
    return walk


async def load_demo(store: MediaStore, today: dt.date | None = None) -> dict[str, object]:
    today = today or clock.today()
    neighbourhood = await _get_or_create(
        Neighbourhood, Neighbourhood.qpv_code == QPV_CODE, qpv_code=QPV_CODE, name="Ville Centre",
        town="Lillers", centre_lat=CENTRE[0], centre_lon=CENTRE[1])
    for position, (name, extent) in enumerate(STREETS):
        await _get_or_create(Street, (Street.neighbourhood == neighbourhood.id) & (Street.name == name),
                             neighbourhood=neighbourhood.id, name=name, extent=extent, position=position)
    for name, kind in PARTNERS:
        await _get_or_create(Partner, Partner.name == name, name=name, kind=kind)
    users = {}
    for email, display_name, role, partner in STAFF:
        user = await StaffUser.objects().where(StaffUser.email == email).first()
        users[role] = user or await create_user(email, DEMO_PASSWORD, display_name, role, partner)
    coordinator = users["coordinator"]

    past = await _walk(neighbourhood, PAST_WALK_TITLE, today - dt.timedelta(days=PAST_WALK_DAYS_AGO), "closed",
                       coordinator)
    stops = await Stop.objects().where(Stop.walk == past.id).order_by(Stop.position)
    people = []
    for index, name in enumerate(("Claire Devaux", "Karim Benali", *RESIDENTS)):
        # Found again by walk and name; the token (a session credential) is random, made once.
        people.append(await _get_or_create(
            Participant, (Participant.walk == past.id) & (Participant.display_name == name),
            walk=past.id, display_name=name, token=new_token(),
            user=coordinator.id if index == 0 else (users["agent"].id if index == 1 else None)))

    start = dt.datetime.combine(past.date, dt.time(14, 0), tzinfo=clock.zone())  # 14:00 on site
    for number, (issue, angle, polarity, street, stop_index, comment) in enumerate(CONSTATS, start=1):
        stop = stops[stop_index]
        # Spread the points around their halte (~±60 m) so the map shows distinct markers.
        offset_lat = ((number * 37) % 11 - 5) * 0.00011
        offset_lon = ((number * 53) % 13 - 6) * 0.00014
        await record(store, past, people[number % len(people)], ObservationInput(
            client_uuid=str(uuid.uuid5(_UUIDS, f"constat-{number}")),
            issue=issue, angle=angle, polarity=polarity, description=comment,
            lat=round(stop.lat + offset_lat, 6), lon=round(stop.lon + offset_lon, 6), accuracy_m=8.0,
            location_source="device", street=street, stop_id=stop.id,
            observed_at=start + dt.timedelta(minutes=4 * number),
            status="validated" if number % 5 else "new",
            photos=[(placeholder_photo(issue, number), f"demo-{number}.jpg")],
        ))

    by_number = await _past_constats(past)
    await _actions(neighbourhood, coordinator, by_number, today)
    follow_up = await _follow_up(store, past, users, by_number, today)
    await _confirm_done_evaluation(coordinator)
    await publish_demo_restitution(past, coordinator)

    current = await _walk(neighbourhood, TODAY_WALK_TITLE, today, "open", coordinator)
    await _open_today(current, today)
    await load_tfpb_demo(neighbourhood, coordinator)
    return {"coordinator": coordinator, "open_walk": current, "past_walk": past, "follow_up_walk": follow_up}


# ---------------------------------------------------------------- the evaluation (issue 12)

# Actions decided after the past walk, in several states: (constat numbers, axe, problem, actions,
# pilot, state, cost, deadline in days from today, delay causes, responses).
ACTIONS = (
    ((1,), "ambiance", "Éclairage en panne sur le parvis de la mairie",
     "Remplacer les trois luminaires du parvis et contrôler l'éclairage chaque mois.",
     "Services techniques", "realisee", "1850.00", -20, "", ("gestion",)),
    ((5,), "proprete", "Corbeilles pleines le lundi matin",
     "Ajouter un passage de vidage des corbeilles le dimanche soir, place et rue Carnot.",
     "Ville de Lillers", "en_cours", "3200.00", 60, "", ("gestion",)),
    ((13,), "dechets", "Bacs de tri débordants à la Résidence Allende",
     "Ajouter deux bacs jaunes et demander une collecte de plus par semaine à la CABBALR.",
     "SIA Habitat", "en_cours", "4500.00", -10, "", ("gestion",)),  # late: deadline past, not done
    ((15,), "dechets", "Dépôts sauvages d'encombrants Impasse Duwet",
     "Enlèvement, panneau d'information sur les rendez-vous encombrants, passage de la police rurale.",
     "CABBALR", "a_engager", None, 30, "", ("gestion", "usage")),
    ((9,), "mobilites", "Passage piéton effacé devant l'arrêt de bus",
     "Refaire le marquage au sol du passage piéton, boulevard de Paris.",
     "Services techniques", "reportee", "950.00", 45, "Travaux de voirie décalés au printemps (météo).",
     ("conception",)),
    ((21,), "usagers", "Loge du gardien fermée l'après-midi à la Résidence Sycomores",
     "Ouvrir la loge deux après-midi par semaine et afficher les horaires et le numéro d'astreinte.",
     "Pas-de-Calais Habitat", "en_cours", None, 20, "", ("gestion",)),
)

# Re-visits of the follow-up walk, every outcome: (constat number, outcome, comment).
REVISITS = (
    (1, "resolu", "Luminaires remplacés : le parvis est bien éclairé toute la soirée."),
    (17, "resolu", "Palissade remise en place, le trou est comblé."),
    (14, "resolu", "Une porte fermant à clé a été posée sur le local poubelles."),
    (5, "ameliore", "Le passage du dimanche soir aide : moins de débordements, encore un peu après le marché."),
    (21, "ameliore", "La loge ouvre deux après-midi par semaine, les horaires sont affichés."),
    (13, "inchange", "Toujours des bacs de tri qui débordent le week-end."),
    (2, "inchange", "Le recoin derrière l'abri vélo est toujours sans éclairage."),
    (15, "degrade", "Le dépôt s'est agrandi : canapé et gravats en plus du matelas."),
    (7, "degrade", "Encore plus de déjections le long du trottoir, pas de distributeur de sacs."),
)


async def _past_constats(past: Walk) -> dict[int, Observation]:
    """The past walk's constats by their number in CONSTATS (found by their client_uuid)."""
    found = {}
    for number in range(1, len(CONSTATS) + 1):
        found[number] = await Observation.objects().where(
            (Observation.walk == past.id)
            & (Observation.client_uuid == str(uuid.uuid5(_UUIDS, f"constat-{number}")))).first()
    return found


async def _actions(neighbourhood: Neighbourhood, coordinator: StaffUser, by_number: dict[int, Observation],
                   today: dt.date) -> None:
    from decimal import Decimal

    from .actions.forms import ActionInput
    from .actions.services import create_action

    partners = {row["name"]: row["id"] for row in await Partner.select(Partner.id, Partner.name)}
    for numbers, axe, problem, actions, pilot, state, cost, days, causes, responses in ACTIONS:
        if await Action.exists().where(Action.problem == problem):
            continue
        constats = [by_number[n] for n in numbers]
        await create_action(ActionInput(
            axe=axe, neighbourhood=neighbourhood.id, problem=problem, actions=actions,
            finding="\n".join(f"Constat n° {c.id} ({c.street}) : {c.description}" for c in constats),
            response_gestion="gestion" in responses, response_usage="usage" in responses,
            response_conception="conception" in responses, pilot=partners[pilot],
            other_partners=[partners["Ville de Lillers"]] if pilot != "Ville de Lillers" else [],
            deadline=today + dt.timedelta(days=days), state=state, cost=Decimal(cost) if cost else None,
            delay_causes=causes, constats=[c.id for c in constats]), coordinator)


def revisit_photo(issue: str, number: int, outcome: str) -> bytes:
    """The "après" placeholder: the issue's photo with the outcome's band across it."""
    image = Image.open(io.BytesIO(placeholder_photo(issue, number)))
    term = gusp.term("outcome", outcome)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 640, 1200, 800), fill=term.colour)
    draw.text((100, 670), f"Après : {term.label}", fill=term.on_colour, font=_font(72))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


async def _follow_up(store: MediaStore, past: Walk, users: dict[str, StaffUser], by_number: dict[int, Observation],
                     today: dt.date) -> Walk:
    """The follow-up walk of the past one (made "from" it: its route copied), closed, with
    re-visits of every outcome, each with its photo, through the constats' one write path."""
    from .walks.services import create_walk, follow_up_input, walk_stops

    walk = await Walk.objects().where((Walk.title == FOLLOW_UP_TITLE) & (Walk.neighbourhood == past.neighbourhood)).first()
    if walk is None:
        data = await follow_up_input(past)
        data.title, data.date = FOLLOW_UP_TITLE, today - dt.timedelta(days=FOLLOW_UP_DAYS_AGO)
        walk = await create_walk(data, users["coordinator"])
        await Walk.update({Walk.status: "closed"}).where(Walk.id == walk.id)
        walk = await Walk.objects().where(Walk.id == walk.id).first()
    stops = await walk_stops(walk.id)
    people = []
    for name, user in (("Claire Devaux", users["coordinator"]), ("Josiane", None), ("Mehdi", None)):
        people.append(await _get_or_create(
            Participant, (Participant.walk == walk.id) & (Participant.display_name == name),
            walk=walk.id, display_name=name, token=new_token(), user=user.id if user else None))
    start = dt.datetime.combine(walk.date, dt.time(10, 0), tzinfo=clock.zone())
    for index, (number, outcome, comment) in enumerate(REVISITS, start=1):
        earlier = by_number[number]
        stop_index = CONSTATS[number - 1][4]
        await record(store, walk, people[index % len(people)], ObservationInput(
            client_uuid=str(uuid.uuid5(_UUIDS, f"revisit-{number}")),
            issue=earlier.issue, angle=earlier.angle, polarity=earlier.polarity, description=comment,
            lat=round(earlier.lat + 0.00003, 6), lon=round(earlier.lon + 0.00003, 6), accuracy_m=6.0,
            location_source="device", street=earlier.street, stop_id=stops[stop_index].id,
            observed_at=start + dt.timedelta(minutes=5 * index), status="validated",
            revisit_of=earlier.id, outcome=outcome,
            photos=[(revisit_photo(earlier.issue, number, outcome), f"demo-suivi-{number}.jpg")],
        ))
    return walk


async def _confirm_done_evaluation(coordinator: StaffUser) -> None:
    """The done action's evaluation, as a coordinator confirmed it from the re-visits' proposal
    (the others are left for the demo's visitor to confirm on the action's page)."""
    from .actions.services import update_action
    from .revisits.services import evaluation_proposal

    done = await Action.objects().where(Action.problem == ACTIONS[0][2]).first()
    if done is None or done.evaluation:
        return
    proposal = await evaluation_proposal(done.id)
    if proposal:
        await update_action(done, coordinator, {"evaluation": proposal})


async def publish_demo_restitution(walk: Walk, coordinator: StaffUser) -> None:
    """The past walk's restitution, published so that `make run` shows its public page and QR code
    (an already published one keeps its link: reports.services.publish is idempotent)."""
    await publish_restitution(await Walk.objects().where(Walk.id == walk.id).first())


async def _open_today(walk: Walk, today: dt.date) -> None:
    """The demo's walk of the day is open today, whatever day the demo was loaded."""
    if walk.date != today or walk.status != "open":
        await Walk.update({Walk.date: today, Walk.status: "open"}).where(Walk.id == walk.id)
        walk.date, walk.status = today, "open"


async def loaded_demo(today: dt.date | None = None) -> dict[str, object] | None:
    """The demo's coordinator and walk of the day when the demo is in the database (its walk of
    the day moved to today), else None: what `walkapp demo --if-empty` prints on every start."""
    coordinator = await StaffUser.objects().where(StaffUser.email == COORDINATOR_EMAIL).first()
    current = await Walk.objects().where(
        (Walk.title == TODAY_WALK_TITLE) & (Walk.neighbourhood.qpv_code == QPV_CODE)).first()
    if coordinator is None or current is None:
        return None
    await _open_today(current, today or clock.today())
    return {"coordinator": coordinator, "open_walk": current}


# ---------------------------------------------------------------- the TFPB programme (Annexe 1)

# Pas-de-Calais Habitat's 2023 programme for Ville Centre, from the seed's Annexe 1 (an OCR of the
# signed convention). Loaded: the figures whose column the printed totals confirm (each column's
# lines add up to the total row: 2019-2020 engaged 11 535 €, 2021-2022 engaged 74 659 €, 2023
# forecast 72 000 €). Left out: two columns of line figures whose sums match no printed total
# (38 495 € and 20 200 €: their periods cannot be told from the OCR), and the period totals of the
# abatement and of what was not engaged (given for the programme, not per line).
TFPB_DEMO_LANDLORD = "Pas-de-Calais Habitat"
TFPB_DEMO_YEAR = 2023
TFPB_DEMO_DWELLINGS = 42
TFPB_DEMO_ABATEMENT = "8535.00"
TFPB_DEMO_PERIODS = "2016-2018 2019-2020 2021-2022"
TFPB_DEMO_AMOUNTS = (  # (line, period, kind, amount)
    ("3.4", "2019-2020", "engage", "1965.00"),
    ("3.4", "2021-2022", "engage", "14407.00"),
    ("4.1", "2019-2020", "engage", "65.00"),
    ("6.1", "2019-2020", "engage", "1000.00"),
    ("6.2", "2019-2020", "engage", "7755.00"),
    ("7.1", "2019-2020", "engage", "250.00"),
    ("7.2", "2019-2020", "engage", "500.00"),
    ("8.3", "2021-2022", "engage", "60252.00"),
    ("8.3", "2023", "previsionnel", "72000.00"),
)


async def load_tfpb_demo(neighbourhood: Neighbourhood, coordinator: StaffUser) -> TfpbProgramme:
    """The demo's TFPB programme (idempotent: found again by landlord, neighbourhood and year; its
    seed amounts are written once, never over what someone typed since)."""
    from decimal import Decimal

    landlord = await Partner.objects().where(Partner.name == TFPB_DEMO_LANDLORD).first()
    programme = await TfpbProgramme.objects().where(
        (TfpbProgramme.landlord == landlord.id) & (TfpbProgramme.neighbourhood == neighbourhood.id)
        & (TfpbProgramme.year == TFPB_DEMO_YEAR)).first()
    if programme is not None:
        return programme
    async with write_transaction():
        programme = TfpbProgramme(landlord=landlord.id, neighbourhood=neighbourhood.id, year=TFPB_DEMO_YEAR,
                                  dwellings=TFPB_DEMO_DWELLINGS, abatement=Decimal(TFPB_DEMO_ABATEMENT),
                                  periods=TFPB_DEMO_PERIODS, created_by=coordinator.id, updated_by=coordinator.id,
                                  comment="Repris de l'Annexe 1 de la convention 2023 (figures lisibles de l'OCR).")
        await programme.save()
        for line, period, kind, amount in TFPB_DEMO_AMOUNTS:
            await TfpbAmount(programme=programme.id, line=line, period=period, kind=kind,
                             amount=Decimal(amount)).save()
    return programme
