# Methods of class "ntk_krr" (see ntk_krr() in krr.R).

# The lambda (KRR scale) selected by `s`.
krr_resolve_s <- function(object, s) {
  if (is.character(s)) {
    if (length(s) != 1L || !(s %in% c("lambda.min", "lambda.1se")))
      stop_arg("s", 'must be "lambda.min", "lambda.1se" or a positive number.')
    lam <- object[[s]]
    if (is.na(lam))
      stop_arg("s", '= "lambda.1se" is only defined for criterion = "cv" (this fit used "',
               object$criterion, '").')
    if (s == "lambda.1se" && isTRUE(lam == max(object$lambda)) &&
        !isTRUE(object$lambda.min == lam))
      warning("`lambda.1se` is the largest lambda of the grid: predictions at ",
              "s = \"lambda.1se\" are close to constant (the offset alone); use ",
              "\"lambda.min\" or widen `lambda_range`.", call. = FALSE)
    return(lam)
  }
  check_number(s, "s", lower = 0, open_lower = TRUE)
}

# The fields the methods rely on, so that a damaged fit gives an error naming `object`
# rather than a wrong answer or an error from deep inside.
krr_check_object <- function(object) {
  bad <- function(f) stop_arg("object", "is not a valid `ntk_krr` fit (field `", f,
                              "` is missing or damaged).")
  ok_mat <- function(x, nr, nc) is.matrix(x) && is.numeric(x) && nrow(x) == nr && ncol(x) == nc
  n <- object[["n"]]
  if (!is.numeric(n) || length(n) != 1L || !is.finite(n) || n < 1) bad("n")
  if (!ok_mat(object[["K"]], n, n)) bad("K")
  if (!is.numeric(object[["y"]]) || length(object[["y"]]) != n) bad("y")
  if (!ok_mat(object[["alpha"]], n, 2L) || any(!is.finite(object[["alpha"]][, 1L]))) bad("alpha")
  if (!is.null(object[["X"]]) && NROW(object[["X"]]) != n) bad("X")
  q <- 1L + if (is.null(object[["X"]])) 0L else NCOL(object[["X"]])
  if (!ok_mat(object[["beta"]], q, 2L) || any(!is.finite(object[["beta"]][, 1L]))) bad("beta")
  if (!is.character(object[["offset"]]) || length(object[["offset"]]) != 1L ||
      !(object[["offset"]] %in% c("ols", "gls"))) bad("offset")
  if (!inherits(object[["spectral"]], "ntk_spectral") ||
      object[["spectral"]][["n"]] != sum(!is.na(object[["y"]]))) bad("spectral")
  for (f in c("lambda.min", "lambda.1se"))
    if (!is.numeric(object[[f]]) || length(object[[f]]) != 1L) bad(f)
  if (!is.finite(object[["lambda.min"]]) || object[["lambda.min"]] <= 0) bad("lambda.min")
  invisible(object)
}

# Dual coefficients (length n, zero where y is NA) at the lambda selected by `s`:
# stored at lambda.min / lambda.1se, otherwise one Cholesky solve on the stored K.
krr_alpha <- function(object, s) {
  krr_check_object(object)
  lam <- krr_resolve_s(object, s)
  stored <- c(object$lambda.min, object$lambda.1se)
  j <- match(lam, stored)
  if (!is.na(j))
    return(list(alpha = object$alpha[, j],
                beta = stats::setNames(object$beta[, j], rownames(object$beta)), lambda = lam))
  obs <- which(!is.na(object$y))
  D <- krr_design(object$X, object$n, obs)
  fit <- tryCatch(krr_solve(object$spectral, object$y[obs], D[obs, , drop = FALSE],
                            as.integer(object$offset == "gls"), lam, obs, object$n),
                  error = function(e) {
                    if (grepl("not positive definite", conditionMessage(e)))
                      stop_arg("s", "= ", format(lam), " is too small for this kernel (mean ",
                               "diagonal ", format(object$spectral$scale, digits = 3),
                               "): K + s I is numerically singular; use a larger `s`.")
                    stop(e)
                  })
  alpha <- fit$alpha[, 1L]
  names(alpha) <- rownames(object$K)
  beta <- fit$beta[, 1L]
  names(beta) <- rownames(object$beta)
  list(alpha = alpha, beta = beta, lambda = lam)
}

