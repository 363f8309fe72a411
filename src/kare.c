/* Closed-form lambda criteria of kernel ridge regression from ONE eigendecomposition
 * of the training kernel: KARE (Jacot et al. 2020), GCV and exact leave-one-out.
 * Core: plain C on plain pointers + BLAS, no R headers otherwise.
 *
 * With K = U diag(d) U' (n x n, complete basis), yc the centred response, t = U' yc and
 * lambda on the KRR scale (K + lambda I):
 *   H = K (K + lambda I)^-1 = U diag(d / (d + lambda)) U'
 *   KARE  rho = ((1/n) y'(K/n + l I)^-2 y) / ((1/n) tr (K/n + l I)^-1)^2,  l = lambda / n
 *             = n sum_j t_j^2 / (d_j + lambda)^2 / (sum_j 1 / (d_j + lambda))^2
 *   GCV   = n ||(I - H) yc||^2 / tr(I - H)^2
 *         = n sum_j t_j^2 g_j^2 / (sum_j g_j)^2,   g_j = lambda / (d_j + lambda)
 *   LOO   = (1/n) sum_i (r_i / (1 - H_ii))^2,  r = U (g * t),  1 - H_ii = sum_j U_ij^2 g_j
 * (KARE and GCV agree algebraically: the factors lambda^2 cancel.)
 *
 * With a GLS offset (gls = 1: the fixed effects Z beta fitted jointly, per lambda, see
 * krr.c) the smoother is S = Z P + K V^-1 (I - Z P), P = (Z'V^-1 Z)^-1 Z'V^-1,
 * V = K + lambda I, and I - S = lambda V^-1 (I - Z P).  With Zr = U'Z, w = 1/(d + lambda),
 * A = Zr' W Zr and t = U'y - Zr beta:
 *   (I - S) y    = lambda U (w * t)
 *   tr(I - S)    = lambda (sum_j w_j - tr(A^-1 Zr' W^2 Zr))
 *   (I - S)_ii   = lambda ((V^-1)_ii - (V^-1 Z A^-1 Z' V^-1)_ii)
 * and GCV, LOO (exact for penalised least squares) and KARE (the same expression as
 * GCV, with the projected trace) use these; with gls = 0 the offset is fixed (q = 0).
 */
#define USE_FC_LEN_T
#include <stdlib.h>
#include <string.h>
#include <R_ext/BLAS.h>
#include <R_ext/Lapack.h>
#ifndef FCONE
#define FCONE
#endif
#include "ntkgen.h"

/* Trace term and residual pieces for one lambda.  q == 0: t = ty.  q > 0: GLS offset
 * (ntk_gls_eigen) and *trsub = tr(A^-1 Zr' W^2 Zr); Y (n x q, may be NULL when not
 * needed) receives W Zr L^-T with A = L L'.  Cost O(n q^2). */
static int offset_pieces(int n, int q, const double *Zr, const double *ty, const double *w,
                         double *beta, double *t, double *chol, double *Y, double *trsub)
{
  *trsub = 0.0;
  if (q == 0) { memcpy(t, ty, (size_t) n * sizeof(double)); return NTK_OK; }
  int st = ntk_gls_eigen(n, q, Zr, ty, w, beta, t, chol);
  if (st != NTK_OK) return st;
  /* Y = W Zr L^-T  =>  tr(A^-1 Zr' W^2 Zr) = ||Y||_F^2 */
  for (int a = 0; a < q; a++)
    for (int j = 0; j < n; j++) Y[j + (size_t) a * n] = w[j] * Zr[j + (size_t) a * n];
  char side = 'R', uplo = 'L', tr = 'T', diag = 'N';
  double d1 = 1.0;
  F77_CALL(dtrsm)(&side, &uplo, &tr, &diag, &n, &q, &d1, chol, &q, Y, &n
                  FCONE FCONE FCONE FCONE);
  double s = 0.0;
  for (size_t k = 0; k < (size_t) n * q; k++) s += Y[k] * Y[k];
  *trsub = s;
  return NTK_OK;
}

/* KARE (which = 0) or GCV (which = 1) for every lambda from the eigenvalues d (n),
 * ty = U'y (n) and, when q > 0, Zr = U'Z (n x q) for the GLS offset (q = 0: y is the
 * centred response, offset fixed).  Cost O(n q^2) per lambda. */
