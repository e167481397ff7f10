"""Every field of every fiche of the real RNCP and RS extracts, found in the imported graph.

Written for the mutants of the RNCP import that the other tests let survive. The expectation for each fiche
is read here from the XML with ElementTree (field by field, as flux 4.1 names them); the import is run through
its public entry `import_rncp(path, output, base)` and its Turtle output parsed back. A second part sends
fiches broken on purpose (a number, a level, ACTIF, a date, a SIRET, a block code, a block of another fiche,
missing titles) and checks each problem names the fiche's position and number and the field at fault, and
that what is well-formed in the fiche is kept. A third part checks the shapes compiled to Python against pyshacl
on shapes and data the shipped ones do not exercise (each expectation is pyshacl's own finding), and the
output file, batches, progress and locale.
"""

from __future__ import annotations

import re
from collections import Counter
import xml.etree.ElementTree as ET
from datetime import date

import pytest
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, FOAF, RDF, SKOS, XSD

from cqp_graph.exchange.rncp_import import import_rncp, split_competences

from .support import ROOT, SHARED, need_shared

RNCP = SHARED / "rncp" / "export_fiches_RNCP_fixture.xml"
RS = SHARED / "rncp" / "export_fiches_RS_fixture.xml"
BASE = "https://w3id.org/cqp-graph/"
CQP = Namespace(f"{BASE}ontology#")
# flux 4.1's jury elements: the access route each stands for (its code and French name)
ROUTES = {"SI_JURY_FI": ("FI", "formation initiale"), "SI_JURY_CA": ("CA", "apprentissage"),
          "SI_JURY_FC": ("FC", "formation continue"), "SI_JURY_CQ": ("CQ", "contrat de professionnalisation"),
          "SI_JURY_CL": ("CL", "candidature individuelle"), "SI_JURY_VAE": ("VAE", "VAE")}
DATES = {"DATE_FIN_ENREGISTREMENT": "registrationEnd", "DATE_EFFET": "effectiveDate",
         "DATE_DECISION": "decisionDate", "DATE_DE_PUBLICATION": "publicationDate",
         "DATE_LIMITE_DELIVRANCE": "deliveryDeadline"}


def text(element, path):
    value = element.findtext(path)
    return value.strip() or None if value is not None else None


def iso(value: str) -> Literal:
    day, month, year = (int(p) for p in value.split("/"))
    return Literal(date(year, month, day).isoformat(), datatype=XSD.date)


def imported(path, tmp_path):
    out = tmp_path / (path.stem + ".ttl")
    report = import_rncp(path, out, BASE)
    return report, Graph().parse(out, format="turtle")


class Expect:
    def __init__(self, graph):
        self.graph, self.missing, self.expected = graph, [], set()

    def has(self, s, p, o):
        self.expected.add((s, p, o))
        if (s, p, o) not in self.graph:
            self.missing.append((str(s), str(p), o.n3() if isinstance(o, Literal) else str(o)))

    def lacks(self, s, p):
        if (s, p, None) in self.graph:
            self.missing.append(("unexpected", str(s), str(p)))

    def check(self):
        assert not self.missing, f"{len(self.missing)} expected triples missing, e.g. {self.missing[:8]}"


