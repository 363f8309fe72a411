# Kernel recipes travel with fits: predict(newdata =), checked K_new, IDs matched by name.

geno <- function(n, p, seed) {
  set.seed(seed)
  matrix(rbinom(n * p, 2, 0.35), n, p,
         dimnames = list(paste0("id", seq_len(n)), paste0("snp", seq_len(p))))
}

test_that("predict(fit, newdata = ) equals the hand-built test-by-train kernel path", {
  G <- geno(70, 30, 1)
  tr <- 1:55
  te <- 56:70
  set.seed(2)
  y <- drop(scale(G) %*% rnorm(30, sd = 0.2)) + rnorm(70)
  kernels <- list(
    analytic = function(X, Z = NULL) ntk_kernel(X, Z, depth = 2, threads = 1),
    empirical = function(X, Z = NULL) ntk_kernel(X, Z, depth = 2, width = 64, n_init = 2,
                                                 threads = 1),
    grm = function(X, Z = NULL) grm(X, Z, threads = 1))
  for (nm in names(kernels)) {
    f <- kernels[[nm]]
    set.seed(11)
    K <- f(G[tr, ])
    set.seed(11)
    Ks <- f(G[tr, ], G[te, ])        # built together with the training kernel
    set.seed(99)                     # the RNG state at predict time must not matter
    lmm <- ntk_lmm(y[tr], K, method = "reml")
    expect_equal(predict(lmm, newdata = G[te, ], threads = 1), predict(lmm, K_new = Ks),
                 tolerance = 1e-12, info = nm)
    krr <- ntk_krr(y[tr], K, criterion = "gcv")
    expect_equal(predict(krr, newdata = G[te, ], threads = 1), predict(krr, K_new = Ks),
                 tolerance = 1e-12, info = nm)
    # and the hand formula of the BLUP
    b <- lmm$b
    expect_equal(unname(predict(lmm, newdata = G[te, ], threads = 1)),
                 unname(b + lmm$theta[1] * drop(Ks %*% lmm$alpha)), tolerance = 1e-12)
  }
  # several kernels at once
  set.seed(3)
  K1 <- ntk_kernel(G[tr, ], depth = 1, threads = 1)
  K2 <- grm(G[tr, ], threads = 1)
  fit <- ntk_lmm(y[tr], list(ntk = K1, grm = K2), method = "reml")
  Kn <- list(ntk = ntk_kernel(G[tr, ], G[te, ], depth = 1, threads = 1),
             grm = grm(G[tr, ], G[te, ], threads = 1))
  expect_equal(predict(fit, newdata = G[te, ], threads = 1), predict(fit, K_new = Kn),
               tolerance = 1e-12)
  expect_named(predict(fit, newdata = G[te, ], threads = 1), rownames(G)[te])
})

test_that("a test-by-train kernel built differently from the training kernel is refused", {
  G <- geno(60, 25, 4)
  tr <- 1:45
  te <- 46:60
  y <- rnorm(60)
  K3 <- ntk_kernel(G[tr, ], depth = 3, threads = 1)
  fit <- ntk_lmm(y[tr], K3)
  expect_error(predict(fit, K_new = grm(G[tr, ], G[te, ], threads = 1)), "`K_new`.*kind")
  expect_error(predict(fit, K_new = ntk_kernel(G[tr, ], G[te, ], depth = 2, threads = 1)),
               "`K_new`.*depth")
  expect_error(predict(fit, K_new = ntk_kernel(G[tr, ], G[te, ], depth = 3, sigma_b = 0.5,
                                               threads = 1)), "`K_new`.*sigma_b")
  expect_error(predict(fit, K_new = ntk_kernel(G[1:40, ], G[te, ], depth = 3, threads = 1)),
               "`K_new`")
  expect_error(predict(fit, K_new = K3), "`K_new`.*training kernel")
  set.seed(7)
  Ke <- ntk_kernel(G[tr, ], width = 64, threads = 1)
  fe <- ntk_krr(y[tr], Ke, criterion = "loo")
  # the second call without repeating set.seed() draws a new network: refused
  Ks_bad <- ntk_kernel(G[tr, ], G[te, ], width = 64, threads = 1)
  expect_error(predict(fe, K_new = Ks_bad), "`K_new`.*network")
  set.seed(7)
  Ks_ok <- ntk_kernel(G[tr, ], G[te, ], width = 64, threads = 1)
  expect_equal(predict(fe, K_new = Ks_ok), predict(fe, newdata = G[te, ], threads = 1),
               tolerance = 1e-12)
  # a plain matrix is accepted (no recipe to check), newdata needs a recipe
  Kp <- unclass(K3); attr(Kp, "ntk") <- NULL
  fp <- ntk_lmm(y[tr], Kp)
  expect_error(predict(fp, newdata = G[te, ]), "`newdata`.*recipe")
  expect_error(predict(fit, newdata = G[te, 1:10]), "`newdata`.*25 columns")
  expect_error(predict(fit, newdata = G[te, ], K_new = Kp[1:3, ]), "`K_new`")
})

