"""A worker that dies after its write committed, before its answer reached the client: the
client's retry (same Idempotency-Key, same form token) records nothing more.

The app runs under gunicorn, as in production, on a database of its own. A gunicorn settings
file made for these tests makes a request that carries `X-Test-Die-After-Commit` kill its own
worker with SIGKILL the moment its first commit has reached the database, before a byte of
the answer is written: what a crash, the OOM killer or a power cut would do. The master starts
a new worker, and the client, which got no answer, sends the request again.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.cookies import SimpleCookie
from pathlib import Path

import pytest
from sqlalchemy import func, select

from office.api.models import IdempotencyKey
from office.auth import services as auth_services
from office.config import ROOT
from office.forms import ONCE_FIELD
from office.waivers.models import DrawdownEntry
from tests.api.conftest import assert_ledger_verifies, diesel_line, drawdown_body
from tests.concurrency import TEST_SECRET_KEY, Office, open_session
from tests.factories import NOW
from tests.test_once import ALREADY_SENT, Forms
from tests.waivers.test_views import drawdown

DIE = "X-Test-Die-After-Commit"
ENGLISH = {"Accept-Language": "en"}
SETTINGS = f'''
"""gunicorn settings for tests/test_lost_answers.py only."""

import os
import signal


def post_worker_init(worker):
    from flask import has_request_context, request
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    from office.waivers.models import DrawdownEntry

    # Die after the commit that carries the drawdown, not an earlier one of the same request
    # (the session's or token's "last used" is committed before the view runs).
    def mark(session, context, instances):
        if any(isinstance(row, DrawdownEntry) for row in session.new):
            session.info["drawn"] = True

    def die(session):
        if session.info.pop("drawn", False) and has_request_context() and request.headers.get(
            "{DIE}"
        ):
            os.kill(os.getpid(), signal.SIGKILL)

    event.listen(Session, "before_flush", mark)
    event.listen(Session, "after_commit", die)
'''


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_up(port: int, server: subprocess.Popen[bytes], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with code {server.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer within {timeout} s")


@contextmanager
def gunicorn(url: str, directory: Path) -> Iterator[int]:
    """Serve the app on `url`'s database with one gunicorn worker; yield its port."""
    settings = directory / "gunicorn_settings.py"
    settings.write_text(SETTINGS)
    port = _free_port()
    env = {
        **os.environ,
        "OFFICE_ENV": "development",
        "SECRET_KEY": TEST_SECRET_KEY,
        "OFFICE_DATABASE_URL": url,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    log_path = directory / "gunicorn.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--workers=1",
                f"--bind=127.0.0.1:{port}",
                f"--config={settings}",
                "app:app",
            ],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_until_up(port, server)
            yield port
        finally:
            server.terminate()
            server.wait(timeout=30)
    assert "SIGKILL" in log_path.read_text(errors="replace"), "the worker was never killed"


def _url(office: Office) -> str:
    return office.engine.url.render_as_string(hide_password=False)


def _post(port: int, path: str, body: bytes, headers: dict[str, str]) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.request("POST", path, body=body, headers=headers)
    return connection.getresponse()


def _entries(office: Office) -> int:
    with office.session() as session:
        return session.scalar(select(func.count()).select_from(DrawdownEntry)) or 0


def test_a_drawdown_whose_answer_was_lost_is_recorded_once_when_sent_again(office, tmp_path):
    with office.session() as session:
        _waiver, line = diesel_line(session)
        _row, token = auth_services.create_api_token(
            session, office.admin, name="lost", actor=None, now=NOW
        )
        session.commit()
        body = json.dumps(drawdown_body(line)).encode()
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
        "Idempotency-Key": f'"{uuid.uuid4()}"',
    }

    with gunicorn(_url(office), tmp_path) as port:
        with pytest.raises((http.client.HTTPException, ConnectionError)):
            _post(port, "/api/v1/drawdowns", body, {**headers, DIE: "1"}).read()
        # The drawdown and its answer were committed; the client saw nothing of it.
        assert _entries(office) == 1
        with office.session() as session:
            kept = session.scalar(select(IdempotencyKey))
            assert kept is not None and kept.status == 201

        retry = _post(port, "/api/v1/drawdowns", body, headers)
        answer = json.loads(retry.read())

    assert retry.status == 201
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert _entries(office) == 1
    with office.session() as session:
        entry = session.scalar(select(DrawdownEntry))
        assert (answer["id"], answer["hash"]) == (entry.id, entry.hash)
    with office.app.app_context():
        assert_ledger_verifies(office.app)


def _cookie(response: http.client.HTTPResponse, name: str, current: str) -> str:
    """The session cookie as `response` left it."""
    jar: SimpleCookie = SimpleCookie()
    for header in response.headers.get_all("Set-Cookie") or []:
        jar.load(header)
    morsel = jar.get(name)
    return f"{name}={morsel.value}" if morsel is not None else current


def test_a_drawdown_form_whose_answer_was_lost_is_recorded_once_when_sent_again(office, tmp_path):
    with office.session() as session:
        _waiver, line = diesel_line(session)
        fields = drawdown(line, "100")
    # The session cookie a login leaves: the key of a session kept in the database.
    name = office.app.config["SESSION_COOKIE_NAME"]
    serializer = office.app.session_interface.get_signing_serializer(office.app)
    login = serializer.dumps({"_user_id": open_session(office.app, office.admin), "_fresh": True})
    cookie = f"{name}={login}"

    with gunicorn(_url(office), tmp_path) as port:
        base = f"http://127.0.0.1:{port}"
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        connection.request("GET", "/ledger/new", headers={"Cookie": cookie, **ENGLISH})
        page = connection.getresponse()
        cookie = _cookie(page, name, cookie)
        (form,) = [f for f in Forms(page.read().decode()).forms if f.action == "/ledger/new"]
        sent = urllib.parse.urlencode(
            {
                **fields,
                "csrf_token": form.fields["csrf_token"][0],
                ONCE_FIELD: form.fields[ONCE_FIELD][0],
            }
        ).encode()
        headers = {
            **ENGLISH,
            "Cookie": cookie,
            "Content-Type": "application/x-www-form-urlencoded",
            "Referer": f"{base}/ledger/new",
        }

        with pytest.raises((http.client.HTTPException, ConnectionError)):
            _post(port, "/ledger/new", sent, {**headers, DIE: "1"}).read()
        assert _entries(office) == 1

        # The browser's reload after a lost answer: the same form, the same token.
        retry = _post(port, "/ledger/new", sent, headers)
        retry.read()
        assert retry.status == 303
        assert retry.headers["Location"] == "/ledger/new"
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        connection.request(
            "GET", "/ledger/new", headers={"Cookie": _cookie(retry, name, cookie), **ENGLISH}
        )
        shown = connection.getresponse().read().decode()

    assert ALREADY_SENT in re.sub(r"\s+", " ", shown)
    assert _entries(office) == 1
