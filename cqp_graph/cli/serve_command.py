"""The command that serves the graph: `serve` (uvicorn with cqp-graph's connection limits).

Lives here: reading its options (extra graphs, workers, cache), the connection-layer limits handed to the
HTTP protocol, starting uvicorn. Not here: the application and what it serves (`cqp_graph.web.app`; its
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

PANEL = "Serving"


@app.command(rich_help_panel=PANEL)
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    workers: Optional[int] = typer.Option(None, help="SPARQL worker processes, each holding a copy of the graph "
                                                     "(default: CQP_GRAPH_WORKERS, 3)."),
    graph: Optional[Path] = typer.Option(None, "--graph", help="Serve this N-Triples dump (default: "
                                                               "$CQP_GRAPH_DIST/graph.nt, built if missing)."),
    graph_data: list[str] = typer.Option([], "--graph-data", help="IRI=FILE: also load FILE as the named graph IRI; repeatable."),
    merge: list[Path] = typer.Option([], "--merge", help="Also load FILE into the default graph (e.g. an RNCP import); repeatable."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Do not cache responses (for measuring)."),
    base: Optional[str] = BaseOption,
    data: Optional[Path] = DataOption,
):
    """Serve every referential: SPARQL endpoint, query API, linked-data pages, query editor (uvicorn)."""
    settings = settings_from(base, data)
    sources = []
    for item in graph_data:
        if "=" not in item:
            fail(f"--graph-data expects IRI=FILE, got {item!r}")
        iri, path = item.split("=", 1)
        if not Path(path).exists():
            fail(f"--graph-data: no such file {path}")
        sources.append(executor.Source(str(Path(path).resolve()), iri))
    for path in merge:
        if not path.exists():
            fail(f"--merge: no such file {path}")
        sources.append(executor.Source(str(path.resolve())))
    try:
        application = web_app.create_app(settings, graph_file=graph, extra_sources=sources, workers=workers,
                                         cache=not no_cache)
    except pipeline.InvalidGraph as exc:
        fail(str(exc), 1)
    except DataError as exc:
        fail(str(exc))
    limited = protocol.LimitedHttpToolsProtocol
    limited.max_header_bytes = settings.max_header_bytes
    limited.header_timeout = settings.header_timeout
    limited.body_timeout = settings.body_timeout
    limited.client_connections = settings.client_connections

    console.print(f"cqp-graph sur http://{host}:{port}/ — SPARQL : /sparql, éditeur : /query, API : /docs")
    uvicorn.run(application, host=host, port=port, log_level="warning", http=limited,
                timeout_keep_alive=settings.keep_alive, limit_concurrency=settings.max_connections or None,
                h11_max_incomplete_event_size=settings.max_header_bytes)
