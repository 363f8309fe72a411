# Tests of simulate_genotypes() and the five phenotype generators.  Every generator's
# output is recomputed from its returned attributes with plain R written here.

sp <- function(t) log(1 + exp(t))   # naive softplus, fine for moderate t
stdz <- function(x) (x - mean(x)) / sd(x)

test_that("simulate_genotypes: dimensions, values, names, reproducibility", {
  set.seed(11)
  G <- simulate_genotypes(50, 7)
  expect_true(is.matrix(G) && is.double(G))
  expect_identical(dim(G), c(50L, 7L))
  expect_identical(colnames(G), paste0("snp", 1:7))
  expect_true(all(G %in% 0:2))
  expect_length(attr(G, "maf"), 7)
  expect_true(all(apply(G, 2, function(x) length(unique(x)) > 1)))
  set.seed(11)
  G2 <- simulate_genotypes(50, 7)
  expect_identical(G, G2)
  set.seed(12)
  expect_false(identical(G, simulate_genotypes(50, 7)))
})

test_that("simulate_genotypes: allele frequencies lie in the maf range (empirically)", {
  set.seed(2)
  G <- simulate_genotypes(4000, 30, maf = c(0.1, 0.3), ld = 0.6)
  q <- attr(G, "maf")
  expect_true(all(q >= 0.1 & q <= 0.3))
  qhat <- colMeans(G) / 2
  # binomial sd of qhat <= sqrt(0.25 / 8000) = 0.0056; LD does not bias the margins
  expect_lt(max(abs(qhat - q)), 0.025)
  expect_true(all(qhat > 0.075 & qhat < 0.325))
  # Hardy-Weinberg: var(count) = 2 q (1 - q)
  expect_lt(max(abs(apply(G, 2, var) - 2 * q * (1 - q))), 0.04)
  # a fixed frequency
  set.seed(3)
  G1 <- simulate_genotypes(3000, 5, maf = 0.2, ld = 0)
  expect_equal(attr(G1, "maf"), rep(0.2, 5))
  expect_lt(max(abs(colMeans(G1) / 2 - 0.2)), 0.025)
})

test_that("simulate_genotypes: neighbour LD grows with ld and is ~0 at ld = 0", {
  nb <- function(G) mean(sapply(seq_len(ncol(G) - 1), function(j) cor(G[, j], G[, j + 1])))
  set.seed(4)
  r <- sapply(c(0, 0.3, 0.6, 0.9), function(l)
    nb(simulate_genotypes(2000, 40, ld = l)))
  expect_true(all(diff(r) > 0))
  # 39 pairs of n = 2000: sd of the mean correlation about 0.022 / sqrt(39)
  expect_lt(abs(r[1]), 0.015)
  expect_gt(r[4], 0.4)
  # LD decays with distance
  set.seed(5)
  G <- simulate_genotypes(3000, 30, ld = 0.8)
  lag <- function(k) mean(sapply(seq_len(ncol(G) - k), function(j) cor(G[, j], G[, j + k])))
  expect_gt(lag(1), lag(3))
  expect_gt(lag(3), lag(8))
})

test_that("simulate_genotypes: no monomorphic SNP even for tiny n", {
  set.seed(6)
  G <- simulate_genotypes(3, 200, maf = c(0.05, 0.1), ld = 0.5)
  expect_true(all(apply(G, 2, function(x) length(unique(x)) > 1)))
  expect_error(simulate_genotypes(2, 5, maf = 0.01, max_tries = 1), "`n`")
})

test_that("simulate_genotypes: argument errors name the argument", {
  expect_error(simulate_genotypes(1, 5), "`n`")
  expect_error(simulate_genotypes(10, 0), "`p`")
  expect_error(simulate_genotypes(10, 2.5), "`p`")
  expect_error(simulate_genotypes(10, 5, maf = c(0.3, 0.1)), "`maf`")
  expect_error(simulate_genotypes(10, 5, maf = c(0, 0.5)), "`maf`")
  expect_error(simulate_genotypes(10, 5, maf = 0.6), "`maf`")
  expect_error(simulate_genotypes(10, 5, maf = "a"), "`maf`")
  expect_error(simulate_genotypes(10, 5, ld = 1.5), "`ld`")
  expect_error(simulate_genotypes(10, 5, ld = -0.1), "`ld`")
})

test_that("each generator equals its formula recomputed from the attributes", {
  set.seed(7)
  G <- simulate_genotypes(300, 15)
  Gc <- scale(G, center = TRUE, scale = FALSE)
  links <- list(
    linear = function(u, pr) u,
    hyperbolic = function(u, pr) {
      t <- if (pr$symmetric) u^2 else u
      sp(pr$a * t) / (1 + sp(pr$a * t))
    },
    power = function(u, pr) sp(if (pr$symmetric) u^2 else u)^pr$gamma,
    cosh = function(u, pr) cosh(u),
    ricker = function(u, pr) {
      t <- if (pr$symmetric) u^2 else u
      sp(pr$a * t) * exp(-sp(pr$a * t))
    })
  cases <- list(list("linear"), list("hyperbolic"), list("hyperbolic", symmetric = TRUE, a = 1.5),
                list("power"), list("power", gamma = 3, symmetric = TRUE), list("cosh"),
                list("ricker"), list("ricker", symmetric = TRUE, a = 0.7))
  for (cs in cases) {
    model <- cs[[1]]
    args <- c(list(G = G, h2 = 0.4), cs[-1])
    y <- do.call(paste0("sim_", model), args)
    pr <- attr(y, "params")
    if (!is.null(cs$a)) expect_equal(pr$a, cs$a)
    if (!is.null(cs$symmetric)) expect_true(pr$symmetric)
    expect_identical(attr(y, "model"), model)
    expect_identical(attr(y, "causal"), 1:15)
    u <- stdz(drop(Gc %*% attr(y, "beta")))
    expect_equal(attr(y, "u"), u, tolerance = 1e-12)
    fu <- links[[model]](u, pr)
    expect_equal(attr(y, "fu"), fu, tolerance = 1e-12)
    expect_equal(attr(y, "g"), stdz(fu), tolerance = 1e-12)
    expect_equal(as.vector(y), sqrt(0.4) * stdz(fu) + sqrt(0.6) * attr(y, "noise"),
                 tolerance = 1e-12)
  }
  # defaults of the curvature parameters
  expect_equal(attr(sim_ricker(G), "params")$a, 2)
  expect_equal(attr(sim_hyperbolic(G), "params")$a, 2)
  expect_equal(attr(sim_power(G), "params")$gamma, 2)
  # the symmetric variants are even functions of u: no linear component
  set.seed(8)
  y <- sim_ricker(G, symmetric = TRUE)
  expect_equal(attr(y, "fu"), links$ricker(-attr(y, "u"), list(a = 2, symmetric = TRUE)))
})

