"""The `cqp-graph` command."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table as RichTable

from cqp_graph.config import Settings, SettingsError
from cqp_graph.source.tables import DataError

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="CQP referentials as a validated RDF knowledge graph.")
console = Console()
err = Console(stderr=True)

GraphOption = typer.Option(None, "--graph", help="Read this RDF dump instead of building from data/.")
BaseOption = typer.Option(None, "--base", help="Base IRI (default: $CQP_GRAPH_BASE or https://w3id.org/cqp-graph/).")
DataOption = typer.Option(None, "--data", help="Folder of referentials (default: data/).")


def _settings(base: Optional[str] = None, data: Optional[Path] = None, dist: Optional[Path] = None) -> Settings:
    if base and not base.endswith(("/", "#")):
        base += "/"
    try:
        return Settings.from_env(base=base, data_dir=data, dist_dir=dist)
    except SettingsError as exc:
        _fail(str(exc))


def _fail(message: str, code: int = 2):
    err.print(f"[bold red]erreur :[/] {message}", highlight=False)
    raise typer.Exit(code)


def _os_reason(exc: OSError) -> str:
    """The system's reason for a failed read or write, in French for the usual ones."""
    import errno

    return {errno.ENOENT: "fichier ou dossier introuvable", errno.EACCES: "droits insuffisants",
            errno.EPERM: "opération non permise", errno.EISDIR: "c'est un dossier",
            errno.ENOTDIR: "un élément du chemin n'est pas un dossier", errno.ENOSPC: "disque plein",
            errno.EROFS: "système de fichiers en lecture seule"}.get(
        exc.errno, f"erreur système : {exc.strerror or exc}")


def _graph(settings: Settings, graph_file: Optional[Path]):
    from rdflib import Graph

    from cqp_graph.graph.assemble import build_graph

    if graph_file:
        try:
            return Graph().parse(graph_file)
        except Exception as exc:
            _fail(f"{graph_file} : le graphe n'a pas pu être lu (message de rdflib : {exc})")
    try:
        return build_graph(settings)
    except DataError as exc:
        _fail(str(exc))


def _short(iri: str, settings: Settings) -> str:
    return iri[len(settings.base):] if iri.startswith(settings.base) else iri


def print_findings(report, settings: Settings, limit: int | None = None):
    colours = {"Violation": "red", "Warning": "yellow", "Info": "cyan"}
    table = RichTable(title="Constats SHACL", show_lines=False)
    for column in ("sévérité", "nœud", "chemin", "message"):
        table.add_column(column, overflow="fold")
    for f in report.findings[:limit]:
        table.add_row(f"[{colours.get(f.severity, 'white')}]{f.severity}[/]", _short(f.focus, settings),
                      f.path or "", f.message)
    console.print(table)
    if limit is not None and len(report.findings) > limit:
        console.print(f"… et {len(report.findings) - limit} autres constats (cqp-graph validate pour tout voir)")


