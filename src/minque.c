/* Linear mixed model y = X b + g_1 + ... + g_q + e, g_i ~ N(0, s2_i K_i), e ~ N(0, s2_e I):
 * variance components by MINQUE(0/1), iterated MINQUE and AI-REML, GLS fixed effects and
 * the BLUP weights alpha = V^-1 (y - X b).  Core: plain C + BLAS/LAPACK, no R headers.
 *
 * Everything happens in the space with the fixed effects projected out.  With the QR
 * factorisation X = Q1 R, Q = [Q1 Q2] (n x n orthogonal, Householder form), every kernel is
 * rotated once, Q' K Q = [K11 K12; K21 K22]; the REML quantities only involve the
 * m x m blocks K22 (m = n - p) and y2 = Q2' y, because P = Q2 (Q2' V Q2)^-1 Q2'.
 *   - one kernel (ntk_lmm_fit_spectral): K22 = G T G' once, the decomposition of the
 *     spectral engine (spectral.c; T tridiagonal, or diagonal with eigenvectors G); then
 *     S, q, the average information, the REML log-likelihood and the sandwich need the
 *     eigenvalues of T (sums, O(m)) and tridiagonal solves with w_g T + w_e I (O(m));
 *   - several kernels: one Cholesky V22 = U'U per evaluation and B_i = U^-T K_i U^-1, so
 *     that tr(P K_i P K_j) = sum(B_i * B_j) elementwise (no explicit inverse).
 * GLS: R b = y1 - V12 V22^-1 y2 and (X'V^-1 X)^-1 = R^-1 (V11 - V12 V22^-1 V21) R^-T; with
 * one kernel V12 V22^-1 = s2_g kt' (s2_g T + s2_e I)^-1 from the engine's kt = G' K12'. */
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include "ntk_lapack.h"
#include "ntkgen.h"

#define NEED_S  1
#define NEED_AI 2
#define LOG_2PI 1.837877066409345483560659472811

typedef struct {
  int k;              /* components incl. the residual (last) */
  int m;              /* dimension of the projected space */
  int nk;             /* kernels = k - 1 */
  const double *ck;   /* kernel scales c_i (k values, residual 1) */
  const double *y2;   /* Q2' y (m) */
  /* one kernel: the spectral object, y rotated into its basis, work vectors */
  const ntk_spectral *sp;
  const double *values, *eta;  /* eigenvalues of T; y rotated */
  double *piv, *lw, *wu, *wt, *ws, *wz;
  /* several kernels */
  double **K22;       /* nk blocks m x m */
  double *U;          /* m x m Cholesky factor */
  double **B;         /* k blocks m x m */
  double *z;          /* m */
  double **u;         /* k vectors m */
} lmm_engine;

static double *dalloc(size_t n) { return (double *) malloc((n ? n : 1) * sizeof(double)); }

/* ---- evaluation at the weights w: V = sum w_i K_i (K_k = I) ---------------------------
 * Returns 0 (ok), 1 (V not positive definite) or a negative status.  Always the REML
 * log-likelihood ll; with NEED_S: S_ij = tr(P K_i P K_j), q_i = y'P K_i P y; with NEED_AI:
 * AI_ij = y'P K_i P K_j P y. */
static double dot(int m, const double *a, const double *b)
{
  double s = 0;
  for (int j = 0; j < m; j++) s += a[j] * b[j];
  return s;
}

/* One kernel: traces and the log-determinant are sums over the eigenvalues of T; the
 * quadratic forms need the solves u = V^-1 eta, V^-1 u and V^-1 T u with the tridiagonal
 * V = w_g T + w_e I (O(m) each). */
static int eval_spectral(lmm_engine *e, const double *w, int need, double *S, double *q,
                         double *AI, double *ll)
{
  int m = e->m, r = e->sp->r, ms = ntk_spectral_dim(e->sp);
  double wg = w[0], we = w[1];
  double sl = 0, s00 = 0, s01 = 0, s11 = 0;
  for (int j = 0; j < r; j++) {
    double l = e->values[j], d = wg * l + we;
    if (!(d > 0)) return 1;
    double inv2 = 1.0 / (d * d);
    sl += log(d);
    s00 += l * l * inv2; s01 += l * inv2; s11 += inv2;
  }
  if (r < m) {             /* thin basis: m - r eigenvalues 0 */
    if (!(we > 0)) return 1;
    sl += (m - r) * log(we);
    s11 += (m - r) / (we * we);
  }
  if (ntk_spectral_factor(e->sp, wg, we, e->piv, e->lw, NULL) != NTK_OK) return 1;
  double *u = e->wu, *t = e->wt, *sv = e->ws, *z = e->wz;
  memcpy(u, e->eta, (size_t) ms * sizeof(double));
  ntk_spectral_solve(e->sp, e->piv, e->lw, 1, u);
  double quad = dot(ms, e->eta, u);
  *ll = -0.5 * (m * LOG_2PI + sl + quad);
  if (need & (NEED_S | NEED_AI)) ntk_spectral_tmul(e->sp, u, t);
  if (need & NEED_S) {
    S[0] = s00; S[1] = s01; S[2] = s01; S[3] = s11;
    q[0] = dot(ms, u, t); q[1] = dot(ms, u, u);
  }
  if (need & NEED_AI) {
    memcpy(sv, u, (size_t) ms * sizeof(double));
    ntk_spectral_solve(e->sp, e->piv, e->lw, 1, sv);
    memcpy(z, t, (size_t) ms * sizeof(double));
    ntk_spectral_solve(e->sp, e->piv, e->lw, 1, z);
    double a00 = dot(ms, t, z), a01 = dot(ms, t, sv), a11 = dot(ms, u, sv);
    AI[0] = a00; AI[1] = a01; AI[2] = a01; AI[3] = a11;
  }
  return 0;
}

