"""The regimes page and each resource's controls under every regime, as reviewers and
administrators use them: what the pages say, who may change a regime or its rules, and that
every resource's controls follow a change."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from office.audit.models import AuditEvent
from office.waivers import regimes, services
from office.waivers.models import (
    Basis,
    Control,
    HsRule,
    Regime,
    Resource,
    Waiver,
)
from tests.conftest import log_in
from tests.factories import NOW, audit_events, make_steel
from tests.waivers.test_views import read

UN = "UN Security Council sanctions (1718 Committee)"
ROK = "ROK carry-out approval (Ministry of Unification)"
US = "US Export Administration Regulations"


@pytest.fixture
def as_admin(client, admin):
    return log_in(client, admin)


@pytest.fixture
def as_reviewer(client, reviewer):
    return log_in(client, reviewer)


def regime(session, code: str) -> Regime:
    found = regimes.regime_by_code(session, code)
    session.refresh(found)
    return found


def laptop(session, origin: str = "CN", us_content: str = "8") -> Resource:
    """Laptops made abroad with some US content (HS 8471.30: prohibited under the UN's)."""
    resource = services.save_resource(
        session,
        code="laptop",
        name_ko="노트북",
        name_en="Laptop computers",
        hs_code="8471.30",
        unit="piece",
        origin=origin,
        us_content_percent=us_content,
        actor=None,
        now=NOW,
    )
    session.commit()
    return resource


def control_under(session, resource: Resource, code: str) -> tuple[Control, Basis]:
    session.refresh(resource)
    found = regimes.controls_of(resource)[regime(session, code).id]
    session.refresh(found)
    return found.control, found.basis


def regime_form(found: Regime, **changes: str) -> dict[str, str]:
    data = {
        "name_en": found.name_en,
        "name_ko": found.name_ko,
        "default_control": found.default_control.value,
        "us_content_threshold": "10" if found.us_content_rule else "",
        "note": found.note,
    }
    if found.in_force:
        data["in_force"] = "y"
    return {**data, **changes}


# --- the regimes page ---------------------------------------------------------------------


def test_the_regimes_page_lists_the_regimes_in_order_with_their_notes_and_rules(
    as_admin, every_regime
):
    page = read(as_admin.get("/regimes/"))
    text = page.text
    assert text.index(f"1. {UN}") < text.index(f"2. {ROK}") < text.index(f"3. {US}")
    assert "UNSCR 1718, 2375 and 2397; exemptions by the 1718 Committee (op. 25)." in text
    assert "every item taken north needs the Minister's approval" in text
    assert "Goods made in the United States, or with more than 10% US content." in text
    for heading in (f"1. {UN}", f"2. {ROK}", f"3. {US}"):
        assert f"{heading} in force" in text
    assert "not in force" not in text
    # Each regime's rules, in its own table, with the control of goods no rule names.
    assert ["2710", "capped", "UNSCR 2397 op. 5: refined petroleum"] in page.rows
    assert ["2711.19", "prohibited", "UNSCR 2375 op. 13: natural gas liquids"] in page.rows
    assert ["30", "not controlled", "EAR: medicine (EAR99), no licence"] in page.rows
    assert "No HS rules: every resource takes the regime's control of other goods." in text
    # An administrator reads it all and is offered no change.
    assert "Change the regime" not in text and "Add or change a rule" not in text


def test_a_regime_not_in_force_says_so(as_reviewer, session):
    page = read(as_reviewer.get("/regimes/"))
    assert page.text.count("not in force") == 2  # the suite screens under the UN's alone


def test_a_reviewer_is_offered_each_regimes_form_prefilled(as_reviewer, session):
    us = regime(session, "us")
    page = read(as_reviewer.get("/regimes/"))
    assert "Change the regime" in page.text and "Add or change a rule" in page.text
    form = read(as_reviewer.get(f"/regimes/{us.id}"))
    assert (form.values["name_en"], form.values["us_content_threshold"]) == (US, "10")
    assert form.values["default_control"] == "approval_required"
    # The UN regime has no share to set.
    un = regime(session, "un")
    assert "us_content_threshold" not in read(as_reviewer.get(f"/regimes/{un.id}")).values


def test_lowering_the_us_share_brings_goods_with_more_us_content_under_the_us_regime(
    as_reviewer, session, reviewer, every_regime
):
    computers = laptop(session, origin="CN", us_content="8")
    assert control_under(session, computers, "us") == (Control.NONE, Basis.NOT_SUBJECT)
    us = regime(session, "us")

    response = as_reviewer.post(
        f"/regimes/{us.id}",
        data=regime_form(us, us_content_threshold="5", note="De minimis lowered for the test."),
        follow_redirects=True,
    )

    assert response.status_code == 200
    assert f"{US} saved; resources reclassified." in read(response).text
    assert regime(session, "us").us_content_threshold == Decimal(5)
    assert control_under(session, computers, "us") == (Control.APPROVAL, Basis.DEFAULT)
    catalogue = read(as_reviewer.get("/resources/"))
    assert catalogue.row("laptop")[4:7] == ["prohibited", "approval required", "approval required"]
    page = read(as_reviewer.get(f"/resources/{computers.id}"))
    assert "Subject: 8% US content, above the 5% share." in page.text
    (event,) = audit_events(session, "regime.updated")
    assert (event.actor_id, event.detail["code"], event.detail["resources_reclassified"]) == (
        reviewer.id,
        "us",
        1,
    )

    # And back: at 10% the laptops are outside the US regime again.
    as_reviewer.post(f"/regimes/{us.id}", data=regime_form(regime(session, "us")))
    assert control_under(session, computers, "us") == (Control.NONE, Basis.NOT_SUBJECT)


def test_a_regime_put_out_of_force_leaves_the_catalogue(as_reviewer, session, every_regime):
    make_steel(session)
    assert read(as_reviewer.get("/resources/")).row("steel")[4:7] == [
        "prohibited",
        "approval required",
        "not controlled",
    ]
    rok = regime(session, "rok")
    data = regime_form(rok)
    del data["in_force"]
    assert as_reviewer.post(f"/regimes/{rok.id}", data=data).status_code == 302
    assert regime(session, "rok").in_force is False
    catalogue = read(as_reviewer.get("/resources/"))
    assert catalogue.rows[0][4:6] == ["UN", "US"]
    assert catalogue.row("steel")[4:6] == ["prohibited", "not controlled"]


def test_an_administrator_cannot_change_a_regime_or_its_rules(as_admin, session):
    us = regime(session, "us")
    rule = session.scalar(select(HsRule).where(HsRule.prefix == "72"))
    before = (us.us_content_threshold, us.name_en)
    assert as_admin.get(f"/regimes/{us.id}").status_code == 403
    posted = as_admin.post(f"/regimes/{us.id}", data=regime_form(us, us_content_threshold="5"))
    assert posted.status_code == 403
    rule_post = as_admin.post(
        "/regimes/rules", data={"regime": "us", "prefix": "8471", "control": "prohibited"}
    )
    assert rule_post.status_code == 403
    assert as_admin.post(f"/regimes/rules/{rule.id}/delete").status_code == 403
    us = regime(session, "us")
    assert (us.us_content_threshold, us.name_en) == before
    assert session.get(HsRule, rule.id) is not None
    assert session.scalar(select(HsRule).where(HsRule.prefix == "8471")) is None
    assert audit_events(session, "regime.updated") == []


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"us_content_threshold": "ten"}, "us_content_threshold", "Enter a share in percent"),
        ({"us_content_threshold": "150"}, "us_content_threshold", "Enter a share in percent"),
        ({"us_content_threshold": "5.555"}, "us_content_threshold", "Enter a share in percent"),
        ({"us_content_threshold": ""}, "us_content_threshold", "Enter a share in percent"),
        ({"name_en": ""}, "name_en", "This field is required."),
        ({"name_en": "x" * 121}, "name_en", "Field cannot be longer than 120 characters."),
        ({"default_control": "banned"}, "default_control", "Not a valid choice."),
    ],
)
def test_a_regime_change_that_makes_no_sense_is_refused_and_changes_nothing(
    as_reviewer, session, every_regime, changes, field, message
):
    computers = laptop(session, origin="CN", us_content="8")
    us = regime(session, "us")
    response = as_reviewer.post(f"/regimes/{us.id}", data=regime_form(us, **changes))
    assert response.status_code == 422
    page = read(response)
    assert page.errors[field].startswith(message)
    if field != "default_control":  # a choice not offered is not kept
        assert page.values[field] == changes[field]  # kept as typed
    us = regime(session, "us")
    assert (us.us_content_threshold, us.name_en, us.default_control) == (
        Decimal(10),
        US,
        Control.APPROVAL,
    )
    assert control_under(session, computers, "us") == (Control.NONE, Basis.NOT_SUBJECT)
    assert audit_events(session, "regime.updated") == []


