# The paper's comparison study: NTK-LMM, NTK-KRR, GBLUP and the MLP baseline over
# replicated 80/20 splits of simulated (or sampled) genotypes, as the number of SNPs grows.

study_methods <- c("ntk_lmm", "ntk_krr", "gblup", "mlp", "ntk_kare")
study_models <- c("linear", "hyperbolic", "power", "cosh", "ricker")

#' Run the simulation study of the NTK genetics paper
#'
#' For every number of SNPs in `p` and every replicate, `ntk_study()` draws a genotype
#' matrix, simulates a phenotype, splits the individuals at random into a training and a
#' test part, fits every method in `methods` on the training part and records the test
#' correlation, the test mean squared error and the seconds each method took. The result
#' is the tidy table behind the figure of the paper (Ricker scenario: test correlation
#' and runtime of NTK-LMM, NTK-KRR, GBLUP and a neural network for 20 to 100 SNPs).
#'
#' @section One replicate:
#' 1. Genotypes: `simulate_genotypes(n, p)` (options in `genotype_args`), or, when
#'    `genotypes` is given, `n` individuals (all of them when `n >= nrow(genotypes)`)
#'    and then `p` SNPs drawn at random among the columns that are not monomorphic in
#'    those individuals, as the paper sampled SNPs from the UK Biobank.
#' 2. Phenotype: `simulate_phenotype(G, model, h2 = h2, ...)`.
#' 3. Split: `round(train * n)` training individuals drawn by `sample.int()`, the rest
#'    form the test set.
#' 4. Kernel: the NTK of the training genotypes and the test-by-train block, computed ONCE
#'    with [ntk_kernel()] (`depth`, `width` and `kernel_args`) and shared by the two NTK
#'    methods; genotypes are standardised with the training means and standard deviations.
#' 5. Methods, each fitted on the training part and predicting the test part:
#'    * `"ntk_lmm"`: [ntk_lmm()] on the NTK (MINQUE1 by default, `lmm_args`), BLUP
#'      prediction;
#'    * `"ntk_krr"`: [ntk_krr()] on the NTK (5-fold cross-validation and the GLS offset
#'      by default, `krr_args`), prediction at `lambda.min`; with the default settings
#'      NTK-LMM and NTK-KRR of a replicate share one decomposition ([ntk_spectral()]) of
#'      the centred training kernel;
#'    * `"gblup"`: [ntk_lmm()] on the genomic relationship matrix [grm()] (the paper's
#'      "product LMM");
#'    * `"mlp"`: [mlp_fit()] on the genotypes (hidden layers 50 and 30, ReLU, batch
#'      normalisation, dropout 0.2, Adam, early stopping; `mlp_args`);
#'    * `"ntk_kare"`: [ntk_kare()] on the training genotypes (the analytic NTK's input map
#'      and hyper-parameters trained by KARE; `kare_args`), then [ntk_krr()] on the
#'      trained kernel (lambda by KARE over the default grid, GLS offset) and prediction
#'      from the test genotypes through the trained recipe; its `seconds` include the
#'      training.
#'
#' `seconds` is the elapsed time of one method from the genotypes to the test
#' predictions: for `"ntk_lmm"` and `"ntk_krr"` the time of the shared kernel (training
#' and test-by-train blocks) is added in full to each, so each reads as the cost of
#' running that method alone; for `"gblup"` it includes the two GRM blocks.
#'
#' @section Kernel architecture:
#' The paper uses an "adaptive architecture": a shallower network for few SNPs and a
#' deeper one for more. By default (`depth = NULL`) the depth is 2 for `p <= 50` and 3
#' for `p > 50`. The paper computes empirical kernels of wide networks and argues they
#' approximate the infinite-width limit; by default (`width = NULL`) the study uses that
#' limit itself, the analytic kernel (`width = Inf`), which is exact and cheaper. A
#' finite `width` (e.g. 1024) uses the empirical kernel of one random network instead.
#' `depth` and `width` may also be given per value of `p`.
#'
#' @section Reproducibility and parallel runs:
#' One random number is drawn from the caller's generator (or `seed` is used), and from
#' it one L'Ecuyer-CMRG stream per replicate and number of SNPs is derived up front
#' ([parallel::nextRNGStream()]); within a replicate the data, the kernel and each method
#' draw from their own sub-streams, so a method's result does not depend on which other
#' methods run. The caller's generator is left as it was (apart from that one draw). The
#' results are therefore identical run sequentially or in parallel: when the package
#' \pkg{future.apply} is installed and a non-sequential [future::plan()] is set, the
#' replicates are distributed with [future.apply::future_lapply()] (one thread each);
#' otherwise they run one after the other with `threads` OpenMP threads. Progress is
#' reported through \pkg{progressr} when installed (wrap the call in
#' `progressr::with_progress()` or set `progressr::handlers(global = TRUE)`), otherwise
#' with a \pkg{cli} progress bar.
#'
#' A method that fails in one replicate (e.g. a singular fit) gets `NA` there and one
#' warning at the end; a constant prediction gives `cor = NA`.
#'
#' @param model the genetic architecture: `"linear"`, `"hyperbolic"`, `"power"`,
#'   `"cosh"` or `"ricker"` (see [simulate_phenotype()]).
#' @param n number of individuals per replicate (at least 10).
#' @param p numbers of SNPs: a vector of whole numbers, one study per value.
#' @param reps number of replicates per value of `p`.
#' @param h2 share of the phenotypic variance explained by the genetic signal.
#' @param methods the methods to compare, any of `"ntk_lmm"`, `"ntk_krr"`, `"gblup"`,
#'   `"mlp"`, `"ntk_kare"`.
#' @param genotypes optional numeric matrix of allele counts (individuals in rows, no
#'   missing values) to sample individuals and SNPs from instead of simulating them.
#' @param depth NTK depth: `NULL` (the adaptive rule, see below), one whole number, or
#'   one per value of `p`.
#' @param width NTK width: `NULL` or `Inf` (analytic kernel), or a whole number (empirical
#'   kernel of one network of that width), one or one per value of `p`.
#' @param train share of the individuals used for training, in `(0, 1)`.
#' @param seed optional single number; `NULL` uses the caller's random number stream.
#' @param ... options of the phenotype generator (e.g. `a`, `gamma`, `symmetric`,
#'   `causal`), passed to [simulate_phenotype()].
#' @param genotype_args list of further arguments of [simulate_genotypes()] (`maf`,
#'   `ld`).
#' @param kernel_args list of further arguments of [ntk_kernel()] (`sigma_w`, `sigma_b`,
#'   `normalize`, `n_init`).
#' @param lmm_args list of further arguments of [ntk_lmm()] for NTK-LMM and GBLUP (e.g.
#'   `method = "reml"`).
#' @param krr_args list of further arguments of [ntk_krr()] (e.g. `nfolds`,
#'   `criterion`).
#' @param mlp_args list of further arguments of [mlp_fit()] (e.g. `epochs`, `hidden`).
#' @param kare_args list of further arguments of [ntk_kare()] (e.g. `depth`, `steps`,
#'   `map`, `batch`).
#' @param threads OpenMP threads per replicate (default: the package's default, as
#'   everywhere; with a parallel \pkg{future} plan and `threads` not given, each worker
#'   uses 1).
#' @param progress logical; show a labelled progress bar with ETA (default: in interactive
#'   sessions, not in scripts or knitr).  Sequentially a \pkg{cli} bar; in parallel, or
#'   when \pkg{progressr} handlers are registered, through \pkg{progressr}.
#' @return A data frame of class `c("ntk_study", "data.frame")`, one row per replicate,
#'   number of SNPs and method, with columns `rep`, `p`, `method` (a factor), `cor`
#'   (test correlation), `mse` (test mean squared error) and `seconds`; the attribute
#'   `"settings"` holds the call and all settings (including the depth and width used
#'   per `p`), and `"seeds"` the L'Ecuyer-CMRG seed of each replicate (a list in the
#'   order of `expand.grid(rep, p)`), from which any replicate can be redone by hand.
#' @seealso [summary.ntk_study()], [plot.ntk_study()]
#' @examples
#' set.seed(1)
#' st <- ntk_study(n = 100, p = c(10, 20), reps = 2, methods = c("ntk_krr", "gblup"),
#'                 progress = FALSE)
#' st
#' summary(st)
#' plot(st, type = "cor")
#' @export
ntk_study <- function(model = "ricker", n = 1000, p = c(20, 50, 100), reps = 100, h2 = 0.5,
                      methods = c("ntk_lmm", "ntk_krr", "gblup", "mlp"), genotypes = NULL,
                      depth = NULL, width = NULL, train = 0.8, seed = NULL, ...,
                      genotype_args = list(), kernel_args = list(), lmm_args = list(),
                      krr_args = list(), mlp_args = list(), kare_args = list(),
                      threads = default_threads(), progress = progress_default()) {
  cl <- match.call()
  model <- check_choice(model, study_models, "model")
  n <- check_number(n, "n", lower = 10, integer = TRUE)
  p <- study_check_p(p)
  reps <- check_number(reps, "reps", lower = 1, upper = 1e7, integer = TRUE)
  h2 <- check_number(h2, "h2", lower = 0, upper = 1)
  methods <- study_check_methods(methods)
  train <- check_number(train, "train", lower = 0, upper = 1, open_lower = TRUE,
                        open_upper = TRUE)
  threads <- check_threads(threads)
  progress <- check_flag(progress, "progress")
  if (!is.null(seed)) seed <- check_number(seed, "seed")
  if (!is.null(genotypes)) {
    genotypes <- check_numeric_matrix(genotypes, "genotypes", min_rows = 10L)
    if (n > nrow(genotypes)) {
      message("`n` (", n, ") exceeds the rows of `genotypes`; using all ", nrow(genotypes),
              " individuals.")
      n <- nrow(genotypes)
    }
    if (max(p) > ncol(genotypes))
      stop_arg("p", "must not exceed the number of columns of `genotypes` (",
               ncol(genotypes), ").")
  }
  ntrain <- as.integer(round(train * n))
  if (ntrain < 5L || n - ntrain < 3L)
    stop_arg("train", "leaves too few training (", ntrain, ") or test (", n - ntrain,
             ") individuals for n = ", n, ".")
  depth <- study_check_arch(depth, p, "depth")
  width <- study_check_arch(width, p, "width")
  sim_args <- study_check_dots(list(...), model)
  genotype_args <- study_check_args(genotype_args, "genotype_args", simulate_genotypes,
                                    c("n", "p"))
  kernel_args <- study_check_args(kernel_args, "kernel_args", ntk_kernel,
                                  c("X", "Z", "depth", "width", "threads", "device"))
  lmm_args <- study_check_args(lmm_args, "lmm_args", ntk_lmm.default, c("y", "K", "spectral"))
  krr_args <- study_check_args(krr_args, "krr_args", ntk_krr.default, c("y", "K", "spectral"))
  # KRR's offset by GLS (the LMM's fixed part), so that NTK-LMM and NTK-KRR share one
  # decomposition of the training kernel; krr_args = list(offset = "ols") restores OLS
  if (is.null(krr_args$offset)) krr_args$offset <- "gls"
  mlp_args <- study_check_args(mlp_args, "mlp_args", mlp_fit, c("X", "y"))
  kare_args <- study_check_args(kare_args, "kare_args", ntk_kare, c("X", "y", "threads"))

  grid <- expand.grid(rep = seq_len(reps), p = p, KEEP.OUT.ATTRS = FALSE)
  ntask <- nrow(grid)
  seeds <- study_seeds(ntask, seed)
  # the replicates reset the global generator; put the caller's back afterwards
  rng_preserve()

  parallel_run <- study_use_future()
  if (parallel_run && missing(threads)) threads <- 1L
  cfg <- list(model = model, n = n, ntrain = ntrain, h2 = h2, methods = methods,
              genotypes = genotypes, sim_args = sim_args, genotype_args = genotype_args,
              kernel_args = kernel_args, lmm_args = lmm_args, krr_args = krr_args,
              mlp_args = mlp_args, kare_args = kare_args,
              threads = if (parallel_run) 1L else threads)
  tasks <- lapply(seq_len(ntask), function(i) {
    j <- match(grid$p[i], p)
    list(rep = grid$rep[i], p = grid$p[i], depth = depth[j], width = width[j],
         seed = seeds[[i]])
  })

  check_memory(mem_study(n, ntrain, p, methods, depth, width, study_shares_spectral(cfg),
                         lmm_args, krr_args, mlp_args, kare_args), "n",
               sprintf("one replicate of %d individuals (%d training): kernels and fits",
                       n, ntrain))
  study_dry_run(cfg, min(p), depth[1L], width[1L])
  tick <- progress_ticker(ntask, "ntk_study replicates", progress, parallel_run)
  worker <- function(task) {
    out <- study_replicate(task, cfg)
    tick()
    out
  }
  res <- if (parallel_run) {
    future.apply::future_lapply(tasks, worker, future.seed = seeds)
  } else {
    lapply(tasks, worker)
  }

  failures <- unlist(lapply(res, attr, which = "failures"))
  out <- do.call(rbind, res)
  out$method <- factor(out$method, levels = methods)
  rownames(out) <- NULL
  if (length(failures)) {
    tab <- table(failures)
    warning(sprintf("%d method fit(s) failed and were recorded as NA: %s",
                    length(failures),
                    paste0(names(tab), " (", tab, ")", collapse = "; ")), call. = FALSE)
  }
  attr(out, "settings") <- list(call = cl, model = model, n = n, ntrain = ntrain, p = p,
                                reps = reps, h2 = h2, methods = methods, depth = depth,
                                width = width, train = train, seed = seed,
                                sim_args = sim_args, genotypes = !is.null(genotypes),
                                genotype_args = genotype_args, kernel_args = kernel_args,
                                lmm_args = lmm_args, krr_args = krr_args,
                                mlp_args = mlp_args, kare_args = kare_args,
                                parallel = parallel_run)
  attr(out, "seeds") <- seeds
  class(out) <- c("ntk_study", "data.frame")
  out
}

