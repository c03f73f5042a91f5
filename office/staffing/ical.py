"""The iCalendar feed of one person's stays and duty, for the secret link on their page."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta

from icalendar import Calendar, Event

from office.i18n import SEOUL
from office.staffing.models import DutyShift, Shift, StaffMember, Stay

# Office hours 09:00-18:00; the night shift runs from 18:00 to 09:00 the next morning.
SHIFT_HOURS = {Shift.DAY: (time(9), time(18), 0), Shift.NIGHT: (time(18), time(9), 1)}


def _instant(day: date, at: time) -> datetime:
    return datetime.combine(day, at, tzinfo=SEOUL).astimezone(UTC)


def person_feed(
    person: StaffMember, stays: Sequence[Stay], duties: Sequence[DutyShift], *, now: datetime
) -> bytes:
    """Return an .ics calendar of the person's stays (all-day) and duty shifts."""
    feed = Calendar()
    feed.add("prodid", "-//office//Inter-Korean liaison office staffing//KO")
    feed.add("version", "2.0")
    feed.add("x-wr-calname", f"{person.name_ko} · 남북공동연락사무소 / Liaison office")
    for stay in stays:
        event = Event()
        event.add("uid", f"stay-{stay.id}@office")
        event.add("dtstamp", now)
        event.add("dtstart", stay.first_day)
        event.add("dtend", stay.last_day + timedelta(days=1))
        event.add("summary", "개성 체류 / On site in Kaesong")
        if stay.note:
            event.add("description", stay.note)
        feed.add_component(event)
    for duty in duties:
        start, end, next_day = SHIFT_HOURS[duty.shift]
        event = Event()
        event.add("uid", f"duty-{duty.id}@office")
        event.add("dtstamp", now)
        event.add("dtstart", _instant(duty.duty_on, start))
        event.add("dtend", _instant(duty.duty_on + timedelta(days=next_day), end))
        event.add(
            "summary",
            "야간 당직 / Night duty" if duty.shift is Shift.NIGHT else "주간 당직 / Day duty",
        )
        feed.add_component(event)
    ical: bytes = feed.to_ical()  # icalendar leaves `to_ical` unannotated
    return ical