def expect_fiche(e: Expect, fiche):
    number = text(fiche, "NUMERO_FICHE")
    kind, digits = re.match(r"^(RNCP|RS)(\d+)$", number).groups()
    record = URIRef(f"{BASE}rncp/{number}")
    e.has(record, RDF.type, CQP.RegisterRecord)
    e.has(record, CQP.recordNumber, Literal(number))
    e.has(record, CQP.rncpNumber if kind == "RNCP" else CQP.rsNumber, Literal(digits))
    e.lacks(record, CQP.rsNumber if kind == "RNCP" else CQP.rncpNumber)
    if text(fiche, "ID_FICHE"):
        e.has(record, CQP.recordId, Literal(text(fiche, "ID_FICHE")))
    title = text(fiche, "INTITULE")
    e.has(record, DCTERMS.title, Literal(title, lang="fr"))
    e.has(record, SKOS.prefLabel, Literal(title, lang="fr"))
    for path, prop, french in (("ABREGE/CODE", CQP.abbreviation, False), ("ABREGE/LIBELLE", CQP.abbreviationLabel, True),
                               ("CAPACITES_ATTESTEES", CQP.attestedCapacities, True),
                               ("NOMENCLATURE_EUROPE/NIVEAU", CQP.levelCode, False),
                               ("NOMENCLATURE_EUROPE/LIBELLE", CQP.levelLabel, True),
                               ("ETAT_FICHE", CQP.recordState, False),
                               ("TYPE_ENREGISTREMENT", CQP.registrationType, False)):
        if text(fiche, path):
            e.has(record, prop, Literal(text(fiche, path), lang="fr") if french else Literal(text(fiche, path)))
        else:
            e.lacks(record, prop)
    if text(fiche, "ACTIF") in ("Oui", "Non"):
        e.has(record, CQP.active, Literal(text(fiche, "ACTIF") == "Oui"))
    for element, prop in DATES.items():
        if text(fiche, element):
            e.has(record, CQP[prop], iso(text(fiche, element)))
        else:
            e.lacks(record, CQP[prop])
    for path, prop in (("CODES_ROME/ROME", CQP.romeCode), ("CODES_NSF/NSF", CQP.nsfCode),
                       ("FORMACODES/FORMACODE", CQP.formacode)):
        for item in fiche.findall(path):
            e.has(record, prop, Literal(text(item, "CODE")))
    for certifier in fiche.findall("CERTIFICATEURS/CERTIFICATEUR"):
        siret, name = text(certifier, "SIRET_CERTIFICATEUR"), text(certifier, "NOM_CERTIFICATEUR")
        # an organisation is named by its SIRET (14 digits), else by its name: lower case, each run of other
        # characters than a-z and 0-9 made one dash, no dash at either end
        valid = bool(siret and re.fullmatch(r"\d{14}", siret))
        key = siret if valid else "name-" + re.sub(r"[^a-z0-9]+", "-", (name or "unknown").lower()).strip("-")
        node = URIRef(f"{BASE}organisation/{key}")
        e.has(record, CQP.certifier, node)
        e.has(node, RDF.type, CQP.Certifier)
        if name:
            e.has(node, FOAF.name, Literal(name))
            e.has(node, SKOS.prefLabel, Literal(name))
        if siret:
            e.has(node, CQP.siret, Literal(siret))
        if text(certifier, "ETAT_CERTIFICATEUR"):
            e.has(node, CQP.certifierState, Literal(text(certifier, "ETAT_CERTIFICATEUR")))
    for element, (code, label) in ROUTES.items():
        jury = fiche.find(element)
        node = URIRef(f"{record}/route/{code}")
        if jury is None:
            if (record, CQP.hasAccessRoute, node) in e.graph:
                e.missing.append(("unexpected route", str(node)))
            continue
        e.has(record, CQP.hasAccessRoute, node)
        e.has(node, RDF.type, CQP.AccessRoute)
        e.has(node, CQP.routeCode, Literal(code))
        e.has(node, SKOS.prefLabel, Literal(label, lang="fr"))
        if text(jury, "ACTIF") in ("Oui", "Non"):
            e.has(node, CQP.open, Literal(text(jury, "ACTIF") == "Oui"))
        if text(jury, "COMPOSITION"):
            e.has(node, CQP.juryComposition, Literal(text(jury, "COMPOSITION"), lang="fr"))
    for new in fiche.findall("NOUVELLES_CERTIFICATIONS/NOUVELLE_CERTIFICATION"):
        e.has(record, DCTERMS.isReplacedBy, URIRef(f"{BASE}rncp/{text(new, 'ID_FICHE_NOUVELLE_CERTIFICATION')}"))
    for old in fiche.findall("ANCIENNES_CERTIFICATIONS/ANCIENNE_CERTIFICATION"):
        e.has(record, DCTERMS.replaces, URIRef(f"{BASE}rncp/{text(old, 'ID_FICHE_ANCIENNE_CERTIFICATION')}"))
    items = 0
    for block in fiche.findall("BLOCS_COMPETENCES/BLOC_COMPETENCES"):
        code = text(block, "CODE")
        node = URIRef(f"{BASE}rncp/block/{code}")
        e.has(record, CQP.hasBlock, node)
        e.has(node, RDF.type, CQP.CompetenceBlock)
        e.has(node, CQP.code, Literal(code))
        e.has(node, CQP.order, Literal(int(re.search(r"BC(\d+)$", code).group(1))))
        e.has(node, SKOS.prefLabel, Literal(text(block, "LIBELLE"), lang="fr"))
        listed = block.findtext("LISTE_COMPETENCES")
        if listed and listed.strip():
            e.has(node, CQP.competenceListText, Literal(listed, lang="fr"))  # verbatim, spaces and all
            method, parts, preamble = split_competences(listed)
            e.has(node, CQP.itemisation, Literal(method))
            if preamble:
                e.has(node, CQP.itemPreamble, Literal(preamble, lang="fr"))
            for rank, part in enumerate(parts, start=1):
                item = URIRef(f"{node}/item/{rank}")
                e.has(node, CQP.hasItem, item)
                e.has(item, RDF.type, CQP.BlockCompetenceItem)
                e.has(item, CQP.order, Literal(rank))
                e.has(item, CQP.itemText, Literal(part, lang="fr"))
                items += 1
        modalities = block.findtext("MODALITES_EVALUATION")
        if modalities and modalities.strip():
            e.has(node, CQP.assessmentText, Literal(modalities, lang="fr"))
    for index, correspondence in enumerate(fiche.findall("CORRESPONDANCES/CORRESPONDANCE"), start=1):
        node = URIRef(f"{record}/correspondence/{index}")
        e.has(record, CQP.hasCorrespondence, node)
        e.has(node, RDF.type, CQP.BlockCorrespondence)
        for source in correspondence.findall("SOURCE/BLOC_COMPETENCES"):
            e.has(node, CQP.sourceBlock, URIRef(f"{BASE}rncp/block/{text(source, 'CODE')}"))
        target = text(correspondence, "DESTINATION/NUMERO_FICHE")
        if target:
            e.has(node, CQP.targetRecord, URIRef(f"{BASE}rncp/{target}"))
        for block in correspondence.findall("DESTINATION/BLOC_COMPETENCES"):
            e.has(node, CQP.targetBlock, URIRef(f"{BASE}rncp/block/{text(block, 'CODE')}"))
    return kind, items


@pytest.mark.parametrize("path", [RNCP, RS, None], ids=["RNCP", "RS", "generated"])
def test_every_field_of_every_fiche_arrives(path, tmp_path):
    if path is None:  # an export of 40 fiches from the generator (lineage, correspondences, RS, every list style)
        from cqp_graph.exchange.rncp_generate import generate_rncp

        path = tmp_path / "generated.xml"
        generate_rncp(path, 40, seed=2)
    need_shared(path)
    report, graph = imported(path, tmp_path)
    fiches = ET.parse(path).getroot().findall("FICHE")
    e = Expect(graph)
    kinds, items = [], 0
    for fiche in fiches:
        kind, n = expect_fiche(e, fiche)
        kinds.append(kind)
        items += n
    e.check()
    # and nothing else: the import's output is exactly the triples read here from the XML
    extra = set(graph) - e.expected
    assert not extra, f"{len(extra)} triples no field of the XML accounts for, e.g. {sorted(extra)[:5]}"
    blocks = sum(len(f.findall("BLOCS_COMPETENCES/BLOC_COMPETENCES")) for f in fiches)
    assert (report.fiches, report.rncp, report.rs, report.skipped) == \
        (len(fiches), kinds.count("RNCP"), kinds.count("RS"), 0)
    assert (report.blocks, report.items) == (blocks, items)
    summary = report.as_dict()
    assert summary["fiches"] == len(fiches) and summary["rncp"] == kinds.count("RNCP")
    assert summary["rs"] == kinds.count("RS") and summary["blocks"] == blocks and summary["items"] == items
    assert summary["skipped"] == 0 and sum(summary["itemisation"].values()) == sum(
        1 for f in fiches for b in f.findall("BLOCS_COMPETENCES/BLOC_COMPETENCES")
        if (b.findtext("LISTE_COMPETENCES") or "").strip())
    assert summary["problems"] == [str(p) for p in report.problems]


# -- fiches broken on purpose --------------------------------------------------------------------------------

def fiche(number, body=""):
    return f"<FICHE><ID_FICHE>1</ID_FICHE><NUMERO_FICHE>{number}</NUMERO_FICHE>{body}</FICHE>"


def block(code, label="Un bloc", competences=None):
    listed = f"<LISTE_COMPETENCES>{competences}</LISTE_COMPETENCES>" if competences else ""
    label = f"<LIBELLE>{label}</LIBELLE>" if label else ""
    return f"<BLOC_COMPETENCES><CODE>{code}</CODE>{label}{listed}</BLOC_COMPETENCES>"


