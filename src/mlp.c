/* Multilayer perceptron baseline: ReLU, batch normalisation, inverted dropout, Adam with
 * coupled L2 weight decay, minibatches, early stopping.  Contracts in mlp.h.
 * Cost per epoch about 6 * n * nparams flops (forward 2, backward 4), in dgemm calls of
 * batch x width blocks; memory O(batch * sum(h) + 4 * nparams). */
#include "ntk_lapack.h"
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include "mlp.h"

/* Offsets of every block of theta and of the running statistics. */
typedef struct {
  int L, p, bn, maxh;
  const int *h;
  size_t *W, *g, *b;   /* W_l; gamma_l (bn) or b_l; beta_l (bn only) */
  size_t *u;           /* first unit of layer l in the running statistics */
  size_t v, c, np, nu;
} layout;

typedef struct {
  int cap;             /* rows the buffers hold */
  double **S, **Xh, **A, **M;  /* per layer: pre-activation, xhat, activation, mask */
  double *mu, *var, *istd;     /* per unit: batch mean, biased variance, 1/sqrt(var+eps) */
  double *yhat, *dy, *d1, *d2, *Xb, *yb;
} work;

static void layout_free(layout *ly)
{
  free(ly->W); free(ly->g); free(ly->b); free(ly->u);
}

static int layout_make(const ntk_mlp_arch *a, layout *ly)
{
  int L = a->nlayers;
  ly->L = L; ly->p = a->p; ly->bn = a->batch_norm ? 1 : 0; ly->h = a->hidden;
  ly->W = malloc(L * sizeof(size_t)); ly->g = malloc(L * sizeof(size_t));
  ly->b = malloc(L * sizeof(size_t)); ly->u = malloc(L * sizeof(size_t));
  if (!ly->W || !ly->g || !ly->b || !ly->u) { layout_free(ly); return NTK_ERR_ALLOC; }
  size_t off = 0, nu = 0;
  int fin = a->p, maxh = 1;
  for (int l = 0; l < L; l++) {
    int h = a->hidden[l];
    if (h > maxh) maxh = h;
    ly->W[l] = off; off += (size_t) fin * h;
    ly->g[l] = off; off += h;
    if (ly->bn) { ly->b[l] = off; off += h; } else ly->b[l] = ly->g[l];
    ly->u[l] = nu; nu += h;
    fin = h;
  }
  ly->v = off; off += fin;
  ly->c = off; off += 1;
  ly->np = off; ly->nu = nu; ly->maxh = maxh;
  return NTK_OK;
}

static void work_free(work *w, int L)
{
  if (w->S) for (int l = 0; l < L; l++) free(w->S[l]);
  if (w->Xh) for (int l = 0; l < L; l++) free(w->Xh[l]);
  if (w->A) for (int l = 0; l < L; l++) free(w->A[l]);
  if (w->M) for (int l = 0; l < L; l++) free(w->M[l]);
  free(w->S); free(w->Xh); free(w->A); free(w->M);
  free(w->mu); free(w->var); free(w->istd);
  free(w->yhat); free(w->dy); free(w->d1); free(w->d2); free(w->Xb); free(w->yb);
  memset(w, 0, sizeof(work));
}

/* Buffers for batches of up to cap rows; masks only when with_mask, gather buffers only
 * when with_gather. */
