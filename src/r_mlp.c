/* .Call glue of the multilayer perceptron baseline (core: mlp.c). */
#include "r_util.h"
#include <Rmath.h>
#include "mlp.h"

/* hidden: integer widths; batch_norm: logical; bn_eps: number */
static ntk_mlp_arch make_arch(int p, SEXP hidden, SEXP batch_norm, SEXP bn_eps)
{
  ntk_mlp_arch a;
  if (!isInteger(hidden) || XLENGTH(hidden) < 1) error("`hidden` must be an integer vector");
  for (R_xlen_t l = 0; l < XLENGTH(hidden); l++)
    if (INTEGER(hidden)[l] == NA_INTEGER || INTEGER(hidden)[l] < 1)
      error("`hidden` must contain positive widths");
  a.p = p;
  a.nlayers = (int) XLENGTH(hidden);
  a.hidden = INTEGER(hidden);
  a.batch_norm = asLogical(batch_norm) == TRUE;
  a.bn_eps = ntk_arg_double(bn_eps, "bn_eps");
  return a;
}

static double r_norm(void) { return norm_rand(); }
static double r_unif(void) { return unif_rand(); }

/* mlp_init(p, hidden, batch_norm, bn_eps): list(theta, run_mean, run_var), He init */
SEXP C_mlp_init(SEXP p_, SEXP hidden, SEXP batch_norm, SEXP bn_eps)
{
  int nprot = 0, p = ntk_arg_int(p_, "p");
  if (p < 1) error("`p` must be positive");
  ntk_mlp_arch a = make_arch(p, hidden, batch_norm, bn_eps);
  SEXP theta = PROTECT(allocVector(REALSXP, ntk_mlp_nparams(&a))); nprot++;
  SEXP rm = PROTECT(allocVector(REALSXP, ntk_mlp_nunits(&a))); nprot++;
  SEXP rv = PROTECT(allocVector(REALSXP, ntk_mlp_nunits(&a))); nprot++;
  GetRNGstate();
  int st = ntk_mlp_init(&a, r_norm, REAL(theta), REAL(rm), REAL(rv));
  PutRNGstate();
  ntk_stop_on_status(st, "ntk_mlp_init", 0);
  SEXP elts[3] = {theta, rm, rv};
  const char *nms[3] = {"theta", "run_mean", "run_var"};
  SEXP out = ntk_named_list(3, nms, elts);
  UNPROTECT(nprot);
  return out;
}

/* mlp_loss_grad(theta, X, y, hidden, batch_norm, bn_eps, weight_decay): list(loss, grad) */
SEXP C_mlp_loss_grad(SEXP theta, SEXP X, SEXP y, SEXP hidden, SEXP batch_norm, SEXP bn_eps,
                     SEXP weight_decay)
{
  int n, p, nprot = 0;
  ntk_arg_matrix(X, "X", &n, &p);
  if (n < 1 || p < 1) error("`X` must have at least one row and column");
  ntk_mlp_arch a = make_arch(p, hidden, batch_norm, bn_eps);
  if (!isReal(theta) || (size_t) XLENGTH(theta) != ntk_mlp_nparams(&a))
    error("`theta` must be a double vector of length %d", (int) ntk_mlp_nparams(&a));
  if (!isReal(y) || XLENGTH(y) != n) error("`y` must be a double vector of length nrow(X)");
  double wd = ntk_arg_double(weight_decay, "weight_decay");
  SEXP grad = PROTECT(allocVector(REALSXP, XLENGTH(theta))); nprot++;
  SEXP loss = PROTECT(allocVector(REALSXP, 1)); nprot++;
  int st = ntk_mlp_loss_grad(&a, REAL(theta), REAL(X), REAL(y), n, wd, REAL(loss), REAL(grad));
  ntk_stop_on_status(st, "ntk_mlp_loss_grad", 0);
  SEXP elts[2] = {loss, grad};
  const char *nms[2] = {"loss", "grad"};
  SEXP out = ntk_named_list(2, nms, elts);
  UNPROTECT(nprot);
  return out;
}

/* mlp_train(X, y, Xv, yv, hidden, batch_norm, dopts, iopts):
 *   dopts = c(dropout, lr, beta1, beta2, adam_eps, weight_decay, bn_momentum, bn_eps)
 *   iopts = c(batch_size, epochs, patience)
 * He initialisation (norm_rand) then training (unif_rand), one RNG session.
 * Returns list(theta, run_mean, run_var, train_loss, val_loss, epochs_run, best_epoch). */
