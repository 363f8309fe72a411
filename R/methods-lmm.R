#' Methods for `ntk_lmm` fits
#'
#' `coef()` returns the fixed effects (`which = "fixed"`), the variance components
#' (`"varcomp"`, residual last) or the heritabilities (`"h2"`); `vcov()` their covariance
#' matrices (`"fixed"`: \eqn{(X'V^{-1}X)^{-1}}; `"varcomp"`: see [ntk_lmm()]).
#' `fitted()` gives \eqn{X\hat b + \sum_i \hat g_i} for every individual of the kernel,
#' including those with a missing phenotype (their prediction); `residuals()` is
#' \eqn{y -} fitted (`NA` where `y` is).  `logLik()` is the REML log-likelihood
#' \eqn{-\frac12[(n-r)\log 2\pi + \log|Q_2'VQ_2| + y'Py]} at the estimates (for the one-step
#' MINQUE methods evaluated at the MINQUE estimates).
#'
#' @param object,x an `ntk_lmm` fit.
#' @param which what to return: `"fixed"`, `"varcomp"` or (for `coef`) `"h2"`.
#' @param digits significant digits to print.
#' @param ... unused.
#' @return See the description; `summary()` returns an object of class `summary.ntk_lmm`
#'   with a `varcomp` table (GCTA `.hsq` layout: source, estimate, SE) and a `fixed`
#'   table (estimate, SE, z, p-value).
#' @examples
#' set.seed(2)
#' n <- 100; p <- 200
#' Z <- scale(matrix(rbinom(n * p, 2, 0.4), n, p))
#' K <- tcrossprod(Z) / p
#' y <- drop(Z %*% rnorm(p, sd = sqrt(0.6 / p)) + rnorm(n, sd = sqrt(0.4)))
#' fit <- ntk_lmm(y, K, method = "reml")
#' summary(fit)
#' coef(fit, "varcomp")
#' vcov(fit, "varcomp")
#' logLik(fit)
#' head(ranef(fit))
#' head(residuals(fit))
#' @name ntk_lmm-methods
NULL

#' @rdname ntk_lmm-methods
#' @export
print.ntk_lmm <- function(x, digits = 4L, ...) {
  digits <- check_number(digits, "digits", lower = 1, upper = 22, integer = TRUE)
  cat("Linear mixed model (ntk_lmm), method ", x$method, "\n", sep = "")
  if (!is.null(x$call)) cat("Call: ", paste(deparse(x$call), collapse = "\n"), "\n", sep = "")
  cat(x$nobs, " observed individuals", if (x$n > x$nobs)
    paste0(", ", x$n - x$nobs, " with missing phenotype (predicted)"), "\n", sep = "")
  cat("\nVariance components:\n")
  print(signif(rbind(estimate = x$theta, SE = x$se), digits))
  cat("\nHeritability (c_K scaled):\n")
  print(signif(rbind(h2 = x$h2, SE = x$h2_se), digits))
  if (length(x$b)) {
    cat("\nFixed effects:\n")
    print(signif(x$b, digits))
  }
  if (length(x$constrained))
    cat("\nConstrained to zero: ", paste(x$constrained, collapse = ", "), "\n", sep = "")
  if (x$method %in% c("iminque", "reml"))
    cat("\n", if (x$converged) "Converged" else "NOT converged", " in ", x$iter,
        " iterations\n", sep = "")
  invisible(x)
}

