"""Assemble the knowledge graph: the ontology plus every referential folder.

Each visible sub-folder of the data folder is one referential, named after the folder (hidden folders,
`.name`, are skipped); the name is also the segment of its IRIs, so it must be usable in one and no two
folders may give the same name.

Lives here: finding the referential folders, loading the ontology and the shapes, putting the graph
together. Not here: the CSV → RDF mapping of one folder (`cqp_graph.source.referential`), validation
(`cqp_graph.graph.validate`), the order of the stages (`cqp_graph.graph.pipeline`).
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from rdflib import Graph

from cqp_graph.config import DEFAULT_BASE, Settings
from cqp_graph.namespaces import RESERVED_SEGMENTS, bind_prefixes, rebase
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


#: what a referential's name (its folder's name) may be: it is a segment of IRIs and a word of the CLI and URLs
REFERENTIAL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def referential_folders(settings: Settings) -> list[Path]:
    """The referential folders of the data folder, by name; refuses a name that cannot be one or that two share."""
    data = Path(settings.data_dir)
    if not data.is_dir():
        raise DataError(data, None, "le dossier de données n'existe pas (voir --data ou CQP_GRAPH_DATA)")
    folders = sorted(p for p in data.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not folders:
        raise DataError(data, None, "aucun dossier de référentiel dans le dossier de données")
    seen: dict[str, Path] = {}
    for folder in folders:
        if not REFERENTIAL_NAME.fullmatch(folder.name):
            raise DataError(folder, None, f"« {folder.name} » ne peut pas nommer un référentiel : le nom d'un dossier "
                                          "de référentiel commence par une lettre ou un chiffre, suivi de lettres sans "
                                          "accent, chiffres, « . », « _ » ou « - »")
        if folder.name.casefold() in RESERVED_SEGMENTS:
            raise DataError(folder, None, f"« {folder.name} » ne peut pas nommer un référentiel : ce nom est réservé aux "
                                          f"IRI et aux adresses du serveur ({', '.join(sorted(RESERVED_SEGMENTS))})")
        key = unicodedata.normalize("NFC", folder.name).casefold()
        if key in seen:
            raise DataError(folder, None, f"les dossiers « {seen[key].name} » et « {folder.name} » donneraient le même "
                                          "nom de référentiel : renommez l'un des deux")
        seen[key] = folder
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
