"""The ontology's documentation page, generated from the ontology itself (in the manner of pyLODE).

Lives here: `ontology_model` (classes, properties and concept schemes with their French and English labels
and definitions) and `ontology_html` (that model through templates/ontology.html.j2). Not here: loading the
ontology (`cqp_graph.graph.assemble.load_ontology`), serving it (`cqp_graph.web`).
"""

from __future__ import annotations

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS, SKOS

from cqp_graph.namespaces import ontology_ns


def _text(graph: Graph, node, prop, lang: str) -> str:
    for value in graph.objects(node, prop):
        if isinstance(value, Literal) and value.language == lang:
            return str(value)
    return ""


def ontology_model(graph: Graph, base: str) -> dict:
    cqp = ontology_ns(base)
    ns = str(cqp)
    iri = URIRef(ns.rstrip("#"))

    def ref(node) -> dict:
        text = str(node)
        if text.startswith(ns):
            return {"text": "cqp:" + text[len(ns):], "href": "#" + text[len(ns):]}
        short = graph.namespace_manager.normalizeUri(node) if isinstance(node, URIRef) else text
        return {"text": short, "href": text}

    def term(node) -> dict:
        return {"name": str(node)[len(ns):], "label_fr": _text(graph, node, RDFS.label, "fr"),
                "label_en": _text(graph, node, RDFS.label, "en"),
                "definition_fr": _text(graph, node, SKOS.definition, "fr"),
                "definition_en": _text(graph, node, SKOS.definition, "en"),
                "parents": [ref(p) for p in sorted(graph.objects(node, RDFS.subClassOf))],
                "domain": [ref(p) for p in sorted(graph.objects(node, RDFS.domain))],
                "range": [ref(p) for p in sorted(graph.objects(node, RDFS.range))]}

    def ours(kind):
        return sorted((s for s in graph.subjects(RDF.type, kind) if str(s).startswith(ns)), key=str)

    schemes = []
    for scheme in ours(SKOS.ConceptScheme):
        concepts = sorted(graph.subjects(SKOS.inScheme, scheme), key=str)
        schemes.append({"name": str(scheme)[len(ns):], "label_fr": _text(graph, scheme, SKOS.prefLabel, "fr"),
                        "concepts": [{"name": str(c)[len(ns):], "notation": str(graph.value(c, SKOS.notation) or ""),
                                      "label_fr": _text(graph, c, SKOS.prefLabel, "fr"),
                                      "definition_fr": _text(graph, c, SKOS.definition, "fr")} for c in concepts]})
    return {
        "iri": str(iri), "title": _text(graph, iri, DCTERMS.title, "fr"),
        "description": _text(graph, iri, DCTERMS.description, "fr"),
        "version": str(graph.value(iri, OWL.versionInfo) or ""),
        "classes": [term(c) for c in ours(OWL.Class)],
        "object": [term(p) for p in ours(OWL.ObjectProperty)],
        "datatype": [term(p) for p in ours(OWL.DatatypeProperty)],
        "schemes": schemes,
    }


def ontology_html(graph: Graph, base: str, offline: bool = True) -> str:
    """The ontology's page; `offline` (docs/ontology.html): without the site's menu, whose links would not resolve."""
    from cqp_graph.present.render import template

    return template("ontology.html.j2").render(o=ontology_model(graph, base), offline=offline)
