"""Documents changed through the API at the same moment, committed for real on a database of
their own (on PostgreSQL the requests overlap), as tests/documents/test_concurrency.py does
through the pages: one document never has two current versions, a withdrawal and a new version
of one document do not both land, the first documents of a day or a review thread make one
log or one item, and a manifest line never loses a document to its removal. The loser is
refused plainly (409, or 404 for a line gone), never a 500, and leaves nothing stored."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date

from sqlalchemy import func, select
from werkzeug.test import TestResponse

from office.auth.models import User
from office.auth.permissions import Role
from office.documents.models import Document
from office.fuel.models import DailyLog
from office.reviews.models import ReviewItem
from office.supplies.models import DeliveryLine
from tests.api.conftest import API, token_of
from tests.api.document_calls import Form, attached
from tests.concurrency import Office, at_once
from tests.documents.arrange import PDF, big_pdf, chunks_kept, delivery_with_line, versions_of
from tests.factories import make_resource, make_user, make_waiver
from tests.reviews.arrange import capped_line, override

AT_ONCE = 4


def _letter(office: Office) -> tuple[int, int]:
    """A waiver with its letter attached; (waiver id, document id)."""
    with office.session() as session:
        waiver = make_waiver(session, [(make_resource(session), "L", "1000", "1000")])
        document = attached(session, waiver, session.get(User, office.reviewer.id))
        return waiver.id, document.id


def _tokens(office: Office, role: Role, n: int) -> list[str]:
    with office.session() as session:
        users = [make_user(session, role, name=f"{role.value} {k}") for k in range(n)]
    return [token_of(office, user) for user in users]


def _form(office: Office, token: str, path: str, form: Form) -> Callable[[], TestResponse]:
    body, content_type = form.encoded()
    client = office.app.test_client()
    headers = {"Authorization": f"Bearer {token}", "Accept-Language": "en"}
    return lambda: client.post(API + path, data=body, headers=headers, content_type=content_type)


def _json(office: Office, token: str, path: str, body: object) -> Callable[[], TestResponse]:
    client = office.app.test_client()
    headers = {"Authorization": f"Bearer {token}", "Accept-Language": "en"}
    data = json.dumps(body)
    return lambda: client.post(
        API + path, data=data, headers=headers, content_type="application/json"
    )


def test_new_versions_of_one_document_sent_at_once_make_one_chain(office: Office):
    waiver_id, first = _letter(office)
    tokens = _tokens(office, Role.REVIEWER, AT_ONCE)
    files = [big_pdf(600_000 + n) for n in range(AT_ONCE)]  # two chunks each

    answers = at_once(
        [
            _form(office, token, f"/documents/{first}/supersede", Form(data=data))
            for token, data in zip(tokens, files, strict=True)
        ]
    )

    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201] + [409] * (AT_ONCE - 1)
    for answer in answers:
        if answer.status_code == 409:
            assert "was replaced by a newer version" in answer.get_json()["detail"]
    versions = versions_of(office, waiver_id)
    assert len(versions) == 2
    old, new = versions
    assert old.superseded_by_id == new.id and new.is_current
    (won,) = [a.get_json() for a in answers if a.status_code == 201]
    assert (won["id"], won["supersedes"]) == (new.id, old.id)
    assert chunks_kept(office) == old.chunks + new.chunks  # nothing left of the refused ones


def test_a_withdrawal_and_a_new_version_sent_at_once_do_not_both_land(office: Office):
    waiver_id, first = _letter(office)
    replacing, withdrawing = _tokens(office, Role.REVIEWER, 2)

    answers = at_once(
        [
            _form(office, replacing, f"/documents/{first}/supersede", Form({"kind": "approval"})),
            _json(office, withdrawing, f"/documents/{first}/withdraw", {"reason": "The annex."}),
        ]
    )

    statuses = [a.status_code for a in answers]
    assert statuses in ([201, 409], [409, 200])
    versions = versions_of(office, waiver_id)
    old = versions[0]
    if old.is_withdrawn:
        assert statuses == [409, 200]
        assert len(versions) == 1 and old.superseded_by_id is None
    else:
        assert statuses == [201, 409]
        assert len(versions) == 2 and old.superseded_by_id == versions[1].id
        assert versions[1].is_current
    assert chunks_kept(office) == sum(d.chunks for d in versions)


def test_the_first_photos_of_a_day_sent_at_once_make_one_log(office: Office):
    tokens = _tokens(office, Role.ADMIN, AT_ONCE)
    form = Form({"record_type": "daily_log", "key": "2018-10-02", "kind": "dip_photo"}, PDF)

    answers = at_once([_form(office, token, "/documents", form) for token in tokens])

    assert [a.status_code for a in answers] == [201] * AT_ONCE
    with office.session() as session:
        logs = session.scalars(select(DailyLog).where(DailyLog.log_on == date(2018, 10, 2))).all()
        assert len(logs) == 1
        assert session.scalars(select(Document.record_id)).all() == [logs[0].id] * AT_ONCE


def test_the_first_documents_of_a_review_thread_sent_at_once_open_one_item(office: Office):
    with office.session() as session:
        entry = override(session, office.admin, capped_line(session, make_resource(session), "100"))
    tokens = _tokens(office, Role.ADMIN, AT_ONCE)
    form = Form({"record_type": "review_item", "key": f"override-{entry.id}", "kind": "amendment"})

    answers = at_once([_form(office, token, "/documents", form) for token in tokens])

    assert [a.status_code for a in answers] == [201] * AT_ONCE
    with office.session() as session:
        items = session.scalars(select(ReviewItem).where(ReviewItem.source_id == entry.id)).all()
        assert len(items) == 1
        assert session.scalars(select(Document.record_id)).all() == [items[0].id] * AT_ONCE


def test_a_manifest_line_removed_while_a_document_is_attached_to_it_loses_none(office: Office):
    with office.session() as session:
        _delivery, line = delivery_with_line(session, make_resource(session))
    (token,) = _tokens(office, Role.ADMIN, 1)
    remover = office.client(office.admin)
    form = Form({"record_type": "delivery_line", "key": str(line.id), "kind": "invoice"})

    removed, attached_now = at_once(
        [
            lambda: remover.post(f"/deliveries/lines/{line.id}/delete"),
            _form(office, token, "/documents", form),
        ]
    )

    assert removed.status_code == 302 and attached_now.status_code in (201, 404)
    with office.session() as session:
        still_there = session.get(DeliveryLine, line.id) is not None
        kept = session.scalar(select(func.count()).select_from(Document)) or 0
    # Either the document landed and the line stayed, or the line went and nothing landed.
    assert (still_there, kept, attached_now.status_code) in ((True, 1, 201), (False, 0, 404))
