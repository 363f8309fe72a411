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

/* KARE (which = 0) or GCV (which = 1) for every lambda from the eigenvalues d (n) and
 * the rotated response t = U' yc (n).  Cost O(n) per lambda. */
int ntk_kare_gcv_eigen(int n, const double *d, const double *t, int nlam,
                       const double *lambda, int which, double *value)
{
  if (n < 1 || nlam < 1 || (which != 0 && which != 1)) return NTK_ERR_ARG;
  for (int l = 0; l < nlam; l++) {
    double lam = lambda[l], num = 0.0, den = 0.0;
    if (!(lam > 0.0)) return NTK_ERR_ARG;
    for (int j = 0; j < n; j++) {
      double dl = d[j] + lam;
      if (!(dl > 0.0)) return NTK_ERR_NOT_PD;
      double g = (which == 0) ? 1.0 / dl : lam / dl;
      num += t[j] * t[j] * g * g;
      den += g;
    }
    value[l] = (double) n * num / (den * den);
  }
  return NTK_OK;
}

/* Exact leave-one-out MSE for every lambda from d (n), U (n x n) and t = U' yc (n).
 * Cost O(n^2) setup (squared eigenvector entries) + two n x n x nlam dgemm, i.e.
 * O(n^2) per lambda (n diagonal entries of H, each a sum over n); memory O(n^2 + n nlam). */
int ntk_loo_eigen(int n, const double *d, const double *U, const double *t, int nlam,
                  const double *lambda, double *value)
{
  if (n < 1 || nlam < 1) return NTK_ERR_ARG;
  size_t nn = (size_t) n * n, nl = (size_t) n * nlam;
  double *S = malloc(nn * sizeof(double));
  double *G = malloc(nl * sizeof(double));
  double *Gt = malloc(nl * sizeof(double));
  double *R = malloc(nl * sizeof(double));
  double *M = malloc(nl * sizeof(double));
  int st = NTK_OK;
  if (!S || !G || !Gt || !R || !M) { st = NTK_ERR_ALLOC; goto done; }
  for (size_t k = 0; k < nn; k++) S[k] = U[k] * U[k];
  for (int l = 0; l < nlam; l++) {
    double lam = lambda[l];
    if (!(lam > 0.0)) { st = NTK_ERR_ARG; goto done; }
    for (int j = 0; j < n; j++) {
      double dl = d[j] + lam;
      if (!(dl > 0.0)) { st = NTK_ERR_NOT_PD; goto done; }
      double g = lam / dl;
      G[j + (size_t) l * n] = g;
      Gt[j + (size_t) l * n] = g * t[j];
    }
  }
  char nn_ = 'N';
  double d1 = 1.0, d0 = 0.0;
  /* R = U (g * t): residuals (I - H) yc;  M = S G: 1 - H_ii */
  F77_CALL(dgemm)(&nn_, &nn_, &n, &nlam, &n, &d1, U, &n, Gt, &n, &d0, R, &n FCONE FCONE);
  F77_CALL(dgemm)(&nn_, &nn_, &n, &nlam, &n, &d1, S, &n, G, &n, &d0, M, &n FCONE FCONE);
  for (int l = 0; l < nlam; l++) {
    double s = 0.0;
    for (int i = 0; i < n; i++) {
      double e = R[i + (size_t) l * n] / M[i + (size_t) l * n];
      s += e * e;
    }
    value[l] = s / n;
  }
done:
  free(S); free(G); free(Gt); free(R); free(M);
  return st;
}

/* Criterion (which: 0 = KARE, 1 = GCV, 2 = LOO) for every lambda, for the individuals
 * idx (nidx) of the n x n kernel K: the response is y[idx] with its OLS fit on Z[idx, ]
 * (Z: n x q) removed (beta, q, out).  One eigendecomposition of K[idx, idx].
 * Cost O(nidx^3) + O(nidx^2) rotation, then O(nidx) (KARE, GCV) or O(nidx^2) (LOO)
 * per lambda; memory O(nidx^2). */
int ntk_krr_criterion(int n, const double *K, int nidx, const int *idx, int q,
                      const double *Z, const double *y, int nlam, const double *lambda,
                      int which, double *beta, double *value, int *info)
{
  *info = 0;
  if (nidx < 1 || nlam < 1 || which < 0 || which > 2) return NTK_ERR_ARG;
  size_t nn = (size_t) nidx * nidx;
  double *yc = malloc((size_t) nidx * sizeof(double));
  double *t = malloc((size_t) nidx * sizeof(double));
  double *d = malloc((size_t) nidx * sizeof(double));
  double *Kss = malloc(nn * sizeof(double));
  double *U = malloc(nn * sizeof(double));
  int st = NTK_OK;
  if (!yc || !t || !d || !Kss || !U) { st = NTK_ERR_ALLOC; goto done; }
  st = ntk_ols_subset(n, nidx, idx, q, Z, y, beta, yc, info);
  if (st != NTK_OK) goto done;
  ntk_gather(n, K, nidx, idx, nidx, idx, Kss);
  st = ntk_eigen_sym(nidx, Kss, d, U, info);
  if (st != NTK_OK) goto done;
  free(Kss); Kss = NULL;
  if (ntk_interrupt_pending()) { st = NTK_ERR_INTERRUPTED; goto done; }

  char tr = 'T';
  int one = 1;
  double d1 = 1.0, d0 = 0.0;
  F77_CALL(dgemv)(&tr, &nidx, &nidx, &d1, U, &nidx, yc, &one, &d0, t, &one FCONE);
  if (which == 2) st = ntk_loo_eigen(nidx, d, U, t, nlam, lambda, value);
  else st = ntk_kare_gcv_eigen(nidx, d, t, nlam, lambda, which, value);
done:
  free(yc); free(t); free(d); free(Kss); free(U);
  return st;
}
