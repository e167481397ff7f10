"""Publishing a validated graph into the configured store (`cqp-graph load`): a new on-disk version, or a remote
publication.

On-disk (`CQP_GRAPH_STORE` a folder; layout in `cqp_graph.query.folder_store`): the whole new version is
written in a hidden folder of ours (`.loading-<pid>-<random>`), renamed to its version name when complete
(its marker written last), then the `current` link is replaced by a new one (`os.replace`: atomic). The version
before is kept, older versions of ours are deleted unless a running process reads them, a load killed midway
leaves a `.loading-…` folder the next load removes (its process being dead, the folder empty or holding a
store), and a folder holding anything else is refused. Remote (`CQP_GRAPH_STORE`
a SPARQL endpoint): `cqp_graph.query.remote_store.publish` (Graph Store Protocol).

Lives here: `publish_to_store` and the on-disk writer. Not here: reading a store (`cqp_graph.query`), building
and validating (`cqp_graph.graph.pipeline`), the command (`cqp_graph.cli.store_commands`).
"""

from __future__ import annotations

import gc
import json
import os
import secrets
import shutil
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import pyoxigraph as ox

from cqp_graph.config import Settings
from cqp_graph.graph.import_guard import ImportGuard
from cqp_graph.graph.pipeline import BuiltGraph, InvalidGraph, Progress
from cqp_graph.publish import atomic
from cqp_graph.publish.dumps import dist_payloads
from cqp_graph.query import remote_store
from cqp_graph.query.knowledge import Knowledge
from cqp_graph.query.search import SEARCH_FILE, SearchIndex
from cqp_graph.query.folder_store import (CURRENT, ENGINE, LOADING, MARKER, VERSION, StoreFolderError, Version,
                                         check_folder, current, ours, unread)
from cqp_graph.query.store import FOLDER, REMOTE, store_from_graph, store_kind


def publish_to_store(settings: Settings, built: BuiltGraph, merged: list[Path] = (),
                     named: list[tuple[str, Path]] = (), progress: Progress | None = None) -> str:
    """Publish a validated graph (and imports: `merged` into the default graph, `named` as IRI → file) into the
    configured store; returns where (a version folder, or the remote load's id)."""
    if not built.valid:
        raise InvalidGraph(settings, built.report)
    say = progress or (lambda _message: None)
    nt = built.graph.serialize(format="nt", encoding="utf-8")
    kind = store_kind(settings.store)
    if kind == FOLDER:
        files = dist_payloads(built.graph, settings.base, {"validation.json": built.findings_json()})
        version = load_folder(Path(settings.store), settings.base, nt, files, list(merged), list(named),
                              progress=say, derived={SEARCH_FILE: lambda store: search_index_bytes(store, settings)})
        return str(version.folder)
    if kind == REMOTE:
        store = remote_store.RemoteStore.from_settings(settings, read=False)
        if store.gsp is None:
            raise remote_store.StoreError(f"aucune URL Graph Store Protocol pour {settings.store} : réglez "
                                          "CQP_GRAPH_STORE_GSP")
        guard = ImportGuard(store_from_graph(built.graph), settings.base)  # checked before anything is sent
        for path in merged:
            say(f"{Path(path).name} : vérification")
            guard.check_file(path, _format(path))
        publication = remote_store.publish(store, nt, built.findings_json(), list(merged), list(named), progress=say)
        return publication.load_id
    raise ValueError("CQP_GRAPH_STORE=memory: nothing to load (the graph is built when it is read)")


def search_index_bytes(store: ox.Store, settings: Settings) -> bytes:
    """The search index of everything a version holds (referentials and imports), as the server would build it at
    its start (`cqp_graph.query.search`): built once here, opened by every server on the version."""
    return SearchIndex.build(Knowledge.over(store, settings)).to_bytes()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _staged(folder: Path) -> bool:
    """Whether a dead load's folder looks as a load leaves it: empty (killed at once), or its store started."""
    names = [p.name for p in folder.iterdir()]
    return not names or (folder / ENGINE).is_dir()


