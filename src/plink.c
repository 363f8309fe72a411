/* PLINK 1 binary genotypes (core: plain C, no R): the .bed reader and writer, per-SNP
 * counting statistics, the Hardy-Weinberg exact test, and the streaming of standardised
 * SNP blocks into the first-layer Gram matrix (and the first-layer pre-activations of an
 * empirical network), so that a kernel never needs the dense genotype matrix.
 *
 * .bed layout: bytes 0x6c 0x1b (magic), 0x01 (SNP-major), then for each SNP ceil(n / 4)
 * bytes; individual i sits in byte i / 4 at bits 2 (i % 4) and 2 (i % 4) + 1 (lowest bits
 * first).  Codes: 00 homozygous A1 (count 2), 01 missing, 10 heterozygous (1), 11
 * homozygous A2 (0): counts of A1, as PLINK's --recode A, BEDMatrix and genio report.
 *
 * Every function that touches a file opens it, closes it and frees its buffers on every
 * path, and reports the reason of an NTK_ERR_IO through *why (NTK_BED_*).
 */
#define USE_FC_LEN_T
#include <R_ext/BLAS.h>
#ifndef FCONE
#define FCONE
#endif
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#ifdef __linux__
#include <sys/mman.h>
#endif
#include <stdint.h>
#include "ntkgen.h"
#include "ntk_omp.h"

/* count of A1 for each 2-bit code; the missing code gets the caller's NA value */
static void code_values(double na, int flip, double v[4])
{
  v[0] = flip ? 0.0 : 2.0;
  v[1] = na;
  v[2] = 1.0;
  v[3] = flip ? 2.0 : 0.0;
}

/* ---- a reader of SNP rows -------------------------------------------------------- */
typedef struct {
  FILE *fp;
  size_t bpr;        /* bytes per SNP: ceil(n_file / 4) */
  long long pos;     /* current file offset, -1 unknown */
} bed_reader;

/* Opens and checks the .bed of n individuals and p SNPs: magic, mode, exact size.
 * Returns NTK_OK or NTK_ERR_IO with *why set (and *size the size found, when known). */
static int bed_open(bed_reader *r, const char *path, int n, int p, int *why, double *size)
{
  r->fp = NULL;
  r->bpr = ((size_t) n + 3) / 4;
  r->pos = -1;
  if (size) *size = -1;
  FILE *fp = fopen(path, "rb");
  if (!fp) { *why = NTK_BED_OPEN; return NTK_ERR_IO; }
  unsigned char hdr[3];
  size_t got = fread(hdr, 1, 3, fp);
  if (fseeko(fp, 0, SEEK_END) != 0) { fclose(fp); *why = NTK_BED_READ; return NTK_ERR_IO; }
  off_t sz = ftello(fp);
  if (size) *size = (double) sz;
  if (got < 2 || hdr[0] != 0x6c || hdr[1] != 0x1b) {
    fclose(fp); *why = NTK_BED_MAGIC; return NTK_ERR_IO;
  }
  if (got < 3) { fclose(fp); *why = NTK_BED_SIZE; return NTK_ERR_IO; }
  if (hdr[2] == 0x00) { fclose(fp); *why = NTK_BED_SAMPLE_MAJOR; return NTK_ERR_IO; }
  if (hdr[2] != 0x01) { fclose(fp); *why = NTK_BED_MODE; return NTK_ERR_IO; }
  double want = 3.0 + (double) r->bpr * (double) p;
  if ((double) sz != want) { fclose(fp); *why = NTK_BED_SIZE; return NTK_ERR_IO; }
  r->fp = fp;
  return NTK_OK;
}

static void bed_close(bed_reader *r)
{
  if (r->fp) fclose(r->fp);
  r->fp = NULL;
}

/* Reads the rows of the nb SNPs snp[0..nb-1] into buf (nb * bpr bytes), one fread per
 * run of consecutive SNPs, seeking only where the file position must change. */
