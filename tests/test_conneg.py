"""Content negotiation: the negotiator itself, then weighted (q=) and wildcard Accept headers on every
negotiated route of the real application (in process: negotiation is the application's logic, not the HTTP
server's), with the response's Content-Type asserted (not only its body).

Lives here: the Accept header and what it chooses. Not here: the SPARQL protocol's formats with real clients
(tests/test_server.py, tests/test_w3c_protocol.py).

Each expectation follows from the header alone (RFC 9110 §12.5.1: the highest q wins; a more specific
range overrides a wildcard; q=0 means "not acceptable"), never from what the server answered before.
"""

from __future__ import annotations

import httpx
import pytest

from cqp_graph.web.negotiation import choose, parse_accept

SELECT = "SELECT ?s WHERE { ?s ?p ?o } LIMIT 1"
CONSTRUCT = "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o } LIMIT 1"
RDF_TYPES = {"text/turtle", "application/ld+json", "application/n-triples", "application/rdf+xml"}
EXTENSION = {"text/html": ".html", "text/turtle": ".ttl", "application/ld+json": ".jsonld",
             "application/n-triples": ".nt", "application/rdf+xml": ".rdf"}


def media(response: httpx.Response) -> str:
    return response.headers.get("content-type", "").split(";")[0].strip().lower()


def get(client, path, accept, **params):
    return client.get(path, params=params or None, headers={"Accept": accept}, follow_redirects=False)


def follow(client, location: str):
    """The redirect's target, whether the location is absolute or a path."""
    return client.get(location, follow_redirects=False)


# (accept header, expected media type) where the header decides alone
RDF_CASES = [
    ("text/turtle;q=0.5, application/ld+json;q=0.9", "application/ld+json"),
    ("application/ld+json;q=0.2, text/turtle;q=0.8", "text/turtle"),
    ("application/rdf+xml;q=0.3, application/n-triples;q=0.7, text/turtle;q=0.1", "application/n-triples"),
    ("application/n-triples; q=0.4, application/rdf+xml; q=0.6", "application/rdf+xml"),
    ("*/*;q=0.1, text/turtle", "text/turtle"),
    ("text/*;q=0.2, application/ld+json;q=0.5", "application/ld+json"),
    ("application/*;q=0.2, text/turtle;q=0.5", "text/turtle"),
    ("TEXT/Turtle;Q=0.9, application/ld+json;q=0.1", "text/turtle"),
]
SELECT_CASES = [
    ("text/csv;q=0.5, application/sparql-results+xml;q=0.9", "application/sparql-results+xml"),
    ("application/sparql-results+xml;q=0.4, text/csv;q=0.8", "text/csv"),
    ("text/tab-separated-values;q=0.9, application/sparql-results+json;q=0.3", "text/tab-separated-values"),
    ("*/*;q=0.1, application/sparql-results+json", "application/sparql-results+json"),
    ("application/*;q=0.1, text/csv;q=0.6", "text/csv"),
]
API_CASES = [
    ("text/csv;q=0.9, application/json;q=0.5", "text/csv"),
    ("text/csv;q=0.4, application/json;q=0.5", "application/json"),
    ("text/*", "text/csv"),
    ("application/*", "application/json"),
    ("*/*;q=0.2, text/csv", "text/csv"),
]


def test_the_negotiator_honours_weights_specificity_and_refusals():
    offered = ["text/html", "text/turtle", "application/ld+json"]
    assert choose("text/turtle;q=0.5, application/ld+json;q=0.9", offered) == "application/ld+json"
    assert choose("application/ld+json;q=0.5, text/turtle;q=0.9", offered) == "text/turtle"
    assert choose("image/png", offered) is None
    assert choose("text/turtle;q=0", offered) is None
    assert choose(None, offered) in offered and choose("", offered) in offered
    assert choose("text/*", ["application/json", "text/csv"]) == "text/csv"
    assert [m for m, _, _ in parse_accept("a/b;q=0.1, c/d, e/*;q=0.5")] == ["c/d", "e/*", "a/b"]
    assert parse_accept("a/b;q=zero")[0][1] == 0.0


