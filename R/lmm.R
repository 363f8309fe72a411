#' Linear mixed model with kernel random effects: MINQUE, REML, heritability and BLUP
#'
#' Fits \deqn{y = X b + g_1 + \dots + g_q + e,\quad g_i \sim N(0, \sigma^2_i K_i),\quad
#' e \sim N(0, \sigma^2_e I)}{y = X b + g_1 + ... + g_q + e, g_i ~ N(0, s2_i K_i), e ~ N(0, s2_e I)}
#' where each \eqn{K_i} is a kernel over the individuals (a neural tangent kernel, a genomic
#' relationship matrix, ...), estimates the variance components by MINQUE or REML, the
#' fixed effects by generalised least squares and the genetic values by BLUP.  This is the
#' NTK-LMM of the NTK genetic-risk-prediction paper (with `grm()` as kernel it is GBLUP).
#'
#' @section Estimators:
#' All estimators solve the MINQUE equations \eqn{S\theta = q} with
#' \eqn{S_{ij} = tr(P K_i P K_j)}, \eqn{q_i = y' P K_i P y} (\eqn{K_e = I}, the residual
#' is the last component) and \eqn{P = V_0^{-1} - V_0^{-1}X(X'V_0^{-1}X)^{-1}X'V_0^{-1}}
#' for a-priori weights \eqn{w}, \eqn{V_0 = \sum_i w_i K_i + w_e I}:
#' * `"minque0"`: \eqn{w = (0, \dots, 0, 1)}, i.e. \eqn{V_0 = I} (Rao's MINQUE(0));
#' * `"minque1"` (default): weight 1 for every component, each kernel taken on its
#'   sample-variance scale \eqn{c_K} (below) and \eqn{y} on the scale of its standard
#'   deviation \eqn{s_y}, i.e. \eqn{w = s_y^2 (1/c_{K_1}, \dots, 1/c_{K_q}, 1)}: the prior
#'   guess is equal shares of phenotypic variance, and the estimator is invariant to
#'   rescaling a kernel and equivariant in the scale of \eqn{y};
#' * `"iminque"`: MINQUE iterated with the last estimates as weights until the relative
#'   change (on the phenotypic-variance scale) is below `tol`; its fixed point is REML
#'   (iterated MINQUE is Fisher scoring of the REML likelihood);
#' * `"reml"`: REML by average-information (AI) Newton steps with step halving, started from
#'   MINQUE1; it agrees with `"iminque"` at convergence.
#'
#' With `constrain = TRUE` (default) a negative estimate is set to zero (the boundary) and
#' the other components are re-estimated, repeatedly; the components so constrained are
#' listed in `$constrained`.  `constrain = FALSE` keeps the raw (possibly negative) values;
#' if then \eqn{V} is not positive definite at the estimates, BLUPs and fixed effects are
#' `NA` (with a warning).  (`"iminque"` needs a positive definite \eqn{V} at every
#' iterate: an unconstrained iteration that leaves that region stops with an error.)
#'
#' Standard errors (normal theory): for `"iminque"` and `"reml"` the inverse information
#' \eqn{2 S^{-1}} at the estimates; for the one-step `"minque0"` / `"minque1"` the sandwich
#' \eqn{S^{-1} C S^{-1}} with \eqn{C_{ij} = 2\,tr(P K_i P V P K_j P V)} at the estimates.
#' Constrained components have no SE (`NA`).  The fixed effects are the GLS estimates at the
#' estimated \eqn{V} with covariance \eqn{(X'V^{-1}X)^{-1}}.
#'
#' Computation: everything happens with the fixed effects projected out (QR of X).  With one
#' kernel the projected kernel is reduced once to tridiagonal form ([ntk_spectral()],
#' LAPACK `dsytrd`, \eqn{4/3 n^3} flops, no eigenvectors), after which every iteration,
#' the SEs and the likelihood are \eqn{O(n)}: traces and the log-determinant are sums over
#' the eigenvalues of the tridiagonal matrix, the quadratic forms tridiagonal solves, and
#' the BLUP one application of the Householder reflectors (as EMMA / FaST-LMM / GEMMA,
#' without their eigenvectors).  Individuals are matched by name: when `y` has names and
#' the kernel row names, `y` (and `X`) are put in the kernel's order (as rrBLUP's
#' `kin.blup` does), and two sets of names that differ are an error.  With several kernels each iteration needs one Cholesky
#' factorisation and a few triangular solves (\eqn{O((q+1) n^3)}).
#'
#' @section Heritability:
#' A kernel's scale is arbitrary, so the variance components are put on the phenotypic
#' scale with \eqn{c_K = tr(P_0 K P_0)/(n - r)}, the average sample variance that the
#' kernel induces once the fixed effects are projected out (\eqn{P_0 = I - X(X'X)^{-1}X'},
#' \eqn{r} = rank X, observed individuals only):
#' \deqn{h^2_i = \frac{\sigma^2_i c_{K_i}}{\sum_j \sigma^2_j c_{K_j} + \sigma^2_e}}{h2_i =
#' s2_i c_i / (sum_j s2_j c_j + s2_e)}
#' This is the share of phenotypic variance explained by kernel \eqn{i} whatever the
#' kernel's scale (for a GRM, \eqn{c_K \approx 1} and \eqn{h^2} is the usual SNP
#' heritability); its SE is by the delta method.  The raw ratio
#' \eqn{\sigma^2_i / (\sum_j \sigma^2_j + \sigma^2_e)} is reported as `h2_raw`.
#'
#' @section Missing phenotypes:
#' Individuals whose `y` is `NA` take no part in the estimation (the kernels and `X` are
#' restricted to the observed ones) but receive BLUP predictions through the kernel
#' columns of the observed individuals, the genomic-prediction idiom of BGLR and rrBLUP:
#' `fitted(fit)` covers every individual, `ranef(fit)` gives the genetic values of all.
#' Covariates must be complete for every individual.
#'
#' @param y numeric vector of phenotypes (`NA` allowed: predicted, not used), an `n x t`
#'   matrix of `t` traits (one decomposition of the kernel serves every trait with the
#'   same observed individuals; the result is then an `ntk_lmm_list` of `t` fits, equal
#'   to `t` separate fits), or, for the
#'   formula method, a formula `response ~ covariates`.
#' @param K one kernel (symmetric positive semi-definite n x n matrix over the individuals
#'   of `y`) or a named list of kernels, each adding a variance component.
#' @param X optional fixed-effect covariates: numeric matrix, data frame or vector with one
#'   row per individual.  An intercept is added unless `intercept = FALSE`.
#' @param method `"minque1"` (default), `"minque0"`, `"iminque"` or `"reml"`.
#' @param constrain logical; constrain negative variance components to zero.
#' @param intercept logical; add an intercept column to `X` (default method only; in the
#'   formula method use `- 1` / `+ 0`).
#' @param tol convergence tolerance of `"iminque"` / `"reml"` (relative change of the
#'   components on the phenotypic scale).
#' @param maxit maximum number of iterations of `"iminque"` / `"reml"`.
#' @param data data frame for the formula method (default: the formula's environment).
#' @param spectral optional decomposition of the one kernel from [ntk_spectral()] (over
#'   the observed individuals, with the fixed-effect design including the intercept
#'   projected out); checked against the model, and reused instead of a new one.
#' @param ... passed on to the default method (formula method); unused otherwise.
#' @return An object of class `ntk_lmm`, a list with `call`, `method`, `theta` (variance
#'   components, residual last), `se`, `vcov_theta`, `h2`, `h2_se`, `h2_raw`, `h2_raw_se`,
#'   `vp`, `vp_se`, `ck` (kernel scales \eqn{c_K}), `b`, `vcov_b`, `blup` (n x q genetic
#'   values of all individuals), `fitted.values`, `residuals`, `alpha` (\eqn{V^{-1}(y - Xb)} over
#'   the observed individuals) and `obs` (their indices), `loglik` (REML), `iter`,
#'   `converged`, `constrained`, `n`, `nobs` (observed individuals).  Methods: `print`, `summary`, `coef`, `vcov`,
#'   [ranef()], `fitted`, `residuals`, `logLik`, `predict`.
#' @references Rao, C. R. (1971). Estimation of variance and covariance components -
#'   MINQUE theory. *Journal of Multivariate Analysis* 1, 257-275.
#'
#'   Gilmour, A. R., Thompson, R. and Cullis, B. R. (1995). Average information REML.
#'   *Biometrics* 51, 1440-1450.
#' @seealso [predict.ntk_lmm()], [summary.ntk_lmm()].
#' @examples
#' set.seed(1)
#' n <- 120; p <- 300
#' G <- matrix(rbinom(n * p, 2, 0.3), n, p)
#' Z <- scale(G)
#' K <- tcrossprod(Z) / p                      # a simple PSD kernel (GRM)
#' age <- rnorm(n)
#' y <- drop(0.5 * age + Z %*% rnorm(p, sd = sqrt(0.5 / p)) + rnorm(n, sd = sqrt(0.5)))
#' fit <- ntk_lmm(y, K, X = cbind(age = age))
#' fit
#' fit_reml <- ntk_lmm(y ~ age, data = data.frame(y = y, age = age), K = K,
#'                     method = "reml")
#' summary(fit_reml)
#' # two kernels and missing phenotypes (predicted by BLUP)
#' y2 <- y; y2[1:10] <- NA
#' K2 <- tcrossprod(Z[, 1:50]) / 50
#' fit2 <- ntk_lmm(y2, list(a = K, b = K2), X = cbind(age = age))
#' fitted(fit2)[1:10]
#' @export
ntk_lmm <- function(y, ...) {
  if (missing(y)) return(formula_dispatch("ntk_lmm", list(...)))
  UseMethod("ntk_lmm")
}

