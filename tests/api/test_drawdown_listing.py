"""GET /api/v1/drawdowns: newest first, paged by cursor, filtered."""

from datetime import date

import pytest

from office.waivers.models import WaiverStatus
from tests.api.conftest import assert_problem
from tests.factories import draw, make_resource, make_rice, make_user, make_waiver


def walk(api, query: dict, limit: int = 2) -> list[dict]:
    """Follow next_cursor from the first page to the last; return every page's body."""
    pages, cursor = [], None
    while True:
        args = {**query, "limit": limit, **({"cursor": cursor} if cursor else {})}
        response = api.get("/drawdowns", args)
        assert response.status_code == 200, response.get_json()
        page = response.get_json()
        assert set(page) == {"items", "next_cursor"}
        pages.append(page)
        cursor = page["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 50, "the cursor does not move on"


def ids(api, **query) -> list[int]:
    return [item["id"] for page in walk(api, query, limit=500) for item in page["items"]]


@pytest.fixture
def ledger(session):
    """Entries on two waivers, one overridden (flagged), and one on no waiver, in a known order."""
    admin = make_user(session)
    diesel = make_resource(session)
    rice = make_rice(session)
    first = make_waiver(session, [(diesel, "L", "1000", "1000")], reference="FIRST")
    second = make_waiver(session, [(diesel, "L", "100", "100")], reference="SECOND")
    a, b = first.lines[0], second.lines[0]
    return {
        "first": first,
        "second": second,
        "entries": [
            draw(session, diesel, "10", line=a, on=date(2018, 3, 1)),
            draw(session, diesel, "20", line=b, on=date(2018, 3, 2)),
            draw(session, rice, "5", on=date(2018, 3, 3)),
            draw(session, diesel, "200", line=b, on=date(2018, 3, 4), actor=admin, override="Cold"),
            draw(session, diesel, "30", line=a, on=date(2018, 3, 5)),
            draw(session, diesel, "40", line=a, on=date(2018, 3, 1)),
        ],
    }


def test_entries_are_listed_newest_first_on_one_page(session, reviewer_api, ledger):
    response = reviewer_api.get("/drawdowns")
    assert response.status_code == 200
    body = response.get_json()
    assert body["next_cursor"] is None
    assert [item["id"] for item in body["items"]] == [e.id for e in reversed(ledger["entries"])]
    newest = body["items"][0]
    assert (newest["quantity"], newest["occurred_on"], newest["resource"]) == (
        "40",
        "2018-03-01",
        "diesel",
    )


def test_an_empty_ledger_lists_nothing(reviewer_api):
    assert reviewer_api.get("/drawdowns").get_json() == {"items": [], "next_cursor": None}


def test_pages_walked_by_cursor_hold_every_entry_once_newest_first(session, admin_api, ledger):
    rice = make_rice(session)
    extra = [draw(session, rice, str(n), on=date(2018, 4, n)) for n in range(1, 4)]
    expected = [e.id for e in reversed(ledger["entries"] + extra)]  # 9 entries
    pages = walk(admin_api, {}, limit=2)
    assert [len(page["items"]) for page in pages] == [2, 2, 2, 2, 1]
    assert all(page["next_cursor"] for page in pages[:-1])
    assert pages[-1]["next_cursor"] is None
    walked = [item["id"] for page in pages for item in page["items"]]
    assert walked == expected
    assert len(set(walked)) == len(walked)


def test_the_last_full_page_has_no_next_cursor(session, admin_api):
    rice = make_rice(session)
    for n in range(1, 5):
        draw(session, rice, str(n), on=date(2018, 4, n))
    pages = walk(admin_api, {}, limit=2)
    assert [len(page["items"]) for page in pages] == [2, 2]
    assert pages[-1]["next_cursor"] is None


def test_a_page_stays_the_same_when_newer_entries_arrive(session, admin_api, ledger):
    first = admin_api.get("/drawdowns", {"limit": 2}).get_json()
    draw(session, make_rice(session), "1", on=date(2018, 5, 1))
    second = admin_api.get("/drawdowns", {"limit": 2, "cursor": first["next_cursor"]}).get_json()
    assert [item["id"] for item in second["items"]] == [e.id for e in ledger["entries"][3:1:-1]]


def test_filter_by_waiver(reviewer_api, ledger):
    a0, b1, _rice, b3, a4, a5 = ledger["entries"]
    assert ids(reviewer_api, waiver_id=ledger["first"].id) == [a5.id, a4.id, a0.id]
    assert ids(reviewer_api, waiver_id=ledger["second"].id) == [b3.id, b1.id]
    assert ids(reviewer_api, waiver_id=999999) == []
    assert ids(reviewer_api, waiver_id=2**31 - 1) == []  # the largest id a row can have


def test_filter_by_classification(reviewer_api, ledger):
    a0, b1, rice, b3, a4, a5 = ledger["entries"]
    assert ids(reviewer_api, classification="over_cap") == [b3.id]
    assert ids(reviewer_api, classification="not_required") == [rice.id]
    assert ids(reviewer_api, classification="covered") == [a5.id, a4.id, b1.id, a0.id]
    assert ids(reviewer_api, classification="denied") == []


@pytest.mark.parametrize(("flagged", "expected"), [("true", [3]), ("false", [5, 4, 2, 1, 0])])
def test_filter_by_flagged(reviewer_api, ledger, flagged, expected):
    entries = ledger["entries"]
    assert ids(reviewer_api, flagged=flagged) == [entries[n].id for n in expected]


def test_filter_by_dates_includes_both_ends(reviewer_api, ledger):
    a0, b1, rice, b3, a4, a5 = ledger["entries"]
    assert ids(reviewer_api, **{"from": "2018-03-02", "to": "2018-03-04"}) == [
        b3.id,
        rice.id,
        b1.id,
    ]
    assert ids(reviewer_api, **{"from": "2018-03-05"}) == [a4.id]
    assert ids(reviewer_api, to="2018-03-01") == [a5.id, a0.id]
    assert ids(reviewer_api, **{"from": "2018-03-06"}) == []


def test_filters_combine_and_page(reviewer_api, ledger):
    a0, _b1, _rice, _b3, a4, a5 = ledger["entries"]
    query = {"waiver_id": ledger["first"].id, "flagged": "false", "from": "2018-03-01"}
    pages = walk(reviewer_api, query, limit=1)
    assert [[item["id"] for item in page["items"]] for page in pages] == [[a5.id], [a4.id], [a0.id]]


def test_empty_parameters_are_ignored(reviewer_api, ledger):
    query = {"waiver_id": "", "classification": "", "flagged": "", "from": "", "cursor": ""}
    assert ids(reviewer_api, **query) == [e.id for e in reversed(ledger["entries"])]


def test_a_reversal_is_listed_and_filtered_with_its_waiver(session, admin_api):
    diesel = make_resource(session)
    waiver = make_waiver(session, [(diesel, "L", "100", "100")], status=WaiverStatus.GRANTED)
    entry = draw(session, diesel, "10", line=waiver.lines[0])
    reversal = admin_api.post(f"/drawdowns/{entry.id}/reversal", {"reason": "twice"}).get_json()
    items = admin_api.get("/drawdowns", {"waiver_id": waiver.id}).get_json()["items"]
    assert [(item["id"], item["reverses_id"]) for item in items] == [
        (reversal["id"], entry.id),
        (entry.id, None),
    ]


@pytest.mark.parametrize(
    "query",
    [
        {"limit": "0"},
        {"limit": "501"},
        {"limit": "two"},
        {"cursor": "abc"},
        {"cursor": "0"},
        {"cursor": "-5"},
        {"classification": "great"},
        {"flagged": "maybe"},
        {"from": "2018-02-30"},
        {"to": "31/12/2018"},
        {"waiver_id": "first"},
        {"waiver_id": "9" * 30},
        {"waiver_id": str(2**31)},
        {"waiver_id": "0"},
    ],
)
def test_an_invalid_parameter_is_a_422_problem_naming_it(reviewer_api, query):
    body = assert_problem(reviewer_api.get("/drawdowns", query), 422)
    assert list(body["errors"]) == list(query)
    assert all(
        isinstance(message, str) and message for message in body["errors"][next(iter(query))]
    )
