"""Linked data: every IRI minted under the base resolves here.

    GET /agc-alimentaire/mission/M3           -> 303 to .html, .ttl, .jsonld, .nt or .rdf (by Accept, or ?format=)
    GET /agc-alimentaire/mission/M3.ttl       -> the resource's description (outgoing and incoming triples)
    GET /agc-alimentaire/mission/M3.html      -> a page in French

The description of a resource is read from the knowledge layer's store triple by triple; labels and property
names come from the graph itself (the ontology labels every property it uses). The tables a page adds (a
mission's competences, a block's contents…) are named queries asked for the resource's own referential
(`cqp:inReferential`), so two referentials with the same codes never mix on a page.

Lives here: the resolution of minted IRIs, their pages and RDF documents. Not here: the templates
(`cqp_graph.present.templates`), the negotiation rules (`negotiation`, `formats`).
"""

from __future__ import annotations

from urllib.parse import quote

import pyoxigraph as ox
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from cqp_graph.present.render import template
from cqp_graph.web.formats import EXTENSION_OF, EXTENSIONS, FORMAT_NAMES, GRAPHS, charset, from_format_param
from cqp_graph.web.negotiation import choose
from cqp_graph.web.state import ServerState

RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
PREF = ox.NamedNode("http://www.w3.org/2004/02/skos/core#prefLabel")
RDFS_LABEL = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label")
TITLE = ox.NamedNode("http://purl.org/dc/terms/title")
OFFERED = ["text/html", *GRAPHS]  # a page, or a document in each RDF format of DUMP_FORMATS


def label(store: ox.Store, node, lang: str = "fr", fallback: tuple = ()) -> str | None:
    """The node's label: skos:prefLabel, rdfs:label or dct:title (French first), then `fallback` properties."""
    best = None
    for predicate in (PREF, RDFS_LABEL, TITLE, *fallback):
        for quad in store.quads_for_pattern(node, predicate, None, ox.DefaultGraph()):
            literal = quad.object
            if isinstance(literal, ox.Literal):
                if literal.language == lang:
                    return literal.value
                if best is None or literal.language in (None, "", "en"):
                    best = literal.value
        if best:
            return best
    return best


def describe(store: ox.Store, iri: str) -> list[ox.Triple]:
    """The resource's triples, the triples pointing at it, and the labels of its neighbours."""
    node = ox.NamedNode(iri)
    out = [q.triple for q in store.quads_for_pattern(node, None, None, ox.DefaultGraph())]
    incoming = [q.triple for q in store.quads_for_pattern(None, None, node, ox.DefaultGraph())]
    out += incoming
    neighbours = {t.object for t in out if isinstance(t.object, ox.NamedNode) and t.object != node}
    neighbours |= {t.subject for t in incoming if isinstance(t.subject, ox.NamedNode)}
    for other in neighbours:
        for predicate in (PREF,):
            out += [q.triple for q in store.quads_for_pattern(other, predicate, None, ox.DefaultGraph())]
    return out


class Links:
    """Turns IRIs into links on this server where they are ours."""

    def __init__(self, state: ServerState):
        self.state = state
        self.ontology = state.base + "ontology#"

    def href(self, iri: str) -> str:
        if iri.startswith(self.ontology):
            return "/ontology#" + iri[len(self.ontology):]
        local = self.state.local_path(iri)
        return quote(local, safe="/:#") if local is not None else iri

    def short(self, iri: str) -> str:
        for prefix, ns in self.state.prefixes.items():
            if iri.startswith(ns) and len(iri) > len(ns):
                return f"{prefix}:{iri[len(ns):]}"
        return iri


