"""Several schedulers changing one side's staffing at the same moment, committed for real
(`tests.concurrency`): nobody's stays overlap, no duty falls on a day its person is off site,
nobody is on the roster twice, a duty list is one of those sent, a sent crossing list names
who crosses (or is marked amended), and nobody ever gets a server error."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date
from itertools import pairwise

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from office.auth.models import User
from office.auth.permissions import Role
from office.staffing import services
from office.staffing.models import (
    CrossingList,
    CrossingStatus,
    DutyShift,
    PlanProposal,
    ProposalStatus,
    Shift,
    Side,
    StaffMember,
    Stay,
)
from tests.concurrency import Office, at_once, held, in_background, post
from tests.factories import NOW, make_person, make_user, stay

ANSWERS = {302, 409, 422}  # saved (a redirect) or refused plainly; never a 500


def OCT(day: int) -> date:
    return date(2018, 10, day)


# --- arranging ----------------------------------------------------------------------------


def _people(office: Office, n: int) -> list[StaffMember]:
    with office.session() as session:
        return [make_person(session) for _ in range(n)]


def _stay(office: Office, person: StaffMember, first: date, last: date) -> int:
    with office.session() as session:
        return stay(session, session.get(StaffMember, person.id), first, last).id


def _schedulers(office: Office) -> list[User]:
    """The office's scheduler and a second one."""
    with office.session() as session:
        return [office.scheduler, make_user(session, Role.SCHEDULER, name="Scheduler Two")]


def _stay_form(first: date, last: date) -> dict[str, str]:
    return {"first_day": first.isoformat(), "last_day": last.isoformat(), "note": ""}


def _duty(office: Office, user: User, day: date, people: list[StaffMember]) -> Callable[[], int]:
    return post(
        office,
        user,
        f"/staffing/days/{day.isoformat()}/duty",
        data={"side": "south", "shift": "night", "people": [str(p.id) for p in people]},
    )


# --- what must hold -----------------------------------------------------------------------


def _overlapping_stays(session: Session) -> list[tuple[int, int]]:
    """Pairs of stays of one person that share a day. Sorted by first day, a stay that
    overlaps a later one also overlaps the next one, so neighbours are enough."""
    stays = session.scalars(
        select(Stay).order_by(Stay.staff_member_id, Stay.first_day, Stay.id)
    ).all()
    return [
        (a.id, b.id)
        for a, b in pairwise(stays)
        if a.staff_member_id == b.staff_member_id and b.first_day <= a.last_day
    ]


def _duty_off_site(session: Session) -> list[tuple[int, date]]:
    """(person, day) of every duty shift on a day its person has no stay."""
    on_site = exists().where(
        Stay.staff_member_id == DutyShift.staff_member_id,
        Stay.first_day <= DutyShift.duty_on,
        Stay.last_day >= DutyShift.duty_on,
    )
    return [
        (duty.staff_member_id, duty.duty_on)
        for duty in session.scalars(select(DutyShift).where(~on_site).order_by(DutyShift.id))
    ]


def _on_duty(session: Session, day: date) -> set[int]:
    return set(
        session.scalars(
            select(DutyShift.staff_member_id).where(
                DutyShift.duty_on == day, DutyShift.shift == Shift.NIGHT
            )
        )
    )


# --- stays --------------------------------------------------------------------------------


def test_overlapping_stays_of_one_person_sent_at_once_never_overlap(office):
    (person,) = _people(office, 1)
    periods = [
        (OCT(1), OCT(10)),
        (OCT(5), OCT(15)),
        (OCT(8), OCT(12)),
        (OCT(11), OCT(20)),
        (OCT(16), OCT(22)),
        (OCT(21), OCT(31)),
        (OCT(1), OCT(31)),
        (OCT(25), date(2018, 11, 5)),
    ]
    schedulers = _schedulers(office)

    statuses = at_once(
        [
            post(
                office,
                schedulers[n % 2],
                f"/staffing/people/{person.id}/stays",
                data=_stay_form(first, last),
            )
            for n, (first, last) in enumerate(periods)
        ]
    )

    # Each request was either saved (a redirect) or refused beside its field (422).
    assert set(statuses) <= {302, 422}, statuses
    assert statuses.count(302) >= 1
    with office.session() as session:
        assert _overlapping_stays(session) == []
        saved = session.scalar(
            select(func.count()).select_from(Stay).where(Stay.staff_member_id == person.id)
        )
        assert saved == statuses.count(302)


