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
    # the odd parts are the digit runs; `isdigit` would also take « ² » in a text part, which int() refuses
    return [int(part) if index % 2 else part for index, part in enumerate(_DIGITS.split(code))]


#: what stands between a number and « % »: a narrow no-break space (French typography; the line never breaks
#: there)
PERCENT_SPACE = "\u202f"


def pct(value: Decimal | None) -> str:
    """A percentage the French way: 68 %, 69,99 % (two decimals at most, a narrow no-break space before « % »);
    « — » for no value."""
    if value is None:
        return "—"
    value = Decimal(value).quantize(Decimal("0.01")).normalize()
    text = format(value, "f").replace(".", ",")
    return f"{text}{PERCENT_SPACE}%"


def integer(value: int) -> str:
    """A whole number the French way, thousands apart: 616 662 (a no-break space, so it never splits)."""
    return f"{int(value):,}".replace(",", "\u00a0")


def decimal(value, places: int = 2) -> str:
    """A decimal number the French way, at most `places` decimals: 0,57 ; 1,2 ; 3."""
    quantum = Decimal(1).scaleb(-places)
    text = format(Decimal(str(value)).quantize(quantum).normalize(), "f")
    return text.replace(".", ",")


def canonical_decimal(value) -> str:
    """The XSD canonical form of a decimal (70 -> "70.0", 62.50 -> "62.5"), so every format writes it alike."""
    text = format(Decimal(value).normalize(), "f")
    return text if "." in text else text + ".0"
