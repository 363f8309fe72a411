# Benchmark of ntk_krr(): n = 4000, 5 folds x 41 lambdas.
#   Rscript inst/bench/krr.R            (package installed, or run from the source tree)
# Prints, measured in this one run:
#   ntk_krr time / time of five eigen() calls on the 3200 x 3200 fold kernels (target <= 1.3)
#   naive loop of solve() per fold and lambda / ntk_krr time (the naive loop is timed on a
#   subset of lambdas per fold and extrapolated linearly to all 41; said in the output);
#   the closed-form criteria against one eigen() of the whole kernel, and KARE by the
#   default tridiagonal / band solves against KARE from the eigenvectors.
# Uses the installed ntkgen (NTKGEN_LIB=DIR for a private library); from a source tree
# without it, set NTKGEN_BENCH_LOAD_ALL=1 to use pkgload::load_all() (see common.R).
# NTK_BENCH_N sets n (default 4000).
bench_dir <- local({
  f <- grep("^--file=", commandArgs(FALSE), value = TRUE)
  if (length(f)) dirname(gsub("~+~", " ", sub("^--file=", "", f[1L]), fixed = TRUE))
  else Sys.getenv("NTKGEN_BENCH_DIR", system.file("bench", package = "ntkgen"))
})
source(file.path(bench_dir, "common.R"))  # loader, bench_time(), bench_machine(), threads
bench_machine()
if (!exists("ntk_krr")) stop("this ntkgen has no ntk_krr(): install the current version first")
n <- as.integer(Sys.getenv("NTK_BENCH_N", "4000"))
p <- 1000L
nfolds <- 5L
nlambda <- 41L
n_naive <- as.integer(Sys.getenv("NTK_BENCH_NAIVE_LAMBDAS", "3"))

set.seed(2024)
G <- scale(matrix(rbinom(n * p, 2, 0.3), n, p))
K <- exp(tcrossprod(G) / p / 2)          # PSD (Schur product theorem), full rank
y <- drop(G[, 1:50] %*% rnorm(50, sd = 0.15)) + rnorm(n)
foldid <- sample(rep(seq_len(nfolds), length.out = n))
rm(G); invisible(gc())

t_krr <- bench_time(reps = 1L, fit <- ntk_krr(y, K, foldid = foldid, nlambda = nlambda))

t_eig <- 0
for (k in seq_len(nfolds)) {
  Ktr <- K[foldid != k, foldid != k]
  t_eig <- t_eig + bench_time(reps = 1L, e <- eigen(Ktr, symmetric = TRUE))
  rm(Ktr, e)
}

# naive: per fold and lambda, solve() the training system and predict the fold
lam <- fit$lambda
sub <- unique(round(seq(1, nlambda, length.out = n_naive)))
t_naive_sub <- 0
err_naive <- matrix(NA_real_, nfolds, length(sub))
for (k in seq_len(nfolds)) {
  tr <- foldid != k; te <- foldid == k
  Ktr <- K[tr, tr]; Kte <- K[te, tr]
  mu <- mean(y[tr])
  for (j in seq_along(sub)) {
    t_naive_sub <- t_naive_sub + bench_time(reps = 1L, {
      a <- solve(Ktr + lam[sub[j]] * diag(sum(tr)), y[tr] - mu)
      err_naive[k, j] <- mean((y[te] - mu - drop(Kte %*% a))^2)
    })
  }
}
t_naive <- t_naive_sub * nlambda / length(sub)

# closed-form criteria on all n: one eigendecomposition of the n x n kernel
t_eig_full <- bench_time(reps = 1L, e <- eigen(K, symmetric = TRUE)); rm(e)
t_kare <- bench_time(reps = 1L, fk <- ntk_krr(y, K, criterion = "kare", nlambda = nlambda))
t_loo <- bench_time(reps = 1L, fl <- ntk_krr(y, K, criterion = "loo", nlambda = nlambda))
# KARE the way it was computed before the tridiagonal route: from the eigenvectors
t_kare_eig <- bench_time(reps = 1L, fke <- ntk_krr(y, K, criterion = "kare", nlambda = nlambda,
                                                  spectral = ntk_spectral(K, method = "eigen")))
agree <- max(abs(err_naive - fit$cvraw[, sub]) / fit$cvraw[, sub])

cat(sprintf("n = %d, %d folds x %d lambdas, BLAS: %s\n", n, nfolds, nlambda,
            extSoftVersion()[["BLAS"]]))
cat(sprintf("ntk_krr (cv)                          : %8.2f s\n", t_krr))
cat(sprintf("five eigen() of %d x %d fold kernels : %8.2f s\n", sum(foldid != 1), sum(foldid != 1), t_eig))
cat(sprintf("naive solve() loop (timed %d of %d lambdas per fold, extrapolated linearly x %.2f): %8.2f s\n",
            length(sub), nlambda, nlambda / length(sub), t_naive))
cat(sprintf("ratio ntk_krr / five eigen()          : %8.3f (target <= 1.3)\n", t_krr / t_eig))
cat(sprintf("ratio naive loop / ntk_krr            : %8.1f\n", t_naive / t_krr))
cat(sprintf("max relative difference of fold MSEs, naive vs ntk_krr: %.2e\n", agree))
cat(sprintf("one eigen() of the %d x %d kernel    : %8.2f s\n", n, n, t_eig_full))
cat(sprintf("ntk_krr kare / one eigen()            : %8.3f (%.2f s)\n", t_kare / t_eig_full, t_kare))
cat(sprintf("ntk_krr loo  / one eigen()            : %8.3f (%.2f s)\n", t_loo / t_eig_full, t_loo))
cat(sprintf("ntk_krr kare from the eigenvectors (spectral = ntk_spectral(K, method = \"eigen\")) / default (tridiagonal / band solves): %.2f (%.2f s vs %.2f s); criteria agree to %.1e\n",
            t_kare_eig / t_kare, t_kare_eig, t_kare, max(abs(fke$cvm - fk$cvm) / fk$cvm)))
if (file.exists("/proc/loadavg"))
  cat("load average at the end (other processes share the cores):", readLines("/proc/loadavg"), "\n")
