# Regression tests for defects found by fuzzing the exported functions: each call used to
# return a wrong answer or an error that did not name the argument.

test_that("whole-number arguments beyond the integer range are refused by name", {
  X <- matrix(c(0, 1, 2, 1, 0, 2, 1, 1), 4, 2)
  expect_error(ntk_kernel(X, threads = 1e10), "`threads` must be <= 2147483647")
  expect_error(grm(X, threads = 2^31), "`threads` must be <= 2147483647")
  expect_error(simulate_genotypes(1e10, 2), "`n` must be <= 2147483647")
  expect_error(mlp_fit(matrix(rnorm(30), 10), rnorm(10), epochs = 1e10),
               "`epochs` must be <= 2147483647")
  expect_error(mlp_fit(matrix(rnorm(30), 10), rnorm(10), hidden = 3e9), "`hidden`")
  set.seed(1)
  K <- tcrossprod(matrix(rnorm(40), 10)) + diag(10)
  y <- rnorm(10)
  expect_error(ntk_lmm(y, K, method = "iminque", maxit = 1e10), "`maxit` must be <= 2147483647")
  expect_error(ntk_krr(y, K, nlambda = 1e9), "`nlambda` must be <= 10000")
  # no warning from as.integer() on the way
  expect_no_warning(try(ntk_kernel(X, threads = 1e10), silent = TRUE))
})

test_that("choices are checked by one helper; lmm methods keep partial matching", {
  expect_identical(check_choice(c("a", "b"), c("a", "b"), "x"), "a")
  expect_identical(check_choice("b", c("a", "b"), "x"), "b")
  expect_error(check_choice("c", c("a", "b"), "x"), '`x` must be one of "a", "b" \\("c" given\\)')
  expect_error(check_choice(NA, c("a", "b"), "x"), '`x` must be one of "a", "b".')
  expect_error(check_choice("a", c("ab", "b"), "x"), "must be one of")
  expect_identical(check_choice("r", c("minque1", "reml"), "x", partial = TRUE), "reml")
  expect_identical(lmm_check_method("iminq"), "iminque")
  expect_error(lmm_check_method("mle"), "`method` must be one of")
})

test_that("a kernel that overflows is an error naming the settings, never Inf/NaN", {
  set.seed(2)
  X <- matrix(rbinom(8 * 5, 2, 0.4), 8, 5)
  expect_error(ntk_kernel(X, sigma_w = 1e200, threads = 1), "`sigma_w`")
  expect_error(ntk_kernel(X, sigma_b = 1e200, threads = 1), "`sigma_b`")
  expect_error(ntk_kernel(X, sigma_w = 10, depth = 400, normalize = "unit", threads = 1),
               "non-finite")
  expect_error(ntk_kernel(X, sigma_w = 1e200, width = 4, threads = 1), "non-finite")
  Xb <- X
  Xb[1, 1] <- 1e300
  expect_error(ntk_kernel(Xb, standardize = FALSE, threads = 1), "scale of `X`")
  # ordinary settings are untouched: finite, and deep kernels with sigma_w^2 = 2 stay finite
  K <- ntk_kernel(X, depth = 50, threads = 1)
  expect_true(all(is.finite(K)))
})

test_that("ntk_krr accepts a logical covariate vector as ntk_lmm does", {
  set.seed(3)
  n <- 20
  K <- tcrossprod(matrix(rnorm(n * 5), n)) / 5
  x <- rep(c(TRUE, FALSE), n / 2)
  y <- rnorm(n) + x
  a <- ntk_krr(y, K, X = x, criterion = "gcv")
  b <- ntk_krr(y, K, X = as.numeric(x), criterion = "gcv")
  expect_equal(a$fitted.values, b$fitted.values)
  expect_equal(unname(a$beta), unname(b$beta))
})

test_that("a kernel scale that breaks the default lambda grid is reported on `K`", {
  set.seed(4)
  n <- 10
  K <- tcrossprod(matrix(rnorm(n * 3), n)) / 3 * 1e-320
  expect_error(ntk_krr(rnorm(n), K, criterion = "gcv"), "`K` has a scale")
})

