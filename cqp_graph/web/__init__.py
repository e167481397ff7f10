"""The HTTP side of cqp-graph: SPARQL protocol, query API, linked-data pages (FastAPI)."""
