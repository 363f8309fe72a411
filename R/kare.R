#' Neural tangent kernels trained by minimising KARE
#'
#' Trains the analytic NTK's input map and hyper-parameters so that the kernel alignment
#' risk estimator (KARE, Jacot et al. 2020) of kernel ridge regression on the training
#' data is as small as possible: a kernel that learns which SNPs (or which directions in
#' SNP space) carry the signal and keeps its closed form.  The result is a kernel recipe
#' that builds the trained training kernel ([kare_kernel()]) and test-by-train kernels
#' for [ntk_krr()], [ntk_lmm()] and `predict(fit, newdata = )`.
#'
#' @section The kernel:
#' With the standardised genotypes \eqn{X} (the package's one standardisation, as
#' [ntk_kernel()]), the input map is either one non-negative scale per SNP,
#' \eqn{X_m = X \mathrm{diag}(s)}{Xm = X diag(s)}, \eqn{s = \exp(u)} (`map = "scale"`;
#' \eqn{u} is what the optimiser moves, so the scales stay positive) or a projection
#' \eqn{X_m = X P}{Xm = X P} with \eqn{P} of size `p x rank` (`map = "projection"`,
#' started at N(0, 1) entries drawn with R's RNG).  The kernel is the analytic NTK of
#' [ntk_kernel()] with `depth` hidden layers of \eqn{X_m}, i.e. with
#' \eqn{\Sigma_0 = \sigma_w^2 X_m X_m' / d + \sigma_b^2}, \eqn{d = p} (scales) or
#' `rank` (projection).  At the start (\eqn{s = 1}) the scale map gives exactly
#' `ntk_kernel(X, depth, sigma_w = , sigma_b = )`.  \eqn{\sigma_w = \exp(a)} and, when
#' `sigma_b > 0`, \eqn{\sigma_b = \exp(b)} are trained too; `sigma_b = 0` stays 0.
#'
#' @section The criterion and the z / lambda scales:
#' With the intercept (and the `covariates`) \eqn{Z} projected out, \eqn{K_P = Q_2' K Q_2}
#' (\eqn{Q_2} an orthonormal basis of the complement of \eqn{Z}) and \eqn{y_P = Q_2' y},
#' \deqn{\mathrm{KARE}(z) = \frac{n^{-1} y_P'(K_P/n + zI)^{-2} y_P}{(n^{-1}
#'   \mathrm{tr}(K_P/n + zI)^{-1})^2}.}{KARE(z) = ((1/n) yP' (K_P/n + z I)^-2 yP) /
#'   ((1/n) tr (K_P/n + z I)^-1)^2.}
#' This is KARE of the kernel ridge regression whose offset is fitted jointly with the
#' kernel part, and it equals `ntk_krr(y, K, criterion = "kare", offset = "gls")` at
#' `lambda = n * z`: `z` is on the \eqn{K/n} scale of Jacot et al. and of the KARE
#' paper (`z = 0.1` there), `lambda = n z` on the scale of [ntk_krr()] (the ridge added
#' to \eqn{K}); the object stores both (`z`, `lambda`).  Its gradient with respect to
#' \eqn{K} comes from one eigendecomposition of \eqn{K_P} (the package's spectral engine),
#' and is carried exactly, in reverse mode, through the `depth` ReLU layer steps to
#' \eqn{\sigma_w}, \eqn{\sigma_b} and the map (see `src/kare_train.c`).  For pairs of
#' near-duplicate individuals (correlation of their layer inputs within about
#' \eqn{5 \cdot 10^{-9}}{5e-9} of 1) the factors \eqn{1/\sin t} of the derivative are
#' capped (the kernel is not differentiable there); exact duplicates contribute their
#' exact directional derivative.
#'
#' The objective is `KARE + penalty * R(map)`, with \eqn{R} the mean of \eqn{s}
#' (`penalty_type = "l1"`) or of \eqn{s^2} (`"l2"`) for scales, the mean of \eqn{|P|}
#' or \eqn{P^2} for a projection.
#'
#' @section Optimisation:
#' Full-batch Adam (default; `lr = 0.05`) or plain gradient descent (`"sgd"`; `lr = 1`)
#' on the unconstrained parameters (\eqn{\log\sigma_w}, \eqn{\log\sigma_b}, \eqn{u} or
#' \eqn{P}), `steps` steps for each candidate depth, all from the same start.  A step
#' after which the kernel is non-finite, KARE is not finite or the decomposition fails is
#' rejected: the last good parameters are kept and the step is retried with half the
#' learning rate (at most 30 times, then training stops at the last good parameters).
#' For each depth the parameters of the smallest objective seen are kept; the depth of
#' the smallest KARE at those parameters is chosen.  One step costs one kernel (\eqn{O(n^2
#' (d + L))}), one eigendecomposition (\eqn{O(n^3)}, the dominant cost) and the backward
#' pass (\eqn{O(n^2 (d + L))}).  Progress is shown with `cli` when it is installed and
#' `verbose = TRUE` (else messages); an interrupt stops training and returns nothing.
#'
#' @param X training genotypes (`n x p` numeric matrix or data frame), as for
#'   [ntk_kernel()].
#' @param y numeric phenotype vector of length `n` (no `NA`).
#' @param depth candidate depths (hidden layers), e.g. `1:3` or one number.
#' @param map `"scale"` (one non-negative scale per SNP) or `"projection"`.
#' @param rank number of columns of the projection (`map = "projection"`).
#' @param z ridge on the \eqn{K/n} scale (`> 0`), see above.
#' @param optimizer `"adam"` or `"sgd"`.
#' @param lr learning rate (`NULL`: 0.05 for Adam, 1 for SGD).
#' @param steps number of optimisation steps per depth (`>= 0`; 0 gives the untrained
#'   kernel).
#' @param penalty non-negative weight of the penalty on the map.
#' @param penalty_type `"l1"` or `"l2"`.
#' @param sigma_w,sigma_b initial `sigma_w` (`> 0`) and `sigma_b` (`>= 0`).
#' @param covariates optional covariates (matrix, data frame or vector with `n` rows),
#'   projected out with the intercept.
#' @param standardize logical, as in [ntk_kernel()].
#' @param threads number of OpenMP threads.
#' @param verbose logical; report progress.
#' @return An object of class `ntk_kare`, a kernel recipe: a list with `call`, `depth`
#'   (chosen), `depths`, `kare` (final KARE per candidate depth), `kare_start` (KARE of
#'   the untrained kernel per depth), `trace` (data frame: `depth`, `step`, `kare`,
#'   `objective`, `lr`), `sigma_w`, `sigma_b`, `map`, `scales` (per kept SNP, scale map)
#'   or `projection` (`p x rank`), `relevance` (per SNP of `X`: the scale, or the root
#'   mean square of the SNP's row of the projection; 0 for dropped constant SNPs), `z`,
#'   `lambda` (`n z`), `n`, `p`, `steps`, `stopped` (per depth: why training stopped
#'   early, `NA` when it ran all steps) and the recipe pieces (`settings`).
#' @seealso [kare_kernel()], [ntk_krr()].
#' @examples
#' set.seed(1)
#' G <- simulate_genotypes(120, 20)
#' y <- simulate_phenotype(G, model = "ricker", h2 = 0.6, causal = 3)
#' fit <- ntk_kare(G[1:100, ], y[1:100], depth = 1, steps = 20, threads = 1)
#' fit
#' K <- kare_kernel(fit, threads = 1)
#' krr <- ntk_krr(y[1:100], K, criterion = "kare", offset = "gls")
#' pred <- predict(krr, newdata = G[101:120, ])
#' cor(pred, y[101:120])
#' @export
ntk_kare <- function(X, y, depth = 1:3, map = c("scale", "projection"), rank = 10,
                     z = 0.1, optimizer = c("adam", "sgd"), lr = NULL, steps = 50,
                     penalty = 0, penalty_type = c("l1", "l2"), sigma_w = sqrt(2),
                     sigma_b = 0, covariates = NULL, standardize = TRUE,
                     threads = default_threads(), verbose = FALSE) {
  cl <- match.call()
  X <- check_numeric_matrix(X, "X", allow_na = TRUE, min_rows = 3L)
  n <- nrow(X)
  y <- check_numeric_vector(y, "y", n = n)
  if (!is.numeric(depth) || !length(depth) || anyNA(depth) || any(depth < 1) ||
      any(depth > 100) || any(depth != round(depth)))
    stop_arg("depth", "must be whole numbers between 1 and 100 (e.g. 1:3).")
  depth <- sort(unique(as.integer(depth)))
  map <- check_choice(map, c("scale", "projection"), "map")
  z <- check_number(z, "z", lower = 0, open_lower = TRUE)
  optimizer <- check_choice(optimizer, c("adam", "sgd"), "optimizer")
  if (is.null(lr)) lr <- if (optimizer == "adam") 0.05 else 1
  lr <- check_number(lr, "lr", lower = 0, open_lower = TRUE)
  steps <- check_number(steps, "steps", lower = 0, upper = 1e6, integer = TRUE)
  penalty <- check_number(penalty, "penalty", lower = 0)
  penalty_type <- check_choice(penalty_type, c("l1", "l2"), "penalty_type")
  sigma_w <- check_number(sigma_w, "sigma_w", lower = 0, open_lower = TRUE)
  sigma_b <- check_number(sigma_b, "sigma_b", lower = 0)
  standardize <- check_flag(standardize, "standardize")
  verbose <- check_flag(verbose, "verbose")
  threads <- check_threads(threads)
  C <- check_covariates(covariates, n, "covariates", per = "individual of `X`")
  Z <- cbind(1, C)
  if (qr(Z)$rank < ncol(Z))
    stop_arg("covariates", "are collinear with each other or with the intercept.")
  if (ncol(Z) >= n - 1L) stop_arg("covariates", "leave too few individuals: ", ncol(Z),
                                  " columns for ", n, " individuals.")
  if (stats::var(y) == 0) stop_arg("y", "is constant: there is nothing to predict.")
  prep <- prepare_genotypes(X, NULL, standardize, threads)
  p <- prep$p
  if (map == "projection") {
    rank <- check_number(rank, "rank", lower = 1, upper = p, integer = TRUE)
    P0 <- matrix(stats::rnorm(p * rank), p, rank)
  } else {
    P0 <- NULL
  }
  train_sb <- sigma_b > 0
  theta0 <- c(log(sigma_w), if (train_sb) log(sigma_b),
              if (map == "scale") rep(0, p) else as.vector(P0))
  ctx <- list(X = prep$X, y = y, Z = Z, z = z, map = map, p = p,
              rank = if (map == "projection") rank else NA_integer_, train_sb = train_sb,
              penalty = penalty, penalty_type = penalty_type, threads = threads)

  res <- lapply(depth, function(L) {
    kare_optimise(theta0, L, ctx, optimizer, lr, steps, verbose)
  })
  finals <- vapply(res, function(r) r$kare, numeric(1))
  if (all(!is.finite(finals)))
    stop_arg("X", "gives a kernel whose KARE cannot be computed at any depth (the ",
             "decomposition failed at the start); check the genotypes and `z`.")
  best <- which.min(finals)
  th <- res[[best]]$theta
  par <- kare_unpack(th, ctx)
  relevance <- numeric(ncol(X))
  rel_kept <- if (map == "scale") par$s else sqrt(rowMeans(par$P^2))
  relevance[prep$keep] <- rel_kept
  names(relevance) <- colnames(X)
  trace <- do.call(rbind, lapply(seq_along(res), function(i)
    data.frame(depth = depth[i], res[[i]]$trace)))
  settings <- list(kind = "kare_analytic", depth = depth[best], width = Inf,
                   sigma_w = par$sw, sigma_b = par$sb, normalize = "none", n_init = 1L,
                   standardize = standardize, center = prep$center, scale = prep$scale,
                   keep = prep$keep, p = p, device = "cpu", map = map,
                   map_param = if (map == "scale") par$s else par$P,
                   rank = ctx$rank, genotypes = X)
  names(finals) <- depth
  out <- list(call = cl, depth = depth[best], depths = depth, kare = finals,
              kare_start = stats::setNames(vapply(res, function(r) r$kare_start, 0), depth),
              trace = trace, sigma_w = par$sw, sigma_b = par$sb, map = map,
              scales = if (map == "scale") stats::setNames(par$s, colnames(X)[prep$keep]),
              projection = if (map == "projection") par$P,
              relevance = relevance, z = z, lambda = n * z, n = n, p = p, steps = steps,
              optimizer = optimizer, lr = lr, penalty = penalty,
              penalty_type = penalty_type,
              stopped = stats::setNames(vapply(res, function(r) r$stopped, ""), depth),
              settings = settings)
  class(out) <- "ntk_kare"
  out
}

