"""The RNCP import's shapes compiled to Python (`ShapeChecks`) find what pyshacl finds, and shapes they do not
compile are checked by pyshacl itself.

The reference is pyshacl (through `validate_graph`, as the import used before) run on the same triples: each
test compares the two lists of (focus node, message), so an expectation never comes from the compiled checks.
"""

from __future__ import annotations

from collections import Counter

import pytest
from rdflib import Graph

from cqp_graph.exchange.rncp_import import (BatchChecker, ImportReport, ShapeChecks, Unsupported, as_term,
                                            import_rncp)
from cqp_graph.graph.validate import validate_graph

from .support import ROOT

BASE = "https://w3id.org/cqp-graph/"

FICHES = """<FICHES>
<FICHE><NUMERO_FICHE>RNCP100</NUMERO_FICHE><INTITULE>Bonne fiche</INTITULE><ACTIF>Oui</ACTIF>
 <NOUVELLES_CERTIFICATIONS><NOUVELLE_CERTIFICATION><ID_FICHE_NOUVELLE_CERTIFICATION>RNCP101</ID_FICHE_NOUVELLE_CERTIFICATION>
 </NOUVELLE_CERTIFICATION></NOUVELLES_CERTIFICATIONS>
 <NOMENCLATURE_EUROPE><NIVEAU>NIV5</NIVEAU></NOMENCLATURE_EUROPE>
 <CODES_ROME><ROME><CODE>D1409</CODE></ROME><ROME><CODE>ZZ</CODE></ROME></CODES_ROME>
 <CERTIFICATEURS><CERTIFICATEUR><SIRET_CERTIFICATEUR>12345678901234</SIRET_CERTIFICATEUR>
  <NOM_CERTIFICATEUR>Un</NOM_CERTIFICATEUR><ETAT_CERTIFICATEUR>Actif</ETAT_CERTIFICATEUR></CERTIFICATEUR>
  <CERTIFICATEUR><SIRET_CERTIFICATEUR>1</SIRET_CERTIFICATEUR><ETAT_CERTIFICATEUR>Inactif</ETAT_CERTIFICATEUR>
  </CERTIFICATEUR></CERTIFICATEURS>
 <SI_JURY_FI><ACTIF>Oui</ACTIF></SI_JURY_FI><SI_JURY_VAE><ACTIF>Non</ACTIF></SI_JURY_VAE>
 <BLOCS_COMPETENCES><BLOC_COMPETENCES><CODE>RNCP100BC01</CODE><LIBELLE>Bloc</LIBELLE>
  <LISTE_COMPETENCES>- Analyser  - Proposer</LISTE_COMPETENCES></BLOC_COMPETENCES></BLOCS_COMPETENCES></FICHE>
<FICHE><NUMERO_FICHE>RS7</NUMERO_FICHE><ACTIF>Non</ACTIF>
 <NOMENCLATURE_EUROPE><NIVEAU>NIV0</NIVEAU></NOMENCLATURE_EUROPE></FICHE>
</FICHES>"""

