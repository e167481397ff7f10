"""The server: the SPARQL protocol with real clients (SPARQLWrapper, rdflib's SPARQLStore, plain HTTP) against a
live uvicorn, and the REST API, the linked-data pages and the OpenAPI document through the in-process client.

Lives here: what a client of the server sees. Not here: content negotiation case by case (tests/test_conneg.py),
hostile clients and limits (tests/test_hostile_server.py), several referentials (tests/test_api_referentials.py).
Expected figures come from the data files (tests/support.py's `csv_rows`) or the seed text, never from an
earlier answer of the program.
"""

from __future__ import annotations

import csv
import io
import json
import re
import threading
import time
from collections import defaultdict

import httpx
import pytest
from rdflib import Graph, URIRef
from rdflib.namespace import RDF
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from SPARQLWrapper import CSV, JSON, TSV, XML, SPARQLWrapper

from .support import ROOT, SECOND, SECOND_REFERENTIAL, csv_rows, mission_pages, small_referential

M3 = """PREFIX cqp: <https://w3id.org/cqp-graph/ontology#>
SELECT ?code WHERE { ?m cqp:code "M3" ; cqp:requiresCompetence/cqp:code ?code } ORDER BY ?code"""
RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"


def needed_by(mission: str) -> set[str]:
    """The competence codes the data files say `mission` needs."""
    return {r["competence"] for r in csv_rows("requirements.csv") if r["mission"] == mission}


def sparql(server, fmt=None):
    client = SPARQLWrapper(server.url + "/sparql")
    if fmt:
        client.setReturnFormat(fmt)
    return client


# -- the SPARQL protocol, with real clients over real sockets ---------------------------------------------------

@pytest.mark.parametrize("fmt", [JSON, XML, CSV, TSV])
def test_sparqlwrapper_select_in_every_results_format(live_server, fmt):
    client = sparql(live_server, fmt)
    client.setQuery(M3)
    result = client.query()
    content_type = result.response.headers["content-type"]
    body = result.convert()
    if fmt == JSON:
        codes = [b["code"]["value"] for b in body["results"]["bindings"]]
        assert content_type.startswith("application/sparql-results+json")
    elif fmt == XML:
        codes = [n.firstChild.firstChild.data for n in body.getElementsByTagName("binding")]
        assert content_type.startswith("application/sparql-results+xml")
    elif fmt == CSV:
        codes = [r["code"] for r in csv.DictReader(io.StringIO(body.decode("utf-8")))]
        assert content_type.startswith("text/csv")
    else:
        lines = body.decode("utf-8").strip().split("\n")
        assert lines[0] == "?code"
        codes = [json.loads(line) for line in lines[1:]]
        assert content_type.startswith("text/tab-separated-values")
    assert codes == sorted(needed_by("M3")) and "RSF10" in codes


def test_sparqlwrapper_ask_and_construct(live_server):
    client = sparql(live_server, JSON)
    client.setQuery('PREFIX cqp: <https://w3id.org/cqp-graph/ontology#> ASK { ?c cqp:code "RC1" }')
    assert client.query().convert()["boolean"] is True
    client = sparql(live_server)
    client.setQuery("PREFIX cqp: <https://w3id.org/cqp-graph/ontology#> "
                    "CONSTRUCT { ?m cqp:requiresCompetence ?c } WHERE { ?m cqp:requiresCompetence ?c }")
    graph = client.queryAndConvert()
    pairs = {(r["mission"], r["competence"]) for r in csv_rows("requirements.csv")}
    assert isinstance(graph, Graph) and len(graph) == len(pairs)


@pytest.mark.parametrize("accept,fmt", [("text/turtle", "turtle"), ("application/n-triples", "nt"),
                                        ("application/ld+json", "json-ld"), ("application/rdf+xml", "xml")])
