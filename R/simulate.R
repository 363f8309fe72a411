# Simulation of genotypes with linkage disequilibrium and of phenotypes under the five
# genetic architectures of the NTK paper (linear, hyperbolic, power, cosh, Ricker).
# Everything is drawn with R's RNG, so set.seed() reproduces every draw.

#' Simulate genotypes with linkage disequilibrium
#'
#' Draws an `n` x `p` matrix of allele counts (0, 1, 2) in which neighbouring SNPs are in
#' linkage disequilibrium (LD).
#'
#' Each SNP `j` gets an allele frequency \eqn{q_j} drawn uniformly in `maf`. Each person
#' carries two independent haplotypes; along a haplotype a latent Gaussian AR(1) process
#' \eqn{z_1 \sim N(0, 1)}, \eqn{z_j = \rho z_{j-1} + \sqrt{1 - \rho^2} e_j} with
#' \eqn{e_j \sim N(0, 1)} and \eqn{\rho} = `ld` is thresholded at the allele
#' frequency: the haplotype carries the counted allele at SNP `j` when
#' \eqn{z_j < \Phi^{-1}(q_j)}, which happens with probability \eqn{q_j}. The genotype is
#' the sum of the two haplotypes, so the counts follow Hardy-Weinberg proportions at every
#' SNP, and the correlation of neighbouring SNPs grows with `ld` (0 gives independent SNPs;
#' the LD decays geometrically with the distance between SNPs).
#'
#' A SNP that comes out monomorphic in the sample (possible for small `n`) is redrawn:
#' its innovations \eqn{e_j} are drawn again and the process is recomputed from that SNP
#' onwards, until no column is constant (rejection sampling of the whole chain given that
#' every SNP is polymorphic). After `max_tries` redraws of one SNP the function stops with
#' an error.
#'
#' @param n number of individuals (rows), at least 2.
#' @param p number of SNPs (columns), at least 1.
#' @param maf allele-frequency range: a vector `c(lower, upper)` with
#'   `0 < lower <= upper <= 0.5` (a single number fixes the frequency of every SNP). The
#'   default `c(0.05, 0.5)` keeps to common variants, as in the paper.
#' @param ld correlation \eqn{\rho} in `[0, 1]` of the latent process between neighbouring
#'   SNPs.
#' @param max_tries maximum number of redraws of one monomorphic SNP.
#' @return A numeric (double) `n` x `p` matrix of allele counts with column names
#'   `snp1`, ..., `snpp` and attributes `maf` (the drawn allele frequencies \eqn{q_j}, which
#'   are the expected column means divided by 2) and `ld`.
#' @seealso [simulate_phenotype()]
#' @examples
#' set.seed(1)
#' G <- simulate_genotypes(200, 10, ld = 0.7)
#' dim(G)
#' round(colMeans(G) / 2, 2)        # empirical allele frequencies
#' round(cor(G[, 1], G[, 2]), 2)    # LD between neighbours
#' @export
simulate_genotypes <- function(n, p, maf = c(0.05, 0.5), ld = 0.5, max_tries = 100L) {
  n <- check_number(n, "n", lower = 2, integer = TRUE)
  p <- check_number(p, "p", lower = 1, integer = TRUE)
  if (!is.numeric(maf) || !(length(maf) %in% 1:2) || anyNA(maf))
    stop_arg("maf", "must be one number or a range c(lower, upper) without NA.")
  if (length(maf) == 1L) maf <- c(maf, maf)
  if (maf[1L] <= 0 || maf[2L] > 0.5 || maf[1L] > maf[2L])
    stop_arg("maf", "must satisfy 0 < lower <= upper <= 0.5 (",
             paste(format(maf), collapse = ", "), " given).")
  ld <- check_number(ld, "ld", lower = 0, upper = 1)
  max_tries <- check_number(max_tries, "max_tries", lower = 1, integer = TRUE)
  if (2 * as.double(n) * p > .Machine$integer.max)
    stop_arg("n", "x `p` is too large (", format(n), " x ", format(p), "): the haplotype ",
             "draws need 2 n p < 2^31 values.")

  q <- stats::runif(p, maf[1L], maf[2L])
  thr <- stats::qnorm(q)
  nh <- 2L * n
  s <- sqrt(1 - ld^2)
  E <- matrix(stats::rnorm(nh * p), nh, p)
  Z <- matrix(0, nh, p)
  G <- matrix(0, n, p)
  h1 <- seq_len(n)
  h2 <- n + h1
  tries <- integer(p)
  j <- 1L
  # Column by column; a monomorphic column gets new innovations and the chain is
  # recomputed from it, so later columns always follow the (new) earlier ones.
  while (j <= p) {
    Z[, j] <- if (j == 1L) E[, 1L] else ld * Z[, j - 1L] + s * E[, j]
    hap <- Z[, j] < thr[j]
    G[, j] <- hap[h1] + hap[h2]
    if (all(G[, j] == G[1L, j])) {
      tries[j] <- tries[j] + 1L
      if (tries[j] > max_tries)
        stop_arg("n", "is too small: SNP ", j, " stayed monomorphic after ", max_tries,
                 " redraws (allele frequency ", signif(q[j], 3),
                 "); increase `n` or the lower end of `maf`.")
      E[, j] <- stats::rnorm(nh)
      next
    }
    j <- j + 1L
  }
  colnames(G) <- paste0("snp", seq_len(p))
  attr(G, "maf") <- q
  attr(G, "ld") <- ld
  G
}

