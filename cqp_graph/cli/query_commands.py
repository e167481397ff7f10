"""Commands that ask the graph: `query` (a named query), `queries` (the catalogue), `analyze` (networkx).

Lives here: reading their options, binding `--param` and `--referential` to a named query, printing tables
and the analyses' summary, writing the analyses' files. Not here: the queries (`queries/`, run through
`cqp_graph.query.knowledge`), the analyses (`cqp_graph.analyses.network`), the pictures
(`cqp_graph.present.pictures`).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table as RichTable

from cqp_graph.cli.app import (BaseOption, DataOption, GraphOption, ReferentialOption, app, built_graph,
                               choose_referential, console, default_folder, fail, lazy, settings_from, write_output)

catalogue = lazy("cqp_graph.query.catalogue")
formats = lazy("cqp_graph.query.formats")
knowledge = lazy("cqp_graph.query.knowledge")
network = lazy("cqp_graph.analyses.network")
pictures = lazy("cqp_graph.present.pictures")

PANEL = "Queries and analyses"


def named_queries(settings):
    """The catalogue of named queries alone (no graph needed)."""
    return knowledge.Knowledge.catalogue_of(settings)


def parse_params(params: list[str]) -> dict[str, str]:
    values = {}
    for item in params:
        if "=" not in item:
            fail(f"--param attend nom=valeur, reçu « {item} »")
        key, value = item.split("=", 1)
        values[key.strip()] = value
    return values


@app.command(rich_help_panel=PANEL)
def query(
    name: str = typer.Argument(..., help="Name of a query in queries/ (see `cqp-graph queries`)."),
    param: list[str] = typer.Option([], "--param", "-p", help="Parameter as name=value; repeatable."),
    fmt: str = typer.Option("table", "--format", "-f", help="table, csv or json"),
    referential: Optional[str] = typer.Option(
        None, "--referential", metavar="NAME",
        help="Only this referential (bound to the query's `referential` parameter, for the queries that declare "
             "it); without it, every referential of the data is answered."),
    graph_file: Optional[Path] = GraphOption,
    base: Optional[str] = BaseOption,
    data: Optional[Path] = DataOption,
):
    """Run a named query; parameters are bound to the query's variables, never pasted into it."""
    if fmt not in formats.FORMATS:
        fail(f"--format vaut {', '.join(formats.FORMATS)}")
    settings = settings_from(base, data)
    values = parse_params(param)
    if referential is not None:
        if values.get("referential", referential) != referential:
            fail(f"--referential {referential} et --param referential={values['referential']} se contredisent")
        values["referential"] = referential
    try:
        named = named_queries(settings).get(name)
        named.bindings(values)  # check the parameters before building anything
    except catalogue.QueryError as exc:
        fail(str(exc))
    built = built_graph(settings, graph_file)
    try:  # an unknown referential name is an UnknownReferential naming the known ones, not an empty table
        table = built.knowledge.table(name, values)
    except catalogue.QueryError as exc:
        fail(str(exc))
    if fmt == "json":
        sys.stdout.write(formats.to_json(table) + "\n")
    elif fmt == "csv":
        sys.stdout.write(formats.to_csv(table))
    else:
        console.print(formats.to_rich(table, title=named.title))


@app.command("queries", rich_help_panel=PANEL)
def list_queries():
    """List the named queries with their parameters."""
    settings = settings_from()
    table = RichTable(title="Requêtes nommées")
    for column in ("nom", "titre", "paramètres"):
        table.add_column(column, overflow="fold")
    for q in named_queries(settings):
        table.add_row(q.name, q.title, ", ".join(f"{p.name} ({p.type}, ex. {p.example})" for p in q.params))
    console.print(table)


@app.command(rich_help_panel=PANEL)
def analyze(
    output: Optional[Path] = typer.Option(
        None, "--output", "-o",
        help="Folder for analyses.json and network.svg (default: $CQP_GRAPH_DIST/analyses, and "
             "…/analyses/NAME when the data holds several referentials)."),
    referential: Optional[str] = ReferentialOption,
    graph_file: Optional[Path] = GraphOption,
    base: Optional[str] = BaseOption,
    data: Optional[Path] = DataOption,
):
    """Network analyses of one referential (networkx): transversality, similarity, gaps, clusters."""
    settings = settings_from(base, data)
    with console.status("Analyses…") as status:
        built = built_graph(settings, graph_file)
        chosen = choose_referential(built, referential)
        output = output or default_folder(settings, built, chosen, "analyses")
        status.update(f"Analyses de {chosen.name}…")
        facts = network.ReferentialFacts.load(built.knowledge, chosen.name)
        results = network.run_all(facts)
        graph = network.bipartite_graph(facts)
        domains = [d["code"] for d in facts.domains]
        write_output(output / "analyses.json",
                     (json.dumps(results, ensure_ascii=False, indent=1) + "\n").encode("utf-8"), say=False)
        write_output(output / "network.svg", pictures.network_svg(graph, domains), say=False)
    print_analyses(results)
    console.print(f"écrit {output / 'analyses.json'} et {output / 'network.svg'}")


def print_analyses(results: dict):
    """The analyses' summary in the terminal: figures, the most transversal competences, similarity, gaps,
    clusters."""
    s = results["summary"]
    console.print(f"[bold]{s['missions']} missions, {s['coded_competences']} compétences codées, "
                  f"{s['requirements']} exigences, densité {s['density']}[/]")
    top = RichTable(title="Compétences les plus transversales")
    for column in ("code", "domaine", "nature", "missions", "centralité (degré)", "intermédiarité"):
        top.add_column(column)
    for row in results["transversality"][:10]:
        top.add_row(row["code"], str(row["domain"]), row["kind"], " ".join(row["missions"]),
                    str(row["degree_centrality"]), str(row["betweenness_centrality"]))
    console.print(top)
    sim = RichTable(title="Similarité des missions (Jaccard)")
    for column in ("mission", "mission", "Jaccard", "compétences partagées"):
        sim.add_column(column, overflow="fold")
    for row in results["similarity"]:
        sim.add_row(row["mission_a"], row["mission_b"], str(row["jaccard"]), str(len(row["shared"])))
    console.print(sim)
    gaps = results["gaps"]
    console.print("[bold]Lacunes de couverture[/]")
    console.print(f"  compétences exigées par aucune mission : {', '.join(gaps['competences_needed_by_no_mission']) or '—'}")
    console.print("  domaines absents d'une mission : " + (", ".join(
        f"{g['mission']}/{g['domain']}" for g in gaps["domains_absent_from_mission"]) or "—"))
    console.print(f"  blocs sans règle d'évaluation : {', '.join(gaps['blocks_without_evaluation_rule']) or '—'}")
    console.print(f"  unités sans bloc : {', '.join(gaps['units_without_block']) or '—'}")
    console.print(f"[bold]Groupes[/] ({results['clusters']['method']}, modularité {results['clusters']['modularity']})")
    for community in results["clusters"]["communities"]:
        console.print(f"  groupe {community['id']} ({' '.join(community['missions'])}) : {' '.join(community['competences'])}")