def test_a_stay_changed_and_removed_at_once_is_never_answered_with_a_server_error(office):
    """Each of four people has a stay that one scheduler removes while another moves it: the
    move lands first (and the removal then removes the moved stay), or it finds the stay gone
    and is refused; no 500, nothing half-written."""
    people = _people(office, 4)
    stay_ids = [_stay(office, person, OCT(1), OCT(10)) for person in people]
    remover, mover = _schedulers(office)
    calls = []
    for stay_id in stay_ids:
        calls.append(post(office, remover, f"/staffing/stays/{stay_id}/delete"))
        calls.append(
            post(office, mover, f"/staffing/stays/{stay_id}", data=_stay_form(OCT(3), OCT(12)))
        )

    statuses = at_once(calls)

    # A move that comes after the removal finds no stay: 404 is a plain answer too.
    assert set(statuses) <= ANSWERS | {404}, statuses
    assert statuses[0::2] == [302] * len(stay_ids)  # every removal lands
    with office.session() as session:
        assert session.scalar(select(func.count()).select_from(Stay)) == 0


def test_a_stay_moved_while_another_scheduler_removes_it_is_refused_plainly(office):
    """The move reads the stay before the removal commits, then waits for the side; once it
    has the side the stay is gone, and the move must say so rather than fail."""
    (person,) = _people(office, 1)
    stay_id = _stay(office, person, OCT(1), OCT(10))
    move = post(
        office, office.scheduler, f"/staffing/stays/{stay_id}", data=_stay_form(OCT(3), OCT(12))
    )

    def remove(session: Session) -> None:
        services.lock_sides(session, Side.SOUTH)
        session.delete(session.get(Stay, stay_id))

    with held(office, remove):
        thread, answered = in_background(move)
        thread.join(timeout=1)
        assert answered == [], "the move did not wait for the removal in flight"
    thread.join(timeout=30)

    assert answered in ([404], [409], [422]), answered
    with office.session() as session:
        assert session.scalar(select(func.count()).select_from(Stay)) == 0


# --- duty and stays -----------------------------------------------------------------------


def test_duty_set_while_stays_are_removed_or_shrunk_never_falls_off_site(office):
    """Six people on site from the 1st to the 10th. For each, one scheduler gives up the days
    (removes the first three stays, shrinks the others to the 1st-3rd) while another puts the
    person on night duty on one of those days: one of the two lands, never both."""
    people = _people(office, 6)
    stay_ids = [_stay(office, person, OCT(1), OCT(10)) for person in people]
    stays_by, duty_by = _schedulers(office)
    duty_days = [OCT(4 + n) for n in range(len(people))]
    calls = []
    for n, (person, stay_id) in enumerate(zip(people, stay_ids, strict=True)):
        if n < 3:
            calls.append(post(office, stays_by, f"/staffing/stays/{stay_id}/delete"))
        else:
            calls.append(
                post(
                    office, stays_by, f"/staffing/stays/{stay_id}", data=_stay_form(OCT(1), OCT(3))
                )
            )
        calls.append(_duty(office, duty_by, duty_days[n], [person]))

    statuses = at_once(calls)

    assert set(statuses) <= ANSWERS, statuses
    with office.session() as session:
        assert _duty_off_site(session) == []
        for n, (person, stay_id) in enumerate(zip(people, stay_ids, strict=True)):
            on_duty = person.id in _on_duty(session, duty_days[n])
            kept = session.get(Stay, stay_id)
            days_kept = kept is not None and kept.covers(duty_days[n])
            assert on_duty == days_kept, f"person {n}: duty {on_duty}, days kept {days_kept}"
            assert on_duty == (statuses[2 * n + 1] == 302)


def _extend_and_put_on_duty(person_id: int, stay_id: int) -> Callable[[Session], None]:
    """Another scheduler's change, as the services make it: the side first, then the stay
    moved to end on the 20th and the person on night duty on the 15th."""

    def act(session: Session) -> None:
        services.lock_sides(session, Side.SOUTH)
        session.get(Stay, stay_id).last_day = OCT(20)
        session.add(DutyShift(staff_member_id=person_id, duty_on=OCT(15), shift=Shift.NIGHT))

    return act