# Parameters from the unconstrained vector: sigma_w, sigma_b, scales s or projection P.
kare_unpack <- function(theta, ctx) {
  sw <- exp(theta[1L])
  k <- 1L
  sb <- 0
  if (ctx$train_sb) { sb <- exp(theta[2L]); k <- 2L }
  rest <- theta[-seq_len(k)]
  if (ctx$map == "scale") list(sw = sw, sb = sb, s = exp(rest), P = NULL)
  else list(sw = sw, sb = sb, s = NULL, P = matrix(rest, ctx$p, ctx$rank))
}

# Objective (KARE + penalty) and its gradient in theta; ok = FALSE when the kernel or
# KARE is not finite or the decomposition failed.
kare_eval <- function(theta, L, ctx) {
  par <- kare_unpack(theta, ctx)
  M <- if (ctx$map == "scale") par$s else par$P
  r <- .Call(C_kare_analytic, ctx$X, ntk_code("kare_map", ctx$map), M, as.integer(L),
             par$sw, par$sb, ctx$y, ctx$Z, ctx$z, as.integer(ctx$threads), TRUE)
  if (r$status != 0L || !is.finite(r$kare) || anyNA(r$grad_map))
    return(list(ok = FALSE))
  gm <- as.vector(r$grad_map)
  v <- as.vector(M)
  pen <- 0
  gp <- 0
  if (ctx$penalty > 0) {
    if (ctx$penalty_type == "l1") { pen <- mean(abs(v)); gp <- sign(v) / length(v) }
    else { pen <- mean(v^2); gp <- 2 * v / length(v) }
  }
  gmap <- gm + ctx$penalty * gp
  if (ctx$map == "scale") gmap <- gmap * v          # d/du = s d/ds
  g <- c(r$grad_sw * par$sw, if (ctx$train_sb) r$grad_sb * par$sb, gmap)
  if (any(!is.finite(g))) return(list(ok = FALSE))
  list(ok = TRUE, kare = r$kare, objective = r$kare + ctx$penalty * pen, grad = g)
}