# ---- one replicate -----------------------------------------------------------------

# Data, kernel and methods of one replicate; a data frame of length(cfg$methods) rows.
# RNG: the data from the task's stream, the kernel from its first sub-stream, method k
# (position in study_methods) from sub-stream k + 1.
study_replicate <- function(task, cfg) {
  # the previous replicate's kernels and fits are garbage now: collect them before this
  # one allocates its own, so that the peak is one replicate's (see mem_study())
  invisible(gc(verbose = FALSE))
  dat <- study_data(task$seed, task$p, cfg)
  Xtr <- dat$G[dat$train, , drop = FALSE]
  Xte <- dat$G[dat$test, , drop = FALSE]
  ytr <- dat$y[dat$train]
  yte <- dat$y[dat$test]
  sub <- study_substreams(task$seed, length(study_methods) + 1L)

  kernel_time <- 0
  kern <- NULL
  if (any(c("ntk_lmm", "ntk_krr") %in% cfg$methods)) {
    study_set_seed(sub[[1L]])
    kernel_time <- study_time({
      kargs <- c(list(depth = task$depth, width = task$width, threads = cfg$threads),
                 cfg$kernel_args)
      K <- do.call(ntk_kernel, c(list(X = Xtr), kargs))
      # built exactly like K (same standardisation, same network for an empirical kernel)
      kern <- list(K = K, Ks = ntk_kernel_like(K, Xte, threads = cfg$threads))
    })
    # NTK-LMM and NTK-KRR (GLS offset, CV) of the replicate share ONE decomposition of the
    # centred training kernel; it is timed with each method that uses it
    if (study_shares_spectral(cfg)) {
      spec_time <- study_time(kern$S <- spectral_make(kern$K, seq_along(ytr),
                                                      matrix(1, length(ytr), 1L), "tridiag"))
      kernel_time <- kernel_time + spec_time
    }
  }
  rows <- lapply(cfg$methods, function(m) {
    invisible(gc(verbose = FALSE))     # the previous method's fit, as above
    study_set_seed(sub[[match(m, study_methods) + 1L]])
    pred <- NULL
    secs <- study_time(pred <- tryCatch(
      study_fit_method(m, kern, Xtr, Xte, ytr, cfg),
      error = function(e) structure(conditionMessage(e), class = "study_failure")))
    if (inherits(pred, "study_failure")) {
      return(data.frame(rep = task$rep, p = task$p, method = m, cor = NA_real_,
                        mse = NA_real_, seconds = NA_real_, constant = NA,
                        failure = paste0(m, ": ", pred), stringsAsFactors = FALSE))
    }
    if (m %in% c("ntk_lmm", "ntk_krr")) secs <- secs + kernel_time
    # a constant prediction (e.g. the genetic variance estimated at zero) ranks nobody:
    # its correlation counts as 0, flagged, instead of being dropped from the medians
    constant <- !anyNA(pred) && stats::sd(pred) == 0
    data.frame(rep = task$rep, p = task$p, method = m,
               cor = if (constant) 0 else study_cor(pred, yte),
               mse = mean((pred - yte)^2), seconds = secs, constant = constant,
               failure = NA_character_, stringsAsFactors = FALSE)
  })
  out <- do.call(rbind, rows)
  fail <- out$failure[!is.na(out$failure)]
  out$failure <- NULL
  attr(out, "failures") <- fail
  out
}

