"""Binding spoken words to a command's parameters by their type hints."""

import enum
from typing import Literal, Optional

import pytest
from hypothesis import given
from hypothesis import strategies as st

from va.language.arguments import REQUIRED, Parameter, bind, parameters_of, tokenize
from va.language.sentences import match_sentence
from va.language.words import NAME_FILLER


class Speed(enum.Enum):
    SLOW = 1
    VERY_FAST = 2


def set_timer(minutes: float): ...
def set_volume(percent: int): ...
def add_numbers(first: int, second: int): ...
def set_mode(mode: Literal["heat", "cool", "fan only"]): ...
def fan(speed: Speed = Speed.SLOW, on: bool = True): ...
def switch_light(on: bool, room: str = "kitchen"): ...
def search_for(query: str): ...
def echo(text): ...
def remind_me(minutes: int, message: str): ...
def translate(text: str, language: Literal["french", "german"]): ...
def two_words(first: str, rest: str): ...
def pick(number: Literal[1, 2, 3]): ...
def maybe(count: Optional[int] = None, *args, **kwargs): ...
def set_alarm(hour: int, minute: int = 0): ...


def said(function, words):
    return bind(parameters_of(function), tokenize(words))


@pytest.mark.parametrize(
    "function, words, expected",
    [
        (set_timer, "for twenty five minutes", {"minutes": 25.0}),
        (set_timer, "for twenty-five minutes please", {"minutes": 25.0}),
        (set_timer, "for 25 minutes.", {"minutes": 25.0}),
        (set_timer, "for 25 minutes!", {"minutes": 25.0}),
        (set_timer, "for three point five minutes", {"minutes": 3.5}),
        (set_timer, "for 3.5 minutes", {"minutes": 3.5}),
        (set_timer, "for a minute", {"minutes": 1.0}),
        (set_timer, "for a hundred minutes", {"minutes": 100.0}),
        (set_timer, "for one hundred and five minutes", {"minutes": 105.0}),
        (set_volume, "to 70%", {"percent": 70}),
        (set_volume, "to seventy percent", {"percent": 70}),
        (set_volume, "to seventy per cent", {"percent": 70}),
        (set_volume, "to zero", {"percent": 0}),
        (set_volume, "to 1,000", {"percent": 1000}),
        (set_volume, "$5", {"percent": 5}),
        (set_volume, "to 50.0", {"percent": 50}),
        (add_numbers, "three and 4", {"first": 3, "second": 4}),
        (add_numbers, "twenty five and seventy", {"first": 25, "second": 70}),
        (add_numbers, "one hundred and five and two", {"first": 105, "second": 2}),
        (add_numbers, "five twenty", {"first": 5, "second": 20}),
        (add_numbers, "by 2 and by 3", {"first": 2, "second": 3}),
        (set_mode, "to cool", {"mode": "cool"}),
        (set_mode, "to Heat please", {"mode": "heat"}),
        (set_mode, "fan only", {"mode": "fan only"}),
        (set_mode, "heath", {"mode": "heat"}),  # Whisper near-miss
        (fan, "very fast", {"speed": Speed.VERY_FAST, "on": True}),
        (fan, "off", {"speed": Speed.SLOW, "on": False}),
        (fan, "", {"speed": Speed.SLOW, "on": True}),
        (switch_light, "on", {"on": True, "room": "kitchen"}),
        (switch_light, "off in the Living Room", {"on": False, "room": "the Living Room"}),
        (switch_light, "disable", {"on": False, "room": "kitchen"}),
        (switch_light, "yes", {"on": True, "room": "kitchen"}),
        (search_for, "Python tutorials.", {"query": "Python tutorials"}),
        (search_for, "for cheap flights to Paris, please", {"query": "cheap flights to Paris"}),
        (echo, "Hello, World!", {"text": "Hello World"}),
        (echo, "twenty-five", {"text": "twenty-five"}),
        (remind_me, "in 5 minutes to buy milk", {"minutes": 5, "message": "buy milk"}),
        (translate, "good morning to French", {"text": "good morning", "language": "french"}),
        (two_words, "alpha beta gamma", {"first": "alpha", "rest": "beta gamma"}),
        (pick, "number two", {"number": 2}),
        (pick, "3", {"number": 3}),
        (maybe, "", {"count": None}),
        (maybe, "seven times", {"count": 7}),
    ],
)
def test_binds(function, words, expected):
    binding = said(function, words)
    assert binding.error is None
    assert binding.args == expected
    for name, value in expected.items():
        assert type(binding.args[name]) is type(value)


