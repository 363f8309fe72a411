# KARE-trained kernels (R/kare.R, src/kare_train.c): exact gradients against central
# finite differences, training, recipes, reproducibility, argument checks.

kare_value <- function(X, map, M, L, sw, sb, y, Z, z = 0.1, grad = FALSE, threads = 1L) {
  .Call(ntkgen:::C_kare_analytic, X, as.integer(map), M, as.integer(L), sw, sb, y, Z, z,
        as.integer(threads), grad)
}

kare_fd_case <- function(seed = 1, n = 24, p = 7) {
  set.seed(seed)
  X <- matrix(stats::rnorm(n * p), n, p)
  list(X = X, y = stats::rnorm(n), Z = matrix(1, n, 1), n = n, p = p)
}

# max relative error of the analytic gradient (all groups) against central differences
kare_fd_error <- function(d, map, M, L, sw, sb, h = 1e-5, Z = d$Z) {
  g <- kare_value(d$X, map, M, L, sw, sb, d$y, Z, grad = TRUE)
  f <- function(M, sw, sb) kare_value(d$X, map, M, L, sw, sb, d$y, Z)$kare
  err <- function(fd, an) abs(fd - an) / max(abs(fd), 1e-3 * abs(g$kare))
  e <- err((f(M, sw + h, sb) - f(M, sw - h, sb)) / (2 * h), g$grad_sw)
  if (sb > 0) e <- c(e, err((f(M, sw, sb + h) - f(M, sw, sb - h)) / (2 * h), g$grad_sb))
  fd <- vapply(seq_along(M), function(k) {
    Mp <- M; Mp[k] <- Mp[k] + h
    Mm <- M; Mm[k] <- Mm[k] - h
    (f(Mp, sw, sb) - f(Mm, sw, sb)) / (2 * h)
  }, numeric(1))
  c(e, max(abs(fd - as.vector(g$grad_map))) / max(abs(fd)))
}

test_that("KARE and dKARE/dK: value equals ntk_krr's (GLS offset, lambda = n z), gradient matches differences", {
  d <- kare_fd_case(2)
  K <- ntk_kernel(d$X, depth = 2, standardize = FALSE, threads = 1)
  C <- cbind(1, stats::rnorm(d$n))
  for (Z in list(d$Z, C)) {
    o <- .Call(ntkgen:::C_kare_objective, unclass(K), d$y, Z, 0.1)
    ref <- ntk_krr(d$y, K, X = if (ncol(Z) > 1) Z[, -1], criterion = "kare",
                   offset = "gls", lambda = c(d$n * 0.1, 1))$cvm[1]
    expect_equal(o$kare, ref, tolerance = 1e-10)
    expect_equal(o$G, t(o$G))
    E <- matrix(stats::rnorm(d$n^2), d$n)
    E <- E + t(E)
    h <- 1e-5
    fp <- .Call(ntkgen:::C_kare_objective, unclass(K) + h * E, d$y, Z, 0.1)$kare
    fm <- .Call(ntkgen:::C_kare_objective, unclass(K) - h * E, d$y, Z, 0.1)$kare
    fd <- (fp - fm) / (2 * h)
    expect_lt(abs(fd - sum(o$G * E)) / abs(fd), 1e-5)
  }
})

