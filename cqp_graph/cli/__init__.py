"""The `cqp-graph` command line: one module per family of commands.

Lives here: argument parsing, progress and terminal output. Not here: the work itself, which each command
asks of the stages (`cqp_graph.graph`, `cqp_graph.query`, `cqp_graph.analyses`, `cqp_graph.exchange`,
`cqp_graph.publish`).
"""

from cqp_graph.cli.commands import app, main

__all__ = ["app", "main"]
