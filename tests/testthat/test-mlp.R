# Tests of the multilayer-perceptron baseline (src/mlp.c via mlp_fit()).

# central finite differences of the loss, coordinate by coordinate
fd_grad <- function(X, y, hidden, bn, theta, wd, h = 1e-6) {
  f <- function(th) ntkgen:::mlp_loss_grad(X, y, hidden, bn, th, wd)$loss
  vapply(seq_along(theta), function(k) {
    tp <- theta; tm <- theta
    tp[k] <- tp[k] + h; tm[k] <- tm[k] - h
    (f(tp) - f(tm)) / (2 * h)
  }, 0)
}

rel_err <- function(a, b) max(abs(a - b)) / max(abs(a), abs(b), 1e-8)

test_that("analytic gradient matches central differences (with and without batch norm)", {
  set.seed(1)
  n <- 13; p <- 4
  X <- matrix(rnorm(n * p), n, p)
  y <- rnorm(n)
  for (bn in c(TRUE, FALSE)) {
    for (hidden in list(c(6, 5), 7, c(5, 4, 3))) {
      set.seed(2)
      theta <- ntkgen:::mlp_loss_grad(X, y, hidden, bn)$theta
      # move BN gamma / beta and biases away from their initial 1 / 0
      theta <- theta + rnorm(length(theta), sd = 0.1)
      for (wd in c(0, 0.05)) {
        r <- ntkgen:::mlp_loss_grad(X, y, hidden, bn, theta, wd)
        fd <- fd_grad(X, y, hidden, bn, theta, wd)
        expect_lt(rel_err(r$grad, fd), 1e-5)
      }
    }
  }
})

test_that("loss at theta equals a plain R forward pass", {
  set.seed(3)
  n <- 20; p <- 3; hidden <- c(4, 2)
  X <- matrix(rnorm(n * p), n, p)
  y <- rnorm(n)
  for (bn in c(TRUE, FALSE)) {
    th <- ntkgen:::mlp_loss_grad(X, y, hidden, bn)$theta
    expect_length(th, if (bn) 35 else 29)
    th <- th + rnorm(length(th), sd = 0.1)
    # plain R forward (layout: W_l (fan_in x h), gamma, beta | b, then v, c)
    k <- 0; take <- function(m) { v <- th[k + seq_len(m)]; k <<- k + m; v }
    A <- X; ss <- 0
    for (h in hidden) {
      W <- matrix(take(ncol(A) * h), ncol(A), h); ss <- ss + sum(W^2)
      Z <- A %*% W
      if (bn) {
        g <- take(h); b <- take(h)
        mu <- colMeans(Z); v2 <- colMeans(sweep(Z, 2, mu)^2)
        Z <- sweep(sweep(sweep(Z, 2, mu), 2, sqrt(v2 + 1e-5), "/"), 2, g, "*")
        Z <- sweep(Z, 2, b, "+")
      } else {
        Z <- sweep(Z, 2, take(h), "+")
      }
      A <- pmax(Z, 0)
    }
    v <- take(hidden[2]); cc <- take(1); ss <- ss + sum(v^2)
    expect_equal(k, length(th))
    yhat <- drop(A %*% v) + cc
    r <- ntkgen:::mlp_loss_grad(X, y, hidden, bn, th, 0.01)
    expect_equal(r$loss, mean((yhat - y)^2) + 0.005 * ss, tolerance = 1e-12)
  }
})

test_that("mlp_fit learns a linear signal", {
  set.seed(4)
  n <- 600; p <- 10
  X <- matrix(rnorm(n * p), n, p)
  b <- rnorm(p)
  y <- drop(X %*% b) + rnorm(n, sd = 0.3 * sd(X %*% b))
  fit <- mlp_fit(X[1:500, ], y[1:500], hidden = c(32, 16), epochs = 60, patience = 10)
  pr <- predict(fit, X[501:600, ])
  expect_length(pr, 100)
  expect_gt(cor(pr, y[501:600]), 0.85)
  # predictions are on the response scale (not standardised)
  expect_lt(abs(mean(pr) - mean(y[501:600])), 0.5 * sd(y))
  expect_s3_class(fit, "ntk_mlp")
  expect_identical(nrow(fit$history), fit$epochs_run)
  expect_true(all(is.finite(fit$history$train_loss)))
  expect_true(all(is.finite(fit$history$val_loss)))
  # the restored weights are those of the best epoch: predicting the validation rows
  # reproduces the recorded best validation loss (on the standardised scale)
  Xs <- X[1:500, ]; ys <- y[1:500]
  val <- fit$validation_rows
  pv <- (predict(fit, Xs[val, ]) - fit$y_center) / fit$y_scale
  expect_equal(mean((pv - (ys[val] - fit$y_center) / fit$y_scale)^2),
               min(fit$history$val_loss), tolerance = 1e-10)
  expect_identical(fit$best_epoch, which.min(fit$history$val_loss))
  expect_output(print(fit), "Multilayer perceptron")
  pdf(NULL); on.exit(dev.off())
  expect_identical(plot(fit), fit)
})

test_that("without batch norm or dropout the fit also works and validation = 0 runs all epochs", {
  set.seed(5)
  X <- matrix(rnorm(300 * 4), 300, 4)
  y <- X[, 1] - 2 * X[, 2] + rnorm(300, sd = 0.3)
  fit <- mlp_fit(X, y, hidden = 16, batch_norm = FALSE, dropout = 0, epochs = 25,
                 validation = 0, batch_size = 1 + 0)
  expect_identical(fit$epochs_run, 25L)
  expect_false(fit$stopped_early)
  expect_true(all(is.na(fit$history$val_loss)))
  expect_gt(cor(predict(fit, X), y), 0.95)
  expect_length(fit$theta, 4 * 16 + 16 + 16 + 1)
})

