"""Signed checkpoints of the ledger's head: `flask ledger verify` finds what the hash chain alone
cannot, a history rewritten with every later hash recomputed and a head moved back, by whoever
owns the database; and against a checkpoint file or a report's printed head kept elsewhere, even
when the database's checkpoints were deleted too. Without a key the app runs and says nothing
is signed."""

from __future__ import annotations

import base64
import json
import stat
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import delete, func, insert, select, text, update

from office import config
from office.config import ConfigError
from office.waivers import checkpoints, ledger
from office.waivers.models import (
    CheckpointKind,
    DrawdownEntry,
    EntryScreening,
    LedgerCheckpoint,
    LedgerHead,
)
from tests.conftest import LEDGER_KEY as KEY
from tests.conftest import build_app
from tests.factories import NOW, draw, make_rice

OTHER_KEY = Ed25519PrivateKey.generate()


@pytest.fixture
def rice(session):
    return make_rice(session)


def drawn(session, rice, n: int) -> list[DrawdownEntry]:
    return [draw(session, rice, str(k)) for k in range(1, n + 1)]


def run(app, *args: str):
    return app.test_cli_runner().invoke(args=["ledger", *args])


def checkpoint(app, session) -> LedgerCheckpoint:
    """Run `flask ledger checkpoint`; return the checkpoint it made."""
    result = run(app, "checkpoint")
    assert result.exit_code == 0, result.output
    return session.scalars(select(LedgerCheckpoint).order_by(LedgerCheckpoint.id.desc())).first()


def chain_hashes(session) -> dict[int, str]:
    return dict(session.execute(select(DrawdownEntry.seq, DrawdownEntry.hash)).all())


# --- tampering, as whoever owns the database would ------------------------------------------


class triggers_lifted:
    """Lift a table's append-only triggers inside the test's transaction."""

    def __init__(self, connection, *tables: str) -> None:
        self.connection, self.tables = connection, tables

    def __enter__(self):
        for table in self.tables:
            if self.connection.dialect.name == "postgresql":
                self.connection.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
            else:
                self.connection.execute(text(f"DROP TRIGGER {table}_no_update"))
                self.connection.execute(text(f"DROP TRIGGER {table}_no_delete"))

    def __exit__(self, *exc):
        if self.connection.dialect.name == "postgresql":
            for table in self.tables:
                self.connection.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))


def move_head_back(session, connection, to: int) -> None:
    """Delete the entries after `to` and set the head on the last one kept, as it stood."""
    kept = session.scalar(select(DrawdownEntry.hash).where(DrawdownEntry.seq == to))
    with triggers_lifted(connection, "drawdown_entries"):
        session.execute(delete(EntryScreening).where(EntryScreening.seq > to))
        session.execute(delete(DrawdownEntry).where(DrawdownEntry.seq > to))
        session.execute(update(LedgerHead).values(last_seq=to, last_hash=kept))
        session.commit()


def rewrite(session, connection, seq: int, **changes) -> None:
    """Change entry `seq` and recompute its hash and every later one, and the head's, with
    the ledger's own hashing function."""
    table = DrawdownEntry.__table__
    rows = [
        dict(row)
        for row in session.execute(
            select(table).where(table.c.seq >= seq).order_by(table.c.seq)
        ).mappings()
    ]
    previous = rows[0]["prev_hash"]
    with triggers_lifted(connection, "drawdown_entries"):
        for number, row in enumerate(rows):
            if number == 0:
                row.update(changes)
            row["prev_hash"] = previous
            row["hash"] = previous = ledger.entry_digest(row)
            session.execute(
                update(table)
                .where(table.c.id == row["id"])
                .values(**{k: v for k, v in row.items() if k != "id"})
            )
        session.execute(update(LedgerHead).values(last_hash=previous))
        session.commit()


def delete_checkpoints(session, connection) -> None:
    with triggers_lifted(connection, "ledger_checkpoints"):
        session.execute(delete(LedgerCheckpoint))
        session.commit()


def forge(session, key: Ed25519PrivateKey, *, claimed_key_id: str | None = None) -> None:
    """Sign the head as it stands now with `key`, and store it as a checkpoint."""
    head = session.get(LedgerHead, 1, populate_existing=True)
    signed_at = datetime(2030, 1, 1, tzinfo=UTC)
    signature = key.sign(checkpoints.signed_message(head.last_seq, head.last_hash, signed_at))
    session.execute(
        insert(LedgerCheckpoint).values(
            seq=head.last_seq,
            head_hash=head.last_hash,
            signed_at=signed_at,
            kind=CheckpointKind.DAILY,
            key_id=claimed_key_id or checkpoints.key_id(key.public_key()),
            signature=signature.hex(),
        )
    )
    session.commit()


