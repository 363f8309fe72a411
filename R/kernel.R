#' Neural tangent kernel of a genotype matrix
#'
#' Computes the neural tangent kernel (NTK) of a fully connected ReLU network with
#' `depth` hidden layers and a linear read-out, in the NTK parameterisation of
#' neural-tangents, over the rows (individuals) of a genotype matrix: either the exact
#' infinite-width kernel (`width = Inf`) or the empirical kernel of one finite network at
#' a random initialisation (averaged over `n_init` initialisations).
#'
#' With \eqn{\Sigma_0(x, x') = \sigma_w^2 \langle x, x' \rangle / p + \sigma_b^2} and
#' \eqn{\Theta_0 = \Sigma_0}, each hidden layer maps, with
#' \eqn{c = \Sigma(x, x') / \sqrt{\Sigma(x, x) \Sigma(x', x')}} and \eqn{t = \arccos c},
#' \deqn{\Sigma \leftarrow \sigma_w^2 \sqrt{\Sigma(x, x) \Sigma(x', x')}
#'   (\sin t + (\pi - t) c) / (2 \pi) + \sigma_b^2,\quad
#'   \dot\Sigma = \sigma_w^2 (\pi - t) / (2 \pi),\quad
#'   \Theta \leftarrow \Theta \dot\Sigma + \Sigma.}
#' The analytic kernel is \eqn{\Theta} after `depth` layers. It is computed in C: the
#' first-layer Gram matrix by BLAS, then the recursion entry by entry (OpenMP), each
#' pair of a symmetric kernel once. `c` is clamped to \eqn{[-1, 1]}, and a point of zero
#' norm (possible only with `sigma_b = 0`) gets `c = 0`, so the kernel is always finite.
#'
#' For a finite `width` the network is
#' \eqn{h_1 = \sigma_w W_1 x / \sqrt p + \sigma_b b_1}, \eqn{a_l = relu(h_l)},
#' \eqn{h_{l+1} = \sigma_w W_{l+1} a_l / \sqrt{w} + \sigma_b b_{l+1}},
#' \eqn{f = \sigma_w v' a_L / \sqrt w + \sigma_b c}, with all weights drawn N(0, 1) from
#' R's random number generator (so [set.seed()] reproduces the kernel) in the order
#' \eqn{W_1, b_1, W_2, b_2, \dots, W_L, b_L, v, c}, each matrix column-major, exactly
#' as `rnorm()` would draw them. The empirical kernel
#' \eqn{\sum_\theta \partial f(x)/\partial\theta \, \partial f(x')/\partial\theta}
#' is formed without any Jacobian: each dense layer contributes
#' (Gram of its inputs \eqn{\times \sigma_w^2 / fan_{in} + \sigma_b^2}) elementwise
#' times (Gram of the back-propagated signals at its outputs), so the kernel costs
#' \eqn{2 L + 1} BLAS Gram products of `n x width` matrices plus one forward and one
#' backward pass. As `width` grows it converges to the analytic kernel.
#'
#' Genotypes are standardised (when `standardize = TRUE`) with the means and standard
#' deviations of the columns of `X`; `Z` reuses them, so a test-by-train kernel matches
#' the training kernel. Constant columns of `X` are dropped with a warning and missing
#' genotypes imputed by the training column mean (0 after standardisation) with a
#' message; \eqn{p} in the formulas is the number of columns kept.
#'
#' When `X` is a PLINK fileset, the genotypes are never held as a dense matrix: one pass
#' over the `.bed` computes the training means and sds (as on the matrix of
#' [read_plink()], so the kernel is the same to rounding), a second streams blocks of
#' `getOption("ntkgen.plink_block", 1024)` standardised SNPs into the first-layer Gram
#' (and, for a finite `width`, into the first layer's pre-activations, with the weights
#' drawn in the same order), so the memory is \eqn{O(n^2 + n \cdot block)}. The
#' settings then also hold `genotypes`, the handle. Streaming runs on the CPU.
#'
#' @param X training genotypes: an `n x p` numeric matrix or data frame (typically 0/1/2
#'   allele counts), `n >= 2`, or a PLINK fileset (prefix or [plink_open()] handle),
#'   streamed from the `.bed` by blocks of SNPs (see Details). Missing values (`NA`) are
#'   imputed when `standardize = TRUE`.
#' @param Z optional `m x p` genotypes of new individuals (a matrix, or a PLINK fileset:
#'   SNPs matched to those of `X` by ID and alleles); then the result is the
#'   `m x n` test-by-train kernel (rows `Z`, columns `X`).
#' @param depth number of hidden ReLU layers, `>= 1`.
#' @param width `Inf` for the analytic infinite-width kernel, or the (whole) width of the
#'   hidden layers of the network whose empirical kernel is computed.
#' @param sigma_w,sigma_b weight and bias standard deviations, `>= 0`.
#' @param normalize `"none"`; `"unit"`: \eqn{K_{ij} / \sqrt{K_{ii} K_{jj}}} (for a
#'   test-by-train kernel with the test points' own diagonal); `"paper"`: symmetrise,
#'   set the diagonal to 1, then divide by \eqn{p}, as the supplement of the NTK genetics
#'   paper does.
#'   A point whose kernel diagonal is 0 (a zero row with `sigma_b = 0`) gets a zero row
#'   and column.
#' @param n_init number of independent initialisations averaged (finite `width` only).
#' @param standardize logical; centre and scale the columns with the training means and
#'   standard deviations. With `FALSE`, `X` and `Z` are used as given and may not
#'   contain `NA`.
#' @param threads number of OpenMP threads (default: option `ntkgen.threads`, else all
#'   processors).
#' @param device `"auto"` (CUDA when compiled in and a device is present, else the
#'   CPU), `"cpu"`, or `"cuda"` (an error when unavailable; see [ntkgen_has_cuda()]).
#' @return A numeric matrix, `n x n` (symmetric) or `m x n`, with the attribute `"ntk"`:
#'   a list of the settings (`kind`, `depth`, `width`, `sigma_w`, `sigma_b`,
#'   `normalize`, `n_init`, `standardize`, the training `center` and `scale` of the
#'   kept columns, `keep` (their indices in `X`), `p`, `device`; `m`, the number of
#'   test rows, for a test-by-train kernel; `rng_state`, the `.Random.seed` the weights
#'   were drawn from, for an empirical kernel; `genotypes`, the training genotypes `X` as
#'   given (R shares the object, no copy is made), for a training kernel), read it with
#'   `attr(K, "ntk")`.  This recipe travels with every fit made from the kernel:
#'   `predict(fit, newdata = G_new)` builds the matching test-by-train kernel, and
#'   [ntk_kernel_like()] builds one directly. The result is refused, before anything is allocated, when it
#'   would need more than `getOption("ntkgen.max_kernel_gb", 16)` GB.
#' @seealso [grm()] for the genomic relationship matrix.
#' @examples
#' set.seed(1)
#' X <- matrix(rbinom(40 * 30, 2, 0.3), 40, 30)
#' K <- ntk_kernel(X, depth = 2, threads = 1)
#' dim(K)
#' K[1:3, 1:3]
#' # empirical kernel of one network of width 512, and a test-by-train block
#' Ke <- ntk_kernel(X, width = 512, threads = 1)
#' norm(Ke - K, "F") / norm(K, "F")
#' Ks <- ntk_kernel(X[1:30, ], Z = X[31:40, ], threads = 1)
#' dim(Ks)
#' @export
ntk_kernel <- function(X, Z = NULL, depth = 2, width = Inf, sigma_w = sqrt(2), sigma_b = 0,
                       normalize = c("none", "unit", "paper"), n_init = 1,
                       standardize = TRUE, threads = default_threads(),
                       device = c("auto", "cpu", "cuda")) {
  if (is_plink_input(X) || is_plink_input(Z))   # PLINK prefix / handle: streamed (plink.R)
    return(plink_kernel(X, Z, "ntk", depth, width, sigma_w, sigma_b, normalize, n_init,
                        standardize, threads, device))
  depth <- check_number(depth, "depth", lower = 1, upper = 1e4, integer = TRUE)
  width <- check_width(width)
  sigma_w <- check_number(sigma_w, "sigma_w", lower = 0)
  sigma_b <- check_number(sigma_b, "sigma_b", lower = 0)
  normalize <- check_choice(normalize, c("none", "unit", "paper"), "normalize")
  n_init <- check_number(n_init, "n_init", lower = 1, upper = 1e6, integer = TRUE)
  standardize <- check_flag(standardize, "standardize")
  threads <- check_threads(threads)
  device <- check_choice(device, c("auto", "cpu", "cuda"), "device")
  kind <- if (is.finite(width)) "empirical" else "analytic"
  if (kind == "analytic") n_init <- 1L
  kernel_compute(X, Z, kind = kind, depth = depth, width = width, sigma_w = sigma_w,
                 sigma_b = sigma_b, normalize = normalize, n_init = n_init,
                 standardize = standardize, threads = threads, device = device,
                 genotypes = if (is.null(Z)) X)
}

