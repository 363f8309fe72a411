/* Closed-form lambda criteria of kernel ridge regression from ONE eigendecomposition
 * of the training kernel: KARE (Jacot et al. 2020), GCV and exact leave-one-out.
 * Core: plain C on plain pointers + BLAS/LAPACK, no R headers otherwise.
 *
 * K = U diag(d) U' (n x n, complete basis), lambda on the KRR scale, V = K + lambda I,
 * w = 1 / (d + lambda), g = lambda w, H = K V^-1 = U diag(d w) U', I - H = U diag(g) U'.
 * F (n x q) is the offset design ([1, covariates]), Fr = U'F, P_F = F (F'F)^-1 F'.
 * Every criterion counts the offset in the smoother S (fitted = S y):
 *
 * OLS offset (gls = 0): beta = OLS, yc = (I - P_F) y, then KRR on yc, so
 *   S = P_F + H (I - P_F),  (I - S) y = (I - H) yc = U (g * t),  t = U' yc,
 *   tr(I - S) = sum_j g_j (1 - m_j),  m_j = || row j of Fr L^-T ||^2,  F'F = L L'
 *   GCV   = n ||(I - S) y||^2 / tr(I - S)^2
 *   KARE  = ((1/n) yc'(K/n + l I)^-2 yc) / ((1/n) tr[(I - P_F)(K/n + l I)^-1])^2,
 *           l = lambda / n: Jacot et al.'s rho with the trace taken on the residual
 *           space of the offset; algebraically equal to GCV (the factors lambda cancel)
 *   LOO   = exact leave-one-out of the whole two-stage fit (OLS refitted without i):
 *           e_i = (r_i + c_i yc_i / (1 - h_i)) / (1 - H_ii), r = (I - H) yc,
 *           c_i = ((I - H) P_F)_ii, h_i = (P_F)_ii  (from the OLS deletion formula and
 *           the KRR identity f_i^(-i)(v) = v_i - ((I - H) v)_i / (1 - H_ii) for any v).
 * Counting the offset matters: for a kernel whose rows sum to zero (a GRM of centred
 * genotypes) the uncorrected criteria on yc tend to 0 as lambda -> 0.
 *
 * GLS offset (gls = 1, see krr.c): S = F P + H (I - F P), P = (F'V^-1 F)^-1 F'V^-1,
 * I - S = lambda V^-1 (I - F P).  With A = Fr' W Fr and t = U'y - Fr beta:
 *   (I - S) y  = lambda U (w * t),   tr(I - S) = lambda (sum_j w_j - tr(A^-1 Fr' W^2 Fr))
 *   (I - S)_ii = lambda ((V^-1)_ii - (V^-1 F A^-1 F' V^-1)_ii)
 * GCV and KARE as above; LOO = mean(((I - S) y)_i / (I - S)_ii)^2, exact for this
 * penalised least-squares problem (fixed effects refitted without i).
 */
#include <stdlib.h>
#include <string.h>
#include "ntk_lapack.h"
#include "ntkgen.h"

/* Y0 (n x q) = Fr L^-T with Fr'Fr = F'F = L L' (U orthogonal); m (n) = row sums of
 * squares of Y0.  Cost O(n q^2). */
static int ols_basis(int n, int q, const double *Fr, double *Y0, double *m)
{
  double *ztz = malloc((size_t) q * q * sizeof(double));
  if (!ztz) return NTK_ERR_ALLOC;
  char tr = 'T', nn = 'N', side = 'R', uplo = 'L', diag = 'N';
  double d1 = 1.0, d0 = 0.0;
  int info = 0;
  F77_CALL(dgemm)(&tr, &nn, &q, &q, &n, &d1, Fr, &n, Fr, &n, &d0, ztz, &q FCONE FCONE);
  F77_CALL(dpotrf)(&uplo, &q, ztz, &q, &info FCONE);
  if (info != 0) { free(ztz); return NTK_ERR_SINGULAR; }
  memcpy(Y0, Fr, (size_t) n * q * sizeof(double));
  F77_CALL(dtrsm)(&side, &uplo, &tr, &diag, &n, &q, &d1, ztz, &q, Y0, &n
                  FCONE FCONE FCONE FCONE);
  free(ztz);
  for (int j = 0; j < n; j++) {
    double s = 0.0;
    for (int a = 0; a < q; a++) s += Y0[j + (size_t) a * n] * Y0[j + (size_t) a * n];
    m[j] = s;
  }
  return NTK_OK;
}

