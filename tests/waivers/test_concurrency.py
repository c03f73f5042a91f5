"""Two requests can never both pass a cap: 20 concurrent 1,000 L drawdowns at a 10,000 L line
record exactly 10. Runs on a database of its own, committed for real, on SQLite and PostgreSQL."""

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest
from flask import Flask
from sqlalchemy import Engine, func, select, text

from office import create_app
from office.auth import services as auth_services
from office.auth.permissions import Role
from office.db import db
from office.waivers import ledger, services
from office.waivers.models import DrawdownEntry, WaiverLine, WaiverStatus
from tests.conftest import TEST_SECRET_KEY
from tests.factories import NOW
from tests.support import migrated_scratch_engine

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
