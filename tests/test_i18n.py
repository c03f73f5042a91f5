"""Korean and English: every string has its Korean translation, the switch works, dates and
times are shown as YYYY-MM-DD in Seoul time."""

from datetime import UTC, date, datetime
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from office.config import ROOT
from office.i18n import format_date, format_datetime
from tests.conftest import log_in
from tests.factories import make_user

PO = ROOT / "office/translations/ko/LC_MESSAGES/messages.po"
KEYWORDS = {
    "_": None,
    "gettext": None,
    "_l": None,
    "lazy_gettext": None,
    "_ln": (1, 2),
    "ngettext": (1, 2),
    "lazy_ngettext": (1, 2),
}


def extracted_messages() -> set[str]:
    method_map = [("office/**.py", "python"), ("templates/**.html", "jinja2")]
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, keywords=KEYWORDS
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_message_has_a_korean_translation():
    with Path(PO).open("rb") as handle:
        catalog = read_po(handle, locale="ko")
    translated = {
        (m.id if isinstance(m.id, str) else m.id[0])
        for m in catalog
        if m.id and m.string and (isinstance(m.string, str) or all(m.string)) and not m.fuzzy
    }
    missing = sorted(extracted_messages() - translated)
    assert missing == [], "run `make messages` and translate these"


def test_language_switch_turns_the_page_korean_and_back(client, session):
    log_in(client, make_user(session, name="Kim"))
    assert b"Log out" in client.get("/").data
    client.post("/language", data={"lang": "ko", "next": "/"})
    page = client.get("/").data.decode()
    assert "로그아웃" in page and 'lang="ko"' in page
    client.post("/language", data={"lang": "en", "next": "/"})
    assert b"Log out" in client.get("/").data


def test_browser_language_is_used_until_the_user_chooses(app):
    korean = app.test_client()
    korean.environ_base["HTTP_ACCEPT_LANGUAGE"] = "ko-KR,ko;q=0.9"
    assert "로그인" in korean.get("/login").data.decode()
    unknown = app.test_client()
    unknown.environ_base["HTTP_ACCEPT_LANGUAGE"] = "fr"
    assert "로그인" in unknown.get("/login").data.decode()


def test_form_errors_are_translated_too(app):
    korean = app.test_client()
    korean.environ_base["HTTP_ACCEPT_LANGUAGE"] = "ko"
    page = korean.post("/login", data={"email": "", "password": ""}).data.decode()
    assert "This field is required." not in page


def test_language_switch_rejects_unknown_languages(client):
    client.post("/language", data={"lang": "xx", "next": "/login"})
    assert b"Log in" in client.get("/login").data


def test_times_are_shown_in_seoul_and_dates_as_iso():
    opened = datetime(2018, 9, 14, 1, 30, tzinfo=UTC)  # 10:30 in Seoul
    assert format_datetime(opened) == "2018-09-14 10:30"
    late = datetime(2018, 9, 13, 16, 0, tzinfo=UTC)  # already the 14th in Seoul
    assert format_date(late) == "2018-09-14"
    assert format_date(date(2018, 9, 14)) == "2018-09-14"


def test_translations_keep_every_placeholder():
    with Path(PO).open("rb") as handle:
        catalog = read_po(handle, locale="ko")
    problems = [(message.id, str(errors)) for message, errors in catalog.check()]
    assert problems == []
