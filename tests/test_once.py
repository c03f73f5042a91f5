"""A form that writes is recorded once: a double click, a reload or a retry after a lost answer
records nothing more and shows the first result; a refused form keeps its token for the
corrected one; every form that posts carries a token of its own."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from sqlalchemy import func, select

from office.auth.models import ApiToken
from office.auth.permissions import Role
from office.db import utcnow
from office.forms import ONCE_FIELD, new_once_token
from office.once import FormSubmission
from office.waivers.models import DrawdownEntry, WaiverLine
from tests.concurrency import Office, at_once
from tests.conftest import log_in
from tests.factories import make_resource, make_user, make_waiver
from tests.test_permissions import VIEWERS, arrange, make_viewer, request_for, routes
from tests.waivers.test_views import drawdown, read

ALREADY_SENT = "This form had already been sent: it was recorded once, and not again."


@dataclass
class PostedForm:
    action: str
    fields: dict[str, list[str]] = field(default_factory=dict)

    @property
    def tokens(self) -> list[str]:
        return self.fields.get(ONCE_FIELD, [])


class Forms(HTMLParser):
    """The forms of a page that post, with the values of their hidden inputs."""

    def __init__(self, markup: str) -> None:
        super().__init__()
        self.forms: list[PostedForm] = []
        self._current: PostedForm | None = None
        self.feed(markup)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "form":
            method = (attributes.get("method") or "get").lower()
            self._current = PostedForm(attributes.get("action") or "") if method == "post" else None
            if self._current is not None:
                self.forms.append(self._current)
        elif tag == "input" and self._current is not None and attributes.get("name"):
            name = attributes["name"] or ""
            self._current.fields.setdefault(name, []).append(attributes.get("value") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None


def token_for(response, action: str) -> str:
    """The one-time token of the page's form that posts to `action`."""
    form = next(f for f in Forms(response.get_data(as_text=True)).forms if f.action == action)
    (token,) = form.tokens
    return token


def entry_count(session) -> int:
    return session.scalar(select(func.count()).select_from(DrawdownEntry))


@pytest.fixture
def admin(session):
    return make_user(session, Role.ADMIN, name="Admin Kim")


@pytest.fixture
def as_admin(client, admin):
    return log_in(client, admin)


@pytest.fixture
def line(session) -> WaiverLine:
    """Line 1 of a granted waiver: 10,000 L of diesel, valid through 2018."""
    diesel = make_resource(session)
    return make_waiver(session, [(diesel, "L", "10000", "10000")], reference="MOU-T-1").lines[0]


def test_a_drawdown_form_sent_twice_records_one_entry_and_shows_the_first_result(
    as_admin, session, line
):
    token = token_for(as_admin.get("/ledger/new"), "/ledger/new")
    sent = {**drawdown(line, "2500"), ONCE_FIELD: token}

    first = as_admin.post("/ledger/new", data=sent)
    assert first.status_code == 302
    entry = session.scalar(select(DrawdownEntry))
    assert first.headers["Location"] == f"/ledger/{entry.id}"
    assert f"Entry {entry.seq} recorded: covered." in read(as_admin.get(first.location)).text

    again = as_admin.post("/ledger/new", data=sent)
    assert again.status_code == 302
    assert again.headers["Location"] == first.headers["Location"]
    shown = read(as_admin.get(again.location)).text
    assert f"Entry {entry.seq} recorded: covered." in shown
    assert ALREADY_SENT in shown
    assert entry_count(session) == 1
    session.refresh(line)
    assert line.used_base == Decimal(2500)


def test_a_reloaded_post_records_once_and_does_not_show_the_secret_again(as_admin, session, admin):
    account = as_admin.get("/account")
    token = token_for(account, "/account/tokens")
    sent = {"name": "Laptop", ONCE_FIELD: token}

    first = as_admin.post("/account/tokens", data=sent)
    assert first.status_code == 200
    assert "Your new token, shown only this once." in read(first).text

    # The browser's reload sends the same POST again, from the page it showed.
    reload = as_admin.post(
        "/account/tokens", data=sent, headers={"Referer": "http://localhost/account"}
    )
    assert reload.status_code == 303
    assert reload.headers["Location"] == "/account"
    page = read(as_admin.get("/account")).text
    assert ALREADY_SENT in page
    assert "Your new token, shown only this once." not in page
    assert session.scalar(select(func.count()).where(ApiToken.user_id == admin.id)) == 1


