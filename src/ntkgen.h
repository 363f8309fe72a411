/* ntkgen core: plain C on plain pointers, no R headers.
 *
 * Every public core routine returns an int status: NTK_OK (0) on success or one of
 * the negative codes below.  Matrices are column-major (Fortran order) like R's.
 * Workspace that a routine allocates itself is freed before it returns, on every path.
 */
#ifndef NTKGEN_H
#define NTKGEN_H

#include <stddef.h>

enum {
  NTK_OK               =   0,
  NTK_ERR_ALLOC        =  -1, /* out of memory */
  NTK_ERR_LAPACK       =  -2, /* a LAPACK routine returned info != 0 */
  NTK_ERR_NOT_PD       =  -3, /* matrix not positive (semi-)definite */
  NTK_ERR_ARG          =  -4, /* invalid argument (should have been caught in R) */
  NTK_ERR_INTERRUPTED  =  -5, /* the user interrupted */
  NTK_ERR_CUDA         =  -6, /* a CUDA / cuBLAS call failed */
  NTK_ERR_NO_CUDA      =  -7, /* CUDA requested but not compiled in / no device */
  NTK_ERR_IO           =  -9, /* file could not be read / bad format */
  NTK_ERR_SINGULAR     = -10, /* singular system */
  NTK_ERR_NONFINITE    = -11  /* a non-finite value appeared */
};

/* The codes that cross .Call, in one place: R reads these tables (C_codes), never its
 * own copy of the numbers. */
enum { NTK_KIND_GRM = 0, NTK_KIND_ANALYTIC = 1, NTK_KIND_EMPIRICAL = 2 };
enum { NTK_NORM_NONE = 0, NTK_NORM_UNIT = 1, NTK_NORM_PAPER = 2 };
enum { NTK_CRIT_KARE = 0, NTK_CRIT_GCV = 1, NTK_CRIT_LOO = 2 };

/* Message for a status code (static string). */
const char *ntk_status_message(int status);

/* Returns 1 when the user asked to interrupt, 0 otherwise.  Implemented in the R glue
 * (r_util.c) without a longjmp, so core code may call it on the main thread (never
 * inside a parallel region), clean up, and return NTK_ERR_INTERRUPTED. */
int ntk_interrupt_pending(void);

/* Reports the fraction done (0..1) of the running call to the R session's progress bar,
 * when one is set (r_util.c; throttled, a no-op otherwise).  Main thread only, like
 * ntk_interrupt_pending(), between blocks. */
void ntk_progress(double fraction);

/* Number of threads to use: requested (>= 1) capped by the OpenMP thread limit and the
 * number of processors; 1 without OpenMP. */
int ntk_threads(int requested);
int ntk_has_openmp(void);

/* ---- spectral engine (spectral.c) --------------------------------------------------
 * ONE decomposition of the (fixed-effect-projected) training kernel, shared by every
 * consumer: K_P = Q2' K[idx, idx] Q2 = G T G' (see spectral.c).  Arrays are allocated by
 * the caller (the R glue keeps them in an R list, so the object is reusable and
 * serialisable):  qr (n x p), qtau (p), basis (ntk_spectral_basis_length()), tau (m),
 * d (m), e (m), values (m), k11 (p x p), kt (m x p). */
enum { NTK_SPEC_EIGEN = 0, NTK_SPEC_TRIDIAG = 1, NTK_SPEC_BAND = 2 };
/* bandwidth of the two-stage band form (NTK_SPEC_BAND: dsytrd_sy2sb, BLAS 3, used in
 * place of dsytrd when LAPACK has it, configure's NTK_HAVE_SY2SB, and m >= NTK_BAND_MIN) */
