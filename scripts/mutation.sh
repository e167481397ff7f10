#!/usr/bin/env bash
# Mutation testing, on demand: mutmut (config in pyproject.toml, [tool.mutmut]) on the modules that decide,
# cover, read the data, import and negotiate, one module at a time, each in a snapshot of the tree (so that
# edits made meanwhile do not mix into a run and nothing under the project is written).
#
#   bash scripts/mutation.sh                      # every module below
#   bash scripts/mutation.sh negotiation decisions  # some of them
#   MUTATION_JOBS=2 MUTATION_WORK=/tmp/m bash scripts/mutation.sh coverage
#
# Prints, per module, killed / survived / no tests / timeouts and the score (killed + timeout over tested),
# and lists the surviving mutants (`mutmut show NAME` in the module's snapshot shows the diff).
# Needs mutmut (pip install -e ".[mutation]").
#
# Known limit (mutmut 3.8): mutmut maps each mutated function to the tests that called it during its stats
# run; work done once in a session fixture is attributed to the first test only, so a mutant then runs that
# one test. The tests named first above build what they check inside each test (attributed right); to use the
# whole selection for every function, edit <snapshot>/mutants/mutmut-stats.json after a run that collected
# stats and run `python -m mutmut run` again in the snapshot (mutmut redoes the stats when a test file changes).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK="${MUTATION_WORK:-${TMPDIR:-/tmp}/cqp-graph-mutation}"
JOBS="${MUTATION_JOBS:-1}"
PYTHON="${PYTHON:-python3}"

# module -> the fast test selection that exercises it (mutmut further narrows it to the tests that cover
# each mutated function)
declare -A TESTS=(
  [negotiation]="tests/test_conneg.py::test_the_negotiator_honours_weights_specificity_and_refusals tests/test_conneg.py::test_choose tests/test_conneg.py::test_parse_accept"
  [decisions]="tests/test_decisions.py --deselect=tests/test_decisions.py::test_cli_decide_on_the_examples tests/test_properties.py::test_decisions_are_monotonic_in_the_scores tests/test_properties.py::test_everything_at_100_is_awarded_and_everything_at_0_is_not tests/test_independent_expectations.py::test_tutor_know_how_threshold_decides_as_the_seed_says tests/test_independent_expectations.py::test_block_threshold_decides_as_the_seed_says"
  [coverage]="tests/test_mutants_coverage.py tests/test_coverage.py tests/test_coverage_details.py tests/test_independent_expectations.py tests/test_properties.py::test_coverage_hours_are_conserved_and_split_equally"
  [tables]="tests/test_mutants_tables.py tests/test_seed_reading.py tests/test_independent_expectations.py tests/test_docs.py"
  [referential]="tests/test_mutants_referential.py tests/test_seed_reading.py tests/test_independent_expectations.py tests/test_queries.py"
  [rncp_import]="tests/test_mutants_rncp_import.py tests/test_rncp.py tests/test_properties.py"
)
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
  snapshot="$WORK/$module"
  rm -rf -- "$snapshot"          # only ever the snapshot this script made
  mkdir -p "$snapshot"
  (cd "$ROOT" && tar --exclude=./.venv --exclude=./.git --exclude=./dist --exclude=./mutants \
      --exclude=./test-artifacts --exclude='*/__pycache__' -cf - .) | (cd "$snapshot" && tar -xf -)
  # the module's own settings, written into the snapshot's [tool.mutmut]
  "$PYTHON" - "$snapshot/pyproject.toml" "$file" ${TESTS[$module]} <<'EOF'
import json, sys
path, file, *selection = sys.argv[1:]
text = open(path, encoding="utf-8").read()
head = "[tool.mutmut]\n"
assert head in text, "pyproject.toml has no [tool.mutmut] section"
extra = (f"only_mutate = {json.dumps([file])}\n"
         f"pytest_add_cli_args_test_selection = {json.dumps(selection)}\n")
open(path, "w", encoding="utf-8").write(text.replace(head, head + extra, 1))
EOF
  echo "== $module ($file): tests ${TESTS[$module]}"
  start=$(date +%s)
  (cd "$snapshot" && "$PYTHON" -m mutmut run --max-children "$JOBS" >"$snapshot/mutmut-run.log" 2>&1) || {
    echo "mutmut run failed for $module; see $snapshot/mutmut-run.log" >&2; tail -20 "$snapshot/mutmut-run.log" >&2
    status=1; continue; }
  (cd "$snapshot" && "$PYTHON" -m mutmut export-cicd-stats >/dev/null)
  "$PYTHON" - "$snapshot/mutants/mutmut-cicd-stats.json" "$module" "$(( $(date +%s) - start ))" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
tested = s["total"] - s["skipped"]
score = 100 * (s["killed"] + s["timeout"]) / tested if tested else 0.0
print(f"{sys.argv[2]}: {s['killed']} killed, {s['survived']} survived, {s['no_tests']} without tests, "
      f"{s['timeout']} timeouts, {s['suspicious']} suspicious, of {s['total']}: score {score:.1f} % "
      f"({sys.argv[3]} s)")
EOF
  echo "surviving / untested mutants:"
  (cd "$snapshot" && "$PYTHON" -m mutmut results 2>/dev/null | grep -E "survived|no tests" || true)
done
exit $status
