"""Commands that measure one referential or judge against it: `report`, `coverage`, `decide`.

Lives here: reading their options, choosing the referential (`--referential`), printing or writing what the
analyses return, and their French error messages for bad input files. Not here: the figures and decisions
(`cqp_graph.analyses.report`, `.coverage`, `.decisions`), reading the input files (`cqp_graph.inputs`), the
pages (`cqp_graph.present.render`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from cqp_graph.cli.app import (BaseOption, DataOption, ReferentialOption, StdoutOption, app, built_graph,
                               choose_referential, console, default_folder, emit, fail, lazy, output_folder_option,
                               settings_from, write_output)

report_figures = lazy("cqp_graph.analyses.report")
coverage_analysis = lazy("cqp_graph.analyses.coverage")
decisions = lazy("cqp_graph.analyses.decisions")
inputs = lazy("cqp_graph.inputs.files")
render = lazy("cqp_graph.present.render")
knowledge = lazy("cqp_graph.query.knowledge")

PANEL = "Rapports et décisions"

FileReferentialOption = typer.Option(
    None, "--referential", metavar="NOM",
    help="Référentiel visé par le fichier (le nom de son dossier dans data/) ; facultatif quand les données n'en "
         "ont qu'un ou que le fichier le nomme (`referential:`).")


def read_against_referential(base, data, referential: Optional[str], read):
    """`read(settings, knowledge)` over the graph of `--base`/`--data`, `--referential` checked first when given; a
    bad input file or an unknown referential ends the command with its French message (exit 2)."""
    settings = settings_from(base, data)
    built = built_graph(settings)
    if referential is not None:
        choose_referential(built, referential)
    try:
        return read(settings, built.knowledge)
    except (inputs.InputError, knowledge.UnknownReferential) as exc:
        fail(str(exc))


@app.command(rich_help_panel=PANEL)
def report(
    output: Optional[Path] = output_folder_option("des fichiers du rapport", "rapport"),
    referential: Optional[str] = ReferentialOption,
    base: Optional[str] = BaseOption,
    data: Optional[Path] = DataOption,
):
    """Rapport de couverture d'un référentiel : HTML (autonome, en français), Markdown, CSV, JSON et SVG."""
    settings = settings_from(base, data)
    with console.status("Rapport de couverture du référentiel…") as status:
        built = built_graph(settings, quality=True,  # the report lists the quality findings
                            progress=lambda m: status.update(m[:1].upper() + m[1:] + "…"))
        chosen = choose_referential(built, referential)
        output = output or default_folder(settings, built, chosen, "rapport")
        status.update(f"Requêtes et analyses de {chosen.name}…")
        figures = report_figures.referential_report(built, chosen.name)
        status.update("Images et pages…")
        files = render.referential_report_files(figures)
        for name, content in files.items():
            write_output(output / name, content, say=False)
    for name in files:
        console.print(f"  écrit {output / name}")


@app.command(rich_help_panel=PANEL)
def coverage(
    programme: Path = typer.Argument(..., help="Fichier du programme (YAML ou CSV) ; voir le README."),
    fmt: str = typer.Option("html", "--format", "-f", help="html, csv ou json"),
    output: Optional[Path] = StdoutOption,
    referential: Optional[str] = FileReferentialOption,
    base: Optional[str] = BaseOption,
    data: Optional[Path] = DataOption,
):
    """Couverture d'un référentiel par un programme de formation."""
    if fmt not in ("html", "csv", "json"):
        fail("--format vaut html, csv ou json")
    result = read_against_referential(base, data, referential, lambda settings, known: (
        coverage_analysis.coverage_of_file(programme, settings, known, referential)))
    text = {"html": render.programme_html, "csv": render.programme_csv, "json": render.to_json}[fmt](result)
    emit(text, output)


@app.command(rich_help_panel=PANEL)
def decide(
    results: Path = typer.Argument(..., help="Résultats d'un candidat (YAML ou JSON) ; voir le README."),
    fmt: str = typer.Option("text", "--format", "-f", help="text (pour lire) ou json"),
    output: Optional[Path] = StdoutOption,
    referential: Optional[str] = FileReferentialOption,
    base: Optional[str] = BaseOption,
    data: Optional[Path] = DataOption,
):
    """Décision par bloc et pour le CQP entier, chacune avec la règle qui l'a prise et les chiffres comparés."""
    if fmt not in ("text", "json"):
        fail("--format vaut text ou json")
    try:  # a bad file (InputError, a ValueError) has already ended the command with its message
        decision = read_against_referential(base, data, referential, lambda settings, known: (
            decisions.decide_file(results, settings, known, referential)))
    except ValueError as exc:
        fail(f"{results}: {exc}")
    text = decisions.decision_text(decision) if fmt == "text" else json.dumps(decision, ensure_ascii=False,
                                                                               indent=1) + "\n"
    emit(text, output)
