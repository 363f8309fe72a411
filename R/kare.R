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
#' `rank` (projection).  With `groups`, the SNPs of a group share one scale,
#' \eqn{s_j = \exp(u_{g(j)})}{s_j = exp(u_g(j))}: the map then has one parameter per group
#' instead of one per SNP (see below).  At the start (\eqn{s = 1}) the scale map gives exactly
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
#' to \eqn{K}); the object stores both (`z`, `lambda`).  `z` is not trained, and need not
#' be: KARE of \eqn{cK} at \eqn{z} equals KARE of \eqn{K} at \eqn{z / c}, and the
#' kernel is homogeneous in what is trained (of degree \eqn{2(L + 1)} in \eqn{\sigma_w}
#' when \eqn{\sigma_b = 0}, of degree 2 in the input map and \eqn{\sigma_b} together),
#' so moving \eqn{\log\sigma_w} (or the map) already moves the ridge relative to the
#' kernel; without a penalty `z` fixes the parametrisation only (with `sigma_b > 0` the
#' free direction is the map and \eqn{\sigma_b} together, on which a penalty acts; in
#' network mode with biases the kernel is not homogeneous in the weights, so there `z`
#' matters a little).  The final ridge of [ntk_krr()] is chosen again on the trained
#' kernel.  Its gradient with respect to
#' \eqn{K} comes from one eigendecomposition of \eqn{K_P} (the package's spectral engine),
#' and is carried exactly, in reverse mode, through the `depth` ReLU layer steps to
#' \eqn{\sigma_w}, \eqn{\sigma_b} and the map (see `src/kare_train.c`).  For pairs of
#' near-duplicate individuals (correlation of their layer inputs within about
#' \eqn{5 \cdot 10^{-9}}{5e-9} of 1) the factors \eqn{1/\sin t} of the derivative are
#' capped (the kernel is not differentiable there); exact duplicates contribute their
#' exact directional derivative.
#'
#' @section Grouped scales:
#' KARE of a kernel trained on the data it is computed on is optimistic, the more so the
#' more parameters the map has: with one scale per SNP and \eqn{p} larger than \eqn{n},
#' training lowers KARE more than the test error.  `groups` gives the scale map few
#' parameters: a vector assigning each SNP (column of `X`) to a group, all SNPs of a group
#' sharing one scale \eqn{s_g = \exp(u_g)}.  The gradient is exact, by the chain rule from
#' the per-SNP one: \eqn{\partial/\partial u_g = \sum_{j \in g} s_j \partial/\partial
#' s_j}{d/du_g = sum over the group's SNPs j of s_j d/ds_j}.  One group (`groups = rep(1,
#' ncol(X))`) is a single global input scale, which with `sigma_b > 0` sets the balance of
#' input and bias (a bandwidth; with `sigma_b = 0` the kernel is homogeneous in the input
#' and a global scale only rescales the kernel, like the ridge).  `groups = "ld"` with
#' `ngroups = k` finds `k` groups of markers in linkage disequilibrium on the genotypes of
#' `X` (standardised; phenotypes are not used): complete-linkage hierarchical clustering
#' of the markers on \eqn{1 - |r|} (\eqn{r} their correlation across individuals), cut
#' into `k` groups, so the markers of a group are pairwise correlated at least at the cut
#' height (average linkage chains most markers into one group).  It costs \eqn{O(n
#' p^2)} time and \eqn{O(p^2)} memory, and is refused above 10000 SNPs (give `groups`
#' yourself then, e.g. windows along the chromosomes).  The recipe holds the per-SNP
#' scales: kernels, `predict()` and the relevance are those of the scale map.  Penalties
#' stay means over the SNPs (a group counts by its size).
#'
#' The objective is `KARE + penalty * R(map)`, with \eqn{R} the mean of \eqn{s}
#' (`penalty_type = "l1"`), of \eqn{s^2} (`"l2"`) or of \eqn{(\log s)^2} (`"l2_log"`,
#' a pull towards the untrained kernel \eqn{s = 1}) for scales, the mean of \eqn{|P|}
#' or \eqn{P^2} for a projection, the mean of \eqn{|\theta|} or \eqn{\theta^2} over all
#' weights in network mode.
#'
#' @section Network mode:
#' With a finite `width`, the kernel is instead the empirical NTK of one ReLU network of
#' that width, exactly the network `ntk_kernel(X, depth = , width = , sigma_w = , sigma_b
#' = )` would draw now (the same weights, drawn from R's RNG in the same order; every
#' candidate depth starts from the same RNG state), and every weight and bias is trained
#' (`sigma_w`, `sigma_b` and `map` are then fixed / unused; the read-out bias does not
#' enter the kernel).  The gradient flows through the factorised kernel: \eqn{dKARE/dK}
#' from the spectral object, each layer's term (input Gram times back-signal Gram,
#' elementwise) passes it to the activations and back-propagated signals, and from there
#' through the network's forward and backward passes to the weights ("double
#' backprop"; no Jacobian), \eqn{O(n^2 w L + n w^2 L)} per step beside the
#' \eqn{O(n^3)} decomposition.  The per-SNP relevance is then the root mean square of
#' the SNP's first-layer weights.
#'
#' @section Optimisation:
#' Full-batch Adam (default; `lr = 0.05`) or plain gradient descent (`"sgd"`; `lr = 1`)
#' on the unconstrained parameters (\eqn{\log\sigma_w}, \eqn{\log\sigma_b}, \eqn{u} or
#' \eqn{P}), `steps` steps for each candidate; candidates that differ only in depth (or
#' map) start from the same parameters, `sigma_b` candidates from their own `sigma_b`.  A step
#' after which the kernel is non-finite, KARE is not finite or the decomposition fails is
#' rejected: the last good parameters are kept and the step is retried with half the
#' learning rate (at most 30 times, then training stops at the last good parameters).
#' With `batch`, each step uses a random subset of `batch` individuals (drawn with R's RNG:
#' `set.seed()` reproduces training), which makes a step \eqn{(n / batch)^3} times cheaper;
#' the trace then records the batch KARE, except the first and last entries (all
#' individuals), and the last parameters are kept.
#' Full batch: for each depth the parameters of the smallest objective seen are kept; the depth of
#' the smallest KARE at those parameters is chosen.  One step costs one kernel (\eqn{O(n^2
#' (d + L))}), one eigendecomposition (\eqn{O(n^3)}, the dominant cost) and the backward
#' pass (\eqn{O(n^2 (d + L))}).  Progress is shown with `cli` when it is installed and
#' `verbose = TRUE` (else messages); an interrupt stops training and returns nothing.
#'
#' @param X training genotypes (`n x p` numeric matrix or data frame), as for
#'   [ntk_kernel()].
#' @param y numeric phenotype vector of length `n` (no `NA`).
#' @param depth candidate depths (hidden layers), e.g. `1:3` or one number.  Every
#'   combination of `depth`, `map`, `rank` and `sigma_b` is trained from its own start and the one
#'   of smallest final KARE is chosen (KARE is an estimate of the test error: a candidate
#'   stuck in a poor optimum shows it; but KARE of a kernel trained on the same data is
#'   optimistic, the more so the more parameters the map has: compare maps of very
#'   different sizes, e.g. a large `rank` against the scales at small `n`, with care).
#' @param map `"scale"` (one non-negative scale per SNP), `"projection"`, or both:
#'   candidates, like `depth`.
#' @param rank number(s) of columns of the projection (`map = "projection"`), candidates.
#' @param z ridge on the \eqn{K/n} scale (`> 0`), see above.
#' @param optimizer `"adam"` or `"sgd"`.
#' @param lr learning rate (`NULL`: for Adam 0.05, 0.01 in network mode; 1 for SGD).
#' @param steps number of optimisation steps per candidate (`>= 0`; 0 gives the untrained
#'   kernel).
#' @param penalty non-negative weight of the penalty on the map.
#' @param penalty_type `"l1"`, `"l2"` or `"l2_log"` (scale map only).
#' @param sigma_w,sigma_b initial `sigma_w` (`> 0`) and `sigma_b` (`>= 0`).  `sigma_b` may
#'   be several values: candidates, like `depth`, each trained from its start and chosen
#'   by KARE (e.g. `c(0, 1)`: with `sigma_b = 0` the kernel and the functions it fits are
#'   positively homogeneous in the genotypes, \eqn{f(cx) = c f(x)} for \eqn{c > 0}; a bias
#'   lets them bend near the origin, as the "cosh" link of [simulate_phenotype()] does).
#'   In network mode `sigma_b` is the biases' initial scale, and candidates differ in
#'   whether the network has biases.
#' @param width `Inf` (analytic mode) or the width of the network whose empirical NTK is
#'   trained (network mode).
#' @param batch `NULL` (full batch) or the number of individuals per step.
#' @param validation fraction (`0 <= validation < 0.5`) of the individuals held out for
#'   early stopping: training uses the others, and every `max(1, steps %/% 25)` steps the
#'   held-out mean squared error of the KRR at `lambda = n_train z` (GLS offset) is
#'   computed; the parameters of the smallest held-out error are kept and the candidate
#'   of the smallest held-out error is chosen (a guard against KARE's optimism when the
#'   map has many parameters, e.g. `p` larger than `n`).  Drawn with R's RNG after the
#'   projection starts.  0: no hold-out.
#' @param groups `NULL` (one scale per SNP), a vector (factor, character or whole
#'   numbers, no `NA`) of length `ncol(X)` assigning each SNP to a group whose SNPs share
#'   one scale, or `"ld"`: `ngroups` groups of markers in LD found on `X` (see "Grouped
#'   scales").  Only for `map = "scale"` in analytic mode (projection candidates ignore it).
#'   Groups whose SNPs are all constant (dropped) disappear.
#' @param ngroups number of groups for `groups = "ld"` (whole number between 1 and the
#'   number of SNPs kept).
#' @param covariates optional covariates (matrix, data frame or vector with `n` rows),
#'   projected out with the intercept.
#' @param standardize logical, as in [ntk_kernel()].
#' @param threads number of OpenMP threads.
#' @param verbose logical; report progress.
#' @return An object of class `ntk_kare`, a kernel recipe: a list with `call`, `depth`
#'   (chosen), `depths`, `candidates` (data frame: `depth`, `map`, `rank`, `sigma_b` (its
#'   start), `sigma_w_trained`, `sigma_b_trained` (at the end), `kare_start`,
#'   `kare`, `stopped`, one row per candidate), `chosen` (its row), `kare` (final KARE per
#'   candidate), `kare_start` (KARE of the untrained kernel per candidate), `trace` (data
#'   frame: `candidate` (row of `candidates`), `depth`, `map`, `rank`, `sigma_b` (the
#'   candidate's start), `step`,
#'   `kare`, `objective`, `lr`), `sigma_w`,
#'   `sigma_b`, `map`, `rank` (chosen), `scales` (per kept SNP, scale map), `groups`
#'   (with `groups`: the group of each SNP of `X`, `NA` for dropped constant SNPs, groups
#'   numbered 1 to `ngroups`), `group_scales` (the scale of each group), `ngroups`
#'   or `projection` (`p x rank`), `weights` and `weights_start` (network mode, the
#'   layout of [ntk_kernel()]'s networks), `relevance` (per SNP of `X`: the scale, or the root
#'   mean square of the SNP's row of the projection; 0 for dropped constant SNPs), `z`,
#'   `lambda` (`n z`), `n`, `p`, `steps`, `stopped` (per depth: why training stopped
#'   early, `NA` when it ran all steps; per candidate), `validation` (the fraction) and
#'   `heldout` (the held-out rows; then `candidates$validation` and `trace$validation`
#'   hold the held-out errors, `kare` is on the training part and `lambda` is
#'   `n_train z`) and the recipe pieces (`settings`).
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
ntk_kare <- function(X, y, depth = 1:3, map = "scale", rank = 1:2,
                     z = 0.1, optimizer = c("adam", "sgd"), lr = NULL, steps = 50,
                     penalty = 0, penalty_type = c("l1", "l2", "l2_log"), sigma_w = sqrt(2),
                     sigma_b = 0, width = Inf, batch = NULL, validation = 0,
                     groups = NULL, ngroups = NULL, covariates = NULL,
                     standardize = TRUE, threads = default_threads(), verbose = FALSE) {
  cl <- match.call()
  convert <- needs_double_copy(X)
  X <- check_numeric_matrix(X, "X", allow_na = TRUE, min_rows = 3L)
  n <- nrow(X)
  y <- check_numeric_vector(y, "y", n = n)
  if (!is.numeric(depth) || !length(depth) || anyNA(depth) || any(depth < 1) ||
      any(depth > 100) || any(depth != round(depth)))
    stop_arg("depth", "must be whole numbers between 1 and 100 (e.g. 1:3).")
  depth <- sort(unique(as.integer(depth)))
  if (!is.character(map) || !length(map) || anyNA(map) ||
      !all(map %in% c("scale", "projection")))
    stop_arg("map", "must be \"scale\", \"projection\" or both (candidates chosen by KARE).")
  map <- unique(map)
  z <- check_number(z, "z", lower = 0, open_lower = TRUE)
  optimizer <- check_choice(optimizer, c("adam", "sgd"), "optimizer")
  width <- check_width(width)
  network <- is.finite(width)
  if (is.null(lr)) lr <- if (optimizer == "adam") (if (network) 0.01 else 0.05) else 1
  lr <- check_number(lr, "lr", lower = 0, open_lower = TRUE)
  steps <- check_number(steps, "steps", lower = 0, upper = 1e6, integer = TRUE)
  penalty <- check_number(penalty, "penalty", lower = 0)
  penalty_type <- check_choice(penalty_type, c("l1", "l2", "l2_log"), "penalty_type")
  if (penalty_type == "l2_log" && (is.finite(width) || !identical(map, "scale")))
    stop_arg("penalty_type", "\"l2_log\" (on the log-scales) needs `map = \"scale\"` ",
             "and `width = Inf`.")
  sigma_w <- check_number(sigma_w, "sigma_w", lower = 0, open_lower = TRUE)
  if (!is.numeric(sigma_b) || !length(sigma_b) || anyNA(sigma_b) ||
      any(!is.finite(sigma_b)) || any(sigma_b < 0))
    stop_arg("sigma_b", "must be finite numbers >= 0 (one, or candidates chosen by ",
             "KARE like `depth`).")
  sigma_b <- sort(unique(as.numeric(sigma_b)))
  if (!is.null(batch)) {
    batch <- check_number(batch, "batch", lower = 3, integer = TRUE)
    if (batch >= n) batch <- NULL
  }
  validation <- check_number(validation, "validation", lower = 0, upper = 0.5,
                             open_upper = TRUE)
  standardize <- check_flag(standardize, "standardize")
  verbose <- check_flag(verbose, "verbose")
  threads <- check_threads(threads)
  C <- check_covariates(covariates, n, "covariates", per = "individual of `X`")
  Z <- cbind(1, C)
  if (qr(Z)$rank < ncol(Z))
    stop_arg("covariates", "are collinear with each other or with the intercept.")
  if (ncol(Z) >= min(n, if (is.null(batch)) n else batch) - 1L)
    stop_arg("covariates", "leave too few individuals: ", ncol(Z), " columns for ",
             if (is.null(batch)) n else batch, " individuals (`batch`).")
  if (stats::var(y) == 0) stop_arg("y", "is constant: there is nothing to predict.")
  grp <- kare_check_groups(groups, ngroups, ncol(X), map, network)
  check_memory(mem_kare(n, ncol(X), depth, map,
                        if (is.numeric(rank)) pmin(rank, ncol(X)) else 1, width,
                        validation, convert), "X",
               sprintf("KARE training of %s on %d individuals (kernels, decomposition, adjoints)",
                       if (network) "a network" else "the analytic NTK", n))
  prep <- prepare_genotypes(X, NULL, standardize, threads)
  p <- prep$p
  if (network) map <- "network"
  grp <- kare_resolve_groups(grp, prep, ncol(X))   # NULL: one scale per SNP
  if ("projection" %in% map) {
    if (!is.numeric(rank) || !length(rank) || anyNA(rank) || any(rank < 1) ||
        any(rank > p) || any(rank != round(rank)))
      stop_arg("rank", "must be whole numbers between 1 and the number of SNPs kept (", p,
               ").")
    rank <- sort(unique(as.integer(rank)))
  }
  # the candidates: depth x map (x rank for a projection) x sigma_b, each trained from
  # its start
  cfg <- do.call(rbind, lapply(depth, function(L) do.call(rbind, lapply(map, function(m) {
    g <- expand.grid(sigma_b = sigma_b,
                     rank = if (m == "projection") rank else NA_integer_)
    data.frame(depth = L, map = m, rank = g$rank, sigma_b = g$sigma_b,
               stringsAsFactors = FALSE)
  }))))
  lab <- vapply(seq_len(nrow(cfg)), function(i) kare_label(cfg[i, ], length(sigma_b) > 1L),
                "")
  # projection starts: N(0, 1) p x r, drawn once per rank, in increasing rank
  P0 <- list()
  if ("projection" %in% map)
    for (r in rank) P0[[as.character(r)]] <- matrix(stats::rnorm(p * r), p, r)
  # held-out individuals for early stopping (drawn after the projection starts)
  vi <- if (validation > 0) sort(sample.int(n, max(2L, round(validation * n)))) else integer()
  ti <- setdiff(seq_len(n), vi)
  if (length(ti) < ncol(Z) + 2L) stop_arg("validation", "leaves too few training individuals.")
  if (!is.null(batch) && batch >= length(ti)) batch <- NULL
  base <- list(X = prep$X[ti, , drop = FALSE], y = y[ti], Z = Z[ti, , drop = FALSE], z = z,
               p = p, width = width, sw = sigma_w, penalty = penalty,
               penalty_type = penalty_type, threads = threads,
               groups = grp$index, ngroups = grp$ngroups)
  ctx_of <- function(i) c(base, list(map = cfg$map[i], rank = cfg$rank[i],
                                     sb = cfg$sigma_b[i],
                                     train_sb = !network && cfg$sigma_b[i] > 0))
  if (network) {
    # every depth starts from the network ntk_kernel(X, depth, width) would draw now
    if (!exists(".Random.seed", envir = globalenv(), inherits = FALSE)) set.seed(NULL)
    rng0 <- get(".Random.seed", envir = globalenv(), inherits = FALSE)
  }
  res <- lapply(seq_len(nrow(cfg)), function(i) {
    L <- cfg$depth[i]
    ctx <- ctx_of(i)
    if (network) {
      assign(".Random.seed", rng0, envir = globalenv())
      theta0 <- ntk_weights(p, width, L)$flat
    } else {
      theta0 <- c(log(sigma_w), if (ctx$train_sb) log(ctx$sb),
                  if (ctx$map == "scale") rep(0, if (is.null(grp)) p else grp$ngroups)
                  else as.vector(P0[[as.character(ctx$rank)]]))
    }
    evalf <- function(theta, idx) kare_eval(theta, L, ctx, idx)
    monitor <- if (length(vi))
      function(theta) kare_heldout(theta, L, ctx, prep$X[vi, , drop = FALSE], y[vi],
                                   Z[vi, , drop = FALSE])
    r <- kare_optimise(theta0, evalf, length(ti), batch, optimizer, lr, steps, verbose,
                       lab[i], monitor = monitor,
                       every = max(1L, steps %/% 25L))
    r$theta0 <- theta0
    r
  })
  finals <- vapply(res, function(r) r$kare, numeric(1))
  if (all(!is.finite(finals)))
    stop_arg("X", "gives a kernel whose KARE cannot be computed at any depth (the ",
             "decomposition failed at the start); check the genotypes and `z`.")
  vals <- vapply(res, function(r) r$validation, numeric(1))
  best <- if (length(vi) && any(is.finite(vals))) which.min(vals) else which.min(finals)
  th <- res[[best]]$theta
  L <- cfg$depth[best]
  ctx <- ctx_of(best)
  fin <- lapply(seq_along(res), function(i) kare_unpack(res[[i]]$theta, ctx_of(i), cfg$depth[i]))
  par <- fin[[best]]
  relevance <- numeric(ncol(X))
  rel_kept <- switch(ctx$map, network = sqrt(colMeans(par$W1^2)), scale = par$s,
                     projection = sqrt(rowMeans(par$P^2)))
  relevance[prep$keep] <- rel_kept
  names(relevance) <- colnames(X)
  trace <- do.call(rbind, lapply(seq_along(res), function(i)
    data.frame(candidate = i, depth = cfg$depth[i], map = cfg$map[i], rank = cfg$rank[i],
               sigma_b = cfg$sigma_b[i], res[[i]]$trace, stringsAsFactors = FALSE)))
  settings <- list(kind = if (network) "kare_network" else "kare_analytic",
                   depth = L, width = as.numeric(width),
                   sigma_w = par$sw, sigma_b = par$sb, normalize = "none", n_init = 1L,
                   standardize = standardize, center = prep$center, scale = prep$scale,
                   keep = prep$keep, p = p, device = "cpu", map = ctx$map,
                   map_param = switch(ctx$map, network = NULL, scale = par$s,
                                      projection = par$P),
                   weights = if (network) th, rank = ctx$rank, genotypes = X)
  cfg$sigma_w_trained <- vapply(fin, function(f) f$sw, 0)
  cfg$sigma_b_trained <- vapply(fin, function(f) f$sb, 0)
  cfg$kare_start <- vapply(res, function(r) r$kare_start, 0)
  cfg$kare <- finals
  if (length(vi)) cfg$validation <- vals
  cfg$stopped <- vapply(res, function(r) r$stopped, "")
  out <- list(call = cl, depth = L, depths = depth, candidates = cfg, chosen = best,
              kare = stats::setNames(finals, lab),
              kare_start = stats::setNames(cfg$kare_start, lab),
              trace = trace, sigma_w = par$sw, sigma_b = par$sb, map = ctx$map,
              rank = ctx$rank, width = width,
              scales = if (ctx$map == "scale")
                stats::setNames(par$s, colnames(X)[prep$keep]),
              groups = if (!is.null(grp)) grp$full,
              group_scales = if (!is.null(grp) && ctx$map == "scale") par$sg,
              ngroups = if (!is.null(grp)) grp$ngroups,
              projection = if (ctx$map == "projection") par$P,
              weights = if (network) th, weights_start = if (network) res[[best]]$theta0,
              relevance = relevance, z = z, lambda = length(ti) * z, n = n, p = p,
              steps = steps, validation = validation, heldout = vi,
              batch = batch, optimizer = optimizer, lr = lr, penalty = penalty,
              penalty_type = penalty_type,
              stopped = stats::setNames(cfg$stopped, lab),
              settings = settings)
  class(out) <- "ntk_kare"
  out
}

