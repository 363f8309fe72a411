/* CUDA path of the NTK kernels: same contracts as ntk_analytic() / ntk_empirical()
 * (see ntkgen.h).  Core file: plain pointers, no R headers, no printing.
 *
 * Products by cuBLAS (dsyrk for symmetric blocks, dgemm otherwise), everything else by
 * small element-wise kernels, double precision throughout.  The result is built in
 * tiles of the output so that an n x n kernel larger than the device memory is still
 * computed; the inputs (and, for the empirical kernel, the per-layer activations and
 * back-propagated signals) stay resident on the device.  Every CUDA / cuBLAS return is
 * checked, and every device allocation is released on every path. */
#include <cuda_runtime.h>
#include <cublas_v2.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>

extern "C" {
#include "ntkgen.h"
}

#include "ntk_layer.h"
#define NTK_CU_THREADS 256
#define NTK_CU_MAX_BLOCKS 65535u
#ifndef NTK_CU_MARGIN               /* device memory left for cuBLAS and the driver */
#define NTK_CU_MARGIN ((size_t) 128 << 20)
#endif

/* ---- device helpers ------------------------------------------------------------- */

/* One step of the ReLU arc-cosine recursion for an off-diagonal pair: updates sigma
 * (the pre-activation covariance) and theta by the step shared with the CPU path
 * (ntk_layer.h).  sxx, syy: the pair's own variances at this layer.  A zero variance
 * gives c = 0 (no NaN). */
__host__ __device__ static inline void ntk_relu_step(double *sigma, double *theta,
                                                     double sxx, double syy,
                                                     double sw2, double sb2)
{
  double prod = sxx * syy;
  double nrm = prod > 0.0 ? sqrt(prod) : 0.0;
  double c = ntk_layer_cos(nrm > 0.0 ? *sigma / nrm : 0.0);
  double k1 = sw2 / (2.0 * NTK_PI);
  ntk_layer_step(c, NTK_PI - acos(c), k1 * nrm, k1, sb2, sigma, theta);
}

/* Analytic NTK of a pair from Sigma0(x, y) = s0 and the own variances sx0, sy0. */
__host__ __device__ static inline double ntk_pair(double s0, double sx0, double sy0,
                                                  int depth, double sw2, double sb2)
{
  double sigma = s0, theta = s0, sxx = sx0, syy = sy0;
  for (int l = 0; l < depth; l++) {
    ntk_relu_step(&sigma, &theta, sxx, syy, sw2, sb2);
    sxx = 0.5 * sw2 * sxx + sb2;
    syy = 0.5 * sw2 * syy + sb2;
  }
  return theta;
}

/* Analytic NTK of a point with itself (t = 0: Sdot = sw^2 / 2). */
__host__ __device__ static inline double ntk_self(double sx0, int depth, double sw2,
                                                  double sb2)
{
  double sxx = sx0, theta = sx0;
  for (int l = 0; l < depth; l++) {
    sxx = 0.5 * sw2 * sxx + sb2;
    theta = theta * (0.5 * sw2) + sxx;
  }
  return theta;
}

static unsigned int ntk_blocks(size_t n)
{
  size_t b = (n + NTK_CU_THREADS - 1) / NTK_CU_THREADS;
  if (b < 1) b = 1;
  if (b > NTK_CU_MAX_BLOCKS) b = NTK_CU_MAX_BLOCKS;
  return (unsigned int) b;
}

#define NTK_GRID_LOOP(idx, total)                                                    \
  for (size_t idx = (size_t) blockIdx.x * blockDim.x + threadIdx.x; idx < (total);     \
       idx += (size_t) blockDim.x * gridDim.x)

/* out[i] = alpha * sum_k A[i + k lda]^2 + beta, i < nrow. */
__global__ static void k_rowsq(const double *A, int lda, int nrow, int ncol,
                               double alpha, double beta, double *out)
{
  NTK_GRID_LOOP(i, (size_t) nrow) {
    double s = 0.0;
    for (int k = 0; k < ncol; k++) {
      double v = A[i + (size_t) k * lda];
      s += v * v;
    }
    out[i] = alpha * s + beta;
  }
}

/* In place on the rb x cb tile G (ld rb) holding sw^2 <x, y> / p: Theta of each pair.
 * sxr, sxc: Sigma0 of the tile's rows and columns.  sym: a diagonal tile of the
 * symmetric kernel whose lower triangle only is valid; both triangles are written
 * and the diagonal uses the t = 0 recursion. */
