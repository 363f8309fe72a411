/* Kernel input preparation and output normalisation (core: plain C, no R). */
#include <math.h>
#include <stdlib.h>
#include "ntkgen.h"
#include "ntk_omp.h"

/* See ntkgen.h.  Two passes per column (mean, then centred sum of squares). */
int ntk_col_moments(const double *X, int n, int p, double *mean, double *sd, int *nobs,
                    int nthreads)
{
  if (!X || n < 0 || p < 0) return NTK_ERR_ARG;
#ifdef _OPENMP
#pragma omp parallel for num_threads(ntk_threads(nthreads)) schedule(static)
#endif
  for (int k = 0; k < p; k++) {
    const double *col = X + (size_t) k * n;
    /* on the column divided by its largest |x| and scaled back, so that neither the sum
     * nor the sum of squares over- or underflows (columns of 1e200 or 1e-170, or one
     * entry of 1e300) */
    double mx = 0.0;
    int cnt = 0;
    for (int i = 0; i < n; i++)
      if (!isnan(col[i])) { double a = fabs(col[i]); if (a > mx) mx = a; cnt++; }
    double sc = mx > 0 && isfinite(mx) && isfinite(1.0 / mx) ? mx : 1.0;
    double s = 0.0;
    for (int i = 0; i < n; i++)
      if (!isnan(col[i])) s += col[i] / sc;
    double mu = cnt > 0 ? s / cnt : NAN, ss = 0.0;
    for (int i = 0; i < n; i++)
      if (!isnan(col[i])) { double e = col[i] / sc - mu; ss += e * e; }
    mean[k] = mu * sc;
    sd[k] = cnt > 1 ? sqrt(ss / (cnt - 1)) * sc : 0.0;
    nobs[k] = cnt;
  }
  (void) nthreads;
  return NTK_OK;
}

/* See ntkgen.h. */
int ntk_standardize(const double *X, int n, int p, const int *keep, int pk,
                    const double *mean, const double *sd, double *out, double *n_missing,
                    int nthreads)
{
  if (!X || !out || n < 0 || pk < 0) return NTK_ERR_ARG;
  for (int k = 0; k < pk; k++)
    if (keep[k] < 0 || keep[k] >= p || !(sd[k] > 0)) return NTK_ERR_ARG;
  double miss = 0.0;
#ifdef _OPENMP
#pragma omp parallel for num_threads(ntk_threads(nthreads)) schedule(static) reduction(+:miss)
#endif
  for (int k = 0; k < pk; k++) {
    const double *col = X + (size_t) keep[k] * n;
    double *o = out + (size_t) k * n, mu = mean[k], is = 1.0 / sd[k];
    for (int i = 0; i < n; i++) {
      if (isnan(col[i])) { o[i] = 0.0; miss += 1.0; }
      else o[i] = (col[i] - mu) * is;
    }
  }
  if (n_missing) *n_missing = miss;
  (void) nthreads;
  return NTK_OK;
}

/* See ntkgen.h. */
int ntk_normalize(double *K, int m, int n, const double *dr, const double *dc,
                  double scale, int symmetric, int nthreads)
{
  if (!K || m < 0 || n < 0 || (symmetric && m != n)) return NTK_ERR_ARG;
  int nt = ntk_threads(nthreads);
  if (symmetric) {
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(dynamic, 16)
#endif
    for (int j = 0; j < n; j++) {
      double dj = dc[j];
      K[j + (size_t) j * n] = dj > 0 ? scale : 0.0;
      for (int i = j + 1; i < n; i++) {
        double den = dr[i] * dj;
        double v = den > 0 ? scale * 0.5 * (K[i + (size_t) j * n] + K[j + (size_t) i * n]) /
                             sqrt(den) : 0.0;
        K[i + (size_t) j * n] = v;
      }
    }
    ntk_mirror_lower(K, n, nt);
  } else {
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(static)
#endif
    for (int j = 0; j < n; j++) {
      double *col = K + (size_t) j * m, dj = dc[j];
      for (int i = 0; i < m; i++) {
        double den = dr[i] * dj;
        col[i] = den > 0 ? scale * col[i] / sqrt(den) : 0.0;
      }
    }
  }
  return NTK_OK;
}
