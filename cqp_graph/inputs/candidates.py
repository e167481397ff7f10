"""A candidate's results: read from YAML (or JSON), turned into RDF, checked by their SHACL shape.

Lives here: the results' schema (`ResultsIn`), their RDF form (`results_graph`) and `load_results`, which reads
and checks them against the referential they are for (through the knowledge layer). Not here: the decision
(`cqp_graph.analyses.decisions`), line-numbered reading (`cqp_graph.inputs.files`).

    candidate: Camille Martin
    route: formation                 # a route code of the referential (routes.csv: formation, blocs, vae…)
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
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Optional
from urllib.parse import quote

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF

from cqp_graph.inputs.files import (InputError, InputLimits, Located, check_with_shapes, choose_referential, code_hints,
                                    lined,
                                    load_yaml, number_literal, read_text, strict_number, strict_text, validate)
from cqp_graph.namespaces import Minter, ontology_ns
from cqp_graph.query.knowledge import Knowledge, Referential
from cqp_graph.suggest import did_you_mean

TOP_KEYS = {"candidate", "route", "referential", "blocks", "know_how", "units"}
BLOCK_KEYS = {"score", "evaluators"}

Percent = Annotated[Decimal, BeforeValidator(strict_number),
                    Field(ge=0, le=100, allow_inf_nan=False, description="a result in %")]
Text = Annotated[str, BeforeValidator(strict_text), Field(min_length=1)]


class BlockIn(BaseModel):
    """A block's results: its overall score and/or each evaluator's score."""

    model_config = ConfigDict(extra="forbid")
    score: Optional[Percent] = None
    evaluators: dict[str, Percent] = Field(default_factory=dict, description="evaluator type -> result in %")


def _block(value):
    return value if isinstance(value, dict) or value is None else {"score": value}  # `B1: 76`: the block's score


class ResultsIn(BaseModel):
    """A candidate's results (YAML or JSON); codes are checked against the referential afterwards."""

    model_config = ConfigDict(extra="forbid")
    candidate: Optional[Text] = None
    route: Text = Field(description="a route code of the referential (its routes.csv), e.g. formation, vae")
    referential: Optional[Text] = None
    blocks: dict[str, Annotated[BlockIn, BeforeValidator(_block)]] = Field(default_factory=dict)
    know_how: dict[str, dict[str, Percent]] = Field(
        default_factory=dict, description="evaluator type -> know-how code -> result in %")
    units: dict[str, Percent] = Field(default_factory=dict, description="unit code -> result in %")


RESULTS_MESSAGES = {
    "greater_than_equal": "« {field} » : un résultat est un pourcentage entre 0 et 100",
    "less_than_equal": "« {field} » : un résultat est un pourcentage entre 0 et 100",
    "extra_forbidden": "clé inconnue « {last} » (attendu : " + ", ".join(sorted(TOP_KEYS)) + ")",
    ("extra_forbidden", "blocks"): "clé inconnue « {last} » (attendu : score, evaluators)",
    ("missing", "route"): "la voie manque (« route: » suivi d'un code de voie du référentiel)",
}


def _results_label(loc) -> str | None:
    if len(loc) >= 2 and loc[0] == "blocks":
        return f"bloc {loc[1]}", 2
    if len(loc) >= 3 and loc[0] == "know_how":
        return f"savoir-faire {loc[2]} ({loc[1]})", 0
    if len(loc) >= 2 and loc[0] == "units":
        return f"unité {loc[1]}", 0
    return None


def results_graph(data: dict, path, base: str, referential: str) -> tuple[Graph, URIRef, dict]:
    cqp = ontology_ns(base)
    minter = Minter(base, quote(referential, safe=""))

    def iri(kind, code=None):  # codes from the file are escaped: an odd code makes an unknown IRI, not an error
        return minter(kind, None if code is None else quote(code, safe=""))
    digest = hashlib.sha256(repr(sorted(data.items(), key=str)).encode("utf-8", "surrogatepass")).hexdigest()[:12]
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
        raise InputError(path, [(data.line_of("blocks"), "« blocks » associe à chaque code de bloc ses résultats")])
    for block, result in blocks.items():
        line = blocks.line_of(block) if hasattr(blocks, "line_of") else 1
        if not isinstance(result, dict):
            result = {"score": result}
        for key in sorted(set(result) - BLOCK_KEYS):
            problems.append((result.line_of(key),
                             f"bloc {block} : clé inconnue « {key} » (attendu : score, evaluators)"))
        if result.get("score") is not None:
            score(f"bloc {block}", result.line_of("score") if hasattr(result, "line_of") else line,
                  result["score"], forBlock=iri("block", str(block)))
        evaluators = result.get("evaluators") or {}
        if not isinstance(evaluators, dict):
            problems.append((line, f"bloc {block} : « evaluators » associe un type d'évaluateur à un résultat"))
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


