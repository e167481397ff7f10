"""Numbers as cqp-graph sorts and writes them: codes in their natural order, percentages the French way,
decimals in their canonical XSD form.

Lives here: small pure functions every stage shares (the analyses, the exporters, the pictures, the input
readers). Not here: anything that reads the graph or a file.
"""

from __future__ import annotations

import re
from decimal import Decimal

_DIGITS = re.compile(r"(\d+)")


def natural_key(code: str) -> list:
    """Sort key that orders RC2 before RC10: digit runs compare as numbers, the rest as text."""
    return [int(part) if part.isdigit() else part for part in _DIGITS.split(code)]


def pct(value: Decimal | None) -> str:
    """A percentage the French way: 68 %, 69,99 % (two decimals at most); « — » for no value."""
    if value is None:
        return "—"
    value = Decimal(value).quantize(Decimal("0.01")).normalize()
    text = format(value, "f").replace(".", ",")
    return f"{text} %"


def canonical_decimal(value) -> str:
    """The XSD canonical form of a decimal (70 -> "70.0", 62.50 -> "62.5"), so every format writes it alike."""
    text = format(Decimal(value).normalize(), "f")
    return text if "." in text else text + ".0"
