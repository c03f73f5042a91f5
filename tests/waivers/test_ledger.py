"""The ledger's one door: classification, refusals, overrides, reversals, usage, the chain."""

import hashlib
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from office.auth.permissions import Role
from office.errors import ConflictError, InvalidInput
from office.waivers import ledger, services
from office.waivers.models import (
    Classification,
    DrawdownEntry,
    Purpose,
    Source,
    WaiverLine,
    WaiverStatus,
)
from office.waivers.units import Unit
from tests.factories import (
    NOW,
    draw,
    make_resource,
    make_rice,
    make_steel,
    make_user,
    make_waiver,
)

C = Classification


@pytest.fixture
def admin(session):
    return make_user(session, Role.ADMIN)


@pytest.fixture
def diesel(session):
    return make_resource(session)


def diesel_line(session, diesel, granted="10000", **kwargs) -> WaiverLine:
    return make_waiver(session, [(diesel, "L", "10000", granted)], **kwargs).lines[0]


def entries(session) -> int:
    return session.scalar(select(func.count()).select_from(DrawdownEntry))


# --- classification: each rule, and the order in which they apply --------------------------


def test_uncontrolled_goods_without_a_line_are_not_required(session):
    entry = draw(session, make_rice(session), "300")
    assert (entry.classification, entry.flagged) == (C.NOT_REQUIRED, False)
    assert entry.waiver_status is None


@pytest.mark.parametrize("resource", ["steel", "diesel"])
def test_controlled_goods_without_a_line_are_refused_as_uncovered(session, resource):
    goods = make_steel(session) if resource == "steel" else make_resource(session)
    with pytest.raises(ledger.DrawdownRefused, match="choose the waiver line") as refused:
        draw(session, goods, "1")
    assert refused.value.classification is C.UNCOVERED
    assert entries(session) == 0


@pytest.mark.parametrize(
    ("status", "expected", "message"),
    [
        (WaiverStatus.DENIED, C.DENIED, "is denied"),
        (WaiverStatus.REVOKED, C.DENIED, "is revoked"),
        (WaiverStatus.WITHDRAWN, C.DENIED, "is withdrawn"),
        (WaiverStatus.DRAFT, C.PENDING, "still draft"),
        (WaiverStatus.REQUESTED, C.PENDING, "still requested"),
        (WaiverStatus.EXPIRED, C.OUTSIDE_VALIDITY, "has expired"),
    ],
)
def test_the_waivers_status_decides(session, diesel, status, expected, message):
    line = diesel_line(session, diesel, status=status)
    with pytest.raises(ledger.DrawdownRefused, match=message) as refused:
        draw(session, diesel, "100", line=line)
    assert refused.value.classification is expected
    assert line.used_base == 0


def test_a_line_granted_nothing_is_denied(session, diesel):
    line = diesel_line(session, diesel, granted="0")
    with pytest.raises(ledger.DrawdownRefused, match="granted nothing") as refused:
        draw(session, diesel, "1", line=line)
    assert refused.value.classification is C.DENIED


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2018, 8, 31), C.OUTSIDE_VALIDITY),
        (date(2018, 9, 1), C.COVERED),
        (date(2018, 9, 30), C.COVERED),
        (date(2018, 10, 1), C.OUTSIDE_VALIDITY),
    ],
)
def test_validity_dates_are_inclusive(session, diesel, day, expected):
    line = diesel_line(session, diesel, valid_from=date(2018, 9, 1), valid_until=date(2018, 9, 30))
    checked = ledger.check_drawdown_input(diesel, "10", "L", day, line, today=date(2018, 12, 31))
    assert ledger.preview_drawdown(session, checked).classification is expected


def test_the_cap_holds_at_its_boundary(session, diesel):
    line = diesel_line(session, diesel)
    draw(session, diesel, "9999", line=line)
    exactly = draw(session, diesel, "1", line=line)
    assert exactly.classification is C.COVERED
    with pytest.raises(ledger.DrawdownRefused) as refused:
        draw(session, diesel, "0.001", line=line)
    assert refused.value.classification is C.OVER_CAP
    assert line.used_base == Decimal(10000)


def test_the_over_cap_message_names_the_waiver_line_and_numbers(session, diesel):
    line = diesel_line(session, diesel, reference="1718-2018-07")
    draw(session, diesel, "9000", line=line)
    with pytest.raises(ledger.DrawdownRefused) as refused:
        draw(session, diesel, "2000", line=line)
    assert str(refused.value) == (
        "Waiver 1718-2018-07 line 1 has 1,000 L left; this drawdown asks for 2,000 L."
    )