EXTRA = """@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix cqp: <https://w3id.org/cqp-graph/ontology#> .
@prefix ex: <https://example.org/shapes#> . @prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix dct: <http://purl.org/dc/terms/> . @prefix foaf: <http://xmlns.com/foaf/0.1/> .
ex:States a sh:NodeShape ; sh:targetSubjectsOf cqp:certifierState ;
    sh:property [ sh:path cqp:certifierState ; sh:in ( "Actif" ) ] ;
    sh:property [ sh:path cqp:certifierState ; sh:in ( "Actif"^^xsd:string "Inactif"^^xsd:string ) ] ;
    sh:property [ sh:path cqp:siret ; sh:hasValue "1"^^xsd:string ] ;
    sh:property [ sh:path cqp:siret ; sh:maxCount 0 ; sh:name "Numéro SIRET"@fr ; sh:description "SIRET"@fr ] ;
    sh:property [ sh:path foaf:name ; sh:maxCount 0 ; sh:message "Pas de nom."@fr ] .
ex:One a sh:NodeShape ; sh:targetNode <https://w3id.org/cqp-graph/rncp/RNCP100> ;
    sh:property [ sh:path cqp:active ; sh:hasValue false ] ;
    sh:property [ sh:path cqp:active ; sh:hasValue true ] ;
    sh:property [ sh:path dct:isReplacedBy ; sh:class cqp:RegisterRecord ] ;
    sh:property [ sh:path dct:title ; sh:languageIn ( "en" ) ] ;
    sh:property [ sh:path cqp:recordNumber ; sh:datatype xsd:integer ] ;
    sh:property [ sh:path cqp:certifier ; sh:nodeKind sh:Literal ] ;
    sh:property [ sh:path cqp:certifier ; sh:nodeKind sh:BlankNode ] ;
    sh:property [ sh:path cqp:certifier ; sh:nodeKind sh:BlankNodeOrIRI ] ;
    sh:property [ sh:path cqp:certifier ; sh:nodeKind sh:BlankNodeOrLiteral ] ;
    sh:property [ sh:path cqp:certifier ; sh:nodeKind sh:IRIOrLiteral ] ;
    sh:property [ sh:path cqp:certifier ; sh:nodeKind sh:IRI ] ;
    sh:property [ sh:path cqp:recordNumber ; sh:nodeKind sh:Literal ] ;
    sh:property [ sh:path cqp:hasBlock ; sh:class cqp:Nothing ] ;
    sh:property [ sh:path cqp:recordNumber ; sh:pattern "^rncp" ; sh:flags "i" ] ;
    sh:property [ sh:path cqp:recordNumber ; sh:pattern "^rncp" ] ;
    sh:property [ sh:path cqp:levelCode ; sh:datatype xsd:string ] ;
    sh:property [ sh:path dct:title ; sh:languageIn ( "FR" ) ] .
ex:Items a sh:NodeShape ; sh:targetObjectsOf cqp:hasItem ;
    sh:property [ sh:path cqp:itemText ; sh:maxCount 0 ] ;
    sh:property [ sh:path cqp:order ; sh:nodeKind sh:IRI ] .
ex:Routes a sh:NodeShape ; sh:targetClass cqp:AccessRoute ; sh:severity sh:Warning ;
    sh:property [ sh:path cqp:open ; sh:minCount 5 ] ;
    sh:property [ sh:path cqp:routeCode ; sh:minCount 5 ; sh:severity sh:Warning ] ;
    sh:property [ sh:path cqp:routeCode ; sh:minCount 6 ; sh:deactivated true ] .
ex:Ghost a sh:NodeShape ; sh:targetNode <https://w3id.org/cqp-graph/rncp/RNCP999> ;
    sh:property [ sh:path cqp:recordNumber ; sh:minCount 1 ] .
ex:Idle a sh:NodeShape ; sh:property [ sh:path cqp:recordNumber ; sh:minCount 5 ] .
ex:Off a sh:NodeShape ; sh:targetObjectsOf cqp:hasAccessRoute ; sh:deactivated true ;
    sh:property [ sh:path cqp:routeCode ; sh:minCount 9 ] .
"""


def shapes_graph(*extra: str) -> Graph:
    graph = Graph().parse(ROOT / "shapes" / "rncp" / "rncp.ttl")
    for text in extra:
        graph.parse(data=text, format="turtle")
    return graph


def imported(tmp_path, text=FICHES):
    source = tmp_path / "fiches.xml"
    source.write_text(text, encoding="utf-8")
    import_rncp(source, tmp_path / "out.nt", BASE)
    return Graph().parse(tmp_path / "out.nt", format="nt")


def index_of(graph: Graph) -> dict:
    index: dict = {}
    for s, p, o in graph:
        index.setdefault(str(s), {}).setdefault(str(p), {})[as_term(o)] = None
    return index


@pytest.mark.parametrize("extra", [(), (EXTRA,)], ids=["rncp shapes", "every constraint compiled"])
def test_compiled_checks_find_what_pyshacl_finds(tmp_path, extra):
    graph = imported(tmp_path)
    shapes = shapes_graph(*extra)
    ours = Counter(ShapeChecks(shapes).violations(index_of(graph)))
    theirs = Counter((f.focus, f.message) for f in validate_graph(graph, shapes).violations)
    assert ours == theirs
    assert len(theirs) >= (4 if not extra else 15), theirs  # the data do break the shapes