# Every method once on data of the study's sizes (a few SNPs, the MLP for one epoch)
# before the first replicate, so that a bad element of `lmm_args`, `krr_args`,
# `mlp_args` or `kernel_args` is an error now, naming it, not a study of NA.
study_dry_run <- function(cfg, p, depth, width) {
  rng_preserve()
  set.seed(1L)
  n <- cfg$n
  G <- matrix(stats::rbinom(n * max(p, 2L), 2L, 0.3), n, max(p, 2L))
  y <- stats::rnorm(n)
  tr <- seq_len(cfg$ntrain)
  mlp <- cfg$mlp_args
  ep <- mlp$epochs
  if (is.null(ep) || (is.numeric(ep) && length(ep) == 1L && !is.na(ep) && ep > 1)) mlp$epochs <- 1L
  cfg$mlp_args <- mlp
  ka <- cfg$kare_args          # one training step is enough to check the arguments
  st <- ka$steps
  if (is.null(st) || (is.numeric(st) && length(st) == 1L && !is.na(st) && st > 1)) ka$steps <- 1L
  cfg$kare_args <- ka
  task <- list(depth = depth, width = width)
  kern <- NULL
  if (any(c("ntk_lmm", "ntk_krr") %in% cfg$methods)) {
    K <- tryCatch(do.call(ntk_kernel, c(list(X = G[tr, , drop = FALSE], depth = depth,
                                             width = width, threads = cfg$threads),
                                        cfg$kernel_args)),
                  error = function(e) stop_arg("kernel_args", "is not usable: ",
                                               conditionMessage(e)))
    kern <- list(K = K, Ks = ntk_kernel_like(K, G[-tr, , drop = FALSE], threads = cfg$threads))
  }
  for (m in cfg$methods) {
    arg <- switch(m, ntk_lmm = "lmm_args", gblup = "lmm_args", ntk_krr = "krr_args",
                  mlp = "mlp_args", ntk_kare = "kare_args")
    tryCatch(suppressWarnings(study_fit_method(m, kern, G[tr, , drop = FALSE],
                                               G[-tr, , drop = FALSE], y[tr], cfg)),
             error = function(e) stop_arg(arg, "is not usable for ", m, ": ",
                                          conditionMessage(e)))
  }
  invisible()
}

