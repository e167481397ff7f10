"""Search on the server: `/api/search` (JSON) and the `/search` page, over an index built when the server starts.

`router(state)` builds the served graph's search index (`cqp_graph.query.search.SearchIndex`, in memory) — or, on
an on-disk store, opens the one `cqp-graph load` built with the version (`search.sqlite` in its folder: at 25,000
fiches, asking the store for every document takes half a minute, which would delay every start) — and
returns the routes; `index_of(state)` is that index, for other routes that filter a list by text
(`/api/competences?q=`). The menu's search box (templates/base.html.j2) sends its form to `/search` and, with
JavaScript, asks `/api/search` for suggestions as one types (static/search.js).

Lives here: the two routes and the index of each served state. Not here: the index and its ranking
(`cqp_graph.query.search`), the reading of `q`/`limit`/`offset` (`paging`), the links to pages (`linked_data`).
"""

from __future__ import annotations

import logging
import threading
import time
import weakref

from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field

from cqp_graph.present.render import template
from cqp_graph.query.search import SEARCH_FILE, SearchIndex
from cqp_graph.query.store import FOLDER, store_kind
from cqp_graph.web import paging
from cqp_graph.web.api_routes import json_bytes
from cqp_graph.web.linked_data import Links
from cqp_graph.web.state import ServerState

log = logging.getLogger("cqp_graph.web")
API_DEFAULT_LIMIT = 10   # suggestions: what a box shows at once
PAGE_DEFAULT_LIMIT = 20  # the page: one screen of results
_INDEXES: dict[tuple[int, str], SearchIndex] = {}
_LOCK = threading.Lock()


class SearchHit(BaseModel):
    iri: str = Field(description="the resource's IRI")
    code: str = Field(description="its code (empty for a resource without one, such as a certification)")
    label: str = Field(description="its label (skos:prefLabel, French)")
    type: str = Field(description="its class, local name: Mission, Activity, CompetenceBlock, Domain, Competence "
                                  "(aptitudes too), CertificationUnit, Certification, RegisterRecord (RNCP/RS fiche)")
    type_label: str = Field(description="that class's French label, from the ontology")
    referential: str | None = Field(description="the referential it belongs to (null: an imported RNCP fiche or "
                                                "block, which belongs to none)")
    score: float = Field(description="relevance, higher first (the list is sorted by it): 2000 for the exact code, "
                                     "1000 for a code that starts with the query (in code order), else BM25 "
                                     "(below 1000)")
    page: str = Field(description="its page on this server (or its IRI when it is not minted here)")


def index_of(state: ServerState) -> SearchIndex:
    """The search index of a served state's current version, built once per version (at the server's start, by
    `router`, then at the first search after the server moved to a version `cqp-graph load` published)."""
    key = (id(state), state.etag)
    with _LOCK:
        index = _INDEXES.get(key)
        if index is None:
            for old in [k for k in _INDEXES if k[0] == id(state)]:  # an earlier version's
                del _INDEXES[old]
            started = time.perf_counter()
            written = state.graph_file.parent / SEARCH_FILE
            if store_kind(state.settings.store) == FOLDER and written.is_file():
                index = SearchIndex.from_bytes(written.read_bytes())  # `cqp-graph load` built it with the version
            else:
                index = SearchIndex.build(state.knowledge)
            index.build_seconds = time.perf_counter() - started
            _INDEXES[key] = index
            weakref.finalize(state, _INDEXES.pop, key, None)
            log.info("index de recherche : %d ressources en %.0f ms", index.size, index.build_seconds * 1000)
    return index


def _referential(request: Request, state: ServerState) -> str | None:
    return paging.choice(request, "referential", [r.name for r in state.referentials()])


def _ask(request: Request, state: ServerState, default_limit: int, required: bool):
    """(q, limit, offset, referential, hits) of a search request; HTTPException 400 (French) for a bad parameter."""
    settings = state.settings
    if not required and request.query_params.get("q") == "":
        q = None  # the page, asked with an empty box: the form again
    else:
        q = paging.text(request, "q", settings.search_max_query, "search_max_query", required=required)
    limit, offset = paging.page(request, settings, "search_max_limit", default_limit)
    referential = _referential(request, state)
    if q is None:
        return None, limit, offset, referential, []
    links = Links(state)
    hits = [{**h.as_dict(), "page": links.href(h.iri)}
            for h in index_of(state).search(q, limit=limit, offset=offset, referential=referential)]
    return q, limit, offset, referential, hits


def router(state: ServerState) -> APIRouter:
    """The search routes of `state`, its index built now (the figure is logged)."""
    index_of(state)
    settings = state.settings
    names = [r.name for r in state.referentials()]
    referential_parameter = {"name": "referential", "in": "query", "required": False,
                             "description": "only this referential's resources (the RNCP fiches belong to none); "
                                            "400 for a name the graph does not hold",
                             "schema": {"type": "string", **({"enum": names} if names else {})}}
    api = APIRouter()

    @api.get("/api/search", response_model=list[SearchHit], tags=["search"],
             summary="Search the referentials by code or words (case, accents and punctuation ignored), best first",
             description="Over codes, labels, other wordings (as the source writes them), missions, activities, "
                         "blocks, domains, competences, aptitudes, units, and the imported RNCP fiches and blocks. "
                         "Each word matches as a prefix; every word must match (when no resource has them all, "
                         "those with some of them are answered). A code (`M4`, `rc2`) ranks first.",
             openapi_extra={"parameters": [
                 paging.text_parameter("q", "search_max_query", "the code or words to look for (1 to "
                                       "CQP_GRAPH_SEARCH_MAX_QUERY characters); 400 when missing or empty",
                                       required=True, settings=settings),
                 *paging.page_parameters(settings, "search_max_limit", API_DEFAULT_LIMIT),
                 referential_parameter]},
             responses={400: {"description": "`q` missing, empty or too long, or a bad `limit`, `offset` or "
                                             "`referential` (the French message says which)"}})
    async def search_api(request: Request):
        _q, _limit, _offset, _referential, hits = _ask(request, state, API_DEFAULT_LIMIT, required=True)
        return Response(json_bytes(hits), media_type="application/json", headers={"ETag": f'"{state.etag}"'})

    @api.get("/search", include_in_schema=False)
    async def search_page(request: Request):
        page = template("search.html.j2")
        referentials = state.referentials()
        try:
            q, limit, offset, referential, hits = _ask(request, state, PAGE_DEFAULT_LIMIT, required=False)
        except HTTPException as exc:
            return HTMLResponse(page.render(error=exc.detail, referentials=referentials,
                                            search_q=request.query_params.get("q", "")[:settings.search_max_query]),
                                status_code=exc.status_code)

        def link(new_offset: int) -> str:
            params = {"q": q, **({"referential": referential} if referential else {}),
                      **({"limit": limit} if limit != PAGE_DEFAULT_LIMIT else {}),
                      **({"offset": new_offset} if new_offset else {})}
            return "/search?" + urlencode(params)

        more = q is not None and len(hits) == limit and offset + limit <= settings.max_offset
        return HTMLResponse(page.render(
            search_q=q or "", hits=hits, referential=referential, referentials=referentials, offset=offset,
            previous=link(max(0, offset - limit)) if q is not None and offset else None,
            next=link(offset + limit) if more else None))

    return api
