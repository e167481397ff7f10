"""Write the graph to dist/ in every RDF format, atomically and byte-for-byte reproducibly."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

from rdflib import Graph

from .atomic import staged_folder
from .namespaces import bind_prefixes, prefixes

#: file name -> (rdflib format, media type)
DUMPS: dict[str, tuple[str, str]] = {
    "graph.ttl": ("turtle", "text/turtle"),
    "graph.nt": ("nt", "application/n-triples"),
    "graph.jsonld": ("json-ld", "application/ld+json"),
    "graph.rdf": ("xml", "application/rdf+xml"),
}
CONTEXT_FILE = "context.jsonld"


def canonical_copy(graph: Graph, base: str) -> Graph:
    """The same triples inserted in a sorted order, so every serialiser walks them the same way."""
    out = Graph()
    for triple in sorted(graph, key=lambda t: tuple(term.n3() for term in t)):
        out.add(triple)
    return bind_prefixes(out, base)


def jsonld_context(base: str) -> dict:
    return {"@context": dict(sorted(prefixes(base).items()))}


def serialize(graph: Graph, fmt: str, base: str) -> bytes:
    if fmt == "nt":
        lines = graph.serialize(format="nt", encoding="utf-8").decode("utf-8").splitlines()
        return ("\n".join(sorted(line for line in lines if line.strip())) + "\n").encode("utf-8")
    if fmt == "json-ld":
        text = graph.serialize(format="json-ld", context=jsonld_context(base)["@context"], auto_compact=True)
        return _stable_jsonld(json.loads(text))
    if fmt == "xml":
        return _stable_rdfxml(graph.serialize(format="xml", encoding="utf-8"))
    return graph.serialize(format=fmt, encoding="utf-8")


def _sort_key(value) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _stable_jsonld(document: dict) -> bytes:
    """rdflib emits nodes in hash order: sort nodes by @id and every multi-valued property."""
    nodes = document.get("@graph", [])
    for node in nodes:
        for key, value in node.items():
            if isinstance(value, list):
                node[key] = sorted(value, key=_sort_key)
    document["@graph"] = sorted(nodes, key=lambda n: (n.get("@id", ""), _sort_key(n)))
    return (json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def _stable_rdfxml(data: bytes) -> bytes:
    """Sort the descriptions of an RDF/XML document and the properties within each."""
    rdf_ns = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
    namespaces = dict(node for _event, node in ET.iterparse(io.BytesIO(data), events=["start-ns"]))
    for prefix, uri in namespaces.items():
        ET.register_namespace(prefix, uri)
    root = ET.fromstring(data)

    def key(el):
        return (el.tag, sorted(el.attrib.items()), el.text or "")

    for desc in root:
        children = sorted(list(desc), key=key)
        for child in list(desc):
            desc.remove(child)
        desc.extend(children)
    top = sorted(list(root), key=lambda el: (el.get(f"{{{rdf_ns}}}about") or el.get(f"{{{rdf_ns}}}nodeID") or "",
                                             ET.tostring(el)))
    for el in list(root):
        root.remove(el)
    root.extend(top)
    ET.indent(root, space="  ")
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="utf-8") + b"\n"


def write_dist(graph: Graph, dist: Path, base: str, extra: dict[str, bytes] | None = None) -> list[Path]:
    """Serialise `graph` into `dist`; the previous dist stays until the new one is complete."""
    canonical = canonical_copy(graph, base)
    payloads = {name: serialize(canonical, fmt, base) for name, (fmt, _media) in DUMPS.items()}
    payloads[CONTEXT_FILE] = (json.dumps(jsonld_context(base), indent=1, sort_keys=True) + "\n").encode("utf-8")
    payloads.update(extra or {})
    with staged_folder(dist) as stage:
        for name, data in payloads.items():
            (stage / name).parent.mkdir(parents=True, exist_ok=True)
            (stage / name).write_bytes(data)
    return [Path(dist) / name for name in payloads]