# "depth 2, projection r1" etc. (", sigma_b 1" with several sigma_b candidates)
kare_label <- function(row, sb = FALSE) {
  paste0("depth ", row$depth, if (row$map != "network") paste0(", ", row$map),
         if (!is.na(row$rank)) paste0(" r", row$rank),
         if (sb) paste0(", sigma_b ", format(row$sigma_b, digits = 15)))
}

# Parameters from the unconstrained vector: sigma_w, sigma_b, scales s or projection P
# (analytic mode), or the network's weights (network mode: sigma_w, sigma_b fixed).
kare_unpack <- function(theta, ctx, L = NULL) {
  if (ctx$map == "network") {
    w <- ctx$width
    return(list(sw = ctx$sw, sb = ctx$sb, W1 = matrix(theta[seq_len(w * ctx$p)], w, ctx$p)))
  }
  sw <- exp(theta[1L])
  k <- 1L
  sb <- 0
  if (ctx$train_sb) { sb <- exp(theta[2L]); k <- 2L }
  rest <- theta[-seq_len(k)]
  if (ctx$map == "scale") {
    sg <- exp(rest)                            # per group (grouped map) or per SNP
    list(sw = sw, sb = sb, s = if (is.null(ctx$groups)) sg else sg[ctx$groups],
         sg = if (!is.null(ctx$groups)) sg, P = NULL)
  } else list(sw = sw, sb = sb, s = NULL, P = matrix(rest, ctx$p, ctx$rank))
}