SEXP C_mlp_train(SEXP X, SEXP y, SEXP Xv, SEXP yv, SEXP hidden, SEXP batch_norm, SEXP dopts,
                 SEXP iopts)
{
  int n, p, nv, pv, nprot = 0;
  ntk_arg_matrix(X, "X", &n, &p);
  ntk_arg_matrix(Xv, "Xv", &nv, &pv);
  if (n < 1 || p < 1) error("`X` must have at least one row and column");
  if (pv != p) error("`Xv` must have as many columns as `X`");
  if (!isReal(y) || XLENGTH(y) != n) error("`y` must be a double vector of length nrow(X)");
  if (!isReal(yv) || XLENGTH(yv) != nv) error("`yv` must be a double vector of length nrow(Xv)");
  if (!isReal(dopts) || XLENGTH(dopts) != 8) error("`dopts` must be a double vector of length 8");
  if (!isInteger(iopts) || XLENGTH(iopts) != 3) error("`iopts` must be an integer vector of length 3");
  const double *d = REAL(dopts);
  const int *io = INTEGER(iopts);
  SEXP eps = PROTECT(ScalarReal(d[7])); nprot++;
  ntk_mlp_arch a = make_arch(p, hidden, batch_norm, eps);
  ntk_mlp_opts o;
  o.dropout = d[0]; o.lr = d[1]; o.beta1 = d[2]; o.beta2 = d[3]; o.adam_eps = d[4];
  o.weight_decay = d[5]; o.bn_momentum = d[6];
  o.batch_size = io[0]; o.epochs = io[1]; o.patience = io[2];
  if (o.epochs < 0 || o.epochs == NA_INTEGER) error("`epochs` must be a non-negative number");
  SEXP theta = PROTECT(allocVector(REALSXP, ntk_mlp_nparams(&a))); nprot++;
  SEXP rm = PROTECT(allocVector(REALSXP, ntk_mlp_nunits(&a))); nprot++;
  SEXP rv = PROTECT(allocVector(REALSXP, ntk_mlp_nunits(&a))); nprot++;
  SEXP tl = PROTECT(allocVector(REALSXP, o.epochs)); nprot++;
  SEXP vl = PROTECT(allocVector(REALSXP, o.epochs)); nprot++;
  SEXP er = PROTECT(allocVector(INTSXP, 1)); nprot++;
  SEXP be = PROTECT(allocVector(INTSXP, 1)); nprot++;
  GetRNGstate();
  int st = ntk_mlp_init(&a, r_norm, REAL(theta), REAL(rm), REAL(rv));
  if (st == NTK_OK)
    st = ntk_mlp_train(&a, &o, REAL(X), REAL(y), n, REAL(Xv), REAL(yv), nv, r_unif,
                       ntk_interrupt_pending, REAL(theta), REAL(rm), REAL(rv), REAL(tl),
                       REAL(vl), INTEGER(er), INTEGER(be));
  PutRNGstate();
  if (st == NTK_ERR_NONFINITE)
    error("ntk_mlp_train: the training diverged (the loss became non-finite or exceeded "
          "1e6 times the variance of the response at epoch %d); lower `lr`", INTEGER(er)[0]);
  ntk_stop_on_status(st, "ntk_mlp_train", 0);
  SEXP elts[7] = {theta, rm, rv, tl, vl, er, be};
  const char *nms[7] = {"theta", "run_mean", "run_var", "train_loss", "val_loss",
                        "epochs_run", "best_epoch"};
  SEXP out = ntk_named_list(7, nms, elts);
  UNPROTECT(nprot);
  return out;
}

/* mlp_predict(theta, run_mean, run_var, Z, hidden, batch_norm, bn_eps): predictions */
SEXP C_mlp_predict(SEXP theta, SEXP run_mean, SEXP run_var, SEXP Z, SEXP hidden,
                   SEXP batch_norm, SEXP bn_eps)
{
  int m, p, nprot = 0;
  ntk_arg_matrix(Z, "newdata", &m, &p);
  if (p < 1) error("`newdata` must have at least one column");
  ntk_mlp_arch a = make_arch(p, hidden, batch_norm, bn_eps);
  if (!isReal(theta) || (size_t) XLENGTH(theta) != ntk_mlp_nparams(&a))
    error("`theta` does not match the network (length %d expected)", (int) ntk_mlp_nparams(&a));
  if (!isReal(run_mean) || !isReal(run_var) ||
      (size_t) XLENGTH(run_mean) != ntk_mlp_nunits(&a) ||
      (size_t) XLENGTH(run_var) != ntk_mlp_nunits(&a))
    error("`run_mean` / `run_var` do not match the network");
  SEXP out = PROTECT(allocVector(REALSXP, m)); nprot++;
  int st = ntk_mlp_predict(&a, REAL(theta), REAL(run_mean), REAL(run_var), REAL(Z), m,
                           REAL(out));
  ntk_stop_on_status(st, "ntk_mlp_predict", 0);
  UNPROTECT(nprot);
  return out;
}
