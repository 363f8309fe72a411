/* Empirical NTK of one finite ReLU network (core: plain C, no R).
 *
 * Forward pass: A_l = relu(H_l) (n x w, one BLAS dgemm per layer); backward pass: the
 * back-propagated signals D_l = df/dH_l (n x w, one dgemm per layer below the top).  For a
 * dense layer with input a and output signal d the parameter gradient is the outer product
 * (sw / sqrt(fan_in)) d a' (weights) and sb d (bias), so its contribution to
 * sum_theta df/dtheta(x) df/dtheta(x') factorises as
 *   (sw^2 <a(x), a(x')> / fan_in + sb^2) * <d(x), d(x')>,
 * and the read-out adds sw^2 <a_L(x), a_L(x')> / w + sb^2.  The kernel is therefore
 * 2 L + 1 Gram matrices combined elementwise: no Jacobian is ever formed.  The Grams are
 * computed block of columns by block of columns (lower triangle only when symmetric) into
 * two small buffers, so the work space is O(n * block) on top of the activations.
 */
#include "ntk_lapack.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "ntkgen.h"
#include "ntk_omp.h"

#define NTK_EMPIRICAL_BLOCK 512

/* The elementwise work here is O(n^2 L + n w L), negligible next to the O(n^2 w L) BLAS
 * products, and it alternates with BLAS calls block by block: it runs on the calling
 * thread only, so that OpenMP threads never compete with the BLAS library's own
 * (spin-waiting) threads for the cores.  nthreads is used for the final mirror. */

size_t ntk_weights_length(int p, int width, int depth)
{
  size_t w = (size_t) width;
  return w * (size_t) p + w + (size_t) (depth - 1) * (w * w + w) + w + 1;
}

/* Forward and backward pass of the network for the n x p inputs X.  A, D: L blocks of
 * n x w each (A_l = relu(H_l), D_l = df/dH_l).  Cost O(n p w + 2 n w^2 (L - 1)). */
/* The first layer's pre-activations without bias, H1 = sw X W1' / sqrt(p), are computed
 * here from X and W1, or copied from H1 when given (X and W1 then unused); rest: the
 * weights after W1 (b1, W2, ...).  Rows (individuals) are independent, so the pass runs
 * block of rows by block of rows, each block through every layer, with an interrupt poll
 * between blocks: a block is at most about NTK_PASS_FLOPS flops, so the pass stops within
 * a fraction of a second of Ctrl-C however large n and w are. */
#define NTK_PASS_FLOPS 4e9

static void pass_rows(const double *X, int n, int i0, int nb, int p, int w,
                      const ntk_arch *a, const double *W1, const double *rest,
                      const double *H1, double *A, double *D)
{
  const int L = a->depth;
  const double sw = a->sw, sb = a->sb, zero = 0.0;
  const size_t nw = (size_t) n * w;
  const double *W = W1;
  const double *bias = rest;
  double alpha = sw / sqrt((double) p);
  int fan = p;
  const double *in = X;
  for (int l = 0; l < L; l++) {
    double *Al = A + (size_t) l * nw;
    if (l == 0 && H1)
      for (int k = 0; k < w; k++)
        memcpy(Al + (size_t) k * n + i0, H1 + (size_t) k * n + i0, sizeof(double) * nb);
    else
      F77_CALL(dgemm)("N", "T", &nb, &w, &fan, &alpha, in + i0, &n, W, &w, &zero, Al + i0,
                      &n FCONE FCONE);
    for (int k = 0; k < w; k++) {
      double *col = Al + (size_t) k * n + i0, bk = sb * bias[k];
      for (int i = 0; i < nb; i++) {
        double h = col[i] + bk;
        col[i] = h > 0 ? h : 0.0;
      }
    }
    in = Al;
    fan = w;
    alpha = sw / sqrt((double) w);
    if (l + 1 < L) {
      W = bias + w;
      bias = W + (size_t) w * w;
    }
  }
  const double *v = bias + w;          /* read-out weights */
  const double g = sw / sqrt((double) w);
  /* D_L = g v' masked by relu'(H_L); then D_l = g (D_{l+1} W_{l+1}) masked by relu'(H_l) */
  double *DL = D + (size_t) (L - 1) * nw, *AL = A + (size_t) (L - 1) * nw;
  for (int k = 0; k < w; k++) {
    double vk = g * v[k];
    for (int i = i0; i < i0 + nb; i++)
      DL[i + (size_t) k * n] = AL[i + (size_t) k * n] > 0 ? vk : 0.0;
  }
  for (int l = L - 2; l >= 0; l--) {
    /* W_{l+2} in 1-based terms: the weights of hidden layer l + 1 (0-based) */
    const double *Wn = rest + w + (size_t) l * ((size_t) w * w + w);
    double *Dl = D + (size_t) l * nw, *Al = A + (size_t) l * nw;
    F77_CALL(dgemm)("N", "N", &nb, &w, &w, &g, D + (size_t) (l + 1) * nw + i0, &n, Wn, &w,
                    &zero, Dl + i0, &n FCONE FCONE);
    for (int k = 0; k < w; k++)
      for (int i = i0; i < i0 + nb; i++)
        if (!(Al[i + (size_t) k * n] > 0)) Dl[i + (size_t) k * n] = 0.0;
  }
}

