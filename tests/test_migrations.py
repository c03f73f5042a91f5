"""The schema comes only from migrations: they match the models and every step reverses."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import delete, inspect, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from office.cli import alembic_config
from office.db import create_engine_for
from office.models import Base
from office.waivers import ledger
from office.waivers.models import DrawdownEntry
from tests.factories import NOW, draw, make_resource, make_waiver
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


def test_the_ledger_keeps_its_entries_chain_and_triggers_across_its_table_rebuild(tmp_path):
    # Migration 0015 copies the ledger's table on SQLite: the copy must hold every entry,
    # keep the chain whole and the table append-only, in both directions.
    with migrated_scratch_engine(tmp_path) as engine:
        with Session(engine) as session:
            diesel = make_resource(session)
            waiver = make_waiver(session, [(diesel, "L", "10000", "10000")])
            drawn = [draw(session, diesel, q, line=waiver.lines[0]) for q in ("100", "250.5")]
            # A reversal: a row of the table that points at another of its rows.
            ledger.reverse_entry(session, drawn[0], reason="entered twice", actor=None, now=NOW)
            session.commit()
        entries = DrawdownEntry.__table__
        # The columns 0014 knows (0016 adds one, empty for these manual drawdowns).
        kept = select(*(c for c in entries.c if c.key != "source_id")).order_by(entries.c.seq)
        with engine.connect() as connection:
            before = connection.execute(kept).all()
        assert len(before) == 3 and before[2].reverses_id == before[0].id

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
                    assert ledger.verify_chain(session) == (3, None)


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
