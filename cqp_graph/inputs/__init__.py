"""Files people write and hand to cqp-graph: training programmes and candidates' results.

Lives here: line-numbered reading and the errors that name file, line and field (`files`), a programme
(`programme`), a candidate's results (`candidates`), each turned into RDF and checked by its shape. Not here:
what is computed from them (`cqp_graph.analyses.coverage`, `cqp_graph.analyses.decisions`).
"""
