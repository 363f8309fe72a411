# Kernel engine: analytic and empirical NTK, GRM, against independent dense R code.

strip <- function(K) { attributes(K) <- list(dim = dim(K)); K }

# Plain R implementation of the recursion of issue 2 (dense, all pairs at once).
ntk_ref <- function(X, Z = NULL, depth, sw, sb) {
  p <- ncol(X)
  A <- if (is.null(Z)) X else Z
  S <- sw^2 * A %*% t(X) / p + sb^2
  dA <- sw^2 * rowSums(A^2) / p + sb^2
  dX <- sw^2 * rowSums(X^2) / p + sb^2
  Th <- S
  for (l in seq_len(depth)) {
    q <- sqrt(outer(dA, dX))
    cc <- pmin(pmax(S / q, -1), 1)
    if (is.null(Z)) diag(cc) <- 1
    t <- acos(cc)
    S <- sw^2 * q * (sin(t) + (pi - t) * cc) / (2 * pi) + sb^2
    Th <- Th * sw^2 * (pi - t) / (2 * pi) + S
    dA <- sw^2 * dA / 2 + sb^2
    dX <- sw^2 * dX / 2 + sb^2
  }
  Th
}

sim_geno <- function(n, p, seed) {
  set.seed(seed)
  af <- runif(p, 0.1, 0.5)
  matrix(rbinom(n * p, 2, rep(af, each = n)), n, p)
}

std_train <- function(X, Z = X) {
  mu <- colMeans(X)
  s <- apply(X, 2, sd)
  scale(Z, mu, s)
}

test_that("analytic kernel matches the plain R recursion, depth 1..4, with and without bias", {
  X <- sim_geno(25, 40, 1)
  Xs <- std_train(X)
  for (depth in 1:4) for (sb in c(0, 0.7)) {
    K <- ntk_kernel(X, depth = depth, sigma_w = 1.2, sigma_b = sb, threads = 2)
    R <- ntk_ref(Xs, depth = depth, sw = 1.2, sb = sb)
    expect_equal(strip(K), strip(R), tolerance = 1e-12)
  }
  # default sigma_w = sqrt(2), standardize = FALSE on the same standardised data
  K2 <- ntk_kernel(Xs, depth = 3, standardize = FALSE, threads = 1)
  expect_equal(strip(K2), strip(ntk_ref(Xs, depth = 3, sw = sqrt(2), sb = 0)),
               tolerance = 1e-12)
  expect_equal(strip(ntk_kernel(X, depth = 3, threads = 1)), strip(K2), tolerance = 1e-13)
})

test_that("depth-1 closed forms computed by hand", {
  # sw^2 = 2, sb = 0, p = 2: Sigma0(x, x') = <x, x'>
  X <- rbind(c(1, 0), c(0, 1), c(1, 1), c(-1, 0))
  K <- ntk_kernel(X, depth = 1, standardize = FALSE, threads = 1)
  # x1.x1: c = 1, Sigma1 = 1, Sdot = 1, Theta = 1 + 1 = 2
  # x1.x2: c = 0, t = pi/2, Sigma1 = 1/pi, Sdot = 1/2, Theta = 0 / 2 + 1/pi
  # x1.x3: c = 1/sqrt(2), t = pi/4, Sigma1 = 1/pi + 3/4, Sdot = 3/4, Theta = 3/2 + 1/pi
  # x1.x4: c = -1, t = pi, Sigma1 = 0, Sdot = 0, Theta = 0
  expect_equal(K[1, ], c(2, 1 / pi, 3 / 2 + 1 / pi, 0), tolerance = 1e-14)
  expect_equal(K[3, 3], 4)   # Sigma0 = 2: Theta = 2 * 1 + 2
  # with bias sb = 1, x1.x2: Sigma0 = 1, diag 2, c = 1/2, t = pi/3:
  # Sigma1 = 2 * 2 * (sqrt(3)/2 + (2 pi / 3) / 2) / (2 pi) + 1, Sdot = 2/3
  Kb <- ntk_kernel(X, depth = 1, sigma_b = 1, standardize = FALSE, threads = 1)
  s1 <- 4 * (sqrt(3) / 2 + pi / 3) / (2 * pi) + 1
  expect_equal(Kb[1, 2], 1 * 2 / 3 + s1, tolerance = 1e-14)
  expect_equal(Kb[1, 1], 2 * 1 + (2 / 2 * 2 + 1), tolerance = 1e-14)
})