#' Dual coefficients of a kernel ridge regression fit
#'
#' The dual coefficients \eqn{\alpha = (K + \lambda I)^{-1}(y - Z\beta)}{alpha = (K + lambda I)^-1 (y - Z beta)}
#' of an [ntk_krr()] fit, one per training individual (zero where `y` was `NA`), so
#' that predictions are `K_new %*% alpha + cbind(1, X_new) %*% beta`. The offset
#' coefficients \eqn{\beta}{beta} (intercept and covariates) are returned as the
#' attribute `beta` (and stored in `object$beta` for `lambda.min` and `lambda.1se`).
#'
#' @param object an `ntk_krr` fit.
#' @param s `"lambda.min"` (default), `"lambda.1se"` (criterion `"cv"` only) or a
#'   positive number on the KRR lambda scale. Values other than the two stored ones
#'   come from the fit's decomposition of the training kernel, \eqn{O(n^2)}, with no
#'   new factorisation.
#' @param ... unused.
#' @return A numeric vector of length `n`, with the attributes `lambda` and `beta`.
#' @examples
#' set.seed(2)
#' n <- 60; G <- scale(matrix(rbinom(n * 100, 2, 0.4), n))
#' K <- tcrossprod(G) / 100
#' y <- rnorm(n)
#' fit <- ntk_krr(y, K, criterion = "gcv")
#' a <- coef(fit)
#' all.equal(drop(K %*% a) + attr(a, "beta"), fitted(fit), check.attributes = FALSE)
#' @export
coef.ntk_krr <- function(object, s = "lambda.min", ...) {
  a <- krr_alpha(object, s)
  structure(a$alpha, lambda = a$lambda, beta = a$beta)
}