@app.command()
def build(
    base: Optional[str] = BaseOption,
    data: Optional[Path] = DataOption,
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Where to write the dumps (default: dist/)."),
    force: bool = typer.Option(False, help="Write the dumps even if the graph has violations."),
):
    """Build the graph from data/, validate it, write dist/ and print a summary."""
    from cqp_graph.publish.dumps import write_dist
    from cqp_graph.graph.assemble import build_graph, load_shapes
    from cqp_graph.query.catalogue import QueryCatalogue, run_named
    from cqp_graph.query.store import store_from_graph
    from cqp_graph.graph.validate import validate_graph

    settings = _settings(base, data, output)
    started = time.perf_counter()
    with console.status("Lecture des données…") as status:
        try:
            graph = build_graph(settings, progress=lambda msg: status.update(f"Construction : {msg}"))
        except DataError as exc:
            _fail(str(exc))
        status.update(f"Validation SHACL de {len(graph)} triplets…")
        report = validate_graph(graph, load_shapes(settings))
        if report.violations and not force:
            print_findings(report, settings)
            _fail(f"{len(report.violations)} violation(s): dist/ is left as it was", 1)
        status.update("Écriture des dumps…")
        findings = json.dumps([f.as_dict() for f in report.findings], ensure_ascii=False, indent=1)
        written = write_dist(graph, settings.dist_dir, settings.base,
                             extra={"validation.json": findings.encode("utf-8")})
    elapsed = time.perf_counter() - started
    store = store_from_graph(graph)
    summary = run_named(store, QueryCatalogue(settings.queries_dir).get("certification-summary"), {}, settings.base)
    table = RichTable(title="Synthèse du graphe", show_header=False)
    for row in summary.rows:
        for key, value in row.items():
            table.add_row(key, str(value))
    table.add_row("triplets", str(len(graph)))
    table.add_row("violations", str(report.count("Violation")))
    table.add_row("avertissements", str(report.count("Warning")))
    table.add_row("informations", str(report.count("Info")))
    console.print(table)
    for path in written:
        console.print(f"  écrit {path} ({path.stat().st_size:,} octets)")
    console.print(f"build + validate: {elapsed:.2f} s")


@app.command()
def validate(
    graph_file: Optional[Path] = GraphOption,
    base: Optional[str] = BaseOption,
    data: Optional[Path] = DataOption,
    fmt: str = typer.Option("table", "--format", help="table or json"),
    structure_only: bool = typer.Option(False, "--structure-only", help="Skip the quality shapes."),
):
    """Validate the graph with shapes/; exit 1 on any sh:Violation."""
    from cqp_graph.graph.assemble import load_shapes
    from cqp_graph.graph.validate import validate_graph

    settings = _settings(base, data)
    graph = _graph(settings, graph_file)
    with console.status("Validation SHACL…"):
        report = validate_graph(graph, load_shapes(settings, quality=not structure_only))
    if fmt == "json":
        print(json.dumps([f.as_dict() for f in report.findings], ensure_ascii=False, indent=1))
    else:
        print_findings(report, settings)
        console.print(f"{report.count('Violation')} violation(s), {report.count('Warning')} avertissement(s), "
                      f"{report.count('Info')} information(s)")
    raise typer.Exit(0 if report.conforms else 1)


def _parse_params(params: list[str]) -> dict[str, str]:
    values = {}
    for item in params:
        if "=" not in item:
            _fail(f"--param attend nom=valeur, reçu « {item} »")
        key, value = item.split("=", 1)
        values[key.strip()] = value
    return values


@app.command()
def query(
    name: str = typer.Argument(..., help="Name of a query in queries/ (see `cqp-graph queries`)."),
    param: list[str] = typer.Option([], "--param", "-p", help="Parameter as name=value; repeatable."),
    fmt: str = typer.Option("table", "--format", "-f", help="table, csv or json"),
    graph_file: Optional[Path] = GraphOption,
    base: Optional[str] = BaseOption,
    data: Optional[Path] = DataOption,
):
    """Run a named query; parameters are bound to the query's variables, never pasted into it."""
    from cqp_graph.query.catalogue import QueryCatalogue, QueryError, run_named
    from cqp_graph.query.formats import FORMATS, to_csv, to_json, to_rich
    from cqp_graph.query.store import store_from_graph

    if fmt not in FORMATS:
        _fail(f"--format vaut {', '.join(FORMATS)}")
    settings = _settings(base, data)
    try:
        named = QueryCatalogue(settings.queries_dir).get(name)
        values = _parse_params(param)
        named.bindings(values)  # check the parameters before building anything
        table = run_named(store_from_graph(_graph(settings, graph_file)), named, values, settings.base)
    except QueryError as exc:
        _fail(str(exc))
    if fmt == "json":
        sys.stdout.write(to_json(table) + "\n")
    elif fmt == "csv":
        sys.stdout.write(to_csv(table))
    else:
        console.print(to_rich(table, title=named.title))


