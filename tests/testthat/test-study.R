# ntk_study(): structure, reproducibility, independent recomputation of a replicate,
# summary numbers, parallel = sequential, input errors.

tiny_study <- function(...) {
  ntk_study(n = 100, p = c(10, 20), reps = 2, mlp_args = list(epochs = 10, patience = 5),
            progress = FALSE, ...)
}

# plain-R analytic NTK of a ReLU network (sigma_w = sqrt(2), sigma_b = 0), rows of A by
# rows of B, `depth` hidden layers: the recursion of ?ntk_kernel written out.
ref_ntk <- function(A, B, depth) {
  p <- ncol(A)
  S <- 2 * tcrossprod(A, B) / p
  da <- 2 * rowSums(A^2) / p
  db <- 2 * rowSums(B^2) / p
  Th <- S
  for (l in seq_len(depth)) {
    nrm <- sqrt(outer(da, db))
    cc <- pmin(pmax(S / nrm, -1), 1)
    tt <- acos(cc)
    S <- 2 * nrm * (sin(tt) + (pi - tt) * cc) / (2 * pi)
    Sdot <- 2 * (pi - tt) / (2 * pi)
    Th <- Th * Sdot + S
  }
  Th
}

test_that("ntk_study returns the documented tidy table", {
  set.seed(11)
  st <- tiny_study()
  expect_s3_class(st, c("ntk_study", "data.frame"), exact = TRUE)
  expect_named(st, c("rep", "p", "method", "cor", "mse", "seconds", "constant"))
  expect_equal(nrow(st), 2 * 2 * 4)
  expect_equal(levels(st$method), c("ntk_lmm", "ntk_krr", "gblup", "mlp"))
  expect_equal(as.vector(table(st$p, st$method)), rep(2L, 8))
  expect_true(all(st$cor[!is.na(st$cor)] >= -1 & st$cor[!is.na(st$cor)] <= 1))
  expect_true(all(st$mse > 0 & st$seconds >= 0, na.rm = TRUE))
  expect_true(all(is.finite(st$mse)))
  s <- attr(st, "settings")
  expect_equal(s$depth, c(2L, 2L))
  expect_equal(s$width, c(Inf, Inf))
  expect_equal(s$ntrain, 80L)
  expect_length(attr(st, "seeds"), 4L)
  # the adaptive rule: depth 3 above 50 SNPs
  expect_equal(ntkgen:::study_check_arch(NULL, c(20L, 50L, 51L, 100L), "depth"),
               c(2L, 2L, 3L, 3L))
  expect_output(print(st), "Median test correlation")
})

test_that("ntk_study is reproducible and leaves the caller's generator alone", {
  set.seed(5)
  a <- tiny_study()
  after_a <- runif(1)
  set.seed(5)
  b <- tiny_study()
  a$seconds <- b$seconds <- NULL
  expect_identical(as.data.frame(a), as.data.frame(b))
  # exactly one draw of the caller's stream was used
  set.seed(5)
  invisible(sample.int(.Machine$integer.max, 1L))
  expect_identical(runif(1), after_a)
  expect_identical(RNGkind()[1], "Mersenne-Twister")
  # with `seed` the caller's state is untouched and the result fixed
  set.seed(9)
  before <- .Random.seed
  c1 <- ntk_study(n = 60, p = 10, reps = 2, methods = c("ntk_krr", "gblup"), seed = 3,
                  progress = FALSE)
  expect_identical(.Random.seed, before)
  expect_identical(RNGkind()[1], "Mersenne-Twister")
  c2 <- ntk_study(n = 60, p = 10, reps = 2, methods = "ntk_krr", seed = 3,
                  progress = FALSE)
  # a method's result does not depend on the other methods run
  expect_identical(c1$cor[c1$method == "ntk_krr"], c2$cor)
})