LD = ["text/html", "text/turtle", "application/ld+json", "application/n-triples", "application/rdf+xml"]


@pytest.mark.parametrize("accept,offered,expected", [
    *[(accept, LD, expected) for accept, expected in RDF_CASES],
    *[(accept, ["application/sparql-results+json", "application/sparql-results+xml", "text/csv",
                "text/tab-separated-values"], expected) for accept, expected in SELECT_CASES],
    *[(accept, ["application/json", "text/csv"], expected) for accept, expected in API_CASES],
    ("text/turtle;q=0.3,application/ld+json;q=0.30001", LD, "application/ld+json"),
    ("text/turtle;q=1.0, application/ld+json;q=0.999", LD, "text/turtle"),
    ("text/turtle;q=x, application/ld+json;q=0.1", LD, "application/ld+json"),  # a bad q counts as 0
    ("text/turtle;level=1;q=0.2, application/ld+json;q=0.6", LD, "application/ld+json"),
    ("text/turtle ; q = 0.2, application/ld+json;q=0.6", LD, "application/ld+json"),
    ("application/ld+json, text/turtle;q=5", LD, "application/ld+json"),  # a weight over 1 counts as 1
    ("text/turtle;q=NaN, application/ld+json;q=0.1", LD, "application/ld+json"),  # NaN counts as 0
    (" , text/turtle", LD, "text/turtle"),
    ("text/*;q=0.5, text/csv;q=0.4", ["text/turtle", "text/csv"], "text/turtle"),
    ("*/*;q=0.5, text/csv;q=0.9", ["text/turtle", "text/csv"], "text/csv"),
    ("text/*;q=0.9, */*;q=0.5", ["application/json", "text/csv"], "text/csv"),
    ("*/*;q=0.9, text/*;q=0.5", ["application/json", "text/csv"], "application/json"),
    ("image/*", ["application/json", "text/csv"], None),
    ("text/", ["text/csv"], None),
    ("a/*", ["application/json"], None),   # a range's type matches whole, not as a prefix
    ("text/*", ["textual/x"], None),
    ("application/json;q=0, text/csv;q=0", ["application/json", "text/csv"], None),
    ("text/csv;q=0.001", ["application/json", "text/csv"], "text/csv"),
])
def test_choose(accept, offered, expected):
    assert choose(accept, offered) == expected


@pytest.mark.parametrize("header,expected", [
    ("a/b;q=0.1, c/d, e/*;q=0.5", [("c/d", 1.0, 1), ("e/*", 0.5, 2), ("a/b", 0.1, 0)]),
    ("*/*, a/*, a/b", [("a/b", 1.0, 2), ("a/*", 1.0, 1), ("*/*", 1.0, 0)]),
    ("A/B ; q=0.7", [("a/b", 0.7, 0)]),
    ("a/b;q=bad", [("a/b", 0.0, 0)]),
    ("", [("*/*", 1.0, 0)]),
    (None, [("*/*", 1.0, 0)]),
    (",,a/b", [("a/b", 1.0, 2)]),
    ("a/b, c/d", [("a/b", 1.0, 0), ("c/d", 1.0, 1)]),
    ("a/b;q = 0.7", [("a/b", 0.7, 0)]),  # spaces around « = » (not RFC 9110's grammar, but sent) are read through
    ("a/b;q=nan, c/d;q=0.1", [("c/d", 0.1, 1), ("a/b", 0.0, 0)]),  # NaN is no weight: 0
    ("a/b;q=1.5, c/d;q=-2, e/f;q=0.9", [("a/b", 1.0, 0), ("e/f", 0.9, 2), ("c/d", 0.0, 1)]),  # clamped to 0–1
])
def test_parse_accept(header, expected):
    assert parse_accept(header) == expected


