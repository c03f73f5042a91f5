"""Sign-in: failed logins counted per client network too; two-factor secrets and recovery codes

The lockout counted failures per email only, so anyone could lock anyone out, and nothing
limited one address trying many accounts. Each attempt now records the client's network (its
IPv4 address, or its IPv6 /64), indexed with the time, so failures are also counted per
address; rows already kept get theirs from their address. Two new outcomes count towards the
lockout or hold it open: a right password awaiting its second factor, and a wrong code.

Two tables hold the second factor: one encrypted TOTP secret per user (the key is not in the
database), and one-time recovery codes, kept as SHA-256 digests.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-04
"""

import ipaddress
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | Sequence[str] | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_OUTCOMES = ("succeeded", "bad_credentials", "inactive", "locked_out")
NEW_OUTCOMES = (*OLD_OUTCOMES, "password_accepted", "bad_code")


def _outcome_type(values: tuple[str, ...]) -> sa.Enum:
    return sa.Enum(
        *values,
        name="login_outcome",
        native_enum=False,
        create_constraint=True,
        length=max(len(v) for v in values),
    )


def _network(address: str) -> str:
    # The same rule as office.auth.services.client_network, frozen here as it was written.
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return address.strip()[:49] or "unknown"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if isinstance(ip, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def upgrade() -> None:
    with op.batch_alter_table("login_attempts") as batch_op:
        batch_op.add_column(sa.Column("client_network", sa.String(length=49), nullable=True))
        batch_op.alter_column(
            "outcome",
            existing_type=_outcome_type(OLD_OUTCOMES),
            type_=_outcome_type(NEW_OUTCOMES),
            existing_nullable=False,
        )
        batch_op.create_index(
            "ix_login_attempts_client_network_attempted_at",
            ["client_network", "attempted_at"],
            unique=False,
        )

    attempts = sa.table(
        "login_attempts",
        sa.column("remote_addr", sa.String()),
        sa.column("client_network", sa.String()),
    )
    bind = op.get_bind()
    addresses = bind.execute(
        sa.select(attempts.c.remote_addr).where(attempts.c.remote_addr.is_not(None)).distinct()
    ).scalars()
    for address in list(addresses):
        bind.execute(
            attempts.update()
            .where(attempts.c.remote_addr == address)
            .values(client_network=_network(address))
        )

    op.create_table(
        "two_factor_credentials",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("secret_encrypted", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_step", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_two_factor_credentials_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_two_factor_credentials")),
        sa.UniqueConstraint("user_id", name=op.f("uq_two_factor_credentials_user_id")),
    )
    op.create_table(
        "recovery_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_recovery_codes_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recovery_codes")),
        sa.UniqueConstraint("user_id", "code_hash", name=op.f("uq_recovery_codes_user_id_code_hash")),
    )


def downgrade() -> None:
    op.drop_table("recovery_codes")
    op.drop_table("two_factor_credentials")

    # The narrower constraint has no place for the new outcomes: a wrong code stays a failure,
    # a password awaiting its code (neither failure nor success) goes.
    attempts = sa.table("login_attempts", sa.column("outcome", sa.String()))
    op.execute(
        attempts.update()
        .where(attempts.c.outcome == "bad_code")
        .values(outcome="bad_credentials")
    )
    op.execute(attempts.delete().where(attempts.c.outcome == "password_accepted"))
    with op.batch_alter_table("login_attempts") as batch_op:
        batch_op.drop_index("ix_login_attempts_client_network_attempted_at")
        batch_op.alter_column(
            "outcome",
            existing_type=_outcome_type(NEW_OUTCOMES),
            type_=_outcome_type(OLD_OUTCOMES),
            existing_nullable=False,
        )
        batch_op.drop_column("client_network")
