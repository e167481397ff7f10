"""Reading the files people write (programmes, candidate results) with line numbers,
and turning SHACL findings about them into errors that name the file and the line."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

import yaml
from rdflib import Graph, Literal
from rdflib.namespace import XSD

from .namespaces import ontology_ns
from .validate import validate_graph


class InputError(ValueError):
    """One or more problems in an input file, each with its line."""

    def __init__(self, path: str | Path, problems: list[tuple[int | None, str]]):
        self.path = str(path)
        self.problems = sorted(problems, key=lambda p: (p[0] or 0, p[1]))
        super().__init__("\n".join(f"{self.path}:{line}: {msg}" if line else f"{self.path}: {msg}"
                                   for line, msg in self.problems))

    def as_dict(self) -> dict:
        return {"file": self.path, "errors": [{"line": line, "message": msg} for line, msg in self.problems]}


class LineDict(dict):
    """A mapping from YAML that remembers its line and the line of each key."""

    line: int = 0
    key_lines: dict

    def line_of(self, key) -> int:
        return self.key_lines.get(key, self.line)


class _LineLoader(yaml.SafeLoader):
    pass


def _construct_mapping(loader, node, deep=False):
    loader.flatten_mapping(node)
    out = LineDict()
    out.line = node.start_mark.line + 1
    out.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        out[key] = loader.construct_object(value_node, deep=True)
        out.key_lines[key] = key_node.start_mark.line + 1
    return out


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_yaml(text: str, path: str | Path):
    try:
        return yaml.load(text, Loader=_LineLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(path, [(mark.line + 1 if mark else None, f"YAML syntax: {getattr(exc, 'problem', exc)}")])


def read_text(path: Path) -> str:
    try:
        return Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(path, [(None, "no such file")]) from None
    except UnicodeDecodeError as exc:
        raise InputError(path, [(None, f"not UTF-8 text ({exc.reason})")]) from None


def read_csv_records(text: str, path: str | Path) -> list[LineDict]:
    """CSV rows as LineDicts (line = the record's first line)."""
    reader = csv.reader(io.StringIO(text), strict=True)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise InputError(path, [(1, "empty file: a header row is expected")]) from None
    except csv.Error as exc:
        raise InputError(path, [(1, f"CSV syntax: {exc}")]) from None
    rows = []
    while True:
        line = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise InputError(path, [(line, f"CSV syntax: {exc}")]) from None
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            raise InputError(path, [(line, f"{len(cells)} cells where the header has {len(header)}")])
        row = LineDict((h, c.strip()) for h, c in zip(header, cells) if c.strip() != "")
        row.line = line
        row.key_lines = {}
        rows.append(row)
    return rows


def number_literal(value) -> Literal:
    """A decimal literal for a number; anything else stays a string, for the shapes to reject."""
    if isinstance(value, bool) or value is None:
        return Literal(str(value))
    try:
        number = Decimal(str(value).strip().replace(",", "."))
    except InvalidOperation:
        return Literal(str(value))
    if not number.is_finite():
        return Literal(str(value))
    from .referential import canonical_decimal

    return Literal(canonical_decimal(number), datatype=XSD.decimal)


@dataclass
class Located:
    """What an error message should say about a node of an input graph."""

    line: int | None
    label: str


def check_with_shapes(data: Graph, referential: Graph, shapes: Graph, path, base: str,
                      describe) -> None:
    """Validate `data` together with the referential; raise InputError naming the line of each violation.

    `describe(node)` returns a Located (line and a short label such as "module MOD03") for a focus node.
    """
    report = validate_graph(data + referential, shapes)
    problems = []
    seen = set()
    cqp = ontology_ns(base)
    for finding in report.violations:
        from rdflib import URIRef

        focus = URIRef(finding.focus)
        where = describe(focus)
        value = f" ({finding.value.rsplit('/', 1)[-1]})" if finding.value and cqp not in finding.value else ""
        key = (where.line, where.label, finding.message, value)
        if key in seen:
            continue
        seen.add(key)
        problems.append((where.line, f"{where.label}: {finding.message.rstrip('.')}{value}"))
    if problems:
        raise InputError(path, problems)
