# The spectral engine against dense linear algebra.

MASS_free_mvn <- function(K) {
  e <- eigen(K, symmetric = TRUE)
  e$vectors %*% (sqrt(pmax(e$values, 0)) * rnorm(nrow(K)))
}

spec_kernel <- function(n, p, seed) {
  set.seed(seed)
  Z <- scale(matrix(rbinom(n * p, 2, 0.3), n, p))
  tcrossprod(Z) / p + 0.05 * diag(n)
}

test_that("both forms give the eigenvalues of the projected kernel and an orthogonal basis", {
  K <- spec_kernel(60, 40, 1)
  X <- cbind(1, seq_len(60) / 60)
  Q2 <- qr.Q(qr(X), complete = TRUE)[, 3:60]
  ref <- eigen(crossprod(Q2, K %*% Q2), symmetric = TRUE)$values
  for (method in c("eigen", "tridiag")) {
    S <- ntk_spectral(K, X = X, method = method)
    expect_equal(S$scale, mean(diag(K)), tolerance = 1e-14)
    expect_equal(S$values * S$scale, ref, tolerance = 1e-10)
    expect_equal(S$trace * S$scale, sum(ref), tolerance = 1e-10)
    # B'B = I, B'X = 0, B T B' = P0 K P0
    B <- ntkgen:::spectral_basis(S)
    expect_equal(crossprod(B), diag(58), tolerance = 1e-10)
    expect_lt(max(abs(crossprod(B, X))), 1e-10)
    P0 <- diag(60) - X %*% solve(crossprod(X), t(X))
    T <- diag(S$d)
    T[cbind(2:58, 1:57)] <- T[cbind(1:57, 2:58)] <- S$e[1:57]
    expect_equal(S$scale * B %*% T %*% t(B), P0 %*% K %*% P0, tolerance = 1e-10)
  }
  expect_error(ntk_spectral(K, X = matrix(1, 59, 1)), "`X`")
  expect_error(ntk_spectral(K, method = "qr"), "`method`")
})

test_that("KRR coefficients at new lambdas equal dense solves, with no new factorisation", {
  K <- spec_kernel(70, 30, 2)
  set.seed(3)
  y <- rnorm(70)
  X <- cbind(age = rnorm(70))
  Z <- cbind(1, X)
  lam_new <- 10^seq(-2, 1.5, length.out = 10)
  for (criterion in c("cv", "gcv")) for (offset in c("ols", "gls")) {
    fit <- suppressWarnings(ntk_krr(y, K, X = X, criterion = criterion, offset = offset,
                                    nfolds = 4))   # noise: lambda.1se may top the grid
    for (l in lam_new) {
      a <- coef(fit, s = l)
      V <- K + l * diag(70)
      if (offset == "ols") {
        b <- qr.coef(qr(Z), y)
      } else {
        Vi <- solve(V)
        b <- drop(solve(t(Z) %*% Vi %*% Z, t(Z) %*% Vi %*% y))
      }
      expect_equal(unname(attr(a, "beta")), unname(b), tolerance = 1e-10)
      expect_equal(unname(as.vector(a)), drop(solve(V, y - Z %*% b)), tolerance = 1e-10,
                   info = paste(criterion, offset, l))
    }
  }
})

test_that("CV by the tridiagonal form equals dense per-fold solves", {
  K <- spec_kernel(50, 20, 4)
  set.seed(5)
  y <- rnorm(50)
  fold <- rep(1:5, 10)
  lam <- c(2, 0.5, 0.1)
  for (offset in c("ols", "gls")) {
    fit <- ntk_krr(y, K, foldid = fold, lambda = lam, offset = offset)
    for (f in 1:5) {
      tr <- fold != f
      for (l in seq_along(lam)) {
        V <- K[tr, tr] + lam[l] * diag(sum(tr))
        b <- if (offset == "ols") mean(y[tr]) else {
          Vi <- solve(V); sum(Vi %*% y[tr]) / sum(Vi)
        }
        pred <- b + K[!tr, tr] %*% solve(V, y[tr] - b)
        expect_equal(fit$fit.preval[!tr, l], drop(pred), tolerance = 1e-10)
      }
    }
  }
})

