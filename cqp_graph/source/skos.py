"""The SKOS view of one referential: its domains, missions, activities and competences as one concept scheme.

SKOS tools (Skosmos, thesaurus editors) browse a vocabulary through `skos:ConceptScheme`, `skos:Concept`,
`skos:broader`… Each referential gets one scheme, `{root}concept-scheme` (its `dct:source`: the referential's
certification, which names it with `cqp:referentialName`):

- its domains and its missions are top concepts (`skos:topConceptOf` / `skos:hasTopConcept`);
- a competence is narrower than its domain (`skos:broader` / `skos:narrower`); a competence outside any domain
  (an aptitude, which the whole job requires) is a top concept;
- an activity is narrower than the mission it belongs to;
- a competence and each mission that requires it are `skos:related` (both ways);
- every concept carries its code as `skos:notation` and is `skos:inScheme` the scheme. Its labels are the
  referential's, already in the graph: `skos:prefLabel`, and `skos:altLabel` for each wording the source
  writes differently (the label variants).

The view is added to the referential's graph when it is built, so the dumps, the served graph and the SPARQL
endpoint hold it; `cqp_graph.publish.skos` writes it alone as dist/skos.ttl.

Lives here: `skos_view` (the view's triples, derived from one referential's graph) and `SCHEME` (the scheme's
IRI segment). Not here: the CSV → RDF mapping (`cqp_graph.source.referential`), the dist/skos.ttl file
(`cqp_graph.publish.skos`).
"""

from __future__ import annotations

from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, RDF, SKOS

#: the segment of a referential's concept scheme under its root IRI
SCHEME = "concept-scheme"


def scheme_label(title: str | None) -> Literal:
    return Literal(f"Domaines, missions, activités et compétences — {title}" if title else
                   "Domaines, missions, activités et compétences", lang="fr")


def skos_view(graph: Graph, root: str, cqp: Namespace, certification: URIRef) -> Graph:
    """The SKOS triples of the referential whose graph is `graph` (resources under `root`)."""
    out = Graph()
    scheme = URIRef(root + SCHEME)
    title = next((o for o in graph.objects(certification, SKOS.prefLabel) if getattr(o, "language", None) == "fr"),
                 None) or graph.value(certification, SKOS.prefLabel)
    out.add((scheme, RDF.type, SKOS.ConceptScheme))
    out.add((scheme, SKOS.prefLabel, scheme_label(str(title) if title is not None else None)))
    out.add((scheme, DCTERMS.source, certification))

    def ours(cls) -> list[URIRef]:
        return sorted(s for s in graph.subjects(RDF.type, cls) if isinstance(s, URIRef) and str(s).startswith(root))

    def concept(node: URIRef, broader: URIRef | None = None):
        out.add((node, RDF.type, SKOS.Concept))
        out.add((node, SKOS.inScheme, scheme))
        code = graph.value(node, cqp.code)
        if code is not None:
            out.add((node, SKOS.notation, Literal(str(code))))
        if broader is None:
            out.add((node, SKOS.topConceptOf, scheme))
            out.add((scheme, SKOS.hasTopConcept, node))
        else:
            out.add((node, SKOS.broader, broader))
            out.add((broader, SKOS.narrower, node))

    domains = set(ours(cqp.Domain))
    missions = set(ours(cqp.Mission))
    for node in sorted(domains | missions):
        concept(node)
    for activity in ours(cqp.Activity):
        mission = next((m for m in graph.subjects(cqp.hasActivity, activity) if m in missions), None)
        concept(activity, mission)
    for competence in ours(cqp.Competence):
        domain = graph.value(competence, cqp.domain)
        concept(competence, domain if domain in domains else None)
    for mission, competence in graph.subject_objects(cqp.requiresCompetence):
        if mission in missions:
            out.add((mission, SKOS.related, competence))
            out.add((competence, SKOS.related, mission))
    return out
