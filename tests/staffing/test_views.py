"""The staffing pages as schedulers, administrators and reviewers use them: what each page says,
the status it answers, and whether the database changed."""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser

import pytest
from icalendar import Calendar
from sqlalchemy import func, select

from office.auth.permissions import Role
from office.db import utcnow
from office.i18n import office_date
from office.staffing import services
from office.staffing.models import (
    CrossingList,
    CrossingStatus,
    DutyShift,
    PlanProposal,
    ProposalStatus,
    Shift,
    Side,
    StaffingRule,
    StaffMember,
    Stay,
)
from tests.conftest import log_in
from tests.factories import NOW, make_person, make_user, stay
from tests.jobs import job_id_of, run_jobs


def OCT(day: int) -> date:
    return date(2018, 10, day)


def squash(text: str) -> str:
    return " ".join(text.split())


INLINE = frozenset({"a", "abbr", "b", "code", "em", "i", "strong", "small", "span", "label"})


@dataclass
class Cell:
    text: str
    title: str
    classes: frozenset[str]
    marks: list[str]  # the titles of the rule marks (abbr) in the cell


@dataclass
class Form:
    action: str
    fields: list[dict[str, str]] = field(default_factory=list)  # attributes of each control
    text: str = ""

    def value(self, name: str) -> str | None:
        return next((f.get("value", "") for f in self.fields if f.get("name") == name), None)

    def checkboxes(self, name: str) -> dict[str, bool]:
        """The values a checkbox group offers, and whether each is checked."""
        return {
            f["value"]: "checked" in f
            for f in self.fields
            if f.get("name") == name and f.get("type") == "checkbox"
        }


class Page(HTMLParser):
    """What a test reads of an HTML page: text, headings, table cells (with their titles and rule
    marks), forms, inline errors, flashes, links, and the ids labels point at."""

    def __init__(self, markup: str) -> None:
        super().__init__()
        self.markup = markup
        self.parts: list[str] = []
        self.rows: list[list[Cell]] = []
        self.sections: list[str] = []  # for each row, the last h2 before it
        self.headings: list[str] = []
        self.values: dict[str, str] = {}  # input id -> value
        self.checked: dict[str, bool] = {}  # checkbox id -> checked
        self.errors: dict[str, str] = {}  # field id -> the error beside it
        self.form_errors: list[str] = []
        self.flashes: list[tuple[str, str]] = []  # (category, text)
        self.links: list[tuple[str, str]] = []  # (href, text)
        self.forms: list[Form] = []
        self.articles: list[str] = []
        self.violations: list[str] = []  # the day page's list of broken rules
        self.ids: Counter[str] = Counter()
        self.label_targets: list[str] = []
        self._open: list[tuple[str, str, dict[str, str | None], list[str]]] = []
        self._section = ""
        self.feed(markup)
        self.close()
        self.text = squash("".join(self.parts))

    def _capture(self, tag: str, kind: str, attrs: dict[str, str | None]) -> None:
        self._open.append((tag, kind, attrs, []))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in INLINE:
            self.parts.append(" ")
        attributes = dict(attrs)
        ident = attributes.get("id") or ""
        classes = set((attributes.get("class") or "").split())
        if ident:
            self.ids[ident] += 1
        if tag == "tr":
            self.rows.append([])
            self.sections.append(self._section)
        elif tag in ("td", "th"):
            self._capture(tag, "cell", {**attributes, "marks": ""})
        elif tag == "abbr" and "mark" in classes:
            cell = next((o for o in reversed(self._open) if o[1] == "cell"), None)
            if cell is not None:
                cell[2]["marks"] = (cell[2]["marks"] or "") + (attributes.get("title") or "") + "\n"
        elif tag in ("h1", "h2"):
            self._capture(tag, tag, attributes)
        elif tag == "small" and ident.endswith("-error"):
            self._capture(tag, "error", attributes)
        elif tag == "p" and "form-error" in classes:
            self._capture(tag, "form-error", attributes)
        elif tag == "p" and "flash" in classes:
            self._capture(tag, "flash", attributes)
        elif tag == "li" and "form-error" in classes:
            self._capture(tag, "violation", attributes)
        elif tag == "a":
            self._capture(tag, "link", attributes)
        elif tag == "article":
            self._capture(tag, "article", attributes)
        elif tag == "form":
            self.forms.append(Form(attributes.get("action") or ""))
            self._capture(tag, "form", attributes)
        elif tag == "label" and attributes.get("for"):
            self.label_targets.append(attributes["for"] or "")
        if tag in ("input", "select", "textarea", "button") and self._in("form"):
            self.forms[-1].fields.append(
                {"tag": tag, **{k: v or "" for k, v in attributes.items()}}
            )
        if tag == "input" and ident:
            self.values[ident] = attributes.get("value") or ""
            if attributes.get("type") == "checkbox":
                self.checked[ident] = "checked" in attributes

    def _in(self, kind: str) -> bool:
        return any(o[1] == kind for o in self._open)

    def handle_endtag(self, tag: str) -> None:
        if tag not in INLINE:
            self.parts.append(" ")
        index = next(
            (i for i in range(len(self._open) - 1, -1, -1) if self._open[i][0] == tag), None
        )
        if index is None:
            return
        _tag, kind, attributes, parts = self._open.pop(index)
        text = squash("".join(parts))
        if kind == "cell" and self.rows:
            marks = [m for m in (attributes.get("marks") or "").split("\n") if m]
            self.rows[-1].append(
                Cell(
                    text,
                    attributes.get("title") or "",
                    frozenset((attributes.get("class") or "").split()),
                    marks,
                )
            )
        elif kind in ("h1", "h2"):
            self.headings.append(text)
            if kind == "h2":
                self._section = text
        elif kind == "error":
            self.errors[(attributes.get("id") or "").removesuffix("-error")] = text
        elif kind == "form-error":
            self.form_errors.append(text)
        elif kind == "flash":
            category = next(
                c.removeprefix("flash-")
                for c in (attributes.get("class") or "").split()
                if c.startswith("flash-")
            )
            self.flashes.append((category, text))
        elif kind == "violation":
            self.violations.append(text)
        elif kind == "link":
            self.links.append((attributes.get("href") or "", text))
        elif kind == "article":
            self.articles.append(text)
        elif kind == "form":
            self.forms[-1].text = text

    def handle_data(self, data: str) -> None:
        self.parts.append(data)
        for _tag, _kind, _attributes, parts in self._open:
            parts.append(data)

    # --- reading ------------------------------------------------------------------------

    def texts(self, row: list[Cell]) -> list[str]:
        return [cell.text for cell in row]

    def rows_of(self, section: str) -> list[list[Cell]]:
        return [
            row for row, s in zip(self.rows, self.sections, strict=True) if s == section and row
        ]

    def row(self, section: str, first_cell: str) -> list[Cell]:
        """Return the first row under the heading `section` whose first cell starts so."""
        return next(
            row
            for row in self.rows_of(section)
            if row[0].text == first_cell or row[0].text.startswith(first_cell + " ")
        )

    def article(self, starting: str) -> str:
        return next(text for text in self.articles if text.startswith(starting))

    def forms_to(self, action: str) -> list[Form]:
        return [form for form in self.forms if form.action == action]

    def link(self, text: str) -> str:
        return next(href for href, shown in self.links if shown == text)


def read(response) -> Page:
    return Page(response.get_data(as_text=True))


def shows(text: str, name: str) -> bool:
    """Whether `name` appears in `text` as itself ("Staff 1" is not in "Staff 12")."""
    return re.search(rf"(?<!\w){re.escape(name)}(?!\w)", text) is not None


def today() -> date:
    return office_date(utcnow())


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def set_rules(session, side: Side = Side.SOUTH, **changes) -> StaffingRule:
    rule = services.rules_by_side(session)[side]
    values = {
        "weekday_min": rule.weekday_min,
        "weekend_min": rule.weekend_min,
        "max_headcount": rule.max_headcount,
        "counted_categories": list(rule.counted_categories),
        "min_night_duty": rule.min_night_duty,
        "max_consecutive_days": rule.max_consecutive_days,
        "min_rest_days": rule.min_rest_days,
        "min_stay_days": rule.min_stay_days,
        "crossing_weekdays": rule.crossing_weekdays,
        "max_crossings_per_month": rule.max_crossings_per_month,
        **changes,
    }
    services.update_rules(session, rule, **values, actor=None, now=NOW)
    session.commit()
    return rule


def no_daily_rules(session) -> None:
    """Leave only each person's rules (consecutive days, rest) on both sides."""
    for side in Side:
        set_rules(session, side, weekday_min=0, weekend_min=0, min_night_duty=0)


def night(session, day: date, *people: StaffMember, side: Side = Side.SOUTH) -> None:
    services.set_duty(session, day, side, Shift.NIGHT, list(people), actor=None, now=NOW)
    session.commit()


def day_cell(row: list[Cell], day: date) -> Cell:
    """The cell of `day` in a calendar row (the first cell names the row)."""
    return row[day.day]


@dataclass
class Group:
    summary: str
    is_open: bool
    rows: list[list[str]]  # date, what


def violation_groups(page: Page) -> list[Group]:
    """The dashboard's groups of broken rules: each one's summary, whether it shows its days
    without a click, and its days."""
    groups = []
    for attributes, body in re.findall(
        r'<details class="violation-group"([^>]*)>(.*?)</details>', page.markup, re.S
    ):
        summary = re.search(r"<summary>(.*?)</summary>", body, re.S)
        assert summary is not None
        inner = Page(body)
        groups.append(
            Group(
                squash(re.sub(r"<[^>]+>", " ", summary.group(1))),
                "open" in attributes,
                [inner.texts(row) for row in inner.rows[1:]],
            )
        )
    return groups


@pytest.fixture
def scheduler(session):
    return make_user(session, Role.SCHEDULER, name="Scheduler Lee")


@pytest.fixture
def as_scheduler(client, scheduler):
    return log_in(client, scheduler)


# --- the dashboard and today --------------------------------------------------------------


