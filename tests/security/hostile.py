"""A hostile office: the demo office with markup, an attribute-breaking quote and a spreadsheet
formula stored in every text column, and a crawler that reads every page, report and export of
it as a user would, noting where that text shows and whether it shows only as text.

Each column gets a payload of its own, tagged `<x-N>` (N numbers the column), so a page that
shows the tag as text proves the column is shown there escaped; the tag as markup on a page is
the column reaching it unescaped.
"""

from __future__ import annotations

import csv
import html
import io
import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

import pypdfium2
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import (
    JSON,
    Column,
    Enum,
    String,
    Table,
    UniqueConstraint,
    cast,
    func,
    literal,
    select,
    update,
)
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException

import office.models  # noqa: F401 (every feature's tables, as Alembic sees them)
from office.auth.models import User
from office.auth.services import create_api_token
from office.db import Base
from office.fuel import services as fuel
from office.fuel.models import DailyLog, DailyLogEvent, Meter, MeterReading
from office.staffing.models import PlanProposal, ProposalStatus, Side, StaffMember
from office.stock.models import StockMovement
from office.supplies import services as supplies
from office.waivers import ledger
from office.waivers import services as waiver_services
from office.waivers.models import Authority, Control, Purpose, Resource, WaiverStatus

# --- which text columns hold what ----------------------------------------------------------

# Columns whose text the app writes itself and no user can choose (hashes, secrets, its own
# codes), or that only ever hold digits. A new text column fails
# `test_every_text_column_is_known` until it is placed here or in USER_TEXT below.
NOT_USER_TEXT = {
    "jobs.kind": "a kind of job from the app's closed list",
    "jobs.params": "a job's parameters: ids, dates, codes and a language, checked when asked",
    "jobs.stage": "a stage code of the app's",
    "jobs.detail": "figures the worker reports (rows, the planner's objective and gap)",
    "jobs.error": "the app's own message about why a job failed",
    "jobs.result": "an endpoint of the app's and an id",
    "jobs.unique_key": "a periodic job's kind and day",
    "jobs.task_id": "a random UUID",
    "jobs.worker": "a worker's host name, process and thread",
    "job_files.name": "a file name the app makes from a kind and a date",
    "job_files.content_type": "a MIME type of the app's",
    "users.password_hash": "a scrypt hash",
    "users.session_token": "a random token made at login",
    "users.language": "a language code of the switch's closed list",
    "api_tokens.token_hash": "a SHA-256",
    "api_tokens.prefix": "the first characters of a random token",
    "staff_members.feed_token": "a random token",
    "drawdown_entries.prev_hash": "a SHA-256",
    "drawdown_entries.hash": "a SHA-256",
    "ledger_head.last_hash": "a SHA-256",
    "audit_events.action": "the app's name for what happened",
    "audit_events.object_type": "a model's class name",
    "audit_events.object_id": "a primary key",
    "daily_log_events.action": "the app's name for what happened",
    "stock_movements.use": "the app's code for what stock was used for",
    "resources.hs_code": "digits only (checked by the service)",
    "delivery_lines.hs_code": "digits only (checked by the service)",
    "hs_rules.prefix": "digits only (checked by the service)",
    "regimes.code": "the app's own code of a regime (seeded)",
    "resources.origin": "two capital letters (checked by the service)",
    "drawdown_entries.regimes": "the ledger's own record of codes, ids and classifications",
    "crossing_lists.sent_snapshot": "staff ids",
    "plan_proposals.plan": "staff ids and dates",
    "plan_proposals.objective": "the planner's own summary of its search",
    "signed_off_months.summary": "counts per kind and state",
    "staffing_rules.counted_categories": "codes of a closed vocabulary",
    "api_tokens.generation": "the user's session_token at issue",
    "user_sessions.generation": "the user's session_token at login",
    "user_sessions.key_hash": "a SHA-256",
    "form_submissions.token": "a random one-time token",
    "form_submissions.location": "the app's own redirect",
    "form_submissions.flashes": "the app's own messages",
    "staffing_rules.crossing_weekdays": "weekday numbers (JSON) from the form's closed list",
    "notices.key": "the alert's own key (kind, ids and dates)",
    "notices.audience": "role codes",
    "notices.endpoint": "the app's own endpoint",
    "notices.endpoint_args": "ids and dates for the endpoint's link",
    "notices.facts": (
        "references, codes and numbers copied from waivers and resources when the alert ran "
        "(their own columns get the payload); the message is formatted as plain text and the "
        "template escapes it"
    ),
    "idempotency_keys.key": "a client's opaque key, never shown",
    "idempotency_keys.fingerprint": "a SHA-256",
    "idempotency_keys.body": "the API's own stored answer (JSON, escaped by the JSON encoder)",
    "idempotency_keys.location": "the app's own URL",
    "idempotency_keys.mimetype": "the app's own media type",
    "ledger_checkpoints.head_hash": "a SHA-256",
    "ledger_checkpoints.key_id": "a key's fingerprint",
    "ledger_checkpoints.signature": "an Ed25519 signature",
    "login_attempts.client_network": "a network derived from the client's address",
    "recovery_codes.code_hash": "a SHA-256",
    "two_factor_credentials.secret_encrypted": "a Fernet token",
    "documents.media_type": "the media type the app decided from the file's content",
    "documents.sha256": "a SHA-256",
    "notice_preferences.language": "a language code of the switch's closed list",
    "notice_deliveries.last_error": (
        "the mail server's or the app's word on a failed send, for the logs and the "
        "operators; no page shows it"
    ),
}