__global__ static void k_analytic(double *G, int rb, int cb, const double *sxr,
                                  const double *sxc, int depth, double sw2, double sb2,
                                  int sym)
{
  size_t total = (size_t) rb * cb;
  NTK_GRID_LOOP(idx, total) {
    int i = (int) (idx % rb), j = (int) (idx / rb);
    if (sym) {
      if (i < j) continue;
      if (i == j) {
        G[idx] = ntk_self(sxr[i], depth, sw2, sb2);
      } else {
        double v = ntk_pair(G[idx] + sb2, sxr[i], sxc[j], depth, sw2, sb2);
        G[idx] = v;
        G[j + (size_t) i * rb] = v;
      }
    } else {
      G[idx] = ntk_pair(G[idx] + sb2, sxr[i], sxc[j], depth, sw2, sb2);
    }
  }
}

/* out[i] = analytic NTK of point i with itself, from its Sigma0 sx[i]. */
__global__ static void k_self(const double *sx, int n, int depth, double sw2, double sb2,
                              double *out)
{
  NTK_GRID_LOOP(i, (size_t) n) out[i] = ntk_self(sx[i], depth, sw2, sb2);
}

/* H (n x w) <- relu(H + sb * 1 b'). */
__global__ static void k_bias_relu(double *H, int n, int w, const double *b, double sb)
{
  size_t total = (size_t) n * w;
  NTK_GRID_LOOP(idx, total) {
    double h = H[idx] + sb * b[idx / n];
    H[idx] = h > 0.0 ? h : 0.0;
  }
}

/* D (n x w) <- 1(A > 0) .* (coef v') : the back-propagated signal at the last layer. */
__global__ static void k_dlast(const double *A, int n, int w, const double *v, double coef,
                               double *D)
{
  size_t total = (size_t) n * w;
  NTK_GRID_LOOP(idx, total) D[idx] = A[idx] > 0.0 ? coef * v[idx / n] : 0.0;
}

/* D <- D .* 1(A > 0), elementwise over len entries (relu'(h) = 1(h > 0) = 1(a > 0)). */
__global__ static void k_mask(double *D, const double *A, size_t len)
{
  NTK_GRID_LOOP(idx, len) if (!(A[idx] > 0.0)) D[idx] = 0.0;
}

/* TK += (TA + sb2) .* TD over an rb x cb tile; sym: lower triangle only. */
__global__ static void k_hadamard_acc(double *TK, const double *TA, const double *TD,
                                      int rb, int cb, double sb2, int sym)
{
  size_t total = (size_t) rb * cb;
  NTK_GRID_LOOP(idx, total) {
    if (sym && (int) (idx % rb) < (int) (idx / rb)) continue;
    TK[idx] += (TA[idx] + sb2) * TD[idx];
  }
}

/* out (rb x cb) <- (acc ? out : 0) + scale * (T + add).  sym: T valid in its lower
 * triangle only; out receives both triangles. */
__global__ static void k_finish(const double *T, int rb, int cb, double add, double scale,
                                int acc, double *out, int sym)
{
  size_t total = (size_t) rb * cb;
  NTK_GRID_LOOP(idx, total) {
    int i = (int) (idx % rb), j = (int) (idx / rb);
    if (sym) {
      if (i < j) continue;
      double v = scale * (T[idx] + add);
      out[idx] = (acc ? out[idx] : 0.0) + v;
      if (i != j) {
        size_t t = j + (size_t) i * rb;
        out[t] = (acc ? out[t] : 0.0) + v;
      }
    } else {
      out[idx] = (acc ? out[idx] : 0.0) + scale * (T[idx] + add);
    }
  }
}

/* outT (cb x rb) <- (acc ? outT : 0) + scale * (T + add)'  for T rb x cb. */
__global__ static void k_finish_t(const double *T, int rb, int cb, double add, double scale,
                                  int acc, double *outT)
{
  size_t total = (size_t) rb * cb;
  NTK_GRID_LOOP(idx, total) {
    int i = (int) (idx % rb), j = (int) (idx / rb);
    size_t t = j + (size_t) i * cb;
    outT[t] = (acc ? outT[t] : 0.0) + scale * (T[idx] + add);
  }
}

/* d[i] += alpha * a[i] + sb2 (b == NULL), or (alpha * a[i] + sb2) * b[i]. */
__global__ static void k_diag_acc(double *d, const double *a, const double *b, int n,
                                  double alpha, double sb2)
{
  NTK_GRID_LOOP(i, (size_t) n) {
    double g = alpha * a[i] + sb2;
    d[i] += b ? g * b[i] : g;
  }
}

