/* .Call glue for kernel ridge regression (krr.c, kare.c).  The R side (R/krr.R) has
 * validated the arguments with errors naming them; the checks here only keep bad
 * internal calls from crashing R. */
#include <string.h>
#include "r_util.h"

/* Checks K (square double n x n), y (double, length n), F (double n x q), lambda
 * (double > 0); returns n, q and nlam. */
static void krr_args(SEXP K, SEXP y, SEXP F, SEXP lambda, int *n, int *q, int *nlam)
{
  int nr, nc;
  ntk_arg_matrix(K, "K", &nr, &nc);
  if (nr != nc || nr < 2) error("`K` must be a square matrix with at least 2 rows");
  *n = nr;
  if (!isReal(y) || XLENGTH(y) != *n) error("`y` must be a double vector of length nrow(K)");
  ntk_arg_matrix(F, "F", &nr, &nc);
  if (nr != *n || nc < 1) error("`F` must be a double matrix with nrow(K) rows");
  *q = nc;
  if (!isReal(lambda) || XLENGTH(lambda) < 1) error("`lambda` must be a double vector");
  *nlam = (int) XLENGTH(lambda);
  const double *lam = REAL(lambda);
  for (int l = 0; l < *nlam; l++)
    if (!(lam[l] > 0.0) || !R_FINITE(lam[l])) error("`lambda` must be positive and finite");
}

/* The one translation of KRR statuses into R errors naming the routine. */
static void krr_stop(int st, const char *routine, int info)
{
  if (st == NTK_ERR_SINGULAR)
    error("%s: the covariates are collinear (within a training fold for CV)", routine);
  if (st == NTK_ERR_NOT_PD)
    error("%s: K + lambda I is not positive definite (is K positive semi-definite?)", routine);
  ntk_stop_on_status(st, routine, info);
}

/* krr_cv(K, Y, fold, nfolds, F, gls, lambda): Y an n x t matrix of traits (or a vector);
 * list(cvraw = nfolds x nlam x t fold MSEs, pred = n x nlam x t held-out predictions, NA
 * where fold == 0) */
SEXP C_krr_cv(SEXP K, SEXP Y, SEXP fold, SEXP nfolds, SEXP F, SEXP gls, SEXP lambda)
{
  int n, q, nlam, nprot = 0, info = 0, nt = 1;
  if (isMatrix(Y)) nt = INTEGER(getAttrib(Y, R_DimSymbol))[1];
  if (nt < 1 || !isReal(Y)) error("`Y` must be a double matrix with at least one column");
  int nr, nc;
  ntk_arg_matrix(K, "K", &nr, &nc);
  if (XLENGTH(Y) != (R_xlen_t) nr * nt) error("`Y` must have nrow(K) rows");
  SEXP y1 = PROTECT(allocVector(REALSXP, nr)); nprot++;   /* for the shared checks */
  krr_args(K, y1, F, lambda, &n, &q, &nlam);
  int nf = ntk_arg_int(nfolds, "nfolds");
  if (nf < 2) error("`nfolds` must be at least 2");
  if (!isInteger(fold) || XLENGTH(fold) != n) error("`fold` must be an integer vector of length nrow(K)");
  const int *fo = INTEGER(fold);
  for (int i = 0; i < n; i++)
    if (fo[i] == NA_INTEGER || fo[i] < 0 || fo[i] > nf) error("`fold` out of range");
  SEXP dc = PROTECT(allocVector(INTSXP, 3)); nprot++;
  INTEGER(dc)[0] = nf; INTEGER(dc)[1] = nlam; INTEGER(dc)[2] = nt;
  SEXP cvraw = PROTECT(allocArray(REALSXP, dc)); nprot++;
  SEXP dp = PROTECT(allocVector(INTSXP, 3)); nprot++;
  INTEGER(dp)[0] = n; INTEGER(dp)[1] = nlam; INTEGER(dp)[2] = nt;
  SEXP pred = PROTECT(allocArray(REALSXP, dp)); nprot++;
  double *pp = REAL(pred);
  for (R_xlen_t k = 0; k < XLENGTH(pred); k++) pp[k] = NA_REAL;
  int g = ntk_arg_int(gls, "gls");
  int st = ntk_krr_cv(n, REAL(K), nt, REAL(Y), fo, nf, q, REAL(F), g != 0, nlam,
                      REAL(lambda), REAL(cvraw), pp, &info);
  krr_stop(st, "ntk_krr_cv", info);
  const char *nms[2] = {"cvraw", "pred"};
  SEXP vals[2] = {cvraw, pred};
  SEXP out = ntk_named_list(2, nms, vals);
  UNPROTECT(nprot);
  return out;
}

