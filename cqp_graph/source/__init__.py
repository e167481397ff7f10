"""Stage 1, reading the source: the CSV tables of a referential folder, their mapping to RDF, wording variants.

Lives here: which tables exist and how they are read (`tables`), the CSV → RDF mapping of one referential
folder (`referential`), how two wordings of one item differ (`variants`), generated referential folders for tests
and benchmarks (`generate`). Not here: assembling several
folders with the ontology (`cqp_graph.graph`), files people upload (`cqp_graph.inputs`).
"""
