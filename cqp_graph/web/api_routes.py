"""The query API: named queries over HTTP, REST resources per referential, programme coverage and decisions.

Every resource is served twice: under `/api/referentials/{referential}/…` for one referential of the graph, and
under the short `/api/…` route, which answers for the only referential when the graph holds one and, when it holds
several, answers 409 naming them and the `/api/referentials/{name}/…` URL to ask instead. `/api/referentials`
lists them. Each pair of routes shares one function that takes the referential's name
(`_missions(request, state, ref)`…); every list pages with `limit`/`offset` and downloads with `format` (`_list`).

Lives here: the `/api/…` routes and the input jobs (coverage, decisions). Not here: the response models
(`models`), the SPARQL endpoint (`sparql`), the linked-data pages (`linked_data`), the computations themselves
(`cqp_graph.analyses`), the graph (`state.knowledge`).
"""

from __future__ import annotations

import asyncio
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Path, Request
from fastapi.responses import Response

from cqp_graph.analyses.network import ANALYSES, ReferentialFacts, bipartite_graph, competence_kinds, numbering_gaps
from cqp_graph.query.catalogue import QueryError, check_values, unknown_value
from cqp_graph.query.formats import to_csv
from cqp_graph.query.knowledge import UnknownReferential
from cqp_graph.web.models import (Block, Competence, CompetenceDetail, CompetenceOnPage, Coverage, Domain, Mission,
                                  MissionSummary, QueryInfo, ReferentialInfo)
from cqp_graph.web.negotiation import choose
from cqp_graph.web import paging
from cqp_graph.web.state import AmbiguousReferential, ServerState, takes_referential

router = APIRouter(prefix="/api")


def state_of(request: Request) -> ServerState:
    return request.app.state.cqp


