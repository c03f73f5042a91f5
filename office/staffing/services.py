"""Rules for staffing: the roster, stays and duty (hard rules refuse a save), crossing name
lists, the sides' rules, person-days, and accepting a planner's proposal."""

from __future__ import annotations

import csv
import io
from calendar import monthrange
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from office import exports
from office.alerts.models import NoticeKind
from office.alerts.services import raise_notice
from office.audit.services import record_event
from office.auth.models import User
from office.errors import ConflictError, InvalidInput, NotFoundError
from office.i18n import _l, _ln, label
from office.inputs import FIRST_DAY, LAST_DAY, check_day, date_from, text_error
from office.staffing import checks
from office.staffing import labels as _labels  # noqa: F401 (registers the on-screen names)
from office.staffing.models import (
    ALL_WEEKDAYS,
    Category,
    CrossingList,
    CrossingStatus,
    DutyShift,
    PlanProposal,
    Position,
    ProposalStatus,
    Shift,
    Side,
    StaffingRule,
    StaffMember,
    Stay,
    new_feed_token,
)

if TYPE_CHECKING:
    from office.staffing.planner import ProgressHook

EARLIEST = FIRST_DAY
LATEST = LAST_DAY
MAX_PLAN_DAYS = 92
IMPORT_MAX_ROWS = 20_000
ROSTER_COLUMNS = (
    "name_ko",
    "name_latin",
    "side",
    "category",
    "agency",
    "position",
    "duty_qualified",
    "active_from",
    "active_until",
)
REQUIRED_COLUMNS = ("name_ko", "side", "category", "position", "active_from")


def _check_date(value: date | None, field: str) -> None:
    check_day(value, field)


# --- the sides' rules ---------------------------------------------------------------------


def rules_by_side(session: Session) -> dict[Side, StaffingRule]:
    return {rule.side: rule for rule in session.scalars(select(StaffingRule))}


def side_rules(rule: StaffingRule) -> checks.SideRules:
    return checks.SideRules(
        side=rule.side,
        weekday_min=rule.weekday_min,
        weekend_min=rule.weekend_min,
        max_headcount=rule.max_headcount,
        counted_categories=frozenset(Category(c) for c in rule.counted_categories),
        min_night_duty=rule.min_night_duty,
        max_consecutive_days=rule.max_consecutive_days,
        min_rest_days=rule.min_rest_days,
        applies_from=rule.applies_from,
        min_stay_days=rule.min_stay_days,
        crossing_weekdays=frozenset(rule.crossing_weekdays),
        max_crossings_per_month=rule.max_crossings_per_month,
    )


def update_rules(
    session: Session,
    rule: StaffingRule,
    *,
    weekday_min: int,
    weekend_min: int,
    max_headcount: int,
    counted_categories: list[str],
    min_night_duty: int,
    max_consecutive_days: int,
    min_stay_days: int,
    min_rest_days: int,
    crossing_weekdays: Iterable[int],
    max_crossings_per_month: int | None,
    applies_from: date | None = None,
    actor: User | None,
    now: datetime,
) -> StaffingRule:
    """Change one side's rules; raise InvalidInput when they contradict each other.

    `crossing_weekdays` are the days of the week people may arrive or leave, as
    `date.weekday()` counts them; `max_crossings_per_month` None sets no cap."""
    lock_sides(session, rule.side)
    if not 0 <= max_headcount <= 500:
        raise InvalidInput(_l("The maximum headcount is between 0 and 500."), "max_headcount")
    for value, field in ((weekday_min, "weekday_min"), (weekend_min, "weekend_min")):
        if not 0 <= value <= max_headcount:
            raise InvalidInput(
                _l(
                    "A minimum is between 0 and the maximum headcount (%(max)d).", max=max_headcount
                ),
                field,
            )
    categories = sorted({Category(c).value for c in counted_categories})
    if not categories:
        raise InvalidInput(_l("Choose at least one category to count."), "counted_categories")
    if not 0 <= min_night_duty <= 50:
        raise InvalidInput(_l("Night duty officers: between 0 and 50."), "min_night_duty")
    if not 1 <= max_consecutive_days <= 366:
        raise InvalidInput(_l("Consecutive days: between 1 and 366."), "max_consecutive_days")
    if not 1 <= min_stay_days <= 366:
        raise InvalidInput(_l("Shortest stay: between 1 and 366 days."), "min_stay_days")
    if min_stay_days > max_consecutive_days:
        raise InvalidInput(
            _l(
                "The shortest stay (%(min)d days) is longer than the longest (%(max)d days in a "
                "row).",
                min=min_stay_days,
                max=max_consecutive_days,
            ),
            "min_stay_days",
        )
    if not 0 <= min_rest_days <= 60:
        raise InvalidInput(_l("Rest days: between 0 and 60."), "min_rest_days")
    weekdays = sorted(set(crossing_weekdays))
    if not weekdays or not set(weekdays) <= set(ALL_WEEKDAYS):
        raise InvalidInput(
            _l("Choose at least one day of the week on which people may cross."),
            "crossing_weekdays",
        )
    if max_crossings_per_month is not None and not 1 <= max_crossings_per_month <= 62:
        raise InvalidInput(
            _l("Crossings a month: between 1 and 62, or blank for no limit."),
            "max_crossings_per_month",
        )
    rule.weekday_min, rule.weekend_min, rule.max_headcount = (
        weekday_min,
        weekend_min,
        max_headcount,
    )
    rule.counted_categories = categories
    rule.min_night_duty, rule.max_consecutive_days, rule.min_rest_days = (
        min_night_duty,
        max_consecutive_days,
        min_rest_days,
    )
    rule.min_stay_days, rule.crossing_weekdays, rule.max_crossings_per_month = (
        min_stay_days,
        weekdays,
        max_crossings_per_month,
    )
    if applies_from is not None:
        _check_date(applies_from, "applies_from")
        rule.applies_from = applies_from
    session.flush()
    record_event(
        session,
        "staffing.rules_changed",
        actor=actor,
        target=rule,
        at=now,
        side=rule.side.value,
        weekday_min=weekday_min,
        weekend_min=weekend_min,
        max_headcount=max_headcount,
        counted=categories,
        night=min_night_duty,
        consecutive=max_consecutive_days,
        shortest=min_stay_days,
        rest=min_rest_days,
        crossing_weekdays=weekdays,
        monthly_crossings=max_crossings_per_month,
    )
    return rule


