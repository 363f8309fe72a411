/* Kernels trained by minimising KARE (Jacot et al. 2020): the criterion of a kernel and
 * its gradient with respect to the kernel, and the analytic NTK of a learnt input map
 * with the exact gradient of KARE through the ReLU recursion.  Core: plain C on plain
 * pointers + BLAS/LAPACK, no R headers otherwise.
 *
 * ---- KARE with the offset counted (ntk_kare_objective) ------------------------------
 * Z (n x q) is the offset design (column of ones, plus covariates).  The spectral engine
 * projects it out: with the QR Z = [Q1 Q2] [R; 0], K_P = Q2' K Q2 = E diag(d) E' (m x m,
 * m = n - q) and B = Q2 E (n x m, the stored basis), yt = B' y.  With
 *   a_j = 1 / (d_j / n + z),   A_P = (K_P / n + z I)^-1 = E diag(a) E',
 *   N = yt' diag(a^2) yt = |A_P Q2' y|^2,   T = tr A_P = sum_j a_j,
 *   KARE(z) = n N / T^2.
 * This is KARE of the kernel ridge regression whose intercept / covariates are fitted
 * jointly with the kernel part (the GLS offset): by the REML identity
 * V^-1 - V^-1 Z (Z'V^-1 Z)^-1 Z'V^-1 = Q2 (Q2'V Q2)^-1 Q2' (V = K + lambda I), the smoother
 * S has I - S = lambda Q2 (K_P + lambda I)^-1 Q2', so the value equals
 * ntk_krr(y, K, X, criterion = "kare", offset = "gls") at lambda = n z (the KRR scale).
 * For a mean-only offset it is KARE of the centred y on the kernel projected by the
 * intercept, (I - 11'/n) K (I - 11'/n).
 * Gradient (dK_P = Q2' dK Q2, dA_P = -(1/n) A_P dK_P A_P):
 *   dN/dK = -(1/n) (u v' + v u'),  u = B (a * yt) = Q2 A_P yt,  v = B (a^2 * yt)
 *   dT/dK = -(1/n) B diag(a^2) B'
 *   G = dKARE/dK = (2 N / T^3) B diag(a^2) B' - (u v' + v u') / T^2   (symmetric)
 * Cost: the decomposition O(m^3) (dsyevd) + O(n^2 q), then O(n m) for KARE and one
 * n x m x n product (dsyrk) for G; memory: the basis n m plus G n^2.
 *
 * ---- analytic mode (ntk_kare_analytic) ----------------------------------------------
 * Input map of the standardised genotypes X (n x p): Xm = X diag(s) (map "scale",
 * divisor pd = p) or Xm = X P (map "projection", P p x r, divisor pd = r).  Then
 * Sigma_0 = sw^2 Xm Xm' / pd + sb^2, Theta_0 = Sigma_0 and L layer steps, for i != j
 * (q = Sigma_l, s = sqrt(q_ii q_jj), c = q_ij / s snapped to +-1 within 8 ulp as in
 * ntk_analytic.c, t = acos c, sn = sin t, k1 = sw^2 / (2 pi)):
 *   Sigma' = k1 s (sn + (pi - t) c) + sb^2,   Sdot = k1 (pi - t),
 *   Theta' = Theta Sdot + Sigma'
 * and on the diagonal q' = sw^2 q / 2 + sb^2, Sdot = sw^2 / 2.  K = Theta_L (equal to
 * ntk_analytic() on Xm with p = pd, up to rounding: libm acos here).
 * Reverse mode (derivations.md section 3), adjoints kept as full symmetric n x n
 * matrices (dKARE = sum_ij Gbar_ij dM_ij), one column per thread:
 *   dSigma'/dq_ij = Sdot,  dSigma'/dq_ii = k1 s sn / (2 q_ii),
 *   dSdot/dq_ij = k1 / (s sn),  dSdot/dq_ii = -k1 c / (2 q_ii sn),
 *   Theta_bar <- Theta'_bar Sdot,  Sigma'_bar_total = Sigma'_bar + Theta'_bar,
 *   Sdot_bar = Theta'_bar Theta,
 * the q_ii adjoint of column j collecting 2 x the q_jj terms of its column (the row's
 * q_ii terms are equal by symmetry).  Near-duplicates (c -> +-1): the 1/sn factors are
 * capped at 1 / NTK_KARE_SN_MIN (the kernel is not differentiable at c = +-1, as a
 * Laplace kernel is not); exact duplicates (c snapped to +-1) keep c = +-1 under every
 * change of parameters, so their 1/sn terms are 0 (the exact directional derivative).
 * Zero-norm points (possible only with sb = 0) get no gradient through q_ii.
 * Then Gt = Sigma_0 bar + Theta_0 bar, H = Gt Xm (dsymm), and
 *   dKARE/dsw^2 += <Gt, Xm Xm'> / pd,  dKARE/dsb^2 += sum(Gt),
 *   dKARE/dXm = 2 sw^2 / pd H, so dKARE/ds_j = sum_i X_ij (dKARE/dXm)_ij and
 *   dKARE/dP = X' dKARE/dXm = 2 sw^2 / r X' Gt X P.
 * Cost per evaluation: Sigma_0 O(n^2 pd) (dsyrk) + map O(n p pd); forward and backward
 * O(n^2 L) (one acos per entry and layer each way); KARE and G as above (O(n^3), the
 * decomposition dominating); the map gradient O(n^2 pd + n p pd).  Memory: 2 L + 3
 * matrices n x n (the layers' Sigma and Theta kept for the backward pass).
 */
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include "ntk_lapack.h"
#include "ntkgen.h"
#include "ntk_omp.h"

