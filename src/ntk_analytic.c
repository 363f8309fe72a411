/* Analytic infinite-width NTK of a deep ReLU network (core: plain C, no R).
 *
 * Phase 1: Sigma0 - sb^2 = sw^2 X X' / p by BLAS dgemm, block of columns by block of
 * columns (only the lower triangle in the symmetric case: the flops of dsyrk).
 * Phase 2: the ReLU recursion entry by entry, OpenMP over tiles of the (lower) matrix:
 *   c = Sigma / sqrt(Sigma_ii Sigma_jj) clamped to [-1, 1], t = acos(c),
 *   Sigma <- sw^2 sqrt(Sigma_ii Sigma_jj) (sin t + (pi - t) c) / (2 pi) + sb^2,
 *   Theta <- Theta sw^2 (pi - t) / (2 pi) + Sigma,
 * each finished tile mirrored into the upper triangle while in cache.  The diagonals
 * follow the scalar recursion with t = 0, computed once per point; their square roots
 * (and inverses, 0 for a zero-norm point so that c = 0 there) are stored layer-major, so
 * the inner loop has one (branch-free) acos, one sqrt and no division per layer.  All BLAS
 * work precedes all OpenMP work, so the BLAS library's spinning threads and ours never
 * compete.  Interrupts are polled on the main thread between blocks of either phase.
 */
#include "ntk_lapack.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "ntkgen.h"
#include "ntk_omp.h"

#include "ntk_layer.h"
#define NTK_ANALYTIC_BLOCK 512

/* Per-point diagonal recursion.  s0 = Sigma0(x, x).  Writes sq[l * ld] =
 * sqrt(Sigma_l(x, x)) and isq[l * ld] = 1 / sq[l * ld] (0 when Sigma_l(x, x) = 0) for
 * l = 0..L-1 (layer-major storage); returns Theta_L(x, x).  Cost O(L). */
static double diag_recursion(double s0, const ntk_arch *a, double *sq, double *isq,
                             size_t ld)
{
  const double sw2 = a->sw * a->sw, sb2 = a->sb * a->sb;
  double s = s0 > 0 ? s0 : 0, th = s;
  for (int l = 0; l < a->depth; l++) {
    if (sq) {
      sq[l * ld] = sqrt(s);
      isq[l * ld] = s > 0 ? 1.0 / sq[l * ld] : 0.0;
    }
    s = 0.5 * sw2 * s + sb2;            /* t = 0: sin t = 0, (pi - t) c / (2 pi) = 1/2 */
    th = th * 0.5 * sw2 + s;
  }
  return th;
}

/* Squared row norms of the n x p column-major X.  Cost O(n p). */
static void row_sqnorms(const double *X, int n, int p, double *out)
{
  for (int i = 0; i < n; i++) out[i] = 0.0;
  for (int k = 0; k < p; k++) {
    const double *col = X + (size_t) k * n;
    for (int i = 0; i < n; i++) out[i] += col[i] * col[i];
  }
}

/* arccos on [-1, 1], branch-free, with an error of a few ulp: several times faster than
 * the C library's inside the recursion loop below (no mispredicted branches, independent
 * iterations).  The rational approximation R of (asin(s) - s) / s^3 in z = s^2 and the
 * range reduction acos(|x|) = 2 asin(sqrt((1 - |x|) / 2)) for |x| > 1/2 are those of
 * fdlibm's e_acos.c:
 * Copyright (C) 1993 by Sun Microsystems, Inc. All rights reserved.
 * Developed at SunSoft, a Sun Microsystems, Inc. business.
 * Permission to use, copy, modify, and distribute this software is freely granted,
 * provided that this notice is preserved. */
static const double
  pio2 = 1.57079632679489661923,
  pS0 = 1.66666666666666657415e-01, pS1 = -3.25565818622400915405e-01,
  pS2 = 2.01212532134862925881e-01, pS3 = -4.00555345006794114027e-02,
  pS4 = 7.91534994289814532176e-04, pS5 = 3.47933107596021167570e-05,
  qS1 = -2.40339491173441421878e+00, qS2 = 2.02094576023350569471e+00,
  qS3 = -6.88283971605453293030e-01, qS4 = 7.70381505559019352791e-02;

static inline double ntk_acos(double x)
{
  double a = fabs(x);
  int big = a > 0.5;
  double z = big ? 0.5 * (1.0 - a) : a * a;
  double s = big ? sqrt(z) : a;
  double p = z * (pS0 + z * (pS1 + z * (pS2 + z * (pS3 + z * (pS4 + z * pS5)))));
  double q = 1.0 + z * (qS1 + z * (qS2 + z * (qS3 + z * qS4)));
  double y = s + s * (p / q);                      /* asin(s) */
  double r = big ? 2.0 * y : pio2 - y;             /* acos(|x|) */
  return x < 0 ? NTK_PI - r : r;
}

#define NTK_CHUNK 128