#' Predictions of a kernel ridge regression fit
#'
#' Predicts new individuals from their kernel against the training individuals:
#' `K_new %*% alpha + cbind(1, X_new) %*% beta`, with the dual coefficients `alpha`
#' and offset `beta` of [ntk_krr()] at the lambda selected by `s`.  Give either the new
#' individuals' genotypes (`newdata`: the fit builds the test-by-train kernel by the
#' recipe of its training kernel, see [ntk_kernel_like()]) or the test-by-train kernel
#' itself (`K_new`; one that carries settings is checked against the training kernel's
#' recipe and refused when it was built differently).
#'
#' @param object an `ntk_krr` fit.
#' @param K_new test-by-train kernel, `m x n`, one column per training individual in
#'   the order of the training `K` (including those whose `y` was `NA`). When both
#'   `newdata` and `K_new` are missing, the fitted values of the training individuals are
#'   returned.
#' @param s `"lambda.min"` (default), `"lambda.1se"` or a positive lambda (KRR scale).
#' @param X_new covariates of the new individuals (`m` rows, the columns of the
#'   training `X`); required when the fit used `X`.
#' @param newdata genotypes of the new individuals (matrix or data frame with the SNP
#'   columns of the training genotypes); needs a training kernel from [ntk_kernel()] or
#'   [grm()].
#' @param threads threads for building the kernel from `newdata`.
#' @param ... unused.
#' @return A numeric vector of `m` predictions.
#' @examples
#' set.seed(3)
#' G <- matrix(rbinom(100 * 150, 2, 0.3), 100)
#' y <- drop(scale(G[, 1:10]) %*% rnorm(10, sd = 0.4)) + rnorm(100)
#' train <- 1:80
#' K <- ntk_kernel(G[train, ], depth = 2, threads = 1)
#' fit <- ntk_krr(y[train], K, foldid = rep(1:4, 20))
#' pred <- predict(fit, newdata = G[-train, ])
#' cor(pred, y[-train])
#' # the same with the kernel built by hand
#' Ks <- ntk_kernel_like(K, G[-train, ], threads = 1)
#' all.equal(pred, predict(fit, K_new = Ks))
#' @export
predict.ntk_krr <- function(object, K_new = NULL, s = "lambda.min", X_new = NULL,
                            newdata = NULL, threads = default_threads(), ...) {
  a <- krr_alpha(object, s)
  if (is.null(K_new) && is.null(newdata)) return(stats::fitted(object, s = s))
  K_new <- predict_kernels(object$recipe, "K", object$n, newdata, K_new, threads,
                           ids = object$kernel_ids)[[1L]]
  m <- nrow(K_new)
  if (is.null(object$X)) {
    if (!is.null(X_new)) warning("`X_new` ignored: the fit used no covariates.", call. = FALSE)
    Dnew <- matrix(1, m, 1L)
  } else {
    if (is.null(X_new)) stop_arg("X_new", "is required: the fit used covariates `X`.")
    given <- X_new
    X_new <- check_covariates(X_new, m, "X_new", per = "row of `K_new`", spec = object$x_spec)
    if (is.null(object$x_spec)) X_new <- align_covariates(X_new, given, rownames(object$beta)[-1L])
    if (ncol(X_new) != nrow(object$beta) - 1L)
      stop_arg("X_new", "must have ", nrow(object$beta) - 1L, " columns like `X` (",
               ncol(X_new), " given).")
    Dnew <- cbind(rep(1, m), X_new)
  }
  out <- krr_predict_raw(K_new, a$alpha, Dnew, a$beta)
  names(out) <- rownames(K_new)
  out
}

#' Fitted values and residuals of a kernel ridge regression fit
#'
#' Training fitted values `K %*% alpha + cbind(1, X) %*% beta` for all `n`
#' individuals, including those whose `y` was `NA` (their predictions), and residuals
#' `y - fitted` (`NA` where `y` is `NA`).
#'
#' @param object an `ntk_krr` fit.
#' @param s `"lambda.min"` (default), `"lambda.1se"` or a positive lambda (KRR scale).
#' @param ... unused.
#' @return A numeric vector of length `n`.
#' @examples
#' set.seed(4)
#' n <- 50; G <- scale(matrix(rbinom(n * 80, 2, 0.5), n))
#' K <- tcrossprod(G) / 80
#' y <- rnorm(n); y[1:3] <- NA
#' fit <- ntk_krr(y, K, criterion = "loo")
#' head(fitted(fit))   # first three: predictions for the missing y
#' head(residuals(fit))
#' @export
fitted.ntk_krr <- function(object, s = "lambda.min", ...) {
  krr_check_object(object)
  lam <- krr_resolve_s(object, s)
  if (identical(lam, object$lambda.min)) return(object$fitted.values)
  a <- krr_alpha(object, s)
  D <- krr_design(object$X, object$n, which(!is.na(object$y)))
  out <- krr_predict_raw(object$K, a$alpha, D, a$beta)
  names(out) <- rownames(object$K)
  out
}

#' @rdname fitted.ntk_krr
#' @export
residuals.ntk_krr <- function(object, s = "lambda.min", ...) {
  object$y - stats::fitted(object, s = s)
}

