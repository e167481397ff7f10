"""The curriculum designer's workbench on the site: a programme's coverage and a candidate's decision, in French.

- `GET /coverage`: a form to upload a programme (YAML, JSON, CSV or Excel .xlsx); `POST /coverage` answers the
  report — the gaps first, then per block, mission, domain and kind, and the modules — or, with
  `format=xlsx|csv`, the same report as a download. The design is stateless: the report page carries a copy
  of the uploaded file (base64, in a hidden field) and its download buttons post that copy back with the
  format asked for; nothing is kept on the server between two requests.
- `GET /coverage/template.xlsx`: an Excel programme to fill in, with the referential's competences and
  activities in sheets of their own.
- `GET /coverage/referential`: the referential's own coverage report (`cqp_graph.analyses.report`).
- `GET /decisions`: a form for one candidate's results on one route, its fields generated from the route's
  rules in the graph (which blocks, evaluators, know-how and units are scored); `POST /decisions` answers each
  block's decision with the rule and the figures compared, from the form or from an uploaded results file
  (the same YAML/JSON files as `cqp-graph decide`).

Every upload is bounded as the API's POSTs are (CQP_GRAPH_INPUT_* settings, the same job slots per server and
per client); a bad file or value re-renders the form with status 400 (413 too large) and a French message
naming the file, the line and the module or field. A page with several referentials takes `?referential=`.

Lives here: those routes and what turns a form into results and a report into sheets. Not here: reading and
checking the files (`cqp_graph.inputs`), the figures (`cqp_graph.analyses.coverage`, `.decisions`, `.report`),
writing XLSX/CSV (`cqp_graph.present.spreadsheet`).
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from urllib.parse import quote, urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from cqp_graph.analyses.network import competence_kinds
from cqp_graph.inputs.files import InputError, binary_kind, decode_text
from cqp_graph.numbers import natural_key, pct
from cqp_graph.suggest import did_you_mean
from cqp_graph.present.render import inline_svg, template
from cqp_graph.present.spreadsheet import csv_bytes, workbook, workbook_bytes, xlsx_bytes
from cqp_graph.query.knowledge import UnknownReferential
from cqp_graph.web.api_routes import client_of, jobs_of, state_of
from cqp_graph.web.state import ServerState

router = APIRouter()

XLSX_MEDIA = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
RESULTS_FILES = "déposez un fichier de résultats .yaml ou .json (comme pour « cqp-graph decide »)"
#: form fields one POST may carry (the decision form of a referential has a few dozen)
FORM_MAX_FIELDS = 2000
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class FormProblem(Exception):
    """A request the page answers with its form again, a status and a French message."""

    def __init__(self, status: int, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers


# -- French numbers ----------------------------------------------------------------------------------------

def fr_number(value) -> str:
    """A number the French way: 66,5 ; 14 ; 1 234,25 (two decimals at most); « — » for none."""
    if value is None or value == "":
        return "—"
    number = Decimal(str(value)).quantize(Decimal("0.01")).normalize()
    text = format(number, ",f").replace(",", "\u202f").replace(".", ",")
    return text


def fr_percent(value) -> str:
    """A percentage the French way: « 56,1 % », a narrow no-break space before « % » so that a narrow table
    column never puts the sign alone on a line."""
    return pct(None if value is None else Decimal(str(value)))


# -- shared request handling -----------------------------------------------------------------------------

def _names(state: ServerState) -> list[str]:
    return [r.name for r in state.referentials()]


def _referential(state: ServerState, asked: str | None) -> str | None:
    """The referential a page is about: the one asked for (FormProblem 404 when unknown), else the only one;
    None when the graph holds several and none was asked for (the page offers the choice)."""
    names = _names(state)
    if asked:
        if asked not in names:
            raise FormProblem(404, f"référentiel « {asked} » inconnu (connus : {', '.join(names) or 'aucun'})")
        return asked
    return names[0] if len(names) == 1 else None


def _file_name(name: str | None, default: str) -> str:
    """An uploaded file's name as messages show it: its last path part, without control characters."""
    name = re.split(r"[\\/]", name or "")[-1]
    name = _CONTROL.sub("", name).strip()[:120]
    return name or default


