# Memory planned before it is spent: the one guard of every routine that allocates
# O(n^2) or more, and one estimator per routine of the peak it allocates beyond its inputs.
#
# Each estimator returns bytes, written from the allocations of the compiled code (the
# malloc()s of src/*.c, the LAPACK workspaces, the R vectors of the .Call glue and the
# result) and of the R code around it, counting what is resident at the worst moment.
# Memory that is reserved but never touched is not counted (dsyevd's fallback buffer for
# dsyevr in spectral.c; the basis vector of an eigen decomposition before it is written),
# since it costs no physical memory.  inst/bench/memory.R measures the peak resident
# memory of every routine in a fresh R process against these estimates (target: within
# 1.3 x).  Sizes are in doubles (x 8) unless said otherwise; every count is a double so
# that no product overflows the integer range.

# getOption("ntkgen.max_kernel_gb"), checked.
memory_limit_gb <- function() {
  v <- getOption("ntkgen.max_kernel_gb", 16)
  if (!is.numeric(v) || length(v) != 1L || is.na(v) || v < 0)
    stop_arg("options(ntkgen.max_kernel_gb)", "must be a single number >= 0 (GB).")
  as.numeric(v)
}

# The one guard: refuses, before anything is allocated, work whose estimated peak `bytes`
# exceeds the limit, with an error naming `arg`, the size, what it is for and the option
# to raise.  The last estimate is kept in ntk_state$memory_check (read by
# inst/bench/memory.R and the tests).
check_memory <- function(bytes, arg, what) {
  bytes <- as.numeric(bytes)
  ntk_state$memory_check <- list(bytes = bytes, arg = arg, what = what)
  lim <- memory_limit_gb()
  if (bytes > lim * 1024^3) {
    need <- bytes / 1024^3
    stop_arg(arg, "needs about ", format_gb(need), " GB of memory for ", what,
             ", more than the limit of ", format_gb(lim), " GB; raise it with ",
             "options(ntkgen.max_kernel_gb = ", format_gb(ceiling(need * 1.25)),
             ") if the machine has the memory.")
  }
  invisible(bytes)
}

format_gb <- function(x) format(signif(x, 3), scientific = x < 1e-3)

# Whether R copies x to double storage when it checks it (an integer or logical matrix,
# or a data frame): the copy is memory beyond the input.
needs_double_copy <- function(x) !(is.matrix(x) && is.double(x))

d8 <- function(...) 8 * sum(as.numeric(c(...)))

# ---- kernels (ntk_kernel(), grm(), ntk_kernel_like(), kare_kernel()) -------------------

# kernel_compute() -> C_ntk_kernel: the result K (nr x n, nr = m for a test-by-train
# kernel), the standardised copies of X and Z (prepare_genotypes; none without
# standardisation), the double copies of integer inputs (dropped by kernel_compute()
# before the kernel is allocated, so they count only when larger), and per kind: analytic, the
# per-point layer roots (2 L + 1) (n + m) (ntk_analytic_from_gram); empirical, the weights
# of one network (ntk_weights_length), the activations and back-signals of every layer
# (2 L (n + m) w) and two nr x 512 Gram blocks (empirical_core); the diagonal pass of a
# normalised test-by-train kernel reuses that space after it is freed.
mem_kernel <- function(n, m = 0, p, kind = "analytic", width = Inf, depth = 1L,
                       standardize = TRUE, convert = FALSE) {
  n <- as.numeric(n); m <- as.numeric(m); p <- as.numeric(p)
  nr <- if (m > 0) m else n
  b <- d8(max(nr * n, if (convert) (n + m) * p), if (standardize) (n + m) * p, 4 * (n + m))
  L <- if (kind == "grm") 0 else as.numeric(depth)
  if (kind == "analytic") b <- b + d8((2 * L + 1) * (n + m))
  if (kind == "empirical") {
    w <- as.numeric(width)
    b <- b + d8(mem_weights_length(p, w, L), 2 * L * (n + m) * w, 2 * nr * 512 + 3 * nr)
  }
  b
}

