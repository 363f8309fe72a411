/* Kernel ridge regression: K-fold cross-validation over a lambda grid, and the final
 * fit.  Core: plain C on plain pointers + BLAS/LAPACK, no R headers otherwise.
 *
 * Model (per training set T, test set V, both index sets into the FULL kernel K):
 *   offset   : gls = 0: beta = OLS of y_T on Z_T (Z = [1, covariates]), the same for
 *              every lambda, and r_T = y_T - Z_T beta;
 *              gls = 1: beta = (Z_T' V^-1 Z_T)^-1 Z_T' V^-1 y_T with V = K_TT + lambda I
 *              (the unpenalised fixed effects of the penalised least-squares problem,
 *              i.e. the GLS estimate of the LMM with lambda = s2_e / s2_g)
 *   fit      : alpha = V^-1 (y_T - Z_T beta)
 *   predict  : f_V = Z_V beta + K_VT alpha
 * With K_TT = U diag(d) U' (ONE eigendecomposition by ntk_eigen_sym per fold) and
 * w = 1 / (d + lambda): alpha = U diag(w) (U' y_T - (U' Z_T) beta), so after rotating
 * y_T, Z_T and K_VT once, each lambda costs O(n_V n_T + n_T q^2).
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

/* GLS offset in the eigenbasis for one lambda.  Zr = U'Z (n x q, q >= 1), ty = U'y (n),
 * w = 1 / (d + lambda) (n).  beta (q) = (Zr' W Zr)^-1 Zr' W ty; t (n) = ty - Zr beta;
 * chol (q x q) receives the lower Cholesky factor of Zr' W Zr.  NTK_ERR_SINGULAR when
 * that matrix is not positive definite.  Cost O(n q^2). */
int ntk_gls_eigen(int n, int q, const double *Zr, const double *ty, const double *w,
                  double *beta, double *t, double *chol)
{
  for (int a = 0; a < q; a++) {
    const double *za = Zr + (size_t) a * n;
    for (int b = a; b < q; b++) {
      const double *zb = Zr + (size_t) b * n;
      double s = 0.0;
      for (int j = 0; j < n; j++) s += za[j] * w[j] * zb[j];
      chol[b + (size_t) a * q] = s;
      chol[a + (size_t) b * q] = s;
    }
    double c = 0.0;
    for (int j = 0; j < n; j++) c += za[j] * w[j] * ty[j];
    beta[a] = c;
  }
  char uplo = 'L';
  int one = 1, info = 0;
  F77_CALL(dpotrf)(&uplo, &q, chol, &q, &info FCONE);
  if (info != 0) return NTK_ERR_SINGULAR;
  F77_CALL(dpotrs)(&uplo, &q, &one, chol, &q, beta, &q, &info FCONE);
  if (info != 0) return NTK_ERR_LAPACK;
  memcpy(t, ty, (size_t) n * sizeof(double));
  for (int a = 0; a < q; a++) {
    const double *za = Zr + (size_t) a * n;
    for (int j = 0; j < n; j++) t[j] -= za[j] * beta[a];
  }
  return NTK_OK;
}

/* K-fold CV of KRR over a lambda grid (see the top of this file).
 * K: n x n symmetric kernel; y: n (read only where fold > 0); fold: n ints in
 * 0..nfolds (0 = not used, e.g. y missing); Z: n x q offset design; gls: offset by OLS
 * (0) or GLS per lambda (1); lambda: nlam > 0.
 * fold_mse: nfolds x nlam mean squared held-out error; pred: n x nlam held-out
 * predictions (rows with fold 0 untouched), may be NULL.
 * Cost per fold: O(n_T^3) eigen + O(n_V n_T^2 + n_T^2 q) rotation
 * + O(n_V n_T nlam + n_T q^2 nlam); memory O(n_T^2 + n_V n_T + (n_T + n_V) nlam). */
