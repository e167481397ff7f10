"""Every row of every table of the shipped referential, found in its graph with each of its cells.

Written for the mutants of the CSV → RDF module that the other tests let survive. The expectation for each
table is a specification written here (which node a row becomes, under `{base}{folder}/{kind}/{code}` as the
README says, and which ontology term holds each column); the values come from the CSV files, read here with
the `csv` module; concepts (competence kinds, rule scopes and gates, relation roles) are found in
ontology/cqp.ttl by their notation. The graph is built once for this module, through the module's public
entry `ReferentialGraph(folder, base, ontology).build()` (mutmut then maps the builder to the first test only:
scripts/mutation.sh must map each mutated function to the whole selection). Only the presence of the expected
triples is checked, so facts added later (e.g. which referential a resource belongs to) do not break it.
"""

from __future__ import annotations

import csv
import functools
import re
from decimal import Decimal

import pytest
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, FOAF, PROV, RDF, SKOS, XSD

from cqp_graph.config import Settings
from cqp_graph.graph.assemble import load_ontology
from cqp_graph.source.referential import ReferentialGraph

from .support import REFERENTIAL, ROOT, edit_csv

SETTINGS = Settings.from_env(root=ROOT, data_dir=ROOT / "data", dist_dir=ROOT / "dist")
BASE = SETTINGS.base
ROOT_IRI = f"{BASE}{REFERENTIAL.name}/"
CQP = Namespace(f"{BASE}ontology#")
SEMAPV = "https://w3id.org/semapv/vocab/"


def build() -> Graph:
    return ReferentialGraph(REFERENTIAL, BASE, load_ontology(SETTINGS)).build()


def rows(name: str) -> list[dict]:
    path = REFERENTIAL / name
    if not path.exists():
        return []
    with path.open(encoding="utf-8-sig") as handle:
        return [r for r in csv.DictReader(handle) if any((v or "").strip() for v in r.values())]


def lines_of(name: str, folder=REFERENTIAL) -> list[int]:
    """The line each record of a CSV starts on (a quoted cell may span lines)."""
    with (folder / name).open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        out = []
        while True:
            start = reader.line_num + 1
            try:
                record = next(reader)
            except StopIteration:
                return out
            if any(c.strip() for c in record):
                out.append(start)


def iri(kind: str, code: str | None = None) -> URIRef:
    return URIRef(f"{ROOT_IRI}{kind}" if code is None else f"{ROOT_IRI}{kind}/{code}")


def fr(text: str) -> Literal:
    return Literal(text, lang="fr")


def decimal(text: str) -> Literal:
    """XSD canonical decimal: no exponent, no trailing zeros, at least one digit after the point."""
    digits = format(Decimal(text.replace(",", ".")).normalize(), "f")
    return Literal(digits if "." in digits else digits + ".0", datatype=XSD.decimal)


def folded(text: str) -> str:
    """A wording without what a typographic variant may change (ontology: case, accents, punctuation, spaces)."""
    import unicodedata

    plain = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return "".join(c for c in plain.casefold() if c.isalnum())


def truth(text: str) -> bool:
    return text.strip().lower() in ("true", "yes", "oui", "1")


@functools.lru_cache(maxsize=None)
def ontology_file() -> Graph:
    return Graph().parse(ROOT / "ontology" / "cqp.ttl")


def concept(scheme_class: str, notation: str) -> URIRef:
    ontology = ontology_file()
    hits = [s for s in ontology.subjects(SKOS.notation, Literal(notation))
            if (s, RDF.type, CQP[scheme_class]) in ontology]
    assert len(hits) == 1, (scheme_class, notation, hits)
    return hits[0]


class Expect:
    def __init__(self, graph: Graph):
        self.graph = graph
        self.missing: list = []

    def has(self, s, p, o):
        if (s, p, o) not in self.graph:
            self.missing.append((str(s), str(p), o.n3() if isinstance(o, Literal) else str(o)))

    def lacks_triple(self, s, p, o):
        if (s, p, o) in self.graph:
            self.missing.append(("unexpected", str(s), str(p), str(o)))

    def lacks(self, s, p):
        if (s, p, None) in self.graph:
            self.missing.append(("unexpected", str(s), str(p)))

    def labelled(self, node, cls, row, code=True):
        self.has(node, RDF.type, cls)
        if code:
            self.has(node, CQP.code, Literal(row["code"]))
        self.has(node, SKOS.prefLabel, fr(row["label"]))
        if (row.get("order") or "").strip():
            self.has(node, CQP.order, Literal(int(row["order"])))
        if (row.get("minted") or "").strip():
            if truth(row["minted"]):
                self.has(node, CQP.codeMinted, Literal(True))
            else:
                self.lacks(node, CQP.codeMinted)
        if (row.get("note") or "").strip():
            self.has(node, CQP.note, fr(row["note"]))
        elif "note" in row:
            self.lacks(node, CQP.note)
        self.provenance(node, row)

    def provenance(self, node, row):
        self.has(node, CQP.sourceSection, fr(row["source_section"]))
        if (row.get("source_lines") or "").strip():
            self.has(node, CQP.sourceLines, Literal(row["source_lines"]))
        self.has(node, PROV.wasDerivedFrom, iri("source"))

    def check(self):
        assert not self.missing, f"{len(self.missing)} expected triples missing, e.g. {self.missing[:8]}"


