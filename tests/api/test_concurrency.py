"""Meter readings and fuel sent through the API at the same moment, committed for real
(`tests.concurrency`): each batch lands whole or not at all, each interval is counted and drawn
once, a tank never gives more than it holds, a receipt is voided or drawn on, not both, and
nobody gets a server error."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from office.fuel import services as fuel
from office.fuel.models import DailyLog, LogStatus, Meter, MeterReading, ReadingKind
from office.stock.models import LotDraw, StockLot, StockMovement
from office.waivers import ledger
from office.waivers.models import DrawdownEntry, WaiverLine
from tests.api.conftest import token_of
from tests.concurrency import Office, at_once, post
from tests.factories import NOW, make_resource, make_waiver

TIMEOUT = 120


def quarter_hours(meter_id: int, start: datetime, count: int, step: int) -> list[dict[str, Any]]:
    return [
        {
            "meter_id": meter_id,
            "value": str(step * (n + 1)),
            "read_at": (start + timedelta(minutes=15 * n)).isoformat(),
        }
        for n in range(count)
    ]


def send(office: Office, token: str, path: str, body: Any) -> Callable[[], tuple[int, Any]]:
    client = office.client()

    def call() -> tuple[int, Any]:
        response = client.post(
            "/api/v1" + path, json=body, headers={"Authorization": f"Bearer {token}"}
        )
        return response.status_code, response.get_json()

    return call


def assert_each_interval_counted_once(office: Office, meter_id: int) -> list[MeterReading]:
    with office.session() as session:
        kept = session.scalars(
            select(MeterReading)
            .where(MeterReading.meter_id == meter_id, MeterReading.voided_at.is_(None))
            .order_by(MeterReading.read_at)
        ).all()
        assert [r.previous_at for r in kept[1:]] == [r.read_at for r in kept[:-1]]
        counted = sum(r.consumption for r in kept[1:])
        assert counted == kept[-1].value - kept[0].value
        line = session.get(Meter, meter_id).waiver_line
        assert session.get(WaiverLine, line.id).used_base == counted
        drawn = session.scalar(select(func.count()).select_from(DrawdownEntry))
        assert drawn == sum(1 for r in kept[1:] if r.consumption)
        assert ledger.check_usage(session) == [] and ledger.drawn_twice(session) == []
        assert ledger.verify_chain(session)[1] is None
        return list(kept)


def test_two_batches_of_the_same_intervals_at_once_one_lands_whole_the_other_not_at_all(
    office, meter_id
):
    token = token_of(office, office.admin)
    start = datetime(2018, 10, 2, 15, 0, tzinfo=UTC)  # 00:00 in Seoul
    first = quarter_hours(meter_id, start, 200, 2)
    second = quarter_hours(meter_id, start, 200, 3)  # the same intervals, other registers

    results = at_once(
        [
            send(office, token, "/meter-readings/batch", {"readings": first}),
            send(office, token, "/meter-readings/batch", {"readings": second}),
        ],
        timeout=TIMEOUT,
    )

    statuses = sorted(status for status, _body in results)
    assert statuses == [201, 422], results
    [(_status, refused)] = [(s, b) for s, b in results if s == 422]
    assert [row["index"] for row in refused["rejected"]] == list(range(200))
    kept = assert_each_interval_counted_once(office, meter_id)
    assert len(kept) == 201  # the first reading and one whole batch
    winner = first if kept[-1].value == 400 else second
    assert [r.value for r in kept[1:]] == [Decimal(row["value"]) for row in winner]


def test_batches_across_midnight_and_page_readings_at_once_keep_the_count_and_never_fail(
    office, meter_id
):
    """A batch crossing midnight takes both days' logs before its meter; readings typed on
    the next day's page take that day's log, then the meter: no deadlock, no 500."""
    token = token_of(office, office.admin)
    evening = datetime(2018, 10, 3, 13, 0, tzinfo=UTC)  # 22:00 in Seoul, on the 3rd
    batch = quarter_hours(meter_id, evening, 16, 5)  # to 01:45 on the 4th
    page = [
        post(
            office,
            office.admin,
            "/operations/days/2018-10-04/meter-readings",
            data={
                "reading-meter": str(meter_id),
                "reading-value": str(1000 + 10 * n),
                "reading-unit": "kWh",
                "reading-at": f"{3 + n:02d}:00",
            },
        )
        for n in range(3)
    ]
    batch_call = send(office, token, "/meter-readings/batch", {"readings": batch})

    results = at_once([batch_call, *page], timeout=TIMEOUT)

    batch_status, _body = results[0]
    assert batch_status in (201, 422), results[0]
    assert set(results[1:]) <= {302, 422}, results
    kept = assert_each_interval_counted_once(office, meter_id)
    if batch_status == 201:
        assert {r.value for r in kept} >= {Decimal(row["value"]) for row in batch}
    else:  # the page's readings came first: the batch's are all earlier
        assert not {r.value for r in kept} & {Decimal(row["value"]) for row in batch}


@pytest.fixture
def stocked_tank(office: Office) -> tuple[int, int]:
    """A 5,000 L diesel tank holding 1,000 L received on 2018-10-01, and its diesel line."""
    with office.session() as session:
        diesel = make_resource(session)
        line = make_waiver(session, [(diesel, "L", "100000", "100000")]).lines[0]
        tank = fuel.create_tank(
            session,
            name="Main tank",
            product=diesel,
            capacity="5000",
            tolerance=None,
            location="",
            opening=None,
            opened_on=date(2018, 9, 1),
            actor=None,
            now=NOW,
        )
        fuel.receive_fuel(
            session,
            tank,
            quantity="1000",
            unit="L",
            received_on=date(2018, 10, 1),
            waiver_line=line,
            actor=None,
            now=NOW,
        )
        session.commit()
        return tank.id, line.id


def test_issues_and_returns_at_once_never_take_more_than_the_tank_holds(office, stocked_tank):
    tank_id, _line_id = stocked_tank
    token = token_of(office, office.admin)
    issue = {"tank_id": tank_id, "quantity": "150", "issued_on": "2018-10-05", "use": "boiler"}
    back = {"tank_id": tank_id, "quantity": "150", "returned_on": "2018-10-05"}

    results = at_once(
        [send(office, token, "/fuel/issues", issue) for _ in range(6)]
        + [send(office, token, "/fuel/returns", back) for _ in range(4)],
        timeout=TIMEOUT,
    )

    statuses = [status for status, _body in results]
    assert set(statuses) <= {201, 409}, results
    assert statuses.count(201) == 6  # 6 x 150 = 900 of the 1,000 L; the other four refused
    with office.session() as session:
        [lot] = session.scalars(select(StockLot).where(StockLot.store_id == tank_id)).all()
        assert lot.remaining == Decimal(100) and lot.used + lot.returned == Decimal(900)
        drawn = session.scalar(select(func.sum(LotDraw.quantity)).where(LotDraw.lot_id == lot.id))
        assert drawn == Decimal(900)


def test_one_receipt_voided_and_issued_from_at_once_is_either_voided_or_drawn(office, stocked_tank):
    tank_id, line_id = stocked_tank
    token = token_of(office, office.admin)
    with office.session() as session:
        receipt = session.scalars(
            select(StockMovement).where(StockMovement.store_id == tank_id)
        ).one()
    void = {"reason": "Wrong tank."}
    issue = {"tank_id": tank_id, "quantity": "100", "issued_on": "2018-10-05", "use": "boiler"}

    results = at_once(
        [send(office, token, f"/fuel/movements/{receipt.id}/void", void) for _ in range(5)]
        + [send(office, token, "/fuel/issues", issue)],
        timeout=TIMEOUT,
    )

    voids, (issued, _body) = [status for status, _body in results[:5]], results[5]
    assert set(voids) <= {200, 409} and issued in (201, 409), results
    assert voids.count(200) + (issued == 201) == 1  # the issue empties no lot it cannot see
    with office.session() as session:
        entries = session.scalars(select(DrawdownEntry).order_by(DrawdownEntry.seq)).all()
        assert len(entries) == (2 if voids.count(200) else 1)  # the receipt, and its reversal
        assert session.get(WaiverLine, line_id).used_base == (0 if voids.count(200) else 1000)
        assert ledger.check_usage(session) == []


def test_a_day_signed_off_ten_times_at_once_is_signed_off_once(office):
    token = token_of(office, office.admin)

    results = at_once(
        [send(office, token, "/daily-logs/2018-10-05/sign-off", None) for _ in range(10)],
        timeout=TIMEOUT,
    )

    statuses = sorted(status for status, _body in results)
    assert statuses == [200] + [409] * 9, results
    with office.session() as session:
        [log] = session.scalars(select(DailyLog)).all()
        assert log.status is LogStatus.SIGNED_OFF
        signed = [e for e in log.events if e.action == "signed_off"]
        assert len(signed) == 1


# --- setting up: a meter replaced while it is read, equipment added twice at once ----------


def test_a_meter_replaced_while_readings_arrive_takes_none_after_its_final_reading(
    office, meter_id
):
    """A batch before the replacement's instant, readings after it, and the replacement, at
    once: each reading lands on the old meter before its final one or is refused (taken out
    of service, or not later than the last); the final reading is the old meter's last."""
    token = token_of(office, office.admin)
    start = datetime(2018, 10, 2, 15, 0, tzinfo=UTC)  # 00:00 on the 3rd in Seoul
    batch = quarter_hours(meter_id, start, 20, 5)  # to 04:45 in Seoul, at 100
    replaced_at = datetime(2018, 10, 3, 0, 30, tzinfo=UTC)  # 09:30 in Seoul
    later = [
        {
            "meter_id": meter_id,
            "value": str(200 + 10 * n),
            "read_at": (replaced_at + timedelta(minutes=30 + 60 * n)).isoformat(),
        }
        for n in range(4)
    ]
    replacement = {
        "final_value": "150",
        "replaced_at": replaced_at.isoformat(),
        "name": "New incomer",
        "digits": 7,
        "multiplier": "1",
        "first_value": "0",
    }

    results = at_once(
        [
            send(office, token, f"/meters/{meter_id}/replace", replacement),
            send(office, token, "/meter-readings/batch", {"readings": batch}),
            *(send(office, token, "/meter-readings", reading) for reading in later),
        ],
        timeout=TIMEOUT,
    )

    (replaced, answer), (batch_status, _batch), singles = results[0], results[1], results[2:]
    assert replaced in (201, 409, 422) and batch_status in (201, 422), results
    assert {status for status, _body in singles} <= {201, 409, 422}, results
    kept = assert_each_interval_counted_once(office, meter_id)
    with office.session() as session:
        old = session.get(Meter, meter_id)
        new = session.scalars(select(Meter).where(Meter.replaces_id == meter_id)).all()
        if replaced == 201:
            final = kept[-1]
            assert (final.kind, final.value) == (ReadingKind.FINAL, Decimal(150))
            assert final.read_at.replace(tzinfo=UTC) == replaced_at
            assert old.removed_at is not None
            assert [m.id for m in new] == [answer["id"]]
            # The readings after its instant came after it, so were refused as taken out of
            # service (one landing first would have refused the replacement).
            assert [status for status, _body in singles] == [409] * 4, results
            assert all(
                body["detail"].startswith("Main incomer was taken out of service")
                for _status, body in singles
            )
        else:
            assert old.removed_at is None and new == []
            assert all(r.kind is not ReadingKind.FINAL for r in kept)
    # Whatever won, no reading of the old meter is later than its last one standing.
    assert all(r.read_at <= kept[-1].read_at for r in kept)


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        (
            "/generators",
            {"name": "Generator 2", "rated_lph": "19"},
            "A generator named Generator 2 already exists.",
        ),
        (
            "/tanks",
            {"name": "Annex tank", "resource": "diesel", "capacity": "800"},
            "A store named Annex tank already exists.",
        ),
    ],
)
def test_equipment_added_with_one_name_at_once_is_added_once(office, path, body, message):
    with office.session() as session:
        make_resource(session)
        session.commit()
    token = token_of(office, office.admin)

    results = at_once([send(office, token, path, body) for _ in range(5)], timeout=TIMEOUT)

    statuses = sorted(status for status, _body in results)
    assert statuses == [201, 422, 422, 422, 422], results
    assert all(b["errors"] == {"name": [message]} for s, b in results if s == 422), results
    listed = [
        i for i in office.client().get("/api/v1" + path, headers=auth(token)).get_json()["items"]
    ]
    assert [item["name"] for item in listed] == [body["name"]]


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
