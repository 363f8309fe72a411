/* The spectral engine: ONE decomposition of a (fixed-effect-projected) training kernel,
 * shared by the LMM (every method, every trait), KRR (fit at any lambda, CV folds) and the
 * closed-form lambda criteria.  Core: plain C + BLAS/LAPACK, no R.
 *
 * For the n x n kernel A = K[idx, idx] and the n x p design X (p may be 0), with the QR
 * X = Q_X [R; 0], Q_X = [Q1 Q2], the projected kernel K_P = Q2' A Q2 (m x m, m = n - p)
 * is written K_P = G T G' with G orthogonal and T symmetric tridiagonal:
 *   - NTK_SPEC_EIGEN:   G = E, T = diag(eigenvalues) (LAPACK dsyevd, divide and conquer;
 *                       dsyevr when dsyevd's 2 m^2 workspace cannot be had); the basis
 *                       stored is B = Q2 E (n x m), explicit eigenvectors;
 *   - NTK_SPEC_TRIDIAG: G = the Householder reflectors of dsytrd (stored m x m with tau),
 *                       T = tridiag(d, e); the eigenvalues of T come from dsterf (no
 *                       vectors).  No eigenvectors are ever formed.
 * Every consumer works with B = Q2 G through four operations: rotate (B'v), unrotate (B x),
 * solve (a T + b I) x = r (O(m), tridiagonal LDL'; e = 0 in the eigen mode) and T x.
 * Traces and log-determinants are sums over the eigenvalues.  Fixed effects are recovered
 * from k11 = Q1' A Q1 (p x p) and kt = B' A Q1 (m x p).
 *
 * Cost: QR O(n p^2); two-sided rotation O(n^2 p); eigen mode O(m^3) (dsyevd: 8/3 + ~4/3 m^3
 * flops, the back-transformation dominating), tridiag mode 4/3 m^3 (dsytrd) + O(m^2)
 * (dsterf).  Memory: n^2 work + the stored basis (n m or m^2).
 */
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include "ntk_lapack.h"
#include "ntkgen.h"

static double *dalloc(size_t n) { return (double *) malloc((n ? n : 1) * sizeof(double)); }

#ifdef NTK_HAVE_SY2SB
/* LAPACK >= 3.7 (not in R's headers): full symmetric -> band by BLAS 3 (first stage of
 * the two-stage tridiagonal reduction), reflectors below the band as dgeqrf panels. */
extern void F77_NAME(dsytrd_sy2sb)(const char *uplo, const int *n, const int *kd, double *a,
                                   const int *lda, double *ab, const int *ldab, double *tau,
                                   double *work, const int *lwork, int *info FCLEN);
#endif

/* In-place reversal of an ascending spectrum (values and, when vec != NULL, the columns of
 * the nr x m vec) into decreasing order. */
static void reverse_spectrum(int m, double *values, double *vec, int nr)
{
  for (int i = 0, j = m - 1; i < j; i++, j--) {
    double t = values[i]; values[i] = values[j]; values[j] = t;
    if (vec) {
      double *ci = vec + (size_t) i * nr, *cj = vec + (size_t) j * nr;
      for (int k = 0; k < nr; k++) { t = ci[k]; ci[k] = cj[k]; cj[k] = t; }
    }
  }
}

/* Eigendecomposition of the symmetric m x m A (lower triangle; overwritten by the
 * eigenvectors) by dsyevd, or dsyevr (into vec) when dsyevd's workspace cannot be
 * allocated.  values ascending.  On return *used_vec = 1 when the vectors are in vec.
 * *info: LAPACK's info.  Cost O(m^3). */
