/* Analytic infinite-width NTK of a deep ReLU network (core: plain C, no R).
 *
 * Sigma0 = sw^2 X X' / p + sb^2 is formed block of columns by block of columns with BLAS
 * dgemm (only the lower triangle in the symmetric case), and each block is then pushed
 * through the ReLU recursion element by element, every layer in registers:
 *   c = Sigma / sqrt(Sigma_ii Sigma_jj) clamped to [-1, 1], t = acos(c),
 *   Sigma <- sw^2 sqrt(Sigma_ii Sigma_jj) (sin t + (pi - t) c) / (2 pi) + sb^2,
 *   Theta <- Theta sw^2 (pi - t) / (2 pi) + Sigma.
 * The diagonals follow the scalar recursion with t = 0, computed once per point; their
 * square roots (and inverses, 0 for a zero-norm point so that c = 0 there) are stored per
 * point and layer, so the inner loop has one acos and one sqrt per layer and no division.
 * Interrupts are polled on the main thread between column blocks.
 */
#define USE_FC_LEN_T
#include <R_ext/BLAS.h>
#ifndef FCONE
#define FCONE
#endif
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "ntkgen.h"
#include "ntk_omp.h"

#define NTK_PI 3.141592653589793238462643383279502884
#define NTK_ANALYTIC_BLOCK 512

/* Per-point diagonal recursion.  s0 = Sigma0(x, x).  Writes sq[l] = sqrt(Sigma_l(x, x)) and
 * isq[l] = 1 / sq[l] (0 when Sigma_l(x, x) = 0) for l = 0..L-1; returns Theta_L(x, x).
 * Cost O(L). */
static double diag_recursion(double s0, const ntk_arch *a, double *sq, double *isq)
{
  const double sw2 = a->sw * a->sw, sb2 = a->sb * a->sb;
  double s = s0 > 0 ? s0 : 0, th = s;
  for (int l = 0; l < a->depth; l++) {
    if (sq) {
      sq[l] = sqrt(s);
      isq[l] = s > 0 ? 1.0 / sq[l] : 0.0;
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

/* Recursion for one entry: sig = Sigma0(x, x'); per-layer diagonal roots of both points.
 * Cost O(L): L acos + L sqrt. */
static inline double ntk_entry(double sig, int L, double k1, double sb2,
                               const double *sqi, const double *isqi,
                               const double *sqj, const double *isqj)
{
  double th = sig;
  for (int l = 0; l < L; l++) {
    double c = sig * isqi[l] * isqj[l];
    c = c > 1.0 ? 1.0 : (c < -1.0 ? -1.0 : c);
    double t = acos(c);
    double s = sqrt((1.0 - c) * (1.0 + c));
    double pt = NTK_PI - t;
    sig = k1 * sqi[l] * sqj[l] * (s + pt * c) + sb2;
    th = th * k1 * pt + sig;
  }
  return th;
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
    d[i] = diag_recursion(sw2 * d[i] / p + sb2, a, NULL, NULL);
  return NTK_OK;
}

/* See ntkgen.h.  depth = 0 gives the linear kernel Sigma0 itself (the GRM when sw = 1,
 * sb = 0).  Cost O(n^2 p / 2 + n^2 L) or O(m n p + m n L); memory K plus O((n + m) L). */
int ntk_analytic(const double *X, int n, const double *Z, int m, int p,
                 const ntk_arch *a, double *K, double *diag_rows)
{
  if (!X || !K || !a || n < 1 || p < 1 || a->depth < 0 || a->nthreads < 1 ||
      !(a->sw >= 0) || !(a->sb >= 0) || (Z && m < 1))
    return NTK_ERR_ARG;
  const int L = a->depth, sym = (Z == NULL), nr = sym ? n : m;
  const int nthreads = ntk_threads(a->nthreads);
  const double sw2 = a->sw * a->sw, sb2 = a->sb * a->sb, k1 = sw2 / (2.0 * NTK_PI);
  const double alpha = sw2 / p;
  const int Lw = L > 0 ? L : 1;

  /* per point and layer: sqrt of the diagonal Sigma and its inverse; Theta diagonals */
  double *cx = malloc(sizeof(double) * ((size_t) 2 * Lw * n + n));
  double *cz = sym ? NULL : malloc(sizeof(double) * ((size_t) 2 * Lw * m + m));
  if (!cx || (!sym && !cz)) { free(cx); free(cz); return NTK_ERR_ALLOC; }
  double *sqx = cx, *isqx = cx + (size_t) Lw * n, *thx = cx + (size_t) 2 * Lw * n;
  double *sqz = sym ? sqx : cz, *isqz = sym ? isqx : cz + (size_t) Lw * m;
  double *thz = sym ? thx : cz + (size_t) 2 * Lw * m;

  row_sqnorms(X, n, p, thx);
  for (int i = 0; i < n; i++)
    thx[i] = diag_recursion(alpha * thx[i] + sb2, a, sqx + (size_t) i * Lw, isqx + (size_t) i * Lw);
  if (!sym) {
    row_sqnorms(Z, m, p, thz);
    for (int i = 0; i < m; i++)
      thz[i] = diag_recursion(alpha * thz[i] + sb2, a, sqz + (size_t) i * Lw, isqz + (size_t) i * Lw);
  }

  const double zero = 0.0;
  int status = NTK_OK;
  for (int j0 = 0; j0 < n; j0 += NTK_ANALYTIC_BLOCK) {
    int b = n - j0 < NTK_ANALYTIC_BLOCK ? n - j0 : NTK_ANALYTIC_BLOCK;
    /* Sigma0 - sb^2 for rows r0.. of columns j0..j0+b-1 */
    int r0 = sym ? j0 : 0, rows = nr - r0;
    const double *A = sym ? X + r0 : Z;
    double *Kb = K + (size_t) j0 * nr + r0;
    F77_CALL(dgemm)("N", "T", &rows, &b, &p, &alpha, A, &nr, X + j0, &n, &zero,
                    Kb, &nr FCONE FCONE);
    if (L > 0 || sb2 != 0) {
#ifdef _OPENMP
#pragma omp parallel for num_threads(nthreads) schedule(dynamic, 8)
#endif
      for (int jj = 0; jj < b; jj++) {
        int j = j0 + jj;
        double *col = K + (size_t) j * nr;
        const double *sj = sqx + (size_t) j * Lw, *ij = isqx + (size_t) j * Lw;
        int i0 = sym ? j + 1 : 0;
        if (sym) col[j] = thx[j];
        for (int i = i0; i < nr; i++)
          col[i] = ntk_entry(col[i] + sb2, L, k1, sb2, sqz + (size_t) i * Lw,
                             isqz + (size_t) i * Lw, sj, ij);
      }
    } else if (sym) {
      for (int jj = 0; jj < b; jj++) K[(size_t) (j0 + jj) * (nr + 1)] = thx[j0 + jj];
    }
    if (j0 + b < n && ntk_interrupt_pending()) { status = NTK_ERR_INTERRUPTED; break; }
  }
  if (status == NTK_OK) {
    if (sym) ntk_mirror_lower(K, n, nthreads);
    if (diag_rows) memcpy(diag_rows, thz, sizeof(double) * nr);
  }
  free(cx);
  free(cz);
  return status;
}
