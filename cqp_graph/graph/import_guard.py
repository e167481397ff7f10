"""The guard on merged imports: an RDF file served or published beside the validated referentials (`serve --merge`,
`cqp-graph load --file`) may add resources of its own (RNCP fiches, their blocks…), never statements about the
referentials' resources.

The referentials went through the pipeline (built, validated by the shapes); an import did not, or was validated
against other shapes (`import-rncp`): one triple `<…/mission/M1> cqp:requiresCompetence <…>` in it would change
every answer about M1. So the guard records, on a store holding the validated graph alone, every statement that
mentions a resource of a referential (a certification, or whatever is `cqp:inReferential` one), as subject or
object, in the default graph; after an import is added, the statements it added about those resources are the
import's fault: the file is refused, naming it, how many statements and the first of them.

Lives here: `ImportGuard` (the check on a store, and the same check on a file, for a remote store that cannot be
asked before publishing). Not here: loading files (`cqp_graph.publish.store_load`, `cqp_graph.web.state`), the
shapes of an RNCP import (`cqp_graph.exchange.rncp_import`).
"""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox

from cqp_graph.namespaces import ontology_ns
from cqp_graph.source.tables import DataError

#: how many of the refused statements a message shows
SHOWN = 3


class ImportRefused(DataError):
    """An import states something about a resource of the validated referentials (the message is French)."""

    def __init__(self, path: Path | str, added: list[ox.Triple], total: int):
        self.added = added
        self.total = total
        shown = " ; ".join(str(t) for t in added[:SHOWN])
        super().__init__(Path(path), None, f"import refusé : il énonce {total} triplet(s) sur des ressources des "
                         f"référentiels validés (par ex. {shown}) ; un import ajoute ses propres ressources, il ne "
                         "modifie pas un référentiel (passez par les données du référentiel et `cqp-graph build`)")


_RESOURCES = "SELECT DISTINCT ?x WHERE { { ?x cqp:inReferential ?c } UNION { ?x a cqp:Certification } FILTER(isIRI(?x)) }"


def _resources(store: ox.Store, base: str) -> list[ox.NamedNode]:
    return [solution["x"] for solution in store.query(_RESOURCES, prefixes={"cqp": str(ontology_ns(base))})]


def _statements(store: ox.Store, resources: list[ox.NamedNode]) -> set[ox.Triple]:
    default = ox.DefaultGraph()
    out = set()
    for resource in resources:
        out.update(q.triple for q in store.quads_for_pattern(resource, None, None, default))
        out.update(q.triple for q in store.quads_for_pattern(None, None, resource, default))
    return out


class ImportGuard:
    """What the validated graph states about its referentials' resources, to compare an import against."""

    def __init__(self, store: ox.Store, base: str):
        """`store` holds the validated graph and nothing else yet (in its default graph)."""
        self.resources = _resources(store, base)
        self._known = set(self.resources)
        self.before = _statements(store, self.resources)

    def check_store(self, store: ox.Store, path: Path | str) -> None:
        """After `path` was added to `store` (the same store, or one holding the same validated graph): raise
        ImportRefused when it added statements about the referentials' resources."""
        added = _statements(store, self.resources) - self.before
        if added:
            self.before |= added  # one file is blamed once
            raise ImportRefused(path, sorted(added, key=str), len(added))

    def check_file(self, path: Path | str, fmt: ox.RdfFormat) -> None:
        """The same check on the file itself, read once (for a store that cannot be asked before publishing)."""
        added = []
        for triple in ox.parse(path=str(path), format=fmt):
            if (triple.subject in self._known or triple.object in self._known) and triple not in self.before:
                added.append(triple)
        if added:
            raise ImportRefused(path, sorted(set(added), key=str), len(set(added)))
