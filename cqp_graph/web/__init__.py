"""The HTTP side of cqp-graph: SPARQL protocol, query API per referential, linked-data pages (FastAPI).

Lives here: the server (`app`), what it holds (`state`), its routes (`api_routes`, `linked_data`, `sparql`,
`register_routes` for the RNCP / RS register, `search_routes` for the search; `paging`: the
`limit`/`offset`/`format` of every list), its
SPARQL workers (`executor`) and connection limits (`protocol`). Not here: the graph and its queries (the pipeline
and the knowledge layer: `cqp_graph.graph`, `cqp_graph.query`), the templates (`cqp_graph.present`).
"""
