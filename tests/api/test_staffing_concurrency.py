"""Stays and duty sent through the API at the same moment, committed for real
(`tests.concurrency`): a person's stays never overlap, duty never falls on a day off site, a
change keeps what another change committed meanwhile, and nobody gets a server error."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from office.audit.models import AuditEvent
from office.auth.models import User
from office.auth.permissions import Role
from office.jobs.models import Job, JobState
from office.staffing import services
from office.staffing.models import (
    CrossingList,
    CrossingStatus,
    DutyShift,
    PlanProposal,
    ProposalStatus,
    Side,
    StaffMember,
    Stay,
)
from tests.api.conftest import token_of
from tests.concurrency import Office, at_once, held, in_background
from tests.factories import make_person, make_user, stay


def OCT(day: int) -> date:
    return date(2018, 10, day)


def send(office: Office, token: str, path: str, body: Any) -> Callable[[], tuple[int, Any]]:
    client = office.client()

    def call() -> tuple[int, Any]:
        response = client.post(
            "/api/v1" + path, json=body, headers={"Authorization": f"Bearer {token}"}
        )
        return response.status_code, response.get_json()

    return call


def _people(office: Office, n: int) -> list[StaffMember]:
    with office.session() as session:
        people = [make_person(session, name=f"직원{n}-{i}") for i in range(n)]
        session.commit()
        return people


def _stay(office: Office, person: StaffMember, first: date, last: date) -> int:
    with office.session() as session:
        return stay(session, session.get(StaffMember, person.id), first, last).id


def _tokens(office: Office) -> list[str]:
    """Tokens of two schedulers."""
    with office.session() as session:
        second: User = make_user(session, Role.SCHEDULER, name="Scheduler Two")
    return [token_of(office, office.scheduler), token_of(office, second)]


def test_two_overlapping_stays_of_one_person_sent_at_once_one_lands_the_other_is_409(office):
    people = _people(office, 4)
    tokens = _tokens(office)
    calls = []
    for person in people:
        for n, (first, last) in enumerate([(OCT(1), OCT(10)), (OCT(5), OCT(15))]):
            body = {
                "person_id": person.id,
                "first_day": first.isoformat(),
                "last_day": last.isoformat(),
            }
            calls.append(send(office, tokens[n], "/staffing/stays", body))

    answers = at_once(calls)

    statuses = [status for status, _body in answers]
    assert [sorted(statuses[n : n + 2]) for n in range(0, len(statuses), 2)] == [[201, 409]] * len(
        people
    ), answers
    for status, body in answers:
        if status == 409:
            assert body["detail"].endswith("; stays cannot overlap."), body
    with office.session() as session:
        for person in people:
            kept = session.scalars(select(Stay).where(Stay.staff_member_id == person.id)).all()
            assert len(kept) == 1, person.id


def test_a_stay_changed_and_removed_at_once_is_answered_plainly(office):
    """Each of four stays is removed by one scheduler while another moves it: the move lands
    first (and the removal removes the moved stay), or finds it gone (404)."""
    people = _people(office, 4)
    stay_ids = [_stay(office, person, OCT(1), OCT(10)) for person in people]
    remover, mover = _tokens(office)
    calls = []
    for stay_id in stay_ids:
        calls.append(send(office, remover, f"/staffing/stays/{stay_id}/removal", {}))
        calls.append(send(office, mover, f"/staffing/stays/{stay_id}", {"last_day": "2018-10-12"}))

    answers = at_once(calls)

    statuses = [status for status, _body in answers]
    assert statuses[0::2] == [200] * len(stay_ids), answers
    assert set(statuses[1::2]) <= {200, 404}, answers
    with office.session() as session:
        assert session.scalar(select(func.count()).select_from(Stay)) == 0


def test_duty_set_while_stays_are_shrunk_never_falls_off_site(office):
    people = _people(office, 4)
    stay_ids = [_stay(office, person, OCT(1), OCT(10)) for person in people]
    stays_by, duty_by = _tokens(office)
    calls = []
    for n, (person, stay_id) in enumerate(zip(people, stay_ids, strict=True)):
        calls.append(
            send(office, stays_by, f"/staffing/stays/{stay_id}", {"last_day": "2018-10-03"})
        )
        duty = {
            "day": OCT(5 + n).isoformat(),
            "side": "south",
            "shift": "night",
            "people": [person.id],
        }
        calls.append(send(office, duty_by, "/staffing/duty", duty))

    answers = at_once(calls)

    statuses = [status for status, _body in answers]
    assert set(statuses) <= {200, 409}, answers
    with office.session() as session:
        for n, stay_id in enumerate(stay_ids):
            kept = session.get(Stay, stay_id)
            on_duty = session.scalar(
                select(func.count()).select_from(DutyShift).where(DutyShift.duty_on == OCT(5 + n))
            )
            # Exactly one of the two landed: the shrink, or the duty (and the shrink refused).
            assert (kept.last_day == OCT(3), on_duty) in ((True, 0), (False, 1)), answers
            assert (statuses[2 * n], statuses[2 * n + 1]) in ((200, 409), (409, 200)), answers


def test_a_change_keeps_what_another_change_committed_while_it_waited(office):
    """A note sent for a stay whose days another scheduler is moving waits for the move, then
    keeps the moved days: what the request leaves out is read once it holds the side."""
    (person,) = _people(office, 1)
    stay_id = _stay(office, person, OCT(1), OCT(10))
    (token, _other) = _tokens(office)
    note = send(office, token, f"/staffing/stays/{stay_id}", {"note": "Boiler"})

    def move(session: Session) -> None:
        services.lock_sides(session, Side.SOUTH)
        session.get(Stay, stay_id).last_day = OCT(20)

    with held(office, move):
        thread, answered = in_background(note)
        thread.join(timeout=1)
        assert answered == [], "the change did not wait for the move in flight"
    thread.join(timeout=30)

    assert [status for status, _body in answered] == [200], answered
    assert answered[0][1]["last_day"] == "2018-10-20"
    with office.session() as session:
        kept = session.get(Stay, stay_id)
        assert (kept.last_day, kept.note) == (OCT(20), "Boiler")


def test_one_person_added_twice_at_once_is_on_the_roster_once(office):
    tokens = _tokens(office)
    person = {
        "name_ko": "한지민",
        "name_latin": "HAN Jimin",
        "side": "south",
        "category": "official",
        "position": "staff",
        "active_from": "2018-09-01",
    }
    calls = [send(office, tokens[n % 2], "/staffing/people", person) for n in range(4)]

    answers = at_once(calls)

    assert sorted(status for status, _body in answers) == [201, 422, 422, 422], answers
    with office.session() as session:
        named = select(func.count()).where(StaffMember.name_ko == "한지민")
        assert session.scalar(named.select_from(StaffMember)) == 1


def test_rosters_imported_at_once_add_each_person_once_and_a_refused_one_nobody(office):
    """Two files naming one person, and that person added by hand, all at once: one of the
    three lands; the others are refused whole, naming the line of the person already added."""
    tokens = _tokens(office)
    header = ",".join(services.ROSTER_COLUMNS)
    kim = "김철수,Kim Cheolsu,south,official,,duty_officer,yes,2018-09-14,"
    files = {
        "박기술": f"{header}\n{kim}\n박기술,Park Gisul,south,support,KT,technician,no,2018-09-14,",
        "리광혁": f"{header}\n{kim}\n리광혁,,north,official,,staff,no,2018-09-14,",
    }
    person = {
        "name_ko": "김철수",
        "name_latin": "Kim Cheolsu",
        "side": "south",
        "category": "official",
        "position": "staff",
        "active_from": "2018-09-01",
    }
    calls = [
        send(office, tokens[n], "/staffing/people/import", {"csv": text})
        for n, text in enumerate(files.values())
    ]
    calls.append(send(office, tokens[0], "/staffing/people", person))

    answers = at_once(calls)

    assert sorted(status for status, _body in answers) == [201, 422, 422], answers
    for status, body in answers[:2]:
        if status == 422:
            assert body["rejected_lines"] == [
                {"line": 2, "message": "김철수 is already on the roster."}
            ], body
    with office.session() as session:
        names = list(session.scalars(select(StaffMember.name_ko)))
    assert names.count("김철수") == 1, names
    landed = {
        other for (status, _body), other in zip(answers[:2], files, strict=True) if status == 201
    }
    assert sorted(names) == sorted(["김철수", *landed]), answers


def test_a_sides_rules_changed_twice_at_once_are_one_change_whole(office):
    """Two schedulers save the South's rules at once: each waits for the other, and the rules
    are one of the two as sent, never a mix of both."""
    tokens = _tokens(office)
    common = {
        "counted_categories": ["official"],
        "min_night_duty": 1,
        "min_rest_days": 2,
        "crossing_weekdays": [0, 1, 2, 3, 4, 5, 6],
        "applies_from": "2018-09-14",
    }
    bodies = [
        {
            **common,
            "weekday_min": 3,
            "weekend_min": 3,
            "max_headcount": 6,
            "max_consecutive_days": 10,
            "min_stay_days": 5,
            "max_crossings_per_month": 4,
        },
        {
            **common,
            "weekday_min": 9,
            "weekend_min": 8,
            "max_headcount": 12,
            "max_consecutive_days": 14,
            "min_stay_days": 7,
            "max_crossings_per_month": None,
        },
    ]
    calls = [send(office, tokens[n], "/staffing/rules/south", bodies[n]) for n in range(2)]

    answers = at_once(calls)

    assert [status for status, _body in answers] == [200, 200], answers
    with office.session() as session:
        rule = services.rules_by_side(session)[Side.SOUTH]
        kept = {field: getattr(rule, field) for field in bodies[0] if field != "applies_from"}
        events = session.scalar(
            select(func.count()).where(AuditEvent.action == "staffing.rules_changed")
        )
    assert kept in [{k: v for k, v in b.items() if k != "applies_from"} for b in bodies], kept
    assert events == 2


def test_a_list_sent_twice_at_once_is_sent_once(office):
    """Two schedulers send one day's list at the same moment (it has no row yet): one sends
    it, the other is told it is sent already."""
    (person,) = _people(office, 1)
    _stay(office, person, OCT(1), OCT(10))
    tokens = _tokens(office)
    calls = [
        send(office, tokens[n], "/staffing/crossings/2018-10-01/status", {"status": "sent"})
        for n in range(2)
    ]

    answers = at_once(calls)

    assert sorted(status for status, _body in answers) == [200, 409], answers
    refused = next(body for status, body in answers if status == 409)
    assert refused["detail"] == "The list of 2018-10-01 is sent; it cannot become sent."
    with office.session() as session:
        sent = session.scalar(select(func.count()).where(AuditEvent.action == "crossing_list.sent"))
        rows = session.scalars(select(CrossingList)).all()
    assert (sent, [row.status for row in rows]) == (1, [CrossingStatus.SENT])


def test_a_list_sent_while_its_stays_move_is_never_sent_stale(office):
    """Each of four lists is sent while a stay it names is moved: the list sent names the
    stays as they are, or it is marked amended (to be sent again)."""
    people = _people(office, 4)
    stay_ids = [_stay(office, person, OCT(1 + n), OCT(20)) for n, person in enumerate(people)]
    sender, mover = _tokens(office)
    calls = []
    for n, stay_id in enumerate(stay_ids):
        day = OCT(1 + n).isoformat()
        calls.append(send(office, sender, f"/staffing/crossings/{day}/status", {"status": "sent"}))
        calls.append(send(office, mover, f"/staffing/stays/{stay_id}", {"first_day": "2018-10-12"}))

    answers = at_once(calls)

    with office.session() as session:
        for n in range(len(stay_ids)):
            day = OCT(1 + n)
            row = services.crossing_list(session, day)
            current = services.crossings_on(session, day).snapshot()
            sent, moved = answers[2 * n], answers[2 * n + 1]
            assert moved[0] == 200, answers
            if sent[0] == 200:  # sent before the move: the move amended it
                assert row.status is CrossingStatus.AMENDED, (n, answers)
                assert row.sent_snapshot != current
            else:  # moved first: nobody crosses that day any more
                assert sent[1]["detail"] == f"Nobody crosses on {day.isoformat()}.", answers
                assert row is None or row.status is not CrossingStatus.SENT


def _proposal(office: Office, person: StaffMember) -> int:
    """A proposal giving `person` a stay from the 3rd to the 8th, written out by hand."""
    with office.session() as session:
        proposal = PlanProposal(
            side=Side.SOUTH,
            first_day=OCT(1),
            last_day=OCT(14),
            status=ProposalStatus.PROPOSED,
            plan={
                "people": [person.id],
                "stays": [[person.id, "2018-10-03", "2018-10-08"]],
                "nights": [],
            },
        )
        session.add(proposal)
        session.commit()
        return proposal.id


def test_a_proposal_accepted_twice_and_discarded_at_once_is_decided_once(office):
    """Two schedulers accept a proposal while a third discards it: one decision lands, the
    others are told it was decided; an accepted plan's stay is recorded once."""
    people = _people(office, 3)
    proposals = [_proposal(office, person) for person in people]
    tokens = _tokens(office)
    calls = []
    for proposal_id in proposals:
        for n, decision in enumerate(("accept", "accept", "discard")):
            path = f"/staffing/plans/{proposal_id}/{decision}"
            calls.append(send(office, tokens[n % 2], path, {}))

    answers = at_once(calls)

    with office.session() as session:
        for n, (person, proposal_id) in enumerate(zip(people, proposals, strict=True)):
            mine = answers[3 * n : 3 * n + 3]
            assert sorted(status for status, _body in mine) == [200, 409, 409], answers
            won = next(body for status, body in mine if status == 200)
            kept = session.get(PlanProposal, proposal_id)
            assert kept.status.value == won["status"]
            for status, body in mine:
                if status == 409:
                    assert body["detail"] == f"This proposal was already {won['status']}.", body
            stays = session.scalars(select(Stay).where(Stay.staff_member_id == person.id)).all()
            expected = [(OCT(3), OCT(8))] if won["status"] == "accepted" else []
            assert [(s.first_day, s.last_day) for s in stays] == expected