def test_dashboard_lists_the_broken_rules_of_the_next_30_days_only(as_scheduler, session):
    no_daily_rules(session)
    start = today()
    back_on_day_30 = make_person(session)
    stay(session, back_on_day_30, start + timedelta(20), start + timedelta(27))
    stay(session, back_on_day_30, start + timedelta(29), start + timedelta(31))
    back_on_day_31 = make_person(session)
    stay(session, back_on_day_31, start + timedelta(20), start + timedelta(28))
    stay(session, back_on_day_31, start + timedelta(30), start + timedelta(31))
    back_yesterday = make_person(session)
    stay(session, back_yesterday, start - timedelta(10), start - timedelta(3))
    stay(session, back_yesterday, start - timedelta(1), start + timedelta(1))

    response = as_scheduler.get("/staffing/")

    assert response.status_code == 200
    page = read(response)
    assert "Broken rules in the next 30 days" in page.text
    day_30 = (start + timedelta(29)).isoformat()
    # The one broken rule inside the 30 days, in a group of its own, open.
    assert violation_groups(page) == [
        Group(
            f"rest days South · {day_30} · 1 time · 1 person · 1 day",
            True,
            [
                [
                    day_30,
                    f"{back_on_day_30.name_latin} comes back on {day_30} with only 1 of 2 "
                    "rest days.",
                ]
            ],
        )
    ]
    assert not shows(page.text, back_on_day_31.name_latin)
    assert not shows(page.text, back_yesterday.name_latin)
    assert "Every rule holds" not in page.text


def test_dashboard_groups_broken_rules_by_rule_side_and_week_with_counts(as_scheduler, session):
    no_daily_rules(session)
    set_rules(session, max_consecutive_days=14, min_rest_days=2)
    set_rules(session, Side.NORTH, weekday_min=1, weekend_min=1)  # nobody of the North on site
    start = today()
    monday = start + timedelta(7 - start.weekday())  # next week's Monday, 1 to 7 days ahead
    week = [monday + timedelta(n) for n in range(7)]
    # Two people on site 21 days in a row: days 15 to 21 are the Monday to Sunday.
    long = [make_person(session) for _ in range(2)]
    for person in long:
        stay(session, person, monday - timedelta(14), week[-1])
    back_early = make_person(session)
    stay(session, back_early, monday - timedelta(5), week[1])
    stay(session, back_early, week[3], week[5])  # one day of rest instead of two

    page = read(as_scheduler.get("/staffing/"))

    groups = violation_groups(page)
    south = [g for g in groups if " South " in g.summary]
    assert [g.summary for g in south] == [
        f"consecutive days South · {week[0]} – {week[-1]} · 14 times · 2 people · 7 days",
        f"rest days South · {week[3]} · 1 time · 1 person · 1 day",
    ]
    consecutive, rest = south
    assert not consecutive.is_open and rest.is_open
    assert [row[0] for row in consecutive.rows] == [d.isoformat() for d in week for _ in long]
    assert all("days in a row" in row[1] for row in consecutive.rows)
    # The North's minimum headcount breaks every day: one group per week, its days counted.
    days = [start + timedelta(n) for n in range(30)]
    weeks: dict[date, list[date]] = {}
    for day in days:
        weeks.setdefault(day - timedelta(day.weekday()), []).append(day)
    north = [g for g in groups if " North " in g.summary]
    assert [g.summary for g in north] == [
        f"minimum headcount North · {shown[0]}"
        + (f" – {shown[-1]}" if len(shown) > 1 else "")
        + f" · {len(shown)} day{'s' if len(shown) > 1 else ''}"
        for shown in weeks.values()
    ]
    assert sum(len(g.rows) for g in north) == 30
    # Weeks in order, the South before the North within a week.
    assert groups.index(consecutive) < groups.index(rest) < groups.index(north[-1])
    total = 30 + 14 + 1
    assert f"{total} broken rules · {len(groups)} groups by rule, side and week" in page.text


def test_dashboard_says_every_rule_holds_when_none_is_broken(as_scheduler, session):
    no_daily_rules(session)
    person = make_person(session)
    stay(session, person, today(), today() + timedelta(5))

    page = read(as_scheduler.get("/staffing/"))

    assert f"Every rule holds from {today().isoformat()} for 30 days." in page.text
    assert page.rows == []


def test_dashboard_counts_who_is_on_site_today_and_names_the_night_duty(as_scheduler, session):
    south = [make_person(session) for _ in range(3)]
    for person in south:
        stay(session, person, today() - timedelta(1), today() + timedelta(1))
    night(session, today(), south[1])

    page = read(as_scheduler.get("/staffing/"))

    assert page.article("South") == (
        f"South · {today().isoformat()} 3 on site today Night duty: {south[1].name_latin}"
    )
    assert page.article("North") == f"North · {today().isoformat()} 0 on site today Night duty: -"


def test_today_lists_who_is_on_site_and_on_duty_per_side(as_scheduler, session):
    on_duty = make_person(session, name="가나다")
    present = make_person(session, name="나다라")
    left = make_person(session, name="다라마")
    north = make_person(session, Side.NORTH, name="리광혁")
    stay(session, on_duty, today() - timedelta(2), today())
    stay(session, present, today(), today() + timedelta(3))
    stay(session, left, today() - timedelta(5), today() - timedelta(1))
    stay(session, north, today(), today())
    night(session, today(), on_duty)
    services.set_duty(session, today(), Side.NORTH, Shift.DAY, [north], actor=None, now=NOW)
    session.commit()

    response = as_scheduler.get("/staffing/today")

    assert response.status_code == 200
    page = read(response)
    assert page.headings[0] == f"On site on {today().isoformat()}"
    assert page.article("South") == (
        f"South · 2 Night duty: {on_duty.name_latin} Day duty: - "
        f"{on_duty.name_latin} official · staff {present.name_latin} official · staff"
    )
    assert page.article("North") == (
        f"North · 1 Night duty: - Day duty: {north.name_latin} {north.name_latin} official · staff"
    )
    assert not shows(page.text, left.name_latin)
    assert page.link("Duty and crossings of this day") == f"/staffing/days/{today().isoformat()}"


# --- the month calendar -------------------------------------------------------------------


def test_calendar_has_one_row_per_person_on_the_roster_that_month(as_scheduler, session):
    official = make_person(session, name="가")
    support = make_person(session, "south", "support", name="나")
    left_in_september = make_person(session, name="다", active_until=date(2018, 9, 30))
    leaves_on_the_first = make_person(session, name="라", active_until=OCT(1))
    joins_on_the_31st = make_person(session, name="마", active_from=OCT(31))
    joins_in_november = make_person(session, name="바", active_from=date(2018, 11, 1))
    north = make_person(session, Side.NORTH, name="리광혁")
    stay(session, official, OCT(3), OCT(5))

    response = as_scheduler.get("/staffing/calendar?month=2018-10")

    assert response.status_code == 200
    page = read(response)
    south_names = [row[0].text for row in page.rows_of("South")[3:]]  # header, headcount, nights
    assert sorted(south_names) == sorted(
        [
            official.name_latin,
            leaves_on_the_first.name_latin,
            joins_on_the_31st.name_latin,
            f"{support.name_latin} support staff",
        ]
    )
    assert south_names[-1] == f"{support.name_latin} support staff"  # officials first
    assert [row[0].text for row in page.rows_of("North")[3:]] == [north.name_latin]
    assert not shows(page.text, left_in_september.name_latin)
    assert not shows(page.text, joins_in_november.name_latin)
    header = page.texts(page.rows_of("South")[0])
    assert header == ["Name", *(str(n) for n in range(1, 32))]
    row = page.row("South", official.name_latin)
    assert [cell.text for cell in row[1:7]] == ["", "", "●", "●", "●", ""]
    assert "on" in day_cell(row, OCT(3)).classes


def test_headcount_row_marks_14_and_21_and_leaves_15_and_20(as_scheduler, session):
    set_rules(session, min_night_duty=0)  # 15 to 20 officials, the defaults
    crew = [make_person(session) for _ in range(21)]
    # 14 on 2018-10-01, 15 on the 2nd, 20 on the 3rd, 21 on the 4th (Monday to Thursday).
    for n, person in enumerate(crew):
        first = OCT(1) if n < 14 else OCT(2) if n == 14 else OCT(3) if n < 20 else OCT(4)
        stay(session, person, first, OCT(4))
    support = make_person(session, "south", "support")
    stay(session, support, OCT(1), OCT(4))  # not counted: officials only

    page = read(as_scheduler.get("/staffing/calendar?month=2018-10"))

    headcount = page.row("South", "On site")
    assert headcount[0].text == "On site (officials, 15–20)"
    one, two, three, four = (day_cell(headcount, OCT(n)) for n in (1, 2, 3, 4))
    assert (one.text, one.marks) == ("14<", ["minimum headcount"])
    assert "violation" in one.classes
    assert one.title == (
        "minimum headcount: Only 14 officials on site on 2018-10-01; the minimum is 15."
    )
    assert (two.text, two.marks, two.title) == ("15", [], "")
    assert (three.text, three.marks, three.title) == ("20", [], "")
    assert "violation" not in two.classes | three.classes
    assert (four.text, four.marks) == ("21>", ["maximum headcount"])
    assert four.title == (
        "maximum headcount: 21 officials on site on 2018-10-04; the maximum is 20."
    )


def test_weekend_days_are_held_to_the_weekend_minimum(as_scheduler, session):
    set_rules(session, weekday_min=3, weekend_min=2, min_night_duty=0)
    crew = [make_person(session) for _ in range(2)]
    for person in crew:
        stay(session, person, date(2018, 10, 5), date(2018, 10, 7))  # Friday to Sunday

    headcount = read(as_scheduler.get("/staffing/calendar?month=2018-10")).row("South", "On site")

    assert day_cell(headcount, OCT(5)).marks == ["minimum headcount"]
    assert day_cell(headcount, OCT(6)).marks == []
    assert day_cell(headcount, OCT(7)).marks == []
    assert "weekend" in day_cell(headcount, OCT(6)).classes


@pytest.fixture
def broken_october(session):
    """One of each broken rule in 2018-10 on the South, with rules small enough to see them."""
    set_rules(
        session,
        weekday_min=1,
        weekend_min=1,
        max_headcount=2,
        min_night_duty=1,
        max_consecutive_days=3,
        min_rest_days=2,
    )
    long_stayer, visitor, other = (make_person(session) for _ in range(3))
    stay(session, long_stayer, OCT(1), OCT(4))  # the 4th is one day too many in a row
    stay(session, long_stayer, OCT(7), OCT(8))  # after 2 rest days: fine
    stay(session, long_stayer, OCT(10), OCT(11))  # after 1 rest day
    stay(session, visitor, OCT(2), OCT(2))
    stay(session, other, OCT(2), OCT(2))  # 3 on site on the 2nd
    for day in (1, 3, 4, 7, 8, 10, 11):
        night(session, OCT(day), long_stayer)  # nobody on night duty on the 2nd
    return long_stayer