#define NTK_BAND_KD 32
#define NTK_BAND_MIN 256
typedef struct {
  int mode;          /* NTK_SPEC_EIGEN: basis = Q2 E (n x m); NTK_SPEC_TRIDIAG: dsytrd
                        reflectors (m x m) + tau */
  int n, p, m;       /* individuals, projected-out columns, m = n - p */
  int r;             /* eigen mode: basis columns / eigenvalues kept (r = m: all; r < m:
                        a thin basis, the rest of the space has eigenvalue 0 and is one
                        more coordinate, so vectors in the basis have ntk_spectral_dim()
                        = r + 1 entries); tridiag mode: r = m */
  double *qr, *qtau; /* Householder QR of X (p > 0) */
  double *basis, *tau;
  double *d, *e;     /* T = tridiag(d, e) (e = 0 in the eigen mode) */
  int kd;            /* NTK_SPEC_BAND: T is the band matrix band ((kd + 1) x m, LAPACK's
                        lower band storage), basis holds the dsytrd_sy2sb reflectors */
  double *band;
  double *values;    /* eigenvalues of T, decreasing */
  double *k11, *kt;  /* Q1' K Q1 (p x p), B' K Q1 (m x p): fixed effects by GLS */
  double trace;      /* tr(K_P) */
  double trace0;     /* tr(K[idx, idx]) / scale, before the projection */
  double scale;      /* the decomposition is of K / scale, scale = mean of the diagonal of
                        K[idx, idx]: every consumer works on that scaled form (so kernels
                        of any magnitude neither over- nor underflow) and maps back */
} ntk_spectral;
size_t ntk_spectral_basis_length(int n, int p, int mode);
/* Builds s from K (N x N) restricted to idx (n 0-based indices; NULL: all, n = N) with the
 * columns of X (n x p, full rank, else NTK_ERR_SINGULAR) projected out, on the scaled
 * form K / scale (NTK_ERR_SINGULAR when the mean diagonal is not positive and finite).  *info: LAPACK's.
 * Cost: eigen O(m^3) (dsyevd), tridiag 4/3 m^3 (dsytrd) + O(m^2); O(n^2 p) rotation. */
int ntk_spectral_build(int N, const double *K, int n, const int *idx, int p,
                       const double *X, int mode, ntk_spectral *s, int *info);
/* QR of the n x p X (copied into QR; tau: p) by dgeqrf; NTK_ERR_SINGULAR when X is
 * numerically rank deficient (|R_jj| <= 1e-10 max |R_jj|).  O(n p^2). */
int ntk_qr_full_rank(int n, int p, const double *X, double *QR, double *tau, int *info);
/* C (nr x nc) <- op(Q) C (side 'L', nr = n) or C op(Q) (side 'R', nc = n), Q the n x n
 * orthogonal factor of such a QR (dormqr).  O(n p (nr or nc)). */
int ntk_qr_apply(char side, char trans, int n, int p, const double *QR, const double *tau,
                 double *C, int nr, int nc);
/* Entries of a vector in the basis: m, or r + 1 for a thin basis. */
int ntk_spectral_dim(const ntk_spectral *s);
/* out (dim x nc) = B' V for V n x nc (thin: the last coordinate is the norm of the rest of
 * each column); head (p x nc, may be NULL) = Q1' V.  O(n m nc). */
int ntk_spectral_rotate(const ntk_spectral *s, int nc, const double *V, double *head,
                        double *out);
/* out (n x nc) = B C for C dim x nc.  Thin basis: V (n x nc) are the vectors C was
 * computed from (functions of T act on each one's rest along that rest); else V may be
 * NULL.  O(n m nc). */
int ntk_spectral_unrotate(const ntk_spectral *s, int nc, const double *C, const double *V,
                          double *out);
/* Keeps the r largest eigenpairs of an eigen-mode decomposition (in place; the arrays
 * keep their length, the first r basis columns / values are used).  O(r). */
int ntk_spectral_truncate(ntk_spectral *s, int r);
/* Doubles of the factor buffer piv of ntk_spectral_factor(): dim, or (kd + 1) dim. */
size_t ntk_spectral_factor_length(const ntk_spectral *s);
/* Factor of a T + b I (piv: ntk_spectral_factor_length(), l: dim): LDL' of the
 * tridiagonal, or the band Cholesky (dpbtrf); NTK_ERR_NOT_PD when not positive definite;
 * logdet (may be NULL) = log |a T + b I|.  O(m) (band: O(m kd^2)). */
