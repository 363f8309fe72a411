/* Registration of every .Call entry point, with its exact argument count. */
#include <R.h>
#include <Rinternals.h>
#include <R_ext/Rdynload.h>

/* r_spectral.c, r_util.c */
extern SEXP C_spectral_build(SEXP, SEXP, SEXP, SEXP, SEXP);
extern SEXP C_spectral_apply(SEXP, SEXP, SEXP);
extern SEXP C_spectral_quad(SEXP, SEXP, SEXP, SEXP);
extern SEXP C_build_info(void);
extern SEXP C_max_threads(void);
extern SEXP C_codes(void);
extern SEXP C_progress_set(SEXP);
extern SEXP C_interrupt_after(SEXP);
extern SEXP C_heap_in_use(void);
extern SEXP C_matrix_scan(SEXP);
/* r_cuda.c */
extern SEXP C_cuda_device_count(void);
/* r_mlp.c */
extern SEXP C_mlp_init(SEXP, SEXP, SEXP, SEXP);
extern SEXP C_mlp_loss_grad(SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP);
extern SEXP C_mlp_train(SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP);
extern SEXP C_mlp_predict(SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP);
/* r_krr.c */
extern SEXP C_krr_cv(SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP);
extern SEXP C_krr_spectral_fit(SEXP, SEXP, SEXP, SEXP, SEXP);
extern SEXP C_krr_criterion(SEXP, SEXP, SEXP, SEXP, SEXP, SEXP);
/* r_kernel.c */
extern SEXP C_col_moments(SEXP, SEXP);
extern SEXP C_standardize(SEXP, SEXP, SEXP, SEXP, SEXP);
extern SEXP C_ntk_kernel(SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP,
                         SEXP, SEXP);
extern SEXP C_weights_length(SEXP, SEXP, SEXP);
/* r_lmm.c */
extern SEXP C_lmm_fit(SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP);
extern SEXP C_lmm_fit_spectral(SEXP, SEXP, SEXP, SEXP, SEXP, SEXP);
/* r_plink.c */
extern SEXP C_bed_check(SEXP, SEXP, SEXP);
extern SEXP C_bed_read(SEXP, SEXP);
extern SEXP C_bed_write(SEXP, SEXP);
extern SEXP C_bed_counts(SEXP);
extern SEXP C_hwe_exact(SEXP, SEXP, SEXP);
extern SEXP C_geno_moments(SEXP, SEXP, SEXP);
extern SEXP C_geno_kernel(SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP,
                          SEXP, SEXP, SEXP, SEXP);
/* r_kare_train.c */
extern SEXP C_kare_objective(SEXP, SEXP, SEXP, SEXP);
extern SEXP C_kare_analytic(SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP,
                            SEXP);
extern SEXP C_kare_network(SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP,
                           SEXP);
extern SEXP C_kare_network_kernel(SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP);

static const R_CallMethodDef CallEntries[] = {
  /* r_spectral.c */
  {"spectral_build", (DL_FUNC) &C_spectral_build, 5},
  {"spectral_apply", (DL_FUNC) &C_spectral_apply, 3},
  {"spectral_quad", (DL_FUNC) &C_spectral_quad, 4},
  {"build_info", (DL_FUNC) &C_build_info,  0},
  {"max_threads", (DL_FUNC) &C_max_threads, 0},
  {"codes", (DL_FUNC) &C_codes, 0},
  {"progress_set", (DL_FUNC) &C_progress_set, 1},
  {"interrupt_after", (DL_FUNC) &C_interrupt_after, 1},
  {"heap_in_use", (DL_FUNC) &C_heap_in_use, 0},
  {"matrix_scan", (DL_FUNC) &C_matrix_scan, 1},
  /* r_cuda.c */
  {"cuda_device_count", (DL_FUNC) &C_cuda_device_count, 0},
  /* r_mlp.c */
  {"mlp_init",      (DL_FUNC) &C_mlp_init,      4},
  {"mlp_loss_grad", (DL_FUNC) &C_mlp_loss_grad, 7},
  {"mlp_train",     (DL_FUNC) &C_mlp_train,     8},
  {"mlp_predict",   (DL_FUNC) &C_mlp_predict,   7},
  /* r_krr.c */
  {"krr_cv",        (DL_FUNC) &C_krr_cv,        7},
  {"krr_spectral_fit", (DL_FUNC) &C_krr_spectral_fit, 5},
  {"krr_criterion", (DL_FUNC) &C_krr_criterion, 6},
  /* r_kernel.c */
  {"col_moments", (DL_FUNC) &C_col_moments, 2},
  {"standardize", (DL_FUNC) &C_standardize, 5},
  {"ntk_kernel", (DL_FUNC) &C_ntk_kernel, 13},
  {"weights_length", (DL_FUNC) &C_weights_length, 3},
  /* r_lmm.c */
  {"lmm_fit", (DL_FUNC) &C_lmm_fit, 7},
  {"lmm_fit_spectral", (DL_FUNC) &C_lmm_fit_spectral, 6},
  /* r_plink.c */
  {"bed_check",    (DL_FUNC) &C_bed_check,    3},
  {"bed_read",     (DL_FUNC) &C_bed_read,     2},
  {"bed_write",    (DL_FUNC) &C_bed_write,    2},
  {"bed_counts",   (DL_FUNC) &C_bed_counts,   1},
  {"hwe_exact",    (DL_FUNC) &C_hwe_exact,    3},
  {"geno_moments", (DL_FUNC) &C_geno_moments, 3},
  {"geno_kernel",  (DL_FUNC) &C_geno_kernel, 15},
  /* r_kare_train.c */
  {"kare_objective", (DL_FUNC) &C_kare_objective, 4},
  {"kare_analytic", (DL_FUNC) &C_kare_analytic, 11},
  {"kare_network", (DL_FUNC) &C_kare_network, 11},
  {"kare_network_kernel", (DL_FUNC) &C_kare_network_kernel, 8},
  {NULL, NULL, 0}
};

void R_init_ntkgen(DllInfo *dll)
{
  R_registerRoutines(dll, NULL, CallEntries, NULL, NULL);
  R_useDynamicSymbols(dll, FALSE);
  R_forceSymbols(dll, TRUE);
}
