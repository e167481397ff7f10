"""Export the certification to the European Learning Model (ELM 3.1) for Europass / QDR.

The certification becomes an elm:Qualification with its competences as elm:LearningOutcome,
its blocks as partial qualifications (elm:hasPart) and its routes as
elm:LearningAssessmentSpecification (elm:provenBy) whose descriptions state the thresholds.
Only ELM terms are written: the profile's shapes are closed. Values the profile requires
and the source does not give (EQF and national levels, ISCED-F field, language) are read
from data/<referential>/publication.csv; when one is empty the export refuses to run and
names it, rather than invent it.
"""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, RDF, SKOS

from cqp_graph.config import Settings
from cqp_graph.analyses.decisions import pct
from cqp_graph.query.catalogue import load_catalogue, run_named

ELM = Namespace("http://data.europa.eu/snb/model/elm/")
ADMS = Namespace("http://www.w3.org/ns/adms#")
EQF_SCHEME = URIRef("http://data.europa.eu/snb/eqf/25831c2")
ISCED_SCHEME = URIRef("http://data.europa.eu/snb/isced-f/25831c2")
NQF_SCHEME = URIRef("http://data.europa.eu/snb/qdr/25831c2")
LANGUAGE_SCHEME = URIRef("http://publications.europa.eu/resource/authority/language")
REQUIRED = ("eqf-level", "nqf-level", "isced-f", "language")


class MissingSetting(ValueError):
    def __init__(self, code: str, label: str):
        self.code = code
        super().__init__(f"the ELM profile needs '{code}', which the data does not give: set it in "
                         f"data/<referential>/publication.csv (value and source). {label}")


def _concept(graph: Graph, iri: URIRef, scheme: URIRef, notation: str, label: str, lang: str = "en"):
    graph.add((iri, RDF.type, SKOS.Concept))
    graph.add((iri, SKOS.prefLabel, Literal(label, lang=lang)))
    graph.add((iri, SKOS.notation, Literal(notation)))
    graph.add((iri, SKOS.inScheme, scheme))
    graph.add((scheme, RDF.type, SKOS.ConceptScheme))
    return iri


def elm_graph(store: ox.Store, settings: Settings) -> Graph:
    catalogue = load_catalogue(settings.queries_dir)

    def rows(name, **params):
        return run_named(store, catalogue.get(name), params, settings.base).rows

    publication = {r["code"]: r for r in rows("publication-settings")}
    for code in REQUIRED:
        if code not in publication or not publication[code]["value"]:
            raise MissingSetting(code, publication.get(code, {}).get("label", ""))
    values = {code: str(publication[code]["value"]).strip() for code in REQUIRED}
    summary = rows("certification-summary")[0]
    purpose = next(iter(store.query("SELECT ?p WHERE { ?j a cqp:JobProfile ; cqp:purpose ?p }",
                                    prefixes={"cqp": settings.base + "ontology#"})), None)
    root = f"{settings.base}elm/rncp{summary['rncp']}"
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
    qualification(cert, title, purpose["p"].value if purpose else None, list(outcomes.values()), False)
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


def export_elm(store: ox.Store, settings: Settings, output: Path) -> Path:
    from cqp_graph.publish.atomic import write_bytes

    graph = elm_graph(store, settings)
    output = Path(output)
    if output.suffix in (".jsonld", ".json"):
        context = {"elm": str(ELM), "dc": str(DCTERMS), "skos": str(SKOS), "adms": str(ADMS)}
        data = graph.serialize(format="json-ld", context=context, auto_compact=True).encode("utf-8")
    elif output.suffix in (".ttl", ".turtle"):
        data = graph.serialize(format="turtle", encoding="utf-8")
    else:
        raise ValueError(f"{output}: write .ttl or .jsonld")
    write_bytes(output, data)
    return output