/* The recursion for entries rows i0..i1-1 of column j: col[i] holds Sigma0 - sb^2 on
 * entry and Theta_L on exit.  sq, isq: layer-major per-point diagonal roots of the rows
 * (leading dimension ld), sqj, isqj: those of the column point (stride ldj).  Layers are
 * the outer loop over a chunk of entries so the iterations of the inner loop are
 * independent.  Cost O((i1 - i0) L): L acos + L sqrt per entry. */
#if defined(__GNUC__) && !defined(__clang__)
/* sqrt of a non-negative argument needs no errno handling: lets the loop vectorise */
__attribute__((optimize("no-math-errno")))
#endif
static void ntk_column(double *col, int i0, int i1, int L, double k1, double sb2,
                       const double *sq, const double *isq, size_t ld,
                       const double *sqj, const double *isqj, size_t ldj)
{
  double sig[NTK_CHUNK], th[NTK_CHUNK];
  for (int c0 = i0; c0 < i1; c0 += NTK_CHUNK) {
    int len = i1 - c0 < NTK_CHUNK ? i1 - c0 : NTK_CHUNK;
    for (int i = 0; i < len; i++) th[i] = sig[i] = col[c0 + i] + sb2;
    for (int l = 0; l < L; l++) {
      const double *sqi = sq + l * ld + c0, *isqi = isq + l * ld + c0;
      const double aj = k1 * sqj[l * ldj], iaj = isqj[l * ldj];
#ifdef _OPENMP
#pragma omp simd
#endif
      for (int i = 0; i < len; i++) {
        double c = ntk_layer_cos(sig[i] * isqi[i] * iaj);
        ntk_layer_step(c, NTK_PI - ntk_acos(c), aj * sqi[i], k1, sb2, sig + i, th + i);
      }
    }
    for (int i = 0; i < len; i++) col[c0 + i] = th[i];
  }
}

/* Copies the strict lower triangle of the n x n K into the upper one, in tiles.
 * Cost O(n^2) memory traffic. */
void ntk_mirror_lower(double *K, int n, int nthreads)
{
  const int T = 64;
  int nt = (n + T - 1) / T;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nthreads) schedule(dynamic)
#endif
  for (int bj = 0; bj < nt; bj++) {
    int j0 = bj * T, j1 = j0 + T < n ? j0 + T : n;
    for (int bi = bj; bi < nt; bi++) {
      int i0 = bi * T, i1 = i0 + T < n ? i0 + T : n;
      for (int j = j0; j < j1; j++)
        for (int i = (i0 > j + 1 ? i0 : j + 1); i < i1; i++)
          K[j + (size_t) i * n] = K[i + (size_t) j * n];
    }
  }
  (void) nthreads;
}

/* diag of the kernel of the rows of X (Theta(x_i, x_i)).  Cost O(n p + n L). */
int ntk_analytic_diag(const double *X, int n, int p, const ntk_arch *a, double *d)
{
  if (n < 0 || p < 1 || !a || a->depth < 0) return NTK_ERR_ARG;
  const double sw2 = a->sw * a->sw, sb2 = a->sb * a->sb;
  row_sqnorms(X, n, p, d);
  for (int i = 0; i < n; i++)
    d[i] = diag_recursion(sw2 * d[i] / p + sb2, a, NULL, NULL, 0);
  return NTK_OK;
}

/* diag of the kernel from the first-layer Gram diagonal gx[i] = sw^2 |x_i|^2 / p. */
int ntk_analytic_diag_gram(int n, const double *gx, const ntk_arch *a, double *d)
{
  if (n < 0 || !gx || !d || !a || a->depth < 0) return NTK_ERR_ARG;
  const double sb2 = a->sb * a->sb;
  for (int i = 0; i < n; i++) d[i] = diag_recursion(gx[i] + sb2, a, NULL, NULL, 0);
  return NTK_OK;
}

/* See ntkgen.h.  Phase 2 (the recursion) from the first-layer Gram already in K.
 * Cost O(n^2 L / 2) or O(m n L); memory O((n + m) L). */