def page_model(state: ServerState, iri: str) -> dict:
    store = state.store
    node = ox.NamedNode(iri)
    links = Links(state)
    path = state.local_path(iri)

    fallback = (ox.NamedNode(state.base + "ontology#labelAsWritten"),)

    def value(term) -> dict:
        if isinstance(term, ox.NamedNode):
            text = label(store, term, fallback=fallback) or links.short(term.value)
            return {"text": text, "href": links.href(term.value), "iri": term.value}
        if isinstance(term, ox.Literal):
            return {"text": term.value, "lang": term.language}
        return {"text": str(term)}

    properties: dict[str, dict] = {}
    types = []
    for quad in store.quads_for_pattern(node, None, None, ox.DefaultGraph()):
        if quad.predicate == RDF_TYPE:
            types.append(value(quad.object))
            continue
        key = quad.predicate.value
        entry = properties.setdefault(key, {"label": label(store, quad.predicate) or links.short(key),
                                            "href": links.href(key), "values": []})
        entry["values"].append(value(quad.object))
    for entry in properties.values():
        entry["values"].sort(key=lambda v: (v.get("lang") != "fr", v["text"]))
    incoming: dict[str, dict] = {}
    membership = state.base + "ontology#inReferential"  # every resource of a referential: listed by sections below
    for quad in store.quads_for_pattern(None, None, node, ox.DefaultGraph()):
        key = quad.predicate.value
        if key == membership:
            continue
        entry = incoming.setdefault(key, {"label": label(store, quad.predicate) or links.short(key), "values": []})
        entry["values"].append(value(quad.subject))
    for entry in incoming.values():
        entry["values"].sort(key=lambda v: v["text"])
    provenance_keys = [state.base + "ontology#sourceSection", state.base + "ontology#sourceLines",
                       "http://www.w3.org/ns/prov#wasDerivedFrom"]
    provenance = [properties.pop(k) for k in provenance_keys if k in properties]
    hidden = {state.base + "ontology#" + name for name in ("order",)}
    title = label(store, node, fallback=fallback) or links.short(iri)
    model = {
        "iri": iri, "title": title, "types": types,
        "properties": sorted((v for k, v in properties.items() if k not in hidden), key=lambda e: e["label"]),
        "incoming": sorted(incoming.values(), key=lambda e: e["label"]),
        "provenance": provenance,
        "formats": [(FORMAT_NAMES[m], f"{path}.{EXTENSION_OF[m]}") for m in FORMAT_NAMES] if path else [],
        "sections": [],
    }
    type_iris = {t.get("iri") for t in types}
    cqp = state.base + "ontology#"
    code = next((v["text"] for k, e in properties.items() if k == cqp + "code" for v in e["values"]), None)
    ref = state.referential_of(iri)

    def rows_of(name, **params):
        return state.rows(name, ref, **params)

    if cqp + "Mission" in type_iris and code:
        rows = rows_of("competences-for-mission", mission=code)
        model["sections"].append({"title": "Activités", "rows": [
            {"code": a["code"], "label": a["label"], "href": links.href(a["iri"])}
            for a in rows_of("activities-of-mission", mission=code)]})
        model["sections"].append({"title": f"Compétences exigées ({len(rows)}), telles qu'écrites sur la page de la mission",
                                  "columns": ["code", "libellé de référence", "nature", "domaine", "sur la page"],
                                  "table": [[{"text": r["code"], "href": links.href(r["iri"])}, {"text": r["label"]},
                                             {"text": r["kind"]}, {"text": r["domain"] or "—"},
                                             {"text": (f"{r['code_as_written']} — " if r["code_as_written"] != r["code"] else "")
                                              + (r["label_as_written"] or "")}] for r in rows]})
    if cqp + "Competence" in type_iris and code:
        rows = rows_of("missions-for-competence", competence=code)
        model["sections"].append({"title": "Missions qui l'exigent", "columns": ["mission", "code écrit", "formulation sur la page"],
                                  "table": [[{"text": f"{r['mission']} — {r['mission_label']}", "href": links.href(r["mission_iri"])},
                                             {"text": r["code_as_written"] or ""}, {"text": r["label_as_written"] or ""}]
                                            for r in rows]})
        variants = [v for v in rows_of("label-variants") if v["item"] == code]
        if variants:
            model["sections"].append({"title": "Variantes (la source est conservée telle quelle)",
                                      "columns": ["nature", "code écrit", "formulation", "où", "lignes"],
                                      "table": [[{"text": v["variant_kind"]}, {"text": v["code_as_written"] or ""},
                                                 {"text": v["label_as_written"]}, {"text": v["section"]},
                                                 {"text": v["lines"] or ""}] for v in variants]})
    if cqp + "Certification" in type_iris and ref:
        model["sections"].append({"title": "Missions", "rows": [
            {"code": m["code"], "label": m["label"], "href": links.href(m["iri"])} for m in rows_of("missions")]})
        model["sections"].append({"title": "Blocs de compétences", "rows": [
            {"code": b["code"], "label": b["label"], "href": links.href(b["iri"])} for b in rows_of("blocks")]})
    if cqp + "CompetenceBlock" in type_iris and code:
        rows = rows_of("block-contents", block=code)
        model["sections"].append({"title": "Contenu du bloc", "columns": ["type", "code", "libellé", "nature"],
                                  "table": [[{"text": r["item_type"]}, {"text": r["code"]}, {"text": r["label"]},
                                             {"text": r["kind"] or ""}] for r in rows]})
    return model