static int eigen_dc(int m, double *A, double *values, double *vec, int *used_vec, int *info)
{
  char jobz = 'V', uplo = 'L';
  int lwork = -1, liwork = -1, iwq = 0;
  double wq = 0;
  *used_vec = 0;
  F77_CALL(dsyevd)(&jobz, &uplo, &m, A, &m, values, &wq, &lwork, &iwq, &liwork, info
                   FCONE FCONE);
  if (*info != 0) return NTK_ERR_LAPACK;
  lwork = (int) wq + 1;
  liwork = iwq;
  double *work = dalloc((size_t) lwork);
  int *iwork = (int *) malloc((size_t) (liwork > 0 ? liwork : 1) * sizeof(int));
  if (work && iwork) {
    F77_CALL(dsyevd)(&jobz, &uplo, &m, A, &m, values, work, &lwork, iwork, &liwork, info
                     FCONE FCONE);
    free(work); free(iwork);
    return *info == 0 ? NTK_OK : NTK_ERR_LAPACK;
  }
  free(work); free(iwork);
  /* fall back on dsyevr: O(m) workspace besides the output */
  char range = 'A';
  double vl = 0, vu = 0, abstol = 0;
  int il = 1, iu = m, nf = 0;
  int *isuppz = (int *) malloc(2 * (size_t) m * sizeof(int));
  if (!isuppz) return NTK_ERR_ALLOC;
  lwork = -1; liwork = -1;
  F77_CALL(dsyevr)(&jobz, &range, &uplo, &m, A, &m, &vl, &vu, &il, &iu, &abstol, &nf,
                   values, vec, &m, isuppz, &wq, &lwork, &iwq, &liwork, info
                   FCONE FCONE FCONE);
  if (*info != 0) { free(isuppz); return NTK_ERR_LAPACK; }
  lwork = (int) wq + 1;
  liwork = iwq;
  work = dalloc((size_t) lwork);
  iwork = (int *) malloc((size_t) (liwork > 0 ? liwork : 1) * sizeof(int));
  if (!work || !iwork) { free(isuppz); free(work); free(iwork); return NTK_ERR_ALLOC; }
  F77_CALL(dsyevr)(&jobz, &range, &uplo, &m, A, &m, &vl, &vu, &il, &iu, &abstol, &nf,
                   values, vec, &m, isuppz, work, &lwork, iwork, &liwork, info
                   FCONE FCONE FCONE);
  free(isuppz); free(work); free(iwork);
  if (*info != 0 || nf != m) return NTK_ERR_LAPACK;
  *used_vec = 1;
  return NTK_OK;
}

/* See ntkgen.h: C (nr x nc) <- op(Q) C (side 'L') or C op(Q) (side 'R'). */
int ntk_qr_apply(char side, char trans, int n, int p, const double *QR, const double *tau,
                 double *C, int nr, int nc)
{
  if (p == 0 || nr == 0 || nc == 0) return NTK_OK;
  int info = 0, lwork = -1;
  double wq = 0;
  F77_CALL(dormqr)(&side, &trans, &nr, &nc, &p, (double *) QR, &n, (double *) tau, C, &nr,
                   &wq, &lwork, &info FCONE FCONE);
  if (info != 0) return NTK_ERR_LAPACK;
  lwork = (int) wq + 1;
  double *work = dalloc((size_t) lwork);
  if (!work) return NTK_ERR_ALLOC;
  F77_CALL(dormqr)(&side, &trans, &nr, &nc, &p, (double *) QR, &n, (double *) tau, C, &nr,
                   work, &lwork, &info FCONE FCONE);
  free(work);
  return info == 0 ? NTK_OK : NTK_ERR_LAPACK;
}

/* See ntkgen.h: QR (n x p, overwritten copy of X) and tau by dgeqrf; NTK_ERR_SINGULAR when
 * a diagonal entry of R is below 1e-10 times the largest. */
int ntk_qr_full_rank(int n, int p, const double *X, double *QR, double *tau, int *info)
{
  *info = 0;
  if (p == 0) return NTK_OK;
  memcpy(QR, X, (size_t) n * p * sizeof(double));
  int lwork = -1;
  double wq = 0;
  F77_CALL(dgeqrf)(&n, &p, QR, &n, tau, &wq, &lwork, info);
  if (*info != 0) return NTK_ERR_LAPACK;
  lwork = (int) wq + 1;
  double *work = dalloc((size_t) lwork);
  if (!work) return NTK_ERR_ALLOC;
  F77_CALL(dgeqrf)(&n, &p, QR, &n, tau, work, &lwork, info);
  free(work);
  if (*info != 0) return NTK_ERR_LAPACK;
  double rmax = 0;
  for (int j = 0; j < p; j++) rmax = fmax(rmax, fabs(QR[j + (size_t) j * n]));
  for (int j = 0; j < p; j++)
    if (!(fabs(QR[j + (size_t) j * n]) > 1e-10 * rmax)) return NTK_ERR_SINGULAR;
  return NTK_OK;
}

