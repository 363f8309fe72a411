/* .Call glue for the spectral engine (spectral.c): the decomposition lives in an R list of
 * class "ntk_spectral" (plain numeric vectors, so it can be kept in a fit, saved and
 * reused); ntk_arg_spectral() maps such a list back onto the core struct. */
#include <string.h>
#include "r_util.h"

static const char *spec_names[] = { "mode", "n", "p", "m", "qr", "qtau", "basis", "tau",
                                    "d", "e", "values", "k11", "kt", "trace", "trace0", "r",
                                    "scale", "kd", "band" };
#define NSPEC 19

static SEXP list_elt(SEXP x, const char *name)
{
  SEXP nms = getAttrib(x, R_NamesSymbol);
  for (R_xlen_t i = 0; i < XLENGTH(x); i++)
    if (strcmp(CHAR(STRING_ELT(nms, i)), name) == 0) return VECTOR_ELT(x, i);
  error("`spectral` has no field `%s`", name);
  return R_NilValue;
}

static double *real_field(SEXP x, const char *name, R_xlen_t len)
{
  SEXP v = list_elt(x, name);
  if (!isReal(v) || XLENGTH(v) != len)
    error("`spectral` is damaged: field `%s` must be a double vector of length %lld", name,
          (long long) len);
  return REAL(v);
}

void ntk_arg_spectral(SEXP x, ntk_spectral *s)
{
  if (!isNewList(x) || !inherits(x, "ntk_spectral"))
    error("`spectral` must be an object made by ntk_spectral()");
  s->mode = ntk_arg_int(list_elt(x, "mode"), "spectral$mode");
  s->n = ntk_arg_int(list_elt(x, "n"), "spectral$n");
  s->p = ntk_arg_int(list_elt(x, "p"), "spectral$p");
  s->m = ntk_arg_int(list_elt(x, "m"), "spectral$m");
  if ((s->mode != NTK_SPEC_EIGEN && s->mode != NTK_SPEC_TRIDIAG && s->mode != NTK_SPEC_BAND) ||
      s->n < 1 || s->p < 0 ||
      s->m != s->n - s->p || s->m < 1)
    error("`spectral` is damaged: inconsistent mode / dimensions");
  int n = s->n, p = s->p, m = s->m;
  s->r = ntk_arg_int(list_elt(x, "r"), "spectral$r");
  if (s->r < 1 || s->r > m || (s->mode != NTK_SPEC_EIGEN && s->r != m))
    error("`spectral` is damaged: inconsistent rank");
  int r = s->r, ms = ntk_spectral_dim(s);
  s->qr = real_field(x, "qr", (R_xlen_t) n * p);
  s->qtau = real_field(x, "qtau", p);
  s->basis = real_field(x, "basis", s->mode == NTK_SPEC_EIGEN ? (R_xlen_t) n * r
                                                               : (R_xlen_t) m * m);
  s->tau = real_field(x, "tau", m);
  s->d = real_field(x, "d", ms);
  s->e = real_field(x, "e", ms);
  s->values = real_field(x, "values", r);
  s->k11 = real_field(x, "k11", (R_xlen_t) p * p);
  s->kt = real_field(x, "kt", (R_xlen_t) ms * p);
  s->kd = ntk_arg_int(list_elt(x, "kd"), "spectral$kd");
  if (s->mode == NTK_SPEC_BAND) {
    if (s->kd < 1 || s->kd >= m) error("`spectral` is damaged: bad bandwidth");
    s->band = real_field(x, "band", (R_xlen_t) (s->kd + 1) * m);
  } else s->band = NULL;
  s->trace = ntk_arg_double(list_elt(x, "trace"), "spectral$trace");
  s->trace0 = ntk_arg_double(list_elt(x, "trace0"), "spectral$trace0");
  s->scale = ntk_arg_double(list_elt(x, "scale"), "spectral$scale");
  if (!(s->scale > 0) || !R_FINITE(s->scale)) error("`spectral` is damaged: bad scale");
}

/* spectral_build(K, idx, X, mode, rank): the decomposition of K[idx, idx] (idx 1-based,
 * NULL = all) with the columns of X (length(idx) x p, or NULL) projected out; mode 0 =
 * eigen (dsyevd), 1 = tridiagonal (dsytrd); rank (eigen mode) keeps the rank largest
 * eigenpairs, 0 = all.  Returns the list (class set in R). */