kernel_label <- function(kind) {
  switch(kind, grm = "genomic relationship matrix", analytic = "analytic NTK",
         empirical = "empirical NTK", kind)
}

# ntk_weights_length() of ntkgen.h: W1, b1, (W_l, b_l) for l = 2..L, v, c.
mem_weights_length <- function(p, w, L) {
  w * p + w + (L - 1) * (w * w + w) + w + 1
}

# ---- the spectral engine (ntk_spectral(), and inside ntk_lmm() / ntk_krr()) ------------

# C_spectral_build on n individuals with p columns projected out (m = n - p): the work
# copy A (n^2) of ntk_spectral_build and
# * "eigen": dsyevd's workspace 1 + 6 m + 2 m^2 (and 3 + 5 m ints) while A is held; the
#   basis (n m) is written after the workspace is freed (its reserved vector for the
#   dsyevr fallback, m^2, is never touched when dsyevd runs);
# * "tridiag": the stored reflectors (m^2, copied from A) and the band forms (33 m, three
#   copies) beside A.
# Plus the QR of the design (n p), kt and K12 (2 m p), k11 and the m-vectors.
mem_spectral <- function(n, p = 0, method = "tridiag") {
  n <- as.numeric(n); p <- as.numeric(p); m <- n - p
  small <- d8(n * p, 2 * m * p, p * p, 6 * m)
  if (method == "eigen") d8(n * n, max(2 * m * m + 6 * m + 2.5 * m, n * m)) + small
  else d8(n * n, m * m, 3 * 33 * m) + small
}

# ---- ntk_lmm() --------------------------------------------------------------------------

# One kernel: the tridiagonal decomposition of the kernel of the observed individuals
# (mem_spectral; with `groups` sets of traits of different missing values, the fits of the
# groups before keep theirs), the rest O(n t) (the BLUP products, t traits).  Several
# kernels (q):
# the subsets K_i[obs, obs] when some y are missing (q nobs^2); the garbage of
# lmm_check_identifiable() (its q projected kernels, 5 n x n temporaries each and the
# q (q + 1) / 2 elementwise products, of which R's collector has not reclaimed about 4.5
# nobs^2 when C_lmm_fit starts: measured 4-5 for q = 2, 3, every method, in
# inst/bench/memory.R); then C_lmm_fit: the rotated kernels (q n^2, each an n x n copy
# compacted to m x m), the Cholesky factor (m^2), the q + 1 transformed kernels B_i (m^2
# each) and, for the one-step MINQUEs, the sandwich's N and G_i ((q + 2) m^2).
mem_lmm <- function(n, nobs = n, q = 1L, p = 1L, method = "minque1", ntrait = 1L,
                    spectral = FALSE, groups = 1L) {
  n <- as.numeric(n); nobs <- as.numeric(nobs); q <- as.numeric(q); p <- as.numeric(p)
  m <- nobs - p
  rest <- d8(4 * n * ntrait, 3 * n * q)
  # traits with other missing values: their groups' fits keep their own decompositions
  if (q == 1) return((if (spectral) 0 else mem_spectral(nobs, p, "tridiag") +
                        d8((groups - 1) * m * m)) + rest)
  sub <- if (nobs < n) q * nobs^2 else 0
  ident <- 4.5 * nobs^2
  core <- q * nobs^2 + m^2 + (q + 1) * m^2 +
    (if (method %in% c("minque0", "minque1")) (q + 2) * m^2 else 0)
  d8(sub, ident, core) + rest
}

# ---- ntk_krr() ----------------------------------------------------------------------------

