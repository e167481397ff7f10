"""Stage 2, the graph: the ontology plus every referential folder, assembled and validated with SHACL.

Lives here: the one pipeline load → build → validate → store (`pipeline`), loading Turtle folders, the
ontology and the shapes, assembling the whole graph (`assemble`), SHACL validation read as findings
(`validate`). Not here: querying the graph (`cqp_graph.query`), writing it to files (`cqp_graph.publish`).
"""