def json_bytes(value) -> bytes:
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates from a client's input: escape them, JSON allows it
        return json.dumps(value, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def json_response(state: ServerState, key, compute) -> Response:
    body = state.cached(key, lambda: json_bytes(compute()))
    return Response(body, media_type="application/json", headers={"ETag": f'"{state.etag}"'})


def readable(code: str, what: str) -> str:
    """A path segment from the client; HTTPException 404 (French) when it is not readable text.

    Starlette decodes bytes that are not UTF-8 (such as %ff) to U+FFFD: such a code cannot name anything, so it
    is answered as an unknown code (404), with a message that says why."""
    if "\ufffd" in code or any(ord(c) < 32 or ord(c) == 127 for c in code):
        raise HTTPException(404, f"{what} illisible : le chemin contient des octets qui ne sont pas du texte UTF-8 "
                                 "ou des caractères de contrôle")
    return code


def readable_parameter(key: str, value: str, limit: int) -> None:
    """A query-string parameter: HTTPException 422 (French) for control characters, undecodable bytes or
    more than `limit` characters (CQP_GRAPH_INPUT_MAX_STRING)."""
    for text in (key, value):
        if "\ufffd" in text or any(ord(c) < 32 or ord(c) == 127 for c in text):
            raise HTTPException(422, f"paramètre « {key[:40]} » : caractère de contrôle ou octet qui n'est pas du "
                                     "texte UTF-8")
        if len(text) > limit:
            raise HTTPException(422, f"paramètre « {key[:40]} » : au plus {limit} caractères "
                                     "(CQP_GRAPH_INPUT_MAX_STRING)")


# -- which referential a request is about --------------------------------------------------------------------

REFERENTIAL = Path(description="the referential's name (the name of its data folder; see /api/referentials)",
                   examples=["agc-alimentaire"])
SCOPE_ERRORS = {404: {"description": "no referential of that name in the graph: the answer lists the known ones "
                                     "(`detail.choix`)"}}
SHORT_ERRORS = {409: {"description": "the graph holds several referentials: the answer names them and the "
                                     "/api/referentials/{referential}/… URL of each (`detail.choix`)"}}


def referential_path(name: str, rest: str = "") -> str:
    """The API path of a resource of referential `name` (`rest`: what follows, such as "/missions")."""
    return f"/api/referentials/{quote(name, safe='')}{rest}"


def _choices(state: ServerState, rest: str = "") -> list[dict]:
    return [{"name": r.name, "title": r.title, "url": referential_path(r.name, rest)} for r in state.referentials()]


def scoped(state: ServerState, referential: str) -> str:
    """The referential named in the path; HTTPException 404 (French, with the known names) otherwise."""
    readable(referential, "nom de référentiel")
    try:
        return state.referential(referential).name
    except UnknownReferential as exc:
        raise HTTPException(404, {"message": str(exc), "choix": _choices(state)}) from None


def unscoped(state: ServerState, request: Request) -> str | None:
    """The referential a short route answers for: the only one (None when the graph names none); HTTPException
    409 (French) naming each referential and the URL to ask instead when the graph holds several."""
    try:
        return state.only_referential()
    except AmbiguousReferential as exc:
        rest = request.url.path[len("/api"):]
        query = f"?{request.url.query}" if request.url.query else ""
        choices = [{**c, "url": c["url"] + query} for c in _choices(state, quote(rest, safe="/"))]
        urls = " ou ".join(c["url"] for c in choices)
        raise HTTPException(409, {"message": f"{exc} ; demandez {urls}", "choix": choices}) from None


# -- the referentials ----------------------------------------------------------------------------------------

def _referential_info(state: ServerState, name: str) -> dict:
    r = state.referential(name)
    page = state.local_path(r.iri)
    links = {"page": quote(page, safe="/:#") if page else r.iri,
             **{what: referential_path(r.name, f"/{what}")
                for what in ("missions", "competences", "domains", "blocks", "queries", "coverage", "analyses")},
             "programme_coverage": referential_path(r.name, "/coverage/programme"),
             "decisions": referential_path(r.name, "/decisions")}
    return {**r.as_dict(), "links": links}


@router.get("/referentials", response_model=list[ReferentialInfo], tags=["referentials"],
            summary="The referentials the graph holds: name, title, RNCP number, IRI and the URLs of their resources")
async def referentials(request: Request):
    state = state_of(request)
    return json_response(state, ("referentials-api",), lambda: [
        _referential_info(state, r.name) for r in state.referentials()])


@router.get("/referentials/{referential}", response_model=ReferentialInfo, tags=["referentials"],
            summary="One referential: its title, RNCP number, IRI and the URLs of its resources",
            responses=SCOPE_ERRORS)
async def referential(request: Request, referential: str = REFERENTIAL):
    state = state_of(request)
    name = scoped(state, referential)
    return json_response(state, ("referential-api", name), lambda: _referential_info(state, name))


# -- named queries -------------------------------------------------------------------------------------------

QUERY_FORMATS = {"csv": "text/csv", "json": "application/json"}
QUERY_ERRORS = {404: {"description": "no such named query, or a parameter value (a code) the referential does "
                                    "not hold: the French message suggests the close ones"},
                422: {"description": "missing, unknown or invalid parameter (or format other than csv/json)"}}
QUERY_EXAMPLE = {200: {"content": {"application/json": {"example": [
    {"mission": "M3", "code": "OTC1", "label": "Expliquer le fonctionnement des logiciels spécifiques…",
     "kind": "C", "domain": "OT"}]}, "text/csv": {}}}}


def _queries(state: ServerState, ref: str | None) -> Response:
    prefix = referential_path(ref, "/queries") if ref else "/api/queries"
    return json_response(state, ("queries", ref), lambda: [
        {**q.as_dict(), "url": f"{prefix}/{q.name}"} for q in state.catalogue])


def _run_query(request: Request, state: ServerState, name: str, ref: str | None) -> Response:
    """A named query with the query string's parameters bound (and, under a referential, `referential` too)."""
    name = readable(name, "nom de requête")
    params = dict(request.query_params)
    fmt = params.pop("format", None)
    try:
        query = state.catalogue.get(name)
    except QueryError as exc:
        raise HTTPException(404, str(exc)) from None
    if fmt is not None and fmt not in QUERY_FORMATS:
        raise HTTPException(422, f"paramètre « format » : « {fmt[:40]} » inconnu (valeurs : "
                                 f"{', '.join(QUERY_FORMATS)} ; ou l'en-tête Accept)")
    for key, value in params.items():
        readable_parameter(key, value, state.settings.input_max_string)
    if ref is not None and takes_referential(query):
        if params.get("referential", ref) != ref:
            raise HTTPException(422, f"paramètre « referential » : « {params['referential'][:80]} » contredit le "
                                     f"référentiel du chemin (« {ref} »)")
        params["referential"] = ref
    media = QUERY_FORMATS.get(fmt or "") or \
        choose(request.headers.get("accept"), ["application/json", "text/csv"]) or "application/json"
    try:
        query.bindings(params)
    except QueryError as exc:
        raise HTTPException(422, str(exc)) from None

    def compute() -> bytes:
        check_values(state.knowledge, query, params)  # an unknown code: 404 naming the close ones (errors.py)
        table = state.named(name, params)
        return to_csv(table).encode("utf-8") if media == "text/csv" else json_bytes(table.rows)

    body = state.cached(("query", name, tuple(sorted(params.items())), media), compute)
    return Response(body, media_type=media + ("; charset=utf-8" if media == "text/csv" else ""),
                    headers={"Vary": "Accept", "ETag": f'"{state.etag}"'})


@router.get("/queries", response_model=list[QueryInfo], tags=["named queries"],
            summary="The named queries: name, title, description and parameters")
async def list_queries(request: Request):
    return _queries(state_of(request), None)


@router.get("/queries/{name}", tags=["named queries"],
            summary="Run a named query; its parameters are query-string parameters (without `referential`, over "
                    "every referential of the graph)",
            responses={**QUERY_EXAMPLE, **QUERY_ERRORS})
async def run_query(request: Request, name: str = Path(examples=["competences"])):
    return _run_query(request, state_of(request), name, None)


@router.get("/referentials/{referential}/queries", response_model=list[QueryInfo], tags=["named queries"],
            summary="The named queries, with their URLs under this referential", responses=SCOPE_ERRORS)
async def referential_queries(request: Request, referential: str = REFERENTIAL):
    state = state_of(request)
    return _queries(state, scoped(state, referential))


@router.get("/referentials/{referential}/queries/{name}", tags=["named queries"],
            summary="Run a named query on one referential (its `referential` parameter is bound to the path's)",
            responses={**QUERY_EXAMPLE, 404: {"description": "no such named query, or no such referential"},
                       422: QUERY_ERRORS[422]})
async def referential_query(request: Request, referential: str = REFERENTIAL,
                            name: str = Path(examples=["competences"])):
    state = state_of(request)
    return _run_query(request, state, name, scoped(state, referential))


# -- resources -----------------------------------------------------------------------------------------------

CODE_ERRORS = {404: {"description": "no such code in the referential (a code that is not readable text — bytes "
                                    "that are not UTF-8, control characters — names nothing either)"}}
SCOPED_CODE_ERRORS = {404: {"description": "no such referential, or no such code in it (a code that is not "
                                           "readable text names nothing either)"}}


def _unknown_code(state: ServerState, query: str, param: str, code: str, known: list[str], ref: str | None):
    """HTTPException 404 for a code the referential does not hold, worded as the named query `query` declares
    its parameter's values (« M9 : mission inconnue ; missions : M1, … », with the close ones suggested)."""
    source = state.catalogue.get(query).param(param).values
    where = f" dans le référentiel « {ref} »" if ref else ""
    return HTTPException(404, str(unknown_value(code[:80], source, known, where)))


def _list(request: Request, state: ServerState, key: tuple, compute, name: str, query: str, keep=None) -> Response:
    """One page of a list: `?limit=` and `?offset=` (bounded by CQP_GRAPH_PAGE_MAX and CQP_GRAPH_MAX_OFFSET),
    `?format=json|csv|xlsx`; 400 (French) for a bad value, before any work. `keep`: a filter of the rows;
    `query`: the named query whose French column titles head a workbook."""
    limit, offset = paging.page(request, state.settings)
    fmt = paging.choice(request, "format", list(paging.DOWNLOADS))
    table = state.cached(("list",) + key, compute)
    rows = [row for row in table if keep(row)] if keep else table
    columns = list(table[0]) if table else []
    return paging.table_response(rows[offset:offset + limit], fmt, name, state.etag, columns,
                                 state.catalogue.get(query).headers)


#: what `limit`, `offset` and `format` add to a list's OpenAPI operation (their bounds: the served settings')
LIST_PARAMETERS = {"parameters": [*paging.page_parameters(), paging.format_parameter()]}
LIST_RESPONSES = paging.list_responses()
COMPETENCE_LIST_PARAMETERS = {"parameters": [
    *LIST_PARAMETERS["parameters"],
    paging.text_parameter("q", "search_max_query", "only the competences the search finds for this code or these "
                          "words (case, accents and punctuation ignored; every word must match, as a prefix), in "
                          "the list's order; 1 to CQP_GRAPH_SEARCH_MAX_QUERY characters, 400 otherwise")]}


def _missions(request: Request, state: ServerState, ref: str | None) -> Response:
    return _list(request, state, ("missions", ref), lambda: state.rows("missions", ref), "missions", "missions")


def _mission_row(state: ServerState, ref: str | None, code: str) -> dict:
    readable(code, "code de mission")
    missions = state.rows("missions", ref)
    rows = [m for m in missions if m["code"] == code]
    if not rows:
        raise _unknown_code(state, "competences-for-mission", "mission", code, [m["code"] for m in missions], ref)
    return rows[0]


def _mission(state: ServerState, ref: str | None, code: str) -> Response:
    def compute():
        m = _mission_row(state, ref, code)
        activities = state.rows("activities-of-mission", ref, mission=code)
        return {"code": m["code"], "label": m["label"], "iri": m["iri"], "competences": m["competences"],
                "activities": [{"code": a["code"], "label": a["label"], "iri": a["iri"]} for a in activities]}
    return json_response(state, ("mission", ref, code), compute)


def _mission_competences(request: Request, state: ServerState, ref: str | None, code: str) -> Response:
    def compute():
        _mission_row(state, ref, code)
        return [{k: v for k, v in r.items() if k != "mission"}
                for r in state.rows("competences-for-mission", ref, mission=code)]
    return _list(request, state, ("mission-competences", ref, code), compute, f"competences-{code[:40]}",
                 "competences-for-mission")


def _competences(request: Request, state: ServerState, ref: str | None) -> Response:
    """The competences; with `?q=`, those the search index finds for it among them (list order kept)."""
    from cqp_graph.web.search_routes import index_of

    q = paging.text(request, "q", state.settings.search_max_query, "search_max_query")
    keep = None
    if q is not None:
        found = {h.iri for h in index_of(state).all_matches(q, referential=ref, types=("Competence",))}
        keep = lambda row: row["iri"] in found  # noqa: E731
    return _list(request, state, ("competences", ref), lambda: state.rows("competences", ref), "competences",
                 "competences", keep)


def _competence(state: ServerState, ref: str | None, code: str) -> Response:
    readable(code, "code de compétence")

    def compute():
        competences = state.rows("competences", ref)
        rows = [c for c in competences if c["code"] == code]
        if not rows:
            raise _unknown_code(state, "missions-for-competence", "competence", code,
                                [c["code"] for c in competences], ref)
        needed = state.rows("missions-for-competence", ref, competence=code)
        variants = [v for v in state.rows("label-variants", ref) if v["item"] == code]
        return {**rows[0],
                "needed_by": [{"code": n["mission"], "label": n["mission_label"], "iri": n["mission_iri"],
                               "code_as_written": n["code_as_written"], "label_as_written": n["label_as_written"]}
                              for n in needed],
                "variants": [{"variant_kind": v["variant_kind"], "code_as_written": v["code_as_written"],
                              "label_as_written": v["label_as_written"], "section": v["section"],
                              "lines": v["lines"]} for v in variants]}
    return json_response(state, ("competence", ref, code), compute)


def _domains(request: Request, state: ServerState, ref: str | None) -> Response:
    return _list(request, state, ("domains", ref), lambda: state.rows("domains", ref), "domaines", "domains")


def _blocks(request: Request, state: ServerState, ref: str | None) -> Response:
    return _list(request, state, ("blocks", ref), lambda: state.rows("blocks", ref), "blocs", "blocks")


def _facts(state: ServerState, ref: str | None) -> ReferentialFacts:
    return state.cached(("facts", ref), lambda: ReferentialFacts.load(state.knowledge, ref))


def _coverage(state: ServerState, ref: str | None) -> Response:
    def compute():
        facts = _facts(state, ref)
        gaps = ANALYSES["gaps"](bipartite_graph(facts), facts)
        return {**gaps, "numbering_gaps": numbering_gaps({c["code"] for c in facts.competences})}
    return json_response(state, ("coverage", ref), compute)


def _analysis(state: ServerState, ref: str | None, name: str) -> Response:
    readable(name, "nom d'analyse")
    if name not in ANALYSES:
        raise HTTPException(404, f"aucune analyse « {name[:80]} » (connues : {', '.join(ANALYSES)})")

    def compute():
        facts = _facts(state, ref)
        return ANALYSES[name](bipartite_graph(facts), facts)
    return json_response(state, ("analysis", ref, name), compute)


MISSION = Path(examples=["M3"])
COMPETENCE = Path(examples=["RSF10"])
ANALYSIS = Path(examples=["transversality"])
ANALYSIS_ERRORS = {404: {"description": "no such analysis (or a name that is not readable text)"}}


@router.get("/missions", response_model=list[MissionSummary], tags=["referential"], summary="The missions",
            responses={**LIST_RESPONSES, **SHORT_ERRORS}, openapi_extra=LIST_PARAMETERS)
async def missions(request: Request):
    state = state_of(request)
    return _missions(request, state, unscoped(state, request))


@router.get("/referentials/{referential}/missions", response_model=list[MissionSummary], tags=["referentials"],
            summary="The missions of one referential", responses={**LIST_RESPONSES, **SCOPE_ERRORS},
            openapi_extra=LIST_PARAMETERS)
async def referential_missions(request: Request, referential: str = REFERENTIAL):
    state = state_of(request)
    return _missions(request, state, scoped(state, referential))


@router.get("/missions/{code}", response_model=Mission, tags=["referential"], summary="A mission with its activities",
            responses={**CODE_ERRORS, **SHORT_ERRORS})
async def mission(request: Request, code: str = MISSION):
    state = state_of(request)
    return _mission(state, unscoped(state, request), code)


@router.get("/referentials/{referential}/missions/{code}", response_model=Mission, tags=["referentials"],
            summary="A mission of one referential, with its activities", responses=SCOPED_CODE_ERRORS)
async def referential_mission(request: Request, referential: str = REFERENTIAL, code: str = MISSION):
    state = state_of(request)
    return _mission(state, scoped(state, referential), code)


@router.get("/missions/{code}/competences", response_model=list[CompetenceOnPage], tags=["referential"],
            summary="The competences a mission needs, with the wording on its page",
            responses={**LIST_RESPONSES, **CODE_ERRORS, **SHORT_ERRORS}, openapi_extra=LIST_PARAMETERS)
async def mission_competences(request: Request, code: str = MISSION):
    state = state_of(request)
    return _mission_competences(request, state, unscoped(state, request), code)


@router.get("/referentials/{referential}/missions/{code}/competences", response_model=list[CompetenceOnPage],
            tags=["referentials"], summary="The competences a mission of one referential needs, as its page words them",
            responses={**LIST_RESPONSES, **SCOPED_CODE_ERRORS}, openapi_extra=LIST_PARAMETERS)
async def referential_mission_competences(request: Request, referential: str = REFERENTIAL, code: str = MISSION):
    state = state_of(request)
    return _mission_competences(request, state, scoped(state, referential), code)


@router.get("/competences", response_model=list[Competence], tags=["referential"],
            summary="Every competence with kind, domain and number of missions (`q`: those the search finds)",
            responses={**LIST_RESPONSES, **SHORT_ERRORS}, openapi_extra=COMPETENCE_LIST_PARAMETERS)
async def competences(request: Request):
    state = state_of(request)
    return _competences(request, state, unscoped(state, request))


@router.get("/referentials/{referential}/competences", response_model=list[Competence], tags=["referentials"],
            summary="Every competence of one referential (`q`: those the search finds)",
            responses={**LIST_RESPONSES, **SCOPE_ERRORS}, openapi_extra=COMPETENCE_LIST_PARAMETERS)
async def referential_competences(request: Request, referential: str = REFERENTIAL):
    state = state_of(request)
    return _competences(request, state, scoped(state, referential))


@router.get("/competences/{code}", response_model=CompetenceDetail, tags=["referential"],
            summary="A competence with the missions that need it and its variants",
            responses={**CODE_ERRORS, **SHORT_ERRORS})
async def competence(request: Request, code: str = COMPETENCE):
    state = state_of(request)
    return _competence(state, unscoped(state, request), code)


@router.get("/referentials/{referential}/competences/{code}", response_model=CompetenceDetail,
            tags=["referentials"], summary="A competence of one referential, with the missions that need it",
            responses=SCOPED_CODE_ERRORS)
async def referential_competence(request: Request, referential: str = REFERENTIAL, code: str = COMPETENCE):
    state = state_of(request)
    return _competence(state, scoped(state, referential), code)


@router.get("/domains", response_model=list[Domain], tags=["referential"], summary="The competence domains",
            responses={**LIST_RESPONSES, **SHORT_ERRORS}, openapi_extra=LIST_PARAMETERS)
async def domains(request: Request):
    state = state_of(request)
    return _domains(request, state, unscoped(state, request))


@router.get("/referentials/{referential}/domains", response_model=list[Domain], tags=["referentials"],
            summary="The competence domains of one referential", responses={**LIST_RESPONSES, **SCOPE_ERRORS},
            openapi_extra=LIST_PARAMETERS)
async def referential_domains(request: Request, referential: str = REFERENTIAL):
    state = state_of(request)
    return _domains(request, state, scoped(state, referential))


@router.get("/blocks", response_model=list[Block], tags=["referential"], summary="The competence blocks",
            responses={**LIST_RESPONSES, **SHORT_ERRORS}, openapi_extra=LIST_PARAMETERS)
async def blocks(request: Request):
    state = state_of(request)
    return _blocks(request, state, unscoped(state, request))


@router.get("/referentials/{referential}/blocks", response_model=list[Block], tags=["referentials"],
            summary="The competence blocks of one referential", responses={**LIST_RESPONSES, **SCOPE_ERRORS},
            openapi_extra=LIST_PARAMETERS)
async def referential_blocks(request: Request, referential: str = REFERENTIAL):
    state = state_of(request)
    return _blocks(request, state, scoped(state, referential))


@router.get("/coverage", response_model=Coverage, tags=["analyses"],
            summary="Coverage gaps of the referential (competences no mission needs, numbering gaps…)",
            responses=SHORT_ERRORS)
async def coverage(request: Request):
    state = state_of(request)
    return _coverage(state, unscoped(state, request))


@router.get("/referentials/{referential}/coverage", response_model=Coverage, tags=["referentials"],
            summary="Coverage gaps of one referential", responses=SCOPE_ERRORS)
async def referential_coverage(request: Request, referential: str = REFERENTIAL):
    state = state_of(request)
    return _coverage(state, scoped(state, referential))


@router.get("/analyses", tags=["analyses"], summary="The names of the network analyses")
async def analyses(request: Request):
    return list(ANALYSES)


@router.get("/referentials/{referential}/analyses", tags=["referentials"],
            summary="The names of the network analyses of one referential", responses=SCOPE_ERRORS)
async def referential_analyses(request: Request, referential: str = REFERENTIAL):
    scoped(state_of(request), referential)
    return list(ANALYSES)


@router.get("/analyses/{name}", tags=["analyses"], summary="One network analysis (networkx)",
            responses={**ANALYSIS_ERRORS, **SHORT_ERRORS})
async def analysis(request: Request, name: str = ANALYSIS):
    state = state_of(request)
    return _analysis(state, unscoped(state, request), name)


@router.get("/referentials/{referential}/analyses/{name}", tags=["referentials"],
            summary="One network analysis of one referential (networkx)",
            responses={404: {"description": "no such referential, or no such analysis"}})
async def referential_analysis(request: Request, referential: str = REFERENTIAL, name: str = ANALYSIS):
    state = state_of(request)
    return _analysis(state, scoped(state, referential), name)


# -- inputs --------------------------------------------------------------------------------

INPUT_ERRORS = {
    413: {"description": "body larger than CQP_GRAPH_INPUT_MAX_BYTES (or the server's body limit)"},
    415: {"description": "body neither UTF-8 text nor a YAML, JSON or CSV media type (nor, for a programme, an "
                         ".xlsx workbook or a multipart form)"},
    422: {"description": "the input is invalid: each error names its line and field, in French"},
    429: {"description": "this client address already has CQP_GRAPH_INPUT_CLIENT_CONCURRENCY coverage/decision "
                         "requests running; retry once one has answered (Retry-After)"},
    503: {"description": "too many coverage/decision requests at once (CQP_GRAPH_INPUT_CONCURRENCY), or past "
                         "CQP_GRAPH_INPUT_TIMEOUT seconds; retry later (Retry-After)"},
}
TEXT_TYPES = {"application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "application/json", "text/plain",
              "text/csv", ""}


def error_response(status: int, detail, headers: dict | None = None) -> Response:
    return Response(json_bytes({"detail": detail}), status_code=status, media_type="application/json",
                    headers=headers)


async def _body_text(request: Request, limit: int) -> tuple[str, str]:
    """(the body as text, its media type); HTTPException 413/415 when it is too big or not text we read."""
    from cqp_graph.inputs.files import InputError, decode_text

    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in TEXT_TYPES:
        raise HTTPException(415, f"type de contenu « {media} » non accepté : YAML, JSON ou CSV (text/csv)")
    body = await request.body()
    if len(body) > limit:
        raise HTTPException(413, f"corps de requête de {len(body)} octets : au plus {limit} "
                                 "(CQP_GRAPH_INPUT_MAX_BYTES)")
    try:
        return decode_text(body, "corps", "le corps attendu est du texte UTF-8 (YAML, JSON ou CSV)"), media
    except InputError as exc:
        raise HTTPException(415, f"corps de la requête : {exc.problems[0][1]}") from None


XLSX_MEDIA = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def _programme_body(request: Request, limit: int) -> tuple[str | bytes, str]:
    """(the programme, its format "yaml", "csv" or "xlsx") from a text body, an .xlsx body or the file
    `fichier` of a multipart form; 413/415 as `_body_text`, 422 (documented: the input is invalid) for a
    malformed form or one without the file."""
    from starlette.datastructures import UploadFile

    from cqp_graph.inputs.files import InputError, decode_text

    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in (XLSX_MEDIA, "multipart/form-data"):
        text, media = await _body_text(request, limit)
        return text, "csv" if media == "text/csv" else "yaml"
    name = "corps"
    if media == XLSX_MEDIA:
        raw = await request.body()
    else:
        try:
            form = await request.form(max_files=1, max_fields=10, max_part_size=limit + 4096)
        except HTTPException as exc:
            raise HTTPException(422 if exc.status_code < 500 else exc.status_code,
                                f"formulaire illisible ({exc.detail})") from None
        except Exception as exc:  # noqa: BLE001 - the multipart parser's errors on a malformed body are many
            raise HTTPException(422, f"formulaire illisible ({type(exc).__name__})") from None
        upload = form.get("fichier")
        if not isinstance(upload, UploadFile):
            raise HTTPException(422, "formulaire sans le fichier « fichier » (le programme)")
        name = (upload.filename or "programme").replace("\\", "/").rsplit("/", 1)[-1][:120] or "programme"
        raw = await upload.read(limit + 1)
    if len(raw) > limit:
        raise HTTPException(413, f"corps de requête de plus de {limit} octets (CQP_GRAPH_INPUT_MAX_BYTES)")
    lower = name.lower()
    if media == XLSX_MEDIA or raw.startswith((b"PK", b"\xd0\xcf\x11\xe0")) or lower.endswith(".xlsx"):
        return raw, "xlsx"
    try:
        return decode_text(raw, name), "csv" if lower.endswith(".csv") else "yaml"
    except InputError as exc:
        raise HTTPException(415, f"« {name} » : {exc.problems[0][1]}") from None


class Jobs:
    """Coverage and decision work: at most `size` at once in their own threads, at most `per_client` of them
    for one client address, each awaited at most `timeout` seconds. A slot is freed only when its work really
    ends, so runaway work cannot pile up."""

    def __init__(self, size: int, timeout: float, per_client: int = 1):
        self.size = max(1, size)
        self.per_client = max(1, min(per_client, self.size))
        self.timeout = timeout
        self.busy = 0
        self.clients: dict[str, int] = {}
        self.lock = threading.Lock()
        self.pool = ThreadPoolExecutor(self.size, thread_name_prefix="cqp-input")

    async def run(self, fn, *args, client: str = "", **kwargs):
        with self.lock:
            if self.clients.get(client, 0) >= self.per_client:
                raise HTTPException(429, f"cette adresse a déjà {self.per_client} demande(s) de couverture ou de "
                                         "décision en cours (CQP_GRAPH_INPUT_CLIENT_CONCURRENCY) ; attendre "
                                         "sa réponse", headers={"Retry-After": "1"})
            if self.busy >= self.size:
                raise HTTPException(503, f"le serveur traite déjà {self.size} demandes de couverture ou de décision "
                                         "(CQP_GRAPH_INPUT_CONCURRENCY) ; réessayer dans un instant",
                                    headers={"Retry-After": "1"})
            self.busy += 1
            self.clients[client] = self.clients.get(client, 0) + 1
        future = self.pool.submit(fn, *args, **kwargs)
        future.add_done_callback(lambda _: self._release(client))
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), self.timeout)
        except asyncio.TimeoutError:
            raise HTTPException(503, f"calcul arrêté après {self.timeout:g} s (CQP_GRAPH_INPUT_TIMEOUT)",
                                headers={"Retry-After": "5"}) from None

    def _release(self, client: str):
        # done callbacks run in the worker thread: the counts change under the lock
        with self.lock:
            self.busy -= 1
            left = self.clients.get(client, 1) - 1
            if left > 0:
                self.clients[client] = left
            else:
                self.clients.pop(client, None)


