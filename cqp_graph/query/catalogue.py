"""Named (stored) SPARQL queries: the files of queries/, each with a title, a description and parameters.

A query file starts with a YAML header in comment lines between `# ---` markers:

    # ---
    # title: Compétences exigées par une mission
    # description: ...
    # params:
    #   mission: {type: string, example: M3, description: "code de la mission"}
    #   referential: {type: string, optional: true, example: agc-alimentaire, description: "..."}
    # ---
    SELECT ?mission ... ?referential WHERE { ?m cqp:code ?mission ... }

A parameter whose values are codes of the referential declares where they come from, so that an unknown
value is an error suggesting the close ones instead of an empty answer:

    #   mission: {type: string, example: M3, values: {query: missions, unknown: mission inconnue, known: missions}}

`query` is a named query of the same catalogue whose `code` column (or `column`) lists the allowed values
(bound to the same `referential` when the query declares it); `unknown` and `known` are the French words of
the message (« M9 : mission inconnue ; missions : M1, M2, M3, M4, M5 »). `check_values` runs the check
through a knowledge layer. `columns: {label: "libellé"}` gives columns a French title for the tables people
read (the terminal's); the machine formats keep the variables' names.

A parameter is a variable of the query's SELECT projection (the engine substitutes only those). Its
value is bound to that variable by the engine (SPARQL substitution), never pasted into the query text.
A parameter is required unless it has a `default` or is `optional: true`; an optional parameter left
out is not bound at all, so the query answers for every value of that variable (every referential).

Lives here: parsing query files, checking and binding parameters (and their values against the referential's
codes, with the close ones suggested), running a named query into a `Table`.
Not here: which store answers (`cqp_graph.query.store`, through `cqp_graph.query.knowledge`), how a
table is printed (`cqp_graph.query.formats`).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pyoxigraph as ox
import yaml

from cqp_graph.namespaces import prefixes
from cqp_graph.query.store import to_python

PARAM_TYPES = ("string", "integer", "decimal", "iri")


class QueryError(ValueError):
    """An unknown query or parameter, or a parameter value of the wrong form."""


class UnknownValue(QueryError):
    """A parameter value (a code) the referential does not hold; names the close ones (`suggestions`)."""

    def __init__(self, message: str, value: str, suggestions: list[str], known: list[str]):
        super().__init__(message)
        self.value = value
        self.suggestions = suggestions
        self.known = known


@dataclass(frozen=True)
class ValueSource:
    """Where the allowed values of a parameter come from: the `column` of the named query `query`, and the
    French words of the message (`unknown`: « mission inconnue », `known`: « missions »)."""

    query: str
    unknown: str
    known: str
    column: str = "code"


#: at most this many known values are listed in full; beyond, only the closest (CLOSEST of them)
LISTED = 12
CLOSEST = 5
#: how alike (difflib's ratio) a value must be to a known one to be suggested as the one meant
LIKELY = 0.75


def unknown_value(value: str, source: ValueSource, known: list[str], where: str = "") -> UnknownValue:
    """The error for `value`, not among `known`: « M9 : mission inconnue ; missions : M1, M2, … » — all the
    known values when they are few, else the closest ones. A value that differs only by case (« m3 ») is not
    accepted: the message suggests the right code first."""
    text = str(value)
    folded = {k.casefold(): k for k in known}
    close = [folded[m] for m in difflib.get_close_matches(text.casefold(), list(folded), n=CLOSEST, cutoff=0.5)]
    same = folded.get(text.casefold())
    if same is not None:
        close = [same] + [c for c in close if c != same]
    message = f"{text[:80]} : {source.unknown}{where}"
    likely = same or next(iter(difflib.get_close_matches(text.casefold(), list(folded), n=1, cutoff=LIKELY)), None)
    if likely is not None:
        message += f" (vouliez-vous dire {folded.get(likely, likely)} ?)"
    if not known:
        message += f" ; aucune valeur connue ({source.known} : aucun)"
    elif len(known) <= LISTED:
        message += f" ; {source.known} : {', '.join(known)}"
    elif len(close) > 1:
        message += f" ; les plus proches : {', '.join(close)} ({len(known)} {source.known} en tout)"
    elif not close:
        message += f" ; {source.known} : {', '.join(known[:CLOSEST])} … ({len(known)} en tout)"
    return UnknownValue(message, text, close, list(known))


def known_values(knowledge, source: ValueSource, referential: str | None = None) -> list[str]:
    """The allowed values of `source`, asked of `knowledge` (a `Knowledge`: the query is run with its
    `referential` parameter bound when it declares it, never pasted), once per knowledge layer."""
    scope = referential if referential and knowledge.takes_referential(source.query) else None
    cache = getattr(knowledge, "known_values", None)  # a Knowledge keeps them: its graph does not change
    key = (source.query, source.column, scope)
    if cache is not None and key in cache:
        return cache[key]
    rows = knowledge.rows(source.query, referential=scope)
    seen = list(dict.fromkeys(str(r[source.column]) for r in rows if r.get(source.column) is not None))
    if cache is not None:
        cache[key] = seen
    return seen


def check_values(knowledge, query: "NamedQuery", values: dict[str, object]) -> None:
    """UnknownValue for the first parameter of `query` whose value is not among its declared values (those of
    the `referential` value when one is given)."""
    referential = values.get("referential") or None
    for p in query.params:
        raw = values.get(p.name)
        if p.values is None or raw is None or raw == "":
            continue
        known = known_values(knowledge, p.values, None if referential is None else str(referential))
        if str(raw) not in known:
            where = f" dans le référentiel « {str(referential)[:80]} »" if referential else ""
            raise unknown_value(str(raw), p.values, known, where)


@dataclass(frozen=True)
class Param:
    name: str
    type: str = "string"
    description: str = ""
    example: str | None = None
    default: object = None
    optional: bool = False
    values: ValueSource | None = None

    @property
    def required(self) -> bool:
        return self.default is None and not self.optional

    def term(self, raw) -> ox.Literal | ox.NamedNode:
        text = str(raw)
        if self.type == "integer":
            if not re.fullmatch(r"[+-]?[0-9]+", text.strip()):
                raise QueryError(f"paramètre « {self.name} » : « {text} » n'est pas un nombre entier")
            return ox.Literal(str(int(text)), datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer"))
        if self.type == "decimal":
            if not re.fullmatch(r"[+-]?[0-9]+(\.[0-9]+)?", text.strip()):
                raise QueryError(f"paramètre « {self.name} » : « {text} » n'est pas un nombre")
            return ox.Literal(text.strip(), datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#decimal"))
        if self.type == "iri":
            try:
                return ox.NamedNode(text)
            except ValueError as exc:
                raise QueryError(f"paramètre « {self.name} » : « {text} » n'est pas une IRI (message d'oxigraph : {exc})") from None
        return ox.Literal(text)

    def as_dict(self) -> dict:
        return {"name": self.name, "type": self.type, "description": self.description,
                "example": self.example, "default": self.default, "required": self.required,
                "optional": self.optional}


@dataclass(frozen=True)
class NamedQuery:
    name: str
    title: str
    description: str
    sparql: str
    params: tuple[Param, ...] = field(default_factory=tuple)
    path: Path | None = None
    #: the French title of some columns, for tables a person reads (the header's `columns:`); the machine
    #: keys (JSON, CSV) stay the variables' names
    headers: dict[str, str] = field(default_factory=dict, hash=False, compare=False)

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        known = ", ".join(p.name for p in self.params) or "aucun"
        raise QueryError(f"la requête « {self.name} » n'a pas de paramètre « {name} » (ses paramètres : {known})")

    def bindings(self, values: dict[str, object]) -> dict[ox.Variable, object]:
        for name in values:
            self.param(name)
        out = {}
        for p in self.params:
            raw = values.get(p.name, p.default)
            if raw is None or raw == "":
                if p.optional:
                    continue  # left unbound: the query answers for every value
                raise QueryError(f"la requête « {self.name} » attend le paramètre « {p.name} » ({p.description})")
            out[ox.Variable(p.name)] = p.term(raw)
        return out

    def has_param(self, name: str) -> bool:
        return any(p.name == name for p in self.params)

    def as_dict(self) -> dict:
        return {"name": self.name, "title": self.title, "description": self.description,
                "parameters": [p.as_dict() for p in self.params]}


_HEADER = re.compile(r"\A#\s*---\s*\n(?P<body>(?:#.*\n)*?)#\s*---\s*\n", re.MULTILINE)
_SELECT = re.compile(r"\bSELECT\b(?:\s+(?:DISTINCT|REDUCED)\b)?(?P<clause>.*?)(?:\bWHERE\b|\{)", re.IGNORECASE | re.DOTALL)


def projection(sparql: str) -> set[str] | None:
    """The variables the outermost SELECT projects (None for SELECT *): bare `?v` and `(… AS ?v)`."""
    text = re.sub(r"#[^\n]*", "", sparql)
    match = _SELECT.search(text)
    if not match:
        return set()
    clause = match.group("clause")
    if clause.strip() == "*":
        return None
    names, depth, i = set(), 0, 0
    while i < len(clause):
        char = clause[i]
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char in "?$":
            name = re.match(r"[?$](\w+)", clause[i:])
            if name:
                before = clause[:i].rstrip()
                if depth == 0 or (depth == 1 and re.search(r"\bAS$", before, re.IGNORECASE)):
                    names.add(name.group(1))
                i += len(name.group(0))
                continue
        i += 1
    return names


def parse_query_file(path: Path) -> NamedQuery:
    text = Path(path).read_text(encoding="utf-8")
    match = _HEADER.match(text)
    if not match:
        raise QueryError(f"{path}:1: a query file starts with a '# ---' YAML header")
    header_lines = [re.sub(r"^# ?", "", line) for line in match.group("body").splitlines()]
    try:
        meta = yaml.safe_load("\n".join(header_lines)) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 2 if mark else 1
        raise QueryError(f"{path}:{line}: YAML header: {exc}") from None
    for key in ("title", "description"):
        if not meta.get(key):
            raise QueryError(f"{path}:1: the header needs a '{key}'")
    params = []
    body = text[match.end():]
    projected = projection(body)
    for name, spec in (meta.get("params") or {}).items():
        spec = spec or {}
        ptype = spec.get("type", "string")
        if ptype not in PARAM_TYPES:
            raise QueryError(f"{path}: parameter '{name}': type {ptype!r} is not one of {PARAM_TYPES}")
        optional = spec.get("optional", False)
        if not isinstance(optional, bool):
            raise QueryError(f"{path}: parameter '{name}': optional is true or false, not {optional!r}")
        if not re.search(rf"\?{re.escape(name)}\b", body):
            raise QueryError(f"{path}: parameter '{name}' is not a variable of the query")
        if projected is not None and name not in projected:
            raise QueryError(f"{path}: parameter '{name}' must be in the SELECT projection "
                             "(the engine binds only projected variables)")
        params.append(Param(name, ptype, str(spec.get("description", "")),
                            None if spec.get("example") is None else str(spec["example"]), spec.get("default"),
                            optional, _value_source(path, name, spec.get("values"))))
    headers = meta.get("columns") or {}
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        raise QueryError(f"{path}: columns is a mapping of a column to its French title")
    return NamedQuery(Path(path).stem, str(meta["title"]).strip(), str(meta["description"]).strip(),
                      text[match.end():], tuple(params), Path(path), {str(k): v for k, v in headers.items()})


def _value_source(path: Path, name: str, spec) -> ValueSource | None:
    """A parameter's `values: {query, unknown, known[, column]}`, checked."""
    if spec is None:
        return None
    if not isinstance(spec, dict) or not all(isinstance(spec.get(k), str) and spec[k] for k in
                                             ("query", "unknown", "known")):
        raise QueryError(f"{path}: parameter '{name}': values is {{query: NAME, unknown: TEXT, known: TEXT}}")
    return ValueSource(spec["query"], spec["unknown"], spec["known"], str(spec.get("column", "code")))