/* C (n x nc) <- op(Q_X) C from the left. */
static int apply_qx(const ntk_spectral *s, char trans, double *C, int nc)
{
  return ntk_qr_apply('L', trans, s->n, s->p, s->qr, s->qtau, C, s->n, nc);
}

/* C (m x nc) <- op(G) C, G the dsytrd reflectors (side 'L') ; or C (nr x m) <- C op(G)
 * (side 'R'). */
static int apply_g(const ntk_spectral *s, char side, char trans, double *C, int nr, int nc)
{
  if (s->m <= 1) return NTK_OK;
  if (s->mode == NTK_SPEC_BAND) {
    /* Q = H(1) ... H(m - kd), H(i) with its unit at row i + kd: the dgeqrf layout of the
     * block A(kd+1:m, 1:m-kd), applied to rows kd+1..m of C (side 'L' only) */
    int mk = s->m - s->kd, m = s->m, info = 0, lwork = -1;
    if (side != 'L' || mk < 1) return side == 'L' ? NTK_OK : NTK_ERR_ARG;
    char sd = 'L';
    double wq = 0;
    F77_CALL(dormqr)(&sd, &trans, &mk, &nc, &mk, s->basis + s->kd, &m, s->tau, C + s->kd, &m,
                     &wq, &lwork, &info FCONE FCONE);
    if (info != 0) return NTK_ERR_LAPACK;
    lwork = (int) wq + 1;
    double *work = dalloc((size_t) lwork);
    if (!work) return NTK_ERR_ALLOC;
    F77_CALL(dormqr)(&sd, &trans, &mk, &nc, &mk, s->basis + s->kd, &m, s->tau, C + s->kd, &m,
                     work, &lwork, &info FCONE FCONE);
    free(work);
    return info == 0 ? NTK_OK : NTK_ERR_LAPACK;
  }
  char uplo = 'L';
  int m = s->m, info = 0, lwork = -1, ld = side == 'L' ? m : nr;
  double wq = 0;
  F77_CALL(dormtr)(&side, &uplo, &trans, &nr, &nc, s->basis, &m, s->tau, C, &ld, &wq,
                   &lwork, &info FCONE FCONE FCONE);
  if (info != 0) return NTK_ERR_LAPACK;
  lwork = (int) wq + 1;
  double *work = dalloc((size_t) lwork);
  if (!work) return NTK_ERR_ALLOC;
  F77_CALL(dormtr)(&side, &uplo, &trans, &nr, &nc, s->basis, &m, s->tau, C, &ld, work,
                   &lwork, &info FCONE FCONE FCONE);
  free(work);
  return info == 0 ? NTK_OK : NTK_ERR_LAPACK;
}

size_t ntk_spectral_basis_length(int n, int p, int mode)
{
  size_t m = (size_t) (n - p);
  return mode == NTK_SPEC_EIGEN ? (size_t) n * m : m * m;
}

size_t ntk_spectral_factor_length(const ntk_spectral *s)
{
  size_t d = (size_t) ntk_spectral_dim(s);
  return s->mode == NTK_SPEC_BAND ? (size_t) (s->kd + 1) * d : d;
}

