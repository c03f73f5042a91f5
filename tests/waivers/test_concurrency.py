"""Two requests can never both pass a cap, nor both reverse one entry, nor both change a waiver:
committed for real, all at once (`tests.concurrency`)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from office.auth import services as auth_services
from office.waivers import ledger
from office.waivers.models import DrawdownEntry, HsRule, Resource, Waiver, WaiverLine
from tests.concurrency import Office, at_once, post
from tests.factories import NOW, draw, make_resource, make_waiver

REQUESTS = 20


@pytest.fixture
def line_id(office: Office) -> int:
    """A granted 10,000 L diesel line."""
    with office.session() as session:
        diesel = make_resource(session)
        return make_waiver(session, [(diesel, "L", "10000", "10000")]).lines[0].id


def _token(office: Office) -> str:
    with office.session() as session:
        _row, token = auth_services.create_api_token(
            session, office.admin, name="t", actor=None, now=NOW
        )
        session.commit()
        return token


def test_twenty_concurrent_drawdowns_at_a_10000_litre_line_record_exactly_ten(office, line_id):
    token = _token(office)
    body = {
        "resource": "diesel",
        "quantity": 1000,
        "unit": "L",
        "occurred_on": "2018-10-01",
        "waiver_line_id": line_id,
        "purpose": "operation",
    }

    def post_drawdown() -> tuple[int, dict]:
        response = office.client().post(
            "/api/v1/drawdowns", json=body, headers={"Authorization": f"Bearer {token}"}
        )
        return response.status_code, response.get_json()

    results = at_once([post_drawdown] * REQUESTS)

    statuses = [status for status, _body in results]
    assert statuses.count(201) == 10, statuses
    assert statuses.count(409) == 10, statuses
    refused = [payload for status, payload in results if status == 409]
    assert all(payload["classification"] == "over_cap" for payload in refused)
    with office.session() as session:
        assert session.get(WaiverLine, line_id).used_base == Decimal(10000)
        assert session.scalar(select(func.count()).select_from(DrawdownEntry)) == 10
        assert ledger.verify_chain(session) == (10, None)
        assert ledger.check_usage(session) == []


def test_one_entry_reversed_ten_times_at_once_is_reversed_once(office, line_id):
    with office.session() as session:
        entry = draw(session, make_resource(session), "4000", line=session.get(WaiverLine, line_id))

    statuses = at_once(
        [
            post(office, office.admin, f"/ledger/{entry.id}/reversal", data={"reason": "twice"})
            for _ in range(10)
        ]
    )

    assert 500 not in statuses, statuses
    with office.session() as session:
        reversals = session.scalars(
            select(DrawdownEntry).where(DrawdownEntry.reverses_id == entry.id)
        ).all()
        assert len(reversals) == 1
        assert session.get(WaiverLine, line_id).used_base == 0  # not -36,000 L
        assert ledger.verify_chain(session) == (2, None)
        assert ledger.check_usage(session) == []


def test_a_status_change_and_drawdowns_at_once_classify_each_by_the_status_it_met(office, line_id):
    """Drawdowns hold the waiver shared and its revocation exclusively: each drawdown is
    recorded against the status it met, and none lands as covered after the revocation."""
    token = _token(office)
    with office.session() as session:
        waiver_id = session.get(WaiverLine, line_id).waiver_id
    body = {
        "resource": "diesel",
        "quantity": 100,
        "unit": "L",
        "occurred_on": "2018-10-01",
        "waiver_line_id": line_id,
        "purpose": "operation",
    }

    def drawdown() -> int:
        return (
            office.client()
            .post("/api/v1/drawdowns", json=body, headers={"Authorization": f"Bearer {token}"})
            .status_code
        )

    revoke = post(
        office,
        office.reviewer,
        f"/waivers/{waiver_id}/status",
        data={"status": "revoked", "effective_on": "2018-10-01", "note": "revoked"},
    )
    statuses = at_once([revoke] + [drawdown] * 9)

    assert statuses[0] == 302 and set(statuses[1:]) <= {201, 409}, statuses
    with office.session() as session:
        assert session.get(Waiver, waiver_id).status.value == "revoked"
        entries = session.scalars(select(DrawdownEntry).order_by(DrawdownEntry.seq)).all()
        # Refused after the revocation (409), recorded as covered before it (201).
        assert len(entries) == statuses[1:].count(201)
        assert all(entry.waiver_status.value == "granted" for entry in entries)
        assert all(entry.classification.value == "covered" for entry in entries)
        assert session.get(WaiverLine, line_id).used_base == 100 * len(entries)


def test_resources_and_hs_rules_saved_at_once_keep_every_control_class_current(office):
    """A resource saved while a rule changes gets the class of the rules as they end up."""
    calls = [
        post(
            office,
            office.reviewer,
            "/resources/hs-rules",
            data={"prefix": "1006", "control": "prohibited", "note": "test"},
        )
    ] + [
        post(
            office,
            office.reviewer,
            "/resources/",
            data={
                "code": f"rice-{n}",
                "name_en": f"Rice {n}",
                "name_ko": f"쌀 {n}",
                "hs_code": "1006.30",
                "unit": "kg",
            },
        )
        for n in range(6)
    ]

    statuses = at_once(calls)

    assert 500 not in statuses, statuses
    with office.session() as session:
        assert session.scalar(select(HsRule).where(HsRule.prefix == "1006")) is not None
        rice = session.scalars(select(Resource).where(Resource.code.like("rice-%"))).all()
        assert len(rice) == 6
        assert {resource.control.value for resource in rice} == {"prohibited"}
