# A catalogue of bad inputs (issue 12): one row per case, one expectation each, for every
# export and every S3 method of the package.  Each entry names the export (or method) it
# exercises, a short label, the call, and what must happen:
#   error   = a regexp the error message must match, naming the argument at fault;
#   warning = a regexp the warning must match;
#   output  = a regexp the printed output must match;
#   equal   = an independent figure (computed here, in plain R) the value must equal.
# Entries run in a fresh child of the fixture environment `fx`, each after set.seed(1) (and
# the independent figure after set.seed(1) again), so the order of the entries does not
# matter.  The last two tests check that the catalogue covers every export and S3 method,
# and names every value of every choice argument.  Small data throughout (20 training
# individuals, 12 SNPs): the whole file runs in about 20 seconds on one core.

withr::local_options(ntkgen.threads = 1L)

# The random number generator (kind and state) as it was, restored when `frame` exits: the
# catalogue draws with set.seed() and some entries switch to L'Ecuyer-CMRG streams, which
# must not leak into the test files that run after this one.
rng_keep <- function(frame = parent.frame()) {
  kind <- RNGkind()
  seed <- get0(".Random.seed", envir = globalenv(), inherits = FALSE)
  withr::defer({
    RNGkind(kind[1L], kind[2L], kind[3L])
    if (is.null(seed)) suppressWarnings(rm(".Random.seed", envir = globalenv()))
    else assign(".Random.seed", seed, envir = globalenv())
  }, envir = frame)
}
rng_keep()

# ---- fixtures ----------------------------------------------------------------------

fx <- local({
  set.seed(20261201)
  n <- 20L
  m <- 5L
  repeat {                        # every SNP polymorphic among the training individuals
    G <- simulate_genotypes(n + m, 12)
    if (all(apply(G[seq_len(n), ], 2L, stats::sd) > 0)) break
  }
  attr(G, "maf") <- attr(G, "ld") <- NULL
  rownames(G) <- paste0("i", seq_len(n + m))
  Gtr <- G[seq_len(n), ]
  Gte <- G[n + seq_len(m), ]
  K <- suppressMessages(ntk_kernel(Gtr, depth = 2, threads = 1))
  Kg <- grm(Gtr, threads = 1)
  Ks <- ntk_kernel_like(K, Gte, threads = 1)          # test-by-train, with its recipe
  Kp <- unclass(K)[seq_len(n), seq_len(n)]            # the same numbers, no attributes
  dimnames(Kp) <- NULL
  # a phenotype drawn from the model, V(K) = 0.36 and V(e) = 1 (a seed whose REML fits,
  # with one kernel and with two, are inside the parameter space)
  ek <- eigen(Kp, symmetric = TRUE)
  set.seed(25)
  y <- stats::setNames(drop(ek$vectors %*% (sqrt(pmax(ek$values, 0)) * stats::rnorm(n))) * 0.6 +
                         stats::rnorm(n), rownames(Gtr))
  x <- stats::rnorm(n)                                 # a covariate
  one <- rep(1, n)
  I <- diag(n)
  # a rank-deficient kernel (rank 5 after centring) and a phenotype in its column space
  Z5 <- scale(matrix(stats::rbinom(n * 6, 2, 0.4), n, 6))
  Klow <- tcrossprod(Z5) / 6
  ylow <- drop(Z5 %*% stats::rnorm(6))
  # fits
  fl <- ntk_lmm(y, K)                                           # MINQUE1
  flr <- ntk_lmm(y, K, method = "reml")
  flx <- ntk_lmm(y, K, X = cbind(x = x), method = "reml")
  fl2 <- ntk_lmm(y, list(ntk = K, grm = Kg), method = "reml")
  fl1 <- ntk_lmm(y, list(ntk = K), method = "reml")
  yna <- y
  yna[1:3] <- NA
  flna <- ntk_lmm(yna, K, method = "reml")
  fk <- ntk_krr(y, K, foldid = rep(1:4, 5))                     # CV, OLS offset
  fkg <- ntk_krr(y, K, criterion = "gcv")
  fkx <- ntk_krr(y, K, X = x, criterion = "gcv")
  fkna <- ntk_krr(yna, K, criterion = "loo")
  fklow <- ntk_krr(ylow, Klow, criterion = "gcv")
  Y2 <- cbind(a = y, b = stats::rnorm(n))
  flist <- ntk_lmm(Y2, K)
  fklist <- ntk_krr(Y2, K, criterion = "gcv")
  S <- ntk_spectral(K, X = matrix(1, n, 1))
  Se <- ntk_spectral(K, method = "eigen")
  Xm <- matrix(stats::rnorm(60 * 3), 60, 3)
  ym <- drop(Xm %*% c(1, -1, 0.5)) + stats::rnorm(60, sd = 0.3)
  fm <- mlp_fit(Xm, ym, hidden = 4, epochs = 5)
  fka <- ntk_kare(Gtr, y, depth = 1, steps = 2, threads = 1)
  fka0 <- ntk_kare(Gtr, y, depth = 1, steps = 0, threads = 1)
  yall <- unname(c(y, stats::rnorm(m)))
  fcv <- ntk_cv(G, yall, methods = "gblup", foldid = rep(1:2, length.out = n + m),
                threads = 1, progress = FALSE)
  st <- ntk_study(n = 30, p = 5, reps = 2, methods = c("ntk_krr", "gblup"), seed = 3,
                  threads = 1, progress = FALSE)
  # a PLINK fileset of G, one missing genotype
  Gna <- G
  Gna[2, 3] <- NA
  pf <- tempfile("catalogue")
  write_plink(pf, Gna)
  ph <- plink_open(pf)
  # a phenotype file, rows in another order
  phf <- tempfile("pheno")
  writeLines(c("FID IID trait", paste(rev(rownames(G)), rev(rownames(G)),
                                      format(rev(yall), digits = 15))), phf)
  # independent figures, dense linear algebra
  strip <- function(M) { attributes(M) <- list(dim = dim(M)); M }
  proj <- function(V, X) {                 # P = V^-1 - V^-1 X (X'V^-1 X)^-1 X'V^-1
    Vi <- solve(V)
    Vi - Vi %*% X %*% solve(crossprod(X, Vi %*% X), crossprod(X, Vi))
  }
  minque_dense <- function(y, Ks, X, w) {  # S theta = q at a-priori weights w
    Ks <- c(Ks, list(diag(length(y))))
    P <- proj(Reduce(`+`, Map(`*`, w, Ks)), X)
    k <- length(Ks)
    Sm <- matrix(0, k, k)
    for (i in seq_len(k)) for (j in seq_len(k))
      Sm[i, j] <- sum(diag(P %*% Ks[[i]] %*% P %*% Ks[[j]]))
    q <- vapply(Ks, function(Ki) drop(t(y) %*% P %*% Ki %*% P %*% y), 0)
    solve(Sm, q)
  }
  reml_dense <- function(th, y, K, X) {    # REML log-likelihood, no log|X'X| term
    Q2 <- qr.Q(qr(X), complete = TRUE)[, -seq_len(ncol(X)), drop = FALSE]
    W <- crossprod(Q2, (th[1] * K + th[2] * diag(length(y))) %*% Q2)
    yq <- crossprod(Q2, y)
    -0.5 * (nrow(W) * log(2 * pi) + as.numeric(determinant(W)$modulus) +
              sum(yq * solve(W, yq)))
  }
  reml_optim <- function(y, K, X, start) {
    o <- stats::optim(log(start), function(l) -reml_dense(exp(l), y, K, X),
                      control = list(reltol = 1e-14, maxit = 5000))
    exp(o$par)
  }
  ols_resid <- function(y, X) drop(y - X %*% qr.solve(X, y))
  gcv_dense <- function(l, y, K) {
    n <- length(y)
    PF <- matrix(1 / n, n, n)
    H <- K %*% solve(K + l * diag(n))
    S <- PF + H %*% (diag(n) - PF)
    n * sum(((diag(n) - S) %*% y)^2) / sum(diag(diag(n) - S))^2
  }
  loo_dense <- function(l, y, K) mean(vapply(seq_along(y), function(i) {
    mu <- mean(y[-i])
    f <- mu + K[i, -i] %*% solve(K[-i, -i] + l * diag(length(y) - 1), y[-i] - mu)
    drop(y[i] - f)^2
  }, 0))
  cv_dense <- function(l, y, K, fold) mean(unlist(lapply(sort(unique(fold)), function(k) {
    te <- fold == k
    mu <- mean(y[!te])
    f <- mu + K[te, !te] %*% solve(K[!te, !te] + l * diag(sum(!te)), y[!te] - mu)
    drop(y[te] - f)^2
  })))
  kare_dense <- function(l, y, K) {         # GLS offset (intercept), z = lambda / n
    n <- length(y)
    Q2 <- qr.Q(qr(matrix(1, n, 1)), complete = TRUE)[, -1]
    A <- solve(crossprod(Q2, K %*% Q2) / n + l / n * diag(n - 1))
    yq <- drop(crossprod(Q2, y))
    (sum((A %*% yq)^2) / n) / (sum(diag(A)) / n)^2
  }
  ntk_dense <- function(A, B, depth) {      # the recursion of ?ntk_kernel, sigma_w^2 = 2
    p <- ncol(A)
    Sg <- 2 * tcrossprod(A, B) / p
    da <- 2 * rowSums(A^2) / p
    db <- 2 * rowSums(B^2) / p
    Th <- Sg
    for (l in seq_len(depth)) {
      nrm <- sqrt(outer(da, db))
      cc <- pmin(pmax(Sg / nrm, -1), 1)
      tt <- acos(cc)
      Sg <- 2 * nrm * (sin(tt) + (pi - tt) * cc) / (2 * pi)
      Th <- Th * 2 * (pi - tt) / (2 * pi) + Sg
    }
    Th
  }
  environment()
})

# ---- the catalogue -----------------------------------------------------------------

catalogue <- list()
add <- function(export, label, expr, error = NULL, warning = NULL, output = NULL,
                equal, tolerance = 1e-8) {
  e <- list(export = export, label = label, expr = substitute(expr), error = error,
            warning = warning, output = output,
            equal = if (!missing(equal)) substitute(equal), tolerance = tolerance)
  stopifnot(sum(!vapply(e[c("error", "warning", "output", "equal")], is.null, NA)) == 1L)
  catalogue[[length(catalogue) + 1L]] <<- e
}

run_entry <- function(e) {
  rng_keep()                               # an entry leaves the generator as it found it
  env <- new.env(parent = fx)
  grDevices::pdf(NULL)                     # plot methods draw on a null device
  on.exit(grDevices::dev.off(), add = TRUE)
  set.seed(1)
  if (!is.null(e$error)) {
    expect_error(utils::capture.output(eval(e$expr, env)), e$error)
  } else if (!is.null(e$warning)) {
    expect_warning(utils::capture.output(eval(e$expr, env)), e$warning)
  } else if (!is.null(e$output)) {
    expect_output(eval(e$expr, env), e$output)
  } else {
    value <- eval(e$expr, env)
    set.seed(1)                            # the same draws for the independent figure
    expect_equal(value, eval(e$equal, env), tolerance = e$tolerance)
  }
}

# ---- ntk_kernel --------------------------------------------------------------------

add("ntk_kernel", "character X", ntk_kernel(matrix("a", 4, 3)), error = "`X` must be numeric")
add("ntk_kernel", "X a vector", ntk_kernel(1:10), error = "`X` must be a matrix, not a vector")
add("ntk_kernel", "X a list", ntk_kernel(list(1, 2)),
    error = "`X` must be a numeric matrix or data frame")
add("ntk_kernel", "data frame with a character column",
    ntk_kernel(data.frame(a = 1:3, b = c("x", "y", "z"))),
    error = "`X` must contain only numeric columns")
add("ntk_kernel", "X with NaN", { X <- Gtr; X[1, 1] <- NaN; ntk_kernel(X) },
    error = "`X` contains NaN")
add("ntk_kernel", "X with Inf", { X <- Gtr; X[1, 1] <- Inf; ntk_kernel(X) },
    error = "`X` contains infinite values")
add("ntk_kernel", "one row", ntk_kernel(Gtr[1, , drop = FALSE]),
    error = "`X` must have at least 2 rows")
add("ntk_kernel", "no column", ntk_kernel(Gtr[, 0]), error = "`X` must have at least one column")
add("ntk_kernel", "a column of NA only", { X <- Gtr; X[, 2] <- NA; ntk_kernel(X) },
    error = "`X` has 1 column\\(s\\) with only missing values")
add("ntk_kernel", "every column constant", ntk_kernel(matrix(1, 5, 3)),
    error = "`X` has no column that varies")
add("ntk_kernel", "a constant column", { X <- Gtr; X[, 1] <- 1; ntk_kernel(X) },
    warning = "`X` has 1 constant column\\(s\\).*dropped")
add("ntk_kernel", "NA with standardize = FALSE",
    { X <- Gtr; X[1, 1] <- NA; ntk_kernel(X, standardize = FALSE) },
    error = "`X` contains missing values \\(NA\\).*standardize = TRUE")
add("ntk_kernel", "transposed genotypes (SNP IDs as row names)",
    { X <- t(Gtr[, 1:10]); rownames(X) <- paste0("rs", 1:10); ntk_kernel(X) },
    warning = "`X` has row names that look like SNP IDs")
add("ntk_kernel", "Z with other columns", ntk_kernel(Gtr, Z = Gte[, 1:5]),
    error = "`Z` must have as many columns \\(SNPs\\) as `X`")
add("ntk_kernel", "Z with other SNP names",
    { Z <- Gte; colnames(Z) <- rev(colnames(Z)); ntk_kernel(Gtr, Z = Z) },
    error = "`Z` must have the same column \\(SNP\\) names")
add("ntk_kernel", "Z with NA and standardize = FALSE",
    { Z <- Gte; Z[1, 1] <- NA; ntk_kernel(Gtr, Z = Z, standardize = FALSE) },
    error = "`Z` contains missing values")
add("ntk_kernel", "depth 0", ntk_kernel(Gtr, depth = 0), error = "`depth` must be >= 1")
add("ntk_kernel", "depth 1.5", ntk_kernel(Gtr, depth = 1.5),
    error = "`depth` must be a whole number")
add("ntk_kernel", "depth NA", ntk_kernel(Gtr, depth = NA), error = "`depth` must not be NA")
add("ntk_kernel", "depth of length 2", ntk_kernel(Gtr, depth = 1:2),
    error = "`depth` must be a single number \\(length 2 given\\)")
add("ntk_kernel", "depth a string", ntk_kernel(Gtr, depth = "2"),
    error = "`depth` must be a number, not character")
add("ntk_kernel", "depth beyond 1e4", ntk_kernel(Gtr, depth = 1e5),
    error = "`depth` must be <= 10000")
add("ntk_kernel", "width 0", ntk_kernel(Gtr, width = 0), error = "`width` must be >= 1")
add("ntk_kernel", "width -Inf", ntk_kernel(Gtr, width = -Inf), error = "`width` must be finite")
add("ntk_kernel", "width 2.5", ntk_kernel(Gtr, width = 2.5),
    error = "`width` must be a whole number")
add("ntk_kernel", "sigma_w negative", ntk_kernel(Gtr, sigma_w = -1),
    error = "`sigma_w` must be >= 0")
add("ntk_kernel", "sigma_w Inf", ntk_kernel(Gtr, sigma_w = Inf), error = "`sigma_w` must be finite")
add("ntk_kernel", "sigma_b NA", ntk_kernel(Gtr, sigma_b = NA_real_),
    error = "`sigma_b` must not be NA")
add("ntk_kernel", "sigma_w 1e200 overflows", ntk_kernel(Gtr, sigma_w = 1e200), error = "`sigma_w`")
add("ntk_kernel", "sigma_b 1e200 overflows", ntk_kernel(Gtr, sigma_b = 1e200), error = "`sigma_b`")
add("ntk_kernel", "empirical kernel overflows", ntk_kernel(Gtr, width = 4, sigma_w = 1e200),
    error = "overflowed.*`sigma_w`")
add("ntk_kernel", "normalize unknown", ntk_kernel(Gtr, normalize = "max"),
    error = '`normalize` must be one of "none", "unit", "paper" \\("max" given\\)')
add("ntk_kernel", "n_init 0", ntk_kernel(Gtr, width = 8, n_init = 0),
    error = "`n_init` must be >= 1")
