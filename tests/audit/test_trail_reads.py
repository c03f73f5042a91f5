"""The audit trail reads as words in both languages (#16, points 12 and 17): every kind of
event has a label, every target its own name (linked where it has a page the reader may
open), the details are labelled fields with their codes named; a kind the app does not know
still shows, as its code. Times stay on one line and names are not broken inside a word."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from office.audit import display
from office.audit.models import AuditEvent
from office.audit.services import record_event
from office.auth.models import LoginOutcome
from office.auth.permissions import Role
from office.config import ROOT
from office.fuel.forms import ACTION_LABELS as DAY_ACTIONS
from office.reviews.models import ItemKind, ReviewAction
from office.staffing.models import CrossingStatus
from tests.conftest import log_in
from tests.factories import NOW, draw, make_resource, make_user, make_waiver
from tests.reviews.arrange import act
from tests.reviews.pages import read

HANGUL = re.compile(r"[가-힣]")
RAW = ("review.query", "drawdown.overridden", "ReviewItem", "DrawdownEntry", "source_id", "kind:")


def recorded_actions() -> set[str]:
    """Every kind of event the app records: the names written out where it records them,
    and those it builds from a closed vocabulary."""
    found = {f"login.{o.value}" for o in LoginOutcome} | {"session.logged_out", "session.ended"}
    found |= {f"day.{action}" for action in DAY_ACTIONS}
    found |= {f"review.{a.value}" for a in ReviewAction}
    found |= {f"crossing_list.{s.value}" for s in CrossingStatus}
    for path in sorted(Path(ROOT / "office").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "record_event":
                for arg in ast.walk(node.args[1]):
                    if isinstance(arg, ast.Constant) and re.fullmatch(
                        r"[a-z_]+\.[a-z_]+", arg.value
                    ):
                        found.add(arg.value)
    return found


@pytest.mark.parametrize("language", ["ko", "en"])
def test_every_kind_of_event_the_app_records_has_a_label(app, language):
    actions = recorded_actions()
    assert len(actions) > 60
    with app.test_request_context(headers={"Accept-Language": language}):
        labels = {action: display.action_label(action) for action in actions}
    unlabelled = sorted(a for a, words in labels.items() if not words)
    assert unlabelled == []
    if language == "ko":
        assert [a for a, words in labels.items() if not HANGUL.search(words or "")] == []


@pytest.fixture
def queried(session):
    """A drawdown recorded anyway, and the reviewer's query on it."""
    admin = make_user(session, Role.ADMIN, name="김관리")
    reviewer = make_user(session, Role.REVIEWER, name="박검토")
    diesel = make_resource(session)
    line = make_waiver(session, [(diesel, "L", "100", "100")]).lines[0]
    entry = draw(session, diesel, "300", line=line, actor=admin, override="한파")
    act(session, ItemKind.OVERRIDE, entry.id, ReviewAction.QUERY, reviewer, "왜?")
    return reviewer, entry


def test_the_trail_in_korean_names_what_happened_to_what_in_words(app, queried):
    reviewer, entry = queried
    client = log_in(app.test_client(), reviewer)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "ko"

    page = read(client.get("/audit/"))

    rows = {row[2]: row for row in page.table("audit")}
    query, override = rows["검토: 질의 중"], rows["예외 인출 기록"]
    assert query[1] == "박검토"
    assert query[3] == f"예외 승인된 인출 #{entry.id}"
    assert "<dt>상태</dt><dd>질의 중</dd>" in page.markup
    assert override[3] == f"원장 기록 {entry.seq}번"
    assert (f"/ledger/{entry.id}", override[3]) in page.links
    assert "<dt>수량</dt><dd>300 L</dd>" in page.markup
    assert "<dt>사유</dt><dd>한파</dd>" in page.markup
    assert not [raw for raw in RAW if raw in page.text]


def test_the_trail_in_english_reads_as_words_too(app, queried):
    reviewer, entry = queried
    client = log_in(app.test_client(), reviewer)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"

    page = read(client.get("/audit/"))

    actions = [row[2] for row in page.table("audit")]
    assert "Review: queried" in actions and "Drawdown recorded anyway" in actions
    assert (f"/ledger/{entry.id}", f"Ledger entry {entry.seq}") in page.links
    assert "<dt>Classification</dt><dd>over cap</dd>" in page.markup
    assert not [raw for raw in RAW if raw in page.text]


def test_a_target_without_a_page_the_reader_may_open_is_named_but_not_linked(client, session):
    reviewer = make_user(session, Role.REVIEWER, name="박검토")
    user = make_user(session, Role.SCHEDULER, name="이일정")
    record_event(session, "user.updated", actor=None, target=user, at=NOW, role="scheduler")
    session.commit()
    log_in(client, reviewer)

    page = read(client.get("/audit/?action=user."))

    [row] = page.table("audit")
    assert row[2:4] == ["User changed", "이일정"]  # users' pages are for superusers
    assert not [href for href, _text in page.links if href.startswith("/users/")]
    assert "<dt>Role</dt><dd>Scheduler</dd>" in page.markup


def test_an_event_of_a_kind_it_does_not_know_still_shows_as_its_code(client, session):
    reviewer = make_user(session, Role.REVIEWER)
    session.add(
        AuditEvent(
            action="gizmo.polished",
            object_type="Gizmo",
            object_id="5",
            occurred_at=NOW,
            detail={"shine": 3},
        )
    )
    session.commit()
    log_in(client, reviewer)

    response = client.get("/audit/")

    assert response.status_code == 200
    page = read(response)
    [row] = [row for row in page.table("audit") if row[2] == "gizmo.polished"]
    assert row[3] == "Gizmo #5"
    assert "<code>gizmo.polished</code>" in page.markup
    assert "<dt><code>shine</code></dt><dd>3</dd>" in page.markup


def test_times_stay_on_one_line_and_names_break_between_words(app, queried):
    reviewer, _entry = queried
    client = log_in(app.test_client(), reviewer)

    page = client.get("/audit/").get_data(as_text=True)
    css = (ROOT / "static/css/office.css").read_text()

    assert '<table data-testid="audit" class="audit">' in page
    assert '<td class="when">2018-12-31 12:00</td>' in page
    assert re.search(r"table\.audit td\.when \{[^}]*white-space: nowrap", css)
    assert re.search(r"table\.audit td \{[^}]*word-break: keep-all", css)