def test_a_stay_shrunk_while_another_scheduler_extends_it_and_puts_duty_on_it_keeps_duty_on_site(
    office,
):
    """The shrink reads the stay (the 1st-10th) before the other change commits, then waits
    for the side. Once it has the side it must judge the stay as it now is (the 1st-20th,
    with duty on the 15th), not as it read it before the lock."""
    (person,) = _people(office, 1)
    stay_id = _stay(office, person, OCT(1), OCT(10))
    shrink = post(
        office, office.scheduler, f"/staffing/stays/{stay_id}", data=_stay_form(OCT(1), OCT(8))
    )

    with held(office, _extend_and_put_on_duty(person.id, stay_id)):
        thread, answered = in_background(shrink)
        thread.join(timeout=1)
        assert answered == [], "the shrink did not wait for the change in flight"
    thread.join(timeout=30)

    assert answered == [422]  # refused: the 15th carries duty
    with office.session() as session:
        assert _duty_off_site(session) == []
        kept = session.get(Stay, stay_id)
        assert (kept.first_day, kept.last_day) == (OCT(1), OCT(20))


def test_a_stay_removed_while_another_scheduler_extends_it_and_puts_duty_on_it_keeps_duty_on_site(
    office,
):
    (person,) = _people(office, 1)
    stay_id = _stay(office, person, OCT(1), OCT(10))
    remove = post(office, office.scheduler, f"/staffing/stays/{stay_id}/delete")

    with held(office, _extend_and_put_on_duty(person.id, stay_id)):
        thread, answered = in_background(remove)
        thread.join(timeout=1)
        assert answered == [], "the removal did not wait for the change in flight"
    thread.join(timeout=30)

    assert answered == [302]  # back to the person's page, with the refusal flashed
    with office.session() as session:
        assert _duty_off_site(session) == []
        assert session.get(Stay, stay_id) is not None


# --- the roster ---------------------------------------------------------------------------

ROSTER_HEADER = (
    "name_ko,name_latin,side,category,agency,position,duty_qualified,active_from,active_until"
)
ROSTER = [
    "김철수,Kim Cheolsu,south,official,통일부,duty_officer,yes,2018-09-14,",
    "리광혁,,north,official,조국평화통일위원회,staff,no,2018-09-14,",
    "박기술,Park Gisul,south,support,KT,technician,,2018-09-14,2018-12-31",
]


def _roster_file(rows: list[str]) -> bytes:
    return ("\r\n".join([ROSTER_HEADER, *rows]) + "\r\n").encode("utf-8")


def _import(office: Office, user: User, data: bytes) -> Callable[[], int]:
    return post(
        office,
        user,
        "/staffing/people/import",
        data={"file": (io.BytesIO(data), "roster.csv")},
        content_type="multipart/form-data",
    )


def test_one_roster_file_imported_four_times_at_once_puts_nobody_on_the_roster_twice(office):
    """Two copies of the file, and two of the same file with the Latin names in capitals
    (the same people: names are compared without regard to case)."""
    same = _roster_file(ROSTER)
    shouted = _roster_file([row.replace("Kim Cheolsu", "KIM CHEOLSU") for row in ROSTER])
    schedulers = _schedulers(office)

    statuses = at_once(
        [
            _import(office, schedulers[n % 2], data)
            for n, data in enumerate([same, shouted, same, shouted])
        ]
    )

    assert sorted(statuses) == [302, 422, 422, 422], statuses
    with office.session() as session:
        people = session.scalars(select(StaffMember)).all()
        keys = [(p.side, p.name_ko, p.name_latin.casefold()) for p in people]
        assert len(keys) == len(set(keys)), sorted(keys)
        assert len(people) == len(ROSTER)


# --- duty lists ---------------------------------------------------------------------------


def test_duty_lists_for_one_day_set_at_once_leave_exactly_one_of_them(office):
    people = _people(office, 4)
    for person in people:
        _stay(office, person, OCT(1), OCT(5))
    p0, p1, p2, p3 = people
    lists = [[p0, p1], [p2, p3], [p1, p2], [p0, p3]]
    schedulers = _schedulers(office)

    statuses = at_once(
        [_duty(office, schedulers[n % 2], OCT(2), chosen) for n, chosen in enumerate(lists)]
    )

    assert statuses == [302] * len(lists), statuses
    with office.session() as session:
        assert _on_duty(session, OCT(2)) in [{p.id for p in chosen} for chosen in lists]


