"""dist/skos.ttl: the SKOS view of every referential, alone, for SKOS tools (Skosmos, skosify).

The view is part of the built graph (`cqp_graph.source.skos` adds it to each referential's graph, so the dumps,
the served graph and the SPARQL endpoint hold it); this file is that view taken out of the graph: each
referential's `skos:ConceptScheme` (the one whose `dct:source` is a certification carrying
`cqp:referentialName`) and, for every concept in it, its type, notation, labels, scheme, hierarchy
(`skos:broader`, `skos:narrower`, `skos:topConceptOf`), `skos:related` links and mappings to other vocabularies
(ROME). Memberships of other schemes (the domains' scheme, ROME) are left out, so that a SKOS tool loading
the file sees one scheme per referential.

Lives here: `SKOS_FILE`, `SKOS_MEDIA_TYPE`, `SKOS_STANDARD` and `skos_graph` (the triples of the file). Not here: deriving the
view (`cqp_graph.source.skos`), serialising and writing dist/ (`cqp_graph.publish.dumps`).
"""

from __future__ import annotations

from rdflib import Graph, URIRef
from rdflib.namespace import DCTERMS, RDF, SKOS

from cqp_graph.namespaces import ontology_ns

SKOS_FILE = "skos.ttl"
SKOS_MEDIA_TYPE = "text/turtle"
#: the standard the file follows (dct:conformsTo of its DCAT distribution on /dataset)
SKOS_STANDARD = "http://www.w3.org/TR/skos-reference/"
#: what is kept of a concept besides its type and its membership of the referential's scheme
CONCEPT_PROPERTIES = (SKOS.notation, SKOS.prefLabel, SKOS.altLabel, SKOS.definition, SKOS.broader, SKOS.narrower,
                      SKOS.related, SKOS.exactMatch, SKOS.closeMatch, SKOS.relatedMatch, SKOS.broadMatch,
                      SKOS.narrowMatch)


def referential_schemes(graph: Graph, base: str) -> list[URIRef]:
    """The referentials' concept schemes: those whose dct:source is a referential's certification."""
    named = ontology_ns(base).referentialName
    return sorted(s for s in graph.subjects(RDF.type, SKOS.ConceptScheme)
                  if any((source, named, None) in graph for source in graph.objects(s, DCTERMS.source)))


def skos_graph(graph: Graph, base: str) -> Graph:
    """The SKOS view of every referential of `graph`, without the rest of the graph."""
    out = Graph()
    for scheme in referential_schemes(graph, base):
        out.add((scheme, RDF.type, SKOS.ConceptScheme))
        for p in (SKOS.prefLabel, DCTERMS.source, SKOS.hasTopConcept):
            for o in graph.objects(scheme, p):
                out.add((scheme, p, o))
        for concept in graph.subjects(SKOS.inScheme, scheme):
            out.add((concept, RDF.type, SKOS.Concept))
            out.add((concept, SKOS.inScheme, scheme))
            if (concept, SKOS.topConceptOf, scheme) in graph:
                out.add((concept, SKOS.topConceptOf, scheme))
            for p in CONCEPT_PROPERTIES:
                for o in graph.objects(concept, p):
                    out.add((concept, p, o))
    return out
