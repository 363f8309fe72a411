#' Cross-validation of prediction methods on your own genotypes and phenotypes
#'
#' Compares GBLUP, NTK-LMM, NTK-KRR (at one or several depths), a Gaussian-kernel RKHS
#' model and the MLP on the same folds of the user's data: each method is fitted on the
#' training individuals of a fold and predicts the held-out ones.  Folds are given
#' (`foldid`, e.g. BGLR's `wheat.sets`) or drawn reproducibly (`nfolds`, repeated `reps`
#' times; `set.seed()` reproduces them).
#'
#' Kernels are unsupervised, so by default (`kernels = "all"`) each is computed ONCE over
#' all genotyped individuals (genotypes standardised over all of them), and the folds
#' index it, as the published genomic-prediction protocols do (the transductive setting:
#' test phenotypes are never used).  `kernels = "fold"` computes every kernel per fold
#' from the training individuals alone (their standardisation), the test-by-train block
#' by the kernel's recipe ([ntk_kernel_like()]); the output says which was used.
#'
#' Methods (`methods`):
#' * `"gblup"`: [ntk_lmm()] on [grm()], BLUP;
#' * `"ntk_lmm"`: [ntk_lmm()] on the analytic NTK [ntk_kernel()] of each `depth`;
#' * `"ntk_krr"`: [ntk_krr()] on the NTK of each `depth`, lambda by its own inner
#'   cross-validation on the training individuals (`krr_args`);
#' * `"rkhs"`: [ntk_lmm()] on a Gaussian kernel \eqn{\exp(-d^2_{ij} / h)} of the
#'   standardised genotypes, \eqn{d^2} the squared distance divided by the number of SNPs
#'   and \eqn{h} its median over pairs (the RKHS baseline of Crossa et al. 2010, with one
#'   bandwidth);
#' * `"mlp"`: [mlp_fit()] on the training genotypes (`mlp_args`);
#' * `"ntk_kare"`: the NTK trained by minimising KARE, [ntk_kare()] on the training
#'   genotypes of each fold (`kare_args`; never on the test individuals), then [ntk_krr()]
#'   on the trained kernel (`criterion = "kare"`, GLS offset, as in [ntk_study()]).
#' Covariates `X` (matrix, data frame or factor) enter every LMM / KRR fit as fixed
#' effects; the MLP does not use them.
#'
#' Folds run in parallel through a \pkg{future} plan when one is set
#' (`future::plan(multisession)`; each worker uses `threads` threads), with progress
#' through \pkg{progressr} when installed.  Sequentially the random draws (folds, the
#' inner folds of NTK-KRR, the MLP) follow the global RNG in a fixed order, so
#' `set.seed()` reproduces the whole run; in parallel each fold gets its own stream.
#'
#' @param genotypes `n x p` genotype matrix (individuals in rows), a data frame, or a PLINK
#'   fileset (prefix or [plink_open()] handle, read by [read_plink()]).
#' @param y phenotypes, length `n` (`NA`: never used, neither in training nor in testing).
#' @param X optional covariates (fixed effects), `n` rows.
#' @param methods any of `"gblup"`, `"ntk_lmm"`, `"ntk_krr"`, `"rkhs"`, `"mlp"`,
#'   `"ntk_kare"`.
#' @param depth NTK depth(s); default: 2 for at most 50 SNPs, else 3 (the paper's rule).
#' @param foldid optional fold labels, length `n` (overrides `nfolds` and `reps`).
#' @param nfolds number of folds drawn when `foldid` is `NULL`.
#' @param reps number of repetitions of the random partition.
#' @param kernels `"all"` (default) or `"fold"`, see Details.
#' @param lmm_args,krr_args,mlp_args,kare_args lists of further arguments of [ntk_lmm()],
#'   [ntk_krr()], [mlp_fit()] and [ntk_kare()].
#' @param threads OpenMP threads for the kernels (1 per worker under a parallel plan
#'   unless given).
#' @param progress logical; show a labelled progress bar with ETA (default: interactive
#'   sessions only).
#' @return An object of class `ntk_cv`: a list with `results` (one row per method,
#'   repetition and fold: `rep`, `fold`, `method`, `n_test`, `cor`, `mse`, `seconds`,
#'   `constant`: a constant prediction, whose correlation counts as 0),
#'   `predictions` (`rep`, `fold`, `id`, `y`, `method`, `pred`), `summary` (per method:
#'   mean and SE of the within-fold correlation, the correlation of the pooled
#'   out-of-fold predictions, the MSE, the seconds), and the settings.  `summary()` and
#'   `plot()` methods.
#' @examples
#' set.seed(1)
#' G <- simulate_genotypes(n = 150, p = 30)
#' y <- simulate_phenotype(G, model = "ricker", h2 = 0.5)
#' cv <- ntk_cv(G, y, methods = c("gblup", "ntk_lmm", "ntk_krr"), nfolds = 3,
#'              threads = 1, progress = FALSE)
#' cv
#' plot(cv)
#' @export
ntk_cv <- function(genotypes, y, X = NULL,
                   methods = c("gblup", "ntk_lmm", "ntk_krr", "rkhs", "mlp"),
                   depth = NULL, foldid = NULL, nfolds = 5, reps = 1,
                   kernels = c("all", "fold"), lmm_args = list(), krr_args = list(),
                   mlp_args = list(), kare_args = list(), threads = default_threads(),
                   progress = progress_default()) {
  cl <- match.call()
  # a PLINK fileset (prefix or handle): its genotypes (counts of A1, NA for missing)
  if (is_plink_input(genotypes))
    genotypes <- read_plink(genotypes, threads = check_threads(threads))$genotypes
  convert <- needs_double_copy(genotypes)
  G <- check_numeric_matrix(genotypes, "genotypes", allow_na = TRUE, min_rows = 3L)
  warn_transposed(G, "genotypes")
  n <- nrow(G)
  if (length(y) != n && length(y) == ncol(G))
    stop_arg("genotypes", "has ", n, " rows but `y` has ", length(y), " values, as many as ",
             "it has columns: is it transposed? Individuals must be in rows.")
  y <- check_numeric_vector(y, "y", n = n, allow_na = TRUE)
  if (!is.null(X)) X <- check_covariates(X, n)
  all_methods <- c("gblup", "ntk_lmm", "ntk_krr", "rkhs", "mlp", "ntk_kare")
  if (!is.character(methods) || !length(methods) || anyNA(methods) ||
      !all(methods %in% all_methods))
    stop_arg("methods", "must be a subset of ", paste0('"', all_methods, '"', collapse = ", "), ".")
  methods <- unique(methods)
  if (is.null(depth)) depth <- if (ncol(G) <= 50L) 2L else 3L
  depth <- vapply(depth, check_number, 0, arg = "depth", lower = 1, upper = 100, integer = TRUE)
  kernels <- check_choice(kernels, c("all", "fold"), "kernels")
  threads <- check_threads(threads)
  progress <- check_flag(progress, "progress")
  lmm_args <- study_check_args(lmm_args, "lmm_args", ntk_lmm.default, c("y", "K", "X"))
  krr_args <- study_check_args(krr_args, "krr_args", ntk_krr.default, c("y", "K", "X"))
  mlp_args <- study_check_args(mlp_args, "mlp_args", mlp_fit, c("X", "y"))
  kare_args <- study_check_args(kare_args, "kare_args", ntk_kare, c("X", "y", "threads"))
  obs <- which(!is.na(y))
  if (length(obs) < 6L) stop_arg("y", "has fewer than 6 observed values.")
  # folds over the observed individuals: given, or drawn `reps` times
  if (!is.null(foldid)) {
    if (length(foldid) != n) stop_arg("foldid", "must have length ", n, " (", length(foldid), " given).")
    fo <- foldid[obs]
    if (anyNA(fo)) stop_arg("foldid", "must not be NA where `y` is observed.")
    lev <- sort(unique(fo))
    if (length(lev) < 2L) stop_arg("foldid", "must define at least 2 folds.")
    folds <- list(stats::setNames(match(fo, lev), obs))
  } else {
    nfolds <- check_number(nfolds, "nfolds", lower = 2, upper = length(obs), integer = TRUE)
    reps <- check_number(reps, "reps", lower = 1, upper = 1e4, integer = TRUE)
    folds <- lapply(seq_len(reps), function(r)
      stats::setNames(sample(rep(seq_len(nfolds), length.out = length(obs))), obs))
  }
  labels <- cv_labels(methods, depth)
  cv_check_memory(G, convert, folds, methods, depth, kernels, X, lmm_args, krr_args,
                  mlp_args, kare_args)
  # kernels over all genotyped individuals, once
  kall <- if (kernels == "all") cv_kernels(G, methods, depth, threads) else NULL
  tasks <- unlist(lapply(seq_along(folds), function(r)
    lapply(sort(unique(folds[[r]])), function(f) list(rep = r, fold = f))), recursive = FALSE)
  cfg <- list(G = G, y = y, X = X, methods = methods, depth = depth, kernels = kernels,
              kall = kall, lmm_args = lmm_args, krr_args = krr_args, mlp_args = mlp_args,
              kare_args = kare_args, threads = threads, folds = folds)
  parallel_run <- study_use_future()
  if (parallel_run && missing(threads)) cfg$threads <- 1L
  tick <- progress_ticker(length(tasks), "ntk_cv folds", progress, parallel_run)
  worker <- function(task) {
    out <- cv_fold(task, cfg)
    tick()
    out
  }
  res <- if (parallel_run) {
    future.apply::future_lapply(tasks, worker, future.seed = TRUE)
  } else lapply(tasks, worker)
  results <- do.call(rbind, lapply(res, `[[`, "results"))
  predictions <- do.call(rbind, lapply(res, `[[`, "predictions"))
  results$method <- factor(results$method, levels = labels)
  predictions$method <- factor(predictions$method, levels = labels)
  rownames(results) <- rownames(predictions) <- NULL
  structure(list(results = results, predictions = predictions,
                 summary = cv_summary(results, predictions),
                 settings = list(call = cl, methods = labels, kernels = kernels,
                                 nfolds = length(unique(folds[[1L]])), reps = length(folds),
                                 foldid_given = !is.null(foldid), n = n, nobs = length(obs),
                                 p = ncol(G), parallel = parallel_run)),
            class = "ntk_cv")
}

