#' Kernel ridge regression with lambda chosen by cross-validation, KARE, GCV or LOO
#'
#' Fits the kernel ridge regression (KRR) predictor
#' \deqn{f(x) = z(x)'\beta + k(x)'(K + \lambda I)^{-1}(y - Z\beta)}{f(x) = z(x)'beta + k(x)' (K + lambda I)^-1 (y - Z beta)}
#' of the NTK genetics paper for a grid of ridge parameters `lambda` and chooses
#' `lambda` by K-fold cross-validation (`"cv"`, as `cv.glmnet` in package glmnet) or by a
#' closed-form criterion computed from one fit: the kernel alignment risk estimator
#' (`"kare"`, Jacot et al. 2020), generalised cross-validation (`"gcv"`) or exact
#' leave-one-out (`"loo"`).
#'
#' @section Centring and covariates:
#' The offset \eqn{Z\beta} is the intercept only (`X = NULL`) or the intercept plus
#' the covariates `X` (\eqn{Z} = `cbind(1, X)`). It is always estimated on the
#' individuals the kernel part is trained on: in cross-validation on the training
#' folds only, and added back to the held-out predictions from the same training fit;
#' for the final fit, the closed-form criteria and [predict()], on all individuals
#' with `y` observed.
#' * `offset = "ols"` (default): `y` is centred by the training mean (`X = NULL`), or
#'   the OLS fit of `y` on `cbind(1, X)` in the training set is regressed out; the
#'   kernel ridge regression is then fitted to these residuals, and the closed-form
#'   criteria treat the offset as fixed (they are computed on the residuals).
#' * `offset = "gls"`: \eqn{\beta} is estimated jointly with the kernel part, per
#'   lambda, as the unpenalised part of the penalised least-squares problem:
#'   \eqn{\beta = (Z'V^{-1}Z)^{-1}Z'V^{-1}y}{beta = (Z' V^-1 Z)^-1 Z' V^-1 y} with
#'   \eqn{V = K + \lambda I}{V = K + lambda I}. The predictions are then the BLUP of the
#'   linear mixed model \eqn{y = Z\beta + g + e}{y = Z beta + g + e},
#'   \eqn{g \sim N(0, \sigma^2_g K)}{g ~ N(0, s2_g K)}, at
#'   \eqn{\lambda = \sigma^2_e / \sigma^2_g}{lambda = s2_e / s2_g}, and the
#'   closed-form criteria use the full smoother including the fixed effects. The two
#'   choices coincide when `X = NULL` and the rows of `K` sum to zero (e.g. a GRM of
#'   column-centred genotypes).
#'
#' @section The lambda scale:
#' `lambda` is always on the KRR scale, the ridge added to the kernel: \eqn{K + \lambda I}{K + lambda I}.
#' KARE (Jacot et al. 2020) is defined for the ridge \eqn{l} on the normalised kernel
#' \eqn{K/n}:
#' \deqn{\rho(l) = \frac{n^{-1} y'(K/n + lI)^{-2} y}{(n^{-1}\mathrm{tr}(K/n + lI)^{-1})^2},}{rho(l) = ((1/n) y' (K/n + l I)^-2 y) / ((1/n) tr (K/n + l I)^-1)^2,}
#' and \eqn{(K/n + lI)^{-1} = n (K + nlI)^{-1}}{(K/n + l I)^-1 = n (K + n l I)^-1}, so
#' \eqn{\lambda = n l}{lambda = n l}, with \eqn{n} the number of individuals with `y`
#' observed. The fit stores both: `lambda` (KRR scale, used by every argument and
#' method) and `lambda_kare = lambda / n` (the \eqn{l} of the formula).
#'
#' @section Criteria:
#' Notation: \eqn{H = K(K + \lambda I)^{-1}}{H = K (K + lambda I)^-1},
#' \eqn{P_Z = Z(Z'Z)^{-1}Z'}{P_Z = Z (Z'Z)^-1 Z'} the OLS hat matrix of the offset
#' (\eqn{11'/n} without covariates), \eqn{y_c = (I - P_Z) y}{y_c = (I - P_Z) y} the
#' centred (residualised) `y`, and \eqn{S} the smoother of the whole fit (fitted
#' values \eqn{S y}), which counts the offset:
#' \eqn{S = P_Z + H(I - P_Z)}{S = P_Z + H (I - P_Z)} for `offset = "ols"`.
#' * `"cv"`: the mean squared error over held-out folds. As in `cv.glmnet` (grouped),
#'   `cvm` is the mean of the per-fold mean squared errors weighted by fold size and
#'   `cvsd` its standard error, `sqrt(v / (nfolds - 1))` with `v` the
#'   fold-size-weighted mean of the squared deviations of the per-fold errors from
#'   `cvm`. `lambda.min` is the (largest) lambda of smallest `cvm`,
#'   `lambda.1se` the largest lambda whose `cvm` is within one `cvsd` of that minimum
#'   (`cvm <= cvm[min] + cvsd[min]`).
#' * `"gcv"`: \eqn{n \|(I - S) y\|^2 / \mathrm{tr}(I - S)^2}{n ||(I - S) y||^2 / tr(I - S)^2},
#'   where \eqn{(I - S) y = (I - H) y_c}.
#' * `"loo"`: the exact leave-one-out mean squared error of the whole fit, the offset
#'   refitted without each individual:
#'   \eqn{e_i = (r_i + c_i y_{c,i} / (1 - h_i)) / (1 - H_{ii})}{e_i = (r_i + c_i y_c[i] / (1 - h_i)) / (1 - H_ii)}
#'   with \eqn{r = (I - H) y_c}, \eqn{c_i = ((I - H) P_Z)_{ii}}{c_i = ((I - H) P_Z)_ii}
#'   and \eqn{h_i = (P_Z)_{ii}}{h_i = (P_Z)_ii} (the OLS deletion formula combined with
#'   the kernel ridge identity \eqn{r_i / (1 - H_{ii})}{r_i / (1 - H_ii)}).
#' * `"kare"`: \eqn{\rho} above with \eqn{y} the centred \eqn{y_c} and the trace taken
#'   on the residual space of the offset,
#'   \eqn{\mathrm{tr}((I - P_Z)(K/n + lI)^{-1})}{tr((I - P_Z)(K/n + l I)^-1)}. As
#'   \eqn{\lambda\,\mathrm{tr}((I - P_Z)(K + \lambda I)^{-1}) = \mathrm{tr}(I - S)}{lambda tr((I - P_Z)(K + lambda I)^-1) = tr(I - S)},
#'   KARE is algebraically equal to GCV at the same `lambda` (the factors
#'   \eqn{\lambda^2} cancel); both names are offered for reporting.
#'
#' Counting the offset in the smoother matters: for a kernel whose rows sum to zero
#' (e.g. a GRM of column-centred genotypes) the uncorrected criteria computed on
#' \eqn{y_c} with \eqn{H} alone tend to zero as \eqn{\lambda \to 0}{lambda -> 0}.
#' With `offset = "gls"`, \eqn{S = ZP + H(I - ZP)}{S = Z P + H (I - Z P)} with
#' \eqn{P = (Z'V^{-1}Z)^{-1}Z'V^{-1}}{P = (Z' V^-1 Z)^-1 Z' V^-1}, so that
#' \eqn{I - S = \lambda V^{-1}(I - ZP)}{I - S = lambda V^-1 (I - Z P)}; GCV and KARE
#' are as above and LOO is \eqn{((I - S) y)_i / (I - S)_{ii}}{((I - S) y)_i / (I - S)_ii},
#' exact for refitting the fixed effects without each individual.
#'
#' For the closed-form criteria `lambda.min` is the (largest) lambda minimising the
#' criterion and `lambda.1se` is `NA`.
#'
#' @section Computation:
#' One decomposition serves a whole fit ([ntk_spectral()]): the tridiagonal form of the
#' kernel of the observed individuals (LAPACK `dsytrd`, or the band form of
#' `dsytrd_sy2sb` for 256 or more individuals where R's LAPACK has it; about a third of the
#' cost of an eigendecomposition, no eigenvectors), with the offset design projected out
#' for `offset = "gls"`. KARE and GCV then cost one tridiagonal (band) solve per lambda
#' and offset column, \eqn{O(n q)}, from the eigenvalues of the tridiagonal form and the
#' rotated `y` (the GLS offset needs no per-lambda work beyond that: with the design
#' projected out, \eqn{(I - S) y = \lambda Q_2 (Q_2' K Q_2 + \lambda I)^{-1} Q_2' y}{(I - S) y
#' = lambda Q2 (Q2' K Q2 + lambda I)^-1 Q2' y}). Leave-one-out needs the diagonal of the
#' smoother, hence the eigenvectors (LAPACK `dsyevd`), then \eqn{O(n^2)} per lambda (the
#' \eqn{n} diagonal entries, for the whole grid by one matrix product with the squared
#' eigenvector entries). Cross-validation decomposes each fold's training kernel
#' (indexed from `K`, never recomputed) once, in the tridiagonal form; each lambda and
#' trait then costs a solve and one product with the test-by-train block. The dual
#' coefficients at `lambda.min`, `lambda.1se` and any other `s` asked of [coef()],
#' [predict()] or [fitted()] cost \eqn{O(n^2)} each from the fit's decomposition, with no
#' new factorisation.
#'
#' @param y numeric phenotype vector of length `n`, or an `n x t` matrix of traits (a
#'   list of `t` fits of class `ntk_krr_list` is returned; the closed-form criteria and the
#'   final fits share one decomposition, and for `"cv"` the folds are drawn once and each
#'   fold's decomposition serves every trait with the same observed individuals).  Named `y` is matched to the row names of `K`. `NA` entries are not used for
#'   fitting (nor in any fold); their values are predicted (see [fitted.ntk_krr()]).
#' @param K symmetric positive semi-definite `n x n` training kernel, rows and columns
#'   in the order of `y`.
#' @param lambda optional user grid of ridge parameters (KRR scale, all `> 0`); sorted
#'   decreasing. Default: `nlambda` values log-spaced from
#'   `mean(diag(K)) * lambda_range[2]` down to `mean(diag(K)) * lambda_range[1]`
#'   (diagonal of the observed individuals).
#' @param nfolds number of cross-validation folds (`2 <= nfolds <=` number of observed
#'   `y`), used when `foldid` is `NULL`; folds are then drawn with R's RNG as
#'   `sample(rep(seq_len(nfolds), length.out = n_obs))` over the observed individuals
#'   in order, so `set.seed()` reproduces them.
#' @param foldid optional vector of length `n` fixing the folds (any labels, at least
#'   two distinct among the observed individuals; entries where `y` is `NA` are
#'   ignored and may be `NA`). Overrides `nfolds`. `nfolds` and `foldid` are used only
#'   by `criterion = "cv"`.
#' @param criterion `"cv"` (default), `"kare"`, `"gcv"` or `"loo"`.
#' @param X optional covariates (numeric matrix or data frame with `n` rows, or a
#'   numeric vector), fitted together with an intercept (see Centring and covariates).
#' @param ... must be empty; the options below must be named.
#' @param offset `"ols"` (default) or `"gls"`: how the intercept and covariates are
#'   estimated (see Centring and covariates).
#' @param nlambda number of values of the default grid (41; at most 10000).
#' @param spectral optional decomposition from [ntk_spectral()] to reuse: over the
#'   observed individuals, the tridiagonal form with the offset design projected out for
#'   `offset = "gls"`, unprojected for `"ols"` (`"cv"`, `"kare"`, `"gcv"`), or the
#'   unprojected eigendecomposition (`method = "eigen"`, any closed-form criterion, and the
#'   only form `"loo"` accepts); checked against the fit.
#' @param lambda_range multipliers of `mean(diag(K))` giving the ends of the default
#'   grid (`c(1e-4, 1e4)`).
#' @return An object of class `ntk_krr`, a list with
#'   `call`, `criterion`, `name` (the measure), `lambda` (decreasing, KRR scale),
#'   `lambda_kare` (`lambda / nobs`), `cvm` (criterion per lambda), `cvsd`, `cvup`,
#'   `cvlo` (`cvm` +/- `cvsd`; `NA` unless `"cv"`), `cvraw` (folds x lambdas mean
#'   squared errors, `"cv"` only), `fit.preval` (held-out predictions, `n x nlambda`,
#'   `"cv"` only), `foldid` (integer, `NA` where unused), `nfolds`, `lambda.min`,
#'   `lambda.1se`, `index` (their positions in `lambda`), `offset`, `beta` (`q x 2`
#'   intercept and covariate coefficients at `lambda.min` and `lambda.1se`; the two
#'   columns are equal for `offset = "ols"`), `alpha` (`n x 2` dual coefficients at
#'   `lambda.min` and `lambda.1se`, zero where `y` is `NA`; the `lambda.1se` columns
#'   of `beta` and `alpha` are `NA` for the closed-form criteria), `fitted.values` (at `lambda.min`, all `n`
#'   individuals), `y`, `n`, `nobs`, and `K`, `X` (kept to compute the fit at other
#'   lambdas; `K` is the caller's matrix, not a copy, unless it had to be converted).
#' @references Jacot A, Simsek B, Spadaro F, Hongler C, Gabriel F (2020). Kernel
#'   alignment risk estimator: risk prediction from training data. NeurIPS 33.
#'
#'   Friedman J, Hastie T, Tibshirani R (2010). Regularization paths for generalized
#'   linear models via coordinate descent. Journal of Statistical Software 33(1).
#' @seealso [predict.ntk_krr()], [coef.ntk_krr()], [plot.ntk_krr()].
#' @examples
#' set.seed(1)
#' n <- 120; p <- 300
#' G <- scale(matrix(rbinom(n * p, 2, 0.3), n, p))
#' K <- tcrossprod(G) / p
#' y <- drop(G[, 1:20] %*% rnorm(20, sd = 0.3)) + rnorm(n)
#' fit <- ntk_krr(y, K, nfolds = 5)
#' fit
#' plot(fit)
#' head(predict(fit, K[1:5, ], s = "lambda.1se"))
#' # closed-form choice of lambda from one tridiagonal decomposition
#' fit_kare <- ntk_krr(y, K, criterion = "kare")
#' c(krr = fit_kare$lambda.min, kare = fit_kare$lambda_kare[fit_kare$index[1]])
#' # fixed effects estimated jointly (GLS): the LMM BLUP at lambda = s2_e / s2_g
#' X <- cbind(age = rnorm(n))
#' fit_gls <- ntk_krr(y, K, X = X, criterion = "loo", offset = "gls")
#' fit_gls$beta
#' @export
ntk_krr <- function(y, ...) {
  if (missing(y)) return(formula_dispatch("ntk_krr", list(...)))
  UseMethod("ntk_krr")
}