test_that("the LMM from an eigen or a tridiagonal decomposition is the same fit", {
  K <- spec_kernel(80, 30, 6)
  set.seed(7)
  y <- drop(MASS_free_mvn(K)) + rnorm(80)
  X <- cbind(1, rnorm(80))
  for (method in c("minque0", "minque1", "iminque", "reml")) {
    a <- ntk_lmm(y, K, X = X[, 2], method = method)
    S <- ntk_spectral(K, X = X, method = "eigen")
    b <- ntk_lmm(y, K, X = X[, 2], method = method, spectral = S)
    expect_equal(b$theta, a$theta, tolerance = 1e-9)
    expect_equal(b$se, a$se, tolerance = 1e-8)
    expect_equal(b$b, a$b, tolerance = 1e-9)
    expect_equal(b$loglik, a$loglik, tolerance = 1e-9)
    expect_equal(b$fitted.values, a$fitted.values, tolerance = 1e-9)
  }
  expect_error(ntk_lmm(y, K, spectral = S), "`spectral`.*column")
  expect_error(ntk_lmm(y, K, X = X[, 2], spectral = ntk_spectral(K[1:40, 1:40])), "`spectral`")
})

test_that("a thin basis of a low-rank kernel gives the fits of the full decomposition", {
  set.seed(8)
  Z <- scale(matrix(rbinom(90 * 20, 2, 0.4), 90, 20))
  K <- tcrossprod(Z) / 20                    # rank 20 (p = 20 SNPs < n = 90)
  y <- drop(Z %*% rnorm(20, sd = 0.3)) + rnorm(90)
  X <- cbind(1, rnorm(90))
  S <- ntk_spectral(K, X = X, method = "eigen", rank = 20)
  expect_equal(S$r, 20L)
  expect_equal(length(S$basis), 90L * 20L)
  for (method in c("minque1", "reml")) {
    a <- ntk_lmm(y, K, X = X[, 2], method = method)
    b <- ntk_lmm(y, K, X = X[, 2], method = method, spectral = S)
    expect_equal(b$theta, a$theta, tolerance = 1e-8)
    expect_equal(b$se, a$se, tolerance = 1e-7)
    expect_equal(b$b, a$b, tolerance = 1e-8)
    expect_equal(b$loglik, a$loglik, tolerance = 1e-8)
    expect_equal(b$fitted.values, a$fitted.values, tolerance = 1e-8)
  }
  # KRR (GLS offset, CV) from the thin basis: the dense solve at every lambda
  S1 <- ntk_spectral(K, X = X, method = "eigen", rank = 20)
  fit <- ntk_krr(y, K, X = X[, 2], offset = "gls", foldid = rep(1:3, 30), spectral = S1)
  for (l in c(0.1, 1, 10)) {
    V <- K + l * diag(90)
    Vi <- solve(V)
    b <- drop(solve(t(X) %*% Vi %*% X, t(X) %*% Vi %*% y))
    a <- coef(fit, s = l)
    expect_equal(unname(attr(a, "beta")), b, tolerance = 1e-8)
    expect_equal(unname(as.vector(a)), drop(Vi %*% (y - X %*% b)), tolerance = 1e-8)
  }
  S0 <- ntk_spectral(K, method = "eigen", rank = 20)   # unprojected: rank 20 too
  fo <- ntk_krr(y, K, foldid = rep(1:3, 30), spectral = S0)
  a <- coef(fo, s = 2)
  yc <- y - mean(y)
  expect_equal(unname(as.vector(a)), drop(solve(K + 2 * diag(90), yc)), tolerance = 1e-8)
  expect_error(ntk_krr(y, K, criterion = "gcv", spectral = S0), "`spectral`.*all eigenvectors")
  expect_error(ntk_spectral(K, rank = 5), "`rank`.*eigen")
})

test_that("fits do not depend on the kernel's magnitude (the engine's scaled form)", {
  K <- spec_kernel(80, 30, 9)
  set.seed(10)
  y <- drop(MASS_free_mvn(K)) + rnorm(80)
  a <- ntk_lmm(y, K, method = "reml")
  for (s in c(1e-300, 1e-150, 1e150, 1e300)) {
    b <- ntk_lmm(y, K * s, method = "reml")
    expect_equal(b$h2, a$h2, tolerance = 1e-8, info = format(s))
    expect_equal(b$theta[1] * s, a$theta[1], tolerance = 1e-8, info = format(s))
    expect_equal(b$fitted.values, a$fitted.values, tolerance = 1e-8)
    k1 <- ntk_krr(y, K, criterion = "gcv")
    k2 <- ntk_krr(y, K * s, criterion = "gcv")
    expect_equal(k2$index, k1$index)
    expect_equal(k2$fitted.values, k1$fitted.values, tolerance = 1e-8)
  }
})

test_that("KRR's lambda choice does not depend on the phenotype's magnitude", {
  K <- spec_kernel(60, 30, 11)
  set.seed(12)
  y <- drop(MASS_free_mvn(K)) + rnorm(60)
  for (crit in c("gcv", "loo", "cv")) {
    set.seed(1); a <- ntk_krr(y, K, criterion = crit, nfolds = 3)
    for (s in c(1e-200, 1e200)) {
      set.seed(1); b <- ntk_krr(y * s, K, criterion = crit, nfolds = 3)
      expect_equal(b$index, a$index, info = paste(crit, s))
      expect_equal(b$fitted.values / s, a$fitted.values, tolerance = 1e-8)
    }
  }
  expect_error(ntk_lmm(y * 1e200, K), "beyond double precision")
})

