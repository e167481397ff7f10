"""The certification-decision engine: a candidate's results against the rules of one referential.

Every threshold, the route's rules, what each rule decides (block, unit or the whole
CQP) and the declared choice for combining evaluators' results are read from the graph
through the named queries, for the referential the results are for; nothing here knows a
number of the referential. Each rule is a minimum ("au minimum", "au moins égal", "ne peut
être inférieur"): a result passes when it is greater than or equal to the threshold.

Lives here: `RuleBook` (what the graph says about deciding on one route of one referential), `Decider`,
`decide_file` / `decide_data` (check the results, then decide) and `decision_text` (the decision as a jury
reads it). Not here: reading and checking the results (`cqp_graph.inputs.candidates`), writing numbers the
French way (`cqp_graph.numbers`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from decimal import Decimal
from pathlib import Path

from cqp_graph.analyses.network import named_rows
from cqp_graph.config import Settings
from cqp_graph.numbers import pct
from cqp_graph.query.knowledge import Knowledge, Referential

__all__ = ["AGGREGATIONS", "Check", "Decider", "RuleBook", "decide_data", "decide_file", "decision_text", "pct"]

AGGREGATIONS = {
    "mean": ("moyenne", lambda values: sum(values) / len(values)),
    "min": ("minimum", min),
}


@dataclass
class Check:
    rule: str
    scope: str
    gates: str
    subject: str
    evaluator: str | None
    value: Decimal | None
    threshold: Decimal
    passed: bool
    basis: str
    text: str

    def as_dict(self) -> dict:
        out = asdict(self)
        out["value"] = None if self.value is None else float(self.value)
        out["threshold"] = float(self.threshold)
        return out


@dataclass
class RuleBook:
    """What the graph says about deciding on one route."""

    route: dict
    rules: list[dict]
    blocks: list[dict]
    units: list[dict]
    competences: dict[str, dict]
    evaluators: dict[str, str]
    settings: dict[str, dict]
    referential: Referential

    @classmethod
    def load(cls, knowledge: Knowledge, route: str, referential: str | None = None) -> "RuleBook":
        """The rules of `route` in `referential` (a name; None: the only one, UnknownReferential when there
        are several); UnknownRoute (a ValueError, in French, naming the known routes) for an unknown one."""
        chosen = knowledge.referential(referential)

        def rows(name, **params):
            return named_rows(knowledge, chosen, name, **params)

        routes = {r["code"]: r for r in rows("routes")}
        if route not in routes:
            raise UnknownRoute(route, list(routes), chosen.name)
        return cls(
            route=routes[route],
            rules=rows("evaluation-rules", route=route),
            blocks=rows("blocks"),
            units=rows("units"),
            competences={c["code"]: c for c in rows("competences")},
            evaluators={e["code"]: e["label"] for e in rows("evaluators")},
            settings={s["code"]: s for s in rows("settings")},
            referential=chosen,
        )

    def aggregation(self) -> tuple[str | None, str]:
        """How a block's score is computed from its evaluators' scores: the method the referential declares
        (`block-score-aggregation`, one of AGGREGATIONS) and its label; or None and, in French, why there is
        none (no method declared, or one the engine does not know). There is no default: it is the
        referential's choice."""
        setting = self.settings.get("block-score-aggregation")
        if setting is None:
            return None, ("le référentiel ne déclare pas comment combiner les résultats des évaluateurs "
                          "(choix block-score-aggregation)")
        if setting["value"] not in AGGREGATIONS:
            return None, (f"le choix déclaré block-score-aggregation={setting['value']} n'est pas une méthode "
                          f"connue ({', '.join(AGGREGATIONS)})")
        return setting["value"], setting["label"]


class UnknownRoute(ValueError):
    """A route the referential does not have: `route`, the referential's `known` routes, a French message."""

    def __init__(self, route: str, known: list[str], referential: str):
        super().__init__(f"voie « {str(route)[:80]} » inconnue du référentiel {referential} "
                         f"(voies : {', '.join(known) or 'aucune'})")
        self.route, self.known, self.referential = route, known, referential


def _d(value) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _basis(rule: dict) -> str:
    return "énoncé par la source" if rule["basis"] == "stated" else "choix déclaré"


