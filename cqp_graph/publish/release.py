"""Versioned releases: one folder per version with the dumps, the exports, DCAT/VoID, PROV,
checksums and what changed since the previous release, written atomically.

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
from datetime import datetime, timezone
from pathlib import Path

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, OWL, PROV, RDF, RDFS, XSD

from cqp_graph import __version__
from cqp_graph.publish.atomic import folder_mode, fsync_folder, locked, write_bytes
from cqp_graph.publish.dumps import CONTEXT_FILE, DUMPS, canonical_copy, jsonld_context, serialize
from cqp_graph.config import Settings
from cqp_graph.publish.dataset import Distribution, dataset_description
from cqp_graph.namespaces import bind_prefixes
from cqp_graph.exchange.sssom import SSSOM_FILE, SSSOM_MEDIA_TYPE, SSSOM_STANDARD, NoMappings, SSSOMError, sssom_tsv

VERSION = re.compile(r"^[0-9]+\.[0-9]+\.[0-9]+$")
#: exactly the staging folders make_release creates (mkdtemp's random part between the dots)
STAGE_NAME = re.compile(r"^\.[0-9]+\.[0-9]+\.[0-9]+\.[A-Za-z0-9_]{8}\.stage$")


class ReleaseError(ValueError):
    pass


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


def make_release(settings: Settings, version: str, folder: Path, allow_missing: bool = False,
                 progress=lambda message: None) -> Path:
    """Write release `version` under `folder`; nothing appears there unless the whole release is written."""
    if not VERSION.match(version):
        raise ReleaseError(f"version {version!r} is not MAJOR.MINOR.PATCH")
    folder = Path(folder)
    target = folder / version
    if target.exists():
        raise ReleaseError(f"{target} exists: a release is never overwritten")
    with locked(folder):  # one release at a time in a folder: a stage found here is a dead one's
        for stale in folder.iterdir():
            if STAGE_NAME.match(stale.name) and stale.is_dir() and not stale.is_symlink():
                shutil.rmtree(stale)  # left by an interrupted release
        return _write_release(settings, version, folder, target, allow_missing, progress)


def _write_release(settings: Settings, version: str, folder: Path, target: Path, allow_missing: bool,
                   progress) -> Path:
    from cqp_graph.exchange.elm import MissingSetting, elm_graph
    from cqp_graph.graph.assemble import build_graph, load_shapes
    from cqp_graph.exchange.rncp_export import export_rncp
    from cqp_graph.query.store import store_from_graph
    from cqp_graph.graph.validate import validate_graph

    if target.exists():
        raise ReleaseError(f"{target} exists: a release is never overwritten")
    progress("construction et validation du graphe")
    graph = build_graph(settings)
    report = validate_graph(graph, load_shapes(settings))
    if report.violations:
        raise ReleaseError(f"{len(report.violations)} violation(s): fix the data before releasing")
    store = store_from_graph(graph)
    canonical = canonical_copy(graph, settings.base)
    files: dict[str, bytes] = {}
    progress("dumps")
    for name, (fmt, _media) in DUMPS.items():
        files[name] = serialize(canonical, fmt, settings.base)
    files[CONTEXT_FILE] = (json.dumps(jsonld_context(settings.base), indent=1, sort_keys=True) + "\n").encode()
    skipped = {}
    progress("exports RNCP et ELM")
    stage = Path(tempfile.mkdtemp(prefix=f".{version}.", suffix=".stage", dir=folder))
    try:
        export_rncp(store, settings, stage / "rncp.xml")
        files["rncp.xml"] = (stage / "rncp.xml").read_bytes()
        try:
            elm = elm_graph(store, settings)
            files["elm.ttl"] = elm.serialize(format="turtle", encoding="utf-8")
            files["elm.jsonld"] = elm.serialize(format="json-ld", auto_compact=True, context={
                "elm": "http://data.europa.eu/snb/model/elm/", "dc": str(DCTERMS),
                "skos": "http://www.w3.org/2004/02/skos/core#", "adms": "http://www.w3.org/ns/adms#"}).encode()
        except MissingSetting as exc:
            if not allow_missing:
                raise ReleaseError(f"ELM export: {exc}") from None
            skipped["elm"] = str(exc)
        try:  # the reviewed ROME mappings as SSSOM (README, "The RNCP, Europass and ROME")
            files[SSSOM_FILE] = sssom_tsv(graph, settings.base, version).encode("utf-8")
        except NoMappings as exc:
            skipped["sssom"] = str(exc)
        except SSSOMError as exc:
            raise ReleaseError(f"SSSOM: {exc}") from None
        issued = datetime.now(timezone.utc).replace(microsecond=0)
        progress("DCAT, VoID, PROV, sommes de contrôle")
        release_iri = f"{settings.base}release/{version}"
        media = {**{n: m for n, (_f, m) in DUMPS.items()}, "rncp.xml": "application/xml",
                 "elm.ttl": "text/turtle", "elm.jsonld": "application/ld+json", CONTEXT_FILE: "application/ld+json",
                 SSSOM_FILE: SSSOM_MEDIA_TYPE}
        distributions = [Distribution(name, media[name], f"{release_iri}/{name}", len(data), _sha256(data),
                                      rdf_dump=name in DUMPS, conforms_to=SSSOM_STANDARD if name == SSSOM_FILE else None)
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
            description.add((URIRef(release_iri), RDFS.comment, Literal(f"{name} not produced: {reason}", lang="en")))
        files["dataset.ttl"] = description.serialize(format="turtle", encoding="utf-8")
        files["prov.ttl"] = provenance(settings, version, issued, files).serialize(format="turtle", encoding="utf-8")
        files["CHANGES.md"] = changes(previous, files["graph.nt"]).encode("utf-8")
        manifest = {"version": version, "issued": issued.isoformat(), "iri": release_iri,
                    "previous": previous.name if previous else None, "cqp_graph": __version__,
                    "skipped": skipped, "files": {n: _sha256(d) for n, d in sorted(files.items())}}
        files["release.json"] = (json.dumps(manifest, indent=1, ensure_ascii=False) + "\n").encode("utf-8")
        files["SHA256SUMS"] = "".join(f"{_sha256(d)}  {n}\n" for n, d in sorted(files.items())).encode()
        for name, data in files.items():
            write_bytes(stage / name, data)
        stage.chmod(folder_mode())
        stage.rename(target)  # the release appears whole, or not at all
        fsync_folder(folder)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    return target
