/* .Call glue for PLINK 1 binary files: reading, writing, counting, HWE, and kernels
 * streamed from the .bed (plink.c, ntk_analytic.c, ntk_empirical.c). */
#include "r_util.h"
#include <Rmath.h>

static const char *bed_reason(int why)
{
  switch (why) {
  case NTK_BED_OPEN:         return "cannot be opened";
  case NTK_BED_MAGIC:        return "is not a PLINK .bed file (wrong magic number; expected bytes 0x6c 0x1b)";
  case NTK_BED_SAMPLE_MAJOR: return "is in sample-major mode (third byte 0x00), which is not supported; rewrite it with `plink --bfile ... --make-bed`";
  case NTK_BED_MODE:         return "has an unknown mode byte (expected 0x01, SNP-major)";
  case NTK_BED_SIZE:         return "has the wrong size for its .bim and .fam";
  case NTK_BED_READ:         return "could not be read (truncated or an I/O error)";
  case NTK_BED_WRITE:        return "could not be written";
  default:                   return "failed";
  }
}

/* errors for a core status, naming the file for NTK_ERR_IO */
static void bed_stop(int st, int why, const char *path, const char *routine)
{
  if (st == NTK_OK) return;
  if (st == NTK_ERR_IO) error("%s: file '%s' %s", routine, path, bed_reason(why));
  ntk_stop_on_status(st, routine, 0);
}

/* the expanded path, copied (R_ExpandFileName returns a static buffer) */
static const char *path_copy(SEXP path)
{
  const char *e = R_ExpandFileName(translateChar(STRING_ELT(path, 0)));
  char *c = R_alloc(strlen(e) + 1, 1);
  strcpy(c, e);
  return c;
}

/* 1-based R integer indices -> 0-based (NULL stays NULL) */
static int *index0(SEXP x, const char *arg, int lim, int *len)
{
  if (isNull(x)) { *len = -1; return NULL; }
  if (!isInteger(x)) error("`%s` must be an integer vector", arg);
  int k = LENGTH(x);
  int *out = (int *) R_alloc(k > 0 ? k : 1, sizeof(int));
  for (int i = 0; i < k; i++) {
    int v = INTEGER(x)[i];
    if (v == NA_INTEGER || v < 1 || (lim > 0 && v > lim)) error("`%s` out of range", arg);
    out[i] = v - 1;
  }
  *len = k;
  return out;
}

/* src: list(path, n_file, p_file, ind, snp, flip, mat) -> ntk_geno_src; returns nsnp */
static int parse_src(SEXP s, ntk_geno_src *src)
{
  if (!isNewList(s) || LENGTH(s) != 7) error("genotype source must be a list of 7");
  SEXP path = VECTOR_ELT(s, 0), mat = VECTOR_ELT(s, 6);
  memset(src, 0, sizeof(*src));
  int nsnp, nind;
  if (!isNull(mat)) {
    int nr, nc;
    ntk_arg_matrix(mat, "mat", &nr, &nc);
    src->mat = REAL(mat);
    src->n = nr;
    src->snp = index0(VECTOR_ELT(s, 4), "snp", nc, &nsnp);
  } else {
    if (!isString(path) || LENGTH(path) != 1) error("`path` must be a string");
    src->path = path_copy(path);
    src->n_file = ntk_arg_int(VECTOR_ELT(s, 1), "n_file");
    src->p_file = ntk_arg_int(VECTOR_ELT(s, 2), "p_file");
    src->ind = index0(VECTOR_ELT(s, 3), "ind", src->n_file, &nind);
    src->n = src->ind ? nind : src->n_file;
    src->snp = index0(VECTOR_ELT(s, 4), "snp", src->p_file, &nsnp);
  }
  if (nsnp < 0) error("`snp` must be given");
  SEXP flip = VECTOR_ELT(s, 5);
  if (!isNull(flip)) {
    if (!isLogical(flip) || LENGTH(flip) != nsnp) error("`flip` must be logical, one per SNP");
    unsigned char *f = (unsigned char *) R_alloc(nsnp > 0 ? nsnp : 1, 1);
    for (int k = 0; k < nsnp; k++) f[k] = LOGICAL(flip)[k] == TRUE;
    src->flip = f;
  }
  if (src->n < 1) error("no individuals selected");
  return nsnp;
}

static const char *src_name(const ntk_geno_src *s) { return s->path ? s->path : "(matrix)"; }

/* bed_check(path, n, p): c(reason code, file size in bytes). */
SEXP C_bed_check(SEXP path, SEXP n, SEXP p)
{
  if (!isString(path) || LENGTH(path) != 1) error("`path` must be a string");
  int why = 0;
  double size = -1;
  int st = ntk_bed_check(R_ExpandFileName(translateChar(STRING_ELT(path, 0))),
                         ntk_arg_int(n, "n"), ntk_arg_int(p, "p"), &why, &size);
  if (st != NTK_OK && st != NTK_ERR_IO) ntk_stop_on_status(st, "ntk_bed_check", 0);
  SEXP out = PROTECT(allocVector(REALSXP, 2));
  REAL(out)[0] = why;
  REAL(out)[1] = size;
  UNPROTECT(1);
  return out;
}

