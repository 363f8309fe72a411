/* Sanity scan of a matrix handed in by the user (core: plain C, no R). */
#include <math.h>
#include "ntkgen.h"

/* One pass over the nr x nc column-major A: out[0] = number of NaN/NA entries,
 * out[1] = number of infinite entries, out[2] = max |A_ij - A_ji| over i < j (square A
 * only, else 0), out[3] = max |A_ii| (square A only).  Allocates nothing, so a kernel
 * is checked without the n x n temporaries of the R idiom max(abs(K - t(K))).
 * Cost O(nr nc) reads. */
int ntk_matrix_scan(const double *A, int nr, int nc, double *out)
{
  if (!A || nr < 0 || nc < 0 || !out) return NTK_ERR_ARG;
  double nnan = 0, ninf = 0, asym = 0, dmax = 0;
  const int sq = (nr == nc);
  for (int j = 0; j < nc; j++) {
    const double *col = A + (size_t) j * nr;
    for (int i = 0; i < nr; i++) {
      double v = col[i];
      if (isnan(v)) nnan++;
      else if (isinf(v)) ninf++;
    }
  }
  if (sq && nnan == 0 && ninf == 0) {
    const int T = 64;             /* tiles, so the transposed reads stay in cache */
    for (int j0 = 0; j0 < nc; j0 += T)
      for (int i0 = j0; i0 < nr; i0 += T) {
        int j1 = j0 + T < nc ? j0 + T : nc, i1 = i0 + T < nr ? i0 + T : nr;
        for (int j = j0; j < j1; j++)
          for (int i = (i0 > j + 1 ? i0 : j + 1); i < i1; i++) {
            double d = fabs(A[i + (size_t) j * nr] - A[j + (size_t) i * nr]);
            if (d > asym) asym = d;
          }
      }
    for (int i = 0; i < nr; i++) {
      double d = fabs(A[i + (size_t) i * nr]);
      if (d > dmax) dmax = d;
    }
  }
  out[0] = nnan; out[1] = ninf; out[2] = asym; out[3] = dmax;
  return NTK_OK;
}
