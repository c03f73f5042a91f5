"""Documents through the API: the pages' services under the pages' rules, so a file attached,
replaced or withdrawn with a token ends as it does on the page; a refusal says what the page
says and stores nothing; a document is there for who sees its record, and 404 for anyone else."""

from __future__ import annotations

import html
from datetime import date

import pytest
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from office.audit.models import AuditEvent
from office.auth.permissions import Role
from office.documents import queries
from office.documents.models import Document, RecordType
from office.fuel.models import DailyLog
from office.repairs import services as repairs
from office.reviews.models import ReviewItem
from office.waivers.models import Waiver
from tests.api.conftest import API, ApiClient, assert_problem
from tests.api.document_calls import Form, attached, letter_form
from tests.conftest import log_in
from tests.documents.arrange import (
    CSV,
    HTML,
    PDF,
    PNG,
    big_pdf,
    delivery_with_line,
    fetch,
    sha256,
    stored,
    upload,
)
from tests.documents.test_documents import BAD_FILES
from tests.factories import NOW, make_waiver
from tests.reviews.arrange import capped_line, override


@pytest.fixture
def waiver(session, diesel) -> Waiver:
    return make_waiver(session, [(diesel, "L", "1000", "1000")], reference="1718-2018-07")


def send(api: ApiClient, path: str, form: Form, key: str | None = None) -> TestResponse:
    body, content_type = form.encoded()
    headers = {"Idempotency-Key": key} if key is not None else None
    return api.post(path, raw=body, content_type=content_type, headers=headers)


def file_of(api: ApiClient, document_id: int) -> TestResponse:
    return api.client.get(f"{API}/documents/{document_id}/file", headers=api.headers, buffered=True)


def audit_events(session) -> int:
    return (
        session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action.like("document.%"))
        )
        or 0
    )


# --- the round trip ---------------------------------------------------------------------------


def test_a_letter_attached_with_a_token_comes_back_byte_for_byte_as_the_page_sends_it(
    client, session, reviewer_api, waiver
):
    response = send(reviewer_api, "/documents", letter_form(waiver))

    assert response.status_code == 201, response.get_json()
    shown = response.get_json()
    document = session.get(Document, shown["id"])
    assert response.headers["Location"] == f"{API}/documents/{document.id}"
    assert shown == {
        "id": document.id,
        "record": {
            "type": "waiver",
            "key": str(waiver.id),
            "name": "Waiver 1718-2018-07",
            "page": f"/waivers/{waiver.id}",
        },
        "title": "Exemption letter",
        "kind": "exemption_letter",
        "filename": "letter.pdf",
        "media_type": "application/pdf",
        "size": len(PDF),
        "sha256": sha256(PDF),
        "uploaded_at": shown["uploaded_at"],
        "uploaded_by": reviewer_api.user.display_name,
        "state": "current",
        "withdrawn_at": None,
        "withdrawn_by": None,
        "withdrawn_reason": None,
        "supersedes": None,
        "superseded_by": None,
        "url": f"{API}/documents/{document.id}",
        "file_url": f"{API}/documents/{document.id}/file",
        "page": f"/documents/{document.id}",
    }
    assert reviewer_api.get(f"/documents/{document.id}").get_json() == shown
    # The file as the page sends it: the same bytes and the same headers.
    by_token = file_of(reviewer_api, document.id)
    log_in(client, reviewer_api.user)
    by_page = fetch(client, f"/documents/{document.id}/file")
    assert by_token.status_code == by_page.status_code == 200
    assert by_token.get_data() == by_page.get_data() == PDF
    for header in (
        "Content-Type",
        "Content-Length",
        "Content-Disposition",
        "X-Content-Type-Options",
        "Content-Security-Policy",
        "Repr-Digest",
    ):
        assert by_token.headers[header] == by_page.headers[header], header
    assert by_token.headers["Content-Disposition"].startswith("attachment;")
    assert by_token.headers["X-Content-Type-Options"] == "nosniff"
    event = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "document.attached")
    ).one()
    assert event.actor_id == reviewer_api.user.id and event.detail["sha256"] == sha256(PDF)


def test_a_csv_keeps_the_type_decided_at_upload(session, reviewer_api, waiver):
    shown = send(
        reviewer_api, "/documents", letter_form(waiver, data=CSV, filename="lines.csv")
    ).get_json()

    sent = file_of(reviewer_api, shown["id"])

    assert shown["media_type"] == "text/csv"
    assert sent.mimetype == "text/csv" and sent.get_data() == CSV