static int eval_dense(lmm_engine *e, const double *w, int need, double *S, double *q,
                      double *AI, double *ll)
{
  int m = e->m, k = e->k, nk = e->nk, info = 0, one = 1;
  size_t mm = (size_t) m * m;
  double *U = e->U, done = 1.0;
  memset(U, 0, mm * sizeof(double));
  for (int i = 0; i < nk; i++) {
    const double *Ki = e->K22[i];
    double wi = w[i];
    if (wi == 0.0) continue;
    for (size_t t = 0; t < mm; t++) U[t] += wi * Ki[t];
  }
  for (int j = 0; j < m; j++) U[j + (size_t) j * m] += w[k - 1];
  char up = 'U', lo = 'L', tr = 'T', nt = 'N', nu = 'N', rt = 'R';
  F77_CALL(dpotrf)(&up, &m, U, &m, &info FCONE);
  if (info > 0) return 1;
  if (info < 0) return NTK_ERR_LAPACK;
  double *z = e->z, ldet = 0, zz = 0;
  memcpy(z, e->y2, (size_t) m * sizeof(double));
  F77_CALL(dtrsv)(&up, &tr, &nu, &m, U, &m, z, &one FCONE FCONE FCONE);
  for (int j = 0; j < m; j++) { ldet += 2.0 * log(U[j + (size_t) j * m]); zz += z[j] * z[j]; }
  *ll = -0.5 * (m * LOG_2PI + ldet + zz);
  if (!(need & NEED_S)) return 0;
  int diag = 1;   /* V = w_e I (MINQUE0): B_i = K_i / w_e without triangular solves */
  for (int i = 0; i < nk; i++) if (w[i] != 0.0) diag = 0;
  for (int i = 0; i < k; i++) {
    double *Bi = e->B[i];
    if (i < nk) memcpy(Bi, e->K22[i], mm * sizeof(double));
    else {
      memset(Bi, 0, mm * sizeof(double));
      for (int j = 0; j < m; j++) Bi[j + (size_t) j * m] = 1.0;
    }
    if (diag) {
      double sc = 1.0 / w[k - 1];
      for (size_t t = 0; t < mm; t++) Bi[t] *= sc;
    } else {
      /* B_i = U^-T K_i U^-1 */
      F77_CALL(dtrsm)(&lo, &up, &tr, &nu, &m, &m, &done, U, &m, Bi, &m
                      FCONE FCONE FCONE FCONE);
      F77_CALL(dtrsm)(&rt, &up, &nt, &nu, &m, &m, &done, U, &m, Bi, &m
                      FCONE FCONE FCONE FCONE);
    }
    double zero = 0.0;
    F77_CALL(dgemv)(&nt, &m, &m, &done, Bi, &m, z, &one, &zero, e->u[i], &one FCONE);
    if (ntk_interrupt_pending()) return NTK_ERR_INTERRUPTED;
  }
  for (int i = 0; i < k; i++) {
    q[i] = F77_CALL(ddot)(&m, z, &one, e->u[i], &one);
    for (int l = 0; l <= i; l++) {
      const double *a = e->B[i], *b = e->B[l];
      double s = 0;
      for (size_t t = 0; t < mm; t++) s += a[t] * b[t];
      S[i + l * k] = S[l + i * k] = s;
      if (need & NEED_AI) {
        double ai = F77_CALL(ddot)(&m, e->u[i], &one, e->u[l], &one);
        AI[i + l * k] = AI[l + i * k] = ai;
      }
    }
  }
  return 0;
}

static int engine_eval(lmm_engine *e, const double *w, int need, double *S, double *q,
                       double *AI, double *ll)
{
  return e->sp ? eval_spectral(e, w, need, S, q, AI, ll)
                   : eval_dense(e, w, need, S, q, AI, ll);
}

/* Sandwich middle C_ij = 2 tr(P K_i P V P K_j P V), P at the weights w0, V at theta.
 * Must follow engine_eval(w0, NEED_S).  Cost O(m) (one kernel) or 2 k m^3 (k components). */
