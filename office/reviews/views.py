from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import Session

from office import inputs
from office.auth.access import permission_required
from office.auth.permissions import Permission, has_permission
from office.db import db, utcnow
from office.documents import panels
from office.documents import queries as document_queries
from office.documents import records as documents
from office.documents.models import RecordType
from office.errors import DomainError
from office.i18n import _, current_locale_code, label, office_date
from office.jobs.web import prepare_page, send_job_file, start_job
from office.periods import services as periods
from office.periods.models import SignedOffMonth
from office.reviews import dashboard as dashboards
from office.reviews import jobs as report_jobs
from office.reviews import queries, report, services
from office.reviews.forms import NoteForm, SignOffForm
from office.reviews.labels import STATE_TONES
from office.reviews.models import ItemKind, ReviewAction, ReviewItem, ReviewState
from office.waivers import checkpoints
from office.waivers.models import LedgerCheckpoint, Waiver
from office.waivers.queries import REGIME_CLASSIFICATIONS
from office.waivers.regimes import all_regimes
from office.web import form_status, read_as_of, show_domain_error

bp = Blueprint("reviews", __name__, url_prefix="/reviews")


@bp.app_context_processor
def reviews_vocabulary() -> dict[str, Any]:
    return {"review_tone": STATE_TONES.get}


def _today() -> date:
    return office_date(utcnow())


# --- the dashboard ------------------------------------------------------------------------


@bp.get("/", endpoint="dashboard")
@permission_required(Permission.VIEW_REVIEW)
def dashboard() -> str:
    today = _today()
    as_of = read_as_of(today)
    board = dashboards.build(db.session, as_of or today, today=today)
    return render_template(
        "reviews/dashboard.html",
        board=board,
        as_of=as_of,
        today=today,
        classifications=REGIME_CLASSIFICATIONS,
    )


# --- the queue and each item's thread -----------------------------------------------------


def _month_arg(text: str) -> date | None:
    return inputs.month_from(text)


QUEUE_ARGS = ("kind", "state", "month", "waiver", "regime")


def _asked_filters(
    args: Mapping[str, str] | None = None,
) -> tuple[queries.QueueFilters, dict[str, Any]]:
    args = request.args if args is None else args
    return queries.queue_filters(
        db.session,
        kind=args.get("kind", ""),
        state=args.get("state", ""),
        month=args.get("month", ""),
        waiver=args.get("waiver", ""),
        regime=args.get("regime", ""),
    )


def _filters(args: Mapping[str, str] | None = None) -> queries.QueueFilters:
    """The queue's filters in `args` (the request's), leaving out any it cannot take."""
    return _asked_filters(args)[0]


@bp.get("/queue", endpoint="queue")
@permission_required(Permission.VIEW_REVIEW)
def queue() -> Any:
    today = _today()
    filters, refused = _asked_filters()
    after = (
        queries.decode_cursor(request.args.get("after", "")) if request.args.get("after") else None
    )
    if request.args.get("after") and after is None:
        refused["after"] = queries.bad_cursor_message()
    # A value the queue cannot take is left out and said so, as the API refuses it.
    for message in refused.values():
        flash(str(message), "error")
    rows, cursor = queries.queue_page(db.session, filters, today=today, after=after)
    counts = queries.count_by_state(db.session, filters, today=today)
    waivers = db.session.scalars(select(Waiver).order_by(Waiver.reference)).all()
    # An item opened from here carries the queue's filters, to step to the items beside it.
    queue_args = {key: request.args[key] for key in QUEUE_ARGS if request.args.get(key)}
    return render_template(
        "reviews/queue.html",
        rows=rows,
        from_queue=urlencode(queue_args) or None,
        described=queries.describe(db.session, rows),
        cursor=cursor,
        counts=counts,
        filters=filters,
        state_arg="awaiting" if filters.awaiting else "all" if filters.state is None else "",
        args={key: value for key, value in request.args.items() if key != "after"},
        waivers=waivers,
        regimes=all_regimes(db.session),
        kinds=list(ItemKind),
        states=list(ReviewState),
    ), 422 if refused else 200


