# Representative, small calls of every compiled path of ntkgen, run by scripts/valgrind.sh
# under valgrind's memcheck (so every size is small: memcheck is 20-50 times slower).
# Each block prints one line; any error stops the script (and fails the check).
#   R -d "valgrind ..." --vanilla -f scripts/valgrind-examples.R
# Environment: NTKGEN_VALGRIND_LIB = the library holding the package to test (first on
# the path).
lib <- Sys.getenv("NTKGEN_VALGRIND_LIB")
if (nzchar(lib)) .libPaths(c(lib, .libPaths()))
library(ntkgen)
options(ntkgen.threads = 1L, warn = 1)
t0 <- proc.time()[["elapsed"]]
step <- function(label, expr) {
  t <- system.time(v <- suppressMessages(force(expr)))[["elapsed"]]
  cat(sprintf("valgrind-examples: %-54s %6.1f s\n", label, t))
  invisible(v)
}

set.seed(1)
G <- simulate_genotypes(n = 60, p = 24)
y <- simulate_phenotype(G, model = "ricker", h2 = 0.6)
tr <- 1:48; te <- 49:60
X <- cbind(age = rnorm(60))
Xtr <- X[tr, , drop = FALSE]; Xte <- X[te, , drop = FALSE]

# kernels: analytic and empirical, train-by-train and test-by-train, normalisations, NA
K <- step("ntk_kernel analytic (depth 2, 3; Z)", {
  K3 <- ntk_kernel(G[tr, ], depth = 3, normalize = "unit")
  Ks <- ntk_kernel(G[tr, ], Z = G[te, ], depth = 2)
  stopifnot(dim(Ks) == c(12L, 48L), all(is.finite(K3)))
  ntk_kernel(G[tr, ], depth = 2)
})
Ks <- ntk_kernel(G[tr, ], Z = G[te, ], depth = 2)
step("ntk_kernel empirical (width 16, n_init 2; Z)", {
  Ke <- ntk_kernel(G[tr, ], depth = 2, width = 16, n_init = 2)
  Kez <- ntk_kernel(G[tr, ], Z = G[te, ], depth = 1, width = 16, sigma_b = 0.1)
  stopifnot(all(is.finite(Ke)), all(is.finite(Kez)))
})
step("ntk_kernel with NA (imputed); grm", {
  Gm <- G[tr, ]; Gm[3, 2] <- NA; Gm[10, 5] <- NA
  stopifnot(all(is.finite(ntk_kernel(Gm, depth = 2, normalize = "paper"))))
  stopifnot(all(is.finite(grm(G[tr, ], Z = G[te, ]))))
})
Kg <- grm(G[tr, ])

# the spectral engine
S <- step("ntk_spectral tridiag, eigen, low rank", {
  S2 <- ntk_spectral(K, method = "eigen")
  S3 <- ntk_spectral(Kg, X = cbind(1, Xtr), method = "eigen", rank = 10)
  stopifnot(length(S2$values) > 0, length(S3$values) > 0)
  ntk_spectral(K, X = matrix(1, 48, 1))
})

# the LMM: REML / MINQUE, one and several kernels, several traits
step("ntk_lmm REML, MINQUE0/1, iMINQUE (one kernel)", {
  f <- ntk_lmm(y[tr], K, X = Xtr, method = "reml")
  s <- summary(f)
  p <- predict(f, newdata = G[te, ], X_new = Xte, se.fit = TRUE)
  for (m in c("minque0", "minque1", "iminque")) ntk_lmm(y[tr], K, method = m)
  stopifnot(is.finite(f$loglik), length(p$fit) == 12L)
})
step("ntk_lmm REML, MINQUE1 (two kernels), 3 traits", {
  f2 <- ntk_lmm(y[tr], list(ntk = K, grm = Kg), method = "reml")
  f3 <- ntk_lmm(y[tr], list(ntk = K, grm = Kg), method = "minque1", constrain = FALSE)
  fm <- ntk_lmm(cbind(a = y[tr], b = y[tr]^2, c = rnorm(48)), K, spectral = S)
  stopifnot(length(f2$theta) == 3L, length(f3$theta) == 3L, length(fm) == 3L)
  yn <- y[tr]; yn[c(2, 7)] <- NA
  ntk_lmm(yn, K, method = "reml")
})

# KRR: cv, kare, gcv, loo, ols / gls
step("ntk_krr cv (4 folds), kare, gcv, loo, gls", {
  k1 <- ntk_krr(y[tr], K, nfolds = 4, nlambda = 11)
  pr <- predict(k1, K_new = Ks, s = "lambda.1se")
  cf <- c(coef(k1, s = 0.1), coef(k1, s = 1))
  for (cr in c("kare", "gcv", "loo")) ntk_krr(y[tr], K, criterion = cr, nlambda = 11)
  k2 <- ntk_krr(y[tr], K, X = Xtr, criterion = "loo", offset = "gls", nlambda = 11)
  k3 <- ntk_krr(y[tr], K, X = Xtr, nfolds = 4, offset = "gls", nlambda = 11)
  stopifnot(length(pr) == 12L, is.finite(k2$lambda.min), is.finite(k3$lambda.min))
})

# the neural network
step("mlp_fit (batch norm, dropout; plain)", {
  m1 <- mlp_fit(G[tr, ], y[tr], hidden = c(8, 4), epochs = 8, batch_size = 16)
  m2 <- mlp_fit(G[tr, ], y[tr], hidden = 6, batch_norm = FALSE, dropout = 0,
                validation = 0, epochs = 5)
  stopifnot(all(is.finite(predict(m1, G[te, ]))), all(is.finite(predict(m2, G[te, ]))))
})