# --- an honest ledger ------------------------------------------------------------------------


def test_verify_passes_on_an_honest_ledger_with_checkpoints(signed_app, session, rice):
    drawn(session, rice, 3)
    first = checkpoint(signed_app, session)
    drawn(session, rice, 2)
    second = checkpoint(signed_app, session)
    draw(session, rice, "9")

    result = run(signed_app, "verify")

    assert result.exit_code == 0, result.output
    assert (first.seq, second.seq) == (3, 5)
    hashes = chain_hashes(session)
    assert (first.head_hash, second.head_hash) == (hashes[3], hashes[5])
    assert result.output.splitlines() == [
        "Ledger intact: 6 entries, hash chain whole.",
        "Signed checkpoints: 2 in the database, all matching the chain; the latest signs "
        f"entry 5 at {second.signed_at:%Y-%m-%d %H:%M:%S} UTC; 1 entry is recorded after it.",
    ]


def test_a_checkpoint_of_an_empty_ledger_signs_the_genesis(signed_app, session):
    made = checkpoint(signed_app, session)
    assert (made.seq, made.head_hash) == (0, ledger.GENESIS_HASH)
    assert run(signed_app, "verify").exit_code == 0


def test_the_checkpoint_command_appends_a_signed_json_line_to_the_file(
    signed_app, session, rice, tmp_path
):
    drawn(session, rice, 2)
    made = checkpoint(signed_app, session)
    again = checkpoint(signed_app, session)

    lines = (tmp_path / "checkpoints.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == [
        {
            "seq": 2,
            "hash": made.head_hash,
            "signed_at": made.signed_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "key": checkpoints.key_id(KEY.public_key()),
            "signature": made.signature,
            "kind": "daily",
            "month": None,
        },
        json.loads(checkpoints.json_line(again)),
    ]
    KEY.public_key().verify(
        bytes.fromhex(made.signature),
        checkpoints.signed_message(2, made.head_hash, made.signed_at),
    )
    exported = run(signed_app, "export-checkpoints").output.splitlines()
    assert exported == lines


# --- the database's owner at work -----------------------------------------------------------


def test_moving_the_head_back_fails_verification(signed_app, session, connection, rice):
    drawn(session, rice, 5)
    made = checkpoint(signed_app, session)
    move_head_back(session, connection, to=3)
    assert ledger.verify_chain(session) == (3, None)  # the chain alone sees nothing

    result = run(signed_app, "verify")

    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "Ledger NOT intact: the hash chain of 3 entries agrees with itself, but not with its "
        "signed checkpoints.",
        f"checkpoint {made.id} in the database (entry 5, signed "
        f"{made.signed_at:%Y-%m-%d %H:%M:%S} UTC): the ledger holds 3 entries, fewer than the "
        "5 signed: entries after 3 were deleted and the head was moved back.",
    ]


def test_moving_only_the_head_back_fails_verification(signed_app, session, connection, rice):
    entries = drawn(session, rice, 4)
    checkpoint(signed_app, session)
    session.execute(update(LedgerHead).values(last_seq=2, last_hash=entries[1].hash))
    session.commit()

    result = run(signed_app, "verify")

    assert result.exit_code == 1
    assert result.output.startswith("Ledger entry 5: the ledger head records 2 entries")


def test_a_rewritten_entry_with_every_later_hash_recomputed_fails_verification(
    signed_app, session, connection, rice
):
    drawn(session, rice, 3)
    early = checkpoint(signed_app, session)
    drawn(session, rice, 3)
    late = checkpoint(signed_app, session)
    rewrite(session, connection, 5, quantity=Decimal(500), base_quantity=Decimal(500))
    assert ledger.verify_chain(session) == (6, None)  # the chain alone sees nothing

    result = run(signed_app, "verify")

    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0].startswith("Ledger NOT intact: the hash chain of 6 entries agrees")
    assert lines[1].startswith(f"checkpoint {late.id} in the database (entry 6, signed ")
    assert lines[1].endswith(
        f"not the {late.head_hash[:16]}... signed: one or more of entries 4 to 6 were "
        "rewritten and the later hashes recomputed (entry 3 still matches a signed head)."
    )
    assert len(lines) == 2  # the early checkpoint still matches
    assert early.seq == 3


def test_a_rewrite_just_after_a_checkpoint_is_located_to_the_entry(
    signed_app, session, connection, rice
):
    drawn(session, rice, 2)
    checkpoint(signed_app, session)
    draw(session, rice, "3")
    checkpoint(signed_app, session)
    rewrite(session, connection, 3, note="rewritten")

    result = run(signed_app, "verify")

    assert result.exit_code == 1
    assert "signed: entry 3 was rewritten and the later hashes recomputed" in result.output