# The columns that hold text a user chose (typed in a form, sent to the API, imported from a
# CSV, or copied from such text by the app), as the forms and services write them.
USER_TEXT = {
    "users.email": "an account's email, and the login name",
    "users.display_name": "a person's name",
    "api_tokens.name": "what a token is for",
    "login_attempts.email": "whatever was typed as the email on the login page",
    "login_attempts.remote_addr": "the client's address (from a proxy's header)",
    "user_sessions.remote_addr": "the client's address (from a proxy's header)",
    "user_sessions.user_agent": "whatever the browser sent as its User-Agent",
    "audit_events.detail": "copies of names, references and reasons",
    "resources.code": "a resource's code",
    "resources.name_ko": "a resource's name",
    "resources.name_en": "a resource's name",
    "hs_rules.note": "what an HS rule is about",
    "regimes.name_en": "a regime's name, as reviewers edit it",
    "regimes.name_ko": "a regime's name, as reviewers edit it",
    "regimes.note": "what a regime is about",
    "waivers.reference": "a waiver's reference",
    "waivers.title": "a waiver's title",
    "waivers.purpose": "a waiver's purpose",
    "waiver_status_changes.note": "why a waiver's status changed",
    "drawdown_entries.source_ref": "the delivery line, lot or reading a drawdown came from",
    "drawdown_entries.note": "a drawdown's note",
    "drawdown_entries.override_reason": "why a drawdown was recorded anyway",
    "drawdown_entries.reversal_reason": "why a drawdown was reversed",
    "staff_members.name_ko": "a person's name",
    "staff_members.name_latin": "a person's name",
    "staff_members.agency": "a person's agency",
    "stays.note": "a stay's note",
    "stores.name": "a store's or tank's name",
    "stores.location": "where a store is",
    "stock_lots.source_ref": "the delivery or drawdown a lot came from",
    "stock_movements.use_ref": "what stock was used for (a generator, a work order)",
    "stock_movements.parties": "who handed over and took stock",
    "stock_movements.note": "a movement's note",
    "stock_movements.void_reason": "why a movement was voided",
    "generators.name": "a generator's name",
    "generator_readings.void_reason": "why a reading was voided",
    "meters.name": "a meter's name",
    "meter_readings.flag_reason": "why a reading was flagged",
    "meter_readings.void_reason": "why a reading was voided",
    "dip_readings.void_reason": "why a dip was voided",
    "daily_logs.incidents": "the day's incidents",
    "daily_logs.notes": "the day's notes",
    "daily_log_events.reason": "why a signed-off day was changed",
    "daily_log_events.detail": "copies of what was changed",
    "deliveries.reference": "a delivery's reference",
    "deliveries.crossing_point": "where a delivery crosses",
    "deliveries.carrier": "who carries a delivery",
    "deliveries.vehicles": "a delivery's vehicles",
    "deliveries.approval_number": "the ministry's approval number",
    "deliveries.customs_declaration": "the customs declaration number",
    "deliveries.rejected_reason": "why a delivery was rejected",
    "deliveries.note": "a delivery's note",
    "delivery_lines.description": "a manifest line's description",
    "delivery_lines.hs_code_reason": "why a line's HS code differs from its resource's",
    "delivery_lines.override_reason": "why a line crosses uncovered",
    "work_orders.number": "a work order's number",
    "work_orders.room": "where the work is done",
    "work_orders.description": "what the work is",
    "work_orders.contractor": "who does the work",
    "work_orders.funding_decision": "the decision that funds the work",
    "work_costs.description": "what a cost was for",
    "work_equipment.note": "a note on equipment put in",
    "review_notes.body": "a message in a review thread",
    "signed_off_months.note": "a note on a month's sign-off",
    "documents.title": "a document's title",
    "documents.filename": "the name of a file as its uploader's computer had it",
    "documents.withdrawn_reason": "why a document was withdrawn",
}

