/* Kernel ridge regression: K-fold cross-validation over a lambda grid, and the final
 * fit.  Core: plain C on plain pointers + BLAS/LAPACK, no R headers otherwise.
 *
 * Model (per training set T, test set V, both index sets into the FULL kernel K):
 *   offset   : beta = OLS of y_T on Z_T (Z = [1, covariates]); yc_T = y_T - Z_T beta
 *   fit      : alpha = (K_TT + lambda I)^-1 yc_T
 *   predict  : f_V = Z_V beta + K_VT alpha
 * With K_TT = U diag(d) U' (ONE eigendecomposition by ntk_eigen_sym per fold),
 *   f_V = Z_V beta + (K_VT U) diag(1 / (d + lambda)) (U' yc_T),
 * so after rotating y and K_VT once, each lambda costs O(n_V n_T).
 */
#define USE_FC_LEN_T
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <R_ext/BLAS.h>
#include <R_ext/Lapack.h>
#ifndef FCONE
#define FCONE
#endif
#include "ntkgen.h"

/* out (nr x nc) <- K[rows, cols] for the n x n column-major K.  Cost O(nr nc). */
void ntk_gather(int n, const double *K, int nr, const int *rows, int nc, const int *cols,
                double *out)
{
  for (int j = 0; j < nc; j++) {
    const double *kc = K + (size_t) cols[j] * n;
    double *oc = out + (size_t) j * nr;
    for (int i = 0; i < nr; i++) oc[i] = kc[rows[i]];
  }
}

/* OLS of y[idx] on Z[idx, ] (Z: n x q, column-major) by LAPACK dgels (QR).
 * beta (q) and resid (nidx, = y[idx] - Z[idx, ] beta) out.  Needs nidx >= q.
 * Returns NTK_OK, NTK_ERR_ARG, NTK_ERR_ALLOC, NTK_ERR_SINGULAR (rank-deficient Z[idx, ])
 * or NTK_ERR_LAPACK.  Cost O(nidx q^2), memory O(nidx q). */
int ntk_ols_subset(int n, int nidx, const int *idx, int q, const double *Z,
                   const double *y, double *beta, double *resid, int *info)
{
  *info = 0;
  if (nidx < q || q < 1) return NTK_ERR_ARG;
  double *a = malloc((size_t) nidx * q * sizeof(double));
  double *b = malloc((size_t) nidx * sizeof(double));
  double *work = NULL;
  int st = NTK_OK;
  if (!a || !b) { st = NTK_ERR_ALLOC; goto done; }
  for (int j = 0; j < q; j++)
    for (int i = 0; i < nidx; i++) a[i + (size_t) j * nidx] = Z[idx[i] + (size_t) j * n];
  for (int i = 0; i < nidx; i++) b[i] = y[idx[i]];

  char trans = 'N';
  int one = 1, lwork = -1;
  double wq = 0.0;
  F77_CALL(dgels)(&trans, &nidx, &q, &one, a, &nidx, b, &nidx, &wq, &lwork, info FCONE);
  if (*info != 0) { st = NTK_ERR_LAPACK; goto done; }
  lwork = (int) wq + 1;
  work = malloc((size_t) lwork * sizeof(double));
  if (!work) { st = NTK_ERR_ALLOC; goto done; }
  F77_CALL(dgels)(&trans, &nidx, &q, &one, a, &nidx, b, &nidx, work, &lwork, info FCONE);
  if (*info > 0) { st = NTK_ERR_SINGULAR; goto done; }
  if (*info < 0) { st = NTK_ERR_LAPACK; goto done; }
  memcpy(beta, b, (size_t) q * sizeof(double));
  for (int i = 0; i < nidx; i++) {
    double f = 0.0;
    for (int j = 0; j < q; j++) f += Z[idx[i] + (size_t) j * n] * beta[j];
    resid[i] = y[idx[i]] - f;
  }
done:
  free(a); free(b); free(work);
  return st;
}

