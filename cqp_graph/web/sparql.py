"""A SPARQL 1.1 Protocol router (read-only) that mounts into any FastAPI app.

    from cqp_graph.web.sparql import sparql_router
    app.include_router(sparql_router(executor, path="/sparql"))

Query by GET, URL-encoded POST or direct POST; SELECT/ASK results as JSON, XML, CSV or
TSV and CONSTRUCT/DESCRIBE as Turtle, N-Triples, JSON-LD or RDF/XML, chosen by Accept or
by a `format` parameter; `default-graph-uri` and `named-graph-uri` honoured; a service
description on a GET without a query; updates refused with 403.

Lives here: the protocol's routes and their negotiation. Not here: running the queries (`executor`), writing
results (`sparql_results`), the media types (`formats`).
"""

from __future__ import annotations

import re
from typing import Callable
from urllib.parse import parse_qs

import pyoxigraph as ox
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from cqp_graph.web.executor import (Executor, ExecutorUnavailable, Overloaded, QueryRequest, QueryTimeout, TooManyQueries,
                       WorkerOutOfMemory)
from cqp_graph.web.formats import GRAPHS, RESULTS, charset
from cqp_graph.web.negotiation import choose

SD = "http://www.w3.org/ns/sparql-service-description#"
FORMATS = "http://www.w3.org/ns/formats/"
READ_ONLY = "Ce point d'accès SPARQL est en lecture seule : SPARQL Update n'y est pas offert."
NON_DETERMINISTIC = re.compile(r"\b(NOW|RAND|UUID|STRUUID|BNODE|SERVICE)\b", re.IGNORECASE)


RESPONSES = {
    200: {"description": "SELECT/ASK results, CONSTRUCT/DESCRIBE graphs, or (GET without a query) the service "
                         "description", "content": {media: {} for media in [*RESULTS, *GRAPHS]}},
    303: {"description": "GET without a query from a browser: to the query editor"},
    400: {"description": "syntax error (the parser's message), unknown function, brackets or operator chains nested "
                         "too deep (CQP_GRAPH_MAX_QUERY_DEPTH, CQP_GRAPH_MAX_QUERY_CHAIN), or SERVICE to an endpoint "
                         "that is not allow-listed"},
    403: {"description": "SPARQL Update: this endpoint is read-only"},
    406: {"description": "no acceptable result format"},
    408: {"description": "request line and headers, or body, not received in time (CQP_GRAPH_HEADER_TIMEOUT, "
                         "CQP_GRAPH_BODY_TIMEOUT)"},
    413: {"description": "request body too large (CQP_GRAPH_MAX_BODY_BYTES)"},
    415: {"description": "body not UTF-8, or not a SPARQL query media type"},
    429: {"description": "this client already has its share of queries in flight (CQP_GRAPH_CLIENT_CONCURRENCY) "
                         "or of open connections (CQP_GRAPH_CLIENT_CONNECTIONS); see Retry-After"},
    431: {"description": "request line and headers too large (CQP_GRAPH_MAX_HEADER_BYTES)"},
    502: {"description": "an allow-listed SERVICE did not answer as expected (its reply is not passed on)"},
    503: {"description": "query stopped at its time or memory limit, too many queries waiting, no worker "
                         "ready, or too many connections (CQP_GRAPH_MAX_CONNECTIONS); see Retry-After"},
}


BAD_ENCODING = "Paramètres refusés : un octet encodé en %XX n'est pas de l'UTF-8 valide."


def _too_large(limit: int) -> str:
    return f"Corps de requête de plus de {limit} octets (CQP_GRAPH_MAX_BODY_BYTES)."


def _params(query: str) -> dict[str, list[str]]:
    """Query-string or form parameters; a percent-encoded byte sequence that is not UTF-8 is an error."""
    return parse_qs(query, keep_blank_values=True, errors="strict")


def _text(status: int, message: str, headers: dict | None = None) -> Response:
    return Response(message.rstrip() + "\n", status_code=status, media_type="text/plain; charset=utf-8",
                    headers=headers)