test_that("individuals are matched by name: a permuted y gives the fit of the sorted one", {
  G <- geno(80, 40, 5)
  set.seed(6)
  y <- stats::setNames(drop(scale(G) %*% rnorm(40, sd = 0.25)) + rnorm(80), rownames(G))
  K <- grm(G, threads = 1)
  perm <- sample(80)
  a <- ntk_lmm(y, K, method = "reml")
  b <- ntk_lmm(y[perm], K, method = "reml")
  expect_equal(b$theta, a$theta, tolerance = 1e-10)
  expect_equal(b$h2, a$h2, tolerance = 1e-10)
  expect_equal(ranef(b), ranef(a), tolerance = 1e-10)
  expect_identical(names(ranef(b)), rownames(K))
  X <- cbind(age = seq_len(80) / 80)
  rownames(X) <- rownames(G)
  c1 <- ntk_lmm(y, K, X = X)
  c2 <- ntk_lmm(y[perm], K, X = X[perm, , drop = FALSE])
  expect_equal(c2$b, c1$b, tolerance = 1e-10)
  k1 <- ntk_krr(y, K, criterion = "gcv")
  k2 <- ntk_krr(y[perm], K, criterion = "gcv")
  expect_equal(k2$fitted.values, k1$fitted.values, tolerance = 1e-10)
  # names that do not match are an error naming both
  y2 <- y
  names(y2)[3] <- "stranger"
  expect_error(ntk_lmm(y2, K), "`y` and `K` name different individuals.*stranger")
  expect_error(ntk_krr(y2, K), "`y` and `K`")
})

test_that("a phenotype matrix equals separate fits, one decomposition for all traits", {
  G <- geno(90, 50, 8)
  K <- ntk_kernel(G, depth = 2, threads = 1)
  set.seed(9)
  Y <- sapply(1:20, function(j) drop(scale(G) %*% rnorm(50, sd = 0.1 * (j %% 4))) + rnorm(90))
  colnames(Y) <- paste0("t", 1:20)
  X <- cbind(sex = rep(0:1, 45))
  for (method in c("minque1", "reml")) {
    all <- ntk_lmm(Y, K, X = X, method = method)
    expect_s3_class(all, "ntk_lmm_list")
    for (j in 1:20) {
      one <- ntk_lmm(Y[, j], K, X = X, method = method)
      expect_equal(all[[j]]$theta, one$theta, tolerance = 1e-10)
      expect_equal(all[[j]]$h2, one$h2, tolerance = 1e-10)
      expect_equal(all[[j]]$b, one$b, tolerance = 1e-10)
      expect_equal(unname(all[[j]]$fitted.values), unname(one$fitted.values), tolerance = 1e-10)
    }
  }
  # traits with missing values in different individuals
  Y[1:5, 2] <- NA
  all <- ntk_lmm(Y[, 1:3], K, method = "reml")
  expect_equal(all[[2]]$theta, ntk_lmm(Y[, 2], K, method = "reml")$theta, tolerance = 1e-10)
  kk <- ntk_krr(Y[, 1:4], K, criterion = "kare")
  for (j in 1:4)
    expect_equal(kk[[j]]$fitted.values, ntk_krr(Y[, j], K, criterion = "kare")$fitted.values,
                 tolerance = 1e-10)
})

