#' The spectral decomposition of a training kernel, built once and reused
#'
#' Decomposes the training kernel `K` of the individuals `obs`, with the fixed-effect
#' design `X` projected out, once, in C: \eqn{Q_2' K Q_2 = G T G'} where \eqn{X = Q_1 R}
#' and \eqn{Q_2} spans the complement of `X`.  Every consumer of the package works from
#' this one object: [ntk_lmm()] (every method, every trait of a phenotype matrix),
#' [ntk_krr()] (the fit at any lambda, the closed-form criteria) and, inside
#' [ntk_study()], NTK-LMM and NTK-KRR of the same replicate.  Build it yourself to fit
#' many phenotypes, covariate-free models or lambdas against one kernel without paying for
#' the decomposition again; pass it as `spectral =`.
#'
#' Two forms, chosen per job:
#' * `"tridiag"` (the default of [ntk_lmm()] and of [ntk_krr()] except leave-one-out): the
#'   Householder tridiagonal form of LAPACK `dsytrd` (\eqn{4/3 m^3} flops, half of them in
#'   memory-bound matrix-vector products), or, for \eqn{m \ge 256} when R's LAPACK has it
#'   (LAPACK >= 3.7, checked by `configure`), the band form of bandwidth 32 of
#'   `dsytrd_sy2sb`, the first stage of the two-stage reduction, all in BLAS 3 (about twice
#'   as fast at \eqn{n = 4000} here), solves then by the band Cholesky factorisation; no
#'   eigenvectors either way: the eigenvalues come from `dsterf` (\eqn{O(m^2)}), every variance
#'   component iteration, BLUP and lambda is a tridiagonal solve (\eqn{O(m)}) and one
#'   application of the reflectors (\eqn{O(m^2)}, all traits or lambdas together);
#' * `"eigen"`: explicit eigenvectors by divide and conquer (LAPACK `dsyevd`, falling
#'   back on `dsyevr` when its \eqn{2 m^2} workspace cannot be allocated), needed by the
#'   leave-one-out criterion of [ntk_krr()] (and accepted by its other closed-form
#'   criteria).
#'
#' @param K symmetric positive semi-definite `n x n` kernel.
#' @param X optional fixed-effect design (`length(obs)` rows, full column rank, with the
#'   intercept column when one is wanted), projected out; `NULL`: no projection.
#' @param obs indices of the individuals (rows of `K`) to decompose; default all.
#' @param method `"tridiag"` or `"eigen"`.
#' @param rank optional number of leading eigenpairs to keep (`method = "eigen"` only): a
#'   thin `n x rank` basis, the rest of the space taken as eigenvalue 0.  Exact for a
#'   kernel of that rank (a GRM of fewer SNPs than individuals, a low-rank kernel), else
#'   the kernel's best rank-`rank` approximation on the projected space.  Serves
#'   [ntk_lmm()] and cross-validated [ntk_krr()]; the closed-form criteria of
#'   [ntk_krr()] need the complete decomposition.
#' @return An object of class `ntk_spectral`: a list with the decomposition of the kernel
#'   on its scaled form `K / scale` (`scale`, the mean of the diagonal: so that kernels of
#'   any magnitude neither over- nor underflow; `values * scale` are the eigenvalues of the
#'   projected kernel in decreasing order; the basis), `obs`,
#'   the design `X`, `n` (individuals decomposed), `p` (columns projected out), `m = n - p`,
#'   `method`, the kernel's dimension and row names.  It holds no copy of `K`.
#' @examples
#' set.seed(1)
#' G <- scale(matrix(rbinom(100 * 200, 2, 0.3), 100))
#' K <- tcrossprod(G) / 200
#' S <- ntk_spectral(K, X = matrix(1, 100, 1))
#' S
#' # the eigenvalues of the centred kernel, as eigen() gives them
#' P0 <- diag(100) - 1 / 100
#' all.equal(S$values[1:5] * S$scale, eigen(P0 %*% K %*% P0)$values[1:5])
#' # many traits against one decomposition
#' Y <- matrix(rnorm(100 * 3), 100, 3)
#' fits <- ntk_lmm(Y, K, spectral = S)
#' @export
ntk_spectral <- function(K, X = NULL, obs = NULL, method = c("tridiag", "eigen"),
                         rank = NULL) {
  method <- check_choice(method, c("tridiag", "eigen"), "method")
  K <- check_kernel(K, "K")
  n <- nrow(K)
  if (is.null(obs)) obs <- seq_len(n)
  if (!is.numeric(obs) || anyNA(obs) || any(obs < 1 | obs > n) || any(obs != round(obs)) ||
      anyDuplicated(obs))
    stop_arg("obs", "must be distinct row indices of `K` (1..", n, ").")
  if (!is.null(X)) {
    X <- check_numeric_matrix(X, "X", min_rows = 1L)
    if (nrow(X) != length(obs))
      stop_arg("X", "must have one row per individual of `obs` (", length(obs), "), not ",
               nrow(X), ".")
    if (ncol(X) >= length(obs))
      stop_arg("X", "has as many columns as individuals: nothing is left to decompose.")
    if (qr(X)$rank < ncol(X)) stop_arg("X", "is rank deficient: its columns are collinear.")
  }
  m <- length(obs) - if (is.null(X)) 0L else ncol(X)
  if (!is.null(rank)) {
    rank <- check_number(rank, "rank", lower = 1, upper = m, integer = TRUE)
    if (method != "eigen") stop_arg("rank", "needs method = \"eigen\" (a thin eigenvector basis).")
  }
  spectral_check_diag(K, obs, "K")
  spectral_make(K, as.integer(obs), X, method, if (is.null(rank)) 0L else rank)
}

