"""Migration 0022 keeps the login attempts already recorded, counted by their network."""

from datetime import UTC, datetime

import sqlalchemy as sa

from office.db import create_engine_for
from tests.support import migrate, scratch_database

AT = datetime(2018, 9, 14, 1, 0, tzinfo=UTC)


def _attempts(*, with_network: bool = True) -> sa.TableClause:
    columns = [
        sa.column("id", sa.Integer()),
        sa.column("email", sa.String()),
        sa.column("attempted_at", sa.DateTime(timezone=True)),
        sa.column("outcome", sa.String()),
        sa.column("remote_addr", sa.String()),
    ]
    if with_network:
        columns.append(sa.column("client_network", sa.String()))
    return sa.table("login_attempts", *columns)


def test_attempts_kept_before_0022_are_counted_by_their_network_and_come_back_down(tmp_path):
    with scratch_database(tmp_path) as url:
        engine = create_engine_for(url)
        try:
            migrate(engine, "0021")
            table = _attempts()
            rows = [
                ("10.0.0.1", "bad_credentials"),
                ("2001:db8:1:2::99", "bad_credentials"),
                ("::ffff:192.0.2.1", "succeeded"),
                (None, "locked_out"),
            ]
            with engine.begin() as connection:
                connection.execute(
                    sa.insert(_attempts(with_network=False)),
                    [
                        {
                            "id": k + 1,
                            "email": "kim@test.example",
                            "attempted_at": AT,
                            "outcome": outcome,
                            "remote_addr": addr,
                        }
                        for k, (addr, outcome) in enumerate(rows)
                    ],
                )

            migrate(engine, "0022")
            with engine.begin() as connection:
                networks = connection.execute(
                    sa.select(table.c.client_network).order_by(table.c.id)
                ).scalars()
                assert list(networks) == ["10.0.0.1", "2001:db8:1:2::/64", "192.0.2.1", None]
                connection.execute(
                    sa.insert(table),
                    [
                        {
                            "id": 5,
                            "email": "k@t.example",
                            "attempted_at": AT,
                            "outcome": "bad_code",
                        },
                        {
                            "id": 6,
                            "email": "k@t.example",
                            "attempted_at": AT,
                            "outcome": "password_accepted",
                        },
                    ],
                )

            migrate(engine, "0021", down=True)
            with engine.connect() as connection:
                outcomes = connection.execute(
                    sa.select(table.c.outcome).order_by(table.c.id)
                ).scalars()
                # A wrong code stays a failure; a password awaiting its code has no older name.
                assert list(outcomes) == [
                    "bad_credentials",
                    "bad_credentials",
                    "succeeded",
                    "locked_out",
                    "bad_credentials",
                ]
        finally:
            engine.dispose()