@pytest.fixture(scope="module")
def built() -> Graph:
    return build()


@pytest.fixture
def expect(built):
    e = Expect(built)
    yield e
    e.check()


# -- the certification and the job ---------------------------------------------------------------------------

CERTIFICATION = {"type": DCTERMS.type, "sector": CQP.sector}
PLAIN = {"abbreviation": CQP.abbreviation, "rncp_number": CQP.rncpNumber, "nsf_code": CQP.nsfCode,
         "language": DCTERMS.language}


def test_certification(expect):
    cert, source, job = iri("certification"), iri("source"), iri("job")
    expect.has(cert, RDF.type, CQP.Certification)
    expect.has(cert, CQP.jobProfile, job)
    expect.has(cert, PROV.wasDerivedFrom, source)
    expect.has(source, RDF.type, PROV.Entity)
    seen = set()
    for row in rows("certification.csv"):
        prop, value, lang = row["property"], row["value"], row["lang"] or None
        text = Literal(value, lang=lang)
        seen.add(prop)
        if prop == "title":
            expect.has(cert, DCTERMS.title, text)
            expect.has(cert, SKOS.prefLabel, text)
            expect.has(cert, CQP.sourceSection, fr(row["source_section"]))
            expect.has(cert, CQP.sourceLines, Literal(row["source_lines"]))
        elif prop in CERTIFICATION:
            expect.has(cert, CERTIFICATION[prop], text)
        elif prop in PLAIN:
            expect.has(cert, PLAIN[prop], Literal(value))
        elif prop == "certifier":
            org = iri("certifier")
            expect.has(cert, CQP.certifier, org)
            expect.has(org, RDF.type, CQP.Certifier)
            expect.has(org, FOAF.name, text)
            expect.has(org, SKOS.prefLabel, text)
            expect.has(org, CQP.sourceSection, fr(row["source_section"]))
        elif prop == "source_document":
            expect.has(source, DCTERMS.title, text)
        if prop in ("rncp_number", "nsf_code"):
            # identifiers from outside the seed keep their own provenance, as a statement about them
            note = iri("fact", "certification-" + prop.replace("_", "-"))
            expect.has(note, RDF.type, RDF.Statement)
            expect.has(note, RDF.subject, cert)
            expect.has(note, RDF.predicate, PLAIN[prop])
            expect.has(note, RDF.object, Literal(value))
            expect.has(note, CQP.sourceSection, fr(row["source_section"]))
    assert {"title", "certifier", "rncp_number", "nsf_code", "source_document"} <= seen


def test_job_profile_and_functional_relations(expect):
    job = iri("job")
    expect.has(job, RDF.type, CQP.JobProfile)
    expect.has(job, PROV.wasDerivedFrom, iri("source"))
    for row in rows("job-profile.csv"):
        value = Literal(row["value"], lang=row["lang"] or None)
        if row["property"] == "title":
            expect.has(job, SKOS.prefLabel, value)
            expect.has(job, CQP.sourceSection, fr(row["source_section"]))
            expect.has(job, CQP.sourceLines, Literal(row["source_lines"]))
        else:
            term = {"purpose": CQP.purpose, "hierarchical_position": CQP.hierarchicalPosition}[row["property"]]
            expect.has(job, term, value)
    gaps = {r["code"] for r in rows("source-gaps.csv")}
    unreadable = 0
    for row in rows("functional-relations.csv"):
        node = iri("functional-relation", row["code"])
        expect.has(job, CQP.hasFunctionalRelation, node)
        expect.has(node, RDF.type, CQP.FunctionalRelation)
        expect.has(node, CQP.code, Literal(row["code"]))
        expect.has(node, CQP.actorLabel, fr(row["party"]))
        expect.has(node, SKOS.prefLabel, fr(row["party"]))
        expect.has(node, CQP.roleStatus, Literal(row["role_status"]))
        if row["role"]:
            expect.has(node, CQP.relationRole, concept("RelationRole", row["role"]))
        else:
            expect.lacks(node, CQP.relationRole)
        if row["role_status"] == "unreadable":
            unreadable += 1
            gap = re.search(r"lacune (G\d+)", row["note"]).group(1)  # the note names the gap that hides the role
            assert gap in gaps
            expect.has(node, CQP.unreadableIn, iri("source-gap", gap))
        else:
            expect.lacks(node, CQP.unreadableIn)
        if row["note"]:
            expect.has(node, CQP.note, fr(row["note"]))
        expect.provenance(node, row)
    assert unreadable and unreadable < len(rows("functional-relations.csv"))


