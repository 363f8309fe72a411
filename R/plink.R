# Genotypes from PLINK 1 binary filesets (.bed / .bim / .fam): reading, writing, a file
# handle, quality control, phenotypes, and kernels streamed from the .bed by SNP blocks
# (the C side is src/plink.c and src/r_plink.c).

#' Open a PLINK 1 binary fileset
#'
#' Parses the `.bim` and `.fam` files of a PLINK 1 binary fileset strictly, checks the
#' `.bed` (magic bytes `0x6c 0x1b`, SNP-major mode `0x01`, size exactly
#' `3 + p * ceiling(n / 4)` bytes) and returns a handle: a small object that names the
#' files and holds the SNP and individual tables and an optional selection of SNPs and
#' individuals, without reading any genotype. Every function of the package that takes
#' PLINK genotypes ([read_plink()], [plink_qc()], [read_pheno()], [ntk_kernel()],
#' [grm()]) accepts a handle or a prefix.
#'
#' The `.bim` must have 6 whitespace-separated fields per line (chromosome, SNP ID,
#' position in cM, base-pair position, allele 1, allele 2) and the `.fam` 6 (family ID,
#' individual ID, father, mother, sex, phenotype); a line with another number of fields,
#' a non-numeric position, a duplicated SNP ID or a duplicated (FID, IID) pair is an
#' error naming the file and the line. Genotypes are the counts of allele 1 (A1, column
#' 5 of the `.bim`), as PLINK's `--recode A`, BEDMatrix and genio report them.
#'
#' Individuals are named by their IID when the IIDs of the `.fam` are unique, else by
#' `"FID_IID"`; SNPs by their ID. These names are the dimnames of [read_plink()]'s
#' matrix and of kernels computed from the files.
#'
#' @param prefix path of the fileset without extension (`"data"` for `data.bed`,
#'   `data.bim`, `data.fam`; a trailing `.bed`, `.bim` or `.fam` is dropped), or a handle.
#' @param snps optional selection of SNPs: indices, a logical vector or SNP IDs (for a
#'   handle: relative to its current selection).
#' @param individuals optional selection of individuals: indices, a logical vector, or
#'   names (IIDs, or `"FID_IID"`).
#' @param x a handle.
#' @param ... unused.
#' @return An object of class `"ntk_plink"`: a list with the file paths (`bed`, `bim_file`,
#'   `fam_file`), the whole `bim` and `fam` tables, the selection (`snps`,
#'   `individuals`: indices into the files, `NULL` for all), the selected numbers `n`
#'   and `p`, and the file's `n_file` and `p_file`.
#' @seealso [read_plink()], [plink_qc()]
#' @examples
#' prefix <- sub("\\.bed$", "", system.file("extdata", "sim.bed", package = "ntkgen"))
#' h <- plink_open(prefix)
#' h
#' plink_open(h, snps = 1:100, individuals = 1:50)
#' @export
plink_open <- function(prefix, snps = NULL, individuals = NULL) {
  h <- as_plink(prefix, "prefix")
  if (!is.null(snps)) h <- plink_select_snps(h, snps, "snps")
  if (!is.null(individuals)) h <- plink_select_individuals(h, individuals, "individuals")
  h
}

#' @rdname plink_open
#' @export
print.ntk_plink <- function(x, ...) {
  cat(sprintf("PLINK fileset '%s': %d individuals x %d SNPs", x$prefix, x$n, x$p))
  if (x$n != x$n_file || x$p != x$p_file)
    cat(sprintf(" (selected from %d x %d)", x$n_file, x$p_file))
  cat("\n")
  b <- plink_bim(x)
  if (nrow(b) > 0)
    cat(sprintf("  SNPs: %s ... %s; chromosomes %s\n", b$snp[1L], b$snp[nrow(b)],
                paste(utils::head(unique(b$chr), 8L), collapse = ", ")))
  if (!is.null(x$qc)) cat("  after quality control (see $qc)\n")
  invisible(x)
}

#' Read genotypes from a PLINK 1 binary fileset
#'
#' Decodes the selected SNPs and individuals of a `.bed` file into a dense matrix of
#' allele counts (the C reader decodes a byte at a time through a lookup table and
#' reads runs of SNPs with one `fread`). For files whose dense matrix does not fit in
#' memory, give the prefix or a handle to [grm()] or [ntk_kernel()] instead: they stream
#' the file.
#'
#' @inheritParams plink_open
#' @param prefix prefix of the fileset or a handle from [plink_open()].
#' @param threads number of OpenMP threads for decoding.
#' @return The matrix is refused, before anything is allocated, when it would need more
#'   than `getOption("ntkgen.max_kernel_gb", 16)` GB. A list: `genotypes`, the `n x p` double matrix of counts of allele 1
#'   (2 = homozygous A1, 1 = heterozygous, 0 = homozygous A2, `NA` missing) with the
#'   individuals' names (IID, or `"FID_IID"` when IIDs repeat) as row names and the SNP
#'   IDs as column names; `bim` and `fam`, the rows of the selected SNPs and individuals.
#' @seealso [write_plink()], [plink_open()]
#' @examples
#' prefix <- sub("\\.bed$", "", system.file("extdata", "sim.bed", package = "ntkgen"))
#' g <- read_plink(prefix, snps = 1:5, threads = 1)
#' dim(g$genotypes)
#' head(g$genotypes)
#' head(g$bim)
#' @export
read_plink <- function(prefix, snps = NULL, individuals = NULL, threads = default_threads()) {
  threads <- check_threads(threads)
  h <- plink_open(prefix, snps = snps, individuals = individuals)
  check_memory(mem_read_plink(h$n, h$p), "prefix",
               sprintf(paste("the dense %d x %d matrix of its genotypes (select SNPs, or",
                             "give the fileset to grm() / ntk_kernel(), which stream it)"),
                       h$n, h$p))
  G <- .Call(C_bed_read, plink_src(h), threads)
  dimnames(G) <- list(plink_ids(h), plink_bim(h)$snp)
  list(genotypes = G, bim = plink_bim(h), fam = plink_fam(h))
}

