"""Signed checkpoints of the ledger's head, and the check of the hash chain against them.

The hash chain shows an edit only to someone who cannot recompute it: whoever owns the database
can rewrite an entry and every later hash, or delete the last entries and move the head back,
and the chain still agrees with itself. A checkpoint is the head (its entry count and last hash)
at a moment, signed with an Ed25519 key that is not in the database (`office.config`). It is
made at every month's sign-off and daily (`flask ledger checkpoint`, from cron), stored in the
database and appended to a file kept elsewhere; the monthly report prints it. `verify` checks
the chain against each of them: a rewritten history no longer has a signed hash, and a head
moved back is behind one.

What it cannot show: a change to entries recorded after the last checkpoint kept out of reach
(at most a day's, with the daily checkpoint), or one made by someone who holds the signing key.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from office.waivers import ledger
from office.waivers.models import CheckpointKind, LedgerCheckpoint, LedgerHead

if TYPE_CHECKING:
    from flask import Flask

# Signed with every checkpoint, so that its signature means nothing anywhere else.
CONTEXT = "office drawdown ledger checkpoint v1"
_HASH = re.compile(r"[0-9a-f]{64}")
_SIGNATURE = re.compile(r"[0-9a-f]{128}")


# --- keys ----------------------------------------------------------------------------------


def key_id(key: Ed25519PublicKey) -> str:
    """Return a public key's fingerprint: the SHA-256 of its 32 raw bytes, in hex."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


@dataclass(frozen=True)
class LedgerKeys:
    """The key that signs checkpoints (None: nothing is signed), the public keys whose
    signatures verify (by fingerprint), and the file every checkpoint is appended to."""

    signing: Ed25519PrivateKey | None = None
    trusted: Mapping[str, Ed25519PublicKey] = field(default_factory=dict)
    file: Path | None = None

    @property
    def signing_key_id(self) -> str | None:
        return key_id(self.signing.public_key()) if self.signing is not None else None


def keys_from(config: Mapping[str, Any]) -> LedgerKeys:
    """Return the ledger's keys as `office.config` loaded them."""
    signing: Ed25519PrivateKey | None = config.get("OFFICE_LEDGER_SIGNING_KEY")
    public: list[Ed25519PublicKey] = list(config.get("OFFICE_LEDGER_PUBLIC_KEYS") or ())
    if signing is not None:
        public.insert(0, signing.public_key())
    path = config.get("OFFICE_LEDGER_CHECKPOINT_FILE")
    return LedgerKeys(
        signing=signing,
        trusted={key_id(key): key for key in public},
        file=Path(path) if path else None,
    )


def keys_of(app: Flask) -> LedgerKeys:
    """Return `app`'s ledger keys (read from its configuration once)."""
    keys: LedgerKeys | None = app.extensions.get("office.ledger_keys")
    if keys is None:
        keys = app.extensions["office.ledger_keys"] = keys_from(app.config)
    return keys


def private_key_pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def public_key_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


# --- signing --------------------------------------------------------------------------------


def signed_message(seq: int, head_hash: str, signed_at: datetime) -> bytes:
    """Return the bytes a checkpoint's signature covers: its context, count, hash and time."""
    payload = {
        "context": CONTEXT,
        "seq": seq,
        "hash": head_hash,
        "signed_at": utc_text(signed_at),
    }
    return json.dumps(payload, sort_keys=True, separators=(",", ":")).encode("ascii")


def utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def make_checkpoint(
    session: Session,
    keys: LedgerKeys,
    *,
    kind: CheckpointKind,
    now: datetime,
    month: date | None = None,
) -> LedgerCheckpoint | None:
    """Sign the ledger's head as it stands and store the checkpoint (`month`: the month whose
    sign-off makes it); return None, signing nothing, when no signing key is configured."""
    if keys.signing is None:
        return None
    # Shared, last in the lock order: drawdowns in flight commit first and none moves the
    # head until this transaction ends, so the head read is the chain's end at its count.
    head = session.get(LedgerHead, 1, with_for_update={"read": True}, populate_existing=True)
    assert head is not None, "the ledger's head is created by the migrations"
    signed_at = now.astimezone(UTC).replace(microsecond=0)
    signature = keys.signing.sign(signed_message(head.last_seq, head.last_hash, signed_at))
    checkpoint = LedgerCheckpoint(
        seq=head.last_seq,
        head_hash=head.last_hash,
        signed_at=signed_at,
        kind=kind,
        month=month,
        key_id=keys.signing_key_id,
        signature=signature.hex(),
    )
    session.add(checkpoint)
    session.flush()
    return checkpoint


def for_report(session: Session, month: date) -> LedgerCheckpoint | None:
    """Return the checkpoint a month's report prints: its sign-off's, else the latest."""
    signed = session.scalar(select(LedgerCheckpoint).where(LedgerCheckpoint.month == month))
    if signed is not None:
        return signed
    return session.scalar(
        select(LedgerCheckpoint)
        .order_by(LedgerCheckpoint.seq.desc(), LedgerCheckpoint.id.desc())
        .limit(1)
    )


