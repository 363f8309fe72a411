# Kernel recipes: the one place where train/test consistency lives.  A kernel made by
# ntk_kernel() / grm() carries its settings (attribute "ntk"), the training
# standardisation, the network's RNG state and the training genotypes as given; fits keep
# that recipe, so predict(fit, newdata = G_new) builds the matching test-by-train kernel,
# and a test-by-train kernel handed in by the user is checked against it.

#' Test-by-train kernel built like a training kernel
#'
#' Builds the kernel between new individuals (`newdata`, rows) and the training
#' individuals of `K` (columns) exactly as `K` was built: the same function
#' ([ntk_kernel()] or [grm()]) and settings, the training standardisation (means and
#' standard deviations of the training genotypes; missing test genotypes imputed by the
#' training means) and, for an empirical kernel, the same random network(s), redrawn from
#' the RNG state recorded in `K` (the caller's RNG state is left untouched).  This is what
#' `predict(fit, newdata = )` of [ntk_lmm()] and [ntk_krr()] fits uses.
#'
#' @param K a training kernel returned by [ntk_kernel()] or [grm()] (it carries its recipe
#'   and its training genotypes in `attr(K, "ntk")`).
#' @param newdata genotypes of the new individuals: a numeric matrix or data frame with
#'   the columns (SNPs) of the training genotypes, in the same order (checked by name when
#'   both have column names).
#' @param threads number of OpenMP threads.
#' @return The `m x n` test-by-train kernel, with its settings in `attr(, "ntk")`.
#' @examples
#' set.seed(1)
#' X <- matrix(rbinom(50 * 40, 2, 0.3), 50, 40)
#' K <- ntk_kernel(X[1:40, ], depth = 2, width = 64, threads = 1)   # empirical NTK
#' Ks <- ntk_kernel_like(K, X[41:50, ], threads = 1)
#' dim(Ks)
#' # the same network: equal to the kernel computed together with the training one
#' set.seed(1)
#' invisible(matrix(rbinom(50 * 40, 2, 0.3), 50, 40))
#' Ks2 <- ntk_kernel(X[1:40, ], Z = X[41:50, ], depth = 2, width = 64, threads = 1)
#' max(abs(Ks - Ks2))
#' @export
ntk_kernel_like <- function(K, newdata, threads = default_threads()) {
  s <- ntk_settings(K)
  if (is.null(s)) stop_arg("K", "has no \"ntk\" settings; compute it with ntk_kernel() or grm().")
  if (!is.null(s$m)) stop_arg("K", "must be a training kernel, not a test-by-train kernel.")
  if (!recipe_matches(K))
    stop_arg("K", "was changed after it was computed (its diagonal no longer matches its ",
             "recipe, e.g. K * 2 or a sum of kernels): a test-by-train kernel built by the ",
             "recipe would not match it; build that kernel yourself.")
  if (missing(newdata) || is.null(newdata)) stop_arg("newdata", "must be given.")
  recipe_kernel(s, newdata, "newdata", threads)
}

# The recipe of a training kernel (NULL for a matrix without one).  R arithmetic keeps
# attributes, so K * 2 or (K1 + K2) / 2 would still carry the recipe of K (or K1): the
# kernel's own diagonal, stored when it was computed, must still match.
kernel_recipe <- function(K) {
  s <- ntk_settings(K)
  if (is.null(s) || !is.null(s$m)) return(NULL)
  if (!recipe_matches(K)) return(NULL)
  s
}

recipe_matches <- function(K) {
  d0 <- attr(K, "diag", exact = TRUE)
  if (!is.numeric(d0) || length(d0) != nrow(K) || nrow(K) != ncol(K)) return(FALSE)
  isTRUE(all.equal(as.numeric(diag(K)), as.numeric(d0), tolerance = 1e-12))
}