def jobs_of(request: Request) -> Jobs:
    jobs = getattr(request.app.state, "cqp_input_jobs", None)
    if jobs is None:
        settings = state_of(request).settings
        jobs = request.app.state.cqp_input_jobs = Jobs(settings.input_concurrency, settings.input_timeout,
                                                       settings.input_client_concurrency)
    return jobs


def client_of(request: Request) -> str:
    """The client's address (the peer of the connection), the unit of fairness."""
    return request.client.host if request.client else ""


def input_schemas(state: ServerState) -> dict:
    """JSON schemas of the request bodies, with the codes the graph's referentials know (read from the graph)."""
    from cqp_graph.graph.assemble import referential_folders
    from cqp_graph.inputs.candidates import ResultsIn
    from cqp_graph.inputs.files import TEXT_PATTERN
    from cqp_graph.inputs.programme import ProgrammeIn

    def codes(name, **params):
        return sorted({r["code"] for r in state.named(name, params).rows})

    def compute():
        competences = state.rows("competences")
        kinds = {k["code"] for k in competence_kinds(state.knowledge) if k["know_how"]}  # the ontology's, not "SF"
        know_how = sorted({c["code"] for c in competences if c["kind"] in kinds})
        activities = sorted({a for m in codes("missions") for a in codes("activities-of-mission", mission=m)})
        percent = {"type": "number", "minimum": 0, "maximum": 100}
        text = {"type": "string", "minLength": 1, "pattern": TEXT_PATTERN}  # no control character (inputs/files.py)

        def keyed(keys, value):
            return {"type": "object", "properties": {k: value for k in keys}, "additionalProperties": False}

        evaluators = codes("evaluators")
        block = {"type": "object", "additionalProperties": False, "properties": {
            "score": {"anyOf": [percent, {"type": "null"}]}, "evaluators": keyed(evaluators, percent)}}
        names = [r.name for r in state.referentials()] or [f.name for f in referential_folders(state.settings)]
        referential = {"anyOf": [{"type": "string", "enum": names}, {"type": "null"}]}
        results = ResultsIn.model_json_schema()
        results.pop("$defs", None)
        results["properties"].update({
            "candidate": {"anyOf": [text, {"type": "null"}]},
            "route": {"type": "string", "enum": codes("routes")},
            "referential": referential,
            "blocks": keyed(codes("blocks"), {"anyOf": [percent, block]}),  # `B1: 76` is B1's score
            "know_how": keyed(evaluators, keyed(know_how, percent)),
            "units": keyed(codes("units"), percent)})
        programme = ProgrammeIn.model_json_schema()
        module = programme.pop("$defs")["ModuleIn"]
        module["properties"].update({
            "code": text, "title": text,
            "hours": {"type": "number", "minimum": 0, "exclusiveMaximum": 1e15},
            "competences": {"type": "array", "items": {"type": "string",
                                                       "enum": sorted({c["code"] for c in competences})}},
            "activities": {"type": "array", "items": {"type": "string", "enum": activities}}})
        programme["properties"].update({"title": text,
                                        "referential": results["properties"]["referential"],
                                        "modules": {"type": "array", "minItems": 1, "items": module}})
        return {"results": results, "programme": programme}
    return state.cached(("input-schemas",), compute)


