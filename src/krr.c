/* Kernel ridge regression: K-fold cross-validation over a lambda grid, and the final
 * fit.  Core: plain C on plain pointers + BLAS/LAPACK, no R headers otherwise.
 *
 * Model (per training set T, test set V, both index sets into the FULL kernel K):
 *   offset   : gls = 0: beta = OLS of y_T on Z_T (F = [1, covariates]), the same for
 *              every lambda, and r_T = y_T - Z_T beta;
 *              gls = 1: beta = (Z_T' V^-1 Z_T)^-1 Z_T' V^-1 y_T with V = K_TT + lambda I
 *              (the unpenalised fixed effects of the penalised least-squares problem,
 *              i.e. the GLS estimate of the LMM with lambda = s2_e / s2_g)
 *   fit      : alpha = V^-1 (y_T - Z_T beta)
 *   predict  : f_V = Z_V beta + K_VT alpha
 * Everything goes through the spectral engine (spectral.c): with K_TT = G T G' (T
 * tridiagonal from dsytrd per CV fold, or the caller's decomposition for the final fit),
 * (K_TT + lambda I)^-1 = G (T + lambda I)^-1 G', a solve of O(n_T) per right-hand side.
 * After rotating y_T (and Z_T) once, the whole grid costs O(n_T (q + 1) nlam) solves,
 * one back-rotation of the n_T x nlam coefficients (BLAS 3) and, for a fold, the product
 * K_VT alpha (n_V n_T nlam).  No eigenvectors, no Cholesky per lambda.
 */
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include "ntk_lapack.h"
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

/* OLS of y[idx] on F[idx, ] (F: n x q, column-major) by LAPACK dgels (QR).
 * beta (q) and resid (nidx, = y[idx] - F[idx, ] beta) out.  Needs nidx >= q.
 * Returns NTK_OK, NTK_ERR_ARG, NTK_ERR_ALLOC, NTK_ERR_SINGULAR (rank-deficient F[idx, ])
 * or NTK_ERR_LAPACK.  Cost O(nidx q^2), memory O(nidx q). */
int ntk_ols_subset(int n, int nidx, const int *idx, int q, const double *F,
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
    for (int i = 0; i < nidx; i++) a[i + (size_t) j * nidx] = F[idx[i] + (size_t) j * n];
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
    for (int j = 0; j < q; j++) f += F[idx[i] + (size_t) j * n] * beta[j];
    resid[i] = y[idx[i]] - f;
  }
done:
  free(a); free(b); free(work);
  return st;
}

/* GLS offset in the eigenbasis for one lambda.  Fr = U'F (n x q, q >= 1), ty = U'y (n),
 * w = 1 / (d + lambda) (n).  beta (q) = (Fr' W Fr)^-1 Fr' W ty; t (n) = ty - Fr beta;
 * chol (q x q) receives the lower Cholesky factor of Fr' W Fr.  NTK_ERR_SINGULAR when
 * that matrix is not positive definite.  Cost O(n q^2). */