static int engine_sandwich(lmm_engine *e, const double *w0, const double *theta, double *C)
{
  int k = e->k, m = e->m;
  if (e->sp) {
    double c00 = 0, c01 = 0, c11 = 0;
    if (e->sp->r < m) {   /* thin basis: m - r eigenvalues 0 */
      double r0 = theta[1] / (w0[1] * w0[1]);
      c11 = (m - e->sp->r) * r0 * r0;
    }
    for (int j = 0; j < e->sp->r; j++) {
      double l = e->values[j], d0 = w0[0] * l + w0[1], v = theta[0] * l + theta[1];
      double r = v / (d0 * d0);
      r = r * r;
      c00 += l * l * r; c01 += l * r; c11 += r;
    }
    C[0] = 2 * c00; C[1] = C[2] = 2 * c01; C[3] = 2 * c11;
    return NTK_OK;
  }
  /* the caller has just evaluated at w0 with NEED_S: e->B holds the B_i at w0 */
  (void) w0;
  size_t mm = (size_t) m * m;
  double *N = dalloc(mm), **G = calloc((size_t) k, sizeof(double *));
  if (!N || !G) { free(N); free(G); return NTK_ERR_ALLOC; }
  int ok = 1;
  for (int i = 0; i < k; i++) if (!(G[i] = dalloc(mm))) ok = 0;
  if (!ok) {
    for (int i = 0; i < k; i++) free(G[i]);
    free(G); free(N);
    return NTK_ERR_ALLOC;
  }
  /* N = U^-T V U^-1 = sum theta_l B_l; G_i = B_i N; C_ij = 2 tr(G_i G_j) */
  memset(N, 0, mm * sizeof(double));
  for (int l = 0; l < k; l++)
    for (size_t t = 0; t < mm; t++) N[t] += theta[l] * e->B[l][t];
  char nt = 'N';
  double one = 1.0, zero = 0.0;
  for (int i = 0; i < k; i++)
    F77_CALL(dgemm)(&nt, &nt, &m, &m, &m, &one, e->B[i], &m, N, &m, &zero, G[i], &m
                    FCONE FCONE);
  for (int i = 0; i < k; i++)
    for (int l = 0; l <= i; l++) {
      double s = 0;
      const double *a = G[i], *b = G[l];
      for (int c = 0; c < m; c++)
        for (int r = 0; r < m; r++) s += a[r + (size_t) c * m] * b[c + (size_t) r * m];
      C[i + l * k] = C[l + i * k] = 2 * s;
    }
  for (int i = 0; i < k; i++) free(G[i]);
  free(G); free(N);
  return NTK_OK;
}

/* ---- small dense systems on the free components -------------------------------------- */

/* x_F = A_FF^-1 r_F (A symmetric positive definite on F), x_fixed = 0.  With inv != NULL
 * also inv = A_FF^-1 scattered into k x k (zeros elsewhere). */
static int solve_free(int k, const double *A, const double *r, const int *fixed, double *x,
                      double *inv)
{
  int idx[64], nf = 0, info = 0, one = 1;
  if (k > 64) return NTK_ERR_ARG;
  for (int i = 0; i < k; i++) { x[i] = 0; if (!fixed[i]) idx[nf++] = i; }
  if (inv) for (int t = 0; t < k * k; t++) inv[t] = 0;
  if (nf == 0) return NTK_OK;
  double a[64 * 64], b[64];
  for (int i = 0; i < nf; i++) {
    b[i] = r[idx[i]];
    for (int j = 0; j < nf; j++) a[i + j * nf] = A[idx[i] + idx[j] * k];
  }
  char lo = 'L';
  F77_CALL(dpotrf)(&lo, &nf, a, &nf, &info FCONE);
  if (info != 0) return NTK_ERR_SINGULAR;
  F77_CALL(dpotrs)(&lo, &nf, &one, a, &nf, b, &nf, &info FCONE);
  if (info != 0) return NTK_ERR_LAPACK;
  for (int i = 0; i < nf; i++) x[idx[i]] = b[i];
  if (inv) {
    F77_CALL(dpotri)(&lo, &nf, a, &nf, &info FCONE);
    if (info != 0) return NTK_ERR_SINGULAR;
    for (int i = 0; i < nf; i++)
      for (int j = 0; j <= i; j++)
        inv[idx[i] + idx[j] * k] = inv[idx[j] + idx[i] * k] = a[i + j * nf];
  }
  return NTK_OK;
}

/* S theta = q; with constrain, the most negative component (on the kernel's variance
 * scale) is set to zero and the others re-estimated, until none is negative. */
static int solve_constrained(int k, const double *ck, const double *S, const double *q,
                             int constrain, int *fixed, double *theta)
{
  for (int i = 0; i < k; i++) fixed[i] = 0;
  for (;;) {
    int st = solve_free(k, S, q, fixed, theta, NULL);
    if (st != NTK_OK) return st;
    if (!constrain) return NTK_OK;
    int worst = -1;
    double wv = 0;
    for (int i = 0; i < k - 1; i++)
      if (!fixed[i] && theta[i] * ck[i] < wv) { wv = theta[i] * ck[i]; worst = i; }
    if (worst < 0 && !fixed[k - 1] && theta[k - 1] < 0) worst = k - 1;
    if (worst < 0) return NTK_OK;
    fixed[worst] = 1;
  }
}

