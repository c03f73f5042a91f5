"""The ledger's export as a job: every entry the ledger page's filters select, newest first,
as CSV or XLSX, written in chunks (a million entries never sit in memory whole).

Safe to run again: it only reads and leaves a file."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from office.auth.permissions import Permission
from office.db import utcnow
from office.i18n import _l, ngettext, office_date
from office.jobs.exports import export_rows
from office.jobs.kinds import JobKind, register
from office.jobs.runner import JobContext
from office.waivers.models import Classification
from office.waivers.queries import (
    NOT_CHECKED,
    LedgerFilters,
    export_columns,
    iter_ledger_rows,
    ledger_select,
)
from office.waivers.regimes import all_regimes
from office.waivers.units import format_quantity

KIND = "ledger_export"
_DATES = ("date_from", "date_to")


def filters_to_params(filters: LedgerFilters) -> dict[str, Any]:
    """The filters as plain JSON values, to keep with the job."""
    values = dataclasses.asdict(filters)
    for name in _DATES:
        if values[name] is not None:
            values[name] = values[name].isoformat()
    for name in ("classification", "regime_classification"):
        if values[name] is not None:
            values[name] = str(values[name])
    return values


def filters_from_params(values: dict[str, Any]) -> LedgerFilters:
    given = dict(values)
    for name in _DATES:
        if given.get(name):
            given[name] = date.fromisoformat(given[name])
    if given.get("classification"):
        given["classification"] = Classification(given["classification"])
    under = given.get("regime_classification")
    if under:
        given["regime_classification"] = (
            NOT_CHECKED if under == NOT_CHECKED else Classification(under)
        )
    return LedgerFilters(**given)


def csv_value(value: Any) -> Any:
    """A cell as the CSV export writes it: quantities exact as text, codes as their value."""
    if isinstance(value, Decimal):
        return format_quantity(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "value"):
        return value.value
    return "" if value is None else value


def xlsx_value(value: Any) -> Any:
    """A cell as the XLSX export writes it: quantities as numbers."""
    if isinstance(value, Decimal | int | float | bool) or value is None:
        return value
    return csv_value(value)


def run_ledger_export(context: JobContext) -> None:
    fmt = context.params["format"]
    filters = filters_from_params(context.params["filters"])
    cell = csv_value if fmt == "csv" else xlsx_value
    context.progress(stage="reading", force=True)
    with context.read_session() as session:
        regimes = all_regimes(session)
        columns = export_columns(regimes)
        total = session.scalar(select(func.count()).select_from(ledger_select(filters).subquery()))
        rows = (
            [cell(row[column]) for column in columns]
            for row in iter_ledger_rows(session, filters, regimes)
        )
        export_rows(
            context,
            name=f"ledger-{office_date(utcnow()).isoformat()}",
            fmt=fmt,
            columns=columns,
            rows=rows,
            total=total,
            sheet="ledger",
        )


def describe(params: dict[str, Any]) -> str:
    chosen = sum(1 for value in params.get("filters", {}).values() if value is not None)
    fmt = str(params.get("format", "")).upper()
    if not chosen:
        return fmt
    return ngettext("%(format)s, %(num)d filter", "%(format)s, %(num)d filters", chosen, format=fmt)


register(
    JobKind(
        name=KIND,
        label=_l("Ledger export"),
        run=run_ledger_export,
        retry_safe=True,
        permission=Permission.VIEW_LEDGER,
        describe=describe,
    )
)
