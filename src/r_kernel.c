/* .Call glue for the kernel engine: standardisation, analytic / empirical NTK, GRM. */
#include "r_util.h"
#include <Rmath.h>

/* col_moments(X, threads): list(mean, sd, nobs) of the columns of X, NA skipped. */
SEXP C_col_moments(SEXP X, SEXP threads)
{
  int n, p, nprot = 0;
  ntk_arg_matrix(X, "X", &n, &p);
  int nt = ntk_arg_int(threads, "threads");
  double *mean, *sd;
  int *nobs;
  SEXP out = PROTECT(ntk_moments_list(p, &mean, &sd, &nobs)); nprot++;
  int st = ntk_col_moments(REAL(X), n, p, mean, sd, nobs, nt);
  ntk_stop_on_status(st, "ntk_col_moments", 0);
  UNPROTECT(nprot);
  return out;
}

/* standardize(X, keep, mean, sd, threads): list(standardised matrix, number of NAs);
 * keep: 1-based column indices, mean / sd of the kept columns. */
SEXP C_standardize(SEXP X, SEXP keep, SEXP mean, SEXP sd, SEXP threads)
{
  int n, p, nprot = 0;
  ntk_arg_matrix(X, "X", &n, &p);
  int nt = ntk_arg_int(threads, "threads");
  if (!isInteger(keep) || !isReal(mean) || !isReal(sd)) error("`keep`, `mean`, `sd` have wrong types");
  int pk = LENGTH(keep);
  if (LENGTH(mean) != pk || LENGTH(sd) != pk) error("`mean` and `sd` must match `keep`");
  int *k0 = (int *) R_alloc(pk > 0 ? pk : 1, sizeof(int));
  for (int k = 0; k < pk; k++) {
    int v = INTEGER(keep)[k];
    if (v == NA_INTEGER || v < 1 || v > p) error("`keep` out of range");
    k0[k] = v - 1;
  }
  SEXP out = PROTECT(allocMatrix(REALSXP, n, pk)); nprot++;
  double miss = 0;
  int st = ntk_standardize(REAL(X), n, p, k0, pk, REAL(mean), REAL(sd), REAL(out), &miss, nt);
  ntk_stop_on_status(st, "ntk_standardize", 0);
  SEXP res = PROTECT(allocVector(VECSXP, 2)); nprot++;
  SET_VECTOR_ELT(res, 0, out);
  SET_VECTOR_ELT(res, 1, ScalarReal(miss));
  UNPROTECT(nprot);
  return res;
}

static int run_analytic(const double *X, int n, const double *Z, int m, int p,
                        const ntk_arch *a, double *K, double *d, int use_cuda)
{
#ifdef NTKGEN_CUDA
  if (use_cuda) return ntk_cuda_analytic(X, n, Z, m, p, a, K, d);
#else
  if (use_cuda) return NTK_ERR_NO_CUDA;
#endif
  return ntk_analytic(X, n, Z, m, p, a, K, d);
}

static int run_empirical(const double *X, int n, const double *Z, int m, int p, int w,
                         const ntk_arch *a, const double *wt, double scale, int acc,
                         double *K, double *d, int use_cuda)
{
#ifdef NTKGEN_CUDA
  if (use_cuda) return ntk_cuda_empirical(X, n, Z, m, p, w, a, wt, scale, acc, K, d);
#else
  if (use_cuda) return NTK_ERR_NO_CUDA;
#endif
  return ntk_empirical(X, n, Z, m, p, w, a, wt, scale, acc, K, d);
}

/* ntk_kernel(X, Z, kind, depth, width, sigma_w, sigma_b, n_init, normalize, threads,
 *            use_cuda, settings, dimnames)
 * X: n x p standardised training inputs; Z: m x p or NULL.  kind: 0 = linear kernel
 * (GRM), 1 = analytic NTK, 2 = empirical NTK (n_init initialisations drawn here with
 * norm_rand() in the order of ntkgen.h, i.e. exactly as rnorm() would, and averaged).
 * normalize: 0 none, 1 unit, 2 paper.  Returns K (n x n or m x n) with attribute "ntk" =
 * settings and the given dimnames. */
SEXP C_ntk_kernel(SEXP X, SEXP Z, SEXP kind_, SEXP depth_, SEXP width_, SEXP sw_,
                  SEXP sb_, SEXP n_init_, SEXP normalize_, SEXP threads_, SEXP use_cuda_,
                  SEXP settings, SEXP dimnames)
{
  int n, p, m = 0, pz, nprot = 0;
  ntk_arg_matrix(X, "X", &n, &p);
  int sym = isNull(Z);
  if (!sym) {
    ntk_arg_matrix(Z, "Z", &m, &pz);
    if (pz != p) error("`Z` must have as many columns as `X` (%d, not %d)", p, pz);
  }
  ntk_kernel_spec ks;
  ntk_arg_kernel_spec(kind_, depth_, width_, sw_, sb_, n_init_, normalize_, threads_, &ks);
  int kind = ks.kind, width = ks.width, n_init = ks.n_init, normalize = ks.normalize;
  ntk_arch a = ks.arch;
  int use_cuda = ntk_arg_int(use_cuda_, "use_cuda");
  if (n < 1 || p < 1) error("`X` must have at least one row and one column");
  if (kind == NTK_KIND_GRM) use_cuda = 0;

  int nr = sym ? n : m;
  const double *Zp = sym ? NULL : REAL(Z);
  SEXP K = PROTECT(allocMatrix(REALSXP, nr, n)); nprot++;
  double *dr = (double *) R_alloc(nr, sizeof(double));
  double *dc = (sym || normalize == 0) ? NULL : (double *) R_alloc(n, sizeof(double));
  int st = NTK_OK;
  const char *routine = "ntk_analytic";

  if (kind < 2) {
    st = run_analytic(REAL(X), n, Zp, m, p, &a, REAL(K), dr, use_cuda);
    if (st == NTK_OK && dc) st = ntk_analytic_diag(REAL(X), n, p, &a, dc);
  } else {
    routine = "ntk_empirical";
    size_t len = ntk_weights_length(p, width, a.depth);
    double *wt = (double *) R_alloc(len, sizeof(double));
    double scale = 1.0 / n_init;
    GetRNGstate();
    for (int r = 0; r < n_init && st == NTK_OK; r++) {
      for (size_t i = 0; i < len; i++) wt[i] = norm_rand();
      st = run_empirical(REAL(X), n, Zp, m, p, width, &a, wt, scale, r > 0, REAL(K), dr,
                         use_cuda);
      if (st == NTK_OK && dc)
        st = ntk_empirical_diag(REAL(X), n, p, width, &a, wt, scale, r > 0, dc);
      if (st == NTK_OK && r + 1 < n_init && ntk_interrupt_pending()) st = NTK_ERR_INTERRUPTED;
    }
    PutRNGstate();
  }
  ntk_stop_on_status(st, routine, 0);
  ntk_kernel_finish(K, nr, n, sym, dr, dc, normalize, p, a.nthreads, routine, dimnames,
                    settings);
  UNPROTECT(nprot);
  return K;
}

/* ntk_weights_length(p, width, depth) as a double (may exceed the int range). */
SEXP C_weights_length(SEXP p, SEXP width, SEXP depth)
{
  int pp = ntk_arg_int(p, "p"), w = ntk_arg_int(width, "width"), L = ntk_arg_int(depth, "depth");
  if (pp < 1 || w < 1 || L < 1) error("`p`, `width` and `depth` must be >= 1");
  return ScalarReal((double) ntk_weights_length(pp, w, L));
}