def test_a_record_is_listed_as_its_page_lists_it(client, session, reviewer_api, waiver):
    kept = send(reviewer_api, "/documents", letter_form(waiver)).get_json()
    wrong = send(reviewer_api, "/documents", letter_form(waiver, fields={"title": "Wrong"}))
    wrong_id = wrong.get_json()["id"]
    newer = send(
        reviewer_api, f"/documents/{kept['id']}/supersede", Form(data=PNG, filename="s.png")
    )
    reviewer_api.post(f"/documents/{wrong_id}/withdraw", {"reason": "Another waiver's."})

    listed = reviewer_api.get("/documents", {"record_type": "waiver", "key": str(waiver.id)})

    assert listed.status_code == 200
    body = listed.get_json()
    shelf = queries.shelf(session, RecordType.WAIVER, waiver.id)
    assert [d["id"] for d in body["items"]] == [d.id for d in shelf.shown]
    assert [d["id"] for d in body["items"]] == [newer.get_json()["id"], wrong_id]
    current, withdrawn = body["items"]
    assert (current["state"], current["supersedes"], current["title"]) == (
        "current",
        kept["id"],
        "Exemption letter",  # the old version's title, none given
    )
    assert (withdrawn["state"], withdrawn["withdrawn_reason"]) == ("withdrawn", "Another waiver's.")
    old = reviewer_api.get(f"/documents/{kept['id']}").get_json()
    assert (old["state"], old["superseded_by"]) == ("superseded", current["id"])
    log_in(client, reviewer_api.user)
    page = client.get(f"/documents/of/waiver/{waiver.id}").get_data(as_text=True)
    assert f"/documents/{current['id']}" in page and f"/documents/{wrong_id}" in page


def test_a_customs_declaration_is_attached_to_a_delivery_with_a_token(
    client, session, admin_api, diesel
):
    delivery, _line = delivery_with_line(session, diesel)
    form = Form(
        {"record_type": "delivery", "key": str(delivery.id), "kind": "customs_declaration"},
        filename="declaration.pdf",
    )

    response = send(admin_api, "/documents", form)

    assert response.status_code == 201
    assert response.get_json()["record"]["page"] == f"/deliveries/{delivery.id}"
    log_in(client, admin_api.user)
    assert "declaration" in client.get(f"/deliveries/{delivery.id}").get_data(as_text=True)


def test_the_first_photo_of_a_day_makes_its_log_and_names_it(session, admin_api):
    form = Form({"record_type": "daily_log", "key": "2018-10-02", "kind": "dip_photo"})

    response = send(admin_api, "/documents", form)

    assert response.status_code == 201
    log = session.scalars(select(DailyLog).where(DailyLog.log_on == date(2018, 10, 2))).one()
    assert session.get(Document, response.get_json()["id"]).record_id == log.id
    assert response.get_json()["record"]["key"] == "2018-10-02"


def test_a_document_of_a_review_thread_is_read_from_the_item_with_the_token(
    session, admin, admin_api, reviewer_api, diesel
):
    entry = override(session, admin, capped_line(session, diesel, "100"))
    form = Form({"record_type": "review_item", "key": f"override-{entry.id}", "kind": "amendment"})

    attached_now = send(admin_api, "/documents", form)

    assert attached_now.status_code == 201
    assert session.scalars(select(ReviewItem).where(ReviewItem.source_id == entry.id)).one()
    item = reviewer_api.get(f"/reviews/items/override/{entry.id}").get_json()
    (listed,) = item["documents"]
    assert listed["download_url"] == f"{API}/documents/{listed['id']}/file"
    assert listed["url"] == f"{API}/documents/{listed['id']}"
    downloaded = reviewer_api.client.get(
        listed["download_url"], headers=reviewer_api.headers, buffered=True
    )
    assert downloaded.status_code == 200 and downloaded.get_data() == PDF


# --- replacing and withdrawing ----------------------------------------------------------------


def test_a_new_version_supersedes_the_old_once(session, reviewer, reviewer_api, waiver):
    first = attached(session, waiver, reviewer)

    new = send(reviewer_api, f"/documents/{first.id}/supersede", Form({"title": "Signed"}))
    again = send(reviewer_api, f"/documents/{first.id}/supersede", Form())

    assert new.status_code == 201
    shown = new.get_json()
    assert new.headers["Location"] == f"{API}/documents/{shown['id']}"
    assert (shown["title"], shown["kind"], shown["supersedes"]) == (
        "Signed",
        "exemption_letter",
        first.id,
    )
    problem = assert_problem(again, 409)
    assert "was replaced by a newer version" in problem["detail"]
    assert stored(session)[0] == 2