BROKEN = "".join([
    fiche("RNCP100", "<INTITULE>Bonne fiche</INTITULE><ACTIF>Oui</ACTIF>"
                     "<BLOCS_COMPETENCES>" + block("RNCP100BC02") + "</BLOCS_COMPETENCES>"),
    fiche("XYZ12", "<INTITULE>Numéro faux</INTITULE>"),
    fiche("RNCP300", "<NOMENCLATURE_EUROPE><NIVEAU>NIV9</NIVEAU></NOMENCLATURE_EUROPE><ACTIF>Peut-être</ACTIF>"
                     "<DATE_EFFET>32/01/2024</DATE_EFFET><DATE_DECISION>05/03/2021</DATE_DECISION>"
                     "<CERTIFICATEURS><CERTIFICATEUR><SIRET_CERTIFICATEUR>123</SIRET_CERTIFICATEUR>"
                     "<NOM_CERTIFICATEUR>École d'Été</NOM_CERTIFICATEUR></CERTIFICATEUR></CERTIFICATEURS>"
                     "<BLOCS_COMPETENCES>" + block("BLOC1") + block("RNCP999BC01") + block("RNCP300BC03", label=None)
                     + "</BLOCS_COMPETENCES>"),
    fiche("RS400", "<INTITULE>Une fiche RS</INTITULE><ACTIF>Non</ACTIF>"),
    "<FICHE><INTITULE>Sans numéro</INTITULE></FICHE>",
])


@pytest.fixture
def broken(tmp_path):
    path = tmp_path / "broken.xml"
    path.write_text(f"<FICHES>{BROKEN}</FICHES>", encoding="utf-8")
    report, graph = imported(path, tmp_path)
    return report, graph, [str(p) for p in report.problems]


def problem(messages, start, *words):
    hits = [m for m in messages if m.startswith(start) and all(w in m for w in words)]
    assert len(hits) == 1, (start, words, messages)


def test_each_problem_names_the_fiche_and_the_field(broken):
    report, graph, messages = broken
    problem(messages, "fiche #2 (XYZ12): ", "NUMERO_FICHE", "XYZ12", "écartée")
    assert sum(m == "fiche #3 (RNCP300): INTITULE manquant" for m in messages) == 1, messages
    problem(messages, "fiche #3 (RNCP300): ", "NOMENCLATURE_EUROPE/NIVEAU", "NIV9")
    problem(messages, "fiche #3 (RNCP300): ", "ACTIF", "Peut-être")
    problem(messages, "fiche #3 (RNCP300): ", "DATE_EFFET", "32/01/2024")
    problem(messages, "fiche #3 (RNCP300): ", "SIRET_CERTIFICATEUR", "123")
    problem(messages, "fiche #3 (RNCP300): ", "bloc #1", "BLOC1", "écarté")
    problem(messages, "fiche #3 (RNCP300): ", "RNCP999BC01", "RNCP300")
    problem(messages, "fiche #3 (RNCP300): ", "RNCP300BC03", "LIBELLE")
    problem(messages, "fiche #5: ", "NUMERO_FICHE «  » ", "écartée")  # an empty number between the quotes  # no number: none in parentheses
    assert len(messages) == 10, messages
    assert not any(m.startswith(("fiche #1", "fiche #4")) for m in messages)
    assert report.as_dict()["problems"] == messages


def test_what_is_well_formed_is_kept(broken):
    report, graph, _ = broken
    assert (report.fiches, report.rncp, report.rs, report.skipped, report.blocks) == (3, 2, 1, 2, 3)
    first, third, fourth = (URIRef(f"{BASE}rncp/{n}") for n in ("RNCP100", "RNCP300", "RS400"))
    assert (URIRef(f"{BASE}rncp/XYZ12"), None, None) not in graph
    assert (first, CQP.active, Literal(True)) in graph and (fourth, CQP.active, Literal(False)) in graph
    assert (third, CQP.active, None) not in graph
    assert (fourth, CQP.rsNumber, Literal("400")) in graph and (first, CQP.rncpNumber, Literal("100")) in graph
    # the good date of a fiche with a bad one is kept; the bad one is not
    assert (third, CQP.decisionDate, Literal("2021-03-05", datatype=XSD.date)) in graph
    assert (third, CQP.effectiveDate, None) not in graph
    # the level that is not NIV1…NIV8 is still recorded as written
    assert (third, CQP.levelCode, Literal("NIV9")) in graph
    # a certifier without a valid SIRET is named after its name
    org = URIRef(f"{BASE}organisation/name-cole-d-t")
    assert (third, CQP.certifier, org) in graph and (org, CQP.siret, Literal("123")) in graph
    # block codes: the bad one is dropped, the one of another fiche and the unlabelled one are kept
    assert (third, CQP.hasBlock, URIRef(f"{BASE}rncp/block/RNCP999BC01")) in graph
    assert (URIRef(f"{BASE}rncp/block/RNCP300BC03"), CQP.order, Literal(3)) in graph
    assert (URIRef(f"{BASE}rncp/block/RNCP100BC02"), CQP.order, Literal(2)) in graph
    assert not any("BLOC1" in str(o) for o in graph.objects(third, CQP.hasBlock))



@pytest.mark.parametrize("batch", [1, 2, 200])
def test_shape_violations_are_reported_with_their_fiche(tmp_path, batch):
    """With the import's shapes, each violation is a problem naming the fiche (its position in the file and its
    number) that made the resource the violation is about, whatever the batch size."""
    from cqp_graph.config import Settings
    from cqp_graph.graph.assemble import load_input_shapes

    settings = Settings.from_env(root=ROOT, data_dir=ROOT / "data", dist_dir=tmp_path / "dist")
    path = tmp_path / "broken.xml"
    path.write_text(f"<FICHES>{BROKEN}</FICHES>", encoding="utf-8")
    report = import_rncp(path, tmp_path / "out.ttl", BASE, shapes=load_input_shapes(settings, "rncp", "rncp"),
                         batch=batch)
    shacl = [str(p) for p in report.problems if "SHACL" in str(p)]
    record, org = f"{BASE}rncp/RNCP300", f"{BASE}organisation/name-cole-d-t"
    # RNCP300, the third fiche of the file, has no title and a level outside NIV1…NIV8: two violations on the
    # record, each with the shape's own message
    prefix = f"fiche #3 (RNCP300): forme non respectée (SHACL) sur {record} : "
    assert sorted(m for m in shacl if m.startswith(prefix)) == \
        sorted([prefix + "Le niveau s'écrit NIV1 à NIV8.", prefix + "Une fiche a un intitulé."]), shacl
    # its certifier's SIRET has not 14 digits: a violation on the organisation, which that fiche made
    assert shacl.count(f"fiche #3 (RNCP300): forme non respectée (SHACL) sur {org} : Un SIRET a 14 chiffres.") == 1
    # the well-formed fiches have none
    assert not [m for m in shacl if "RNCP100" in m or "RS400" in m]
    assert len(shacl) == 3, shacl