# Adam / gradient descent from theta0 at depth L with step halving; returns the best
# parameters seen, their KARE, the trace and why training stopped early (NA: it did not).
kare_optimise <- function(theta0, L, ctx, optimizer, lr, steps, verbose) {
  cur <- kare_eval(theta0, L, ctx)
  if (!cur$ok)
    return(list(theta = theta0, kare = NA_real_, kare_start = NA_real_,
                trace = data.frame(step = 0L, kare = NA_real_, objective = NA_real_,
                                   lr = lr),
                stopped = "the untrained kernel's KARE could not be computed"))
  theta <- theta0
  best <- list(theta = theta, objective = cur$objective, kare = cur$kare)
  tr_kare <- c(cur$kare, rep(NA_real_, steps))
  tr_obj <- c(cur$objective, rep(NA_real_, steps))
  tr_lr <- c(NA_real_, rep(NA_real_, steps))
  m1 <- m2 <- numeric(length(theta))
  b1 <- 0.9; b2 <- 0.999; eps <- 1e-8
  halvings <- 0L
  stopped <- NA_character_
  prog <- kare_progress_start(verbose, steps, L)
  on.exit(kare_progress_done(prog), add = TRUE)
  for (k in seq_len(steps)) {
    repeat {
      g <- cur$grad
      if (optimizer == "adam") {
        n1 <- b1 * m1 + (1 - b1) * g
        n2 <- b2 * m2 + (1 - b2) * g * g
        step <- lr * (n1 / (1 - b1^k)) / (sqrt(n2 / (1 - b2^k)) + eps)
      } else {
        step <- lr * g
      }
      cand <- theta - step
      nxt <- if (all(is.finite(cand))) kare_eval(cand, L, ctx) else list(ok = FALSE)
      if (nxt$ok) break
      halvings <- halvings + 1L
      lr <- lr / 2
      if (halvings > 30L) break
    }
    if (!nxt$ok) {
      stopped <- sprintf("step %d: the kernel or KARE stayed non-finite after 30 step halvings", k)
      break
    }
    if (optimizer == "adam") { m1 <- n1; m2 <- n2 }
    theta <- cand
    cur <- nxt
    tr_kare[k + 1L] <- cur$kare
    tr_obj[k + 1L] <- cur$objective
    tr_lr[k + 1L] <- lr
    if (cur$objective < best$objective)
      best <- list(theta = theta, objective = cur$objective, kare = cur$kare)
    kare_progress_tick(prog, k, cur$kare)
  }
  keep <- !is.na(tr_kare)
  list(theta = best$theta, kare = best$kare, kare_start = tr_kare[1L],
       trace = data.frame(step = seq_along(tr_kare)[keep] - 1L, kare = tr_kare[keep],
                          objective = tr_obj[keep], lr = tr_lr[keep]),
       stopped = stopped)
}