# The test-by-train kernel of the recipe `s` for the genotypes `newdata`.
recipe_kernel <- function(s, newdata, arg, threads = default_threads()) {
  if (startsWith(s$kind, "kare")) return(kare_recipe_kernel(s, newdata, arg, threads))
  if (is.null(s$genotypes))
    stop_arg(arg, "cannot be used: the training kernel does not carry its genotypes ",
             "(it was made before kernels carried their recipe).")
  if (inherits(s$genotypes, "ntk_plink") || is.character(s$genotypes))
    return(kernel_like_plink(s, newdata, threads))
  X <- s$genotypes
  Z <- recipe_newdata(X, newdata, arg)
  threads <- check_threads(threads)
  if (identical(s$kind, "empirical")) {
    rng_preserve()
    assign(".Random.seed", s$rng_state, envir = globalenv())
  }
  dev <- if (identical(s$device, "cuda")) "cuda" else "cpu"
  grm_kind <- identical(s$kind, "grm")
  kernel_compute(X, Z, kind = s$kind, depth = if (grm_kind) 0L else s$depth,
                 width = if (grm_kind) Inf else s$width,
                 sigma_w = s$sigma_w, sigma_b = s$sigma_b, normalize = s$normalize,
                 n_init = s$n_init, standardize = s$standardize, threads = threads,
                 device = dev, quiet = TRUE)
}

# New individuals' genotypes checked against the training genotypes X of a recipe: a
# numeric matrix or data frame with X's columns (by name when both have names).
recipe_newdata <- function(X, newdata, arg) {
  if (!(is.data.frame(newdata) || is.matrix(newdata)))
    stop_arg(arg, "must be a numeric matrix or data frame of genotypes, not ",
             class(newdata)[1L], ".")
  if (NCOL(newdata) != NCOL(X))
    stop_arg(arg, "must have the ", NCOL(X), " columns (SNPs) of the training genotypes (",
             NCOL(newdata), " given).")
  if (!is.null(colnames(X)) && !is.null(colnames(newdata)) &&
      !identical(colnames(X), colnames(newdata)))
    stop_arg(arg, "must have the column (SNP) names of the training genotypes, in their order.")
  check_numeric_matrix(newdata, arg, allow_na = TRUE, min_rows = 1L)
}

# The settings that make two kernels the same kernel, in the order they are reported.
recipe_fields <- c("kind", "depth", "width", "sigma_w", "sigma_b", "normalize", "n_init",
                   "standardize", "p", "keep", "center", "scale", "rng_state")

# NULL when the test-by-train kernel K_new (its settings `sn`) matches the training
# recipe `s`, else the name of the first setting that differs.
recipe_mismatch <- function(s, sn) {
  if (is.null(sn$m)) return("kind of matrix (it is a training kernel, not a test-by-train one)")
  for (f in recipe_fields) {
    a <- s[[f]]
    b <- sn[[f]]
    if (f == "rng_state" && !identical(s$kind, "empirical")) next
    same <- if (is.numeric(a) && is.numeric(b) && length(a) == length(b) && f != "rng_state")
      isTRUE(all.equal(unname(a), unname(b), tolerance = 1e-12)) else identical(unname(a), unname(b))
    if (!same) {
      if (f == "rng_state") return("network (rng_state: it was drawn from another random network)")
      fmt <- function(v) if (is.null(v)) "none" else if (length(v) > 3L) paste0("<", length(v), " values>")
                         else paste(format(v), collapse = ", ")
      return(sprintf("%s (%s, the training kernel has %s)", f, fmt(b), fmt(a)))
    }
  }
  NULL
}