# --- the roster ---------------------------------------------------------------------------


def _duplicate_key(side: Side, name_ko: str, name_latin: str) -> tuple[str, str, str]:
    return side.value, name_ko.strip(), name_latin.strip().casefold()


@dataclass(frozen=True)
class PersonInput:
    name_ko: str
    name_latin: str
    side: Side
    category: Category
    agency: str
    position: Position
    is_duty_qualified: bool
    active_from: date
    active_until: date | None


def _check_person(data: PersonInput) -> None:
    for text, field in (
        (data.name_ko, "name_ko"),
        (data.name_latin, "name_latin"),
        (data.agency, "agency"),
    ):
        problem = text_error(text)
        if problem is not None:
            raise InvalidInput(problem, field)
    if not data.name_ko.strip() or len(data.name_ko.strip()) > 60:
        raise InvalidInput(_l("Enter the name in Korean (at most 60 characters)."), "name_ko")
    if len(data.name_latin.strip()) > 100:
        raise InvalidInput(
            _l("The name in Latin letters has at most 100 characters."), "name_latin"
        )
    if data.side is Side.SOUTH and not data.name_latin.strip():
        raise InvalidInput(_l("Enter the name in Latin letters, as in the passport."), "name_latin")
    if len(data.agency.strip()) > 100:
        raise InvalidInput(_l("The agency has at most 100 characters."), "agency")
    _check_date(data.active_from, "active_from")
    _check_date(data.active_until, "active_until")
    if data.active_until is not None and data.active_until < data.active_from:
        raise InvalidInput(
            _l(
                "Active until (%(end)s) cannot be before active from (%(start)s).",
                end=data.active_until.isoformat(),
                start=data.active_from.isoformat(),
            ),
            "active_until",
        )


def save_person(
    session: Session,
    data: PersonInput,
    *,
    actor: User | None,
    now: datetime,
    person: StaffMember | None = None,
) -> StaffMember:
    """Add a person to a side's roster, or change `person`; refuse duplicates."""
    _check_person(data)
    name_ko, name_latin = data.name_ko.strip(), data.name_latin.strip()
    lock_sides(session, data.side, *([person.side] if person is not None else []))
    if person is not None:
        session.refresh(person, with_for_update=True)
    same_name = session.scalars(
        select(StaffMember).where(StaffMember.side == data.side, StaffMember.name_ko == name_ko)
    )
    key = _duplicate_key(data.side, name_ko, name_latin)
    for other in same_name:
        if (
            other is not person
            and _duplicate_key(other.side, other.name_ko, other.name_latin) == key
        ):
            raise InvalidInput(
                _l("%(name)s is already on the roster of this side.", name=name_ko), "name_ko"
            )
    if person is not None and person.stays:
        outside = [
            s
            for s in person.stays
            if s.first_day < data.active_from
            or (data.active_until is not None and s.last_day > data.active_until)
        ]
        if outside:
            raise ConflictError(
                _l(
                    "%(name)s has a stay from %(first)s to %(last)s outside the active dates.",
                    name=name_ko,
                    first=outside[0].first_day.isoformat(),
                    last=outside[0].last_day.isoformat(),
                ),
                "active_from",
            )
    if person is None:
        person = StaffMember(feed_token=new_feed_token())
        session.add(person)
    person.name_ko, person.name_latin = name_ko, name_latin
    person.side, person.category, person.position = data.side, data.category, data.position
    person.agency, person.is_duty_qualified = data.agency.strip(), data.is_duty_qualified
    person.active_from, person.active_until = data.active_from, data.active_until
    session.flush()
    record_event(
        session,
        "staff.saved",
        actor=actor,
        target=person,
        at=now,
        name=name_ko,
        side=data.side.value,
        category=data.category.value,
    )
    return person


def renew_feed_token(
    session: Session, person: StaffMember, *, actor: User | None, now: datetime
) -> str:
    """Give a person a new calendar link; the old one stops working."""
    person.feed_token = new_feed_token()
    session.flush()
    record_event(session, "staff.feed_renewed", actor=actor, target=person, at=now)
    return person.feed_token


class RosterImportError(InvalidInput):
    """The CSV file has errors; `errors` lists them as (line number, message)."""

    def __init__(self, errors: list[tuple[int, str]]) -> None:
        super().__init__(
            _ln(
                "The file has %(num)d error; nothing was imported.",
                "The file has %(num)d errors; nothing was imported.",
                len(errors),
            ),
            "file",
        )
        self.errors = errors


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp949"):  # cp949 is the superset of EUC-KR Windows writes
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise RosterImportError([(0, str(_l("The file is neither UTF-8 nor EUC-KR text.")))])


