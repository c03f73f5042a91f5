"""The OpenAPI description of the deliveries, stock lots and work orders routes
(`office.api.supplies`), merged into `office.api.openapi.openapi_document`."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode

from office.api import supplies_schemas as shapes
from office.api.openapi import (
    _DATE,
    _ERRORS,
    _ID,
    _WRITE_ERRORS,
    _body,
    _cursor_params,
    _id_param,
    _json,
    _problem,
    _query,
)
from office.repairs.models import WorkStatus
from office.supplies.models import DeliveryStatus, Direction

SUPPLIES_MODELS: list[tuple[type[BaseModel], JsonSchemaMode]] = [
    (shapes.DeliveryIn, "validation"),
    (shapes.DeliveryLineIn, "validation"),
    (shapes.ReturnLineIn, "validation"),
    (shapes.CrossIn, "validation"),
    (shapes.ReceiveIn, "validation"),
    (shapes.RejectIn, "validation"),
    (shapes.DeliveryDetailOut, "serialization"),
    (shapes.DeliveryPage, "serialization"),
    (shapes.StockLotPage, "serialization"),
    (shapes.WorkOrderIn, "validation"),
    (shapes.WorkStatusIn, "validation"),
    (shapes.WorkProgressIn, "validation"),
    (shapes.MaterialIn, "validation"),
    (shapes.CostIn, "validation"),
    (shapes.EquipmentIn, "validation"),
    (shapes.WorkOrderDetailOut, "serialization"),
    (shapes.WorkOrderPage, "serialization"),
]

_READ_ERRORS = {**_ERRORS, "422": _problem("Invalid parameters")}
_NO_DELIVERY = _problem("No delivery has this id")
_DETAIL = "The delivery as it now stands, with its lines and their screening"


def _action(
    operation_id: str,
    summary: str,
    description: str,
    body: str | None,
    conflict: str,
    *,
    created: bool = False,
    path_id: str = "delivery_id",
    missing: dict[str, Any] = _NO_DELIVERY,
) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": operation_id,
        "summary": summary,
        "description": f"As on the delivery's page, through the same service. {description}",
        "parameters": [_id_param(path_id)],
        "responses": {
            ("201" if created else "200"): _json("DeliveryDetailOut", _DETAIL),
            "404": missing,
            "409": _problem(conflict),
            **_WRITE_ERRORS,
        },
    }
    if body is not None:
        operation["requestBody"] = _body(body)
    return {"post": operation}


def supplies_paths() -> dict[str, Any]:
    return {**_delivery_paths(), **works_paths()}


def _delivery_paths() -> dict[str, Any]:
    statuses = {"type": "string", "enum": [s.value for s in DeliveryStatus]}
    directions = {"type": "string", "enum": [d.value for d in Direction]}
    not_draft = "The delivery is no longer a draft, or goes the other way"
    return {
        "/deliveries": {
            "get": {
                "operationId": "listDeliveries",
                "summary": "Deliveries across the border, newest created first",
                "parameters": [
                    _query("direction", directions, "Only those going this way"),
                    _query("status", statuses, "Only those in this state"),
                    *_cursor_params(1000, 100),
                ],
                "responses": {"200": _json("DeliveryPage", "A page of deliveries"), **_READ_ERRORS},
            },
            "post": {
                "operationId": "createDelivery",
                "summary": "Create a delivery as a draft (office administrator)",
                "description": (
                    "As on the new delivery page. Left out: the next free reference of its "
                    "direction, planned for today, at the usual crossing point. North-bound, "
                    "`approval_waiver_id` names the ministry's carry-out approval; south-bound, "
                    "`approval_number` and `approval_type` the carry-in approval."
                ),
                "requestBody": _body("DeliveryIn"),
                "responses": {
                    "201": _json("DeliveryDetailOut", "The new draft"),
                    "409": _problem("Refused by the state of things"),
                    **_WRITE_ERRORS,
                },
            },
        },
        "/deliveries/{delivery_id}": {
            "get": {
                "operationId": "getDelivery",
                "summary": "A delivery with its manifest lines and each line's screening",
                "description": (
                    "Before it crosses, each north-bound line is screened under every regime "
                    "as it would meet the border on the day planned (nothing recorded); after, "
                    "as its ledger entry was screened. `refused_crossings` lists each refused "
                    "attempt with its lines' reasons."
                ),
                "parameters": [_id_param("delivery_id")],
                "responses": {
                    "200": _json("DeliveryDetailOut", "The delivery"),
                    "404": _NO_DELIVERY,
                    **_ERRORS,
                },
            },
            **_action(
                "updateDelivery",
                "Change a draft's header (office administrator); fields left out are kept",
                "Only a draft can be changed.",
                "DeliveryIn",
                not_draft,
            ),
        },
        "/deliveries/{delivery_id}/lines": _action(
            "addDeliveryLine",
            "Add a line to a north-bound draft's manifest (office administrator)",
            "The unit defaults to the resource's own. A line its waiver line does not cover "
            "crosses only with `override_reason`, flagged for review.",
            "DeliveryLineIn",
            not_draft,
            created=True,
        ),
        "/deliveries/{delivery_id}/return-lines": _action(
            "addDeliveryReturnLine",
            "Add to a south-bound draft a quantity of an on-site lot (office administrator)",
            "No more than the lot has left, less what the draft carries of it already.",
            "ReturnLineIn",
            not_draft,
            created=True,
        ),
        "/delivery-lines/{line_id}/remove": _action(
            "removeDeliveryLine",
            "Remove a line from a draft's manifest (office administrator)",
            "Only while the delivery is a draft.",
            None,
            not_draft,
            path_id="line_id",
            missing=_problem("No manifest line has this id"),
        ),
        "/deliveries/{delivery_id}/approve": _action(
            "approveDelivery",
            "Record the ministry's approval: the manifest is fixed (office administrator)",
            "A draft with lines only, naming its approval.",
            None,
            "Not a draft, or no manifest lines",
        ),
        "/deliveries/{delivery_id}/cross": _action(
            "crossDelivery",
            "Record that an approved delivery crossed (office administrator)",
            "North-bound, every line is drawn on the ledger under every regime; south-bound, "
            "every line takes its lot back. If any line is refused, the whole crossing is "
            "refused and nothing is recorded but the attempt: the 409 lists each refused line "
            "with its reason in `refusals`.",
            "CrossIn",
            "Not approved, or refused: `refusals` names each line and why",
        ),
        "/deliveries/{delivery_id}/receive": _action(
            "receiveDelivery",
            "Receive a crossed delivery: each north-bound line becomes a stock lot "
            "(office administrator)",
            "A line left out of `stores` goes where the office suggests.",
            "ReceiveIn",
            "Not crossed, received already, or a tank it would overfill",
        ),
        "/deliveries/{delivery_id}/reject": _action(
            "rejectDelivery",
            "Record that the border turned an approved delivery back (office administrator)",
            "Nothing went north.",
            "RejectIn",
            "Not approved",
        ),
        "/stock-lots": {
            "get": {
                "operationId": "listStockLots",
                "summary": "On-site stock lots, newest first, now or as they stood on a day",
                "parameters": [
                    _query("resource", {"type": "string", "maxLength": 40}, "A resource code"),
                    _query("store_id", _ID, "Only this store's"),
                    _query("as_of", _DATE, "As they stood at the end of this day"),
                    _query(
                        "open",
                        {"type": "string", "enum": ["true", "false"]},
                        "Only lots with something left (true) or nothing (false); now only",
                    ),
                    *_cursor_params(1000, 100),
                ],
                "responses": {"200": _json("StockLotPage", "A page of lots"), **_READ_ERRORS},
            },
        },
    }


_NO_WORK_ORDER = _problem("No work order has this id")
_WORK_DETAIL = "The work order as it now stands, with its costs, materials and equipment"


def _work_action(
    operation_id: str, summary: str, description: str, body: str, conflict: str, *, created: bool
) -> dict[str, Any]:
    return {
        "post": {
            "operationId": operation_id,
            "summary": summary,
            "description": f"As on the work order's page, through the same service. {description}",
            "parameters": [_id_param("work_order_id")],
            "requestBody": _body(body),
            "responses": {
                ("201" if created else "200"): _json("WorkOrderDetailOut", _WORK_DETAIL),
                "404": _NO_WORK_ORDER,
                "409": _problem(conflict),
                **_WRITE_ERRORS,
            },
        }
    }


def works_paths() -> dict[str, Any]:
    statuses = {"type": "string", "enum": [s.value for s in WorkStatus]}
    return {
        "/work-orders": {
            "get": {
                "operationId": "listWorkOrders",
                "summary": "Repair work orders, newest created first",
                "parameters": [
                    _query("status", statuses, "Only those in this state"),
                    *_cursor_params(1000, 100),
                ],
                "responses": {
                    "200": _json("WorkOrderPage", "A page of work orders"),
                    **_READ_ERRORS,
                },
            },
            "post": {
                "operationId": "createWorkOrder",
                "summary": "Create a work order, planned (office administrator)",
                "description": (
                    "As on the new work order page. `area`, `description`, `budget_krw`, "
                    "`planned_start` and `planned_end` are required; left out, `number` is the "
                    "next free number of the office's series."
                ),
                "requestBody": _body("WorkOrderIn"),
                "responses": {
                    "201": _json("WorkOrderDetailOut", "The new work order"),
                    "409": _problem("Refused by the state of things"),
                    **_WRITE_ERRORS,
                },
            },
        },
        "/work-orders/{work_order_id}": {
            "get": {
                "operationId": "getWorkOrder",
                "summary": "A work order with its costs, materials (and their cover), equipment "
                "and spend",
                "parameters": [_id_param("work_order_id")],
                "responses": {
                    "200": _json("WorkOrderDetailOut", "The work order"),
                    "404": _NO_WORK_ORDER,
                    **_ERRORS,
                },
            },
            **_work_action(
                "updateWorkOrder",
                "Change a work order's details (office administrator); fields left out are kept",
                "A number another work order has is refused.",
                "WorkOrderIn",
                "Refused by the state of things",
                created=False,
            ),
        },
        "/work-orders/{work_order_id}/status": _work_action(
            "changeWorkOrderStatus",
            "A step of the work: approved, in progress, completed or cancelled (office "
            "administrator)",
            "Planned, then approved, then in progress, then completed; cancelled from any "
            "but the last. `next_statuses` says where it may go.",
            "WorkStatusIn",
            "A step its status does not allow",
            created=False,
        ),
        "/work-orders/{work_order_id}/progress": _work_action(
            "setWorkOrderProgress",
            "Record how far the work is (office administrator)",
            "While it is approved or under way.",
            "WorkProgressIn",
            "Not approved or under way",
            created=False,
        ),
        "/work-orders/{work_order_id}/materials": _work_action(
            "useWorkOrderMaterial",
            "Draw material for the work from the materials store (office administrator)",
            "Oldest lots first, each draw keeping its lot's waiver cover; while the work is "
            "approved or under way.",
            "MaterialIn",
            "Not approved or under way, or less on site than asked for",
            created=True,
        ),
        "/work-orders/{work_order_id}/costs": _work_action(
            "addWorkOrderCost",
            "Record money spent on the work besides its materials (office administrator)",
            "More than 0, in whole won.",
            "CostIn",
            "Refused by the state of things",
            created=True,
        ),
        "/work-orders/{work_order_id}/equipment": _work_action(
            "assignWorkOrderEquipment",
            "Note that equipment taken in serves the work (office administrator)",
            "Only a lot that must go back, once per work order.",
            "EquipmentIn",
            "The equipment is on the work order already",
            created=True,
        ),
    }
