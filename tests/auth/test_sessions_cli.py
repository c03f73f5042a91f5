"""`flask users tokens ...` and `flask users sessions ...`: an operator sees anyone's API
tokens and browser sessions and ends them, each ending in the audit trail."""

from sqlalchemy import select

from office.auth import services
from office.auth.models import ApiToken, CredentialEnd, UserSession
from office.auth.permissions import Role
from office.db import utcnow
from tests.api.conftest import ApiClient, assert_problem, issue_token
from tests.conftest import log_in
from tests.factories import NOW, audit_events, make_user


def run(app, *args):
    return app.test_cli_runner().invoke(args=["users", *args])


def test_tokens_list_shows_live_tokens_of_everyone_or_of_one_user(app, session):
    kim = make_user(session, email="kim@test.example")
    lee = make_user(session, email="lee@test.example")
    kims, _secret = services.create_api_token(session, kim, name="sheet", actor=None, now=NOW)
    lees, _secret = services.create_api_token(session, lee, name="meter", actor=None, now=NOW)
    gone, _secret = services.create_api_token(session, lee, name="gone", actor=None, now=NOW)
    services.revoke_api_token(session, gone, actor=None, now=NOW)
    session.commit()

    everyone = run(app, "tokens", "list")
    assert everyone.exit_code == 0, everyone.output
    lines = everyone.output.splitlines()
    assert len(lines) == 2
    assert any(
        line.startswith(f"{kims.id}\t{kims.prefix}…\tkim@test.example\tsheet") for line in lines
    )
    assert all(line.endswith("\tlive") for line in lines)

    one = run(app, "tokens", "list", "LEE@test.example", "--all")
    assert [line.split("\t")[0] for line in one.output.splitlines()] == [
        str(gone.id),
        str(lees.id),
    ]
    assert "revoked 2018-12-31 12:00" in one.output


def test_tokens_revoke_by_id_or_prefix_stops_them_and_is_audited(app, client, session):
    user = make_user(session, Role.ADMIN, email="kim@test.example")
    first, second = issue_token(session, user), issue_token(session, user)
    rows = session.scalars(select(ApiToken).order_by(ApiToken.id)).all()

    result = run(app, "tokens", "revoke", str(rows[0].id), rows[1].prefix + "…")

    assert result.exit_code == 0, result.output
    assert "Revoked 2 tokens." in result.output
    for token in (first, second):
        assert_problem(ApiClient(client, token).get("/resources"), 401)
    events = audit_events(session, "api_token.revoked")
    assert [(e.actor_id, e.detail["token"]) for e in events] == [
        (None, rows[0].prefix),
        (None, rows[1].prefix),
    ]


def test_tokens_revoke_every_token_of_a_user(app, client, session):
    user = make_user(session, Role.ADMIN, email="kim@test.example")
    other = make_user(session, Role.ADMIN)
    tokens = [issue_token(session, user) for _ in range(3)]
    kept = issue_token(session, other)

    result = run(app, "tokens", "revoke", "--user", "kim@test.example")

    assert result.exit_code == 0, result.output
    assert "Revoked 3 tokens." in result.output
    for token in tokens:
        assert_problem(ApiClient(client, token).get("/resources"), 401)
    assert ApiClient(client, kept).get("/resources").status_code == 200


def test_tokens_revoke_refuses_unknown_and_already_revoked_tokens(app, session):
    user = make_user(session)
    row, _secret = services.create_api_token(session, user, name="t", actor=None, now=NOW)
    services.revoke_api_token(session, row, actor=None, now=NOW)
    session.commit()
    unknown = run(app, "tokens", "revoke", "999999")
    assert unknown.exit_code == 1
    assert "No token is 999999" in unknown.output
    again = run(app, "tokens", "revoke", str(row.id))
    assert again.exit_code == 1
    assert "This token was already revoked." in again.output
    assert run(app, "tokens", "revoke").exit_code != 0


def test_sessions_list_and_end_one_or_all_of_a_user(app, session):
    kim = make_user(session, email="kim@test.example")
    lee = make_user(session, email="lee@test.example")
    kims = [log_in(app.test_client(), kim) for _ in range(2)]
    lees = log_in(app.test_client(), lee)
    rows = session.scalars(
        select(UserSession).where(UserSession.user_id == kim.id).order_by(UserSession.id)
    ).all()

    listed = run(app, "sessions", "list")
    assert listed.exit_code == 0, listed.output
    assert len(listed.output.splitlines()) == 3
    only_kim = run(app, "sessions", "list", "kim@test.example").output.splitlines()
    assert sorted(int(line.split("\t")[0]) for line in only_kim) == [r.id for r in rows]

    one = run(app, "sessions", "end", str(rows[0].id))
    assert one.exit_code == 0, one.output
    assert kims[0].get("/").status_code == 302
    assert kims[1].get("/").status_code == 200

    every = run(app, "sessions", "end", "--user", "kim@test.example")
    assert "Ended 1 session." in every.output
    assert kims[1].get("/").status_code == 302
    assert lees.get("/").status_code == 200
    session.expire_all()
    ended = session.scalars(select(UserSession).where(UserSession.user_id == kim.id)).all()
    assert {r.end_reason for r in ended} == {CredentialEnd.REVOKED}
    assert len(audit_events(session, "session.ended")) == 2
    assert run(app, "sessions", "list", "kim@test.example").output == "No open sessions.\n"


def test_sessions_end_refuses_an_unknown_or_ended_session(app, session):
    user = make_user(session)
    row, _key = services.start_session(
        session, user, now=utcnow(), remote_addr=None, user_agent=None
    )
    services.end_session(session, row, reason=CredentialEnd.LOGGED_OUT, actor=user, now=utcnow())
    session.commit()
    assert "No session has the id 999999." in run(app, "sessions", "end", "999999").output
    again = run(app, "sessions", "end", str(row.id))
    assert again.exit_code == 1
    assert "This session had already ended." in again.output
