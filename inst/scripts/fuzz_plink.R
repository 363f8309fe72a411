# Fuzzing of the PLINK reader: random byte flips, truncations and extensions of a valid
# fileset (.bed, .bim and .fam), each read by plink_open(), read_plink(), plink_qc() and
# grm().  Every case must either succeed with a well-formed result or fail with an R
# error; a crash (segfault, abort) ends the R process and so the run.
#
# By hand (many thousands of cases):
#   Rscript inst/scripts/fuzz_plink.R 20000 [seed]
# The test suite sources this file and runs plink_fuzz(200).

plink_fuzz <- function(cases = 1000L, seed = 1L, verbose = FALSE) {
  pkg <- asNamespace("ntkgen")
  set.seed(seed)
  dir <- tempfile("fuzz")
  dir.create(dir)
  on.exit(unlink(dir, recursive = TRUE), add = TRUE)
  n <- 11L
  p <- 9L
  G <- matrix(sample(c(0, 1, 2, NA), n * p, replace = TRUE, prob = c(.3, .4, .25, .05)), n, p)
  G[1, ] <- 0
  G[2, ] <- 2                                     # no column constant
  base <- file.path(dir, "base")
  pkg$write_plink(base, G)
  orig <- lapply(c(".bed", ".bim", ".fam"), function(e) readBin(paste0(base, e), "raw", 1e5))
  names(orig) <- c("bed", "bim", "fam")
  tally <- c(ok = 0L, error = 0L)
  for (k in seq_len(cases)) {
    f <- file.path(dir, sprintf("c%d", k %% 7L))
    parts <- orig
    which_file <- sample(c("bed", "bed", "bed", "bim", "fam"), 1L)
    b <- parts[[which_file]]
    op <- sample(c("flip", "flip", "truncate", "extend", "zero"), 1L)
    if (op == "flip") {
      i <- sample(length(b), sample(1:4, 1L), replace = TRUE)
      b[i] <- as.raw(bitwXor(as.integer(b[i]), sample(1:255, length(i), replace = TRUE)))
    } else if (op == "truncate") {
      b <- b[seq_len(sample(0:(length(b) - 1L), 1L))]
    } else if (op == "extend") {
      b <- c(b, as.raw(sample(0:255, sample(1:6, 1L), replace = TRUE)))
    } else {
      b <- raw(0)
    }
    parts[[which_file]] <- b
    for (e in names(parts)) writeBin(parts[[e]], paste0(f, ".", e))
    res <- tryCatch({
      h <- pkg$plink_open(f)
      g <- pkg$read_plink(h, threads = 1L)$genotypes
      stopifnot(is.matrix(g), nrow(g) == h$n, ncol(g) == h$p,
                all(is.na(g) | g %in% c(0, 1, 2)))
      if (h$n >= 2L) {
        q <- tryCatch(pkg$plink_qc(h, maf = 0, geno = 1, mind = 1, hwe = 0),
                      error = function(e) NULL)
        K <- tryCatch(suppressWarnings(suppressMessages(pkg$grm(h, threads = 1L))),
                      error = function(e) NULL)
        if (!is.null(K)) stopifnot(nrow(K) == h$n, all(is.finite(K)))
      }
      "ok"
    }, error = function(e) {
      if (grepl("stopifnot|is.matrix|nrow\\(g\\)", conditionMessage(e)))
        stop("fuzz case ", k, ": malformed result: ", conditionMessage(e))
      "error"
    })
    tally[[res]] <- tally[[res]] + 1L
    if (verbose && k %% 1000L == 0L) message(sprintf("%d cases: %d read, %d refused", k,
                                                     tally[["ok"]], tally[["error"]]))
  }
  tally
}

if (sys.nframe() == 0L) {
  args <- commandArgs(trailingOnly = TRUE)
  cases <- if (length(args) >= 1L) as.integer(args[1L]) else 10000L
  seed <- if (length(args) >= 2L) as.integer(args[2L]) else 1L
  lib <- Sys.getenv("NTKGEN_LIB")
  suppressPackageStartupMessages(
    if (nzchar(lib)) library(ntkgen, lib.loc = lib) else library(ntkgen))
  t0 <- proc.time()[["elapsed"]]
  res <- plink_fuzz(cases, seed, verbose = TRUE)
  cat(sprintf("fuzz_plink: %d cases in %.1f s: %d read, %d refused with an error, no crash\n",
              cases, proc.time()[["elapsed"]] - t0, res[["ok"]], res[["error"]]))
}
