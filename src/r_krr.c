/* .Call glue for kernel ridge regression (krr.c, kare.c).  The R side (R/krr.R) has
 * validated the arguments with errors naming them; the checks here only keep bad
 * internal calls from crashing R. */
#include <string.h>
#include "r_util.h"

/* Checks K (square double n x n), y (double, length n), Z (double n x q), lambda
 * (double > 0); returns n, q and nlam. */
static void krr_args(SEXP K, SEXP y, SEXP Z, SEXP lambda, int *n, int *q, int *nlam)
{
  int nr, nc;
  ntk_arg_matrix(K, "K", &nr, &nc);
  if (nr != nc || nr < 2) error("`K` must be a square matrix with at least 2 rows");
  *n = nr;
  if (!isReal(y) || XLENGTH(y) != *n) error("`y` must be a double vector of length nrow(K)");
  ntk_arg_matrix(Z, "Z", &nr, &nc);
  if (nr != *n || nc < 1) error("`Z` must be a double matrix with nrow(K) rows");
  *q = nc;
  if (!isReal(lambda) || XLENGTH(lambda) < 1) error("`lambda` must be a double vector");
  *nlam = (int) XLENGTH(lambda);
  const double *lam = REAL(lambda);
  for (int l = 0; l < *nlam; l++)
    if (!(lam[l] > 0.0) || !R_FINITE(lam[l])) error("`lambda` must be positive and finite");
}

/* 1-based R indices -> 0-based, range-checked */
static int *krr_index(SEXP idx, int n, int *nidx)
{
  if (!isInteger(idx) || XLENGTH(idx) < 1) error("`idx` must be a non-empty integer vector");
  *nidx = (int) XLENGTH(idx);
  int *out = (int *) R_alloc((size_t) *nidx, sizeof(int));
  const int *p = INTEGER(idx);
  for (int i = 0; i < *nidx; i++) {
    if (p[i] == NA_INTEGER || p[i] < 1 || p[i] > n) error("`idx` out of range");
    out[i] = p[i] - 1;
  }
  return out;
}

/* krr_cv(K, y, fold, nfolds, Z, gls, lambda): list(cvraw = nfolds x nlam fold MSEs,
 * pred = n x nlam held-out predictions, NA where fold == 0) */
SEXP C_krr_cv(SEXP K, SEXP y, SEXP fold, SEXP nfolds, SEXP Z, SEXP gls, SEXP lambda)
{
  int n, q, nlam, nprot = 0, info = 0;
  krr_args(K, y, Z, lambda, &n, &q, &nlam);
  int nf = ntk_arg_int(nfolds, "nfolds");
  if (nf < 2) error("`nfolds` must be at least 2");
  if (!isInteger(fold) || XLENGTH(fold) != n) error("`fold` must be an integer vector of length nrow(K)");
  const int *fo = INTEGER(fold);
  for (int i = 0; i < n; i++)
    if (fo[i] == NA_INTEGER || fo[i] < 0 || fo[i] > nf) error("`fold` out of range");
  SEXP cvraw = PROTECT(allocMatrix(REALSXP, nf, nlam)); nprot++;
  SEXP pred = PROTECT(allocMatrix(REALSXP, n, nlam)); nprot++;
  double *pp = REAL(pred);
  for (R_xlen_t k = 0; k < XLENGTH(pred); k++) pp[k] = NA_REAL;
  int g = ntk_arg_int(gls, "gls");
  int st = ntk_krr_cv(n, REAL(K), REAL(y), fo, nf, q, REAL(Z), g != 0, nlam, REAL(lambda),
                      REAL(cvraw), pp, &info);
  if (st == NTK_ERR_SINGULAR)
    error("ntk_krr_cv: the covariates are collinear within a training fold");
  if (st == NTK_ERR_NOT_PD)
    error("ntk_krr_cv: K + lambda I is not positive definite in a fold (is K positive semi-definite?)");
  ntk_stop_on_status(st, "ntk_krr_cv", info);
  const char *nms[2] = {"cvraw", "pred"};
  SEXP vals[2] = {cvraw, pred};
  SEXP out = ntk_named_list(2, nms, vals);
  UNPROTECT(nprot);
  return out;
}

/* krr_fit(K, y, idx, Z, gls, lambda): list(beta = q x nlam offset coefficients,
 * alpha = n x nlam dual coefficients, zero outside idx).  Fitted values are
 * K %*% alpha + Z %*% beta. */
SEXP C_krr_fit(SEXP K, SEXP y, SEXP idx, SEXP Z, SEXP gls, SEXP lambda)
{
  int n, q, nlam, nidx, nprot = 0, info = 0;
  krr_args(K, y, Z, lambda, &n, &q, &nlam);
  int *ix = krr_index(idx, n, &nidx);
  if (nidx <= q) error("fewer individuals than columns of `Z` + 1");
  int g = ntk_arg_int(gls, "gls");
  SEXP beta = PROTECT(allocMatrix(REALSXP, q, nlam)); nprot++;
  SEXP alpha = PROTECT(allocMatrix(REALSXP, n, nlam)); nprot++;
  double *a = REAL(alpha);
  memset(a, 0, (size_t) n * nlam * sizeof(double));
  double *as = (double *) R_alloc((size_t) nidx * nlam, sizeof(double));
  int st = ntk_krr_solve(n, REAL(K), nidx, ix, q, REAL(Z), REAL(y), g != 0, nlam,
                         REAL(lambda), REAL(beta), as, &info);
  if (st == NTK_ERR_SINGULAR) error("ntk_krr_solve: the covariates are collinear");
  if (st == NTK_ERR_NOT_PD)
    error("ntk_krr_solve: K + lambda I is not positive definite (is K positive semi-definite?)");
  ntk_stop_on_status(st, "ntk_krr_solve", info);
  for (int l = 0; l < nlam; l++)
    for (int i = 0; i < nidx; i++) a[ix[i] + (size_t) l * n] = as[i + (size_t) l * nidx];
  const char *nms[2] = {"beta", "alpha"};
  SEXP vals[2] = {beta, alpha};
  SEXP out = ntk_named_list(2, nms, vals);
  UNPROTECT(nprot);
  return out;
}

/* krr_criterion(K, y, idx, Z, gls, lambda, which): criterion per lambda, which 0 = KARE,
 * 1 = GCV, 2 = LOO */
SEXP C_krr_criterion(SEXP K, SEXP y, SEXP idx, SEXP Z, SEXP gls, SEXP lambda, SEXP which)
{
  int n, q, nlam, nidx, nprot = 0, info = 0;
  krr_args(K, y, Z, lambda, &n, &q, &nlam);
  int *ix = krr_index(idx, n, &nidx);
  if (nidx <= q) error("fewer individuals than columns of `Z` + 1");
  int g = ntk_arg_int(gls, "gls");
  int w = ntk_arg_int(which, "which");
  if (w < 0 || w > 2) error("`which` must be 0, 1 or 2");
  SEXP value = PROTECT(allocVector(REALSXP, nlam)); nprot++;
  int st = ntk_krr_criterion(n, REAL(K), nidx, ix, q, REAL(Z), REAL(y), g != 0, nlam,
                             REAL(lambda), w, REAL(value), &info);
  if (st == NTK_ERR_SINGULAR) error("ntk_krr_criterion: the covariates are collinear");
  if (st == NTK_ERR_NOT_PD)
    error("ntk_krr_criterion: K + lambda I is not positive definite (is K positive semi-definite?)");
  ntk_stop_on_status(st, "ntk_krr_criterion", info);
  UNPROTECT(nprot);
  return value;
}