#' Genomic relationship matrix
#'
#' The baseline kernel of statistical genetics: with standardised genotypes \eqn{X_s}
#' (columns centred and scaled by the training means and standard deviations),
#' \eqn{G = X_s X_s' / p}, or \eqn{Z_s X_s' / p} for new individuals `Z`. Standardisation,
#' missing values, constant columns and normalisation follow [ntk_kernel()].
#'
#' @inheritParams ntk_kernel
#' @return A numeric matrix (`n x n` or `m x n`) with the settings in attribute `"ntk"`
#'   (`kind = "grm"`).
#' @examples
#' set.seed(1)
#' X <- matrix(rbinom(20 * 50, 2, 0.4), 20, 50)
#' G <- grm(X, threads = 1)
#' mean(diag(G))
#' @export
grm <- function(X, Z = NULL, normalize = c("none", "unit", "paper"), standardize = TRUE,
                threads = default_threads()) {
  if (is_plink_input(X) || is_plink_input(Z))   # PLINK prefix / handle: streamed (plink.R)
    return(plink_kernel(X, Z, "grm", 0L, Inf, 1, 0, normalize, 1L, standardize, threads,
                        "cpu"))
  normalize <- check_choice(normalize, c("none", "unit", "paper"), "normalize")
  standardize <- check_flag(standardize, "standardize")
  threads <- check_threads(threads)
  kernel_compute(X, Z, kind = "grm", depth = 0L, width = Inf, sigma_w = 1, sigma_b = 0,
                 normalize = normalize, n_init = 1L, standardize = standardize,
                 threads = threads, device = "cpu", genotypes = if (is.null(Z)) X)
}

