"""Waivers move only along the allowed transitions, each change kept in their history."""

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from office.errors import ConflictError, InvalidInput
from office.waivers import services
from office.waivers.models import WaiverStatus, WaiverStatusChange
from tests.factories import NOW, make_resource, make_user, make_waiver

S = WaiverStatus
ALLOWED = {
    (S.DRAFT, S.REQUESTED),
    (S.DRAFT, S.WITHDRAWN),
    (S.REQUESTED, S.GRANTED),
    (S.REQUESTED, S.PARTIALLY_GRANTED),
    (S.REQUESTED, S.DENIED),
    (S.REQUESTED, S.WITHDRAWN),
    (S.GRANTED, S.REVOKED),
    (S.GRANTED, S.EXPIRED),
    (S.PARTIALLY_GRANTED, S.REVOKED),
    (S.PARTIALLY_GRANTED, S.EXPIRED),
}


@pytest.mark.parametrize("target", list(S))
@pytest.mark.parametrize("source", list(S))
def test_only_the_allowed_transitions_are_accepted(session, source, target):
    diesel = make_resource(session)
    waiver = make_waiver(session, [(diesel, "L", "1000", "1000")], status=source)
    change = lambda: services.change_waiver_status(  # noqa: E731
        session, waiver, target, effective_on=date(2018, 10, 1), actor=None, now=NOW
    )
    if (source, target) in ALLOWED:
        change()
        assert waiver.status is target
    else:
        with pytest.raises(ConflictError, match="cannot go from"):
            change()
        assert waiver.status is source


def test_every_change_is_kept_with_who_when_and_why(session):
    reviewer = make_user(session, "reviewer")
    diesel = make_resource(session)
    waiver = make_waiver(session, [(diesel, "L", "1000", None)], status=S.DRAFT)
    services.change_waiver_status(
        session,
        waiver,
        S.REQUESTED,
        effective_on=date(2018, 9, 1),
        note="Sent",
        actor=reviewer,
        now=NOW,
    )
    services.change_waiver_status(
        session,
        waiver,
        S.GRANTED,
        effective_on=date(2018, 9, 5),
        note="Approved",
        actor=reviewer,
        now=NOW,
    )
    history = session.scalars(
        select(WaiverStatusChange)
        .where(WaiverStatusChange.waiver_id == waiver.id)
        .order_by(WaiverStatusChange.id)
    ).all()
    assert [(h.from_status, h.to_status) for h in history] == [
        (None, S.DRAFT),
        (S.DRAFT, S.REQUESTED),
        (S.REQUESTED, S.GRANTED),
    ]
    assert history[-1].changed_by_id == reviewer.id
    assert (history[-1].effective_on, history[-1].note) == (date(2018, 9, 5), "Approved")


def test_a_full_grant_caps_each_line_at_its_request(session):
    diesel = make_resource(session)
    waiver = make_waiver(session, [(diesel, "bbl", "100", None)], status=S.REQUESTED)
    services.change_waiver_status(
        session, waiver, S.GRANTED, effective_on=date(2018, 9, 5), actor=None, now=NOW
    )
    line = waiver.lines[0]
    assert line.granted_quantity == Decimal(100)
    assert line.granted_base == Decimal("15898.729493")  # litres


def test_a_partial_grant_needs_every_granted_quantity_first(session):
    diesel = make_resource(session)
    waiver = make_waiver(session, [(diesel, "L", "1000", None)], status=S.REQUESTED)
    with pytest.raises(ConflictError, match="Set the granted quantity of line 1"):
        services.change_waiver_status(
            session, waiver, S.PARTIALLY_GRANTED, effective_on=date(2018, 9, 5), actor=None, now=NOW
        )
    services.set_granted_quantity(session, waiver.lines[0], "400", actor=None, now=NOW)
    services.change_waiver_status(
        session, waiver, S.PARTIALLY_GRANTED, effective_on=date(2018, 9, 5), actor=None, now=NOW
    )
    assert waiver.lines[0].granted_base == Decimal(400)


def test_granted_cannot_exceed_requested_and_lines_freeze_after_the_decision(session):
    diesel = make_resource(session)
    waiver = make_waiver(session, [(diesel, "L", "1000", None)], status=S.REQUESTED)
    with pytest.raises(InvalidInput, match="cannot exceed the requested 1,000 L"):
        services.set_granted_quantity(session, waiver.lines[0], "1001", actor=None, now=NOW)
    services.change_waiver_status(
        session, waiver, S.GRANTED, effective_on=date(2018, 9, 5), actor=None, now=NOW
    )
    with pytest.raises(ConflictError, match="only while it is a draft or requested"):
        services.set_granted_quantity(session, waiver.lines[0], "10", actor=None, now=NOW)
    with pytest.raises(ConflictError, match="only while it is a draft or requested"):
        services.add_line(session, waiver, services.LineSpec(diesel, "L", "5"), actor=None, now=NOW)


def test_validity_must_not_end_before_it_starts(session):
    with pytest.raises(InvalidInput, match="cannot end"):
        make_waiver(session, [], valid_from=date(2018, 9, 1), valid_until=date(2018, 8, 1))


def test_duplicate_reference_is_refused(session):
    make_waiver(session, [], reference="MOU-1")
    with pytest.raises(InvalidInput, match="already exists"):
        make_waiver(session, [], reference="MOU-1")


def test_a_line_whose_unit_does_not_convert_is_refused(session):
    steel = make_resource(session, "steel", hs_code="7216.10", unit="t", barrels_per_tonne=None)
    with pytest.raises(InvalidInput, match="does not convert"):
        make_waiver(session, [(steel, "L", "10", "10")])


def test_effective_date_cannot_be_in_the_future(session):
    waiver = make_waiver(session, [], status=S.DRAFT)
    with pytest.raises(InvalidInput, match="effective date"):
        services.change_waiver_status(
            session, waiver, S.REQUESTED, effective_on=date(2019, 1, 2), actor=None, now=NOW
        )