#include "ntk_layer.h"   /* the layer step shared with ntk_analytic.c and ntk_cuda.cu */
/* Below this many individuals (mini-batches) the O(n^2) layer loops run on one thread:
 * a parallel region costs more than it saves there, and much more on a loaded machine. */
#define NTK_KARE_OMP_MIN 512

static double *dalloc(size_t n) { return (double *) malloc((n ? n : 1) * sizeof(double)); }

/* See ntkgen.h and the top of this file. */
int ntk_kare_objective(int n, const double *K, const double *y, int q, const double *Z,
                       double z, double *kare, double *G, int *info)
{
  *info = 0;
  if (n < 2 || q < 0 || n - q < 1 || !(z > 0) || !K || !y || (q > 0 && !Z))
    return NTK_ERR_ARG;
  for (size_t k = 0, nn = (size_t) n * n; k < nn; k++)
    if (!isfinite(K[k])) return NTK_ERR_NONFINITE;
  ntk_spectral s;
  int st = ntk_spectral_alloc(n, q, NTK_SPEC_EIGEN, &s);
  if (st) return st;
  int m = n - q;
  double *yt = dalloc((size_t) m), *a = dalloc((size_t) m), *W = NULL, *u = NULL, *v = NULL;
  if (!yt || !a) { st = NTK_ERR_ALLOC; goto done; }
  st = ntk_spectral_build(n, K, n, NULL, q, Z, NTK_SPEC_EIGEN, &s, info);
  if (st) goto done;
  if ((st = ntk_spectral_rotate(&s, 1, y, NULL, yt))) goto done;
  double N = 0, T = 0;
  for (int j = 0; j < m; j++) {
    double dz = s.values[j] * s.scale / n + z;   /* the engine stores K / scale */
    if (!(dz > 0)) { st = NTK_ERR_NOT_PD; goto done; }
    a[j] = 1.0 / dz;
    N += a[j] * a[j] * yt[j] * yt[j];
    T += a[j];
  }
  *kare = (double) n * N / (T * T);
  if (!isfinite(*kare)) { st = NTK_ERR_NONFINITE; goto done; }
  if (G) {
    W = dalloc((size_t) n * m); u = dalloc((size_t) n); v = dalloc((size_t) n);
    double *c = dalloc((size_t) 2 * m);
    if (!W || !u || !v || !c) { free(c); st = NTK_ERR_ALLOC; goto done; }
    for (int j = 0; j < m; j++) {
      double aj = a[j];
      double *wj = W + (size_t) j * n;
      const double *bj = s.basis + (size_t) j * n;
      for (int i = 0; i < n; i++) wj[i] = bj[i] * aj;
      c[j] = aj * yt[j];
      c[m + j] = aj * aj * yt[j];
    }
    char nt = 'N', lo = 'L';
    int one = 1;
    double d0 = 0.0, d1 = 1.0, g1 = 2.0 * N / (T * T * T), g2 = -1.0 / (T * T);
    F77_CALL(dgemv)(&nt, &n, &m, &d1, s.basis, &n, c, &one, &d0, u, &one FCONE);
    F77_CALL(dgemv)(&nt, &n, &m, &d1, s.basis, &n, c + m, &one, &d0, v, &one FCONE);
    free(c);
    /* G = g1 W W' + g2 (u v' + v u'), lower triangle, then mirrored */
    F77_CALL(dsyrk)(&lo, &nt, &n, &m, &g1, W, &n, &d0, G, &n FCONE FCONE);
    F77_CALL(dsyr2)(&lo, &n, &g2, u, &one, v, &one, G, &n FCONE);
    for (int j = 0; j < n; j++)
      for (int i = j + 1; i < n; i++) G[j + (size_t) i * n] = G[i + (size_t) j * n];
  }
done:
  ntk_spectral_free(&s);
  free(yt); free(a); free(W); free(u); free(v);
  return st;
}

