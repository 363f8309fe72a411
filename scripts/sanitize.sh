#!/usr/bin/env bash
# Sanitizer check: builds ntkgen (CPU build, CUDA forced off) with AddressSanitizer and
# UndefinedBehaviorSanitizer into a private library, through a private Makevars file
# (R_MAKEVARS_USER; ~/.R is never touched), then runs the whole testthat suite
# (tests/testthat) against that build with gcc's libasan preloaded into R.  Exits
# non-zero on any sanitizer report, install failure or test failure; prints the time.
#
#   bash scripts/sanitize.sh
# Environment: NTKGEN_SANITIZE_KEEP=1 keeps the work directory (log, library).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
start=$(date +%s)
bash "$root/scripts/setup.sh" || exit 1

# gcc's ASan runtime (Debian: libasan8, pulled in by gcc-12 through libgcc-12-dev)
asan=$(gcc -print-file-name=libasan.so 2>/dev/null)
if [ ! -e "$asan" ] || [ "$asan" = libasan.so ]; then
  echo "sanitize: installing gcc's sanitizer runtimes"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends libasan8 libubsan1 \
    libgcc-12-dev >/dev/null || exit 1
  asan=$(gcc -print-file-name=libasan.so)
fi
asan=$(readlink -f "$asan")
[ -e "$asan" ] || { echo "sanitize: no libasan.so found"; exit 1; }

work=$(mktemp -d)
lib="$work/lib"
src="$work/src"
mkdir -p "$lib" "$src"
[ "${NTKGEN_SANITIZE_KEEP:-0}" = 1 ] || trap 'rm -rf "$work"' EXIT
# build from a clean copy of the tracked files, so no object of another build is reused
git -C "$root" ls-files -z | (cd "$root" && xargs -0 tar cf - ) | (cd "$src" && tar xf -)

# The package is C only (src/*.c; ntk_cuda.cu is not built with CUDA off); the C++ and
# Fortran flags are set too so that nothing R compiles for it escapes the sanitizers.
# -O1 keeps the stack traces exact while not being as slow as -O0.
san="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
cat > "$work/Makevars" <<EOF
CFLAGS = -g -O1 $san
CXXFLAGS = -g -O1 $san
CXX11FLAGS = -g -O1 $san
CXX14FLAGS = -g -O1 $san
CXX17FLAGS = -g -O1 $san
FFLAGS = -g -O1 $san
FCFLAGS = -g -O1 $san
LDFLAGS = $san
EOF

echo "sanitize: installing an ASan/UBSan build into $lib"
NTKGEN_CUDA=no R_MAKEVARS_USER="$work/Makevars" \
  R CMD INSTALL --no-test-load --no-docs --no-html --library="$lib" "$src" \
  > "$work/install.log" 2>&1
rc=$?
grep -E '^configure:' "$work/install.log"
if [ $rc -ne 0 ]; then tail -n 40 "$work/install.log"; echo "sanitize: install FAILED"; exit 1; fi
grep -q -- '-fsanitize=address,undefined' "$work/install.log" ||
  { echo "sanitize: the sanitizer flags were not used"; exit 1; }
if grep -q 'nvcc' "$work/install.log"; then echo "sanitize: CUDA was built"; exit 1; fi
echo "sanitize: installed in $(( $(date +%s) - start )) s"

# R itself is not instrumented, so the ASan runtime must be loaded first (LD_PRELOAD),
# before the instrumented ntkgen.so is dlopen()ed (else ASan aborts: "ASan runtime does
# not come first in initial library list").
# ASAN_OPTIONS:
#   detect_leaks=0   R keeps memory on purpose until exit and LeakSanitizer cannot tell
#                    R's heap from the package's; leaks are scripts/valgrind.sh's job.
#   Nothing else is needed (tried: the whole suite runs clean with detect_leaks=0 alone,
#   R 4.2.2, gcc 12): detect_odr_violation=0 matters only when two instrumented
#   libraries define one global (ntkgen.so is the only instrumented one), and
#   alloc_dealloc_mismatch=0 only for C++ code that frees new'd memory with free() or
#   the like (the package and R are C; the C++ code the tests reach -- genio,
#   BEDMatrix, plink1.9 -- passes with the check on).
# UBSAN_OPTIONS: a stack trace for each report; halt at the first one (with
# -fno-sanitize-recover=undefined every UBSan report is fatal anyway).
# A run that an ASan or UBSan report ends exits non-zero; the output is also grepped for
# the reports (e.g. from a forked future worker, whose exit status R does not see).
# Threads as in scripts/check.sh: the environment's (OpenBLAS, OpenMP defaults).
export ASAN_OPTIONS="detect_leaks=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
cd "$root/tests/testthat" || exit 1
LD_PRELOAD="$asan" NOT_CRAN=true NTKGEN_TEST_LIB="$lib" \
  timeout 1800 Rscript --vanilla -e '
  .libPaths(c(Sys.getenv("NTKGEN_TEST_LIB"), .libPaths()))
  library(ntkgen)
  res <- as.data.frame(testthat::test_dir(".", package = "ntkgen", load_package = "installed",
                                          reporter = "summary", stop_on_failure = FALSE))
  nfail <- sum(res$failed) + sum(res$error)
  cat(sprintf("sanitize tests: %d passed, %d failed, %d skipped\n",
              sum(res$passed), nfail, sum(res$skipped)))
  quit(status = if (nfail > 0) 1 else 0)
' 2>&1 | tee "$work/test.log"
rc=${PIPESTATUS[0]}

status=0
if grep -qE 'runtime error:|ERROR: AddressSanitizer|ERROR: LeakSanitizer' "$work/test.log"; then
  echo "sanitize: sanitizer report(s):"
  grep -nE -A3 'runtime error:|ERROR: AddressSanitizer' "$work/test.log" | head -n 40
  status=1
fi
grep -qE '^sanitize tests: ' "$work/test.log" ||
  { echo "sanitize: the test run did not finish"; status=1; }
[ $rc -eq 0 ] || status=1
echo "sanitize: took $(( $(date +%s) - start )) s"
[ $status -eq 0 ] && echo "sanitize: OK" || echo "sanitize: FAILED"
exit $status