static double pheno_scale(int k, const double *ck, const double *theta)
{
  double s = 0;
  for (int i = 0; i < k; i++) s += fabs(theta[i]) * ck[i];
  return s > 0 ? s : 1.0;
}

/* weights for the next evaluation: the estimates, with the residual kept above
 * 1e-6 times the phenotypic scale so that V stays positive definite */
static void next_weights(int k, const double *ck, const double *theta, double *w)
{
  double fl = 1e-6 * pheno_scale(k, ck, theta);
  for (int i = 0; i < k; i++) w[i] = theta[i];
  if (w[k - 1] < fl) w[k - 1] = fl;
}

static double rel_change(int k, const double *ck, const double *a, const double *b)
{
  double mx = 0;
  for (int i = 0; i < k; i++) {
    double d = fabs(a[i] - b[i]) * ck[i];
    if (d > mx) mx = d;
  }
  return mx / pheno_scale(k, ck, b);
}

/* ---- the estimation driver ------------------------------------------------------------ */
typedef struct {
  double *theta, *vcov, *S, *ws;
  int *fixed;
  int iter, converged;
} lmm_est;

/* Cost: one-step 1 evaluation (+ sandwich); iterated / REML one evaluation per iteration. */
static int lmm_estimate(lmm_engine *e, const ntk_lmm_control *ctl, const double *w0,
                        lmm_est *out)
{
  int k = e->k, st = NTK_OK, kk = k * k;
  double *S = dalloc(kk), *q = dalloc(k), *AI = dalloc(kk), *w = dalloc(k),
         *prev = dalloc(k), *Sinv = dalloc(kk), *C = dalloc(kk), *H = dalloc(kk),
         *score = dalloc(k), *delta = dalloc(k), *cand = dalloc(k), ll = 0, llc = 0;
  double *theta = out->theta;
  int *fixed = out->fixed;
  if (!S || !q || !AI || !w || !prev || !Sinv || !C || !H || !score || !delta || !cand) {
    st = NTK_ERR_ALLOC; goto done;
  }
  out->iter = 0; out->converged = 0;
  for (int i = 0; i < k; i++) out->ws[i] = w0[i];

  if (ctl->method == NTK_LMM_MINQUE0 || ctl->method == NTK_LMM_MINQUE1) {
    st = engine_eval(e, w0, NEED_S, S, q, NULL, &ll);
    if (st == 1) { st = NTK_ERR_NOT_PD; goto done; }
    if (st != 0) goto done;
    if ((st = solve_constrained(k, e->ck, S, q, ctl->constrain, fixed, theta))) goto done;
    if ((st = solve_free(k, S, q, fixed, delta, Sinv))) goto done;
    if ((st = engine_sandwich(e, w0, theta, C))) goto done;
    /* vcov = S^-1 C S^-1 on the free components */
    for (int i = 0; i < k; i++)
      for (int j = 0; j < k; j++) {
        double s = 0;
        for (int a = 0; a < k; a++)
          for (int b = 0; b < k; b++) s += Sinv[i + a * k] * C[a + b * k] * Sinv[b + j * k];
        out->vcov[i + j * k] = s;
      }
    memcpy(out->S, S, kk * sizeof(double));
    out->iter = 1; out->converged = 1;
    goto done;
  }

  if (ctl->method == NTK_LMM_IMINQUE) {
    memcpy(w, w0, k * sizeof(double));
    for (int it = 1; it <= ctl->maxit; it++) {
      st = engine_eval(e, w, NEED_S, S, q, NULL, &ll);
      if (st == 1) { st = NTK_ERR_NOT_PD; goto done; }
      if (st != 0) goto done;
      if ((st = solve_constrained(k, e->ck, S, q, ctl->constrain, fixed, theta))) goto done;
      out->iter = it;
      if (it > 1 && rel_change(k, e->ck, theta, prev) < ctl->tol) { out->converged = 1; break; }
      memcpy(prev, theta, k * sizeof(double));
      next_weights(k, e->ck, theta, w);
      if (ntk_interrupt_pending()) { st = NTK_ERR_INTERRUPTED; goto done; }
    }
  } else if (ctl->method == NTK_LMM_REML) {
    /* start: constrained MINQUE at the a-priori weights */
    st = engine_eval(e, w0, NEED_S, S, q, NULL, &ll);
    if (st == 1) { st = NTK_ERR_NOT_PD; goto done; }
    if (st != 0) goto done;
    if ((st = solve_constrained(k, e->ck, S, q, 1, fixed, theta))) goto done;
    next_weights(k, e->ck, theta, w);
    memcpy(theta, w, k * sizeof(double));
    st = engine_eval(e, theta, NEED_S | NEED_AI, S, q, AI, &ll);
    if (st == 1) { st = NTK_ERR_NOT_PD; goto done; }
    if (st != 0) goto done;
    for (int it = 1; it <= ctl->maxit; it++) {
      out->iter = it;
      /* score_i = (q_i - tr(P K_i)) / 2 with tr(P K_i) = (S theta)_i since P V P = P */
      for (int i = 0; i < k; i++) {
        double s = 0;
        for (int j = 0; j < k; j++) s += S[i + j * k] * theta[j];
        score[i] = 0.5 * (q[i] - s);
        fixed[i] = ctl->constrain && theta[i] <= 0 && score[i] <= 0;
      }
      for (int t = 0; t < kk; t++) H[t] = 0.5 * AI[t];
      st = solve_free(k, H, score, fixed, delta, NULL);
      if (st == NTK_ERR_SINGULAR) {   /* fall back on Fisher scoring */
        for (int t = 0; t < kk; t++) H[t] = 0.5 * S[t];
        st = solve_free(k, H, score, fixed, delta, NULL);
      }
      if (st) goto done;
      double step = 1.0;
      int accepted = 0;
      for (int h = 0; h < 40; h++, step *= 0.5) {
        for (int i = 0; i < k; i++) {
          cand[i] = theta[i] + step * delta[i];
          if (ctl->constrain && cand[i] < 0) cand[i] = 0;
        }
        /* a residual of zero is a legitimate boundary when V = sum theta_i K_i stays
         * positive definite there: engine_eval() reports (s2 = 1) when it does not */
        int s2 = engine_eval(e, cand, 0, NULL, NULL, NULL, &llc);
        if (s2 < 0) { st = s2; goto done; }
        if (s2 == 0 && llc >= ll - 1e-10 * (1.0 + fabs(ll))) { accepted = 1; break; }
      }
      if (!accepted) break;
      double ch = rel_change(k, e->ck, cand, theta);
      memcpy(theta, cand, k * sizeof(double));
      st = engine_eval(e, theta, NEED_S | NEED_AI, S, q, AI, &ll);
      if (st == 1) { st = NTK_ERR_NOT_PD; goto done; }
      if (st != 0) goto done;
      if (ch < ctl->tol) { out->converged = 1; break; }
      if (ntk_interrupt_pending()) { st = NTK_ERR_INTERRUPTED; goto done; }
    }
    for (int i = 0; i < k; i++) fixed[i] = ctl->constrain && theta[i] <= 0;
  } else {
    st = NTK_ERR_ARG; goto done;
  }

  /* iterated / REML: inverse information 2 S^-1 at the estimates (REML: S is current) */
  next_weights(k, e->ck, theta, w);
  int current = ctl->method == NTK_LMM_REML;
  for (int i = 0; i < k; i++) {
    out->ws[i] = w[i];
    if (w[i] != theta[i]) current = 0;
  }
  if (!current) {
    st = engine_eval(e, w, NEED_S, S, q, NULL, &ll);
    if (st == 1) { st = NTK_ERR_NOT_PD; goto done; }
    if (st != 0) goto done;
  }
  if ((st = solve_free(k, S, q, fixed, delta, Sinv))) goto done;
  for (int t = 0; t < kk; t++) out->vcov[t] = 2.0 * Sinv[t];
  memcpy(out->S, S, kk * sizeof(double));

done:
  free(S); free(q); free(AI); free(w); free(prev); free(Sinv); free(C); free(H);
  free(score); free(delta); free(cand);
  return st;
}

