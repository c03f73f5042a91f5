"""The Idempotency-Key header: a POST sent again with its key is carried out once and answered
as the first time; the key with another request is refused; two at once record once."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from office.api.idempotency import KEY_PATTERN, parse_key
from office.api.models import IdempotencyKey
from office.auth import services as auth_services
from office.auth.permissions import Role
from office.db import utcnow
from office.fuel import services as fuel
from office.fuel.models import (
    DailyLogEvent,
    DipReading,
    Generator,
    GeneratorReading,
    Meter,
    MeterReading,
)
from office.stock.models import StockMovement, Store
from office.waivers.models import (
    DrawdownEntry,
    Resource,
    Waiver,
    WaiverStatus,
    WaiverStatusChange,
)
from tests.api.conftest import (
    API,
    ApiClient,
    assert_ledger_verifies,
    assert_problem,
    diesel_line,
    drawdown_body,
)
from tests.api.document_calls import Form, document_posts
from tests.api.review_exchanges import REVIEW_POSTS
from tests.api.staffing_calls import STAFFING_POSTS
from tests.api.supplies_calls import supply_posts
from tests.api.test_openapi import fuel_site, grid_meter, meter_reading
from tests.concurrency import Office, at_once
from tests.factories import NOW, draw, make_resource

REPLAYED = "Idempotent-Replayed"


def new_key() -> str:
    return f'"{uuid.uuid4()}"'


def send(api: ApiClient, path: str, body: Any, key: str | None) -> TestResponse:
    """POST `body` as JSON, or a document's `Form` as multipart (with a boundary of its own
    each time)."""
    headers = dict(api.headers)
    if key is not None:
        headers["Idempotency-Key"] = key
    data, content_type = (
        body.encoded() if isinstance(body, Form) else (json.dumps(body), "application/json")
    )
    return api.client.post(API + path, data=data, headers=headers, content_type=content_type)


def count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_a_drawdown_sent_again_with_its_key_is_recorded_once_and_answered_as_before(
    app, session, admin_api, ledger_state
):
    _waiver, line = diesel_line(session)
    key = new_key()
    first = send(admin_api, "/drawdowns", drawdown_body(line), key)
    assert first.status_code == 201, first.get_json()
    assert REPLAYED not in first.headers

    again = send(admin_api, "/drawdowns", drawdown_body(line), key)
    assert again.status_code == 201
    assert again.headers[REPLAYED] == "true"
    assert again.get_json() == first.get_json()
    assert again.headers["Location"] == first.headers["Location"]
    assert again.mimetype == "application/json"
    state = ledger_state()
    assert state.entries == 1
    assert state.used_base[line.id] == 100
    assert_ledger_verifies(app)


def test_the_same_key_with_another_body_is_refused_and_writes_nothing(session, admin_api):
    _waiver, line = diesel_line(session)
    key = new_key()
    assert send(admin_api, "/drawdowns", drawdown_body(line), key).status_code == 201

    other = send(admin_api, "/drawdowns", drawdown_body(line, quantity="200"), key)
    body = assert_problem(other, 422)
    assert "another request" in body["detail"]
    assert count(session, DrawdownEntry) == 1


def test_the_same_key_at_another_address_is_refused(session, admin_api):
    _waiver, line = diesel_line(session)
    key = new_key()
    entry = send(admin_api, "/drawdowns", drawdown_body(line), key).get_json()
    reversal = send(admin_api, f"/drawdowns/{entry['id']}/reversal", {"reason": "twice"}, key)
    assert_problem(reversal, 422)
    assert count(session, DrawdownEntry) == 1


def test_a_key_belongs_to_the_user_who_sent_it(session, api_as):
    _waiver, line = diesel_line(session)
    key = new_key()
    first, second = api_as(Role.ADMIN), api_as(Role.ADMIN)
    assert send(first, "/drawdowns", drawdown_body(line), key).status_code == 201
    other = send(second, "/drawdowns", drawdown_body(line), key)
    assert other.status_code == 201
    assert REPLAYED not in other.headers
    assert count(session, DrawdownEntry) == 2


def test_a_refused_request_leaves_its_key_unused(session, admin_api):
    _waiver, line = diesel_line(session, "1000")
    key = new_key()
    over = send(admin_api, "/drawdowns", drawdown_body(line, quantity="5000"), key)
    assert_problem(over, 409)
    assert count(session, IdempotencyKey) == 0
    # Refused again, by the rules, not replayed.
    again = send(admin_api, "/drawdowns", drawdown_body(line, quantity="5000"), key)
    assert_problem(again, 409)
    assert REPLAYED not in again.headers
    invalid = send(admin_api, "/drawdowns", drawdown_body(line, quantity="many"), key)
    assert_problem(invalid, 422)

    corrected = send(admin_api, "/drawdowns", drawdown_body(line, quantity="500"), key)
    assert corrected.status_code == 201
    assert count(session, DrawdownEntry) == 1


@pytest.mark.parametrize(
    "header",
    [
        "8e03978e-40d5-43e8-bc93-6894a57f9324",  # not quoted: the draft asks for a String
        "abc",  # a Token
        "12",  # an Integer
        '""',  # empty
        '"' + "k" * 256 + '"',  # too long
        '"a" "b"',  # two items
        '"\x7f"',  # not printable
        '"unclosed',
    ],
)
def test_a_malformed_key_is_refused_with_a_problem_and_nothing_is_written(
    session, admin_api, header
):
    _waiver, line = diesel_line(session)
    body = assert_problem(send(admin_api, "/drawdowns", drawdown_body(line), header), 400)
    assert "Idempotency-Key" in body["detail"]
    assert count(session, DrawdownEntry) == 0


# No deadline: on a machine busy with other tests an example may take longer than 200 ms.
@settings(deadline=None)
@given(st.from_regex(KEY_PATTERN, fullmatch=True))
def test_every_key_the_document_allows_is_accepted(header):
    key = parse_key(header)
    assert key is not None
    assert 1 <= len(key) <= 255


def test_a_key_sent_twice_in_one_request_is_refused(session, admin_api):
    _waiver, line = diesel_line(session)
    response = admin_api.client.post(
        API + "/drawdowns",
        data=json.dumps(drawdown_body(line)),
        headers=[
            *admin_api.headers.items(),
            ("Idempotency-Key", '"a"'),
            ("Idempotency-Key", '"b"'),
        ],
        content_type="application/json",
    )
    assert_problem(response, 400)
    assert count(session, DrawdownEntry) == 0


@settings(deadline=None)
@given(st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E)))
def test_only_keys_the_document_allows_are_accepted(header):
    if parse_key(header) is not None:
        # HTTP drops the spaces around a header's value before the app sees it.
        assert re.fullmatch(KEY_PATTERN, header.strip(" "))


def test_a_key_with_escapes_is_read_as_the_draft_says_and_parameters_are_refused():
    assert parse_key(r'"say \"hi\" \\ bye"') == 'say "hi" \\ bye'
    assert parse_key('"k-1";ttl=60') is None


@dataclass
class Post:
    role: Role
    path: Callable[[Session], str]
    body: Callable[[Session], dict[str, Any]]
    table: type
    # A screening records nothing: the key still gets its first answer again.
    writes: bool = True


def _resource_body(session: Session) -> dict[str, Any]:
    return {"code": "coal", "name": "Coal", "hs_code": "2701.12", "unit": "t"}


def _waiver_body(session: Session) -> dict[str, Any]:
    make_resource(session)
    return {"reference": "MOU-2018-0901", "authority": "rok_mou_individual", "title": "Fuel"}


def _draft_waiver_status(session: Session) -> str:
    waiver, _line = diesel_line(session, status=WaiverStatus.DRAFT)
    return f"/waivers/{waiver.id}/status"


def _entry_reversal(session: Session) -> str:
    _waiver, line = diesel_line(session)
    return f"/drawdowns/{draw(session, line.resource, '10', line=line).id}/reversal"


def _reading_body(session: Session) -> dict[str, Any]:
    return meter_reading(grid_meter(session), "99100", 10)


def _batch_body(session: Session) -> dict[str, Any]:
    meter = grid_meter(session)
    return {"readings": [meter_reading(meter, "99100", 10), meter_reading(meter, "99200", 11)]}


def _latest_reading_void(session: Session) -> str:
    meter = grid_meter(session)
    reading = fuel.record_meter_reading(
        session,
        meter,
        value="99100",
        read_at=datetime(2018, 10, 10, tzinfo=UTC),
        actor=None,
        now=NOW,
    )
    session.commit()
    return f"/meter-readings/{reading.id}/void"


def _stocked_tank(session: Session) -> Store:
    """A tank holding 500 L received on 2018-10-02."""
    _waiver, line = diesel_line(session)
    tank, _generator, roomy = fuel_site(session, line)
    fuel.receive_fuel(
        session,
        tank,
        quantity="500",
        unit="L",
        received_on=date(2018, 10, 2),
        waiver_line=roomy,
        actor=None,
        now=NOW,
    )
    session.commit()
    return tank


def _receipt_body(session: Session) -> dict[str, Any]:
    _waiver, line = diesel_line(session)
    tank, _generator, roomy = fuel_site(session, line)
    return {
        "tank_id": tank.id,
        "quantity": "100",
        "unit": "L",
        "received_on": "2018-10-02",
        "authorisations": [{"regime": "un", "line_id": roomy.id}],
    }


def _issue_body(session: Session) -> dict[str, Any]:
    tank = _stocked_tank(session)
    return {"tank_id": tank.id, "quantity": "10", "issued_on": "2018-10-03", "use": "boiler"}


def _return_body(session: Session) -> dict[str, Any]:
    return {"tank_id": _stocked_tank(session).id, "quantity": "10", "returned_on": "2018-10-03"}


def _issue_void(session: Session) -> str:
    tank = _stocked_tank(session)
    issue = fuel.issue_fuel(
        session, tank, quantity="10", issued_on=date(2018, 10, 3), use="boiler", actor=None, now=NOW
    )
    session.commit()
    return f"/fuel/movements/{issue.id}/void"


def _dip_body(session: Session) -> dict[str, Any]:
    tank = _stocked_tank(session)
    return {"tank_id": tank.id, "measured": "500", "read_at": "2018-10-03T09:00:00+09:00"}


def _hours_body(session: Session) -> dict[str, Any]:
    _waiver, line = diesel_line(session)
    _tank, generator, _roomy = fuel_site(session, line)
    return {"generator_id": generator.id, "hours": "12", "read_at": "2018-10-03T09:00:00Z"}


def _meter_body(session: Session) -> dict[str, Any]:
    return {
        "name": "Generator 1 output",
        "source": "generator",
        "digits": 6,
        "multiplier": "1",
        "installed_at": "2018-10-04T09:00:00+09:00",
        "first_value": "0",
    }


def _meter_replacement(session: Session) -> str:
    return f"/meters/{grid_meter(session).id}/replace"


def _replacement_body(session: Session) -> dict[str, Any]:
    return {
        "final_value": "99100",
        "replaced_at": "2018-10-05T09:00:00+09:00",
        "name": "New incomer",
        "digits": 6,
        "multiplier": "1",
        "first_value": "0",
    }


def _tank_body(session: Session) -> dict[str, Any]:
    make_resource(session)
    return {"name": "Annex tank", "resource": "diesel", "capacity": "800", "opening": "100"}


POSTS = {
    "createResource": Post(Role.REVIEWER, lambda s: "/resources", _resource_body, Resource),
    "createWaiver": Post(Role.REVIEWER, lambda s: "/waivers", _waiver_body, Waiver),
    "changeWaiverStatus": Post(
        Role.REVIEWER,
        _draft_waiver_status,
        lambda s: {"status": "requested", "effective_on": "2018-06-01"},
        WaiverStatusChange,
    ),
    "recordDrawdown": Post(
        Role.ADMIN,
        lambda s: "/drawdowns",
        lambda s: drawdown_body(diesel_line(s)[1]),
        DrawdownEntry,
    ),
    "reverseDrawdown": Post(
        Role.ADMIN, _entry_reversal, lambda s: {"reason": "twice"}, DrawdownEntry
    ),
    "screenItem": Post(
        Role.REVIEWER,
        lambda s: "/screenings",
        lambda s: {
            "hs_code": diesel_line(s)[1].resource.hs_code,
            "origin": "KR",
            "quantity": "100",
            "unit": "L",
            "occurred_on": "2018-10-02",
        },
        DrawdownEntry,
        writes=False,
    ),
    "recordMeterReading": Post(
        Role.ADMIN, lambda s: "/meter-readings", _reading_body, MeterReading
    ),
    "recordMeterReadings": Post(
        Role.ADMIN, lambda s: "/meter-readings/batch", _batch_body, MeterReading
    ),
    "voidMeterReading": Post(
        Role.ADMIN, _latest_reading_void, lambda s: {"reason": "Misread"}, DrawdownEntry
    ),
    "receiveFuel": Post(Role.ADMIN, lambda s: "/fuel/receipts", _receipt_body, StockMovement),
    "issueFuel": Post(Role.ADMIN, lambda s: "/fuel/issues", _issue_body, StockMovement),
    "returnFuel": Post(Role.ADMIN, lambda s: "/fuel/returns", _return_body, StockMovement),
    "voidFuelMovement": Post(Role.ADMIN, _issue_void, lambda s: {"reason": "Twice"}, DailyLogEvent),
    "recordDip": Post(Role.ADMIN, lambda s: "/fuel/dips", _dip_body, DipReading),
    "saveDailyLogNotes": Post(
        Role.ADMIN,
        lambda s: "/daily-logs/2018-10-10/notes",
        lambda s: {"notes": "Quiet."},
        DailyLogEvent,
    ),
    "signOffDailyLog": Post(
        Role.ADMIN, lambda s: "/daily-logs/2018-10-10/sign-off", lambda s: {}, DailyLogEvent
    ),
    "createMeter": Post(Role.ADMIN, lambda s: "/meters", _meter_body, Meter),
    "replaceMeter": Post(Role.ADMIN, _meter_replacement, _replacement_body, Meter),
    "createGenerator": Post(
        Role.ADMIN, lambda s: "/generators", lambda s: {"name": "G2", "rated_lph": "19"}, Generator
    ),
    "createTank": Post(Role.ADMIN, lambda s: "/tanks", _tank_body, Store),
    "recordGeneratorHours": Post(
        Role.ADMIN, lambda s: "/generator-readings", _hours_body, GeneratorReading
    ),
    **{name: Post(Role.SCHEDULER, *post) for name, post in STAFFING_POSTS.items()},
    **supply_posts(Post),
}
POSTS.update({name: Post(*fields) for name, fields in REVIEW_POSTS.items()})
POSTS.update(document_posts(Post))


@pytest.mark.parametrize("operation", sorted(POSTS))
def test_every_post_of_the_api_honours_the_key(session, api_as, operation):
    post = POSTS[operation]
    api = api_as(post.role)
    path = post.path(session)
    body = post.body(session)
    before = count(session, post.table)
    key = new_key()

    first = send(api, path, body, key)
    assert first.status_code in (200, 201, 202), first.get_json()
    written = count(session, post.table)
    assert written > before if post.writes else written == before
    again = send(api, path, body, key)
    assert (again.status_code, again.get_json()) == (first.status_code, first.get_json())
    assert again.headers[REPLAYED] == "true"
    assert count(session, post.table) == written


def test_the_document_declares_the_key_on_every_post(app, anonymous_api):
    doc = anonymous_api.get("/openapi.json").get_json()
    posts = [
        rule.rule
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith(API) and "POST" in rule.methods
    ]
    assert len(posts) == len(POSTS)
    for path, item in doc["paths"].items():
        if "post" not in item:
            continue
        operation = item["post"]
        (header,) = [p for p in operation["parameters"] if p["in"] == "header"]
        assert header["name"] == "Idempotency-Key"
        assert header["schema"]["pattern"] == KEY_PATTERN
        assert header["required"] is False
        assert {"400", "409", "422"} <= set(operation["responses"]), path
    assert sorted(op["post"]["operationId"] for op in doc["paths"].values() if "post" in op) == (
        sorted(POSTS)
    )


def test_keys_are_kept_a_day_then_removed_by_later_requests(session, admin_api):
    _waiver, line = diesel_line(session)
    user_id = admin_api.user.id
    now = utcnow()
    old = IdempotencyKey(
        user_id=user_id,
        key="old",
        fingerprint="0" * 64,
        created_at=now - timedelta(hours=25),
        status=201,
    )
    recent = IdempotencyKey(
        user_id=user_id,
        key="recent",
        fingerprint="0" * 64,
        created_at=now - timedelta(hours=23),
        status=201,
    )
    session.add_all([old, recent])
    session.commit()

    assert send(admin_api, "/drawdowns", drawdown_body(line), '"new"').status_code == 201
    assert set(session.scalars(select(IdempotencyKey.key))) == {"recent", "new"}
    # The removed key is free again; the kept one still answers as before.
    assert send(admin_api, "/drawdowns", drawdown_body(line), '"old"').status_code == 201
    assert_problem(send(admin_api, "/drawdowns", drawdown_body(line), '"recent"'), 422)


def test_a_post_without_a_key_is_carried_out_each_time(session, admin_api):
    _waiver, line = diesel_line(session)
    assert send(admin_api, "/drawdowns", drawdown_body(line), None).status_code == 201
    assert send(admin_api, "/drawdowns", drawdown_body(line), None).status_code == 201
    assert count(session, DrawdownEntry) == 2
    assert count(session, IdempotencyKey) == 0


# --- at the same moment, committed for real (see tests.concurrency) -------------------------


def test_two_requests_with_one_key_at_once_record_once_and_get_the_same_answer(office: Office):
    with office.session() as session:
        _waiver, line = diesel_line(session)
        _row, token = auth_services.create_api_token(
            session, office.admin, name="race", actor=None, now=NOW
        )
        session.commit()
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": new_key()}
    body = json.dumps(drawdown_body(line))
    clients = [office.app.test_client() for _ in range(3)]

    answers = at_once(
        [
            lambda c=c: c.post(
                API + "/drawdowns", data=body, headers=headers, content_type="application/json"
            )
            for c in clients
        ]
    )

    assert [a.status_code for a in answers] == [201, 201, 201]
    assert len({json.dumps(a.get_json(), sort_keys=True) for a in answers}) == 1
    assert sum(REPLAYED in a.headers for a in answers) == 2
    with office.session() as session:
        assert count(session, DrawdownEntry) == 1
        assert count(session, IdempotencyKey) == 1