static int work_make(const layout *ly, int cap, int with_mask, int with_gather, work *w)
{
  int L = ly->L;
  memset(w, 0, sizeof(work));
  w->cap = cap;
  w->S = calloc(L, sizeof(double *)); w->Xh = calloc(L, sizeof(double *));
  w->A = calloc(L, sizeof(double *)); w->M = calloc(L, sizeof(double *));
  if (!w->S || !w->Xh || !w->A || !w->M) { work_free(w, L); return NTK_ERR_ALLOC; }
  for (int l = 0; l < L; l++) {
    size_t sz = (size_t) cap * ly->h[l];
    w->S[l] = malloc(sz * sizeof(double));
    w->A[l] = malloc(sz * sizeof(double));
    if (ly->bn) w->Xh[l] = malloc(sz * sizeof(double));
    if (with_mask) w->M[l] = malloc(sz * sizeof(double));
    if (!w->S[l] || !w->A[l] || (ly->bn && !w->Xh[l]) || (with_mask && !w->M[l])) {
      work_free(w, L); return NTK_ERR_ALLOC;
    }
  }
  size_t nu = ly->nu, bh = (size_t) cap * ly->maxh;
  w->mu = malloc(nu * sizeof(double)); w->var = malloc(nu * sizeof(double));
  w->istd = malloc(nu * sizeof(double));
  w->yhat = malloc(cap * sizeof(double)); w->dy = malloc(cap * sizeof(double));
  w->d1 = malloc(bh * sizeof(double)); w->d2 = malloc(bh * sizeof(double));
  if (with_gather) {
    w->Xb = malloc((size_t) cap * ly->p * sizeof(double));
    w->yb = malloc(cap * sizeof(double));
  }
  if (!w->mu || !w->var || !w->istd || !w->yhat || !w->dy || !w->d1 || !w->d2 ||
      (with_gather && (!w->Xb || !w->yb))) {
    work_free(w, L); return NTK_ERR_ALLOC;
  }
  return NTK_OK;
}

/* Forward pass of B rows of Xin (B x p, leading dimension B) into w->yhat.  train: batch
 * statistics (kept in w->mu, w->var, w->istd), else the running statistics rm, rv.
 * use_mask: multiply the activations by the dropout masks in w->M.  O(B * nparams). */
static void forward(const layout *ly, const double *th, work *w, const double *Xin, int B,
                    int train, const double *rm, const double *rv, double eps, int use_mask)
{
  const double one = 1.0, zero = 0.0;
  const int ione = 1;
  const double *Ain = Xin;
  int fin = ly->p;
  for (int l = 0; l < ly->L; l++) {
    int h = ly->h[l];
    double *S = w->S[l], *A = w->A[l];
    F77_CALL(dgemm)("N", "N", &B, &h, &fin, &one, Ain, &B, th + ly->W[l], &fin, &zero, S, &B
                    FCONE FCONE);
    if (ly->bn) {
      const double *gam = th + ly->g[l], *bet = th + ly->b[l];
      double *Xh = w->Xh[l];
      for (int j = 0; j < h; j++) {
        double *s = S + (size_t) j * B, *xh = Xh + (size_t) j * B, mu, is;
        size_t k = ly->u[l] + j;
        if (train) {
          double m = 0.0, v = 0.0;
          for (int i = 0; i < B; i++) m += s[i];
          m /= B;
          for (int i = 0; i < B; i++) v += (s[i] - m) * (s[i] - m);
          v /= B;
          mu = m; is = 1.0 / sqrt(v + eps);
          w->mu[k] = m; w->var[k] = v; w->istd[k] = is;
        } else {
          mu = rm[k]; is = 1.0 / sqrt(rv[k] + eps);
        }
        for (int i = 0; i < B; i++) {
          xh[i] = (s[i] - mu) * is;
          s[i] = gam[j] * xh[i] + bet[j];
        }
      }
    } else {
      const double *bias = th + ly->g[l];
      for (int j = 0; j < h; j++) {
        double *s = S + (size_t) j * B;
        for (int i = 0; i < B; i++) s[i] += bias[j];
      }
    }
    size_t sz = (size_t) B * h;
    if (use_mask) {
      const double *M = w->M[l];
      for (size_t i = 0; i < sz; i++) A[i] = S[i] > 0.0 ? S[i] * M[i] : 0.0;
    } else {
      for (size_t i = 0; i < sz; i++) A[i] = S[i] > 0.0 ? S[i] : 0.0;
    }
    Ain = A; fin = h;
  }
  F77_CALL(dgemv)("N", &B, &fin, &one, Ain, &B, th + ly->v, &ione, &zero, w->yhat, &ione
                  FCONE);
  double c = th[ly->c];
  for (int i = 0; i < B; i++) w->yhat[i] += c;
}

/* Backward pass after forward(train = 1): w->dy holds dLoss/dyhat; writes the gradient of
 * every parameter into grad (overwritten, no weight decay).  O(2 * B * nparams). */