/* See ntkgen.h. */
int ntk_spectral_build(int N, const double *K, int n, const int *idx, int p,
                       const double *X, int mode, ntk_spectral *s, int *info)
{
  *info = 0;
  int m = n - p, st = NTK_OK;
  if (n < 1 || p < 0 || m < 1 || (mode != NTK_SPEC_EIGEN && mode != NTK_SPEC_TRIDIAG))
    return NTK_ERR_ARG;
  s->n = n; s->p = p; s->m = m; s->r = m; s->mode = mode; s->kd = 1;
  size_t nn = (size_t) n * n;
  double *A = dalloc(nn), *K12 = NULL, *work = NULL, *vec = NULL;
  if (!A) return NTK_ERR_ALLOC;
  if (idx) ntk_gather(N, K, n, idx, n, idx, A);
  else memcpy(A, K, nn * sizeof(double));
  /* the scaled form K / mean(diag K): the mean of the diagonal is computed as a scaled
   * sum so that it neither overflows nor underflows */
  double dmax = 0;
  for (int j = 0; j < n; j++) dmax = fmax(dmax, fabs(A[j + (size_t) j * n]));
  double dsum = 0;
  if (dmax > 0 && isfinite(dmax))
    for (int j = 0; j < n; j++) dsum += A[j + (size_t) j * n] / dmax;
  if (!(dsum > 0) || !isfinite(dmax)) { st = NTK_ERR_SINGULAR; goto done; }
  s->scale = dmax * (dsum / n);
  {
    const double inv = 1.0 / s->scale;
    if (isfinite(inv) && inv > 0)
      for (size_t t = 0; t < nn; t++) A[t] *= inv;
    else   /* scale beyond 1 / DBL_MAX or below DBL_MIN: divide */
      for (size_t t = 0; t < nn; t++) A[t] /= s->scale;
  }

  s->trace0 = 0;
  for (int j = 0; j < n; j++) s->trace0 += A[j + (size_t) j * n];
  if (p > 0) {
    if ((st = ntk_qr_full_rank(n, p, X, s->qr, s->qtau, info))) goto done;
    /* A <- Q_X' A Q_X: left, then right (as the transpose of a left product) */
    if ((st = apply_qx(s, 'T', A, n))) goto done;
    for (int j = 0; j < n; j++)            /* transpose in place */
      for (int i = j + 1; i < n; i++) {
        double t = A[i + (size_t) j * n];
        A[i + (size_t) j * n] = A[j + (size_t) i * n];
        A[j + (size_t) i * n] = t;
      }
    if ((st = apply_qx(s, 'T', A, n))) goto done;
    if (!(K12 = dalloc((size_t) m * p))) { st = NTK_ERR_ALLOC; goto done; }
    for (int c = 0; c < p; c++)
      for (int r = 0; r < p; r++) s->k11[r + (size_t) c * p] = A[r + (size_t) c * n];
    for (int c = 0; c < p; c++)     /* K12' = A[p.., c], m x p */
      for (int r = 0; r < m; r++) K12[r + (size_t) c * m] = A[p + r + (size_t) c * n];
    for (int c = 0; c < m; c++)     /* compact A22; destinations never overtake */
      memmove(A + (size_t) c * m, A + (size_t) (p + c) * n + p, (size_t) m * sizeof(double));
  }
  if (ntk_interrupt_pending()) { st = NTK_ERR_INTERRUPTED; goto done; }
  double tr = 0;
  for (int j = 0; j < m; j++) tr += A[j + (size_t) j * m];
  s->trace = tr;

  if (mode == NTK_SPEC_EIGEN) {
    int used_vec = 0;
    if (!(vec = dalloc((size_t) m * m))) {
      st = NTK_ERR_ALLOC; goto done;
    }
    st = eigen_dc(m, A, s->values, vec, &used_vec, info);
    if (st) goto done;
    if (ntk_interrupt_pending()) { st = NTK_ERR_INTERRUPTED; goto done; }
    double *E = used_vec ? vec : A;
    reverse_spectrum(m, s->values, E, m);
    for (int j = 0; j < m; j++) s->d[j] = s->values[j];
    for (int j = 0; j + 1 < m; j++) s->e[j] = 0.0;
    /* B = Q_X [0; E] (n x m) */
    double *B = s->basis;
    for (int c = 0; c < m; c++) {
      double *bc = B + (size_t) c * n;
      for (int r = 0; r < p; r++) bc[r] = 0.0;
      memcpy(bc + p, E + (size_t) c * m, (size_t) m * sizeof(double));
    }
    if ((st = apply_qx(s, 'N', B, m))) goto done;
    if (p > 0) {   /* kt = E' K12' (m x p) */
      char t = 'T', nt = 'N';
      double d1 = 1.0, d0 = 0.0;
      F77_CALL(dgemm)(&t, &nt, &m, &p, &m, &d1, E, &m, K12, &m, &d0, s->kt, &m FCONE FCONE);
    }
  }
#ifdef NTK_HAVE_SY2SB
  else if (s->band && m >= NTK_BAND_MIN) {
    /* two-stage: band form by BLAS 3 (dsytrd_sy2sb); its eigenvalues by dsbtrd + dsterf
     * on a copy; the band itself serves every solve (dpbtrf / dpbtrs) */
    char uplo = 'L', vect = 'N';
    int kd = NTK_BAND_KD, ldab = kd + 1, lwork = -1;
    double wq = 0;
    s->mode = NTK_SPEC_BAND;
    s->kd = kd;
    F77_CALL(dsytrd_sy2sb)(&uplo, &m, &kd, A, &m, s->band, &ldab, s->tau, &wq, &lwork, info
                           FCONE);
    if (*info != 0) { st = NTK_ERR_LAPACK; goto done; }
    lwork = (int) wq + 1;
    if (!(work = dalloc((size_t) lwork))) { st = NTK_ERR_ALLOC; goto done; }
    F77_CALL(dsytrd_sy2sb)(&uplo, &m, &kd, A, &m, s->band, &ldab, s->tau, work, &lwork, info
                           FCONE);
    free(work); work = NULL;
    if (*info != 0) { st = NTK_ERR_LAPACK; goto done; }
    if (ntk_interrupt_pending()) { st = NTK_ERR_INTERRUPTED; goto done; }
    memcpy(s->basis, A, (size_t) m * m * sizeof(double));
    double *abc = dalloc((size_t) ldab * m), *wk = dalloc((size_t) m), *ec = dalloc((size_t) m);
    if (!abc || !wk || !ec) { free(abc); free(wk); free(ec); st = NTK_ERR_ALLOC; goto done; }
    memcpy(abc, s->band, (size_t) ldab * m * sizeof(double));
    int one = 1;
    F77_CALL(dsbtrd)(&vect, &uplo, &m, &kd, abc, &ldab, s->values, ec, NULL, &one, wk, info
                     FCONE FCONE);
    if (*info == 0) F77_CALL(dsterf)(&m, s->values, ec, info);
    free(abc); free(wk); free(ec);
    if (*info != 0) { st = NTK_ERR_LAPACK; goto done; }
    reverse_spectrum(m, s->values, NULL, 0);
    for (int j = 0; j < m; j++) { s->d[j] = s->band[(size_t) j * ldab]; s->e[j] = 0.0; }
    if (p > 0) {   /* kt = Q' K12' */
      memcpy(s->kt, K12, (size_t) m * p * sizeof(double));
      if ((st = apply_g(s, 'L', 'T', s->kt, m, p))) goto done;
    }
  }
#endif
  else {
    char uplo = 'L';
    int lwork = -1;
    double wq = 0;
    F77_CALL(dsytrd)(&uplo, &m, A, &m, s->d, s->e, s->tau, &wq, &lwork, info FCONE);
    if (*info != 0) { st = NTK_ERR_LAPACK; goto done; }
    lwork = (int) wq + 1;
    if (!(work = dalloc((size_t) lwork))) { st = NTK_ERR_ALLOC; goto done; }
    F77_CALL(dsytrd)(&uplo, &m, A, &m, s->d, s->e, s->tau, work, &lwork, info FCONE);
    free(work); work = NULL;
    if (*info != 0) { st = NTK_ERR_LAPACK; goto done; }
    if (ntk_interrupt_pending()) { st = NTK_ERR_INTERRUPTED; goto done; }
    memcpy(s->basis, A, (size_t) m * m * sizeof(double));
    /* eigenvalues of T without vectors */
    double *ec = dalloc((size_t) m);
    if (!ec) { st = NTK_ERR_ALLOC; goto done; }
    memcpy(s->values, s->d, (size_t) m * sizeof(double));
    if (m > 1) memcpy(ec, s->e, (size_t) (m - 1) * sizeof(double));
    F77_CALL(dsterf)(&m, s->values, ec, info);
    free(ec);
    if (*info != 0) { st = NTK_ERR_LAPACK; goto done; }
    reverse_spectrum(m, s->values, NULL, 0);
    if (p > 0) {   /* kt = G' K12' */
      memcpy(s->kt, K12, (size_t) m * p * sizeof(double));
      if ((st = apply_g(s, 'L', 'T', s->kt, m, p))) goto done;
    }
  }
done:
  free(A); free(K12); free(work); free(vec);
  return st;
}