# Checks of `groups` / `ngroups` that do not need the standardised genotypes; returns
# list(ld = TRUE, k) for "ld", list(ld = FALSE, g = integer codes of length p_all), or
# NULL (no groups).
kare_check_groups <- function(groups, ngroups, p_all, map, network) {
  if (is.null(groups)) {
    if (!is.null(ngroups))
      stop_arg("ngroups", "is only used with `groups = \"ld\"`.")
    return(NULL)
  }
  if (network)
    stop_arg("groups", "is for the scale map of the analytic kernel (`width = Inf`).")
  if (!"scale" %in% map)
    stop_arg("groups", "is for `map = \"scale\"` (shared scales); `map` is ",
             paste0("\"", map, "\"", collapse = ", "), ".")
  if (identical(groups, "ld")) {
    if (is.null(ngroups)) stop_arg("ngroups", "must be given with `groups = \"ld\"`.")
    k <- check_number(ngroups, "ngroups", lower = 1, upper = p_all, integer = TRUE)
    return(list(ld = TRUE, k = k))
  }
  if (!is.null(ngroups))
    stop_arg("ngroups", "is only used with `groups = \"ld\"` (explicit `groups` given).")
  if (!(is.factor(groups) || is.character(groups) || is.numeric(groups)) ||
      is.matrix(groups) || is.list(groups))
    stop_arg("groups", "must be NULL, \"ld\" or a vector (factor, character or whole ",
             "numbers) with one group per SNP (column of `X`).")
  if (length(groups) != p_all)
    stop_arg("groups", "must have one entry per SNP (column of `X`): length ", p_all,
             ", not ", length(groups), if (is.character(groups) && length(groups) == 1L)
               " (the only keyword is \"ld\")", ".")
  if (anyNA(groups)) stop_arg("groups", "must not contain NA.")
  if (is.numeric(groups) && (any(!is.finite(groups)) || any(groups != round(groups))))
    stop_arg("groups", "must be whole numbers (or a factor / character labels).")
  list(ld = FALSE, g = as.integer(factor(groups)))
}

