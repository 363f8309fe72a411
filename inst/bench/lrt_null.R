# The likelihood-ratio test of h2 = 0 in summary.ntk_lmm() under its null: phenotypes with
# no genetic signal, REML fits against a GRM; the share of p-values below 0.05 (and 0.01)
# with its exact binomial 95% interval, and the share of fits on the boundary (the
# mixture 0.5 chi2_0 + 0.5 chi2_1 puts half the mass at 0).
#   Rscript inst/bench/lrt_null.R [reps] [n] [p]        (defaults 2000 300 500)
bench_dir <- local({
  f <- grep("^--file=", commandArgs(FALSE), value = TRUE)
  if (length(f)) dirname(gsub("~+~", " ", sub("^--file=", "", f[1L]), fixed = TRUE))
  else Sys.getenv("NTKGEN_BENCH_DIR", system.file("bench", package = "ntkgen"))
})
source(file.path(bench_dir, "common.R"))
args <- commandArgs(trailingOnly = TRUE)
reps <- if (length(args) >= 1L) as.integer(args[1L]) else 2000L
n <- if (length(args) >= 2L) as.integer(args[2L]) else 300L
p <- if (length(args) >= 3L) as.integer(args[3L]) else 500L
bench_machine()

set.seed(1)
G <- simulate_genotypes(n, p)
K <- grm(G)
S <- ntk_spectral(K, X = matrix(1, n, 1L))     # one decomposition for every replicate
Y <- matrix(rnorm(n * reps), n, reps)           # no genetic variance
t0 <- proc.time()[["elapsed"]]
fits <- ntk_lmm(Y, K, method = "reml", spectral = S)
secs <- proc.time()[["elapsed"]] - t0
pv <- vapply(fits, function(f) f$lrt_p, 0)
lrt <- vapply(fits, function(f) f$lrt, 0)
for (a in c(0.05, 0.01)) {
  k <- sum(pv < a)
  ci <- stats::binom.test(k, reps, a)$conf.int
  cat(sprintf("alpha %.2f: rejected %d of %d = %.4f (exact 95%% interval for the rate %.4f-%.4f; %s)\n",
              a, k, reps, k / reps, ci[1], ci[2],
              if (a >= ci[1] && a <= ci[2]) "nominal level inside" else "nominal level OUTSIDE"))
}
cat(sprintf("LRT = 0 (boundary) in %.3f of the fits (mixture: 0.5)\n", mean(lrt < 1e-8)))
cat(sprintf("%d REML fits in %.2f s (one decomposition, %d traits)\n", reps, secs, reps))
