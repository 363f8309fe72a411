# The spectral engine's speed (issue "One spectral engine"), on a rank-deficient kernel (a GRM
# of 1000 SNPs) and a full-rank one (the analytic NTK of the same genotypes), at n = 4000:
#   REML fit                     <= 0.3 x eigen() of the same kernel, >= 5 x mixed.solve
#   KRR 5 folds x 41 lambdas     <= 0.5 x five eigen()s of the fold kernels
#   100 traits                   <= 1.3 x one trait (ntk_lmm, REML)
#   coef() at 10 new lambdas     <= 0.05 x one eigendecomposition
# Every ratio is of times measured in this run (min of `reps` interleaved rounds).
#   Rscript inst/bench/spectral.R [n] [reps]        (defaults 4000 1)
bench_dir <- local({
  f <- grep("^--file=", commandArgs(FALSE), value = TRUE)
  if (length(f)) dirname(gsub("~+~", " ", sub("^--file=", "", f[1L]), fixed = TRUE))
  else Sys.getenv("NTKGEN_BENCH_DIR", system.file("bench", package = "ntkgen"))
})
source(file.path(bench_dir, "common.R"))
args <- commandArgs(trailingOnly = TRUE)
n <- if (length(args) >= 1L) as.integer(args[1L]) else 4000L
reps <- if (length(args) >= 2L) as.integer(args[2L]) else 1L
have_rrblup <- requireNamespace("rrBLUP", quietly = TRUE)
bench_machine()

set.seed(1)
G <- matrix(rbinom(n * 1000, 2, 0.3), n, 1000)
y <- drop(scale(G) %*% rnorm(1000, sd = sqrt(0.5 / 1000))) + rnorm(n, sd = sqrt(0.5))
kernels <- list(`rank-deficient GRM (1000 SNPs)` = grm(G),
                `full-rank NTK (depth 2)` = ntk_kernel(G, depth = 2))
rm(G)
fold <- sample(rep(1:5, length.out = n))
ratio <- function(a, b) sprintf("%.3f", a / b)

for (nm in names(kernels)) {
  K <- kernels[[nm]]
  cat("\n==", nm, ", n =", n, "==\n")
  t1 <- bench_time(eigen = eigen(K, symmetric = TRUE),
                   reml = ntk_lmm(y, K, method = "reml"), reps = reps)
  cat(sprintf("eigen() %.2f s | ntk_lmm REML %.2f s | ratio %s (target <= 0.3)\n",
              t1[["eigen"]], t1[["reml"]], ratio(t1[["reml"]], t1[["eigen"]])))
  if (have_rrblup) {
    tm <- bench_time(mixed = rrBLUP::mixed.solve(y, K = K), reps = 1L)
    cat(sprintf("rrBLUP::mixed.solve %.2f s | speed-up of ntk_lmm %.1f x (target >= 5)\n",
                tm, tm / t1[["reml"]]))
  }
  # KRR: 5 folds x 41 lambdas against five eigen()s of the fold kernels
  tf <- bench_time(folds = for (f in 1:5) eigen(K[fold != f, fold != f], symmetric = TRUE),
                   krr = ntk_krr(y, K, foldid = fold), reps = reps)
  cat(sprintf("5 fold eigen()s %.2f s | ntk_krr CV (5 folds x 41 lambdas + fit) %.2f s | ratio %s (target <= 0.5)\n",
              tf[["folds"]], tf[["krr"]], ratio(tf[["krr"]], tf[["folds"]])))
  # coefficients at 10 new lambdas from the fit's decomposition
  fit <- ntk_krr(y, K, criterion = "gcv")
  lam <- fit$lambda.min * 10^seq(-1, 1, length.out = 10)
  tc <- bench_time(coef = for (l in lam) coef(fit, s = l), reps = max(reps, 3L))
  cat(sprintf("coef() at 10 new lambdas %.3f s | ratio to one eigen() %s (target <= 0.05)\n",
              tc, ratio(tc, t1[["eigen"]])))
}

# 100 traits against one decomposition
K <- kernels[[2L]]
set.seed(2)
Y <- cbind(y, matrix(rnorm(n * 99), n, 99) + y)
colnames(Y) <- paste0("trait", 1:100)
tt <- bench_time(one = ntk_lmm(Y[, 1], K, method = "reml"),
                 hundred = ntk_lmm(Y, K, method = "reml"), reps = reps)
cat(sprintf("\nntk_lmm REML, 1 trait %.2f s | 100 traits %.2f s | ratio %s (target <= 1.3)\n",
            tt[["one"]], tt[["hundred"]], ratio(tt[["hundred"]], tt[["one"]])))
