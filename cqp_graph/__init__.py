"""cqp-graph: CQP referentials as a validated RDF knowledge graph.

Lives here: the top-level pieces every stage uses (`config`: every setting and where things are;
`namespaces`: the IRI scheme; `numbers`: codes and figures the French way), the server entry point (`api`)
and one sub-package per stage, in the order of the pipeline: source → graph → query → inputs, analyses,
exchange → publish, present → web, cli. Not here: the referentials' data, the ontology, the shapes and the
named queries (top-level folders of the project; `_resources/` in the wheel).
"""

__version__ = "0.1.0"