add("ntk_kernel", "standardize NA", ntk_kernel(Gtr, standardize = NA),
    error = "`standardize` must be TRUE or FALSE")
add("ntk_kernel", "standardize a string", ntk_kernel(Gtr, standardize = "yes"),
    error = "`standardize` must be TRUE or FALSE")
add("ntk_kernel", "threads 0", ntk_kernel(Gtr, threads = 0), error = "`threads` must be >= 1")
add("ntk_kernel", "threads 1e10", ntk_kernel(Gtr, threads = 1e10),
    error = "`threads` must be <= 2147483647")
add("ntk_kernel", "device unknown", ntk_kernel(Gtr, device = "gpu"),
    error = "`device` must be one of")
if (ntkgen_has_cuda(device = TRUE)) {
  add("ntk_kernel", "device cuda: the CPU kernel", strip(ntk_kernel(Gtr, device = "cuda")),
      equal = strip(K), tolerance = 1e-10)
} else {
  add("ntk_kernel", "device cuda without a device", ntk_kernel(Gtr, device = "cuda"),
      error = "`device` is \"cuda\" but")
}
add("ntk_kernel", "a PLINK prefix that does not exist",
    ntk_kernel(file.path(tempdir(), "no_such_fileset")),
    error = "`X` names a PLINK fileset whose file .* does not exist")
add("ntk_kernel", "X * 1e200: the kernel of X", strip(ntk_kernel(Gtr * 1e200)), equal = strip(K))
add("ntk_kernel", "X * 1e-170: the kernel of X", strip(ntk_kernel(Gtr * 1e-170)), equal = strip(K))
add("ntk_kernel", "X[1, 1] <- 1e300: column 1 standardised to the indicator of row 1",
    { X <- Gtr; X[1, 1] <- 1e300; strip(ntk_kernel(X)) },
    equal = { X <- Gtr; X[, 1] <- c(1, rep(0, n - 1)); strip(ntk_kernel(X)) })
add("ntk_kernel", "X[1, 1] <- 1e300 unstandardised overflows",
    { X <- Gtr; X[1, 1] <- 1e300; ntk_kernel(X, standardize = FALSE) }, error = "scale of `X`")
add("ntk_kernel", "X * 1e-170 unstandardised underflows",
    ntk_kernel(Gtr * 1e-170, standardize = FALSE),
    error = "`X` has a scale .* underflow")
add("ntk_kernel", "Z * 1e-170 unstandardised underflows",
    ntk_kernel(Gtr, Z = Gte * 1e-170, standardize = FALSE), error = "`Z` has a scale .* underflow")
add("ntk_kernel", "analytic, depth 1: the ReLU recursion in R",
    strip(ntk_kernel(Gtr, depth = 1)), equal = strip(ntk_dense(scale(Gtr), scale(Gtr), 1)))
add("ntk_kernel", "analytic, depth 3, test-by-train: the recursion in R",
    strip(ntk_kernel(Gtr, Z = Gte, depth = 3)),
    equal = { ce <- colMeans(Gtr); sc <- apply(Gtr, 2, sd)
              strip(ntk_dense(scale(Gte, ce, sc), scale(Gtr, ce, sc), 3)) })
add("ntk_kernel", "normalize = \"unit\": unit diagonal",
    unname(diag(ntk_kernel(Gtr, normalize = "unit"))),
    equal = rep(1, n))
add("ntk_kernel", "normalize = \"paper\": diagonal 1 / p",
    unname(diag(ntk_kernel(Gtr, normalize = "paper"))), equal = rep(1 / 12, n))
add("ntk_kernel", "empirical kernel (width 8): symmetric, seed-reproducible",
    { set.seed(5); a <- ntk_kernel(Gtr, width = 8); set.seed(5); b <- ntk_kernel(Gtr, width = 8)
      c(max(abs(a - t(a))), max(abs(a - b))) }, equal = c(0, 0))

# ---- grm ---------------------------------------------------------------------------

add("grm", "standardised cross-product / p", strip(grm(Gtr)),
    equal = strip(tcrossprod(scale(Gtr)) / 12))
add("grm", "test-by-train with the training standardisation", strip(grm(Gtr, Z = Gte)),
    equal = { ce <- colMeans(Gtr); sc <- apply(Gtr, 2, sd)
              strip(tcrossprod(scale(Gte, ce, sc), scale(Gtr, ce, sc)) / 12) })
add("grm", "X with NA imputed by the column mean",
    { X <- Gtr; X[2, 3] <- NA; suppressMessages(strip(grm(X))) },
    equal = { X <- Gtr; X[2, 3] <- mean(Gtr[-2, 3])
              s <- sqrt(sum((X[-2, 3] - mean(X[-2, 3]))^2) / (n - 2))
              Xs <- scale(X); Xs[, 3] <- (X[, 3] - mean(X[-2, 3])) / s; Xs[2, 3] <- 0
              strip(tcrossprod(Xs) / 12) })
add("grm", "normalize unknown", grm(Gtr, normalize = "unit2"), error = "`normalize` must be one of")
add("grm", "standardize NA", grm(Gtr, standardize = NA),
    error = "`standardize` must be TRUE or FALSE")
add("grm", "threads -1", grm(Gtr, threads = -1), error = "`threads` must be >= 1")
add("grm", "threads 2^31", grm(Gtr, threads = 2^31), error = "`threads` must be <= 2147483647")
add("grm", "Z of another width", grm(Gtr, Z = Gte[, -1]), error = "`Z` must have as many columns")
add("grm", "X logical: accepted as 0/1", strip(grm(Gtr > 0)),
    equal = strip(tcrossprod(scale(Gtr > 0)) / 12))
add("grm", "X * 1e-170 unstandardised underflows", grm(Gtr * 1e-170, standardize = FALSE),
    error = "`X` has a scale .* underflow")
add("grm", "X a data frame of factors", grm(as.data.frame(lapply(as.data.frame(Gtr), factor))),
    error = "`X` must contain only numeric columns")

# ---- ntk_kernel_like ---------------------------------------------------------------

add("ntk_kernel_like", "equals the kernel computed with the training one",
    strip(ntk_kernel_like(K, Gte)), equal = strip(ntk_kernel(Gtr, Z = Gte, depth = 2)))
add("ntk_kernel_like", "an empirical kernel redraws the same network",
    { set.seed(9); Ke <- ntk_kernel(Gtr, width = 16); strip(ntk_kernel_like(Ke, Gte)) },
    equal = { set.seed(9); strip(ntk_kernel(Gtr, Z = Gte, width = 16)) })
add("ntk_kernel_like", "K a plain matrix", ntk_kernel_like(Kp, Gte),
    error = "`K` has no \"ntk\" settings")
add("ntk_kernel_like", "K a test-by-train kernel", ntk_kernel_like(Ks, Gte),
    error = "`K` must be a training kernel")
add("ntk_kernel_like", "K changed after it was computed", ntk_kernel_like(K * 2, Gte),
    error = "`K` was changed after it was computed")
add("ntk_kernel_like", "newdata missing", ntk_kernel_like(K), error = "`newdata` must be given")
add("ntk_kernel_like", "newdata of another width", ntk_kernel_like(K, Gte[, 1:4]),
    error = "`newdata` must have the 12 columns")
add("ntk_kernel_like", "newdata a list", ntk_kernel_like(K, list(1, 2)),
    error = "`newdata` must be a numeric matrix or data frame")
add("ntk_kernel_like", "newdata with SNPs reordered", ntk_kernel_like(K, Gte[, 12:1]),
    error = "`newdata` must have the column \\(SNP\\) names")
add("ntk_kernel_like", "newdata with Inf", { Z <- Gte; Z[1, 1] <- Inf; ntk_kernel_like(K, Z) },
    error = "`newdata` contains infinite values")
add("ntk_kernel_like", "threads 0", ntk_kernel_like(K, Gte, threads = 0),
    error = "`threads` must be >= 1")

# ---- ntk_spectral ------------------------------------------------------------------

add("ntk_spectral", "method \"tridiag\": eigenvalues of the centred kernel",
    S$values * S$scale,
    equal = { P0 <- I - 1 / n; eigen(P0 %*% Kp %*% P0, symmetric = TRUE)$values[1:(n - 1)] })
add("ntk_spectral", "method \"eigen\": eigenvalues of the kernel", Se$values * Se$scale,
    equal = eigen(Kp, symmetric = TRUE)$values)
add("ntk_spectral", "method unknown", ntk_spectral(K, method = "svd"),
    error = '`method` must be one of "tridiag", "eigen"')
add("ntk_spectral", "K not square", ntk_spectral(Kp[, -1]),
    error = "`K` must be square \\(20 x 19 given\\)")
add("ntk_spectral", "K not symmetric", { A <- Kp; A[1, 2] <- A[1, 2] + 1; ntk_spectral(A) },
    error = "`K` must be symmetric")
add("ntk_spectral", "K with NA", { A <- Kp; A[3, 3] <- NA; ntk_spectral(A) },
    error = "`K` contains missing values")
add("ntk_spectral", "K a data frame of strings", ntk_spectral(data.frame(a = "x")),
    error = "`K` must be a numeric matrix")
add("ntk_spectral", "obs out of range", ntk_spectral(K, obs = c(1, 25)),
    error = "`obs` must be distinct row indices of `K` \\(1..20\\)")
add("ntk_spectral", "obs duplicated", ntk_spectral(K, obs = c(1, 1, 2)),
    error = "`obs` must be distinct")
add("ntk_spectral", "obs fractional", ntk_spectral(K, obs = c(1.5, 2)),
    error = "`obs` must be distinct")
add("ntk_spectral", "X with the wrong number of rows", ntk_spectral(K, X = matrix(1, 19, 1)),
    error = "`X` must have one row per individual of `obs` \\(20\\), not 19")
add("ntk_spectral", "X as wide as the individuals", ntk_spectral(K, X = diag(20)),
    error = "`X` has as many columns as individuals")
add("ntk_spectral", "X with NA", ntk_spectral(K, X = matrix(c(NA, rep(1, 19)), 20, 1)),
    error = "`X` contains missing values")
add("ntk_spectral", "rank with method \"tridiag\"", ntk_spectral(K, rank = 3),
    error = "`rank` needs method = \"eigen\"")
add("ntk_spectral", "rank above the dimension", ntk_spectral(K, method = "eigen", rank = 21),
    error = "`rank` must be <= 20")
add("ntk_spectral", "rank 0", ntk_spectral(K, method = "eigen", rank = 0),
    error = "`rank` must be >= 1")
add("ntk_spectral", "X rank deficient", ntk_spectral(K, X = cbind(1, rep(2, n))),
    error = "`X` is rank deficient")
add("ntk_spectral", "K with a negative diagonal", ntk_spectral(-Kp),
    error = "`K` is not positive semi-definite")
add("ntk_spectral", "K zero", ntk_spectral(matrix(0, 4, 4)), error = "`K` has a zero diagonal")
add("print.ntk_spectral", "shows the individuals and the projection", print(S),
    output = "20 of a 20 x 20 kernel; 1 fixed-effect column\\(s\\) projected out; dimension 19")

# ---- ntk_lmm (default and formula methods) -----------------------------------------

add("ntk_lmm.default", "method \"minque0\": Rao's MINQUE(0), dense",
    unname(ntk_lmm(y, K, method = "minque0", constrain = FALSE)$theta),
    equal = minque_dense(y, list(Kp), cbind(one), c(0, 1)))
add("ntk_lmm.default", "method \"minque1\": weights s_y^2 (1 / c_K, 1), dense",
    unname(ntk_lmm(y, K, constrain = FALSE)$theta),
    equal = { P0 <- I - 1 / n; cK <- sum(diag(P0 %*% Kp %*% P0)) / (n - 1)
              minque_dense(y, list(Kp), cbind(one), var(y) * c(1 / cK, 1)) })
add("ntk_lmm.default", "method \"reml\": the maximum of the dense REML likelihood",
    unname(flr$theta), equal = reml_optim(y, Kp, cbind(one), c(0.3, 1)), tolerance = 1e-5)
add("ntk_lmm.default", "method \"iminque\": the REML fixed point",
    unname(ntk_lmm(y, K, method = "iminque")$theta), equal = unname(flr$theta), tolerance = 1e-6)
add("ntk_lmm.default", "two kernels, REML: the dense maximum",
    unname(fl2$theta),
    equal = { Kgp <- strip(Kg)
              ll <- function(l) { th <- exp(l); Q2 <- qr.Q(qr(cbind(one)), complete = TRUE)[, -1]
                W <- crossprod(Q2, (th[1] * Kp + th[2] * Kgp + th[3] * I) %*% Q2)
                yq <- crossprod(Q2, y)
                -0.5 * (as.numeric(determinant(W)$modulus) + sum(yq * solve(W, yq))) }
              exp(stats::optim(log(pmax(unname(fl2$theta), 1e-3) * 1.2), function(l) -ll(l),
                               control = list(reltol = 1e-15, maxit = 1e4))$par) },
    tolerance = 1e-3)
add("ntk_lmm.default", "K * 1e300: h2 unchanged", ntk_lmm(y, K * 1e300, method = "reml")$h2,
    equal = flr$h2)
add("ntk_lmm.default", "K * 1e300: V(K) scaled by 1e-300",
    unname(ntk_lmm(y, K * 1e300, method = "reml")$theta[1]) * 1e300, equal = unname(flr$theta[1]))
add("ntk_lmm.default", "y * 1e-150: V(K) scaled by 1e-300",
    unname(ntk_lmm(y * 1e-150, K, method = "reml")$theta[1]) / 1e-300, equal = unname(flr$theta[1]))
add("ntk_lmm.default", "y * 1e200: variance components overflow, said so",
    ntk_lmm(y * 1e200, K),
    error = "variance components of `y`.*beyond double precision.*rescale `y`")
add("ntk_lmm.default", "kernel with no variance left once the intercept is projected out",
    ntk_lmm(y, matrix(1, n, n)),
    error = "`K` has no variance left once the fixed effects are projected out")
for (m in c("minque1", "minque0", "iminque", "reml")) eval(bquote({
  add("ntk_lmm.default", .(sprintf("list(a = K, b = K) not identifiable (method \"%s\")", m)),
      ntk_lmm(y, list(a = K, b = K), method = .(m)),
      error = "`K\\$a` and the other kernels are not identifiable")
  add("ntk_lmm.default", .(sprintf("kernel proportional to the identity (method \"%s\")", m)),
      ntk_lmm(y, 3 * diag(n), method = .(m)), error = "not identifiable.*`K`")
}))
add("ntk_lmm.default", "REML on a rank-deficient kernel, h2 -> 1: warned",
    ntk_lmm(ylow, Klow, method = "reml"),
    warning = "residual variance went to its boundary 0 .*no maximum")
add("ntk_lmm.default", "iterated MINQUE on a rank-deficient kernel, h2 -> 1: warned",
    ntk_lmm(ylow, Klow, method = "iminque"),
    warning = "residual variance went to its boundary 0 .*no maximum")
add("ntk_lmm.default", "REML not converged in maxit: warned",
    ntk_lmm(y, K, method = "reml", maxit = 1),
    warning = "did not converge in 1 iterations; increase `maxit`")
add("ntk_lmm.default", "y character", ntk_lmm(letters[1:20], K),
    error = "`y` must be a numeric vector")
add("ntk_lmm.default", "y a list", ntk_lmm(as.list(y), K), error = "`y` must be a numeric vector")
add("ntk_lmm.default", "y with Inf", ntk_lmm(replace(y, 2, Inf), K),
    error = "`y` contains infinite values")
add("ntk_lmm.default", "y with NaN", ntk_lmm(replace(y, 2, NaN), K), error = "`y` contains NaN")
add("ntk_lmm.default", "y with two observed values", ntk_lmm(c(1, 2, rep(NA, 18)), K),
    error = "`y` must have at least 3 observed \\(non-NA\\) values \\(2 given\\)")
add("ntk_lmm.default", "y empty", ntk_lmm(numeric(0), K),
    error = "`y` must have at least 3 observed")
add("ntk_lmm.default", "y constant", ntk_lmm(rep(2, n), K), error = "`y` is constant")
add("ntk_lmm.default", "y shorter than K", ntk_lmm(y[-1], K),
    error = "`y` has length 19 but `K` is 20 x 20")
add("ntk_lmm.default", "y matrix with duplicated trait names",
    ntk_lmm(cbind(a = y, a = rev(y)), K), error = "`y` must have distinct column \\(trait\\) names")