def _kind(kind: str) -> ItemKind:
    if kind not in set(ItemKind):
        abort(404)
    return ItemKind(kind)


def _from_queue() -> str | None:
    """The query string of the queue an item was opened from (its filters), if it was."""
    text = request.args.get("queue", "")
    if not text or len(text) > 200:
        return None
    args = dict(parse_qsl(text))
    kept = {key: args[key] for key in QUEUE_ARGS if args.get(key)}
    return urlencode(kept) or None


def render_item(kind: ItemKind, source_id: int, form: NoteForm | None = None) -> Any:
    today = _today()
    row = queries.find_record(db.session, kind, source_id, today=today)
    if row is None:
        abort(404)
    from_queue = _from_queue()
    previous, following = queries.neighbours(
        db.session, _filters(dict(parse_qsl(from_queue or ""))), row, today=today
    )
    shown = [r for r in (previous, following) if r is not None]
    item = db.session.scalar(
        select(ReviewItem).where(ReviewItem.kind == kind, ReviewItem.source_id == source_id)
    )
    form = form or NoteForm(formdata=None)
    actions = [
        action
        for action in ReviewAction
        if action is not ReviewAction.COMMENT and services.can_take(current_user, action, row.state)
    ]
    return render_template(
        "reviews/item.html",
        row=row,
        item=item,
        described=queries.describe(db.session, [row]).get((kind, source_id)),
        facts=queries.item_facts(db.session, row),
        previous=previous,
        following=following,
        neighbours=queries.describe(db.session, shown),
        from_queue=from_queue,
        form=form,
        actions=actions,
        month_closed=periods.is_signed_off(db.session, row.occurred_on),
        may_comment=has_permission(current_user, Permission.VIEW_REVIEW),
        thread=_thread(item),
        documents=panels.panel_of(_item_record(kind, source_id, item)),
        behind=_documents_behind(row),
    ), form_status(form)


def _thread(item: ReviewItem | None) -> list[Any]:
    """The thread's notes and the documents attached to it, in the order they came."""
    if item is None:
        return []
    shelf = document_queries.shelf(db.session, RecordType.REVIEW_ITEM, item.id)
    steps: list[tuple[Any, int, Any]] = [(note.at, 0, note) for note in item.notes]
    steps += [(d.uploaded_at, 1, d) for d in (*shelf.current, *shelf.history)]
    return [step for _at, _order, step in sorted(steps, key=lambda s: (s[0], s[1], s[2].id))]


def _documents_behind(row: queries.QueueRow) -> list[tuple[documents.Record, Any]]:
    """The documents of the records behind the flagged one (its waivers' letters, its
    delivery's papers, its day's photos) that the reader may see, each record with its
    current and withdrawn documents."""
    behind = []
    for record_type, record_id in queries.related_records(db.session, row):
        if record_type not in documents.registered() or not documents.may_see(
            current_user, record_type
        ):
            continue
        shelf = document_queries.shelf(db.session, record_type, record_id)
        shown = [*shelf.current, *shelf.withdrawn]
        record = documents.kind_of(record_type).by_id(db.session, record_id)
        if shown and record is not None:
            behind.append((record, shown))
    return behind


@bp.get("/items/<kind>/<int:source_id>", endpoint="item")
@permission_required(Permission.VIEW_REVIEW)
def item(kind: str, source_id: int) -> Any:
    return render_item(_kind(kind), source_id)


DONE = {
    ReviewAction.COMMENT: lambda: _("Comment added."),
    ReviewAction.QUERY: lambda: _("Query sent to the office."),
    ReviewAction.ANSWER: lambda: _("Answer sent to the reviewer."),
    ReviewAction.ESCALATE: lambda: _("Escalated."),
    ReviewAction.ACKNOWLEDGE: lambda: _("Acknowledged."),
    ReviewAction.REOPEN: lambda: _("Reopened."),
}


