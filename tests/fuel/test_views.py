"""The operations pages as the office administrator and reviewers use them: the overview, tanks,
the daily log and its sign-off and corrections, generators and meters, per person-day and the
UN petroleum report. What each page says, the status it answers, and whether anything changed."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from sqlalchemy import func, select

from office.auth.permissions import Role
from office.db import utcnow
from office.fuel import report, services
from office.fuel.models import (
    DailyLog,
    DailyLogEvent,
    DipReading,
    FuelUse,
    Generator,
    GeneratorReading,
    LogStatus,
    Meter,
    MeterReading,
    MeterSource,
)
from office.i18n import SEOUL, office_date
from office.periods.models import SignedOffMonth
from office.staffing.models import Category, Side
from office.stock.models import LotDraw, MovementKind, StockLot, StockMovement, Store
from office.waivers import services as waivers
from office.waivers.models import Classification, DrawdownEntry, Source, WaiverStatus
from tests.conftest import log_in
from tests.factories import NOW, make_person, make_resource, make_user, make_waiver, stay

DAY = date(2018, 10, 10)
TANKER = "S-Oil / Hyundai Asan tanker"


def OCT(day: int) -> date:
    return date(2018, 10, day)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    """The instant of `hour`:`minute` in Seoul on `day`, in UTC."""
    return datetime.combine(day, time(hour, minute), tzinfo=SEOUL).astimezone(UTC)


def today() -> date:
    return office_date(utcnow())


def day_url(day: date = DAY, what: str = "") -> str:
    return f"/operations/days/{day.isoformat()}{what}"


# --- reading pages ------------------------------------------------------------------------


def squash(text: str) -> str:
    return " ".join(text.split())


INLINE = frozenset({"a", "abbr", "b", "code", "em", "i", "strong", "small", "span", "label"})


@dataclass
class Badge:
    text: str
    classes: frozenset[str]
    title: str


@dataclass
class Cell:
    text: str
    badges: list[Badge]


@dataclass
class Form:
    action: str
    method: str
    fields: list[dict[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # the form's own errors, at its top

    def names(self) -> set[str]:
        return {f.get("name", "") for f in self.fields if f.get("name")}


class Page(HTMLParser):
    """What a test reads of an HTML page: text, table rows under each heading (with the badges
    in each cell), forms, inline errors, flashes, links, input values and select options."""

    def __init__(self, markup: str) -> None:
        super().__init__()
        self.markup = markup
        self.parts: list[str] = []
        self.rows: list[list[Cell]] = []  # body rows only (not those in a thead)
        self.sections: list[str] = []  # for each row, the last heading before it
        self.headings: list[str] = []
        self.values: dict[str, str] = {}  # input or textarea id -> value
        self.checked: dict[str, bool] = {}  # checkbox id -> checked
        self.options: dict[str, list[tuple[str, str, bool]]] = {}  # select id -> options
        self.errors: dict[str, list[str]] = {}  # field id -> the errors beside it
        self.flashes: list[tuple[str, str]] = []  # (category, text)
        self.links: list[tuple[str, str]] = []  # (href, text)
        self.forms: list[Form] = []
        self.charts: list[str] = []  # the aria-label of each SVG chart
        self.bars = 0  # the bars drawn in the charts
        self._open: list[tuple[str, str, dict, list[str]]] = []
        self._section = ""
        self._in_head = False
        self._in_form = False
        self._select: str | None = None
        self.feed(markup)
        self.close()
        self.text = squash("".join(self.parts))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in INLINE:
            self.parts.append(" ")
        attributes = {k: v or "" for k, v in attrs}
        ident = attributes.get("id", "")
        classes = set(attributes.get("class", "").split())
        if tag == "thead":
            self._in_head = True
        elif tag == "tr" and not self._in_head:
            self.rows.append([])
            self.sections.append(self._section)
        elif tag in ("td", "th") and not self._in_head:
            self._open.append((tag, "cell", {"badges": []}, []))
        elif tag == "span" and "badge" in classes:
            self._open.append((tag, "badge", attributes, []))
        elif tag in ("h1", "h2", "h3"):
            self._open.append((tag, "heading", attributes, []))
        elif tag == "small" and ident.endswith("-error"):
            self._open.append((tag, "error", attributes, []))
        elif tag == "p" and "form-error" in classes:
            self._open.append((tag, "form-error", attributes, []))
        elif tag == "p" and "flash" in classes:
            self._open.append((tag, "flash", attributes, []))
        elif tag == "a":
            self._open.append((tag, "link", attributes, []))
        elif tag == "textarea":
            self._open.append((tag, "textarea", attributes, []))
        elif tag == "form":
            self._in_form = True
            self.forms.append(Form(attributes.get("action", ""), attributes.get("method", "get")))
        elif tag == "svg" and attributes.get("aria-hidden") != "true":  # not an icon
            self.charts.append(attributes.get("aria-label", ""))
        elif tag == "rect":
            self.bars += 1
        elif tag == "select":
            self._select = ident
            self.options[ident] = []
        elif tag == "option" and self._select is not None:
            self._open.append((tag, "option", attributes, []))
        if tag in ("input", "select", "textarea", "button") and self._in_form:
            self.forms[-1].fields.append({"tag": tag, **attributes})
        if tag == "input" and ident:
            self.values[ident] = attributes.get("value", "")
            if attributes.get("type") == "checkbox":
                self.checked[ident] = "checked" in attributes

    def handle_endtag(self, tag: str) -> None:
        if tag not in INLINE:
            self.parts.append(" ")
        if tag == "thead":
            self._in_head = False
        elif tag == "form":
            self._in_form = False
        elif tag == "select":
            self._select = None
        index = next(
            (i for i in range(len(self._open) - 1, -1, -1) if self._open[i][0] == tag), None
        )
        if index is None:
            return
        _tag, kind, attributes, parts = self._open.pop(index)
        text = squash("".join(parts))
        if kind == "cell" and self.rows:
            self.rows[-1].append(Cell(text, attributes["badges"]))
        elif kind == "badge":
            cell = next((o for o in reversed(self._open) if o[1] == "cell"), None)
            if cell is not None:
                badge = Badge(
                    text,
                    frozenset(attributes.get("class", "").split()),
                    attributes.get("title", ""),
                )
                cell[2]["badges"].append(badge)
        elif kind == "heading":
            self.headings.append(text)
            self._section = text
        elif kind == "error":
            self.errors.setdefault(attributes["id"].removesuffix("-error"), []).append(text)
        elif kind == "form-error" and self.forms:
            self.forms[-1].errors.append(text)
        elif kind == "flash":
            category = next(c for c in attributes["class"].split() if c.startswith("flash-"))
            self.flashes.append((category.removeprefix("flash-"), text))
        elif kind == "link":
            self.links.append((attributes.get("href", ""), text))
        elif kind == "textarea":
            self.values[attributes.get("id", "")] = "".join(parts).lstrip("\r\n")
        elif kind == "option" and self._select is not None:
            self.options[self._select].append(
                (attributes.get("value", ""), text, "selected" in attributes)
            )

    def handle_data(self, data: str) -> None:
        self.parts.append(data)
        for _tag, _kind, _attributes, parts in self._open:
            parts.append(data)

    # --- reading ------------------------------------------------------------------------

    def cells_of(self, section: str) -> list[list[Cell]]:
        """The body rows of the tables under the heading `section`."""
        return [row for row, s in zip(self.rows, self.sections, strict=True) if s == section]

    def rows_of(self, section: str) -> list[list[str]]:
        return [[cell.text for cell in row] for row in self.cells_of(section)]

    def forms_to(self, action: str) -> list[Form]:
        return [form for form in self.forms if form.action == action]

    def operations_forms(self) -> list[Form]:
        """The forms that post to the operations pages (not the header's language or logout)."""
        return [
            form
            for form in self.forms
            if form.method.lower() == "post" and form.action.startswith("/operations/")
        ]

    def selected(self, select_id: str) -> str:
        return next((value for value, _text, chosen in self.options[select_id] if chosen), "")

    def flashed(self, category: str) -> list[str]:
        return [text for kind, text in self.flashes if kind == category]


def read(response) -> Page:
    return Page(response.get_data(as_text=True))


def count(session, model, *where) -> int:
    return session.scalar(select(func.count()).select_from(model).where(*where))


def history(page: Page) -> list[list[str]]:
    """The day's history: [when, by, what, reason] per line."""
    return page.rows_of("History of the day")


def fuel_rows(page: Page) -> list[list[str]]:
    """The day's fuel table, without its void column: [what, tank, quantity, for, coverage]."""
    return [row[:5] for row in page.rows_of("Fuel") if len(row) == 6]


# --- arranging ----------------------------------------------------------------------------


@pytest.fixture
def admin(session):
    return make_user(session, Role.ADMIN, name="Admin Kim")


@pytest.fixture
def as_admin(client, admin):
    return log_in(client, admin)


@pytest.fixture
def as_reviewer(client, session):
    return log_in(client, make_user(session, Role.REVIEWER, name="Reviewer Park"))


@pytest.fixture
def diesel(session):
    return make_resource(session)


@pytest.fixture
def line(session, diesel):
    return make_waiver(session, [(diesel, "L", "100000", None)], reference="MOU-T-FUEL").lines[0]


@pytest.fixture
def tank(session, diesel):
    tank = services.create_tank(
        session,
        name="Boiler tank",
        product=diesel,
        capacity="10000",
        tolerance=None,
        location="Boiler house",
        opening=None,
        opened_on=date(2018, 9, 1),
        actor=None,
        now=NOW,
    )
    session.commit()
    return tank


@pytest.fixture
def power_line(session):
    power = make_resource(
        session, "electricity", hs_code="2716.00", unit="kWh", barrels_per_tonne=None
    )
    return make_waiver(session, [(power, "kWh", "100000", None)], reference="MOU-T-POWER").lines[0]


@pytest.fixture
def meter(session, power_line):
    """The grid meter: five digits, read in kWh, installed 2018-10-01 09:00 at 99,000."""
    meter = services.add_meter(
        session,
        name="Main incomer",
        source=MeterSource.GRID_SOUTH,
        waiver_line=power_line,
        digits=5,
        multiplier="1",
        installed_at=at(OCT(1), 9),
        first_value="99000",
        actor=None,
        now=NOW,
    )
    session.commit()
    return meter


@pytest.fixture
def generator(session, tank):
    generator = services.add_generator(
        session, name="Generator 1", rated_lph="38", tank=tank, actor=None, now=NOW
    )
    session.commit()
    return generator


def receive(session, tank, line, litres, day: date = date(2018, 10, 1), now=NOW) -> StockLot:
    movement = services.receive_fuel(
        session,
        tank,
        quantity=str(litres),
        unit="L",
        received_on=day,
        waiver_line=line,
        parties=TANKER,
        actor=None,
        now=now,
    )
    session.commit()
    return session.get(StockLot, movement.lot_id)


def issue(session, tank, litres, day: date = DAY, now: datetime = NOW, **extra) -> StockMovement:
    movement = services.issue_fuel(
        session,
        tank,
        quantity=str(litres),
        issued_on=day,
        use=extra.pop("use", FuelUse.BOILER),
        actor=None,
        now=now,
        **extra,
    )
    session.commit()
    return movement


def read_meter(session, meter, value, when: datetime, **extra) -> MeterReading:
    reading = services.record_meter_reading(
        session, meter, value=str(value), read_at=when, actor=None, now=NOW, **extra
    )
    session.commit()
    return reading


def sign_off(session, day: date = DAY) -> None:
    services.sign_off(session, day, actor=None, now=NOW)
    session.commit()


def fresh(session, obj):
    session.refresh(obj)
    return obj


# --- the overview -------------------------------------------------------------------------


@pytest.fixture
def open_line(session, diesel):
    """A diesel line with no end date, for fuel received in the last few days."""
    waiver = make_waiver(
        session, [(diesel, "L", "100000", None)], reference="MOU-T-OPEN", valid_until=None
    )
    return waiver.lines[0]


def test_overview_shows_each_tank_with_its_book_stock_and_days_of_fuel_left(
    as_admin, session, tank, diesel, open_line
):
    now = utcnow()
    receive(session, tank, open_line, 7000, day=today() - timedelta(days=10), now=now)
    issue(session, tank, 10, day=today() - timedelta(days=7), now=now)  # 8 days: not counted
    issue(session, tank, 400, day=today() - timedelta(days=2), now=now)
    issue(session, tank, 300, day=today() - timedelta(days=1), now=now)
    services.create_tank(
        session,
        name="Spare tank",
        product=diesel,
        capacity="5000",
        tolerance=None,
        location="",
        opening="1200",
        opened_on=OCT(1),
        actor=None,
        now=now,
    )
    session.commit()

    response = as_admin.get("/operations/")

    assert response.status_code == 200
    page = read(response)
    boiler = page.text[page.text.index("Boiler tank") : page.text.index("Spare tank")]
    # 6,290 L left at (400 + 300) / 7 = 100 L a day
    assert "6,290 L" in boiler
    assert "62.9 days left at the last 7 days' use" in boiler
    assert "of 10,000" in boiler
    spare = page.text[page.text.index("Spare tank") : page.text.index("Days not signed off")]
    assert "1,200 L" in spare and "no issues in the last 7 days" in spare


def test_overview_lists_the_days_not_signed_off(as_admin, session):
    yesterday = today() - timedelta(days=1)
    services.sign_off(session, yesterday, actor=None, now=utcnow())
    session.commit()

    page = read(as_admin.get("/operations/"))

    listed = {href for href, _text in page.links if href.startswith("/operations/days/")}
    assert day_url(today()) in listed
    assert day_url(today() - timedelta(days=2)) in listed
    assert day_url(yesterday) not in listed
    assert day_url(today() - timedelta(days=59)) in listed
    assert day_url(today() - timedelta(days=60)) not in listed  # the last 60 days only


# --- tanks --------------------------------------------------------------------------------


def tank_form(diesel, **changes) -> dict[str, str]:
    return {
        "name": "Generator tank",
        "product": str(diesel.id),
        "capacity": "25000",
        "tolerance": "",
        "location": "Basement",
        "opening": "",
        "opened_on": "2018-09-01",
        **changes,
    }


def test_a_new_tanks_tolerance_defaults_to_one_percent_of_its_capacity(as_admin, session, diesel):
    response = as_admin.post("/operations/tanks", data=tank_form(diesel))

    tank = session.scalars(select(Store).where(Store.name == "Generator tank")).one()
    assert response.status_code == 302
    assert response.headers["Location"] == f"/operations/tanks/{tank.id}"
    assert tank.tolerance == Decimal(250)
    page = read(as_admin.get("/operations/tanks"))
    assert page.flashed("success") == ["Tank Generator tank added."]
    assert page.rows_of("Tanks") == [
        ["Generator tank", "diesel", "0 L", "25,000", "250", "Basement"]
    ]


def test_a_new_tank_keeps_a_tolerance_given_and_its_opening_stock(as_admin, session, diesel):
    as_admin.post("/operations/tanks", data=tank_form(diesel, tolerance="80", opening="3000"))

    page = read(as_admin.get("/operations/tanks"))
    assert page.rows_of("Tanks") == [
        ["Generator tank", "diesel", "3,000 L", "25,000", "80", "Basement"]
    ]


@pytest.mark.parametrize(
    ("capacity", "message"),
    [
        ("lots", "Enter the quantity as a decimal number."),
        ("0", "The quantity must be greater than zero."),
        ("-500", "The quantity must be greater than zero."),
    ],
)
def test_a_tank_with_a_bad_capacity_is_refused_beside_the_field(
    as_admin, session, diesel, capacity, message
):
    response = as_admin.post("/operations/tanks", data=tank_form(diesel, capacity=capacity))

    assert response.status_code == 422
    page = read(response)
    assert page.errors == {"capacity": [message]}
    assert page.values["name"] == "Generator tank" and page.values["capacity"] == capacity
    assert count(session, Store) == 0


def test_a_tank_with_a_name_already_taken_is_refused_beside_the_name(as_admin, session, tank):
    response = as_admin.post("/operations/tanks", data=tank_form(tank.resource, name="Boiler tank"))

    assert response.status_code == 422
    assert read(response).errors == {"name": ["A store named Boiler tank already exists."]}
    assert count(session, Store) == 1


def test_tank_page_shows_lots_with_their_waiver_line_the_stock_ledger_and_dips(
    as_admin, session, tank, line
):
    lot = receive(session, tank, line, 4000, day=OCT(1))
    issue(session, tank, 1000, day=OCT(2))
    services.return_fuel(session, tank, quantity="500", returned_on=OCT(3), actor=None, now=NOW)
    services.record_dip(session, tank, measured="2480", read_at=at(OCT(4), 8), actor=None, now=NOW)
    session.commit()
    seq = fresh(session, lot).drawdown_entry.seq

    response = as_admin.get(f"/operations/tanks/{tank.id}")

    assert response.status_code == 200
    page = read(response)
    assert "Book stock: 2,500 L of 10,000 · dip tolerance 100" in page.text
    lapsed = "MOU-T-FUEL · 1 expired: valid until 2018-12-31"  # granted, valid through 2018
    assert page.rows_of("Lots") == [
        ["2018-10-01", f"ledger entry {seq}", lapsed, "4,000", "1,000", "500", "2,500"]
    ]
    assert page.rows_of("Stock ledger") == [
        ["2018-10-03", "returned south", "500", "500 · covered"],
        ["2018-10-02", "issued · heating boiler", "1,000", "1,000 · covered"],
        ["2018-10-01", "received", "4,000", ""],
    ]
    assert page.rows_of("Dip readings") == [["2018-10-04 08:00", "2,480", "2,500", "-20"]]


def test_tanks_as_of_a_past_day_show_the_book_stock_of_its_end_without_forms(
    as_admin, session, tank, line, diesel
):
    receive(session, tank, line, 4000, day=OCT(1))
    issue(session, tank, 1000, day=OCT(2))
    receive(session, tank, line, 2000, day=OCT(5))

    then = as_admin.get("/operations/tanks", query_string={"as_of": "2018-10-03"})
    now = read(as_admin.get("/operations/tanks"))

    assert then.status_code == 200
    page = read(then)
    assert page.rows_of("Tanks") == [
        ["Boiler tank", "diesel", "3,000 L", "10,000", "100", "Boiler house"]
    ]
    assert "As the books stood at the end of 2018-10-03." in page.text
    assert page.operations_forms() == [] and "Add a tank" not in page.text
    assert (f"/operations/tanks/{tank.id}?as_of=2018-10-03", "Boiler tank") in page.links
    assert page.values["as_of"] == "2018-10-03"
    assert now.rows_of("Tanks")[0][2] == "5,000 L"
    assert "As the books stood" not in now.text and "Add a tank" in now.text


def test_a_tank_as_of_a_past_day_shows_its_lots_ledger_and_dips_as_they_stood(
    as_admin, session, tank, line
):
    lot = receive(session, tank, line, 4000, day=OCT(1))
    issue(session, tank, 1000, day=OCT(2))
    services.record_dip(session, tank, measured="2990", read_at=at(OCT(3), 8), actor=None, now=NOW)
    mistaken = issue(session, tank, 300, day=OCT(3))
    services.void_movement(session, mistaken, reason="Entered twice", actor=None, now=NOW)
    issue(session, tank, 500, day=OCT(4))
    services.return_fuel(session, tank, quantity="200", returned_on=OCT(5), actor=None, now=NOW)
    receive(session, tank, line, 2000, day=OCT(5))
    services.record_dip(session, tank, measured="4300", read_at=at(OCT(6), 8), actor=None, now=NOW)
    waivers.change_waiver_status(
        session, line.waiver, WaiverStatus.EXPIRED, effective_on=OCT(9), actor=None, now=NOW
    )
    session.commit()
    seq = fresh(session, lot).drawdown_entry.seq

    response = as_admin.get(f"/operations/tanks/{tank.id}", query_string={"as_of": "2018-10-04"})

    assert response.status_code == 200
    page = read(response)
    assert "As the books stood at the end of 2018-10-04." in page.text
    assert "Book stock: 2,500 L of 10,000" in page.text
    assert page.rows_of("Lots") == [
        [
            "2018-10-01",
            f"ledger entry {seq}",
            "MOU-T-FUEL · 1 granted",
            "4,000",
            "1,500",
            "0",
            "2,500",
        ]
    ]
    assert page.rows_of("Stock ledger") == [
        ["2018-10-04", "issued · heating boiler", "500", "500 · covered"],
        ["2018-10-02", "issued · heating boiler", "1,000", "1,000 · covered"],
        ["2018-10-01", "received", "4,000", ""],
    ]
    assert page.rows_of("Dip readings") == [["2018-10-03 08:00", "2,990", "3,000", "-10"]]
    now = read(as_admin.get(f"/operations/tanks/{tank.id}"))
    assert "Book stock: 4,300 L of 10,000" in now.text
    assert now.rows_of("Lots")[1] == [
        "2018-10-01",
        f"ledger entry {seq}",
        "MOU-T-FUEL · 1 expired",
        "4,000",
        "1,500",
        "200",
        "2,300",
    ]


@pytest.mark.parametrize("path", ["/operations/tanks", "/operations/tanks/{tank}"])
@pytest.mark.parametrize(
    ("as_of", "message"),
    [
        ("2018-02-30", "Give the day as YYYY-MM-DD, for example 2018-10-31."),
        ("2018-4-27", "Give the day as YYYY-MM-DD, for example 2018-10-31."),
        ("2018-04-26", "The office's records run from 2018-04-27 to today"),
        ("tomorrow", "The office's records run from 2018-04-27 to today"),
    ],
)
def test_tanks_as_of_a_bad_early_or_future_day_answer_422_with_a_message(
    as_admin, tank, path, as_of, message
):
    if as_of == "tomorrow":
        as_of = (today() + timedelta(days=1)).isoformat()

    response = as_admin.get(path.format(tank=tank.id), query_string={"as_of": as_of})

    assert response.status_code == 422
    assert message in read(response).text


# --- the daily log: headcount and fuel ----------------------------------------------------


def test_day_page_shows_the_headcount_on_site_from_staffing(as_admin, session):
    for person in (make_person(session), make_person(session)):
        stay(session, person, OCT(8), OCT(12))
    stay(session, make_person(session, category=Category.SUPPORT), OCT(10), OCT(10))
    stay(session, make_person(session), OCT(5), OCT(9))  # left the day before
    stay(session, make_person(session, Side.NORTH), OCT(1), OCT(31))

    response = as_admin.get(day_url())

    assert response.status_code == 200
    page = read(response)
    assert "Daily log 2018-10-10" in page.headings
    assert "On site South: 3 · official 2 · support staff 1 — North: 1 Fuel" in page.text


def prefixed(form: str, data: dict[str, str]) -> dict[str, str]:
    """Name the fields as the day page does: each of its forms has its own prefix."""
    return {f"{form}-{key}": value for key, value in data.items()}


def receipt_form(tank, line, quantity="4000", **changes) -> dict[str, str]:
    return prefixed(
        "receipt",
        {
            "tank": str(tank.id),
            "quantity": quantity,
            "unit": "L",
            "line_un": str(line.id) if line else "",
            "parties": "S-Oil Munsan / Hyundai Asan tanker",
            "note": "",
            "override_reason": "",
            **changes,
        },
    )


def test_a_receipt_is_drawn_on_the_ledger_and_becomes_a_lot(as_admin, session, tank, line):
    response = as_admin.post(day_url(what="/receipts"), data=receipt_form(tank, line))

    assert response.status_code == 302
    assert response.headers["Location"] == day_url() + "#receipt"
    entry = session.scalars(select(DrawdownEntry)).one()
    assert (entry.source, entry.base_quantity, entry.waiver_line_id, entry.occurred_on) == (
        Source.FUEL_RECEIPT,
        Decimal(4000),
        line.id,
        DAY,
    )
    lot = session.scalars(select(StockLot)).one()
    assert (lot.remaining, lot.waiver_line_id, lot.drawdown_entry_id) == (4000, line.id, entry.id)
    page = read(as_admin.get(day_url()))
    assert page.flashed("success") == ["Fuel received and drawn on the ledger."]
    assert fuel_rows(page) == [
        [
            "received",
            "Boiler tank",
            "4,000 L",
            "S-Oil Munsan / Hyundai Asan tanker",
            "4,000 · covered on the ledger UN Security Council sanctions (1718 Committee) "
            "covered MOU-T-FUEL · 1 · granted when drawn",
        ]
    ]
    assert [row[2] for row in history(page)] == ["fuel received"]
    ledger_page = read(as_admin.get(f"/ledger/{entry.id}"))
    assert f"Source fuel receipt (tank #{tank.id})" in ledger_page.text
    assert "MOU-T-FUEL · line 1" in ledger_page.text
    tank_page = read(as_admin.get(f"/operations/tanks/{tank.id}"))
    assert tank_page.rows_of("Lots")[0][:4] == [
        "2018-10-10",
        f"ledger entry {entry.seq}",
        "MOU-T-FUEL · 1 expired: valid until 2018-12-31",  # granted, valid through 2018
        "4,000",
    ]


def test_a_receipt_that_would_overfill_the_tank_is_refused_and_records_nothing(
    as_admin, session, tank, line
):
    receive(session, tank, line, 9000)

    response = as_admin.post(day_url(what="/receipts"), data=receipt_form(tank, line, "1500"))

    assert response.status_code == 422
    page = read(response)
    assert page.errors["receipt-quantity"] == [
        "Boiler tank holds 10,000 L and has 9,000 L; receiving 1,500 L would overfill it."
    ]
    assert page.values["receipt-quantity"] == "1500"
    assert count(session, StockLot) == 1
    assert count(session, DrawdownEntry) == 1
    assert count(session, DailyLogEvent) == 1  # the first receipt's


def test_a_receipt_refused_by_the_ledger_shows_the_refusal_and_records_nothing(
    as_admin, session, tank, diesel
):
    small = make_waiver(session, [(diesel, "L", "1000", None)], reference="MOU-T-SMALL").lines[0]

    response = as_admin.post(day_url(what="/receipts"), data=receipt_form(tank, small, "2000"))

    assert response.status_code == 422
    page = read(response)
    assert page.errors["receipt-quantity"] == [
        "Waiver MOU-T-SMALL line 1 has 1,000 L left; this drawdown asks for 2,000 L."
    ]
    assert page.selected("receipt-line_un") == str(small.id)
    assert count(session, DrawdownEntry) == 0
    assert count(session, StockLot) == 0
    assert count(session, DailyLogEvent) == 0
    assert fresh(session, small).used_base == 0


def test_a_receipt_over_the_cap_with_a_reason_is_recorded_and_flagged(
    as_admin, session, tank, diesel
):
    small = make_waiver(session, [(diesel, "L", "1000", None)], reference="MOU-T-SMALL").lines[0]
    form = receipt_form(tank, small, "2000", override_reason="Winter stock; amendment filed.")

    response = as_admin.post(day_url(what="/receipts"), data=form)

    assert response.status_code == 302
    entry = session.scalars(select(DrawdownEntry)).one()
    assert (entry.classification, entry.flagged, entry.override_reason) == (
        Classification.OVER_CAP,
        True,
        "Winter stock; amendment filed.",
    )
    assert session.scalars(select(StockLot)).one().remaining == 2000
    assert "flagged for review" in read(as_admin.get(f"/ledger/{entry.id}")).text


def issue_form(tank, litres, **changes) -> dict[str, str]:
    return prefixed(
        "issue", {"tank": str(tank.id), "quantity": str(litres), "use": "boiler", **changes}
    )


def test_an_issue_draws_the_oldest_lot_first_and_shows_each_lots_coverage(
    as_admin, session, tank, line, diesel
):
    later = make_waiver(session, [(diesel, "L", "50000", None)], reference="MOU-T-LATER")
    first = receive(session, tank, line, 3000, day=OCT(2))
    second = receive(session, tank, later.lines[0], 4000, day=OCT(5))

    response = as_admin.post(day_url(what="/issues"), data=issue_form(tank, 4000, note="Week 41"))

    assert response.status_code == 302
    assert (fresh(session, first).remaining, fresh(session, first).used) == (0, 3000)
    assert (fresh(session, second).remaining, fresh(session, second).used) == (3000, 1000)
    draws = session.scalars(select(LotDraw).order_by(LotDraw.id)).all()
    assert [(d.lot_id, d.quantity, d.waiver_line_id, d.classification) for d in draws] == [
        (first.id, 3000, line.id, Classification.COVERED),
        (second.id, 1000, later.lines[0].id, Classification.COVERED),
    ]
    page = read(as_admin.get(day_url()))
    assert page.flashed("success") == ["Fuel issued."]
    assert fuel_rows(page) == [
        [
            "issued",
            "Boiler tank",
            "4,000 L",
            "heating boiler · Week 41",
            "3,000 · covered 1,000 · covered",
        ]
    ]
    badges = page.cells_of("Fuel")[0][4].badges
    assert [(b.text, b.title, "bad" in b.classes) for b in badges] == [
        ("3,000 · covered", "granted", False),
        ("1,000 · covered", "granted", False),
    ]


def test_an_issue_never_draws_a_lot_received_after_its_day(as_admin, session, tank, line):
    receive(session, tank, line, 1000, day=OCT(1))
    receive(session, tank, line, 1000, day=OCT(12))  # not yet on site on 10-10

    response = as_admin.post(day_url(what="/issues"), data=issue_form(tank, 1500))

    assert response.status_code == 422
    assert read(response).errors == {
        "issue-quantity": ["Boiler tank has 1,000 L of Diesel; this issue asks for 1,500 L."]
    }
    assert count(session, LotDraw) == 0


@pytest.mark.parametrize(
    ("stock", "message"),
    [
        (3000, "Boiler tank has 3,000 L of Diesel; this issue asks for 3,500 L."),
        (0, "Boiler tank has 0 L of Diesel; this issue asks for 3,500 L."),
    ],
    ids=["more than the book stock", "empty tank"],
)
def test_an_issue_of_more_than_the_book_stock_is_refused(
    as_admin, session, tank, line, stock, message
):
    if stock:
        receive(session, tank, line, stock)
    events = count(session, DailyLogEvent)

    response = as_admin.post(day_url(what="/issues"), data=issue_form(tank, 3500))

    assert response.status_code == 422
    page = read(response)
    assert page.errors == {"issue-quantity": [message]}
    assert page.values["issue-quantity"] == "3500"
    assert count(session, StockMovement, StockMovement.kind == MovementKind.ISSUE) == 0
    assert count(session, DailyLogEvent) == events
    assert services.stock.book_stock(session, tank) == stock


def test_an_issue_for_a_generator_needs_the_generator(as_admin, session, tank, line, generator):
    receive(session, tank, line, 3000)

    refused = as_admin.post(day_url(what="/issues"), data=issue_form(tank, 300, use="generator"))
    done = as_admin.post(
        day_url(what="/issues"),
        data=issue_form(tank, 300, use="generator", generator=str(generator.id)),
    )

    assert refused.status_code == 422
    assert read(refused).errors["issue-generator"] == ["Choose the generator the fuel went to."]
    assert done.status_code == 302
    movement = session.scalars(select(StockMovement).where(StockMovement.use == "generator")).one()
    assert movement.use_ref == f"generator {generator.id}"


def test_an_issue_from_a_lot_whose_waiver_has_since_expired_is_flagged(
    as_admin, session, tank, line
):
    receive(session, tank, line, 3000, day=OCT(1))
    waivers.change_waiver_status(
        session, line.waiver, WaiverStatus.EXPIRED, effective_on=OCT(5), actor=None, now=NOW
    )
    session.commit()

    response = as_admin.post(day_url(what="/issues"), data=issue_form(tank, 500))

    assert response.status_code == 302
    part = session.scalars(select(LotDraw)).one()
    assert (part.waiver_status, part.classification, part.flagged) == (
        WaiverStatus.EXPIRED,
        Classification.OUTSIDE_VALIDITY,
        True,
    )
    page = read(as_admin.get(day_url()))
    [badge] = page.cells_of("Fuel")[0][4].badges
    assert (badge.text, badge.title, "bad" in badge.classes) == (
        "500 · outside validity",
        "expired",
        True,
    )
    tank_page = read(as_admin.get(f"/operations/tanks/{tank.id}"))
    assert tank_page.rows_of("Lots")[0][2] == "MOU-T-FUEL · 1 expired"
    [badge] = tank_page.cells_of("Stock ledger")[0][3].badges
    assert "bad" in badge.classes


def test_a_return_south_is_recorded_from_the_oldest_lot(as_admin, session, tank, line):
    lot = receive(session, tank, line, 3000)

    response = as_admin.post(
        day_url(what="/returns"),
        data=prefixed(
            "return", {"tank": str(tank.id), "quantity": "1200", "parties": "Hyundai Asan tanker"}
        ),
    )

    assert response.status_code == 302
    assert (fresh(session, lot).returned, lot.remaining, lot.used) == (1200, 1800, 0)
    page = read(as_admin.get(day_url()))
    assert page.flashed("success") == ["Return south recorded."]
    assert fuel_rows(page) == [
        ["returned south", "Boiler tank", "1,200 L", "Hyundai Asan tanker", "1,200 · covered"]
    ]
    assert [row[2] for row in history(page)] == ["fuel returned south"]
    assert fresh(session, line).used_base == 3000  # a return never frees the cap


def test_voiding_an_issue_puts_its_litres_back_into_its_lots(as_admin, session, tank, line):
    first = receive(session, tank, line, 1000, day=OCT(1))
    second = receive(session, tank, line, 1000, day=OCT(2))
    movement = issue(session, tank, 1500)

    response = as_admin.post(
        f"/operations/movements/{movement.id}/void", data={"reason": "Entered twice."}
    )

    assert response.status_code == 302
    assert response.headers["Location"] == day_url()
    assert (fresh(session, first).remaining, first.used) == (1000, 0)
    assert (fresh(session, second).remaining, second.used) == (1000, 0)
    assert services.stock.book_stock(session, tank) == 2000
    page = read(as_admin.get(day_url()))
    assert fuel_rows(page)[0][0] == "issued void: Entered twice."
    assert history(page)[-1][2:] == ["issue voided", ""]  # a draft day: no correction


def test_voiding_without_a_reason_is_refused(as_admin, session, tank, line):
    receive(session, tank, line, 1000)
    movement = issue(session, tank, 500)

    response = as_admin.post(f"/operations/movements/{movement.id}/void", data={"reason": ""})

    assert response.status_code == 302
    assert read(as_admin.get(day_url())).flashed("error") == ["Give the reason."]
    assert fresh(session, movement).voided_at is None


# --- the daily log: dips, run hours and meters --------------------------------------------


def dip_form(tank, measured, at="08:00", **changes) -> dict[str, str]:
    return prefixed("dip", {"tank": str(tank.id), "measured": str(measured), "at": at, **changes})


def test_dips_show_their_variance_and_one_beyond_the_tolerance_is_flagged(
    as_admin, session, tank, line
):
    receive(session, tank, line, 4000, day=OCT(1))

    within = as_admin.post(day_url(what="/dips"), data=dip_form(tank, 3920, "08:00"))
    beyond = as_admin.post(day_url(what="/dips"), data=dip_form(tank, 3850, "18:00"))

    assert (within.status_code, beyond.status_code) == (302, 302)
    assert [d.flagged for d in session.scalars(select(DipReading).order_by(DipReading.id))] == [
        False,
        True,
    ]
    page = read(as_admin.get(day_url()))
    assert page.rows_of("Dip readings") == [
        ["2018-10-10 08:00", "Boiler tank", "3,920", "4,000", "-80"],
        ["2018-10-10 18:00", "Boiler tank", "3,850", "4,000", "-150 beyond tolerance"],
    ]
    overview = read(as_admin.get("/operations/"))
    assert "Last dip 2018-10-10 18:00: variance -150 beyond tolerance" in overview.text


def test_a_dip_above_the_tanks_capacity_is_refused(as_admin, session, tank):
    response = as_admin.post(day_url(what="/dips"), data=dip_form(tank, 10001))

    assert response.status_code == 422
    page = read(response)
    assert page.errors == {
        "dip-measured": ["A dip of 10,001 is more than Boiler tank holds (10,000)."]
    }
    assert page.values["dip-measured"] == "10001"
    assert count(session, DipReading) == 0
    assert count(session, DailyLog) == 0


@pytest.mark.parametrize(
    ("measured", "message"),
    [("lots", "Enter the quantity as a decimal number."), ("-5", "The quantity must be")],
)
def test_a_dip_that_is_not_a_quantity_is_refused_beside_the_field(
    as_admin, session, tank, measured, message
):
    response = as_admin.post(day_url(what="/dips"), data=dip_form(tank, measured))

    assert response.status_code == 422
    [error] = read(response).errors["dip-measured"]
    assert error.startswith(message)
    assert count(session, DipReading) == 0


def test_a_dip_for_an_earlier_day_is_compared_with_that_days_book_stock(
    as_admin, session, tank, line
):
    receive(session, tank, line, 4000, day=OCT(1))
    issue(session, tank, 1000, day=OCT(12))  # after the day of the dip

    as_admin.post(day_url(what="/dips"), data=dip_form(tank, 4000))

    dip = session.scalars(select(DipReading)).one()
    assert (dip.book, dip.variance, dip.flagged) == (4000, 0, False)


def hours_form(generator, hours, at="08:00", **changes) -> dict[str, str]:
    return prefixed(
        "hours", {"generator": str(generator.id), "hours": str(hours), "at": at, **changes}
    )


def test_generator_run_hours_are_recorded_and_cannot_go_back(as_admin, session, generator):
    first = as_admin.post(day_url(what="/generator-hours"), data=hours_form(generator, "1250.5"))
    back = as_admin.post(
        day_url(what="/generator-hours"), data=hours_form(generator, "1240", "18:00")
    )

    assert first.status_code == 302
    assert back.status_code == 422
    assert read(back).errors == {
        "hours-hours": ["Generator 1's run-hour meter read 1,250.5; it cannot go back to 1,240."]
    }
    assert [r.hours for r in session.scalars(select(GeneratorReading))] == [Decimal("1250.5")]
    page = read(as_admin.get(day_url()))
    assert page.rows_of("Generator run hours") == [["2018-10-10 08:00", "Generator 1", "1,250.5"]]


def reading_form(meter, value, at="09:00", **changes) -> dict[str, str]:
    return prefixed(
        "reading",
        {"meter": str(meter.id), "value": str(value), "unit": "kWh", "at": at, **changes},
    )


def readings(page: Page) -> list[list[str]]:
    """The day's meter readings without the void column: [time, meter, register, kWh]."""
    return [row[:4] for row in page.rows_of("Meter readings")]


def test_a_reading_lower_than_the_last_is_refused_unless_the_register_rolled_over(
    as_admin, session, meter
):
    refused = as_admin.post(day_url(what="/meter-readings"), data=reading_form(meter, 500))

    assert refused.status_code == 422
    page = read(refused)
    assert page.errors == {
        "reading-value": [
            "500 is lower than the last reading of Main incomer (99,000). If the register "
            "rolled over, say so; if the meter was replaced, record the replacement."
        ]
    }
    assert count(session, MeterReading) == 1
    assert count(session, DrawdownEntry) == 0

    accepted = as_admin.post(
        day_url(what="/meter-readings"), data=reading_form(meter, 500, rolled_over="y")
    )

    assert accepted.status_code == 302
    # 99,000 -> 99,999 -> 0 -> 500 on a five-digit register
    assert session.scalars(select(MeterReading.consumption).order_by(MeterReading.id)).all() == [
        None,
        Decimal(1500),
    ]
    page = read(as_admin.get(day_url()))
    assert readings(page) == [["2018-10-10 09:00", "Main incomer", "500 rolled over", "1,500"]]
    per_day = services.electricity_per_day(session, OCT(2), OCT(9))
    assert set(per_day.values()) == {Decimal("166.667")}  # 1,500 kWh over nine days


def test_a_reading_dated_before_the_meter_was_installed_is_refused(as_admin, session, meter):
    response = as_admin.post(
        day_url(date(2018, 9, 30), "/meter-readings"), data=reading_form(meter, 99100)
    )

    assert response.status_code == 422
    [form] = read(response).forms_to(day_url(date(2018, 9, 30), "/meter-readings"))
    assert form.errors == [
        "Main incomer was installed on 2018-10-01 09:00; a reading cannot be earlier."
    ]
    assert count(session, MeterReading) == 1


def test_a_meter_reading_in_litres_is_refused(as_admin, session, meter):
    response = as_admin.post(
        day_url(what="/meter-readings"), data=reading_form(meter, 99100, unit="L")
    )

    assert response.status_code == 422
    page = read(response)
    assert page.errors == {"reading-unit": ["An electricity meter is read in kWh, not L."]}
    assert page.values["reading-unit"] == "L"
    assert count(session, MeterReading) == 1
    assert count(session, DrawdownEntry) == 0


def test_a_grid_reading_draws_one_ledger_entry_on_the_meters_waiver_line(
    as_admin, session, meter, power_line
):
    read_meter(session, meter, 99080, at(OCT(9), 9))

    response = as_admin.post(day_url(what="/meter-readings"), data=reading_form(meter, 99105))

    assert response.status_code == 302
    entries = session.scalars(select(DrawdownEntry).order_by(DrawdownEntry.seq)).all()
    assert [(e.source, e.base_quantity, e.occurred_on, e.waiver_line_id) for e in entries] == [
        (Source.METER, Decimal(80), OCT(9), power_line.id),
        (Source.METER, Decimal(25), DAY, power_line.id),
    ]
    reading = session.scalars(select(MeterReading).where(MeterReading.read_on == DAY)).one()
    assert reading.drawdown_entry_id == entries[1].id
    assert fresh(session, power_line).used_base == 105
    page = read(as_admin.get(day_url()))
    assert page.flashed("success") == ["Meter reading recorded."]
    assert readings(page) == [["2018-10-10 09:00", "Main incomer", "99,105", "25"]]


def test_a_day_above_three_times_the_30_day_average_is_flagged_not_dropped(
    as_admin, session, meter
):
    value = 99000
    for day in range(2, 10):  # 10 kWh a day from 2018-10-01 to 10-09
        value += 10
        read_meter(session, meter, value, at(OCT(day), 9))

    plausible = as_admin.post(
        day_url(what="/meter-readings"), data=reading_form(meter, value + 29, "09:00")
    )
    implausible = as_admin.post(
        day_url(OCT(11), "/meter-readings"), data=reading_form(meter, value + 29 + 40)
    )

    assert (plausible.status_code, implausible.status_code) == (302, 302)
    last = session.scalars(select(MeterReading).order_by(MeterReading.id.desc())).first()
    assert (last.consumption, last.flagged) == (40, True)
    assert last.drawdown_entry.base_quantity == 40  # still drawn on the line, and flagged
    page = read(as_admin.get(day_url(OCT(11))))
    [badge] = page.cells_of("Meter readings")[0][3].badges
    assert badge.text == "implausible"
    assert badge.title == "40 kWh a day is above three times the 30-day average (12.1)."
    assert not read(as_admin.get(day_url())).cells_of("Meter readings")[0][3].badges


def test_voiding_the_latest_reading_reverses_its_drawdown(as_admin, session, meter, power_line):
    reading = read_meter(session, meter, 99300, at(DAY, 9))

    response = as_admin.post(
        f"/operations/meter-readings/{reading.id}/void", data={"reason": "Misread the dial."}
    )

    assert response.status_code == 302
    assert fresh(session, reading).voided_at is not None
    reversal = session.scalars(
        select(DrawdownEntry).where(DrawdownEntry.reverses_id == reading.drawdown_entry_id)
    ).one()
    assert (reversal.base_quantity, reversal.reversal_reason) == (-300, "Misread the dial.")
    assert fresh(session, power_line).used_base == 0
    page = read(as_admin.get(day_url()))
    assert page.flashed("success") == ["Voided; the day's history keeps the reason."]
    assert page.rows_of("Meter readings")[0][4] == "void: Misread the dial."
    assert history(page)[-1][2:] == ["meter reading voided", ""]


def test_an_earlier_reading_cannot_be_voided(as_admin, session, meter):
    earlier = read_meter(session, meter, 99300, at(OCT(9), 9))
    read_meter(session, meter, 99500, at(DAY, 9))

    response = as_admin.post(
        f"/operations/meter-readings/{earlier.id}/void", data={"reason": "Misread the dial."}
    )

    assert response.headers["Location"] == day_url(OCT(9))
    assert read(as_admin.get(day_url(OCT(9)))).flashed("error") == [
        "Only the latest reading of a meter in service can be voided; later readings were "
        "counted from it."
    ]
    assert fresh(session, earlier).voided_at is None
    assert count(session, DrawdownEntry, DrawdownEntry.reverses_id.is_not(None)) == 0


def void_actions(page: Page) -> list[str]:
    return [form.action for form in page.operations_forms() if form.action.endswith("/void")]


def test_only_what_can_be_voided_offers_a_void_form(as_admin, session, tank, line, meter):
    untouched = receive(session, tank, line, 1000, day=DAY)
    drawn = receive(session, tank, line, 2000, day=OCT(1))
    issued = issue(session, tank, 500)  # from the lot of 10-01
    read_meter(session, meter, 99100, at(DAY, 9))
    latest = read_meter(session, meter, 99150, at(DAY, 12))
    services.add_meter(
        session,
        name="Spare",
        source=MeterSource.GENERATOR,
        waiver_line=None,
        digits=6,
        multiplier="1",
        installed_at=at(DAY, 10),
        first_value="0",
        actor=None,
        now=NOW,
    )
    session.commit()
    receipt_of = {
        lot.id: session.scalars(
            select(StockMovement.id).where(StockMovement.lot_id == lot.id)
        ).one()
        for lot in (untouched, drawn)
    }

    page = read(as_admin.get(day_url()))

    assert sorted(void_actions(page)) == sorted(
        [
            f"/operations/movements/{receipt_of[untouched.id]}/void",
            f"/operations/movements/{issued.id}/void",
            f"/operations/meter-readings/{latest.id}/void",
        ]
    )  # not the receipt already drawn from, nor the earlier reading, nor a first reading
    assert [row[1] for row in readings(page)] == ["Main incomer", "Spare (first)", "Main incomer"]


def test_no_void_form_on_a_day_of_a_month_the_reviewers_signed_off(
    as_admin, session, tank, line, meter
):
    receive(session, tank, line, 1000, day=DAY)
    read_meter(session, meter, 99100, at(DAY, 9))
    session.add(SignedOffMonth(month=date(2018, 10, 1), signed_off_at=NOW))
    session.commit()

    page = read(as_admin.get(day_url()))

    assert void_actions(page) == []
    assert fuel_rows(page)[0][:3] == ["received", "Boiler tank", "1,000 L"]


class Ids(HTMLParser):
    """Every id on a page, and the target of every label."""

    def __init__(self, markup: str) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.labels: list[str] = []
        self.feed(markup)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if attributes.get("id"):
            self.ids.append(attributes["id"])
        if tag == "label" and attributes.get("for"):
            self.labels.append(attributes["for"])


def test_every_id_on_the_day_page_is_unique_and_every_label_names_one(
    as_admin, session, tank, line, meter
):
    receive(session, tank, line, 1000, day=DAY)
    issues = [issue(session, tank, 100), issue(session, tank, 200)]
    reading = read_meter(session, meter, 99100, at(DAY, 9))

    page = Ids(as_admin.get(day_url()).get_data(as_text=True))

    assert len(page.ids) == len(set(page.ids)), sorted(i for i in page.ids if page.ids.count(i) > 1)
    assert set(page.labels) <= set(page.ids)
    assert sorted(label for label in page.labels if label.startswith("void-")) == sorted(
        [f"void-movement-{m.id}" for m in issues] + [f"void-reading-{reading.id}"]
    )


def test_a_days_many_readings_of_a_meter_are_one_line_of_its_history(
    as_admin, session, admin, meter
):
    value = 99000
    for hour in range(10, 14):
        value += 10
        services.record_meter_reading(
            session,
            meter,
            value=str(value),
            read_at=at(DAY, hour),
            actor=admin,
            now=at(DAY, hour, 2),
        )
    services.save_log(session, DAY, incidents="", notes="", actor=admin, now=at(DAY, 11, 30))
    services.sign_off(session, DAY, actor=admin, now=at(DAY, 17))
    session.commit()
    services.record_meter_reading(
        session,
        meter,
        value=str(value + 10),
        read_at=at(DAY, 18),
        correction_reason="Evening reading from the paper log.",
        actor=admin,
        now=at(DAY, 18, 5),
    )
    session.commit()

    page = read(as_admin.get(day_url()))

    assert history(page) == [
        ["2018-10-10 10:02 – 13:02", "Admin Kim", "4 meter readings of Main incomer", ""],
        ["2018-10-10 11:30", "Admin Kim", "incidents and notes saved", ""],
        ["2018-10-10 17:00", "Admin Kim", "signed off", ""],
        [
            "2018-10-10 18:05",
            "Admin Kim",
            "meter reading correction",
            "Evening reading from the paper log.",
        ],
    ]


# --- the daily log: notes, sign-off and corrections ---------------------------------------


def notes_form(incidents="", notes="", **changes) -> dict[str, str]:
    return prefixed("notes", {"incidents": incidents, "notes": notes, **changes})


def test_incidents_and_notes_are_saved_with_the_day(as_admin, session):
    response = as_admin.post(
        day_url(what="/notes"),
        data=notes_form("Grid tripped 10:20-16:30.", "Generator 1 carried the load."),
    )

    assert response.status_code == 302
    log = session.scalars(select(DailyLog)).one()
    assert (log.log_on, log.status, log.incidents, log.notes) == (
        DAY,
        LogStatus.DRAFT,
        "Grid tripped 10:20-16:30.",
        "Generator 1 carried the load.",
    )
    page = read(as_admin.get(day_url()))
    assert page.flashed("success") == ["The day's log was saved."]
    assert page.values["notes-incidents"] == "Grid tripped 10:20-16:30."
    assert page.values["notes-notes"] == "Generator 1 carried the load."
    assert [row[1:] for row in history(page)] == [["Admin Kim", "incidents and notes saved", ""]]


def test_signing_off_locks_the_day(as_admin, session):
    response = as_admin.post(day_url(what="/sign-off"))

    assert response.status_code == 302
    assert response.headers["Location"] == day_url()
    log = session.scalars(select(DailyLog)).one()
    assert log.status is LogStatus.SIGNED_OFF
    page = read(as_admin.get(day_url()))
    assert page.flashed("success") == ["The log of 2018-10-10 is signed off."]
    assert page.operations_forms() == []  # read-only now, the sign-off button gone too
    assert [row[2] for row in history(page)] == ["signed off"]
    # every form of the day is on its correction page, asking for the reason of a correction
    page = read(as_admin.get(day_url(what="/correct")))
    assert page.flashed("info") == [
        "This day is signed off. Every change to it is a correction: give the reason; it stays "
        "in the day's history. Back to the day as signed off"
    ]
    assert not page.forms_to(day_url(what="/sign-off"))
    for name, action in DAY_ACTIONS.items():
        [form] = page.forms_to(day_url(what=action))
        assert f"{name}-correction_reason" in form.names(), name


def test_a_day_cannot_be_signed_off_twice(as_admin, session):
    sign_off(session)
    events = count(session, DailyLogEvent)

    response = as_admin.post(day_url(what="/sign-off"))

    assert response.status_code == 302
    page = read(as_admin.get(day_url()))
    [message] = page.flashed("error")
    assert message.startswith("The log of 2018-10-10 was already signed off on 2018-")
    assert count(session, DailyLogEvent) == events


def test_a_draft_day_asks_for_no_correction_reason(as_admin, session):
    page = read(as_admin.get(day_url()))

    assert page.forms_to(day_url(what="/sign-off"))
    for action in DAY_ACTIONS.values():
        [form] = page.forms_to(day_url(what=action))
        assert not any(name.endswith("correction_reason") for name in form.names())


DAY_ACTIONS = {
    "receipt": "/receipts",
    "issue": "/issues",
    "return": "/returns",
    "dip": "/dips",
    "hours": "/generator-hours",
    "reading": "/meter-readings",
    "notes": "/notes",
}


@pytest.fixture
def signed_off_day(session, tank, line, meter, generator):
    """2018-10-10 with fuel in the tank, one reading of each meter, signed off."""
    receive(session, tank, line, 5000, day=OCT(1))
    read_meter(session, meter, 99100, at(OCT(9), 9))
    services.record_generator_hours(
        session, generator, hours="1000", read_at=at(OCT(9), 8), actor=None, now=NOW
    )
    services.save_log(session, DAY, incidents="Quiet day.", notes="", actor=None, now=NOW)
    session.commit()
    sign_off(session)
    return DAY


def every_form(tank, line, meter, generator) -> dict[str, dict[str, str]]:
    return {
        "receipt": receipt_form(tank, line, "1000"),
        "issue": issue_form(tank, 300),
        "return": prefixed("return", {"tank": str(tank.id), "quantity": "200"}),
        "dip": dip_form(tank, 4990, "18:00"),
        "hours": hours_form(generator, "1010", "18:00"),
        "reading": reading_form(meter, 99200, "18:00"),
        "notes": notes_form("A busy day after all.", ""),
    }


def log_of(session, day: date = DAY) -> DailyLog:
    return session.scalars(select(DailyLog).where(DailyLog.log_on == day)).one()


def what_the_day_holds(session) -> tuple:
    session.expire_all()
    log = log_of(session)
    return (
        count(session, StockMovement),
        count(session, DrawdownEntry),
        count(session, DipReading),
        count(session, GeneratorReading),
        count(session, MeterReading),
        count(session, DailyLogEvent),
        log.incidents,
        services.stock.book_stock(session, session.scalars(select(Store)).one()),
    )


@pytest.mark.parametrize("form", list(DAY_ACTIONS))
def test_after_sign_off_a_change_without_a_reason_is_refused_and_changes_nothing(
    as_admin, session, signed_off_day, tank, line, meter, generator, form
):
    before = what_the_day_holds(session)

    response = as_admin.post(
        day_url(what=DAY_ACTIONS[form]), data=every_form(tank, line, meter, generator)[form]
    )

    assert response.status_code == 422
    page = read(response)
    assert page.errors == {
        f"{form}-correction_reason": [
            "The log of 2018-10-10 is signed off; a change to it is a correction: give the reason."
        ]
    }
    assert what_the_day_holds(session) == before
    assert log_of(session).status is LogStatus.SIGNED_OFF


@pytest.mark.parametrize("form", list(DAY_ACTIONS))
def test_after_sign_off_a_change_with_a_reason_is_a_correction_in_the_days_history(
    as_admin, session, signed_off_day, tank, line, meter, generator, form
):
    before = what_the_day_holds(session)
    data = every_form(tank, line, meter, generator)[form]
    data[f"{form}-correction_reason"] = f"Found on the paper log ({form})."

    response = as_admin.post(day_url(what=DAY_ACTIONS[form]), data=data)

    assert response.status_code == 302
    assert what_the_day_holds(session) != before
    page = read(as_admin.get(day_url()))
    last = page.cells_of("History of the day")[-1]
    assert last[1].text == "Admin Kim"
    assert [b.text for b in last[2].badges] == ["correction"]
    assert last[3].text == f"Found on the paper log ({form})."
    event = session.scalars(select(DailyLogEvent).order_by(DailyLogEvent.id.desc())).first()
    assert event.reason == f"Found on the paper log ({form})."
    assert log_of(session).status is LogStatus.SIGNED_OFF


def test_after_sign_off_a_correction_keeps_the_values_when_refused(
    as_admin, session, signed_off_day, tank, line, meter, generator
):
    response = as_admin.post(day_url(what="/issues"), data=issue_form(tank, 300, note="Boiler"))

    page = read(response)
    assert (page.values["issue-quantity"], page.values["issue-note"]) == ("300", "Boiler")
    assert page.selected("issue-use") == "boiler"


def test_voiding_after_sign_off_is_a_correction_with_the_void_reason(as_admin, session, tank, line):
    receive(session, tank, line, 1000, day=OCT(1))
    movement = issue(session, tank, 400)
    sign_off(session)

    as_admin.post(f"/operations/movements/{movement.id}/void", data={"reason": "Wrong tank."})

    assert fresh(session, movement).voided_at is not None
    row = read(as_admin.get(day_url())).cells_of("History of the day")[-1]
    assert (row[2].text, row[3].text) == ("issue voided correction", "Wrong tank.")


# --- the daily log: read-only days and where a correction goes -----------------------------


READ_ONLY = "This day is signed off, so it is shown read-only."
TO_CORRECT = (
    "A change to it now is a correction: it needs its reason, and stays in the day's history."
)


def test_a_signed_off_day_shows_no_form_says_why_and_links_to_its_correction_page(
    as_admin, session, signed_off_day, tank
):
    issue(session, tank, 300, correction_reason="Found on the paper log.")

    page = read(as_admin.get(day_url()))

    assert page.operations_forms() == []  # no form to fill in only to be refused, no void
    assert page.flashed("info") == [f"{READ_ONLY} {TO_CORRECT} Record a correction"]
    assert (day_url(what="/correct"), "Record a correction") in page.links
    assert "Incidents: Quiet day." in page.text  # the notes read, not a form
    assert [row[0] for row in fuel_rows(page)] == ["issued"]


def test_the_correction_page_offers_every_form_and_the_voids_each_asking_the_reason(
    as_admin, session, signed_off_day, tank
):
    movement = issue(session, tank, 300, correction_reason="Found on the paper log.")

    response = as_admin.get(day_url(what="/correct"))

    assert response.status_code == 200
    page = read(response)
    for name, action in DAY_ACTIONS.items():
        [form] = page.forms_to(day_url(what=action))
        assert f"{name}-correction_reason" in form.names(), name
    assert void_actions(page) == [f"/operations/movements/{movement.id}/void"]
    assert not page.forms_to(day_url(what="/sign-off"))
    assert (day_url(), "Back to the day as signed off") in page.links


def test_a_correction_recorded_leads_back_to_the_correction_page(
    as_admin, session, signed_off_day, tank, line, meter, generator
):
    data = every_form(tank, line, meter, generator)["issue"]
    data["issue-correction_reason"] = "Found on the paper log."

    response = as_admin.post(day_url(what="/issues"), data=data)

    assert response.status_code == 302
    assert response.headers["Location"] == day_url(what="/correct") + "#issue"
    movement = session.scalars(select(StockMovement).where(StockMovement.use == "boiler")).one()
    voided = as_admin.post(
        f"/operations/movements/{movement.id}/void", data={"reason": "Entered twice."}
    )
    assert voided.headers["Location"] == day_url(what="/correct")


@pytest.mark.parametrize("signed", [False, True], ids=["draft day", "signed-off day"])
def test_a_day_of_a_month_the_reviewers_signed_off_shows_no_form_and_names_the_open_month(
    as_admin, session, tank, line, meter, generator, signed
):
    receive(session, tank, line, 1000, day=DAY)
    if signed:
        sign_off(session)
    session.add(SignedOffMonth(month=date(2018, 10, 1), signed_off_at=NOW))
    session.add(SignedOffMonth(month=date(2018, 11, 1), signed_off_at=NOW))
    session.commit()

    page = read(as_admin.get(day_url()))

    assert page.operations_forms() == []  # no form, no void, no sign-off, no correction
    assert page.flashed("info") == [
        "2018-10 is signed off by the ministry's reviewers, so this day is read-only: nothing "
        "dated in that month can change any more. A correction is recorded in the first open "
        "month, 2018-12. Open the daily log of 2018-12-01"
    ]
    assert ("/operations/days/2018-12-01", "Open the daily log of 2018-12-01") in page.links
    assert "Record a correction" not in page.text
    assert fuel_rows(page)[0][:3] == ["received", "Boiler tank", "1,000 L"]
    # the correction page of such a day is the day itself
    response = as_admin.get(day_url(what="/correct"))
    assert (response.status_code, response.headers["Location"]) == (302, day_url())


def test_a_form_posted_to_a_month_signed_off_meanwhile_shows_its_refusal_without_the_form(
    as_admin, session, tank
):
    page = read(as_admin.get(day_url()))
    assert page.forms_to(day_url(what="/dips"))
    session.add(SignedOffMonth(month=date(2018, 10, 1), signed_off_at=NOW))
    session.commit()

    response = as_admin.post(day_url(what="/dips"), data=dip_form(tank, 100))

    assert response.status_code == 422
    page = read(response)
    assert page.operations_forms() == []
    assert (
        "2018-10 is signed off by the ministry's reviewers and can no longer change; record a "
        "correction in 2018-11, the first open month." in page.text
    )
    assert count(session, DipReading) == 0


def test_the_correction_page_of_a_draft_day_is_the_day_itself(as_admin):
    response = as_admin.get(day_url(what="/correct"))

    assert (response.status_code, response.headers["Location"]) == (302, day_url())


def test_a_reviewer_reads_why_a_day_is_read_only_but_is_offered_no_correction(
    as_reviewer, session, signed_off_day
):
    page = read(as_reviewer.get(day_url()))

    assert page.flashed("info") == [READ_ONLY]
    assert page.operations_forms() == []
    assert as_reviewer.get(day_url(what="/correct")).status_code == 403


# --- the daily log: going to another day -----------------------------------------------------


def day_picker(page: Page) -> Form:
    [form] = [f for f in page.forms if f.action == "/operations/days"]
    return form


def test_the_day_page_offers_the_days_around_it_today_and_a_date_picker(as_admin):
    page = read(as_admin.get(day_url()))

    assert ("/operations/days/2018-10-09", "← 2018-10-09") in page.links
    assert ("/operations/days/2018-10-11", "2018-10-11 →") in page.links
    assert (day_url(today()), "Today") in page.links
    form = day_picker(page)
    assert form.method == "get"
    [date_input] = [f for f in form.fields if f.get("name") == "day"]
    assert (date_input["type"], date_input["value"]) == ("date", "2018-10-10")
    assert (date_input["min"], date_input["max"]) == ("2018-04-27", today().isoformat())
    # today's page goes back, not forward
    page = read(as_admin.get(day_url(today())))
    assert "Today" not in [text for _href, text in page.links]
    assert not [href for href, text in page.links if text.endswith("→")]


def test_the_day_picker_opens_the_day_chosen(as_admin):
    response = as_admin.get("/operations/days", query_string={"day": "2018-10-03", "back": "x"})

    assert response.status_code == 302
    assert response.headers["Location"] == day_url(OCT(3))


@pytest.mark.parametrize(
    ("chosen", "message"),
    [
        ("2018-02-30", "Give the day as YYYY-MM-DD, for example 2018-10-31."),
        ("10/03/2018", "Give the day as YYYY-MM-DD, for example 2018-10-31."),
        ("", "Give the day as YYYY-MM-DD, for example 2018-10-31."),
        ("2018-04-26", "The office's records run from 2018-04-27 to today"),
        ("tomorrow", "The office's records run from 2018-04-27 to today"),
    ],
)
def test_the_day_picker_refuses_a_day_that_is_not_one_beside_it(as_admin, chosen, message):
    if chosen == "tomorrow":
        chosen = (today() + timedelta(days=1)).isoformat()

    response = as_admin.get("/operations/days", query_string={"day": chosen, "back": "2018-10-10"})

    assert response.status_code == 422
    page = read(response)
    assert "Daily log 2018-10-10" in page.headings  # still on the day it was sent from
    [error] = page.errors["day-picker"]
    assert error.startswith(message)
    assert page.values["day-picker"] == chosen


def test_a_day_picker_sent_from_nowhere_known_refuses_on_todays_page(as_admin):
    response = as_admin.get("/operations/days", query_string={"day": "soon", "back": "2999-01-01"})

    assert response.status_code == 422
    assert f"Daily log {today().isoformat()}" in read(response).headings


# --- the daily log: what a receipt drew, and the page's shape ------------------------------


def test_a_receipt_row_names_its_waiver_line_and_the_status_the_waiver_had_when_drawn(
    as_admin, session, tank, line
):
    lot = receive(session, tank, line, 3000, day=OCT(1))
    waivers.change_waiver_status(
        session, line.waiver, WaiverStatus.EXPIRED, effective_on=OCT(5), actor=None, now=NOW
    )
    session.commit()

    page = read(as_admin.get(day_url(OCT(1))))

    [cells] = page.cells_of("Fuel")
    assert cells[4].text == (
        "3,000 · covered on the ledger "
        "UN Security Council sanctions (1718 Committee) covered MOU-T-FUEL · 1 · granted when drawn"
    )
    overall, under_the_un = cells[4].badges
    assert (overall.title, "bad" in overall.classes) == ("granted", False)
    assert (under_the_un.text, "ok" in under_the_un.classes) == ("covered", True)
    assert (f"/ledger/{lot.drawdown_entry_id}", "on the ledger") in page.links


class Tree(HTMLParser):
    """Each table of a page with the elements around it, and each <details> with its summary."""

    VOID = frozenset({"area", "br", "col", "hr", "img", "input", "link", "meta", "source", "wbr"})

    def __init__(self, markup: str) -> None:
        super().__init__()
        self.stack: list[tuple[str, dict[str, str]]] = []
        self.tables: list[tuple[str, list[tuple[str, dict[str, str]]]]] = []  # heading, around
        self.heading = ""
        self._heading: list[str] | None = None
        self.feed(markup)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.tables.append((self.heading, list(self.stack)))
        if tag in ("h1", "h2", "h3"):
            self._heading = []
        if tag not in self.VOID:
            self.stack.append((tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("h1", "h2", "h3") and self._heading is not None:
            self.heading, self._heading = squash("".join(self._heading)), None
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    def handle_data(self, data: str) -> None:
        if self._heading is not None:
            self._heading.append(data)

    def around(self, heading: str) -> list[tuple[str, dict[str, str]]]:
        [found] = [around for h, around in self.tables if h == heading]
        return found


def folds(around: list[tuple[str, dict[str, str]]]) -> list[dict[str, str]]:
    return [attributes for tag, attributes in around if tag == "details"]


def test_the_days_history_is_folded_shut_and_todays_work_stays_open(
    as_admin, session, signed_off_day, tank
):
    issue(session, tank, 300, correction_reason="Found on the paper log.")

    markup = as_admin.get(day_url()).get_data(as_text=True)

    tree = Tree(markup)
    [history_fold] = folds(tree.around("History of the day"))
    assert "open" not in history_fold
    summary = markup.split('<section id="history">')[1].split("</summary>")[0]
    assert squash(summary.split("<summary>")[1]) == "3 entries · 1 correction after sign-off"
    for heading in ("Fuel", "Dip readings", "Generator run hours", "Meter readings"):
        assert folds(tree.around(heading)) == [], heading
    # the corrections, like the rest of the history, are in the fold
    assert history(Page(markup))[-1][2:] == ["fuel issued correction", "Found on the paper log."]
    # and the correction page's forms are open
    tree = Tree(as_admin.get(day_url(what="/correct")).get_data(as_text=True))
    assert "open" not in folds(tree.around("History of the day"))[0]


def test_a_day_with_no_history_says_so_without_a_fold(as_admin):
    page = read(as_admin.get(day_url()))

    assert "History of the day Nothing yet." in page.text
    assert folds(Tree(page.markup).around("Fuel")) == []


FUEL_PAGES = [
    "/operations/days/2018-10-10",
    "/operations/days/2018-10-10/correct",
    "/operations/tanks",
    "/operations/tanks/{tank}",
    "/operations/equipment",
    "/operations/per-person?start=2018-10-01&end=2018-10-10",
    "/operations/petroleum?start=2018-10-01",
]


@pytest.mark.parametrize("path", FUEL_PAGES)
def test_every_table_of_the_fuel_pages_scrolls_in_a_named_box_a_keyboard_reaches(
    as_admin, session, signed_off_day, tank, line, meter, generator, path
):
    issue(session, tank, 300, correction_reason="Found on the paper log.")
    services.record_generator_hours(
        session,
        generator,
        hours="1010",
        read_at=at(DAY, 8),
        correction_reason="Found on the paper log.",
        actor=None,
        now=NOW,
    )
    session.commit()

    response = as_admin.get(path.format(tank=tank.id))

    assert response.status_code == 200
    tree = Tree(response.get_data(as_text=True))
    assert tree.tables
    labels = []
    for heading, around in tree.tables:
        tag, box = around[-1]  # the table's parent
        assert tag == "div" and "scroll-box" in box.get("class", "").split(), heading
        assert (box.get("tabindex"), box.get("role")) == ("0", "region"), heading
        assert box.get("aria-label"), heading
        labels.append(box["aria-label"])
    assert len(labels) == len(set(labels)), labels


def test_adding_a_generator_lists_it_with_its_rating_and_tank(as_admin, session, tank):
    response = as_admin.post(
        "/operations/generators",
        data=prefixed("generator", {"name": "Generator 2", "rated_lph": "19", "tank": tank.id}),
    )

    assert response.status_code == 302
    generator = session.scalars(select(Generator)).one()
    assert (generator.rated_lph, generator.tank_id) == (19, tank.id)
    page = read(as_admin.get("/operations/equipment"))
    assert page.flashed("success") == ["Generator added."]
    assert "Generator 2 · rated 19 L an hour · Boiler tank" in page.text


def test_a_generator_with_a_name_taken_is_refused_in_the_open_form(as_admin, session, generator):
    response = as_admin.post(
        "/operations/generators",
        data=prefixed("generator", {"name": "Generator 1", "rated_lph": "19", "tank": ""}),
    )

    assert response.status_code == 422
    page = read(response)
    assert page.errors == {"generator-name": ["A generator named Generator 1 already exists."]}
    assert "<details open><summary>Add a generator</summary>" in page.markup
    assert count(session, Generator) == 1


def meter_form(**changes) -> dict[str, str]:
    return prefixed(
        "meter",
        {
            "name": "Annex meter",
            "source": "grid_south",
            "waiver_line_id": "",
            "digits": "6",
            "multiplier": "10",
            "installed_on": "2018-10-02",
            "installed_at": "10:00",
            "first_value": "1200",
            **changes,
        },
    )


def test_a_grid_meter_without_a_waiver_line_is_refused(as_admin, session, power_line):
    response = as_admin.post("/operations/meters", data=meter_form())

    assert response.status_code == 422
    page = read(response)
    assert page.errors == {
        "meter-waiver_line_id": [
            "Power from the South's grid is drawn on a waiver line; choose it."
        ]
    }
    assert page.values["meter-name"] == "Annex meter"
    assert "<details open><summary>Add a meter</summary>" in page.markup
    assert count(session, Meter) == 0
    assert count(session, MeterReading) == 0


def test_a_grid_meter_on_a_waiver_line_is_added_with_its_first_reading(
    as_admin, session, power_line
):
    response = as_admin.post(
        "/operations/meters", data=meter_form(waiver_line_id=str(power_line.id))
    )

    assert response.status_code == 302
    meter = session.scalars(select(Meter)).one()
    assert (meter.source, meter.waiver_line_id, meter.digits, meter.multiplier) == (
        MeterSource.GRID_SOUTH,
        power_line.id,
        6,
        10,
    )
    page = read(as_admin.get("/operations/equipment"))
    assert page.flashed("success") == ["Meter added with its first reading."]
    assert page.rows_of("Electricity meters")[0] == [
        "Annex meter",
        "South's grid (waiver line)",
        "MOU-T-POWER · 1",
        "6",
        "10",
        "1,200 · 2018-10-02 10:00",
        "2018-10-02 –",
    ]
    assert [row[2] for row in history(read(as_admin.get(day_url(OCT(2)))))] == ["meter installed"]


def test_a_meter_installed_on_a_signed_off_day_is_a_correction(as_admin, session, power_line):
    sign_off(session, OCT(2))
    form = meter_form(waiver_line_id=str(power_line.id))

    refused = as_admin.post("/operations/meters", data=form)
    added = as_admin.post(
        "/operations/meters", data={**form, "meter-correction_reason": "Installed, not logged."}
    )

    assert refused.status_code == 422
    assert read(refused).errors == {
        "meter-correction_reason": [
            "The log of 2018-10-02 is signed off; a change to it is a correction: give the reason."
        ]
    }
    assert added.status_code == 302
    assert session.scalars(select(Meter)).one().name == "Annex meter"
    assert history(read(as_admin.get(day_url(OCT(2)))))[-1][2:] == [
        "meter installed correction",
        "Installed, not logged.",
    ]


def test_a_generator_meter_needs_no_waiver_line(as_admin, session):
    response = as_admin.post(
        "/operations/meters", data=meter_form(name="Generator 1 output", source="generator")
    )

    assert response.status_code == 302
    assert session.scalars(select(Meter)).one().waiver_line_id is None


def test_replacing_a_meter_counts_the_consumption_across_the_replacement(
    as_admin, session, meter, power_line
):
    read_meter(session, meter, 99100, at(OCT(3), 9))

    replaced = as_admin.post(
        f"/operations/meters/{meter.id}/replace",
        data=prefixed(
            f"replace-{meter.id}",
            {
                "final_value": "99300",
                "replaced_on": "2018-10-05",
                "replaced_at": "12:00",
                "name": "New incomer",
                "digits": "6",
                "multiplier": "1",
                "first_value": "10",
            },
        ),
    )
    new = session.scalars(select(Meter).where(Meter.name == "New incomer")).one()
    read_on = as_admin.post(
        day_url(OCT(6), "/meter-readings"), data=reading_form(new, 110, "09:00")
    )

    assert (replaced.status_code, read_on.status_code) == (302, 302)
    assert fresh(session, meter).removed_at == at(OCT(5), 12)
    assert (new.replaces_id, new.waiver_line_id) == (meter.id, power_line.id)
    day = read(as_admin.get(day_url(OCT(5))))
    assert readings(day) == [
        ["2018-10-05 12:00", "Main incomer (final)", "99,300", "200"],
        ["2018-10-05 12:00", "New incomer (first)", "10", "-"],
    ]
    assert readings(read(as_admin.get(day_url(OCT(6))))) == [
        ["2018-10-06 09:00", "New incomer", "110", "100"]
    ]
    # 100 + 200 + 100 kWh drawn on the line, one entry per interval
    assert [
        e.base_quantity for e in session.scalars(select(DrawdownEntry).order_by(DrawdownEntry.seq))
    ] == [100, 200, 100]
    assert fresh(session, power_line).used_base == 400
    per_day = services.electricity_per_day(session, OCT(1), OCT(6))
    assert sum(per_day.values()) == pytest.approx(Decimal(400), abs=Decimal("0.01"))
    equipment = read(as_admin.get("/operations/equipment"))
    meters = equipment.rows_of("Electricity meters")
    assert [row[0] for row in meters if len(row) == 7] == ["New incomer", "Main incomer"]
    assert meters[-1][6] == "2018-10-01 – 2018-10-05"


def test_a_replaced_meter_takes_no_more_readings(as_admin, session, meter):
    services.replace_meter(
        session,
        meter,
        final_value="99300",
        final_rolled_over=False,
        at=at(OCT(5), 12),
        name="New incomer",
        digits=6,
        multiplier="1",
        first_value="10",
        actor=None,
        now=NOW,
    )
    session.commit()

    page = read(as_admin.get(day_url()))

    assert [text for _value, text, _chosen in page.options["reading-meter"]] == ["New incomer"]


def test_burn_checks_flag_a_generator_off_its_rating_by_more_than_15_percent(
    as_admin, session, tank, open_line, generator
):
    now = utcnow()
    first = today() - timedelta(days=4)
    receive(session, tank, open_line, 5000, day=first - timedelta(days=1), now=now)
    # Read each morning; a day's fuel burns before the next morning's reading. Expected: ten
    # hours a day at 38 L an hour, 380 L.
    for n, litres in enumerate([380, 500, 323, None]):
        day = first + timedelta(days=n)
        services.record_generator_hours(
            session, generator, hours=1000 + 10 * n, read_at=at(day, 8), actor=None, now=now
        )
        if litres:
            issue(session, tank, litres, day=day, now=now, use="generator", generator=generator)
        session.commit()

    page = read(as_admin.get("/operations/equipment"))

    checks = page.cells_of("Generators")
    assert [[c.text for c in row[1:]] for row in checks] == [
        ["10", "380", "380", "0%"],
        ["10", "380", "500", "31.6% beyond 15%"],
        ["10", "380", "323", "-15%"],  # exactly 15% off: not beyond
    ]
    assert checks[0][0].text == f"{first.isoformat()} 08:00 – {first + timedelta(days=1)} 08:00"


# --- per person-day -----------------------------------------------------------------------


def test_per_person_day_divides_the_litres_and_kwh_by_the_people_on_site(
    as_admin, session, tank, line, meter
):
    for _ in range(3):
        stay(session, make_person(session), OCT(9), OCT(11))
    stay(session, make_person(session), OCT(10), OCT(10))
    stay(session, make_person(session, Side.NORTH), OCT(9), OCT(11))  # not counted
    receive(session, tank, line, 3000, day=OCT(1))
    issue(session, tank, 1000, day=OCT(10))
    issue(session, tank, 500, day=OCT(11))
    read_meter(session, meter, 99080, at(OCT(9), 0))
    read_meter(session, meter, 99560, at(OCT(11), 0))  # 480 kWh over 10-09 and 10-10

    response = as_admin.get("/operations/per-person?start=2018-10-09&end=2018-10-11")

    assert response.status_code == 200
    page = read(response)
    assert page.rows_of("Fuel and electricity per person on site") == [
        ["2018-10-09", "3", "0", "240", "0", "80"],
        ["2018-10-10", "4", "1,000", "240", "250", "60"],
        ["2018-10-11", "3", "500", "0", "166.7", "0"],
    ]
    assert page.charts == ["Litres per person-day", "kWh per person-day"]
    assert page.bars == 4  # one for each day with a value above zero
    assert "10-10: 250 L" in page.markup and "2018-10-09: 80 kWh" in page.markup


def test_per_person_day_with_nobody_on_site_shows_a_dash(as_admin, session, tank, line):
    receive(session, tank, line, 3000, day=OCT(1))
    issue(session, tank, 1000, day=OCT(10))

    page = read(as_admin.get("/operations/per-person?start=2018-10-10&end=2018-10-10"))

    assert page.rows_of("Fuel and electricity per person on site") == [
        ["2018-10-10", "0", "1,000", "0", "-", "-"]
    ]
    assert page.bars == 0


@pytest.mark.parametrize(
    ("query", "beside", "message"),
    [
        ("start=2018-10-11&end=2018-10-09", None, "Choose a period of at most a year"),
        ("start=2017-10-01&end=2018-10-09", None, "Choose a period of at most a year"),
        ("start=2018-13-01&end=2018-10-09", "start", "Not a valid date value."),
    ],
    ids=["backwards", "over a year", "not a date"],
)
def test_per_person_day_with_a_bad_period_answers_422_with_a_message(
    as_admin, query, beside, message
):
    response = as_admin.get(f"/operations/per-person?{query}")

    assert response.status_code == 422
    page = read(response)
    [form] = page.forms_to("/operations/per-person")
    shown = page.errors[beside] if beside else form.errors
    assert len(shown) == 1 and shown[0].startswith(message)


# --- the UN petroleum notification ---------------------------------------------------------

REPORT = "/operations/petroleum?start=2018-09-28"  # the period 2018-09-28 to 2018-10-27


def report_tables(page: Page) -> tuple[list[list[str]], list[list[str]], list[list[str]]]:
    """The products, the transfers and the returns of the report page."""
    return (
        page.rows_of("2018-09-28 – 2018-10-27"),
        page.rows_of("Transfers"),
        page.rows_of("Returns south"),
    )


def test_petroleum_report_gives_each_transfer_in_litres_tonnes_and_barrels(
    as_admin, session, tank, line
):
    lot = receive(session, tank, line, 1000, day=DAY)
    seq = lot.drawdown_entry.seq
    receive(session, tank, line, 500, day=OCT(27))
    receive(session, tank, line, 700, day=OCT(28))  # the next period

    response = as_admin.get(REPORT)

    assert response.status_code == 200
    products, transfers, returns = report_tables(read(response))
    # 1,000 L = 6.29 bbl (158.987 L each) = 0.870 t at 7.23 bbl/t; the page drops trailing
    # zeros (the CSV keeps them)
    assert products == [
        ["Diesel", "2710.19", "1,500", "1.305", "9.43", "7.23, the product's own", "0"]
    ]
    assert transfers == [
        ["2018-10-10", "diesel", "1,000", "0.87", "6.29", "MOU-T-FUEL", TANKER, str(seq)],
        ["2018-10-27", "diesel", "500", "0.435", "3.14", "MOU-T-FUEL", TANKER, str(seq + 1)],
    ]
    assert returns == [["None."]]


def test_petroleum_report_lists_returns_apart_and_does_not_net_them(as_admin, session, tank, line):
    receive(session, tank, line, 1000, day=DAY)
    services.return_fuel(
        session,
        tank,
        quantity="400",
        returned_on=OCT(12),
        parties="Hyundai Asan tanker",
        actor=None,
        now=NOW,
    )
    session.commit()

    products, transfers, returns = report_tables(read(as_admin.get(REPORT)))

    assert products == [
        ["Diesel", "2710.19", "1,000", "0.87", "6.29", "7.23, the product's own", "400"]
    ]
    assert [row[2] for row in transfers] == ["1,000"]
    assert returns == [["2018-10-12", "diesel", "400", "0.348", "2.52", "Hyundai Asan tanker"]]


def test_a_voided_receipt_is_no_longer_counted_in_the_petroleum_report(
    as_admin, session, tank, line
):
    lot = receive(session, tank, line, 1000, day=DAY)
    movement = session.scalars(select(StockMovement).where(StockMovement.lot_id == lot.id)).one()

    as_admin.post(f"/operations/movements/{movement.id}/void", data={"reason": "Wrong day."})

    assert count(session, DrawdownEntry, DrawdownEntry.reverses_id == lot.drawdown_entry_id) == 1
    products, transfers, _returns = report_tables(read(as_admin.get(REPORT)))
    assert products == [["No refined petroleum went north in this period."]]
    assert transfers == [["None."]]


def test_petroleum_report_offers_the_periods_of_the_year_from_1_january(as_admin):
    page = read(as_admin.get(REPORT))

    offered = page.options["start"]
    assert offered[0][:2] == ("2018-01-01", "2018-01-01 – 2018-01-30")
    assert offered[-1][:2] == ("2018-12-27", "2018-12-27 – 2019-01-25")
    assert len(offered) == 13
    assert page.selected("start") == "2018-09-28"
    assert ("/operations/petroleum.csv?start=2018-09-28", "CSV") in page.links


def test_petroleum_report_covers_the_30_days_from_any_day_chosen(as_admin, session, tank, line):
    receive(session, tank, line, 1000, day=DAY)  # 2018-10-10
    receive(session, tank, line, 500, day=OCT(28))
    receive(session, tank, line, 700, day=date(2018, 11, 9))  # the 31st day: outside

    page = read(as_admin.get("/operations/petroleum?start=2018-10-10"))

    assert "2018-10-10 – 2018-11-08" in page.text
    assert [row[0] for row in page.rows_of("Transfers")] == ["2018-10-10", "2018-10-28"]
    # The chosen period leads the periods counted from 1 January, selected.
    assert page.selected("start") == "2018-10-10"
    assert page.options["start"][1][0] == "2018-01-01"
    assert ("/operations/petroleum?start=2018-09-10", "Previous 30 days") in page.links
    assert ("/operations/petroleum?start=2018-11-09", "Next 30 days") in page.links
    assert ("/operations/petroleum.csv?start=2018-10-10", "CSV") in page.links
    csv_response = as_admin.get("/operations/petroleum.csv?start=2018-10-10")
    assert (
        'filename="petroleum-2018-10-10-2018-11-08.csv"'
        in csv_response.headers["Content-Disposition"]
    )


def test_petroleum_report_opens_on_the_period_from_1_january_that_holds_today(as_admin):
    page = read(as_admin.get("/operations/petroleum"))

    start, end = report.period_of(office_date(utcnow()))
    assert f"{start.isoformat()} – {end.isoformat()}" in page.text
    assert page.selected("start") == start.isoformat()


def test_petroleum_csv_has_a_bom_and_the_same_numbers(as_admin, session, tank, line):
    lot = receive(session, tank, line, 1000, day=DAY)
    services.return_fuel(
        session,
        tank,
        quantity="400",
        returned_on=OCT(12),
        parties="Hyundai Asan tanker",
        actor=None,
        now=NOW,
    )
    session.commit()

    response = as_admin.get("/operations/petroleum.csv?start=2018-09-28")

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="petroleum-2018-09-28-2018-10-27.csv"'
    )
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))
    assert [
        (r["kind"], r["date"], r["litres"], r["tonnes"], r["barrels"], r["barrels_per_tonne"])
        for r in rows
    ] == [
        ("transfer", "2018-10-10", "1000.0", "0.870", "6.29", "7.23"),
        ("return", "2018-10-12", "400.0", "0.348", "2.52", "7.23"),
    ]
    assert rows[0]["un_authorisation"] == "MOU-T-FUEL"
    assert rows[0]["parties"] == TANKER
    assert rows[0]["ledger_entry"] == str(lot.drawdown_entry.seq)
    assert rows[1]["parties"] == "Hyundai Asan tanker"


