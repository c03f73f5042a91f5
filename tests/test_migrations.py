"""The schema comes only from migrations: they match the models and every step reverses."""

from datetime import date
from decimal import Decimal

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import delete, insert, inspect, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from office.auth.permissions import Role
from office.cli import alembic_config
from office.db import create_engine_for
from office.models import Base
from office.waivers import ledger
from office.waivers.models import DrawdownEntry, Resource, Waiver, WaiverLine
from tests.factories import NOW, draw, make_user
from tests.support import migrate, migrated_scratch_engine, scratch_database


def test_models_and_migrations_agree(tmp_path):
    with migrated_scratch_engine(tmp_path) as engine, engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_every_migration_downgrades_and_upgrades_again(tmp_path):
    script = ScriptDirectory.from_config(alembic_config())
    revisions = [r.revision for r in reversed(list(script.walk_revisions()))]
    assert revisions, "no migrations found"
    with scratch_database(tmp_path) as url:
        engine = create_engine_for(url)
        try:
            for revision in revisions:
                migrate(engine, revision)
                migrate(engine, "-1", down=True)
                migrate(engine, revision)
            migrate(engine, "base", down=True)
            assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
            migrate(engine, "head")
            assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
        finally:
            engine.dispose()


LEGACY = ("source_id", "regimes")  # columns of later migrations (0016, 0026)


def write_legacy_ledger(engine) -> None:
    """Write, at revision 0015 or later (and before 0026), a diesel line of a ministry
    approval and three entries chained as the code of that time chained them: two
    drawdowns on the line, a reversal, and a drawdown of rice on no line."""
    entries = DrawdownEntry.__table__
    million = 1_000_000
    with engine.begin() as connection:
        for resource_id, code, hs, unit, control in (
            (1, "diesel", "271019", "L", "capped"),
            (2, "rice", "100630", "kg", "none"),
        ):
            connection.execute(
                text(
                    "INSERT INTO resources (id, code, name_ko, name_en, hs_code, unit, control, "
                    "barrels_per_tonne) VALUES (:id, :code, :code, :code, :hs, :unit, :control, "
                    "NULL)"
                ),
                {"id": resource_id, "code": code, "hs": hs, "unit": unit, "control": control},
            )
        connection.execute(
            text(
                "INSERT INTO waivers (id, reference, authority, title, purpose, status, "
                "valid_from, valid_until, created_at) VALUES (1, 'MOU-1', 'rok_mou_individual', "
                "'t', '', 'granted', '2018-01-01', '2018-12-31', '2018-01-01 00:00:00')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO waiver_lines (id, waiver_id, line_no, resource_id, unit, "
                "requested_quantity, granted_quantity, granted_base, used_base) VALUES "
                "(1, 1, 1, 1, 'L', :cap, :cap, :cap, :used)"
            ),
            {"cap": 10000 * million, "used": 250 * million},
        )
        previous = ledger.GENESIS_HASH
        rows = [
            (1, 1, "100", 1, None, "covered"),
            (2, 1, "250", 1, None, "covered"),
            (3, 1, "-100", 1, 1, "covered"),
            (4, 2, "5", None, None, "not_required"),
        ]
        for seq, resource_id, quantity, line_id, reverses, classification in rows:
            values = {
                "seq": seq,
                "resource_id": resource_id,
                "quantity": Decimal(quantity),
                "unit": "L" if resource_id == 1 else "kg",
                "base_quantity": Decimal(quantity),
                "occurred_on": date(2018, 10, 1),
                "recorded_at": NOW,
                "recorded_by_id": None,
                "purpose": "operation",
                "source": "manual",
                "source_ref": None,
                "note": "",
                "waiver_id": line_id,
                "waiver_line_id": line_id,
                "waiver_status": "granted" if line_id else None,
                "classification": classification,
                "flagged": False,
                "override_reason": None,
                "reverses_id": reverses,
                "reversal_reason": "typed twice" if reverses else None,
                "prev_hash": previous,
            }
            values["hash"] = previous = ledger.entry_digest(values)
            connection.execute(insert(entries).values(id=seq, **values))
        connection.execute(
            update(Base.metadata.tables["ledger_head"]).values(
                last_seq=len(rows), last_hash=previous
            )
        )
        if connection.dialect.name == "postgresql":
            # The rows above took their ids by hand: move each table's sequence past them.
            for table in ("resources", "waivers", "waiver_lines", "drawdown_entries"):
                connection.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))"
                    )
                )