/* One forward layer step on the full symmetric n x n matrices: (S, Th) -> (S1, Th1).
 * OpenMP over columns.  Cost O(n^2): one acos and one sqrt per entry. */
static void layer_forward(int n, const double *S, const double *Th, double *S1,
                          double *Th1, double sw2, double sb2, int nthreads)
{
  const double k1 = sw2 / (2.0 * NTK_PI);
#ifdef _OPENMP
#pragma omp parallel for num_threads(nthreads) schedule(static) if (n >= NTK_KARE_OMP_MIN)
#endif
  for (int j = 0; j < n; j++) {
    const double qj = S[j + (size_t) j * n];
    const double *sc = S + (size_t) j * n, *tc = Th + (size_t) j * n;
    double *s1 = S1 + (size_t) j * n, *t1 = Th1 + (size_t) j * n;
    for (int i = 0; i < n; i++) {
      if (i == j) {
        s1[i] = 0.5 * sw2 * qj + sb2;
        t1[i] = tc[i] * 0.5 * sw2 + s1[i];
        continue;
      }
      double qi = S[i + (size_t) i * n], sq = sqrt(qi * qj);
      double c = ntk_layer_cos(sq > 0 ? sc[i] / sq : 0.0);
      t1[i] = tc[i];
      ntk_layer_step(c, NTK_PI - acos(c), k1 * sq, k1, sb2, s1 + i, t1 + i);
    }
  }
}

/* One backward layer step: from the adjoints Sb1, Tb1 of the step's outputs (Sb1 may be
 * NULL: the output Sigma is unused) to those of its inputs, Sb, Tb (full symmetric);
 * acc_sw2, acc_sb2 (n): per-column partial sums of the adjoints of sw^2, sb^2 (summed
 * in order by the caller, so the result does not depend on the thread count).
 * Cost O(n^2). */
static void layer_backward(int n, const double *S, const double *Th, const double *Sb1,
                           const double *Tb1, double *Sb, double *Tb, double sw2,
                           double sb2, double *acc_sw2, double *acc_sb2, int nthreads)
{
  const double k1 = sw2 / (2.0 * NTK_PI);
  (void) sb2;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nthreads) schedule(static) if (n >= NTK_KARE_OMP_MIN)
#endif
  for (int j = 0; j < n; j++) {
    const double qj = S[j + (size_t) j * n];
    const double *sc = S + (size_t) j * n, *tc = Th + (size_t) j * n;
    const double *sb1 = Sb1 ? Sb1 + (size_t) j * n : NULL, *tb1 = Tb1 + (size_t) j * n;
    double *sb = Sb + (size_t) j * n, *tb = Tb + (size_t) j * n;
    double qbar = 0, aw = 0, ab = 0;
    for (int i = 0; i < n; i++) {
      double stot = (sb1 ? sb1[i] : 0.0) + tb1[i];
      ab += stot;
      if (i == j) {
        tb[i] = tb1[i] * 0.5 * sw2;
        aw += stot * 0.5 * qj + tb1[i] * 0.5 * tc[i];
        continue;
      }
      double qi = S[i + (size_t) i * n], sq = sqrt(qi * qj);
      double c = sq > 0 ? sc[i] / sq : 0.0;
      c = ntk_layer_cos(c);
      double pt = NTK_PI - acos(c), sn = sqrt((1.0 - c) * (1.0 + c));
      double sdbar = tb1[i] * tc[i];
      tb[i] = tb1[i] * k1 * pt;
      /* 1 / sn, capped for near-duplicates, 0 for exact (snapped) ones */
      double isn = sn > 0 ? 1.0 / (sn > NTK_KARE_SN_MIN ? sn : NTK_KARE_SN_MIN) : 0.0;
      double g = stot * k1 * pt;
      if (sq > 0) {
        g += sdbar * k1 * isn / sq;
        qbar += stot * k1 * sq * sn / (2.0 * qj) - sdbar * k1 * c * isn / (2.0 * qj);
      }
      sb[i] = g;
      aw += stot * sq * (sn + pt * c) / (2.0 * NTK_PI) + sdbar * pt / (2.0 * NTK_PI);
    }
    /* the diagonal: its own step plus 2 x the q_jj terms of the column */
    double stot = (sb1 ? sb1[j] : 0.0) + tb1[j];
    sb[j] = stot * 0.5 * sw2 + (qj > 0 ? 2.0 * qbar : 0.0);
    acc_sw2[j] += aw;
    acc_sb2[j] += ab;
  }
}

