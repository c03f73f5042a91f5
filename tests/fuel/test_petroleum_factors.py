"""The UN petroleum report never fails for lack of a factor (#17): each product's line says
the barrels per tonne it was converted by and whether that is the product's own or its kind's
UNSD default; a product with neither is listed in what it can be given in, with a note."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest

from office.auth.permissions import Role
from office.fuel import report
from office.waivers import ledger
from office.waivers import services as waivers
from office.waivers.models import Resource
from tests.conftest import log_in
from tests.factories import NOW, draw, make_approval, make_user, make_waiver
from tests.fuel.test_views import read
from tests.jobs import fetched
from tests.security.test_reports import pdf_text

DAY = date(2018, 10, 10)
REPORT = "/operations/petroleum?start=2018-09-28"  # 2018-09-28 to 2018-10-27
NO_TONNES = (
    "biodiesel (HS 2710.20): no barrels per tonne of its own and no kind of petroleum product "
    "with a UNSD default, so its tonnes cannot be given; set either on its resource page."
)


def product(
    session, code: str, hs_code: str, factor: str | None = None, kind: str | None = None
) -> Resource:
    resource = waivers.save_resource(
        session,
        code=code,
        name_ko=code,
        name_en=code.title(),
        hs_code=hs_code,
        unit="L",
        barrels_per_tonne=factor,
        petroleum_kind=kind,
        actor=None,
        now=NOW,
    )
    session.commit()
    return resource


def transfer(session, resource: Resource, litres: str = "1000") -> None:
    line = make_waiver(session, [(resource, "L", "100000", "100000")]).lines[0]
    draw(session, resource, litres, line=line, on=DAY)


@pytest.fixture
def as_admin(client, session):
    return log_in(client, make_user(session, Role.ADMIN, name="Admin Kim"))


@pytest.fixture
def products(session) -> dict[str, Resource]:
    """Diesel at the UNSD default, gasoline at a factor of its own, and a biodiesel blend
    (HS 2710.20) that names no kind and has no factor; 1,000 L of each went north."""
    made = {
        "diesel": product(session, "diesel", "2710.19"),
        "gasoline": product(session, "gasoline", "2710.12", factor="8.3"),
        "biodiesel": product(session, "biodiesel", "2710.20"),
    }
    for resource in made.values():
        transfer(session, resource)
    return made


def test_a_product_without_its_own_factor_is_converted_by_its_kinds_unsd_default(session, products):
    result = report.petroleum_report(session, *report.period_of(DAY))

    diesel = result.products[products["diesel"].id]
    # 1,000 L = 6.29 bbl = 0.870 t at gas/diesel oil's 7.23 bbl/t
    assert (diesel.litres, diesel.tonnes, diesel.barrels) == (
        Decimal("1000.0"),
        Decimal("0.870"),
        Decimal("6.29"),
    )
    assert diesel.factor == "7.23, UNSD default for gas/diesel oil"
    assert diesel.note is None


def test_a_products_own_factor_wins_over_the_default_and_says_so(session, products):
    result = report.petroleum_report(session, *report.period_of(DAY))

    gasoline = result.products[products["gasoline"].id]
    # 6.29 bbl at 8.3 bbl/t (its own), not motor gasoline's 8.50
    assert gasoline.tonnes == Decimal("0.758")
    assert gasoline.factor == "8.3, the product's own"


def test_a_product_with_no_kind_and_no_factor_is_listed_in_litres_and_barrels_with_a_note(
    session, products
):
    result = report.petroleum_report(session, *report.period_of(DAY))

    biodiesel = result.products[products["biodiesel"].id]
    assert (biodiesel.litres, biodiesel.tonnes, biodiesel.barrels) == (
        Decimal("1000.0"),
        None,
        Decimal("6.29"),
    )
    [moved] = [t.amounts for t in result.transfers if t.resource.code == "biodiesel"]
    assert moved == report.Amounts(Decimal("1000.0"), None, Decimal("6.29"))
    assert result.notes == [NO_TONNES]


def test_a_product_counted_in_tonnes_without_a_factor_is_given_in_tonnes_alone(session):
    waste_oil = waivers.save_resource(
        session,
        code="waste-oil",
        name_ko="waste-oil",
        name_en="Waste oil",
        hs_code="2710.99",
        unit="t",
        actor=None,
        now=NOW,
    )
    session.commit()
    assert waste_oil.petroleum_kind is None

    assert report.amounts(Decimal(2), waste_oil) == report.Amounts(None, Decimal("2.000"), None)
    assert report.factor_note(waste_oil) == (
        "waste-oil (HS 2710.99): no barrels per tonne of its own and no kind of petroleum "
        "product with a UNSD default, so its litres and barrels cannot be given; set either "
        "on its resource page."
    )


def test_the_report_page_works_and_says_which_factor_each_product_took(as_admin, products):
    response = as_admin.get(REPORT)

    assert response.status_code == 200
    page = read(response)
    assert page.rows_of("2018-09-28 – 2018-10-27") == [
        [
            "Diesel",
            "2710.19",
            "1,000",
            "0.87",
            "6.29",
            "7.23, UNSD default for gas/diesel oil",
            "0",
        ],
        ["Gasoline", "2710.12", "1,000", "0.758", "6.29", "8.3, the product's own", "0"],
        [
            "Biodiesel",
            "2710.20",
            "1,000",
            "-",
            "6.29",
            "none (see the note below the table)",
            "0",
        ],
    ]
    assert NO_TONNES in page.text
    transfers = page.rows_of("Transfers")
    assert [row[1:5] for row in transfers] == [
        ["diesel", "1,000", "0.87", "6.29"],
        ["gasoline", "1,000", "0.758", "6.29"],
        ["biodiesel", "1,000", "-", "6.29"],
    ]
    assert ("/operations/petroleum.pdf?start=2018-09-28", "post") in [
        (form.action, form.method) for form in page.forms
    ]


def test_the_csv_gives_each_rows_factor_its_source_and_the_note(as_admin, products):
    response = as_admin.get("/operations/petroleum.csv?start=2018-09-28")

    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).removeprefix("\ufeff"))))
    assert [
        (
            r["product"],
            r["tonnes"],
            r["barrels_per_tonne"],
            r["petroleum_kind"],
            r["factor_source"],
            r["factor_note"],
        )
        for r in rows
    ] == [
        (
            "diesel",
            "0.870",
            "7.23",
            "gas_diesel_oil",
            "unsd_default",
            "7.23, UNSD default for gas/diesel oil",
        ),
        ("gasoline", "0.758", "8.3", "motor_gasoline", "own", "8.3, the product's own"),
        ("biodiesel", "", "", "", "none", NO_TONNES),
    ]


def test_the_pdf_prints_the_default_and_the_note(as_admin, products):
    response = fetched(as_admin, "/operations/petroleum.pdf?start=2018-09-28")

    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="petroleum-2018-09-28-2018-10-27-en.pdf"'
    )
    text = pdf_text(response.data)  # without its spaces
    assert "7.23,UNSDdefaultforgas/dieseloil" in text
    assert "8.3,theproduct'sown" in text
    assert "".join(NO_TONNES.split()) in text
    assert "Previous30days" not in text  # the page's links are not printed


def test_the_report_in_korean_names_the_default_and_the_note_in_korean(client, session, products):
    viewer = log_in(client, make_user(session, Role.ADMIN))
    viewer.environ_base["HTTP_ACCEPT_LANGUAGE"] = "ko"

    page = read(viewer.get(REPORT))

    [diesel, gasoline, biodiesel] = page.rows_of("2018-09-28 – 2018-10-27")
    assert diesel[5] == "7.23 (경유, 유엔 통계처 기본값)"
    assert gasoline[5] == "8.3 (제품 고유값)"
    assert biodiesel[5] == "없음 (표 아래 설명 참조)"
    assert (
        "biodiesel (HS 2710.20): 자체 배럴/톤 환산계수도, 유엔 통계처 기본값이 있는 석유제품 "
        "종류도 없어 톤으로 나타낼 수 없습니다. 품목 페이지에서 둘 중 하나를 정하십시오."
    ) in page.text
    pdf = fetched(viewer, "/operations/petroleum.pdf?start=2018-09-28")
    assert "7.23(경유,유엔통계처기본값)" in pdf_text(pdf.data)


def test_the_pdf_prints_a_products_markup_as_text(as_admin, session):
    marked = waivers.save_resource(
        session,
        code="marked",
        name_ko="marked",
        name_en='<a href="http://evil.example/">x</a><img src="file:///etc/passwd">',
        hs_code="2710.19",
        unit="L",
        actor=None,
        now=NOW,
    )
    session.commit()
    transfer(session, marked)

    response = fetched(as_admin, "/operations/petroleum.pdf?start=2018-09-28")

    assert response.status_code == 200
    assert '<ahref="http://evil.example/">x</a><imgsrc="file:///etc/passwd">' in pdf_text(
        response.data
    )


def test_a_transfer_names_the_un_authorisation_it_was_drawn_on_not_the_ministrys(
    session, every_regime
):
    diesel = product(session, "diesel", "2710.19")
    approval = make_approval(session, [(diesel, "L", "5000", "5000")], reference="MOU-T-APPROVAL")
    exemption = make_waiver(session, [(diesel, "L", "5000", "5000")], reference="UN-T-EXEMPTION")
    # The ministry's line named first: it is the entry's principal line.
    entry = ledger.record_drawdown(
        session,
        resource=diesel,
        quantity="1000",
        unit="L",
        occurred_on=DAY,
        authorisations=[approval.lines[0], exemption.lines[0]],
        purpose="operation",
        actor=None,
        now=NOW,
    )
    session.commit()
    assert entry.waiver_id == approval.id

    result = report.petroleum_report(session, *report.period_of(DAY))

    assert [(t.resource.code, t.waiver) for t in result.transfers] == [("diesel", "UN-T-EXEMPTION")]