def test_the_checkpoint_file_catches_what_the_databases_checkpoints_no_longer_show(
    signed_app, session, connection, rice, tmp_path
):
    drawn(session, rice, 5)
    checkpoint(signed_app, session)
    move_head_back(session, connection, to=2)
    delete_checkpoints(session, connection)
    kept = tmp_path / "checkpoints.jsonl"

    alone = run(signed_app, "verify")
    against_file = run(signed_app, "verify", "--checkpoints", str(kept))

    assert alone.exit_code == 0 and "No checkpoint is signed" in alone.output
    assert against_file.exit_code == 1
    assert against_file.output.splitlines()[1].startswith(f"{kept} line 1 (entry 5, signed ")
    assert "the ledger holds 2 entries, fewer than the 5 signed" in against_file.output


def test_a_reports_printed_head_catches_a_rewrite_when_the_checkpoints_are_gone(
    signed_app, session, connection, rice
):
    drawn(session, rice, 4)
    made = checkpoint(signed_app, session)
    token = checkpoints.head_token(made)
    rewrite(session, connection, 2, note="rewritten")
    delete_checkpoints(session, connection)
    # As copied from a PDF, its long line broken.
    printed = token[:70] + "\n" + token[70:]

    result = run(signed_app, "verify", "--head", printed)

    assert result.exit_code == 1
    assert "the printed head 4:" in result.output
    assert "one or more of entries 1 to 4 were rewritten" in result.output


def test_a_checkpoint_signed_with_another_key_is_refused(signed_app, session, connection, rice):
    drawn(session, rice, 3)
    checkpoint(signed_app, session)
    # The database's owner rewrites entry 2 and signs the new head with a key of their own.
    rewrite(session, connection, 2, note="rewritten")
    forge(session, OTHER_KEY)

    result = run(signed_app, "verify")

    assert result.exit_code == 1
    other = checkpoints.key_id(OTHER_KEY.public_key())
    assert f"it is signed with key {other}, which is not one of the trusted keys" in result.output
    assert "one or more of entries 1 to 3 were rewritten" in result.output


def test_a_signature_by_another_key_under_the_trusted_fingerprint_is_refused(
    signed_app, session, rice
):
    drawn(session, rice, 2)
    forge(session, OTHER_KEY, claimed_key_id=checkpoints.key_id(KEY.public_key()))

    result = run(signed_app, "verify")

    assert result.exit_code == 1
    assert "its signature does not match its count, hash and time" in result.output


def test_a_checkpoint_altered_to_match_a_rewrite_is_refused(signed_app, session, connection, rice):
    drawn(session, rice, 3)
    made = checkpoint(signed_app, session)
    rewrite(session, connection, 3, note="rewritten")
    with triggers_lifted(connection, "ledger_checkpoints"):
        new_head = session.get(LedgerHead, 1, populate_existing=True).last_hash
        session.execute(
            update(LedgerCheckpoint)
            .where(LedgerCheckpoint.id == made.id)
            .values(head_hash=new_head)
        )
        session.commit()

    result = run(signed_app, "verify")

    assert result.exit_code == 1
    assert "its signature does not match its count, hash and time" in result.output


def test_the_database_refuses_to_change_or_delete_checkpoints(signed_app, session, connection):
    from sqlalchemy.exc import DBAPIError

    checkpoint(signed_app, session)
    for statement in ("UPDATE ledger_checkpoints SET seq = 9", "DELETE FROM ledger_checkpoints"):
        savepoint = connection.begin_nested()
        with pytest.raises(DBAPIError, match="append-only"):
            connection.execute(text(statement))
        savepoint.rollback()
    assert session.scalar(select(func.count()).select_from(LedgerCheckpoint)) == 1


# --- keys ------------------------------------------------------------------------------------


def test_without_a_key_the_app_runs_and_verify_says_nothing_is_signed(app, session, rice):
    drawn(session, rice, 2)

    refused = run(app, "checkpoint")
    result = run(app, "verify")

    assert refused.exit_code == 1
    assert refused.output.startswith("No signing key is configured")
    assert result.exit_code == 0
    assert result.output.splitlines() == [
        "Ledger intact: 2 entries, hash chain whole.",
        "No checkpoint is signed: the chain agrees with itself, but whoever controls the "
        "database could have rewritten it. Configure a signing key (OFFICE_LEDGER_KEY_FILE) "
        "and run `flask ledger checkpoint` daily.",
    ]