# Softplus s(t) = log(1 + exp(t)), computed without overflow.
softplus <- function(t) pmax(t, 0) + log1p(exp(-abs(t)))

standardise_vec <- function(x, what) {
  s <- stats::sd(x)
  if (!is.finite(s) || s <= 0)
    stop(sprintf("the %s has zero variance; it cannot be standardised.", what), call. = FALSE)
  (x - mean(x)) / s
}

# Causal SNP indices from the `causal` argument (NULL = all; a single number = that many
# SNPs chosen at random; otherwise indices, a logical mask or column names).
resolve_causal <- function(causal, G) {
  p <- ncol(G)
  if (is.null(causal)) return(seq_len(p))
  if (is.logical(causal)) {
    if (length(causal) != p || anyNA(causal))
      stop_arg("causal", "as a logical mask must have length ncol(G) = ", p, " and no NA.")
    idx <- which(causal)
  } else if (is.character(causal)) {
    if (is.null(colnames(G))) stop_arg("causal", "gives names but `G` has no column names.")
    idx <- match(causal, colnames(G))
    if (anyNA(idx)) stop_arg("causal", "names SNPs not in `G`: ",
                             paste(causal[is.na(idx)], collapse = ", "), ".")
  } else if (is.numeric(causal)) {
    if (anyNA(causal) || any(causal != round(causal)))
      stop_arg("causal", "must contain whole numbers without NA.")
    if (length(causal) == 1L) {
      k <- check_number(causal, "causal", lower = 1, upper = p, integer = TRUE)
      idx <- sort(sample.int(p, k))
    } else {
      if (any(causal < 1 | causal > p))
        stop_arg("causal", "indices must lie in 1..", p, ".")
      idx <- as.integer(causal)
    }
  } else {
    stop_arg("causal", "must be NULL, a number, indices, a logical mask or SNP names.")
  }
  if (length(idx) < 1L) stop_arg("causal", "selects no SNP.")
  if (anyDuplicated(idx)) stop_arg("causal", "contains duplicated SNPs.")
  idx
}