static void backward(const layout *ly, const double *th, work *w, const double *Xin, int B,
                     int use_mask, double *grad)
{
  const double one = 1.0, zero = 0.0;
  const int ione = 1;
  int L = ly->L, hL = ly->h[L - 1];
  const double *dy = w->dy, *v = th + ly->v;
  F77_CALL(dgemv)("T", &B, &hL, &one, w->A[L - 1], &B, dy, &ione, &zero, grad + ly->v,
                  &ione FCONE);
  double sc = 0.0;
  for (int i = 0; i < B; i++) sc += dy[i];
  grad[ly->c] = sc;
  double *dA = w->d1, *dS = w->d2;
  for (int j = 0; j < hL; j++)
    for (int i = 0; i < B; i++) dA[i + (size_t) j * B] = dy[i] * v[j];
  for (int l = L - 1; l >= 0; l--) {
    int h = ly->h[l];
    const double *S = w->S[l], *M = use_mask ? w->M[l] : NULL;
    size_t sz = (size_t) B * h;
    for (size_t i = 0; i < sz; i++)
      dS[i] = S[i] > 0.0 ? (M ? dA[i] * M[i] : dA[i]) : 0.0;
    if (ly->bn) {
      const double *gam = th + ly->g[l], *Xh = w->Xh[l];
      for (int j = 0; j < h; j++) {
        double *d = dS + (size_t) j * B;
        const double *xh = Xh + (size_t) j * B;
        double s1 = 0.0, s2 = 0.0;
        for (int i = 0; i < B; i++) { s1 += d[i]; s2 += d[i] * xh[i]; }
        grad[ly->g[l] + j] = s2;
        grad[ly->b[l] + j] = s1;
        double f = gam[j] * w->istd[ly->u[l] + j];
        s1 /= B; s2 /= B;
        for (int i = 0; i < B; i++) d[i] = f * (d[i] - s1 - xh[i] * s2);
      }
    } else {
      for (int j = 0; j < h; j++) {
        const double *d = dS + (size_t) j * B;
        double s1 = 0.0;
        for (int i = 0; i < B; i++) s1 += d[i];
        grad[ly->g[l] + j] = s1;
      }
    }
    const double *Ain = l == 0 ? Xin : w->A[l - 1];
    int fin = l == 0 ? ly->p : ly->h[l - 1];
    F77_CALL(dgemm)("T", "N", &fin, &h, &B, &one, Ain, &B, dS, &B, &zero, grad + ly->W[l],
                    &fin FCONE FCONE);
    if (l > 0)
      F77_CALL(dgemm)("N", "T", &B, &fin, &h, &one, dS, &B, th + ly->W[l], &fin, &zero, dA,
                      &B FCONE FCONE);
  }
}

/* MSE of w->yhat against y (B values); writes dLoss/dyhat into w->dy. */
static double mse_dy(work *w, const double *y, int B)
{
  double s = 0.0;
  for (int i = 0; i < B; i++) {
    double r = w->yhat[i] - y[i];
    s += r * r;
    w->dy[i] = 2.0 * r / B;
  }
  return s / B;
}

/* Sum of squares of the decayed weights (W_l and v). */
static double decay_ss(const layout *ly, const double *th)
{
  double s = 0.0;
  int fin = ly->p;
  for (int l = 0; l < ly->L; l++) {
    size_t k0 = ly->W[l], k1 = k0 + (size_t) fin * ly->h[l];
    for (size_t k = k0; k < k1; k++) s += th[k] * th[k];
    fin = ly->h[l];
  }
  for (int j = 0; j < fin; j++) s += th[ly->v + j] * th[ly->v + j];
  return s;
}

static void decay_grad(const layout *ly, const double *th, double wd, double *grad)
{
  int fin = ly->p;
  for (int l = 0; l < ly->L; l++) {
    size_t k0 = ly->W[l], k1 = k0 + (size_t) fin * ly->h[l];
    for (size_t k = k0; k < k1; k++) grad[k] += wd * th[k];
    fin = ly->h[l];
  }
  for (int j = 0; j < fin; j++) grad[ly->v + j] += wd * th[ly->v + j];
}