def test_source_gaps(expect):
    for row in rows("source-gaps.csv"):
        node = iri("source-gap", row["code"])
        expect.labelled(node, CQP.SourceGap, row)
        expect.has(node, DCTERMS.description, fr(row["consequence"]))


# -- missions, domains, competences, blocks ------------------------------------------------------------------

def test_missions_and_activities(expect):
    for row in rows("missions.csv"):
        node = iri("mission", row["code"])
        expect.labelled(node, CQP.Mission, row)
        expect.has(iri("job"), CQP.hasMission, node)
    for row in rows("activities.csv"):
        node = iri("activity", row["code"])
        expect.labelled(node, CQP.Activity, row)
        expect.has(iri("mission", row["mission"]), CQP.hasActivity, node)


def test_domains(expect):
    scheme = iri("domains")
    expect.has(scheme, RDF.type, SKOS.ConceptScheme)
    expect.has(scheme, SKOS.prefLabel, fr("Domaines de compétences"))
    for row in rows("domains.csv"):
        node = iri("domain", row["code"])
        expect.labelled(node, CQP.Domain, row)
        expect.has(node, RDF.type, SKOS.Concept)
        expect.has(node, SKOS.notation, Literal(row["code"]))
        expect.has(node, SKOS.inScheme, scheme)
        expect.has(node, SKOS.topConceptOf, scheme)


def test_competences_and_aptitudes(expect):
    for row in rows("competences.csv"):
        node = iri("competence", row["code"])
        expect.labelled(node, CQP.Competence, row)
        expect.has(node, CQP.kind, concept("CompetenceKind", row["kind"]))
        expect.has(node, CQP.domain, iri("domain", row["domain"]))
        expect.has(node, DCTERMS.isPartOf, iri("certification"))
    aptitude = concept("CompetenceKind", "A")
    for row in rows("aptitudes.csv"):
        node = iri("competence", row["code"])
        expect.labelled(node, CQP.Competence, row)
        expect.has(node, CQP.kind, aptitude)
        expect.has(iri("job"), CQP.requiresAptitude, node)
        expect.has(node, DCTERMS.isPartOf, iri("certification"))


def test_blocks_and_units(expect):
    for row in rows("blocks.csv"):
        node = iri("block", row["code"])
        expect.labelled(node, CQP.CompetenceBlock, row)
        expect.has(node, CQP.certifiesDomain, iri("domain", row["domain"]))
        expect.has(iri("certification"), CQP.hasBlock, node)
    for row in rows("units.csv"):
        node = iri("unit", row["code"])
        expect.labelled(node, CQP.CertificationUnit, row)
        expect.has(iri("certification"), CQP.hasUnit, node)
        if row["block"]:
            expect.has(node, CQP.inBlock, iri("block", row["block"]))
        else:
            expect.lacks(node, CQP.inBlock)
        if row["unreadable_in"]:
            expect.has(node, CQP.unreadableIn, iri("source-gap", row["unreadable_in"]))


# -- mentions on the mission pages and variants ----------------------------------------------------------------

def test_requirements_are_mentions_on_the_mission_pages(expect):
    labels = {r["code"]: r["label"] for r in rows("competences.csv") + rows("aptitudes.csv")}
    kinds = {n: concept("VariantKind", n) for n in ("code", "wording", "typographic")}
    for row in rows("requirements.csv"):
        mission, competence = iri("mission", row["mission"]), iri("competence", row["competence"])
        expect.has(mission, CQP.requiresCompetence, competence)
        node = iri("mention", f"{row['mission']}-{row['competence']}")
        expect.has(node, CQP.onMissionPage, mission)
        expect.has(node, RDF.type, CQP.Mention)
        expect.has(node, CQP.mentionOf, competence)
        expect.has(node, CQP.codeAsWritten, Literal(row["code_as_written"]))
        expect.has(node, CQP.labelAsWritten, fr(row["label_as_written"]))
        expect.provenance(node, row)
        wording = [k for k in (kinds["wording"], kinds["typographic"]) if (node, CQP.variantKind, k) in expect.graph]
        if row["code_as_written"] != row["competence"]:
            expect.has(node, CQP.variantKind, kinds["code"])
        else:
            expect.lacks_triple(node, CQP.variantKind, kinds["code"])
        if row["label_as_written"] != labels[row["competence"]]:
            # another wording (or typography) than the reference: a variant, and an alternative label
            if len(wording) != 1:
                expect.missing.append(("one wording or typographic kind", str(node), wording))
            expect.has(competence, SKOS.altLabel, fr(row["label_as_written"]))
        elif wording:
            expect.missing.append(("no wording kind for the reference wording", str(node), wording))
        if row["code_as_written"] != row["competence"] or row["label_as_written"] != labels[row["competence"]]:
            expect.has(node, RDF.type, CQP.LabelVariant)
        else:
            expect.lacks_triple(node, RDF.type, CQP.LabelVariant)


