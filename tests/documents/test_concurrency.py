"""Documents written at the same moment, committed for real on a database of their own (on
PostgreSQL the requests overlap): one document never has two current versions, a withdrawal
and a new version of one document do not both land, the first documents of a day or a review
thread make one log or one item, and a manifest line never loses a document to its removal."""

from __future__ import annotations

import io
from datetime import date

from sqlalchemy import func, select

from office.documents import services as documents
from office.documents.models import Document, RecordType
from office.fuel.models import DailyLog
from office.reviews.models import ReviewItem
from office.supplies.models import DeliveryLine
from tests.concurrency import Office, at_once
from tests.documents.arrange import (
    PDF,
    big_pdf,
    chunks_kept,
    delivery_with_line,
    upload,
    versions_of,
)
from tests.factories import NOW, make_resource, make_waiver
from tests.reviews.arrange import capped_line, override

AT_ONCE = 4


def _letter(office: Office) -> tuple[int, int]:
    """A waiver with its letter attached; (waiver id, document id)."""
    with office.session() as session:
        diesel = make_resource(session)
        waiver = make_waiver(session, [(diesel, "L", "1000", "1000")], reference="1718-RACE")
        document = documents.attach_to(
            session,
            RecordType.WAIVER,
            waiver.id,
            documents.Upload(io.BytesIO(PDF), "letter.pdf", "Letter", "exemption_letter"),
            actor=office.reviewer,
            now=NOW,
            max_bytes=1024 * 1024,
        )
        session.commit()
        return waiver.id, document.id


def test_new_versions_of_one_document_sent_at_once_make_one_chain(office: Office):
    waiver_id, first = _letter(office)
    clients = [office.client(office.reviewer) for _ in range(AT_ONCE)]
    files = [big_pdf(600_000 + n) for n in range(AT_ONCE)]  # two chunks each

    answers = at_once(
        [
            lambda c=client, f=data: upload(
                c, f"/documents/{first}/supersede", f, "letter-v2.pdf", kind="exemption_letter"
            )
            for client, data in zip(clients, files, strict=True)
        ]
    )

    statuses = sorted(a.status_code for a in answers)
    assert statuses == [302] + [422] * (AT_ONCE - 1)
    for answer in answers:
        if answer.status_code == 422:
            assert "was replaced by a newer version" in answer.get_data(as_text=True)
    versions = versions_of(office, waiver_id)
    assert len(versions) == 2
    old, new = versions
    assert old.superseded_by_id == new.id and new.is_current
    assert [d.id for d in versions if d.is_current] == [new.id]
    assert chunks_kept(office) == old.chunks + new.chunks  # nothing left of the refused ones


def test_a_withdrawal_and_a_new_version_sent_at_once_do_not_both_land(office: Office):
    waiver_id, first = _letter(office)
    replacing, withdrawing = office.client(office.reviewer), office.client(office.reviewer)

    answers = at_once(
        [
            lambda: (
                upload(
                    replacing, f"/documents/{first}/supersede", PDF, "v2.pdf", kind="approval"
                ).status_code
            ),
            lambda: (
                withdrawing.post(
                    f"/documents/{first}/withdraw", data={"reason": "Superseded by the annex."}
                ).status_code
            ),
        ]
    )

    assert sorted(answers) == [302, 422]
    versions = versions_of(office, waiver_id)
    old = versions[0]
    if old.is_withdrawn:
        assert len(versions) == 1 and old.superseded_by_id is None
    else:
        assert len(versions) == 2 and old.superseded_by_id == versions[1].id
        assert versions[1].is_current
    assert sum(1 for d in versions if d.is_current) == (0 if old.is_withdrawn else 1)


def test_the_first_photos_of_a_day_sent_at_once_make_one_log(office: Office):
    clients = [office.client(office.admin) for _ in range(AT_ONCE)]

    statuses = at_once(
        [
            lambda c=client, n=n: (
                upload(
                    c, "/documents/of/daily_log/2018-10-02", PDF, f"dip-{n}.pdf", kind="dip_photo"
                ).status_code
            )
            for n, client in enumerate(clients)
        ]
    )

    assert statuses == [302] * AT_ONCE
    with office.session() as session:
        logs = session.scalars(select(DailyLog).where(DailyLog.log_on == date(2018, 10, 2))).all()
        assert len(logs) == 1
        attached = session.scalars(select(Document.record_id)).all()
        assert attached == [logs[0].id] * AT_ONCE


def test_the_first_documents_of_a_review_thread_sent_at_once_open_one_item(office: Office):
    with office.session() as session:
        diesel = make_resource(session)
        entry = override(session, office.admin, capped_line(session, diesel, "100"))
    clients = [office.client(office.admin) for _ in range(AT_ONCE)]

    statuses = at_once(
        [
            lambda c=client: (
                upload(
                    c,
                    f"/documents/of/review_item/override-{entry.id}",
                    PDF,
                    "req.pdf",
                    kind="amendment",
                ).status_code
            )
            for client in clients
        ]
    )

    assert statuses == [302] * AT_ONCE
    with office.session() as session:
        items = session.scalars(select(ReviewItem).where(ReviewItem.source_id == entry.id)).all()
        assert len(items) == 1
        assert session.scalars(select(Document.record_id)).all() == [items[0].id] * AT_ONCE


def test_a_manifest_line_removed_while_a_document_is_attached_to_it_loses_none(office: Office):
    with office.session() as session:
        _delivery, line = delivery_with_line(session, make_resource(session))
    remover, attacher = office.client(office.admin), office.client(office.admin)

    removed, attached = at_once(
        [
            lambda: remover.post(f"/deliveries/lines/{line.id}/delete").status_code,
            lambda: (
                upload(
                    attacher,
                    f"/documents/of/delivery_line/{line.id}",
                    PDF,
                    "inv.pdf",
                    kind="invoice",
                ).status_code
            ),
        ]
    )

    assert removed == 302 and attached in (302, 404)
    with office.session() as session:
        still_there = session.get(DeliveryLine, line.id) is not None
        kept = session.scalar(select(func.count()).select_from(Document)) or 0
    # Either the document landed and the line stayed, or the line went and nothing landed.
    assert (still_there, kept, attached) in ((True, 1, 302), (False, 0, 404))
