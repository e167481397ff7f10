"""The findings page (Constats): /findings?severity=avertissement, for the people who edit data/*.csv.

Each SHACL finding of the served graph in French: its severity (« Violation », « Avertissement »,
« Information »), the CSV file and line of data/ to edit, the message, and a link to the resource's page.
`?referential=NAME` keeps the findings about that referential's resources (an unknown name is a 404);
`?severity=` keeps one severity (violation, avertissement, information, or warning, info — as
`cqp-graph validate --severity`); an unknown value is a 400 naming the accepted ones. `?format=csv` or
`?format=json` downloads the same list (the JSON keys are those of validation.json).

The findings are those the pipeline recorded with the graph (`state.built.report`); when they do not name
their file and line (a dump built before `build` recorded them), they are located once from the data folder
(`cqp_graph.graph.validate.locate`), and a finding whose resource no data row made keeps none.

Lives here: the /findings route and its model. Not here: validation and locating (`cqp_graph.graph.validate`),
the template (`present/templates/findings.html.j2`), the CSV writer (`cqp_graph.present.spreadsheet`).
"""

from __future__ import annotations

import json
import logging
import threading
import weakref

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from cqp_graph.graph.validate import SEVERITY_ORDER, ValidationReport, locate, severity_key, severity_labels
from cqp_graph.present.render import template
from cqp_graph.present.spreadsheet import csv_bytes
from cqp_graph.query.knowledge import UnknownReferential
from cqp_graph.source.tables import DataError
from cqp_graph.web.linked_data import Links
from cqp_graph.web.state import ServerState

log = logging.getLogger("cqp_graph.web")

router = APIRouter(include_in_schema=False)

#: the CSV columns of ?format=csv (the machine keys of validation.json)
CSV_COLUMNS = ["severity", "severity_label", "file", "line", "message", "focus", "path", "value", "shape",
               "shape_label"]

_located: dict[int, tuple[ValidationReport, dict[str, str]]] = {}
_lock = threading.Lock()


def located_findings(state: ServerState) -> tuple[ValidationReport, dict[str, str]]:
    """The served graph's findings, each with its data file and line, and the severities' French labels
    (computed once per loaded graph, forgotten with it: a server that moves to a new version of the store, or
    another application of the same process, never gets an earlier graph's findings)."""
    built = state.built
    key = id(built)
    with _lock:
        if key in _located:
            return _located[key]
    report = state.built.report
    if any(f.file is None for f in report.findings) and state.settings.data_dir.is_dir():
        try:
            report = locate(report, state.settings)
        except (DataError, OSError) as exc:  # the data folder is not the served graph's: say where it is not
            log.info("findings not located in %s: %s", state.settings.data_dir, exc)
    from cqp_graph.graph.assemble import load_shapes

    labels = severity_labels(load_shapes(state.settings, quality=False))
    with _lock:
        if key not in _located:
            weakref.finalize(built, _forget, key)
        _located[key] = (report, labels)
    return report, labels


def _forget(key: int) -> None:
    with _lock:
        _located.pop(key, None)


def _refusal(fmt: str, status: int, message: str, state: ServerState) -> Response:
    """A refused request, in the form asked for: JSON for `format=json` or `csv`, else the page with the message."""
    if fmt in ("json", "csv"):
        return Response(json.dumps({"detail": message}, ensure_ascii=False), status_code=status,
                        media_type="application/json")
    page = {"rows": [], "counts": [], "total": 0, "wanted": None, "wanted_label": None, "error": message,
            "param": "", "folder": state.settings.data_dir.name}
    return HTMLResponse(template("findings.html.j2").render(p=page, href=Links(state).href, short=Links(state).short),
                        status_code=status)


@router.get("/findings")
async def findings_page(request: Request):
    state: ServerState = request.app.state.cqp
    raw = request.query_params.get("severity") or None
    fmt = request.query_params.get("format") or "html"
    referential = request.query_params.get("referential") or None
    if fmt not in ("html", "csv", "json"):
        return _refusal("json", 400, f"paramètre « format » : « {fmt[:40]} » inconnu (valeurs : html, csv, json)",
                        state)
    if referential is not None:
        try:
            state.referential(referential[:200])
        except UnknownReferential as exc:  # 404 in French, naming the known ones, in the form asked for
            return _refusal(fmt, 404, str(exc), state)
    report, labels = located_findings(state)
    wanted = None if raw is None else severity_key(raw[:40], labels)
    error = None
    if raw is not None and wanted is None:
        error = (f"gravité « {raw[:40]} » inconnue : choisissez violation, avertissement ou information "
                 "(ou warning, info)")
        if fmt != "html":
            return _refusal(fmt, 400, error, state)
    shown = [] if error else report.of_severity(wanted)
    if referential is not None:  # the findings about that referential's resources
        shown = [f for f in shown if f.focus and state.referential_of(str(f.focus)) == referential]
    rows = [{**f.as_dict(), "severity_label": f.severity_label or labels.get(f.severity, f.severity)}
            for f in shown]
    if fmt == "json" and not error:
        return Response(json.dumps(rows, ensure_ascii=False, indent=1), media_type="application/json")
    if fmt == "csv" and not error:
        body = csv_bytes(CSV_COLUMNS, [[r[c] for c in CSV_COLUMNS] for r in rows])
        return Response(body, media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="constats.csv"'})
    links = Links(state)
    counts = [{"key": key, "label": labels.get(key, key), "count": report.count(key),
               "param": labels.get(key, key).casefold()} for key in SEVERITY_ORDER]
    page = {"rows": rows, "counts": counts, "total": len(report.findings), "wanted": wanted,
            "wanted_label": labels.get(wanted, wanted) if wanted else None, "error": error,
            "param": labels.get(wanted, "").casefold() if wanted else "", "folder": state.settings.data_dir.name,
            "referential": referential}
    html = template("findings.html.j2").render(p=page, href=links.href, short=links.short)
    return HTMLResponse(html, status_code=400 if error else 200)