# The groups of the kept (non-constant) SNPs: index (1..ngroups per kept SNP), ngroups,
# full (per SNP of X, NA for dropped ones).  LD groups on the standardised genotypes.
kare_resolve_groups <- function(grp, prep, p_all) {
  if (is.null(grp)) return(NULL)
  p <- prep$p
  if (grp$ld) {
    if (grp$k > p)
      stop_arg("ngroups", "must be at most the number of SNPs kept (", p, "; ", grp$k,
               " given).")
    g <- kare_ld_groups(prep$X, grp$k)
  } else {
    g <- grp$g[prep$keep]
  }
  g <- match(g, sort(unique(g)))               # groups with no kept SNP disappear
  full <- rep(NA_integer_, p_all)
  full[prep$keep] <- g
  list(index = g, ngroups = max(g), full = full)
}

# k groups of markers in LD: complete-linkage clustering of the columns of the
# standardised genotypes Xs on 1 - |r| (r: correlation across individuals), cut into k
# groups.  O(n p^2) time, O(p^2) memory.
kare_ld_groups <- function(Xs, k) {
  p <- ncol(Xs)
  if (k == 1L) return(rep(1L, p))
  if (k == p) return(seq_len(p))
  if (p > 10000L)
    stop_arg("groups", "= \"ld\" clusters all pairs of SNPs, too many for ", p, " SNPs ",
             "(at most 10000); give the groups yourself (e.g. windows along the chromosomes).")
  Xc <- sweep(Xs, 2L, colMeans(Xs), check.margin = FALSE)   # (already so when standardised)
  C <- crossprod(Xc)
  d <- sqrt(diag(C))
  d[!(d > 0)] <- Inf                       # a constant column: correlation 0 with all
  C <- abs(C / tcrossprod(d))
  h <- stats::hclust(stats::as.dist(1 - C), method = "complete")
  as.integer(stats::cutree(h, k = k))
}

