"""The review queue and each item's thread through the API: the same items, filters, steps and
refusals as the pages (tests/reviews), each refusal a problem that changes nothing."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from office.auth.permissions import Role
from office.documents import services as documents
from office.documents.demo import pdf_file
from office.documents.models import RecordType
from office.reviews import services as review_services
from office.reviews.models import ItemKind, ReviewAction, ReviewItem, ReviewNote, ReviewState
from tests.api.conftest import assert_problem
from tests.conftest import log_in
from tests.factories import NOW
from tests.reviews.arrange import (
    BAD_FILTERS,
    OCT,
    TODAY,
    acknowledge_all,
    act,
    item_of,
    one_of_each,
)
from tests.reviews.pages import read

K, A, S = ItemKind, ReviewAction, ReviewState


@pytest.fixture
def flagged(session, admin, diesel):
    return one_of_each(session, admin, diesel)


def notes(session) -> int:
    return session.scalar(select(func.count()).select_from(ReviewNote))


def item_path(kind: ItemKind, source_id: int) -> str:
    return f"/reviews/items/{kind.value}/{source_id}"


def keys(page) -> set[tuple[ItemKind, int]]:
    return {(ItemKind(i["kind"]), i["source_id"]) for i in page["items"]}


# --- the queue ----------------------------------------------------------------------------


def test_the_queue_lists_every_flagged_record_awaiting_review_and_leaves_out_the_rest(
    reviewer_api, flagged
):
    response = reviewer_api.get("/reviews/items")
    assert response.status_code == 200
    page = response.get_json()
    assert keys(page) == flagged.keys()
    assert page["next_cursor"] is None
    assert page["counts"]["open"] == 5 and page["counts"]["acknowledged"] == 0
    override = next(i for i in page["items"] if i["kind"] == "override")
    assert override["occurred_on"] == "2018-10-03"
    assert override["state"] == "open"
    assert override["title"].startswith("Entry ")
    assert override["url"] == "/api/v1" + item_path(K.OVERRIDE, flagged.override.id)
    assert override["record_page"] == f"/ledger/{flagged.override.id}"
    # Newest first, as the page lists them.
    days = [i["occurred_on"] for i in page["items"]]
    assert days == sorted(days, reverse=True)


def test_the_queue_filters_as_the_page_does(session, reviewer, reviewer_api, flagged):
    act(session, K.DIP_VARIANCE, flagged.dip.id, A.ACKNOWLEDGE, reviewer)
    awaiting = reviewer_api.get("/reviews/items").get_json()
    assert keys(awaiting) == flagged.keys() - {(K.DIP_VARIANCE, flagged.dip.id)}
    done = reviewer_api.get("/reviews/items", {"state": "acknowledged"}).get_json()
    assert keys(done) == {(K.DIP_VARIANCE, flagged.dip.id)}
    everything = reviewer_api.get("/reviews/items", {"state": "all"}).get_json()
    assert keys(everything) == flagged.keys()
    meters = reviewer_api.get("/reviews/items", {"kind": "meter_anomaly"}).get_json()
    assert keys(meters) == {(K.METER_ANOMALY, flagged.reading.id)}
    by_waiver = reviewer_api.get(
        "/reviews/items", {"waiver_id": flagged.main_line.waiver_id}
    ).get_json()
    assert (K.OVERRIDE, flagged.override.id) in keys(by_waiver)
    assert (K.METER_ANOMALY, flagged.reading.id) not in keys(by_waiver)
    assert reviewer_api.get("/reviews/items", {"month": "2018-09"}).get_json()["items"] == []
    assert keys(reviewer_api.get("/reviews/items", {"month": "2018-10"}).get_json()) == (
        keys(awaiting)
    )


def test_the_queue_pages_by_cursor_without_repeating_or_skipping(reviewer_api, flagged):
    seen: list[tuple[ItemKind, int]] = []
    cursor = None
    for _ in range(5):
        query = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = reviewer_api.get("/reviews/items", query).get_json()
        seen += [(ItemKind(i["kind"]), i["source_id"]) for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 5
    assert set(seen) == flagged.keys()


@pytest.mark.parametrize(
    "query",
    [
        {"state": "closed"},
        {"kind": "lunch"},
        {"month": "2018-13"},
        {"limit": 0},
        {"cursor": "yesterday"},
        {"regime": "eu"},
        {"waiver_id": "x"},
    ],
)
def test_bad_queue_parameters_are_a_problem(reviewer_api, flagged, query):
    body = assert_problem(reviewer_api.get("/reviews/items", query), 422)
    assert set(body["errors"]) == set(query)


@pytest.mark.parametrize(("name", "value", "message"), BAD_FILTERS)
def test_a_filter_the_queue_cannot_take_is_refused_with_the_pages_message(
    app, reviewer, reviewer_api, flagged, name, value, message
):
    field = {"waiver": "waiver_id", "after": "cursor"}.get(name, name)
    body = assert_problem(reviewer_api.get("/reviews/items", {field: value}), 422)
    browser = log_in(app.test_client(), reviewer)
    browser.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    page = read(browser.get("/reviews/queue", query_string={name: value}))
    [(_category, said)] = page.flashes
    assert said.startswith(message)
    assert body["errors"] == {field: [said]}
    assert body["detail"] == said


def test_several_bad_filters_are_each_named(reviewer_api, flagged):
    body = assert_problem(
        reviewer_api.get("/reviews/items", {"kind": "lunch", "month": "october"}), 422
    )
    assert set(body["errors"]) == {"kind", "month"}
    assert body["detail"] == "Some parameters are not valid."


def test_who_may_read_the_queue(api_as, anonymous_api, flagged):
    assert api_as(Role.ADMIN).get("/reviews/items").status_code == 200
    assert_problem(api_as(Role.SCHEDULER).get("/reviews/items"), 403)
    assert_problem(api_as(Role.SCHEDULER).get(item_path(K.DIP_VARIANCE, flagged.dip.id)), 403)
    assert_problem(anonymous_api.get("/reviews/items"), 401)


# --- an item and its thread ----------------------------------------------------------------


def test_an_item_shows_its_record_its_line_and_what_the_caller_may_do(
    reviewer_api, admin_api, flagged
):
    path = item_path(K.OVERRIDE, flagged.override.id)
    item = reviewer_api.get(path).get_json()
    assert item["state"] == "open" and item["thread"] == []
    assert item["recorded_by"] == "Admin Kim"
    assert item["recorded_at"].endswith("Z")
    assert item["line"]["waiver"] == "MOU-R-MAIN"
    assert item["line"]["granted"] == "1000"
    assert isinstance(item["line"]["used"], str)
    assert item["month_closed"] is False
    assert set(item["actions"]) == {"comment", "query", "escalate", "acknowledge"}
    assert set(admin_api.get(path).get_json()["actions"]) == {"comment"}


def _attach(session, user, kind: ItemKind, source_id: int, title: str):
    item = review_services.open_item(session, kind, source_id, now=NOW, today=TODAY)
    document = documents.attach_to(
        session,
        RecordType.REVIEW_ITEM,
        item.id,
        documents.Upload(io.BytesIO(pdf_file([title])), f"{title}.pdf", title, "correspondence"),
        actor=user,
        now=NOW,
        max_bytes=1024 * 1024,
    )
    session.commit()
    return document


def test_an_item_lists_the_documents_attached_to_its_thread(
    session, admin, reviewer, reviewer_api, admin_api, flagged
):
    letter = _attach(session, admin, K.OVERRIDE, flagged.override.id, "Ministry letter")
    later = NOW + timedelta(minutes=5)
    wrong = _attach(session, admin, K.OVERRIDE, flagged.override.id, "Wrong file")
    documents.withdraw(session, wrong, reason="Not this item's.", actor=reviewer, now=later)
    session.commit()

    item = reviewer_api.get(item_path(K.OVERRIDE, flagged.override.id)).get_json()

    assert [d["id"] for d in item["documents"]] == [letter.id, wrong.id]
    shown = item["documents"][0]
    assert shown == {
        "id": letter.id,
        "title": "Ministry letter",
        "filename": "Ministry letter.pdf",
        "kind": "correspondence",
        "media_type": "application/pdf",
        "size": letter.size,
        "uploaded_at": shown["uploaded_at"],
        "uploaded_by": "Admin Kim",
        "state": "current",
        "withdrawn_at": None,
        "withdrawn_by": None,
        "withdrawn_reason": None,
        "url": f"/api/v1/documents/{letter.id}",
        "page": f"/documents/{letter.id}",
        "download_url": f"/api/v1/documents/{letter.id}/file",
    }
    assert shown["uploaded_at"].endswith("Z") and letter.size > 0
    # The token that read the item downloads the file, byte for byte.
    downloaded = reviewer_api.client.get(
        shown["download_url"], headers=reviewer_api.headers, buffered=True
    )
    assert downloaded.status_code == 200
    assert downloaded.headers["Content-Disposition"].startswith("attachment;")
    assert downloaded.get_data() == pdf_file(["Ministry letter"])
    withdrawn = item["documents"][1]
    assert (withdrawn["state"], withdrawn["withdrawn_reason"]) == ("withdrawn", "Not this item's.")
    assert withdrawn["download_url"] == f"/api/v1/documents/{wrong.id}/file"
    # A withdrawn document is the ministry's reviewers' to read, as on the page.
    as_admin = admin_api.get(item_path(K.OVERRIDE, flagged.override.id)).get_json()
    assert [d["download_url"] for d in as_admin["documents"]] == [
        f"/api/v1/documents/{letter.id}/file",
        None,
    ]
    # Another item, flagged or taken up, has none of them.
    assert reviewer_api.get(item_path(K.DIP_VARIANCE, flagged.dip.id)).get_json()["documents"] == []
    act(session, K.METER_ANOMALY, flagged.reading.id, A.QUERY, reviewer, "Why?")
    queried = reviewer_api.get(item_path(K.METER_ANOMALY, flagged.reading.id)).get_json()
    assert queried["documents"] == [] and len(queried["thread"]) == 1


def test_an_unknown_kind_or_record_is_not_found(reviewer_api, flagged):
    assert_problem(reviewer_api.get(item_path(K.DIP_VARIANCE, flagged.dip_within.id)), 404)
    assert_problem(reviewer_api.get(f"/reviews/items/lunch/{flagged.dip.id}"), 404)
    assert_problem(reviewer_api.post(f"/reviews/items/lunch/{flagged.dip.id}/comment", {}), 404)
    assert_problem(
        reviewer_api.post(item_path(K.DIP_VARIANCE, 999999) + "/comment", {"body": "Hm"}), 404
    )


def test_query_answer_acknowledge_in_one_thread(session, reviewer_api, admin_api, flagged):
    path = item_path(K.DIP_VARIANCE, flagged.dip.id)
    queried = reviewer_api.post(f"{path}/query", {"body": "300 L short: where did it go?"})
    assert queried.status_code == 200, queried.get_json()
    assert queried.get_json()["state"] == "queried"
    answered = admin_api.post(f"{path}/answer", {"body": "A weeping valve seal, replaced."})
    assert answered.get_json()["state"] == "answered"
    done = reviewer_api.post(f"{path}/acknowledge", {})
    item = done.get_json()
    assert item["state"] == "acknowledged"
    assert [(n["action"], n["from_state"], n["to_state"], n["body"]) for n in item["thread"]] == [
        ("query", "open", "queried", "300 L short: where did it go?"),
        ("answer", "queried", "answered", "A weeping valve seal, replaced."),
        ("acknowledge", "answered", "acknowledged", ""),
    ]
    assert [n["author"] for n in item["thread"]] == [
        reviewer_api.user.display_name,
        admin_api.user.display_name,
        reviewer_api.user.display_name,
    ]
    assert all(n["at"].endswith("Z") for n in item["thread"])
    assert item["actions"] == ["comment", "reopen"]
    reopened = reviewer_api.post(f"{path}/reopen", {"body": "The seal again?"})
    assert reopened.get_json()["state"] == "open"
    assert item_of(session, K.DIP_VARIANCE, flagged.dip.id).state is S.OPEN


def test_an_administrator_cannot_acknowledge_and_nothing_changes(session, admin_api, flagged):
    path = item_path(K.OVERRIDE, flagged.override.id)
    for action in ("acknowledge", "query", "escalate", "reopen"):
        assert_problem(admin_api.post(f"{path}/{action}", {"body": "x"}), 403)
    assert item_of(session, K.OVERRIDE, flagged.override.id) is None
    assert notes(session) == 0


def test_a_reviewer_cannot_answer_for_the_office(session, reviewer, reviewer_api, flagged):
    act(session, K.DIP_VARIANCE, flagged.dip.id, A.QUERY, reviewer, "Why?")
    path = item_path(K.DIP_VARIANCE, flagged.dip.id)
    assert_problem(reviewer_api.post(f"{path}/answer", {"body": "Because."}), 403)
    assert notes(session) == 1


def test_a_step_the_state_no_longer_allows_is_a_conflict(session, reviewer_api, flagged):
    path = item_path(K.DIP_VARIANCE, flagged.dip.id)
    assert reviewer_api.post(f"{path}/acknowledge", {}).status_code == 200
    for action, body in (("acknowledge", {}), ("escalate", {"body": "Up"})):
        problem = assert_problem(reviewer_api.post(f"{path}/{action}", body), 409)
        assert "acknowledged" in problem["detail"]
    assert_problem(reviewer_api.post(f"{path}/answer", {"body": "x"}), 403)
    assert notes(session) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"body": "   "}, "body"),
        ({}, "body"),
        ({"body": "x" * 4001}, "body"),
        ({"body": "nul\x00"}, "body"),
        ({"body": 12}, "body"),
        ({"body": "Why?", "state": "acknowledged"}, "state"),
    ],
)
def test_bad_words_are_refused_and_change_nothing(session, reviewer_api, flagged, body, field):
    path = item_path(K.DIP_VARIANCE, flagged.dip.id)
    problem = assert_problem(reviewer_api.post(f"{path}/query", body), 422)
    assert field in problem["errors"]
    assert item_of(session, K.DIP_VARIANCE, flagged.dip.id) is None
    assert notes(session) == 0


def test_malformed_json_is_a_bad_request(session, reviewer_api, flagged):
    path = item_path(K.DIP_VARIANCE, flagged.dip.id)
    assert_problem(reviewer_api.post(f"{path}/query", raw="{"), 400)
    assert_problem(reviewer_api.post(f"{path}/query", raw="[]"), 422)
    assert notes(session) == 0


def test_a_signed_off_month_takes_comments_only(session, app, reviewer, reviewer_api, flagged):
    from office.reviews import services

    acknowledge_all(session, reviewer)
    services.sign_off_month(
        session, OCT(1), note="", actor=reviewer, now=flagged.override.recorded_at, today=TODAY
    )
    session.commit()
    path = item_path(K.DIP_VARIANCE, flagged.dip.id)
    problem = assert_problem(reviewer_api.post(f"{path}/reopen", {"body": "Again"}), 409)
    assert "2018-10 is signed off" in problem["detail"]
    commented = reviewer_api.post(f"{path}/comment", {"body": "Noted for next year."})
    assert commented.status_code == 200
    assert commented.get_json()["month_closed"] is True
    assert commented.get_json()["state"] == "acknowledged"


def test_an_action_sent_again_with_its_key_is_taken_once(session, reviewer_api, flagged):
    path = f"{item_path(K.DIP_VARIANCE, flagged.dip.id)}/query"
    headers = {"Idempotency-Key": '"dip-query-1"'}
    body = json.dumps({"body": "Where did it go?"})
    first = reviewer_api.post(path, raw=body, headers=headers)
    again = reviewer_api.post(path, raw=body, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert notes(session) == 1
    other = reviewer_api.post(path, raw=json.dumps({"body": "Other"}), headers=headers)
    assert_problem(other, 422)
    assert notes(session) == 1


def test_the_item_count_in_the_queue_follows_the_actions(session, reviewer_api, flagged):
    path = item_path(K.METER_ANOMALY, flagged.reading.id)
    reviewer_api.post(f"{path}/escalate", {"body": "The head-end team should look."})
    page = reviewer_api.get("/reviews/items", {"state": "escalated"}).get_json()
    assert keys(page) == {(K.METER_ANOMALY, flagged.reading.id)}
    assert page["counts"]["escalated"] == 1 and page["counts"]["open"] == 4
    assert session.scalar(select(func.count()).select_from(ReviewItem)) == 1


# --- months and their sign-off ------------------------------------------------------------


def test_the_months_list_counts_each_months_items(session, reviewer, reviewer_api, flagged):
    act(session, K.DIP_VARIANCE, flagged.dip.id, A.ACKNOWLEDGE, reviewer)
    months = reviewer_api.get("/reviews/months").get_json()["items"]
    october = next(m for m in months if m["month"] == "2018-10")
    assert october["counts"]["acknowledged"] == 1 and october["counts"]["open"] == 4
    assert october["signed_off"] is None
    assert october["report_url"] == "/api/v1/reports/monthly/2018-10"
    assert [m["month"] for m in months] == sorted((m["month"] for m in months), reverse=True)


def test_a_month_is_signed_off_once_every_item_is_acknowledged(
    session, reviewer, reviewer_api, flagged
):
    refused = assert_problem(reviewer_api.post("/reviews/months/2018-10/sign-off", {}), 409)
    assert "still has 5 items under review" in refused["detail"]
    acknowledge_all(session, reviewer)
    signed = reviewer_api.post("/reviews/months/2018-10/sign-off", {"note": "All clear."})
    assert signed.status_code == 201, signed.get_json()
    month = signed.get_json()
    assert month["signed_off"]["note"] == "All clear."
    assert month["signed_off"]["by"] == reviewer_api.user.display_name
    assert month["counts"]["acknowledged"] == 5
    again = assert_problem(reviewer_api.post("/reviews/months/2018-10/sign-off", {}), 409)
    assert "already signed off" in again["detail"]
    report = reviewer_api.get("/reports/monthly/2018-10").get_json()
    assert report["signed_off"]["note"] == "All clear."


def test_a_sign_off_refused_changes_nothing(session, api_as, reviewer_api, flagged):
    from office.periods.models import SignedOffMonth

    assert_problem(api_as(Role.ADMIN).post("/reviews/months/2018-09/sign-off", {}), 403)
    assert_problem(reviewer_api.post("/reviews/months/october/sign-off", {}), 404)
    before = assert_problem(reviewer_api.post("/reviews/months/2001-01/sign-off", {}), 422)
    assert "month" in before["errors"]
    assert "errors" in assert_problem(
        reviewer_api.post("/reviews/months/2018-09/sign-off", {"note": 1}), 422
    )
    assert_problem(reviewer_api.post("/reviews/months/2018-09/sign-off", raw="{"), 400)
    assert session.scalar(select(func.count()).select_from(SignedOffMonth)) == 0


def test_a_refusal_speaks_the_callers_language(reviewer_api, flagged):
    path = f"/api/v1{item_path(K.DIP_VARIANCE, flagged.dip.id)}/acknowledge"
    assert reviewer_api.post(path.removeprefix("/api/v1"), {}).status_code == 200
    for language, words in (("en", "it cannot be acknowledged now"), ("ko", "처리할 수 없습니다")):
        response = reviewer_api.client.post(
            path,
            data="{}",
            headers={**reviewer_api.headers, "Accept-Language": language},
            content_type="application/json",
        )
        assert words in assert_problem(response, 409)["detail"]