cv_labels <- function(methods, depth) {
  unlist(lapply(methods, function(m) if (m %in% c("ntk_lmm", "ntk_krr") && length(depth) > 1L)
    paste0(m, "_d", depth) else m))
}

# The kernels of the methods over the genotypes G (training kernels, with recipes).
cv_kernels <- function(G, methods, depth, threads) {
  K <- list()
  if ("gblup" %in% methods) K$grm <- grm(G, threads = threads)
  if (any(c("ntk_lmm", "ntk_krr") %in% methods))
    for (d in depth) K[[paste0("ntk", d)]] <- ntk_kernel(G, depth = d, threads = threads)
  if ("rkhs" %in% methods) K$rkhs <- gaussian_kernel(G, threads)
  K
}

# A Gaussian kernel exp(-d2 / median(d2)) of the standardised genotypes, d2 the squared
# distance / p, from the linear kernel (one BLAS Gram, the package's standardisation).
# Memory: the linear kernel is turned into the distances and then the kernel in place,
# column by column (outer() and the upper.tri() masks would make five n x n temporaries);
# the result carries no recipe (it is not the GRM's).
# (Written out here and in gaussian_fold(): a helper taking L would copy it, n^2 more.)
gaussian_kernel <- function(G, threads) {
  L <- grm(G, threads = threads)
  attributes(L) <- list(dim = dim(L), dimnames = dimnames(L))
  dg <- diag(L)
  for (j in seq_len(ncol(L))) L[, j] <- gaussian_d2(dg, dg[j], L[, j])
  h <- upper_median(L)
  if (!(h > 0)) stop_arg("genotypes", "gives no distance between individuals.")
  for (j in seq_len(ncol(L))) L[, j] <- exp(-L[, j] / h)
  L
}