test_that("identical and zero rows give finite values", {
  X <- rbind(c(1, 2, 0), c(1, 2, 0), c(0, 0, 0), c(-1, 0, 3))
  for (sb in c(0, 0.5)) {
    K <- ntk_kernel(X, depth = 3, sigma_b = sb, standardize = FALSE, threads = 2)
    expect_true(all(is.finite(K)))
    expect_equal(K[1, 2], K[1, 1], tolerance = 1e-14)
    R <- ntk_ref(X[-3, ], depth = 3, sw = sqrt(2), sb = sb)
    R[1, 2] <- R[2, 1] <- R[1, 1]
    expect_equal(strip(K[-3, -3]), strip(R), tolerance = 1e-12)
  }
  K0 <- ntk_kernel(X, depth = 2, standardize = FALSE, threads = 1)
  expect_equal(unname(K0[3, ]), rep(0, 4))
  Ke <- ntk_kernel(X, depth = 2, width = 7, sigma_b = 0, standardize = FALSE, threads = 1)
  expect_true(all(is.finite(Ke)))
})

test_that("kernels are symmetric and positive semi-definite", {
  X <- sim_geno(40, 30, 2)
  for (w in c(Inf, 64)) {
    K <- ntk_kernel(X, depth = 3, width = w, sigma_b = 0.3, threads = 2)
    expect_identical(strip(K), t(strip(K)))
    ev <- eigen(strip(K), symmetric = TRUE, only.values = TRUE)$values
    expect_gt(min(ev), -1e-10 * max(ev))
  }
})

test_that("test-by-train blocks equal the matching block of the joint kernel", {
  X <- sim_geno(30, 50, 3)
  Z <- sim_geno(10, 50, 4)
  # joint kernel over data standardised with the TRAINING means and sds
  J <- rbind(std_train(X), std_train(X, Z))
  rows <- 31:40
  cols <- 1:30
  Kzx <- ntk_kernel(X, Z, depth = 3, sigma_b = 0.2, threads = 2)
  expect_equal(dim(Kzx), c(10L, 30L))
  Kj <- ntk_kernel(J, depth = 3, sigma_b = 0.2, standardize = FALSE, threads = 2)
  expect_equal(strip(Kzx), strip(Kj[rows, cols]), tolerance = 1e-12)
  # empirical: the same seed draws the same network
  set.seed(11)
  Ez <- ntk_kernel(X, Z, depth = 2, width = 40, sigma_b = 0.2, threads = 2)
  set.seed(11)
  Ej <- ntk_kernel(J, depth = 2, width = 40, sigma_b = 0.2, standardize = FALSE, threads = 2)
  expect_equal(strip(Ez), strip(Ej[rows, cols]), tolerance = 1e-12)
  # normalised: the test points use their own diagonals
  for (nm in c("unit", "paper")) {
    Kn <- ntk_kernel(X, Z, depth = 3, sigma_b = 0.2, normalize = nm, threads = 1)
    Kjn <- ntk_kernel(J, depth = 3, sigma_b = 0.2, normalize = nm, standardize = FALSE,
                      threads = 1)
    expect_equal(strip(Kn), strip(Kjn[rows, cols]), tolerance = 1e-12)
    set.seed(12)
    En <- ntk_kernel(X, Z, width = 30, normalize = nm, threads = 1)
    set.seed(12)
    Ejn <- ntk_kernel(J, width = 30, normalize = nm, standardize = FALSE, threads = 1)
    expect_equal(strip(En), strip(Ejn[rows, cols]), tolerance = 1e-12)
  }
  G <- grm(X, Z, threads = 1)
  expect_equal(strip(G), strip(grm(J, standardize = FALSE, threads = 1)[rows, cols]),
               tolerance = 1e-12)
})

