"""The `cqp-graph` application: the typer app, the options every command shares, and the shared paths.

Lives here: the app and its consoles, the shared options (`--base`, `--data`, `--graph`, `--referential`,
`--output`: a file instead of standard output, or the folder a command writes into),
settings read once per command, the French error path (`fail`: one line on stderr, then exit), getting the
graph through the one pipeline (`built_graph`), choosing a referential, default output paths derived from
the settings, and the output helpers several commands share (findings table, `emit`, written files). Not here:
the commands themselves (`cli.graph_commands`, `cli.query_commands`, `cli.report_commands`,
`cli.exchange_commands`, `cli.publish_commands`, `cli.serve_command`), and no work on the graph.

Stage modules are bound with `lazy()`: a module-level name whose module is imported on first use, so that
`cqp-graph --help` does not pay for rdflib, pyshacl, networkx, matplotlib or uvicorn.
"""

from __future__ import annotations

import errno
import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Callable, Optional

import typer
from rich.console import Console
from typer.core import TyperCommand, TyperGroup
from rich.table import Table as RichTable

from cqp_graph.config import Settings, SettingsError
from cqp_graph.publish import atomic
from cqp_graph.source.tables import DataError


def lazy(name: str) -> ModuleType:
    """The module `name`, imported when one of its attributes is first read (importlib's LazyLoader)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    parent, _, child = name.rpartition(".")
    if parent:
        setattr(sys.modules[parent], child, module)
    return module


pipeline = lazy("cqp_graph.graph.pipeline")
knowledge = lazy("cqp_graph.query.knowledge")

# -- typer's own words in French: the help pages' frame and the usage errors ----------------------------------

#: typer's rich_utils strings, read when a help page or a usage error is drawn
RICH_WORDS = {"ARGUMENTS_PANEL_TITLE": "Arguments", "OPTIONS_PANEL_TITLE": "Options",
              "COMMANDS_PANEL_TITLE": "Commandes", "ERRORS_PANEL_TITLE": "Erreur",
              "DEFAULT_STRING": "[par défaut : {}]", "ENVVAR_STRING": "[variable d'environnement : {}]",
              "REQUIRED_LONG_STRING": "[obligatoire]", "DEPRECATED_STRING": "(obsolète) ",
              "ABORTED_TEXT": "Interrompu.", "RICH_HELP": "Aide : [blue]{command_path} {help_option}[/]"}
HELP_OPTION_TEXT = "Affiche cette aide et s'arrête."
USAGE_PREFIX = "Utilisation : "
SUBCOMMAND_METAVAR = "COMMANDE [ARGUMENTS]..."
#: click's and typer's usage errors (and pydantic's words for a value typer could not convert), in French
USAGE_PROBLEMS = [
    (r"Missing argument '(.+)'\.", "argument « {0} » manquant"),
    (r"Missing option '(.+)'\.", "option « {0} » manquante"),
    (r"No such option: (\S+) \(Possible options: (.+)\)", "option inconnue : {0} (options proches : {1})"),
    (r"No such option: (\S+)", "option inconnue : {0}"),
    (r"No such command '(.+)'\. Did you mean (.+)\?", "commande inconnue : « {0} » ; vouliez-vous dire {1} ?"),
    (r"No such command '(.+)'\.", "commande inconnue : « {0} »"),
    (r"Got unexpected extra argument(?:s|\(s\))? \((.+)\)", "argument(s) en trop : {0}"),
    (r"Option '(.+)' requires an argument\.", "l'option {0} attend une valeur"),
    (r"Option '(.+)' does not take a value\.", "l'option {0} ne prend pas de valeur"),
    (r"Invalid value for (.+?): (.+)", "valeur incorrecte pour {0} : {1}"),
]
VALUE_PROBLEMS = [
    (r"Input should be a valid integer\b.*", "un nombre entier est attendu"),
    (r"Input should be a valid number\b.*", "un nombre est attendu"),
    (r"Input should be greater than or equal to (\S+)", "au moins {0}"),
    (r"Input should be less than or equal to (\S+)", "au plus {0}"),
    (r"'(.*)' is not a valid integer\.?", "« {0} » n'est pas un nombre entier"),
]
#: click's UsageError (vendored by recent typer, click's own before): the base of typer.BadParameter
UsageError = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError")


def _translate(text: str, table) -> str | None:
    for pattern, french in table:
        match = re.fullmatch(pattern, text, re.S)
        if match:
            return french.format(*match.groups())
    return None


def french_usage_error(message: str) -> str:
    """A usage error of click or typer as a French sentence (its own words quoted when none is known)."""
    french = _translate(message, USAGE_PROBLEMS)
    if french is None:
        return f"commande mal formée (message de typer : « {message} »)"
    if message.startswith("Invalid value for "):  # the value's own problem too
        inner = message.split(": ", 1)[1]
        said = _translate(inner, VALUE_PROBLEMS)
        french = french[:-len(inner)] + (said or f"« {inner} »")
    return french


def _french_frame():
    """typer's help and error frame in French (its rich_utils module is imported only when drawing one)."""
    from typer import rich_utils

    for name, text in RICH_WORDS.items():
        setattr(rich_utils, name, text)