/* K-fold CV of KRR over a lambda grid (see the top of this file).
 * K: n x n symmetric kernel; y: n (read only where fold > 0); fold: n ints in
 * 0..nfolds (0 = not used, e.g. y missing); Z: n x q offset design; lambda: nlam > 0.
 * fold_mse: nfolds x nlam mean squared held-out error; pred: n x nlam held-out
 * predictions (rows with fold 0 untouched), may be NULL.
 * Cost per fold: O(n_T^3) eigen + O(n_V n_T^2) rotation + O(n_V n_T nlam);
 * memory O(n_T^2 + n_V n_T + (n_T + n_V) nlam). */
int ntk_krr_cv(int n, const double *K, const double *y, const int *fold, int nfolds,
               int q, const double *Z, int nlam, const double *lambda,
               double *fold_mse, double *pred, int *info)
{
  *info = 0;
  if (n < 2 || nfolds < 2 || q < 1 || nlam < 1) return NTK_ERR_ARG;
  for (int i = 0; i < n; i++) if (fold[i] < 0 || fold[i] > nfolds) return NTK_ERR_ARG;
  for (int l = 0; l < nlam; l++) if (!(lambda[l] > 0.0)) return NTK_ERR_ARG;

  int st = NTK_OK;
  int *itr = malloc((size_t) n * sizeof(int));
  int *ite = malloc((size_t) n * sizeof(int));
  double *beta = malloc((size_t) q * sizeof(double));
  double *yc = malloc((size_t) n * sizeof(double));
  double *ty = malloc((size_t) n * sizeof(double));
  double *d = malloc((size_t) n * sizeof(double));
  double *Ktt = NULL, *U = NULL, *Kvt = NULL, *B = NULL, *W = NULL, *P = NULL;
  if (!itr || !ite || !beta || !yc || !ty || !d) { st = NTK_ERR_ALLOC; goto done; }

  for (int f = 1; f <= nfolds; f++) {
    int nt = 0, nv = 0;
    for (int i = 0; i < n; i++) {
      if (fold[i] == 0) continue;
      if (fold[i] == f) ite[nv++] = i; else itr[nt++] = i;
    }
    if (nv < 1 || nt < q) { st = NTK_ERR_ARG; goto done; }

    st = ntk_ols_subset(n, nt, itr, q, Z, y, beta, yc, info);
    if (st != NTK_OK) goto done;

    size_t ntt = (size_t) nt * nt, nvt = (size_t) nv * nt;
    Ktt = malloc(ntt * sizeof(double));
    U = malloc(ntt * sizeof(double));
    Kvt = malloc(nvt * sizeof(double));
    B = malloc(nvt * sizeof(double));
    W = malloc((size_t) nt * nlam * sizeof(double));
    P = malloc((size_t) nv * nlam * sizeof(double));
    if (!Ktt || !U || !Kvt || !B || !W || !P) { st = NTK_ERR_ALLOC; goto done; }

    ntk_gather(n, K, nt, itr, nt, itr, Ktt);
    st = ntk_eigen_sym(nt, Ktt, d, U, info);
    if (st != NTK_OK) goto done;
    free(Ktt); Ktt = NULL;

    /* ty = U' yc;  B = K_VT U */
    char tr = 'T', nn = 'N';
    int one = 1;
    double d1 = 1.0, d0 = 0.0;
    F77_CALL(dgemv)(&tr, &nt, &nt, &d1, U, &nt, yc, &one, &d0, ty, &one FCONE);
    ntk_gather(n, K, nv, ite, nt, itr, Kvt);
    F77_CALL(dgemm)(&nn, &nn, &nv, &nt, &nt, &d1, Kvt, &nv, U, &nt, &d0, B, &nv
                    FCONE FCONE);
    free(U); U = NULL;
    free(Kvt); Kvt = NULL;

    /* W[j, l] = ty_j / (d_j + lambda_l);  P = B W  (all lambdas in one dgemm) */
    for (int l = 0; l < nlam; l++) {
      double *w = W + (size_t) l * nt;
      for (int j = 0; j < nt; j++) {
        double den = d[j] + lambda[l];
        if (!(den > 0.0)) { st = NTK_ERR_NOT_PD; goto done; }
        w[j] = ty[j] / den;
      }
    }
    F77_CALL(dgemm)(&nn, &nn, &nv, &nlam, &nt, &d1, B, &nv, W, &nt, &d0, P, &nv
                    FCONE FCONE);

    for (int l = 0; l < nlam; l++) {
      double s = 0.0;
      const double *p = P + (size_t) l * nv;
      for (int v = 0; v < nv; v++) {
        int i = ite[v];
        double off = 0.0;
        for (int j = 0; j < q; j++) off += Z[i + (size_t) j * n] * beta[j];
        double f_i = off + p[v];
        double r = y[i] - f_i;
        s += r * r;
        if (pred) pred[i + (size_t) l * n] = f_i;
      }
      fold_mse[(f - 1) + (size_t) l * nfolds] = s / nv;
    }
    free(B); B = NULL;
    free(W); W = NULL;
    free(P); P = NULL;
    if (ntk_interrupt_pending()) { st = NTK_ERR_INTERRUPTED; goto done; }
  }

done:
  free(itr); free(ite); free(beta); free(yc); free(ty); free(d);
  free(Ktt); free(U); free(Kvt); free(B); free(W); free(P);
  return st;
}