# Objective (KARE + penalty) and its gradient in theta on the individuals idx (NULL:
# all); ok = FALSE when the kernel or KARE is not finite or the decomposition failed.
kare_eval <- function(theta, L, ctx, idx = NULL) {
  X <- ctx$X; y <- ctx$y; Z <- ctx$Z
  if (!is.null(idx)) {
    X <- X[idx, , drop = FALSE]; y <- y[idx]; Z <- Z[idx, , drop = FALSE]
  }
  if (ctx$map == "network") {
    r <- .Call(C_kare_network, X, theta, as.integer(L), as.integer(ctx$width), ctx$sw,
               ctx$sb, y, Z, ctx$z, as.integer(ctx$threads), TRUE)
    if (r$status != 0L || !is.finite(r$kare)) return(list(ok = FALSE))
    v <- theta
    g <- r$grad
  } else {
    par <- kare_unpack(theta, ctx)
    if (!(par$sw > 0) || !is.finite(par$sw) || !is.finite(par$sb)) return(list(ok = FALSE))
    M <- if (ctx$map == "scale") par$s else par$P
    r <- .Call(C_kare_analytic, X, ntk_code("kare_map", ctx$map), M, as.integer(L),
               par$sw, par$sb, y, Z, ctx$z, as.integer(ctx$threads), TRUE)
    if (r$status != 0L || !is.finite(r$kare) || anyNA(r$grad_map))
      return(list(ok = FALSE))
    v <- as.vector(M)
    g <- as.vector(r$grad_map)
  }
  pen <- 0
  if (ctx$penalty > 0 && ctx$penalty_type != "l2_log") {
    if (ctx$penalty_type == "l1") { pen <- mean(abs(v)); g <- g + ctx$penalty * sign(v) / length(v) }
    else { pen <- mean(v^2); g <- g + ctx$penalty * 2 * v / length(v) }
  }
  if (ctx$map == "scale") g <- g * v                 # d/du = s d/ds
  if (ctx$penalty > 0 && ctx$penalty_type == "l2_log") {   # mean(u^2), u = log s
    u <- log(v)
    pen <- mean(u^2)
    g <- g + ctx$penalty * 2 * u / length(u)
  }
  if (ctx$map != "network")
    g <- c(r$grad_sw * par$sw, if (ctx$train_sb) r$grad_sb * par$sb,
           if (ctx$map == "scale" && !is.null(ctx$groups))   # d/du_g = sum_{j in g} d/du_j
             as.vector(rowsum(g, ctx$groups, reorder = TRUE)) else g)
  if (any(!is.finite(g))) return(list(ok = FALSE))
  list(ok = TRUE, kare = r$kare, objective = r$kare + ctx$penalty * pen, grad = g)
}