def _act(action: ReviewAction, kind: str, source_id: int) -> Any:
    item_kind = _kind(kind)
    form = NoteForm()
    if form.validate_on_submit():
        try:
            services.take_action(
                db.session,
                item_kind,
                source_id,
                action,
                body=form.body.data or "",
                actor=current_user,
                now=utcnow(),
                today=_today(),
            )
        except DomainError as exc:
            db.session.rollback()
            if exc.status_code in (403, 404):
                abort(exc.status_code)
            show_domain_error(form, exc)
        else:
            db.session.commit()
            flash(DONE[action](), "success")
            return redirect(
                url_for("reviews.item", kind=kind, source_id=source_id, queue=_from_queue())
            )
    return render_item(item_kind, source_id, form)


def _register_action(action: ReviewAction, permission: Permission) -> None:
    def view(kind: str, source_id: int) -> Any:
        return _act(action, kind, source_id)

    view.__name__ = f"{action.value}_item"
    bp.post(f"/items/<kind>/<int:source_id>/{action.value}", endpoint=action.value)(
        permission_required(permission)(view)
    )


for _action, _permission in (
    (ReviewAction.COMMENT, Permission.VIEW_REVIEW),
    (ReviewAction.QUERY, Permission.REVIEW_ITEMS),
    (ReviewAction.ESCALATE, Permission.REVIEW_ITEMS),
    (ReviewAction.ACKNOWLEDGE, Permission.REVIEW_ITEMS),
    (ReviewAction.REOPEN, Permission.REVIEW_ITEMS),
    (ReviewAction.ANSWER, Permission.ANSWER_QUERIES),
):
    _register_action(_action, _permission)


# --- months: their state, sign-off and report ---------------------------------------------


def _months(today: date) -> list[date]:
    months, month = [], periods.month_of(today)
    first = periods.month_of(periods.RECORDS_BEGIN)
    while month >= first:
        months.append(month)
        month = date(month.year - (month.month == 1), (month.month - 2) % 12 + 1, 1)
    return months


@bp.get("/months", endpoint="months")
@permission_required(Permission.VIEW_REVIEW)
def months() -> Any:
    return render_months()


def render_months(form: SignOffForm | None = None, status: int = 200) -> Any:
    today = _today()
    counts = queries.count_by_month(db.session, today=today)
    signed = {
        s.month: s
        for s in db.session.scalars(select(SignedOffMonth).order_by(SignedOffMonth.month))
    }
    shown = [
        m for m in _months(today) if m in counts or m in signed or m == periods.month_of(today)
    ]
    return render_template(
        "reviews/months.html",
        months=shown,
        counts=counts,
        signed=signed,
        today=today,
        current_month=periods.month_of(today),
        ACKNOWLEDGED=ReviewState.ACKNOWLEDGED,
        form=form or SignOffForm(formdata=None),
        may_sign=has_permission(current_user, Permission.SIGN_OFF_MONTHS),
    ), status


def _month_or_404(text: str) -> date:
    month = _month_arg(text)
    if month is None:
        abort(404)
    return month


@bp.post("/months/<month>/sign-off", endpoint="sign_off")
@permission_required(Permission.SIGN_OFF_MONTHS)
def sign_off(month: str) -> Any:
    day = _month_or_404(month)
    form = SignOffForm()
    if form.validate_on_submit():
        keys = checkpoints.keys_of(current_app)
        try:
            services.sign_off_month(
                db.session,
                day,
                note=form.note.data or "",
                actor=current_user,
                now=utcnow(),
                today=_today(),
                ledger_keys=keys,
            )
        except DomainError as exc:
            db.session.rollback()
            flash(str(exc), "error")
            return render_months(form, exc.status_code)
        db.session.commit()
        flash(_("%(month)s is signed off.", month=month), "success")
        _keep_checkpoint_elsewhere(keys, day)
        return redirect(url_for("reviews.months"))
    return render_months(form, form_status(form))


def _keep_checkpoint_elsewhere(keys: checkpoints.LedgerKeys, month: date) -> None:
    """Append the month's committed checkpoint to the checkpoint file, if one is set; say so
    when it cannot be written (the sign-off stands)."""
    made = db.session.scalar(select(LedgerCheckpoint).where(LedgerCheckpoint.month == month))
    if keys.file is None or made is None:
        return
    try:
        checkpoints.append_to_file(keys.file, [made])
    except OSError as exc:
        current_app.logger.error("ledger checkpoint not appended to %s: %s", keys.file, exc)
        flash(
            _(
                "The ledger's signed head is stored, but the checkpoint file could not be "
                "written; run `flask ledger export-checkpoints` to copy it there."
            ),
            "error",
        )