# Columns that hold user text but that no page, report or export shows, each with why.
NOT_SHOWN = {
    "dip_readings.void_reason": "no service voids a dip yet",
    "generator_readings.void_reason": "no service voids generator hours yet",
    "signed_off_months.note": "kept with the sign-off; no page shows it",
    "user_sessions.remote_addr": "opened by logging in; the crawl seeds none",
    "user_sessions.user_agent": "opened by logging in; the crawl seeds none",
}


def text_columns() -> Iterator[Column[Any]]:
    """Every column of the schema that holds text: String and Text, and JSON (which holds
    copies of user text in the audit trail); not the enums, whose values are the app's."""
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, JSON) or (
                isinstance(column.type, String) and not isinstance(column.type, Enum)
            ):
                yield column


def name_of(column: Column[Any]) -> str:
    return f"{column.table.name}.{column.name}"


def user_text_columns() -> list[Column[Any]]:
    return sorted((c for c in text_columns() if name_of(c) in USER_TEXT), key=name_of)


def payload(n: int, room: int | None) -> str:
    """Markup, a quote that would end an attribute, and a formula, tagged with `n`; the short
    form when the column has no room for the long one."""
    tag = f"<x-{n}>"
    long = (
        '=HYPERLINK("http://evil.example/")\'"><img src=x onerror=alert(1)>'
        f'<a href="http://evil.example/">x</a>{tag}'
    )
    short = f"=\"'><i>{tag}"
    return long if room is None or len(long) <= room else short


# What a page must never contain: the payload's markup as markup.
RAW_MARKUP = re.compile(r"<x-\d+|<img src=x|<a href=\"http://evil|<i><x-", re.IGNORECASE)
SEEN_TAG = re.compile(r"<x-(\d+)>")


@dataclass(frozen=True)
class Injected:
    tags: dict[int, str]  # tag number -> table.column

    def names(self, numbers: set[int]) -> set[str]:
        return {self.tags[n] for n in numbers if n in self.tags}


def _with_payload(value: Any, text: str) -> Any:
    """`value` (a JSON document) with every string in it replaced by `text`."""
    if isinstance(value, str):
        return text
    if isinstance(value, list):
        return [_with_payload(v, text) for v in value]
    if isinstance(value, dict):
        return {k: _with_payload(v, text) for k, v in value.items()}
    return value


# The ledger is append-only (a trigger refuses any UPDATE): its text goes in through the
# ledger's own door, an override and its reversal.
APPEND_ONLY = {"drawdown_entries"}


def _record_hostile_drawdown(session: Session, numbers: dict[str, int]) -> None:
    def text(column: str) -> str:
        return payload(numbers[f"drawdown_entries.{column}"], 80)

    admin = session.scalar(select(User).where(User.is_superuser.is_(True)).order_by(User.id))
    resource = session.scalars(
        select(Resource).where(Resource.control == Control.PROHIBITED).order_by(Resource.id)
    ).first()
    assert admin is not None and resource is not None
    now = datetime.now(UTC)
    entry = ledger.record_drawdown(
        session,
        resource=resource,
        quantity="1",
        unit=resource.unit,
        occurred_on=date(2018, 11, 20),
        waiver_line=None,
        purpose=Purpose.OPERATION,
        source_ref=text("source_ref"),
        note=text("note"),
        override_reason=text("override_reason"),
        actor=admin,
        now=now,
    )
    ledger.reverse_entry(session, entry, reason=text("reversal_reason"), actor=admin, now=now)