# Closed-form criteria ("kare", "gcv", "loo"): the eigen decomposition of the kernel of the
# observed individuals (mem_spectral "eigen"); LOO then holds the basis with the squared
# basis S, T = U * (U Y0 Y0') (offset "ols" only) and five n x nlam blocks
# (ntk_loo_eigen).
# Cross-validation: the fit's tridiagonal decomposition over the observed individuals
# (the design projected out for offset "gls"; unless `spectral` is given), which stays
# held while each fold builds its own (the work copy and the reflectors of the largest
# training set, 2 ntr^2), gathers the test-by-train block (nv ntr) and keeps the held-out
# predictions (n x nlam per trait, C_krr_cv).  Several traits cross-validate first and
# build the decomposition after; with `groups` sets of traits of different missing values
# the fits of the groups before keep their decompositions.
mem_krr <- function(n, nobs = n, criterion = "cv", nlambda = 41L, ntrain = NULL, q = 1L,
                    gls = FALSE, ntrait = 1L, spectral = FALSE, groups = 1L) {
  n <- as.numeric(n); nobs <- as.numeric(nobs); nlam <- as.numeric(nlambda)
  q <- as.numeric(q)
  # traits with other missing values: the fits before keep their decompositions
  rest <- d8(3 * n * nlam * ntrait, 6 * n * ntrait,
             if (!spectral) (groups - 1) * nobs^2)
  if (criterion != "cv") {
    # KARE, GCV: the tridiagonal (band) form, projected for the GLS offset, then
    # O(n q) solves per lambda; leave-one-out: the eigenvectors and its n^2 products
    loo <- criterion == "loo"
    pp <- if (!loo && gls) q else 0
    dec <- if (spectral) 0 else mem_spectral(nobs, pp, if (loo) "eigen" else "tridiag")
    held <- d8(if (!spectral) (if (loo) nobs^2 else (nobs - pp)^2))
    work <- if (loo) d8(nobs^2 * (1 + !gls), 5 * nobs * nlam) else d8(4 * nobs * (q + 1))
    return(max(dec, held + work) + rest)
  }
  ntr <- as.numeric(if (is.null(ntrain)) nobs - floor(nobs / 5) else ntrain)
  nv <- nobs - ntr
  pp <- if (gls) q else 0
  m <- nobs - pp
  build <- if (spectral) 0 else mem_spectral(nobs, pp, "tridiag")
  held <- if (spectral) 0 else d8(m * m)
  fold <- mem_spectral(ntr, 0, "tridiag") + d8(nv * ntr, (ntr + nv + m) * nlam)
  pred <- d8(n * nlam * ntrait)
  if (ntrait > 1) max(build, fold) + pred + rest
  else max(build, held + fold + pred) + rest
}

# The largest training set of cross-validation over the observed individuals: from
# `foldid` when given, else of the folds krr_folds() draws (sizes differing by at most 1).
krr_largest_train <- function(nobs, nfolds, foldid = NULL, obs = NULL) {
  if (!is.null(foldid) && length(foldid) >= max(obs, 0L)) {
    f <- foldid[obs]
    f <- f[!is.na(f)]
    if (length(f)) return(length(obs) - min(table(f)))
  }
  k <- suppressWarnings(as.numeric(nfolds))
  if (length(k) != 1L || is.na(k) || k < 2) k <- 2
  nobs - floor(nobs / k)
}

# ---- mlp_fit() ----------------------------------------------------------------------------

# R: the double copy of an integer X, the standardised copy (n p) and its training and
# validation rows (n p together).  C_mlp_train: the parameters, their gradient, Adam's two
# moments and the best copy (5 nparams), and per batch of bs rows the pre-activations,
# activations, batch-norm and dropout buffers of every layer, two back-signal blocks and
# the gathered rows (work_make), also for the validation blocks of 256 rows.
mem_mlp <- function(n, p, hidden, batch_size = 32L, validation = 0.1, batch_norm = TRUE,
                    dropout = 0.2, convert = FALSE) {
  n <- as.numeric(n); p <- as.numeric(p); h <- as.numeric(hidden)
  npar <- mem_mlp_nparams(p, h, batch_norm)
  bs <- min(as.numeric(batch_size), n)
  nv <- floor(validation * n)
  per <- 2 + batch_norm
  work <- bs * sum(h) * (per + (dropout > 0)) + 2 * bs * max(h) + bs * (p + 3)
  cv <- if (nv > 0) min(nv, 256) else 0
  vwork <- cv * (sum(h) * per + 2 * max(h) + p + 3)
  d8(if (convert) n * p, 2 * n * p, 5 * npar, 3 * sum(h), work, vwork, 6 * n)
}

