"""A month's sign-off signs the ledger's head, and the monthly report prints it (HTML and PDF) in
a form `flask ledger verify --head` checks: a report kept outside the database shows a ledger
rewritten after it was printed."""

from __future__ import annotations

from datetime import date

import pypdfium2
import pytest
from sqlalchemy import select

from office.reviews import services
from office.waivers import checkpoints
from office.waivers.models import CheckpointKind, DrawdownEntry, LedgerCheckpoint
from tests.conftest import LEDGER_KEY as KEY
from tests.conftest import build_app, log_in
from tests.factories import NOW, audit_events, draw, make_rice
from tests.jobs import fetched
from tests.reviews.arrange import TODAY, acknowledge_all
from tests.reviews.pages import read
from tests.waivers.test_checkpoints import delete_checkpoints, rewrite

OCTOBER = date(2018, 10, 1)
KEYS = checkpoints.LedgerKeys(
    signing=KEY, trusted={checkpoints.key_id(KEY.public_key()): KEY.public_key()}
)


@pytest.fixture
def client(signed_app):
    client = signed_app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def october(session, reviewer, flagged):
    """October's flagged items acknowledged, ready to be signed off."""
    acknowledge_all(session, reviewer, month=OCTOBER)
    return flagged


def sign_off(session, reviewer, keys=KEYS) -> LedgerCheckpoint | None:
    services.sign_off_month(
        session, OCTOBER, note="", actor=reviewer, now=NOW, today=TODAY, ledger_keys=keys
    )
    session.commit()
    return session.scalar(select(LedgerCheckpoint).where(LedgerCheckpoint.month == OCTOBER))


def test_the_sign_off_signs_the_head_with_every_entry_of_the_month(session, reviewer, october):
    made = sign_off(session, reviewer)

    assert made is not None and made.kind is CheckpointKind.SIGN_OFF
    october_seqs = session.scalars(
        select(DrawdownEntry.seq).where(DrawdownEntry.occurred_on >= OCTOBER)
    ).all()
    assert october_seqs and max(october_seqs) <= made.seq
    last = session.scalar(select(DrawdownEntry).where(DrawdownEntry.seq == made.seq))
    assert made.head_hash == last.hash
    KEY.public_key().verify(
        bytes.fromhex(made.signature),
        checkpoints.signed_message(made.seq, made.head_hash, made.signed_at),
    )
    (event,) = audit_events(session, "month.signed_off")
    assert event.detail["ledger_seq"] == made.seq


def test_a_sign_off_without_a_key_signs_nothing(session, reviewer, october):
    assert sign_off(session, reviewer, keys=None) is None


def test_the_report_prints_the_months_signed_head(client, session, reviewer, october):
    made = sign_off(session, reviewer)

    page = read(log_in(client, reviewer).get("/reviews/reports/2018-10"))

    assert "The ledger's signed head" in page.text
    assert "Signed at this month's sign-off" in page.text
    assert ["Entries", str(made.seq)] in page.rows
    assert ["Head hash (SHA-256)", made.head_hash] in page.rows
    assert ["Key fingerprint", checkpoints.key_id(KEY.public_key())] in page.rows
    assert ["Signature (Ed25519)", made.signature] in page.rows
    assert f"flask ledger verify --head {checkpoints.head_token(made)}" in page.text


def test_the_pdf_prints_the_signed_head(client, session, reviewer, october):
    made = sign_off(session, reviewer)

    response = fetched(log_in(client, reviewer), "/reviews/reports/2018-10.pdf")

    pdf = pypdfium2.PdfDocument(response.get_data())
    try:
        text = "".join(pdf[n].get_textpage().get_text_range() for n in range(len(pdf)))
    finally:
        pdf.close()
    # Long hexadecimal strings wrap on the page: read them without the breaks.
    joined = "".join(text.split())
    assert "Theledger'ssignedhead" in joined
    assert made.head_hash in joined
    assert made.signature in joined
    assert checkpoints.head_token(made) in joined


def test_the_printed_head_shows_a_ledger_rewritten_after_the_report(
    signed_app, client, session, connection, reviewer, october
):
    sign_off(session, reviewer)
    page = read(log_in(client, reviewer).get("/reviews/reports/2018-10"))
    token = page.text.split("flask ledger verify --head ")[1].split()[0]
    rewrite(session, connection, 1, note="rewritten")
    delete_checkpoints(session, connection)
    runner = signed_app.test_cli_runner()

    assert runner.invoke(args=["ledger", "verify"]).exit_code == 0  # nothing left to compare
    result = runner.invoke(args=["ledger", "verify", "--head", token])

    assert result.exit_code == 1, result.output
    assert "the printed head" in result.output and "were rewritten" in result.output


def test_an_open_months_report_prints_the_latest_checkpoint(signed_app, client, session, reviewer):
    draw(session, make_rice(session), "5")
    assert signed_app.test_cli_runner().invoke(args=["ledger", "checkpoint"]).exit_code == 0

    page = read(log_in(client, reviewer).get("/reviews/reports/2018-10"))

    assert "The latest signed checkpoint of the ledger" in page.text
    assert ["Entries", "1"] in page.rows


def test_a_report_without_any_checkpoint_says_the_head_is_not_signed(
    app, session, reviewer, october
):
    draw(session, make_rice(session), "5")
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"

    page = read(log_in(client, reviewer).get("/reviews/reports/2018-10"))

    assert "The ledger's head is not signed: no signing key is configured" in page.text


def test_signing_off_on_the_page_appends_the_checkpoint_to_the_file(
    client, session, reviewer, october, tmp_path
):
    response = log_in(client, reviewer).post("/reviews/months/2018-10/sign-off", data={"note": ""})

    assert response.status_code == 302
    made = session.scalar(select(LedgerCheckpoint).where(LedgerCheckpoint.month == OCTOBER))
    assert made is not None
    kept = tmp_path / "checkpoints.jsonl"
    assert kept.read_text() == checkpoints.json_line(made) + "\n"
    assert checkpoints.read_file(kept)[0].head_hash == made.head_hash


def test_a_checkpoint_file_that_cannot_be_written_leaves_the_sign_off_standing(
    connection, database_url, session, reviewer, october, tmp_path
):
    app = build_app(
        connection,
        database_url,
        OFFICE_LEDGER_SIGNING_KEY=KEY,
        OFFICE_LEDGER_CHECKPOINT_FILE=str(tmp_path / "missing" / "checkpoints.jsonl"),
    )
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"

    response = log_in(client, reviewer).post(
        "/reviews/months/2018-10/sign-off", data={"note": ""}, follow_redirects=True
    )

    page = read(response)
    assert ("success", "2018-10 is signed off.") in page.flashes
    assert (
        "error",
        "The ledger's signed head is stored, but the checkpoint file could not be written; run "
        "`flask ledger export-checkpoints` to copy it there.",
    ) in page.flashes
    assert session.scalar(select(LedgerCheckpoint).where(LedgerCheckpoint.month == OCTOBER))