def test_a_specific_range_overrides_a_wildcard():
    assert choose("text/html;q=0, */*", ["text/html", "text/turtle"]) == "text/turtle"


def test_a_specific_lower_q_overrides_a_wildcard():
    assert choose("text/*;q=0.5, text/turtle;q=0.4", ["text/turtle", "text/csv"]) == "text/csv"


@pytest.mark.parametrize("accept,expected", RDF_CASES)
def test_linked_data_resource_303_then_content_type(app_client, accept, expected):
    response = get(app_client, "/agc-alimentaire/mission/M3", accept)
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.endswith("/agc-alimentaire/mission/M3" + EXTENSION[expected]), location
    assert "accept" in response.headers.get("vary", "").lower()
    target = follow(app_client, location)
    assert target.status_code == 200 and media(target) == expected


@pytest.mark.parametrize("accept", ["text/html;q=0.9, text/turtle;q=0.8", "text/html, */*;q=0.1"])
def test_linked_data_html_when_preferred(app_client, accept):
    response = get(app_client, "/agc-alimentaire/mission/M3", accept)
    assert response.status_code == 303 and response.headers["location"].endswith(".html")
    page = follow(app_client, response.headers["location"])
    assert media(page) == "text/html" and 'lang="fr"' in page.text


@pytest.mark.parametrize("accept", ["*/*", "text/*", "application/*"])
def test_linked_data_wildcards_give_an_offered_type_in_the_range(app_client, accept):
    response = get(app_client, "/agc-alimentaire/mission/M3", accept)
    assert response.status_code == 303
    target = follow(app_client, response.headers["location"])
    assert target.status_code == 200
    kind = media(target)
    assert kind in RDF_TYPES | {"text/html"}
    assert accept == "*/*" or kind.startswith(accept[:-1])


def test_linked_data_unacceptable_is_406(app_client):
    response = get(app_client, "/agc-alimentaire/mission/M3", "image/png")
    assert response.status_code == 406 and media(response) == "text/plain"


@pytest.mark.parametrize("accept,expected", RDF_CASES)
def test_ontology(app_client, accept, expected):
    response = get(app_client, "/ontology", accept)
    assert response.status_code == 200 and media(response) == expected


@pytest.mark.parametrize("accept,expected", RDF_CASES + [("text/html;q=0.9, text/turtle;q=0.1", "text/html")])
def test_dataset(app_client, accept, expected):
    response = get(app_client, "/dataset", accept)
    assert response.status_code == 200 and media(response) == expected


@pytest.mark.parametrize("accept,expected", SELECT_CASES)
def test_sparql_select_results(app_client, accept, expected):
    response = get(app_client, "/sparql", accept, query=SELECT)
    assert response.status_code == 200 and media(response) == expected


@pytest.mark.parametrize("accept,expected", [c for c in RDF_CASES if "text/*" not in c[0]])
def test_sparql_construct_results(app_client, accept, expected):
    response = get(app_client, "/sparql", accept, query=CONSTRUCT)
    assert response.status_code == 200 and media(response) == expected


@pytest.mark.parametrize("accept", ["*/*", "text/*", "application/*"])
def test_sparql_select_wildcards(app_client, accept):
    response = get(app_client, "/sparql", accept, query=SELECT)
    assert response.status_code == 200
    assert accept == "*/*" or media(response).startswith(accept[:-1])


@pytest.mark.parametrize("accept,expected", API_CASES)
def test_named_query_api(app_client, accept, expected):
    response = get(app_client, "/api/queries/competences-for-mission", accept, mission="M3")
    assert response.status_code == 200 and media(response) == expected
    if expected == "text/csv":
        assert response.text.splitlines()[0].startswith(("mission", "code"))
    else:
        assert isinstance(response.json(), list) and response.json()