class Decider:
    def __init__(self, book: RuleBook, data: dict):
        self.book = book
        self.data = data
        self.blocks_data = data.get("blocks") or {}
        self.know_how = data.get("know_how") or {}
        self.settings_used: dict[str, list[str]] = {}
        self.not_computed: dict[str, str] = {}  # block -> why its score could not be computed

    # -- results ---------------------------------------------------------------
    def evaluator_scores(self, block: str) -> dict[str, Decimal]:
        result = self.blocks_data.get(block)
        if not isinstance(result, dict):
            return {}
        return {str(k): _d(v) for k, v in (result.get("evaluators") or {}).items()}

    def block_score(self, block: str) -> tuple[Decimal | None, str]:
        result = self.blocks_data.get(block)
        if result is not None and not isinstance(result, dict):
            return _d(result), "résultat fourni"
        if isinstance(result, dict) and result.get("score") is not None:
            return _d(result["score"]), "résultat fourni"
        scores = self.evaluator_scores(block)
        if not scores:
            return None, "aucun résultat"
        parts = ", ".join(f"{self.evaluator_name(k)} {pct(v)}" for k, v in scores.items())
        method, why = self.book.aggregation()
        if method is None:
            self.not_computed[block] = why
            return None, f"non calculé : résultats des évaluateurs ({parts}), mais {why}"
        name, fn = AGGREGATIONS[method]
        self.settings_used.setdefault("block-score-aggregation", []).append(block)
        return fn(list(scores.values())), (f"calculé : {name} des évaluateurs ({parts}), "
                                           f"choix déclaré block-score-aggregation={method}")

    def evaluator_name(self, code: str) -> str:
        """An evaluator as the reasons name it: its label in lower case, or its code when the referential does
        not name it (results checked against the referential never hold such a code)."""
        label = self.book.evaluators.get(code)
        return label.lower() if label else code

    # -- rules -------------------------------------------------------------------
    def _check(self, rule: dict, subject: str, value: Decimal | None, what: str,
               missing: str = "aucun résultat") -> Check:
        threshold = _d(rule["min_percent"])
        passed = value is not None and value >= threshold
        if value is None:
            text = f"{what} : {missing}, la règle exige au moins {pct(threshold)}"
        else:
            text = f"{what} : {pct(value)} {'≥' if passed else '<'} {pct(threshold)}"
        return Check(rule["rule"], rule["scope"], rule["gates"], subject, rule.get("evaluator"), value, threshold,
                     passed, rule["basis"], f"{text} [{rule['rule']}, {_basis(rule)}]")

    def checks_for_block(self, rule: dict, block: dict, score: Decimal | None) -> list[Check]:
        code = block["code"]
        if rule["scope"] == "block":
            why = self.not_computed.get(code)
            return [self._check(rule, code, score, f"bloc {code}",
                                f"résultat non calculé, car {why}" if why else "aucun résultat")]
        if rule["scope"] == "block-evaluator":
            evaluator = rule["evaluator"]
            return [self._check(rule, code, self.evaluator_scores(code).get(evaluator),
                                f"bloc {code}, {self.evaluator_name(evaluator)}")]
        if rule["scope"] == "know-how":
            evaluator = rule["evaluator"]
            label = self.evaluator_name(evaluator)
            scores = {k: _d(v) for k, v in (self.know_how.get(evaluator) or {}).items()
                      if self.book.competences.get(str(k), {}).get("domain") == block["domain"]}
            if not scores:
                return [Check(rule["rule"], rule["scope"], rule["gates"], code, evaluator, None,
                              _d(rule["min_percent"]), True, rule["basis"],
                              f"bloc {code} : aucun savoir-faire noté par le {label}, aucun n'est donc "
                              f"inférieur à {pct(_d(rule['min_percent']))} [{rule['rule']}, {_basis(rule)}]")]
            return [self._check(rule, k, v, f"savoir-faire {k} ({label}, bloc {code})")
                    for k, v in sorted(scores.items())]
        return []

    def decide(self) -> dict:
        book = self.book
        block_rules = [r for r in book.rules if r["gates"] == "block"]
        cert_rules = [r for r in book.rules if r["gates"] == "certification"]
        unit_rules = [r for r in book.rules if r["gates"] == "unit"]
        blocks_out = []
        for block in book.blocks:
            score, source = self.block_score(block["code"])
            checks = [c for rule in block_rules for c in self.checks_for_block(rule, block, score)]
            acquired = bool(checks) and all(c.passed for c in checks)
            blocks_out.append({
                "code": block["code"], "label": block["label"], "domain": block["domain"],
                "score": None if score is None else float(score), "score_source": source,
                "decision": "acquired" if acquired else "not acquired",
                "decision_fr": "acquis" if acquired else "non acquis",
                "checks": [c.as_dict() for c in checks],
                "failed": [c.text for c in checks if not c.passed],
            })
        cert_checks = [c for rule in cert_rules for block in book.blocks
                       for c in self.checks_for_block(rule, block, None)]
        units_out = []
        for unit, value in (self.data.get("units") or {}).items():
            checks = [self._check(rule, str(unit), _d(value), f"unité {unit}") for rule in unit_rules]
            acquired = bool(checks) and all(c.passed for c in checks)
            units_out.append({"code": str(unit), "score": float(_d(value)), "decision":
                              "acquired" if acquired else "not acquired",
                              "decision_fr": "acquise" if acquired else "non acquise",
                              "checks": [c.as_dict() for c in checks]})
        reasons = [f"bloc {b['code']} non acquis : " + "; ".join(b["failed"]) for b in blocks_out
                   if b["decision"] != "acquired"]
        reasons += [c.text for c in cert_checks if not c.passed]
        awarded = not reasons and bool(blocks_out)
        return {
            "candidate": self.data.get("candidate"),
            "referential": book.referential.name,
            "route": {"code": book.route["code"], "label": book.route["label"]},
            "decision": "awarded" if awarded else "not awarded",
            "decision_fr": "CQP délivré" if awarded else "CQP non délivré",
            "reasons": reasons or ["tous les blocs sont acquis et toutes les règles sont satisfaites"],
            "blocks": blocks_out,
            "certification_checks": [c.as_dict() for c in cert_checks],
            "units": units_out,
            "attestation_validity": book.route.get("attestation_validity"),
            "settings_applied": [
                {"code": code, "value": book.settings[code]["value"], "basis": book.settings[code]["basis"],
                 "label": book.settings[code]["label"], "applied_to": blocks}
                for code, blocks in self.settings_used.items() if code in book.settings
            ],
        }