/* ---- host side -------------------------------------------------------------------- */

/* Every device allocation of one call, released together. */
#define NTK_CU_MAXPTR 32
typedef struct {
  void *p[NTK_CU_MAXPTR];   /* device buffers */
  int np;
  void *h[NTK_CU_MAXPTR];   /* host buffers (malloc) */
  int nh;
  cublasHandle_t handle;
  int have_handle;
} ntk_cu_ctx;

static void ctx_init(ntk_cu_ctx *c)
{
  c->np = 0;
  c->nh = 0;
  c->have_handle = 0;
  c->handle = NULL;
}

static int ctx_free(ntk_cu_ctx *c, int status)
{
  for (int i = 0; i < c->np; i++) cudaFree(c->p[i]);
  c->np = 0;
  for (int i = 0; i < c->nh; i++) free(c->h[i]);
  c->nh = 0;
  if (c->have_handle) cublasDestroy(c->handle);
  c->have_handle = 0;
  cudaGetLastError(); /* leave no sticky error behind for the next call */
  return status;
}

static int cu_status(cudaError_t e)
{
  if (e == cudaSuccess) return NTK_OK;
  cudaGetLastError();
  return e == cudaErrorMemoryAllocation ? NTK_ERR_ALLOC : NTK_ERR_CUDA;
}

static int cb_status(cublasStatus_t s)
{
  if (s == CUBLAS_STATUS_SUCCESS) return NTK_OK;
  return s == CUBLAS_STATUS_ALLOC_FAILED ? NTK_ERR_ALLOC : NTK_ERR_CUDA;
}

/* Device buffer of len doubles (len 0: a 1-element buffer), registered in ctx. */
static int ctx_alloc(ntk_cu_ctx *c, size_t len, double **out)
{
  *out = NULL;
  if (c->np >= NTK_CU_MAXPTR) return NTK_ERR_ALLOC;
  void *p = NULL;
  cudaError_t e = cudaMalloc(&p, (len > 0 ? len : 1) * sizeof(double));
  if (e != cudaSuccess) {
    cudaGetLastError();
    return e == cudaErrorMemoryAllocation ? NTK_ERR_ALLOC : NTK_ERR_CUDA;
  }
  c->p[c->np++] = p;
  *out = (double *) p;
  return NTK_OK;
}

/* Host buffer of len bytes, registered in ctx. */
static int ctx_host(ntk_cu_ctx *c, size_t len, void **out)
{
  *out = NULL;
  if (c->nh >= NTK_CU_MAXPTR) return NTK_ERR_ALLOC;
  void *p = malloc(len > 0 ? len : 1);
  if (p == NULL) return NTK_ERR_ALLOC;
  c->h[c->nh++] = p;
  *out = p;
  return NTK_OK;
}

#define NTK_TRY(expr)                                                                  \
  do {                                                                                 \
    int st_ = (expr);                                                                  \
    if (st_ != NTK_OK) return ctx_free(&ctx, st_);                                     \
  } while (0)
#define NTK_CUDA(expr) NTK_TRY(cu_status(expr))
#define NTK_CUBLAS(expr) NTK_TRY(cb_status(expr))
#define NTK_LAUNCHED() NTK_TRY(cu_status(cudaGetLastError()))

/* Creates the cuBLAS handle, then reports the device memory (bytes) that this call may
 * use: free memory less a margin for cuBLAS workspaces and the driver. */
static int ctx_start(ntk_cu_ctx *c, size_t *budget)
{
  cublasStatus_t s = cublasCreate(&c->handle);
  if (s != CUBLAS_STATUS_SUCCESS) {
    cudaGetLastError();
    return cb_status(s);
  }
  c->have_handle = 1;
  s = cublasSetPointerMode(c->handle, CUBLAS_POINTER_MODE_HOST);
  if (s != CUBLAS_STATUS_SUCCESS) return cb_status(s);
  size_t fr = 0, tot = 0;
  int st = cu_status(cudaMemGetInfo(&fr, &tot));
  if (st != NTK_OK) return st;
  size_t margin = NTK_CU_MARGIN;
  if (fr / 20 > margin) margin = fr / 20;
  *budget = fr > margin ? fr - margin : 0;
  return NTK_OK;
}

