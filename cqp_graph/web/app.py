"""The FastAPI application: SPARQL endpoint, query API, linked data, home and query pages, dataset, dumps.

`create_app(settings)` loads the server's state (the graph through the pipeline, see `state`) and puts the
routers together with the middleware (body limit, HEAD as GET, CORS) and the error handlers.

Lives here: the application, its middleware and the pages that are not resources (home, query editor, ontology,
dataset, dumps). Not here: the REST routes (`api_routes`), the resources' pages (`linked_data`), SPARQL
(`sparql`, `executor`).
"""

from __future__ import annotations

import asyncio
import json
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

from cqp_graph.publish.dumps import CONTEXT_FILE, CONTEXT_MEDIA_TYPE, DUMPS, dump_format
from cqp_graph.publish.skos import SKOS_FILE, SKOS_MEDIA_TYPE, SKOS_STANDARD
from cqp_graph.config import Settings
from cqp_graph.query.store import MEMORY, store_kind
from cqp_graph.publish.dataset import Distribution, dataset_description, publication_terms, void_statistics
from cqp_graph.present.render import template
from cqp_graph.exchange.sssom import SSSOM_FILE, SSSOM_MEDIA_TYPE, SSSOM_STANDARD, NoMappings, SSSOMError, sssom_tsv
from cqp_graph.web import api_routes, errors, linked_data, protocol
from cqp_graph.web.executor import Source
from cqp_graph.web.formats import FORMAT_NAMES, GRAPHS, RDFLIB, charset, from_format_param
from cqp_graph.web.negotiation import choose
from cqp_graph.web.sparql import sparql_router
from cqp_graph.web.state import ServerState

TURTLE = dump_format("turtle").media_type  # the dataset description's default
STATIC = Path(__file__).resolve().parent.parent / "present" / "static"
DESCRIPTION = """Query API of **cqp-graph**: the CQP referentials as a validated knowledge graph.

* `/sparql`: SPARQL 1.1 Protocol (read-only), results in JSON, XML, CSV, TSV, Turtle, N-Triples, JSON-LD, RDF/XML;
* `/api/queries`: the named queries of `queries/`, as JSON or CSV;
* `/api/referentials`: the referentials the graph holds; `/api/referentials/{referential}/...`: each one's
  missions, competences, domains, blocks, named queries, coverage of a programme and certification
  decisions (the short `/api/missions`... routes answer when the graph holds one referential, and
  name the choices, 409, when it holds several);
* every IRI of the graph resolves on this server (HTML in French, or RDF by content negotiation).
"""


class BodyLimit:
    """Refuse request bodies larger than `limit` bytes with 413 (declared or streamed)."""

    def __init__(self, app, limit: int):
        self.app = app
        self.limit = limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > self.limit:
                response = Response(f"Corps de requête de plus de {self.limit} octets (CQP_GRAPH_MAX_BODY_BYTES).\n", status_code=413,
                                    media_type="text/plain; charset=utf-8")
                return await response(scope, receive, send)
        seen = 0

        async def limited_receive():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _TooLarge()
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _TooLarge:
            response = Response(f"Corps de requête de plus de {self.limit} octets (CQP_GRAPH_MAX_BODY_BYTES).\n", status_code=413,
                                media_type="text/plain; charset=utf-8")
            await response(scope, receive, send)


class _TooLarge(Exception):
    pass