SEXP C_spectral_build(SEXP K, SEXP idx, SEXP X, SEXP mode_, SEXP rank_)
{
  int N, nc, nprot = 0, info = 0;
  ntk_arg_matrix(K, "K", &N, &nc);
  if (N != nc || N < 1) error("`K` must be a square matrix");
  int n = N, *ix = NULL;
  if (!isNull(idx)) {
    if (!isInteger(idx) || XLENGTH(idx) < 1) error("`idx` must be a non-empty integer vector");
    n = LENGTH(idx);
    ix = (int *) R_alloc((size_t) n, sizeof(int));
    for (int i = 0; i < n; i++) {
      int v = INTEGER(idx)[i];
      if (v == NA_INTEGER || v < 1 || v > N) error("`idx` out of range");
      ix[i] = v - 1;
    }
  }
  int p = 0, nr;
  if (!isNull(X)) {
    ntk_arg_matrix(X, "X", &nr, &p);
    if (nr != n) error("`X` must have one row per individual of the decomposition");
  }
  int mode = ntk_arg_int(mode_, "mode");
  if (mode != NTK_SPEC_EIGEN && mode != NTK_SPEC_TRIDIAG) error("`mode` must be 0 or 1");
  if (n - p < 1) error("`X` leaves no dimension: it has as many columns as individuals");
  int m = n - p;
  SEXP v[NSPEC];
  v[0] = PROTECT(ScalarInteger(mode)); nprot++;
  v[1] = PROTECT(ScalarInteger(n)); nprot++;
  v[2] = PROTECT(ScalarInteger(p)); nprot++;
  v[3] = PROTECT(ScalarInteger(m)); nprot++;
  v[4] = PROTECT(allocVector(REALSXP, (R_xlen_t) n * p)); nprot++;
  v[5] = PROTECT(allocVector(REALSXP, p)); nprot++;
  v[6] = PROTECT(allocVector(REALSXP, (R_xlen_t) ntk_spectral_basis_length(n, p, mode))); nprot++;
  for (int i = 7; i <= 10; i++) { v[i] = PROTECT(allocVector(REALSXP, m)); nprot++; }
  v[11] = PROTECT(allocVector(REALSXP, (R_xlen_t) p * p)); nprot++;
  v[12] = PROTECT(allocVector(REALSXP, (R_xlen_t) m * p)); nprot++;
  ntk_spectral s;
  memset(&s, 0, sizeof(s));
  s.qr = REAL(v[4]); s.qtau = REAL(v[5]); s.basis = REAL(v[6]); s.tau = REAL(v[7]);
  s.d = REAL(v[8]); s.e = REAL(v[9]); s.values = REAL(v[10]); s.k11 = REAL(v[11]);
  s.kt = REAL(v[12]);
  /* room for the band form, which the build uses instead of dsytrd where it can */
  double *band = mode == NTK_SPEC_TRIDIAG ?
    (double *) R_alloc((size_t) (NTK_BAND_KD + 1) * m, sizeof(double)) : NULL;
  s.band = band;
  memset(s.tau, 0, (size_t) m * sizeof(double));
  memset(s.e, 0, (size_t) m * sizeof(double));
  int st = ntk_spectral_build(N, REAL(K), n, ix, p, isNull(X) ? NULL : REAL(X), mode, &s,
                              &info);
  if (st == NTK_ERR_SINGULAR)
    error("ntk_spectral_build: `K` has no positive diagonal or `X` is rank deficient");
  ntk_stop_on_status(st, mode == NTK_SPEC_EIGEN ? "ntk_spectral_build (dsyevd)"
                                                : "ntk_spectral_build (dsytrd)", info);
  int rank = ntk_arg_int(rank_, "rank");
  if (rank < 0 || rank > m || (rank > 0 && mode != NTK_SPEC_EIGEN))
    error("`rank` must be 0 or 1..%d, with the eigen mode", m);
  if (rank > 0 && rank < m) {   /* a thin basis: keep the leading parts of the arrays */
    ntk_stop_on_status(ntk_spectral_truncate(&s, rank), "ntk_spectral_truncate", 0);
    int ms = ntk_spectral_dim(&s);
    v[6] = PROTECT(lengthgets(v[6], (R_xlen_t) n * rank)); nprot++;
    v[8] = PROTECT(lengthgets(v[8], ms)); nprot++;
    v[9] = PROTECT(lengthgets(v[9], ms)); nprot++;
    v[10] = PROTECT(lengthgets(v[10], rank)); nprot++;
    v[12] = PROTECT(lengthgets(v[12], (R_xlen_t) ms * p)); nprot++;
  }
  v[13] = PROTECT(ScalarReal(s.trace)); nprot++;
  v[14] = PROTECT(ScalarReal(s.trace0)); nprot++;
  v[15] = PROTECT(ScalarInteger(s.r)); nprot++;
  v[16] = PROTECT(ScalarReal(s.scale)); nprot++;
  v[17] = PROTECT(ScalarInteger(s.kd)); nprot++;
  if (s.mode == NTK_SPEC_BAND) {
    v[18] = PROTECT(allocVector(REALSXP, (R_xlen_t) (s.kd + 1) * m)); nprot++;
    memcpy(REAL(v[18]), s.band, (size_t) (s.kd + 1) * m * sizeof(double));
    v[0] = PROTECT(ScalarInteger(s.mode)); nprot++;
  } else v[18] = R_NilValue;
  SEXP out = ntk_named_list(NSPEC, spec_names, v);
  UNPROTECT(nprot);
  return out;
}

