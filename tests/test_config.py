import stat

import pytest

from office import config
from office.config import ConfigError

FERNET_KEY = "q7kzzB4bVpGC8jKX5f8dG8bY3f6nW0ZrjJ2f3d2YH5M="


def test_production_without_secret_key_refuses_to_start(tmp_path):
    with pytest.raises(ConfigError, match="SECRET_KEY is not set"):
        config.load(
            {"OFFICE_ENV": "production", "OFFICE_DATABASE_URL": "postgresql://db/office"},
            tmp_path,
        )


def test_production_without_database_url_refuses_to_start(tmp_path):
    with pytest.raises(ConfigError, match="OFFICE_DATABASE_URL is not set"):
        config.load({"OFFICE_ENV": "production", "SECRET_KEY": "k" * 64}, tmp_path)


def test_unknown_environment_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="OFFICE_ENV is 'staging'"):
        config.load({"OFFICE_ENV": "staging"}, tmp_path)


def test_development_key_is_generated_once_and_private(tmp_path):
    first = config.load({}, tmp_path)
    second = config.load({}, tmp_path)
    key_file = tmp_path / "secret_key"
    assert first["SECRET_KEY"] == second["SECRET_KEY"]
    assert len(first["SECRET_KEY"]) >= 64
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert list(tmp_path.glob(".secret_key.*")) == []


def test_development_defaults_to_sqlite_under_instance(tmp_path):
    settings = config.load({}, tmp_path)
    assert settings["DATABASE_URL"] == f"sqlite:///{tmp_path / 'office.db'}"
    assert settings["SESSION_COOKIE_SECURE"] is False


def test_production_cookies_are_secure_httponly_and_lax(tmp_path):
    settings = config.load(
        {
            "OFFICE_ENV": "production",
            "SECRET_KEY": "k" * 64,
            "OFFICE_DATABASE_URL": "postgresql://office@db/office",
            "OFFICE_TWO_FACTOR_KEY": FERNET_KEY,
            # An Ed25519 key's 32 bytes, in base64: production signs the ledger's checkpoints.
            "OFFICE_LEDGER_KEY": "A" * 43 + "=",
        },
        tmp_path,
    )
    assert settings["SESSION_COOKIE_SECURE"] is True
    assert settings["SESSION_COOKIE_HTTPONLY"] is True
    assert settings["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert settings["DATABASE_URL"] == "postgresql+psycopg://office@db/office"
    assert not (tmp_path / "secret_key").exists()


def test_session_cookie_is_sent_httponly_and_lax(client):
    client.get("/login")
    response = client.post("/language", data={"lang": "ko", "next": "/login"})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


@pytest.mark.parametrize("value", ["0", "601", "soon"])
def test_planner_seconds_must_be_a_sensible_search_time(tmp_path, value):
    with pytest.raises(ConfigError, match="OFFICE_PLANNER_SECONDS"):
        config.load({"OFFICE_PLANNER_SECONDS": value}, tmp_path)


def test_the_planner_may_search_longer_than_a_request_lasts_now_that_it_runs_on_a_worker(
    tmp_path,
):
    assert config.load({"OFFICE_PLANNER_SECONDS": "120"}, tmp_path)["OFFICE_PLANNER_SECONDS"] == 120


def test_the_job_queue_lives_beside_an_sqlite_database_and_in_postgresql_itself(tmp_path):
    beside = config.load({"OFFICE_DATABASE_URL": "sqlite:////srv/office.db"}, tmp_path)
    assert beside["OFFICE_JOBS_URL"] == "sqlite:////srv/office.db.jobs"
    url = "postgresql://office@db.example/office"
    same = config.load({"OFFICE_DATABASE_URL": url}, tmp_path)
    assert same["OFFICE_JOBS_URL"] == "postgresql+psycopg://office@db.example/office"
    chosen = config.load(
        {"OFFICE_DATABASE_URL": url, "OFFICE_JOBS_URL": "sqlite:////var/jobs.db"}, tmp_path
    )
    assert chosen["OFFICE_JOBS_URL"] == "sqlite:////var/jobs.db"
    with pytest.raises(ConfigError, match="OFFICE_JOBS_URL"):
        config.load({"OFFICE_JOBS_URL": "redis://localhost"}, tmp_path)


# --- two-factor sign-in -------------------------------------------------------------------

PRODUCTION = {
    "OFFICE_ENV": "production",
    "SECRET_KEY": "k" * 64,
    "OFFICE_DATABASE_URL": "postgresql://office@db/office",
    # An Ed25519 key's 32 bytes, in base64: production signs the ledger's checkpoints.
    "OFFICE_LEDGER_KEY": "A" * 43 + "=",
}


def test_production_without_a_two_factor_key_refuses_to_start(tmp_path):
    with pytest.raises(ConfigError, match="OFFICE_TWO_FACTOR_KEY is not set"):
        config.load(PRODUCTION, tmp_path)


@pytest.mark.parametrize("value", ["secret", "x" * 44, f"{FERNET_KEY},short"])
def test_a_two_factor_key_that_is_not_a_fernet_key_is_refused(tmp_path, value):
    with pytest.raises(ConfigError, match="Fernet keys"):
        config.load({**PRODUCTION, "OFFICE_TWO_FACTOR_KEY": value}, tmp_path)


def test_production_requires_a_second_factor_of_reviewers_and_superusers(tmp_path):
    settings = config.load({**PRODUCTION, "OFFICE_TWO_FACTOR_KEY": FERNET_KEY}, tmp_path)
    assert settings["OFFICE_TWO_FACTOR_REQUIRED_ROLES"] == {"reviewer", "superuser"}
    assert settings["OFFICE_TWO_FACTOR_KEYS"] == [FERNET_KEY]


def test_development_requires_no_second_factor_and_derives_its_key(tmp_path, caplog):
    settings = config.load({"SECRET_KEY": "d" * 64}, tmp_path)
    assert settings["OFFICE_TWO_FACTOR_REQUIRED_ROLES"] == frozenset()
    assert settings["OFFICE_TWO_FACTOR_KEYS"] == [config.development_two_factor_key("d" * 64)]
    assert "OFFICE_TWO_FACTOR_KEY is not set" in caplog.text


@pytest.mark.parametrize(
    ("value", "roles"),
    [
        ("none", set()),
        ("", set()),
        ("Admin, superuser", {"admin", "superuser"}),
        ("reviewer,scheduler,admin", {"reviewer", "scheduler", "admin"}),
    ],
)
def test_the_roles_that_need_a_second_factor_are_a_setting(tmp_path, value, roles):
    settings = config.load(
        {
            **PRODUCTION,
            "OFFICE_TWO_FACTOR_KEY": FERNET_KEY,
            "OFFICE_TWO_FACTOR_REQUIRED_ROLES": value,
        },
        tmp_path,
    )
    assert settings["OFFICE_TWO_FACTOR_REQUIRED_ROLES"] == roles


def test_an_unknown_role_needing_a_second_factor_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="names king"):
        config.load({"OFFICE_TWO_FACTOR_REQUIRED_ROLES": "reviewer,king"}, tmp_path)


