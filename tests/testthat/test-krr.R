# ntk_krr(): every number checked against plain dense R written here.

# PSD kernels built in the test: a linear GRM of standardised genotypes and an
# elementwise exp() of it (PSD by the Schur product theorem: power series with
# non-negative coefficients).
krr_data <- function(n = 70, p = 40, seed = 1, nonlinear = FALSE, n_na = 0) {
  set.seed(seed)
  G <- scale(matrix(rbinom(n * p, 2, 0.35), n, p))
  K <- tcrossprod(G) / p
  if (nonlinear) K <- exp(K / 2)
  y <- drop(G[, 1:8] %*% rnorm(8, sd = 0.4)) + rnorm(n) + 2
  if (n_na > 0) y[sample(n, n_na)] <- NA
  list(y = y, K = K, G = G, X = cbind(age = rnorm(n), sex = rbinom(n, 1, 0.5)))
}

# Explicit R loop: per fold, offset from the training fold only (mean, or OLS on
# cbind(1, X)), KRR solve on the training kernel, held-out squared errors; cvm and
# cvsd as cv.glmnet (grouped, fold-size weights).
cv_loop <- function(y, K, foldid, lambda, X = NULL) {
  obs <- which(!is.na(y))
  folds <- sort(unique(foldid[obs]))
  raw <- matrix(NA_real_, length(folds), length(lambda))
  pred <- matrix(NA_real_, length(y), length(lambda))
  for (k in seq_along(folds)) {
    tr <- obs[foldid[obs] != folds[k]]
    te <- obs[foldid[obs] == folds[k]]
    if (is.null(X)) {
      off_tr <- rep(mean(y[tr]), length(tr))
      off_te <- rep(mean(y[tr]), length(te))
    } else {
      Z <- cbind(1, X)
      b <- lm.fit(Z[tr, , drop = FALSE], y[tr])$coefficients
      off_tr <- drop(Z[tr, , drop = FALSE] %*% b)
      off_te <- drop(Z[te, , drop = FALSE] %*% b)
    }
    for (l in seq_along(lambda)) {
      a <- solve(K[tr, tr] + lambda[l] * diag(length(tr)), y[tr] - off_tr)
      p <- off_te + drop(K[te, tr, drop = FALSE] %*% a)
      pred[te, l] <- p
      raw[k, l] <- mean((y[te] - p)^2)
    }
  }
  w <- as.numeric(table(factor(foldid[obs], levels = folds)))
  cvm <- colSums(raw * w) / sum(w)
  cvsd <- sqrt(colSums(w * sweep(raw, 2, cvm)^2) / sum(w) / (length(folds) - 1))
  cvmin <- min(cvm)
  lmin <- max(lambda[cvm <= cvmin])
  imin <- match(lmin, lambda)
  l1se <- max(lambda[cvm <= cvm[imin] + cvsd[imin]])
  list(raw = raw, pred = pred, cvm = cvm, cvsd = cvsd, lambda.min = lmin, lambda.1se = l1se)
}

test_that("default grid: 41 values, mean(diag(K)) * 10^(4 .. -4), decreasing", {
  d <- krr_data(n_na = 3)
  fit <- ntk_krr(d$y, d$K, criterion = "gcv")
  md <- mean(diag(d$K)[!is.na(d$y)])
  expect_equal(fit$lambda, md * 10^seq(4, -4, length.out = 41), tolerance = 1e-12)
  expect_equal(fit$lambda_kare, fit$lambda / sum(!is.na(d$y)))
  fit2 <- ntk_krr(d$y, d$K, lambda = c(0.1, 10, 1), criterion = "gcv")
  expect_identical(fit2$lambda, c(10, 1, 0.1))
})