test_that("a replicate recomputed by hand gives the recorded correlations", {
  kind <- RNGkind()
  on.exit(RNGkind(kind[1], kind[2], kind[3]), add = TRUE)
  lam <- 0.7
  st <- ntk_study(n = 90, p = c(12, 60), reps = 2, methods = c("ntk_krr", "gblup"),
                  seed = 21, lmm_args = list(method = "minque0"),
                  krr_args = list(lambda = lam), progress = FALSE)
  seeds <- attr(st, "seeds")
  # task order: expand.grid(rep, p) -> task 4 is rep 2 at p = 60 (depth 3)
  for (task in c(1L, 4L)) {
    p <- c(12, 12, 60, 60)[task]
    depth <- if (p <= 50) 2 else 3
    assign(".Random.seed", seeds[[task]], envir = globalenv())
    G <- simulate_genotypes(90, p)
    y <- as.numeric(simulate_phenotype(G, "ricker", h2 = 0.5))
    tr <- sort(sample.int(90, 72))
    te <- setdiff(1:90, tr)
    mu <- colMeans(G[tr, ])
    sdv <- apply(G[tr, ], 2, sd)
    Xtr <- sweep(sweep(G[tr, ], 2, mu), 2, sdv, "/")
    Xte <- sweep(sweep(G[te, ], 2, mu), 2, sdv, "/")
    ytr <- y[tr]
    yte <- y[te]
    # NTK-KRR with a fixed lambda and the study's GLS offset: V = K + lam I,
    # b = (1'V^-1 1)^-1 1'V^-1 y, alpha = V^-1 (y - b)
    K <- ref_ntk(Xtr, Xtr, depth)
    Ks <- ref_ntk(Xte, Xtr, depth)
    Vi <- solve(K + lam * diag(72))
    b0 <- sum(Vi %*% ytr) / sum(Vi)
    pred <- b0 + drop(Ks %*% (Vi %*% (ytr - b0)))
    rec <- st[st$rep == c(1, 2, 1, 2)[task] & st$p == p, ]
    expect_equal(rec$cor[rec$method == "ntk_krr"], cor(pred, yte), tolerance = 1e-6)
    expect_equal(rec$mse[rec$method == "ntk_krr"], mean((pred - yte)^2), tolerance = 1e-6)
    # GBLUP by MINQUE(0): V0 = I, P = I - J/n; S theta = q; BLUP with GLS intercept
    Kg <- tcrossprod(Xtr) / p
    Kgs <- tcrossprod(Xte, Xtr) / p
    n <- 72
    P <- diag(n) - matrix(1 / n, n, n)
    PK <- P %*% Kg
    S <- matrix(c(sum(PK * t(PK)), sum(diag(PK)), sum(diag(PK)), n - 1), 2, 2)
    q <- c(drop(t(ytr) %*% PK %*% P %*% ytr), drop(t(ytr) %*% P %*% ytr))
    th <- solve(S, q)
    expect_true(all(th > 0))  # no boundary case, so no constraint step is involved
    V <- th[1] * Kg + th[2] * diag(n)
    Vi1 <- solve(V, rep(1, n))
    b <- sum(Vi1 * ytr) / sum(Vi1)
    pg <- b + th[1] * drop(Kgs %*% solve(V, ytr - b))
    expect_equal(rec$cor[rec$method == "gblup"], cor(pg, yte), tolerance = 1e-6)
  }
})

test_that("an empirical kernel's train and test-by-train blocks share one network", {
  # the study reseeds the kernel sub-stream before each block: the test-by-train block
  # of the training rows themselves must then equal the training kernel
  kind <- RNGkind()
  on.exit(RNGkind(kind[1], kind[2], kind[3]), add = TRUE)
  set.seed(1)
  X <- simulate_genotypes(40, 15)
  s <- ntkgen:::study_seeds(1L, 3)[[1L]]
  ntkgen:::study_set_seed(s)
  K1 <- ntk_kernel(X, width = 32, threads = 1)
  ntkgen:::study_set_seed(s)
  K2 <- ntk_kernel(X, Z = X, width = 32, threads = 1)
  expect_equal(unclass(K2)[, ], unclass(K1)[, ], ignore_attr = TRUE, tolerance = 1e-10)
  st <- ntk_study(n = 60, p = 10, reps = 1, methods = "ntk_krr", width = 32, seed = 2,
                  progress = FALSE)
  expect_equal(attr(st, "settings")$width, 32)
  expect_true(is.finite(st$cor))
})

