"""The review through the API: the queue and each item's thread and actions, the monthly and
UN petroleum reports, and the audit trail. Each route calls what the page beside it calls
(office.reviews, office.fuel.report, office.audit), with the same permission and refusals."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from flask import Response, current_app, request, url_for
from flask_login import current_user
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select

from office import inputs
from office.api import review_schemas as out
from office.api import schemas
from office.api.idempotency import commit
from office.api.jobs import ask_job
from office.api.review_schemas import AUDIT_CURSOR_PATTERN
from office.api.views import InvalidRequest, _errors, bp, invalid, parse_body, respond
from office.audit import display
from office.audit.queries import AuditFilters, TrailRow, trail_page

# The trail's filter vocabulary (an action's prefix), as the audit page offers it.
from office.auth.access import permission_required
from office.auth.models import User
from office.auth.permissions import Permission, has_permission
from office.db import db, utcnow
from office.documents import panels
from office.documents import queries as document_queries
from office.documents.models import Document, RecordType
from office.errors import NotFoundError
from office.fuel import jobs as petroleum_jobs
from office.fuel import report as petroleum
from office.i18n import _, current_locale_code, office_date
from office.jobs import services as job_services
from office.jobs.kinds import kind_of
from office.jobs.models import Job, JobFile
from office.jobs.web import send_job_file
from office.periods import services as periods
from office.periods.models import SignedOffMonth
from office.reviews import jobs as report_jobs
from office.reviews import queries, report, services
from office.reviews.models import ItemKind, ReviewAction, ReviewItem, ReviewState
from office.waivers import checkpoints
from office.waivers.models import LedgerCheckpoint

# Who may take each action, as on the item's page (the service checks again).
ACTION_PERMISSIONS = {
    ReviewAction.COMMENT: Permission.VIEW_REVIEW,
    ReviewAction.QUERY: Permission.REVIEW_ITEMS,
    ReviewAction.ANSWER: Permission.ANSWER_QUERIES,
    ReviewAction.ESCALATE: Permission.REVIEW_ITEMS,
    ReviewAction.ACKNOWLEDGE: Permission.REVIEW_ITEMS,
    ReviewAction.REOPEN: Permission.REVIEW_ITEMS,
}


def _today() -> date:
    return office_date(utcnow())


def _query(model: type[Any]) -> Any:
    args = {key: value for key, value in request.args.items() if value != ""}
    try:
        return model.model_validate(args)
    except ValidationError as exc:
        raise InvalidRequest(422, _("Some parameters are not valid."), _errors(exc)) from None


def _name(user: User | None) -> str | None:
    return user.display_name if user is not None else None


# --- the queue and each item --------------------------------------------------------------


class QueueQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    # Read as written: the queue's own rules (office.reviews.queries.queue_filters) judge
    # them, with the page's messages.
    kind: Annotated[str, Field(max_length=100)] = ""
    state: Annotated[str, Field(max_length=100)] = ""
    month: Annotated[str, Field(max_length=100)] = ""
    waiver_id: Annotated[str, Field(max_length=100)] = ""
    regime: Annotated[str, Field(max_length=100)] = ""
    cursor: Annotated[str, Field(max_length=200)] = ""
    limit: Annotated[schemas.QueryInt, Field(ge=1, le=500)] = queries.PAGE_SIZE


def _item_url(kind: ItemKind, source_id: int) -> str:
    return url_for("api.review_item", kind=kind.value, source_id=source_id)


def _refused(described: queries.Described | None) -> list[out.RefusedOut]:
    if described is None:
        return []
    return [out.RefusedOut(regime=r.code, classification=c) for r, c in described.refused]


def _row_fields(row: queries.QueueRow, described: queries.Described | None) -> dict[str, Any]:
    return {
        "kind": row.kind,
        "source_id": row.source_id,
        "occurred_on": row.occurred_on,
        "state": row.state,
        "waiver_id": row.waiver_id,
        "title": str(described.title) if described else "",
        "detail": str(described.detail) if described else "",
        "refused": _refused(described),
        "url": _item_url(row.kind, row.source_id),
        "record_page": url_for(described.endpoint, **described.args) if described else None,
    }


@bp.get("/reviews/items")
@permission_required(Permission.VIEW_REVIEW)
def review_queue() -> Response:
    query: QueueQuery = _query(QueueQuery)
    filters, refused = queries.queue_filters(
        db.session,
        kind=query.kind,
        state=query.state,
        month=query.month,
        waiver=query.waiver_id,
        regime=query.regime,
    )
    errors = {("waiver_id" if name == "waiver" else name): [str(m)] for name, m in refused.items()}
    after = queries.decode_cursor(query.cursor) if query.cursor else None
    if query.cursor and after is None:
        errors["cursor"] = [str(queries.bad_cursor_message())]
    if errors:
        # The page leaves these out and says why; an API caller is told, not guessed for.
        messages = [m for ms in errors.values() for m in ms]
        detail = messages[0] if len(messages) == 1 else _("Some parameters are not valid.")
        raise InvalidRequest(422, detail, errors)
    today = _today()
    rows, cursor = queries.queue_page(
        db.session, filters, today=today, after=after, size=query.limit
    )
    described = queries.describe(db.session, rows)
    page = out.ReviewQueuePage(
        items=[
            out.ReviewRowOut(**_row_fields(row, described.get((row.kind, row.source_id))))
            for row in rows
        ],
        next_cursor=cursor,
        counts=queries.count_by_state(db.session, filters, today=today),
    )
    return respond(page)


def _kind(kind: str) -> ItemKind:
    if kind not in set(ItemKind):
        raise NotFoundError(_("There is no kind of flagged item called %(kind)s.", kind=kind[:40]))
    return ItemKind(kind)


def _attached(item: ReviewItem | None) -> list[Document]:
    """The documents attached to the item's thread, in the order they came (as its page's
    thread shows them)."""
    if item is None:
        return []
    shelf = document_queries.shelf(db.session, RecordType.REVIEW_ITEM, item.id)
    return sorted((*shelf.current, *shelf.history), key=lambda d: (d.uploaded_at, d.id))


def document_out(document: Document) -> out.ItemDocumentOut:
    return out.ItemDocumentOut(
        id=document.id,
        title=document.title,
        filename=document.filename,
        kind=document.kind,
        media_type=document.media_type,
        size=document.size,
        uploaded_at=document.uploaded_at,
        uploaded_by=_name(document.uploaded_by),
        state="withdrawn"
        if document.is_withdrawn
        else "replaced"
        if document.superseded_by_id is not None
        else "current",
        withdrawn_at=document.withdrawn_at,
        withdrawn_by=_name(document.withdrawn_by),
        withdrawn_reason=document.withdrawn_reason,
        url=url_for("api.document", document_id=document.id),
        page=url_for("documents.detail", document_id=document.id),
        download_url=url_for("api.document_file", document_id=document.id)
        if panels.may_read(document)
        else None,
    )


def item_out(kind: ItemKind, source_id: int) -> out.ReviewItemOut:
    """The flagged record `kind` `source_id` as its page shows it; NotFoundError if none is."""
    row = queries.find_record(db.session, kind, source_id, today=_today())
    if row is None:
        raise NotFoundError(_("No flagged item %(kind)s #%(id)d.", kind=kind.value, id=source_id))
    item = (
        db.session.get(ReviewItem, row.item_id, populate_existing=True)
        if row.item_id is not None
        else None
    )
    facts = queries.item_facts(db.session, row)
    line = facts.line
    usage = facts.usage
    return out.ReviewItemOut(
        **_row_fields(row, queries.describe(db.session, [row]).get((kind, source_id))),
        recorded_by=_name(facts.recorded_by),
        recorded_at=facts.recorded_at,
        line=out.ReviewLineOut(
            id=line.id,
            waiver=line.waiver.reference,
            line_no=line.line_no,
            unit=line.unit.value,
            granted=usage.granted,
            used=usage.used,
            remaining=usage.remaining,
        )
        if line is not None and usage is not None
        else None,
        screenings=[
            out.ScreenedOut(
                regime=regime.code,
                classification=screened.classification if screened is not None else None,
            )
            for regime, screened in facts.screenings
        ],
        month_closed=periods.is_signed_off(db.session, row.occurred_on),
        actions=[
            action for action in ReviewAction if services.can_take(current_user, action, row.state)
        ],
        documents=[document_out(d) for d in _attached(item)],
        thread=[
            out.ThreadNoteOut(
                at=note.at,
                action=note.action,
                from_state=note.from_state,
                to_state=note.to_state,
                author=_name(note.author),
                body=note.body,
            )
            for note in (item.notes if item is not None else [])
        ],
    )


@bp.get("/reviews/items/<kind>/<int:source_id>")
@permission_required(Permission.VIEW_REVIEW)
def review_item(kind: str, source_id: int) -> Response:
    return respond(item_out(_kind(kind), source_id))


def _act(action: ReviewAction, kind: str, source_id: int) -> Response:
    item_kind = _kind(kind)
    body = parse_body(out.NoteIn)
    services.take_action(
        db.session,
        item_kind,
        source_id,
        action,
        body=body.body,
        actor=current_user,
        now=utcnow(),
        today=_today(),
    )
    db.session.flush()
    return commit(respond(item_out(item_kind, source_id)))


def _register_action(action: ReviewAction) -> None:
    def view(kind: str, source_id: int) -> Response:
        return _act(action, kind, source_id)

    view.__name__ = f"review_{action.value}"
    bp.post(f"/reviews/items/<kind>/<int:source_id>/{action.value}")(
        permission_required(ACTION_PERMISSIONS[action])(view)
    )


for _action in ReviewAction:
    _register_action(_action)


# --- months: their state and sign-off -----------------------------------------------------


def _signed_out(signed: SignedOffMonth | None) -> out.SignedOffOut | None:
    if signed is None:
        return None
    return out.SignedOffOut(
        at=signed.signed_off_at,
        by=_name(db.session.get(User, signed.signed_off_by_id)),
        note=signed.note,
    )


def month_out(
    month: date, counts: dict[ReviewState, int] | None, signed: SignedOffMonth | None
) -> out.MonthOut:
    text = month.strftime("%Y-%m")
    return out.MonthOut(
        month=text,
        counts=counts or dict.fromkeys(ReviewState, 0),
        signed_off=_signed_out(signed),
        report_url=url_for("api.month_report", month=text),
    )


@bp.get("/reviews/months")
@permission_required(Permission.VIEW_REVIEW)
def review_months() -> Response:
    """The months the page lists: those with flagged items or a sign-off, and this one."""
    today = _today()
    counts = queries.count_by_month(db.session, today=today)
    signed = {s.month: s for s in db.session.scalars(select(SignedOffMonth))}
    shown = sorted({*counts, *signed, periods.month_of(today)}, reverse=True)
    items = [month_out(m, counts.get(m), signed.get(m)) for m in shown]
    return respond(out.MonthList(items=items))


@bp.post("/reviews/months/<month>/sign-off")
@permission_required(Permission.SIGN_OFF_MONTHS)
def sign_off_month(month: str) -> Response:
    """Sign the month off as its page does, the ledger's head signed with it when a key is
    set; answer the month."""
    day = inputs.month_from(month)
    if day is None:
        raise NotFoundError(_("There is no month %(month)s; write it YYYY-MM.", month=month[:20]))
    body = parse_body(out.SignOffIn)
    keys = checkpoints.keys_of(current_app)
    today = _today()
    signed = services.sign_off_month(
        db.session,
        day,
        note=body.note,
        actor=current_user,
        now=utcnow(),
        today=today,
        ledger_keys=keys,
    )
    counts = queries.count_by_kind(db.session, today=today, month=day)
    totals = {state: sum(c[state] for c in counts.values()) for state in ReviewState}
    answer = commit(respond(month_out(day, totals, signed), 201, url_for("api.review_months")))
    made = db.session.scalar(select(LedgerCheckpoint).where(LedgerCheckpoint.month == day))
    if keys.file is not None and made is not None:
        try:
            checkpoints.append_to_file(keys.file, [made])
        except OSError as exc:
            # The sign-off stands; `flask ledger export-checkpoints` copies it there later.
            current_app.logger.error("ledger checkpoint not appended to %s: %s", keys.file, exc)
    return answer


# --- the monthly report -------------------------------------------------------------------


def _month(text: str) -> date:
    month = inputs.month_from(text)
    if month is None:
        raise NotFoundError(_("There is no month %(month)s; write it YYYY-MM.", month=text[:20]))
    return report.check_month(month, today=_today())


def report_out(built: report.MonthReport) -> out.MonthReportOut:
    def transfer(t: report.Transfer) -> out.TransferOut:
        return out.TransferOut(
            regime=t.regime.code,
            waiver=t.waiver.reference if t.waiver else None,
            resource=t.resource.code,
            purpose=t.purpose,
            classification=t.classification,
            covered=t.covered,
            entries=t.entries,
            quantity=t.quantity,
            unit=t.resource.unit.value,
            flagged=t.flagged,
        )

    return out.MonthReportOut(
        month=built.month.strftime("%Y-%m"),
        first_day=built.month,
        last_day=built.last_day,
        signed_off=_signed_out(built.signed_off),
        ledger_head=built.head_token,
        regimes=[
            out.RegimeTransfersOut(
                regime=group.regime.code,
                name=str(group.regime.shown_name),
                covered=[transfer(t) for t in group.covered],
                not_covered=[transfer(t) for t in group.not_covered],
            )
            for group in built.by_regime
        ],
        gaps=[
            out.GapOut(
                covered_under=g.covered.code, not_covered_under=g.missing.code, entries=g.entries
            )
            for g in built.gaps
        ],
        uses=[
            out.UseOut(resource=r.code, use=use, quantity=quantity, unit=r.unit.value)
            for r, use, quantity in built.uses
        ],
        stock=[
            out.StockOut(
                resource=s.resource.code,
                unit=s.resource.unit.value,
                opening=s.opening,
                received=s.received,
                used=s.used,
                returned=s.returned,
                closing=s.closing,
            )
            for s in built.stock
        ],
        flags=[
            out.FlagOut(
                kind=f.row.kind,
                source_id=f.row.source_id,
                occurred_on=f.row.occurred_on,
                state=f.row.state,
                title=str(f.described.title) if f.described else "",
                resolution=f.resolution.body if f.resolution else None,
                refused=_refused(f.described),
            )
            for f in built.flags
        ],
    )


@bp.get("/reports/monthly/<month>")
@permission_required(Permission.VIEW_REVIEW)
def month_report(month: str) -> Response:
    return respond(report_out(report.build(db.session, _month(month), today=_today())))


@bp.get("/reports/monthly/<month>.csv")
@permission_required(Permission.VIEW_REVIEW)
def month_report_csv(month: str) -> Response:
    built = report.build(db.session, _month(month), today=_today())
    return Response(
        report.csv_text(built),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="supply-usage-{month}.csv"'},
    )


@bp.get("/reports/monthly/<month>.pdf")
@permission_required(Permission.VIEW_REVIEW)
def month_report_pdf(month: str) -> Response:
    """The month's PDF in the caller's language when a fresh one was printed; else 404, with
    where to ask a worker for one (a POST to the same address)."""
    day = _month(month)
    fresh = report_jobs.fresh_pdf(db.session, day, current_locale_code(), utcnow())
    if fresh is None:
        raise NotFoundError(
            _(
                "No PDF of %(month)s is printed yet; POST to this address to have a worker "
                "print one.",
                month=month,
            )
        )
    return send_job_file(fresh)


def job_out(job: Job) -> out.ReportJobOut:
    file = job_services.downloadable(job, utcnow())
    return out.ReportJobOut(
        id=job.id,
        state=job.state.value,
        finished=job.is_finished,
        percent=job.percent,
        url=url_for("api.report_job", job_id=job.id),
        file_url=url_for("api.report_job_file", job_id=job.id) if file is not None else None,
    )


def _print(kind: str, params: dict[str, Any], fresh: JobFile | None, pdf_url: str) -> Response:
    """Ask a worker for the job `kind` with `params` as the caller: 202 with the job to follow
    (the one already under way, if any); 303 to `pdf_url` when a `fresh` PDF exists."""
    if fresh is not None:
        response = Response(status=303)
        response.headers["Location"] = pdf_url
        return response
    return ask_job(
        kind,
        params,
        lambda job: respond(job_out(job), 202, url_for("api.report_job", job_id=job.id)),
    )


@bp.post("/reports/monthly/<month>.pdf")
@permission_required(Permission.VIEW_REVIEW)
def print_month_report(month: str) -> Response:
    """Ask a worker to print the month's PDF in the caller's language: 202 with the job to
    follow (the one already under way, if any); 303 to the PDF when a fresh one exists."""
    day = _month(month)
    locale = current_locale_code()
    return _print(
        report_jobs.KIND,
        report_jobs.params_for(day, locale),
        report_jobs.fresh_pdf(db.session, day, locale, utcnow()),
        url_for("api.month_report_pdf", month=month),
    )


# The kinds of job the report routes follow.
REPORT_JOB_KINDS = frozenset({report_jobs.KIND, petroleum_jobs.KIND})


def _job_or_404(job_id: int) -> Job:
    job = db.session.get(Job, job_id) if 0 < job_id <= inputs.MAX_ID else None
    kind = kind_of(job.kind) if job is not None else None
    if (
        job is None
        or kind is None
        or job.kind not in REPORT_JOB_KINDS
        or not job_services.may_see(current_user, job)
        or (kind.permission is not None and not has_permission(current_user, kind.permission))
    ):
        raise NotFoundError(_("You have no report job with the id %(id)d.", id=job_id))
    return job


@bp.get("/reports/jobs/<int:job_id>")
@permission_required(Permission.VIEW_REVIEW)
def report_job(job_id: int) -> Response:
    return respond(job_out(_job_or_404(job_id)))


@bp.get("/reports/jobs/<int:job_id>/file")
@permission_required(Permission.VIEW_REVIEW)
def report_job_file(job_id: int) -> Response:
    file = job_services.downloadable(_job_or_404(job_id), utcnow())
    if file is None:
        raise NotFoundError(_("This job has no file to fetch (yet, or any more)."))
    return send_job_file(file)


# --- the UN petroleum report --------------------------------------------------------------


def _asked_report() -> petroleum.Report:
    """The report of the period `?start=` asks for, as the page reads it; InvalidInput (a 422
    problem) with the page's message for a start that is not a day written YYYY-MM-DD."""
    start, end = petroleum.period_asked(request.args.get("start", ""), _today())
    return petroleum.petroleum_report(db.session, start, end)


