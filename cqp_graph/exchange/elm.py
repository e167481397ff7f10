"""The European Learning Model (ELM 3.1) export of one referential, for Europass / QDR, as a graph or bytes.

Lives here: `elm_graph` (the referential as ELM triples) and `export_elm` (those triples as Turtle or JSON-LD
bytes), read from named queries through a `Knowledge`. Not here: writing files (the caller, through
`cqp_graph.publish.atomic`, or a release), the project's own dumps (`cqp_graph.publish.dumps`).

The certification becomes an elm:Qualification with its competences as elm:LearningOutcome,
its blocks as partial qualifications (elm:hasPart) and its routes as
elm:LearningAssessmentSpecification (elm:provenBy) whose descriptions state the thresholds.
Only ELM terms are written: the profile's shapes are closed. Values the profile requires
and the source does not give (EQF and national levels, ISCED-F field, language) are read
from data/<referential>/publication.csv; when one is empty the export refuses to run and
names it, rather than invent it. With several referentials in the graph the caller names one
(`referential`); with one, it may leave it out.
"""

from __future__ import annotations

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, RDF, SKOS

from cqp_graph.config import Settings
from cqp_graph.numbers import pct
from cqp_graph.query.knowledge import Knowledge

ELM = Namespace("http://data.europa.eu/snb/model/elm/")
ADMS = Namespace("http://www.w3.org/ns/adms#")
EQF_SCHEME = URIRef("http://data.europa.eu/snb/eqf/25831c2")
ISCED_SCHEME = URIRef("http://data.europa.eu/snb/isced-f/25831c2")
NQF_SCHEME = URIRef("http://data.europa.eu/snb/qdr/25831c2")
LANGUAGE_SCHEME = URIRef("http://publications.europa.eu/resource/authority/language")
REQUIRED = ("eqf-level", "nqf-level", "isced-f", "language")
#: the formats export_elm writes (rdflib serialiser names)
FORMATS = ("turtle", "json-ld")
CONTEXT = {"elm": str(ELM), "dc": str(DCTERMS), "skos": str(SKOS), "adms": str(ADMS)}

_PURPOSE = """
SELECT ?cert ?purpose WHERE { ?cert a cqp:Certification ; cqp:jobProfile/cqp:purpose ?purpose }
"""


class MissingSetting(ValueError):
    """A value the ELM profile requires is empty in the referential's publication.csv."""

    def __init__(self, code: str, label: str, referential: str | None = None):
        self.code = code
        self.referential = referential
        folder = f"data/{referential}" if referential else "data/<référentiel>"
        super().__init__(f"le profil ELM exige « {code} », que les données ne donnent pas : renseignez-le dans "
                         f"{folder}/publication.csv (valeur et source). {label}".rstrip())


def _concept(graph: Graph, iri: URIRef, scheme: URIRef, notation: str, label: str, lang: str = "en"):
    graph.add((iri, RDF.type, SKOS.Concept))
    graph.add((iri, SKOS.prefLabel, Literal(label, lang=lang)))
    graph.add((iri, SKOS.notation, Literal(notation)))
    graph.add((iri, SKOS.inScheme, scheme))
    graph.add((scheme, RDF.type, SKOS.ConceptScheme))
    return iri