test_that("cross-validation of a phenotype matrix shares the folds and equals separate fits", {
  G <- geno(60, 30, 12)
  K <- grm(G, threads = 1)
  set.seed(13)
  Y <- matrix(rnorm(60 * 3), 60, 3, dimnames = list(NULL, c("a", "b", "c")))
  Y[1:4, 3] <- NA
  fold <- rep(1:4, 15)
  for (offset in c("ols", "gls")) {
    # (pure noise: lambda.1se at the top of the grid, with a warning)
    all <- suppressWarnings(ntk_krr(Y, K, foldid = fold, offset = offset))
    expect_s3_class(all, "ntk_krr_list")
    for (j in 1:3) {
      one <- suppressWarnings(ntk_krr(Y[, j], K, foldid = fold, offset = offset))
      expect_equal(all[[j]]$cvm, one$cvm, tolerance = 1e-10)
      expect_equal(all[[j]]$lambda.min, one$lambda.min)
      expect_equal(all[[j]]$fitted.values, one$fitted.values, tolerance = 1e-10)
    }
  }
  P <- predict(all, K_new = K[1:5, ])
  expect_equal(dim(P), c(5L, 3L))
  expect_equal(P[, 2], predict(all[[2]], K_new = K[1:5, ]), tolerance = 1e-12)
})

test_that("factor covariates go through model.matrix, with the training levels for new data", {
  G <- geno(80, 30, 14)
  K <- grm(G[1:60, ], threads = 1)
  set.seed(15)
  trial <- factor(sample(c("E1", "E2", "E3"), 80, replace = TRUE))
  y <- unname(c(E1 = 0, E2 = 1, E3 = -1)[as.character(trial)]) + rnorm(80)
  tr <- 1:60
  D <- model.matrix(~ trial)[, -1]
  a <- ntk_lmm(y[tr], K, X = trial[tr], method = "REML")
  b <- ntk_lmm(y[tr], K, X = D[tr, ], method = "reml")
  expect_equal(unname(a$b), unname(b$b), tolerance = 1e-10)
  expect_equal(a$theta, b$theta, tolerance = 1e-10)
  d <- ntk_lmm(y[tr], K, X = data.frame(trial = trial[tr], age = seq_len(60)))
  expect_length(d$b, 4L)
  # new individuals coded with the training levels, even when a level is absent
  new <- data.frame(trial = factor(rep("E3", 20), levels = "E3"))
  pa <- predict(a, newdata = G[61:80, ], X_new = new$trial, threads = 1)
  pb <- predict(b, newdata = G[61:80, ], X_new = matrix(c(0, 1), 20, 2, byrow = TRUE),
                threads = 1)
  expect_equal(unname(pa), unname(pb), tolerance = 1e-10)
  expect_error(predict(a, newdata = G[61:80, ], X_new = rep("E9", 20), threads = 1), "E9")
  k1 <- ntk_krr(y[tr], K, X = data.frame(trial = trial[tr]), criterion = "gcv")
  k2 <- ntk_krr(y[tr], K, X = D[tr, ], criterion = "gcv")
  expect_equal(k1$fitted.values, k2$fitted.values, tolerance = 1e-10)
  expect_equal(predict(k1, newdata = G[61:80, ], X_new = data.frame(trial = trial[61:80]),
                       threads = 1),
               predict(k2, newdata = G[61:80, ], X_new = D[61:80, ], threads = 1),
               tolerance = 1e-10)
})

