"""Cross-certification: the RNCP / RS register imported beside the referentials, as pages and API.

Four questions, each answered on the whole register the server holds (an RNCP import merged with
`serve --merge`, or published into the store with `cqp-graph load`):

- which certifications share a ROME job sheet or an NSF code with a referential (named query
  `register-shared-codes`): `/register`, `/api/register/shared-codes`;
- for each block of a referential, the RNCP blocks whose competence texts are closest (TF-IDF,
  `cqp_graph.analyses.similarity`, over the named query `register-texts`): `/register/blocks`,
  `/api/register/blocks`;
- the RS fiches closest to each block (same TF-IDF): on `/register/blocks`, `/api/register/rs`;
- lineage, what replaced what, transitively (named query `register-lineage`): `/register/lineage?fiche=RNCP…`,
  `/api/register/lineage`.

Every input is bounded: `referential` must name a referential of the graph (404 with the known ones), `fiche` must
read `RNCP` or `RS` and at most 7 digits (422) and name a fiche of the register (404, with the closest numbers),
`top` runs from 1 to CQP_GRAPH_REGISTER_MAX_TOP_K (default CQP_GRAPH_REGISTER_TOP_K), `limit` from 1 to
CQP_GRAPH_REGISTER_MAX_ROWS (its default), `offset` from 0 to CQP_GRAPH_MAX_OFFSET (as the list APIs). While no
register is loaded, the pages say in French how to load one, `/api/register` answers `loaded: false` with the same
message, and the other API routes answer 404 with it. The close numbers of an unknown fiche are those one typing
slip away (`close_numbers`), found by look-ups, not by comparing it with every fiche.

Lives here: those routes. Not here: the queries (`queries/register-*.rq`), the similarity
(`cqp_graph.analyses.similarity`), the templates (`present/templates/register*.html.j2`).
"""

from __future__ import annotations

import logging
import re
import threading
import weakref
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from cqp_graph.analyses import similarity
from cqp_graph.graph.assemble import REFERENTIAL_NAME
from cqp_graph.present.render import template
from cqp_graph.query.knowledge import UnknownReferential
from cqp_graph.web.api_routes import json_bytes, readable_parameter
from cqp_graph.web.state import ServerState

router = APIRouter()

FICHE = re.compile(r"^(RNCP|RS)[0-9]{1,7}$")
NOT_LOADED = ("Aucune importation du registre RNCP / RS n'est chargée à côté du référentiel. Pour en charger une : "
              "convertissez l'export quotidien de France Compétences avec « cqp-graph import-rncp export.xml "
              "--output rncp.ttl », puis servez-la avec « cqp-graph serve --merge rncp.ttl », ou publiez-la dans "
              "le magasin que nomme CQP_GRAPH_STORE avec « cqp-graph load --file rncp.ttl » avant « cqp-graph serve ».")

class _Register:
    """What the routes keep of the register the graph holds, once per graph (the graph is read-only): the fiches by
    number, and the TF-IDF index, built at the first question that needs it. Kept beside the knowledge layer, not in
    the response cache: a large register would not fit an entry of it, and every row's link asks for a fiche."""

    def __init__(self, knowledge):
        self.fiches = {row["fiche"]: row for row in knowledge.rows("register-fiches")}
        self._knowledge = weakref.ref(knowledge)
        self._index: similarity.RegisterIndex | None = None
        self._blocks: dict[str | None, list[dict]] = {}
        self._lock = threading.Lock()

    def index(self) -> similarity.RegisterIndex:
        with self._lock:
            if self._index is None:
                self._index = similarity.register_index(self._knowledge())
            return self._index

    def blocks(self, referential: str | None) -> list[dict]:
        """The referential's blocks with their texts (the `blocks` query counts over every block of the graph,
        the register's included: about a second at 5,000 fiches, so it is asked once)."""
        with self._lock:
            if referential not in self._blocks:
                self._blocks[referential] = similarity.referential_blocks(self._knowledge(), referential)
            return self._blocks[referential]


log = logging.getLogger("cqp_graph.register")
_registers: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_registers_lock = threading.Lock()


class Refusal(Exception):
    """A request the register's routes refuse: its status and French message (and the close matches)."""

    def __init__(self, status: int, message: str, **extra):
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra


def _state(request: Request) -> ServerState:
    return request.app.state.cqp


# -- what the register holds ---------------------------------------------------------------------------------

