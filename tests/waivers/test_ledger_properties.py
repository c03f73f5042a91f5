"""Invariants of the ledger under any sequence of drawdowns, overrides, reversals and status
changes: usage equals the ledger's sum, no line ends over its cap without a flagged override,
and the hash chain stays whole."""

from datetime import date
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, aliased

from office.auth.permissions import Role
from office.errors import ConflictError, InvalidInput
from office.waivers import ledger, services
from office.waivers.models import DrawdownEntry, EntryScreening, Regime, WaiverLine, WaiverStatus
from office.waivers.units import Unit
from tests.factories import NOW, make_resource, make_user

draws = st.tuples(
    st.just("draw"),
    st.decimals(min_value=Decimal("0.001"), max_value=Decimal(4000), places=3),
    st.sampled_from([Unit.L, Unit.BBL, Unit.T]),
    st.booleans(),  # with an override reason
)
reversals = st.tuples(st.just("reverse"), st.integers(min_value=0, max_value=50))
status_changes = st.tuples(
    st.just("status"), st.sampled_from([WaiverStatus.REVOKED, WaiverStatus.EXPIRED])
)
operations = st.lists(st.one_of(draws, draws, draws, reversals, status_changes), max_size=25)


def line_sum(session: Session, line: WaiverLine) -> Decimal:
    total = session.scalar(
        select(func.sum(DrawdownEntry.base_quantity)).where(DrawdownEntry.waiver_line_id == line.id)
    )
    return Decimal(total or 0)


def unflagged_net(session: Session, line: WaiverLine) -> Decimal:
    """What the line carries apart from flagged overrides (and their reversals)."""
    original = aliased(DrawdownEntry)
    rows = session.execute(
        select(DrawdownEntry.base_quantity, DrawdownEntry.flagged, original.flagged)
        .outerjoin(original, original.id == DrawdownEntry.reverses_id)
        .where(DrawdownEntry.waiver_line_id == line.id)
    ).all()
    return sum(
        (
            base
            for base, flagged, original_flagged in rows
            if not (original_flagged if original_flagged is not None else flagged)
        ),
        Decimal(0),
    )


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(cap=st.integers(min_value=1, max_value=20_000), script=operations)
def test_usage_is_the_ledger_sum_and_caps_hold_unless_overridden(connection, cap, script):
    # Each example runs in its own savepoint, rolled back at the end.
    with Session(bind=connection, join_transaction_mode="create_savepoint") as session:
        admin = make_user(session, Role.ADMIN)
        diesel = make_resource(session)
        waiver = services.create_waiver(
            session,
            reference="PROP-1",
            authority="un_1718_committee",
            title="Property",
            status=WaiverStatus.GRANTED,
            valid_from=date(2018, 1, 1),
            valid_until=date(2018, 12, 31),
            lines=[services.LineSpec(diesel, Unit.L, str(cap), str(cap))],
            actor=None,
            now=NOW,
        )
        line = waiver.lines[0]
        recorded: list[DrawdownEntry] = []
        for operation in script:
            try:
                if operation[0] == "draw":
                    _kind, quantity, unit, override = operation
                    recorded.append(
                        ledger.record_drawdown(
                            session,
                            resource=diesel,
                            quantity=quantity,
                            unit=unit,
                            occurred_on=date(2018, 10, 1),
                            waiver_line=line,
                            purpose="operation",
                            override_reason="typhoon" if override else None,
                            actor=admin,
                            now=NOW,
                        )
                    )
                elif operation[0] == "reverse" and recorded:
                    target = recorded[operation[1] % len(recorded)]
                    recorded.append(
                        ledger.reverse_entry(
                            session, target, reason="correction", actor=admin, now=NOW
                        )
                    )
                elif operation[0] == "status":
                    services.change_waiver_status(
                        session,
                        waiver,
                        operation[1],
                        effective_on=date(2018, 10, 1),
                        actor=None,
                        now=NOW,
                    )
            except (ledger.DrawdownRefused, ConflictError, InvalidInput):
                pass  # refused: must have changed nothing, which the checks below confirm
            assert line.used_base == line_sum(session, line)
            assert unflagged_net(session, line) <= line.granted_base
            if line.used_base > line.granted_base:
                assert any(e.flagged for e in recorded), "over the cap without an override"
        assert ledger.check_usage(session) == []
        checked, problem = ledger.verify_chain(session)
        assert problem is None
        assert checked == len(recorded)
        session.rollback()


