/* Glue helpers: status codes -> R errors, argument checks, interrupt polling. */
#include "r_util.h"
#include <R_ext/Utils.h>

void ntk_stop_on_status(int status, const char *routine, int info)
{
  if (status == NTK_OK) return;
  if (status == NTK_ERR_LAPACK && info != 0)
    error("%s: %s (LAPACK info = %d)", routine, ntk_status_message(status), info);
  error("%s: %s", routine, ntk_status_message(status));
}

double ntk_arg_double(SEXP x, const char *arg)
{
  if (!isReal(x) && !isInteger(x) && !isLogical(x)) error("`%s` must be numeric", arg);
  if (XLENGTH(x) != 1) error("`%s` must be a single number", arg);
  double v = asReal(x);
  if (ISNAN(v)) error("`%s` must not be NA", arg);
  return v;
}

int ntk_arg_int(SEXP x, const char *arg)
{
  if (!isReal(x) && !isInteger(x) && !isLogical(x)) error("`%s` must be numeric", arg);
  if (XLENGTH(x) != 1) error("`%s` must be a single number", arg);
  int v = asInteger(x);
  if (v == NA_INTEGER) error("`%s` must not be NA", arg);
  return v;
}

void ntk_arg_matrix(SEXP x, const char *arg, int *nr, int *nc)
{
  if (!isReal(x) || !isMatrix(x)) error("`%s` must be a double matrix", arg);
  SEXP d = getAttrib(x, R_DimSymbol);
  *nr = INTEGER(d)[0];
  *nc = INTEGER(d)[1];
}

SEXP ntk_named_list(int n, const char **names, SEXP *vals)
{
  SEXP out = PROTECT(allocVector(VECSXP, n));
  SEXP nms = PROTECT(allocVector(STRSXP, n));
  for (int i = 0; i < n; i++) {
    SET_VECTOR_ELT(out, i, vals[i]);
    SET_STRING_ELT(nms, i, mkChar(names[i]));
  }
  setAttrib(out, R_NamesSymbol, nms);
  UNPROTECT(2);
  return out;
}

/* R_CheckUserInterrupt longjmps; run it under R_ToplevelExec to turn that into a flag. */
static void check_interrupt_fn(void *dummy) { (void) dummy; R_CheckUserInterrupt(); }

int ntk_interrupt_pending(void)
{
  return R_ToplevelExec(check_interrupt_fn, NULL) == FALSE;
}