def test_an_unknown_regime_is_not_found(as_reviewer):
    assert as_reviewer.get("/regimes/999").status_code == 404
    assert as_reviewer.post("/regimes/rules/999999/delete").status_code == 404


# --- the HS rules of each regime ----------------------------------------------------------


def test_a_rule_under_one_regime_changes_the_control_under_that_regime_alone(
    as_reviewer, session, every_regime
):
    steel = make_steel(session)
    response = as_reviewer.post(
        "/regimes/rules",
        data={"regime": "rok", "prefix": "72", "control": "none", "note": "Steel for repairs"},
        follow_redirects=True,
    )
    assert f"Rule for HS 72 under {ROK} saved; resources reclassified." in read(response).text
    assert control_under(session, steel, "rok") == (Control.NONE, Basis.RULE)
    assert control_under(session, steel, "un") == (Control.PROHIBITED, Basis.RULE)
    page = read(as_reviewer.get(f"/resources/{steel.id}"))
    assert page.row(ROK) == [ROK, "not controlled", "HS rule 72: Steel for repairs"]

    rule = session.scalar(
        select(HsRule).where(HsRule.regime_id == regime(session, "rok").id, HsRule.prefix == "72")
    )
    response = as_reviewer.post(f"/regimes/rules/{rule.id}/delete", follow_redirects=True)
    assert f"Rule for HS 72 under {ROK} removed; resources reclassified." in read(response).text
    assert control_under(session, steel, "rok") == (Control.APPROVAL, Basis.DEFAULT)
    assert control_under(session, steel, "un") == (Control.PROHIBITED, Basis.RULE)