test_that("the null model, the LRT of h2 = 0 and nested comparisons", {
  G <- geno(150, 60, 16)
  K1 <- grm(G, threads = 1)
  K2 <- ntk_kernel(G, depth = 2, threads = 1)
  set.seed(17)
  y <- unname(drop(scale(G) %*% rnorm(60, sd = 0.15)) + rnorm(150))
  X <- cbind(age = rnorm(150))
  f1 <- ntk_lmm(y, K1, X = X, method = "reml")
  # logL0 by hand: REML of y = Xb + e at its maximum
  Xf <- cbind(1, X)
  m <- 150 - 2
  s2 <- sum(qr.resid(qr(Xf), y)^2) / m
  expect_equal(f1$loglik0, -0.5 * (m * log(2 * pi) + m * log(s2) + m), tolerance = 1e-10)
  expect_equal(f1$lrt, 2 * (f1$loglik - f1$loglik0), tolerance = 1e-10)
  expect_equal(f1$lrt_p, 0.5 * pchisq(f1$lrt, 1, lower.tail = FALSE), tolerance = 1e-12)
  expect_lt(f1$lrt_p, 0.05)
  # pure noise: the genetic variance on the boundary, LRT 0, p = 1, logL = logL0
  set.seed(18)
  e <- rnorm(150)
  f0 <- ntk_lmm(e, K1, method = "reml")
  if (f0$theta[1] == 0) {
    expect_equal(f0$loglik, f0$loglik0, tolerance = 1e-8)
    expect_equal(f0$lrt_p, 1)
  }
  expect_output(print(summary(f1)), "LRT")
  expect_output(print(summary(f1)), "heritability to quote")
  expect_true(is.na(ntk_lmm(y, K1, method = "minque1")$lrt))
  expect_identical(nobs(f1), 150L)
  # nested fits
  a <- ntk_lmm(y, list(grm = K1), X = X, method = "reml")
  b <- ntk_lmm(y, list(grm = K1, ntk = K2), X = X, method = "reml")
  tab <- anova(a, b)
  expect_equal(tab$Chisq[2], max(2 * (b$loglik - a$loglik), 0), tolerance = 1e-10)
  expect_equal(tab$Df[2], 1)
  expect_equal(tab$`Pr(>Chisq)`[2], 0.5 * (tab$Chisq[2] <= 0) +
                 0.5 * pchisq(tab$Chisq[2], 1, lower.tail = FALSE), tolerance = 1e-12)
  expect_error(anova(a, ntk_lmm(y, list(grm = K1, ntk = K2), method = "reml")), "fixed effects")
  expect_error(anova(a, ntk_lmm(y, K1, X = X)), "REML")
  # total h2 with its delta-method SE
  expect_equal(b$h2_total, sum(b$h2), tolerance = 1e-12)
  expect_gt(b$h2_total_se, 0)
})

test_that("traps: lambda.1se at the grid's top, transposed genotypes", {
  G <- geno(60, 30, 19)
  rownames(G) <- NULL
  Gt <- t(G)
  rownames(Gt) <- paste0("rs", seq_len(30))
  expect_warning(grm(Gt, threads = 1), "transposed")
  set.seed(20)
  expect_error(mlp_fit(t(G[1:40, ]), rnorm(40)), "transposed")
  K <- grm(G, threads = 1)
  set.seed(1)
  y <- drop(scale(G)[, 1:3] %*% c(0.3, 0.3, 0.3)) + rnorm(60)
  f <- ntk_krr(y, K, foldid = rep(1:5, 12))
  expect_equal(f$index[2, 1], 1L)
  expect_warning(predict(f, K_new = K[1:3, ], s = "lambda.1se"), "lambda.1se")
  expect_warning(coef(f, s = "lambda.1se"), "largest lambda")
  expect_output(print(summary(f)), "lambda.1se is the largest")
})

test_that("predict(se.fit = TRUE): the prediction error variance equals the dense formula", {
  G <- geno(100, 40, 22)
  tr <- 1:80; te <- 81:100
  set.seed(23)
  y <- unname(drop(scale(G) %*% rnorm(40, sd = 0.2)) + rnorm(100))
  X <- cbind(age = rnorm(100))
  for (kfun in list(function(A, B = NULL) ntk_kernel(A, B, depth = 2, threads = 1),
                    function(A, B = NULL) grm(A, B, threads = 1))) {
    K <- kfun(G[tr, ])
    fit <- ntk_lmm(y[tr], K, X = X[tr, ], method = "reml")
    p <- predict(fit, newdata = G[te, ], X_new = X[te, ], se.fit = TRUE, threads = 1)
    Ks <- kfun(G[tr, ], G[te, ])
    kss <- attr(Ks, "diag")   # the test points' own kernel values (checked below)
    sg <- fit$theta[1]; se <- fit$theta[2]
    V <- sg * K + se * diag(80)
    Vi <- solve(V)
    Xf <- cbind(1, X[tr, ])
    P <- Vi - Vi %*% Xf %*% solve(t(Xf) %*% Vi %*% Xf, t(Xf) %*% Vi)
    pev <- sg * kss - sg^2 * rowSums((Ks %*% P) * Ks)
    expect_equal(unname(p$se.fit), unname(sqrt(pmax(pev, 0))), tolerance = 1e-8)
    expect_equal(unname(p$reliability), unname(1 - pev / (sg * kss)), tolerance = 1e-8)
    expect_equal(p$fit, predict(fit, newdata = G[te, ], X_new = X[te, ], threads = 1))
  }
  # the diagonal of a test kernel by hand: with sigma_w^2 = 2, sigma_b = 0 the analytic
  # NTK of a point with itself is (depth + 1) * 2 |z|^2 / p, z standardised as in training
  Ks <- ntk_kernel(G[tr, ], G[te, ], depth = 2, threads = 1)
  st <- attr(ntk_kernel(G[tr, ], depth = 2, threads = 1), "ntk")
  Z <- sweep(sweep(G[te, st$keep], 2, st$center), 2, st$scale, "/")
  expect_equal(unname(attr(Ks, "diag")), unname(3 * 2 * rowSums(Z^2) / st$p), tolerance = 1e-12)
  fit2 <- ntk_lmm(y[tr], list(a = grm(G[tr, ], threads = 1), b = ntk_kernel(G[tr, ], threads = 1)))
  expect_error(predict(fit2, newdata = G[te, ], se.fit = TRUE, threads = 1), "`se.fit`.*one kernel")
  Kp <- unclass(grm(G[tr, ], threads = 1)); attr(Kp, "ntk") <- NULL
  f3 <- ntk_lmm(y[tr], Kp)
  expect_error(predict(f3, K_new = unclass(Ks)[, ], se.fit = TRUE), "`K_new_diag`")
})