static int bed_read_rows(bed_reader *r, const int *snp, int nb, unsigned char *buf, int *why)
{
  int k = 0;
  while (k < nb) {
    int run = 1;
    while (k + run < nb && snp[k + run] == snp[k] + run) run++;
    long long off = 3 + (long long) snp[k] * (long long) r->bpr;
    if (off != r->pos && fseeko(r->fp, (off_t) off, SEEK_SET) != 0) {
      *why = NTK_BED_READ; return NTK_ERR_IO;
    }
    size_t len = (size_t) run * r->bpr;
    if (fread(buf + (size_t) k * r->bpr, 1, len, r->fp) != len) {
      r->pos = -1; *why = NTK_BED_READ; return NTK_ERR_IO;
    }
    r->pos = off + (long long) len;
    k += run;
  }
  return NTK_OK;
}

/* Decodes one SNP row into out (n values): all individuals (ind NULL) through a table of
 * 4 values per byte, else the individuals ind[0..n-1]. */
static void decode_row(const unsigned char *row, int n_file, const int *ind, int n,
                       const double v[4], const double *tab, double *out)
{
  if (!ind) {
    int full = n_file / 4;
    for (int b = 0; b < full; b++) memcpy(out + 4 * (size_t) b, tab + 4 * (size_t) row[b],
                                          4 * sizeof(double));
    for (int i = 4 * full; i < n_file; i++) out[i] = v[(row[i >> 2] >> ((i & 3) << 1)) & 3];
  } else {
    for (int i = 0; i < n; i++) {
      int j = ind[i];
      out[i] = v[(row[j >> 2] >> ((j & 3) << 1)) & 3];
    }
  }
}

static void build_table(const double v[4], double *tab)
{
  for (int b = 0; b < 256; b++)
    for (int s = 0; s < 4; s++) tab[4 * b + s] = v[(b >> (2 * s)) & 3];
}

/* Block reader over a source (file or in-memory matrix): decodes the nb used SNPs
 * k0..k0+nb-1 of src into out (n x nb, NA for missing). */
typedef struct {
  const ntk_geno_src *src;
  bed_reader r;
  unsigned char *buf;   /* nb_max * bpr bytes */
  double tab[2][1024];  /* byte tables, plain and flipped */
  double v[2][4];
} geno_stream;

static int stream_open(geno_stream *s, const ntk_geno_src *src, int nb_max, double na,
                       int *why)
{
  s->src = src;
  s->buf = NULL;
  s->r.fp = NULL;
  for (int f = 0; f < 2; f++) { code_values(na, f, s->v[f]); build_table(s->v[f], s->tab[f]); }
  if (src->mat) return NTK_OK;
  int st = bed_open(&s->r, src->path, src->n_file, src->p_file, why, NULL);
  if (st != NTK_OK) return st;
  s->buf = malloc((size_t) nb_max * s->r.bpr + 1);
  if (!s->buf) { bed_close(&s->r); return NTK_ERR_ALLOC; }
  return NTK_OK;
}

static void stream_close(geno_stream *s)
{
  bed_close(&s->r);
  free(s->buf);
  s->buf = NULL;
}

static int stream_block(geno_stream *s, int k0, int nb, double *out, int nthreads, int *why)
{
  const ntk_geno_src *src = s->src;
  const int n = src->n;
  if (src->mat) {
    for (int k = 0; k < nb; k++) {
      const double *col = src->mat + (size_t) src->snp[k0 + k] * n;
      double *o = out + (size_t) k * n;
      if (src->flip && src->flip[k0 + k]) {
        for (int i = 0; i < n; i++) o[i] = isnan(col[i]) ? col[i] : 2.0 - col[i];
      } else memcpy(o, col, sizeof(double) * n);
    }
    return NTK_OK;
  }
  int st = bed_read_rows(&s->r, src->snp + k0, nb, s->buf, why);
  if (st != NTK_OK) return st;
  const size_t bpr = s->r.bpr;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nthreads) schedule(static) if (nthreads > 1 && nb > 1)
