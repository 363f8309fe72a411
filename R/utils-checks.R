# One set of argument checks, used by every exported function.  Every error names the
# argument the user got wrong.

stop_arg <- function(arg, ...) {
  stop(sprintf("`%s` %s", arg, paste0(...)), call. = FALSE)
}

# A single number; `integer` requires a whole number; bounds are inclusive unless
# `open_lower` / `open_upper`.
check_number <- function(x, arg, lower = -Inf, upper = Inf, integer = FALSE,
                         open_lower = FALSE, open_upper = FALSE, allow_inf = FALSE) {
  if (!is.numeric(x) && !is.logical(x)) stop_arg(arg, "must be a number, not ", class(x)[1L], ".")
  if (length(x) != 1L) stop_arg(arg, "must be a single number (length ", length(x), " given).")
  if (is.na(x)) stop_arg(arg, "must not be NA.")
  if (!allow_inf && !is.finite(x)) stop_arg(arg, "must be finite.")
  if (integer && is.finite(x) && x != round(x)) stop_arg(arg, "must be a whole number.")
  if (x < lower || (open_lower && x == lower))
    stop_arg(arg, "must be ", if (open_lower) "> " else ">= ", format(lower), " (", format(x), " given).")
  if (x > upper || (open_upper && x == upper))
    stop_arg(arg, "must be ", if (open_upper) "< " else "<= ", format(upper), " (", format(x), " given).")
  if (integer && is.finite(x) && abs(x) > .Machine$integer.max)   # not an R integer
    stop_arg(arg, "must be ", if (x > 0) "<= " else ">= -", .Machine$integer.max, " (",
             format(x), " given).")
  if (integer && is.finite(x)) as.integer(x) else as.numeric(x)
}

check_flag <- function(x, arg) {
  if (!is.logical(x) || length(x) != 1L || is.na(x)) stop_arg(arg, "must be TRUE or FALSE.")
  x
}

check_threads <- function(threads) {
  check_number(threads, "threads", lower = 1, integer = TRUE)
}

# A numeric matrix (data frames of numeric columns are converted).  `allow_na`: NA
# (not NaN/Inf) allowed.  Returns a double matrix.
check_numeric_matrix <- function(x, arg, allow_na = FALSE, min_rows = 1L) {
  if (is.data.frame(x)) {
    ok <- vapply(x, function(col) is.numeric(col) || is.logical(col), logical(1))
    if (!all(ok)) stop_arg(arg, "must contain only numeric columns; not numeric: ",
                           paste(names(x)[!ok], collapse = ", "), ".")
    x <- as.matrix(x)
  }
  if (is.vector(x) && is.numeric(x)) stop_arg(arg, "must be a matrix, not a vector.")
  if (!is.matrix(x)) stop_arg(arg, "must be a numeric matrix or data frame, not ", class(x)[1L], ".")
  if (!is.numeric(x) && !is.logical(x)) stop_arg(arg, "must be numeric, not ", typeof(x), ".")
  if (storage.mode(x) != "double") storage.mode(x) <- "double"
  if (any(is.nan(x))) stop_arg(arg, "contains NaN.")
  if (any(is.infinite(x))) stop_arg(arg, "contains infinite values.")
  if (!allow_na && anyNA(x)) stop_arg(arg, "contains missing values (NA).")
  if (nrow(x) < min_rows) stop_arg(arg, "must have at least ", min_rows, " rows (", nrow(x), " given).")
  if (ncol(x) < 1L) stop_arg(arg, "must have at least one column.")
  x
}

# A numeric vector of length n (NA allowed when allow_na).
check_numeric_vector <- function(x, arg, n = NULL, allow_na = FALSE) {
  if (is.matrix(x) && ncol(x) == 1L) x <- drop(x)
  if (!is.numeric(x) && !is.logical(x)) stop_arg(arg, "must be a numeric vector, not ", class(x)[1L], ".")
  x <- as.double(x)
  if (any(is.nan(x))) stop_arg(arg, "contains NaN.")
  if (any(is.infinite(x))) stop_arg(arg, "contains infinite values.")
  if (!allow_na && anyNA(x)) stop_arg(arg, "contains missing values (NA).")
  if (!is.null(n) && length(x) != n)
    stop_arg(arg, "must have length ", n, " (", length(x), " given).")
  x
}