#' @rdname ntk_lmm-methods
#' @export
summary.ntk_lmm <- function(object, ...) {
  q <- length(object$kernel_names)
  kn <- object$kernel_names
  src <- c(paste0("V(", kn, ")"), "V(e)", "Vp", paste0("V(", kn, ")/Vp"),
           paste0("V(", kn, ")/Vp_raw"))
  est <- c(object$theta, object$vp, object$h2, object$h2_raw)
  se <- c(object$se, object$vp_se, object$h2_se, object$h2_raw_se)
  vc <- data.frame(Source = src, Variance = unname(est), SE = unname(se),
                   stringsAsFactors = FALSE)
  fx <- NULL
  if (length(object$b)) {
    sb <- sqrt(pmax(diag(object$vcov_b), 0))
    z <- object$b / sb
    fx <- cbind(Estimate = object$b, SE = sb, `z value` = z,
                `Pr(>|z|)` = 2 * stats::pnorm(-abs(z)))
  }
  if (q > 1L) vc <- rbind(vc, data.frame(Source = "sum of V(K_i)/Vp", Variance = object$h2_total,
                                         SE = object$h2_total_se, stringsAsFactors = FALSE))
  structure(list(call = object$call, method = object$method, varcomp = vc, fixed = fx,
                 ck = object$ck[seq_len(q)], loglik = object$loglik, loglik0 = object$loglik0,
                 lrt = object$lrt, lrt_p = object$lrt_p, q = q, n = object$n,
                 nobs = object$nobs, constrained = object$constrained,
                 iter = object$iter, converged = object$converged),
            class = "summary.ntk_lmm")
}

#' @rdname ntk_lmm-methods
#' @export
print.summary.ntk_lmm <- function(x, digits = 4L, ...) {
  digits <- check_number(digits, "digits", lower = 1, upper = 22, integer = TRUE)
  cat("Linear mixed model (ntk_lmm), method ", x$method, "\n", sep = "")
  if (!is.null(x$call)) cat("Call: ", paste(deparse(x$call), collapse = "\n"), "\n", sep = "")
  cat("\n")
  vc <- x$varcomp
  vc$Variance <- signif(vc$Variance, digits)
  vc$SE <- signif(vc$SE, digits)
  print(vc, row.names = FALSE)
  cat("logL (REML)\t", format(x$loglik, digits = digits + 3L), "\n", sep = "")
  if (!is.null(x$loglik0)) {
    cat("logL0\t", format(x$loglik0, digits = digits + 3L), "\t(null model, no kernel)\n",
        sep = "")
    if (!is.na(x$lrt)) {
      cat("LRT\t", format(x$lrt, digits = digits), "\n", sep = "")
      if (x$q == 1L)
        cat("df\t1\nPval\t", format.pval(x$lrt_p, digits = digits),
            "\t(h2 = 0 vs > 0: 0.5 chi2_0 + 0.5 chi2_1)\n", sep = "")
      else cat("\t(all kernels vs none; for one kernel at a time use anova() of nested fits)\n")
    } else cat("LRT\tnot reported: method \"", x$method, "\" does not maximise the REML ",
               "likelihood (use \"reml\")\n", sep = "")
  }
  cat("n\t", x$nobs, if (x$n > x$nobs) paste0(" (+ ", x$n - x$nobs, " predicted)"), "\n",
      sep = "")
  cat("\nVp = sum_i V(K_i) c_K + V(e); kernel scales c_K: ",
      paste(names(x$ck), signif(x$ck, digits), sep = " = ", collapse = ", "), "\n", sep = "")
  cat("V(K)/Vp is the heritability to quote: the share of phenotypic variance explained,\n",
      "  whatever the kernel's scale (each V(K) times the sample variance c_K its kernel\n",
      "  induces; for a GRM c_K ~ 1 and it is the usual SNP heritability).\n",
      "V(K)/Vp_raw = V(K) / (sum_i V(K_i) + V(e)) ignores the kernel's scale: comparable\n",
      "  across fits only for kernels with c_K = 1.\n", sep = "")
  if (length(x$constrained))
    cat("Constrained to zero (no SE): ", paste(x$constrained, collapse = ", "), "\n", sep = "")
  if (x$method %in% c("iminque", "reml"))
    cat(if (x$converged) "Converged" else "NOT converged", " in ", x$iter, " iterations\n",
        sep = "")
  if (!is.null(x$fixed)) {
    cat("\nFixed effects (GLS):\n")
    stats::printCoefmat(x$fixed, digits = digits)
  }
  invisible(x)
}

#' @rdname ntk_lmm-methods
#' @export
coef.ntk_lmm <- function(object, which = c("fixed", "varcomp", "h2"), ...) {
  which <- check_choice(which, c("fixed", "varcomp", "h2"), "which", partial = TRUE)
  switch(which, fixed = object$b, varcomp = object$theta, h2 = object$h2)
}

