"""The audit trail: every recorded action with who took it, and every login attempt, newest
first in one list; filters by person, kind of action and day (in Seoul time); a CSV export.
Reviewers and superusers read it; an office administrator does not."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, time

import pytest
from sqlalchemy import func, select

from office.audit import queries
from office.audit.models import AuditEvent
from office.audit.services import record_event
from office.auth.models import LoginAttempt, LoginOutcome
from office.auth.permissions import Role
from office.i18n import SEOUL
from office.reviews.models import ItemKind, ReviewAction
from tests.conftest import log_in
from tests.factories import PASSWORD, audit_events, draw, make_user, make_waiver, recorded
from tests.jobs import fetched
from tests.reviews.arrange import OCT, act, at
from tests.reviews.pages import read

K, A = ItemKind, ReviewAction


def seoul(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=SEOUL).astimezone(UTC)


def trail(page) -> list[list[str]]:
    return page.table("audit")


def actions(page) -> list[str]:
    return [row[2] for row in trail(page) if len(row) == 5]


@pytest.fixture
def logins(app, session, admin, reviewer):
    """The reviewer logs in; someone mistypes the administrator's password."""
    for email, password in ((reviewer.email, PASSWORD), (admin.email, "not the password")):
        app.test_client().post("/login", data={"email": email, "password": password})
    return session.scalars(select(LoginAttempt).order_by(LoginAttempt.id)).all()


def test_actions_and_logins_appear_with_who_did_them(client, session, reviewer, flagged, logins):
    act(session, K.DIP_VARIANCE, flagged.dip.id, A.QUERY, reviewer, "Where?")
    assert [a.outcome for a in logins] == [LoginOutcome.SUCCEEDED, LoginOutcome.BAD_CREDENTIALS]

    page = read(log_in(client, reviewer).get("/audit/"))
    rows = trail(page)
    query = next(row for row in rows if row[2] == "Review: queried")
    assert query[0] == "2018-12-31 12:00"
    assert query[1] == "Reviewer Park"
    assert query[3] == f"dip variance #{flagged.dip.id}"
    assert query[4] == f"Kinddip varianceRecord{flagged.dip.id}Statequeried"
    assert f"<dt>Record</dt><dd>{flagged.dip.id}</dd><dt>State</dt><dd>queried</dd>" in page.markup
    override = next(row for row in rows if row[2] == "Drawdown recorded anyway")
    assert override[1] == "Admin Kim"
    assert "Classificationover cap" in override[4]
    succeeded = next(row for row in rows if row[2] == "Logged in")
    failed = next(row for row in rows if row[2] == "Login failed: wrong email or password")
    assert succeeded[1] == "Reviewer Park" and failed[1] == "Admin Kim"
    # Newest first: the logins happened now, the review "on" 31 December 2018.
    assert actions(page).index(failed[2]) < actions(page).index("Review: queried")


def test_every_ledger_entry_is_on_the_trail_with_who_recorded_it_and_when(
    client, session, admin, reviewer, diesel
):
    line = make_waiver(session, [(diesel, "L", "1000", "1000")]).lines[0]
    recorded_at = seoul(OCT(2), 14)
    entry = draw(session, diesel, "250", line=line, actor=admin, now=recorded_at)
    (event,) = audit_events(session, "drawdown.recorded")
    assert recorded(event) == (admin.id, recorded_at, "DrawdownEntry", str(entry.id))
    assert event.detail == {
        "seq": entry.seq,
        "resource": "diesel",
        "quantity": "250",
        "unit": "L",
        "source": "manual",
        "classification": "covered",
        "regimes": ["un: covered"],
    }
    rows = trail(read(log_in(client, reviewer).get("/audit/?action=drawdown.")))
    assert [row[:4] for row in rows] == [
        ["2018-10-02 14:00", "Admin Kim", "Drawdown recorded", f"Ledger entry {entry.seq}"]
    ]


def test_a_login_with_an_unknown_address_shows_the_address(app, client, reviewer):
    app.test_client().post("/login", data={"email": "nobody@test.example", "password": "x"})
    page = read(log_in(client, reviewer).get("/audit/?action=login"))
    assert trail(page)[0][1:3] == ["nobody@test.example", "Login failed: wrong email or password"]


def test_filter_by_person(client, session, admin, reviewer, flagged, logins):
    act(session, K.DIP_VARIANCE, flagged.dip.id, A.QUERY, reviewer, "Where?")
    act(session, K.DIP_VARIANCE, flagged.dip.id, A.ANSWER, admin, "A leak.")
    log_in(client, reviewer)
    mine = read(client.get(f"/audit/?actor={reviewer.id}"))
    assert {row[1] for row in trail(mine)} == {"Reviewer Park"}
    assert sorted(actions(mine)) == ["Logged in", "Review: queried"]
    theirs = read(client.get(f"/audit/?actor={admin.id}"))
    assert set(actions(theirs)) == {
        "Review: answered",
        "Drawdown recorded",
        "Drawdown recorded anyway",
        "Login failed: wrong email or password",
    }