#' Write genotypes as a PLINK 1 binary fileset
#'
#' Writes `prefix.bed` (SNP-major), `prefix.bim` and `prefix.fam` from a matrix of
#' allele counts; [read_plink()] reads them back unchanged.
#'
#' @param prefix path of the fileset to write, without extension.
#' @param genotypes `n x p` matrix of counts of allele 1: 0, 1, 2 or `NA`.
#' @param bim optional data frame of `p` rows and 6 columns (chr, snp, cm, pos, a1, a2);
#'   default: chromosome 1, the column names of `genotypes` (or `snp1`, `snp2`, ...) as
#'   IDs, cM 0, positions `1:p`, alleles `"A"` (counted) and `"G"`.
#' @param fam optional data frame of `n` rows and 6 columns (fid, iid, father, mother,
#'   sex, pheno); default: FID = IID = the row names of `genotypes` (or `ind1`, ...),
#'   parents 0, sex 0, phenotype -9 (missing).
#' @return The prefix, invisibly.
#' @examples
#' set.seed(1)
#' G <- simulate_genotypes(20, 8)
#' G[3, 2] <- NA
#' f <- tempfile()
#' write_plink(f, G)
#' back <- read_plink(f, threads = 1)$genotypes
#' all.equal(unname(back), unname(G))
#' @export
write_plink <- function(prefix, genotypes, bim = NULL, fam = NULL) {
  if (!is.character(prefix) || length(prefix) != 1L || is.na(prefix) || !nzchar(prefix))
    stop_arg("prefix", "must be a single file path.")
  prefix <- sub("\\.(bed|bim|fam)$", "", prefix)
  G <- check_numeric_matrix(genotypes, "genotypes", allow_na = TRUE)
  ok <- is.na(G) | G == 0 | G == 1 | G == 2
  if (!all(ok)) {
    w <- which(!ok, arr.ind = TRUE)[1L, ]
    stop_arg("genotypes", "must contain only 0, 1, 2 and NA (", format(G[w[1], w[2]]),
             " at row ", w[1], ", column ", w[2], ").")
  }
  n <- nrow(G)
  p <- ncol(G)
  if (is.null(bim)) {
    ids <- colnames(G)
    if (is.null(ids)) ids <- paste0("snp", seq_len(p))
    bim <- data.frame(chr = "1", snp = ids, cm = 0, pos = seq_len(p), a1 = "A", a2 = "G",
                      stringsAsFactors = FALSE)
  }
  if (is.null(fam)) {
    ids <- rownames(G)
    if (is.null(ids)) ids <- paste0("ind", seq_len(n))
    fam <- data.frame(fid = ids, iid = ids, father = "0", mother = "0", sex = 0L,
                      pheno = -9, stringsAsFactors = FALSE)
  }
  bim <- check_table_arg(bim, "bim", p, "SNP (column of `genotypes`)")
  fam <- check_table_arg(fam, "fam", n, "individual (row of `genotypes`)")
  dup <- anyDuplicated(bim[[2L]])
  if (dup) stop_arg("bim", "has a duplicated SNP ID: \"", bim[[2L]][dup], "\" (row ", dup, ").")
  key <- paste(fam[[1L]], fam[[2L]], sep = "\r")
  dup <- anyDuplicated(key)
  if (dup) stop_arg("fam", "has a duplicated (FID, IID) pair: \"", fam[[1L]][dup], " ",
                    fam[[2L]][dup], "\" (row ", dup, ").")
  utils::write.table(bim, paste0(prefix, ".bim"), quote = FALSE, sep = "\t",
                     row.names = FALSE, col.names = FALSE)
  utils::write.table(fam, paste0(prefix, ".fam"), quote = FALSE, sep = " ",
                     row.names = FALSE, col.names = FALSE)
  .Call(C_bed_write, paste0(prefix, ".bed"), G)
  invisible(prefix)
}