def _register(state: ServerState) -> _Register:
    knowledge = state.knowledge
    with _registers_lock:
        register = _registers.get(knowledge)
        if register is None:
            register = _registers[knowledge] = _Register(knowledge)
    return register


def fiches(state: ServerState) -> dict[str, dict]:
    """The fiches of the register by number (named query `register-fiches`)."""
    return _register(state).fiches


def loaded(state: ServerState) -> bool:
    return bool(fiches(state))


def index(state: ServerState) -> similarity.RegisterIndex:
    """The TF-IDF index of the register, built once per graph."""
    return _register(state).index()


def warm(state: ServerState) -> None:
    """Build the register's TF-IDF index now, when the graph holds a register (the server calls this in a thread
    at its start, so that the first `/register/blocks` does not wait for it: 13–20 s at 25,000 fiches)."""
    try:
        if loaded(state):
            index(state)
    except Exception:  # a store failing now fails the first request instead, with its French error
        log.warning("index TF-IDF du registre non construit au démarrage", exc_info=True)


def record_href(state: ServerState, number: str) -> str | None:
    """The page of a fiche on this server (the import mints it `{base}rncp/{number}`), None when it is not in the
    register."""
    if number not in fiches(state):
        return None
    return state.local_path(f"{state.base}rncp/{quote(number, safe='')}")


def block_href(state: ServerState, code: str) -> str | None:
    return state.local_path(f"{state.base}rncp/block/{quote(code, safe='')}")


# -- inputs --------------------------------------------------------------------------------------------------

def _params(request: Request, allowed: tuple[str, ...], state: ServerState, page: bool = False) -> dict[str, str]:
    """The query string's parameters, each readable, known and given once; an empty value is refused (422) by the
    API, and means "not given" on a page (its forms send `referential=` for "every referential")."""
    params = {}
    for key, value in request.query_params.multi_items():
        if page and value == "":
            continue
        try:
            readable_parameter(key, value, state.settings.input_max_string)
        except HTTPException as exc:  # the pages answer it in HTML, the API in JSON
            raise Refusal(exc.status_code, str(exc.detail)) from None
        if key not in allowed:
            accepted = f"paramètres acceptés : {', '.join(allowed)}" if allowed else "cette adresse n'en accepte aucun"
            raise Refusal(422, f"paramètre « {key[:40]} » inconnu ({accepted})")
        if key in params:
            raise Refusal(422, f"paramètre « {key[:40]} » donné deux fois")
        if value == "":
            raise Refusal(422, f"paramètre « {key[:40]} » vide (omettez-le plutôt)")
        params[key] = value
    return params


def _integer(params: dict, name: str, default: int, low: int, high: int, setting: str) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    if not re.fullmatch(r"[0-9]{1,9}", raw.strip()):
        raise Refusal(422, f"paramètre « {name} » : « {raw[:40]} » n'est pas un nombre entier positif")
    value = int(raw)
    if not low <= value <= high:
        raise Refusal(422, f"paramètre « {name} » : {value} hors de l'intervalle {low} à {high} ({setting})")
    return value


def _referential(state: ServerState, params: dict) -> str | None:
    name = params.get("referential") or None
    if name is None:
        return None
    if not REFERENTIAL_NAME.fullmatch(name):
        raise Refusal(422, f"paramètre « referential » : « {name[:40]} » n'est pas un nom de référentiel (lettres "
                           "sans accent, chiffres, « . », « _ » et « - », comme le dossier de data/)")
    try:
        return state.referential(name).name
    except UnknownReferential as exc:
        raise Refusal(404, str(exc), choix=exc.known) from None


def _top(state: ServerState, params: dict) -> int:
    high = max(1, state.settings.register_max_top_k)
    default = min(max(1, state.settings.register_top_k), high)
    return _integer(params, "top", default, 1, high, "CQP_GRAPH_REGISTER_MAX_TOP_K")


def _page(state: ServerState, params: dict) -> tuple[int, int]:
    high = max(1, state.settings.register_max_rows)
    return (_integer(params, "limit", high, 1, high, "CQP_GRAPH_REGISTER_MAX_ROWS"),
            _integer(params, "offset", 0, 0, state.settings.max_offset, "CQP_GRAPH_MAX_OFFSET"))


