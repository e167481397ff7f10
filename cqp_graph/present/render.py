"""Reports for people as HTML (Jinja2, self-contained), Markdown, CSV and JSON, and the page templates.

Lives here: the Jinja2 environment (`template`), a report's files as text or bytes
(`referential_report_files`, `programme_html`, `programme_csv`, `to_json`), and `write_referential_report`,
which hands those files to `cqp_graph.publish.atomic`. Not here: the figures (`cqp_graph.analyses`), the
pictures (`pictures`), how a query result is printed (`cqp_graph.query.formats`, whose `to_json` this one
calls).
"""

from __future__ import annotations

import csv
import html
import io
import re
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from decimal import Decimal

from cqp_graph.numbers import decimal, integer, pct
from cqp_graph.publish.atomic import write_bytes
from cqp_graph.query import formats
from cqp_graph.query.formats import safe_cell

_env = Environment(loader=PackageLoader("cqp_graph.present", "templates"), autoescape=select_autoescape(["html", "j2"]),
                   trim_blocks=True, lstrip_blocks=True)


def _percent(value) -> str:
    """`{{ 56.1 | pct }}` → « 56,1 % » (numbers for people are written the French way everywhere)."""
    return pct(None if value is None else Decimal(str(value)))


def _number(value) -> str:
    """`{{ 12.5 | nombre }}` → « 12,5 » ; `{{ 1200 | nombre }}` → « 1 200 »."""
    if value is None:
        return "—"
    if isinstance(value, int) and not isinstance(value, bool):
        return integer(value)
    return decimal(value)


_env.filters["pct"] = _percent
_env.filters["nombre"] = _number


def template(name: str):
    return _env.get_template(name)


def inline_svg(svg: bytes) -> str:
    """An SVG document as markup to embed in HTML (no XML prolog, no DOCTYPE)."""
    text = svg.decode("utf-8")
    text = re.sub(r"<\?xml[^>]*\?>", "", text)
    text = re.sub(r"<!DOCTYPE[^>]*>", "", text, flags=re.S)
    return text.strip()


def to_json(data: dict) -> str:
    """A report (referential or programme coverage) as JSON, without its pictures; one trailing newline."""
    return formats.to_json({k: v for k, v in data.items() if k != "pictures"}, indent=1) + "\n"


