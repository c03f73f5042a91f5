"""Korean particles after a word put into a message take the form that fits how the word is
said (#16, point 12): "김지훈은", "2,000 L를", "10으로", never "은(는)"."""

import pytest
from flask import render_template_string

from office.i18n import _, _l
from office.korean import with_particles


@pytest.mark.parametrize(
    ("written", "read"),
    [
        ("김지훈은(는)", "김지훈은"),  # a final consonant
        ("박서연은(는)", "박서연은"),
        ("박민수가(이)", "박민수가"),  # no final consonant
        ("서울(으)로", "서울로"),  # a final ㄹ takes 로, not 으로
        ("부산(으)로", "부산으로"),
        ("경유을(를)", "경유를"),
        ("철강재와(과)", "철강재와"),
        ("탱크(이)라는", "탱크라는"),
        ("발전기 1(이)라는", "발전기 1이라는"),
        ("5(이)었습니다", "5였습니다"),
        ("2,077.1(이)었습니다", "2,077.1이었습니다"),
        # numbers as said: 일 이 삼 ... and every power of ten (십 백 천) ends in a consonant
        ("1(으)로", "1로"),
        ("2(으)로", "2로"),
        ("3(으)로", "3으로"),
        ("10(으)로", "10으로"),
        ("1,000을(를)", "1,000을"),
        ("0.5을(를)", "0.5를"),
        # units and codes as said: 리터, 킬로그램, 배럴, 킬로와트시; letters by their names
        ("2,000 L을(를)", "2,000 L를"),
        ("300 kg을(를)", "300 kg을"),
        ("40 bbl(으)로", "40 bbl로"),
        ("3,180 kWh이(가)", "3,180 kWh가"),
        ("20개을(를)", "20개를"),
        ("MOU-2018-0702-G은(는)", "MOU-2018-0702-G는"),
        ("KLO-W-2018-06은(는)", "KLO-W-2018-06은"),
        ("UNSCR와(과)", "UNSCR과"),
        ("diesel은(는)", "diesel은"),
        # brackets and quotes after the word are looked through
        ("“발전실”은(는)", "“발전실”은"),
        ("계량기(본관)은(는)", "계량기(본관)은"),
    ],
)
def test_a_particle_takes_the_form_that_fits_the_word_before_it(written, read):
    assert with_particles(written) == read


def test_text_without_markers_is_left_as_it_is():
    assert with_particles("(주)현대아산 (Hyundai Asan)") == "(주)현대아산 (Hyundai Asan)"


def test_messages_from_code_and_templates_choose_their_particles(app):
    with app.test_request_context(headers={"Accept-Language": "ko"}):
        assert _("User %(email)s created.", email="김철수") == "사용자 김철수를 만들었습니다."
        assert str(_l("User %(email)s created.", email="박민준")) == "사용자 박민준을 만들었습니다."
        page = render_template_string(
            "{{ _('User %(email)s created.', email=name) }}", name='"서연"'
        )
        assert page == "사용자 &#34;서연&#34;을 만들었습니다."
