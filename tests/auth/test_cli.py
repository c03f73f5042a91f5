from sqlalchemy import select

from office.auth.models import User
from office.auth.permissions import Role
from tests.factories import make_user


def test_create_with_password_file(app, session, tmp_path):
    secret = tmp_path / "pw"
    secret.write_text("a long enough password\n")
    result = app.test_cli_runner().invoke(
        args=[
            "users",
            "create",
            "Kim@Test.example",
            "--role",
            "scheduler",
            "--superuser",
            "--name",
            "김지훈",
            "--password-file",
            str(secret),
        ]
    )
    assert result.exit_code == 0, result.output
    assert "Created kim@test.example (scheduler, superuser)." in result.output
    user = session.scalar(select(User).where(User.email == "kim@test.example"))
    assert user.display_name == "김지훈"
    assert user.is_superuser and user.role is Role.SCHEDULER
    assert user.check_password("a long enough password")


def test_create_prompts_for_the_password_twice(app, session):
    result = app.test_cli_runner().invoke(
        args=["users", "create", "lee@test.example", "--role", "reviewer"],
        input="a long enough password\na long enough password\n",
    )
    assert result.exit_code == 0, result.output
    user = session.scalar(select(User).where(User.email == "lee@test.example"))
    assert user.display_name == "lee"
    assert user.check_password("a long enough password")


def test_create_refuses_bad_role_weak_password_and_duplicates(app, session, tmp_path):
    runner = app.test_cli_runner()
    bad_role = runner.invoke(args=["users", "create", "a@test.example", "--role", "king"])
    assert bad_role.exit_code == 2
    weak = tmp_path / "weak"
    weak.write_text("short\n")
    result = runner.invoke(
        args=["users", "create", "a@test.example", "--role", "admin", "--password-file", str(weak)]
    )
    assert result.exit_code == 1
    assert "at least 10 characters" in result.output
    make_user(session, email="taken@test.example")
    strong = tmp_path / "strong"
    strong.write_text("a long enough password\n")
    result = runner.invoke(
        args=[
            "users",
            "create",
            "taken@test.example",
            "--role",
            "admin",
            "--password-file",
            str(strong),
        ]
    )
    assert result.exit_code == 1
    assert "already exists" in result.output
    assert session.scalar(select(User).where(User.email == "a@test.example")) is None


def test_missing_password_file_is_a_clear_error(app, tmp_path):
    result = app.test_cli_runner().invoke(
        args=[
            "users",
            "create",
            "a@test.example",
            "--role",
            "admin",
            "--password-file",
            str(tmp_path / "nope"),
        ]
    )
    assert result.exit_code == 1
    assert "Cannot read" in result.output


def test_list_shows_role_and_flags(app, session):
    make_user(session, Role.REVIEWER, email="rev@test.example", name="Reviewer")
    make_user(session, Role.ADMIN, email="adm@test.example", name="Admin", superuser=True)
    make_user(session, Role.SCHEDULER, email="old@test.example", name="Old", active=False)
    result = app.test_cli_runner().invoke(args=["users", "list"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert "adm@test.example\tAdmin\tadmin, superuser" in lines
    assert "old@test.example\tOld\tscheduler, inactive" in lines
    assert "rev@test.example\tReviewer\treviewer" in lines


def test_set_password_and_deactivate(app, session, tmp_path):
    user = make_user(session, email="kim@test.example")
    make_user(session, superuser=True)
    new = tmp_path / "pw"
    new.write_text("the new long password\n")
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["users", "set-password", "kim@test.example", "--password-file", str(new)]
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["users", "deactivate", "KIM@test.example"])
    assert result.exit_code == 0, result.output
    session.refresh(user)
    assert user.check_password("the new long password")
    assert not user.is_active
    again = runner.invoke(args=["users", "deactivate", "kim@test.example"])
    assert again.exit_code == 1
    assert "already inactive" in again.output


def test_unknown_email_is_reported(app):
    result = app.test_cli_runner().invoke(args=["users", "deactivate", "nobody@test.example"])
    assert result.exit_code == 1
    assert "No user has the email nobody@test.example." in result.output