# --- accepting a plan ---------------------------------------------------------------------


def _proposal(office: Office, stays: list[tuple[StaffMember, date, date]]) -> int:
    """A proposal for the South from the 1st to the 14th, written out by hand."""
    with office.session() as session:
        proposal = PlanProposal(
            side=Side.SOUTH,
            first_day=OCT(1),
            last_day=OCT(14),
            status=ProposalStatus.PROPOSED,
            plan={
                "people": sorted({p.id for p, _a, _b in stays}),
                "stays": [[p.id, a.isoformat(), b.isoformat()] for p, a, b in stays],
                "nights": [],
            },
        )
        session.add(proposal)
        session.commit()
        return proposal.id


def test_notes_written_while_a_plan_is_accepted_are_kept_on_the_stays_it_moves(office):
    """Three people each have a stay the plan moves; while one scheduler accepts the plan,
    another writes a note on each of those stays. Whichever lands first, every note stays on
    its stay (the same stay, moved or not), nothing overlaps, and nobody gets an error."""
    people = _people(office, 3)
    stay_ids = [_stay(office, person, OCT(2), OCT(5)) for person in people]
    proposal_id = _proposal(office, [(person, OCT(3), OCT(8)) for person in people])
    accepting, noting = _schedulers(office)
    calls = [post(office, accepting, f"/staffing/plans/{proposal_id}/accept")]
    for n, stay_id in enumerate(stay_ids):
        calls.append(
            post(
                office,
                noting,
                f"/staffing/stays/{stay_id}",
                data={**_stay_form(OCT(2), OCT(5)), "note": f"Rotation {n + 1}"},
            )
        )

    statuses = at_once(calls)

    assert statuses == [302] * len(calls), statuses
    with office.session() as session:
        assert session.get(PlanProposal, proposal_id).status is ProposalStatus.ACCEPTED
        assert _overlapping_stays(session) == []
        for n, (person, stay_id) in enumerate(zip(people, stay_ids, strict=True)):
            (kept,) = session.scalars(select(Stay).where(Stay.staff_member_id == person.id))
            assert (kept.id, kept.note) == (stay_id, f"Rotation {n + 1}")


def test_a_plan_accepted_while_a_stay_is_added_onto_its_days_never_overlaps(office):
    """While one scheduler accepts a plan that gives two people stays from the 3rd to the
    8th, another adds each of them a pinned stay from the 6th: one of the two comes first and
    the other is refused plainly; no stay ever overlaps another."""
    people = _people(office, 2)
    proposal_id = _proposal(office, [(person, OCT(3), OCT(8)) for person in people])
    accepting, adding = _schedulers(office)
    calls = [post(office, accepting, f"/staffing/plans/{proposal_id}/accept")]
    for person in people:
        calls.append(
            post(
                office,
                adding,
                f"/staffing/people/{person.id}/stays",
                data={**_stay_form(OCT(6), OCT(12)), "is_pinned": "y"},
            )
        )

    statuses = at_once(calls)

    assert set(statuses) <= ANSWERS, statuses
    with office.session() as session:
        assert _overlapping_stays(session) == []
        accepted = session.get(PlanProposal, proposal_id).status is ProposalStatus.ACCEPTED
        added = statuses[1:].count(302)
        # The plan lands whole or not at all: if it did, no pinned stay was added after it.
        stays = session.scalar(select(func.count()).select_from(Stay))
        assert stays == (len(people) if accepted else 0) + added
        assert accepted != (added > 0), statuses


# --- crossing lists -----------------------------------------------------------------------


