"""The what-if screening (office.waivers.screening) and its page: an item screened under every
regime in force, with the lines that could cover it and what each would leave, and nothing
recorded, written or locked."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from html import unescape

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from office.audit.models import AuditEvent
from office.auth.permissions import Role
from office.waivers import ledger, services
from office.waivers.models import (
    Authority,
    Basis,
    Classification,
    Control,
    DrawdownEntry,
    Purpose,
    Regime,
    Resource,
    WaiverLine,
    WaiverStatus,
)
from office.waivers.screening import InvalidItem, Item, check_item, screen_item
from office.waivers.units import Unit
from tests.conftest import log_in
from tests.factories import NOW, make_resource, make_steel, make_user, make_waiver
from tests.test_korean_pages import PARTICLE_MARKERS, PageText, english_words

DAY = date(2018, 10, 1)


def item(hs_code: str = "7216.10", quantity: str = "5", unit: str = "t", **changes) -> Item:
    given = {
        "hs_code": hs_code,
        "origin": "KR",
        "us_content_percent": "0",
        "quantity": quantity,
        "unit": unit,
        "occurred_on": DAY,
        **changes,
    }
    return check_item(**given)


def made_in(session: Session, code: str, hs_code: str, unit: Unit, origin: str, content: str):
    resource = services.save_resource(
        session,
        code=code,
        name_ko=code,
        name_en=code.title(),
        hs_code=hs_code,
        unit=unit,
        origin=origin,
        us_content_percent=content,
        actor=None,
        now=NOW,
    )
    session.commit()
    return resource


def under(screening, code: str):
    return next(answer for answer in screening.regimes if answer.regime.code == code)


def count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


@pytest.fixture
def steel_lines(session, every_regime):
    """Steel (45 t) exempted by the UN and approved by the ministry, 10 t already drawn on
    both."""
    steel = make_steel(session)
    un = make_waiver(session, [(steel, "t", "45", "45")], reference="UN-STEEL")
    rok = make_waiver(
        session,
        [(steel, "t", "60", "60")],
        reference="MOU-STEEL",
        authority=Authority.ROK_MOU_INDIVIDUAL,
    )
    ledger.record_drawdown(
        session,
        resource=steel,
        quantity="10",
        unit="t",
        occurred_on=DAY,
        authorisations=[un.lines[0], rok.lines[0]],
        purpose=Purpose.REPAIR,
        actor=None,
        now=NOW,
    )
    session.commit()
    return un.lines[0], rok.lines[0]


# --- determination ------------------------------------------------------------------------


def test_steel_of_korea_is_prohibited_by_the_un_rule_72_needs_the_ministry_and_not_the_us(
    session, every_regime
):
    screening = screen_item(session, item("7216.10"))

    assert [a.regime.code for a in screening.regimes] == ["un", "rok", "us"]
    un, rok, us = screening.regimes
    assert (un.control, un.basis, un.rule.prefix) == (Control.PROHIBITED, Basis.RULE, "72")
    assert (rok.control, rok.basis, rok.rule) == (Control.APPROVAL, Basis.DEFAULT, None)
    assert (us.control, us.basis, us.rule) == (Control.NONE, Basis.NOT_SUBJECT, None)
    assert (un.best, rok.best, us.best) == (
        Classification.UNCOVERED,
        Classification.UNCOVERED,
        Classification.NOT_REQUIRED,
    )
    assert screening.overall is Classification.UNCOVERED


def test_computers_of_us_origin_need_a_us_licence(session, every_regime):
    screening = screen_item(session, item("8471.50", "3", "piece", origin="us"))
    assert screening.item.origin == "US"
    us = under(screening, "us")
    assert (us.control, us.basis) == (Control.APPROVAL, Basis.DEFAULT)
    assert under(screening, "un").control is Control.PROHIBITED


@pytest.mark.parametrize(
    ("content", "control", "basis"),
    [
        ("8", Control.NONE, Basis.NOT_SUBJECT),
        ("10", Control.NONE, Basis.NOT_SUBJECT),
        ("10.01", Control.APPROVAL, Basis.DEFAULT),
        ("12", Control.APPROVAL, Basis.DEFAULT),
    ],
)
def test_us_content_counts_only_above_the_share(session, every_regime, content, control, basis):
    screening = screen_item(
        session, item("8471.50", "3", "piece", origin="JP", us_content_percent=content)
    )
    us = under(screening, "us")
    assert (us.control, us.basis) == (control, basis)


def test_food_of_us_origin_is_not_controlled_by_the_us_rule_for_its_chapter(session, every_regime):
    us = under(screen_item(session, item("1006.30", "100", "kg", origin="US")), "us")
    assert (us.control, us.basis, us.rule.prefix) == (Control.NONE, Basis.RULE, "10")


def test_only_regimes_in_force_are_screened(session):
    # The suite's databases screen under the UN regime alone.
    screening = screen_item(session, item("7216.10"))
    assert [a.regime.code for a in screening.regimes] == ["un"]


# --- lines ----------------------------------------------------------------------------------


def test_the_lines_that_could_cover_it_are_listed_with_what_each_would_leave(session, steel_lines):
    un_line, rok_line = steel_lines
    screening = screen_item(session, item("7216.10", "5", "t"))

    un, rok, us = screening.regimes
    (found,) = un.lines
    assert found.line.id == un_line.id
    assert (found.waiver.reference, found.waiver.status) == ("UN-STEEL", WaiverStatus.GRANTED)
    assert found.classification is Classification.COVERED
    assert (found.remaining_before, found.remaining_after) == (Decimal(35), Decimal(30))
    assert found.unit is Unit.T and found.standing is False
    (approval,) = rok.lines
    assert approval.line.id == rok_line.id
    assert (approval.remaining_before, approval.remaining_after) == (Decimal(50), Decimal(45))
    assert us.lines == ()
    assert (un.best, rok.best) == (Classification.COVERED, Classification.COVERED)
    assert un.best_line is found
    assert screening.overall is Classification.COVERED


def test_a_quantity_over_a_lines_cap_shows_over_cap(session, steel_lines):
    screening = screen_item(session, item("7216.10", "40", "t"))
    un, rok, _us = screening.regimes
    (found,) = un.lines
    assert found.classification is Classification.OVER_CAP
    assert (found.remaining_before, found.remaining_after) == (Decimal(35), Decimal(-5))
    assert rok.lines[0].classification is Classification.COVERED
    assert screening.overall is Classification.OVER_CAP


def test_the_quantity_is_converted_into_the_resources_unit_and_left_in_the_lines(
    session, every_regime
):
    steel = make_steel(session)
    waiver = make_waiver(session, [(steel, "kg", "2000", "2000")], reference="UN-KG")
    (found,) = under(screen_item(session, item("7216.10", "1500", "kg")), "un").lines
    assert found.line.id == waiver.lines[0].id
    assert found.unit is Unit.KG
    assert (found.remaining_before, found.remaining_after) == (Decimal(2000), Decimal(500))
    (half,) = under(screen_item(session, item("7216.10", "1.5", "t")), "un").lines
    assert half.remaining_after == Decimal(500)


def test_a_unit_that_cannot_be_converted_makes_the_line_one_that_cannot_be_compared(
    session, steel_lines
):
    screening = screen_item(session, item("7216.10", "100", "L"))
    (found,) = under(screening, "un").lines
    assert found.classification is None
    assert "Cannot compare" in str(found.reason)
    assert found.remaining_before == Decimal(35) and found.remaining_after is None
    assert under(screening, "un").best is Classification.UNCOVERED


def test_each_lines_classification_follows_its_waiver_on_the_day(session, every_regime):
    steel = make_steel(session)
    for reference, status in (
        ("A-DENIED", WaiverStatus.DENIED),
        ("B-PENDING", WaiverStatus.REQUESTED),
        ("C-GRANTED", WaiverStatus.GRANTED),
    ):
        make_waiver(session, [(steel, "t", "45", "45")], reference=reference, status=status)
    make_waiver(
        session,
        [(steel, "t", "45", "45")],
        reference="D-LATER",
        valid_from=date(2018, 11, 1),
    )
    lines = under(screen_item(session, item("7216.10")), "un").lines
    # The best first.
    assert [(o.waiver.reference, o.classification) for o in lines] == [
        ("C-GRANTED", Classification.COVERED),
        ("D-LATER", Classification.OUTSIDE_VALIDITY),
        ("B-PENDING", Classification.PENDING),
        ("A-DENIED", Classification.DENIED),
    ]


def test_lines_are_of_resources_whose_code_is_the_items_or_a_heading_above_it(
    session, every_regime
):
    sections = make_resource(session, "sections", hs_code="7216", unit="t", barrels_per_tonne=None)
    steel = make_steel(session)  # 7216.10
    angles = make_resource(session, "angles", hs_code="7216.21", unit="t", barrels_per_tonne=None)
    wire = make_resource(session, "wire", hs_code="7217.10", unit="t", barrels_per_tonne=None)
    make_waiver(
        session,
        [(r, "t", "10", "10") for r in (sections, steel, angles, wire)],
        reference="UN-ALL",
    )

    def listed(code: str) -> set[str]:
        return {o.resource.code for o in under(screen_item(session, item(code)), "un").lines}

    assert listed("7216.10") == {"sections", "steel"}
    assert listed("7216.10.90") == {"sections", "steel"}
    assert listed("7216.21") == {"sections", "angles"}
    # Given only as 7216, it may be anything under 7216: only what holds all of it.
    assert listed("7216") == {"sections"}
    assert listed("7218") == set()


def test_lines_are_listed_under_their_own_regime_only(session, every_regime):
    steel = make_steel(session)
    make_waiver(
        session,
        [(steel, "t", "10", "10")],
        reference="MOU-ONLY",
        authority=Authority.ROK_MOU_INDIVIDUAL,
    )
    screening = screen_item(session, item("7216.10"))
    assert under(screening, "un").lines == ()
    assert [o.waiver.reference for o in under(screening, "rok").lines] == ["MOU-ONLY"]


def test_a_standing_authorisation_is_flagged(session, every_regime):
    steel = make_steel(session)
    make_waiver(
        session,
        [(steel, "t", "100", "100")],
        reference="MOU-BLANKET",
        authority=Authority.ROK_MOU_BLANKET,
    )
    (found,) = under(screen_item(session, item("7216.10")), "rok").lines
    assert found.standing is True


# --- nothing recorded ---------------------------------------------------------------------


def test_screening_records_writes_and_adds_nothing(session, steel_lines):
    un_line, _rok_line = steel_lines
    entries, events = count(session, DrawdownEntry), count(session, AuditEvent)
    resources = count(session, Resource)

    screening = screen_item(session, item("7216.10", "40", "t"))

    assert screening.overall is Classification.OVER_CAP
    assert not session.new and not session.dirty and not session.deleted
    session.expire_all()
    assert count(session, DrawdownEntry) == entries
    assert count(session, AuditEvent) == events
    assert count(session, Resource) == resources
    assert session.get(WaiverLine, un_line.id).used_base == Decimal(10)


# --- the item's description ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"hs_code": "72"}, "hs_code"),
        ({"hs_code": "steel"}, "hs_code"),
        ({"hs_code": ""}, "hs_code"),
        ({"origin": "KOR"}, "origin"),
        ({"origin": "한국"}, "origin"),
        ({"origin": ""}, "origin"),
        ({"us_content_percent": "101"}, "us_content_percent"),
        ({"us_content_percent": "-1"}, "us_content_percent"),
        ({"us_content_percent": "8.123"}, "us_content_percent"),
        ({"us_content_percent": Decimal("1E+999999")}, "us_content_percent"),
        ({"us_content_percent": Decimal("1E-999999")}, "us_content_percent"),
        ({"quantity": "0"}, "quantity"),
        ({"quantity": "many"}, "quantity"),
        ({"quantity": "1.5", "unit": "piece"}, "quantity"),
        ({"unit": "furlong"}, "unit"),
        ({"occurred_on": None}, "occurred_on"),
        ({"occurred_on": date(1999, 12, 31)}, "occurred_on"),
    ],
)
def test_a_bad_description_names_the_field(changes, field):
    with pytest.raises(InvalidItem) as refused:
        item(**changes)
    assert set(refused.value.errors) == {field}
    assert refused.value.field == field


def test_every_field_at_fault_is_named_at_once():
    with pytest.raises(InvalidItem) as refused:
        item(hs_code="x", origin="?", quantity="-1")
    assert set(refused.value.errors) == {"hs_code", "origin", "quantity"}


def test_a_share_given_as_a_number_is_read_exactly():
    assert item(us_content_percent=Decimal("12.5")).us_content_percent == Decimal("12.5")
    assert item(us_content_percent=Decimal("1E+1")).us_content_percent == Decimal(10)


# --- the page ---------------------------------------------------------------------------------

PAGE = "/ledger/screening"
STEEL = {
    "hs_code": "7216.10",
    "origin": "KR",
    "us_content_percent": "0",
    "quantity": "40",
    "unit": "t",
    "occurred_on": "2018-10-01",
}


def text_of(response) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))))


@pytest.mark.parametrize("role", [Role.ADMIN, Role.REVIEWER])
def test_the_page_offers_the_form_to_administrators_and_reviewers(client, session, role):
    log_in(client, make_user(session, role))
    response = client.get(PAGE)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'name="hs_code"' in page and 'name="occurred_on"' in page
    assert 'value="KR"' in page
    assert 'data-testid="screening"' not in page


def test_the_page_is_reached_from_the_menu_and_the_ledger(client, session, admin):
    log_in(client, admin)
    assert f'href="{PAGE}"' in client.get("/").get_data(as_text=True)
    assert f'href="{PAGE}"' in client.get("/ledger/").get_data(as_text=True)


def test_a_scheduler_may_not_open_the_page(client, session):
    log_in(client, make_user(session, Role.SCHEDULER))
    assert client.get(PAGE, query_string=STEEL).status_code == 403


def test_the_page_shows_each_regime_its_lines_and_what_they_leave(
    client, session, admin, steel_lines
):
    log_in(client, admin)
    entries = count(session, DrawdownEntry)
    response = client.get(PAGE, query_string=STEEL)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    text = text_of(response)
    assert 'data-testid="regime-un"' in page and 'data-testid="regime-us"' in page
    assert "by the rule for HS 72" in text
    assert "no HS rule names it: the regime's default" in text
    assert "not subject: neither of US origin nor with US content above 10%" in text
    assert "UN-STEEL · line 1" in text and "MOU-STEEL · line 1" in text
    assert "35 t" in text and "-5 t" in text  # over the UN cap
    assert "over cap" in text
    assert re.search(r'data-testid="overall">over cap<', page)
    # Kept in the form, so the result can be changed and asked again.
    assert 'value="7216.10"' in page and 'value="40"' in page
    assert count(session, DrawdownEntry) == entries


def test_the_result_reads_in_korean(client, session, admin, steel_lines):
    log_in(client, admin)
    client.post("/language", data={"lang": "ko", "next": "/"})
    # What people typed or keep as data: references, names, rules' notes, regimes' names.
    typed = ["UN-STEEL", "MOU-STEEL", "Steel", "steel", "UNSCR 2397 op. 7", admin.display_name]
    typed += [regime.name_ko for regime in session.scalars(select(Regime))]
    # Over the UN line's cap; then in a unit no line can be compared in.
    for query, shown in ((STEEL, "한도 초과"), ({**STEEL, "unit": "L"}, "비교 불가")):
        response = client.get(PAGE, query_string=query)
        assert response.status_code == 200
        page = PageText()
        page.feed(response.get_data(as_text=True))
        text = " ".join(page.parts)
        assert "UN-STEEL" in text and shown in text
        assert english_words(text, typed) == []
        assert not PARTICLE_MARKERS.search(text)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"hs_code": "72"}, "hs_code"),
        ({"origin": "Korea"}, "origin"),
        ({"us_content_percent": "150"}, "us_content_percent"),
        ({"quantity": "-3"}, "quantity"),
        ({"quantity": ""}, "quantity"),
        ({"unit": "furlong"}, "unit"),
        ({"occurred_on": "2018-02-30"}, "occurred_on"),
        ({"occurred_on": "tomorrow"}, "occurred_on"),
    ],
)
def test_bad_input_is_named_beside_its_field(client, session, admin, changes, field):
    log_in(client, admin)
    response = client.get(PAGE, query_string={**STEEL, **changes})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert f'id="{field}-error"' in page
    assert page.count('class="field-error"') == 1
    assert 'data-testid="screening"' not in page


def test_every_bad_field_is_named_at_once_on_the_page(client, session, admin):
    log_in(client, admin)
    response = client.get(PAGE, query_string={**STEEL, "hs_code": "x", "origin": "?"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="hs_code-error"' in page and 'id="origin-error"' in page
