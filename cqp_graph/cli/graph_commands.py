"""Commands about the graph as a whole: `build`, `validate`, `docs`.

Lives here: building and publishing the dumps (`build`), printing the SHACL report (`validate`), regenerating
the documentation derived from the code (`docs`). Not here: the stages they run (`cqp_graph.graph.pipeline`,
`cqp_graph.publish.dumps`, `cqp_graph.present.docs`), commands about one referential (`cli.query_commands`,
`cli.report_commands`, `cli.exchange_commands`).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table as RichTable

from cqp_graph.cli.app import (BaseOption, DataOption, GraphOption, app, console, err, fail, findings_summary, lazy,
                               print_findings, settings_from, write_text)
from cqp_graph.numbers import decimal, integer
from cqp_graph.source.tables import DataError

pipeline = lazy("cqp_graph.graph.pipeline")
dumps = lazy("cqp_graph.publish.dumps")
assemble = lazy("cqp_graph.graph.assemble")
docs_pages = lazy("cqp_graph.present.docs")
ontology_doc = lazy("cqp_graph.present.ontology_doc")
validation = lazy("cqp_graph.graph.validate")

PANEL = "Le graphe"


def summary_table(row: dict, title: str, headers: dict[str, str] | None = None) -> RichTable:
    """A referential's summary row as a two-column table (the column's French title, value)."""
    table = RichTable(title=title, show_header=False)
    for key, value in row.items():
        table.add_row((headers or {}).get(key, key), str(value))
    return table


@app.command(rich_help_panel=PANEL)
def build(
    base: Optional[str] = BaseOption,
    data: Optional[Path] = DataOption,
    output: Optional[Path] = typer.Option(None, "--output", "-o",
                                          help="Dossier où écrire les dumps (par défaut : $CQP_GRAPH_DIST ou dist/)."),
    force: bool = typer.Option(False, help="Écrire les dumps même si le graphe a des violations "
                                           "(validation.json les porte)."),
):
    """Construit le graphe depuis data/ (tous les référentiels), le valide, écrit les dumps et affiche une synthèse."""
    settings = settings_from(base, data, output)
    started = time.perf_counter()
    with console.status("Lecture des données…") as status:
        try:
            built = pipeline.run_pipeline(settings, progress=lambda m: status.update(m[:1].upper() + m[1:] + "…"),
                                          require_valid=not force)
        except pipeline.InvalidGraph as exc:
            status.stop()
            print_findings(validation.locate(exc.report, settings).violations, settings)
            fail(f"{exc} ; {settings.dist_dir} est laissé tel quel", 1)
        except DataError as exc:
            fail(str(exc))
        status.update("Écriture des dumps…")
        located = validation.locate(built.report, settings)  # validation.json names each finding's file and line
        findings_json = json.dumps([f.as_dict() for f in located.findings], ensure_ascii=False, indent=1)
        from cqp_graph.query.search import SEARCH_FILE, SearchIndex  # the search index, as an SQLite file

        written = dumps.write_dist(built.graph, settings.dist_dir, settings.base,
                                   extra={"validation.json": findings_json.encode("utf-8"),
                                          SEARCH_FILE: SearchIndex.build(built.knowledge).to_bytes()})
    elapsed = time.perf_counter() - started
    summaries = built.knowledge.rows("certification-summary")
    headers = built.knowledge.catalogue.get("certification-summary").headers
    if len(summaries) > 1:  # one table per referential, so that no row is read as the neighbour's
        for row in summaries:
            console.print(summary_table(row, f"Référentiel {row['referential']}", headers))
        table = RichTable(title="Synthèse du graphe", show_header=False)
    else:
        table = summary_table(summaries[0] if summaries else {}, "Synthèse du graphe", headers)
    table.add_row("triplets", integer(len(built.graph)))
    table.add_row("violations", str(built.report.count("Violation")))
    table.add_row("avertissements", str(built.report.count("Warning")))
    table.add_row("informations", str(built.report.count("Info")))
    console.print(table)
    if not built.valid:
        err.print(f"[yellow]attention :[/] {len(built.report.violations)} violation(s) publiée(s) malgré tout "
                  "(--force) ; voir validation.json", highlight=False)
    for path in written:
        console.print(f"  écrit {path} ({integer(path.stat().st_size)} octets)")
    console.print(f"construction et validation : {decimal(elapsed)} s")


@app.command(rich_help_panel=PANEL)
def validate(
    graph_file: Optional[Path] = GraphOption,
    base: Optional[str] = BaseOption,
    data: Optional[Path] = DataOption,
    fmt: str = typer.Option("table", "--format", help="table (pour lire) ou json (pour un programme)."),
    severity: Optional[str] = typer.Option(
        None, "--severity", metavar="GRAVITÉ",
        help="N'afficher que les constats de cette gravité : violation, avertissement (warning) ou "
             "information (info)."),
    structure_only: bool = typer.Option(False, "--structure-only",
                                        help="Sans les formes de qualité (seulement la structure)."),
):
    """Valide le graphe entier (tous les référentiels) avec shapes/ ; code de sortie 1 s'il y a une violation.

    Chaque constat dit, en français, le fichier CSV et la ligne de data/ à corriger. Il n'y a pas de
    --referential : une construction publie tous les référentiels ou aucun, donc tout le graphe est validé.
    """
    if fmt not in ("table", "json"):
        fail("--format vaut table ou json")
    settings = settings_from(base, data)
    wanted = None
    if severity is not None:  # the French names are the shapes' labels of sh:Violation, sh:Warning, sh:Info
        labels = validation.severity_labels(assemble.load_shapes(settings, quality=False))
        wanted = validation.severity_key(severity, labels)
        if wanted is None:
            names = ", ".join(labels[k].casefold() for k in validation.SEVERITY_ORDER)
            fail(f"--severity : « {severity[:40]} » inconnue (valeurs : {names} ; ou "
                 f"{', '.join(k.casefold() for k in validation.SEVERITY_ORDER)})")
    with console.status("Validation SHACL…"):
        try:
            if graph_file is not None:
                report = pipeline.open_dump(settings, graph_file, require_valid=False,
                                                 quality=not structure_only).report
            else:
                report = pipeline.run_pipeline(settings, require_valid=False, quality=not structure_only).report
        except pipeline.InvalidGraph as exc:  # the report is what this command is asked for
            report = exc.report
        except DataError as exc:
            fail(str(exc))
        if graph_file is None:  # built from data/: each finding names the CSV file and line to edit
            report = validation.locate(report, settings)
    shown = report.of_severity(wanted)
    if fmt == "json":
        print(json.dumps([f.as_dict() for f in shown], ensure_ascii=False, indent=1))
    else:
        print_findings(shown, settings)
        console.print(findings_summary(report, len(shown)))
    raise typer.Exit(0 if report.conforms else 1)


def default_docs_folder(settings) -> Path:
    """docs/ of the project folder (the checkout, or $CQP_GRAPH_HOME); ./docs when cqp-graph is installed."""
    project = bool(os.environ.get("CQP_GRAPH_HOME")) or (settings.root / "pyproject.toml").is_file()
    return settings.root / "docs" if project else Path.cwd() / "docs"


@app.command(rich_help_panel=PANEL)
def docs(
    output: Optional[Path] = typer.Option(
        None, "--output", "-o",
        help="Dossier de la documentation produite (par défaut : docs/ du dossier du projet, c.-à-d. du "
             "dépôt ou de $CQP_GRAPH_HOME ; ./docs quand cqp-graph est installé comme paquet)."),
):
    """Régénère la documentation tirée du code et de l'ontologie (data-format.md, ontology.html)."""
    settings = settings_from()
    output = output or default_docs_folder(settings)
    write_text(output / "data-format.md", docs_pages.data_format_markdown())
    write_text(output / "ontology.html", ontology_doc.ontology_html(assemble.load_ontology(settings), settings.base))
    console.print(f"écrit {output / 'data-format.md'} et {output / 'ontology.html'}")
