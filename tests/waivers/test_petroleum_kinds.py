"""A resource records the kind of petroleum product it is (chosen, or guessed from its HS
code); without a barrels-per-tonne factor of its own it converts by its kind's UNSD factor,
in waiver lines, drawdowns and reports alike (#17)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from office.audit.models import AuditEvent
from office.auth.permissions import Role
from office.db import create_engine_for
from office.errors import InvalidInput
from office.waivers import ledger, services
from office.waivers.labels import factor_text
from office.waivers.models import Classification, Resource
from office.waivers.petroleum import UNSD_BARRELS_PER_TONNE, PetroleumKind, kind_from_hs
from office.waivers.screening import check_item, screen_item
from tests.conftest import log_in
from tests.factories import NOW, draw, make_user, make_waiver
from tests.support import migrate, scratch_database
from tests.waivers.test_views import read

DIESEL = {"code": "diesel", "name_ko": "경유", "name_en": "Diesel", "unit": "L"}


def save(session, hs_code: str = "2710.19", **changes) -> Resource:
    fields = {**DIESEL, "hs_code": hs_code, **changes}
    resource = services.save_resource(session, **fields, actor=None, now=NOW)
    session.commit()
    return resource


@pytest.mark.parametrize(
    ("hs_code", "kind"),
    [
        ("2710.12", PetroleumKind.MOTOR_GASOLINE),
        ("2710.12.20", PetroleumKind.MOTOR_GASOLINE),
        ("2710.19", PetroleumKind.GAS_DIESEL_OIL),
        ("2709.00", PetroleumKind.CRUDE_OIL),
        ("2711.12", PetroleumKind.LPG),
        ("2711.13", PetroleumKind.LPG),
        ("2711.19", PetroleumKind.LPG),
        ("2711.11", None),  # liquefied natural gas
        ("2710.20", None),  # with biodiesel
        ("2710.91", None),  # waste oils
        ("1006.30", None),
    ],
)
def test_a_resource_takes_the_kind_its_hs_code_names(session, hs_code, kind):
    resource = save(session, hs_code)

    assert resource.petroleum_kind is kind
    assert kind_from_hs(resource.hs_code) is kind


def test_the_unsd_factors_are_those_of_the_un_statistics_division():
    assert {kind.value: str(factor) for kind, factor in UNSD_BARRELS_PER_TONNE.items()} == {
        "gas_diesel_oil": "7.23",
        "motor_gasoline": "8.50",
        "kerosene": "7.77",
        "lpg": "11.65",
        "residual_fuel_oil": "6.62",
        "crude_oil": "7.32",
    }


def test_a_kind_chosen_wins_over_the_one_the_hs_code_names(session):
    kerosene = save(session, "2710.19", code="kerosene", petroleum_kind="kerosene")

    assert kerosene.petroleum_kind is PetroleumKind.KEROSENE
    assert kerosene.effective_barrels_per_tonne == Decimal("7.77")


def test_a_product_without_its_own_factor_takes_its_kinds_unsd_default(session):
    diesel = save(session)

    assert diesel.barrels_per_tonne is None
    assert (diesel.effective_barrels_per_tonne, diesel.barrels_per_tonne_is_default) == (
        Decimal("7.23"),
        True,
    )
    assert factor_text(diesel) == "7.23, UNSD default for gas/diesel oil"


def test_a_products_own_factor_wins_over_its_kinds_default(session):
    diesel = save(session, barrels_per_tonne="7.5")

    assert diesel.petroleum_kind is PetroleumKind.GAS_DIESEL_OIL
    assert (diesel.effective_barrels_per_tonne, diesel.barrels_per_tonne_is_default) == (
        Decimal("7.5"),
        False,
    )
    assert factor_text(diesel) == "7.5"


def test_a_product_with_no_kind_and_no_factor_has_no_factor(session):
    blend = save(session, "2710.20", code="biodiesel")

    assert (blend.effective_barrels_per_tonne, blend.barrels_per_tonne_is_default) == (None, False)
    assert factor_text(blend) == ""


def test_an_unknown_kind_is_refused_naming_the_field(session):
    with pytest.raises(InvalidInput) as refused:
        save(session, petroleum_kind="naphtha")

    assert refused.value.field == "petroleum_kind"
    assert str(refused.value) == (
        "Unknown kind of petroleum product naphtha; leave it blank to take it from the HS code."
    )


def test_the_audit_trail_records_the_kind_and_the_own_factor(session):
    save(session, barrels_per_tonne="7.5")

    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "resource.saved")).one()
    assert (event.detail["petroleum_kind"], event.detail["barrels_per_tonne"]) == (
        "gas_diesel_oil",
        "7.5",
    )


def test_waiver_lines_in_tonnes_and_drawdowns_in_litres_agree_through_the_default(session):
    diesel = save(session)  # as the API creates it: no factor of its own
    line = make_waiver(session, [(diesel, "t", "1", "1")]).lines[0]

    # 1 t of gas/diesel oil = 7.23 bbl = 1,149.478 L
    assert line.granted_base == Decimal("1149.478142")
    entry = draw(session, diesel, "0.5", unit="t", line=line)
    assert (entry.base_quantity, entry.classification) == (
        Decimal("574.739071"),
        Classification.COVERED,
    )
    assert services.line_usage(line).remaining == Decimal("0.500000")
    with pytest.raises(ledger.DrawdownRefused) as refused:
        draw(session, diesel, "600", unit="L", line=line)
    assert refused.value.classification is Classification.OVER_CAP
    assert str(refused.value) == (
        f"Waiver {line.waiver.reference} line 1 has 0.5 t left; this drawdown asks for 0.521976 t."
    )


# --- the resource pages -------------------------------------------------------------------


@pytest.fixture
def as_reviewer(client, session):
    return log_in(client, make_user(session, Role.REVIEWER))


def test_the_catalogue_shows_the_default_factor_and_adds_a_resource_with_its_kind(
    as_reviewer, session
):
    save(session)
    page = read(as_reviewer.get("/resources/"))
    assert page.row("diesel")[-1] == "7.23, UNSD default for gas/diesel oil"
    assert page.options["petroleum_kind"] == [
        "",
        "gas_diesel_oil",
        "motor_gasoline",
        "kerosene",
        "lpg",
        "residual_fuel_oil",
        "crude_oil",
    ]

    response = as_reviewer.post(
        "/resources/",
        data={**DIESEL, "code": "kerosene", "hs_code": "2710.19", "petroleum_kind": "kerosene"},
        follow_redirects=True,
    )

    assert "Resource kerosene added." in read(response).text
    assert read(response).row("kerosene")[-1] == "7.77, UNSD default for kerosene and jet fuel"


def test_the_resource_page_shows_the_factor_used_and_saves_a_kind_or_guesses_it(
    as_reviewer, session
):
    diesel = save(session)
    page = read(as_reviewer.get(f"/resources/{diesel.id}"))
    assert "Barrels per tonne used 7.23, UNSD default for gas/diesel oil" in page.text
    assert (page.values["barrels_per_tonne"], page.values["petroleum_kind"]) == (
        "",
        "gas_diesel_oil",
    )

    data = {**DIESEL, "hs_code": "2710.19", "petroleum_kind": "residual_fuel_oil"}
    as_reviewer.post(f"/resources/{diesel.id}", data=data)
    session.refresh(diesel)
    assert diesel.effective_barrels_per_tonne == Decimal("6.62")

    # Left blank, the kind is the HS code's again; a factor of its own wins.
    data = {**DIESEL, "hs_code": "2710.12", "petroleum_kind": "", "barrels_per_tonne": "8.4"}
    as_reviewer.post(f"/resources/{diesel.id}", data=data)
    session.refresh(diesel)
    assert (diesel.petroleum_kind, diesel.effective_barrels_per_tonne) == (
        PetroleumKind.MOTOR_GASOLINE,
        Decimal("8.4"),
    )
    assert "Barrels per tonne used 8.4" in read(as_reviewer.get(f"/resources/{diesel.id}")).text


def test_an_unknown_kind_posted_is_refused_beside_its_field(as_reviewer, session):
    response = as_reviewer.post(
        "/resources/", data={**DIESEL, "hs_code": "2710.19", "petroleum_kind": "naphtha"}
    )

    assert response.status_code == 422
    assert read(response).errors["petroleum_kind"] == "Not a valid choice."


def test_the_pages_name_the_kinds_in_korean(as_reviewer, session):
    save(session)
    as_reviewer.environ_base["HTTP_ACCEPT_LANGUAGE"] = "ko"

    page = read(as_reviewer.get("/resources/"))

    assert page.row("diesel")[-1] == "7.23 (경유, 유엔 통계처 기본값)"
    assert "석유제품 종류" in page.text
    assert "등유·항공유" in page.text  # a kind offered


# --- the migration ------------------------------------------------------------------------


def test_the_migration_gives_existing_resources_the_kind_their_hs_code_names(tmp_path):
    with scratch_database(tmp_path) as url:
        engine = create_engine_for(url)
        try:
            migrate(engine, "0026")
            with engine.begin() as connection:
                for number, (code, hs) in enumerate(
                    [
                        ("diesel", "271019"),
                        ("gasoline", "271012"),
                        ("lpg", "271112"),
                        ("crude", "270900"),
                        ("blend", "271020"),
                        ("rice", "100630"),
                    ],
                    start=1,
                ):
                    connection.execute(
                        text(
                            "INSERT INTO resources (id, code, name_ko, name_en, hs_code, unit, "
                            "control) VALUES (:id, :code, :code, :code, :hs, 'L', 'none')"
                        ),
                        {"id": number, "code": code, "hs": hs},
                    )
            migrate(engine, "0027")
            with engine.connect() as connection:
                kinds = dict(
                    connection.execute(text("SELECT code, petroleum_kind FROM resources")).all()
                )
            assert kinds == {
                "diesel": "gas_diesel_oil",
                "gasoline": "motor_gasoline",
                "lpg": "lpg",
                "crude": "crude_oil",
                "blend": None,
                "rice": None,
            }
            with pytest.raises(IntegrityError), engine.begin() as connection:
                connection.execute(text("UPDATE resources SET petroleum_kind = 'naphtha'"))
            migrate(engine, "0026", down=True)
            with engine.connect() as connection:
                assert connection.execute(text("SELECT count(*) FROM resources")).scalar() == 6
        finally:
            engine.dispose()


def test_the_what_if_screening_converts_by_the_default_as_the_ledger_does(session):
    diesel = save(session)  # no factor of its own: gas/diesel oil's 7.23
    line = make_waiver(session, [(diesel, "L", "10000", "10000")]).lines[0]
    asked = check_item(
        hs_code="2710.19",
        origin="KR",
        us_content_percent="0",
        quantity="1",
        unit="t",
        occurred_on=date(2018, 10, 1),
    )

    [found] = next(a for a in screen_item(session, asked).regimes if a.regime.code == "un").lines

    # 1 t = 7.23 bbl = 1,149.478 L, as a drawdown of 1 t would count it
    assert (found.line.id, found.classification) == (line.id, Classification.COVERED)
    assert found.remaining_after == Decimal("8850.521858")
