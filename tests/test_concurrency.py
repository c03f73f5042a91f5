"""A request that meets a conflict in the database is run again whole; one that keeps meeting
it is answered plainly (409), with nothing of it written. Never a 500."""

from __future__ import annotations

from datetime import date

import pytest
from flask import Flask
from sqlalchemy import func, select

from office.audit.models import AuditEvent
from office.audit.services import record_event
from office.auth.access import public
from office.concurrency import ATTEMPTS, retrying
from office.db import db, utcnow
from office.fuel.models import DailyLog, LogStatus
from tests.conftest import build_app

DAY = date(2018, 10, 1)


def _route(app: Flask, path: str, conflicts: int) -> list[int]:
    """Add a view at `path` that writes an audit event, then clashes with the day's log on its
    first `conflicts` runs; return the list its runs are counted in."""
    runs: list[int] = []

    @public
    def view() -> str:
        runs.append(len(runs) + 1)
        record_event(db.session, "test.write", actor=None, at=utcnow(), run=len(runs))
        db.session.flush()
        if len(runs) <= conflicts:
            db.session.add(DailyLog(log_on=DAY, status=LogStatus.DRAFT))  # already there
        db.session.commit()
        return "written"

    app.add_url_rule(path, path, retrying(view), methods=["POST"])
    return runs


@pytest.fixture
def app(connection, database_url) -> Flask:
    """An app of the module's own: its tests add routes to it."""
    return build_app(connection, database_url)


@pytest.fixture
def day_log(session):
    session.add(DailyLog(log_on=DAY, status=LogStatus.DRAFT))
    session.commit()


def _events(session) -> int:
    return session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "test.write")
    )


def test_a_request_that_meets_a_conflict_once_is_run_again_and_written_once(
    app, client, session, day_log
):
    runs = _route(app, "/test/once", conflicts=1)

    response = client.post("/test/once")

    assert response.status_code == 200 and response.text == "written"
    assert runs == [1, 2]
    assert _events(session) == 1


def test_a_page_that_keeps_meeting_a_conflict_says_so_and_writes_nothing(
    app, client, session, day_log
):
    runs = _route(app, "/test/always", conflicts=99)

    response = client.post("/test/always")

    assert response.status_code == 409
    assert "Someone else changed the same records at the same moment" in response.text
    assert len(runs) == ATTEMPTS
    assert _events(session) == 0


def test_the_api_answers_a_lasting_conflict_with_409_problem_details(app, client, session, day_log):
    _route(app, "/api/v1/test-always", conflicts=99)

    response = client.post("/api/v1/test-always")

    assert response.status_code == 409
    assert response.mimetype == "application/problem+json"
    assert "at the same moment" in response.get_json()["detail"]
    assert _events(session) == 0