PROGRAMME_BODY = {"requestBody": {"required": True, "content": {
    "application/yaml": {"schema": {"type": "object"},
                         "example": "title: Parcours\nmodules:\n  - code: MOD01\n    title: Relation client\n"
                                    "    hours: 21\n    competences: [RC2, RSF1]\n"}}}}
PROGRAMME_HELP = ("The programme as YAML or JSON (schema below), or as CSV with `Content-Type: text/csv`: "
                  "columns code, title, hours, competences, activities, activities_stand_for_mission, "
                  "lists separated by `|` (or `;`-separated cells, as French Excel writes them), e.g. "
                  "`MOD01,Relation client,21,RC2|RSF1`; or an Excel workbook (.xlsx) with the same columns, as the "
                  "body (`Content-Type: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet`) or "
                  "as the file `fichier` of a multipart form (the file's name tells .xlsx, .csv or YAML/JSON). "
                  "The same limits hold for every form (CQP_GRAPH_INPUT_MAX_BYTES, and for a workbook "
                  "CQP_GRAPH_INPUT_MAX_UNZIPPED_BYTES). The two binary forms are described here rather than as "
                  "request-body media types: any bytes would match a binary schema, but only a real workbook is "
                  "accepted (a damaged one is a 422 naming what is wrong).")