async def _read_form(request: Request, state: ServerState):
    limit = state.settings.input_max_bytes
    try:
        return await request.form(max_files=1, max_fields=FORM_MAX_FIELDS, max_part_size=2 * limit + 4096)
    except HTTPException as exc:
        raise FormProblem(400 if exc.status_code < 500 else exc.status_code,
                          f"formulaire illisible ({exc.detail})") from None
    except Exception as exc:  # noqa: BLE001 - the multipart parser's errors on a malformed body are of many kinds
        raise FormProblem(400, f"formulaire illisible ({type(exc).__name__})") from None


async def _uploaded(form, state: ServerState, default: str) -> tuple[str, bytes] | None:
    """(file name, bytes) of the file sent in `fichier`, or of the copy a report page posts back
    (`copie`, base64, with its `nom`); None when neither was sent."""
    limit = state.settings.input_max_bytes
    upload = form.get("fichier")
    if isinstance(upload, UploadFile) and (upload.filename or upload.size):
        name = _file_name(upload.filename, default)
        raw = await upload.read(limit + 1)
    elif isinstance(form.get("copie"), str) and form.get("copie"):
        name = _file_name(form.get("nom") if isinstance(form.get("nom"), str) else None, default)
        try:
            raw = base64.b64decode(form["copie"], validate=True)
        except (binascii.Error, ValueError):
            raise FormProblem(400, "copie du fichier illisible : renvoyer le fichier") from None
    else:
        return None
    if len(raw) > limit:
        raise FormProblem(413, f"« {name} » : fichier de plus de {limit} octets (CQP_GRAPH_INPUT_MAX_BYTES)")
    return name, raw


def _field(form, key: str, state: ServerState) -> str:
    value = form.get(key)
    if not isinstance(value, str):
        return ""
    if len(value) > state.settings.input_max_string:
        raise FormProblem(400, f"champ « {key} » de plus de {state.settings.input_max_string} caractères "
                               "(CQP_GRAPH_INPUT_MAX_STRING)")
    return value.strip()


async def _run(request: Request, work):
    """`work` in one of the input job slots (the API's): 429/503 as a FormProblem."""
    try:
        return await jobs_of(request).run(work, client=client_of(request))
    except HTTPException as exc:
        raise FormProblem(exc.status_code, str(exc.detail), dict(exc.headers or {})) from None


def _page(name: str, status: int = 200, headers: dict | None = None, **context) -> HTMLResponse:
    return HTMLResponse(template(name).render(fr_number=fr_number, fr_percent=fr_percent, **context),
                        status_code=status, headers=headers)


def _download(body: bytes, media: str, filename: str) -> Response:
    ascii_name = re.sub(r"[^A-Za-z0-9._-]", "_", filename)
    return Response(body, media_type=media, headers={
        "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}",
        "Cache-Control": "no-store"})


def _query(**params) -> str:
    kept = {k: v for k, v in params.items() if v}
    return "?" + urlencode(kept) if kept else ""


# -- coverage -------------------------------------------------------------------------------------------

def programme_format(name: str, raw: bytes) -> str:
    """How an uploaded programme is read: "xlsx" (an archive, or an Excel name), "csv" or "yaml" (JSON too)."""
    lower = name.lower()
    if raw.startswith((b"PK", _OLE_MAGIC)) or lower.endswith((".xlsx", ".xls", ".xlsm", ".ods")):
        return "xlsx"
    return "csv" if lower.endswith(".csv") else "yaml"


def _yes(value: bool) -> str:
    return "oui" if value else "non"


