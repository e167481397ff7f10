"""The SKOS view of each referential: in the built and served graph, alone in dist/skos.ttl, and clean for a SKOS
checker (skosify, the tool Skosmos users run before loading a vocabulary).

Expectations come from the referential's CSV files (read here with `csv`) and from the SKOS rules the module
docstring of `cqp_graph.source.skos` states: domains and missions are top concepts, a competence is narrower than
its domain (a competence without one, an aptitude, is a top concept), an activity narrower than its mission.
"""

from __future__ import annotations

import csv
import logging
from collections import Counter
from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, SKOS

from cqp_graph.config import Settings
from cqp_graph.graph.assemble import build_graph, load_shapes
from cqp_graph.graph.validate import validate_graph
from cqp_graph.publish.skos import SKOS_FILE, skos_graph

from .support import REFERENTIAL, ROOT, SECOND_REFERENTIAL, need

BASE = Settings.from_env(root=ROOT).base


def read(folder: Path, name: str) -> list[dict]:
    with (folder / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def expected(folder: Path) -> dict:
    """What the view of the referential in `folder` must hold, from its CSV files."""
    root = f"{BASE}{folder.name}/"
    missions, activities = read(folder, "missions.csv"), read(folder, "activities.csv")
    domains, competences = read(folder, "domains.csv"), read(folder, "competences.csv")
    aptitudes = read(folder, "aptitudes.csv")
    concepts = {URIRef(f"{root}mission/{r['code']}"): r for r in missions}
    concepts |= {URIRef(f"{root}activity/{r['code']}"): r for r in activities}
    concepts |= {URIRef(f"{root}domain/{r['code']}"): r for r in domains}
    concepts |= {URIRef(f"{root}competence/{r['code']}"): r for r in competences + aptitudes}
    broader = {URIRef(f"{root}activity/{r['code']}"): URIRef(f"{root}mission/{r['mission']}") for r in activities}
    broader |= {URIRef(f"{root}competence/{r['code']}"): URIRef(f"{root}domain/{r['domain']}")
                for r in competences if r.get("domain")}
    top = {URIRef(f"{root}{kind}/{r['code']}") for kind, rows in (("mission", missions), ("domain", domains))
           for r in rows}
    top |= {URIRef(f"{root}competence/{r['code']}") for r in competences + aptitudes if not r.get("domain")}
    related = {(URIRef(f"{root}mission/{r['mission']}"), URIRef(f"{root}competence/{r['competence']}"))
               for r in read(folder, "requirements.csv")}
    return {"scheme": URIRef(f"{root}concept-scheme"), "concepts": concepts, "broader": broader, "top": top,
            "related": related, "requirements": read(folder, "requirements.csv"),
            "labels": {c: r["label"] for c, r in concepts.items()}}


@pytest.fixture(scope="module")
def skos_file(dist_dir) -> Path:
    path = dist_dir / SKOS_FILE
    assert path.is_file(), "the build writes dist/skos.ttl beside the dumps"
    return path


@pytest.fixture(scope="module")
def view(skos_file) -> Graph:
    return Graph().parse(skos_file, format="turtle")


def test_one_scheme_whose_concepts_are_the_referentials_items(view):
    want = expected(REFERENTIAL)
    assert set(view.subjects(RDF.type, SKOS.ConceptScheme)) == {want["scheme"]}
    concepts = set(view.subjects(RDF.type, SKOS.Concept))
    assert concepts == set(want["concepts"]), (sorted(concepts ^ set(want["concepts"]))[:5])
    for concept, row in want["concepts"].items():
        assert set(view.objects(concept, SKOS.inScheme)) == {want["scheme"]}, concept
        assert list(view.objects(concept, SKOS.notation)) == [Literal(row["code"])], concept
        assert list(view.objects(concept, SKOS.prefLabel)) == [Literal(row["label"], lang="fr")], concept


def test_hierarchy_top_concepts_and_related_missions(view):
    want = expected(REFERENTIAL)
    scheme = want["scheme"]
    assert {c for c in view.subjects(SKOS.topConceptOf, scheme)} == want["top"]
    assert set(view.objects(scheme, SKOS.hasTopConcept)) == want["top"]
    assert {(s, o) for s, o in view.subject_objects(SKOS.broader)} == set(want["broader"].items())
    assert {(o, s) for s, o in view.subject_objects(SKOS.narrower)} == set(want["broader"].items())
    assert not want["top"] & set(want["broader"]), "a top concept has no broader concept"
    pairs = {(s, o) for s, o in view.subject_objects(SKOS.related)}
    assert pairs == want["related"] | {(c, m) for m, c in want["related"]}


def test_wordings_written_differently_are_alt_labels(view):
    want = expected(REFERENTIAL)
    root = f"{BASE}{REFERENTIAL.name}/"
    differing = [r for r in want["requirements"]
                 if r["label_as_written"] and r["label_as_written"] != want["labels"][URIRef(f"{root}competence/{r['competence']}")]]
    assert differing, "the shipped data write some competences differently on a mission page"
    for r in differing:
        competence = URIRef(f"{root}competence/{r['competence']}")
        assert Literal(r["label_as_written"], lang="fr") in set(view.objects(competence, SKOS.altLabel)), r
    for concept in want["concepts"]:
        assert not set(view.objects(concept, SKOS.prefLabel)) & set(view.objects(concept, SKOS.altLabel))


def test_skosify_finds_nothing_to_fix(skos_file, view, caplog):
    skosify = pytest.importorskip("skosify", reason="skosify is not installed (pip install -e .[test])")
    with caplog.at_level(logging.INFO):
        checked = skosify.skosify(str(skos_file))
    problems = [r.getMessage() for r in caplog.records
                if r.levelno >= logging.WARNING or "loose concept" in r.getMessage()]
    assert not problems, problems[:10]
    assert not set(view) - set(checked), "skosify removed triples (a cycle, a disjoint or redundant relation…)"
    added = Counter(str(p) for _s, p, _o in set(checked) - set(view))
    for p in (SKOS.broader, SKOS.narrower, SKOS.topConceptOf, SKOS.hasTopConcept, SKOS.inScheme, SKOS.prefLabel):
        assert added[str(p)] == 0, f"skosify had to add {p} triples: the view left them out"


def test_skosify_reports_a_broken_view(skos_file, tmp_path, caplog):
    """The check above can fail: a second prefLabel and a related link inside a hierarchy are reported."""
    skosify = pytest.importorskip("skosify", reason="skosify is not installed (pip install -e .[test])")
    root = f"{BASE}{REFERENTIAL.name}/"
    broken = tmp_path / "broken.ttl"
    broken.write_text(skos_file.read_text(encoding="utf-8") + f"""
<{root}mission/M1> <{SKOS}prefLabel> "autre"@fr ; <{SKOS}related> <{root}activity/M1A1> .
""", encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        skosify.skosify(str(broken))
    messages = " ".join(r.getMessage() for r in caplog.records)
    assert "more than one prefLabel" in messages and "skos:related" in messages


def test_the_built_and_served_graph_hold_the_view(built, view, app_client):
    assert not set(view) - set(built.graph), "dist/skos.ttl is a part of the built graph"
    want = expected(REFERENTIAL)
    query = f"""PREFIX skos: <{SKOS}>
SELECT (COUNT(DISTINCT ?c) AS ?n) WHERE {{ ?c a skos:Concept ; skos:inScheme <{want['scheme']}> }}"""
    answer = app_client.get("/sparql", params={"query": query}, headers={"Accept": "application/sparql-results+json"})
    assert answer.status_code == 200
    assert int(answer.json()["results"]["bindings"][0]["n"]["value"]) == len(want["concepts"])
    page = app_client.get(f"/{REFERENTIAL.name}/concept-scheme.html")
    assert page.status_code == 200 and "Schéma de concepts SKOS" in page.text


def test_the_view_is_downloadable_and_listed_on_the_dataset(view, app_client):
    """GET /dumps/skos.ttl answers the file (Turtle, parsed here with rdflib) with the referential's concept scheme,
    and /dataset lists it as a DCAT distribution with its media type (a view of the graph, not a void:dataDump)."""
    from rdflib.namespace import DCAT, DCTERMS
    from rdflib.namespace import VOID

    answer = app_client.get(f"/dumps/{SKOS_FILE}")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/turtle")
    served = Graph().parse(data=answer.content, format="turtle")
    assert set(served) == set(view)
    want = expected(REFERENTIAL)
    assert (want["scheme"], RDF.type, SKOS.ConceptScheme) in served
    assert set(served.subjects(SKOS.inScheme, want["scheme"])) == set(want["concepts"])
    assert app_client.get("/dumps/skos.nt").status_code == 404  # only the files the build writes

    dataset = Graph().parse(data=app_client.get("/dataset", headers={"Accept": "text/turtle"}).content,
                            format="turtle")
    [node] = [d for d in dataset.objects(None, DCAT.distribution)
              if str(dataset.value(d, DCAT.downloadURL) or "").endswith(f"/dumps/{SKOS_FILE}")]
    assert str(dataset.value(node, DCAT.mediaType)) == "http://www.iana.org/assignments/media-types/text/turtle"
    assert dataset.value(node, DCAT.byteSize).toPython() == len(answer.content)
    assert (node, DCTERMS.conformsTo, None) in dataset
    assert not any(str(d).endswith(SKOS_FILE) for d in dataset.objects(None, VOID.dataDump))
    assert f"/dumps/{SKOS_FILE}" in app_client.get("/dataset", headers={"Accept": "text/html"}).text
    assert f"/dumps/{SKOS_FILE}" in app_client.get("/dumps/").text


def test_the_view_adds_no_shacl_finding(built, settings):
    """SHACL gives the same findings with and without the view's triples (and no violation with them)."""
    from cqp_graph.namespaces import ontology_ns
    from cqp_graph.source.skos import skos_view

    assert not built.report.violations
    cqp = ontology_ns(settings.base)
    root = f"{settings.base}{REFERENTIAL.name}/"
    added = skos_view(built.graph, root, cqp, URIRef(root + "certification"))
    # the domains were SKOS concepts with a notation before the view (the domains' own scheme): kept
    domains = set(built.graph.subjects(RDF.type, cqp.Domain))
    added = {(s, p, o) for s, p, o in added if not (s in domains and p in (RDF.type, SKOS.notation))}
    assert len(added) > len(expected(REFERENTIAL)["concepts"]), "the view adds triples"
    without = Graph()
    for triple in set(built.graph) - added:
        without.add(triple)
    report = validate_graph(without, load_shapes(settings))

    def keys(findings):
        return Counter((f.as_dict()["severity"], f.as_dict()["focus"], f.as_dict()["message"]) for f in findings)
    assert keys(built.report.findings) == keys(report.findings)


def test_two_referentials_two_schemes(tmp_path):
    need(SECOND_REFERENTIAL, "the second test referential is missing")
    from .support import two_referentials

    data = two_referentials(tmp_path)
    settings = Settings.from_env(root=ROOT, data_dir=data, dist_dir=tmp_path / "dist")
    view = skos_graph(build_graph(settings), settings.base)
    schemes = set(view.subjects(RDF.type, SKOS.ConceptScheme))
    assert schemes == {expected(REFERENTIAL)["scheme"], expected(SECOND_REFERENTIAL)["scheme"]}
    for folder in (REFERENTIAL, SECOND_REFERENTIAL):
        want = expected(folder)
        assert set(view.subjects(SKOS.inScheme, want["scheme"])) == set(want["concepts"]), folder.name