def _in_a_unique_key(column: Column[Any]) -> bool:
    table = column.table
    keys = [c.columns for c in table.constraints if isinstance(c, UniqueConstraint)]
    keys += [i.columns for i in table.indexes if i.unique]
    return bool(column.unique) or any(column.name in key for key in keys)


def arrange_the_rest(session: Session) -> None:
    """Add what the demo office lacks for every text column to show somewhere: a voided meter
    reading, readings folded in a day's history, a manifest line with an HS code of its own
    and an override, an API token and a staffing plan proposed."""
    admin = session.scalar(select(User).where(User.is_superuser.is_(True)).order_by(User.id))
    assert admin is not None
    now = datetime.now(UTC)
    meters = set(session.scalars(select(Meter.id)))
    reading = session.get(MeterReading, min(fuel.voidable_readings(session, meters)))
    assert reading is not None
    fuel.void_meter_reading(session, reading, reason="Misread.", actor=admin, now=now)
    # Two readings of one meter today: the day's history folds them into one line that names
    # the meter from the events' details.
    meter = session.scalars(
        select(Meter).where(Meter.removed_at.is_(None)).order_by(Meter.id)
    ).first()
    assert meter is not None
    last = fuel.last_reading(session, meter)
    assert last is not None
    for step in (1, 2):
        fuel.record_meter_reading(
            session,
            meter,
            value=last.value + step,
            read_at=now - timedelta(seconds=3 - step),
            override_reason="The waivers of 2018 have run out.",
            actor=admin,
            now=now,
        )
    # A manifest line whose HS code differs from its resource's, crossing uncovered.
    resource = session.scalars(
        select(Resource).where(Resource.control == Control.PROHIBITED).order_by(Resource.id)
    ).first()
    assert resource is not None
    delivery = supplies.save_delivery(
        session,
        reference="KLO-HOSTILE",
        direction="north",
        planned_on=date(2018, 11, 20),
        carrier="Carrier",
        approval=waiver_services.create_waiver(
            session,
            reference="MOU-CO-HOSTILE",
            authority=Authority.ROK_MOU_INDIVIDUAL,
            title="Carry-out approval",
            status=WaiverStatus.GRANTED,
            valid_from=date(2018, 1, 1),
            valid_until=date(2018, 12, 31),
            actor=admin,
            now=now,
        ),
        actor=admin,
        now=now,
    )
    supplies.add_line(
        session,
        delivery,
        supplies.LineInput(
            resource=resource,
            quantity="1",
            unit=resource.unit,
            purpose=Purpose.OPERATION,
            hs_code="9999.99",
            hs_code_reason="Declared so by the shipper.",
            override_reason="Needed before the waiver comes.",
        ),
        actor=admin,
        now=now,
    )
    create_api_token(session, admin, name="Spreadsheet import", actor=admin, now=now)
    person = session.scalars(
        select(StaffMember).where(StaffMember.side == Side.SOUTH).order_by(StaffMember.id)
    ).first()
    assert person is not None
    session.add(
        PlanProposal(
            side=Side.SOUTH,
            first_day=date(2018, 11, 1),
            last_day=date(2018, 11, 7),
            status=ProposalStatus.PROPOSED,
            plan={
                "people": [person.id],
                "stays": [[person.id, "2018-11-01", "2018-11-05"]],
                "nights": [[person.id, "2018-11-02"]],
            },
            objective="OPTIMAL",
            created_at=now,
            created_by_id=admin.id,
        )
    )
    session.flush()


