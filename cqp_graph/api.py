"""`cqp_graph.api:app`: the server on the embedded default (settings from the environment).

    uvicorn cqp_graph.api:app        # or: cqp-graph serve

Lives here: that module-level application, and the French one-line refusal when it cannot be made (a bad
CQP_GRAPH_* setting, data that do not build, a graph with a SHACL violation). Not here: the application itself
(`cqp_graph.web.app`).
"""

from __future__ import annotations

import sys

from cqp_graph.config import SettingsError
from cqp_graph.source.tables import DataError
from cqp_graph.web.app import create_app

try:
    app = create_app()
except (SettingsError, DataError) as exc:  # its one French message, no traceback (nothing invalid is served)
    print(f"erreur : {exc}", file=sys.stderr)
    raise SystemExit(2) from None