/* bed_read(src, threads): n x nsnp double matrix of A1 counts, NA missing. */
SEXP C_bed_read(SEXP s, SEXP threads)
{
  ntk_geno_src src;
  int nsnp = parse_src(s, &src), why = 0;
  if (src.mat) error("bed_read needs a file source");
  SEXP G = PROTECT(allocMatrix(REALSXP, src.n, nsnp));
  ntk_hint_hugepages(REAL(G), sizeof(double) * (size_t) src.n * nsnp);
  int st = ntk_bed_read(&src, nsnp, NA_REAL, REAL(G), ntk_arg_int(threads, "threads"), &why);
  bed_stop(st, why, src.path, "read_plink");
  UNPROTECT(1);
  return G;
}

/* bed_write(path, G): G a double matrix of 0/1/2/NA (checked in R). */
SEXP C_bed_write(SEXP path, SEXP G)
{
  int n, p, why = 0;
  if (!isString(path) || LENGTH(path) != 1) error("`path` must be a string");
  ntk_arg_matrix(G, "genotypes", &n, &p);
  const char *f = R_ExpandFileName(translateChar(STRING_ELT(path, 0)));
  int st = ntk_bed_write(f, REAL(G), n, p, &why);
  if (st == NTK_ERR_ARG) error("write_plink: `genotypes` must contain only 0, 1, 2 and NA");
  bed_stop(st, why, f, "write_plink");
  return R_NilValue;
}

/* bed_counts(src): list(counts = 4 x nsnp integer (hom A1, het, hom A2, missing),
 * miss_ind = missing genotypes per individual). */
SEXP C_bed_counts(SEXP s)
{
  ntk_geno_src src;
  int nsnp = parse_src(s, &src), why = 0, nprot = 0;
  if (src.mat) error("bed_counts needs a file source");
  SEXP cnt = PROTECT(allocMatrix(INTSXP, 4, nsnp)); nprot++;
  SEXP mi = PROTECT(allocVector(INTSXP, src.n)); nprot++;
  int st = ntk_bed_counts(&src, nsnp, INTEGER(cnt), INTEGER(mi), &why);
  bed_stop(st, why, src.path, "plink_qc");
  SEXP out = PROTECT(allocVector(VECSXP, 2)); nprot++;
  SET_VECTOR_ELT(out, 0, cnt);
  SET_VECTOR_ELT(out, 1, mi);
  UNPROTECT(nprot);
  return out;
}

/* hwe_exact(het, hom1, hom2): integer vectors of one length -> p-values. */
SEXP C_hwe_exact(SEXP het, SEXP hom1, SEXP hom2)
{
  if (!isInteger(het) || !isInteger(hom1) || !isInteger(hom2)) error("counts must be integer");
  R_xlen_t k = XLENGTH(het);
  if (XLENGTH(hom1) != k || XLENGTH(hom2) != k) error("counts must have one length");
  int mx = 0;
  for (R_xlen_t i = 0; i < k; i++) {
    int a = INTEGER(het)[i], b = INTEGER(hom1)[i], c = INTEGER(hom2)[i];
    if (a == NA_INTEGER || b == NA_INTEGER || c == NA_INTEGER || a < 0 || b < 0 || c < 0)
      error("counts must be non-negative and not NA");
    double t = (double) a + b + c;
    if (t > 1e9) error("counts too large");
    if (t > mx) mx = (int) t;
  }
  double *work = (double *) R_alloc(2 * (size_t) mx + 2, sizeof(double));
  SEXP out = PROTECT(allocVector(REALSXP, k));
  for (R_xlen_t i = 0; i < k; i++) {
    int st = ntk_hwe_exact(INTEGER(het)[i], INTEGER(hom1)[i], INTEGER(hom2)[i], work,
                           REAL(out) + i);
    ntk_stop_on_status(st, "ntk_hwe_exact", 0);
  }
  UNPROTECT(1);
  return out;
}

/* geno_moments(src, block, threads): list(mean, sd, nobs) as C_col_moments. */
SEXP C_geno_moments(SEXP s, SEXP block, SEXP threads)
{
  ntk_geno_src src;
  int nsnp = parse_src(s, &src), why = 0, nprot = 0;
  double *mean, *sd;
  int *nobs;
  SEXP out = PROTECT(ntk_moments_list(nsnp, &mean, &sd, &nobs)); nprot++;
  int st = ntk_geno_moments(&src, nsnp, ntk_arg_int(block, "block"), mean, sd, nobs,
                            ntk_arg_int(threads, "threads"), &why);
  bed_stop(st, why, src_name(&src), "ntk_geno_moments");
  UNPROTECT(nprot);
  return out;
}

/* normal draws for W1, from R's RNG on the main thread (between GetRNGstate and
 * PutRNGstate), in the order rnorm() would give them */
static int draw_norm(void *ctx, double *out, size_t len)
{
  (void) ctx;
  for (size_t i = 0; i < len; i++) out[i] = norm_rand();
  return NTK_OK;
}

