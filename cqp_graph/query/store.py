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


def to_python(term):
    """A plain Python value for an RDF term: int, float, bool or str (IRIs as strings)."""
    if term is None:
        return None
    if isinstance(term, ox.Literal):
        dt = term.datatype.value if term.datatype else ""
        value = term.value
        if dt.endswith(("#integer", "#int", "#long", "#nonNegativeInteger", "#positiveInteger")):
            return int(value)
        if dt.endswith(("#decimal", "#double", "#float")):
            number = float(value)
            return int(number) if number.is_integer() and dt.endswith("#decimal") else number
        if dt.endswith("#boolean"):
            return value in ("true", "1")
        return value
    return term.value