def coverage_sheets(c: dict) -> dict[str, tuple[list[str], list[list]]]:
    """The programme's coverage report as tables (French headers; numbers as numbers), the gaps first."""
    s = c["summary"]
    uncovered = [x for x in c["competences"] if not x["covered"]]
    covered = [x for x in c["competences"] if x["covered"]]
    return {
        "Lacunes": (["code", "libellé", "nature", "domaine", "bloc"],
                    [[x["code"], x["label"], x["kind"], x["domain"], x["block"]] for x in uncovered]),
        "Par bloc": (["bloc", "intitulé", "domaine", "compétences", "couvertes", "% couvert", "heures",
                      "entièrement préparé", "non couvertes"],
                     [[b["key"], b["label"], b["domain"], b["total"], b["covered"], b["percent"], b["hours"],
                       _yes(b["fully_prepared"]), " ".join(b["uncovered"])] for b in c["by_block"]]),
        "Par mission": (["mission", "intitulé", "compétences exigées", "couvertes", "% couvert",
                         "activités entraînées", "non couvertes"],
                        [[m["key"], m["label"], m["total"], m["covered"], m["percent"],
                          " ".join(m["activities_trained"]), " ".join(m["uncovered"])] for m in c["by_mission"]]),
        "Par domaine": (["domaine", "intitulé", "compétences", "couvertes", "% couvert", "heures", "non couvertes"],
                        [[d["key"], d["label"], d["total"], d["covered"], d["percent"], d["hours"],
                          " ".join(d["uncovered"])] for d in c["by_domain"]]),
        "Par nature": (["nature", "compétences", "couvertes", "% couvert", "heures", "non couvertes"],
                       [[k["key"], k["total"], k["covered"], k["percent"], k["hours"], " ".join(k["uncovered"])]
                        for k in c["by_kind"]]),
        "Compétences": coverage_table(uncovered + covered),
        "Modules": (["module", "intitulé", "heures", "ligne", "compétences entraînées", "activités",
                     "n'entraîne rien du référentiel"],
                    [[m["code"], m["title"], m["hours"], m["line"], " ".join(m["competences"]),
                      " ".join(m["activities"]), _yes(m["trains_nothing"])] for m in c["modules"]]),
        "Résumé": (["indicateur", "valeur"], [
            ["programme", c["title"]], ["référentiel", c["referential"]], ["modules", s["modules"]],
            ["heures", s["hours"]], ["compétences du référentiel", s["competences"]],
            ["compétences couvertes", s["covered"]], ["% couvert", s["percent"]],
            ["compétences codées", s["coded_competences"]], ["compétences codées couvertes", s["coded_covered"]],
            ["heures non ventilées", s["unallocated_hours"]], ["règle des heures", c["hours_rule"]]]),
    }


def coverage_table(competences: list[dict]) -> tuple[list[str], list[list]]:
    """One row per competence: the CSV download."""
    return (["code", "libellé", "nature", "domaine", "bloc", "couverte", "modules", "heures"],
            [[x["code"], x["label"], x["kind"], x["domain"], x["block"], _yes(x["covered"]), " ".join(x["modules"]),
              x["hours"]] for x in competences])


def _coverage_context(state: ServerState, chosen: str | None, **extra) -> dict:
    names = _names(state)
    return {"referentials": names, "chosen": chosen, "max_bytes": state.settings.input_max_bytes,
            "template_href": "/coverage/template.xlsx" + _query(referential=chosen),
            "report_href": "/coverage/referential" + _query(referential=chosen), **extra}


@router.get("/coverage", include_in_schema=False)
async def coverage_form(request: Request):
    state = state_of(request)
    try:
        chosen = _referential(state, request.query_params.get("referential"))
    except FormProblem as problem:
        return _page("coverage.html.j2", problem.status, **_coverage_context(state, None, problem=problem.message))
    return _page("coverage.html.j2", **_coverage_context(state, chosen))