def _parse_date(text: str, field: str) -> date | None:
    if not text:
        return None
    value = date_from(text)
    if value is None:
        raise InvalidInput(
            _l(
                "%(field)s: %(value)s is not a date written YYYY-MM-DD.",
                field=field,
                value=text[:20],
            ),
            field,
        )
    return value


def _parse_choice(enum: Any, text: str, field: str) -> Any:
    try:
        return enum(text)
    except ValueError:
        choices = ", ".join(member.value for member in enum)
        raise InvalidInput(
            _l(
                "%(field)s: %(value)s is not one of %(choices)s.",
                field=field,
                value=text[:30],
                choices=choices,
            ),
            field,
        ) from None


def _row_input(row: dict[str, str]) -> PersonInput:
    # A cell our export made inert (a name starting with "=") reads back as it was.
    value = {key: exports.restore((row.get(key) or "").strip()) for key in ROSTER_COLUMNS}
    for key, text in value.items():
        problem = text_error(text)
        if problem is not None:
            raise InvalidInput(f"{key}: {problem}", key)
    qualified = value["duty_qualified"].lower()
    if qualified not in ("", "yes", "no", "true", "false", "1", "0", "y", "n"):
        raise InvalidInput(_l("duty_qualified: write yes or no."), "duty_qualified")
    active_from = _parse_date(value["active_from"], "active_from")
    if active_from is None:
        raise InvalidInput(_l("active_from is required."), "active_from")
    data = PersonInput(
        name_ko=value["name_ko"],
        name_latin=value["name_latin"],
        side=_parse_choice(Side, value["side"], "side"),
        category=_parse_choice(Category, value["category"], "category"),
        agency=value["agency"],
        position=_parse_choice(Position, value["position"], "position"),
        is_duty_qualified=qualified in ("yes", "true", "1", "y"),
        active_from=active_from,
        active_until=_parse_date(value["active_until"], "active_until"),
    )
    _check_person(data)
    return data


def _rows(
    reader: csv.DictReader[str], errors: list[tuple[int, str]]
) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield each row of `reader` with its line number; stop at a line the csv module cannot
    read (a field past its limit of 131,072 characters), adding it to `errors`."""
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error:
            errors.append(
                (
                    reader.line_num,
                    str(
                        _l(
                            "This line has a field of more than %(n)s characters, or a quote "
                            "that is never closed.",
                            n=f"{csv.field_size_limit():,}",
                        )
                    ),
                )
            )
            return
        yield reader.line_num, row


def import_roster(
    session: Session, data: bytes, *, actor: User | None, now: datetime
) -> list[StaffMember]:
    """Add every person of a roster CSV (UTF-8 or EUC-KR), or nobody if any row is wrong.

    Raises RosterImportError listing each bad row by its line number.
    """
    reader = csv.DictReader(io.StringIO(_decode(data), newline=""))
    header = [name.strip() for name in (reader.fieldnames or [])]
    missing = [column for column in REQUIRED_COLUMNS if column not in header]
    if missing:
        raise RosterImportError(
            [(1, str(_l("Missing columns: %(columns)s.", columns=", ".join(missing))))]
        )
    reader.fieldnames = header
    lock_sides(session)  # the roster as checked below stays so until this import commits
    existing = {
        _duplicate_key(side, name_ko, name_latin)
        for side, name_ko, name_latin in session.execute(
            select(StaffMember.side, StaffMember.name_ko, StaffMember.name_latin)
        )
    }
    errors: list[tuple[int, str]] = []
    people: list[PersonInput] = []
    seen: dict[tuple[str, str, str], int] = {}
    for line, row in _rows(reader, errors):
        if len(people) + len(errors) >= IMPORT_MAX_ROWS:
            errors.append((line, str(_l("At most %(n)d rows per file.", n=IMPORT_MAX_ROWS))))
            break
        if None in row:
            errors.append((line, str(_l("This row has more fields than the header."))))
            continue
        try:
            person = _row_input(row)
        except InvalidInput as exc:
            errors.append((line, str(exc)))
            continue
        key = _duplicate_key(person.side, person.name_ko, person.name_latin)
        if key in existing:
            errors.append(
                (line, str(_l("%(name)s is already on the roster.", name=person.name_ko)))
            )
        elif key in seen:
            errors.append(
                (
                    line,
                    str(
                        _l(
                            "%(name)s appears twice (also on line %(other)d).",
                            name=person.name_ko,
                            other=seen[key],
                        )
                    ),
                )
            )
        else:
            seen[key] = line
            people.append(person)
    if not people and not errors:
        errors.append((1, str(_l("The file has no rows."))))
    if errors:
        raise RosterImportError(errors)
    added = [
        StaffMember(
            name_ko=p.name_ko.strip(),
            name_latin=p.name_latin.strip(),
            side=p.side,
            category=p.category,
            agency=p.agency.strip(),
            position=p.position,
            is_duty_qualified=p.is_duty_qualified,
            active_from=p.active_from,
            active_until=p.active_until,
            feed_token=new_feed_token(),
        )
        for p in people
    ]
    session.add_all(added)
    session.flush()
    record_event(session, "staff.imported", actor=actor, at=now, rows=len(added))
    return added


def export_roster(session: Session) -> str:
    """Return the roster as CSV with the columns the import reads."""
    out = io.StringIO()
    writer = exports.writer(out)
    writer.writerow(ROSTER_COLUMNS)
    for p in session.scalars(
        select(StaffMember).order_by(StaffMember.side, StaffMember.name_ko, StaffMember.id)
    ):
        writer.writerow(
            [
                p.name_ko,
                p.name_latin,
                p.side.value,
                p.category.value,
                p.agency,
                p.position.value,
                "yes" if p.is_duty_qualified else "no",
                p.active_from.isoformat(),
                p.active_until.isoformat() if p.active_until else "",
            ]
        )
    return out.getvalue()


# --- stays and duty -----------------------------------------------------------------------


def lock_sides(session: Session, *sides: Side) -> None:
    """Lock the rules rows of `sides` (all sides if none is given), in the order of their ids.

    A side's rules row is the root of its staffing (see `office.concurrency`): every change to
    its roster, stays, duty, plans and crossing lists takes it first, so what one change checks
    (an overlap, who is on site, who crosses) holds until it commits.
    """
    query = select(StaffingRule).order_by(StaffingRule.id).with_for_update()
    if sides:
        query = query.where(StaffingRule.side.in_(sides))
    session.scalars(query.execution_options(populate_existing=True)).all()


def _lock_person(session: Session, person: StaffMember) -> StaffMember:
    """Lock a person's side, then the person, read afresh."""
    lock_sides(session, person.side)
    session.refresh(person, with_for_update=True)
    return person