int ntk_gls_eigen(int n, int q, const double *Fr, const double *ty, const double *w,
                  double *beta, double *t, double *chol)
{
  for (int a = 0; a < q; a++) {
    const double *za = Fr + (size_t) a * n;
    for (int b = a; b < q; b++) {
      const double *zb = Fr + (size_t) b * n;
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
    const double *za = Fr + (size_t) a * n;
    for (int j = 0; j < n; j++) t[j] -= za[j] * beta[a];
  }
  return NTK_OK;
}

/* See ntkgen.h. */
int ntk_krr_spectral_fit(const ntk_spectral *s, const double *y, int q, const double *F,
                         int gls, int nlam, const double *lambda, double *beta,
                         double *alpha, int *info)
{
  *info = 0;
  int n = s->n, m = ntk_spectral_dim(s), p = s->p, st = NTK_OK, thin = s->r < s->m;
  if (q < 1 || nlam < 1 || n <= q || (p > 0 && (p != q || !gls)) || (thin && p == 0 && gls))
    return NTK_ERR_ARG;
  for (int l = 0; l < nlam; l++) if (!(lambda[l] > 0.0)) return NTK_ERR_ARG;
  double *r = malloc((size_t) n * sizeof(double)), *b0 = malloc((size_t) q * sizeof(double)),
         *ty = malloc((size_t) m * sizeof(double)), *head = malloc((size_t) q * sizeof(double)),
         *U = malloc((size_t) m * nlam * sizeof(double)),
         *piv = malloc(ntk_spectral_factor_length(s) * sizeof(double)), *lw = malloc((size_t) m * sizeof(double)),
         *Fr = NULL, *Fs = NULL, *A = malloc((size_t) q * q * sizeof(double));
  if (!r || !b0 || !ty || !head || !U || !piv || !lw || !A) { st = NTK_ERR_ALLOC; goto done; }
  int all = 1, one = 1;
  if (p > 0) {                       /* projected: alpha = B (T + l)^-1 B'y, R b = Q1'y - kt'u */
    st = ntk_spectral_rotate(s, 1, y, head, ty);
  } else if (!gls) {                 /* OLS offset once, then KRR on the residual */
    int *ix = malloc((size_t) n * sizeof(int));
    if (!ix) { st = NTK_ERR_ALLOC; goto done; }
    for (int i = 0; i < n; i++) ix[i] = i;
    st = ntk_ols_subset(n, n, ix, q, F, y, b0, r, info);
    free(ix);
    if (st == NTK_OK) st = ntk_spectral_rotate(s, 1, r, NULL, ty);
  } else {                           /* GLS offset per lambda in the basis: Fr = B'F */
    Fr = malloc((size_t) m * q * sizeof(double));
    Fs = malloc((size_t) m * q * sizeof(double));
    if (!Fr || !Fs) { st = NTK_ERR_ALLOC; goto done; }
    st = ntk_spectral_rotate(s, 1, y, NULL, ty);
    if (st == NTK_OK) st = ntk_spectral_rotate(s, q, F, NULL, Fr);
  }
  if (st) goto done;
  (void) all;
  for (int l = 0; l < nlam; l++) {
    double *u = U + (size_t) l * m, *bl = beta + (size_t) l * q;
    /* K + lambda I = scale (K' + (lambda / scale) I), K' the engine's scaled kernel */
    st = ntk_spectral_factor(s, 1.0, lambda[l] / s->scale, piv, lw, NULL);
    if (st) goto done;
    memcpy(u, ty, (size_t) m * sizeof(double));
    ntk_spectral_solve(s, piv, lw, 1, u);
    if (p > 0) {
      for (int a = 0; a < q; a++) {
        const double *ka = s->kt + (size_t) a * m;
        double v = head[a];
        for (int j = 0; j < m; j++) v -= ka[j] * u[j];
        bl[a] = v;
      }
      char up = 'U', nt = 'N', nu = 'N';
      F77_CALL(dtrsv)(&up, &nt, &nu, &q, s->qr, &n, bl, &one FCONE FCONE FCONE);
    } else if (!gls) {
      memcpy(bl, b0, (size_t) q * sizeof(double));
    } else {
      memcpy(Fs, Fr, (size_t) m * q * sizeof(double));
      ntk_spectral_solve(s, piv, lw, q, Fs);          /* (T + l)^-1 Fr */
      for (int a = 0; a < q; a++) {
        const double *za = Fr + (size_t) a * m;
        double c = 0;
        for (int j = 0; j < m; j++) c += za[j] * u[j];
        bl[a] = c;
        for (int b = 0; b <= a; b++) {
          const double *zb = Fs + (size_t) b * m;
          double v = 0;
          for (int j = 0; j < m; j++) v += za[j] * zb[j];
          A[a + (size_t) b * q] = A[b + (size_t) a * q] = v;
        }
      }
      char lo = 'L';
      int inf2 = 0;
      F77_CALL(dpotrf)(&lo, &q, A, &q, &inf2 FCONE);
      if (inf2 != 0) { st = NTK_ERR_SINGULAR; goto done; }
      F77_CALL(dpotrs)(&lo, &q, &one, A, &q, bl, &q, &inf2 FCONE);
      if (inf2 != 0) { *info = inf2; st = NTK_ERR_LAPACK; goto done; }
      for (int a = 0; a < q; a++) {
        const double *za = Fs + (size_t) a * m;
        for (int j = 0; j < m; j++) u[j] -= za[j] * bl[a];
      }
    }
  }
  if (!thin) st = ntk_spectral_unrotate(s, nlam, U, NULL, alpha);
  else   /* a thin basis acts on the rest of the rotated vector itself */
    for (int l = 0; l < nlam && st == NTK_OK; l++)
      st = ntk_spectral_unrotate(s, 1, U + (size_t) l * m, p > 0 ? y : r,
                                 alpha + (size_t) l * n);
  /* alpha = (K + lambda I)^-1 (...) = (K' + lambda' I)^-1 (...) / scale; beta is the same
   * in both forms */
  for (size_t t = 0; st == NTK_OK && t < (size_t) n * nlam; t++) alpha[t] /= s->scale;
done:
  free(r); free(b0); free(ty); free(head); free(U); free(piv); free(lw); free(Fr); free(Fs);
  free(A);
  return st;
}

/* K-fold CV of KRR over a lambda grid (see the top of this file), for nt traits at once:
 * one decomposition per fold serves them all.
 * K: n x n symmetric kernel; Y: n x nt (read only where fold > 0); fold: n ints in
 * 0..nfolds (0 = not used, e.g. y missing); F: n x q offset design; gls: offset by OLS
 * (0) or GLS per lambda (1); lambda: nlam > 0.
 * fold_mse: nfolds x nlam x nt mean squared held-out errors; pred: n x nlam x nt held-out
 * predictions (rows with fold 0 untouched), may be NULL.
 * Cost per fold: 4/3 n_T^3 (dsytrd) + O(n_T^2 nlam) back-rotation
 * + O(n_V n_T nlam) prediction; memory O(n_T^2 + n_V n_T + (n_T + n_V) nlam). */
int ntk_krr_cv(int n, const double *K, int nt, const double *Y, const int *fold, int nfolds,
               int q, const double *F, int gls, int nlam, const double *lambda,
               double *fold_mse, double *pred, int *info)
{
  *info = 0;
  if (n < 2 || nt < 1 || nfolds < 2 || q < 1 || nlam < 1) return NTK_ERR_ARG;
  for (int i = 0; i < n; i++) if (fold[i] < 0 || fold[i] > nfolds) return NTK_ERR_ARG;
  for (int l = 0; l < nlam; l++) if (!(lambda[l] > 0.0)) return NTK_ERR_ARG;

  int st = NTK_OK;
  int *itr = malloc((size_t) n * sizeof(int));
  int *ite = malloc((size_t) n * sizeof(int));
  double *betas = malloc((size_t) q * nlam * sizeof(double));
  double *yt = malloc((size_t) n * sizeof(double));
  double *Ft = malloc((size_t) n * q * sizeof(double));
  double *Kvt = NULL, *alpha = NULL, *P = NULL;
  ntk_spectral sp;
  memset(&sp, 0, sizeof(sp));
  if (!itr || !ite || !betas || !yt || !Ft) { st = NTK_ERR_ALLOC; goto done; }

  for (int f = 1; f <= nfolds; f++) {
    int ntr = 0, nv = 0;
    for (int i = 0; i < n; i++) {
      if (fold[i] == 0) continue;
      if (fold[i] == f) ite[nv++] = i; else itr[ntr++] = i;
    }
    if (nv < 1 || ntr <= q) { st = NTK_ERR_ARG; goto done; }
    for (int j = 0; j < q; j++)
      for (int i = 0; i < ntr; i++) Ft[i + (size_t) j * ntr] = F[itr[i] + (size_t) j * n];

    if ((st = ntk_spectral_alloc(ntr, 0, NTK_SPEC_TRIDIAG, &sp))) goto done;
    st = ntk_spectral_build(n, K, ntr, itr, 0, NULL, NTK_SPEC_TRIDIAG, &sp, info);
    if (st) goto done;
    if (ntk_interrupt_pending()) { st = NTK_ERR_INTERRUPTED; goto done; }
    alpha = malloc((size_t) ntr * nlam * sizeof(double));
    Kvt = malloc((size_t) nv * ntr * sizeof(double));
    P = malloc((size_t) nv * nlam * sizeof(double));
    if (!alpha || !Kvt || !P) { st = NTK_ERR_ALLOC; goto done; }
    ntk_gather(n, K, nv, ite, ntr, itr, Kvt);
    /* every trait against the fold's one decomposition */
    for (int t = 0; t < nt; t++) {
      if (t > 0 && ntk_interrupt_pending()) { st = NTK_ERR_INTERRUPTED; goto done; }
      const double *y = Y + (size_t) t * n;
      for (int i = 0; i < ntr; i++) yt[i] = y[itr[i]];
      st = ntk_krr_spectral_fit(&sp, yt, q, Ft, gls, nlam, lambda, betas, alpha, info);
      if (st) goto done;
      char nn = 'N';
      double d1 = 1.0, d0 = 0.0;
      F77_CALL(dgemm)(&nn, &nn, &nv, &nlam, &ntr, &d1, Kvt, &nv, alpha, &ntr, &d0, P, &nv
                      FCONE FCONE);
      for (int l = 0; l < nlam; l++) {
        double s = 0.0;
        const double *pl = P + (size_t) l * nv, *bl = betas + (size_t) l * q;
        for (int v = 0; v < nv; v++) {
          int i = ite[v];
          double off = 0.0;
          for (int j = 0; j < q; j++) off += F[i + (size_t) j * n] * bl[j];
          double f_i = off + pl[v];
          double r = y[i] - f_i;
          s += r * r;
          if (pred) pred[i + (size_t) l * n + (size_t) t * n * nlam] = f_i;
        }
        fold_mse[(f - 1) + (size_t) l * nfolds + (size_t) t * nfolds * nlam] = s / nv;
      }
    }
    ntk_spectral_free(&sp);
    free(alpha); alpha = NULL;
    free(Kvt); Kvt = NULL;
    free(P); P = NULL;
    ntk_progress((double) f / nfolds);
    if (ntk_interrupt_pending()) { st = NTK_ERR_INTERRUPTED; goto done; }
  }

done:
  ntk_spectral_free(&sp);
  free(itr); free(ite); free(betas); free(yt); free(Ft); free(Kvt); free(alpha); free(P);
  return st;
}