@app.command("queries")
def list_queries():
    """List the named queries with their parameters."""
    from cqp_graph.query.catalogue import QueryCatalogue

    settings = _settings()
    table = RichTable(title="Requêtes nommées")
    for column in ("nom", "titre", "paramètres"):
        table.add_column(column, overflow="fold")
    for q in QueryCatalogue(settings.queries_dir):
        table.add_row(q.name, q.title, ", ".join(f"{p.name} ({p.type}, ex. {p.example})" for p in q.params))
    console.print(table)


@app.command()
def analyze(
    output: Optional[Path] = typer.Option(None, "--output", "-o",
                                          help="Folder for analyses.json and pictures (default: dist/analyses)."),
    graph_file: Optional[Path] = GraphOption,
    base: Optional[str] = BaseOption,
    data: Optional[Path] = DataOption,
):
    """Network analyses (networkx): transversality, mission similarity, coverage gaps, clusters."""
    from cqp_graph.present import pictures
    from cqp_graph.analyses.network import ReferentialFacts, bipartite_graph, run_all
    from cqp_graph.publish.atomic import write_bytes
    from cqp_graph.query.catalogue import QueryCatalogue
    from cqp_graph.query.store import store_from_graph

    settings = _settings(base, data)
    output = output or settings.dist_dir / "analyses"
    with console.status("Analyses…"):
        facts = ReferentialFacts.load(store_from_graph(_graph(settings, graph_file)),
                                      QueryCatalogue(settings.queries_dir), settings.base)
        results = run_all(facts)
        graph = bipartite_graph(facts)
        domains = [d["code"] for d in facts.domains]
        write_bytes(output / "analyses.json",
                    (json.dumps(results, ensure_ascii=False, indent=1) + "\n").encode("utf-8"))
        write_bytes(output / "network.svg", pictures.network_svg(graph, domains))
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
    console.print(f"écrit {output / 'analyses.json'} et {output / 'network.svg'}")


@app.command()
def report(
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Folder for the report files (default: dist/rapport)."),
    base: Optional[str] = BaseOption,
    data: Optional[Path] = DataOption,
):
    """Coverage report of the referential: HTML (self-contained, French), Markdown, CSV, JSON and SVG."""
    from cqp_graph.analyses.report import referential_report
    from cqp_graph.present.render import write_referential_report
    from cqp_graph.query.store import store_from_graph

    settings = _settings(base, data)
    output = output or settings.dist_dir / "rapport"
    with console.status("Rapport de couverture du référentiel…") as status:
        graph = _graph(settings, None)
        status.update("Requêtes, analyses et validation…")
        figures = referential_report(graph, store_from_graph(graph), settings)
        status.update("Images et pages…")
        written = write_referential_report(figures, output)
    for path in written:
        console.print(f"  écrit {path}")


def _emit(text: str, output: Optional[Path]):
    from cqp_graph.publish.atomic import write_text

    if output:
        write_text(output, text)
        console.print(f"écrit {output}")
    else:
        sys.stdout.write(text)


@app.command()
def coverage(
    programme: Path = typer.Argument(..., help="Programme file (YAML or CSV); see the README."),
    fmt: str = typer.Option("html", "--format", "-f", help="html, csv or json"),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write here instead of standard output."),
    referential: Optional[str] = typer.Option(None, help="Referential folder name, if data/ holds several."),
    base: Optional[str] = BaseOption,
    data: Optional[Path] = DataOption,
):
    """Coverage of the referential by a training programme."""
    from cqp_graph.analyses.coverage import coverage_of_file
    from cqp_graph.inputs.files import InputError
    from cqp_graph.present.render import programme_csv, programme_html, to_json

    if fmt not in ("html", "csv", "json"):
        _fail("--format vaut html, csv ou json")
    settings = _settings(base, data)
    try:
        result = coverage_of_file(programme, settings, _graph(settings, None), referential)
    except InputError as exc:
        _fail(str(exc))
    text = {"html": programme_html, "csv": programme_csv, "json": to_json}[fmt](result)
    _emit(text, output)


