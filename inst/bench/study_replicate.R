# Time of one ntk_study() replicate's NTK-LMM + NTK-KRR (n = 1000, 80/20 split, p = 50
# SNPs, the analytic NTK, defaults otherwise) for two builds of ntkgen, measured in this
# run: each build in its own child R process, the two alternated `rounds` times, the
# fastest round of each kept.  Used for "before / after" figures of a change:
#   NTKGEN_LIB_BEFORE=/lib/old NTKGEN_LIB_AFTER=/lib/new \
#     Rscript inst/bench/study_replicate.R [n] [reps] [rounds]     (defaults 1000 5 2)
# Without NTKGEN_LIB_BEFORE only the installed build is timed.
bench_dir <- local({
  f <- grep("^--file=", commandArgs(FALSE), value = TRUE)
  if (length(f)) dirname(gsub("~+~", " ", sub("^--file=", "", f[1L]), fixed = TRUE))
  else Sys.getenv("NTKGEN_BENCH_DIR", system.file("bench", package = "ntkgen"))
})
source(file.path(bench_dir, "common.R"))
args <- commandArgs(trailingOnly = TRUE)
n <- if (length(args) >= 1L) as.integer(args[1L]) else 1000L
reps <- if (length(args) >= 2L) as.integer(args[2L]) else 5L
rounds <- if (length(args) >= 3L) as.integer(args[3L]) else 2L
bench_machine()

libs <- c(before = Sys.getenv("NTKGEN_LIB_BEFORE"), after = Sys.getenv("NTKGEN_LIB_AFTER"))
libs <- libs[nzchar(libs)]
if (!length(libs)) libs <- c(installed = "")

child <- function(lib) {
  code <- sprintf(paste0(
    "suppressMessages(library(ntkgen%s));",
    "st <- ntk_study(n = %d, p = 50, reps = %d, methods = c('ntk_lmm', 'ntk_krr'),",
    " seed = 1, threads = %d, progress = FALSE);",
    "s <- tapply(st$seconds, st$method, median);",
    "cat(sprintf('%%.4f %%.4f %%.4f\\n', s[['ntk_lmm']], s[['ntk_krr']],",
    " median(tapply(st$seconds, st$rep, sum))))"),
    if (nzchar(lib)) sprintf(", lib.loc = '%s'", lib) else "", n, reps, bench_threads(2L))
  out <- system2(file.path(R.home("bin"), "Rscript"), c("-e", shQuote(code)), stdout = TRUE)
  as.numeric(strsplit(utils::tail(out, 1L), " ")[[1L]])
}
res <- array(NA_real_, c(rounds, length(libs), 3L),
             dimnames = list(NULL, names(libs), c("ntk_lmm", "ntk_krr", "replicate")))
for (r in seq_len(rounds)) for (b in names(libs)) res[r, b, ] <- child(libs[[b]])
best <- apply(res, c(2L, 3L), min)
cat(sprintf("ntk_study replicate, n = %d (train %d), p = 50, median of %d replicates, best of %d rounds\n",
            n, round(0.8 * n), reps, rounds))
for (b in names(libs))
  cat(sprintf("  %-9s NTK-LMM %.3f s | NTK-KRR %.3f s | both %.3f s\n", b, best[b, 1L],
              best[b, 2L], best[b, 3L]))
if (all(c("before", "after") %in% names(libs)))
  cat(sprintf("  after / before: NTK-LMM %.2f | NTK-KRR %.2f | both %.2f\n",
              best["after", 1L] / best["before", 1L], best["after", 2L] / best["before", 2L],
              best["after", 3L] / best["before", 3L]))