def test_the_public_key_alone_verifies(signed_app, connection, database_url, session, rice):
    drawn(session, rice, 2)
    checkpoint(signed_app, session)
    verifier = build_app(connection, database_url, OFFICE_LEDGER_PUBLIC_KEYS=(KEY.public_key(),))
    keyless = build_app(connection, database_url)

    assert run(verifier, "verify").exit_code == 0
    refused = run(keyless, "verify")
    assert refused.exit_code == 1
    assert refused.output == (
        "Ledger not verified: the hash chain of 2 entries agrees with itself, but no public key "
        "is configured to check its 1 signed checkpoints (OFFICE_LEDGER_KEY_FILE, "
        "OFFICE_LEDGER_KEY or OFFICE_LEDGER_PUBLIC_KEYS_FILE).\n"
    )


def test_a_malformed_checkpoint_file_is_refused_naming_its_line(signed_app, tmp_path):
    kept = tmp_path / "kept.jsonl"
    kept.write_text('\n{"seq": 1, "hash": "abc"}\n')

    result = run(signed_app, "verify", "--checkpoints", str(kept))

    assert result.exit_code == 2
    assert f"{kept} line 2 is not a checkpoint" in result.output


def test_keygen_writes_a_private_key_the_configuration_reads(app, tmp_path):
    path = tmp_path / "ledger-key.pem"

    result = run(app, "keygen", str(path))

    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    key = config.ledger_signing_key({"OFFICE_LEDGER_KEY_FILE": str(path)})
    assert key is not None
    assert checkpoints.key_id(key.public_key()) in result.output
    assert "-----BEGIN PUBLIC KEY-----" in result.output
    again = run(app, "keygen", str(path))
    assert again.exit_code == 1 and "Cannot create" in again.output
    assert config.ledger_signing_key({"OFFICE_LEDGER_KEY_FILE": str(path)}) is not None


def test_the_key_may_be_given_in_the_environment(tmp_path):
    raw = KEY.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    for value in (base64.b64encode(raw).decode(), checkpoints.private_key_pem(KEY).decode()):
        key = config.load({"OFFICE_LEDGER_KEY": value}, tmp_path)["OFFICE_LEDGER_SIGNING_KEY"]
        assert checkpoints.key_id(key.public_key()) == checkpoints.key_id(KEY.public_key())


@pytest.mark.parametrize(
    "environ, message",
    [
        ({"OFFICE_LEDGER_KEY": "not a key"}, "OFFICE_LEDGER_KEY is not an unencrypted Ed25519"),
        ({"OFFICE_LEDGER_KEY_FILE": "/nonexistent/key.pem"}, "cannot read /nonexistent"),
        (
            {"OFFICE_LEDGER_KEY": "x", "OFFICE_LEDGER_KEY_FILE": "y"},
            "Set OFFICE_LEDGER_KEY_FILE or OFFICE_LEDGER_KEY, not both",
        ),
        ({"OFFICE_LEDGER_PUBLIC_KEYS_FILE": "/nonexistent"}, "OFFICE_LEDGER_PUBLIC_KEYS_FILE"),
    ],
)
def test_a_bad_key_setting_stops_the_app_from_starting(tmp_path, environ, message):
    with pytest.raises(ConfigError, match=message):
        config.load(environ, tmp_path)


def test_production_without_a_signing_key_refuses_to_start(tmp_path):
    with pytest.raises(ConfigError, match="OFFICE_LEDGER_KEY_FILE is not set"):
        config.load(
            {
                "OFFICE_ENV": "production",
                "SECRET_KEY": "k" * 64,
                "OFFICE_DATABASE_URL": "postgresql://db/office",
                # A Fernet key: production needs one for the two-factor secrets too.
                "OFFICE_TWO_FACTOR_KEY": "q7kzzB4bVpGC8jKX5f8dG8bY3f6nW0ZrjJ2f3d2YH5M=",
            },
            tmp_path,
        )


def test_retired_keys_are_read_from_the_public_keys_file(tmp_path):
    path = tmp_path / "public.pem"
    path.write_bytes(
        checkpoints.public_key_pem(KEY.public_key())
        + checkpoints.public_key_pem(OTHER_KEY.public_key())
    )
    settings = config.load({"OFFICE_LEDGER_PUBLIC_KEYS_FILE": str(path)}, tmp_path)
    keys = checkpoints.keys_from(settings)
    assert keys.signing is None
    assert set(keys.trusted) == {
        checkpoints.key_id(KEY.public_key()),
        checkpoints.key_id(OTHER_KEY.public_key()),
    }


def test_make_checkpoint_without_a_key_signs_nothing(session):
    made = checkpoints.make_checkpoint(
        session, checkpoints.LedgerKeys(), kind=CheckpointKind.DAILY, now=NOW
    )
    assert made is None
    assert session.scalar(select(func.count()).select_from(LedgerCheckpoint)) == 0