def test_the_rule_form_comes_prefilled_for_a_regime_or_a_rule(as_reviewer, session):
    assert read(as_reviewer.get("/regimes/?regime=us")).values["regime"] == "us"
    rule = session.scalar(select(HsRule).where(HsRule.prefix == "2710"))
    page = read(as_reviewer.get(f"/regimes/?rule={rule.id}"))
    assert (page.values["regime"], page.values["prefix"], page.values["control"]) == (
        "un",
        "2710",
        "capped",
    )
    assert page.values["note"] == "UNSCR 2397 op. 5: refined petroleum"


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"regime": "eu", "prefix": "72", "control": "none"}, "regime", "Not a valid choice."),
        ({"regime": "us", "prefix": "7", "control": "none"}, "prefix", "An HS code has 2 to 10"),
        ({"regime": "us", "prefix": "72", "control": "maybe"}, "control", "Not a valid choice."),
    ],
)
def test_a_rule_that_makes_no_sense_is_refused_beside_its_field(
    as_reviewer, session, data, field, message
):
    rules = session.scalar(select(func.count()).select_from(HsRule))
    response = as_reviewer.post("/regimes/rules", data=data)
    assert response.status_code == 422
    assert read(response).errors[field].startswith(message)
    assert session.scalar(select(func.count()).select_from(HsRule)) == rules


# --- a resource under each regime ---------------------------------------------------------


def test_the_resource_page_names_what_decided_each_regimes_control(as_admin, session, every_regime):
    steel = make_steel(session)
    page = read(as_admin.get(f"/resources/{steel.id}"))
    assert page.row(UN) == [UN, "prohibited", "HS rule 72: UNSCR 2397 op. 7"]
    assert page.row(ROK) == [
        ROK,
        "approval required",
        "No HS rule matches: the regime's control of other goods",
    ]
    assert page.row(US) == [
        US,
        "not controlled",
        "Not subject: made in South Korea, with 0% US content, not above the 10% share.",
    ]
    # An administrator reads the page but is offered no change.
    assert "Change the resource" not in page.text
    assert as_admin.post(f"/resources/{steel.id}", data={}).status_code == 403


