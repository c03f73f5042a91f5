"""On-screen names of the repair works' vocabulary, in Korean and English."""

from __future__ import annotations

from office.i18n import _l, register_labels
from office.repairs.models import Area, WorkStatus

AREA_LABELS = {
    Area.BASEMENT: _l("basement"),
    Area.FLOOR_1: _l("1st floor (education centre, information office)"),
    Area.FLOOR_2: _l("2nd floor (South office)"),
    Area.FLOOR_3: _l("3rd floor (conference room)"),
    Area.FLOOR_4: _l("4th floor (North office)"),
    Area.LIVING_QUARTERS: _l("living quarters"),
    Area.PLUMBING: _l("plumbing"),
    Area.POWER: _l("power"),
}
WORK_STATUS_LABELS = {
    WorkStatus.PLANNED: _l("planned"),
    WorkStatus.APPROVED: _l("approved"),
    WorkStatus.IN_PROGRESS: _l("in progress"),
    WorkStatus.COMPLETED: _l("completed"),
    WorkStatus.CANCELLED: _l("cancelled"),
}
WORK_TONES = {
    WorkStatus.PLANNED: "muted",
    WorkStatus.APPROVED: "warn",
    WorkStatus.IN_PROGRESS: "warn",
    WorkStatus.COMPLETED: "ok",
    WorkStatus.CANCELLED: "muted",
}

register_labels({Area: AREA_LABELS, WorkStatus: WORK_STATUS_LABELS})