/* Tile sizes for an R x C output from `elems` doubles per tile buffer: a single tile
 * when it fits, else square tiles (sym: diagonal tiles must be square) or
 * min(R, sqrt(elems)) rows by as many columns as fit.
 * Returns 0 when not even a minimal tile fits. */
static int choose_tiles(int R, int C, int sym, size_t elems, int *rb, int *cb)
{
  const size_t min_side = 32;
  if ((size_t) R * C <= elems) {
    *rb = R;
    *cb = C;
    return 1;
  }
  size_t t = (size_t) sqrt((double) elems);
  while (t * t > elems) t--;
  while ((t + 1) * (t + 1) <= elems) t++;
  if (sym) {
    if (t < min_side) return 0;
    *rb = *cb = (int) (t < (size_t) R ? t : (size_t) R);
    return 1;
  }
  size_t r = (size_t) R < t ? (size_t) R : t;
  if (r < 1) return 0;
  size_t cc = elems / r;
  if (cc > (size_t) C) cc = (size_t) C;
  if (cc < min_side && cc < (size_t) C) return 0;
  *rb = (int) r;
  *cb = (int) cc;
  return 1;
}

/* Copies the rb x cb device tile (ld rb) into K[r0.., c0..] (ld ldK), or back. */
static cudaError_t tile_to_host(double *K, int ldK, int r0, int c0, const double *T,
                                int rb, int cb)
{
  return cudaMemcpy2D(K + r0 + (size_t) c0 * ldK, (size_t) ldK * sizeof(double), T,
                      (size_t) rb * sizeof(double), (size_t) rb * sizeof(double),
                      (size_t) cb, cudaMemcpyDeviceToHost);
}

static cudaError_t tile_from_host(double *T, const double *K, int ldK, int r0, int c0,
                                  int rb, int cb)
{
  return cudaMemcpy2D(T, (size_t) rb * sizeof(double), K + r0 + (size_t) c0 * ldK,
                      (size_t) ldK * sizeof(double), (size_t) rb * sizeof(double),
                      (size_t) cb, cudaMemcpyHostToDevice);
}

static cudaError_t to_device(double *dst, const double *src, size_t len)
{
  return cudaMemcpy(dst, src, len * sizeof(double), cudaMemcpyHostToDevice);
}

extern "C" int ntk_cuda_device_count(void)
{
  int count = 0;
  cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) {
    cudaGetLastError();
    return 0;
  }
  return count > 0 ? count : 0;
}

static int check_common(const double *X, int n, const double *Z, int m, int p,
                        const ntk_arch *a, double *K)
{
  if (X == NULL || K == NULL || a == NULL || n < 1 || p < 1 || a->depth < 0) return 0;
  if (Z != NULL && m < 1) return 0;
  if (!(a->sw >= 0.0) || !(a->sb >= 0.0)) return 0;
  return 1;
}

/* Analytic infinite-width NTK on the GPU.  Cost O(n^2 p / 2 + n^2 L) (symmetric) or
 * O(m n p + m n L) flops on the device; device memory (n + m) p plus one or two tiles
 * of K (the whole K when it fits). */