int ntk_spectral_dim(const ntk_spectral *s)
{
  return s->r < s->m ? s->r + 1 : s->m;
}

/* W (n x nc) <- the component of V in the space of the decomposition outside the thin
 * basis: P V - B C with P = I - Q1 Q1' and C = B'V (r x nc, leading dimension ldc). */
static int thin_residual(const ntk_spectral *s, int nc, const double *V, const double *C,
                         int ldc, double *W)
{
  int n = s->n, p = s->p, r = s->r;
  memcpy(W, V, (size_t) n * nc * sizeof(double));
  if (p > 0) {
    int st = apply_qx(s, 'T', W, nc);
    if (st) return st;
    for (int c = 0; c < nc; c++) memset(W + (size_t) c * n, 0, (size_t) p * sizeof(double));
    if ((st = apply_qx(s, 'N', W, nc))) return st;
  }
  char nt = 'N';
  double dm1 = -1.0, d1 = 1.0;
  F77_CALL(dgemm)(&nt, &nt, &n, &nc, &r, &dm1, s->basis, &n, C, &ldc, &d1, W, &n FCONE FCONE);
  return NTK_OK;
}

/* See ntkgen.h. */
int ntk_spectral_rotate(const ntk_spectral *s, int nc, const double *V, double *head,
                        double *out)
{
  int n = s->n, m = s->m, p = s->p, r = s->r, ms = ntk_spectral_dim(s), st = NTK_OK;
  if (nc < 1) return NTK_OK;
  if (head && p > 0) {
    double *W = dalloc((size_t) n * nc);
    if (!W) return NTK_ERR_ALLOC;
    memcpy(W, V, (size_t) n * nc * sizeof(double));
    st = apply_qx(s, 'T', W, nc);
    for (int c = 0; c < nc && st == NTK_OK; c++) {
      memcpy(head + (size_t) c * p, W + (size_t) c * n, (size_t) p * sizeof(double));
      if (s->mode != NTK_SPEC_EIGEN)
        memcpy(out + (size_t) c * m, W + (size_t) c * n + p, (size_t) m * sizeof(double));
    }
    free(W);
    if (st) return st;
    if (s->mode != NTK_SPEC_EIGEN) return apply_g(s, 'L', 'T', out, m, nc);
  } else if (s->mode != NTK_SPEC_EIGEN) {
    double *W = dalloc((size_t) n * nc);
    if (!W) return NTK_ERR_ALLOC;
    memcpy(W, V, (size_t) n * nc * sizeof(double));
    st = apply_qx(s, 'T', W, nc);
    for (int c = 0; c < nc && st == NTK_OK; c++)
      memcpy(out + (size_t) c * m, W + (size_t) c * n + p, (size_t) m * sizeof(double));
    free(W);
    return st ? st : apply_g(s, 'L', 'T', out, m, nc);
  }
  /* eigen mode: B'V, and for a thin basis the norm of the rest as the last coordinate */
  char t = 'T', nt = 'N';
  double d1 = 1.0, d0 = 0.0;
  F77_CALL(dgemm)(&t, &nt, &r, &nc, &n, &d1, s->basis, &n, V, &n, &d0, out, &ms FCONE FCONE);
  if (ms == r) return NTK_OK;
  double *W = dalloc((size_t) n * nc);
  if (!W) return NTK_ERR_ALLOC;
  st = thin_residual(s, nc, V, out, ms, W);
  for (int c = 0; c < nc && st == NTK_OK; c++) {
    double ss = 0;
    const double *w = W + (size_t) c * n;
    for (int i = 0; i < n; i++) ss += w[i] * w[i];
    out[r + (size_t) c * ms] = sqrt(ss);
  }
  free(W);
  return st;
}

