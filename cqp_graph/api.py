"""`cqp_graph.api:app`: the server on the embedded default (settings from the environment).

    uvicorn cqp_graph.api:app        # or: cqp-graph serve
"""

from __future__ import annotations

from .web.app import create_app

app = create_app()