@app.command()
def decide(
    results: Path = typer.Argument(..., help="A candidate's results (YAML or JSON); see the README."),
    fmt: str = typer.Option("text", "--format", "-f", help="text or json"),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write here instead of standard output."),
    referential: Optional[str] = typer.Option(None, help="Referential folder name, if data/ holds several."),
    base: Optional[str] = BaseOption,
    data: Optional[Path] = DataOption,
):
    """Decision per block and for the whole CQP, each with the rule that decided it and the figures compared."""
    from cqp_graph.analyses.decisions import decide_file, decision_text
    from cqp_graph.inputs.files import InputError

    if fmt not in ("text", "json"):
        _fail("--format vaut text ou json")
    settings = _settings(base, data)
    try:
        decision = decide_file(results, settings, _graph(settings, None), referential)
    except InputError as exc:
        _fail(str(exc))
    except ValueError as exc:
        _fail(f"{results}: {exc}")
    text = decision_text(decision) if fmt == "text" else json.dumps(decision, ensure_ascii=False, indent=1) + "\n"
    _emit(text, output)


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    workers: Optional[int] = typer.Option(None, help="SPARQL worker processes, each holding a copy of the graph "
                                                     "(default: CQP_GRAPH_WORKERS, 3)."),
    graph: Optional[Path] = typer.Option(None, "--graph", help="Serve this N-Triples dump (default: dist/graph.nt, built if missing)."),
    graph_data: list[str] = typer.Option([], "--graph-data", help="IRI=FILE: also load FILE as the named graph IRI; repeatable."),
    merge: list[Path] = typer.Option([], "--merge", help="Also load FILE into the default graph (e.g. an RNCP import); repeatable."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Do not cache responses (for measuring)."),
    base: Optional[str] = BaseOption,
    data: Optional[Path] = DataOption,
):
    """Serve the graph: SPARQL endpoint, query API, linked-data pages, query editor (uvicorn)."""
    import uvicorn

    from cqp_graph.web.app import create_app
    from cqp_graph.web.executor import Source

    settings = _settings(base, data)
    sources = []
    for item in graph_data:
        if "=" not in item:
            _fail(f"--graph-data expects IRI=FILE, got {item!r}")
        iri, path = item.split("=", 1)
        if not Path(path).exists():
            _fail(f"--graph-data: no such file {path}")
        sources.append(Source(str(Path(path).resolve()), iri))
    for path in merge:
        if not path.exists():
            _fail(f"--merge: no such file {path}")
        sources.append(Source(str(path.resolve())))
    try:
        application = create_app(settings, graph_file=graph, extra_sources=sources, workers=workers,
                                 cache=not no_cache)
    except DataError as exc:
        _fail(str(exc))
    from cqp_graph.web.protocol import LimitedHttpToolsProtocol

    LimitedHttpToolsProtocol.max_header_bytes = settings.max_header_bytes
    LimitedHttpToolsProtocol.header_timeout = settings.header_timeout
    LimitedHttpToolsProtocol.body_timeout = settings.body_timeout
    LimitedHttpToolsProtocol.client_connections = settings.client_connections

    console.print(f"cqp-graph sur http://{host}:{port}/ — SPARQL : /sparql, éditeur : /query, API : /docs")
    uvicorn.run(application, host=host, port=port, log_level="warning", http=LimitedHttpToolsProtocol,
                timeout_keep_alive=settings.keep_alive, limit_concurrency=settings.max_connections or None,
                h11_max_incomplete_event_size=settings.max_header_bytes)