/* GLS pieces for one lambda: beta, t = ty - Fr beta (ntk_gls_eigen), Y = W Fr L^-T with
 * A = Fr' W Fr = L L', and *trsub = ||Y||_F^2 = tr(A^-1 Fr' W^2 Fr).  Cost O(n q^2). */
static int gls_pieces(int n, int q, const double *Fr, const double *ty, const double *w,
                      double *beta, double *t, double *chol, double *Y, double *trsub)
{
  int st = ntk_gls_eigen(n, q, Fr, ty, w, beta, t, chol);
  if (st != NTK_OK) return st;
  for (int a = 0; a < q; a++)
    for (int j = 0; j < n; j++) Y[j + (size_t) a * n] = w[j] * Fr[j + (size_t) a * n];
  char side = 'R', uplo = 'L', tr = 'T', diag = 'N';
  double d1 = 1.0;
  F77_CALL(dtrsm)(&side, &uplo, &tr, &diag, &n, &q, &d1, chol, &q, Y, &n
                  FCONE FCONE FCONE FCONE);
  double s = 0.0;
  for (size_t k = 0; k < (size_t) n * q; k++) s += Y[k] * Y[k];
  *trsub = s;
  return NTK_OK;
}

/* w = 1 / (d + lambda); NTK_ERR_NOT_PD when some d_j + lambda <= 0. */
static int inv_shift(int n, const double *d, double lambda, double *w)
{
  if (!(lambda > 0.0)) return NTK_ERR_ARG;
  for (int j = 0; j < n; j++) {
    double dl = d[j] + lambda;
    if (!(dl > 0.0)) return NTK_ERR_NOT_PD;
    w[j] = 1.0 / dl;
  }
  return NTK_OK;
}

/* KARE (which = 0) or GCV (which = 1) for every lambda from the eigenvalues d (n),
 * ty = U'y (n; gls = 0: U'yc with yc the OLS residual) and Fr = U'F (n x q, q >= 1).
 * Cost O(n q^2) setup, then O(n) (gls = 0) or O(n q^2) (gls = 1) per lambda. */
int ntk_kare_gcv_eigen(int n, const double *d, const double *ty, int q, const double *Fr,
                       int gls, int nlam, const double *lambda, int which, double *value)
{
  if (n < 1 || nlam < 1 || q < 1 || (which != 0 && which != 1)) return NTK_ERR_ARG;
  int st = NTK_OK;
  double *w = malloc((size_t) n * sizeof(double));
  double *t = malloc((size_t) n * sizeof(double));
  double *m = malloc((size_t) n * sizeof(double));
  double *beta = malloc((size_t) q * sizeof(double));
  double *chol = malloc((size_t) q * q * sizeof(double));
  double *Y = malloc((size_t) n * q * sizeof(double));
  if (!w || !t || !m || !beta || !chol || !Y) { st = NTK_ERR_ALLOC; goto done; }
  if (!gls) {
    st = ols_basis(n, q, Fr, Y, m);
    if (st != NTK_OK) goto done;
  }
  for (int l = 0; l < nlam; l++) {
    double lam = lambda[l], num = 0.0, den = 0.0;
    st = inv_shift(n, d, lam, w);
    if (st != NTK_OK) goto done;
    if (gls) {
      double trsub = 0.0;
      st = gls_pieces(n, q, Fr, ty, w, beta, t, chol, Y, &trsub);
      if (st != NTK_OK) goto done;
      for (int j = 0; j < n; j++) { num += t[j] * t[j] * w[j] * w[j]; den += w[j]; }
      den -= trsub;
    } else {
      for (int j = 0; j < n; j++) {
        num += ty[j] * ty[j] * w[j] * w[j];
        den += w[j] * (1.0 - m[j]);
      }
    }
    /* (I - S) y = lambda U (w * t), tr(I - S) = lambda den; KARE: the same ratio
     * written on the K/n scale, where the factors lambda^2 (n^2) cancel */
    if (which == NTK_CRIT_GCV) { num *= lam * lam; den *= lam; }
    value[l] = (double) n * num / (den * den);
  }
done:
  free(w); free(t); free(m); free(beta); free(chol); free(Y);
  return st;
}

