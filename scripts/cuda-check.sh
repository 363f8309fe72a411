#!/usr/bin/env bash
# CUDA compile check: installs Debian's CUDA toolkit when nvcc is absent, builds and
# installs ntkgen with CUDA forced on into a private library, confirms the CUDA path is
# compiled in, and runs the whole test suite against that build (without a GPU the
# package must fall back to the CPU and pass).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

if ! command -v nvcc >/dev/null 2>&1; then
  echo "cuda-check: installing nvidia-cuda-toolkit (Debian non-free) and g++-11"
  # the machine's own apt source gains the contrib and non-free components (its
  # Components: line is edited in place; no source or mirror of our own is added)
  sh "$root/scripts/apt-enable-nonfree.sh" || exit 1
  # the extra source file that earlier versions of this script wrote is not needed now
  rm -f /etc/apt/sources.list.d/ntkgen-nonfree.sources
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || exit 1
  apt-get install -y -qq --no-install-recommends nvidia-cuda-toolkit g++-11 >/dev/null || exit 1
fi
nvcc --version | tail -n 2

lib=$(mktemp -d)
work=$(mktemp -d)
# build from a clean copy so nothing of the CPU build is reused
git -C "$root" ls-files -z | (cd "$root" && xargs -0 tar cf - ) | (cd "$work" && tar xf -)
NTKGEN_CUDA=yes R CMD INSTALL --no-test-load --library="$lib" "$work" > "$work/install.log" 2>&1
rc=$?
grep -E '^configure:' "$work/install.log"
if [ $rc -ne 0 ]; then tail -n 40 "$work/install.log"; echo "cuda-check: install FAILED"; exit 1; fi
grep -q 'nvcc' "$work/install.log" || { echo "cuda-check: nvcc was not used"; exit 1; }

cd "$root/tests/testthat" || exit 1
NOT_CRAN=true NTKGEN_TEST_LIB="$lib" Rscript --vanilla -e '
  .libPaths(c(Sys.getenv("NTKGEN_TEST_LIB"), .libPaths()))
  library(ntkgen)
  if (!ntkgen_has_cuda()) stop("the CUDA build does not report CUDA support")
  message("cuda-check: ntkgen_has_cuda() = TRUE, CUDA devices: ", ntkgen:::cuda_device_count())
  res <- as.data.frame(testthat::test_dir(".", package = "ntkgen", load_package = "installed",
                                          reporter = "summary", stop_on_failure = FALSE))
  nfail <- sum(res$failed) + sum(res$error)
  cat(sprintf("cuda-build tests: %d passed, %d failed, %d skipped\n",
              sum(res$passed), nfail, sum(res$skipped)))
  quit(status = if (nfail > 0) 1 else 0)
'