#endif
  for (int k = 0; k < nb; k++) {
    int f = src->flip ? (src->flip[k0 + k] != 0) : 0;
    decode_row(s->buf + (size_t) k * bpr, src->n_file, src->ind, n, s->v[f], s->tab[f],
               out + (size_t) k * n);
  }
  (void) nthreads;
  return NTK_OK;
}

static int check_src(const ntk_geno_src *s, int nsnp)
{
  if (!s || s->n < 1 || nsnp < 0 || (!s->mat && (!s->path || s->n_file < 1 || s->p_file < 0)))
    return NTK_ERR_ARG;
  if (!s->mat && !s->ind && s->n != s->n_file) return NTK_ERR_ARG;
  if (nsnp > 0 && !s->snp) return NTK_ERR_ARG;
  for (int k = 0; k < nsnp; k++)
    if (s->snp[k] < 0 || (!s->mat && s->snp[k] >= s->p_file)) return NTK_ERR_ARG;
  if (!s->mat && s->ind)
    for (int i = 0; i < s->n; i++) if (s->ind[i] < 0 || s->ind[i] >= s->n_file) return NTK_ERR_ARG;
  return NTK_OK;
}

/* ---- public routines (see ntkgen.h) ---------------------------------------------- */

void ntk_hint_hugepages(void *p, size_t bytes)
{
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  const uintptr_t pg = 4096, a = ((uintptr_t) p + pg - 1) & ~(pg - 1);
  const uintptr_t e = ((uintptr_t) p + bytes) & ~(pg - 1);
  if (bytes >= ((size_t) 4 << 20) && e > a) (void) madvise((void *) a, e - a, MADV_HUGEPAGE);
#else
  (void) p; (void) bytes;
#endif
}

int ntk_bed_check(const char *path, int n, int p, int *why, double *size)
{
  if (!path || n < 1 || p < 0 || !why) return NTK_ERR_ARG;
  bed_reader r;
  *why = NTK_BED_OK;
  int st = bed_open(&r, path, n, p, why, size);
  bed_close(&r);
  return st;
}

int ntk_bed_read(const ntk_geno_src *src, int nsnp, double na, double *out, int nthreads,
                 int *why)
{
  if (!why) return NTK_ERR_ARG;
  *why = NTK_BED_OK;
  if (check_src(src, nsnp) != NTK_OK || !out) return NTK_ERR_ARG;
  const int B = 4096;
  geno_stream s;
  int st = stream_open(&s, src, nsnp < B ? (nsnp > 0 ? nsnp : 1) : B, na, why);
  if (st != NTK_OK) return st;
  int nt = ntk_threads(nthreads);
  for (int k0 = 0; k0 < nsnp && st == NTK_OK; k0 += B) {
    int nb = nsnp - k0 < B ? nsnp - k0 : B;
    st = stream_block(&s, k0, nb, out + (size_t) k0 * src->n, nt, why);
    ntk_progress((double) (k0 + nb) / nsnp);
    if (st == NTK_OK && k0 + nb < nsnp && ntk_interrupt_pending()) st = NTK_ERR_INTERRUPTED;
  }
  stream_close(&s);
  return st;
}

