"""Hard rules refuse the save (overlapping stays, duty outside a stay, the other side on a duty
list); the rest of the staffing services."""

from datetime import date

import pytest
from sqlalchemy import func, select

from office.errors import ConflictError, InvalidInput
from office.staffing import services
from office.staffing.models import (
    Category,
    CrossingStatus,
    DutyShift,
    Shift,
    Side,
    Stay,
)
from tests.factories import NOW, make_person, stay

D = date


def stays(session) -> int:
    return session.scalar(select(func.count()).select_from(Stay))


@pytest.mark.parametrize(
    ("first", "last"),
    [
        (D(2018, 10, 5), D(2018, 10, 12)),
        (D(2018, 9, 28), D(2018, 10, 1)),
        (D(2018, 10, 10), D(2018, 10, 10)),
        (D(2018, 9, 1), D(2018, 12, 1)),
    ],
)
def test_overlapping_stays_are_refused(session, first, last):
    person = make_person(session, name="김철수")
    stay(session, person, D(2018, 10, 1), D(2018, 10, 10))
    with pytest.raises(
        ConflictError,
        match=r"김철수 already has a stay from 2018-10-01 to 2018-10-10; stays cannot overlap\.",
    ):
        services.add_stay(session, person, first, last, actor=None, now=NOW)
    assert stays(session) == 1


def test_touching_stays_are_allowed_and_left_to_the_rest_rule(session):
    person = make_person(session)
    stay(session, person, D(2018, 10, 1), D(2018, 10, 10))
    stay(session, person, D(2018, 10, 11), D(2018, 10, 12))
    assert stays(session) == 2


def test_a_stay_ending_before_it_starts_is_refused(session):
    person = make_person(session)
    with pytest.raises(InvalidInput, match="cannot end") as error:
        services.add_stay(session, person, D(2018, 10, 5), D(2018, 10, 4), actor=None, now=NOW)
    assert error.value.field == "last_day"


@pytest.mark.parametrize("first", [D(1, 1, 1), D(9999, 12, 31)])
def test_dates_far_outside_the_office_years_are_refused(session, first):
    person = make_person(session)
    with pytest.raises(InvalidInput, match="between 2000-01-01 and 2099-12-31"):
        services.add_stay(session, person, first, first, actor=None, now=NOW)


def test_a_stay_outside_the_roster_dates_is_refused(session):
    person = make_person(session, active_from=D(2018, 9, 14), active_until=D(2018, 12, 31))
    with pytest.raises(InvalidInput, match="the stay must fall within"):
        services.add_stay(session, person, D(2018, 9, 10), D(2018, 9, 20), actor=None, now=NOW)


def test_duty_must_fall_within_a_stay(session):
    person = make_person(session, name="이영희")
    stay(session, person, D(2018, 10, 1), D(2018, 10, 5))
    services.set_duty(
        session, D(2018, 10, 5), Side.SOUTH, Shift.NIGHT, [person], actor=None, now=NOW
    )
    with pytest.raises(ConflictError, match="이영희 is not on site on 2018-10-06"):
        services.set_duty(
            session, D(2018, 10, 6), Side.SOUTH, Shift.NIGHT, [person], actor=None, now=NOW
        )


def test_a_person_of_the_other_side_cannot_be_on_a_duty_list(session):
    north = make_person(session, Side.NORTH, name="리광혁")
    stay(session, north, D(2018, 10, 1), D(2018, 10, 5))
    with pytest.raises(InvalidInput, match="리광혁 belongs to the other side"):
        services.set_duty(
            session, D(2018, 10, 2), Side.SOUTH, Shift.NIGHT, [north], actor=None, now=NOW
        )


def test_setting_a_duty_list_replaces_that_sides_list_only(session):
    south_a, south_b = make_person(session), make_person(session)
    north = make_person(session, Side.NORTH)
    for person in (south_a, south_b, north):
        stay(session, person, D(2018, 10, 1), D(2018, 10, 5))
    day = D(2018, 10, 2)
    services.set_duty(session, day, Side.NORTH, Shift.NIGHT, [north], actor=None, now=NOW)
    services.set_duty(session, day, Side.SOUTH, Shift.NIGHT, [south_a], actor=None, now=NOW)
    services.set_duty(session, day, Side.SOUTH, Shift.NIGHT, [south_b], actor=None, now=NOW)
    on_duty = set(
        session.scalars(select(DutyShift.staff_member_id).where(DutyShift.duty_on == day))
    )
    assert on_duty == {south_b.id, north.id}