/* b = R^-1 rb and vcov_b = R^-1 schur R^-T (symmetrised), R the p x p upper triangle of
 * the n x p QR.  rb and schur are overwritten. */
static void gls_finish(int n, int p, const double *QR, double *rb, double *schur, double *b,
                       double *vcov_b)
{
  if (p == 0) return;
  char up = 'U', nt = 'N', tr = 'T', nu = 'N', lf = 'L', rt = 'R';
  int one = 1;
  double d1 = 1.0;
  F77_CALL(dtrsv)(&up, &nt, &nu, &p, QR, &n, rb, &one FCONE FCONE FCONE);
  F77_CALL(dtrsm)(&lf, &up, &nt, &nu, &p, &p, &d1, QR, &n, schur, &p
                  FCONE FCONE FCONE FCONE);
  F77_CALL(dtrsm)(&rt, &up, &tr, &nu, &p, &p, &d1, QR, &n, schur, &p
                  FCONE FCONE FCONE FCONE);
  memcpy(b, rb, (size_t) p * sizeof(double));
  for (int r = 0; r < p; r++)
    for (int c = 0; c < p; c++)
      vcov_b[r + (size_t) c * p] = 0.5 * (schur[r + (size_t) c * p] + schur[c + (size_t) r * p]);
}

/* Several kernels: alpha = V^-1 (y - X b), b and vcov_b at theta from the Cholesky factor
 * U of V22 (the last evaluation), K11 / K12 of each rotated kernel and y_r = Q'y
 * (y1: p, y2: m).  O(m^2 p + m p^2). */
