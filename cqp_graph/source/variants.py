"""How two wordings of one item differ: not at all, typographically, or in their words."""

from __future__ import annotations

import re
import unicodedata

SAME = "same"
TYPOGRAPHIC = "typographic"
WORDING = "wording"


def fold(text: str) -> str:
    """The words of a text, without case, accents, punctuation or spacing."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.casefold().replace("\u2019", "'")
    return " ".join(re.findall(r"\w+", text))


def compare(reference: str, other: str) -> str:
    if other == reference:
        return SAME
    if fold(other) == fold(reference):
        return TYPOGRAPHIC
    return WORDING