def seeds(session: Session) -> tuple[str, ...]:
    """Pages no link from the start leads to within a few steps: the days of the daily log
    that hold its corrections, voids, flags and folded readings, the plans proposed, and the
    calendar feeds (their address is shown, not linked)."""
    voided_movements = select(StockMovement.occurred_on).where(StockMovement.voided_at.is_not(None))
    voided_readings = select(MeterReading.read_on).where(MeterReading.voided_at.is_not(None))
    flagged_readings = select(MeterReading.read_on).where(MeterReading.flagged.is_(True)).limit(3)
    corrected = select(DailyLog.log_on).join(DailyLogEvent).where(DailyLogEvent.reason.is_not(None))
    busiest = (
        select(DailyLog.log_on)
        .join(DailyLogEvent)
        .group_by(DailyLog.log_on)
        .order_by(func.count().desc(), DailyLog.log_on)
        .limit(1)
    )
    latest = select(func.max(DailyLog.log_on))
    days: set[date] = set()
    for query in (voided_movements, voided_readings, flagged_readings, corrected, busiest, latest):
        days |= set(session.scalars(query))
    proposals = session.scalars(select(PlanProposal.id))
    feeds = session.scalars(select(StaffMember.feed_token).order_by(StaffMember.id).limit(2))
    return (
        "/",
        *(f"/operations/days/{day.isoformat()}" for day in sorted(days)),
        *(f"/staffing/plans/{n}" for n in proposals),
        *(f"/staffing/feed/{token}.ics" for token in feeds),
    )


def inject(session: Session) -> Injected:
    """Store the payload in every user-text column of every row (numbered, where the column is
    unique); return which tag went where."""
    columns = user_text_columns()
    tags = {n: name_of(column) for n, column in enumerate(columns, start=1)}
    _record_hostile_drawdown(session, {name: n for n, name in tags.items()})
    for n, column in enumerate(columns, start=1):
        table: Table = column.table
        if table.name in APPEND_ONLY:
            continue
        if isinstance(column.type, JSON):
            key = table.primary_key.columns.values()
            for row in session.execute(select(*key, column)).all():
                *ids, document = row
                if document is None:
                    continue
                session.execute(
                    update(table)
                    .where(*(k == v for k, v in zip(key, ids, strict=True)))
                    .values({column.name: _with_payload(document, payload(n, 40))})
                )
            continue
        length = getattr(column.type, "length", None)
        if _in_a_unique_key(column):
            text = payload(n, None if length is None else length - 8)
            value: Any = literal(text) + cast(table.c.id, String)
        else:
            value = payload(n, length)
        # Only where the app wrote something: a reason stands where there is one to give
        # (a correction, a void), and the pages keep the shape they have on real data.
        session.execute(update(table).where(column.is_not(None)).values({column.name: value}))
    session.flush()
    return Injected(tags)


# --- the crawler ---------------------------------------------------------------------------


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.posts: list[str] = []  # the actions of forms that post

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "a":
            href = found.get("href")
            if href:
                self.hrefs.append(href)
        elif (
            tag == "form" and (found.get("method") or "").lower() == "post" and found.get("action")
        ):
            self.posts.append(found["action"] or "")


@dataclass
class Crawl:
    """What one user read of the hostile office."""

    statuses: dict[str, int] = field(default_factory=dict)  # url -> status
    endpoints: set[str] = field(default_factory=set)
    raw: list[tuple[str, str]] = field(default_factory=list)  # url, markup found as markup
    formulas: list[tuple[str, str]] = field(default_factory=list)  # url, a cell that computes
    seen: dict[int, set[str]] = field(default_factory=dict)  # tag -> urls showing it as text
    pdf_texts: dict[str, str] = field(default_factory=dict)

    def saw(self, url: str, text: str) -> None:
        for match in SEEN_TAG.finditer(text):
            self.seen.setdefault(int(match[1]), set()).add(url)


# A cell a spreadsheet would compute; a number (even negative) is a number, not a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")


def computes(cell: str) -> bool:
    return cell.startswith(_FORMULA_START) and not _NUMBER.fullmatch(cell)


# Pages of one endpoint that are worth reading: every filter and page of a list is another
# view of the same rows, so a few of each are enough; but every flagged item, entry, delivery,
# work order, person and report is its own record.
PER_ENDPOINT = 4
EVERY_ONE = {
    "reviews.item",
    "reviews.report",
    "reviews.report_pdf",
    "reviews.print_report",
    "reviews.report_csv",
    "jobs.download",
    "deliveries.detail",
    "repairs.detail",
    "staffing.person",
    "staffing.proposal",
    "operations.tank",
    "resources.detail",
    "users.detail",
}
NOT_FOLLOWED = {"static", "auth.login"}
# Buttons that ask a worker for a file (exports, the monthly and petroleum PDFs): the crawler
# presses them, lets the worker run, and reads the file the job left.
JOB_BUTTONS = {
    "reviews.print_report",
    "operations.print_petroleum",
    "ledger.export",
    "audit.export",
    "deliveries.stock_export",
}