@pytest.mark.parametrize("start", ["2018-02-30", "tomorrow", "1999-12-31"])
def test_petroleum_report_with_a_bad_start_date_answers_422_with_a_message(as_admin, start):
    response = as_admin.get(f"/operations/petroleum?start={start}")

    assert response.status_code == 422
    assert read(response).flashed("error") == ["Choose the period by a date written YYYY-MM-DD."]


# --- what a reviewer sees -----------------------------------------------------------------


def test_a_reviewer_sees_the_day_read_only(as_reviewer, session, tank, line, meter):
    receive(session, tank, line, 2000, day=DAY)
    read_meter(session, meter, 99100, at(DAY, 9))
    services.save_log(
        session, DAY, incidents="Grid tripped.", notes="Boiler serviced.", actor=None, now=NOW
    )
    session.commit()

    response = as_reviewer.get(day_url())

    assert response.status_code == 200
    page = read(response)
    assert page.operations_forms() == []
    assert "Sign off this day" not in page.text and "Void" not in page.text
    assert "Incidents: Grid tripped." in page.text and "Notes: Boiler serviced." in page.text
    assert fuel_rows(page)[0][:3] == ["received", "Boiler tank", "2,000 L"]
    assert readings(page) == [["2018-10-10 09:00", "Main incomer", "99,100", "100"]]