def test_a_withdrawn_document_is_the_reviewers_to_read_as_on_the_page(
    session, reviewer, reviewer_api, admin_api, waiver
):
    document = attached(session, waiver, reviewer)

    empty = reviewer_api.post(f"/documents/{document.id}/withdraw", {"reason": "  "})
    done = reviewer_api.post(f"/documents/{document.id}/withdraw", {"reason": "Wrong waiver."})
    again = reviewer_api.post(f"/documents/{document.id}/withdraw", {"reason": "Again."})
    replaced = send(reviewer_api, f"/documents/{document.id}/supersede", Form())

    assert assert_problem(empty, 422)["errors"] == {
        "reason": ["Say why the document is withdrawn."]
    }
    assert done.status_code == 200
    assert (done.get_json()["state"], done.get_json()["withdrawn_reason"]) == (
        "withdrawn",
        "Wrong waiver.",
    )
    assert "was withdrawn on" in assert_problem(again, 409)["detail"]
    assert "was withdrawn on" in assert_problem(replaced, 409)["detail"]
    assert file_of(reviewer_api, document.id).get_data() == PDF
    as_admin = admin_api.get(f"/documents/{document.id}").get_json()
    assert as_admin["file_url"] is None
    refused = assert_problem(file_of(admin_api, document.id), 403)
    assert "Only the ministry's reviewers may still open it." in refused["detail"]
    session.refresh(document)
    assert document.withdrawn_reason == "Wrong waiver." and stored(session)[0] == 1


# --- refusals, as the page's ------------------------------------------------------------------


@pytest.mark.parametrize(("data", "filename", "message"), BAD_FILES)
def test_a_bad_file_is_refused_as_the_page_refuses_it_and_nothing_is_stored(
    client, session, reviewer_api, waiver, data, filename, message
):
    log_in(client, reviewer_api.user)

    by_token = send(reviewer_api, "/documents", letter_form(waiver, data=data, filename=filename))
    by_page = upload(
        client, f"/documents/of/waiver/{waiver.id}", data, filename, kind="exemption_letter"
    )

    problem = assert_problem(by_token, 422)
    (said,) = problem["errors"]["file"]
    assert message in said
    assert by_page.status_code == 422 and said in html.unescape(by_page.get_data(as_text=True))
    assert stored(session) == (0, 0) and audit_events(session) == 0


def test_a_kind_the_record_does_not_take_is_refused_with_the_pages_message(
    session, reviewer_api, waiver
):
    response = send(reviewer_api, "/documents", letter_form(waiver, fields={"kind": "dip_photo"}))

    assert assert_problem(response, 422)["errors"] == {
        "kind": ["Choose what kind of document this is."]
    }
    assert stored(session) == (0, 0)


def test_a_file_over_the_limit_is_refused_and_a_request_far_over_it_is_413(
    app, session, reviewer_api, waiver
):
    app.config["OFFICE_MAX_UPLOAD_MB"] = 1  # an upload may be 2 MB, its form included
    over = letter_form(waiver, data=big_pdf(1024 * 1024 + 1), filename="big.pdf")
    far_over = letter_form(waiver, data=big_pdf(3 * 1024 * 1024), filename="huge.pdf")

    refused = assert_problem(send(reviewer_api, "/documents", over), 422)
    too_large = assert_problem(send(reviewer_api, "/documents", far_over), 413)

    assert "big.pdf is larger than 1 MB" in refused["errors"]["file"][0]
    assert "files of up to 1 MB" in too_large["detail"]
    assert stored(session) == (0, 0)


def test_an_upload_may_be_larger_than_any_other_api_request(app, session, reviewer_api, waiver):
    app.config["OFFICE_MAX_UPLOAD_MB"] = 4
    app.config["MAX_CONTENT_LENGTH"] = 2 * 1024 * 1024
    data = big_pdf(3 * 1024 * 1024)

    attached_now = send(reviewer_api, "/documents", letter_form(waiver, data=data))
    elsewhere = reviewer_api.post("/resources", {"code": "x" * (3 * 1024 * 1024)})

    assert attached_now.status_code == 201
    assert file_of(reviewer_api, attached_now.get_json()["id"]).get_data() == data
    assert_problem(elsewhere, 413)