add("ntk_lmm.default", "y matrix with a constant trait", ntk_lmm(cbind(a = y, b = 1), K),
    error = "`y\\[, \"b\"\\]` is constant")
add("ntk_lmm.default", "y matrix of strings",
    ntk_lmm(cbind(a = letters[1:20], b = letters[1:20]), K),
    error = "`y` must be a numeric vector or matrix")
add("ntk_lmm.default", "K not symmetric", { A <- Kp; A[1, 2] <- 5; ntk_lmm(y, A) },
    error = "`K` must be symmetric")
add("ntk_lmm.default", "K with NA", { A <- Kp; A[1, 1] <- NA; ntk_lmm(y, A) },
    error = "`K` contains missing")
add("ntk_lmm.default", "K with Inf", { A <- Kp; A[1, 1] <- Inf; ntk_lmm(y, A) },
    error = "`K` contains infinite")
add("ntk_lmm.default", "K a string", ntk_lmm(y, "K"), error = "`K` must be a numeric matrix")
add("ntk_lmm.default", "K an empty list", ntk_lmm(y, list()),
    error = "`K` must be a matrix or a non-empty list")
add("ntk_lmm.default", "K a list with duplicated names", ntk_lmm(y, list(a = K, a = Kg)),
    error = "`K` must have distinct names")
add("ntk_lmm.default", "a kernel of a list of the wrong size",
    ntk_lmm(y, list(a = K, b = Kg[-1, -1])),
    error = "`y` has length 20 but `K\\$b` is 19 x 19")
add("ntk_lmm.default", "K with a negative diagonal", ntk_lmm(y, -Kp),
    error = "`K` is not positive semi-definite")
add("ntk_lmm.default", "K with a negative eigenvalue",
    { e <- eigen(Kp, symmetric = TRUE); v <- e$vectors[, n]
      ntk_lmm(y, Kp - 0.5 * e$values[1] * tcrossprod(v)) },
    error = "`K` is not positive semi-definite")
add("ntk_lmm.default", "method unknown", ntk_lmm(y, K, method = "ml"),
    error = '`method` must be one of "minque1", "minque0", "iminque", "reml" \\("ml" given\\)')
add("ntk_lmm.default", "method NA", ntk_lmm(y, K, method = NA_character_),
    error = "`method` must be one of")
add("ntk_lmm.default", "constrain NA", ntk_lmm(y, K, constrain = NA),
    error = "`constrain` must be TRUE or FALSE")
add("ntk_lmm.default", "intercept a string", ntk_lmm(y, K, intercept = "yes"),
    error = "`intercept` must be TRUE or FALSE")
add("ntk_lmm.default", "tol 0", ntk_lmm(y, K, tol = 0), error = "`tol` must be > 0")
add("ntk_lmm.default", "tol of length 2", ntk_lmm(y, K, tol = c(1e-8, 1e-6)),
    error = "`tol` must be a single number")
add("ntk_lmm.default", "maxit 0", ntk_lmm(y, K, maxit = 0), error = "`maxit` must be >= 1")
add("ntk_lmm.default", "maxit 1e10", ntk_lmm(y, K, method = "reml", maxit = 1e10),
    error = "`maxit` must be <= 2147483647")
add("ntk_lmm.default", "X with the wrong number of rows", ntk_lmm(y, K, X = x[-1]),
    error = "`X` must have 20 rows, one per element of `y` \\(19 given\\)")
add("ntk_lmm.default", "X with NA", ntk_lmm(y, K, X = replace(x, 1, NA)),
    error = "`X` contains missing")
add("ntk_lmm.default", "X rank deficient", ntk_lmm(y, K, X = cbind(a = x, b = 2 * x)),
    error = "`X` is rank deficient .*remove the column\\(s\\) b")
add("ntk_lmm.default", "X with as many columns as individuals",
    ntk_lmm(y, K, X = matrix(stats::rnorm(n * (n - 1)), n)),
    error = "`y` has too few observed values \\(20\\)")
add("ntk_lmm.default", "X a data frame with an unseen-level-free factor: fine, named columns",
    names(ntk_lmm(y, K, X = data.frame(g = factor(rep(c("u", "v"), 10))))$b),
    equal = c("(Intercept)", "gv"))
add("ntk_lmm.default", "y and K name different individuals",
    ntk_lmm(stats::setNames(y, paste0("j", 1:20)), K),
    error = "`y` and `K` name different individuals")
add("ntk_lmm.default", "y with duplicated names",
    ntk_lmm(stats::setNames(y, rep(c("i1", "i2"), 10)), K),
    error = "`y` has duplicated or missing names")
add("ntk_lmm.default", "K with duplicated row names",
    { A <- Kp; dimnames(A) <- list(rep(c("a", "b"), 10), rep(c("a", "b"), 10))
      ntk_lmm(stats::setNames(y, paste0("a", 1:20)), A) },
    error = "`K` has duplicated row names")
add("ntk_lmm.default", "kernels of a list with different row names",
    { A <- K; dimnames(A) <- list(rev(rownames(K)), rev(rownames(K)))
      ntk_lmm(y, list(a = K, b = A)) },
    error = "`K\\$b` must have the row names of `K\\$a`")
add("ntk_lmm.default", "named y matched to the kernel's rows by name",
    unname(ntk_lmm(stats::setNames(rev(y), rev(rownames(K))), K)$theta), equal = unname(fl$theta))
add("ntk_lmm.default", "spectral not a decomposition", ntk_lmm(y, K, spectral = list()),
    error = "`spectral` must be an object made by ntk_spectral\\(\\)")
add("ntk_lmm.default", "spectral of another kernel", ntk_lmm(y, Kg, spectral = S),
    error = "`spectral` was made from another kernel")
add("ntk_lmm.default", "spectral without the intercept projected out", ntk_lmm(y, K, spectral = Se),
    error = "`spectral` projects out 0 column\\(s\\), the model has 1")
add("ntk_lmm.default", "spectral with two kernels", ntk_lmm(y, list(a = K, b = Kg), spectral = S),
    error = "`spectral` serves one kernel")
add("ntk_lmm.default", "spectral damaged (eigenvalues truncated)",
    ntk_lmm(y, K, spectral = { S2 <- S; S2$values <- S2$values[-1]; S2 }),
    error = "`spectral` is damaged")
add("ntk_lmm.default", "K * 1e-310: V(K) beyond double precision, K named", ntk_lmm(y, Kp * 1e-310),
    error = "`K` has a scale .* beyond double precision; rescale `K`")
add("ntk_lmm.default", "X a factor with a single level",
    ntk_lmm(y, K, X = data.frame(g = rep("a", n))),
    error = "`X` has a factor `g` with a single level \\(\"a\"\\)")
add("ntk_lmm.default", "spectral reused: the same fit", unname(ntk_lmm(y, K, spectral = S)$theta),
    equal = unname(fl$theta))
add("ntk_lmm", "no y and no formula", ntk_lmm(K = K), error = "`y` is missing")
add("ntk_lmm.formula", "a one-sided formula", ntk_lmm(~ x, data = data.frame(x = x), K = K),
    error = "`y` must be a two-sided formula")
add("ntk_lmm.formula", "a character response",
    ntk_lmm(r ~ 1, data = data.frame(r = letters[1:20]), K = K),
    error = "`y` must have a numeric response")
add("ntk_lmm.formula", "a covariate with NA",
    ntk_lmm(y ~ x, data = data.frame(y = y, x = replace(x, 3, NA)), K = K),
    error = "`data` has missing values in the covariate\\(s\\) x")
add("ntk_lmm.formula", "method unknown",
    ntk_lmm(y ~ 1, data = data.frame(y = y), K = K, method = "REML2"),
    error = "`method` must be one of")
add("ntk_lmm.formula", "formula = the default method's fit",
    unname(ntk_lmm(y ~ x, data = data.frame(y = y, x = x), K = K, method = "reml")$theta),
    equal = unname(flx$theta))

# ---- ntk_krr (default and formula methods) -----------------------------------------

add("ntk_krr.default", "criterion \"cv\": the mean squared error of refits per fold",
    fk$cvm, equal = vapply(fk$lambda, cv_dense, 0, y = y, K = Kp, fold = rep(1:4, 5)))
add("ntk_krr.default", "criterion \"gcv\": n ||(I - S) y||^2 / tr(I - S)^2", fkg$cvm,
    equal = vapply(fkg$lambda, gcv_dense, 0, y = y, K = Kp))
add("ntk_krr.default", "criterion \"loo\": the mean squared error of n refits",
    ntk_krr(y, K, criterion = "loo", nlambda = 7)$cvm,
    equal = vapply(ntk_krr(y, K, criterion = "loo", nlambda = 7)$lambda, loo_dense, 0,
                   y = y, K = Kp))
add("ntk_krr.default", "criterion \"kare\", offset \"gls\": KARE on the projected kernel",
    ntk_krr(y, K, criterion = "kare", offset = "gls", nlambda = 7)$cvm,
    equal = vapply(ntk_krr(y, K, criterion = "kare", offset = "gls", nlambda = 7)$lambda,
                   kare_dense, 0, y = y, K = Kp))
add("ntk_krr.default", "offset \"ols\": beta = mean(y), alpha = (K + lambda I)^-1 (y - beta)",
    unname(c(fkg$beta[1, 1], fkg$alpha[, 1])),
    equal = c(mean(y), drop(solve(Kp + fkg$lambda.min * I, y - mean(y)))))
add("ntk_krr.default", "offset \"gls\": beta = (1'V^-1 1)^-1 1'V^-1 y, V = K + lambda I",
    { f <- ntk_krr(y, K, criterion = "gcv", offset = "gls")
      c(unname(f$beta[1, 1]), f$lambda.min) },
    equal = { f <- ntk_krr(y, K, criterion = "gcv", offset = "gls"); V <- Kp + f$lambda.min * I
              c(sum(solve(V, y)) / sum(solve(V, one)), f$lambda.min) })
add("ntk_krr.default", "y * 1e-200 (GCV): the same lambda, fitted values scaled",
    { f <- ntk_krr(y * 1e-200, K, criterion = "gcv"); c(f$index[1, 1], f$fitted.values / 1e-200) },
    equal = c(fkg$index[1, 1], fkg$fitted.values))
add("ntk_krr.default", "y * 1e200 (CV): the same lambda, fitted values scaled",
    { f <- ntk_krr(y * 1e200, K, foldid = rep(1:4, 5)); c(f$index[1, 1], f$fitted.values / 1e200) },
    equal = c(fk$index[1, 1], fk$fitted.values))
add("ntk_krr.default", "K * 1e300 (GCV): the same lambda index and fitted values",
    { f <- ntk_krr(y, K * 1e300, criterion = "gcv"); c(f$index[1, 1], f$fitted.values) },
    equal = c(fkg$index[1, 1], fkg$fitted.values))
add("ntk_krr.default", "K * 1e-300 (GCV): the same lambda index and fitted values",
    { f <- ntk_krr(y, Kp * 1e-300, criterion = "gcv"); c(f$index[1, 1], f$fitted.values) },
    equal = c(fkg$index[1, 1], unname(fkg$fitted.values)))
add("ntk_krr.default", "K * 1e-318: the default grid underflows",
    ntk_krr(y, Kp * 1e-318, criterion = "gcv"),
    error = "`K` has a scale .* rescale `K` or give `lambda`")
add("ntk_krr.default", "y * 1e305 with lambda 1e-5: dual coefficients overflow, said so",
    ntk_krr(y * 1e305, Klow, lambda = 1e-5, criterion = "gcv"),
    error = "`K` .*`lambda` = 1e-05 .*overflow")
add("ntk_krr.default", "lambda 1e-320 on a rank-deficient kernel (GCV)",
    ntk_krr(y, Klow, lambda = 1e-320, criterion = "gcv"),
    error = "`lambda` = 1e-320 is too small for this kernel")
add("ntk_krr.default", "lambda 1e-320 on a rank-deficient kernel (CV)",
    ntk_krr(y, Klow, lambda = 1e-320, nfolds = 4),
    error = "`lambda` = 1e-320 is too small for this kernel")
add("ntk_krr.default", "lambda 1e-320 on a rank-deficient kernel, two traits (CV)",
    ntk_krr(cbind(y, x), Klow, lambda = 1e-320, nfolds = 4),
    error = "`lambda` = 1e-320 is too small for this kernel")
add("ntk_krr.default", "K zero", ntk_krr(y, matrix(0, n, n), criterion = "gcv"),
    error = "`K` must have a positive mean diagonal")
add("ntk_krr.default", "K with a negative diagonal, lambda given",
    ntk_krr(y, -Kp, lambda = 1, criterion = "gcv"),
    error = "`K` .*positive")
add("ntk_krr.default", "criterion unknown", ntk_krr(y, K, criterion = "aic"),
    error = '`criterion` must be one of "cv", "kare", "gcv", "loo" \\("aic" given\\)')
add("ntk_krr.default", "offset unknown", ntk_krr(y, K, offset = "none"),
    error = '`offset` must be one of "ols", "gls"')
add("ntk_krr.default", "lambda negative", ntk_krr(y, K, lambda = c(1, -1)),
    error = "`lambda` must be > 0 \\(smallest given: -1\\)")
add("ntk_krr.default", "lambda NA", ntk_krr(y, K, lambda = c(1, NA)),
    error = "`lambda` must not contain NA")
add("ntk_krr.default", "lambda Inf", ntk_krr(y, K, lambda = Inf), error = "`lambda` must be finite")
add("ntk_krr.default", "lambda a string", ntk_krr(y, K, lambda = "1"),
    error = "`lambda` must be a numeric vector")
add("ntk_krr.default", "lambda empty", ntk_krr(y, K, lambda = numeric(0)),
    error = "`lambda` must be a numeric vector")
add("ntk_krr.default", "nfolds 1", ntk_krr(y, K, nfolds = 1), error = "`nfolds` must be >= 2")
add("ntk_krr.default", "nfolds above the observed", ntk_krr(y, K, nfolds = 100),
    error = "`nfolds` must be <= 20")
add("ntk_krr.default", "nfolds NA", ntk_krr(y, K, nfolds = NA), error = "`nfolds` must not be NA")
add("ntk_krr.default", "foldid of the wrong length", ntk_krr(y, K, foldid = rep(1:2, 5)),
    error = "`foldid` must have length 20, one per element of `y` \\(10 given\\)")
add("ntk_krr.default", "foldid with one fold", ntk_krr(y, K, foldid = rep(1, 20)),
    error = "`foldid` must define at least 2 distinct folds")
add("ntk_krr.default", "foldid NA where y is observed",
    ntk_krr(y, K, foldid = c(NA, rep(1:2, length.out = 19))),
    error = "`foldid` must not be NA where `y` is observed")
add("ntk_krr.default", "foldid a matrix", ntk_krr(y, K, foldid = matrix(1:2, 20, 2)),
    error = "`foldid` must be a vector")
add("ntk_krr.default", "foldid leaving a training set too small",
    ntk_krr(y, K, foldid = c(rep(1, 19), 2)),
    error = "`foldid` leaves a training set of 1 individuals")
add("ntk_krr.default", "nlambda 0", ntk_krr(y, K, nlambda = 0), error = "`nlambda` must be >= 1")
add("ntk_krr.default", "nlambda 1e9", ntk_krr(y, K, nlambda = 1e9),
    error = "`nlambda` must be <= 10000")
add("ntk_krr.default", "lambda_range reversed", ntk_krr(y, K, lambda_range = c(10, 1)),
    error = "`lambda_range` must be two positive finite numbers")
add("ntk_krr.default", "lambda_range of length 1", ntk_krr(y, K, lambda_range = 1),
    error = "`lambda_range` must be two positive finite numbers")
add("ntk_krr.default", "lambda_range with 0", ntk_krr(y, K, lambda_range = c(0, 1)),
    error = "`lambda_range` must be two positive finite numbers")
add("ntk_krr.default", "y of length 2", ntk_krr(1:2, K[1:2, 1:2]),
    error = "`y` must have at least 3 elements")
add("ntk_krr.default", "y with two observed values", ntk_krr(c(1, 2, rep(NA, 18)), K),
    error = "`y` must have at least 3 non-missing values \\(2 given\\)")
add("ntk_krr.default", "y character", ntk_krr(letters[1:20], K),
    error = "`y` must be a numeric vector")