def test_goods_of_us_origin_are_under_the_us_regime_by_its_rules(as_admin, session, every_regime):
    rice = services.save_resource(
        session,
        code="rice-us",
        name_ko="미국 쌀",
        name_en="US rice",
        hs_code="1006.30",
        unit="kg",
        origin="us",
        actor=None,
        now=NOW,
    )
    session.commit()
    assert rice.origin == "US"
    page = read(as_admin.get(f"/resources/{rice.id}"))
    assert page.row(US) == [
        US,
        "not controlled",
        "HS rule 10: EAR: food (EAR99), no licence Subject: made in the United States.",
    ]
    assert "United States US" in page.text  # the origin, named and coded


def test_a_regime_not_in_force_still_shows_on_the_resource_page(as_admin, session):
    steel = make_steel(session)
    page = read(as_admin.get(f"/resources/{steel.id}"))
    assert page.row(f"{ROK} not in force")[1] == "approval required"


def test_the_catalogue_has_a_badge_per_regime_in_force(as_admin, session, every_regime):
    make_steel(session)
    laptop(session, origin="US", us_content="100")
    page = read(as_admin.get("/resources/"))
    assert page.rows[0][4:9] == ["UN", "ROK", "US", "Origin", "US content (%)"]
    assert page.row("laptop")[4:9] == [
        "prohibited",
        "approval required",
        "approval required",
        "United States US",
        "100",
    ]
    assert page.row("steel")[4:7] == ["prohibited", "approval required", "not controlled"]


def test_a_reviewer_sets_a_resources_origin_and_us_content(as_reviewer, session, every_regime):
    steel = make_steel(session)
    data = {"code": "steel", "name_ko": "철강", "name_en": "Steel", "hs_code": "7216.10"}
    response = as_reviewer.post(
        f"/resources/{steel.id}",
        data={**data, "unit": "t", "origin": "jp", "us_content_percent": "25.5"},
        follow_redirects=True,
    )
    assert "Resource steel saved." in read(response).text
    session.refresh(steel)
    assert (steel.origin, steel.us_content_percent) == ("JP", Decimal("25.5"))
    assert control_under(session, steel, "us") == (Control.APPROVAL, Basis.DEFAULT)
    page = read(as_reviewer.get(f"/resources/{steel.id}"))
    assert (page.values["origin"], page.values["us_content_percent"]) == ("JP", "25.5")


def test_a_new_resource_left_without_origin_is_korean_with_no_us_content(as_reviewer, session):
    form = read(as_reviewer.get("/resources/"))
    assert (form.values["origin"], form.values["us_content_percent"]) == ("KR", "0")
    data = {"code": "cement", "name_ko": "시멘트", "name_en": "Cement", "hs_code": "2523.29"}
    blank = {"origin": "", "us_content_percent": ""}
    as_reviewer.post("/resources/", data={**data, "unit": "t", **blank})
    cement = services.find_resource(session, "cement")
    assert (cement.origin, cement.us_content_percent) == ("KR", Decimal(0))


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"origin": "USA"}, "origin", "The origin is a two-letter country code (ISO 3166)"),
        ({"origin": "1A"}, "origin", "The origin is a two-letter country code (ISO 3166)"),
        ({"us_content_percent": "12,5"}, "us_content_percent", "Enter a share in percent"),
        ({"us_content_percent": "101"}, "us_content_percent", "Enter a share in percent"),
        ({"us_content_percent": "-1"}, "us_content_percent", "Enter a share in percent"),
    ],
)
def test_a_bad_origin_or_us_content_is_refused_beside_the_field(
    as_reviewer, session, changes, field, message
):
    data = {"code": "cement", "name_ko": "시멘트", "name_en": "Cement", "hs_code": "2523.29"}
    response = as_reviewer.post("/resources/", data={**data, "unit": "t", **changes})
    assert response.status_code == 422
    page = read(response)
    assert page.errors[field].startswith(message)
    assert page.values[field] == changes[field]
    assert services.find_resource(session, "cement") is None


# --- waivers under a regime ---------------------------------------------------------------

WAIVER = {"title": "Office running", "purpose": "", "valid_from": "2018-01-01"}