/* See ntkgen.h. */
int ntk_spectral_unrotate(const ntk_spectral *s, int nc, const double *C, const double *V,
                          double *out)
{
  int n = s->n, m = s->m, p = s->p, r = s->r, ms = ntk_spectral_dim(s);
  if (nc < 1) return NTK_OK;
  if (s->mode == NTK_SPEC_EIGEN) {
    char nt = 'N';
    double d1 = 1.0, d0 = 0.0;
    F77_CALL(dgemm)(&nt, &nt, &n, &nc, &r, &d1, s->basis, &n, C, &ms, &d0, out, &n FCONE FCONE);
    if (ms == r) return NTK_OK;
    /* + (C_r / |v_rest|) v_rest: the coordinate along the rest of each original vector */
    if (!V) return NTK_ERR_ARG;
    double *W = dalloc((size_t) n * nc), *Cv = dalloc((size_t) r * nc);
    if (!W || !Cv) { free(W); free(Cv); return NTK_ERR_ALLOC; }
    char t = 'T';
    F77_CALL(dgemm)(&t, &nt, &r, &nc, &n, &d1, s->basis, &n, V, &n, &d0, Cv, &r FCONE FCONE);
    int st = thin_residual(s, nc, V, Cv, r, W);
    for (int c = 0; c < nc && st == NTK_OK; c++) {
      const double *w = W + (size_t) c * n;
      double ss = 0;
      for (int i = 0; i < n; i++) ss += w[i] * w[i];
      double f = ss > 0 ? C[r + (size_t) c * ms] / sqrt(ss) : 0.0;
      double *o = out + (size_t) c * n;
      for (int i = 0; i < n; i++) o[i] += f * w[i];
    }
    free(W); free(Cv);
    return st;
  }
  double *W = dalloc((size_t) m * nc);
  if (!W) return NTK_ERR_ALLOC;
  memcpy(W, C, (size_t) m * nc * sizeof(double));
  int st = apply_g(s, 'L', 'N', W, m, nc);
  if (st) { free(W); return st; }
  for (int c = 0; c < nc; c++) {
    double *oc = out + (size_t) c * n;
    for (int i = 0; i < p; i++) oc[i] = 0.0;
    memcpy(oc + p, W + (size_t) c * m, (size_t) m * sizeof(double));
  }
  free(W);
  return apply_qx(s, 'N', out, nc);
}

