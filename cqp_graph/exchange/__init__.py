"""Exchange with other ecosystems: France Compétences' RNCP (in and out), ELM/Europass, ROME 4.0, SSSOM.

Lives here: streaming RNCP/RS import (`rncp_import`), the generator of RNCP/RS exports for tests and benchmarks
(`rncp_generate`), the RNCP fiche export (`rncp_export`), the European
Learning Model export (`elm`), ROME suggestions (`rome`) and the reviewed mappings as SSSOM (`sssom`).
Not here: the project's own dumps and releases (`cqp_graph.publish`).
"""
