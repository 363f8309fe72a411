# ntk_cv() against the hand-written fold loop.

study_cor <- function(p, y) if (sd(p) == 0) NA_real_ else cor(p, y)

test_that("ntk_cv() reproduces a hand-written fold loop exactly", {
  set.seed(3)
  G <- simulate_genotypes(n = 120, p = 40)
  y <- as.numeric(simulate_phenotype(G, model = "ricker", h2 = 0.5))
  y[c(5, 17)] <- NA
  folds <- rep(1:4, 30)
  set.seed(10)
  cv <- ntk_cv(G, y, methods = c("gblup", "ntk_lmm", "ntk_krr", "rkhs"), foldid = folds,
               threads = 1, progress = FALSE)
  # by hand, the same RNG stream: kernels once over all individuals
  set.seed(10)
  A <- grm(G, threads = 1)
  K <- ntk_kernel(G, depth = 2, threads = 1)
  obs <- which(!is.na(y))
  hand <- list()
  for (f in 1:4) {
    te <- obs[folds[obs] == f]
    tr <- obs[folds[obs] != f]
    hand$gblup <- c(hand$gblup, study_cor(predict(ntk_lmm(y[tr], A[tr, tr]), K_new = A[te, tr]), y[te]))
    hand$ntk_lmm <- c(hand$ntk_lmm, study_cor(predict(ntk_lmm(y[tr], K[tr, tr]), K_new = K[te, tr]), y[te]))
    kr <- ntk_krr(y[tr], K[tr, tr])
    hand$ntk_krr <- c(hand$ntk_krr, study_cor(predict(kr, K_new = K[te, tr]), y[te]))
  }
  r <- cv$results
  zero_na <- function(v) { v[is.na(v)] <- 0; v }   # constant predictions count as 0
  for (m in c("gblup", "ntk_lmm", "ntk_krr"))
    expect_equal(r$cor[r$method == m], zero_na(hand[[m]]), tolerance = 1e-12, info = m)
  # the Gaussian kernel: exp(-d2 / median d2), d2 = squared distance of the
  # standardised genotypes / p
  Xs <- scale(G)
  D2 <- as.matrix(dist(Xs))^2 / ncol(G)
  R <- exp(-D2 / median(D2[upper.tri(D2)]))
  rk <- numeric(4)
  for (f in 1:4) {
    te <- obs[folds[obs] == f]
    tr <- obs[folds[obs] != f]
    rk[f] <- cor(predict(ntk_lmm(y[tr], R[tr, tr]), K_new = R[te, tr]), y[te])
  }
  expect_equal(r$cor[r$method == "rkhs"], rk, tolerance = 1e-8)
  s <- cv$summary
  expect_equal(s$cor[s$method == "gblup"], mean(zero_na(hand$gblup)), tolerance = 1e-12)
  expect_equal(s$constant[s$method == "gblup"], sum(is.na(hand$gblup)))
  expect_output(print(cv), "computed once over all genotyped individuals")
})

test_that("per-fold kernels use the training individuals alone", {
  set.seed(4)
  G <- simulate_genotypes(n = 90, p = 30)
  y <- as.numeric(simulate_phenotype(G, model = "linear", h2 = 0.5))
  folds <- rep(1:3, 30)
  cv <- ntk_cv(G, y, methods = c("gblup", "ntk_lmm", "rkhs"), foldid = folds, kernels = "fold",
               depth = c(1, 2), threads = 1, progress = FALSE)
  expect_setequal(levels(cv$results$method), c("gblup", "ntk_lmm_d1", "ntk_lmm_d2", "rkhs"))
  tr <- folds != 1
  A <- grm(G[tr, ], threads = 1)
  p <- predict(ntk_lmm(y[tr], A), newdata = G[!tr, ], threads = 1)
  r <- cv$results
  expect_equal(r$cor[r$method == "gblup" & r$fold == 1], cor(p, y[!tr]), tolerance = 1e-12)
  # Gaussian per fold: training standardisation and training bandwidth
  mu <- colMeans(G[tr, ]); sdv <- apply(G[tr, ], 2, sd)
  Xtr <- sweep(sweep(G[tr, ], 2, mu), 2, sdv, "/")
  Xte <- sweep(sweep(G[!tr, ], 2, mu), 2, sdv, "/")
  d2 <- function(A, B) outer(rowSums(A^2), rowSums(B^2), "+") - 2 * tcrossprod(A, B)
  Dtr <- pmax(d2(Xtr, Xtr), 0) / 30
  h <- median(Dtr[upper.tri(Dtr)])
  Rk <- exp(-Dtr / h)
  Rs <- exp(-pmax(d2(Xte, Xtr), 0) / 30 / h)
  pr <- predict(ntk_lmm(y[tr], Rk), K_new = Rs)
  expect_equal(r$cor[r$method == "rkhs" & r$fold == 1], cor(pr, y[!tr]), tolerance = 1e-8)
  expect_output(print(cv), "per fold")
  expect_error(ntk_cv(G, y, methods = "svm"), "`methods`")
  expect_error(ntk_cv(t(G), y), "transposed")
  expect_error(ntk_cv(G, y, foldid = rep(1, 90)), "`foldid`")
})

