"""The daily alerts (#18): each event becomes a notice on the home page of the people whose
work it is, once, however many times the alerts run; a notice put away stays away for its
reader alone."""

from __future__ import annotations

from datetime import UTC, date, datetime

import time_machine
from sqlalchemy import select

from office.alerts import daily as alerts
from office.alerts.jobs import ALERTS_KIND
from office.alerts.models import Notice, NoticeKind
from office.auth.permissions import Role
from office.fuel import services as fuel
from office.jobs import runner
from office.jobs.models import Job, JobState
from tests.conftest import log_in
from tests.factories import NOW, draw, make_user, make_waiver
from tests.jobs import run_jobs
from tests.reviews.arrange import OCT, capped_line, must_return_lot, welder


def raise_on(session, day: date) -> int:
    raised = alerts.raise_alerts(session, today=day, now=NOW)
    session.commit()
    return raised


def notices(session, kind: NoticeKind | None = None) -> list[Notice]:
    query = select(Notice).order_by(Notice.id)
    if kind is not None:
        query = query.where(Notice.kind == kind)
    return list(session.scalars(query))


def home(client) -> str:
    return client.get("/").get_data(as_text=True)


def test_a_line_passing_75_then_90_percent_is_raised_once_at_each(session, diesel):
    line = capped_line(session, diesel, "1000", reference="MOU-A-LINE")
    draw(session, diesel, "700", line=line, on=OCT(1))
    raise_on(session, OCT(2))
    assert notices(session, NoticeKind.LINE_75) == []

    draw(session, diesel, "100", line=line, on=OCT(3))  # 80 %
    raise_on(session, OCT(4))
    raise_on(session, OCT(5))  # the next day's run raises nothing new
    [at_75] = notices(session, NoticeKind.LINE_75)
    assert at_75.facts == {
        "waiver": "MOU-A-LINE",
        "line": 1,
        "resource": "diesel",
        "percent": "80.0",
    }
    assert at_75.raised_on == OCT(4)
    assert notices(session, NoticeKind.LINE_90) == []

    draw(session, diesel, "150", line=line, on=OCT(6))  # 95 %
    raise_on(session, OCT(7))
    raise_on(session, OCT(8))
    assert len(notices(session, NoticeKind.LINE_75)) == 1
    [at_90] = notices(session, NoticeKind.LINE_90)
    assert at_90.facts["percent"] == "95.0" and at_90.raised_on == OCT(7)


def test_a_line_running_out_before_its_waiver_ends_and_a_waiver_ending_soon(session, diesel):
    line = capped_line(session, diesel, "1000", reference="MOU-A-FAST")
    draw(session, diesel, "300", line=line, on=OCT(1))  # 10 L a day over 30 days: 70 days left
    ending = capped_line(
        session, diesel, "1000", reference="MOU-A-ENDS", valid_until=date(2018, 11, 5)
    )

    assert raise_on(session, OCT(10)) >= 1
    [runs_out] = notices(session, NoticeKind.RUNS_OUT)
    assert runs_out.facts["waiver"] == "MOU-A-FAST" and runs_out.facts["on"] == "2018-12-19"
    [expiring] = notices(session, NoticeKind.WAIVER_EXPIRING)
    assert expiring.facts == {"waiver": "MOU-A-ENDS", "until": "2018-11-05"}
    assert expiring.endpoint_args == {"waiver_id": ending.waiver_id}
    raise_on(session, OCT(11))
    assert len(notices(session, NoticeKind.WAIVER_EXPIRING)) == 1
    assert len(notices(session, NoticeKind.RUNS_OUT)) == 1


def test_returns_overdue_and_days_not_signed_off_go_to_the_administrators(session, admin):
    equipment = welder(session)
    line = make_waiver(session, [(equipment, "piece", "10", "10")]).lines[0]
    must_return_lot(session, line, due=OCT(20))
    for day in (OCT(17), OCT(19), OCT(20), OCT(21)):
        fuel.sign_off(session, day, actor=admin, now=NOW)
    session.commit()

    raise_on(session, OCT(20))
    assert notices(session, NoticeKind.RETURN_OVERDUE) == []  # due by the 20th
    raise_on(session, OCT(22))

    [overdue] = notices(session, NoticeKind.RETURN_OVERDUE)
    assert overdue.facts == {"resource": equipment.code, "by": "2018-10-20"}
    assert overdue.audience == ",admin,"
    unsigned = {n.facts["day"] for n in notices(session, NoticeKind.DAY_NOT_SIGNED_OFF)}
    # Two whole days on: the 18th, not the 20th (signed off) nor the 21st (one day on).
    assert "2018-10-18" in unsigned and "2018-10-19" not in unsigned
    assert "2018-10-20" not in unsigned and "2018-10-21" not in unsigned