extern "C" int ntk_cuda_analytic(const double *X, int n, const double *Z, int m, int p,
                                 const ntk_arch *a, double *K, double *diag_rows)
{
  if (!check_common(X, n, Z, m, p, a, K)) return NTK_ERR_ARG;
  if (ntk_cuda_device_count() < 1) return NTK_ERR_NO_CUDA;

  const int sym = (Z == NULL);
  const int R = sym ? n : m;         /* rows of K */
  const int L = a->depth;
  const double sw2 = a->sw * a->sw, sb2 = a->sb * a->sb;
  const double galpha = sw2 / p, zero = 0.0;

  ntk_cu_ctx ctx;
  ctx_init(&ctx);
  size_t budget = 0;
  NTK_TRY(ctx_start(&ctx, &budget));

  size_t resident = ((size_t) n * p + (sym ? 0 : (size_t) m * p) + (size_t) n + 2 * (size_t) R) *
                    sizeof(double);
  if (resident >= budget) return ctx_free(&ctx, NTK_ERR_ALLOC);
  size_t elems = (budget - resident) / sizeof(double);
  int rb = 0, cb = 0, nbuf = 1;
  if (!sym || (size_t) n * n > elems) {
    /* tiled symmetric output needs a second buffer for the mirrored tile */
    if (sym) nbuf = 2;
    if (!choose_tiles(R, n, sym, elems / nbuf, &rb, &cb))
      return ctx_free(&ctx, NTK_ERR_ALLOC);
    if (sym && rb == n) nbuf = 1;
  } else {
    rb = cb = n;
  }

  double *dX = NULL, *dZ = NULL, *sxX = NULL, *sxZ = NULL, *T = NULL, *TT = NULL;
  NTK_TRY(ctx_alloc(&ctx, (size_t) n * p, &dX));
  NTK_CUDA(to_device(dX, X, (size_t) n * p));
  NTK_TRY(ctx_alloc(&ctx, (size_t) n, &sxX));
  k_rowsq<<<ntk_blocks(n), NTK_CU_THREADS>>>(dX, n, n, p, galpha, sb2, sxX);
  NTK_LAUNCHED();
  const double *dR = dX, *sxR = sxX;
  if (!sym) {
    NTK_TRY(ctx_alloc(&ctx, (size_t) m * p, &dZ));
    NTK_CUDA(to_device(dZ, Z, (size_t) m * p));
    NTK_TRY(ctx_alloc(&ctx, (size_t) m, &sxZ));
    k_rowsq<<<ntk_blocks(m), NTK_CU_THREADS>>>(dZ, m, m, p, galpha, sb2, sxZ);
    NTK_LAUNCHED();
    dR = dZ;
    sxR = sxZ;
  }
  NTK_TRY(ctx_alloc(&ctx, (size_t) rb * cb, &T));
  if (nbuf == 2) NTK_TRY(ctx_alloc(&ctx, (size_t) rb * cb, &TT));

  for (int c0 = 0; c0 < n; c0 += cb) {
    int cbn = n - c0 < cb ? n - c0 : cb;
    for (int r0 = sym ? c0 : 0; r0 < R; r0 += rb) {
      int rbn = R - r0 < rb ? R - r0 : rb;
      int diag = sym && r0 == c0;
      if (diag) {
        NTK_CUBLAS(cublasDsyrk(ctx.handle, CUBLAS_FILL_MODE_LOWER, CUBLAS_OP_N, rbn, p,
                               &galpha, dR + r0, R, &zero, T, rbn));
      } else {
        NTK_CUBLAS(cublasDgemm(ctx.handle, CUBLAS_OP_N, CUBLAS_OP_T, rbn, cbn, p, &galpha,
                               dR + r0, R, dX + c0, n, &zero, T, rbn));
      }
      size_t tot = (size_t) rbn * cbn;
      k_analytic<<<ntk_blocks(tot), NTK_CU_THREADS>>>(T, rbn, cbn, sxR + r0, sxX + c0, L,
                                                      sw2, sb2, diag);
      NTK_LAUNCHED();
      NTK_CUDA(tile_to_host(K, R, r0, c0, T, rbn, cbn));
      if (sym && !diag) { /* the mirrored block K[c0.., r0..] */
        k_finish_t<<<ntk_blocks(tot), NTK_CU_THREADS>>>(T, rbn, cbn, 0.0, 1.0, 0, TT);
        NTK_LAUNCHED();
        NTK_CUDA(tile_to_host(K, n, c0, r0, TT, cbn, rbn));
      }
      if (ntk_interrupt_pending()) return ctx_free(&ctx, NTK_ERR_INTERRUPTED);
    }
  }

  if (diag_rows != NULL) {
    if (sym) {
      for (int i = 0; i < n; i++) diag_rows[i] = K[i + (size_t) i * n];
    } else {
      double *dd = NULL;
      NTK_TRY(ctx_alloc(&ctx, (size_t) m, &dd));
      k_self<<<ntk_blocks(m), NTK_CU_THREADS>>>(sxZ, m, L, sw2, sb2, dd);
      NTK_LAUNCHED();
      NTK_CUDA(cudaMemcpy(diag_rows, dd, (size_t) m * sizeof(double),
                          cudaMemcpyDeviceToHost));
    }
  }
  NTK_CUDA(cudaDeviceSynchronize());
  return ctx_free(&ctx, NTK_OK);
}

/* Forward and backward pass of the rows of dIn (nr x p, on the device) through the
 * network with device weights dW: A[l] (l = 1..L, nr x w) the activations, D[l]
 * (l = 1..L, nr x w) the back-propagated signals df/dh_l.  Cost O(nr (p w + L w^2)). */