/* Exact leave-one-out MSE for every lambda from d (n), U (n x n), ty = U'y (n; gls = 0:
 * U'yc) and Fr = U'F (n x q).  The factors lambda cancel between residuals and
 * diagonals, so with W[, l] = w_l:  R = U (W * ty) = r / lambda,
 * D = (U * U) W = (V^-1)_ii, and
 *   gls = 0:  C = (U * (U Y0 Y0')) W = c / lambda;  e = (R + C yc / (1 - h)) / D
 *   gls = 1:  e = R / (D - ||rows of U Y||^2)   (Y from gls_pieces, per lambda)
 * Cost O(n^2 q) setup, then O(n^2) per lambda (n diagonal entries, each a sum over n;
 * three n x n x nlam products for the whole grid) plus O(n^2 q) per lambda for
 * gls = 1; memory O(n^2 + n nlam). */
int ntk_loo_eigen(int n, const double *d, const double *U, const double *ty, int q,
                  const double *Fr, int gls, int nlam, const double *lambda, double *value)
{
  if (n < 1 || nlam < 1 || q < 1) return NTK_ERR_ARG;
  size_t nn = (size_t) n * n, nl = (size_t) n * nlam, nq = (size_t) n * q;
  double *S = malloc(nn * sizeof(double));
  double *T = gls ? NULL : malloc(nn * sizeof(double));
  double *Wm = malloc(nl * sizeof(double));
  double *Wt = malloc(nl * sizeof(double));
  double *R = malloc(nl * sizeof(double));
  double *D = malloc(nl * sizeof(double));
  double *C = malloc(nl * sizeof(double));
  double *t = malloc((size_t) n * sizeof(double));
  double *yc = malloc((size_t) n * sizeof(double));
  double *h = malloc((size_t) n * sizeof(double));
  double *beta = malloc((size_t) q * sizeof(double));
  double *chol = malloc((size_t) q * q * sizeof(double));
  double *Y = malloc(nq * sizeof(double));
  double *UY = malloc(nq * sizeof(double));
  int st = NTK_OK;
  if (!S || (!gls && !T) || !Wm || !Wt || !R || !D || !C || !t || !yc || !h || !beta ||
      !chol || !Y || !UY) {
    st = NTK_ERR_ALLOC; goto done;
  }
  char nn_ = 'N', tr = 'T';
  int one = 1;
  double d1 = 1.0, d0 = 0.0;
  for (size_t k = 0; k < nn; k++) S[k] = U[k] * U[k];
  memset(C, 0, nl * sizeof(double));
  if (!gls) {
    /* Y0 = Fr L^-T; UY = U Y0 = F L^-T: h = row sums of squares (OLS leverages);
     * T = U * (UY Y0')  (elementwise), so that (T W)_i = c_i / lambda */
    st = ols_basis(n, q, Fr, Y, h);
    if (st != NTK_OK) goto done;
    F77_CALL(dgemm)(&nn_, &nn_, &n, &q, &n, &d1, U, &n, Y, &n, &d0, UY, &n FCONE FCONE);
    for (int i = 0; i < n; i++) {
      double s = 0.0;
      for (int a = 0; a < q; a++) s += UY[i + (size_t) a * n] * UY[i + (size_t) a * n];
      h[i] = s;
    }
    F77_CALL(dgemm)(&nn_, &tr, &n, &n, &q, &d1, UY, &n, Y, &n, &d0, T, &n FCONE FCONE);
    for (size_t k = 0; k < nn; k++) T[k] *= U[k];
    F77_CALL(dgemv)(&nn_, &n, &n, &d1, U, &n, ty, &one, &d0, yc, &one FCONE);
  }
  for (int l = 0; l < nlam; l++) {
    double *w = Wm + (size_t) l * n;
    st = inv_shift(n, d, lambda[l], w);
    if (st != NTK_OK) goto done;
    const double *tl = ty;
    if (gls) {
      double trsub;
      st = gls_pieces(n, q, Fr, ty, w, beta, t, chol, Y, &trsub);
      if (st != NTK_OK) goto done;
      tl = t;
      /* rows of V^-1 F L^-T = U Y:  C_i = ||(U Y)_i||^2 = (V^-1 F A^-1 F' V^-1)_ii */
      F77_CALL(dgemm)(&nn_, &nn_, &n, &q, &n, &d1, U, &n, Y, &n, &d0, UY, &n FCONE FCONE);
      double *cl = C + (size_t) l * n;
      for (int a = 0; a < q; a++)
        for (int i = 0; i < n; i++) cl[i] += UY[i + (size_t) a * n] * UY[i + (size_t) a * n];
    }
    for (int j = 0; j < n; j++) Wt[j + (size_t) l * n] = w[j] * tl[j];
    if (ntk_interrupt_pending()) { st = NTK_ERR_INTERRUPTED; goto done; }
  }
  F77_CALL(dgemm)(&nn_, &nn_, &n, &nlam, &n, &d1, U, &n, Wt, &n, &d0, R, &n FCONE FCONE);
  F77_CALL(dgemm)(&nn_, &nn_, &n, &nlam, &n, &d1, S, &n, Wm, &n, &d0, D, &n FCONE FCONE);
  if (!gls)
    F77_CALL(dgemm)(&nn_, &nn_, &n, &nlam, &n, &d1, T, &n, Wm, &n, &d0, C, &n FCONE FCONE);
  for (int l = 0; l < nlam; l++) {
    double s = 0.0;
    for (int i = 0; i < n; i++) {
      size_t k = i + (size_t) l * n;
      double e = gls ? R[k] / (D[k] - C[k]) : (R[k] + C[k] * yc[i] / (1.0 - h[i])) / D[k];
      s += e * e;
    }
    value[l] = s / n;
  }
done:
  free(S); free(T); free(Wm); free(Wt); free(R); free(D); free(C); free(t); free(yc);
  free(h); free(beta); free(chol); free(Y); free(UY);
  return st;
}

