"""Versioned releases: one folder per version, written whole or not at all.

Lives here: `make_release`, which runs the pipeline (`cqp_graph.graph.pipeline.run_pipeline`: a release is
only ever made of a validated graph) and writes what a publisher puts online; what changed since the previous
release (`changes`); the provenance (`provenance`). Not here: the dumps' serialisation (`dumps`), the DCAT-AP
description (`dataset`), the exports themselves (`cqp_graph.exchange`), which return bytes and write nothing.

What a release folder holds (every file is listed, with its SHA-256, in `SHA256SUMS` and `release.json`):

    graph.ttl graph.nt graph.jsonld graph.rdf   the whole graph, every referential (one per `dumps.DUMP_FORMATS`;
                                                each resource says its referential: cqp:inReferential)
    context.jsonld                              the JSON-LD context of the dumps
    skos.ttl                                    the SKOS view alone: one concept scheme per referential (Skosmos)
    rncp.xml                                    the RNCP fiche (France Compétences' export shape, flux 4.1)
    elm.ttl elm.jsonld                          the ELM qualification, for Europass
    rome.sssom.tsv                              the reviewed ROME mappings, every referential (SSSOM)
    dataset.ttl prov.ttl CHANGES.md             DCAT-AP / VoID description, PROV, changes since the last release
    release.json SHA256SUMS                     the manifest and the checksums

The exports are per referential. When `data/` holds one referential their names are the ones above, as
they have always been, so that links to a release keep working. When it holds several, each referential
gets its own exports, named after its folder: `rncp-<referential>.xml`, `elm-<referential>.ttl`,
`elm-<referential>.jsonld` (grouped by kind in a listing, one download per referential, no two referentials
ever sharing a file). Whatever their number, `release.json` says which files belong to which referential
(`referentials`: name → title, RNCP number, certification IRI, files, skipped exports), and in `dataset.ttl`
each export's `dct:description` names its referential, so a publisher never has to parse file names.

An export a referential cannot give yet (an ELM value unknown in its publication.csv, no RNCP number) stops
the release, unless `allow_missing`: then it is left out and `release.json`'s `skipped` says why (key
`elm` / `rncp` with one referential, `elm-<referential>` / `rncp-<referential>` with several), as does a
`rdfs:comment` of the release in dataset.ttl.

IRI scheme (README, "Releases"):
    {base}dataset                      the dataset, across versions
    {base}release/{version}            one release (dcat:Dataset, dct:isVersionOf {base}dataset)
    {base}release/{version}/{file}     its distributions
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, OWL, PROV, RDF, RDFS, XSD

from cqp_graph import __version__
from cqp_graph.config import Settings
from cqp_graph.exchange.sssom import SSSOM_FILE, SSSOM_MEDIA_TYPE, SSSOM_STANDARD, NoMappings, SSSOMError, sssom_tsv
from cqp_graph.namespaces import bind_prefixes
from cqp_graph.publish.atomic import folder_mode, fsync_folder, locked, write_bytes
from cqp_graph.publish.dataset import Distribution, dataset_description
from cqp_graph.publish.skos import SKOS_FILE, skos_graph
from cqp_graph.publish.dumps import (CONTEXT_FILE, CONTEXT_MEDIA_TYPE, DUMP_FORMATS, DUMPS, canonical_copy,
                                     context_bytes, media_type_of, serialize)
from cqp_graph.query.knowledge import Knowledge

VERSION = re.compile(r"^[0-9]+\.[0-9]+\.[0-9]+\Z")  # \Z: no trailing newline, as `$` allows
#: exactly the staging folders make_release creates (mkdtemp's random part between the dots)
STAGE_NAME = re.compile(r"^\.[0-9]+\.[0-9]+\.[0-9]+\.[A-Za-z0-9_]{8}\.stage\Z")
RNCP_MEDIA_TYPE = "application/xml"
#: the ELM export's files: extension -> the format `export_elm` writes it in
ELM_FILES = {"ttl": "turtle", "jsonld": "json-ld"}

Progress = Callable[[str], None]


class ReleaseError(ValueError):
    """A release that cannot be made (bad version, existing folder, invalid graph, an export that is missing)."""


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("."))


def previous_release(folder: Path, version: str) -> Path | None:
    older = [p for p in folder.iterdir() if p.is_dir() and VERSION.match(p.name)
             and _version_key(p.name) < _version_key(version)] if folder.exists() else []
    return max(older, key=lambda p: _version_key(p.name)) if older else None


def changes(previous: Path | None, graph_nt: bytes) -> str:
    """What changed since the previous release, resource by resource."""
    if previous is None or not (previous / "graph.nt").exists():
        return "# Changements\n\nPremière version publiée.\n"
    old = set((previous / "graph.nt").read_text(encoding="utf-8").splitlines())
    new = set(graph_nt.decode("utf-8").splitlines())
    added, removed = sorted(new - old), sorted(old - new)

    def subjects(lines):
        return {line.split(" ", 1)[0] for line in lines if line.startswith("<")}

    old_subjects, new_subjects = subjects(old), subjects(new)
    lines = [f"# Changements depuis {previous.name}", "",
             f"- triplets ajoutés : {len(added)}", f"- triplets retirés : {len(removed)}",
             f"- ressources nouvelles : {len(new_subjects - old_subjects)}",
             f"- ressources disparues : {len(old_subjects - new_subjects)}",
             f"- ressources modifiées : {len((subjects(added) | subjects(removed)) & old_subjects & new_subjects)}", ""]
    for title, items in (("Ressources nouvelles", sorted(new_subjects - old_subjects)),
                         ("Ressources disparues", sorted(old_subjects - new_subjects)),
                         ("Ressources modifiées", sorted((subjects(added) | subjects(removed)) & old_subjects
                                                         & new_subjects))):
        if items:
            lines += [f"## {title}", ""] + [f"- {i}" for i in items[:500]] + [""]
    return "\n".join(lines) + "\n"


def _git_commit(root: Path) -> str | None:
    if not (Path(root) / ".git").exists():  # an installed package: no commit (git would answer for a parent repo)
        return None
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10)
        return out.stdout.strip() or None if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def provenance(settings: Settings, version: str, issued: datetime, files: dict[str, bytes]) -> Graph:
    graph = bind_prefixes(Graph(), settings.base)
    release = URIRef(f"{settings.base}release/{version}")
    activity = URIRef(f"{release}/activity")
    software = URIRef(f"{settings.base}software/cqp-graph/{__version__}")
    graph.add((activity, RDF.type, PROV.Activity))
    graph.add((activity, RDFS.label, Literal(f"cqp-graph release {version}", lang="en")))
    graph.add((activity, PROV.endedAtTime, Literal(issued.isoformat(), datatype=XSD.dateTime)))
    graph.add((activity, PROV.wasAssociatedWith, software))
    graph.add((software, RDF.type, PROV.SoftwareAgent))
    graph.add((software, RDFS.label, Literal(f"cqp-graph {__version__}")))
    commit = _git_commit(settings.root)
    if commit:
        graph.add((software, OWL.versionInfo, Literal(commit)))
        graph.add((software, RDFS.comment, Literal(f"git commit {commit}")))
    for path in sorted(Path(settings.data_dir).rglob("*.csv")) + sorted(Path(settings.root / "ontology").glob("*.ttl")):
        relative = path.relative_to(settings.root) if path.is_relative_to(settings.root) else path
        entity = URIRef(f"{release}/source/{relative.as_posix()}")
        graph.add((activity, PROV.used, entity))
        graph.add((entity, RDF.type, PROV.Entity))
        graph.add((entity, RDFS.label, Literal(relative.as_posix())))
        graph.add((entity, URIRef("http://spdx.org/rdf/terms#checksumValue"),
                   Literal(_sha256(path.read_bytes()), datatype=XSD.hexBinary)))
    for name in sorted(files):
        entity = URIRef(f"{release}/{name}")
        graph.add((entity, RDF.type, PROV.Entity))
        graph.add((entity, PROV.wasGeneratedBy, activity))
        graph.add((entity, PROV.wasAttributedTo, software))
    graph.add((release, PROV.wasGeneratedBy, activity))
    return graph


@dataclass
class ReferentialExports:
    """The export files of one referential in a release, and the exports it could not give."""

    name: str
    title: str
    rncp: str | None
    iri: str
    files: dict[str, bytes] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)

    def describe(self, name: str) -> str:
        """What file `name` holds, in French, naming the referential (the distribution's dct:description)."""
        kind = "Fiche RNCP" if name.endswith(".xml") else "Qualification ELM (Europass)"
        return f"{kind} du référentiel « {self.title} » ({self.name})"


def export_key(kind: str, referential: str | None) -> str:
    """`rncp` / `elm` with one referential (referential None), `rncp-<name>` / `elm-<name>` with several."""
    return kind if referential is None else f"{kind}-{referential}"


def referential_exports(knowledge: Knowledge, settings: Settings, allow_missing: bool) -> list[ReferentialExports]:
    """Each referential's RNCP and ELM exports, named as the module docstring says."""
    from cqp_graph.exchange.elm import MissingSetting, export_elm
    from cqp_graph.exchange.rncp_export import MissingRncpNumber, export_rncp

    referentials = knowledge.referentials()
    several = len(referentials) > 1
    out = []
    for referential in referentials:
        suffix = referential.name if several else None  # also the exporters' `referential`: None is the only one
        exports = ReferentialExports(referential.name, referential.title, referential.rncp, referential.iri)
        key = export_key("rncp", suffix)
        try:
            exports.files[f"{key}.xml"] = export_rncp(knowledge, settings, suffix)
        except MissingRncpNumber as exc:
            if not allow_missing:
                raise ReleaseError(f"export RNCP : {exc}") from None
            exports.skipped[key] = str(exc)
        key = export_key("elm", suffix)
        try:
            elm = {f"{key}.{extension}": export_elm(knowledge, settings, suffix, fmt=fmt)
                   for extension, fmt in ELM_FILES.items()}
        except MissingSetting as exc:
            if not allow_missing:
                raise ReleaseError(f"export ELM : {exc}") from None
            exports.skipped[key] = str(exc)
        else:
            exports.files.update(elm)
        out.append(exports)
    return out


def make_release(settings: Settings, version: str, folder: Path, allow_missing: bool = False,
                 progress: Progress | None = None) -> Path:
    """Write release `version` under `folder`; nothing appears there unless the whole release is written."""
    if not VERSION.match(version):
        raise ReleaseError(f"version « {version} » : une version s'écrit MAJEUR.MINEUR.CORRECTIF, par exemple 1.2.0")
    folder = Path(folder)
    target = folder / version
    if target.exists():
        raise ReleaseError(f"{target} existe déjà : une version publiée n'est jamais réécrite")
    with locked(folder):  # one release at a time in a folder: a stage found here is a dead one's
        for stale in folder.iterdir():
            if STAGE_NAME.match(stale.name) and stale.is_dir() and not stale.is_symlink():
                shutil.rmtree(stale)  # left by an interrupted release
        return _write_release(settings, version, folder, target, allow_missing, progress or (lambda _message: None))


def _write_release(settings: Settings, version: str, folder: Path, target: Path, allow_missing: bool,
                   progress: Progress) -> Path:
    from cqp_graph.graph.pipeline import InvalidGraph, run_pipeline

    if target.exists():
        raise ReleaseError(f"{target} existe déjà : une version publiée n'est jamais réécrite")
    progress("construction et validation du graphe")
    try:
        built = run_pipeline(settings, progress=progress)
    except InvalidGraph as exc:
        raise ReleaseError(f"publication refusée : {exc}") from None
    stage = Path(tempfile.mkdtemp(prefix=f".{version}.", suffix=".stage", dir=folder))
    try:
        _stage_release(built, version, folder, stage, allow_missing, progress)
        stage.chmod(folder_mode())
        stage.rename(target)  # the release appears whole, or not at all
        fsync_folder(folder)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    return target


def _stage_release(built, version: str, folder: Path, stage: Path, allow_missing: bool, progress: Progress) -> None:
    """Write every file of the release into `stage`."""
    settings, graph = built.settings, built.graph
    canonical = canonical_copy(graph, settings.base)
    files: dict[str, bytes] = {}
    progress("dumps")
    for dump in DUMP_FORMATS:
        files[dump.dump_file] = serialize(canonical, dump.rdflib, settings.base)
    files[CONTEXT_FILE] = context_bytes(settings.base)
    files[SKOS_FILE] = serialize(canonical_copy(skos_graph(graph, settings.base), settings.base), "turtle",
                                 settings.base)  # the SKOS view alone (publish/skos.py)
    progress("exports RNCP et ELM")
    exports = referential_exports(built.knowledge, settings, allow_missing)
    skipped: dict[str, str] = {}
    described: dict[str, str] = {}  # file name -> which referential it is of
    for referential in exports:
        files.update(referential.files)
        skipped.update(referential.skipped)
        described.update({name: referential.describe(name) for name in referential.files})
    try:  # the reviewed ROME mappings as SSSOM (README, "The RNCP, Europass and ROME")
        files[SSSOM_FILE] = sssom_tsv(graph, settings.base, version).encode("utf-8")
    except NoMappings as exc:
        skipped["sssom"] = str(exc)
    except SSSOMError as exc:
        raise ReleaseError(f"SSSOM : {exc}") from None
    issued = datetime.now(timezone.utc).replace(microsecond=0)
    progress("DCAT, VoID, PROV, sommes de contrôle")
    release_iri = f"{settings.base}release/{version}"

    def media(name: str) -> str:
        if name == CONTEXT_FILE:
            return CONTEXT_MEDIA_TYPE
        if name == SSSOM_FILE:
            return SSSOM_MEDIA_TYPE
        return media_type_of(name) or RNCP_MEDIA_TYPE  # the RDF files by extension; the RNCP fiche is XML

    distributions = [Distribution(name, media(name), f"{release_iri}/{name}", len(data), _sha256(data),
                                  rdf_dump=name in DUMPS, conforms_to=SSSOM_STANDARD if name == SSSOM_FILE else None,
                                  description=described.get(name))
                     for name, data in sorted(files.items())]
    description = dataset_description(graph, settings.base, release_iri, distributions, version=version,
                                      issued=issued.date())
    description.add((URIRef(release_iri), DCTERMS.isVersionOf, URIRef(f"{settings.base}dataset")))
    description.add((URIRef(f"{settings.base}dataset"), DCTERMS.hasVersion, URIRef(release_iri)))
    previous = previous_release(folder, version)
    if previous is not None:
        description.add((URIRef(release_iri), URIRef("http://www.w3.org/ns/dcat#previousVersion"),
                         URIRef(f"{settings.base}release/{previous.name}")))
    for name, reason in skipped.items():
        description.add((URIRef(release_iri), RDFS.comment, Literal(f"{name} non produit : {reason}", lang="fr")))
    files["dataset.ttl"] = description.serialize(format="turtle", encoding="utf-8")
    files["prov.ttl"] = provenance(settings, version, issued, files).serialize(format="turtle", encoding="utf-8")
    files["CHANGES.md"] = changes(previous, files["graph.nt"]).encode("utf-8")
    manifest = {"version": version, "issued": issued.isoformat(), "iri": release_iri,
                "previous": previous.name if previous else None, "cqp_graph": __version__,
                "skipped": skipped, "files": {n: _sha256(d) for n, d in sorted(files.items())},
                "referentials": {r.name: {"title": r.title, "rncp": r.rncp, "iri": r.iri, "files": sorted(r.files),
                                          "skipped": r.skipped} for r in exports}}
    files["release.json"] = (json.dumps(manifest, indent=1, ensure_ascii=False) + "\n").encode("utf-8")
    files["SHA256SUMS"] = "".join(f"{_sha256(d)}  {n}\n" for n, d in sorted(files.items())).encode()
    for name, data in files.items():
        write_bytes(stage / name, data)