int ntk_analytic_from_gram(int n, int m, const double *gx, const double *gz,
                           const ntk_arch *a, double *K, double *diag_rows)
{
  if (!gx || !K || !a || n < 1 || a->depth < 0 || a->nthreads < 1 || !(a->sw >= 0) ||
      !(a->sb >= 0) || (gz && m < 1))
    return NTK_ERR_ARG;
  const int L = a->depth, sym = (gz == NULL), nr = sym ? n : m;
  const int nthreads = ntk_threads(a->nthreads);
  const double sw2 = a->sw * a->sw, sb2 = a->sb * a->sb, k1 = sw2 / (2.0 * NTK_PI);
  const int Lw = L > 0 ? L : 1;

  /* per point and layer: sqrt of the diagonal Sigma and its inverse; Theta diagonals */
  double *cx = malloc(sizeof(double) * ((size_t) 2 * Lw * n + n));
  double *cz = sym ? NULL : malloc(sizeof(double) * ((size_t) 2 * Lw * m + m));
  if (!cx || (!sym && !cz)) { free(cx); free(cz); return NTK_ERR_ALLOC; }
  double *sqx = cx, *isqx = cx + (size_t) Lw * n, *thx = cx + (size_t) 2 * Lw * n;
  double *sqz = sym ? sqx : cz, *isqz = sym ? isqx : cz + (size_t) Lw * m;
  double *thz = sym ? thx : cz + (size_t) 2 * Lw * m;

  for (int i = 0; i < n; i++)
    thx[i] = diag_recursion(gx[i] + sb2, a, sqx + i, isqx + i, (size_t) n);
  if (!sym)
    for (int i = 0; i < m; i++)
      thz[i] = diag_recursion(gz[i] + sb2, a, sqz + i, isqz + i, (size_t) m);

  int status = NTK_OK;
  /* phase 2: the recursion (OpenMP over tiles of TC columns x NTK_CHUNK rows); in the
   * symmetric case each finished tile is also copied, transposed, into the upper
   * triangle while it is still in cache */
  const int TC = 32, RB = 2048;
  for (int j0 = 0; j0 < n && status == NTK_OK; j0 += RB) {
    int jend = n - j0 < RB ? n : j0 + RB;
    int ntile = (jend - j0 + TC - 1) / TC;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nthreads) schedule(dynamic, 1)
#endif
    for (int tcol = 0; tcol < ntile; tcol++) {
      int c0 = j0 + tcol * TC, c1 = c0 + TC < jend ? c0 + TC : jend;
      if (sym) for (int j = c0; j < c1; j++) K[(size_t) j * (n + 1)] = thx[j];
      for (int r0 = sym ? c0 : 0; r0 < nr; r0 += NTK_CHUNK) {
        int r1 = r0 + NTK_CHUNK < nr ? r0 + NTK_CHUNK : nr;
        for (int j = c0; j < c1; j++) {
          int i0 = sym && j + 1 > r0 ? j + 1 : r0;
          if (i0 < r1 && (L > 0 || sb2 != 0))
            ntk_column(K + (size_t) j * nr, i0, r1, L, k1, sb2, sqz, isqz, (size_t) nr,
                       sqx + j, isqx + j, (size_t) n);
        }
        if (sym)
          for (int i = r0; i < r1; i++) {
            int je = i < c1 ? i : c1;
            for (int j = c0; j < je; j++) K[j + (size_t) i * n] = K[i + (size_t) j * n];
          }
      }
    }
    ntk_progress(0.5 + 0.5 * (double) jend / n);
    if (jend < n && ntk_interrupt_pending()) status = NTK_ERR_INTERRUPTED;
  }
  if (status == NTK_OK) {
    if (diag_rows) memcpy(diag_rows, thz, sizeof(double) * nr);
  }
  free(cx);
  free(cz);
  return status;
}

/* See ntkgen.h.  depth = 0 gives the linear kernel Sigma0 itself (the GRM when sw = 1,
 * sb = 0).  Phase 1 here, phase 2 by ntk_analytic_from_gram().  Cost O(n^2 p / 2 + n^2 L)
 * or O(m n p + m n L); memory K plus O((n + m) L). */
int ntk_analytic(const double *X, int n, const double *Z, int m, int p,
                 const ntk_arch *a, double *K, double *diag_rows)
{
  if (!X || !K || !a || n < 1 || p < 1 || a->depth < 0 || a->nthreads < 1 ||
      !(a->sw >= 0) || !(a->sb >= 0) || (Z && m < 1))
    return NTK_ERR_ARG;
  const int sym = (Z == NULL), nr = sym ? n : m;
  const double sw2 = a->sw * a->sw, alpha = sw2 / p;
  double *g = malloc(sizeof(double) * ((size_t) n + (sym ? 0 : m)));
  if (!g) return NTK_ERR_ALLOC;
  double *gx = g, *gz = sym ? NULL : g + n;
  row_sqnorms(X, n, p, gx);
  for (int i = 0; i < n; i++) gx[i] = alpha * gx[i];
  if (!sym) {
    row_sqnorms(Z, m, p, gz);
    for (int i = 0; i < m; i++) gz[i] = alpha * gz[i];
  }
  const double zero = 0.0;
  int status = NTK_OK;
  /* phase 1: Sigma0 - sb^2 by BLAS, block of columns by block (rows j0.. when symmetric);
   * all BLAS first, then all OpenMP work, so that the BLAS library's own threads have
   * finished spinning before the recursion's threads start */
  for (int j0 = 0; j0 < n && status == NTK_OK; j0 += NTK_ANALYTIC_BLOCK) {
    int b = n - j0 < NTK_ANALYTIC_BLOCK ? n - j0 : NTK_ANALYTIC_BLOCK;
    int r0 = sym ? j0 : 0, rows = nr - r0;
    const double *A = sym ? X + r0 : Z;
    F77_CALL(dgemm)("N", "T", &rows, &b, &p, &alpha, A, &nr, X + j0, &n, &zero,
                    K + (size_t) j0 * nr + r0, &nr FCONE FCONE);
    ntk_progress(0.5 * (double) (j0 + b) / n);
    if (j0 + b < n && ntk_interrupt_pending()) status = NTK_ERR_INTERRUPTED;
  }
  if (status == NTK_OK) status = ntk_analytic_from_gram(n, m, gx, gz, a, K, diag_rows);
  free(g);
  return status;
}