# ntk_mlp_nparams() of mlp.c: per hidden layer the weights and the bias (batch norm: its
# gamma and beta), then the read-out.
mem_mlp_nparams <- function(p, hidden, batch_norm = TRUE) {
  h <- as.numeric(hidden)
  fin <- c(as.numeric(p), h[-length(h)])
  sum(fin * h + (1 + batch_norm) * h) + h[length(h)] + 1
}

# ---- ntk_kare() ---------------------------------------------------------------------------

# R: the double copy of an integer X, the standardised genotypes (n p) and their training
# rows (ntr p).  Each evaluation (the first and the last on all training individuals,
# also with mini-batches):
# * analytic (C_kare_analytic, depth L, map width pd = p for scales, rank for a
#   projection): the layers' Sigma and Theta and K ((2 L + 1) ntr^2), the adjoint G, and
#   inside ntk_kare_objective the eigen decomposition's work copy and dsyevd workspace
#   (3 ntr^2) -- or, in the backward pass, the adjoints Gs, Gt and a buffer (3 ntr^2); the
#   mapped inputs and their gradient (2 ntr pd);
# * network (C_kare_network, width w): K and G (2 ntr^2), the decomposition (2 ntr^2)
#   or the adjoint Grams P, Q (2 ntr^2) with the (4 L + 1) ntr w activations and adjoints,
#   or ntk_empirical's own activations; and the weights: a dozen vectors of their length in
#   the optimiser (theta, gradient, Adam's moments, the step, the best and last good).
# Held-out monitoring (validation > 0): the training kernel, its factor and the
# test-by-train block, less than an evaluation.
mem_kare <- function(n, p, depth = 1L, map = "scale", rank = 1L, width = Inf,
                     validation = 0, convert = FALSE) {
  n <- as.numeric(n); p <- as.numeric(p)
  nv <- if (validation > 0) max(2, round(validation * n)) else 0
  ntr <- n - nv
  L <- max(as.numeric(depth))
  rin <- d8(if (convert) n * p, n * p, ntr * p)
  if (is.finite(width)) {
    w <- as.numeric(width)
    len <- mem_weights_length(p, w, L)
    ev <- d8(4 * ntr^2, max((4 * L + 1) * ntr * w, 2 * L * ntr * w + 2 * 512 * ntr),
             12 * len)
  } else {
    pd <- max(if ("scale" %in% map) p else 0, if ("projection" %in% map) max(rank) else 0)
    ev <- d8((2 * L + 5) * ntr^2, 2 * ntr * pd, 2 * ntr * L)
  }
  rin + ev
}

# kare_kernel() / kare_compute(): network, the empirical kernel of the trained network
# (mem_kernel) and the logical of its finiteness check (nr n / 2); analytic, the
# standardised genotypes ((n + m) p), the mapped copies ((n + m) pd; the scale map's
# sweep() also builds the scales as an (n + m) x p array) and the analytic kernel of them.
mem_kare_kernel <- function(n, m = 0, p, depth = 1L, map = "scale", rank = 1L, width = Inf,
                            convert = FALSE) {
  n <- as.numeric(n); m <- as.numeric(m); p <- as.numeric(p)
  nr <- if (m > 0) m else n
  if (identical(map, "network") || is.finite(width))
    return(mem_kernel(n, m, p, "empirical", width, depth, TRUE, convert) + d8(nr * n / 2))
  pd <- if (identical(map, "projection")) as.numeric(rank) else p
  mem_kernel(n, m, pd, "analytic", Inf, depth, FALSE, FALSE) +
    d8((n + m) * p, (n + m) * pd, if (identical(map, "scale")) (n + m) * p,
       if (convert) (n + m) * p)
}

# ---- PLINK filesets -------------------------------------------------------------------

