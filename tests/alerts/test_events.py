"""Notices raised by what people do (#19), in the same transaction: a query reaches the
office, its answer and an escalation the reviewers, a refused drawdown recorded anyway the
reviewers, a crossing list changed after it was sent the schedulers; a staffing rule broken
in the coming week reaches the schedulers from the daily alerts. Each event is one notice,
however often it is raised, and none when its transaction is rolled back."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from office.alerts import daily, services
from office.alerts.models import Channel, Notice, NoticeDelivery, NoticeDismissal, NoticeKind
from office.auth.permissions import Role
from office.reviews import services as reviews
from office.reviews.models import ItemKind, ReviewAction
from office.staffing import services as staffing
from office.staffing.models import CrossingStatus
from tests.alerts.test_mail import choose
from tests.conftest import log_in
from tests.factories import NOW, make_person, make_user, stay
from tests.reviews.arrange import OCT, one_of_each


@pytest.fixture
def flagged(session, admin, diesel):
    return one_of_each(session, admin, diesel)


def notices(session, kind: NoticeKind) -> list[Notice]:
    session.expire_all()
    return list(session.scalars(select(Notice).where(Notice.kind == kind).order_by(Notice.id)))


def bell(client) -> str:
    return client.get("/notices/").get_data(as_text=True)


def test_a_query_notifies_the_office_and_its_answer_the_reviewers(
    client, session, admin, reviewer, flagged
):
    path = f"/reviews/items/dip_variance/{flagged.dip.id}"
    log_in(client, reviewer)
    client.post(f"{path}/query", data={"body": "Where did 300 L go?"})

    [asked] = notices(session, NoticeKind.QUERY_ASKED)
    assert asked.audience == ",admin,"
    assert asked.facts["words"] == "Where did 300 L go?"
    log_in(client, admin)
    page = bell(client)
    assert "Reviewer Park asks the office about dip variance #" in page
    response = client.post(f"/notices/{asked.id}/open")
    assert response.headers["Location"] == path

    client.post(f"{path}/answer", data={"body": "A weeping seal."})
    [answered] = notices(session, NoticeKind.QUERY_ANSWERED)
    assert answered.audience == ",reviewer,"
    log_in(client, reviewer)
    assert "Admin Kim answered the query on dip variance #" in bell(client)
    assert "A weeping seal." in bell(client)


def test_an_escalation_reaches_the_other_reviewers_and_is_read_for_its_author(
    client, session, reviewer, flagged
):
    colleague = make_user(session, Role.REVIEWER, name="Reviewer Lee")
    log_in(client, reviewer)
    path = f"/reviews/items/meter_anomaly/{flagged.reading.id}"
    client.post(f"{path}/escalate", data={"body": "For the director."})

    [escalated] = notices(session, NoticeKind.ITEM_ESCALATED)
    assert escalated in services.notices_for(session, colleague)
    assert escalated not in services.notices_for(session, reviewer)  # read: they did it
    log_in(client, colleague)
    assert "escalated meter anomaly #" in bell(client)


def test_a_drawdown_recorded_anyway_notifies_the_reviewers(session, reviewer, flagged):
    [notice] = notices(session, NoticeKind.RECORDED_ANYWAY)
    assert notice.key == f"recorded_anyway:{flagged.override.id}"
    assert notice.endpoint == "reviews.item"
    assert notice.endpoint_args == {"kind": "override", "source_id": flagged.override.id}
    assert notice.facts["reason"] == flagged.override.override_reason
    assert notice.facts["quantity"] == "1100" and notice.facts["unit"] == "L"
    assert notice in services.notices_for(session, reviewer)


def test_an_event_rolled_back_leaves_no_notice_and_no_mail(client, session, admin, flagged):
    choose(client, admin, query_asked=Channel.EMAIL)
    reviewer = make_user(session, Role.REVIEWER)
    reviews.take_action(
        session,
        ItemKind.DIP_VARIANCE,
        flagged.dip.id,
        ReviewAction.QUERY,
        body="?",
        actor=reviewer,
        now=NOW,
        today=OCT(10),
    )
    assert session.scalar(select(func.count()).select_from(NoticeDelivery)) == 1
    session.rollback()

    assert notices(session, NoticeKind.QUERY_ASKED) == []
    assert session.scalar(select(func.count()).select_from(NoticeDelivery)) == 0


def test_an_event_raised_twice_is_one_notice_owing_one_mail(client, session, admin):
    choose(client, admin, query_asked=Channel.EMAIL)
    args = (
        session,
        NoticeKind.QUERY_ASKED,
        "review:query:999",
        {"item_kind": "dip_variance", "id": 1, "who": "R", "words": "?"},
        "reviews.queue",
        {},
    )
    assert services.raise_notice(*args, now=NOW, actor=None) is True
    assert services.raise_notice(*args, now=NOW, actor=None) is False

    assert len(notices(session, NoticeKind.QUERY_ASKED)) == 1
    assert session.scalar(select(func.count()).select_from(NoticeDelivery)) == 1


def test_a_crossing_list_changed_after_it_was_sent_notifies_the_schedulers_once_a_sending(
    client, session
):
    scheduler = make_user(session, Role.SCHEDULER, name="Scheduler Choi")
    day = date(2018, 10, 1)
    stay(session, make_person(session, name="한지민"), day, date(2018, 10, 5))
    staffing.mark_crossing_list(session, day, CrossingStatus.SENT, actor=scheduler, now=NOW)
    session.commit()

    stay(session, make_person(session), day, date(2018, 10, 3))
    stay(session, make_person(session), day, date(2018, 10, 4))  # still amended: no new one
    [amended] = notices(session, NoticeKind.LIST_AMENDED)
    assert amended.facts == {"day": "2018-10-01"}
    assert amended in services.notices_for(session, scheduler)
    log_in(client, scheduler)
    assert "The crossing list of 2018-10-01 was sent, and the stays have changed" in bell(client)
    assert client.post(f"/notices/{amended.id}/open").headers["Location"] == (
        "/staffing/crossings/2018-10-01"
    )

    later = NOW + timedelta(hours=1)
    staffing.mark_crossing_list(session, day, CrossingStatus.SENT, actor=scheduler, now=later)
    session.commit()
    stay(session, make_person(session), day, date(2018, 10, 2))
    assert len(notices(session, NoticeKind.LIST_AMENDED)) == 2


def test_a_staffing_rule_broken_in_the_coming_week_is_raised_once(client, session):
    scheduler = make_user(session, Role.SCHEDULER)
    admin = make_user(session, Role.ADMIN)
    today = date(2018, 10, 1)  # nobody on site: under the minimum headcount every day

    first = daily.raise_alerts(session, today=today, now=NOW)
    session.commit()
    assert daily.raise_alerts(session, today=today, now=NOW) == 0
    broken = notices(session, NoticeKind.RULE_BROKEN)
    assert first >= len(broken) >= 7
    days = {notice.facts["day"] for notice in broken}
    assert days == {f"2018-10-0{n}" for n in range(1, 8)}
    assert all(notice in services.notices_for(session, scheduler, limit=500) for notice in broken)
    assert not any(
        notice.kind is NoticeKind.RULE_BROKEN
        for notice in services.notices_for(session, admin, limit=500)
    )
    log_in(client, scheduler)
    assert "2018-10-01, South: the rule on minimum headcount is broken." in bell(client)


def test_opening_a_notice_of_another_role_is_not_found(client, session, admin, flagged):
    [notice] = notices(session, NoticeKind.RECORDED_ANYWAY)
    log_in(client, admin)
    assert client.post(f"/notices/{notice.id}/open").status_code == 404
    assert session.scalar(select(func.count()).select_from(NoticeDismissal)) == 0