test_that("normalisations: unit diagonal, paper = unit / p with p the kept columns", {
  X <- sim_geno(20, 30, 5)
  X[, 7] <- 1   # constant: dropped, so p = 29
  K <- suppressWarnings(ntk_kernel(X, depth = 2, sigma_b = 0.1, threads = 1))
  d <- diag(K)
  U <- suppressWarnings(ntk_kernel(X, depth = 2, sigma_b = 0.1, normalize = "unit", threads = 1))
  expect_equal(strip(U), strip(K) / sqrt(outer(d, d)), tolerance = 1e-13)
  expect_equal(diag(U), rep(1, 20))
  P <- suppressWarnings(ntk_kernel(X, depth = 2, sigma_b = 0.1, normalize = "paper", threads = 1))
  expect_equal(strip(P), strip(U) / 29, tolerance = 1e-13)
  expect_identical(attr(P, "ntk")$p, 29L)
  expect_identical(attr(P, "ntk")$normalize, "paper")
})

# ---- empirical kernel against an explicit Jacobian --------------------------------------

net_jacobian <- function(X, wts, sw, sb) {
  p <- ncol(X)
  W1 <- wts$W[[1]]; W2 <- wts$W[[2]]; b1 <- wts$b[[1]]; b2 <- wts$b[[2]]; v <- wts$v
  w <- nrow(W1)
  f <- function(x, W1, b1, W2, b2, v, cc) {
    a1 <- pmax(sw * W1 %*% x / sqrt(p) + sb * b1, 0)
    a2 <- pmax(sw * W2 %*% a1 / sqrt(w) + sb * b2, 0)
    drop(sw * sum(v * a2) / sqrt(w) + sb * cc)
  }
  J <- t(apply(X, 1, function(x) {
    h1 <- drop(sw * W1 %*% x / sqrt(p) + sb * b1); a1 <- pmax(h1, 0)
    h2 <- drop(sw * W2 %*% a1 / sqrt(w) + sb * b2); a2 <- pmax(h2, 0)
    g2 <- sw / sqrt(w) * v * (h2 > 0)                    # df/dh2
    g1 <- drop(sw / sqrt(w) * t(W2) %*% g2) * (h1 > 0)   # df/dh1
    c(as.vector(sw / sqrt(p) * outer(g1, x)), sb * g1,
      as.vector(sw / sqrt(w) * outer(g2, a1)), sb * g2, sw / sqrt(w) * a2, sb)
  }))
  list(J = J, f = f)
}

test_that("empirical kernel equals J J' of an explicit Jacobian (p = 4, width 3, depth 2)", {
  set.seed(21)
  X <- matrix(rnorm(6 * 4), 6, 4)
  Z <- matrix(rnorm(3 * 4), 3, 4)
  sw <- 1.3; sb <- 0.5
  set.seed(7)
  wts <- ntk_weights(4, 3, 2)
  expect_length(wts$flat, 3 * 4 + 3 + 3 * 3 + 3 + 3 + 1)
  jx <- net_jacobian(X, wts, sw, sb)
  jz <- net_jacobian(Z, wts, sw, sb)
  # the Jacobian itself against central finite differences of f
  x <- X[2, ]
  th <- list(wts$W[[1]], wts$b[[1]], wts$W[[2]], wts$b[[2]], wts$v, wts$c)
  fd <- unlist(lapply(seq_along(th), function(k) vapply(seq_along(th[[k]]), function(i) {
    up <- th; dn <- th; h <- 1e-6
    up[[k]][i] <- up[[k]][i] + h; dn[[k]][i] <- dn[[k]][i] - h
    (do.call(jx$f, c(list(x), up)) - do.call(jx$f, c(list(x), dn))) / (2 * h)
  }, numeric(1))))
  expect_equal(fd, jx$J[2, ], tolerance = 1e-7)

  set.seed(7)
  K <- ntk_kernel(X, depth = 2, width = 3, sigma_w = sw, sigma_b = sb, standardize = FALSE,
                  threads = 2)
  expect_equal(strip(K), tcrossprod(jx$J), tolerance = 1e-10)
  set.seed(7)
  Kz <- ntk_kernel(X, Z, depth = 2, width = 3, sigma_w = sw, sigma_b = sb,
                   standardize = FALSE, threads = 2)
  expect_equal(strip(Kz), tcrossprod(jz$J, jx$J), tolerance = 1e-10)
  set.seed(7)
  Kzu <- ntk_kernel(X, Z, depth = 2, width = 3, sigma_w = sw, sigma_b = sb,
                    standardize = FALSE, normalize = "unit", threads = 1)
  expect_equal(strip(Kzu), tcrossprod(jz$J, jx$J) /
                 sqrt(outer(rowSums(jz$J^2), rowSums(jx$J^2))), tolerance = 1e-10)
  # n_init = 2 averages two consecutive draws
  set.seed(8)
  w1 <- ntk_weights(4, 3, 2)
  w2 <- ntk_weights(4, 3, 2)
  set.seed(8)
  K2 <- ntk_kernel(X, depth = 2, width = 3, sigma_w = sw, sigma_b = sb, n_init = 2,
                   standardize = FALSE, threads = 1)
  ref2 <- (tcrossprod(net_jacobian(X, w1, sw, sb)$J) + tcrossprod(net_jacobian(X, w2, sw, sb)$J)) / 2
  expect_equal(strip(K2), ref2, tolerance = 1e-10)
})

