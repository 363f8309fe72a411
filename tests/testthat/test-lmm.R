# ntk_lmm(): every number checked against plain dense R written here.

lmm_sim <- function(n = 120, p = 250, seed = 1, h2 = 0.5, nk = 1) {
  set.seed(seed)
  Z <- scale(matrix(rbinom(n * p, 2, 0.3), n, p))
  K1 <- tcrossprod(Z) / p
  K2 <- tcrossprod(Z[, 1:40]) / 40 * 3     # deliberately not on the GRM scale
  X <- cbind(age = rnorm(n), sex = rbinom(n, 1, 0.5))
  g <- drop(Z %*% rnorm(p, sd = sqrt(h2 / p)))
  y <- drop(1 + X %*% c(0.5, -0.3) + g + rnorm(n, sd = sqrt(1 - h2)))
  list(Z = Z, K1 = K1, K2 = K2, X = X, y = y, n = n)
}

# Dense MINQUE at weights w (kernels then residual): returns theta, S, q, P.
dense_minque <- function(y, Ks, X, w) {
  n <- length(y)
  Ks <- c(Ks, list(diag(n)))
  V0 <- Reduce(`+`, Map(`*`, w, Ks))
  Vi <- solve(V0)
  P <- Vi - Vi %*% X %*% solve(t(X) %*% Vi %*% X, t(X) %*% Vi)
  k <- length(Ks)
  S <- matrix(0, k, k)
  q <- numeric(k)
  for (i in 1:k) {
    q[i] <- drop(t(y) %*% P %*% Ks[[i]] %*% P %*% y)
    for (j in 1:k) S[i, j] <- sum(diag(P %*% Ks[[i]] %*% P %*% Ks[[j]]))
  }
  list(theta = solve(S, q), S = S, q = q, P = P, Ks = Ks)
}

# c_K of each kernel: tr(P0 K P0) / (n - r)
dense_ck <- function(K, Xm) {
  P0 <- diag(nrow(Xm)) - Xm %*% solve(crossprod(Xm), t(Xm))
  sum(diag(P0 %*% K %*% P0)) / (nrow(Xm) - ncol(Xm))
}

# Sandwich SE of one-step MINQUE: S^-1 C S^-1, C_ij = 2 tr(P K_i P V P K_j P V)
dense_sandwich <- function(dm, theta) {
  V <- Reduce(`+`, Map(`*`, theta, dm$Ks))
  k <- length(dm$Ks)
  A <- lapply(dm$Ks, function(Ki) dm$P %*% Ki %*% dm$P %*% V)
  C <- matrix(0, k, k)
  for (i in 1:k) for (j in 1:k) C[i, j] <- 2 * sum(diag(A[[i]] %*% A[[j]]))
  Si <- solve(dm$S)
  Si %*% C %*% Si
}

# Dense REML log-likelihood (Harville), with log|X'X| so it equals the projected form.
dense_reml_ll <- function(y, V, X) {
  Vi <- solve(V)
  XtViX <- t(X) %*% Vi %*% X
  P <- Vi - Vi %*% X %*% solve(XtViX, t(X) %*% Vi)
  ld <- function(A) as.numeric(determinant(A)$modulus)
  -0.5 * ((length(y) - ncol(X)) * log(2 * pi) + ld(V) + ld(XtViX) - ld(crossprod(X)) +
            drop(t(y) %*% P %*% y))
}

# Direct REML: profile the scale, optimise the ratio delta = s2e / s2g.
dense_reml <- function(y, K, X) {
  n <- length(y)
  prof <- function(ld) {
    H <- K + exp(ld) * diag(n)
    Hi <- solve(H)
    P <- Hi - Hi %*% X %*% solve(t(X) %*% Hi %*% X, t(X) %*% Hi)
    s2 <- drop(t(y) %*% P %*% y) / (n - ncol(X))
    list(ll = dense_reml_ll(y, s2 * H, X), s2 = s2)
  }
  o <- optimize(function(ld) -prof(ld)$ll, c(-8, 8), tol = 1e-10)
  s2g <- prof(o$minimum)$s2
  c(s2g, s2g * exp(o$minimum))
}