int ntk_spectral_factor(const ntk_spectral *s, double a, double b, double *piv, double *l,
                        double *logdet);
/* x (dim x nc) <- (a T + b I)^-1 x with a factor from ntk_spectral_factor().  O(m nc)
 * (band: O(m kd nc)). */
void ntk_spectral_solve(const ntk_spectral *s, const double *piv, const double *l, int nc,
                        double *x);
/* out = T x.  O(m). */
void ntk_spectral_tmul(const ntk_spectral *s, const double *x, double *out);
/* Arrays of a decomposition owned by the core (malloc; for decompositions made and
 * dropped in C, e.g. per CV fold); ntk_spectral_free() releases them. */
int ntk_spectral_alloc(int n, int p, int mode, ntk_spectral *s);
void ntk_spectral_free(ntk_spectral *s);

/* Sanity scan of a user matrix (matcheck.c): out[0] = # NaN/NA, out[1] = # infinite,
 * out[2] = max |A_ij - A_ji| (square A), out[3] = max |A_ii|.  No allocation; O(nr nc). */
int ntk_matrix_scan(const double *A, int nr, int nc, double *out);

/* ---- NTK kernels (ntk_analytic.c, ntk_empirical.c) -----------------------------------
 * Network: depth L >= 1 hidden ReLU layers of width w and a linear read-out, NTK
 * parameterisation (neural-tangents): h1 = sw W1 x / sqrt(p) + sb b1, a = relu(h),
 * h_{l+1} = sw W_{l+1} a_l / sqrt(w) + sb b_{l+1}, f = sw v' a_L / sqrt(w) + sb c.
 * X: n x p training inputs (already standardised), Z: m x p (or NULL); the result K is
 * n x n (Z == NULL, symmetric, both triangles filled) or m x n (rows = Z, cols = X).
 */
typedef struct {
  int depth;        /* hidden ReLU layers, >= 1 */
  double sw, sb;    /* sigma_w >= 0, sigma_b >= 0 */
  int nthreads;     /* OpenMP threads, >= 1 */
} ntk_arch;

/* Empirical-network weights, one initialisation, all N(0, 1), concatenated in this
 * order (also the order in which they are drawn from R's RNG):
 *   W1 (w x p, column-major), b1 (w), then for l = 2..L: W_l (w x w), b_l (w),
 *   then v (w), c (1).   Length ntk_weights_length(p, w, L). */
size_t ntk_weights_length(int p, int width, int depth);

/* Analytic infinite-width NTK.  K: n x n (Z NULL) or m x n.  diag_rows (length n, or m
 * when Z is given; may be NULL) receives k(x_i, x_i) (resp. k(z_i, z_i)), needed to
 * normalise a test-by-train kernel.  Cost O(n^2 p / 2 + n^2 L) (symmetric) or
 * O(m n p + m n L); memory: K plus O((n + m) L). */
int ntk_analytic(const double *X, int n, const double *Z, int m, int p,
                 const ntk_arch *a, double *K, double *diag_rows);

/* Empirical NTK of one network of width w with the given weights (layout above):
 * K <- (accumulate ? K : 0) + scale * Theta, and likewise for diag_rows (may be NULL),
 * so that n_init initialisations can be averaged into the same K.  No Jacobian is
 * formed: per dense layer the contribution is (input Gram * sw^2 / fan_in + sb^2)
 * elementwise-times (Gram of the back-propagated signals at its outputs).
 * Cost O(n p w + n w^2 L + n^2 w L); memory K plus O((n + m) w L) activations. */
int ntk_empirical(const double *X, int n, const double *Z, int m, int p, int width,
                  const ntk_arch *a, const double *weights, double scale, int accumulate,
                  double *K, double *diag_rows);