int ntk_bed_write(const char *path, const double *G, int n, int p, int *why)
{
  if (!path || !G || n < 1 || p < 0 || !why) return NTK_ERR_ARG;
  *why = NTK_BED_OK;
  size_t bpr = ((size_t) n + 3) / 4;
  unsigned char *row = malloc(bpr);
  if (!row) return NTK_ERR_ALLOC;
  FILE *fp = fopen(path, "wb");
  if (!fp) { free(row); *why = NTK_BED_OPEN; return NTK_ERR_IO; }
  const unsigned char hdr[3] = {0x6c, 0x1b, 0x01};
  int st = fwrite(hdr, 1, 3, fp) == 3 ? NTK_OK : NTK_ERR_IO;
  for (int k = 0; k < p && st == NTK_OK; k++) {
    const double *col = G + (size_t) k * n;
    memset(row, 0, bpr);
    for (int i = 0; i < n; i++) {
      double x = col[i];
      unsigned code = isnan(x) ? 1u : (x == 2.0 ? 0u : (x == 1.0 ? 2u : (x == 0.0 ? 3u : 4u)));
      if (code > 3) { st = NTK_ERR_ARG; break; }
      row[i >> 2] |= (unsigned char) (code << ((i & 3) << 1));
    }
    if (st == NTK_OK && fwrite(row, 1, bpr, fp) != bpr) st = NTK_ERR_IO;
  }
  if (fclose(fp) != 0 && st == NTK_OK) st = NTK_ERR_IO;
  if (st == NTK_ERR_IO) *why = NTK_BED_WRITE;
  free(row);
  return st;
}

int ntk_bed_counts(const ntk_geno_src *src, int nsnp, int *cnt, int *miss_ind, int *why)
{
  if (!why) return NTK_ERR_ARG;
  *why = NTK_BED_OK;
  if (check_src(src, nsnp) != NTK_OK || !cnt || src->mat) return NTK_ERR_ARG;
  const int B = 4096, n = src->n;
  geno_stream s;
  int st = stream_open(&s, src, nsnp < B ? (nsnp > 0 ? nsnp : 1) : B, NAN, why);
  if (st != NTK_OK) return st;
  if (miss_ind) memset(miss_ind, 0, sizeof(int) * n);
  const size_t bpr = s.r.bpr;
  for (int k0 = 0; k0 < nsnp && st == NTK_OK; k0 += B) {
    int nb = nsnp - k0 < B ? nsnp - k0 : B;
    st = bed_read_rows(&s.r, src->snp + k0, nb, s.buf, why);
    for (int k = 0; k < nb && st == NTK_OK; k++) {
      const unsigned char *row = s.buf + (size_t) k * bpr;
      int c[4] = {0, 0, 0, 0};
      for (int i = 0; i < n; i++) {
        int j = src->ind ? src->ind[i] : i;
        int code = (row[j >> 2] >> ((j & 3) << 1)) & 3;
        c[code]++;
        if (code == 1 && miss_ind) miss_ind[i]++;
      }
      /* hom A1 (count 2), het, hom A2 (count 0), missing */
      int *o = cnt + 4 * (size_t) (k0 + k);
      o[0] = c[0]; o[1] = c[2]; o[2] = c[3]; o[3] = c[1];
    }
    ntk_progress((double) (k0 + nb) / nsnp);
    if (st == NTK_OK && k0 + nb < nsnp && ntk_interrupt_pending()) st = NTK_ERR_INTERRUPTED;
  }
  stream_close(&s);
  return st;
}

/* Wigginton, Cutler & Abecasis (2005), Am J Hum Genet 76:887: the exact distribution of
 * the number of heterozygotes given the allele counts, by its recurrence from the mode;
 * the p-value sums the probabilities of the configurations no more likely than the
 * observed one (ties within a relative 1e-10 counted as equal).  work: 2 (het + hom1 +
 * hom2) + 2 doubles.  Cost O(n). */