test_that("MINQUE0 / MINQUE1 match dense formulas (1 and 2 kernels, covariates)", {
  d <- lmm_sim()
  X1 <- unname(cbind(1, d$X))
  for (Ks in list(list(K = d$K1), list(a = d$K1, b = d$K2))) {
    Karg <- if (length(Ks) == 1L) Ks[[1]] else Ks
    ck <- vapply(Ks, dense_ck, 0, Xm = X1)
    for (meth in c("minque0", "minque1")) {
      w <- if (meth == "minque0") c(rep(0, length(Ks)), 1) else c(1 / ck, 1)
      dm <- dense_minque(d$y, Ks, X1, w)
      fit <- ntk_lmm(d$y, Karg, X = d$X, method = meth, constrain = FALSE)
      expect_equal(unname(fit$theta), dm$theta, tolerance = 1e-8)
      expect_equal(unname(fit$S), dm$S, tolerance = 1e-8)
      expect_equal(unname(fit$ck[seq_along(Ks)]), unname(ck), tolerance = 1e-10)
      # sandwich SEs
      vs <- dense_sandwich(dm, dm$theta)
      expect_equal(unname(fit$vcov_theta), vs, tolerance = 1e-8)
      # GLS fixed effects and their covariance at the estimates
      V <- Reduce(`+`, Map(`*`, dm$theta, dm$Ks))
      Vi <- solve(V)
      vb <- solve(t(X1) %*% Vi %*% X1)
      b <- drop(vb %*% t(X1) %*% Vi %*% d$y)
      expect_equal(unname(fit$b), b, tolerance = 1e-8)
      expect_equal(unname(fit$vcov_b), vb, tolerance = 1e-8)
      expect_equal(fit$loglik, dense_reml_ll(d$y, V, X1), tolerance = 1e-8)
    }
  }
})

test_that("negative MINQUE estimates are constrained to zero and the rest re-estimated", {
  d <- lmm_sim(seed = 5, h2 = 0)
  X1 <- unname(cbind(1, d$X))
  Ks <- list(a = d$K1, b = d$K2)
  raw <- ntk_lmm(d$y, Ks, X = d$X, method = "minque0", constrain = FALSE)
  skip_if(all(raw$theta[1:2] >= 0), "no negative component in this draw")
  fit <- ntk_lmm(d$y, Ks, X = d$X, method = "minque0")
  expect_true(length(fit$constrained) >= 1L)
  expect_true(all(fit$theta >= 0))
  expect_true(all(is.na(fit$se[fit$constrained])))
  # re-estimate the free components from the dense system
  dm <- dense_minque(d$y, Ks, X1, c(0, 0, 1))
  free <- which(fit$theta > 0)
  th <- numeric(3)
  th[free] <- solve(dm$S[free, free], dm$q[free])
  expect_equal(unname(fit$theta), th, tolerance = 1e-8)
})

test_that("REML on the boundary: s2_g = 0 and s2_e = y'P0 y / (n - r) where the score is <= 0", {
  # find a draw with no genetic signal where REML sits on the boundary
  for (seed in 10:40) {
    d <- lmm_sim(n = 80, p = 100, seed = seed, h2 = 0)
    fit <- ntk_lmm(d$y, d$K1, X = d$X, method = "reml")
    if (length(fit$constrained)) break
  }
  skip_if(!length(fit$constrained), "no boundary REML draw")
  X1 <- unname(cbind(1, d$X))
  P0 <- diag(d$n) - X1 %*% solve(crossprod(X1), t(X1))
  s2e <- sum((P0 %*% d$y)^2) / (d$n - 3)
  expect_equal(unname(fit$theta), c(0, s2e), tolerance = 1e-8)
  # KKT: the REML score for s2_g at V = s2e I points outward
  P <- P0 / s2e
  score <- -0.5 * (sum(diag(P %*% d$K1)) - drop(t(d$y) %*% P %*% d$K1 %*% P %*% d$y))
  expect_lt(score, 0)
  imq <- ntk_lmm(d$y, d$K1, X = d$X, method = "iminque")
  expect_equal(unname(imq$theta), c(0, s2e), tolerance = 1e-6)
  expect_equal(fit$constrained, "K")
  expect_true(is.na(fit$se[["K"]]))
  expect_true(is.na(fit$h2_se[["K"]]))
  expect_equal(fit$h2[["K"]], 0)
  expect_warning(ntk_lmm(d$y, d$K1, X = d$X, method = "iminque", maxit = 1), "did not converge")
})