def test_the_ledger_keeps_its_entries_chain_and_triggers_across_its_table_rebuild(tmp_path):
    # Migration 0015 copies the ledger's table on SQLite: the copy must hold every entry,
    # keep the chain whole and the table append-only, in both directions.
    with scratch_database(tmp_path) as url:
        engine = create_engine_for(url)
        try:
            migrate(engine, "0025")
            write_legacy_ledger(engine)
            entries = DrawdownEntry.__table__
            kept = select(*(c for c in entries.c if c.key not in LEGACY)).order_by(entries.c.seq)
            with engine.connect() as connection:
                before = connection.execute(kept).all()
            assert len(before) == 4 and before[2].reverses_id == before[0].id

            for revision, down, hash_unique in (("0014", True, True), ("head", False, False)):
                migrate(engine, revision, down=down)
                unique = {
                    tuple(c["column_names"])
                    for c in inspect(engine).get_unique_constraints("drawdown_entries")
                }
                assert (("hash",) in unique) is hash_unique
                assert ("seq",) in unique
                with engine.connect() as connection:
                    assert connection.execute(kept).all() == before
                    for change in (
                        update(entries).values(note="changed"),
                        delete(entries).where(entries.c.reverses_id.is_not(None)),
                    ):
                        with pytest.raises(DBAPIError, match="append-only"):
                            connection.execute(change)
                        connection.rollback()  # PostgreSQL refuses more in a failed transaction
                if revision == "head":  # today's code reads today's table
                    with Session(engine) as session:
                        assert ledger.verify_chain(session) == (4, None)
        finally:
            engine.dispose()


def test_the_existing_ledger_is_screened_under_its_waivers_regime_and_still_verifies(tmp_path):
    # 0026: each entry keeps its hash and gets one screening, under its waiver's regime (the
    # ministry's) or, naming no waiver, the UN's; the other regimes were not checked then.
    with scratch_database(tmp_path) as url:
        engine = create_engine_for(url)
        try:
            migrate(engine, "0025")
            write_legacy_ledger(engine)
            migrate(engine)
            with Session(engine) as session:
                assert ledger.verify_chain(session) == (4, None)
                assert ledger.check_usage(session) == []
                assert ledger.check_screenings(session) == []
                screened = {
                    entry.seq: [
                        (s.regime.code, s.waiver_line_id, s.classification.value)
                        for s in entry.screenings
                    ]
                    for entry in session.scalars(select(DrawdownEntry))
                }
                assert screened == {
                    1: [("rok", 1, "covered")],
                    2: [("rok", 1, "covered")],
                    3: [("rok", 1, "covered")],
                    4: [("un", None, "not_required")],
                }
                waiver = session.get(Waiver, 1)
                assert (waiver.regime.code, waiver.standing) == ("rok", False)
                diesel = session.get(Resource, 1)
                assert {c.regime.code: c.control.value for c in diesel.controls} == {
                    "un": "capped",
                    "rok": "approval_required",
                    "us": "none",
                }
                # A new entry is screened under every regime in force and hashed with them.
                admin = make_user(session, Role.ADMIN)
                entry = draw(
                    session,
                    diesel,
                    "10",
                    line=session.get(WaiverLine, 1),
                    actor=admin,
                    override="UN exemption requested",
                )
                assert [(s.regime.code, s.classification.value) for s in entry.screenings] == [
                    ("un", "uncovered"),
                    ("rok", "covered"),
                    ("us", "not_required"),
                ]
                assert entry.classification.value == "uncovered" and entry.flagged
                assert ledger.verify_chain(session) == (5, None)
                assert ledger.check_screenings(session) == []
            # Going back below 0026 would drop what the new entry's hash covers.
            with pytest.raises(RuntimeError, match="screened under several regimes"):
                migrate(engine, "0025", down=True)
        finally:
            engine.dispose()


def test_a_sqlite_connection_keeps_its_foreign_keys_after_migrating(tmp_path):
    # Migrations turn SQLite's foreign keys off to copy tables; the pooled connection they
    # ran on serves the app afterwards (`make run`, the test suite) and must have them back.
    engine = create_engine_for(f"sqlite:///{tmp_path / 'migrated.db'}")
    try:
        migrate(engine)
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            migrate(engine, "0014", down=True)
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()
