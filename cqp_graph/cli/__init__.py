"""The `cqp-graph` command line: one module per family of commands.

Lives here: argument parsing, progress and terminal output, and where the commands' files go. Not here: the
work itself, which each command asks of the stages (`cqp_graph.graph`, `cqp_graph.query`,
`cqp_graph.analyses`, `cqp_graph.exchange`, `cqp_graph.publish`, `cqp_graph.web`).

    app.py                the typer app, shared options, settings, the French error path, output helpers
    commands.py           the registry: imports each family below so its commands register on `app`
    graph_commands.py     build, validate, docs
    query_commands.py     query, queries, analyze
    report_commands.py    report, coverage, decide
    exchange_commands.py  import-rncp, export-rncp, export-elm, align-rome
    publish_commands.py   release
    serve_command.py      serve

`cqp_graph.cli:app` is the `cqp-graph` entry point (pyproject.toml's [project.scripts]).
"""

from cqp_graph.cli.commands import app, main

__all__ = ["app", "main"]