# ntk_lmm(formula = y ~ x, K = K): the formula given by name goes to the formula method.
formula_dispatch <- function(fun, dots) {
  if (!inherits(dots$formula, "formula"))
    stop_arg("y", "is missing: give the phenotypes, or a formula as `y` or `formula`.")
  f <- dots$formula
  dots$formula <- NULL
  do.call(match.fun(paste0(fun, ".formula")), c(list(f), dots))
}

#' @rdname ntk_lmm
#' @export
ntk_lmm.default <- function(y, K, X = NULL, method = c("minque1", "minque0", "iminque", "reml"),
                            constrain = TRUE, intercept = TRUE, tol = 1e-8, maxit = 200L,
                            spectral = NULL, ...) {
  cl <- match.call()
  cl[[1L]] <- as.name("ntk_lmm")
  method <- lmm_check_method(method)
  intercept <- check_flag(intercept, "intercept")
  Y <- lmm_check_y(y)
  X <- check_covariates(X, nrow(Y))
  spec <- attr(X, "covariate_spec")
  if (intercept) X <- cbind(`(Intercept)` = rep(1, nrow(Y)), X)
  lmm_fit(Y, K, X, method, constrain, tol, maxit, spectral, cl,
          extra = list(x_names = colnames(X), intercept = intercept, x_spec = spec))
}