/* Checks y (length n), F (n x q), lambda against the decomposition S; returns q, nlam. */
static void spec_krr_args(const ntk_spectral *sp, SEXP y, SEXP F, SEXP lambda, int *q,
                          int *nlam)
{
  int nr;
  if (!isReal(y) || XLENGTH(y) != sp->n) error("`y` must be a double vector of length %d", sp->n);
  ntk_arg_matrix(F, "F", &nr, q);
  if (nr != sp->n || *q < 1) error("`F` must be a double matrix with %d rows", sp->n);
  if (!isReal(lambda) || XLENGTH(lambda) < 1) error("`lambda` must be a double vector");
  *nlam = (int) XLENGTH(lambda);
  for (int l = 0; l < *nlam; l++)
    if (!(REAL(lambda)[l] > 0.0) || !R_FINITE(REAL(lambda)[l]))
      error("`lambda` must be positive and finite");
  if (sp->n <= *q) error("fewer individuals than columns of `F` + 1");
}

/* krr_spectral_fit(S, y, F, gls, lambda): list(beta = q x nlam, alpha = n x nlam over the
 * individuals of S); predictions are K[, idx] %*% alpha + F %*% beta. */
SEXP C_krr_spectral_fit(SEXP S, SEXP y, SEXP F, SEXP gls, SEXP lambda)
{
  ntk_spectral sp;
  ntk_arg_spectral(S, &sp);
  int q, nlam, info = 0, nprot = 0;
  spec_krr_args(&sp, y, F, lambda, &q, &nlam);
  int g = ntk_arg_int(gls, "gls");
  if (sp.p > 0 && (sp.p != q || !g))
    error("`spectral` is projected on %d columns: it serves the GLS offset with that design only", sp.p);
  SEXP beta = PROTECT(allocMatrix(REALSXP, q, nlam)); nprot++;
  SEXP alpha = PROTECT(allocMatrix(REALSXP, sp.n, nlam)); nprot++;
  int st = ntk_krr_spectral_fit(&sp, REAL(y), q, REAL(F), g != 0, nlam, REAL(lambda),
                                REAL(beta), REAL(alpha), &info);
  krr_stop(st, "ntk_krr_spectral_fit", info);
  const char *nms[2] = {"beta", "alpha"};
  SEXP vals[2] = {beta, alpha};
  SEXP out = ntk_named_list(2, nms, vals);
  UNPROTECT(nprot);
  return out;
}

/* krr_criterion(S, y, F, gls, lambda, which): criterion per lambda, which 0 = KARE,
 * 1 = GCV, 2 = LOO, from the decomposition S (see ntk_krr_criterion). */
SEXP C_krr_criterion(SEXP S, SEXP y, SEXP F, SEXP gls, SEXP lambda, SEXP which)
{
  ntk_spectral sp;
  ntk_arg_spectral(S, &sp);
  int q, nlam, info = 0;
  spec_krr_args(&sp, y, F, lambda, &q, &nlam);
  int g = ntk_arg_int(gls, "gls");
  int w = ntk_arg_int(which, "which");
  if (w < 0 || w > 2) error("`which` must be 0, 1 or 2");
  if (sp.mode == NTK_SPEC_EIGEN ? (sp.p != 0 || sp.r != sp.m)
                                : (w == 2 || sp.p != (g ? q : 0)))
    error("`spectral` must be an unprojected, complete eigendecomposition, or for KARE "
          "and GCV a tridiagonal one (projected on the offset design for the GLS offset)");
  SEXP value = PROTECT(allocVector(REALSXP, nlam));
  int st = ntk_krr_criterion(&sp, REAL(y), q, REAL(F), g != 0, nlam, REAL(lambda), w,
                             REAL(value), &info);
  krr_stop(st, "ntk_krr_criterion", info);
  UNPROTECT(1);
  return value;
}
