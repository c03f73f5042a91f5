"""The deliveries, stock lots and work orders routes' part of the shared route lists: the real
calls that give every response their OpenAPI operations document (tests/api/test_openapi.py)
and their POSTs for the Idempotency-Key test (tests/api/test_idempotency.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from office.audit.models import AuditEvent
from office.auth.permissions import Role
from office.repairs.models import WorkCost, WorkEquipment, WorkOrder, WorkStatus
from office.stock.models import LotDraw
from office.supplies.models import Delivery, DeliveryLine
from office.waivers.models import DrawdownEntry, Resource, WaiverLine
from tests.factories import make_steel, make_waiver
from tests.supplies.arrange import (
    approved,
    crossed,
    draft,
    line,
    lots_of,
    received,
    work_order,
)

# The schemas these routes answer with.
SCHEMAS = {
    "DeliveryDetailOut",
    "DeliveryPage",
    "StockLotPage",
    "WorkOrderDetailOut",
    "WorkOrderPage",
}
WORK_ORDER = {
    "area": "floor_2",
    "description": "Replace the heating pipes",
    "budget_krw": "10000000",
    "planned_start": "2018-08-01",
    "planned_end": "2018-09-30",
}


def _steel_line(session: Session) -> WaiverLine:
    """A new waiver line of 100 t of steel (a resource made the first time)."""
    steel = session.scalar(select(Resource).where(Resource.code == "steel")) or make_steel(session)
    return make_waiver(session, [(steel, "t", "100", "100")]).lines[0]


def supply_calls(
    call: Callable[..., Any],
    session: Session,
    admin: Any,
    reviewer: Any,
    scheduler: Any,
    anonymous: Any,
) -> dict[str, int]:
    """Make the calls; return the ids the shared loops fill the paths' templates with."""
    from tests.api.test_openapi import still_processing

    steel = _steel_line(session)
    # Successes, in the order a client would go.
    header = {"direction": "north", "planned_on": "2018-10-01", "carrier": "Hyundai"}
    created = call(admin, "post", "/deliveries", header).get_json()
    path = f"/deliveries/{created['id']}"
    call(admin, "post", path, {"vehicles": "1 lorry"})
    body = {"resource": "steel", "quantity": "1", "purpose": "repair", "waiver_line_id": steel.id}
    added = call(admin, "post", f"{path}/lines", body).get_json()
    call(admin, "post", f"/delivery-lines/{added['lines'][0]['id']}/remove")
    call(admin, "get", "/deliveries", {"limit": 1})
    ready = approved(session, [line(steel.resource, "1", steel)])
    call(admin, "get", f"/deliveries/{ready.id}")
    going = draft(session, [line(steel.resource, "1", steel)])
    call(admin, "post", f"/deliveries/{going.id}/approve")
    call(admin, "post", f"/deliveries/{ready.id}/cross", {"crossed_on": "2018-10-01"})
    call(admin, "post", f"/deliveries/{ready.id}/receive", {"received_on": "2018-10-02"})
    turned = approved(session, [line(steel.resource, "1", steel)])
    call(admin, "post", f"/deliveries/{turned.id}/reject", {"reason": "Papers missing"})
    (lot,) = lots_of(session, received(session, [line(steel.resource, "2", steel)]))
    south = draft(session, direction="south")
    call(admin, "post", f"/deliveries/{south.id}/return-lines", {"lot_id": lot.id, "quantity": 1})
    call(admin, "get", "/stock-lots", {"resource": "steel", "limit": 1})
    # Conflicts: a crossing refused whole, and steps the state no longer allows.
    capped = make_waiver(session, [(steel.resource, "t", "1", "1")]).lines[0]
    refused = approved(session, [line(steel.resource, "5", capped)])
    call(admin, "post", f"/deliveries/{refused.id}/cross", {"crossed_on": "2018-10-01"})
    call(admin, "post", f"/deliveries/{ready.id}/receive", {"received_on": "2018-10-02"})
    call(admin, "post", f"/deliveries/{ready.id}/reject", {"reason": "Late"})
    call(admin, "post", f"/deliveries/{ready.id}/approve")
    call(admin, "post", f"/deliveries/{ready.id}", {"vehicles": "2 lorries"})
    call(admin, "post", f"/deliveries/{ready.id}/lines", body)
    call(admin, "post", f"/deliveries/{ready.id}/return-lines", {"lot_id": lot.id, "quantity": 1})
    call(admin, "post", f"/delivery-lines/{ready.lines[0].id}/remove")
    # Unknown ids.
    for operation in ("", "/lines", "/return-lines", "/approve", "/cross", "/receive", "/reject"):
        call(admin, "post", f"/deliveries/999999{operation}", {})
    call(admin, "get", "/deliveries/999999")
    call(admin, "post", "/delivery-lines/999999/remove")
    # Invalid parameters.
    call(admin, "get", "/deliveries", {"limit": 0})
    call(admin, "get", "/stock-lots", {"limit": 0})
    # No token, a role without the permission, bad bodies, Idempotency-Keys.
    posts = [
        "/deliveries",
        path,
        f"{path}/lines",
        f"{path}/return-lines",
        f"/delivery-lines/{ready.lines[0].id}/remove",
        *(f"{path}/{action}" for action in ("approve", "cross", "receive", "reject")),
    ]
    for concrete in posts:
        call(anonymous, "post", concrete, {})
        call(scheduler, "post", concrete, {})
        call(admin, "post", concrete, raw="{")
        key = still_processing(session, admin, concrete)
        call(admin, "post", concrete, raw="{}", headers={"Idempotency-Key": key})
        call(admin, "post", concrete, raw='{"other": 1}', headers={"Idempotency-Key": key})
        call(admin, "post", concrete, raw="{}", headers={"Idempotency-Key": "unquoted"})
    for concrete in ("/deliveries", f"/deliveries/{ready.id}", "/stock-lots"):
        call(anonymous, "get", concrete)
        call(scheduler, "get", concrete)
    return {
        "delivery_id": ready.id,
        "work_order_id": work_calls(call, session, admin, scheduler, anonymous),
    }


