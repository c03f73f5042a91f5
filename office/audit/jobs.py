"""The audit trail's export as a job: every row the trail page's filters select, newest first,
as CSV or XLSX, written in chunks. Safe to run again: it only reads and leaves a file."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from office.audit.queries import AuditFilters, iter_trail
from office.auth.permissions import Permission
from office.db import utcnow
from office.i18n import _l, office_date
from office.jobs.exports import export_rows
from office.jobs.kinds import JobKind, register
from office.jobs.runner import JobContext

KIND = "audit_export"
COLUMNS = ("occurred_at", "actor", "email", "action", "object_type", "object_id", "detail")


def filters_to_params(filters: AuditFilters) -> dict[str, Any]:
    return {
        "actor_id": filters.actor_id,
        "action": filters.action,
        "date_from": filters.date_from.isoformat() if filters.date_from else None,
        "date_to": filters.date_to.isoformat() if filters.date_to else None,
    }


def filters_from_params(values: dict[str, Any]) -> AuditFilters:
    return AuditFilters(
        actor_id=values.get("actor_id"),
        action=values.get("action") or "",
        date_from=date.fromisoformat(values["date_from"]) if values.get("date_from") else None,
        date_to=date.fromisoformat(values["date_to"]) if values.get("date_to") else None,
    )


def run_audit_export(context: JobContext) -> None:
    filters = filters_from_params(context.params["filters"])
    context.progress(stage="reading", force=True)
    with context.read_session() as session:
        rows = (
            [
                row.occurred_at.isoformat(),
                row.actor.email if row.actor else "",
                row.email or "",
                row.action,
                row.object_type or "",
                row.object_id or "",
                json.dumps(row.detail, ensure_ascii=False, sort_keys=True) if row.detail else "",
            ]
            for row in iter_trail(session, filters)
        )
        export_rows(
            context,
            name=f"audit-{office_date(utcnow()).isoformat()}",
            fmt=context.params["format"],
            columns=COLUMNS,
            rows=rows,
            total=None,
            sheet="audit",
        )


register(
    JobKind(
        name=KIND,
        label=_l("Audit trail export"),
        run=run_audit_export,
        retry_safe=True,
        permission=Permission.VIEW_AUDIT,
        describe=lambda params: str(params.get("format", "")).upper(),
    )
)