test_that("mlp_fit is reproducible under set.seed", {
  X <- matrix(rnorm(120 * 3), 120, 3)
  y <- rnorm(120)
  set.seed(6); f1 <- mlp_fit(X, y, hidden = c(8, 4), epochs = 5)
  set.seed(6); f2 <- mlp_fit(X, y, hidden = c(8, 4), epochs = 5)
  set.seed(7); f3 <- mlp_fit(X, y, hidden = c(8, 4), epochs = 5)
  expect_identical(f1$theta, f2$theta)
  expect_identical(f1$history, f2$history)
  expect_identical(predict(f1, X), predict(f2, X))
  expect_false(identical(f1$theta, f3$theta))
})

test_that("early stopping stops before the maximum on a pure-noise target", {
  set.seed(8)
  X <- matrix(rnorm(300 * 5), 300, 5)
  y <- rnorm(300)
  fit <- mlp_fit(X, y, hidden = c(16, 8), epochs = 200, patience = 5)
  expect_true(fit$stopped_early)
  expect_lt(fit$epochs_run, 200)
  expect_identical(fit$epochs_run, fit$best_epoch + 5L)
})

test_that("mlp_fit errors name the argument", {
  X <- matrix(rnorm(40), 20, 2); y <- rnorm(20)
  expect_error(mlp_fit(1:10, 1:10), "`X`")
  expect_error(mlp_fit(X, y[-1]), "`y`")
  expect_error(mlp_fit(X, rep(1, 20)), "`y`")
  expect_error(mlp_fit(X, y, hidden = c(5, 0)), "`hidden`")
  expect_error(mlp_fit(X, y, hidden = 2.5), "`hidden`")
  expect_error(mlp_fit(X, y, dropout = 1), "`dropout`")
  expect_error(mlp_fit(X, y, lr = 0), "`lr`")
  expect_error(mlp_fit(X, y, weight_decay = -1), "`weight_decay`")
  expect_error(mlp_fit(X, y, batch_size = 1), "`batch_size`")
  expect_error(mlp_fit(X, y, epochs = 0), "`epochs`")
  expect_error(mlp_fit(X, y, patience = 0), "`patience`")
  expect_error(mlp_fit(X, y, validation = 0.9), "`validation`")
  expect_error(mlp_fit(X, y, validation = 0.01), "`validation`")
  expect_error(mlp_fit(X, y, batch_norm = NA), "`batch_norm`")
  X2 <- X; X2[3, 1] <- NA
  expect_error(mlp_fit(X2, y), "`X`")
  fit <- mlp_fit(X, y, hidden = 3, epochs = 2)
  expect_error(predict(fit), "`newdata`")
  expect_error(predict(fit, matrix(0, 2, 3)), "`newdata`")
})

test_that("predict() equals a plain R inference pass with the running statistics", {
  set.seed(9)
  X <- matrix(rnorm(80 * 3, mean = 2, sd = 3), 80, 3)
  y <- 5 + X[, 1] + rnorm(80)
  fit <- mlp_fit(X, y, hidden = c(5, 4), epochs = 8)
  Z <- matrix(rnorm(10 * 3), 10, 3)
  th <- fit$theta; k <- 0
  take <- function(m) { v <- th[k + seq_len(m)]; k <<- k + m; v }
  A <- sweep(sweep(Z, 2, colMeans(X)), 2, apply(X, 2, sd), "/")
  u <- 0
  for (h in c(5, 4)) {
    W <- matrix(take(ncol(A) * h), ncol(A), h)
    g <- take(h); b <- take(h)
    rm <- fit$run_mean[u + seq_len(h)]; rv <- fit$run_var[u + seq_len(h)]; u <- u + h
    S <- sweep(sweep(A %*% W, 2, rm), 2, sqrt(rv + 1e-5), "/")
    A <- pmax(sweep(sweep(S, 2, g, "*"), 2, b, "+"), 0)
  }
  pr <- drop(A %*% take(4)) + take(1)
  expect_equal(predict(fit, Z), mean(y) + sd(y) * pr, tolerance = 1e-10)
  # the running statistics moved away from their initial 0 / 1
  expect_gt(max(abs(fit$run_mean)), 0.01)
})

test_that("a trailing minibatch of one row is skipped under batch norm", {
  set.seed(10)
  X <- matrix(rnorm(33 * 2), 33, 2)
  y <- X[, 1] + rnorm(33, sd = 0.1)
  fit <- mlp_fit(X, y, hidden = 4, batch_size = 32, validation = 0, epochs = 3)
  expect_true(all(is.finite(fit$history$train_loss)))
  expect_true(all(is.finite(predict(fit, X))))
})

test_that("a diverging training stops with an error that says so", {
  set.seed(30)
  X <- matrix(rnorm(200 * 4), 200, 4)
  y <- drop(X %*% c(1, -1, 0.5, 0)) + rnorm(200)
  expect_error(mlp_fit(X, y, lr = 1e10, epochs = 50), "diverged.*lr")
})

test_that("a network too large for memory is refused before anything is allocated", {
  X <- matrix(rnorm(50 * 3), 50, 3)
  expect_error(mlp_fit(X, rnorm(50), hidden = c(1e5, 1e5)),
               "`hidden` needs about .* GB of memory for training a network .*max_kernel_gb")
})