# Genotypes, phenotype and split of one replicate, drawn from `seed`.
study_data <- function(seed, p, cfg) {
  study_set_seed(seed)
  n <- cfg$n
  if (is.null(cfg$genotypes)) {
    G <- do.call(simulate_genotypes, c(list(n = n, p = p), cfg$genotype_args))
  } else {
    N <- nrow(cfg$genotypes)
    rows <- if (n < N) sort(sample.int(N, n)) else seq_len(N)
    G <- cfg$genotypes[rows, , drop = FALSE]
    poly <- which(apply(G, 2L, function(g) any(g != g[1L])))
    if (length(poly) < p)
      stop_arg("genotypes", "has only ", length(poly), " polymorphic SNPs among the ",
               "sampled individuals, fewer than p = ", p, ".")
    G <- G[, poly[sort(sample.int(length(poly), p))], drop = FALSE]
  }
  y <- do.call(simulate_phenotype, c(list(G = G, model = cfg$model, h2 = cfg$h2),
                                     cfg$sim_args))
  train <- sort(sample.int(n, cfg$ntrain))
  list(G = G, y = as.numeric(y), train = train, test = setdiff(seq_len(n), train))
}

# Whether NTK-LMM and NTK-KRR can share one decomposition: both run, the LMM has the
# default intercept-only design, KRR cross-validates with the GLS offset.
study_shares_spectral <- function(cfg) {
  all(c("ntk_lmm", "ntk_krr") %in% cfg$methods) &&
    is.null(cfg$lmm_args$X) && !identical(cfg$lmm_args$intercept, FALSE) &&
    identical(cfg$krr_args$offset, "gls") &&
    (is.null(cfg$krr_args$criterion) || identical(cfg$krr_args$criterion, "cv")) &&
    is.null(cfg$krr_args$X)
}

