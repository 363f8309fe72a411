# Benchmark of the MLP baseline: time per epoch at n = 1000, p = 100, hidden c(50, 30),
# and the ratio to the BLAS products of the same flop count (the dgemm work a perfectly
# efficient implementation would do: forward 2 n P, backward 2 n P for the weight
# gradients plus 2 n P2 for the back-propagated signals (P the dense weights, P2 those
# above the first layer), timed here on the same machine as whole-matrix products.
# Run: Rscript inst/bench/mlp.R   (loader, threads, machine line: common.R)
bench_dir <- local({
  f <- grep("^--file=", commandArgs(FALSE), value = TRUE)
  if (length(f)) dirname(gsub("~+~", " ", sub("^--file=", "", f[1L]), fixed = TRUE))
  else Sys.getenv("NTKGEN_BENCH_DIR", system.file("bench", package = "ntkgen"))
})
source(file.path(bench_dir, "common.R"))  # loader, bench_time(), bench_machine(), threads
bench_machine()
set.seed(1)
n <- 1000; p <- 100; hidden <- c(50, 30); epochs <- 30
X <- matrix(rnorm(n * p), n, p)
y <- drop(X[, 1:10] %*% rnorm(10)) + rnorm(n)

tm <- bench_time(fit <- mlp_fit(X, y, hidden = hidden, epochs = epochs, validation = 0.1,
                                patience = epochs), reps = 1L)
ms_epoch <- 1000 * tm / fit$epochs_run

# The same flops as whole-matrix BLAS products: per epoch, on the 900 training rows,
# forward X W1, A1 W2 and backward X' dZ1, A1' dZ2, dZ2 W2' (the output layer is small).
ntr <- fit$n_train
W1 <- matrix(rnorm(p * 50), p, 50); W2 <- matrix(rnorm(50 * 30), 50, 30)
Xt <- X[seq_len(ntr), ]
reps <- 20
tb <- bench_time(for (r in seq_len(reps)) {
  A1 <- Xt %*% W1; A2 <- A1 %*% W2
  g1 <- crossprod(Xt, A1)
  g2 <- crossprod(A1, A2); d2 <- A2 %*% t(W2)
}, reps = 1L)
ms_blas <- 1000 * tb / reps
P <- p * 50 + 50 * 30 + 30; P2 <- 50 * 30 + 30
cat(sprintf("MLP n = %d (train %d), p = %d, hidden %s, batch %d, %d parameters\n",
            n, ntr, p, paste(hidden, collapse = "-"), fit$settings$batch_size,
            length(fit$theta)))
cat(sprintf("epochs run: %d, total %.2f s, %.2f ms/epoch (%.1f Mflop/epoch)\n",
            fit$epochs_run, tm, ms_epoch, (4 * ntr * P + 2 * ntr * P2) / 1e6))
cat(sprintf("same flops as whole-matrix BLAS products: %.2f ms; ratio ms/epoch / BLAS = %.1f\n",
            ms_blas, ms_epoch / ms_blas))
cat(sprintf("paper default (200 epochs) would take at most %.1f s per fit\n", 200 * ms_epoch / 1000))
