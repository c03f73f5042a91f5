"""The API tests' fixtures: clients that send a role's bearer token, and the ledger's state."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from office.auth import services as auth_services
from office.auth.models import User
from office.auth.permissions import Role
from office.db import utcnow
from office.fuel import services as fuel
from office.fuel.models import Meter, MeterSource
from office.i18n import office_date
from office.waivers.models import DrawdownEntry, LedgerHead, Waiver, WaiverLine, WaiverStatus
from tests.concurrency import Office
from tests.factories import NOW, make_resource, make_user, make_waiver

API = "/api/v1"


def issue_token(session: Session, user: User) -> str:
    _row, secret = auth_services.create_api_token(session, user, name="test", actor=None, now=NOW)
    session.commit()
    return secret


@dataclass
class ApiClient:
    """The test client, speaking JSON to /api/v1 with one bearer token (or none)."""

    client: FlaskClient
    token: str | None
    user: User | None = None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def get(self, path: str, query: dict[str, Any] | None = None) -> TestResponse:
        return self.client.get(API + path, query_string=query, headers=self.headers)

    def post(
        self,
        path: str,
        body: Any = None,
        *,
        raw: bytes | str | None = None,
        headers: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> TestResponse:
        """POST `body` as JSON, or `raw` exactly as given (with `headers` besides the token,
        as `content_type`)."""
        data = raw if raw is not None else json.dumps(body)
        return self.client.post(
            API + path,
            data=data,
            headers={**self.headers, **(headers or {})},
            content_type=content_type,
        )


@pytest.fixture
def api_as(client: FlaskClient, session: Session) -> Callable[..., ApiClient]:
    """Return a client carrying a fresh token of a new user with `role`."""

    def build(role: Role | str, *, superuser: bool = False) -> ApiClient:
        user = make_user(session, Role(role), superuser=superuser)
        return ApiClient(client, issue_token(session, user), user)

    return build


@pytest.fixture
def admin_api(api_as: Callable[..., ApiClient]) -> ApiClient:
    return api_as(Role.ADMIN)


@pytest.fixture
def reviewer_api(api_as: Callable[..., ApiClient]) -> ApiClient:
    return api_as(Role.REVIEWER)


@pytest.fixture
def anonymous_api(client: FlaskClient) -> ApiClient:
    return ApiClient(client, None)


def diesel_line(
    session: Session,
    granted: str | None = "1000",
    *,
    status: WaiverStatus = WaiverStatus.GRANTED,
    unit: str = "L",
) -> tuple[Waiver, WaiverLine]:
    """A 2018 waiver with one line of diesel (capped, HS 2710.19, 7.23 bbl/t)."""
    diesel = make_resource(session)
    waiver = make_waiver(session, [(diesel, unit, granted or "1000", granted)], status=status)
    return waiver, waiver.lines[0]


INSTALLED = datetime(2018, 10, 1, 0, 0, tzinfo=UTC)  # 09:00 in Seoul, the `meter` fixture's


@pytest.fixture
def power_line(session) -> WaiverLine:
    power = make_resource(
        session, "electricity", hs_code="2716.00", unit="kWh", barrels_per_tonne=None
    )
    return make_waiver(
        session, [(power, "kWh", "100000", "100000")], reference="MOU-T-POWER"
    ).lines[0]


@pytest.fixture
def meter(session, power_line) -> Meter:
    """The grid meter: five digits, read in kWh, installed 2018-10-01 09:00 (Seoul) at 99,000."""
    meter = fuel.add_meter(
        session,
        name="Main incomer",
        source=MeterSource.GRID_SOUTH,
        waiver_line=power_line,
        digits=5,
        multiplier="1",
        installed_at=INSTALLED,
        first_value="99000",
        actor=None,
        now=NOW,
    )
    session.commit()
    return meter


def drawdown_body(line: WaiverLine | None = None, **changes: Any) -> dict[str, Any]:
    """A valid request to draw 100 L of diesel on 2018-10-02 (on `line`, if given)."""
    body = {
        "resource": "diesel",
        "quantity": "100",
        "unit": "L",
        "occurred_on": "2018-10-02",
        "waiver_line_id": line.id if line is not None else None,
        "purpose": "operation",
    }
    return {**body, **changes}


def office_today() -> Any:
    return office_date(utcnow())


def office_tomorrow() -> Any:
    return office_today() + timedelta(days=1)


@dataclass(frozen=True)
class LedgerState:
    entries: int
    used_base: dict[int, Decimal]
    head: tuple[int, str]


@pytest.fixture
def ledger_state(session: Session) -> Callable[[], LedgerState]:
    """Return a function reading the ledger's row count, every line's use and the chain head."""

    def read() -> LedgerState:
        entries = session.scalar(select(func.count()).select_from(DrawdownEntry)) or 0
        used = {
            id_: value
            for id_, value in session.execute(select(WaiverLine.id, WaiverLine.used_base))
        }
        head = session.execute(
            select(LedgerHead.last_seq, LedgerHead.last_hash).where(LedgerHead.id == 1)
        ).one()
        return LedgerState(entries, used, (head[0], head[1]))

    return read


def assert_ledger_verifies(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["ledger", "verify"])
    assert result.exit_code == 0, result.output
    assert "Ledger intact" in result.output
    usage = app.test_cli_runner().invoke(args=["ledger", "check"])
    assert usage.exit_code == 0, usage.output


def assert_problem(response: TestResponse, status: int) -> dict[str, Any]:
    """Check `response` is an RFC 9457 problem with `status`; return its body."""
    assert response.status_code == status, response.get_data(as_text=True)[:2000]
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert {"type", "title", "status", "detail"} <= set(body)
    assert body["status"] == status
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    return body


# --- for tests whose requests commit for real (tests.concurrency) --------------------------


@pytest.fixture
def meter_id(office: Office) -> int:
    """A grid meter installed on 2018-10-01 at 0, drawn on a line of electricity."""
    with office.session() as session:
        power = make_resource(
            session, "electricity", hs_code="2716.00", unit="kWh", barrels_per_tonne=None
        )
        line = make_waiver(session, [(power, "kWh", "1000000", "1000000")]).lines[0]
        meter = fuel.add_meter(
            session,
            name="Main incomer",
            source=MeterSource.GRID_SOUTH,
            waiver_line=line,
            digits=7,
            multiplier="1",
            installed_at=datetime(2018, 10, 1, tzinfo=UTC),
            first_value="0",
            actor=None,
            now=NOW,
        )
        session.commit()
        return meter.id


def token_of(office: Office, user: User) -> str:
    with office.session() as session:
        _row, secret = auth_services.create_api_token(
            session, session.get(User, user.id), name="head-end", actor=None, now=NOW
        )
        session.commit()
    return secret