@pytest.mark.parametrize(
    "function, words, parameter, why",
    [
        (set_timer, "", "minutes", "not said"),
        (set_timer, "for later", "minutes", "heard 'for later'"),
        (add_numbers, "three", "second", "not said"),
        (add_numbers, "3.5 and 4", "first", "whole number"),
        (set_mode, "to hot", "mode", "heat, cool, fan only"),
        (switch_light, "maybe", "on", "on or off"),
        (search_for, "please", "query", "expected some words"),
    ],
)
def test_missing_or_unusable_argument_names_the_parameter(function, words, parameter, why):
    binding = said(function, words)
    assert binding.error is not None
    assert binding.error.startswith(parameter + ":")
    assert why in binding.error


@pytest.mark.parametrize(
    "words, expected",
    [
        ("for 10:55", {"hour": 10, "minute": 55}),
        ("for 1055", {"hour": 10, "minute": 55}),  # Whisper's "ten fifty five"
        ("for 7.30", {"hour": 7, "minute": 30}),
        ("at 120", {"hour": 1, "minute": 20}),
        ("for 7 30", {"hour": 7, "minute": 30}),
        ("for ten fifty five", {"hour": 10, "minute": 55}),
        ("for 1075", {"hour": 1075, "minute": 0}),  # 75 cannot be minutes
        ("for 45", {"hour": 45, "minute": 0}),
    ],
)
def test_a_time_of_day_written_as_one_number_fills_two_int_parameters(words, expected):
    assert said(set_alarm, words).args == expected


def test_one_int_parameter_keeps_a_number_of_three_digits_whole():
    assert said(set_volume, "to 120").args == {"percent": 120}
    assert said(add_numbers, "1055 and 3").args == {"first": 1055, "second": 3}


def test_parameters_from_type_hints():
    params = parameters_of(maybe)
    assert params == (Parameter("count", int, None, "int"),)  # *args and **kwargs are not spoken
    assert [p.kind for p in parameters_of(fan)] == ["choice", "bool"]
    assert parameters_of(echo) == (Parameter("text", str, REQUIRED, "str"),)  # unannotated: words
    assert parameters_of(echo)[0].required
    assert parameters_of(set_mode)[0].describe() == "mode: heat|cool|fan only"
    assert parameters_of(fan)[0].describe() == "speed: slow|very_fast = 'slow'"


@pytest.mark.parametrize(
    "text, norms",
    [
        ("Computer, set a timer for 25 minutes.", "computer set a timer for 25 minutes"),
        ("70%", "70 percent"),
        ("twenty-five", "twenty five"),
        ("well-known GitHub.com", "wellknown githubcom"),
        ("1,000 and $5.50", "1000 and 5.50"),
        ("Hey—computer… what's up?!", "hey computer whats up"),
        ("  ", ""),
    ],
)
def test_tokenize(text, norms):
    assert " ".join(token.norm for token in tokenize(text)) == norms


ALL_KINDS = [set_timer, set_volume, add_numbers, set_mode, fan, switch_light, search_for, remind_me, translate, two_words, pick, maybe]
WORDS = st.lists(
    st.sampled_from(
        "a and to for point minus hundred thousand twenty five zero 3.5 70% 1,000 $5 - , . on off heat cool very fast "
        "fan only minutes per cent please".split()
    )
    | st.text(max_size=8)
).map(" ".join)


@given(st.sampled_from(ALL_KINDS), WORDS | st.text())
def test_bind_never_raises_and_values_have_the_declared_type(function, words):
    binding = said(function, words)
    if binding.error is not None:
        return
    for param in parameters_of(function):
        value = binding.args[param.name]
        if value is param.default:
            continue
        expected = {"int": int, "float": float, "bool": bool, "str": str}.get(param.kind)
        if expected is not None:
            assert type(value) is expected
        else:
            assert value in param.choices


def add(a: int, b: int = 0): ...
def wake_up(wake_hour: int, wake_minute: int = 0): ...


@pytest.mark.parametrize(
    "function, words, expected",
    [
        (add_numbers, "1230", {"first": 1230}),
        (add, "1045", {"a": 1045, "b": 0}),
        (add, "10.45", None),  # not a whole number: an error, never (10, 45)
    ],
)
def test_two_int_parameters_that_are_not_a_time_keep_a_number_whole(function, words, expected):
    binding = said(function, words)
    if expected is None:
        assert binding.error is not None and binding.error.startswith("a:")
    else:
        assert binding.args == expected


def test_parameters_named_as_hour_and_minute_take_a_time_of_day():
    assert said(wake_up, "at 1055").args == {"wake_hour": 10, "wake_minute": 55}


def test_a_sentence_template_skips_the_filler_the_name_matcher_skips():
    """One filler list: "hmm" is skipped between template words as it is before a command name."""
    found = match_sentence(tokenize("timer for hmm five minutes"), "timer for {minutes} minutes", parameters_of(set_timer))
    assert found is not None and found.args == {"minutes": 5.0}
    for word in NAME_FILLER:
        assert match_sentence(tokenize(f"timer for five minutes {word}"), "timer for {minutes} minutes",
                              parameters_of(set_timer)) is not None, word