add("ntk_krr.default", "y with Inf", ntk_krr(replace(y, 1, -Inf), K),
    error = "`y` contains infinite values")
add("ntk_krr.default", "y matrix with a non-numeric trait",
    ntk_krr(data.frame(a = y, b = letters[1:20]), K),
    error = "`y\\[, \"a\"\\]` must be a numeric vector")
add("ntk_krr.default", "y shorter than K", ntk_krr(y[-1], K),
    error = "`K` must be 19 x 19 to match the data \\(20 x 20 given\\)")
add("ntk_krr.default", "K not symmetric", { A <- Kp; A[2, 1] <- 9; ntk_krr(y, A) },
    error = "`K` must be symmetric")
add("ntk_krr.default", "K with NaN", { A <- Kp; A[2, 2] <- NaN; ntk_krr(y, A) },
    error = "`K` contains missing values")
add("ntk_krr.default", "K a list", ntk_krr(y, list(K)), error = "`K` must be a numeric matrix")
add("ntk_krr.default", "X collinear with the intercept",
    ntk_krr(y, K, X = rep(3, n), criterion = "gcv"),
    error = "`X` is collinear")
add("ntk_krr.default", "X collinear within a training fold",
    ntk_krr(y, K, X = c(stats::rnorm(5), rep(0, 15)), foldid = rep(1:4, each = 5)),
    error = "`X` is collinear within the training set of fold")
add("ntk_krr.default", "X with too many columns",
    ntk_krr(y, K, X = matrix(stats::rnorm(n * 19), n), criterion = "gcv"),
    error = "`X` has too many columns \\(19\\) for 20 observed")
add("ntk_krr.default", "X with the wrong number of rows", ntk_krr(y, K, X = x[1:10]),
    error = "`X` must have 20 rows, one per element of `y` \\(10 given\\)")
add("ntk_krr.default", "an unused argument (a typo)", ntk_krr(y, K, lamda = 3),
    error = "unused argument\\(s\\) in `...`: lamda")
add("ntk_krr.default", "spectral of another kernel",
    ntk_krr(y, K, criterion = "gcv", spectral = ntk_spectral(Kg, method = "eigen")),
    error = "`spectral` was made from another kernel")
add("ntk_krr.default", "spectral without eigenvectors for leave-one-out",
    ntk_krr(y, K, criterion = "loo", spectral = ntk_spectral(K)),
    error = "`spectral` must hold all eigenvectors")
add("ntk_krr.default", "unprojected spectral for the GLS offset of a closed-form criterion",
    ntk_krr(y, K, criterion = "kare", offset = "gls", spectral = ntk_spectral(K)),
    error = "`spectral` projects out 0 column")
add("ntk_krr.default", "spectral not a decomposition",
    ntk_krr(y, K, criterion = "gcv", spectral = "S"),
    error = "`spectral` must be an object made by ntk_spectral")
add("ntk_krr.default", "named y matched to the kernel's rows by name",
    unname(ntk_krr(stats::setNames(rev(y), rev(rownames(K))), K, criterion = "gcv")$fitted.values),
    equal = unname(fkg$fitted.values))
add("ntk_krr.default", "y and K name different individuals",
    ntk_krr(stats::setNames(y, paste0("z", 1:20)), K),
    error = "`y` and `K` name different individuals")
add("ntk_krr", "no y and no formula", ntk_krr(K = K), error = "`y` is missing")
add("ntk_krr.formula", "a one-sided formula", ntk_krr(~ x, data = data.frame(x = x), K = K),
    error = "`y` must be a two-sided formula")
add("ntk_krr.formula", "a covariate with NA",
    ntk_krr(y ~ x, data = data.frame(y = y, x = replace(x, 2, NA)), K = K),
    error = "`data` has missing values in the covariates")
add("ntk_krr.formula", "formula = the default method's fit",
    unname(ntk_krr(y ~ x, data = data.frame(y = y, x = x), K = K, criterion = "gcv")$fitted.values),
    equal = unname(fkx$fitted.values))

# ---- methods of ntk_krr ------------------------------------------------------------

add("coef.ntk_krr", "s = 0.5: (K + 0.5 I)^-1 (y - mean(y))", as.numeric(coef(fkg, s = 0.5)),
    equal = drop(solve(Kp + 0.5 * I, y - mean(y))))
add("coef.ntk_krr", "s = 1e-300 on a rank-deficient kernel", coef(fklow, s = 1e-300),
    error = "`s` = 1e-300 is too small for this kernel")
add("coef.ntk_krr", "s unknown", coef(fkg, s = "lambda.max"),
    error = '`s` must be "lambda.min", "lambda.1se" or a positive number')
add("coef.ntk_krr", "s = \"lambda.1se\" of a GCV fit", coef(fkg, s = "lambda.1se"),
    error = '`s` = "lambda.1se" is only defined for criterion = "cv"')
add("coef.ntk_krr", "s negative", coef(fkg, s = -1), error = "`s` must be > 0")
add("coef.ntk_krr", "s NA", coef(fkg, s = NA_real_), error = "`s` must not be NA")
add("coef.ntk_krr", "s of length 2", coef(fkg, s = c(1, 2)), error = "`s` must be a single number")
add("coef.ntk_krr", "dual coefficients NA (damaged fit)",
    { g <- fkg; g$alpha[1, 1] <- NA; coef(g) },
    error = "`object` is not a valid `ntk_krr` fit \\(field `alpha`")
add("coef.ntk_krr", "offset coefficients Inf (damaged fit)",
    { g <- fkg; g$beta[1, 1] <- Inf; coef(g) },
    error = "`object` is not a valid `ntk_krr` fit \\(field `beta`")
add("predict.ntk_krr", "newdata: K(new, train) alpha + beta, dense",
    unname(predict(fkg, newdata = Gte)),
    equal = drop(strip(ntk_kernel(Gtr, Z = Gte)) %*% solve(Kp + fkg$lambda.min * I, y - mean(y))) +
      mean(y))
add("predict.ntk_krr", "K_new with the wrong number of columns", predict(fkg, K_new = Kp[1:3, -1]),
    error = "`K_new` must have 20 columns, one per training individual \\(19 given\\)")
add("predict.ntk_krr", "K_new with NA", predict(fkg, K_new = rbind(c(NA, Kp[1, -1]))),
    error = "`K_new` contains missing values")
add("predict.ntk_krr", "K_new a string", predict(fkg, K_new = "K"),
    error = "`K_new` must be a numeric matrix")
add("predict.ntk_krr", "K_new and newdata both", predict(fkg, K_new = Ks, newdata = Gte),
    error = "`K_new` and `newdata` cannot both be given")
add("predict.ntk_krr", "newdata of another width", predict(fkg, newdata = Gte[, 1:3]),
    error = "`newdata` must have the 12 columns")
add("predict.ntk_krr", "newdata for a kernel without a recipe",
    predict(ntk_krr(y, Kp, criterion = "gcv"), newdata = Gte),
    error = "`newdata` needs the recipe of every training kernel")
add("predict.ntk_krr", "K_new built with another depth",
    predict(fkg, K_new = ntk_kernel(Gtr, Z = Gte, depth = 3)),
    error = "`K_new` was not built like the training kernel: it differs in its depth")
add("predict.ntk_krr", "K_new with columns of other individuals",
    predict(fkg, K_new = { A <- Ks; attr(A, "ntk") <- NULL; colnames(A) <- paste0("z", 1:20); A }),
    error = "`K_new` has column names that are not the training individuals'")
add("predict.ntk_krr", "K_new with its columns permuted: matched by name",
    predict(fkg, K_new = { A <- Ks; attr(A, "ntk") <- NULL; A[, 20:1] }),
    equal = predict(fkg, K_new = Ks))
add("predict.ntk_krr", "X_new missing for a fit with covariates", predict(fkx, K_new = Ks),
    error = "`X_new` is required: the fit used covariates `X`")
add("predict.ntk_krr", "X_new of the wrong length", predict(fkx, K_new = Ks, X_new = 1:3),
    error = "`X_new` must have 5 rows, one per row of `K_new`")
add("predict.ntk_krr", "X_new with too many columns",
    predict(fkx, K_new = Ks, X_new = matrix(1, 5, 2)),
    error = "`X_new` must have 1 columns like `X`")
add("predict.ntk_krr", "X_new for a fit without covariates", predict(fkg, K_new = Ks, X_new = 1:5),
    warning = "`X_new` ignored: the fit used no covariates")
add("predict.ntk_krr", "s unknown", predict(fkg, K_new = Ks, s = "min"), error = "`s` must be")
add("predict.ntk_krr", "threads 0 with newdata", predict(fkg, newdata = Gte, threads = 0),
    error = "`threads` must be >= 1")
add("predict.ntk_krr", "a damaged fit (alpha NA)",
    { g <- fkg; g$alpha[] <- NA; predict(g, K_new = Ks) },
    error = "`object` is not a valid `ntk_krr` fit \\(field `alpha`")
add("predict.ntk_krr", "no new data: the fitted values", predict(fkg), equal = fitted(fkg))
add("fitted.ntk_krr", "s = 2: K alpha + beta at lambda 2", unname(fitted(fkg, s = 2)),
    equal = drop(Kp %*% solve(Kp + 2 * I, y - mean(y))) + mean(y))
add("fitted.ntk_krr", "missing y: predictions for those individuals", unname(fitted(fkna)[1:3]),
    equal = { o <- 4:20; yo <- y[o]; mu <- mean(yo)
              drop(Kp[1:3, o] %*% solve(Kp[o, o] + fkna$lambda.min * diag(17), yo - mu)) + mu })
add("fitted.ntk_krr", "s a string", fitted(fkg, s = "best"), error = "`s` must be")
add("fitted.ntk_krr", "a damaged fit (field K dropped)", { g <- fkg; g$K <- NULL; fitted(g) },
    error = "`object` is not a valid `ntk_krr` fit \\(field `K`")
add("residuals.ntk_krr", "y - fitted", residuals(fkg), equal = y - fitted(fkg))
add("residuals.ntk_krr", "NA where y is NA", unname(which(is.na(residuals(fkna)))), equal = 1:3)
add("residuals.ntk_krr", "s negative", residuals(fkg, s = -2), error = "`s` must be > 0")
add("nobs.ntk_krr", "the observed individuals", nobs(fkna), equal = 17L)
add("print.ntk_krr", "shows the criterion", print(fk), output = "lambda by 4-fold cross-validation")
add("print.ntk_krr", "digits a string", print(fk, digits = "a"),
    error = "`digits` must be a number")
add("print.ntk_krr", "digits 0", print(fk, digits = 0), error = "`digits` must be >= 1")
add("summary.ntk_krr", "in-sample R^2", summary(fkg)$r2_in,
    equal = 1 - mean((y - fkg$fitted.values)^2) / mean((y - mean(y))^2))
add("summary.ntk_krr", "cross-validated R^2", summary(fk)$r2_out,
    equal = 1 - fk$cvm[fk$index[1, 1]] / mean((y - mean(y))^2))
add("print.summary.ntk_krr", "shows the offset", print(summary(fkx)),
    output = "Offset coefficients \\(OLS")
add("print.summary.ntk_krr", "digits NA", print(summary(fkx), digits = NA),
    error = "`digits` must not be NA")
add("plot.ntk_krr", "sign.lambda 2", plot(fk, sign.lambda = 2),
    error = "`sign.lambda` must be 1 or -1")
add("plot.ntk_krr", "sign.lambda a string", plot(fk, sign.lambda = "1"),
    error = "`sign.lambda` must be 1 or -1")
add("plot.ntk_krr", "returns the fit invisibly", withVisible(plot(fk, sign.lambda = -1))$visible,
    equal = FALSE)
add("print.ntk_krr_list", "one line per trait", print(fklist), output = "fits of 2 traits")
add("print.ntk_krr_list", "digits -1", print(fklist, digits = -1), error = "`digits` must be >= 1")
add("predict.ntk_krr_list", "the predictions of each fit as columns",
    unname(predict(fklist, K_new = Ks)),
    equal = unname(cbind(predict(fklist$a, K_new = Ks), predict(fklist$b, K_new = Ks))))
add("predict.ntk_krr_list", "newdata of another width", predict(fklist, newdata = Gte[, -1]),
    error = "`newdata` must have the 12 columns")
add("predict.ntk_krr_list", "K_new with the wrong number of columns",
    predict(fklist, K_new = Kp[1:2, 1:5]),
    error = "`K_new` must have 20 columns")

# ---- methods of ntk_lmm ------------------------------------------------------------

add("coef.ntk_lmm", "fixed effects: GLS at the estimated V", unname(coef(flr, which = "fixed")),
    equal = { V <- flr$theta[1] * Kp + flr$theta[2] * I; sum(solve(V, y)) / sum(solve(V, one)) })
add("coef.ntk_lmm", "varcomp: V(K), V(e)", coef(flr, which = "varcomp"), equal = flr$theta)
add("coef.ntk_lmm", "h2: V(K) c_K / (V(K) c_K + V(e))", unname(coef(flr, which = "h2")),
    equal = { P0 <- I - 1 / n; cK <- sum(diag(P0 %*% Kp %*% P0)) / (n - 1)
              unname(flr$theta[1] * cK / (flr$theta[1] * cK + flr$theta[2])) })
add("coef.ntk_lmm", "which unknown", coef(flr, which = "blup"),
    error = '`which` must be one of "fixed", "varcomp", "h2"')
add("coef.ntk_lmm", "which a number", coef(flr, which = 2), error = "`which` must be one of")
add("vcov.ntk_lmm", "fixed: (X'V^-1 X)^-1", unname(vcov(flx, which = "fixed")),
    equal = { V <- flx$theta[1] * Kp + flx$theta[2] * I; Xd <- cbind(1, x)
              unname(solve(crossprod(Xd, solve(V, Xd)))) })
add("vcov.ntk_lmm", "varcomp of REML: 2 S^-1, the inverse information",
    unname(vcov(flr, which = "varcomp")),
    equal = { V <- flr$theta[1] * Kp + flr$theta[2] * I; P <- proj(V, cbind(one)); Ks <- list(Kp, I)
              Sm <- outer(1:2, 1:2, Vectorize(function(i, j)
                sum(diag(P %*% Ks[[i]] %*% P %*% Ks[[j]]))))
              2 * solve(Sm) }, tolerance = 1e-6)
add("vcov.ntk_lmm", "which \"h2\"", vcov(flr, which = "h2"),
    error = '`which` must be one of "fixed", "varcomp"')
add("fitted.ntk_lmm", "X b + V(K) K V^-1 (y - X b)", unname(fitted(flr)),
    equal = { V <- flr$theta[1] * Kp + flr$theta[2] * I; b <- unname(flr$b)
              drop(b + flr$theta[1] * Kp %*% solve(V, y - b)) })
add("fitted.ntk_lmm", "missing y: BLUP predictions of those individuals", unname(fitted(flna)[1:3]),
    equal = { o <- 4:20; V <- flna$theta[1] * Kp[o, o] + flna$theta[2] * diag(17)
              b <- unname(flna$b)
              drop(b + flna$theta[1] * Kp[1:3, o] %*% solve(V, y[o] - b)) })
add("residuals.ntk_lmm", "y - fitted", residuals(flr),
    equal = stats::setNames(y, rownames(K)) - fitted(flr))
add("residuals.ntk_lmm", "NA where y is NA", unname(which(is.na(residuals(flna)))), equal = 1:3)
add("logLik.ntk_lmm", "the dense REML log-likelihood at the estimates", as.numeric(logLik(flr)),
    equal = reml_dense(unname(flr$theta), y, Kp, cbind(one)))
add("logLik.ntk_lmm", "degrees of freedom: components + fixed effects", attr(logLik(flx), "df"),
    equal = 4)
add("nobs.ntk_lmm", "the observed individuals", nobs(flna), equal = 17L)
add("ranef.ntk_lmm", "V(K) K[, obs] V^-1 (y - X b) for every individual", unname(ranef(flna)),
    equal = { o <- 4:20; V <- flna$theta[1] * Kp[o, o] + flna$theta[2] * diag(17)
              b <- unname(flna$b)
              drop(flna$theta[1] * Kp[, o] %*% solve(V, y[o] - b)) })
add("ranef", "two kernels: one column per kernel", colnames(ranef(fl2)), equal = c("ntk", "grm"))
add("predict.ntk_lmm", "K_new: the BLUP of new individuals, dense",
    unname(predict(flr, K_new = Ks)),
    equal = { V <- flr$theta[1] * Kp + flr$theta[2] * I; b <- unname(flr$b)
              drop(b + flr$theta[1] * strip(Ks) %*% solve(V, y - b)) })