/* See ntkgen.h and the top of this file. */
int ntk_kare_analytic(const double *X, int n, int p, int map, int r, const double *M,
                      const ntk_arch *a, const double *y, int q, const double *Z,
                      double z, double *kare, double *grad_sw, double *grad_sb,
                      double *grad_map, double *K, int *info)
{
  *info = 0;
  if (!X || !M || !a || !y || n < 2 || p < 1 || a->depth < 1 || a->nthreads < 1 ||
      !(a->sw > 0) || !(a->sb >= 0) || !(z > 0) ||
      (map != NTK_KARE_MAP_SCALE && map != NTK_KARE_MAP_PROJECTION) ||
      (map == NTK_KARE_MAP_PROJECTION && r < 1))
    return NTK_ERR_ARG;
  const int L = a->depth, nthreads = ntk_threads(a->nthreads), grad = grad_sw != NULL;
  const int pd = map == NTK_KARE_MAP_SCALE ? p : r;
  const double sw2 = a->sw * a->sw, sb2 = a->sb * a->sb;
  const size_t nn = (size_t) n * n;
  int st = NTK_OK;
  double *Xm = dalloc((size_t) n * pd);
  double *mats = dalloc(nn * (size_t) (2 * L + 1));   /* Sigma_0..L-1, Theta_0..L-1, K */
  double *G = NULL, *Gs = NULL, *Gt = NULL, *acc = NULL, *H = NULL;
  if (!Xm || !mats) { st = NTK_ERR_ALLOC; goto done; }
  double *Sig = mats, *Th = mats + nn * L, *KL = mats + nn * 2 * L;
  char nt = 'N', tr = 'T', lo = 'L', left = 'L';
  double d0 = 0.0, d1 = 1.0;

  /* the map and Sigma_0 = sw^2 Xm Xm' / pd + sb^2 */
  if (map == NTK_KARE_MAP_SCALE) {
    for (int k = 0; k < p; k++) {
      double sk = M[k];
      const double *xk = X + (size_t) k * n;
      double *mk = Xm + (size_t) k * n;
      for (int i = 0; i < n; i++) mk[i] = xk[i] * sk;
    }
  } else {
    F77_CALL(dgemm)(&nt, &nt, &n, &r, &p, &d1, X, &n, M, &p, &d0, Xm, &n FCONE FCONE);
  }
  double alpha = sw2 / pd;
  F77_CALL(dsyrk)(&lo, &nt, &n, &pd, &alpha, Xm, &n, &d0, Sig, &n FCONE FCONE);
  for (int j = 0; j < n; j++)
    for (int i = j; i < n; i++) {
      double v = Sig[i + (size_t) j * n] + sb2;
      Sig[i + (size_t) j * n] = v;
      Sig[j + (size_t) i * n] = v;
    }
  memcpy(Th, Sig, nn * sizeof(double));
  for (int l = 0; l < L; l++) {
    double *S1 = l + 1 < L ? Sig + nn * (l + 1) : NULL;
    double *T1 = l + 1 < L ? Th + nn * (l + 1) : KL;
    double *Sdummy = S1;
    if (!Sdummy) {   /* the last step's Sigma is not needed: borrow the K slot's pair */
      if (!G && !(G = dalloc(nn))) { st = NTK_ERR_ALLOC; goto done; }
      Sdummy = G;
    }
    layer_forward(n, Sig + nn * l, Th + nn * l, Sdummy, T1, sw2, sb2, nthreads);
    if (ntk_interrupt_pending()) { st = NTK_ERR_INTERRUPTED; goto done; }
  }
  for (size_t k = 0; k < nn; k++)
    if (!isfinite(KL[k])) { st = NTK_ERR_NONFINITE; goto done; }
  if (K) memcpy(K, KL, nn * sizeof(double));
  if (!G && !(G = dalloc(nn))) { st = NTK_ERR_ALLOC; goto done; }
  st = ntk_kare_objective(n, KL, y, q, Z, z, kare, grad ? G : NULL, info);
  if (st || !grad) goto done;
  if (ntk_interrupt_pending()) { st = NTK_ERR_INTERRUPTED; goto done; }

  /* backward through the L steps: (Sb, Tb) adjoints of (Sigma_l, Theta_l) */
  Gs = dalloc(nn); Gt = dalloc(nn); acc = dalloc((size_t) 2 * n);
  double *Sbuf = dalloc(nn);
  if (!Gs || !Gt || !acc || !Sbuf) { free(Sbuf); st = NTK_ERR_ALLOC; goto done; }
  memset(acc, 0, (size_t) 2 * n * sizeof(double));
  /* Tb1 = G (adjoint of Theta_L), Sb1 = none; ping-pong between (Gs, Gt) and (Sbuf, G) */
  double *Sb1 = NULL, *Tb1 = G, *Sb = Gs, *Tb = Gt;
  for (int l = L - 1; l >= 0; l--) {
    layer_backward(n, Sig + nn * l, Th + nn * l, Sb1, Tb1, Sb, Tb, sw2, sb2, acc, acc + n,
                   nthreads);
    double *os = Sb1 ? Sb1 : Sbuf, *ot = Tb1;
    Sb1 = Sb; Tb1 = Tb; Sb = os; Tb = ot;
    if (ntk_interrupt_pending()) { free(Sbuf); st = NTK_ERR_INTERRUPTED; goto done; }
  }
  /* Gt = Sigma_0 bar + Theta_0 bar, into Sb1 */
  for (size_t k = 0; k < nn; k++) Sb1[k] += Tb1[k];
  double *Gtot = Sb1;
  double asw2 = 0, asb2 = 0;
  for (int j = 0; j < n; j++) { asw2 += acc[j]; asb2 += acc[n + j]; }
  for (size_t k = 0; k < nn; k++) asb2 += Gtot[k];
  if (!(H = dalloc((size_t) n * pd))) { free(Sbuf); st = NTK_ERR_ALLOC; goto done; }
  F77_CALL(dsymm)(&left, &lo, &n, &pd, &d1, Gtot, &n, Xm, &n, &d0, H, &n FCONE FCONE);
  free(Sbuf);
  double xm = 0;
  for (size_t k = 0; k < (size_t) n * pd; k++) xm += Xm[k] * H[k];
  asw2 += xm / pd;
  *grad_sw = 2.0 * a->sw * asw2;
  if (grad_sb) *grad_sb = 2.0 * a->sb * asb2;
  double f = 2.0 * sw2 / pd;
  if (map == NTK_KARE_MAP_SCALE) {
    for (int k = 0; k < p; k++) {
      const double *xk = X + (size_t) k * n, *hk = H + (size_t) k * n;
      double sacc = 0;
      for (int i = 0; i < n; i++) sacc += xk[i] * hk[i];
      grad_map[k] = f * sacc;
    }
  } else {
    F77_CALL(dgemm)(&tr, &nt, &p, &r, &n, &f, X, &n, H, &n, &d0, grad_map, &p FCONE FCONE);
  }
  if (!isfinite(*grad_sw)) st = NTK_ERR_NONFINITE;
done:
  free(Xm); free(mats); free(G); free(Gs); free(Gt); free(acc); free(H);
  return st;
}

