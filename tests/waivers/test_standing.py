"""A reviewer changes whether a waiver is standing, on its page: drawdowns that name no line
under its regime draw on it from then on, or no longer; entries recorded before keep the line
they drew on; the change is on the audit trail, in words in both languages. (Under
concurrency: `tests/waivers/test_concurrency.py`.)"""

from __future__ import annotations

from datetime import date

import pytest

from office.waivers import ledger, services
from office.waivers.models import Classification, Waiver
from tests.conftest import log_in
from tests.factories import NOW, audit_events, draw, make_waiver
from tests.reviews import pages
from tests.waivers.test_views import read

C = Classification
EDIT = {"title": "Test waiver", "purpose": "", "valid_from": "2018-01-01"}


def set_standing(session, waiver: Waiver, standing: bool | None, *, actor=None) -> Waiver:
    """Change only whether `waiver` stands (None: leave it), as the edit form does."""
    services.update_waiver(
        session,
        waiver,
        title=waiver.title,
        purpose=waiver.purpose,
        valid_from=waiver.valid_from,
        valid_until=waiver.valid_until,
        standing=standing,
        actor=actor,
        now=NOW,
    )
    session.commit()
    return waiver


def un_under(error: ledger.DrawdownRefused) -> C:
    return {s.regime.code: s.classification for s in error.regimes}["un"]


@pytest.fixture
def standing(session, diesel) -> Waiver:
    """The UN's op. 5 notification of diesel: standing, 10,000 L, valid through 2018."""
    return make_waiver(session, [(diesel, "L", "10000", "10000")], standing=True)


@pytest.fixture
def as_reviewer(client, reviewer):
    return log_in(client, reviewer)


# --- the rule -----------------------------------------------------------------------------


def test_a_waiver_no_longer_standing_is_not_drawn_on_by_a_drawdown_naming_no_line(
    session, diesel, standing
):
    before = draw(session, diesel, "100")
    assert before.waiver_line_id == standing.lines[0].id

    set_standing(session, standing, False)

    with pytest.raises(ledger.DrawdownRefused) as refused:
        draw(session, diesel, "100")
    assert un_under(refused.value) is C.UNCOVERED
    assert "Diesel (HS 2710.19) is capped: choose the waiver line" in str(refused.value)
    session.refresh(before)
    assert before.waiver_line_id == standing.lines[0].id  # recorded before: kept
    assert standing.lines[0].used_base == 100
    # Named, its line is still drawn on: it is still granted.
    named = draw(session, diesel, "50", line=standing.lines[0])
    assert (named.classification, standing.lines[0].used_base) == (C.COVERED, 150)


def test_after_the_change_a_drawdown_draws_on_the_next_standing_waiver(session, diesel):
    ending_first = make_waiver(
        session, [(diesel, "L", "10000", "10000")], standing=True, valid_until=date(2018, 11, 30)
    )
    later = make_waiver(session, [(diesel, "L", "10000", "10000")], standing=True)
    assert draw(session, diesel, "100").waiver_line_id == ending_first.lines[0].id

    set_standing(session, ending_first, False)

    entry = draw(session, diesel, "100")
    assert (entry.waiver_line_id, entry.classification) == (later.lines[0].id, C.COVERED)
    assert (ending_first.lines[0].used_base, later.lines[0].used_base) == (100, 100)


def test_a_waiver_made_standing_is_drawn_on_by_a_drawdown_naming_no_line(session, diesel):
    exemption = make_waiver(session, [(diesel, "L", "10000", "10000")])
    assert not exemption.standing
    with pytest.raises(ledger.DrawdownRefused) as refused:
        draw(session, diesel, "100")
    assert un_under(refused.value) is C.UNCOVERED

    set_standing(session, exemption, True)

    entry = draw(session, diesel, "100")
    assert (entry.waiver_line_id, entry.classification) == (exemption.lines[0].id, C.COVERED)
    # The what-if preview (no lock) chooses it too.
    checked = ledger.check_drawdown_input(
        diesel, "1", "L", date(2018, 10, 1), None, today=NOW.date()
    )
    [screened] = ledger.preview_drawdown(session, checked).regimes
    assert (screened.line, screened.standing) == (exemption.lines[0], True)


def test_the_change_is_on_the_audit_trail_with_what_it_was(session, standing, reviewer):
    set_standing(session, standing, None)  # the title and validity only
    set_standing(session, standing, False, actor=reviewer)

    kept, changed = [e.detail for e in audit_events(session, "waiver.updated")]
    assert kept["standing"] is True and "standing_before" not in kept
    assert (changed["standing"], changed["standing_before"]) == (False, True)
    assert standing.standing is False


# --- the page -----------------------------------------------------------------------------


def test_the_edit_form_shows_whether_it_stands_and_a_reviewer_turns_it_off(
    as_reviewer, session, standing
):
    page = read(as_reviewer.get(f"/waivers/{standing.id}"))
    assert page.options["standing"] == ["yes", "no"]
    assert page.values["standing"] == "yes"
    assert "Standing Yes: drawdowns of its resources" in page.text

    response = as_reviewer.post(
        f"/waivers/{standing.id}",
        data={**EDIT, "valid_until": "2018-12-31", "standing": "no"},
        follow_redirects=True,
    )

    page = read(response)
    assert f"Waiver {standing.reference} saved." in page.text
    assert "Standing No: drawn on only by drawdowns that name its line." in page.text
    assert page.values["standing"] == "no"
    session.refresh(standing)
    assert standing.standing is False
    with pytest.raises(ledger.DrawdownRefused):
        draw(session, standing.lines[0].resource, "100")


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"standing": "maybe"}, "Not a valid choice."),
        ({"standing": ""}, "Choose whether the waiver is standing."),
        ({}, "Choose whether the waiver is standing."),
    ],
)
def test_a_bad_standing_is_named_beside_the_field_and_nothing_changes(
    as_reviewer, session, standing, given, message
):
    response = as_reviewer.post(
        f"/waivers/{standing.id}",
        data={**EDIT, "title": "Renamed", "valid_until": "2018-12-31", **given},
    )

    assert response.status_code == 422
    assert read(response).errors["standing"] == message
    session.refresh(standing)
    assert (standing.standing, standing.title) == (True, "Test waiver")
    assert audit_events(session, "waiver.updated") == []


def test_the_edit_form_and_the_trail_read_in_korean(as_reviewer, session, standing):
    as_reviewer.environ_base["HTTP_ACCEPT_LANGUAGE"] = "ko"
    page = read(as_reviewer.get(f"/waivers/{standing.id}"))
    assert "제목, 유효기간과 상시 적용" in page.text
    assert "상시 적용: 항목을 지정하지 않은 반출에 적용" in page.text
    response = as_reviewer.post(
        f"/waivers/{standing.id}", data={**EDIT, "valid_until": "2018-12-31", "standing": "x"}
    )
    assert read(response).errors["standing"] == "올바르지 않은 선택값입니다."
    as_reviewer.post(
        f"/waivers/{standing.id}", data={**EDIT, "valid_until": "2018-12-31", "standing": "no"}
    )

    trail = pages.read(as_reviewer.get("/audit/?action=waiver.updated"))

    assert "<dt>변경 전 상시 적용</dt><dd>예</dd>" in trail.markup
    assert "<dt>상시 적용</dt><dd>아니요</dd>" in trail.markup
    as_reviewer.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    trail = pages.read(as_reviewer.get("/audit/?action=waiver.updated"))
    assert "<dt>Standing before</dt><dd>yes</dd>" in trail.markup
    assert "<dt>Standing</dt><dd>no</dd>" in trail.markup
