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

from cqp_graph.cli.app import (BaseOption, DataOption, GraphOption, app, console, err, fail, lazy, print_findings,
                               settings_from, write_text)
from cqp_graph.source.tables import DataError

pipeline = lazy("cqp_graph.graph.pipeline")
dumps = lazy("cqp_graph.publish.dumps")
assemble = lazy("cqp_graph.graph.assemble")
docs_pages = lazy("cqp_graph.present.docs")
ontology_doc = lazy("cqp_graph.present.ontology_doc")

PANEL = "The graph"


def summary_table(row: dict, title: str) -> RichTable:
    """A referential's summary row as a two-column table (name, value)."""
    table = RichTable(title=title, show_header=False)
    for key, value in row.items():
        table.add_row(key, str(value))
    return table


@app.command(rich_help_panel=PANEL)
def build(
    base: Optional[str] = BaseOption,
    data: Optional[Path] = DataOption,
    output: Optional[Path] = typer.Option(None, "--output", "-o",
                                          help="Where to write the dumps (default: $CQP_GRAPH_DIST or dist/)."),
    force: bool = typer.Option(False, help="Write the dumps even if the graph has violations "
                                           "(validation.json carries them)."),
):
    """Build the graph from data/ (every referential), validate it, write the dumps and print a summary."""
    settings = settings_from(base, data, output)
    started = time.perf_counter()
    with console.status("Lecture des données…") as status:
        try:
            built = pipeline.run_pipeline(settings, progress=lambda m: status.update(m[:1].upper() + m[1:] + "…"),
                                          require_valid=not force)
        except pipeline.InvalidGraph as exc:
            status.stop()
            print_findings(exc.report, settings)
            fail(f"{exc} ; {settings.dist_dir} est laissé tel quel", 1)
        except DataError as exc:
            fail(str(exc))
        status.update("Écriture des dumps…")
        written = dumps.write_dist(built.graph, settings.dist_dir, settings.base,
                                   extra={"validation.json": built.findings_json()})
    elapsed = time.perf_counter() - started
    summaries = built.knowledge.rows("certification-summary")
    if len(summaries) > 1:  # one table per referential, so that no row is read as the neighbour's
        for row in summaries:
            console.print(summary_table(row, f"Référentiel {row['referential']}"))
        table = RichTable(title="Synthèse du graphe", show_header=False)
    else:
        table = summary_table(summaries[0] if summaries else {}, "Synthèse du graphe")
    table.add_row("triplets", str(len(built.graph)))
    table.add_row("violations", str(built.report.count("Violation")))
    table.add_row("avertissements", str(built.report.count("Warning")))
    table.add_row("informations", str(built.report.count("Info")))
    console.print(table)
    if not built.valid:
        err.print(f"[yellow]attention :[/] {len(built.report.violations)} violation(s) publiée(s) malgré tout "
                  "(--force) ; voir validation.json", highlight=False)
    for path in written:
        console.print(f"  écrit {path} ({path.stat().st_size:,} octets)")
    console.print(f"build + validate: {elapsed:.2f} s")


@app.command(rich_help_panel=PANEL)
def validate(
    graph_file: Optional[Path] = GraphOption,
    base: Optional[str] = BaseOption,
    data: Optional[Path] = DataOption,
    fmt: str = typer.Option("table", "--format", help="table or json"),
    structure_only: bool = typer.Option(False, "--structure-only", help="Skip the quality shapes."),
):
    """Validate the whole graph (every referential) with shapes/; exit 1 on any sh:Violation.

    There is no --referential: a build publishes every referential or none, so the whole graph is validated.
    """
    settings = settings_from(base, data)
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
    if fmt == "json":
        print(json.dumps([f.as_dict() for f in report.findings], ensure_ascii=False, indent=1))
    else:
        print_findings(report, settings)
        console.print(f"{report.count('Violation')} violation(s), {report.count('Warning')} avertissement(s), "
                      f"{report.count('Info')} information(s)")
    raise typer.Exit(0 if report.conforms else 1)


def default_docs_folder(settings) -> Path:
    """docs/ of the project folder (the checkout, or $CQP_GRAPH_HOME); ./docs when cqp-graph is installed."""
    project = bool(os.environ.get("CQP_GRAPH_HOME")) or (settings.root / "pyproject.toml").is_file()
    return settings.root / "docs" if project else Path.cwd() / "docs"


@app.command(rich_help_panel=PANEL)
def docs(
    output: Optional[Path] = typer.Option(
        None, "--output", "-o",
        help="Folder for the generated documentation (default: docs/ of the project folder, i.e. of the "
             "checkout or $CQP_GRAPH_HOME; ./docs when cqp-graph is installed as a package)."),
):
    """Regenerate the documentation derived from the code and the ontology (data-format.md, ontology.html)."""
    settings = settings_from()
    output = output or default_docs_folder(settings)
    write_text(output / "data-format.md", docs_pages.data_format_markdown())
    write_text(output / "ontology.html", ontology_doc.ontology_html(assemble.load_ontology(settings), settings.base))
    console.print(f"écrit {output / 'data-format.md'} et {output / 'ontology.html'}")