test_that("CV errors equal an explicit R loop over the same foldid and grid", {
  d <- krr_data(n = 80, n_na = 4, nonlinear = TRUE, seed = 2)
  foldid <- rep(c("a", "b", "c", "d", "e"), length.out = 80)
  foldid[is.na(d$y)] <- NA
  lam <- exp(seq(log(50), log(1e-3), length.out = 15))
  fit <- suppressWarnings(ntk_krr(d$y, d$K, lambda = lam, foldid = foldid))  # 1se may top the grid
  ref <- cv_loop(d$y, d$K, foldid, sort(lam, decreasing = TRUE))
  expect_equal(fit$cvraw, ref$raw, tolerance = 1e-8)
  expect_equal(fit$cvm, ref$cvm, tolerance = 1e-8)
  expect_equal(fit$cvsd, ref$cvsd, tolerance = 1e-8)
  expect_equal(fit$fit.preval, ref$pred, tolerance = 1e-8)
  expect_identical(fit$lambda.min, ref$lambda.min)
  expect_identical(fit$lambda.1se, ref$lambda.1se)
  expect_true(fit$lambda.1se >= fit$lambda.min)
  expect_identical(fit$nfolds, 5L)
  expect_true(all(is.na(fit$foldid[is.na(d$y)])))
})

test_that("CV with covariates regresses them out within each training fold", {
  d <- krr_data(n = 75, seed = 3, n_na = 2)
  y <- d$y + drop(d$X %*% c(0.5, -1))
  set.seed(11)
  foldid <- sample(rep(1:4, length.out = 75))
  lam <- c(20, 2, 0.2, 0.02)
  fit <- ntk_krr(y, d$K, lambda = lam, foldid = foldid, X = d$X)
  ref <- cv_loop(y, d$K, foldid, lam, X = d$X)
  expect_equal(fit$cvraw, ref$raw, tolerance = 1e-8)
  expect_equal(fit$cvsd, ref$cvsd, tolerance = 1e-8)
  expect_equal(fit$fit.preval, ref$pred, tolerance = 1e-8)
  expect_identical(fit$lambda.min, ref$lambda.min)
  expect_identical(fit$lambda.1se, ref$lambda.1se)
  obs <- !is.na(y)
  expect_equal(unname(fit$beta[, 1]), unname(lm.fit(cbind(1, d$X)[obs, ], y[obs])$coefficients),
               tolerance = 1e-10)
})

test_that("folds come from R's RNG: set.seed reproduces them", {
  d <- krr_data(n = 50, n_na = 5, seed = 4)
  set.seed(99)
  fit <- ntk_krr(d$y, d$K, nfolds = 4, lambda = c(1, 0.1))
  set.seed(99)
  f <- rep(NA_integer_, 50)
  f[!is.na(d$y)] <- sample(rep(1:4, length.out = 45))
  expect_identical(fit$foldid, f)
  set.seed(99)
  fit2 <- ntk_krr(d$y, d$K, nfolds = 4, lambda = c(1, 0.1))
  expect_identical(fit2$cvm, fit$cvm)
})

test_that("predictions equal K_new (K + lambda I)^-1 (y - mean) + mean at the chosen lambda", {
  d <- krr_data(n = 90, nonlinear = TRUE, seed = 5)
  tr <- 1:70; te <- 71:90
  y <- d$y[tr]; y[c(3, 10)] <- NA
  K <- d$K[tr, tr]; Knew <- d$K[te, tr]
  fit <- ntk_krr(y, K, nfolds = 5)
  obs <- which(!is.na(y))
  mu <- mean(y[obs])
  ref <- function(lam) {
    a <- solve(K[obs, obs] + lam * diag(length(obs)), y[obs] - mu)
    list(pred = drop(Knew[, obs] %*% a) + mu, fitted = drop(K[, obs] %*% a) + mu, a = a)
  }
  for (s in list("lambda.min", "lambda.1se", 0.37)) {
    lam <- if (is.character(s)) fit[[s]] else s
    r <- ref(lam)
    expect_equal(predict(fit, Knew, s = s), r$pred, tolerance = 1e-8)
    expect_equal(unname(fitted(fit, s = s)), r$fitted, tolerance = 1e-8)
    cf <- coef(fit, s = s)
    expect_equal(unname(cf[obs]), r$a, tolerance = 1e-8)
    expect_identical(unname(cf[-obs]), c(0, 0))
    expect_identical(attr(cf, "lambda"), lam)
  }
  # NA individuals are predicted from the kernel
  r <- ref(fit$lambda.min)
  expect_equal(unname(fitted(fit)[c(3, 10)]), r$fitted[c(3, 10)], tolerance = 1e-8)
  expect_true(all(is.na(residuals(fit)[c(3, 10)])))
  expect_equal(unname(residuals(fit)[obs]), y[obs] - r$fitted[obs], tolerance = 1e-8)
  expect_equal(predict(fit), fitted(fit))
})