test_that("empirical kernel of depth 1 and 3 matches the Gram factorisation of J J'", {
  # depth 1: J = [sw/sqrt(p) g1 x', sb g1, sw/sqrt(w) a1, sb]
  set.seed(22)
  X <- matrix(rnorm(5 * 3), 5, 3)
  set.seed(9)
  wts <- ntk_weights(3, 4, 1)
  sw <- 0.9; sb <- 0.4
  H <- sw * X %*% t(wts$W[[1]]) / sqrt(3) + sb * matrix(wts$b[[1]], 5, 4, byrow = TRUE)
  A <- pmax(H, 0)
  G <- sw / 2 * matrix(wts$v, 5, 4, byrow = TRUE) * (H > 0)
  J <- cbind(do.call(cbind, lapply(1:3, function(k) sw / sqrt(3) * G * X[, k])),
             sb * G, sw / 2 * A, sb)
  set.seed(9)
  K <- ntk_kernel(X, depth = 1, width = 4, sigma_w = sw, sigma_b = sb, standardize = FALSE,
                  threads = 1)
  expect_equal(strip(K), tcrossprod(J), tolerance = 1e-10)
})

test_that("empirical kernel converges to the analytic one like 1 / sqrt(width)", {
  X <- sim_geno(30, 20, 6)
  Ka <- ntk_kernel(X, depth = 2, threads = 2)
  widths <- c(256, 1024, 4096)
  err <- sapply(widths, function(w) mean(sapply(1:3, function(s) {
    set.seed(100 + s)
    Ke <- ntk_kernel(X, depth = 2, width = w, threads = 2)
    norm(strip(Ke) - strip(Ka), "F") / norm(strip(Ka), "F")
  })))
  expect_true(all(diff(err) < 0))
  slope <- unname(coef(lm(log(err) ~ log(widths)))[2])
  expect_gt(slope, -0.8)
  expect_lt(slope, -0.3)
  expect_lt(err[3], 0.1)
})

test_that("set.seed reproduces empirical kernels; threads 1 and 2 agree exactly", {
  X <- sim_geno(50, 30, 7)
  set.seed(3); K1 <- ntk_kernel(X, width = 64, n_init = 2, threads = 1)
  set.seed(3); K2 <- ntk_kernel(X, width = 64, n_init = 2, threads = 2)
  set.seed(4); K3 <- ntk_kernel(X, width = 64, n_init = 2, threads = 1)
  expect_identical(K1, K2)
  expect_false(isTRUE(all.equal(strip(K1), strip(K3))))
  A1 <- ntk_kernel(X, depth = 4, sigma_b = 0.3, threads = 1)
  A2 <- ntk_kernel(X, depth = 4, sigma_b = 0.3, threads = 2)
  expect_identical(A1, A2)
  expect_identical(grm(X, threads = 1), grm(X, threads = 2))
})

