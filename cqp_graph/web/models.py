"""Response models of the query API, with the examples the OpenAPI document shows.

Field meanings follow the ontology (ontology/cqp.ttl): `kind` is the skos:notation of a
cqp:CompetenceKind, `domain` the code of a cqp:Domain, `iri` the resource's IRI, `referential` the name of the
referential a row belongs to (its data folder, `cqp:referentialName`).

Lives here: the pydantic models the routes declare (they document; the routes send the rows as the knowledge
layer types them). Not here: the routes (`api_routes`), the rows (`cqp_graph.query.knowledge`).
"""

from __future__ import annotations

from typing import Optional

from pydantic import BaseModel, ConfigDict, Field

EX_BASE = "https://w3id.org/cqp-graph/agc-alimentaire/"
def _referential_field():
    return Field(None, description="name of the referential the row belongs to (when the query says)")


class ReferentialInfo(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "name": "agc-alimentaire", "title": "Assistant de Gestion Client du secteur alimentaire",
        "rncp": "28795", "iri": EX_BASE + "certification",
        "links": {"page": "/agc-alimentaire/certification", "missions": "/api/referentials/agc-alimentaire/missions",
                  "blocks": "/api/referentials/agc-alimentaire/blocks"}}]})
    name: str = Field(description="the referential's name: its data folder, and its segment in /api/referentials/…")
    title: str = Field(description="the certification's title (French)")
    rncp: Optional[str] = Field(None, description="its RNCP number, when the data gives one")
    iri: str = Field(description="the certification's IRI")
    links: dict[str, str] = Field(description="URLs of its page and of its resources on this server")


class Competence(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "code": "RSF10", "label": "Apaiser les tensions et faire évoluer positivement les situations conflictuelles",
        "kind": "SF", "domain": "R", "iri": EX_BASE + "competence/RSF10", "missions": 2, "minted": False}]})
    code: str = Field(description="code as the source gives it (or minted, see `minted`)")
    label: str = Field(description="reference wording (French)")
    kind: str = Field(description="C (knowledge), SF (know-how) or A (aptitude)")
    domain: Optional[str] = Field(None, description="R, PO or OT; null for an aptitude (required by the whole job)")
    iri: str
    referential: Optional[str] = _referential_field()
    missions: int = Field(0, description="number of missions that need it")
    minted: bool = False


class CompetenceOnPage(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "code": "OTSF8", "label": "S’informer des stocks clients grâce aux outils disponibles", "kind": "SF",
        "domain": "OT", "iri": EX_BASE + "competence/OTSF8", "code_as_written": "OTSF 8",
        "label_as_written": "Si GPA, définir une commande en fonction des informations concernant les stocks clients"}]})
    code: str
    label: str
    kind: str
    domain: Optional[str] = None
    iri: str
    referential: Optional[str] = _referential_field()
    code_as_written: Optional[str] = Field(None, description="the code exactly as written on the mission's page")
    label_as_written: Optional[str] = Field(None, description="the wording exactly as written on the mission's page")


class MissionNeed(BaseModel):
    code: str
    label: str
    iri: str
    code_as_written: Optional[str] = None
    label_as_written: Optional[str] = None


class Variant(BaseModel):
    variant_kind: str = Field(description="code, wording or typographic")
    code_as_written: Optional[str] = None
    label_as_written: str
    section: str
    lines: Optional[str] = None


class CompetenceDetail(Competence):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "code": "RSF10", "label": "Apaiser les tensions et faire évoluer positivement les situations conflictuelles",
        "kind": "SF", "domain": "R", "iri": EX_BASE + "competence/RSF10", "missions": 2, "minted": False,
        "needed_by": [{"code": "M4", "label": "Gérer les réclamations clients", "iri": EX_BASE + "mission/M4",
                       "code_as_written": "RFS10",
                       "label_as_written": "Apaiser les tensions et faire évoluer positivement les situations conflictuelles"}],
        "variants": [{"variant_kind": "code", "code_as_written": "RFS10",
                      "label_as_written": "Apaiser les tensions et faire évoluer positivement les situations conflictuelles",
                      "section": "Le référentiel de compétences — page de la mission M4", "lines": "628-629"}]}]})
    needed_by: list[MissionNeed] = Field(default_factory=list, description="missions whose page lists it")
    variants: list[Variant] = Field(default_factory=list, description="other codes or wordings, where they appear")


class Activity(BaseModel):
    code: str
    label: str
    iri: str


class MissionSummary(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "code": "M3", "label": "Intervenir auprès du client pour anticiper un défaut de livraison",
        "iri": EX_BASE + "mission/M3", "activities": 7, "competences": 26}]})
    code: str
    label: str
    iri: str
    referential: Optional[str] = _referential_field()
    activities: int
    competences: int


class Mission(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "code": "M4", "label": "Gérer les réclamations clients", "iri": EX_BASE + "mission/M4", "competences": 19,
        "activities": [{"code": "M4A1", "label": "Prendre en compte les différentes réclamations clients "
                                                 "(téléphone, courriels…)", "iri": EX_BASE + "activity/M4A1"}]}]})
    code: str
    label: str
    iri: str
    competences: int
    activities: list[Activity]


class Domain(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "code": "R", "label": "Relation client / Argumentation", "iri": EX_BASE + "domain/R", "knowledge": 6,
        "know_how": 10, "block": "B1"}]})
    code: str
    label: str
    iri: str
    referential: Optional[str] = _referential_field()
    knowledge: int
    know_how: int
    block: Optional[str] = None


class Block(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "code": "B1", "label": "Gérer la relation client dans la cadre de son activité commerciale en utilisant "
                               "les techniques de vente", "iri": EX_BASE + "block/B1", "domain": "R",
        "competences": 16, "units": 0, "block_rules": 3}]})
    code: str
    label: str
    iri: str
    referential: Optional[str] = _referential_field()
    domain: str
    competences: int
    units: int
    block_rules: int


class Coverage(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "competences_needed_by_no_mission": ["RC1"],
        "domains_absent_from_mission": [{"mission": "M1", "domain": "R"}],
        "blocks_without_evaluation_rule": [], "domains_without_block": [],
        "units_without_block": ["UC1", "UC2"], "numbering_gaps": ["RC3"]}]})
    competences_needed_by_no_mission: list[str]
    domains_absent_from_mission: list[dict]
    blocks_without_evaluation_rule: list[str]
    domains_without_block: list[str]
    units_without_block: list[str]
    numbering_gaps: list[str] = Field(default_factory=list, description="codes missing from a sequence")


class QueryParameter(BaseModel):
    name: str
    type: str
    description: str
    example: Optional[str] = None
    default: Optional[object] = None
    required: bool


class QueryInfo(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "name": "competences-for-mission", "title": "Compétences exigées par une mission",
        "description": "Les compétences que la page d'une mission exige…",
        "parameters": [{"name": "mission", "type": "string", "description": "code de la mission (M1 à M5)",
                        "example": "M3", "default": None, "required": True}],
        "url": "/api/queries/competences-for-mission"}]})
    name: str
    title: str
    description: str
    parameters: list[QueryParameter]
    url: str