def elm_graph(knowledge: Knowledge, settings: Settings, referential: str | None = None) -> Graph:
    """The referential as an ELM qualification (MissingSetting when publication.csv lacks a required value)."""
    chosen = knowledge.referential(referential)

    def rows(name, **params):  # `referential` as given: None is the only referential, every row is its own
        return knowledge.rows(name, referential=referential, **params)

    publication = {r["code"]: r for r in rows("publication-settings")}
    for code in REQUIRED:
        if code not in publication or not publication[code]["value"]:
            raise MissingSetting(code, publication.get(code, {}).get("label", ""), chosen.name)
    values = {code: str(publication[code]["value"]).strip() for code in REQUIRED}
    summary = knowledge.one("certification-summary", referential=referential)
    purpose = next(iter(knowledge.select(_PURPOSE, {"cert": ox.NamedNode(chosen.iri)}).rows), None)
    # the RNCP fiche names the qualification; a referential not (yet) registered is named by its folder
    root = f"{settings.base}elm/rncp{summary['rncp']}" if summary["rncp"] else f"{settings.base}elm/{chosen.name}"
    g = Graph()
    for prefix, ns in (("elm", ELM), ("dc", DCTERMS), ("skos", SKOS), ("adms", ADMS)):
        g.bind(prefix, ns)

    eqf = _concept(g, URIRef(f"http://data.europa.eu/snb/eqf/{values['eqf-level']}"), EQF_SCHEME,
                   values["eqf-level"], f"Level {values['eqf-level']}")
    nqf_value = values["nqf-level"]
    nqf_iri = URIRef(nqf_value) if nqf_value.startswith("http") else URIRef(f"{settings.base}nqf/fr/{nqf_value}")
    nqf = _concept(g, nqf_iri, NQF_SCHEME, nqf_value.rsplit("/", 1)[-1],
                   f"Niveau {nqf_value} du cadre national des certifications professionnelles", "fr")
    isced = _concept(g, URIRef(f"http://data.europa.eu/snb/isced-f/{values['isced-f']}"), ISCED_SCHEME,
                     values["isced-f"], f"ISCED-F {values['isced-f']}")
    language = _concept(g, URIRef(f"{LANGUAGE_SCHEME}/{values['language']}"), LANGUAGE_SCHEME,
                        values["language"], values["language"])

    def qualification(iri: URIRef, title: str, description: str | None, outcomes: list[URIRef], partial: bool):
        g.add((iri, RDF.type, ELM.Qualification))
        g.add((iri, DCTERMS.title, Literal(title, lang="fr")))
        if description:
            g.add((iri, DCTERMS.description, Literal(description, lang="fr")))
        g.add((iri, DCTERMS.language, language))
        g.add((iri, ELM.EQFLevel, eqf))
        g.add((iri, ELM.NQFLevel, nqf))
        g.add((iri, ELM.ISCEDFCode, isced))
        g.add((iri, ELM.isPartialQualification, Literal(partial)))
        for outcome in outcomes:
            g.add((iri, ELM.learningOutcome, outcome))

    outcomes: dict[str, URIRef] = {}
    for competence in rows("competences"):
        node = URIRef(f"{root}/learning-outcome/{competence['code']}")
        g.add((node, RDF.type, ELM.LearningOutcome))
        g.add((node, DCTERMS.title, Literal(f"{competence['code']} – {competence['label']}", lang="fr")))
        identifier = BNode(f"id-{competence['code']}")
        g.add((node, ADMS.identifier, identifier))
        g.add((identifier, RDF.type, ELM.Identifier))
        g.add((identifier, SKOS.notation, Literal(competence["code"])))
        outcomes[competence["code"]] = node

    cert = URIRef(root)
    title = f"{summary['title']}"
    qualification(cert, title, purpose["purpose"] if purpose else None, list(outcomes.values()), False)
    if summary["rncp"]:
        identifier = BNode("id-rncp")
        g.add((cert, ADMS.identifier, identifier))
        g.add((identifier, RDF.type, ELM.Identifier))
        g.add((identifier, SKOS.notation, Literal(f"RNCP{summary['rncp']}")))

    for block in rows("blocks"):
        node = URIRef(f"{root}/block/{block['code']}")
        members = [outcomes[r["code"]] for r in rows("block-contents", block=block["code"])
                   if r["item_type"] == "competence" and r["code"] in outcomes]
        qualification(node, block["label"], f"Bloc de compétences certifiant le domaine {block['domain']}.",
                      members, True)
        g.add((cert, ELM.hasPart, node))
        g.add((node, ELM.isPartOf, cert))

    for route in rows("routes"):
        node = URIRef(f"{root}/assessment/{route['code']}")
        g.add((node, RDF.type, ELM.LearningAssessmentSpecification))
        g.add((node, DCTERMS.title, Literal(route["label"], lang="fr")))
        rules = rows("evaluation-rules", route=route["code"])
        text = " ".join(f"{r['label']} (seuil {pct(r['min_percent'])}, règle {r['rule']}"
                        f"{', choix déclaré' if r['basis'] == 'declared-choice' else ''})." for r in rules)
        if route.get("attestation_validity"):
            text += " " + route["attestation_validity"]
        if text.strip():
            g.add((node, DCTERMS.description, Literal(text.strip(), lang="fr")))
        g.add((node, DCTERMS.language, language))
        g.add((node, ELM.proves, cert))
        g.add((cert, ELM.provenBy, node))
    return g


def export_elm(knowledge: Knowledge, settings: Settings, referential: str | None = None,
               fmt: str = "turtle") -> bytes:
    """The referential's ELM qualification as `fmt` ("turtle" or "json-ld") bytes. Writes nothing."""
    if fmt not in FORMATS:
        raise ValueError(f"format ELM inconnu « {fmt} » : {' ou '.join(FORMATS)}")
    graph = elm_graph(knowledge, settings, referential)
    if fmt == "json-ld":
        return graph.serialize(format="json-ld", context=CONTEXT, auto_compact=True).encode("utf-8")
    return graph.serialize(format="turtle", encoding="utf-8")