/* Criterion (which: 0 = KARE, 1 = GCV, 2 = LOO) for every lambda from the eigen-mode
 * decomposition s (no projection) of the kernel of the n individuals, with the offset
 * F beta (F: n x q) fitted by OLS once (gls = 0) or by GLS per lambda (gls = 1); see the
 * top of this file.  Cost O(n^2 q) rotation, then O(n) or O(n q^2) (KARE, GCV) or
 * O(n^2 (1 + gls q)) (LOO) per lambda. */
/* KARE / GCV for every lambda from a tridiagonal or band decomposition (no eigenvectors):
 * the quantities of ntk_kare_gcv_eigen() are quadratic forms and traces of
 * (T + lambda I)^-1, by solves (O(m) each, band O(m kd)) and the eigenvalues of T.
 * GLS offset: s has F projected out (s->p = q): with Q2 an orthonormal basis of the
 * complement of F, V^-1 (I - F P) = Q2 (Q2' V Q2)^-1 Q2', so
 *   (I - S) y = lambda Q2 (T + lambda)^-1 Q2'y,  tr(I - S) = lambda sum_j 1 / (d_j + lambda)
 * with d the eigenvalues of the projected kernel: value = n ||x||^2 / (sum_j w_j)^2,
 * x = (T + lambda)^-1 ty.  OLS offset: s unprojected (s->p = 0), resp = yc the OLS residual,
 * ty = B'yc, Y0 = B'F L^-T (F'F = L L'): num = ||x||^2, den = sum_j w_j - <Y0, (T +
 * lambda)^-1 Y0>.  Cost O(n^2 (q + 1)) rotations, then O(m (q + 1)) per lambda; polls
 * for an interrupt between lambdas. */