/* ---- kernel ridge regression (krr.c, kare.c) -----------------------------------------
 * K: n x n symmetric kernel (column-major); index sets (idx, rows, cols) are 0-based
 * into K, so folds index the full kernel and never recompute it.  F: n x q design of
 * the offset (column of ones, plus covariates), fitted by OLS on the training rows. */
/* out (nr x nc) <- K[rows, cols].  Cost O(nr nc). */
void ntk_gather(int n, const double *K, int nr, const int *rows, int nc, const int *cols,
                double *out);
/* OLS of y[idx] on F[idx, ] (dgels): beta (q), resid (nidx).  NTK_ERR_SINGULAR when
 * F[idx, ] is rank-deficient.  Cost O(nidx q^2). */
int ntk_ols_subset(int n, int nidx, const int *idx, int q, const double *F,
                   const double *y, double *beta, double *resid, int *info);
/* GLS offset in the eigenbasis for one lambda (Fr = U'F, ty = U'y, w = 1/(d + lambda)):
 * beta = (Fr' W Fr)^-1 Fr' W ty, t = ty - Fr beta, chol = Cholesky factor.  O(n q^2). */
int ntk_gls_eigen(int n, int q, const double *Fr, const double *ty, const double *w,
                  double *beta, double *t, double *chol);
/* K-fold CV over a lambda grid for the nt traits in the columns of Y (n x nt).  fold: n
 * ints in 0..nfolds (0 = unused); gls: offset by OLS once per fold (0) or by GLS per
 * lambda (1); fold_mse: nfolds x nlam x nt; pred: n x nlam x nt held-out predictions (or
 * NULL).  One tridiagonal decomposition per fold serves every trait and lambda.
 * Cost per fold 4/3 nT^3 + nt (nT^2 nlam + nV nT nlam + nT q^2 nlam). */
int ntk_krr_cv(int n, const double *K, int nt, const double *Y, const int *fold, int nfolds,
               int q, const double *F, int gls, int nlam, const double *lambda,
               double *fold_mse, double *pred, int *info);
/* KRR on the n individuals of the decomposition s of their kernel, for each lambda:
 * beta (q x nlam) and alpha (n x nlam), alpha = (K + lambda I)^-1 (y - F beta).  s
 * unprojected (p = 0): the offset by OLS once (gls = 0) or GLS per lambda (gls = 1, in the
 * basis); s projected by F itself (p = q): GLS from s's k11 / kt pieces.  No factorisation
 * per lambda: O(m (q + 1)) solves each, then one back-rotation O(n m nlam).
 * NTK_ERR_NOT_PD when T + lambda I is not positive definite, NTK_ERR_SINGULAR for
 * collinear F. */
int ntk_krr_spectral_fit(const ntk_spectral *s, const double *y, int q, const double *F,
                         int gls, int nlam, const double *lambda, double *beta,
                         double *alpha, int *info);
/* KARE (which = 0) / GCV (1) from eigenvalues d, ty = U'y (gls = 0: U'yc) and
 * Fr = U'F, counting the offset (OLS, gls = 0, or GLS per lambda, gls = 1) in the
 * smoother.  O(n) (gls = 0) or O(n q^2) (gls = 1) per lambda after O(n q^2) setup. */
int ntk_kare_gcv_eigen(int n, const double *d, const double *ty, int q, const double *Fr,
                       int gls, int nlam, const double *lambda, int which, double *value);
/* Exact LOO MSE of the whole fit (offset refitted without each individual) from d, U,
 * ty and Fr.  O(n^2) per lambda (+ O(n^2 q) for gls = 1) after O(n^2 q) setup. */
int ntk_loo_eigen(int n, const double *d, const double *U, const double *ty, int q,
                  const double *Fr, int gls, int nlam, const double *lambda, double *value);
