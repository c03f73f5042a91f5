"""Work orders through the API: created, moved along their steps, materials drawn from the
oldest lots first, costs and equipment; the same services as the work order's page, so the
same outcomes and refusals (tests/supplies/test_repairs.py), as JSON or problem details."""

from __future__ import annotations

from datetime import date

import pytest

from office.auth.permissions import Role
from office.repairs.models import WorkCost, WorkOrder, WorkStatus
from office.stock.models import LotDraw
from office.waivers.units import Unit
from tests.api.conftest import assert_problem
from tests.factories import make_resource, make_steel, make_waiver
from tests.supplies.arrange import RECORDS, count, line, lots_of, received, snapshot, work_order

BOOKS = (*RECORDS, WorkOrder, WorkCost)


@pytest.fixture
def steel(session):
    return make_steel(session)


@pytest.fixture
def two_lots(session, steel):
    """Steel on site: 5 t (at 1,000 won a kg) received 2 October, 10 t (at 900,000 won a t)
    received 5 October."""
    june = make_waiver(session, [(steel, "t", "5", "5")], reference="MOU-2018-0620").lines[0]
    july = make_waiver(session, [(steel, "t", "10", "10")], reference="MOU-2018-0702").lines[0]
    later = received(
        session, [line(steel, "10", july, unit_value_krw="900000")], on=date(2018, 10, 5)
    )
    earlier = received(
        session,
        [line(steel, "5000", june, unit="kg", unit_value_krw="1000")],
        on=date(2018, 10, 2),
    )
    return lots_of(session, earlier)[0], lots_of(session, later)[0]


def new_order(**fields):
    body = {
        "area": "floor_2",
        "room": "South office, room 201",
        "description": "Replace the heating pipes",
        "contractor": "Hanil Construction",
        "budget_krw": "10000000",
        "planned_start": "2018-08-01",
        "planned_end": "2018-09-30",
    }
    return {**body, **fields}


def test_a_work_order_is_created_and_moved_along_its_steps(admin_api, session):
    created = admin_api.post("/work-orders", new_order(number="WO-2018-01"))
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert created.headers["Location"].endswith(f"/api/v1/work-orders/{body['id']}")
    assert (body["number"], body["status"], body["budget_krw"], body["next_statuses"]) == (
        "WO-2018-01",
        "planned",
        10000000,
        ["approved", "cancelled"],
    )
    path = f"/work-orders/{body['id']}"
    skipped = admin_api.post(f"{path}/status", {"status": "completed", "on": "2018-08-01"})
    assert assert_problem(skipped, 409)["detail"] == (
        "Work order WO-2018-01 cannot go from planned to completed."
    )
    early = admin_api.post(f"{path}/progress", {"progress": 10})
    assert assert_problem(early, 409)["detail"] == (
        "Progress is recorded while the work is approved or under way."
    )
    for status, on in (("approved", "2018-08-01"), ("in_progress", "2018-08-03")):
        moved = admin_api.post(f"{path}/status", {"status": status, "on": on})
        assert moved.status_code == 200, moved.get_json()
    assert admin_api.post(f"{path}/progress", {"progress": 40}).get_json()["progress"] == 40
    too_early = admin_api.post(f"{path}/status", {"status": "completed", "on": "2018-08-02"})
    assert assert_problem(too_early, 422)["errors"] == {
        "on": ["The work cannot end before it starts."]
    }
    done = admin_api.post(f"{path}/status", {"status": "completed", "on": "2018-09-28"})
    shown = done.get_json()
    assert (shown["actual_start"], shown["actual_end"], shown["progress"]) == (
        "2018-08-03",
        "2018-09-28",
        100,
    )
    assert shown["next_statuses"] == []
    assert admin_api.get(path).get_json() == shown


def test_bad_work_orders_name_their_field_and_add_nothing(admin_api, session):
    work_order(session, number="WO-2018-01")
    clash = admin_api.post("/work-orders", new_order(number="WO-2018-01"))
    assert assert_problem(clash, 422)["errors"] == {
        "number": ["Work order WO-2018-01 already exists; the next free number is WO-2018-02."]
    }
    backwards = admin_api.post("/work-orders", new_order(planned_end="2018-07-31"))
    assert assert_problem(backwards, 422)["errors"] == {
        "planned_end": ["The work cannot end before it starts."]
    }
    unbudgeted = admin_api.post("/work-orders", new_order(budget_krw="10.5"))
    assert assert_problem(unbudgeted, 422)["errors"] == {
        "budget_krw": ["Enter an amount of 0 or more, in whole won."]
    }
    no_area = new_order()
    del no_area["area"]
    assert "area" in assert_problem(admin_api.post("/work-orders", no_area), 422)["errors"]
    assert count(session, WorkOrder) == 1


def test_fields_left_out_of_a_change_are_kept(admin_api, session):
    order = work_order(session, number="WO-2018-05")
    changed = admin_api.post(f"/work-orders/{order.id}", {"contractor": "Daewoo"})
    assert changed.status_code == 200, changed.get_json()
    body = changed.get_json()
    assert (body["number"], body["contractor"], body["budget_krw"]) == (
        "WO-2018-05",
        "Daewoo",
        10000000,
    )


