"""Presentation for people: HTML/Markdown/CSV reports, pictures, generated documentation, page templates.

Lives here: report rendering with Jinja2 (`render`, `templates/`), matplotlib pictures (`pictures`),
documentation generated from the table specs and the ontology (`docs`, `ontology_doc`), the vendored
front-end files served under /static (`static/`). Not here: the figures themselves (`cqp_graph.analyses`).
"""