test_that("formula interfaces: ntk_krr(y ~ covariates, data, K) and named kernels", {
  G <- geno(70, 30, 24)
  K <- grm(G, threads = 1)
  set.seed(25)
  d <- data.frame(yield = rnorm(70), trial = factor(sample(c("a", "b"), 70, TRUE)),
                  age = rnorm(70))
  f1 <- ntk_krr(yield ~ trial + age, data = d, K = K, criterion = "gcv")
  f2 <- ntk_krr(d$yield, K, X = d[, c("trial", "age")], criterion = "gcv")
  expect_equal(f1$fitted.values, f2$fitted.values, tolerance = 1e-12)
  expect_identical(deparse(f1$call[[1]]), "ntk_krr")
  # automatic row names are no IDs: the kernel's row names do not clash with them
  l1 <- ntk_lmm(yield ~ trial, data = d, K = K, method = "reml")
  l0 <- ntk_lmm(formula = yield ~ trial, data = d, K = K, method = "reml")
  expect_equal(l0$theta, l1$theta)
  expect_equal(ntk_krr(formula = yield ~ trial + age, data = d, K = K,
                       criterion = "gcv")$fitted.values, f1$fitted.values)
  expect_error(ntk_lmm(K = K), "`y` is missing")
  l2 <- ntk_lmm(d$yield, K, X = d$trial, method = "reml")
  expect_equal(unname(l1$b), unname(l2$b), tolerance = 1e-10)
  # row names that are IDs are matched
  d2 <- d[70:1, ]
  rownames(d2) <- rownames(G)[70:1]
  l3 <- ntk_lmm(yield ~ trial, data = d2, K = K, method = "reml")
  expect_equal(l3$theta, l1$theta, tolerance = 1e-10)
})

test_that("kernels that cannot be told apart are refused by every method", {
  G <- geno(60, 30, 26)
  K <- grm(G, threads = 1)
  y <- rnorm(60)
  for (m in c("minque1", "minque0", "iminque", "reml"))
    expect_error(ntk_lmm(y, list(a = K, b = K), method = m), "not identifiable.*K\\$a, K\\$b")
  expect_error(ntk_lmm(y, list(a = K, b = 2 * K + 0)), "not identifiable")
  expect_error(ntk_lmm(y, list(a = K, e = diag(60))), "not identifiable.*residual")
  # distinct kernels pass
  expect_s3_class(ntk_lmm(y, list(a = K, b = ntk_kernel(G, depth = 2, threads = 1))), "ntk_lmm")
})