#' @rdname ntk_lmm-methods
#' @export
vcov.ntk_lmm <- function(object, which = c("fixed", "varcomp"), ...) {
  which <- check_choice(which, c("fixed", "varcomp"), "which", partial = TRUE)
  switch(which, fixed = object$vcov_b, varcomp = object$vcov_theta)
}

#' @rdname ntk_lmm-methods
#' @export
fitted.ntk_lmm <- function(object, ...) object$fitted.values

#' @rdname ntk_lmm-methods
#' @export
residuals.ntk_lmm <- function(object, ...) object$residuals

#' @rdname ntk_lmm-methods
#' @export
logLik.ntk_lmm <- function(object, ...) {
  structure(object$loglik, df = length(object$theta) + length(object$b),
            nobs = object$nobs, class = "logLik")
}

#' BLUPs of the genetic values of an `ntk_lmm` fit
#'
#' `ranef()` (the generic of package nlme, re-exported) returns the BLUPs
#' \eqn{\hat g_i = \hat\sigma^2_i K_i[, obs] V^{-1}(y - X\hat b)} of every individual of the
#' kernels, including those with a missing phenotype.
#' @param object an `ntk_lmm` fit.
#' @param ... unused.
#' @return A named vector (one kernel) or an n x q matrix, one column per kernel.
#' @examples
#' set.seed(3)
#' n <- 80; p <- 150
#' Z <- scale(matrix(rbinom(n * p, 2, 0.5), n, p))
#' K <- tcrossprod(Z) / p
#' y <- drop(Z %*% rnorm(p, sd = sqrt(0.5 / p)) + rnorm(n, sd = sqrt(0.5)))
#' y[1:5] <- NA
#' fit <- ntk_lmm(y, K)
#' ranef(fit)[1:5]      # genetic values of the unphenotyped individuals
#' @importFrom nlme ranef
#' @method ranef ntk_lmm
#' @export
ranef.ntk_lmm <- function(object, ...) {
  if (ncol(object$blup) == 1L) stats::setNames(object$blup[, 1L], rownames(object$blup))
  else object$blup
}

#' @importFrom nlme ranef
#' @export
nlme::ranef

