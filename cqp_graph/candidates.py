"""A candidate's results: read from YAML (or JSON), turned into RDF, checked by their SHACL shape.

    candidate: Camille Martin
    route: formation                 # formation, blocs or vae
    blocks:
      B1:
        score: 76                    # optional: the block's overall result in %
        evaluators: {trainer: 75, tutor: 80, professional: 72}
      B2: {evaluators: {trainer: 70, tutor: 65, professional: 71}}
    know_how:                        # per know-how results, by evaluator type
      tutor: {RSF1: 60, POSF3: 35}
    units: {UC1: 55}                 # blocks route: per unit results
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF

from .inputs import InputError, Located, check_with_shapes, load_yaml, number_literal, read_text
from .namespaces import Minter, ontology_ns

TOP_KEYS = {"candidate", "route", "referential", "blocks", "know_how", "units"}
BLOCK_KEYS = {"score", "evaluators"}


def results_graph(data: dict, path, base: str, referential: str) -> tuple[Graph, URIRef, dict]:
    cqp = ontology_ns(base)
    iri = Minter(base, referential)
    digest = hashlib.sha256(repr(sorted(data.items(), key=str)).encode("utf-8")).hexdigest()[:12]
    results = URIRef(f"{base}results/{digest}")
    graph = Graph()
    where: dict[URIRef, Located] = {results: Located(1, "résultats")}
    graph.add((results, RDF.type, cqp.CandidateResults))
    if data.get("candidate"):
        graph.add((results, cqp.candidateName, Literal(str(data["candidate"]))))
    if data.get("route"):
        graph.add((results, cqp.onRoute, iri("route", str(data["route"]))))
        where[results] = Located(data.line_of("route") if hasattr(data, "line_of") else 1, "résultats")
    counter = 0

    def score(label: str, line: int, value, **links):
        nonlocal counter
        counter += 1
        node = URIRef(f"{results}/{counter}")
        where[node] = Located(line, label)
        graph.add((results, cqp.hasResult, node))
        graph.add((node, RDF.type, cqp.ScoreResult))
        graph.add((node, cqp.percent, number_literal(value)))
        graph.add((node, cqp.sourceLine, Literal(line)))
        for prop, target in links.items():
            graph.add((node, cqp[prop], target))
        return node

    problems = []
    blocks = data.get("blocks") or {}
    if not isinstance(blocks, dict):
        raise InputError(path, [(data.line_of("blocks"), "'blocks' maps block codes to their results")])
    for block, result in blocks.items():
        line = blocks.line_of(block) if hasattr(blocks, "line_of") else 1
        if not isinstance(result, dict):
            result = {"score": result}
        for key in sorted(set(result) - BLOCK_KEYS):
            problems.append((result.line_of(key), f"bloc {block} : clé inconnue '{key}' (attendu : score, evaluators)"))
        if result.get("score") is not None:
            score(f"bloc {block}", result.line_of("score") if hasattr(result, "line_of") else line,
                  result["score"], forBlock=iri("block", str(block)))
        evaluators = result.get("evaluators") or {}
        if not isinstance(evaluators, dict):
            problems.append((line, f"bloc {block} : 'evaluators' associe un type d'évaluateur à un résultat"))
            continue
        for evaluator, value in evaluators.items():
            eline = evaluators.line_of(evaluator) if hasattr(evaluators, "line_of") else line
            score(f"bloc {block}, évaluateur {evaluator}", eline, value, forBlock=iri("block", str(block)),
                  evaluator=iri("evaluator", str(evaluator)))
    know_how = data.get("know_how") or {}
    for evaluator, items in know_how.items():
        kline = know_how.line_of(evaluator) if hasattr(know_how, "line_of") else 1
        if not isinstance(items, dict):
            problems.append((kline, f"know_how.{evaluator} associe un code de savoir-faire à un résultat"))
            continue
        for code, value in items.items():
            score(f"savoir-faire {code} ({evaluator})", items.line_of(code) if hasattr(items, "line_of") else kline,
                  value, forCompetence=iri("competence", str(code)), evaluator=iri("evaluator", str(evaluator)))
    units = data.get("units") or {}
    for unit, value in units.items():
        score(f"unité {unit}", units.line_of(unit) if hasattr(units, "line_of") else 1, value,
              forUnit=iri("unit", str(unit)))
    if problems:
        raise InputError(path, problems)
    return graph, results, where


def load_results(path: Path | str, referential_graph: Graph, shapes: Graph, base: str, referential: str | None,
                 text: str | None = None) -> tuple[Graph, URIRef, dict]:
    """Read and check a candidate's results; raise InputError naming the line of each problem."""
    text = read_text(Path(path)) if text is None else text
    data = load_yaml(text, path)  # JSON is YAML too
    if not isinstance(data, dict):
        raise InputError(path, [(1, "results are a mapping with 'route' and 'blocks'")])
    unknown = sorted(set(data) - TOP_KEYS)
    if unknown:
        raise InputError(path, [(data.line_of(unknown[0]), f"clé inconnue '{unknown[0]}' "
                                                           f"(attendu : {', '.join(sorted(TOP_KEYS))})")])
    if not data.get("route"):
        raise InputError(path, [(1, "la voie manque ('route: formation', 'blocs' ou 'vae')")])
    slug = data.get("referential") or referential
    if not slug:
        raise InputError(path, [(1, "say which referential the results are for ('referential: ...')")])
    graph, results, where = results_graph(data, path, base, str(slug))
    check_with_shapes(graph, referential_graph, shapes, path, base,
                      lambda node: where.get(node, Located(None, str(node))))
    return graph, results, data