/* Copies rows r0..r0+B-1 (or rows idx[r0..]) of X (n x p) into Xb (B x p). */
static void gather(const double *X, int n, int p, const int *idx, int r0, int B, double *Xb)
{
  for (int j = 0; j < p; j++) {
    const double *x = X + (size_t) j * n;
    double *xb = Xb + (size_t) j * B;
    if (idx) for (int i = 0; i < B; i++) xb[i] = x[idx[r0 + i]];
    else memcpy(xb, x + r0, B * sizeof(double));
  }
}

/* Inference-mode predictions of n rows of X into out, in chunks of w->cap rows. */
static void predict_rows(const layout *ly, const double *th, work *w, const double *X, int n,
                         const double *rm, const double *rv, double eps, double *out)
{
  for (int r0 = 0; r0 < n; r0 += w->cap) {
    int B = n - r0 < w->cap ? n - r0 : w->cap;
    gather(X, n, ly->p, NULL, r0, B, w->Xb);
    forward(ly, th, w, w->Xb, B, 0, rm, rv, eps, 0);
    memcpy(out + r0, w->yhat, B * sizeof(double));
  }
}

size_t ntk_mlp_nparams(const ntk_mlp_arch *a)
{
  size_t off = 0;
  int fin = a->p;
  for (int l = 0; l < a->nlayers; l++) {
    off += (size_t) fin * a->hidden[l] + (size_t) (a->batch_norm ? 2 : 1) * a->hidden[l];
    fin = a->hidden[l];
  }
  return off + fin + 1;
}

size_t ntk_mlp_nunits(const ntk_mlp_arch *a)
{
  size_t nu = 0;
  for (int l = 0; l < a->nlayers; l++) nu += a->hidden[l];
  return nu;
}

static int arch_ok(const ntk_mlp_arch *a)
{
  if (a->p < 1 || a->nlayers < 1 || !a->hidden || !(a->bn_eps >= 0.0)) return 0;
  for (int l = 0; l < a->nlayers; l++) if (a->hidden[l] < 1) return 0;
  return 1;
}

/* Cost O(nparams). */
int ntk_mlp_init(const ntk_mlp_arch *a, double (*norm)(void), double *theta,
                 double *run_mean, double *run_var)
{
  if (!arch_ok(a) || !norm) return NTK_ERR_ARG;
  layout ly;
  if (layout_make(a, &ly) != NTK_OK) return NTK_ERR_ALLOC;
  memset(theta, 0, ly.np * sizeof(double));
  int fin = a->p;
  for (int l = 0; l < ly.L; l++) {
    int h = a->hidden[l];
    double sd = sqrt(2.0 / fin);
    size_t k1 = ly.W[l] + (size_t) fin * h;
    for (size_t k = ly.W[l]; k < k1; k++) theta[k] = sd * norm();
    if (ly.bn) for (int j = 0; j < h; j++) theta[ly.g[l] + j] = 1.0;
    fin = h;
  }
  double sd = sqrt(1.0 / fin);
  for (int j = 0; j < fin; j++) theta[ly.v + j] = sd * norm();
  for (size_t k = 0; k < ly.nu; k++) { run_mean[k] = 0.0; run_var[k] = 1.0; }
  layout_free(&ly);
  return NTK_OK;
}

/* Cost O(n * nparams). */
int ntk_mlp_loss_grad(const ntk_mlp_arch *a, const double *theta, const double *X,
                      const double *y, int n, double weight_decay, double *loss,
                      double *grad)
{
  if (!arch_ok(a) || n < 1) return NTK_ERR_ARG;
  layout ly;
  work w;
  if (layout_make(a, &ly) != NTK_OK) return NTK_ERR_ALLOC;
  if (work_make(&ly, n, 0, 0, &w) != NTK_OK) { layout_free(&ly); return NTK_ERR_ALLOC; }
  forward(&ly, theta, &w, X, n, 1, NULL, NULL, a->bn_eps, 0);
  double l = mse_dy(&w, y, n) + 0.5 * weight_decay * decay_ss(&ly, theta);
  *loss = l;
  if (grad) {
    backward(&ly, theta, &w, X, n, 0, grad);
    decay_grad(&ly, theta, weight_decay, grad);
  }
  work_free(&w, ly.L);
  layout_free(&ly);
  return isfinite(l) ? NTK_OK : NTK_ERR_NONFINITE;
}