#' Quality control of a PLINK fileset
#'
#' Filters individuals by their missing rate, then SNPs by missing rate, minor allele
#' frequency and the Hardy-Weinberg exact test (Wigginton, Cutler and Abecasis 2005, as
#' PLINK's `--hwe`, over all the kept individuals), all computed over the kept
#' individuals from genotype counts streamed from the `.bed` in C (no dense matrix).
#' Order: `mind` first, then `geno`, `hwe` and `maf` on the remaining individuals, each
#' SNP tested on the same counts (a SNP can fail several filters; all its reasons are
#' listed).
#'
#' @param x a prefix or handle (`plink_qc()`), or the report (`print()`).
#' @param maf minimum minor allele frequency (SNPs below are removed; 0 keeps all, and
#'   monomorphic SNPs are removed by any `maf > 0`).
#' @param geno maximum missing rate of a SNP.
#' @param mind maximum missing rate of an individual.
#' @param hwe SNPs with a Hardy-Weinberg exact p-value below it are removed (0: no test).
#' @param ... unused.
#' @return The handle restricted to the kept SNPs and individuals, with the report in
#'   `$qc`: an object of class `"ntk_plink_qc"` with `snps` (a data frame with one row per
#'   SNP tested: `snp`, `missing` rate, `maf`, `hwe_p`, `removed`, `reason`),
#'   `individuals` (`id`, `missing`, `removed`) and the thresholds.
#' @references Wigginton JE, Cutler DJ, Abecasis GR (2005). A note on exact tests of
#'   Hardy-Weinberg equilibrium. American Journal of Human Genetics 76, 887-893.
#' @examples
#' prefix <- sub("\\.bed$", "", system.file("extdata", "sim.bed", package = "ntkgen"))
#' h <- plink_qc(prefix, maf = 0.05, geno = 0.05, mind = 0.1, hwe = 1e-6)
#' h
#' h$qc
#' head(h$qc$snps[h$qc$snps$removed, ])
#' @export
plink_qc <- function(x, maf = 0.01, geno = 0.1, mind = 0.1, hwe = 1e-6) {
  h <- as_plink(x, "x")
  maf <- check_number(maf, "maf", lower = 0, upper = 0.5)
  geno <- check_number(geno, "geno", lower = 0, upper = 1)
  mind <- check_number(mind, "mind", lower = 0, upper = 1)
  hwe <- check_number(hwe, "hwe", lower = 0, upper = 1)
  ids <- plink_ids(h)
  cnt <- .Call(C_bed_counts, plink_src(h))
  imiss <- cnt[[2L]] / h$p
  drop_ind <- imiss > mind
  inds <- data.frame(id = ids, missing = imiss, removed = drop_ind, stringsAsFactors = FALSE)
  if (all(drop_ind))
    stop_arg("mind", "removes every individual (", h$n, ") of '", h$prefix, "'.")
  if (any(drop_ind)) {
    h <- plink_select_individuals(h, which(!drop_ind), "individuals")
    cnt <- .Call(C_bed_counts, plink_src(h))
  }
  cc <- cnt[[1L]]
  hom1 <- cc[1L, ]; het <- cc[2L, ]; hom2 <- cc[3L, ]; nmiss <- cc[4L, ]
  nobs <- hom1 + het + hom2
  smiss <- nmiss / h$n
  f1 <- ifelse(nobs > 0, (2 * hom1 + het) / (2 * nobs), NA_real_)
  mafv <- pmin(f1, 1 - f1)
  hp <- .Call(C_hwe_exact, as.integer(het), as.integer(hom1), as.integer(hom2))
  r_geno <- smiss > geno
  r_hwe <- hwe > 0 & hp < hwe
  r_maf <- is.na(mafv) | (maf > 0 & (mafv < maf | mafv == 0))
  reason <- paste(ifelse(r_geno, "geno", ""), ifelse(r_hwe, "hwe", ""),
                  ifelse(r_maf, "maf", ""))
  reason <- gsub("^ +| +$", "", gsub(" +", " ", reason))
  removed <- r_geno | r_hwe | r_maf
  snps <- data.frame(snp = plink_bim(h)$snp, missing = smiss, maf = mafv, hwe_p = hp,
                     removed = removed, reason = reason, stringsAsFactors = FALSE)
  if (all(removed)) stop_arg("x", "has no SNP left after quality control of '", h$prefix, "'.")
  if (any(removed)) h <- plink_select_snps(h, which(!removed), "snps")
  h$qc <- structure(list(snps = snps, individuals = inds,
                         thresholds = c(maf = maf, geno = geno, mind = mind, hwe = hwe)),
                    class = "ntk_plink_qc")
  h
}

#' @rdname plink_qc
#' @export
print.ntk_plink_qc <- function(x, ...) {
  th <- x$thresholds
  cat(sprintf("PLINK quality control (mind %g, geno %g, hwe %g, maf %g)\n",
              th[["mind"]], th[["geno"]], th[["hwe"]], th[["maf"]]))
  ni <- nrow(x$individuals); ri <- sum(x$individuals$removed)
  cat(sprintf("  individuals: %d of %d kept, %d removed (missing rate > %g)\n",
              ni - ri, ni, ri, th[["mind"]]))
  ns <- nrow(x$snps); rs <- sum(x$snps$removed)
  cat(sprintf("  SNPs: %d of %d kept, %d removed\n", ns - rs, ns, rs))
  for (r in c("geno", "hwe", "maf")) {
    k <- sum(grepl(r, x$snps$reason, fixed = TRUE))
    lab <- c(geno = "missing rate", hwe = "Hardy-Weinberg exact test", maf = "minor allele frequency")[[r]]
    if (k > 0) cat(sprintf("    %-4s %6d  (%s)\n", r, k, lab))
  }
  invisible(x)
}

