# Memory planned before it is spent (R/memory.R): every export that allocates O(n^2) or
# more refuses, before allocating, work beyond getOption("ntkgen.max_kernel_gb") with an
# error naming the size and the option; the estimators agree with closed forms.  The
# estimates against measured peaks: inst/bench/memory.R.

gb_error <- "needs about [0-9.e+-]+ GB of memory for .*options\\(ntkgen\\.max_kernel_gb = [0-9]+\\)"

mem_data <- function(n = 60, p = 20) {
  set.seed(1)
  G <- matrix(rbinom(n * p, 2, 0.3) + 0, n, p)
  K <- ntk_kernel(G, threads = 1)
  list(G = G, K = K, y = rnorm(n))
}

last_estimate <- function() ntkgen:::ntk_state$memory_check$bytes

test_that("the guard names the size, what it is for and the option to raise", {
  old <- options(ntkgen.max_kernel_gb = 1)
  on.exit(options(old))
  expect_silent(ntkgen:::check_memory(0.5 * 1024^3, "K", "a test"))
  expect_error(ntkgen:::check_memory(2.5 * 1024^3, "K", "the decomposition of a test"),
               paste0("`K` needs about 2.5 GB of memory for the decomposition of a test, ",
                      "more than the limit of 1 GB; raise it with ",
                      "options\\(ntkgen.max_kernel_gb = 4\\)"))
  expect_identical(last_estimate(), 2.5 * 1024^3)
  options(ntkgen.max_kernel_gb = "a lot")
  expect_error(ntkgen:::check_memory(1, "K", "x"), "ntkgen.max_kernel_gb")
})

test_that("every O(n^2) export refuses at a tiny limit, before allocating", {
  d <- mem_data()
  G <- d$G; K <- d$K; y <- d$y
  kfit <- ntk_kare(G, y, depth = 1, steps = 0, threads = 1)
  prefix <- sub("\\.bed$", "", system.file("extdata", "sim.bed", package = "ntkgen"))
  old <- options(ntkgen.max_kernel_gb = 1e-9)
  on.exit(options(old))
  expect_error(ntk_kernel(G, threads = 1), paste0("`X` ", gb_error))
  expect_error(ntk_kernel(G, width = 64, threads = 1), gb_error)
  expect_error(ntk_kernel(G[1:40, ], G[41:60, ], threads = 1), gb_error)
  expect_error(grm(G, threads = 1), gb_error)
  expect_error(ntk_kernel_like(K, G[1:5, ], threads = 1), gb_error)
  expect_error(ntk_spectral(K), paste0("`K` ", gb_error))
  expect_error(ntk_spectral(K, method = "eigen"), gb_error)
  expect_error(ntk_lmm(y, K), paste0("`K` ", gb_error))
  expect_error(ntk_lmm(y, list(a = K, b = K^2), method = "reml"), gb_error)
  expect_error(ntk_krr(y, K, nfolds = 3), paste0("`K` ", gb_error))
  expect_error(ntk_krr(y, K, criterion = "loo"), gb_error)
  expect_error(ntk_krr(y, K, lambda = 1, criterion = "gcv"), gb_error)
  expect_error(mlp_fit(G, y, epochs = 1), paste0("`hidden` ", gb_error))
  expect_error(ntk_kare(G, y, depth = 1, steps = 1, threads = 1), paste0("`X` ", gb_error))
  expect_error(ntk_kare(G, y, depth = 1, width = 32, steps = 1, threads = 1), gb_error)
  expect_error(kare_kernel(kfit, threads = 1), paste0("`object` ", gb_error))
  expect_error(read_plink(prefix, threads = 1), paste0("`prefix` ", gb_error))
  expect_error(grm(prefix, threads = 1), gb_error)
  expect_error(ntk_kernel(prefix, width = 16, threads = 1), gb_error)
  expect_error(ntk_cv(G, y, methods = "gblup", nfolds = 3, threads = 1, progress = FALSE),
               paste0("`genotypes` ", gb_error))
  expect_error(ntk_study(n = 30, p = 5, reps = 1, methods = "gblup", threads = 1,
                         progress = FALSE), paste0("`n` ", gb_error))
})

test_that("requests far beyond the default limit are refused at once, not attempted", {
  X <- matrix(rnorm(2e5 * 2), 2e5, 2)          # its kernel would need 320 GB
  t0 <- proc.time()[["elapsed"]]
  expect_error(grm(X, threads = 1), "needs about 29[0-9] GB .* limit of 16 GB")
  expect_error(ntk_kernel(X, threads = 1), "ntkgen.max_kernel_gb")
  expect_lt(proc.time()[["elapsed"]] - t0, 5)
})