test_that("the kernel's scale and the ridge are one direction: KARE(c K, z) = KARE(K, z / c)", {
  # why z is not trained beside the map: the analytic NTK is homogeneous of degree
  # 2 (depth + 1) in sigma_w when sigma_b = 0, and of degree 2 in (input scale, sigma_b)
  # jointly, so every change of z is a change of sigma_w (or of the scales and sigma_b)
  d <- kare_fd_case(5, n = 30, p = 6)
  s <- stats::runif(d$p, 0.5, 1.5)
  for (L in 1:3) {
    c0 <- 1.7
    a <- kare_value(d$X, 0L, s, L, 1.2 * c0, 0, d$y, d$Z, z = 0.1)$kare
    b <- kare_value(d$X, 0L, s, L, 1.2, 0, d$y, d$Z, z = 0.1 / c0^(2 * (L + 1)))$kare
    expect_equal(a, b, tolerance = 1e-10)
    a <- kare_value(d$X, 0L, s * c0, L, 1.2, 0.4 * c0, d$y, d$Z, z = 0.1)$kare
    b <- kare_value(d$X, 0L, s, L, 1.2, 0.4, d$y, d$Z, z = 0.1 / c0^2)$kare
    expect_equal(a, b, tolerance = 1e-10)
    # and the KRR criterion itself: KARE of c K at lambda equals KARE of K at lambda / c
    K <- ntk_kernel(d$X, depth = L, standardize = FALSE, threads = 1)
    o1 <- .Call(ntkgen:::C_kare_objective, c0 * unclass(K), d$y, d$Z, 0.1)$kare
    o2 <- .Call(ntkgen:::C_kare_objective, unclass(K), d$y, d$Z, 0.1 / c0)$kare
    expect_equal(o1, o2, tolerance = 1e-10)
  }
})

test_that("analytic-mode gradients match central differences (depth 1-3, sigma_b 0 / > 0, both maps)", {
  d <- kare_fd_case(1)
  set.seed(11)
  s <- stats::runif(d$p, 0.5, 1.5)
  P <- matrix(stats::rnorm(d$p * 3), d$p, 3)
  for (L in 1:3) for (sb in c(0, 0.4)) {
    expect_lt(max(kare_fd_error(d, 0L, s, L, 1.3, sb)), 1e-5)
    expect_lt(max(kare_fd_error(d, 1L, P, L, 1.3, sb)), 1e-5)
  }
  # with covariates in the offset
  Z2 <- cbind(1, stats::rnorm(d$n))
  expect_lt(max(kare_fd_error(d, 0L, s, 2L, 1.1, 0.2, Z = Z2)), 1e-5)
})

test_that("near-duplicate and duplicate individuals give finite, correct gradients", {
  d <- kare_fd_case(3)
  d$X[2, ] <- d$X[1, ]                          # exact duplicate: c = 1 for every map
  s <- rep(1, d$p)
  expect_lt(max(kare_fd_error(d, 0L, s, 2L, 1.4, 0)), 1e-5)
  d$X[4, ] <- d$X[3, ] + 1e-3 * stats::rnorm(d$p)   # close pair: still exact
  expect_lt(max(kare_fd_error(d, 0L, s, 2L, 1.4, 0.1, h = 1e-6)), 1e-5)
  d$X[4, ] <- d$X[3, ] + 1e-7 * stats::rnorm(d$p)   # near duplicate: 1/sin t capped
  g <- kare_value(d$X, 0L, s, 3L, 1.4, 0.1, d$y, d$Z, grad = TRUE)
  expect_equal(g$status, 0L)
  expect_true(all(is.finite(c(g$grad_sw, g$grad_sb, g$grad_map))))
  g0 <- kare_value(d$X[-4, ], 0L, s, 3L, 1.4, 0.1, d$y[-4], d$Z[-4, , drop = FALSE],
                   grad = TRUE)
  expect_lt(max(abs(g$grad_map)), 1e3 * max(abs(g0$grad_map)))
})

kare_case <- function() {
  set.seed(1)
  G <- simulate_genotypes(250, 20)
  yy <- simulate_phenotype(G, "ricker", h2 = 0.8, causal = 3)
  list(G = G, y = as.numeric(yy), causal = attr(yy, "causal"), tr = 1:150, te = 151:250)
}