#' Phenotypes and covariates for PLINK genotypes
#'
#' Reads the phenotype of column 6 of the `.fam`, or the columns of a PLINK
#' `--pheno` / `--covar` style file, in the order of the genotypes' individuals.
#'
#' From the `.fam` (`file = NULL`): `-9` and `NA` are missing; when every other value is
#' 0, 1 or 2 the phenotype is read as PLINK's case/control coding (1 = control, 2 =
#' case) and 0 is missing too. From a file: whitespace-separated, with a header line
#' whose first two names are `FID` and `IID` (any case; `#FID` is accepted), one line
#' per individual; `-9` and `NA` are missing in numeric columns. Rows are matched to the
#' genotypes by (FID, IID); individuals without a row get `NA`; a file in which no
#' individual matches is an error.
#'
#' @param x the genotypes: a prefix, a handle, or a `.fam`-like data frame (FID and IID
#'   in its first two columns).
#' @param file optional phenotype / covariate file.
#' @param columns optional names of the columns to return (file only).
#' @return From the `.fam`: a numeric vector named by the individuals. From a file: a
#'   data frame with one row per individual (row names: their names) and the selected
#'   columns (numeric where every non-missing value is a number); with `columns` of
#'   length 1, that column as a named vector.
#' @examples
#' prefix <- sub("\\.bed$", "", system.file("extdata", "sim.bed", package = "ntkgen"))
#' y <- read_pheno(prefix, system.file("extdata", "sim.pheno", package = "ntkgen"))
#' head(y)
#' @export
read_pheno <- function(x, file = NULL, columns = NULL) {
  if (is.data.frame(x)) {
    if (ncol(x) < 2L) stop_arg("x", "must have FID and IID in its first two columns.")
    fam <- data.frame(fid = as.character(x[[1L]]), iid = as.character(x[[2L]]),
                      pheno = if (ncol(x) >= 6L) x[[6L]] else NA, stringsAsFactors = FALSE)
    ids <- fam_ids(fam$fid, fam$iid)
  } else {
    h <- as_plink(x, "x")
    fam <- plink_fam(h)
    ids <- plink_ids(h)
  }
  if (is.null(file)) {
    y <- suppressWarnings(as.numeric(fam$pheno))
    y[y %in% -9] <- NA
    v <- y[!is.na(y)]
    if (length(v) && all(v %in% c(0, 1, 2))) y[y %in% 0] <- NA
    names(y) <- ids
    return(y)
  }
  if (!is.character(file) || length(file) != 1L || is.na(file))
    stop_arg("file", "must be a single file path.")
  lines <- read_lines_strict(file, "phenotype")
  if (length(lines) < 1L) stop(sprintf("phenotype file '%s' is empty.", file), call. = FALSE)
  f <- split_fields(lines)
  nf <- lengths(f)
  hdr <- f[[1L]]
  if (length(hdr) < 3L || toupper(sub("^#", "", hdr[1L])) != "FID" || toupper(hdr[2L]) != "IID")
    stop(sprintf(paste0("phenotype file '%s': the header line must start with FID IID and ",
                        "name at least one column (found \"%s\")."), file,
                 paste(hdr, collapse = " ")), call. = FALSE)
  bad <- which(nf[-1L] != length(hdr))
  if (length(bad))
    stop(sprintf("phenotype file '%s', line %d: %d fields, expected %d as in the header.",
                 file, bad[1L] + 1L, nf[bad[1L] + 1L], length(hdr)), call. = FALSE)
  body <- matrix(unlist(f[-1L]), ncol = length(hdr), byrow = TRUE)
  key <- paste(body[, 1L], body[, 2L], sep = "\r")
  dup <- anyDuplicated(key)
  if (dup) stop(sprintf("phenotype file '%s', line %d: duplicated individual %s %s.", file,
                        dup + 1L, body[dup, 1L], body[dup, 2L]), call. = FALSE)
  nm <- hdr[-(1:2)]
  if (!is.null(columns)) {
    if (!is.character(columns) || anyNA(columns) || !length(columns))
      stop_arg("columns", "must be column names of the file.")
    miss <- setdiff(columns, nm)
    if (length(miss))
      stop_arg("columns", "names a column not in '", file, "': \"", miss[1L], "\" (it has ",
               paste(nm, collapse = ", "), ").")
  } else columns <- nm
  idx <- match(paste(fam$fid, fam$iid, sep = "\r"), key)
  if (all(is.na(idx)))
    stop(sprintf(paste0("phenotype file '%s': none of its %d individuals matches the ",
                        "genotypes' (FID, IID) pairs (e.g. %s %s)."), file, nrow(body),
                 fam$fid[1L], fam$iid[1L]), call. = FALSE)
  out <- lapply(columns, function(cl) {
    v <- body[idx, 1L + match(cl, hdr[-1L])]
    v[v %in% c("NA", "na", "-9")] <- NA
    num <- suppressWarnings(as.numeric(v))
    if (all(is.na(v) | !is.na(num))) num else v
  })
  names(out) <- columns
  if (length(columns) == 1L) return(stats::setNames(out[[1L]], ids))
  as.data.frame(out, row.names = ids, stringsAsFactors = FALSE, optional = TRUE)
}

# ---- internals: handles ------------------------------------------------------------

is_plink_input <- function(x) {
  inherits(x, "ntk_plink") ||
    (is.character(x) && length(x) == 1L && is.null(dim(x)) && !is.na(x))
}