int ntk_krr_cv(int n, const double *K, const double *y, const int *fold, int nfolds,
               int q, const double *Z, int gls, int nlam, const double *lambda,
               double *fold_mse, double *pred, int *info)
{
  *info = 0;
  if (n < 2 || nfolds < 2 || q < 1 || nlam < 1) return NTK_ERR_ARG;
  for (int i = 0; i < n; i++) if (fold[i] < 0 || fold[i] > nfolds) return NTK_ERR_ARG;
  for (int l = 0; l < nlam; l++) if (!(lambda[l] > 0.0)) return NTK_ERR_ARG;

  int st = NTK_OK;
  int *itr = malloc((size_t) n * sizeof(int));
  int *ite = malloc((size_t) n * sizeof(int));
  double *betas = malloc((size_t) q * nlam * sizeof(double));
  double *chol = malloc((size_t) q * q * sizeof(double));
  double *resp = malloc((size_t) n * sizeof(double));
  double *ty = malloc((size_t) n * sizeof(double));
  double *t = malloc((size_t) n * sizeof(double));
  double *w = malloc((size_t) n * sizeof(double));
  double *d = malloc((size_t) n * sizeof(double));
  double *Ktt = NULL, *U = NULL, *Kvt = NULL, *B = NULL, *W = NULL, *P = NULL;
  double *Zt = NULL, *Zr = NULL;
  if (!itr || !ite || !betas || !chol || !resp || !ty || !t || !w || !d) {
    st = NTK_ERR_ALLOC; goto done;
  }

  for (int f = 1; f <= nfolds; f++) {
    int nt = 0, nv = 0;
    for (int i = 0; i < n; i++) {
      if (fold[i] == 0) continue;
      if (fold[i] == f) ite[nv++] = i; else itr[nt++] = i;
    }
    if (nv < 1 || nt <= q) { st = NTK_ERR_ARG; goto done; }

    if (gls) {
      for (int i = 0; i < nt; i++) resp[i] = y[itr[i]];
    } else {
      st = ntk_ols_subset(n, nt, itr, q, Z, y, betas, resp, info);
      if (st != NTK_OK) goto done;
      for (int l = 1; l < nlam; l++) memcpy(betas + (size_t) l * q, betas, (size_t) q * sizeof(double));
    }

    size_t ntt = (size_t) nt * nt, nvt = (size_t) nv * nt;
    Ktt = malloc(ntt * sizeof(double));
    U = malloc(ntt * sizeof(double));
    Kvt = malloc(nvt * sizeof(double));
    B = malloc(nvt * sizeof(double));
    W = malloc((size_t) nt * nlam * sizeof(double));
    P = malloc((size_t) nv * nlam * sizeof(double));
    if (gls) {
      Zt = malloc((size_t) nt * q * sizeof(double));
      Zr = malloc((size_t) nt * q * sizeof(double));
    }
    if (!Ktt || !U || !Kvt || !B || !W || !P || (gls && (!Zt || !Zr))) {
      st = NTK_ERR_ALLOC; goto done;
    }

    ntk_gather(n, K, nt, itr, nt, itr, Ktt);
    st = ntk_eigen_sym(nt, Ktt, d, U, info);
    if (st != NTK_OK) goto done;
    free(Ktt); Ktt = NULL;

    /* ty = U' resp;  Zr = U' Z_T;  B = K_VT U */
    char tr = 'T', nn = 'N';
    int one = 1;
    double d1 = 1.0, d0 = 0.0;
    F77_CALL(dgemv)(&tr, &nt, &nt, &d1, U, &nt, resp, &one, &d0, ty, &one FCONE);
    if (gls) {
      for (int j = 0; j < q; j++)
        for (int i = 0; i < nt; i++) Zt[i + (size_t) j * nt] = Z[itr[i] + (size_t) j * n];
      F77_CALL(dgemm)(&tr, &nn, &nt, &q, &nt, &d1, U, &nt, Zt, &nt, &d0, Zr, &nt
                      FCONE FCONE);
    }
    ntk_gather(n, K, nv, ite, nt, itr, Kvt);
    F77_CALL(dgemm)(&nn, &nn, &nv, &nt, &nt, &d1, Kvt, &nv, U, &nt, &d0, B, &nv
                    FCONE FCONE);
    free(U); U = NULL;
    free(Kvt); Kvt = NULL;

    /* W[, l] = w_l * t_l with t_l = ty - Zr beta_l (GLS) or ty;  P = B W */
    for (int l = 0; l < nlam; l++) {
      for (int j = 0; j < nt; j++) {
        double den = d[j] + lambda[l];
        if (!(den > 0.0)) { st = NTK_ERR_NOT_PD; goto done; }
        w[j] = 1.0 / den;
      }
      const double *tl = ty;
      if (gls) {
        st = ntk_gls_eigen(nt, q, Zr, ty, w, betas + (size_t) l * q, t, chol);
        if (st != NTK_OK) goto done;
        tl = t;
      }
      double *wl = W + (size_t) l * nt;
      for (int j = 0; j < nt; j++) wl[j] = w[j] * tl[j];
    }
    F77_CALL(dgemm)(&nn, &nn, &nv, &nlam, &nt, &d1, B, &nv, W, &nt, &d0, P, &nv
                    FCONE FCONE);

    for (int l = 0; l < nlam; l++) {
      double s = 0.0;
      const double *p = P + (size_t) l * nv, *bl = betas + (size_t) l * q;
      for (int v = 0; v < nv; v++) {
        int i = ite[v];
        double off = 0.0;
        for (int j = 0; j < q; j++) off += Z[i + (size_t) j * n] * bl[j];
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
    free(Zt); Zt = NULL;
    free(Zr); Zr = NULL;
    if (ntk_interrupt_pending()) { st = NTK_ERR_INTERRUPTED; goto done; }
  }

done:
  free(itr); free(ite); free(betas); free(chol); free(resp); free(ty); free(t); free(w);
  free(d); free(Ktt); free(U); free(Kvt); free(B); free(W); free(P); free(Zt); free(Zr);
  return st;
}

/* Final KRR fit on the individuals idx (nidx) for each lambda, by Cholesky of
 * V = K[idx, idx] + lambda I.  beta (q x nlam): OLS of y[idx] on Z[idx, ] (gls = 0, the
 * same for every lambda) or (Z' V^-1 Z)^-1 Z' V^-1 y (gls = 1);  alpha (nidx x nlam)
 * column l = V^-1 (y[idx] - Z[idx, ] beta_l).
 * Returns NTK_ERR_NOT_PD when V is not positive definite, NTK_ERR_SINGULAR for
 * collinear Z.  Cost O(nidx q^2 + nlam (nidx^3 / 3 + nidx^2 q)), memory O(nidx^2). */
int ntk_krr_solve(int n, const double *K, int nidx, const int *idx, int q, const double *Z,
                  const double *y, int gls, int nlam, const double *lambda, double *beta,
                  double *alpha, int *info)
{
  *info = 0;
  if (nidx <= q || q < 1 || nlam < 1) return NTK_ERR_ARG;
  for (int l = 0; l < nlam; l++) if (!(lambda[l] > 0.0)) return NTK_ERR_ARG;
  size_t nn = (size_t) nidx * nidx;
  int nrhs = gls ? q + 1 : 1;
  double *rhs = malloc((size_t) nidx * nrhs * sizeof(double));
  double *X = malloc((size_t) nidx * nrhs * sizeof(double));
  double *A = malloc(nn * sizeof(double));
  double *Kss = malloc(nn * sizeof(double));
  double *M = malloc((size_t) q * (q + 1) * sizeof(double));
  int st = NTK_OK;
  if (!rhs || !X || !A || !Kss || !M) { st = NTK_ERR_ALLOC; goto done; }
  if (gls) {
    for (int j = 0; j < q; j++)
      for (int i = 0; i < nidx; i++) rhs[i + (size_t) j * nidx] = Z[idx[i] + (size_t) j * n];
    for (int i = 0; i < nidx; i++) rhs[i + (size_t) q * nidx] = y[idx[i]];
  } else {
    st = ntk_ols_subset(n, nidx, idx, q, Z, y, beta, rhs, info);
    if (st != NTK_OK) goto done;
  }
  ntk_gather(n, K, nidx, idx, nidx, idx, Kss);

  char uplo = 'L', tr = 'T', nn_ = 'N';
  int one = 1, qp1 = q + 1;
  double d1 = 1.0, d0 = 0.0;
  for (int l = 0; l < nlam; l++) {
    memcpy(A, Kss, nn * sizeof(double));
    for (int i = 0; i < nidx; i++) A[i + (size_t) i * nidx] += lambda[l];
    F77_CALL(dpotrf)(&uplo, &nidx, A, &nidx, info FCONE);
    if (*info > 0) { st = NTK_ERR_NOT_PD; goto done; }
    if (*info < 0) { st = NTK_ERR_LAPACK; goto done; }
    memcpy(X, rhs, (size_t) nidx * nrhs * sizeof(double));
    F77_CALL(dpotrs)(&uplo, &nidx, &nrhs, A, &nidx, X, &nidx, info FCONE);
    if (*info != 0) { st = NTK_ERR_LAPACK; goto done; }
    double *a = alpha + (size_t) l * nidx, *bl = beta + (size_t) l * q;
    if (gls) {
      /* M = Z' [V^-1 Z, V^-1 y] (q x (q + 1));  beta = M[, 1:q]^-1 M[, q + 1] */
      F77_CALL(dgemm)(&tr, &nn_, &q, &qp1, &nidx, &d1, rhs, &nidx, X, &nidx, &d0, M, &q
                      FCONE FCONE);
      memcpy(bl, M + (size_t) q * q, (size_t) q * sizeof(double));
      int inf2 = 0;
      F77_CALL(dpotrf)(&uplo, &q, M, &q, &inf2 FCONE);
      if (inf2 != 0) { st = NTK_ERR_SINGULAR; goto done; }
      F77_CALL(dpotrs)(&uplo, &q, &one, M, &q, bl, &q, &inf2 FCONE);
      if (inf2 != 0) { st = NTK_ERR_LAPACK; goto done; }
      const double *vy = X + (size_t) q * nidx;
      for (int i = 0; i < nidx; i++) {
        double s = vy[i];
        for (int j = 0; j < q; j++) s -= X[i + (size_t) j * nidx] * bl[j];
        a[i] = s;
      }
    } else {
      if (l > 0) memcpy(bl, beta, (size_t) q * sizeof(double));
      memcpy(a, X, (size_t) nidx * sizeof(double));
    }
    if (ntk_interrupt_pending()) { st = NTK_ERR_INTERRUPTED; goto done; }
  }
done:
  free(rhs); free(X); free(A); free(Kss); free(M);
  return st;
}
