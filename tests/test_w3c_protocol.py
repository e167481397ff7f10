"""The W3C SPARQL 1.1 Protocol test manifest, replayed against the live server.

The manifest (../shared/standards/w3c/) describes each HTTP request and the response class,
format and boolean it must get. Query tests, `bad_*` query tests and `bad_update_get` apply
to a read-only endpoint; the update tests apply only where updates are offered, and this
endpoint offers none (a test below checks that nothing else is left out). The dataset tests'
graphs (data1-3) are loaded into the server as named graphs from the shared copies.
"""

from __future__ import annotations

import json
import xml.dom.minidom
from dataclasses import dataclass, field

import httpx
import pytest
from rdflib import Graph, Namespace
from rdflib.collection import Collection
from rdflib.namespace import RDF

from .support import SHARED, need_shared

MANIFEST = SHARED / "standards" / "w3c" / "sparql11-protocol-manifest.ttl"
MF = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
HT = Namespace("http://www.w3.org/2011/http#")
CNT = Namespace("http://www.w3.org/2011/content#")
HTS = "http://www.w3.org/2011/http-statusCodes#StatusCode"
READ_ONLY_UPDATE_TESTS = {"bad_update_get"}


@dataclass
class ProtocolRequest:
    method: str
    path: str
    headers: dict = field(default_factory=dict)
    body: bytes | None = None
    statuses: set = field(default_factory=set)
    expected_format: str | None = None
    expected_boolean: bool | None = None


def load_manifest() -> dict[str, list[ProtocolRequest]]:
    graph = Graph().parse(MANIFEST, format="turtle")
    manifest = graph.value(predicate=RDF.type, object=MF.Manifest)
    tests = {}
    for entry in Collection(graph, graph.value(manifest, MF.entries)):
        name = str(entry).rsplit("#", 1)[-1]
        action = graph.value(entry, MF.action)
        requests = []
        for req in Collection(graph, graph.value(action, HT.requests)):
            headers = {}
            header_list = graph.value(req, HT.headers)
            if header_list is not None:
                for h in Collection(graph, header_list):
                    headers[str(graph.value(h, HT.fieldName))] = str(graph.value(h, HT.fieldValue))
            body = None
            body_node = graph.value(req, HT.body)
            if body_node is not None:
                encoding = str(graph.value(body_node, CNT.characterEncoding) or "UTF-8")
                body = str(graph.value(body_node, CNT.chars)).encode(encoding.lower().replace("utf-16", "utf-16"))
            resp = graph.value(req, HT.resp)
            statuses = {str(s)[len(HTS):] for s in graph.objects(resp, MF.expectedStatus)}
            boolean = graph.value(resp, MF.expectedBoolean)
            fmt = graph.value(resp, MF.expectedFormat)
            requests.append(ProtocolRequest(str(graph.value(req, HT.methodName)), str(graph.value(req, HT.absolutePath)),
                                            headers, body, statuses, str(fmt) if fmt else None,
                                            None if boolean is None else bool(boolean.toPython())))
        tests[name] = requests
    return tests


def applicable(name: str) -> bool:
    return name.startswith("query_") or (name.startswith("bad_") and "update" not in name) \
        or name in READ_ONLY_UPDATE_TESTS


# The cases that apply to a read-only endpoint, named here so that they report as tests whether the
# manifest is present or not (and fail under CI=true, skip locally, when it is absent); the test below
# checks this list against the manifest whenever it is present.
APPLICABLE = [
    "bad_multiple_queries", "bad_query_method", "bad_query_missing_direct_type", "bad_query_missing_form_type",
    "bad_query_non_utf8", "bad_query_syntax", "bad_query_wrong_media_type", "bad_update_get",
    "query_content_type_ask", "query_content_type_construct", "query_content_type_describe",
    "query_content_type_select", "query_dataset_default_graphs_get", "query_dataset_default_graphs_post",
    "query_dataset_full", "query_dataset_named_graphs_get", "query_dataset_named_graphs_post", "query_get",
    "query_multiple_dataset", "query_post_direct", "query_post_form",
]
_TESTS: dict[str, list[ProtocolRequest]] = {}


def manifest_tests() -> dict[str, list[ProtocolRequest]]:
    need_shared(MANIFEST)
    if not _TESTS:
        _TESTS.update(load_manifest())
    return _TESTS


def test_manifest_is_present_and_the_list_is_what_applies():
    tests = manifest_tests()
    assert sorted(n for n in tests if applicable(n)) == sorted(APPLICABLE)
    left_out = sorted(set(tests) - set(APPLICABLE))
    assert left_out and all("update" in n for n in left_out), left_out


def check_format(response: httpx.Response, request: ProtocolRequest):
    media = response.headers.get("content-type", "").split(";")[0].strip()
    if request.expected_format == "tabular":
        assert media in ("application/sparql-results+xml", "application/sparql-results+json", "text/csv",
                         "text/tab-separated-values")
    elif request.expected_format == "boolean":
        assert media in ("application/sparql-results+xml", "application/sparql-results+json")
    elif request.expected_format == "RDF":
        assert media in ("application/rdf+xml", "text/turtle", "application/n-triples")
        Graph().parse(data=response.content, format={"application/rdf+xml": "xml", "text/turtle": "turtle",
                                                     "application/n-triples": "nt"}[media])
    if request.expected_boolean is not None:
        if media == "application/sparql-results+json":
            value = json.loads(response.content)["boolean"]
        else:
            node = xml.dom.minidom.parseString(response.content).getElementsByTagName("boolean")[0]
            value = node.firstChild.data.strip() == "true"
        assert value is request.expected_boolean


@pytest.mark.parametrize("name", APPLICABLE)
def test_w3c_protocol(live_server, name):
    for request in manifest_tests()[name]:
        path = request.path.replace("/sparql/", "/sparql/", 1)
        response = httpx.request(request.method, live_server.url + path, headers=request.headers,
                                 content=request.body, follow_redirects=False, timeout=30)
        status_class = f"{response.status_code // 100}xx"
        assert status_class in request.statuses, f"{name}: {response.status_code} {response.text[:200]}"
        if status_class == "2xx":
            check_format(response, request)
