"""Sessions end on the server: browser sessions kept in the database; API tokens bound to
their user's generation of credentials

A session cookie held the user's id and a per-user token, so a cookie copied before a logout
still opened every page afterwards, and each use renewed it. Sessions are now rows: the
cookie holds only a key whose SHA-256 is kept here, and a logout, an idle or absolute
timeout, a password change or a deactivation ends the row for every worker.

API tokens record the generation of credentials (`users.session_token`) they were issued
under, like sessions, so that a password change or a deactivation ends them too, and a
reactivation does not bring them back; they also keep when they were last used and why they
were revoked. Tokens of users inactive today are marked revoked.

Everyone logs in again after this upgrade: the cookies of before name no session.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | Sequence[str] | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REASONS = ("logged_out", "revoked", "password_changed", "deactivated")


def _reason() -> sa.Enum:
    return sa.Enum(*REASONS, name="credential_end", native_enum=False, create_constraint=True, length=16)


def upgrade() -> None:
    op.create_table('user_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('generation', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('end_reason', _reason(), nullable=True),
    sa.Column('remote_addr', sa.String(length=45), nullable=True),
    sa.Column('user_agent', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_sessions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_sessions')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_user_sessions_key_hash'))
    )
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_sessions_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('generation', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('revoked_reason', _reason(), nullable=True))

    users = sa.table(
        "users",
        sa.column("id", sa.Integer()),
        sa.column("is_active", sa.Boolean()),
        sa.column("session_token", sa.String()),
    )
    tokens = sa.table(
        "api_tokens",
        sa.column("user_id", sa.Integer()),
        sa.column("generation", sa.String()),
        sa.column("revoked_at", sa.DateTime(timezone=True)),
        sa.column("revoked_reason", sa.String()),
    )
    op.execute(
        tokens.update().values(
            generation=sa.select(users.c.session_token)
            .where(users.c.id == tokens.c.user_id)
            .scalar_subquery()
        )
    )
    now = datetime.now(UTC)
    if op.get_bind().dialect.name == "sqlite":
        now = now.replace(tzinfo=None)  # SQLite keeps UTC without an offset
    op.execute(
        tokens.update()
        .where(
            tokens.c.revoked_at.is_(None),
            tokens.c.user_id.in_(sa.select(users.c.id).where(sa.not_(users.c.is_active))),
        )
        .values(revoked_at=now, revoked_reason="deactivated")
    )
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.alter_column('generation', existing_type=sa.String(length=32), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_api_tokens_credential_end'), type_='check')
        batch_op.drop_column('revoked_reason')
        batch_op.drop_column('last_used_at')
        batch_op.drop_column('generation')

    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_sessions_user_id'))

    op.drop_table('user_sessions')
