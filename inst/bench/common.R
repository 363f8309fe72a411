# Shared preamble of the benchmark scripts in inst/bench/ (not a test): the package
# loader, thread pinning, the interleaved min-of-repeats timer and the machine line.
#
# Every script starts with these lines, which find this file next to the script itself
# (Rscript passes the script as --file=), wherever it is run from -- the source tree
# (inst/bench) or an installed copy (system.file("bench", package = "ntkgen")):
#
#   bench_dir <- local({
#     f <- grep("^--file=", commandArgs(FALSE), value = TRUE)
#     if (length(f)) dirname(gsub("~+~", " ", sub("^--file=", "", f[1L]), fixed = TRUE))
#     else Sys.getenv("NTKGEN_BENCH_DIR", system.file("bench", package = "ntkgen"))
#   })
#   source(file.path(bench_dir, "common.R"))
#
# (From an interactive session, where there is no --file=, set NTKGEN_BENCH_DIR or use
# the installed copy.)
#
# How to run, pinning every kind of thread:
#   OPENBLAS_NUM_THREADS=2 OMP_NUM_THREADS=2 NTKGEN_BENCH_THREADS=2 \
#     NTKGEN_LIB=/path/to/lib Rscript inst/bench/kernel.R
#
# Environment:
#   NTKGEN_LIB              library holding the ntkgen to measure (e.g. one made with
#                           R CMD INSTALL -l DIR); it is put first in .libPaths() and in
#                           R_LIBS, so parallel workers started later load the same copy.
#                           Default: the first ntkgen on .libPaths().
#   NTKGEN_BENCH_LOAD_ALL=1 pkgload::load_all() the source tree this script lies in
#                           instead (compiled with pkgload's flags, often -O0: timings
#                           are then not representative of an installed package).
#   NTKGEN_BENCH_THREADS    threads of ntkgen's own (OpenMP) code: sets
#                           options(ntkgen.threads); default: the package's default (the
#                           option if set, else all processors) unless a script says.
#   NTKGEN_BENCH_REPS       rounds of bench_time() (default 5).
# BLAS threads cannot be pinned from here: OpenBLAS (OPENBLAS_NUM_THREADS, or
# OMP_NUM_THREADS for its OpenMP build) and MKL (MKL_NUM_THREADS) read their thread count
# when the library is loaded, before any R code runs, so set them on the command line as
# above.  The machine line shows what was set.

if (!exists("bench_dir")) bench_dir <- Sys.getenv("NTKGEN_BENCH_DIR", "inst/bench")

## the package loader ---------------------------------------------------------------
local({
  lib <- Sys.getenv("NTKGEN_LIB")
  if (nzchar(Sys.getenv("NTKGEN_BENCH_LOAD_ALL"))) {
    root <- normalizePath(file.path(bench_dir, "..", ".."), mustWork = FALSE)
    if (!file.exists(file.path(root, "DESCRIPTION")))
      stop("NTKGEN_BENCH_LOAD_ALL is set but ", bench_dir, " is not inside a source tree")
    pkgload::load_all(root, quiet = TRUE)
  } else if (nzchar(lib)) {
    lib <- normalizePath(lib, mustWork = TRUE)
    .libPaths(c(lib, .libPaths()))
    old <- Sys.getenv("R_LIBS")
    Sys.setenv(R_LIBS = if (nzchar(old)) paste(lib, old, sep = .Platform$path.sep) else lib)
    suppressPackageStartupMessages(library(ntkgen, lib.loc = lib))
  } else {
    suppressPackageStartupMessages(library(ntkgen))
  }
})

