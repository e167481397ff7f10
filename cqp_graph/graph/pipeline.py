"""The one pipeline: load → build → validate → store.

`build`, `serve`, `release`, `report` and every command that reads the graph call `run_pipeline`; nothing
serves or publishes a graph that has not been validated here (a violation raises `InvalidGraph`, unless the
caller explicitly asks for `require_valid=False`, as `build --force` does, and then the findings travel with
the graph).

With a store set (`CQP_GRAPH_STORE`: a folder or a SPARQL endpoint), `cqp-graph load` runs the pipeline once
and publishes its graph there (`cqp_graph.publish.store_load`); then `open_configured` (every command, `serve`)
opens what was published, read-only, with the findings recorded at load time, instead of building again.

Lives here: the order of the stages and what each hands to the next. Not here: the stages themselves
(`cqp_graph.graph.assemble`, `cqp_graph.graph.validate`, `cqp_graph.query.knowledge`), writing files
(`cqp_graph.publish`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import pyoxigraph as ox
from rdflib import Graph

from cqp_graph.config import Settings
from cqp_graph.graph.assemble import build_graph, load_shapes
from cqp_graph.graph.validate import ValidationReport, locate, validate_graph
from cqp_graph.graph.validate import Finding
from cqp_graph.query.knowledge import Knowledge
from cqp_graph.query.store import FOLDER, MEMORY, REMOTE, store_kind
from cqp_graph.source.tables import DataError

Progress = Callable[[str], None]


class InvalidGraph(DataError):
    """The built graph has SHACL violations: it is neither served nor published."""

    def __init__(self, settings: Settings, report: ValidationReport):
        self.report = report
        first = report.violations[0]
        super().__init__(settings.data_dir, None,
                         f"le graphe construit a {len(report.violations)} violation(s) SHACL (la première : "
                         f"{first.focus} — {first.message}) : il n'est ni servi ni publié ; voir `cqp-graph validate`")


@dataclass
class BuiltGraph:
    """What the pipeline hands over: the graph, its validation report and the knowledge layer over it."""

    settings: Settings
    graph: Graph
    report: ValidationReport
    knowledge: Knowledge
    #: where a published graph was opened from: an on-disk store's version folder, a remote store's load id
    origin: str | None = None

    @property
    def valid(self) -> bool:
        return self.report.conforms

    def findings_json(self) -> bytes:
        """The findings as `build` publishes them (dist/validation.json)."""
        return json.dumps([f.as_dict() for f in self.report.findings], ensure_ascii=False, indent=1).encode("utf-8")


def located(built: BuiltGraph) -> BuiltGraph:
    """`built` with each finding's data file and line (`cqp_graph.graph.validate.locate`), as `build` writes them
    into validation.json: for a graph built from the data folder just now (`serve` building its dump, `load`),
    so that the findings a server or a store keeps name the CSV row to edit. A data folder that cannot be read
    again leaves the findings as they were."""
    try:
        return replace(built, report=locate(built.report, built.settings))
    except (DataError, OSError):
        return built


def run_pipeline(settings: Settings, progress: Progress | None = None, require_valid: bool = True,
                 quality: bool = True) -> BuiltGraph:
    """Read data/, build the graph, validate it with the shapes, and load it into a store."""
    say = progress or (lambda _message: None)
    graph = build_graph(settings, progress=lambda message: say(f"construction : {message}"))
    say(f"validation SHACL de {len(graph)} triplets")
    report = validate_graph(graph, load_shapes(settings, quality=quality))
    if require_valid and report.violations:
        raise InvalidGraph(settings, report)
    say("chargement dans le magasin SPARQL")
    return BuiltGraph(settings, graph, report, Knowledge.from_graph(graph, settings))


def open_dump(settings: Settings, path: Path, require_valid: bool = True, quality: bool = True) -> BuiltGraph:
    """A graph already built and published (an N-Triples or Turtle dump), re-validated before it is used."""
    graph = Graph()
    try:
        graph.parse(path)
    except Exception as exc:  # rdflib raises several parser error types
        raise DataError(Path(path), getattr(exc, "lineno", None), f"le graphe n'a pas pu être lu ({exc})") from None
    report = validate_graph(graph, load_shapes(settings, quality=quality))
    if require_valid and report.violations:
        raise InvalidGraph(settings, report)
    return BuiltGraph(settings, graph, report, Knowledge.from_file(Path(path), settings))


# -- a store loaded once (`cqp-graph load`), opened by every reader ------------------------------------------------

def report_from_json(raw: bytes | str, where: Path) -> ValidationReport:
    """The findings `build` or `load` recorded (JSON); DataError (French) when unreadable or holding a violation."""
    try:
        findings = [Finding(**{k: f.get(k) for k in Finding.__dataclass_fields__}) for f in json.loads(raw)]
    except (ValueError, TypeError, AttributeError) as exc:
        raise DataError(where, None, f"constats illisibles ({exc}) ; relancez `cqp-graph load`") from None
    report = ValidationReport(findings)
    if report.violations:
        raise DataError(where, None, f"le graphe publié a {len(report.violations)} violation(s) SHACL : il n'est pas lu")
    return report


def _graph_of(data: bytes, where: Path) -> Graph:
    graph = Graph()
    try:
        graph.parse(data=data, format="nt")
    except Exception as exc:  # rdflib raises several parser error types
        raise DataError(where, getattr(exc, "lineno", None), f"le graphe n'a pas pu être lu ({exc})") from None
    return graph


def open_published(settings: Settings) -> BuiltGraph:
    """The graph `cqp-graph load` published into the configured store, opened read-only (DataError, French,
    when nothing was loaded there, or under another base)."""
    from cqp_graph.query import folder_store, remote_store

    kind = store_kind(settings.store)
    if kind == FOLDER:
        root = Path(settings.store)
        try:
            version = folder_store.current(root)
        except folder_store.StoreFolderError as exc:
            raise DataError(root, None, str(exc)) from None
        if version.meta.get("base") != settings.base:
            raise DataError(root, None, f"le magasin a été chargé sous la base {version.meta.get('base')} et non "
                            f"{settings.base} : relancez `cqp-graph load`")
        nt = version.graph_file.read_bytes()
        report = report_from_json(version.findings_file.read_bytes(), version.findings_file)
        knowledge = Knowledge.over(version.open(), settings, snapshot=version.graph_file.read_bytes)
        return BuiltGraph(settings, _graph_of(nt, version.graph_file), report, knowledge, str(version.folder))
    if kind == REMOTE:
        where = settings.store  # a URL: a Path would fold its "//"
        try:
            store = remote_store.RemoteStore.from_settings(settings)
            if store.publication.build is None:
                raise DataError(where, None, f"le magasin {settings.store} ne contient aucun graphe publié par "
                                f"cqp-graph sous la base {settings.base} : lancez d'abord `cqp-graph load`")
            nt = store.get_graph(store.publication.build) if store.gsp else None
            if nt is None:
                nt = store.answer("CONSTRUCT WHERE { ?s ?p ?o }",
                                  default_graph=[ox.NamedNode(store.publication.build)]).body
        except remote_store.StoreError as exc:
            raise DataError(where, None, str(exc)) from None
        report = report_from_json(store.publication.findings, where)
        knowledge = Knowledge.over(store, settings, snapshot=lambda: nt)
        return BuiltGraph(settings, _graph_of(nt, where), report, knowledge, store.publication.load_id)
    raise ValueError(f"no published store for CQP_GRAPH_STORE={settings.store!r}")


def open_configured(settings: Settings, progress: Progress | None = None, require_valid: bool = True,
                    quality: bool = True) -> BuiltGraph:
    """The graph of the configured store: built now (`memory`), or opened as `cqp-graph load` published it."""
    if store_kind(settings.store) == MEMORY:
        return run_pipeline(settings, progress=progress, require_valid=require_valid, quality=quality)
    return open_published(settings)