def test_the_cap_is_kept_in_the_lines_unit_whatever_unit_is_drawn(session, diesel):
    line = make_waiver(session, [(diesel, "t", "10", "10")]).lines[0]  # 10 t = 11,494.78 L
    draw(session, diesel, "11000", unit="L", line=line)
    draw(session, diesel, "3", unit="bbl", line=line)  # 476.96 L
    with pytest.raises(
        ledger.DrawdownRefused, match=r"has 0\.015502 t left; this drawdown asks for 0\.017399 t"
    ):
        draw(session, diesel, "20", unit="L", line=line)
    usage = services.line_usage(line)
    assert usage.used == Decimal("9.984498") and usage.remaining == Decimal("0.015502")


def test_the_first_matching_rule_wins(session, diesel):
    # Revoked and outside validity and over the cap: denied comes first.
    line = diesel_line(
        session, diesel, granted="10", status=WaiverStatus.REVOKED, valid_until=date(2018, 1, 31)
    )
    with pytest.raises(ledger.DrawdownRefused) as refused:
        draw(session, diesel, "500", line=line, on=date(2018, 6, 1))
    assert refused.value.classification is C.DENIED


def test_a_line_holds_its_cap_even_for_goods_that_need_no_waiver(session):
    rice = make_rice(session)
    line = make_waiver(session, [(rice, "kg", "100", "100")]).lines[0]
    assert draw(session, rice, "60", line=line).classification is C.COVERED
    with pytest.raises(ledger.DrawdownRefused) as refused:
        draw(session, rice, "60", line=line)
    assert refused.value.classification is C.OVER_CAP


# --- input that makes no sense ------------------------------------------------------------


def test_a_line_of_another_resource_is_refused(session, diesel):
    steel = make_steel(session)
    line = make_waiver(session, [(steel, "t", "10", "10")]).lines[0]
    with pytest.raises(InvalidInput, match="is for Steel, not Diesel") as error:
        draw(session, diesel, "1", line=line)
    assert error.value.field == "waiver_line_id"


@pytest.mark.parametrize(
    ("quantity", "unit", "day", "field"),
    [
        ("0", "L", date(2018, 10, 1), "quantity"),
        ("-1", "L", date(2018, 10, 1), "quantity"),
        ("10", "kWh", date(2018, 10, 1), "unit"),
        ("10", "gallon", date(2018, 10, 1), "unit"),
        ("10", "L", date(2019, 1, 1), "occurred_on"),  # tomorrow, in Seoul
        ("10", "L", date(1999, 12, 31), "occurred_on"),
    ],
)
def test_nonsense_is_refused_before_anything_is_locked(session, diesel, quantity, unit, day, field):
    line = diesel_line(session, diesel)
    with pytest.raises(InvalidInput) as error:
        draw(session, diesel, quantity, unit=unit, line=line, on=day)
    assert error.value.field == field
    assert entries(session) == 0 and line.used_base == 0


def test_a_quantity_that_rounds_to_nothing_is_refused(session):
    steel = make_steel(session)  # counted in tonnes: 0.001 g is 1e-9 t
    line = make_waiver(session, [(steel, "t", "10", "10")]).lines[0]
    with pytest.raises(InvalidInput, match="too small to record in t"):
        draw(session, steel, "0.001", unit="g", line=line)


# --- overrides ----------------------------------------------------------------------------


def test_an_administrator_records_a_refused_drawdown_with_a_reason_flagged(session, diesel, admin):
    line = diesel_line(session, diesel, granted="100")
    entry = draw(
        session,
        diesel,
        "150",
        line=line,
        actor=admin,
        override="Generator emergency during the typhoon",
    )
    assert (entry.classification, entry.flagged) == (C.OVER_CAP, True)
    assert entry.override_reason == "Generator emergency during the typhoon"
    assert entry.waiver_status is WaiverStatus.GRANTED
    assert line.used_base == Decimal(150)


@pytest.mark.parametrize("role", [Role.REVIEWER, Role.SCHEDULER])
def test_only_an_administrator_may_override(session, diesel, role):
    line = diesel_line(session, diesel, granted="100")
    with pytest.raises(ledger.DrawdownRefused, match="Only an office administrator"):
        draw(session, diesel, "150", line=line, actor=make_user(session, role), override="Because")
    assert entries(session) == 0


