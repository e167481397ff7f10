"""Commands that exchange with other registries: `import-rncp`, `export-rncp`, `export-elm`, `align-rome`.

Lives here: reading their options, choosing the referential (`--referential`), writing what the exporters
return (through `cqp_graph.publish.atomic`), the import's progress bar and summary. Not here: the formats
themselves (`cqp_graph.exchange.rncp_import`, `.rncp_export`, `.elm`, `.rome`, `.sssom`), which return data
and write nothing (the streaming RNCP import excepted: it writes its Turtle as it reads).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Optional

import typer

from cqp_graph.cli.app import (BaseOption, DataOption, ReferentialOption, app, built_graph, choose_referential,
                               console, default_file, err, fail, lazy, os_reason, referential_rows, settings_from,
                               write_output, write_text)

assemble = lazy("cqp_graph.graph.assemble")
rncp_import = lazy("cqp_graph.exchange.rncp_import")
rncp_export = lazy("cqp_graph.exchange.rncp_export")
elm = lazy("cqp_graph.exchange.elm")
rome = lazy("cqp_graph.exchange.rome")
sssom = lazy("cqp_graph.exchange.sssom")
progress_bar = lazy("rich.progress")

PANEL = "Exchange (RNCP, Europass, ROME)"

#: file suffix → the ELM export's format
ELM_FORMATS = {".ttl": "turtle", ".turtle": "turtle", ".jsonld": "json-ld", ".json": "json-ld"}


@app.command("import-rncp", rich_help_panel=PANEL)
def import_rncp_command(
    export: Path = typer.Argument(..., help="France Compétences export (RNCP or RS fiches, flux 4.1)."),
    output: Path = typer.Option(..., "--output", "-o", help="Turtle file to write."),
    report_file: Optional[Path] = typer.Option(None, "--report", help="Also write the import report as JSON."),
    validate_shapes: bool = typer.Option(True, "--validate/--no-validate", help="Check fiches with shapes/rncp."),
    base: Optional[str] = BaseOption,
):
    """Import an RNCP / RS export, streaming (memory bounded); malformed fiches are reported, not fatal."""
    settings = settings_from(base)
    if not export.exists():
        fail(f"{export} : fichier introuvable")
    shapes = assemble.load_input_shapes(settings, "rncp", "rncp") if validate_shapes else None
    with progress_bar.Progress("[progress.description]{task.description}", progress_bar.BarColumn(),
                               progress_bar.DownloadColumn(), progress_bar.TimeRemainingColumn(),
                               console=err) as progress:
        task = progress.add_task(f"Import {export.name}", total=export.stat().st_size)
        try:
            report = rncp_import.import_rncp(export, output, settings.base, lambda n: progress.advance(task, n),
                                             shapes=shapes)
        except ValueError as exc:
            fail(str(exc))
        except OSError as exc:
            fail(f"{exc.filename or export} : lecture ou écriture impossible ({os_reason(exc)})")
    summary = report.as_dict()
    console.print(f"{summary['fiches']} fiches ({summary['rncp']} RNCP, {summary['rs']} RS), {summary['blocks']} blocs, "
                  f"{summary['items']} compétences listées, {summary['skipped']} fiches écartées → {output}")
    console.print(f"découpage des listes de compétences : {summary['itemisation']}")
    for problem in summary["problems"]:
        err.print(f"[yellow]problème[/] {problem}", highlight=False)
    if report_file:
        write_text(report_file, json.dumps(summary, ensure_ascii=False, indent=1) + "\n")
    raise typer.Exit(0 if not summary["problems"] else 3)


@app.command("export-rncp", rich_help_panel=PANEL)
def export_rncp_command(
    output: Path = typer.Option(..., "--output", "-o", help="XML file to write (France Compétences export shape)."),
    referential: Optional[str] = ReferentialOption,
    base: Optional[str] = BaseOption,
    data: Optional[Path] = DataOption,
):
    """Write one referential's certification as an RNCP fiche (flux 4.1 element names and order)."""
    settings = settings_from(base, data)
    built = built_graph(settings)
    chosen = choose_referential(built, referential)
    try:
        xml = rncp_export.export_rncp(built.knowledge, settings, chosen.name)
    except ValueError as exc:
        fail(str(exc))
    write_output(output, xml)


