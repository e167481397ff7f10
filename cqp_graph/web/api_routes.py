"""The query API: named queries over HTTP, REST resources, programme coverage and decisions."""

from __future__ import annotations

import json

from fastapi import APIRouter, HTTPException, Path, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from ..analysis import ANALYSES, ReferentialFacts, bipartite_graph
from ..queries import QueryError
from ..results import to_csv
from .models import (Block, Competence, CompetenceDetail, CompetenceOnPage, Coverage, Domain, Mission,
                     MissionSummary, QueryInfo)
from .negotiation import choose
from .state import ServerState

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


# -- named queries -------------------------------------------------------------------------

@router.get("/queries", response_model=list[QueryInfo], tags=["named queries"],
            summary="The named queries: name, title, description and parameters")
async def list_queries(request: Request):
    state = state_of(request)
    return json_response(state, ("queries",), lambda: [
        {**q.as_dict(), "url": f"/api/queries/{q.name}"} for q in state.catalogue])


@router.get("/queries/{name}", tags=["named queries"],
            summary="Run a named query; its parameters are query-string parameters",
            responses={200: {"content": {"application/json": {"example": [
                {"mission": "M3", "code": "OTC1", "label": "Expliquer le fonctionnement des logiciels spécifiques…",
                 "kind": "C", "domain": "OT"}]}, "text/csv": {}}},
                404: {"description": "no such named query"},
                422: {"description": "missing, unknown or invalid parameter"}})
async def run_query(request: Request, name: str = Path(examples=["competences-for-mission"])):
    state = state_of(request)
    params = dict(request.query_params)
    fmt = params.pop("format", None)
    try:
        query = state.catalogue.get(name)
    except QueryError as exc:
        raise HTTPException(404, str(exc)) from None
    media = {"csv": "text/csv", "json": "application/json"}.get(fmt or "") or \
        choose(request.headers.get("accept"), ["application/json", "text/csv"]) or "application/json"
    try:
        query.bindings(params)
    except QueryError as exc:
        raise HTTPException(422, str(exc)) from None

    def compute() -> bytes:
        table = state.named(name, params)
        return to_csv(table).encode("utf-8") if media == "text/csv" else json_bytes(table.rows)

    body = state.cached(("query", name, tuple(sorted(params.items())), media), compute)
    return Response(body, media_type=media + ("; charset=utf-8" if media == "text/csv" else ""),
                    headers={"Vary": "Accept", "ETag": f'"{state.etag}"'})


# -- resources -----------------------------------------------------------------------------

@router.get("/missions", response_model=list[MissionSummary], tags=["referential"], summary="The missions")
async def missions(request: Request):
    state = state_of(request)
    return json_response(state, ("missions",), lambda: state.named("missions").rows)


def _mission(state: ServerState, code: str) -> dict:
    rows = [m for m in state.named("missions").rows if m["code"] == code]
    if not rows:
        raise HTTPException(404, f"no mission {code!r}")
    return rows[0]


@router.get("/missions/{code}", response_model=Mission, tags=["referential"], summary="A mission with its activities")
async def mission(request: Request, code: str = Path(examples=["M3"])):
    state = state_of(request)

    def compute():
        m = _mission(state, code)
        activities = state.named("activities-of-mission", {"mission": code}).rows
        return {"code": m["code"], "label": m["label"], "iri": m["iri"], "competences": m["competences"],
                "activities": [{"code": a["code"], "label": a["label"], "iri": a["iri"]} for a in activities]}
    return json_response(state, ("mission", code), compute)


@router.get("/missions/{code}/competences", response_model=list[CompetenceOnPage], tags=["referential"],
            summary="The competences a mission needs, with the wording on its page")
async def mission_competences(request: Request, code: str = Path(examples=["M3"])):
    state = state_of(request)

    def compute():
        _mission(state, code)
        return [{k: v for k, v in r.items() if k != "mission"}
                for r in state.named("competences-for-mission", {"mission": code}).rows]
    return json_response(state, ("mission-competences", code), compute)


@router.get("/competences", response_model=list[Competence], tags=["referential"],
            summary="Every competence with kind, domain and number of missions")
async def competences(request: Request):
    state = state_of(request)
    return json_response(state, ("competences",), lambda: state.named("competences").rows)


@router.get("/competences/{code}", response_model=CompetenceDetail, tags=["referential"],
            summary="A competence with the missions that need it and its variants")
async def competence(request: Request, code: str = Path(examples=["RSF10"])):
    state = state_of(request)

    def compute():
        rows = [c for c in state.named("competences").rows if c["code"] == code]
        if not rows:
            raise HTTPException(404, f"no competence {code!r}")
        needed = state.named("missions-for-competence", {"competence": code}).rows
        variants = [v for v in state.named("label-variants").rows if v["item"] == code]
        return {**rows[0],
                "needed_by": [{"code": n["mission"], "label": n["mission_label"], "iri": n["mission_iri"],
                               "code_as_written": n["code_as_written"], "label_as_written": n["label_as_written"]}
                              for n in needed],
                "variants": [{"variant_kind": v["variant_kind"], "code_as_written": v["code_as_written"],
                              "label_as_written": v["label_as_written"], "section": v["section"],
                              "lines": v["lines"]} for v in variants]}
    return json_response(state, ("competence", code), compute)


