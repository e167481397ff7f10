"""Linked data: every IRI minted under the base resolves here.

    GET /agc-alimentaire/mission/M3           -> 303 to .html, .ttl, .jsonld, .nt or .rdf (by Accept, or ?format=)
    GET /agc-alimentaire/mission/M3.ttl       -> the resource's description (outgoing and incoming triples)
    GET /agc-alimentaire/mission/M3.html      -> a page in French

The description of a resource is read from the knowledge layer's store triple by triple; labels and property
names come from the graph itself (the ontology labels every property it uses). The tables a page adds (a
mission's competences, a block's contents…) are named queries asked for the resource's own referential
(`cqp:inReferential`), so two referentials with the same codes never mix on a page. Each list is shown once: a
mission's competences grouped by block (the domain it certifies) and kind, a block's and a domain's by kind, with
a legend of the codes (the competence kinds and the domains, named as the graph names them) and download links;
the links a section shows, and the inverse of a SKOS link the resource states, are not repeated below it.

Lives here: the resolution of minted IRIs, their pages and RDF documents. Not here: the templates
(`cqp_graph.present.templates`), the negotiation rules (`negotiation`, `formats`).
"""

from __future__ import annotations

from urllib.parse import quote

import pyoxigraph as ox
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from cqp_graph.analyses.network import competence_kinds
from cqp_graph.namespaces import Minter
from cqp_graph.numbers import natural_key
from cqp_graph.present.render import template
from cqp_graph.web.api_routes import referential_path
from cqp_graph.web.formats import EXTENSION_OF, EXTENSIONS, FORMAT_NAMES, GRAPHS, charset, from_format_param
from cqp_graph.web.negotiation import choose
from cqp_graph.web.state import ServerState

RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
PREF = ox.NamedNode("http://www.w3.org/2004/02/skos/core#prefLabel")
RDFS_LABEL = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label")
TITLE = ox.NamedNode("http://purl.org/dc/terms/title")
BOOLEAN = ox.NamedNode("http://www.w3.org/2001/XMLSchema#boolean")
YES_NO = {"true": "oui", "1": "oui", "false": "non", "0": "non"}
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


SKOS = "http://www.w3.org/2004/02/skos/core#"
#: SKOS links summed up in the page's "Vocabulaire SKOS" line (outgoing) or shown from the other side (incoming)
SKOS_SUMMED = {SKOS + n for n in ("inScheme", "topConceptOf", "broader", "narrower", "related", "notation")}
#: incoming links whose inverse the resource itself states (so the list would be there twice)
INVERSE_STATED = {SKOS + n for n in ("broader", "narrower", "related", "topConceptOf", "hasTopConcept")}


def _legend(state: ServerState, ref: str | None) -> dict:
    """The codes a designer meets on a page: competence kinds and domains, named as the graph names them."""
    return {"kinds": [(k["code"], k["label"]) for k in competence_kinds(state.knowledge)],
            "domains": [(d["code"], d["label"]) for d in state.rows("domains", ref)]}


def _kind_order(legend: dict) -> dict[str, int]:
    return {code: i for i, (code, _label) in enumerate(legend["kinds"])}


def _download(ref: str | None, rest: str, formats=("csv", "xlsx")) -> list[tuple[str, str]]:
    """Download links of a list API (`rest`: the path under the referential, with its query string)."""
    path = referential_path(ref, rest) if ref else "/api" + rest
    join = "&" if "?" in path else "?"
    names = {"csv": "CSV", "xlsx": "Excel (XLSX)"}
    return [(names[f], f"{path}{join}format={f}") for f in formats]