test_that("simulate_genotypes refuses sizes whose draws overflow, naming `n`", {
  expect_error(simulate_genotypes(1e6, 1e6), "`n` x `p` is too large")
})

test_that("predict / coef / fitted on a damaged ntk_krr fit name `object`", {
  set.seed(5)
  n <- 15
  K <- tcrossprod(matrix(rnorm(n * 4), n)) / 4
  y <- rnorm(n)
  fit <- ntk_krr(y, K, X = rnorm(n), criterion = "loo")
  Kn <- K[1:3, ]
  for (f in c("K", "y", "alpha", "beta", "n", "offset", "lambda.min")) {
    g <- fit
    g[[f]] <- NULL
    expect_error(predict(g, Kn, X_new = 1:3), paste0("field `", f, "`"), fixed = TRUE)
    expect_error(predict(g, Kn, s = 0.3, X_new = 1:3), "`object` is not a valid")
  }
  # the covariates dropped: used to return an m x 2 matrix silently
  g <- fit
  g$X <- NULL
  expect_error(predict(g, Kn), "field `beta`", fixed = TRUE)
  expect_error(fitted(g, s = 0.3), "`object` is not a valid")
  expect_error(coef(g), "`object` is not a valid")
})

test_that("predict on a damaged ntk_lmm fit names `object`", {
  set.seed(6)
  n <- 20
  K <- tcrossprod(matrix(rnorm(n * 5), n)) / 5
  y <- rnorm(n)
  fit <- ntk_lmm(y, K, X = cbind(a = rnorm(n)))
  Kn <- K[1:3, ]
  expect_length(predict(fit, Kn, X_new = 1:3), 3L)
  for (f in c("alpha", "obs", "v_pd", "kernel_names", "b", "theta", "n")) {
    g <- fit
    g[[f]] <- NULL
    expect_error(predict(g, Kn, X_new = 1:3), paste0("field `", f, "`"), fixed = TRUE)
  }
})

test_that("one covariate check: X_new errors speak of K_new's rows; 0-row predictions", {
  set.seed(7)
  n <- 20
  K <- tcrossprod(matrix(rnorm(n * 5), n)) / 5
  x <- rnorm(n)
  y <- rnorm(n) + x
  fl <- ntk_lmm(y, K, X = cbind(a = x))
  fk <- ntk_krr(y, K, X = x, criterion = "gcv")
  # the lmm message used to say "one per element of `y`"
  expect_error(predict(fl, K[1:3, ], X_new = 1:4), "`X_new` must have 3 rows, one per row of `K_new`")
  expect_error(predict(fk, K[1:3, ], X_new = 1:4), "`X_new` must have 3 rows, one per row of `K_new`")
  # logical covariates are numbers everywhere
  xl <- c(TRUE, FALSE, TRUE)
  expect_equal(predict(fk, K[1:3, ], X_new = xl), predict(fk, K[1:3, ], X_new = as.numeric(xl)))
  expect_equal(predict(fl, K[1:3, ], X_new = xl), predict(fl, K[1:3, ], X_new = as.numeric(xl)))
  # no new individuals: no predictions (used to blame `X_new`)
  expect_identical(unname(predict(fk, K[0, ], X_new = numeric(0))), numeric(0))
  expect_identical(unname(predict(fl, K[0, ], X_new = numeric(0))), numeric(0))
  # a fit's own covariates keep their names, unnamed ones get X1, X2, ...
  expect_identical(rownames(ntk_krr(y, K, X = cbind(x, x^2), criterion = "gcv")$beta),
                   c("(Intercept)", "x", "X2"))
})

test_that("a kernel confounded with the residual is an error naming `K`", {
  set.seed(8)
  n <- 15
  y <- rnorm(n)
  # without fixed effects K22 = I exactly, so S = tr(V^-2) [1 1; 1 1] is exactly singular
  for (m in c("minque0", "minque1", "iminque", "reml"))
    expect_error(ntk_lmm(y, 3 * diag(n), intercept = FALSE, method = m),
                 "not identifiable.*`K`")
})