@pytest.mark.parametrize(
    ("row", "day", "label", "message"),
    [
        ("On site", 2, "maximum headcount", "3 officials on site on 2018-10-02; the maximum is 2."),
        ("On site", 2, "night duty", "0 on night duty on 2018-10-02; at least 1 needed."),
        (
            "On site",
            5,
            "minimum headcount",
            "Only 0 officials on site on 2018-10-05; the minimum is 1.",
        ),
        (
            "person",
            4,
            "consecutive days",
            "{name} has been on site 4 days in a row on 2018-10-04; the maximum is 3.",
        ),
        (
            "person",
            10,
            "rest days",
            "{name} comes back on 2018-10-10 with only 1 of 2 rest days.",
        ),
    ],
)
def test_a_broken_rule_is_marked_on_its_cell_with_the_rules_name(
    as_scheduler, broken_october, row, day, label, message
):
    name = broken_october.name_latin
    page = read(as_scheduler.get("/staffing/calendar?month=2018-10"))

    cells = page.row("South", name if row == "person" else row)
    cell = day_cell(cells, OCT(day))

    assert label in cell.marks
    assert "violation" in cell.classes
    assert f"{label}: {message.format(name=name)}" in cell.title.split(" | ")


def test_the_day_before_a_rule_breaks_is_not_marked(as_scheduler, broken_october):
    page = read(as_scheduler.get("/staffing/calendar?month=2018-10"))
    person = page.row("South", broken_october.name_latin)
    headcount = page.row("South", "On site")

    assert [day_cell(person, OCT(n)).marks for n in (1, 2, 3, 7, 8)] == [[]] * 5
    assert day_cell(person, OCT(3)).text == "●N"
    assert day_cell(headcount, OCT(1)).marks == []


def test_month_links_lead_to_the_months_before_and_after(as_scheduler):
    page = read(as_scheduler.get("/staffing/calendar?month=2018-12"))

    assert page.headings[0] == "2018-12"
    assert page.link("← 2018-11") == "/staffing/calendar?month=2018-11"
    assert page.link("2019-01 →") == "/staffing/calendar?month=2019-01"
    (go,) = page.forms_to("/staffing/calendar")
    assert go.value("month") == "2018-12"


def test_calendar_without_a_month_shows_this_month(as_scheduler):
    page = read(as_scheduler.get("/staffing/calendar"))

    assert page.headings[0] == today().strftime("%Y-%m")


@pytest.mark.parametrize("month", ["bad", "2018-13", "0000-01", "10000-01", "2018-1x", "1999-12"])
def test_a_month_that_is_not_a_month_answers_422_with_a_message(as_scheduler, month):
    response = as_scheduler.get("/staffing/calendar", query_string={"month": month})

    assert response.status_code == 422
    page = read(response)
    assert ("error", "Choose a month written YYYY-MM, e.g. 2018-10.") in page.flashes
    assert page.headings[0] == today().strftime("%Y-%m")


def test_calendar_in_korean_shows_korean_labels_and_names(as_scheduler, session, broken_october):
    north = make_person(session, Side.NORTH, name="리광혁")
    stay(session, north, OCT(2), OCT(3))

    response = as_scheduler.get(
        "/staffing/calendar?month=2018-10", headers={"Accept-Language": "ko"}
    )

    page = read(response)
    assert page.headings[1:3] == ["남측", "북측"]
    assert page.row("남측", "체류 인원")[0].text.startswith("체류 인원 (공무원")
    assert page.row("남측", "야간 당직")
    assert day_cell(page.row("남측", broken_october.name_ko), OCT(4)).marks == ["연속 체류"]
    assert day_cell(page.row("남측", "체류 인원"), OCT(5)).marks == ["최소 인원", "야간 당직"]
    assert page.row("북측", "리광혁")
    assert "minimum headcount" not in page.markup
    assert not shows(page.text, broken_october.name_latin)


# --- the roster ---------------------------------------------------------------------------


PERSON = {
    "name_ko": "김철수",
    "name_latin": "Kim Cheolsu",
    "side": "south",
    "category": "official",
    "agency": "통일부",
    "position": "duty_officer",
    "is_duty_qualified": "y",
    "active_from": "2018-09-14",
    "active_until": "",
}


def test_roster_lists_both_sides_with_their_details(as_scheduler, session):
    south = make_person(session, name="김철수", active_until=date(2018, 12, 31))
    north = make_person(session, Side.NORTH, "official", name="리광혁", qualified=False)

    response = as_scheduler.get("/staffing/people")

    assert response.status_code == 200
    page = read(response)
    assert page.texts(page.row("", "김철수")) == [
        f"김철수 {south.name_latin}",
        "South",
        "official",
        "staff night duty",
        "통일부",
        "2018-01-01 – 2018-12-31",
    ]
    assert page.texts(page.row("", "리광혁"))[1:4] == ["North", "official", "staff"]
    assert page.link("김철수") == f"/staffing/people/{south.id}"
    assert page.link("리광혁") == f"/staffing/people/{north.id}"


def test_a_south_person_is_added_with_the_latin_name(as_scheduler, session):
    response = as_scheduler.post("/staffing/people/new", data=PERSON)

    person = session.scalars(select(StaffMember)).one()
    assert response.status_code == 302
    assert response.location == f"/staffing/people/{person.id}"
    assert (person.name_ko, person.name_latin, person.side) == ("김철수", "Kim Cheolsu", Side.SOUTH)
    assert person.is_duty_qualified and person.active_from == date(2018, 9, 14)
    assert person.active_until is None
    page = read(as_scheduler.get(response.location))
    assert ("success", "김철수 added to the roster.") in page.flashes


def test_a_south_person_without_the_latin_name_is_refused_and_the_values_kept(
    as_scheduler, session
):
    response = as_scheduler.post("/staffing/people/new", data={**PERSON, "name_latin": " "})

    assert response.status_code == 422
    page = read(response)
    assert page.errors == {"name_latin": "Enter the name in Latin letters, as in the passport."}
    assert page.values["name_ko"] == "김철수"
    assert page.values["agency"] == "통일부"
    assert page.values["active_from"] == "2018-09-14"
    assert page.checked["is_duty_qualified"]
    assert count(session, StaffMember) == 0


def test_a_north_person_needs_only_the_korean_name(as_scheduler, session):
    response = as_scheduler.post(
        "/staffing/people/new",
        data={**PERSON, "name_ko": "리광혁", "name_latin": "", "side": "north", "agency": ""},
    )

    assert response.status_code == 302
    person = session.scalars(select(StaffMember)).one()
    assert (person.name_ko, person.name_latin, person.side) == ("리광혁", "", Side.NORTH)


@pytest.mark.parametrize(
    ("changes", "field_id", "message"),
    [
        ({"name_ko": ""}, "name_ko", "This field is required."),
        ({"name_ko": "가" * 61}, "name_ko", "Field cannot be longer than 60 characters."),
        ({"side": "east"}, "side", "Not a valid choice."),
        ({"active_from": "2018-02-30"}, "active_from", "Not a valid date value."),
        ({"active_from": "0000-01-01"}, "active_from", "Not a valid date value."),
        ({"active_from": "10000-01-01"}, "active_from", "Not a valid date value."),
        (
            {"active_from": "1999-12-31"},
            "active_from",
            "Enter a date between 2000-01-01 and 2099-12-31.",
        ),
        (
            {"active_until": "2018-09-13"},
            "active_until",
            "Active until (2018-09-13) cannot be before active from (2018-09-14).",
        ),
    ],
)
def test_a_bad_person_field_is_shown_beside_it_and_nothing_is_saved(
    as_scheduler, session, changes, field_id, message
):
    response = as_scheduler.post("/staffing/people/new", data={**PERSON, **changes})

    assert response.status_code == 422
    assert read(response).errors == {field_id: message}
    assert count(session, StaffMember) == 0


def test_a_duplicate_person_is_refused_on_the_same_side_only(as_scheduler, session):
    as_scheduler.post("/staffing/people/new", data=PERSON)

    response = as_scheduler.post(
        "/staffing/people/new", data={**PERSON, "name_latin": "KIM CHEOLSU", "agency": "국방부"}
    )

    assert response.status_code == 422
    page = read(response)
    assert page.errors == {"name_ko": "김철수 is already on the roster of this side."}
    assert page.values["agency"] == "국방부"
    assert count(session, StaffMember) == 1
    other_side = as_scheduler.post("/staffing/people/new", data={**PERSON, "side": "north"})
    assert other_side.status_code == 302
    assert count(session, StaffMember) == 2


def test_a_person_is_edited_on_their_page(as_scheduler, session):
    person = make_person(session, name="김철수")

    response = as_scheduler.post(
        f"/staffing/people/{person.id}",
        data={
            **PERSON,
            "agency": "국방부",
            "position": "liaison_officer",
            "active_until": "2019-06-30",
        },
    )

    assert response.status_code == 302
    session.refresh(person)
    assert (person.agency, person.position.value) == ("국방부", "liaison_officer")
    assert person.active_until == date(2019, 6, 30)
    assert count(session, StaffMember) == 1
    page = read(as_scheduler.get(response.location))
    assert ("success", "김철수 saved.") in page.flashes
    assert "국방부 · On the roster 2018-09-14 – 2019-06-30" in page.text


def test_an_edit_that_would_leave_a_stay_outside_the_roster_is_refused(as_scheduler, session):
    person = make_person(session, name="김철수")
    stay(session, person, OCT(1), OCT(5))

    response = as_scheduler.post(
        f"/staffing/people/{person.id}", data={**PERSON, "active_until": "2018-10-03"}
    )

    assert response.status_code == 422
    page = read(response)
    assert page.errors["active_from"] == (
        "김철수 has a stay from 2018-10-01 to 2018-10-05 outside the active dates."
    )
    assert page.values["active_until"] == "2018-10-03"
    session.refresh(person)
    assert person.active_until is None and person.agency == "통일부"