int ntk_hwe_exact(int het, int hom1, int hom2, double *work, double *pvalue)
{
  if (het < 0 || hom1 < 0 || hom2 < 0 || !work || !pvalue) return NTK_ERR_ARG;
  int homr = hom1 < hom2 ? hom1 : hom2, homc = hom1 < hom2 ? hom2 : hom1;
  long long rare = 2LL * homr + het, geno = (long long) het + homr + homc;
  if (geno == 0 || rare == 0) { *pvalue = 1.0; return NTK_OK; }
  double *hp = work;
  for (long long i = 0; i <= rare; i++) hp[i] = 0.0;
  long long mid = rare * (2 * geno - rare) / (2 * geno);
  if ((rare & 1) ^ (mid & 1)) mid++;
  long long ch = mid, cr = (rare - mid) / 2, cc = geno - ch - cr;
  hp[mid] = 1.0;
  double sum = 1.0;
  for (ch = mid; ch > 1; ch -= 2) {
    hp[ch - 2] = hp[ch] * ch * (ch - 1.0) / (4.0 * (cr + 1.0) * (cc + 1.0));
    sum += hp[ch - 2];
    cr++; cc++;
  }
  ch = mid; cr = (rare - mid) / 2; cc = geno - ch - cr;
  for (ch = mid; ch <= rare - 2; ch += 2) {
    hp[ch + 2] = hp[ch] * 4.0 * cr * cc / ((ch + 2.0) * (ch + 1.0));
    sum += hp[ch + 2];
    cr--; cc--;
  }
  double obs = hp[het] * (1.0 + 1e-10), p = 0.0;
  for (long long i = 0; i <= rare; i++) if (hp[i] <= obs) p += hp[i];
  p /= sum;
  *pvalue = p > 1.0 ? 1.0 : p;
  return NTK_OK;
}

int ntk_geno_moments(const ntk_geno_src *src, int nsnp, int block, double *mean, double *sd,
                     int *nobs, int nthreads, int *why)
{
  if (!why) return NTK_ERR_ARG;
  *why = NTK_BED_OK;
  if (check_src(src, nsnp) != NTK_OK || block < 1 || !mean || !sd || !nobs) return NTK_ERR_ARG;
  const int n = src->n, B = block;
  double *buf = malloc(sizeof(double) * (size_t) n * (nsnp < B ? (nsnp > 0 ? nsnp : 1) : B));
  if (!buf) return NTK_ERR_ALLOC;
  geno_stream s;
  int st = stream_open(&s, src, nsnp < B ? (nsnp > 0 ? nsnp : 1) : B, NAN, why);
  if (st != NTK_OK) { free(buf); return st; }
  for (int k0 = 0; k0 < nsnp && st == NTK_OK; k0 += B) {
    int nb = nsnp - k0 < B ? nsnp - k0 : B;
    st = stream_block(&s, k0, nb, buf, 1, why);
    /* the in-memory path's own routine, so the moments are bit-identical */
    if (st == NTK_OK) st = ntk_col_moments(buf, n, nb, mean + k0, sd + k0, nobs + k0, nthreads);
    ntk_progress((double) (k0 + nb) / nsnp);
    if (st == NTK_OK && k0 + nb < nsnp && ntk_interrupt_pending()) st = NTK_ERR_INTERRUPTED;
  }
  stream_close(&s);
  free(buf);
  return st;
}

/* Squared row norms of the n x nb block, added into acc. */
static void add_sqnorms(const double *A, int n, int nb, double *acc)
{
  for (int k = 0; k < nb; k++) {
    const double *col = A + (size_t) k * n;
    for (int i = 0; i < n; i++) acc[i] += col[i] * col[i];
  }
}