test_that("REML and iterated MINQUE agree with direct REML optimisation and each other", {
  d <- lmm_sim(seed = 2)
  X1 <- unname(cbind(1, d$X))
  ref <- dense_reml(d$y, d$K1, X1)
  f_reml <- ntk_lmm(d$y, d$K1, X = d$X, method = "reml", tol = 1e-10)
  f_imq <- ntk_lmm(d$y, d$K1, X = d$X, method = "iminque", tol = 1e-10)
  expect_true(f_reml$converged && f_imq$converged)
  expect_equal(unname(f_reml$theta), ref, tolerance = 1e-5)
  expect_equal(unname(f_imq$theta), ref, tolerance = 1e-5)
  expect_equal(unname(f_reml$theta), unname(f_imq$theta), tolerance = 1e-6)
  V <- ref[1] * d$K1 + ref[2] * diag(d$n)
  expect_equal(f_reml$loglik, dense_reml_ll(d$y, V, X1), tolerance = 1e-8)
  # inverse information 2 S^-1 at the estimates
  dm <- dense_minque(d$y, list(d$K1), X1, f_reml$theta)
  expect_equal(unname(f_reml$vcov_theta), 2 * solve(dm$S), tolerance = 1e-8)
  # the REML fixed point: MINQUE at the REML weights returns the weights
  expect_equal(dm$theta, unname(f_reml$theta), tolerance = 1e-6)
  # two kernels (dense path): both methods reach the same stationary point
  g_reml <- ntk_lmm(d$y, list(a = d$K1, b = d$K2), X = d$X, method = "reml", tol = 1e-10)
  g_imq <- ntk_lmm(d$y, list(a = d$K1, b = d$K2), X = d$X, method = "iminque", tol = 1e-10)
  expect_equal(unname(g_reml$theta), unname(g_imq$theta), tolerance = 1e-5)
  free <- g_reml$theta > 0
  dm2 <- dense_minque(d$y, list(d$K1, d$K2), X1, g_reml$theta)
  expect_equal(drop(solve(dm2$S[free, free], dm2$q[free])), unname(g_reml$theta[free]),
               tolerance = 1e-5)
  expect_equal(g_reml$loglik,
               dense_reml_ll(d$y, Reduce(`+`, Map(`*`, g_reml$theta, dm2$Ks)), X1),
               tolerance = 1e-8)
})

test_that("REML agrees with rrBLUP::mixed.solve", {
  skip_if_not_installed("rrBLUP")
  d <- lmm_sim(seed = 3)
  X1 <- unname(cbind(1, d$X))
  ms <- rrBLUP::mixed.solve(d$y, K = d$K1, X = X1, method = "REML")
  fit <- ntk_lmm(d$y, d$K1, X = d$X, method = "reml", tol = 1e-10)
  expect_equal(unname(fit$theta), c(ms$Vu, ms$Ve), tolerance = 1e-5)
  expect_equal(unname(fit$b), as.vector(ms$beta), tolerance = 1e-5)
  expect_equal(unname(ranef(fit)), as.vector(ms$u), tolerance = 1e-5)
})