# One column of squared distances d_i + e - 2 l_i, clamped at 0.
gaussian_d2 <- function(d, e, l) {
  v <- d + e - 2 * l
  v[v < 0] <- 0
  v
}

# The median of the strict upper triangle of the square D2 (the distinct pairs), gathered
# column by column as D2[upper.tri(D2)] orders them, without its n x n masks.
upper_median <- function(D2) {
  n <- nrow(D2)
  u <- numeric(n * (n - 1) / 2)
  k <- 0
  for (j in seq_len(n)[-1L]) {
    u[k + seq_len(j - 1L)] <- D2[seq_len(j - 1L), j]
    k <- k + j - 1L
  }
  stats::median(u)
}

# One fold of one repetition: every method fitted on the training individuals.
cv_fold <- function(task, cfg) {
  f <- cfg$folds[[task$rep]]
  ids <- as.integer(names(f))
  te <- ids[f == task$fold]
  tr <- ids[f != task$fold]
  y <- cfg$y
  Xtr <- if (is.null(cfg$X)) NULL else cfg$X[tr, , drop = FALSE]
  Xte <- if (is.null(cfg$X)) NULL else cfg$X[te, , drop = FALSE]
  kern <- function(name, builder) {
    if (!is.null(cfg$kall)) {
      K <- cfg$kall[[name]]
      return(list(K = K[tr, tr], Ks = K[te, tr, drop = FALSE]))
    }
    Kt <- builder(cfg$G[tr, , drop = FALSE])
    list(K = Kt, Ks = if (name == "rkhs") NULL else ntk_kernel_like(Kt, cfg$G[te, , drop = FALSE],
                                                                    threads = cfg$threads))
  }
  rows <- list()
  preds <- list()
  add <- function(label, pred, secs) {
    # a constant prediction (e.g. no genetic variance found) carries no information about
    # the ranking: its correlation counts as 0, flagged, rather than being dropped
    constant <- !anyNA(pred) && stats::sd(pred) == 0
    rows[[length(rows) + 1L]] <<- data.frame(rep = task$rep, fold = task$fold, method = label,
      n_test = length(te), cor = if (constant) 0 else study_cor(pred, y[te]),
      mse = mean((pred - y[te])^2), seconds = secs, constant = constant,
      stringsAsFactors = FALSE)
    preds[[length(preds) + 1L]] <<- data.frame(rep = task$rep, fold = task$fold, id = te,
      y = y[te], method = label, pred = unname(pred), stringsAsFactors = FALSE)
  }
  lmm_pred <- function(k) {
    fit <- do.call(ntk_lmm, c(list(y[tr], K = k$K, X = Xtr), cfg$lmm_args))
    stats::predict(fit, K_new = k$Ks, X_new = Xte)
  }
  # the previous method's (or fold's) kernel blocks and fit are garbage once released:
  # collect them before the next fit allocates its own, so that the peak is one fit's,
  # not two (see mem_cv())
  k <- fit <- K <- kr <- NULL
  release <- function() {
    k <<- fit <<- K <<- kr <<- NULL
    invisible(gc(verbose = FALSE))
  }
  for (m in cfg$methods) {
    release()
    if (m == "gblup") {
      secs <- study_time(p <- lmm_pred(kern("grm", function(G) grm(G, threads = cfg$threads))))
      add("gblup", p, secs)
    } else if (m %in% c("ntk_lmm", "ntk_krr")) {
      for (d in cfg$depth) {
        label <- if (length(cfg$depth) > 1L) paste0(m, "_d", d) else m
        builder <- function(G) ntk_kernel(G, depth = d, threads = cfg$threads)
        if (d != cfg$depth[1L]) release()     # (released before the first depth above)
        secs <- study_time({
          k <- kern(paste0("ntk", d), builder)
          p <- if (m == "ntk_lmm") lmm_pred(k) else {
            fit <- do.call(ntk_krr, c(list(y[tr], K = k$K, X = Xtr), cfg$krr_args))
            stats::predict(fit, K_new = k$Ks, X_new = Xte)
          }
        })
        add(label, p, secs)
      }
    } else if (m == "rkhs") {
      secs <- study_time({
        if (!is.null(cfg$kall)) k <- kern("rkhs", NULL) else {
          # per fold: the Gaussian kernel of training and test individuals with the
          # training standardisation and bandwidth
          k <- gaussian_fold(cfg$G, tr, te, cfg$threads)
          invisible(gc(verbose = FALSE))   # its linear kernels' and median's temporaries
        }
        p <- lmm_pred(k)
      })
      add("rkhs", p, secs)
    } else if (m == "mlp") {
      secs <- study_time({
        fit <- do.call(mlp_fit, c(list(X = cfg$G[tr, , drop = FALSE], y = y[tr]), cfg$mlp_args))
        p <- stats::predict(fit, newdata = cfg$G[te, , drop = FALSE])
      })
      add("mlp", p, secs)
    } else if (m == "ntk_kare") {
      secs <- study_time({
        fit <- do.call(ntk_kare, c(list(X = cfg$G[tr, , drop = FALSE], y = y[tr],
                                        threads = cfg$threads), cfg$kare_args))
        K <- kare_kernel(fit, threads = cfg$threads)
        kr <- ntk_krr(y[tr], K, criterion = "kare", offset = "gls", X = Xtr)
        p <- stats::predict(kr, newdata = cfg$G[te, , drop = FALSE], X_new = Xte,
                            threads = cfg$threads)
      })
      add("ntk_kare", p, secs)
    }
  }
  list(results = do.call(rbind, rows), predictions = do.call(rbind, preds))
}

