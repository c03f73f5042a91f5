"""Notices by mail (#19): a user who chose email for a kind receives each notice of it from a
real SMTP server, sent by a worker after the event's commit, in their language, with the link
to its record; a digest reader gets one mail a day; a mail refused by the server is retried
and then given up, and the notice stays in the app whatever happens."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from office.alerts import mail, services
from office.alerts.jobs import DIGEST_KIND
from office.alerts.labels import kinds_for
from office.alerts.models import (
    Channel,
    DeliveryState,
    Notice,
    NoticeDelivery,
    NoticeKind,
)
from office.auth.models import User
from office.db import utcnow
from office.jobs import runner
from tests.alerts.conftest import BASE_URL, Mailbox, free_port
from tests.conftest import log_in
from tests.jobs import run_jobs
from tests.reviews.arrange import one_of_each


@pytest.fixture
def flagged(session, admin, diesel):
    return one_of_each(session, admin, diesel)


def choose(client, user: User, language: str = "en", **chosen: Channel) -> None:
    """`user` chooses on their settings page, read in `language`: `chosen` kinds as given,
    the others in the app only."""
    log_in(client, user)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
    form = {
        f"kind-{kind.value}": chosen.get(kind.value, Channel.APP).value
        for kind in kinds_for(user.role)
    }
    response = client.post("/notices/settings", data=form)
    assert response.status_code == 302
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"


def query(client, reviewer: User, flagged, words: str = "300 L short: where did it go?") -> str:
    log_in(client, reviewer)
    path = f"/reviews/items/dip_variance/{flagged.dip.id}"
    assert client.post(f"{path}/query", data={"body": words}).status_code == 302
    return path


def deliveries(session) -> list[NoticeDelivery]:
    session.expire_all()
    return list(session.scalars(select(NoticeDelivery).order_by(NoticeDelivery.id)))


def test_a_query_reaches_the_office_by_mail_in_the_language_it_chose_in(
    client, session, app, admin, reviewer, flagged, mailbox: Mailbox
):
    choose(client, admin, language="ko", query_asked=Channel.EMAIL)

    item = query(client, reviewer, flagged)
    assert mailbox.messages == []  # never inside the request
    run_jobs(app)

    [message] = mailbox.to(admin.email)
    assert message["From"] == "office@unikorea.test"
    assert message["Content-Language"] == "ko"
    assert message["Subject"] == "알림: 검토자가 사무소에 질의할 때"
    body = message.get_content()
    assert "님이 " in body and "사무소에 질의했습니다: 300 L short: where did it go?" in body
    assert f"{BASE_URL}{item}" in body
    assert f"{BASE_URL}/notices/settings" in body
    [delivery] = deliveries(session)
    assert delivery.state is DeliveryState.SENT and delivery.attempts == 1

    run_jobs(app)  # the minute's sweep again: nothing is owed any more
    mail.send_owed_mails(app)
    assert len(mailbox.messages) == 1


def test_a_user_who_chose_english_reads_english_and_others_get_no_mail(
    client, session, app, admin, reviewer, flagged, mailbox: Mailbox
):
    admin.language = "en"
    session.commit()
    choose(client, admin, language="ko", query_asked=Channel.EMAIL)  # the switch wins

    query(client, reviewer, flagged)
    run_jobs(app)

    [message] = mailbox.messages
    assert message["To"] == admin.email and message["Content-Language"] == "en"
    assert message["Subject"] == "Notice: A reviewer asks the office a question"
    assert "asks the office about" in message.get_content()


def test_a_refused_mail_is_retried_then_given_up_and_the_notice_stays_in_the_app(
    client, session, app, admin, reviewer, flagged, mailbox: Mailbox
):
    choose(client, admin, query_asked=Channel.EMAIL)
    mailbox.refusing = True

    query(client, reviewer, flagged)
    run_jobs(app)

    [delivery] = deliveries(session)
    assert delivery.state is DeliveryState.PENDING and delivery.attempts == 1
    assert "451" in (delivery.last_error or "")
    assert mailbox.messages == []
    # Not again before its wait is over...
    assert mail.send_owed_mails(app) == 0
    assert deliveries(session)[0].attempts == 1

    # ...then again, until the server takes it.
    mailbox.refusing = False
    assert mail.send_owed_mails(app, now=utcnow() + timedelta(minutes=2)) == 1
    [delivery] = deliveries(session)
    assert delivery.state is DeliveryState.SENT and delivery.attempts == 2
    assert len(mailbox.to(admin.email)) == 1

    log_in(client, admin)
    assert "asks the office about" in client.get("/notices/").get_data(as_text=True)


def test_a_mail_whose_server_is_down_is_given_up_after_its_attempts_the_notice_kept(
    client, session, app, admin, reviewer, flagged
):
    app.config.update(OFFICE_MAIL_BACKEND="smtp", OFFICE_SMTP_URL=f"smtp://127.0.0.1:{free_port()}")
    try:
        choose(client, admin, query_asked=Channel.EMAIL)
        query(client, reviewer, flagged)
        later = utcnow()
        for _attempt in range(services.MAIL_ATTEMPTS):
            assert mail.send_owed_mails(app, now=later) == 0
            later += timedelta(minutes=20)
    finally:
        app.config.update(OFFICE_MAIL_BACKEND="console", OFFICE_SMTP_URL="")

    [delivery] = deliveries(session)
    assert delivery.state is DeliveryState.FAILED
    assert delivery.attempts == services.MAIL_ATTEMPTS
    assert "Connection" in (delivery.last_error or "")
    [notice] = session.scalars(select(Notice).where(Notice.kind == NoticeKind.QUERY_ASKED))
    assert notice in services.notices_for(session, admin)


def test_a_digest_reader_gets_one_mail_a_day_of_the_notices_owed(
    client, session, app, admin, reviewer, flagged, mailbox: Mailbox
):
    choose(client, reviewer, query_answered=Channel.DIGEST, item_escalated=Channel.EMAIL)
    other = session.scalar(select(User).where(User.id != reviewer.id, User.role == reviewer.role))
    assert other is None  # the reviewer is the only one, and does not hear of their own acts

    path = query(client, reviewer, flagged)
    log_in(client, admin)
    assert client.post(f"{path}/answer", data={"body": "A seal."}).status_code == 302
    flow = f"/reviews/items/meter_anomaly/{flagged.reading.id}"
    log_in(client, reviewer)
    assert client.post(f"{flow}/query", data={"body": "Why so high?"}).status_code == 302
    log_in(client, admin)
    assert client.post(f"{flow}/answer", data={"body": "A new pump."}).status_code == 302
    run_jobs(app)
    assert mailbox.messages == []  # digests wait for the morning

    assert runner.start_periodic(app, DIGEST_KIND) is not None
    assert runner.start_periodic(app, DIGEST_KIND) is None  # one a day, whoever asks
    run_jobs(app)

    [digest] = mailbox.to(reviewer.email)
    body = digest.get_content()
    assert body.count("answered the query on") == 2
    assert "A seal." in body and "A new pump." in body
    assert f"{BASE_URL}{path}" in body and f"{BASE_URL}{flow}" in body
    assert digest["Subject"].endswith(": 2")
    assert {d.state for d in deliveries(session)} == {DeliveryState.SENT}

    assert mail.send_digests(app, now=utcnow()) == 0  # a second run has nothing to send
    assert len(mailbox.messages) == 1


def test_the_file_backend_leaves_each_mail_as_an_eml_file(
    client, session, app, admin, reviewer, flagged, tmp_path
):
    app.config.update(OFFICE_MAIL_BACKEND="file", OFFICE_MAIL_DIR=str(tmp_path))
    try:
        choose(client, admin, query_asked=Channel.EMAIL)
        query(client, reviewer, flagged)
        run_jobs(app)
    finally:
        app.config.update(OFFICE_MAIL_BACKEND="console")

    [written] = list(tmp_path.glob("*.eml"))
    assert f"To: {admin.email}" in written.read_text()
    assert session.scalar(select(func.count()).select_from(NoticeDelivery)) == 1


def test_a_user_deactivated_before_the_send_gets_no_mail(
    client, session, app, admin, reviewer, flagged, mailbox: Mailbox
):
    choose(client, admin, query_asked=Channel.EMAIL)
    query(client, reviewer, flagged)
    admin.is_active = False
    session.commit()

    run_jobs(app)

    assert mailbox.messages == []
    [delivery] = deliveries(session)
    assert delivery.state is DeliveryState.FAILED
    assert delivery.last_error == "the user is deactivated"