def mission_sections(state: ServerState, links: Links, ref: str | None, code: str) -> tuple[list[dict], dict]:
    """A mission's activities, and its competences once: grouped by block (the domain it certifies) and nature,
    then counted by domain and nature."""
    legend = _legend(state, ref)
    kinds = _kind_order(legend)
    domain_labels = dict(legend["domains"])
    blocks = {b["domain"]: b for b in state.rows("blocks", ref)}
    sections = []
    activities = state.rows("activities-of-mission", ref, mission=code)
    sections.append({"title": f"Activités ({len(activities)})", "rows": [
        {"code": a["code"], "label": a["label"], "href": links.href(a["iri"])} for a in activities]})
    competences: dict[str, dict] = {}
    for r in state.rows("competences-for-mission", ref, mission=code):  # a competence written twice: one row
        entry = competences.setdefault(r["code"], {**r, "written": []})
        written = ((f"{r['code_as_written']} — " if r["code_as_written"] and r["code_as_written"] != r["code"] else "")
                   + (r["label_as_written"] or ""))
        if r["label_as_written"] and written != r["label"] and written not in entry["written"]:
            entry["written"].append(written)
    groups: dict[str, dict] = {}
    for r in sorted(competences.values(), key=lambda r: (natural_key(blocks.get(r["domain"], {}).get("code") or "~"),
                                                         natural_key(r["domain"] or "~"), kinds.get(r["kind"], 99),
                                                         natural_key(r["code"]))):
        block = blocks.get(r["domain"])
        domain = f"domaine {r['domain']} — {domain_labels.get(r['domain'], '')}" if r["domain"] else "sans domaine"
        title = f"Bloc {block['code']} — {block['label']} ({domain})" if block else domain[:1].upper() + domain[1:]
        group = groups.setdefault(title, {"title": title, "href": links.href(block["iri"]) if block else None,
                                          "table": []})
        group["table"].append([{"text": r["code"], "href": links.href(r["iri"])}, {"text": r["label"]},
                               {"text": r["kind"], "title": dict(legend["kinds"]).get(r["kind"], "")},
                               {"text": " ; ".join(r["written"]) or "identique", "muted": not r["written"]}])
    for g in groups.values():
        g["title"] += f" : {len(g['table'])}"
    sections.append({
        "title": f"Compétences exigées ({len(competences)})",
        "intro": "Chaque compétence une fois, par bloc de compétences (chaque bloc certifie un domaine), puis par "
                 "nature. La dernière colonne donne la formulation de la page de la mission quand elle diffère "
                 "du libellé de référence.",
        "downloads": _download(ref, f"/missions/{quote(code, safe='')}/competences"),
        "columns": ["Code", "Libellé de référence", "Nature", "Écrit sur la page de la mission"],
        "groups": list(groups.values())})
    counts: dict[str, dict[str, int]] = {}
    for r in competences.values():
        counts.setdefault(r["domain"] or "", {}).setdefault(r["kind"], 0)
        counts[r["domain"] or ""][r["kind"]] += 1
    used = [k for k, _label in legend["kinds"] if any(k in c for c in counts.values())]
    sections.append({
        "title": "Répartition par domaine et par nature",
        "columns": ["Domaine", *[dict(legend["kinds"])[k] + f" ({k})" for k in used], "Total"],
        "table": [[{"text": f"{d} — {domain_labels.get(d, '')}" if d else "sans domaine"},
                   *[{"text": str(counts[d].get(k, 0)), "num": True} for k in used],
                   {"text": str(sum(counts[d].values())), "num": True}]
                  for d in sorted(counts, key=lambda d: [c for c, _l in legend["domains"]].index(d)
                                  if d in domain_labels else 99)]})
    return sections, legend


def domain_sections(state: ServerState, links: Links, ref: str | None, code: str) -> tuple[list[dict], dict]:
    """A domain's block and its competences, by nature, with the missions that require each."""
    legend = _legend(state, ref)
    rows = state.rows("domain-competences", ref, domain=code)
    sections = []
    blocks = [b for b in state.rows("blocks", ref) if b["domain"] == code]
    if blocks:
        sections.append({"title": "Bloc de compétences qui certifie ce domaine", "rows": [
            {"code": b["code"], "label": b["label"], "href": links.href(b["iri"])} for b in blocks]})
    sections.append(_by_kind(links, legend, rows, f"Compétences du domaine ({len(rows)})",
                             _download(ref, f"/queries/domain-competences?domain={quote(code, safe='')}",
                                       ("csv",)), missions=True, ref=ref))
    return sections, legend