def exists(state: ServerState, iri: str) -> bool:
    node = ox.NamedNode(iri)
    return any(True for _ in state.store.quads_for_pattern(node, None, None, ox.DefaultGraph())) or \
        any(True for _ in state.store.quads_for_pattern(None, None, node, ox.DefaultGraph()))


def rdf_document(state: ServerState, iri: str, media: str) -> bytes:
    return ox.serialize(describe(state.store, iri), format=GRAPHS[media], prefixes=state.prefixes)


def valid_iri(iri: str) -> bool:
    """Whether `iri` is an IRI (RFC 3987): no space, quote, angle bracket, brace, backslash or control character."""
    try:
        ox.NamedNode(iri)
    except ValueError:
        return False
    return not any(c in iri for c in ' "<>{}|\\^`') and all(ord(c) > 0x1f and not 0xd800 <= ord(c) <= 0xdfff
                                                               for c in iri)


def not_found(request: Request, message: str) -> Response:
    if choose(request.headers.get("accept"), ["text/html", "text/plain"]) == "text/html":
        html = template("message.html.j2").render(title="Ressource introuvable", message=message)
        return HTMLResponse(html, status_code=404)
    return Response(message + "\n", status_code=404, media_type="text/plain; charset=utf-8")


def router(state_getter) -> APIRouter:
    api = APIRouter(include_in_schema=False)

    @api.get("/{path:path}")
    async def resolve(request: Request, path: str):
        state: ServerState = state_getter(request)
        extension = None
        stem = path
        if "." in path.rsplit("/", 1)[-1]:
            stem, _, extension = path.rpartition(".")
            if extension not in EXTENSIONS:
                stem, extension = path, None
        iri = state.base + stem
        if not valid_iri(iri):
            return not_found(request, f"Aucune ressource n'a ce chemin : « {stem[:200]} » ne forme pas une IRI valide.")
        if not stem or not state.cached(("exists", iri), lambda: exists(state, iri)):
            return not_found(request, f"Aucune ressource n'a l'IRI {iri}.")
        if extension is None:
            wanted = from_format_param(request.query_params.get("format"))
            media = wanted if wanted in OFFERED else choose(request.headers.get("accept"), OFFERED)
            if media is None:
                return Response(f"Aucun format acceptable : {', '.join(OFFERED)}.\n", status_code=406,
                                media_type="text/plain; charset=utf-8")
            target = quote(f"/{stem}.{EXTENSION_OF[media]}", safe="/:")
            return RedirectResponse(target, status_code=303, headers={"Vary": "Accept"})
        media = EXTENSIONS[extension]
        etag = f'"{state.etag}-{extension}"'
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers={"ETag": etag})
        headers = {"ETag": etag, "Link": f'<{iri}>; rel="describes"'}
        if media == "text/html":
            body = state.cached(("page", iri), lambda: template("resource.html.j2").render(
                p=page_model(state, iri)).encode("utf-8"))
            return Response(body, media_type="text/html; charset=utf-8", headers=headers)
        body = state.cached(("doc", iri, media), lambda: rdf_document(state, iri, media))
        return Response(body, media_type=charset(media), headers=headers)

    return api