test_that("BLUPs and predictions match the dense formulas; intercept-only BLUP is KRR", {
  d <- lmm_sim(n = 150, seed = 4)
  tr <- 1:120
  te <- 121:150
  K <- d$K1
  X1 <- unname(cbind(1, d$X))
  fit <- ntk_lmm(d$y[tr], K[tr, tr], X = d$X[tr, ], method = "reml")
  th <- fit$theta
  V <- th[1] * K[tr, tr] + th[2] * diag(length(tr))
  Vi <- solve(V)
  Xt <- X1[tr, ]
  b <- solve(t(Xt) %*% Vi %*% Xt, t(Xt) %*% Vi %*% d$y[tr])
  u <- th[1] * K[tr, tr] %*% Vi %*% (d$y[tr] - Xt %*% b)
  expect_equal(unname(ranef(fit)), drop(u), tolerance = 1e-8)
  expect_equal(unname(fitted(fit)), drop(Xt %*% b + u), tolerance = 1e-8)
  expect_equal(unname(residuals(fit)), drop(d$y[tr] - Xt %*% b - u), tolerance = 1e-8)
  pred <- predict(fit, K_new = K[te, tr], X_new = d$X[te, ])
  ref <- X1[te, ] %*% b + th[1] * K[te, tr] %*% Vi %*% (d$y[tr] - Xt %*% b)
  expect_equal(unname(pred), drop(ref), tolerance = 1e-8)
  # formula interface: same fit, newdata for the covariates
  df <- data.frame(y = d$y, age = d$X[, 1], sex = d$X[, 2])
  ff <- ntk_lmm(y ~ age + sex, data = df[tr, ], K = K[tr, tr], method = "reml")
  expect_equal(ff$theta, fit$theta, tolerance = 1e-10)
  expect_equal(unname(predict(ff, K_new = K[te, tr], newdata = df[te, ])), unname(pred),
               tolerance = 1e-10)

  # intercept only: BLUP prediction = KRR with lambda = s2e / s2g around the GLS mean
  f0 <- ntk_lmm(d$y[tr], K[tr, tr], method = "minque1")
  lam <- f0$theta[[2]] / f0$theta[[1]]
  A <- solve(K[tr, tr] + lam * diag(length(tr)))
  one <- rep(1, length(tr))
  mu <- drop(crossprod(one, A %*% d$y[tr]) / crossprod(one, A %*% one))   # GLS mean
  krr <- drop(K[te, tr] %*% A %*% (d$y[tr] - mu)) + mu
  expect_equal(unname(predict(f0, K_new = K[te, tr])), krr, tolerance = 1e-8)
  expect_equal(unname(coef(f0)), mu, tolerance = 1e-8)
})

test_that("NA phenotypes are predicted, not used", {
  d <- lmm_sim(n = 100, seed = 6)
  y <- d$y
  miss <- c(3, 17, 50, 88)
  y[miss] <- NA
  obs <- setdiff(seq_len(d$n), miss)
  for (Ks in list(d$K1, list(a = d$K1, b = d$K2))) {
    fit <- ntk_lmm(y, Ks, X = d$X, method = "iminque")
    Ko <- if (is.list(Ks)) lapply(Ks, function(K) K[obs, obs]) else Ks[obs, obs]
    ref <- ntk_lmm(y[obs], Ko, X = d$X[obs, ], method = "iminque")
    expect_equal(fit$theta, ref$theta, tolerance = 1e-10)
    expect_equal(fit$b, ref$b, tolerance = 1e-10)
    expect_equal(fit$nobs, length(obs))
    Kn <- if (is.list(Ks)) lapply(Ks, function(K) K[miss, ]) else Ks[miss, ]
    Kn_obs <- if (is.list(Ks)) lapply(Ks, function(K) K[miss, obs]) else Ks[miss, obs]
    expect_true(all(is.finite(fitted(fit)[miss])))
    expect_true(all(is.na(residuals(fit)[miss])))
    # fitted values of the unphenotyped = prediction from the training-only fit
    expect_equal(unname(fitted(fit)[miss]),
                 unname(predict(ref, K_new = Kn_obs, X_new = d$X[miss, ])), tolerance = 1e-10)
    # predict() takes all columns of K; NA columns are ignored
    expect_equal(unname(predict(fit, K_new = Kn, X_new = d$X[miss, ])),
                 unname(fitted(fit)[miss]), tolerance = 1e-10)
  }
})

test_that("h2 and predictions are invariant to the kernel's scale", {
  d <- lmm_sim(seed = 7)
  for (meth in lmm_methods) {
    f1 <- ntk_lmm(d$y, d$K1, X = d$X, method = meth)
    f10 <- ntk_lmm(d$y, d$K1 * 10, X = d$X, method = meth)
    expect_equal(f10$h2, f1$h2, tolerance = 1e-7)
    expect_equal(f10$h2_se, f1$h2_se, tolerance = 1e-6)
    expect_equal(f10$theta[[1]] * 10, f1$theta[[1]], tolerance = 1e-7)
    expect_equal(fitted(f10), fitted(f1), tolerance = 1e-7)
    expect_equal(predict(f10, K_new = d$K1[1:5, ] * 10, X_new = d$X[1:5, ]),
                 predict(f1, K_new = d$K1[1:5, ], X_new = d$X[1:5, ]), tolerance = 1e-7)
  }
})

