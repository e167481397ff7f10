"""The comparison of two or more missions of a referential: /compare?mission=M2&mission=M3.

What they share (the competences every chosen mission requires), what only one of them requires, and how alike
each pair is (the Jaccard similarity of their competence sets, `cqp_graph.analyses.network.mission_similarity`,
as `analyze` computes it), in French. Without two missions, the page is a form listing the referential's
missions. The full table (each competence × each mission) is downloadable as CSV or XLSX (`?format=`).

Inputs are bounded: at most `CQP_GRAPH_COMPARE_MAX_MISSIONS` missions (400 past it), codes of at most
`CQP_GRAPH_INPUT_MAX_STRING` characters; an unknown mission is a 404 naming the known codes (the same message
as the API's, `cqp_graph.query.catalogue.unknown_value`); a graph with several referentials takes
`?referential=NAME` (the page lists them when it is missing, 404 for an unknown name).

Lives here: the /compare route and the comparison's model. Not here: the similarity itself
(`cqp_graph.analyses.network`), the template (`present/templates/compare.html.j2`), the XLSX/CSV writers
(`cqp_graph.present.spreadsheet`).
"""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from cqp_graph.analyses.network import ReferentialFacts, bipartite_graph, competence_kinds, mission_similarity
from cqp_graph.numbers import natural_key, pct
from cqp_graph.present.render import template
from cqp_graph.present.spreadsheet import csv_bytes, xlsx_bytes
from cqp_graph.query.catalogue import ValueSource, unknown_value
from cqp_graph.query.knowledge import UnknownReferential
from cqp_graph.web.linked_data import Links
from cqp_graph.web.state import ServerState

