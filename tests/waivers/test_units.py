"""Units convert exactly; quantities stay exact in the database; bad numbers are refused."""

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from office.auth.permissions import Role
from office.errors import InvalidInput
from office.waivers.models import WaiverLine
from office.waivers.units import (
    Unit,
    amount,
    convert,
    format_amount,
    format_quantity,
    parse_quantity,
    unit_name,
)
from tests.conftest import log_in
from tests.factories import draw, make_resource, make_user, make_waiver
from tests.jobs import fetched
from tests.security.test_reports import pdf_text

DIESEL_BPT = Decimal("7.23")


@pytest.mark.parametrize(
    ("quantity", "source", "target", "factor", "expected"),
    [
        ("1", Unit.BBL, Unit.L, None, "158.987295"),
        ("1", Unit.T, Unit.KG, None, "1000"),
        ("2500", Unit.G, Unit.KG, None, "2.5"),
        ("1.5", Unit.MWH, Unit.KWH, None, "1500"),
        ("1", Unit.T, Unit.BBL, DIESEL_BPT, "7.23"),
        ("1", Unit.T, Unit.L, DIESEL_BPT, "1149.478142"),  # 7.23 x 158.987294928
        ("1000", Unit.L, Unit.T, DIESEL_BPT, "0.869960"),
    ],
)
def test_conversions_are_exact_to_six_places(quantity, source, target, factor, expected):
    assert convert(Decimal(quantity), source, target, factor) == Decimal(expected)


@pytest.mark.parametrize(
    ("source", "target", "factor"),
    [(Unit.L, Unit.KG, None), (Unit.KWH, Unit.L, DIESEL_BPT), (Unit.PIECE, Unit.KG, None)],
)
def test_units_of_different_kinds_do_not_convert(source, target, factor):
    with pytest.raises(InvalidInput, match="cannot be converted"):
        convert(Decimal(1), source, target, factor)


entered = st.decimals(min_value=Decimal("0.001"), max_value=Decimal("999999999"), places=3)


@given(quantity=entered, unit=st.sampled_from([Unit.BBL, Unit.T, Unit.KG, Unit.G]))
def test_a_quantity_converted_to_litres_and_back_is_unchanged(quantity, unit):
    litres = convert(quantity, unit, Unit.L, DIESEL_BPT)
    back = convert(litres, Unit.L, unit, DIESEL_BPT)
    assert back.quantize(Decimal("0.001")) == quantity


@given(quantity=entered, unit=st.sampled_from(list(Unit)))
def test_conversion_to_the_same_unit_is_identity(quantity, unit):
    assert convert(quantity, unit, unit) == quantity


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (0, "greater than zero"),
        ("-5", "greater than zero"),
        ("NaN", "decimal number"),  # a string is plain ASCII digits
        ("Infinity", "decimal number"),
        ("1e400", "decimal number"),
        ("1" * 30, "too large"),
        ("12.3456", "at most 3 decimal places"),
        ("twelve", "decimal number"),
        (True, "decimal number"),
        (1.5, "decimal number"),
        ("", "decimal number"),
    ],
)
def test_bad_quantities_are_refused_with_a_reason(value, message):
    with pytest.raises(InvalidInput, match=message):
        parse_quantity(value)


def test_pieces_are_whole():
    with pytest.raises(InvalidInput, match="whole numbers"):
        parse_quantity("1.5", unit=Unit.PIECE)
    assert parse_quantity("3", unit=Unit.PIECE) == 3


def test_quantities_print_without_trailing_zeros():
    assert format_quantity(Decimal("1000.500000")) == "1000.5"
    assert format_quantity(Decimal("12.000000")) == "12"
    assert format_quantity(Decimal("-0.000000")) == "0"


def test_quantities_come_back_from_the_database_exactly(session):
    diesel = make_resource(session)
    waiver = make_waiver(session, [(diesel, "bbl", "0.001", "0.001")])
    session.expire_all()
    line = session.scalar(select(WaiverLine).where(WaiverLine.waiver_id == waiver.id))
    assert line.requested_quantity == Decimal("0.001")
    assert line.granted_base == Decimal("0.158987")  # 0.001 bbl in litres, six places


# --- how units read (#16, point 12) --------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "unit", "korean", "english"),
    [
        ("20", Unit.PIECE, "20개", "20 pieces"),
        ("1", Unit.PIECE, "1개", "1 piece"),
        ("45", Unit.T, "45톤", "45 t"),
        ("1500", Unit.BBL, "1,500배럴", "1,500 bbl"),
        ("2000", Unit.L, "2,000 L", "2,000 L"),
        ("3180.5", Unit.KWH, "3,180.5 kWh", "3,180.5 kWh"),
    ],
)
def test_an_amount_reads_as_its_readers_say_it(app, value, unit, korean, english):
    for language, expected in (("ko", korean), ("en", english)):
        with app.test_request_context(headers={"Accept-Language": language}):
            assert format_amount(Decimal(value), unit) == expected
            assert str(amount(Decimal(value), unit)) == expected


def test_a_unit_on_its_own_reads_as_a_word_where_korean_counts_in_words(app):
    with app.test_request_context(headers={"Accept-Language": "ko"}):
        assert [str(unit_name(u)) for u in Unit] == [
            "L", "배럴", "톤", "kg", "g", "kWh", "MWh", "개"
        ]  # fmt: skip
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert str(unit_name(Unit.PIECE)) == "pieces"


def test_pages_and_forms_count_pieces_in_korean_and_keep_the_stored_code(app, session):
    computer = make_resource(session, "computer", hs_code="8471.50", unit=Unit.PIECE)
    waiver = make_waiver(session, [(computer, Unit.PIECE, "40", "20")])
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "ko"
    log_in(client, make_user(session, Role.REVIEWER))

    page = client.get(f"/waivers/{waiver.id}").get_data(as_text=True)
    catalogue = client.get("/resources/").get_data(as_text=True)

    assert "40개" in page and "20개" in page and "piece" not in page
    assert '<option value="piece">개</option>' in catalogue  # the code travels, the word shows
    assert "<td>개</td>" in catalogue
    assert session.scalar(select(WaiverLine.unit)) is Unit.PIECE


def test_the_monthly_pdf_counts_pieces_in_korean(app, session):
    computer = make_resource(session, "computer", hs_code="8471.50", unit=Unit.PIECE)
    line = make_waiver(session, [(computer, Unit.PIECE, "40", "40")]).lines[0]
    draw(session, computer, "20", line=line, on=date(2018, 10, 3))
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "ko"
    log_in(client, make_user(session, Role.REVIEWER))

    response = fetched(client, "/reviews/reports/2018-10.pdf")

    assert response.status_code == 200
    text = pdf_text(response.data)
    assert "20개" in text and "piece" not in text