/* ---- network mode (ntk_kare_network) -------------------------------------------------
 * The network of ntk_empirical.c (layers l = 0..L-1, in_0 = X, fan_0 = p, fan_l = w):
 *   H_l = a_l in_l W_l' + sb 1 b_l',  a_l = sw / sqrt(fan_l),  A_l = relu(H_l),
 *   D_{L-1} = g (1 v') o M_{L-1},  D_l = g (D_{l+1} W_{l+1}) o M_l,  g = sw / sqrt(w),
 *   K = sum_l (c_l in_l in_l' + sb^2) o (D_l D_l') + (sw^2 / w) A_{L-1} A_{L-1}' + sb^2,
 *   c_l = sw^2 / fan_l, M_l = 1[H_l > 0] (locally constant: no gradient through it).
 * With G = dKARE/dK (symmetric), derivations.md section 2:
 *   Abar_{l-1} += 2 c_l (G o D_l D_l') in_l,  Dbar_l += 2 (G o (c_l in_l in_l' + sb^2)) D_l,
 *   Abar_{L-1} += 2 (sw^2 / w) G A_{L-1};
 * then the backward pass that made D, in reverse (l = 0..L-2, with E = g Dbar_l o M_l):
 *   Dbar_{l+1} += E W_{l+1}',  Wbar_{l+1} += D_{l+1}' E,  and vbar = g colsums(Dbar_{L-1} o M_{L-1});
 * and the forward pass (l = L-1..0, Hbar = Abar_l o M_l):
 *   Wbar_l += a_l Hbar' in_l,  bbar_l = sb colsums(Hbar),  Abar_{l-1} += a_l Hbar W_l.
 * Cost per evaluation: the kernel (ntk_empirical) O(n p w + n w^2 L + n^2 w L); KARE and G
 * O(n^3); the adjoints 2 Grams + 2 symmetric products per layer O(n^2 (w + fan) L); the two
 * passes backwards O(n p w + n w^2 L).  Memory: (4 L + 1) n w activations / adjoints + 4 n^2. */
