#!/usr/bin/env bash
# Runs the MLX-heavy test files N times in a row and counts crashes (issue 20). Not part of CI: the proof that
# a rare crash is gone is many runs, not one.
#
#   bash scripts/stress-tests.sh [N=20] [test paths...]   (default: test/engine test/fixtures test/models test/ffi)
#
# Every run's output goes to .stress/run-<i>.log. A run that crashes ("Bun has crashed", or an exit by signal) or
# fails is counted and kept; the script exits non-zero if any run did not pass. Nothing is retried.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
N="${1:-20}"
shift || true
PATHS=("$@")
[ ${#PATHS[@]} -eq 0 ] && PATHS=(test/engine test/fixtures test/models test/ffi)
BUN=node_modules/.bin/bun
mkdir -p .stress
crashes=0 failures=0
for i in $(seq 1 "$N"); do
  log=".stress/run-$i.log"
  start=$(date +%s)
  "$BUN" test --timeout 120000 "${PATHS[@]}" >"$log" 2>&1
  rc=$?
  secs=$(( $(date +%s) - start ))
  summary=$(grep -E '^ *[0-9]+ (pass|fail)$' "$log" | tr -s ' \n' ' ')
  if grep -q "Bun has crashed\|Segmentation fault\|panic" "$log" || [ "$rc" -gt 128 ]; then
    crashes=$((crashes + 1)); verdict="CRASH (exit $rc)"
  elif [ "$rc" -ne 0 ]; then
    failures=$((failures + 1)); verdict="FAIL (exit $rc)"
  else
    verdict="ok"
  fi
  printf 'run %2d/%d: %-16s %4ds %s\n' "$i" "$N" "$verdict" "$secs" "$summary"
done
printf 'stress: %d runs, %d crashed, %d failed\n' "$N" "$crashes" "$failures"
[ "$crashes" -eq 0 ] && [ "$failures" -eq 0 ]