RESULTS_BODY = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": {"type": "object"},
                         "example": {"candidate": "Léa Dupont", "route": "vae", "blocks": {
                             "B1": {"score": 75}, "B2": {"score": 68}, "B3": {"score": 70}}}}}}}
AMBIGUOUS_INPUT = {409: {"description": "the graph holds several referentials and the body names none of them (or "
                                        "one it does not hold): the answer names them and the "
                                        "/api/referentials/{referential}/… URL of each (`detail.choix`)"}}


def _ambiguous(request: Request, state: ServerState, exc: UnknownReferential) -> Response:
    """A body that does not say which of several referentials it is about: 409 with the scoped URLs."""
    rest = request.url.path[len("/api"):]
    return error_response(409, {"message": str(exc), "choix": _choices(state, rest)})


async def _programme_coverage(request: Request, ref: str | None) -> Response:
    from cqp_graph.analyses.coverage import coverage_of_data
    from cqp_graph.inputs.files import InputError
    from cqp_graph.present.render import programme_csv, programme_html

    state = state_of(request)
    text, fmt = await _programme_body(request, state.settings.input_max_bytes)
    accept = choose(request.headers.get("accept"), ["application/json", "text/html", "text/csv"])

    def work():
        result = coverage_of_data(text, state.settings, state.knowledge, ref, fmt=fmt)
        if accept == "text/html":
            return programme_html(result, offline=False).encode("utf-8")
        if accept == "text/csv":
            return programme_csv(result).encode("utf-8")
        return json_bytes(result)

    try:
        body = await jobs_of(request).run(work, client=client_of(request))
    except InputError as exc:
        return error_response(422, exc.as_dict())
    except UnknownReferential as exc:
        if ref is None and len(state.referentials()) > 1:
            return _ambiguous(request, state, exc)
        return error_response(422, str(exc))
    media_out = {"text/html": "text/html; charset=utf-8", "text/csv": "text/csv; charset=utf-8"}.get(
        accept or "", "application/json")
    return Response(body, media_type=media_out)