add("predict.ntk_lmm", "newdata = the kernel's recipe", predict(flr, newdata = Gte),
    equal = predict(flr, K_new = Ks))
add("predict.ntk_lmm", "se.fit: Henderson's PEV, dense",
    unname(predict(flr, K_new = Ks, se.fit = TRUE)$se.fit),
    equal = { V <- flr$theta[1] * Kp + flr$theta[2] * I; P <- proj(V, cbind(one)); Kn <- strip(Ks)
              sg <- unname(flr$theta[1])
              sqrt(sg * attr(Ks, "diag") - sg^2 * rowSums((Kn %*% P) * Kn)) },
    tolerance = 1e-7)
add("predict.ntk_lmm", "se.fit NA", predict(flr, K_new = Ks, se.fit = NA),
    error = "`se.fit` must be TRUE or FALSE")
add("predict.ntk_lmm", "se.fit without the new individuals' diagonal",
    predict(flr, K_new = strip(Ks), se.fit = TRUE), error = "`K_new_diag` is needed for `se.fit`")
add("predict.ntk_lmm", "K_new_diag of the wrong length",
    predict(flr, K_new = strip(Ks), se.fit = TRUE, K_new_diag = 1:3),
    error = "`K_new_diag` must have length 5")
add("predict.ntk_lmm", "K_new_diag with NA",
    predict(flr, K_new = strip(Ks), se.fit = TRUE, K_new_diag = c(1, NA, 1, 1, 1)),
    error = "`K_new_diag` contains missing")
add("predict.ntk_lmm", "se.fit for two kernels",
    predict(fl2, K_new = list(ntk = Ks, grm = grm(Gtr, Z = Gte)), se.fit = TRUE),
    error = "`se.fit` is available for fits with one kernel")
add("predict.ntk_lmm", "X_new without new kernels", predict(flx, X_new = 1:5),
    error = "`K_new` or `newdata` is needed to predict new individuals")
add("predict.ntk_lmm", "X_new missing for a fit with covariates", predict(flx, K_new = Ks),
    error = "`X_new` is needed: the fit has covariates x")
add("predict.ntk_lmm", "X_new of the wrong length", predict(flx, K_new = Ks, X_new = 1:4),
    error = "`X_new` must have 5 rows, one per row of `K_new`")
add("predict.ntk_lmm", "X_new with other column names",
    predict(flx, K_new = Ks, X_new = cbind(age = 1:5)),
    error = "`X_new` must have the training covariates' columns \\(x\\)")
add("predict.ntk_lmm", "K_new with the wrong number of columns",
    predict(flr, K_new = strip(Ks)[, -1]),
    error = "`K_new` must have 20 columns")
add("predict.ntk_lmm", "K_new with Inf",
    predict(flr, K_new = { A <- strip(Ks); A[1, 1] <- Inf; A }),
    error = "`K_new` contains infinite values")
add("predict.ntk_lmm", "K_new and newdata both", predict(flr, K_new = Ks, newdata = Gte),
    error = "`K_new` and `newdata` cannot both be given")
add("predict.ntk_lmm", "K_new a GRM block for an NTK fit", predict(flr, K_new = grm(Gtr, Z = Gte)),
    error = "`K_new` was not built like the training kernel: it differs in its kind")
add("predict.ntk_lmm", "two kernels, K_new one matrix", predict(fl2, K_new = Ks),
    error = "`K_new` must be a list of 2 kernels")
add("predict.ntk_lmm", "two kernels, K_new a list of 1", predict(fl2, K_new = list(Ks)),
    error = "`K_new` must hold 2 test-by-train kernel\\(s\\)")
add("predict.ntk_lmm", "two kernels, K_new named otherwise",
    predict(fl2, K_new = list(a = Ks, b = Ks)),
    error = "`K_new` must be named like the training kernels: ntk, grm")
add("predict.ntk_lmm", "two kernels, K_new of different heights",
    predict(fl2, K_new = list(ntk = strip(Ks), grm = strip(grm(Gtr, Z = Gte))[1:2, ])),
    error = "`K_new` kernels must all have the same number of rows")
add("predict.ntk_lmm", "variance components NA (damaged fit)",
    { g <- flr; g$theta[1] <- NA; predict(g, K_new = Ks) },
    error = "`object` is not a valid `ntk_lmm` fit \\(field `theta`")
add("predict.ntk_lmm", "dual coefficients NA (damaged fit)",
    { g <- flr; g$alpha[2] <- NA; predict(g, K_new = Ks) },
    error = "`object` is not a valid `ntk_lmm` fit \\(field `alpha`")
add("predict.ntk_lmm", "fixed effects NaN (damaged fit)",
    { g <- flr; g$b[1] <- NaN; predict(g, K_new = Ks) },
    error = "`object` is not a valid `ntk_lmm` fit \\(field `b`")
add("predict.ntk_lmm", "observed indices out of range (damaged fit)",
    { g <- flr; g$obs[1] <- 99L; predict(g, K_new = Ks) },
    error = "`object` is not a valid `ntk_lmm` fit \\(field `obs`")
add("predict.ntk_lmm", "formula fit, covariates not a data frame",
    predict(ntk_lmm(y ~ x, data = data.frame(y = y, x = x), K = K), K_new = Ks, X_new = 1:5),
    error = "`X_new` \\(a data frame of the covariates\\) is needed")
add("predict.ntk_lmm", "formula fit, covariates missing",
    predict(ntk_lmm(y ~ x, data = data.frame(y = y, x = x), K = K), K_new = Ks),
    error = "`X_new` \\(a data frame of the covariates\\) is needed")
add("predict.ntk_lmm", "formula fit, covariates with NA",
    predict(ntk_lmm(y ~ x, data = data.frame(y = y, x = x), K = K), K_new = Ks,
            X_new = data.frame(x = c(NA, 1:4))),
    error = "`newdata` has missing covariate values")
add("predict.ntk_lmm", "a factor level not seen in training",
    predict(ntk_lmm(y, K, X = data.frame(g = factor(rep(c("u", "v"), 10)))), K_new = Ks,
            X_new = data.frame(g = factor(c("u", "v", "w", "u", "v")))),
    error = "`X_new` has level\\(s\\) of `g` not seen in training: w")
add("predict.ntk_lmm", "no new data: the fitted values", predict(flr), equal = fitted(flr))
add("print.ntk_lmm", "shows the method and components", print(flr),
    output = "method reml.*Variance components")
add("print.ntk_lmm", "digits a string", print(flr, digits = "4"),
    error = "`digits` must be a number")
add("print.ntk_lmm", "digits 0", print(flr, digits = 0), error = "`digits` must be >= 1")
add("summary.ntk_lmm", "the GCTA table: V(K), V(e), Vp, h2", summary(flr)$varcomp$Variance[1:4],
    equal = unname(c(flr$theta, flr$vp, flr$h2)))
add("summary.ntk_lmm", "z statistics of the fixed effects", unname(summary(flx)$fixed[, "z value"]),
    equal = unname(flx$b / sqrt(diag(flx$vcov_b))))
add("print.summary.ntk_lmm", "shows the likelihood-ratio test", print(summary(flr)), output = "LRT")
add("print.summary.ntk_lmm", "digits -3", print(summary(flr), digits = -3),
    error = "`digits` must be >= 1")
add("anova.ntk_lmm", "nested fits: 2 (l1 - l0) on 1 df", anova(fl1, fl2)$Chisq[2],
    equal = max(2 * (fl2$loglik - fl1$loglik), 0))
add("anova.ntk_lmm", "one fit: against the null model", anova(flr)$Chisq[2],
    equal = max(2 * (flr$loglik - reml_dense(c(0, var(y)), y, Kp, cbind(one))), 0))
add("anova.ntk_lmm", "a MINQUE fit", anova(fl), error = "`object` must be fitted by REML")
add("anova.ntk_lmm", "a MINQUE fit among the others",
    anova(fl1, ntk_lmm(y, list(ntk = K, grm = Kg))),
    error = "`...` must be fitted by REML")
add("anova.ntk_lmm", "something else in ...", anova(flr, 3),
    error = "`...` must hold ntk_lmm fits only")
add("anova.ntk_lmm", "fits of different phenotypes",
    anova(fl1, ntk_lmm(y + x, list(ntk = K, grm = Kg), method = "reml")),
    error = "`...` must be fits of the same phenotype")
add("anova.ntk_lmm", "fits with different fixed effects",
    anova(fl1, ntk_lmm(y, list(ntk = K, grm = Kg), X = cbind(x = x), method = "reml")),
    error = "`...` must have the same fixed effects")
add("anova.ntk_lmm", "fits that are not nested",
    anova(fl1, ntk_lmm(y, list(grm = Kg, g2 = Kg^2), method = "reml")),
    error = "`...` must be nested")
add("print.ntk_lmm_list", "one line per trait", print(flist), output = "fits of 2 traits")
add("print.ntk_lmm_list", "digits a string", print(flist, digits = "x"),
    error = "`digits` must be a number")
add("coef.ntk_lmm_list", "a trait x component matrix", unname(coef(flist)),
    equal = unname(rbind(flist$a$theta, flist$b$theta)))
add("coef.ntk_lmm_list", "each trait = its own fit", unname(coef(flist)[2, ]),
    equal = unname(ntk_lmm(Y2[, "b"], K)$theta))
add("predict.ntk_lmm_list", "the predictions of each fit as columns",
    unname(predict(flist, K_new = Ks)),
    equal = unname(cbind(predict(flist$a, K_new = Ks), predict(flist$b, K_new = Ks))))
add("predict.ntk_lmm_list", "newdata = K_new from the recipe", predict(flist, newdata = Gte),
    equal = predict(flist, K_new = Ks))
add("predict.ntk_lmm_list", "K_new of another kernel", predict(flist, K_new = grm(Gtr, Z = Gte)),
    error = "`K_new` was not built like the training kernel")
add("predict.ntk_lmm_list", "newdata with NaN",
    predict(flist, newdata = { Z <- Gte; Z[1, 1] <- NaN; Z }),
    error = "`newdata` contains NaN")

# ---- mlp_fit and its methods -------------------------------------------------------

add("mlp_fit", "y * 1e300: predictions scaled by 1e300",
    { f <- mlp_fit(Xm, ym * 1e300, hidden = 4, epochs = 5); predict(f, Xm[1:5, ]) / 1e300 },
    equal = predict(mlp_fit(Xm, ym, hidden = 4, epochs = 5), Xm[1:5, ]))
add("mlp_fit", "y * 1e-300: predictions scaled by 1e-300",
    { f <- mlp_fit(Xm, ym * 1e-300, hidden = 4, epochs = 5); predict(f, Xm[1:5, ]) / 1e-300 },
    equal = predict(mlp_fit(Xm, ym, hidden = 4, epochs = 5), Xm[1:5, ]))
add("mlp_fit", "X * 1e200: the same predictions",
    { f <- mlp_fit(Xm * 1e200, ym, hidden = 4, epochs = 5); predict(f, Xm[1:5, ] * 1e200) },
    equal = predict(mlp_fit(Xm, ym, hidden = 4, epochs = 5), Xm[1:5, ]))
add("mlp_fit", "lr = 1e10: the divergence detected",
    mlp_fit(Xm, ym, hidden = 4, lr = 1e10, epochs = 20),
    error = "diverged.*lower `lr`")
add("mlp_fit", "hidden = c(1e5, 1e5): refused with the size and the option",
    mlp_fit(Xm, ym, hidden = c(1e5, 1e5)),
    error = "`hidden` needs about [0-9.]+ GB .*network of [0-9,]+ parameters.*max_kernel_gb")
add("mlp_fit", "hidden 0", mlp_fit(Xm, ym, hidden = 0),
    error = "`hidden` must be a vector of positive whole numbers")
add("mlp_fit", "hidden NA", mlp_fit(Xm, ym, hidden = c(4, NA)),
    error = "`hidden` must be a vector of positive whole numbers")
add("mlp_fit", "hidden 1.5", mlp_fit(Xm, ym, hidden = 1.5),
    error = "`hidden` must be a vector of positive whole numbers")
add("mlp_fit", "hidden empty", mlp_fit(Xm, ym, hidden = integer(0)),
    error = "`hidden` must be a vector of positive whole numbers")
add("mlp_fit", "hidden a string", mlp_fit(Xm, ym, hidden = "8"),
    error = "`hidden` must be a vector of positive whole numbers")
add("mlp_fit", "hidden 3e9", mlp_fit(Xm, ym, hidden = 3e9), error = "`hidden`")
add("mlp_fit", "X character, one level", mlp_fit(matrix("a", 10, 2), rnorm(10)),
    error = "`X` has a factor .* with a single level")
add("mlp_fit", "X a list", mlp_fit(list(1, 2, 3), rnorm(3)),
    error = "`X` must be a numeric matrix or data frame")
add("mlp_fit", "X with two rows", mlp_fit(Xm[1:2, ], ym[1:2]),
    error = "`X` must have at least 3 rows")
add("mlp_fit", "X with Inf", mlp_fit(replace(Xm, 1, Inf), ym),
    error = "`X` contains infinite values")
add("mlp_fit", "X transposed", mlp_fit(t(Xm[1:10, ]), ym[1:10]),
    error = "`X` has 3 rows but `y` has 10 values.*transposed")
add("mlp_fit", "y of the wrong length", mlp_fit(Xm, ym[-1]),
    error = "`y` must have length 60 \\(59 given\\)")
add("mlp_fit", "y with NA", mlp_fit(Xm, replace(ym, 3, NA)), error = "`y` contains missing values")
add("mlp_fit", "y constant", mlp_fit(Xm, rep(1, 60)), error = "`y` is constant")
add("mlp_fit", "y a factor", mlp_fit(Xm, factor(ym > 0)),
    error = "`y` must be a numeric vector, not factor")
add("mlp_fit", "dropout 1", mlp_fit(Xm, ym, dropout = 1), error = "`dropout` must be < 1")
add("mlp_fit", "dropout negative", mlp_fit(Xm, ym, dropout = -0.1),
    error = "`dropout` must be >= 0")
add("mlp_fit", "batch_norm NA", mlp_fit(Xm, ym, batch_norm = NA),
    error = "`batch_norm` must be TRUE or FALSE")
add("mlp_fit", "lr 0", mlp_fit(Xm, ym, lr = 0), error = "`lr` must be > 0")
add("mlp_fit", "lr -1", mlp_fit(Xm, ym, lr = -1), error = "`lr` must be > 0")
add("mlp_fit", "weight_decay negative", mlp_fit(Xm, ym, weight_decay = -1),
    error = "`weight_decay` must be >= 0")
add("mlp_fit", "batch_size 1 with batch normalisation", mlp_fit(Xm, ym, batch_size = 1),
    error = "`batch_size` must be >= 2")
add("mlp_fit", "batch_size 2.5", mlp_fit(Xm, ym, batch_size = 2.5),
    error = "`batch_size` must be a whole number")
add("mlp_fit", "epochs 0", mlp_fit(Xm, ym, epochs = 0), error = "`epochs` must be >= 1")
add("mlp_fit", "epochs 1e10", mlp_fit(Xm, ym, epochs = 1e10),
    error = "`epochs` must be <= 2147483647")
add("mlp_fit", "patience 0", mlp_fit(Xm, ym, patience = 0), error = "`patience` must be >= 1")
add("mlp_fit", "validation 0.6", mlp_fit(Xm, ym, validation = 0.6),
    error = "`validation` must be <= 0.5")
add("mlp_fit", "validation leaving no row", mlp_fit(Xm[1:5, ], ym[1:5], validation = 0.1),
    error = "`validation` leaves no validation row for n = 5")
add("mlp_fit", "standardize NA", mlp_fit(Xm, ym, standardize = NA),
    error = "`standardize` must be TRUE or FALSE")
add("mlp_fit", "verbose a string", mlp_fit(Xm, ym, verbose = "yes"),
    error = "`verbose` must be TRUE or FALSE")
add("mlp_fit", "bn_momentum 2", mlp_fit(Xm, ym, bn_momentum = 2),
    error = "`bn_momentum` must be <= 1")
add("predict.ntk_mlp", "newdata missing", predict(fm), error = "`newdata` is required")
add("predict.ntk_mlp", "newdata of another width", predict(fm, Xm[, 1:2]),
    error = "`newdata` must have 3 columns")