test_that("review: changed kernels lose their recipe; decompositions, K_new columns and X_new columns are matched", {
  G <- geno(90, 30, 27)
  tr <- 1:70; te <- 71:90
  set.seed(28)
  y <- unname(drop(scale(G) %*% rnorm(30, sd = 0.2)) + rnorm(90))
  K <- grm(G[tr, ], threads = 1)
  Ks <- grm(G[tr, ], G[te, ], threads = 1)
  # K * 2 still carries attributes, but not a valid recipe
  fit2 <- ntk_lmm(y[tr], K * 2, method = "reml")
  expect_error(predict(fit2, newdata = G[te, ]), "`newdata`")
  expect_error(ntk_kernel_like(K * 2, G[te, ]), "`K` was changed")
  expect_equal(predict(fit2, K_new = 2 * unclass(Ks)[, ]),
               predict(ntk_lmm(y[tr], K, method = "reml"), K_new = Ks), tolerance = 1e-8)
  # a decomposition of another kernel is refused
  K2 <- ntk_kernel(G[tr, ], depth = 2, threads = 1)
  expect_error(ntk_lmm(y[tr], K2, spectral = ntk_spectral(K, X = matrix(1, 70, 1))),
               "`spectral` was made from another kernel")
  # K_new columns matched by name
  fit <- ntk_lmm(y[tr], K, method = "reml")
  perm <- sample(70)
  Kp <- unclass(Ks)[, perm]
  expect_equal(predict(fit, K_new = Kp), predict(fit, K_new = unclass(Ks)[, ]), tolerance = 1e-12)
  colnames(Kp)[1] <- "stranger"
  expect_error(predict(fit, K_new = Kp), "`K_new` has column names")
  # numeric covariates of new individuals matched by name
  d <- data.frame(x = rnorm(90), z = rnorm(90))
  fl <- ntk_lmm(y[tr], K, X = d[tr, ], method = "reml")
  expect_equal(predict(fl, K_new = Ks, X_new = d[te, c("z", "x")]),
               predict(fl, K_new = Ks, X_new = d[te, ]), tolerance = 1e-12)
  fk <- ntk_krr(y[tr], K, X = d[tr, ], criterion = "gcv")
  expect_equal(predict(fk, K_new = Ks, X_new = d[te, c("z", "x")]),
               predict(fk, K_new = Ks, X_new = d[te, ]), tolerance = 1e-12)
  expect_error(predict(fk, K_new = Ks, X_new = data.frame(a = d$x[te], b = d$z[te])),
               "training covariates")
  # the KRR formula method with an interaction
  dd <- data.frame(yy = y[tr], x = d$x[tr], f = factor(rep(c("a", "b"), 35)))
  fi <- ntk_krr(yy ~ x * f, data = dd, K = K, criterion = "gcv")
  expect_length(fi$beta[, 1], 4L)
  nd <- data.frame(x = d$x[te], f = factor(rep("b", 20), levels = c("a", "b")))
  M <- model.matrix(~ x * f, nd)
  expect_equal(unname(predict(fi, K_new = Ks, X_new = nd)),
               unname(drop(Ks %*% fi$alpha[, 1]) + drop(M %*% fi$beta[, 1])), tolerance = 1e-12)
  # se.fit for several traits
  fits <- ntk_lmm(cbind(a = y[tr], b = rev(y[tr])), K, method = "reml")
  ps <- predict(fits, K_new = Ks, se.fit = TRUE)
  expect_equal(dim(ps$se.fit), c(20L, 2L))
})

test_that("damaged fits are refused by predict, not turned into NA or constants", {
  G <- geno(50, 20, 45)
  K <- grm(G, threads = 1)
  set.seed(46)
  y <- rnorm(50)
  f <- ntk_lmm(y, K)
  f1 <- f; f1$theta[1] <- NA
  expect_error(predict(f1, K_new = K[1:3, ]), "`object`.*theta")
  f2 <- f; f2$alpha[2] <- NaN
  expect_error(predict(f2, K_new = K[1:3, ]), "`object`.*alpha")
  k <- ntk_krr(y, K, criterion = "gcv")
  k1 <- k; k1$alpha[3, 1] <- NA
  expect_error(predict(k1, K_new = K[1:3, ]), "`object`.*alpha")
  m <- mlp_fit(G, y, epochs = 3, hidden = 4)
  m1 <- m; m1$run_var[1] <- -1
  expect_error(predict(m1, G[1:3, ]), "`object`.*running variances")
  m2 <- m; m2$theta[1] <- Inf
  expect_error(predict(m2, G[1:3, ]), "`object`.*theta")
})