@app.command("import-rncp")
def import_rncp_command(
    export: Path = typer.Argument(..., help="France Compétences export (RNCP or RS fiches, flux 4.1)."),
    output: Path = typer.Option(..., "--output", "-o", help="Turtle file to write."),
    report_file: Optional[Path] = typer.Option(None, "--report", help="Also write the import report as JSON."),
    validate_shapes: bool = typer.Option(True, "--validate/--no-validate", help="Check fiches with shapes/rncp."),
    base: Optional[str] = BaseOption,
):
    """Import an RNCP / RS export, streaming (memory bounded); malformed fiches are reported, not fatal."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

    from cqp_graph.publish.atomic import write_text
    from cqp_graph.graph.assemble import load_input_shapes
    from cqp_graph.exchange.rncp_import import import_rncp

    settings = _settings(base)
    if not export.exists():
        _fail(f"{export} : fichier introuvable")
    shapes = load_input_shapes(settings, "rncp", "rncp") if validate_shapes else None
    with Progress("[progress.description]{task.description}", BarColumn(), DownloadColumn(), TimeRemainingColumn(),
                  console=err) as progress:
        task = progress.add_task(f"Import {export.name}", total=export.stat().st_size)
        try:
            report = import_rncp(export, output, settings.base, lambda n: progress.advance(task, n), shapes=shapes)
        except ValueError as exc:
            _fail(str(exc))
        except OSError as exc:
            _fail(f"{exc.filename or export} : lecture ou écriture impossible ({_os_reason(exc)})")
    summary = report.as_dict()
    console.print(f"{summary['fiches']} fiches ({summary['rncp']} RNCP, {summary['rs']} RS), {summary['blocks']} blocs, "
                  f"{summary['items']} compétences listées, {summary['skipped']} fiches écartées → {output}")
    console.print(f"découpage des listes de compétences : {summary['itemisation']}")
    for problem in summary["problems"]:
        err.print(f"[yellow]problème[/] {problem}", highlight=False)
    if report_file:
        write_text(report_file, json.dumps(summary, ensure_ascii=False, indent=1) + "\n")
    raise typer.Exit(0 if not summary["problems"] else 3)


@app.command("export-rncp")
def export_rncp_command(
    output: Path = typer.Option(..., "--output", "-o", help="XML file to write (France Compétences export shape)."),
    base: Optional[str] = BaseOption,
    data: Optional[Path] = DataOption,
):
    """Write the certification as an RNCP fiche (flux 4.1 element names and order)."""
    from cqp_graph.exchange.rncp_export import export_rncp

    _export(export_rncp, output, base, data)


def _export(writer, output: Path, base: Optional[str], data: Optional[Path]) -> None:
    """Run an exporter on the built graph; a value it cannot write is a clear error."""
    from cqp_graph.query.store import store_from_graph

    settings = _settings(base, data)
    try:
        writer(store_from_graph(_graph(settings, None)), settings, output)
    except ValueError as exc:
        _fail(str(exc))
    console.print(f"écrit {output}")


@app.command("export-elm")
def export_elm_command(
    output: Path = typer.Option(..., "--output", "-o", help="FILE.ttl or FILE.jsonld"),
    base: Optional[str] = BaseOption,
    data: Optional[Path] = DataOption,
):
    """Export the certification to the European Learning Model (elm:Qualification) for Europass."""
    from cqp_graph.exchange.elm import export_elm

    _export(export_elm, output, base, data)


@app.command()
def release(
    version: str = typer.Argument(..., help="MAJOR.MINOR.PATCH"),
    output: Optional[Path] = typer.Option(None, "--output", "-o",
                                          help="Folder holding one folder per release (default: dist/releases)."),
    allow_missing: bool = typer.Option(False, "--allow-missing",
                                       help="Release without the ELM export when a value it needs is unknown "
                                            "(the release says so)."),
    base: Optional[str] = BaseOption,
    data: Optional[Path] = DataOption,
):
    """A dated, versioned release: dumps, ELM and RNCP exports, DCAT/VoID, PROV, checksums, changes."""
    from cqp_graph.publish.release import ReleaseError, make_release

    settings = _settings(base, data)
    output = output or settings.dist_dir / "releases"
    with console.status("Publication…") as status:
        try:
            target = make_release(settings, version, output, allow_missing,
                                  progress=lambda m: status.update(f"Publication {version} : {m}"))
        except (ReleaseError, DataError) as exc:
            _fail(str(exc))
    for path in sorted(target.iterdir()):
        console.print(f"  {path.name} ({path.stat().st_size:,} octets)")
    console.print(f"version {version} publiée dans {target}")


@app.command("align-rome")
def align_rome(
    suggest: bool = typer.Option(True, "--suggest/--no-suggest", help="Write suggestions for review."),
    rome: Path = typer.Option(Path("../shared/rome"), "--rome", help="Folder of the ROME 4.0 open-data CSV files."),
    all_items: bool = typer.Option(False, "--all-items", help="Search every ROME item, not only those of D1401/D1409/D1432."),
    top: int = typer.Option(3, help="Suggestions per competence."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="CSV to write (default: dist/rome-suggestions.csv)."),
    sssom: Optional[Path] = typer.Option(None, "--sssom", help="Write the reviewed mappings as an SSSOM TSV to this "
                                         "file instead of suggesting (no ROME files needed)."),
    base: Optional[str] = BaseOption,
    data: Optional[Path] = DataOption,
):
    """Suggest ROME 4.0 counterparts of each competence (TF-IDF over French labels, no network) for review;
    with --sssom, write the reviewed mappings as an SSSOM mapping set instead."""
    import csv
    import io

    from cqp_graph.publish.atomic import write_text
    from cqp_graph.query.catalogue import QueryCatalogue, run_named
    from cqp_graph.exchange.rome import CANDIDATE_SHEETS, load_rome
    from cqp_graph.exchange.rome import suggest as suggest_items
    from cqp_graph.query.store import store_from_graph

    settings = _settings(base, data)
    if sssom is not None:
        from cqp_graph.exchange.sssom import SSSOMError, mapping_rows, sssom_tsv

        graph = _graph(settings, None)
        try:
            text = sssom_tsv(graph, settings.base)
        except SSSOMError as exc:
            _fail(str(exc))
        write_text(sssom, text)
        console.print(f"{len(mapping_rows(graph, settings.base)[1])} correspondances revues (SSSOM) → {sssom}")
        return
    output = output or settings.dist_dir / "rome-suggestions.csv"
    if not suggest:
        _fail("nothing to do: --suggest writes candidates; reviewed mappings live in data/<referential>/rome-mappings.csv")
    try:
        items = load_rome(rome, None if all_items else CANDIDATE_SHEETS)
    except FileNotFoundError as exc:
        _fail(str(exc))
    store = store_from_graph(_graph(settings, None))
    competences = run_named(store, QueryCatalogue(settings.queries_dir).get("competences"), {}, settings.base).rows
    with console.status(f"Similarité de {len(competences)} compétences avec {len(items)} éléments du ROME…"):
        rows = suggest_items(competences, items, top=top)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]) if rows else ["subject_id"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_text(output, buffer.getvalue())
    console.print(f"{len(rows)} suggestions pour {len({r['subject_id'] for r in rows})} compétences → {output}")
    console.print("Revoir, puis reporter les correspondances retenues dans data/<référentiel>/rome-mappings.csv.")


@app.command()
def docs(
    output: Path = typer.Option(Path("docs"), "--output", "-o", help="Folder for the generated documentation."),
):
    """Regenerate the documentation derived from the code and the ontology (docs/)."""
    from cqp_graph.publish.atomic import write_text
    from cqp_graph.present.docs import data_format_markdown

    from cqp_graph.graph.assemble import load_ontology
    from cqp_graph.present.ontology_doc import ontology_html

    write_text(output / "data-format.md", data_format_markdown())
    write_text(output / "ontology.html", ontology_html(load_ontology(_settings()), _settings().base))
    console.print(f"écrit {output / 'data-format.md'} et {output / 'ontology.html'}")


def main():  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