int ntk_geno_gram(const ntk_geno_src *X, const ntk_geno_src *Z, int p, const double *center,
                  const double *scale, double alpha, int block, int nthreads, double *K,
                  double *gx, double *gz, double *miss, ntk_geno_h1 *h1, int *why)
{
  if (!why) return NTK_ERR_ARG;
  *why = NTK_BED_OK;
  if (check_src(X, p) != NTK_OK || (Z && check_src(Z, p) != NTK_OK) || p < 1 || block < 1 ||
      !center || !scale || !gx || (Z && !gz) || (!K && !h1))
    return NTK_ERR_ARG;
  if (h1 && (h1->width < 1 || !h1->draw || !h1->HX || (Z && !h1->HZ))) return NTK_ERR_ARG;
  const int n = X->n, m = Z ? Z->n : 0, B = p < block ? p : block;
  const int w = h1 ? h1->width : 0;
  size_t nm = (size_t) n + m;
  /* raw block (n + m) x B, standardised block (n + m) x B, W1 block w x B, keep 0..B-1 */
  size_t need = 2 * nm * B + (size_t) w * B;
  double *mem = malloc(sizeof(double) * need);
  int *kk = malloc(sizeof(int) * (size_t) B);
  if (!mem || !kk) { free(mem); free(kk); return NTK_ERR_ALLOC; }
  for (int k = 0; k < B; k++) kk[k] = k;
  double *rawx = mem, *rawz = rawx + (size_t) n * B, *sx = rawz + (size_t) m * B;
  double *sz = sx + (size_t) n * B, *W1 = sz + (size_t) m * B;
  geno_stream gsx, gsz;
  gsz.buf = NULL; gsz.r.fp = NULL;
  int st = stream_open(&gsx, X, B, NAN, why);
  if (st == NTK_OK && Z) {
    st = stream_open(&gsz, Z, B, NAN, why);
    if (st == NTK_OK) why[1] = 0; else why[1] = 1;   /* which file failed */
  }
  if (st != NTK_OK) { stream_close(&gsx); free(mem); free(kk); return st; }
  memset(gx, 0, sizeof(double) * n);
  if (Z) memset(gz, 0, sizeof(double) * m);
  const double one = 1.0, zero = 0.0;
  double mx = 0.0, mz = 0.0;
  for (int k0 = 0; k0 < p && st == NTK_OK; k0 += B) {
    int nb = p - k0 < B ? p - k0 : B;
    double t;
    st = stream_block(&gsx, k0, nb, rawx, 1, why);
    if (st == NTK_OK) st = ntk_standardize(rawx, n, nb, kk, nb, center + k0, scale + k0, sx, &t, 1);
    mx += t;
    if (st == NTK_OK && Z) {
      st = stream_block(&gsz, k0, nb, rawz, 1, why);
      if (st != NTK_OK) why[1] = 1;
      else st = ntk_standardize(rawz, m, nb, kk, nb, center + k0, scale + k0, sz, &t, 1);
      mz += t;
    }
    if (st != NTK_OK) break;
    add_sqnorms(sx, n, nb, gx);
    if (Z) add_sqnorms(sz, m, nb, gz);
    double beta = k0 == 0 ? 0.0 : 1.0;
    if (K) {
      if (!Z)
        F77_CALL(dsyrk)("L", "N", &n, &nb, &alpha, sx, &n, &beta, K, &n FCONE FCONE);
      else
        F77_CALL(dgemm)("N", "T", &m, &n, &nb, &alpha, sz, &m, sx, &n, &beta, K, &m
                        FCONE FCONE);
    }
    if (h1) {
      /* W1 columns of these SNPs, drawn in the order of the whole W1 (column-major) */
      st = h1->draw(h1->ctx, W1, (size_t) w * nb);
      if (st != NTK_OK) break;
      F77_CALL(dgemm)("N", "T", &n, &w, &nb, &h1->alpha, sx, &n, W1, &w, &beta, h1->HX, &n
                      FCONE FCONE);
      if (Z)
        F77_CALL(dgemm)("N", "T", &m, &w, &nb, &h1->alpha, sz, &m, W1, &w, &beta, h1->HZ, &m
                        FCONE FCONE);
    }
    ntk_progress((double) (k0 + nb) / p);
    if (k0 + nb < p && ntk_interrupt_pending()) st = NTK_ERR_INTERRUPTED;
  }
  if (st == NTK_OK) {
    for (int i = 0; i < n; i++) gx[i] *= alpha;
    for (int i = 0; i < m; i++) gz[i] *= alpha;
    if (miss) { miss[0] = mx; miss[1] = mz; }
  }
  stream_close(&gsx);
  if (Z) stream_close(&gsz);
  free(mem);
  free(kk);
  (void) one; (void) zero; (void) nthreads;
  return st;
}
