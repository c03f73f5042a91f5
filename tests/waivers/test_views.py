"""The catalogue, waiver and ledger pages as reviewers and administrators use them: what each
page says, the status it answers, and whether the database changed."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from sqlalchemy import func, select

from office.auth import services as auth_services
from office.auth.models import ApiToken
from office.auth.permissions import Role
from office.db import utcnow
from office.i18n import office_date
from office.jobs.models import Job
from office.waivers import services
from office.waivers.models import (
    Classification,
    Control,
    DrawdownEntry,
    HsRule,
    Resource,
    Waiver,
    WaiverLine,
    WaiverStatus,
)
from office.waivers.queries import EXPORT_COLUMNS
from tests.conftest import log_in
from tests.factories import NOW, draw, make_resource, make_rice, make_user, make_waiver
from tests.jobs import fetched

# The export's header: the entry's columns, then each regime's (all three, in force or not).
HEADER = [
    *EXPORT_COLUMNS,
    *(
        f"{code}_{part}"
        for code in ("un", "rok", "us")
        for part in ("classification", "waiver", "line_no")
    ),
]

S = WaiverStatus


def squash(text: str) -> str:
    return " ".join(text.split())


INLINE = frozenset({"a", "abbr", "b", "code", "em", "i", "strong"})


class Page(HTMLParser):
    """What a test reads of an HTML page: its text, table rows, form values, inline errors."""

    def __init__(self, markup: str) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.rows: list[list[str]] = []
        self.values: dict[str, str] = {}  # by element id: input value, textarea text, selection
        self.options: dict[str, list[str]] = {}  # select id -> the values it offers
        self.errors: dict[str, str] = {}  # field id -> the error shown beside it
        self._open: list[tuple[str, str, list[str]]] = []
        self._select: str | None = None
        self.feed(markup)
        self.close()
        self.text = squash("".join(self.parts))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in INLINE:
            self.parts.append(" ")
        attributes = dict(attrs)
        ident = attributes.get("id") or ""
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._open.append((tag, "", []))
        elif tag == "textarea" or (tag == "small" and ident.endswith("-error")):
            self._open.append((tag, ident, []))
        elif tag == "input" and ident:
            self.values[ident] = attributes.get("value") or ""
        elif tag == "select":
            self._select = ident
            self.options[ident] = []
            self.values[ident] = ""
        elif tag == "option" and self._select is not None:
            self.options[self._select].append(attributes.get("value") or "")
            if "selected" in attributes:
                self.values[self._select] = attributes.get("value") or ""

    def handle_endtag(self, tag: str) -> None:
        if tag not in INLINE:
            self.parts.append(" ")
        if tag == "select":
            self._select = None
        if not self._open or self._open[-1][0] != tag:
            return
        _tag, ident, text = self._open.pop()
        if tag in ("td", "th"):
            if self.rows:
                self.rows[-1].append(squash("".join(text)))
        elif tag == "textarea":
            self.values[ident] = "".join(text).lstrip("\r\n")
        else:
            self.errors[ident.removesuffix("-error")] = squash("".join(text))

    def handle_data(self, data: str) -> None:
        self.parts.append(data)
        for _tag, _ident, text in self._open:
            text.append(data)

    def row(self, first_cell: str) -> list[str]:
        """Return the first table row whose first cell is `first_cell`."""
        return next(row for row in self.rows if row and row[0] == first_cell)


def read(response) -> Page:
    return Page(response.get_data(as_text=True))


def entry_count(session) -> int:
    return session.scalar(select(func.count()).select_from(DrawdownEntry))


def entry_ids(response) -> list[int]:
    """The ledger entries listed on a page, in page order."""
    return [int(x) for x in re.findall(r'href="/ledger/(\d+)"', response.get_data(as_text=True))]


def today() -> date:
    return office_date(utcnow())


@pytest.fixture
def admin(session):
    return make_user(session, Role.ADMIN, name="Admin Kim")


@pytest.fixture
def reviewer(session):
    return make_user(session, Role.REVIEWER, name="Reviewer Park")


@pytest.fixture
def as_admin(client, admin):
    return log_in(client, admin)


@pytest.fixture
def as_reviewer(client, reviewer):
    return log_in(client, reviewer)


@pytest.fixture
def diesel(session):
    return make_resource(session)


@pytest.fixture
def line(session, diesel) -> WaiverLine:
    """Line 1 of a granted waiver: 10,000 L of diesel, valid through 2018."""
    return make_waiver(session, [(diesel, "L", "10000", "10000")], reference="MOU-T-1").lines[0]


# --- waivers: list and detail -------------------------------------------------------------


def test_the_waiver_list_shows_each_lines_granted_used_and_remaining(as_reviewer, session, diesel):
    granted = make_waiver(session, [(diesel, "L", "10000", "8000")], reference="MOU-T-LIST")
    make_waiver(session, [(diesel, "L", "300", None)], status=S.DRAFT, reference="MOU-T-DRAFT")
    draw(session, diesel, "2500", line=granted.lines[0])

    response = as_reviewer.get("/waivers/")
    assert response.status_code == 200
    page = read(response)
    assert "MOU-T-LIST" in page.text and "MOU-T-DRAFT" in page.text
    lines = [row[:6] for row in page.rows if row and row[0] == "1"]
    assert ["1", "Diesel (diesel)", "10,000 L", "8,000 L", "2,500 L", "5,500 L"] in lines
    assert ["1", "Diesel (diesel)", "300 L", "-", "0 L", "-"] in lines


def test_the_waiver_detail_shows_usage_and_status_history(as_reviewer, session, diesel, reviewer):
    waiver = make_waiver(session, [(diesel, "L", "10000", None)], status=S.DRAFT)
    for status, day, note in ((S.REQUESTED, 5, "Filed"), (S.GRANTED, 9, "Approved in full")):
        services.change_waiver_status(
            session,
            waiver,
            status,
            effective_on=date(2018, 9, day),
            note=note,
            actor=reviewer,
            now=NOW,
        )
    session.commit()
    draw(session, diesel, "1200.5", line=waiver.lines[0])

    page = read(as_reviewer.get(f"/waivers/{waiver.id}"))
    usage = ["10,000 L", "10,000 L", "1,200.5 L", "8,799.5 L"]  # requested, granted, used, left
    assert page.row("1")[:6] == ["1", "Diesel (diesel)", *usage]
    history = [row[1:] for row in page.rows if len(row) == 5 and row[0] != "When"]
    assert ["2018-09-05", "draft → requested", "Reviewer Park", "Filed"] in history
    assert ["2018-09-09", "requested → granted", "Reviewer Park", "Approved in full"] in history
    # Granted, and valid through 2018: today the badge says it has expired, its history not.
    assert f"{waiver.reference} expired: valid until 2018-12-31" in page.text


def test_an_unknown_waiver_is_not_found(as_reviewer):
    assert as_reviewer.get("/waivers/999999").status_code == 404


# --- waivers: a reviewer creates one, adds lines, grants and decides ------------------------

NEW_WAIVER = {
    "reference": "MOU-2018-1105",
    "authority": "rok_mou_individual",
    "title": "Winter diesel",
    "purpose": "Heating the office",
    "valid_from": "2018-11-01",
    "valid_until": "2019-03-31",
}


def test_a_reviewer_creates_a_waiver_as_a_draft(as_reviewer, session):
    response = as_reviewer.post("/waivers/new", data=NEW_WAIVER, follow_redirects=True)
    waiver = session.scalar(select(Waiver).where(Waiver.reference == "MOU-2018-1105"))
    assert waiver is not None and waiver.status is S.DRAFT
    assert (waiver.valid_from, waiver.valid_until) == (date(2018, 11, 1), date(2019, 3, 31))
    assert response.history[0].status_code == 302
    assert response.request.path == f"/waivers/{waiver.id}"
    assert "Waiver MOU-2018-1105 created as a draft; add its lines." in read(response).text


def test_waiver_form_errors_are_shown_beside_their_fields_and_keep_the_values(as_reviewer, session):
    data = {**NEW_WAIVER, "title": "", "valid_from": "2018-02-30"}
    response = as_reviewer.post("/waivers/new", data=data)
    assert response.status_code == 422
    page = read(response)
    assert page.errors["title"] == "This field is required."
    assert page.errors["valid_from"] == "Not a valid date value."
    assert page.values["reference"] == "MOU-2018-1105"
    assert page.values["valid_from"] == "2018-02-30"
    assert page.values["purpose"] == "Heating the office"
    assert page.values["authority"] == "rok_mou_individual"
    assert session.scalar(select(func.count()).select_from(Waiver)) == 0


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (
            {"valid_until": "2018-10-01"},
            "valid_until",
            "The waiver cannot end (2018-10-01) before it starts (2018-11-01).",
        ),
        ({"reference": "MOU-T-1"}, "reference", "A waiver with the reference MOU-T-1 already"),
        ({"reference": "bad*ref"}, "reference", "A reference has 1 to 60 letters"),
    ],
)
def test_a_waiver_the_rules_refuse_is_shown_beside_the_field(
    as_reviewer, session, line, change, field, message
):
    response = as_reviewer.post("/waivers/new", data={**NEW_WAIVER, **change})
    assert response.status_code == 422
    page = read(response)
    assert page.errors[field].startswith(message)
    assert page.values["title"] == "Winter diesel"
    assert session.scalar(select(func.count()).select_from(Waiver)) == 1  # only MOU-T-1


def test_an_administrator_cannot_create_a_waiver(as_admin, session):
    assert as_admin.get("/waivers/new").status_code == 403
    assert as_admin.post("/waivers/new", data=NEW_WAIVER).status_code == 403
    assert session.scalar(select(func.count()).select_from(Waiver)) == 0


@pytest.fixture
def draft(session, diesel) -> Waiver:
    return make_waiver(session, [(diesel, "L", "5000", None)], status=S.DRAFT, reference="DRAFT-1")


def test_a_reviewer_adds_a_line_to_a_draft(as_reviewer, session, draft, diesel):
    rice = make_rice(session)
    data = {"resource": str(rice.id), "unit": "t", "requested_quantity": "12.5"}
    response = as_reviewer.post(
        f"/waivers/{draft.id}/lines",
        data={**data, "granted_quantity": "", "value_cap_usd": "12,000.50"},
        follow_redirects=True,
    )
    assert response.request.path == f"/waivers/{draft.id}"
    page = read(response)
    assert "Line 2 added." in page.text
    assert page.row("2")[:6] == ["2", "Rice (rice)", "12.5 t", "-", "0 t", "-"]
    added = session.scalar(
        select(WaiverLine).where(WaiverLine.waiver_id == draft.id, WaiverLine.line_no == 2)
    )
    assert added.resource_id == rice.id and added.requested_quantity == Decimal("12.5")
    assert added.value_cap_usd_cents == 1200050


@pytest.mark.parametrize(
    ("change", "where", "message"),
    [
        ({"requested_quantity": "abc"}, None, "Enter the quantity as a decimal number."),
        ({"requested_quantity": ""}, "requested_quantity", "This field is required."),
        ({"unit": "kWh"}, "unit", "Line 2: kWh does not convert to L, the unit of diesel."),
        ({"granted_quantity": "6000"}, "granted_quantity", "Line 2: the granted quantity"),
        ({"value_cap_usd": "12.345"}, "value_cap_usd", "Enter the value cap in US dollars"),
    ],
)
def test_a_line_that_makes_no_sense_is_refused_with_the_message_and_keeps_the_values(
    as_reviewer, session, draft, diesel, change, where, message
):
    data = {"resource": str(diesel.id), "unit": "L", "requested_quantity": "5000", **change}
    response = as_reviewer.post(f"/waivers/{draft.id}/lines", data=data)
    assert response.status_code == 422
    page = read(response)
    shown = page.errors[where] if where else page.text
    assert message in shown
    assert page.values["requested_quantity"] == data["requested_quantity"]
    assert page.values["resource"] == str(diesel.id)
    assert session.scalar(select(func.count()).select_from(WaiverLine)) == 1


def test_a_reviewer_sets_a_granted_quantity(as_reviewer, session, draft):
    target = draft.lines[0]
    response = as_reviewer.post(
        f"/waivers/{draft.id}/lines/{target.id}",
        data={"granted_quantity": "4000"},
        follow_redirects=True,
    )
    assert "Line 1 saved." in read(response).text
    session.refresh(target)
    assert target.granted_quantity == Decimal(4000)
    usage = ["5,000 L", "4,000 L", "0 L", "4,000 L"]  # requested, granted, used, left
    assert read(response).row("1")[:6] == ["1", "Diesel (diesel)", *usage]


def test_a_granted_quantity_over_the_request_is_refused_beside_its_line(
    as_reviewer, session, draft
):
    target = draft.lines[0]
    response = as_reviewer.post(
        f"/waivers/{draft.id}/lines/{target.id}", data={"granted_quantity": "5000.5"}
    )
    assert response.status_code == 422
    page = read(response)
    assert "The granted quantity cannot exceed the requested 5,000 L." in page.text
    assert page.values[f"granted-{target.id}"] == "5000.5"
    session.refresh(target)
    assert target.granted_quantity is None


def test_a_line_of_another_waiver_is_not_found(as_reviewer, session, draft, line):
    response = as_reviewer.post(
        f"/waivers/{draft.id}/lines/{line.id}", data={"granted_quantity": "1"}
    )
    assert response.status_code == 404
    session.refresh(line)
    assert line.granted_quantity == Decimal(10000)


def test_a_decided_waivers_lines_cannot_change_and_the_page_says_why(as_reviewer, session, line):
    # A page left open while someone else granted the waiver still posts the old forms.
    waiver = line.waiver
    response = as_reviewer.post(
        f"/waivers/{waiver.id}/lines/{line.id}", data={"granted_quantity": "5"}
    )
    assert response.status_code == 422
    assert "its lines can change only while it is a draft or requested" in read(response).text
    data = {"resource": str(line.resource_id), "unit": "L", "requested_quantity": "5"}
    response = as_reviewer.post(f"/waivers/{waiver.id}/lines", data=data)
    assert response.status_code == 422
    assert "its lines can change only while it is a draft or requested" in read(response).text
    session.refresh(line)
    assert line.granted_quantity == Decimal(10000)
    assert len(session.scalars(select(WaiverLine)).all()) == 1


def test_only_the_allowed_transitions_are_offered(as_reviewer, session, draft, diesel):
    page = read(as_reviewer.get(f"/waivers/{draft.id}"))
    assert set(page.options["status"]) == {"requested", "withdrawn"}
    assert page.values["effective_on"] == today().isoformat()
    denied = make_waiver(session, [(diesel, "L", "1", None)], status=S.DENIED)
    page = read(as_reviewer.get(f"/waivers/{denied.id}"))
    assert "status" not in page.options  # nothing left to decide: no status form at all


def test_an_allowed_transition_is_made_and_flashed(as_reviewer, session, draft):
    response = as_reviewer.post(
        f"/waivers/{draft.id}/status",
        data={"status": "requested", "effective_on": "2018-10-02", "note": "Sent by fax"},
        follow_redirects=True,
    )
    page = read(response)
    assert "Waiver DRAFT-1 is now requested." in page.text
    assert ["2018-10-02", "draft → requested", "Reviewer Park", "Sent by fax"] in [
        row[1:] for row in page.rows
    ]
    session.refresh(draft)
    assert draft.status is S.REQUESTED


def test_a_disallowed_transition_is_refused_and_changes_nothing(as_reviewer, session, draft):
    response = as_reviewer.post(
        f"/waivers/{draft.id}/status", data={"status": "granted", "effective_on": "2018-10-02"}
    )
    assert response.status_code == 422
    assert read(response).errors["status"] == "Not a valid choice."
    session.refresh(draft)
    assert draft.status is S.DRAFT
    assert len(draft.history) == 1


@pytest.mark.parametrize(
    ("effective_on", "message"),
    [
        ("tomorrow", "The effective date must be between 2000-01-01 and today."),
        ("2018-02-30", "Not a valid date value."),
        ("", "This field is required."),
    ],
)
def test_an_effective_date_that_makes_no_sense_is_refused_beside_the_field(
    as_reviewer, session, draft, effective_on, message
):
    if effective_on == "tomorrow":
        effective_on = (today() + timedelta(days=1)).isoformat()
    response = as_reviewer.post(
        f"/waivers/{draft.id}/status", data={"status": "requested", "effective_on": effective_on}
    )
    assert response.status_code == 422
    page = read(response)
    assert page.errors["effective_on"] == message
    assert page.values["effective_on"] == effective_on
    session.refresh(draft)
    assert draft.status is S.DRAFT


def test_a_partial_grant_without_granted_quantities_is_refused_with_the_message(
    as_reviewer, session, diesel
):
    waiver = make_waiver(session, [(diesel, "L", "5000", None)], status=S.REQUESTED)
    response = as_reviewer.post(
        f"/waivers/{waiver.id}/status",
        data={"status": "partially_granted", "effective_on": "2018-10-02"},
    )
    assert response.status_code == 422
    assert read(response).errors["status"] == (
        "Set the granted quantity of line 1 before recording a partial grant."
    )
    session.refresh(waiver)
    assert waiver.status is S.REQUESTED
    assert waiver.lines[0].granted_quantity is None


def test_a_partial_grant_after_setting_the_quantities_keeps_them(as_reviewer, session, diesel):
    waiver = make_waiver(session, [(diesel, "L", "5000", None)], status=S.REQUESTED)
    as_reviewer.post(
        f"/waivers/{waiver.id}/lines/{waiver.lines[0].id}", data={"granted_quantity": "2000"}
    )
    response = as_reviewer.post(
        f"/waivers/{waiver.id}/status",
        data={"status": "partially_granted", "effective_on": "2018-10-02"},
        follow_redirects=True,
    )
    assert "is now partially granted." in read(response).text
    session.refresh(waiver)
    assert waiver.status is S.PARTIALLY_GRANTED
    assert waiver.lines[0].granted_quantity == Decimal(2000)


def test_a_reviewer_edits_title_and_validity(as_reviewer, session, draft):
    response = as_reviewer.post(
        f"/waivers/{draft.id}",
        data={
            "title": "New title",
            "valid_from": "2018-09-01",
            "valid_until": "2018-08-01",
            "standing": "no",
        },
    )
    assert response.status_code == 422
    assert read(response).errors["valid_until"].startswith("The waiver cannot end (2018-08-01)")
    session.refresh(draft)
    assert draft.title == "Test waiver"
    response = as_reviewer.post(
        f"/waivers/{draft.id}",
        data={"title": "New title", "valid_until": "2019-01-31", "standing": "no"},
    )
    assert response.status_code == 302
    session.refresh(draft)
    assert (draft.title, draft.valid_from, draft.valid_until) == (
        "New title",
        None,
        date(2019, 1, 31),
    )


# --- the catalogue ------------------------------------------------------------------------

STEEL = {"code": "Steel", "name_ko": "철강재", "name_en": "Steel sections", "unit": "t"}


@pytest.mark.parametrize(
    ("hs_code", "control", "label"),
    [
        ("7216.10", Control.PROHIBITED, "prohibited"),
        ("2710.19", Control.CAPPED, "capped"),
        ("1006.30", Control.NONE, "not controlled"),
    ],
)
def test_adding_a_resource_derives_its_control_class(as_reviewer, session, hs_code, control, label):
    response = as_reviewer.post(
        "/resources/", data={**STEEL, "hs_code": hs_code}, follow_redirects=True
    )
    page = read(response)
    assert "Resource steel added." in page.text
    assert page.row("steel")[:5] == ["steel", "Steel sections", hs_code, "t", label]
    resource = services.find_resource(session, "steel")
    assert resource.control is control


def test_a_bad_hs_code_is_shown_beside_the_field_and_nothing_is_added(as_reviewer, session):
    response = as_reviewer.post("/resources/", data={**STEEL, "hs_code": "72AB"})
    assert response.status_code == 422
    page = read(response)
    assert page.errors["hs_code"] == ("An HS code has 4 to 10 digits (dots allowed), e.g. 2710.19.")
    assert (page.values["code"], page.values["hs_code"], page.values["unit"]) == (
        "Steel",
        "72AB",
        "t",
    )
    assert session.scalar(select(func.count()).select_from(Resource)) == 0


def test_editing_a_resource_prefills_it_and_reclassifies_it(as_reviewer, session, diesel):
    page = read(as_reviewer.get(f"/resources/{diesel.id}"))
    assert (page.values["code"], page.values["hs_code"], page.values["barrels_per_tonne"]) == (
        "diesel",
        "271019",
        "7.23",
    )
    data = {"code": "diesel", "name_ko": "경유", "name_en": "Diesel", "unit": "L"}
    response = as_reviewer.post(
        f"/resources/{diesel.id}",
        data={**data, "hs_code": "8502.11", "barrels_per_tonne": "7.5"},
        follow_redirects=True,
    )
    assert "Resource diesel saved." in read(response).text
    session.refresh(diesel)
    assert (diesel.hs_code, diesel.control, diesel.barrels_per_tonne) == (
        "850211",
        Control.PROHIBITED,
        Decimal("7.5"),
    )


def test_a_resource_with_lines_keeps_its_unit(as_reviewer, session, line, diesel):
    data = {"code": "diesel", "name_ko": "경유", "name_en": "Diesel", "hs_code": "2710.19"}
    response = as_reviewer.post(f"/resources/{diesel.id}", data={**data, "unit": "kg"})
    assert response.status_code == 422
    page = read(response)
    assert page.errors["unit"] == (
        "diesel already has waiver lines or ledger entries; its unit cannot change."
    )
    assert page.values["unit"] == "kg"
    session.refresh(diesel)
    assert diesel.unit.value == "L"


# The HS rules are kept on the regimes page, under the regime each belongs to.


def test_adding_and_removing_an_hs_rule_reclassifies_resources(as_reviewer, session):
    rice = make_rice(session)
    assert rice.control is Control.NONE
    response = as_reviewer.post(
        "/regimes/rules",
        data={"regime": "un", "prefix": "10.06", "control": "capped", "note": "Grain"},
        follow_redirects=True,
    )
    assert (
        "Rule for HS 1006 under UN Security Council sanctions (1718 Committee) saved; resources "
        "reclassified." in read(response).text
    )
    assert read(as_reviewer.get("/resources/")).row("rice")[4] == "capped"
    session.refresh(rice)
    assert rice.control is Control.CAPPED

    rule = session.scalar(select(HsRule).where(HsRule.prefix == "1006"))
    response = as_reviewer.post(f"/regimes/rules/{rule.id}/delete", follow_redirects=True)
    assert (
        "Rule for HS 1006 under UN Security Council sanctions (1718 Committee) removed; "
        "resources reclassified." in read(response).text
    )
    assert read(as_reviewer.get("/resources/")).row("rice")[4] == "not controlled"
    session.refresh(rice)
    assert rice.control is Control.NONE
    assert session.scalar(select(HsRule).where(HsRule.prefix == "1006")) is None


def test_a_bad_hs_prefix_is_refused_beside_the_field(as_reviewer, session):
    rules = session.scalar(select(func.count()).select_from(HsRule))
    response = as_reviewer.post(
        "/regimes/rules", data={"regime": "un", "prefix": "7", "control": "capped"}
    )
    assert response.status_code == 422
    page = read(response)
    assert page.errors["prefix"] == "An HS code has 2 to 10 digits (dots allowed), e.g. 2710.19."
    assert (page.values["prefix"], page.values["control"]) == ("7", "capped")
    assert session.scalar(select(func.count()).select_from(HsRule)) == rules


def test_saving_a_rule_for_a_prefix_that_has_one_changes_it(as_reviewer, session):
    steel = make_resource(session, "steel", hs_code="7216.10", unit="t", barrels_per_tonne=None)
    assert steel.control is Control.PROHIBITED
    rules = session.scalar(select(func.count()).select_from(HsRule))
    response = as_reviewer.post(
        "/regimes/rules",
        data={"regime": "un", "prefix": "72", "control": "none", "note": "Lifted"},
    )
    assert response.status_code == 302
    assert session.scalar(select(func.count()).select_from(HsRule)) == rules
    rule = session.scalar(select(HsRule).where(HsRule.prefix == "72"))
    session.refresh(rule)
    session.refresh(steel)
    assert (rule.control, rule.note, steel.control) == (Control.NONE, "Lifted", Control.NONE)


def test_an_administrator_reads_the_catalogue_but_cannot_change_it(as_admin, session, diesel):
    page = read(as_admin.get("/resources/"))
    assert "diesel" in page.text and "Add a resource" not in page.text
    assert as_admin.post("/resources/", data={**STEEL, "hs_code": "7216"}).status_code == 403
    assert services.find_resource(session, "steel") is None


# --- the drawdown form --------------------------------------------------------------------


def drawdown(line_or_resource, quantity="2500", action="record", **fields) -> dict[str, str]:
    if isinstance(line_or_resource, WaiverLine):
        resource_id, line_id = line_or_resource.resource_id, str(line_or_resource.id)
        regime = line_or_resource.waiver.regime.code
    else:
        resource_id, line_id, regime = line_or_resource.id, "", "un"
    return {
        "resource": str(resource_id),
        "quantity": quantity,
        "unit": "L",
        "occurred_on": "2018-10-01",
        f"line_{regime}": line_id,
        "purpose": "operation",
        "note": "",
        "override_reason": "",
        "action": action,
        **fields,
    }


def test_the_drawdown_form_prefills_today_and_the_line_asked_for(as_admin, line):
    page = read(as_admin.get(f"/ledger/new?line={line.id}"))
    assert page.values["occurred_on"] == today().isoformat()
    assert page.values["line_un"] == str(line.id)
    assert page.values["resource"] == str(line.resource_id)
    assert page.values["unit"] == "L"
    assert "override_reason" in page.values
    for unknown in ("999999", "abc", "²", "9" * 30):
        page = read(as_admin.get("/ledger/new", query_string={"line": unknown}))
        assert page.values["line_un"] == ""


def test_check_shows_the_classification_and_what_remains_and_saves_nothing(as_admin, session, line):
    response = as_admin.post("/ledger/new", data=drawdown(line, "2500", action="preview"))
    assert response.status_code == 200
    page = read(response)
    assert "If recorded now: covered" in page.text
    assert "covered 10,000 L now, 7,500 L after" in page.text
    assert page.values["quantity"] == "2500"
    assert page.values["line_un"] == str(line.id)
    assert "override_reason" not in page.values  # covered: nothing to override
    assert entry_count(session) == 0
    session.refresh(line)
    assert line.used_base == 0


def test_check_of_a_refused_drawdown_explains_it_and_offers_the_override(as_admin, session, line):
    response = as_admin.post("/ledger/new", data=drawdown(line, "12000", action="preview"))
    assert response.status_code == 200
    page = read(response)
    assert "If recorded now: over cap" in page.text
    assert "over cap 10,000 L now, -2,000 L after" in page.text
    assert "Waiver MOU-T-1 line 1 has 10,000 L left; this drawdown asks for 12,000 L." in page.text
    assert "override_reason" in page.values
    assert entry_count(session) == 0


def test_record_records_the_drawdown_and_shows_its_entry(as_admin, session, line, admin):
    response = as_admin.post("/ledger/new", data=drawdown(line, "2500", note="Generator"))
    assert response.status_code == 302
    entry = session.scalar(select(DrawdownEntry))
    assert response.headers["Location"] == f"/ledger/{entry.id}"
    assert (entry.quantity, entry.classification, entry.flagged) == (
        Decimal(2500),
        Classification.COVERED,
        False,
    )
    assert (entry.recorded_by_id, entry.note, entry.waiver_line_id) == (
        admin.id,
        "Generator",
        line.id,
    )
    session.refresh(line)
    assert line.used_base == Decimal(2500)
    page = read(as_admin.get(response.headers["Location"]))
    assert f"Entry {entry.seq} recorded: covered." in page.text


def test_a_refused_drawdown_answers_409_with_the_numbers_and_records_nothing(
    as_admin, session, line
):
    draw(session, line.resource, "9000", line=line)
    response = as_admin.post("/ledger/new", data=drawdown(line, "2000"))
    assert response.status_code == 409
    page = read(response)
    assert "Waiver MOU-T-1 line 1 has 1,000 L left; this drawdown asks for 2,000 L." in page.text
    assert page.values["quantity"] == "2000"
    assert entry_count(session) == 1
    session.refresh(line)
    assert line.used_base == Decimal(9000)


def test_with_an_override_reason_a_refused_drawdown_is_recorded_and_flagged(
    as_admin, session, line
):
    data = drawdown(line, "12000", override_reason="Cold snap; request for more is filed.")
    response = as_admin.post("/ledger/new", data=data, follow_redirects=True)
    entry = session.scalar(select(DrawdownEntry))
    assert response.request.path == f"/ledger/{entry.id}"
    assert (entry.classification, entry.flagged) == (Classification.OVER_CAP, True)
    assert entry.override_reason == "Cold snap; request for more is filed."
    page = read(response)
    assert f"Entry {entry.seq} recorded: over cap." in page.text
    assert "flagged for review" in page.text
    assert "Cold snap; request for more is filed." in page.text


def test_goods_that_need_no_waiver_are_recorded_without_a_line(as_admin, session):
    rice = make_rice(session)
    response = as_admin.post("/ledger/new", data=drawdown(rice, "300", unit="kg"))
    assert response.status_code == 302
    entry = session.scalar(select(DrawdownEntry))
    assert (entry.classification, entry.waiver_line_id) == (Classification.NOT_REQUIRED, None)


def test_a_reviewer_can_neither_open_nor_post_the_drawdown_form(as_reviewer, session, line):
    response = as_reviewer.get(f"/ledger/new?line={line.id}")
    assert response.status_code == 403
    assert "override_reason" not in read(response).values
    data = drawdown(line, "12000", override_reason="Reviewer says so")
    assert as_reviewer.post("/ledger/new", data=data).status_code == 403
    assert entry_count(session) == 0
    assert "Record drawdown" not in read(as_reviewer.get("/ledger/")).text


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"quantity": "abc"}, "quantity", "Enter the quantity as a decimal number."),
        ({"quantity": "-5"}, "quantity", "The quantity must be greater than zero."),
        ({"quantity": ""}, "quantity", "This field is required."),
        ({"occurred_on": "future"}, "occurred_on", "is in the future; record a drawdown once"),
        (
            {"occurred_on": "1999-12-31"},
            "occurred_on",
            "Enter a date between 2000-01-01 and 2099-12-31.",
        ),
        ({"occurred_on": "2018-02-30"}, "occurred_on", "Not a valid date value."),
        ({"occurred_on": ""}, "occurred_on", "This field is required."),
        ({"unit": "kWh"}, "unit", "kWh cannot be converted to L."),
        ({"line_un": "rice"}, "line_un", "Waiver MOU-T-1 line 1 is for Diesel, not"),
        (
            {"line_un": "999999"},
            "line_un",
            "Choose one of the lines listed under UN Security Council sanctions (1718 "
            "Committee), or none.",
        ),
        ({"resource": "999999"}, "resource", "Not a valid choice."),
    ],
)
@pytest.mark.parametrize("action", ["preview", "record"])
def test_input_that_makes_no_sense_is_refused_beside_its_field_and_records_nothing(
    as_admin, session, line, change, field, message, action
):
    rice = make_rice(session)
    if change.get("occurred_on") == "future":
        change = {"occurred_on": (today() + timedelta(days=1)).isoformat()}
    if change.get("line_un") == "rice":
        change = {"resource": str(rice.id), "unit": "kg"}
    response = as_admin.post("/ledger/new", data=drawdown(line, action=action, **change))
    assert response.status_code == 422
    page = read(response)
    assert message in page.errors[field]
    assert "If recorded now" not in page.text
    assert entry_count(session) == 0
    session.refresh(line)
    assert line.used_base == 0


# --- an entry and its reversal ------------------------------------------------------------


def test_the_entry_page_shows_the_hash_the_status_then_and_the_reversal_form(
    as_admin, session, line
):
    entry = draw(session, line.resource, "750", line=line)
    response = as_admin.get(f"/ledger/{entry.id}")
    assert response.status_code == 200
    page = read(response)
    assert entry.hash in page.text and entry.prev_hash in page.text
    # Under each regime in force (the UN's, in the suite) and the line's own: as recorded.
    ref = line.waiver.reference
    assert (
        f"UN Security Council sanctions (1718 Committee) capped {ref} · line 1 granted covered"
        in page.text
    )
    assert f"Entry {entry.seq} covered" in page.text
    assert "Reverse this entry" in page.text and "reason" in page.values


def test_a_reviewer_reads_an_entry_but_cannot_reverse_it(as_reviewer, session, line):
    entry = draw(session, line.resource, "750", line=line)
    page = read(as_reviewer.get(f"/ledger/{entry.id}"))
    assert entry.hash in page.text and "Reverse this entry" not in page.text
    response = as_reviewer.post(f"/ledger/{entry.id}/reversal", data={"reason": "No"})
    assert response.status_code == 403
    assert entry_count(session) == 1


def test_reversing_with_a_reason_records_the_reversal(as_admin, session, line):
    entry = draw(session, line.resource, "750", line=line)
    response = as_admin.post(
        f"/ledger/{entry.id}/reversal", data={"reason": "Typed 750 for 75."}, follow_redirects=True
    )
    reversal = session.scalar(select(DrawdownEntry).where(DrawdownEntry.reverses_id == entry.id))
    assert response.request.path == f"/ledger/{reversal.id}"
    page = read(response)
    assert f"Entry {entry.seq} reversed by entry {reversal.seq}." in page.text
    assert f"Reverses Entry {entry.seq}: Typed 750 for 75." in page.text
    assert reversal.quantity == Decimal(-750)
    session.refresh(line)
    assert line.used_base == 0

    page = read(as_admin.get(f"/ledger/{entry.id}"))
    assert f"Reversed by Entry {reversal.seq}: Typed 750 for 75." in page.text
    assert "Reverse this entry" not in page.text


def test_a_reversal_needs_a_reason(as_admin, session, line):
    entry = draw(session, line.resource, "750", line=line)
    response = as_admin.post(f"/ledger/{entry.id}/reversal", data={"reason": "  "})
    assert response.status_code == 422
    assert read(response).errors["reason"] == "This field is required."
    assert entry_count(session) == 1


def test_a_second_reversal_is_refused_with_the_message(as_admin, session, line):
    entry = draw(session, line.resource, "750", line=line)
    assert as_admin.post(f"/ledger/{entry.id}/reversal", data={"reason": "Once"}).status_code == 302
    response = as_admin.post(f"/ledger/{entry.id}/reversal", data={"reason": "Twice"})
    assert response.status_code in (409, 422)
    assert f"Entry {entry.seq} was already reversed by entry {entry.seq + 1}." in (
        read(response).text
    )
    reversal = session.scalar(select(DrawdownEntry).where(DrawdownEntry.reverses_id == entry.id))
    response = as_admin.post(f"/ledger/{reversal.id}/reversal", data={"reason": "Thrice"})
    assert response.status_code in (409, 422)
    assert "is itself a reversal and cannot be reversed" in read(response).text
    assert entry_count(session) == 2


# --- the ledger: filters, paging, export --------------------------------------------------


@pytest.fixture
def ledger_entries(session, line, admin):
    """Four entries: covered diesel, flagged diesel, rice without a line, and one older."""
    diesel = line.resource
    rice = make_rice(session)
    other = make_waiver(session, [(diesel, "L", "500", "500")], reference="MOU-T-2").lines[0]
    return {
        "old": draw(session, diesel, "100", line=line, on=date(2018, 9, 15)),
        "covered": draw(session, diesel, "200", line=line, on=date(2018, 10, 1)),
        "flagged": draw(
            session, diesel, "900", line=other, on=date(2018, 10, 5), actor=admin, override="Cold"
        ),
        "rice": draw(session, rice, "300", on=date(2018, 10, 10)),
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["rice", "flagged", "covered", "old"]),
        ("waiver=WAIVER", ["covered", "old"]),
        ("resource=RICE", ["rice"]),
        ("classification=over_cap", ["flagged"]),
        ("classification=not_required", ["rice"]),
        ("flagged=yes", ["flagged"]),
        ("flagged=no", ["rice", "covered", "old"]),
        ("date_from=2018-10-01&date_to=2018-10-05", ["flagged", "covered"]),
        ("date_to=2018-09-30", ["old"]),
        ("waiver=WAIVER&date_from=2018-10-01", ["covered"]),
    ],
)
def test_the_ledger_filters(as_reviewer, session, line, ledger_entries, query, expected):
    rice = services.find_resource(session, "rice")
    query = query.replace("WAIVER", str(line.waiver_id)).replace("RICE", str(rice.id))
    response = as_reviewer.get(f"/ledger/?{query}")
    assert response.status_code == 200
    assert entry_ids(response) == [ledger_entries[name].id for name in expected]


def test_the_ledger_page_keeps_the_filters_in_its_form(as_reviewer, line, ledger_entries):
    response = as_reviewer.get(f"/ledger/?waiver={line.waiver_id}&flagged=no&date_from=2018-10-01")
    page = read(response)
    assert (page.values["waiver"], page.values["flagged"], page.values["date_from"]) == (
        str(line.waiver_id),
        "no",
        "2018-10-01",
    )
    assert f"/ledger/export.csv?waiver={line.waiver_id}&amp;flagged=no" in (
        response.get_data(as_text=True)
    )


@pytest.mark.parametrize(
    "query",
    [
        "date_from=2018-02-30",
        "date_to=yesterday",
        "waiver=abc",
        "waiver=999999",
        "resource=-1",
        "classification=fine",
        "flagged=maybe",
        "before=abc",
        "before=-5",
        "before=%C2%B2",  # a superscript two: a digit to str.isdigit, not to int()
        "before=99999999999999999999999",
        "waiver=1%00",
    ],
)
def test_filter_values_that_make_no_sense_do_not_break_the_ledger(
    as_reviewer, session, ledger_entries, query
):
    response = as_reviewer.get(f"/ledger/?{query}")
    if "%00" in query:  # a control character in a query string: no page takes it
        assert response.status_code == 400
        assert as_reviewer.post(f"/ledger/export.csv?{query}").status_code == 400
        return
    assert response.status_code in (200, 422)
    assert "Drawdown ledger" in read(response).text
    export = as_reviewer.post(f"/ledger/export.csv?{query}")
    # A bad filter is named on the ledger's page, and no export is asked for.
    assert export.status_code == (303 if response.status_code == 200 else 422)
    if export.status_code == 422:
        assert export.mimetype == "text/html"
        assert session.scalar(select(func.count()).select_from(Job)) == 0


def test_an_invalid_date_filter_is_named_and_lists_nothing(as_reviewer, ledger_entries):
    response = as_reviewer.get("/ledger/?date_from=2018-02-30")
    assert response.status_code == 422
    page = read(response)
    assert page.errors["date_from"] == "Not a valid date value."
    assert page.values["date_from"] == "2018-02-30"
    assert entry_ids(response) == []


def test_the_ledger_pages_by_key_without_repeating_an_entry(as_reviewer, session):
    rice = make_rice(session)
    drawn = [draw(session, rice, str(n), on=date(2018, 10, 1)).id for n in range(1, 56)]
    first = as_reviewer.get("/ledger/?resource=" + str(rice.id))
    first_ids = entry_ids(first)
    assert first_ids == drawn[::-1][:50]
    older = re.search(r'href="(/ledger/\?[^"]*before=\d+[^"]*)"', first.get_data(as_text=True))
    assert older is not None and "Older entries" in read(first).text
    link = older.group(1).replace("&amp;", "&")
    assert f"resource={rice.id}" in link
    second = as_reviewer.get(link)
    second_ids = entry_ids(second)
    assert second_ids == drawn[::-1][50:]
    assert not set(first_ids) & set(second_ids)
    assert "Older entries" not in read(second).text and "Newest" in read(second).text


def test_a_short_ledger_has_no_older_entries_link(as_reviewer, ledger_entries):
    response = as_reviewer.get("/ledger/")
    assert len(entry_ids(response)) == 4
    assert "Older entries" not in read(response).text


def export_rows(response) -> list[list[str]]:
    body = response.get_data(as_text=True)
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body.removeprefix("\ufeff"))))


def test_the_csv_export_has_a_bom_a_header_and_a_row_per_entry(as_reviewer, ledger_entries):
    response = fetched(as_reviewer, "/ledger/export.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and ".csv" in disposition
    assert response.get_data()[:3] == b"\xef\xbb\xbf"
    rows = export_rows(response)
    assert rows[0] == HEADER
    by_seq = {row[0]: dict(zip(HEADER, row, strict=True)) for row in rows[1:]}
    assert len(rows) == 1 + len(ledger_entries) == 1 + len(by_seq)
    flagged = by_seq[str(ledger_entries["flagged"].seq)]
    assert (flagged["waiver"], flagged["line_no"], flagged["quantity"], flagged["unit"]) == (
        "MOU-T-2",
        "1",
        "900",
        "L",
    )
    assert (flagged["classification"], flagged["flagged"], flagged["override_reason"]) == (
        "over_cap",
        "True",
        "Cold",
    )
    assert flagged["hash"] == ledger_entries["flagged"].hash
    rice = by_seq[str(ledger_entries["rice"].seq)]
    assert (rice["waiver"], rice["line_no"], rice["classification"]) == ("", "", "not_required")
    # Under each regime: screened under the UN's alone, the others not checked.
    assert (flagged["un_classification"], flagged["un_waiver"], flagged["un_line_no"]) == (
        "over_cap",
        "MOU-T-2",
        "1",
    )
    assert (rice["un_classification"], rice["un_waiver"], rice["un_line_no"]) == (
        "not_required",
        "",
        "",
    )
    assert {(row["rok_classification"], row["us_classification"]) for row in by_seq.values()} == {
        ("not_checked", "not_checked")
    }


def test_the_csv_export_honours_the_filters(as_reviewer, line, ledger_entries):
    query = f"waiver={line.waiver_id}&date_to=2018-09-30"
    response = fetched(as_reviewer, f"/ledger/export.csv?{query}")
    rows = export_rows(response)
    assert rows[0] == HEADER
    assert [row[0] for row in rows[1:]] == [str(ledger_entries["old"].seq)]
    rows = export_rows(fetched(as_reviewer, "/ledger/export.csv?flagged=no"))
    assert len(rows) == 1 + 3


# --- the account page: API tokens ---------------------------------------------------------


def session_cookie(app, client) -> dict:
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert cookie is not None
    return app.session_interface.get_signing_serializer(app).loads(cookie.value)


def test_a_new_api_token_is_shown_once_and_never_kept(app, as_reviewer, session, reviewer):
    response = as_reviewer.post("/account/tokens", data={"name": "fuel spreadsheet"})
    assert response.status_code == 200
    token = re.search(
        r'data-testid="new-token"><code>([^<]+)</code>', response.get_data(as_text=True)
    ).group(1)
    assert auth_services.user_for_token(session, token).id == reviewer.id
    row = session.scalar(select(ApiToken).where(ApiToken.user_id == reviewer.id))
    assert row.name == "fuel spreadsheet" and token.startswith(row.prefix)
    assert token not in row.token_hash
    assert token not in str(session_cookie(app, as_reviewer))
    assert token not in as_reviewer.get_cookie(app.config["SESSION_COOKIE_NAME"]).value

    again = as_reviewer.get("/account")
    assert token not in again.get_data(as_text=True)
    page = read(again)
    assert ["fuel spreadsheet", f"{row.prefix}…"] in [r[:2] for r in page.rows]
    assert "shown only this once" not in page.text


def test_a_token_is_revoked_from_the_account_page(as_reviewer, session, reviewer):
    _row, token = auth_services.create_api_token(
        session, reviewer, name="old script", actor=None, now=NOW
    )
    session.commit()
    response = as_reviewer.post(f"/account/tokens/{_row.id}/revoke", follow_redirects=True)
    assert response.request.path == "/account"
    page = read(response)
    assert f"Token {_row.prefix}… revoked." in page.text
    assert "revoked" in page.row("old script")[3]
    session.refresh(_row)
    assert _row.revoked_at is not None
    assert auth_services.user_for_token(session, token) is None


def test_another_users_token_cannot_be_revoked(as_reviewer, session, admin):
    row, _token = auth_services.create_api_token(session, admin, name="a", actor=None, now=NOW)
    session.commit()
    assert as_reviewer.post(f"/account/tokens/{row.id}/revoke").status_code == 404
    session.refresh(row)
    assert row.revoked_at is None


# --- Korean -------------------------------------------------------------------------------


def test_the_pages_speak_korean_to_a_korean_browser(as_reviewer, ledger_entries):
    as_reviewer.environ_base["HTTP_ACCEPT_LANGUAGE"] = "ko-KR,ko;q=0.9,en;q=0.5"
    page = read(as_reviewer.get("/waivers/"))
    assert "면제·승인" in page.text and "Waivers" not in page.text
    page = read(as_reviewer.get("/ledger/"))
    assert "인출 원장" in page.text and "Drawdown ledger" not in page.text
    assert "승인 범위 내" in page.text and "covered" not in page.text  # "covered"