# Test predictions of one method.
study_fit_method <- function(m, kern, Xtr, Xte, ytr, cfg) {
  switch(m,
    ntk_lmm = {
      fit <- do.call(ntk_lmm, c(list(ytr, K = kern$K, spectral = kern$S), cfg$lmm_args))
      stats::predict(fit, K_new = kern$Ks)
    },
    ntk_krr = {
      fit <- do.call(ntk_krr, c(list(ytr, K = kern$K, spectral = kern$S), cfg$krr_args))
      stats::predict(fit, K_new = kern$Ks)
    },
    gblup = {
      K <- grm(Xtr, threads = cfg$threads)
      Ks <- ntk_kernel_like(K, Xte, threads = cfg$threads)
      fit <- do.call(ntk_lmm, c(list(ytr, K = K), cfg$lmm_args))
      stats::predict(fit, K_new = Ks)
    },
    mlp = {
      fit <- do.call(mlp_fit, c(list(X = Xtr, y = ytr), cfg$mlp_args))
      stats::predict(fit, newdata = Xte)
    },
    ntk_kare = {
      fit <- do.call(ntk_kare, c(list(X = Xtr, y = ytr, threads = cfg$threads),
                                 cfg$kare_args))
      K <- kare_kernel(fit, threads = cfg$threads)
      kr <- ntk_krr(ytr, K, criterion = "kare", offset = "gls")
      stats::predict(kr, newdata = Xte, threads = cfg$threads)
    })
}

study_cor <- function(pred, y) {
  if (anyNA(pred) || stats::sd(pred) == 0) return(NA_real_)
  stats::cor(pred, y)
}

study_time <- function(expr) {
  t0 <- proc.time()[["elapsed"]]
  force(expr)
  proc.time()[["elapsed"]] - t0
}

# ---- random number streams ---------------------------------------------------------

# One L'Ecuyer-CMRG seed per task, derived from `seed` or one draw of the caller's
# stream; the caller's generator (kind and state) is restored.
study_seeds <- function(ntask, seed) {
  if (is.null(seed)) seed <- sample.int(.Machine$integer.max, 1L)
  genv <- globalenv()
  old_kind <- RNGkind()
  old_seed <- get0(".Random.seed", envir = genv, inherits = FALSE)
  on.exit({
    RNGkind(old_kind[1L], old_kind[2L], old_kind[3L])
    if (is.null(old_seed)) rm(".Random.seed", envir = genv) else
      assign(".Random.seed", old_seed, envir = genv)
  })
  RNGkind("L'Ecuyer-CMRG", "Inversion", "Rejection")
  set.seed(seed)
  s <- get(".Random.seed", envir = genv)
  out <- vector("list", ntask)
  for (i in seq_len(ntask)) {
    out[[i]] <- s
    s <- parallel::nextRNGStream(s)
  }
  out
}