#' @rdname ntk_krr
#' @param data data frame for the formula method (default: the formula's environment):
#'   `ntk_krr(yield ~ trial + age, data = d, K = K)` takes the response and the
#'   covariates (factors through `model.matrix()`, always with an intercept, which the
#'   offset carries) from it.
#' @export
ntk_krr.formula <- function(y, data = NULL, K, ...) {
  cl <- match.call()
  cl[[1L]] <- as.name("ntk_krr")
  fr <- formula_frame(y, data)
  mf <- fr$mf
  tt <- fr$terms
  yv <- fr$y
  X <- NULL
  if (length(attr(tt, "term.labels"))) {
    # the covariates' design by model.matrix() (factors, interactions), intercept left
    # to the offset; new individuals are coded with the same terms and levels
    M <- stats::model.matrix(tt, mf)
    if (anyNA(M))
      stop_arg("data", "has missing values in the covariates (only the response may be NA).")
    X <- M[, colnames(M) != "(Intercept)", drop = FALSE]
    attr(X, "assign") <- attr(X, "contrasts") <- NULL
    attr(X, "covariate_spec") <- list(terms = stats::delete.response(tt),
                                      xlevels = stats::.getXlevels(tt, mf),
                                      contrasts = attr(M, "contrasts"),
                                      names = all.vars(stats::delete.response(tt)))
  }
  fit <- ntk_krr.default(yv, K = K, X = X, ...)
  if (inherits(fit, "ntk_krr")) fit$call <- cl
  fit
}

