# The paper's Ricker study: n = 1000, p = 20, 50, 100, 80/20 splits, NTK-LMM, NTK-KRR,
# GBLUP and the MLP baseline, 100 replicates by default. Prints the median (and IQR) test
# correlation per method and p, the median seconds per replicate per method, and the
# ratios measured in this run (NTK-KRR / GBLUP accuracy, MLP / NTK-KRR time).
#
# Run:  Rscript inst/bench/study.R [reps] [workers] [n]
#   reps     replicates per p (default 100)
#   workers  > 1: run replicates in parallel with future::plan(multisession) (needs
#            future.apply; results are identical to a sequential run); default 1
#   n        individuals (default 1000)
# Loader, threads and the machine line: common.R (NTKGEN_LIB -- also seen by the parallel
# workers --, NTKGEN_BENCH_LOAD_ALL=1 for pkgload::load_all(), sequential runs only).
args <- commandArgs(trailingOnly = TRUE)
reps <- if (length(args) >= 1L) as.integer(args[1L]) else 100L
workers <- if (length(args) >= 2L) as.integer(args[2L]) else 1L
n <- if (length(args) >= 3L) as.integer(args[3L]) else 1000L
bench_dir <- local({
  f <- grep("^--file=", commandArgs(FALSE), value = TRUE)
  if (length(f)) dirname(gsub("~+~", " ", sub("^--file=", "", f[1L]), fixed = TRUE))
  else Sys.getenv("NTKGEN_BENCH_DIR", system.file("bench", package = "ntkgen"))
})
source(file.path(bench_dir, "common.R"))  # loader, bench_time(), bench_machine(), threads
bench_machine(threads = 1L)
if (workers > 1L && nzchar(Sys.getenv("NTKGEN_BENCH_LOAD_ALL")))
  stop("NTKGEN_BENCH_LOAD_ALL works for sequential runs only: parallel workers load the ",
       "installed ntkgen (use NTKGEN_LIB for a private copy)")
if (workers > 1L) future::plan(future::multisession, workers = workers)

set.seed(2024)
t0 <- proc.time()[["elapsed"]]
run <- function() ntk_study(model = "ricker", n = n, p = c(20, 50, 100), reps = reps,
                            threads = 1, progress = TRUE)
st <- if (requireNamespace("progressr", quietly = TRUE)) {
  options(progressr.enable = TRUE)
  progressr::with_progress(run(), handlers = progressr::handler_txtprogressbar(style = 3))
} else run()
total <- proc.time()[["elapsed"]] - t0

s <- summary(st)
cat(sprintf("Ricker study: n = %d, %d replicate(s) per p, %d worker(s), %.0f s in all\n\n",
            n, reps, workers, total))
print(s)
wide <- function(what) {
  w <- ntkgen:::study_wide(s, what)
  round(w, 3)
}
cat("\nMedian test correlation (rows: method, columns: p)\n")
print(wide("cor_median"))
cat("\nIQR of the test correlation\n")
print(wide("cor_iqr"))
cat("\nMedian seconds per replicate (NTK methods include the kernel)\n")
print(wide("seconds_median"))
cor_m <- wide("cor_median")
sec_m <- ntkgen:::study_wide(s, "seconds_median")
cat("\nRatios measured in this run\n")
print(round(rbind(
  `cor NTK-KRR / GBLUP` = cor_m["ntk_krr", ] / cor_m["gblup", ],
  `cor NTK-LMM / GBLUP` = cor_m["ntk_lmm", ] / cor_m["gblup", ],
  `cor MLP / GBLUP` = cor_m["mlp", ] / cor_m["gblup", ],
  `time MLP / NTK-KRR` = sec_m["mlp", ] / sec_m["ntk_krr", ],
  `time NTK-KRR / GBLUP` = sec_m["ntk_krr", ] / sec_m["gblup", ]), 2))
cat("\nPaper (Ricker, median correlation): p = 20: NTK-KRR .442, NN .371, NTK-LMM .323,",
    "GBLUP .257; p = 100: NTK-KRR .248, NN .140\n")
out <- Sys.getenv("NTK_STUDY_RDS")
if (nzchar(out))
  saveRDS(st, out)
