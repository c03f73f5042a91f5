"""On-screen names of the deliveries' vocabulary, in Korean and English."""

from __future__ import annotations

from office.i18n import _l, register_labels
from office.supplies.models import ApprovalType, DeliveryStatus, Direction

DIRECTION_LABELS = {Direction.NORTH: _l("north-bound"), Direction.SOUTH: _l("south-bound")}
DELIVERY_STATUS_LABELS = {
    DeliveryStatus.DRAFT: _l("draft"),
    DeliveryStatus.APPROVED: _l("approved"),
    DeliveryStatus.CROSSED: _l("crossed"),
    DeliveryStatus.RECEIVED: _l("received"),
    DeliveryStatus.REJECTED: _l("turned back"),
}
APPROVAL_LABELS = {
    ApprovalType.INDIVIDUAL: _l("individual approval"),
    ApprovalType.BLANKET: _l("blanket approval"),
}
DELIVERY_TONES = {
    DeliveryStatus.DRAFT: "muted",
    DeliveryStatus.APPROVED: "warn",
    DeliveryStatus.CROSSED: "ok",
    DeliveryStatus.RECEIVED: "ok",
    DeliveryStatus.REJECTED: "bad",
}

register_labels(
    {
        Direction: DIRECTION_LABELS,
        DeliveryStatus: DELIVERY_STATUS_LABELS,
        ApprovalType: APPROVAL_LABELS,
    }
)