#' @rdname ntk_krr
#' @export
ntk_krr.default <- function(y, K, lambda = NULL, nfolds = 5, foldid = NULL,
                    criterion = c("cv", "kare", "gcv", "loo"), X = NULL, ...,
                    offset = c("ols", "gls"), nlambda = 41, lambda_range = c(1e-4, 1e4),
                    spectral = NULL) {
  cl <- match.call()
  cl[[1L]] <- as.name("ntk_krr")
  if (...length() > 0L) {
    nms <- names(list(...))
    stop("unused argument(s) in `...`",
         if (!is.null(nms) && any(nzchar(nms))) paste0(": ", paste(nms[nzchar(nms)], collapse = ", ")),
         ".", call. = FALSE)
  }
  criterion <- check_choice(criterion, c("cv", "kare", "gcv", "loo"), "criterion")
  offset <- check_choice(offset, c("ols", "gls"), "offset")
  Y <- krr_check_y(y)
  n <- nrow(Y)
  K <- check_kernel(K, "K", n = n)
  Xm <- if (is.null(X)) NULL else check_covariates(X, n)
  mi <- match_individuals(Y, if (is.null(Xm)) matrix(0, n, 0L) else Xm, list(K), "K")
  Y <- mi$Y
  if (!is.null(Xm)) {
    X <- mi$X
    attr(X, "covariate_spec") <- attr(Xm, "covariate_spec")
  }
  krr_check_memory(Y, Xm, criterion, offset, lambda, nlambda, nfolds, foldid, spectral)
  # cross-validation of every trait with the same observed individuals at once: the folds
  # are drawn once and each fold's decomposition serves all of them
  pre <- vector("list", ncol(Y))
  if (criterion == "cv" && ncol(Y) > 1L) {
    pattern <- apply(is.na(Y), 2L, function(v) paste(which(v), collapse = ","))
    for (pat in unique(pattern)) {
      cols <- which(pattern == pat)
      obs <- which(!is.na(Y[, cols[1L]]))
      D <- krr_design(X, n, obs)
      lam <- krr_grid(lambda, K, obs, nlambda, lambda_range)
      fo <- krr_folds(foldid, nfolds, n, obs, D)
      sy <- vapply(cols, function(j) krr_y_scale(Y[obs, j]), 0)
      cv <- krr_lambda_guard(.Call(C_krr_cv, K, sweep(Y[, cols, drop = FALSE], 2L, sy, "/"),
                                   fo$fold0, fo$nfolds, D, as.integer(offset == "gls"), lam),
                             if (is.null(lambda)) NULL else lam, K)
      for (j in seq_along(cols))
        pre[[cols[j]]] <- list(fo = fo, sy = sy[j],
                               cvraw = matrix(cv$cvraw[, , j], fo$nfolds, length(lam)),
                               pred = matrix(cv$pred[, , j], n, length(lam)))
    }
  }
  shared <- spectral
  fits <- vector("list", ncol(Y))
  for (j in seq_len(ncol(Y))) {
    fit <- krr_fit_one(stats::setNames(Y[, j], rownames(Y)), K, lambda, nfolds, foldid,
                       criterion, X, offset, nlambda, lambda_range, shared, cl, pre[[j]])
    # the next trait with the same observed individuals reuses the decomposition
    shared <- fit$spectral
    if (ncol(Y) > 1L) fit$trait <- colnames(Y)[j]
    fits[[j]] <- fit
  }
  if (ncol(Y) == 1L) return(fits[[1L]])
  names(fits) <- colnames(Y)
  structure(fits, class = "ntk_krr_list", call = cl)
}

