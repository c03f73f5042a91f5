"""Two requests can never both pass a cap: 20 concurrent 1,000 L drawdowns at a 10,000 L line
record exactly 10. Runs on a database of its own, committed for real, on SQLite and PostgreSQL."""

import fcntl
import os
import sqlite3
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest
from flask import Flask
from sqlalchemy import Engine, func, select, text

from office import create_app
from office.auth import services as auth_services
from office.auth.permissions import Role
from office.db import CHECKPOINT_EVERY, create_engine_for, db
from office.waivers import ledger, services
from office.waivers.models import DrawdownEntry, WaiverLine, WaiverStatus
from tests.conftest import TEST_SECRET_KEY
from tests.factories import NOW
from tests.support import migrate, migrated_scratch_engine

REQUESTS = 20


@dataclass
class Office:
    app: Flask
    engine: Engine
    token: str
    line_id: int


@pytest.fixture
def office(tmp_path) -> Iterator[Office]:
    """An app on a database of its own, committed for real: an administrator with an API token
    and a granted 10,000 L diesel line."""
    with migrated_scratch_engine(tmp_path) as engine:
        yield from _office_on(engine)


@pytest.fixture
def sqlite_office(tmp_path) -> Iterator[Office]:
    """The same on a SQLite file, whatever database the suite runs on: writers to a SQLite
    file queue for their turn, which is what these tests are about."""
    engine = create_engine_for(f"sqlite:///{tmp_path / 'writers.db'}")
    try:
        migrate(engine)
        yield from _office_on(engine)
    finally:
        engine.dispose()


def _office_on(engine: Engine) -> Iterator[Office]:
    url = engine.url.render_as_string(hide_password=False)
    app = create_app(
        {
            "OFFICE_ENV": "development",
            "SECRET_KEY": TEST_SECRET_KEY,
            "OFFICE_DATABASE_URL": url,
        },
        TESTING=True,
    )
    with app.app_context():
        admin = auth_services.create_user(
            db.session,
            email="admin@test.example",
            display_name="Admin",
            role=Role.ADMIN,
            password="correct horse battery",
            actor=None,
        )
        _row, token = auth_services.create_api_token(
            db.session, admin, name="t", actor=None, now=NOW
        )
        diesel = services.save_resource(
            db.session,
            code="diesel",
            name_ko="경유",
            name_en="Diesel",
            hs_code="2710.19",
            unit="L",
            barrels_per_tonne="7.23",
            actor=None,
        )
        waiver = services.create_waiver(
            db.session,
            reference="1718-2018-07",
            authority="un_1718_committee",
            title="Concurrency",
            status=WaiverStatus.GRANTED,
            valid_from=date(2018, 1, 1),
            valid_until=date(2018, 12, 31),
            lines=[services.LineSpec(diesel, "L", "10000", "10000")],
            actor=None,
            now=NOW,
        )
        line_id = waiver.lines[0].id
        db.session.commit()
    yield Office(app, engine, token, line_id)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_twenty_concurrent_drawdowns_at_a_10000_litre_line_record_exactly_ten(office):
    app, token, line_id = office.app, office.token, office.line_id
    start = threading.Barrier(REQUESTS)
    body = {
        "resource": "diesel",
        "quantity": 1000,
        "unit": "L",
        "occurred_on": "2018-10-01",
        "waiver_line_id": line_id,
        "purpose": "operation",
    }

    def post(_: int) -> tuple[int, dict]:
        client = app.test_client()
        start.wait(timeout=30)
        response = client.post(
            "/api/v1/drawdowns", json=body, headers={"Authorization": f"Bearer {token}"}
        )
        return response.status_code, response.get_json()

    with ThreadPoolExecutor(max_workers=REQUESTS) as pool:
        results = list(pool.map(post, range(REQUESTS)))

    statuses = [status for status, _body in results]
    assert statuses.count(201) == 10, statuses
    assert statuses.count(409) == 10, statuses
    refused = [payload for status, payload in results if status == 409]
    assert all(payload["classification"] == "over_cap" for payload in refused)
    with app.app_context():
        line = db.session.get(WaiverLine, line_id)
        assert line.used_base == Decimal(10000)
        count = db.session.scalar(select(func.count()).select_from(DrawdownEntry))
        assert count == 10
        assert ledger.verify_chain(db.session) == (10, None)
        assert ledger.check_usage(db.session) == []


def test_a_bad_drawdown_is_answered_at_once_while_another_writer_holds_the_ledger(office):
    """Reading and checking the request happen before the write lock is taken, so bad input
    does not wait behind other writers (on SQLite: the whole database's write lock)."""
    client = office.app.test_client()
    headers = {"Authorization": f"Bearer {office.token}"}
    with office.engine.connect() as writer:
        # Another writer in the middle of its transaction, holding the ledger head.
        if office.engine.dialect.name == "sqlite":
            writer = writer.execution_options(sqlite_begin="IMMEDIATE")
        with writer.begin():
            writer.execute(text("UPDATE ledger_head SET last_seq = last_seq WHERE id = 1"))
            answered: list[int] = []
            request = threading.Thread(
                target=lambda: answered.append(
                    client.post(
                        "/api/v1/drawdowns", json={"resource": "diesel"}, headers=headers
                    ).status_code
                ),
                daemon=True,
            )
            request.start()
            request.join(timeout=10)
            assert answered == [422], "the bad request waited for the other writer"