int ntk_kare_gcv_eigen(int n, const double *d, const double *ty, int q, const double *Zr,
                       int nlam, const double *lambda, int which, double *value)
{
  if (n < 1 || nlam < 1 || q < 0 || (which != 0 && which != 1)) return NTK_ERR_ARG;
  int st = NTK_OK;
  double *w = malloc((size_t) n * sizeof(double));
  double *t = malloc((size_t) n * sizeof(double));
  double *beta = malloc(((size_t) q + 1) * sizeof(double));
  double *chol = malloc(((size_t) q * q + 1) * sizeof(double));
  double *Y = malloc(((size_t) n * q + 1) * sizeof(double));
  if (!w || !t || !beta || !chol || !Y) { st = NTK_ERR_ALLOC; goto done; }
  for (int l = 0; l < nlam; l++) {
    double lam = lambda[l], num = 0.0, sw = 0.0, trsub = 0.0;
    if (!(lam > 0.0)) { st = NTK_ERR_ARG; goto done; }
    for (int j = 0; j < n; j++) {
      double dl = d[j] + lam;
      if (!(dl > 0.0)) { st = NTK_ERR_NOT_PD; goto done; }
      w[j] = 1.0 / dl;
    }
    st = offset_pieces(n, q, Zr, ty, w, beta, t, chol, Y, &trsub);
    if (st != NTK_OK) goto done;
    for (int j = 0; j < n; j++) { num += t[j] * t[j] * w[j] * w[j]; sw += w[j]; }
    double den = sw - trsub;
    if (which == 1) { num *= lam * lam; den *= lam; }  /* GCV: ||(I-S)y||^2 / tr(I-S)^2 */
    value[l] = (double) n * num / (den * den);
  }
done:
  free(w); free(t); free(beta); free(chol); free(Y);
  return st;
}

/* Exact leave-one-out MSE for every lambda from d (n), U (n x n), ty = U'y (n) and,
 * when q > 0, Zr = U'Z (n x q) for the GLS offset.  e_i = r_i / (I - S)_ii with the
 * factors lambda cancelled: r = U (w * t), (I - S)_ii / lambda = sum_j U_ij^2 w_j
 * - (V^-1 Z A^-1 Z' V^-1)_ii.  Cost O(n^2) setup (squared eigenvector entries), then
 * O(n^2 (1 + q)) per lambda (n diagonal entries, each a sum over n; two n x n x nlam
 * dgemm for the whole grid plus one n x n x q per lambda when q > 0); memory
 * O(n^2 + n nlam). */
int ntk_loo_eigen(int n, const double *d, const double *U, const double *ty, int q,
                  const double *Zr, int nlam, const double *lambda, double *value)
{
  if (n < 1 || nlam < 1 || q < 0) return NTK_ERR_ARG;
  size_t nn = (size_t) n * n, nl = (size_t) n * nlam;
  double *S = malloc(nn * sizeof(double));
  double *Wm = malloc(nl * sizeof(double));
  double *Wt = malloc(nl * sizeof(double));
  double *R = malloc(nl * sizeof(double));
  double *M = malloc(nl * sizeof(double));
  double *t = malloc((size_t) n * sizeof(double));
  double *beta = malloc(((size_t) q + 1) * sizeof(double));
  double *chol = malloc(((size_t) q * q + 1) * sizeof(double));
  double *Y = malloc(((size_t) n * q + 1) * sizeof(double));
  double *Mv = malloc(((size_t) n * q + 1) * sizeof(double));
  double *sub = malloc(nl * sizeof(double));
  int st = NTK_OK;
  if (!S || !Wm || !Wt || !R || !M || !t || !beta || !chol || !Y || !Mv || !sub) {
    st = NTK_ERR_ALLOC; goto done;
  }
  char nn_ = 'N';
  double d1 = 1.0, d0 = 0.0, trsub;
  for (size_t k = 0; k < nn; k++) S[k] = U[k] * U[k];
  memset(sub, 0, nl * sizeof(double));
  for (int l = 0; l < nlam; l++) {
    double lam = lambda[l];
    if (!(lam > 0.0)) { st = NTK_ERR_ARG; goto done; }
    double *w = Wm + (size_t) l * n;
    for (int j = 0; j < n; j++) {
      double dl = d[j] + lam;
      if (!(dl > 0.0)) { st = NTK_ERR_NOT_PD; goto done; }
      w[j] = 1.0 / dl;
    }
    st = offset_pieces(n, q, Zr, ty, w, beta, t, chol, Y, &trsub);
    if (st != NTK_OK) goto done;
    for (int j = 0; j < n; j++) Wt[j + (size_t) l * n] = w[j] * t[j];
    if (q > 0) {
      /* rows of V^-1 Z L^-T = U (W Zr L^-T) = U Y:  sub_i = ||(U Y)_i.||^2 */
      F77_CALL(dgemm)(&nn_, &nn_, &n, &q, &n, &d1, U, &n, Y, &n, &d0, Mv, &n FCONE FCONE);
      double *sl = sub + (size_t) l * n;
      for (int a = 0; a < q; a++)
        for (int i = 0; i < n; i++) sl[i] += Mv[i + (size_t) a * n] * Mv[i + (size_t) a * n];
    }
    if (ntk_interrupt_pending()) { st = NTK_ERR_INTERRUPTED; goto done; }
  }
  /* R = U (w * t): residuals / lambda;  M = S W: (V^-1)_ii */
  F77_CALL(dgemm)(&nn_, &nn_, &n, &nlam, &n, &d1, U, &n, Wt, &n, &d0, R, &n FCONE FCONE);
  F77_CALL(dgemm)(&nn_, &nn_, &n, &nlam, &n, &d1, S, &n, Wm, &n, &d0, M, &n FCONE FCONE);
  for (int l = 0; l < nlam; l++) {
    double s = 0.0;
    for (int i = 0; i < n; i++) {
      size_t k = i + (size_t) l * n;
      double e = R[k] / (M[k] - sub[k]);
      s += e * e;
    }
    value[l] = s / n;
  }
done:
  free(S); free(Wm); free(Wt); free(R); free(M); free(t); free(beta); free(chol); free(Y);
  free(Mv); free(sub);
  return st;
}