def test_materials_are_drawn_oldest_first_and_spend_counts_them_at_their_value(
    admin_api, session, steel, two_lots
):
    old, new = two_lots
    order = work_order(session, WorkStatus.IN_PROGRESS)
    used = admin_api.post(
        f"/work-orders/{order.id}/materials",
        {"resource": "steel", "quantity": "7", "used_on": "2018-10-10"},
    )
    assert used.status_code == 201, used.get_json()
    (material,) = used.get_json()["materials"]
    assert (material["quantity"], material["unit"], material["used_on"]) == (
        "7",
        "t",
        "2018-10-10",
    )
    assert [(d["lot_id"], d["quantity"], d["classification"]) for d in material["draws"]] == [
        (old.id, "5", "covered"),
        (new.id, "2", "covered"),
    ]
    cost = admin_api.post(
        f"/work-orders/{order.id}/costs",
        {"spent_on": "2018-10-12", "description": "Welders, 3 days", "amount_krw": 2400000},
    )
    assert cost.status_code == 201
    body = cost.get_json()
    assert (body["materials_krw"], body["costs_krw"], body["spent_krw"]) == (
        6800000,
        2400000,
        9200000,
    )
    assert [(c["description"], c["amount_krw"]) for c in body["costs"]] == [
        ("Welders, 3 days", 2400000)
    ]


def test_more_material_than_is_on_site_is_refused_and_takes_nothing(
    admin_api, session, steel, two_lots
):
    order = work_order(session, WorkStatus.IN_PROGRESS)
    before = snapshot(session, BOOKS)
    refused = admin_api.post(
        f"/work-orders/{order.id}/materials",
        {"resource": "steel", "quantity": "16", "unit": "t", "used_on": "2018-10-10"},
    )
    assert assert_problem(refused, 409)["detail"] == (
        "Materials store has 15 t of Steel; this issue asks for 16 t."
    )
    assert snapshot(session, BOOKS) == before
    finished = work_order(session, WorkStatus.COMPLETED, number="WO-2018-06")
    late = admin_api.post(
        f"/work-orders/{finished.id}/materials",
        {"resource": "steel", "quantity": "1", "used_on": "2018-10-10"},
    )
    assert assert_problem(late, 409)["detail"] == (
        "Work order WO-2018-06 is completed; materials are used while it is approved or under way."
    )
    assert count(session, LotDraw) == 0


def test_a_cost_needs_an_amount_above_zero(admin_api, session):
    order = work_order(session, WorkStatus.IN_PROGRESS)
    nothing = admin_api.post(
        f"/work-orders/{order.id}/costs",
        {"spent_on": "2018-10-12", "description": "Welders", "amount_krw": 0},
    )
    assert assert_problem(nothing, 422)["errors"] == {
        "amount_krw": ["Enter an amount greater than 0, in whole won."]
    }
    assert count(session, WorkCost) == 0


def test_only_equipment_that_must_come_back_is_assigned_and_only_once(admin_api, session):
    heater = make_resource(
        session, "water-heater", hs_code="8419.11", unit=Unit.PIECE, barrels_per_tonne=None
    )
    cover = make_waiver(session, [(heater, "piece", "20", "20")]).lines[0]
    inbound = received(
        session,
        [
            line(heater, "1", cover, must_return=True, return_due_on=date(2018, 11, 30)),
            line(heater, "4", cover),
        ],
    )
    tool, kept = lots_of(session, inbound)
    order = work_order(session, WorkStatus.IN_PROGRESS)
    path = f"/work-orders/{order.id}/equipment"
    assigned = admin_api.post(path, {"lot_id": tool.id, "note": "For the boiler room"})
    assert assigned.status_code == 201
    assert assigned.get_json()["equipment"] == [
        {
            "lot_id": tool.id,
            "resource": "water-heater",
            "must_return_by": "2018-11-30",
            "note": "For the boiler room",
        }
    ]
    assert assert_problem(admin_api.post(path, {"lot_id": tool.id}), 409)["detail"] == (
        "This equipment is already on the work order."
    )
    assert assert_problem(admin_api.post(path, {"lot_id": kept.id}), 422)["errors"] == {
        "lot_id": ["Only equipment that must come back is assigned."]
    }


def test_work_orders_are_listed_newest_first_and_filtered_by_status(admin_api, session):
    planned = work_order(session, number="WO-2018-10")
    going = work_order(session, WorkStatus.IN_PROGRESS, number="WO-2018-11")
    page = admin_api.get("/work-orders", {"limit": 1}).get_json()
    assert [x["number"] for x in page["items"]] == ["WO-2018-11"]
    rest = admin_api.get("/work-orders", {"cursor": page["next_cursor"]}).get_json()
    assert [x["id"] for x in rest["items"]] == [planned.id] and rest["next_cursor"] is None
    running = admin_api.get("/work-orders", {"status": "in_progress"}).get_json()
    assert [x["id"] for x in running["items"]] == [going.id]
    assert_problem(admin_api.get("/work-orders/999999"), 404)


def test_readers_read_only_administrators_write(api_as, session):
    order = work_order(session)
    reviewer, scheduler = api_as(Role.REVIEWER), api_as(Role.SCHEDULER)
    assert reviewer.get(f"/work-orders/{order.id}").status_code == 200
    assert_problem(scheduler.get("/work-orders"), 403)
    before = snapshot(session, BOOKS)
    assert_problem(reviewer.post("/work-orders", new_order()), 403)
    status = {"status": "approved", "on": "2018-08-01"}
    assert_problem(reviewer.post(f"/work-orders/{order.id}/status", status), 403)
    assert snapshot(session, BOOKS) == before