/* which: 0 KARE, 1 GCV, 2 LOO from the decomposition s of the kernel of the n
 * individuals; offset F beta by OLS (gls = 0) or GLS per lambda (gls = 1).  s: the
 * eigen-mode, unprojected decomposition (every criterion), or, for KARE and GCV, a
 * tridiagonal / band one (no eigenvectors needed), projected on F for gls = 1 and
 * unprojected for gls = 0.  Cost eigen: O(n^2 q) + O(n) / O(n q^2) (KARE, GCV) or
 * O(n^2 (1 + gls q)) (LOO) per lambda; tridiagonal: O(n^2 q) + O(n q) per lambda. */
int ntk_krr_criterion(const ntk_spectral *s, const double *y, int q, const double *F,
                      int gls, int nlam, const double *lambda, int which, double *value,
                      int *info);
/* ---- kernels trained by KARE (kare_train.c) -----------------------------------------
 * KARE(z) = n N / T^2 of the kernel K (n x n) at ridge z > 0 on the K/n scale, with the
 * offset design Z (n x q: intercept [+ covariates]) projected out (the GLS offset of
 * ntk_krr at lambda = n z), and G = dKARE/dK (n x n symmetric; may be NULL) from one
 * eigen-mode spectral object.  NTK_ERR_NOT_PD when K_P / n + z I is not positive
 * definite, NTK_ERR_NONFINITE for a non-finite K or value.  Cost O(n^3). */
int ntk_kare_objective(int n, const double *K, const double *y, int q, const double *Z,
                       double z, double *kare, double *G, int *info);
/* Input maps of the analytic mode: one scale per SNP (M: p) or a projection (M: p x r). */
enum { NTK_KARE_MAP_SCALE = 0, NTK_KARE_MAP_PROJECTION = 1 };
/* Smallest sin(t) used in the 1/sin(t) factors of the backward pass (near-duplicates). */
#define NTK_KARE_SN_MIN 1e-4
/* KARE of the analytic NTK (depth a->depth, sw > 0, sb >= 0) of the mapped standardised
 * genotypes X (n x p) and, when grad_sw != NULL, its exact gradient: grad_sw, grad_sb (may
 * be NULL), grad_map (p or p x r).  K (n x n, may be NULL) receives the kernel.  See
 * kare_train.c for the formulas.  Cost O(n^2 (p + L) + n^3); memory (2 L + 4) n^2. */
int ntk_kare_analytic(const double *X, int n, int p, int map, int r, const double *M,
                      const ntk_arch *a, const double *y, int q, const double *Z,
                      double z, double *kare, double *grad_sw, double *grad_sb,
                      double *grad_map, double *K, int *info);
/* Forward and backward pass of the empirical network (ntk_empirical.c): A, D (L blocks of
 * n x width each) receive A_l = relu(H_l) and D_l = df/dH_l.  Cost O(n p w + n w^2 L).
 * Polls ntk_interrupt_pending() between blocks of rows: NTK_OK or NTK_ERR_INTERRUPTED. */
int ntk_empirical_pass(const double *X, int n, int p, int width, const ntk_arch *a,
                       const double *weights, double *A, double *D);
/* Network mode: KARE of the empirical NTK of the network with the given weights (layout
 * of ntk_weights_length()) and, when grad != NULL, its gradient with respect to every
 * weight and bias (same layout; the read-out bias, which the kernel does not depend on,
 * gets 0), by reverse mode through the factorised kernel (no Jacobian).  K (n x n, may
 * be NULL) receives the kernel.  Cost O(n^2 w L + n w^2 L + n p w) + O(n^3). */
int ntk_kare_network(const double *X, int n, int p, int width, const ntk_arch *a,
                     const double *weights, const double *y, int q, const double *Z,
                     double z, double *kare, double *grad, double *K, int *info);
/* ---- kernel helpers (ntk_analytic.c, ntk_empirical.c, ntk_prep.c) -------------------
 * ntk_analytic() also accepts depth = 0: the linear kernel Sigma0 = sw^2 X X' / p + sb^2
 * (with sw = 1, sb = 0 the genomic relationship matrix of standardised genotypes). */
