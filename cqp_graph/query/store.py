"""The SPARQL engine behind the knowledge layer, and which one the settings choose (`CQP_GRAPH_STORE`).

* `memory` (the default): an in-memory Oxigraph store loaded with the graph each time it is built or served;
* a folder: an on-disk Oxigraph store written by `cqp-graph load` and opened read-only (`folder_store`);
* an `http://` or `https://` URL: a remote SPARQL 1.1 query endpoint (`remote_store`).

Each answers what `Knowledge` asks (`query(sparql, prefixes=, substitutions=)`, `quads_for_pattern`, `len`).

Lives here: the in-memory store, the kind of store a setting names, and `to_python` (typed row values). Not
here: the on-disk and remote stores themselves, the knowledge layer (`knowledge`).
"""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph


MEMORY, FOLDER, REMOTE = "memory", "folder", "remote"


def store_kind(location: str) -> str:
    """What `CQP_GRAPH_STORE` names: MEMORY (`memory` or empty), REMOTE (an http(s) URL) or FOLDER (a path)."""
    text = (location or "").strip()
    if text in ("", MEMORY):
        return MEMORY
    if text.lower().startswith(("http://", "https://")):
        return REMOTE
    return FOLDER


def store_from_graph(graph: Graph) -> ox.Store:
    store = ox.Store()
    data = graph.serialize(format="nt", encoding="utf-8")
    store.bulk_load(data, format=ox.RdfFormat.N_TRIPLES)
    return store


def store_from_file(path: Path) -> ox.Store:
    store = ox.Store()
    store.bulk_load(path=str(path), format=ox.RdfFormat.from_extension(Path(path).suffix.lstrip(".")))
    return store


_XSD = "http://www.w3.org/2001/XMLSchema#"


def _decimal(value: str):
    number = float(value)
    return int(number) if number.is_integer() else number


#: datatype IRI -> how its lexical form becomes a Python value (every other literal is its text)
_CONVERT = {**{_XSD + t: int for t in ("integer", "int", "long", "nonNegativeInteger", "positiveInteger")},
            _XSD + "decimal": _decimal, _XSD + "double": float, _XSD + "float": float,
            _XSD + "boolean": lambda value: value in ("true", "1")}


def to_python(term):
    """A plain Python value for an RDF term: int, float, bool or str (IRIs as strings)."""
    if term is None:
        return None
    if isinstance(term, ox.Literal):
        convert = _CONVERT.get(term.datatype.value)
        return term.value if convert is None else convert(term.value)
    return term.value