/* Criterion (which: 0 = KARE, 1 = GCV, 2 = LOO) for every lambda, for the individuals
 * idx (nidx) of the n x n kernel K, with the offset Z[idx, ] beta (Z: n x q) fitted by
 * OLS once (gls = 0; the criteria then use the residual y - Z beta as a fixed response)
 * or by GLS per lambda (gls = 1).  One eigendecomposition of K[idx, idx].
 * Cost O(nidx^3) + O(nidx^2 q) rotation, then O(nidx q^2) (KARE, GCV) or
 * O(nidx^2 (1 + q)) (LOO) per lambda; memory O(nidx^2). */
int ntk_krr_criterion(int n, const double *K, int nidx, const int *idx, int q,
                      const double *Z, const double *y, int gls, int nlam,
                      const double *lambda, int which, double *value, int *info)
{
  *info = 0;
  if (nidx <= q || q < 1 || nlam < 1 || which < 0 || which > 2) return NTK_ERR_ARG;
  size_t nn = (size_t) nidx * nidx;
  int qg = gls ? q : 0;
  double *resp = malloc((size_t) nidx * sizeof(double));
  double *beta = malloc((size_t) q * sizeof(double));
  double *ty = malloc((size_t) nidx * sizeof(double));
  double *d = malloc((size_t) nidx * sizeof(double));
  double *Kss = malloc(nn * sizeof(double));
  double *U = malloc(nn * sizeof(double));
  double *Zs = malloc((size_t) nidx * q * sizeof(double));
  double *Zr = malloc((size_t) nidx * q * sizeof(double));
  int st = NTK_OK;
  if (!resp || !beta || !ty || !d || !Kss || !U || !Zs || !Zr) { st = NTK_ERR_ALLOC; goto done; }
  if (gls) {
    for (int i = 0; i < nidx; i++) resp[i] = y[idx[i]];
  } else {
    st = ntk_ols_subset(n, nidx, idx, q, Z, y, beta, resp, info);
    if (st != NTK_OK) goto done;
  }
  ntk_gather(n, K, nidx, idx, nidx, idx, Kss);
  st = ntk_eigen_sym(nidx, Kss, d, U, info);
  if (st != NTK_OK) goto done;
  free(Kss); Kss = NULL;
  if (ntk_interrupt_pending()) { st = NTK_ERR_INTERRUPTED; goto done; }

  char tr = 'T', nn_ = 'N';
  int one = 1;
  double d1 = 1.0, d0 = 0.0;
  F77_CALL(dgemv)(&tr, &nidx, &nidx, &d1, U, &nidx, resp, &one, &d0, ty, &one FCONE);
  if (qg > 0) {
    for (int j = 0; j < q; j++)
      for (int i = 0; i < nidx; i++) Zs[i + (size_t) j * nidx] = Z[idx[i] + (size_t) j * n];
    F77_CALL(dgemm)(&tr, &nn_, &nidx, &q, &nidx, &d1, U, &nidx, Zs, &nidx, &d0, Zr, &nidx
                    FCONE FCONE);
  }
  if (which == 2) st = ntk_loo_eigen(nidx, d, U, ty, qg, Zr, nlam, lambda, value);
  else st = ntk_kare_gcv_eigen(nidx, d, ty, qg, Zr, nlam, lambda, which, value);
done:
  free(resp); free(beta); free(ty); free(d); free(Kss); free(U); free(Zs); free(Zr);
  return st;
}