# Mean squared error on held-out individuals (Xv standardised, yv, Zv offset design) of the
# KRR fitted on the training part of ctx at lambda = n_train z with the GLS offset (the
# fit whose KARE is minimised), for the parameters theta.  Cost O(n_t^3 + n_v n_t p).
kare_heldout <- function(theta, L, ctx, Xv, yv, Zv) {
  if (ctx$map == "network") {
    ktt <- .Call(C_kare_network_kernel, ctx$X, NULL, theta, as.integer(L),
                 as.integer(ctx$width), ctx$sw, ctx$sb, as.integer(ctx$threads))
    kvt <- .Call(C_kare_network_kernel, ctx$X, Xv, theta, as.integer(L),
                 as.integer(ctx$width), ctx$sw, ctx$sb, as.integer(ctx$threads))
  } else {
    par <- kare_unpack(theta, ctx)
    mapf <- function(A) if (ctx$map == "scale") sweep(A, 2L, par$s, "*", check.margin = FALSE)
                        else A %*% par$P
    Xt <- mapf(ctx$X); Xm <- mapf(Xv)
    kk <- function(Zz) .Call(C_ntk_kernel, Xt, Zz, ntk_code("kernel_kind", "analytic"),
                             as.integer(L), 0L, par$sw, par$sb, 1L,
                             ntk_code("normalize", "none"), as.integer(ctx$threads), 0L,
                             NULL, NULL)
    ktt <- tryCatch(kk(NULL), error = function(e) NULL)
    kvt <- tryCatch(kk(Xm), error = function(e) NULL)
    if (is.null(ktt) || is.null(kvt)) return(NA_real_)
  }
  nt <- nrow(ktt)
  R <- tryCatch(chol(ktt + diag(nt * ctx$z, nt)), error = function(e) NULL)
  if (is.null(R)) return(NA_real_)
  vinv <- function(B) backsolve(R, forwardsolve(t(R), B))
  Zt <- ctx$Z
  ViZ <- vinv(Zt)
  beta <- solve(crossprod(Zt, ViZ), crossprod(ViZ, ctx$y))
  alpha <- vinv(ctx$y - Zt %*% beta)
  pred <- Zv %*% beta + kvt %*% alpha
  mean((yv - pred)^2)
}