# y as an n x t matrix (names kept as row names); each trait checked.
krr_check_y <- function(y) {
  if (is.data.frame(y)) y <- as.matrix(y)
  if (is.matrix(y) && ncol(y) > 1L) {
    tn <- colnames(y)
    if (is.null(tn)) tn <- rep("", ncol(y))
    blank <- is.na(tn) | !nzchar(tn)
    tn[blank] <- paste0("trait", which(blank))
    Y <- matrix(0, nrow(y), ncol(y), dimnames = list(rownames(y), tn))
    for (j in seq_len(ncol(y)))
      Y[, j] <- krr_check_trait(y[, j], sprintf("y[, \"%s\"]", tn[j]))
    return(Y)
  }
  nms <- if (is.matrix(y)) rownames(y) else names(y)
  matrix(krr_check_trait(if (is.matrix(y)) y[, 1L] else y, "y"), ncol = 1L,
         dimnames = list(nms, NULL))
}

krr_check_trait <- function(y, arg) {
  y <- check_numeric_vector(y, arg, allow_na = TRUE)
  if (length(y) < 3L) stop_arg(arg, "must have at least 3 elements (", length(y), " given).")
  if (sum(!is.na(y)) < 3L)
    stop_arg(arg, "must have at least 3 non-missing values (", sum(!is.na(y)), " given).")
  y
}

