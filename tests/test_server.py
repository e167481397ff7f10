"""The live server with real clients: SPARQLWrapper, rdflib's SPARQLStore, plain HTTP."""

from __future__ import annotations

import csv
import io
import json
import threading
import time

import httpx
import pytest
from rdflib import Graph, URIRef
from rdflib.namespace import RDF
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from SPARQLWrapper import CSV, JSON, TSV, XML, SPARQLWrapper

from .support import mission_pages

M3 = """PREFIX cqp: <https://w3id.org/cqp-graph/ontology#>
SELECT ?code WHERE { ?m cqp:code "M3" ; cqp:requiresCompetence/cqp:code ?code } ORDER BY ?code"""
RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"


def sparql(server, fmt=None):
    client = SPARQLWrapper(server.url + "/sparql")
    if fmt:
        client.setReturnFormat(fmt)
    return client


def test_m3_competences_over_rest_match_the_seed(live_server, seed_text):
    rows = httpx.get(live_server.url + "/api/missions/M3/competences").json()
    assert {r["code"] for r in rows} == mission_pages(seed_text)["M3"]
    for row in rows:
        assert {"code", "label", "kind", "domain", "iri"} <= row.keys()


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
    assert len(codes) == 26 and "RSF10" in codes and codes == sorted(codes)


def test_sparqlwrapper_ask_and_construct(live_server):
    client = sparql(live_server, JSON)
    client.setQuery('PREFIX cqp: <https://w3id.org/cqp-graph/ontology#> ASK { ?c cqp:code "RC1" }')
    assert client.query().convert()["boolean"] is True
    client = sparql(live_server)
    client.setQuery("PREFIX cqp: <https://w3id.org/cqp-graph/ontology#> "
                    "CONSTRUCT { ?m cqp:requiresCompetence ?c } WHERE { ?m cqp:requiresCompetence ?c }")
    graph = client.queryAndConvert()
    assert isinstance(graph, Graph) and len(graph) == 96


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
    assert len(rows) == 26
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


# -- named queries and REST ---------------------------------------------------------------------

def test_named_queries_over_http(live_server, catalogue):
    listing = httpx.get(live_server.url + "/api/queries").json()
    assert {q["name"] for q in listing} == set(catalogue.queries)
    one = next(q for q in listing if q["name"] == "competences-for-mission")
    assert one["parameters"][0]["name"] == "mission" and one["title"]
    rows = httpx.get(live_server.url + "/api/queries/competences-for-mission", params={"mission": "M2"}).json()
    assert len(rows) == 23
    as_csv = httpx.get(live_server.url + "/api/queries/competences-for-mission", params={"mission": "M2"},
                       headers={"Accept": "text/csv"})
    assert as_csv.headers["content-type"].startswith("text/csv") and len(as_csv.text.strip().split("\n")) == 24


@pytest.mark.parametrize("path,params,status,text", [
    ("/api/queries/nope", {}, 404, "aucune requête nommée"),
    ("/api/queries/competences-for-mission", {}, 422, "attend le paramètre « mission »"),
    ("/api/queries/transversal-competences", {"min_missions": "trois"}, 422, "n'est pas un nombre entier"),
    ("/api/queries/competences", {"colour": "blue"}, 422, "pas de paramètre « colour »"),
    ("/api/missions/M9", {}, 404, "aucune mission"),
    ("/api/competences/XX1", {}, 404, "aucune compétence"),
    ("/api/analyses/astrology", {}, 404, "aucune analyse"),
])
def test_api_errors(live_server, path, params, status, text):
    response = httpx.get(live_server.url + path, params=params)
    assert response.status_code == status and text in response.json()["detail"]


def test_rest_resources(live_server):
    url = live_server.url
    missions = httpx.get(url + "/api/missions").json()
    assert [m["code"] for m in missions] == ["M1", "M2", "M3", "M4", "M5"]
    m4 = httpx.get(url + "/api/missions/M4").json()
    assert [a["code"] for a in m4["activities"]] == ["M4A1", "M4A2", "M4A3", "M4A4"]
    competences = httpx.get(url + "/api/competences").json()
    assert len(competences) == 57 and all({"code", "label", "kind", "domain", "iri"} <= c.keys() for c in competences)
    rsf10 = httpx.get(url + "/api/competences/RSF10").json()
    assert {m["code"] for m in rsf10["needed_by"]} == {"M3", "M4"}
    assert any(v["code_as_written"] == "RFS10" for v in rsf10["variants"])
    assert [d["code"] for d in httpx.get(url + "/api/domains").json()] == ["R", "PO", "OT"]
    assert [b["domain"] for b in httpx.get(url + "/api/blocks").json()] == ["R", "PO", "OT"]
    coverage = httpx.get(url + "/api/coverage").json()
    assert coverage["competences_needed_by_no_mission"] == ["RC1"] and coverage["numbering_gaps"] == ["RC3"]
    for name in httpx.get(url + "/api/analyses").json():
        assert httpx.get(url + f"/api/analyses/{name}").status_code == 200


