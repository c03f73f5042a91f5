"""Documents attached to records: what goes in comes out byte for byte, under its SHA-256;
a file is replaced or withdrawn, never changed; bad files are refused with a message and
leave nothing behind; a document is seen by who sees its record."""

from __future__ import annotations

import base64
from datetime import date

import pytest
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import DBAPIError

from office.audit.models import AuditEvent
from office.auth.permissions import Role
from office.documents import content
from office.documents.models import Document, DocumentChunk, RecordType
from office.errors import InvalidInput
from office.fuel.models import DailyLog
from office.repairs import services as repairs
from office.reviews.models import ItemKind, ReviewItem
from office.waivers.models import Waiver
from tests.conftest import log_in
from tests.documents.arrange import (
    CSV,
    DOCX,
    HEIC,
    HTML,
    JPEG,
    OLE2,
    PDF,
    PNG,
    PPTX,
    XLSX,
    big_pdf,
    delivery_with_line,
    fetch,
    ooxml,
    sha256,
    stored,
    upload,
)
from tests.factories import NOW, make_user, make_waiver
from tests.reviews.arrange import capped_line, override


@pytest.fixture
def waiver(session, diesel) -> Waiver:
    return make_waiver(session, [(diesel, "L", "1000", "1000")], reference="1718-2018-07")


def waiver_url(waiver: Waiver) -> str:
    return f"/documents/of/waiver/{waiver.id}"


def attach_letter(client, waiver, data=PDF, filename="letter.pdf", title="Exemption letter"):
    return upload(client, waiver_url(waiver), data, filename, kind="exemption_letter", title=title)


def only_document(session) -> Document:
    session.expire_all()
    return session.scalars(select(Document).order_by(Document.id.desc())).first()


# --- the round trip ---------------------------------------------------------------------------


def test_a_letter_attached_to_a_waiver_comes_back_byte_for_byte_under_its_sha256(
    client, session, reviewer, waiver
):
    log_in(client, reviewer)

    response = attach_letter(client, waiver)

    assert response.status_code == 302
    assert response.headers["Location"] == f"/waivers/{waiver.id}#documents"
    document = only_document(session)
    assert document.sha256 == sha256(PDF) and document.size == len(PDF)
    assert document.media_type == "application/pdf" and document.filename == "letter.pdf"
    page = client.get(f"/waivers/{waiver.id}").get_data(as_text=True)
    assert "Exemption letter" in page and f"/documents/{document.id}/file" in page
    download = fetch(client, f"/documents/{document.id}/file")
    body = download.get_data()
    assert body == PDF and sha256(body) == document.sha256
    digest = base64.b64encode(bytes.fromhex(document.sha256)).decode()
    assert download.headers["Repr-Digest"] == f"sha-256=:{digest}:"
    event = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "document.attached")
    ).one()
    assert event.detail["sha256"] == document.sha256
    assert event.object_type == "Document" and event.object_id == str(document.id)


def test_a_file_is_served_as_a_download_that_no_browser_renders_as_a_page(
    client, session, reviewer, waiver
):
    log_in(client, reviewer)
    attach_letter(client, waiver, filename="면제 서한 (최종) 100%.pdf")
    document = only_document(session)

    response = fetch(client, f"/documents/{document.id}/file")
    response.get_data()

    assert response.mimetype == "application/pdf"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Length"] == str(len(PDF))
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="')
    assert 'filename="__ __ (__) 100_.pdf"' in disposition  # ASCII only, for old clients
    assert (
        "filename*=UTF-8''%EB%A9%B4%EC%A0%9C%20%EC%84%9C%ED%95%9C%20%28%EC%B5%9C%EC%A2%85%29"
        "%20100%25.pdf" in disposition
    )
    assert "sandbox" in response.headers["Content-Security-Policy"]
    assert "no-store" in response.headers["Cache-Control"]
    opened = fetch(client, f"/documents/{document.id}/view")  # a PDF, in the browser's viewer
    assert opened.mimetype == "application/pdf" and opened.get_data() == PDF
    assert opened.headers["Content-Disposition"].startswith("inline;")
    assert "sandbox" in opened.headers["Content-Security-Policy"]
    assert opened.headers["X-Content-Type-Options"] == "nosniff"


