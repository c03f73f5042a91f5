"""The API's routes for staffing: the roster, stays on site and duty lists.

Each calls the service the staffing pages call (`office.staffing.services`), under the page's
permission (schedulers write; everyone who may see staffing reads), so a stay sent by another
system is refused or saved exactly as one entered on the person's page. The broken rules
themselves are `GET /staffing/violations` (office.api.views).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, TypeVar

from flask import Response, request, url_for
from flask_login import current_user
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from office import inputs
from office.api import schemas
from office.api import staffing_schemas as shapes
from office.api.idempotency import commit
from office.api.jobs import ask_job
from office.api.views import (
    MAX_ID,
    InvalidRequest,
    _errors,
    _get,
    bp,
    found,
    invalid,
    parse_body,
    respond,
)
from office.auth.access import permission_required
from office.auth.permissions import Permission
from office.db import db, utcnow
from office.errors import NotFoundError, problem
from office.i18n import _, current_locale_code, office_date
from office.jobs import services as job_services
from office.jobs.models import Job
from office.staffing import jobs as plan_jobs
from office.staffing import labels, queries, services
from office.staffing.models import (
    Category,
    CrossingStatus,
    DutyShift,
    PlanProposal,
    Shift,
    Side,
    StaffingRule,
    StaffMember,
    Stay,
)

MAX_PAGE = 500
# The longest stretch of days one duty listing covers, as for the violations.
MAX_DUTY_DAYS = 366


def person_out(person: StaffMember) -> shapes.PersonOut:
    return shapes.PersonOut(
        id=person.id,
        name_ko=person.name_ko,
        name_latin=person.name_latin,
        side=person.side,
        category=person.category,
        agency=person.agency,
        position=person.position,
        is_duty_qualified=person.is_duty_qualified,
        active_from=person.active_from,
        active_until=person.active_until,
    )


def _stay_shape(stay: Stay, long_stay: queries.LongStay | None) -> shapes.StayOut:
    return shapes.StayOut(
        id=stay.id,
        person_id=stay.staff_member_id,
        person=stay.person.name_ko,
        side=stay.person.side,
        first_day=stay.first_day,
        last_day=stay.last_day,
        days=stay.days,
        is_pinned=stay.is_pinned,
        note=stay.note,
        created_at=stay.created_at,
        long_stay=str(long_stay.message) if long_stay is not None else None,
    )


def stays_out(stays: list[Stay]) -> list[shapes.StayOut]:
    """The stays as the API shows them, each with its side's warning if it is too long."""
    long: dict[int, dict[int, queries.LongStay]] = {}
    for stay in stays:
        if stay.staff_member_id not in long:
            long[stay.staff_member_id] = queries.long_stays(db.session, stay.person)
    return [_stay_shape(stay, long[stay.staff_member_id].get(stay.id)) for stay in stays]


def stay_out(stay: Stay) -> shapes.StayOut:
    return stays_out([stay])[0]


