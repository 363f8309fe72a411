# The paper's "traditional neural network" baseline: a multilayer perceptron trained in C
# (src/mlp.c) with R's RNG for initialisation, shuffling, dropout and the validation split.

#' Fit a multilayer perceptron (the neural-network baseline)
#'
#' Fits the fully connected network used as the "traditional neural network" baseline of
#' the NTK paper: input, hidden ReLU layers of widths `hidden` (default 50 and 30), one
#' linear output; batch normalisation and dropout in every hidden layer; Adam; L2 weight
#' decay; minibatches; early stopping on a validation split. All defaults are the paper's.
#'
#' Details of the implementation (compiled C, single-threaded, BLAS for the products):
#' * **Layers.** Hidden layer \eqn{l}: \eqn{z = a_{l-1} W_l}, then batch normalisation
#'   \eqn{\gamma (z - \mu) / \sqrt{\sigma^2 + 10^{-5}} + \beta}{gamma (z - mu) /
#'   sqrt(sigma^2 + 1e-5) + beta} (which makes a bias redundant; without batch
#'   normalisation a bias \eqn{b_l} is added instead), then ReLU, then inverted dropout
#'   (each unit is zeroed with probability `dropout` and the survivors scaled by
#'   `1 / (1 - dropout)`, so nothing changes at prediction).
#' * **Batch normalisation.** During training the statistics of the current minibatch;
#'   for validation and prediction running averages updated after every minibatch with
#'   momentum `bn_momentum` (`running <- (1 - m) running + m batch`, unbiased batch
#'   variance), as in PyTorch. The running statistics are restored together with the
#'   weights of the best epoch. A trailing minibatch of a single row is skipped.
#' * **Loss and weight decay.** Mean squared error on the standardised response plus
#'   `weight_decay / 2` times the sum of squared weights of the dense layers (biases and
#'   batch-norm parameters excluded): "coupled" L2 decay whose gradient
#'   `weight_decay * w` enters Adam's moments, as `weight_decay` in `torch.optim.Adam`.
#' * **Optimiser.** Adam with `lr`, \eqn{\beta_1 = 0.9}{beta1 = 0.9},
#'   \eqn{\beta_2 = 0.999}{beta2 = 0.999}, \eqn{\epsilon = 10^{-8}}{eps = 1e-8} and bias
#'   correction; rows reshuffled every epoch.
#' * **Initialisation.** He (Kaiming) normal, \eqn{W_l \sim N(0, 2 / fan_{in})}{W_l ~
#'   N(0, 2 / fan_in)}; output weights \eqn{N(0, 1 / h_L)}; biases and \eqn{\beta}{beta}
#'   0, \eqn{\gamma = 1}{gamma = 1}.
#' * **Early stopping.** A random fraction `validation` of the rows is held out; after every
#'   epoch the validation mean squared error (inference mode) is computed; training stops
#'   after `patience` epochs without improvement and the weights of the best epoch are
#'   restored. With `validation = 0` all `epochs` run and the last weights are kept.
#' * **Randomness.** The validation split (`sample()`), the initial weights
#'   (`norm_rand`), the shuffles and the dropout masks (`unif_rand`) all come from R's
#'   RNG in a fixed order, so `set.seed()` reproduces a fit exactly.
#'
#' The loss history is in `$history`; `plot()` draws it.
#'
#' @param X numeric matrix (or data frame) of inputs, rows = individuals.
#' @param y numeric response, one value per row of `X`.
#' @param hidden widths of the hidden layers (at least one layer).
#' @param dropout dropout rate in `[0, 1)` of every hidden layer.
#' @param batch_norm logical; batch normalisation in every hidden layer.
#' @param lr Adam learning rate.
#' @param weight_decay L2 weight-decay coefficient (>= 0).
#' @param batch_size minibatch size (at least 2 with batch normalisation).
#' @param epochs maximum number of epochs.
#' @param patience early-stopping patience, in epochs.
#' @param validation fraction of the rows held out for early stopping, in `[0, 0.5]`;
#'   0 turns early stopping off.
#' @param standardize logical; centre and scale the columns of `X` and the response with
#'   the training means and standard deviations (reused by `predict()`, and predictions
#'   are returned on the original scale of `y`). Constant columns are only centred.
#' @param verbose logical; report the stopping epoch with `message()`.
#' @param bn_momentum momentum of the batch-norm running statistics.
#' @return An object of class `ntk_mlp`: a list with the fitted weights (`theta`: for each
#'   hidden layer the weight matrix (inputs x units, column-major), then
#'   \eqn{\gamma}{gamma} and \eqn{\beta}{beta} (batch norm) or the bias; then the
#'   output weights and bias), the batch-norm running statistics (`run_mean`,
#'   `run_var`, layer after layer), `history` (a data
#'   frame of `epoch`, `train_loss` = mean minibatch loss in training mode and
#'   `val_loss` = validation loss, both mean squared errors on the standardised
#'   scale), `epochs_run`, `best_epoch`, `stopped_early`, the standardisation, the
#'   settings and the call.
#' @seealso [predict.ntk_mlp()], [plot.ntk_mlp()]
#' @examples
#' set.seed(1)
#' X <- matrix(rnorm(300 * 5), 300, 5)
#' y <- drop(X %*% c(1, -1, 0.5, 0, 0)) + rnorm(300, sd = 0.3)
#' fit <- mlp_fit(X[1:250, ], y[1:250], hidden = c(16, 8), epochs = 30)
#' fit
#' cor(predict(fit, X[251:300, ]), y[251:300])
#' @export
mlp_fit <- function(X, y, hidden = c(50, 30), dropout = 0.2, batch_norm = TRUE, lr = 1e-3,
                    weight_decay = 1e-4, batch_size = 32, epochs = 200, patience = 20,
                    validation = 0.1, standardize = TRUE, verbose = FALSE,
                    bn_momentum = 0.1) {
  cl <- match.call()
  x_spec <- NULL
  if (is.factor(X) || is.character(X) || (is.data.frame(X) &&
      !all(vapply(X, function(col) is.numeric(col) || is.logical(col), logical(1))))) {
    X <- check_covariates(X, NROW(X), "X", per = "row")   # factors by model.matrix()
    x_spec <- attr(X, "covariate_spec")
  }
  convert <- needs_double_copy(X)
  X <- check_numeric_matrix(X, "X", min_rows = 3L)
  n <- nrow(X)
  if (length(y) != n && length(y) == ncol(X))
    stop_arg("X", "has ", n, " rows but `y` has ", length(y), " values, as many as `X` has ",
             "columns: is `X` transposed? Individuals must be in rows (t(X)).")
  y <- check_numeric_vector(y, "y", n = n)
  if (!is.numeric(hidden) || length(hidden) < 1L || anyNA(hidden) ||
      any(hidden < 1) || any(hidden != round(hidden)) || any(!is.finite(hidden)) ||
      any(hidden > .Machine$integer.max))
    stop_arg("hidden", "must be a vector of positive whole numbers (layer widths).")
  hidden <- as.integer(hidden)
  dropout <- check_number(dropout, "dropout", lower = 0, upper = 1, open_upper = TRUE)
  batch_norm <- check_flag(batch_norm, "batch_norm")
  lr <- check_number(lr, "lr", lower = 0, open_lower = TRUE)
  weight_decay <- check_number(weight_decay, "weight_decay", lower = 0)
  batch_size <- check_number(batch_size, "batch_size", lower = if (batch_norm) 2 else 1,
                             integer = TRUE)
  epochs <- check_number(epochs, "epochs", lower = 1, integer = TRUE)
  patience <- check_number(patience, "patience", lower = 1, integer = TRUE)
  validation <- check_number(validation, "validation", lower = 0, upper = 0.5)
  standardize <- check_flag(standardize, "standardize")
  verbose <- check_flag(verbose, "verbose")
  bn_momentum <- check_number(bn_momentum, "bn_momentum", lower = 0, upper = 1)
  check_memory(mem_mlp(n, ncol(X), hidden, batch_size, validation, batch_norm, dropout,
                       convert), "hidden",
               sprintf("training a network of %s parameters on %d x %d inputs",
                       format(mem_mlp_nparams(ncol(X), hidden, batch_norm), big.mark = ","),
                       n, ncol(X)))

  if (standardize) {
    # the package's one standardisation (src/ntk_prep.c); constant columns kept, centred
    mom <- .Call(C_col_moments, X, 1L)
    xc <- mom[[1L]]
    xs <- mom[[2L]]
    xs[!(xs > 0)] <- 1
    yc <- mean(y)
    ys <- scaled_sd(y)          # no overflow for y of any magnitude
    if (!(ys > 0)) stop_arg("y", "is constant; there is nothing to learn.")
  } else {
    xc <- rep(0, ncol(X)); xs <- rep(1, ncol(X)); yc <- 0; ys <- 1
  }
  Xs <- standardize_columns(X, xc, xs)
  ysd <- (y - yc) / ys

  nv <- floor(validation * n)
  if (validation > 0 && nv < 1L)
    stop_arg("validation", "leaves no validation row for n = ", n, "; use a larger fraction or 0.")
  val <- if (nv > 0) sort(sample.int(n, nv)) else integer(0)
  tr <- setdiff(seq_len(n), val)
  if (batch_norm && length(tr) < 2L)
    stop_arg("X", "has too few training rows for batch normalisation.")

  dopts <- c(dropout, lr, 0.9, 0.999, 1e-8, weight_decay, bn_momentum, 1e-5)
  iopts <- c(batch_size, epochs, patience)
  res <- .Call(C_mlp_train, Xs[tr, , drop = FALSE], ysd[tr], Xs[val, , drop = FALSE],
               ysd[val], hidden, batch_norm, dopts, as.integer(iopts))
  er <- res$epochs_run
  history <- data.frame(epoch = seq_len(er), train_loss = res$train_loss[seq_len(er)],
                        val_loss = res$val_loss[seq_len(er)])
  # the core stops when `patience` epochs passed without improvement
  stopped <- nv > 0 && res$best_epoch >= 1L && er - res$best_epoch >= patience
  if (verbose)
    message(sprintf("mlp_fit: %d epoch(s) run%s; best epoch %d.", er,
                    if (stopped) " (early stop)" else "", res$best_epoch))
  structure(list(
    theta = res$theta, run_mean = res$run_mean, run_var = res$run_var,
    history = history, epochs_run = er, best_epoch = res$best_epoch,
    stopped_early = stopped,
    x_center = xc, x_scale = xs, y_center = yc, y_scale = ys, x_spec = x_spec,
    colnames = colnames(X), n = n, n_train = length(tr), n_validation = nv,
    validation_rows = val,
    settings = list(hidden = hidden, dropout = dropout, batch_norm = batch_norm, lr = lr,
                    weight_decay = weight_decay, batch_size = batch_size, epochs = epochs,
                    patience = patience, validation = validation, standardize = standardize,
                    bn_momentum = bn_momentum, bn_eps = 1e-5),
    call = cl), class = "ntk_mlp")
}