# A kernel matrix: numeric, finite, square n x n (or nr x nc when given), symmetric
# when square and `symmetric` (to 1e-8 of the largest diagonal entry).  The scan for
# NA/Inf and asymmetry runs in C without n x n temporaries.  Positive semi-definiteness
# is checked where the kernel is eigendecomposed anyway (ntk_lmm), not here.
check_kernel <- function(K, arg, n = NULL, symmetric = TRUE, ncol_expected = NULL) {
  if (is.data.frame(K)) K <- as.matrix(K)
  if (inherits(K, "Matrix")) K <- as.matrix(K)
  if (!is.matrix(K) || !(is.numeric(K) || is.logical(K)))
    stop_arg(arg, "must be a numeric matrix, not ", class(K)[1L], ".")
  if (storage.mode(K) != "double") storage.mode(K) <- "double"
  if (symmetric) {
    if (nrow(K) != ncol(K)) stop_arg(arg, "must be square (", nrow(K), " x ", ncol(K), " given).")
    if (!is.null(n) && nrow(K) != n)
      stop_arg(arg, "must be ", n, " x ", n, " to match the data (", nrow(K), " x ", ncol(K), " given).")
  } else {
    if (!is.null(n) && nrow(K) != n)
      stop_arg(arg, "must have ", n, " rows (", nrow(K), " given).")
    if (!is.null(ncol_expected) && ncol(K) != ncol_expected)
      stop_arg(arg, "must have ", ncol_expected, " columns, one per training individual (",
               ncol(K), " given).")
  }
  scan <- .Call(C_matrix_scan, K)
  if (scan[1L] > 0) stop_arg(arg, "contains missing values (NA/NaN).")
  if (scan[2L] > 0) stop_arg(arg, "contains infinite values.")
  if (symmetric && scan[3L] > 1e-8 * max(scan[4L], 1e-300)) stop_arg(arg, "must be symmetric.")
  K
}

# One of `choices` (the first when the default vector is passed unchanged); `partial`:
# a unique prefix is accepted (as pmatch()).
check_choice <- function(x, choices, arg, partial = FALSE, ignore_case = FALSE) {
  if (identical(x, choices)) return(choices[1L])
  if (ignore_case && is.character(x) && length(x) == 1L && !is.na(x)) x <- tolower(x)
  i <- if (is.character(x) && length(x) == 1L && !is.na(x))
    (if (partial) pmatch(x, choices) else match(x, choices)) else NA_integer_
  if (is.na(i))
    stop_arg(arg, "must be one of ", paste0('"', choices, '"', collapse = ", "),
             if (is.character(x) && length(x) == 1L && !is.na(x)) paste0(' ("', x, '" given)'),
             ".")
  choices[i]
}