def test_shrinking_a_stay_that_carries_duty_is_refused(session):
    person = make_person(session)
    kept = stay(session, person, D(2018, 10, 1), D(2018, 10, 5))
    services.set_duty(
        session, D(2018, 10, 5), Side.SOUTH, Shift.NIGHT, [person], actor=None, now=NOW
    )
    with pytest.raises(ConflictError, match="remove the duty first"):
        services.change_stay(
            session,
            kept,
            D(2018, 10, 1),
            D(2018, 10, 4),
            pinned=False,
            note="",
            actor=None,
            now=NOW,
        )
    with pytest.raises(ConflictError, match="remove the duty first"):
        services.remove_stay(session, kept, actor=None, now=NOW)


def test_duplicate_people_are_refused(session):
    first = make_person(session, name="정다은")
    with pytest.raises(InvalidInput, match="정다은 is already on the roster of this side"):
        services.save_person(
            session,
            services.PersonInput(
                "정다은",
                first.name_latin.upper(),
                Side.SOUTH,
                Category.SUPPORT,
                "",
                first.position,
                False,
                D(2018, 1, 1),
                None,
            ),
            actor=None,
            now=NOW,
        )
    # The same name on the other side is another person.
    make_person(session, Side.NORTH, name="정다은")


def test_person_days_counts_the_south_by_category(session):
    official, support = make_person(session), make_person(session, category=Category.SUPPORT)
    north = make_person(session, Side.NORTH)
    stay(session, official, D(2018, 10, 1), D(2018, 10, 3))
    stay(session, support, D(2018, 10, 2), D(2018, 10, 2))
    stay(session, north, D(2018, 10, 1), D(2018, 10, 3))
    days = services.person_days(session, D(2018, 10, 1), D(2018, 10, 4))
    assert days[D(2018, 10, 2)] == {Category.OFFICIAL: 1, Category.SUPPORT: 1}
    assert days[D(2018, 10, 1)] == {Category.OFFICIAL: 1}
    assert sum(days[D(2018, 10, 4)].values()) == 0


def test_crossing_lists_follow_the_stays_and_are_amended_after_a_change(session):
    person = make_person(session, name="한지민")
    leaving = make_person(session, name="오승현")
    stay(session, person, D(2018, 10, 1), D(2018, 10, 5))
    stay(session, leaving, D(2018, 9, 20), D(2018, 10, 1))
    crossings = services.crossings_on(session, D(2018, 10, 1))
    assert [p.name_ko for p in crossings.north] == ["한지민"]
    assert [p.name_ko for p in crossings.south] == ["오승현"]
    services.mark_crossing_list(session, D(2018, 10, 1), CrossingStatus.SENT, actor=None, now=NOW)
    row = services.mark_crossing_list(
        session, D(2018, 10, 1), CrossingStatus.ACCEPTED, actor=None, now=NOW
    )
    assert row.status is CrossingStatus.ACCEPTED
    newcomer = make_person(session)
    stay(session, newcomer, D(2018, 10, 1), D(2018, 10, 3))
    assert row.status is CrossingStatus.AMENDED
    with pytest.raises(ConflictError, match="cannot become accepted"):
        services.mark_crossing_list(
            session, D(2018, 10, 1), CrossingStatus.ACCEPTED, actor=None, now=NOW
        )
    services.mark_crossing_list(session, D(2018, 10, 1), CrossingStatus.SENT, actor=None, now=NOW)
    assert row.sent_snapshot["north"] == sorted([person.id, newcomer.id])


def test_a_list_with_nobody_crossing_cannot_be_sent(session):
    with pytest.raises(ConflictError, match="Nobody crosses on 2018-10-01"):
        services.mark_crossing_list(
            session, D(2018, 10, 1), CrossingStatus.SENT, actor=None, now=NOW
        )


def test_rules_that_contradict_each_other_are_refused(session):
    rule = services.rules_by_side(session)[Side.SOUTH]
    base = dict(
        weekday_min=15,
        weekend_min=15,
        max_headcount=20,
        counted_categories=["official"],
        min_night_duty=1,
        max_consecutive_days=12,
        min_rest_days=2,
        min_stay_days=1,
        crossing_weekdays=range(7),
        max_crossings_per_month=None,
        actor=None,
        now=NOW,
    )
    with pytest.raises(InvalidInput, match="between 0 and the maximum headcount"):
        services.update_rules(session, rule, **{**base, "weekday_min": 21})
    with pytest.raises(InvalidInput, match="at least one category"):
        services.update_rules(session, rule, **{**base, "counted_categories": []})
    services.update_rules(
        session, rule, **{**base, "weekend_min": 10, "counted_categories": ["official", "support"]}
    )
    assert (rule.weekend_min, rule.counted_categories) == (10, ["official", "support"])
