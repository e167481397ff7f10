"""Render a query result as a terminal table, CSV or JSON.

Lives here: the one `to_json` (a `Table`, or any JSON value such as a report), the one CSV cell guard
(`safe_cell`), the terminal table. Not here: running the query (`cqp_graph.query.knowledge`), HTTP media
types and negotiation (`cqp_graph.web`), report files (`cqp_graph.present.render`).
"""

from __future__ import annotations

import csv
import io
import json

from rich.table import Table as RichTable

from cqp_graph.query.catalogue import Table

FORMATS = ("table", "csv", "json")

#: what a spreadsheet runs as a formula when a cell starts with it (OWASP, "CSV injection")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    """A CSV cell a spreadsheet will not run: text starting with = + - @ tab or CR gets a leading '.

    Numbers (int, float, Decimal) are written as they are, negative ones included: a spreadsheet reads
    `-3` as a number, never as a formula. Every CSV cqp-graph writes for people goes through here.
    """
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _json_default(value):
    """What JSON does not know: bytes (a picture) → null, anything else (Decimal, dates…) → its text."""
    return None if isinstance(value, (bytes, bytearray)) else str(value)


def to_json(value, indent: int = 2) -> str:
    """JSON text: a `Table` → an array with one object per row (unbound values are null); any other value as is."""
    data = value.rows if isinstance(value, Table) else value
    return json.dumps(data, ensure_ascii=False, indent=indent, default=_json_default)


def to_csv(table: Table) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=table.columns, lineterminator="\r\n")  # RFC 4180: a CR in a cell is quoted
    writer.writeheader()
    for row in table.rows:
        writer.writerow({k: safe_cell(v) for k, v in row.items()})
    return buffer.getvalue()


#: a column whose every value is at most this long and has no space is a code: never split across lines
CODE_WIDTH = 16


def _is_iri_column(name: str) -> bool:
    return name == "iri" or name.endswith("_iri")


def to_rich(table: Table, title: str | None = None, headers: dict[str, str] | None = None) -> RichTable:
    """A terminal table a person reads at 80 columns: the columns' French titles (`headers`, from the query's
    header), codes never split across lines, long labels wrapped at word boundaries, IRIs left to the machine
    formats (csv, json), which the caption says."""
    headers = headers or {}
    columns = [c for c in table.columns if not _is_iri_column(c)]
    dropped = len(columns) < len(table.columns)
    # a column with one value in every row (the mission asked for, the only referential) goes above the table
    constant = [c for c in columns if len(table.rows) > 1 and len({str(r.get(c)) for r in table.rows}) == 1
                and table.rows[0].get(c) is not None]
    columns = [c for c in columns if c not in constant]
    if constant:
        title = (title or "") + "\n" + " · ".join(
            f"{headers.get(c, c)} : {_cell(table.rows[0][c])}" for c in constant)
    out = RichTable(title=title, show_lines=False, expand=True,
                    caption="IRI : --format csv ou json" if dropped and table.rows else None)
    for column in columns:
        values = ["" if row.get(column) is None else str(row.get(column)) for row in table.rows]
        longest = max((len(v) for v in values), default=0)
        heading = headers.get(column, column)
        if longest <= CODE_WIDTH and not any(" " in v for v in values):
            out.add_column(heading, no_wrap=True, min_width=min(max(longest, len(heading)), CODE_WIDTH))
        else:
            out.add_column(heading, ratio=1 if longest < 40 else 3, min_width=min(longest, 14))
    for row in table.rows:
        out.add_row(*["" if row.get(c) is None else _cell(row.get(c)) for c in columns])
    return out


def _cell(value) -> str:
    """A value as a person reads it: 0,57 for a decimal, oui/non for a boolean."""
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, float):
        return format(value, "g").replace(".", ",")
    return str(value)
