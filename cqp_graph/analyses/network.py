"""Network analyses of the referential (networkx).

The facts come from the named queries (one source of truth for "what is a
requirement"); networkx does the graph work: the bipartite mission–competence
graph, transversality, mission similarity, coverage gaps and clusters.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import networkx as nx
import pyoxigraph as ox
from networkx.algorithms import bipartite

from cqp_graph.query.catalogue import QueryCatalogue, run_named


def natural_key(code: str):
    """Sort key that orders RC2 before RC10."""
    import re

    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", code)]


@dataclass
class ReferentialFacts:
    """What the analyses need, read through the named queries."""

    missions: list[dict]
    competences: list[dict]
    requirements: list[dict]
    matrix: list[dict]
    blocks: list[dict]
    domains: list[dict]
    units: list[dict]

    @classmethod
    def load(cls, store: ox.Store, catalogue: QueryCatalogue, base: str) -> "ReferentialFacts":
        def rows(name):
            return run_named(store, catalogue.get(name), {}, base).rows

        return cls(rows("missions"), rows("competences"), rows("requirements"), rows("mission-domain-matrix"),
                   rows("blocks"), rows("domains"), rows("units"))


def bipartite_graph(facts: ReferentialFacts) -> nx.Graph:
    """Missions on one side, coded competences on the other; an edge where a mission needs a competence."""
    graph = nx.Graph()
    for m in facts.missions:
        graph.add_node(m["code"], bipartite=0, type="mission", label=m["label"])
    for c in facts.competences:
        if c["kind"] == "A":
            continue  # aptitudes are required by the whole job, not by missions
        graph.add_node(c["code"], bipartite=1, type="competence", label=c["label"], kind=c["kind"],
                       domain=c["domain"])
    for r in facts.requirements:
        graph.add_edge(r["mission"], r["competence"])
    return graph


def _sides(graph: nx.Graph) -> tuple[list[str], list[str]]:
    missions = sorted((n for n, d in graph.nodes(data=True) if d["type"] == "mission"), key=natural_key)
    competences = sorted((n for n, d in graph.nodes(data=True) if d["type"] == "competence"), key=natural_key)
    return missions, competences


def transversality(graph: nx.Graph) -> list[dict]:
    """Per competence: how many missions need it, its degree and betweenness centrality."""
    missions, competences = _sides(graph)
    degree = bipartite.degree_centrality(graph, missions)
    betweenness = bipartite.betweenness_centrality(graph, missions)
    out = [{
        "code": c,
        "kind": graph.nodes[c]["kind"],
        "domain": graph.nodes[c]["domain"],
        "missions": sorted(graph.neighbors(c), key=natural_key),
        "degree": graph.degree(c),
        "degree_centrality": round(degree[c], 4),
        "betweenness_centrality": round(betweenness[c], 4),
    } for c in competences]
    return sorted(out, key=lambda r: (-r["degree"], -r["betweenness_centrality"], natural_key(r["code"])))


def mission_similarity(graph: nx.Graph) -> list[dict]:
    """Jaccard similarity of the competence sets of every pair of missions."""
    missions, _ = _sides(graph)
    out = []
    for a, b in combinations(missions, 2):
        sa, sb = set(graph.neighbors(a)), set(graph.neighbors(b))
        union = sa | sb
        out.append({
            "mission_a": a, "mission_b": b,
            "jaccard": round(len(sa & sb) / len(union), 4) if union else 0.0,
            "shared": sorted(sa & sb, key=natural_key),
        })
    return sorted(out, key=lambda r: (-r["jaccard"], r["mission_a"], r["mission_b"]))


def coverage_gaps(graph: nx.Graph, facts: ReferentialFacts) -> dict:
    """Competences no mission needs, domains absent from a mission, blocks without a rule, units without a block."""
    _, competences = _sides(graph)
    return {
        "competences_needed_by_no_mission": [c for c in competences if graph.degree(c) == 0],
        "domains_absent_from_mission": [
            {"mission": r["mission"], "domain": r["domain"]} for r in facts.matrix if r["competences"] == 0
        ],
        "blocks_without_evaluation_rule": [b["code"] for b in facts.blocks if not b["block_rules"]],
        "domains_without_block": [d["code"] for d in facts.domains if not d.get("block")],
        "units_without_block": [u["code"] for u in facts.units if not u.get("block")],
    }


def clusters(graph: nx.Graph, seed: int = 42) -> dict:
    """Competences grouped two ways: identical mission profiles, and Louvain communities of the co-requirement graph."""
    missions, competences = _sides(graph)
    profiles: dict[tuple, list[str]] = {}
    for c in competences:
        profiles.setdefault(tuple(sorted(graph.neighbors(c), key=natural_key)), []).append(c)
    projected = bipartite.weighted_projected_graph(graph, [c for c in competences if graph.degree(c) > 0])
    communities = nx.community.louvain_communities(projected, weight="weight", seed=seed) if projected else []
    communities = sorted((sorted(c, key=natural_key) for c in communities), key=lambda c: (-len(c), natural_key(c[0])))
    modularity = nx.community.modularity(projected, communities, weight="weight") if communities else 0.0
    return {
        "mission_profiles": [
            {"missions": list(k), "competences": v}
            for k, v in sorted(profiles.items(), key=lambda kv: (-len(kv[1]), [natural_key(m) for m in kv[0]]))
        ],
        "communities": [
            {"id": i + 1, "competences": c,
             "missions": sorted({m for code in c for m in graph.neighbors(code)}, key=natural_key)}
            for i, c in enumerate(communities)
        ],
        "modularity": round(modularity, 4),
        "method": f"Louvain on the competence co-requirement projection (weight = shared missions, seed {seed})",
    }


def summary(graph: nx.Graph) -> dict:
    missions, competences = _sides(graph)
    return {
        "missions": len(missions),
        "coded_competences": len(competences),
        "requirements": graph.number_of_edges(),
        "density": round(bipartite.density(graph, missions), 4),
        "connected_components": nx.number_connected_components(graph),
    }


ANALYSES = {
    "summary": lambda g, f: summary(g),
    "transversality": lambda g, f: transversality(g),
    "similarity": lambda g, f: mission_similarity(g),
    "gaps": coverage_gaps,
    "clusters": lambda g, f: clusters(g),
}


def run_all(facts: ReferentialFacts) -> dict:
    graph = bipartite_graph(facts)
    return {name: fn(graph, facts) for name, fn in ANALYSES.items()}
