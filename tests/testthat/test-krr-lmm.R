# Ties ntk_krr() to ntk_lmm(): with lambda = s2_e / s2_g and the intercept estimated by
# GLS, kernel ridge regression predicts exactly the LMM's BLUP, on an NTK computed by
# ntk_kernel() (train and test-by-train).

test_that("KRR at lambda = s2e/s2g equals the LMM BLUP (intercept only, NTK kernel)", {
  set.seed(11)
  n <- 120; m <- 30; p <- 40
  G <- matrix(rbinom((n + m) * p, 2, 0.3), n + m, p)
  tr <- seq_len(n); te <- n + seq_len(m)
  K <- ntk_kernel(G[tr, ], depth = 2, threads = 1)
  Ks <- ntk_kernel(G[tr, ], Z = G[te, ], depth = 2, threads = 1)
  y <- drop(scale(G[tr, 1:10] %*% rnorm(10))) + rnorm(n)
  fit <- ntk_lmm(y, K, method = "reml")
  th <- unname(fit$theta)
  lambda <- th[2] / th[1]
  pl <- predict(fit, Ks)
  kf <- ntk_krr(y, K, lambda = lambda, offset = "gls")
  pk <- predict(kf, Ks, s = lambda)
  expect_equal(unname(drop(pk)), unname(drop(pl)), tolerance = 1e-8)
  # and both equal the dense GLS + BLUP formula written here
  V <- K + lambda * diag(n)
  one <- rep(1, n)
  b <- sum(solve(V, y)) / sum(solve(V, one))
  dense <- b + Ks %*% solve(V, y - b)
  expect_equal(unname(drop(pl)), unname(drop(dense)), tolerance = 1e-8)
  # with a kernel whose rows sum to zero (a GRM of centred genotypes) the default OLS
  # centring gives the same predictions
  A <- grm(G[tr, ], threads = 1)
  As <- grm(G[tr, ], Z = G[te, ], threads = 1)
  fa <- ntk_lmm(y, A, method = "reml")
  la <- unname(fa$theta[2] / fa$theta[1])
  expect_equal(unname(drop(predict(ntk_krr(y, A, lambda = la), As, s = la))),
               unname(drop(predict(fa, As))), tolerance = 1e-8)
})