# C_geno_kernel: the result (nr x n, nr = m for a test-by-train kernel), the raw and
# standardised blocks of B SNPs of the training and test individuals (2 (n + m) B,
# ntk_geno_gram), the kernel being written meanwhile by dsyrk into its lower triangle only
# when symmetric (n (n + 1) / 2 doubles and the partly written first page of each column,
# 512 doubles) and mirrored after the blocks are freed; empirical: the result (written by
# the last step only), the first-layer Gram (nr n, again its lower triangle when
# symmetric), the first-layer pre-activations ((n + m) w), the weights after W1, one W1
# block (w B), then ntk_empirical_first_layer's activations and back-signals and its Gram
# blocks (as mem_kernel).
mem_plink_kernel <- function(n, m = 0, p, kind = "analytic", width = Inf, depth = 1L,
                             block = 1024L) {
  n <- as.numeric(n); m <- as.numeric(m); p <- as.numeric(p)
  nr <- if (m > 0) m else n
  B <- min(p, as.numeric(block))
  L <- if (kind == "grm") 0 else as.numeric(depth)
  stream <- 2 * (n + m) * B
  part <- if (m > 0) nr * n else min(n * (n + 1) / 2 + 512 * n, n * n)
  small <- (2 * L + 5) * (n + m)
  if (kind != "empirical") return(d8(max(part + stream, nr * n), small))
  w <- as.numeric(width)
  core <- 2 * L * (n + m) * w + 2 * nr * 512 + 3 * nr
  d8(part, (n + m) * w, mem_weights_length(p, w, L) - w * p,
     max(stream + w * B, nr * n + core), small)
}

# read_plink(): the dense n x p matrix of counts.
mem_read_plink <- function(n, p) d8(as.numeric(n) * p, 2 * n)

# ---- the guards of the exports that call several routines -----------------------------

# The number of distinct patterns of missing values among the columns of Y.
na_groups <- function(Y) {
  if (ncol(Y) < 2L) return(1L)
  ncol(unique(is.na(Y), MARGIN = 2L))
}

# ntk_lmm(): Y (n x t, NA = missing), X the design with the intercept, q kernels.
lmm_check_memory <- function(Y, X, q, method, spectral) {
  n <- nrow(Y)
  nobs <- max(colSums(!is.na(Y)))
  check_memory(mem_lmm(n, nobs, q, ncol(X), method, ncol(Y), !is.null(spectral),
                       na_groups(Y)), "K",
               if (q == 1L && is.null(spectral))
                 sprintf("the tridiagonal decomposition of the %.0f x %.0f kernel", nobs, nobs)
               else if (q == 1L) "the variance components from the given decomposition"
               else sprintf("the %d-kernel variance components over %.0f individuals (dense)",
                            q, nobs))
}

# ntk_krr(): the arguments as the user gave them (lambda, nlambda, nfolds, foldid not yet
# checked: anything unusable counts as the default, and is refused by its own check).
krr_check_memory <- function(Y, X, criterion, offset, lambda, nlambda, nfolds, foldid,
                             spectral) {
  n <- nrow(Y)
  nob <- colSums(!is.na(Y))
  nobs <- max(nob)
  obs <- which(!is.na(Y[, which.max(nob)]))
  nlam <- if (is.numeric(lambda) && length(lambda)) length(unique(lambda)) else
    suppressWarnings(as.numeric(nlambda)[1L])
  if (length(nlam) != 1L || !is.finite(nlam) || nlam < 1 || nlam > 1e4) nlam <- 41
  q <- 1L + if (is.null(X)) 0L else ncol(X)
  ntr <- if (criterion == "cv") krr_largest_train(nobs, nfolds, foldid, obs) else NULL
  check_memory(mem_krr(n, nobs, criterion, nlam, ntr, q, offset == "gls", ncol(Y),
                       !is.null(spectral), na_groups(Y)), "K",
               if (criterion == "cv")
                 sprintf("cross-validation over %.0f individuals (folds of %.0f)", nobs, ntr)
               else sprintf("the eigen decomposition of the %.0f x %.0f kernel (%s)", nobs,
                            nobs, criterion))
}

# ---- ntk_cv() and ntk_study(): through what they call -----------------------------------

