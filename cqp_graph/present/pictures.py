"""Pictures of the referential (matplotlib): the mission–competence network, heat maps and bar charts, as SVG/PNG.

Lives here: drawing figures from figures already computed. Not here: the figures themselves (the bipartite
graph and its analyses are `cqp_graph.analyses.network`'s; the report is `cqp_graph.analyses.report`'s), which
this module does not import (analyses import pictures, never the other way round).

Figures are written as SVG with fixed metadata and a fixed hash salt, so the same data
gives the same bytes.
"""

from __future__ import annotations

import io

import matplotlib

from cqp_graph.numbers import natural_key

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import networkx as nx  # noqa: E402

matplotlib.rcParams["svg.hashsalt"] = "cqp-graph"
matplotlib.rcParams["svg.fonttype"] = "none"  # keep text as text: searchable and accessible
matplotlib.rcParams["font.family"] = "DejaVu Sans"

DOMAIN_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2"]


def _svg(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": "cqp-graph"})
    plt.close(fig)
    return buffer.getvalue()


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight", metadata={"Software": "cqp-graph"})
    plt.close(fig)
    return buffer.getvalue()


def domain_colours(domains: list[str]) -> dict[str, str]:
    return {d: DOMAIN_COLOURS[i % len(DOMAIN_COLOURS)] for i, d in enumerate(domains)}


def network_figure(graph: nx.Graph, domains: list[str], title: str):
    """Missions in a column on the left, competences on the right grouped by domain and kind.

    `graph` is a bipartite mission–competence graph as `cqp_graph.analyses.network.bipartite_graph` makes it:
    each node's `type` ("mission" or "competence") says its side, competences carry their `domain` and `kind`.
    The sides are read from those attributes here, so that pictures depend on no analysis module.
    """
    missions = sorted((n for n, d in graph.nodes(data=True) if d["type"] == "mission"), key=natural_key)
    competences = [n for n, d in graph.nodes(data=True) if d["type"] == "competence"]
    order = {d: i for i, d in enumerate(domains)}
    competences = sorted(competences, key=lambda c: (order.get(graph.nodes[c]["domain"], 99),
                                                     graph.nodes[c]["kind"], natural_key(c)))
    pos = {}
    for i, m in enumerate(missions):
        pos[m] = (0.0, 1 - (i + 0.5) / len(missions))
    for i, c in enumerate(competences):
        pos[c] = (1.0, 1 - (i + 0.5) / len(competences))
    colours = domain_colours(domains)
    fig, ax = plt.subplots(figsize=(9, 13))
    nx.draw_networkx_edges(graph, pos, ax=ax, alpha=0.25, width=0.8)
    nx.draw_networkx_nodes(graph, pos, nodelist=missions, node_color="#444444", node_size=900, ax=ax)
    nx.draw_networkx_labels(graph, {m: pos[m] for m in missions}, {m: m for m in missions},
                            font_color="white", font_size=10, ax=ax)
    for domain in domains:
        nodes = [c for c in competences if graph.nodes[c]["domain"] == domain]
        sizes = [60 + 60 * graph.degree(c) for c in nodes]
        nx.draw_networkx_nodes(graph, pos, nodelist=nodes, node_color=colours[domain], node_size=sizes,
                               ax=ax, label=f"domaine {domain}")
    unused = [c for c in competences if graph.degree(c) == 0]
    if unused:
        nx.draw_networkx_nodes(graph, pos, nodelist=unused, node_color="white", edgecolors="red",
                               linewidths=2, node_size=120, ax=ax, label="exigée par aucune mission")
    for c in competences:
        x, y = pos[c]
        ax.text(x + 0.03, y, f"{c} ({graph.degree(c)})", fontsize=7, va="center",
                color="red" if graph.degree(c) == 0 else "black")
    ax.set_xlim(-0.15, 1.35)
    ax.set_title(title, fontsize=12)
    ax.legend(loc="lower left", fontsize=8, frameon=False)
    ax.axis("off")
    return fig


def network_svg(graph: nx.Graph, domains: list[str],
                title: str = "Réseau missions – compétences (taille : nombre de missions)") -> bytes:
    return _svg(network_figure(graph, domains, title))


def network_png(graph: nx.Graph, domains: list[str],
                title: str = "Réseau missions – compétences (taille : nombre de missions)") -> bytes:
    return _png(network_figure(graph, domains, title))


def heatmap_figure(rows: list[str], columns: list[str], values: dict[tuple[str, str], float],
                   groups: list[tuple[str, int]], title: str, colorbar_label: str = ""):
    """A heat map of rows × columns; `groups` are (label, number of columns) bands drawn above the columns."""
    import numpy as np

    data = np.array([[values.get((r, c), 0) for c in columns] for r in rows], dtype=float)
    fig, ax = plt.subplots(figsize=(max(8, 0.28 * len(columns) + 2), 1.0 + 0.55 * len(rows)))
    image = ax.imshow(data, aspect="auto", cmap="YlGnBu", vmin=0, vmax=max(1.0, data.max()))
    ax.set_xticks(range(len(columns)), columns, rotation=90, fontsize=7)
    ax.set_yticks(range(len(rows)), rows, fontsize=9)
    start = 0
    for label, width in groups:
        if start:
            ax.axvline(start - 0.5, color="black", linewidth=1)
        ax.text(start + width / 2 - 0.5, -0.9, label, ha="center", va="bottom", fontsize=7)
        start += width
    ax.set_title(title, fontsize=11, pad=26)
    if colorbar_label:
        fig.colorbar(image, ax=ax, fraction=0.02, pad=0.01, label=colorbar_label)
    return fig


def heatmap_svg(*args, **kwargs) -> bytes:
    return _svg(heatmap_figure(*args, **kwargs))


def bar_svg(labels: list[str], series: dict[str, list[float]], title: str, ylabel: str) -> bytes:
    import numpy as np

    fig, ax = plt.subplots(figsize=(max(6, 0.8 * len(labels) + 2), 3.5))
    width = 0.8 / max(1, len(series))
    x = np.arange(len(labels))
    for i, (name, values) in enumerate(series.items()):
        ax.bar(x + i * width, values, width, label=name, color=DOMAIN_COLOURS[i % len(DOMAIN_COLOURS)])
    ax.set_xticks(x + width * (len(series) - 1) / 2, labels)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=11)
    if len(series) > 1:
        ax.legend(fontsize=8, frameon=False)
    return _svg(fig)