#' @rdname ntk_lmm
#' @export
ntk_lmm.formula <- function(y, data = NULL, K, method = c("minque1", "minque0", "iminque", "reml"),
                            constrain = TRUE, tol = 1e-8, maxit = 200L, spectral = NULL, ...) {
  cl <- match.call()
  cl[[1L]] <- as.name("ntk_lmm")
  method <- lmm_check_method(method)
  fr <- formula_frame(y, data)
  mf <- fr$mf
  tt <- fr$terms
  Y <- lmm_check_y(fr$y)
  X <- stats::model.matrix(tt, mf)
  if (anyNA(X)) {
    vars <- attr(tt, "term.labels")[unique(attr(X, "assign")[colSums(is.na(X)) > 0])]
    stop_arg("data", "has missing values in the covariate(s) ", paste(vars, collapse = ", "),
             " (only the response may be NA).")
  }
  lmm_fit(Y, K, X, method, constrain, tol, maxit, spectral, cl,
          extra = list(x_names = colnames(X), intercept = attr(tt, "intercept") == 1L,
                       terms = stats::delete.response(tt),
                       xlevels = stats::.getXlevels(tt, mf),
                       contrasts = attr(X, "contrasts")))
}

# The model frame of a two-sided formula over `data` (default: its environment), NA kept,
# and its numeric response named as formula_response() does.
formula_frame <- function(formula, data) {
  if (!inherits(formula, "formula") || length(formula) != 3L)
    stop_arg("y", "must be a two-sided formula (response ~ covariates).")
  if (is.null(data)) data <- environment(formula)
  mf <- stats::model.frame(formula, data = data, na.action = stats::na.pass,
                           drop.unused.levels = TRUE)
  yv <- stats::model.response(mf)
  if (!is.numeric(yv) && !is.logical(yv))
    stop_arg("y", "must have a numeric response (", class(yv)[1L], " given).")
  list(mf = mf, terms = attr(mf, "terms"), y = formula_response(yv, data))
}

