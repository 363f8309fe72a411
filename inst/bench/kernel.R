# Benchmark of the kernel engine (a script, not a test): prints ratios measured in one run.
#   Rscript inst/bench/kernel.R            (with ntkgen installed; see common.R)
# The machine may be shared: the runs of the things compared are interleaved, and each
# timing is the MINIMUM over NTKGEN_BENCH_REPS rounds (default 5; elapsed seconds), the
# least noisy estimate of the intrinsic cost.  NTKGEN_BENCH_THREADS (here default 2).
bench_dir <- local({
  f <- grep("^--file=", commandArgs(FALSE), value = TRUE)
  if (length(f)) dirname(gsub("~+~", " ", sub("^--file=", "", f[1L]), fixed = TRUE))
  else Sys.getenv("NTKGEN_BENCH_DIR", system.file("bench", package = "ntkgen"))
})
source(file.path(bench_dir, "common.R"))  # loader, bench_time(), bench_machine(), threads
threads <- bench_threads(default = 2L)
cat("ntkgen kernel benchmark\n")
bench_machine(threads)
cat("timings: minimum of", bench_reps, "interleaved rounds\n\n")

sim <- function(n, p, seed) {
  set.seed(seed)
  af <- runif(p, 0.05, 0.5)
  matrix(rbinom(n * p, 2, rep(af, each = n)), n, p)
}

## 1. analytic kernel vs tcrossprod ------------------------------------------------
n <- 4000; p <- 1000; depth <- 3
X <- sim(n, p, 1)
Xs <- scale(X)
tt <- bench_time(tcp = tcrossprod(Xs),
         ana = ntk_kernel(Xs, depth = depth, standardize = FALSE, threads = threads),
         std = ntk_kernel(X, depth = depth, threads = threads))
t_tcp <- tt[["tcp"]]; t_ana <- tt[["ana"]]; t_ana_std <- tt[["std"]]
cat(sprintf("analytic NTK n = %d, p = %d, depth %d\n", n, p, depth))
cat(sprintf("  tcrossprod(X)                      %7.3f s\n", t_tcp))
cat(sprintf("  ntk_kernel (standardize = FALSE)   %7.3f s   ratio %.2f (target <= 2)\n",
            t_ana, t_ana / t_tcp))
cat(sprintf("  ntk_kernel (standardize = TRUE)    %7.3f s   ratio %.2f\n\n",
            t_ana_std, t_ana_std / t_tcp))
rm(X, Xs); invisible(gc())

## 2. empirical kernel vs its 2 L + 1 BLAS Gram products --------------------------------
n <- 2000; p <- 100; width <- 1000; depth <- 2
X <- scale(sim(n, p, 2))
set.seed(3)
A <- matrix(rnorm(n * width), n, width)
B <- matrix(rnorm(n * width), n, width)
nprod <- 2 * depth + 1
tt <- bench_time(syrk = for (k in seq_len(nprod)) tcrossprod(A),
         gemm = for (k in seq_len(nprod)) tcrossprod(A, B),
         emp = { set.seed(4); ntk_kernel(X, depth = depth, width = width,
                                         standardize = FALSE, threads = threads) })
t_syrk <- tt[["syrk"]]; t_gemm <- tt[["gemm"]]; t_emp <- tt[["emp"]]
cat(sprintf("empirical NTK n = %d, p = %d, width %d, depth %d\n", n, p, width, depth))
cat(sprintf("  %d x tcrossprod(A), A n x width (symmetric, dsyrk)   %7.3f s\n", nprod, t_syrk))
cat(sprintf("  %d x tcrossprod(A, B) (general, dgemm)              %7.3f s\n", nprod, t_gemm))
cat(sprintf("  ntk_kernel(width = %d)                            %7.3f s   ratio %.2f vs dsyrk (target <= 2), %.2f vs dgemm\n\n",
            width, t_emp, t_emp / t_syrk, t_emp / t_gemm))
rm(A, B); invisible(gc())

## 3. empirical kernel vs a naive Jacobian contraction (smaller case) ---------------------
# The naive version builds the n x P Jacobian of all P parameters in R from the same
# weights (ntkgen draws them with rnorm in the order W1, b1, W2, b2, ..., v, c) and
# returns J J'.
naive_ntk <- function(X, width, depth, sw = sqrt(2), sb = 0) {
  n <- nrow(X); p <- ncol(X); w <- width
  W <- b <- vector("list", depth)
  for (l in seq_len(depth)) {
    fan <- if (l == 1) p else w
    W[[l]] <- matrix(rnorm(w * fan), w, fan)
    b[[l]] <- rnorm(w)
  }
  v <- rnorm(w); rnorm(1)
  A <- vector("list", depth + 1); A[[1]] <- X
  H <- vector("list", depth)
  for (l in seq_len(depth)) {
    fan <- ncol(A[[l]])
    H[[l]] <- sw * A[[l]] %*% t(W[[l]]) / sqrt(fan) + sb * matrix(b[[l]], n, w, byrow = TRUE)
    A[[l + 1]] <- pmax(H[[l]], 0)
  }
  G <- vector("list", depth)
  G[[depth]] <- sw / sqrt(w) * matrix(v, n, w, byrow = TRUE) * (H[[depth]] > 0)
  if (depth > 1) for (l in (depth - 1):1)
    G[[l]] <- sw / sqrt(w) * (G[[l + 1]] %*% W[[l + 1]]) * (H[[l]] > 0)
  blocks <- list()
  for (l in seq_len(depth)) {
    fan <- ncol(A[[l]])
    blocks[[length(blocks) + 1]] <- sw / sqrt(fan) *
      do.call(cbind, lapply(seq_len(fan), function(k) G[[l]] * A[[l]][, k]))
    blocks[[length(blocks) + 1]] <- sb * G[[l]]
  }
  J <- cbind(do.call(cbind, blocks), sw / sqrt(w) * A[[depth + 1]], sb)
  tcrossprod(J)
}
n <- 400; p <- 100; width <- 200; depth <- 2
X <- scale(sim(n, p, 5))
tt <- bench_time(naive = { set.seed(6); K_naive <- naive_ntk(X, width, depth) },
         fast = { set.seed(6); K_fast <- ntk_kernel(X, depth = depth, width = width,
                                                    standardize = FALSE, threads = threads) })
t_naive <- tt[["naive"]]; t_fast <- tt[["fast"]]
attributes(K_fast) <- list(dim = dim(K_fast))
cat(sprintf("empirical NTK n = %d, p = %d, width %d, depth %d (Jacobian: %d parameters)\n",
            n, p, width, depth, ncol(X) * width + width + (depth - 1) * (width^2 + width) + width + 1))
cat(sprintf("  naive Jacobian contraction in R   %7.3f s\n", t_naive))
cat(sprintf("  ntk_kernel                        %7.3f s   speed-up %.1f x, max rel. difference %.1e\n",
            t_fast, t_naive / t_fast, max(abs(K_fast - K_naive)) / max(abs(K_naive))))
