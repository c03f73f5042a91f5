"""A fuel receipt under every regime in force (#17): it names one authorisation line under
each regime that controls the tank's product, as a drawdown does; a regime left without one
draws on its standing authorisation, if any. Covered under each, it is recorded; refused under
any, nothing is, and the refusal names each regime that refuses. Every regime is in force
here (`every_regime`): diesel made in Korea is capped by the UN, needs the ministry's
approval, and is not the US regime's."""

from __future__ import annotations

import html
import re
from datetime import date

import pytest
from sqlalchemy import select, update

from office.auth.permissions import Role
from office.errors import InvalidInput
from office.fuel import services
from office.fuel.models import DailyLogEvent
from office.stock.models import StockLot, StockMovement, Store
from office.waivers import ledger
from office.waivers.models import (
    Classification,
    DrawdownEntry,
    Regime,
    Resource,
    WaiverLine,
)
from tests.conftest import log_in
from tests.factories import (
    NOW,
    make_approval,
    make_resource,
    make_steel,
    make_user,
    make_waiver,
)
from tests.fuel.test_views import Page, count, day_url, fresh, fuel_rows, prefixed, read

DAY = date(2018, 10, 10)
UN = "UN Security Council sanctions (1718 Committee)"
ROK = "ROK carry-out approval (Ministry of Unification)"
US = "US Export Administration Regulations"


@pytest.fixture
def diesel(session, every_regime) -> Resource:
    return make_resource(session)


@pytest.fixture
def petrol(session, every_regime) -> Resource:
    return make_resource(session, "gasoline", hs_code="2710.12", barrels_per_tonne="8.50")


@pytest.fixture
def exemption(session, diesel) -> WaiverLine:
    """A 1718 Committee exemption for 10,000 L of diesel (not standing)."""
    waiver = make_waiver(session, [(diesel, "L", "10000", "10000")], reference="UN-T-DIESEL")
    assert not waiver.standing
    return waiver.lines[0]


@pytest.fixture
def approval(session, diesel) -> WaiverLine:
    """The ministry's individual carry-out approval of 6,000 L of diesel (not standing)."""
    waiver = make_approval(session, [(diesel, "L", "6000", "6000")], reference="MOU-T-INDIV")
    assert not waiver.standing
    return waiver.lines[0]


def _tank(session, product, name, capacity="20000") -> Store:
    tank = services.create_tank(
        session,
        name=name,
        product=product,
        capacity=capacity,
        tolerance=None,
        location="",
        opening=None,
        opened_on=date(2018, 9, 1),
        actor=None,
        now=NOW,
    )
    session.commit()
    return tank


@pytest.fixture
def tank(session, diesel) -> Store:
    return _tank(session, diesel, "Boiler tank")


def receive(session, tank, litres="4000", **lines):
    return services.receive_fuel(
        session,
        tank,
        quantity=litres,
        unit="L",
        received_on=DAY,
        parties="Tanker",
        actor=None,
        now=NOW,
        **lines,
    )


def under_each_regime(entry: DrawdownEntry) -> dict[str, tuple[Classification, int | None]]:
    return {s.regime.code: (s.classification, s.waiver_line_id) for s in entry.screenings}


def nothing_recorded(session, *lines: WaiverLine) -> None:
    assert count(session, StockLot) == 0
    assert count(session, StockMovement) == 0
    assert count(session, DrawdownEntry) == 0
    assert count(session, DailyLogEvent) == 0
    assert [fresh(session, line).used_base for line in lines] == [0] * len(lines)


# --- the service ----------------------------------------------------------------------------


@pytest.mark.parametrize("ministry_first", [False, True])
def test_a_receipt_naming_an_exemption_and_an_individual_approval_is_covered_under_each(
    session, tank, exemption, approval, ministry_first
):
    named = [approval, exemption] if ministry_first else [exemption, approval]

    movement = receive(session, tank, authorisations=named)

    lot = session.get(StockLot, movement.lot_id)
    entry = session.get(DrawdownEntry, lot.drawdown_entry_id)
    assert entry.classification is Classification.COVERED and not entry.flagged
    assert under_each_regime(entry) == {
        "un": (Classification.COVERED, exemption.id),
        "rok": (Classification.COVERED, approval.id),
        "us": (Classification.NOT_REQUIRED, None),
    }
    assert (exemption.used_base, approval.used_base) == (4000, 4000)
    # The lot and the entry keep the principal line: the first named.
    assert lot.waiver_line_id == entry.waiver_line_id == named[0].id
    assert (lot.remaining, lot.quantity) == (4000, 4000)


