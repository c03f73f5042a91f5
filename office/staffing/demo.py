"""Demo rosters and a rotation from the opening (2018-09-14 in the story) to the end of the
calendar's plan, with a few broken rules for the calendar to show."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from office.auth.models import User
from office.staffing import services
from office.staffing.checks import days
from office.staffing.models import Category, CrossingStatus, Position, Shift, Side, StaffMember

if TYPE_CHECKING:
    from office.demo import StoryCalendar

# The story's days (moved with the rest of it by the demo's calendar).
OPENING = date(2018, 9, 14)
ROSTER_ON = date(2018, 9, 1)  # the rosters and the rotation are drawn up

SOUTH_OFFICIALS = (
    ("천해성", "Chun Haesung", Position.CO_HEAD, "통일부"),
    ("김창수", "Kim Changsu", Position.SECRETARY_GENERAL, "통일부"),
    ("이정훈", "Lee Junghoon", Position.DUTY_OFFICER, "통일부"),
    ("박서준", "Park Seojun", Position.DUTY_OFFICER, "통일부"),
    ("최민호", "Choi Minho", Position.DUTY_OFFICER, "국방부"),
    ("정유진", "Jung Yujin", Position.DUTY_OFFICER, "통일부"),
    ("강도윤", "Kang Doyun", Position.DUTY_OFFICER, "문화체육관광부"),
    ("조하은", "Cho Haeun", Position.DUTY_OFFICER, "통일부"),
    ("윤지호", "Yoon Jiho", Position.LIAISON_OFFICER, "통일부"),
    ("장서연", "Jang Seoyeon", Position.LIAISON_OFFICER, "보건복지부"),
    ("임준서", "Lim Junseo", Position.LIAISON_OFFICER, "산림청"),
    ("한지민", "Han Jimin", Position.LIAISON_OFFICER, "통일부"),
    ("오승현", "Oh Seunghyun", Position.STAFF, "국토교통부"),
    ("서예준", "Seo Yejun", Position.STAFF, "통일부"),
    ("신유나", "Shin Yuna", Position.STAFF, "통일부"),
    ("권태민", "Kwon Taemin", Position.STAFF, "환경부"),
    ("황보라", "Hwang Bora", Position.STAFF, "통일부"),
    ("안재현", "Ahn Jaehyun", Position.STAFF, "통일부"),
    ("송민지", "Song Minji", Position.STAFF, "행정안전부"),
    ("류성민", "Ryu Sungmin", Position.STAFF, "통일부"),
)
SOUTH_SUPPORT = (
    ("김기술", "Kim Gisul", Position.TECHNICIAN, "KT"),
    ("이전력", "Lee Jeonryeok", Position.TECHNICIAN, "한국전력공사"),
    ("박시설", "Park Siseol", Position.TECHNICIAN, "현대아산"),
    ("최운전", "Choi Unjeon", Position.STAFF, "현대아산"),
    ("정조리", "Jung Jori", Position.STAFF, "현대아산"),
    ("강관리", "Kang Gwanri", Position.STAFF, "개성공업지구지원재단"),
    ("조경비", "Cho Gyeongbi", Position.STAFF, "개성공업지구지원재단"),
    ("윤통신", "Yoon Tongsin", Position.TECHNICIAN, "KT"),
    ("장의료", "Jang Uiryo", Position.STAFF, "대한적십자사"),
    ("임배관", "Lim Baegwan", Position.TECHNICIAN, "현대아산"),
)
SOUTH_CONTRACTORS = (
    ("한보수", "Han Bosu", Position.WORKER, "현대건설"),
    ("오설비", "Oh Seolbi", Position.WORKER, "현대건설"),
    ("서도장", "Seo Dojang", Position.WORKER, "현대건설"),
    ("신전기", "Shin Jeongi", Position.WORKER, "현대건설"),
)
NORTH_OFFICIALS = (
    "전종수",
    "김영철",
    "리광혁",
    "박명진",
    "최성일",
    "김정남",
    "리철민",
    "한송이",
    "강철웅",
    "조금성",
    "윤혁",
    "장명호",
    "림수경",
    "오진혁",
    "서광명",
    "신은희",
    "황철",
    "안경호",
)
NORTH_AGENCY = "조국평화통일위원회"


def _add_people(
    session: Session, actor: User | None, calendar: StoryCalendar
) -> dict[str, list[StaffMember]]:
    groups: dict[str, list[StaffMember]] = {"officials": [], "support": [], "north": []}
    roster_on = calendar.day(ROSTER_ON)
    now = calendar.at(roster_on, 9)
    for number, (name_ko, latin, position, agency) in enumerate(SOUTH_OFFICIALS):
        groups["officials"].append(
            services.save_person(
                session,
                services.PersonInput(
                    name_ko,
                    latin,
                    Side.SOUTH,
                    Category.OFFICIAL,
                    agency,
                    position,
                    is_duty_qualified=position is Position.DUTY_OFFICER or number in (8, 9),
                    active_from=roster_on,
                    active_until=None,
                ),
                actor=actor,
                now=now,
            )
        )
    for people, category in (
        (SOUTH_SUPPORT, Category.SUPPORT),
        (SOUTH_CONTRACTORS, Category.CONTRACTOR_WORKER),
    ):
        for name_ko, latin, position, agency in people:
            groups["support"].append(
                services.save_person(
                    session,
                    services.PersonInput(
                        name_ko,
                        latin,
                        Side.SOUTH,
                        category,
                        agency,
                        position,
                        is_duty_qualified=False,
                        active_from=roster_on,
                        active_until=calendar.day(date(2018, 11, 30))
                        if category is Category.CONTRACTOR_WORKER
                        else None,
                    ),
                    actor=actor,
                    now=now,
                )
            )
    for number, name_ko in enumerate(NORTH_OFFICIALS):
        groups["north"].append(
            services.save_person(
                session,
                services.PersonInput(
                    name_ko,
                    "",
                    Side.NORTH,
                    Category.OFFICIAL,
                    NORTH_AGENCY,
                    Position.CO_HEAD
                    if number == 0
                    else Position.DEPUTY_HEAD
                    if number == 1
                    else Position.DUTY_OFFICER
                    if number % 4 == 2
                    else Position.STAFF,
                    is_duty_qualified=number % 4 == 2 or number == 3,
                    active_from=roster_on,
                    active_until=None,
                ),
                actor=actor,
                now=now,
            )
        )
    return groups


def _rotation(
    people: list[StaffMember], on: int, off: int, first: date, last: date
) -> dict[int, list[tuple[date, date]]]:
    """Stays of a staggered rotation from `first` to `last`: `on` days on site, `off` days
    away, offsets spread."""
    cycle = on + off
    stays: dict[int, list[tuple[date, date]]] = {}
    for index, person in enumerate(people):
        offset = round(index * cycle / len(people))
        present = [day for n, day in enumerate(days(first, last)) if (n + offset) % cycle < on]
        runs: list[tuple[date, date]] = []
        for day in present:
            if runs and runs[-1][1] + timedelta(days=1) == day:
                runs[-1] = (runs[-1][0], day)
            else:
                runs.append((day, day))
        stays[person.id] = runs
    return stays


def load(session: Session, *, scheduler: User, calendar: StoryCalendar) -> None:
    """Add the rosters, the rotation, night duty and a few crossing lists; the sides' rules
    apply from the opening."""
    on, at = calendar.day, calendar.at
    opening, plan_until = on(OPENING), calendar.plan_until
    _open_on(session, opening, scheduler, at(on(ROSTER_ON), 9))
    groups = _add_people(session, scheduler, calendar)
    officials = groups["officials"]
    plan = _rotation(officials, on=12, off=3, first=opening, last=plan_until)
    plan.update(_rotation(groups["north"], on=12, off=2, first=opening, last=plan_until))
    # Support staff and contractors cross on Monday and return on Friday.
    for person in groups["support"]:
        plan[person.id] = [
            (monday, monday + timedelta(days=4))
            for monday in days(on(date(2018, 9, 17)), plan_until)
            if monday.weekday() == 0 and person.is_active_on(monday + timedelta(days=4))
        ]
    # Broken rules for the calendar to show: two officials leave early for Chuseok (the
    # crew falls under the minimum) and one stays two days longer than allowed in October
    # (too many days in a row, then too short a rest).
    chuseok, back = on(date(2018, 9, 24)), on(date(2018, 9, 27))
    leaving = [p for p in officials[2:] if any(a < chuseok and back <= b for a, b in plan[p.id])][
        :2
    ]
    for person in leaving:
        split = []
        for a, b in plan[person.id]:
            split += [(a, chuseok - timedelta(days=1)), (back, b)] if a < chuseok <= b else [(a, b)]
        plan[person.id] = split
    longer = officials[-1]
    october, november = on(date(2018, 10, 1)), on(date(2018, 11, 1))
    stay = next(i for i, (a, _b) in enumerate(plan[longer.id]) if october <= a < november)
    first, last = plan[longer.id][stay]
    plan[longer.id][stay] = (first, last + timedelta(days=2))
    plan[longer.id] = _drop_overlaps(plan[longer.id])

    everyone = {person.id: person for group in groups.values() for person in group}
    for person_id, stays in plan.items():
        person = everyone[person_id]
        for first, last in stays:
            services.add_stay(
                session, person, first, last, actor=scheduler, now=at(on(ROSTER_ON), 10)
            )

    for side, people in ((Side.SOUTH, officials), (Side.NORTH, groups["north"])):
        qualified = [p for p in people if p.is_duty_qualified]
        turn = 0
        for day in days(opening, plan_until):
            if side is Side.SOUTH and day == on(date(2018, 11, 3)):
                continue  # a night nobody was put on duty
            present = [p for p in qualified if any(a <= day <= b for a, b in plan[p.id])]
            if present:
                chosen = present[turn % len(present)]
                turn += 1
                services.set_duty(
                    session,
                    day,
                    side,
                    Shift.NIGHT,
                    [chosen],
                    actor=scheduler,
                    now=at(day - timedelta(days=1), 15),
                )

    for day in days(opening, on(date(2018, 9, 30))):
        if services.crossings_on(session, day).north or services.crossings_on(session, day).south:
            services.mark_crossing_list(
                session,
                day,
                CrossingStatus.SENT,
                actor=scheduler,
                now=at(day - timedelta(days=3), 10),
            )
            services.mark_crossing_list(
                session,
                day,
                CrossingStatus.ACCEPTED,
                actor=scheduler,
                now=at(day - timedelta(days=1), 16),
            )
    session.flush()


def _open_on(session: Session, opening: date, scheduler: User, now: datetime) -> None:
    """Have each side's headcount and night-duty rules apply from the demo's opening (the
    migrations set the real office's, 2018-09-14)."""
    for rule in services.rules_by_side(session).values():
        if rule.applies_from != opening:
            services.update_rules(
                session,
                rule,
                weekday_min=rule.weekday_min,
                weekend_min=rule.weekend_min,
                max_headcount=rule.max_headcount,
                counted_categories=list(rule.counted_categories),
                min_night_duty=rule.min_night_duty,
                max_consecutive_days=rule.max_consecutive_days,
                min_stay_days=rule.min_stay_days,
                min_rest_days=rule.min_rest_days,
                crossing_weekdays=rule.crossing_weekdays,
                max_crossings_per_month=rule.max_crossings_per_month,
                applies_from=opening,
                actor=scheduler,
                now=now,
            )


def _drop_overlaps(stays: list[tuple[date, date]]) -> list[tuple[date, date]]:
    """Trim a stay that would run into the next one (stays never overlap)."""
    trimmed: list[tuple[date, date]] = []
    for first, last in sorted(stays):
        if trimmed and first <= trimmed[-1][1]:
            first = trimmed[-1][1] + timedelta(days=1)
        if first <= last:
            trimmed.append((first, last))
    return trimmed