test_that("training lowers KARE, beats the untrained kernel and finds the causal SNPs", {
  d <- kare_case()
  fit <- ntk_kare(d$G[d$tr, ], d$y[d$tr], depth = 1, steps = 40, threads = 1)
  expect_s3_class(fit, "ntk_kare")
  tr <- fit$trace
  expect_lt(fit$kare[[1]], 0.6 * fit$kare_start[[1]])
  expect_true(mean(diff(tr$kare) < 0) > 0.8)       # decreasing over (nearly) every step
  K <- kare_kernel(fit, threads = 1)
  expect_identical(attr(K, "ntk")$kind, "kare_analytic")
  p1 <- predict(ntk_krr(d$y[d$tr], K, criterion = "kare", offset = "gls"),
                newdata = d$G[d$te, ])
  K0 <- ntk_kernel(d$G[d$tr, ], depth = 1, threads = 1)
  p0 <- predict(ntk_krr(d$y[d$tr], K0, criterion = "kare", offset = "gls"),
                newdata = d$G[d$te, ])
  expect_gt(stats::cor(p1, d$y[d$te]), stats::cor(p0, d$y[d$te]) + 0.2)
  expect_setequal(order(fit$relevance, decreasing = TRUE)[1:3], d$causal)
  # KARE at the final parameters is the KARE ntk_krr reports at lambda = n z
  ref <- ntk_krr(d$y[d$tr], K, criterion = "kare", offset = "gls",
                 lambda = c(fit$lambda, 1))$cvm[1]
  expect_equal(ref, fit$kare[[1]], tolerance = 1e-8)
  expect_output(print(fit), "Chosen depth 1")
})

test_that("the recipe builds matching kernels; fits predict from genotypes", {
  d <- kare_case()
  X <- d$G[1:60, ]
  y <- d$y[1:60]
  f0 <- ntk_kare(X, y, depth = 2, steps = 0, threads = 1)
  expect_equal(unclass(kare_kernel(f0, threads = 1)),
               unclass(ntk_kernel(X, depth = 2, threads = 1)), ignore_attr = TRUE,
               tolerance = 1e-12)
  fit <- ntk_kare(X, y, depth = 1:2, map = "projection", rank = 3, steps = 5,
                  sigma_b = 0.2, threads = 1)
  expect_true(fit$depth %in% 1:2)
  expect_equal(nrow(fit$candidates), 2L)
  expect_equal(fit$chosen, which.min(fit$candidates$kare))
  expect_equal(fit$kare[[fit$chosen]], min(fit$kare))
  K <- kare_kernel(fit, threads = 1)
  Ks <- kare_kernel(fit, newdata = d$G[61:70, ], threads = 1)
  expect_equal(dim(Ks), c(10L, 60L))
  expect_equal(Ks, ntk_kernel_like(K, d$G[61:70, ], threads = 1))
  # a test-by-train kernel of the training individuals themselves is K
  expect_equal(unclass(kare_kernel(fit, newdata = X, threads = 1)), unclass(K),
               ignore_attr = TRUE, tolerance = 1e-10)
  kr <- ntk_krr(y, K, criterion = "kare")
  expect_equal(predict(kr, newdata = d$G[61:70, ]), predict(kr, K_new = Ks))
  lm <- ntk_lmm(y, K)
  expect_length(predict(lm, newdata = d$G[61:70, ]), 10L)
  grDevices::pdf(NULL)
  expect_silent(plot(fit))
  grDevices::dev.off()
})

test_that("training is reproducible under set.seed with 1 and 2 threads; step halving", {
  d <- kare_case()
  X <- d$G[1:80, ]
  y <- d$y[1:80]
  set.seed(5)
  a <- ntk_kare(X, y, depth = 2, map = "projection", rank = 2, steps = 4, threads = 1)
  set.seed(5)
  b <- ntk_kare(X, y, depth = 2, map = "projection", rank = 2, steps = 4, threads = 2)
  expect_equal(a$projection, b$projection, tolerance = 1e-12)
  expect_equal(a$trace, b$trace, tolerance = 1e-12)
  # the threaded layer loops (n >= 512) give the same gradient with 1 and 2 threads
  set.seed(6)
  Xb <- matrix(stats::rnorm(600 * 8), 600, 8)
  yb <- stats::rnorm(600)
  sb <- stats::runif(8, 0.5, 1.5)
  g1 <- kare_value(Xb, 0L, sb, 2L, 1.3, 0.2, yb, matrix(1, 600, 1), grad = TRUE,
                   threads = 1L)
  g2 <- kare_value(Xb, 0L, sb, 2L, 1.3, 0.2, yb, matrix(1, 600, 1), grad = TRUE,
                   threads = 2L)
  expect_identical(g1, g2)
  # an absurd SGD step overflows the kernel: halved until finite, last good kept
  h <- ntk_kare(X, y, depth = 1, optimizer = "sgd", lr = 1e6, steps = 3, threads = 1)
  expect_true(all(is.finite(h$trace$kare)))
  expect_lt(min(h$trace$lr, na.rm = TRUE), 1e6)
  expect_true(is.finite(h$kare[[1]]))
})