krr_fit_one <- function(y, K, lambda, nfolds, foldid, criterion, X, offset, nlambda,
                        lambda_range, spectral, cl, pre = NULL) {
  gls <- as.integer(offset == "gls")
  n <- length(y)
  obs <- which(!is.na(y))
  nobs <- length(obs)
  D <- krr_design(X, n, obs)
  q <- ncol(D)
  if (nobs <= q + 1L)
    stop_arg("X", "has too many columns (", q - 1L, ") for ", nobs, " observed individuals.")
  guard <- if (is.null(lambda)) identity else function(expr) krr_lambda_guard(expr, lambda, K)
  lambda <- krr_grid(lambda, K, obs, nlambda, lambda_range)
  nlam <- length(lambda)
  yo <- y[obs]
  Do <- D[obs, , drop = FALSE]
  # the one decomposition of the fit: the tridiagonal (band) form of the kernel of the
  # observed, with the offset design projected out for offset = "gls" (the decomposition
  # an LMM of the same data uses), serves CV, KARE and GCV (by solves); leave-one-out
  # needs the eigenvectors.  A given complete, unprojected eigendecomposition serves
  # every closed-form criterion.
  want <- if (criterion == "loo") "eigen" else "tridiag"
  proj <- criterion != "loo" && gls == 1L
  S <- NULL
  if (!is.null(spectral)) {
    full_eigen <- criterion != "cv" && inherits(spectral, "ntk_spectral") &&
      identical(spectral$method, "eigen") &&
      is.null(spectral_mismatch(spectral, K, obs, NULL)) && spectral$r == spectral$m
    why <- if (full_eigen) NULL else spectral_mismatch(spectral, K, obs, if (proj) Do)
    if (is.null(why) && criterion != "cv" && !full_eigen &&
        (criterion == "loo" || identical(spectral$method, "eigen")))
      why <- paste0("must hold all eigenvectors of the unprojected kernel (ntk_spectral(K, ",
                    "method = \"eigen\"), no `X`, no `rank`) for ",
                    if (criterion == "loo") "leave-one-out" else
                      "a closed-form criterion, or be the tridiagonal form (the default)")
    if (!is.null(why)) {
      if (!is.null(cl$spectral)) stop_arg("spectral", why, ".")
    } else S <- spectral
  }
  if (is.null(S)) {
    spectral_check_diag(K, obs, "K")
    S <- spectral_make(K, obs, if (proj) Do, want)
  }

  out <- list(call = cl, criterion = criterion, offset = offset, lambda = lambda,
              lambda_kare = lambda / nobs)
  if (criterion == "cv") {
    if (is.null(pre)) {
      fo <- krr_folds(foldid, nfolds, n, obs, D)
      # criteria on y / sd(y), mapped back: mean squared errors neither over- nor
      # underflow for phenotypes of any magnitude
      sy <- krr_y_scale(yo)
      cv <- with_progress_bar(sprintf("ntk_krr %d-fold CV", fo$nfolds),
                              show = progress_default() && nobs >= 2000L,
                              guard(.Call(C_krr_cv, K, y / sy, fo$fold0, fo$nfolds, D, gls,
                                          lambda)))
      cv <- list(cvraw = matrix(cv$cvraw, fo$nfolds, nlam), pred = matrix(cv$pred, n, nlam),
                 sy = sy)
    } else {
      fo <- pre$fo
      cv <- pre
    }
    # lambda chosen on the scale of y / sd(y), the errors reported on the scale of y
    w <- tabulate(fo$fold0[obs], fo$nfolds)
    cvm <- drop(crossprod(w, cv$cvraw)) / sum(w)
    dev <- sweep(cv$cvraw, 2L, cvm)^2
    cvsd <- sqrt(drop(crossprod(w, dev)) / sum(w) / (fo$nfolds - 1L))
    idmin <- krr_which_min(cvm, lambda)
    lambda.1se <- max(lambda[cvm <= cvm[idmin] + cvsd[idmin]])
    id1se <- match(lambda.1se, lambda)
    s2 <- cv$sy^2
    out$name <- "Mean-squared error"
    out$cvm <- cvm * s2
    out$cvsd <- cvsd * s2
    out$cvup <- (cvm + cvsd) * s2
    out$cvlo <- (cvm - cvsd) * s2
    out$cvraw <- cv$cvraw * s2
    out$fit.preval <- cv$pred * cv$sy
    out$foldid <- fo$foldid
    out$nfolds <- fo$nfolds

  } else {
    sy <- krr_y_scale(yo)
    cvm <- guard(.Call(C_krr_criterion, S, yo / sy, Do, gls, lambda,
                       ntk_code("criterion", criterion)))
    out$name <- switch(criterion, kare = "KARE", gcv = "GCV",
                       loo = "Leave-one-out mean-squared error")
    out$cvm <- cvm * sy^2
    out$cvsd <- out$cvup <- out$cvlo <- rep(NA_real_, nlam)
    out$nfolds <- NA_integer_
    idmin <- krr_which_min(cvm, lambda)
    id1se <- NA_integer_
  }
  out$lambda.min <- lambda[idmin]
  out$lambda.1se <- if (is.na(id1se)) NA_real_ else lambda[id1se]
  out$index <- matrix(c(idmin, id1se), 2L, 1L,
                      dimnames = list(c("min", "1se"), "Lambda"))
  out$spectral <- S
  sel <- unique(stats::na.omit(c(out$lambda.min, out$lambda.1se)))
  fit <- guard(krr_solve(S, yo, Do, gls, sel, obs, n))
  if (!all(is.finite(fit$alpha)) || !all(is.finite(fit$beta)))
    stop_arg("K", "(mean diagonal ", format(S$scale, digits = 3), ") and `lambda` = ",
             format(min(sel), digits = 3), " give dual coefficients (y - offset) / (K + ",
             "lambda I) that overflow double precision; rescale `K` (or `y`), or use a ",
             "larger `lambda`.")
  j <- match(c(out$lambda.min, out$lambda.1se), sel)
  alpha <- fit$alpha[, j, drop = FALSE]
  dimnames(alpha) <- list(rownames(K), c("lambda.min", "lambda.1se"))
  beta <- fit$beta[, j, drop = FALSE]
  dimnames(beta) <- list(colnames(D), c("lambda.min", "lambda.1se"))
  out$beta <- beta
  out$alpha <- alpha
  out$fitted.values <- krr_predict_raw(K, alpha[, 1L], D, beta[, 1L])
  names(out$fitted.values) <- rownames(K)
  out$y <- y
  out$n <- n
  out$nobs <- nobs
  out$K <- K
  out$X <- X
  out$recipe <- list(K = kernel_recipe(K))
  out$x_spec <- attr(D, "covariate_spec")
  out$kernel_ids <- rownames(K)
  class(out) <- "ntk_krr"
  out
}