test_that("summary() gives the medians and quartiles of the table", {
  set.seed(2)
  st <- tiny_study(methods = c("ntk_lmm", "ntk_krr", "mlp"))
  s <- summary(st)
  expect_s3_class(s, "summary.ntk_study")
  expect_equal(nrow(s), 6L)
  for (i in seq_len(nrow(s))) {
    d <- st[st$p == s$p[i] & st$method == s$method[i], ]
    cr <- sort(d$cor)
    expect_equal(s$cor_median[i], mean(cr))        # 2 replicates: median = mean
    expect_equal(s$cor_q25[i], cr[1] + 0.25 * diff(cr))
    expect_equal(s$cor_iqr[i], 0.5 * diff(cr))
    expect_equal(s$seconds_median[i], mean(d$seconds))
    expect_equal(s$mse_median[i], mean(d$mse))
  }
  expect_output(print(s), "cor_median")
  pdf(NULL)
  on.exit(dev.off())
  expect_invisible(plot(st))
  expect_invisible(plot(st, type = "time"))
})

test_that("summary(baseline =) gives the paired differences replicate by replicate", {
  # a table written out by hand, rows shuffled: pairing is by replicate, not by row
  df <- data.frame(rep = rep(1:3, 4), p = rep(c(10, 20), each = 6),
                   method = factor(rep(rep(c("a", "b"), each = 3), 2), c("a", "b", "c")),
                   cor = c(0.5, 0.3, 0.6, 0.4, 0.3, NA, 0.2, 0.1, 0.4, 0.3, 0.5, 0.1),
                   mse = 1, seconds = 1, constant = FALSE)
  df <- df[c(7, 2, 12, 5, 1, 9, 4, 11, 3, 8, 6, 10), ]
  st <- structure(df, class = c("ntk_study", "data.frame"))
  s <- summary(st, baseline = "b")
  a10 <- s[s$method == "a" & s$p == 10, ]
  a20 <- s[s$method == "a" & s$p == 20, ]
  # p = 10: differences 0.1, 0 (replicate 3 of b failed)
  expect_equal(a10$pairs, 2L)
  expect_equal(a10$diff_mean, 0.05)
  expect_equal(a10$diff_se, 0.05)
  expect_equal(a10$diff_median, 0.05)
  expect_equal(a10$wins, 0.75)
  # p = 20: differences -0.1, -0.4, 0.3
  expect_equal(a20$pairs, 3L)
  expect_equal(a20$diff_mean, -0.2 / 3)
  expect_equal(a20$diff_se, 0.2027588, tolerance = 1e-6)
  expect_equal(a20$diff_median, -0.1)
  expect_equal(a20$wins, 1 / 3)
  # the baseline against itself
  b <- s[s$method == "b", ]
  expect_equal(b$pairs, c(2L, 3L))
  expect_equal(b$diff_mean, c(0, 0))
  expect_equal(b$wins, c(0.5, 0.5))
  expect_output(print(s), "diff_mean")
  expect_false("diff_mean" %in% names(summary(st)))
  expect_equal(summary(st, baseline = factor("b"))$diff_mean, s$diff_mean)
  # a method of the factor's levels with no rows, another name, bad types
  expect_error(summary(st, baseline = "c"), "`baseline`")
  expect_error(summary(st, baseline = "mlp"), "`baseline`.*\"a\", \"b\"")
  expect_error(summary(st, baseline = c("a", "b")), "`baseline`")
  expect_error(summary(st, baseline = 1), "`baseline`")
  expect_error(summary(st, baseline = NA_character_), "`baseline`")
  # a real study: the columns are there and the baseline's own rows are 0
  set.seed(2)
  sr <- summary(tiny_study(methods = c("ntk_krr", "gblup")), baseline = "gblup")
  expect_equal(sr$diff_mean[sr$method == "gblup"], c(0, 0))
  expect_true(all(is.finite(sr$diff_mean)))
})

test_that("genotypes can be sampled from a user matrix", {
  set.seed(4)
  Gu <- simulate_genotypes(80, 40)
  Gu[, 3] <- 1  # monomorphic: never drawn
  st <- ntk_study(n = 60, p = c(5, 39), reps = 1, methods = "gblup", genotypes = Gu,
                  seed = 1, progress = FALSE)
  expect_equal(nrow(st), 2L)
  expect_true(attr(st, "settings")$genotypes)
  expect_error(ntk_study(n = 60, p = 40, reps = 1, methods = "gblup", genotypes = Gu,
                         progress = FALSE), "`genotypes`.*polymorphic")
  expect_error(ntk_study(n = 60, p = 41, genotypes = Gu, progress = FALSE), "`p`")
})