study_substreams <- function(seed, k) {
  out <- vector("list", k)
  s <- seed
  for (i in seq_len(k)) {
    s <- parallel::nextRNGSubStream(s)
    out[[i]] <- s
  }
  out
}

# Sets the global generator to a L'Ecuyer-CMRG state (ntk_study() puts the caller's
# back on exit).
study_set_seed <- function(seed) assign(".Random.seed", seed, envir = globalenv())

study_use_future <- function() {
  if (!requireNamespace("future.apply", quietly = TRUE) ||
      !requireNamespace("future", quietly = TRUE)) return(FALSE)
  !inherits(future::plan(), "sequential")
}

# ---- argument checks ---------------------------------------------------------------

study_check_p <- function(p) {
  if (!is.numeric(p) || length(p) < 1L || anyNA(p) || any(!is.finite(p)) ||
      any(p != round(p)) || any(p < 1))
    stop_arg("p", "must be a vector of positive whole numbers (numbers of SNPs).")
  if (anyDuplicated(p)) stop_arg("p", "must not contain duplicates.")
  as.integer(p)
}

study_check_methods <- function(methods) {
  if (!is.character(methods) || length(methods) < 1L || anyNA(methods) ||
      !all(methods %in% study_methods))
    stop_arg("methods", "must be a non-empty subset of ",
             paste0("\"", study_methods, "\"", collapse = ", "), ".")
  if (anyDuplicated(methods)) stop_arg("methods", "must not contain duplicates.")
  methods
}

# depth / width: NULL -> defaults, else one value or one per p.
study_check_arch <- function(x, p, arg) {
  if (is.null(x)) {
    return(if (arg == "depth") ifelse(p <= 50L, 2L, 3L) else rep(Inf, length(p)))
  }
  if (!is.numeric(x) || !(length(x) %in% c(1L, length(p))) || anyNA(x))
    stop_arg(arg, "must be NULL, one number or one number per value of `p` (",
             length(p), ").")
  x <- rep_len(x, length(p))
  if (arg == "depth") {
    if (any(!is.finite(x)) || any(x != round(x)) || any(x < 1))
      stop_arg("depth", "must contain whole numbers >= 1.")
    return(as.integer(x))
  }
  fin <- is.finite(x)
  if (any(x[fin] != round(x[fin])) || any(x < 1) || any(is.infinite(x) & x < 0))
    stop_arg("width", "must contain whole numbers >= 1 or Inf.")
  as.numeric(x)
}

study_check_dots <- function(dots, model) {
  if (!length(dots)) return(list())
  nms <- names(dots)
  if (is.null(nms) || any(!nzchar(nms)))
    stop("all arguments in `...` must be named (options of the phenotype generator).",
         call. = FALSE)
  fun <- switch(model, linear = sim_linear, hyperbolic = sim_hyperbolic, power = sim_power,
                cosh = sim_cosh, ricker = sim_ricker)
  ok <- setdiff(names(formals(fun)), c("G", "h2"))
  bad <- setdiff(nms, ok)
  if (length(bad))
    stop(sprintf("unknown argument(s) in `...` for the \"%s\" generator: %s (allowed: %s).",
                 model, paste(bad, collapse = ", "), paste(ok, collapse = ", ")),
         call. = FALSE)
  dots
}

study_check_args <- function(args, arg, fun, reserved) {
  if (!is.list(args)) stop_arg(arg, "must be a list.")
  if (!length(args)) return(list())
  nms <- names(args)
  if (is.null(nms) || any(!nzchar(nms))) stop_arg(arg, "must be a named list.")
  bad <- intersect(nms, reserved)
  if (length(bad)) stop_arg(arg, "must not set ", paste(bad, collapse = ", "),
                            " (set by ntk_study()).")
  unknown <- setdiff(nms, names(formals(fun)))
  if (length(unknown)) stop_arg(arg, "has unknown element(s): ",
                                paste(unknown, collapse = ", "), ".")
  args
}

# ---- methods -----------------------------------------------------------------------