# Settings attached to a kernel by ntk_kernel() / grm() (NULL for other matrices).
ntk_settings <- function(K) attr(K, "ntk", exact = TRUE)

# ---- internals ---------------------------------------------------------------------

check_width <- function(width) {
  if (is.numeric(width) && length(width) == 1L && !is.na(width) && width == Inf) return(Inf)
  check_number(width, "width", lower = 1, upper = .Machine$integer.max, integer = TRUE)
}


# genotypes: the training genotypes as the user gave them, kept in the recipe of a
# training kernel (no copy: R shares the object); quiet: no warnings about the training
# columns (a test-by-train kernel built from a recipe has reported them once already).
kernel_compute <- function(X, Z, kind, depth, width, sigma_w, sigma_b, normalize, n_init,
                           standardize, threads, device, genotypes = NULL, quiet = FALSE) {
  convert <- needs_double_copy(X) || (!is.null(Z) && needs_double_copy(Z))
  X <- check_numeric_matrix(X, "X", allow_na = TRUE, min_rows = 2L)
  if (!quiet) warn_transposed(X, "X")
  if (!is.null(Z)) {
    Z <- check_numeric_matrix(Z, "Z", allow_na = TRUE, min_rows = 1L)
    if (ncol(Z) != ncol(X))
      stop_arg("Z", "must have as many columns (SNPs) as `X` (", ncol(X), "), not ",
               ncol(Z), ".")
    if (!is.null(colnames(X)) && !is.null(colnames(Z)) &&
        !identical(colnames(X), colnames(Z)))
      stop_arg("Z", "must have the same column (SNP) names, in the same order, as `X`.")
  }
  m <- if (is.null(Z)) 0L else nrow(Z)
  check_memory(mem_kernel(nrow(X), m, ncol(X), kind, width, depth, standardize, convert), "X",
               sprintf("the %d x %d %s and its work space", if (m > 0) m else nrow(X),
                       nrow(X), kernel_label(kind)))
  prep <- prepare_genotypes(X, Z, standardize, threads, quiet)
  dev <- resolve_device(device, kind)
  dn <- list(rownames(if (is.null(Z)) X else Z), rownames(X))
  if (all(vapply(dn, is.null, logical(1)))) dn <- NULL
  settings <- list(kind = kind, depth = if (kind == "grm") NA_integer_ else depth,
                   width = if (kind == "grm") NA_real_ else as.numeric(width),
                   sigma_w = sigma_w, sigma_b = sigma_b, normalize = normalize,
                   n_init = n_init, standardize = standardize, center = prep$center,
                   scale = prep$scale, keep = prep$keep, p = prep$p, device = dev)
  if (!is.null(Z)) settings$m <- nrow(Z)
  settings$genotypes <- genotypes
  if (kind == "empirical") {
    # the state the weights are drawn from, so kernel_like() can redraw the same network
    if (!exists(".Random.seed", envir = globalenv(), inherits = FALSE)) set.seed(NULL)
    settings$rng_state <- get(".Random.seed", envir = globalenv(), inherits = FALSE)
  }
  rm(X, Z)
  # a labelled bar with ETA for kernels of about a second and more (interactive only)
  work <- as.numeric(if (m > 0) m else nrow(prep$X)) * nrow(prep$X) *
    (prep$p + 10 * depth + if (kind == "empirical") width * depth else 0)
  with_progress_bar(sprintf("%s %d x %d", if (kind == "grm") "grm" else "ntk_kernel",
                            if (m > 0) m else nrow(prep$X), nrow(prep$X)),
                    show = progress_default() && work > 2e10,
  .Call(C_ntk_kernel, prep$X, prep$Z, ntk_code("kernel_kind", kind), as.integer(depth),
        if (is.finite(width)) as.integer(width) else 0L, as.double(sigma_w),
        as.double(sigma_b), as.integer(n_init), ntk_code("normalize", normalize),
        as.integer(threads), as.integer(dev == "cuda"), settings, dn))
}