def test_an_unknown_person_is_404(as_scheduler):
    assert as_scheduler.get("/staffing/people/999999").status_code == 404
    assert as_scheduler.post("/staffing/people/999999/stays", data={}).status_code == 404


# --- roster CSV ---------------------------------------------------------------------------


HEADER = "name_ko,name_latin,side,category,agency,position,duty_qualified,active_from,active_until"
ROWS = [
    "김철수,Kim Cheolsu,south,official,통일부,duty_officer,yes,2018-09-14,",
    "리광혁,,north,official,조국평화통일위원회,staff,no,2018-09-14,",
    "박기술,Park Gisul,south,support,KT,technician,,2018-09-14,2018-12-31",
]


def upload(client, rows: list[str], *, encoding: str = "utf-8", header: str = HEADER):
    data = ("\r\n".join([header, *rows]) + "\r\n").encode(encoding)
    return client.post(
        "/staffing/people/import",
        data={"file": (io.BytesIO(data), "roster.csv")},
        content_type="multipart/form-data",
    )


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "euc-kr"])
def test_a_roster_csv_is_imported_through_the_page(as_scheduler, session, encoding):
    response = upload(as_scheduler, ROWS, encoding=encoding)

    assert response.status_code == 302
    assert response.location == "/staffing/people"
    page = read(as_scheduler.get(response.location))
    assert ("success", "3 people imported.") in page.flashes
    assert page.texts(page.row("", "리광혁"))[:3] == ["리광혁", "North", "official"]
    assert page.row("", "박기술")[0].text == "박기술 Park Gisul"
    names = set(session.scalars(select(StaffMember.name_ko)))
    assert names == {"김철수", "리광혁", "박기술"}


def test_an_import_with_a_missing_column_names_it_and_saves_nothing(as_scheduler, session):
    header = HEADER.replace(",side", "")
    response = upload(as_scheduler, ["김철수,Kim,official,,staff,,2018-09-14,"], header=header)

    assert response.status_code == 422
    page = read(response)
    assert page.form_errors == ["The file has 1 error; nothing was imported."]
    assert page.texts(page.rows[1]) == ["1", "Missing columns: side."]
    assert count(session, StaffMember) == 0


def test_an_import_with_bad_rows_lists_each_by_line_and_saves_nothing(as_scheduler, session):
    make_person(session, name="최민호")
    rows = [
        ROWS[0],
        "이영희,Lee Younghee,east,official,,staff,,2018-09-14,",
        "박서준,Park Seojun,south,official,,staff,,2018-02-30,",
        ROWS[1],
        "정유진,,south,official,,staff,,2018-09-14,",
        "김철수,kim cheolsu,south,official,,staff,,2018-09-14,",
    ]

    response = upload(as_scheduler, rows)

    assert response.status_code == 422
    page = read(response)
    assert page.form_errors == ["The file has 4 errors; nothing was imported."]
    table = [page.texts(row) for row in page.rows if row and row[0].text.isdigit()]
    assert table == [
        ["3", "side: east is not one of south, north."],
        ["4", "active_from: 2018-02-30 is not a date written YYYY-MM-DD."],
        ["6", "Enter the name in Latin letters, as in the passport."],
        ["7", "김철수 appears twice (also on line 2)."],
    ]
    assert count(session, StaffMember) == 1  # only the one made before


def test_importing_people_already_on_the_roster_is_refused(as_scheduler, session):
    upload(as_scheduler, ROWS)

    response = upload(as_scheduler, ROWS[:1])

    assert response.status_code == 422
    page = read(response)
    assert page.texts(page.rows[1]) == ["2", "김철수 is already on the roster."]
    assert count(session, StaffMember) == 3


def test_an_import_without_a_file_asks_for_one(as_scheduler, session):
    response = as_scheduler.post(
        "/staffing/people/import", data={}, content_type="multipart/form-data"
    )

    assert response.status_code == 422
    assert read(response).errors == {"file": "This field is required."}
    assert count(session, StaffMember) == 0


def test_an_import_that_is_neither_utf8_nor_euc_kr_is_refused(as_scheduler, session):
    response = as_scheduler.post(
        "/staffing/people/import",
        data={"file": (io.BytesIO(HEADER.encode() + b"\n\xff\xfe\xfd,x\n"), "roster.csv")},
        content_type="multipart/form-data",
    )

    assert response.status_code == 422
    page = read(response)
    assert "The file is neither UTF-8 nor EUC-KR text." in page.text
    assert count(session, StaffMember) == 0


def test_five_thousand_rows_with_one_bad_row_save_nothing(as_scheduler, session):
    rows = [f"직원{n},Staff {n},south,support,,staff,no,2018-09-14," for n in range(5000)]
    rows[4321] = "직원4321,Staff 4321,south,support,,staff,no,2018-09-14,2018-01-01"

    response = upload(as_scheduler, rows)

    assert response.status_code == 422
    page = read(response)
    assert page.form_errors == ["The file has 1 error; nothing was imported."]
    assert page.texts(page.rows[1]) == [
        "4323",
        "Active until (2018-01-01) cannot be before active from (2018-09-14).",
    ]
    assert count(session, StaffMember) == 0


def test_the_roster_exports_as_csv_with_a_bom_that_reads_back_in(as_scheduler, session):
    make_person(session, name="김철수", active_until=date(2018, 12, 31))
    make_person(session, Side.NORTH, name="리광혁", qualified=False)

    response = as_scheduler.get("/staffing/people/export.csv")

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == 'attachment; filename="roster.csv"'
    body = response.get_data(as_text=True)
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body.removeprefix("\ufeff"))))
    assert rows[0] == HEADER.split(",")
    by_name = {row[0]: row for row in rows[1:]}
    assert by_name["김철수"][2:] == [
        "south",
        "official",
        "통일부",
        "staff",
        "yes",
        "2018-01-01",
        "2018-12-31",
    ]
    assert by_name["리광혁"][2:7] == ["north", "official", "통일부", "staff", "no"]
    assert len(rows) == 3


# --- stays --------------------------------------------------------------------------------


def stay_form(first: str, last: str, *, pinned: bool = False, note: str = "") -> dict[str, str]:
    data = {"first_day": first, "last_day": last, "note": note}
    if pinned:
        data["is_pinned"] = "y"
    return data


def stays_of(session, person: StaffMember) -> list[tuple[date, date, bool]]:
    session.expire_all()
    return [
        (s.first_day, s.last_day, s.is_pinned)
        for s in session.scalars(
            select(Stay).where(Stay.staff_member_id == person.id).order_by(Stay.first_day)
        )
    ]


@pytest.fixture
def kim(session):
    return make_person(session, name="김철수")


def test_a_stay_is_added_on_the_persons_page(as_scheduler, session, kim):
    response = as_scheduler.post(
        f"/staffing/people/{kim.id}/stays", data=stay_form("2018-10-01", "2018-10-05", note="회의")
    )

    assert response.status_code == 302
    assert response.location == f"/staffing/people/{kim.id}"
    assert stays_of(session, kim) == [(OCT(1), OCT(5), False)]
    page = read(as_scheduler.get(response.location))
    assert ("success", "Stay added.") in page.flashes
    (stay_id,) = session.scalars(select(Stay.id))
    (row,) = page.forms_to(f"/staffing/stays/{stay_id}")
    assert (row.value("first_day"), row.value("last_day"), row.value("note")) == (
        "2018-10-01",
        "2018-10-05",
        "회의",
    )
    assert "5 days" in row.text


def test_an_overlapping_stay_is_refused_with_the_message_and_nothing_saved(
    as_scheduler, session, kim
):
    stay(session, kim, OCT(1), OCT(10))

    response = as_scheduler.post(
        f"/staffing/people/{kim.id}/stays", data=stay_form("2018-10-08", "2018-10-12")
    )

    assert response.status_code == 422
    page = read(response)
    assert page.errors == {
        "first_day": (
            "김철수 already has a stay from 2018-10-01 to 2018-10-10; stays cannot overlap."
        )
    }
    assert page.values["first_day"] == "2018-10-08"
    assert page.values["last_day"] == "2018-10-12"
    assert stays_of(session, kim) == [(OCT(1), OCT(10), False)]


@pytest.mark.parametrize(
    ("first", "last", "field_id", "message"),
    [
        (
            "2018-10-05",
            "2018-10-04",
            "last_day",
            "A stay cannot end (2018-10-04) before it starts (2018-10-05).",
        ),
        ("0000-01-01", "2018-10-04", "first_day", "Not a valid date value."),
        ("2018-10-01", "10000-01-01", "last_day", "Not a valid date value."),
        ("2018-10-01", "", "last_day", "This field is required."),
        (
            "2017-12-30",
            "2018-01-02",
            "first_day",
            "김철수 is on the roster from 2018-01-01 to …; the stay must fall within.",
        ),
        ("2018-10-01", "2100-01-01", "last_day", "Enter a date between 2000-01-01 and 2099-12-31."),
    ],
)
def test_a_stay_with_bad_dates_is_refused_beside_the_field(
    as_scheduler, session, kim, first, last, field_id, message
):
    response = as_scheduler.post(f"/staffing/people/{kim.id}/stays", data=stay_form(first, last))

    assert response.status_code == 422
    assert read(response).errors == {field_id: message}
    assert stays_of(session, kim) == []


def test_a_stay_is_changed_and_pinned(as_scheduler, session, kim):
    changed = stay(session, kim, OCT(1), OCT(5))

    response = as_scheduler.post(
        f"/staffing/stays/{changed.id}", data=stay_form("2018-10-02", "2018-10-09", pinned=True)
    )

    assert response.status_code == 302
    assert stays_of(session, kim) == [(OCT(2), OCT(9), True)]
    page = read(as_scheduler.get(response.location))
    assert ("success", "Stay saved.") in page.flashes
    (row,) = page.forms_to(f"/staffing/stays/{changed.id}")
    assert row.checkboxes("is_pinned") == {"y": True}


def test_changing_a_stay_into_another_is_refused_on_that_stays_row(as_scheduler, session, kim):
    first = stay(session, kim, OCT(1), OCT(5))
    stay(session, kim, OCT(8), OCT(12))

    response = as_scheduler.post(
        f"/staffing/stays/{first.id}", data=stay_form("2018-10-01", "2018-10-08")
    )

    assert response.status_code == 422
    page = read(response)
    (row,) = page.forms_to(f"/staffing/stays/{first.id}")
    assert row.value("last_day") == "2018-10-08"  # what was typed, kept
    assert "김철수 already has a stay from 2018-10-08 to 2018-10-12; stays cannot overlap." in (
        row.text
    )
    assert stays_of(session, kim) == [(OCT(1), OCT(5), False), (OCT(8), OCT(12), False)]