# The response of a model frame, named by the data's row names only when they were set
# (automatic row names 1..n are no IDs to match to a kernel's row names).
formula_response <- function(yv, data) {
  ids <- if (is.data.frame(data) && .row_names_info(data) > 0L &&
             nrow(data) == NROW(yv)) rownames(data) else NULL
  if (is.matrix(yv)) {
    rownames(yv) <- ids
    return(yv)
  }
  yv <- as.vector(yv)
  names(yv) <- ids
  yv
}

lmm_methods <- c("minque1", "minque0", "iminque", "reml")

lmm_check_method <- function(method) check_choice(method, lmm_methods, "method", partial = TRUE,
                                                  ignore_case = TRUE)

# The phenotypes as an n x t matrix (a vector gives one column), names kept as row names;
# each trait checked: >= 3 observed values, not constant.
lmm_check_y <- function(y) {
  if (is.data.frame(y)) y <- as.matrix(y)
  if (is.matrix(y) && ncol(y) > 1L) {
    if (!is.numeric(y) && !is.logical(y))
      stop_arg("y", "must be a numeric vector or matrix (one column per trait), not ",
               typeof(y), ".")
    nms <- rownames(y)
    tn <- colnames(y)
    if (is.null(tn)) tn <- rep("", ncol(y))
    blank <- is.na(tn) | !nzchar(tn)
    tn[blank] <- paste0("trait", which(blank))
    if (anyDuplicated(tn)) stop_arg("y", "must have distinct column (trait) names.")
    Y <- matrix(0, nrow(y), ncol(y), dimnames = list(nms, tn))
    for (j in seq_len(ncol(y)))
      Y[, j] <- lmm_check_trait(y[, j], sprintf("y[, \"%s\"]", tn[j]))
    return(Y)
  }
  nms <- if (is.matrix(y)) rownames(y) else names(y)
  v <- lmm_check_trait(if (is.matrix(y)) y[, 1L] else y, "y")
  matrix(v, ncol = 1L, dimnames = list(nms, if (is.matrix(y)) colnames(y)))
}

lmm_check_trait <- function(y, arg) {
  y <- check_numeric_vector(y, arg, allow_na = TRUE)
  obs <- !is.na(y)
  if (sum(obs) < 3L)
    stop_arg(arg, "must have at least 3 observed (non-NA) values (", sum(obs), " given).")
  yo <- y[obs]
  if (max(abs(yo - mean(yo))) <= 1e-12 * max(abs(yo)))
    stop_arg(arg, "is constant over the observed individuals: nothing to decompose.")
  y
}

# Kernels as a named list, with the argument names used in errors.
lmm_kernel_list <- function(K, n, arg = "K") {
  if (is.list(K) && !is.data.frame(K)) {
    if (length(K) < 1L) stop_arg(arg, "must be a matrix or a non-empty list of matrices.")
    nms <- names(K)
    if (is.null(nms)) nms <- rep("", length(K))
    args <- ifelse(nzchar(nms), paste0(arg, "$", nms), paste0(arg, "[[", seq_along(K), "]]"))
    nms[!nzchar(nms)] <- paste0(arg, seq_along(K))[!nzchar(nms)]
    if (anyDuplicated(nms)) stop_arg(arg, "must have distinct names.")
  } else {
    K <- list(K)
    nms <- arg
    args <- arg
  }
  for (i in seq_along(K)) {
    Ki <- K[[i]]
    if ((is.matrix(Ki) || is.data.frame(Ki) || inherits(Ki, "Matrix")) && NROW(Ki) == NCOL(Ki) &&
        NROW(Ki) != n)
      stop_arg("y", "has length ", n, " but `", args[i], "` is ", NROW(Ki), " x ", NCOL(Ki),
               ": they must match.")
    K[[i]] <- check_kernel(Ki, args[i], n = n)
  }
  names(K) <- nms
  list(K = K, args = args, names = nms)
}