def test_an_image_is_shown_in_its_page_and_a_csv_only_downloads(client, session, admin):
    log_in(client, admin)
    order = repairs.save_work_order(
        session,
        number="W-DOC-1",
        area="power",
        room="",
        description="Cabling",
        contractor="",
        budget_krw="1000",
        funding_decision="",
        planned_start=date(2018, 10, 1),
        planned_end=date(2018, 10, 2),
        actor=None,
        now=NOW,
    )
    session.commit()
    url = f"/documents/of/work_order/{order.id}"
    assert upload(client, url, PNG, "site.png", kind="photo").status_code == 302
    photo = only_document(session)
    assert upload(client, url, CSV, "costs.csv", kind="other").status_code == 302
    table = only_document(session)

    page = client.get(f"/repairs/{order.id}").get_data(as_text=True)
    preview = fetch(client, f"/documents/{photo.id}/view")
    csv_view = fetch(client, f"/documents/{table.id}/view")
    csv_file = fetch(client, f"/documents/{table.id}/file")

    assert f'<img src="/documents/{photo.id}/view"' in page
    assert preview.mimetype == "image/png" and preview.get_data() == PNG
    assert preview.headers["Content-Disposition"].startswith("inline;")
    assert preview.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert csv_view.status_code == 404
    assert csv_file.mimetype == "text/csv" and csv_file.get_data() == CSV
    assert photo.title == "site"  # a blank title is the file's name without its extension


def test_a_file_of_several_megabytes_is_stored_and_sent_in_chunks(
    client, session, reviewer, waiver
):
    data = big_pdf(3 * 1024 * 1024 + 5)
    log_in(client, reviewer)

    assert attach_letter(client, waiver, data=data, filename="scan.pdf").status_code == 302

    document = only_document(session)
    chunks = session.scalars(
        select(func.length(DocumentChunk.data))
        .where(DocumentChunk.document_id == document.id)
        .order_by(DocumentChunk.seq)
    ).all()
    assert document.chunks == len(chunks) == 7
    assert set(chunks[:-1]) == {content.CHUNK_SIZE} and chunks[-1] == 5
    response = client.get(f"/documents/{document.id}/file", buffered=False)
    pieces = list(response.response)
    response.close()
    assert len(pieces) == 7 and b"".join(pieces) == data


# --- every record that takes documents -----------------------------------------------------


def test_each_kind_of_record_takes_documents_on_its_page(client, session, admin, diesel):
    """A delivery, a manifest line, a work order, a day (its log made on the first one) and
    a review thread (its item opened by the first one)."""
    log_in(client, admin)
    delivery, line = delivery_with_line(session, diesel)
    entry = override(session, admin, capped_line(session, diesel, "100"))
    day = date(2018, 10, 2)
    assert session.scalar(select(DailyLog).where(DailyLog.log_on == day)) is None
    cases = [
        (
            f"/documents/of/delivery/{delivery.id}",
            "customs_declaration",
            f"/deliveries/{delivery.id}",
        ),
        (f"/documents/of/delivery_line/{line.id}", "invoice", f"/deliveries/{delivery.id}"),
        ("/documents/of/daily_log/2018-10-02", "dip_photo", "/operations/days/2018-10-02"),
        (
            f"/documents/of/review_item/override-{entry.id}",
            "amendment",
            f"/reviews/items/override/{entry.id}",
        ),
    ]
    for url, kind, page in cases:
        response = upload(client, url, PDF, f"{kind}.pdf", kind=kind, title=f"The {kind}")
        assert response.status_code == 302, url
        assert response.headers["Location"].startswith(page)
        assert f"The {kind}" in client.get(page).get_data(as_text=True), page

    log = session.scalar(select(DailyLog).where(DailyLog.log_on == day))
    item = session.scalar(select(ReviewItem).where(ReviewItem.source_id == entry.id))
    assert log is not None and item is not None and item.kind is ItemKind.OVERRIDE
    records = {(d.record_type, d.record_id) for d in session.scalars(select(Document))}
    assert records == {
        (RecordType.DELIVERY, delivery.id),
        (RecordType.DELIVERY_LINE, line.id),
        (RecordType.DAILY_LOG, log.id),
        (RecordType.REVIEW_ITEM, item.id),
    }