/* Rows per block: the largest layer product of a block (rows x w x max(p, w) multiply-adds,
 * forward and backward) within NTK_PASS_FLOPS, at least 16 rows. */
static int pass_block_rows(int n, int p, int w, int depth)
{
  double fan = depth > 1 && w > p ? w : p;
  double per_row = 2.0 * w * fan * (depth > 1 ? 2.0 : 1.0);
  double r = NTK_PASS_FLOPS / per_row;
  int b = r >= n ? n : (int) r;
  return b < 16 ? (n < 16 ? n : 16) : b;
}

static int net_pass(const double *X, int n, int p, int w, const ntk_arch *a,
                    const double *W1, const double *rest, const double *H1,
                    double *A, double *D)
{
  const int nb = pass_block_rows(n, p, w, a->depth);
  for (int i0 = 0; i0 < n; i0 += nb) {
    pass_rows(X, n, i0, n - i0 < nb ? n - i0 : nb, p, w, a, W1, rest, H1, A, D);
    if (i0 + nb < n && ntk_interrupt_pending()) return NTK_ERR_INTERRUPTED;
  }
  return NTK_OK;
}

/* See ntkgen.h: the pass above, for the KARE training of the network (kare_train.c). */
int ntk_empirical_pass(const double *X, int n, int p, int width, const ntk_arch *a,
                       const double *weights, double *A, double *D)
{
  return net_pass(X, n, p, width, a, weights, weights + (size_t) width * p, NULL, A, D);
}

/* Row-wise kernel diagonal from a pass: d <- (acc ? d : 0) + scale * k(x_i, x_i).
 * Cost O(n p + n w L). */
static void pass_diag(const double *X, const double *xnorm, int n, int p, int w,
                      const ntk_arch *a, const double *A, const double *D, double scale,
                      int acc, double *d, double *tmp_in, double *tmp_d)
{
  const int L = a->depth;
  const double sw2 = a->sw * a->sw, sb2 = a->sb * a->sb;
  const size_t nw = (size_t) n * w;
  double *out = tmp_in + n;    /* tmp_in has 2n entries: input norms, running total */
  for (int i = 0; i < n; i++) out[i] = 0.0;
  for (int l = 0; l <= L; l++) {
    const double *in = l == 0 ? X : A + (size_t) (l - 1) * nw;
    int fan = l == 0 ? p : w;
    if (l == 0 && xnorm) memcpy(tmp_in, xnorm, sizeof(double) * n);
    else {
      for (int i = 0; i < n; i++) tmp_in[i] = 0.0;
      for (int k = 0; k < fan; k++) {
        const double *col = in + (size_t) k * n;
        for (int i = 0; i < n; i++) tmp_in[i] += col[i] * col[i];
      }
    }
    if (l == L) {              /* read-out */
      for (int i = 0; i < n; i++) out[i] += sw2 * tmp_in[i] / w + sb2;
    } else {
      const double *Dl = D + (size_t) l * nw;
      for (int i = 0; i < n; i++) tmp_d[i] = 0.0;
      for (int k = 0; k < w; k++) {
        const double *col = Dl + (size_t) k * n;
        for (int i = 0; i < n; i++) tmp_d[i] += col[i] * col[i];
      }
      for (int i = 0; i < n; i++) out[i] += (sw2 * tmp_in[i] / fan + sb2) * tmp_d[i];
    }
  }
  for (int i = 0; i < n; i++) d[i] = (acc ? d[i] : 0.0) + scale * out[i];
}