@app.command("export-elm", rich_help_panel=PANEL)
def export_elm_command(
    output: Path = typer.Option(..., "--output", "-o", help="FILE.ttl (Turtle) or FILE.jsonld (JSON-LD)"),
    referential: Optional[str] = ReferentialOption,
    base: Optional[str] = BaseOption,
    data: Optional[Path] = DataOption,
):
    """Export one referential's certification to the European Learning Model (ELM) for Europass."""
    fmt = ELM_FORMATS.get(output.suffix.lower())
    if fmt is None:
        fail(f"{output} : écrire un fichier .ttl (Turtle) ou .jsonld (JSON-LD)")
    settings = settings_from(base, data)
    built = built_graph(settings)
    chosen = choose_referential(built, referential)
    try:
        document = elm.export_elm(built.knowledge, settings, chosen.name, fmt)
    except ValueError as exc:  # elm.MissingSetting names the value publication.csv lacks
        fail(str(exc))
    write_output(output, document)


@app.command("align-rome", rich_help_panel=PANEL)
def align_rome(
    suggest: bool = typer.Option(True, "--suggest/--no-suggest", help="Write suggestions for review."),
    rome_folder: Path = typer.Option(Path("../shared/rome"), "--rome",
                                     help="Folder of the ROME 4.0 open-data CSV files (default: ../shared/rome, "
                                          "from the current folder)."),
    all_items: bool = typer.Option(False, "--all-items",
                                   help="Search every ROME item, not only those of the job sheets the referential is "
                                        "aligned with and their parents (agc-alimentaire: D1401, D1409, D1432)."),
    top: int = typer.Option(3, help="Suggestions per competence."),
    output: Optional[Path] = typer.Option(
        None, "--output", "-o",
        help="CSV to write (default: $CQP_GRAPH_DIST/rome-suggestions.csv, and rome-suggestions-NAME.csv when the "
             "data holds several referentials)."),
    sssom_file: Optional[Path] = typer.Option(
        None, "--sssom", help="Write the reviewed mappings (of every referential) as an SSSOM TSV to this file "
                              "instead of suggesting (no ROME files needed)."),
    referential: Optional[str] = ReferentialOption,
    base: Optional[str] = BaseOption,
    data: Optional[Path] = DataOption,
):
    """Suggest ROME 4.0 counterparts of one referential's competences, for review; or (--sssom) write the SSSOM set.

    Suggestions: TF-IDF over the French labels, no network. With --sssom, the reviewed mappings of every
    referential are written as an SSSOM mapping set instead.
    """
    settings = settings_from(base, data)
    if sssom_file is not None:
        built = built_graph(settings)
        try:
            text = sssom.sssom_tsv(built.graph, settings.base)
        except sssom.SSSOMError as exc:
            fail(str(exc))
        write_text(sssom_file, text)
        console.print(f"{len(sssom.mapping_rows(built.graph, settings.base)[1])} correspondances revues (SSSOM) "
                      f"→ {sssom_file}")
        return
    if not suggest:
        fail("nothing to do: --suggest writes candidates; reviewed mappings live in data/<referential>/rome-mappings.csv")
    built = built_graph(settings)
    chosen = choose_referential(built, referential)
    try:
        sheets = None if all_items else rome.candidate_sheets(built.knowledge, rome_folder, chosen.name)
        items = rome.load_rome(rome_folder, sheets)
    except FileNotFoundError as exc:
        fail(str(exc))
    output = output or default_file(settings, built, chosen, "rome-suggestions.csv")
    competences = referential_rows(built, chosen, "competences")
    with console.status(f"Similarité de {len(competences)} compétences avec {len(items)} éléments du ROME…"):
        rows = rome.suggest(competences, items, top=top)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]) if rows else ["subject_id"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_text(output, buffer.getvalue())
    console.print(f"{len(rows)} suggestions pour {len({r['subject_id'] for r in rows})} compétences → {output}")
    console.print("Revoir, puis reporter les correspondances retenues dans data/<référentiel>/rome-mappings.csv.")