# Standardise X (and Z with X's column means and sds): drops constant columns with a
# warning, imputes NA by the training mean with a message.  Returns the double matrices
# (one n x p copy each) and the centring / scaling used.
prepare_genotypes <- function(X, Z, standardize, threads, quiet = FALSE) {
  if (!standardize) {
    if (anyNA(X)) stop_arg("X", "contains missing values (NA); they can only be imputed ",
                           "(by the column mean) with `standardize = TRUE`.")
    if (!is.null(Z) && anyNA(Z))
      stop_arg("Z", "contains missing values (NA); they can only be imputed ",
               "(by the training column mean) with `standardize = TRUE`.")
    # products of entries below ~1e-154 are subnormal or 0: the kernel would lose every
    # digit (all zeros for X * 1e-170) without a word
    for (a in c("X", "Z")) {
      M <- if (a == "X") X else Z
      mx <- if (is.null(M)) 0 else max(abs(M))
      if (mx > 0 && mx < 1e-150)
        stop_arg(a, "has a scale (largest |entry| ", format(mx, digits = 3), ") whose products ",
                 "underflow double precision: the kernel would be 0; use standardize = TRUE or ",
                 "rescale `", a, "`.")
    }
    return(list(X = X, Z = Z, center = NULL, scale = NULL, keep = seq_len(ncol(X)),
                p = ncol(X)))
  }
  mom <- .Call(C_col_moments, X, threads)
  names(mom) <- c("mean", "sd", "nobs")
  if (any(mom$nobs == 0L)) {
    bad <- which(mom$nobs == 0L)
    stop_arg("X", "has ", length(bad), " column(s) with only missing values (NA), e.g. ",
             "column ", col_label(X, bad[1L]), "; remove them.")
  }
  keep <- which(mom$sd > 0)
  if (length(keep) == 0L)
    stop_arg("X", "has no column that varies: every SNP is constant, nothing to standardise.")
  if (length(keep) < ncol(X) && !quiet)
    warning(sprintf("`X` has %d constant column(s) (e.g. %s); dropped.",
                    ncol(X) - length(keep), col_label(X, which(mom$sd <= 0)[1L])),
            call. = FALSE)
  center <- mom$mean[keep]
  scale <- mom$sd[keep]
  sx <- .Call(C_standardize, X, keep, center, scale, threads)
  if (sx[[2L]] > 0 && !quiet)
    message(sprintf("ntkgen: imputed %g missing genotype(s) in `X` by the column means.",
                    sx[[2L]]))
  sz <- NULL
  if (!is.null(Z)) {
    sz <- .Call(C_standardize, Z, keep, center, scale, threads)
    if (sz[[2L]] > 0)
      message(sprintf("ntkgen: imputed %g missing genotype(s) in `Z` by the training column means.",
                      sz[[2L]]))
  }
  names(center) <- names(scale) <- colnames(X)[keep]
  list(X = sx[[1L]], Z = if (is.null(sz)) NULL else sz[[1L]], center = center,
       scale = scale, keep = keep, p = length(keep))
}