class _French:
    """What typer's commands and group say themselves (the help option, the usage line, usage errors), in
    French."""

    def get_help_option(self, ctx):
        option = super().get_help_option(ctx)
        if option is not None:
            option.help = HELP_OPTION_TEXT
        return option

    def format_usage(self, ctx, formatter):
        formatter.write_usage(ctx.command_path, " ".join(self.collect_usage_pieces(ctx)), prefix=USAGE_PREFIX)

    def format_help(self, ctx, formatter):
        _french_frame()
        return super().format_help(ctx, formatter)

    def make_context(self, info_name, args, parent=None, **extra):
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except UsageError as exc:
            raise _in_french(exc) from None

    def resolve_command(self, ctx, args):
        try:
            return super().resolve_command(ctx, args)
        except UsageError as exc:
            raise _in_french(exc) from None


def _in_french(exc):
    _french_frame()
    if type(exc).__name__ == "NoArgsIsHelpError":  # its message is the help page
        return exc
    return UsageError(french_usage_error(exc.format_message()), exc.ctx)


class _Command(_French, TyperCommand):
    pass


class _Group(_French, TyperGroup):
    def __init__(self, *args, **kwargs):
        if kwargs.get("subcommand_metavar") is None:  # the usage line: « cqp-graph [OPTIONS] COMMANDE … »
            kwargs["subcommand_metavar"] = SUBCOMMAND_METAVAR
        super().__init__(*args, **kwargs)


class _App(typer.Typer):
    """The typer application, French to the frame (help pages, usage errors); a remote store failing in the
    middle of a command (down, too slow, an unreadable answer) ends it with the French message and exit 2, not a
    traceback."""

    def __init__(self, **kwargs):
        super().__init__(cls=_Group, **kwargs)

    def command(self, *args, cls=None, **kwargs):
        return super().command(*args, cls=cls or _Command, **kwargs)

    def __call__(self, *args, **kwargs):
        from cqp_graph.query.remote_store import StoreError

        try:
            return super().__call__(*args, **kwargs)
        except StoreError as exc:
            err.print(f"[bold red]erreur :[/] {exc}", highlight=False)
            raise SystemExit(2) from None


app = _App(add_completion=False, no_args_is_help=True,
           help="Les référentiels de CQP en graphe de connaissances RDF validé.")
console = Console()
err = Console(stderr=True)

GraphOption = typer.Option(None, "--graph", help="Lire ce dump RDF (validé à nouveau) au lieu de construire depuis "
                                                   "data/.")