def _fiche(state: ServerState, params: dict) -> str | None:
    number = params.get("fiche") or None
    if number is None:
        return None
    if not FICHE.match(number):
        raise Refusal(422, f"paramètre « fiche » : « {number[:40]} » n'est pas un numéro de fiche (RNCP ou RS suivi "
                           "d'au plus 7 chiffres, par exemple RNCP34762)")
    known = fiches(state)
    if number not in known:
        close = close_numbers(number, known)
        hint = f" ; numéros proches : {', '.join(close)}" if close else ""
        raise Refusal(404, f"aucune fiche « {number} » dans le registre importé{hint}", proches=close)
    return number


def close_numbers(number: str, known, most: int = 5) -> list[str]:
    """The fiche numbers of `known` one typing slip away from `number` (a digit left out, added, changed, or two
    neighbours swapped), at most `most`, in number order.

    Only those few candidates (about 20 per digit) are looked up, so the answer costs the same whatever the
    register's size; comparing `number` with every fiche of a 200 000-fiche register (`difflib`) took seconds."""
    match = FICHE.fullmatch(number)
    if not match:
        return []
    kind, digits = match.group(1), number[len(match.group(1)):]
    variants = set()
    for i in range(len(digits) + 1):
        for d in "0123456789":
            variants.add(digits[:i] + d + digits[i:])  # a digit added
        if i < len(digits):
            variants.add(digits[:i] + digits[i + 1:])  # a digit left out
            variants.update(digits[:i] + d + digits[i + 1:] for d in "0123456789")  # a digit changed
        if i + 1 < len(digits):
            variants.add(digits[:i] + digits[i + 1] + digits[i] + digits[i + 2:])  # two neighbours swapped
    found = {kind + v for v in variants if v and v != digits and kind + v in known}
    return sorted(found, key=lambda n: (len(n), n))[:most]


def _require_register(state: ServerState) -> None:
    if not loaded(state):
        raise Refusal(404, NOT_LOADED)


# -- the answers (plain data, shared by the pages and the API) --------------------------------------------------

def shared_codes(state: ServerState, referential: str | None, limit: int, offset: int) -> dict:
    def compute():
        grouped: dict[tuple, dict] = {}
        for row in state.knowledge.rows("register-shared-codes", referential=referential):
            key = (row["referential"], row["fiche"])
            entry = grouped.get(key)
            if entry is None:
                entry = grouped[key] = {"referential": row["referential"], "fiche": row["fiche"],
                                        "title": row["title"], "active": row["active"], "own": row["own"],
                                        "href": record_href(state, row["fiche"]), "codes": []}
            entry["codes"].append({"kind": row["kind"], "code": row["code"],
                                   "referential_code": row["referential_code"], "match": row["match"]})
        return list(grouped.values())
    every = state.cached(("register-shared-codes", referential), compute)
    return {"referential": referential, "total": len(every), "limit": limit, "offset": offset,
            "fiches": every[offset:offset + limit]}


def closest(state: ServerState, referential: str | None, kind: str, top: int) -> dict:
    def compute():
        answer = similarity.closest(index(state), _register(state).blocks(referential), kind, top)
        for block in answer:
            block["href"] = state.local_path(block["iri"]) or block["iri"]
            for match in block["matches"]:
                match["href"] = block_href(state, match["code"]) if kind == "RNCP" else \
                    record_href(state, match["code"])
                match["fiche_href"] = record_href(state, match["fiche"])
        return answer
    return {"referential": referential, "kind": kind, "top": top,
            "blocks": state.cached(("register-closest", referential, kind, top), compute)}


def lineage(state: ServerState, fiche: str | None, limit: int, offset: int) -> dict:
    def compute():
        rows = state.knowledge.rows("register-lineage", fiche=fiche)
        for row in rows:
            row["href"] = record_href(state, row["fiche"])
            row["other_href"] = record_href(state, row["other"])
        return rows
    rows = state.cached(("register-lineage", fiche), compute)
    if fiche is not None:
        record = fiches(state)[fiche]
        return {"fiche": fiche, "title": record["title"], "href": record_href(state, fiche),
                "replaced_by": [_succession(r) for r in rows if r["relation"] == "remplacée par"],
                "replaces": [_succession(r) for r in rows if r["relation"] == "remplace"]}
    successions = [r for r in rows if r["relation"] == "remplacée par"]
    return {"fiche": None, "total": len(successions), "limit": limit, "offset": offset,
            "successions": [{"fiche": r["fiche"], "title": r["title"], "href": r["href"], **_succession(r)}
                            for r in successions[offset:offset + limit]]}