add("predict.ntk_mlp", "newdata with NA", predict(fm, replace(Xm[1:3, ], 1, NA)),
    error = "`newdata` contains missing")
add("predict.ntk_mlp", "newdata a string", predict(fm, "x"),
    error = "`newdata` must be a numeric matrix")
add("predict.ntk_mlp", "negative running variances (damaged fit)",
    { g <- fm; g$run_var[1] <- -1; predict(g, Xm) },
    error = "`object` is not a valid `ntk_mlp` fit \\(negative running variances")
add("predict.ntk_mlp", "weights NA (damaged fit)", { g <- fm; g$theta[1] <- NA; predict(g, Xm) },
    error = "`object` is not a valid `ntk_mlp` fit \\(field `theta`")
add("predict.ntk_mlp", "running means dropped (damaged fit)",
    { g <- fm; g$run_mean <- NULL; predict(g, Xm) },
    error = "`object` is not a valid `ntk_mlp` fit \\(field `run_mean`")
add("predict.ntk_mlp", "a linear network (no batch norm, dropout 0): X W1 + b1 -> ReLU -> w2 + b2",
    { f <- mlp_fit(Xm, ym, hidden = 3, batch_norm = FALSE, dropout = 0, epochs = 3,
                   standardize = FALSE)
      predict(f, Xm[1:4, ]) },
    equal = { f <- mlp_fit(Xm, ym, hidden = 3, batch_norm = FALSE, dropout = 0, epochs = 3,
                           standardize = FALSE)
              th <- f$theta; W1 <- matrix(th[1:9], 3, 3); b1 <- th[10:12]; w2 <- th[13:15]
              b2 <- th[16]
              drop(pmax(sweep(Xm[1:4, ] %*% W1, 2, b1, "+"), 0) %*% w2) + b2 })
add("print.ntk_mlp", "shows the layers", print(fm), output = "layers: 3 -> 4 -> 1")
add("plot.ntk_mlp", "log NA", plot(fm, log = NA), error = "`log` must be TRUE or FALSE")
add("plot.ntk_mlp", "no loss history", { g <- fm; g$history <- g$history[0, ]; plot(g) },
    error = "`x` has no loss history")
add("plot.ntk_mlp", "returns the fit invisibly", withVisible(plot(fm, log = TRUE))$visible,
    equal = FALSE)

# ---- simulate_genotypes ------------------------------------------------------------

add("simulate_genotypes", "n 1", simulate_genotypes(1, 5), error = "`n` must be >= 2")
add("simulate_genotypes", "n 1e10", simulate_genotypes(1e10, 2),
    error = "`n` must be <= 2147483647")
add("simulate_genotypes", "n NA", simulate_genotypes(NA, 5), error = "`n` must not be NA")
add("simulate_genotypes", "p 0", simulate_genotypes(10, 0), error = "`p` must be >= 1")
add("simulate_genotypes", "p 2.5", simulate_genotypes(10, 2.5),
    error = "`p` must be a whole number")
add("simulate_genotypes", "n x p too large", simulate_genotypes(1e6, 1e6),
    error = "`n` x `p` is too large")
add("simulate_genotypes", "maf with 0", simulate_genotypes(10, 5, maf = c(0, 0.5)),
    error = "`maf` must satisfy 0 < lower")
add("simulate_genotypes", "maf above 0.5", simulate_genotypes(10, 5, maf = 0.7),
    error = "`maf` must satisfy")
add("simulate_genotypes", "maf reversed", simulate_genotypes(10, 5, maf = c(0.4, 0.1)),
    error = "`maf` must satisfy")
add("simulate_genotypes", "maf of length 3", simulate_genotypes(10, 5, maf = c(0.1, 0.2, 0.3)),
    error = "`maf` must be one number or a range")
add("simulate_genotypes", "maf NA", simulate_genotypes(10, 5, maf = NA_real_),
    error = "`maf` must be one number or a range")
add("simulate_genotypes", "ld 1.5", simulate_genotypes(10, 5, ld = 1.5),
    error = "`ld` must be <= 1")
add("simulate_genotypes", "ld negative", simulate_genotypes(10, 5, ld = -0.1),
    error = "`ld` must be >= 0")
add("simulate_genotypes", "max_tries 0", simulate_genotypes(10, 5, max_tries = 0),
    error = "`max_tries` must be >= 1")
add("simulate_genotypes", "a rare SNP in two individuals",
    simulate_genotypes(2, 3, maf = 0.001, max_tries = 2),
    error = "`n` is too small: SNP 1 stayed monomorphic")
add("simulate_genotypes", "counts in 0..2, every SNP polymorphic",
    { Gs <- simulate_genotypes(30, 8); c(all(Gs %in% 0:2), all(apply(Gs, 2, sd) > 0)) },
    equal = c(TRUE, TRUE))
add("simulate_genotypes", "ld = 1: one latent chain, neighbours identical for a fixed maf",
    { Gs <- simulate_genotypes(40, 3, maf = 0.3, ld = 1); max(abs(diff(t(Gs)))) }, equal = 0)

# ---- simulate_phenotype and the generators -----------------------------------------

add("sim_linear", "y = sqrt(h2) u + sqrt(1 - h2) e, u = standardised G beta",
    { v <- sim_linear(Gtr, h2 = 0.3); as.numeric(v) },
    equal = { v <- sim_linear(Gtr, h2 = 0.3)
              u <- drop(scale(Gtr, scale = FALSE) %*% attr(v, "beta"))
              u <- (u - mean(u)) / sd(u)
              as.numeric(sqrt(0.3) * u + sqrt(0.7) * attr(v, "noise")) })
add("sim_linear", "h2 1.5", sim_linear(Gtr, h2 = 1.5), error = "`h2` must be <= 1")
add("sim_linear", "h2 NA", sim_linear(Gtr, h2 = NA), error = "`h2` must not be NA")
add("sim_linear", "G with NA", sim_linear(replace(Gtr, 1, NA)),
    error = "`G` contains missing values")
add("sim_linear", "G with two rows", sim_linear(Gtr[1:2, ]),
    error = "`G` must have at least 3 rows")
add("sim_linear", "G a vector", sim_linear(1:10), error = "`G` must be a matrix, not a vector")
add("sim_linear", "causal 0", sim_linear(Gtr, causal = 0), error = "`causal` must be >= 1")
add("sim_linear", "causal above the SNPs", sim_linear(Gtr, causal = 13),
    error = "`causal` must be <= 12")
add("sim_linear", "causal indices out of range", sim_linear(Gtr, causal = c(1, 20)),
    error = "`causal` indices must lie in 1..12")
add("sim_linear", "causal names not in G", sim_linear(Gtr, causal = c("snp1", "rs9")),
    error = "`causal` names SNPs not in `G`: rs9")
add("sim_linear", "causal names without column names",
    sim_linear(unname(Gtr), causal = c("snp1", "snp2")),
    error = "`causal` gives names but `G` has no column names")
add("sim_linear", "causal mask of the wrong length", sim_linear(Gtr, causal = c(TRUE, FALSE)),
    error = "`causal` as a logical mask must have length ncol\\(G\\) = 12")
add("sim_linear", "causal mask selecting nothing", sim_linear(Gtr, causal = rep(FALSE, 12)),
    error = "`causal` selects no SNP")
add("sim_linear", "causal duplicated", sim_linear(Gtr, causal = c(2, 2, 3)),
    error = "`causal` contains duplicated SNPs")
add("sim_linear", "causal fractional", sim_linear(Gtr, causal = c(1.5, 2)),
    error = "`causal` must contain whole numbers")
add("sim_linear", "causal a list", sim_linear(Gtr, causal = list(1)),
    error = "`causal` must be NULL, a number")
add("sim_linear", "beta of the wrong length", sim_linear(Gtr, causal = 1:3, beta = 1:2),
    error = "`beta` must have length 3")
add("sim_linear", "beta with Inf", sim_linear(Gtr, causal = 1:2, beta = c(1, Inf)),
    error = "`beta` contains infinite")
add("sim_linear", "a constant causal SNP", sim_linear(cbind(Gtr, 1), causal = c(1, 13)),
    error = "`G` has constant causal SNP\\(s\\) \\(column 13\\)")
add("sim_linear", "beta zero: no genetic value", sim_linear(Gtr, causal = 1:2, beta = c(0, 0)),
    error = "genetic value u has zero variance")
add("sim_power", "gamma 1e6 overflows", sim_power(Gtr, gamma = 1e6),
    error = "`gamma` = 1e\\+06 makes the power link overflow")
add("sim_power", "gamma 0", sim_power(Gtr, gamma = 0), error = "`gamma` must be > 0")
add("sim_power", "symmetric NA", sim_power(Gtr, symmetric = NA),
    error = "`symmetric` must be TRUE or FALSE")
add("sim_power", "f(u) = softplus(u)^gamma", { v <- sim_power(Gtr, gamma = 3); attr(v, "fu") },
    equal = { v <- sim_power(Gtr, gamma = 3); log1p(exp(attr(v, "u")))^3 })
add("sim_ricker", "a 1e6 flattens the link", sim_ricker(Gtr, a = 1e6),
    error = "`a` = 1e\\+06 makes the ricker link")
add("sim_ricker", "a negative", sim_ricker(Gtr, a = -1), error = "`a` must be > 0")
add("sim_ricker", "symmetric: f(u) = s(a u^2) exp(-s(a u^2))",
    { v <- sim_ricker(Gtr, a = 1.5, symmetric = TRUE); attr(v, "fu") },
    equal = { v <- sim_ricker(Gtr, a = 1.5, symmetric = TRUE)
              s <- log1p(exp(1.5 * attr(v, "u")^2)); s * exp(-s) })
add("sim_hyperbolic", "a Inf", sim_hyperbolic(Gtr, a = Inf), error = "`a` must be finite")
add("sim_hyperbolic", "a of length 2", sim_hyperbolic(Gtr, a = c(1, 2)),
    error = "`a` must be a single number")
add("sim_hyperbolic", "f(u) = s(a u) / (1 + s(a u))",
    { v <- sim_hyperbolic(Gtr, a = 2); attr(v, "fu") },
    equal = { v <- sim_hyperbolic(Gtr, a = 2); s <- log1p(exp(2 * attr(v, "u"))); s / (1 + s) })
add("sim_cosh", "f(u) = cosh(u)", { v <- sim_cosh(Gtr); attr(v, "fu") },
    equal = { v <- sim_cosh(Gtr); cosh(attr(v, "u")) })
add("sim_cosh", "h2 negative", sim_cosh(Gtr, h2 = -0.1), error = "`h2` must be >= 0")
add("simulate_phenotype", "model unknown", simulate_phenotype(Gtr, "quadratic"),
    error = "`model` must be one of \"linear\"")
add("simulate_phenotype", "model a number", simulate_phenotype(Gtr, 2),
    error = "`model` must be one of")
add("simulate_phenotype", "an argument of another generator",
    simulate_phenotype(Gtr, "linear", a = 2),
    error = "unused argument \\(a = 2\\)")
for (mo in c("linear", "hyperbolic", "power", "cosh", "ricker")) eval(bquote(
  add("simulate_phenotype", .(sprintf("model \"%s\": the generator's draw", mo)),
      as.numeric(simulate_phenotype(Gtr, model = .(mo), h2 = 0.4)),
      equal = as.numeric(.(as.name(paste0("sim_", mo)))(Gtr, h2 = 0.4)))))

# ---- ntk_cv and its methods --------------------------------------------------------

add("ntk_cv", "GBLUP of a fold = ntk_lmm on the kernel of all individuals",
    unname(fcv$predictions$pred[fcv$predictions$fold == 1]),
    equal = { Ka <- grm(G); tr <- which(rep(1:2, length.out = 25) == 2)
              te <- which(rep(1:2, length.out = 25) == 1)
              unname(predict(ntk_lmm(yall[tr], Ka[tr, tr]), K_new = Ka[te, tr])) })
add("ntk_cv", "genotypes character", ntk_cv(matrix("0", 10, 3), rnorm(10)),
    error = "`genotypes` must be numeric")
add("ntk_cv", "genotypes transposed", ntk_cv(t(G), yall),
    error = "`genotypes` has 12 rows but `y` has 25 values.*transposed")
add("ntk_cv", "y of the wrong length", ntk_cv(G, yall[-1]),
    error = "`y` must have length 25 \\(24 given\\)")
add("ntk_cv", "y with fewer than 6 observed values", ntk_cv(G, c(yall[1:5], rep(NA, 20))),
    error = "`y` has fewer than 6 observed values")
add("ntk_cv", "y with Inf", ntk_cv(G, replace(yall, 1, Inf)),
    error = "`y` contains infinite values")
add("ntk_cv", "X with the wrong number of rows", ntk_cv(G, yall, X = 1:3),
    error = "`X` must have 25 rows")
add("ntk_cv", "methods unknown", ntk_cv(G, yall, methods = "svm"),
    error = "`methods` must be a subset of")
add("ntk_cv", "methods empty", ntk_cv(G, yall, methods = character(0)),
    error = "`methods` must be a subset of")
add("ntk_cv", "depth 0", ntk_cv(G, yall, methods = "ntk_lmm", depth = 0),
    error = "`depth` must be >= 1")
add("ntk_cv", "depth NA", ntk_cv(G, yall, methods = "ntk_lmm", depth = c(1, NA)),
    error = "`depth` must not be NA")
add("ntk_cv", "foldid of the wrong length", ntk_cv(G, yall, foldid = 1:3),
    error = "`foldid` must have length 25")
add("ntk_cv", "foldid with one fold", ntk_cv(G, yall, foldid = rep(1, 25)),
    error = "`foldid` must define at least 2 folds")
add("ntk_cv", "foldid NA where y is observed", ntk_cv(G, yall, foldid = c(NA, rep(1:2, 12))),
    error = "`foldid` must not be NA where `y` is observed")
add("ntk_cv", "nfolds 1", ntk_cv(G, yall, nfolds = 1), error = "`nfolds` must be >= 2")
add("ntk_cv", "nfolds above the observed", ntk_cv(G, yall, nfolds = 26),
    error = "`nfolds` must be <= 25")
add("ntk_cv", "reps 0", ntk_cv(G, yall, reps = 0), error = "`reps` must be >= 1")
add("ntk_cv", "kernels unknown", ntk_cv(G, yall, kernels = "some"),
    error = '`kernels` must be one of "all", "fold"')
add("ntk_cv", "lmm_args not a list", ntk_cv(G, yall, lmm_args = "reml"),
    error = "`lmm_args` must be a list")
add("ntk_cv", "lmm_args unnamed", ntk_cv(G, yall, lmm_args = list("reml")),
    error = "`lmm_args` must be a named list")
add("ntk_cv", "lmm_args with an unknown element", ntk_cv(G, yall, lmm_args = list(meth = "reml")),
    error = "`lmm_args` has unknown element\\(s\\): meth")
add("ntk_cv", "krr_args setting K", ntk_cv(G, yall, krr_args = list(K = 1)),
    error = "`krr_args` must not set K")
add("ntk_cv", "mlp_args setting y", ntk_cv(G, yall, mlp_args = list(y = 1)),
    error = "`mlp_args` must not set y")
add("ntk_cv", "kare_args with an unknown element", ntk_cv(G, yall, kare_args = list(stepz = 1)),
    error = "`kare_args` has unknown element\\(s\\): stepz")
add("ntk_cv", "lmm_args with a bad method",
    ntk_cv(G, yall, methods = "gblup", nfolds = 2, lmm_args = list(method = "ml"),
           progress = FALSE),
    error = "`method` must be one of")
add("ntk_cv", "threads 0", ntk_cv(G, yall, threads = 0), error = "`threads` must be >= 1")
add("ntk_cv", "progress NA", ntk_cv(G, yall, progress = NA),
    error = "`progress` must be TRUE or FALSE")
add("ntk_cv", "a PLINK prefix that does not exist", ntk_cv(file.path(tempdir(), "nothing"), yall),
    error = "`prefix` names a PLINK fileset whose file")
add("summary.ntk_cv", "cor: the mean of the folds' correlations", summary(fcv)$cor,
    equal = mean(fcv$results$cor))
add("print.ntk_cv", "shows the folds", print(fcv), output = "2 given folds")
add("plot.ntk_cv", "graphical arguments passed on; the result invisibly",
    withVisible(plot(fcv, main = "x"))$visible,
    equal = FALSE)

