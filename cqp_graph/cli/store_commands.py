"""The command that publishes the graph into the configured store: `load`.

Lives here: reading its options (a dump instead of data/, imports merged into the default graph, named
graphs), then building and validating through the one pipeline and publishing (`publish.store_load`).
Not here: the stores (`cqp_graph.query.folder_store`, `cqp_graph.query.remote_store`), serving
(`cli.serve_command`: `serve` reads the store `load` wrote).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import typer

from cqp_graph.cli.app import BaseOption, DataOption, app, console, fail, lazy, settings_from
from cqp_graph.numbers import decimal, integer
from cqp_graph.source.tables import DataError

pipeline = lazy("cqp_graph.graph.pipeline")
store_load = lazy("cqp_graph.publish.store_load")
store = lazy("cqp_graph.query.store")
folder_store = lazy("cqp_graph.query.folder_store")
remote_store = lazy("cqp_graph.query.remote_store")

from cqp_graph.cli.serve_command import PANEL  # isort: skip  (`load` is listed beside `serve`)


@app.command(rich_help_panel=PANEL)
def load(
    dump: Optional[Path] = typer.Option(None, "--dump", help="Publier ce dump (revalidé) au lieu de construire "
                                                             "depuis data/."),
    file: list[Path] = typer.Option([], "--file", help="Publier aussi FICHIER (p. ex. un import RNCP) dans le graphe "
                                                       "par défaut ; répétable."),
    graph_data: list[str] = typer.Option([], "--graph-data", help="IRI=FICHIER : publier aussi FICHIER comme graphe "
                                                                  "nommé IRI ; répétable."),
    base: Optional[str] = BaseOption,
    data: Optional[Path] = DataOption,
):
    """Construit et valide le graphe, puis le publie dans le magasin que désigne CQP_GRAPH_STORE (un dossier ou un
    point d'accès SPARQL), que `serve` et chaque commande lisent ensuite."""
    settings = settings_from(base, data)
    kind = store.store_kind(settings.store)
    if kind == store.MEMORY:
        fail("CQP_GRAPH_STORE vaut « memory » : il n'y a rien à charger (le graphe est construit à la lecture). "
             "Donnez un dossier ou l'URL d'un point d'accès SPARQL à CQP_GRAPH_STORE.")
    named = []
    for item in graph_data:
        iri, sep, path = item.partition("=")
        if not sep or not iri or not path:
            fail(f"--graph-data attend IRI=FICHIER, reçu « {item} »")
        named.append((iri, Path(path)))
    for path in list(file) + [p for _, p in named] + ([dump] if dump else []):
        if not path.is_file():
            fail(f"{path} : fichier introuvable")
    if kind == store.FOLDER:  # a folder that is not ours is refused before the minute of building the graph
        try:
            folder_store.check_folder(Path(settings.store))
        except folder_store.StoreFolderError as exc:
            fail(str(exc))
    started = time.perf_counter()
    try:
        with console.status("Lecture des données…") as status:
            def say(message: str) -> None:
                status.update(message[:1].upper() + message[1:] + "…")
            # built from data/: validation.json in the store names each finding's file and line (as `build` does)
            built = (pipeline.open_dump(settings, dump) if dump else
                     pipeline.located(pipeline.run_pipeline(settings, progress=say)))
            status.update("Publication dans le magasin…")
            where = store_load.publish_to_store(settings, built, list(file), named, progress=say)
    except pipeline.InvalidGraph as exc:
        fail(f"{exc} ; le magasin est laissé tel quel", 1)
    except (DataError, folder_store.StoreFolderError) as exc:
        fail(str(exc))
    except remote_store.StoreError as exc:
        fail(f"{exc} ; le magasin garde sa publication précédente")
    except OSError as exc:
        fail(f"écriture impossible ({exc})")
    elapsed = time.perf_counter() - started
    console.print(f"{integer(len(built.graph))} triplets validés publiés dans {settings.store} ({where}) en "
                  f"{decimal(elapsed, 1)} s"
                  + (f", avec {len(file) + len(named)} fichier(s) importé(s)" if file or named else ""))