def test_a_body_that_is_no_form_or_lacks_its_file_is_refused(session, reviewer_api, waiver):
    as_json = reviewer_api.post("/documents", {"record_type": "waiver", "key": str(waiver.id)})
    body, content_type = Form().encoded()
    no_file = reviewer_api.post(
        "/documents",
        raw=body.replace(b'name="file"', b'name="attachment"'),
        content_type=content_type,
    )
    unknown = send(reviewer_api, "/documents", letter_form(waiver, fields={"colour": "red"}))

    assert "multipart/form-data" in assert_problem(as_json, 415)["detail"]
    errors = assert_problem(no_file, 422)["errors"]
    assert errors["file"] == ["Choose the file to attach."]
    assert set(errors) >= {"record_type", "key"}
    assert assert_problem(unknown, 422)["errors"] == {
        "colour": ["This field is not part of the request."]
    }
    assert stored(session) == (0, 0)


# --- who sees, who changes ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "reads", "changes"),
    [
        (Role.SCHEDULER, 404, 404),  # may not see waivers: not there for them
        (Role.ADMIN, 200, 403),  # sees the waiver, may not change it
        (Role.REVIEWER, 200, None),
    ],
)
def test_a_document_is_there_for_who_sees_its_record_and_changed_by_who_may_change_it(
    session, reviewer, api_as, waiver, role, reads, changes
):
    document = attached(session, waiver, reviewer)
    api = api_as(role)
    before = stored(session)

    assert api.get(f"/documents/{document.id}").status_code == reads
    assert file_of(api, document.id).status_code == reads
    listed = api.get("/documents", {"record_type": "waiver", "key": str(waiver.id)})
    assert listed.status_code == reads
    if changes is None:
        return
    for response in (
        send(api, "/documents", letter_form(waiver)),
        send(api, f"/documents/{document.id}/supersede", Form()),
        api.post(f"/documents/{document.id}/withdraw", {"reason": "Not ours."}),
    ):
        assert_problem(response, changes)
    session.refresh(document)
    assert document.is_current and stored(session) == before


def test_a_reviewer_reads_a_work_orders_documents_but_attaches_none(
    session, admin_api, reviewer_api
):
    order = repairs.save_work_order(
        session,
        number="W-DOC-API",
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
    form = Form({"record_type": "work_order", "key": str(order.id), "kind": "quote"})

    assert send(admin_api, "/documents", form).status_code == 201
    assert assert_problem(send(reviewer_api, "/documents", form), 403)
    listed = reviewer_api.get("/documents", {"record_type": "work_order", "key": str(order.id)})
    assert len(listed.get_json()["items"]) == 1


def test_unknown_records_and_documents_are_404(reviewer_api, session):
    for query in (
        {"record_type": "waiver", "key": "999999"},
        {"record_type": "unknown", "key": "1"},
        {"record_type": "review_item", "key": "override-999999"},
        {"record_type": "daily_log", "key": "2099-01-01"},
    ):
        assert_problem(reviewer_api.get("/documents", query), 404)
    for path in ("/documents/999999", "/documents/999999/file"):
        assert_problem(reviewer_api.get(path), 404)
    form = Form({"record_type": "waiver", "key": "999999", "kind": "approval"})
    assert_problem(send(reviewer_api, "/documents", form), 404)
    assert stored(session) == (0, 0)


# --- Idempotency-Key with a form --------------------------------------------------------------


def test_a_form_sent_again_with_its_key_under_another_boundary_is_attached_once(
    session, reviewer_api, waiver
):
    form = letter_form(waiver)
    key = '"letter-1"'

    first = send(reviewer_api, "/documents", form, key)
    again = send(reviewer_api, "/documents", form, key)  # a new boundary, the same form
    other = send(reviewer_api, "/documents", letter_form(waiver, data=HTML), key)
    other_file = send(reviewer_api, "/documents", letter_form(waiver, data=PDF + b"\n"), key)

    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert_problem(other, 422)
    assert_problem(other_file, 422)
    assert stored(session)[0] == 1


def test_the_key_of_a_refused_upload_stays_unused(session, reviewer_api, waiver):
    key = '"letter-2"'

    refused = send(reviewer_api, "/documents", letter_form(waiver, data=HTML), key)
    accepted = send(reviewer_api, "/documents", letter_form(waiver, data=HTML), key)

    assert_problem(refused, 422)
    assert_problem(accepted, 422)  # refused again, not replayed: nothing was kept
    assert "Idempotent-Replayed" not in accepted.headers
    assert stored(session) == (0, 0)