static int dense_gls(int n, int p, int nk, const double *th, const double *QR,
                     const double *tau, const double *const *K11, const double *const *K12,
                     const double *U, const double *y1, const double *y2, ntk_lmm_result *res)
{
  int m = n - p, k = nk + 1, one = 1, info = 0, st = NTK_OK;
  double *alpha = res->alpha, *rb = dalloc(p), *schur = dalloc((size_t) p * p),
         *W = dalloc((size_t) m * p), *V21 = dalloc((size_t) m * p);
  if (!rb || !schur || !W || !V21) { st = NTK_ERR_ALLOC; goto done; }
  for (int c = 0; c < p; c++)
    for (int r = 0; r < p; r++) {
      double s = r == c ? th[k - 1] : 0.0;
      for (int i = 0; i < nk; i++) s += th[i] * K11[i][r + (size_t) c * p];
      schur[r + (size_t) c * p] = s;
    }
  for (int j = 0; j < p; j++) { rb[j] = y1[j]; alpha[j] = 0.0; }
  char up = 'U', tr = 'T', nt = 'N';
  memcpy(alpha + p, y2, (size_t) m * sizeof(double));
  F77_CALL(dpotrs)(&up, &m, &one, U, &m, alpha + p, &m, &info FCONE);
  if (info != 0) { st = NTK_ERR_LAPACK; goto done; }
  if (p > 0) {
    /* W = V22^-1 V21, V21 = sum th_i K12_i'; schur -= V12 W; rb -= V12 alpha2 */
    for (int c = 0; c < p; c++)
      for (int r = 0; r < m; r++) {
        double s = 0;
        for (int i = 0; i < nk; i++) s += th[i] * K12[i][c + (size_t) r * p];
        W[r + (size_t) c * m] = V21[r + (size_t) c * m] = s;
      }
    F77_CALL(dpotrs)(&up, &m, &p, U, &m, W, &m, &info FCONE);
    if (info != 0) { st = NTK_ERR_LAPACK; goto done; }
    double d1 = 1.0, dm1 = -1.0;
    F77_CALL(dgemm)(&tr, &nt, &p, &p, &m, &dm1, V21, &m, W, &m, &d1, schur, &p FCONE FCONE);
    F77_CALL(dgemv)(&tr, &m, &p, &dm1, V21, &m, alpha + p, &one, &d1, rb, &one FCONE);
  }
  gls_finish(n, p, QR, rb, schur, res->b, res->vcov_b);
  st = ntk_qr_apply('L', 'N', n, p, QR, tau, alpha, n, 1);
done:
  free(rb); free(schur); free(W); free(V21);
  return st;
}

/* ---- the whole fit --------------------------------------------------------------------- */

/* Several kernels (one kernel: ntk_lmm_fit_spectral).  Cost: QR O(n p^2); rotation
 * O(n^2 p) per kernel; O((q+1) n^3) per iteration.  Memory: (q + 2) n^2 + n^2 per kernel. */