## command-line options ---------------------------------------------------------------
# The script's arguments split into positional ones (`args`), `--name=value` options
# (`opts`, a named list of strings; the last of a repeated name wins) and bare
# `--flag`s among `flags` (`flags`, without the dashes); an option not in `known` or a
# flag not in `flags` is an error naming it.
bench_args <- function(known, flags = character()) {
  argv <- commandArgs(trailingOnly = TRUE)
  is_opt <- grepl("^--", argv)
  o <- argv[is_opt]
  fl <- o[o %in% paste0("--", flags)]
  o <- o[!o %in% fl]
  kv <- regmatches(o, regexec("^--([A-Za-z_]+)=(.*)$", o))
  bad <- o[lengths(kv) != 3L]
  unknown <- setdiff(vapply(kv[lengths(kv) == 3L], `[`, "", 2L), known)
  if (length(bad) || length(unknown))
    stop("unknown option(s) ", paste(c(bad, sprintf("--%s", unknown)), collapse = " "),
         "; known: ", paste(c(sprintf("--%s=", known), sprintf("--%s", flags)), collapse = " "))
  kv <- rev(kv)                                       # the last of a repeated name wins
  opts <- stats::setNames(lapply(kv, `[`, 3L), vapply(kv, `[`, "", 2L))
  list(args = argv[!is_opt], opts = opts[!duplicated(names(opts))],
       flags = sub("^--", "", fl))
}

## thread pinning (ntkgen's own threads; BLAS threads: see above) -------------------
bench_threads <- function(default = NULL) {
  v <- Sys.getenv("NTKGEN_BENCH_THREADS")
  if (nzchar(v)) return(as.integer(v))
  if (!is.null(default)) return(as.integer(default))
  ntkgen:::default_threads()
}
if (nzchar(Sys.getenv("NTKGEN_BENCH_THREADS")))
  options(ntkgen.threads = as.integer(Sys.getenv("NTKGEN_BENCH_THREADS")))

## the interleaved min-of-repeats timer ------------------------------------------------
bench_reps <- as.integer(Sys.getenv("NTKGEN_BENCH_REPS", "5"))

# bench_time(a = expr, b = expr, ..., reps = bench_reps): runs the expressions
# alternately (a, b, ..., a, b, ...) `reps` times, in the caller's environment (so
# assignments inside them stay), and returns the minimum elapsed seconds of each as a
# named vector: a change of the machine's load hits all alike, and the minimum is the
# least noisy estimate of the intrinsic cost.  One unnamed expression: a plain number.
bench_time <- function(..., reps = bench_reps) {
  es <- as.list(substitute(list(...)))[-1L]
  env <- parent.frame()
  nm <- names(es)
  if (is.null(nm)) nm <- rep("", length(es))
  nm[!nzchar(nm)] <- paste0("expr", which(!nzchar(nm)))
  t <- matrix(NA_real_, reps, length(es), dimnames = list(NULL, nm))
  for (r in seq_len(reps)) for (k in seq_along(es))
    t[r, k] <- system.time(eval(es[[k]], env))[["elapsed"]]
  m <- apply(t, 2L, min)
  if (length(es) == 1L && is.null(names(es))) unname(m) else m
}

## the machine line -----------------------------------------------------------------
# bench_machine(threads): one line saying where the figures come from; `threads` is the
# thread count the script runs ntkgen with (default: bench_threads()).
bench_machine <- function(threads = bench_threads()) {
  blas <- extSoftVersion()[["BLAS"]]
  if (!nzchar(blas)) blas <- sessionInfo()$BLAS
  load <- if (file.exists("/proc/loadavg"))
    paste(strsplit(readLines("/proc/loadavg", 1L), " ", fixed = TRUE)[[1L]][1:3],
          collapse = " ") else "n/a"
  env <- c("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
  val <- Sys.getenv(env)
  blas_thr <- if (any(nzchar(val))) paste0(env, "=", val)[nzchar(val)] else "not pinned"
  cat(sprintf(paste0("machine: %s %s, %d cores | %s | BLAS: %s | LAPACK: %s | ",
                     "BLAS threads: %s | ntkgen %s (OpenMP %s, CUDA compiled %s), ",
                     "threads %d | load average %s | %s\n"),
              Sys.info()[["sysname"]], Sys.info()[["machine"]], parallel::detectCores(),
              R.version.string, blas, La_library(), paste(blas_thr, collapse = " "),
              utils::packageVersion("ntkgen"), ntkgen_has_openmp(), ntkgen_has_cuda(),
              as.integer(threads), load, format(Sys.time(), "%Y-%m-%d %H:%M:%S UTC", tz = "UTC")))
  invisible()
}