/* See ntkgen.h. */
int ntk_spectral_truncate(ntk_spectral *s, int r)
{
  if (s->mode != NTK_SPEC_EIGEN || r < 1 || r > s->m) return NTK_ERR_ARG;
  int m = s->m, p = s->p;
  s->r = r;
  if (r < m) {             /* the rest of the space: eigenvalue 0, one coordinate */
    s->d[r] = 0.0;
    s->e[r - 1] = 0.0;
    /* kt (m x p) -> (r + 1) x p, its coordinate along the rest 0 (exact for a kernel of
     * rank r, whose fixed-effect block lies in the span of the kept vectors) */
    for (int c = 0; c < p; c++) {
      for (int i = 0; i < r; i++) s->kt[i + (size_t) c * (r + 1)] = s->kt[i + (size_t) c * m];
      s->kt[r + (size_t) c * (r + 1)] = 0.0;
    }
    double tr = 0;
    for (int j = 0; j < r; j++) tr += s->values[j];
    s->trace = tr;
  }
  return NTK_OK;
}

/* See ntkgen.h.  Tridiagonal (or diagonal): LDL' of M = a T + b I, L unit lower
 * bidiagonal with subdiagonal l, pivots piv, O(m).  Band: piv holds M in lower band
 * storage, overwritten by its Cholesky factor (dpbtrf), O(m kd^2). */
int ntk_spectral_factor(const ntk_spectral *s, double a, double b, double *piv, double *l,
                        double *logdet)
{
  int m = ntk_spectral_dim(s);
  double ld = 0;
  if (s->mode == NTK_SPEC_BAND) {
    int kd = s->kd, ldab = kd + 1, info = 0;
    char uplo = 'L';
    for (size_t t = 0; t < (size_t) ldab * m; t++) piv[t] = a * s->band[t];
    for (int j = 0; j < m; j++) piv[(size_t) j * ldab] += b;
    F77_CALL(dpbtrf)(&uplo, &m, &kd, piv, &ldab, &info FCONE);
    if (info != 0) return NTK_ERR_NOT_PD;
    for (int j = 0; j < m; j++) {
      double dj = piv[(size_t) j * ldab];
      if (!(dj > 0) || !isfinite(dj)) return NTK_ERR_NOT_PD;
      ld += 2.0 * log(dj);
    }
    if (logdet) *logdet = ld;
    (void) l;
    return NTK_OK;
  }
  for (int j = 0; j < m; j++) {
    double dj = a * s->d[j] + b;
    if (j > 0) {
      double ej = a * s->e[j - 1];
      dj -= l[j - 1] * ej;
    }
    if (!(dj > 0) || !isfinite(dj)) return NTK_ERR_NOT_PD;
    piv[j] = dj;
    ld += log(dj);
    if (j + 1 < m) l[j] = a * s->e[j] / dj;
  }
  if (logdet) *logdet = ld;
  return NTK_OK;
}