async def _decisions(request: Request, ref: str | None) -> Response:
    from cqp_graph.analyses.decisions import decide_data, decision_text
    from cqp_graph.inputs.files import InputError

    state = state_of(request)
    text, _media = await _body_text(request, state.settings.input_max_bytes)
    as_text = choose(request.headers.get("accept"), ["application/json", "text/plain"]) == "text/plain"

    def work():
        result = decide_data(text, state.settings, state.knowledge, ref)
        return decision_text(result).encode("utf-8") if as_text else json_bytes(result)

    try:
        body = await jobs_of(request).run(work, client=client_of(request))
    except InputError as exc:
        return error_response(422, exc.as_dict())
    except UnknownReferential as exc:
        if ref is None and len(state.referentials()) > 1:
            return _ambiguous(request, state, exc)
        return error_response(422, str(exc))
    except ValueError as exc:
        return error_response(422, str(exc))
    return Response(body, media_type="text/plain; charset=utf-8" if as_text else "application/json")


@router.post("/coverage/programme", tags=["coverage and decisions"],
             summary="Coverage of the referential by a training programme (YAML, JSON or CSV body)",
             openapi_extra=PROGRAMME_BODY, description=PROGRAMME_HELP,
             responses={200: {"content": {"application/json": {}, "text/html": {}, "text/csv": {}}},
                        **INPUT_ERRORS, **AMBIGUOUS_INPUT})