static int kare_gcv_solves(const ntk_spectral *s, const double *resp, int q, const double *F,
                           int gls, int nlam, const double *lam, double *value)
{
  const int n = s->n, m = s->m, nc = gls ? 1 : 1 + q;
  int st = NTK_OK;
  double *R = malloc((size_t) m * nc * sizeof(double));     /* [ty, Y0] rotated */
  double *x = malloc((size_t) m * nc * sizeof(double));
  double *Fr = gls ? NULL : malloc((size_t) n * q * sizeof(double));
  double *mm = gls ? NULL : malloc((size_t) n * sizeof(double));
  double *piv = malloc(ntk_spectral_factor_length(s) * sizeof(double));
  double *l = malloc((size_t) m * sizeof(double));
  if (!R || !x || !piv || !l || (!gls && (!Fr || !mm))) { st = NTK_ERR_ALLOC; goto done; }
  if ((st = ntk_spectral_rotate(s, 1, resp, NULL, R))) goto done;
  if (!gls) {   /* Y0 = Fr L^-T, next to ty */
    if ((st = ntk_spectral_rotate(s, q, F, NULL, Fr))) goto done;
    if ((st = ols_basis(n, q, Fr, R + m, mm))) goto done;
  }
  for (int k = 0; k < nlam; k++) {
    double lk = lam[k], den = 0.0, num = 0.0;
    if (!(lk > 0.0)) { st = NTK_ERR_ARG; goto done; }
    for (int j = 0; j < m; j++) {
      double dl = s->values[j] + lk;
      if (!(dl > 0.0)) { st = NTK_ERR_NOT_PD; goto done; }
      den += 1.0 / dl;
    }
    if ((st = ntk_spectral_factor(s, 1.0, lk, piv, l, NULL))) goto done;
    memcpy(x, R, (size_t) m * nc * sizeof(double));
    ntk_spectral_solve(s, piv, l, nc, x);
    for (int j = 0; j < m; j++) num += x[j] * x[j];
    if (!gls)
      for (size_t t = (size_t) m; t < (size_t) m * nc; t++) den -= R[t] * x[t];
    /* KARE and GCV: the same ratio (the factors lambda cancel, see the top) */
    value[k] = (double) n * num / (den * den);
    if (k + 1 < nlam && ntk_interrupt_pending()) { st = NTK_ERR_INTERRUPTED; goto done; }
  }
done:
  free(R); free(x); free(Fr); free(mm); free(piv); free(l);
  return st;
}

int ntk_krr_criterion(const ntk_spectral *s, const double *y, int q, const double *F,
                      int gls, int nlam, const double *lambda, int which, double *value,
                      int *info)
{
  *info = 0;
  int n = s->n;
  const int eig = s->mode == NTK_SPEC_EIGEN;
  if (n <= q || q < 1 || nlam < 1 ||
      (which != NTK_CRIT_KARE && which != NTK_CRIT_GCV && which != NTK_CRIT_LOO))
    return NTK_ERR_ARG;
  /* eigen mode: unprojected and complete; tridiagonal / band: KARE and GCV by solves,
   * projected on F for the GLS offset */
  if (eig ? (s->p != 0 || s->r != s->m) : (which == NTK_CRIT_LOO || s->p != (gls ? q : 0)))
    return NTK_ERR_ARG;
  double *resp = malloc((size_t) n * sizeof(double));
  double *beta = malloc((size_t) q * sizeof(double));
  double *lam = malloc((size_t) nlam * sizeof(double));
  int *ix = malloc((size_t) n * sizeof(int));
  double *ty = NULL, *Fr = NULL;
  int st = NTK_OK;
  if (!resp || !beta || !lam || !ix) { st = NTK_ERR_ALLOC; goto done; }
  if (gls) {
    memcpy(resp, y, (size_t) n * sizeof(double));
  } else {
    for (int i = 0; i < n; i++) ix[i] = i;
    st = ntk_ols_subset(n, n, ix, q, F, y, beta, resp, info);
    if (st != NTK_OK) goto done;
  }
  /* the criteria depend on (K, lambda) only through the smoother, the same for the
   * engine's scaled form (K / scale, lambda / scale) */
  for (int l = 0; l < nlam; l++) lam[l] = lambda[l] / s->scale;
  if (!eig) {
    st = kare_gcv_solves(s, resp, q, F, gls, nlam, lam, value);
    goto done;
  }
  ty = malloc((size_t) n * sizeof(double));
  Fr = malloc((size_t) n * q * sizeof(double));
  if (!ty || !Fr) { st = NTK_ERR_ALLOC; goto done; }
  if ((st = ntk_spectral_rotate(s, 1, resp, NULL, ty))) goto done;
  if ((st = ntk_spectral_rotate(s, q, F, NULL, Fr))) goto done;
  if (which == NTK_CRIT_LOO) st = ntk_loo_eigen(n, s->values, s->basis, ty, q, Fr, gls, nlam, lam, value);
  else st = ntk_kare_gcv_eigen(n, s->values, ty, q, Fr, gls, nlam, lam, which, value);
done:
  free(resp); free(beta); free(ty); free(Fr); free(ix); free(lam);
  return st;
}
