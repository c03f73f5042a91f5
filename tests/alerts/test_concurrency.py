"""The daily alerts run by several workers at once (two machines' schedulers, a retry beside
the first run) raise each notice once; a notice put away twice at once is put away once."""

from __future__ import annotations

from sqlalchemy import func, select

from office.alerts import daily as alerts
from office.alerts.models import Notice, NoticeDismissal
from office.db import db
from tests.concurrency import Office, at_once, post
from tests.factories import NOW, draw, make_resource
from tests.reviews.arrange import OCT, capped_line

RUNS = 6


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