test_that("softplus is stable for large arguments", {
  expect_equal(ntkgen:::softplus(c(-800, -3, 0, 3, 800)),
               c(0, log1p(exp(-3)), log(2), 3 + log1p(exp(-3)), 800))
  set.seed(9)
  G <- simulate_genotypes(100, 5)
  y <- sim_hyperbolic(G, a = 1000)   # s(a u) overflows exp() when computed naively
  expect_true(all(is.finite(y)))
})

test_that("causal SNPs, beta and simulate_phenotype dispatch", {
  set.seed(10)
  G <- simulate_genotypes(200, 12)
  set.seed(1); y <- sim_power(G, causal = 4)
  expect_length(attr(y, "causal"), 4)
  expect_length(attr(y, "beta"), 4)
  set.seed(1); y2 <- simulate_phenotype(G, "power", causal = 4)
  expect_identical(y, y2)
  y3 <- sim_linear(G, causal = c(2, 5, 9), beta = c(1, -1, 0.5))
  u <- stdz(drop(scale(G[, c(2, 5, 9)], scale = FALSE) %*% c(1, -1, 0.5)))
  expect_equal(attr(y3, "u"), u)
  y4 <- sim_linear(G, causal = c("snp3", "snp4"))
  expect_identical(attr(y4, "causal"), 3:4)
  y5 <- sim_cosh(G, causal = seq_len(12) %% 3 == 0)
  expect_identical(attr(y5, "causal"), c(3L, 6L, 9L, 12L))
  for (m in c("linear", "hyperbolic", "power", "cosh", "ricker"))
    expect_identical(attr(simulate_phenotype(G, m), "model"), m)
  expect_identical(attr(simulate_phenotype(G), "model"), "linear")
  # h2 = 1 and h2 = 0
  y6 <- sim_ricker(G, h2 = 1)
  expect_equal(as.vector(y6), attr(y6, "g"))
  y7 <- sim_ricker(G, h2 = 0)
  expect_equal(as.vector(y7), attr(y7, "noise"))
})

test_that("h2 is the share of variance explained by g", {
  set.seed(13)
  G <- simulate_genotypes(20000, 10)
  for (m in c("linear", "ricker", "cosh")) {
    for (h2 in c(0.2, 0.7)) {
      y <- simulate_phenotype(G, m, h2 = h2)
      # sd of cor^2 at n = 20000 is below 0.006
      expect_lt(abs(cor(attr(y, "g"), y)^2 - h2), 0.025)
      expect_lt(abs(var(y) - 1), 0.05)
    }
  }
})

test_that("generator errors name the argument", {
  set.seed(14)
  G <- simulate_genotypes(30, 4)
  expect_error(sim_linear(G, h2 = 1.2), "`h2`")
  expect_error(sim_linear(G, h2 = -0.1), "`h2`")
  expect_error(sim_linear(G, h2 = NA), "`h2`")
  expect_error(sim_linear(1:10), "`G`")
  expect_error(sim_linear(matrix("a", 3, 3)), "`G`")
  G0 <- G; G0[, 2] <- 1
  expect_error(sim_linear(G0), "`G`.*constant")
  expect_silent(sim_linear(G0, causal = c(1, 3)))
  expect_error(sim_linear(G, causal = 5), "`causal`")
  expect_error(sim_linear(G, causal = c(0, 2)), "`causal`")
  expect_error(sim_linear(G, causal = c(TRUE, FALSE)), "`causal`")
  expect_error(sim_linear(G, causal = "snp9"), "`causal`")
  expect_error(sim_linear(G, causal = c(1, 1)), "`causal`")
  expect_error(sim_linear(G, beta = 1:2), "`beta`")
  expect_error(sim_ricker(G, a = 0), "`a`")
  expect_error(sim_hyperbolic(G, a = -1), "`a`")
  expect_error(sim_power(G, gamma = 0), "`gamma`")
  expect_error(sim_power(G, symmetric = NA), "`symmetric`")
  expect_error(simulate_phenotype(G, "quadratic"), "`model`")
})

test_that("link parameters that overflow or flatten the link are named", {
  set.seed(40)
  X <- matrix(rnorm(300), 100)
  expect_error(sim_power(X, gamma = 1e6), "`gamma` = 1e\\+06 makes the power link")
  expect_error(sim_ricker(X, a = 1e6), "`a` = 1e\\+06 makes the ricker link")
})