# A handle from a prefix (opening and checking the files) or a handle itself.
as_plink <- function(x, arg) {
  if (inherits(x, "ntk_plink")) return(x)
  if (!is.character(x) || length(x) != 1L || is.na(x) || !nzchar(x))
    stop_arg(arg, "must be the prefix of a PLINK fileset (a string) or a handle from ",
             "plink_open().")
  prefix <- sub("\\.(bed|bim|fam)$", "", x)
  files <- paste0(prefix, c(".bed", ".bim", ".fam"))
  for (f in files)
    if (!file.exists(f))
      stop_arg(arg, "names a PLINK fileset whose file '", f, "' does not exist.")
  bim <- read_bim(files[2L])
  fam <- read_fam(files[3L])
  chk <- .Call(C_bed_check, files[1L], nrow(fam), nrow(bim))
  why <- chk[1L]
  if (why != 0) {
    bpr <- ceiling(nrow(fam) / 4)
    msg <- switch(as.character(why),
      "1" = "cannot be opened (check the path and permissions).",
      "2" = "is not a PLINK .bed file: wrong magic number (expected the bytes 0x6c 0x1b).",
      "3" = paste0("is in sample-major (individual-major) mode (third byte 0x00), which is ",
                   "not supported; rewrite it SNP-major with `plink --bfile ... --make-bed`."),
      "4" = "has an unknown mode byte (expected 0x01, SNP-major).",
      "5" = sprintf(paste0("has %.0f bytes, but %d SNPs (lines of '%s') x %d individuals ",
                           "(lines of '%s') need 3 + %d x %d = %.0f: the .bed is %s, or the ",
                           ".bim / .fam line counts do not match it."),
                    chk[2L], nrow(bim), files[2L], nrow(fam), files[3L], nrow(bim), bpr,
                    3 + nrow(bim) * bpr,
                    if (chk[2L] < 3 + nrow(bim) * bpr) "truncated" else "too long"),
      "could not be read.")
    stop(sprintf("PLINK .bed file '%s' %s", files[1L], msg), call. = FALSE)
  }
  structure(list(prefix = prefix, bed = normalizePath(files[1L]),
                 bim_file = files[2L], fam_file = files[3L], bim = bim, fam = fam,
                 snps = NULL, individuals = NULL, n = nrow(fam), p = nrow(bim),
                 n_file = nrow(fam), p_file = nrow(bim), qc = NULL),
            class = "ntk_plink")
}

plink_bim <- function(h) {
  b <- if (is.null(h$snps)) h$bim else h$bim[h$snps, , drop = FALSE]
  rownames(b) <- NULL
  b
}
plink_fam <- function(h) {
  f <- if (is.null(h$individuals)) h$fam else h$fam[h$individuals, , drop = FALSE]
  rownames(f) <- NULL
  f
}
# individuals' names: IID when unique in the file, else FID_IID
fam_ids <- function(fid, iid) if (anyDuplicated(iid)) paste(fid, iid, sep = "_") else iid
plink_ids <- function(h) {
  ids <- fam_ids(h$fam$fid, h$fam$iid)
  if (is.null(h$individuals)) ids else ids[h$individuals]
}

# file indices of the handle's selected SNPs
plink_snp_index <- function(h) if (is.null(h$snps)) seq_len(h$p_file) else h$snps

# the genotype source passed to C: list(path, n_file, p_file, ind, snp, flip, mat);
# k: which of the handle's selected SNPs (default all)
plink_src <- function(h, k = NULL, flip = NULL) {
  snp <- plink_snp_index(h)
  if (!is.null(k)) snp <- snp[k]
  list(h$bed, as.integer(h$n_file), as.integer(h$p_file),
       if (is.null(h$individuals)) NULL else as.integer(h$individuals),
       as.integer(snp), flip, NULL)
}
matrix_src <- function(M, cols) list(NULL, 0L, 0L, NULL, as.integer(cols), NULL, M)

resolve_selection <- function(sel, n, names, arg, what) {
  if (is.logical(sel)) {
    if (length(sel) != n || anyNA(sel))
      stop_arg(arg, "as a logical vector must have length ", n, " without NA.")
    idx <- which(sel)
  } else if (is.numeric(sel)) {
    if (anyNA(sel) || any(sel != round(sel)) || any(sel < 1) || any(sel > n))
      stop_arg(arg, "must hold indices between 1 and ", n, ".")
    idx <- as.integer(sel)
  } else if (is.character(sel)) {
    idx <- match(sel, names)
    if (anyNA(idx)) stop_arg(arg, "names ", what, " not in the fileset: \"",
                             sel[is.na(idx)][1L], "\".")
  } else stop_arg(arg, "must be indices, a logical vector or names.")
  if (!length(idx)) stop_arg(arg, "selects no ", what, ".")
  if (anyDuplicated(idx)) stop_arg(arg, "selects a ", what, " twice (",
                                   names[idx[anyDuplicated(idx)]], ").")
  idx
}

plink_select_snps <- function(h, sel, arg) {
  b <- plink_bim(h)
  idx <- resolve_selection(sel, nrow(b), b$snp, arg, "SNP")
  h$snps <- plink_snp_index(h)[idx]
  h$p <- length(idx)
  h
}

plink_select_individuals <- function(h, sel, arg) {
  ids <- plink_ids(h)
  if (is.character(sel)) {
    f <- plink_fam(h)
    alt <- paste(f$fid, f$iid, sep = "_")
    sel <- ifelse(sel %in% ids, sel, ids[match(sel, alt)])
    sel[is.na(sel)] <- "\r(none)"
  }
  idx <- resolve_selection(sel, length(ids), ids, arg, "individual")
  cur <- if (is.null(h$individuals)) seq_len(h$n_file) else h$individuals
  h$individuals <- cur[idx]
  h$n <- length(idx)
  h
}

# ---- internals: strict .bim / .fam parsing -----------------------------------------

read_lines_strict <- function(file, what) {
  con <- tryCatch(file(file, "r"), error = function(e) NULL, warning = function(w) NULL)
  if (is.null(con)) stop(sprintf("%s file '%s' cannot be opened.", what, file), call. = FALSE)
  on.exit(close(con))
  tryCatch(readLines(con, warn = FALSE),
           error = function(e) stop(sprintf("%s file '%s' cannot be read: %s", what, file,
                                            conditionMessage(e)), call. = FALSE))
}