def test_a_stay_is_removed(as_scheduler, session, kim):
    removed = stay(session, kim, OCT(1), OCT(5))

    response = as_scheduler.post(f"/staffing/stays/{removed.id}/delete")

    assert response.status_code == 302
    assert stays_of(session, kim) == []
    page = read(as_scheduler.get(response.location))
    assert ("success", "Stay removed.") in page.flashes
    assert "No stays yet." in page.text


def test_a_stay_carrying_duty_can_be_neither_shrunk_nor_removed(as_scheduler, session, kim):
    carrying = stay(session, kim, OCT(1), OCT(5))
    night(session, OCT(5), kim)
    refusal = "김철수 has night duty on 2018-10-05; remove the duty first."

    shrunk = as_scheduler.post(
        f"/staffing/stays/{carrying.id}", data=stay_form("2018-10-01", "2018-10-04")
    )
    removed = as_scheduler.post(f"/staffing/stays/{carrying.id}/delete")

    assert shrunk.status_code == 422
    assert refusal in read(shrunk).text
    assert removed.status_code == 302
    assert ("error", refusal) in read(as_scheduler.get(removed.location)).flashes
    assert stays_of(session, kim) == [(OCT(1), OCT(5), False)]
    assert count(session, DutyShift) == 1


def test_every_label_on_a_persons_page_points_at_a_field_of_its_own(as_scheduler, session, kim):
    stay(session, kim, OCT(1), OCT(5))
    stay(session, kim, OCT(10), OCT(12))

    page = read(as_scheduler.get(f"/staffing/people/{kim.id}"))

    assert len(page.label_targets) > 10
    assert {target: page.ids[target] for target in page.label_targets} == dict.fromkeys(
        page.label_targets, 1
    )
    (add,) = page.forms_to(f"/staffing/people/{kim.id}/stays")
    assert {f["id"] for f in add.fields if f.get("id")} >= {"first_day", "last_day"}


def test_a_stay_is_added_after_another_was_refused_on_the_same_page(as_scheduler, session, kim):
    stay(session, kim, OCT(1), OCT(5))
    as_scheduler.post(
        f"/staffing/people/{kim.id}/stays", data=stay_form("2018-10-05", "2018-10-06")
    )

    response = as_scheduler.post(
        f"/staffing/people/{kim.id}/stays", data=stay_form("2018-10-08", "2018-10-09")
    )

    assert response.status_code == 302
    assert stays_of(session, kim) == [(OCT(1), OCT(5), False), (OCT(8), OCT(9), False)]


# --- a day: duty and crossings ------------------------------------------------------------


def long_stay_marks(page: Page) -> dict[int, str]:
    """The person page's marks on stays longer than the rules allow, by stay id."""
    return {
        int(stay_id): squash(re.sub(r"<[^>]+>", " ", text))
        for stay_id, text in re.findall(
            r'data-testid="long-stay-(\d+)">(.*?)</small>', page.markup, re.S
        )
    }


def test_a_stay_longer_than_the_rule_allows_is_saved_with_a_warning_and_marked(
    as_scheduler, session, kim
):
    set_rules(session, max_consecutive_days=14)

    response = as_scheduler.post(
        f"/staffing/people/{kim.id}/stays", data=stay_form("2018-10-01", "2018-10-19")
    )

    assert response.status_code == 302
    assert stays_of(session, kim) == [(OCT(1), OCT(19), False)]  # a soft rule: saved
    page = read(as_scheduler.get(response.location))
    assert page.flashes == [
        ("warning", "Stay added. It is 19 days long; the rule allows 14 days on site at a time.")
    ]
    (stay_id,) = session.scalars(select(Stay.id))
    assert long_stay_marks(page) == {
        stay_id: "Too long It is 19 days long; the rule allows 14 days on site at a time."
    }


def test_a_stay_within_the_rule_is_added_plainly_and_not_marked(as_scheduler, session, kim):
    set_rules(session, max_consecutive_days=14)

    response = as_scheduler.post(
        f"/staffing/people/{kim.id}/stays", data=stay_form("2018-10-01", "2018-10-14")
    )

    page = read(as_scheduler.get(response.location))
    assert page.flashes == [("success", "Stay added.")]
    assert long_stay_marks(page) == {}


def test_a_stay_made_too_long_by_a_change_is_saved_with_a_warning(as_scheduler, session, kim):
    set_rules(session, max_consecutive_days=1)
    changed = stay(session, kim, OCT(1), OCT(1))

    response = as_scheduler.post(
        f"/staffing/stays/{changed.id}", data=stay_form("2018-10-01", "2018-10-02")
    )

    page = read(as_scheduler.get(response.location))
    assert page.flashes == [
        ("warning", "Stay saved. It is 2 days long; the rule allows 1 day on site at a time.")
    ]
    assert list(long_stay_marks(page)) == [changed.id]


def test_a_stay_that_touches_another_warns_of_the_days_in_a_row_they_make(
    as_scheduler, session, kim
):
    set_rules(session, max_consecutive_days=14)
    before = stay(session, kim, OCT(1), OCT(10))

    response = as_scheduler.post(
        f"/staffing/people/{kim.id}/stays", data=stay_form("2018-10-11", "2018-10-16")
    )

    page = read(as_scheduler.get(response.location))
    joined = (
        "With the stays it touches, it makes 16 days on site in a row; the rule allows 14 days "
        "on site at a time."
    )
    assert page.flashes == [("warning", f"Stay added. {joined}")]
    added = session.scalar(select(Stay.id).where(Stay.first_day == OCT(11)))
    assert long_stay_marks(page) == {before.id: f"Too long {joined}", added: f"Too long {joined}"}


def test_a_reviewer_sees_a_stay_that_is_too_long_marked_too(client, session, kim):
    set_rules(session, max_consecutive_days=14)
    long = stay(session, kim, OCT(1), OCT(19))
    stay(session, kim, OCT(25), OCT(30))
    log_in(client, make_user(session, Role.REVIEWER))

    page = read(client.get(f"/staffing/people/{kim.id}"))

    assert long_stay_marks(page) == {
        long.id: "Too long It is 19 days long; the rule allows 14 days on site at a time."
    }


@pytest.fixture
def day_crew(session):
    """On 2018-10-02: two of the South and one of the North on site, one of the South away."""
    crew = {
        "on": make_person(session, name="가"),
        "also_on": make_person(session, name="나"),
        "away": make_person(session, name="다"),
        "north": make_person(session, Side.NORTH, name="리광혁"),
    }
    stay(session, crew["on"], OCT(1), OCT(5))
    stay(session, crew["also_on"], OCT(2), OCT(3))
    stay(session, crew["away"], OCT(10), OCT(12))
    stay(session, crew["north"], OCT(1), OCT(4))
    return crew


def duty_forms(page: Page) -> dict[tuple[str, str], Form]:
    return {
        (form.value("side"), form.value("shift")): form
        for form in page.forms
        if form.action.endswith("/duty")
    }


def test_day_page_offers_each_sides_duty_only_to_its_people_on_site(as_scheduler, day_crew):
    page = read(as_scheduler.get("/staffing/days/2018-10-02"))

    forms = duty_forms(page)
    south = {str(day_crew["on"].id): False, str(day_crew["also_on"].id): False}
    north = {str(day_crew["north"].id): False}
    assert set(forms) == {
        ("south", "day"),
        ("south", "night"),
        ("north", "day"),
        ("north", "night"),
    }
    assert forms["south", "day"].checkboxes("people") == south
    assert forms["south", "night"].checkboxes("people") == south
    assert forms["north", "night"].checkboxes("people") == north
    assert "South · 2 on site" in page.headings
    assert "North · 1 on site" in page.headings
    assert not shows(page.text, day_crew["away"].name_latin)


def test_day_page_shows_side_and_shift_as_hidden_fields_and_labels_of_their_own(
    as_scheduler, day_crew
):
    page = read(as_scheduler.get("/staffing/days/2018-10-02"))

    for form in duty_forms(page).values():
        hidden = {f["name"] for f in form.fields if f.get("type") == "hidden"}
        assert {"side", "shift"} <= hidden
        assert not [f for f in form.fields if f["tag"] == "select"]
    assert {target: page.ids[target] for target in page.label_targets} == dict.fromkeys(
        page.label_targets, 1
    )


def test_a_night_duty_list_is_saved_and_shown(as_scheduler, session, day_crew):
    chosen = day_crew["also_on"]

    response = as_scheduler.post(
        "/staffing/days/2018-10-02/duty",
        data={"side": "south", "shift": "night", "people": [str(chosen.id)]},
    )

    assert response.status_code == 302
    assert response.location == "/staffing/days/2018-10-02"
    assert session.execute(select(DutyShift.staff_member_id, DutyShift.duty_on)).all() == [
        (chosen.id, OCT(2))
    ]
    page = read(as_scheduler.get(response.location))
    assert ("success", "Duty list saved.") in page.flashes
    forms = duty_forms(page)
    assert forms["south", "night"].checkboxes("people")[str(chosen.id)] is True
    assert forms["south", "day"].checkboxes("people")[str(chosen.id)] is False
    calendar = read(as_scheduler.get("/staffing/calendar?month=2018-10"))
    assert day_cell(calendar.row("South", chosen.name_latin), OCT(2)).text == "●N"
    assert day_cell(calendar.row("South", "Night duty"), OCT(2)).text == "1"


def test_an_empty_duty_list_clears_that_sides_shift(as_scheduler, session, day_crew):
    night(session, OCT(2), day_crew["on"])
    night(session, OCT(2), day_crew["north"], side=Side.NORTH)

    response = as_scheduler.post(
        "/staffing/days/2018-10-02/duty", data={"side": "south", "shift": "night"}
    )

    assert response.status_code == 302
    assert session.scalars(select(DutyShift.staff_member_id)).all() == [day_crew["north"].id]


