/* Shared helpers of the .Call glue files (r_*.c). */
#ifndef NTK_R_UTIL_H
#define NTK_R_UTIL_H
#define USE_FC_LEN_T
#include <R.h>
#include <Rinternals.h>
#include "ntkgen.h"

/* Turns a non-zero core status into an R error naming the routine (and LAPACK's info
 * when given, else pass 0).  Returns only when status == NTK_OK. */
void ntk_stop_on_status(int status, const char *routine, int info);

/* A new named list list(names[0] = vals[0], ...), returned unprotected; the vals must be
 * protected by the caller. */
SEXP ntk_named_list(int n, const char **names, SEXP *vals);

/* Argument coercion with errors that name the argument. */
double ntk_arg_double(SEXP x, const char *arg);
int ntk_arg_int(SEXP x, const char *arg);
/* a numeric (double) matrix; returns its dims through nr, nc */
void ntk_arg_matrix(SEXP x, const char *arg, int *nr, int *nc);
/* Attribute "diag" of a kernel K (nr x n): the points' own kernel values k(z_i, z_i) after
 * normalisation (test rows: from dr, their unnormalised values; a symmetric kernel: its
 * diagonal, the fingerprint by which a recipe recognises its kernel after arithmetic). */
void ntk_attach_diag(SEXP K, int nr, int n, int sym, const double *dr, int normalize, int p);
/* list(mean, sd, nobs) of p columns, the result of every column-moments entry point;
 * returned unprotected, with pointers to its three vectors. */
SEXP ntk_moments_list(int p, double **mean, double **sd, int **nobs);
/* The settings of a kernel as the kernel glue receives them, checked (errors name them). */
typedef struct {
  int kind, width, n_init, normalize;
  ntk_arch arch;
} ntk_kernel_spec;
/* The network's depth (>= min_depth), sigma_w, sigma_b (>= 0) and thread count (>= 1),
 * checked, as one ntk_arch. */
ntk_arch ntk_arg_arch(SEXP depth, SEXP sw, SEXP sb, SEXP threads, int min_depth);
void ntk_arg_kernel_spec(SEXP kind, SEXP depth, SEXP width, SEXP sw, SEXP sb, SEXP n_init,
                         SEXP normalize, SEXP threads, ntk_kernel_spec *k);
/* The end of every kernel's glue (r_kernel.c, r_plink.c): refuse non-finite values, apply
 * the normalisation (dr: the rows' own values, dc: the columns', may be NULL when not
 * normalising or symmetric), attach "diag", dimnames and the settings. */
void ntk_kernel_finish(SEXP K, int nr, int n, int sym, double *dr, double *dc, int normalize,
                       int p, int nthreads, const char *routine, SEXP dimnames, SEXP settings);
/* Maps an R list made by ntk_spectral() onto the core struct (pointers into the list). */
void ntk_arg_spectral(SEXP x, ntk_spectral *s);
#endif