class HeadAsGet:
    """Answer HEAD wherever GET is answered: run the GET and send its status and headers, no body."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "HEAD":
            return await self.app(scope, receive, send)

        async def headers_only(message):
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return  # the client asked for no body: drop the chunks, send the end only
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, headers_only)


def create_app(settings: Settings | None = None, graph_file: Path | None = None,
               extra_sources: list[Source] = (), workers: int | None = None, cache: bool = True,
               max_body: int | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    max_body = settings.max_body_bytes if max_body is None else max_body
    state = ServerState.load(settings, graph_file, list(extra_sources), workers=workers, cache=cache)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        await state.executor.start()
        from cqp_graph.web import register_routes

        # the register's TF-IDF index, in a thread: the server answers meanwhile (the first /register/blocks waits)
        asyncio.get_running_loop().run_in_executor(None, register_routes.warm, state)
        follower = None
        if store_kind(settings.store) != MEMORY and settings.store_refresh > 0:  # take up what a load publishes
            follower = asyncio.ensure_future(state.follow(settings.store_refresh))
        try:
            yield
        finally:
            if follower is not None:
                follower.cancel()
            await state.executor.stop()
            state.close()

    app = FastAPI(title="cqp-graph", version="0.1.0", description=DESCRIPTION, lifespan=lifespan,
                  docs_url=None, redoc_url=None)
    app.state.cqp = state
    errors.install(app)
    protocol.document(app)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins),
                           allow_methods=["GET", "POST", "OPTIONS"], allow_headers=["*"],
                           expose_headers=["X-CQP-Truncated", "X-CQP-Row-Limit"])
    app.add_middleware(BodyLimit, limit=max_body)
    app.add_middleware(HeadAsGet)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    app.include_router(sparql_router(state.executor, path="/sparql", max_rows=settings.max_rows,
                                     max_body=max_body, max_bytes=settings.max_result_bytes,
                                     prefixes=state.prefixes, graphs=state.graphs,
                                     html_redirect="/query", cache=state.cache if cache else None))
    app.include_router(api_routes.router)
    from cqp_graph.web import search_routes  # /search, /api/search: the search index, built now
    app.include_router(search_routes.router(state))
    from cqp_graph.web import register_routes  # /register, /api/register: the RNCP / RS register
    app.include_router(register_routes.router)
    from cqp_graph.web import workbench_routes  # /coverage, /decisions: the curriculum designer's workbench
    app.include_router(workbench_routes.router)
    from cqp_graph.web import compare_routes  # /compare: missions side by side
    app.include_router(compare_routes.router(lambda request: request.app.state.cqp))
    from cqp_graph.web import findings_routes  # /findings: the SHACL findings with their CSV file and line
    app.include_router(findings_routes.router)

    @app.get("/health", tags=["health"], summary="Whether the SPARQL workers are ready",
             responses={200: {"description": "at least one SPARQL worker is ready", "content": {"application/json": {
                 "example": {"status": "ok", "workers": {"ready": 3, "busy": 0, "total": 3}, "restarts": 0}}}},
                 503: {"description": "no SPARQL worker is ready (the pool is restarting them)"}})
    async def health():
        report = state.executor.health()
        report["cache"] = {"entries": len(state.cache.data), "bytes": state.cache.bytes,
                           "max_bytes": state.cache.max_bytes}
        if store_kind(settings.store) != MEMORY:
            report["version"] = {"served": state.built.origin, "switches": state.switches,
                                 "last_error": state.last_switch_error or None,
                                 "refresh_s": settings.store_refresh}
        return Response(json.dumps(report), status_code=200 if report["workers"]["ready"] else 503,
                        media_type="application/json", headers={"Cache-Control": "no-store"})

    @app.get("/docs", include_in_schema=False)
    async def docs():
        """The API's documentation: Swagger UI 5 (reads OpenAPI 3.1), vendored in static/swagger-ui (no CDN)."""
        return HTMLResponse(template("docs.html.j2").render(static="/static/swagger-ui", openapi_url="/openapi.json"))

    @app.get("/", include_in_schema=False)
    async def home():
        def compute():
            links = linked_data.Links(state)

            def linked(rows):
                return [{**row, "href": links.href(row["iri"])} for row in rows]

            referentials = []
            # every referential of the graph, each with its own certification, missions and blocks (a graph that
            # names none, such as an old dump, is shown whole, as one)
            for r in state.referentials() or [None]:
                name = r.name if r else None
                certs = [c for c in linked(state.rows("certification-summary", name)) if r is None or c["iri"] == r.iri]
                referentials.append({
                    "name": name, "certifications": certs,
                    "api": api_routes.referential_path(name) if name else "/api",
                    "missions": linked(state.rows("missions", name)), "blocks": linked(state.rows("blocks", name))})
            return template("home.html.j2").render(referentials=referentials, formats=list(FORMAT_NAMES.values()))
        return HTMLResponse(state.cached(("home",), compute))

    @app.get("/query", include_in_schema=False)
    async def query_page(request: Request):
        def compute():
            queries = {q.name: {"title": q.title, "description": q.description,
                                "sparql": _with_prefixes(q.sparql, q.params, state)} for q in state.catalogue}
            return template("query.html.j2").render(
                endpoint="/sparql", queries=[{"name": n, **q} for n, q in queries.items()],
                queries_json=json.dumps(queries, ensure_ascii=False).replace("</", "<\\/"))
        return HTMLResponse(state.cached(("query-page",), compute))

    @app.get("/ontology", include_in_schema=False)
    @app.get("/ontology.{ext}", include_in_schema=False)
    async def ontology_page(request: Request, ext: str | None = None):
        from cqp_graph.graph.assemble import load_ontology
        from cqp_graph.present.ontology_doc import ontology_html
        from cqp_graph.web.formats import EXTENSIONS

        offered = ["text/html", *GRAPHS]
        if ext is not None and ext not in EXTENSIONS:  # /ontology.zzz: no such document
            return Response("Format de l'ontologie inconnu.\n", status_code=404, media_type="text/plain; charset=utf-8")
        media = EXTENSIONS.get(ext or "") or from_format_param(request.query_params.get("format")) or \
            choose(request.headers.get("accept"), offered)
        if media not in offered:
            return Response("Format de l'ontologie inconnu.\n", status_code=406 if not ext else 404,
                            media_type="text/plain; charset=utf-8")
        if media == "text/html":
            return HTMLResponse(state.cached(("ontology",),
                                             lambda: ontology_html(load_ontology(settings), settings.base,
                                                                  offline=False)))
        fmt = RDFLIB[media]
        body = state.cached(("ontology", fmt), lambda: load_ontology(settings).serialize(format=fmt, encoding="utf-8"))
        return Response(body, media_type=charset(media), headers={"Vary": "Accept"})

    def distributions(request: Request) -> list[Distribution]:
        root = str(request.base_url).rstrip("/")
        out = []
        for name, (_fmt, media) in DUMPS.items():
            path = state.graph_file.parent / name
            if path.exists():
                out.append(Distribution(name, media, f"{root}/dumps/{name}", path.stat().st_size))
        return out

    def skos_distribution(request: Request) -> Distribution | None:
        """dist/skos.ttl, the SKOS view of every referential (`cqp_graph.publish.skos`), when it was written."""
        path = state.graph_file.parent / SKOS_FILE
        if not path.exists():
            return None
        return Distribution(SKOS_FILE, SKOS_MEDIA_TYPE, f"{str(request.base_url).rstrip('/')}/dumps/{SKOS_FILE}",
                            path.stat().st_size, conforms_to=SKOS_STANDARD,
                            description="La vue SKOS de chaque référentiel (un schéma de concepts par référentiel), "
                                        "pour les outils SKOS.")

    def mapping_set() -> bytes | None:
        """The reviewed ROME mappings as SSSOM TSV (None when the graph holds none)."""
        def compute():
            try:
                return sssom_tsv(state.graph, settings.base).encode("utf-8")
            except NoMappings:
                return b""
        return state.cached(("sssom",), compute) or None

    @app.get("/dataset", include_in_schema=False)
    @app.get("/.well-known/void", include_in_schema=False)
    async def dataset(request: Request):
        import hashlib
        from dataclasses import replace

        root = str(request.base_url).rstrip("/")
        media = from_format_param(request.query_params.get("format")) or \
            choose(request.headers.get("accept"), [TURTLE, "text/html", *(m for m in GRAPHS if m != TURTLE)]) \
            or TURTLE
        dumps = [replace(d, rdf_dump=True) for d in distributions(request)]
        dumps += [d for d in [skos_distribution(request)] if d]  # a view of the graph, not a dump of it
        try:
            mappings = mapping_set()
        except SSSOMError:
            mappings = None  # the /mappings route says why
        if mappings:
            dumps.append(Distribution(SSSOM_FILE, SSSOM_MEDIA_TYPE, f"{root}/mappings/{SSSOM_FILE}", len(mappings),
                                      hashlib.sha256(mappings).hexdigest(), conforms_to=SSSOM_STANDARD))
        if media == "text/html":
            stats = void_statistics(state.graph)
            terms = publication_terms(state.graph, settings.base)
            html = template("dataset.html.j2").render(d={
                "description": "Le graphe de connaissances des référentiels de CQP publiés ici.", "stats": stats,
                "dumps": dumps, "licences": sorted(terms["licences"]), "rights": [t for _n, t in terms["rights"]],
                "endpoint": f"{root}/sparql"})
            return HTMLResponse(html)
        if media not in GRAPHS:
            media = TURTLE
        examples = [m["iri"] for m in state.rows("missions")[:1]]
        description = dataset_description(state.graph, settings.base, f"{root}/dataset", dumps,
                                          sparql_endpoint=f"{root}/sparql", example_resources=examples)
        fmt = RDFLIB[media]
        return Response(description.serialize(format=fmt, encoding="utf-8"), media_type=charset(media),
                        headers={"Vary": "Accept"})

    @app.get(f"/mappings/{SSSOM_FILE}", include_in_schema=False)
    async def rome_mappings():
        """The reviewed ROME 4.0 mappings as an SSSOM TSV, at a stable URL (the mapping set's id under --base)."""
        try:
            body = mapping_set()
        except SSSOMError as exc:
            return Response(f"Ensemble de correspondances indisponible : {exc}\n", status_code=409,
                            media_type="text/plain; charset=utf-8")
        if body is None:
            return Response("Aucune correspondance revue avec le ROME dans ce graphe.\n", status_code=404,
                            media_type="text/plain; charset=utf-8")
        return Response(body, media_type=f"{SSSOM_MEDIA_TYPE}; charset=utf-8",
                        headers={"Content-Disposition": f'inline; filename="{SSSOM_FILE}"'})

    @app.get("/dumps/", include_in_schema=False)
    async def dumps_index(request: Request):
        rows = "".join(f'<li><a href="/dumps/{d.name}">{d.name}</a> ({d.media_type}, {d.size} octets)</li>'
                       for d in distributions(request) + [d for d in [skos_distribution(request)] if d])
        return HTMLResponse(template("message.html.j2").render(
            title="Téléchargements", message="") .replace("<p></p>", f"<ul>{rows}</ul>"))

    @app.get("/dumps/{name}", include_in_schema=False)
    async def dump(name: str):
        if name not in DUMPS and name not in (CONTEXT_FILE, SKOS_FILE):
            return Response("Aucun fichier de ce nom.\n", status_code=404, media_type="text/plain; charset=utf-8")
        path = state.graph_file.parent / name
        if not path.exists():
            return Response("Aucun fichier de ce nom.\n", status_code=404, media_type="text/plain; charset=utf-8")
        media = DUMPS[name][1] if name in DUMPS else SKOS_MEDIA_TYPE if name == SKOS_FILE else CONTEXT_MEDIA_TYPE
        # streamed from the file (a register-sized dump is not read into memory per request)
        return FileResponse(path, media_type=charset(media), filename=name, content_disposition_type="attachment")

    app.include_router(linked_data.router(lambda request: request.app.state.cqp))
    return app


def _with_prefixes(sparql: str, params, state: ServerState) -> str:
    """A named query made runnable in the editor: prefixes declared, each parameter bound to its example.

    This is display text for the query page (the example values come from the query's own header); an optional
    parameter's binding is written as a comment (the query then answers for every referential). The API binds real
    parameter values through the engine, never by editing the text.
    """
    used = {p: ns for p, ns in state.prefixes.items() if f"{p}:" in sparql}
    head = "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in sorted(used.items()))
    binds = ""
    for p in params:
        if p.type in ("integer", "decimal"):
            term = str(p.example)
        elif p.type == "iri":
            term = f"<{p.example}>"
        else:
            term = json.dumps(p.example, ensure_ascii=False)
        if getattr(p, "optional", False):  # left to the reader: without it, every referential answers
            binds += f"  # BIND ({term} AS ?{p.name})  # facultatif : {p.description}\n"
        else:
            binds += f"  BIND ({term} AS ?{p.name})  # {p.description}\n"
    body = sparql.replace("WHERE {\n", "WHERE {\n" + binds, 1) if binds else sparql
    return head + body