static int check_args(const double *X, int n, const double *Z, int m, int p, int width,
                      const ntk_arch *a, const double *weights)
{
  if (!X || !a || !weights || n < 1 || p < 1 || width < 1 || a->depth < 1 ||
      a->nthreads < 1 || !(a->sw >= 0) || !(a->sb >= 0) || (Z && m < 1))
    return NTK_ERR_ARG;
  return NTK_OK;
}

/* Diagonal k(x_i, x_i) of the empirical NTK: d <- (accumulate ? d : 0) + scale * diag.
 * Cost O(n p w + n w^2 L); memory O(n w L). */
int ntk_empirical_diag(const double *X, int n, int p, int width, const ntk_arch *a,
                       const double *weights, double scale, int accumulate, double *d)
{
  int st = check_args(X, n, NULL, 0, p, width, a, weights);
  if (st != NTK_OK || !d) return st != NTK_OK ? st : NTK_ERR_ARG;
  size_t nw = (size_t) n * width, L = (size_t) a->depth;
  double *A = malloc(sizeof(double) * (2 * L * nw + 3 * (size_t) n));
  if (!A) return NTK_ERR_ALLOC;
  double *D = A + L * nw, *tmp = D + L * nw;
  st = net_pass(X, n, p, width, a, weights, weights + (size_t) width * p, NULL, A, D);
  if (st == NTK_OK)
    pass_diag(X, NULL, n, p, width, a, A, D, scale, accumulate, d, tmp, tmp + 2 * (size_t) n);
  free(A);
  return st;
}

/* See ntkgen.h.  Cost O(n p w + n w^2 L + n^2 w L) (half of the Gram flops when
 * symmetric); memory K plus 2 L (n + m) w activations and 2 n * block Gram buffers. */
/* The kernel from the inputs X, Z and the weights W1, rest, or from a precomputed first
 * layer (pre != NULL): its H1 of X and Z, input Gram G0 (X X', lower triangle when
 * symmetric, else Z X') and squared input norms; then X, Z, W1 are unused (NULL). */
typedef struct {
  const double *H1x, *H1z, *G0, *gx, *gz;
} first_layer;