def test_a_kind_the_record_does_not_take_is_refused(client, session, reviewer, waiver):
    log_in(client, reviewer)

    response = upload(client, waiver_url(waiver), PDF, "x.pdf", kind="dip_photo")

    assert response.status_code == 422
    assert stored(session) == (0, 0)


# --- versions ---------------------------------------------------------------------------------


def test_a_new_version_supersedes_the_old_which_stays_readable(client, session, reviewer, waiver):
    log_in(client, reviewer)
    attach_letter(client, waiver)
    old = only_document(session)
    amended = big_pdf(2000)

    response = upload(
        client, f"/documents/{old.id}/supersede", amended, "letter-v2.pdf", kind="exemption_letter"
    )

    new = only_document(session)
    assert response.status_code == 302 and response.headers["Location"] == f"/documents/{new.id}"
    session.refresh(old)
    assert old.superseded_by_id == new.id and new.is_current and not old.is_current
    assert new.title == "Exemption letter"  # kept from the version it replaces
    assert fetch(client, f"/documents/{old.id}/file").get_data() == PDF
    assert fetch(client, f"/documents/{new.id}/file").get_data() == amended
    page = client.get(f"/documents/{new.id}").get_data(as_text=True)
    assert "letter.pdf" in page and "letter-v2.pdf" in page  # both versions listed
    again = upload(client, f"/documents/{old.id}/supersede", PDF, "v3.pdf", kind="approval")
    assert again.status_code == 422  # only the current version is replaced
    assert "was replaced by a newer version" in again.get_data(as_text=True)
    assert stored(session)[0] == 2


def test_a_withdrawn_document_stays_readable_for_reviewers_and_shows_why_to_others(
    client, session, reviewer, admin, waiver
):
    log_in(client, reviewer)
    attach_letter(client, waiver)
    document = only_document(session)

    response = client.post(
        f"/documents/{document.id}/withdraw", data={"reason": "Sent to the wrong waiver."}
    )

    assert response.status_code == 302
    session.refresh(document)
    assert document.is_withdrawn and document.withdrawn_reason == "Sent to the wrong waiver."
    assert fetch(client, f"/documents/{document.id}/file").get_data() == PDF
    office = make_user(session, Role.ADMIN)
    log_in(client, office)
    page = client.get(f"/waivers/{waiver.id}").get_data(as_text=True)
    assert "Sent to the wrong waiver." in page and "withdrawn" in page
    assert f"/documents/{document.id}/file" not in page
    refused = fetch(client, f"/documents/{document.id}/file")
    assert refused.status_code == 403
    assert "Only the ministry" in refused.get_data(as_text=True)
    event = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "document.withdrawn")
    ).one()
    assert event.detail["reason"] == "Sent to the wrong waiver."


def test_a_withdrawal_needs_its_reason(client, session, reviewer, waiver):
    log_in(client, reviewer)
    attach_letter(client, waiver)
    document = only_document(session)

    response = client.post(f"/documents/{document.id}/withdraw", data={"reason": "  "})

    assert response.status_code == 422
    assert "Say why the document is withdrawn." in response.get_data(as_text=True)
    session.refresh(document)
    assert document.is_current


# --- bad files ------------------------------------------------------------------------------

BAD_FILES = [
    pytest.param(HTML, "letter.pdf", "letter.pdf is not a PDF", id="html-named-pdf"),
    pytest.param(PNG, "scan.pdf", "scan.pdf holds a PNG image, not a PDF", id="png-named-pdf"),
    pytest.param(b"", "empty.pdf", "empty.pdf is empty", id="empty"),
    pytest.param(b"MZ\x90\x00" + b"\x00" * 60, "setup.exe", "is not a kind of file", id="exe"),
    pytest.param(HTML, "page.html", "page.html is not a kind of file", id="html"),
    pytest.param(PDF, "letter", "but its name does not say so", id="no-extension"),
    pytest.param(PDF, "../../etc/letter.pdf", "may not hold a slash", id="path"),
    pytest.param(PDF, "letter\x07.pdf", "control character", id="control-character"),
    pytest.param(PDF, "invoice\u202efdp.exe", "control character", id="right-to-left-override"),
    pytest.param(PDF, "x" * 252 + ".pdf", "Shorten the file", id="long-name"),
    pytest.param(ooxml("word/document.xml", macros=True), "memo.docx", "macros", id="macros"),
    pytest.param(ooxml("content.xml"), "memo.docx", "is not a Word document", id="bare-zip"),
    pytest.param(
        "a,b\r\n가,나".encode("euc-kr"), "list.csv", "not a CSV file in UTF-8", id="euc-kr"
    ),
    pytest.param(b"a,b\r\n1,\x00", "list.csv", "not a CSV file in UTF-8", id="nul"),
    pytest.param(PDF, "table.csv", "holds a PDF, not a CSV file", id="pdf-named-csv"),
]


