"""The audit trail: who did what and when, filterable and exportable; it only reads."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask import Blueprint, render_template, request, url_for
from sqlalchemy import select

from office import inputs
from office.audit import display
from office.audit import jobs as audit_jobs
from office.audit.queries import AuditFilters, trail_page
from office.auth.access import permission_required
from office.auth.models import User
from office.auth.permissions import Permission
from office.db import db
from office.i18n import _
from office.jobs.web import prepare_page, start_job


def _query() -> dict[str, Any]:
    """This request's query arguments, to carry over to another address."""
    return request.args.to_dict()


bp = Blueprint("audit", __name__, url_prefix="/audit")


def _day(name: str, errors: dict[str, str]) -> date | None:
    text = request.args.get(name, "").strip()
    if not text:
        return None
    day = inputs.day_from(text)
    if day is None:
        errors[name] = _("Give the day as YYYY-MM-DD, for example 2018-10-31.")
    return day


def _filters() -> tuple[AuditFilters, dict[str, str]]:
    errors: dict[str, str] = {}
    actor = request.args.get("actor", "")
    action = request.args.get("action", "")
    filters = AuditFilters(
        actor_id=inputs.id_from(actor),
        action=action if action in display.ACTION_GROUPS else "",
        date_from=_day("from", errors),
        date_to=_day("to", errors),
    )
    return filters, errors


def _cursor(text: str) -> tuple[datetime, str, int] | None:
    try:
        at, source, row_id = text.split("|")
        moment = datetime.fromisoformat(at)
    except ValueError:
        return None
    number = inputs.id_from(row_id)
    if number is None or moment.tzinfo is None or not inputs.in_range(moment.date()):
        return None  # not a cursor this page wrote
    return moment, source, number


@bp.get("/", endpoint="index")
@permission_required(Permission.VIEW_AUDIT)
def index() -> Any:
    filters, errors = _filters()
    rows, after = trail_page(db.session, filters, after=_cursor(request.args.get("after", "")))
    users = db.session.scalars(select(User).order_by(User.display_name, User.id)).all()
    return render_template(
        "audit/index.html",
        rows=rows,
        cursor=f"{after[0].isoformat()}|{after[1]}|{after[2]}" if after else None,
        filters=filters,
        errors=errors,
        users=users,
        groups=display.ACTION_GROUPS,
        args={k: v for k, v in request.args.items() if k != "after"},
        targets=display.targets(db.session, rows),
        action_label=display.action_label,
        target_of=display.target_of,
        fields=display.fields,
    ), (422 if errors else 200)


@bp.get("/export.<any(csv, xlsx):fmt>", endpoint="export_page")
@permission_required(Permission.VIEW_AUDIT)
def export_page(fmt: str) -> Any:
    """An export's address opened as a link: the page that asks a worker for it."""
    _filters_given, errors = _filters()
    if errors:
        return index()
    return prepare_page(
        title=_("Export the audit trail"),
        what=_(
            "A worker writes the export (%(format)s) of the rows these filters select.",
            format=fmt.upper(),
        ),
        action=url_for("audit.export", fmt=fmt, **_query()),
        back=url_for("audit.index", **_query()),
    )


@bp.post("/export.<any(csv, xlsx):fmt>", endpoint="export")
@permission_required(Permission.VIEW_AUDIT)
def export(fmt: str) -> Any:
    """Ask a worker for the export of the rows the page's filters select."""
    filters, errors = _filters()
    if errors:
        return index()
    return start_job(
        audit_jobs.KIND,
        {"format": fmt, "filters": audit_jobs.filters_to_params(filters)},
        back=url_for("audit.index", **_query()),
    )