BaseOption = typer.Option(None, "--base", help="IRI de base (par défaut : $CQP_GRAPH_BASE ou "
                                               "https://w3id.org/cqp-graph/).")
DataOption = typer.Option(None, "--data", help="Dossier des référentiels (par défaut : $CQP_GRAPH_DATA ou data/).")
ReferentialOption = typer.Option(
    None, "--referential", metavar="NOM",
    help="Référentiel visé (le nom de son dossier dans data/) ; facultatif quand les données n'en ont qu'un.")
StdoutOption = typer.Option(None, "--output", "-o", help="Écrire ici plutôt que sur la sortie standard.")


def output_folder_option(what: str, name: str):
    """`--output/-o`, the folder a command writes `what` into; by default `default_folder(…, name)`, which the
    help says: « Dossier {what} (par défaut : $CQP_GRAPH_DIST/{name}, et …/{name}/NOM quand … ». One option
    object per command (typer reads its help when the command is declared)."""
    return typer.Option(
        None, "--output", "-o",
        help=f"Dossier {what} (par défaut : $CQP_GRAPH_DIST/{name}, et …/{name}/NOM quand les données ont "
             "plusieurs référentiels).")


def settings_from(base: Optional[str] = None, data: Optional[Path] = None, dist: Optional[Path] = None) -> Settings:
    """The settings of this run: the environment, overridden by the command's options."""
    if base and not base.endswith(("/", "#")):
        base += "/"
    try:
        return Settings.from_env(base=base, data_dir=data, dist_dir=dist)
    except SettingsError as exc:
        fail(str(exc))


def fail(message: str, code: int = 2):
    """Print `erreur : message` on stderr and end the command with `code` (2: bad input, 1: invalid graph)."""
    err.print(f"[bold red]erreur :[/] {message}", highlight=False)
    raise typer.Exit(code)


def os_reason(exc: OSError) -> str:
    """The system's reason for a failed read or write, in French for the usual ones."""
    return {errno.ENOENT: "fichier ou dossier introuvable", errno.EACCES: "droits insuffisants",
            errno.EPERM: "opération non permise", errno.EISDIR: "c'est un dossier",
            errno.ENOTDIR: "un élément du chemin n'est pas un dossier", errno.ENOSPC: "disque plein",
            errno.EROFS: "système de fichiers en lecture seule"}.get(
        exc.errno, f"erreur système : {exc.strerror or exc}")


# -- the graph, through the one pipeline ----------------------------------------------------------------------

def built_graph(settings: Settings, graph_file: Optional[Path] = None, *, quality: bool = False,
                require_valid: bool = True, progress: Callable[[str], None] | None = None):
    """The validated graph and its knowledge layer (`BuiltGraph`): built from data/ by `run_pipeline` (or, with
    CQP_GRAPH_STORE set, opened read-only as `cqp-graph load` published it), or read from `graph_file` by
    `open_dump`. A graph with a violation ends the command (exit 1) unless
    `require_valid=False`; a malformed data file ends it with exit 2. `quality=False` skips the quality shapes,
    which only warn: the commands that do not report findings do not pay for them."""
    try:
        if graph_file is not None:
            return pipeline.open_dump(settings, graph_file, require_valid=require_valid, quality=quality)
        return pipeline.open_configured(settings, progress=progress, require_valid=require_valid, quality=quality)
    except pipeline.InvalidGraph as exc:
        fail(str(exc), 1)
    except DataError as exc:
        fail(str(exc))


def choose_referential(built, name: Optional[str]):
    """The referential `--referential NAME` names; without a name, the only one of the graph. Unknown name,
    or no name while the graph holds several: exit 2 with a French message naming the choices."""
    try:
        return built.knowledge.referential(name)
    except knowledge.UnknownReferential as exc:
        fail(str(exc))