/* geno_kernel(X, Z, center, scale, kind, depth, width, sigma_w, sigma_b, n_init,
 *             normalize, threads, block, settings, dimnames)
 * X, Z: genotype sources (Z NULL: symmetric n x n); center / scale: per used SNP (the
 * sources' snp lists are the kept SNPs, matched).  kind 0 GRM, 1 analytic, 2 empirical
 * (weights drawn with norm_rand() in the order of ntkgen.h, W1 block by block while
 * streaming).  Returns K with the attribute "ntk" = settings and the given dimnames;
 * also the attribute "missing" = c(X, Z) counts of imputed genotypes (removed in R). */
SEXP C_geno_kernel(SEXP Xs, SEXP Zs, SEXP center, SEXP scale, SEXP kind_, SEXP depth_,
                   SEXP width_, SEXP sw_, SEXP sb_, SEXP n_init_, SEXP normalize_,
                   SEXP threads_, SEXP block_, SEXP settings, SEXP dimnames)
{
  ntk_geno_src X, Z;
  int p = parse_src(Xs, &X), sym = isNull(Zs), nprot = 0;
  if (!sym && parse_src(Zs, &Z) != p) error("`Z` must use as many SNPs as `X`");
  if (!isReal(center) || !isReal(scale) || LENGTH(center) != p || LENGTH(scale) != p)
    error("`center` and `scale` must be double, one per SNP");
  ntk_kernel_spec ks;
  ntk_arg_kernel_spec(kind_, depth_, width_, sw_, sb_, n_init_, normalize_, threads_, &ks);
  int kind = ks.kind, width = ks.width, n_init = ks.n_init, normalize = ks.normalize;
  ntk_arch a = ks.arch;
  int block = ntk_arg_int(block_, "block");
  if (p < 1 || block < 1) error("geno_kernel: invalid arguments");
  const int n = X.n, m = sym ? 0 : Z.n, nr = sym ? n : m;
  const ntk_geno_src *Zp = sym ? NULL : &Z;
  SEXP K = PROTECT(allocMatrix(REALSXP, nr, n)); nprot++;
  double *gx = (double *) R_alloc(n, sizeof(double));
  double *gz = sym ? NULL : (double *) R_alloc(m, sizeof(double));
  double *dr = (double *) R_alloc(nr, sizeof(double));
  double *dc = (sym || normalize == 0) ? NULL : (double *) R_alloc(n, sizeof(double));
  double miss[2] = {0, 0};
  int why[2] = {0, 0}, st = NTK_OK;
  const char *routine = kind == 0 ? "grm" : "ntk_kernel";
#define GK_STOP(st) do { if ((st) == NTK_ERR_IO) \
      error("%s: file '%s' %s", routine, src_name(why[1] ? &Z : &X), bed_reason(why[0])); \
    ntk_stop_on_status((st), routine, 0); } while (0)

  if (kind < 2) {
    st = ntk_geno_gram(&X, Zp, p, REAL(center), REAL(scale), a.sw * a.sw / p, block,
                       a.nthreads, REAL(K), gx, gz, miss, NULL, why);
    GK_STOP(st);
    st = ntk_analytic_from_gram(n, m, gx, gz, &a, REAL(K), dr);
    if (st == NTK_OK && dc) st = ntk_analytic_diag_gram(n, gx, &a, dc);
    GK_STOP(st);
  } else {
    size_t len = ntk_weights_length(p, width, a.depth), w1 = (size_t) width * p;
    double *rest = (double *) R_alloc(len - w1, sizeof(double));
    double *G0 = (double *) R_alloc((size_t) nr * n, sizeof(double));
    double *HX = (double *) R_alloc((size_t) n * width, sizeof(double));
    double *HZ = sym ? NULL : (double *) R_alloc((size_t) m * width, sizeof(double));
    ntk_geno_h1 h1 = {width, a.sw / sqrt((double) p), HX, HZ, draw_norm, NULL};
    double scale1 = 1.0 / n_init;
    GetRNGstate();
    for (int r = 0; r < n_init && st == NTK_OK; r++) {
      st = ntk_geno_gram(&X, Zp, p, REAL(center), REAL(scale), 1.0, block, a.nthreads,
                         r == 0 ? G0 : NULL, gx, gz, miss, &h1, why);
      if (st != NTK_OK) break;
      for (size_t i = 0; i < len - w1; i++) rest[i] = norm_rand();
      st = ntk_empirical_first_layer(n, m, p, width, &a, HX, HZ, G0, gx, gz, rest, scale1,
                                     r > 0, REAL(K), dr, dc);
      if (st == NTK_OK && r + 1 < n_init && ntk_interrupt_pending()) st = NTK_ERR_INTERRUPTED;
    }
    PutRNGstate();
    GK_STOP(st);
  }
#undef GK_STOP
  ntk_kernel_finish(K, nr, n, sym, dr, dc, normalize, p, a.nthreads, routine, dimnames,
                    settings);
  SEXP mv = PROTECT(allocVector(REALSXP, 2)); nprot++;
  REAL(mv)[0] = miss[0];
  REAL(mv)[1] = miss[1];
  setAttrib(K, install("missing"), mv);
  UNPROTECT(nprot);
  return K;
}