#' Predictions of a fitted multilayer perceptron
#'
#' Inference mode: batch normalisation with the running statistics, no dropout. `newdata`
#' is standardised with the training means and standard deviations, and predictions are
#' returned on the scale of the training response.
#'
#' @param object an `ntk_mlp` fit from [mlp_fit()].
#' @param newdata numeric matrix (or data frame) with the columns of the training `X`.
#' @param ... unused.
#' @return A numeric vector, one prediction per row of `newdata`.
#' @examples
#' set.seed(2)
#' X <- matrix(rnorm(200 * 3), 200, 3)
#' y <- X[, 1] - X[, 2] + rnorm(200, sd = 0.2)
#' fit <- mlp_fit(X, y, hidden = 8, epochs = 20)
#' head(predict(fit, X[1:5, ]))
#' @export
predict.ntk_mlp <- function(object, newdata, ...) {
  if (missing(newdata)) stop_arg("newdata", "is required (the fit keeps no training data).")
  # what prediction reads must be intact: finite weights, non-negative running variances
  for (f in c("theta", "run_mean", "run_var", "x_center", "x_scale"))
    if (!is.numeric(object[[f]]) || any(!is.finite(object[[f]])))
      stop_arg("object", "is not a valid `ntk_mlp` fit (field `", f, "` is missing or damaged).")
  if (any(object$run_var < 0) || any(object$x_scale <= 0) ||
      !is.numeric(object$y_scale) || !(object$y_scale > 0) || !is.finite(object$y_center))
    stop_arg("object", "is not a valid `ntk_mlp` fit (negative running variances or scales).")
  if (!is.null(object$x_spec))
    newdata <- check_covariates(newdata, NROW(newdata), "newdata", per = "row",
                                spec = object$x_spec)
  Z <- check_numeric_matrix(newdata, "newdata")
  if (ncol(Z) != length(object$x_center))
    stop_arg("newdata", "must have ", length(object$x_center), " columns like the training `X` (",
             ncol(Z), " given).")
  Zs <- standardize_columns(Z, object$x_center, object$x_scale)
  s <- object$settings
  pred <- .Call(C_mlp_predict, object$theta, object$run_mean, object$run_var, Zs,
                s$hidden, s$batch_norm, s$bn_eps)
  out <- object$y_center + object$y_scale * pred
  if (!is.null(rownames(Z))) names(out) <- rownames(Z)
  out
}

