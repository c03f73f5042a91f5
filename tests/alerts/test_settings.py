"""Each user chooses how each kind of notice of their role reaches them (#19): in the app only
(the default), also by email, or also in a daily digest. The choice is audited; a choice that
makes no sense is refused with a message and changes nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from office.alerts import services
from office.alerts.labels import kinds_for
from office.alerts.models import Channel, NoticeKind, NoticePreference
from office.auth.permissions import Role
from tests.alerts.test_mail import choose
from tests.conftest import log_in
from tests.factories import audit_events, make_user


def preferences(session) -> int:
    return session.scalar(select(func.count()).select_from(NoticePreference))


def test_each_role_chooses_among_the_kinds_it_receives_in_the_app_by_default(client, session):
    scheduler = make_user(session, Role.SCHEDULER)
    log_in(client, scheduler)
    page = client.get("/notices/settings").get_data(as_text=True)
    assert "A crossing list changes after it was sent" in page
    assert "A staffing rule is broken in the coming week" in page
    assert "A reviewer asks the office a question" not in page
    assert page.count('value="app" aria-label') == 2 and page.count(" checked>") == 2
    assert services.choices_of(session, scheduler) == {
        NoticeKind.LIST_AMENDED: Channel.APP,
        NoticeKind.RULE_BROKEN: Channel.APP,
    }


def test_a_choice_is_saved_audited_and_shown_again(client, session, admin):
    choose(client, admin, return_overdue=Channel.DIGEST, query_asked=Channel.EMAIL)

    choices = services.choices_of(session, admin)
    assert choices[NoticeKind.QUERY_ASKED] is Channel.EMAIL
    assert choices[NoticeKind.RETURN_OVERDUE] is Channel.DIGEST
    assert choices[NoticeKind.LINE_75] is Channel.APP
    [event] = audit_events(session, "notices.channels_changed")
    assert event.detail["channels"] == "query_asked=email, return_overdue=digest"
    page = client.get("/notices/settings").get_data(as_text=True)
    assert 'name="kind-query_asked" value="email" aria-label' in page
    assert page.count(" checked>") == len(kinds_for(Role.ADMIN))

    form = {f"kind-{kind.value}": choices[kind].value for kind in kinds_for(Role.ADMIN)}
    response = client.post("/notices/settings", data=form, follow_redirects=True)
    assert "Nothing changed." in response.get_data(as_text=True)
    assert len(audit_events(session, "notices.channels_changed")) == 1


def test_a_choice_that_makes_no_sense_is_refused_and_changes_nothing(client, session, reviewer):
    log_in(client, reviewer)
    good = {f"kind-{kind.value}": "app" for kind in kinds_for(Role.REVIEWER)}
    for bad, message in (
        ({**good, "kind-query_answered": "fax"}, "Choose for each kind of notice"),
        ({**good, "kind-rule_broken": "email"}, "Your role does not receive notices of this kind"),
        ({"kind-query_answered": "email"}, "Choose for each kind of notice"),
        ({**good, "kind-nonsense": "email"}, "Your role does not receive notices of this kind"),
    ):
        response = client.post("/notices/settings", data=bad)
        assert response.status_code == 422
        assert message in response.get_data(as_text=True)
    assert preferences(session) == 0
    assert audit_events(session, "notices.channels_changed") == []


def test_the_settings_need_a_login(client):
    assert client.get("/notices/settings").status_code == 302
    assert client.post("/notices/settings", data={}).status_code in (302, 400)