test_that("h2, raw ratio and their delta-method SEs match dense R", {
  d <- lmm_sim(seed = 10)   # a draw where both kernel components are interior
  X1 <- unname(cbind(1, d$X))
  fit <- ntk_lmm(d$y, list(a = d$K1, b = d$K2), X = d$X, method = "iminque")
  expect_length(fit$constrained, 0L)
  ck <- c(dense_ck(d$K1, X1), dense_ck(d$K2, X1), 1)
  th <- unname(fit$theta)
  Vt <- unname(fit$vcov_theta)
  h2f <- function(t) (t * ck)[1:2] / sum(t * ck)
  rawf <- function(t) t[1:2] / sum(t)
  # numerical gradient (central differences) for the delta method
  jac <- function(f, t) {
    sapply(seq_along(t), function(j) {
      e <- numeric(length(t)); e[j] <- 1e-6 * max(abs(t))
      (f(t + e) - f(t - e)) / (2 * e[j])
    })
  }
  Jh <- jac(h2f, th)
  Jr <- jac(rawf, th)
  expect_equal(unname(fit$h2), h2f(th), tolerance = 1e-10)
  expect_equal(unname(fit$h2_raw), rawf(th), tolerance = 1e-10)
  expect_equal(unname(fit$h2_se), sqrt(diag(Jh %*% Vt %*% t(Jh))), tolerance = 1e-6)
  expect_equal(unname(fit$h2_raw_se), sqrt(diag(Jr %*% Vt %*% t(Jr))), tolerance = 1e-6)
  dm <- dense_minque(d$y, list(d$K1, d$K2), X1, th)
  expect_equal(Vt, 2 * solve(dm$S), tolerance = 1e-8)
  s <- summary(fit)
  expect_equal(s$varcomp$Variance[s$varcomp$Source == "V(a)/Vp"], unname(fit$h2[1]))
  expect_output(print(s), "V\\(e\\)")
  expect_output(print(fit), "Heritability")
  ll <- logLik(fit)
  expect_s3_class(ll, "logLik")
  expect_equal(attr(ll, "df"), 3L + 3L)
  expect_equal(coef(fit, "varcomp"), fit$theta)
  expect_equal(vcov(fit), fit$vcov_b)
  expect_equal(dim(ranef(fit)), c(d$n, 2L))
})

test_that("bad input gives errors naming the argument", {
  d <- lmm_sim(n = 40, p = 60, seed = 9)
  y <- d$y; K <- d$K1
  expect_error(ntk_lmm(y[-1], K), "`y` has length 39 but `K` is 40 x 40")
  expect_error(ntk_lmm(y, K[, -1]), "`K` must be square")
  Ka <- K; Ka[1, 2] <- Ka[1, 2] + 1
  expect_error(ntk_lmm(y, Ka), "`K` must be symmetric")
  Kn <- K; Kn[2, 3] <- Kn[3, 2] <- NA
  expect_error(ntk_lmm(y, Kn), "`K` contains missing")
  expect_error(ntk_lmm(y, list(g = K, h = Kn)), "`K\\$h` contains missing")
  # strongly non-PSD kernel, one and two kernels
  u <- rnorm(40)
  Kneg <- K - 5 * tcrossprod(u) / sum(u^2)
  expect_error(ntk_lmm(y, Kneg), "`K` is not positive semi-definite")
  expect_error(ntk_lmm(y, list(g = K, h = Kneg)), "`K\\$h` is not positive semi-definite")
  # tiny negative eigenvalues from round-off are fine
  e <- eigen(K, symmetric = TRUE)
  lam <- pmax(e$values, 0); lam[length(lam)] <- -1e-12
  Kr <- e$vectors %*% (lam * t(e$vectors)); Kr <- (Kr + t(Kr)) / 2
  expect_s3_class(ntk_lmm(y, Kr), "ntk_lmm")
  # rank-deficient X names the columns
  Xd <- cbind(a = d$X[, 1], b = d$X[, 2], c = d$X[, 1] + d$X[, 2])
  expect_error(ntk_lmm(y, K, X = Xd), "`X` is rank deficient.*remove the column\\(s\\) c")
  expect_error(ntk_lmm(y, K, X = d$X[-1, ]), "`X` must have 40 rows")
  expect_error(ntk_lmm(rep(2, 40), K), "`y` is constant")
  yna <- rep(NA_real_, 40); yna[1:2] <- c(1, 2)
  expect_error(ntk_lmm(yna, K), "`y` must have at least 3 observed")
  expect_error(ntk_lmm(y, K, method = "mle"), "`method` must be one of")
  expect_error(ntk_lmm(y, K, constrain = NA), "`constrain`")
  expect_error(ntk_lmm(y, K, tol = -1), "`tol`")
  expect_error(ntk_lmm(y ~ x, data = data.frame(y = y, x = c(NA, d$X[-1, 1])), K = K),
               "`data` has missing values in the covariate\\(s\\) x")
  fit <- ntk_lmm(y, K, X = d$X)
  expect_error(predict(fit, K_new = K[1:3, -1], X_new = d$X[1:3, ]), "`K_new` must have 40 columns")
  expect_error(predict(fit, K_new = K[1:3, ]), "`X_new` is needed")
  expect_error(predict(fit, K_new = list(K[1:3, ], K[1:3, ]), X_new = d$X[1:3, ]), "`K_new`")
})