# --- mail ---------------------------------------------------------------------------------


def test_development_mails_go_to_the_log_and_link_to_the_local_server(tmp_path):
    settings = config.load({"SECRET_KEY": "d" * 64}, tmp_path)
    assert settings["OFFICE_MAIL_BACKEND"] == "console"
    assert settings["OFFICE_BASE_URL"] == "http://localhost:5000"


def test_production_without_an_smtp_server_sends_no_mail_and_says_so(tmp_path, caplog):
    settings = config.load({**PRODUCTION, "OFFICE_TWO_FACTOR_KEY": FERNET_KEY}, tmp_path)
    assert settings["OFFICE_MAIL_BACKEND"] == "off"
    assert "OFFICE_SMTP_URL is not set: notices are in the app only" in caplog.text


def test_production_with_an_smtp_server_needs_a_sender_and_the_apps_address(tmp_path):
    environ = {
        **PRODUCTION,
        "OFFICE_TWO_FACTOR_KEY": FERNET_KEY,
        "OFFICE_SMTP_URL": "smtp+starttls://office:pw@relay.unikorea.test:587",
    }
    with pytest.raises(ConfigError, match="OFFICE_MAIL_FROM is not set"):
        config.load(environ, tmp_path)
    with pytest.raises(ConfigError, match="OFFICE_BASE_URL is not set"):
        config.load({**environ, "OFFICE_MAIL_FROM": "office@unikorea.test"}, tmp_path)
    settings = config.load(
        {
            **environ,
            "OFFICE_MAIL_FROM": "office@unikorea.test",
            "OFFICE_BASE_URL": "https://office.unikorea.test/",
        },
        tmp_path,
    )
    assert settings["OFFICE_MAIL_BACKEND"] == "smtp"
    assert settings["OFFICE_BASE_URL"] == "https://office.unikorea.test"


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"OFFICE_MAIL_BACKEND": "pigeon"}, "OFFICE_MAIL_BACKEND must be one of"),
        ({"OFFICE_MAIL_BACKEND": "smtp"}, "OFFICE_SMTP_URL must name the SMTP server"),
        ({"OFFICE_SMTP_URL": "http://relay", "OFFICE_MAIL_BACKEND": "smtp"}, "OFFICE_SMTP_URL"),
        ({"OFFICE_BASE_URL": "office.test"}, "OFFICE_BASE_URL must start with http"),
    ],
)
def test_mail_settings_that_cannot_work_are_refused(tmp_path, environ, message):
    with pytest.raises(ConfigError, match=message):
        config.load({"SECRET_KEY": "d" * 64, **environ}, tmp_path)