@pytest.mark.parametrize(
    ("who", "message"),
    [
        ("north", "리광혁 belongs to the other side and cannot be on this duty list."),
        ("away", "다 is not on site on 2018-10-02; duty must fall within a stay."),
    ],
)
def test_a_duty_list_naming_someone_who_cannot_be_on_it_is_refused(
    as_scheduler, session, day_crew, who, message
):
    night(session, OCT(2), day_crew["on"])

    response = as_scheduler.post(
        "/staffing/days/2018-10-02/duty",
        data={
            "side": "south",
            "shift": "night",
            "people": [str(day_crew["also_on"].id), str(day_crew[who].id)],
        },
    )

    assert response.status_code == 422
    page = read(response)
    assert message in duty_forms(page)["south", "night"].text
    assert message not in duty_forms(page)["south", "day"].text
    assert session.scalars(select(DutyShift.staff_member_id)).all() == [day_crew["on"].id]


def test_day_page_lists_the_days_broken_rules_with_their_side(as_scheduler, day_crew):
    page = read(as_scheduler.get("/staffing/days/2018-10-02"))

    assert page.violations == [
        "North · minimum headcount: Only 1 officials on site on 2018-10-02; the minimum is 15.",
        "North · night duty: 0 on night duty on 2018-10-02; at least 1 needed.",
        "South · minimum headcount: Only 2 officials on site on 2018-10-02; the minimum is 15.",
        "South · night duty: 0 on night duty on 2018-10-02; at least 1 needed.",
    ]


def test_an_impossible_day_is_404(as_scheduler):
    for day in ("2018-02-30", "0000-01-01", "10000-01-01", "1999-12-31", "today"):
        assert as_scheduler.get(f"/staffing/days/{day}").status_code == 404
        assert as_scheduler.get(f"/staffing/crossings/{day}").status_code == 404


@pytest.fixture
def crossing_day(session):
    """On 2018-10-02 김철수 crosses north and 이영희 returns south; the North does not cross."""
    north_bound = make_person(session, name="김철수")
    south_bound = make_person(session, name="이영희")
    stay(session, north_bound, OCT(2), OCT(5))
    stay(session, south_bound, OCT(1), OCT(2))
    north = make_person(session, Side.NORTH, name="리광혁")
    stay(session, north, OCT(2), OCT(3))
    return north_bound, south_bound, north


def test_day_page_shows_who_crosses_north_and_who_returns(as_scheduler, crossing_day):
    north_bound, south_bound, north = crossing_day

    page = read(as_scheduler.get("/staffing/days/2018-10-02"))

    crossing = page.article("Crossing name list")
    assert f"Crossing north: {north_bound.name_latin} " in crossing
    assert f"Returning south: {south_bound.name_latin} " in crossing
    assert "Status: draft" in crossing
    assert not shows(crossing, north.name_latin)
    assert page.link("Printable list") == "/staffing/crossings/2018-10-02"
    assert page.link("CSV") == "/staffing/crossings/2018-10-02.csv"


def test_the_printable_crossing_list_and_its_csv_name_the_south_only(as_scheduler, crossing_day):
    north_bound, south_bound, _north = crossing_day

    response = as_scheduler.get("/staffing/crossings/2018-10-02")

    assert response.status_code == 200
    page = read(response)
    assert page.headings[:3] == [
        "Inter-Korean Liaison Office · Crossing name list",
        "Crossing north (1)",
        "Returning south (1)",
    ]
    assert page.texts(page.rows_of("Crossing north (1)")[1]) == [
        "1",
        "김철수",
        north_bound.name_latin,
        "통일부",
        "staff",
    ]
    assert page.texts(page.rows_of("Returning south (1)")[1])[1] == "이영희"
    assert "리광혁" not in page.text
    assert "Log out" not in page.text  # the page is for printing

    exported = as_scheduler.get("/staffing/crossings/2018-10-02.csv")
    assert exported.mimetype == "text/csv"
    assert "crossing-2018-10-02.csv" in exported.headers["Content-Disposition"]
    body = exported.get_data(as_text=True)
    assert body.startswith("\ufeff")
    assert list(csv.reader(io.StringIO(body.removeprefix("\ufeff")))) == [
        ["date", "direction", "name_ko", "name_latin", "agency", "position"],
        ["2018-10-02", "north", "김철수", north_bound.name_latin, "통일부", "staff"],
        ["2018-10-02", "south", "이영희", south_bound.name_latin, "통일부", "staff"],
    ]


def crossing_status(session) -> CrossingStatus | None:
    session.expire_all()
    row = session.scalar(select(CrossingList).where(CrossingList.crossing_on == OCT(2)))
    return row.status if row else None


def mark(client, status: str) -> Page:
    response = client.post("/staffing/crossings/2018-10-02/status", data={"status": status})
    assert response.status_code == 302
    assert response.location == "/staffing/days/2018-10-02"
    return read(client.get(response.location))


def test_a_crossing_list_is_sent_accepted_amended_by_a_change_and_sent_again(
    as_scheduler, session, crossing_day
):
    north_bound, _south_bound, _north = crossing_day

    page = mark(as_scheduler, "sent")
    assert ("success", "Crossing list of 2018-10-02 is now sent.") in page.flashes
    assert "Status: sent · sent 20" in page.article("Crossing name list")
    assert crossing_status(session) is CrossingStatus.SENT

    page = mark(as_scheduler, "accepted")
    assert ("success", "Crossing list of 2018-10-02 is now accepted.") in page.flashes
    assert crossing_status(session) is CrossingStatus.ACCEPTED

    (moved,) = north_bound.stays
    as_scheduler.post(f"/staffing/stays/{moved.id}", data=stay_form("2018-10-03", "2018-10-05"))
    assert crossing_status(session) is CrossingStatus.AMENDED
    page = read(as_scheduler.get("/staffing/days/2018-10-02"))
    assert "Status: amended, to send again" in page.article("Crossing name list")
    printable = read(as_scheduler.get("/staffing/crossings/2018-10-02"))
    assert "Status: amended, to send again" in printable.text
    assert "Crossing north (0)" in printable.headings

    page = mark(as_scheduler, "sent")
    assert ("success", "Crossing list of 2018-10-02 is now sent.") in page.flashes
    assert crossing_status(session) is CrossingStatus.SENT


def test_a_crossing_list_cannot_be_accepted_before_it_is_sent(as_scheduler, session, crossing_day):
    page = mark(as_scheduler, "accepted")

    assert ("error", "The list of 2018-10-02 is draft; it cannot become accepted.") in page.flashes
    assert crossing_status(session) is None


def test_a_day_nobody_crosses_cannot_be_sent(as_scheduler, session):
    response = as_scheduler.post("/staffing/crossings/2018-10-20/status", data={"status": "sent"})

    page = read(as_scheduler.get(response.location))
    assert ("error", "Nobody crosses on 2018-10-20.") in page.flashes
    assert count(session, CrossingList) == 0


def test_a_crossing_status_other_than_sent_or_accepted_is_refused(
    as_scheduler, session, crossing_day
):
    page = mark(as_scheduler, "amended")

    assert ("error", "Choose sent or accepted.") in page.flashes
    assert crossing_status(session) is None


# --- the month's crossing lists -----------------------------------------------------------


def mark_list(session, day: date, *statuses: CrossingStatus) -> None:
    for status in statuses:
        services.mark_crossing_list(session, day, status, actor=None, now=NOW)
    session.commit()


def test_the_crossing_lists_of_a_month_give_each_day_its_counts_and_status(as_scheduler, session):
    first, second, third, early = (make_person(session) for _ in range(4))
    stay(session, first, OCT(1), OCT(5))
    stay(session, second, OCT(1), OCT(12))
    stay(session, third, OCT(8), OCT(12))
    stay(session, early, date(2018, 9, 28), OCT(3))  # crossed in September, back in October
    stay(session, make_person(session), date(2018, 11, 2), date(2018, 11, 6))  # November
    stay(session, make_person(session, Side.NORTH), OCT(15), OCT(19))  # the North never crosses
    mark_list(session, OCT(1), CrossingStatus.SENT)
    mark_list(session, OCT(5), CrossingStatus.SENT, CrossingStatus.ACCEPTED)

    response = as_scheduler.get("/staffing/crossings?month=2018-10")

    assert response.status_code == 200
    page = read(response)
    assert page.headings[0] == "Crossing lists · 2018-10"
    sent = "2018-12-31 12:00"  # NOW in Seoul
    assert [page.texts(row) for row in page.rows[1:]] == [
        ["2018-10-01", "Mon", "2", "0", f"sent {sent}", "Day page"],
        ["2018-10-03", "Wed", "0", "1", "draft", "Day page"],
        ["2018-10-05", "Fri", "0", "1", f"accepted {sent}", "Day page"],
        ["2018-10-08", "Mon", "1", "0", "draft", "Day page"],
        ["2018-10-12", "Fri", "0", "2", "draft", "Day page"],
        ["Total · 5 days listed", "3", "4", ""],
    ]
    links = dict(page.links)
    assert "/staffing/crossings/2018-10-01" in links  # the day's name list
    assert "/staffing/days/2018-10-01" in links  # the day, where its list is marked sent
    assert page.link("← 2018-09") == "/staffing/crossings?month=2018-09"
    assert page.link("2018-11 →") == "/staffing/crossings?month=2018-11"
    (picker,) = page.forms_to("/staffing/crossings")
    assert (picker.fields[0]["name"], picker.fields[0]["value"]) == ("month", "2018-10")


def test_a_list_sent_then_emptied_by_a_change_stays_in_the_month_as_amended(as_scheduler, session):
    person = make_person(session)
    removed = stay(session, person, OCT(8), OCT(12))
    mark_list(session, OCT(8), CrossingStatus.SENT)
    services.remove_stay(session, removed, actor=None, now=NOW)
    session.commit()

    page = read(as_scheduler.get("/staffing/crossings?month=2018-10"))

    assert [page.texts(row)[:5] for row in page.rows[1:-1]] == [
        ["2018-10-08", "Mon", "0", "0", "amended, to send again 2018-12-31 12:00"]
    ]


def test_a_month_nobody_crosses_says_so(as_scheduler, session):
    stay(session, make_person(session), OCT(1), OCT(5))

    page = read(as_scheduler.get("/staffing/crossings?month=2018-11"))

    assert "Nobody of the South crosses in 2018-11." in page.text
    assert page.rows == []


