# Kernel engine: standardisation, missing values and bad input.

strip <- function(K) { attributes(K) <- list(dim = dim(K)); K }

geno <- function(n, p, seed) {
  set.seed(seed)
  matrix(rbinom(n * p, 2, 0.3), n, p)
}

test_that("standardisation uses the training means and sds and drops constant columns", {
  X <- geno(20, 15, 1)
  Xs <- scale(X)
  expect_equal(strip(ntk_kernel(X, threads = 1)),
               strip(ntk_kernel(Xs, standardize = FALSE, threads = 1)), tolerance = 1e-13)
  Xc <- X
  Xc[, c(3, 9)] <- 2
  expect_warning(K <- ntk_kernel(Xc, threads = 1), "constant")
  expect_equal(strip(K), strip(ntk_kernel(Xc[, -c(3, 9)], threads = 1)), tolerance = 1e-13)
  expect_identical(attr(K, "ntk")$keep, setdiff(1:15, c(3, 9)))
  expect_error(suppressWarnings(ntk_kernel(matrix(1, 5, 3), threads = 1)), "X")
  # data frames work like matrices
  expect_equal(strip(ntk_kernel(as.data.frame(X), threads = 1)),
               strip(ntk_kernel(X, threads = 1)))
})

test_that("missing genotypes are imputed by the training column mean, with a message", {
  X <- geno(30, 12, 2)
  Z <- geno(6, 12, 3)
  X[cbind(c(1, 5, 9), c(2, 2, 7))] <- NA
  Z[2, 4] <- NA
  mu <- colMeans(X, na.rm = TRUE)
  s <- apply(X, 2, sd, na.rm = TRUE)
  Xs <- scale(X, mu, s); Xs[is.na(Xs)] <- 0
  Zs <- scale(Z, mu, s); Zs[is.na(Zs)] <- 0
  expect_message(K <- ntk_kernel(X, threads = 1), "imputed 3")
  expect_equal(strip(K), strip(ntk_kernel(Xs, standardize = FALSE, threads = 1)),
               tolerance = 1e-13)
  expect_message(expect_message(Kz <- ntk_kernel(X, Z, depth = 1, threads = 1), "X"), "Z")
  expect_equal(strip(Kz), strip(ntk_kernel(Xs, Zs, depth = 1, standardize = FALSE,
                                           threads = 1)), tolerance = 1e-13)
  expect_message(G <- grm(X, threads = 1), "imputed")
  expect_equal(strip(G), tcrossprod(Xs) / 12, tolerance = 1e-13)
})

test_that("bad input is an error naming the argument", {
  X <- geno(10, 5, 4)
  Xi <- X; Xi[2, 3] <- Inf
  Xn <- X; Xn[2, 3] <- NaN
  Xa <- X; Xa[4, 1] <- NA
  Xall <- X; Xall[, 2] <- NA
  expect_error(ntk_kernel(Xi), "`X`.*infinite")
  expect_error(ntk_kernel(Xn), "`X`.*NaN")
  expect_error(ntk_kernel(matrix(letters[1:20], 10, 2)), "`X`")
  expect_error(ntk_kernel(data.frame(a = 1:3, b = letters[1:3])), "`X`")
  expect_error(ntk_kernel(list(1, 2)), "`X`")
  expect_error(ntk_kernel(1:10), "`X`")
  expect_error(ntk_kernel(Xa, standardize = FALSE), "`X`.*missing")
  expect_error(ntk_kernel(X, Xa[3:5, ], standardize = FALSE), "`Z`.*missing")
  expect_error(ntk_kernel(Xall), "`X`.*only missing")
  expect_error(grm(Xall), "`X`.*only missing")
  expect_error(ntk_kernel(X, X[, 1:4]), "`Z`.*columns")
  Xn <- X; colnames(Xn) <- paste0("snp", 1:5)
  expect_error(ntk_kernel(Xn, Xn[1:3, 5:1]), "`Z`.*names")
  expect_error(ntk_kernel(X, X[1:2, ] + Inf), "`Z`")
  expect_error(ntk_kernel(X[1, , drop = FALSE]), "`X`.*at least 2 rows")
  expect_error(ntk_kernel(X, depth = 0), "`depth`")
  expect_error(ntk_kernel(X, depth = 1.5), "`depth`")
  expect_error(ntk_kernel(X, depth = NA), "`depth`")
  expect_error(ntk_kernel(X, width = 0), "`width`")
  expect_error(ntk_kernel(X, width = 2.5), "`width`")
  expect_error(ntk_kernel(X, width = -Inf), "`width`")
  expect_error(ntk_kernel(X, width = "wide"), "`width`")
  expect_error(ntk_kernel(X, sigma_w = -1), "`sigma_w`")
  expect_error(ntk_kernel(X, sigma_b = -0.1), "`sigma_b`")
  expect_error(ntk_kernel(X, sigma_w = Inf), "`sigma_w`")
  expect_error(ntk_kernel(X, normalize = "max"), "`normalize`")
  expect_error(ntk_kernel(X, n_init = 0), "`n_init`")
  expect_error(ntk_kernel(X, standardize = NA), "`standardize`")
  expect_error(ntk_kernel(X, threads = 0), "`threads`")
  expect_error(ntk_kernel(X, device = "gpu"), "`device`")
  expect_error(grm(X, normalize = 2), "`normalize`")
})

test_that("a kernel too large for the memory limit is refused before allocation", {
  X <- geno(10, 5, 5)
  old <- options(ntkgen.max_kernel_gb = 1e-7)
  on.exit(options(old))
  expect_error(ntk_kernel(X), "`X`.*ntkgen.max_kernel_gb")
  expect_error(grm(X), "ntkgen.max_kernel_gb")
})

test_that("device = \"cuda\" without CUDA is a clear error; \"cpu\" always works", {
  X <- geno(10, 5, 6)
  if (!ntkgen_has_cuda(device = TRUE)) {
    expect_error(ntk_kernel(X, device = "cuda"), "`device`")
  }
  K <- ntk_kernel(X, device = "cpu", threads = 1)
  expect_identical(attr(K, "ntk")$device, "cpu")
  if (!ntkgen_has_cuda()) {
    expect_identical(attr(ntk_kernel(X, device = "auto", threads = 1), "ntk")$device, "cpu")
  }
})