def test_a_plan_asked_for_at_once_by_two_schedulers_is_a_job_of_each(office):
    """Two schedulers ask for the same plan at the same moment: each is answered with a job
    of their own, recorded and queued, that only they may follow."""
    tokens = _tokens(office)
    ask = {"side": "south", "first_day": "2018-10-01", "days": 7}
    calls = [send(office, tokens[n], "/staffing/plans", ask) for n in range(2)]

    answers = at_once(calls)

    assert [status for status, _body in answers] == [202, 202], answers
    with office.session() as session:
        jobs = [session.get(Job, body["id"]) for _status, body in answers]
        assert all(job is not None and job.state is JobState.QUEUED for job in jobs)
        assert len({job.owner_id for job in jobs}) == 2
        assert session.scalar(select(func.count()).select_from(Job)) == 2


def test_a_calendar_link_renewed_twice_at_once_leaves_one_link_that_works(office):
    """Two schedulers make a person a new calendar link at the same moment: each is answered
    with a link; exactly one of the two works (the one saved last), and the old one does not."""
    (person,) = _people(office, 1)
    tokens = _tokens(office)
    calls = [send(office, tokens[n], f"/staffing/people/{person.id}/feed", {}) for n in range(2)]

    answers = at_once(calls)

    assert [status for status, _body in answers] == [200, 200], answers
    links = [body["feed_url"].removeprefix("http://localhost") for _status, body in answers]
    client = office.client()
    works = [
        client.get(link).status_code == 200
        for link in [*links, f"/staffing/feed/{person.feed_token}.ics"]
    ]
    assert sorted(works[:2]) == [False, True] and not works[2], (links, works)
    with office.session() as session:
        kept = session.get(StaffMember, person.id).feed_token
    assert f"/staffing/feed/{kept}.ics" in links