#' @export
print.ntk_mlp <- function(x, ...) {
  s <- x$settings
  cat("Multilayer perceptron (ntk_mlp)\n")
  cat(sprintf("  layers: %d -> %s -> 1 (ReLU%s%s)\n", length(x$x_center),
              paste(s$hidden, collapse = " -> "),
              if (s$batch_norm) ", batch norm" else "",
              if (s$dropout > 0) sprintf(", dropout %g", s$dropout) else ""))
  cat(sprintf("  parameters: %d; Adam lr %g, weight decay %g, batch size %d\n",
              length(x$theta), s$lr, s$weight_decay, s$batch_size))
  cat(sprintf("  rows: %d training, %d validation\n", x$n_train, x$n_validation))
  h <- x$history
  cat(sprintf("  epochs run: %d of %d%s\n", x$epochs_run, s$epochs,
              if (x$stopped_early) " (early stopping)" else ""))
  if (x$n_validation > 0 && x$best_epoch >= 1)
    cat(sprintf("  best epoch: %d, validation MSE %.4g (standardised scale)\n",
                x$best_epoch, h$val_loss[x$best_epoch]))
  else if (nrow(h) > 0)
    cat(sprintf("  final training MSE %.4g (standardised scale)\n", h$train_loss[nrow(h)]))
  invisible(x)
}