int ntk_kare_network(const double *X, int n, int p, int width, const ntk_arch *a,
                     const double *weights, const double *y, int q, const double *Z,
                     double z, double *kare, double *grad, double *K, int *info)
{
  *info = 0;
  if (!X || !a || !weights || !y || n < 2 || p < 1 || width < 1 || a->depth < 1 ||
      a->nthreads < 1 || !(a->sw >= 0) || !(a->sb >= 0) || !(z > 0))
    return NTK_ERR_ARG;
  const int L = a->depth, w = width;
  const size_t nn = (size_t) n * n, nw = (size_t) n * w;
  const double sw = a->sw, sb = a->sb, sw2 = sw * sw, sb2 = sb * sb;
  int st = NTK_OK;
  double *KL = dalloc(nn), *G = dalloc(nn), *P = NULL, *Q = NULL, *act = NULL;
  if (!KL || !G) { st = NTK_ERR_ALLOC; goto done; }
  st = ntk_empirical(X, n, NULL, 0, p, w, a, weights, 1.0, 0, KL, NULL);
  if (st) goto done;
  if (K) memcpy(K, KL, nn * sizeof(double));
  st = ntk_kare_objective(n, KL, y, q, Z, z, kare, grad ? G : NULL, info);
  if (st || !grad) goto done;
  if (ntk_interrupt_pending()) { st = NTK_ERR_INTERRUPTED; goto done; }

  P = dalloc(nn); Q = dalloc(nn); act = dalloc((4 * (size_t) L + 1) * nw);
  if (!P || !Q || !act) { st = NTK_ERR_ALLOC; goto done; }
  double *A = act, *D = A + L * nw, *Ab = D + L * nw, *Db = Ab + L * nw, *E = Db + L * nw;
  memset(Ab, 0, 2 * (size_t) L * nw * sizeof(double));
  if ((st = ntk_empirical_pass(X, n, p, w, a, weights, A, D))) goto done;
  /* offsets of W_l, b_l in the weight vector; v */
  size_t *oW = (size_t *) malloc((size_t) L * sizeof(size_t));
  if (!oW) { st = NTK_ERR_ALLOC; goto done; }
  oW[0] = 0;
  for (int l = 1; l < L; l++)
    oW[l] = (size_t) w * p + w + (size_t) (l - 1) * ((size_t) w * w + w);
  const size_t ov = (size_t) w * p + w + (size_t) (L - 1) * ((size_t) w * w + w);
  memset(grad, 0, ntk_weights_length(p, w, L) * sizeof(double));
  char nt = 'N', tr = 'T', lo = 'L', left = 'L';
  double d0 = 0.0, d1 = 1.0;

  /* the kernel's adjoints, layer by layer */
  for (int l = 0; l < L; l++) {
    const double *in = l == 0 ? X : A + (size_t) (l - 1) * nw;
    int fan = l == 0 ? p : w;
    double cl = sw2 / fan;
    F77_CALL(dsyrk)(&lo, &nt, &n, &fan, &d1, in, &n, &d0, P, &n FCONE FCONE);
    F77_CALL(dsyrk)(&lo, &nt, &n, &w, &d1, D + (size_t) l * nw, &n, &d0, Q, &n FCONE FCONE);
    /* P <- G o (c_l P + sb^2), Q <- G o Q (lower triangles; dsymm reads only those) */
    for (int j = 0; j < n; j++)
      for (int i = j; i < n; i++) {
        size_t k = i + (size_t) j * n;
        P[k] = G[k] * (cl * P[k] + sb2);
        Q[k] = G[k] * Q[k];
      }
    double two = 2.0, twoc = 2.0 * cl;
    F77_CALL(dsymm)(&left, &lo, &n, &w, &two, P, &n, D + (size_t) l * nw, &n, &d1,
                    Db + (size_t) l * nw, &n FCONE FCONE);
    if (l > 0)
      F77_CALL(dsymm)(&left, &lo, &n, &w, &twoc, Q, &n, in, &n, &d1,
                      Ab + (size_t) (l - 1) * nw, &n FCONE FCONE);
    if (ntk_interrupt_pending()) { free(oW); st = NTK_ERR_INTERRUPTED; goto done; }
  }
  {
    double cr = 2.0 * sw2 / w;
    F77_CALL(dsymm)(&left, &lo, &n, &w, &cr, G, &n, A + (size_t) (L - 1) * nw, &n, &d1,
                    Ab + (size_t) (L - 1) * nw, &n FCONE FCONE);
  }
  const double g = sw / sqrt((double) w);
  /* back through the pass that made D: l = 0..L-2 */
  for (int l = 0; l + 1 < L; l++) {
    const double *Al = A + (size_t) l * nw, *Dbl = Db + (size_t) l * nw;
    for (size_t k = 0; k < nw; k++) E[k] = Al[k] > 0 ? g * Dbl[k] : 0.0;
    const double *Wn = weights + oW[l + 1];
    F77_CALL(dgemm)(&nt, &tr, &n, &w, &w, &d1, E, &n, Wn, &w, &d1,
                    Db + (size_t) (l + 1) * nw, &n FCONE FCONE);
    F77_CALL(dgemm)(&tr, &nt, &w, &w, &n, &d1, D + (size_t) (l + 1) * nw, &n, E, &n, &d1,
                    grad + oW[l + 1], &w FCONE FCONE);
  }
  {
    const double *AL = A + (size_t) (L - 1) * nw, *DbL = Db + (size_t) (L - 1) * nw;
    for (int k = 0; k < w; k++) {
      double s = 0;
      for (int i = 0; i < n; i++)
        if (AL[i + (size_t) k * n] > 0) s += DbL[i + (size_t) k * n];
      grad[ov + k] = g * s;
    }
    grad[ov + w] = 0.0;     /* the read-out bias does not enter the kernel */
  }
  /* back through the forward pass: l = L-1..0 (Hbar into E) */
  for (int l = L - 1; l >= 0; l--) {
    const double *in = l == 0 ? X : A + (size_t) (l - 1) * nw, *Al = A + (size_t) l * nw;
    const double *Abl = Ab + (size_t) l * nw;
    int fan = l == 0 ? p : w;
    double al = sw / sqrt((double) fan);
    for (size_t k = 0; k < nw; k++) E[k] = Al[k] > 0 ? Abl[k] : 0.0;
    size_t ob = oW[l] + (size_t) w * fan;
    F77_CALL(dgemm)(&tr, &nt, &w, &fan, &n, &al, E, &n, in, &n, &d1, grad + oW[l], &w
                    FCONE FCONE);
    for (int k = 0; k < w; k++) {
      double s = 0;
      for (int i = 0; i < n; i++) s += E[i + (size_t) k * n];
      grad[ob + k] = sb * s;
    }
    if (l > 0)
      F77_CALL(dgemm)(&nt, &nt, &n, &fan, &w, &al, E, &n, weights + oW[l], &w, &d1,
                      Ab + (size_t) (l - 1) * nw, &n FCONE FCONE);
  }
  free(oW);
  for (size_t k = 0, len = ntk_weights_length(p, w, L); k < len; k++)
    if (!isfinite(grad[k])) { st = NTK_ERR_NONFINITE; break; }
done:
  free(KL); free(G); free(P); free(Q); free(act);
  return st;
}