test_that("REML reaches a residual variance of zero when V stays positive definite there", {
  # a positive definite kernel (GRM + I) and y drawn from N(0, K): the REML optimum sits
  # at s2_e = 0.  REML used to refuse every step that reached s2_e = 0, creep towards it
  # by step halving and report convergence at a point of lower likelihood.
  set.seed(3)
  n <- 60
  Z <- scale(matrix(rnorm(n * 30), n))
  K <- tcrossprod(Z) / 30 + diag(n)
  y <- drop(t(chol(K)) %*% rnorm(n))
  f_reml <- ntk_lmm(y, K, method = "reml")
  f_imq <- ntk_lmm(y, K, method = "iminque")
  expect_true(f_reml$converged)
  expect_identical(f_reml$constrained, "residual")
  expect_equal(unname(f_reml$theta), unname(f_imq$theta), tolerance = 1e-6)
  # the boundary optimum: the profile over s2_g with s2_e = 0 has s2_g = y'P y / (n - 1)
  X1 <- matrix(1, n, 1)
  Ki <- solve(K)
  P <- Ki - Ki %*% X1 %*% solve(t(X1) %*% Ki %*% X1, t(X1) %*% Ki)
  s2g <- drop(t(y) %*% P %*% y) / (n - 1)
  expect_equal(unname(f_reml$theta), c(s2g, 0), tolerance = 1e-6)
  expect_equal(f_reml$loglik, dense_reml_ll(y, s2g * K, X1), tolerance = 1e-8)
  # ... and it is a maximum along the boundary and into the interior
  expect_gt(f_reml$loglik, dense_reml_ll(y, 1.01 * s2g * K, X1))
  expect_gt(f_reml$loglik, dense_reml_ll(y, s2g * K + 1e-3 * diag(n), X1))
})

test_that("fits are equivariant in the scale of y, also far from 1 (REML used to drift)", {
  set.seed(11)
  n <- 50
  Z <- scale(matrix(rbinom(n * 80, 2, 0.3), n))
  K <- tcrossprod(Z) / 80
  age <- rnorm(n)
  y <- drop(Z[, 1:10] %*% rnorm(10, sd = 0.3)) + 0.5 * age + rnorm(n)
  for (m in c("minque1", "reml")) {
    f1 <- ntk_lmm(y, K, X = cbind(age = age), method = m)
    for (s in c(1e-60, 1e60)) {   # REML used to stop at a wrong point for 1e-60
      fs <- ntk_lmm(y * s, K, X = cbind(age = age), method = m)
      expect_true(fs$converged)
      expect_equal(fs$h2, f1$h2, tolerance = 1e-8)
      expect_equal(fs$theta / s^2, f1$theta, tolerance = 1e-8)
      expect_equal(fs$se / s^2, f1$se, tolerance = 1e-6)
      expect_equal(fs$h2_se, f1$h2_se, tolerance = 1e-6)
      # S at the a-priori weights (MINQUE1) does not involve y; at the estimates ~ s^-4
      expect_equal(fs$S * if (m == "reml") s^4 else 1, f1$S, tolerance = 1e-6)
      expect_equal(fs$b / s, f1$b, tolerance = 1e-8)
      expect_equal(fs$vcov_b / s^2, f1$vcov_b, tolerance = 1e-6)
      expect_equal(fs$fitted.values / s, f1$fitted.values, tolerance = 1e-8)
      expect_equal(fs$loglik + (n - 2) * log(s), f1$loglik, tolerance = 1e-8)
    }
  }
})
