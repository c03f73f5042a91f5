"""Deliveries through the API: a draft created and its manifest written, screened, approved,
crossed (or refused whole, each line's reason named), received or turned back; south-bound
returns; the on-site stock lots. The same services as the delivery's page, so the same
outcomes and refusals (tests/supplies/test_views.py), answered as JSON or problem details."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from office.audit.models import AuditEvent
from office.auth.permissions import Role
from office.db import utcnow
from office.i18n import office_date
from office.stock.models import StockLot
from office.supplies.models import Delivery, DeliveryLine
from office.waivers.models import DrawdownEntry
from office.waivers.units import Unit
from tests.api.conftest import assert_problem
from tests.factories import make_approval, make_resource, make_steel, make_waiver
from tests.supplies.arrange import (
    RECORDS,
    approved,
    count,
    crossed,
    draft,
    line,
    lots_of,
    received,
    snapshot,
)

BOOKS = tuple(model for model in RECORDS if model is not AuditEvent)


@pytest.fixture
def steel(session):
    return make_steel(session)


@pytest.fixture
def copper(session):
    return make_resource(
        session, "copper", hs_code="7403.11", unit=Unit.T, barrels_per_tonne=None, name="Copper"
    )


@pytest.fixture
def heater(session):
    return make_resource(
        session,
        "water-heater",
        hs_code="8419.11",
        unit=Unit.PIECE,
        barrels_per_tonne=None,
        name="Water heater",
    )


@pytest.fixture
def lines(session, steel, copper, heater):
    """A granted waiver valid through 2018: 10 t of steel, 5 t of copper, 20 water heaters."""
    waiver = make_waiver(
        session,
        [(steel, "t", "10", "10"), (copper, "t", "5", "5"), (heater, "piece", "20", "20")],
        reference="MOU-2018-0611",
    )
    return dict(zip(("steel", "copper", "heater"), waiver.lines, strict=True))


def header(approval_id: int | None = None, **fields):
    body = {
        "reference": "KLO-D-2018-20",
        "direction": "north",
        "planned_on": "2018-07-20",
        "carrier": "Hyundai Logistics",
        "vehicles": "2 lorries, 5 t",
        "approval_waiver_id": approval_id,
    }
    return {**body, **fields}


# --- a draft and its manifest -------------------------------------------------------------


def test_a_delivery_is_created_as_a_draft_its_lines_screened_on_its_planned_day(
    admin_api, session, steel, lines
):
    approval = make_approval(session, reference="MOU-CO-2018-117")
    created = admin_api.post("/deliveries", header(approval.id))
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert created.headers["Location"].endswith(f"/api/v1/deliveries/{body['id']}")
    assert (body["reference"], body["status"], body["direction"], body["planned_on"]) == (
        "KLO-D-2018-20",
        "draft",
        "north",
        "2018-07-20",
    )
    assert body["lines"] == [] and body["crossing_point"] == "Gyeongui road, Dorasan"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", body["created_at"])

    added = admin_api.post(
        f"/deliveries/{body['id']}/lines",
        {
            "resource": "steel",
            "quantity": "2.5",
            "purpose": "repair",
            "waiver_line_id": lines["steel"].id,
            "unit_value_usd": "12.34",
        },
    )
    assert added.status_code == 201, added.get_json()
    (shown,) = added.get_json()["lines"]
    assert (shown["line_no"], shown["resource"], shown["quantity"], shown["unit"]) == (
        1,
        "steel",
        "2.5",
        "t",
    )
    assert shown["unit_value_usd"] == "12.34"
    assert (shown["classification"], shown["passes"], shown["message"]) == ("covered", True, None)
    (un,) = shown["regimes"]
    assert (un["regime"], un["line_id"], un["remaining_before"], un["remaining_after"]) == (
        "un",
        lines["steel"].id,
        "10",
        "7.5",
    )
    assert admin_api.get(f"/deliveries/{body['id']}").get_json() == added.get_json()


def test_a_second_delivery_with_the_same_reference_is_refused_and_nothing_added(admin_api, session):
    draft(session, reference="KLO-D-2018-20")
    refused = admin_api.post("/deliveries", header())
    problem = assert_problem(refused, 422)
    assert "reference" in problem["errors"]
    assert count(session, Delivery) == 1


def test_a_bad_line_names_its_field_and_adds_nothing(admin_api, session, steel, lines):
    delivery = draft(session, reference="KLO-D-2018-21")
    wrong_unit = admin_api.post(
        f"/deliveries/{delivery.id}/lines",
        {"resource": "steel", "quantity": "1", "unit": "L", "purpose": "repair"},
    )
    assert assert_problem(wrong_unit, 422)["errors"] == {
        "unit": ["L does not convert to t, the unit of steel."]
    }
    unknown = admin_api.post(
        f"/deliveries/{delivery.id}/lines",
        {"resource": "gold", "quantity": "1", "purpose": "repair"},
    )
    assert assert_problem(unknown, 422)["errors"] == {
        "resource": ["No resource has the code gold."]
    }
    negative = admin_api.post(
        f"/deliveries/{delivery.id}/lines",
        {"resource": "steel", "quantity": "-1", "purpose": "repair"},
    )
    assert "quantity" in assert_problem(negative, 422)["errors"]
    assert count(session, DeliveryLine) == 0


def test_removing_a_line_leaves_the_rest_and_only_a_draft_can_lose_one(
    admin_api, session, steel, heater, lines
):
    delivery = draft(
        session, [line(steel, "1", lines["steel"]), line(heater, "2", lines["heater"])]
    )
    first = delivery.lines[0].id
    removed = admin_api.post(f"/delivery-lines/{first}/remove")
    assert removed.status_code == 200
    assert [x["resource"] for x in removed.get_json()["lines"]] == ["water-heater"]

    fixed = approved(session, [line(steel, "1", lines["steel"])], reference="KLO-D-2018-30")
    refused = admin_api.post(f"/delivery-lines/{fixed.lines[0].id}/remove")
    assert assert_problem(refused, 409)["detail"] == (
        "Delivery KLO-D-2018-30 is approved; only a draft can be changed."
    )
    assert assert_problem(admin_api.post("/delivery-lines/999999/remove"), 404)


def test_approving_needs_lines_and_the_ministrys_approval(admin_api, session, steel, lines):
    empty = draft(session, reference="KLO-D-2018-40")
    assert assert_problem(admin_api.post(f"/deliveries/{empty.id}/approve"), 409)["detail"] == (
        "A delivery without manifest lines cannot be approved."
    )
    unnamed = draft(session, [line(steel, "1", lines["steel"])], approval=None)
    assert assert_problem(admin_api.post(f"/deliveries/{unnamed.id}/approve"), 422)["errors"] == {
        "approval_waiver_id": ["Choose the ministry's carry-out approval first."]
    }

    ready = draft(session, [line(steel, "1", lines["steel"])], reference="KLO-D-2018-41")
    approved_now = admin_api.post(f"/deliveries/{ready.id}/approve")
    assert approved_now.get_json()["status"] == "approved"
    late_line = admin_api.post(
        f"/deliveries/{ready.id}/lines", {"resource": "steel", "quantity": "1", "purpose": "repair"}
    )
    assert assert_problem(late_line, 409)["detail"] == (
        "Delivery KLO-D-2018-41 is approved; only a draft can be changed."
    )


def test_the_header_of_a_draft_changes_and_fields_left_out_are_kept(admin_api, session):
    delivery = draft(session, reference="KLO-D-2018-50", carrier="Hyundai Logistics")
    changed = admin_api.post(f"/deliveries/{delivery.id}", {"vehicles": "1 lorry"})
    assert changed.status_code == 200, changed.get_json()
    body = changed.get_json()
    assert (body["reference"], body["carrier"], body["vehicles"]) == (
        "KLO-D-2018-50",
        "Hyundai Logistics",
        "1 lorry",
    )
    assert body["approval_waiver_id"] == delivery.approval_waiver_id


# --- crossing, receiving, turning back ----------------------------------------------------


def test_a_refused_crossing_is_409_names_each_line_and_keeps_only_the_attempt(
    admin_api, session, steel, copper, heater, lines
):
    received(
        session,
        [line(steel, "3", lines["steel"]), line(copper, "1", lines["copper"])],
        reference="KLO-D-2018-01",
    )
    delivery = approved(
        session,
        [
            line(steel, "2", lines["steel"]),
            line(copper, "6", lines["copper"]),  # the copper line has 4 t left
            line(heater, "10", lines["heater"]),
        ],
        reference="KLO-D-2018-08",
    )
    before = snapshot(session, BOOKS)

    response = admin_api.post(f"/deliveries/{delivery.id}/cross", {"crossed_on": "2018-10-01"})

    problem = assert_problem(response, 409)
    why = "Waiver MOU-2018-0611 line 2 has 4 t left; this drawdown asks for 6 t."
    assert problem["refusals"] == [{"line_no": 2, "message": why}]
    assert problem["detail"] == (
        f"The crossing of KLO-D-2018-08 is refused; nothing was recorded. Line 2: {why}"
    )
    assert snapshot(session, BOOKS) == before
    (attempt,) = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "delivery.crossing_refused")
    ).all()
    assert (attempt.object_id, attempt.actor_id) == (str(delivery.id), admin_api.user.id)
    shown = admin_api.get(f"/deliveries/{delivery.id}").get_json()
    assert shown["status"] == "approved"
    assert [r["lines"] for r in shown["refused_crossings"]] == [[{"line_no": 2, "message": why}]]


def test_crossing_and_receiving_put_every_line_on_the_ledger_and_on_site(
    admin_api, session, steel, heater, lines
):
    delivery = approved(
        session,
        [line(steel, "2", lines["steel"]), line(heater, "4", lines["heater"])],
        reference="KLO-D-2018-09",
    )
    crossed_now = admin_api.post(f"/deliveries/{delivery.id}/cross", {"crossed_on": "2018-10-01"})
    assert crossed_now.status_code == 200, crossed_now.get_json()
    body = crossed_now.get_json()
    assert (body["status"], body["crossed_on"]) == ("crossed", "2018-10-01")
    assert [(x["classification"], x["regimes"][0]["line_id"]) for x in body["lines"]] == [
        ("covered", lines["steel"].id),
        ("covered", lines["heater"].id),
    ]
    entries = [session.get(DrawdownEntry, x["drawdown_entry_id"]) for x in body["lines"]]
    assert [e.source_ref for e in entries] == ["KLO-D-2018-09/1", "KLO-D-2018-09/2"]

    got = admin_api.post(f"/deliveries/{delivery.id}/receive", {"received_on": "2018-10-02"})
    assert got.status_code == 200, got.get_json()
    assert got.get_json()["status"] == "received"
    session.expire_all()
    assert [(lot.source_ref, lot.remaining) for lot in lots_of(session, delivery)] == [
        ("KLO-D-2018-09/1", 2),
        ("KLO-D-2018-09/2", 4),
    ]
    again = admin_api.post(f"/deliveries/{delivery.id}/receive", {"received_on": "2018-10-03"})
    assert assert_problem(again, 409)["detail"] == (
        "Delivery KLO-D-2018-09 was already received on 2018-10-02."
    )
    assert count(session, StockLot) == 2

    lots = admin_api.get("/stock-lots", {"resource": "steel"}).get_json()
    assert [(x["source_ref"], x["remaining"], x["unit"]) for x in lots["items"]] == [
        ("KLO-D-2018-09/1", "2", "t")
    ]


def test_crossing_refusals_by_state_and_day_change_nothing(admin_api, session, steel, lines):
    still_draft = draft(session, [line(steel, "1", lines["steel"])], reference="KLO-D-2018-10")
    refused = admin_api.post(f"/deliveries/{still_draft.id}/cross", {"crossed_on": "2018-10-01"})
    assert assert_problem(refused, 409)["detail"] == (
        "Delivery KLO-D-2018-10 is draft; only an approved delivery can cross."
    )
    waiver = make_waiver(session, [(steel, "t", "10", "10")], valid_until=None)
    ready = approved(session, [line(steel, "1", waiver.lines[0])])
    before = snapshot(session, BOOKS)
    tomorrow = (office_date(utcnow()) + timedelta(days=1)).isoformat()
    late = admin_api.post(f"/deliveries/{ready.id}/cross", {"crossed_on": tomorrow})
    assert "crossed_on" in assert_problem(late, 422)["errors"]
    bad_day = admin_api.post(f"/deliveries/{ready.id}/cross", {"crossed_on": "2018-02-30"})
    assert "crossed_on" in assert_problem(bad_day, 422)["errors"]
    assert snapshot(session, BOOKS) == before


def test_receiving_what_has_not_crossed_is_refused(admin_api, session, steel, lines):
    delivery = approved(session, [line(steel, "1", lines["steel"])], reference="KLO-D-2018-11")
    refused = admin_api.post(f"/deliveries/{delivery.id}/receive", {"received_on": "2018-10-02"})
    assert assert_problem(refused, 409)["detail"] == (
        "Delivery KLO-D-2018-11 is approved; only a delivery that crossed can be received."
    )
    assert count(session, StockLot) == 0


def test_a_store_of_another_line_or_unknown_is_named_in_stores(admin_api, session, steel, lines):
    delivery = crossed(session, [line(steel, "1", lines["steel"])])
    unknown = admin_api.post(
        f"/deliveries/{delivery.id}/receive",
        {"received_on": "2018-10-02", "stores": [{"line_id": 999999, "store_id": 1}]},
    )
    assert list(assert_problem(unknown, 422)["errors"]) == ["stores.0.line_id"]
    assert count(session, StockLot) == 0


def test_a_delivery_turned_back_says_why(admin_api, session, steel, lines):
    delivery = approved(session, [line(steel, "1", lines["steel"])])
    blank = admin_api.post(f"/deliveries/{delivery.id}/reject", {"reason": ""})
    assert "reason" in assert_problem(blank, 422)["errors"]
    turned = admin_api.post(
        f"/deliveries/{delivery.id}/reject", {"reason": "Customs papers missing"}
    )
    assert turned.status_code == 200
    assert (turned.get_json()["status"], turned.get_json()["rejected_reason"]) == (
        "rejected",
        "Customs papers missing",
    )
    assert count(session, DrawdownEntry) == 0
    again = admin_api.post(f"/deliveries/{delivery.id}/reject", {"reason": "Again"})
    assert assert_problem(again, 409)


def test_a_return_of_more_than_the_lot_holds_is_refused(admin_api, session, steel, lines):
    (lot,) = lots_of(session, received(session, [line(steel, "2", lines["steel"])]))
    back = draft(session, direction="south")
    refused = admin_api.post(
        f"/deliveries/{back.id}/return-lines", {"lot_id": lot.id, "quantity": "2.5"}
    )
    assert assert_problem(refused, 422)["errors"] == {
        "quantity": [f"Lot {lot.id} has 2 t on site; this return asks for 2.5 t."]
    }
    taken = admin_api.post(
        f"/deliveries/{back.id}/return-lines", {"lot_id": lot.id, "quantity": "1.5"}
    )
    assert taken.status_code == 201
    (shown,) = taken.get_json()["lines"]
    assert (shown["return_lot_id"], shown["quantity"], shown["regimes"]) == (lot.id, "1.5", [])
    north = draft(session, reference="KLO-D-2018-60")
    wrong_way = admin_api.post(
        f"/deliveries/{north.id}/return-lines", {"lot_id": lot.id, "quantity": "1"}
    )
    assert assert_problem(wrong_way, 409)


# --- lists, stock lots, permissions -------------------------------------------------------


def test_deliveries_are_listed_newest_first_a_page_at_a_time(admin_api, session):
    made = [draft(session, reference=f"KLO-D-2018-7{n}") for n in range(3)]
    south = draft(session, reference="KLO-S-2018-01", direction="south")
    first = admin_api.get("/deliveries", {"limit": 2}).get_json()
    assert [x["reference"] for x in first["items"]] == ["KLO-S-2018-01", "KLO-D-2018-72"]
    rest = admin_api.get("/deliveries", {"limit": 2, "cursor": first["next_cursor"]}).get_json()
    assert [x["id"] for x in rest["items"]] == [made[1].id, made[0].id]
    assert rest["next_cursor"] is None
    only_south = admin_api.get("/deliveries", {"direction": "south"}).get_json()
    assert [x["id"] for x in only_south["items"]] == [south.id]
    assert (
        "status" in assert_problem(admin_api.get("/deliveries", {"status": "lost"}), 422)["errors"]
    )


def test_stock_lots_as_of_a_day_show_what_was_left_then(admin_api, session, steel, lines):
    (lot,) = lots_of(session, received(session, [line(steel, "2", lines["steel"])]))
    back = draft(session, direction="south", planned_on=date(2018, 10, 5))
    from office.supplies import services
    from tests.factories import NOW

    services.add_return_line(session, back, lot, "0.5", actor=None, now=NOW)
    services.approve(session, back, actor=None, now=NOW)
    services.cross(session, back, crossed_on=date(2018, 10, 5), actor=None, now=NOW)
    session.commit()
    now = admin_api.get("/stock-lots").get_json()["items"]
    then = admin_api.get("/stock-lots", {"as_of": "2018-10-02"}).get_json()
    assert [(x["id"], x["remaining"], x["returned"]) for x in now] == [(lot.id, "1.5", "0.5")]
    assert [(x["remaining"], x["returned"]) for x in then["items"]] == [("2", "0")]
    assert then["as_of"] == "2018-10-02"
    before = admin_api.get("/stock-lots", {"as_of": "2018-09-30"}).get_json()["items"]
    assert before == []
    assert (
        "as_of"
        in assert_problem(admin_api.get("/stock-lots", {"as_of": "2099-01-01"}), 422)["errors"]
    )
    assert (
        "resource"
        in assert_problem(admin_api.get("/stock-lots", {"resource": "gold"}), 422)["errors"]
    )


def test_readers_read_only_administrators_write(api_as, session, steel, lines):
    delivery = approved(session, [line(steel, "1", lines["steel"])])
    reviewer, scheduler = api_as(Role.REVIEWER), api_as(Role.SCHEDULER)
    assert reviewer.get(f"/deliveries/{delivery.id}").status_code == 200
    assert reviewer.get("/stock-lots").status_code == 200
    assert_problem(scheduler.get("/deliveries"), 403)
    before = snapshot(session, RECORDS)
    assert_problem(
        reviewer.post(f"/deliveries/{delivery.id}/cross", {"crossed_on": "2018-10-01"}), 403
    )
    assert_problem(reviewer.post("/deliveries", header()), 403)
    assert snapshot(session, RECORDS) == before


def test_a_crossing_sent_twice_with_one_key_crosses_once(admin_api, session, steel, lines):
    delivery = approved(session, [line(steel, "1", lines["steel"])])
    key = {"Idempotency-Key": '"cross-once"'}
    path = f"/deliveries/{delivery.id}/cross"
    first = admin_api.post(path, {"crossed_on": "2018-10-01"}, headers=key)
    again = admin_api.post(path, {"crossed_on": "2018-10-01"}, headers=key)
    assert first.status_code == again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert count(session, DrawdownEntry) == 1
