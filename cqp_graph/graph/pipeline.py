"""The one pipeline: load → build → validate → store.

`build`, `serve`, `release`, `report` and every command that reads the graph call `run_pipeline`; nothing
serves or publishes a graph that has not been validated here (a violation raises `InvalidGraph`, unless the
caller explicitly asks for `require_valid=False`, as `build --force` does, and then the findings travel with
the graph).

Lives here: the order of the stages and what each hands to the next. Not here: the stages themselves
(`cqp_graph.graph.assemble`, `cqp_graph.graph.validate`, `cqp_graph.query.knowledge`), writing files
(`cqp_graph.publish`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from rdflib import Graph

from cqp_graph.config import Settings
from cqp_graph.graph.assemble import build_graph, load_shapes
from cqp_graph.graph.validate import ValidationReport, validate_graph
from cqp_graph.query.knowledge import Knowledge
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

    @property
    def valid(self) -> bool:
        return self.report.conforms

    def findings_json(self) -> bytes:
        """The findings as `build` publishes them (dist/validation.json)."""
        return json.dumps([f.as_dict() for f in self.report.findings], ensure_ascii=False, indent=1).encode("utf-8")


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