test_that("grm() equals the dense formula", {
  X <- sim_geno(25, 60, 8)
  Z <- sim_geno(5, 60, 9)
  Xs <- std_train(X)
  G <- grm(X, threads = 2)
  expect_equal(strip(G), tcrossprod(Xs) / 60, tolerance = 1e-13)
  expect_equal(strip(grm(X, Z, threads = 1)), tcrossprod(std_train(X, Z), Xs) / 60,
               tolerance = 1e-13)
  expect_identical(attr(G, "ntk")$kind, "grm")
  Gu <- grm(X, normalize = "unit", threads = 1)
  expect_equal(strip(Gu), cov2cor(tcrossprod(Xs)), tolerance = 1e-13)
})

test_that("settings travel with the kernel, dimnames are kept", {
  X <- sim_geno(12, 10, 10)
  rownames(X) <- paste0("id", 1:12)
  K <- ntk_kernel(X, width = 8, n_init = 2, sigma_b = 0.1, threads = 1)
  s <- attr(K, "ntk")
  expect_identical(s$kind, "empirical")
  expect_identical(s$width, 8)
  expect_identical(s$n_init, 2L)
  expect_equal(s$center, colMeans(X))
  expect_equal(s$scale, apply(X, 2, sd))
  expect_identical(s$device, "cpu")
  expect_identical(dimnames(K), list(rownames(X), rownames(X)))
  expect_identical(ntk_settings(K), s)
  expect_identical(attr(ntk_kernel(X, threads = 1), "ntk")$kind, "analytic")
})

test_that("several column blocks and tiles (n > 1024) and m > n agree with dense R", {
  set.seed(31)
  X <- matrix(rnorm(1100 * 3), 1100, 3)
  Z <- matrix(rnorm(7 * 3), 7, 3)
  K <- ntk_kernel(X, depth = 2, sigma_b = 0.3, standardize = FALSE, threads = 2)
  expect_equal(strip(K), ntk_ref(X, depth = 2, sw = sqrt(2), sb = 0.3), tolerance = 1e-12)
  expect_identical(strip(K), t(strip(K)))
  Kz <- ntk_kernel(X, Z, depth = 2, sigma_b = 0.3, standardize = FALSE, threads = 2)
  expect_equal(strip(Kz), ntk_ref(X, Z, depth = 2, sw = sqrt(2), sb = 0.3), tolerance = 1e-12)
  Kxz <- ntk_kernel(Z, X[1:20, ], depth = 2, sigma_b = 0.3, standardize = FALSE, threads = 2)
  expect_equal(strip(Kxz), ntk_ref(Z, X[1:20, ], depth = 2, sw = sqrt(2), sb = 0.3),
               tolerance = 1e-12)
  # empirical, depth 1: J = [sw/sqrt(p) g x', sb g, sw/sqrt(w) a, sb] per row
  sw <- 1.1; sb <- 0.2; w <- 5
  set.seed(32)
  wts <- ntk_weights(3, w, 1)
  jac <- function(X) {
    H <- sw * X %*% t(wts$W[[1]]) / sqrt(3) + sb * matrix(wts$b[[1]], nrow(X), w, byrow = TRUE)
    G <- sw / sqrt(w) * matrix(wts$v, nrow(X), w, byrow = TRUE) * (H > 0)
    cbind(do.call(cbind, lapply(1:3, function(k) sw / sqrt(3) * G * X[, k])),
          sb * G, sw / sqrt(w) * pmax(H, 0), sb)
  }
  set.seed(32)
  Ke <- ntk_kernel(X, depth = 1, width = w, sigma_w = sw, sigma_b = sb, standardize = FALSE,
                   threads = 2)
  expect_equal(strip(Ke), tcrossprod(jac(X)), tolerance = 1e-10)
  set.seed(32)
  Kez <- ntk_kernel(X, Z, depth = 1, width = w, sigma_w = sw, sigma_b = sb,
                    standardize = FALSE, threads = 2)
  expect_equal(strip(Kez), tcrossprod(jac(Z), jac(X)), tolerance = 1e-10)
})