def test_the_crossing_lists_without_a_month_show_this_month_and_are_linked_from_each_day(
    as_scheduler,
):
    page = read(as_scheduler.get("/staffing/crossings"))

    assert page.headings[0] == f"Crossing lists · {today().strftime('%Y-%m')}"
    assert page.link("Crossing lists") == "/staffing/crossings"  # in the staffing menu
    day = read(as_scheduler.get("/staffing/days/2018-10-02"))
    assert day.link("All crossing lists of 2018-10") == "/staffing/crossings?month=2018-10"


@pytest.mark.parametrize("month", ["bad", "2018-13", "1999-12"])
def test_crossing_lists_of_a_month_that_is_not_one_answer_422_with_a_message(as_scheduler, month):
    response = as_scheduler.get(f"/staffing/crossings?month={month}")

    assert response.status_code == 422
    assert ("error", "Choose a month written YYYY-MM, e.g. 2018-10.") in read(response).flashes


def test_crossing_lists_in_korean_name_the_days_in_korean(as_scheduler, session):
    stay(session, make_person(session), OCT(1), OCT(5))

    page = read(
        as_scheduler.get("/staffing/crossings?month=2018-10", headers={"Accept-Language": "ko"})
    )

    assert [page.texts(row)[:2] for row in page.rows[1:-1]] == [
        ["2018-10-01", "월"],
        ["2018-10-05", "금"],
    ]


# --- rules --------------------------------------------------------------------------------


RULES = {
    "south-weekday_min": "10",
    "south-weekend_min": "8",
    "south-max_headcount": "18",
    "south-counted_categories": ["official", "support"],
    "south-min_night_duty": "2",
    "south-max_consecutive_days": "10",
    "south-min_rest_days": "3",
    "south-min_stay_days": "5",
    "south-crossing_weekdays": ["0", "3"],
    "south-max_crossings_per_month": "6",
    "south-applies_from": "2018-09-14",
}


def rules_of(session, side: Side) -> tuple:
    session.expire_all()
    rule = services.rules_by_side(session)[side]
    return (
        rule.weekday_min,
        rule.weekend_min,
        rule.max_headcount,
        sorted(rule.counted_categories),
        rule.min_night_duty,
        rule.max_consecutive_days,
        rule.min_rest_days,
        rule.min_stay_days,
        rule.crossing_weekdays,
        rule.max_crossings_per_month,
    )


DEFAULTS = (15, 15, 20, ["official"], 1, 12, 2, 1, [0, 1, 2, 3, 4, 5, 6], None)


def test_rules_page_shows_each_sides_rules(as_scheduler):
    page = read(as_scheduler.get("/staffing/rules"))

    assert page.headings[:3] == ["Staffing rules", "South", "North"]
    for side in ("south", "north"):
        assert page.values[f"{side}-weekday_min"] == "15"
        assert page.values[f"{side}-max_headcount"] == "20"
        assert page.checked[f"{side}-counted_categories-0"] is True
        assert page.checked[f"{side}-counted_categories-1"] is False
        assert page.values[f"{side}-min_stay_days"] == "1"
        assert page.values[f"{side}-max_crossings_per_month"] == ""
        assert all(page.checked[f"{side}-crossing_weekdays-{n}"] for n in range(7))
    assert page.text.count("Save rules") == 2


def test_a_scheduler_saves_a_sides_rules(as_scheduler, session):
    response = as_scheduler.post("/staffing/rules/south", data=RULES)

    assert response.status_code == 302
    assert rules_of(session, Side.SOUTH) == (
        10,
        8,
        18,
        ["official", "support"],
        2,
        10,
        3,
        5,
        [0, 3],
        6,
    )
    assert rules_of(session, Side.NORTH) == DEFAULTS
    page = read(as_scheduler.get(response.location))
    assert ("success", "Rules of the South saved.") in page.flashes
    assert page.values["south-weekend_min"] == "8"
    assert (page.values["south-min_stay_days"], page.values["south-max_crossings_per_month"]) == (
        "5",
        "6",
    )
    assert [n for n in range(7) if page.checked[f"south-crossing_weekdays-{n}"]] == [0, 3]


def test_a_blank_monthly_cap_means_no_cap(as_scheduler, session):
    set_rules(session, max_crossings_per_month=6)

    response = as_scheduler.post(
        "/staffing/rules/south", data={**RULES, "south-max_crossings_per_month": ""}
    )

    assert response.status_code == 302
    assert rules_of(session, Side.SOUTH)[-1] is None


@pytest.mark.parametrize(
    ("changes", "field_id", "message"),
    [
        (
            {"south-weekday_min": "19", "south-max_headcount": "18"},
            "south-weekday_min",
            "A minimum is between 0 and the maximum headcount (18).",
        ),
        (
            {"south-weekend_min": "25"},
            "south-weekend_min",
            "A minimum is between 0 and the maximum headcount (18).",
        ),
        (
            {"south-counted_categories": []},
            "south-counted_categories",
            "Choose at least one category to count.",
        ),
        (
            {"south-max_consecutive_days": "0"},
            "south-max_consecutive_days",
            "Number must be between 1 and 366.",
        ),
        ({"south-min_rest_days": "-1"}, "south-min_rest_days", "Number must be between 0 and 60."),
        (
            {"south-weekday_min": "many"},
            "south-weekday_min",
            "Not a valid integer value.",  # what is not a number is not checked for range
        ),
        (
            {"south-min_stay_days": "11"},
            "south-min_stay_days",
            "The shortest stay (11 days) is longer than the longest (10 days in a row).",
        ),
        (
            {"south-min_stay_days": "0"},
            "south-min_stay_days",
            "Number must be between 1 and 366.",
        ),
        (
            {"south-crossing_weekdays": []},
            "south-crossing_weekdays",
            "Choose at least one day of the week on which people may cross.",
        ),
        (
            {"south-crossing_weekdays": ["0", "7"]},
            "south-crossing_weekdays",
            "'7' is not a valid choice for this field.",
        ),
        (
            {"south-max_crossings_per_month": "-2"},
            "south-max_crossings_per_month",
            "Between 1 and 62, or blank for no limit.",
        ),
        (
            {"south-max_crossings_per_month": "0"},
            "south-max_crossings_per_month",
            "Between 1 and 62, or blank for no limit.",
        ),
    ],
)
def test_rules_that_cannot_hold_are_refused_with_a_message(
    as_scheduler, session, changes, field_id, message
):
    response = as_scheduler.post("/staffing/rules/south", data={**RULES, **changes})

    assert response.status_code == 422
    page = read(response)
    if field_id in ("south-counted_categories", "south-crossing_weekdays"):
        assert message in page.text
    else:
        assert page.errors == {field_id: message}
        assert page.values[field_id] == changes[field_id]
    assert rules_of(session, Side.SOUTH) == DEFAULTS


@pytest.mark.parametrize("role", [Role.ADMIN, Role.REVIEWER])
def test_administrators_and_reviewers_see_the_rules_but_cannot_change_them(client, session, role):
    log_in(client, make_user(session, role))

    page = read(client.get("/staffing/rules"))
    refused = client.post("/staffing/rules/south", data=RULES)

    assert page.values["south-weekday_min"] == "15"
    assert page.markup.count("<fieldset disabled>") == 2
    assert "Save rules" not in page.text
    assert refused.status_code == 403
    assert rules_of(session, Side.SOUTH) == DEFAULTS


def test_rules_of_an_unknown_side_are_404(as_scheduler):
    assert as_scheduler.post("/staffing/rules/east", data=RULES).status_code == 404


# --- the planner --------------------------------------------------------------------------


def small_rules(session) -> None:
    set_rules(
        session,
        weekday_min=2,
        weekend_min=2,
        max_headcount=4,
        min_night_duty=1,
        max_consecutive_days=4,
        min_rest_days=1,
    )


def plan(client, first: str = "2018-10-01", days: str = "10", side: str = "south"):
    """Ask for a plan, and let the worker search for it; return the answer to the request
    (the job's page, or the form refused)."""
    response = client.post("/staffing/plan", data={"side": side, "first_day": first, "days": days})
    if response.status_code == 303:
        run_jobs(client.application)
    return response


def proposal_link(client, response) -> str:
    """Where the plan's job, done, links to: its proposal."""
    shown = client.get(f"/jobs/{job_id_of(response)}.json").get_json()
    assert shown["state"] == "done", shown
    found = re.search(r'href="(/staffing/plans/\d+)"', shown["actions_html"])
    assert found, shown["actions_html"]
    return found[1]


def ranges(days: set[date]) -> str:
    """Days written as the proposal page writes them: runs joined by commas, or -."""
    runs: list[list[date]] = []
    for day in sorted(days):
        if runs and day == runs[-1][1] + timedelta(1):
            runs[-1][1] = day
        else:
            runs.append([day, day])
    shown = [a.isoformat() if a == b else f"{a.isoformat()} – {b.isoformat()}" for a, b in runs]
    return ", ".join(shown) or "-"


def span(first: date, last: date) -> set[date]:
    return {first + timedelta(n) for n in range((last - first).days + 1)}


@pytest.fixture
def crew(session):
    """Six officials (three qualified for nights) under small rules; one holds a stay too long
    for the rules, one a pinned stay, one a night on duty."""
    small_rules(session)
    people = [make_person(session, qualified=n < 3) for n in range(6)]
    stay(session, people[0], OCT(1), OCT(8))  # 8 days in a row; the rules allow 4
    stay(session, people[1], OCT(4), OCT(5), pinned=True)
    night(session, OCT(1), people[0])
    return people


def test_planning_shows_the_proposal_as_changes_to_the_current_plan(as_scheduler, session, crew):
    response = plan(as_scheduler)

    proposal = session.scalars(select(PlanProposal)).one()
    assert response.status_code == 303
    assert proposal_link(as_scheduler, response) == f"/staffing/plans/{proposal.id}"
    assert proposal.status is ProposalStatus.PROPOSED
    assert count(session, Stay) == 2  # nothing changes before accepting

    page = read(as_scheduler.get(f"/staffing/plans/{proposal.id}"))
    assert page.headings[0] == "Proposed plan: South, 2018-10-01 – 2018-10-10"
    period = span(OCT(1), OCT(10))
    current = {crew[0].id: span(OCT(1), OCT(8)), crew[1].id: span(OCT(4), OCT(5))}
    proposed: dict[int, set[date]] = {person.id: set() for person in crew}
    for person_id, first, last in proposal.plan["stays"]:
        proposed[person_id] |= span(date.fromisoformat(first), date.fromisoformat(last))
    proposed[crew[1].id] |= span(OCT(4), OCT(5))  # pinned, kept
    nights = Counter(person_id for person_id, _day in proposal.plan["nights"])
    assert sum(nights.values()) == 10
    rows = {row[0].text: page.texts(row)[1:] for row in page.rows[1:]}
    assert rows == {
        person.name_latin: [
            ranges(proposed[person.id] - current.get(person.id, set())),
            ranges(current.get(person.id, set()) - proposed[person.id]),
            "1" if person is crew[0] else "0",
            str(nights[person.id]),
        ]
        for person in crew
    }
    assert rows[crew[0].name_latin][1] != "-"  # 8 days in a row cannot stay
    assert all(proposed[p.id] <= period for p in crew)