# The peak of method m fitted on ntr training individuals and predicting nte, beyond its
# training kernel (given; for "mlp" and "ntk_kare" none): what ntk_cv() and ntk_study()
# call.  p SNPs, q fixed-effect columns (intercept included), spectral: a decomposition
# of the kernel is given (ntk_study()).
mem_method <- function(m, ntr, nte, p, q = 1L, lmm_args = list(), krr_args = list(),
                       mlp_args = list(), kare_args = list(), spectral = FALSE) {
  ntr <- as.numeric(ntr); nte <- as.numeric(nte)
  lmm <- function() mem_lmm(ntr, ntr, 1L, q, lmm_args[["method"]] %||% "minque1", 1L,
                            spectral)
  switch(m,
    gblup = , ntk_lmm = , rkhs = lmm(),
    ntk_krr = {
      crit <- krr_args[["criterion"]] %||% "cv"
      nf <- krr_args[["nfolds"]] %||% 5
      mem_krr(ntr, ntr, crit, krr_args[["nlambda"]] %||% 41L,
              if (crit == "cv") krr_largest_train(ntr, nf), q,
              identical(krr_args[["offset"]] %||% "ols", "gls"), 1L, spectral)
    },
    mlp = d8((ntr + nte) * p) +
      mem_mlp(ntr, p, mlp_args[["hidden"]] %||% c(50, 30),
              mlp_args[["batch_size"]] %||% 32L, mlp_args[["validation"]] %||% 0.1,
              mlp_args[["batch_norm"]] %||% TRUE, mlp_args[["dropout"]] %||% 0.2),
    ntk_kare = {
      dp <- kare_args[["depth"]] %||% 1:3
      mp <- kare_args[["map"]] %||% "scale"
      rk <- kare_args[["rank"]] %||% 1:2
      w <- kare_args[["width"]] %||% Inf
      d8((ntr + nte) * p) +
        max(mem_kare(ntr, p, dp, mp, rk, w, kare_args[["validation"]] %||% 0),
            mem_kare_kernel(ntr, 0, p, max(dp), mp[1L], max(rk), w) +
              max(mem_krr(ntr, ntr, "kare", 41L, NULL, q, TRUE),
                  mem_kare_kernel(ntr, nte, p, max(dp), mp[1L], max(rk), w)))
    }, 0)
}

# ntk_cv(): kernels = "all" holds one n x n kernel per kernel method (grm, the NTK of each
# depth, the Gaussian), built one after the other (each with its own work space; the
# Gaussian from the GRM in place, with the median's copy of the upper triangle), then per
# fold the kernel blocks of the training and test individuals (ntr^2 + nte ntr) and the
# method's peak; kernels = "fold" builds the kernels of each fold instead, the training
# kernel (mem_kernel), then the test-by-train block beside it, then the method.  The
# previous fold is collected first (cv_fold()).  The double copy of integer genotypes is
# held throughout.
mem_cv <- function(n, p, ntr, nte, methods, depth = 3L, kernels = "all", q = 1L,
                   lmm_args = list(), krr_args = list(), mlp_args = list(),
                   kare_args = list(), convert = FALSE) {
  n <- as.numeric(n); p <- as.numeric(p); ntr <- as.numeric(ntr); nte <- as.numeric(nte)
  kinds <- c(if ("gblup" %in% methods) "grm",
             if (any(c("ntk_lmm", "ntk_krr") %in% methods)) rep("analytic", length(depth)),
             if ("rkhs" %in% methods) "rkhs")
  gauss <- function(nn) d8(2 * nn * nn, nn * p)
  build1 <- function(kind, nn)
    if (kind == "rkhs") gauss(nn) else mem_kernel(nn, 0, p, kind, Inf, max(depth))
  fold <- function(m) mem_method(m, ntr, nte, p, q, lmm_args, krr_args, mlp_args, kare_args)
  kmeth <- methods[methods %in% c("gblup", "ntk_lmm", "ntk_krr", "rkhs")]
  other <- setdiff(methods, kmeth)
  peak <- 0
  if (kernels == "all") {
    for (i in seq_along(kinds)) peak <- max(peak, d8((i - 1) * n * n) + build1(kinds[i], n))
    held <- d8(length(kinds) * n * n)
    for (m in kmeth) peak <- max(peak, held + d8(ntr * ntr, nte * ntr) + fold(m))
    for (m in other) peak <- max(peak, held + fold(m))
  } else {
    for (m in kmeth) {
      kind <- switch(m, gblup = "grm", rkhs = "rkhs", "analytic")
      blocks <- if (kind == "rkhs") d8(2 * ntr * ntr, nte * ntr, 3 * ntr * p) else
        max(build1(kind, ntr), d8(ntr * ntr) + mem_kernel(ntr, nte, p, kind, Inf, max(depth)))
      peak <- max(peak, d8(ntr * p) + blocks, d8(ntr * p, ntr * ntr, nte * ntr) + fold(m))
    }
    for (m in other) peak <- max(peak, fold(m))
  }
  peak + d8(if (convert) n * p, 4 * n * length(methods))
}