kare_progress_start <- function(verbose, steps, L) {
  if (!verbose || steps < 1L) return(NULL)
  if (requireNamespace("cli", quietly = TRUE)) {
    id <- cli::cli_progress_bar(sprintf("KARE training, depth %d", L), total = steps,
                                .envir = parent.frame())
    return(list(cli = TRUE, id = id, steps = steps, L = L))
  }
  message(sprintf("ntkgen: KARE training, depth %d, %d steps", L, steps))
  list(cli = FALSE, steps = steps, L = L)
}

kare_progress_tick <- function(prog, k, kare) {
  if (is.null(prog)) return(invisible())
  if (prog$cli) cli::cli_progress_update(id = prog$id, set = k)
  else if (k %% max(1L, prog$steps %/% 5L) == 0L || k == prog$steps)
    message(sprintf("ntkgen: depth %d, step %d/%d, KARE %.5g", prog$L, k, prog$steps, kare))
  invisible()
}

kare_progress_done <- function(prog) {
  if (!is.null(prog) && prog$cli) cli::cli_progress_done(id = prog$id)
  invisible()
}

#' Kernels of a KARE-trained recipe
#'
#' The training kernel (`newdata = NULL`) or the test-by-train kernel (rows `newdata`,
#' columns the training individuals) of an [ntk_kare()] fit: the analytic NTK of the
#' mapped genotypes, standardised with the training means and standard deviations.  The
#' training kernel carries the recipe in `attr(K, "ntk")` (`kind = "kare_analytic"`, the
#' trained parameters, `genotypes` = the training genotypes as given), so that
#' [ntk_krr()] and [ntk_lmm()] fits on it predict from genotypes (`predict(fit, newdata
#' = G_new)`), and [ntk_kernel_like()] builds test-by-train kernels from it.
#'
#' @param object an `ntk_kare` object.
#' @param newdata optional genotypes of new individuals (the SNPs of the training ones).
#' @param threads number of OpenMP threads.
#' @return The kernel matrix (`n x n` or `m x n`) with attribute `"ntk"`.
#' @export
kare_kernel <- function(object, newdata = NULL, threads = default_threads()) {
  if (!inherits(object, "ntk_kare")) stop_arg("object", "must be an object made by ntk_kare().")
  threads <- check_threads(threads)
  s <- object$settings
  if (is.null(newdata)) return(kare_compute(s, s$genotypes, NULL, threads))
  kare_recipe_kernel(s, newdata, "newdata", threads)
}