# Adam / gradient descent from theta0 with step halving.  Each step evaluates the
# objective and gradient at the current parameters (on a random batch of `batch`
# individuals, drawn with R's RNG, or on all); a failed evaluation (non-finite kernel or
# KARE, failed decomposition) sends the parameters back to the last good ones with half
# the learning rate.  Full batch: the parameters of the smallest objective seen are
# returned; mini-batches: the last ones.  Returns theta, its KARE (on all individuals),
# the KARE before training, the trace and why training stopped early (NA: it did not).
kare_optimise <- function(theta0, evalf, n, batch, optimizer, lr, steps, verbose, L,
                          monitor = NULL, every = 1L) {
  full <- is.null(batch)
  draw <- function() if (full) NULL else sort(sample.int(n, batch))
  start <- evalf(theta0, NULL)
  fail <- list(theta = theta0, kare = NA_real_, kare_start = NA_real_, validation = NA_real_,
               trace = data.frame(step = 0L, kare = NA_real_, objective = NA_real_, lr = lr,
                                  validation = NA_real_),
               stopped = "the untrained kernel's KARE could not be computed")
  if (!start$ok) return(fail)
  theta <- theta0
  good <- list(theta = theta0, m1 = 0, m2 = 0, t = 0L, cur = if (full) start)
  best <- list(theta = theta0, objective = start$objective, kare = start$kare)
  tr_kare <- c(start$kare, rep(NA_real_, steps))
  tr_obj <- c(start$objective, rep(NA_real_, steps))
  tr_lr <- rep(NA_real_, steps + 1L)
  tr_val <- rep(NA_real_, steps + 1L)
  mon <- NULL
  watch <- function(theta, i) {    # validation error at step i - 1; best kept
    if (is.null(monitor)) return(invisible())
    v <- monitor(theta)
    tr_val[i] <<- v
    if (is.finite(v) && (is.null(mon) || v < mon$score)) mon <<- list(theta = theta, score = v)
    invisible()
  }
  watch(theta0, 1L)
  m1 <- m2 <- numeric(length(theta))
  t <- 0L                       # Adam's update count (bias correction)
  b1 <- 0.9; b2 <- 0.999; eps <- 1e-8
  halvings <- 0L
  stopped <- NA_character_
  prog <- kare_progress_start(verbose, steps, L)
  on.exit(kare_progress_done(prog), add = TRUE)
  cur <- if (full) start else NULL
  k <- 1L
  while (k <= steps) {
    if (is.null(cur)) cur <- evalf(theta, draw())
    if (!cur$ok) {
      halvings <- halvings + 1L
      if (halvings > 30L) {
        stopped <- sprintf("step %d: the kernel or KARE stayed non-finite after 30 step halvings", k)
        break
      }
      lr <- lr / 2
      theta <- good$theta; m1 <- good$m1; m2 <- good$m2; t <- good$t
      cur <- if (full) good$cur else NULL
      next
    }
    if (k > 1L || !full) {      # the parameters evaluated are good
      good <- list(theta = theta, m1 = m1, m2 = m2, t = t, cur = if (full) cur)
      if (k > 1L) {
        tr_kare[k] <- cur$kare; tr_obj[k] <- cur$objective; tr_lr[k] <- lr
        if (full && cur$objective < best$objective)
          best <- list(theta = theta, objective = cur$objective, kare = cur$kare)
        kare_progress_tick(prog, k - 1L, cur$kare)
        if ((k - 1L) %% every == 0L) watch(theta, k)
      }
    }
    g <- cur$grad
    if (optimizer == "adam") {
      t <- t + 1L
      m1 <- b1 * m1 + (1 - b1) * g
      m2 <- b2 * m2 + (1 - b2) * g * g
      step <- lr * (m1 / (1 - b1^t)) / (sqrt(m2 / (1 - b2^t)) + eps)
    } else {
      step <- lr * g
    }
    theta <- theta - step
    cur <- if (all(is.finite(theta))) NULL else list(ok = FALSE)
    k <- k + 1L
  }
  # the parameters after the last step
  if (is.na(stopped) && steps > 0L) {
    last <- evalf(theta, NULL)
    while (!last$ok && halvings <= 30L) {    # the last step failed: back to the last good
      halvings <- halvings + 1L
      theta <- good$theta
      last <- evalf(theta, NULL)
    }
    if (last$ok) {
      tr_kare[steps + 1L] <- last$kare; tr_obj[steps + 1L] <- last$objective
      tr_lr[steps + 1L] <- lr
      if (!full || last$objective < best$objective)
        best <- list(theta = theta, objective = last$objective, kare = last$kare)
      kare_progress_tick(prog, steps, last$kare)
      watch(theta, steps + 1L)
    }
  } else if (!full) {
    last <- evalf(good$theta, NULL)
    if (last$ok) best <- list(theta = good$theta, objective = last$objective, kare = last$kare)
  }
  val <- NA_real_
  if (!is.null(mon)) {   # validation: the parameters of the smallest held-out error
    e <- evalf(mon$theta, NULL)
    best <- list(theta = mon$theta, objective = e$objective, kare = e$kare)
    val <- mon$score
  }
  keep <- !is.na(tr_kare)
  list(theta = best$theta, kare = best$kare, kare_start = start$kare, validation = val,
       trace = data.frame(step = seq_along(tr_kare)[keep] - 1L, kare = tr_kare[keep],
                          objective = tr_obj[keep], lr = tr_lr[keep],
                          validation = tr_val[keep]),
       stopped = stopped)
}

kare_progress_start <- function(verbose, steps, L) {
  if (!verbose || steps < 1L) return(NULL)
  if (requireNamespace("cli", quietly = TRUE)) {
    id <- cli::cli_progress_bar(sprintf("KARE training, %s", L), total = steps,
                                .envir = parent.frame())
    return(list(cli = TRUE, id = id, steps = steps, L = L))
  }
  message(sprintf("ntkgen: KARE training, %s, %d steps", L, steps))
  list(cli = FALSE, steps = steps, L = L)
}

kare_progress_tick <- function(prog, k, kare) {
  if (is.null(prog)) return(invisible())
  if (prog$cli) cli::cli_progress_update(id = prog$id, set = k)
  else if (k %% max(1L, prog$steps %/% 5L) == 0L || k == prog$steps)
    message(sprintf("ntkgen: %s, step %d/%d, KARE %.5g", prog$L, k, prog$steps, kare))
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
  Z <- recipe_newdata(X, newdata, arg)
  threads <- check_threads(threads)
  kare_compute(s, X, Z, threads)
}