def _amounts(moved: petroleum.Amounts) -> out.AmountsOut:
    return out.AmountsOut(litres=moved.litres, tonnes=moved.tonnes, barrels=moved.barrels)


@bp.get("/reports/petroleum")
@permission_required(Permission.VIEW_OPERATIONS)
def petroleum_report() -> Response:
    """The 30 days from `start` (any day), else the period counted from 1 January that holds
    today, as the page reckons them."""
    built = _asked_report()
    body = out.PetroleumReportOut(
        start=built.start,
        end=built.end,
        transfers=[
            out.PetroleumTransferOut(
                day=t.day,
                product=t.resource.code,
                hs_code=t.resource.hs_code,
                amounts=_amounts(t.amounts),
                un_authorisation=t.waiver,
                parties=t.parties,
                ledger_entry=t.ledger_seq,
            )
            for t in built.transfers
        ],
        returns=[
            out.PetroleumReturnOut(
                day=r.day,
                product=r.resource.code,
                hs_code=r.resource.hs_code,
                amounts=_amounts(r.amounts),
                parties=r.parties,
            )
            for r in built.returns
        ],
        products=[
            out.PetroleumProductOut(
                product=p.resource.code,
                hs_code=p.resource.hs_code,
                transferred=out.AmountsOut(litres=p.litres, tonnes=p.tonnes, barrels=p.barrels),
                returned_litres=p.returned_litres,
                factor=p.factor,
                note=p.note,
            )
            for p in sorted(built.products.values(), key=lambda p: p.resource.code)
        ],
    )
    return respond(body)