int ntk_lmm_fit(int n, int p, const double *y, const double *X, int nk,
                const double *const *K, const ntk_lmm_control *ctl, ntk_lmm_result *res)
{
  int k = nk + 1, m = n - p, st = NTK_OK, info = 0;
  res->bad_kernel = -1; res->bad_value = 0; res->v_pd = 0;
  res->iter = 0; res->converged = 0; res->loglik = -INFINITY;
  if (n < 2 || p < 0 || m < 1 || nk < 2 || k > 64) return NTK_ERR_ARG;
  size_t nn = (size_t) n * n, mm = (size_t) m * m;
  double *QR = dalloc((size_t) n * p), *tau = dalloc(p), *yr = dalloc(n), *ck = dalloc(k), *w0 = dalloc(k),
         *U = NULL, *z = NULL;
  double **KR = calloc((size_t) nk, sizeof(double *)), **K11 = calloc((size_t) nk,
         sizeof(double *)), **K12 = calloc((size_t) nk, sizeof(double *)),
         **B = calloc((size_t) k, sizeof(double *)), **u = calloc((size_t) k, sizeof(double *));
  lmm_engine eng;
  memset(&eng, 0, sizeof(eng));
  if (!QR || !tau || !yr || !ck || !w0 || !KR || !K11 || !K12 || !B || !u) {
    st = NTK_ERR_ALLOC; goto done;
  }

  /* QR of X and y_r = Q' y */
  if ((st = ntk_qr_full_rank(n, p, X, QR, tau, &info))) goto done;
  memcpy(yr, y, (size_t) n * sizeof(double));
  if ((st = ntk_qr_apply('L', 'T', n, p, QR, tau, yr, n, 1))) goto done;
  const double *y1 = yr, *y2 = yr + p;

  /* rotate every kernel: Q' K Q; keep K11 (p x p), K12 (p x m), K22 (m x m, compacted) */
  for (int i = 0; i < nk; i++) {
    if (!(KR[i] = dalloc(nn)) || !(K11[i] = dalloc((size_t) p * p)) ||
        !(K12[i] = dalloc((size_t) p * m))) { st = NTK_ERR_ALLOC; goto done; }
    memcpy(KR[i], K[i], nn * sizeof(double));
    if ((st = ntk_qr_apply('L', 'T', n, p, QR, tau, KR[i], n, n))) goto done;
    if ((st = ntk_qr_apply('R', 'N', n, p, QR, tau, KR[i], n, n))) goto done;
    double *A = KR[i];
    for (int c = 0; c < p; c++)
      for (int r = 0; r < p; r++) K11[i][r + (size_t) c * p] = A[r + (size_t) c * n];
    for (int c = 0; c < m; c++)
      for (int r = 0; r < p; r++) K12[i][r + (size_t) c * p] = A[r + (size_t) (p + c) * n];
    for (int c = 0; c < m; c++)   /* compact the K22 block; destinations never overtake */
      memmove(A + (size_t) c * m, A + (size_t) (p + c) * n + p, (size_t) m * sizeof(double));
    double tr = 0;
    for (int j = 0; j < m; j++) tr += A[j + (size_t) j * m];
    ck[i] = tr / m;
    if (!(ck[i] > 0)) { res->bad_kernel = i; res->bad_value = ck[i]; st = NTK_ERR_SINGULAR;
      goto done; }
    if (ntk_interrupt_pending()) { st = NTK_ERR_INTERRUPTED; goto done; }
  }
  ck[k - 1] = 1.0;
  for (int i = 0; i < k; i++) res->ck[i] = ck[i];

  eng.k = k; eng.m = m; eng.nk = nk; eng.ck = ck; eng.y2 = y2;
  {
    /* strongly non-PSD kernels: Cholesky of K22 + 1e-6 tr(K22) I must exist */
    if (!(U = dalloc(mm)) || !(z = dalloc(m))) { st = NTK_ERR_ALLOC; goto done; }
    for (int i = 0; i < nk; i++) {
      memcpy(U, KR[i], mm * sizeof(double));
      for (int j = 0; j < m; j++) U[j + (size_t) j * m] += 1e-6 * ck[i] * m;
      char up = 'U';
      F77_CALL(dpotrf)(&up, &m, U, &m, &info FCONE);
      if (info > 0) { res->bad_kernel = i; res->bad_value = NAN; st = NTK_ERR_NOT_PD;
        goto done; }
    }
    for (int i = 0; i < k; i++)
      if (!(B[i] = dalloc(mm)) || !(u[i] = dalloc(m))) { st = NTK_ERR_ALLOC; goto done; }
    eng.K22 = KR; eng.U = U; eng.B = B; eng.z = z; eng.u = u;
  }

  /* a-priori weights: MINQUE0 (0, ..., 0, 1); otherwise 1 on the c_K scale */
  for (int i = 0; i < nk; i++) w0[i] = ctl->method == NTK_LMM_MINQUE0 ? 0.0 : 1.0 / ck[i];
  w0[k - 1] = 1.0;

  lmm_est est = { res->theta, res->vcov, res->S, res->weights, res->fixed, 0, 0 };
  if ((st = lmm_estimate(&eng, ctl, w0, &est))) goto done;
  res->iter = est.iter; res->converged = est.converged;
  const double *th = res->theta;

  /* log-likelihood, alpha and GLS at the estimates */
  double ll = 0;
  int s2 = engine_eval(&eng, th, 0, NULL, NULL, NULL, &ll);
  if (s2 < 0) { st = s2; goto done; }
  res->v_pd = (s2 == 0);
  res->loglik = s2 == 0 ? ll : -INFINITY;
  for (int j = 0; j < n; j++) res->alpha[j] = NAN;
  for (int j = 0; j < p; j++) res->b[j] = NAN;
  for (size_t j = 0; j < (size_t) p * p; j++) res->vcov_b[j] = NAN;
  if (!res->v_pd) goto done;

  st = dense_gls(n, p, nk, th, QR, tau, (const double *const *) K11,
                 (const double *const *) K12, U, y1, y2, res);

done:
  if (KR) for (int i = 0; i < nk; i++) free(KR[i]);
  if (K11) for (int i = 0; i < nk; i++) free(K11[i]);
  if (K12) for (int i = 0; i < nk; i++) free(K12[i]);
  if (B) for (int i = 0; i < k; i++) free(B[i]);
  if (u) for (int i = 0; i < k; i++) free(u[i]);
  free(KR); free(K11); free(K12); free(B); free(u);
  free(QR); free(tau); free(yr);
  free(ck); free(w0); free(U); free(z);
  return st;
}

/* See ntkgen.h.  Per trait: O(m) per evaluation / iteration; for all traits together one
 * rotation of Y (O(n m t)) and one back-rotation of the alphas. */
