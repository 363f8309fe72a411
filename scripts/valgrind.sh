#!/usr/bin/env bash
# Valgrind check: installs valgrind (Debian package, only when missing), builds ntkgen
# (CPU build, CUDA forced off, with debug symbols) into a private library and runs
# scripts/valgrind-examples.R -- small calls of every compiled path -- under memcheck.
# Exits non-zero on any memcheck error (invalid read/write/free, use of uninitialised
# values, ...), on a "definitely lost" leak whose allocation stack passes through the
# package's code, or when the examples fail; prints the time.
#
#   bash scripts/valgrind.sh
# Environment: NTKGEN_VALGRIND_KEEP=1 keeps the work directory (logs, library).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
start=$(date +%s)
bash "$root/scripts/setup.sh" || exit 1
if ! command -v valgrind >/dev/null 2>&1; then
  echo "valgrind: installing valgrind"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends valgrind >/dev/null || exit 1
fi
valgrind --version

work=$(mktemp -d)
lib="$work/lib"
src="$work/src"
mkdir -p "$lib" "$src"
[ "${NTKGEN_VALGRIND_KEEP:-0}" = 1 ] || trap 'rm -rf "$work"' EXIT
git -C "$root" ls-files -z | (cd "$root" && xargs -0 tar cf - ) | (cd "$src" && tar xf -)

# R's own optimisation level with debug symbols (line numbers in the reports), from a
# private Makevars so that a personal ~/.R/Makevars (e.g. -march=native, whose AVX-512
# valgrind cannot run) does not leak in.
cat > "$work/Makevars" <<EOF
CFLAGS = -g -O2 -fno-omit-frame-pointer
EOF
echo "valgrind: installing a debug build into $lib"
NTKGEN_CUDA=no R_MAKEVARS_USER="$work/Makevars" \
  R CMD INSTALL --no-test-load --no-docs --no-html --library="$lib" "$src" \
  > "$work/install.log" 2>&1
rc=$?
grep -E '^configure:' "$work/install.log"
if [ $rc -ne 0 ]; then tail -n 40 "$work/install.log"; echo "valgrind: install FAILED"; exit 1; fi
if grep -q 'nvcc' "$work/install.log"; then echo "valgrind: CUDA was built"; exit 1; fi

# Memcheck settings:
#   --error-exitcode=1     any memory error (invalid read/write/free, conditional jump or
#                          system call on uninitialised bytes, ...) fails the run.
#   --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=none
#                          leak records are listed in full but do not count as errors by
#                          themselves: R keeps its heap until exit ("still reachable",
#                          tens of MB), and R, BLAS and libgomp builds can report
#                          "possibly lost" (interior pointers) or "definitely lost"
#                          blocks of their own that no change here could fix (Debian's
#                          R 4.2.2 + OpenBLAS 0.3.21 here: none of either).  A
#                          definitely lost block fails the check only when its allocation
#                          stack passes through the package's own code (its source
#                          files, or ntkgen.so without line info); "possibly lost" never
#                          does (R's own interior pointers make it noise).
#   --fullpath-after=      full source paths in stacks, so the package's frames are told
#                          from others by the build directory ($src/src/).
#   --track-origins=yes    say where an uninitialised value came from.
#   --num-callers=30       stacks deep enough to reach through R's evaluator.
# One thread each for OpenMP and OpenBLAS: valgrind serialises threads anyway, and the
# examples then take one path through the code.
vg="valgrind --error-exitcode=1 --track-origins=yes --leak-check=full"
vg="$vg --show-leak-kinds=definite --errors-for-leak-kinds=none --num-callers=30"
vg="$vg --fullpath-after="
vg="$vg --log-file=$work/memcheck.%p.log"
echo "valgrind: running scripts/valgrind-examples.R under memcheck"
OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 NTKGEN_VALGRIND_LIB="$lib" \
  timeout 1800 R -d "$vg" --vanilla -s -f "$root/scripts/valgrind-examples.R" 2>&1 |
  tee "$work/examples.log"
rc=${PIPESTATUS[0]}

status=0
grep -q '^valgrind-examples: all done' "$work/examples.log" ||
  { echo "valgrind: the examples did not finish"; status=1; }
# the log of R itself (child processes, e.g. of system(), write their own logs)
nerr=0
for f in "$work"/memcheck.*.log; do
  [ -f "$f" ] || continue
  e=$(sed -n 's/.*ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' "$f" | tail -n 1)
  nerr=$(( nerr + ${e:-0} ))
  if [ "${e:-0}" -gt 0 ]; then
    echo "valgrind: $e error(s) in $(basename "$f"):"
    grep -E '^==[0-9]+== (Invalid|Conditional|Use of uninit|Syscall param|Mismatched)' "$f" |
      sed 's/^==[0-9]*== //' | sort | uniq -c | head -n 20
  fi
  # definitely lost records whose stack has a frame of the package's code
  own=$(awk -v dir="$src/src/" '
    /definitely lost in loss record/ { rec = $0; own = 0; inrec = 1; next }
    inrec && (index($0, "(" dir) || /ntkgen\.so/) { own = 1 }
    inrec && /^==[0-9]+== *$/ { if (own) print rec; inrec = 0 }' "$f")
  if [ -n "$own" ]; then
    echo "valgrind: leaks from ntkgen's code in $(basename "$f"):"
    echo "$own"
    status=1
  fi
  grep -E 'definitely lost:|indirectly lost:|possibly lost:' "$f" | sed "s|^|$(basename "$f"): |"
done
echo "valgrind: $nerr memcheck error(s)"
[ $nerr -eq 0 ] || status=1
[ $rc -eq 0 ] || status=1
echo "valgrind: took $(( $(date +%s) - start )) s"
if [ $status -eq 0 ]; then echo "valgrind: OK"; else
  echo "valgrind: FAILED (NTKGEN_VALGRIND_KEEP=1 keeps the logs)"; fi
exit $status