async def programme_coverage(request: Request):
    return await _programme_coverage(request, None)


@router.post("/referentials/{referential}/coverage/programme", tags=["referentials"],
             summary="Coverage of one referential by a training programme (YAML, JSON or CSV body)",
             openapi_extra=PROGRAMME_BODY, description=PROGRAMME_HELP,
             responses={200: {"content": {"application/json": {}, "text/html": {}, "text/csv": {}}},
                        **INPUT_ERRORS, **SCOPE_ERRORS})
async def referential_programme_coverage(request: Request, referential: str = REFERENTIAL):
    return await _programme_coverage(request, scoped(state_of(request), referential))


@router.post("/decisions", tags=["coverage and decisions"],
             summary="Decision per block and for the whole CQP from a candidate's results (YAML or JSON body)",
             openapi_extra=RESULTS_BODY,
             responses={200: {"content": {"application/json": {}, "text/plain": {}}}, **INPUT_ERRORS,
                        **AMBIGUOUS_INPUT})
async def decisions(request: Request):
    return await _decisions(request, None)


@router.post("/referentials/{referential}/decisions", tags=["referentials"],
             summary="Decision per block and for the whole CQP of one referential, by its own rules",
             openapi_extra=RESULTS_BODY,
             responses={200: {"content": {"application/json": {}, "text/plain": {}}}, **INPUT_ERRORS,
                        **SCOPE_ERRORS})