@pytest.mark.parametrize(("data", "filename", "message"), BAD_FILES)
def test_a_bad_file_is_refused_with_its_reason_and_nothing_is_stored(
    client, session, reviewer, waiver, data, filename, message
):
    log_in(client, reviewer)

    response = attach_letter(client, waiver, data=data, filename=filename)

    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert stored(session) == (0, 0)
    assert (
        session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action.like("document.%"))
        )
        == 0
    )


def test_a_file_over_the_limit_is_refused_and_a_request_far_over_it_is_413(
    app, client, session, reviewer, waiver
):
    app.config["OFFICE_MAX_UPLOAD_MB"] = 1  # an upload may be 2 MB, its form included
    log_in(client, reviewer)

    over = attach_letter(client, waiver, data=big_pdf(1024 * 1024 + 1), filename="big.pdf")
    far_over = attach_letter(client, waiver, data=big_pdf(3 * 1024 * 1024), filename="huge.pdf")

    assert over.status_code == 422
    assert "big.pdf is larger than 1 MB" in over.get_data(as_text=True)
    assert far_over.status_code == 413
    assert "files of up to 1 MB" in far_over.get_data(as_text=True)
    assert stored(session) == (0, 0)


def test_an_upload_may_be_larger_than_any_other_request(app, client, session, reviewer, waiver):
    """Other requests keep the app's limit (16 MB): a form or a JSON body that large is no
    honest request; only a document's upload may be as large as its setting."""
    app.config["OFFICE_MAX_UPLOAD_MB"] = 4
    app.config["MAX_CONTENT_LENGTH"] = 2 * 1024 * 1024
    log_in(client, reviewer)
    data = big_pdf(3 * 1024 * 1024)

    attached = attach_letter(client, waiver, data=data, filename="scan.pdf")
    elsewhere = client.post(f"/waivers/{waiver.id}", data={"title": "x" * (3 * 1024 * 1024)})

    assert attached.status_code == 302
    assert elsewhere.status_code == 413
    assert stored(session)[0] == 1


@pytest.mark.parametrize(
    ("data", "filename", "media_type"),
    [
        pytest.param(PDF, "a.pdf", "application/pdf", id="a.pdf"),
        pytest.param(JPEG, "a.JPG", "image/jpeg", id="a.JPG"),
        pytest.param(JPEG, "a.jpeg", "image/jpeg", id="a.jpeg"),
        pytest.param(PNG, "a.png", "image/png", id="a.png"),
        pytest.param(HEIC, "IMG_0001.HEIC", "image/heic", id="IMG_0001.HEIC"),
        pytest.param(DOCX, "a.docx", content.MEDIA_TYPES[content.FileKind.DOCX], id="a.docx"),
        pytest.param(XLSX, "a.xlsx", content.MEDIA_TYPES[content.FileKind.XLSX], id="a.xlsx"),
        pytest.param(PPTX, "a.pptx", content.MEDIA_TYPES[content.FileKind.PPTX], id="a.pptx"),
        pytest.param(OLE2, "a.doc", "application/msword", id="a.doc"),
        pytest.param(OLE2, "a.xls", "application/vnd.ms-excel", id="a.xls"),
        pytest.param(CSV, "a.csv", "text/csv", id="a.csv"),
    ],
)
def test_each_kind_of_file_kept_is_told_by_its_content(data, filename, media_type):
    import io

    checked = content.check(io.BytesIO(data), filename, max_bytes=1024 * 1024)

    assert checked.media_type == media_type and checked.size == len(data)
    assert checked.sha256 == sha256(data)


