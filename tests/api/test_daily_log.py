"""The daily log through the API: read with its history, notes saved, signed off; as on the
day's page, through the same services, with its refusals."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from office.auth.permissions import Role
from office.fuel import services
from office.fuel.models import DailyLog, LogStatus
from tests.api.conftest import assert_problem, office_tomorrow
from tests.factories import NOW

DAY = "2018-10-10"


def test_a_day_without_a_log_reads_as_an_empty_draft(admin_api):
    assert admin_api.get(f"/daily-logs/{DAY}").get_json() == {
        "day": DAY,
        "status": "draft",
        "incidents": "",
        "notes": "",
        "signed_off_at": None,
        "signed_off_by": None,
        "history": [],
    }


def test_notes_are_saved_the_day_signed_off_and_a_later_change_needs_a_reason(admin_api, session):
    saved = admin_api.post(
        f"/daily-logs/{DAY}/notes", {"incidents": "Power cut 14:00-14:20.", "notes": "Quiet."}
    )
    signed = admin_api.post(f"/daily-logs/{DAY}/sign-off")
    twice = admin_api.post(f"/daily-logs/{DAY}/sign-off")
    unexplained = admin_api.post(f"/daily-logs/{DAY}/notes", {"notes": "Not so quiet."})
    corrected = admin_api.post(
        f"/daily-logs/{DAY}/notes",
        {"notes": "Not so quiet.", "correction_reason": "The generator tripped twice."},
    )

    assert saved.status_code == 200
    assert saved.get_json()["incidents"] == "Power cut 14:00-14:20."
    assert signed.status_code == 200
    body = signed.get_json()
    assert (body["status"], body["signed_off_by"]) == ("signed_off", admin_api.user.display_name)
    assert assert_problem(twice, 409)["detail"].startswith(
        "The log of 2018-10-10 was already signed off on "
    )
    assert assert_problem(unexplained, 409)["detail"] == (
        "The log of 2018-10-10 is signed off; a change to it is a correction: give the reason."
    )
    assert corrected.status_code == 200
    history = admin_api.get(f"/daily-logs/{DAY}").get_json()["history"]
    assert [(e["action"], e["reason"]) for e in history] == [
        ("notes_saved", None),
        ("signed_off", None),
        ("notes_saved", "The generator tripped twice."),
    ]
    assert session.scalars(select(DailyLog)).one().notes == "Not so quiet."


@pytest.mark.parametrize("day", ["2018-02-30", "yesterday", "1999-12-31"])
def test_a_day_that_is_no_day_is_not_found(admin_api, day):
    assert_problem(admin_api.get(f"/daily-logs/{day}"), 404)
    assert_problem(admin_api.post(f"/daily-logs/{day}/sign-off"), 404)


def test_a_day_in_the_future_is_not_found_as_on_the_page(admin_api, session):
    tomorrow = office_tomorrow().isoformat()

    assert_problem(admin_api.get(f"/daily-logs/{tomorrow}"), 404)
    assert_problem(admin_api.post(f"/daily-logs/{tomorrow}/sign-off"), 404)
    assert session.scalar(select(func.count()).select_from(DailyLog)) == 0


@pytest.mark.parametrize("role", [Role.SCHEDULER, Role.REVIEWER])
def test_only_the_office_administrator_signs_off_or_writes_notes(api_as, session, role):
    api = api_as(role)

    assert_problem(api.post(f"/daily-logs/{DAY}/sign-off"), 403)
    assert_problem(api.post(f"/daily-logs/{DAY}/notes", {"notes": "x"}), 403)
    assert session.scalar(select(func.count()).select_from(DailyLog)) == 0


def test_a_reviewer_reads_the_log_a_scheduler_does_not(api_as, session):
    services.sign_off(session, date(2018, 10, 10), actor=None, now=NOW)
    session.commit()

    assert api_as(Role.REVIEWER).get(f"/daily-logs/{DAY}").get_json()["status"] == (
        LogStatus.SIGNED_OFF.value
    )
    assert_problem(api_as(Role.SCHEDULER).get(f"/daily-logs/{DAY}"), 403)