#' Predictions from an `ntk_lmm` fit
#'
#' \eqn{\hat y_{new} = X_{new}\hat b + \sum_i \hat\sigma^2_i K_{new,i}\,\alpha} with
#' \eqn{\alpha = V^{-1}(y - X\hat b)} over the observed training individuals, i.e. the BLUP
#' of the new individuals' genetic values plus their fixed part.
#'
#' @param object an `ntk_lmm` fit.
#' @param K_new test-by-train kernel: an m x n matrix whose columns are the individuals of the
#'   training kernel in their order -- ALL of them, including those whose phenotype was `NA`
#'   (their columns are ignored) -- as returned by `ntk_kernel(X, Z)` / `grm(X, Z)`; for a fit
#'   with several kernels a list of such matrices, named like the training kernels (or in the
#'   same order).  `NULL`: the fitted values of the training individuals.
#' @param X_new covariates of the new individuals (default-method fits): a matrix / data
#'   frame with the columns of `X` (without the intercept, which is added as in the fit).
#'   Needed only when the fit has covariates besides the intercept.
#' @param newdata genotypes of the new individuals (a matrix or data frame with the SNP
#'   columns of the training genotypes): the fit builds the test-by-train kernel(s) by the
#'   recipe of its training kernel(s) (see [ntk_kernel_like()]).  For formula fits with
#'   covariates, give their values as a data frame in `X_new` (a data frame `newdata`
#'   together with `K_new` is also read as the covariates, as before).
#' @param threads threads for building kernels from `newdata`.
#' @param se.fit logical; also return the prediction error SD of each new individual's
#'   BLUP genetic value, \eqn{\sqrt{PEV}} with
#'   \eqn{PEV = \sigma^2_g k_{**} - \sigma^4_g k_*' P k_*}{PEV = s2g k** - s2g^2 k*' P k*}
#'   (Henderson; \eqn{P} accounts for the estimated fixed effects), and its reliability
#'   \eqn{1 - PEV / (\sigma^2_g k_{**})}{1 - PEV / (s2g k**)} (one-kernel fits; the
#'   variance components taken as known).
#' @param K_new_diag for `se.fit` with a user-made `K_new` without the attribute `"diag"`:
#'   each new individual's kernel value with itself.
#' @param ... unused.
#' @return A numeric vector of m predictions; with `se.fit = TRUE` a list with `fit`,
#'   `se.fit` and `reliability`.
#' @examples
#' set.seed(4)
#' n <- 100; m <- 20; p <- 200
#' Z <- scale(matrix(rbinom((n + m) * p, 2, 0.3), n + m, p))
#' Kall <- tcrossprod(Z) / p
#' y <- drop(Z %*% rnorm(p, sd = sqrt(0.5 / p)) + rnorm(n + m, sd = sqrt(0.5)))
#' tr <- 1:n; te <- n + 1:m
#' fit <- ntk_lmm(y[tr], Kall[tr, tr])
#' pred <- predict(fit, K_new = Kall[te, tr])
#' cor(pred, y[te])
#' @export
predict.ntk_lmm <- function(object, K_new = NULL, X_new = NULL, newdata = NULL,
                            threads = default_threads(), se.fit = FALSE, K_new_diag = NULL,
                            ...) {
  se.fit <- check_flag(se.fit, "se.fit")
  lmm_check_object(object)
  # formula fits: a data frame `newdata` next to `K_new` holds the covariates
  covars <- NULL
  if (!is.null(object$terms) && is.data.frame(newdata) && !is.null(K_new)) {
    covars <- newdata
    newdata <- NULL
  }
  if (is.null(K_new) && is.null(newdata)) {
    if (!is.null(X_new)) stop_arg("K_new", "or `newdata` is needed to predict new individuals.")
    return(object$fitted.values)
  }
  K_new <- predict_kernels(object$recipe, object$kernel_names, object$n, newdata, K_new,
                           threads, ids = object$kernel_ids)
  m <- nrow(K_new[[1L]])
  if (!is.null(object$terms) && is.null(covars) && is.data.frame(X_new)) covars <- X_new
  xb <- lmm_new_fixed(object, X_new, covars, m)
  g <- rep(0, m)
  if (object$v_pd)
    for (i in seq_along(K_new))
      g <- g + object$theta[i] * drop(K_new[[i]][, object$obs, drop = FALSE] %*% object$alpha)
  else g <- rep(NA_real_, m)
  fit <- stats::setNames(xb + g, rownames(K_new[[1L]]))
  if (!se.fit) return(fit)
  pev <- lmm_pev(object, K_new[[1L]], if (is.null(K_new_diag)) attr(K_new[[1L]], "diag")
                 else K_new_diag)
  list(fit = fit, se.fit = stats::setNames(sqrt(pev$pev), names(fit)),
       reliability = stats::setNames(pev$reliability, names(fit)))
}

# Prediction error variance of the BLUP of new individuals' genetic values,
# PEV = s2_g k** - s2_g^2 k*' P k* with P = V^-1 - V^-1 X (X'V^-1 X)^-1 X'V^-1 over the
# observed training individuals (Henderson), from the fit's decomposition: P = B D^-1 B'.
lmm_pev <- function(object, Kn, kdiag) {
  if (length(object$kernel_names) != 1L || !inherits(object$spectral, "ntk_spectral"))
    stop_arg("se.fit", "is available for fits with one kernel (this fit has ",
             length(object$kernel_names), ").")
  m <- nrow(Kn)
  if (is.null(kdiag))
    stop_arg("K_new_diag", "is needed for `se.fit`: the kernel of each new individual with ",
             "itself (kernels from ntk_kernel(X, Z), grm(X, Z) or predict(newdata =) carry it).")
  kdiag <- check_numeric_vector(kdiag, "K_new_diag", n = m)
  if (!object$v_pd) return(list(pev = rep(NA_real_, m), reliability = rep(NA_real_, m)))
  sg <- object$theta[1L]
  se <- object$theta[2L]
  q <- .Call(C_spectral_quad, object$spectral, t(Kn[, object$obs, drop = FALSE]), sg, se)
  pev <- pmax(sg * kdiag - sg^2 * q, 0)
  list(pev = pev, reliability = ifelse(sg * kdiag > 0, 1 - pev / (sg * kdiag), NA_real_))
}