test_that("bad inputs give errors naming the argument", {
  d <- kare_case()
  X <- d$G[1:40, ]
  y <- d$y[1:40]
  expect_error(ntk_kare("a", y), "`X`")
  expect_error(ntk_kare(X, y[-1]), "`y`")
  expect_error(ntk_kare(X, rep(1, 40)), "`y`")
  expect_error(ntk_kare(X, y, depth = 0), "`depth`")
  expect_error(ntk_kare(X, y, map = "pca"), "`map`")
  expect_error(ntk_kare(X, y, map = "projection", rank = 100), "`rank`")
  expect_error(ntk_kare(X, y, map = c("scale", "pca")), "`map`")
  expect_error(ntk_kare(X, y, z = 0), "`z`")
  expect_error(ntk_kare(X, y, optimizer = "lbfgs"), "`optimizer`")
  expect_error(ntk_kare(X, y, lr = -1), "`lr`")
  expect_error(ntk_kare(X, y, steps = -1), "`steps`")
  expect_error(ntk_kare(X, y, penalty = -1), "`penalty`")
  expect_error(ntk_kare(X, y, sigma_w = 0), "`sigma_w`")
  expect_error(ntk_kare(X, y, covariates = rep(1, 40)), "`covariates`")
  expect_error(kare_kernel(list()), "`object`")
  fit <- ntk_kare(X, y, depth = 1, steps = 0, threads = 1)
  expect_error(kare_kernel(fit, newdata = X[, 1:5]), "`newdata`")
})