test_that("ntk_kernel_like() rebuilds the test-by-train kernel of a training kernel", {
  X <- sim_geno(25, 20, 12)
  Z <- sim_geno(6, 20, 13)
  X[2, 3] <- NA
  set.seed(5)
  K <- suppressMessages(ntk_kernel(X, width = 16, n_init = 2, normalize = "unit", threads = 1))
  runif(3)
  seed_before <- .Random.seed
  Kz <- suppressMessages(ntk_kernel_like(K, Z, threads = 1))
  expect_identical(.Random.seed, seed_before)
  set.seed(5)
  Kz2 <- suppressMessages(ntk_kernel(X, Z, width = 16, n_init = 2, normalize = "unit", threads = 1))
  expect_identical(Kz, Kz2)
  # the training block itself is reproduced by Z = X
  Kxx <- suppressMessages(ntk_kernel_like(K, X, threads = 1))
  expect_equal(strip(Kxx), strip(K), tolerance = 1e-12)
  G <- grm(X[-2, ], threads = 1)
  expect_equal(strip(ntk_kernel_like(G, Z, threads = 1)),
               strip(grm(X[-2, ], Z, threads = 1)))
  A <- ntk_kernel(X[-2, ], depth = 3, sigma_b = 0.1, threads = 1)
  expect_identical(ntk_kernel_like(A, Z, threads = 1),
                   ntk_kernel(X[-2, ], Z, depth = 3, sigma_b = 0.1, threads = 1))
  expect_error(ntk_kernel_like(strip(A), Z), "`K`")
  expect_error(ntk_kernel_like(A, Z[, 1:5]), "`newdata`")
})

test_that("long kernels report their progress to a bar fed from the compiled code", {
  skip_if_not_installed("cli")
  set.seed(31)
  X <- matrix(rbinom(1200 * 50, 2, 0.3), 1200, 50)
  seen <- numeric(0)
  K <- ntkgen:::with_progress_bar("test", show = TRUE, {
    .Call(ntkgen:::C_progress_set, function(f) seen <<- c(seen, f))
    ntk_kernel(X, depth = 2, threads = 1)
  })
  expect_true(length(seen) >= 1L)
  expect_true(all(seen >= 0 & seen <= 1))
  expect_equal(max(seen), 1)
  # the callback is cleared afterwards: a later kernel reports nothing
  seen <- numeric(0)
  K2 <- ntk_kernel(X, depth = 2, threads = 1)
  expect_length(seen, 0L)
  expect_equal(K2, K)
})

test_that("standardised kernels do not depend on the genotypes' magnitude", {
  set.seed(42)
  X <- matrix(rbinom(40 * 15, 2, 0.4), 40, 15)
  K <- ntk_kernel(X, depth = 2, threads = 1)
  strip <- function(M) { attributes(M) <- list(dim = dim(M)); M }
  for (s in c(1e-170, 1e200))
    expect_equal(strip(ntk_kernel(X * s, depth = 2, threads = 1)), strip(K), tolerance = 1e-10,
                 info = format(s))
  # one huge entry: the column is kept (standardised by its own sd), the kernel finite
  X2 <- X
  X2[1, 1] <- 1e300
  K2 <- ntk_kernel(X2, depth = 2, threads = 1)
  expect_equal(attr(K2, "ntk")$p, 15L)
  expect_true(all(is.finite(K2)))
  set.seed(43)
  y <- drop(X %*% rnorm(15)) + rnorm(40)
  set.seed(1); a <- mlp_fit(X, y, epochs = 5, hidden = 8)
  set.seed(1); b <- mlp_fit(X, y * 1e300, epochs = 5, hidden = 8)
  expect_equal(predict(b, X) / 1e300, predict(a, X), tolerance = 1e-8)
})

test_that("the memory estimate of an empirical kernel counts the weights a network has", {
  # one hidden layer has no w x w matrix: width 1e5 needs about 1 GB here, not 80
  b1 <- ntkgen:::mem_kernel(100, 0, 50, "empirical", 1e5, 1)
  expect_lt(b1, 1.2 * 1024^3)
  b2 <- ntkgen:::mem_kernel(100, 0, 50, "empirical", 1e5, 2)
  expect_gt(b2, 8e10)
})