# The test-by-train kernel of the KARE recipe `s` for the genotypes `newdata` (called by
# recipe_kernel() for kinds "kare_*").
kare_recipe_kernel <- function(s, newdata, arg, threads = default_threads()) {
  X <- s$genotypes
  if (is.null(X)) stop_arg(arg, "cannot be used: the training kernel does not carry its genotypes.")
  if (!(is.data.frame(newdata) || is.matrix(newdata)))
    stop_arg(arg, "must be a numeric matrix or data frame of genotypes, not ",
             class(newdata)[1L], ".")
  if (NCOL(newdata) != NCOL(X))
    stop_arg(arg, "must have the ", NCOL(X), " columns (SNPs) of the training genotypes (",
             NCOL(newdata), " given).")
  if (!is.null(colnames(X)) && !is.null(colnames(newdata)) &&
      !identical(colnames(X), colnames(newdata)))
    stop_arg(arg, "must have the column (SNP) names of the training genotypes, in their order.")
  threads <- check_threads(threads)
  Z <- tryCatch(check_numeric_matrix(newdata, arg, allow_na = TRUE, min_rows = 1L),
                error = function(e) stop(conditionMessage(e), call. = FALSE))
  kare_compute(s, X, Z, threads)
}

# Kernel of the recipe s: training (Z NULL) or test-by-train; genotypes standardised by
# the package's one routine with the training moments, then mapped.
kare_compute <- function(s, X, Z, threads) {
  X <- check_numeric_matrix(X, "X", allow_na = TRUE, min_rows = 2L)
  prep <- prepare_genotypes(X, Z, s$standardize, threads, quiet = TRUE)
  if (prep$p != s$p || !identical(as.integer(prep$keep), as.integer(s$keep)))
    stop("internal: the training genotypes do not match the KARE recipe", call. = FALSE)
  mapf <- function(A) {
    if (is.null(A)) return(NULL)
    if (s$map == "scale") sweep(A, 2L, s$map_param, "*", check.margin = FALSE)
    else A %*% s$map_param
  }
  Xm <- mapf(prep$X)
  Zm <- mapf(prep$Z)
  storage.mode(Xm) <- "double"
  if (!is.null(Zm)) storage.mode(Zm) <- "double"
  settings <- s
  if (!is.null(Z)) { settings$m <- nrow(Z); settings$genotypes <- NULL }
  dn <- list(rownames(if (is.null(Z)) X else Z), rownames(X))
  if (all(vapply(dn, is.null, logical(1)))) dn <- NULL
  .Call(C_ntk_kernel, Xm, Zm, ntk_code("kernel_kind", "analytic"), as.integer(s$depth),
        0L, as.double(s$sigma_w), as.double(s$sigma_b), 1L, ntk_code("normalize", "none"),
        as.integer(threads), 0L, settings, dn)
}