# The scale the lambda criteria are computed on: the standard deviation of the observed y
# (1 for a constant or degenerate y).
krr_y_scale <- function(yo) {
  sy <- scaled_sd(yo)
  if (is.finite(sy) && sy > 0) sy else 1
}

# Dual coefficients (n x nlam, zero where y is NA) and offsets (q x nlam) at the lambdas
# `lam`, from the decomposition S: no factorisation, O(n^2) per lambda.
krr_solve <- function(S, yo, Do, gls, lam, obs, n) {
  fit <- .Call(C_krr_spectral_fit, S, as.double(yo), Do, as.integer(gls), as.double(lam))
  alpha <- matrix(0, n, length(lam))
  alpha[obs, ] <- fit$alpha
  list(alpha = alpha, beta = fit$beta)
}

# ---- helpers ------------------------------------------------------------------------

# Offset design cbind(1, X), checked; full column rank on the observed rows.
krr_design <- function(X, n, obs) {
  if (is.null(X)) return(matrix(1, n, 1L, dimnames = list(NULL, "(Intercept)")))
  X <- check_covariates(X, n)
  D <- cbind("(Intercept)" = 1, X)
  attr(D, "covariate_spec") <- attr(X, "covariate_spec")
  if (qr(D[obs, , drop = FALSE])$rank < ncol(D))
    stop_arg("X", "is collinear (with itself or the intercept) among the individuals with `y` observed.")
  D
}