def test_links_to_other_fiches_only_when_their_number_is_one(tmp_path):
    links = ("<NOUVELLES_CERTIFICATIONS>"
             "<NOUVELLE_CERTIFICATION><ID_FICHE_NOUVELLE_CERTIFICATION>RNCP101</ID_FICHE_NOUVELLE_CERTIFICATION></NOUVELLE_CERTIFICATION>"
             "<NOUVELLE_CERTIFICATION><ID_FICHE_NOUVELLE_CERTIFICATION>ABC</ID_FICHE_NOUVELLE_CERTIFICATION></NOUVELLE_CERTIFICATION>"
             "<NOUVELLE_CERTIFICATION><ID_FICHE_NOUVELLE_CERTIFICATION> </ID_FICHE_NOUVELLE_CERTIFICATION></NOUVELLE_CERTIFICATION>"
             "</NOUVELLES_CERTIFICATIONS><ANCIENNES_CERTIFICATIONS>"
             "<ANCIENNE_CERTIFICATION><ID_FICHE_ANCIENNE_CERTIFICATION>RS5</ID_FICHE_ANCIENNE_CERTIFICATION></ANCIENNE_CERTIFICATION>"
             "<ANCIENNE_CERTIFICATION><ID_FICHE_ANCIENNE_CERTIFICATION>XYZ</ID_FICHE_ANCIENNE_CERTIFICATION></ANCIENNE_CERTIFICATION>"
             "<ANCIENNE_CERTIFICATION></ANCIENNE_CERTIFICATION>"
             "</ANCIENNES_CERTIFICATIONS>"
             "<CERTIFICATEURS><CERTIFICATEUR><ETAT_CERTIFICATEUR>Actif</ETAT_CERTIFICATEUR></CERTIFICATEUR></CERTIFICATEURS>")
    path = tmp_path / "links.xml"
    path.write_text(f"<FICHES>{fiche('RNCP100', '<INTITULE>Liens</INTITULE>' + links)}</FICHES>", encoding="utf-8")
    report, graph = imported(path, tmp_path)
    record = URIRef(f"{BASE}rncp/RNCP100")
    assert set(graph.objects(record, DCTERMS.isReplacedBy)) == {URIRef(f"{BASE}rncp/RNCP101")}
    assert set(graph.objects(record, DCTERMS.replaces)) == {URIRef(f"{BASE}rncp/RS5")}
    # a certifier with neither SIRET nor name is still one, named "unknown"
    org = URIRef(f"{BASE}organisation/name-unknown")
    assert set(graph.objects(record, CQP.certifier)) == {org}
    assert (org, CQP.certifierState, Literal("Actif")) in graph and (org, FOAF.name, None) not in graph
    assert report.fiches == 1 and not report.problems


# -- splitting a block's competence list ----------------------------------------------------------------------

FILLER = "Le bloc vise la maîtrise des situations professionnelles décrites ci-après, dans leur contexte. "


def test_codes_split_only_when_the_first_comes_early_enough():
    items = "A1C1. Évaluer la demande  A1C2. Proposer une offre"
    # the first code may stand up to 300 characters in, or 30 % of the text if that is more
    at_300 = ("x" * 299 + " " + items)
    assert at_300.index("A1C1.") == 300
    assert split_competences(at_300)[0] == "codes"
    at_301 = ("x" * 300 + " " + items)
    assert split_competences(at_301) == ("none", [], None)
    # a long text: 30 % of it is the limit
    long = FILLER * 12  # about 1150 characters
    late = long[: int(len(long) * 0.5)] + " " + items + " " + long
    assert late.index("A1C1.") > max(300, 0.3 * len(late))
    assert split_competences(late) == ("none", [], None)
    early = long[:200] + " " + items + " " + long
    assert split_competences(early)[0] == "codes"
    # the limit is about the first code; the second may come much later
    far = "A1C1. Évaluer " + long + " A1C2. Proposer"
    assert split_competences(far)[:2] == ("codes", ["A1C1. Évaluer " + " ".join(long.split()), "A1C2. Proposer"])
    # the first code's place is where it first appears, even when its text comes back at the end
    again = items + " " + long + " voir A1C1."
    assert split_competences(again)[0] == "codes"


def test_split_items_have_their_spaces_made_single():
    method, items, preamble = split_competences("A1C1. Évaluer   la\n demande    A1C2.  Proposer\tune offre")
    assert (method, items, preamble) == ("codes", ["A1C1. Évaluer la demande", "A1C2. Proposer une offre"], None)


def test_a_single_bullet_is_one_item():
    assert split_competences("- Analyser les besoins du client") == ("bullets", ["Analyser les besoins du client"], None)
    assert split_competences("* Analyser  * Conseiller") == ("bullets", ["Analyser", "Conseiller"], None)


# -- the output file, progress, failures -----------------------------------------------------------------------

def test_progress_counts_every_byte_and_the_output_gets_the_usual_mode(tmp_path):
    import os

    path = tmp_path / "fiches.xml"
    path.write_text(f"<FICHES>{BROKEN}</FICHES>", encoding="utf-8")
    read = []
    old = os.umask(0o027)
    try:
        import_rncp(path, tmp_path / "sub" / "out.nt", BASE, on_read=read.append)
    finally:
        os.umask(old)
    assert sum(read) == path.stat().st_size and all(n >= 0 for n in read)
    out = tmp_path / "sub" / "out.nt"
    assert (out.stat().st_mode & 0o777) == 0o640, oct(out.stat().st_mode)
    assert [p.name for p in out.parent.iterdir()] == ["out.nt"], "no temporary file left"
    # N-Triples: one triple a line, each ending with " ."; read back as N-Triples and as Turtle alike
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines and all(line.endswith(" .") for line in lines)
    assert len(Graph().parse(out, format="nt")) == len(Graph().parse(out, format="turtle")) == len(set(lines))


