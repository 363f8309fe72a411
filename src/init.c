/* Registration of every .Call entry point, with its exact argument count. */
#include <R.h>
#include <Rinternals.h>
#include <R_ext/Rdynload.h>

/* r_spectral.c */
extern SEXP C_eigen_sym(SEXP);
extern SEXP C_build_info(void);
extern SEXP C_max_threads(void);
/* r_cuda.c */
extern SEXP C_cuda_device_count(void);
/* r_lmm.c */
extern SEXP C_lmm_fit(SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP);

static const R_CallMethodDef CallEntries[] = {
  /* r_spectral.c */
  {"eigen_sym", (DL_FUNC) &C_eigen_sym,   1},
  {"build_info", (DL_FUNC) &C_build_info,  0},
  {"max_threads", (DL_FUNC) &C_max_threads, 0},
  /* r_cuda.c */
  {"cuda_device_count", (DL_FUNC) &C_cuda_device_count, 0},
  /* r_lmm.c */
  {"lmm_fit", (DL_FUNC) &C_lmm_fit, 7},
  {NULL, NULL, 0}
};

void R_init_ntkgen(DllInfo *dll)
{
  R_registerRoutines(dll, NULL, CallEntries, NULL, NULL);
  R_useDynamicSymbols(dll, FALSE);
  R_forceSymbols(dll, TRUE);
}