# Shared engine of the generators: u = standardise(G_c beta), g = standardise(f(u)),
# y = sqrt(h2) g + sqrt(1 - h2) e.  Draw order: causal SNPs (when a number), beta, e.
sim_engine <- function(G, h2, causal, beta, link, model, params) {
  G <- check_numeric_matrix(G, "G", min_rows = 3L)
  h2 <- check_number(h2, "h2", lower = 0, upper = 1)
  idx <- resolve_causal(causal, G)
  Gc <- G[, idx, drop = FALSE]
  Gc <- sweep(Gc, 2L, colMeans(Gc))
  const <- apply(Gc, 2L, function(x) all(abs(x) <= 1e-12 * max(1, abs(x))))
  if (any(const))
    stop_arg("G", "has constant causal SNP(s) (column ", paste(idx[const], collapse = ", "),
             "); drop them or choose other `causal` SNPs.")
  if (is.null(beta)) {
    beta <- stats::rnorm(length(idx))
  } else {
    beta <- check_numeric_vector(beta, "beta", n = length(idx))
  }
  u <- standardise_vec(drop(Gc %*% beta), "genetic value u")
  fu <- link(u)
  # the link's own parameter (a, gamma) is what makes it overflow or flatten: name it
  parg <- intersect(names(params), c("a", "gamma"))
  if (any(!is.finite(fu))) {
    if (length(parg))
      stop_arg(parg[1L], "= ", format(params[[parg[1L]]]), " makes the ", model, " link ",
               "overflow (non-finite f(u)); use a smaller value.")
    stop("the ", model, " link produced non-finite values (the genetic values are too ",
         "spread out).", call. = FALSE)
  }
  if (length(parg) && !(stats::sd(fu) > 0))
    stop_arg(parg[1L], "= ", format(params[[parg[1L]]]), " makes the ", model, " link ",
             "constant over the individuals (f(u) has zero variance); use a smaller value.")
  g <- standardise_vec(fu, "transformed genetic value f(u)")
  e <- stats::rnorm(nrow(G))
  y <- sqrt(h2) * g + sqrt(1 - h2) * e
  attr(y, "u") <- u
  attr(y, "fu") <- fu
  attr(y, "g") <- g
  attr(y, "noise") <- e
  attr(y, "causal") <- idx
  attr(y, "beta") <- beta
  attr(y, "model") <- model
  attr(y, "h2") <- h2
  attr(y, "params") <- params
  y
}

#' Simulate a phenotype under one of five genetic architectures
#'
#' The generators of the NTK paper's simulation study. All share the same steps:
#'
#' 1. the genetic value \eqn{u = G_c \beta}{u = G_c beta}, with \eqn{G_c} the column-centred
#'    genotypes of the causal SNPs (`causal`, all SNPs by default) and
#'    \eqn{\beta_j \sim N(0, 1)}{beta_j ~ N(0, 1)}, is standardised to mean 0 and
#'    standard deviation 1;
#' 2. a link \eqn{f} is applied; with the softplus \eqn{s(t) = \log(1 + e^t)}{s(t) =
#'    log(1 + exp(t))} (computed stably) and \eqn{t = u}, or \eqn{t = u^2} when
#'    `symmetric = TRUE`:
#'    * `sim_linear`: \eqn{f(u) = u};
#'    * `sim_hyperbolic`: \eqn{f(u) = s(a t) / (1 + s(a t))} (saturation: effects level
#'      off);
#'    * `sim_power`: \eqn{f(u) = s(t)^\gamma}{f(u) = s(t)^gamma} (strong effects
#'      amplified);
#'    * `sim_cosh`: \eqn{f(u) = \cosh(u)}{f(u) = cosh(u)} (symmetric: both directions
#'      amplified);
#'    * `sim_ricker`: \eqn{f(u) = s(a t) \exp(-s(a t))}{f(u) = s(a t) exp(-s(a t))} (a
#'      peak at intermediate values);
#' 3. \eqn{g = (f(u) - \bar f) / sd(f)}{g = (f(u) - mean(f)) / sd(f)} is standardised and
#'    \eqn{y = \sqrt{h^2} g + \sqrt{1 - h^2} e}{y = sqrt(h2) g + sqrt(1 - h2) e} with
#'    \eqn{e \sim N(0, 1)}{e ~ N(0, 1)}, so `h2` is the expected share of the variance of
#'    `y` explained by the (non-linear) genetic signal.
#'
#' With `symmetric = TRUE` (hyperbolic, power and Ricker links, as in the simulation code
#' of the kernel-based neural network authors) the link depends on \eqn{u} only through
#' \eqn{u^2}, which leaves no linear component for GBLUP to pick up.
#'
#' `simulate_phenotype()` dispatches to the generator named by `model`.
#'
#' Random numbers are drawn in this order: the causal SNPs (only when `causal` is a
#' number), the effects \eqn{\beta} (unless given), the noise \eqn{e}.
#'
#' @param G numeric genotype matrix, individuals in rows, SNPs in columns (e.g. from
#'   [simulate_genotypes()]).
#' @param h2 share of variance of the genetic signal, in `[0, 1]`.
#' @param causal the causal SNPs: `NULL` (all), a single number `k` (that many SNPs chosen
#'   at random), or a vector of column indices (length > 1), a logical mask of length
#'   `ncol(G)` or column names. Causal SNPs must not be constant.
#' @param beta optional effect sizes, one per causal SNP (default: drawn from N(0, 1)).
#' @param a curvature \eqn{a > 0} of the hyperbolic and Ricker links.
#' @param gamma exponent \eqn{\gamma > 0}{gamma > 0} of the power link.
#' @param symmetric logical; use \eqn{t = u^2} instead of \eqn{t = u} in the hyperbolic,
#'   power and Ricker links.
#' @param model the architecture: one of `"linear"`, `"hyperbolic"`, `"power"`, `"cosh"`,
#'   `"ricker"`.
#' @param ... arguments passed to the generator (`h2`, `causal`, `beta`, `a`, `gamma`,
#'   `symmetric`).
#' @return The phenotype, a numeric vector of length `nrow(G)`, with attributes `u` (the
#'   standardised genetic value), `fu` (\eqn{f(u)}), `g` (the standardised genetic
#'   signal), `noise` (\eqn{e}), `causal` (indices of the causal SNPs), `beta`, `model`,
#'   `h2` and `params` (the link's parameters).
#' @seealso [simulate_genotypes()]
#' @examples
#' set.seed(1)
#' G <- simulate_genotypes(300, 20)
#' y <- sim_ricker(G, h2 = 0.5)
#' plot(attr(y, "u"), y, xlab = "genetic value u", ylab = "phenotype")
#' y2 <- simulate_phenotype(G, "cosh", h2 = 0.8, causal = 5)
#' attr(y2, "causal")
#' @name simulate_phenotype
NULL