def test_a_file_that_is_not_an_export_leaves_the_old_output_alone(tmp_path):
    out = tmp_path / "out.nt"
    out.write_text("ancien\n", encoding="utf-8")
    wrong = tmp_path / "wrong.xml"
    wrong.write_text("<AUTRE><FICHE/></AUTRE>", encoding="utf-8")
    with pytest.raises(ValueError, match="<AUTRE>, pas <FICHES>"):
        import_rncp(wrong, out, BASE)
    assert out.read_text(encoding="utf-8") == "ancien\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.nt", "wrong.xml"], "no temporary file left"


def test_texts_are_escaped_as_n_triples_requires(tmp_path):
    """Quotes, backslashes, line breaks and non-ASCII letters survive the trip through the N-Triples output."""
    title = 'Titre « guillemets » "doubles" \\ barre\net ligne'
    listed = 'A1C1. Évaluer "x"\r\n  A1C2. Proposer \\ y'
    path = tmp_path / "texts.xml"
    body = (f"<INTITULE>{title}</INTITULE><BLOCS_COMPETENCES>"
            f"{block('RNCP100BC01', competences=listed.replace(chr(13), '&#13;'))}</BLOCS_COMPETENCES>")
    path.write_text(f"<FICHES>{fiche('RNCP100', body)}</FICHES>", encoding="utf-8")
    report, graph = imported(path, tmp_path)
    assert report.problems == []
    record, node = URIRef(f"{BASE}rncp/RNCP100"), URIRef(f"{BASE}rncp/block/RNCP100BC01")
    assert (record, DCTERMS.title, Literal(title, lang="fr")) in graph
    assert (node, CQP.competenceListText, Literal(listed, lang="fr")) in graph


def test_a_block_code_with_spaces_in_a_correspondence_makes_a_valid_iri(tmp_path):
    body = ("<INTITULE>T</INTITULE><CORRESPONDANCES><CORRESPONDANCE><SOURCE><BLOC_COMPETENCES><CODE>BLOC 1 <x></CODE>"
            "</BLOC_COMPETENCES></SOURCE></CORRESPONDANCE></CORRESPONDANCES>").replace("<x>", "&lt;x&gt;")
    path = tmp_path / "odd.xml"
    path.write_text(f"<FICHES>{fiche('RNCP100', body)}</FICHES>", encoding="utf-8")
    _, graph = imported(path, tmp_path)
    node = URIRef(f"{BASE}rncp/RNCP100/correspondence/1")
    assert set(graph.objects(node, CQP.sourceBlock)) == {URIRef(f"{BASE}rncp/block/BLOC%201%20%3Cx%3E")}


def test_each_fiche_is_freed_once_the_next_is_read(tmp_path):
    """What keeps memory bounded, seen in the test's own process: once the reader moves on, a fiche's element
    is emptied and no longer held by the document (a weak reference to it dies)."""
    import gc
    import weakref

    from cqp_graph.exchange.rncp_import import iter_fiches

    path = tmp_path / "fiches.xml"
    path.write_text(f"<FICHES>{BROKEN}</FICHES>", encoding="utf-8")
    refs, positions = [], []
    for position, element in iter_fiches(path):
        positions.append(position)
        assert len(element), "a fiche is whole when it is handed over"
        refs.append(weakref.ref(element))
        del element
        gc.collect()
        assert all(ref() is None for ref in refs[:-1]), "an earlier fiche is still held"
    assert positions == list(range(1, BROKEN.count("<FICHE>") + 1))


def test_problems_are_worded_exactly(broken):
    """The wording a person reads for each broken field (the specification of the messages, in French)."""
    _, _, messages = broken
    assert messages == [
        "fiche #2 (XYZ12): NUMERO_FICHE « XYZ12 » n'est pas RNCP… ou RS… suivi de chiffres : fiche écartée",
        "fiche #3 (RNCP300): INTITULE manquant",
        "fiche #3 (RNCP300): NOMENCLATURE_EUROPE/NIVEAU « NIV9 » n'est pas NIV1…NIV8",
        "fiche #3 (RNCP300): ACTIF « Peut-être » ne vaut ni Oui ni Non",
        "fiche #3 (RNCP300): DATE_EFFET « 32/01/2024 » n'est pas une date (jj/mm/aaaa)",
        "fiche #3 (RNCP300): SIRET_CERTIFICATEUR « 123 » n'a pas 14 chiffres",
        "fiche #3 (RNCP300): bloc #1 : CODE « BLOC1 » n'est pas RNCP…BC… : bloc écarté",
        "fiche #3 (RNCP300): le bloc RNCP999BC01 n'appartient pas à la fiche RNCP300",
        "fiche #3 (RNCP300): bloc RNCP300BC03 : LIBELLE manquant",
        "fiche #5: NUMERO_FICHE «  » n'est pas RNCP… ou RS… suivi de chiffres : fiche écartée",
    ]


def test_a_syntax_error_is_reported_with_its_line_column_and_the_fiche_it_cut(tmp_path):
    text = "<FICHES>\n" + fiche("RNCP100", "<INTITULE>Une</INTITULE>") + "\n" + fiche("RNCP200", "<INTITULE>Deux") + "\n"
    path = tmp_path / "cut.xml"
    path.write_text(text, encoding="utf-8")
    try:
        ET.fromstring(text)
    except ET.ParseError as exc:
        (line, column), expat = exc.position, str(exc)
    report, graph = imported(path, tmp_path)
    assert [str(p) for p in report.problems] == [
        f"fiche #2: erreur de syntaxe XML ligne {line}, colonne {column} (message d'expat : « {expat} ») ; "
        "les fiches qui précèdent sont gardées"]
    assert report.fiches == 1 and {str(o) for o in graph.objects(None, CQP.recordNumber)} == {"RNCP100"}


def test_the_output_is_written_beside_its_target_then_renamed(tmp_path):
    """While the export is read, the output exists only as a hidden temporary file in the target's folder (created
    with its missing parents); at the end it has the target's name, and the temporary file is gone."""
    path = tmp_path / "fiches.xml"
    path.write_text(f"<FICHES>{BROKEN}</FICHES>", encoding="utf-8")
    folder = tmp_path / "a" / "b"
    seen = []
    import_rncp(path, folder / "out.nt", BASE, on_read=lambda n: seen.append(sorted(p.name for p in folder.iterdir())))
    assert seen and all(len(names) == 1 and names[0].startswith(".out.nt.") for names in seen), seen
    assert [p.name for p in folder.iterdir()] == ["out.nt"]


