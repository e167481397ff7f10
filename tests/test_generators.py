"""The generators of test material: an RNCP / RS export (`generate-rncp`) and a referential (`generate-referential`).

Expectations come from the real extracts of ../shared/rncp (which elements exist, in which order) and from the
generated files themselves read back with ElementTree or csv, never from the generators' own counts alone.
"""

from __future__ import annotations

import csv
import hashlib
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pytest
from rdflib import URIRef
from rdflib.namespace import RDF

from cqp_graph.exchange.rncp_generate import generate_rncp
from cqp_graph.exchange.rncp_import import import_rncp
from cqp_graph.source.generate import generate_referential

from .support import REFERENTIAL, ROOT, SHARED, need_shared, settings_for

RNCP = SHARED / "rncp" / "export_fiches_RNCP_fixture.xml"
RS = SHARED / "rncp" / "export_fiches_RS_fixture.xml"
BASE = "https://w3id.org/cqp-graph/"
CQP = f"{BASE}ontology#"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def element_paths(root) -> set[str]:
    """Every element path under <FICHES>, as FICHE/CERTIFICATEURS/CERTIFICATEUR/SIRET_CERTIFICATEUR."""
    out = set()

    def walk(element, prefix):
        for child in element:
            path = f"{prefix}/{child.tag}" if prefix else child.tag
            out.add(path)
            walk(child, path)

    walk(root, "")
    return out


def sibling_orders(root) -> dict[str, list[list[str]]]:
    """For each parent path, the sequence of its children's tags, once per parent element."""
    orders: dict[str, list[list[str]]] = {}

    def walk(element, path):
        if len(element):
            orders.setdefault(path, []).append([c.tag for c in element])
        for child in element:
            walk(child, f"{path}/{child.tag}")

    walk(root, "FICHES")
    return orders


def fixed_pairs(orders: dict[str, list[list[str]]]) -> set[tuple[str, str, str]]:
    """(parent, a, b): wherever a parent holds both a and b in the real extracts, a always comes first."""
    seen: dict[tuple[str, str, str], bool] = {}
    for parent, sequences in orders.items():
        for tags in sequences:
            first = {}
            for i, tag in enumerate(tags):
                first.setdefault(tag, i)
            for a in first:
                for b in first:
                    if a != b:
                        key = (parent, a, b)
                        seen[key] = seen.get(key, True) and first[a] < first[b]
    return {key for key, always in seen.items() if always}


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    folder = tmp_path_factory.mktemp("generated")
    summary = generate_rncp(folder / "export.xml", 300, seed=7)
    return folder / "export.xml", summary


def test_same_seed_same_file_other_seed_other_file(tmp_path):
    generate_rncp(tmp_path / "a.xml", 40, seed=3)
    generate_rncp(tmp_path / "b.xml", 40, seed=3)
    generate_rncp(tmp_path / "c.xml", 40, seed=4)
    assert digest(tmp_path / "a.xml") == digest(tmp_path / "b.xml")
    assert digest(tmp_path / "a.xml") != digest(tmp_path / "c.xml")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "no temporary file left"


def test_every_element_of_the_real_extracts_is_generated(generated):
    need_shared(RNCP)
    path, _ = generated
    real = element_paths(ET.parse(RNCP).getroot()) | element_paths(ET.parse(RS).getroot())
    ours = element_paths(ET.parse(path).getroot())
    assert real - ours == set(), "elements of the real export the generator never writes"
    assert ours - real == set(), "elements the real export does not have"


def test_elements_come_in_the_real_extracts_order(generated):
    need_shared(RNCP)
    path, _ = generated
    pairs = fixed_pairs(sibling_orders(ET.parse(RNCP).getroot())) | \
        fixed_pairs(sibling_orders(ET.parse(RS).getroot()))
    reversed_ = set()
    for parent, sequences in sibling_orders(ET.parse(path).getroot()).items():
        for tags in sequences:
            first = {}
            for i, tag in enumerate(tags):
                first.setdefault(tag, i)
            reversed_ |= {(parent, a, b) for a in first for b in first
                          if (parent, a, b) in pairs and first[a] > first[b]}
    assert not reversed_, sorted(reversed_)[:10]


