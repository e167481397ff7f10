"""The coverage report of a referential: figures, pictures and findings, for curriculum designers.

Everything comes from the named queries and the SHACL quality findings; this module
arranges it, and render.py writes it as HTML, Markdown, CSV and JSON.
"""

from __future__ import annotations

from collections import Counter, defaultdict

import pyoxigraph as ox
from rdflib import Graph

from cqp_graph.present import pictures
from cqp_graph.analyses.network import ReferentialFacts, natural_key, bipartite_graph, run_all
from cqp_graph.config import Settings
from cqp_graph.query.catalogue import load_catalogue, run_named
from cqp_graph.graph.validate import validate_graph

KIND_ORDER = ["C", "SF", "A"]
KIND_LABELS = {"C": "Connaissances", "SF": "Savoir-faire", "A": "Aptitudes"}


def referential_report(graph: Graph, store: ox.Store, settings: Settings) -> dict:
    from cqp_graph.graph.assemble import load_shapes

    catalogue = load_catalogue(settings.queries_dir)

    def rows(name, **params):
        return run_named(store, catalogue.get(name), params, settings.base).rows

    facts = ReferentialFacts.load(store, catalogue, settings.base)
    analyses = run_all(facts)
    summary = rows("certification-summary")[0]
    domains = facts.domains
    domain_order = {d["code"]: i for i, d in enumerate(domains)}
    coded = sorted((c for c in facts.competences if c["kind"] != "A"),
                   key=lambda c: (domain_order.get(c["domain"], 99), KIND_ORDER.index(c["kind"]), natural_key(c["code"])))
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
            "by_kind": {k: sum(1 for c in codes if c["kind"] == k) for k in ("C", "SF")},
        })
    missions_per_competence = Counter(r["competence"] for r in facts.requirements)
    per_domain = [{
        "domain": d["code"], "label": d["label"], "knowledge": d["knowledge"], "know_how": d["know_how"],
        "total": d["knowledge"] + d["know_how"], "block": d["block"],
        "missions": sorted({r["mission"] for r in facts.requirements if r["domain"] == d["code"]}, key=natural_key),
    } for d in domains]
    per_kind = [{"kind": k, "label": KIND_LABELS[k], "total": sum(1 for c in facts.competences if c["kind"] == k),
                 "needed_by_a_mission": sum(1 for c in facts.competences if c["kind"] == k
                                            and missions_per_competence[c["code"]])} for k in KIND_ORDER]
    per_block = [{"block": b["code"], "label": b["label"], "domain": b["domain"], "competences": b["competences"],
                  "units": b["units"], "block_rules": b["block_rules"]} for b in facts.blocks]

    report = validate_graph(graph, load_shapes(settings))
    findings_by_shape: dict[str, list[dict]] = defaultdict(list)
    for f in report.findings:
        if f.severity != "Violation":
            findings_by_shape[f.shape_label or f.shape].append(
                {"severity": f.severity, "focus": f.focus.rsplit("/", 1)[-1], "message": f.message})

    return {
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
        "finding_counts": {"Violation": report.count("Violation"), "Warning": report.count("Warning"),
                           "Info": report.count("Info")},
        "pictures": {"heatmap.svg": heatmap, "network.svg": network},
    }