test_that("parallel replicates through future.apply equal the sequential ones", {
  skip_on_cran()
  skip_on_os("windows")
  skip_if_not_installed("future.apply")
  seq_res <- ntk_study(n = 60, p = c(10, 20), reps = 2, methods = c("ntk_krr", "mlp"),
                       mlp_args = list(epochs = 5), seed = 8, progress = FALSE)
  old <- future::plan(future::multicore, workers = 2)
  on.exit(future::plan(old))
  par_res <- ntk_study(n = 60, p = c(10, 20), reps = 2, methods = c("ntk_krr", "mlp"),
                       mlp_args = list(epochs = 5), seed = 8, progress = FALSE)
  expect_true(attr(par_res, "settings")$parallel)
  expect_identical(par_res$cor, seq_res$cor)
  expect_identical(par_res$mse, seq_res$mse)
})

test_that("bad input gives errors naming the argument", {
  expect_error(ntk_study(model = "cubic"), "`model`")
  expect_error(ntk_study(n = 5), "`n`")
  expect_error(ntk_study(p = c(10, 0)), "`p`")
  expect_error(ntk_study(p = c(10, 10)), "`p`")
  expect_error(ntk_study(reps = 0), "`reps`")
  expect_error(ntk_study(h2 = 2), "`h2`")
  expect_error(ntk_study(methods = c("gblup", "bayesB")), "`methods`")
  expect_error(ntk_study(methods = character()), "`methods`")
  expect_error(ntk_study(train = 1), "`train`")
  expect_error(ntk_study(n = 10, train = 0.95), "`train`")
  expect_error(ntk_study(p = c(10, 20), depth = c(1, 2, 3)), "`depth`")
  expect_error(ntk_study(depth = 0.5), "`depth`")
  expect_error(ntk_study(width = 10.5), "`width`")
  expect_error(ntk_study(seed = "a"), "`seed`")
  expect_error(ntk_study(progress = NA), "`progress`")
  expect_error(ntk_study(mlp_args = list(X = 1)), "`mlp_args`")
  expect_error(ntk_study(kernel_args = list(foo = 1)), "`kernel_args`")
  expect_error(ntk_study(krr_args = 3), "`krr_args`")
  expect_error(ntk_study(lmm_args = list(1)), "`lmm_args`")
  expect_error(ntk_study(genotype_args = list(p = 3)), "`genotype_args`")
  expect_error(ntk_study(genotypes = matrix("a", 20, 20)), "`genotypes`")
  expect_error(ntk_study(model = "cosh", a = 2), "`\\.\\.\\.`")
  expect_error(ntk_study(2), "`model`")
})

test_that("constant predictions count as correlation 0 in the summary, and are counted", {
  st <- structure(data.frame(rep = 1:4, p = 10, method = factor(rep("gblup", 4)),
                             cor = c(0.5, 0, 0.3, NA), mse = 1, seconds = 1,
                             constant = c(FALSE, TRUE, FALSE, NA)),
                  class = c("ntk_study", "data.frame"))
  s <- summary(st)
  expect_equal(s$reps, 3L)
  expect_equal(s$constant, 1L)
  expect_equal(s$cor_median, 0.3)
  pdf(NULL); on.exit(dev.off())
  expect_invisible(plot(st, type = "cor"))
})

test_that("bad method arguments are refused before the first replicate", {
  expect_error(ntk_study(n = 60, p = 10, reps = 50, methods = "ntk_lmm",
                         lmm_args = list(method = "ml"), progress = FALSE),
               "`lmm_args` is not usable for ntk_lmm.*method")
  expect_error(ntk_study(n = 60, p = 10, reps = 50, methods = "ntk_krr",
                         krr_args = list(nfolds = 100), progress = FALSE),
               "`krr_args` is not usable.*nfolds")
  expect_error(ntk_study(n = 60, p = 10, reps = 50, methods = "mlp",
                         mlp_args = list(lr = -1), progress = FALSE),
               "`mlp_args` is not usable.*lr")
})

test_that("an interrupt in the compiled code is an interrupt, not a failed fit", {
  cond <- tryCatch(ntkgen:::ntk_signal_interrupt("ntk_analytic: interrupted by the user"),
                   error = function(e) "caught as an error", interrupt = function(i) i)
  expect_s3_class(cond, "interrupt")
})
