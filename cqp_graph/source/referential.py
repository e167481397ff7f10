"""Turn the tables of one referential folder into RDF.

Codes that name a concept of the ontology (a competence kind, a rule scope, a
relation role) are looked up by their skos:notation in the ontology graph, so the
vocabulary lives in ontology/ only. A reference to something that does not exist
becomes an IRI that nothing describes: the SHACL shapes report it.

Every referential is self-describing: its certification carries `cqp:referentialName` (the folder's
name), and every resource minted under the folder's root IRI carries `cqp:inReferential` (the
certification), added in one place once the tables are read (`_mark_membership`), so that queries,
the API and the commands can answer for one referential among several.

Each triple remembers the CSV row it came from (`origins`, by triple; `subject_origins`, by subject: the
first row that described it), kept beside the graph, not in it, so that a SHACL finding can name the file
and line a person should edit (`cqp_graph.graph.validate.locate`).

Lives here: the CSV → RDF mapping of one folder. Not here: reading and checking the CSV files
(`cqp_graph.source.tables`), putting the referentials and the ontology together (`cqp_graph.graph.assemble`).
"""

from __future__ import annotations

from pathlib import Path

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, FOAF, PROV, RDF, SKOS, XSD

from cqp_graph.source import variants
from cqp_graph.namespaces import Minter, ontology_ns
from cqp_graph.source.skos import skos_view
from cqp_graph.source.tables import Row, read_referential
from cqp_graph.numbers import canonical_decimal


def _fr(text: str, lang: str | None = "fr") -> Literal:
    return Literal(text, lang=lang or None)


class _TrackedRows(list):
    """The rows of a table; iterating them tells the builder which row it is turning into triples."""

    def __init__(self, rows: list[Row], builder: "ReferentialGraph"):
        super().__init__(rows)
        self.builder = builder

    def __iter__(self):
        try:
            for row in list.__iter__(self):
                self.builder.current = row
                yield row
        finally:
            self.builder.current = None