def block_sections(state: ServerState, links: Links, ref: str | None, code: str) -> tuple[list[dict], dict]:
    """A block's domain, its competences by nature and its units."""
    legend = _legend(state, ref)
    rows = state.rows("block-contents", ref, block=code)
    domains = [r for r in rows if r["item_type"] == "domain"]
    units = [r for r in rows if r["item_type"] == "unit"]
    sections = [{"title": "Domaine certifié", "rows": [
        {"code": d["code"], "label": d["label"], "href": _href_of(links, ref, "domain", d["code"])}
        for d in domains]}]
    competences = []
    for d in domains:
        competences += state.rows("domain-competences", ref, domain=d["code"])
    sections.append(_by_kind(links, legend, competences, f"Compétences du bloc ({len(competences)})",
                             _download(ref, f"/queries/block-contents?block={quote(code, safe='')}", ("csv",)),
                             missions=True, ref=ref))
    sections.append({"title": f"Unités de compétence ({len(units)})",
                     "rows": [{"code": u["code"], "label": u["label"], "href": _href_of(links, ref, "unit", u["code"])}
                              for u in units],
                     "intro": None if units else "Aucune unité n'est rattachée à ce bloc : la source ne permet pas "
                                                 "de lire le bloc de ses unités."})
    return sections, legend


def _href_of(links: Links, ref: str | None, kind: str, code: str) -> str | None:
    """The link to a resource of referential `ref` by its code (IRIs as `cqp_graph.namespaces.Minter` mints them);
    None for a graph that names no referential."""
    return links.href(str(Minter(links.state.base, ref)(kind, code))) if ref else None


