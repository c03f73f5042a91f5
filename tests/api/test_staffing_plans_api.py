"""The rotation planner through the API, for schedulers, as its pages run it: a plan asked
for is a worker's job to follow, the plan it finds a proposal to read, then to accept (through
the proposal page's service, with its refusals) or discard."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from office.auth.permissions import Role
from office.jobs.models import Job, JobState
from office.staffing.models import PlanProposal, ProposalStatus, Side, Stay
from tests.api.conftest import API, assert_problem
from tests.factories import NOW, audit_events, make_person, stay
from tests.jobs import run_jobs

D = date
ASK = {"side": "south", "first_day": "2018-10-01", "days": 7}


@pytest.fixture
def scheduler_api(api_as):
    return api_as(Role.SCHEDULER)


def proposal_of(session, stays, *, status=ProposalStatus.PROPOSED) -> PlanProposal:
    """A proposal for the South from 1 to 14 October 2018, written out by hand."""
    proposal = PlanProposal(
        side=Side.SOUTH,
        first_day=D(2018, 10, 1),
        last_day=D(2018, 10, 14),
        status=status,
        plan={
            "people": sorted({p.id for p, _a, _b in stays}),
            "stays": [[p.id, a.isoformat(), b.isoformat()] for p, a, b in stays],
            "nights": [],
        },
        objective="feasible; 12.0 s; spread of nights 1, weekends 2, days on site 4",
        created_at=NOW,
    )
    session.add(proposal)
    session.commit()
    return proposal


def stays_of(session, person) -> list[tuple[date, date]]:
    session.expire_all()
    return [
        (s.first_day, s.last_day)
        for s in session.scalars(
            select(Stay).where(Stay.staff_member_id == person.id).order_by(Stay.first_day)
        )
    ]


def test_a_plan_asked_for_is_searched_by_a_worker_then_accepted(app, scheduler_api, session):
    small = {
        "weekday_min": 2,
        "weekend_min": 2,
        "max_headcount": 4,
        "counted_categories": ["official"],
        "min_night_duty": 1,
        "max_consecutive_days": 4,
        "min_stay_days": 1,
        "min_rest_days": 1,
        "crossing_weekdays": [0, 1, 2, 3, 4, 5, 6],
        "max_crossings_per_month": None,
        "applies_from": "2018-09-14",
    }
    assert scheduler_api.post("/staffing/rules/south", small).status_code == 200
    for n in range(6):
        make_person(session, qualified=n < 3)

    asked = scheduler_api.post("/staffing/plans", ASK)

    assert asked.status_code == 202, asked.get_json()
    job = asked.get_json()
    assert asked.headers["Location"] == job["url"] == f"{API}/staffing/plan-jobs/{job['id']}"
    assert (job["state"], job["finished"], job["proposal_url"]) == ("queued", False, None)
    # Asked again while under way: the same search.
    assert scheduler_api.post("/staffing/plans", ASK).get_json()["id"] == job["id"]
    assert session.scalar(select(func.count()).select_from(Job)) == 1

    run_jobs(app)
    done = scheduler_api.get(f"/staffing/plan-jobs/{job['id']}").get_json()
    assert (done["state"], done["finished"]) == (JobState.DONE.value, True), done["error"]
    assert done["solutions"] >= 1 and done["crossings"] is not None
    proposal = scheduler_api.get(done["proposal_url"].removeprefix(API)).get_json()
    assert (proposal["side"], proposal["first_day"], proposal["last_day"]) == (
        "south",
        "2018-10-01",
        "2018-10-07",
    )
    assert proposal["status"] == "proposed" and proposal["summary"].startswith("Found")
    assert len(proposal["changes"]) == 6
    assert [p["id"] for p in scheduler_api.get("/staffing/plans").get_json()["items"]] == [
        proposal["id"]
    ]

    accepted = scheduler_api.post(f"/staffing/plans/{proposal['id']}/accept")

    assert accepted.status_code == 200, accepted.get_json()
    assert accepted.get_json()["status"] == "accepted"
    assert accepted.get_json()["decided_at"].endswith("Z")
    kept = session.get(PlanProposal, proposal["id"])
    planned = sorted((pid, a, b) for pid, a, b in kept.plan["stays"])
    recorded = sorted(
        (s.staff_member_id, s.first_day.isoformat(), s.last_day.isoformat())
        for s in session.scalars(select(Stay))
    )
    assert recorded == planned
    assert [e.actor_id for e in audit_events(session, "plan.accepted")] == [scheduler_api.user.id]


def test_a_proposal_shows_what_accepting_it_changes(scheduler_api, session):
    kim = make_person(session, name="김철수")
    stay(session, kim, D(2018, 10, 2), D(2018, 10, 5))
    proposal = proposal_of(session, [(kim, D(2018, 10, 4), D(2018, 10, 9))])

    body = scheduler_api.get(f"/staffing/plans/{proposal.id}").get_json()

    assert body["summary"] == (
        "Found a good plan, not proven the best in 12.0 s; spread of nights 1, of weekends "
        "2, of days on site 4."
    )
    assert body["changes"] == [
        {
            "person_id": kim.id,
            "person": "김철수",
            "added": [["2018-10-06", "2018-10-09"]],
            "removed": [["2018-10-02", "2018-10-03"]],
            "nights_before": 0,
            "nights_after": 0,
        }
    ]


def test_a_discarded_proposal_changes_no_stay(scheduler_api, session):
    kim = make_person(session)
    stay(session, kim, D(2018, 10, 2), D(2018, 10, 5))
    proposal = proposal_of(session, [(kim, D(2018, 10, 4), D(2018, 10, 9))])

    discarded = scheduler_api.post(f"/staffing/plans/{proposal.id}/discard")

    assert discarded.status_code == 200
    assert discarded.get_json()["status"] == "discarded"
    assert stays_of(session, kim) == [(D(2018, 10, 2), D(2018, 10, 5))]
    body = assert_problem(scheduler_api.post(f"/staffing/plans/{proposal.id}/accept"), 409)
    assert body["detail"] == "This proposal was already discarded."
    assert stays_of(session, kim) == [(D(2018, 10, 2), D(2018, 10, 5))]


def test_a_proposal_that_no_longer_fits_is_refused_whole(scheduler_api, session):
    kim, park = make_person(session), make_person(session)
    proposal = proposal_of(
        session, [(kim, D(2018, 10, 3), D(2018, 10, 8)), (park, D(2018, 10, 3), D(2018, 10, 8))]
    )
    stay(session, park, D(2018, 10, 6), D(2018, 10, 20))  # pinned or not, it reaches past

    response = scheduler_api.post(f"/staffing/plans/{proposal.id}/accept")

    assert assert_problem(response, 409)["detail"]
    assert stays_of(session, kim) == []
    assert session.get(PlanProposal, proposal.id).status is ProposalStatus.PROPOSED


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"days": 93}, "days"),
        ({"days": 0}, "days"),
        ({"days": "7"}, "days"),
        ({"side": "east"}, "side"),
        ({"first_day": "2018-02-30"}, "first_day"),
        ({"first_day": "1899-01-01"}, "first_day"),
        ({"hurry": True}, "hurry"),
    ],
)
def test_a_plan_asked_for_badly_is_refused_and_no_job_made(scheduler_api, session, changes, field):
    response = scheduler_api.post("/staffing/plans", {**ASK, **changes})

    assert field in assert_problem(response, 422)["errors"]
    assert session.scalar(select(func.count()).select_from(Job)) == 0


def test_a_plan_asked_for_past_the_office_dates_is_refused_on_its_days(scheduler_api, session):
    response = scheduler_api.post("/staffing/plans", {**ASK, "first_day": "2099-12-30"})

    assert list(assert_problem(response, 422)["errors"]) == ["days"]
    assert session.scalar(select(func.count()).select_from(Job)) == 0


def test_a_planner_job_is_its_owners_to_follow(api_as, scheduler_api, session):
    job = scheduler_api.post("/staffing/plans", ASK).get_json()

    assert_problem(api_as(Role.SCHEDULER).get(f"/staffing/plan-jobs/{job['id']}"), 404)
    assert_problem(scheduler_api.get("/staffing/plan-jobs/999999"), 404)
    assert_problem(scheduler_api.get("/staffing/plans/999999"), 404)
    assert_problem(scheduler_api.post("/staffing/plans/999999/accept"), 404)
    assert_problem(scheduler_api.post("/staffing/plans/999999/discard"), 404)


@pytest.mark.parametrize("role", [Role.ADMIN, Role.REVIEWER])
def test_only_a_scheduler_plans(api_as, anonymous_api, session, role):
    kim = make_person(session)
    proposal = proposal_of(session, [(kim, D(2018, 10, 4), D(2018, 10, 9))])
    api = api_as(role)

    assert_problem(api.post("/staffing/plans", ASK), 403)
    assert_problem(api.get("/staffing/plans"), 403)
    assert_problem(api.get(f"/staffing/plans/{proposal.id}"), 403)
    assert_problem(api.post(f"/staffing/plans/{proposal.id}/accept"), 403)
    assert_problem(anonymous_api.post(f"/staffing/plans/{proposal.id}/discard"), 401)
    assert session.get(PlanProposal, proposal.id).status is ProposalStatus.PROPOSED
    assert session.scalar(select(func.count()).select_from(Job)) == 0