def test_shapes_that_are_not_compiled_are_checked_by_pyshacl(tmp_path):
    unsupported = """@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix cqp: <https://w3id.org/cqp-graph/ontology#> .
    <https://example.org/shapes#Short> a sh:NodeShape ; sh:targetClass cqp:RegisterRecord ;
        sh:property [ sh:path cqp:recordNumber ; sh:maxLength 5 ; sh:message "Numéro trop long."@fr ] ."""
    shapes = shapes_graph(unsupported)
    with pytest.raises(Unsupported):
        ShapeChecks(shapes)
    source = tmp_path / "fiches.xml"
    source.write_text(FICHES, encoding="utf-8")
    report = import_rncp(source, tmp_path / "out.nt", BASE, shapes=shapes, batch=1)
    too_long = [str(p) for p in report.problems if "Numéro trop long." in str(p)]
    assert too_long == [f"fiche #1 (RNCP100): forme non respectée (SHACL) sur {BASE}rncp/RNCP100 : Numéro trop long."]
    # the compiled shapes' findings are there too, from pyshacl: the same as the compiled checks give
    graph = Graph().parse(tmp_path / "out.nt", format="nt")
    expected = {(f.focus, f.message) for f in validate_graph(graph, shapes).violations}
    assert {(p.message.split(" sur ", 1)[1].split(" : ", 1)[0], p.message.split(" : ", 1)[1])
            for p in report.problems if "SHACL" in p.message} == expected


def test_names_and_documentation_of_shapes_do_not_stop_the_compilation():
    text = """@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix ex: <https://example.org/> .
    @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
    ex:S a sh:NodeShape ; sh:targetClass ex:C ; rdfs:label "S" ; rdfs:comment "c" ; sh:name "n" ;
        sh:description "d" ; sh:message "m"@fr ; sh:severity sh:Violation ; sh:deactivated false ;
        sh:property [ sh:path ex:p ; sh:minCount 1 ; sh:name "p" ; sh:description "d" ; sh:order 1 ;
                      sh:group ex:G ; rdfs:label "p" ; rdfs:comment "c" ; sh:severity sh:Violation ;
                      sh:deactivated false ; sh:pattern "x" ; sh:flags "i" ; sh:message "m"@fr ] ."""
    checks = ShapeChecks(Graph().parse(data=text, format="turtle"))
    assert [c.kind for n in checks.nodes for p in n.properties for c in p.constraints] in \
        (["minCount", "pattern"], ["pattern", "minCount"])
    found = checks.violations({"https://example.org/a": {"http://www.w3.org/1999/02/22-rdf-syntax-ns#type":
                                                         {("I", "https://example.org/C"): None}}})
    assert found == [("https://example.org/a", "m")]


def test_other_constructs_are_not_compiled():
    sh = "@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix ex: <https://example.org/> . "
    for text, why in (
            ("ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:closed true .",
             "http://www.w3.org/ns/shacl#closed sur la forme https://example.org/S"),
            ("ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:property [ sh:path [ sh:inversePath ex:p ] ; "
             "sh:minCount 1 ] .", "chemin .* qui n'est pas une propriété"),
            ("ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:property [ sh:path ex:p ; sh:nodeKind ex:Odd ] .",
             "sh:nodeKind https://example.org/Odd"),
            ("ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:property [ sh:path ex:p ; sh:minLength 2 ] .",
             "http://www.w3.org/ns/shacl#minLength sur une forme de propriété"),
            ("ex:S a sh:NodeShape ; sh:targetNode [ ex:p 1 ] .", "nœud anonyme .* comme valeur"),
            ("ex:S a sh:PropertyShape ; sh:targetClass ex:C ; sh:path ex:p ; sh:minCount 1 .",
             "http://www.w3.org/ns/shacl#(path|minCount) sur la forme https://example.org/S")):
        with pytest.raises(Unsupported, match=why):
            ShapeChecks(Graph().parse(data=sh + text, format="turtle"))