@pytest.mark.parametrize("name", ["C:\\scans\\letter.pdf", "a/b.pdf", "..", " ", "a\tb.pdf"])
def test_a_name_that_is_a_path_or_holds_a_control_character_is_refused(name):
    with pytest.raises(InvalidInput):
        content.clean_filename(name)


def test_a_name_sent_decomposed_is_kept_composed():
    import io

    checked = content.check(io.BytesIO(PDF), "\u1112\u1161\u11ab.pdf", max_bytes=1024 * 1024)

    assert checked.filename == "한.pdf"


# --- who may ---------------------------------------------------------------------------------


def test_a_document_of_a_record_the_reader_cannot_see_is_not_there_for_them(
    client, session, reviewer, waiver
):
    log_in(client, reviewer)
    attach_letter(client, waiver)
    document = only_document(session)
    log_in(client, make_user(session, Role.SCHEDULER))

    for url in (
        f"/documents/{document.id}",
        f"/documents/{document.id}/file",
        f"/documents/{document.id}/view",
        waiver_url(waiver),
    ):
        response = client.get(url)
        assert response.status_code == 404, url
    assert (
        client.post(f"/documents/{document.id}/withdraw", data={"reason": "x"}).status_code == 404
    )
    assert attach_letter(client, waiver).status_code == 404


def test_who_sees_a_record_but_may_not_change_it_reads_its_documents_and_attaches_none(
    client, session, reviewer, admin, waiver
):
    log_in(client, reviewer)
    attach_letter(client, waiver)
    document = only_document(session)
    log_in(client, admin)

    assert fetch(client, f"/documents/{document.id}/file").get_data() == PDF
    assert attach_letter(client, waiver).status_code == 403
    assert (
        upload(
            client, f"/documents/{document.id}/supersede", PDF, "b.pdf", kind="approval"
        ).status_code
        == 403
    )
    assert (
        client.post(f"/documents/{document.id}/withdraw", data={"reason": "x"}).status_code == 403
    )
    page = client.get(f"/waivers/{waiver.id}").get_data(as_text=True)
    assert "Attach a document" not in page
    session.refresh(document)
    assert document.is_current and stored(session)[0] == 1


def test_a_reviewer_reads_a_work_orders_documents_but_attaches_none(
    client, session, admin, reviewer
):
    order = repairs.save_work_order(
        session,
        number="W-DOC-2",
        area="power",
        room="",
        description="Cabling",
        contractor="",
        budget_krw="1000",
        funding_decision="",
        planned_start=date(2018, 10, 1),
        planned_end=date(2018, 10, 2),
        actor=None,
        now=NOW,
    )
    session.commit()
    url = f"/documents/of/work_order/{order.id}"
    log_in(client, admin)
    upload(client, url, PDF, "quote.pdf", kind="quote")
    log_in(client, reviewer)

    assert client.get(url).status_code == 200
    assert upload(client, url, PDF, "quote.pdf", kind="quote").status_code == 403


def test_unknown_records_and_documents_are_404(client, session, reviewer):
    log_in(client, reviewer)

    for url in (
        "/documents/of/waiver/999999",
        "/documents/of/unknown/1",
        "/documents/of/review_item/override-999999",
        "/documents/of/daily_log/2099-01-01",
        "/documents/999999",
        "/documents/999999/file",
    ):
        assert client.get(url).status_code == 404, url


# --- where documents show besides ----------------------------------------------------------


def test_a_review_item_shows_its_thread_documents_and_those_of_its_waiver_and_delivery(
    client, session, admin, reviewer, diesel
):
    line = capped_line(session, diesel, "100", reference="1718-2018-09")
    entry = override(session, admin, line)
    log_in(client, reviewer)
    upload(
        client,
        f"/documents/of/waiver/{line.waiver_id}",
        PDF,
        "l.pdf",
        kind="exemption_letter",
        title="The 1718 letter",
    )
    log_in(client, admin)
    thread = f"/documents/of/review_item/override-{entry.id}"
    upload(client, thread, PDF, "req.pdf", kind="amendment", title="Amendment request")

    page = client.get(f"/reviews/items/override/{entry.id}").get_data(as_text=True)

    assert "Documents behind this record" in page and "The 1718 letter" in page
    thread_part = page[page.index('data-testid="thread"') :]
    assert "attached a document" in thread_part and "Amendment request" in thread_part