def test_a_blank_reason_is_no_override(session, diesel, admin):
    line = diesel_line(session, diesel, granted="100")
    with pytest.raises(ledger.DrawdownRefused):
        draw(session, diesel, "150", line=line, actor=admin, override="   ")


def test_a_reason_on_a_covered_drawdown_does_not_flag_it(session, diesel, admin):
    line = diesel_line(session, diesel)
    entry = draw(session, diesel, "10", line=line, actor=admin, override="just in case")
    assert (entry.flagged, entry.override_reason) == (False, None)


# --- reversals ----------------------------------------------------------------------------


def test_a_reversal_is_the_negative_linked_entry_and_frees_the_cap(session, diesel, admin):
    line = diesel_line(session, diesel)
    wrong = draw(session, diesel, "9800", line=line, actor=admin)
    reversal = ledger.reverse_entry(
        session, wrong, reason="Typed 9,800 for 980", actor=admin, now=NOW
    )
    assert reversal.quantity == Decimal(-9800) and reversal.base_quantity == Decimal(-9800)
    assert reversal.reverses_id == wrong.id
    assert reversal.reversal_reason == "Typed 9,800 for 980"
    assert line.used_base == 0
    assert draw(session, diesel, "10000", line=line).classification is C.COVERED


def test_an_entry_is_reversed_only_once_and_a_reversal_never(session, diesel, admin):
    line = diesel_line(session, diesel)
    entry = draw(session, diesel, "10", line=line)
    reversal = ledger.reverse_entry(session, entry, reason="wrong", actor=admin, now=NOW)
    with pytest.raises(ConflictError, match=f"already reversed by entry {reversal.seq}"):
        ledger.reverse_entry(session, entry, reason="again", actor=admin, now=NOW)
    with pytest.raises(ConflictError, match="is itself a reversal"):
        ledger.reverse_entry(session, reversal, reason="undo", actor=admin, now=NOW)
    assert line.used_base == 0


def test_a_reversal_needs_a_reason(session, diesel, admin):
    entry = draw(session, make_rice(session), "10")
    with pytest.raises(InvalidInput, match="reason"):
        ledger.reverse_entry(session, entry, reason="  ", actor=admin, now=NOW)


# --- usage, the chain, and the database's own guard ---------------------------------------


def test_usage_equals_the_ledger_and_check_reports_a_difference(app, session, diesel):
    line = diesel_line(session, diesel)
    draw(session, diesel, "120.5", line=line)
    draw(session, diesel, "79.5", line=line)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["ledger", "check"])
    assert result.exit_code == 0, result.output
    session.execute(update(WaiverLine).where(WaiverLine.id == line.id).values(used_base=5))
    session.commit()
    result = runner.invoke(args=["ledger", "check"])
    assert result.exit_code == 1
    assert "stored use 5 L, ledger sum 200 L" in result.output


def test_the_database_holds_one_entry_per_source_and_check_reports_older_twins(
    app, session, diesel
):
    line = diesel_line(session, diesel)

    def drawn_for(source_id: int | None, ref: str) -> DrawdownEntry:
        return ledger.record_drawdown(
            session,
            resource=diesel,
            quantity="10",
            unit="L",
            occurred_on=date(2018, 10, 1),
            waiver_line=line,
            purpose="operation",
            source=Source.DELIVERY,
            source_id=source_id,
            source_ref=ref,
            actor=None,
            now=NOW,
        )

    first = drawn_for(41, "KLO-1/1")
    session.commit()
    with pytest.raises(IntegrityError):
        drawn_for(41, "KLO-1/1")  # the same manifest line again
    session.rollback()
    # Entries written before they named their source are told apart by their reference.
    drawn_for(None, "KLO-2/1")
    drawn_for(None, "KLO-2/1")
    session.commit()

    result = app.test_cli_runner().invoke(args=["ledger", "check"])

    assert result.exit_code == 1
    assert f"delivery KLO-2/1 is drawn by entries {first.seq + 1}, {first.seq + 2}" in (
        result.output
    )
    assert "KLO-1/1" not in result.output


def test_each_entry_chains_to_the_previous(session, diesel):
    rice = make_rice(session)
    first = draw(session, rice, "1")
    second = draw(session, rice, "2")
    assert first.prev_hash == ledger.GENESIS_HASH
    assert second.prev_hash == first.hash and second.seq == first.seq + 1
    assert ledger.verify_chain(session) == (2, None)