static int emp_features(cublasHandle_t h, const double *dIn, int nr, int p, int w, int L,
                        const double *dW, double sw, double sb, double **A, double **D)
{
  const double zero = 0.0;
  const size_t off_b1 = (size_t) w * p;
  const size_t per = (size_t) w * w + w;          /* W_l and b_l for l >= 2 */
  const size_t off_v = off_b1 + w + (size_t) (L - 1) * per;
  cublasStatus_t s;
  cudaError_t e;
  size_t nw = (size_t) nr * w;

  double alpha = sw / sqrt((double) p);
  s = cublasDgemm(h, CUBLAS_OP_N, CUBLAS_OP_T, nr, w, p, &alpha, dIn, nr, dW, w, &zero,
                  A[1], nr);
  if (s != CUBLAS_STATUS_SUCCESS) return cb_status(s);
  k_bias_relu<<<ntk_blocks(nw), NTK_CU_THREADS>>>(A[1], nr, w, dW + off_b1, sb);
  if ((e = cudaGetLastError()) != cudaSuccess) return cu_status(e);

  alpha = sw / sqrt((double) w);
  for (int l = 2; l <= L; l++) {
    const double *Wl = dW + off_b1 + w + (size_t) (l - 2) * per;
    const double *bl = Wl + (size_t) w * w;
    s = cublasDgemm(h, CUBLAS_OP_N, CUBLAS_OP_T, nr, w, w, &alpha, A[l - 1], nr, Wl, w,
                    &zero, A[l], nr);
    if (s != CUBLAS_STATUS_SUCCESS) return cb_status(s);
    k_bias_relu<<<ntk_blocks(nw), NTK_CU_THREADS>>>(A[l], nr, w, bl, sb);
    if ((e = cudaGetLastError()) != cudaSuccess) return cu_status(e);
  }

  k_dlast<<<ntk_blocks(nw), NTK_CU_THREADS>>>(A[L], nr, w, dW + off_v, alpha, D[L]);
  if ((e = cudaGetLastError()) != cudaSuccess) return cu_status(e);
  for (int l = L - 1; l >= 1; l--) {
    const double *Wn = dW + off_b1 + w + (size_t) (l - 1) * per; /* W_{l+1}, w x w */
    s = cublasDgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, nr, w, w, &alpha, D[l + 1], nr, Wn, w,
                    &zero, D[l], nr);
    if (s != CUBLAS_STATUS_SUCCESS) return cb_status(s);
    k_mask<<<ntk_blocks(nw), NTK_CU_THREADS>>>(D[l], A[l], nw);
    if ((e = cudaGetLastError()) != cudaSuccess) return cu_status(e);
  }
  return NTK_OK;
}

/* Row-wise NTK k(x_i, x_i) of the rows with features A (A[0] = inputs, nr x p) and D
 * into the device vector d (length nr), using t1, t2 (length nr) as work space. */
static int emp_diag(const double *const *A, const double *const *D, int nr, int p, int w,
                    int L, double sw2, double sb2, double *d, double *t1, double *t2)
{
  cudaError_t e = cudaMemset(d, 0, (size_t) nr * sizeof(double));
  if (e != cudaSuccess) return cu_status(e);
  for (int l = 1; l <= L; l++) {
    int fan = l == 1 ? p : w;
    k_rowsq<<<ntk_blocks(nr), NTK_CU_THREADS>>>(A[l - 1], nr, nr, fan, 1.0, 0.0, t1);
    k_rowsq<<<ntk_blocks(nr), NTK_CU_THREADS>>>(D[l], nr, nr, w, 1.0, 0.0, t2);
    k_diag_acc<<<ntk_blocks(nr), NTK_CU_THREADS>>>(d, t1, t2, nr, sw2 / fan, sb2);
    if ((e = cudaGetLastError()) != cudaSuccess) return cu_status(e);
  }
  k_rowsq<<<ntk_blocks(nr), NTK_CU_THREADS>>>(A[L], nr, nr, w, 1.0, 0.0, t1);
  k_diag_acc<<<ntk_blocks(nr), NTK_CU_THREADS>>>(d, t1, NULL, nr, sw2 / w, sb2);
  if ((e = cudaGetLastError()) != cudaSuccess) return cu_status(e);
  return NTK_OK;
}

/* Empirical NTK on the GPU: K <- (accumulate ? K : 0) + scale * Theta (diag_rows too).
 * Cost O((n + m)(p w + L w^2)) for the passes plus O(n^2 (p + 2 L w) / 2) (symmetric)
 * or O(m n (p + 2 L w)) for the Gram products; device memory (n + m)(p + 2 L w) plus
 * three tiles of K (three copies of K when it fits). */