@router.post("/coverage", include_in_schema=False)
async def coverage_post(request: Request):
    from cqp_graph.analyses.coverage import coverage_of_data

    state = state_of(request)
    chosen = None
    name = None
    try:
        form = await _read_form(request, state)
        chosen = _referential(state, _field(form, "referential", state) or None)
        wanted = _field(form, "format", state) or "html"
        if wanted not in ("html", "xlsx", "csv"):
            raise FormProblem(400, f"format « {wanted} » inconnu : html, xlsx ou csv")
        sent = await _uploaded(form, state, "programme")
        if sent is None:
            raise FormProblem(400, "aucun fichier reçu : choisir le fichier du programme (YAML, CSV ou Excel .xlsx)")
        name, raw = sent
        fmt = programme_format(name, raw)
        data = raw if fmt == "xlsx" else decode_text(raw, name, "déposez un classeur .xlsx, un .csv ou un .yaml")

        def work():
            return coverage_of_data(data, state.settings, state.knowledge, chosen, fmt=fmt, source=name)

        result = await _run(request, work)
    except FormProblem as problem:
        return _page("coverage.html.j2", problem.status, problem.headers,
                     **_coverage_context(state, chosen, problem=problem.message, file=name))
    except InputError as exc:
        return _page("coverage.html.j2", 413 if "CQP_GRAPH_INPUT_MAX_BYTES" in str(exc) else 400,
                     **_coverage_context(state, chosen, errors=exc.as_dict(), file=name))
    except UnknownReferential as exc:
        return _page("coverage.html.j2", 400, **_coverage_context(state, chosen, problem=str(exc), file=name))
    stem = re.sub(r"\.[A-Za-z0-9]{1,5}$", "", name) or "programme"
    if wanted == "xlsx":
        return _download(xlsx_bytes(coverage_sheets(result)), XLSX_MEDIA, f"couverture-{stem}.xlsx")
    if wanted == "csv":
        headers, rows = coverage_table([x for x in result["competences"] if not x["covered"]]
                                       + [x for x in result["competences"] if x["covered"]])
        return _download(csv_bytes(headers, rows), "text/csv; charset=utf-8", f"couverture-{stem}.csv")
    return _page("coverage.html.j2", **_coverage_context(
        state, result["referential"], c=result, file=name, copy=base64.b64encode(raw).decode("ascii"),
        gaps=[x for x in result["competences"] if not x["covered"]]))


def _template_workbook(state: ServerState, chosen: str | None) -> bytes:
    from openpyxl.comments import Comment
    from openpyxl.worksheet.datavalidation import DataValidation

    from cqp_graph.inputs.programme import MODULE_KEYS

    blocks = state.rows("blocks", chosen)
    block_of = {b["domain"]: b["code"] for b in blocks}
    competences = sorted(state.rows("competences", chosen), key=lambda c: (c["kind"], natural_key(c["code"])))
    activities = []
    for mission in state.rows("missions", chosen):
        for a in state.rows("activities-of-mission", chosen, mission=mission["code"]):
            activities.append([a["code"], a.get("label", ""), mission["code"], mission["label"]])
    columns = ["code", "title", "hours", "competences", "activities", "activities_stand_for_mission"]
    assert set(columns) == MODULE_KEYS  # the template's header is the reader's
    help_rows = [
        ["code", "code du module (texte, obligatoire)"],
        ["title", "intitulé du module (obligatoire)"],
        ["hours", "durée en heures (nombre ≥ 0, « 3,5 » accepté)"],
        ["competences", "codes des compétences entraînées, séparés par | (voir la feuille « Compétences »)"],
        ["activities", "codes des activités entraînées, séparés par | (voir la feuille « Activités »)"],
        ["activities_stand_for_mission", "true : une activité entraînée couvre les compétences que sa mission "
                                         "exige ; false ou vide sinon"],
        ["", ""],
        ["Le programme", "une ligne par module, sous la ligne d'en-tête de la feuille « Programme » ; le titre du "
                         "programme est le nom du fichier. Déposer le fichier sur la page /coverage du site ou "
                         "le donner à « cqp-graph coverage »."],
    ]
    book = workbook({
        "Programme": (columns, []),
        "Compétences": (["code", "libellé", "nature", "domaine", "bloc"],
                        [[c["code"], c["label"], c["kind"], c["domain"], block_of.get(c["domain"])]
                         for c in competences]),
        "Activités": (["code", "libellé", "mission", "intitulé de la mission"], activities),
        "Mode d'emploi": (["colonne", "ce qu'elle contient"], help_rows),
    })
    sheet = book["Programme"]
    for column in "ABCDEF":
        sheet.column_dimensions[column].width = 28
    hours = DataValidation(type="decimal", operator="greaterThanOrEqual", formula1="0", allow_blank=True,
                           showErrorMessage=True, errorTitle="Heures", error="Un nombre d'heures, 0 ou plus.")
    flag = DataValidation(type="list", formula1='"true,false"', allow_blank=True, showErrorMessage=True,
                          errorTitle="Activités pour la mission", error="true ou false")
    sheet.add_data_validation(hours)
    sheet.add_data_validation(flag)
    hours.add("C2:C1000")
    flag.add("F2:F1000")
    sheet["D1"].comment = Comment("Codes de la feuille « Compétences », séparés par |", "cqp-graph")
    sheet["E1"].comment = Comment("Codes de la feuille « Activités », séparés par |", "cqp-graph")
    return workbook_bytes(book)