# ---- ntk_kare, kare_kernel and the methods -----------------------------------------

add("ntk_kare", "steps = 0: the untrained kernel is ntk_kernel's", strip(kare_kernel(fka0)),
    equal = strip(ntk_kernel(Gtr, depth = 1)))
add("ntk_kare", "KARE at the start = ntk_krr's KARE (GLS offset, lambda = n z)",
    unname(fka0$kare_start),
    equal = kare_dense(n * 0.1, y, strip(ntk_kernel(Gtr, depth = 1))))
add("ntk_kare", "X character", ntk_kare(matrix("a", 5, 2), 1:5), error = "`X` must be numeric")
add("ntk_kare", "X with two rows", ntk_kare(Gtr[1:2, ], y[1:2]),
    error = "`X` must have at least 3 rows")
add("ntk_kare", "y of the wrong length", ntk_kare(Gtr, y[-1]), error = "`y` must have length 20")
add("ntk_kare", "y with NA", ntk_kare(Gtr, replace(y, 1, NA)),
    error = "`y` contains missing values")
add("ntk_kare", "y constant", ntk_kare(Gtr, rep(1, n), steps = 0), error = "`y` is constant")
add("ntk_kare", "depth 0", ntk_kare(Gtr, y, depth = 0),
    error = "`depth` must be whole numbers between 1 and 100")
add("ntk_kare", "depth 101", ntk_kare(Gtr, y, depth = 101),
    error = "`depth` must be whole numbers between 1 and 100")
add("ntk_kare", "map unknown", ntk_kare(Gtr, y, map = "pca"),
    error = "`map` must be \"scale\", \"projection\" or both")
add("ntk_kare", "rank 0 for a projection", ntk_kare(Gtr, y, map = "projection", rank = 0),
    error = "`rank` must be whole numbers between 1 and the number of SNPs kept \\(12\\)")
add("ntk_kare", "rank above the SNPs", ntk_kare(Gtr, y, map = "projection", rank = 13),
    error = "`rank` must be whole numbers")
add("ntk_kare", "z 0", ntk_kare(Gtr, y, z = 0), error = "`z` must be > 0")
add("ntk_kare", "optimizer unknown", ntk_kare(Gtr, y, optimizer = "lbfgs"),
    error = '`optimizer` must be one of "adam", "sgd"')
add("ntk_kare", "lr -1", ntk_kare(Gtr, y, lr = -1), error = "`lr` must be > 0")
add("ntk_kare", "steps -1", ntk_kare(Gtr, y, steps = -1), error = "`steps` must be >= 0")
add("ntk_kare", "penalty negative", ntk_kare(Gtr, y, penalty = -1),
    error = "`penalty` must be >= 0")
add("ntk_kare", "penalty_type unknown", ntk_kare(Gtr, y, penalty_type = "l3"),
    error = "`penalty_type` must be one of")
add("ntk_kare", "penalty_type \"l2_log\" with a projection",
    ntk_kare(Gtr, y, map = "projection", penalty_type = "l2_log"),
    error = "`penalty_type` \"l2_log\" .* needs `map = \"scale\"`")
add("ntk_kare", "sigma_w 0", ntk_kare(Gtr, y, sigma_w = 0), error = "`sigma_w` must be > 0")
add("ntk_kare", "sigma_b negative", ntk_kare(Gtr, y, sigma_b = -1),
    error = "`sigma_b` must be finite numbers >= 0")
add("ntk_kare", "width 0", ntk_kare(Gtr, y, width = 0), error = "`width` must be >= 1")
add("ntk_kare", "batch 2", ntk_kare(Gtr, y, batch = 2), error = "`batch` must be >= 3")
add("ntk_kare", "validation 0.5", ntk_kare(Gtr, y, validation = 0.5),
    error = "`validation` must be < 0.5")
add("ntk_kare", "covariates collinear with the intercept", ntk_kare(Gtr, y, covariates = rep(1, n)),
    error = "`covariates` are collinear")
add("ntk_kare", "covariates with the wrong number of rows", ntk_kare(Gtr, y, covariates = 1:3),
    error = "`covariates` must have 20 rows, one per individual of `X`")
add("ntk_kare", "standardize NA", ntk_kare(Gtr, y, standardize = NA),
    error = "`standardize` must be TRUE or FALSE")
add("ntk_kare", "verbose NA", ntk_kare(Gtr, y, verbose = NA),
    error = "`verbose` must be TRUE or FALSE")
add("ntk_kare", "threads 0", ntk_kare(Gtr, y, threads = 0), error = "`threads` must be >= 1")
add("ntk_kare", "optimizer \"sgd\", two steps: KARE does not increase",
    { f <- ntk_kare(Gtr, y, depth = 1, steps = 2, optimizer = "sgd", lr = 0.01)
      f$kare[[1]] <= f$kare_start[[1]] },
    equal = TRUE)
add("ntk_kare", "map \"projection\", steps = 0: the kernel of X P / sqrt(rank)",
    { f <- ntk_kare(Gtr, y, depth = 1, map = "projection", rank = 3, steps = 0)
      strip(kare_kernel(f)) },
    equal = { f <- ntk_kare(Gtr, y, depth = 1, map = "projection", rank = 3, steps = 0)
              Xp <- scale(Gtr) %*% f$projection; strip(ntk_dense(Xp, Xp, 1)) })
add("kare_kernel", "newdata, steps = 0: ntk_kernel's test-by-train block",
    strip(kare_kernel(fka0, newdata = Gte)),
    equal = strip(ntk_kernel(Gtr, Z = Gte, depth = 1)))
add("kare_kernel", "object not a KARE fit", kare_kernel(K),
    error = "`object` must be an object made by ntk_kare")
add("kare_kernel", "newdata of another width", kare_kernel(fka, newdata = Gte[, 1:4]),
    error = "`newdata` must have the 12 columns")
add("kare_kernel", "newdata a vector", kare_kernel(fka, newdata = 1:12),
    error = "`newdata` must be a numeric matrix or data frame")
add("kare_kernel", "threads 0", kare_kernel(fka, threads = 0), error = "`threads` must be >= 1")
add("print.ntk_kare", "shows the chosen depth", print(fka), output = "Chosen depth 1")
add("print.ntk_kare", "digits a string", print(fka, digits = "3"),
    error = "`digits` must be a number")
add("plot.ntk_kare", "which 3", plot(fka, which = 3), error = "`which` must be 1, 2 or both")
add("plot.ntk_kare", "which a string", plot(fka, which = "relevance"),
    error = "`which` must be 1, 2 or both")
add("plot.ntk_kare", "returns the object invisibly", withVisible(plot(fka, which = 2))$visible,
    equal = FALSE)

# ---- ntk_study and its methods -----------------------------------------------------

study <- function(...) {      # a study of 50 replicates that must be refused before the first
  a <- list(...)
  d <- list(n = 30, p = 5, reps = 50, methods = "gblup", threads = 1, progress = FALSE)
  d[names(a)] <- a
  do.call(ntk_study, d)
}
add("ntk_study", "lmm_args = list(method = \"ml\"): refused before the first replicate",
    study(methods = "ntk_lmm", lmm_args = list(method = "ml")),
    error = "`lmm_args` is not usable for ntk_lmm: `method`")
add("ntk_study", "krr_args = list(nfolds = 100): refused before the first replicate",
    study(methods = "ntk_krr", krr_args = list(nfolds = 100)),
    error = "`krr_args` is not usable for ntk_krr: `nfolds`")
add("ntk_study", "mlp_args = list(lr = -1): refused before the first replicate",
    study(methods = "mlp", mlp_args = list(lr = -1)),
    error = "`mlp_args` is not usable for mlp: `lr`")
add("ntk_study", "kare_args = list(z = 0): refused before the first replicate",
    study(methods = "ntk_kare", kare_args = list(z = 0)),
    error = "`kare_args` is not usable for ntk_kare: `z`")
add("ntk_study", "kernel_args = list(sigma_w = -1): refused before the first replicate",
    study(methods = "ntk_lmm", kernel_args = list(sigma_w = -1)),
    error = "`kernel_args` is not usable: `sigma_w`")
add("ntk_study", "kernel_args setting depth", study(kernel_args = list(depth = 3)),
    error = "`kernel_args` must not set depth \\(set by ntk_study\\(\\)\\)")
add("ntk_study", "genotype_args with an unknown element", study(genotype_args = list(freq = 0.2)),
    error = "`genotype_args` has unknown element\\(s\\): freq")
add("ntk_study", "lmm_args not a list", study(lmm_args = "reml"),
    error = "`lmm_args` must be a list")
add("ntk_study", "model unknown", study(model = "quadratic"), error = "`model` must be one of")
add("ntk_study", "n 5", study(n = 5), error = "`n` must be >= 10")
add("ntk_study", "p 0", ntk_study(n = 30, p = 0, reps = 1, progress = FALSE),
    error = "`p` must be a vector of positive whole numbers")
add("ntk_study", "p duplicated", ntk_study(n = 30, p = c(5, 5), reps = 1, progress = FALSE),
    error = "`p` must not contain duplicates")
add("ntk_study", "reps 0", study(reps = 0), error = "`reps` must be >= 1")
add("ntk_study", "reps 1e8", study(reps = 1e8), error = "`reps` must be <= 1e\\+07")
add("ntk_study", "h2 2", study(h2 = 2), error = "`h2` must be <= 1")
add("ntk_study", "methods unknown", study(methods = "svm"),
    error = "`methods` must be a non-empty subset of")
add("ntk_study", "methods duplicated", study(methods = c("gblup", "gblup")),
    error = "`methods` must not contain duplicates")
add("ntk_study", "train 1", study(train = 1), error = "`train` must be < 1")
add("ntk_study", "train leaving too few test individuals", study(train = 0.95),
    error = "`train` leaves too few")
add("ntk_study", "seed a string", study(seed = "a"), error = "`seed` must be a number")
add("ntk_study", "progress NA", ntk_study(n = 30, p = 5, reps = 1, progress = NA),
    error = "`progress` must be TRUE or FALSE")
add("ntk_study", "threads 0", study(threads = 0), error = "`threads` must be >= 1")
add("ntk_study", "depth 0", study(depth = 0), error = "`depth` must contain whole numbers >= 1")
add("ntk_study", "depth of the wrong length",
    ntk_study(n = 30, p = c(5, 6), reps = 1, depth = 1:3, progress = FALSE),
    error = "`depth` must be NULL, one number or one number per value of `p` \\(2\\)")
add("ntk_study", "width 1.5", study(width = 1.5),
    error = "`width` must contain whole numbers >= 1 or Inf")
add("ntk_study", "genotypes with fewer SNPs than p", study(genotypes = G, p = 20),
    error = "`p` must not exceed the number of columns of `genotypes` \\(12\\)")
add("ntk_study", "genotypes with NA", study(genotypes = replace(G, 1, NA)),
    error = "`genotypes` contains missing values")
add("ntk_study", "an unnamed argument in ...",
    ntk_study("ricker", 30, 5, 50, 0.5, "gblup", NULL, NULL, NULL, 0.8, NULL, 2, progress = FALSE),
    error = "all arguments in `...` must be named")
add("ntk_study", "an argument of another generator in ...", study(model = "linear", a = 2),
    error = "unknown argument\\(s\\) in `...` for the \"linear\" generator: a")
add("ntk_study", "a replicate recomputed by hand (GBLUP)",
    { s <- ntk_study(n = 30, p = 5, reps = 1, h2 = 0.9, methods = "gblup", seed = 2, threads = 1,
                     progress = FALSE)
      s$cor },
    equal = { s <- ntk_study(n = 30, p = 5, reps = 1, h2 = 0.9, methods = "gblup", seed = 2,
                             threads = 1, progress = FALSE)
              cfg <- list(n = 30L, ntrain = 24L, model = "ricker", h2 = 0.9, genotypes = NULL,
                          genotype_args = list(), sim_args = list())
              d <- ntkgen:::study_data(attr(s, "seeds")[[1]], 5L, cfg)
              Kt <- grm(d$G[d$train, ]); f <- ntk_lmm(d$y[d$train], Kt)
              cor(predict(f, K_new = ntk_kernel_like(Kt, d$G[d$test, ])), d$y[d$test]) })
add("summary.ntk_study", "cor_median: the median over replicates", summary(st)$cor_median,
    equal = unname(vapply(c("ntk_krr", "gblup"), function(mm) median(st$cor[st$method == mm]), 0)),
    tolerance = 1e-12)
add("print.ntk_study", "the methods x SNPs table", print(st),
    output = "Median test correlation \\(methods x SNPs\\)")
add("print.ntk_study", "digits a string", print(st, digits = "a"),
    error = "`digits` must be a number")
add("print.summary.ntk_study", "one row per method", print(summary(st)), output = "gblup")
add("print.summary.ntk_study", "digits -1", print(summary(st), digits = -1),
    error = "`digits` must be >= 0")
add("plot.ntk_study", "type unknown", plot(st, type = "box"),
    error = '`type` must be one of "both", "cor", "time"')
add("plot.ntk_study", "too few colours", plot(st, col = "red"),
    error = "`col` must give one colour per method \\(2\\)")
add("plot.ntk_study", "type \"time\": the result invisibly",
    withVisible(plot(st, type = "time"))$visible,
    equal = FALSE)

# ---- PLINK filesets ----------------------------------------------------------------

add("write_plink", "round trip through read_plink", unname(read_plink(pf)$genotypes),
    equal = unname(Gna))
add("write_plink", "prefix empty", write_plink("", G),
    error = "`prefix` must be a single file path")
add("write_plink", "prefix a number", write_plink(3, G),
    error = "`prefix` must be a single file path")
add("write_plink", "genotypes with a 3", write_plink(tempfile(), replace(G, 5, 3)),
    error = "`genotypes` must contain only 0, 1, 2 and NA \\(3 at row 5, column 1\\)")
add("write_plink", "genotypes with NaN", write_plink(tempfile(), replace(G, 5, NaN)),
    error = "`genotypes` contains NaN")
add("write_plink", "genotypes a vector", write_plink(tempfile(), 0:2),
    error = "`genotypes` must be a matrix, not a vector")
add("write_plink", "bim with 5 columns",
    write_plink(tempfile(), G, bim = data.frame(1:12, 1, 1, 1, 1)),
    error = "`bim` must be a data frame of 6 columns")
add("write_plink", "bim with the wrong number of rows",
    write_plink(tempfile(), G, bim = data.frame("1", paste0("s", 1:3), 0, 1:3, "A", "G")),
    error = "`bim` must have 12 rows, one per SNP")
add("write_plink", "bim with a duplicated SNP ID",
    write_plink(tempfile(), G, bim = data.frame("1", rep("s", 12), 0, 1:12, "A", "G")),
    error = "`bim` has a duplicated SNP ID: \"s\"")
add("write_plink", "bim with a space in a SNP ID",
    write_plink(tempfile(), G, bim = data.frame("1", paste("s", 1:12), 0, 1:12, "A", "G")),
    error = "`bim` column 2 must have non-empty values without spaces")
add("write_plink", "fam with a duplicated individual",
    write_plink(tempfile(), G, fam = data.frame("f", rep("a", 25), 0, 0, 0, -9)),
    error = "`fam` has a duplicated \\(FID, IID\\) pair")
add("plink_open", "prefix a number", plink_open(3),
    error = "`prefix` must be the prefix of a PLINK fileset")
add("plink_open", "prefix NA", plink_open(NA_character_),
    error = "`prefix` must be the prefix of a PLINK fileset")
add("plink_open", "a missing .fam",
    { f <- tempfile(); write_plink(f, G); file.remove(paste0(f, ".fam")); plink_open(f) },
    error = "`prefix` names a PLINK fileset whose file .*\\.fam' does not exist")
add("plink_open", "a truncated .bed", { f <- tempfile(); write_plink(f, G); b <- paste0(f, ".bed")
                                        writeBin(readBin(b, "raw", 20), b); plink_open(f) },
    error = "has 20 bytes, but 12 SNPs .* the .bed is truncated")
add("plink_open", "a .bim line with 5 fields",
    { f <- tempfile(); write_plink(f, G); writeLines("1 s 0 1 A", paste0(f, ".bim"))
      plink_open(f) },
    error = "\\.bim file .*line 1: 5 fields, expected 6")