class ReferentialGraph:
    """Builds the graph of one referential folder."""

    def __init__(self, folder: Path, base: str, ontology: Graph):
        self.folder = Path(folder)
        self.slug = self.folder.name
        self.iri = Minter(base, self.slug)
        self.cqp = ontology_ns(base)
        self.ontology = ontology
        self.graph = Graph()
        self.source = self.iri("source")
        #: the CSV row each triple (and each subject) came from: (file path, line)
        self.origins: dict[tuple, tuple[Path, int]] = {}
        self.subject_origins: dict[URIRef, tuple[Path, int]] = {}
        self.current: Row | None = None

    # -- helpers -----------------------------------------------------------
    def add(self, s, p, o):
        if o is not None:
            self.graph.add((s, p, o))
            if self.current is not None:
                where = (self.current.path, self.current.line)
                self.origins.setdefault((s, p, o), where)
                self.subject_origins.setdefault(s, where)

    def concept(self, scheme_class: str, notation: str) -> URIRef:
        """The ontology concept of class `scheme_class` whose skos:notation is `notation`."""
        cls = self.cqp[scheme_class]
        for concept in self.ontology.subjects(SKOS.notation, Literal(notation)):
            if (concept, RDF.type, cls) in self.ontology:
                return URIRef(concept)
        return URIRef(f"{self.cqp}{scheme_class}/{notation}")  # undefined: the shapes report it

    def provenance(self, node: URIRef, row: Row):
        self.add(node, self.cqp.sourceSection, _fr(row["source_section"]))
        if row.get("source_lines"):
            self.add(node, self.cqp.sourceLines, Literal(row["source_lines"]))
        self.add(node, PROV.wasDerivedFrom, self.source)

    def labelled(self, node: URIRef, cls: URIRef, row: Row, code: str | None = None):
        self.add(node, RDF.type, cls)
        if code is not None:
            self.add(node, self.cqp.code, Literal(code))
        self.add(node, SKOS.prefLabel, _fr(row["label"]))
        if row.get("order") is not None:
            self.add(node, self.cqp.order, Literal(row["order"]))
        if row.get("minted"):
            self.add(node, self.cqp.codeMinted, Literal(True))
        if row.get("note"):
            self.add(node, self.cqp.note, _fr(row["note"]))
        self.provenance(node, row)

    # -- tables --------------------------------------------------------------
    def build(self) -> Graph:
        tables = {name: _TrackedRows(rows, self) for name, rows in read_referential(self.folder).items()}
        self.cert = self.iri("certification")
        self.job = self.iri("job")
        self._certification(tables["certification.csv"])
        self._job(tables["job-profile.csv"], tables["functional-relations.csv"])
        self._gaps(tables["source-gaps.csv"])
        self._missions(tables["missions.csv"], tables["activities.csv"])
        self._domains(tables["domains.csv"])
        self._competences(tables["competences.csv"], tables["aptitudes.csv"])
        self._requirements(tables["requirements.csv"])
        self._variants(tables["variants.csv"])
        self._blocks(tables["blocks.csv"], tables["units.csv"])
        self._evaluation(tables)
        self._rome(tables["rome-mappings.csv"])
        self.graph += skos_view(self.graph, self.iri.root, self.cqp, self.cert)  # the SKOS view (source/skos.py)
        self._mark_membership()
        return self.graph

    def _mark_membership(self):
        """Name the referential and tie every resource minted under its root IRI to it (one rule, every type)."""
        self.add(self.cert, self.cqp.referentialName, Literal(self.slug))
        root = self.iri.root
        minted = {s for s in self.graph.subjects() if isinstance(s, URIRef) and str(s).startswith(root)}
        for subject in minted - {self.cert}:
            self.add(subject, self.cqp.inReferential, self.cert)

    def _rome(self, rows: list[Row]):
        cqp = self.cqp
        if not rows:
            return
        base = self.iri.base
        scheme = URIRef(f"{base}rome/rome-4.0")
        for index, row in enumerate(rows, start=1):
            subject = self.job if row["subject_id"] == "JOB" else self.iri("competence", row["subject_id"])
            kind = row["object_type"]
            target = URIRef(f"{base}rome/{'job' if kind == 'job' else 'item'}/{row['object_id']}")
            predicate = SKOS[row["predicate_id"].split(":", 1)[1]]
            self.add(subject, predicate, target)
            self.add(target, RDF.type, SKOS.Concept)
            self.add(target, RDF.type, cqp.RomeConcept)
            self.add(target, SKOS.notation, Literal(row["object_id"]))
            self.add(target, SKOS.prefLabel, _fr(row["object_label"]))
            self.add(target, SKOS.inScheme, scheme)
            self.add(target, cqp.romeKind, Literal(kind))
            self.add(scheme, RDF.type, SKOS.ConceptScheme)
            self.add(scheme, SKOS.prefLabel, _fr("ROME 4.0 (France Travail)"))
            self.add(scheme, DCTERMS.source, Literal(row["object_source"]))
            mapping = self.iri("rome-mapping", str(index))
            self.add(mapping, RDF.type, cqp.Mapping)
            self.add(mapping, cqp.mappingSubject, subject)
            self.add(mapping, cqp.mappingPredicate, predicate)
            self.add(mapping, cqp.mappingObject, target)
            self.add(mapping, cqp.confidence, Literal(canonical_decimal(row["confidence"]), datatype=XSD.decimal))
            self.add(mapping, DCTERMS.creator, Literal(row["author"]))
            self.add(mapping, DCTERMS.date, Literal(row["mapping_date"], datatype=XSD.date))
            self.add(mapping, cqp.mappingJustification,
                     URIRef("https://w3id.org/semapv/vocab/" + row["mapping_justification"].split(":", 1)[1]))
            if row.get("comment"):
                self.add(mapping, cqp.note, _fr(row["comment"]))
            self.add(mapping, cqp.sourceLines, Literal(str(row.line)))
            self.add(mapping, SKOS.prefLabel, _fr(f"{row['subject_id']} {row['predicate_id']} ROME {row['object_id']}"))

    def _certification(self, rows: list[Row]):
        cert, cqp = self.cert, self.cqp
        self.add(cert, RDF.type, cqp.Certification)
        self.add(cert, cqp.jobProfile, self.job)
        self.add(cert, PROV.wasDerivedFrom, self.source)
        self.add(self.source, RDF.type, PROV.Entity)
        for row in rows:
            prop, value, lang = row["property"], row["value"], row.get("lang")
            if prop == "title":
                self.add(cert, DCTERMS.title, _fr(value, lang))
                self.add(cert, SKOS.prefLabel, _fr(value, lang))
                self.add(cert, cqp.sourceSection, _fr(row["source_section"]))
                if row.get("source_lines"):
                    self.add(cert, cqp.sourceLines, Literal(row["source_lines"]))
            elif prop == "type":
                self.add(cert, DCTERMS.type, _fr(value, lang))
            elif prop == "abbreviation":
                self.add(cert, cqp.abbreviation, Literal(value))
            elif prop == "sector":
                self.add(cert, cqp.sector, _fr(value, lang))
            elif prop == "rncp_number":
                self.add(cert, cqp.rncpNumber, Literal(value))
            elif prop == "nsf_code":
                self.add(cert, cqp.nsfCode, Literal(value))
            elif prop == "language":
                self.add(cert, DCTERMS.language, Literal(value))
            elif prop == "certifier":
                org = self.iri("certifier")
                self.add(cert, cqp.certifier, org)
                self.add(org, RDF.type, cqp.Certifier)
                self.add(org, FOAF.name, _fr(value, lang))
                self.add(org, SKOS.prefLabel, _fr(value, lang))
                self.add(org, cqp.sourceSection, _fr(row["source_section"]))
            elif prop == "source_document":
                self.add(self.source, DCTERMS.title, _fr(value, lang))
            if prop in ("rncp_number", "nsf_code"):
                # identifiers that come from outside the seed keep their own provenance
                note = self.iri("fact", f"certification-{prop.replace('_', '-')}")
                self.add(note, RDF.type, RDF.Statement)
                self.add(note, RDF.subject, cert)
                self.add(note, RDF.predicate, cqp.rncpNumber if prop == "rncp_number" else cqp.nsfCode)
                self.add(note, RDF.object, Literal(value))
                self.add(note, cqp.sourceSection, _fr(row["source_section"]))

    def _job(self, rows: list[Row], relations: list[Row]):
        job, cqp = self.job, self.cqp
        self.add(job, RDF.type, cqp.JobProfile)
        self.add(job, PROV.wasDerivedFrom, self.source)
        for row in rows:
            prop, value = row["property"], _fr(row["value"], row.get("lang"))
            if prop == "title":
                self.add(job, SKOS.prefLabel, value)
                self.add(job, cqp.sourceSection, _fr(row["source_section"]))
                if row.get("source_lines"):
                    self.add(job, cqp.sourceLines, Literal(row["source_lines"]))
            elif prop == "purpose":
                self.add(job, cqp.purpose, value)
            elif prop == "hierarchical_position":
                self.add(job, cqp.hierarchicalPosition, value)
        for row in relations:
            node = self.iri("functional-relation", row["code"])
            self.add(job, cqp.hasFunctionalRelation, node)
            self.add(node, RDF.type, cqp.FunctionalRelation)
            self.add(node, cqp.code, Literal(row["code"]))
            self.add(node, cqp.actorLabel, _fr(row["party"]))
            self.add(node, SKOS.prefLabel, _fr(row["party"]))
            self.add(node, cqp.roleStatus, Literal(row["role_status"]))
            if row.get("role"):
                self.add(node, cqp.relationRole, self.concept("RelationRole", row["role"]))
            if row.get("unreadable_in"):
                self.add(node, cqp.unreadableIn, self.iri("source-gap", row["unreadable_in"]))
            if row.get("note"):
                self.add(node, cqp.note, _fr(row["note"]))
            self.provenance(node, row)

    def _gaps(self, rows: list[Row]):
        for row in rows:
            node = self.iri("source-gap", row["code"])
            self.labelled(node, self.cqp.SourceGap, row, row["code"])
            self.add(node, DCTERMS.description, _fr(row["consequence"]))

    def _missions(self, missions: list[Row], activities: list[Row]):
        cqp = self.cqp
        self.mission_labels = {}
        for row in missions:
            node = self.iri("mission", row["code"])
            self.labelled(node, cqp.Mission, row, row["code"])
            self.add(self.job, cqp.hasMission, node)
        self.activity_labels = {}
        for row in activities:
            node = self.iri("activity", row["code"])
            self.labelled(node, cqp.Activity, row, row["code"])
            self.add(self.iri("mission", row["mission"]), cqp.hasActivity, node)
            self.activity_labels[row["code"]] = row["label"]

    def _domains(self, rows: list[Row]):
        cqp = self.cqp
        scheme = self.iri("domains")
        self.add(scheme, RDF.type, SKOS.ConceptScheme)
        self.add(scheme, SKOS.prefLabel, _fr("Domaines de compétences"))
        self.domain_labels = {}
        for row in rows:
            node = self.iri("domain", row["code"])
            self.labelled(node, cqp.Domain, row, row["code"])  # skos:Concept and skos:notation: the SKOS view's
            self.add(node, SKOS.inScheme, scheme)
            self.add(node, SKOS.topConceptOf, scheme)
            self.domain_labels[row["code"]] = row["label"]

    def _competences(self, competences: list[Row], aptitudes: list[Row]):
        cqp = self.cqp
        self.competence_labels = {}
        for row in competences:
            node = self.iri("competence", row["code"])
            self.labelled(node, cqp.Competence, row, row["code"])
            self.add(node, cqp.kind, self.concept("CompetenceKind", row["kind"]))
            self.add(node, cqp.domain, self.iri("domain", row["domain"]))
            self.add(node, DCTERMS.isPartOf, self.cert)
            self.competence_labels[row["code"]] = row["label"]
        for row in aptitudes:
            node = self.iri("competence", row["code"])
            self.labelled(node, cqp.Competence, row, row["code"])
            self.add(node, cqp.kind, cqp.aptitude)  # the aptitudes table holds the ontology's aptitude kind
            self.add(self.job, cqp.requiresAptitude, node)
            self.add(node, DCTERMS.isPartOf, self.cert)
            self.competence_labels[row["code"]] = row["label"]

    def _mention(self, node: URIRef, item: URIRef, row: Row, reference_code: str | None,
                 reference_label: str | None):
        """A mention of `item` with its code and wording as written; a variant where they differ."""
        cqp = self.cqp
        self.add(node, RDF.type, cqp.Mention)
        self.add(node, cqp.mentionOf, item)
        if row.get("code_as_written"):
            self.add(node, cqp.codeAsWritten, Literal(row["code_as_written"]))
        self.add(node, cqp.labelAsWritten, _fr(row["label_as_written"]))
        self.provenance(node, row)
        kinds = []
        if row.get("code_as_written") and reference_code and row["code_as_written"] != reference_code:
            kinds.append(cqp.codeVariant)
        if reference_label is not None:
            how = variants.compare(reference_label, row["label_as_written"])
            if how == variants.WORDING:
                kinds.append(cqp.wordingVariant)
            elif how == variants.TYPOGRAPHIC:
                kinds.append(cqp.typographicVariant)
        if kinds:
            self.add(node, RDF.type, cqp.LabelVariant)
            for kind in kinds:
                self.add(node, cqp.variantKind, kind)
            if reference_label is not None and row["label_as_written"] != reference_label:
                self.add(item, SKOS.altLabel, _fr(row["label_as_written"]))

    def _requirements(self, rows: list[Row]):
        cqp = self.cqp
        for row in rows:
            mission = self.iri("mission", row["mission"])
            competence = self.iri("competence", row["competence"])
            self.add(mission, cqp.requiresCompetence, competence)
            node = self.iri("mention", f"{row['mission']}-{row['competence']}")
            self.add(node, cqp.onMissionPage, mission)
            self._mention(node, competence, row, row["competence"],
                          self.competence_labels.get(row["competence"]))

    def _variants(self, rows: list[Row]):
        references = {
            "activity": ("activity", self.activity_labels),
            "domain": ("domain", self.domain_labels),
            "competence": ("competence", self.competence_labels),
            "mission": ("mission", {}),
        }
        title = next((str(o) for o in self.graph.objects(self.cert, SKOS.prefLabel)), None)
        for row in rows:
            item_type, code = row["item_type"], row.get("item_code")
            if item_type == "certification":
                item, reference = self.cert, title
            elif not code:
                raise row.error(f"colonne « item_code » vide : elle est obligatoire pour une variante de type "
                                f"« {item_type} » (seule la certification n'a pas de code)")
            else:
                kind, labels = references[item_type]
                item = self.iri(kind, code)
                reference = labels.get(code)
            lines = (row.get("source_lines") or str(row.line)).split(",")[0].strip()
            node = self.iri("variant", f"{item_type}-{code}-{lines}" if code else f"{item_type}-{lines}")
            self._mention(node, item, row, code, reference)
            self.add(node, RDF.type, self.cqp.LabelVariant)  # listed as a variant by the data

    def _blocks(self, blocks: list[Row], units: list[Row]):
        cqp = self.cqp
        for row in blocks:
            node = self.iri("block", row["code"])
            self.labelled(node, cqp.CompetenceBlock, row, row["code"])
            self.add(node, cqp.certifiesDomain, self.iri("domain", row["domain"]))
            self.add(self.cert, cqp.hasBlock, node)
        for row in units:
            node = self.iri("unit", row["code"])
            self.labelled(node, cqp.CertificationUnit, row, row["code"])
            self.add(self.cert, cqp.hasUnit, node)
            if row.get("block"):
                self.add(node, cqp.inBlock, self.iri("block", row["block"]))
            if row.get("unreadable_in"):
                self.add(node, cqp.unreadableIn, self.iri("source-gap", row["unreadable_in"]))

    def _evaluation(self, tables: dict[str, list[Row]]):
        cqp = self.cqp
        scheme = self.iri("evaluators")
        self.add(scheme, RDF.type, SKOS.ConceptScheme)
        self.add(scheme, SKOS.prefLabel, _fr("Types d’évaluateurs"))
        for row in tables["evaluators.csv"]:
            node = self.iri("evaluator", row["code"])
            self.labelled(node, cqp.EvaluatorType, row, row["code"])
            self.add(node, RDF.type, SKOS.Concept)
            self.add(node, SKOS.notation, Literal(row["code"]))
            self.add(node, SKOS.inScheme, scheme)
            if row.get("heading"):
                self.add(node, SKOS.altLabel, _fr(row["heading"]))
            if row.get("description"):
                self.add(node, SKOS.definition, _fr(row["description"]))
        for row in tables["routes.csv"]:
            node = self.iri("route", row["code"])
            self.labelled(node, cqp.AssessmentRoute, row, row["code"])
            self.add(self.cert, cqp.hasRoute, node)
            if row.get("description"):
                self.add(node, DCTERMS.description, _fr(row["description"]))
            if row.get("attestation_validity"):
                self.add(node, cqp.attestationValidity, _fr(row["attestation_validity"]))
            if row.get("validity_unlimited") is not None:
                self.add(node, cqp.validityUnlimited, Literal(row["validity_unlimited"]))
            if row.get("rncp_jury"):
                self.add(node, cqp.rncpJuryElement, Literal(row["rncp_jury"]))
        for row in tables["rules.csv"]:
            node = self.iri("rule", row["code"])
            self.labelled(node, cqp.ThresholdRule, row, row["code"])
            self.add(self.iri("route", row["route"]), cqp.hasRule, node)
            self.add(node, cqp.scope, self.concept("RuleScope", row["scope"]))
            self.add(node, cqp.gates, self.concept("RuleGate", row["gates"]))
            if row.get("evaluator"):
                self.add(node, cqp.evaluator, self.iri("evaluator", row["evaluator"]))
            self.add(node, cqp.minimumPercent, Literal(canonical_decimal(row["min_percent"]), datatype=XSD.decimal))
            self.add(node, cqp.basis, Literal(row["basis"]))
        for row in tables["settings.csv"]:
            node = self.iri("setting", row["code"])
            self.labelled(node, cqp.Setting, row, row["code"])
            self.add(self.cert, cqp.hasSetting, node)
            self.add(node, cqp.settingKey, Literal(row["code"]))
            self.add(node, cqp.settingValue, Literal(row["value"]))
            for allowed in row["allowed_values"]:
                self.add(node, cqp.allowedValue, Literal(allowed))
            self.add(node, cqp.basis, Literal(row["basis"]))
        for row in tables["publication.csv"]:
            node = self.iri("setting", row["code"])
            self.labelled(node, cqp.Setting, row, row["code"])
            self.add(self.cert, cqp.hasSetting, node)
            self.add(node, cqp.settingKey, Literal(row["code"]))
            if row.get("value"):
                self.add(node, cqp.settingValue, Literal(row["value"]))
            self.add(node, cqp.basis, Literal(row["basis"]))
        for row in tables["booklets.csv"]:
            node = self.iri("booklet", row["code"])
            self.labelled(node, cqp.Booklet, row, row["code"])
            self.add(node, cqp.bookletPresence, Literal(row["presence"]))
        for row in tables["vae-steps.csv"]:
            node = self.iri("vae-step", row["code"])
            self.labelled(node, cqp.VAEStep, row, row["code"])
            self.add(self.iri("route", row["route"]), cqp.hasStep, node)
            if row.get("evaluator"):
                self.add(node, cqp.evaluator, self.iri("evaluator", row["evaluator"]))
            if row.get("evaluator_count") is not None:
                self.add(node, cqp.evaluatorCount, Literal(row["evaluator_count"]))
            for booklet in row.get("booklets") or []:
                self.add(node, cqp.requiresBooklet, self.iri("booklet", booklet))