test_that("sigma_b candidates: each trained as it would be alone, the smallest KARE chosen", {
  d <- kare_case()
  X <- d$G[1:90, ]
  y <- d$y[1:90]
  set.seed(8)
  both <- ntk_kare(X, y, depth = 1:2, map = c("scale", "projection"), rank = 1,
                   sigma_b = c(0.5, 0), steps = 6, threads = 1)
  cd <- both$candidates
  expect_equal(nrow(cd), 8L)
  expect_equal(cd$sigma_b, rep(c(0, 0.5), 4))             # sorted, within depth x map
  expect_equal(cd$depth, rep(1:2, each = 4))
  expect_equal(both$chosen, which.min(cd$kare))
  expect_equal(unname(both$kare), cd$kare)
  expect_true(all(grepl("sigma_b", names(both$kare))))
  ones <- list()
  for (b in c(0, 0.5)) {
    set.seed(8)        # the projection start is drawn before any training: the same
    one <- ntk_kare(X, y, depth = 1:2, map = c("scale", "projection"), rank = 1,
                    sigma_b = b, steps = 6, threads = 1)
    expect_equal(unname(one$kare), cd$kare[cd$sigma_b == b], tolerance = 1e-12)
    expect_equal(one$kare_start, stats::setNames(cd$kare_start[cd$sigma_b == b],
                                                 names(one$kare_start)), tolerance = 1e-12)
    expect_equal(one$candidates$sigma_b_trained, cd$sigma_b_trained[cd$sigma_b == b],
                 tolerance = 1e-12)
    ones[[as.character(b)]] <- one
  }
  # the chosen candidate's recipe is the one its sigma_b alone gives
  one <- ones[[as.character(cd$sigma_b[both$chosen])]]
  expect_equal(one$sigma_b, both$sigma_b)
  expect_equal(unclass(kare_kernel(both, threads = 1)), unclass(kare_kernel(one, threads = 1)),
               tolerance = 1e-12, ignore_attr = TRUE)
  expect_equal(kare_kernel(both, newdata = d$G[91:100, ], threads = 1),
               kare_kernel(one, newdata = d$G[91:100, ], threads = 1), tolerance = 1e-12,
               ignore_attr = TRUE)
  # sigma_b = 0 stays 0; sigma_b > 0 is trained
  expect_equal(cd$sigma_b_trained[cd$sigma_b == 0], rep(0, 4))
  expect_true(all(abs(cd$sigma_b_trained[cd$sigma_b == 0.5] - 0.5) > 1e-4))
  expect_equal(both$sigma_b, cd$sigma_b_trained[both$chosen])
  expect_equal(both$sigma_w, cd$sigma_w_trained[both$chosen])
  tr <- both$trace
  expect_equal(sort(unique(tr$candidate)), seq_len(nrow(cd)))
  expect_equal(tr$sigma_b, cd$sigma_b[tr$candidate])
  expect_equal(tr$kare[tr$step == 0], cd$kare_start)
  expect_output(print(both), "sigma_b start.*sigma_b trained")
  expect_false(any(grepl("sigma_b start", capture.output(print(ones[[1]])))))
  # with a hold-out, the candidate of the smallest held-out error
  set.seed(9)
  v <- ntk_kare(X, y, depth = 1, sigma_b = c(0, 0.5), steps = 4, validation = 0.25,
                threads = 1)
  expect_equal(nrow(v$candidates), 2L)
  expect_equal(v$chosen, which.min(v$candidates$validation))
  # network mode: biases or none, each from the network ntk_kernel() would draw
  set.seed(10)
  nw <- ntk_kare(X, y, depth = 1, width = 8, sigma_b = c(0, 0.5), steps = 3, threads = 1)
  expect_equal(nrow(nw$candidates), 2L)
  for (b in c(0, 0.5)) {
    set.seed(10)
    n1 <- ntk_kare(X, y, depth = 1, width = 8, sigma_b = b, steps = 3, threads = 1)
    expect_equal(unname(n1$kare), nw$candidates$kare[nw$candidates$sigma_b == b],
                 tolerance = 1e-12)
  }
  expect_output(print(nw), "sigma_b")
  pdf(NULL)
  on.exit(dev.off())
  expect_invisible(plot(both, which = 1))
  expect_error(ntk_kare(X, y, sigma_b = c(0, -1)), "`sigma_b`")
  expect_error(ntk_kare(X, y, sigma_b = c(0, NA)), "`sigma_b`")
  expect_error(ntk_kare(X, y, sigma_b = numeric()), "`sigma_b`")
  expect_error(ntk_kare(X, y, sigma_b = "1"), "`sigma_b`")
  expect_error(ntk_kare(X, y, sigma_b = Inf), "`sigma_b`")
})

test_that("ntk_study() runs the ntk_kare method beside the others", {
  st <- ntk_study(n = 60, p = 10, reps = 1, model = "ricker", seed = 3,
                  methods = c("ntk_krr", "ntk_kare"),
                  kare_args = list(depth = 1, steps = 5), progress = FALSE)
  expect_setequal(as.character(st$method), c("ntk_krr", "ntk_kare"))
  expect_true(all(is.finite(st$cor)))
  expect_error(ntk_study(n = 60, p = 10, reps = 1, methods = "ntk_kare",
                         kare_args = list(foo = 1), progress = FALSE), "`kare_args`")
})

test_that("network-mode gradients match central differences (depth 1-3, sigma_b 0 / > 0)", {
  d <- kare_fd_case(4, n = 16, p = 4)
  w <- 5L
  for (L in 1:3) for (sb in c(0, 0.5)) {
    set.seed(L)
    wt <- ntkgen:::ntk_weights(d$p, w, L)$flat
    f <- function(wt, grad = FALSE)
      .Call(ntkgen:::C_kare_network, d$X, wt, L, w, 1.3, sb, d$y, d$Z, 0.1, 1L, grad)
    g <- f(wt, TRUE)$grad
    h <- 1e-6
    fd <- vapply(seq_along(wt), function(k) {
      a <- wt; a[k] <- a[k] + h
      b <- wt; b[k] <- b[k] - h
      (f(a)$kare - f(b)$kare) / (2 * h)
    }, numeric(1))
    expect_lt(max(abs(fd - g)) / max(abs(fd)), 1e-5)
    expect_equal(g[length(g)], 0)              # the read-out bias is not in the kernel
  }
})

