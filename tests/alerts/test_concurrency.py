"""The daily alerts run by several workers at once (two machines' schedulers, a retry beside
the first run) raise each notice once; a notice put away twice at once is put away once; an
event raised at once by several workers is one notice owing one mail; workers sending the
same owed mails, or the same digests, at once send each once; choices saved at once keep one
row per kind."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from office.alerts import daily as alerts
from office.alerts import mail
from office.alerts import services as alerts_services
from office.alerts.labels import kinds_for
from office.alerts.models import (
    Channel,
    DeliveryState,
    Notice,
    NoticeDelivery,
    NoticeDismissal,
    NoticeKind,
    NoticePreference,
)
from office.auth.permissions import Role
from office.db import db, utcnow
from tests.alerts.conftest import Mailbox, free_port, send_to, smtp_server
from tests.concurrency import Office, at_once, post
from tests.factories import NOW, draw, make_resource
from tests.reviews.arrange import OCT, capped_line

RUNS = 6
WORKERS = 4
MAILS = 8


def _raise(office: Office) -> int:
    """One worker's run of the daily alerts, in a writing session as the job takes."""
    with office.app.app_context(), db.new_session(writes=True) as session:
        raised = alerts.raise_alerts(session, today=OCT(10), now=NOW)
        session.commit()
        return raised


def test_alerts_run_by_several_workers_at_once_raise_each_notice_once(office: Office):
    with office.session() as session:
        diesel = make_resource(session)
        line = capped_line(session, diesel, "1000", reference="MOU-RACE")
        draw(session, diesel, "950", line=line, on=OCT(1))
        expected = {found.key for found in alerts.find(session, OCT(10))}
    assert len(expected) >= 4  # 75 %, 90 %, running out, days not signed off

    raised = at_once([lambda: _raise(office) for _ in range(RUNS)])

    assert sum(raised) == len(expected)
    with office.session() as session:
        keys = list(session.scalars(select(Notice.key)))
    assert sorted(keys) == sorted(expected)


def test_a_notice_put_away_twice_at_once_is_put_away_once(office: Office):
    with office.session() as session:
        diesel = make_resource(session)
        line = capped_line(session, diesel, "1000", reference="MOU-RACE")
        draw(session, diesel, "800", line=line, on=OCT(1))
        alerts.raise_alerts(session, today=OCT(10), now=NOW)
        session.commit()
        notice_id = session.scalars(select(Notice.id).order_by(Notice.id)).first()

    path = f"/notices/{notice_id}/dismiss"
    statuses = at_once([post(office, office.admin, path) for _ in range(RUNS)])

    assert statuses == [302] * RUNS
    with office.session() as session:
        assert session.scalar(select(func.count()).select_from(NoticeDismissal)) == 1


# --- mail (#19) -----------------------------------------------------------------------------


@pytest.fixture
def mail_office(office: Office) -> Iterator[tuple[Office, Mailbox]]:
    """The office, its mails sent to a real SMTP server; the admin wants queries by email and
    the reviewer answers in a digest."""
    office.app.config["OFFICE_JOBS_URL"] = "memory://"
    port = free_port()
    controller, mailbox = smtp_server(port)
    send_to(office.app.config, port)
    with office.session() as session:
        for user, kind, channel in (
            (office.admin, NoticeKind.QUERY_ASKED, Channel.EMAIL),
            (office.reviewer, NoticeKind.QUERY_ANSWERED, Channel.DIGEST),
        ):
            session.add(
                NoticePreference(
                    user_id=user.id, kind=kind, channel=channel, language="en", updated_at=NOW
                )
            )
        session.commit()
    try:
        yield office, mailbox
    finally:
        controller.stop()


def _raise_event(office: Office, kind: NoticeKind, key: str) -> bool:
    with office.app.app_context(), db.new_session(writes=True) as session:
        raised = alerts_services.raise_notice(
            session,
            kind,
            key,
            {"item_kind": "dip_variance", "id": 1, "who": "R", "words": key},
            "reviews.queue",
            {},
            now=NOW,
            actor=None,
        )
        session.commit()
        return raised


def test_an_event_raised_by_several_workers_at_once_is_one_notice_owing_one_mail(mail_office):
    office, _mailbox = mail_office
    raised = at_once(
        [lambda: _raise_event(office, NoticeKind.QUERY_ASKED, "review:query:1")] * RUNS
    )

    assert sorted(raised) == [False] * (RUNS - 1) + [True]
    with office.session() as session:
        assert session.scalar(select(func.count()).select_from(Notice)) == 1
        assert session.scalar(select(func.count()).select_from(NoticeDelivery)) == 1


def test_workers_sending_the_same_mails_at_once_send_each_once(mail_office):
    office, mailbox = mail_office
    for n in range(MAILS):
        assert _raise_event(office, NoticeKind.QUERY_ASKED, f"review:query:{n}")

    sent = at_once([lambda: mail.send_owed_mails(office.app)] * WORKERS)

    assert sum(sent) == MAILS
    assert sorted(m.get_content().splitlines()[0] for m in mailbox.messages) == sorted(
        f"R asks the office about dip variance #1: review:query:{n}" for n in range(MAILS)
    )
    with office.session() as session:
        states = session.scalars(select(NoticeDelivery.state)).all()
    assert states == [DeliveryState.SENT] * MAILS


def test_digests_run_by_several_workers_at_once_send_each_reader_one_mail(mail_office):
    office, mailbox = mail_office
    for n in range(3):
        assert _raise_event(office, NoticeKind.QUERY_ANSWERED, f"review:answer:{n}")

    sent = at_once([lambda: mail.send_digests(office.app, now=utcnow())] * WORKERS)

    assert sum(sent) == 1
    [digest] = mailbox.messages
    assert digest["To"] == office.reviewer.email
    assert digest.get_content().count("answered the query on") == 3


def test_choices_saved_at_once_keep_one_row_per_kind(mail_office):
    office, _mailbox = mail_office
    kinds = kinds_for(Role.SCHEDULER)
    calls = [
        post(
            office,
            office.scheduler,
            "/notices/settings",
            data={f"kind-{kind.value}": channel for kind in kinds},
        )
        for channel in ("email", "digest") * (RUNS // 2)
    ]

    assert at_once(calls) == [302] * len(calls)
    with office.session() as session:
        rows = session.execute(
            select(NoticePreference.kind, NoticePreference.channel).where(
                NoticePreference.user_id == office.scheduler.id
            )
        ).all()
    assert sorted(kind for kind, _channel in rows) == sorted(kinds)
