"""Assemble the knowledge graph: the ontology plus every referential folder."""

from __future__ import annotations

from pathlib import Path

from rdflib import Graph

from cqp_graph.config import DEFAULT_BASE, Settings
from cqp_graph.namespaces import bind_prefixes, rebase
from cqp_graph.source.referential import ReferentialGraph
from cqp_graph.source.tables import DataError


def load_turtle_folder(folder: Path, recursive: bool = False) -> Graph:
    graph = Graph()
    pattern = "**/*.ttl" if recursive else "*.ttl"
    for path in sorted(Path(folder).glob(pattern)):
        try:
            graph.parse(path, format="turtle")
        except Exception as exc:  # rdflib raises several parser error types
            raise DataError(path, getattr(exc, "lineno", None), f"Turtle syntax: {exc}") from None
    return graph


def load_ontology(settings: Settings) -> Graph:
    return rebase(load_turtle_folder(settings.ontology_dir), settings.base, DEFAULT_BASE)


def load_shapes(settings: Settings, quality: bool = True) -> Graph:
    """The shapes of the referential graph: shapes/*.ttl, and shapes/quality/*.ttl unless quality=False."""
    shapes = load_turtle_folder(settings.shapes_dir)
    if quality:
        shapes += load_turtle_folder(settings.shapes_dir / "quality")
    return rebase(shapes, settings.base, DEFAULT_BASE)


def load_input_shapes(settings: Settings, name: str, folder: str = "inputs") -> Graph:
    """The shapes of an input kind (shapes/inputs/<name>.ttl: programme, results; shapes/rncp/rncp.ttl)."""
    shapes = Graph()
    path = settings.shapes_dir / folder / f"{name}.ttl"
    try:
        shapes.parse(path, format="turtle")
    except Exception as exc:
        raise DataError(path, None, f"Turtle syntax: {exc}") from None
    return rebase(shapes, settings.base, DEFAULT_BASE)


def referential_folders(settings: Settings) -> list[Path]:
    folders = sorted(p for p in Path(settings.data_dir).iterdir() if p.is_dir() and not p.name.startswith("."))
    if not folders:
        raise DataError(settings.data_dir, None, "no referential folder found")
    return folders


def build_graph(settings: Settings, progress=None) -> Graph:
    """The whole graph: ontology + all referentials, under the configured base."""
    ontology = load_ontology(settings)
    graph = Graph()
    graph += ontology
    for folder in referential_folders(settings):
        if progress:
            progress(f"referential {folder.name}")
        graph += ReferentialGraph(folder, settings.base, ontology).build()
    return bind_prefixes(graph, settings.base)
