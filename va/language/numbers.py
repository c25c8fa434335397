"""Numbers as people say them and as Whisper writes them.

`words_to_number("twenty five") == 25`, `words_to_number("three point five") == 3.5`,
`number_to_words(105) == "one hundred five"`. `parse_number(words)` reads the longest number at
the start of a list of already-normalised words ("25", "twenty", "five", "minutes") and says how
many words it used, which is what argument binding needs.

Pure functions, no I/O. Integers come back as `int`, anything said with a decimal point as `float`.
"""

from __future__ import annotations

import re
from typing import Sequence, Union

Number = Union[int, float]

_UNITS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen"
).split()
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()
UNITS = {word: value for value, word in enumerate(_UNITS)}
TENS = {word: 20 + 10 * index for index, word in enumerate(_TENS)}
SCALES = {"thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000}
# Whisper's usual misspellings and the spoken "oh" for zero after a decimal point.
_ALIASES = {"fourty": "forty", "ninty": "ninety", "nought": "zero", "naught": "zero"}
_NEGATIVE = {"minus", "negative"}
NUMBER_WORDS = frozenset(UNITS) | frozenset(TENS) | frozenset(SCALES) | {"hundred"} | frozenset(_ALIASES)

_DIGITS = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
MAX_DIGITS = 30
"""Longer digit strings are not read as numbers: nobody says them, and int() refuses 4300+ digits."""


def is_digits(word: str) -> bool:
    """True for a written number such as "25", "3.5", "-4" (already stripped of "," "$" "%"), of at
    most MAX_DIGITS digits."""
    return len(word) <= MAX_DIGITS + 2 and bool(_DIGITS.match(word))


def _digits_value(word: str) -> Number:
    return float(word) if "." in word else int(word)


def parse_number(words: Sequence[str]) -> tuple[Number | None, int]:
    """Read the number at the start of `words`; return (value, words used) or (None, 0).

    Words must be lower case without punctuation ("twenty", "five", "25", "3.5"). Stops at the
    first word that cannot continue the number, so "five twenty" reads 5 and leaves "twenty".
    """
    sign, start = (-1, 1) if words and words[0] in _NEGATIVE else (1, 0)
    value, used = _parse_unsigned(list(words[start:]))
    if value is None:
        return None, 0
    return sign * value, start + used


def _parse_unsigned(words: list[str]) -> tuple[Number | None, int]:
    if not words:
        return None, 0
    if is_digits(words[0]):
        value = _digits_value(words[0])
        # "5 thousand": Whisper sometimes mixes digits and scale words.
        if len(words) > 1 and words[1] in SCALES and isinstance(value, int):
            return value * SCALES[words[1]], 2
        unit = _unit_after_tens(value, words[1] if len(words) > 1 else "")
        return (value + unit, 2) if unit else (value, 1)
    whole, used = _parse_integer_words(words)
    if whole is None:
        return None, 0
    fraction, fraction_used = _parse_fraction(words[used:])
    if fraction is None:
        return whole, used
    return float(f"{whole}.{fraction}"), used + fraction_used


def _unit_after_tens(value: Number, word: str) -> int:
    """1-9 when ``word`` completes a written tens number: "70 5" is how Whisper writes "seventy …
    five" said with a pause inside (it writes "75" for "seventy five"); else 0."""
    if not isinstance(value, int) or not (20 <= value <= 90 and value % 10 == 0):
        return 0
    unit = int(word) if word.isdigit() and len(word) == 1 else UNITS.get(word, 0)
    return unit if 0 < unit < 10 else 0


def _word(words: list[str], index: int) -> str | None:
    if index >= len(words):
        return None
    return _ALIASES.get(words[index], words[index])


def _parse_integer_words(words: list[str]) -> tuple[int | None, int]:
    total = current = 0
    last = None  # kind of the previous word: a, unit, teen, tens, hundred, scale
    last_scale = None
    index = 0
    while index < len(words):
        word = _word(words, index)
        following = _word(words, index + 1)
        if word == "a" and last is None and (following == "hundred" or following in SCALES):
            current, last = 1, "a"
        elif word in UNITS:
            value = UNITS[word]
            # "five twenty" and "twenty twelve" are two numbers; "zero" never continues one.
            if last in ("a", "unit", "teen") or (last is not None and value == 0) or (last == "tens" and value >= 10):
                break
            current += value
            last = "unit" if value < 10 else "teen"
        elif word in TENS:
            if last in ("a", "unit", "teen", "tens"):
                break
            current += TENS[word]
            last = "tens"
        elif word == "hundred":
            if last not in ("a", "unit", "teen", "tens") or not 0 < current < 100:
                break
            current *= 100
            last = "hundred"
        elif word in SCALES:
            if last in (None, "scale") or current == 0 or (last_scale is not None and SCALES[word] >= last_scale):
                break
            total += current * SCALES[word]
            current, last, last_scale = 0, "scale", SCALES[word]
        elif word == "and" and last in ("hundred", "scale") and (following in UNITS or following in TENS):
            pass  # "one hundred and five"
        else:
            break
        index += 1
    if last in (None, "a"):
        return None, 0
    return total + current, index


def _parse_fraction(words: list[str]) -> tuple[str | None, int]:
    """After a whole number: "point five" -> ("5", 2), "point one four" -> ("14", 3)."""
    if _word(words, 0) != "point":
        return None, 0
    digits = []
    for index in range(1, len(words)):
        word = _word(words, index)
        if word == "oh":
            word = "zero"
        if word in UNITS and UNITS[word] < 10:
            digits.append(str(UNITS[word]))
        elif word is not None and word.isdigit():
            digits.append(word)
        else:
            break
    if not digits:
        return None, 0
    return "".join(digits), 1 + len(digits)


def words_to_number(text: str) -> Number | None:
    """The number that `text` says, entirely ("twenty-five", "1,000", "three point five"), or None."""
    cleaned = text.lower().replace(",", "").replace("$", "").strip(" .!?%")
    words = [word for word in re.split(r"\s+|(?<=[a-z])-(?=[a-z])", cleaned) if word]
    value, used = parse_number(words)
    if value is None or used != len(words):
        return None
    return value


def number_to_words(number: Number) -> str:
    """Spell out a number: 25 -> "twenty five", 105 -> "one hundred five", 3.5 -> "three point five"."""
    if isinstance(number, float):
        if number != number or number in (float("inf"), float("-inf")):
            raise ValueError(f"cannot say {number!r}")
        whole, _, fraction = repr(abs(number)).partition(".")
        if "e" in repr(number) or not fraction or fraction == "0":
            return number_to_words(int(number))
        sign = "minus " if number < 0 else ""
        return sign + _integer_words(int(whole)) + " point " + " ".join(_UNITS[int(d)] for d in fraction)
    if number < 0:
        return "minus " + _integer_words(-number)
    return _integer_words(number)


def _integer_words(number: int) -> str:
    if number >= 1000 * SCALES["billion"]:
        return str(number)  # nobody says these; digits read better than "billion billion"
    if number < 20:
        return _UNITS[number]
    if number < 100:
        tens, unit = divmod(number, 10)
        return _TENS[tens - 2] + ("" if unit == 0 else " " + _UNITS[unit])
    if number < 1000:
        hundreds, rest = divmod(number, 100)
        return _UNITS[hundreds] + " hundred" + ("" if rest == 0 else " " + _integer_words(rest))
    for word, scale in sorted(SCALES.items(), key=lambda item: -item[1]):
        if number >= scale:
            high, rest = divmod(number, scale)
            return _integer_words(high) + " " + word + ("" if rest == 0 else " " + _integer_words(rest))
    raise AssertionError("unreachable")