# --- kept elsewhere: a file of JSON lines, a report's printed head ------------------------


def json_line(checkpoint: LedgerCheckpoint) -> str:
    """Return the checkpoint as one line of JSON, as the checkpoint file keeps it."""
    return json.dumps(
        {
            "seq": checkpoint.seq,
            "hash": checkpoint.head_hash,
            "signed_at": utc_text(checkpoint.signed_at),
            "key": checkpoint.key_id,
            "signature": checkpoint.signature,
            "kind": checkpoint.kind.value,
            "month": checkpoint.month.strftime("%Y-%m") if checkpoint.month else None,
        },
        separators=(",", ":"),
    )


def append_to_file(path: Path, checkpoints: Iterable[LedgerCheckpoint]) -> None:
    """Append each checkpoint to `path` as a line of JSON, creating the file if need be.

    Raises OSError when the file cannot be written.
    """
    text = "".join(json_line(checkpoint) + "\n" for checkpoint in checkpoints)
    # One write in append mode: lines from several workers never interleave.
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, text.encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)


def head_token(checkpoint: LedgerCheckpoint) -> str:
    """Return the signed head as the monthly report prints it for `flask ledger verify
    --head`: count, hash, time and signature, separated by colons."""
    signed_at = checkpoint.signed_at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{checkpoint.seq}:{checkpoint.head_hash}:{signed_at}:{checkpoint.signature}"


@dataclass(frozen=True)
class Claim:
    """A signed head (an unsigned one only from a report given by hand), and where it was
    found: a checkpoint in the database, a line of a file, a report's printed head."""

    seq: int
    head_hash: str
    signed_at: datetime | None
    key_id: str | None
    signature: str | None
    where: str

    @property
    def described(self) -> str:
        when = f", signed {self.signed_at:%Y-%m-%d %H:%M:%S} UTC" if self.signed_at else ""
        return f"{self.where} (entry {self.seq}{when})"


class BadClaim(ValueError):
    """A line of a checkpoint file, or a printed head, that is not a checkpoint."""


def claim_of(checkpoint: LedgerCheckpoint) -> Claim:
    return Claim(
        checkpoint.seq,
        checkpoint.head_hash,
        checkpoint.signed_at,
        checkpoint.key_id,
        checkpoint.signature,
        f"checkpoint {checkpoint.id} in the database",
    )


def _checked(
    seq: object, head_hash: object, signed_at: datetime | None, key: object, signature: object
) -> tuple[int, str, datetime | None, str | None, str | None]:
    if type(seq) is not int or seq < 0:
        raise BadClaim("its entry count is not a whole number")
    if not isinstance(head_hash, str) or not _HASH.fullmatch(head_hash):
        raise BadClaim("its hash is not 64 hexadecimal digits")
    if signature is not None and (
        not isinstance(signature, str) or not _SIGNATURE.fullmatch(signature)
    ):
        raise BadClaim("its signature is not 128 hexadecimal digits")
    if key is not None and (not isinstance(key, str) or not _HASH.fullmatch(key)):
        raise BadClaim("its key fingerprint is not 64 hexadecimal digits")
    if signature is not None and signed_at is None:
        raise BadClaim("it is signed but says not when")
    return seq, head_hash, signed_at, key, signature


def _moment(text: object, formats: Sequence[str]) -> datetime:
    for pattern in formats:
        try:
            return datetime.strptime(str(text), pattern).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise BadClaim(f"its time {str(text)[:40]!r} is not a UTC time")


def read_file(path: Path) -> list[Claim]:
    """Return the checkpoints in a file of JSON lines (blank lines skipped).

    Raises OSError when it cannot be read, BadClaim naming the first line that is not one.
    """
    claims = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            where = f"{path} line {number}"
            try:
                record = json.loads(line)
                if not isinstance(record, dict):
                    raise BadClaim("it is not a JSON object")
                signed_at = _moment(record.get("signed_at"), ["%Y-%m-%dT%H:%M:%SZ"])
                values = _checked(
                    record.get("seq"),
                    record.get("hash"),
                    signed_at,
                    record.get("key"),
                    record.get("signature"),
                )
                if values[4] is None:
                    raise BadClaim("it is not signed")
            except (ValueError, BadClaim) as exc:
                raise BadClaim(f"{where} is not a checkpoint: {exc}") from None
            claims.append(Claim(*values, where=where))
    return claims