#' @export
print.ntk_kare <- function(x, digits = max(3L, getOption("digits") - 3L), ...) {
  cat("KARE-trained analytic NTK (", x$map, " map", if (x$map == "projection")
    paste0(", rank ", x$settings$rank), ")\n", sep = "")
  cat("Call: ", paste(deparse(x$call), collapse = "\n"), "\n\n", sep = "")
  tab <- data.frame(depth = x$depths, untrained = x$kare_start, trained = x$kare,
                    stopped = ifelse(is.na(x$stopped), "", x$stopped))
  names(tab)[2:3] <- c("KARE untrained", "KARE trained")
  print(tab, digits = digits, row.names = FALSE)
  cat(sprintf("\nChosen depth %d; sigma_w = %s, sigma_b = %s; z = %s (KRR lambda = n z = %s)\n",
              x$depth, format(x$sigma_w, digits = digits), format(x$sigma_b, digits = digits),
              format(x$z), format(x$lambda, digits = digits)))
  cat(sprintf("%s, %d steps, lr %s%s\n", x$optimizer, x$steps, format(x$lr),
              if (x$penalty > 0) sprintf(", %s penalty %s", x$penalty_type, format(x$penalty)) else ""))
  top <- order(x$relevance, decreasing = TRUE)[seq_len(min(5L, length(x$relevance)))]
  lab <- if (is.null(names(x$relevance))) as.character(top) else names(x$relevance)[top]
  cat("Most relevant SNPs: ", paste0(lab, " (", format(x$relevance[top], digits = 3), ")",
                                     collapse = ", "), "\n", sep = "")
  invisible(x)
}

#' Plot a KARE-trained kernel
#'
#' Two panels: KARE per optimisation step (one line per candidate depth) and the learnt
#' per-SNP relevance.
#' @param x an `ntk_kare` object.
#' @param which `1` (KARE per step), `2` (relevance) or both.
#' @param ... further graphical arguments.
#' @export
plot.ntk_kare <- function(x, which = 1:2, ...) {
  which <- intersect(which, 1:2)
  if (length(which) == 2L) {
    op <- graphics::par(mfrow = c(1L, 2L))
    on.exit(graphics::par(op))
  }
  if (1L %in% which) {
    tr <- x$trace
    ok <- is.finite(tr$kare)
    graphics::plot(tr$step[ok], tr$kare[ok], type = "n", xlab = "step", ylab = "KARE",
                   main = "KARE during training", ...)
    for (i in seq_along(x$depths)) {
      s <- tr[tr$depth == x$depths[i] & ok, ]
      graphics::lines(s$step, s$kare, col = i, lwd = if (x$depths[i] == x$depth) 2 else 1)
    }
    graphics::legend("topright", legend = paste("depth", x$depths),
                     col = seq_along(x$depths), lty = 1, bty = "n")
  }
  if (2L %in% which) {
    graphics::plot(seq_along(x$relevance), x$relevance, type = "h", xlab = "SNP",
                   ylab = if (x$map == "scale") "scale" else "projection row RMS",
                   main = "Learnt SNP relevance", ...)
  }
  invisible(x)
}