#' Print and summarise a kernel ridge regression fit
#'
#' `print()` shows the call, the criterion and the chosen lambdas with their
#' criterion values (like `print.cv.glmnet`); `summary()` adds the lambda grid, the
#' offset coefficients and in-sample and (for `"cv"` and `"loo"`) out-of-sample
#' \eqn{R^2}.
#'
#' @param x,object an `ntk_krr` fit (or its summary).
#' @param digits significant digits.
#' @param ... unused.
#' @return `print()` returns `x` invisibly; `summary()` an object of class
#'   `summary.ntk_krr`.
#' @examples
#' set.seed(5)
#' n <- 60; G <- scale(matrix(rbinom(n * 100, 2, 0.3), n))
#' K <- tcrossprod(G) / 100
#' y <- drop(G[, 1:5] %*% rnorm(5, sd = 0.5)) + rnorm(n)
#' fit <- ntk_krr(y, K, nfolds = 3)
#' print(fit)
#' summary(fit)
#' @export
print.ntk_krr <- function(x, digits = max(3L, getOption("digits") - 3L), ...) {
  digits <- check_number(digits, "digits", lower = 1, upper = 22, integer = TRUE)
  cat("\nCall: ", paste(deparse(x$call), collapse = "\n"), "\n\n", sep = "")
  cat(krr_header(x), "\n", sep = "")
  cat("Measure: ", x$name, "\n\n", sep = "")
  print(krr_table(x), digits = digits)
  cat("\n")
  invisible(x)
}

krr_header <- function(x) {
  how <- switch(x$criterion,
                cv = paste0(x$nfolds, "-fold cross-validation"),
                kare = "KARE (kernel alignment risk estimator)",
                gcv = "generalised cross-validation",
                loo = "exact leave-one-out")
  paste0("Kernel ridge regression, lambda by ", how, "\n",
         "n = ", x$n, " (", x$nobs, " with y observed), ", length(x$lambda), " lambdas",
         if (nrow(x$beta) > 1L) paste0(", ", nrow(x$beta) - 1L, " covariate(s)") else "",
         ", offset by ", toupper(x$offset))
}

krr_table <- function(x) {
  idx <- x$index[, 1L]
  keep <- !is.na(idx)
  i <- idx[keep]
  tab <- data.frame(Lambda = x$lambda[i], Index = i, Measure = x$cvm[i],
                    row.names = names(idx)[keep])
  if (x$criterion == "cv") tab$SE <- x$cvsd[i]
  if (x$criterion == "kare") tab$Lambda_KARE <- x$lambda_kare[i]
  tab
}

#' @rdname print.ntk_krr
#' @export
summary.ntk_krr <- function(object, ...) {
  yo <- object$y[!is.na(object$y)]
  vy <- mean((yo - mean(yo))^2)
  fv <- object$fitted.values[!is.na(object$y)]
  r2_in <- 1 - mean((yo - fv)^2) / vy
  imin <- object$index[1L, 1L]
  r2_out <- if (object$criterion %in% c("cv", "loo")) 1 - object$cvm[imin] / vy else NA_real_
  structure(list(call = object$call, header = krr_header(object), name = object$name,
                 table = krr_table(object), lambda_range = range(object$lambda),
                 beta = stats::setNames(object$beta[, 1L], rownames(object$beta)), offset = object$offset, r2_in = r2_in, r2_out = r2_out,
                 criterion = object$criterion,
                 boundary = imin %in% c(1L, length(object$lambda)),
                 boundary_1se = isTRUE(object$index[2L, 1L] == 1L) && imin != 1L),
            class = "summary.ntk_krr")
}

