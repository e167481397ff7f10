"""Stage 5, publishing: the files a publisher puts online, written so that nobody sees them half-written.

Lives here: atomic writes and folder commits (`atomic`), the RDF dumps of dist/ (`dumps`), the DCAT-AP /
VoID dataset description (`dataset`), versioned releases (`release`). Not here: serving them over HTTP
(`cqp_graph.web`).
"""