add("plink_open", "snps out of range", plink_open(pf, snps = c(1, 13)),
    error = "`snps` must hold indices between 1 and 12")
add("plink_open", "snps unknown ID", plink_open(pf, snps = "rs1"),
    error = "`snps` names SNP not in the fileset: \"rs1\"")
add("plink_open", "snps twice", plink_open(pf, snps = c(2, 2)),
    error = "`snps` selects a SNP twice")
add("plink_open", "snps mask of the wrong length", plink_open(pf, snps = c(TRUE, FALSE)),
    error = "`snps` as a logical vector must have length 12")
add("plink_open", "snps a list", plink_open(pf, snps = list(1)),
    error = "`snps` must be indices, a logical vector or names")
add("plink_open", "individuals selecting none", plink_open(pf, individuals = rep(FALSE, 25)),
    error = "`individuals` selects no individual")
add("plink_open", "individuals unknown name", plink_open(pf, individuals = "nobody"),
    error = "`individuals` names individual not in the fileset")
add("plink_open", "the selection's dimensions",
    unlist(plink_open(pf, snps = 2:4, individuals = c("i3", "i1"))[c("n", "p")]),
    equal = c(n = 2, p = 3))
add("print.ntk_plink", "shows the selection", print(plink_open(pf, snps = 1:4)),
    output = "25 individuals x 4 SNPs \\(selected from 25 x 12\\)")
add("read_plink", "a selection by name, in the given order",
    read_plink(pf, snps = c("snp3", "snp1"), individuals = c("i5", "i2"))$genotypes,
    equal = Gna[c("i5", "i2"), c("snp3", "snp1")])
add("read_plink", "threads 0", read_plink(pf, threads = 0), error = "`threads` must be >= 1")
add("read_plink", "prefix a matrix", read_plink(G),
    error = "`prefix` must be the prefix of a PLINK fileset")
add("plink_qc", "missing rates and minor allele frequencies, in R",
    { q <- plink_qc(pf, maf = 0, geno = 1, mind = 1, hwe = 0)$qc$snps; c(q$missing, q$maf) },
    equal = unname(c(colMeans(is.na(Gna)), { f1 <- colMeans(Gna, na.rm = TRUE) / 2
                                             pmin(f1, 1 - f1) })))
add("plink_qc", "maf 0.6", plink_qc(pf, maf = 0.6), error = "`maf` must be <= 0.5")
add("plink_qc", "geno negative", plink_qc(pf, geno = -1), error = "`geno` must be >= 0")
add("plink_qc", "mind 2", plink_qc(pf, mind = 2), error = "`mind` must be <= 1")
add("plink_qc", "hwe NA", plink_qc(pf, hwe = NA), error = "`hwe` must not be NA")
add("plink_qc", "mind removing every individual",
    { f <- tempfile(); Gm <- G; Gm[, 1] <- NA; write_plink(f, Gm); plink_qc(f, mind = 0) },
    error = "`mind` removes every individual")
add("plink_qc", "every SNP removed", plink_qc(pf, maf = 0.5),
    error = "`x` has no SNP left after quality control")
add("plink_qc", "x a number", plink_qc(1), error = "`x` must be the prefix of a PLINK fileset")
add("print.ntk_plink_qc", "shows the counts",
    print(plink_qc(pf, maf = 0, geno = 1, mind = 1, hwe = 0)$qc),
    output = "SNPs: 12 of 12 kept, 0 removed")
add("read_pheno", "a file in another order, matched by (FID, IID)", unname(read_pheno(ph, phf)),
    equal = yall, tolerance = 1e-12)
add("read_pheno", "from the .fam: -9 is missing", unname(read_pheno(ph)), equal = rep(NA_real_, 25))
add("read_pheno", "x a data frame of one column", read_pheno(data.frame(a = 1)),
    error = "`x` must have FID and IID")
add("read_pheno", "x a number", read_pheno(5), error = "`x` must be the prefix of a PLINK fileset")
add("read_pheno", "file NA", read_pheno(ph, file = NA_character_),
    error = "`file` must be a single file path")
add("read_pheno", "columns not in the file", read_pheno(ph, phf, columns = "height"),
    error = "`columns` names a column not in .*\"height\"")
add("read_pheno", "columns a number", read_pheno(ph, phf, columns = 1),
    error = "`columns` must be column names of the file")
add("read_pheno", "a file without the FID IID header",
    { f <- tempfile(); writeLines(c("a b c", "1 2 3"), f); read_pheno(ph, f) },
    error = "the header line must start with FID IID")
add("read_pheno", "a file matching no individual",
    { f <- tempfile(); writeLines(c("FID IID t", "x y 1"), f); read_pheno(ph, f) },
    error = "none of its 1 individuals matches")
add("read_pheno", "a file with a duplicated individual",
    { f <- tempfile(); writeLines(c("FID IID t", "i1 i1 1", "i1 i1 2"), f); read_pheno(ph, f) },
    error = "line 3: duplicated individual i1 i1")
add("read_pheno", "a line with a missing field",
    { f <- tempfile(); writeLines(c("FID IID t", "i1 i1"), f); read_pheno(ph, f) },
    error = "line 2: 2 fields, expected 3")
add("grm", "a PLINK prefix: the kernel of the genotypes read", suppressMessages(strip(grm(pf))),
    equal = suppressMessages(strip(grm(read_plink(pf)$genotypes))))
add("ntk_kernel", "a PLINK prefix with device \"cuda\"", ntk_kernel(pf, device = "cuda"),
    error = "`device` is \"cuda\", but kernels of PLINK files are streamed")
add("ntk_kernel", "a PLINK prefix, Z with other SNPs",
    suppressMessages(ntk_kernel(pf, Z = Gte[, 1:5])),
    error = "`Z`")

# ---- every value of the choice arguments -------------------------------------------

add("ntk_kernel", "normalize = \"none\": the unnormalised kernel",
    strip(ntk_kernel(Gtr, normalize = "none")),
    equal = strip(K))
add("ntk_kernel", "device = \"cpu\": the kernel", strip(ntk_kernel(Gtr, device = "cpu")),
    equal = strip(K),
    tolerance = 1e-10)
add("ntk_kernel", "device = \"auto\": the kernel",
    suppressMessages(strip(ntk_kernel(Gtr, device = "auto"))),
    equal = strip(K), tolerance = 1e-10)
add("ntk_kernel", "width = Inf: the analytic kernel, kind \"analytic\"",
    attr(ntk_kernel(Gtr, width = Inf), "ntk")$kind,
    equal = "analytic")
add("ntk_kernel", "width = 8: kind \"empirical\"", attr(ntk_kernel(Gtr, width = 8), "ntk")$kind,
    equal = "empirical")
add("grm", "normalize = \"unit\": unit diagonal", unname(diag(grm(Gtr, normalize = "unit"))),
    equal = rep(1, n))
add("grm", "normalize = \"paper\": diagonal 1 / p", unname(diag(grm(Gtr, normalize = "paper"))),
    equal = rep(1 / 12, n))
add("grm", "normalize = \"none\": kind \"grm\"", attr(grm(Gtr, normalize = "none"), "ntk")$kind,
    equal = "grm")
add("ntk_spectral", "method = \"tridiag\" and \"eigen\": the same eigenvalues",
    ntk_spectral(K, method = "tridiag")$values, equal = ntk_spectral(K, method = "eigen")$values)
add("ntk_krr.default", "criterion = \"cv\", drawn folds: the mean squared error of refits per fold",
    { f <- ntk_krr(y, K, criterion = "cv", nfolds = 4, nlambda = 5); f$cvm },
    equal = { f <- ntk_krr(y, K, criterion = "cv", nfolds = 4, nlambda = 5)
              vapply(f$lambda, cv_dense, 0, y = y, K = Kp, fold = f$foldid) })
add("ntk_krr.default", "offset = \"ols\" with a covariate: beta by least squares",
    unname(ntk_krr(y, K, X = x, criterion = "loo", offset = "ols")$beta[, 1]),
    equal = unname(qr.solve(cbind(1, x), y)))
add("predict.ntk_krr", "s = \"lambda.1se\": the dense fit at lambda.1se",
    unname(predict(fk, K_new = Ks, s = "lambda.1se")),
    equal = drop(strip(Ks) %*% solve(Kp + fk$lambda.1se * I, y - mean(y))) + mean(y))
add("predict.ntk_krr", "s = \"lambda.min\": the dense fit at lambda.min",
    unname(predict(fk, K_new = Ks, s = "lambda.min")),
    equal = drop(strip(Ks) %*% solve(Kp + fk$lambda.min * I, y - mean(y))) + mean(y))
for (pt in c("l1", "l2", "l2_log")) eval(bquote(
  add("ntk_kare", .(sprintf("penalty_type = \"%s\": objective = KARE + penalty R(s)", pt)),
      { f <- ntk_kare(Gtr, y, depth = 1, steps = 1, penalty = 0.5, penalty_type = .(pt))
        f$trace$objective[2] - f$trace$kare[2] },
      equal = { f <- ntk_kare(Gtr, y, depth = 1, steps = 1, penalty = 0.5, penalty_type = .(pt))
                sc <- f$scales
                0.5 * mean(switch(.(pt), l1 = sc, l2 = sc^2, l2_log = log(sc)^2)) })))
add("ntk_kare", "optimizer = \"adam\", map = \"scale\": KARE does not increase",
    { f <- ntk_kare(Gtr, y, depth = 1, steps = 3, optimizer = "adam", map = "scale")
      f$kare[[1]] <= f$kare_start[[1]] },
    equal = TRUE)
add("ntk_cv", "methods = \"rkhs\": ntk_lmm on the Gaussian kernel of all individuals",
    { v <- ntk_cv(G, yall, methods = "rkhs", foldid = rep(1:2, length.out = 25), progress = FALSE)
      v$predictions$pred[v$predictions$fold == 1] },
    equal = { L <- tcrossprod(scale(G)) / 12; D2 <- pmax(outer(diag(L), diag(L), "+") - 2 * L, 0)
              Kr <- exp(-D2 / median(D2[upper.tri(D2)])); f <- rep(1:2, length.out = 25)
              fit <- ntk_lmm(yall[f == 2], Kr[f == 2, f == 2])
              unname(predict(fit, K_new = Kr[f == 1, f == 2])) })
add("ntk_cv", "kernels = \"fold\": GBLUP from the training individuals' kernel",
    { v <- ntk_cv(G, yall, methods = "gblup", kernels = "fold", foldid = rep(1:2, length.out = 25),
                  progress = FALSE)
      v$predictions$pred[v$predictions$fold == 1] },
    equal = { f <- rep(1:2, length.out = 25); Kt <- grm(G[f == 2, ])
              unname(predict(ntk_lmm(yall[f == 2], Kt), K_new = ntk_kernel_like(Kt, G[f == 1, ])))
            })
add("ntk_cv", "kernels = \"all\", methods = \"ntk_lmm\": the NTK of all individuals indexed",
    { v <- ntk_cv(G, yall, methods = "ntk_lmm", kernels = "all", depth = 2,
                  foldid = rep(1:2, length.out = 25), progress = FALSE)
      v$predictions$pred[v$predictions$fold == 2] },
    equal = { f <- rep(1:2, length.out = 25); Ka <- ntk_kernel(G, depth = 2)
              fit <- ntk_lmm(yall[f == 1], Ka[f == 1, f == 1])
              unname(predict(fit, K_new = Ka[f == 2, f == 1])) })
add("ntk_cv", "methods = \"ntk_krr\" with krr_args = list(nfolds = 100)",
    ntk_cv(G, yall, methods = "ntk_krr", nfolds = 2, krr_args = list(nfolds = 100),
           progress = FALSE),
    error = "`nfolds` must be <=")
add("ntk_cv", "methods = \"mlp\" with mlp_args = list(lr = -1)",
    ntk_cv(G, yall, methods = "mlp", nfolds = 2, mlp_args = list(lr = -1), progress = FALSE),
    error = "`lr` must be > 0")
add("ntk_cv", "methods = \"ntk_kare\" with kare_args = list(z = 0)",
    ntk_cv(G, yall, methods = "ntk_kare", nfolds = 2, kare_args = list(z = 0), progress = FALSE),
    error = "`z` must be > 0")
add("ntk_study", "methods = \"gblup\": cor in [-1, 1], mse and seconds positive",
    with(st[st$method == "gblup", ], c(all(abs(cor) <= 1), all(mse > 0), all(seconds >= 0))),
    equal = rep(TRUE, 3))
add("ntk_study", "model = \"cosh\" with an argument of the ricker generator",
    study(model = "cosh", a = 2),
    error = "unknown argument\\(s\\) in `...` for the \"cosh\" generator: a")
for (ty in c("both", "cor")) eval(bquote(
  add("plot.ntk_study", .(sprintf("type = \"%s\": the result invisibly", ty)),
      withVisible(plot(st, type = .(ty)))$visible, equal = FALSE)))

# ---- build information -------------------------------------------------------------

add("ntkgen_has_openmp", "a single TRUE or FALSE",
    { v <- ntkgen_has_openmp(); isTRUE(v) || isFALSE(v) },
    equal = TRUE)
add("ntkgen_has_cuda", "a single TRUE or FALSE",
    { v <- ntkgen_has_cuda(); isTRUE(v) || isFALSE(v) },
    equal = TRUE)
add("ntkgen_has_cuda", "device = TRUE implies the build has CUDA",
    !ntkgen_has_cuda(device = TRUE) || ntkgen_has_cuda(),
    equal = TRUE)
add("ntkgen_has_cuda", "device a string", ntkgen_has_cuda(device = "yes"),
    error = "`device` must be TRUE or FALSE")
add("ntkgen_has_cuda", "device NA", ntkgen_has_cuda(device = NA),
    error = "`device` must be TRUE or FALSE")

# ---- run the catalogue -------------------------------------------------------------

for (e in catalogue) test_that(paste0(e$export, ": ", e$label), {
  run_entry(e)
})

# ---- the catalogue is complete -----------------------------------------------------

test_that("the catalogue covers every export and every registered S3 method", {
  s3 <- getNamespaceInfo(asNamespace("ntkgen"), "S3methods")
  api <- c(getNamespaceExports("ntkgen"), paste(s3[, 1], s3[, 2], sep = "."))
  covered <- unique(vapply(catalogue, `[[`, "", "export"))
  expect_identical(setdiff(api, covered), character(0))
  expect_identical(setdiff(covered, api), character(0))      # no misspelt export
})

test_that("every value of every choice argument is named by some entry", {
  text <- vapply(catalogue, function(e) paste(e$export, paste(deparse(e$expr), collapse = " ")), "")
  choices <- list(
    c("ntk_lmm", "method", "minque1", "minque0", "iminque", "reml"),
    c("ntk_krr", "criterion", "cv", "kare", "gcv", "loo"),
    c("ntk_krr", "offset", "ols", "gls"),
    c("predict.ntk_krr", "s", "lambda.min", "lambda.1se"),
    c("ntk_kernel", "normalize", "none", "unit", "paper"),
    c("ntk_kernel", "device", "auto", "cpu", "cuda"),
    c("grm", "normalize", "none", "unit", "paper"),
    c("ntk_spectral", "method", "tridiag", "eigen"),
    c("ntk_kare", "optimizer", "adam", "sgd"),
    c("ntk_kare", "penalty_type", "l1", "l2", "l2_log"),
    c("ntk_kare", "map", "scale", "projection"),
    c("ntk_cv", "methods", "gblup", "ntk_lmm", "ntk_krr", "rkhs", "mlp", "ntk_kare"),
    c("ntk_cv", "kernels", "all", "fold"),
    c("ntk_study", "methods", "ntk_lmm", "ntk_krr", "gblup", "mlp", "ntk_kare"),
    c("simulate_phenotype", "model", "linear", "hyperbolic", "power", "cosh", "ricker"),
    c("coef.ntk_lmm", "which", "fixed", "varcomp", "h2"),
    c("vcov.ntk_lmm", "which", "fixed", "varcomp"),
    c("plot.ntk_study", "type", "both", "cor", "time"))
  missing <- character(0)
  for (ch in choices) {
    mine <- text[startsWith(text, ch[1])]
    for (v in ch[-(1:2)])
      if (!any(grepl(sprintf('%s = "%s"', ch[2], v), mine, fixed = TRUE)))
        missing <- c(missing, sprintf('%s(%s = "%s")', ch[1], ch[2], v))
  }
  expect_identical(missing, character(0))
})