def test_the_short_form_and_the_other_regimes_lines_are_named_together(
    session, tank, exemption, approval
):
    movement = receive(session, tank, waiver_line=exemption, authorisations=[approval])

    entry = session.get(DrawdownEntry, session.get(StockLot, movement.lot_id).drawdown_entry_id)
    assert under_each_regime(entry)["rok"] == (Classification.COVERED, approval.id)
    assert entry.waiver_line_id == exemption.id


def test_a_ministry_line_left_out_draws_on_its_standing_blanket_approval(
    session, tank, exemption, diesel
):
    blanket = make_approval(session, [(diesel, "L", "50000", "50000")], blanket=True).lines[0]

    movement = receive(session, tank, authorisations=[exemption])

    entry = session.get(DrawdownEntry, session.get(StockLot, movement.lot_id).drawdown_entry_id)
    assert under_each_regime(entry)["rok"] == (Classification.COVERED, blanket.id)
    assert fresh(session, blanket).used_base == 4000


def test_a_ministry_line_left_out_with_no_standing_approval_is_refused_naming_the_ministry(
    session, tank, exemption, approval
):
    with pytest.raises(ledger.DrawdownRefused) as refused:
        receive(session, tank, authorisations=[exemption])
    session.rollback()

    assert refused.value.classification is Classification.UNCOVERED
    assert str(refused.value) == (
        f"{ROK}: Diesel (HS 2710.19) needs an approval: choose the line that covers it, or "
        "give a reason to record it uncovered."
    )
    by_regime = {s.regime.code: s for s in refused.value.regimes}
    assert refused.value.message_of(by_regime["un"]) is None
    assert refused.value.message_of(by_regime["rok"]) is not None
    nothing_recorded(session, exemption, approval)


def test_a_receipt_refused_under_both_regimes_names_each(session, tank, exemption, diesel):
    small = make_approval(session, [(diesel, "L", "1000", "1000")], reference="MOU-T-SMALL")

    with pytest.raises(ledger.DrawdownRefused) as refused:
        receive(session, tank, "12000", authorisations=[exemption, small.lines[0]])
    session.rollback()

    assert str(refused.value) == (
        f"{UN}: Waiver UN-T-DIESEL line 1 has 10,000 L left; this drawdown asks for 12,000 L. "
        f"{ROK}: Waiver MOU-T-SMALL line 1 has 1,000 L left; this drawdown asks for 12,000 L."
    )
    nothing_recorded(session, exemption, small.lines[0])


def test_a_line_of_another_product_is_refused_beside_its_regime(
    session, tank, exemption, approval, petrol
):
    petrol_approval = make_approval(session, [(petrol, "L", "5000", "5000")]).lines[0]

    with pytest.raises(InvalidInput) as refused:
        receive(session, tank, authorisations=[exemption, petrol_approval])

    assert refused.value.field == "authorisations.rok"
    assert str(refused.value) == (
        f"Waiver {petrol_approval.waiver.reference} line 1 is for Gasoline, not Diesel."
    )
    nothing_recorded(session, exemption, petrol_approval)


def test_two_lines_under_one_regime_are_refused_beside_it(session, tank, exemption, approval):
    other = make_approval(
        session, [(approval.resource, "L", "500", "500")], reference="MOU-T-OTHER"
    ).lines[0]

    with pytest.raises(InvalidInput) as refused:
        receive(session, tank, authorisations=[exemption, approval, other])

    assert refused.value.field == "authorisations.rok"
    assert str(refused.value) == (
        f"Name one line under {ROK}, not two (MOU-T-INDIV line 1 and MOU-T-OTHER line 1)."
    )
    nothing_recorded(session, exemption, approval, other)


# --- the daily log's receipt form ------------------------------------------------------------


