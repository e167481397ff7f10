"""`python3 -m cqp_graph ...` runs the `cqp-graph` command (whatever the PATH holds)."""

from cqp_graph.cli import app

app(prog_name="cqp-graph")
