/* .Call glue for the KARE-trained kernels (kare_train.c).  A step of the optimiser that
 * makes the kernel non-finite or the factorisation fail is not an R error: the status
 * comes back in the result ("status", a code of the "status" table of C_codes) so the R
 * optimiser can halve the step; memory, argument and interrupt failures stop here. */
#include "r_util.h"

static int recoverable(int st)
{
  return st == NTK_ERR_NOT_PD || st == NTK_ERR_NONFINITE || st == NTK_ERR_LAPACK ||
         st == NTK_ERR_SINGULAR;
}

/* offset design Z (n x q double matrix) or NULL (q = 0) */
static const double *arg_offset(SEXP Z, int n, int *q)
{
  *q = 0;
  if (isNull(Z)) return NULL;
  int nr;
  ntk_arg_matrix(Z, "Z", &nr, q);
  if (nr != n) error("`Z` must have one row per individual");
  if (*q >= n) error("`Z` leaves no dimension: it has as many columns as individuals");
  return REAL(Z);
}

/* kare_objective(K, y, Z, z): list(kare, G, status); G = dKARE/dK (n x n). */
SEXP C_kare_objective(SEXP K, SEXP y, SEXP Z, SEXP z_)
{
  int n, nc, q, info = 0, nprot = 0;
  ntk_arg_matrix(K, "K", &n, &nc);
  if (n != nc || n < 2) error("`K` must be a square matrix with at least 2 rows");
  if (!isReal(y) || XLENGTH(y) != n) error("`y` must be a double vector of length %d", n);
  const double *Zp = arg_offset(Z, n, &q);
  double z = ntk_arg_double(z_, "z");
  if (!(z > 0)) error("`z` must be > 0");
  SEXP G = PROTECT(allocMatrix(REALSXP, n, n)); nprot++;
  double kare = NA_REAL;
  int st = ntk_kare_objective(n, REAL(K), REAL(y), q, Zp, z, &kare, REAL(G), &info);
  if (!recoverable(st)) ntk_stop_on_status(st, "ntk_kare_objective", info);
  if (st) kare = NA_REAL;
  SEXP v[3];
  const char *nms[] = { "kare", "G", "status" };
  v[0] = PROTECT(ScalarReal(kare)); nprot++;
  v[1] = G;
  v[2] = PROTECT(ScalarInteger(st)); nprot++;
  SEXP out = ntk_named_list(3, nms, v);
  UNPROTECT(nprot);
  return out;
}

/* kare_analytic(X, map, M, depth, sw, sb, y, Z, z, threads, grad): KARE of the analytic
 * NTK of the mapped standardised genotypes X (n x p); map 0 = scale (M: p), 1 =
 * projection (M: p x r matrix).  grad: also the gradient.  Returns list(kare, grad_sw,
 * grad_sb, grad_map, status). */
SEXP C_kare_analytic(SEXP X, SEXP map_, SEXP M, SEXP depth_, SEXP sw_, SEXP sb_, SEXP y,
                     SEXP Z, SEXP z_, SEXP threads_, SEXP grad_)
{
  int n, p, q, r = 0, info = 0, nprot = 0;
  ntk_arg_matrix(X, "X", &n, &p);
  if (n < 2 || p < 1) error("`X` must have at least 2 rows and 1 column");
  int map = ntk_arg_int(map_, "map");
  if (map == NTK_KARE_MAP_SCALE) {
    if (!isReal(M) || XLENGTH(M) != p) error("`M` must be a double vector of length %d", p);
  } else if (map == NTK_KARE_MAP_PROJECTION) {
    int pr;
    ntk_arg_matrix(M, "M", &pr, &r);
    if (pr != p || r < 1) error("`M` must be a %d x r double matrix", p);
  } else error("`map` must be 0 or 1");
  ntk_arch a = ntk_arg_arch(depth_, sw_, sb_, threads_, 1);
  if (!(a.sw > 0)) error("`sigma_w` must be > 0");
  if (!isReal(y) || XLENGTH(y) != n) error("`y` must be a double vector of length %d", n);
  const double *Zp = arg_offset(Z, n, &q);
  double z = ntk_arg_double(z_, "z");
  if (!(z > 0)) error("`z` must be > 0");
  int grad = asLogical(grad_) == TRUE;
  SEXP gm = PROTECT(map == NTK_KARE_MAP_SCALE ? allocVector(REALSXP, p)
                                              : allocMatrix(REALSXP, p, r)); nprot++;
  double kare = NA_REAL, gsw = NA_REAL, gsb = NA_REAL;
  int st = ntk_kare_analytic(REAL(X), n, p, map, r, REAL(M), &a, REAL(y), q, Zp, z, &kare,
                             grad ? &gsw : NULL, grad ? &gsb : NULL, REAL(gm), NULL, &info);
  if (!recoverable(st)) ntk_stop_on_status(st, "ntk_kare_analytic", info);
  if (st) kare = gsw = gsb = NA_REAL;
  SEXP v[5];
  const char *nms[] = { "kare", "grad_sw", "grad_sb", "grad_map", "status" };
  v[0] = PROTECT(ScalarReal(kare)); nprot++;
  v[1] = PROTECT(ScalarReal(gsw)); nprot++;
  v[2] = PROTECT(ScalarReal(gsb)); nprot++;
  v[3] = grad ? gm : R_NilValue;
  v[4] = PROTECT(ScalarInteger(st)); nprot++;
  SEXP out = ntk_named_list(5, nms, v);
  UNPROTECT(nprot);
  return out;
}