def test_variants_listed_by_the_data(expect):
    title = next(r["value"] for r in rows("certification.csv") if r["property"] == "title")
    kinds = {"activity": "activity", "domain": "domain", "competence": "competence", "mission": "mission"}
    found = 0
    for row, line in zip(rows("variants.csv"), lines_of("variants.csv")):
        kind, code = row["item_type"], row["item_code"]
        first = (row["source_lines"] or str(line)).split(",")[0].strip()
        node = iri("variant", f"{kind}-{code}-{first}" if code else f"{kind}-{first}")
        item = iri("certification") if kind == "certification" else iri(kinds[kind], code)
        expect.has(node, RDF.type, CQP.LabelVariant)
        expect.has(node, RDF.type, CQP.Mention)
        expect.has(node, CQP.mentionOf, item)
        expect.has(node, CQP.labelAsWritten, fr(row["label_as_written"]))
        if row["code_as_written"]:
            expect.has(node, CQP.codeAsWritten, Literal(row["code_as_written"]))
        expect.provenance(node, row)
        found += 1
        if kind == "certification":
            assert row["label_as_written"] != title
    assert found


# -- evaluation ------------------------------------------------------------------------------------------------

def test_evaluators_and_routes(expect):
    scheme = iri("evaluators")
    expect.has(scheme, RDF.type, SKOS.ConceptScheme)
    expect.has(scheme, SKOS.prefLabel, fr("Types d’évaluateurs"))
    for row in rows("evaluators.csv"):
        node = iri("evaluator", row["code"])
        expect.labelled(node, CQP.EvaluatorType, row)
        expect.has(node, RDF.type, SKOS.Concept)
        expect.has(node, SKOS.notation, Literal(row["code"]))
        expect.has(node, SKOS.inScheme, scheme)
        if row["heading"]:
            expect.has(node, SKOS.altLabel, fr(row["heading"]))
        if row["description"]:
            expect.has(node, SKOS.definition, fr(row["description"]))
    for row in rows("routes.csv"):
        node = iri("route", row["code"])
        expect.labelled(node, CQP.AssessmentRoute, row)
        expect.has(iri("certification"), CQP.hasRoute, node)
        if row["description"]:
            expect.has(node, DCTERMS.description, fr(row["description"]))
        if row["attestation_validity"]:
            expect.has(node, CQP.attestationValidity, fr(row["attestation_validity"]))
        if row["validity_unlimited"]:
            expect.has(node, CQP.validityUnlimited, Literal(truth(row["validity_unlimited"])))
        else:
            expect.lacks(node, CQP.validityUnlimited)
        if row["rncp_jury"]:  # the RNCP export's jury element for this route
            expect.has(node, CQP.rncpJuryElement, Literal(row["rncp_jury"]))
        else:
            expect.lacks(node, CQP.rncpJuryElement)
    assert any(row["rncp_jury"] for row in rows("routes.csv")) and not all(row["rncp_jury"] for row in rows("routes.csv"))


def test_rules(expect):
    for row in rows("rules.csv"):
        node = iri("rule", row["code"])
        expect.labelled(node, CQP.ThresholdRule, row)
        expect.has(iri("route", row["route"]), CQP.hasRule, node)
        expect.has(node, CQP.scope, concept("RuleScope", row["scope"]))
        expect.has(node, CQP.gates, concept("RuleGate", row["gates"]))
        if row["evaluator"]:
            expect.has(node, CQP.evaluator, iri("evaluator", row["evaluator"]))
        else:
            expect.lacks(node, CQP.evaluator)
        expect.has(node, CQP.minimumPercent, decimal(row["min_percent"]))
        expect.has(node, CQP.basis, Literal(row["basis"]))