# The Gaussian kernel of one fold from the training individuals alone: distances of the
# genotypes standardised with the training moments, bandwidth the training median.  As
# gaussian_kernel(), in place in the linear kernels.
gaussian_fold <- function(G, tr, te, threads) {
  L <- grm(G[tr, , drop = FALSE], threads = threads)
  Ls <- ntk_kernel_like(L, G[te, , drop = FALSE], threads = threads)
  dtr <- diag(L)
  # each test individual's kernel with itself, by the training standardisation
  st <- attr(L, "ntk")
  Zs <- standardize_columns(G[te, st$keep, drop = FALSE], st$center, st$scale, threads)
  dte <- rowSums(Zs^2) / st$p
  attributes(L) <- list(dim = dim(L), dimnames = dimnames(L))
  attributes(Ls) <- list(dim = dim(Ls), dimnames = dimnames(Ls))
  for (j in seq_len(ncol(L))) L[, j] <- gaussian_d2(dtr, dtr[j], L[, j])
  h <- upper_median(L)
  for (j in seq_len(ncol(L))) L[, j] <- exp(-L[, j] / h)
  for (j in seq_len(ncol(Ls))) Ls[, j] <- exp(-gaussian_d2(dte, dtr[j], Ls[, j]) / h)
  list(K = L, Ks = Ls)
}

