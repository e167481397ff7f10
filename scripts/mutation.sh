#!/usr/bin/env bash
# Mutation testing, on demand: mutmut (config in pyproject.toml, [tool.mutmut]) on the modules that decide,
# cover, read the data, import and negotiate, one module at a time, each in a snapshot of the tree (so that
# edits made meanwhile do not mix into a run and nothing under the project is written).
#
#   bash scripts/mutation.sh                      # every module below
#   bash scripts/mutation.sh negotiation decisions  # some of them
#   MUTATION_JOBS=2 MUTATION_WORK=/tmp/m bash scripts/mutation.sh coverage
#   MUTATION_TESTS="tests/test_mutants_tables.py" bash scripts/mutation.sh tables   # another test selection
#   MUTATION_TIMEOUT_CONSTANT=120 ...               # seconds added to each mutant's time limit (default 30)
#   MUTATION_MUTANTS="cqp_graph.source.tables.x_read_table__mutmut_13 ..." bash scripts/mutation.sh tables
#                                                 # only these mutants (one module), e.g. last run's survivors;
#                                                 # a name may be a pattern: "cqp_graph.analyses.coverage.x_coverage_of_file__mutmut_*"
#
# Prints, per module, killed / survived / no tests / timeouts and the score (killed + timeout over tested),
# and lists the surviving mutants (`mutmut show NAME` in the module's snapshot shows the diff).
# Needs mutmut (pip install -e ".[mutation]"). Run it under `nice -n 10` on a shared machine.
#
# Three things this script does that mutmut's configuration alone does not:
# - pytest-xdist is turned off inside the runs (`-p no:xdist` added to the snapshot's pytest_add_cli_args, if
#   pyproject.toml does not already have it): pyproject's addopts ask for xdist workers, which would run the
#   tests outside the process mutmut forked for a mutant (tests/conftest.py accepts and ignores the xdist
#   options when the plugin is off).
# - every mutated function is mapped to every test of the module's selection. mutmut maps a function to the
#   tests that called it during its stats run, but work done once in a session fixture (the built graph) is
#   attributed to the first test that asked for it only, so a mutant would run that one test. Tests slower
#   than MUTATION_SLOW_TEST seconds (default 2: the CLI subprocess tests) are added only where mutmut
#   attributed them itself. pytest runs with -x, so a mutant that the first test kills costs that test only.
# - a mutant's time limit is mutmut's (tests' measured time + timeout_constant) x 15, wall-clock; the tests'
#   time does not count their fixtures' set-up (the built graph, several seconds), so on a loaded machine
#   mutmut's default constant (1 s) turns slow runs into "timeouts": MUTATION_TIMEOUT_CONSTANT (default 30).
# - for the modules the pipeline never calls (OFF_THE_BUILD below), the graph the stats run built is kept across
#   the forks (CQP_GRAPH_TESTS_KEEP_BUILT=1, read by tests/conftest.py) instead of being built again per mutant.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK="${MUTATION_WORK:-${TMPDIR:-/tmp}/cqp-graph-mutation}"
JOBS="${MUTATION_JOBS:-1}"
PYTHON="${PYTHON:-python3}"
case "$PYTHON" in */*) PYTHON="$(cd "$(dirname "$PYTHON")" && pwd)/$(basename "$PYTHON")" ;; esac  # runs from the snapshot

# module -> the fast test selection that exercises it (mutmut further narrows it to the tests that cover
# each mutated function)
declare -A TESTS=(
  [negotiation]="tests/test_conneg.py::test_the_negotiator_honours_weights_specificity_and_refusals tests/test_conneg.py::test_choose tests/test_conneg.py::test_parse_accept"
  [decisions]="tests/test_mutants_decisions.py tests/test_decisions.py tests/test_analyses_referentials.py --deselect=tests/test_decisions.py::test_cli_decide_on_the_examples tests/test_properties.py::test_decisions_are_monotonic_in_the_scores tests/test_properties.py::test_everything_at_100_is_awarded_and_everything_at_0_is_not tests/test_independent_expectations.py::test_tutor_know_how_threshold_decides_as_the_seed_says tests/test_independent_expectations.py::test_block_threshold_decides_as_the_seed_says"
  [coverage]="tests/test_mutants_coverage.py tests/test_coverage.py tests/test_coverage_details.py tests/test_independent_expectations.py tests/test_properties.py::test_coverage_hours_are_conserved_and_split_equally"
  [tables]="tests/test_mutants_tables.py tests/test_seed_reading.py tests/test_independent_expectations.py tests/test_docs.py::test_data_format_doc_is_generated_from_the_tables"
  [referential]="tests/test_mutants_referential.py tests/test_seed_reading.py tests/test_independent_expectations.py tests/test_queries.py"
  [rncp_import]="tests/test_rncp_checks.py tests/test_mutants_rncp_import.py tests/test_rncp.py tests/test_properties.py::test_rncp_import_keeps_every_fiche_block_and_item --deselect=tests/test_rncp.py::test_streaming_memory_stays_bounded --deselect=tests/test_rncp.py::test_cli_import_with_progress_and_report --deselect=tests/test_rncp.py::test_export_has_the_exports_element_names_and_order --deselect=tests/test_rncp.py::test_export_import_round_trip --deselect=tests/test_rncp.py::test_imported_fiches_join_the_served_graph"
)
# modules the pipeline (data/ -> the built graph) never calls: their mutants are tested against the graph the
# stats run built, kept in memory across mutmut's forks (tests/conftest.py, CQP_GRAPH_TESTS_KEEP_BUILT)
declare -A OFF_THE_BUILD=([negotiation]=1 [decisions]=1 [coverage]=1)
declare -A FILES=([negotiation]=cqp_graph/web/negotiation.py [decisions]=cqp_graph/analyses/decisions.py
                  [coverage]=cqp_graph/analyses/coverage.py [tables]=cqp_graph/source/tables.py
                  [referential]=cqp_graph/source/referential.py [rncp_import]=cqp_graph/exchange/rncp_import.py)

if ! "$PYTHON" -c "import mutmut" 2>/dev/null; then
  echo "mutmut is not installed: pip install -e \".[mutation]\"" >&2
  exit 2
fi

# mutmut runs the tests from <snapshot>/mutants, where ../shared is not beside the tree: name it, and let a
# missing seed / RNCP extract fail the clean run (CI=true turns the tests' skips into failures) instead of
# every test that needs it skipping and every mutant it should catch "surviving"
export CQP_GRAPH_SHARED="${CQP_GRAPH_SHARED:-$(cd "$ROOT/.." && pwd)/shared}"
export CI=true

modules=("$@")
if [ ${#modules[@]} -eq 0 ]; then
  modules=(negotiation decisions coverage tables referential rncp_import)
fi

status=0
for module in "${modules[@]}"; do
  file="${FILES[$module]:-}"
  if [ -z "$file" ]; then
    echo "unknown module '$module' (known: ${!FILES[*]})" >&2
    exit 2
  fi
  selection="${MUTATION_TESTS:-${TESTS[$module]}}"
  snapshot="$WORK/$module"
  rm -rf -- "$snapshot"          # only ever the snapshot this script made
  mkdir -p "$snapshot"
  (cd "$ROOT" && tar --exclude=./.venv --exclude=./.git --exclude=./dist --exclude=./mutants \
      --exclude=./test-artifacts --exclude='*/__pycache__' -cf - .) | (cd "$snapshot" && tar -xf -)
  # the module's own settings, written into the snapshot's [tool.mutmut]
  "$PYTHON" - "$snapshot/pyproject.toml" "$file" $selection <<'EOF'