lmm_fit <- function(Y, K, X, method, constrain, tol, maxit, spectral, cl, extra) {
  constrain <- check_flag(constrain, "constrain")
  tol <- check_number(tol, "tol", lower = 0, open_lower = TRUE)
  maxit <- check_number(maxit, "maxit", lower = 1, integer = TRUE)
  kl <- lmm_kernel_list(K, nrow(Y))
  K <- kl$K
  m <- match_individuals(Y, X, K, kl$args)
  Y <- m$Y
  X <- m$X
  n <- nrow(Y)
  q <- length(K)
  if (!is.null(spectral) && q > 1L)
    stop_arg("spectral", "serves one kernel; the model has ", q, ".")
  lmm_check_memory(Y, X, q, method, spectral)
  # traits with the same observed individuals share one decomposition
  pattern <- apply(is.na(Y), 2L, function(v) paste(which(v), collapse = ","))
  fits <- vector("list", ncol(Y))
  for (pat in unique(pattern)) {
    cols <- which(pattern == pat)
    obs <- which(!is.na(Y[, cols[1L]]))
    Xo <- lmm_check_design(X, obs, n)
    # fit y / sy (sy: sd of each trait) and scale back: the AI-REML information
    # y'PKPKPy ~ sy^-4 would otherwise under- or overflow for |log10 sy| beyond ~75
    sy <- apply(Y[obs, cols, drop = FALSE], 2L, scaled_sd)
    Ys <- sweep(Y[obs, cols, drop = FALSE], 2L, sy, "/")
    if (q == 1L) {
      S <- lmm_spectral(spectral, K[[1L]], obs, Xo, kl$args[1L])
      rs <- .Call(C_lmm_fit_spectral, S, Ys, ntk_code("lmm_method", method),
                  as.integer(constrain), tol, maxit)
      rdef <- S$r < S$m || S$values[length(S$values)] <= 1e-10 * S$values[1L]
      for (j in seq_along(rs)) rs[[j]]$rank_deficient <- rdef
    } else {
      Ko <- if (length(obs) < n) lapply(K, function(Ki) Ki[obs, obs, drop = FALSE]) else K
      lmm_check_identifiable(Ko, Xo, kl$args)
      rs <- lapply(seq_along(cols), function(j)
        .Call(C_lmm_fit, Ys[, j], Xo, unname(Ko), ntk_code("lmm_method", method),
              as.integer(constrain), tol, maxit))
    }
    rs <- lapply(seq_along(cols), function(j)
      lmm_rescale(lmm_check_status(rs[[j]], kl$args, colnames(Y)[cols[j]], ncol(Y)),
                  sy[j], method, length(obs) - ncol(X), kl$args))
    # BLUPs of every trait of the group with one product per kernel (no n x n_obs copy)
    A <- matrix(0, n, length(cols))
    for (j in seq_along(cols)) A[obs, j] <- if (rs[[j]]$v_pd) rs[[j]]$alpha else 0
    KA <- lapply(K, function(Ki) Ki %*% A)
    for (j in seq_along(cols)) {
      fit <- lmm_build(rs[[j]], stats::setNames(Y[, cols[j]], rownames(Y)), K, X, obs,
                       kl$names, method, constrain,
                       Kalpha = vapply(KA, function(M) M[, j], numeric(n)))
      fit$call <- cl
      fit[names(extra)] <- extra
      fit$recipe <- lapply(K, kernel_recipe)
      if (q == 1L) fit$spectral <- S          # shared by every trait of the group
      fit$kernel_ids <- rownames(K[[1L]])
      if (ncol(Y) > 1L) fit$trait <- colnames(Y)[cols[j]]
      fits[[cols[j]]] <- fit
    }
  }
  if (ncol(Y) == 1L) return(fits[[1L]])
  names(fits) <- colnames(Y)
  structure(fits, class = "ntk_lmm_list", call = cl)
}

# Several kernels: the variance components are identifiable only if the projected
# kernels P0 K_i P0 and P0 (the residual) are linearly independent.  One check for every
# method: the correlation matrix of their Frobenius inner products must be well
# conditioned (its smallest eigenvalue above 1e-8), else an error naming the kernels.
# Cost O(q n^2 p + q^2 n^2).
lmm_check_identifiable <- function(Ko, Xo, args) {
  m <- nrow(Xo) - ncol(Xo)
  Q1 <- if (ncol(Xo)) qr.Q(qr(Xo)) else NULL
  proj <- function(K) {
    if (is.null(Q1)) return(K)
    KQ <- K %*% Q1
    K - Q1 %*% t(KQ) - KQ %*% t(Q1) + Q1 %*% (crossprod(Q1, KQ) %*% t(Q1))
  }
  PK <- lapply(Ko, proj)
  q <- length(PK)
  Gm <- matrix(0, q + 1L, q + 1L)
  for (i in seq_len(q)) {
    for (j in seq_len(i)) Gm[i, j] <- Gm[j, i] <- sum(PK[[i]] * PK[[j]])
    Gm[i, q + 1L] <- Gm[q + 1L, i] <- sum(diag(PK[[i]]))   # <P0 K P0, P0>
  }
  Gm[q + 1L, q + 1L] <- m
  d <- sqrt(diag(Gm))
  if (any(!(d > 0))) return(invisible())   # a vanishing kernel: named by the core
  Cm <- Gm / outer(d, d)
  ev <- eigen(Cm, symmetric = TRUE)
  if (min(ev$values) < 1e-8) {
    v <- ev$vectors[, length(ev$values)]
    who <- c(args, "the residual (identity)")[abs(v) > 0.1]
    stop_arg(args[1L], "and the other kernels are not identifiable: once `X` is projected ",
             "out, ", paste(who, collapse = ", "), " are (nearly) linearly dependent, so ",
             "their variance components cannot be told apart; drop one of them.")
  }
  invisible()
}