def _lock_stay(session: Session, stay: Stay) -> StaffMember:
    """Lock a stay's side and person, then the stay, read afresh (it may have moved or gone
    while this request waited)."""
    person = _lock_person(session, stay.person)
    fresh = session.scalar(
        select(Stay)
        .where(Stay.id == stay.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if fresh is None:
        raise NotFoundError(_l("This stay was removed meanwhile."))
    return person


def _check_stay(
    session: Session, person: StaffMember, first: date, last: date, ignore: Stay | None = None
) -> None:
    _check_date(first, "first_day")
    _check_date(last, "last_day")
    if last < first:
        raise InvalidInput(
            _l(
                "A stay cannot end (%(last)s) before it starts (%(first)s).",
                last=last.isoformat(),
                first=first.isoformat(),
            ),
            "last_day",
        )
    if first < person.active_from or (person.active_until and last > person.active_until):
        raise InvalidInput(
            _l(
                "%(name)s is on the roster from %(start)s to %(end)s; the stay must fall within.",
                name=person.name_ko,
                start=person.active_from.isoformat(),
                end=person.active_until.isoformat() if person.active_until else "…",
            ),
            "first_day",
        )
    clash = session.scalar(
        select(Stay)
        .where(
            Stay.staff_member_id == person.id,
            Stay.first_day <= last,
            Stay.last_day >= first,
            Stay.id != (ignore.id if ignore is not None and ignore.id else -1),
        )
        .order_by(Stay.first_day, Stay.id)
    )
    if clash is not None:
        raise ConflictError(
            _l(
                "%(name)s already has a stay from %(first)s to %(last)s; stays cannot overlap.",
                name=person.name_ko,
                first=clash.first_day.isoformat(),
                last=clash.last_day.isoformat(),
            ),
            "first_day",
        )


def _duties_outside(
    session: Session, person: StaffMember, first: date, last: date, removed: Stay
) -> None:
    """Refuse to shrink or remove a stay that still has duty on the days it gives up."""
    stray = session.scalar(
        select(DutyShift)
        .where(
            DutyShift.staff_member_id == person.id,
            DutyShift.duty_on >= removed.first_day,
            DutyShift.duty_on <= removed.last_day,
            (DutyShift.duty_on < first) | (DutyShift.duty_on > last),
        )
        .order_by(DutyShift.duty_on)
    )
    if stray is not None:
        raise ConflictError(
            _l(
                "%(name)s has %(shift)s duty on %(date)s; remove the duty first.",
                name=person.name_ko,
                shift=shift_label(stray.shift),
                date=stray.duty_on.isoformat(),
            ),
            "first_day",
        )


def add_stay(
    session: Session,
    person: StaffMember,
    first: date,
    last: date,
    *,
    actor: User | None,
    now: datetime,
    pinned: bool = False,
    note: str = "",
) -> Stay:
    """Record a stay on site; refuse one that overlaps another or falls outside the roster."""
    person = _lock_person(session, person)
    _check_stay(session, person, first, last)
    stay = Stay(
        person=person, first_day=first, last_day=last, is_pinned=pinned, note=note.strip()[:200]
    )
    session.add(stay)
    session.flush()
    _crossings_changed(session, person.side, (first, last), now=now)
    record_event(
        session,
        "stay.added",
        actor=actor,
        target=stay,
        at=now,
        person=person.name_ko,
        first=first.isoformat(),
        last=last.isoformat(),
    )
    return stay


def change_stay(
    session: Session,
    stay: Stay,
    first: date,
    last: date,
    *,
    pinned: bool,
    note: str,
    actor: User | None,
    now: datetime,
) -> Stay:
    """Move a stay's days; refuse an overlap, or giving up days that carry duty."""
    person = _lock_stay(session, stay)
    _check_stay(session, person, first, last, ignore=stay)
    _duties_outside(session, person, first, last, stay)
    changed = (stay.first_day, stay.last_day, first, last)
    stay.first_day, stay.last_day, stay.is_pinned, stay.note = first, last, pinned, note[:200]
    session.flush()
    _crossings_changed(session, person.side, changed, now=now)
    record_event(
        session,
        "stay.changed",
        actor=actor,
        target=stay,
        at=now,
        person=person.name_ko,
        first=first.isoformat(),
        last=last.isoformat(),
    )
    return stay


def remove_stay(session: Session, stay: Stay, *, actor: User | None, now: datetime) -> None:
    """Delete a stay that carries no duty."""
    person = _lock_stay(session, stay)
    _duties_outside(session, person, date.max, date.min, stay)
    days = (stay.first_day, stay.last_day)
    record_event(
        session,
        "stay.removed",
        actor=actor,
        target=stay,
        at=now,
        person=person.name_ko,
        first=stay.first_day.isoformat(),
        last=stay.last_day.isoformat(),
    )
    session.delete(stay)
    session.flush()
    _crossings_changed(session, person.side, days, now=now)


def shift_label(shift: Shift) -> str:
    return str(_l("night") if shift is Shift.NIGHT else _l("day"))


def set_duty(
    session: Session,
    day: date,
    side: Side,
    shift: Shift,
    people: list[StaffMember],
    *,
    actor: User | None,
    now: datetime,
) -> list[DutyShift]:
    """Make `people` the `shift` duty list of `side` on `day`.

    Raises InvalidInput for a person of the other side, ConflictError for one not on site.
    """
    _check_date(day, "on")
    side, shift = Side(side), Shift(shift)
    lock_sides(session, side)
    for person in sorted(people, key=lambda p: p.id):
        session.refresh(person, with_for_update=True)
    for person in people:
        if person.side is not side:
            raise InvalidInput(
                _l(
                    "%(name)s belongs to the other side and cannot be on this duty list.",
                    name=person.name_ko,
                ),
                "people",
            )
        on_site = session.scalar(
            select(Stay.id).where(
                Stay.staff_member_id == person.id, Stay.first_day <= day, Stay.last_day >= day
            )
        )
        if on_site is None:
            raise ConflictError(
                _l(
                    "%(name)s is not on site on %(date)s; duty must fall within a stay.",
                    name=person.name_ko,
                    date=day.isoformat(),
                ),
                "people",
            )
    side_ids = select(StaffMember.id).where(StaffMember.side == side)
    session.execute(
        delete(DutyShift).where(
            DutyShift.duty_on == day,
            DutyShift.shift == shift,
            DutyShift.staff_member_id.in_(side_ids),
        )
    )
    shifts = [DutyShift(staff_member_id=p.id, duty_on=day, shift=shift) for p in people]
    session.add_all(shifts)
    session.flush()
    record_event(
        session,
        "duty.set",
        actor=actor,
        at=now,
        day=day.isoformat(),
        side=side.value,
        shift=shift.value,
        people=[p.name_ko for p in people],
    )
    return shifts


# --- crossing name lists ------------------------------------------------------------------


@dataclass(frozen=True)
class Crossings:
    day: date
    north: list[StaffMember]  # crossing north to start a stay
    south: list[StaffMember]  # returning south at the end of a stay

    def snapshot(self) -> dict[str, list[int]]:
        return {
            "north": sorted(p.id for p in self.north),
            "south": sorted(p.id for p in self.south),
        }


def crossings_on(session: Session, day: date) -> Crossings:
    """Who of the South crosses north and who returns south on `day`, from the stays."""

    def people(condition: Any) -> list[StaffMember]:
        return list(
            session.scalars(
                select(StaffMember)
                .join(Stay)
                .where(StaffMember.side == Side.SOUTH, condition)
                .order_by(StaffMember.name_ko, StaffMember.id)
            )
        )

    return Crossings(day, north=people(Stay.first_day == day), south=people(Stay.last_day == day))


def crossings_csv(crossings: Crossings) -> str:
    """Return a day's crossings as the CSV the North is sent: one row a person, by direction."""
    out = io.StringIO()
    writer = exports.writer(out)
    writer.writerow(["date", "direction", "name_ko", "name_latin", "agency", "position"])
    day = crossings.day.isoformat()
    for direction, people in (("north", crossings.north), ("south", crossings.south)):
        for p in people:
            writer.writerow([day, direction, p.name_ko, p.name_latin, p.agency, p.position.value])
    return out.getvalue()


def _crossings_changed(
    session: Session, side: Side, days: Iterable[date], *, now: datetime
) -> None:
    """Mark sent or accepted lists of `days` amended if the stays no longer match them, and
    tell the schedulers (once for each sending of a list): it must be sent again."""
    if side is not Side.SOUTH:
        return
    lists = session.scalars(select(CrossingList).where(CrossingList.crossing_on.in_(set(days))))
    for crossing in lists:
        if crossing.status in (CrossingStatus.SENT, CrossingStatus.ACCEPTED):
            current = crossings_on(session, crossing.crossing_on).snapshot()
            if current != crossing.sent_snapshot:
                crossing.status = CrossingStatus.AMENDED
                day = crossing.crossing_on.isoformat()
                sent_at = crossing.sent_at.isoformat() if crossing.sent_at else ""
                # Every scheduler, the one who changed the stay too: it is work to do.
                raise_notice(
                    session,
                    NoticeKind.LIST_AMENDED,
                    f"list_amended:{crossing.id}:{sent_at}",
                    {"day": day},
                    "staffing.crossing",
                    {"day": day},
                    now=now,
                    actor=None,
                )


CROSSING_TRANSITIONS = {
    CrossingStatus.DRAFT: {CrossingStatus.SENT},
    CrossingStatus.SENT: {CrossingStatus.ACCEPTED},
    CrossingStatus.AMENDED: {CrossingStatus.SENT},
    CrossingStatus.ACCEPTED: set(),
}


def crossing_list(session: Session, day: date) -> CrossingList | None:
    return session.scalar(select(CrossingList).where(CrossingList.crossing_on == day))


def mark_crossing_list(
    session: Session, day: date, status: CrossingStatus, *, actor: User | None, now: datetime
) -> CrossingList:
    """Record that a day's list was sent to the North, or accepted by it."""
    _check_date(day, "on")
    lock_sides(session, Side.SOUTH)  # the stays it lists do not change meanwhile
    row = crossing_list(session, day)
    if row is None:
        row = CrossingList(crossing_on=day, status=CrossingStatus.DRAFT, updated_at=now)
        session.add(row)
    if status not in CROSSING_TRANSITIONS[row.status]:
        raise ConflictError(
            _l(
                "The list of %(date)s is %(old)s; it cannot become %(new)s.",
                date=day.isoformat(),
                old=crossing_status_label(row.status),
                new=crossing_status_label(status),
            ),
            "status",
        )
    crossings = crossings_on(session, day)
    if status is CrossingStatus.SENT:
        if not crossings.north and not crossings.south:
            raise ConflictError(_l("Nobody crosses on %(date)s.", date=day.isoformat()))
        row.sent_snapshot, row.sent_at = crossings.snapshot(), now
    elif status is CrossingStatus.ACCEPTED:
        row.accepted_at = now
    row.status, row.updated_at = status, now
    session.flush()
    record_event(
        session,
        "crossing_list." + status.value,
        actor=actor,
        target=row,
        at=now,
        day=day.isoformat(),
    )
    return row


def crossing_status_label(status: CrossingStatus) -> str:
    from office.staffing.labels import CROSSING_STATUS_LABELS

    return str(CROSSING_STATUS_LABELS[status])


# --- facts for the checker, the calendar and other features -------------------------------


def lookback(rules: dict[Side, StaffingRule]) -> int:
    return max((r.max_consecutive_days + r.min_rest_days for r in rules.values()), default=14) + 1


def load_facts(
    session: Session, start: date, end: date, *, locale: str = "ko"
) -> tuple[list[checks.Person], dict[Side, checks.SideRules], checks.Plan]:
    """Load people, rules and the plan around `start`..`end` in the checker's terms."""
    rules = rules_by_side(session)
    # Back to the month's first day too: the monthly cap counts the month's earlier crossings.
    since = min(start - timedelta(days=lookback(rules)), start.replace(day=1))
    people = [
        checks.Person(
            p.id,
            p.display_name(locale),
            p.side,
            p.category,
            p.is_duty_qualified,
            p.active_from,
            p.active_until,
        )
        for p in session.scalars(
            select(StaffMember)
            .where(
                StaffMember.active_from <= end,
                (StaffMember.active_until.is_(None)) | (StaffMember.active_until >= since),
            )
            .order_by(StaffMember.side, StaffMember.name_ko, StaffMember.id)
        )
    ]
    plan = checks.Plan()
    for person_id, first, last in session.execute(
        select(Stay.staff_member_id, Stay.first_day, Stay.last_day).where(
            Stay.last_day >= since, Stay.first_day <= end
        )
    ):
        plan.add_stay(person_id, first, last)
    plan.nights = {
        (person_id, day)
        for person_id, day in session.execute(
            select(DutyShift.staff_member_id, DutyShift.duty_on).where(
                DutyShift.shift == Shift.NIGHT,
                DutyShift.duty_on >= start,
                DutyShift.duty_on <= end,
            )
        )
    }
    return people, {side: side_rules(rule) for side, rule in rules.items()}, plan


def violations(
    session: Session, start: date, end: date, *, locale: str = "ko"
) -> tuple[list[checks.Violation], dict[int, checks.Person]]:
    """Every soft-rule violation from `start` to `end`, and the people they name."""
    people, rules, plan = load_facts(session, start, end, locale=locale)
    return checks.find_violations(people, rules, plan, start, end), {p.id: p for p in people}


def person_days(
    session: Session, start: date, end: date, *, side: Side = Side.SOUTH
) -> dict[date, Counter[Category]]:
    """How many people of `side` are on site each day from `start` to `end`, by category."""
    counts: dict[date, Counter[Category]] = {day: Counter() for day in checks.days(start, end)}
    rows = session.execute(
        select(StaffMember.category, Stay.first_day, Stay.last_day)
        .join(Stay)
        .where(StaffMember.side == side, Stay.last_day >= start, Stay.first_day <= end)
    )
    for category, first, last in rows:
        for day in checks.days(max(first, start), min(last, end)):
            counts[day][category] += 1
    return counts


# --- planner proposals --------------------------------------------------------------------


def accept_proposal(
    session: Session, proposal: PlanProposal, *, actor: User | None, now: datetime
) -> None:
    """Put the proposal in place: the planned people's unpinned stays inside the period, and
    their duty there, become the proposal's.

    A stay the plan moves, extends or shortens stays the same stay and keeps its note; only a
    stay the plan adds is new (its note names the proposal). Raises ConflictError when the
    proposal was decided already, or when the roster or the stays changed since it was made
    so that it no longer fits.
    """
    lock_sides(session, proposal.side)
    session.refresh(proposal, with_for_update=True)
    if proposal.status is not ProposalStatus.PROPOSED:
        raise ConflictError(
            _l("This proposal was already %(status)s.", status=label(proposal.status))
        )
    first, last = proposal.first_day, proposal.last_day
    planned = proposal.plan["people"]
    replaced: dict[int, list[Stay]] = defaultdict(list)
    for old in session.scalars(
        select(Stay)
        .where(
            Stay.staff_member_id.in_(planned),
            Stay.is_pinned.is_(False),
            Stay.first_day >= first,
            Stay.last_day <= last,
        )
        .order_by(Stay.staff_member_id, Stay.first_day, Stay.id)
    ):
        replaced[old.staff_member_id].append(old)
    proposed: dict[int, list[tuple[date, date]]] = defaultdict(list)
    for person_id, stay_first, stay_last in proposal.plan["stays"]:
        proposed[person_id].append((date.fromisoformat(stay_first), date.fromisoformat(stay_last)))
    people = {
        p.id: p
        for p in session.scalars(
            select(StaffMember).where(
                StaffMember.id.in_(planned), StaffMember.side == proposal.side
            )
        )
    }
    if set(planned) - set(people):
        raise ConflictError(
            _l("The roster changed since this proposal was made; plan the period again.")
        )
    session.execute(
        delete(DutyShift).where(
            DutyShift.staff_member_id.in_(planned),
            DutyShift.duty_on >= first,
            DutyShift.duty_on <= last,
        )
    )
    new_note = str(_l("Planner proposal #%(id)d", id=proposal.id))
    counts: Counter[str] = Counter()
    for person_id in sorted(set(proposed) | set(replaced)):
        counts += _replace_stays(
            session,
            people[person_id],
            replaced[person_id],
            sorted(proposed[person_id]),
            new_note,
        )
    session.add_all(
        DutyShift(staff_member_id=person_id, duty_on=date.fromisoformat(day), shift=Shift.NIGHT)
        for person_id, day in proposal.plan["nights"]
    )
    proposal.status, proposal.decided_at = ProposalStatus.ACCEPTED, now
    session.flush()
    # A planned stay may run on past the period: its departure's list changes too.
    ends = max([last, *(b for stays in proposed.values() for _a, b in stays)])
    _crossings_changed(session, proposal.side, checks.days(first, ends), now=now)
    record_event(
        session,
        "plan.accepted",
        actor=actor,
        target=proposal,
        at=now,
        side=proposal.side.value,
        first=first.isoformat(),
        last=last.isoformat(),
        stays=len(proposal.plan["stays"]),
        changed=counts["changed"],
        added=counts["added"],
        removed=counts["removed"],
    )


def _match_stays(old: list[Stay], new: list[tuple[date, date]]) -> dict[tuple[date, date], Stay]:
    """Pair proposed stays with the recorded stays they replace: the pairs that share the most
    days first, then those left over, in the order of their days (a stay moved clear of its
    old days). Each stay is paired at most once."""
    shared = [
        ((min(o.last_day, n[1]) - max(o.first_day, n[0])).days + 1, o, n)
        for o in old
        for n in new
        if o.first_day <= n[1] and n[0] <= o.last_day
    ]
    shared.sort(key=lambda t: (-t[0], t[1].first_day, t[1].id, t[2]))
    paired: dict[tuple[date, date], Stay] = {}
    taken: set[int] = set()
    for _days, o, n in shared:
        if o.id not in taken and n not in paired:
            paired[n] = o
            taken.add(o.id)
    left_old = sorted((o for o in old if o.id not in taken), key=lambda o: (o.first_day, o.id))
    left_new = sorted(n for n in new if n not in paired)
    paired.update(zip(left_new, left_old, strict=False))
    return paired


def _joined_notes(*notes: str) -> str:
    """The distinct notes of stays joined into one, in order, cut to the column's length."""
    kept: list[str] = []
    for note in notes:
        if note.strip() and note.strip() not in kept:
            kept.append(note.strip())
    return " · ".join(kept)[:200]


def _replace_stays(
    session: Session,
    person: StaffMember,
    old: list[Stay],
    new: list[tuple[date, date]],
    new_note: str,
) -> Counter[str]:
    """Make `person`'s replaced stays `old` into the proposed `new` ones; count the stays
    changed, added and removed. A proposed stay that touches a kept stay (one reaching outside
    the period) continues it rather than leaving two stays that touch."""
    paired = _match_stays(old, new)
    replaced_ids = {o.id for o in old}
    kept = [
        s
        for s in session.scalars(
            select(Stay).where(Stay.staff_member_id == person.id).order_by(Stay.first_day, Stay.id)
        )
        if s.id not in replaced_ids
    ]
    counts: Counter[str] = Counter()
    gone: list[Stay] = [o for o in old if o not in paired.values()]
    placed: list[Stay] = []
    for stay_first, stay_last in new:
        mine = paired.get((stay_first, stay_last))
        before = next((s for s in kept if s.last_day == stay_first - timedelta(days=1)), None)
        after = next((s for s in kept if s.first_day == stay_last + timedelta(days=1)), None)
        if before is not None or after is not None:
            target = before or after
            assert target is not None
            target.note = _joined_notes(
                before.note if before else "",
                mine.note if mine else "",
                after.note if after else "",
            )
            target.first_day = before.first_day if before else stay_first
            target.last_day = after.last_day if after else stay_last
            if before is not None and after is not None:
                gone.append(after)
                kept.remove(after)
            if mine is not None:
                gone.append(mine)
            placed.append(target)
            counts["changed"] += 1
        elif mine is not None:
            mine.first_day, mine.last_day = stay_first, stay_last
            placed.append(mine)
            counts["changed"] += 1
        else:
            added = Stay(person=person, first_day=stay_first, last_day=stay_last, note=new_note)
            session.add(added)
            placed.append(added)
            counts["added"] += 1
    for stay in gone:
        session.delete(stay)
    counts["removed"] = sum(1 for o in old if o not in paired.values())
    session.flush()
    # Checked once every stay has its new days: a stay moved onto the days another one left
    # is no overlap, one reaching onto a stay recorded since the proposal was made is.
    for stay in placed:
        _check_stay(session, person, stay.first_day, stay.last_day, ignore=stay)
    return counts


def discard_proposal(
    session: Session, proposal: PlanProposal, *, actor: User | None, now: datetime
) -> None:
    session.refresh(proposal, with_for_update=True)
    if proposal.status is not ProposalStatus.PROPOSED:
        raise ConflictError(
            _l("This proposal was already %(status)s.", status=label(proposal.status))
        )
    proposal.status, proposal.decided_at = ProposalStatus.DISCARDED, now
    session.flush()
    record_event(session, "plan.discarded", actor=actor, target=proposal, at=now)


@dataclass(frozen=True)
class PlanInputs:
    """What the planner works from, read from the database: plain data, so that the search
    runs outside any transaction (on a worker, for seconds or minutes)."""

    side: Side
    first_day: date
    last_day: date
    people: list[checks.Person]
    rules: checks.SideRules
    current: checks.Plan
    fixed: list[Any]  # planner.Fixed


def check_plan_period(first_day: date, n_days: int) -> date:
    """Return the last day of a plan of `n_days` from `first_day`; raise InvalidInput for a
    period that is too long or outside the office's dates."""
    _check_date(first_day, "first_day")
    if not 1 <= n_days <= MAX_PLAN_DAYS:
        raise InvalidInput(_l("A plan covers 1 to %(n)d days.", n=MAX_PLAN_DAYS), "days")
    last_day = first_day + timedelta(days=n_days - 1)
    _check_date(last_day, "days")
    return last_day


def plan_inputs(session: Session, side: Side, first_day: date, n_days: int) -> PlanInputs:
    """Read what planning `n_days` from `first_day` needs.

    Pinned stays, and stays reaching outside the period, are kept. Raises InvalidInput for a
    period that is too long.
    """
    from office.staffing import planner

    last_day = check_plan_period(first_day, n_days)
    rules = rules_by_side(session)
    margin = timedelta(days=lookback(rules))
    # The plan may run stays on past the period (by up to a longest stay); the monthly cap
    # counts the crossings of that month.
    until = last_day + timedelta(days=rules[side].max_consecutive_days)
    until = max(last_day + margin, until.replace(day=monthrange(until.year, until.month)[1]))
    people, checker_rules, current = load_facts(session, first_day, until)
    fixed = [
        planner.Fixed(stay.staff_member_id, stay.first_day, stay.last_day, stay.is_pinned)
        for stay in session.scalars(
            select(Stay)
            .join(StaffMember)
            .where(
                StaffMember.side == side,
                Stay.last_day >= first_day - margin,
                Stay.first_day <= last_day + margin,
            )
        )
        if stay.is_pinned or stay.first_day < first_day or stay.last_day > last_day
    ]
    return PlanInputs(side, first_day, last_day, people, checker_rules[side], current, fixed)


def keep_proposal(
    session: Session,
    inputs: PlanInputs,
    result: Any,  # planner.PlanResult
    *,
    actor: User | None,
    now: datetime,
) -> PlanProposal:
    """Keep the planner's `result` over `inputs`' period as a proposal for review."""
    proposal = PlanProposal(
        side=inputs.side,
        first_day=inputs.first_day,
        last_day=inputs.last_day,
        status=ProposalStatus.PROPOSED,
        plan={
            "people": result.people,
            "stays": [[pid, a.isoformat(), b.isoformat()] for pid, a, b in result.stays],
            "nights": [[pid, day.isoformat()] for pid, day in result.nights],
        },
        objective=(
            f"{result.status}; {result.seconds:.1f} s; spread of nights "
            f"{result.spread.get('nights', 0)}, weekends {result.spread.get('weekends', 0)}, "
            f"days on site {result.spread.get('workload', 0)}; crossings {result.crossings}; "
            f"gap {100 * result.gap:.2f}%"
        ),
        created_at=now,
        created_by_id=actor.id if actor else None,
    )
    session.add(proposal)
    session.flush()
    record_event(
        session,
        "plan.proposed",
        actor=actor,
        target=proposal,
        at=now,
        side=inputs.side.value,
        first=inputs.first_day.isoformat(),
        last=inputs.last_day.isoformat(),
    )
    return proposal


def propose_plan(
    session: Session,
    side: Side,
    first_day: date,
    n_days: int,
    *,
    actor: User | None,
    now: datetime,
    time_limit: float = 12.0,
    progress: ProgressHook | None = None,
) -> PlanProposal:
    """Run the planner over `n_days` from `first_day` and keep its proposal for review, in
    one go (the app runs it as a job: `office.staffing.jobs`).

    Pinned stays, and stays reaching outside the period, are kept; a stay the plan starts
    may run past the period. `progress` is the planner's hook (`planner.PlanProgress` on
    each better plan; returning True stops the search with the best plan so far). Raises
    InvalidInput for a period that is too long, PlanInfeasible naming the rules and days
    that cannot be met.
    """
    from office.staffing import planner

    inputs = plan_inputs(session, side, first_day, n_days)
    result = planner.plan_period(
        inputs.people,
        inputs.rules,
        inputs.current,
        inputs.fixed,
        inputs.first_day,
        inputs.last_day,
        time_limit=time_limit,
        progress=progress,
    )
    return keep_proposal(session, inputs, result, actor=actor, now=now)
