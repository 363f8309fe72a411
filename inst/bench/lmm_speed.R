# Speed of ntk_lmm(): single-kernel fit time over one eigen(K, symmetric = TRUE) of the same
# matrix (target <= 1.5), over rrBLUP::mixed.solve when installed (target >= 5x faster),
# and a two-kernel fit at n = 2000.
#   Rscript inst/bench/lmm_speed.R [n_single] [n_two]      (defaults 4000 2000)
# Loader, threads and the machine line: common.R (NTKGEN_LIB, NTKGEN_BENCH_LOAD_ALL, ...).
bench_dir <- local({
  f <- grep("^--file=", commandArgs(FALSE), value = TRUE)
  if (length(f)) dirname(gsub("~+~", " ", sub("^--file=", "", f[1L]), fixed = TRUE))
  else Sys.getenv("NTKGEN_BENCH_DIR", system.file("bench", package = "ntkgen"))
})
source(file.path(bench_dir, "common.R"))  # loader, bench_time(), bench_machine(), threads
args <- commandArgs(trailingOnly = TRUE)
n1 <- if (length(args) >= 1L) as.integer(args[1L]) else 4000L
n2 <- if (length(args) >= 2L) as.integer(args[2L]) else 2000L

sim_kernel <- function(n, p, seed) {
  set.seed(seed)
  Z <- scale(matrix(rbinom(n * p, 2, 0.3), n, p))
  list(Z = Z, K = tcrossprod(Z) / p)
}
bench_machine()
# ---- single kernel ----
s <- sim_kernel(n1, 2000L, 1)
X <- cbind(age = rnorm(n1), sex = rbinom(n1, 1, 0.5))
y <- drop(X %*% c(0.2, 0.1) + s$Z %*% rnorm(ncol(s$Z), sd = sqrt(0.5 / ncol(s$Z))) +
            rnorm(n1, sd = sqrt(0.5)))
K <- s$K
rm(s)
# eigen() and the REML fit timed alternately, twice, keeping the fastest of each (the
# machine may be shared)
tt <- bench_time(eig = eigen(K, symmetric = TRUE),
                 fit = ntk_lmm(y, K, X = X, method = "reml"), reps = 2L)
t_eig <- tt[["eig"]]; t_fit <- tt[["fit"]]
res <- data.frame(method = c("minque0", "minque1", "iminque", "reml"), time = NA_real_,
                  h2 = NA_real_, iter = NA_integer_)
for (i in seq_len(nrow(res))) {
  f <- NULL
  res$time[i] <- bench_time(reps = 1L, f <- ntk_lmm(y, K, X = X, method = res$method[i]))
  res$h2[i] <- f$h2[[1]]
  res$iter[i] <- f$iter
}
res$over_eigen <- res$time / t_eig
cat(sprintf("\nn = %d, one kernel, 2 covariates: eigen(K, symmetric = TRUE) %.2f s\n", n1, t_eig))
print(res, digits = 3, row.names = FALSE)
cat(sprintf("fit time / eigen time (reml, fastest of 2 alternating runs each): %.2f / %.2f = %.2f  (target <= 1.5)\n",
            t_fit, t_eig, t_fit / t_eig))
if (requireNamespace("rrBLUP", quietly = TRUE)) {
  ms <- NULL
  t_rr <- bench_time(reps = 1L,
                     ms <- rrBLUP::mixed.solve(y, K = K, X = cbind(1, X), method = "REML"))
  t_reml <- t_fit
  cat(sprintf("rrBLUP::mixed.solve (REML) %.2f s; speed-up of ntk_lmm(method = \"reml\"): %.1fx (target >= 5)\n",
              t_rr, t_rr / t_reml))
  f <- ntk_lmm(y, K, X = X, method = "reml")
  cat(sprintf("  max relative difference of (Vu, Ve): %.2e\n",
              max(abs(c(ms$Vu, ms$Ve) / f$theta - 1))))
} else {
  cat("rrBLUP not installed: comparison skipped\n")
}
rm(K)
invisible(gc())

# ---- two kernels ----
s <- sim_kernel(n2, 2000L, 2)
K1 <- s$K
K2 <- tcrossprod(s$Z[, 1:200]) / 200
y2 <- drop(s$Z %*% rnorm(ncol(s$Z), sd = sqrt(0.4 / ncol(s$Z))) + rnorm(n2, sd = sqrt(0.6)))
rm(s)
t_eig2 <- bench_time(reps = 1L, eigen(K1, symmetric = TRUE))
cat(sprintf("\nn = %d, two kernels: eigen(K1, symmetric = TRUE) %.2f s\n", n2, t_eig2))
for (m in c("minque0", "minque1", "iminque", "reml")) {
  f <- NULL
  t2 <- bench_time(reps = 1L, f <- ntk_lmm(y2, list(a = K1, b = K2), method = m))
  cat(sprintf("  %-8s %6.2f s (%5.2f x eigen, %2d iterations, %.2f s per iteration)  h2 = %s\n",
              m, t2, t2 / t_eig2, f$iter, t2 / f$iter,
              paste(sprintf("%.3f", f$h2), collapse = ", ")))
}