test_that("the band form (m >= 256) gives the fits of the eigendecomposition and dense solves", {
  K <- spec_kernel(330, 120, 13)
  set.seed(14)
  y <- drop(MASS_free_mvn(K)) * 0.7 + rnorm(330)
  X <- cbind(age = rnorm(330))
  S <- ntk_spectral(K, X = cbind(1, X))
  if (S$mode != 2L) skip("LAPACK without dsytrd_sy2sb: no band form in this build")
  Xf <- cbind(1, X)
  P0 <- diag(330) - Xf %*% solve(crossprod(Xf), t(Xf))
  expect_equal(S$values * S$scale, eigen(P0 %*% K %*% P0, symmetric = TRUE)$values[1:328],
               tolerance = 1e-9)
  for (method in c("minque1", "reml")) {
    a <- ntk_lmm(y, K, X = X, method = method, spectral = ntk_spectral(K, X = Xf, method = "eigen"))
    b <- ntk_lmm(y, K, X = X, method = method)
    expect_equal(b$theta, a$theta, tolerance = 1e-8)
    expect_equal(b$se, a$se, tolerance = 1e-7)
    expect_equal(b$loglik, a$loglik, tolerance = 1e-8)
    expect_equal(b$b, a$b, tolerance = 1e-8)
    expect_equal(b$fitted.values, a$fitted.values, tolerance = 1e-8)
  }
  # KRR: the fit at new lambdas and a CV fold (training set of 264 >= 256) against dense
  fit <- ntk_krr(y, K, X = X, offset = "gls", foldid = rep(1:5, 66), lambda = c(3, 1, 0.3))
  l <- 0.5
  V <- K + l * diag(330); Vi <- solve(V)
  bb <- drop(solve(t(Xf) %*% Vi %*% Xf, t(Xf) %*% Vi %*% y))
  a <- coef(fit, s = l)
  expect_equal(unname(attr(a, "beta")), unname(bb), tolerance = 1e-9)
  expect_equal(unname(as.vector(a)), drop(Vi %*% (y - Xf %*% bb)), tolerance = 1e-9)
  tr <- rep(1:5, 66) != 1
  Vt <- K[tr, tr] + 1 * diag(sum(tr)); Vti <- solve(Vt)
  Xt <- Xf[tr, ]
  bt <- drop(solve(t(Xt) %*% Vti %*% Xt, t(Xt) %*% Vti %*% y[tr]))
  pred <- Xf[!tr, ] %*% bt + K[!tr, tr] %*% (Vti %*% (y[tr] - Xt %*% bt))
  expect_equal(fit$fit.preval[!tr, 2], drop(pred), tolerance = 1e-9)
  # PEV through the band factor
  Kn <- K[1:5, ]
  p <- ntk_lmm(y, K, X = X, method = "reml")
  sg <- p$theta[1]; se <- p$theta[2]
  Vv <- sg * K + se * diag(330); Vvi <- solve(Vv)
  P <- Vvi - Vvi %*% Xf %*% solve(t(Xf) %*% Vvi %*% Xf, t(Xf) %*% Vvi)
  q <- ntkgen:::lmm_pev(p, Kn, diag(K)[1:5])$pev
  expect_equal(q, sg * diag(K)[1:5] - sg^2 * rowSums((Kn %*% P) * Kn), tolerance = 1e-8)
})

test_that("the O(n^2) routines refuse work beyond the memory option before allocating", {
  K <- spec_kernel(60, 20, 15)
  y <- rnorm(60)
  old <- options(ntkgen.max_kernel_gb = 1e-6)
  on.exit(options(old))
  expect_error(ntk_lmm(y, K), "`K` needs about .* GB of memory for .*ntkgen.max_kernel_gb")
  expect_error(ntk_lmm(y, list(a = K, b = K^2)), "`K` needs about .*ntkgen.max_kernel_gb")
  expect_error(ntk_krr(y, K, nfolds = 3), "`K` needs about .*ntkgen.max_kernel_gb")
})

test_that("REML on the boundary of a rank-deficient kernel says the likelihood has no maximum", {
  set.seed(44)
  Z <- scale(matrix(rbinom(60 * 10, 2, 0.4), 60, 10))
  K <- tcrossprod(Z) / 10                       # rank 9 after centring
  y <- drop(Z %*% rnorm(10))                    # no noise: y in the column space of K
  expect_warning(f <- ntk_lmm(y, K, method = "reml"), "no maximum")
  expect_lt(unname(f$theta[2]), 1e-3 * f$vp)
})
