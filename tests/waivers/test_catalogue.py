"""Resources take their control under each regime from its HS rules: longest prefix wins."""

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from office.auth.permissions import Role
from office.errors import ConflictError, InvalidInput
from office.waivers import regimes, services
from office.waivers.models import Control, HsRule, Regime, Resource
from tests.factories import (
    NOW,
    audit_events,
    draw,
    make_resource,
    make_user,
    make_waiver,
    recorded,
)


def rule(prefix: str, control: Control) -> HsRule:
    return HsRule(prefix=prefix, control=control, note="")


def goods(hs_code: str, origin: str = "KR", us_content: str = "0") -> Resource:
    return Resource(hs_code=hs_code, origin=origin, us_content_percent=Decimal(us_content))


def un_control(session, hs_code: str) -> Control:
    un = regimes.regime_by_code(session, "un")
    return regimes.determine(un, un.rules, goods(hs_code)).control


@pytest.mark.parametrize(
    ("hs_code", "expected"),
    [
        ("271019", Control.CAPPED),
        ("721610", Control.PROHIBITED),
        ("890100", Control.PROHIBITED),
        ("710812", Control.NONE),  # gold is chapter 71, outside the default rules
        ("900000", Control.NONE),
        ("100630", Control.NONE),
    ],
)
def test_default_rules_classify_by_chapter(session, hs_code, expected):
    assert un_control(session, hs_code) is expected


def test_longest_prefix_wins():
    regime = Regime(code="x", default_control=Control.NONE, us_content_rule=False)
    rules = [
        rule("85", Control.PROHIBITED),
        rule("8516", Control.NONE),
        rule("851610", Control.CAPPED),
    ]
    assert regimes.determine(regime, rules, goods("851610")).control is Control.CAPPED
    assert regimes.determine(regime, rules, goods("851620")).control is Control.NONE
    assert regimes.determine(regime, rules, goods("850211")).control is Control.PROHIBITED
    assert regimes.determine(regime, rules, goods("100630")).control is Control.NONE


def test_a_new_rule_reclassifies_existing_resources(session):
    heater = make_resource(
        session, "heater", hs_code="8516.10", unit="piece", barrels_per_tonne=None
    )
    assert heater.control is Control.PROHIBITED
    services.save_hs_rule(
        session, prefix="8516", control=Control.NONE, note="exempt", actor=None, now=NOW
    )
    assert heater.control is Control.NONE
    removed = session.scalar(select(HsRule).where(HsRule.prefix == "8516"))
    services.delete_hs_rule(session, removed, actor=None, now=NOW)
    assert heater.control is Control.PROHIBITED


def test_installing_the_default_rules_puts_back_the_missing_ones_on_the_audit_trail(session):
    reviewer = make_user(session, Role.REVIEWER)
    steel = make_resource(session, "steel", hs_code="7216.10", unit="t", barrels_per_tonne=None)
    session.delete(session.scalar(select(HsRule).where(HsRule.prefix == "72")))
    services.reclassify_resources(session)
    assert steel.control is Control.NONE
    installed_at = NOW - timedelta(days=1)
    services.install_default_hs_rules(session, actor=reviewer, now=installed_at)
    assert steel.control is Control.PROHIBITED
    (event,) = audit_events(session, "hs_rule.defaults_installed")
    assert recorded(event) == (reviewer.id, installed_at, None, None)
    assert event.detail == {"prefixes": ["un:72"], "resources_reclassified": 1}


@pytest.mark.parametrize("hs_code", ["271", "27101999999", "27a0", "", "٢٧١٠"])
def test_hs_codes_have_four_to_ten_digits(session, hs_code):
    with pytest.raises(InvalidInput, match="4 to 10 digits"):
        services.save_resource(
            session,
            code="x",
            name_ko="x",
            name_en="x",
            hs_code=hs_code,
            unit="kg",
            actor=None,
            now=NOW,
        )


def test_hs_code_dots_are_dropped(session):
    resource = make_resource(session, "cement", hs_code="2523.29", unit="t", barrels_per_tonne=None)
    assert resource.hs_code == "252329"


def test_duplicate_code_and_unknown_unit_are_refused(session):
    make_resource(session)
    with pytest.raises(InvalidInput, match="already exists"):
        services.save_resource(
            session,
            code="DIESEL",
            name_ko="x",
            name_en="x",
            hs_code="2710.19",
            unit="L",
            actor=None,
            now=NOW,
        )
    with pytest.raises(InvalidInput, match="Unknown unit"):
        services.save_resource(
            session,
            code="x",
            name_ko="x",
            name_en="x",
            hs_code="2710.19",
            unit="gallon",
            actor=None,
            now=NOW,
        )


def test_unit_of_a_resource_with_history_cannot_change(session):
    diesel = make_resource(session)
    line = make_waiver(session, [(diesel, "L", "1000", "1000")]).lines[0]
    draw(session, diesel, "10", line=line)
    with pytest.raises(ConflictError, match="its unit cannot change"):
        services.save_resource(
            session,
            code="diesel",
            name_ko="경유",
            name_en="Diesel",
            hs_code="2710.19",
            unit="t",
            actor=None,
            now=NOW,
            resource=diesel,
        )


def test_saving_a_rule_for_an_existing_prefix_changes_it(session):
    services.save_hs_rule(
        session, prefix="27.10", control=Control.PROHIBITED, note="stricter", actor=None, now=NOW
    )
    rules = session.scalars(select(HsRule).where(HsRule.prefix == "2710")).all()
    assert [(r.control, r.note) for r in rules] == [(Control.PROHIBITED, "stricter")]
    assert make_resource(session).control is Control.PROHIBITED


def test_a_new_resource_has_one_control_under_each_regime(session):
    steel = make_resource(session, "steel", hs_code="7216.10", unit="t", barrels_per_tonne=None)
    # As saved, before it is read again: the list holds each regime's control once.
    assert sorted(control.regime.code for control in steel.controls) == ["rok", "un", "us"]