#' Summarise, print and plot a simulation study
#'
#' `summary()` gives, per number of SNPs and method, the number of replicates with a
#' test correlation (`reps`; a constant prediction, e.g. from a genetic variance
#' component estimated at zero, counts with correlation 0 and is counted in
#' `constant`; a failed fit is left out),
#' the median, lower and upper quartiles and interquartile range of the test correlation,
#' the median test mean squared error and the median seconds per replicate (quantiles of
#' [stats::quantile()], type 7, ignoring `NA`). `print()` shows the medians of the
#' correlation as a methods x SNPs table, like the paper's figure.
#'
#' With `baseline` (a method of the study), each method is also compared with it
#' replicate by replicate: the methods of one replicate and number of SNPs saw the same
#' genotypes, phenotype and split, so their difference in test correlation is a paired
#' one, and its mean and standard error (`sd / sqrt(pairs)`) say far more than a
#' difference of medians whose spread is that of the replicates.  Added columns:
#' `pairs` (replicates where both have a correlation), `diff_mean`, `diff_se`,
#' `diff_median` (of the paired differences `cor - cor of baseline`) and `wins` (fraction
#' of the pairs where the method's correlation is larger; ties count one half).
#'
#' `plot()` draws the paper's figure in base graphics: `type = "cor"` box plots of the
#' test correlation, grouped by the number of SNPs, one box per method; `type = "time"`
#' the median seconds per replicate against the number of SNPs (log scale), one line per
#' method; `"both"` (default) the two side by side.
#'
#' @param object,x an `ntk_study` result (or its summary for `print`).
#' @param type `"both"`, `"cor"` or `"time"`.
#' @param col colours, one per method.
#' @param digits digits to print.
#' @param baseline `NULL` or the name of one of the study's methods (e.g. `"mlp"`): add
#'   the paired comparison of every method with it (see above).
#' @param ... further graphical parameters for [graphics::boxplot()] (plot), unused
#'   otherwise.
#' @return `summary()`: a data frame of class `summary.ntk_study` with columns `p`,
#'   `method`, `reps` (replicates with a correlation), `constant`, `cor_median`, `cor_q25`,
#'   `cor_q75`, `cor_iqr`, `mse_median`, `seconds_median` (and with `baseline`:
#'   `pairs`, `diff_mean`, `diff_se`, `diff_median`, `wins`); `print()` and `plot()`
#'   return `x` invisibly.
#' @examples
#' set.seed(2)
#' st <- ntk_study(n = 80, p = c(10, 20), reps = 3, methods = c("ntk_lmm", "gblup"),
#'                 progress = FALSE)
#' summary(st)
#' summary(st, baseline = "gblup")   # paired differences, replicate by replicate
#' plot(st)
#' @name ntk_study-methods
NULL

#' @rdname ntk_study-methods
#' @export
summary.ntk_study <- function(object, baseline = NULL, ...) {
  df <- as.data.frame(unclass(object))
  if (is.null(df$constant)) df$constant <- FALSE
  df <- df[, c("rep", "p", "method", "cor", "mse", "seconds", "constant")]
  df$method <- factor(df$method, levels = levels(object$method))
  if (is.factor(baseline)) baseline <- as.character(baseline)
  present <- levels(droplevels(df$method))
  if (!is.null(baseline) && (!is.character(baseline) || length(baseline) != 1L ||
                             is.na(baseline) || !baseline %in% present))
    stop_arg("baseline", "must be NULL or one of the study's methods (",
             paste0("\"", present, "\"", collapse = ", "), ").")
  keys <- unique(df[order(df$p, df$method), c("p", "method")])
  q <- function(x, pr) if (all(is.na(x))) NA_real_ else
    unname(stats::quantile(x, pr, na.rm = TRUE, type = 7))
  rows <- lapply(seq_len(nrow(keys)), function(i) {
    d <- df[df$p == keys$p[i] & df$method == keys$method[i], ]
    row <- data.frame(p = keys$p[i], method = keys$method[i], reps = sum(!is.na(d$cor)),
                      constant = sum(d$constant %in% TRUE),
                      cor_median = q(d$cor, 0.5), cor_q25 = q(d$cor, 0.25),
                      cor_q75 = q(d$cor, 0.75), cor_iqr = q(d$cor, 0.75) - q(d$cor, 0.25),
                      mse_median = q(d$mse, 0.5), seconds_median = q(d$seconds, 0.5))
    if (is.null(baseline)) return(row)
    b <- df[df$p == keys$p[i] & df$method == baseline, ]
    dd <- d$cor - b$cor[match(d$rep, b$rep)]          # paired by replicate
    dd <- dd[!is.na(dd)]
    np <- length(dd)
    cbind(row, pairs = np,
          diff_mean = if (np) mean(dd) else NA_real_,
          diff_se = if (np > 1L) stats::sd(dd) / sqrt(np) else NA_real_,
          diff_median = if (np) stats::median(dd) else NA_real_,
          wins = if (np) mean((dd > 0) + 0.5 * (dd == 0)) else NA_real_)
  })
  out <- do.call(rbind, rows)
  rownames(out) <- NULL
  attr(out, "settings") <- attr(object, "settings")
  class(out) <- c("summary.ntk_study", "data.frame")
  out
}