/* Diagonal k(x_i, x_i) of the analytic kernel of the rows of X.  Cost O(n p + n L). */
int ntk_analytic_diag(const double *X, int n, int p, const ntk_arch *a, double *d);
/* Diagonal of the empirical kernel: d <- (accumulate ? d : 0) + scale * k(x_i, x_i).
 * Cost O(n p w + n w^2 L); memory O(n w L). */
int ntk_empirical_diag(const double *X, int n, int p, int width, const ntk_arch *a,
                       const double *weights, double scale, int accumulate, double *d);
/* Copies the strict lower triangle of the n x n K into the upper one.  Cost O(n^2). */
void ntk_mirror_lower(double *K, int n, int nthreads);
/* Column means and sample sds (denominator nobs - 1; 0 when nobs < 2) of the n x p X,
 * skipping NaN/NA entries; nobs[k] = number of non-missing entries.  Cost O(n p). */
int ntk_col_moments(const double *X, int n, int p, double *mean, double *sd, int *nobs,
                    int nthreads);
/* out (n x pk) = (X[, keep[k]] - mean[k]) / sd[k], missing entries -> 0 (mean
 * imputation); keep: 0-based column indices; *n_missing receives the number of missing
 * entries met in the kept columns.  Cost O(n pk). */
int ntk_standardize(const double *X, int n, int p, const int *keep, int pk,
                    const double *mean, const double *sd, double *out, double *n_missing,
                    int nthreads);
/* In place, the m x n K: K_ij <- scale K_ij / sqrt(dr_i dc_j) (0 where dr_i dc_j <= 0).
 * symmetric (m == n, dr == dc): the two triangles are averaged first and the diagonal
 * set to scale exactly (where dr_i > 0).  Cost O(m n). */
int ntk_normalize(double *K, int m, int n, const double *dr, const double *dc,
                  double scale, int symmetric, int nthreads);

/* ---- PLINK 1 binary genotypes (plink.c) ----------------------------------------------
 * .bed: bytes 0x6c 0x1b, then 0x01 (SNP-major; 0x00, sample-major, is refused), then per
 * SNP ceil(n / 4) bytes of 2-bit codes, lowest bits first: 00 homozygous A1 (count 2),
 * 01 missing, 10 heterozygous (1), 11 homozygous A2 (0); the size is exactly
 * 3 + p ceil(n / 4).  Genotypes are decoded as counts of A1 (PLINK --recode A).  Routines
 * that touch a file return NTK_ERR_IO with *why set to one of these reasons; they close
 * the file and free their buffers on every path. */
enum { NTK_BED_OK = 0, NTK_BED_OPEN = 1, NTK_BED_MAGIC = 2, NTK_BED_SAMPLE_MAJOR = 3,
       NTK_BED_MODE = 4, NTK_BED_SIZE = 5, NTK_BED_READ = 6, NTK_BED_WRITE = 7 };

/* A source of genotypes: a .bed file (path) or an in-memory n x ncol matrix of counts
 * (mat, NaN missing).  The SNPs used are snp[0..nsnp-1] (0-based rows of the .bed or
 * columns of mat), each flipped to 2 - count where flip[k] != 0 (flip may be NULL);
 * the individuals used are ind[0..n-1] (0-based .fam lines; NULL: all, n == n_file). */
typedef struct {
  const char *path;
  int n_file, p_file;        /* .fam and .bim line counts (file only) */
  int n;                     /* individuals used */
  const int *ind;
  const int *snp;
  const unsigned char *flip;
  const double *mat;
} ntk_geno_src;

/* First-layer pre-activations of an empirical network, accumulated while streaming:
 * HX (n x width) = alpha X_s W1' (HZ likewise for Z), with W1 (width x p, column-major)
 * drawn block by block, SNP column after SNP column, by draw(ctx, out, len): the order
 * of the whole W1, so the network is the one the in-memory path draws. */
typedef struct {
  int width;
  double alpha;
  double *HX, *HZ;
  int (*draw)(void *ctx, double *out, size_t len);
  void *ctx;
} ntk_geno_h1;