extern "C" int ntk_cuda_empirical(const double *X, int n, const double *Z, int m, int p,
                                  int width, const ntk_arch *a, const double *weights,
                                  double scale, int accumulate, double *K,
                                  double *diag_rows)
{
  if (!check_common(X, n, Z, m, p, a, K) || width < 1 || weights == NULL)
    return NTK_ERR_ARG;
  if (ntk_cuda_device_count() < 1) return NTK_ERR_NO_CUDA;

  const int sym = (Z == NULL);
  const int R = sym ? n : m;
  const int L = a->depth, w = width;
  const double sw = a->sw, sb = a->sb, sw2 = sw * sw, sb2 = sb * sb, one = 1.0,
               zero = 0.0;
  const int acc = accumulate ? 1 : 0;
  const size_t nweights = (size_t) w * p + w + (size_t) (L - 1) * ((size_t) w * w + w) +
                          w + 1;
  ntk_cu_ctx ctx;
  ctx_init(&ctx);
  size_t budget = 0;
  NTK_TRY(ctx_start(&ctx, &budget));

  size_t rows_all = (size_t) n + (sym ? 0 : (size_t) m);
  size_t resident = (nweights + rows_all * ((size_t) p + 2 * (size_t) L * w) +
                     3 * (size_t) R) * sizeof(double);
  if (resident >= budget) return ctx_free(&ctx, NTK_ERR_ALLOC);
  int rb = 0, cb = 0;
  if (!choose_tiles(R, n, sym, (budget - resident) / sizeof(double) / 3, &rb, &cb))
    return ctx_free(&ctx, NTK_ERR_ALLOC);

  /* feature pointers: A[0] the inputs, A[l], D[l] (l = 1..L) slices of one buffer each */
  double **AX = NULL, **DX = NULL, **AZ = NULL, **DZ = NULL;
  NTK_TRY(ctx_host(&ctx, 4 * ((size_t) L + 1) * sizeof(double *), (void **) &AX));
  DX = AX + (L + 1);
  AZ = DX + (L + 1);
  DZ = AZ + (L + 1);
  for (int l = 0; l <= L; l++) AX[l] = DX[l] = AZ[l] = DZ[l] = NULL;

  double *dW = NULL, *bufA = NULL, *bufD = NULL;
  NTK_TRY(ctx_alloc(&ctx, nweights, &dW));
  NTK_CUDA(to_device(dW, weights, nweights));
  NTK_TRY(ctx_alloc(&ctx, (size_t) n * p, &AX[0]));
  NTK_CUDA(to_device(AX[0], X, (size_t) n * p));
  NTK_TRY(ctx_alloc(&ctx, (size_t) n * w * L, &bufA));
  NTK_TRY(ctx_alloc(&ctx, (size_t) n * w * L, &bufD));
  for (int l = 1; l <= L; l++) {
    AX[l] = bufA + (size_t) (l - 1) * n * w;
    DX[l] = bufD + (size_t) (l - 1) * n * w;
  }
  NTK_TRY(emp_features(ctx.handle, AX[0], n, p, w, L, dW, sw, sb, AX, DX));
  double **AR = AX, **DR = DX;
  if (!sym) {
    NTK_TRY(ctx_alloc(&ctx, (size_t) m * p, &AZ[0]));
    NTK_CUDA(to_device(AZ[0], Z, (size_t) m * p));
    NTK_TRY(ctx_alloc(&ctx, (size_t) m * w * L, &bufA));
    NTK_TRY(ctx_alloc(&ctx, (size_t) m * w * L, &bufD));
    for (int l = 1; l <= L; l++) {
      AZ[l] = bufA + (size_t) (l - 1) * m * w;
      DZ[l] = bufD + (size_t) (l - 1) * m * w;
    }
    NTK_TRY(emp_features(ctx.handle, AZ[0], m, p, w, L, dW, sw, sb, AZ, DZ));
    AR = AZ;
    DR = DZ;
  }

  double *TK = NULL, *TA = NULL, *TD = NULL;
  NTK_TRY(ctx_alloc(&ctx, (size_t) rb * cb, &TK));
  NTK_TRY(ctx_alloc(&ctx, (size_t) rb * cb, &TA));
  NTK_TRY(ctx_alloc(&ctx, (size_t) rb * cb, &TD));

  for (int c0 = 0; c0 < n; c0 += cb) {
    int cbn = n - c0 < cb ? n - c0 : cb;
    for (int r0 = sym ? c0 : 0; r0 < R; r0 += rb) {
      int rbn = R - r0 < rb ? R - r0 : rb;
      int diag = sym && r0 == c0;
      size_t tot = (size_t) rbn * cbn;
      /* read-out weights: TK = sw^2 A_L A_L' / w (its bias sb^2 is added at the end) */
      double al = sw2 / w;
      if (diag) {
        NTK_CUBLAS(cublasDsyrk(ctx.handle, CUBLAS_FILL_MODE_LOWER, CUBLAS_OP_N, rbn, w,
                               &al, AR[L] + r0, R, &zero, TK, rbn));
      } else {
        NTK_CUBLAS(cublasDgemm(ctx.handle, CUBLAS_OP_N, CUBLAS_OP_T, rbn, cbn, w, &al,
                               AR[L] + r0, R, AX[L] + c0, n, &zero, TK, rbn));
      }
      for (int l = 1; l <= L; l++) {
        int fan = l == 1 ? p : w;
        al = sw2 / fan;
        if (diag) {
          NTK_CUBLAS(cublasDsyrk(ctx.handle, CUBLAS_FILL_MODE_LOWER, CUBLAS_OP_N, rbn, fan,
                                 &al, AR[l - 1] + r0, R, &zero, TA, rbn));
          NTK_CUBLAS(cublasDsyrk(ctx.handle, CUBLAS_FILL_MODE_LOWER, CUBLAS_OP_N, rbn, w,
                                 &one, DR[l] + r0, R, &zero, TD, rbn));
        } else {
          NTK_CUBLAS(cublasDgemm(ctx.handle, CUBLAS_OP_N, CUBLAS_OP_T, rbn, cbn, fan, &al,
                                 AR[l - 1] + r0, R, AX[l - 1] + c0, n, &zero, TA, rbn));
          NTK_CUBLAS(cublasDgemm(ctx.handle, CUBLAS_OP_N, CUBLAS_OP_T, rbn, cbn, w, &one,
                                 DR[l] + r0, R, DX[l] + c0, n, &zero, TD, rbn));
        }
        k_hadamard_acc<<<ntk_blocks(tot), NTK_CU_THREADS>>>(TK, TA, TD, rbn, cbn, sb2,
                                                            diag);
        NTK_LAUNCHED();
      }
      /* K[r0.., c0..] <- (acc ? K : 0) + scale * (TK + sb^2), through TA */
      if (acc) NTK_CUDA(tile_from_host(TA, K, R, r0, c0, rbn, cbn));
      k_finish<<<ntk_blocks(tot), NTK_CU_THREADS>>>(TK, rbn, cbn, sb2, scale, acc, TA,
                                                    diag);
      NTK_LAUNCHED();
      NTK_CUDA(tile_to_host(K, R, r0, c0, TA, rbn, cbn));
      if (sym && !diag) { /* the mirrored block K[c0.., r0..], through TD */
        if (acc) NTK_CUDA(tile_from_host(TD, K, n, c0, r0, cbn, rbn));
        k_finish_t<<<ntk_blocks(tot), NTK_CU_THREADS>>>(TK, rbn, cbn, sb2, scale, acc, TD);
        NTK_LAUNCHED();
        NTK_CUDA(tile_to_host(K, n, c0, r0, TD, cbn, rbn));
      }
      if (ntk_interrupt_pending()) return ctx_free(&ctx, NTK_ERR_INTERRUPTED);
    }
  }

  if (diag_rows != NULL) {
    double *dd = NULL, *t1 = NULL, *t2 = NULL;
    NTK_TRY(ctx_alloc(&ctx, (size_t) R, &dd));
    NTK_TRY(ctx_alloc(&ctx, (size_t) R, &t1));
    NTK_TRY(ctx_alloc(&ctx, (size_t) R, &t2));
    NTK_TRY(emp_diag(AR, DR, R, p, w, L, sw2, sb2, dd, t1, t2));
    double *host = NULL;
    NTK_TRY(ctx_host(&ctx, (size_t) R * sizeof(double), (void **) &host));
    NTK_CUDA(cudaMemcpy(host, dd, (size_t) R * sizeof(double), cudaMemcpyDeviceToHost));
    for (int i = 0; i < R; i++) diag_rows[i] = (acc ? diag_rows[i] : 0.0) + scale * host[i];
  }
  NTK_CUDA(cudaDeviceSynchronize());
  return ctx_free(&ctx, NTK_OK);
}