@bp.get("/reports/petroleum.csv")
@permission_required(Permission.VIEW_OPERATIONS)
def petroleum_report_csv() -> Response:
    """The period's report as the CSV its page gives."""
    built = _asked_report()
    return Response(
        petroleum.csv_text(built),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{petroleum.csv_name(built)}"'},
    )


@bp.get("/reports/petroleum.pdf")
@permission_required(Permission.VIEW_OPERATIONS)
def petroleum_report_pdf() -> Response:
    """The period's PDF in the caller's language when a fresh one was printed; else 404, with
    where to ask a worker for one (a POST to the same address)."""
    built = _asked_report()
    fresh = petroleum_jobs.fresh_pdf(db.session, built.start, current_locale_code(), utcnow())
    if fresh is None:
        raise NotFoundError(
            _(
                "No PDF of the period from %(start)s is printed yet; POST to this address to "
                "have a worker print one.",
                start=built.start.isoformat(),
            )
        )
    return send_job_file(fresh)


@bp.post("/reports/petroleum.pdf")
@permission_required(Permission.VIEW_OPERATIONS)
def print_petroleum_report() -> Response:
    """Ask a worker to print the period's PDF in the caller's language: 202 with the job to
    follow (the one already under way, if any); 303 to the PDF when a fresh one exists."""
    built = _asked_report()
    locale = current_locale_code()
    return _print(
        petroleum_jobs.KIND,
        petroleum_jobs.params_for(built.start, locale),
        petroleum_jobs.fresh_pdf(db.session, built.start, locale, utcnow()),
        url_for("api.petroleum_report_pdf", start=built.start.isoformat()),
    )