def check_codes(data, knowledge: Knowledge, path, referential: str) -> None:
    """Refuse, before any validation work, codes the referential does not have at all (each with its line)."""
    minter = Minter(knowledge.base, quote(str(referential), safe=""))
    hint = code_hints(knowledge, referential)

    def known(kind, code) -> bool:
        return knowledge.exists(str(minter(kind, quote(str(code), safe=""))))

    problems = []

    def need(kind, code, line, label, message):
        if not known(kind, code):  # the close match is looked for in the problems reported only (below)
            problems.append((line, f"{label} : {message} ({code})", kind, str(code)))

    blocks = data.get("blocks") or {}
    for block, result in blocks.items():
        need("block", block, blocks.line_of(block), f"bloc {block}", "bloc inconnu du référentiel")
        evaluators = result.get("evaluators") if isinstance(result, dict) else None
        for evaluator in evaluators or {}:
            need("evaluator", evaluator, evaluators.line_of(evaluator), f"bloc {block}, évaluateur {evaluator}",
                 "type d'évaluateur inconnu du référentiel")
    know_how = data.get("know_how") or {}
    for evaluator, items in know_how.items():
        need("evaluator", evaluator, know_how.line_of(evaluator), f"know_how.{evaluator}",
             "type d'évaluateur inconnu du référentiel")
        for code in items:
            need("competence", code, items.line_of(code), f"savoir-faire {code} ({evaluator})",
                 "savoir-faire inconnu du référentiel")
    units = data.get("units") or {}
    for unit in units:
        need("unit", unit, units.line_of(unit), f"unité {unit}", "unité de compétence inconnue du référentiel")
    if problems:
        more = len(problems) - 50
        shown = [(line, text + hint(kind, code)) for line, text, kind, code in problems[:50]]
        raise InputError(path, shown + ([(problems[49][0], f"… et {more} autres codes inconnus")]
                                        if more > 0 else []))


def check_route(route: str, routes: list[str], referential: str, path, line: int) -> None:
    """Refuse a route the referential does not have, naming its routes (read from the graph) and the close one."""
    if route in routes:
        return
    hint = did_you_mean(route, routes)
    raise InputError(path, [(line, f"résultats : voie inconnue du référentiel {referential} ({route[:80]})"
                                   f"{' ; ' + hint if hint else ''} ; voies : {', '.join(routes) or 'aucune'}")])


def load_results(path: Path | str, knowledge: Knowledge, shapes: Graph, referential: str | None = None,
                 text: str | None = None, limits: InputLimits | None = None,
                 data: dict | None = None) -> tuple[Graph, URIRef, dict, Referential]:
    """Read and check a candidate's results (the file at `path`, its `text`, or `data` already parsed) for the
    referential they declare or `referential` (None: the only one); raise InputError naming the line of each
    problem. Returns the results as RDF, their IRI, the data and the referential they are for."""
    if data is None:
        text = read_text(Path(path), limits) if text is None else text
        data = load_yaml(text, path, limits)  # JSON is YAML too
    elif not hasattr(data, "line_of"):
        data = lined(data)
    if not isinstance(data, dict):
        raise InputError(path, [(1, "les résultats sont une table avec « route » et « blocks »")])
    validate(ResultsIn, data, path, label=_results_label, overrides=RESULTS_MESSAGES)
    chosen = choose_referential(knowledge, data.get("referential"), referential, path, data.line_of("referential"))
    check_codes(data, knowledge, path, chosen.name)
    unknown = sorted(set(data) - TOP_KEYS)
    if unknown:
        raise InputError(path, [(data.line_of(unknown[0]), f"clé inconnue « {unknown[0]} » "
                                                           f"(attendu : {', '.join(sorted(TOP_KEYS))})")])
    routes = [r["code"] for r in knowledge.rows("routes", referential=chosen.name)]
    if not data.get("route"):
        raise InputError(path, [(1, f"la voie manque (« route: » suivi de l'une des voies du référentiel "
                                    f"{chosen.name} : {', '.join(routes) or 'aucune'})")])
    check_route(str(data["route"]), routes, chosen.name, path, data.line_of("route"))
    graph, results, where = results_graph(data, path, knowledge.base, chosen.name)
    check_with_shapes(graph, knowledge, shapes, path, knowledge.base,
                      lambda node: where.get(node, Located(None, str(node))), code_hints(knowledge, chosen.name))
    return graph, results, data, chosen