lmm_new_fixed <- function(object, X_new, newdata, m) {
  b <- object$b
  if (!length(b)) return(rep(0, m))
  if (!is.null(object$terms)) {
    covars <- length(attr(object$terms, "term.labels")) > 0L
    if (!covars) return(rep(b[1L], m))
    if (is.null(newdata)) stop_arg("X_new", "(a data frame of the covariates) is needed: the fit has covariates.")
    if (!is.data.frame(newdata)) stop_arg("X_new", "must be a data frame of the covariates.")
    mf <- stats::model.frame(object$terms, newdata, na.action = stats::na.pass,
                             xlev = object$xlevels)
    X <- stats::model.matrix(object$terms, mf, contrasts.arg = object$contrasts)
    if (nrow(X) != m) stop_arg("newdata", "must have ", m, " rows, one per row of `K_new`.")
    if (anyNA(X)) stop_arg("newdata", "has missing covariate values.")
    return(drop(X %*% b))
  }
  user <- setdiff(object$x_names, if (object$intercept) "(Intercept)")
  if (!length(user)) return(rep(b[1L], m))
  if (is.null(X_new)) stop_arg("X_new", "is needed: the fit has covariates ",
                               paste(user, collapse = ", "), ".")
  X <- check_covariates(X_new, m, "X_new", per = "row of `K_new`", spec = object$x_spec)
  if (is.null(object$x_spec)) X <- align_covariates(X, X_new, user)
  if (ncol(X) != length(user))
    stop_arg("X_new", "must have ", length(user), " columns like `X` (", ncol(X), " given).")
  if (object$intercept) X <- cbind(rep(1, m), X)
  drop(X %*% b)
}

# The fields predict() relies on, so that a damaged fit gives an error naming `object`.
lmm_check_object <- function(object) {
  bad <- function(f) stop_arg("object", "is not a valid `ntk_lmm` fit (field `", f,
                              "` is missing or damaged).")
  flag <- function(x) is.logical(x) && length(x) == 1L && !is.na(x)
  kn <- object[["kernel_names"]]
  if (!is.character(kn) || length(kn) < 1L) bad("kernel_names")
  n <- object[["n"]]
  if (!is.numeric(n) || length(n) != 1L || !is.finite(n) || n < 1) bad("n")
  obs <- object[["obs"]]
  if (!is.numeric(obs) || length(obs) < 1L || anyNA(obs) || any(obs < 1 | obs > n)) bad("obs")
  if (!flag(object[["v_pd"]])) bad("v_pd")
  vpd <- object[["v_pd"]]
  a <- object[["alpha"]]
  # a fit whose V was positive definite has finite alpha, b and components: NA or Inf
  # there is damage, not a prediction
  if (!is.numeric(a) || length(a) != length(obs) || (vpd && any(!is.finite(a)))) bad("alpha")
  th <- object[["theta"]]
  if (!is.numeric(th) || length(th) != length(kn) + 1L || any(!is.finite(th))) bad("theta")
  b <- object[["b"]]
  if (!is.numeric(b) || length(b) != length(object[["x_names"]]) || (vpd && any(!is.finite(b))))
    bad("b")
  if (is.null(object[["terms"]]) && !flag(object[["intercept"]])) bad("intercept")
  fv <- object[["fitted.values"]]
  if (!is.numeric(fv) || length(fv) != n) bad("fitted.values")
  invisible(object)
}