# Covariates: a numeric (or logical) matrix, data frame or vector with `n` rows, one per
# `per`, or factors / character columns (a factor, or a data frame holding some), which go
# through model.matrix() (treatment contrasts, interactions as the data frame's columns)
# without its intercept, since every fitting function adds its own.  Returns a double
# matrix with column names (`arg`1, `arg`2, ... where missing); for factors it carries
# the attribute "covariate_spec" (terms, levels, contrasts) so that new individuals' X
# (`spec`) are coded with the training levels.  NULL gives an n x 0 matrix.
check_covariates <- function(X, n, arg = "X", per = "element of `y`", spec = NULL) {
  if (is.null(X)) return(matrix(0, n, 0L))
  if (is.factor(X) || is.character(X))   # a bare factor: named like the training one
    X <- stats::setNames(data.frame(X, stringsAsFactors = TRUE),
                         if (length(spec$names) == 1L) spec$names else arg)
  if (is.data.frame(X) && (!is.null(spec) ||
      !all(vapply(X, function(col) is.numeric(col) || is.logical(col), logical(1)))))
    return(covariate_matrix(X, n, arg, per, spec))
  if (!is.null(spec)) stop_arg(arg, "must be a data frame with the columns of the training covariates.")
  if (is.null(dim(X)) && (is.numeric(X) || is.logical(X)))
    X <- matrix(as.double(X), ncol = 1L, dimnames = list(NULL, arg))
  X <- check_numeric_matrix(X, arg, min_rows = 0L)
  if (nrow(X) != n)
    stop_arg(arg, "must have ", n, " rows, one per ", per, " (", nrow(X), " given).")
  if (is.null(colnames(X))) colnames(X) <- paste0(arg, seq_len(ncol(X)))
  bad <- !nzchar(colnames(X)) | is.na(colnames(X))
  colnames(X)[bad] <- paste0(arg, which(bad))
  X
}

# The design of a data frame with factors, by model.matrix(), intercept column dropped.
covariate_matrix <- function(X, n, arg, per, spec) {
  if (nrow(X) != n)
    stop_arg(arg, "must have ", n, " rows, one per ", per, " (", nrow(X), " given).")
  chr <- vapply(X, is.character, logical(1))
  X[chr] <- lapply(X[chr], factor)
  if (is.null(spec)) {
    for (v in names(X)[vapply(X, is.factor, logical(1))]) {
      lev <- unique(as.character(X[[v]][!is.na(X[[v]])]))
      if (length(lev) < 2L)   # model.matrix() would stop with "contrasts can be applied ..."
        stop_arg(arg, "has a factor `", v, "` with a single level",
                 if (length(lev)) paste0(' ("', lev, '")'), ": it carries no information; ",
                 "drop it.")
    }
    tt <- stats::terms(~ ., data = X)
    mf <- stats::model.frame(tt, X, na.action = stats::na.pass, drop.unused.levels = TRUE)
    M <- stats::model.matrix(tt, mf)
    spec <- list(terms = tt, xlevels = stats::.getXlevels(tt, mf),
                 contrasts = attr(M, "contrasts"), names = names(X))
  } else {
    miss <- setdiff(spec$names, names(X))
    if (length(miss))
      stop_arg(arg, "lacks the training covariate(s) ", paste(miss, collapse = ", "), ".")
    for (v in names(spec$xlevels)) {
      new <- setdiff(unique(as.character(X[[v]][!is.na(X[[v]])])), spec$xlevels[[v]])
      if (length(new))
        stop_arg(arg, "has level(s) of `", v, "` not seen in training: ",
                 paste(new, collapse = ", "), ".")
    }
    mf <- stats::model.frame(spec$terms, X, na.action = stats::na.pass, xlev = spec$xlevels)
    M <- stats::model.matrix(spec$terms, mf, contrasts.arg = spec$contrasts)
  }
  if (anyNA(M)) stop_arg(arg, "has missing values.")
  M <- M[, colnames(M) != "(Intercept)", drop = FALSE]
  storage.mode(M) <- "double"
  attr(M, "assign") <- NULL
  attr(M, "contrasts") <- NULL
  attr(M, "covariate_spec") <- spec
  M
}

# The integer code of `name` in one of the C tables (ntkgen.h, read once by C_codes).
ntk_code <- function(table, name) {
  codes <- ntk_state$codes
  if (is.null(codes)) codes <- ntk_state$codes <- .Call(C_codes)
  v <- codes[[table]][name]
  if (is.na(v)) stop("internal: no code for \"", name, "\" in table ", table, call. = FALSE)
  unname(v)
}

