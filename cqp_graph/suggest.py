"""Close matches for a code someone typed that the referential does not hold: « vouliez-vous dire RSF10 ? ».

A code is suggested, in this order, when it is the typed text but for its case or spaces (« rc1 », « RSF 10 »),
when the typed text is one of its other names (`aliases`: a French label such as « tuteur », or a spelling the
source itself uses, such as « RFS10 » for RSF10), or when difflib finds it alike enough (ratio ≥ `LIKELY`).
Nothing is accepted in place of the code: the caller only says which one was probably meant.

Lives here: `closest` and `did_you_mean`, pure functions over lists of codes. Not here: where the codes come
from (the callers ask the knowledge layer), the messages' other words.
"""

from __future__ import annotations

import difflib
import re
from typing import Iterable, Mapping

#: how alike (difflib's ratio, on the case-folded text) a typed value must be to a code to be suggested
LIKELY = 0.75
_BLANKS = re.compile(r"[\s_\-.]+")


def fold(text: str) -> str:
    """A code or name as compared: case-folded, without spaces, dashes, dots or underscores."""
    return _BLANKS.sub("", str(text)).casefold()


def closest(value: str, known: Iterable[str], aliases: Mapping[str, str] | None = None,
            cutoff: float = LIKELY) -> str | None:
    """The code of `known` that `value` probably means, or None.

    `aliases` maps other names (labels, variant spellings) to a code of `known`; they are compared
    case-insensitively and without spaces, as the codes are."""
    codes = list(dict.fromkeys(str(k) for k in known))
    if not codes or value is None:
        return None
    text = str(value)
    folded: dict[str, str] = {}
    for code in codes:
        folded.setdefault(fold(code), code)
    for name, code in (aliases or {}).items():
        if code in codes:
            folded.setdefault(fold(name), code)
    key = fold(text)
    if key in folded:
        found = folded[key]
        return None if found == text else found
    match = difflib.get_close_matches(key, list(folded), n=1, cutoff=cutoff)
    return folded[match[0]] if match else None


def did_you_mean(value: str, known: Iterable[str], aliases: Mapping[str, str] | None = None,
                 notes: Mapping[str, str] | None = None) -> str:
    """« vouliez-vous dire RSF10 ? » (with `notes[value]` when there is one, e.g. why an alias points there),
    or "" when nothing is close."""
    code = closest(value, known, aliases)
    if code is None:
        return ""
    note = (notes or {}).get(fold(value))
    return f"vouliez-vous dire {code} ?" + (f" ({note})" if note else "")