test_that("network mode starts from ntk_kernel()'s network and trains it; batches", {
  d <- kare_case()
  X <- d$G[1:80, ]
  y <- d$y[1:80]
  set.seed(3)
  f <- ntk_kare(X, y, depth = 2, width = 16, steps = 10, threads = 1)
  set.seed(3)
  K0 <- ntk_kernel(X, depth = 2, width = 16, threads = 1)
  ref <- ntk_krr(y, K0, criterion = "kare", offset = "gls", lambda = c(f$lambda, 1))$cvm[1]
  expect_equal(f$kare_start[[1]], ref, tolerance = 1e-10)
  expect_lt(f$kare[[1]], f$kare_start[[1]])
  K <- kare_kernel(f, threads = 1)
  expect_identical(attr(K, "ntk")$kind, "kare_network")
  Ks <- ntk_kernel_like(K, d$G[81:90, ], threads = 1)
  expect_equal(dim(Ks), c(10L, 80L))
  expect_equal(unclass(kare_kernel(f, newdata = X, threads = 1)), unclass(K),
               ignore_attr = TRUE, tolerance = 1e-10)
  set.seed(4)
  b1 <- ntk_kare(X, y, depth = 1, steps = 8, batch = 30, threads = 1)
  set.seed(4)
  b2 <- ntk_kare(X, y, depth = 1, steps = 8, batch = 30, threads = 2)
  expect_equal(b1$scales, b2$scales, tolerance = 1e-12)
  expect_lt(b1$kare[[1]], b1$kare_start[[1]])
})

test_that("the penalised objective's gradient in the optimiser's parameters matches differences", {
  d <- kare_fd_case(5, n = 20, p = 5)
  base <- list(X = d$X, y = d$y, Z = d$Z, z = 0.1, p = d$p, width = Inf, sw = 1.2, sb = 0.3,
               train_sb = TRUE, threads = 1L)
  set.seed(2)
  cases <- list(list(map = "scale", rank = NA, type = "l1", th = c(0.2, -1, stats::rnorm(5, 0, 0.3))),
                list(map = "scale", rank = NA, type = "l2_log", th = c(0.2, -1, stats::rnorm(5, 0, 0.3))),
                list(map = "projection", rank = 2L, type = "l2", th = c(0.2, -1, stats::rnorm(10))))
  for (cs in cases) {
    ctx <- c(base, list(map = cs$map, rank = cs$rank, penalty = 0.3, penalty_type = cs$type))
    e <- ntkgen:::kare_eval(cs$th, 2L, ctx)
    h <- 1e-6
    fd <- vapply(seq_along(cs$th), function(k) {
      a <- cs$th; a[k] <- a[k] + h
      b <- cs$th; b[k] <- b[k] - h
      (ntkgen:::kare_eval(a, 2L, ctx)$objective - ntkgen:::kare_eval(b, 2L, ctx)$objective) / (2 * h)
    }, numeric(1))
    expect_lt(max(abs(fd - e$grad)) / max(abs(fd)), 1e-5)
  }
  d2 <- kare_case()
  expect_error(ntk_kare(d2$G[1:40, ], d2$y[1:40], map = "projection", penalty_type = "l2_log"),
               "`penalty_type`")
})

