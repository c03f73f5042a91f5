"""Superusers manage accounts: create, change role, deactivate, reactivate, reset password."""

from datetime import timedelta

from sqlalchemy import select

from office.audit.models import AuditEvent
from office.auth import services
from office.auth.models import User
from office.auth.permissions import Role
from tests.conftest import log_in
from tests.factories import NOW, PASSWORD, audit_events, make_user, recorded

NEW_USER = {
    "email": "park@test.example",
    "display_name": "박민준",
    "role": "reviewer",
    "new_password": "a long enough password",
    "confirm": "a long enough password",
}


def superuser_client(client, session):
    superuser = make_user(session, Role.ADMIN, superuser=True, name="Super")
    log_in(client, superuser)
    return superuser


def test_superuser_creates_a_user_who_can_then_log_in(app, client, session):
    superuser_client(client, session)
    response = client.post("/users/new", data=NEW_USER)
    assert response.status_code == 302
    created = session.scalar(select(User).where(User.email == "park@test.example"))
    assert created.role is Role.REVIEWER and created.is_active and not created.is_superuser
    assert created.password_hash.startswith("scrypt:")
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "user.created"))
    assert event.object_id == str(created.id)

    other = app.test_client()
    response = other.post(
        "/login", data={"email": "park@test.example", "password": "a long enough password"}
    )
    assert response.status_code == 302


def test_duplicate_email_is_refused_beside_the_field_and_keeps_the_input(client, session):
    superuser_client(client, session)
    make_user(session, email="park@test.example")
    response = client.post("/users/new", data={**NEW_USER, "email": "PARK@test.example"})
    assert response.status_code == 422
    assert b"A user with the email park@test.example already exists." in response.data
    assert "박민준".encode() in response.data
    assert len(session.scalars(select(User).where(User.email == "park@test.example")).all()) == 1


def test_short_password_and_mismatch_are_shown_inline(client, session):
    superuser_client(client, session)
    response = client.post(
        "/users/new", data={**NEW_USER, "new_password": "short", "confirm": "other"}
    )
    assert response.status_code == 422
    assert b"Field must be between 10 and 128 characters long." in response.data
    assert b"The two passwords differ." in response.data
    assert session.scalar(select(User).where(User.email == "park@test.example")) is None


def test_role_change_is_saved_and_audited(client, session):
    superuser_client(client, session)
    user = make_user(session, Role.SCHEDULER)
    response = client.post(
        f"/users/{user.id}", data={"display_name": "New Name", "role": "reviewer"}
    )
    assert response.status_code == 302
    session.refresh(user)
    assert (user.role, user.display_name) == (Role.REVIEWER, "New Name")
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "user.updated"))
    assert event.detail == {"display_name": "New Name", "role": "reviewer"}


def test_unknown_role_is_refused(client, session):
    superuser_client(client, session)
    user = make_user(session, Role.SCHEDULER)
    response = client.post(f"/users/{user.id}", data={"display_name": "X", "role": "king"})
    assert response.status_code == 422
    assert b"Not a valid choice." in response.data
    session.refresh(user)
    assert user.role is Role.SCHEDULER


def test_the_last_superuser_cannot_give_up_the_flag(client, session):
    superuser = superuser_client(client, session)
    response = client.post(
        f"/users/{superuser.id}", data={"display_name": "Super", "role": "admin"}
    )
    assert response.status_code == 422
    assert b"is the only active superuser" in response.data
    session.refresh(superuser)
    assert superuser.is_superuser


def test_deactivate_and_reactivate(client, session):
    superuser_client(client, session)
    user = make_user(session, Role.SCHEDULER, email="lee@test.example")
    response = client.post(f"/users/{user.id}/deactivate", follow_redirects=True)
    assert b"lee@test.example can no longer log in." in response.data
    session.refresh(user)
    assert not user.is_active
    login = client.application.test_client().post(
        "/login", data={"email": "lee@test.example", "password": PASSWORD}
    )
    assert login.status_code == 401

    response = client.post(f"/users/{user.id}/reactivate", follow_redirects=True)
    assert b"lee@test.example can log in again." in response.data
    session.refresh(user)
    assert user.is_active


def test_superuser_cannot_deactivate_themselves(client, session):
    superuser = superuser_client(client, session)
    make_user(session, superuser=True)
    response = client.post(f"/users/{superuser.id}/deactivate", follow_redirects=True)
    assert b"You cannot deactivate your own account." in response.data
    session.refresh(superuser)
    assert superuser.is_active


def test_unknown_user_is_404(client, session):
    superuser_client(client, session)
    assert client.get("/users/999999").status_code == 404
    assert client.post("/users/999999/deactivate").status_code == 404


def test_password_reset_by_superuser_ends_the_users_sessions(app, client, session):
    superuser_client(client, session)
    user = make_user(session, Role.SCHEDULER, email="lee@test.example")
    users_browser = log_in(app.test_client(), user)
    assert users_browser.get("/").status_code == 200
    response = client.post(
        f"/users/{user.id}/password",
        data={"new_password": "another long password", "confirm": "another long password"},
    )
    assert response.status_code == 302
    assert users_browser.get("/").status_code == 302


def test_own_password_change_keeps_this_session_and_checks_the_current_one(client, session):
    user = make_user(session, Role.REVIEWER)
    log_in(client, user)
    wrong = client.post(
        "/account",
        data={
            "current_password": "not it at all",
            "new_password": "brand new password",
            "confirm": "brand new password",
        },
    )
    assert wrong.status_code == 422
    assert b"The current password is not right." in wrong.data
    right = client.post(
        "/account",
        data={
            "current_password": PASSWORD,
            "new_password": "brand new password",
            "confirm": "brand new password",
        },
        follow_redirects=True,
    )
    assert b"Your password has been changed." in right.data
    assert client.get("/").status_code == 200
    session.refresh(user)
    assert user.check_password("brand new password")


def test_account_changes_are_audited_at_the_time_the_service_was_given(session):
    superuser = make_user(session, Role.ADMIN, superuser=True)
    times = [NOW + timedelta(minutes=n) for n in range(6)]
    user = services.create_user(
        session,
        email="kang@test.example",
        display_name="Kang",
        role=Role.SCHEDULER,
        password=PASSWORD,
        actor=superuser,
        now=times[0],
    )
    services.update_user(
        session,
        user,
        display_name="Kang D.",
        role=Role.SCHEDULER,
        is_superuser=False,
        actor=superuser,
        now=times[1],
    )
    services.set_password(session, user, "another long password", actor=superuser, now=times[2])
    services.change_own_password(
        session, user, "another long password", "a third long password", now=times[3]
    )
    services.deactivate_user(session, user, actor=superuser, now=times[4])
    services.reactivate_user(session, user, actor=superuser, now=times[5])
    actions = [
        "user.created",
        "user.updated",
        "user.password_set",
        "user.password_changed",
        "user.deactivated",
        "user.reactivated",
    ]
    assert [recorded(event) for action in actions for event in audit_events(session, action)] == [
        (user.id if action == "user.password_changed" else superuser.id, at, "User", str(user.id))
        for action, at in zip(actions, times, strict=True)
    ]