MISSIONS = ValueSource("missions", "mission inconnue", "missions")
FORMATS = {"csv": "text/csv; charset=utf-8",
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


class CompareError(Exception):
    """A request the comparison cannot answer: its HTTP status and French message."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def _facts(state: ServerState, ref: str | None) -> dict:
    """The referential's missions, competences and requirement sets (cached with the graph)."""
    def compute():
        facts = ReferentialFacts.load(state.knowledge, ref)
        graph = bipartite_graph(facts)
        return {"facts": facts, "needs": {m["code"]: set(graph.neighbors(m["code"])) for m in facts.missions},
                "similarity": {(r["mission_a"], r["mission_b"]): r for r in mission_similarity(graph)}}
    return state.cached(("compare-facts", ref), compute)


def _referential(state: ServerState, name: str | None) -> tuple[str | None, list]:
    """The referential to compare in (its name), and the choices to offer when there are several."""
    known = state.referentials()
    if name is not None:
        if len(name) > state.settings.input_max_string:
            raise CompareError(400, f"nom de référentiel de plus de {state.settings.input_max_string} caractères")
        try:
            return state.referential(name).name, known
        except UnknownReferential as exc:
            raise CompareError(404, str(exc)) from None
    if len(known) > 1:
        return None, known
    return (known[0].name if known else None), known


def chosen_missions(state: ServerState, ref: str | None, codes: list[str]) -> list[str]:
    """The missions asked for, checked: each known (404 otherwise), none twice, at most the setting's number."""
    limit = state.settings.compare_max_missions
    longest = state.settings.input_max_string
    if len(codes) > limit:
        raise CompareError(400, f"{len(codes)} missions demandées : on en compare au plus {limit} à la fois "
                                "(CQP_GRAPH_COMPARE_MAX_MISSIONS)")
    for code in codes:
        if len(code) > longest:
            raise CompareError(400, f"code de mission de plus de {longest} caractères")
    known = [m["code"] for m in _facts(state, ref)["facts"].missions]
    chosen = list(dict.fromkeys(c.strip() for c in codes if c.strip()))
    for code in chosen:
        if code not in known:
            raise CompareError(404, str(unknown_value(code, MISSIONS, sorted(known, key=natural_key))))
    return chosen


def comparison(state: ServerState, ref: str | None, chosen: list[str]) -> dict:
    """Shared competences, those only one mission requires, each pair's Jaccard similarity and the full table."""
    data = _facts(state, ref)
    facts, needs = data["facts"], data["needs"]
    missions = {m["code"]: m for m in facts.missions}
    competences = {c["code"]: c for c in facts.competences}
    kinds = {k["code"]: k["label"] for k in competence_kinds(state.knowledge)}

    def row(code):
        c = competences[code]
        return {"code": code, "label": c["label"], "kind": c["kind"], "kind_label": kinds.get(c["kind"], c["kind"]),
                "domain": c["domain"] or "", "iri": c["iri"]}

    def ordered(codes):
        return [row(c) for c in sorted(codes, key=natural_key)]

    sets = [needs[m] for m in chosen]
    union = set().union(*sets)
    shared = set.intersection(*sets) if sets else set()
    only = [{"mission": m, "label": missions[m]["label"], "iri": missions[m]["iri"],
             "rows": ordered(needs[m] - set().union(*(needs[o] for o in chosen if o != m)))} for m in chosen]
    pairs = []
    for i, a in enumerate(chosen):
        for b in chosen[i + 1:]:
            key = (a, b) if (a, b) in data["similarity"] else (b, a)
            r = data["similarity"][key]
            pairs.append({"a": a, "b": b, "shared": len(needs[a] & needs[b]), "union": len(needs[a] | needs[b]),
                          "jaccard": r["jaccard"], "percent": pct(Decimal(str(r["jaccard"])) * 100)})
    return {
        "missions": [{"code": m, "label": missions[m]["label"], "iri": missions[m]["iri"], "competences": len(needs[m])}
                     for m in chosen],
        "shared": ordered(shared), "only": only, "pairs": pairs,
        "table": [{**row(c), "in": [c in needs[m] for m in chosen]} for c in sorted(union, key=natural_key)],
        "kinds": [(k["code"], k["label"]) for k in competence_kinds(state.knowledge)],
    }


def spreadsheet(result: dict, fmt: str) -> bytes:
    """The full table as a file: one row per competence, one column per mission (« oui » / « non »)."""
    codes = [m["code"] for m in result["missions"]]
    headers = ["Code", "Libellé", "Nature", "Domaine", *codes]
    rows = [[r["code"], r["label"], r["kind"], r["domain"], *("oui" if x else "non" for x in r["in"])]
            for r in result["table"]]
    if fmt == "csv":
        return csv_bytes(headers, rows)
    similarity = [[p["a"], p["b"], p["shared"], p["union"], p["jaccard"]] for p in result["pairs"]]
    return xlsx_bytes({"Compétences": (headers, rows),
                       "Similarité": (["Mission A", "Mission B", "Communes", "Union", "Jaccard"], similarity)})


def router(state_getter) -> APIRouter:
    api = APIRouter(include_in_schema=False)

    @api.get("/compare")
    async def compare(request: Request):
        state: ServerState = state_getter(request)
        query = request.query_params
        codes = query.getlist("mission")
        fmt = query.get("format")
        page = {"codes": codes, "error": None, "result": None, "referential": None, "choices": [], "missions": [],
                "max": state.settings.compare_max_missions}
        status = 200
        try:
            if fmt is not None and fmt not in FORMATS:
                raise CompareError(400, f"format « {fmt[:20]} » inconnu : csv ou xlsx")
            ref, known = _referential(state, query.get("referential"))
            page["referential"] = ref
            page["choices"] = [{"name": r.name, "title": r.title} for r in known] if len(known) > 1 else []
            if ref is None and len(known) > 1:
                if codes:
                    raise CompareError(400, "le graphe contient plusieurs référentiels : choisissez-en un "
                                            f"(?referential=…) parmi {', '.join(r.name for r in known)}")
            else:
                page["missions"] = [{"code": m["code"], "label": m["label"]}
                                    for m in _facts(state, ref)["facts"].missions]
                chosen = chosen_missions(state, ref, codes)
                page["codes"] = chosen
                if codes and len(chosen) < 2:
                    raise CompareError(400, "choisissez au moins deux missions différentes à comparer")
                if chosen:
                    page["result"] = state.cached(("compare", ref, tuple(chosen)),
                                                  lambda: comparison(state, ref, chosen))
        except CompareError as exc:
            page["error"], status = exc.message, exc.status
            page["result"] = None
        if fmt is not None and status == 200:
            if page["result"] is None:
                page["error"], status = "choisissez au moins deux missions à télécharger", 400
            else:
                name = "comparaison-" + "-".join(page["codes"])
                return Response(spreadsheet(page["result"], fmt), media_type=FORMATS[fmt],
                                headers={"Content-Disposition": f'attachment; filename="{name}.{fmt}"'})
        links = Links(state)
        return HTMLResponse(template("compare.html.j2").render(p=page, href=links.href, query=_query(page)),
                            status_code=status)

    return api


def _query(page: dict) -> str:
    """The query string of this comparison (for the download links)."""
    pairs = [("mission", c) for c in page["codes"]]
    if page["referential"] and page["choices"]:
        pairs.insert(0, ("referential", page["referential"]))
    return urlencode(pairs)
