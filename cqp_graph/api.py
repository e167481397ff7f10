"""`cqp_graph.api:app`: the server on the embedded default (settings from the environment).

    uvicorn cqp_graph.api:app        # or: cqp-graph serve
"""

from __future__ import annotations

import sys

from cqp_graph.config import SettingsError
from cqp_graph.web.app import create_app

try:
    app = create_app()
except SettingsError as exc:  # a bad CQP_GRAPH_* value: its one French message, no traceback
    print(f"erreur : {exc}", file=sys.stderr)
    raise SystemExit(2) from None