# Saves the global RNG (kind and state) and restores it when the calling function exits,
# however it exits: the one save/restore of the package.
rng_preserve <- function(frame = parent.frame()) {
  genv <- globalenv()
  kind <- RNGkind()
  seed <- get0(".Random.seed", envir = genv, inherits = FALSE)
  restore <- function() {
    RNGkind(kind[1L], kind[2L], kind[3L])
    if (is.null(seed)) {
      if (exists(".Random.seed", envir = genv, inherits = FALSE)) rm(".Random.seed", envir = genv)
    } else assign(".Random.seed", seed, envir = genv)
  }
  do.call(on.exit, list(bquote(.(restore)()), add = TRUE), envir = frame)
  invisible()
}

# Progress is shown by default in interactive sessions, not in scripts or while knitr runs.
progress_default <- function() interactive() && !isTRUE(getOption("knitr.in.progress"))

# A ticker for `total` steps labelled `label`: progressr (the only one that sees ticks from
# parallel workers; shown through the handlers the user set) when running in parallel or
# when the user registered handlers, else a cli bar with counts and ETA, else nothing.
progress_ticker <- function(total, label, progress, parallel, envir = parent.frame()) {
  if (!progress) return(function() NULL)
  has_pr <- requireNamespace("progressr", quietly = TRUE)
  if (has_pr && (parallel || length(progressr::handlers()) > 0L)) {
    p <- progressr::progressor(steps = total)
    return(function() p(message = label))
  }
  if (!parallel && requireNamespace("cli", quietly = TRUE)) {
    id <- cli::cli_progress_bar(name = label, total = total, clear = FALSE, .envir = envir,
      format = "{cli::pb_name} {cli::pb_bar} {cli::pb_current}/{cli::pb_total} | {cli::pb_elapsed} | ETA {cli::pb_eta}")
    return(function() cli::cli_progress_update(id = id, .envir = envir))
  }
  function() NULL
}

# The standard deviation computed on x / max|x| and scaled back, so that it neither under-
# nor overflows for data of any magnitude (sd(x * 1e-200) is 0 in double precision).
scaled_sd <- function(x) {
  m <- max(abs(x))
  if (!(m > 0) || !is.finite(m)) return(stats::sd(x))
  m * stats::sd(x / m)
}

# Raised by the C glue when the user interrupted a long computation: a condition of class
# "interrupt" (like R's own), which error handlers do not catch.
ntk_signal_interrupt <- function(msg) {
  stop(structure(class = c("ntk_interrupt", "interrupt", "condition"),
                 list(message = msg, call = NULL)))
}

# New individuals' numeric covariates in the order of the training ones: matched by name
# when `X_new` names its columns (a data frame, or a matrix with column names), by
# position otherwise.  `X` is the checked matrix, `given` the user's object.
align_covariates <- function(X, given, train, arg = "X_new") {
  named <- is.data.frame(given) || !is.null(colnames(given))
  if (!named || !length(train) || is.null(colnames(X)) || identical(colnames(X), train))
    return(X)
  pos <- match(train, colnames(X))
  if (anyNA(pos) || ncol(X) != length(train))
    stop_arg(arg, "must have the training covariates' columns (", paste(train, collapse = ", "),
             "); it has ", paste(colnames(X), collapse = ", "), ".")
  X[, pos, drop = FALSE]
}

# Runs `expr` (a long .Call) with a labelled cli progress bar with ETA fed by the compiled
# code between its blocks (ntk_progress()), when `show` and cli is installed; the bar is
# removed however the call ends.
with_progress_bar <- function(label, expr, show = progress_default()) {
  if (!isTRUE(show) || !requireNamespace("cli", quietly = TRUE)) return(expr)
  env <- environment()
  id <- cli::cli_progress_bar(name = label, total = 100L, clear = TRUE, .envir = env,
    format = "{cli::pb_name} {cli::pb_bar} {cli::pb_percent} | ETA {cli::pb_eta}")
  .Call(C_progress_set, function(fraction)
    cli::cli_progress_update(id = id, set = max(0, min(100, round(100 * fraction))),
                             .envir = env))
  on.exit({
    .Call(C_progress_set, NULL)
    cli::cli_progress_done(id = id, .envir = env)
  }, add = TRUE)
  expr
}