test_that("validation holds individuals out and keeps the parameters of the best held-out error", {
  d <- kare_case()
  set.seed(8)
  f <- ntk_kare(d$G[d$tr, ], d$y[d$tr], depth = 1:2, steps = 20, validation = 0.25,
                threads = 1)
  expect_length(f$heldout, round(0.25 * length(d$tr)))
  expect_true(all(c("validation") %in% names(f$trace)))
  expect_equal(f$chosen, which.min(f$candidates$validation))
  v <- f$trace$validation[f$trace$candidate == f$chosen]
  expect_true(min(v, na.rm = TRUE) <= v[1])
  expect_error(ntk_kare(d$G[1:40, ], d$y[1:40], validation = 0.7), "`validation`")
})

test_that("grouped scales: the gradient in the group log-scales matches central differences", {
  d <- kare_fd_case(6, n = 22, p = 9)
  grp <- c(1L, 2L, 1L, 3L, 3L, 2L, 1L, 3L, 2L)
  set.seed(7)
  for (L in 1:2) for (sb in c(0, 0.4)) for (pen in c(0, 0.2)) {
    ctx <- list(X = d$X, y = d$y, Z = d$Z, z = 0.1, p = d$p, width = Inf, sw = 1.2,
                sb = sb, train_sb = sb > 0, threads = 1L, map = "scale", rank = NA,
                penalty = pen, penalty_type = "l2_log", groups = grp, ngroups = 3L)
    th <- c(0.1, if (sb > 0) log(sb), stats::rnorm(3, 0, 0.3))
    e <- ntkgen:::kare_eval(th, L, ctx)
    expect_true(e$ok)
    expect_length(e$grad, length(th))
    h <- 1e-6
    fd <- vapply(seq_along(th), function(k) {
      a <- th; a[k] <- a[k] + h
      b <- th; b[k] <- b[k] - h
      (ntkgen:::kare_eval(a, L, ctx)$objective - ntkgen:::kare_eval(b, L, ctx)$objective) /
        (2 * h)
    }, numeric(1))
    expect_lt(max(abs(fd - e$grad)) / max(abs(fd)), 1e-5)
    # the per-SNP map at the groups' scales gives the same objective
    ctx1 <- ctx; ctx1$groups <- NULL; ctx1$ngroups <- NULL
    th1 <- c(th[seq_len(length(th) - 3L)], th[length(th) - 3L + grp])
    expect_equal(ntkgen:::kare_eval(th1, L, ctx1)$objective, e$objective, tolerance = 1e-12)
  }
  # one group: a single global scale (the input scale against the bias)
  ctx <- list(X = d$X, y = d$y, Z = d$Z, z = 0.1, p = d$p, width = Inf, sw = 1.2, sb = 0.5,
              train_sb = TRUE, threads = 1L, map = "scale", rank = NA, penalty = 0,
              penalty_type = "l1", groups = rep(1L, d$p), ngroups = 1L)
  th <- c(0.1, log(0.5), 0.3)
  e <- ntkgen:::kare_eval(th, 2L, ctx)
  fd <- vapply(1:3, function(k) {
    a <- th; a[k] <- a[k] + 1e-6
    b <- th; b[k] <- b[k] - 1e-6
    (ntkgen:::kare_eval(a, 2L, ctx)$kare - ntkgen:::kare_eval(b, 2L, ctx)$kare) / 2e-6
  }, numeric(1))
  expect_lt(max(abs(fd - e$grad)) / max(abs(fd)), 1e-5)
})