# X restricted to the observed individuals, checked for full column rank.
lmm_check_design <- function(X, obs, n) {
  Xo <- X[obs, , drop = FALSE]
  p <- ncol(X)
  if (p > 0L) {
    qx <- qr(Xo, tol = 1e-7)
    if (qx$rank < p) {
      drop <- colnames(X)[qx$pivot[(qx$rank + 1L):p]]
      stop_arg("X", "is rank deficient", if (length(obs) < n) " over the observed individuals",
               " (rank ", qx$rank, " < ", p, " columns); remove the column(s) ",
               paste(drop, collapse = ", "), ".")
    }
  }
  if (length(obs) - p < 2L)
    stop_arg("y", "has too few observed values (", length(obs), ") for ", p, " fixed effects.")
  Xo
}

# The decomposition of the one kernel over the observed individuals: the caller's
# (checked against the model) or a new tridiagonal one; its degeneracy checked relative
# to the kernel's own scale.
lmm_spectral <- function(spectral, K, obs, Xo, arg) {
  if (!is.null(spectral)) {
    why <- spectral_mismatch(spectral, K, obs, if (ncol(Xo)) Xo)
    if (!is.null(why)) stop_arg("spectral", why, ".")
    S <- spectral
  } else {
    spectral_check_diag(K, obs, arg)
    S <- spectral_make(K, obs, if (ncol(Xo)) Xo, "tridiag")
  }
  scale0 <- abs(S$trace0)
  if (!(S$trace > 1e-10 * scale0) || !(scale0 > 0))
    stop_arg(arg, "has no variance left once the fixed effects are projected out ",
             "(tr(P0 K P0) = ", signif(S$trace * S$scale, 3), ", ",
             signif(S$trace / max(scale0, 1e-300), 3), " of tr(K)).")
  ev <- S$values
  if (S$r == S$m && ev[1L] - ev[length(ev)] <= 1e-10 * abs(ev[1L]))
    stop("ntk_lmm: singular MINQUE system: the variance components are not identifiable: ",
         "`", arg, "` is proportional to the identity once `X` is projected out, i.e. to ",
         "the residual.", call. = FALSE)
  if (S$values[length(S$values)] < -1e-6 * S$trace)
    stop_arg(arg, "is not positive semi-definite (over the observed individuals, with the ",
             "fixed effects projected out, an eigenvalue is below -1e-6 times the trace: ",
             signif(S$values[length(S$values)] * S$scale, 3), ").")
  S
}

# Turns a failed core status into an error naming the kernel (or the trait).
lmm_check_status <- function(r, args, trait, ntrait) {
  st <- r$status
  if (st == 0L) return(r)
  who <- if (ntrait > 1L) paste0(" (trait \"", trait, "\")") else ""
  if (r$bad_kernel > 0L) {
    a <- args[r$bad_kernel]
    if (st == ntk_code("status", "not_pd"))
      stop_arg(a, "is not positive semi-definite (over the observed individuals, with the ",
               "fixed effects projected out, K + 1e-6 tr(K) I has no Cholesky factor).")
    stop_arg(a, "has no variance left once the fixed effects are projected out.")
  }
  if (st == ntk_code("status", "not_pd"))
    stop("ntk_lmm: V is not positive definite at the estimates", who,
         " (try `constrain` = TRUE)", call. = FALSE)
  if (st == ntk_code("status", "singular"))
    stop("ntk_lmm: singular MINQUE system", who, ": the variance components are not ",
         "identifiable (is a kernel in `K` proportional to the identity, i.e. to the ",
         "residual, or are the kernels linearly dependent once `X` is projected out?)",
         call. = FALSE)
  stop("ntk_lmm: the fit failed", who, " (status ", st, ").", call. = FALSE)
}