split_fields <- function(lines) {
  lines <- sub("\r$", "", lines)
  lines <- sub("^[ \t]+", "", sub("[ \t]+$", "", lines))
  f <- strsplit(lines, "[ \t]+")
  f[!nzchar(lines)] <- list(character(0))
  f
}

parse_table <- function(file, what, cols) {
  lines <- read_lines_strict(file, what)
  if (!length(lines)) stop(sprintf("%s file '%s' is empty.", what, file), call. = FALSE)
  if (any(grepl("[^ -~\t\r]", lines, useBytes = TRUE))) {
    bad <- which(grepl("[^ -~\t\r]", lines, useBytes = TRUE))[1L]
    stop(sprintf("%s file '%s', line %d: unexpected (binary or non-ASCII) characters.",
                 what, file, bad), call. = FALSE)
  }
  f <- split_fields(lines)
  nf <- lengths(f)
  bad <- which(nf != length(cols))
  if (length(bad))
    stop(sprintf("%s file '%s', line %d: %d fields, expected %d (%s).", what, file, bad[1L],
                 nf[bad[1L]], length(cols), paste(cols, collapse = ", ")), call. = FALSE)
  M <- matrix(unlist(f, use.names = FALSE), ncol = length(cols), byrow = TRUE)
  colnames(M) <- cols
  M
}

num_col <- function(M, j, file, what, integer = FALSE, allow_na = FALSE) {
  v <- M[, j]
  x <- suppressWarnings(as.numeric(v))
  bad <- is.na(x) & !(allow_na & v %in% c("NA", "na"))
  if (integer) bad <- bad | (!is.na(x) & x != round(x))
  if (any(bad)) {
    i <- which(bad)[1L]
    stop(sprintf("%s file '%s', line %d: column %d (%s) must be %s, not \"%s\".", what, file,
                 i, j, colnames(M)[j], if (integer) "a whole number" else "a number", v[i]),
         call. = FALSE)
  }
  x
}

read_bim <- function(file) {
  M <- parse_table(file, ".bim", c("chr", "snp", "cm", "pos", "a1", "a2"))
  cm <- num_col(M, 3L, file, ".bim")
  pos <- num_col(M, 4L, file, ".bim", integer = TRUE)
  dup <- anyDuplicated(M[, 2L])
  if (dup) stop(sprintf(paste0(".bim file '%s', line %d: duplicated SNP ID \"%s\" (SNPs are ",
                               "matched by ID; give them unique IDs, e.g. with plink ",
                               "--set-missing-var-ids)."), file, dup, M[dup, 2L]), call. = FALSE)
  data.frame(chr = M[, 1L], snp = M[, 2L], cm = cm, pos = pos, a1 = M[, 5L], a2 = M[, 6L],
             stringsAsFactors = FALSE)
}

read_fam <- function(file) {
  M <- parse_table(file, ".fam", c("fid", "iid", "father", "mother", "sex", "pheno"))
  sex <- num_col(M, 5L, file, ".fam", integer = TRUE)
  pheno <- num_col(M, 6L, file, ".fam", allow_na = TRUE)
  dup <- anyDuplicated(paste(M[, 1L], M[, 2L], sep = "\r"))
  if (dup) stop(sprintf(".fam file '%s', line %d: duplicated individual (FID %s, IID %s).",
                        file, dup, M[dup, 1L], M[dup, 2L]), call. = FALSE)
  data.frame(fid = M[, 1L], iid = M[, 2L], father = M[, 3L], mother = M[, 4L],
             sex = as.integer(sex), pheno = pheno, stringsAsFactors = FALSE)
}

check_table_arg <- function(x, arg, nrow_expected, per) {
  if (!is.data.frame(x) || ncol(x) != 6L)
    stop_arg(arg, "must be a data frame of 6 columns.")
  if (nrow(x) != nrow_expected)
    stop_arg(arg, "must have ", nrow_expected, " rows, one per ", per, " (", nrow(x),
             " given).")
  for (j in seq_len(6L)) {
    v <- as.character(x[[j]])
    if (arg == "fam" && j == 6L) v[is.na(v)] <- "-9"
    if (anyNA(v) || any(!nzchar(v)) || any(grepl("[[:space:]]", v)))
      stop_arg(arg, "column ", j, " must have non-empty values without spaces or NA.")
    x[[j]] <- v
  }
  x
}

# ---- internals: kernels streamed from a .bed ----------------------------------------