#' @rdname print.ntk_krr
#' @export
print.summary.ntk_krr <- function(x, digits = max(3L, getOption("digits") - 3L), ...) {
  digits <- check_number(digits, "digits", lower = 1, upper = 22, integer = TRUE)
  cat("\nCall: ", paste(deparse(x$call), collapse = "\n"), "\n\n", sep = "")
  cat(x$header, "\n", sep = "")
  cat("Lambda grid: ", format(x$lambda_range[2L], digits = digits), " .. ",
      format(x$lambda_range[1L], digits = digits), " (KRR scale, K + lambda I)\n", sep = "")
  cat("Measure: ", x$name, "\n\n", sep = "")
  print(x$table, digits = digits)
  if (x$boundary) cat("(lambda.min is at the end of the grid: consider widening it)\n")
  if (isTRUE(x$boundary_1se))
    cat("(lambda.1se is the largest lambda of the grid: predictions there are close to ",
        "constant)\n", sep = "")
  cat("\nOffset coefficients (", toupper(x$offset), ", at lambda.min):\n", sep = "")
  print(x$beta, digits = digits)
  cat("\nR-squared at lambda.min: in-sample ", format(x$r2_in, digits = digits), sep = "")
  if (!is.na(x$r2_out))
    cat(", ", if (x$criterion == "cv") "cross-validated " else "leave-one-out ",
        format(x$r2_out, digits = digits), sep = "")
  cat("\n\n")
  invisible(x)
}

#' Plot the lambda criterion curve of a kernel ridge regression fit
#'
#' Plots the criterion (cross-validated mean squared error with its standard-error
#' bars, or KARE / GCV / leave-one-out) against `log(lambda)`, with vertical dotted
#' lines at `lambda.min` and (for `"cv"`) `lambda.1se`, like `plot.cv.glmnet`.
#'
#' @param x an `ntk_krr` fit.
#' @param sign.lambda `1` to plot against `log(lambda)`, `-1` against `-log(lambda)`.
#' @param ... further graphical parameters passed to [plot()] (e.g. `main`, `ylim`).
#' @return `x`, invisibly.
#' @examples
#' set.seed(6)
#' n <- 60; G <- scale(matrix(rbinom(n * 100, 2, 0.3), n))
#' K <- tcrossprod(G) / 100
#' y <- drop(G[, 1:5] %*% rnorm(5, sd = 0.5)) + rnorm(n)
#' plot(ntk_krr(y, K, nfolds = 3))
#' plot(ntk_krr(y, K, criterion = "kare"))
#' @export
plot.ntk_krr <- function(x, sign.lambda = 1, ...) {
  if (!(identical(sign.lambda, 1) || identical(sign.lambda, -1) ||
        identical(sign.lambda, 1L) || identical(sign.lambda, -1L)))
    stop_arg("sign.lambda", "must be 1 or -1.")
  xv <- sign.lambda * log(x$lambda)
  has_se <- x$criterion == "cv"
  yr <- if (has_se) range(x$cvup, x$cvlo, x$cvm, finite = TRUE) else range(x$cvm, finite = TRUE)
  args <- list(x = xv, y = x$cvm, ylim = yr, type = "n",
               xlab = if (sign.lambda > 0) "log(Lambda)" else "-log(Lambda)",
               ylab = x$name)
  user <- list(...)
  args[names(user)] <- user
  do.call(graphics::plot, args)
  if (has_se) {
    width <- 0.01 * diff(range(xv))
    graphics::segments(xv, x$cvup, xv, x$cvlo, col = "darkgrey")
    graphics::segments(xv - width, x$cvup, xv + width, x$cvup, col = "darkgrey")
    graphics::segments(xv - width, x$cvlo, xv + width, x$cvlo, col = "darkgrey")
  }
  graphics::points(xv, x$cvm, pch = 20, col = "red")
  graphics::abline(v = sign.lambda * log(x$lambda.min), lty = 3)
  if (!is.na(x$lambda.1se)) graphics::abline(v = sign.lambda * log(x$lambda.1se), lty = 3)
  graphics::axis(3, at = sign.lambda * log(x$lambda.min), labels = "min", tick = FALSE,
                 line = -0.5)
  if (!is.na(x$lambda.1se))
    graphics::axis(3, at = sign.lambda * log(x$lambda.1se), labels = "1se", tick = FALSE,
                   line = -0.5)
  invisible(x)
}

#' @rdname fitted.ntk_krr
#' @export
nobs.ntk_krr <- function(object, ...) object$nobs