def test_settings_and_publication_values(expect):
    for row in rows("settings.csv"):
        node = iri("setting", row["code"])
        expect.labelled(node, CQP.Setting, row)
        expect.has(iri("certification"), CQP.hasSetting, node)
        expect.has(node, CQP.settingKey, Literal(row["code"]))
        expect.has(node, CQP.settingValue, Literal(row["value"]))
        for allowed in [a.strip() for a in row["allowed_values"].split("|") if a.strip()]:
            expect.has(node, CQP.allowedValue, Literal(allowed))
        expect.has(node, CQP.basis, Literal(row["basis"]))
    empty = 0
    for row in rows("publication.csv"):
        node = iri("setting", row["code"])
        expect.labelled(node, CQP.Setting, row)
        expect.has(iri("certification"), CQP.hasSetting, node)
        expect.has(node, CQP.settingKey, Literal(row["code"]))
        if row["value"]:
            expect.has(node, CQP.settingValue, Literal(row["value"]))
        else:
            empty += 1
            expect.lacks(node, CQP.settingValue)
        expect.has(node, CQP.basis, Literal(row["basis"]))
    assert empty


def test_vae_steps_and_booklets(expect):
    for row in rows("booklets.csv"):
        node = iri("booklet", row["code"])
        expect.labelled(node, CQP.Booklet, row)
        expect.has(node, CQP.bookletPresence, Literal(row["presence"]))
    for row in rows("vae-steps.csv"):
        node = iri("vae-step", row["code"])
        expect.labelled(node, CQP.VAEStep, row)
        expect.has(iri("route", row["route"]), CQP.hasStep, node)
        if row["evaluator"]:
            expect.has(node, CQP.evaluator, iri("evaluator", row["evaluator"]))
        if row["evaluator_count"]:
            expect.has(node, CQP.evaluatorCount, Literal(int(row["evaluator_count"])))
        else:
            expect.lacks(node, CQP.evaluatorCount)
        for booklet in [b.strip() for b in row["booklets"].split("|") if b.strip()]:
            expect.has(node, CQP.requiresBooklet, iri("booklet", booklet))


# -- ROME alignments -----------------------------------------------------------------------------------------

def test_rome_mappings(expect):
    scheme = URIRef(f"{BASE}rome/rome-4.0")
    found = rows("rome-mappings.csv")
    assert found
    expect.has(scheme, RDF.type, SKOS.ConceptScheme)
    expect.has(scheme, SKOS.prefLabel, fr("ROME 4.0 (France Travail)"))
    for index, (row, line) in enumerate(zip(found, lines_of("rome-mappings.csv")), start=1):
        subject = iri("job") if row["subject_id"] == "JOB" else iri("competence", row["subject_id"])
        kind = row["object_type"]
        target = URIRef(f"{BASE}rome/{'job' if kind == 'job' else 'item'}/{row['object_id']}")
        predicate = SKOS[row["predicate_id"].split(":", 1)[1]]
        expect.has(subject, predicate, target)
        expect.has(target, RDF.type, SKOS.Concept)
        expect.has(target, RDF.type, CQP.RomeConcept)
        expect.has(target, SKOS.notation, Literal(row["object_id"]))
        expect.has(target, SKOS.prefLabel, fr(row["object_label"]))
        expect.has(target, SKOS.inScheme, scheme)
        expect.has(target, CQP.romeKind, Literal(kind))
        expect.has(scheme, DCTERMS.source, Literal(row["object_source"]))
        mapping = iri("rome-mapping", str(index))
        expect.has(mapping, RDF.type, CQP.Mapping)
        expect.has(mapping, CQP.mappingSubject, subject)
        expect.has(mapping, CQP.mappingPredicate, predicate)
        expect.has(mapping, CQP.mappingObject, target)
        expect.has(mapping, CQP.confidence, decimal(row["confidence"]))
        expect.has(mapping, DCTERMS.creator, Literal(row["author"]))
        expect.has(mapping, DCTERMS.date, Literal(row["mapping_date"], datatype=XSD.date))
        expect.has(mapping, CQP.mappingJustification, URIRef(SEMAPV + row["mapping_justification"].split(":", 1)[1]))
        if row["comment"]:
            expect.has(mapping, CQP.note, fr(row["comment"]))
        expect.has(mapping, CQP.sourceLines, Literal(str(line)))
        expect.has(mapping, SKOS.prefLabel, fr(f"{row['subject_id']} {row['predicate_id']} ROME {row['object_id']}"))


# -- a code the ontology does not define ---------------------------------------------------------------------

