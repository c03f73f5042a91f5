"""Month sign-off: refused while any item of the month is under review, twice, for a month not
over or before the office's records; once signed off nothing dated in the month changes, a
reversal lands in the first open month linked to what it corrects, and the month's items keep
their last state."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from office.audit.models import AuditEvent
from office.errors import ConflictError, InvalidInput
from office.fuel import services as fuel
from office.fuel.models import DailyLogEvent, DipReading, MeterReading
from office.periods import services as periods
from office.periods.models import SignedOffMonth
from office.reviews import services
from office.reviews.models import ItemKind, ReviewAction, ReviewState
from office.stock import services as stock
from office.stock.models import LotDraw, LotSource, MovementKind, StockLot, StockMovement
from office.waivers import ledger
from office.waivers.models import DrawdownEntry
from tests.conftest import log_in
from tests.factories import NOW, draw, make_rice
from tests.reviews.arrange import (
    OCT,
    TODAY,
    acknowledge_all,
    act,
    at,
    carry_back,
    item_of,
    must_return_lot,
)
from tests.reviews.pages import read

OCTOBER, NOVEMBER = date(2018, 10, 1), date(2018, 11, 1)
K, A = ItemKind, ReviewAction


def sign_off(session, reviewer, month: date = OCTOBER, today: date = TODAY) -> SignedOffMonth:
    signed = services.sign_off_month(
        session, month, note="All reviewed.", actor=reviewer, now=NOW, today=today
    )
    session.commit()
    return signed


def refused_in(month: str, first_open: str) -> str:
    return (
        f"{month} is signed off by the ministry's reviewers and can no longer change; "
        f"record a correction in {first_open}, the first open month."
    )


def signed_months(session) -> list[date]:
    return list(session.scalars(select(SignedOffMonth.month).order_by(SignedOffMonth.month)))


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def october(session, reviewer, flagged):
    """October 2018, its five flagged items acknowledged and the month signed off."""
    acknowledge_all(session, reviewer, month=OCTOBER)
    sign_off(session, reviewer)
    return flagged


# --- refusals -----------------------------------------------------------------------------


def test_a_month_with_items_under_review_is_not_signed_off(client, session, reviewer, flagged):
    with pytest.raises(ConflictError, match=r"2018-10 still has 5 items under review; acknowledge"):
        sign_off(session, reviewer)
    session.rollback()
    act(session, K.OVERRIDE, flagged.override.id, A.ACKNOWLEDGE, reviewer)
    act(session, K.DIP_VARIANCE, flagged.dip.id, A.QUERY, reviewer, "Where did it go?")

    response = log_in(client, reviewer).post("/reviews/months/2018-10/sign-off", data={"note": ""})
    assert response.status_code == 409
    page = read(response)
    assert (
        "error",
        "2018-10 still has 4 items under review; acknowledge each before signing the month off.",
    ) in page.flashes
    assert signed_months(session) == []
    assert count(session, AuditEvent) == session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action != "month.signed_off")
    )


def test_a_month_is_signed_off_once(client, session, reviewer, october):
    with pytest.raises(
        ConflictError, match=r"2018-10 was already signed off on 2018-12-31 12:00\."
    ):
        sign_off(session, reviewer)
    session.rollback()
    response = log_in(client, reviewer).post("/reviews/months/2018-10/sign-off", data={"note": ""})
    assert response.status_code == 409
    assert ("error", "2018-10 was already signed off on 2018-12-31 12:00.") in read(
        response
    ).flashes
    assert signed_months(session) == [OCTOBER]


def test_a_month_not_over_yet_is_not_signed_off(client, session, reviewer):
    with pytest.raises(InvalidInput, match="2018-12 is not over yet; a month is signed off once"):
        sign_off(session, reviewer, date(2018, 12, 1), today=date(2018, 12, 31))
    session.rollback()
    with pytest.raises(InvalidInput, match="2019-01 is not over yet"):
        sign_off(session, reviewer, date(2019, 1, 1))  # in the future
    session.rollback()
    sign_off(session, reviewer, date(2018, 11, 1), today=date(2018, 12, 1))  # just over

    log_in(client, reviewer)
    this_month = periods.month_of(date.today()).strftime("%Y-%m")
    response = client.post(f"/reviews/months/{this_month}/sign-off", data={"note": ""})
    assert response.status_code == 422
    message = f"{this_month} is not over yet; a month is signed off once it has ended."
    assert ("error", message) in read(response).flashes
    assert signed_months(session) == [NOVEMBER]


def test_a_month_before_the_office_existed_is_not_signed_off(client, session, reviewer):
    with pytest.raises(InvalidInput, match=r"The office's records begin in 2018-04\."):
        sign_off(session, reviewer, date(2018, 3, 1))
    session.rollback()
    response = log_in(client, reviewer).post("/reviews/months/2017-12/sign-off", data={"note": ""})
    assert response.status_code == 422
    assert ("error", "The office's records begin in 2018-04.") in read(response).flashes
    for bad in ("2018-13", "18-10", "october"):
        assert client.post(f"/reviews/months/{bad}/sign-off", data={}).status_code == 404
    assert signed_months(session) == []


def test_other_months_items_do_not_hold_a_month_back(session, admin, reviewer, flagged):
    from tests.reviews.arrange import override

    september = override(session, admin, flagged.main_line, on=date(2018, 9, 20), quantity="5")
    acknowledge_all(session, reviewer, month=OCTOBER)
    signed = sign_off(session, reviewer)
    assert signed.summary == {kind.value: {"acknowledged": 1} for kind in ItemKind}
    assert signed.signed_off_by_id == reviewer.id and signed.note == "All reviewed."
    with pytest.raises(
        ConflictError, match="2018-09 still has 1 item under review; acknowledge it "
    ):
        sign_off(session, reviewer, date(2018, 9, 1))
    session.rollback()
    act(session, K.OVERRIDE, september.id, A.ACKNOWLEDGE, reviewer)
    sign_off(session, reviewer, date(2018, 9, 1))
    assert signed_months(session) == [date(2018, 9, 1), OCTOBER]


# --- signing off through the page ---------------------------------------------------------


def test_the_reviewer_signs_the_month_off_from_the_months_page(client, session, reviewer, flagged):
    log_in(client, reviewer)
    page = read(client.get("/reviews/months"))
    october_row = next(row for row in page.rows if row and row[0] == "2018-10")
    assert october_row[1:3] == ["5", "5"]  # flagged, open
    assert "Sign off 2018-10" in october_row[3] and "5 items still open" in october_row[3]

    acknowledge_all(session, reviewer, month=OCTOBER)
    response = client.post("/reviews/months/2018-10/sign-off", data={"note": "Checked."})
    assert response.status_code == 302
    page = read(client.get(response.headers["Location"]))
    assert ("success", "2018-10 is signed off.") in page.flashes
    october_row = next(row for row in page.rows if row and row[0] == "2018-10")
    assert october_row[1:3] == ["5", "0"]
    assert october_row[3].startswith("signed off")
    assert "Sign off 2018-10" not in page.button_texts()
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "month.signed_off"))
    assert event.actor_id == reviewer.id and event.detail == {"month": "2018-10"}


def test_the_office_sees_the_months_but_cannot_sign_them_off(client, admin, flagged):
    log_in(client, admin)
    page = read(client.get("/reviews/months"))
    assert any(row and row[0] == "2018-10" for row in page.rows)
    assert not [t for t in page.button_texts() if t.startswith("Sign off")]
    assert client.post("/reviews/months/2018-10/sign-off", data={}).status_code == 403


# --- a signed-off month is locked ---------------------------------------------------------


def test_nothing_dated_in_a_signed_off_month_changes(session, admin, october):
    rice = make_rice(session)
    tank = october.use.tank
    meter = october.reading.meter
    message = re.escape(refused_in("2018-10", "2018-11"))
    models = (DrawdownEntry, StockLot, StockMovement, DipReading, MeterReading, DailyLogEvent)
    before = [count(session, model) for model in models]
    writes = {
        "drawdown": lambda: draw(session, rice, "10", on=OCT(15), actor=admin),
        "fuel receipt": lambda: fuel.receive_fuel(
            session,
            tank,
            quantity="100",
            unit="L",
            received_on=OCT(15),
            waiver_line=None,
            override_reason="Urgent",
            actor=admin,
            now=NOW,
        ),
        "fuel issue": lambda: fuel.issue_fuel(
            session, tank, quantity="10", issued_on=OCT(15), use="boiler", actor=admin, now=NOW
        ),
        "fuel return": lambda: fuel.return_fuel(
            session, tank, quantity="10", returned_on=OCT(15), actor=admin, now=NOW
        ),
        "void an issue": lambda: fuel.void_movement(
            session, october.use.flagged.movement, reason="Twice", actor=admin, now=NOW
        ),
        "dip": lambda: fuel.record_dip(
            session, tank, measured="600", read_at=at(OCT(15)), actor=admin, now=NOW
        ),
        "meter reading": lambda: fuel.record_meter_reading(
            session, meter, value="2100", read_at=at(OCT(15)), actor=admin, now=NOW
        ),
        "log notes": lambda: fuel.save_log(
            session, OCT(15), incidents="", notes="Late note", actor=admin, now=NOW
        ),
        "delivery": lambda: must_return_lot(session, october.welder_line, crossed=OCT(15)),
    }
    for what, write in writes.items():
        with pytest.raises(ConflictError, match=message):
            write()
        session.rollback()
        assert [count(session, model) for model in models] == before, what
    # November is open.
    entry = draw(session, rice, "10", on=date(2018, 11, 5), actor=admin)
    assert entry.occurred_on == date(2018, 11, 5)


def test_the_stock_services_themselves_refuse_a_signed_off_month(session, admin, october):
    message = re.escape(refused_in("2018-10", "2018-11"))
    tank = october.use.tank
    issued = october.use.flagged.movement
    receipt = session.scalar(
        select(StockMovement).where(
            StockMovement.store_id == tank.id, StockMovement.kind == MovementKind.RECEIPT
        )
    )
    models = (StockLot, StockMovement, LotDraw)
    before = [count(session, model) for model in models]
    writes = {
        "receive": lambda: stock.receive(
            session,
            tank,
            resource=tank.resource,
            quantity=Decimal(10),
            received_on=OCT(15),
            source=LotSource.FUEL_RECEIPT,
            waiver_line=None,
            drawdown_entry_id=None,
            actor=admin,
            now=NOW,
        ),
        "draw": lambda: stock.draw(
            session,
            tank,
            resource=tank.resource,
            quantity=Decimal(10),
            kind=MovementKind.ISSUE,
            occurred_on=OCT(15),
            actor=admin,
            now=NOW,
        ),
        "undo a draw": lambda: stock.undo_draw(session, issued, reason="Twice", now=NOW),
        "void a receipt": lambda: stock.void_receipt(session, receipt, reason="Twice", now=NOW),
        "carry back south": lambda: carry_back(session, october.not_due, OCT(25)),
    }
    for what, write in writes.items():
        with pytest.raises(ConflictError, match=message):
            write()
        session.rollback()
        assert [count(session, model) for model in models] == before, what
    session.refresh(issued)
    assert issued.voided_at is None


def test_the_refusal_names_the_first_open_month(session, admin, reviewer, october):
    sign_off(session, reviewer, NOVEMBER)
    with pytest.raises(ConflictError, match=re.escape(refused_in("2018-10", "2018-12"))) as refused:
        draw(session, make_rice(session), "10", on=OCT(15), actor=admin)
    assert refused.value.field == "occurred_on"
    session.rollback()
    with pytest.raises(ConflictError, match=re.escape(refused_in("2018-11", "2018-12"))):
        draw(session, make_rice(session), "10", on=date(2018, 11, 30), actor=admin)


def test_the_pages_show_the_refusal_and_record_nothing(client, session, admin, october):
    rice = make_rice(session)
    entries = count(session, DrawdownEntry)
    log_in(client, admin)
    response = client.post(
        "/ledger/new",
        data={
            "resource": str(rice.id),
            "quantity": "10",
            "unit": "kg",
            "occurred_on": "2018-10-15",
            "waiver_line_id": "",
            "purpose": "operation",
            "note": "",
            "override_reason": "",
            "action": "record",
        },
    )
    assert response.status_code == 422
    assert refused_in("2018-10", "2018-11") in read(response).errors
    response = client.post(
        "/operations/days/2018-10-15/notes",
        data={"notes-incidents": "", "notes-notes": "A late note"},
    )
    assert response.status_code == 422
    assert refused_in("2018-10", "2018-11") in read(response).errors
    assert count(session, DrawdownEntry) == entries
    assert fuel.log_for(session, OCT(15)) is None


def test_a_reversal_of_a_signed_off_entry_lands_in_the_first_open_month(
    client, session, admin, reviewer, october
):
    entry = october.covered_entry  # 400 L on 2 October
    line = october.main_line
    used = line.used_base
    log_in(client, admin)
    response = client.post(f"/ledger/{entry.id}/reversal", data={"reason": "Counted twice."})
    assert response.status_code == 302
    reversal = session.scalar(select(DrawdownEntry).where(DrawdownEntry.reverses_id == entry.id))
    assert response.headers["Location"] == f"/ledger/{reversal.id}"
    assert reversal.occurred_on == NOVEMBER
    assert reversal.quantity == Decimal(-400) and reversal.reversal_reason == "Counted twice."
    session.refresh(line)
    assert line.used_base == used - 400
    page = read(client.get(f"/ledger/{reversal.id}"))
    assert f"Reverses Entry {entry.seq}: Counted twice." in page.text
    session.refresh(entry)
    assert entry.occurred_on == OCT(2) and entry.quantity == Decimal(400)  # untouched


def test_a_reversal_skips_every_signed_off_month(session, admin, reviewer, october):
    sign_off(session, reviewer, NOVEMBER)
    reversal = ledger.reverse_entry(
        session, october.covered_entry, reason="Counted twice.", actor=admin, now=NOW
    )
    session.commit()
    assert reversal.occurred_on == date(2018, 12, 1)
    assert reversal.reverses_id == october.covered_entry.id
    # An entry of an open month is reversed on its own day.
    rice = make_rice(session)
    december = draw(session, rice, "10", on=date(2018, 12, 5), actor=admin)
    same_day = ledger.reverse_entry(session, december, reason="Wrong", actor=admin, now=NOW)
    assert same_day.occurred_on == date(2018, 12, 5)


def test_the_review_of_a_signed_off_month_is_closed(client, session, reviewer, admin, october):
    message = "2018-10 is signed off; the review of its items is closed."
    # Acknowledged, its items could only be reopened.
    with pytest.raises(ConflictError, match=message):
        act(session, K.DIP_VARIANCE, october.dip.id, A.REOPEN, reviewer, "Again?")
    session.rollback()
    url = f"/reviews/items/dip_variance/{october.dip.id}"
    log_in(client, reviewer)
    page = read(client.get(url))
    assert "month signed off" in page.text
    response = client.post(f"{url}/reopen", data={"body": "Again?"})
    assert response.status_code == 422
    assert message in read(response).errors
    assert item_of(session, K.DIP_VARIANCE, october.dip.id).state is ReviewState.ACKNOWLEDGED
    # Words may still be added to the thread; they change no state.
    item = act(session, K.DIP_VARIANCE, october.dip.id, A.COMMENT, reviewer, "For the record.")
    assert item.state is ReviewState.ACKNOWLEDGED
