"""The on-disk store: an Oxigraph (RocksDB) store in a folder, written once by `cqp-graph load`, read-only after.

Layout of the folder `CQP_GRAPH_STORE` names:

    STORE/
      current -> v-20261128T060000Z-1a2b3c4d      a symbolic link, replaced atomically (rename)
      v-20261128T060000Z-1a2b3c4d/
        oxigraph/            the RocksDB store: the validated graph (+ merged imports) in the default graph,
                             each `--graph-data` file in its named graph (as `serve` lays out its memory store)
        graph.nt             the validated graph alone (the server's dataset description, coverage's copy),
        graph.ttl, …         and its other dumps, as `build` writes them (the server's /dumps/)
        validation.json      its findings, as `build` records them
        cqp-graph-store.json what was loaded, when, under which base (written last: a version is complete)
      .loading-<pid>-<random>/                    a load in progress (a dead one's is removed by the next load)

A load writes a whole new version beside the others, then switches `current` to it: a reader opens the old
version or the new one, never half of one. The version before is kept; older versions are deleted — only
folders named and marked as ours, and only when no process reads them: a process that opens a version holds a
shared lock on its folder (`flock`) for as long as it lives, and a load deletes a version only when it can take
that lock exclusively at once; a version still read (a server started on it, which keeps reading it until it
restarts, or until it moves to a newer version: `serve` checks for one every `CQP_GRAPH_STORE_REFRESH` seconds
and keeps the version before it) is kept and deleted by a later load. Every reader
(`serve`, its SPARQL workers, every command) opens `current` read-only (`pyoxigraph.Store.read_only`): the
store is on disk once, whatever the number of processes, and opening it takes no bulk load.

Lives here: the layout, the check that a folder is ours, opening the current version. Not here: writing a
version and switching to it (`cqp_graph.publish.store_load`), building and validating the graph
(`cqp_graph.graph.pipeline`), the choice of store (`store`).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

CURRENT = "current"
MARKER = "cqp-graph-store.json"
ENGINE = "oxigraph"
VERSION = re.compile(r"^v-[0-9]{8}T[0-9]{6}Z-[0-9a-f]{8}\Z")  # \Z: "$" would accept a final newline
LOADING = re.compile(r"^\.loading-([0-9]+)-[0-9a-f]{8}\Z")


class StoreFolderError(ValueError):
    """A folder that is not (or no longer) a cqp-graph store, or holds no loaded version yet."""


@dataclass(frozen=True)
class Version:
    """One loaded version of the store: its folder and what its marker records."""

    folder: Path
    meta: dict

    @property
    def engine(self) -> Path:
        return self.folder / ENGINE

    @property
    def graph_file(self) -> Path:
        return self.folder / "graph.nt"

    @property
    def findings_file(self) -> Path:
        return self.folder / "validation.json"

    def open(self) -> ox.Store:
        """The store, read-only; this process holds a shared lock on the version for as long as it lives (its
        SPARQL workers, its children, stop with it), so that no load deletes it under them."""
        read_lock(self.folder)
        return ox.Store.read_only(str(self.engine))


_READING: dict[str, int] = {}


def read_lock(folder: Path) -> None:
    """Hold a shared lock on a version's folder until this process ends (once per folder)."""
    key = str(folder)
    if key in _READING:
        return
    fd = os.open(key, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    fcntl.flock(fd, fcntl.LOCK_SH)  # waits only while a load is deleting this version (then open fails: gone)
    _READING[key] = fd


def keep_reading(root: Path, folders: set[str]) -> None:
    """Release this process's lock on every version of the store `root` but `folders` (a server that moved to a
    new version keeps the one before for the requests still on it): a later load may delete the others."""
    root = Path(root).resolve()
    for key in [k for k in _READING if Path(k).parent == root and k not in folders]:
        os.close(_READING.pop(key))


@contextlib.contextmanager
def unread(folder: Path):
    """Whether no process reads the version `folder` (one this process reads is read); while the block runs
    with True, this process holds the folder's lock exclusively, so that no reader opens it meanwhile."""
    if str(folder) in _READING:
        yield False
        return
    fd = os.open(str(folder), os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


def ours(folder: Path) -> bool:
    return VERSION.match(folder.name) is not None and (folder / MARKER).is_file()


def check_folder(root: Path) -> None:
    """Refuse a folder holding anything but a store of ours: nothing there was written by cqp-graph."""
    if not root.exists():
        return
    if not root.is_dir():
        raise StoreFolderError(f"{root} n'est pas un dossier (CQP_GRAPH_STORE)")
    strangers = [p.name for p in root.iterdir()
                 if not (p.name == CURRENT and p.is_symlink()) and VERSION.match(p.name) is None
                 and LOADING.match(p.name) is None]
    if strangers:
        raise StoreFolderError(f"{root} contient autre chose qu'un magasin cqp-graph ({', '.join(sorted(strangers)[:5])}) :"
                               " choisissez un dossier vide ou nouveau pour CQP_GRAPH_STORE")


def current(root: Path) -> Version:
    """The version `current` points to; StoreFolderError (French) when there is none."""
    root = Path(root)
    link = root / CURRENT
    if root.exists() and not root.is_dir():
        raise StoreFolderError(f"{root} n'est pas un dossier : CQP_GRAPH_STORE désigne le dossier du magasin "
                               "(`memory`, un dossier ou l'URL d'un point d'accès SPARQL)")
    if not link.is_symlink():
        raise StoreFolderError(f"aucun graphe chargé dans {root} : lancez d'abord `cqp-graph load` "
                               "(CQP_GRAPH_STORE désigne ce dossier)")
    folder = (root / os.readlink(link)).resolve()
    if not ours(folder):
        raise StoreFolderError(f"{link} ne désigne pas une version complète du magasin ; relancez `cqp-graph load`")
    return Version(folder, json.loads((folder / MARKER).read_text(encoding="utf-8")))
