"""Two requests can never both pass a cap, nor both reverse one entry, nor both change a waiver:
committed for real, all at once (`tests.concurrency`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from office.auth import services as auth_services
from office.waivers import checkpoints, ledger, regimes, services
from office.waivers.models import (
    Authority,
    CheckpointKind,
    Control,
    DrawdownEntry,
    EntryScreening,
    HsRule,
    LedgerCheckpoint,
    Regime,
    Resource,
    Waiver,
    WaiverLine,
)
from tests.concurrency import Office, at_once, held, in_background, post
from tests.factories import NOW, audit_events, draw, make_resource, make_waiver

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
            "/regimes/rules",
            data={"regime": "un", "prefix": "1006", "control": "prohibited", "note": "test"},
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


def test_resources_saved_while_the_us_share_changes_take_the_share_as_it_ends_up(office):
    """A resource saved while a reviewer lowers the US regime's share gets its US control from
    the share as it ends up (the regime's change and the resources' take the catalogue's lock)."""
    with office.session() as session:
        us = regimes.regime_by_code(session, "us")
        regime_form = {
            "name_en": us.name_en,
            "name_ko": us.name_ko,
            "in_force": "y",
            "default_control": "approval_required",
            "us_content_threshold": "5",
            "note": "Lowered.",
        }
    calls = [post(office, office.reviewer, f"/regimes/{us.id}", data=regime_form)] + [
        post(
            office,
            office.reviewer,
            "/resources/",
            data={
                "code": f"laptop-{n}",
                "name_en": f"Laptop {n}",
                "name_ko": f"노트북 {n}",
                "hs_code": "8471.30",
                "unit": "piece",
                "origin": "CN",
                "us_content_percent": "8",
            },
        )
        for n in range(6)
    ]

    statuses = at_once(calls)

    assert set(statuses) == {302}, statuses
    with office.session() as session:
        us = regimes.regime_by_code(session, "us")
        assert us.us_content_threshold == Decimal(5)
        laptops = session.scalars(select(Resource).where(Resource.code.like("laptop-%"))).all()
        assert len(laptops) == 6
        assert {regimes.controls_of(r)[us.id].control for r in laptops} == {Control.APPROVAL}


# --- signed checkpoints of the head, while the ledger moves ---------------------------------

SIGNING_KEY = Ed25519PrivateKey.generate()


@pytest.fixture
def keys(office: Office) -> checkpoints.LedgerKeys:
    """The office's app signs the ledger's head with `SIGNING_KEY`."""
    office.app.config["OFFICE_LEDGER_SIGNING_KEY"] = SIGNING_KEY
    office.app.extensions.pop("office.ledger_keys", None)
    return checkpoints.keys_of(office.app)


def _drawdown(office: Office, token: str, line_id: int, on: str) -> Callable[[], int]:
    body = {
        "resource": "diesel",
        "quantity": 10,
        "unit": "L",
        "occurred_on": on,
        "waiver_line_id": line_id,
        "purpose": "operation",
    }

    def call() -> int:
        return (
            office.client()
            .post("/api/v1/drawdowns", json=body, headers={"Authorization": f"Bearer {token}"})
            .status_code
        )

    return call


def _checkpoint(office: Office, keys: checkpoints.LedgerKeys) -> Callable[[], int]:
    """A call that signs the head in a transaction of its own, as `flask ledger checkpoint`
    does (on SQLite, it takes the write lock first)."""

    def call() -> int:
        with office.session() as session:
            if session.get_bind().dialect.name == "sqlite":
                session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
            made = checkpoints.make_checkpoint(session, keys, kind=CheckpointKind.DAILY, now=NOW)
            session.commit()
            assert made is not None
            return made.id

    return call


def _each_signs_the_chain(session: Session) -> list[LedgerCheckpoint]:
    made = session.scalars(select(LedgerCheckpoint).order_by(LedgerCheckpoint.id)).all()
    hashes = {0: ledger.GENESIS_HASH}
    hashes.update(session.execute(select(DrawdownEntry.seq, DrawdownEntry.hash)).all())
    for checkpoint in made:
        assert checkpoint.head_hash == hashes[checkpoint.seq], checkpoint.seq
    return list(made)


def test_checkpoints_made_while_drawdowns_are_recorded_sign_the_chains_hash_at_their_count(
    office, line_id, keys
):
    token = _token(office)

    at_once(
        [_drawdown(office, token, line_id, "2018-10-01")] * 12 + [_checkpoint(office, keys)] * 6
    )

    with office.session() as session:
        made = _each_signs_the_chain(session)
        assert len(made) == 6
        assert session.scalar(select(func.count()).select_from(DrawdownEntry)) == 12
        assert checkpoints.verify(session, keys).intact


def test_a_checkpoint_waits_for_a_drawdown_in_flight_and_signs_the_head_after_it(
    office, line_id, keys
):
    def record(session: Session) -> None:
        ledger.record_drawdown(
            session,
            resource=session.get(WaiverLine, line_id).resource,
            quantity="100",
            unit="L",
            occurred_on=NOW.date(),
            waiver_line=session.get(WaiverLine, line_id),
            purpose="operation",
            actor=None,
            now=NOW,
        )

    runner = office.app.test_cli_runner()
    with held(office, record):
        thread, answered = in_background(lambda: runner.invoke(args=["ledger", "checkpoint"]))
        thread.join(timeout=1)
        assert answered == [], "the checkpoint did not wait for the drawdown in flight"
    thread.join(timeout=30)

    assert answered[0].exit_code == 0, answered[0].output
    assert answered[0].output.startswith("Signed the ledger's head: entry 1, hash ")
    with office.session() as session:
        (made,) = _each_signs_the_chain(session)
        assert made.seq == 1


def test_a_sign_off_amid_drawdowns_signs_a_head_that_holds_every_entry_of_its_month(
    office, line_id, keys
):
    token = _token(office)
    sign_off = post(office, office.reviewer, "/reviews/months/2018-10/sign-off", data={"note": ""})

    statuses = at_once(
        [_drawdown(office, token, line_id, "2018-10-31")] * 6
        + [sign_off]
        + [_drawdown(office, token, line_id, "2018-11-01")] * 6
    )

    assert statuses[6] == 302, statuses
    assert set(statuses[:6]) <= {201, 409} and set(statuses[7:]) == {201}, statuses
    with office.session() as session:
        (made,) = _each_signs_the_chain(session)
        assert made.month == date(2018, 10, 1)
        october = session.scalars(
            select(DrawdownEntry.seq).where(DrawdownEntry.occurred_on == date(2018, 10, 31))
        ).all()
        assert len(october) == statuses[:6].count(201)
        assert all(seq <= made.seq for seq in october), (october, made.seq)
        assert checkpoints.verify(session, keys).intact


def test_verify_while_drawdowns_are_recorded_reads_one_snapshot_and_finds_nothing_wrong(
    office, line_id, keys
):
    token = _token(office)
    runner = office.app.test_cli_runner()
    assert runner.invoke(args=["ledger", "checkpoint"]).exit_code == 0
    thread, answered = in_background(
        lambda: at_once([_drawdown(office, token, line_id, "2018-10-01")] * 20)
    )

    results = []
    while thread.is_alive():
        results.append(runner.invoke(args=["ledger", "verify"]))
    thread.join()

    assert answered and set(answered[0]) == {201}, answered
    assert results, "verify ran while the drawdowns were recorded"
    assert [r.output for r in results if r.exit_code != 0] == []


@pytest.mark.parametrize(("un_cap", "rok_cap"), [("10000", "7000"), ("7000", "10000")])
def test_drawdowns_on_two_lines_of_different_regimes_at_once_hold_both_caps(
    office, un_cap, rok_cap
):
    """Twenty requests draw 1,000 L each on a UN line and a ministry line at once, half of
    them naming the lines in the other order: the lines are locked in one order whatever the
    request says, so none waits for another in a circle, and the smaller cap stops them."""
    token = _token(office)
    with office.session() as session:
        session.execute(update(Regime).values(in_force=True))
        session.commit()
        diesel = make_resource(session)
        un = make_waiver(
            session, [(diesel, "L", un_cap, un_cap)], authority=Authority.UN_1718_COMMITTEE
        ).lines[0]
        rok = make_waiver(
            session, [(diesel, "L", rok_cap, rok_cap)], authority=Authority.ROK_MOU_INDIVIDUAL
        ).lines[0]
        un_id, rok_id = un.id, rok.id
    named = [{"regime": "un", "line_id": un_id}, {"regime": "rok", "line_id": rok_id}]

    def post_drawdown(order: int) -> tuple[int, dict]:
        body = {
            "resource": "diesel",
            "quantity": 1000,
            "unit": "L",
            "occurred_on": "2018-10-01",
            "authorisations": named if order % 2 else named[::-1],
            "purpose": "operation",
        }
        response = office.client().post(
            "/api/v1/drawdowns", json=body, headers={"Authorization": f"Bearer {token}"}
        )
        return response.status_code, response.get_json()

    results = at_once([lambda n=n: post_drawdown(n) for n in range(REQUESTS)])
    statuses = [status for status, _body in results]
    assert statuses.count(201) == 7, statuses
    assert statuses.count(409) == REQUESTS - 7, statuses
    refused = [payload for status, payload in results if status == 409]
    binding = "rok" if int(rok_cap) < int(un_cap) else "un"
    assert [
        {r["regime"]: r["classification"] for r in payload["regimes"]}[binding]
        for payload in refused
    ] == ["over_cap"] * len(refused), refused[:1]
    with office.session() as session:
        assert session.get(WaiverLine, un_id).used_base == Decimal(7000)
        assert session.get(WaiverLine, rok_id).used_base == Decimal(7000)
        assert ledger.verify_chain(session) == (7, None)
        assert ledger.check_usage(session) == []
        assert ledger.check_screenings(session) == []


# --- a waiver's standing changed while drawdowns draw on it ---------------------------------

EDIT = {"title": "Test waiver", "purpose": "", "valid_from": "2018-01-01"}


def _turn_standing_off(office: Office, waiver_id: int, valid_until: str) -> Callable[[], int]:
    """A call that posts the waiver's edit form as a reviewer, with standing turned off."""
    data = {**EDIT, "valid_until": valid_until, "standing": "no"}
    return post(office, office.reviewer, f"/waivers/{waiver_id}", data=data)


def _drawdown_naming_no_line(
    office: Office, token: str, quantity: int, named: list[dict] | None = None
) -> Callable[[], tuple[int, dict]]:
    """A call that draws `quantity` L of diesel through the API, naming no line under the
    UN regime (or only the lines `named`)."""
    body = {
        "resource": "diesel",
        "quantity": quantity,
        "unit": "L",
        "occurred_on": "2018-10-01",
        "purpose": "operation",
        **({"authorisations": named} if named else {}),
    }

    def call() -> tuple[int, dict]:
        response = office.client().post(
            "/api/v1/drawdowns", json=body, headers={"Authorization": f"Bearer {token}"}
        )
        return response.status_code, response.get_json()

    return call


def _drawn_after_the_change(session: Session, waiver_id: int) -> dict[int, bool]:
    """For each ledger entry (by seq), whether its drawdown wrote its audit event after the
    change of the waiver's standing wrote its own.

    Both are written under the waiver's lock (a drawdown holds it shared from choosing a
    standing line to its commit, the change exclusively), and the events' ids come from one
    sequence as they are written: so an entry drawn on the waiver as standing must have
    written its event before the change could write its own."""
    (change,) = [
        event
        for event in audit_events(session, "waiver.updated")
        if event.object_id == str(waiver_id)
    ]
    assert change.detail["standing"] is False and change.detail["standing_before"] is True
    return {
        event.detail["seq"]: event.id > change.id
        for event in audit_events(session, "drawdown.recorded")
    }


def test_drawdowns_at_once_with_standing_turned_off_draw_on_it_only_before_the_change(office):
    """Twenty requests draw 1,000 L of diesel naming no line, while a reviewer turns the UN
    standing authorisation they draw on (10,000 L, ending first) off: each drawn on it was
    recorded before the change, each after it draws on the other standing authorisation, and
    neither line passes its cap."""
    token = _token(office)
    with office.session() as session:
        diesel = make_resource(session)
        first = make_waiver(
            session,
            [(diesel, "L", "10000", "10000")],
            standing=True,
            valid_until=date(2018, 11, 30),
        )
        other = make_waiver(session, [(diesel, "L", "50000", "50000")], standing=True)
        first_id, first_line, other_line = first.id, first.lines[0].id, other.lines[0].id

    results = at_once(
        [_turn_standing_off(office, first_id, "2018-11-30")]
        + [_drawdown_naming_no_line(office, token, 1000)] * REQUESTS
    )

    assert results[0] == 302, results[0]
    drawdowns = results[1:]
    assert {status for status, _body in drawdowns} <= {201, 409}, drawdowns
    # A line chosen with room may have none left once locked (others drew on it meanwhile).
    assert [body["classification"] for status, body in drawdowns if status == 409] == [
        "over_cap"
    ] * sum(status == 409 for status, _body in drawdowns)
    with office.session() as session:
        assert session.get(Waiver, first_id).standing is False
        after = _drawn_after_the_change(session, first_id)
        entries = session.scalars(select(DrawdownEntry).order_by(DrawdownEntry.seq)).all()
        assert len(entries) == [status for status, _body in drawdowns].count(201)
        drawn_on = {entry.seq: entry.waiver_line_id for entry in entries}
        assert [seq for seq, line in drawn_on.items() if line == first_line and after[seq]] == []
        assert {line for seq, line in drawn_on.items() if after[seq]} <= {other_line}
        assert {entry.classification.value for entry in entries} == {"covered"}
        assert session.get(WaiverLine, first_line).used_base <= 10000
        assert session.get(WaiverLine, other_line).used_base <= 50000
        assert ledger.check_usage(session) == []
        assert ledger.verify_chain(session) == (len(entries), None)


# On SQLite a drawdown waits for the write lock before it chooses any line: no race to stage.
@pytest.mark.postgres_only
def test_turning_standing_off_waits_for_drawdowns_that_chose_it_and_later_ones_choose_again(
    office,
):
    """Drawdowns name a UN line and draw on the ministry's standing blanket approval; they
    chose the approval's line and wait for the UN exemption, which a status change holds.
    A reviewer turning the approval's standing off then waits for them (they hold it
    shared from their choice): each is recorded on it before the change, and a drawdown
    after the change finds no standing approval (uncovered under the ministry's regime)."""
    token = _token(office)
    with office.session() as session:
        session.execute(update(Regime).values(in_force=True))
        session.commit()
        regimes.refresh_controls(session)
        session.commit()
        diesel = make_resource(session)
        # Made first, the UN exemption's waiver is locked before the approval's.
        exemption = make_waiver(session, [(diesel, "L", "50000", "50000")])
        blanket = make_waiver(
            session, [(diesel, "L", "50000", "50000")], authority=Authority.ROK_MOU_BLANKET
        )
        assert blanket.standing and exemption.id < blanket.id
        exemption_id, blanket_id, blanket_line = exemption.id, blanket.id, blanket.lines[0].id
        named = [{"regime": "un", "line_id": exemption.lines[0].id}]

    def hold_the_exemption(session: Session) -> None:
        wanted = session.get(Waiver, exemption_id)
        assert wanted is not None
        services.lock_waiver(session, wanted)

    drawdowns = [_drawdown_naming_no_line(office, token, 100, named)] * 5
    with held(office, hold_the_exemption):
        drawing, drawn = in_background(lambda: at_once(drawdowns))
        drawing.join(timeout=1)
        assert drawn == [], "the drawdowns did not wait for the exemption's lock"
        changing, changed = in_background(_turn_standing_off(office, blanket_id, "2018-12-31"))
        changing.join(timeout=1)
        assert changed == [], "the change did not wait for the drawdowns that chose the line"
    drawing.join(timeout=30)
    changing.join(timeout=30)

    assert [status for status, _body in drawn[0]] == [201] * 5, drawn
    assert changed == [302]
    status, body = _drawdown_naming_no_line(office, token, 100, named)()
    assert status == 409
    assert {r["regime"]: r["classification"] for r in body["regimes"]}["rok"] == "uncovered"
    with office.session() as session:
        after = _drawn_after_the_change(session, blanket_id)
        assert sorted(after.values()) == [False] * 5
        drawn_on = session.scalars(
            select(EntryScreening.seq).where(EntryScreening.waiver_line_id == blanket_line)
        ).all()
        assert sorted(drawn_on) == sorted(after) == [1, 2, 3, 4, 5]
        assert session.get(WaiverLine, blanket_line).used_base == 500
        assert ledger.check_usage(session) == []