test_that("predictions with covariates add the OLS offset back", {
  d <- krr_data(n = 60, seed = 6)
  y <- d$y + drop(d$X %*% c(1, 2))
  tr <- 1:45; te <- 46:60
  fit <- ntk_krr(y[tr], d$K[tr, tr], X = d$X[tr, ], criterion = "loo")
  Z <- cbind(1, d$X)
  b <- lm.fit(Z[tr, ], y[tr])$coefficients
  a <- solve(d$K[tr, tr] + fit$lambda.min * diag(45), y[tr] - drop(Z[tr, ] %*% b))
  expect_equal(predict(fit, d$K[te, tr], X_new = d$X[te, ]),
               drop(d$K[te, tr] %*% a + Z[te, ] %*% b), tolerance = 1e-8)
  expect_error(predict(fit, d$K[te, tr]), "`X_new`")
  expect_error(predict(fit, d$K[te, tr], X_new = d$X[te, 1, drop = FALSE]), "`X_new`")
})

# Dense closed-form criteria with the OLS offset counted in the smoother:
# S = P_Z + H (I - P_Z), H = K (K + lambda I)^-1, P_Z = Z (Z'Z)^-1 Z'.
dense_criteria <- function(K, y, Z, lam) {
  n <- length(y)
  I <- diag(n)
  PZ <- Z %*% solve(crossprod(Z), t(Z))
  yc <- drop((I - PZ) %*% y)
  out <- matrix(NA_real_, length(lam), 3, dimnames = list(NULL, c("kare", "gcv", "loo")))
  for (l in seq_along(lam)) {
    A <- solve(K / n + lam[l] / n * I)  # KARE: ridge on K / n with l = lambda / n
    out[l, "kare"] <- (sum((A %*% yc)^2) / n) / (sum(diag((I - PZ) %*% A)) / n)^2
    H <- K %*% solve(K + lam[l] * I)
    S <- PZ + H %*% (I - PZ)
    r <- drop((I - S) %*% y)
    out[l, "gcv"] <- n * sum(r^2) / sum(diag(I - S))^2
    # exact LOO of the two-stage fit: OLS deletion formula + KRR LOO identity
    c_i <- diag((I - H) %*% PZ)
    e <- (drop((I - H) %*% yc) + c_i * yc / (1 - diag(PZ))) / (1 - diag(H))
    out[l, "loo"] <- mean(e^2)
  }
  out
}

test_that("KARE, GCV and LOO equal dense R formulas", {
  d <- krr_data(n = 60, p = 30, nonlinear = TRUE, seed = 7, n_na = 3)
  obs <- which(!is.na(d$y))
  lam <- c(30, 3, 0.3, 0.03, 0.003)
  ref <- dense_criteria(d$K[obs, obs], d$y[obs], matrix(1, length(obs), 1), lam)
  f_kare <- ntk_krr(d$y, d$K, lambda = lam, criterion = "kare")
  f_gcv <- ntk_krr(d$y, d$K, lambda = lam, criterion = "gcv")
  f_loo <- ntk_krr(d$y, d$K, lambda = lam, criterion = "loo")
  expect_equal(f_kare$cvm, ref[, "kare"], tolerance = 1e-8)
  expect_equal(f_gcv$cvm, ref[, "gcv"], tolerance = 1e-8)
  expect_equal(f_loo$cvm, ref[, "loo"], tolerance = 1e-8)
  expect_identical(f_kare$lambda.min, lam[which.min(ref[, "kare"])])
  expect_identical(f_gcv$lambda.min, lam[which.min(ref[, "gcv"])])
  expect_identical(f_loo$lambda.min, lam[which.min(ref[, "loo"])])
  expect_true(is.na(f_loo$lambda.1se))
  expect_true(all(is.na(f_loo$cvsd)))
  expect_equal(f_kare$lambda_kare, lam / length(obs))
  expect_error(predict(f_loo, d$K[1:2, ], s = "lambda.1se"), "`s`")
})