def decide_data(data: str | dict, settings: Settings, knowledge: Knowledge, referential: str | None = None,
                *, source: str = "results.yaml") -> dict:
    """Check a candidate's results with their shape, then decide, for the referential they declare or
    `referential` (None: the only one of the graph).

    `data` is the results' text (YAML or JSON, read with its line numbers) or the results already parsed (a
    dict); `source` names them in error messages. Raises InputError for bad results, UnknownReferential when
    no referential is named and the graph holds several.
    """
    if isinstance(data, str):
        return _decided(source, settings, knowledge, referential, text=data)
    if isinstance(data, dict):
        return _decided(source, settings, knowledge, referential, data=data)
    raise TypeError(f"decide_data: the results' text or a dict, not {type(data).__name__}")


def decide_file(path: Path | str, settings: Settings, knowledge: Knowledge, referential: str | None = None) -> dict:
    """Read a results file (YAML or JSON, within the settings' input limits), check it, then decide."""
    return _decided(str(path), settings, knowledge, referential)


def _decided(source: str, settings: Settings, knowledge: Knowledge, referential: str | None, *,
             text: str | None = None, data: dict | None = None) -> dict:
    """The results (`text`, `data` already parsed, or neither: the file `source`, read once) checked and
    decided on."""
    from cqp_graph.graph.assemble import load_input_shapes
    from cqp_graph.inputs.candidates import load_results
    from cqp_graph.inputs.files import InputLimits

    _graph, _node, results, chosen = load_results(source, knowledge, load_input_shapes(settings, "results"),
                                                  referential, text=text, data=data,
                                                  limits=InputLimits.of(settings))
    book = RuleBook.load(knowledge, str(results["route"]), chosen.name)
    return Decider(book, results).decide()


def decision_text(decision: dict) -> str:
    lines = []
    who = decision.get("candidate") or "candidat"
    lines.append(f"{who} — {decision['route']['label']} (référentiel {decision['referential']})")
    lines.append(f"Décision : {decision['decision_fr'].upper()}")
    for reason in decision["reasons"]:
        lines.append(f"  · {reason}")
    for block in decision["blocks"]:
        lines.append("")
        lines.append(f"Bloc {block['code']} ({block['domain']}) « {block['label']} » : {block['decision_fr'].upper()}")
        lines.append(f"  résultat du bloc : {pct(_d(block['score']))} ({block['score_source']})")
        for check in block["checks"]:
            lines.append(f"  {'✓' if check['passed'] else '✗'} {check['text']}")
    if decision["certification_checks"]:
        lines.append("")
        lines.append("Conditions du CQP complet :")
        for check in decision["certification_checks"]:
            lines.append(f"  {'✓' if check['passed'] else '✗'} {check['text']}")
    if decision["units"]:
        lines.append("")
        lines.append("Unités de compétence :")
        for unit in decision["units"]:
            for check in unit["checks"]:
                lines.append(f"  {'✓' if check['passed'] else '✗'} {check['text']} → {unit['decision_fr']}")
    if decision.get("attestation_validity"):
        lines.append("")
        lines.append(f"Attestation de bloc : {decision['attestation_validity']}")
    for setting in decision["settings_applied"]:
        lines.append("")
        lines.append(f"Choix déclaré appliqué : {setting['code']} = {setting['value']} "
                     f"(blocs {', '.join(setting['applied_to'])}) — {setting['label']}")
    return "\n".join(lines) + "\n"
