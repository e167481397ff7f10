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


def to_rich(table: Table, title: str | None = None) -> RichTable:
    out = RichTable(title=title, show_lines=False)
    for column in table.columns:
        out.add_column(column, overflow="fold")
    for row in table.rows:
        out.add_row(*["" if row.get(c) is None else str(row.get(c)) for c in table.columns])
    return out