def test_each_role_sees_its_notices_and_a_reader_puts_one_away_for_themselves(
    app, session, diesel, admin, reviewer
):
    line = capped_line(session, diesel, "1000", reference="MOU-A-HOME")
    draw(session, diesel, "800", line=line, on=OCT(1))
    raise_on(session, OCT(2))
    scheduler = make_user(session, Role.SCHEDULER)
    other_admin = make_user(session, Role.ADMIN, name="Admin Two")
    message = "MOU-A-HOME line 1 (diesel) has passed 75% of its cap: 80.0% used."

    clients = {}
    for user in (admin, reviewer, scheduler, other_admin):
        clients[user.id] = log_in(app.test_client(), user)
        clients[user.id].environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    assert message in home(clients[reviewer.id]) and message in home(clients[admin.id])
    assert message not in home(clients[scheduler.id])

    [notice] = notices(session, NoticeKind.LINE_75)
    assert clients[scheduler.id].post(f"/notices/{notice.id}/dismiss").status_code == 404
    response = clients[admin.id].post(f"/notices/{notice.id}/dismiss")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert clients[admin.id].post(f"/notices/{notice.id}/dismiss").status_code == 302  # again
    assert message not in home(clients[admin.id])
    assert message in home(clients[other_admin.id]) and message in home(clients[reviewer.id])
    assert clients[admin.id].post("/notices/999999/dismiss").status_code == 404


def test_a_notice_reads_in_korean(app, session, diesel, reviewer):
    line = capped_line(session, diesel, "1000", reference="MOU-A-KO")
    draw(session, diesel, "950", line=line, on=OCT(1))
    raise_on(session, OCT(2))
    client = log_in(app.test_client(), reviewer)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "ko"

    page = home(client)

    assert "MOU-A-KO" in page and "95.0" in page and "has passed" not in page


def test_the_command_raises_the_alerts_as_of_a_day(app, session, diesel):
    line = capped_line(session, diesel, "1000", reference="MOU-A-CLI")
    draw(session, diesel, "950", line=line, on=OCT(1))

    result = app.test_cli_runner().invoke(args=["alerts", "raise", "--date", "2018-10-02"])

    assert result.exit_code == 0, result.output
    assert "new notices as of 2018-10-02" in result.output
    assert {n.kind for n in notices(session)} >= {NoticeKind.LINE_75, NoticeKind.LINE_90}
    again = app.test_cli_runner().invoke(args=["alerts", "raise", "--date", "2018-10-02"])
    assert again.output.startswith("0 new notices")


def test_the_bell_counts_unread_notices_and_opening_one_reads_it_and_goes_to_its_record(
    app, session, diesel, reviewer
):
    line = capped_line(session, diesel, "1000", reference="MOU-A-BELL")
    draw(session, diesel, "950", line=line, on=OCT(1))
    raise_on(session, OCT(2))  # 75 %, 90 %, running out: the reviewers'; days: the office's
    theirs = [n for n in notices(session) if ",reviewer," in n.audience]
    assert {n.kind for n in theirs} == {
        NoticeKind.LINE_75,
        NoticeKind.LINE_90,
        NoticeKind.RUNS_OUT,
    }
    client = log_in(app.test_client(), reviewer)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    assert 'aria-label="Notices: 3 unread"' in home(client)

    listed = client.get("/notices/").get_data(as_text=True)
    assert listed.count('data-testid="notice"') == 3 and listed.count(">unread<") == 3
    response = client.post(f"/notices/{theirs[0].id}/open")

    assert response.status_code == 302
    assert response.headers["Location"] == f"/waivers/{line.waiver_id}"
    assert 'aria-label="Notices: 2 unread"' in home(client)
    assert client.get("/notices/").get_data(as_text=True).count(">unread<") == 2
    assert client.post("/notices/999999/open").status_code == 404


def test_the_daily_job_raises_the_alerts_once_a_day_whatever_the_workers(app, session, diesel):
    line = capped_line(session, diesel, "1000", reference="MOU-A-JOB")
    draw(session, diesel, "950", line=line, on=date(2018, 10, 1))

    with time_machine.travel(datetime(2018, 10, 1, 21, 0, tzinfo=UTC), tick=False):
        first = runner.start_periodic(app, ALERTS_KIND)  # 06:00 on the 2nd in Seoul
        second = runner.start_periodic(app, ALERTS_KIND)  # another worker's scheduler
        run_jobs(app)

    assert first is not None and second is None
    assert session.get(Job, first).state is JobState.DONE
    assert {n.facts.get("waiver") for n in notices(session)} >= {"MOU-A-JOB"}