# ntk_study(): one replicate at a time (the previous collected first,
# study_replicate()): the genotypes and their training / test rows (2 n p), the NTK of
# the training individuals (mem_kernel), its test-by-train block (mem_kernel, beside it)
# and, when NTK-LMM and NTK-KRR share it, the tridiagonal decomposition (mem_spectral,
# beside both), held while every method runs (mem_method; GBLUP builds its own GRM and
# block beside them).  The dry run before the first replicate fits every method on
# genotypes of the same n with the smallest p, without the shared decomposition.
mem_study <- function(n, ntr, p, methods, depth = 3L, width = Inf, shared = FALSE,
                      lmm_args = list(), krr_args = list(), mlp_args = list(),
                      kare_args = list()) {
  n <- as.numeric(n); ntr <- as.numeric(ntr); nte <- n - ntr; p <- as.numeric(p)
  kind <- if (is.finite(max(width))) "empirical" else "analytic"
  one <- function(pp, sh) {
    data <- d8(2 * n * pp)
    ntk <- any(c("ntk_lmm", "ntk_krr") %in% methods)
    kbuild <- if (ntk) max(mem_kernel(ntr, 0, pp, kind, max(width), max(depth)),
                           d8(ntr * ntr) + mem_kernel(ntr, nte, pp, kind, max(width),
                                                      max(depth))) else 0
    held <- if (ntk) d8(ntr * ntr, nte * ntr) else 0
    if (sh) {
      kbuild <- max(kbuild, held + mem_spectral(ntr, 1, "tridiag"))
      held <- held + d8((ntr - 1)^2)
    }
    peak <- kbuild
    for (m in methods) {
      mm <- if (m == "gblup")
        max(mem_kernel(ntr, 0, pp, "grm"), d8(ntr * ntr) + mem_kernel(ntr, nte, pp, "grm"),
            d8(ntr * ntr, nte * ntr) + mem_method("gblup", ntr, nte, pp, 1L, lmm_args))
      else mem_method(m, ntr, nte, pp, 1L, lmm_args, krr_args, mlp_args, kare_args,
                      sh && m %in% c("ntk_lmm", "ntk_krr"))
      peak <- max(peak, held + mm)
    }
    data + peak
  }
  max(one(max(p), shared), one(max(min(p), 2), FALSE))
}

# ntk_cv(): sizes from the folds drawn (the largest training and test sets).
cv_check_memory <- function(G, convert, folds, methods, depth, kernels, X, lmm_args,
                            krr_args, mlp_args, kare_args) {
  sizes <- unlist(lapply(folds, function(f) as.numeric(table(f))))
  nobs <- length(folds[[1L]])
  ntr <- nobs - min(sizes)
  nte <- max(sizes)
  q <- 1L + if (is.null(X)) 0L else ncol(X)
  check_memory(mem_cv(nrow(G), ncol(G), ntr, nte, methods, depth, kernels, q, lmm_args,
                      krr_args, mlp_args, kare_args, convert), "genotypes",
               sprintf("cross-validation of %d individuals (%s kernels%s, folds of %.0f)",
                       nrow(G), if (kernels == "all") "n x n" else "per-fold",
                       if (kernels == "all") " held" else "", ntr))
}