def test_accepting_a_proposal_puts_its_stays_in_place_and_the_calendar_holds(
    as_scheduler, session, crew
):
    plan(as_scheduler)
    proposal = session.scalars(select(PlanProposal)).one()

    response = as_scheduler.post(f"/staffing/plans/{proposal.id}/accept")

    assert response.status_code == 302
    assert response.location == "/staffing/calendar?month=2018-10"
    session.expire_all()
    assert proposal.status is ProposalStatus.ACCEPTED
    planned = sorted(
        (person_id, date.fromisoformat(a), date.fromisoformat(b))
        for person_id, a, b in proposal.plan["stays"]
    )
    stays_now = sorted(
        (s.staff_member_id, s.first_day, s.last_day)
        for s in session.scalars(select(Stay).where(Stay.is_pinned.is_(False)))
    )
    assert stays_now == planned
    assert (OCT(4), OCT(5), True) in stays_of(session, crew[1])  # pinned, kept
    page = read(as_scheduler.get(response.location))
    assert ("success", "The plan is in place.") in page.flashes
    for row in page.rows_of("South")[1:]:
        for day in range(1, 11):
            assert row[day].marks == [], (row[0].text, day, row[day].title)
    nights = page.row("South", "Night duty")
    assert [nights[day].text for day in range(1, 11)] == ["1"] * 10
    again = as_scheduler.post(f"/staffing/plans/{proposal.id}/accept")
    assert again.location == f"/staffing/plans/{proposal.id}"
    assert ("error", "This proposal was already accepted.") in read(
        as_scheduler.get(again.location)
    ).flashes


def test_the_proposal_says_how_good_the_plan_is(as_scheduler, session, crew):
    plan(as_scheduler)
    proposal = session.scalars(select(PlanProposal)).one()

    page = read(as_scheduler.get(f"/staffing/plans/{proposal.id}"))

    crossings = re.search(r"; crossings (\d+); ", proposal.objective)
    assert crossings is not None
    assert re.search(
        r"Found (the best plan|a good plan, not proven the best) in [0-9.]+ s: "
        + crossings[1]
        + r" crossings; spread of nights \d+, of weekends \d+, of days on site \d+; within "
        r"[0-9.]+% of the best possible\.",
        page.text,
    )


@pytest.mark.parametrize(
    ("objective", "shown"),
    [
        (
            "optimal; 2.5 s; spread of nights 1, weekends 0, days on site 3; crossings 24; "
            "gap 0.00%",
            "Found the best plan in 2.5 s: 24 crossings; spread of nights 1, of weekends 0, of "
            "days on site 3; within 0.00% of the best possible.",
        ),
        (  # as proposals were kept before the planner counted crossings
            "feasible; 12.0 s; spread of nights 1, weekends 2, days on site 4",
            "Found a good plan, not proven the best in 12.0 s; spread of nights 1, of weekends "
            "2, of days on site 4.",
        ),
    ],
)
def test_a_proposals_summary_is_shown_in_the_readers_words(as_scheduler, session, objective, shown):
    proposal = PlanProposal(
        side=Side.SOUTH,
        first_day=OCT(1),
        last_day=OCT(10),
        status=ProposalStatus.PROPOSED,
        plan={"people": [], "stays": [], "nights": []},
        objective=objective,
        created_at=NOW,
    )
    session.add(proposal)
    session.commit()

    page = read(as_scheduler.get(f"/staffing/plans/{proposal.id}"))

    assert shown in page.text


def test_discarding_a_proposal_changes_nothing(as_scheduler, session, crew):
    plan(as_scheduler)
    proposal = session.scalars(select(PlanProposal)).one()
    before = sorted(
        (s.staff_member_id, s.first_day, s.last_day) for s in session.scalars(select(Stay))
    )

    response = as_scheduler.post(f"/staffing/plans/{proposal.id}/discard")

    assert response.status_code == 302
    assert response.location == "/staffing/plan"
    session.expire_all()
    assert proposal.status is ProposalStatus.DISCARDED
    after = sorted(
        (s.staff_member_id, s.first_day, s.last_day) for s in session.scalars(select(Stay))
    )
    assert after == before
    assert count(session, DutyShift) == 1
    page = read(as_scheduler.get(response.location))
    assert ("success", "The proposal was discarded.") in page.flashes
    assert page.texts(page.rows[1])[1:] == ["South", "2018-10-01 – 2018-10-10", "discarded"]
    shown = read(as_scheduler.get(f"/staffing/plans/{proposal.id}"))
    assert "Accept this plan" not in shown.text


def test_a_plan_no_one_can_meet_names_the_rule_and_the_day(as_scheduler, session):
    set_rules(session, weekday_min=3, weekend_min=2, max_headcount=5)
    for _ in range(2):
        make_person(session)

    response = plan(as_scheduler, days="7")

    shown = as_scheduler.get(f"/jobs/{job_id_of(response)}.json").get_json()
    assert shown["state"] == "failed"
    assert (
        "Only 2 officials are available on 2018-10-01; the minimum is 3." in (shown["detail_html"])
    )
    assert count(session, PlanProposal) == 0


@pytest.mark.parametrize(
    ("first", "days", "field_id", "message"),
    [
        ("2018-10-01", "93", "days", "Number must be between 1 and 92."),
        ("2018-10-01", "0", "days", "Number must be between 1 and 92."),
        ("0000-01-01", "7", "first_day", "Not a valid date value."),
        ("2099-12-30", "7", "days", "Enter a date between 2000-01-01 and 2099-12-31."),
    ],
)
def test_a_period_the_planner_cannot_take_is_refused(
    as_scheduler, session, first, days, field_id, message
):
    response = plan(as_scheduler, first=first, days=days)

    assert response.status_code == 422
    assert read(response).errors == {field_id: message}
    assert count(session, PlanProposal) == 0


def test_plan_page_starts_with_the_south_today_and_92_days(as_scheduler):
    page = read(as_scheduler.get("/staffing/plan"))

    assert page.values["first_day"] == today().isoformat()
    assert page.values["days"] == "92"
    assert "Up to 92 days." in page.text


# --- the calendar feed --------------------------------------------------------------------


def test_the_feed_holds_the_persons_stays_and_duty_in_seoul_time(client, session):
    person = make_person(session, name="김철수")
    other = make_person(session)
    own = stay(session, person, OCT(2), OCT(5))
    stay(session, other, OCT(2), OCT(5))
    night(session, OCT(3), person)
    services.set_duty(session, OCT(4), Side.SOUTH, Shift.DAY, [person], actor=None, now=NOW)
    session.commit()

    response = client.get(f"/staffing/feed/{person.feed_token}.ics")  # no login

    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    calendar = Calendar.from_ical(response.data)
    events = {str(event["UID"]): event for event in calendar.walk("VEVENT")}
    assert set(events) == {
        f"stay-{own.id}@office",
        *(f"duty-{d.id}@office" for d in _duties(session)),
    }
    on_site = events[f"stay-{own.id}@office"]
    assert (on_site["DTSTART"].dt, on_site["DTEND"].dt) == (OCT(2), OCT(6))  # all day, end excl.
    assert "DTSTART;VALUE=DATE:20181002" in response.get_data(as_text=True)
    by_summary = {str(e["SUMMARY"]): e for e in events.values()}
    night_duty = by_summary["야간 당직 / Night duty"]
    assert night_duty["DTSTART"].dt == datetime(2018, 10, 3, 9, 0, tzinfo=UTC)  # 18:00 in Seoul
    assert night_duty["DTEND"].dt == datetime(2018, 10, 4, 0, 0, tzinfo=UTC)  # 09:00 next day
    day_duty = by_summary["주간 당직 / Day duty"]
    assert day_duty["DTSTART"].dt == datetime(2018, 10, 4, 0, 0, tzinfo=UTC)
    assert day_duty["DTEND"].dt == datetime(2018, 10, 4, 9, 0, tzinfo=UTC)


def _duties(session) -> list[DutyShift]:
    return list(session.scalars(select(DutyShift)))


def test_an_unknown_feed_token_is_404(client, session):
    make_person(session)

    assert client.get("/staffing/feed/not-a-token.ics").status_code == 404
    assert client.get("/staffing/feed/" + "x" * 100 + ".ics").status_code == 404


def test_renewing_the_link_stops_the_old_one(as_scheduler, session):
    person = make_person(session)
    old = person.feed_token
    page = read(as_scheduler.get(f"/staffing/people/{person.id}"))
    assert f"/staffing/feed/{old}.ics" in page.text

    response = as_scheduler.post(f"/staffing/people/{person.id}/feed")

    assert response.status_code == 302
    page = read(as_scheduler.get(response.location))
    assert ("success", "New calendar link made; the old one no longer works.") in page.flashes
    session.refresh(person)
    assert person.feed_token != old
    assert f"/staffing/feed/{person.feed_token}.ics" in page.text
    assert as_scheduler.get(f"/staffing/feed/{old}.ics").status_code == 404
    assert as_scheduler.get(f"/staffing/feed/{person.feed_token}.ics").status_code == 200


def test_a_person_page_seen_by_a_reviewer_has_no_forms_and_no_feed_link(client, session):
    person = make_person(session, name="김철수")
    stay(session, person, OCT(1), OCT(5))
    log_in(client, make_user(session, Role.REVIEWER))

    page = read(client.get(f"/staffing/people/{person.id}"))

    assert page.texts(page.rows[1]) == ["2018-10-01", "2018-10-05", "5", "", ""]
    assert [form.action for form in page.forms if "/staffing/" in form.action] == []
    assert person.feed_token not in page.markup
