/* Multilayer perceptron baseline (mlp.c): plain C on plain pointers, no R headers.
 *
 * Network: input (p) -> hidden layers l = 1..L of widths h_l -> one linear output.
 * Hidden layer l:  z = a_{l-1} W_l              (W_l: h_{l-1} x h_l, column-major)
 *                  s = gamma_l * bn(z) + beta_l  with batch normalisation, else s = z + b_l
 *                  a_l = relu(s) * mask_l        (inverted dropout: mask in {0, 1/(1-rate)})
 * Output:          yhat = a_L v + c.   Loss: mean squared error over the batch,
 * plus (weight_decay / 2) * sum of squares of the dense weights W_l and v (coupled L2, the
 * gradient gets weight_decay * w, as torch.optim.Adam's weight_decay); biases, gamma and
 * beta are not decayed.
 *
 * Parameter vector theta, in this order (also the order of the initial draws):
 *   for l = 1..L: W_l (h_{l-1} x h_l), then gamma_l, beta_l (batch norm) or b_l (none);
 *   then v (h_L), c (1).
 * Batch-norm running statistics: mean and variance, sum(h_l) values each, layer by layer.
 *
 * Random numbers come only through the callbacks (the R glue passes norm_rand and
 * unif_rand) and are drawn in a fixed order on the calling thread.
 */
#ifndef NTK_MLP_H
#define NTK_MLP_H

#include "ntkgen.h"

typedef struct {
  int p;               /* inputs */
  int nlayers;         /* hidden layers L >= 1 */
  const int *hidden;   /* widths h_1..h_L, each >= 1 */
  int batch_norm;      /* 1: batch normalisation in every hidden layer */
  double bn_eps;       /* added to the variance in batch norm (1e-5) */
} ntk_mlp_arch;

typedef struct {
  double dropout;      /* rate in [0, 1) */
  double lr;           /* Adam learning rate */
  double beta1, beta2, adam_eps;
  double weight_decay; /* coupled L2 on W_l and v */
  double bn_momentum;  /* running <- (1 - m) running + m batch (unbiased variance) */
  int batch_size;      /* >= 1 */
  int epochs;          /* maximum number of epochs */
  int patience;        /* early stopping: epochs without improvement of the validation loss */
} ntk_mlp_opts;

/* Length of theta; number of batch-norm statistics (sum of the widths). */
size_t ntk_mlp_nparams(const ntk_mlp_arch *a);
size_t ntk_mlp_nunits(const ntk_mlp_arch *a);

/* He (Kaiming) normal initialisation: W_l ~ N(0, 2 / h_{l-1}), v ~ N(0, 1 / h_L), biases
 * and beta 0, gamma 1; running mean 0, variance 1.  Draws every W_l then v through norm().
 * Cost O(nparams). */
int ntk_mlp_init(const ntk_mlp_arch *a, double (*norm)(void), double *theta,
                 double *run_mean, double *run_var);

/* Full-batch loss (MSE + L2 penalty) and its gradient at theta on X (n x p), y (n):
 * batch norm in training mode (batch statistics of all n rows), no dropout.
 * grad may be NULL.  Cost O(n * nparams). */
int ntk_mlp_loss_grad(const ntk_mlp_arch *a, const double *theta, const double *X,
                      const double *y, int n, double weight_decay, double *loss,
                      double *grad);

/* Trains theta (initialised by the caller) with Adam on minibatches of the n training rows
 * (X n x p, y), shuffled every epoch (Fisher-Yates with unif()), dropout masks drawn with
 * unif() batch by batch, layer by layer, column-major.  With nv > 0 validation rows
 * (Xv nv x p, yv) the validation MSE (inference mode) is computed after every epoch,
 * training stops after `patience` epochs without improvement and theta / running
 * statistics are restored to the best epoch; with nv == 0 all epochs run and the last
 * weights are kept.  A trailing batch of one row is skipped under batch norm.
 * train_loss, val_loss: length opts->epochs (mean minibatch MSE in training mode, and
 * validation MSE; NaN where not run / no validation).  interrupt(): polled between epochs
 * (may be NULL).  Returns NTK_OK, NTK_ERR_ALLOC, NTK_ERR_INTERRUPTED, NTK_ERR_NONFINITE.
 * Cost O(epochs * n * nparams) flops; memory O(batch * sum h + nparams). */
int ntk_mlp_train(const ntk_mlp_arch *a, const ntk_mlp_opts *o, const double *X,
                  const double *y, int n, const double *Xv, const double *yv, int nv,
                  double (*unif)(void), int (*interrupt)(void), double *theta,
                  double *run_mean, double *run_var, double *train_loss, double *val_loss,
                  int *epochs_run, int *best_epoch);

/* Predictions (inference mode: running statistics, no dropout) for Z (m x p) into out (m).
 * Cost O(m * nparams). */
int ntk_mlp_predict(const ntk_mlp_arch *a, const double *theta, const double *run_mean,
                    const double *run_var, const double *Z, int m, double *out);

#endif
