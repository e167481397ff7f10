"""Validate a graph with the SHACL shapes and read the report as findings."""

from __future__ import annotations

from dataclasses import dataclass

from pyshacl import validate as shacl_validate
from rdflib import Graph, Literal
from rdflib.namespace import RDF, RDFS, SH

SEVERITY_ORDER = {"Violation": 0, "Warning": 1, "Info": 2}


@dataclass(frozen=True)
class Finding:
    severity: str  # Violation | Warning | Info
    focus: str
    path: str | None
    message: str
    shape: str
    shape_label: str | None
    value: str | None

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in ("severity", "focus", "path", "message", "shape", "shape_label", "value")}


@dataclass
class ValidationReport:
    findings: list[Finding]

    @property
    def violations(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "Violation"]

    @property
    def conforms(self) -> bool:
        """True when nothing is at sh:Violation (warnings and infos are findings, not failures)."""
        return not self.violations

    def count(self, severity: str) -> int:
        return sum(1 for f in self.findings if f.severity == severity)

    def by_shape(self, local_name: str) -> list[Finding]:
        return [f for f in self.findings if f.shape.endswith(local_name)]


def _pick(literals, lang: str) -> str:
    literals = list(literals)
    for lit in literals:
        if isinstance(lit, Literal) and lit.language == lang:
            return str(lit)
    for lit in literals:
        if isinstance(lit, Literal) and lit.language in (None, "en"):
            return str(lit)
    return str(literals[0]) if literals else ""


def _short(graph: Graph, term) -> str | None:
    if term is None:
        return None
    if isinstance(term, Literal):
        return str(term)
    try:
        short = graph.namespace_manager.normalizeUri(term)
    except Exception:
        return str(term)
    return str(term) if short.startswith("<") else short


def validate_graph(data: Graph, shapes: Graph, lang: str = "fr") -> ValidationReport:
    """Run pyshacl (no inference: the data graph carries the ontology it needs)."""
    _conforms, report_graph, _text = shacl_validate(
        data, shacl_graph=shapes, inference="none", advanced=True, allow_warnings=True, abort_on_first=False,
    )
    findings: list[Finding] = []
    for result in report_graph.subjects(RDF.type, SH.ValidationResult):
        severity = str(report_graph.value(result, SH.resultSeverity)).rsplit("#", 1)[-1]
        shape = report_graph.value(result, SH.sourceShape)
        # a property shape is a blank node: name the node shape it belongs to
        owner = shape
        parent = shapes.value(predicate=SH.property, object=shape) or shapes.value(predicate=SH.sparql, object=shape)
        if parent is not None:
            owner = parent
        messages = list(report_graph.objects(result, SH.resultMessage))
        findings.append(Finding(
            severity=severity,
            focus=str(report_graph.value(result, SH.focusNode)),
            path=_short(data, report_graph.value(result, SH.resultPath)),
            message=_pick(messages, lang),
            shape=str(owner),
            shape_label=_pick(shapes.objects(owner, RDFS.label), lang) or None,
            value=_short(data, report_graph.value(result, SH.value)),
        ))
    findings.sort(key=lambda f: (SEVERITY_ORDER.get(f.severity, 9), f.shape, f.focus, f.message))
    return ValidationReport(findings)