def test_language_tags_are_written_as_the_shapes_expect(tmp_path):
    """Every text in the output is tagged exactly @fr (lower case, as written in the shapes' sh:languageIn)."""
    from cqp_graph.exchange.rncp_generate import generate_rncp

    generate_rncp(tmp_path / "g.xml", 20, seed=4)
    import_rncp(tmp_path / "g.xml", tmp_path / "g.nt", BASE)
    lines = (tmp_path / "g.nt").read_text(encoding="utf-8").splitlines()
    tags = Counter(m.group(1) for line in lines if (m := re.search(r'"@([A-Za-z-]+) \.$', line)))
    assert set(tags) == {"fr"} and tags["fr"] > 100
    predicates = {line.split(" ")[1] for line in lines if line.endswith('"@fr .')}
    assert {f"<{CQP}competenceListText>", f"<{CQP}itemText>", f"<{CQP}assessmentText>"} <= predicates


# -- the compiled shape checks, on shapes and data the shipped ones do not exercise -------------------------------
# Each expectation is pyshacl's (through `validate_graph`), run on the same data and shapes: the compiled checks
# must report the same (focus, message) pairs, whatever the shape uses.

SHAPES_HEAD = """@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix cqp: <https://w3id.org/cqp-graph/ontology#> .
@prefix ex: <https://example.org/shapes#> . @prefix xsd: <http://www.w3.org/2001/XMLSchema#> . """


def same_as_pyshacl(data: Graph, shapes_text: str) -> Counter:
    """The compiled checks' violations on `data`, asserted equal to pyshacl's; pyshacl's are returned."""
    from cqp_graph.exchange.rncp_import import ShapeChecks, as_term
    from cqp_graph.graph.validate import validate_graph

    shapes = Graph().parse(data=SHAPES_HEAD + shapes_text, format="turtle")
    index: dict = {}
    for s, p, o in data:
        index.setdefault(str(s), {}).setdefault(str(p), {})[as_term(o)] = None
    ours = Counter(ShapeChecks(shapes).violations(index))
    theirs = Counter((f.focus, f.message) for f in validate_graph(data, shapes).violations)
    assert ours == theirs
    return theirs


def imported_graph(tmp_path, body: str) -> Graph:
    path = tmp_path / "one.xml"
    path.write_text(f"<FICHES>{body}</FICHES>", encoding="utf-8")
    return imported(path, tmp_path)[1]


def test_a_message_in_another_language_than_french_is_not_the_one_shown(tmp_path):
    """A shape whose only sh:message is in English: the report's sentence is the French one pyshacl's report
    gets (the generated French wording), not the English message."""
    graph = imported_graph(tmp_path, fiche("RNCP100", "<INTITULE>T</INTITULE>"))
    found = same_as_pyshacl(graph, """ex:S a sh:NodeShape ; sh:targetClass cqp:RegisterRecord ;
        sh:property [ sh:path cqp:recordNumber ; sh:minCount 2 ; sh:message "Two numbers."@en ] .""")
    assert len(found) == 1 and not any("Two numbers." in message for _, message in found)


def test_pattern_flags_other_than_i_do_not_ignore_case(tmp_path):
    """sh:flags "s" (no i): "^rncp" does not match "RNCP100", so the record breaks the shape; with "i" it does not."""
    graph = imported_graph(tmp_path, fiche("RNCP100", "<INTITULE>T</INTITULE>"))
    shape = """ex:S a sh:NodeShape ; sh:targetClass cqp:RegisterRecord ;
        sh:property [ sh:path cqp:recordNumber ; sh:pattern "^rncp" ; sh:flags "{flags}" ; sh:message "Casse."@fr ] ."""
    assert same_as_pyshacl(graph, shape.format(flags="s")) == Counter({(f"{BASE}rncp/RNCP100", "Casse."): 1})
    assert same_as_pyshacl(graph, shape.format(flags="si")) == Counter()


def test_a_literal_focus_node_has_no_properties_even_when_its_text_is_an_iri(tmp_path):
    """Focus nodes from sh:targetObjectsOf may be literals: a literal has no values on any path, even when its
    text is the IRI of a subject of the data (here ID_FICHE written as the record's own IRI)."""
    record = f"{BASE}rncp/RNCP100"
    graph = imported_graph(tmp_path, f"<FICHE><ID_FICHE>{record}</ID_FICHE><NUMERO_FICHE>RNCP100</NUMERO_FICHE>"
                                     "<INTITULE>T</INTITULE></FICHE>")
    assert (URIRef(record), CQP.recordId, Literal(record)) in graph and (URIRef(record), CQP.recordNumber, None) in graph
    found = same_as_pyshacl(graph, """ex:S a sh:NodeShape ; sh:targetObjectsOf cqp:recordId ;
        sh:property [ sh:path cqp:recordNumber ; sh:minCount 1 ; sh:message "Sans numéro."@fr ] .""")
    assert found == Counter({(record, "Sans numéro."): 1})


def test_a_subject_without_a_type_is_no_focus_of_a_class_target():
    """Data where one subject has no rdf:type: a class target ignores it (and the typed one breaks the shape)."""
    data = Graph().parse(data="""<https://example.org/a> <https://example.org/p> "x" .
        <https://example.org/b> a <https://example.org/C> .""", format="turtle")
    found = same_as_pyshacl(data, """ex:S a sh:NodeShape ; sh:targetClass <https://example.org/C> ;
        sh:property [ sh:path <https://example.org/p> ; sh:minCount 1 ; sh:message "Sans p."@fr ] .""")
    assert found == Counter({("https://example.org/b", "Sans p."): 1})


def test_datatypes_and_languages_of_iris_and_tagged_texts(tmp_path):
    """sh:datatype and sh:languageIn on values the shipped shapes never give them: an IRI has no datatype and no
    language (both fail), a French title is an rdf:langString (not an xsd:string)."""
    graph = imported_graph(tmp_path, fiche("RNCP100", "<INTITULE>Titre</INTITULE><CERTIFICATEURS><CERTIFICATEUR>"
                                                      "<NOM_CERTIFICATEUR>Un</NOM_CERTIFICATEUR></CERTIFICATEUR>"
                                                      "</CERTIFICATEURS>"))
    record = f"{BASE}rncp/RNCP100"
    found = same_as_pyshacl(graph, """@prefix dct: <http://purl.org/dc/terms/> .
        @prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .
        ex:S a sh:NodeShape ; sh:targetClass cqp:RegisterRecord ;
            sh:property [ sh:path dct:title ; sh:datatype rdf:langString ; sh:message "Titre étiqueté."@fr ] ;
            sh:property [ sh:path dct:title ; sh:datatype xsd:string ; sh:message "Titre simple."@fr ] ;
            sh:property [ sh:path cqp:certifier ; sh:datatype xsd:string ; sh:message "Certificateur typé."@fr ] ;
            sh:property [ sh:path cqp:certifier ; sh:languageIn ( "fr" ) ; sh:message "Certificateur en français."@fr ] .""")
    assert found == Counter({(record, "Titre simple."): 1, (record, "Certificateur typé."): 1,
                             (record, "Certificateur en français."): 1})


