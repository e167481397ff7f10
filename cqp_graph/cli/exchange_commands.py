"""Commands that exchange with other registries: `import-rncp`, `export-rncp`, `export-elm`, `align-rome`, and the
generators of test material `generate-rncp` (an RNCP / RS export) and `generate-referential` (a data folder).

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
rncp_generate = lazy("cqp_graph.exchange.rncp_generate")
referential_generate = lazy("cqp_graph.source.generate")
elm = lazy("cqp_graph.exchange.elm")
rome = lazy("cqp_graph.exchange.rome")
sssom = lazy("cqp_graph.exchange.sssom")
progress_bar = lazy("rich.progress")

PANEL = "Échanges (RNCP, Europass, ROME)"

#: file suffix → the ELM export's format
ELM_FORMATS = {".ttl": "turtle", ".turtle": "turtle", ".jsonld": "json-ld", ".json": "json-ld"}


#: how the import split a block's competence list (cqp:itemisation), as a person reads it
ITEMISATION = {"codes": "par codes (C1, C.1.…)", "bullets": "par puces", "none": "non découpée"}


def itemisation_text(counts: dict[str, int]) -> str:
    """« 9 listes par codes (C1, C.1.…), 22 par puces, 22 non découpées » ; « aucune liste » for none."""
    if not counts:
        return "aucune liste"
    parts = []
    for method in sorted(counts, key=lambda m: list(ITEMISATION).index(m) if m in ITEMISATION else len(ITEMISATION)):
        n, how = counts[method], ITEMISATION.get(method, method)
        if method == "none" and n > 1:
            how = "non découpées"
        parts.append(f"{n} {how}")
    total = sum(counts.values())
    return f"{total} liste{'s' if total > 1 else ''} : " + ", ".join(parts)


@app.command("import-rncp", rich_help_panel=PANEL)
def import_rncp_command(
    export: Path = typer.Argument(..., help="Export de France Compétences (fiches RNCP ou RS, flux 4.1)."),
    output: Path = typer.Option(..., "--output", "-o", help="Fichier N-Triples à écrire (c'est aussi du Turtle : .nt ou .ttl)."),
    report_file: Optional[Path] = typer.Option(None, "--report", help="Écrire aussi le rapport d'import en JSON dans ce fichier."),
    validate_shapes: bool = typer.Option(True, "--validate/--no-validate", help="Vérifier les fiches avec les formes SHACL de shapes/rncp."),
    base: Optional[str] = BaseOption,
):
    """Importe un export RNCP / RS au fil de la lecture (mémoire bornée) ; une fiche malformée est signalée, les autres gardées."""
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
    console.print(f"découpage des listes de compétences des blocs : {itemisation_text(summary['itemisation'])}")
    for problem in summary["problems"]:
        err.print(f"[yellow]problème[/] {problem}", highlight=False)
    if report_file:
        write_text(report_file, json.dumps(summary, ensure_ascii=False, indent=1) + "\n")
    raise typer.Exit(0 if not summary["problems"] else 3)


@app.command("generate-rncp", rich_help_panel=PANEL)
def generate_rncp_command(
    fiches: int = typer.Option(..., "--fiches", min=0, help="Nombre de fiches à écrire (RNCP et RS)."),
    seed: int = typer.Option(0, "--seed", help="Graine : la même graine donne le même fichier."),
    output: Path = typer.Option(..., "--output", "-o", help="Fichier XML à écrire (forme du flux 4.1)."),
):
    """Écrit un export RNCP / RS généré, de la forme de celui de France Compétences (pour les mesures et les tests)."""
    settings = settings_from()
    if fiches > settings.generate_max_fiches:
        fail(f"--fiches {fiches} : au plus {settings.generate_max_fiches} fiches (réglage CQP_GRAPH_GENERATE_MAX_FICHES)")
    with progress_bar.Progress("[progress.description]{task.description}", progress_bar.BarColumn(),
                               progress_bar.MofNCompleteColumn(), progress_bar.TimeRemainingColumn(),
                               console=err) as progress:
        task = progress.add_task(f"Génération de {output.name}", total=fiches)
        try:
            summary = rncp_generate.generate_rncp(output, fiches, seed, lambda n: progress.advance(task, n))
        except OSError as exc:
            fail(f"{exc.filename or output} : écriture impossible ({os_reason(exc)})")
    console.print(f"{summary.fiches} fiches ({summary.rncp} RNCP, {summary.rs} RS), {summary.blocks} blocs, "
                  f"{summary.active} actives, {summary.replaced} remplacées, {summary.bytes / 1e6:.1f} Mo → {output}")


@app.command("generate-referential", rich_help_panel=PANEL)
def generate_referential_command(
    name: str = typer.Argument(..., help="Nom du référentiel (celui de son dossier : minuscules, chiffres, tirets)."),
    missions: int = typer.Option(..., "--missions", min=1, help="Nombre de missions."),
    seed: int = typer.Option(0, "--seed", help="Graine : la même graine donne les mêmes fichiers."),
    output: Path = typer.Option(..., "--output", "-o", help="Dossier de données où écrire NOM/ (par exemple une copie de data/)."),
):
    """Écrit un référentiel généré (un dossier de fichiers CSV au format de data/) pour les tests et les mesures."""
    import re

    settings = settings_from()
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", name):
        fail(f"« {name} » : un nom de référentiel s'écrit en minuscules, chiffres et tirets")
    if missions > settings.generate_max_missions:
        fail(f"--missions {missions} : au plus {settings.generate_max_missions} missions "
             "(réglage CQP_GRAPH_GENERATE_MAX_MISSIONS)")
    folder = output / name
    if folder.exists():
        fail(f"{folder} existe déjà : choisir un autre nom ou un autre dossier (rien n'est remplacé)")
    files = referential_generate.generate_referential(name, missions, seed)
    try:
        folder.mkdir(parents=True)
    except OSError as exc:
        fail(f"{exc.filename or folder} : écriture impossible ({os_reason(exc)})")
    for table, text in files.items():
        write_text(folder / table, text)
    console.print(f"référentiel {name} ({missions} missions, {len(files)} fichiers) → {folder}")


@app.command("export-rncp", rich_help_panel=PANEL)
def export_rncp_command(
    output: Path = typer.Option(..., "--output", "-o", help="Fichier XML à écrire (forme de l'export de France Compétences)."),
    referential: Optional[str] = ReferentialOption,
    base: Optional[str] = BaseOption,
    data: Optional[Path] = DataOption,
):
    """Écrit la certification d'un référentiel en fiche RNCP (éléments et ordre du flux 4.1)."""
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
    output: Path = typer.Option(..., "--output", "-o", help="FICHIER.ttl (Turtle) ou FICHIER.jsonld (JSON-LD)"),
    referential: Optional[str] = ReferentialOption,
    base: Optional[str] = BaseOption,
    data: Optional[Path] = DataOption,
):
    """Exporte la certification d'un référentiel dans l'European Learning Model (ELM) d'Europass."""
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
    suggest: bool = typer.Option(True, "--suggest/--no-suggest", help="Écrire des suggestions à revoir."),
    rome_folder: Path = typer.Option(Path("../shared/rome"), "--rome",
                                     help="Dossier des fichiers CSV open data du ROME 4.0 (par défaut : "
                                          "../shared/rome, depuis le dossier courant)."),
    all_items: bool = typer.Option(False, "--all-items",
                                   help="Chercher dans tout le ROME, pas seulement dans les fiches métier auxquelles le "
                                        "référentiel est aligné et leurs parents (agc-alimentaire : D1401, D1409, "
                                        "D1432)."),
    top: int = typer.Option(3, help="Suggestions par compétence."),
    output: Optional[Path] = typer.Option(
        None, "--output", "-o",
        help="CSV à écrire (par défaut : $CQP_GRAPH_DIST/rome-suggestions.csv, et rome-suggestions-NOM.csv quand les "
             "données ont plusieurs référentiels)."),
    sssom_file: Optional[Path] = typer.Option(
        None, "--sssom", help="Écrire dans ce fichier les correspondances revues (de tous les référentiels) en TSV "
                              "SSSOM au lieu de suggérer (sans fichiers du ROME)."),
    referential: Optional[str] = ReferentialOption,
    base: Optional[str] = BaseOption,
    data: Optional[Path] = DataOption,
):
    """Suggère, pour revue, les équivalents ROME 4.0 des compétences d'un référentiel ; ou (--sssom) écrit le jeu SSSOM.

    Suggestions : TF-IDF sur les libellés français, sans réseau. Avec --sssom, les correspondances revues de
    tous les référentiels sont écrites en jeu de correspondances SSSOM.
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
        fail("rien à faire : --suggest écrit des candidats ; les correspondances revues sont dans "
             "data/<référentiel>/rome-mappings.csv")
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
