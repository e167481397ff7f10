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
                               choose_referential, console, default_folder, fail, lazy, output_folder_option,
                               settings_from, write_output)
from cqp_graph.numbers import decimal

catalogue = lazy("cqp_graph.query.catalogue")
formats = lazy("cqp_graph.query.formats")
knowledge = lazy("cqp_graph.query.knowledge")
network = lazy("cqp_graph.analyses.network")
pictures = lazy("cqp_graph.present.pictures")

PANEL = "Requêtes et analyses"


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
    name: str = typer.Argument(..., help="Nom d'une requête de queries/ (voir `cqp-graph queries`)."),
    param: list[str] = typer.Option([], "--param", "-p", help="Paramètre sous la forme nom=valeur ; répétable."),
    fmt: str = typer.Option("table", "--format", "-f", help="table (pour lire), csv ou json (pour un programme)."),
    referential: Optional[str] = typer.Option(
        None, "--referential", metavar="NOM",
        help="Seulement ce référentiel (lié au paramètre `referential` des requêtes qui le déclarent) ; sans lui, "
             "tous les référentiels des données répondent."),
    graph_file: Optional[Path] = GraphOption,
    base: Optional[str] = BaseOption,
    data: Optional[Path] = DataOption,
):
    """Exécute une requête nommée ; les paramètres sont liés à ses variables, jamais collés dans son texte.

    Un code inconnu (mission, bloc, voie, compétence) est une erreur qui propose les codes proches."""
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
    try:  # an unknown referential or code is an error naming the known (or closest) ones, not an empty table
        catalogue.check_values(built.knowledge, named, values)
        table = built.knowledge.table(name, values)
    except catalogue.QueryError as exc:
        fail(str(exc))
    if fmt == "json":
        sys.stdout.write(formats.to_json(table) + "\n")
    elif fmt == "csv":
        sys.stdout.write(formats.to_csv(table))
    else:
        console.print(formats.to_rich(table, title=named.title, headers=named.headers))


@app.command("queries", rich_help_panel=PANEL)
def list_queries():
    """Liste les requêtes nommées et leurs paramètres."""
    settings = settings_from()
    table = RichTable(title="Requêtes nommées", expand=True)
    table.add_column("nom", no_wrap=True, min_width=24)
    table.add_column("titre", ratio=2)
    table.add_column("paramètres", ratio=2)
    for q in named_queries(settings):
        table.add_row(q.name, q.title, ", ".join(f"{p.name} ({p.type}, ex. {p.example})" for p in q.params))
    console.print(table)


@app.command(rich_help_panel=PANEL)
def analyze(
    output: Optional[Path] = output_folder_option("d'analyses.json et de network.svg", "analyses"),
    referential: Optional[str] = ReferentialOption,
    graph_file: Optional[Path] = GraphOption,
    base: Optional[str] = BaseOption,
    data: Optional[Path] = DataOption,
):
    """Analyses de réseau d'un référentiel (networkx) : transversalité, similarité, lacunes, groupes."""
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
                  f"{s['requirements']} exigences, densité {decimal(s['density'], 3)}[/]")
    top = RichTable(title="Compétences les plus transversales", expand=True)
    for column in ("code", "domaine", "nature"):
        top.add_column(column, no_wrap=True)
    top.add_column("missions", ratio=1)
    top.add_column("centralité (degré)", justify="right")
    top.add_column("intermédiarité", justify="right")
    for row in results["transversality"][:10]:
        top.add_row(row["code"], str(row["domain"]), row["kind"], " ".join(row["missions"]),
                    decimal(row["degree_centrality"], 3), decimal(row["betweenness_centrality"], 3))
    console.print(top)
    sim = RichTable(title="Similarité des missions (Jaccard)")
    for column in ("mission", "mission"):
        sim.add_column(column, no_wrap=True)
    for column in ("Jaccard", "compétences partagées"):
        sim.add_column(column, justify="right")
    for row in results["similarity"]:
        sim.add_row(row["mission_a"], row["mission_b"], decimal(row["jaccard"], 3), str(len(row["shared"])))
    console.print(sim)
    gaps = results["gaps"]
    console.print("[bold]Lacunes de couverture[/]")
    console.print(f"  compétences exigées par aucune mission : {', '.join(gaps['competences_needed_by_no_mission']) or '—'}")
    console.print("  domaines absents d'une mission : " + (", ".join(
        f"{g['mission']}/{g['domain']}" for g in gaps["domains_absent_from_mission"]) or "—"))
    console.print(f"  blocs sans règle d'évaluation : {', '.join(gaps['blocks_without_evaluation_rule']) or '—'}")
    console.print(f"  unités sans bloc : {', '.join(gaps['units_without_block']) or '—'}")
    console.print(f"[bold]Groupes[/] ({results['clusters']['method']}, modularité "
                  f"{decimal(results['clusters']['modularity'], 3)})")
    for community in results["clusters"]["communities"]:
        console.print(f"  groupe {community['id']} ({' '.join(community['missions'])}) : {' '.join(community['competences'])}")
