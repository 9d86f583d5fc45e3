#!/bin/bash
# The concurrency tests, N times in a row on one checkout (issue 12: "pass 20 times in a row"); stops at the
# first failure. Both databases (CI=true: PostgreSQL at XAI_GOV_TEST_POSTGRES_URL must answer).
# Usage, from the repository root: bash tests/concurrency_loop.sh [N]   (about a minute a run on 2 cores)
set -uo pipefail
runs=${1:-20}
echo "commit $(git rev-parse --short HEAD)"
for i in $(seq 1 "$runs"); do
  start=$(date +%s)
  a=$(CI=true .venv/bin/python -m pytest -q -p no:randomly tests/store/test_races.py tests/audit/test_concurrency.py \
    "tests/explain/test_decision_ids.py::test_concurrent_first_explanations_of_one_decision_id_store_exactly_one" \
    "tests/store/test_registry_service.py::test_concurrent_registrations_get_distinct_numbers" 2>&1 | tail -1) || {
    echo "run $i failed: $a"; exit 1; }
  b=$(CI=true .venv/bin/python -m pytest -q -p no:randomly tests/batch/test_grouped_writes.py -k racing 2>&1 | tail -1) || {
    echo "run $i failed: $b"; exit 1; }
  echo "run $i: $a | $b | $(( $(date +%s) - start )) s, load $(cut -d' ' -f1 /proc/loadavg)"
done
echo "$runs in a row passed"
