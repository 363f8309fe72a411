# Statistical check of ntk_lmm(): replicates at n = 500 with a known h2 in {0.2, 0.5, 0.8};
# for each method the mean estimated h2, its empirical SD over replicates and the mean
# reported SE (delta method), plus the coverage of h2 +- 1.96 SE.
#   Rscript inst/bench/lmm_simulation.R [reps] [n]      (defaults 200 500)
# One standardised genotype matrix (p = 1000 SNPs) and its GRM K = Z Z' / p (c_K = 1),
# fixed across replicates; each replicate draws new SNP effects and residuals:
# y = 1 + 0.5 age + Z beta + e, beta ~ N(0, h2 / p), e ~ N(0, 1 - h2).
# Loader, threads and the machine line: common.R (NTKGEN_LIB, NTKGEN_BENCH_LOAD_ALL, ...).
bench_dir <- local({
  f <- grep("^--file=", commandArgs(FALSE), value = TRUE)
  if (length(f)) dirname(gsub("~+~", " ", sub("^--file=", "", f[1L]), fixed = TRUE))
  else Sys.getenv("NTKGEN_BENCH_DIR", system.file("bench", package = "ntkgen"))
})
source(file.path(bench_dir, "common.R"))  # loader, bench_time(), bench_machine(), threads
bench_machine()
args <- commandArgs(trailingOnly = TRUE)
reps <- if (length(args) >= 1L) as.integer(args[1L]) else 200L
n <- if (length(args) >= 2L) as.integer(args[2L]) else 500L
p <- 1000L
methods <- c("minque0", "minque1", "iminque", "reml")

set.seed(20261125)
Z <- scale(matrix(rbinom(n * p, 2, 0.3), n, p))
K <- tcrossprod(Z) / p
age <- rnorm(n)
X <- cbind(age = age)
out <- list()
t0 <- proc.time()[["elapsed"]]
for (h2 in c(0.2, 0.5, 0.8)) {
  est <- se <- matrix(NA_real_, reps, length(methods), dimnames = list(NULL, methods))
  nconv <- setNames(integer(length(methods)), methods)
  for (r in seq_len(reps)) {
    y <- drop(1 + 0.5 * age + Z %*% rnorm(p, sd = sqrt(h2 / p)) + rnorm(n, sd = sqrt(1 - h2)))
    for (m in methods) {
      f <- suppressWarnings(ntk_lmm(y, K, X = X, method = m))
      est[r, m] <- f$h2[[1]]
      se[r, m] <- f$h2_se[[1]]
      nconv[m] <- nconv[m] + (f$converged && !length(f$constrained))
    }
  }
  cover <- colMeans(abs(est - h2) <= 1.96 * se, na.rm = TRUE)
  out[[length(out) + 1L]] <- data.frame(
    h2 = h2, method = methods, mean_h2 = colMeans(est), bias = colMeans(est) - h2,
    emp_sd = apply(est, 2, stats::sd), mean_se = colMeans(se, na.rm = TRUE),
    se_over_sd = colMeans(se, na.rm = TRUE) / apply(est, 2, stats::sd),
    coverage95 = cover, interior = nconv / reps, row.names = NULL)
}
res <- do.call(rbind, out)
cat(sprintf("ntk_lmm simulation: %d replicates, n = %d, p = %d, GRM kernel (c_K = %.3f), %.0f s\n",
            reps, n, p, ntk_lmm(rnorm(n), K)$ck[[1]], proc.time()[["elapsed"]] - t0))
print(res, digits = 3, row.names = FALSE)
cat("interior: share of fits converged with no component constrained to zero\n")
