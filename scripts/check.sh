#!/usr/bin/env bash
# Installs what is needed, builds the package and runs the whole test suite through
# R CMD build + R CMD check --as-cran --no-manual.  Exits non-zero on any ERROR,
# WARNING or test failure.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/setup.sh" || exit 1

work=$(mktemp -d)
cd "$work" || exit 1
echo "check: building in $work"
R CMD build "$root" || { echo "check: R CMD build failed"; exit 1; }
tarball=$(ls ntkgen_*.tar.gz | head -n 1)
_R_CHECK_CRAN_INCOMING_=false _R_CHECK_CRAN_INCOMING_REMOTE_=false \
  _R_CHECK_FORCE_SUGGESTS_=false _R_CHECK_SYSTEM_CLOCK_=false NOT_CRAN=true \
  R CMD check --as-cran --no-manual "$tarball"
rc=$?

log=ntkgen.Rcheck/00check.log
tests=ntkgen.Rcheck/tests
status=1
if [ -f "$log" ]; then
  line=$(grep -E '^Status:' "$log" | tail -n 1)
  echo "check: R CMD check $line"
  if [ $rc -eq 0 ] && ! echo "$line" | grep -qE 'ERROR|WARNING'; then status=0; fi
  # show the test summary (and the failure output when tests failed)
  for f in "$tests"/*.Rout.fail; do [ -f "$f" ] && tail -n 60 "$f"; done
  res=$(grep -hE '\[ FAIL [0-9]+ \| WARN [0-9]+ \| SKIP [0-9]+ \| PASS [0-9]+ \]' "$tests"/*.Rout* 2>/dev/null | tail -n 1)
  if [ -n "$res" ]; then
    pass=$(echo "$res" | sed -E 's/.*PASS ([0-9]+).*/\1/')
    fail=$(echo "$res" | sed -E 's/.*FAIL ([0-9]+).*/\1/')
    skip=$(echo "$res" | sed -E 's/.*SKIP ([0-9]+).*/\1/')
    echo "tests: $pass passed, $fail failed, $skip skipped"
    [ "$fail" = "0" ] || status=1
  else
    echo "check: no testthat summary found"
    status=1
  fi
else
  echo "check: R CMD check produced no log"
fi
[ $status -eq 0 ] || { echo "check: FAILED (see $work/ntkgen.Rcheck)"; }
exit $status