test_that("closed-form LOO equals refitting without each individual (mean refitted)", {
  d <- krr_data(n = 40, p = 25, seed = 8)
  y <- d$y; K <- d$K
  lam <- c(2, 0.05)
  loo <- sapply(lam, function(l) {
    mean(sapply(seq_along(y), function(i) {
      mu <- mean(y[-i])
      a <- solve(K[-i, -i] + l * diag(length(y) - 1), y[-i] - mu)
      (y[i] - mu - sum(K[i, -i] * a))^2
    }))
  })
  expect_equal(ntk_krr(y, K, lambda = lam, criterion = "loo")$cvm, loo, tolerance = 1e-8)
  # a GRM of centred genotypes (rows sum to zero): the criteria do not collapse
  K0 <- tcrossprod(d$G) / ncol(d$G)
  f <- ntk_krr(y, K0, criterion = "loo", nlambda = 9)
  expect_gt(min(f$cvm), 0.5 * var(y))
})

test_that("closed-form criteria with covariates count the OLS offset", {
  d <- krr_data(n = 50, seed = 9)
  y <- d$y + drop(d$X %*% c(1, -1))
  Z <- cbind(1, d$X)
  lam <- c(5, 0.5, 0.05)
  ref <- dense_criteria(d$K, y, Z, lam)
  for (cr in c("kare", "gcv", "loo"))
    expect_equal(ntk_krr(y, d$K, lambda = lam, criterion = cr, X = d$X)$cvm, ref[, cr],
                 tolerance = 1e-8)
  loo <- sapply(lam, function(l) {
    mean(sapply(seq_along(y), function(i) {
      b <- lm.fit(Z[-i, ], y[-i])$coefficients
      a <- solve(d$K[-i, -i] + l * diag(49), y[-i] - drop(Z[-i, ] %*% b))
      (y[i] - sum(Z[i, ] * b) - sum(d$K[i, -i] * a))^2
    }))
  })
  expect_equal(ref[, "loo"], loo, tolerance = 1e-8)
})

test_that("print, summary and plot describe the fit", {
  d <- krr_data(n = 50, seed = 10)
  fit <- ntk_krr(d$y, d$K, nfolds = 3, nlambda = 9)
  expect_output(print(fit), "3-fold cross-validation")
  expect_output(print(fit), "1se")
  s <- summary(fit)
  expect_s3_class(s, "summary.ntk_krr")
  expect_equal(s$r2_out, 1 - fit$cvm[fit$index[1]] / mean((d$y - mean(d$y))^2))
  expect_output(print(s), "cross-validated")
  fk <- ntk_krr(d$y, d$K, criterion = "kare", nlambda = 9)
  expect_output(print(fk), "Lambda_KARE")
  grDevices::pdf(NULL)
  on.exit(grDevices::dev.off())
  expect_identical(plot(fit), fit)
  expect_identical(plot(fk, sign.lambda = -1), fk)
  expect_error(plot(fit, sign.lambda = 2), "`sign.lambda`")
})