# Lambda grid on the KRR scale, decreasing.
krr_grid <- function(lambda, K, obs, nlambda, lambda_range) {
  if (!is.null(lambda)) {
    if (!is.numeric(lambda) || length(lambda) < 1L)
      stop_arg("lambda", "must be a numeric vector of positive values.")
    if (anyNA(lambda)) stop_arg("lambda", "must not contain NA.")
    if (any(!is.finite(lambda))) stop_arg("lambda", "must be finite.")
    if (any(lambda <= 0)) stop_arg("lambda", "must be > 0 (smallest given: ", format(min(lambda)), ").")
    return(sort(unique(as.double(lambda)), decreasing = TRUE))
  }
  nlambda <- check_number(nlambda, "nlambda", lower = 1, upper = 1e4, integer = TRUE)
  if (!is.numeric(lambda_range) || length(lambda_range) != 2L || anyNA(lambda_range) ||
      any(!is.finite(lambda_range)) || any(lambda_range <= 0) || lambda_range[1L] > lambda_range[2L])
    stop_arg("lambda_range", "must be two positive finite numbers, the first <= the second.")
  md <- mean(diag(K)[obs])
  if (!(md > 0)) stop_arg("K", "must have a positive mean diagonal (", format(md), ").")
  grid <- md * 10^seq(log10(lambda_range[2L]), log10(lambda_range[1L]), length.out = nlambda)
  if (!all(is.finite(grid) & grid >= .Machine$double.xmin))   # no subnormal lambda
    stop_arg("K", "has a scale (mean diagonal ", format(md), ") for which the default lambda ",
             "grid under- or overflows; rescale `K` or give `lambda`.")
  grid
}