# REML log-likelihood of y = X b + e (no kernel) at its maximum, in the convention of the
# core's (no log|X'X| term): -(m / 2) (log 2 pi + log(RSS / m) + 1), m = n - rank X.
lmm_null_loglik <- function(y, X) {
  rss <- if (ncol(X)) sum(qr.resid(qr(X), y)^2) else sum(y^2)
  m <- length(y) - ncol(X)
  -0.5 * m * (log(2 * pi) + log(rss / m) + 1)
}

# p-value of a likelihood-ratio statistic for df variance components on the boundary of
# their space: the mixture 0.5 chi2_{df-1} + 0.5 chi2_df (Self and Liang 1987; chi2_0 a
# point mass at 0).
boundary_p <- function(stat, df) {
  if (!is.finite(stat)) return(NA_real_)
  lo <- if (df - 1L == 0L) as.numeric(stat <= 0) else
    stats::pchisq(stat, df - 1L, lower.tail = FALSE)
  0.5 * lo + 0.5 * stats::pchisq(stat, df, lower.tail = FALSE)
}

# Back from the scale y / sy of the core to the scale of y.  `args`: the kernels' argument
# names, for a component that is beyond double precision because of its kernel's scale.
lmm_rescale <- function(r, sy, method, df, args = NULL) {
  r$theta <- r$theta * sy^2
  r$vcov <- r$vcov * sy^4
  if (method %in% c("iminque", "reml")) {   # S at the estimates, not at a-priori weights
    r$weights <- r$weights * sy^2
    r$S <- r$S / sy^4
  }
  r$b <- r$b * sy
  r$vcov_b <- r$vcov_b * sy^2
  r$alpha <- r$alpha / sy
  r$loglik <- r$loglik - df * log(sy)
  bad <- which(!is.finite(r$theta))
  if (r$status == 0L && length(bad) && length(args) && all(bad <= length(args)) &&
      is.finite(sy^2))   # V(e) fine, a kernel's component not: the kernel's scale
    stop_arg(args[bad[1L]], "has a scale (c_K = ", format(r$ck[bad[1L]], digits = 3),
             ", its average sample variance) for which its variance component is beyond ",
             "double precision; rescale `", args[bad[1L]], "`.")
  if (r$status == 0L && (any(!is.finite(r$theta)) || (r$v_pd && any(!is.finite(r$alpha)))))
    stop("ntk_lmm: the variance components of `y` (sd ", format(sy, digits = 3), ") are ",
         "beyond double precision (", format(sy^2, digits = 3), "); rescale `y`.",
         call. = FALSE)
  r
}

