"""Tables as files a person opens: Excel workbooks (openpyxl) and CSV (RFC 4180), built in memory.

Lives here: `xlsx_bytes` (one sheet per table, bold frozen header row, column widths fitted to the
content, numbers kept as numbers) and `csv_bytes` (UTF-8, comma, CRLF, quoting by the `csv` module).
Not here: what the tables hold (the analyses and the web routes build the headers and rows) nor reading
spreadsheets back (`cqp_graph.inputs.programme`).

Text is always written as text: a cell such as « =HYPERLINK(...) » taken from an uploaded file stays a
string in the workbook, never a formula; the control characters XML 1.0 cannot hold (a YAML programme may
carry « \x02 ») are left out of a workbook's cells rather than failing the download; and every CSV cell goes through `cqp_graph.query.formats.safe_cell`
(a text cell starting with = + - @, tab or carriage return gets a leading apostrophe, OWASP's advice
against CSV injection). Numbers (int, float, Decimal) are never prefixed.
"""

from __future__ import annotations

import csv
import datetime
import io
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from cqp_graph.query.formats import safe_cell

_MAX_WIDTH = 60
_MIN_WIDTH = 6
# Sheet titles: Excel allows 31 characters and none of these.
_BAD_TITLE_CHARS = str.maketrans({c: " " for c in "[]:*?/\\"})
_FIXED_TIME = datetime.datetime(2000, 1, 1)


def _cell_value(value):
    """What goes into a cell: numbers as numbers, booleans as booleans, the rest as text without the control
    characters a workbook cannot hold (None stays empty)."""
    if value is None or isinstance(value, (bool, int, float, Decimal)):
        return value
    return ILLEGAL_CHARACTERS_RE.sub("", str(value))


def _sheet_title(title: str, used: set[str]) -> str:
    base = (str(title).translate(_BAD_TITLE_CHARS).strip() or "Feuille")[:31]
    candidate, n = base, 2
    while candidate.lower() in used:
        suffix = f" ({n})"
        candidate, n = base[: 31 - len(suffix)] + suffix, n + 1
    used.add(candidate.lower())
    return candidate


def xlsx_bytes(sheets: dict[str, tuple[list[str], list[list]]]) -> bytes:
    """An Excel workbook with one sheet per entry: {title: (headers, rows)}, in the dict's order."""
    return workbook_bytes(workbook(sheets))


def workbook_bytes(book: Workbook) -> bytes:
    """A workbook saved in memory."""
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def workbook(sheets: dict[str, tuple[list[str], list[list]]]) -> Workbook:
    """The openpyxl workbook `xlsx_bytes` saves, for a caller that adds to it (data validation, notes)."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    workbook.properties.creator = "cqp-graph"
    workbook.properties.created = _FIXED_TIME
    workbook.properties.modified = _FIXED_TIME
    bold = Font(bold=True)
    used: set[str] = set()
    if not sheets:
        sheets = {"Feuille": ([], [])}
    for title, (headers, rows) in sheets.items():
        sheet = workbook.create_sheet(_sheet_title(title, used))
        widths: dict[int, int] = {}
        for r, row in enumerate([list(headers), *rows], start=1):
            for c, raw in enumerate(row, start=1):
                value = _cell_value(raw)
                cell = sheet.cell(row=r, column=c, value=value)
                if isinstance(value, str):
                    cell.data_type = "s"  # never a formula, whatever the text starts with
                if r == 1:
                    cell.font = bold
                if value is not None:
                    longest = max((len(line) for line in str(value).splitlines()), default=0)
                    widths[c] = max(widths.get(c, 0), longest)
        for c, width in widths.items():
            sheet.column_dimensions[get_column_letter(c)].width = min(_MAX_WIDTH, max(_MIN_WIDTH, width + 2))
        if headers:
            sheet.freeze_panes = "A2"
    return workbook


def _csv_cell(value):
    """A cell through the project's one CSV guard (`safe_cell`); booleans as true/false."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None or isinstance(value, (int, float, Decimal, str)):
        return safe_cell(value)
    return safe_cell(str(value))


def csv_bytes(headers: list[str], rows: list[list]) -> bytes:
    """A CSV file (UTF-8, comma, CRLF line ends, RFC 4180 quoting) with a header line."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([_csv_cell(h) for h in headers])
    for row in rows:
        writer.writerow([_csv_cell(v) for v in row])
    return out.getvalue().encode("utf-8")
