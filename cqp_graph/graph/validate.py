"""Validate a graph with the SHACL shapes and read the report as findings a person can act on.

A finding says, in French, what is wrong (the shape's own `sh:message@fr`; for a shape without one, a French
sentence built from the constraint that failed, never pyshacl's English), how serious it is (the French label
the shapes give `sh:Violation`, `sh:Warning`, `sh:Info`: « Violation », « Avertissement », « Information »),
and, once `locate` has run, the CSV file and line of data/ that made the resource (`file`, `line`).

Lives here: running pyshacl, reading its report, the French wording, locating findings in the data files,
choosing findings by severity. Not here: which shapes apply (`cqp_graph.graph.assemble.load_shapes`), the
CSV → RDF mapping that records each triple's row (`cqp_graph.source.referential`), printing (`cqp_graph.cli`,
`cqp_graph.web.findings_routes`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from pyshacl import validate as shacl_validate
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import RDF, RDFS, SH

SEVERITY_ORDER = {"Violation": 0, "Warning": 1, "Info": 2}


@dataclass(frozen=True)
class Finding:
    severity: str  # Violation | Warning | Info (machine key, stable)
    focus: str
    path: str | None
    message: str
    shape: str
    shape_label: str | None
    value: str | None
    severity_label: str | None = None  # « Violation », « Avertissement », « Information » (from the shapes)
    file: str | None = None  # the data file, relative to the data folder (agc-alimentaire/missions.csv)
    line: int | None = None  # its line (1 is the header row)

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in ("severity", "severity_label", "focus", "path", "message", "shape",
                                              "shape_label", "value", "file", "line")}

    @property
    def label(self) -> str:
        """The severity as a person reads it."""
        return self.severity_label or self.severity

    @property
    def where(self) -> str:
        """« agc-alimentaire/missions.csv:4 », « agc-alimentaire/missions.csv », or empty when unknown."""
        if not self.file:
            return ""
        return f"{self.file}:{self.line}" if self.line else self.file


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

    def of_severity(self, severity: str | None) -> list[Finding]:
        """The findings of one severity (a machine key: Violation, Warning, Info); all of them for None."""
        return list(self.findings) if severity is None else [f for f in self.findings if f.severity == severity]


def severity_key(text: str, labels: dict[str, str] | None = None) -> str | None:
    """The machine key (Violation, Warning, Info) a person's word names: the key itself or `sh:Warning`, in any
    case, or its French label (« avertissement », « information »); None for anything else."""
    wanted = text.strip().casefold().removeprefix("sh:")
    for key in SEVERITY_ORDER:
        names = {key.casefold(), (labels or {}).get(key, key).casefold()}
        if wanted in names:
            return key
    return None


def severity_labels(shapes: Graph) -> dict[str, str]:
    """The French labels the shapes give the three severities (their `rdfs:label@fr`), by machine key."""
    return {key: _pick(shapes.objects(SH[key], RDFS.label), "fr") or key for key in SEVERITY_ORDER}


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


def _path_text(report: Graph, data: Graph, path) -> str | None:
    """A property path as text: `cqp:code`, `^cqp:hasActivity` (an inverse path), `a/b` (a sequence)."""
    if path is None or not isinstance(path, BNode):
        return _short(data, path)
    inverse = report.value(path, SH.inversePath)
    if inverse is not None:
        return "^" + (_path_text(report, data, inverse) or "")
    if report.value(path, RDF.first) is not None:
        return "/".join(_path_text(report, data, step) or "" for step in Collection(report, path))
    return None


def _label(data: Graph, term, lang: str = "fr") -> str:
    """What a person calls a term: its French label in the graph (the ontology is in it), else its short name."""
    if term is None:
        return ""
    if isinstance(term, Literal):
        return f"« {term} »"
    label = _pick([o for o in data.objects(term, RDFS.label) if isinstance(o, Literal) and o.language == lang],
                  lang)
    return label or _short(data, term) or str(term)


def french_message(component, shape, value, path_text: str | None, shapes: Graph, data: Graph) -> str:
    """A French sentence for a failed constraint whose shape has no `sh:message@fr`: what the property (by its
    French label) should be, and the value that is not."""
    name = str(component).rsplit("#", 1)[-1].removesuffix("ConstraintComponent")
    path = shapes.value(shape, SH.path)
    prop = _label(data, path) if isinstance(path, URIRef) else (path_text or "la ressource")
    got = f" (valeur : {_label(data, value)})" if value is not None else ""

    def param(p):
        return shapes.value(shape, p)

    if name == "MinCount":
        return f"« {prop} » : au moins {param(SH.minCount)} valeur(s) attendue(s)."
    if name == "MaxCount":
        return f"« {prop} » : au plus {param(SH.maxCount)} valeur(s) admise(s){got}."
    if name == "Class":
        return f"« {prop} » doit désigner un(e) « {_label(data, param(SH['class']))} » décrit(e) dans les données{got}."
    if name == "Datatype":
        return f"« {prop} » doit être du type {_short(data, param(SH.datatype))}{got}."
    if name == "In":
        allowed = ", ".join(_label(data, v) for v in Collection(shapes, param(SH['in'])))
        return f"« {prop} » doit valoir l'une de : {allowed}{got}."
    if name == "NodeKind":
        return f"« {prop} » doit être une IRI (une ressource), pas un texte{got}."
    if name == "Pattern":
        return f"« {prop} » ne suit pas la forme attendue ({param(SH.pattern)}){got}."
    if name in ("MinInclusive", "MinExclusive", "MaxInclusive", "MaxExclusive"):
        bound = param(SH[name[0].lower() + name[1:]])
        word = {"MinInclusive": "au moins", "MinExclusive": "plus de", "MaxInclusive": "au plus",
                "MaxExclusive": "moins de"}[name]
        return f"« {prop} » doit valoir {word} {bound}{got}."
    if name == "LanguageIn":
        langs = ", ".join(str(v) for v in Collection(shapes, param(SH.languageIn)))
        return f"« {prop} » doit être écrit en : {langs}{got}."
    if name == "HasValue":
        return f"« {prop} » doit avoir la valeur {_label(data, param(SH.hasValue))}."
    return f"« {prop} » ne respecte pas la contrainte {name}{got}."


def _own_message(report: Graph, result, shapes: Graph, shape, lang: str) -> str | None:
    """The shape's own message in `lang` as pyshacl reported it. A SPARQL constraint's message comes back with
    its {?var} filled in and its language tag dropped: an untagged result message counts when the constraint
    has a message in `lang`, and is not the filled-in form of one of its messages in another language."""
    messages = list(report.objects(result, SH.resultMessage))
    tagged = [m for m in messages if isinstance(m, Literal) and m.language == lang]
    if tagged:
        return str(tagged[0])
    constraint = report.value(result, SH.sourceConstraint)
    templates = [m for node in (constraint, shape) if node is not None for m in shapes.objects(node, SH.message)
                 if isinstance(m, Literal)]
    if not any(t.language == lang for t in templates):
        return None
    others = [str(t).split("{", 1)[0] for t in templates if t.language != lang]
    for m in messages:
        if isinstance(m, Literal) and m.language is None and not any(o and str(m).startswith(o) for o in others):
            return str(m)
    return None


def validate_graph(data: Graph, shapes: Graph, lang: str = "fr") -> ValidationReport:
    """Run pyshacl (no inference: the data graph carries the ontology it needs)."""
    _conforms, report_graph, _text = shacl_validate(
        data, shacl_graph=shapes, inference="none", advanced=True, allow_warnings=True, abort_on_first=False,
    )
    labels = severity_labels(shapes)
    findings: list[Finding] = []
    for result in report_graph.subjects(RDF.type, SH.ValidationResult):
        severity = str(report_graph.value(result, SH.resultSeverity)).rsplit("#", 1)[-1]
        shape = report_graph.value(result, SH.sourceShape)
        # a property shape is a blank node: name the node shape it belongs to
        owner = shape
        parent = shapes.value(predicate=SH.property, object=shape) or shapes.value(predicate=SH.sparql, object=shape)
        if parent is not None:
            owner = parent
        value = report_graph.value(result, SH.value)
        path_text = _path_text(report_graph, data, report_graph.value(result, SH.resultPath))
        message = _own_message(report_graph, result, shapes, shape, lang) or french_message(
            report_graph.value(result, SH.sourceConstraintComponent), shape, value, path_text, shapes, data)
        findings.append(Finding(
            severity=severity,
            focus=str(report_graph.value(result, SH.focusNode)),
            path=path_text,
            message=message,
            shape=str(owner),
            shape_label=_pick(shapes.objects(owner, RDFS.label), lang) or None,
            value=_short(data, value),
            severity_label=labels.get(severity, severity),
        ))
    findings.sort(key=lambda f: (SEVERITY_ORDER.get(f.severity, 9), f.shape, f.focus, f.message, f.path or "",
                                 f.value or ""))
    return ValidationReport(findings)


# -- where a finding comes from ---------------------------------------------------------------------------------

def data_origins(settings) -> tuple[dict, dict]:
    """The CSV row of every triple and of every subject the data folders make, as (file relative to the data
    folder, line): what `ReferentialGraph` records while it builds (it is built again here, without validation:
    a fraction of a second per referential)."""
    from cqp_graph.graph.assemble import load_ontology, referential_folders
    from cqp_graph.source.referential import ReferentialGraph

    ontology = load_ontology(settings)
    triples, subjects = {}, {}
    root = Path(settings.data_dir)
    for folder in referential_folders(settings):
        builder = ReferentialGraph(folder, settings.base, ontology)
        builder.build()

        def where(origin):
            path, line = origin
            try:
                return str(Path(path).relative_to(root)), line
            except ValueError:
                return str(path), line

        for triple, origin in builder.origins.items():
            triples.setdefault(tuple(str(t) for t in triple), where(origin))
        for subject, origin in builder.subject_origins.items():
            subjects.setdefault(str(subject), where(origin))
    return triples, subjects


def locate(report: ValidationReport, settings, origins: tuple[dict, dict] | None = None) -> ValidationReport:
    """The same findings, each with the data file and line it comes from: the row that wrote the triple the
    finding is about (focus, path, value), or the reverse triple for an inverse path, else the row that first
    described the focus node. A finding of a resource no data row made (the ontology's) keeps no location."""
    triples, subjects = origins if origins is not None else data_origins(settings)
    by_ends: dict[tuple[str, str], tuple[str, int]] = {}
    for (s, _p, o), origin in triples.items():
        by_ends.setdefault((s, o), origin)
    located = []
    for f in report.findings:
        value = _full(f.value, settings)
        origin = None
        if value is not None:
            origin = by_ends.get((f.focus, value)) or by_ends.get((value, f.focus))
        origin = origin or subjects.get(f.focus)
        located.append(replace(f, file=origin[0], line=origin[1]) if origin else f)
    # in the order a person edits: by severity, then file and line
    located.sort(key=lambda f: (SEVERITY_ORDER.get(f.severity, 9), f.file is None, f.file or "", f.line or 0,
                                f.message, f.shape, f.focus, f.path or "", f.value or ""))
    return ValidationReport(located)


def _full(value: str | None, settings) -> str | None:
    """A finding's value back to a full IRI when it was shortened with a prefix of the graph."""
    if value is None or "://" in value:
        return value
    from cqp_graph.namespaces import prefixes

    prefix, sep, local = value.partition(":")
    known = prefixes(settings.base)
    return known[prefix] + local if sep and prefix in known else value