def _succession(row: dict) -> dict:
    return {"other": row["other"], "other_title": row["other_title"], "other_href": row["other_href"],
            "direct": row["direct"], "in_register": row["in_register"]}


def summary(state: ServerState) -> dict:
    def compute():
        known = fiches(state)
        return {"loaded": bool(known), "fiches": len(known),
                "rncp": sum(1 for r in known.values() if r["kind"] == "RNCP"),
                "rs": sum(1 for r in known.values() if r["kind"] == "RS"),
                "blocks": sum(r["blocks"] or 0 for r in known.values()),
                "message": None if known else NOT_LOADED,
                "links": {"shared_codes": "/api/register/shared-codes", "blocks": "/api/register/blocks",
                          "rs": "/api/register/rs", "lineage": "/api/register/lineage",
                          "pages": ["/register", "/register/blocks", "/register/lineage"]}}
    return state.cached(("register-summary",), compute)


# -- API ------------------------------------------------------------------------------------------------------
# The parameters are declared in the OpenAPI document (their bounds marked `x-cqp-setting`, which
# `cqp_graph.web.paging.bound_openapi` replaces with the served settings' values) and read by `_params` and the
# functions above, so that the pages and the API refuse the same input with the same French message.

def _declared(name: str, description: str, schema: dict) -> dict:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


REFERENTIAL_PARAMETER = _declared(
    "referential", "the referential's name (its data folder, see /api/referentials); every referential when absent; "
                   "404 for a name the graph does not hold",
    {"type": "string", "pattern": f"^{REFERENTIAL_NAME.pattern}$", "maxLength": 2000,
     "x-cqp-setting": "input_max_string"})
TOP_PARAMETER = _declared(
    "top", "suggestions per block, 1 to CQP_GRAPH_REGISTER_MAX_TOP_K (default CQP_GRAPH_REGISTER_TOP_K); 422 otherwise",
    {"type": "integer", "minimum": 1, "maximum": 50, "x-cqp-setting": "register_max_top_k"})
PAGE_PARAMETERS = [
    _declared("limit", "most items answered, 1 to CQP_GRAPH_REGISTER_MAX_ROWS (its default); 422 otherwise",
              {"type": "integer", "minimum": 1, "maximum": 500, "x-cqp-setting": "register_max_rows"}),
    _declared("offset", "items skipped first, 0 to CQP_GRAPH_MAX_OFFSET (default 0); 422 otherwise",
              {"type": "integer", "minimum": 0, "maximum": 100_000, "x-cqp-setting": "max_offset"})]
FICHE_PARAMETER = _declared(
    "fiche", "a fiche number: RNCP or RS and 1 to 7 digits (422 otherwise; 404, with close numbers, when the register "
             "has no such fiche); every succession of the register when absent",
    {"type": "string", "pattern": FICHE.pattern})


ERRORS = {404: {"description": "no register loaded (the French message says how to load one), an unknown "
                               "referential (`detail.choix`) or an unknown fiche (`detail.proches`: close numbers)"},
          422: {"description": "a parameter out of its bounds or of the wrong form (French message)"}}


def _api(request: Request, allowed: tuple[str, ...], answer) -> Response:
    state = _state(request)
    try:
        params = _params(request, allowed, state)
        body = answer(state, params)
    except Refusal as exc:
        detail = {"message": exc.message, **exc.extra} if exc.extra else exc.message
        return Response(json_bytes({"detail": detail}), status_code=exc.status, media_type="application/json")
    return Response(json_bytes(body), media_type="application/json", headers={"ETag": f'"{state.etag}"'})


@router.get("/api/register", tags=["register"],
            summary="The RNCP / RS register loaded beside the referentials: whether one is, its counts, the URLs",
            responses={200: {"content": {"application/json": {"example": {
                "loaded": True, "fiches": 20, "rncp": 12, "rs": 8, "blocks": 53, "message": None}}}},
                422: ERRORS[422]})
def api_register(request: Request):
    return _api(request, (), lambda state, params: summary(state))


@router.get("/api/register/shared-codes", tags=["register"],
            summary="Register fiches sharing a ROME job sheet or an NSF code with a referential, with the codes "
                    "shared (query `register-shared-codes`); `referential`, `limit`, `offset`",
            responses=ERRORS, openapi_extra={"parameters": [REFERENTIAL_PARAMETER, *PAGE_PARAMETERS]})
