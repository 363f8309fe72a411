/* The floor of an exact REML fit: LAPACK's reductions of a symmetric n x n matrix, timed
 * alone (not part of the package; a stand-alone C program).  Prints the seconds of dsytrd
 * (tridiagonal, half of its flops in memory-bound matrix-vector products), of the two-stage
 * band form dsytrd_sy2sb (BLAS 3) + dsbtrd (band -> tridiagonal, no vectors) that
 * src/spectral.c uses for m >= 256, and of dsyevd (all eigenvectors).
 *   gcc -O2 inst/bench/lapack_reductions.c -o /tmp/lr -llapack -lblas
 *   OPENBLAS_NUM_THREADS=2 /tmp/lr 4000 32          (n, bandwidth) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
extern void dsytrd_(char*, int*, double*, int*, double*, double*, double*, double*, int*,
                    int*, size_t);
extern void dsytrd_sy2sb_(char*, int*, int*, double*, int*, double*, int*, double*, double*,
                          int*, int*, size_t);
extern void dsbtrd_(char*, char*, int*, int*, double*, int*, double*, double*, double*, int*,
                    double*, int*, size_t, size_t);
extern void dsyevd_(char*, char*, int*, double*, int*, double*, double*, int*, int*, int*,
                    int*, size_t, size_t);
static double now(void)
{
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}
int main(int argc, char **argv)
{
  int n = argc > 1 ? atoi(argv[1]) : 2000, kd = argc > 2 ? atoi(argv[2]) : 32, info, lw = -1;
  long nn = (long) n * n;
  double *A = malloc(8 * nn), *B = malloc(8 * nn), *d = malloc(8 * n), *e = malloc(8 * n),
         *tau = malloc(8 * n), wq;
  for (int j = 0; j < n; j++)
    for (int i = j; i < n; i++) { double v = rand() / (double) RAND_MAX; A[i + (long) j * n] = A[j + (long) i * n] = v; }
  for (int i = 0; i < n; i++) A[i + (long) i * n] += n;
  char L = 'L', N = 'N', V = 'V';
  memcpy(B, A, 8 * nn);
  dsytrd_(&L, &n, B, &n, d, e, tau, &wq, &lw, &info, 1);
  lw = (int) wq + 1;
  double *w = malloc(8L * lw), t0 = now();
  dsytrd_(&L, &n, B, &n, d, e, tau, w, &lw, &info, 1);
  printf("n = %d: dsytrd %.2f s\n", n, now() - t0);
  memcpy(B, A, 8 * nn);
  int ldab = kd + 1;
  double *AB = malloc(8L * ldab * n);
  lw = -1;
  dsytrd_sy2sb_(&L, &n, &kd, B, &n, AB, &ldab, tau, &wq, &lw, &info, 1);
  lw = (int) wq + 1;
  w = realloc(w, 8L * lw);
  t0 = now();
  dsytrd_sy2sb_(&L, &n, &kd, B, &n, AB, &ldab, tau, w, &lw, &info, 1);
  double t1 = now(), *wk = malloc(8L * n);
  dsbtrd_(&N, &L, &n, &kd, AB, &ldab, d, e, NULL, &n, wk, &info, 1, 1);
  printf("n = %d: dsytrd_sy2sb (kd %d) %.2f s + dsbtrd %.2f s\n", n, kd, t1 - t0, now() - t1);
  memcpy(B, A, 8 * nn);
  lw = -1;
  int liw = -1, iwq;
  dsyevd_(&V, &L, &n, B, &n, d, &wq, &lw, &iwq, &liw, &info, 1, 1);
  lw = (int) wq + 1;
  liw = iwq;
  w = realloc(w, 8L * lw);
  int *iw = malloc(4L * liw);
  t0 = now();
  dsyevd_(&V, &L, &n, B, &n, d, w, &lw, iw, &liw, &info, 1, 1);
  printf("n = %d: dsyevd %.2f s\n", n, now() - t0);
  return 0;
}
