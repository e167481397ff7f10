"""Network analyses of one referential (networkx): transversality, mission similarity, gaps, clusters.

The facts come from the named queries, through the knowledge layer (one source of truth for "what is a
requirement"); networkx does the graph work on the bipartite mission–competence graph. Which competence
kinds exist, how they are named and which of them the job requires as a whole (aptitudes, outside any
mission) is read from the graph too (`competence_kinds`).

Lives here: `ReferentialFacts` (what the analyses read, for one referential), `bipartite_graph`, the analyses
and `sides` (a bipartite graph's missions and competences, in natural order). Not here: drawing them
(`cqp_graph.present.pictures`), the coverage report's arrangement (`cqp_graph.analyses.report`), how codes
sort (`cqp_graph.numbers`).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import networkx as nx
from networkx.algorithms import bipartite

from cqp_graph.numbers import natural_key
from cqp_graph.query.knowledge import Knowledge, Referential

__all__ = ["ANALYSES", "ReferentialFacts", "bipartite_graph", "clusters", "competence_kinds", "coverage_gaps",
           "mission_similarity", "named_rows", "natural_key", "numbering_gaps", "run_all", "sides", "summary",
           "transversality"]

_KINDS = """
SELECT ?code ?label ?aptitude ?know_how WHERE {
  ?kind a cqp:CompetenceKind ; skos:notation ?code .
  OPTIONAL { ?kind skos:prefLabel ?label FILTER (LANGMATCHES(LANG(?label), "fr")) }
  BIND (?kind = cqp:aptitude AS ?aptitude)
  BIND (?kind = cqp:knowHow AS ?know_how)
}
ORDER BY ?aptitude ?code
"""


def competence_kinds(knowledge: Knowledge) -> list[dict]:
    """The competence kinds of the ontology: `code` (its notation), `label` (French), `aptitude` (true for
    the kind the whole job requires, outside any mission) and `know_how` (true for the know-how, which the rules
    may judge competence by competence), the coded kinds first, by notation."""
    return [{"code": k["code"], "label": k["label"] or k["code"], "aptitude": bool(k["aptitude"]),
             "know_how": bool(k["know_how"])} for k in knowledge.select(_KINDS).rows]


def named_rows(knowledge: Knowledge, referential: Referential, name: str, catalogue: str | None = None,
               **params) -> list[dict]:
    """The rows of a named query for one referential (its `referential` parameter bound to its name)."""
    return knowledge.rows(name, catalogue, referential=referential.name, **params)


@dataclass
class ReferentialFacts:
    """What the analyses need about one referential, read through the named queries."""

    referential: Referential
    kinds: list[dict]
    missions: list[dict]
    competences: list[dict]
    requirements: list[dict]
    matrix: list[dict]
    blocks: list[dict]
    domains: list[dict]
    units: list[dict]

    @classmethod
    def load(cls, knowledge: Knowledge, referential: str | None = None) -> "ReferentialFacts":
        """The facts of `referential` (a name; None: the only one, UnknownReferential when there are several)."""
        chosen = knowledge.referential(referential)

        def rows(name):
            return named_rows(knowledge, chosen, name)

        return cls(chosen, competence_kinds(knowledge), rows("missions"), rows("competences"), rows("requirements"),
                   rows("mission-domain-matrix"), rows("blocks"), rows("domains"), rows("units"))

    @property
    def aptitude_kinds(self) -> set[str]:
        """The notations of the kinds the whole job requires (aptitudes), never a mission."""
        return {k["code"] for k in self.kinds if k["aptitude"]}

    @property
    def coded_kinds(self) -> list[str]:
        """The notations of the kinds missions require (knowledge, know-how), in the graph's order."""
        return [k["code"] for k in self.kinds if not k["aptitude"]]


def bipartite_graph(facts: ReferentialFacts) -> nx.Graph:
    """Missions on one side, coded competences on the other; an edge where a mission needs a competence."""
    graph = nx.Graph()
    aptitudes = facts.aptitude_kinds
    for m in facts.missions:
        graph.add_node(m["code"], bipartite=0, type="mission", label=m["label"])
    for c in facts.competences:
        if c["kind"] in aptitudes:
            continue  # aptitudes are required by the whole job, not by missions
        graph.add_node(c["code"], bipartite=1, type="competence", label=c["label"], kind=c["kind"],
                       domain=c["domain"])
    for r in facts.requirements:
        graph.add_edge(r["mission"], r["competence"])
    return graph


def sides(graph: nx.Graph) -> tuple[list[str], list[str]]:
    """The missions and the competences of a bipartite graph, each in natural code order."""
    missions = sorted((n for n, d in graph.nodes(data=True) if d["type"] == "mission"), key=natural_key)
    competences = sorted((n for n, d in graph.nodes(data=True) if d["type"] == "competence"), key=natural_key)
    return missions, competences



def transversality(graph: nx.Graph) -> list[dict]:
    """Per competence: how many missions need it, its degree and betweenness centrality."""
    missions, competences = sides(graph)
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
    missions, _ = sides(graph)
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
    _, competences = sides(graph)
    return {
        "competences_needed_by_no_mission": [c for c in competences if graph.degree(c) == 0],
        "domains_absent_from_mission": [
            {"mission": r["mission"], "domain": r["domain"]} for r in facts.matrix if r["competences"] == 0
        ],
        "blocks_without_evaluation_rule": [b["code"] for b in facts.blocks if not b["block_rules"]],
        "domains_without_block": [d["code"] for d in facts.domains if not d.get("block")],
        "units_without_block": [u["code"] for u in facts.units if not u.get("block")],
    }


def numbering_gaps(codes) -> list[str]:
    """The codes missing from their series: for each prefix (the code without its final digits), every number from
    1 to the highest one written that no code has (RC1, RC2, RC5 → RC3, RC4), in natural order. A code without
    final digits belongs to no series."""
    series: dict[str, set[int]] = {}
    for code in codes:
        prefix = code.rstrip("0123456789")
        if prefix != code:
            series.setdefault(prefix, set()).add(int(code[len(prefix):]))
    return sorted((f"{prefix}{n}" for prefix, numbers in series.items()
                   for n in range(1, max(numbers)) if n not in numbers), key=natural_key)


def clusters(graph: nx.Graph, seed: int = 42) -> dict:
    """Competences grouped two ways: identical mission profiles, and Louvain communities of the co-requirement graph."""
    missions, competences = sides(graph)
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
        "method": f"Louvain sur la projection des co-exigences entre compétences (poids : missions communes, "
                  f"graine {seed})",
    }


def summary(graph: nx.Graph) -> dict:
    missions, competences = sides(graph)
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