@router.get("/coverage/template.xlsx", include_in_schema=False)
async def coverage_template(request: Request):
    state = state_of(request)
    try:
        chosen = _referential(state, request.query_params.get("referential"))
        if chosen is None:
            raise FormProblem(400, "ce graphe contient plusieurs référentiels : choisir celui du modèle")
    except FormProblem as problem:
        return _page("coverage.html.j2", problem.status, **_coverage_context(
            state, None, problem=problem.message, problem_title="Le modèle de programme n'a pas pu être produit"))
    body = await run_in_threadpool(state.cached, ("coverage-template", chosen),
                                   lambda: _template_workbook(state, chosen))
    return _download(body, XLSX_MEDIA, f"modele-programme-{chosen}.xlsx")


@router.get("/coverage/referential", include_in_schema=False)
async def referential_coverage_report(request: Request):
    from cqp_graph.analyses.report import referential_report

    state = state_of(request)
    try:
        chosen = _referential(state, request.query_params.get("referential"))
    except FormProblem as problem:
        return _page("coverage_choice.html.j2", problem.status, referentials=_names(state), problem=problem.message)
    if chosen is None and len(_names(state)) > 1:
        return _page("coverage_choice.html.j2", referentials=_names(state))

    def compute():
        r = referential_report(state.built, chosen)
        return template("referential_report.html.j2").render(
            menu="coverage", offline=False, r=r, heatmap=inline_svg(r["pictures"]["heatmap.svg"]),
            network=inline_svg(r["pictures"]["network.svg"])).encode("utf-8")

    body = await run_in_threadpool(state.cached, ("coverage-referential", chosen), compute)
    return HTMLResponse(body)


# -- decisions ------------------------------------------------------------------------------------------

@dataclass
class Field:
    """One input of the decision form: where its value goes in the results (`path`) and how it reads."""

    name: str
    label: str
    path: tuple[str, ...]
    help: str = ""


@dataclass
class Group:
    title: str
    fields: list[Field] = field(default_factory=list)
    note: str = ""


def decision_form(state: ServerState, chosen: str | None, route: str) -> tuple[dict, list[Group]]:
    """(the route's rule book, the groups of fields its rules call for), read from the graph.

    A block's score is asked for when a rule judges it; an evaluator's score of a block when a rule judges it;
    the know-how results of an evaluator, for the know-how of each block's domain, when a rule judges them;
    a unit's result when a unit rule exists. UnknownRoute (a ValueError) for an unknown route."""
    from cqp_graph.analyses.decisions import RuleBook

    book = RuleBook.load(state.knowledge, route, chosen)
    scopes = {r["scope"] for r in book.rules}
    judged = [e for e in book.evaluators
              if any(r["scope"] == "block-evaluator" and r["evaluator"] == e for r in book.rules)]
    know_how_by = [e for e in book.evaluators
                   if any(r["scope"] == "know-how" and r["evaluator"] == e for r in book.rules)]
    know_how_kinds = {k["code"] for k in competence_kinds(state.knowledge) if k["know_how"]}
    method, how_computed = book.aggregation()
    groups = []
    for b, block in enumerate(book.blocks):
        group = Group(f"Bloc {block['code']} — {block['label']}")
        if "block" in scopes or judged:
            if not judged:
                hint = ""
            elif method:
                hint = f"facultatif ; sinon calculé à partir des évaluateurs ({method}) : {how_computed}"
            else:  # no computed score: without this one, the block has none
                hint = f"à remplir : il ne sera pas calculé à partir des évaluateurs, car {how_computed}"
            group.fields.append(Field(f"bloc-{b}-score", f"Résultat global du bloc {block['code']} (%)",
                                      ("blocks", block["code"], "score"), hint))
        for e, evaluator in enumerate(judged):
            group.fields.append(Field(f"bloc-{b}-eval-{e}", f"{book.evaluators[evaluator]} (%)",
                                      ("blocks", block["code"], "evaluators", evaluator)))
        for e, evaluator in enumerate(know_how_by):
            codes = sorted((c for c in book.competences.values()
                            if c["kind"] in know_how_kinds and c["domain"] == block["domain"]),
                           key=lambda c: natural_key(c["code"]))
            for c in codes:
                group.fields.append(Field(f"sf-{e}-{c['code']}", f"{c['code']} — {c['label']} (%)",
                                          ("know_how", evaluator, c["code"]),
                                          f"savoir-faire noté par le {book.evaluators[evaluator].lower()}"))
        groups.append(group)
    if "unit" in scopes:
        group = Group("Unités de compétence")
        for u, unit in enumerate(book.units):
            where = f" (bloc {unit['block']})" if unit.get("block") else ""
            group.fields.append(Field(f"uc-{u}", f"{unit['code']} — {unit['label']}{where} (%)",
                                      ("units", unit["code"])))
        groups.append(group)
    return {"route": book.route, "rules": book.rules, "evaluators": book.evaluators}, groups