def service_description(endpoint: str, graphs: list[tuple[str | None, int]]) -> ox.Store:
    store = ox.Store()
    service = ox.BlankNode("service")
    rdf_type = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")

    def add(s, p, o):
        store.add(ox.Quad(s, ox.NamedNode(p) if isinstance(p, str) else p, o))

    add(service, rdf_type, ox.NamedNode(SD + "Service"))
    add(service, SD + "endpoint", ox.NamedNode(endpoint))
    add(service, SD + "supportedLanguage", ox.NamedNode(SD + "SPARQL11Query"))
    for fmt in ("SPARQL_Results_JSON", "SPARQL_Results_XML", "SPARQL_Results_CSV", "SPARQL_Results_TSV",
                "Turtle", "N-Triples", "JSON-LD", "RDF_XML"):
        add(service, SD + "resultFormat", ox.NamedNode(FORMATS + fmt))
    dataset = ox.BlankNode("dataset")
    add(service, SD + "defaultDataset", dataset)
    add(dataset, rdf_type, ox.NamedNode(SD + "Dataset"))
    for name, triples in graphs:
        graph = ox.BlankNode(f"graph{abs(hash(name)) % 10**8}")
        add(graph, rdf_type, ox.NamedNode(SD + "Graph"))
        add(graph, ox.NamedNode("http://rdfs.org/ns/void#triples"),
            ox.Literal(str(triples), datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")))
        if name is None:
            add(dataset, SD + "defaultGraph", graph)
        else:
            named = ox.BlankNode(f"named{abs(hash(name)) % 10**8}")
            add(dataset, SD + "namedGraph", named)
            add(named, SD + "name", ox.NamedNode(name))
            add(named, SD + "graph", graph)
    return store


def sparql_router(
    executor: Executor | Callable[[], Executor],
    *,
    path: str = "/sparql",
    max_rows: int = 10000,
    max_body: int = 1_000_000,
    max_bytes: int = 16 * 2**20,
    prefixes: dict | None = None,
    graphs: Callable[[], list[tuple[str | None, int]]] = lambda: [],
    html_redirect: str | None = None,
    cache=None,
) -> APIRouter:
    """The router; `executor` may be a callable, for apps that start their executor later.

    `cache`, when given (an object with lookup(key) and store(key, value)), keeps successful
    replies of deterministic queries: the data behind a read-only endpoint does not change.
    """
    router = APIRouter(tags=["SPARQL"])

    def get_executor() -> Executor:
        return executor() if callable(executor) and not isinstance(executor, Executor) else executor

    async def run(request: Request, query: str, default_graphs: list[str], named_graphs: list[str],
                  fmt: str | None) -> Response:
        qr = QueryRequest(query=query, accept=request.headers.get("accept"), default_graphs=default_graphs,
                          named_graphs=named_graphs, max_rows=max_rows, max_bytes=max_bytes,
                          base_iri=str(request.url_for("sparql_get").replace(query="")), prefixes=prefixes,
                          format=fmt)
        key = None
        if cache is not None and not NON_DETERMINISTIC.search(query):
            key = (query, qr.accept, fmt, tuple(default_graphs), tuple(named_graphs))
            epoch = getattr(cache, "epoch", None)  # a cache emptied meanwhile (a new version) keeps no old answer
            hit = cache.lookup(key)
            if hit is not None:
                return Response(hit.body, status_code=hit.status, media_type=charset(hit.media_type),
                                headers={**hit.headers, "Vary": "Accept"})
        client = request.client.host if request.client else ""
        try:
            reply = await get_executor().run(qr, client=client)
        except QueryTimeout as exc:
            return _text(503, f"Requête arrêtée : {exc}.", {"Retry-After": "1"})
        except TooManyQueries as exc:
            return _text(429, f"Trop de requêtes simultanées : {exc} ; réessayez quand une requête est finie.",
                         {"Retry-After": "1"})
        except Overloaded as exc:
            return _text(503, f"Service SPARQL surchargé : {exc} ; réessayez bientôt.", {"Retry-After": "2"})
        except WorkerOutOfMemory as exc:
            return _text(503, f"Requête arrêtée : {exc}.", {"Retry-After": "1"})
        except ExecutorUnavailable as exc:
            return _text(503, f"Service SPARQL indisponible : {exc}.", {"Retry-After": "2"})
        if key is not None and reply.status == 200:
            if epoch is None:
                cache.store(key, reply)
            else:
                cache.store(key, reply, epoch)
        headers = dict(reply.headers)
        headers["Vary"] = "Accept"
        return Response(reply.body, status_code=reply.status, media_type=charset(reply.media_type), headers=headers)

    def describe_service(request: Request) -> Response:
        accept = request.headers.get("accept")
        if html_redirect and choose(accept, list(GRAPHS) + ["text/html"]) == "text/html":
            return RedirectResponse(html_redirect, status_code=303)
        media = choose(accept, list(GRAPHS)) or "text/turtle"
        endpoint = str(request.url.replace(query=""))
        body = service_description(endpoint, graphs()).dump(format=GRAPHS[media],
                                                            from_graph=ox.DefaultGraph())
        return Response(body, media_type=charset(media), headers={"Vary": "Accept"})

    def dataset_params(pairs: dict[str, list[str]]) -> tuple[list[str], list[str]]:
        return pairs.get("default-graph-uri", []), pairs.get("named-graph-uri", [])

    @router.get(path, name="sparql_get", summary="SPARQL query by GET, or the service description",
                responses=RESPONSES)
    @router.get(path + "/", include_in_schema=False)
    async def sparql_get(request: Request) -> Response:
        try:
            params = _params(request.url.query)
        except UnicodeDecodeError:
            return _text(400, BAD_ENCODING)
        if "update" in params:
            return _text(403, READ_ONLY)
        queries = params.get("query", [])
        if not queries:
            return describe_service(request)
        if len(queries) > 1:
            return _text(400, "Un seul paramètre « query » est permis.")
        default_graphs, named_graphs = dataset_params(params)
        return await run(request, queries[0], default_graphs, named_graphs, (params.get("format") or [None])[0])

    @router.options(path, include_in_schema=False)
    @router.options(path + "/", include_in_schema=False)
    async def sparql_options() -> Response:
        return _text(405, "Méthode non permise : ce point d'accès SPARQL accepte GET et POST (et HEAD).",
                     {"Allow": "GET, POST"})

    @router.post(path, summary="SPARQL query by URL-encoded POST or direct POST", responses=RESPONSES,
                 openapi_extra={"requestBody": {"required": True, "content": {
                     "application/sparql-query": {"schema": {"type": "string", "minLength": 1},
                                                  "example": "ASK { ?s ?p ?o }"},
                     "application/x-www-form-urlencoded": {"schema": {
                         "type": "object", "required": ["query"], "properties": {
                             "query": {"type": "string", "minLength": 1, "example": "ASK { ?s ?p ?o }"},
                             "default-graph-uri": {"type": "string"}, "named-graph-uri": {"type": "string"},
                             "format": {"type": "string"}}}}}}})
    @router.post(path + "/", include_in_schema=False)
    async def sparql_post(request: Request) -> Response:
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > max_body:
            return _text(413, _too_large(max_body))
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > max_body:
                return _text(413, _too_large(max_body))
        content_type = request.headers.get("content-type", "")
        media, _, parameters = content_type.partition(";")
        media = media.strip().lower()
        declared = parameters.lower().replace(" ", "")
        if "charset=" in declared and "charset=utf-8" not in declared:
            return _text(415, "Seul l'UTF-8 est accepté (charset=utf-8).")
        try:
            url_params = _params(request.url.query)
        except UnicodeDecodeError:
            return _text(400, BAD_ENCODING)
        if media == "application/sparql-update":
            return _text(403, READ_ONLY)
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return _text(415, "Le corps de la requête n'est pas de l'UTF-8.")
        if media == "application/x-www-form-urlencoded":
            try:
                form = _params(text)
            except UnicodeDecodeError:
                return _text(400, BAD_ENCODING)
            if "update" in form:
                return _text(403, READ_ONLY)
            queries = form.get("query", [])
            if len(queries) != 1:
                return _text(400, "Le formulaire doit porter exactement un paramètre « query ».")
            merged = {k: url_params.get(k, []) + form.get(k, []) for k in ("default-graph-uri", "named-graph-uri")}
            default_graphs, named_graphs = dataset_params(merged)
            fmt = (form.get("format") or url_params.get("format") or [None])[0]
            return await run(request, queries[0], default_graphs, named_graphs, fmt)
        if media == "application/sparql-query":
            default_graphs, named_graphs = dataset_params(url_params)
            return await run(request, text, default_graphs, named_graphs, (url_params.get("format") or [None])[0])
        return _text(415, "Envoyez la requête par POST en application/x-www-form-urlencoded (query=…) ou en "
                          "application/sparql-query.")

    return router