# --- under several regimes ------------------------------------------------------------------

regime_draws = st.tuples(
    st.just("draw"),
    st.decimals(min_value=Decimal("0.001"), max_value=Decimal(4000), places=3),
    st.sampled_from([Unit.L, Unit.BBL, Unit.T]),
    st.booleans(),  # with an override reason
    st.sampled_from(["both", "un", "rok"]),  # the lines named
)
regime_operations = st.lists(st.one_of(regime_draws, regime_draws, reversals), max_size=20)


def screened_sum(session: Session, line: WaiverLine) -> Decimal:
    total = session.scalar(
        select(func.sum(EntryScreening.base_quantity)).where(
            EntryScreening.waiver_line_id == line.id
        )
    )
    return Decimal(total or 0)


def screened_unflagged_net(session: Session, line: WaiverLine) -> Decimal:
    """What the line carries under its regime apart from flagged overrides (and reversals)."""
    entry, original = aliased(DrawdownEntry), aliased(DrawdownEntry)
    rows = session.execute(
        select(EntryScreening.base_quantity, entry.flagged, original.flagged)
        .join(entry, entry.id == EntryScreening.entry_id)
        .outerjoin(original, original.id == entry.reverses_id)
        .where(EntryScreening.waiver_line_id == line.id)
    ).all()
    return sum(
        (
            base
            for base, flagged, original_flagged in rows
            if not (original_flagged if original_flagged is not None else flagged)
        ),
        Decimal(0),
    )


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    caps=st.tuples(
        st.integers(min_value=1, max_value=20_000), st.integers(min_value=1, max_value=20_000)
    ),
    script=regime_operations,
)
def test_under_every_regime_usage_is_the_ledger_sum_and_no_line_passes_its_cap_unflagged(
    connection, caps, script
):
    with Session(bind=connection, join_transaction_mode="create_savepoint") as session:
        session.execute(update(Regime).values(in_force=True))
        admin = make_user(session, Role.ADMIN)
        diesel = make_resource(session)
        lines = {}
        for code, authority, cap in (
            ("un", "un_1718_committee", caps[0]),
            ("rok", "rok_mou_individual", caps[1]),
        ):
            lines[code] = services.create_waiver(
                session,
                reference=f"PROP-{code}",
                authority=authority,
                title="Property",
                status=WaiverStatus.GRANTED,
                valid_from=date(2018, 1, 1),
                valid_until=date(2018, 12, 31),
                lines=[services.LineSpec(diesel, Unit.L, str(cap), str(cap))],
                actor=None,
                now=NOW,
            ).lines[0]
        recorded: list[DrawdownEntry] = []
        for operation in script:
            try:
                if operation[0] == "draw":
                    _kind, quantity, unit, override, named = operation
                    chosen = list(lines.values()) if named == "both" else [lines[named]]
                    recorded.append(
                        ledger.record_drawdown(
                            session,
                            resource=diesel,
                            quantity=quantity,
                            unit=unit,
                            occurred_on=date(2018, 10, 1),
                            authorisations=chosen,
                            purpose="operation",
                            override_reason="typhoon" if override else None,
                            actor=admin,
                            now=NOW,
                        )
                    )
                elif operation[0] == "reverse" and recorded:
                    target = recorded[operation[1] % len(recorded)]
                    recorded.append(
                        ledger.reverse_entry(
                            session, target, reason="correction", actor=admin, now=NOW
                        )
                    )
            except (ledger.DrawdownRefused, ConflictError, InvalidInput):
                pass  # refused: must have changed nothing, which the checks below confirm
            for line in lines.values():
                assert line.used_base == screened_sum(session, line)
                assert screened_unflagged_net(session, line) <= line.granted_base
            # An entry recorded plainly is covered under both regimes that control diesel.
            for entry in recorded:
                if not entry.flagged and entry.reverses_id is None:
                    assert {s.regime.code: s.classification.value for s in entry.screenings}[
                        "rok"
                    ] == "covered"
        assert ledger.check_usage(session) == []
        assert ledger.check_screenings(session) == []
        checked, problem = ledger.verify_chain(session)
        assert problem is None
        assert checked == len(recorded)
        session.rollback()