/* spectral_apply(S, V, how): how 0 = rotate (B'V, m x nc), 1 = unrotate (B V, n x nc). */
SEXP C_spectral_apply(SEXP S, SEXP V, SEXP how_)
{
  ntk_spectral s;
  ntk_arg_spectral(S, &s);
  int nr, nc, how = ntk_arg_int(how_, "how");
  ntk_arg_matrix(V, "V", &nr, &nc);
  if (s.r < s.m) error("`spectral` has a thin basis: no explicit apply");
  if (nr != (how == 0 ? s.n : s.m)) error("`V` has the wrong number of rows");
  SEXP out = PROTECT(allocMatrix(REALSXP, how == 0 ? s.m : s.n, nc));
  int st = how == 0 ? ntk_spectral_rotate(&s, nc, REAL(V), NULL, REAL(out))
                    : ntk_spectral_unrotate(&s, nc, REAL(V), NULL, REAL(out));
  ntk_stop_on_status(st, how == 0 ? "ntk_spectral_rotate" : "ntk_spectral_unrotate", 0);
  UNPROTECT(1);
  return out;
}

/* spectral_quad(S, V, a, b): for each column v of V (n x nc), (B'v)' (a T + b I)^-1 (B'v),
 * the quadratic form of the projected inverse: v' P v with P = B (a T + b I)^-1 B' (for
 * the LMM, a = s2_g, b = s2_e, P = V^-1 - V^-1 X (X'V^-1 X)^-1 X'V^-1).  O(n m nc). */
SEXP C_spectral_quad(SEXP S, SEXP V, SEXP a_, SEXP b_)
{
  ntk_spectral s;
  ntk_arg_spectral(S, &s);
  int nr, nc;
  ntk_arg_matrix(V, "V", &nr, &nc);
  if (nr != s.n) error("`V` must have %d rows", s.n);
  double a = ntk_arg_double(a_, "a"), b = ntk_arg_double(b_, "b");
  int ms = ntk_spectral_dim(&s);
  double *C = (double *) R_alloc((size_t) ms * (nc > 0 ? nc : 1), sizeof(double));
  double *W = (double *) R_alloc((size_t) ms * (nc > 0 ? nc : 1), sizeof(double));
  double *piv = (double *) R_alloc(ntk_spectral_factor_length(&s), sizeof(double));
  double *l = (double *) R_alloc((size_t) ms, sizeof(double));
  ntk_stop_on_status(ntk_spectral_rotate(&s, nc, REAL(V), NULL, C), "ntk_spectral_rotate", 0);
  /* a K + b I = (a scale) K' + b I on the engine's scaled kernel */
  ntk_stop_on_status(ntk_spectral_factor(&s, a * s.scale, b, piv, l, NULL),
                     "ntk_spectral_factor", 0);
  memcpy(W, C, (size_t) ms * nc * sizeof(double));
  ntk_spectral_solve(&s, piv, l, nc, W);
  SEXP out = PROTECT(allocVector(REALSXP, nc));
  for (int c = 0; c < nc; c++) {
    double q = 0;
    for (int j = 0; j < ms; j++) q += C[j + (size_t) c * ms] * W[j + (size_t) c * ms];
    REAL(out)[c] = q;
  }
  UNPROTECT(1);
  return out;
}

/* matrix_scan(A): c(n_nan, n_inf, max_asym, max_abs_diag) for a double matrix */
SEXP C_matrix_scan(SEXP A)
{
  int nr, nc;
  ntk_arg_matrix(A, "K", &nr, &nc);
  SEXP out = PROTECT(allocVector(REALSXP, 4));
  ntk_stop_on_status(ntk_matrix_scan(REAL(A), nr, nc, REAL(out)), "ntk_matrix_scan", 0);
  UNPROTECT(1);
  return out;
}

SEXP C_build_info(void)
{
  SEXP out = PROTECT(allocVector(LGLSXP, 2));
  LOGICAL(out)[0] = ntk_has_openmp();
#ifdef NTKGEN_CUDA
  LOGICAL(out)[1] = 1;
#else
  LOGICAL(out)[1] = 0;
#endif
  UNPROTECT(1);
  return out;
}

SEXP C_max_threads(void)
{
  return ScalarInteger(ntk_threads(1 << 20));
}