# Called at the top of ntk_kernel() / grm() when X or Z is a PLINK prefix or handle.
plink_kernel <- function(X, Z, kind, depth, width, sigma_w, sigma_b, normalize, n_init,
                         standardize, threads, device) {
  if (kind != "grm") {
    depth <- check_number(depth, "depth", lower = 1, upper = 1e4, integer = TRUE)
    width <- check_width(width)
    kind <- if (is.finite(width)) "empirical" else "analytic"
    sigma_w <- check_number(sigma_w, "sigma_w", lower = 0)
    sigma_b <- check_number(sigma_b, "sigma_b", lower = 0)
    n_init <- if (kind == "analytic") 1L else
      check_number(n_init, "n_init", lower = 1, upper = 1e6, integer = TRUE)
    device <- check_choice(device, c("auto", "cpu", "cuda"), "device")
    if (device == "cuda")
      stop_arg("device", "is \"cuda\", but kernels of PLINK files are streamed on the CPU; ",
               "use device = \"cpu\" or \"auto\", or read_plink() the genotypes first.")
  }
  normalize <- check_choice(normalize, c("none", "unit", "paper"), "normalize")
  standardize <- check_flag(standardize, "standardize")
  threads <- check_threads(threads)
  if (!is_plink_input(X)) {
    # training genotypes in memory, test individuals from a file: read them, matched by
    # SNP ID (no allele information on the matrix side)
    Xm <- check_numeric_matrix(X, "X", allow_na = TRUE, min_rows = 2L)
    Zm <- plink_matrix_for(Z, colnames(Xm), "Z", threads)
    f <- if (kind == "grm") grm else ntk_kernel
    args <- list(Xm, Zm, normalize = normalize, standardize = standardize, threads = threads)
    if (kind != "grm") args <- c(args, list(depth = depth, width = width, sigma_w = sigma_w,
                                            sigma_b = sigma_b, n_init = n_init,
                                            device = device))
    return(do.call(f, args))
  }
  hx <- as_plink(X, "X")
  if (hx$n < 2L) stop_arg("X", "must have at least 2 individuals (", hx$n, " selected).")
  st <- plink_train_stats(hx, standardize, threads)
  settings <- list(kind = kind, depth = if (kind == "grm") NA_integer_ else depth,
                   width = if (kind == "grm") NA_real_ else as.numeric(width),
                   sigma_w = sigma_w, sigma_b = sigma_b, normalize = normalize,
                   n_init = n_init, standardize = standardize,
                   center = if (standardize) st$center, scale = if (standardize) st$scale,
                   keep = st$keep, p = length(st$keep), device = "cpu")
  plink_stream(hx, Z, settings, st$center, st$scale, threads)
}

# The training standardisation from the file, exactly as prepare_genotypes() computes it
# on the dense matrix (same C routine on each decoded block).
plink_train_stats <- function(hx, standardize, threads) {
  mom <- .Call(C_geno_moments, plink_src(hx), plink_block(), threads)
  names(mom) <- c("mean", "sd", "nobs")
  ids <- plink_bim(hx)$snp
  lab <- function(j) sprintf("%d (\"%s\")", j, ids[j])
  if (!standardize) {
    if (any(mom$nobs < hx$n))
      stop_arg("X", "contains missing values (NA); they can only be imputed ",
               "(by the column mean) with `standardize = TRUE`.")
    keep <- seq_len(hx$p)
    return(list(keep = keep, center = stats::setNames(rep(0, hx$p), ids),
                scale = stats::setNames(rep(1, hx$p), ids)))
  }
  if (any(mom$nobs == 0L)) {
    bad <- which(mom$nobs == 0L)
    stop_arg("X", "has ", length(bad), " column(s) with only missing values (NA), e.g. ",
             "column ", lab(bad[1L]), "; remove them.")
  }
  keep <- which(mom$sd > 0)
  if (length(keep) == 0L)
    stop_arg("X", "has no column that varies: every SNP is constant, nothing to standardise.")
  if (length(keep) < hx$p)
    warning(sprintf("`X` has %d constant column(s) (e.g. %s); dropped.",
                    hx$p - length(keep), lab(which(mom$sd <= 0)[1L])), call. = FALSE)
  list(keep = keep, center = stats::setNames(mom$mean[keep], ids[keep]),
       scale = stats::setNames(mom$sd[keep], ids[keep]))
}

plink_block <- function() {
  b <- getOption("ntkgen.plink_block", 1024L)
  check_number(b, "option ntkgen.plink_block", lower = 1, upper = 1e6, integer = TRUE)
}

