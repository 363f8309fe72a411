/* .Call glue for the linear mixed model (minque.c). */
#include "r_util.h"

/* lmm_fit(y, X, K, method, constrain, tol, maxit): y (n, observed only), X (n x p, full
 * column rank, p may be 0), K list of n x n kernels.  Returns a list; a strongly non-PSD
 * kernel or one that vanishes after projecting out X is reported through `bad_kernel`
 * (1-based, 0 = none) and `bad_reason` (1 = not PSD, 2 = zero) for R to name it. */
SEXP C_lmm_fit(SEXP y, SEXP X, SEXP K, SEXP method, SEXP constrain, SEXP tol, SEXP maxit)
{
  int nprot = 0, n, p, nr, nc;
  if (!isReal(y)) error("`y` must be a double vector");
  n = LENGTH(y);
  ntk_arg_matrix(X, "X", &nr, &p);
  if (nr != n) error("`X` must have %d rows", n);
  if (!isNewList(K) || LENGTH(K) < 1) error("`K` must be a non-empty list of matrices");
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
  ctl.method = ntk_arg_int(method, "method");
  ctl.constrain = ntk_arg_int(constrain, "constrain");
  ctl.tol = ntk_arg_double(tol, "tol");
  ctl.maxit = ntk_arg_int(maxit, "maxit");
  if (ctl.method < 0 || ctl.method > 3) error("`method` must be 0..3");
  int k = nk + 1;

  SEXP theta = PROTECT(allocVector(REALSXP, k)); nprot++;
  SEXP vcov = PROTECT(allocMatrix(REALSXP, k, k)); nprot++;
  SEXP S = PROTECT(allocMatrix(REALSXP, k, k)); nprot++;
  SEXP weights = PROTECT(allocVector(REALSXP, k)); nprot++;
  SEXP fixed = PROTECT(allocVector(LGLSXP, k)); nprot++;
  SEXP ck = PROTECT(allocVector(REALSXP, k)); nprot++;
  SEXP b = PROTECT(allocVector(REALSXP, p)); nprot++;
  SEXP vcov_b = PROTECT(allocMatrix(REALSXP, p, p)); nprot++;
  SEXP alpha = PROTECT(allocVector(REALSXP, n)); nprot++;
  int *fx = (int *) R_alloc((size_t) k, sizeof(int));
  ntk_lmm_result res;
  res.theta = REAL(theta); res.vcov = REAL(vcov); res.S = REAL(S); res.weights = REAL(weights);
  res.fixed = fx; res.ck = REAL(ck); res.b = REAL(b); res.vcov_b = REAL(vcov_b);
  res.alpha = REAL(alpha);
  for (int i = 0; i < k; i++) { fx[i] = 0; REAL(theta)[i] = NA_REAL; REAL(ck)[i] = NA_REAL; }

  int st = ntk_lmm_fit(n, p, REAL(y), REAL(X), nk, Kp, &ctl, &res);
  int bad = 0, reason = 0;
  if (st == NTK_ERR_NOT_PD && res.bad_kernel >= 0) { bad = res.bad_kernel + 1; reason = 1; }
  else if (st == NTK_ERR_SINGULAR && res.bad_kernel >= 0) { bad = res.bad_kernel + 1; reason = 2; }
  else if (st == NTK_ERR_NOT_PD)
    error("ntk_lmm: V is not positive definite at the estimates (try `constrain` = TRUE)");
  else if (st == NTK_ERR_SINGULAR)
    error("ntk_lmm: singular MINQUE system: the variance components are not identifiable "
          "(is a kernel in `K` proportional to the identity, i.e. to the residual, or are the "
          "kernels linearly dependent once `X` is projected out?)");
  else ntk_stop_on_status(st, "ntk_lmm", 0);
  for (int i = 0; i < k; i++) LOGICAL(fixed)[i] = fx[i];

  const char *nms[] = { "theta", "vcov", "S", "weights", "fixed", "ck", "b", "vcov_b", "alpha",
                        "iter", "converged", "v_pd", "loglik", "bad_kernel", "bad_reason",
                        "bad_value" };
  SEXP vals[16] = { theta, vcov, S, weights, fixed, ck, b, vcov_b, alpha, R_NilValue,
                    R_NilValue, R_NilValue, R_NilValue, R_NilValue, R_NilValue, R_NilValue };
  SEXP sc[7];
  sc[0] = PROTECT(ScalarInteger(res.iter)); nprot++;
  sc[1] = PROTECT(ScalarLogical(res.converged)); nprot++;
  sc[2] = PROTECT(ScalarLogical(res.v_pd)); nprot++;
  sc[3] = PROTECT(ScalarReal(res.loglik)); nprot++;
  sc[4] = PROTECT(ScalarInteger(bad)); nprot++;
  sc[5] = PROTECT(ScalarInteger(reason)); nprot++;
  sc[6] = PROTECT(ScalarReal(res.bad_value)); nprot++;
  for (int i = 0; i < 7; i++) vals[9 + i] = sc[i];
  SEXP out = ntk_named_list(16, nms, vals);
  UNPROTECT(nprot);
  return out;
}
