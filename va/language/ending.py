"""Whether a phrase heard so far stops where speech could not: its last word leads on.

A phrase that ends in a number ("twenty …" may become "twenty five", "five …" "five hundred") or
in a word after which more must come ("for", "to", "by", "the", ...) is not over, whatever it
reads as. The client's early decision (va.client.early) waits for the full pause then, and the
server does not spend guided decoding on such a phrase so far (va.server.replies).

Pure: a function of the text.
"""

from __future__ import annotations

from typing import Optional

from va.language.numbers import parse_number
from va.language.words import norms

LEADS_ON = frozenset(
    "a an the to for by and or of at in with from into about my our your his her their this that "
    "point minus plus".split()
)
"""Words after which a phrase is not over."""
NUMBER_GLUE = frozenset("and point hundred thousand million minus".split())


def ends_open(text: str) -> Optional[str]:
    """Why the last word of ``text`` says more is coming, or None when it does not."""
    words = norms(text).split()
    if not words:
        return "nothing said"
    last = words[-1]
    if last in NUMBER_GLUE or parse_number([last])[0] is not None:
        return f"it ends in a number ({last!r}): it could go on"
    if last in LEADS_ON:
        return f"it ends in {last!r}: more is coming"
    return None
