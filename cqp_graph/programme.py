"""A training programme: read from YAML or CSV, turned into RDF, checked by its SHACL shape.

YAML:

    title: Parcours AGC
    referential: agc-alimentaire        # optional when data/ holds one referential
    modules:
      - code: MOD01
        title: Relation client au téléphone
        hours: 21
        competences: [RC2, RC4, RSF2]
        activities: [M2A2]
        activities_stand_for_mission: false   # optional, default false

CSV: columns code, title, hours, competences, activities, activities_stand_for_mission
(lists separated by |); the programme's title is the file's name.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, XSD

from .inputs import InputError, LineDict, Located, check_with_shapes, load_yaml, number_literal, read_csv_records
from .namespaces import Minter, ontology_ns

MODULE_KEYS = {"code", "title", "hours", "competences", "activities", "activities_stand_for_mission"}
PROGRAMME_KEYS = {"title", "referential", "modules"}


def _as_list(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in re.split(r"[|,]", value) if v.strip()]
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    return [str(value)]


def _as_bool(value, path, line) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "yes", "oui", "1"):
        return True
    if text in ("false", "no", "non", "0", ""):
        return False
    raise InputError(path, [(line, f"activities_stand_for_mission: {value!r} is not true or false")])


def parse_programme(text: str, path: str | Path, fmt: str | None = None) -> tuple[dict, list[LineDict]]:
    """The programme's header and its modules, each a LineDict carrying its line."""
    fmt = fmt or ("csv" if str(path).lower().endswith(".csv") else "yaml")
    if fmt == "csv":
        header = {"title": Path(str(path)).stem}
        modules = read_csv_records(text, path)
        for m in modules:
            unknown = set(m) - MODULE_KEYS
            if unknown:
                raise InputError(path, [(1, f"unknown column(s): {', '.join(sorted(unknown))} "
                                            f"(expected: {', '.join(sorted(MODULE_KEYS))})")])
        return header, modules
    data = load_yaml(text, path)
    if not isinstance(data, dict):
        raise InputError(path, [(1, "a programme is a mapping with 'title' and 'modules'")])
    unknown = set(data) - PROGRAMME_KEYS
    if unknown:
        key = sorted(unknown)[0]
        raise InputError(path, [(data.line_of(key), f"unknown key '{key}' (expected: {', '.join(sorted(PROGRAMME_KEYS))})")])
    modules = data.get("modules")
    if not isinstance(modules, list):
        raise InputError(path, [(data.line_of("modules"), "'modules' must be a list of modules")])
    problems = []
    for i, module in enumerate(modules):
        if not isinstance(module, dict):
            problems.append((data.line_of("modules"), f"module #{i + 1} is not a mapping"))
            continue
        for key in sorted(set(module) - MODULE_KEYS):
            problems.append((module.line_of(key), f"module {module.get('code', '#' + str(i + 1))}: unknown key "
                                                  f"'{key}' (expected: {', '.join(sorted(MODULE_KEYS))})"))
    if problems:
        raise InputError(path, problems)
    return {k: v for k, v in data.items() if k != "modules"}, modules


def programme_graph(header: dict, modules: list[LineDict], path, base: str, referential: str) -> tuple[Graph, URIRef, dict]:
    cqp = ontology_ns(base)
    iri = Minter(base, referential)
    digest = hashlib.sha256(str(path).encode("utf-8")).hexdigest()[:8]
    programme = URIRef(f"{base}programme/{Path(str(path)).stem}-{digest}")
    graph = Graph()
    graph.add((programme, RDF.type, cqp.TrainingProgramme))
    if header.get("title"):
        graph.add((programme, DCTERMS.title, Literal(str(header["title"]), lang="fr")))
    graph.add((programme, cqp.forCertification, iri("certification")))
    where: dict[URIRef, Located] = {programme: Located(1, "programme")}
    for index, module in enumerate(modules):
        code = str(module.get("code") or f"#{index + 1}")
        node = URIRef(f"{programme}/module/{index + 1}")
        where[node] = Located(module.line, f"module {code}")
        graph.add((programme, cqp.hasModule, node))
        graph.add((node, RDF.type, cqp.TrainingModule))
        graph.add((node, cqp.sourceLine, Literal(module.line)))
        graph.add((node, cqp.order, Literal(index + 1)))
        if module.get("code") not in (None, ""):
            graph.add((node, cqp.code, Literal(code)))
        if module.get("title") not in (None, ""):
            graph.add((node, DCTERMS.title, Literal(str(module["title"]), lang="fr")))
        if module.get("hours") not in (None, ""):
            graph.add((node, cqp.hours, number_literal(module["hours"])))
        for competence in _as_list(module.get("competences")):
            graph.add((node, cqp.trains, iri("competence", competence)))
        for activity in _as_list(module.get("activities")):
            graph.add((node, cqp.trainsActivity, iri("activity", activity)))
        stands = _as_bool(module.get("activities_stand_for_mission", False), path, module.line_of(
            "activities_stand_for_mission"))
        graph.add((node, cqp.activityStandsForMission, Literal(stands, datatype=XSD.boolean)))
    return graph, programme, where


def load_programme(path: Path, referential_graph: Graph, shapes: Graph, base: str, referential: str | None,
                   text: str | None = None, fmt: str | None = None) -> tuple[Graph, URIRef]:
    """Read, convert and check a programme; raise InputError (file, line, module) on any problem."""
    from .inputs import read_text

    text = read_text(path) if text is None else text
    header, modules = parse_programme(text, path, fmt)
    slug = header.get("referential") or referential
    if not slug:
        raise InputError(path, [(1, "say which referential the programme is for ('referential: ...')")])
    graph, programme, where = programme_graph(header, modules, path, base, str(slug))
    check_with_shapes(graph, referential_graph, shapes, path, base,
                      lambda node: where.get(node, Located(None, str(node))))
    return graph, programme
