"""The schema comes only from migrations: they match the models and every step reverses."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from office.cli import alembic_config
from office.db import create_engine_for
from office.models import Base
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