import json, os, re, sys
path, file, *selection = sys.argv[1:]
text = open(path, encoding="utf-8").read()
head = "[tool.mutmut]\n"
assert head in text, "pyproject.toml has no [tool.mutmut] section"
extra = (f"only_mutate = {json.dumps([file])}\n"
         f"pytest_add_cli_args_test_selection = {json.dumps(selection)}\n"
         f"timeout_constant = {float(os.environ.get('MUTATION_TIMEOUT_CONSTANT', '30'))}\n")
text = text.replace(head, head + extra, 1)
# pytest-xdist off inside mutmut's runs (pyproject's addopts turn it on)
section = text[text.index(head):]
section = section[:section.find("\n[", 1) + 1 or len(section)]
args = re.search(r"^pytest_add_cli_args = (\[.*\])$", section, re.M)
if args is None:
    text = text.replace(head, head + 'pytest_add_cli_args = ["-p", "no:xdist"]\n', 1)
elif "no:xdist" not in json.loads(args.group(1)):
    line = f"pytest_add_cli_args = {json.dumps(json.loads(args.group(1)) + ['-p', 'no:xdist'])}"
    text = text.replace(args.group(0), line, 1)
open(path, "w", encoding="utf-8").write(text)
EOF
  echo "== $module ($file): tests $selection"
  start=$(date +%s)
  # mutmut's own `run`, with every mutated function mapped to the whole selection once the stats are collected
  cat >"$snapshot/.mutation-run.py" <<'EOF'