#' Fits of several traits against one kernel
#'
#' [ntk_lmm()] and [ntk_krr()] given an `n x t` phenotype matrix return a list of `t`
#' fits (classes `ntk_lmm_list`, `ntk_krr_list`), one per trait, made from one
#' decomposition of the kernel; each element is an ordinary `ntk_lmm` / `ntk_krr` fit.
#' `print()` shows one line per trait; `coef()` gathers the variance components
#' (`ntk_lmm_list`) as a trait x component matrix; `predict()` returns an `m x t` matrix.
#'
#' @param x,object a list of fits.
#' @param digits significant digits.
#' @param ... passed to the method of each fit (e.g. `newdata`, `K_new`, `s`).
#' @return `print()`: `x` invisibly; `coef()`: a matrix; `predict()`: an `m x t` matrix.
#' @examples
#' set.seed(1)
#' G <- matrix(rbinom(80 * 40, 2, 0.3), 80)
#' K <- grm(G[1:60, ], threads = 1)
#' Y <- matrix(rnorm(60 * 3), 60, 3, dimnames = list(NULL, c("a", "b", "c")))
#' fits <- ntk_lmm(Y, K, method = "reml")
#' fits
#' coef(fits)
#' dim(predict(fits, newdata = G[61:80, ], threads = 1))
#' @name fit-lists
NULL

#' @rdname fit-lists
#' @export
print.ntk_lmm_list <- function(x, digits = 4L, ...) {
  digits <- check_number(digits, "digits", lower = 1, upper = 22, integer = TRUE)
  cat("ntk_lmm fits of ", length(x), " traits against one kernel (method ", x[[1L]]$method,
      ")\n", sep = "")
  tab <- data.frame(h2 = vapply(x, function(f) f$h2[1L], 0),
                    h2_se = vapply(x, function(f) f$h2_se[1L], 0),
                    genetic = vapply(x, function(f) f$theta[1L], 0),
                    residual = vapply(x, function(f) f$theta[length(f$theta)], 0),
                    nobs = vapply(x, function(f) f$nobs, 0L),
                    converged = vapply(x, function(f) f$converged, NA))
  print(signif(tab[seq_len(min(20L, nrow(tab))), 1:4], digits))
  if (length(x) > 20L) cat("... ", length(x) - 20L, " more traits\n", sep = "")
  invisible(x)
}

#' @rdname fit-lists
#' @export
coef.ntk_lmm_list <- function(object, ...) t(vapply(object, function(f) f$theta,
                                                    object[[1L]]$theta))

#' @rdname fit-lists
#' @export
predict.ntk_lmm_list <- function(object, ...) fit_list_predict(object, ...)

#' @rdname fit-lists
#' @export
print.ntk_krr_list <- function(x, digits = 4L, ...) {
  digits <- check_number(digits, "digits", lower = 1, upper = 22, integer = TRUE)
  cat("ntk_krr fits of ", length(x), " traits against one kernel (criterion ",
      x[[1L]]$criterion, ")\n", sep = "")
  tab <- data.frame(lambda.min = vapply(x, function(f) f$lambda.min, 0),
                    measure = vapply(x, function(f) f$cvm[f$index[1L, 1L]], 0))
  print(signif(tab[seq_len(min(20L, nrow(tab))), , drop = FALSE], digits))
  if (length(x) > 20L) cat("... ", length(x) - 20L, " more traits\n", sep = "")
  invisible(x)
}

#' @rdname fit-lists
#' @export
predict.ntk_krr_list <- function(object, ...) fit_list_predict(object, ...)

# Predictions of every fit of a list as the columns of a matrix; the test-by-train kernel
# built from `newdata` once and shared.
fit_list_predict <- function(object, newdata = NULL, K_new = NULL, threads = default_threads(),
                             ...) {
  if (!is.null(newdata)) {
    K_new <- predict_kernels(object[[1L]]$recipe, object[[1L]]$kernel_names %||% "K",
                             object[[1L]]$n, newdata, K_new, threads)
    if (length(K_new) == 1L) K_new <- K_new[[1L]]
  }
  out <- lapply(object, function(f) stats::predict(f, K_new = K_new, ...))
  if (is.list(out[[1L]]))   # se.fit = TRUE: each component as a matrix
    return(lapply(stats::setNames(names(out[[1L]]), names(out[[1L]])),
                  function(nm) do.call(cbind, lapply(out, `[[`, nm))))
  do.call(cbind, out)
}

`%||%` <- function(a, b) if (is.null(a)) b else a

#' @rdname ntk_lmm-methods
#' @importFrom stats nobs
#' @export
nobs.ntk_lmm <- function(object, ...) object$nobs

