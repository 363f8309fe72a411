/* Glue helpers: status codes -> R errors, argument checks, interrupt polling. */
#include "r_util.h"
#include <R_ext/Utils.h>
#include <stdio.h>
#include <time.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

void ntk_stop_on_status(int status, const char *routine, int info)
{
  if (status == NTK_OK) return;
  if (status == NTK_ERR_INTERRUPTED) {
    /* an interrupt is no failure: signal a condition of class "interrupt" (R's own), which
     * no error handler catches, so a study or a cross-validation stops as a whole */
    char msg[256];
    snprintf(msg, sizeof msg, "%s: %s", routine, ntk_status_message(status));
    SEXP ns = PROTECT(R_FindNamespace(mkString("ntkgen")));
    SEXP call = PROTECT(lang2(install("ntk_signal_interrupt"), mkString(msg)));
    eval(call, ns);
    UNPROTECT(2);
    error("%s", msg);   /* not reached */
  }
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

/* Test hook (C_interrupt_after, not exported): when fake_polls > 0, the fake_polls-th
 * poll from now reports an interrupt as if Ctrl-C had come just then, so that the tests can
 * interrupt every routine at every one of its polls, deterministically, and count them. */
static int fake_polls = 0;

int ntk_interrupt_pending(void)
{
  if (fake_polls > 0 && --fake_polls == 0) return 1;
  return R_ToplevelExec(check_interrupt_fn, NULL) == FALSE;
}

/* Test helper: bytes of the C heap in use (every malloc arena, plus mmapped blocks), NA
 * where the C library cannot say (glibc < 2.33 has no mallinfo2). */
SEXP C_heap_in_use(void)
{
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
  struct mallinfo2 mi = mallinfo2();
  return ScalarReal((double) mi.uordblks + (double) mi.hblkhd);
#else
  return ScalarReal(NA_REAL);
#endif
}

/* Sets the hook to k (0: off) and returns the polls it had left. */
SEXP C_interrupt_after(SEXP k)
{
  int left = fake_polls, v = asInteger(k);
  fake_polls = v == NA_INTEGER || v < 0 ? 0 : v;
  return ScalarInteger(left);
}

static SEXP code_table(int n, const char **names, const int *codes)
{
  SEXP v = PROTECT(allocVector(INTSXP, n)), nm = PROTECT(allocVector(STRSXP, n));
  for (int i = 0; i < n; i++) {
    INTEGER(v)[i] = codes[i];
    SET_STRING_ELT(nm, i, mkChar(names[i]));
  }
  setAttrib(v, R_NamesSymbol, nm);
  UNPROTECT(2);
  return v;
}

/* codes(): the integer codes of ntkgen.h as named integer vectors, the one table R uses
 * for methods, criteria, kernel kinds, normalisations, decompositions and statuses. */
SEXP C_codes(void)
{
  static const char *lmm_n[] = { "minque0", "minque1", "iminque", "reml" };
  static const int lmm_c[] = { NTK_LMM_MINQUE0, NTK_LMM_MINQUE1, NTK_LMM_IMINQUE, NTK_LMM_REML };
  static const char *crit_n[] = { "kare", "gcv", "loo" };
  static const int crit_c[] = { NTK_CRIT_KARE, NTK_CRIT_GCV, NTK_CRIT_LOO };
  static const char *kind_n[] = { "grm", "analytic", "empirical" };
  static const int kind_c[] = { NTK_KIND_GRM, NTK_KIND_ANALYTIC, NTK_KIND_EMPIRICAL };
  static const char *norm_n[] = { "none", "unit", "paper" };
  static const int norm_c[] = { NTK_NORM_NONE, NTK_NORM_UNIT, NTK_NORM_PAPER };
  static const char *spec_n[] = { "eigen", "tridiag" };
  static const int spec_c[] = { NTK_SPEC_EIGEN, NTK_SPEC_TRIDIAG };
  static const char *st_n[] = { "ok", "alloc", "lapack", "not_pd", "arg", "interrupted",
                                "cuda", "no_cuda", "io", "singular", "nonfinite" };
  static const int st_c[] = { NTK_OK, NTK_ERR_ALLOC, NTK_ERR_LAPACK, NTK_ERR_NOT_PD,
                              NTK_ERR_ARG, NTK_ERR_INTERRUPTED, NTK_ERR_CUDA, NTK_ERR_NO_CUDA,
                              NTK_ERR_IO, NTK_ERR_SINGULAR, NTK_ERR_NONFINITE };
  static const char *map_n[] = { "scale", "projection" };
  static const int map_c[] = { NTK_KARE_MAP_SCALE, NTK_KARE_MAP_PROJECTION };
  const char *nms[] = { "lmm_method", "criterion", "kernel_kind", "normalize", "spectral",
                        "status", "kare_map" };
  SEXP v[7];
  v[0] = PROTECT(code_table(4, lmm_n, lmm_c));
  v[1] = PROTECT(code_table(3, crit_n, crit_c));
  v[2] = PROTECT(code_table(3, kind_n, kind_c));
  v[3] = PROTECT(code_table(3, norm_n, norm_c));
  v[4] = PROTECT(code_table(2, spec_n, spec_c));
  v[5] = PROTECT(code_table(11, st_n, st_c));
  v[6] = PROTECT(code_table(2, map_n, map_c));
  SEXP out = ntk_named_list(7, nms, v);
  UNPROTECT(7);
  return out;
}

/* See r_util.h. */
void ntk_attach_diag(SEXP K, int nr, int n, int sym, const double *dr, int normalize, int p)
{
  SEXP dg = PROTECT(allocVector(REALSXP, nr));
  for (int i = 0; i < nr; i++)
    REAL(dg)[i] = sym ? REAL(K)[(size_t) i * (n + 1)] :
                  normalize == NTK_NORM_NONE ? dr[i] :
                  (dr[i] > 0 ? (normalize == NTK_NORM_PAPER ? 1.0 / p : 1.0) : 0.0);
  setAttrib(K, install("diag"), dg);
  UNPROTECT(1);
}

/* See r_util.h. */
void ntk_kernel_finish(SEXP K, int nr, int n, int sym, double *dr, double *dc, int normalize,
                       int p, int nthreads, const char *routine, SEXP dimnames, SEXP settings)
{
  /* overflow (huge sigma_w / sigma_b, deep networks with sigma_w^2 > 2, unscaled inputs)
   * must not leak Inf / NaN into the result or its normalisation */
  const double *kp = REAL(K);
  int finite = 1;
  for (size_t t = 0, len = (size_t) nr * n; t < len && finite; t++) finite = R_FINITE(kp[t]);
  for (int i = 0; i < nr && finite; i++) finite = R_FINITE(dr[i]);
  for (int i = 0; dc && i < n && finite; i++) finite = R_FINITE(dc[i]);
  if (!finite)
    error("%s: the kernel overflowed to non-finite values; reduce `sigma_w`, `sigma_b` or "
          "`depth`, or the scale of `X` (e.g. standardize = TRUE)", routine);
  if (normalize > 0) {
    if (sym) {
      for (int i = 0; i < n; i++) dr[i] = REAL(K)[(size_t) i * (n + 1)];
      dc = dr;
    }
    int st = ntk_normalize(REAL(K), nr, n, dr, dc,
                           normalize == NTK_NORM_PAPER ? 1.0 / p : 1.0, sym, nthreads);
    ntk_stop_on_status(st, "ntk_normalize", 0);
  }
  ntk_attach_diag(K, nr, n, sym, dr, normalize, p);
  if (!isNull(dimnames)) setAttrib(K, R_DimNamesSymbol, dimnames);
  if (!isNull(settings)) setAttrib(K, install("ntk"), settings);
}

/* The progress callback: an R function(fraction) set by R around a long .Call
 * (progress_set), preserved while set; calls are throttled to one per 0.25 s. */
static SEXP progress_cb = NULL;
static double progress_last = 0;

static double wall_seconds(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

SEXP C_progress_set(SEXP fn)
{
  if (progress_cb) { R_ReleaseObject(progress_cb); progress_cb = NULL; }
  if (isFunction(fn)) { R_PreserveObject(fn); progress_cb = fn; progress_last = 0; }
  return R_NilValue;
}

void ntk_progress(double fraction)
{
  if (!progress_cb) return;
  double t = wall_seconds();
  if (fraction < 1 && t - progress_last < 0.25) return;
  progress_last = t;
  SEXP call = PROTECT(lang2(progress_cb, ScalarReal(fraction)));
  int err = 0;
  R_tryEvalSilent(call, R_GlobalEnv, &err);
  UNPROTECT(1);
}

/* See r_util.h. */
ntk_arch ntk_arg_arch(SEXP depth_, SEXP sw_, SEXP sb_, SEXP threads_, int min_depth)
{
  ntk_arch a;
  a.depth = ntk_arg_int(depth_, "depth");
  a.sw = ntk_arg_double(sw_, "sigma_w");
  a.sb = ntk_arg_double(sb_, "sigma_b");
  a.nthreads = ntk_arg_int(threads_, "threads");
  if (a.depth < min_depth) error("`depth` must be >= %d", min_depth);
  if (!(a.sw >= 0) || !(a.sb >= 0)) error("`sigma_w` and `sigma_b` must be >= 0");
  if (a.nthreads < 1) error("`threads` must be >= 1");
  return a;
}

/* See r_util.h. */
void ntk_arg_kernel_spec(SEXP kind_, SEXP depth_, SEXP width_, SEXP sw_, SEXP sb_, SEXP n_init_,
                         SEXP normalize_, SEXP threads_, ntk_kernel_spec *k)
{
  k->kind = ntk_arg_int(kind_, "kind");
  if (k->kind < NTK_KIND_GRM || k->kind > NTK_KIND_EMPIRICAL) error("`kind` must be 0, 1 or 2");
  k->arch = ntk_arg_arch(depth_, sw_, sb_, threads_, k->kind == NTK_KIND_GRM ? 0 : 1);
  k->width = ntk_arg_int(width_, "width");
  k->n_init = ntk_arg_int(n_init_, "n_init");
  k->normalize = ntk_arg_int(normalize_, "normalize");
  if (k->kind == NTK_KIND_EMPIRICAL && k->width < 1) error("`width` must be >= 1");
  if (k->n_init < 1) error("`n_init` must be >= 1");
  if (k->normalize < NTK_NORM_NONE || k->normalize > NTK_NORM_PAPER)
    error("`normalize` must be 0, 1 or 2");
  if (k->kind == NTK_KIND_GRM) { k->arch.depth = 0; k->arch.sw = 1; k->arch.sb = 0; }
}

/* See r_util.h. */
SEXP ntk_moments_list(int p, double **mean, double **sd, int **nobs)
{
  SEXP out = PROTECT(allocVector(VECSXP, 3));
  SET_VECTOR_ELT(out, 0, allocVector(REALSXP, p));
  SET_VECTOR_ELT(out, 1, allocVector(REALSXP, p));
  SET_VECTOR_ELT(out, 2, allocVector(INTSXP, p));
  *mean = REAL(VECTOR_ELT(out, 0));
  *sd = REAL(VECTOR_ELT(out, 1));
  *nobs = INTEGER(VECTOR_ELT(out, 2));
  UNPROTECT(1);
  return out;
}