def test_the_export_holds_every_kind_of_fiche_and_link(generated):
    path, summary = generated
    fiches = ET.parse(path).getroot().findall("FICHE")
    numbers = [f.findtext("NUMERO_FICHE") for f in fiches]
    assert len(numbers) == len(set(numbers)) == 300 == summary.fiches
    kinds = Counter("RS" if n.startswith("RS") else "RNCP" for n in numbers)
    assert kinds["RNCP"] == summary.rncp and kinds["RS"] == summary.rs and min(kinds.values()) >= 20
    by_number = {f.findtext("NUMERO_FICHE"): f for f in fiches}
    # RNCP fiches have blocks coded after their number, in order; RS fiches have none
    blocks = 0
    for number, fiche in by_number.items():
        codes = [b.findtext("CODE") for b in fiche.findall("BLOCS_COMPETENCES/BLOC_COMPETENCES")]
        blocks += len(codes)
        if number.startswith("RS"):
            assert codes == []
        else:
            assert codes and codes == [f"{number}BC{i:02d}" for i in range(1, len(codes) + 1)]
    assert blocks == summary.blocks
    # active and inactive fiches
    actives = Counter(f.findtext("ACTIF") for f in fiches)
    assert actives["Oui"] == summary.active and actives["Non"] == 300 - summary.active and actives["Non"] > 0
    # lineage: every replacement is written on both fiches, the replaced one is inactive, and chains exist
    successor = {}
    for number, fiche in by_number.items():
        for new in fiche.findall("NOUVELLES_CERTIFICATIONS/NOUVELLE_CERTIFICATION/ID_FICHE_NOUVELLE_CERTIFICATION"):
            successor[number] = new.text
            assert number in [o.text for o in by_number[new.text].findall(
                "ANCIENNES_CERTIFICATIONS/ANCIENNE_CERTIFICATION/ID_FICHE_ANCIENNE_CERTIFICATION")]
            assert fiche.findtext("ACTIF") == "Non"
    assert len(successor) == summary.replaced > 0

    def chain(number):
        return 1 + (chain(successor[number]) if number in successor else 0)

    assert max(chain(n) for n in by_number) >= 3, "chains of successive versions"
    outside = {o.text for f in fiches for o in f.findall(
        "ANCIENNES_CERTIFICATIONS/ANCIENNE_CERTIFICATION/ID_FICHE_ANCIENNE_CERTIFICATION")} - set(by_number)
    assert outside, "some fiches replace numbers that are not in the file"
    # correspondences go from a fiche's blocks to its predecessor's
    correspondences = [(f.findtext("NUMERO_FICHE"), c) for f in fiches for c in f.findall("CORRESPONDANCES/CORRESPONDANCE")]
    assert correspondences
    for number, c in correspondences:
        target = c.findtext("DESTINATION/NUMERO_FICHE")
        assert successor.get(target) == number
        assert c.findtext("SOURCE/BLOC_COMPETENCES/CODE").startswith(number + "BC")
    # ROME codes, NSF codes, certifiers with 14-digit SIRET (and a few without one), the six juries
    assert all(f.findall("CODES_ROME/ROME") for n, f in by_number.items() if n.startswith("RNCP"))
    assert all(f.findall("CODES_NSF/NSF") for f in fiches)
    sirets = [c.findtext("SIRET_CERTIFICATEUR") for f in fiches for c in f.findall("CERTIFICATEURS/CERTIFICATEUR")]
    assert all(s is None or (len(s) == 14 and s.isdigit()) for s in sirets) and None in sirets
    assert len(set(sirets)) < len(sirets), "certifiers are shared between fiches"
    juries = {e.tag for f in fiches for e in f if e.tag.startswith("SI_JURY_")}
    assert juries == {"SI_JURY_FI", "SI_JURY_CA", "SI_JURY_FC", "SI_JURY_CQ", "SI_JURY_CL", "SI_JURY_VAE"}


def test_the_generated_export_imports_without_a_problem(generated, settings):
    from cqp_graph.graph.assemble import load_input_shapes

    path, summary = generated
    report = import_rncp(path, path.with_suffix(".nt"), BASE, shapes=load_input_shapes(settings, "rncp", "rncp"))
    assert report.problems == []
    fiches = ET.parse(path).getroot().findall("FICHE")
    assert (report.fiches, report.rncp, report.rs, report.blocks) == \
        (len(fiches), summary.rncp, summary.rs, sum(len(f.findall("BLOCS_COMPETENCES/BLOC_COMPETENCES")) for f in fiches))
    # every way of writing a competence list is there: item codes, bullets, plain text
    assert set(report.itemisation) == {"codes", "bullets", "none"} and min(report.itemisation.values()) > 10