/* See ntkgen.h.  x (dim x nc) <- M^-1 x with the factor of ntk_spectral_factor(). */
void ntk_spectral_solve(const ntk_spectral *s, const double *piv, const double *l, int nc,
                        double *x)
{
  int m = ntk_spectral_dim(s);
  if (nc < 1) return;
  if (s->mode == NTK_SPEC_BAND) {
    int kd = s->kd, ldab = kd + 1, info = 0;
    char uplo = 'L';
    F77_CALL(dpbtrs)(&uplo, &m, &kd, &nc, piv, &ldab, x, &m, &info FCONE);
    return;
  }
  for (int c = 0; c < nc; c++) {
    double *v = x + (size_t) c * m;
    for (int j = 1; j < m; j++) v[j] -= l[j - 1] * v[j - 1];
    for (int j = 0; j < m; j++) v[j] /= piv[j];
    for (int j = m - 2; j >= 0; j--) v[j] -= l[j] * v[j + 1];
  }
}

/* See ntkgen.h.  out = T x (dim).  O(m) (band: O(m kd)). */
void ntk_spectral_tmul(const ntk_spectral *s, const double *x, double *out)
{
  int m = ntk_spectral_dim(s);
  if (s->mode == NTK_SPEC_BAND) {
    int kd = s->kd, ldab = kd + 1, one = 1;
    char uplo = 'L';
    double d1 = 1.0, d0 = 0.0;
    F77_CALL(dsbmv)(&uplo, &m, &kd, &d1, s->band, &ldab, x, &one, &d0, out, &one FCONE);
    return;
  }
  for (int j = 0; j < m; j++) {
    double v = s->d[j] * x[j];
    if (j > 0) v += s->e[j - 1] * x[j - 1];
    if (j + 1 < m) v += s->e[j] * x[j + 1];
    out[j] = v;
  }
}

/* See ntkgen.h: core-owned arrays for a decomposition built and dropped inside C (CV
 * folds).  Returns NTK_ERR_ALLOC (everything freed) when memory is short. */
int ntk_spectral_alloc(int n, int p, int mode, ntk_spectral *s)
{
  int m = n - p;
  memset(s, 0, sizeof(*s));
  s->r = m;
  s->qr = dalloc((size_t) n * p); s->qtau = dalloc(p);
  s->basis = dalloc(ntk_spectral_basis_length(n, p, mode));
  s->tau = dalloc(m); s->d = dalloc(m); s->e = dalloc(m); s->values = dalloc(m);
  s->k11 = dalloc((size_t) p * p); s->kt = dalloc((size_t) m * p);
  s->band = mode == NTK_SPEC_EIGEN ? NULL : dalloc((size_t) (NTK_BAND_KD + 1) * m);
  if (!s->qr || !s->qtau || !s->basis || !s->tau || !s->d || !s->e || !s->values ||
      !s->k11 || !s->kt || (mode != NTK_SPEC_EIGEN && !s->band)) {
    ntk_spectral_free(s);
    return NTK_ERR_ALLOC;
  }
  memset(s->tau, 0, (size_t) m * sizeof(double));
  memset(s->e, 0, (size_t) m * sizeof(double));
  return NTK_OK;
}

void ntk_spectral_free(ntk_spectral *s)
{
  free(s->qr); free(s->qtau); free(s->basis); free(s->tau); free(s->d); free(s->e);
  free(s->values); free(s->k11); free(s->kt); free(s->band);
  memset(s, 0, sizeof(*s));
}