# Folds: integer fold0 (0 = unused), foldid (NA = unused), nfolds.
krr_folds <- function(foldid, nfolds, n, obs, D) {
  nobs <- length(obs)
  if (is.null(foldid)) {
    nfolds <- check_number(nfolds, "nfolds", lower = 2, upper = nobs, integer = TRUE)
    f <- rep(NA_integer_, n)
    f[obs] <- sample(rep(seq_len(nfolds), length.out = nobs))
  } else {
    if (is.factor(foldid)) foldid <- as.character(foldid)
    if (!is.atomic(foldid) || is.null(foldid) || !is.null(dim(foldid)))
      stop_arg("foldid", "must be a vector.")
    if (length(foldid) != n)
      stop_arg("foldid", "must have length ", n, ", one per element of `y` (", length(foldid), " given).")
    fo <- foldid[obs]
    if (anyNA(fo)) stop_arg("foldid", "must not be NA where `y` is observed.")
    lev <- sort(unique(fo))
    if (length(lev) < 2L)
      stop_arg("foldid", "must define at least 2 distinct folds among the observed individuals (",
               length(lev), " given).")
    nfolds <- length(lev)
    f <- rep(NA_integer_, n)
    f[obs] <- match(fo, lev)
  }
  ntrain <- nobs - tabulate(f[obs], nfolds)
  if (any(ntrain <= ncol(D)))
    stop_arg(if (is.null(foldid)) "nfolds" else "foldid",
             "leaves a training set of ", min(ntrain), " individuals; at least ",
             ncol(D) + 1L, " needed.")
  if (ncol(D) > 1L) {
    for (k in seq_len(nfolds)) {
      tr <- which(!is.na(f) & f != k)
      if (qr(D[tr, , drop = FALSE])$rank < ncol(D))
        stop_arg("X", "is collinear within the training set of fold ", k, ".")
    }
  }
  fold0 <- f
  fold0[is.na(fold0)] <- 0L
  list(fold0 = as.integer(fold0), foldid = as.integer(f), nfolds = as.integer(nfolds))
}

# Runs a KRR computation at the user's `lambda`: "K + lambda I is not positive definite"
# (a lambda below the round-off of a rank-deficient kernel's zero eigenvalues) becomes an
# error naming `lambda` rather than the C routine.  lambda NULL (the default grid): as is.
krr_lambda_guard <- function(expr, lambda, K) {
  if (is.null(lambda)) return(expr)
  tryCatch(expr, error = function(e) {
    if (!grepl("K + lambda I is not positive definite", conditionMessage(e), fixed = TRUE))
      stop(e)
    stop_arg("lambda", "= ", format(min(lambda), digits = 3), " is too small for this kernel ",
             "(mean diagonal ", format(mean(diag(K)), digits = 3), "): K + lambda I is ",
             "numerically singular (or `K` is not positive semi-definite); use larger values.")
  })
}

# Largest lambda attaining the minimum of crit.
krr_which_min <- function(crit, lambda) {
  if (all(!is.finite(crit))) stop("the criterion is not finite at any lambda.", call. = FALSE)
  m <- min(crit[is.finite(crit)])
  match(max(lambda[is.finite(crit) & crit <= m]), lambda)
}

krr_predict_raw <- function(Knew, alpha, D, beta) {
  drop(Knew %*% alpha) + drop(D %*% beta)
}