def work_calls(
    call: Callable[..., Any], session: Session, admin: Any, scheduler: Any, anonymous: Any
) -> int:
    """The work orders' calls; return a work order's id."""
    from tests.api.test_openapi import still_processing

    steel = _steel_line(session)
    (lot,) = lots_of(
        session,
        received(
            session,
            [line(steel.resource, "5", steel, must_return=True, return_due_on=date(2018, 12, 1))],
        ),
    )
    # Successes.
    order = call(admin, "post", "/work-orders", WORK_ORDER).get_json()
    path = f"/work-orders/{order['id']}"
    call(admin, "post", path, {"contractor": "Hanil Construction"})
    call(admin, "post", f"{path}/status", {"status": "approved", "on": "2018-08-01"})
    call(admin, "post", f"{path}/progress", {"progress": 10})
    used = {"resource": "steel", "quantity": "1", "used_on": "2018-10-10"}
    call(admin, "post", f"{path}/materials", used)
    cost = {"spent_on": "2018-10-12", "description": "Welders", "amount_krw": 1000}
    call(admin, "post", f"{path}/costs", cost)
    call(admin, "post", f"{path}/equipment", {"lot_id": lot.id})
    call(admin, "get", "/work-orders", {"limit": 1})
    call(admin, "get", path)
    # Conflicts.
    call(admin, "post", f"{path}/status", {"status": "planned", "on": "2018-08-01"})
    call(admin, "post", f"{path}/materials", {**used, "quantity": "99"})
    call(admin, "post", f"{path}/equipment", {"lot_id": lot.id})
    cancelled = call(admin, "post", "/work-orders", WORK_ORDER).get_json()
    call(
        admin,
        "post",
        f"/work-orders/{cancelled['id']}/status",
        {"status": "cancelled", "on": "2018-08-01"},
    )
    call(admin, "post", f"/work-orders/{cancelled['id']}/progress", {"progress": 10})
    # Unknown ids, invalid parameters.
    for operation in ("", "/status", "/progress", "/materials", "/costs", "/equipment"):
        call(admin, "post", f"/work-orders/999999{operation}", {})
    call(admin, "get", "/work-orders/999999")
    call(admin, "get", "/work-orders", {"limit": 0})
    # No token, a role without the permission, bad bodies, Idempotency-Keys.
    posts = [
        "/work-orders",
        path,
        *(f"{path}/{step}" for step in ("status", "progress", "materials", "costs", "equipment")),
    ]
    for concrete in posts:
        call(anonymous, "post", concrete, {})
        call(scheduler, "post", concrete, {})
        call(admin, "post", concrete, raw="{")
        key = still_processing(session, admin, concrete)
        call(admin, "post", concrete, raw="{}", headers={"Idempotency-Key": key})
        call(admin, "post", concrete, raw='{"other": 1}', headers={"Idempotency-Key": key})
        call(admin, "post", concrete, raw="{}", headers={"Idempotency-Key": "unquoted"})
    for concrete in ("/work-orders", path):
        call(anonymous, "get", concrete)
        call(scheduler, "get", concrete)
    return int(order["id"])


