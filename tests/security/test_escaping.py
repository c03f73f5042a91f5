"""User text is escaped by construction (#15, finding 1): a message made with `_l` from what a
user typed is plain text wherever HTML is made, so the override reason, the person's name and
the resource's name that reached the review queue, the calendar's `title` attribute, the
drawdown preview and the delivery screening as markup now show as text."""

from __future__ import annotations

import ast
import re
from datetime import date
from pathlib import Path

import pytest
from flask import json, render_template_string
from markupsafe import Markup, escape
from wtforms import Form, StringField

from office.auth.permissions import Role
from office.config import ROOT
from office.i18n import _l, _ln
from office.reviews.models import ItemKind
from tests.conftest import log_in
from tests.factories import draw, make_person, make_resource, make_user, make_waiver, stay
from tests.staffing.test_views import set_rules
from tests.supplies.arrange import draft, line

# What a user might type: markup, and a quote that would end the attribute it is put in.
MARKUP = '"><img src=x onerror=alert(1)><a href=//evil.example>x</a>'


def shows_as_text(page: str, text: str = MARKUP) -> bool:
    """`text` is on `page`, escaped, and nowhere as markup."""
    return str(escape(text)) in page and "<img src=x" not in page and "<a href=//evil" not in page


# --- the translation helpers --------------------------------------------------------------


def test_a_message_made_with_user_text_is_escaped_where_html_is_made(app):
    reason = _l("Recorded anyway: %(reason)s", reason=MARKUP)
    counted = _ln("%(num)d item for %(who)s", "%(num)d items for %(who)s", 2, who=MARKUP)
    with app.test_request_context():
        page = render_template_string(
            '<p title="{{ reason }}">{{ reason }}</p><p>{{ counted }}</p>'
            "<p>{{ _('Note: %(note)s', note=reason) }}</p>",
            reason=reason,
            counted=counted,
        )
        assert page.count(str(escape(MARKUP))) == 4 and "<img" not in page
        assert Markup("<b>%s</b>") % reason == Markup(f"<b>{escape(str(reason))}</b>")

        class PersonForm(Form):
            name = StringField(_l("Name of %(x)s", x=MARKUP), render_kw={"placeholder": reason})

        form = PersonForm()
        assert "<img" not in form.name.label() + form.name()
        # JSON is not HTML: there the message is its text, unescaped.
        assert json.loads(json.dumps({"detail": reason})) == {"detail": str(reason)}
        assert MARKUP in str(reason)


def _python_sources() -> list[Path]:
    return sorted((ROOT / "office").rglob("*.py"))


# Modules that may build markup: i18n makes our lazy messages; forms renders its hidden
# token inputs with Markup.format, which escapes every value it interpolates.
MAY_MAKE_MARKUP = {ROOT / "office/i18n.py", ROOT / "office/forms.py"}


def test_only_office_i18n_makes_lazy_messages():
    """Flask-Babel's lazy strings declare themselves safe HTML: nobody imports them but the
    helpers that make ours; and nothing marks text safe by hand."""
    for path in _python_sources():
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("flask_babel"):
                assert path == ROOT / "office/i18n.py", f"{path} imports from Flask-Babel"
            if isinstance(node, ast.Name | ast.Attribute):
                name = node.id if isinstance(node, ast.Name) else node.attr
                assert name not in ("Markup", "LazyString") or path in MAY_MAKE_MARKUP, path


def test_no_template_marks_text_safe():
    for path in sorted((ROOT / "templates").rglob("*")):
        if path.is_file():
            assert path.suffix == ".html", f"{path}: autoescaping is on for .html only"
            text = path.read_text()
            assert not re.search(r"\|\s*safe\b|autoescape\s+false|Markup", text), path


# --- where the findings were seen ---------------------------------------------------------


@pytest.fixture
def admin(session):
    return make_user(session, Role.ADMIN, name="Admin Kim")


@pytest.fixture
def reviewer(session):
    return make_user(session, Role.REVIEWER, name="Reviewer Park")


def test_an_override_reason_shows_as_text_in_the_queue_and_on_its_item(
    client, session, admin, reviewer
):
    diesel = make_resource(session)
    main = make_waiver(session, [(diesel, diesel.unit, "100", "100")]).lines[0]
    entry = draw(
        session, diesel, "300", line=main, on=date(2018, 10, 3), actor=admin, override=MARKUP
    )
    log_in(client, reviewer)

    queue = client.get("/reviews/queue").get_data(as_text=True)
    item = client.get(f"/reviews/items/{ItemKind.OVERRIDE.value}/{entry.id}")

    assert item.status_code == 200
    assert shows_as_text(queue)
    assert shows_as_text(item.get_data(as_text=True))


def test_a_persons_name_shows_as_text_in_the_calendars_title(client, session):
    set_rules(session, max_consecutive_days=3)
    person = make_person(session, name=MARKUP[:60])
    person.name_latin = MARKUP
    session.commit()
    stay(session, person, date(2018, 10, 1), date(2018, 10, 8))
    log_in(client, make_user(session, Role.SCHEDULER))

    page = client.get("/staffing/calendar?month=2018-10").get_data(as_text=True)

    # The broken rule names the person in the cell's title attribute.
    assert f'title="consecutive days: {escape(MARKUP)} has been on site 4 days' in page
    assert shows_as_text(page)


def test_a_resource_name_shows_as_text_in_the_drawdown_preview(client, session, admin):
    capped = make_resource(session, "marked", hs_code="2710.19", name=MARKUP)
    log_in(client, admin)

    response = client.post(
        "/ledger/new",
        data={
            "resource": str(capped.id),
            "quantity": "10",
            "unit": capped.unit.value,
            "occurred_on": "2018-10-03",
            "purpose": "operation",
            "waiver_line_id": "",
            "action": "preview",
        },
    )

    page = response.get_data(as_text=True)
    assert 'data-testid="preview"' in page
    assert shows_as_text(page)


def test_a_resource_name_shows_as_text_in_the_delivery_screening(client, session, admin):
    capped = make_resource(session, "marked", hs_code="2710.19", name=MARKUP)
    delivery = draft(session, [line(capped, "10")])
    log_in(client, admin)

    page = client.get(f"/deliveries/{delivery.id}").get_data(as_text=True)

    assert shows_as_text(page)