import os, sys
import mutmut.__main__ as mm
from mutmut.state import state
from mutmut.stats import save_stats
from mutmut.utils.format_utils import mangled_name_from_mutant_name

slow = float(os.environ.get("MUTATION_SLOW_TEST", "2"))
collect = mm.collect_or_load_stats

def collect_and_map_the_whole_selection(runner, **options):
    collect(runner, **options)
    selection = {test for test, seconds in state().duration_by_test.items() if seconds < slow}
    mutants, _ = mm.collect_source_file_mutation_data(mutant_names=())
    for function in {mangled_name_from_mutant_name(name) for _, name, _ in mutants}:
        state().tests_by_mangled_function_name[function] |= selection
    save_stats()
    print(f"    every mutated function mapped to the {len(selection)} tests of the selection under {slow} s")

mm.collect_or_load_stats = collect_and_map_the_whole_selection
mm.cli(["run", "--max-children", sys.argv[1], *sys.argv[2:]])
EOF
  # shellcheck disable=SC2086  # MUTATION_MUTANTS: names separated by spaces
  keep_built="${OFF_THE_BUILD[$module]:-0}"
  (cd "$snapshot" && CQP_GRAPH_TESTS_KEEP_BUILT="$keep_built" "$PYTHON" .mutation-run.py "$JOBS" ${MUTATION_MUTANTS:-} >"$snapshot/mutmut-run.log" 2>&1) || {
    echo "mutmut run failed for $module; see $snapshot/mutmut-run.log" >&2; tail -20 "$snapshot/mutmut-run.log" >&2
    status=1; continue; }
  # the figures: of every mutant of the module, or of the ones named in MUTATION_MUTANTS
  (cd "$snapshot" && "$PYTHON" -m mutmut results --all true >"$snapshot/mutmut-results.txt" 2>/dev/null)
  "$PYTHON" - "$snapshot/mutmut-results.txt" "$module" "$(( $(date +%s) - start ))" ${MUTATION_MUTANTS:-} <<'EOF'
import collections, fnmatch, sys
path, module, seconds, *named = sys.argv[1:]
status = dict(line.strip().rsplit(": ", 1) for line in open(path, encoding="utf-8") if ": " in line)
if named:  # names or mutmut's patterns (…__mutmut_*)
    status = {name: what for name, what in status.items() if any(fnmatch.fnmatchcase(name, n) for n in named)}
n = collections.Counter(status.values())
tested = len(status) - n["skipped"]
score = 100 * (n["killed"] + n["timeout"]) / tested if tested else 0.0
others = ", ".join(f"{count} {what}" for what, count in sorted(n.items())
                   if what not in ("killed", "survived", "no tests", "timeout"))
print(f"{module}: {n['killed']} killed, {n['survived']} survived, {n['no tests']} without tests, "
      f"{n['timeout']} timeouts{', ' + others if others else ''}, of {len(status)}"
      f"{' named' if named else ''}: score {score:.1f} % ({seconds} s)")
print("surviving / untested mutants:")
for name, what in status.items():
    if what != "killed" and what != "timeout":
        print(f"    {name}: {what}")
EOF
done
exit $status