test_that("ntk_cv() reproduces the wheat vignette's fold loop on wheat.sets", {
  skip_if_not_installed("BGLR")
  data(wheat, package = "BGLR", envir = environment())
  G <- wheat.X[, 1:300]
  y <- wheat.Y[, 1]
  set.seed(1)
  cv <- ntk_cv(G, y, methods = c("gblup", "ntk_lmm", "ntk_krr"), foldid = wheat.sets,
               threads = 1, progress = FALSE)
  set.seed(1)
  A <- grm(G, threads = 1)
  K <- ntk_kernel(G, depth = 3, threads = 1)
  r <- cv$results
  for (f in sort(unique(wheat.sets))) {
    te <- which(wheat.sets == f)
    tr <- which(wheat.sets != f)
    pg <- predict(ntk_lmm(y[tr], A[tr, tr]), K_new = A[te, tr])
    pl <- predict(ntk_lmm(y[tr], K[tr, tr]), K_new = K[te, tr])
    pk <- predict(ntk_krr(y[tr], K[tr, tr], nfolds = 5), K_new = K[te, tr])
    expect_equal(r$cor[r$method == "gblup" & r$fold == f], cor(pg, y[te]), tolerance = 1e-12)
    expect_equal(r$cor[r$method == "ntk_lmm" & r$fold == f], cor(pl, y[te]), tolerance = 1e-12)
    expect_equal(r$cor[r$method == "ntk_krr" & r$fold == f], cor(pk, y[te]), tolerance = 1e-12)
  }
})

test_that("ntk_cv() runs the KARE-trained kernel on each fold's training individuals", {
  set.seed(5)
  G <- simulate_genotypes(n = 80, p = 12)
  y <- as.numeric(simulate_phenotype(G, model = "ricker", h2 = 0.6))
  folds <- rep(1:2, 40)
  cv <- ntk_cv(G, y, methods = c("ntk_krr", "ntk_kare"), foldid = folds, threads = 1,
               kare_args = list(depth = 1, steps = 3), progress = FALSE)
  r <- cv$results
  expect_setequal(as.character(unique(r$method)), c("ntk_krr", "ntk_kare"))
  # fold 1 by hand
  tr <- folds != 1
  set.seed(5)
  f <- ntk_kare(G[tr, ], y[tr], depth = 1, steps = 3, threads = 1)
  kr <- ntk_krr(y[tr], kare_kernel(f, threads = 1), criterion = "kare", offset = "gls")
  p <- predict(kr, newdata = G[!tr, ], threads = 1)
  # analytic full-batch training draws no random numbers: the same numbers
  expect_equal(r$cor[r$method == "ntk_kare" & r$fold == 1], cor(p, y[!tr]), tolerance = 1e-10)
})

test_that("ntk_cv() takes a PLINK fileset", {
  f <- sub("\\.bed$", "", system.file("extdata", "sim.bed", package = "ntkgen"))
  skip_if(!nzchar(f), "shipped fileset not installed")
  h <- plink_open(f)
  ph <- read_pheno(h, paste0(f, ".pheno"))
  fold <- rep(1:3, 100)
  a <- suppressMessages(ntk_cv(h, ph$y, methods = "gblup", foldid = fold, threads = 1,
                               progress = FALSE))
  b <- suppressMessages(ntk_cv(read_plink(h)$genotypes, ph$y, methods = "gblup", foldid = fold,
                               threads = 1, progress = FALSE))
  expect_equal(a$results$cor, b$results$cor, tolerance = 1e-12)
})