/* a training or validation loss above this many times the response's variance is
 * divergence */
#define NTK_MLP_DIVERGED 1e6

/* Cost O(epochs * n * nparams). */
int ntk_mlp_train(const ntk_mlp_arch *a, const ntk_mlp_opts *o, const double *X,
                  const double *y, int n, const double *Xv, const double *yv, int nv,
                  double (*unif)(void), int (*interrupt)(void), double *theta,
                  double *run_mean, double *run_var, double *train_loss, double *val_loss,
                  int *epochs_run, int *best_epoch)
{
  if (!arch_ok(a) || n < 1 || nv < 0 || !unif || o->batch_size < 1 || o->epochs < 0 ||
      !(o->dropout >= 0.0 && o->dropout < 1.0) || !(o->lr > 0.0) || o->patience < 1)
    return NTK_ERR_ARG;
  *epochs_run = 0;
  *best_epoch = -1;
  layout ly;
  work w, wv;
  int st = NTK_OK, bs = o->batch_size < n ? o->batch_size : n;
  int use_mask = o->dropout > 0.0;
  memset(&wv, 0, sizeof(work));
  if (layout_make(a, &ly) != NTK_OK) return NTK_ERR_ALLOC;
  if (work_make(&ly, bs, use_mask, 1, &w) != NTK_OK) { layout_free(&ly); return NTK_ERR_ALLOC; }
  size_t np = ly.np, nu = ly.nu;
  int cv = nv < 256 ? (nv > 0 ? nv : 1) : 256;
  double *grad = malloc(np * sizeof(double)), *m1 = calloc(np, sizeof(double));
  double *m2 = calloc(np, sizeof(double)), *best = malloc(np * sizeof(double));
  double *brm = malloc((nu ? nu : 1) * sizeof(double)), *brv = malloc((nu ? nu : 1) * sizeof(double));
  double *pv = malloc((nv > 0 ? nv : 1) * sizeof(double));
  int *perm = malloc(n * sizeof(int));
  if (!grad || !m1 || !m2 || !best || !brm || !brv || !pv || !perm ||
      (nv > 0 && work_make(&ly, cv, 0, 1, &wv) != NTK_OK)) {
    st = NTK_ERR_ALLOC;
    goto done;
  }
  for (int i = 0; i < n; i++) perm[i] = i;
  for (int e = 0; e < o->epochs; e++) { train_loss[e] = NAN; val_loss[e] = NAN; }
  /* divergence threshold: 1e6 times the variance of the training response (predicting
   * its mean gives about 1 times it) */
  double ymu = 0, yss = 0;
  for (int i = 0; i < n; i++) ymu += y[i];
  ymu /= n;
  for (int i = 0; i < n; i++) yss += (y[i] - ymu) * (y[i] - ymu);
  const double diverged = NTK_MLP_DIVERGED * fmax(yss / n, 1e-300);
  const double keep = 1.0 - o->dropout, scale = 1.0 / keep, mom = o->bn_momentum;
  double bestval = INFINITY;
  long t = 0;
  int ep, wait = 0, best_ep = -1;
  for (ep = 0; ep < o->epochs; ) {
    if (interrupt && interrupt()) { st = NTK_ERR_INTERRUPTED; break; }
    for (int i = n - 1; i > 0; i--) {
      int j = (int) (unif() * (i + 1));
      if (j > i) j = i;
      int tmp = perm[i]; perm[i] = perm[j]; perm[j] = tmp;
    }
    double sum = 0.0;
    int nb = 0;
    for (int r0 = 0; r0 < n; r0 += bs) {
      int B = n - r0 < bs ? n - r0 : bs;
      if (ly.bn && B < 2) continue;
      gather(X, n, ly.p, perm, r0, B, w.Xb);
      for (int i = 0; i < B; i++) w.yb[i] = y[perm[r0 + i]];
      if (use_mask)
        for (int l = 0; l < ly.L; l++) {
          size_t sz = (size_t) B * ly.h[l];
          double *M = w.M[l];
          for (size_t i = 0; i < sz; i++) M[i] = unif() < o->dropout ? 0.0 : scale;
        }
      forward(&ly, theta, &w, w.Xb, B, 1, NULL, NULL, a->bn_eps, use_mask);
      if (ly.bn)
        for (size_t k = 0; k < nu; k++) {
          run_mean[k] = (1.0 - mom) * run_mean[k] + mom * w.mu[k];
          run_var[k] = (1.0 - mom) * run_var[k] + mom * w.var[k] * B / (B - 1.0);
        }
      double l = mse_dy(&w, w.yb, B);
      if (!isfinite(l)) { st = NTK_ERR_NONFINITE; goto done; }
      backward(&ly, theta, &w, w.Xb, B, use_mask, grad);
      decay_grad(&ly, theta, o->weight_decay, grad);
      t++;
      double bc1 = 1.0 - pow(o->beta1, (double) t), bc2 = 1.0 - pow(o->beta2, (double) t);
      for (size_t k = 0; k < np; k++) {
        double g = grad[k];
        m1[k] = o->beta1 * m1[k] + (1.0 - o->beta1) * g;
        m2[k] = o->beta2 * m2[k] + (1.0 - o->beta2) * g * g;
        theta[k] -= o->lr * (m1[k] / bc1) / (sqrt(m2[k] / bc2) + o->adam_eps);
      }
      sum += l;
      nb++;
    }
    train_loss[ep] = nb > 0 ? sum / nb : NAN;
    /* divergence: a non-finite loss, or one above 1e6 times the response's variance
     * (predicting the mean gives about 1 times it): stop, keep nothing */
    if (!isfinite(train_loss[ep]) || train_loss[ep] > diverged) {
      *epochs_run = ep + 1;
      st = NTK_ERR_NONFINITE;
      goto done;
    }
    ep++;
    if (nv > 0) {
      predict_rows(&ly, theta, &wv, Xv, nv, run_mean, run_var, a->bn_eps, pv);
      double s = 0.0;
      for (int i = 0; i < nv; i++) s += (pv[i] - yv[i]) * (pv[i] - yv[i]);
      s /= nv;
      val_loss[ep - 1] = s;
      if (!isfinite(s) || s > diverged) {
        *epochs_run = ep;
        st = NTK_ERR_NONFINITE;
        goto done;
      }
      if (s < bestval) {
        bestval = s; best_ep = ep; wait = 0;
        memcpy(best, theta, np * sizeof(double));
        if (nu) { memcpy(brm, run_mean, nu * sizeof(double)); memcpy(brv, run_var, nu * sizeof(double)); }
      } else if (++wait >= o->patience) {
        break;
      }
    }
  }
  *epochs_run = ep;
  if (nv > 0 && best_ep > 0) {
    memcpy(theta, best, np * sizeof(double));
    if (nu) { memcpy(run_mean, brm, nu * sizeof(double)); memcpy(run_var, brv, nu * sizeof(double)); }
  }
  *best_epoch = nv > 0 ? best_ep : ep;
done:
  free(grad); free(m1); free(m2); free(best); free(brm); free(brv); free(pv); free(perm);
  work_free(&w, ly.L);
  work_free(&wv, ly.L);
  layout_free(&ly);
  return st;
}

/* Cost O(m * nparams). */
int ntk_mlp_predict(const ntk_mlp_arch *a, const double *theta, const double *run_mean,
                    const double *run_var, const double *Z, int m, double *out)
{
  if (!arch_ok(a) || m < 0) return NTK_ERR_ARG;
  if (m == 0) return NTK_OK;
  layout ly;
  work w;
  if (layout_make(a, &ly) != NTK_OK) return NTK_ERR_ALLOC;
  int cap = m < 256 ? m : 256;
  if (work_make(&ly, cap, 0, 1, &w) != NTK_OK) { layout_free(&ly); return NTK_ERR_ALLOC; }
  predict_rows(&ly, theta, &w, Z, m, run_mean, run_var, a->bn_eps, out);
  work_free(&w, ly.L);
  layout_free(&ly);
  return NTK_OK;
}