#' @rdname ntk_study-methods
#' @export
print.summary.ntk_study <- function(x, digits = 3L, ...) {
  digits <- check_number(digits, "digits", lower = 0, upper = 15, integer = TRUE)   # round()
  study_header(attr(x, "settings"))
  df <- as.data.frame(unclass(x))
  num <- setdiff(names(df)[vapply(df, is.double, logical(1))],
                 c("p", "reps", "constant", "pairs"))
  df[num] <- lapply(df[num], function(v) round(v, digits))
  print.data.frame(df, row.names = FALSE)
  invisible(x)
}

#' @rdname ntk_study-methods
#' @export
print.ntk_study <- function(x, digits = 3L, ...) {
  digits <- check_number(digits, "digits", lower = 1, upper = 22, integer = TRUE)
  s <- summary(x)
  study_header(attr(x, "settings"))
  cat("\nMedian test correlation (methods x SNPs):\n")
  print(study_wide(s, "cor_median"), digits = digits)
  cat("\nMedian seconds per replicate:\n")
  print(study_wide(s, "seconds_median"), digits = digits)
  cat("\n", nrow(x), " rows (rep, p, method, cor, mse, seconds); summary() for ",
      "quartiles, plot() for the figure.\n", sep = "")
  invisible(x)
}

study_wide <- function(s, what) {
  ps <- sort(unique(s$p))
  ms <- levels(s$method)
  out <- matrix(NA_real_, length(ms), length(ps),
                dimnames = list(method = ms, p = ps))
  out[cbind(match(as.character(s$method), ms), match(s$p, ps))] <- s[[what]]
  out
}

study_header <- function(st) {
  if (is.null(st)) return(invisible())
  arch <- paste0("p = ", st$p, ": depth ", st$depth, ", width ",
                 ifelse(is.finite(st$width), st$width, "Inf"), collapse = "; ")
  cat("NTK simulation study: ", st$model, " model, n = ", st$n, " (", st$ntrain,
      " training), h2 = ", st$h2, ", ", st$reps, " replicate(s)",
      if (st$genotypes) ", genotypes sampled from a user matrix", "\n", sep = "")
  cat("NTK architecture: ", arch, "\n", sep = "")
  invisible()
}

#' @rdname ntk_study-methods
#' @export
plot.ntk_study <- function(x, type = c("both", "cor", "time"), col = NULL, ...) {
  type <- check_choice(type, c("both", "cor", "time"), "type")
  df <- as.data.frame(unclass(x))
  ms <- levels(x$method)
  ps <- sort(unique(df$p))
  nm <- length(ms)
  if (is.null(col)) col <- c("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e",
                             "#e6ab02")[seq_len(nm)]
  if (length(col) < nm) stop_arg("col", "must give one colour per method (", nm, ").")
  labs <- c(ntk_lmm = "NTK-LMM", ntk_krr = "NTK-KRR", gblup = "GBLUP", mlp = "MLP",
            ntk_kare = "NTK-KARE")[ms]
  if (type == "both") {
    op <- graphics::par(mfrow = c(1L, 2L))
    on.exit(graphics::par(op))
  }
  if (type %in% c("both", "cor")) {
    at <- unlist(lapply(seq_along(ps), function(j) (j - 1) * (nm + 1) + seq_len(nm)))
    f <- factor(paste(df$p, df$method), levels = paste(rep(ps, each = nm), ms))
    graphics::boxplot(df$cor ~ f, at = at, col = rep(col, length(ps)), xaxt = "n",
                      xlab = "Number of SNPs", ylab = "Test correlation",
                      main = "Prediction accuracy", ...)
    graphics::axis(1L, at = (seq_along(ps) - 1) * (nm + 1) + (nm + 1) / 2, labels = ps)
    # replicates per box (constant predictions, counted as 0, included)
    nb <- tapply(!is.na(df$cor), f, sum)
    graphics::mtext(paste0("n=", nb), side = 1L, line = -1.1, at = at, cex = 0.55,
                    col = "grey30")
    graphics::legend("topright", legend = labs, fill = col, bty = "n", cex = 0.8)
  }
  if (type %in% c("both", "time")) {
    s <- summary(x)
    tm <- study_wide(s, "seconds_median")
    tm[!is.finite(tm) | tm <= 0] <- NA
    rng <- range(tm, na.rm = TRUE)
    if (!all(is.finite(rng))) rng <- c(1e-3, 1)
    rng[1L] <- max(rng[1L], 1e-3)
    rng[2L] <- max(rng[2L] * 4, rng[1L] * 10)  # head room for the legend
    graphics::matplot(ps, t(pmax(tm, 1e-3)), type = "b", pch = 19, lty = 1, col = col,
                      log = "y", ylim = rng, xaxt = "n", xlab = "Number of SNPs",
                      ylab = "Median seconds per replicate", main = "Runtime")
    graphics::axis(1L, at = ps)
    graphics::legend("topleft", legend = labs, col = col, lty = 1, pch = 19, bty = "n",
                     cex = 0.8)
  }
  invisible(x)
}