def test_construct_in_every_rdf_format(live_server, accept, fmt):
    query = "PREFIX cqp: <https://w3id.org/cqp-graph/ontology#> DESCRIBE ?m WHERE { ?m cqp:code \"M4\" }"
    response = httpx.post(live_server.url + "/sparql", data={"query": query}, headers={"Accept": accept})
    assert response.status_code == 200 and response.headers["content-type"].startswith(accept)
    graph = Graph().parse(data=response.content, format=fmt)
    assert len(graph) > 5


def test_format_parameter_overrides_accept(live_server):
    response = httpx.get(live_server.url + "/sparql", params={"query": M3, "format": "csv"},
                         headers={"Accept": "application/sparql-results+json"})
    assert response.headers["content-type"].startswith("text/csv")


def test_rdflib_sparqlstore(live_server):
    graph = Graph(store=SPARQLStore(live_server.url + "/sparql", returnFormat="json"))
    rows = list(graph.query(M3))
    assert sorted(str(r[0]) for r in rows) == sorted(needed_by("M3"))
    assert (None, RDF.type, URIRef("https://w3id.org/cqp-graph/ontology#Mission")) in graph


def test_updates_are_refused(live_server):
    url = live_server.url + "/sparql"
    direct = httpx.post(url, content="CLEAR ALL", headers={"Content-Type": "application/sparql-update"})
    form = httpx.post(url, data={"update": "CLEAR ALL"})
    get = httpx.get(url, params={"update": "CLEAR ALL"})
    for response in (direct, form, get):
        assert response.status_code == 403 and "lecture seule" in response.text
    count = httpx.get(url, params={"query": "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }"},
                      headers={"Accept": "application/sparql-results+json"}).json()
    assert int(count["results"]["bindings"][0]["n"]["value"]) > 2000


def test_parse_error_is_400_with_the_parsers_message(live_server):
    response = httpx.get(live_server.url + "/sparql", params={"query": "SELECT ?x WHERE { ?x ?y }"})
    assert response.status_code == 400
    assert "Erreur de syntaxe SPARQL" in response.text and "1:" in response.text


def test_service_description(live_server):
    response = httpx.get(live_server.url + "/sparql", headers={"Accept": "text/turtle"})
    assert response.status_code == 200
    graph = Graph().parse(data=response.text, format="turtle")
    sd = "http://www.w3.org/ns/sparql-service-description#"
    assert (None, URIRef(sd + "endpoint"), URIRef(live_server.url + "/sparql")) in graph
    assert (None, URIRef(sd + "supportedLanguage"), URIRef(sd + "SPARQL11Query")) in graph


def test_runaway_query_is_stopped_while_others_are_answered(live_server):
    outcome = {}

    def runaway():
        started = time.perf_counter()
        response = httpx.get(live_server.url + "/sparql", params={"query": RUNAWAY}, timeout=60)
        outcome["status"], outcome["seconds"], outcome["text"] = (response.status_code,
                                                                  time.perf_counter() - started, response.text)

    thread = threading.Thread(target=runaway)
    thread.start()
    time.sleep(0.5)
    started = time.perf_counter()
    other = httpx.get(live_server.url + "/sparql", params={"query": M3},
                      headers={"Accept": "application/sparql-results+json"}, timeout=30)
    rest = httpx.get(live_server.url + "/api/missions", timeout=30)
    quick = time.perf_counter() - started
    thread.join(60)
    assert other.status_code == 200 and rest.status_code == 200
    assert quick < live_server.timeout, "other requests are answered while the runaway query runs"
    assert outcome["status"] == 503 and "arrêtée" in outcome["text"]
    assert outcome["seconds"] < live_server.timeout + 2.0
    # the killed worker is replaced: the endpoint still answers
    after = httpx.get(live_server.url + "/sparql", params={"query": M3},
                      headers={"Accept": "application/sparql-results+json"}, timeout=30)
    assert after.status_code == 200, after.text