def _percent(text: str, label: str) -> Decimal:
    cleaned = text.replace("\u202f", "").replace("\xa0", "").replace(" ", "").rstrip("%").replace(",", ".")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise FormProblem(400, f"« {label} » : « {text[:40]} » n'est pas un nombre (par exemple 67,5)") from None
    if not value.is_finite() or value < 0 or value > 100:
        raise FormProblem(400, f"« {label} » : un résultat est un pourcentage entre 0 et 100")
    return value


def results_from_form(form, groups: list[Group], route: str, candidate: str, state: ServerState) -> dict:
    """The results the form's fields give, shaped as a results file (only the fields filled in)."""
    data: dict = {"route": route}
    if candidate:
        data["candidate"] = candidate
    filled = 0
    for group in groups:
        for f in group.fields:
            text = _field(form, f.name, state)
            if not text:
                continue
            node = data
            for part in f.path[:-1]:
                node = node.setdefault(part, {})
            node[f.path[-1]] = _percent(text, f.label)
            filled += 1
    if not filled:
        raise FormProblem(400, "aucun résultat saisi : remplir au moins un champ")
    return data


def _routes(state: ServerState, chosen: str | None) -> list[dict]:
    return state.rows("routes", chosen)


def _decision_context(state: ServerState, chosen: str | None, route: str | None, **extra) -> dict:
    routes = _routes(state, chosen) if chosen or len(_names(state)) <= 1 else []
    codes = [r["code"] for r in routes]
    route = route if route in codes else (codes[0] if codes else None)
    book, groups = state.cached(("decision-form", chosen, route),
                                lambda: decision_form(state, chosen, route)) if route else (None, [])
    return {"referentials": _names(state), "chosen": chosen, "routes": routes, "route": route, "book": book,
            "groups": groups, "max_bytes": state.settings.input_max_bytes, **extra}


@router.get("/decisions", include_in_schema=False)
async def decisions_form(request: Request):
    state = state_of(request)
    route = request.query_params.get("route")
    try:
        chosen = _referential(state, request.query_params.get("referential"))
        context = await run_in_threadpool(_decision_context, state, chosen, route)
        if route and route != context["route"]:
            return _page("decisions.html.j2", 404, **{**context, "problem": unknown_route(route, context["routes"])})
    except FormProblem as problem:
        return _page("decisions.html.j2", problem.status,
                     **_decision_context(state, None, None, problem=problem.message))
    return _page("decisions.html.j2", **context)


