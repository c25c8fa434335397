"""Whether a phrase heard so far stops where speech could not, or where it still could go on.

Two kinds of ending keep an early decision (va.client.early) from running a phrase at the short
pause:

- it *leads on* (``leads_on``): its last word says more must come: a word such as "for", "to",
  "by", "the", or the glue of a number ("hundred", "point", "and").
- it *may grow* (``number_grows``): it ends in a number that the grammar of numbers lets go on:
  a tens word ("seventy …" may become "seventy five"), or a round hundred or thousand ("one
  hundred …" "one hundred five"); or in thirteen to nineteen or a lone digit written 2 to 9,
  which Whisper writes for a tens word cut short (tiny.en read "seventy" before a pause as "17"
  and as "7"; a digit said as a word, "five", is not taken for one). "seventy five", "twelve",
  "ten", "5" cannot grow (a scale word after them, "five hundred", is not counted: nobody pauses
  there), and a phrase that does not end in a number is not judged here.

Whisper writes numbers as digits as often as words: "70" grows like "seventy", "75" does not.
``ends_open`` is either: the server does not spend guided decoding on such a phrase so far
(va.server.replies). Pure: functions of the words.
"""

from __future__ import annotations

from typing import Optional, Sequence

from va.language.numbers import SCALES, TENS, UNITS, is_digits, parse_number
from va.language.words import norms

LEADS_ON = frozenset(
    "a an the to for by and or of at in with from into about my our your his her their this that "
    "point minus plus".split()
)
"""Words after which a phrase is not over."""
NUMBER_GLUE = frozenset("and point hundred thousand million minus".split())


def ends_open(text: str) -> Optional[str]:
    """Why the last words of ``text`` say more is or may be coming, or None when they do not."""
    words = norms(text).split()
    return leads_on(words) or number_grows(words)


def leads_on(words: Sequence[str]) -> Optional[str]:
    """Why the last of ``words`` (normalised) says more must come, or None when it does not."""
    if not words:
        return "nothing said"
    last = words[-1]
    if last in NUMBER_GLUE:
        return f"it ends in {last!r}: the number goes on"
    if last in LEADS_ON:
        return f"it ends in {last!r}: more is coming"
    return None


def number_grows(words: Sequence[str]) -> Optional[str]:
    """Why the number that ``words`` (normalised) end in could still grow, or None when it cannot
    or they do not end in a number."""
    if not words:
        return None
    last = words[-1]
    if last in TENS:
        return f"it ends in {last!r}: a unit could follow"
    if last == "hundred" or last in SCALES:
        return f"it ends in {last!r}: the number goes on"
    if last in UNITS and 13 <= UNITS[last] <= 19:
        return f"it ends in {last!r}, which may be a \"…ty\" cut short: a unit could follow"
    if is_digits(last) and "." not in last:
        return value_grows(abs(int(last)))
    return None


def grows_to(value: float) -> Optional[int]:
    """The least a number written so far may still become (``value_grows``), or None."""
    if value_grows(value) is None:
        return None
    value = int(abs(value))
    teen = value % 100
    if 2 <= value <= 9:
        return value * 10
    return value - teen + (teen - 10) * 10 if 13 <= teen <= 19 else value + 1


def value_grows(value: float) -> Optional[str]:
    """Why a number, as Whisper may have written what was said so far, could still grow."""
    if not float(value).is_integer():
        return None
    value = int(abs(value))
    if value % 10 == 0 and 20 <= value % 100 <= 90:
        return f"it ends in {value} (said \"…ty\"): a unit could follow"
    if 13 <= value % 100 <= 19:
        return f"it ends in {value}, which may be a \"…ty\" cut short: a unit could follow"
    if 2 <= value <= 9:
        return f"it ends in {value}, which may be a \"…ty\" cut short: a unit could follow"
    if value >= 100 and value % 100 == 0:
        return f"it ends in {value} (a round hundred): more could follow"
    return None


def ends_in_number(words: Sequence[str]) -> bool:
    """Whether the last word is a number or part of one ("five", "70", "hundred")."""
    if not words:
        return False
    last = words[-1]
    return last in UNITS or last in TENS or last in NUMBER_GLUE or parse_number([last])[0] is not None