def csv_text(header: list[str], rows: list[list]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")  # RFC 4180: a CR in a cell is quoted
    writer.writerow([safe_cell(h) for h in header])
    writer.writerows([safe_cell(v) for v in row] for row in rows)
    return buffer.getvalue()


def md_text(value) -> str:
    """Text for Markdown: HTML escaped (a label's `<script>` stays text), on one line."""
    return "" if value is None else html.escape(str(value), quote=False).replace("\n", " ").replace("\r", " ")


def md_table(header: list[str], rows: list[list]) -> str:
    def cell(v):
        return md_text(v).replace("|", "\\|")
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


# -- referential report ----------------------------------------------------------------

def referential_report_files(r: dict) -> dict[str, bytes]:
    """Every file of the referential report (`rapport.html`, `.md`, `.json`, the CSVs and the SVGs), by name."""
    files: dict[str, str | bytes] = {}
    files["rapport.html"] = template("referential_report.html.j2").render(
        offline=True, r=r, heatmap=inline_svg(r["pictures"]["heatmap.svg"]), network=inline_svg(r["pictures"]["network.svg"]))
    files["rapport.json"] = to_json(r)
    matrix = r["matrix"]
    files["matrice.csv"] = csv_text(["mission"] + matrix["competences"],
                                    [[m] + row for m, row in zip(matrix["missions"], matrix["cells"])])
    counts = []
    for m in r["per_mission"]:
        counts.append(["mission", m["mission"], "competences", m["competences"]])
        counts += [["mission", m["mission"], f"domain {d}", n] for d, n in m["by_domain"].items()]
        counts += [["mission", m["mission"], f"kind {k}", n] for k, n in m["by_kind"].items()]
    for d in r["per_domain"]:
        counts += [["domain", d["domain"], "knowledge", d["knowledge"]], ["domain", d["domain"], "know_how", d["know_how"]]]
    for k in r["per_kind"]:
        counts.append(["kind", k["kind"], "total", k["total"]])
    for b in r["per_block"]:
        counts += [["block", b["block"], "competences", b["competences"]], ["block", b["block"], "units", b["units"]]]
    files["chiffres.csv"] = csv_text(["dimension", "key", "metric", "value"], counts)
    findings = [[shape, f["severity"], f["focus"], f["message"]] for shape, items in r["findings"].items() for f in items]
    files["constats.csv"] = csv_text(["shape", "severity", "focus", "message"], findings)
    md = [f"# Rapport de couverture — {md_text(r['title'])}", "",
          f"Fiche RNCP {md_text(r['summary']['rncp'])}, NSF {md_text(r['summary']['nsf'])}, "
          f"{md_text(r['summary']['certifier'])}.", "",
          "## Par mission", "",
          md_table(["mission", "intitulé", "activités", "compétences"] + [d["domain"] for d in r["per_domain"]],
                   [[m["mission"], m["label"], m["activities"], m["competences"]] + list(m["by_domain"].values())
                    for m in r["per_mission"]]),
          "## Par domaine", "",
          md_table(["domaine", "intitulé", "C", "SF", "bloc"],
                   [[d["domain"], d["label"], d["knowledge"], d["know_how"], d["block"]] for d in r["per_domain"]]),
          "## Par nature", "",
          md_table(["nature", "total", "exigées par une mission"],
                   [[k["label"], k["total"], k["needed_by_a_mission"]] for k in r["per_kind"]]),
          "## Par bloc", "",
          md_table(["bloc", "intitulé", "domaine", "compétences", "unités"],
                   [[b["block"], b["label"], b["domain"], b["competences"], b["units"]] for b in r["per_block"]]),
          "## Compétences transversales (≥ 3 missions)", "",
          md_table(["code", "libellé", "missions"], [[t["code"], t["label"], t["missions"]] for t in r["transversal"]]),
          "## Constats", ""]
    for shape, items in r["findings"].items():
        md.append(f"### {md_text(shape)} ({items[0]['severity']}, {len(items)})\n")
        md += [f"- `{str(f['focus']).replace('`', '')}` — {md_text(f['message'])}" for f in items]
        md.append("")
    md += ["## Variantes de libellés", "",
           md_table(["élément", "nature", "code écrit", "formulation", "où", "lignes"],
                    [[v["item"], v["variant_kind"], v["code_as_written"], v["label_as_written"], v["section"],
                      v["lines"]] for v in r["variants"]]),
           "Images : `matrice.svg`, `reseau.svg`.", ""]
    files["rapport.md"] = "\n".join(md)
    files["matrice.svg"] = r["pictures"]["heatmap.svg"]
    files["reseau.svg"] = r["pictures"]["network.svg"]
    return {name: content if isinstance(content, bytes) else content.encode("utf-8") for name, content in files.items()}


def write_referential_report(r: dict, output: Path) -> list[Path]:
    """Write the referential report's files into `output` (each atomically); the paths written."""
    written = []
    for name, content in referential_report_files(r).items():
        path = Path(output) / name
        write_bytes(path, content)
        written.append(path)
    return written


# -- programme coverage ------------------------------------------------------------------

def programme_pictures(c: dict) -> dict[str, bytes]:
    from cqp_graph.present import pictures

    blocks = pictures.bar_svg([b["key"] for b in c["by_block"]],
                              {"% couvert": [b["percent"] for b in c["by_block"]]},
                              "Part des compétences de chaque bloc entraînée par le programme", "%")
    modules = [m["code"] for m in c["modules"]]
    competences = [x["code"] for x in c["competences"]]
    values = {(m, code): 1 for x in c["competences"] for m in x["modules"] for code in [x["code"]]}
    groups: list[tuple[str, int]] = []
    for x in c["competences"]:
        label = f"{x['domain'] or '—'} · {x['kind']}"
        if groups and groups[-1][0] == label:
            groups[-1] = (label, groups[-1][1] + 1)
        else:
            groups.append((label, 1))
    matrix = pictures.heatmap_svg(modules, competences, values, groups,
                                  "Modules × compétences entraînées (colonne vide : compétence non couverte)")
    return {"blocks.svg": blocks, "matrix.svg": matrix}


def programme_html(c: dict, offline: bool = True) -> str:
    """The coverage report as a page: a file on its own (`offline`), or a page of the site, with its menu."""
    pics = {k: inline_svg(v) for k, v in programme_pictures(c).items()}
    return template("programme_report.html.j2").render(c=c, pictures=pics, offline=offline)


def programme_csv(c: dict) -> str:
    return csv_text(["code", "label", "kind", "domain", "block", "covered", "modules", "hours"],
                    [[x["code"], x["label"], x["kind"], x["domain"], x["block"], "oui" if x["covered"] else "non",
                      "|".join(x["modules"]), x["hours"]] for x in c["competences"]])