test_that("bad input gives errors naming the argument", {
  d <- krr_data(n = 30, seed = 12)
  y <- d$y; K <- d$K
  expect_error(ntk_krr(y, K, lambda = c(1, 0)), "`lambda`")
  expect_error(ntk_krr(y, K, lambda = c(1, -1)), "`lambda`")
  expect_error(ntk_krr(y, K, lambda = c(1, NA)), "`lambda`")
  expect_error(ntk_krr(y, K, lambda = "a"), "`lambda`")
  expect_error(ntk_krr(y, K, nfolds = 1), "`nfolds`")
  expect_error(ntk_krr(y, K, nfolds = 31), "`nfolds`")
  expect_error(ntk_krr(y, K, nfolds = 2.5), "`nfolds`")
  expect_error(ntk_krr(y, K, foldid = rep(1:3, 9)), "`foldid`")
  expect_error(ntk_krr(y, K, foldid = rep(1, 30)), "`foldid`")
  expect_error(ntk_krr(y, K, foldid = c(NA, rep(1:3, length.out = 29))), "`foldid`")
  expect_error(ntk_krr(y, K[, -1]), "`K`.*square")
  expect_error(ntk_krr(y[-1], K), "`K`")
  Kna <- K; Kna[2, 3] <- NA
  expect_error(ntk_krr(y, Kna), "`K`")
  Ka <- K; Ka[1, 2] <- Ka[1, 2] + 1
  expect_error(ntk_krr(y, Ka), "`K`.*symmetric")
  expect_error(ntk_krr(y, matrix("a", 30, 30)), "`K`.*numeric")
  expect_error(ntk_krr(y, 0 * K), "`K`.*positive mean diagonal")
  expect_error(ntk_krr(rep(NA_real_, 30), K), "`y`")
  expect_error(ntk_krr(as.character(y), K), "`y`")
  expect_error(ntk_krr(y, K, criterion = "aic"), "`criterion`")
  expect_error(ntk_krr(y, K, X = d$X[-1, ]), "`X`")
  expect_error(ntk_krr(y, K, X = cbind(1, d$X)), "`X`.*collinear")
  expect_error(ntk_krr(y, K, nlambda = 0), "`nlambda`")
  expect_error(ntk_krr(y, K, lambda_range = c(1, 0.1)), "`lambda_range`")
  expect_error(ntk_krr(y, K, foo = 1), "unused")
  expect_error(ntk_krr(y, -diag(30), lambda = 0.5, criterion = "gcv"), "positive")
  fit <- ntk_krr(y, K, criterion = "gcv", nlambda = 5)
  expect_error(predict(fit, K[, -1]), "`K_new`")
  expect_error(predict(fit, K, s = -1), "`s`")
  expect_error(predict(fit, K, s = "lambda.max"), "`s`")
  expect_error(coef(fit, s = NA_real_), "`s`")
})

# GLS offset: beta = (Z'V^-1 Z)^-1 Z'V^-1 y, alpha = V^-1 (y - Z beta), V = K + lambda I.
gls_fit <- function(K, y, Z, lam) {
  Vi <- solve(K + lam * diag(length(y)))
  beta <- solve(crossprod(Z, Vi %*% Z), crossprod(Z, Vi %*% y))
  list(beta = drop(beta), alpha = drop(Vi %*% (y - Z %*% beta)), Vi = Vi)
}

test_that("offset = 'gls': CV equals an explicit loop and predictions equal the BLUP", {
  d <- krr_data(n = 70, nonlinear = TRUE, seed = 13, n_na = 2)
  y <- d$y + drop(d$X %*% c(0.5, 1))
  foldid <- rep(1:4, length.out = 70)
  lam <- c(10, 1, 0.1)
  fit <- ntk_krr(y, d$K, lambda = lam, foldid = foldid, X = d$X, offset = "gls")
  obs <- which(!is.na(y))
  Z <- cbind(1, d$X)
  raw <- matrix(NA_real_, 4, 3)
  for (k in 1:4) {
    tr <- obs[foldid[obs] != k]; te <- obs[foldid[obs] == k]
    for (l in 1:3) {
      g <- gls_fit(d$K[tr, tr], y[tr], Z[tr, ], lam[l])
      p <- drop(Z[te, ] %*% g$beta + d$K[te, tr] %*% g$alpha)
      raw[k, l] <- mean((y[te] - p)^2)
    }
  }
  expect_equal(fit$cvraw, raw, tolerance = 1e-8)
  # final fit: the BLUP with lambda = s2_e / s2_g, at lambda.min and another lambda
  for (lm in c(fit$lambda.min, 0.5)) {
    g <- gls_fit(d$K[obs, obs], y[obs], Z[obs, ], lm)
    expect_equal(unname(fitted(fit, s = lm)), drop(Z %*% g$beta + d$K[, obs] %*% g$alpha),
                 tolerance = 1e-8)
    expect_equal(unname(attr(coef(fit, s = lm), "beta")), unname(g$beta), tolerance = 1e-8)
  }
  # intercept only, rows of K summing to zero: GLS and OLS fits and GCV coincide (LOO
  # differs: without individual i the rows of K no longer sum to zero)
  K0 <- tcrossprod(d$G) / ncol(d$G)
  y0 <- ifelse(is.na(d$y), 0, d$y)
  f1 <- ntk_krr(y0, K0, lambda = lam, criterion = "gcv")
  f2 <- ntk_krr(y0, K0, lambda = lam, criterion = "gcv", offset = "gls")
  for (s in c(3, 0.3)) expect_equal(fitted(f1, s = s), fitted(f2, s = s), tolerance = 1e-8)
  expect_equal(f1$cvm, f2$cvm, tolerance = 1e-8)
})