# (X - center) / scale column by column (all columns kept), by the C routine that
# standardises kernel inputs; scale must be > 0.
standardize_columns <- function(X, center, scale, threads = 1L) {
  .Call(C_standardize, X, seq_len(ncol(X)), as.double(center), as.double(scale),
        as.integer(threads))[[1L]]
}

# A genotype matrix has individuals in rows: row names that look like SNP IDs (rs
# numbers, chr:pos) and column names that do not suggest one given transposed.
warn_transposed <- function(X, arg) {
  rn <- rownames(X)
  if (is.null(rn)) return(invisible())
  snp <- function(v) mean(grepl("^(rs|ss)[0-9]+$|^(chr)?[0-9XYMT]+[:_][0-9]+", v, ignore.case = TRUE))
  if (snp(rn) > 0.5 && (is.null(colnames(X)) || snp(colnames(X)) < 0.5))
    warning("`", arg, "` has row names that look like SNP IDs (e.g. \"", rn[1L], "\"): ",
            "individuals must be in rows and SNPs in columns; is it transposed (t(", arg, "))?",
            call. = FALSE)
  invisible()
}

col_label <- function(X, j) {
  nm <- colnames(X)[j]
  if (is.null(nm) || is.na(nm) || !nzchar(nm)) as.character(j) else sprintf("%d (\"%s\")", j, nm)
}

ntk_state <- new.env(parent = emptyenv())

resolve_device <- function(device, kind) {
  if (device == "cpu" || kind == "grm") return("cpu")
  compiled <- ntkgen_has_cuda()
  ndev <- if (compiled) cuda_device_count() else 0L
  if (device == "cuda") {
    if (!compiled)
      stop_arg("device", "is \"cuda\" but this build of ntkgen has no CUDA support ",
               "(see ntkgen_has_cuda() and the configure switches).")
    if (ndev < 1L)
      stop_arg("device", "is \"cuda\" but no CUDA device is available on this machine.")
    return("cuda")
  }
  if (compiled && ndev < 1L) {
    if (is.null(ntk_state$warned_no_device)) {
      message("ntkgen: built with CUDA but no CUDA device found; computing on the CPU.")
      ntk_state$warned_no_device <- TRUE
    }
    return("cpu")
  }
  if (compiled) "cuda" else "cpu"
}

# The weights of one initialisation of the empirical network, as ntk_kernel() draws
# them: rnorm() of length ntk_weights_length(p, width, depth), in the order W1, b1,
# (W_l, b_l) for l = 2..depth, v, c (matrices column-major, W_l is width x fan_in).
# Returns list(W = list of matrices, b = list of vectors, v, c, flat).
ntk_weights <- function(p, width, depth) {
  len <- .Call(C_weights_length, as.integer(p), as.integer(width), as.integer(depth))
  flat <- stats::rnorm(len)
  W <- vector("list", depth)
  b <- vector("list", depth)
  off <- 0
  for (l in seq_len(depth)) {
    fan <- if (l == 1L) p else width
    W[[l]] <- matrix(flat[off + seq_len(width * fan)], width, fan)
    off <- off + width * fan
    b[[l]] <- flat[off + seq_len(width)]
    off <- off + width
  }
  v <- flat[off + seq_len(width)]
  off <- off + width
  list(W = W, b = b, v = v, c = flat[off + 1], flat = flat)
}