# --- SQLite: writers queue on a lock file --------------------------------------------------


def _drawdown(line_id: int, litres: int) -> dict:
    return {
        "resource": "diesel",
        "quantity": litres,
        "unit": "L",
        "occurred_on": "2018-10-01",
        "waiver_line_id": line_id,
        "purpose": "operation",
    }


def _turn_is_free(office: Office) -> bool:
    fd = os.open(f"{office.engine.url.database}-writers.lock", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


def test_a_drawdown_waits_for_the_writer_before_it_and_then_goes_ahead(sqlite_office):
    office = sqlite_office
    client = office.app.test_client()
    headers = {"Authorization": f"Bearer {office.token}"}
    answered: list[int] = []
    fd = os.open(f"{office.engine.url.database}-writers.lock", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # another worker's turn to write
        request = threading.Thread(
            target=lambda: answered.append(
                client.post(
                    "/api/v1/drawdowns", json=_drawdown(office.line_id, 500), headers=headers
                ).status_code
            ),
            daemon=True,
        )
        request.start()
        request.join(timeout=0.5)
        assert answered == [], "the drawdown wrote while another writer had its turn"
    finally:
        os.close(fd)  # that writer is done
    request.join(timeout=10)
    assert answered == [201]
    with office.app.app_context():
        assert db.session.get(WaiverLine, office.line_id).used_base == Decimal(500)


def test_every_write_gives_its_turn_back_whatever_its_outcome(sqlite_office):
    office = sqlite_office
    client = office.app.test_client()
    headers = {"Authorization": f"Bearer {office.token}"}
    outcomes = [
        (_drawdown(office.line_id, 1000), 201),  # recorded
        (_drawdown(office.line_id, 20000), 409),  # refused: over the cap, rolled back
        (_drawdown(office.line_id + 1000, 10), 422),  # no such line: refused before its turn
    ]
    for body, status in outcomes:
        response = client.post("/api/v1/drawdowns", json=body, headers=headers)
        assert response.status_code == status, response.get_json()
        assert _turn_is_free(office), f"a {status} answer kept the turn to write"
    # A form post takes its turn for the whole request, and gives it back when refused too
    # (here for want of its CSRF token).
    with client.session_transaction() as flask_session:
        flask_session["_user_id"] = _session_id(office)
    response = client.post("/ledger/new", data={"resource": "diesel", "quantity": "1"})
    assert response.status_code == 400
    assert _turn_is_free(office)


def _session_id(office: Office) -> str:
    from office.auth.models import User

    with office.app.app_context():
        return db.session.scalar(select(User)).get_id()


def test_requests_copy_the_wal_into_the_database_file_every_so_many_writes(sqlite_office):
    """SQLite's own checkpoint would run inside a COMMIT; the app's requests run it
    themselves, every so many writes, at the end of their turn to write."""
    office = sqlite_office
    path = office.engine.url.database
    with closing(sqlite3.connect(path)) as setup:
        setup.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the fixture's records, in the file

    def entries_in_the_file() -> int:  # the database file alone, without its WAL
        with closing(sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)) as file:
            return file.execute("SELECT count(*) FROM drawdown_entries").fetchone()[0]

    client = office.app.test_client()
    headers = {"Authorization": f"Bearer {office.token}"}
    for n in range(1, CHECKPOINT_EVERY + 1):
        response = client.post(
            "/api/v1/drawdowns", json=_drawdown(office.line_id, 10), headers=headers
        )
        assert response.status_code == 201
        if n == CHECKPOINT_EVERY - 1:
            assert entries_in_the_file() == 0, "the WAL was copied before its time"
    assert entries_in_the_file() == CHECKPOINT_EVERY


def test_the_wal_starts_over_while_writers_keep_coming(sqlite_office):
    """Under steady writes a checkpoint run after the turn to write never caught up with the
    next writer, SQLite never started the WAL over, and it grew with every write. Run within
    the turn, the WAL stays as long as the writes between a few checkpoints (one may stop
    short of the end for a reader, the next catches up)."""
    office = sqlite_office
    path = office.engine.url.database
    headers = {"Authorization": f"Bearer {office.token}"}

    def wal_frames() -> int:
        return max(os.path.getsize(f"{path}-wal") - 32, 0) // (24 + 4096)

    def write(count: int) -> None:
        client = office.app.test_client()
        for _ in range(count):
            response = client.post(
                "/api/v1/drawdowns", json=_drawdown(office.line_id, 1), headers=headers
            )
            assert response.status_code == 201

    with closing(sqlite3.connect(path)) as setup:
        setup.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    write(1)
    per_write = wal_frames()
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(write, [8 * CHECKPOINT_EVERY] * 2))

    assert per_write > 0 and wal_frames() <= 4 * CHECKPOINT_EVERY * per_write, (
        f"{wal_frames()} frames in the WAL after {16 * CHECKPOINT_EVERY} writes of "
        f"{per_write} frames each"
    )