lmm_build <- function(r, y, K, X, obs, knames, method, constrain, Kalpha) {
  q <- length(K)
  k <- q + 1L
  comp <- c(knames, "residual")
  theta <- stats::setNames(r$theta, comp)
  fixed <- stats::setNames(r$fixed, comp)
  vt <- r$vcov
  vt[fixed, ] <- 0
  vt[, fixed] <- 0
  dimnames(vt) <- list(comp, comp)
  se <- sqrt(pmax(diag(vt), 0))
  se[fixed] <- NA_real_
  ck <- stats::setNames(r$ck, comp)
  # h2 and raw ratio with delta-method SEs
  a <- theta * ck
  tot <- sum(a)
  h2 <- h2_se <- h2_raw <- h2_raw_se <- stats::setNames(numeric(q), knames)
  tot_raw <- sum(theta)
  for (i in seq_len(q)) {
    g <- ck * ((seq_len(k) == i) * tot - a[i]) / tot^2
    h2[i] <- a[i] / tot
    h2_se[i] <- sqrt(max(drop(crossprod(g, vt %*% g)), 0))
    gr <- ((seq_len(k) == i) * tot_raw - theta[i]) / tot_raw^2
    h2_raw[i] <- theta[i] / tot_raw
    h2_raw_se[i] <- sqrt(max(drop(crossprod(gr, vt %*% gr)), 0))
  }
  h2_se[fixed[seq_len(q)]] <- NA_real_
  h2_raw_se[fixed[seq_len(q)]] <- NA_real_
  vp_se <- sqrt(max(drop(crossprod(ck, vt %*% ck)), 0))
  # total h2 of all kernels, delta method
  gen <- seq_len(k) <= q
  ag <- sum(a[gen])
  gt <- ck * (gen * tot - ag) / tot^2
  h2_total <- ag / tot
  h2_total_se <- if (all(fixed[gen])) NA_real_ else sqrt(max(drop(crossprod(gt, vt %*% gt)), 0))
  # the null model (no kernel): REML log-likelihood on the same scale, and the
  # likelihood-ratio test of no genetic variance (REML / iterated MINQUE, which maximise
  # the REML likelihood; one kernel: boundary mixture 0.5 chi2_0 + 0.5 chi2_1)
  ll0 <- lmm_null_loglik(y[obs], X[obs, , drop = FALSE])
  lrt <- lrt_p <- NA_real_
  if (method %in% c("reml", "iminque") && is.finite(r$loglik)) {
    # every genetic component on the boundary 0: the fit is the null model, whose
    # statistic is 0 exactly (not the rounding of two equal log-likelihoods, which would
    # turn the boundary p-value 1 into 0.5)
    lrt <- if (all(r$theta[seq_len(q)] == 0)) 0 else max(2 * (r$loglik - ll0), 0)
    if (q == 1L) lrt_p <- boundary_p(lrt, 1L)
  }
  # fixed effects, BLUPs, fitted values
  b <- stats::setNames(r$b, colnames(X))
  vb <- r$vcov_b
  dimnames(vb) <- list(colnames(X), colnames(X))
  alpha <- r$alpha
  n <- length(y)
  ids <- names(y)
  if (is.null(ids)) ids <- rownames(K[[1L]])
  Kalpha <- matrix(Kalpha, n, q)
  blup <- matrix(NA_real_, n, q, dimnames = list(ids, knames))
  if (r$v_pd) {
    # Kalpha[, i] = K_i %*% alpha padded with zeros for the unobserved
    for (i in seq_len(q)) blup[, i] <- theta[i] * Kalpha[, i]
  } else if (constrain && theta[k] <= 0) {
    warning("V = sum of V(K_i) K_i is singular at the estimates: the residual variance is ",
            "0 and the kernel(s) rank-deficient, so fixed effects and BLUPs are NA; the ",
            "phenotypes lie (nearly) in the kernels' column space.", call. = FALSE)
  } else {
    warning("V is not positive definite at the ", if (!constrain) "(unconstrained) ",
            "estimates: fixed effects and BLUPs are NA",
            if (!constrain) "; use constrain = TRUE", ".", call. = FALSE)
  }
  # a residual variance on its boundary 0 with a rank-deficient kernel: the REML
  # likelihood grows without bound towards V(e) = 0, so "converged" and h2 = 1 are no
  # estimate; say so rather than report them as one
  boundary <- method %in% c("iminque", "reml") && isTRUE(r$rank_deficient) &&
    theta[k] <= 1e-3 * max(tot, .Machine$double.xmin)
  if (boundary)
    warning("the residual variance went to its boundary 0 with a rank-deficient kernel: ",
            "the REML likelihood has no maximum there (it increases towards V(e) = 0), so ",
            "h2 = ", format(h2[1L], digits = 3), " is not an estimate; the phenotypes lie ",
            "(nearly) in the kernel's column space (too few SNPs for the individuals, or a ",
            "kernel fitted to y).", call. = FALSE)
  xb <- if (ncol(X) > 0L) drop(X %*% b) else rep(0, n)
  fitted <- stats::setNames(xb + rowSums(blup), ids)
  res <- stats::setNames(y - fitted, ids)
  if (method %in% c("iminque", "reml") && !r$converged && !boundary)
    warning("ntk_lmm(method = \"", method, "\") did not converge in ", r$iter,
            " iterations; increase `maxit`.", call. = FALSE)
  structure(list(
    call = NULL, method = method, theta = theta, se = se, vcov_theta = vt,
    h2 = h2, h2_se = h2_se, h2_raw = h2_raw, h2_raw_se = h2_raw_se, vp = tot, vp_se = vp_se,
    h2_total = h2_total, h2_total_se = h2_total_se, loglik0 = ll0, lrt = lrt, lrt_p = lrt_p,
    ck = ck, b = b, vcov_b = vb, blup = blup, fitted.values = fitted, residuals = res,
    alpha = alpha, obs = obs, loglik = r$loglik, iter = r$iter,
    converged = r$converged, constrained = comp[fixed], constrain = constrain,
    weights = stats::setNames(r$weights, comp), S = r$S, v_pd = r$v_pd,
    n = n, nobs = length(obs), kernel_names = knames, y = y
  ), class = "ntk_lmm")
}