def _by_kind(links: Links, legend: dict, rows: list[dict], title: str, downloads, missions: bool,
             ref: str | None) -> dict:
    kinds = dict(legend["kinds"])
    order = _kind_order(legend)
    groups: dict[str, dict] = {}
    for r in sorted(rows, key=lambda r: (order.get(r["kind"], 99), natural_key(r["code"]))):
        name = f"{kinds.get(r['kind'], r['kind'])} ({r['kind']})"
        group = groups.setdefault(name, {"title": name, "table": []})
        row = [{"text": r["code"], "href": links.href(r["iri"])}, {"text": r["label"]}]
        if missions:
            codes = sorted((r.get("mission_codes") or "").split(), key=natural_key)
            row.append({"links": [{"text": m, "href": _href_of(links, ref, "mission", m)}
                                  for m in codes], "text": "aucune" if not codes else ""})
        group["table"].append(row)
    for g in groups.values():
        g["title"] += f" : {len(g['table'])}"
    return {"title": title, "downloads": downloads, "groups": list(groups.values()),
            "columns": ["Code", "Libellé", *(["Missions qui l'exigent"] if missions else [])]}


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
            if term.datatype == BOOLEAN and term.value in YES_NO:
                return {"text": YES_NO[term.value]}
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
    cqp = state.base + "ontology#"
    type_iris = {t.get("iri") for t in types}
    # links a section of the page lists (each list once): not repeated under "Description" / "Liens"
    shown_out, shown_in = set(), {cqp + "inReferential", *INVERSE_STATED}
    if cqp + "Mission" in type_iris:
        shown_out |= {cqp + "requiresCompetence", cqp + "hasActivity"}
        shown_in |= {cqp + "onMissionPage"}
    if cqp + "Competence" in type_iris:
        shown_in |= {cqp + "requiresCompetence", cqp + "mentionOf"}
    if cqp + "Domain" in type_iris:
        shown_in |= {cqp + "domain", cqp + "certifiesDomain"}
    if cqp + "CompetenceBlock" in type_iris:
        shown_out |= {cqp + "certifiesDomain"}
        shown_in |= {cqp + "inBlock"}
    incoming: dict[str, dict] = {}
    for quad in store.quads_for_pattern(None, None, node, ox.DefaultGraph()):
        key = quad.predicate.value
        if key in shown_in:
            continue
        entry = incoming.setdefault(key, {"label": label(store, quad.predicate) or links.short(key), "values": []})
        entry["values"].append(value(quad.subject))
    for entry in incoming.values():
        entry["values"].sort(key=lambda v: v["text"])
    provenance_keys = [state.base + "ontology#sourceSection", state.base + "ontology#sourceLines",
                       "http://www.w3.org/ns/prov#wasDerivedFrom"]
    provenance = [properties.pop(k) for k in provenance_keys if k in properties]
    skos = None
    if SKOS + "inScheme" in properties:
        skos = {"schemes": properties[SKOS + "inScheme"]["values"],
                "broader": properties.get(SKOS + "broader", {}).get("values", []),
                "notation": ", ".join(v["text"] for v in properties.get(SKOS + "notation", {}).get("values", []))}
        for key in SKOS_SUMMED:
            properties.pop(key, None)
    hidden = {cqp + "order", *shown_out}
    title = label(store, node, fallback=fallback) or links.short(iri)
    model = {
        "iri": iri, "title": title, "types": types, "skos": skos,
        "properties": sorted((v for k, v in properties.items() if k not in hidden), key=lambda e: e["label"]),
        "incoming": sorted(incoming.values(), key=lambda e: e["label"]),
        "provenance": provenance,
        "formats": [(FORMAT_NAMES[m], f"{path}.{EXTENSION_OF[m]}") for m in FORMAT_NAMES] if path else [],
        "sections": [], "legend": None,
    }
    code = next((v["text"] for k, e in properties.items() if k == cqp + "code" for v in e["values"]), None)
    ref = state.referential_of(iri)

    def rows_of(name, **params):
        return state.rows(name, ref, **params)

    if cqp + "Mission" in type_iris and code:
        model["sections"], model["legend"] = mission_sections(state, links, ref, code)
    if cqp + "Competence" in type_iris and code:
        rows = rows_of("missions-for-competence", competence=code)
        model["sections"].append({"title": f"Missions qui l'exigent ({len({r['mission'] for r in rows})})",
                                  "columns": ["Mission", "Code écrit", "Formulation sur la page de la mission"],
                                  "table": [[{"text": f"{r['mission']} — {r['mission_label']}", "href": links.href(r["mission_iri"])},
                                             {"text": r["code_as_written"] or ""}, {"text": r["label_as_written"] or ""}]
                                            for r in rows]})
        variants = [v for v in rows_of("label-variants") if v["item"] == code]
        if variants:
            kinds = _variant_kinds(state)
            model["sections"].append({"title": "Variantes (la source est conservée telle quelle)",
                                      "columns": ["Nature", "Code écrit", "Formulation", "Où", "Lignes"],
                                      "table": [[{"text": kinds.get(v["variant_kind"], v["variant_kind"])},
                                                 {"text": v["code_as_written"] or ""},
                                                 {"text": v["label_as_written"]}, {"text": v["section"]},
                                                 {"text": v["lines"] or ""}] for v in variants]})
    if cqp + "Certification" in type_iris and ref:
        model["sections"].append({"title": "Missions", "rows": [
            {"code": m["code"], "label": m["label"], "href": links.href(m["iri"])} for m in rows_of("missions")]})
        model["sections"].append({"title": "Blocs de compétences", "rows": [
            {"code": b["code"], "label": b["label"], "href": links.href(b["iri"])} for b in rows_of("blocks")]})
    if cqp + "CompetenceBlock" in type_iris and code:
        model["sections"], model["legend"] = block_sections(state, links, ref, code)
    if cqp + "Domain" in type_iris and code:
        model["sections"], model["legend"] = domain_sections(state, links, ref, code)
    return model


_VARIANT_KINDS = """
SELECT ?code ?label WHERE {
  ?kind a cqp:VariantKind ; skos:notation ?code .
  OPTIONAL { ?kind skos:prefLabel ?label FILTER (LANGMATCHES(LANG(?label), "fr")) }
}
"""


def _variant_kinds(state: ServerState) -> dict[str, str]:
    """The variant kinds' French names by notation (from the ontology, as the graph holds it)."""
    return state.cached(("variant-kinds",), lambda: {r["code"]: r["label"] or r["code"]
                                                     for r in state.knowledge.select(_VARIANT_KINDS).rows})


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
