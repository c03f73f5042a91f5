from office.auth.access import public
from tests.conftest import build_app, log_in
from tests.factories import make_user


def test_unknown_page_gets_the_404_page(client, session):
    log_in(client, make_user(session))
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert b"Page not found" in response.data


def test_server_error_page_reveals_nothing(connection, database_url):
    app = build_app(connection, database_url)  # its own: it gains a route
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"

    def explode():
        raise RuntimeError("secret detail: password=hunter2")

    app.add_url_rule("/explode", "explode", public(explode))
    app.config.update(TESTING=False, PROPAGATE_EXCEPTIONS=False)
    response = client.get("/explode")
    assert response.status_code == 500
    assert b"Something went wrong" in response.data
    assert b"hunter2" not in response.data
    assert b"RuntimeError" not in response.data
    assert b"Traceback" not in response.data


def test_pages_forbid_framing_and_foreign_scripts(client):
    response = client.get("/login")
    assert response.headers["X-Frame-Options"] == "DENY"
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy


def test_every_view_declares_who_may_open_it():
    from flask import Flask

    from office.auth.access import undeclared_endpoints

    bare = Flask(__name__)
    bare.add_url_rule("/forgotten", "forgotten", lambda: "")
    assert undeclared_endpoints(bare) == ["forgotten"]