@router.post("/decisions", include_in_schema=False)
async def decisions_post(request: Request):
    from cqp_graph.analyses.decisions import decide_data

    state = state_of(request)
    chosen, route, values, name, sent = None, None, {}, None, None
    try:
        form = await _read_form(request, state)
        chosen = _referential(state, _field(form, "referential", state) or None)
        route = _field(form, "route", state) or None
        sent = await _uploaded(form, state, "resultats.yaml")
        if sent is not None:  # the file may name its referential itself
            name, raw = sent
            kind = binary_kind(raw)
            if kind is not None and kind[0] in (".xlsx", ".xls"):
                raise InputError(name, [(None, f"fichier {kind[0]} ({kind[1]}) : un classeur Excel n'est pas "
                                               f"accepté ici ; {RESULTS_FILES}")])
            data = decode_text(raw, name, RESULTS_FILES)
        else:
            if chosen is None and len(_names(state)) > 1:
                raise FormProblem(400, "ce graphe contient plusieurs référentiels : choisir celui des résultats")
            context = _decision_context(state, chosen, route)
            if not route:
                known = ", ".join(r["code"] for r in context["routes"])
                raise FormProblem(400, f"voie manquante : choisir l'une des voies ({known})")
            if route != context["route"]:  # as GET /decisions?route= answers an unknown route: 404
                raise FormProblem(404, unknown_route(route, context["routes"]))
            values = {f.name: _field(form, f.name, state) for g in context["groups"] for f in g.fields}
            values["candidate"] = _field(form, "candidate", state)
            data = results_from_form(form, context["groups"], route, values["candidate"], state)
        source = name or "formulaire"

        def work():
            return decide_data(data, state.settings, state.knowledge, chosen, source=source)

        decision = await _run(request, work)
    except FormProblem as problem:
        return _decision_error(state, chosen, route, problem.status, problem.headers, values,
                               problem=problem.message, file=name)
    except InputError as exc:
        status = 413 if "CQP_GRAPH_INPUT_MAX_BYTES" in str(exc) else 400
        return _decision_error(state, chosen, route, status, None, values, errors=exc.as_dict(), file=name)
    except UnknownReferential as exc:
        return _decision_error(state, chosen, route, 400, None, values, problem=str(exc), file=name)
    except ValueError as exc:  # an unknown route in an uploaded file
        problem = f"« {name or 'formulaire'} » : {_route_problem(state, chosen, exc)}"
        return _decision_error(state, chosen, route, 400, None, values, problem=problem, file=name)
    context = _decision_context(state, decision.get("referential") or chosen, decision["route"]["code"],
                                values=values, decision=decision, file=name)
    if sent is not None:  # the form shows the file's results, to change one and decide again
        context["values"] = {"candidate": decision.get("candidate") or "",
                             **_values_from_decision(decision, context["groups"])}
    return _page("decisions.html.j2", **context)


def _values_from_decision(decision: dict, groups: list[Group]) -> dict[str, str]:
    """The form's values for the results a decision compared (block scores given, each evaluator's and each
    know-how score a rule judged, the units), written the French way."""
    found: dict[tuple, object] = {}
    for block in decision["blocks"]:
        if block["score"] is not None and block["score_source"] == "résultat fourni":
            found[("blocks", block["code"], "score")] = block["score"]
        for check in block["checks"]:
            if check["value"] is None:
                continue
            if check["scope"] == "block-evaluator":
                found[("blocks", block["code"], "evaluators", check["evaluator"])] = check["value"]
            elif check["scope"] == "know-how":
                found[("know_how", check["evaluator"], check["subject"])] = check["value"]
    for check in decision["certification_checks"]:
        if check["value"] is not None and check["scope"] == "block-evaluator":
            found[("blocks", check["subject"], "evaluators", check["evaluator"])] = check["value"]
        elif check["value"] is not None and check["scope"] == "know-how":
            found[("know_how", check["evaluator"], check["subject"])] = check["value"]
    for unit in decision["units"]:
        found[("units", unit["code"])] = unit["score"]
    def typed(value) -> str:  # as a person types it: 67,5 — every decimal kept
        return format(Decimal(str(value)).normalize(), "f").replace(".", ",")
    return {f.name: typed(found[f.path]) for g in groups for f in g.fields if f.path in found}


def unknown_route(route: str, routes: list[dict]) -> str:
    """« voie « VAE » inconnue ; vouliez-vous dire vae ? (voies : formation, blocs, vae) ». A route differing
    only by case is not taken for the right one: route codes are codes, as everywhere else in the graph."""
    codes = [r["code"] for r in routes]
    hint = did_you_mean(route, codes)
    return f"voie « {route[:80]} » inconnue{' ; ' + hint if hint else ''} (voies : {', '.join(codes)})"


def _route_problem(state: ServerState, chosen: str | None, exc: ValueError) -> str:
    from cqp_graph.analyses.decisions import UnknownRoute

    return unknown_route(exc.route, _routes(state, chosen)) if isinstance(exc, UnknownRoute) else str(exc)


def _decision_error(state, chosen, route, status, headers, values, **extra) -> HTMLResponse:
    try:
        context = _decision_context(state, chosen, route, values=values, **extra)
    except (FormProblem, UnknownReferential, ValueError):
        context = _decision_context(state, None, None, values=values, **extra)
    return _page("decisions.html.j2", status, headers, **context)