# KARE-trained kernels: analytic mode (scale, projection) and network mode
step("ntk_kare analytic (scale, projection)", {
  fa <- ntk_kare(G[tr, ], y[tr], depth = 1:2, map = c("scale", "projection"), rank = 1,
                 steps = 4, batch = 32)
  Ka <- kare_kernel(fa)
  Kaz <- kare_kernel(fa, newdata = G[te, ])
  fit <- ntk_krr(y[tr], Ka, criterion = "kare", offset = "gls", nlambda = 11)
  stopifnot(all(is.finite(predict(fit, newdata = G[te, ]))), all(is.finite(Kaz)))
})
step("ntk_kare network mode (width 8)", {
  fn <- ntk_kare(G[tr, ], y[tr], depth = 1, width = 8, steps = 3)
  stopifnot(all(is.finite(kare_kernel(fn, newdata = G[te, ]))))
})

# PLINK: read, write, QC, phenotypes, streamed kernels (blocks of 64 SNPs)
prefix <- sub("\\.bed$", "", system.file("extdata", "sim.bed", package = "ntkgen"))
step("PLINK read / qc / pheno / write + read back", {
  h <- plink_open(prefix, individuals = 1:50, snps = 1:200)
  g <- read_plink(h)$genotypes
  q <- plink_qc(h, maf = 0.05, hwe = 1e-6)
  ph <- read_pheno(h, system.file("extdata", "sim.pheno", package = "ntkgen"))
  f <- tempfile()
  gw <- g[1:23, 1:37]; gw[2, 3] <- NA
  write_plink(f, gw)
  back <- read_plink(f)$genotypes
  stopifnot(identical(unname(back), unname(gw)), nrow(ph) == 50L, q$p <= 200L)
})
step("PLINK streamed grm / NTK (analytic, empirical, Z)", {
  old <- options(ntkgen.plink_block = 64L)
  on.exit(options(old))
  h <- plink_open(prefix, individuals = 1:40, snps = 1:150)
  hz <- plink_open(prefix, individuals = 41:50, snps = 1:150)
  g <- read_plink(h)$genotypes
  Kp <- ntk_kernel(h, depth = 2)
  stopifnot(isTRUE(all.equal(c(Kp), c(ntk_kernel(g, depth = 2)))))  # values (recipes differ)
  Kpz <- ntk_kernel(h, Z = hz, depth = 2)
  Kpe <- ntk_kernel(h, depth = 1, width = 8)
  Kgp <- grm(h)
  stopifnot(dim(Kpz) == c(10L, 40L), all(is.finite(Kpe)), all(is.finite(Kgp)))
})
step("PLINK reader on 40 corrupted filesets (error paths)", {
  env <- new.env()
  sys.source(system.file("scripts", "fuzz_plink.R", package = "ntkgen"), envir = env)
  res <- env$plink_fuzz(40L, seed = 42L)
  stopifnot(sum(res) == 40L, res[["error"]] > 0L)
})
step("failures reported by the C core (status codes)", {
  c_error <- function(expr) conditionMessage(tryCatch(expr, error = identity))
  # the R checks now refuse these inputs before C is called: call the glue directly so
  # that the C core's own failure paths (status codes, every buffer freed) run too
  tri <- ntkgen:::ntk_code("spectral", "tridiag")
  stopifnot(grepl("ntk_spectral_build",
                  c_error(.Call(ntkgen:::C_spectral_build, K, NULL, cbind(1, rep(2, 48)), tri, 0L))),
            grepl("ntk_spectral_build",
                  c_error(.Call(ntkgen:::C_spectral_build, -K, NULL, NULL, tri, 0L))),
            grepl("`X`", c_error(ntk_spectral(K, X = cbind(1, rep(2, 48))))),
            grepl("`K`", c_error(ntk_lmm(y[tr], -K, method = "reml"))))
})

# cross-validation and a tiny study
step("ntk_cv (gblup, ntk_lmm, ntk_krr, rkhs, mlp; 3 folds)", {
  cv <- ntk_cv(G, y, methods = c("gblup", "ntk_lmm", "ntk_krr", "rkhs", "mlp"), nfolds = 3,
               krr_args = list(nlambda = 11), mlp_args = list(epochs = 3, hidden = 4),
               progress = FALSE)
  s <- summary(cv)
  stopifnot(nrow(cv$results) == 15L, all(is.finite(cv$results$mse)))
})
step("ntk_cv on the PLINK fileset (gblup, ntk_krr)", {
  h <- plink_open(prefix, individuals = 1:45, snps = 1:100)
  yp <- read_pheno(h)
  ntk_cv(h, yp, methods = c("gblup", "ntk_krr"), nfolds = 3,
         krr_args = list(nlambda = 11), progress = FALSE)
})
step("ntk_study (ntk_lmm, ntk_krr, gblup, mlp, ntk_kare)", {
  st <- ntk_study(n = 40, p = c(8, 12), reps = 1,
                  methods = c("ntk_lmm", "ntk_krr", "gblup", "mlp", "ntk_kare"),
                  mlp_args = list(epochs = 3, hidden = 4), krr_args = list(nlambda = 11),
                  kare_args = list(depth = 1, steps = 3), seed = 3, progress = FALSE)
  summary(st)
  stopifnot(nrow(st) == 10L)
})
cat(sprintf("valgrind-examples: all done in %.1f s\n", proc.time()[["elapsed"]] - t0))
