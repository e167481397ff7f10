"""Stage 3, querying: the SPARQL store, the catalogue of named queries, result formats.

Lives here: the Oxigraph store (`store`), the named queries of queries/ with their parameters
(`catalogue`), a SELECT result as a terminal table, CSV or JSON (`formats`). Not here: the HTTP SPARQL
protocol (`cqp_graph.web.sparql`), what the answers mean (`cqp_graph.analyses`).
"""