@router.get("/domains", response_model=list[Domain], tags=["referential"], summary="The competence domains")
async def domains(request: Request):
    state = state_of(request)
    return json_response(state, ("domains",), lambda: state.named("domains").rows)


@router.get("/blocks", response_model=list[Block], tags=["referential"], summary="The competence blocks")
async def blocks(request: Request):
    state = state_of(request)
    return json_response(state, ("blocks",), lambda: state.named("blocks").rows)


def _facts(state: ServerState) -> ReferentialFacts:
    return state.cached(("facts",), lambda: ReferentialFacts.load(state.store, state.catalogue, state.base))


@router.get("/coverage", response_model=Coverage, tags=["analyses"],
            summary="Coverage gaps of the referential (competences no mission needs, numbering gaps…)")
async def coverage(request: Request):
    state = state_of(request)

    def compute():
        facts = _facts(state)
        gaps = ANALYSES["gaps"](bipartite_graph(facts), facts)
        codes = {c["code"] for c in facts.competences}
        missing = []
        for code in sorted(codes):
            prefix, digits = code.rstrip("0123456789"), code[len(code.rstrip("0123456789")):]
            if digits and int(digits) > 1 and f"{prefix}{int(digits) - 1}" not in codes:
                missing.append(f"{prefix}{int(digits) - 1}")
        return {**gaps, "numbering_gaps": missing}
    return json_response(state, ("coverage",), compute)


@router.get("/analyses", tags=["analyses"], summary="The names of the network analyses")
async def analyses(request: Request):
    return list(ANALYSES)


@router.get("/analyses/{name}", tags=["analyses"], summary="One network analysis (networkx)",
            responses={404: {"description": "no such analysis"}})
async def analysis(request: Request, name: str = Path(examples=["transversality"])):
    state = state_of(request)
    if name not in ANALYSES:
        raise HTTPException(404, f"no analysis {name!r} (known: {', '.join(ANALYSES)})")

    def compute():
        facts = _facts(state)
        return ANALYSES[name](bipartite_graph(facts), facts)
    return json_response(state, ("analysis", name), compute)


# -- inputs --------------------------------------------------------------------------------

async def _body_text(request: Request, limit: int = 1_000_000) -> str:
    body = await request.body()
    if len(body) > limit:
        raise HTTPException(413, f"request body larger than {limit} bytes")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise HTTPException(415, "the request body is not UTF-8") from None


@router.post("/coverage/programme", tags=["coverage and decisions"],
             summary="Coverage of the referential by a training programme (YAML, JSON or CSV body)",
             openapi_extra={"requestBody": {"content": {
                 "application/yaml": {"example": "title: Parcours\nmodules:\n  - code: MOD01\n    title: Relation client\n"
                                                 "    hours: 21\n    competences: [RC2, RSF1]\n"},
                 "text/csv": {"example": "code,title,hours,competences\nMOD01,Relation client,21,RC2|RSF1\n"}}}},
             responses={422: {"description": "the programme is invalid: each error names its line and module"}})
async def programme_coverage(request: Request):
    from ..coverage import coverage_of_file
    from ..inputs import InputError
    from ..render import programme_csv, programme_html

    state = state_of(request)
    text = await _body_text(request)
    fmt = "csv" if request.headers.get("content-type", "").startswith("text/csv") else "yaml"
    try:
        result = await run_in_threadpool(coverage_of_file, "programme." + fmt, state.settings, state.graph,
                                         text=text, fmt=fmt)
    except InputError as exc:
        return Response(json_bytes({"detail": exc.as_dict()}), status_code=422, media_type="application/json")
    media = choose(request.headers.get("accept"), ["application/json", "text/html", "text/csv"])
    if media == "text/html":
        return Response(programme_html(result), media_type="text/html; charset=utf-8")
    if media == "text/csv":
        return Response(programme_csv(result), media_type="text/csv; charset=utf-8")
    return Response(json_bytes(result), media_type="application/json")


@router.post("/decisions", tags=["coverage and decisions"],
             summary="Decision per block and for the whole CQP from a candidate's results (YAML or JSON body)",
             openapi_extra={"requestBody": {"content": {
                 "application/json": {"example": {"candidate": "Léa Dupont", "route": "vae", "blocks": {
                     "B1": {"score": 75}, "B2": {"score": 68}, "B3": {"score": 70}}}}}}},
             responses={422: {"description": "the results are invalid: each error names its line"}})
async def decisions(request: Request):
    from ..decisions import decide_file, decision_text
    from ..inputs import InputError

    state = state_of(request)
    text = await _body_text(request)
    try:
        result = await run_in_threadpool(decide_file, "results.yaml", state.settings, state.graph, text=text,
                                         store=state.store)
    except InputError as exc:
        return Response(json_bytes({"detail": exc.as_dict()}), status_code=422, media_type="application/json")
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    if choose(request.headers.get("accept"), ["application/json", "text/plain"]) == "text/plain":
        return Response(decision_text(result), media_type="text/plain; charset=utf-8")
    return Response(json_bytes(result), media_type="application/json")