static int empirical_core(const double *X, int n, const double *Z, int m, int sym, int p,
                          int width, const ntk_arch *a, const double *W1,
                          const double *rest, const first_layer *pre, double scale,
                          int accumulate, double *K, double *diag_rows, double *diag_cols)
{
  const int L = a->depth, w = width, nr = sym ? n : m;
  const int nthreads = ntk_threads(a->nthreads);
  const double sw2 = a->sw * a->sw, sb2 = a->sb * a->sb, one = 1.0, zero = 0.0;
  const size_t nw = (size_t) n * w, mw = sym ? 0 : (size_t) m * w;
  /* columns per block: NTK_EMPIRICAL_BLOCK, fewer when one block's Gram product
   * (rows x B x w multiply-adds) would exceed NTK_PASS_FLOPS, so that the polls between
   * blocks and layers come within a fraction of a second */
  int B = NTK_EMPIRICAL_BLOCK;
  {
    double cap = NTK_PASS_FLOPS / (2.0 * nr * (w > p ? w : p));
    if (cap < B) B = cap < 32 ? 32 : (int) cap;
  }
  size_t need = 2 * (size_t) L * (nw + mw) + 2 * (size_t) nr * B + 3 * (size_t) nr;
  double *mem = malloc(sizeof(double) * need);
  if (!mem) return NTK_ERR_ALLOC;
  double *AX = mem, *DX = AX + L * nw, *AZ = DX + L * nw, *DZ = AZ + L * mw;
  double *G1 = DZ + L * mw, *G2 = G1 + (size_t) nr * B, *tmp = G2 + (size_t) nr * B;

  int status = net_pass(X, n, p, w, a, W1, rest, pre ? pre->H1x : NULL, AX, DX);
  if (status == NTK_OK && !sym)
    status = net_pass(Z, m, p, w, a, W1, rest, pre ? pre->H1z : NULL, AZ, DZ);
  const double *AR = sym ? AX : AZ, *DR = sym ? DX : DZ, *R0 = sym ? X : Z;
  const double *nR = pre ? (sym ? pre->gx : pre->gz) : NULL;
  if (status == NTK_OK && ntk_interrupt_pending()) status = NTK_ERR_INTERRUPTED;

  for (int j0 = 0; j0 < n && status == NTK_OK; j0 += B) {
    int b = n - j0 < B ? n - j0 : B;
    int r0 = sym ? j0 : 0, rows = nr - r0;
    for (int l = 0; l <= L && status == NTK_OK; l++) {
      if (l > 0 && ntk_interrupt_pending()) { status = NTK_ERR_INTERRUPTED; break; }
      /* G1 = Gram of the inputs of layer l (l == L: the read-out), G2 = Gram of D_l */
      const double *inR = l == 0 ? R0 : AR + (size_t) (l - 1) * (sym ? nw : mw);
      const double *inX = l == 0 ? X : AX + (size_t) (l - 1) * nw;
      int fan = l == 0 ? p : w;
      /* layer 0 from the precomputed Gram: column j0 + jj at G0 + (j0 + jj) nr + r0 */
      const int g0 = (l == 0 && pre);
      if (!g0)
        F77_CALL(dgemm)("N", "T", &rows, &b, &fan, &one, inR + r0, &nr, inX + j0, &n,
                        &zero, G1, &rows FCONE FCONE);
      double ca = sw2 / fan;
      if (l < L) {
        const double *dR = DR + (size_t) l * (sym ? nw : mw), *dX = DX + (size_t) l * nw;
        F77_CALL(dgemm)("N", "T", &rows, &b, &w, &one, dR + r0, &nr, dX + j0, &n,
                        &zero, G2, &rows FCONE FCONE);
      }
      int first = (l == 0) && !accumulate;
      for (int jj = 0; jj < b; jj++) {
        int j = j0 + jj, i0 = sym ? jj : 0;     /* local row index start */
        double *col = K + (size_t) j * nr + r0;
        const double *g1 = g0 ? pre->G0 + (size_t) j * nr + r0 : G1 + (size_t) jj * rows;
        const double *g2 = G2 + (size_t) jj * rows;
        if (l < L) {
          if (first) for (int i = i0; i < rows; i++) col[i] = scale * (ca * g1[i] + sb2) * g2[i];
          else for (int i = i0; i < rows; i++) col[i] += scale * (ca * g1[i] + sb2) * g2[i];
        } else {
          for (int i = i0; i < rows; i++) col[i] += scale * (ca * g1[i] + sb2);
        }
      }
    }
    ntk_progress((double) (j0 + b) / n);
    if (j0 + b < n && ntk_interrupt_pending()) status = NTK_ERR_INTERRUPTED;
  }
  if (status == NTK_OK) {
    if (sym) ntk_mirror_lower(K, n, nthreads);
    if (diag_rows)
      pass_diag(R0, nR, nr, p, w, a, AR, DR, scale, accumulate, diag_rows, tmp,
                tmp + 2 * (size_t) nr);
    if (diag_cols) {
      double *t2 = malloc(sizeof(double) * 3 * (size_t) n);
      if (!t2) status = NTK_ERR_ALLOC;
      else {
        pass_diag(X, pre ? pre->gx : NULL, n, p, w, a, AX, DX, scale, accumulate, diag_cols,
                  t2, t2 + 2 * (size_t) n);
        free(t2);
      }
    }
  }
  free(mem);
  return status;
}

int ntk_empirical(const double *X, int n, const double *Z, int m, int p, int width,
                  const ntk_arch *a, const double *weights, double scale, int accumulate,
                  double *K, double *diag_rows)
{
  int st = check_args(X, n, Z, m, p, width, a, weights);
  if (st != NTK_OK || !K) return st != NTK_OK ? st : NTK_ERR_ARG;
  return empirical_core(X, n, Z, m, Z == NULL, p, width, a, weights,
                        weights + (size_t) width * p, NULL, scale, accumulate, K, diag_rows,
                        NULL);
}

/* See ntkgen.h. */
int ntk_empirical_first_layer(int n, int m, int p, int width, const ntk_arch *a,
                              const double *H1x, const double *H1z, const double *G0,
                              const double *gx, const double *gz, const double *rest,
                              double scale, int accumulate, double *K, double *diag_rows,
                              double *diag_cols)
{
  if (!a || n < 1 || p < 1 || width < 1 || a->depth < 1 || a->nthreads < 1 ||
      !(a->sw >= 0) || !(a->sb >= 0) || !H1x || !G0 || !gx || !rest || !K ||
      (H1z && (m < 1 || !gz)))
    return NTK_ERR_ARG;
  first_layer pre = {H1x, H1z, G0, gx, gz};
  return empirical_core(NULL, n, NULL, m, H1z == NULL, p, width, a, NULL, rest, &pre,
                        scale, accumulate, K, diag_rows, diag_cols);
}
