"""One language for people: French CLI help and output, French numbers, tables readable at 80 columns, and
unknown codes refused with the close ones suggested, the same on the CLI and the API.

Expected codes, counts and orders are read from the data CSV files (data/agc-alimentaire), never from the
program's output. A help text is judged by words: it must hold a French word and no English one (a list of
common English function words and of the words the help texts used to be written with).
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from decimal import Decimal

import pytest
import typer
from rich.console import Console

from cqp_graph.cli import app
from cqp_graph.numbers import natural_key, pct
from cqp_graph.query import catalogue as catalogue_module
from cqp_graph.query.formats import to_rich

from .support import ROOT, csv_rows

#: words of English sentences (help texts used to be written with them); none may appear in a help text
ENGLISH = re.compile(r"\b(the|of|and|with|without|to|for|from|this|these|when|which|write|writes|read|folder|"
                     r"default|instead|only|every|each|one|file|is|are|run|build|list|serve|suggest|"
                     r"generate|skip|whole)\b", re.IGNORECASE)
#: French words; a help text holds at least one
FRENCH = re.compile(r"(\b(le|la|les|des|du|de|un|une|ou|et|par|pour|sans|avec|dans|sur|est|au|aux|ce|cette|"
                    r"quand|chaque|tous|toutes|ici|plutôt|seulement)\b|\b[dlq]u?'|[éèêàùç])", re.IGNORECASE)
#: what a help text may hold that is neither (names of options, formats, variables, examples)
NEUTRAL = re.compile(r"(--?[\w-]+|\$\w+|\b[A-Z][A-Z0-9_]+\b|`[^`]*`|\([^)]*\b(e\.g|i\.e)\b[^)]*\)|\w+/\w+[\w/.-]*|"
                     r"https?://\S+|\b\w+\.\w+\b)")

COMMANDS = typer.main.get_command(app).commands


def help_texts(command) -> list[tuple[str, str]]:
    texts = [("(commande)", command.help or ""), ("(rubrique)", getattr(command, "rich_help_panel", "") or "")]
    texts += [(p.name, p.help) for p in command.params if getattr(p, "help", None)]
    return texts


def test_the_app_help_is_french():
    group = typer.main.get_command(app)
    assert FRENCH.search(group.help) and not ENGLISH.search(NEUTRAL.sub(" ", group.help)), group.help


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_help_of_every_command_and_option_is_french(name):
    english = []
    for where, text in help_texts(COMMANDS[name]):
        words = NEUTRAL.sub(" ", text)
        if ENGLISH.search(words) or (len(words.split()) >= 3 and not FRENCH.search(words)):
            english.append(f"{where}: {text}")
    assert not english, f"cqp-graph {name}: help not in French:\n" + "\n".join(english)


def test_help_output_shows_french_panels():
    done = subprocess.run([sys.executable, "-m", "cqp_graph", "--help"], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "COLUMNS": "100"}, timeout=120)
    assert done.returncode == 0
    assert "Le graphe" in done.stdout and "Requêtes et analyses" in done.stdout
    assert "Queries and analyses" not in done.stdout and "The graph" not in done.stdout


#: what typer and click write themselves, in English; none of it may reach a person
TYPER_ENGLISH = ("Usage:", "Show this message", "[default:", "[required]", "Try '", "for help", "Error",
                 "Missing ", "No such ", "Invalid value", "Got unexpected", "requires an argument", "Did you mean",
                 "Commands", "COMMAND [ARGS]", "Aborted")


def test_the_frame_of_help_pages_is_french():
    for args in (["--help"], ["coverage", "--help"], ["build", "--help"]):
        done = cli(*args, columns=100)
        assert done.returncode == 0, done.stderr[-500:]
        said = " ".join(done.stdout.split())
        assert f"Utilisation : cqp-graph {' '.join(args[:-1])}".strip() in said, said[:300]
        assert "Affiche cette aide et s'arrête." in said
        assert not [w for w in TYPER_ENGLISH if w in said], said
    # coverage's programme argument is required and its --format defaults to html (cli/report_commands.py)
    coverage = " ".join(cli("coverage", "--help", columns=100).stdout.split())
    assert "[obligatoire]" in coverage and "[par défaut : html]" in coverage
    # a usage error shows the usage line and where the help is, in French too
    said = " ".join(cli("query", columns=200).stderr.split())
    assert "Utilisation : cqp-graph query [OPTIONS]" in said and "Aide : cqp-graph query --help" in said, said


@pytest.mark.parametrize("args, words", [
    (["query"], "argument « name » manquant"),
    (["query", "x", "--zz"], "option inconnue : --zz"),
    (["query", "x", "y"], "argument(s) en trop : y"),
    (["query", "x", "--format"], "l'option --format attend une valeur"),
    (["querry"], "commande inconnue : « querry » ; vouliez-vous dire 'query'"),
    (["generate-rncp", "--fiches", "abc", "-o", "x.xml"], "valeur incorrecte pour '--fiches' : "),
    (["generate-rncp", "-o", "x.xml"], "option « --fiches » manquante"),
])
def test_usage_errors_are_french(args, words):
    done = cli(*args, columns=200)  # wide: a sentence stays on one line of the error panel
    assert done.returncode == 2, done.stderr[-500:]
    said = " ".join(done.stderr.split())
    assert words in said and "─ Erreur ─" in said, said
    assert not [w for w in TYPER_ENGLISH if w in said], said
    assert not (ROOT / "x.xml").exists()


# -- numbers ------------------------------------------------------------------------------------------------------

def cli(*args, columns: int = 80):
    return subprocess.run([sys.executable, "-m", "cqp_graph", *args], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "COLUMNS": str(columns)}, timeout=600)


POINT_PERCENT = re.compile(r"\d+\.\d+\s?%")
PERCENT = re.compile(r"(\d+(?:,\d+)?)\s?%")


def test_coverage_and_decide_write_percentages_the_french_way():
    programme = ROOT / "examples" / "programme-lacunaire.yaml"
    report = json.loads(cli("coverage", str(programme), "--format", "json").stdout)
    html = cli("coverage", str(programme)).stdout
    # the summary's percentage, as the JSON states it, is written « 56,1 % » in the page
    summary = report["summary"]["percent"]
    assert pct(Decimal(str(summary))) in html
    assert not POINT_PERCENT.search(html), POINT_PERCENT.findall(html)[:5]
    assert any("," in p for p in PERCENT.findall(html))
    for block in report["by_block"]:
        assert pct(Decimal(str(block["percent"]))) in html

    decision = cli("decide", str(ROOT / "examples" / "candidat-formation.yaml"))
    assert decision.returncode == 0, decision.stderr[-1000:]
    assert PERCENT.search(decision.stdout) and not POINT_PERCENT.search(decision.stdout)
    # the thresholds of rules.csv appear as the French write them (70 → « 70 % », 62.5 → « 62,5 % »)
    thresholds = {pct(Decimal(r["min_percent"])) for r in csv_rows("rules.csv") if r["route"] == "formation"}
    assert thresholds & set(re.findall(r"\d+(?:,\d+)?\u202f%", decision.stdout))


# -- tables at 80 columns -------------------------------------------------------------------------------------------

def code_pattern(code: str) -> re.Pattern:
    return re.compile(rf"(?<![A-Za-z0-9]){re.escape(code)}(?![0-9])")


def test_query_table_at_80_columns_keeps_codes_whole():
    done = cli("query", "competences-for-mission", "--param", "mission=M3")
    assert done.returncode == 0, done.stderr[-1000:]
    lines = done.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines), max(lines, key=len)
    expected = {r["competence"] for r in csv_rows("requirements.csv") if r["mission"] == "M3"}
    assert expected
    for code in expected:
        assert any(code_pattern(code).search(line) for line in lines), code
    # French column titles declared by the query's header; machine keys stay in csv/json
    assert "libellé" in done.stdout and "nature" in done.stdout
    as_csv = cli("query", "competences-for-mission", "--param", "mission=M3", "--format", "csv")
    assert as_csv.stdout.splitlines()[0].split(",")[:4] == ["mission", "code", "label", "kind"]


def test_rich_table_of_a_query_at_80_columns(knowledge, catalogue):
    """The labels of the missions wrap between words, never inside one, and every code stays on one line."""
    query = catalogue.get("missions")
    table = knowledge.table("missions")
    out = io.StringIO()
    Console(file=out, width=80, color_system=None).print(to_rich(table, query.title, query.headers))
    text = out.getvalue()
    assert all(len(line) <= 80 for line in text.splitlines())
    words = {w for r in csv_rows("missions.csv") for w in r["label"].split()}
    cells = set(re.findall(r"[^\s│┃]+", text))
    for word in words:
        assert word in cells, word  # a word cut in two would be missing
    for r in csv_rows("missions.csv"):
        assert code_pattern(r["code"]).search(text)


# -- unknown codes --------------------------------------------------------------------------------------------------

def known_missions() -> list[str]:
    return sorted((r["code"] for r in csv_rows("missions.csv")), key=natural_key)


def known_routes() -> list[str]:
    return [r["code"] for r in sorted(csv_rows("routes.csv"), key=lambda r: int(r["order"]))]


def one_line(text: str) -> str:
    return " ".join(text.split())


def test_unknown_mission_on_the_cli_is_exit_2_listing_the_missions():
    missions = known_missions()
    unknown = next(f"M{n}" for n in range(9, 99) if f"M{n}" not in missions)
    done = cli("query", "competences-for-mission", "--param", f"mission={unknown}", columns=200)
    assert done.returncode == 2 and done.stdout == ""
    assert f"{unknown} : mission inconnue ; missions : {', '.join(missions)}" in one_line(done.stderr)


def test_route_in_capitals_suggests_the_route():
    routes = known_routes()
    assert "vae" in routes
    done = cli("query", "route-steps", "--param", "route=VAE", columns=200)
    assert done.returncode == 2
    assert f"VAE : voie inconnue (vouliez-vous dire vae ?) ; voies : {', '.join(routes)}" in one_line(done.stderr)


def test_close_codes_are_suggested(knowledge, catalogue):
    competences = [r["code"] for r in csv_rows("competences.csv")] + [r["code"] for r in csv_rows("aptitudes.csv")]
    query = catalogue.get("competences-for-mission")
    with pytest.raises(catalogue_module.UnknownValue) as lower:
        catalogue_module.check_values(knowledge, query, {"mission": "m3"})
    assert lower.value.suggestions[0] == "M3" and "vouliez-vous dire M3 ?" in str(lower.value)
    target = next(c for c in competences if re.fullmatch(r"[A-Z]+\d", c))  # e.g. RC2: RC22 is one keystroke away
    with pytest.raises(catalogue_module.UnknownValue) as typo:
        catalogue_module.check_values(knowledge, catalogue.get("missions-for-competence"),
                                      {"competence": target + "2"})
    message = str(typo.value)
    assert f"vouliez-vous dire {target}" in message or target in typo.value.suggestions
    assert f"({len(set(competences))} compétences en tout)" in message
    assert len(typo.value.suggestions) <= catalogue_module.CLOSEST
    # a known code passes, in any referential or in the one named
    catalogue_module.check_values(knowledge, query, {"mission": "M3", "referential": "agc-alimentaire"})


def test_the_api_says_the_same(app_client):
    missions = known_missions()
    expected = f"M9 : mission inconnue ; missions : {', '.join(missions)}"
    named = app_client.get("/api/queries/competences-for-mission", params={"mission": "M9"})
    assert named.status_code == 404 and named.json()["detail"] == expected
    lower = app_client.get("/api/queries/competences-for-mission", params={"mission": "m3"})
    assert lower.status_code == 404 and "vouliez-vous dire M3 ?" in lower.json()["detail"]
    resource = app_client.get("/api/missions/M9/competences")
    assert resource.status_code == 404
    assert resource.json()["detail"].startswith("M9 : mission inconnue") and \
        resource.json()["detail"].endswith(f"missions : {', '.join(missions)}")
    route = app_client.get("/api/queries/route-steps", params={"route": "VAE"})
    assert route.status_code == 404 and "vouliez-vous dire vae ?" in route.json()["detail"]
    assert app_client.get("/api/queries/competences-for-mission", params={"mission": "M3"}).status_code == 200


def test_every_code_parameter_declares_its_values(catalogue):
    """A parameter that takes a code of the referential says where its values come from (no empty answers)."""
    for query in catalogue:
        for param in query.params:
            if param.name in ("mission", "competence", "block", "route", "domain"):
                assert param.values is not None, (query.name, param.name)
                assert param.values.query in catalogue.queries