def supply_posts(post: Callable[..., Any]) -> dict[str, Any]:
    """The POSTs of these routes for test_every_post_of_the_api_honours_the_key, each made
    with `post` (its Post): role, path, body and the table it writes."""

    def steel(session: Session) -> WaiverLine:
        return _steel_line(session)

    def draft_path(session: Session, then: str = "") -> str:
        return f"/deliveries/{draft(session).id}{then}"

    def line_body(session: Session) -> dict[str, Any]:
        chosen = steel(session)
        return {
            "resource": "steel",
            "quantity": "1",
            "purpose": "repair",
            "waiver_line_id": chosen.id,
        }

    def with_line(session: Session) -> Delivery:
        chosen = steel(session)
        return draft(session, [line(chosen.resource, "1", chosen)])

    def approved_path(session: Session, then: str) -> str:
        chosen = steel(session)
        return f"/deliveries/{approved(session, [line(chosen.resource, '1', chosen)]).id}{then}"

    def crossed_path(session: Session) -> str:
        chosen = steel(session)
        return f"/deliveries/{crossed(session, [line(chosen.resource, '1', chosen)]).id}/receive"

    def return_path(session: Session) -> str:
        return f"/deliveries/{draft(session, direction='south').id}/return-lines"

    def return_body(session: Session) -> dict[str, Any]:
        chosen = steel(session)
        (lot,) = lots_of(session, received(session, [line(chosen.resource, "2", chosen)]))
        return {"lot_id": lot.id, "quantity": "1"}

    return {
        "createDelivery": post(
            Role.ADMIN, lambda s: "/deliveries", lambda s: {"carrier": "Hyundai"}, Delivery
        ),
        "updateDelivery": post(
            Role.ADMIN, draft_path, lambda s: {"vehicles": "1 lorry"}, AuditEvent
        ),
        "addDeliveryLine": post(
            Role.ADMIN, lambda s: draft_path(s, "/lines"), line_body, DeliveryLine
        ),
        "addDeliveryReturnLine": post(Role.ADMIN, return_path, return_body, DeliveryLine),
        "removeDeliveryLine": post(
            Role.ADMIN,
            lambda s: f"/delivery-lines/{with_line(s).lines[0].id}/remove",
            lambda s: {},
            AuditEvent,
        ),
        "approveDelivery": post(
            Role.ADMIN, lambda s: f"/deliveries/{with_line(s).id}/approve", lambda s: {}, AuditEvent
        ),
        "crossDelivery": post(
            Role.ADMIN,
            lambda s: approved_path(s, "/cross"),
            lambda s: {"crossed_on": "2018-10-01"},
            DrawdownEntry,
        ),
        "receiveDelivery": post(
            Role.ADMIN, crossed_path, lambda s: {"received_on": "2018-10-02"}, AuditEvent
        ),
        "rejectDelivery": post(
            Role.ADMIN,
            lambda s: approved_path(s, "/reject"),
            lambda s: {"reason": "Papers missing"},
            AuditEvent,
        ),
        **work_posts(post),
    }


def work_posts(post: Callable[..., Any]) -> dict[str, Any]:
    def order_path(session: Session, then: str, status: WorkStatus = WorkStatus.PLANNED) -> str:
        return f"/work-orders/{work_order(session, status).id}{then}"

    def material_body(session: Session) -> dict[str, Any]:
        chosen = _steel_line(session)
        received(session, [line(chosen.resource, "5", chosen)])
        return {"resource": "steel", "quantity": "1", "used_on": "2018-10-10"}

    def equipment_body(session: Session) -> dict[str, Any]:
        chosen = _steel_line(session)
        due = {"must_return": True, "return_due_on": date(2018, 12, 1)}
        (lot,) = lots_of(session, received(session, [line(chosen.resource, "1", chosen, **due)]))
        return {"lot_id": lot.id}

    working = WorkStatus.IN_PROGRESS
    return {
        "createWorkOrder": post(
            Role.ADMIN, lambda s: "/work-orders", lambda s: WORK_ORDER, WorkOrder
        ),
        "updateWorkOrder": post(
            Role.ADMIN, lambda s: order_path(s, ""), lambda s: {"room": "201"}, AuditEvent
        ),
        "changeWorkOrderStatus": post(
            Role.ADMIN,
            lambda s: order_path(s, "/status"),
            lambda s: {"status": "approved", "on": "2018-08-01"},
            AuditEvent,
        ),
        "setWorkOrderProgress": post(
            Role.ADMIN,
            lambda s: order_path(s, "/progress", working),
            lambda s: {"progress": 20},
            AuditEvent,
        ),
        "useWorkOrderMaterial": post(
            Role.ADMIN, lambda s: order_path(s, "/materials", working), material_body, LotDraw
        ),
        "addWorkOrderCost": post(
            Role.ADMIN,
            lambda s: order_path(s, "/costs", working),
            lambda s: {"spent_on": "2018-10-12", "description": "Welders", "amount_krw": 1000},
            WorkCost,
        ),
        "assignWorkOrderEquipment": post(
            Role.ADMIN,
            lambda s: order_path(s, "/equipment", working),
            equipment_body,
            WorkEquipment,
        ),
    }