def test_an_entrys_hash_is_the_sha256_of_its_fields_as_canonical_json():
    # Every ledger already written was hashed so: a change of this form breaks their chains.
    values = {
        "seq": 1000001,
        "resource_id": 3,
        "quantity": Decimal("12.5"),
        "unit": Unit.L,
        "base_quantity": Decimal("12.5"),
        "occurred_on": date(2026, 11, 23),
        "recorded_at": datetime(2026, 11, 23, 12, 4, 5, 123456, tzinfo=ZoneInfo("Asia/Seoul")),
        "recorded_by_id": 1,
        "purpose": Purpose.FUEL,
        "source": Source.MANUAL,
        "source_ref": None,
        "note": "발전기 연료",
        "waiver_id": 1,
        "waiver_line_id": 2,
        "waiver_status": WaiverStatus.GRANTED,
        "classification": Classification.COVERED,
        "flagged": False,
        "override_reason": None,
        "reverses_id": None,
        "reversal_reason": None,
        "prev_hash": "a" * 64,
        "hash": "not hashed",
    }
    canonical = (
        '{"base_quantity":"12.500000","classification":"covered","flagged":false,'
        '"note":"발전기 연료","occurred_on":"2026-11-23","override_reason":null,'
        f'"prev_hash":"{"a" * 64}","purpose":"fuel","quantity":"12.500000",'
        '"recorded_at":"2026-11-23T03:04:05.123456Z","recorded_by_id":1,"resource_id":3,'
        '"reversal_reason":null,"reverses_id":null,"seq":1000001,"source":"manual",'
        '"source_ref":null,"unit":"L","waiver_id":1,"waiver_line_id":2,'
        '"waiver_status":"granted"}'
    )
    expected = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    assert ledger.entry_digest(values) == expected
    assert ledger.entry_digest({**values, "source_id": None}) == expected
    # The record drawn for, named since migration 0016, is hashed when there is one.
    with_source = canonical.replace('"source":"manual",', '"source":"manual","source_id":7,')
    assert ledger.entry_digest({**values, "source_id": 7}) == (
        hashlib.sha256(with_source.encode("utf-8")).hexdigest()
    )


def test_verify_names_the_first_tampered_entry_and_exits_1(app, session, connection):
    rice = make_rice(session)
    entries_ = [draw(session, rice, str(n)) for n in range(1, 6)]
    runner = app.test_cli_runner()
    assert runner.invoke(args=["ledger", "verify"]).output.startswith("Ledger intact: 5 entries")
    with append_only_lifted(connection):
        session.execute(
            update(DrawdownEntry).where(DrawdownEntry.id == entries_[2].id).values(quantity=30)
        )
        session.commit()
    result = runner.invoke(args=["ledger", "verify"])
    assert result.exit_code == 1
    assert result.output.startswith(
        f"Ledger entry {entries_[2].seq}: its content does not match its hash"
    )


def test_verify_notices_a_deleted_last_entry(app, session, connection):
    rice = make_rice(session)
    last = [draw(session, rice, str(n)) for n in range(1, 4)][-1]
    with append_only_lifted(connection):
        session.execute(text("DELETE FROM entry_screenings WHERE entry_id = :id"), {"id": last.id})
        session.execute(text("DELETE FROM drawdown_entries WHERE id = :id"), {"id": last.id})
        session.commit()
    result = app.test_cli_runner().invoke(args=["ledger", "verify"])
    assert result.exit_code == 1
    assert "the ledger head records 3 entries" in result.output


@pytest.mark.parametrize(
    "statement",
    ["UPDATE drawdown_entries SET quantity = 0", "DELETE FROM drawdown_entries"],
)
def test_the_database_refuses_to_change_or_delete_entries(session, connection, statement):
    draw(session, make_rice(session), "1")
    savepoint = connection.begin_nested()
    with pytest.raises(DBAPIError, match="append-only"):
        connection.execute(text(statement))
    savepoint.rollback()
    assert entries(session) == 1


class append_only_lifted:
    """Lift the append-only triggers inside the test's transaction, to simulate tampering."""

    def __init__(self, connection):
        self.connection = connection

    def __enter__(self):
        if self.connection.dialect.name == "postgresql":
            self.connection.execute(text("ALTER TABLE drawdown_entries DISABLE TRIGGER USER"))
        else:
            self.connection.execute(text("DROP TRIGGER drawdown_entries_no_update"))
            self.connection.execute(text("DROP TRIGGER drawdown_entries_no_delete"))

    def __exit__(self, *exc):
        if self.connection.dialect.name == "postgresql":
            self.connection.execute(text("ALTER TABLE drawdown_entries ENABLE TRIGGER USER"))