class _Query(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


Q = TypeVar("Q", bound=_Query)


def _query(model: type[Q]) -> Q:
    args = {key: value for key, value in request.args.items() if value != ""}
    try:
        return model.model_validate(args)
    except ValidationError as exc:
        raise InvalidRequest(422, _("Some parameters are not valid."), _errors(exc)) from None


def _check_range(start: date | None, end: date | None) -> None:
    if start is not None and end is not None and end < start:
        raise invalid(
            "to",
            _(
                "The end (%(end)s) is before the start (%(start)s).",
                end=end.isoformat(),
                start=start.isoformat(),
            ),
        )


# --- the roster ---------------------------------------------------------------------------


class PeopleQuery(_Query):
    side: Side | None = None


@bp.get("/staffing/people")
@permission_required(Permission.VIEW_STAFFING)
def staff_people() -> Response:
    query = _query(PeopleQuery)
    statement = select(StaffMember)
    if query.side is not None:
        statement = statement.where(StaffMember.side == query.side)
    people = db.session.scalars(
        statement.order_by(
            StaffMember.side, StaffMember.category, StaffMember.name_ko, StaffMember.id
        )
    )
    return respond(shapes.PersonList(items=[person_out(person) for person in people]))


def _person_input(body: shapes.PersonIn) -> services.PersonInput:
    return services.PersonInput(
        name_ko=body.name_ko,
        name_latin=body.name_latin,
        side=body.side,
        category=body.category,
        agency=body.agency,
        position=body.position,
        is_duty_qualified=body.is_duty_qualified,
        active_from=body.active_from,
        active_until=body.active_until,
    )


@bp.post("/staffing/people")
@permission_required(Permission.MANAGE_STAFFING)
def add_staff_person() -> Response:
    body = parse_body(shapes.PersonIn)
    person = services.save_person(db.session, _person_input(body), actor=current_user, now=utcnow())
    location = url_for("api.staff_person", person_id=person.id)
    return commit(respond(person_out(person), 201, location))


@bp.get("/staffing/people.csv")
@permission_required(Permission.VIEW_STAFFING)
def staff_people_csv() -> Response:
    """The roster as the page exports it: the columns the import reads."""
    return Response(
        "\ufeff" + services.export_roster(db.session),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="roster.csv"'},
    )


@bp.post("/staffing/people/import")
@permission_required(Permission.MANAGE_STAFFING)
def import_staff_people() -> Response:
    """Add everyone a roster CSV lists, or nobody: a refusal lists every line refused."""
    body = parse_body(shapes.RosterImportIn)
    try:
        added = services.import_roster(
            db.session, body.csv.encode("utf-8"), actor=current_user, now=utcnow()
        )
    except services.RosterImportError as exc:
        db.session.rollback()
        lines = [schemas.RejectedLine(line=line, message=message) for line, message in exc.errors]
        return problem(
            422,
            str(exc),
            errors={"csv": [str(exc)]},
            rejected_lines=[line.model_dump(mode="json") for line in lines],
        )
    answer = shapes.PersonList(items=[person_out(person) for person in added])
    return commit(respond(answer, 201, url_for("api.staff_people")))


def _person_or_404(person_id: int) -> StaffMember:
    return found(
        StaffMember, person_id, _("No person on the roster has the id %(id)d.", id=person_id)
    )


@bp.get("/staffing/people/<int:person_id>")
@permission_required(Permission.VIEW_STAFFING)
def staff_person(person_id: int) -> Response:
    return respond(person_out(_person_or_404(person_id)))


@bp.post("/staffing/people/<int:person_id>")
@permission_required(Permission.MANAGE_STAFFING)
def change_staff_person(person_id: int) -> Response:
    person = _person_or_404(person_id)
    body = parse_body(shapes.PersonIn)
    services.save_person(
        db.session, _person_input(body), actor=current_user, now=utcnow(), person=person
    )
    return commit(respond(person_out(person)))


def feed_out(person: StaffMember) -> shapes.FeedOut:
    return shapes.FeedOut(
        person_id=person.id,
        feed_url=url_for("staffing.feed", token=person.feed_token, _external=True),
    )


@bp.get("/staffing/people/<int:person_id>/feed")
@permission_required(Permission.MANAGE_STAFFING)
def staff_person_feed(person_id: int) -> Response:
    """The person's calendar link, as their page shows it to schedulers."""
    return respond(feed_out(_person_or_404(person_id)))


@bp.post("/staffing/people/<int:person_id>/feed")
@permission_required(Permission.MANAGE_STAFFING)
def renew_staff_person_feed(person_id: int) -> Response:
    """Make the person a new calendar link; the old one stops working."""
    person = _person_or_404(person_id)
    services.renew_feed_token(db.session, person, actor=current_user, now=utcnow())
    return commit(respond(feed_out(person)))


def _person(person_id: int, field: str) -> StaffMember:
    person = _get(StaffMember, person_id)
    if person is None:
        raise invalid(field, _("No person on the roster has the id %(id)d.", id=person_id))
    return person


# --- stays --------------------------------------------------------------------------------


class StayQuery(_Query):
    side: Side | None = None
    person_id: Annotated[schemas.QueryInt, Field(ge=1, le=MAX_ID)] | None = None
    date_from: Annotated[schemas.IsoDate | None, Field(alias="from")] = None
    date_to: Annotated[schemas.IsoDate | None, Field(alias="to")] = None
    # The id of the last page's last item: an id, within the database's integers.
    cursor: Annotated[schemas.QueryInt, Field(ge=1, le=MAX_ID)] | None = None
    limit: Annotated[schemas.QueryInt, Field(ge=1, le=MAX_PAGE)] = 100


@bp.get("/staffing/stays")
@permission_required(Permission.VIEW_STAFFING)
def staff_stays() -> Response:
    """Stays, newest recorded first, a page at a time (keyset on the id)."""
    query = _query(StayQuery)
    _check_range(query.date_from, query.date_to)
    statement = select(Stay).options(selectinload(Stay.person))
    if query.side is not None:
        on_side = select(StaffMember.id).where(StaffMember.side == query.side)
        statement = statement.where(Stay.staff_member_id.in_(on_side))
    if query.person_id is not None:
        statement = statement.where(Stay.staff_member_id == query.person_id)
    if query.date_from is not None:
        statement = statement.where(Stay.last_day >= query.date_from)
    if query.date_to is not None:
        statement = statement.where(Stay.first_day <= query.date_to)
    if query.cursor is not None:
        statement = statement.where(Stay.id < int(query.cursor))
    found = list(db.session.scalars(statement.order_by(Stay.id.desc()).limit(query.limit + 1)))
    more = len(found) > query.limit
    found = found[: query.limit]
    cursor = str(found[-1].id) if more and found else None
    return respond(shapes.StayPage(items=stays_out(found), next_cursor=cursor))


def _stay_or_404(stay_id: int) -> Stay:
    return found(Stay, stay_id, _("No stay has the id %(id)d.", id=stay_id))


@bp.get("/staffing/stays/<int:stay_id>")
@permission_required(Permission.VIEW_STAFFING)
def staff_stay(stay_id: int) -> Response:
    return respond(stay_out(_stay_or_404(stay_id)))


@bp.post("/staffing/stays")
@permission_required(Permission.MANAGE_STAFFING)
def add_staff_stay() -> Response:
    body = parse_body(shapes.StayIn)
    stay = services.add_stay(
        db.session,
        _person(body.person_id, "person_id"),
        body.first_day,
        body.last_day,
        pinned=body.is_pinned,
        note=body.note,
        actor=current_user,
        now=utcnow(),
    )
    location = url_for("api.staff_stay", stay_id=stay.id)
    return commit(respond(stay_out(stay), 201, location))


@bp.post("/staffing/stays/<int:stay_id>")
@permission_required(Permission.MANAGE_STAFFING)
def change_staff_stay(stay_id: int) -> Response:
    stay = _stay_or_404(stay_id)
    body = parse_body(shapes.StayChangeIn)
    # What the body leaves out is kept as the stay is once this request holds its side (the
    # order the services lock in): not as it was read before another change committed.
    services.lock_sides(db.session, stay.person.side)
    fresh = db.session.scalar(
        select(Stay)
        .where(Stay.id == stay_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if fresh is None:
        raise NotFoundError(_("No stay has the id %(id)d.", id=stay_id))
    services.change_stay(
        db.session,
        fresh,
        body.first_day if body.first_day is not None else fresh.first_day,
        body.last_day if body.last_day is not None else fresh.last_day,
        pinned=body.is_pinned if body.is_pinned is not None else fresh.is_pinned,
        note=body.note if body.note is not None else fresh.note,
        actor=current_user,
        now=utcnow(),
    )
    return commit(respond(stay_out(fresh)))


@bp.post("/staffing/stays/<int:stay_id>/removal")
@permission_required(Permission.MANAGE_STAFFING)
def remove_staff_stay(stay_id: int) -> Response:
    stay = _stay_or_404(stay_id)
    services.remove_stay(db.session, stay, actor=current_user, now=utcnow())
    # As the service read it once it held the side: the stay removed, not one read before.
    return commit(respond(_stay_shape(stay, None)))


# --- the sides' rules ---------------------------------------------------------------------


def rules_out(rule: StaffingRule) -> shapes.RulesOut:
    return shapes.RulesOut(
        side=rule.side,
        weekday_min=rule.weekday_min,
        weekend_min=rule.weekend_min,
        max_headcount=rule.max_headcount,
        counted_categories=[Category(c) for c in rule.counted_categories],
        min_night_duty=rule.min_night_duty,
        max_consecutive_days=rule.max_consecutive_days,
        min_stay_days=rule.min_stay_days,
        min_rest_days=rule.min_rest_days,
        crossing_weekdays=list(rule.crossing_weekdays),
        max_crossings_per_month=rule.max_crossings_per_month,
        applies_from=rule.applies_from,
    )


def _rules_or_404(side: str) -> StaffingRule:
    rule = next(
        (rule for chosen, rule in services.rules_by_side(db.session).items() if chosen == side),
        None,
    )
    if rule is None:
        raise NotFoundError(
            _("There are rules for the south and the north only, not %(side)s.", side=side[:20])
        )
    return rule


@bp.get("/staffing/rules")
@permission_required(Permission.VIEW_STAFFING)
def staffing_rules() -> Response:
    rules = sorted(services.rules_by_side(db.session).values(), key=lambda rule: rule.id)
    return respond(shapes.RulesList(items=[rules_out(rule) for rule in rules]))


@bp.get("/staffing/rules/<side>")
@permission_required(Permission.VIEW_STAFFING)
def staffing_side_rules(side: str) -> Response:
    return respond(rules_out(_rules_or_404(side)))


@bp.post("/staffing/rules/<side>")
@permission_required(Permission.MANAGE_STAFFING)
def save_staffing_rules(side: str) -> Response:
    rule = _rules_or_404(side)
    body = parse_body(shapes.RulesIn)
    services.update_rules(
        db.session,
        rule,
        weekday_min=body.weekday_min,
        weekend_min=body.weekend_min,
        max_headcount=body.max_headcount,
        counted_categories=[category.value for category in body.counted_categories],
        min_night_duty=body.min_night_duty,
        max_consecutive_days=body.max_consecutive_days,
        min_stay_days=body.min_stay_days,
        min_rest_days=body.min_rest_days,
        crossing_weekdays=body.crossing_weekdays,
        max_crossings_per_month=body.max_crossings_per_month,
        applies_from=body.applies_from,
        actor=current_user,
        now=utcnow(),
    )
    return commit(respond(rules_out(rule)))


# --- crossing name lists ------------------------------------------------------------------


class CrossingMonthQuery(_Query):
    month: Annotated[str, Field(pattern=inputs.MONTH_PATTERN)] | None = None


def _crossing_day(day: str) -> date:
    when = inputs.day_from(day)
    if when is None:
        raise NotFoundError(_("There is no day %(day)s; write it YYYY-MM-DD.", day=day[:20]))
    return when


def crossing_list_out(day: date) -> shapes.CrossingListOut:
    crossings = services.crossings_on(db.session, day)
    row = services.crossing_list(db.session, day)

    def people(listed: list[StaffMember]) -> list[shapes.CrossingPersonOut]:
        return [
            shapes.CrossingPersonOut(
                person_id=p.id,
                name_ko=p.name_ko,
                name_latin=p.name_latin,
                agency=p.agency,
                position=p.position,
            )
            for p in listed
        ]

    return shapes.CrossingListOut(
        day=day,
        status=row.status if row is not None else CrossingStatus.DRAFT,
        sent_at=row.sent_at if row is not None else None,
        accepted_at=row.accepted_at if row is not None else None,
        north=people(crossings.north),
        south=people(crossings.south),
    )


@bp.get("/staffing/crossings")
@permission_required(Permission.VIEW_STAFFING)
def crossing_month() -> Response:
    """A month's crossing lists (this month's by default), as the crossings page shows them."""
    query = _query(CrossingMonthQuery)
    first = inputs.month_from(query.month) if query.month else None
    if query.month and first is None:
        raise invalid("month", _("Choose a month written YYYY-MM, e.g. 2018-10."))
    month = queries.crossing_month(db.session, first or office_date(utcnow()).replace(day=1))
    return respond(
        shapes.CrossingMonthOut(
            month=month.first.strftime("%Y-%m"),
            north=month.north,
            south=month.south,
            days=[
                shapes.CrossingDayOut(
                    day=day.day,
                    north=day.north,
                    south=day.south,
                    status=day.status,
                    sent_at=day.sent_at,
                    accepted_at=day.accepted_at,
                )
                for day in month.days
            ],
        )
    )


@bp.get("/staffing/crossings/<day>")
@permission_required(Permission.VIEW_STAFFING)
def crossing_list(day: str) -> Response:
    """A day's name list, as the printable list shows it, and where it stands."""
    return respond(crossing_list_out(_crossing_day(day)))


@bp.get("/staffing/crossings/<day>.csv")
@permission_required(Permission.VIEW_STAFFING)
def crossing_list_csv(day: str) -> Response:
    when = _crossing_day(day)
    return Response(
        "\ufeff" + services.crossings_csv(services.crossings_on(db.session, when)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="crossing-{when}.csv"'},
    )


@bp.post("/staffing/crossings/<day>/status")
@permission_required(Permission.MANAGE_STAFFING)
def mark_crossing_list(day: str) -> Response:
    when = _crossing_day(day)
    body = parse_body(shapes.CrossingStatusIn)
    services.mark_crossing_list(
        db.session, when, CrossingStatus(body.status), actor=current_user, now=utcnow()
    )
    return commit(respond(crossing_list_out(when)))


# --- the planner --------------------------------------------------------------------------


def plan_job_out(job: Job) -> shapes.PlanJobOut:
    detail = job.detail or {}
    done = (job.result or {}).get("values", {}).get("proposal_id")
    return shapes.PlanJobOut(
        id=job.id,
        state=job.state.value,
        finished=job.is_finished,
        percent=job.percent,
        stage=job.stage,
        solutions=detail.get("solutions"),
        objective=detail.get("objective"),
        gap=detail.get("gap"),
        crossings=detail.get("crossings"),
        error=job.error,
        url=url_for("api.plan_job", job_id=job.id),
        proposal_url=url_for("api.plan_proposal", proposal_id=done) if done else None,
    )


@bp.post("/staffing/plans")
@permission_required(Permission.MANAGE_STAFFING)
def ask_for_plan() -> Response:
    """Ask a worker to search for a plan, as the planner page does: 202 with the job to
    follow (the caller's same search still under way, if any)."""
    body = parse_body(shapes.PlanIn)
    services.check_plan_period(body.first_day, body.days)
    params = {
        "side": body.side.value,
        "first_day": body.first_day.isoformat(),
        "days": body.days,
        "locale": current_locale_code(),
    }
    return ask_job(
        plan_jobs.KIND,
        params,
        lambda job: respond(plan_job_out(job), 202, url_for("api.plan_job", job_id=job.id)),
    )


@bp.get("/staffing/plan-jobs/<int:job_id>")
@permission_required(Permission.MANAGE_STAFFING)
def plan_job(job_id: int) -> Response:
    job = db.session.get(Job, job_id) if 0 < job_id <= MAX_ID else None
    if job is None or job.kind != plan_jobs.KIND or not job_services.may_see(current_user, job):
        raise NotFoundError(_("You have no planner job with the id %(id)d.", id=job_id))
    return respond(plan_job_out(job))


def proposal_out(proposal: PlanProposal) -> shapes.ProposalOut:
    return shapes.ProposalOut(
        id=proposal.id,
        side=proposal.side,
        first_day=proposal.first_day,
        last_day=proposal.last_day,
        status=proposal.status,
        summary=labels.planner_summary(proposal.objective),
        created_at=proposal.created_at,
        decided_at=proposal.decided_at,
        changes=[
            shapes.PersonChangeOut(
                person_id=change.person.id,
                person=change.person.name_ko,
                added=[[first, last] for first, last in change.added],
                removed=[[first, last] for first, last in change.removed],
                nights_before=change.nights_before,
                nights_after=change.nights_after,
            )
            for change in queries.proposal_diff(db.session, proposal)
        ],
    )


@bp.get("/staffing/plans")
@permission_required(Permission.MANAGE_STAFFING)
def plan_proposals() -> Response:
    """The ten newest proposals, as the planner page lists them."""
    recent = db.session.scalars(
        select(PlanProposal)
        .order_by(PlanProposal.created_at.desc(), PlanProposal.id.desc())
        .limit(10)
    )
    return respond(
        shapes.ProposalList(
            items=[
                shapes.ProposalSummaryOut(
                    id=p.id,
                    side=p.side,
                    first_day=p.first_day,
                    last_day=p.last_day,
                    status=p.status,
                    summary=labels.planner_summary(p.objective),
                    created_at=p.created_at,
                )
                for p in recent
            ]
        )
    )


def _proposal_or_404(proposal_id: int) -> PlanProposal:
    return found(PlanProposal, proposal_id, _("No proposal has the id %(id)d.", id=proposal_id))


@bp.get("/staffing/plans/<int:proposal_id>")
@permission_required(Permission.MANAGE_STAFFING)
def plan_proposal(proposal_id: int) -> Response:
    return respond(proposal_out(_proposal_or_404(proposal_id)))


@bp.post("/staffing/plans/<int:proposal_id>/accept")
@permission_required(Permission.MANAGE_STAFFING)
def accept_plan(proposal_id: int) -> Response:
    proposal = _proposal_or_404(proposal_id)
    services.accept_proposal(db.session, proposal, actor=current_user, now=utcnow())
    return commit(respond(proposal_out(proposal)))


@bp.post("/staffing/plans/<int:proposal_id>/discard")
@permission_required(Permission.MANAGE_STAFFING)
def discard_plan(proposal_id: int) -> Response:
    proposal = _proposal_or_404(proposal_id)
    services.discard_proposal(db.session, proposal, actor=current_user, now=utcnow())
    return commit(respond(proposal_out(proposal)))


# --- duty ---------------------------------------------------------------------------------


class DutyQuery(_Query):
    date_from: Annotated[schemas.IsoDate, Field(alias="from")]
    date_to: Annotated[schemas.IsoDate, Field(alias="to")]
    side: Side | None = None
    shift: Shift | None = None


def duty_out(duties: list[DutyShift]) -> shapes.DutyList:
    return shapes.DutyList(
        items=[
            shapes.DutyOut(
                day=duty.duty_on,
                side=duty.person.side,
                shift=duty.shift,
                person_id=duty.staff_member_id,
                person=duty.person.name_ko,
            )
            for duty in duties
        ]
    )


def _duties(start: date, end: date, side: Side | None, shift: Shift | None) -> list[DutyShift]:
    statement = (
        select(DutyShift)
        .join(StaffMember, StaffMember.id == DutyShift.staff_member_id)
        .where(DutyShift.duty_on >= start, DutyShift.duty_on <= end)
        .options(selectinload(DutyShift.person))
    )
    if side is not None:
        statement = statement.where(StaffMember.side == side)
    if shift is not None:
        statement = statement.where(DutyShift.shift == shift)
    ordered = statement.order_by(
        DutyShift.duty_on, StaffMember.side, DutyShift.shift, StaffMember.name_ko, DutyShift.id
    )
    return list(db.session.scalars(ordered))


@bp.get("/staffing/duty")
@permission_required(Permission.VIEW_STAFFING)
def staff_duty() -> Response:
    query = _query(DutyQuery)
    _check_range(query.date_from, query.date_to)
    if (query.date_to - query.date_from).days >= MAX_DUTY_DAYS:
        raise invalid("to", _("Ask for at most %(n)d days at a time.", n=MAX_DUTY_DAYS))
    return respond(duty_out(_duties(query.date_from, query.date_to, query.side, query.shift)))


@bp.post("/staffing/duty")
@permission_required(Permission.MANAGE_STAFFING)
def set_staff_duty() -> Response:
    body = parse_body(shapes.DutyIn)
    wanted = set(body.people)
    found = {
        person.id: person
        for person in db.session.scalars(select(StaffMember).where(StaffMember.id.in_(wanted)))
    }
    for index, person_id in enumerate(body.people):
        if person_id not in found:
            raise invalid(
                f"people.{index}", _("No person on the roster has the id %(id)d.", id=person_id)
            )
    # Each person once, however often named (as the day's page sends a ticked box once).
    people = [found[person_id] for person_id in dict.fromkeys(body.people)]
    services.set_duty(
        db.session,
        body.day,
        body.side,
        body.shift,
        people,
        actor=current_user,
        now=utcnow(),
    )
    return commit(respond(duty_out(_duties(body.day, body.day, body.side, body.shift))))