test_that("one group with scale c is the NTK of X * c; recipes of grouped maps predict", {
  d <- kare_case()
  X <- d$G[1:70, ]
  y <- d$y[1:70]
  Xs <- scale(X)
  Xs[, attr(Xs, "scaled:scale") == 0] <- 0
  fit <- ntk_kare(X, y, depth = 2, steps = 6, sigma_b = 0.3, groups = rep(1, ncol(X)),
                  threads = 1)
  expect_length(fit$group_scales, 1L)
  cc <- fit$group_scales
  expect_false(isTRUE(all.equal(cc, 1)))                  # it moved
  expect_equal(unname(fit$scales), rep(cc, ncol(X)))
  expect_equal(unname(fit$relevance), rep(cc, ncol(X)))
  K <- kare_kernel(fit, threads = 1)
  K1 <- ntk_kernel(Xs * cc, depth = 2, sigma_w = fit$sigma_w, sigma_b = fit$sigma_b,
                   standardize = FALSE, threads = 1)
  expect_equal(unclass(K), unclass(K1), ignore_attr = TRUE, tolerance = 1e-10)
  # sigma_b = 0: the kernel is homogeneous, K(X c) = c^2 K(X)
  f0 <- ntk_kare(X, y, depth = 2, steps = 4, groups = rep("a", ncol(X)), threads = 1)
  c0 <- f0$group_scales
  K0 <- ntk_kernel(X, depth = 2, sigma_w = f0$sigma_w, threads = 1)
  expect_equal(unclass(kare_kernel(f0, threads = 1)), c0^2 * unclass(K0),
               ignore_attr = TRUE, tolerance = 1e-10)
  # the KARE it reports is the KARE of that kernel
  ref <- ntk_krr(y, K, criterion = "kare", offset = "gls", lambda = c(fit$lambda, 1))$cvm[1]
  expect_equal(ref, fit$kare[[1]], tolerance = 1e-8)
  # LD groups: k groups, recipe predicts from genotypes
  fl <- ntk_kare(X, y, depth = 1, steps = 5, groups = "ld", ngroups = 4, threads = 1)
  expect_equal(fl$ngroups, 4L)
  expect_setequal(fl$groups, 1:4)
  expect_equal(unname(fl$scales), unname(fl$group_scales[fl$groups]))
  Ks <- kare_kernel(fl, newdata = d$G[71:80, ], threads = 1)
  kr <- ntk_krr(y, kare_kernel(fl, threads = 1), criterion = "kare", offset = "gls")
  expect_length(predict(kr, newdata = d$G[71:80, ]), 10L)
  expect_equal(predict(kr, newdata = d$G[71:80, ]), predict(kr, K_new = Ks))
  expect_output(print(fl), "4 groups of SNPs")
  # the LD groups: complete linkage on 1 - |r|; a perfectly linked pair shares a group
  Xd <- X
  Xd[, 2] <- 2 - Xd[, 1]
  g <- ntkgen:::kare_ld_groups(scale(Xd), 19L)
  expect_equal(g[1], g[2])
  expect_equal(length(unique(g)), 19L)
  # dropped constant SNPs: NA group, the others renumbered
  Xc <- X
  Xc[, 3] <- 1
  expect_warning(fc <- ntk_kare(Xc, y, depth = 1, steps = 2, groups = c(1, 1, 2, rep(3, 17)),
                                threads = 1), "constant")
  expect_true(is.na(fc$groups[3]))
  expect_equal(fc$ngroups, 2L)
})

test_that("bad groups / ngroups give errors naming them", {
  d <- kare_case()
  X <- d$G[1:40, ]
  y <- d$y[1:40]
  expect_error(ntk_kare(X, y, groups = 1:3), "`groups`")
  expect_error(ntk_kare(X, y, groups = "LD"), "`groups`")
  expect_error(ntk_kare(X, y, groups = c(NA, rep(1, 19))), "`groups`")
  expect_error(ntk_kare(X, y, groups = c(1.5, rep(1, 19))), "`groups`")
  expect_error(ntk_kare(X, y, groups = list(1)), "`groups`")
  expect_error(ntk_kare(X, y, groups = rep(1, 20), map = "projection"), "`groups`")
  expect_error(ntk_kare(X, y, groups = rep(1, 20), width = 8), "`groups`")
  expect_error(ntk_kare(X, y, groups = "ld"), "`ngroups`")
  expect_error(ntk_kare(X, y, groups = "ld", ngroups = 0), "`ngroups`")
  expect_error(ntk_kare(X, y, groups = "ld", ngroups = 21), "`ngroups`")
  expect_error(ntk_kare(X, y, groups = "ld", ngroups = 2.5), "`ngroups`")
  expect_error(ntk_kare(X, y, ngroups = 3), "`ngroups`")
  expect_error(ntk_kare(X, y, groups = rep(1, 20), ngroups = 3), "`ngroups`")
})