def test_an_undefined_kind_becomes_an_iri_nothing_describes(tmp_path):
    import shutil

    folder = tmp_path / REFERENTIAL.name
    shutil.copytree(REFERENTIAL, folder)
    path = folder / "competences.csv"
    with path.open(encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        fields, table = reader.fieldnames, list(reader)
    code, table[0]["kind"] = table[0]["code"], "ZZ"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(table)
    ontology = load_ontology(SETTINGS)
    graph = ReferentialGraph(folder, BASE, ontology).build()
    kinds = list(graph.objects(iri("competence", code), CQP.kind))
    assert len(kinds) == 1
    kind = kinds[0]
    assert isinstance(kind, URIRef) and str(kind).startswith(str(CQP)) and str(kind).endswith("ZZ")
    assert (kind, None, None) not in graph and (kind, None, None) not in ontology
    # the other competences keep their defined kinds
    assert (iri("competence", table[1]["code"]), CQP.kind, concept("CompetenceKind", table[1]["kind"])) in graph


def test_the_language_of_each_fact_is_the_one_its_row_gives(tmp_path):
    """certification.csv and job-profile.csv give each value its language (`lang`): another tag, or none for a
    code, is kept as given, not replaced by French."""
    import shutil

    folder = tmp_path / REFERENTIAL.name
    shutil.copytree(REFERENTIAL, folder)
    chosen = {}
    for name, langs in (("certification.csv", {"title": "", "type": "en", "sector": "", "certifier": "en",
                                               "source_document": "de"}),
                        ("job-profile.csv", {"title": "en", "purpose": "", "hierarchical_position": "es"})):
        path = folder / name
        with path.open(encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            fields, table = reader.fieldnames, list(reader)
        for row in table:
            if row["property"] in langs:
                row["lang"] = langs[row["property"]]
                chosen[(name, row["property"])] = Literal(row["value"], lang=row["lang"] or None)
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=fields, lineterminator="\n")
            writer.writeheader()
            writer.writerows(table)
    assert len(chosen) == 8
    graph = ReferentialGraph(folder, BASE, load_ontology(SETTINGS)).build()
    cert, job = iri("certification"), iri("job")
    c = lambda p: chosen[("certification.csv", p)]  # noqa: E731
    j = lambda p: chosen[("job-profile.csv", p)]  # noqa: E731
    expected = [(cert, DCTERMS.title, c("title")), (cert, SKOS.prefLabel, c("title")), (cert, DCTERMS.type, c("type")),
                (cert, CQP.sector, c("sector")), (iri("certifier"), FOAF.name, c("certifier")),
                (iri("certifier"), SKOS.prefLabel, c("certifier")), (iri("source"), DCTERMS.title, c("source_document")),
                (job, SKOS.prefLabel, j("title")), (job, CQP.purpose, j("purpose")),
                (job, CQP.hierarchicalPosition, j("hierarchical_position"))]
    missing = [t for t in expected if t not in graph]
    assert not missing, missing


def test_variants_carry_their_kinds_and_alternative_labels(expect):
    references = {
        "activity": {r["code"]: r["label"] for r in rows("activities.csv")},
        "domain": {r["code"]: r["label"] for r in rows("domains.csv")},
        "competence": {r["code"]: r["label"] for r in rows("competences.csv") + rows("aptitudes.csv")},
        "mission": {},  # a mission's wording is not compared
    }
    title = next(r["value"] for r in rows("certification.csv") if r["property"] == "title")
    kinds = {n: concept("VariantKind", n) for n in ("code", "wording", "typographic")}
    for row, line in zip(rows("variants.csv"), lines_of("variants.csv")):
        kind, code = row["item_type"], row["item_code"]
        first = (row["source_lines"] or str(line)).split(",")[0].strip()
        node = iri("variant", f"{kind}-{code}-{first}" if code else f"{kind}-{first}")
        item = iri("certification") if kind == "certification" else iri(kind, code)
        reference = title if kind == "certification" else references[kind].get(code)
        if row["code_as_written"] and code and row["code_as_written"] != code:
            expect.has(node, CQP.variantKind, kinds["code"])
        else:
            expect.lacks_triple(node, CQP.variantKind, kinds["code"])
        worded = [k for k in (kinds["wording"], kinds["typographic"]) if (node, CQP.variantKind, k) in expect.graph]
        if reference is not None and row["label_as_written"] != reference:
            same = folded(row["label_as_written"]) == folded(reference)
            expect.has(node, CQP.variantKind, kinds["typographic" if same else "wording"])
            if len(worded) != 1:
                expect.missing.append(("one wording or typographic kind", str(node), worded))
            expect.has(item, SKOS.altLabel, fr(row["label_as_written"]))
        elif worded:
            expect.missing.append(("no wording kind", str(node), worded))
    # an alternative label is never the preferred one
    for s, alt in expect.graph.subject_objects(SKOS.altLabel):
        if (s, SKOS.prefLabel, alt) in expect.graph:
            expect.missing.append(("altLabel equal to prefLabel", str(s), str(alt)))


def test_variants_requirements_and_units_the_shipped_data_does_not_exercise(tmp_path):
    """A copy of the referential with what the shipped one lacks: a competence variant without source lines, a
    mission variant, a variant identical to its reference, an aptitude required with another wording, a unit
    with its block."""
    import shutil

    folder = tmp_path / REFERENTIAL.name
    shutil.copytree(REFERENTIAL, folder)

    def edit(name, change):
        path = folder / name
        with path.open(encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            fields, table = reader.fieldnames, list(reader)
        change(table)
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=fields, lineterminator="\n")
            writer.writeheader()
            writer.writerows(table)
        return table

    competence = rows("competences.csv")[0]
    aptitude = rows("aptitudes.csv")[0]
    activity = rows("activities.csv")[0]
    mission = rows("missions.csv")[0]
    block = rows("blocks.csv")[0]
    title = next(r["value"] for r in rows("certification.csv") if r["property"] == "title")
    section = "Section d’essai"
    added = [
        {"item_type": "competence", "item_code": competence["code"], "code_as_written": competence["code"] + " bis",
         "label_as_written": "Une tout autre formulation", "source_section": section, "source_lines": ""},
        {"item_type": "mission", "item_code": mission["code"], "code_as_written": mission["code"] + " bis",
         "label_as_written": "Mission écrite autrement", "source_section": section, "source_lines": "7"},
        {"item_type": "activity", "item_code": activity["code"], "code_as_written": activity["code"],
         "label_as_written": activity["label"], "source_section": section, "source_lines": "9"},
        {"item_type": "certification", "item_code": "", "code_as_written": "",
         "label_as_written": title.upper(), "source_section": section, "source_lines": "13"},
    ]
    edit("variants.csv", lambda t: t.extend(added))
    requirement = {"mission": mission["code"], "competence": aptitude["code"], "code_as_written": aptitude["code"],
                   "label_as_written": "Une aptitude dite autrement", "source_section": section, "source_lines": "11"}
    assert not any(r["mission"] == mission["code"] and r["competence"] == aptitude["code"]
                   for r in rows("requirements.csv"))
    edit("requirements.csv", lambda t: t.append(requirement))
    unit = edit("units.csv", lambda t: t[0].update(block=block["code"], unreadable_in=""))[0]

    graph = ReferentialGraph(folder, BASE, load_ontology(SETTINGS)).build()
    e = Expect(graph)
    kinds = {n: concept("VariantKind", n) for n in ("code", "wording", "typographic")}
    line = lines_of("variants.csv", folder)[-4]  # the competence variant is the fourth record from the end
    first = iri("variant", f"competence-{competence['code']}-{line}")  # no source lines: named by its line
    e.has(first, CQP.mentionOf, iri("competence", competence["code"]))
    e.has(first, CQP.variantKind, kinds["code"])
    e.has(first, CQP.variantKind, kinds["wording"])
    e.has(iri("competence", competence["code"]), SKOS.altLabel, fr("Une tout autre formulation"))
    second = iri("variant", f"mission-{mission['code']}-7")
    e.has(second, CQP.mentionOf, iri("mission", mission["code"]))
    e.has(second, CQP.variantKind, kinds["code"])
    e.lacks(iri("mission", mission["code"]), SKOS.altLabel)  # its wording is not compared: no alternative label
    third = iri("variant", f"activity-{activity['code']}-9")
    e.has(third, RDF.type, CQP.LabelVariant)  # listed by the data, though it differs in nothing
    e.lacks(third, CQP.variantKind)
    # the title in capitals: a typographic variant of the certification's title
    fourth = iri("variant", "certification-13")
    e.has(fourth, CQP.mentionOf, iri("certification"))
    e.has(fourth, CQP.variantKind, kinds["typographic"])
    e.lacks_triple(fourth, CQP.variantKind, kinds["wording"])
    e.has(iri("certification"), SKOS.altLabel, fr(title.upper()))
    mention = iri("mention", f"{mission['code']}-{aptitude['code']}")
    e.has(iri("mission", mission["code"]), CQP.requiresCompetence, iri("competence", aptitude["code"]))
    worded = [k for k in (kinds["wording"], kinds["typographic"]) if (mention, CQP.variantKind, k) in graph]
    assert len(worded) == 1, worded
    e.has(iri("competence", aptitude["code"]), SKOS.altLabel, fr("Une aptitude dite autrement"))
    e.has(iri("unit", unit["code"]), CQP.inBlock, iri("block", block["code"]))
    e.check()


def test_without_a_title_the_certification_s_wordings_are_compared_with_nothing(tmp_path):
    """certification.csv may lack its title row (its properties are keyed, none is required by the table
    reader; the shapes report the missing title afterwards): the build goes on, and a wording of the
    certification (variants.csv, item_type certification) is recorded as a mention of the certification
    without any variant kind and without becoming one of its alternative labels, because the reference it is
    compared with is the certification's own title, absent here -- not another resource's label."""
    import shutil

    folder = tmp_path / REFERENTIAL.name
    shutil.copytree(REFERENTIAL, folder)
    path = folder / "certification.csv"
    with path.open(encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        fields, table = reader.fieldnames, [r for r in reader if r["property"] != "title"]
    assert table and all(r["property"] != "title" for r in table)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(table)
    wordings = [r["label_as_written"] for r in rows("variants.csv") if r["item_type"] == "certification"]
    assert wordings, "the shipped variants.csv has a wording of the certification"
    graph = ReferentialGraph(folder, BASE, load_ontology(SETTINGS)).build()
    cert = iri("certification")
    assert (cert, DCTERMS.title, None) not in graph
    for wording in wordings:
        nodes = [n for n in graph.subjects(CQP.labelAsWritten, Literal(wording, lang="fr"))
                 if (n, CQP.mentionOf, cert) in graph]
        assert len(nodes) == 1, wording
        assert list(graph.objects(nodes[0], CQP.variantKind)) == []
    assert list(graph.objects(cert, SKOS.altLabel)) == []


def test_language_tags_are_written_as_the_data_gives_them():
    """The wordings are French, tagged `fr` as the data writes it (the `lang` cells of certification.csv and
    job-profile.csv; README: labels stay @fr). rdflib compares tags without case, so a tag's case shows only
    in what is written out: each tag is checked as a string, exactly."""
    given = {r["lang"] for name in ("certification.csv", "job-profile.csv") for r in rows(name) if r.get("lang")}
    assert given == {"fr"}, given
    tags = {o.language for o in build().objects() if isinstance(o, Literal) and o.language is not None}
    assert tags == given, tags


# -- where each fact comes from ------------------------------------------------------------------------------

@pytest.mark.parametrize("table, kind, cls", [("missions.csv", "mission", "Mission"),
                                              ("activities.csv", "activity", "Activity"),
                                              ("competences.csv", "competence", "Competence")])
def test_each_fact_remembers_the_row_that_wrote_it(table, kind, cls):
    """What findings are located with (`cqp_graph.graph.validate.locate`): each triple, and each subject, keeps the
    file and line of the row that first wrote it — here the row of each mission, activity and competence, for its
    type and for the node itself (read from the CSV with the `csv` module, lines counted by record)."""
    builder = ReferentialGraph(REFERENTIAL, BASE, load_ontology(SETTINGS))
    builder.build()
    path = REFERENTIAL / table
    records = list(zip(rows(table), lines_of(table)))
    assert len(records) > 1
    for row, line in records:
        node = iri(kind, row["code"])
        assert builder.origins[(node, RDF.type, CQP[cls])] == (path, line), row["code"]
        assert builder.subject_origins[node] == (path, line), row["code"]
    assert len({builder.origins[t] for t in builder.origins}) > len(records)  # rows of every table, not one


def test_only_the_resources_minted_under_the_referential_belong_to_it(built):
    """cqp:inReferential ties every resource minted under the referential's root IRI to its certification, and
    nothing else: the ROME items its mappings point at are under `{base}rome/`, shared by every referential."""
    certification = iri("certification")
    subjects = {s for s in built.subjects() if isinstance(s, URIRef)}
    mine = {s for s in subjects if str(s).startswith(ROOT_IRI)} - {certification}
    others = subjects - mine - {certification}
    assert mine and any(str(s).startswith(f"{BASE}rome/") for s in others)
    assert set(built.subjects(CQP.inReferential, certification)) == mine
    assert not [s for s in others if (s, CQP.inReferential, None) in built]


@pytest.mark.parametrize("item_type", ["domain", "activity", "competence", "mission"])
def test_a_variant_without_an_item_code_is_refused_unless_it_is_the_certification_s(tmp_path, item_type):
    """variants.csv's item_code may be empty for the certification only: any other variant without one names no
    item, and is refused at its file and line (in French) instead of pointing at an IRI no row made."""
    import shutil

    from cqp_graph.source.tables import DataError

    folder = tmp_path / REFERENTIAL.name
    shutil.copytree(REFERENTIAL, folder)
    path = folder / "variants.csv"
    edit_csv(tmp_path, "variants.csv", lambda table: table.append(
        {"item_type": item_type, "item_code": "", "code_as_written": "", "label_as_written": "Sans code",
         "source_section": "Section d’essai", "source_lines": "3"}), REFERENTIAL.name)
    with pytest.raises(DataError) as caught:
        ReferentialGraph(folder, BASE, load_ontology(SETTINGS)).build()
    assert caught.value.path == path and caught.value.line == lines_of("variants.csv", folder)[-1]
    assert "item_code" in caught.value.message and f"« {item_type} »" in caught.value.message