@pytest.mark.parametrize("path", ["/operations/tanks", "/operations/equipment"])
def test_a_reviewer_sees_tanks_and_equipment_without_forms(
    as_reviewer, session, tank, meter, generator, path
):
    response = as_reviewer.get(path)

    assert response.status_code == 200
    page = read(response)
    assert page.operations_forms() == []
    assert "Boiler tank" in page.text
    assert "Add a tank" not in page.text and "Add a generator" not in page.text
    assert "Replace Main incomer" not in page.text


def test_a_reviewer_cannot_record_and_nothing_changes(as_reviewer, session, tank, line):
    response = as_reviewer.post(day_url(what="/receipts"), data=receipt_form(tank, line))

    assert response.status_code == 403
    assert count(session, StockLot) == 0
    assert count(session, DrawdownEntry) == 0


# --- addresses ----------------------------------------------------------------------------


def test_today_opens_the_daily_log_of_today(as_admin):
    response = as_admin.get("/operations/today")

    assert response.status_code == 302
    assert response.headers["Location"] == day_url(today())


@pytest.mark.parametrize("day", ["2018-02-30", "yesterday", "1999-12-31", "tomorrow"])
def test_a_day_that_is_not_a_past_date_is_not_found(as_admin, day):
    if day == "tomorrow":
        day = (today() + timedelta(days=1)).isoformat()

    assert as_admin.get(f"/operations/days/{day}").status_code == 404
    assert as_admin.post(f"/operations/days/{day}/notes", data=notes_form("x")).status_code == 404