def crawl(app: Flask, client: FlaskClient, start: tuple[str, ...] = ("/",)) -> Crawl:
    """Read every page `client` is led to from `start`, following links within the app."""
    adapter = app.url_map.bind("localhost")
    result = Crawl()
    counts: dict[str, int] = {}
    queue: deque[str] = deque(start)
    queued: set[str] = set(start)
    while queue:
        url = queue.popleft()
        response = client.get(url)
        result.statuses[url] = response.status_code
        endpoint, _args = adapter.match(urlsplit(url).path, method="GET")
        result.endpoints.add(endpoint)
        body = response.get_data()
        kind = response.mimetype
        if kind == "text/html":
            page = body.decode()
            for found in RAW_MARKUP.finditer(page):
                result.raw.append((url, page[max(found.start() - 80, 0) : found.end() + 40]))
            result.saw(url, html.unescape(page))
            links = _Links()
            links.feed(page)
            for href in links.hrefs:
                target = _follow(adapter, url, href, counts, queued)
                if target is not None:
                    queued.add(target)
                    queue.append(target)
            for action in links.posts:
                for target in _press(app, client, adapter, action, counts, queued):
                    if target not in queued:
                        queued.add(target)
                        queue.append(target)
        elif kind == "text/csv":
            text = body.decode("utf-8-sig")
            for row in csv.reader(io.StringIO(text, newline="")):
                for cell in row:
                    if computes(cell):
                        result.formulas.append((url, cell))
            result.saw(url, text)
        elif kind == "application/pdf":
            document = pypdfium2.PdfDocument(body)
            try:
                text = "\n".join(
                    document[n].get_textpage().get_text_range() for n in range(len(document))
                )
            finally:
                document.close()
            result.pdf_texts[url] = text
            result.saw(url, text)
        elif kind == "text/calendar":
            result.saw(url, body.decode())
    return result


def _press(
    app: Flask,
    client: FlaskClient,
    adapter: Any,
    action: str,
    counts: dict[str, int],
    pressed: set[str],
) -> list[str]:
    """Press a button that asks a worker for a file; return the addresses to read then: the
    job's page, its state, its file, and the button's own address (the monthly PDF, printed,
    serves there; an export's explains itself)."""
    from tests.jobs import job_id_of, run_jobs

    parts = urlsplit(action)
    key = "POST " + action
    if not action or key in pressed:
        return []
    try:
        endpoint, _args = adapter.match(parts.path, method="POST")
    except HTTPException:
        return []
    if endpoint not in JOB_BUTTONS:
        return []
    limit = None if endpoint in EVERY_ONE else PER_ENDPOINT
    counted = "POST " + endpoint
    if limit is not None and counts.get(counted, 0) >= limit:
        return []
    counts[counted] = counts.get(counted, 0) + 1
    pressed.add(key)
    job_id = job_id_of(client.post(action))
    run_jobs(app)
    return [f"/jobs/{job_id}", f"/jobs/{job_id}.json", f"/jobs/{job_id}/download", action]


def _follow(
    adapter: Any, base: str, href: str, counts: dict[str, int], queued: set[str]
) -> str | None:
    parts = urlsplit(urljoin(base, href))
    if parts.scheme not in ("", "http") or parts.netloc not in ("", "localhost"):
        return None
    url = parts.path + (f"?{parts.query}" if parts.query else "")
    if url in queued:
        return None
    try:
        endpoint, _args = adapter.match(parts.path, method="GET")
    except HTTPException:
        return None
    if endpoint in NOT_FOLLOWED or endpoint.startswith("api."):
        return None
    limit = None if endpoint in EVERY_ONE else PER_ENDPOINT
    if limit is not None and counts.get(endpoint, 0) >= limit:
        return None
    counts[endpoint] = counts.get(endpoint, 0) + 1
    return url
