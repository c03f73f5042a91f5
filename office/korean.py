"""Korean particles that follow a word put into a message, chosen by how that word ends.

A Korean translation that puts a name, a number or a code before a particle writes the
particle as translators do, with both forms: `%(name)s은(는)`, `%(ref)s이(가)`,
`%(quantity)s을(를)`, `%(value)s(으)로`, `%(name)s(이)라는`. Once the message is filled in,
`with_particles` keeps the one form that fits the sound the word ends on, so the reader sees
"김지훈은", "2,000 L를", "5로" and "10으로", never "은(는)".

How a word ends is read the way a Korean reader says it: a Hangul syllable by its final
consonant (받침); a number by its last digit or its last power of ten (10 십, 100 백);
a unit symbol by its Korean name (kg 킬로그램, L 리터); a Latin acronym by its letters'
names (L 엘, M 엠); another Latin word by its spelling, approximately. Brackets, quotes and
full stops after the word are looked through.
"""

from __future__ import annotations

import html
import re
from enum import Enum

__all__ = ["with_particles"]


class Ending(Enum):
    VOWEL = "vowel"  # no final consonant: 는, 가, 를, 와, 로
    CONSONANT = "consonant"  # 은, 이, 을, 과, 으로
    RIEUL = "rieul"  # a final ㄹ: as a consonant, but 로 rather than 으로


# Each marker: its form after a consonant, after a vowel, and after a final ㄹ.
_MARKERS: dict[str, tuple[str, str, str]] = {
    "은(는)": ("은", "는", "은"),
    "는(은)": ("은", "는", "은"),
    "이(가)": ("이", "가", "이"),
    "가(이)": ("이", "가", "이"),
    "을(를)": ("을", "를", "을"),
    "를(을)": ("을", "를", "을"),
    "과(와)": ("과", "와", "과"),
    "와(과)": ("과", "와", "과"),
    "(으)로": ("으로", "로", "로"),
    "(이)었": ("이었", "였", "이었"),
    "(이)": ("이", "", "이"),  # (이)라는, (이)고, (이)나, (이)며
}
_MARKER = re.compile("|".join(re.escape(m) for m in sorted(_MARKERS, key=len, reverse=True)))

_HANGUL_FIRST, _HANGUL_LAST = 0xAC00, 0xD7A3
_RIEUL_FINAL = 8  # the index of ㄹ among the 28 final consonants (0: none)

# Digits as said in Sino-Korean: 영 일 이 삼 사 오 육 칠 팔 구.
_DIGITS = {
    "0": Ending.CONSONANT,
    "1": Ending.RIEUL,
    "2": Ending.VOWEL,
    "3": Ending.CONSONANT,
    "4": Ending.VOWEL,
    "5": Ending.VOWEL,
    "6": Ending.CONSONANT,
    "7": Ending.RIEUL,
    "8": Ending.RIEUL,
    "9": Ending.VOWEL,
}

# Unit symbols and abbreviations as said in Korean.
_SAID_AS = {
    "L": Ending.VOWEL,  # 리터
    "mL": Ending.VOWEL,  # 밀리리터
    "kg": Ending.CONSONANT,  # 킬로그램
    "g": Ending.CONSONANT,  # 그램
    "t": Ending.CONSONANT,  # 톤
    "bbl": Ending.RIEUL,  # 배럴
    "kWh": Ending.VOWEL,  # 킬로와트시
    "MWh": Ending.VOWEL,  # 메가와트시
    "Wh": Ending.VOWEL,  # 와트시
    "kVA": Ending.VOWEL,  # 킬로볼트암페어
    "km": Ending.VOWEL,  # 킬로미터
    "m": Ending.VOWEL,  # 미터
    "h": Ending.VOWEL,  # 시간
    "%": Ending.VOWEL,  # 퍼센트
    "₩": Ending.CONSONANT,  # 원
    "$": Ending.RIEUL,  # 달러
}

# Latin capitals said as letters: 에이 비 씨 디 이 에프 지 에이치 아이 제이 케이 엘 엠 엔 오 피
# 큐 알 에스 티 유 브이 더블유 엑스 와이 제트.
_LETTERS = {"L": Ending.RIEUL, "R": Ending.RIEUL, "M": Ending.CONSONANT, "N": Ending.CONSONANT}
_LETTER_ENDING_IN_CONSONANT = {"Z"}  # 제트

# What may stand between a word and its particle without being said: closing brackets,
# quotes, full stops, an ellipsis, spaces.
_SILENT = set(")]}>'\"’”」』….,· \u00a0")
_TOKEN = re.compile(r"([0-9]+|[A-Za-z]+|.)$", re.DOTALL)


def _hangul_ending(char: str) -> Ending:
    final = (ord(char) - _HANGUL_FIRST) % 28
    if final == 0:
        return Ending.VOWEL
    return Ending.RIEUL if final == _RIEUL_FINAL else Ending.CONSONANT


def _latin_ending(word: str) -> Ending:
    if word in _SAID_AS:
        return _SAID_AS[word]
    if word.isupper():  # an acronym, said letter by letter
        last = word[-1]
        if last in _LETTER_ENDING_IN_CONSONANT:
            return Ending.CONSONANT
        return _LETTERS.get(last, Ending.VOWEL)
    lower = word.lower()
    # A Latin word as it is usually said in Korean: diesel 디젤, steel 스틸, cable 케이블 end
    # in ㄹ; gasoline 가솔린, time 타임, pump 펌프... A guess, for the rare word in a message.
    if lower.endswith(("ng", "m", "n", "me", "ne", "ck", "k")):
        return Ending.CONSONANT
    if lower.endswith(("l", "le")):
        return Ending.RIEUL
    return Ending.VOWEL


def _number_ending(digits: str) -> Ending:
    last = digits[-1]
    if last != "0" or len(digits) == 1:
        return _DIGITS[last]
    return Ending.CONSONANT  # 십, 백, 천, 만: every power of ten ends in a consonant


def ending_of(text: str) -> Ending | None:
    """How `text` ends when said in Korean, or None if nothing in it is said."""
    end = len(text)
    while end and text[end - 1] in _SILENT:
        end -= 1
    if not end:
        return None
    match = _TOKEN.search(text, 0, end)
    assert match is not None
    token = match.group(1)
    if token.isdigit():
        return _number_ending(token)
    if token.isascii() and token.isalpha():
        return _latin_ending(token)
    if _HANGUL_FIRST <= ord(token) <= _HANGUL_LAST:
        return _hangul_ending(token)
    return _SAID_AS.get(token)


def with_particles(text: str, *, is_html: bool = False) -> str:
    """Return `text` with every particle written in both forms ("은(는)") in the one form
    that fits the word before it; after nothing said, the form after a vowel. In HTML
    (`is_html`), a word ending in an escaped character is read unescaped."""
    if "(" not in text:
        return text
    parts: list[str] = []
    last = 0
    for match in _MARKER.finditer(text):
        parts.append(text[last : match.start()])
        before = "".join(parts)
        ending = ending_of(html.unescape(before) if is_html else before) or Ending.VOWEL
        after_consonant, after_vowel, after_rieul = _MARKERS[match.group()]
        parts.append(
            {
                Ending.CONSONANT: after_consonant,
                Ending.VOWEL: after_vowel,
                Ending.RIEUL: after_rieul,
            }[ending]
        )
        last = match.end()
    parts.append(text[last:])
    return "".join(parts)
