"""Meter readings sent through the API at the same moment, committed for real
(`tests.concurrency`): each batch lands whole or not at all, each interval is counted and drawn
once, and nobody gets a server error."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from office.fuel.models import Meter, MeterReading
from office.waivers import ledger
from office.waivers.models import DrawdownEntry, WaiverLine
from tests.api.conftest import token_of
from tests.concurrency import Office, at_once, post

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