int ntk_lmm_fit_spectral(const ntk_spectral *sp, int nt, const double *Y,
                         const ntk_lmm_control *ctl, ntk_lmm_result *res, int *status)
{
  int n = sp->n, p = sp->p, m = sp->m, ms = ntk_spectral_dim(sp), k = 2, st = NTK_OK;
  if (nt < 1 || m < 1) return NTK_ERR_ARG;
  double ck[2] = { sp->trace / m, 1.0 }, w0[2];
  double *eta = dalloc((size_t) ms * nt), *head = dalloc((size_t) (p > 0 ? p : 1) * nt),
         *U = dalloc((size_t) ms * nt), *piv = dalloc(ntk_spectral_factor_length(sp)), *lw = dalloc(ms), *wu = dalloc(ms),
         *wt = dalloc(ms), *ws = dalloc(ms), *wz = dalloc(ms),
         *W = dalloc((size_t) ms * (p > 0 ? p : 1)), *rb = dalloc(p > 0 ? p : 1),
         *schur = dalloc((size_t) (p > 0 ? p * p : 1)), *A = dalloc((size_t) n * nt);
  if (!eta || !head || !U || !piv || !lw || !wu || !wt || !ws || !wz || !W || !rb || !schur ||
      !A) { st = NTK_ERR_ALLOC; goto done; }
  if ((st = ntk_spectral_rotate(sp, nt, Y, p > 0 ? head : NULL, eta))) goto done;
  lmm_engine eng;
  memset(&eng, 0, sizeof(eng));
  eng.k = k; eng.m = m; eng.nk = 1; eng.ck = ck; eng.sp = sp; eng.values = sp->values;
  eng.piv = piv; eng.lw = lw; eng.wu = wu; eng.wt = wt; eng.ws = ws; eng.wz = wz;
  w0[0] = ctl->method == NTK_LMM_MINQUE0 ? 0.0 : 1.0 / ck[0];
  w0[1] = 1.0;
  for (int t = 0; t < nt; t++) {
    ntk_lmm_result *r = res + t;
    double *ut = U + (size_t) t * ms;
    r->bad_kernel = -1; r->bad_value = 0; r->v_pd = 0;
    r->iter = 0; r->converged = 0; r->loglik = -INFINITY;
    r->ck[0] = ck[0]; r->ck[1] = 1.0;
    for (int j = 0; j < ms; j++) ut[j] = 0.0;
    for (int j = 0; j < p; j++) r->b[j] = NAN;
    for (size_t j = 0; j < (size_t) p * p; j++) r->vcov_b[j] = NAN;
    eng.y2 = eng.eta = eta + (size_t) t * ms;
    lmm_est est = { r->theta, r->vcov, r->S, r->weights, r->fixed, 0, 0 };
    status[t] = lmm_estimate(&eng, ctl, w0, &est);
    r->iter = est.iter; r->converged = est.converged;
    if (status[t] == NTK_ERR_INTERRUPTED) { st = NTK_ERR_INTERRUPTED; goto done; }
    if (status[t] == NTK_ERR_ALLOC) { st = NTK_ERR_ALLOC; goto done; }
    if (status[t] != NTK_OK) continue;
    const double *th = r->theta;
    double ll = 0;
    int s2 = engine_eval(&eng, th, 0, NULL, NULL, NULL, &ll);
    if (s2 < 0) { status[t] = s2; continue; }
    r->v_pd = (s2 == 0);
    r->loglik = s2 == 0 ? ll : -INFINITY;
    if (!r->v_pd) continue;
    /* u = V^-1 eta (factor at theta from engine_eval); alpha = B u (below, all traits) */
    memcpy(ut, wu, (size_t) ms * sizeof(double));
    if (p > 0) {
      /* R b = Q1'y - g kt' u;  schur = g K11 + s2e I - g^2 kt' V^-1 kt */
      double g = th[0];
      const double *yh = head + (size_t) t * p;
      memcpy(W, sp->kt, (size_t) ms * p * sizeof(double));
      ntk_spectral_solve(sp, piv, lw, p, W);
      for (int a = 0; a < p; a++) {
        const double *ka = sp->kt + (size_t) a * ms;
        rb[a] = yh[a] - g * dot(ms, ka, ut);
        for (int c = 0; c <= a; c++) {
          double v = g * sp->k11[a + (size_t) c * p] + (a == c ? th[1] : 0.0) -
                     g * g * dot(ms, ka, W + (size_t) c * ms);
          schur[a + (size_t) c * p] = schur[c + (size_t) a * p] = v;
        }
      }
      gls_finish(n, p, sp->qr, rb, schur, r->b, r->vcov_b);
    }
    if (ntk_interrupt_pending()) { st = NTK_ERR_INTERRUPTED; goto done; }
  }
  /* back from the engine's scaled kernel K / c to K (c = sp->scale): the genetic
   * component, its (co)variances, S and the weights carry the kernel's scale; V, alpha,
   * b and the likelihood do not */
  for (int t = 0; t < nt; t++) {
    ntk_lmm_result *r = res + t;
    double c = sp->scale;
    r->theta[0] /= c;
    r->weights[0] /= c;
    r->vcov[0] /= c * c; r->vcov[1] /= c; r->vcov[2] /= c;
    r->S[0] *= c * c; r->S[1] *= c; r->S[2] *= c;
    r->ck[0] *= c;
  }
  /* alpha = B u for every trait at once (NaN columns stay NaN) */
  if ((st = ntk_spectral_unrotate(sp, nt, U, Y, A))) goto done;
  for (int t = 0; t < nt; t++) {
    int ok = res[t].v_pd && status[t] == NTK_OK;
    for (int j = 0; j < n; j++) res[t].alpha[j] = ok ? A[j + (size_t) t * n] : NAN;
  }
done:
  free(eta); free(head); free(U); free(piv); free(lw); free(wu); free(wt); free(ws); free(wz);
  free(W); free(rb); free(schur); free(A);
  return st;
}