def test_the_shipped_shapes_are_compiled_not_handed_to_pyshacl():
    """The import's own shapes use only what the compiled checks cover, so a batch is checked without building
    an RDF graph (pyshacl is the fallback for other shapes, not the way the shipped ones are checked)."""
    from cqp_graph.exchange.rncp_import import BatchChecker, ImportReport, ShapeChecks

    shapes = Graph().parse(ROOT / "shapes" / "rncp" / "rncp.ttl", format="turtle")
    checker = BatchChecker(shapes, ImportReport())
    assert isinstance(checker.checks, ShapeChecks)
    assert len(checker.checks.nodes) == len(set(shapes.subjects(URIRef("http://www.w3.org/ns/shacl#targetClass")))
                                            | set(shapes.subjects(URIRef("http://www.w3.org/ns/shacl#targetNode")))
                                            | set(shapes.subjects(URIRef("http://www.w3.org/ns/shacl#targetSubjectsOf")))
                                            | set(shapes.subjects(URIRef("http://www.w3.org/ns/shacl#targetObjectsOf"))))


def test_shapes_pyshacl_checks_see_every_fiche_of_a_batch(tmp_path):
    """With a shape the compiled checks do not cover (sh:maxLength), a batch of several fiches goes to pyshacl
    as one graph: each fiche's violation is reported with its fiche, the same as pyshacl finds on the output."""
    from cqp_graph.graph.validate import validate_graph

    extra = SHAPES_HEAD + """ex:Short a sh:NodeShape ; sh:targetClass cqp:RegisterRecord ;
        sh:property [ sh:path cqp:recordNumber ; sh:maxLength 5 ; sh:message "Numéro trop long."@fr ] ."""
    shapes = Graph().parse(ROOT / "shapes" / "rncp" / "rncp.ttl", format="turtle").parse(data=extra, format="turtle")
    path = tmp_path / "three.xml"
    path.write_text("<FICHES>" + "".join(fiche(n, "<INTITULE>T</INTITULE>") for n in ("RNCP100", "RS2", "RNCP300"))
                    + "</FICHES>", encoding="utf-8")
    report = import_rncp(path, tmp_path / "out.nt", BASE, shapes=shapes, batch=200)
    too_long = [str(p) for p in report.problems if "Numéro trop long." in str(p)]
    assert too_long == [f"fiche #{i} ({n}): forme non respectée (SHACL) sur {BASE}rncp/{n} : Numéro trop long."
                        for i, n in ((1, "RNCP100"), (3, "RNCP300"))]
    output = Graph().parse(tmp_path / "out.nt", format="nt")
    expected = Counter((f.focus, f.message) for f in validate_graph(output, shapes).violations)
    assert Counter((p.message.split(" sur ", 1)[1].split(" : ", 1)[0], p.message.split(" : ", 1)[1])
                   for p in report.problems if "SHACL" in p.message) == expected


def test_a_fiche_s_violations_come_by_resource_then_message(tmp_path):
    """Within one fiche, the violations are listed resource by resource (IRIs in order), each resource's
    messages in order: RNCP300's certifier (…/organisation/…) before the record itself (…/rncp/…), though the
    certifier's message would sort between the record's two."""
    from cqp_graph.config import Settings
    from cqp_graph.graph.assemble import load_input_shapes

    settings = Settings.from_env(root=ROOT, data_dir=ROOT / "data", dist_dir=tmp_path / "dist")
    path = tmp_path / "broken.xml"
    path.write_text(f"<FICHES>{BROKEN}</FICHES>", encoding="utf-8")
    report = import_rncp(path, tmp_path / "out.nt", BASE, shapes=load_input_shapes(settings, "rncp", "rncp"))
    record, org = f"{BASE}rncp/RNCP300", f"{BASE}organisation/name-cole-d-t"
    pairs = [(org, "Un SIRET a 14 chiffres."), (record, "Le niveau s'écrit NIV1 à NIV8."),
             (record, "Une fiche a un intitulé.")]
    assert sorted(pairs) == pairs and sorted(pairs, key=lambda p: p[1]) != pairs
    assert [str(p) for p in report.problems if "SHACL" in str(p)] == \
        [f"fiche #3 (RNCP300): forme non respectée (SHACL) sur {focus} : {message}" for focus, message in pairs]


def test_a_block_code_is_one_segment_of_its_iri(tmp_path):
    """A block code becomes one path segment (RFC 3986's pchar): letters, digits, sub-delimiters, ":" and "@"
    stay as written; "/" (which would start another segment), spaces, "%" and other characters are percent-encoded
    (« %20 » in a code is three characters of text: encoded, it cannot meet the code holding a space)."""
    code = "A:B@C/D(1)+E=F é%20"
    expected = "A:B@C%2FD(1)+E=F%20%C3%A9%2520"  # written here by the rule above, "é" as its UTF-8 bytes
    body = (f"<INTITULE>T</INTITULE><CORRESPONDANCES><CORRESPONDANCE><SOURCE><BLOC_COMPETENCES><CODE>{code}</CODE>"
            "</BLOC_COMPETENCES></SOURCE></CORRESPONDANCE></CORRESPONDANCES>")
    graph = imported_graph(tmp_path, fiche("RNCP100", body))
    node = URIRef(f"{BASE}rncp/RNCP100/correspondence/1")
    assert set(graph.objects(node, CQP.sourceBlock)) == {URIRef(f"{BASE}rncp/block/{expected}")}