def test_programme_coverage_and_decisions_over_http(live_server):
    from .support import ROOT

    programme = (ROOT / "examples" / "programme-lacunaire.yaml").read_text(encoding="utf-8")
    response = httpx.post(live_server.url + "/api/coverage/programme", content=programme,
                          headers={"Content-Type": "application/yaml"})
    assert response.status_code == 200 and "RSF10" in response.json()["uncovered"]
    bad = httpx.post(live_server.url + "/api/coverage/programme",
                     content="title: t\nmodules:\n  - code: X\n    title: y\n    hours: -1\n")
    assert bad.status_code == 422 and bad.json()["detail"]["errors"][0]["line"] == 5  # the `hours: -1` line
    results = (ROOT / "examples" / "candidat-formation.yaml").read_text(encoding="utf-8")
    decision = httpx.post(live_server.url + "/api/decisions", content=results).json()
    assert decision["decision"] == "not awarded" and decision["reasons"]
    wrong = httpx.post(live_server.url + "/api/decisions", json={"route": "vae", "blocks": {"B1": {"score": 140}}})
    assert wrong.status_code == 422 and "entre 0 et 100" in json.dumps(wrong.json(), ensure_ascii=False)


# -- linked data ---------------------------------------------------------------------------------

def test_mission_iri_with_turtle_and_html(live_server):
    iri = "https://w3id.org/cqp-graph/agc-alimentaire/mission/M3"
    path = "/agc-alimentaire/mission/M3"
    turtle = httpx.get(live_server.url + path, headers={"Accept": "text/turtle"}, follow_redirects=True)
    assert turtle.status_code == 200 and turtle.history[0].status_code == 303
    graph = Graph().parse(data=turtle.text, format="turtle")
    assert (URIRef(iri), URIRef("https://w3id.org/cqp-graph/ontology#requiresCompetence"), None) in graph
    html = httpx.get(live_server.url + path, headers={"Accept": "text/html"}, follow_redirects=True)
    assert html.status_code == 200 and html.history[0].status_code == 303
    assert "Intervenir auprès du client pour anticiper un défaut de livraison" in html.text
    assert 'lang="fr"' in html.text
    override = httpx.get(live_server.url + path + "?format=jsonld", headers={"Accept": "text/html"},
                         follow_redirects=True)
    assert override.headers["content-type"].startswith("application/ld+json")


def test_every_minted_iri_resolves(live_server, graph, settings):
    iris = {str(t) for triple in graph for t in triple if isinstance(t, URIRef) and str(t).startswith(settings.base)
            and "#" not in str(t)}
    assert len(iris) > 200
    with httpx.Client(base_url=live_server.url, follow_redirects=True) as client:
        for iri in sorted(iris):
            response = client.get("/" + iri[len(settings.base):], headers={"Accept": "application/n-triples"})
            assert response.status_code == 200, iri
            assert f"<{iri}>" in response.text


def test_unknown_iri_is_404(live_server):
    assert httpx.get(live_server.url + "/agc-alimentaire/mission/M42").status_code == 404


def test_dataset_description_and_dumps(live_server, graph):
    for path in ("/dataset", "/.well-known/void"):
        response = httpx.get(live_server.url + path, headers={"Accept": "text/turtle"})
        description = Graph().parse(data=response.text, format="turtle")
        dcat, void = "http://www.w3.org/ns/dcat#", "http://rdfs.org/ns/void#"
        dataset = description.value(predicate=RDF.type, object=URIRef(dcat + "Dataset"))
        assert dataset is not None
        assert int(description.value(dataset, URIRef(void + "triples"))) == len(graph)
        dumps = list(description.objects(dataset, URIRef(void + "dataDump")))
        assert len(dumps) == 4
    for dump in dumps:
        downloaded = httpx.get(str(dump))
        assert downloaded.status_code == 200
        fmt = {"ttl": "turtle", "nt": "nt", "jsonld": "json-ld", "rdf": "xml"}[str(dump).rsplit(".", 1)[-1]]
        assert len(Graph().parse(data=downloaded.content, format=fmt)) == len(graph)


def test_openapi_documents_resources_with_examples(live_server):
    spec = httpx.get(live_server.url + "/openapi.json").json()
    for path in ("/api/missions", "/api/missions/{code}", "/api/missions/{code}/competences", "/api/competences",
                 "/api/competences/{code}", "/api/domains", "/api/blocks", "/api/coverage", "/api/analyses/{name}",
                 "/api/queries", "/api/queries/{name}", "/api/coverage/programme", "/api/decisions"):
        assert path in spec["paths"], path
    schemas = spec["components"]["schemas"]
    assert schemas["Competence"].get("examples") and schemas["Mission"].get("examples")
    docs = httpx.get(live_server.url + "/docs")
    assert docs.status_code == 200 and "/_swagger/swagger-ui-bundle.js" in docs.text
    assert httpx.get(live_server.url + "/_swagger/swagger-ui-bundle.js").status_code == 200


def test_uvicorn_serves_the_module_app_and_another_base(tmp_path):
    """`uvicorn cqp_graph.api:app` on the embedded default, with IRIs minted under the server's address."""
    import os
    import subprocess
    import sys

    from .support import ROOT
    from .server import free_port

    port = free_port()
    base = f"http://127.0.0.1:{port}/"
    env = dict(os.environ, CQP_GRAPH_BASE=base, CQP_GRAPH_DIST=str(tmp_path / "dist"))
    process = subprocess.Popen([sys.executable, "-m", "uvicorn", "cqp_graph.api:app", "--port", str(port)],
                               cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 90
        while time.time() < deadline:
            try:
                missions = httpx.get(base + "api/missions", timeout=1)
                if missions.status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        iri = missions.json()[2]["iri"]
        assert iri == base + "agc-alimentaire/mission/M3"
        page = httpx.get(iri, headers={"Accept": "text/turtle"}, follow_redirects=True)
        assert page.status_code == 200 and f"<{iri}>" in page.text
    finally:
        process.terminate()
        process.wait(10)