/* Kernels from a first layer computed elsewhere (ntk_analytic.c, ntk_empirical.c), for
 * the streaming path.  Analytic: K holds on entry G = sw^2 X X' / p (lower triangle when
 * gz == NULL, symmetric) or sw^2 Z X' / p (m x n); gx[i] = sw^2 |x_i|^2 / p, gz likewise;
 * on exit K is the kernel as ntk_analytic() gives it (ntk_analytic() is phase 1 + this).
 * Cost O(n^2 L / 2) or O(m n L). */
int ntk_analytic_from_gram(int n, int m, const double *gx, const double *gz,
                           const ntk_arch *a, double *K, double *diag_rows);
/* d[i] = k(x_i, x_i) from gx as above.  Cost O(n L). */
int ntk_analytic_diag_gram(int n, const double *gx, const ntk_arch *a, double *d);
/* Empirical kernel as ntk_empirical() from the first layer's pre-activations without
 * bias H1x = sw X W1' / sqrt(p) (n x w; H1z m x w, NULL when symmetric), the input Gram
 * G0 = X X' (lower triangle when symmetric, else Z X' m x n), the squared input norms gx,
 * gz, and the weights after W1 (`rest`: b1, W2, b2, ..., v, c).  diag_cols (n, may be
 * NULL) <- (accumulate ? : 0) + scale k(x_i, x_i), like diag_rows for the rows. */
int ntk_empirical_first_layer(int n, int m, int p, int width, const ntk_arch *a,
                              const double *H1x, const double *H1z, const double *G0,
                              const double *gx, const double *gz, const double *rest,
                              double scale, int accumulate, double *K, double *diag_rows,
                              double *diag_cols);
/* Asks the OS (Linux madvise) to back a large, not yet touched buffer with huge pages:
 * first-touch page faults of a dense genotype matrix cost more than decoding it. */
void ntk_hint_hugepages(void *p, size_t bytes);
/* Checks the .bed of n individuals and p SNPs (magic, mode, size).  *size: its size in
 * bytes (-1 when unknown).  Cost O(1). */
int ntk_bed_check(const char *path, int n, int p, int *why, double *size);
/* out (n x nsnp) <- counts of the source's SNPs, missing -> na.  Cost O(n nsnp). */
int ntk_bed_read(const ntk_geno_src *src, int nsnp, double na, double *out, int nthreads,
                 int *why);
/* Writes the n x p counts G (0, 1, 2, NaN missing; anything else: NTK_ERR_ARG) as a .bed. */
int ntk_bed_write(const char *path, const double *G, int n, int p, int *why);
/* cnt (4 x nsnp): hom A1, het, hom A2, missing per SNP; miss_ind (n, may be NULL):
 * missing genotypes per individual.  File sources only.  Cost O(n nsnp), memory O(block). */
int ntk_bed_counts(const ntk_geno_src *src, int nsnp, int *cnt, int *miss_ind, int *why);
/* Hardy-Weinberg exact test (Wigginton et al. 2005); work: 2 (het + hom1 + hom2) + 2. */
int ntk_hwe_exact(int het, int hom1, int hom2, double *work, double *pvalue);
/* Per-SNP mean, sd and nobs exactly as ntk_col_moments() on the dense matrix, streamed
 * in blocks of `block` SNPs.  Cost O(n nsnp), memory O(n block). */
int ntk_geno_moments(const ntk_geno_src *src, int nsnp, int block, double *mean, double *sd,
                     int *nobs, int nthreads, int *why);
/* Streams the p SNPs of X (and Z), standardised as ntk_standardize() does with center /
 * scale (NA -> 0), in blocks of `block` SNPs: K (may be NULL) <- alpha X_s X_s' (lower
 * triangle, n x n) or alpha Z_s X_s' (m x n); gx[i] <- alpha |x_s,i|^2, gz likewise;
 * miss[0], miss[1] <- missing genotypes met in X, Z; h1 (may be NULL): see above.
 * why: 2 ints, the reason and which source failed (0 X, 1 Z).
 * Cost O(n^2 p / 2) or O(m n p) (+ O((n + m) p w) with h1); memory O((n + m) block). */