#' Likelihood-ratio tests between nested `ntk_lmm` fits
#'
#' Compares REML fits of the same phenotype and fixed effects whose kernels are nested
#' (the kernels of the smaller fit are among those of the larger, by name).  The statistic
#' \eqn{2(\ell_1 - \ell_0)} is referred to the boundary mixture
#' \eqn{0.5\chi^2_{d-1} + 0.5\chi^2_d} with \eqn{d} the number of added variance components
#' (Self and Liang 1987; exact for one added component).  With one fit, the fit against the
#' null model without kernels (as in its `summary`).
#'
#' @param object an `ntk_lmm` fit (method `"reml"` or `"iminque"`).
#' @param ... further, nested fits.
#' @return A data frame of class `anova` with one row per fit: number of variance
#'   components, REML log-likelihood, the statistic, its df and p-value.
#' @examples
#' set.seed(5)
#' G <- matrix(rbinom(150 * 60, 2, 0.3), 150)
#' y <- drop(scale(G) %*% rnorm(60, sd = 0.15)) + rnorm(150)
#' K1 <- grm(G, threads = 1)
#' K2 <- ntk_kernel(G, depth = 2, threads = 1)
#' f1 <- ntk_lmm(y, list(grm = K1), method = "reml")
#' f2 <- ntk_lmm(y, list(grm = K1, ntk = K2), method = "reml")
#' anova(f1, f2)
#' anova(f1)
#' @importFrom stats anova
#' @export
anova.ntk_lmm <- function(object, ...) {
  fits <- c(list(object), list(...))
  for (i in seq_along(fits)) {
    f <- fits[[i]]
    if (!inherits(f, "ntk_lmm")) stop_arg("...", "must hold ntk_lmm fits only.")
    if (!(f$method %in% c("reml", "iminque")))
      stop_arg(if (i == 1L) "object" else "...", "must be fitted by REML (method \"reml\"): ",
               "method \"", f$method, "\" does not maximise the likelihood.")
  }
  if (length(fits) == 1L) {
    tab <- data.frame(Components = c(1L, length(object$theta)),
                      logLik = c(object$loglik0, object$loglik),
                      Chisq = c(NA, object$lrt), Df = c(NA, length(object$kernel_names)),
                      `Pr(>Chisq)` = c(NA, boundary_p(object$lrt, length(object$kernel_names))),
                      check.names = FALSE, row.names = c("null (no kernel)", "object"))
    return(structure(tab, heading = "Likelihood-ratio test against the null model (REML)\n",
                     class = c("anova", "data.frame")))
  }
  ord <- order(vapply(fits, function(f) length(f$theta), 0L))
  fits <- fits[ord]
  for (i in seq_along(fits)[-1L]) {
    a <- fits[[i - 1L]]
    b <- fits[[i]]
    if (!identical(a$obs, b$obs) || !isTRUE(all.equal(unname(a$y), unname(b$y))))
      stop_arg("...", "must be fits of the same phenotype on the same individuals.")
    if (!identical(a$x_names, b$x_names))
      stop_arg("...", "must have the same fixed effects (REML likelihoods are not comparable otherwise).")
    if (!all(a$kernel_names %in% b$kernel_names) ||
        length(a$kernel_names) >= length(b$kernel_names))
      stop_arg("...", "must be nested: the kernels of each fit among those of the next, by name.")
  }
  ll <- vapply(fits, function(f) f$loglik, 0)
  k <- vapply(fits, function(f) length(f$theta), 0L)
  stat <- c(NA, pmax(2 * diff(ll), 0))
  df <- c(NA, diff(k))
  p <- c(NA, vapply(seq_along(fits)[-1L], function(i) boundary_p(stat[i], df[i]), 0))
  tab <- data.frame(Components = k, logLik = ll, Chisq = stat, Df = df, `Pr(>Chisq)` = p,
                    check.names = FALSE,
                    row.names = vapply(fits, function(f) paste(f$kernel_names, collapse = " + "), ""))
  structure(tab, heading = paste0("Likelihood-ratio tests of nested kernel models (REML; ",
                                  "boundary mixture 0.5 chi2_{d-1} + 0.5 chi2_d)\n"),
            class = c("anova", "data.frame"))
}