def test_row_cap(live_server):
    response = httpx.get(live_server.url + "/sparql", params={"query": "SELECT * WHERE { ?s ?p ?o }"},
                         headers={"Accept": "application/sparql-results+json"})
    assert response.status_code == 200, response.text
    assert len(response.json()["results"]["bindings"]) == live_server.max_rows
    assert response.headers["x-cqp-truncated"] == "true"


def test_request_size_cap(live_server):
    response = httpx.post(live_server.url + "/sparql", content=b"#" * 2_000_000,
                          headers={"Content-Type": "application/sparql-query"})
    assert response.status_code == 413


def test_cors(live_server):
    preflight = httpx.options(live_server.url + "/sparql", headers={
        "Origin": "http://example.org", "Access-Control-Request-Method": "POST"})
    assert preflight.headers.get("access-control-allow-origin") == "http://example.org"
    other = httpx.options(live_server.url + "/sparql", headers={
        "Origin": "http://evil.example", "Access-Control-Request-Method": "POST"})
    assert other.headers.get("access-control-allow-origin") is None


def test_uvicorn_serves_the_module_app_and_another_base(tmp_path):
    """`uvicorn cqp_graph.api:app`, the module-level application configured from the environment, builds a dump
    for its own base and mints the IRIs under the server's address (on the small test referential, which builds
    quickly: the shipped data's defaults are checked by tests/test_package.py)."""
    import os
    import subprocess
    import sys

    from .server import free_port

    data = small_referential(tmp_path)
    port = free_port()
    base = f"http://127.0.0.1:{port}/"
    env = dict(os.environ, CQP_GRAPH_BASE=base, CQP_GRAPH_DIST=str(tmp_path / "dist"), CQP_GRAPH_DATA=str(data))
    process = subprocess.Popen([sys.executable, "-m", "uvicorn", "cqp_graph.api:app", "--port", str(port)],
                               cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        while True:
            assert process.poll() is None, "uvicorn exited"
            assert time.time() < deadline, "uvicorn did not answer within 120 s"
            try:
                missions = httpx.get(base + "api/missions", timeout=1)
                if missions.status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        rows = sorted(csv_rows("missions.csv", SECOND_REFERENTIAL), key=lambda r: int(r["order"]))
        assert [m["code"] for m in missions.json()] == [r["code"] for r in rows]
        last = rows[-1]["code"]
        iri = next(m["iri"] for m in missions.json() if m["code"] == last)
        assert iri == f"{base}{SECOND}/mission/{last}"
        page = httpx.get(iri, headers={"Accept": "text/turtle"}, follow_redirects=True)
        assert page.status_code == 200 and f"<{iri}>" in page.text
        assert (tmp_path / "dist" / "graph.nt").exists(), "the dump for this base is published in CQP_GRAPH_DIST"
    finally:
        process.terminate()
        process.wait(10)


# -- the REST API, in process ----------------------------------------------------------------------------------

def test_m3_competences_over_rest_match_the_seed(app_client, seed_text):
    rows = app_client.get("/api/missions/M3/competences").json()
    assert {r["code"] for r in rows} == mission_pages(seed_text)["M3"]
    for row in rows:
        assert {"code", "label", "kind", "domain", "iri"} <= row.keys()


def test_named_queries_over_http(app_client, catalogue):
    listing = app_client.get("/api/queries").json()
    assert {q["name"] for q in listing} == set(catalogue.queries)
    one = next(q for q in listing if q["name"] == "competences-for-mission")
    assert one["parameters"][0]["name"] == "mission" and one["title"]
    rows = app_client.get("/api/queries/competences-for-mission", params={"mission": "M2"}).json()
    assert {r["code"] for r in rows} == needed_by("M2") and len(rows) == len(needed_by("M2"))
    as_csv = app_client.get("/api/queries/competences-for-mission", params={"mission": "M2"},
                            headers={"Accept": "text/csv"})
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert len(as_csv.text.strip().split("\n")) == len(needed_by("M2")) + 1


@pytest.mark.parametrize("path,params,status,text", [
    ("/api/queries/nope", {}, 404, "aucune requête nommée"),
    ("/api/queries/competences-for-mission", {}, 422, "attend le paramètre « mission »"),
    ("/api/queries/transversal-competences", {"min_missions": "trois"}, 422, "n'est pas un nombre entier"),
    ("/api/queries/competences", {"colour": "blue"}, 422, "pas de paramètre « colour »"),
    ("/api/missions/M9", {}, 404, "M9 : mission inconnue"),
    ("/api/competences/XX1", {}, 404, "compétence inconnue"),
    ("/api/analyses/astrology", {}, 404, "aucune analyse"),
])
def test_api_errors(app_client, path, params, status, text):
    response = app_client.get(path, params=params)
    assert response.status_code == status and text in response.json()["detail"]


def numbering_gaps(codes: list[str]) -> list[str]:
    """Codes missing below the highest of their series (RC1, RC2, RC4 -> RC3), read from the codes alone."""
    series = defaultdict(set)
    for code in codes:
        prefix, number = re.fullmatch(r"(.*?)(\d+)", code).groups()
        series[prefix].add(int(number))
    return sorted(f"{p}{n}" for p, numbers in series.items() for n in range(1, max(numbers)) if n not in numbers)


def test_rest_resources(app_client):
    def ordered(name):
        return [r["code"] for r in sorted(csv_rows(name), key=lambda r: int(r["order"]))]

    missions = app_client.get("/api/missions").json()
    assert [m["code"] for m in missions] == ordered("missions.csv")
    m4 = app_client.get("/api/missions/M4").json()
    activities = [r["code"] for r in csv_rows("activities.csv") if r["mission"] == "M4"]
    assert [a["code"] for a in m4["activities"]] == activities
    competences = app_client.get("/api/competences").json()
    codes = [r["code"] for r in csv_rows("competences.csv")] + [r["code"] for r in csv_rows("aptitudes.csv")]
    assert sorted(c["code"] for c in competences) == sorted(codes)
    assert all({"code", "label", "kind", "domain", "iri"} <= c.keys() for c in competences)
    rsf10 = app_client.get("/api/competences/RSF10").json()
    requirements = csv_rows("requirements.csv")
    assert {m["code"] for m in rsf10["needed_by"]} == {r["mission"] for r in requirements if r["competence"] == "RSF10"}
    assert any(v["code_as_written"] == "RFS10" for v in rsf10["variants"])
    assert [d["code"] for d in app_client.get("/api/domains").json()] == ordered("domains.csv")
    blocks = sorted(csv_rows("blocks.csv"), key=lambda r: int(r["order"]))
    assert [b["domain"] for b in app_client.get("/api/blocks").json()] == [b["domain"] for b in blocks]
    coverage = app_client.get("/api/coverage").json()
    coded = [r["code"] for r in csv_rows("competences.csv")]
    assert coverage["competences_needed_by_no_mission"] == sorted(set(coded) - {r["competence"] for r in requirements})
    assert coverage["numbering_gaps"] == numbering_gaps(coded) and coverage["numbering_gaps"]
    names = app_client.get("/api/analyses").json()
    assert names
    for name in names:
        assert app_client.get(f"/api/analyses/{name}").status_code == 200


def test_programme_coverage_and_decisions_over_http(app_client):
    programme = (ROOT / "examples" / "programme-lacunaire.yaml").read_text(encoding="utf-8")
    response = app_client.post("/api/coverage/programme", content=programme,
                               headers={"Content-Type": "application/yaml"})
    assert response.status_code == 200 and "RSF10" in response.json()["uncovered"]
    bad = app_client.post("/api/coverage/programme",
                          content="title: t\nmodules:\n  - code: X\n    title: y\n    hours: -1\n")
    assert bad.status_code == 422 and bad.json()["detail"]["errors"][0]["line"] == 5  # the `hours: -1` line
    results = (ROOT / "examples" / "candidat-formation.yaml").read_text(encoding="utf-8")
    decision = app_client.post("/api/decisions", content=results).json()
    assert decision["decision"] == "not awarded" and decision["reasons"]
    wrong = app_client.post("/api/decisions", json={"route": "vae", "blocks": {"B1": {"score": 140}}})
    assert wrong.status_code == 422 and "entre 0 et 100" in json.dumps(wrong.json(), ensure_ascii=False)


# -- linked data, in process ------------------------------------------------------------------------------------

def test_mission_iri_with_turtle_and_html(app_client):
    iri = "https://w3id.org/cqp-graph/agc-alimentaire/mission/M3"
    path = "/agc-alimentaire/mission/M3"
    turtle = app_client.get(path, headers={"Accept": "text/turtle"}, follow_redirects=True)
    assert turtle.status_code == 200 and turtle.history[0].status_code == 303
    graph = Graph().parse(data=turtle.text, format="turtle")
    assert (URIRef(iri), URIRef("https://w3id.org/cqp-graph/ontology#requiresCompetence"), None) in graph
    html = app_client.get(path, headers={"Accept": "text/html"}, follow_redirects=True)
    assert html.status_code == 200 and html.history[0].status_code == 303
    label = next(r["label"] for r in csv_rows("missions.csv") if r["code"] == "M3")
    assert label in html.text
    assert 'lang="fr"' in html.text
    override = app_client.get(path + "?format=jsonld", headers={"Accept": "text/html"}, follow_redirects=True)
    assert override.headers["content-type"].startswith("application/ld+json")


def test_every_minted_iri_resolves(app_client, graph, settings):
    iris = {str(t) for triple in graph for t in triple if isinstance(t, URIRef) and str(t).startswith(settings.base)
            and "#" not in str(t)}
    assert len(iris) > 200
    for iri in sorted(iris):
        response = app_client.get("/" + iri[len(settings.base):], headers={"Accept": "application/n-triples"},
                                  follow_redirects=True)
        assert response.status_code == 200, iri
        assert f"<{iri}>" in response.text


def test_unknown_iri_is_404(app_client):
    assert app_client.get("/agc-alimentaire/mission/M42").status_code == 404


def test_dataset_description_and_dumps(app_client, graph):
    for path in ("/dataset", "/.well-known/void"):
        response = app_client.get(path, headers={"Accept": "text/turtle"})
        description = Graph().parse(data=response.text, format="turtle")
        dcat, void = "http://www.w3.org/ns/dcat#", "http://rdfs.org/ns/void#"
        dataset = description.value(predicate=RDF.type, object=URIRef(dcat + "Dataset"))
        assert dataset is not None
        assert int(description.value(dataset, URIRef(void + "triples"))) == len(graph)
        dumps = list(description.objects(dataset, URIRef(void + "dataDump")))
        assert len(dumps) == 4
    for dump in dumps:
        downloaded = app_client.get(str(dump))
        assert downloaded.status_code == 200
        fmt = {"ttl": "turtle", "nt": "nt", "jsonld": "json-ld", "rdf": "xml"}[str(dump).rsplit(".", 1)[-1]]
        assert len(Graph().parse(data=downloaded.content, format=fmt)) == len(graph)


def test_openapi_documents_resources_with_examples(app_client):
    spec = app_client.get("/openapi.json").json()
    for path in ("/api/missions", "/api/missions/{code}", "/api/missions/{code}/competences", "/api/competences",
                 "/api/competences/{code}", "/api/domains", "/api/blocks", "/api/coverage", "/api/analyses/{name}",
                 "/api/queries", "/api/queries/{name}", "/api/coverage/programme", "/api/decisions"):
        assert path in spec["paths"], path
    schemas = spec["components"]["schemas"]
    assert schemas["Competence"].get("examples") and schemas["Mission"].get("examples")
    docs = app_client.get("/docs")
    assert docs.status_code == 200 and "/static/swagger-ui/swagger-ui-bundle.js" in docs.text
    assert app_client.get("/static/swagger-ui/swagger-ui-bundle.js").status_code == 200  # vendored, no CDN