#' Loss curves of a fitted multilayer perceptron
#'
#' Training loss (mean minibatch loss in training mode) and validation loss per epoch, with
#' the best epoch marked.
#'
#' @param x an `ntk_mlp` fit from [mlp_fit()].
#' @param log logical; logarithmic loss axis.
#' @param ... further arguments passed to [graphics::matplot()].
#' @return `x`, invisibly.
#' @examples
#' set.seed(3)
#' X <- matrix(rnorm(200 * 3), 200, 3)
#' fit <- mlp_fit(X, X[, 1] + rnorm(200), hidden = 8, epochs = 40)
#' plot(fit)
#' @export
plot.ntk_mlp <- function(x, log = FALSE, ...) {
  log <- check_flag(log, "log")
  h <- x$history
  if (nrow(h) == 0L) stop_arg("x", "has no loss history.")
  L <- cbind(train = h$train_loss, validation = h$val_loss)
  if (all(is.na(L[, 2L]))) L <- L[, 1L, drop = FALSE]
  graphics::matplot(h$epoch, L, type = "l", lty = 1, col = c("black", "firebrick"),
                    xlab = "epoch", ylab = "mean squared error (standardised)",
                    log = if (log) "y" else "", ...)
  graphics::legend("topright", legend = colnames(L), lty = 1,
                   col = c("black", "firebrick")[seq_len(ncol(L))], bty = "n")
  if (x$n_validation > 0 && x$best_epoch >= 1)
    graphics::abline(v = x$best_epoch, lty = 3, col = "grey40")
  invisible(x)
}

# Internal: the full-batch loss (MSE + weight_decay / 2 * sum of squared dense weights)
# and its analytic gradient at `theta` on (X, y), batch norm in training mode (statistics
# of all rows), no dropout.  theta = NULL draws a He initialisation (R's RNG).  Used by the
# tests to check the gradient against finite differences.
mlp_loss_grad <- function(X, y, hidden, batch_norm = TRUE, theta = NULL, weight_decay = 0) {
  X <- check_numeric_matrix(X, "X")
  y <- check_numeric_vector(y, "y", n = nrow(X))
  hidden <- as.integer(hidden)
  if (is.null(theta))
    theta <- .Call(C_mlp_init, ncol(X), hidden, batch_norm, 1e-5)$theta
  res <- .Call(C_mlp_loss_grad, as.double(theta), X, y, hidden, batch_norm, 1e-5,
               as.double(weight_decay))
  res$theta <- as.double(theta)
  res
}