async def referential_decisions(request: Request, referential: str = REFERENTIAL):
    return await _decisions(request, scoped(state_of(request), referential))


@router.api_route("/coverage/programme", methods=["GET", "HEAD"], include_in_schema=False)
@router.api_route("/decisions", methods=["GET", "HEAD"], include_in_schema=False)
@router.api_route("/referentials/{referential}/coverage/programme", methods=["GET", "HEAD"], include_in_schema=False)
@router.api_route("/referentials/{referential}/decisions", methods=["GET", "HEAD"], include_in_schema=False)
async def post_only(request: Request):
    """These resources only compute: 405 (not the linked-data 404) for a GET."""
    return error_response(405, "méthode non permise : envoyer le fichier par POST", headers={"Allow": "POST"})


INPUT_PATHS = {"/api/coverage/programme": ("application/yaml", "programme"),
               "/api/referentials/{referential}/coverage/programme": ("application/yaml", "programme"),
               "/api/decisions": ("application/json", "results"),
               "/api/referentials/{referential}/decisions": ("application/json", "results")}


def document_inputs(app) -> None:
    """Complete the OpenAPI document with what depends on the served graph: the request-body schemas of the
    coverage and decision operations (with the codes the referentials know), and the names of the referentials
    a `{referential}` path parameter may take."""
    generate = app.openapi

    def openapi():
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = generate()
        state = app.state.cqp
        schemas = input_schemas(state)
        paths = schema.get("paths", {})
        for path, (media, which) in INPUT_PATHS.items():
            content = paths.get(path, {}).get("post", {}).get("requestBody", {}).get("content", {})
            if media in content:
                content[media]["schema"] = schemas[which]
        names = [r.name for r in state.referentials()]
        for operations in paths.values():
            for operation in operations.values():
                for parameter in operation.get("parameters", []) if isinstance(operation, dict) else []:
                    if parameter.get("name") == "referential" and parameter.get("in") == "path" and names:
                        parameter["schema"] = {**parameter.get("schema", {}), "enum": names}
        paging.bound_openapi(schema, state.settings)  # limit/offset/q bounds: the served settings' values
        app.openapi_schema = schema
        return schema

    app.openapi = openapi