@pytest.mark.parametrize(
    ("authority", "standing", "regime_name", "expected"),
    [
        ("rok_mou_blanket", "", ROK, True),  # blanket approvals stand
        ("rok_mou_blanket", "no", ROK, False),
        ("rok_mou_individual", "", ROK, False),
        ("un_1718_committee", "yes", UN, True),  # the op. 5 notification of petroleum
        ("us_government", "", US, False),
    ],
)
def test_a_waiver_is_under_its_authoritys_regime_and_stands_as_its_creator_says(
    as_reviewer, session, authority, standing, regime_name, expected
):
    response = as_reviewer.post(
        "/waivers/new",
        data={**WAIVER, "reference": "MOU-S-1", "authority": authority, "standing": standing},
        follow_redirects=True,
    )
    assert response.status_code == 200
    waiver = session.scalar(select(Waiver).where(Waiver.reference == "MOU-S-1"))
    assert (waiver.regime.name_en, waiver.standing) == (regime_name, expected)
    page = read(response)
    assert f"Regime {regime_name}" in page.text
    shown = "Standing Yes: drawdowns" if expected else "Standing No: drawn on only"
    assert shown in page.text


def test_the_waiver_form_groups_the_authorities_by_regime(as_reviewer):
    markup = as_reviewer.get("/waivers/new").get_data(as_text=True)
    assert markup.index(f'<optgroup label="{UN}">') < markup.index(f'<optgroup label="{ROK}">')
    assert markup.index(f'<optgroup label="{ROK}">') < markup.index(f'<optgroup label="{US}">')
    assert read(as_reviewer.get("/waivers/new")).options["standing"] == ["", "yes", "no"]


def test_a_standing_choice_not_offered_is_refused(as_reviewer, session):
    response = as_reviewer.post(
        "/waivers/new",
        data={**WAIVER, "reference": "MOU-S-2", "authority": "rok_mou_blanket", "standing": "1"},
    )
    assert response.status_code == 422
    assert read(response).errors["standing"] == "Not a valid choice."
    assert session.scalar(select(Waiver).where(Waiver.reference == "MOU-S-2")) is None


# --- in Korean ----------------------------------------------------------------------------


def test_the_regimes_and_a_resources_controls_read_in_korean(as_reviewer, session, every_regime):
    as_reviewer.environ_base["HTTP_ACCEPT_LANGUAGE"] = "ko"
    steel = make_steel(session)
    regimes_page = read(as_reviewer.get("/regimes/")).text
    assert "1. 유엔 안보리 대북제재 (1718 위원회)" in regimes_page
    assert "3. 미국 수출관리규정 (EAR)" in regimes_page
    assert "미국산 물품, 또는 미국산 부품 비율이 10%를 넘는 물품." in regimes_page
    assert "유엔 안보리 대북제재 (1718 위원회) HS 규칙" in regimes_page
    assert "시행 중" in regimes_page and "규칙 추가·변경" in regimes_page
    page = read(as_reviewer.get(f"/resources/{steel.id}"))
    assert page.row("대한민국 반출 승인 (통일부)") == [
        "대한민국 반출 승인 (통일부)",
        "승인 필요",
        "맞는 HS 규칙 없음: 제재 체계의 그 밖의 물품 통제 구분",
    ]
    assert page.row("미국 수출관리규정 (EAR)")[2] == (
        "적용 대상 아님: 원산지 대한민국, 미국산 부품 비율 0%로 기준 10% 이하입니다."
    )
    catalogue = read(as_reviewer.get("/resources/"))
    assert catalogue.rows[0][4:7] == ["유엔", "한국", "미국"]
    assert catalogue.row("steel")[4:7] == ["금지", "승인 필요", "비통제"]


def test_the_audit_trail_names_a_regime_changed(as_reviewer, session, every_regime):
    us = regime(session, "us")
    as_reviewer.post(f"/regimes/{us.id}", data=regime_form(us, us_content_threshold="5"))
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "regime.updated"))
    assert event is not None
    page = as_reviewer.get("/audit/").get_data(as_text=True)
    assert "Sanctions regime changed" in page
    assert f'href="/regimes/#regime-us">{US}</a>' in page