def test_a_manifest_line_with_documents_stays_on_the_manifest(client, session, admin, diesel):
    _delivery, line = delivery_with_line(session, diesel)
    log_in(client, admin)
    upload(client, f"/documents/of/delivery_line/{line.id}", PDF, "inv.pdf", kind="invoice")

    response = client.post(f"/deliveries/lines/{line.id}/delete", follow_redirects=True)

    assert "Line 1 has documents attached" in response.get_data(as_text=True)
    session.expire_all()
    assert session.get(type(line), line.id) is not None


def test_the_monthly_report_lists_the_documents_behind_its_waivers_and_deliveries(
    client, session, admin, reviewer, diesel
):
    from tests.factories import draw

    line = capped_line(session, diesel, "1000", reference="1718-2018-11")
    draw(session, diesel, "10", line=line, on=date(2018, 10, 3))
    delivery, _line = delivery_with_line(session, diesel)
    log_in(client, reviewer)
    upload(
        client,
        f"/documents/of/waiver/{line.waiver_id}",
        PDF,
        "l.pdf",
        kind="exemption_letter",
        title="Letter of 1718-2018-11",
    )
    log_in(client, admin)
    upload(
        client,
        f"/documents/of/delivery/{delivery.id}",
        PDF,
        "c.pdf",
        kind="customs_declaration",
        title="Declaration of the delivery",
    )
    document = only_document(session)

    page = client.get("/reviews/reports/2018-10").get_data(as_text=True)

    assert "Letter of 1718-2018-11" in page and "Declaration of the delivery" in page
    assert document.sha256 in page


def test_the_audit_trail_names_a_document_and_its_sha256(client, session, reviewer, waiver):
    log_in(client, reviewer)
    attach_letter(client, waiver)
    document = only_document(session)

    page = client.get("/audit/").get_data(as_text=True)

    assert "Document attached" in page and document.sha256 in page


# --- Korean -----------------------------------------------------------------------------------


def test_the_documents_read_in_korean(client, session, reviewer, waiver):
    log_in(client, reviewer)
    attach_letter(client, waiver)
    document = only_document(session)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "ko"
    reviewer.language = None

    waiver_page = client.get(f"/waivers/{waiver.id}").get_data(as_text=True)
    detail = client.get(f"/documents/{document.id}").get_data(as_text=True)
    refused = attach_letter(client, waiver, data=HTML).get_data(as_text=True)

    assert "면제 서한" in waiver_page and "문서" in waiver_page
    assert "내려받기" in detail and "형식" in detail
    assert "letter.pdf" in refused and "PDF" in refused and "is not" not in refused


# --- the database keeps files as they are -------------------------------------------------


def test_the_database_refuses_to_change_or_remove_a_stored_file(client, session, reviewer, waiver):
    log_in(client, reviewer)
    attach_letter(client, waiver)
    document = only_document(session)
    attempts = [
        update(DocumentChunk).values(data=b"forged"),
        delete(DocumentChunk),
        update(Document).values(sha256="0" * 64),
        update(Document).values(record_id=document.record_id + 1),
        delete(Document),
    ]

    for statement in attempts:
        with pytest.raises(DBAPIError), session.begin_nested():
            session.execute(statement)

    assert session.execute(text("SELECT count(*) FROM document_chunks")).scalar() == 1


def test_the_largest_upload_is_a_setting(tmp_path):
    from office import config

    def load(**environ: str) -> dict:
        return config.load({"SECRET_KEY": "k" * 40, **environ}, tmp_path)

    assert load()["OFFICE_MAX_UPLOAD_MB"] == 25
    assert load(OFFICE_MAX_UPLOAD_MB="40")["OFFICE_MAX_UPLOAD_MB"] == 40
    for wrong in ("0", "201", "25MB"):
        with pytest.raises(config.ConfigError, match="OFFICE_MAX_UPLOAD_MB"):
            load(OFFICE_MAX_UPLOAD_MB=wrong)