@pytest.fixture
def as_admin(client, session):
    return log_in(client, make_user(session, Role.ADMIN, name="Admin Kim"))


def label_of(page: Page, field: str) -> str:
    found = re.search(rf'<label for="{field}">(.*?)</label>', page.markup, re.S)
    assert found is not None, field
    return html.unescape(" ".join(found.group(1).split()))


def receipt(tank, quantity="4000", **lines: WaiverLine | str) -> dict[str, str]:
    """The receipt form, with the lines named per regime (`un=line`, `rok=line`)."""
    named = {f"line_{code}": str(getattr(line, "id", line)) for code, line in lines.items()}
    return prefixed(
        "receipt",
        {"tank": str(tank.id), "quantity": quantity, "unit": "L", "parties": "Tanker", **named},
    )


def test_the_form_offers_a_line_select_per_regime_controlling_the_tanks_product(
    as_admin, session, tank, exemption, approval, petrol
):
    blanket = make_approval(session, [(petrol, "L", "500", "500")], blanket=True).lines[0]
    _tank(session, petrol, "Vehicle tank")
    make_waiver(session, [(make_steel(session), "t", "5", "5")])  # no tank holds it

    page = read(as_admin.get(day_url(DAY)))

    selects = [name for name in page.options if name.startswith("receipt-line_")]
    assert selects == ["receipt-line_un", "receipt-line_rok"]  # diesel and petrol: not the US's
    assert [label for _value, label, _chosen in page.options["receipt-line_un"]] == [
        "No line: its standing authorisation, if any",
        "UN-T-DIESEL · 1 · diesel · 10,000 L left · granted",
    ]
    assert [value for value, _label, _chosen in page.options["receipt-line_rok"]] == [
        "",
        str(approval.id),
        str(blanket.id),
    ]
    assert label_of(page, "receipt-line_rok") == ROK


def test_a_receipt_naming_both_lines_is_covered_under_each_and_its_row_says_so(
    as_admin, session, tank, exemption, approval
):
    response = as_admin.post(
        day_url(DAY, "/receipts"), data=receipt(tank, un=exemption, rok=approval)
    )

    assert response.status_code == 302
    entry = session.scalars(select(DrawdownEntry)).one()
    assert under_each_regime(entry) == {
        "un": (Classification.COVERED, exemption.id),
        "rok": (Classification.COVERED, approval.id),
        "us": (Classification.NOT_REQUIRED, None),
    }
    assert session.scalars(select(StockLot)).one().waiver_line_id == exemption.id
    page = read(as_admin.get(day_url(DAY)))
    assert fuel_rows(page) == [
        [
            "received",
            "Boiler tank",
            "4,000 L",
            "Tanker",
            "4,000 · covered on the ledger "
            f"{UN} covered UN-T-DIESEL · 1 · granted when drawn "
            f"{ROK} covered MOU-T-INDIV · 1 · granted when drawn "
            f"{US} not required",
        ]
    ]
    badges = page.cells_of("Fuel")[0][4].badges
    assert [(b.text, "ok" in b.classes) for b in badges[1:]] == [
        ("covered", True),
        ("covered", True),
        ("not required", False),
    ]


def test_a_receipt_recorded_under_the_un_alone_shows_the_others_as_not_checked(
    as_admin, session, tank, exemption
):
    session.execute(update(Regime).values(in_force=Regime.code == "un"))
    session.commit()
    receive(session, tank, authorisations=[exemption])
    session.execute(update(Regime).values(in_force=True))
    session.commit()

    page = read(as_admin.get(day_url(DAY)))

    assert fuel_rows(page)[0][4] == (
        f"4,000 · covered on the ledger {UN} covered UN-T-DIESEL · 1 · granted when drawn "
        f"{ROK} not checked {US} not checked"
    )


def test_a_receipt_without_its_ministry_line_is_refused_naming_the_ministry_and_records_nothing(
    as_admin, session, tank, exemption, approval
):
    response = as_admin.post(day_url(DAY, "/receipts"), data=receipt(tank, un=exemption))

    assert response.status_code == 422
    page = read(response)
    assert page.errors["receipt-quantity"] == [
        f"{ROK}: Diesel (HS 2710.19) needs an approval: choose the line that covers it, or "
        "give a reason to record it uncovered."
    ]
    assert (page.selected("receipt-line_un"), page.selected("receipt-line_rok")) == (
        str(exemption.id),
        "",
    )
    nothing_recorded(session, exemption, approval)


