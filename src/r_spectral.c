/* .Call glue for the spectral engine. */
#include "r_util.h"

/* eigen_sym(K): list(values, vectors), values decreasing, like eigen(K, symmetric = TRUE) */
SEXP C_eigen_sym(SEXP K)
{
  int n, nc, info = 0, nprot = 0;
  ntk_arg_matrix(K, "K", &n, &nc);
  if (n != nc) error("`K` must be a square matrix");
  if (n < 1) error("`K` must have at least one row");
  SEXP values = PROTECT(allocVector(REALSXP, n)); nprot++;
  SEXP vectors = PROTECT(allocMatrix(REALSXP, n, n)); nprot++;
  int st = ntk_eigen_sym(n, REAL(K), REAL(values), REAL(vectors), &info);
  ntk_stop_on_status(st, "dsyevr", info);
  const char *nms[2] = {"values", "vectors"};
  SEXP vals[2] = {values, vectors};
  SEXP out = ntk_named_list(2, nms, vals);
  UNPROTECT(nprot);
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
