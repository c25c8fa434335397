"""Numbers as spoken and as Whisper writes them."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from va.language.numbers import number_to_words, parse_number, words_to_number


@pytest.mark.parametrize(
    "text, value",
    [
        ("zero", 0),
        ("seven", 7),
        ("twelve", 12),
        ("seventy", 70),
        ("twenty five", 25),
        ("twenty-five", 25),
        ("Twenty Five", 25),
        ("a hundred", 100),
        ("one hundred and five", 105),
        ("one hundred five", 105),
        ("nine hundred ninety nine", 999),
        ("twenty five hundred", 2500),
        ("a thousand", 1000),
        ("two thousand three hundred and forty one", 2341),
        ("one million two thousand", 1_002_000),
        ("minus five", -5),
        ("fourty", 40),
        ("25", 25),
        ("1,000", 1000),
        ("$5", 5),
        ("70%", 70),
        ("25.", 25),
        ("5 thousand", 5000),
        ("-3", -3),
        ("3.5", 3.5),
        ("three point five", 3.5),
        ("three point one four", 3.14),
        ("zero point oh five", 0.05),
    ],
)
def test_words_to_number(text, value):
    result = words_to_number(text)
    assert result == value
    assert isinstance(result, type(value))


@pytest.mark.parametrize(
    "text",
    ["", "hello", "a", "and", "hundred", "point five", "five twenty", "twenty twenty", "one two", "three and four", "five apples"],
)
def test_not_a_single_number(text):
    assert words_to_number(text) is None


@pytest.mark.parametrize(
    "words, expected",
    [
        ("twenty five minutes", (25, 2)),
        ("five twenty", (5, 1)),
        ("three and 4", (3, 1)),
        ("one hundred and five and two", (105, 4)),
        ("a hundred percent", (100, 2)),
        ("a minute", (None, 0)),
        ("twenty zero", (20, 1)),
        ("4 and 5", (4, 1)),
        ("three point five seconds", (3.5, 3)),
        ("70 5 percent", (75, 2)),  # "seventy … five" with a pause inside, as Whisper writes it
        ("70 five", (75, 2)),
        ("75 5", (75, 1)),
        ("20 10", (20, 1)),
        ("three point", (3, 1)),
        ("minus", (None, 0)),
        ("", (None, 0)),
    ],
)
def test_parse_number_reads_a_prefix(words, expected):
    assert parse_number(words.split()) == expected


@pytest.mark.parametrize(
    "number, words",
    [(0, "zero"), (13, "thirteen"), (40, "forty"), (25, "twenty five"), (105, "one hundred five"),
     (1234, "one thousand two hundred thirty four"), (-2, "minus two"), (3.5, "three point five"), (2.0, "two")],
)
def test_number_to_words(number, words):
    assert number_to_words(number) == words


@given(st.integers(0, 999))
def test_words_round_trip_0_to_999(n):
    words = number_to_words(n)
    assert words_to_number(words) == n
    assert words_to_number(words.replace("ty ", "ty-")) == n  # "twenty-five"
    assert words_to_number(words.replace("hundred ", "hundred and ")) == n  # British "and"
    assert words_to_number(str(n)) == n


@given(st.integers(0, 10**9))
def test_words_round_trip_large(n):
    assert words_to_number(number_to_words(n)) == n


@given(st.integers(0, 999), st.integers(1, 999))
def test_decimals_round_trip(whole, fraction):
    value = float(f"{whole}.{fraction}")
    assert words_to_number(number_to_words(value)) == value
    assert words_to_number(str(value)) == value