test_that("the guards check the estimators' values", {
  d <- mem_data(80, 30)
  old <- options(ntkgen.max_kernel_gb = 1e-9)
  on.exit(options(old))
  try(ntk_kernel(d$G, depth = 3, threads = 1), silent = TRUE)
  expect_identical(last_estimate(), ntkgen:::mem_kernel(80, 0, 30, "analytic", Inf, 3))
  try(ntk_kernel(d$G[1:50, ], d$G[51:80, ], width = 64, depth = 2, threads = 1), silent = TRUE)
  expect_identical(last_estimate(), ntkgen:::mem_kernel(50, 30, 30, "empirical", 64, 2))
  try(ntk_spectral(d$K, method = "eigen"), silent = TRUE)
  expect_identical(last_estimate(), ntkgen:::mem_spectral(80, 0, "eigen"))
  y <- d$y; y[1:8] <- NA
  try(ntk_lmm(y, list(a = d$K, b = d$K^2)), silent = TRUE)
  expect_identical(last_estimate(), ntkgen:::mem_lmm(80, 72, 2, 1, "minque1"))
  try(ntk_krr(d$y, d$K, criterion = "loo"), silent = TRUE)
  expect_identical(last_estimate(), ntkgen:::mem_krr(80, 80, "loo", 41))
  try(ntk_krr(d$y, d$K, nfolds = 4), silent = TRUE)
  expect_identical(last_estimate(), ntkgen:::mem_krr(80, 80, "cv", 41, 60))
})

test_that("the estimators agree with closed forms", {
  n <- 1e4; p <- 10; b <- 8 * n^2                   # one dense n x n kernel, in bytes
  near <- function(x, y) expect_equal(x, y, tolerance = 1e-2)
  # kernels: the result, the standardised genotypes, O(n) work (GRM, analytic)
  near(ntkgen:::mem_kernel(n, 0, p, "grm"), b + 8 * n * p)
  near(ntkgen:::mem_kernel(n, 0, p, "analytic", depth = 3, standardize = FALSE), b)
  near(ntkgen:::mem_kernel(n, 2000, p, "analytic"), 8 * 2000 * n + 8 * (n + 2000) * p)
  # empirical: + activations and back-signals 2 L n w, the weights, two n x 512 Grams
  w <- 256; L <- 2
  near(ntkgen:::mem_kernel(n, 0, p, "empirical", w, L),
       b + 8 * (n * p + 2 * L * n * w + w * p + (L - 1) * w^2 + 2 * 512 * n))
  # an integer copy counts only when larger than the kernel (it is dropped before)
  expect_identical(ntkgen:::mem_kernel(n, 0, p, "grm", convert = TRUE),
                   ntkgen:::mem_kernel(n, 0, p, "grm"))
  near(ntkgen:::mem_kernel(100, 0, 1e6, "grm", convert = TRUE), 2 * 8 * 100 * 1e6)
  # decompositions: work copy + reflectors (tridiag), work copy + dsyevd's 2 n^2 (eigen)
  near(ntkgen:::mem_spectral(n, 0, "tridiag"), 2 * b)
  near(ntkgen:::mem_spectral(n, 1, "eigen"), 3 * b)
  # LMM: one kernel is its decomposition; q kernels dense
  near(ntkgen:::mem_lmm(n), 2 * b)
  near(ntkgen:::mem_lmm(n, q = 2, method = "minque1"), (3 * 2 + 4 + 4.5) * b)
  near(ntkgen:::mem_lmm(n, q = 3, method = "reml"), (2 * 3 + 2 + 4.5) * b)
  near(ntkgen:::mem_lmm(n, 0.9 * n, q = 2, method = "reml"), (2 + 6 + 4.5) * 0.81 * b)
  # KRR: 5-fold CV = the fit's reflectors + a fold's copy and reflectors + its test block
  near(ntkgen:::mem_krr(n, nlambda = 1), (1 + 2 * 0.8^2 + 0.2 * 0.8) * b)
  # GCV / KARE: the tridiagonal form (the kernel's copy + its reflectors); LOO: eigenvectors
  near(ntkgen:::mem_krr(n, criterion = "gcv", nlambda = 1), 2 * b)
  near(ntkgen:::mem_krr(n, criterion = "loo", nlambda = 1), 3 * b)
  near(ntkgen:::mem_krr(n, criterion = "loo", nlambda = 1, gls = TRUE, spectral = TRUE), b)
  # KARE: (2 L + 5) n^2 analytic; 4 n^2 plus activations in network mode
  near(ntkgen:::mem_kare(n, p, depth = 1:3), (2 * 3 + 5) * b + 8 * (2 * n * p + 2 * n * p))
  # MLP: two n x p copies and 5 copies of the parameters dominate
  near(ntkgen:::mem_mlp(1e5, 1e3, 50, batch_size = 32, validation = 0),
       8 * (2 * 1e5 * 1e3 + 5 * (1e3 * 50 + 2 * 50 + 51)))
  # PLINK: the kernel, or its lower half beside the two blocks while streaming
  near(ntkgen:::mem_plink_kernel(n, 0, 1e5, "grm", block = 1024), b)
  near(ntkgen:::mem_plink_kernel(3000, 0, 1e5, "grm", block = 1024),
       8 * (3000 * 3001 / 2 + 512 * 3000 + 2 * 3000 * 1024))
  near(ntkgen:::mem_read_plink(n, 1e5), 8 * n * 1e5)
  # cross-validation over kernels of all individuals: they, a fold's blocks, its fit
  ntr <- 0.8 * n; nte <- 0.2 * n
  near(ntkgen:::mem_cv(n, p, ntr, nte, "gblup"),
       b + 8 * (ntr^2 + nte * ntr) + ntkgen:::mem_lmm(ntr))
  # a study replicate: training kernel, test block and shared decomposition held
  near(ntkgen:::mem_study(n, ntr, p, c("ntk_lmm", "ntk_krr"), shared = TRUE),
       8 * (ntr^2 + nte * ntr + ntr^2) + ntkgen:::mem_krr(ntr, spectral = TRUE))
})