#' @rdname simulate_phenotype
#' @export
simulate_phenotype <- function(G, model = c("linear", "hyperbolic", "power", "cosh", "ricker"),
                               ...) {
  if (!is.character(model) || length(model) < 1L)
    stop_arg("model", "must be one of \"linear\", \"hyperbolic\", \"power\", \"cosh\", \"ricker\".")
  model <- tryCatch(match.arg(model),
                    error = function(e) stop_arg("model", "must be one of \"linear\", \"hyperbolic\", ",
                                                 "\"power\", \"cosh\", \"ricker\"."))
  fun <- switch(model, linear = sim_linear, hyperbolic = sim_hyperbolic, power = sim_power,
                cosh = sim_cosh, ricker = sim_ricker)
  fun(G, ...)
}

#' @rdname simulate_phenotype
#' @export
sim_linear <- function(G, h2 = 0.5, causal = NULL, beta = NULL) {
  sim_engine(G, h2, causal, beta, function(u) u, "linear", list())
}

#' @rdname simulate_phenotype
#' @export
sim_hyperbolic <- function(G, h2 = 0.5, a = 2, symmetric = FALSE, causal = NULL, beta = NULL) {
  a <- check_number(a, "a", lower = 0, open_lower = TRUE)
  symmetric <- check_flag(symmetric, "symmetric")
  link <- function(u) {
    s <- softplus(a * (if (symmetric) u^2 else u))
    s / (1 + s)
  }
  sim_engine(G, h2, causal, beta, link, "hyperbolic", list(a = a, symmetric = symmetric))
}

#' @rdname simulate_phenotype
#' @export
sim_power <- function(G, h2 = 0.5, gamma = 2, symmetric = FALSE, causal = NULL, beta = NULL) {
  gamma <- check_number(gamma, "gamma", lower = 0, open_lower = TRUE)
  symmetric <- check_flag(symmetric, "symmetric")
  link <- function(u) softplus(if (symmetric) u^2 else u)^gamma
  sim_engine(G, h2, causal, beta, link, "power", list(gamma = gamma, symmetric = symmetric))
}

#' @rdname simulate_phenotype
#' @export
sim_cosh <- function(G, h2 = 0.5, causal = NULL, beta = NULL) {
  sim_engine(G, h2, causal, beta, cosh, "cosh", list())
}

#' @rdname simulate_phenotype
#' @export
sim_ricker <- function(G, h2 = 0.5, a = 2, symmetric = FALSE, causal = NULL, beta = NULL) {
  a <- check_number(a, "a", lower = 0, open_lower = TRUE)
  symmetric <- check_flag(symmetric, "symmetric")
  link <- function(u) {
    s <- softplus(a * (if (symmetric) u^2 else u))
    s * exp(-s)
  }
  sim_engine(G, h2, causal, beta, link, "ricker", list(a = a, symmetric = symmetric))
}