class QueryCatalogue:
    """The named queries of a folder, by name."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.queries = {q.name: q for q in (parse_query_file(p) for p in sorted(self.folder.glob("*.rq")))}
        for q in self.queries.values():
            for p in q.params:
                if p.values is not None and p.values.query not in self.queries:
                    raise QueryError(f"{q.path}: parameter '{p.name}': values come from '{p.values.query}', "
                                     "which is not a query of the folder")

    def __iter__(self):
        return iter(self.queries.values())

    def __len__(self):
        return len(self.queries)

    def get(self, name: str) -> NamedQuery:
        try:
            return self.queries[name]
        except KeyError:
            raise QueryError(f"aucune requête nommée « {name} » (connues : {', '.join(sorted(self.queries))})") from None


@lru_cache(maxsize=16)
def _cached_catalogue(folder: str, stamp: tuple) -> QueryCatalogue:
    return QueryCatalogue(Path(folder))


def load_catalogue(folder: Path) -> QueryCatalogue:
    """The catalogue of `folder`, parsed once and parsed again only when a query file changes."""
    folder = Path(folder).resolve()
    stamp = tuple((p.name, p.stat().st_mtime_ns) for p in sorted(folder.glob("*.rq")))
    return _cached_catalogue(str(folder), stamp)


@dataclass
class Table:
    """A SELECT result: column names and rows of plain Python values."""

    columns: list[str]
    rows: list[dict]


def run_select(store: ox.Store, sparql: str, base: str, substitutions=None) -> Table:
    result = store.query(sparql, prefixes=prefixes(base), substitutions=substitutions or None)
    if isinstance(result, (ox.QueryBoolean, ox.QueryTriples)) or not hasattr(result, "variables"):
        raise QueryError("a named query must be a SELECT query")  # (a remote store's SELECT is a SelectResult)
    columns = [v.value for v in result.variables]
    rows = [dict(zip(columns, map(to_python, solution))) for solution in result]  # values in `columns` order
    return Table(columns, rows)


def run_named(store: ox.Store, query: NamedQuery, values: dict[str, object], base: str) -> Table:
    return run_select(store, query.sparql, base, query.bindings(values))