def load_folder(root: Path, base: str, build_nt: bytes, files: dict[str, bytes], merged: list[Path] = (),
         named: list[tuple[str, Path]] = (), progress=lambda _m: None,
         derived: dict[str, Callable[[ox.Store], bytes]] | None = None) -> Version:
    """Write a new version holding the validated build (N-Triples), the imports and `files` (its dumps, its
    findings `validation.json`, by name), and the files `derived` computes from the loaded store (the search
    index), then make it current."""
    root = Path(root)
    check_folder(root)
    with atomic.locked(root):
        for leftover in root.iterdir():  # a load killed before it finished: its folder is ours, by its name
            match = LOADING.match(leftover.name)
            if match and not _alive(int(match.group(1))):
                if leftover.is_symlink():  # a switch killed before its rename
                    if VERSION.match(os.readlink(leftover)):
                        leftover.unlink()
                elif leftover.is_dir() and _staged(leftover):
                    shutil.rmtree(leftover)
        stamp = datetime.now(timezone.utc)
        name = f"v-{stamp.strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(4)}"
        stage = root / f".loading-{os.getpid()}-{secrets.token_hex(4)}"
        stage.mkdir(mode=atomic.folder_mode())
        try:
            store = ox.Store(str(stage / ENGINE))
            progress("graphe des référentiels (graphe par défaut)")
            store.bulk_load(build_nt, format=ox.RdfFormat.N_TRIPLES)
            guard = ImportGuard(store, base)  # an import may not rewrite the referentials (graph/import_guard.py)
            for path in merged:
                progress(f"{Path(path).name} (graphe par défaut)")
                _bulk_load(store, path)
                guard.check_store(store, path)
            for iri, path in named:
                progress(f"{Path(path).name} → <{iri}>")
                _bulk_load(store, path, ox.NamedNode(iri))
            store.flush()
            store.optimize()
            triples = len(store)
            for file_name, compute in (derived or {}).items():  # written now, not by each server at its start
                progress(f"{file_name}")
                files = {**files, file_name: compute(store)}
            del store
            gc.collect()  # pyoxigraph closes RocksDB when the store is dropped
            for file_name, payload in {**files, "graph.nt": build_nt}.items():
                atomic.write_bytes(stage / file_name, payload)
            meta = {"base": base, "loaded_at": stamp.isoformat(timespec="seconds"), "quads": triples,
                    "merged": [str(Path(p).resolve()) for p in merged],
                    "named": {iri: str(Path(p).resolve()) for iri, p in named}}
            atomic.write_bytes(stage / MARKER, json.dumps(meta, ensure_ascii=False, indent=1).encode("utf-8"))
            os.rename(stage, root / name)
        except BaseException:
            shutil.rmtree(stage, ignore_errors=True)
            raise
        previous = current(root).folder.name if (root / CURRENT).is_symlink() else None
        link = root / f".loading-{os.getpid()}-{secrets.token_hex(4)}"
        os.symlink(name, link)
        os.replace(link, root / CURRENT)  # the switch: atomic
        atomic.fsync_folder(root)
        for old in root.iterdir():  # keep the new version, the one before, and any a running process reads
            if old.name not in (name, previous) and old.is_dir() and not old.is_symlink() and ours(old):
                with unread(old) as free:
                    if free:
                        shutil.rmtree(old)
        return current(root)


def _bulk_load(store: ox.Store, path, graph: ox.NamedNode | None = None) -> None:
    """Load an import file into the new version; StoreFolderError (French, naming the file and the line) when it
    is not RDF of its extension's format (pyoxigraph's parser raises SyntaxError)."""
    fmt = _format(path)
    try:
        if graph is None:
            store.bulk_load(path=str(path), format=fmt)
        else:
            store.bulk_load(path=str(path), format=fmt, to_graph=graph)
    except SyntaxError as exc:
        line = f", ligne {exc.lineno}" if exc.lineno else ""
        raise StoreFolderError(f"{path}{line} : fichier RDF illisible (message de l'analyseur : « {exc.msg} ») ; "
                               "le magasin est laissé tel quel") from None


def _format(path) -> ox.RdfFormat:
    fmt = ox.RdfFormat.from_extension(Path(path).suffix.lstrip("."))
    if fmt is None:
        raise StoreFolderError(f"{path} : format RDF inconnu (extension .nt, .ttl, .nq, .rdf…)")
    return fmt