# The test-by-train kernel(s) for predict(): built from `newdata` by the fit's recipes, or
# the user's `K_new`, checked against them.  Returns a list, one matrix per kernel.
predict_kernels <- function(recipes, knames, n, newdata, K_new, threads, ids = NULL) {
  q <- length(knames)
  if (!is.null(newdata)) {
    if (!is.null(K_new)) stop_arg("K_new", "and `newdata` cannot both be given.")
    miss <- vapply(recipes, is.null, logical(1))
    if (!length(recipes) || any(miss))
      stop_arg("newdata", "needs the recipe of every training kernel, but ",
               if (q == 1L) "the kernel" else paste0("kernel ", knames[which(miss)[1L]]),
               " was not made by ntk_kernel() / grm(), or was changed since (K * 2, K[i, j], ",
               "a sum of kernels...); give the test-by-train kernel as `K_new`.")
    return(lapply(recipes, recipe_kernel, newdata = newdata, arg = "newdata",
                  threads = threads))
  }
  if (is.list(K_new) && !is.data.frame(K_new)) {
    if (length(K_new) != q)
      stop_arg("K_new", "must hold ", q, " test-by-train kernel(s), one per training kernel (",
               length(K_new), " given).")
    if (!is.null(names(K_new)) && all(nzchar(names(K_new)))) {
      if (!setequal(names(K_new), knames))
        stop_arg("K_new", "must be named like the training kernels: ", paste(knames, collapse = ", "), ".")
      K_new <- K_new[knames]
    }
  } else {
    if (q != 1L) stop_arg("K_new", "must be a list of ", q, " kernels (the fit has ", q, ").")
    K_new <- list(K_new)
  }
  m <- NULL
  for (i in seq_len(q)) {
    arg <- if (q == 1L) "K_new" else paste0("K_new$", knames[i])
    sn <- ntk_settings(K_new[[i]])
    s <- if (length(recipes)) recipes[[i]] else NULL
    if (!is.null(s) && !is.null(sn)) {
      why <- recipe_mismatch(s, sn)
      if (!is.null(why))
        stop_arg(arg, "was not built like the training kernel: it differs in its ", why,
                 ". Build it with ntk_kernel_like() or predict(fit, newdata = ).")
    }
    Ki <- check_kernel(K_new[[i]], arg, symmetric = FALSE, ncol_expected = n)
    # columns are training individuals: matched by name when both sides have names
    cn <- colnames(Ki)
    if (!is.null(ids) && !is.null(cn) && !identical(cn, ids)) {
      pos <- match(ids, cn)
      if (anyNA(pos) || anyDuplicated(cn))
        stop_arg(arg, "has column names that are not the training individuals' (e.g. \"",
                 setdiff(cn, ids)[1L], "\").")
      Ki <- Ki[, pos, drop = FALSE]
    }
    if (is.null(m)) m <- nrow(Ki)
    else if (nrow(Ki) != m) stop_arg("K_new", "kernels must all have the same number of rows.")
    K_new[[i]] <- Ki
  }
  K_new
}

# Individuals matched by ID: when the phenotypes have names and the kernel row names, the
# phenotypes (and covariates) are put in the kernel's order (as rrBLUP's kin.blup and
# sommer match by name).  Y: n x t with row names from names(y); X: n x p.
match_individuals <- function(Y, X, K, args) {
  ids_k <- rownames(K[[1L]])
  for (i in seq_along(K)[-1L]) {
    ri <- rownames(K[[i]])
    if (!is.null(ids_k) && !is.null(ri) && !identical(ri, ids_k))
      stop_arg(args[i], "must have the row names of `", args[1L], "`, in the same order.")
  }
  ids_y <- rownames(Y)
  if (is.null(ids_y) || is.null(ids_k) || identical(ids_y, ids_k)) return(list(Y = Y, X = X))
  if (anyNA(ids_y) || anyDuplicated(ids_y))
    stop_arg("y", "has duplicated or missing names; individuals are matched to the rows of `",
             args[1L], "` by name.")
  if (anyDuplicated(ids_k))
    stop_arg(args[1L], "has duplicated row names; individuals are matched to `y` by name.")
  pos <- match(ids_k, ids_y)
  if (anyNA(pos) || length(ids_y) != length(ids_k)) {
    a <- setdiff(ids_y, ids_k)
    b <- setdiff(ids_k, ids_y)
    stop_arg("y", "and `", args[1L], "` name different individuals: ",
             if (length(a)) paste0(length(a), " name(s) of `y` are not row names of `",
                                   args[1L], "` (e.g. \"", a[1L], "\")"),
             if (length(a) && length(b)) "; ",
             if (length(b)) paste0(length(b), " row name(s) of `", args[1L],
                                   "` are not names of `y` (e.g. \"", b[1L], "\")"), ".")
  }
  list(Y = Y[pos, , drop = FALSE], X = X[pos, , drop = FALSE])
}