def test_filter_by_kind_of_action(client, session, reviewer, flagged, logins):
    act(session, K.DIP_VARIANCE, flagged.dip.id, A.QUERY, reviewer, "Where?")
    log_in(client, reviewer)
    assert sorted(actions(read(client.get("/audit/?action=login")))) == [
        "Logged in",
        "Login failed: wrong email or password",
    ]
    assert actions(read(client.get("/audit/?action=review."))) == ["Review: queried"]
    assert set(actions(read(client.get("/audit/?action=delivery.")))) == {
        "Delivery saved",
        "Manifest line added",
        "Delivery approved",
        "Delivery crossed",
        "Delivery received",
    }
    page = client.get("/audit/?action=day.").get_data(as_text=True)
    assert '<option value="day." selected>Daily log</option>' in page
    days = actions(read(client.get("/audit/?action=day.")))
    assert days and all(action.startswith("Daily log: ") for action in days)
    # Not one of the groups: everything is shown.
    everything = actions(read(client.get("/audit/")))
    assert actions(read(client.get("/audit/?action=%25"))) == everything


def test_filter_by_day_in_seoul_time(client, session, reviewer, flagged):
    dip = flagged.dip.id
    act(session, K.DIP_VARIANCE, dip, A.COMMENT, reviewer, "one", now=at(OCT(10)))
    act(session, K.DIP_VARIANCE, dip, A.COMMENT, reviewer, "two", now=seoul(OCT(15), 23, 30))
    act(session, K.DIP_VARIANCE, dip, A.COMMENT, reviewer, "three", now=seoul(OCT(16), 0, 30))
    act(session, K.DIP_VARIANCE, dip, A.COMMENT, reviewer, "four", now=at(OCT(20)))
    log_in(client, reviewer)

    def shown(query: str) -> list[str]:
        page = read(client.get(f"/audit/?action=review.&{query}"))
        return [row[0] for row in trail(page) if len(row) == 5]

    assert shown("from=2018-10-15&to=2018-10-15") == ["2018-10-15 23:30"]
    assert shown("from=2018-10-16") == ["2018-10-20 09:00", "2018-10-16 00:30"]
    assert shown("to=2018-10-15") == ["2018-10-15 23:30", "2018-10-10 09:00"]
    assert shown("from=2018-10-17&to=2018-10-19") == []


@pytest.mark.parametrize("query", ["from=2018-13-01", "to=yesterday", "from=2018-1-5"])
def test_a_bad_day_is_refused_with_a_message(client, reviewer, query):
    log_in(client, reviewer)
    response = client.get(f"/audit/?{query}")
    assert response.status_code == 422
    assert read(response).errors == ["Give the day as YYYY-MM-DD, for example 2018-10-31."]
    export = client.post(f"/audit/export.csv?{query}")
    assert export.status_code == 422
    assert export.mimetype == "text/html"


def test_the_export_holds_the_filtered_trail(client, session, reviewer, flagged, logins):
    act(session, K.DIP_VARIANCE, flagged.dip.id, A.QUERY, reviewer, "Where?")
    log_in(client, reviewer)
    response = fetched(client, f"/audit/export.csv?actor={reviewer.id}")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="audit-')
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")  # so spreadsheet programs read it as UTF-8
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert [row["action"] for row in rows] == ["login.succeeded", "review.query"]
    login, query = rows
    assert login["actor"] == reviewer.email and login["email"] == reviewer.email
    assert query["actor"] == reviewer.email
    assert query["occurred_at"] == "2018-12-31T03:00:00+00:00"
    assert query["object_type"] == "ReviewItem"
    assert '"state": "queried"' in query["detail"]


def test_pages_of_the_trail_neither_repeat_nor_skip_rows_that_share_a_time(
    client, session, reviewer
):
    moment = seoul(OCT(1), 9)
    for n in range(70):
        record_event(session, "month.signed_off", actor=reviewer, at=moment, n=n)
        session.add(
            LoginAttempt(
                email=f"n{n}@test.example",
                attempted_at=moment,
                outcome=LoginOutcome.BAD_CREDENTIALS,
            )
        )
    session.commit()
    total = session.scalar(select(func.count()).select_from(AuditEvent)) + session.scalar(
        select(func.count()).select_from(LoginAttempt)
    )
    log_in(client, reviewer)
    url, seen = "/audit/", []
    while url:
        page = read(client.get(url))
        seen += [(row[2], row[4], row[1]) for row in trail(page) if len(row) == 5]
        older = [href for href, text in page.links if text.startswith("Older")]
        url = older[0].replace("&amp;", "&") if older else None
    assert len(seen) == total == 140
    assert len(set(seen)) == len(seen)


def test_trail_page_keyset_service(session, reviewer):
    moment = seoul(OCT(1), 9)
    for n in range(7):
        record_event(session, "review.comment", actor=reviewer, at=moment, n=n)
        session.add(
            LoginAttempt(
                email="x@test.example", attempted_at=moment, outcome=LoginOutcome.SUCCEEDED
            )
        )
    session.commit()
    everything, _ = queries.trail_page(session, queries.AuditFilters(), size=1000)
    seen, after = [], None
    while True:
        rows, after = queries.trail_page(session, queries.AuditFilters(), after=after, size=3)
        seen += rows
        if after is None:
            break
    assert [(r.source, r.id) for r in seen] == [(r.source, r.id) for r in everything]
    assert len(seen) == 14


# --- who reads it -------------------------------------------------------------------------


def test_reviewers_and_superusers_read_the_trail_and_an_office_administrator_does_not(
    client, session, admin, reviewer
):
    superuser = make_user(session, Role.ADMIN, superuser=True)
    for user, status in ((reviewer, 200), (superuser, 200), (admin, 403)):
        log_in(client, user)
        assert client.get("/audit/").status_code == status, user
        assert client.get("/audit/export.csv").status_code == status, user
        assert client.post("/audit/export.xlsx").status_code == (303 if status == 200 else 403)
