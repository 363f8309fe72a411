/* .Call glue for the linear mixed model (minque.c). */
#include "r_util.h"

static const char *lmm_names[] = { "theta", "vcov", "S", "weights", "fixed", "ck", "b",
                                   "vcov_b", "alpha", "iter", "converged", "v_pd", "loglik",
                                   "status", "bad_kernel", "bad_value" };
#define NLMM 16

/* The result arrays of one fit, allocated as R vectors in `slots` (NLMM, protected by
 * the caller through the list they end in) and wired into res. */
static SEXP lmm_alloc(int n, int p, int k, ntk_lmm_result *res, int **fixed)
{
  SEXP v[NLMM];
  int nprot = 0;
  v[0] = PROTECT(allocVector(REALSXP, k)); nprot++;
  v[1] = PROTECT(allocMatrix(REALSXP, k, k)); nprot++;
  v[2] = PROTECT(allocMatrix(REALSXP, k, k)); nprot++;
  v[3] = PROTECT(allocVector(REALSXP, k)); nprot++;
  v[4] = PROTECT(allocVector(LGLSXP, k)); nprot++;
  v[5] = PROTECT(allocVector(REALSXP, k)); nprot++;
  v[6] = PROTECT(allocVector(REALSXP, p)); nprot++;
  v[7] = PROTECT(allocMatrix(REALSXP, p, p)); nprot++;
  v[8] = PROTECT(allocVector(REALSXP, n)); nprot++;
  for (int i = 9; i < NLMM; i++) v[i] = R_NilValue;
  SEXP out = PROTECT(ntk_named_list(NLMM, lmm_names, v)); nprot++;
  res->theta = REAL(v[0]); res->vcov = REAL(v[1]); res->S = REAL(v[2]);
  res->weights = REAL(v[3]); res->ck = REAL(v[5]); res->b = REAL(v[6]);
  res->vcov_b = REAL(v[7]); res->alpha = REAL(v[8]);
  *fixed = (int *) R_alloc((size_t) k, sizeof(int));
  res->fixed = *fixed;
  for (int i = 0; i < k; i++) {
    (*fixed)[i] = 0; res->theta[i] = NA_REAL; res->ck[i] = NA_REAL;
    res->weights[i] = NA_REAL;
  }
  for (int i = 0; i < k * k; i++) res->vcov[i] = res->S[i] = NA_REAL;
  res->bad_kernel = -1; res->bad_value = NA_REAL;
  UNPROTECT(nprot);
  return out;
}

/* Fills the scalar slots of a result list. */
static void lmm_finish(SEXP out, const ntk_lmm_result *res, const int *fixed, int k, int status)
{
  SEXP fx = VECTOR_ELT(out, 4);
  for (int i = 0; i < k; i++) LOGICAL(fx)[i] = fixed[i];
  SET_VECTOR_ELT(out, 9, ScalarInteger(res->iter));
  SET_VECTOR_ELT(out, 10, ScalarLogical(res->converged));
  SET_VECTOR_ELT(out, 11, ScalarLogical(res->v_pd));
  SET_VECTOR_ELT(out, 12, ScalarReal(res->loglik));
  SET_VECTOR_ELT(out, 13, ScalarInteger(status));
  SET_VECTOR_ELT(out, 14, ScalarInteger(res->bad_kernel + 1));
  SET_VECTOR_ELT(out, 15, ScalarReal(res->bad_value));
}

static void lmm_control(ntk_lmm_control *ctl, SEXP method, SEXP constrain, SEXP tol, SEXP maxit)
{
  ctl->method = ntk_arg_int(method, "method");
  ctl->constrain = ntk_arg_int(constrain, "constrain");
  ctl->tol = ntk_arg_double(tol, "tol");
  ctl->maxit = ntk_arg_int(maxit, "maxit");
  if (ctl->method < 0 || ctl->method > 3) error("`method` must be 0..3");
}

/* lmm_fit(y, X, K, method, constrain, tol, maxit): several kernels (list K of n x n).
 * y (n, observed only), X (n x p, full column rank, p may be 0).  Returns the result list;
 * `status` holds the core status (0 = ok; R names the failure: a strongly non-PSD kernel
 * or one that vanishes after projection is `bad_kernel`, 1-based). */
SEXP C_lmm_fit(SEXP y, SEXP X, SEXP K, SEXP method, SEXP constrain, SEXP tol, SEXP maxit)
{
  int n, p, nr, nc;
  if (!isReal(y)) error("`y` must be a double vector");
  n = LENGTH(y);
  ntk_arg_matrix(X, "X", &nr, &p);
  if (nr != n) error("`X` must have %d rows", n);
  if (!isNewList(K) || LENGTH(K) < 2) error("`K` must be a list of at least 2 matrices");
  int nk = LENGTH(K);
  if (nk > 63) error("`K`: at most 63 kernels");
  const double **Kp = (const double **) R_alloc((size_t) nk, sizeof(double *));
  for (int i = 0; i < nk; i++) {
    SEXP Ki = VECTOR_ELT(K, i);
    ntk_arg_matrix(Ki, "K", &nr, &nc);
    if (nr != n || nc != n) error("`K` must hold %d x %d matrices", n, n);
    Kp[i] = REAL(Ki);
  }
  ntk_lmm_control ctl;
  lmm_control(&ctl, method, constrain, tol, maxit);
  int k = nk + 1, *fixed;
  ntk_lmm_result res;
  SEXP out = PROTECT(lmm_alloc(n, p, k, &res, &fixed));
  int st = ntk_lmm_fit(n, p, REAL(y), REAL(X), nk, Kp, &ctl, &res);
  if (st == NTK_ERR_INTERRUPTED || st == NTK_ERR_ALLOC || st == NTK_ERR_LAPACK)
    ntk_stop_on_status(st, "ntk_lmm_fit", 0);
  lmm_finish(out, &res, fixed, k, st);
  UNPROTECT(1);
  return out;
}

/* lmm_fit_spectral(S, Y, method, constrain, tol, maxit): one kernel, the traits in the
 * columns of Y (n x t, observed on the individuals of S).  Returns a list of t result
 * lists, each with its own `status`. */
SEXP C_lmm_fit_spectral(SEXP S, SEXP Y, SEXP method, SEXP constrain, SEXP tol, SEXP maxit)
{
  ntk_spectral sp;
  ntk_arg_spectral(S, &sp);
  int n, nt;
  ntk_arg_matrix(Y, "Y", &n, &nt);
  if (n != sp.n) error("`Y` must have %d rows", sp.n);
  if (nt < 1) error("`Y` must have at least one column");
  ntk_lmm_control ctl;
  lmm_control(&ctl, method, constrain, tol, maxit);
  SEXP out = PROTECT(allocVector(VECSXP, nt));
  ntk_lmm_result *res = (ntk_lmm_result *) R_alloc((size_t) nt, sizeof(ntk_lmm_result));
  int **fixed = (int **) R_alloc((size_t) nt, sizeof(int *));
  int *status = (int *) R_alloc((size_t) nt, sizeof(int));
  for (int t = 0; t < nt; t++) {
    SET_VECTOR_ELT(out, t, lmm_alloc(n, sp.p, 2, res + t, fixed + t));
    status[t] = NTK_OK;
  }
  int st = ntk_lmm_fit_spectral(&sp, nt, REAL(Y), &ctl, res, status);
  ntk_stop_on_status(st, "ntk_lmm_fit_spectral", 0);
  for (int t = 0; t < nt; t++) lmm_finish(VECTOR_ELT(out, t), res + t, fixed[t], 2, status[t]);
  UNPROTECT(1);
  return out;
}