/* Final KRR fit on the individuals idx (nidx) for each lambda, by Cholesky:
 * beta (q) = OLS of y[idx] on Z[idx, ];  alpha (nidx x nlam) column l =
 * (K[idx, idx] + lambda_l I)^-1 (y[idx] - Z[idx, ] beta).
 * Returns NTK_ERR_NOT_PD when K[idx, idx] + lambda I is not positive definite.
 * Cost O(nidx q^2 + nlam nidx^3 / 3), memory O(nidx^2). */
int ntk_krr_solve(int n, const double *K, int nidx, const int *idx, int q, const double *Z,
                  const double *y, int nlam, const double *lambda, double *beta,
                  double *alpha, int *info)
{
  *info = 0;
  if (nidx < 1 || nlam < 1) return NTK_ERR_ARG;
  for (int l = 0; l < nlam; l++) if (!(lambda[l] > 0.0)) return NTK_ERR_ARG;
  size_t nn = (size_t) nidx * nidx;
  double *yc = malloc((size_t) nidx * sizeof(double));
  double *A = malloc(nn * sizeof(double));
  double *Kss = malloc(nn * sizeof(double));
  int st = NTK_OK;
  if (!yc || !A || !Kss) { st = NTK_ERR_ALLOC; goto done; }
  st = ntk_ols_subset(n, nidx, idx, q, Z, y, beta, yc, info);
  if (st != NTK_OK) goto done;
  ntk_gather(n, K, nidx, idx, nidx, idx, Kss);

  char uplo = 'L';
  int one = 1;
  for (int l = 0; l < nlam; l++) {
    memcpy(A, Kss, nn * sizeof(double));
    for (int i = 0; i < nidx; i++) A[i + (size_t) i * nidx] += lambda[l];
    F77_CALL(dpotrf)(&uplo, &nidx, A, &nidx, info FCONE);
    if (*info > 0) { st = NTK_ERR_NOT_PD; goto done; }
    if (*info < 0) { st = NTK_ERR_LAPACK; goto done; }
    double *a = alpha + (size_t) l * nidx;
    memcpy(a, yc, (size_t) nidx * sizeof(double));
    F77_CALL(dpotrs)(&uplo, &nidx, &one, A, &nidx, a, &nidx, info FCONE);
    if (*info != 0) { st = NTK_ERR_LAPACK; goto done; }
    if (ntk_interrupt_pending()) { st = NTK_ERR_INTERRUPTED; goto done; }
  }
done:
  free(yc); free(A); free(Kss);
  return st;
}
