"""Stage 3, querying: the knowledge layer every caller goes through, the store, the named queries, result formats.

Lives here: the knowledge layer (`knowledge`: one object over a store and the query catalogue, the seam where
another store plugs in), the Oxigraph store (`store`), the named queries of queries/ with their parameters
(`catalogue`), a SELECT result as a terminal table, CSV or JSON (`formats`), the full-text search index
(`search`). Not here: the HTTP SPARQL
protocol (`cqp_graph.web.sparql`), what the answers mean (`cqp_graph.analyses`).
"""
