"""The RDF dumps of dist/: the graph written in each format of the one table, reproducibly.

Lives here: the byte-for-byte reproducible serialisation of the graph; `write_dist`, which publishes the dumps into
dist/ through `cqp_graph.publish.atomic`. Not here: the table of dump formats itself (`formats`, re-exported here),
releases (`release`), the dataset description (`dataset`), serving the files (`cqp_graph.web`).
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

from rdflib import Graph

from cqp_graph.publish.atomic import publish_files
from cqp_graph.publish.formats import (CONTEXT_FILE, CONTEXT_MEDIA_TYPE, DUMP_FORMATS, DUMPS,  # noqa: F401
                                       DumpFormat, dump_format, media_type_of)
from cqp_graph.publish.skos import SKOS_FILE, skos_graph
from cqp_graph.namespaces import bind_prefixes, prefixes


def canonical_copy(graph: Graph, base: str) -> Graph:
    """The same triples inserted in a sorted order, so every serialiser walks them the same way."""
    out = Graph()
    for triple in sorted(graph, key=lambda t: tuple(term.n3() for term in t)):
        out.add(triple)
    return bind_prefixes(out, base)


def jsonld_context(base: str) -> dict:
    return {"@context": dict(sorted(prefixes(base).items()))}


def context_bytes(base: str) -> bytes:
    """The JSON-LD context file published beside the dumps (context.jsonld)."""
    return (json.dumps(jsonld_context(base), indent=1, sort_keys=True) + "\n").encode("utf-8")


def serialize(graph: Graph, fmt: str, base: str) -> bytes:
    """`graph` in rdflib format `fmt`, the same bytes for the same triples (N-Triples sorted, JSON-LD and
    RDF/XML nodes sorted)."""
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


def clean_legacy_leftovers(dist: Path) -> None:
    """Clear what cqp-graph 0.1's folder swap could leave beside `dist` when it was killed.

    It staged in `.{name}.XXXXXXXX.stage` and moved the old folder to `.{name}.old-PID`; killed
    between its two renames, it left no `dist` at all: the old folder is put back first. Only
    those exact names are touched.
    """
    dist = Path(dist)
    parent, name = dist.parent, re.escape(dist.name)
    if not parent.is_dir():
        return
    stages = re.compile(rf"^\.{name}\.[A-Za-z0-9_]{{8}}\.stage$")
    olds = re.compile(rf"^\.{name}\.old-[0-9]+$")
    for path in sorted(parent.iterdir()):
        if path.is_symlink() or not path.is_dir():
            continue
        if olds.match(path.name) and not any(dist.iterdir()):
            os.rmdir(dist)  # created empty by this run: give the old build back its place
            os.replace(path, dist)
        elif olds.match(path.name) or stages.match(path.name):
            shutil.rmtree(path)


def dist_payloads(graph: Graph, base: str, extra: dict[str, bytes] | None = None) -> dict[str, bytes]:
    """Every file `build` writes into dist/: one dump per DUMP_FORMATS entry, the JSON-LD context, the SKOS view
    (skos.ttl, `cqp_graph.publish.skos`) and `extra`."""
    canonical = canonical_copy(graph, base)
    payloads = {f.dump_file: serialize(canonical, f.rdflib, base) for f in DUMP_FORMATS}
    payloads[CONTEXT_FILE] = context_bytes(base)
    payloads[SKOS_FILE] = serialize(canonical_copy(skos_graph(graph, base), base), "turtle", base)  # publish/skos.py
    payloads.update(extra or {})
    return payloads


def write_dist(graph: Graph, dist: Path, base: str, extra: dict[str, bytes] | None = None) -> list[Path]:
    """Serialise `graph` into `dist`, replacing only the files the build writes.

    Everything else in `dist` (releases, analyses, reports) is left alone. The files are staged
    whole first, then renamed one by one (see `cqp_graph.publish.atomic.publish_files`): a kill at any
    point leaves every file whole, and the next run completes or discards what it left.
    """
    return publish_files(dist, dist_payloads(graph, base, extra), before_publish=clean_legacy_leftovers)