def test_an_uncovered_receipt_with_a_reason_is_recorded_and_flagged(
    as_admin, session, tank, exemption
):
    data = receipt(tank, un=exemption) | {"receipt-override_reason": "Approval on its way."}

    response = as_admin.post(day_url(DAY, "/receipts"), data=data)

    assert response.status_code == 302
    entry = session.scalars(select(DrawdownEntry)).one()
    assert (entry.classification, entry.flagged) == (Classification.UNCOVERED, True)
    assert under_each_regime(entry)["rok"] == (Classification.UNCOVERED, None)
    [cells] = read(as_admin.get(day_url(DAY))).cells_of("Fuel")
    assert cells[4].text == (
        f"4,000 · uncovered on the ledger {UN} covered UN-T-DIESEL · 1 · granted when drawn "
        f"{ROK} uncovered {US} not required"
    )
    assert ["bad" in badge.classes for badge in cells[4].badges] == [True, False, True, False]


@pytest.mark.parametrize(
    ("lines", "field", "message"),
    [
        (
            {"un": "exemption", "rok": "petrol"},
            "receipt-line_rok",
            "Waiver MOU-T-PETROL line 1 is for Gasoline, not Diesel.",
        ),
        (
            {"un": "petrol_exemption", "rok": "approval"},
            "receipt-line_un",
            "Waiver UN-T-PETROL line 1 is for Gasoline, not Diesel.",
        ),
        (
            {"un": "exemption", "rok": "999999"},
            "receipt-line_rok",
            f"Choose one of the lines listed under {ROK}, or none.",
        ),
        (
            {"un": "exemption", "rok": "a line"},
            "receipt-line_rok",
            f"Choose one of the lines listed under {ROK}, or none.",
        ),
        (  # a line of another regime, in the ministry's select
            {"un": "exemption", "rok": "exemption"},
            "receipt-line_rok",
            f"Choose one of the lines listed under {ROK}, or none.",
        ),
    ],
)
def test_a_line_that_cannot_be_named_is_refused_beside_its_regime_and_records_nothing(
    as_admin, session, tank, exemption, approval, petrol, lines, field, message
):
    _tank(session, petrol, "Vehicle tank")  # its lines are offered too
    arranged = {
        "exemption": exemption,
        "approval": approval,
        "petrol": make_approval(
            session, [(petrol, "L", "500", "500")], reference="MOU-T-PETROL"
        ).lines[0],
        "petrol_exemption": make_waiver(
            session, [(petrol, "L", "500", "500")], reference="UN-T-PETROL"
        ).lines[0],
    }
    named = {code: arranged.get(value, value) for code, value in lines.items()}

    response = as_admin.post(day_url(DAY, "/receipts"), data=receipt(tank, **named))

    assert response.status_code == 422
    page = read(response)
    assert page.errors[field] == [message]
    assert page.errors.get("receipt-quantity", []) == []
    nothing_recorded(session, *arranged.values())


def test_the_receipt_form_and_its_refusals_read_in_korean(
    as_admin, session, tank, exemption, approval
):
    as_admin.environ_base["HTTP_ACCEPT_LANGUAGE"] = "ko"

    response = as_admin.post(
        day_url(DAY, "/receipts"), data=receipt(tank, un=exemption, rok="999999")
    )

    assert response.status_code == 422
    page = read(response)
    assert label_of(page, "receipt-line_un") == "유엔 안보리 대북제재 (1718 위원회)"
    assert label_of(page, "receipt-line_rok") == "대한민국 반출 승인 (통일부)"
    assert page.errors["receipt-line_rok"] == [
        "대한민국 반출 승인 (통일부)에 대해 목록에 있는 행 중 하나를 고르거나, 비워 두십시오."
    ]
    assert page.options["receipt-line_rok"][0][1] == "행 없음: 상시 허가가 있으면 그것을 사용"
    nothing_recorded(session, exemption, approval)