# The kernel of training handle hx (and test genotypes Z: NULL, a prefix / handle, or a
# matrix) with the settings (kind, depth, ..., keep) and training center / scale of the
# kept SNPs, streamed from the file(s).
plink_stream <- function(hx, Z, settings, center, scale, threads) {
  keep <- settings$keep
  kind <- settings$kind
  xsrc <- plink_src(hx, keep)
  zsrc <- NULL
  zids <- NULL
  if (!is.null(Z)) {
    if (is_plink_input(Z)) {
      hz <- as_plink(Z, "Z")
      mt <- plink_match_snps(hx, keep, hz)
      zsrc <- plink_src(hz, mt$index, mt$flip)
      zids <- plink_ids(hz)
    } else {
      Zm <- check_numeric_matrix(Z, "Z", allow_na = TRUE, min_rows = 1L)
      ids <- plink_bim(hx)$snp
      if (!is.null(colnames(Zm))) {
        cols <- match(ids[keep], colnames(Zm))
        if (anyNA(cols))
          stop_arg("Z", "has no column for the training SNP \"", ids[keep][is.na(cols)][1L],
                   "\" (columns are matched to the SNPs of `X` by name).")
      } else {
        if (ncol(Zm) != hx$p)
          stop_arg("Z", "must have as many columns (SNPs) as `X` (", hx$p, "), not ",
                   ncol(Zm), ".")
        cols <- keep
      }
      if (!settings$standardize && anyNA(Zm[, cols]))
        stop_arg("Z", "contains missing values (NA); they can only be imputed ",
                 "(by the training column mean) with `standardize = TRUE`.")
      zsrc <- matrix_src(Zm, cols)
      zids <- rownames(Zm)
    }
  }
  n <- hx$n
  m <- if (is.null(zsrc)) 0L else if (is.null(zsrc[[7L]])) hz$n else nrow(zsrc[[7L]])
  nr <- if (m > 0) m else n
  blk <- plink_block()
  w <- if (kind == "empirical") settings$width else 0
  check_memory(mem_plink_kernel(n, m, length(keep), kind, w, settings$depth, blk), "X",
               sprintf("the %d x %d %s streamed from the fileset and its work space", nr, n,
                       kernel_label(kind)))
  if (m > 0) settings$m <- m
  if (kind == "empirical" && is.null(settings$rng_state)) {
    if (!exists(".Random.seed", envir = globalenv(), inherits = FALSE)) set.seed(NULL)
    settings$rng_state <- get(".Random.seed", envir = globalenv(), inherits = FALSE)
  }
  settings$genotypes <- hx
  dn <- list(if (m > 0) zids else plink_ids(hx), plink_ids(hx))
  grm_kind <- kind == "grm"
  nr <- length(dn[[1L]])
  K <- with_progress_bar(sprintf("%s from %s, %d x %d", if (grm_kind) "grm" else "ntk_kernel",
                                 basename(hx$prefix %||% "file"), nr, length(dn[[2L]])),
                         show = progress_default() && as.numeric(nr) * length(dn[[2L]]) > 4e6,
    .Call(C_geno_kernel, xsrc, zsrc, as.double(center), as.double(scale),
          ntk_code("kernel_kind", kind), as.integer(if (grm_kind) 0L else settings$depth),
          if (kind == "empirical") as.integer(w) else 0L,
          as.double(settings$sigma_w), as.double(settings$sigma_b),
          as.integer(settings$n_init), ntk_code("normalize", settings$normalize),
          as.integer(threads), as.integer(blk), settings, dn))
  miss <- attr(K, "missing")
  attr(K, "missing") <- NULL
  if (miss[1L] > 0)
    message(sprintf("ntkgen: imputed %g missing genotype(s) in `X` by the column means.",
                    miss[1L]))
  if (miss[2L] > 0)
    message(sprintf("ntkgen: imputed %g missing genotype(s) in `Z` by the training column means.",
                    miss[2L]))
  K
}

# For each kept training SNP, the index of the same SNP (by ID) among the test handle's
# selected SNPs, and whether its alleles are swapped (then counts are flipped, 2 - x).
plink_match_snps <- function(hx, keep, hz) {
  bx <- plink_bim(hx)[keep, , drop = FALSE]
  bz <- plink_bim(hz)
  idx <- match(bx$snp, bz$snp)
  if (anyNA(idx))
    stop_arg("Z", "has no SNP \"", bx$snp[is.na(idx)][1L], "\" of the training genotypes (",
             sum(is.na(idx)), " training SNP(s) missing from '", hz$prefix, "').")
  a1 <- toupper(bz$a1[idx]); a2 <- toupper(bz$a2[idx])
  x1 <- toupper(bx$a1); x2 <- toupper(bx$a2)
  same <- a1 == x1 & a2 == x2
  swap <- a1 == x2 & a2 == x1 & !same
  bad <- which(!same & !swap)
  if (length(bad))
    stop_arg("Z", "has SNP \"", bx$snp[bad[1L]], "\" with alleles ", bz$a1[idx[bad[1L]]], "/",
             bz$a2[idx[bad[1L]]], " in '", hz$prefix, "', but ", bx$a1[bad[1L]], "/",
             bx$a2[bad[1L]], " in the training genotypes: cannot be matched.")
  list(index = idx, flip = if (any(swap)) swap else NULL)
}

# Test genotypes from a file as a dense matrix whose columns follow `snp_ids` (the
# training matrix's column names; positional when NULL).
plink_matrix_for <- function(Z, snp_ids, arg, threads) {
  hz <- as_plink(Z, arg)
  if (is.null(snp_ids)) return(read_plink(hz, threads = threads)$genotypes)
  b <- plink_bim(hz)
  idx <- match(snp_ids, b$snp)
  if (anyNA(idx))
    stop_arg(arg, "has no SNP \"", snp_ids[is.na(idx)][1L], "\" of the training genotypes.")
  read_plink(hz, snps = idx, threads = threads)$genotypes
}

# The test-by-train kernel for a kernel whose training genotypes were a PLINK file:
# settings = attr(K, "ntk") of K = ntk_kernel(<prefix or handle>, ...) or grm(...), with
# settings$genotypes the training handle; newdata: a prefix / handle (SNPs matched by ID,
# flipped when A1 / A2 are swapped) or a matrix of counts (columns matched by SNP name,
# or positional over the training SNPs when unnamed).  The training standardisation and,
# for an empirical kernel, the network (redrawn from settings$rng_state, leaving the
# caller's RNG untouched) are those of the training kernel.
kernel_like_plink <- function(settings, newdata, threads = default_threads()) {
  hx <- settings$genotypes
  if (!inherits(hx, "ntk_plink"))
    stop_arg("settings", "must be the settings of a kernel computed from a PLINK fileset.")
  if (!is.null(settings$m)) stop_arg("settings", "must be those of a training kernel.")
  if (is.null(newdata)) stop_arg("newdata", "must be given.")
  threads <- check_threads(threads)
  if (identical(settings$kind, "empirical")) {
    rng_preserve()
    assign(".Random.seed", settings$rng_state, envir = globalenv())
  }
  s <- settings
  s$genotypes <- NULL
  center <- if (isTRUE(s$standardize)) s$center else rep(0, length(s$keep))
  scale <- if (isTRUE(s$standardize)) s$scale else rep(1, length(s$keep))
  plink_stream(hx, newdata, s, center, scale, threads)
}