def parse_head(text: str) -> Claim:
    """Return the head a report printed (COUNT:HASH:TIME:SIGNATURE), or one given as
    COUNT:HASH only, unsigned; whitespace is ignored (a PDF breaks long lines).

    Raises BadClaim when it is neither.
    """
    token = "".join(text.split())
    parts = token.split(":")
    if len(parts) not in (2, 4) or not parts[0].isascii() or not parts[0].isdigit():
        raise BadClaim(
            f"{token[:40]!r} is not a printed head: give COUNT:HASH:TIME:SIGNATURE as the "
            "monthly report prints it, or COUNT:HASH"
        )
    signed_at = _moment(parts[2], ["%Y%m%dT%H%M%SZ"]) if len(parts) == 4 else None
    try:
        values = _checked(
            int(parts[0]),
            parts[1].lower(),
            signed_at,
            None,
            parts[3].lower() if signed_at else None,
        )
    except BadClaim as exc:
        raise BadClaim(f"the printed head {token[:40]}... is not a checkpoint: {exc}") from None
    return Claim(*values, where=f"the printed head {parts[0]}:{parts[1][:12]}...")


# --- verifying ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckpointProblem:
    claim: Claim
    reason: str

    def __str__(self) -> str:
        return f"{self.claim.described}: {self.reason}"


@dataclass(frozen=True)
class Verification:
    chain: ledger.ChainWalk
    matched: list[Claim]  # signed (or given by hand) and equal to the chain
    problems: list[CheckpointProblem]
    from_database: int
    # Signed checkpoints found, but no public key configured to check them.
    unchecked: int = 0

    @property
    def intact(self) -> bool:
        return self.chain.problem is None and not self.problems and not self.unchecked

    @property
    def latest(self) -> Claim | None:
        return max(self.matched, key=lambda claim: claim.seq, default=None)


def _signature_problem(claim: Claim, keys: LedgerKeys) -> str | None:
    if claim.signature is None:
        return None
    if claim.key_id is None:
        candidates = list(keys.trusted.values())
    elif claim.key_id in keys.trusted:
        candidates = [keys.trusted[claim.key_id]]
    else:
        return (
            f"it is signed with key {claim.key_id}, which is not one of the trusted keys: "
            "forged, or signed with a key retired without adding its public key to "
            "OFFICE_LEDGER_PUBLIC_KEYS_FILE"
        )
    assert claim.signed_at is not None, "a signed claim says when"
    message = signed_message(claim.seq, claim.head_hash, claim.signed_at)
    for key in candidates:
        try:
            key.verify(bytes.fromhex(claim.signature), message)
        except InvalidSignature:
            continue
        return None
    return "its signature does not match its count, hash and time: it was altered or forged"


def verify(session: Session, keys: LedgerKeys, elsewhere: Sequence[Claim] = ()) -> Verification:
    """Walk the chain and check it against every checkpoint in the database and `elsewhere`
    (a file's, a report's): each signature must verify with a trusted key, each signed hash
    must be the chain's at that count, and the chain must reach every signed count."""
    in_database = [
        claim_of(checkpoint)
        for checkpoint in session.scalars(
            select(LedgerCheckpoint).order_by(LedgerCheckpoint.seq, LedgerCheckpoint.id)
        )
    ]
    claims = in_database + list(elsewhere)
    if not keys.trusted:
        # Nothing signed can be trusted: compare only what was given unsigned, by hand.
        unchecked = sum(1 for claim in claims if claim.signature is not None)
        claims = [claim for claim in claims if claim.signature is None]
    else:
        unchecked = 0
    walk = ledger.walk_chain(session, {claim.seq for claim in claims})
    problems: list[CheckpointProblem] = []
    matched: list[Claim] = []
    differing: list[Claim] = []
    for claim in claims:
        reason = _signature_problem(claim, keys)
        if reason is not None:
            problems.append(CheckpointProblem(claim, reason))
        elif claim.seq in walk.hashes:
            if walk.hashes[claim.seq] == claim.head_hash:
                matched.append(claim)
            else:
                differing.append(claim)
        elif walk.problem is None:
            problems.append(
                CheckpointProblem(
                    claim,
                    f"the ledger holds {walk.checked} entries, fewer than the {claim.seq} "
                    f"signed: entries after {walk.checked} were deleted and the head was "
                    "moved back",
                )
            )
        # else: the chain is broken before this count; its problem is reported.
    for claim in differing:
        good = max((c.seq for c in matched if c.seq < claim.seq), default=0)
        span = (
            f"entry {claim.seq} was"
            if good == claim.seq - 1
            else f"one or more of entries {good + 1} to {claim.seq} were"
        )
        problems.append(
            CheckpointProblem(
                claim,
                f"the chain's hash at entry {claim.seq} is {walk.hashes[claim.seq][:16]}..., "
                f"not the {claim.head_hash[:16]}... signed: {span} rewritten and the "
                "later hashes recomputed"
                + (f" (entry {good} still matches a signed head)" if good else ""),
            )
        )
    return Verification(walk, matched, problems, len(in_database), unchecked)