def test_a_crossing_list_sent_while_stays_starting_that_day_change_names_who_crosses(office):
    """While one scheduler marks the list of the 2nd sent, others add and remove stays that
    start on the 2nd: the list as sent names exactly who crosses that day, or it is marked
    amended (to be sent again)."""
    crossing, joining, joining_too, leaving = _people(office, 4)
    _stay(office, crossing, OCT(2), OCT(10))
    leaving_stay = _stay(office, leaving, OCT(2), OCT(6))
    schedulers = _schedulers(office)

    statuses = at_once(
        [
            post(
                office,
                schedulers[0],
                "/staffing/crossings/2018-10-02/status",
                data={"status": "sent"},
            ),
            post(
                office,
                schedulers[1],
                f"/staffing/people/{joining.id}/stays",
                data=_stay_form(OCT(2), OCT(9)),
            ),
            post(
                office,
                schedulers[0],
                f"/staffing/people/{joining_too.id}/stays",
                data=_stay_form(OCT(2), OCT(4)),
            ),
            post(office, schedulers[1], f"/staffing/stays/{leaving_stay}/delete"),
        ]
    )

    assert statuses == [302] * 4, statuses
    with office.session() as session:
        row = session.scalar(select(CrossingList).where(CrossingList.crossing_on == OCT(2)))
        assert row is not None and row.status in (CrossingStatus.SENT, CrossingStatus.AMENDED)
        crosses = services.crossings_on(session, OCT(2)).snapshot()
        assert crosses["north"] == sorted([crossing.id, joining.id, joining_too.id])
        if row.status is CrossingStatus.SENT:
            assert row.sent_snapshot == crosses
        else:
            assert row.sent_snapshot != crosses


# --- the sides' rules ---------------------------------------------------------------------


def _rules_form(**changes: object) -> dict[str, object]:
    form: dict[str, object] = {
        "south-weekday_min": "15",
        "south-weekend_min": "15",
        "south-max_headcount": "20",
        "south-counted_categories": ["official"],
        "south-min_night_duty": "1",
        "south-max_consecutive_days": "12",
        "south-min_stay_days": "1",
        "south-min_rest_days": "2",
        "south-crossing_weekdays": [str(n) for n in range(7)],
        "south-max_crossings_per_month": "",
        "south-applies_from": "2018-09-14",
    }
    form.update({f"south-{name}": value for name, value in changes.items()})
    return form


def _stay_rules(session: Session) -> tuple:
    rule = services.rules_by_side(session)[Side.SOUTH]
    return (
        rule.min_stay_days,
        rule.max_consecutive_days,
        rule.crossing_weekdays,
        rule.max_crossings_per_month,
    )


def _longer_shortest_stay(session: Session) -> None:
    """Another scheduler's save, as the service makes it: stays of 10 to 12 days, crossing on
    Mondays, at most 4 crossings a month."""
    rule = services.rules_by_side(session)[Side.SOUTH]
    services.update_rules(
        session,
        rule,
        weekday_min=15,
        weekend_min=15,
        max_headcount=20,
        counted_categories=["official"],
        min_night_duty=1,
        max_consecutive_days=12,
        min_stay_days=10,
        min_rest_days=2,
        crossing_weekdays=[0],
        max_crossings_per_month=4,
        actor=None,
        now=NOW,
    )


def test_rules_saved_while_another_save_is_in_flight_land_whole(office):
    """One save of the South's rules holds the side (stays of 10 to 12 days); another,
    sent meanwhile, read the rules before (shortest 1, longest 12) and sets stays of 1 to 6
    days. It must write all it was sent once it has the side: keeping the shortest stay it
    did not change as it read it would leave 10 to 6, which the database refuses (a 500)."""
    save = post(
        office,
        office.scheduler,
        "/staffing/rules/south",
        data=_rules_form(max_consecutive_days="6", min_stay_days="1"),
    )

    with held(office, _longer_shortest_stay):
        thread, answered = in_background(save)
        thread.join(timeout=1)
        assert answered == [], "the save did not wait for the one in flight"
    thread.join(timeout=30)

    assert answered == [302]
    with office.session() as session:
        assert _stay_rules(session) == (1, 6, [0, 1, 2, 3, 4, 5, 6], None)


def test_rules_saved_at_once_are_one_schedulers_rules_whole(office):
    first, second = _schedulers(office)
    short = _rules_form(max_consecutive_days="6", min_stay_days="2", crossing_weekdays=["0", "3"])
    long = _rules_form(min_stay_days="10", max_crossings_per_month="4")

    statuses = at_once(
        [
            post(office, first, "/staffing/rules/south", data=short),
            post(office, second, "/staffing/rules/south", data=long),
        ]
    )

    assert statuses == [302, 302], statuses
    with office.session() as session:
        assert _stay_rules(session) in [(2, 6, [0, 3], None), (10, 12, [0, 1, 2, 3, 4, 5, 6], 4)]