@bp.get("/reports/<month>", endpoint="report")
@permission_required(Permission.VIEW_REVIEW)
def month_report(month: str) -> str:
    built = report.build(db.session, _month_or_404(month), today=_today())
    return render_template("reviews/report.html", report=built, printing=False)


@bp.get("/reports/<month>.pdf", endpoint="report_pdf")
@permission_required(Permission.VIEW_REVIEW)
def month_report_pdf(month: str) -> Any:
    """The month's PDF when a fresh one was printed; else a page that asks a worker for it."""
    day = _month_or_404(month)
    report.check_month(day, today=_today())  # 404 for a month that has no report
    fresh = report_jobs.fresh_pdf(db.session, day, current_locale_code(), utcnow())
    if fresh is not None:
        return send_job_file(fresh)
    return prepare_page(
        title=_("Supply-usage report, %(month)s", month=month),
        what=_("The PDF of this report is printed by a worker; it takes a few seconds."),
        action=url_for("reviews.print_report", month=month),
        back=url_for("reviews.report", month=month),
        button=_("Print the PDF"),
    )


@bp.post("/reports/<month>.pdf", endpoint="print_report")
@permission_required(Permission.VIEW_REVIEW)
def print_report(month: str) -> Any:
    """Ask a worker to print the month's PDF (or serve a fresh one), in the reader's language."""
    day = _month_or_404(month)
    report.check_month(day, today=_today())
    locale = current_locale_code()
    if report_jobs.fresh_pdf(db.session, day, locale, utcnow()) is not None:
        return redirect(url_for("reviews.report_pdf", month=month), 303)
    return start_job(
        report_jobs.KIND,
        report_jobs.params_for(day, locale),
        back=url_for("reviews.report", month=month),
    )


@bp.get("/reports/<month>.csv", endpoint="report_csv")
@permission_required(Permission.VIEW_REVIEW)
def month_report_csv(month: str) -> Response:
    built = report.build(db.session, _month_or_404(month), today=_today())
    return Response(
        report.csv_text(built),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="supply-usage-{month}.csv"'},
    )


# --- documents in an item's thread -------------------------------------------------------------


def _item_record(kind: ItemKind, source_id: int, item: ReviewItem | None) -> documents.Record:
    return documents.Record(
        RecordType.REVIEW_ITEM,
        f"{kind.value}-{source_id}",
        item.id if item is not None else None,
        _("Review of %(kind)s #%(id)d", kind=label(kind), id=source_id),
        url_for("reviews.item", kind=kind.value, source_id=source_id),
    )


def _item_key(key: str) -> tuple[ItemKind, int] | None:
    kind, _dash, number = key.rpartition("-")
    source_id = inputs.id_from(number)
    if kind not in {k.value for k in ItemKind} or source_id is None:
        return None
    return ItemKind(kind), source_id


def _find_item(session: Session, key: str) -> documents.Record | None:
    parsed = _item_key(key)
    if parsed is None or queries.find_record(session, *parsed, today=_today()) is None:
        return None
    kind, source_id = parsed
    item = session.scalar(
        select(ReviewItem).where(ReviewItem.kind == kind, ReviewItem.source_id == source_id)
    )
    return _item_record(kind, source_id, item)


def _item_by_id(session: Session, item_id: int) -> documents.Record | None:
    item = session.get(ReviewItem, item_id)
    if (
        item is None
        or queries.find_record(session, item.kind, item.source_id, today=_today()) is None
    ):
        return None
    return _item_record(item.kind, item.source_id, item)


def _open_item(session: Session, record: documents.Record, now: datetime) -> int:
    parsed = _item_key(record.key)
    assert parsed is not None
    return services.open_item(session, *parsed, now=now, today=_today()).id


documents.register(
    RecordType.REVIEW_ITEM,
    documents.RecordKind(
        Permission.VIEW_REVIEW, Permission.VIEW_REVIEW, _find_item, _item_by_id, _open_item
    ),
)