def test_generation_streams(tmp_path):
    """Peak memory is a small part of the file: each fiche is written and dropped (what is kept per fiche is its
    kind and whether it replaces the one before, a few bytes)."""
    script = (
        "import sys, tracemalloc\n"
        "from pathlib import Path\n"
        "from cqp_graph.exchange.rncp_generate import generate_rncp\n"
        "def peak(n):\n"
        "    tracemalloc.start()\n"
        "    generate_rncp(Path(sys.argv[1]) / f'g{n}.xml', n, seed=1)\n"
        "    top = tracemalloc.get_traced_memory()[1]\n"
        "    tracemalloc.stop()\n"
        "    return top\n"
        "peak(5)\n"
        "print(peak(200), (Path(sys.argv[1]) / 'g200.xml').stat().st_size)\n")
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    peak, size = (int(x) for x in done.stdout.split())
    assert peak < size / 5, (peak, size)


def test_cli_generate_rncp_and_its_bound(tmp_path):
    out = tmp_path / "cli.xml"
    done = subprocess.run([sys.executable, "-m", "cqp_graph", "generate-rncp", "--fiches", "12", "--seed", "5", "-o",
                           str(out)], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert len(ET.parse(out).getroot().findall("FICHE")) == 12 and "12 fiches" in done.stdout
    generate_rncp(tmp_path / "same.xml", 12, seed=5)
    assert digest(out) == digest(tmp_path / "same.xml"), "the command writes what the function writes"
    import os

    env = {**os.environ, "CQP_GRAPH_GENERATE_MAX_FICHES": "10"}
    refused = subprocess.run([sys.executable, "-m", "cqp_graph", "generate-rncp", "--fiches", "11", "-o",
                              str(tmp_path / "big.xml")], capture_output=True, text=True, cwd=ROOT, env=env)
    assert refused.returncode == 2 and "CQP_GRAPH_GENERATE_MAX_FICHES" in refused.stderr
    assert not (tmp_path / "big.xml").exists()


# -- the referential generator ---------------------------------------------------------------------------------

def test_referential_generation_is_deterministic():
    assert generate_referential("cqp-a", 4, seed=1) == generate_referential("cqp-a", 4, seed=1)
    assert generate_referential("cqp-a", 4, seed=1) != generate_referential("cqp-a", 4, seed=2)


def test_generated_referentials_build_and_validate_beside_the_shipped_one(tmp_path):
    import shutil

    from cqp_graph.graph.pipeline import run_pipeline

    data = tmp_path / "data"
    data.mkdir()
    shutil.copytree(REFERENTIAL, data / REFERENTIAL.name)
    (data / "cqp-genere-a").mkdir()
    for table, text in generate_referential("cqp-genere-a", 3, seed=11).items():
        (data / "cqp-genere-a" / table).write_text(text, encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "cqp_graph", "generate-referential", "cqp-genere-b", "--missions",
                           "7", "--seed", "12", "-o", str(data)], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    built = run_pipeline(settings_for(data, tmp_path), require_valid=False)
    assert built.report.violations == [], [f"{f.focus}: {f.message}" for f in built.report.violations[:5]]
    for name, missions in (("cqp-genere-a", 3), ("cqp-genere-b", 7)):
        with (data / name / "missions.csv").open(encoding="utf-8") as handle:
            codes = [row["code"] for row in csv.DictReader(handle)]
        assert len(codes) == missions
        found = {str(s) for s in built.graph.subjects(RDF.type, URIRef(f"{CQP}Mission"))
                 if str(s).startswith(f"{BASE}{name}/")}
        assert found == {f"{BASE}{name}/mission/{code}" for code in codes}
        with (data / name / "requirements.csv").open(encoding="utf-8") as handle:
            required = {row["competence"] for row in csv.DictReader(handle)}
        with (data / name / "competences.csv").open(encoding="utf-8") as handle:
            competences = {row["code"] for row in csv.DictReader(handle)}
        assert required == competences, "every competence is required by a mission"


def test_cli_generate_referential_refuses_what_it_cannot_write(tmp_path):
    import os

    def run(*args, env=None):
        return subprocess.run([sys.executable, "-m", "cqp_graph", "generate-referential", *args], capture_output=True,
                              text=True, cwd=ROOT, env=env)

    assert run("cqp-x", "--missions", "2", "-o", str(tmp_path)).returncode == 0
    again = run("cqp-x", "--missions", "2", "-o", str(tmp_path))
    assert again.returncode == 2 and "existe déjà" in again.stderr
    bad = run("Mauvais Nom", "--missions", "2", "-o", str(tmp_path))
    assert bad.returncode == 2 and "minuscules" in bad.stderr
    many = run("cqp-y", "--missions", "6", "-o", str(tmp_path),
               env={**os.environ, "CQP_GRAPH_GENERATE_MAX_MISSIONS": "5"})
    assert many.returncode == 2 and "CQP_GRAPH_GENERATE_MAX_MISSIONS" in many.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cqp-x"]
