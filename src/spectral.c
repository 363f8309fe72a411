/* Spectral engine: one symmetric eigendecomposition, shared by the LMM, KRR and the
 * closed-form criteria.  Core: plain C + LAPACK, no R headers beyond the BLAS/LAPACK
 * prototypes. */
#define USE_FC_LEN_T
#include <stdlib.h>
#include <string.h>
#include <R_ext/BLAS.h>
#include <R_ext/Lapack.h>
#ifndef FCONE
#define FCONE
#endif
#include "ntkgen.h"

/* dsyevr on a copy of A; eigenvalues returned in decreasing order.
 * Cost O(n^3) flops, memory: one n x n copy + O(n) LAPACK workspace. */
int ntk_eigen_sym(int n, const double *A, double *values, double *vectors, int *info)
{
  *info = 0;
  if (n < 1) return NTK_ERR_ARG;
  size_t nn = (size_t) n * (size_t) n;
  double *a = malloc(nn * sizeof(double));
  int *isuppz = malloc(2 * (size_t) n * sizeof(int));
  if (!a || !isuppz) { free(a); free(isuppz); return NTK_ERR_ALLOC; }
  memcpy(a, A, nn * sizeof(double));

  char jobz = 'V', range = 'A', uplo = 'L';
  double vl = 0.0, vu = 0.0, abstol = 0.0;
  int il = 1, iu = n, m = 0, lwork = -1, liwork = -1, iwq = 0;
  double wq = 0.0;
  F77_CALL(dsyevr)(&jobz, &range, &uplo, &n, a, &n, &vl, &vu, &il, &iu, &abstol, &m,
                   values, vectors, &n, isuppz, &wq, &lwork, &iwq, &liwork, info
                   FCONE FCONE FCONE);
  if (*info != 0) { free(a); free(isuppz); return NTK_ERR_LAPACK; }
  lwork = (int) wq + 1;
  liwork = iwq;
  double *work = malloc((size_t) lwork * sizeof(double));
  int *iwork = malloc((size_t) liwork * sizeof(int));
  if (!work || !iwork) {
    free(a); free(isuppz); free(work); free(iwork);
    return NTK_ERR_ALLOC;
  }
  F77_CALL(dsyevr)(&jobz, &range, &uplo, &n, a, &n, &vl, &vu, &il, &iu, &abstol, &m,
                   values, vectors, &n, isuppz, work, &lwork, iwork, &liwork, info
                   FCONE FCONE FCONE);
  free(a); free(isuppz); free(work); free(iwork);
  if (*info != 0 || m != n) return NTK_ERR_LAPACK;

  /* LAPACK gives increasing order: reverse values and columns */
  for (int i = 0, j = n - 1; i < j; i++, j--) {
    double t = values[i]; values[i] = values[j]; values[j] = t;
    double *ci = vectors + (size_t) i * n, *cj = vectors + (size_t) j * n;
    for (int k = 0; k < n; k++) { t = ci[k]; ci[k] = cj[k]; cj[k] = t; }
  }
  return NTK_OK;
}