/* kare_network(X, weights, depth, width, sw, sb, y, Z, z, threads, grad): KARE of the
 * empirical NTK of the network with the given weights (ntk_weights_length() layout) on
 * the standardised X; list(kare, grad (same layout, or NULL), status). */
SEXP C_kare_network(SEXP X, SEXP weights, SEXP depth_, SEXP width_, SEXP sw_, SEXP sb_,
                    SEXP y, SEXP Z, SEXP z_, SEXP threads_, SEXP grad_)
{
  int n, p, q, info = 0, nprot = 0;
  ntk_arg_matrix(X, "X", &n, &p);
  if (n < 2 || p < 1) error("`X` must have at least 2 rows and 1 column");
  ntk_arch a = ntk_arg_arch(depth_, sw_, sb_, threads_, 1);
  int width = ntk_arg_int(width_, "width");
  if (width < 1) error("`width` must be >= 1");
  size_t len = ntk_weights_length(p, width, a.depth);
  if (!isReal(weights) || (size_t) XLENGTH(weights) != len)
    error("`weights` must be a double vector of length %.0f", (double) len);
  if (!isReal(y) || XLENGTH(y) != n) error("`y` must be a double vector of length %d", n);
  const double *Zp = arg_offset(Z, n, &q);
  double z = ntk_arg_double(z_, "z");
  if (!(z > 0)) error("`z` must be > 0");
  int grad = asLogical(grad_) == TRUE;
  SEXP g = PROTECT(allocVector(REALSXP, grad ? (R_xlen_t) len : 0)); nprot++;
  double kare = NA_REAL;
  int st = ntk_kare_network(REAL(X), n, p, width, &a, REAL(weights), REAL(y), q, Zp, z,
                            &kare, grad ? REAL(g) : NULL, NULL, &info);
  if (!recoverable(st)) ntk_stop_on_status(st, "ntk_kare_network", info);
  if (st) kare = NA_REAL;
  SEXP v[3];
  const char *nms[] = { "kare", "grad", "status" };
  v[0] = PROTECT(ScalarReal(kare)); nprot++;
  v[1] = grad ? g : R_NilValue;
  v[2] = PROTECT(ScalarInteger(st)); nprot++;
  SEXP out = ntk_named_list(3, nms, v);
  UNPROTECT(nprot);
  return out;
}

/* kare_network_kernel(X, Z, weights, depth, width, sw, sb, threads): the empirical NTK
 * (n x n, or m x n for Z) of the network with the given (trained) weights. */
SEXP C_kare_network_kernel(SEXP X, SEXP Z, SEXP weights, SEXP depth_, SEXP width_,
                           SEXP sw_, SEXP sb_, SEXP threads_)
{
  int n, p, m = 0, pz, nprot = 0;
  ntk_arg_matrix(X, "X", &n, &p);
  if (!isNull(Z)) {
    ntk_arg_matrix(Z, "Z", &m, &pz);
    if (pz != p) error("`Z` must have as many columns as `X`");
  }
  ntk_arch a = ntk_arg_arch(depth_, sw_, sb_, threads_, 1);
  int width = ntk_arg_int(width_, "width");
  if (width < 1) error("`width` must be >= 1");
  size_t len = ntk_weights_length(p, width, a.depth);
  if (!isReal(weights) || (size_t) XLENGTH(weights) != len)
    error("`weights` must be a double vector of length %.0f", (double) len);
  int nr = isNull(Z) ? n : m;
  SEXP K = PROTECT(allocMatrix(REALSXP, nr, n)); nprot++;
  int st = ntk_empirical(REAL(X), n, isNull(Z) ? NULL : REAL(Z), m, p, width, &a,
                         REAL(weights), 1.0, 0, REAL(K), NULL);
  ntk_stop_on_status(st, "ntk_empirical", 0);
  UNPROTECT(nprot);
  return K;
}
