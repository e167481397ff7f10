"""The coverage report of one referential: figures, pictures and findings, for curriculum designers.

Everything comes from the named queries (through the knowledge layer of a graph that went through the
pipeline) and from that pipeline's SHACL findings: the graph is not validated a second time here. With
several referentials in the graph, the report is about one of them, named by the caller.

Lives here: `referential_report` (the report's figures as one dict). Not here: writing it as HTML, Markdown,
CSV and JSON (`cqp_graph.present.render`), drawing its pictures (`cqp_graph.present.pictures`).
"""

from __future__ import annotations

from collections import Counter, defaultdict

from cqp_graph.analyses.network import ReferentialFacts, bipartite_graph, named_rows, run_all
from cqp_graph.graph.pipeline import BuiltGraph
from cqp_graph.namespaces import ontology_ns
from cqp_graph.numbers import natural_key
from cqp_graph.present import pictures
from cqp_graph.query.catalogue import QueryError
from cqp_graph.query.knowledge import Knowledge, Referential


def _summary(knowledge: Knowledge, chosen: Referential) -> dict:
    """The certification-summary row of `chosen` (the query answers one row per certification)."""
    rows = named_rows(knowledge, chosen, "certification-summary")
    mine = [r for r in rows if r.get("iri") == chosen.iri]
    if len(mine) != 1:
        raise QueryError(f"certification-summary : {len(mine)} ligne(s) pour le référentiel « {chosen.name} » "
                         f"({chosen.iri}), une seule était attendue")
    return mine[0]


def _in_referential(knowledge: Knowledge, focus: str, chosen: Referential) -> bool:
    """Whether a finding's focus node belongs to `chosen`: the certification itself, a resource marked
    cqp:inReferential it, or a resource of no referential (the shared ontology), reported with each."""
    if focus == chosen.iri:
        return True
    member_of = str(ontology_ns(knowledge.base).inReferential)
    try:
        owners = {str(value) for predicate, value in knowledge.describe(focus) if predicate == member_of}
    except ValueError:  # a blank node or a focus that is not an IRI: it belongs to no referential
        return True
    return not owners or chosen.iri in owners


def referential_report(built: BuiltGraph, referential: str | None = None) -> dict:
    """The report of `referential` (a name; None: the only one of the graph, UnknownReferential when there
    are several), from the graph the pipeline built and its validation report."""
    knowledge = built.knowledge
    facts = ReferentialFacts.load(knowledge, referential)
    chosen = facts.referential

    def rows(name, **params):
        return named_rows(knowledge, chosen, name, **params)

    analyses = run_all(facts)
    summary = _summary(knowledge, chosen)
    kinds = {k["code"]: k for k in facts.kinds}
    kind_order = [k["code"] for k in facts.kinds]
    coded_kinds = facts.coded_kinds
    domains = facts.domains
    domain_order = {d["code"]: i for i, d in enumerate(domains)}
    rank = {k: i for i, k in enumerate(kind_order)}
    coded = sorted((c for c in facts.competences if c["kind"] not in facts.aptitude_kinds),
                   key=lambda c: (domain_order.get(c["domain"], len(domain_order)), rank.get(c["kind"], len(rank)),
                                  natural_key(c["code"])))
    missions = [m["code"] for m in facts.missions]
    needed = {(r["mission"], r["competence"]) for r in facts.requirements}

    groups: list[tuple[str, int]] = []
    for c in coded:
        label = f"{c['domain']} · {c['kind']}"
        if groups and groups[-1][0] == label:
            groups[-1] = (label, groups[-1][1] + 1)
        else:
            groups.append((label, 1))
    heatmap = pictures.heatmap_svg(
        missions, [c["code"] for c in coded], {k: 1 for k in needed}, groups,
        "Matrice missions × compétences (groupées par domaine et nature)")
    network = pictures.network_svg(bipartite_graph(facts), [d["code"] for d in domains])

    per_mission = []
    for m in facts.missions:
        codes = [c for c in coded if (m["code"], c["code"]) in needed]
        per_mission.append({
            "mission": m["code"], "label": m["label"], "activities": m["activities"], "competences": len(codes),
            "by_domain": {d["code"]: sum(1 for c in codes if c["domain"] == d["code"]) for d in domains},
            "by_kind": {k: sum(1 for c in codes if c["kind"] == k) for k in coded_kinds},
        })
    missions_per_competence = Counter(r["competence"] for r in facts.requirements)
    per_domain = [{
        "domain": d["code"], "label": d["label"], "knowledge": d["knowledge"], "know_how": d["know_how"],
        "total": d["knowledge"] + d["know_how"], "block": d["block"],
        "missions": sorted({r["mission"] for r in facts.requirements if r["domain"] == d["code"]}, key=natural_key),
    } for d in domains]
    per_kind = [{"kind": k, "label": kinds[k]["label"], "total": sum(1 for c in facts.competences if c["kind"] == k),
                 "needed_by_a_mission": sum(1 for c in facts.competences if c["kind"] == k
                                            and missions_per_competence[c["code"]])} for k in kind_order]
    per_block = [{"block": b["code"], "label": b["label"], "domain": b["domain"], "competences": b["competences"],
                  "units": b["units"], "block_rules": b["block_rules"]} for b in facts.blocks]

    findings = [f for f in built.report.findings if _in_referential(knowledge, f.focus, chosen)]
    findings_by_shape: dict[str, list[dict]] = defaultdict(list)
    for f in findings:
        if f.severity != "Violation":
            findings_by_shape[f.shape_label or f.shape].append(
                {"severity": f.severity, "focus": f.focus.rsplit("/", 1)[-1], "message": f.message})

    return {
        "referential": chosen.name,
        "title": summary["title"],
        "summary": summary,
        "matrix": {"missions": missions, "competences": [c["code"] for c in coded],
                   "cells": [[1 if (m, c["code"]) in needed else 0 for c in coded] for m in missions],
                   "groups": [{"label": label, "size": size} for label, size in groups]},
        "per_mission": per_mission,
        "per_domain": per_domain,
        "per_kind": per_kind,
        "per_block": per_block,
        "transversal": rows("transversal-competences", min_missions=3),
        "analyses": analyses,
        "unused": rows("unused-competences"),
        "variants": rows("label-variants"),
        "source_gaps": rows("source-gaps"),
        "units": rows("units"),
        "minted": rows("minted-codes"),
        "rome_alignments": rows("rome-alignments"),
        "without_rome": rows("competences-without-rome"),
        "findings": {k: v for k, v in sorted(findings_by_shape.items())},
        "finding_counts": {severity: sum(1 for f in findings if f.severity == severity)
                           for severity in ("Violation", "Warning", "Info")},
        "pictures": {"heatmap.svg": heatmap, "network.svg": network},
    }
