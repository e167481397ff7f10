"""The registry of `cqp-graph`'s commands: importing each family registers its commands on `app`.

Lives here: the list of command families, in the order `cqp-graph --help` shows them, and `main`. Not here:
any command (each lives in its family's module: `graph_commands`, `query_commands`, `report_commands`,
`exchange_commands`, `publish_commands`, `serve_command`,
`store_commands`) nor the app and its shared options (`cli.app`).
"""

from cqp_graph.cli import graph_commands  # isort: skip  (the import order is the --help order)
from cqp_graph.cli import query_commands  # isort: skip
from cqp_graph.cli import report_commands  # isort: skip
from cqp_graph.cli import exchange_commands  # isort: skip
from cqp_graph.cli import publish_commands  # isort: skip
from cqp_graph.cli import serve_command  # isort: skip
from cqp_graph.cli import store_commands  # isort: skip
from cqp_graph.cli.app import app

FAMILIES = (graph_commands, query_commands, report_commands, exchange_commands, publish_commands, serve_command,
            store_commands)


def main():  # pragma: no cover
    app(prog_name="cqp-graph")


if __name__ == "__main__":  # pragma: no cover
    main()