# Kernel of the recipe s: training (Z NULL) or test-by-train; genotypes standardised by
# the package's one routine with the training moments, then mapped.
kare_compute <- function(s, X, Z, threads) {
  convert <- needs_double_copy(X) || (!is.null(Z) && needs_double_copy(Z))
  X <- check_numeric_matrix(X, "X", allow_na = TRUE, min_rows = 2L)
  m <- if (is.null(Z)) 0L else nrow(Z)
  check_memory(mem_kare_kernel(nrow(X), m, ncol(X), s$depth, s$map, s$rank, s$width, convert),
               "object", sprintf("the %d x %d KARE-trained kernel and its work space",
                                 if (m > 0) m else nrow(X), nrow(X)))
  prep <- prepare_genotypes(X, Z, s$standardize, threads, quiet = TRUE)
  if (prep$p != s$p || !identical(as.integer(prep$keep), as.integer(s$keep)))
    stop("internal: the training genotypes do not match the KARE recipe", call. = FALSE)
  settings <- s
  if (!is.null(Z)) { settings$m <- nrow(Z); settings$genotypes <- NULL }
  dn <- list(rownames(if (is.null(Z)) X else Z), rownames(X))
  if (all(vapply(dn, is.null, logical(1)))) dn <- NULL
  if (identical(s$kind, "kare_network")) {
    K <- .Call(C_kare_network_kernel, prep$X, prep$Z, as.double(s$weights),
               as.integer(s$depth), as.integer(s$width), as.double(s$sigma_w),
               as.double(s$sigma_b), as.integer(threads))
    if (!all(is.finite(K))) stop("the trained network's kernel is not finite", call. = FALSE)
    if (!is.null(dn)) dimnames(K) <- dn
    attr(K, "ntk") <- settings
    if (is.null(Z)) attr(K, "diag") <- diag(K)   # the recipe's fingerprint (R/recipe.R)
    return(K)
  }
  mapf <- function(A) {
    if (is.null(A)) return(NULL)
    if (s$map == "scale") sweep(A, 2L, s$map_param, "*", check.margin = FALSE)
    else A %*% s$map_param
  }
  Xm <- mapf(prep$X)
  Zm <- mapf(prep$Z)
  storage.mode(Xm) <- "double"
  if (!is.null(Zm)) storage.mode(Zm) <- "double"
  .Call(C_ntk_kernel, Xm, Zm, ntk_code("kernel_kind", "analytic"), as.integer(s$depth),
        0L, as.double(s$sigma_w), as.double(s$sigma_b), 1L, ntk_code("normalize", "none"),
        as.integer(threads), 0L, settings, dn)
}

#' @export
print.ntk_kare <- function(x, digits = max(3L, getOption("digits") - 3L), ...) {
  digits <- check_number(digits, "digits", lower = 1, upper = 22, integer = TRUE)
  if (x$map == "network")
    cat("KARE-trained empirical NTK (network of width ", x$width, ", all weights trained)\n",
        sep = "")
  else cat("KARE-trained analytic NTK (", x$map, " map", if (x$map == "projection")
    paste0(", rank ", x$rank), if (x$map == "scale" && !is.null(x$ngroups))
      paste0(", ", x$ngroups, " group", if (x$ngroups > 1L) "s", " of SNPs"), ")\n", sep = "")
  cat("Call: ", paste(deparse(x$call), collapse = "\n"), "\n\n", sep = "")
  cd <- x$candidates
  tab <- data.frame(depth = cd$depth, map = cd$map,
                    rank = ifelse(is.na(cd$rank), "", cd$rank),
                    `sigma_b start` = cd$sigma_b,
                    untrained = cd$kare_start, check.names = FALSE,
                    trained = cd$kare, chosen = ifelse(seq_len(nrow(cd)) == x$chosen, "*", ""),
                    stopped = ifelse(is.na(cd$stopped), "", cd$stopped))
  if (!is.null(cd$validation)) tab$`held-out MSE` <- cd$validation
  if (all(tab$rank == "")) tab$rank <- NULL
  if (length(unique(tab$`sigma_b start`)) < 2L) tab$`sigma_b start` <- NULL
  else if (x$map == "network") names(tab)[names(tab) == "sigma_b start"] <- "sigma_b"
  else tab$`sigma_b trained` <- cd$sigma_b_trained
  if (all(tab$stopped == "")) tab$stopped <- NULL
  names(tab)[names(tab) == "untrained"] <- "KARE untrained"
  names(tab)[names(tab) == "trained"] <- "KARE trained"
  print(tab, digits = digits, row.names = FALSE)
  cat(sprintf("\nChosen depth %d; sigma_w = %s, sigma_b = %s; z = %s (KRR lambda = n z = %s)\n",
              x$depth, format(x$sigma_w, digits = digits), format(x$sigma_b, digits = digits),
              format(x$z), format(x$lambda, digits = digits)))
  cat(sprintf("%s, %d steps, %s, lr %s%s\n", x$optimizer, x$steps,
              if (is.null(x$batch)) "full batch" else paste("batches of", x$batch), format(x$lr),
              if (x$penalty > 0) sprintf(", %s penalty %s", x$penalty_type, format(x$penalty)) else ""))
  top <- order(x$relevance, decreasing = TRUE)[seq_len(min(5L, length(x$relevance)))]
  lab <- if (is.null(names(x$relevance))) as.character(top) else names(x$relevance)[top]
  cat("Most relevant SNPs: ", paste0(lab, " (", format(x$relevance[top], digits = 3), ")",
                                     collapse = ", "), "\n", sep = "")
  invisible(x)
}

#' Plot a KARE-trained kernel
#'
#' Two panels: KARE per optimisation step (one line per candidate) and the learnt
#' per-SNP relevance.
#' @param x an `ntk_kare` object.
#' @param which `1` (KARE per step), `2` (relevance) or both.
#' @param ... further graphical arguments.
#' @export
plot.ntk_kare <- function(x, which = 1:2, ...) {
  if (!is.numeric(which) || !length(which) || anyNA(which) || !all(which %in% 1:2))
    stop_arg("which", "must be 1, 2 or both (1:2).")
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
    cd <- x$candidates
    labs <- names(x$kare)                      # the candidates' labels
    for (i in seq_len(nrow(cd))) {
      s <- tr[tr$candidate == i & ok, ]
      graphics::lines(s$step, s$kare, col = i, lwd = if (i == x$chosen) 2 else 1)
    }
    graphics::legend("topright", legend = labs, col = seq_len(nrow(cd)), lty = 1, bty = "n")
  }
  if (2L %in% which) {
    graphics::plot(seq_along(x$relevance), x$relevance, type = "h", xlab = "SNP",
                   ylab = switch(x$map, scale = "scale", projection = "projection row RMS",
                                 network = "first-layer weight RMS"),
                   main = "Learnt SNP relevance", ...)
  }
  invisible(x)
}