# --- the audit trail ----------------------------------------------------------------------


class AuditQuery(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    actor_id: Annotated[schemas.QueryInt, Field(ge=1, le=inputs.MAX_ID)] | None = None
    action: Annotated[str | None, Field(pattern=r"^[a-z_.]{1,40}$")] = None
    date_from: Annotated[schemas.IsoDate | None, Field(alias="from")] = None
    date_to: Annotated[schemas.IsoDate | None, Field(alias="to")] = None
    cursor: Annotated[str | None, Field(pattern=AUDIT_CURSOR_PATTERN)] = None
    limit: Annotated[schemas.QueryInt, Field(ge=1, le=500)] = 100


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _audit_cursor(key: tuple[datetime, str, int]) -> str:
    at, source, row_id = key
    delta = at.astimezone(UTC) - EPOCH
    micros = (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds
    return f"{micros}.{source}.{row_id}"


def _audit_after(text: str) -> tuple[datetime, str, int]:
    micros, source, row_id = text.split(".")
    seconds, fraction = divmod(int(micros), 1_000_000)
    try:
        at = datetime.fromtimestamp(seconds, UTC).replace(microsecond=fraction)
    except (OverflowError, ValueError, OSError):
        raise invalid("cursor", _("Not a value this parameter takes.")) from None
    return at, source, int(row_id)


def audit_row(row: TrailRow) -> out.AuditRowOut:
    return out.AuditRowOut(
        occurred_at=row.occurred_at,
        source=row.source,
        id=row.id,
        actor_id=row.actor.id if row.actor is not None else None,
        actor=_name(row.actor),
        email=row.email,
        action=row.action,
        object_type=row.object_type,
        object_id=row.object_id,
        detail=row.detail,
    )


@bp.get("/audit")
@permission_required(Permission.VIEW_AUDIT)
def audit_trail() -> Response:
    query: AuditQuery = _query(AuditQuery)
    if query.action is not None and query.action not in display.ACTION_GROUPS:
        raise invalid(
            "action", _("Must be one of: %(choices)s.", choices=", ".join(display.ACTION_GROUPS))
        )
    filters = AuditFilters(
        actor_id=query.actor_id,
        action=query.action or "",
        date_from=query.date_from,
        date_to=query.date_to,
    )
    after = _audit_after(query.cursor) if query.cursor else None
    rows, last = trail_page(db.session, filters, after=after, size=query.limit)
    page = out.AuditPage(
        items=[audit_row(row) for row in rows],
        next_cursor=_audit_cursor(last) if last is not None else None,
    )
    return respond(page)