# The one constructor (no argument checks): the C decomposition plus what consumers check.
spectral_make <- function(K, obs, X, method, rank = 0L) {
  n <- length(obs)
  p <- if (is.null(X)) 0L else ncol(X)
  check_memory(mem_spectral(n, p, method), "K",
               sprintf("the %s decomposition of the %d x %d kernel",
                       if (method == "eigen") "eigen" else "tridiagonal", n, n))
  idx <- if (length(obs) == nrow(K) && identical(obs, seq_len(nrow(K)))) NULL else obs
  s <- .Call(C_spectral_build, K, idx, X, ntk_code("spectral", method), as.integer(rank))
  s$method <- method
  s$fingerprint <- spectral_fingerprint(K, obs)
  s$obs <- obs
  s$X <- X
  s$K_dim <- nrow(K)
  s$K_names <- rownames(K)
  class(s) <- "ntk_spectral"
  s
}

# A kernel to decompose has a positive mean diagonal over `obs` (every positive
# semi-definite kernel but 0 has): else an error naming it (`arg`), before the C
# decomposition reports a "singular" kernel or design.
spectral_check_diag <- function(K, obs, arg) {
  md <- mean(diag(K)[obs])
  over <- if (length(obs) < nrow(K)) " over the individuals decomposed" else ""
  if (is.na(md) || md < 0)
    stop_arg(arg, "is not positive semi-definite: its mean diagonal", over, " is ",
             format(md, digits = 3), ".")
  if (md == 0)
    stop_arg(arg, "has a zero diagonal", over, ": there is no variance to decompose.")
  invisible()
}

# The basis B (n x m) of the decomposition as an explicit matrix (for checks).
spectral_basis <- function(s) {
  if (s$r < s$m) return(matrix(s$basis, s$n, s$r))
  .Call(C_spectral_apply, s, diag(s$m), 1L)
}

# K[obs, obs] %*% v for a fixed v, computed without copying K: what recognises the kernel
# a decomposition was made of.  O(n^2).
spectral_fingerprint <- function(K, obs) {
  w <- numeric(nrow(K))
  w[obs] <- sin(seq_along(obs))
  drop(K %*% w)[obs]
}

# Is `s` a decomposition of the kernel K over `obs` with the design X projected out?
# Returns NULL when it is, else the reason (for an error naming `spectral`).
spectral_mismatch <- function(s, K, obs, X) {
  if (!inherits(s, "ntk_spectral")) return("must be an object made by ntk_spectral()")
  if (!identical(as.integer(s$K_dim), nrow(K)))
    return(sprintf("was made from a %d x %d kernel, not %d x %d", s$K_dim, s$K_dim,
                   nrow(K), ncol(K)))
  if (!identical(as.integer(s$obs), as.integer(obs)))
    return("was made for another set of individuals (the observed `y`)")
  fp <- spectral_fingerprint(K, obs)
  if (length(s$fingerprint) != length(fp) ||
      max(abs(fp - s$fingerprint)) > 1e-10 * max(abs(fp), .Machine$double.xmin))
    return("was made from another kernel (its values differ from those of `K`)")
  px <- if (is.null(X)) 0L else ncol(X)
  if (s$p != px) return(sprintf("projects out %d column(s), the model has %d", s$p, px))
  if (px > 0L && !isTRUE(all.equal(unname(s$X), unname(X), tolerance = 1e-12)))
    return("was made with another fixed-effect design")
  NULL
}

#' @export
print.ntk_spectral <- function(x, ...) {
  cat("Spectral decomposition (ntk_spectral), ",
      if (x$method == "eigen") "eigenvectors (dsyevd)"
      else if (x$mode == 2L) paste0("band form of bandwidth ", x$kd, " (dsytrd_sy2sb)")
      else "tridiagonal form (dsytrd)", "\n", sep = "")
  cat("  individuals: ", x$n, " of a ", x$K_dim, " x ", x$K_dim, " kernel; ", x$p,
      " fixed-effect column(s) projected out; dimension ", x$m, "\n", sep = "")
  if (x$r < x$m) cat("  thin basis: the ", x$r, " leading eigenvectors (the other ",
                     x$m - x$r, " eigenvalues taken as 0)\n", sep = "")
  cat("  eigenvalues: ", format(x$values[1L] * x$scale, digits = 4), " .. ",
      format(x$values[length(x$values)] * x$scale, digits = 4), " (trace ",
      format(x$trace * x$scale, digits = 4), "; stored for K / ", format(x$scale, digits = 4),
      ", the mean diagonal)\n", sep = "")
  cat("  basis: ", length(x$basis), " doubles (", signif(8 * length(x$basis) / 2^20, 3),
      " MB)\n", sep = "")
  invisible(x)
}