def api_shared_codes(request: Request):
    def answer(state, params):
        referential = _referential(state, params)
        limit, offset = _page(state, params)
        _require_register(state)
        return shared_codes(state, referential, limit, offset)
    return _api(request, ("referential", "limit", "offset"), answer)


def _closest_api(kind: str):
    def answer(state, params):
        referential = _referential(state, params)
        top = _top(state, params)
        _require_register(state)
        return closest(state, referential, kind, top)
    return answer


@router.get("/api/register/blocks", tags=["register"],
            summary="For each block of a referential, the `top` RNCP blocks whose competence texts are closest "
                    "(TF-IDF cosine, for review); `referential`, `top`",
            responses=ERRORS, openapi_extra={"parameters": [REFERENTIAL_PARAMETER, TOP_PARAMETER]})
def api_blocks(request: Request):
    return _api(request, ("referential", "top"), _closest_api("RNCP"))


@router.get("/api/register/rs", tags=["register"],
            summary="For each block of a referential, the `top` RS fiches whose texts are closest (same TF-IDF); "
                    "`referential`, `top`",
            responses=ERRORS, openapi_extra={"parameters": [REFERENTIAL_PARAMETER, TOP_PARAMETER]})
def api_rs(request: Request):
    return _api(request, ("referential", "top"), _closest_api("RS"))


@router.get("/api/register/lineage", tags=["register"],
            summary="What replaced what, transitively (query `register-lineage`): for `fiche` (RNCP… or RS…) or, "
                    "without it, every succession of the register; `limit`, `offset`",
            responses=ERRORS, openapi_extra={"parameters": [FICHE_PARAMETER, *PAGE_PARAMETERS]})
def api_lineage(request: Request):
    def answer(state, params):
        limit, offset = _page(state, params)
        _require_register(state)
        return lineage(state, _fiche(state, params), limit, offset)
    return _api(request, ("fiche", "limit", "offset"), answer)


# -- pages ----------------------------------------------------------------------------------------------------

def _page_response(request: Request, allowed: tuple[str, ...], name: str, build) -> HTMLResponse:
    state = _state(request)
    try:
        params = _params(request, allowed, state, page=True)
        context = build(state, params)
    except Refusal as exc:
        message = exc.message
        return HTMLResponse(template("register.html.j2").render(
            view="error", title="Registre RNCP", message=message, loaded=loaded(state)), status_code=exc.status)
    if not loaded(state):
        return HTMLResponse(template("register.html.j2").render(view="empty", title="Registre RNCP",
                                                                message=NOT_LOADED, loaded=False))
    return HTMLResponse(template(name).render(score=_score, **context))


def _score(value: float) -> str:
    """A score the French way (« 0,412 »)."""
    return f"{value:.3f}".replace(".", ",")


def _referentials(state: ServerState) -> list[dict]:
    return [{"name": r.name, "title": r.title} for r in state.referentials()]


@router.get("/register", include_in_schema=False)
def register_page(request: Request):
    def build(state, params):
        referential = _referential(state, params)
        limit, offset = _page(state, params)
        shared = shared_codes(state, referential, limit, offset) if loaded(state) else None
        return {"view": "summary", "title": "Registre RNCP", "summary": summary(state), "shared": shared,
                "referential": referential, "referentials": _referentials(state)}
    return _page_response(request, ("referential", "limit", "offset"), "register.html.j2", build)


@router.get("/register/blocks", include_in_schema=False)
def register_blocks_page(request: Request):
    def build(state, params):
        referential = _referential(state, params)
        top = _top(state, params)
        if not loaded(state):
            return {}
        return {"title": "Blocs proches dans le registre", "referential": referential, "top": top,
                "referentials": _referentials(state),
                "rncp": closest(state, referential, "RNCP", top)["blocks"],
                "rs": closest(state, referential, "RS", top)["blocks"]}
    return _page_response(request, ("referential", "top"), "register_blocks.html.j2", build)


@router.get("/register/lineage", include_in_schema=False)
def register_lineage_page(request: Request):
    def build(state, params):
        limit, offset = _page(state, params)
        if not loaded(state):
            return {}
        fiche = _fiche(state, params)
        return {"title": "Filiation des fiches", "lineage": lineage(state, fiche, limit, offset)}
    return _page_response(request, ("fiche", "limit", "offset"), "register_lineage.html.j2", build)