test_that("offset = 'gls': KARE, GCV, LOO use the full smoother; LOO equals refitting", {
  d <- krr_data(n = 45, p = 30, nonlinear = TRUE, seed = 14)
  y <- d$y + drop(d$X %*% c(1, -0.5))
  Z <- cbind(1, d$X)
  n <- 45
  lam <- c(4, 0.4, 0.04)
  gcv <- loo <- loo_refit <- numeric(3)
  for (l in seq_along(lam)) {
    g <- gls_fit(d$K, y, Z, lam[l])
    P <- solve(crossprod(Z, g$Vi %*% Z), crossprod(Z, g$Vi))
    S <- Z %*% P + d$K %*% g$Vi %*% (diag(n) - Z %*% P)
    r <- drop((diag(n) - S) %*% y)
    gcv[l] <- n * sum(r^2) / sum(diag(diag(n) - S))^2
    loo[l] <- mean((r / (1 - diag(S)))^2)
    loo_refit[l] <- mean(sapply(1:n, function(i) {
      gi <- gls_fit(d$K[-i, -i], y[-i], Z[-i, ], lam[l])
      (y[i] - sum(Z[i, ] * gi$beta) - sum(d$K[i, -i] * gi$alpha))^2
    }))
  }
  expect_equal(loo, loo_refit, tolerance = 1e-8)
  args <- list(y = y, K = d$K, lambda = lam, X = d$X, offset = "gls")
  expect_equal(do.call(ntk_krr, c(args, criterion = "gcv"))$cvm, gcv, tolerance = 1e-8)
  expect_equal(do.call(ntk_krr, c(args, criterion = "kare"))$cvm, gcv, tolerance = 1e-8)
  expect_equal(do.call(ntk_krr, c(args, criterion = "loo"))$cvm, loo, tolerance = 1e-8)
  expect_error(do.call(ntk_krr, c(args, offset = "reml")), "formal argument|`offset`")
  expect_error(ntk_krr(y, d$K, offset = "reml"), "`offset`")
})

test_that("a ridge too small for the kernel is an error naming `s`", {
  set.seed(41)
  G <- matrix(rbinom(60 * 20, 2, 0.3), 60)
  K <- grm(G, threads = 1)              # rank 19 < 60: K + s I singular for tiny s
  fit <- ntk_krr(rnorm(60), K, criterion = "gcv")
  expect_error(coef(fit, s = 1e-300), "`s` = 1e-300 is too small")
})

test_that("KARE and GCV by tridiagonal / band solves equal the eigenbasis formulas", {
  # the default decomposition for KARE and GCV is the tridiagonal form (band form for
  # n >= 256), the criteria quadratic forms of (T + lambda I)^-1; the eigen path computes
  # them from eigenvectors (the GLS offset per lambda by its own formula): two derivations
  set.seed(3)
  for (n in c(60, 300)) {
    G <- matrix(rbinom(n * 40, 2, 0.3), n)
    K <- ntk_kernel(G, depth = 2)
    y <- rnorm(n) + G[, 1]
    y[c(3, 7)] <- NA
    X <- cbind(a = rnorm(n), b = rbinom(n, 1, 0.5))
    Se <- ntk_spectral(K, obs = which(!is.na(y)), method = "eigen")
    for (off in c("ols", "gls")) for (cr in c("kare", "gcv")) {
      f1 <- ntk_krr(y, K, X = X, criterion = cr, offset = off)
      f2 <- ntk_krr(y, K, X = X, criterion = cr, offset = off, spectral = Se)
      expect_identical(f1$spectral$method, "tridiag")
      expect_equal(f1$cvm, f2$cvm, tolerance = 1e-11, label = paste(n, off, cr))
      expect_equal(f1$alpha, f2$alpha, tolerance = 1e-9)
    }
  }
  # leave-one-out needs the eigenvectors; a tridiagonal form is refused naming `spectral`
  St <- ntk_spectral(K, obs = which(!is.na(y)))
  expect_error(ntk_krr(y, K, criterion = "loo", spectral = St), "`spectral`.*leave-one-out")
  expect_identical(ntk_krr(y, K, criterion = "loo")$spectral$method, "eigen")
})
