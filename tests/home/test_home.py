"""Each role's home page: the first thing its people see after logging in, with what awaits them
and the few figures they watch, each entry linking to where the work is done."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from office.auth.permissions import Role
from office.fuel import services as fuel
from office.home import queries
from office.reviews.models import ItemKind, ReviewAction
from office.staffing import services as staffing
from office.staffing.models import CrossingStatus, Side
from tests.conftest import log_in
from tests.factories import (
    NOW,
    draw,
    make_approval,
    make_person,
    make_resource,
    make_user,
    stay,
)
from tests.reviews.arrange import OCT, acknowledge_all, act, capped_line, issue, one_of_each, tank

NOV = date(2018, 11, 12)  # a Monday after the October of the flagged records


@pytest.fixture
def scheduler(session):
    return make_user(session, Role.SCHEDULER, name="Scheduler Lee")


def main_links(html: str) -> list[str]:
    main = html[html.index("<main") : html.index("</main>")]
    return re.findall(r'href="([^"]+)"', main)


CARDS = {
    Role.ADMIN: ["home-log", "home-unsigned", "home-queries", "home-deliveries", "home-tanks"],
    Role.REVIEWER: ["home-awaiting", "home-lines", "home-months"],
    Role.SCHEDULER: ["home-headcount", "home-rules", "home-crossings"],
}


@pytest.mark.parametrize("role", list(CARDS))
def test_each_role_lands_on_its_own_home_page_whose_links_all_open(
    client, session, admin, diesel, role
):
    one_of_each(session, admin, diesel)
    user = admin if role is Role.ADMIN else make_user(session, role)
    log_in(client, user)

    response = client.get("/")

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    for card in CARDS[role]:
        assert f'data-testid="{card}"' in html
    for other in CARDS:
        if other is not role:
            assert not any(f'data-testid="{card}"' in html for card in CARDS[other])
    links = main_links(html)
    assert links
    for link in links:
        assert client.get(link).status_code == 200, link


def test_the_administrator_sees_the_days_queries_deliveries_fuel_and_returns(
    session, admin, reviewer, diesel
):
    flagged = one_of_each(session, admin, diesel)
    act(session, ItemKind.OVERRIDE, flagged.override.id, ReviewAction.QUERY, reviewer, "Why?")
    fuel.sign_off(session, OCT(18), actor=admin, now=NOW)
    session.commit()

    home = queries.admin_home(session, OCT(20))

    assert home.log is None
    assert home.unsigned[0] == OCT(19)  # newest first; the 18th is signed off
    assert OCT(18) not in home.unsigned
    assert home.queries_to_answer == 1
    assert home.overdue == []  # due back south by the 20th: overdue from the 21st
    assert queries.admin_home(session, OCT(21)).overdue == [flagged.overdue]
    assert flagged.use.tank in [t.tank for t in home.tanks]


def test_days_of_fuel_left_are_marked_when_under_a_week(session, admin, diesel):
    store = tank(session, diesel, opening="7000")
    for day in range(14, 21):
        issue(session, store, 1000, OCT(day))

    (left,) = [t for t in queries.admin_home(session, OCT(20)).tanks if t.tank.id == store.id]

    assert left.book == 0
    assert left.days_left == 0
    assert left.low


def test_deliveries_planned_in_the_next_week_and_not_yet_received_are_listed(session, admin):
    from office.supplies import services as supplies

    def planned(reference: str, on: date) -> None:
        supplies.save_delivery(
            session,
            reference=reference,
            direction="north",
            planned_on=on,
            carrier="Hyundai Logistics",
            approval=make_approval(session, reference="MOU-CO-2018-301"),
            actor=admin,
            now=NOW,
        )

    planned("KLO-SOON", OCT(22))
    planned("KLO-LATER", OCT(30))
    planned("KLO-PAST", OCT(19))
    session.commit()

    home = queries.admin_home(session, OCT(20))

    assert [d.reference for d in home.deliveries] == ["KLO-SOON"]


def test_the_reviewer_sees_items_by_kind_lines_near_their_cap_and_months_ready(
    session, admin, reviewer, diesel
):
    flagged = one_of_each(session, admin, diesel)
    rice = make_resource(session, "rice", hs_code="1006.30", unit="kg", name="Rice")
    line = capped_line(session, rice, "1000", reference="MOU-R-RICE")
    draw(session, rice, "800", line=line, on=NOV - timedelta(days=2), actor=admin)

    home = queries.reviewer_home(session, NOV)

    assert home.awaiting[ItemKind.OVERRIDE] == 1
    assert home.awaiting_total == len(flagged.keys())
    watched = {state.line.id: state for state in home.lines}
    assert watched[line.id].alert == "warn"  # 80 % of its cap
    assert OCT(1) not in home.ready_months  # October's items are still open

    acknowledge_all(session, reviewer, today=NOV)
    home = queries.reviewer_home(session, NOV)

    assert home.awaiting_total == 0
    assert OCT(1) in home.ready_months


def test_the_scheduler_sees_headcounts_broken_rules_by_week_and_lists_to_send(session, scheduler):
    south = [make_person(session, Side.SOUTH) for _ in range(16)]
    north = [make_person(session, Side.NORTH) for _ in range(14)]
    for person in south:
        stay(session, person, NOV - timedelta(days=3), NOV + timedelta(days=5))
    for person in north:
        stay(session, person, NOV - timedelta(days=3), NOV + timedelta(days=20))

    home = queries.scheduler_home(session, NOV, locale="en")

    assert home.today_count(Side.SOUTH).count == 16
    assert home.today_count(Side.SOUTH).within
    assert home.today_count(Side.NORTH).count == 14
    assert not home.today_count(Side.NORTH).within  # under the 15 the North must have
    north_minimum = [
        g for g in home.groups if g.side is Side.NORTH and g.rule.value == "headcount_min"
    ]
    assert north_minimum and north_minimum[0].week == NOV and north_minimum[0].count == 7
    # The South leaves on the 17th: its list is to send until it is sent.
    leaving = NOV + timedelta(days=5)
    assert (leaving, 0, 16, None) in home.crossings

    staffing.mark_crossing_list(session, leaving, CrossingStatus.SENT, actor=scheduler, now=NOW)
    session.commit()

    assert leaving not in [
        day for day, *_ in queries.scheduler_home(session, NOV, locale="en").crossings
    ]