def test_a_violation_names_the_first_fiche_of_the_batch_that_made_the_resource(tmp_path):
    """A certifier named in two fiches of one batch is reported once, with the first of them."""
    fiche = ("<FICHE><NUMERO_FICHE>{n}</NUMERO_FICHE><INTITULE>T</INTITULE><CERTIFICATEURS><CERTIFICATEUR>"
             "<SIRET_CERTIFICATEUR>12345678901234</SIRET_CERTIFICATEUR></CERTIFICATEUR></CERTIFICATEURS></FICHE>")
    source = tmp_path / "two.xml"
    source.write_text("<FICHES>" + fiche.format(n="RNCP1") + fiche.format(n="RNCP2") + "</FICHES>", encoding="utf-8")
    for batch, expected in ((200, ["fiche #1 (RNCP1)"]), (1, ["fiche #1 (RNCP1)", "fiche #2 (RNCP2)"])):
        report = import_rncp(source, tmp_path / "out.nt", BASE, shapes=shapes_graph(), batch=batch)
        org = f"{BASE}organisation/12345678901234"
        # the certifier has no name (foaf:name minCount 1): one finding per batch that holds it
        found = [str(p).split(":", 1)[0] for p in report.problems if f"sur {org} :" in str(p)]
        assert found == expected, report.problems


def test_an_empty_batch_reports_nothing():
    report = ImportReport()
    checker = BatchChecker(shapes_graph(), report)
    checker.check()
    assert report.problems == []


def test_language_ranges_match_subtags_as_pyshacl_does():
    """sh:languageIn ( "fr" ) accepts fr and fr-CA, not frx nor en (a hand-made graph: the import writes fr only)."""
    data = Graph().parse(data="""<https://example.org/a> <https://example.org/p> "un"@fr, "deux"@fr-CA, "trois"@frx,
        "four"@en, "cinq" .""", format="turtle")
    shapes = Graph().parse(data="""@prefix sh: <http://www.w3.org/ns/shacl#> .
        <https://example.org/S> a sh:NodeShape ; sh:targetSubjectsOf <https://example.org/p> ;
            sh:property [ sh:path <https://example.org/p> ; sh:languageIn ( "fr" ) ] .""", format="turtle")
    ours = Counter(ShapeChecks(shapes).violations(index_of(data)))
    theirs = Counter((f.focus, f.message) for f in validate_graph(data, shapes).violations)
    assert ours == theirs and sum(theirs.values()) == 3


def test_violations_of_one_batch_come_in_the_order_of_the_fiches(tmp_path):
    """RNCP9 (first in the file) before RNCP10, though its IRI sorts after; a node no fiche made comes first."""
    ghost = """@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix cqp: <https://w3id.org/cqp-graph/ontology#> .
    <https://example.org/Ghost> a sh:NodeShape ; sh:targetNode <https://w3id.org/cqp-graph/rncp/RNCP999> ;
        sh:property [ sh:path cqp:recordNumber ; sh:minCount 1 ; sh:message "Fantôme."@fr ] ."""
    source = tmp_path / "order.xml"
    source.write_text("<FICHES><FICHE><NUMERO_FICHE>RNCP9</NUMERO_FICHE></FICHE>"
                      "<FICHE><NUMERO_FICHE>RNCP10</NUMERO_FICHE></FICHE></FICHES>", encoding="utf-8")
    report = import_rncp(source, tmp_path / "out.nt", BASE, shapes=shapes_graph(ghost))
    assert [str(p) for p in report.problems if "SHACL" in str(p)] == [
        f"fiche #0: forme non respectée (SHACL) sur {BASE}rncp/RNCP999 : Fantôme.",
        f"fiche #1 (RNCP9): forme non respectée (SHACL) sur {BASE}rncp/RNCP9 : Une fiche a un intitulé.",
        f"fiche #2 (RNCP10): forme non respectée (SHACL) sur {BASE}rncp/RNCP10 : Une fiche a un intitulé."]