def test_a_refused_form_keeps_its_token_for_the_corrected_one(as_admin, session, line):
    token = token_for(as_admin.get("/ledger/new"), "/ledger/new")

    invalid = as_admin.post("/ledger/new", data={**drawdown(line, ""), ONCE_FIELD: token})
    assert invalid.status_code == 422
    over_cap = as_admin.post("/ledger/new", data={**drawdown(line, "12000"), ONCE_FIELD: token})
    assert over_cap.status_code == 409
    assert entry_count(session) == 0

    corrected = as_admin.post("/ledger/new", data={**drawdown(line, "2500"), ONCE_FIELD: token})
    assert corrected.status_code == 302
    assert entry_count(session) == 1
    assert "Entry 1 recorded: covered." in read(as_admin.get(corrected.location)).text


def test_a_preview_writes_nothing_and_leaves_the_token_for_recording(as_admin, session, line):
    token = token_for(as_admin.get("/ledger/new"), "/ledger/new")
    preview = as_admin.post(
        "/ledger/new", data={**drawdown(line, "2500", action="preview"), ONCE_FIELD: token}
    )
    assert preview.status_code == 200
    assert session.scalar(select(func.count()).select_from(FormSubmission)) == 0
    recorded = as_admin.post("/ledger/new", data={**drawdown(line, "2500"), ONCE_FIELD: token})
    assert recorded.status_code == 302
    assert entry_count(session) == 1


def test_a_token_is_refused_to_another_user(as_admin, client, session, line):
    token = token_for(as_admin.get("/ledger/new"), "/ledger/new")
    as_admin.post("/ledger/new", data={**drawdown(line, "2500"), ONCE_FIELD: token})
    other = log_in(client, make_user(session, Role.ADMIN))
    answer = other.post("/ledger/new", data={**drawdown(line, "100"), ONCE_FIELD: token})
    assert answer.status_code == 400
    assert entry_count(session) == 1


@pytest.mark.parametrize("token", ["short", "x" * 33, "!" * 32, "é" * 32])
def test_a_damaged_token_is_refused_and_nothing_is_written(as_admin, session, line, token):
    answer = as_admin.post("/ledger/new", data={**drawdown(line, "2500"), ONCE_FIELD: token})
    assert answer.status_code == 400
    assert entry_count(session) == 0


def test_tokens_are_kept_a_day_then_removed_by_later_writes(as_admin, session, admin, line):
    now = utcnow()
    old = FormSubmission(
        token=new_once_token(), user_id=admin.id, created_at=now - timedelta(hours=25), status=302
    )
    recent = FormSubmission(
        token=new_once_token(), user_id=admin.id, created_at=now - timedelta(hours=23), status=302
    )
    session.add_all([old, recent])
    session.commit()

    token = token_for(as_admin.get("/ledger/new"), "/ledger/new")
    as_admin.post("/ledger/new", data={**drawdown(line, "2500"), ONCE_FIELD: token})

    kept = set(session.scalars(select(FormSubmission.token)))
    assert kept == {recent.token, token}


@pytest.mark.parametrize("viewer", VIEWERS)
def test_every_form_that_posts_carries_one_token_of_its_own(app, client, session, viewer):
    make_user(session, Role.ADMIN, superuser=True)
    user = make_viewer(session, viewer)
    log_in(client, user)
    ids = arrange(session, user)
    seen: set[str] = set()
    missing = []
    forms = 0
    for rule in routes(app, api=False):
        method, url = request_for(rule, ids)
        if method != "GET" or rule.endpoint == "auth.logout":
            continue
        response = client.get(url)
        html = response.status_code == 200 and response.mimetype == "text/html"
        markup = response.get_data(as_text=True) if html else ""
        response.close()
        for form in Forms(markup).forms:
            forms += 1
            tokens = form.tokens
            if len(tokens) != 1 or len(tokens[0]) != 32 or tokens[0] in seen:
                missing.append(f"{url}: form posting to {form.action} has tokens {tokens}")
            seen.update(tokens)
    assert forms > 20
    assert missing == []


def test_the_forms_of_someone_not_logged_in_carry_no_token(client):
    # Logging in is not recorded once: a token belongs to a user.
    forms = Forms(client.get("/login").get_data(as_text=True)).forms
    assert forms
    assert all(form.tokens == [] for form in forms)


# --- at the same moment, committed for real (see tests.concurrency) -------------------------


def test_one_form_sent_twice_at_once_records_one_entry_and_both_get_its_answer(office: Office):
    with office.session() as session:
        diesel = make_resource(session)
        line = make_waiver(session, [(diesel, "L", "10000", "10000")]).lines[0]
    sent = {**drawdown(line, "2500"), ONCE_FIELD: new_once_token()}
    clients = [office.client(office.admin) for _ in range(2)]

    answers = at_once([lambda c=c: c.post("/ledger/new", data=sent) for c in clients])

    assert [a.status_code for a in answers] == [302, 302]
    assert answers[0].headers["Location"] == answers[1].headers["Location"]
    with office.session() as session:
        assert entry_count(session) == 1
        assert session.get(WaiverLine, line.id).used_base == Decimal(2500)
