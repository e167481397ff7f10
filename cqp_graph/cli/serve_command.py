"""The command that serves the graph: `serve` (uvicorn with cqp-graph's connection limits).

Lives here: reading its options (extra graphs, workers, cache), the connection-layer limits handed to the
HTTP protocol, starting uvicorn. With `CQP_GRAPH_STORE` set, `serve` reads what `cqp-graph load` published
there (`cli.store_commands`), and refuses --graph, --merge and --graph-data. Not here: the application and what it serves (`cqp_graph.web.app`; its
state runs the pipeline, so an unvalidated graph is never served), the SPARQL workers
(`cqp_graph.web.executor`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from cqp_graph.cli.app import BaseOption, DataOption, app, console, fail, lazy, settings_from
from cqp_graph.source.tables import DataError

uvicorn = lazy("uvicorn")
web_app = lazy("cqp_graph.web.app")
executor = lazy("cqp_graph.web.executor")
protocol = lazy("cqp_graph.web.protocol")
pipeline = lazy("cqp_graph.graph.pipeline")

PANEL = "Service"


def unreadable_rdf(exc: SyntaxError) -> str:
    """The French message for an RDF file pyoxigraph could not parse: the file, the line, the parser's words."""
    where = f"{exc.filename} : " if exc.filename else ""
    line = f"ligne {exc.lineno} : " if exc.lineno else ""
    return f"{where}{line}fichier RDF illisible (message de l'analyseur : « {exc.msg} »)"


@app.command(rich_help_panel=PANEL)
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface d'écoute."),
    port: int = typer.Option(8000, help="Port d'écoute."),
    workers: Optional[int] = typer.Option(None, help="Processus SPARQL, chacun avec une copie du graphe ou le "
                                                     "magasin sur disque ouvert en lecture seule "
                                                     "(par défaut : CQP_GRAPH_WORKERS, 3)."),
    graph: Optional[Path] = typer.Option(None, "--graph", help="Servir ce dump N-Triples (par défaut : "
                                                               "$CQP_GRAPH_DIST/graph.nt, construit s'il manque)."),
    graph_data: list[str] = typer.Option([], "--graph-data", help="IRI=FICHIER : charger aussi FICHIER comme graphe nommé IRI ; répétable."),
    merge: list[Path] = typer.Option([], "--merge", help="Charger aussi FICHIER dans le graphe par défaut (par ex. un import RNCP) ; répétable."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Ne pas garder les réponses en cache (pour mesurer)."),
    base: Optional[str] = BaseOption,
    data: Optional[Path] = DataOption,
):
    """Sert tous les référentiels : point d'accès SPARQL, API des requêtes, pages, éditeur de requêtes (uvicorn)."""
    settings = settings_from(base, data)
    sources = []
    for item in graph_data:
        if "=" not in item:
            fail(f"--graph-data attend IRI=FICHIER, reçu « {item} »")
        iri, path = item.split("=", 1)
        if not Path(path).exists():
            fail(f"--graph-data : {path} : fichier introuvable")
        sources.append(executor.Source(str(Path(path).resolve()), iri))
    for path in merge:
        if not path.exists():
            fail(f"--merge : {path} : fichier introuvable")
        sources.append(executor.Source(str(path.resolve())))
    try:
        application = web_app.create_app(settings, graph_file=graph, extra_sources=sources, workers=workers,
                                         cache=not no_cache)
    except pipeline.InvalidGraph as exc:
        fail(str(exc), 1)
    except DataError as exc:
        fail(str(exc))
    except SyntaxError as exc:  # pyoxigraph's parser: an extra graph (--merge, --graph-data) that is not RDF
        if str(exc.filename or "").endswith(".py"):
            raise  # Python's own: a bug of ours, not a file the user gave
        fail(unreadable_rdf(exc))
    limited = protocol.LimitedHttpToolsProtocol
    limited.max_header_bytes = settings.max_header_bytes
    limited.header_timeout = settings.header_timeout
    limited.body_timeout = settings.body_timeout
    limited.client_connections = settings.client_connections

    console.print(f"cqp-graph sur http://{host}:{port}/ — SPARQL : /sparql, éditeur : /query, API : /docs")
    uvicorn.run(application, host=host, port=port, log_level="warning", http=limited,
                timeout_keep_alive=settings.keep_alive, limit_concurrency=settings.max_connections or None,
                h11_max_incomplete_event_size=settings.max_header_bytes)