int ntk_geno_gram(const ntk_geno_src *X, const ntk_geno_src *Z, int p, const double *center,
                  const double *scale, double alpha, int block, int nthreads, double *K,
                  double *gx, double *gz, double *miss, ntk_geno_h1 *h1, int *why);

#ifdef NTKGEN_CUDA
/* ---- CUDA path (ntk_cuda.cu): same contracts as the CPU routines above -------------- */
int ntk_cuda_device_count(void);   /* >= 0; 0 when the driver reports none or fails */
int ntk_cuda_analytic(const double *X, int n, const double *Z, int m, int p,
                      const ntk_arch *a, double *K, double *diag_rows);
int ntk_cuda_empirical(const double *X, int n, const double *Z, int m, int p, int width,
                       const ntk_arch *a, const double *weights, double scale,
                       int accumulate, double *K, double *diag_rows);
#endif


/* ---- linear mixed model (minque.c) ---------------------------------------------------
 * y = X b + g_1 + ... + g_q + e with g_i ~ N(0, theta_i K_i), e ~ N(0, theta_k I), k = q+1.
 * X: n x p of full column rank (p may be 0); K: q symmetric n x n kernels.  Estimation in
 * the space with X projected out (QR of X), see minque.c. */
enum { NTK_LMM_MINQUE0 = 0, NTK_LMM_MINQUE1 = 1, NTK_LMM_IMINQUE = 2, NTK_LMM_REML = 3 };

typedef struct {
  int method;      /* NTK_LMM_* */
  int constrain;   /* 1: negative components set to zero and the others re-estimated */
  double tol;      /* convergence: max |change of theta_i| c_i / sum |theta_i| c_i */
  int maxit;       /* iterations of iminque / reml */
} ntk_lmm_control;

typedef struct {   /* every array allocated by the caller */
  double *theta;   /* k estimates (residual last) */
  double *vcov;    /* k x k: 2 S^-1 (iterated, REML) or S^-1 C S^-1 (one-step) */
  double *S;       /* k x k: S_ij = tr(P K_i P K_j) at `weights` */
  double *weights; /* k: the weights of P in S */
  int *fixed;      /* k: 1 when constrained to zero */
  double *ck;      /* k: c_i = tr(Q2' K_i Q2) / (n - p) (residual: 1) */
  double *b;       /* p: GLS fixed effects */
  double *vcov_b;  /* p x p: (X' V^-1 X)^-1 */
  double *alpha;   /* n: V^-1 (y - X b) */
  int iter, converged, v_pd;  /* v_pd: V positive definite at theta (else b, alpha NaN) */
  double loglik;   /* REML log-likelihood at theta (-Inf when V is not PD) */
  int bad_kernel;  /* >= 0: index of a kernel that is strongly non-PSD (status
                      NTK_ERR_NOT_PD) or zero after projection (NTK_ERR_SINGULAR) */
  double bad_value;/* its smallest eigenvalue (one kernel) or c_i */
} ntk_lmm_result;

/* Fits the model with q >= 2 kernels: O((q + 1) n^3) per iteration. */
int ntk_lmm_fit(int n, int p, const double *y, const double *X, int nk,
                const double *const *K, const ntk_lmm_control *ctl, ntk_lmm_result *res);
/* One kernel, nt traits (Y: n x nt, all observed on the n individuals of the spectral
 * object sp, whose X is the fixed-effect design): res[t] for each trait, status[t] its
 * status (a failed trait does not stop the others; the return value is NTK_OK unless
 * memory ran out or the user interrupted).  Cost: O(n m nt) rotations, O(m) per
 * iteration and trait. */
int ntk_lmm_fit_spectral(const ntk_spectral *sp, int nt, const double *Y,
                         const ntk_lmm_control *ctl, ntk_lmm_result *res, int *status);

#endif