def test_a_block_without_a_code_is_reported_with_an_empty_code(tmp_path):
    """A block with no CODE element, or an empty one: dropped, the message showing nothing between the quotes."""
    blocks = ("<BLOCS_COMPETENCES><BLOC_COMPETENCES><LIBELLE>Sans code</LIBELLE></BLOC_COMPETENCES>"
              "<BLOC_COMPETENCES><CODE> </CODE><LIBELLE>Code vide</LIBELLE></BLOC_COMPETENCES></BLOCS_COMPETENCES>")
    path = tmp_path / "nocode.xml"
    path.write_text(f"<FICHES>{fiche('RNCP100', '<INTITULE>T</INTITULE>' + blocks)}</FICHES>", encoding="utf-8")
    report, graph = imported(path, tmp_path)
    assert [str(p) for p in report.problems] == [
        f"fiche #1 (RNCP100): bloc #{i} : CODE «  » n'est pas RNCP…BC… : bloc écarté" for i in (1, 2)]
    assert report.blocks == 0 and (None, CQP.hasBlock, None) not in graph


def test_a_large_export_is_read_chunk_by_chunk(tmp_path):
    """Progress advances while the file is read, not once at the end: a file several times larger than the XML
    parser's read size is read (and reported) in several chunks, none of them the whole file."""
    from cqp_graph.exchange.rncp_generate import generate_rncp

    path = tmp_path / "big.xml"
    generate_rncp(path, 300, seed=3)
    size = path.stat().st_size
    assert size > 4 * 65536, size
    read = []
    import_rncp(path, tmp_path / "big.nt", BASE, on_read=read.append)
    assert sum(read) == size
    assert len([n for n in read if n]) >= 4 and max(read) < size, read


def test_every_batch_is_checked_when_it_is_full(tmp_path):
    """Five fiches naming the same certifier without a name (foaf:name is required), in batches of two: the
    batches are #1–#2, #3–#4 and #5, and the certifier is reported once per batch, with the batch's first fiche."""
    from cqp_graph.config import Settings
    from cqp_graph.graph.assemble import load_input_shapes

    settings = Settings.from_env(root=ROOT, data_dir=ROOT / "data", dist_dir=tmp_path / "dist")
    certifier = ("<INTITULE>T</INTITULE><CERTIFICATEURS><CERTIFICATEUR><SIRET_CERTIFICATEUR>12345678901234"
                 "</SIRET_CERTIFICATEUR></CERTIFICATEUR></CERTIFICATEURS>")
    numbers = [f"RNCP{n}" for n in range(1, 6)]
    path = tmp_path / "five.xml"
    path.write_text("<FICHES>" + "".join(fiche(n, certifier) for n in numbers) + "</FICHES>", encoding="utf-8")
    org = f"{BASE}organisation/12345678901234"
    batch = 2
    firsts = [(i + 1, numbers[i]) for i in range(0, len(numbers), batch)]
    assert firsts == [(1, "RNCP1"), (3, "RNCP3"), (5, "RNCP5")]
    report = import_rncp(path, tmp_path / "out.nt", BASE, shapes=load_input_shapes(settings, "rncp", "rncp"),
                         batch=batch)
    assert [str(p).split(":", 1)[0] for p in report.problems if f"sur {org} :" in str(p)] == \
        [f"fiche #{i} ({n})" for i, n in firsts]


def test_the_output_is_utf_8_whatever_the_locale(tmp_path):
    """Run under the plain C locale with Python's UTF-8 mode and locale coercion off (the preferred encoding is
    then ASCII): accented titles are still written, as UTF-8."""
    import os
    import subprocess
    import sys

    title = "Hôtellerie-restauration : réceptionniste « été »"
    path = tmp_path / "accents.xml"
    path.write_text(f"<FICHES>{fiche('RNCP100', f'<INTITULE>{title}</INTITULE>')}</FICHES>", encoding="utf-8")
    out = tmp_path / "out.nt"
    env = dict(os.environ, LC_ALL="C", LANG="C", PYTHONUTF8="0", PYTHONCOERCECLOCALE="0")
    script = ("import sys, locale; from cqp_graph.exchange.rncp_import import import_rncp; "
              "print(locale.getpreferredencoding(False)); import_rncp(sys.argv[1], sys.argv[2], sys.argv[3])")
    done = subprocess.run([sys.executable, "-c", script, str(path), str(out), BASE], env=env, capture_output=True,
                          text=True, encoding="utf-8", timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    # CPython on POSIX: with coercion and UTF-8 mode off, the C locale's preferred encoding is ASCII
    assert done.stdout.split()[0].lower().replace("_", "-") in ("ansi-x3.4-1968", "ascii", "us-ascii"), done.stdout
    graph = Graph().parse(out, format="nt")
    assert (URIRef(f"{BASE}rncp/RNCP100"), DCTERMS.title, Literal(title, lang="fr")) in graph


def test_a_syntax_error_after_a_skipped_fiche_names_the_fiche_it_cut(tmp_path):
    """The fiche cut by a syntax error is counted after every fiche before it, the skipped ones included: a
    good fiche, one without a number (skipped), one without a usable number (skipped), then the cut one: #4."""
    text = ("<FICHES>\n" + fiche("RNCP100", "<INTITULE>Une</INTITULE>") + "\n<FICHE><INTITULE>Sans numéro</INTITULE>"
            "</FICHE>\n" + fiche("XYZ", "<INTITULE>Faux</INTITULE>") + "\n" + fiche("RNCP200", "<INTITULE>Deux") + "\n")
    path = tmp_path / "cut.xml"
    path.write_text(text, encoding="utf-8")
    before = text.split("<FICHE>")[1:-1]
    report, _ = imported(path, tmp_path)
    assert (report.fiches, report.skipped) == (1, 2)
    syntax = [str(p) for p in report.problems if "erreur de syntaxe XML" in str(p)]
    assert len(syntax) == 1 and syntax[0].startswith(f"fiche #{len(before) + 1}: "), syntax


def test_a_language_range_star_accepts_any_tag_and_only_tagged_texts():
    """sh:languageIn ( "*" ): SPARQL's langMatches, as SHACL defines it — any tagged text matches, an untagged one
    does not, nor does an IRI (the compiled checks once took "*" as a tag of its own and refused every text)."""
    data = Graph().parse(data='<https://example.org/a> <https://example.org/p> "un"@fr, "deux"@en-GB, "trois", '
                              '<https://example.org/b> .', format="turtle")
    found = same_as_pyshacl(data, """ex:S a sh:NodeShape ; sh:targetSubjectsOf <https://example.org/p> ;
        sh:property [ sh:path <https://example.org/p> ; sh:languageIn ( "*" ) ; sh:message "Langue."@fr ] .""")
    assert found == Counter({("https://example.org/a", "Langue."): 2})  # « trois » and the IRI