def referential_rows(built, referential, name: str, **params) -> list[dict]:
    """The rows of the named query `name` for one referential: its `referential` parameter is bound to the
    referential's name when the query declares it; a query that does not is run as it is."""
    scope = referential.name if built.knowledge.takes_referential(name) else None
    return built.knowledge.rows(name, referential=scope, **params)


def several_referentials(built) -> bool:
    return len(built.knowledge.referentials()) > 1


def default_folder(settings: Settings, built, referential, name: str) -> Path:
    """`$CQP_GRAPH_DIST/<name>`, and `…/<name>/<referential>` when the graph holds several referentials."""
    folder = settings.dist_dir / name
    return folder / referential.name if several_referentials(built) else folder


def default_file(settings: Settings, built, referential, name: str) -> Path:
    """`$CQP_GRAPH_DIST/<name>`, and `…/<stem>-<referential><suffix>` when the graph holds several."""
    path = settings.dist_dir / name
    return path.with_name(f"{path.stem}-{referential.name}{path.suffix}") if several_referentials(built) else path


# -- output ---------------------------------------------------------------------------------------------------

def short_iri(iri: str, settings: Settings) -> str:
    return iri[len(settings.base):] if iri.startswith(settings.base) else iri


SEVERITY_COLOURS = {"Violation": "red", "Warning": "yellow", "Info": "cyan"}


def print_findings(findings, settings: Settings, limit: int | None = None):
    """The SHACL findings as a terminal table a person reads at 80 columns: severity (in French), where to edit
    (data file and line, else the resource), message."""
    table = RichTable(title="Constats SHACL", show_lines=False, expand=True)
    table.add_column("gravité", no_wrap=True, min_width=13)
    table.add_column("fichier:ligne", no_wrap=True, min_width=16)
    table.add_column("constat", ratio=1, min_width=24)
    for f in findings[:limit]:
        if f.file:  # the file's name and line, its referential's folder below
            folder, _, name = f.file.rpartition("/")
            where = f"{name}:{f.line}" if f.line else name
            where += f"\n[dim]{folder}[/]" if folder else ""
        else:
            where = short_iri(f.focus, settings)
        table.add_row(f"[{SEVERITY_COLOURS.get(f.severity, 'white')}]{f.label}[/]", where, f.message)
    console.print(table)
    if limit is not None and len(findings) > limit:
        console.print(f"… et {len(findings) - limit} autres constats (cqp-graph validate pour tout voir)")


def findings_summary(report, shown: int | None = None) -> str:
    """« 107 constats : 0 violation, 43 avertissements, 64 informations » (and how many are shown)."""
    counts = [(report.count("Violation"), "violation"), (report.count("Warning"), "avertissement"),
              (report.count("Info"), "information")]
    parts = ", ".join(f"{n} {word}{'s' if n > 1 else ''}" for n, word in counts)
    text = f"{len(report.findings)} constat{'s' if len(report.findings) > 1 else ''} : {parts}"
    if shown is not None and shown != len(report.findings):
        text += f" ({shown} affiché{'s' if shown > 1 else ''})"
    return text


def emit(text: str, output: Optional[Path]):
    """Write `text` to `output` (atomically) and say so, or print it on standard output."""
    if output:
        write_text(output, text)
        console.print(f"écrit {output}")
    else:
        sys.stdout.write(text)


def write_output(output: Path, data: bytes, say: bool = True):
    """Write what an exporter returned to `output` (atomically) and, if `say`, print so; a failed write is a
    French error."""
    try:
        atomic.write_bytes(output, data)
    except OSError as exc:
        fail(f"{exc.filename or output} : écriture impossible ({os_reason(exc)})")
    if say:
        console.print(f"écrit {output}")


def write_text(output: Path, text: str):
    """Write `text` to `output` (atomically, UTF-8); a failed write is a French error."""
    try:
        atomic.write_text(output, text)
    except OSError as exc:
        fail(f"{exc.filename or output} : écriture impossible ({os_reason(exc)})")
