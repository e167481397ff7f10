"""`python3 -m cqp_graph ...` runs the `cqp-graph` command (whatever the PATH holds).

Lives here: that entry point only. Not here: the commands (`cqp_graph.cli`).
"""

from cqp_graph.cli import main

main()