cv_summary <- function(results, predictions) {
  by_m <- split(results, results$method, drop = TRUE)
  pooled <- vapply(split(predictions, predictions$method, drop = TRUE), function(d) {
    # pooled within each repetition, averaged over repetitions
    mean(vapply(split(d, d$rep), function(x) study_cor(x$pred, x$y), 0))
  }, 0)
  data.frame(method = names(by_m),
             cor = vapply(by_m, function(d) mean(d$cor, na.rm = TRUE), 0),
             cor_se = vapply(by_m, function(d) stats::sd(d$cor, na.rm = TRUE) /
                               sqrt(sum(!is.na(d$cor))), 0),
             cor_pooled = unname(pooled[names(by_m)]),
             mse = vapply(by_m, function(d) stats::weighted.mean(d$mse, d$n_test), 0),
             seconds = vapply(by_m, function(d) sum(d$seconds), 0),
             folds = vapply(by_m, nrow, 0L),
             constant = vapply(by_m, function(d) sum(d$constant), 0L),
             row.names = NULL, stringsAsFactors = FALSE)
}

#' @rdname ntk_cv
#' @param x,object an `ntk_cv` result.
#' @param ... unused.
#' @export
print.ntk_cv <- function(x, ...) {
  s <- x$settings
  cat("Cross-validation (ntk_cv): ", s$nobs, " individuals with phenotypes, ", s$p, " SNPs; ",
      s$nfolds, if (s$foldid_given) " given folds" else " folds", if (s$reps > 1L)
        paste0(" x ", s$reps, " repetitions"), "\n", sep = "")
  cat("Kernels: ", if (s$kernels == "all") "computed once over all genotyped individuals"
      else "computed per fold from the training individuals", "\n\n", sep = "")
  tab <- x$summary
  tab[, c("cor", "cor_se", "cor_pooled", "mse")] <- signif(tab[, c("cor", "cor_se", "cor_pooled", "mse")], 3)
  tab$seconds <- round(tab$seconds, 2)
  names(tab) <- c("method", "cor (mean of folds)", "SE", "cor (pooled)", "MSE", "seconds",
                  "folds", "constant")
  print(tab, row.names = FALSE)
  if (any(x$summary$constant > 0))
    cat("(constant: folds whose predictions were constant, counted with correlation 0)\n")
  invisible(x)
}

#' @rdname ntk_cv
#' @export
summary.ntk_cv <- function(object, ...) object$summary

#' @rdname ntk_cv
#' @export
plot.ntk_cv <- function(x, ...) {
  r <- x$results
  args <- list(formula = cor ~ method, data = r, ylab = "test correlation (per fold)",
               xlab = "", las = 2, main = "Cross-validation")
  user <- list(...)
  args[names(user)] <- user
  do.call(graphics::boxplot, args)
  invisible(x)
}
