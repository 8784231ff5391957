"""The TFPB programme (Annexe 1): one per landlord x neighbourhood x year, its amounts per line
and period, and the roll-up of actions' costs into "dépense valorisée".

Which actions count in a programme: those piloted by its landlord, in its neighbourhood and its
year (walkapp/actions/queries.py's ActionFilter: the same rule as the table's filters), with a TFPB
heading, and not abandoned (an abandoned action spent nothing the landlord can value). An action
with a line counts on that line; one with only a heading (recorded before lines existed) on its
heading's "ligne non précisée" row. Sub-totals and the total are sums of what is shown: lines →
headings → total, for every column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .. import clock, gusp
from ..actions.forms import format_euros, parse_euros
from ..actions.queries import ActionFilter, action_rows
from ..db import lock_names, write_transaction
from ..errors import Conflict, NotFound
from ..tables import Neighbourhood, Partner, StaffUser, TfpbAmount, TfpbProgramme
from ..validation import MAX_ID, clean_text, parse_id, parse_int

ZERO = Decimal("0.00")
# An amount of a programme above this is a typing slip (the Lillers programmes count in thousands;
# a large landlord's whole TFPB abatement is a few millions).
MAX_AMOUNT = Decimal("10000000.00")
MAX_DWELLINGS = 100_000
FIRST_YEAR, LAST_YEAR = 2000, 2100
MAX_PERIODS = 6
_PERIOD = re.compile(r"(\d{4})(?:-(\d{4}))?")
UNSPECIFIED = "0"  # the line index of a heading's "ligne non précisée" row (actions with a heading only)
NOT_COUNTED_STATES = ("abandonnee",)


def field_label(name: str) -> str:
    return gusp.label("tfpb_field", name)


@dataclass(frozen=True)
class Column:
    """A column of Annexe 1: a period ("2019-2020", or the programme's year) and a kind."""

    period: str
    kind: str
    label: str
    computed: bool = False

    @property
    def key(self) -> str:
        return f"{self.period}|{self.kind}"


def columns(programme: Any) -> list[Column]:
    """Earlier periods (engagé, non engagé, reporté each), then the year (prévisionnel, dépense
    valorisée, réaffecté), in Annexe 1's order."""
    result = [Column(period, t.code, t.short) for period in periods_of(programme) for t in gusp.TFPB_PERIOD_AMOUNTS]
    year = str(_get(programme, "year"))
    result += [Column(year, t.code, t.short, t.description == "computed") for t in gusp.TFPB_YEAR_AMOUNTS]
    return result


def _get(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name)


def periods_of(programme: Any) -> list[str]:
    return [p for p in str(_get(programme, "periods") or "").split() if p]


def input_name(line: str, column: Column) -> str:
    """The form field of one amount: "m-3.2-2019-2020-engage"."""
    return f"m-{line}-{column.period}-{column.kind}"


# ---------------------------------------------------------------- reading the forms

@dataclass
class ProgrammeInput:
    landlord: int | None = None
    neighbourhood: int | None = None
    year: int | None = None
    dwellings: int | None = None
    abatement: Decimal | None = None
    periods: str = ""
    comment: str = ""
    raw: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def _one(form: Any, name: str) -> str:
    value = form.get(name) if form is not None else None
    if isinstance(value, (list, tuple)):
        value = value[0] if value else ""
    return str(value or "")[:2000]


def parse_periods(errors: dict[str, str], text: str, year: int | None) -> str:
    """"2016-2018, 2019-2020 2021-2022" → "2016-2018 2019-2020 2021-2022": years or spans of years,
    each before the programme's year, in order, no overlap."""
    parts = [p for p in re.split(r"[\s,;]+", text.replace("–", "-")) if p]
    spans: list[tuple[int, int]] = []
    label = field_label("periods")
    for part in parts:
        match = _PERIOD.fullmatch(part)
        if not match:
            errors["periods"] = f"{label} : « {part[:20]} » n'est pas une période (ex. 2019-2020)."
            return text
        start, end = int(match.group(1)), int(match.group(2) or match.group(1))
        if not FIRST_YEAR <= start <= end <= LAST_YEAR:
            errors["periods"] = f"{label} : « {part} » n'est pas une période valide (ex. 2019-2020)."
            return text
        if year is not None and end >= year:
            errors["periods"] = f"{label} : « {part} » doit précéder l'année du programme ({year})."
            return text
        spans.append((start, end))
    spans.sort()
    if any(a[1] >= b[0] for a, b in zip(spans, spans[1:], strict=False)):
        errors["periods"] = f"{label} : les périodes se chevauchent."
        return text
    if len(spans) > MAX_PERIODS:
        errors["periods"] = f"{label} : {MAX_PERIODS} périodes au plus."
        return text
    return " ".join(f"{a}-{b}" if a != b else str(a) for a, b in spans)


def parse_programme(form: Any, landlords: set[int], neighbourhoods: set[int], *,
                    fixed_year: int | None = None) -> ProgrammeInput:
    """The programme's form. `fixed_year`: an existing programme's, whose landlord, neighbourhood
    and year do not change (they are what it is)."""
    fixed = fixed_year is not None
    data = ProgrammeInput(year=fixed_year)
    errors = data.errors
    names = ("dwellings", "abatement", "periods", "comment") + (() if fixed else ("landlord", "neighbourhood", "year"))
    data.raw = {name: _one(form, name) for name in names}
    if not fixed:
        data.landlord = parse_id(data.raw["landlord"].strip())
        if data.landlord not in landlords:
            errors["landlord"] = f"{field_label('landlord')} : choisissez un bailleur de la liste."
        data.neighbourhood = parse_id(data.raw["neighbourhood"].strip())
        if data.neighbourhood not in neighbourhoods:
            errors["neighbourhood"] = f"{field_label('neighbourhood')} : choisissez un quartier de la liste."
        data.year = parse_int(data.raw["year"].strip(), low=FIRST_YEAR, high=LAST_YEAR)
        if data.year is None:
            errors["year"] = f"{field_label('year')} : une année entre {FIRST_YEAR} et {LAST_YEAR}, ex. 2023."
    dwellings = data.raw["dwellings"].strip().replace(" ", "").replace("\u202f", "").replace("\u00a0", "")
    if dwellings:
        data.dwellings = parse_int(dwellings, low=0, high=MAX_DWELLINGS)
        if data.dwellings is None:
            errors["dwellings"] = (f"{field_label('dwellings')} : un nombre entier entre 0 et "
                                   f"{MAX_DWELLINGS:,}".replace(",", "\u202f") + ".")
    data.abatement = parse_euros(errors, "abatement", data.raw["abatement"], label=field_label("abatement"),
                                 maximum=MAX_AMOUNT)
    data.periods = parse_periods(errors, data.raw["periods"], data.year)
    data.comment = clean_text(data.raw["comment"], max_length=2000, multiline=True)[:2000]
    return data


def parse_amounts(form: Any, programme: Any, heading: str) -> tuple[dict[tuple[str, str, str], Decimal],
                                                                       dict[str, str], dict[str, str]]:
    """The amounts of one heading's lines, as typed in French or English notation (the rule of
    actions' costs). Returns (line, period, kind) → amount for the non-empty ones, the errors by
    field, and what was typed (to show the form again)."""
    values: dict[tuple[str, str, str], Decimal] = {}
    errors: dict[str, str] = {}
    raw: dict[str, str] = {}
    for line in gusp.tfpb_lines(heading):
        for column in columns(programme):
            if column.computed:
                continue
            name = input_name(line.code, column)
            raw[name] = _one(form, name)
            label = f"{line.code} {line.label[:40]} — {column.label} {column.period}"
            amount = parse_euros(errors, name, raw[name], label=label, maximum=MAX_AMOUNT)
            if amount is not None:
                values[(line.code, column.period, column.kind)] = amount
    return values, errors, raw


# ---------------------------------------------------------------- reading the data

async def landlords() -> list[Partner]:
    """The partners a programme can be for: the social landlords."""
    return await Partner.objects().where(Partner.kind == "bailleur").order_by(Partner.name)


async def neighbourhoods() -> list[Neighbourhood]:
    return await Neighbourhood.objects().order_by(Neighbourhood.name)


async def get_programme(programme_id: int | None) -> dict[str, Any]:
    """The programme with its landlord's and neighbourhood's names (a French 404 otherwise)."""
    if programme_id is None or not 0 < programme_id <= MAX_ID:
        raise NotFound("Ce programme TFPB n'existe pas.")
    row = await TfpbProgramme.select(
        *TfpbProgramme.all_columns(),
        TfpbProgramme.landlord.name.as_alias("landlord_name"),
        TfpbProgramme.neighbourhood.name.as_alias("neighbourhood_name"),
        TfpbProgramme.neighbourhood.qpv_code.as_alias("qpv_code"),
        TfpbProgramme.neighbourhood.town.as_alias("town"),
        TfpbProgramme.updated_by.display_name.as_alias("updated_by_name"),
    ).where(TfpbProgramme.id == programme_id).first()
    if row is None:
        raise NotFound("Ce programme TFPB n'existe pas.")
    row["abatement"] = _money(row["abatement"])
    return row


def _money(value: Any) -> Decimal | None:
    return Decimal(value).quantize(Decimal("0.01")) if value is not None else None


def title(programme: dict[str, Any]) -> str:
    return (f"Programme d'actions lié à l'abattement de TFPB {programme['year']} — {programme['landlord_name']} — "
            f"{programme['neighbourhood_name']} ({programme['qpv_code']}), {programme['town']}")


async def list_programmes(year: int | None = None) -> list[dict[str, Any]]:
    query = TfpbProgramme.select(
        TfpbProgramme.id, TfpbProgramme.year, TfpbProgramme.landlord, TfpbProgramme.dwellings,
        TfpbProgramme.abatement, TfpbProgramme.periods,
        TfpbProgramme.landlord.name.as_alias("landlord_name"),
        TfpbProgramme.neighbourhood.name.as_alias("neighbourhood_name"),
        TfpbProgramme.neighbourhood.qpv_code.as_alias("qpv_code"),
        TfpbProgramme.neighbourhood.town.as_alias("town"),
        TfpbProgramme.neighbourhood,
    ).order_by(TfpbProgramme.year, ascending=False).order_by(TfpbProgramme.id)
    if year is not None:
        query = query.where(TfpbProgramme.year == year)
    rows = await query
    for row in rows:
        row["abatement"] = _money(row["abatement"])
        sheet = await programme_sheet(row)
        year_text = str(row["year"])
        row["forecast"] = sheet.total.get(f"{year_text}|previsionnel", ZERO)
        row["valued"] = sheet.total.get(f"{year_text}|valorise", ZERO)
    return rows


@dataclass
class Sheet:
    """Annexe 1 computed: columns, headings with their lines and sub-totals, the total."""

    columns: list[Column]
    headings: list[dict[str, Any]]
    total: dict[str, Decimal]
    actions: list[dict[str, Any]]


async def counted_actions(programme: dict[str, Any]) -> list[dict[str, Any]]:
    """The actions whose costs are the programme's "dépense valorisée" (see the module's doc)."""
    chosen = ActionFilter(neighbourhood=_id(programme["neighbourhood"]), year=programme["year"])
    return [row for row in await action_rows(chosen)
            if row["pilot_id"] == _id(programme["landlord"]) and row["tfpb_heading"]
            and row["state"] not in NOT_COUNTED_STATES]


def _id(value: Any) -> int | None:
    return value.get("id") if isinstance(value, dict) else getattr(value, "id", value)


async def programme_sheet(programme: dict[str, Any]) -> Sheet:
    cols = columns(programme)
    year = str(programme["year"])
    valued_key = f"{year}|valorise"
    cells: dict[str, dict[str, Decimal]] = {}  # line code -> column key -> amount
    for row in await TfpbAmount.select(TfpbAmount.line, TfpbAmount.period, TfpbAmount.kind, TfpbAmount.amount).where(
            TfpbAmount.programme == programme["id"]):
        cells.setdefault(row["line"], {})[f"{row['period']}|{row['kind']}"] = _money(row["amount"]) or ZERO
    actions = await counted_actions(programme)
    counts: dict[str, int] = {}
    for action in actions:
        line = action["tfpb_line"] if gusp.is_code("tfpb_line", action["tfpb_line"]) else (
            f"{action['tfpb_heading']}.{UNSPECIFIED}")
        line_cells = cells.setdefault(line, {})
        line_cells[valued_key] = line_cells.get(valued_key, ZERO) + (action["cost"] or ZERO)
        counts[line] = counts.get(line, 0) + 1
    keys = [c.key for c in cols]
    headings = []
    total = dict.fromkeys(keys, ZERO)
    for heading in gusp.TFPB_HEADINGS:
        lines = [{"code": t.code, "label": t.label, "values": cells.get(t.code, {}), "actions": counts.get(t.code, 0)}
                 for t in gusp.tfpb_lines(heading.code)]
        unspecified = f"{heading.code}.{UNSPECIFIED}"
        if unspecified in cells:
            lines.append({"code": "", "label": gusp.UNSPECIFIED_LINE, "values": cells[unspecified],
                          "actions": counts.get(unspecified, 0), "unspecified": True})
        subtotal = {key: sum((line["values"].get(key, ZERO) for line in lines), ZERO) for key in keys}
        for key in keys:
            total[key] += subtotal[key]
        headings.append({"term": heading, "lines": lines, "subtotal": subtotal})
    return Sheet(cols, headings, total, actions)


# ---------------------------------------------------------------- writes

def _key(data: ProgrammeInput) -> str:
    return f"tfpb:{data.landlord}:{data.neighbourhood}:{data.year}"


async def create_programme(data: ProgrammeInput, user: StaffUser) -> int:
    """A new programme; 409 when the landlord already has one for this neighbourhood and year."""
    async with write_transaction():
        await lock_names([_key(data)])
        existing = await TfpbProgramme.select(TfpbProgramme.id).where(
            (TfpbProgramme.landlord == data.landlord) & (TfpbProgramme.neighbourhood == data.neighbourhood)
            & (TfpbProgramme.year == data.year)).first()
        if existing is not None:
            raise Conflict(f"Ce bailleur a déjà un programme TFPB {data.year} pour ce quartier "
                           f"(programme n° {existing['id']}) : modifiez celui-là. Rien n'a été enregistré.")
        programme = TfpbProgramme(landlord=data.landlord, neighbourhood=data.neighbourhood, year=data.year,
                                  dwellings=data.dwellings, abatement=data.abatement, periods=data.periods,
                                  comment=data.comment, created_by=user.id, updated_by=user.id)
        await programme.save()
    return programme.id


async def update_programme(programme: dict[str, Any], data: ProgrammeInput, user: StaffUser) -> None:
    """Its dwellings, abatement, periods, comment. Amounts of a period taken out are dropped with it."""
    async with write_transaction():
        await TfpbProgramme.update({
            TfpbProgramme.dwellings: data.dwellings, TfpbProgramme.abatement: data.abatement,
            TfpbProgramme.periods: data.periods, TfpbProgramme.comment: data.comment,
            TfpbProgramme.updated_by: user.id, TfpbProgramme.updated_at: clock.now(),
        }).where(TfpbProgramme.id == programme["id"])
        kept = data.periods.split() + [str(programme["year"])]
        await TfpbAmount.delete().where((TfpbAmount.programme == programme["id"]) & TfpbAmount.period.not_in(kept))


async def save_amounts(programme: dict[str, Any], heading: str, values: dict[tuple[str, str, str], Decimal],
                       user: StaffUser) -> None:
    """Replaces the typed amounts of one heading's lines, all or nothing."""
    lines = [t.code for t in gusp.tfpb_lines(heading)]
    async with write_transaction():
        await TfpbAmount.delete().where((TfpbAmount.programme == programme["id"]) & TfpbAmount.line.is_in(lines)
                                        & (TfpbAmount.kind != "valorise"))
        for (line, period, kind), amount in sorted(values.items()):
            await TfpbAmount(programme=programme["id"], line=line, period=period, kind=kind, amount=amount).save()
        await TfpbProgramme.update({TfpbProgramme.updated_by: user.id, TfpbProgramme.updated_at: clock.now()}).where(
            TfpbProgramme.id == programme["id"])


def amount_text(amount: Decimal | None) -> str:
    """An amount as the form shows it again: "1 234,50" (no unit)."""
    return format_euros(amount, unit=False).replace("\u202f", " ") if amount is not None else ""
