# PLINK 1 binary filesets: reader / writer against an independent R decoder, streamed
# kernels against the in-memory ones, QC counts and HWE p-values against plain R, bad
# input, and (when installed) plink1.9, genio and BEDMatrix as references.

strip <- function(K) { attributes(K) <- list(dim = dim(K)); K }

sim_counts <- function(n, p, seed, na = 0) {
  set.seed(seed)
  G <- simulate_genotypes(n, p)
  attributes(G) <- list(dim = dim(G))
  if (na > 0) G[sample(length(G), na)] <- NA
  dimnames(G) <- list(paste0("id", seq_len(n)), paste0("rs", seq_len(p)))
  G
}

fileset <- function(G, ...) {
  f <- tempfile("plink")
  write_plink(f, G, ...)
  f
}

# Independent decoder: the bytes of the .bed, 2-bit codes lowest bits first.
decode_bed_r <- function(prefix, n, p) {
  raw <- readBin(paste0(prefix, ".bed"), "raw", 3 + p * ceiling(n / 4))
  expect_identical(raw[1:3], as.raw(c(0x6c, 0x1b, 0x01)))
  b <- as.integer(raw[-(1:3)])
  bpr <- ceiling(n / 4)
  G <- matrix(NA_real_, n, p)
  for (j in seq_len(p)) {
    bytes <- b[(j - 1) * bpr + seq_len(bpr)]
    codes <- as.vector(rbind(bytes %% 4, (bytes %/% 4) %% 4, (bytes %/% 16) %% 4,
                             bytes %/% 64))[seq_len(n)]
    G[, j] <- c(2, NA, 1, 0)[codes + 1]
  }
  G
}

test_that("write_plink / read_plink round trip, against an independent decoder", {
  for (n in c(13, 16, 2)) {          # n not a multiple of 4, a multiple, tiny
    G <- sim_counts(n, 37, n, na = 20)
    f <- fileset(G)
    expect_identical(decode_bed_r(f, n, 37), unname(G))
    r <- read_plink(f, threads = 2)
    expect_identical(r$genotypes, G)
    expect_identical(r$bim$snp, colnames(G))
    expect_identical(r$fam$iid, rownames(G))
    expect_equal(file.size(paste0(f, ".bed")), 3 + 37 * ceiling(n / 4))
  }
  G <- sim_counts(21, 50, 1, na = 30)
  f <- fileset(G)
  # selections: out of order, by name, logical, and on a handle (relative)
  r <- read_plink(f, snps = c(40, 2, 3, 17), individuals = c(21, 1, 5), threads = 1)
  expect_identical(r$genotypes, G[c(21, 1, 5), c(40, 2, 3, 17)])
  r <- read_plink(f, snps = c("rs9", "rs10"), individuals = rep(c(TRUE, FALSE), length = 21))
  expect_identical(r$genotypes, G[rep(c(TRUE, FALSE), length = 21), c("rs9", "rs10")])
  h <- plink_open(f, snps = 11:30)
  expect_identical(read_plink(h, snps = 2:3)$genotypes, G[, 12:13])
  expect_output(print(h), "21 individuals x 20 SNPs \\(selected from 21 x 50\\)")
  expect_error(read_plink(f, snps = "rs999"), "rs999")
  expect_error(read_plink(f, snps = c(1, 1)), "twice")
})

test_that("row names: IID when unique, else FID_IID; custom bim / fam written as given", {
  G <- sim_counts(6, 4, 2)
  fam <- data.frame(fid = c("f1", "f1", "f2", "f2", "f3", "f3"),
                    iid = c("a", "b", "a", "b", "a", "c"), father = 0, mother = 0,
                    sex = c(1, 2, 1, 2, 0, 1), pheno = c(1.5, -9, 2, 0.25, NA, 3))
  bim <- data.frame(chr = c(1, 1, 2, "X"), snp = c("s1", "s2", "s3", "s4"),
                    cm = c(0, 0.5, 0, 1), pos = c(100, 200, 50, 7), a1 = "C", a2 = "T")
  f <- fileset(G, bim = bim, fam = fam)
  r <- read_plink(f)
  expect_identical(rownames(r$genotypes), paste(fam$fid, fam$iid, sep = "_"))
  expect_identical(r$bim$chr, c("1", "1", "2", "X"))
  expect_identical(r$bim$pos, c(100, 200, 50, 7))
  expect_identical(r$fam$sex, as.integer(fam$sex))
  # .fam phenotype: -9 and NA missing; 0 is a value for a quantitative trait
  expect_identical(unname(read_pheno(f)), c(1.5, NA, 2, 0.25, NA, 3))
  # case/control coding: 0 missing too
  fam$pheno <- c(1, 2, 0, -9, 2, 1)
  f2 <- fileset(G, bim = bim, fam = fam)
  expect_identical(unname(read_pheno(f2)), c(1, 2, NA, NA, 2, 1))
  expect_named(read_pheno(f2), paste(fam$fid, fam$iid, sep = "_"))
})

test_that("read_pheno matches a --pheno / --covar file by FID and IID", {
  G <- sim_counts(5, 3, 3)
  f <- fileset(G)
  pf <- tempfile()
  writeLines(c("FID IID y  age sex", "id3 id3 1.5 40 F", "id1 id1 -9 NA M",
               "zz zz 7 1 F", "id5\tid5 2.25 33 M"), pf)
  d <- read_pheno(f, pf)
  expect_identical(rownames(d), rownames(G))
  expect_identical(d$y, c(NA, NA, 1.5, NA, 2.25))
  expect_identical(d$age, c(NA, NA, 40, NA, 33))
  expect_identical(d$sex, c("M", NA, "F", NA, "M"))
  expect_identical(read_pheno(f, pf, columns = "age"),
                   stats::setNames(c(NA, NA, 40, NA, 33), rownames(G)))
  h <- plink_open(f, individuals = c(5, 3))
  expect_identical(unname(read_pheno(h, pf, columns = "y")), c(2.25, 1.5))
  writeLines(c("FID IID y", "a a 1"), pf)
  expect_error(read_pheno(f, pf), "none of its 1 individuals matches")
  writeLines(c("FID IID y", "id1 id1 1 2"), pf)
  expect_error(read_pheno(f, pf), "line 2: 4 fields, expected 3")
  writeLines(c("ID y", "id1 1"), pf)
  expect_error(read_pheno(f, pf), "must start with FID IID")
  expect_error(read_pheno(f, pf, columns = "nope"), "FID IID")
})

test_that("streamed GRM and analytic NTK equal the in-memory kernels of read_plink()", {
  G <- sim_counts(57, 230, 4, na = 150)
  G[, 9] <- 1                    # constant SNP: dropped with a warning by both paths
  f <- fileset(G)
  old <- options(ntkgen.plink_block = 37L)   # many blocks, a ragged last one
  on.exit(options(old))
  X <- read_plink(f)$genotypes
  expect_warning(K0 <- suppressMessages(grm(X, threads = 2)), "constant")
  expect_warning(expect_message(K1 <- grm(f, threads = 2),
                                         sprintf("imputed %d ", sum(is.na(G[, -9])))), "constant")
  expect_equal(strip(K1), strip(K0), tolerance = 1e-12)
  expect_identical(dimnames(K1), dimnames(K0))
  s1 <- attr(K1, "ntk")
  s0 <- attr(K0, "ntk")
  same <- setdiff(names(s0), "genotypes")   # the training genotypes: a handle vs a matrix
  expect_identical(s1[same], s0[same])
  expect_s3_class(s1$genotypes, "ntk_plink")
  expect_s3_class(s1$genotypes, "ntk_plink")
  for (nm in c("none", "unit", "paper")) {
    K0 <- suppressMessages(suppressWarnings(ntk_kernel(X, depth = 3, sigma_w = 1.3, sigma_b = 0.4,
                                      normalize = nm, threads = 2)))
    K1 <- suppressMessages(suppressWarnings(
      ntk_kernel(plink_open(f), depth = 3, sigma_w = 1.3, sigma_b = 0.4, normalize = nm,
                 threads = 2)))
    expect_equal(strip(K1), strip(K0), tolerance = 1e-12)
    same <- setdiff(names(attr(K0, "ntk")), "genotypes")
    expect_identical(attr(K1, "ntk")[same], attr(K0, "ntk")[same])
  }
  # against the plain formula: standardise, impute 0, X X' / p
  Xs <- scale(X[, -9])
  Xs[is.na(Xs)] <- 0
  expect_equal(strip(suppressMessages(suppressWarnings(grm(f, threads = 1)))),
               strip(tcrossprod(Xs) / ncol(Xs)), tolerance = 1e-12)
  # standardize = FALSE needs complete data
  expect_error(suppressWarnings(grm(f, standardize = FALSE)), "missing values")
})

test_that("streamed empirical NTK equals the in-memory one (same seed, n_init > 1)", {
  G <- sim_counts(40, 90, 5, na = 40)
  f <- fileset(G)
  old <- options(ntkgen.plink_block = 16L)
  on.exit(options(old))
  set.seed(7)
  E0 <- suppressMessages(ntk_kernel(G, depth = 2, width = 33, n_init = 2, sigma_b = 0.2,
                                    threads = 2))
  s0 <- .Random.seed
  set.seed(7)
  E1 <- suppressMessages(ntk_kernel(f, depth = 2, width = 33, n_init = 2, sigma_b = 0.2,
                                    threads = 2))
  expect_identical(.Random.seed, s0)    # the same number of draws, in the same order
  expect_equal(strip(E1), strip(E0), tolerance = 1e-12)
  expect_identical(attr(E1, "ntk")$rng_state, attr(E0, "ntk")$rng_state)
  same <- setdiff(names(attr(E0, "ntk")), "genotypes")
  expect_identical(attr(E1, "ntk")[same], attr(E0, "ntk")[same])
  # depth 3, test-by-train, unit normalisation
  set.seed(8)
  E0 <- suppressMessages(ntk_kernel(G[1:30, ], G[31:40, ], depth = 3, width = 25,
                                    normalize = "unit", threads = 1))
  set.seed(8)
  E1 <- suppressMessages(ntk_kernel(plink_open(f, individuals = 1:30),
                                    plink_open(f, individuals = 31:40), depth = 3,
                                    width = 25, normalize = "unit", threads = 1))
  expect_equal(strip(E1), strip(E0), tolerance = 1e-12)
})

test_that("test-by-train from the same file, another file with swapped alleles, a matrix", {
  G <- sim_counts(60, 120, 6, na = 60)
  f <- fileset(G)
  tr <- 1:45
  te <- 46:60
  old <- options(ntkgen.plink_block = 50L)
  on.exit(options(old))
  htr <- plink_open(f, individuals = tr)
  hte <- plink_open(f, individuals = te)
  # the other file: test individuals only, SNPs in another order, half with A1/A2
  # swapped (counts 2 - x)
  perm <- sample(120)
  sw <- rep(c(TRUE, FALSE), 60)[perm]
  Gz <- G[te, perm]
  Gz[, sw] <- 2 - Gz[, sw]
  bim <- data.frame(chr = 1, snp = colnames(G)[perm], cm = 0, pos = perm,
                    a1 = ifelse(sw, "G", "A"), a2 = ifelse(sw, "A", "G"))
  fz <- fileset(Gz, bim = bim)
  for (nm in c("none", "unit")) {
    K0 <- suppressMessages(ntk_kernel(G[tr, ], G[te, ], depth = 2, sigma_b = 0.1,
                                      normalize = nm, threads = 2))
    K1 <- suppressMessages(ntk_kernel(htr, hte, depth = 2, sigma_b = 0.1, normalize = nm,
                                      threads = 2))
    K2 <- suppressMessages(ntk_kernel(htr, fz, depth = 2, sigma_b = 0.1, normalize = nm,
                                      threads = 2))
    K3 <- suppressMessages(ntk_kernel(htr, G[te, ], depth = 2, sigma_b = 0.1,
                                      normalize = nm, threads = 2))
    expect_equal(strip(K1), strip(K0), tolerance = 1e-12)
    expect_equal(strip(K2), strip(K0), tolerance = 1e-12)
    expect_equal(strip(K3), strip(K0), tolerance = 1e-12)
    expect_identical(dimnames(K1), dimnames(K0))
  }
  G0 <- suppressMessages(grm(G[tr, ], G[te, ], threads = 1))
  expect_equal(strip(suppressMessages(grm(htr, fz, threads = 1))), strip(G0), tolerance = 1e-12)
  # training matrix in memory, test individuals from a file (matched by SNP name; a
  # matrix has no alleles, so the counts are taken as they are)
  expect_equal(strip(suppressMessages(grm(G[tr, ], hte, threads = 1))), strip(G0),
               tolerance = 1e-12)
  Gs <- G[, perm]
  expect_equal(strip(suppressMessages(grm(Gs[tr, ], fileset(Gs[te, ]), threads = 1))),
               strip(G0), tolerance = 1e-12)
  # kernel_like_plink: the recipe of a training kernel, test data as a file or matrix
  set.seed(3)
  Kt <- suppressMessages(ntk_kernel(htr, width = 20, depth = 2, threads = 1))
  set.seed(3)
  E0 <- suppressMessages(ntk_kernel(G[tr, ], G[te, ], width = 20, depth = 2, threads = 1))
  seed <- .Random.seed
  E1 <- suppressMessages(ntkgen:::kernel_like_plink(attr(Kt, "ntk"), fz, threads = 1))
  expect_identical(.Random.seed, seed)
  expect_equal(strip(E1), strip(E0), tolerance = 1e-12)
  expect_equal(attr(E1, "ntk")$m, 15L)
  E2 <- suppressMessages(ntkgen:::kernel_like_plink(attr(Kt, "ntk"), G[te, ], threads = 1))
  expect_equal(strip(E2), strip(E0), tolerance = 1e-12)
  # unmatched and allele-mismatched SNPs are refused, naming the SNP
  bim2 <- bim
  bim2$snp[3] <- "other"
  expect_error(grm(htr, fileset(Gz, bim = bim2)), paste0("no SNP \"", bim$snp[3], "\""))
  bim2 <- bim
  bim2$a1[5] <- "T"
  expect_error(grm(htr, fileset(Gz, bim = bim2)), paste0("SNP \"", bim$snp[5], "\" with alleles"))
  expect_error(ntk_kernel(f, device = "cuda"), "streamed on the CPU")
})

# exact HWE p-value by enumerating every genotype configuration with the allele counts
hwe_brute <- function(het, hom1, hom2) {
  n <- het + hom1 + hom2
  nA <- 2 * min(hom1, hom2) + het
  hs <- seq(nA %% 2, nA, by = 2)
  lp <- vapply(hs, function(h) {
    a <- (nA - h) / 2; b <- n - h - a
    lfactorial(n) - lfactorial(a) - lfactorial(h) - lfactorial(b) + h * log(2) +
      lfactorial(nA) + lfactorial(2 * n - nA) - lfactorial(2 * n)
  }, 0)
  pr <- exp(lp)
  po <- pr[hs == het]
  min(1, sum(pr[pr <= po * (1 + 1e-10)]))
}

test_that("HWE exact test equals a brute-force enumeration", {
  cases <- rbind(c(0, 0, 10), c(5, 0, 0), c(1, 0, 0), c(10, 5, 5), c(0, 10, 10),
                 c(20, 0, 0) + c(0, 1, 1), c(57, 14, 29), c(3, 40, 1), c(100, 25, 25),
                 c(2, 1, 97), c(0, 50, 50))
  p <- .Call(ntkgen:::C_hwe_exact, as.integer(cases[, 1]), as.integer(cases[, 2]),
             as.integer(cases[, 3]))
  ref <- apply(cases, 1, function(x) hwe_brute(x[1], x[2], x[3]))
  expect_equal(p, ref, tolerance = 1e-10)
  expect_equal(p[4], 1)      # 10 het, 5 / 5 hom: the mode
  expect_lt(p[11], 1e-25)    # no heterozygotes at frequency 1/2
})

test_that("plink_qc counts agree with a plain R computation", {
  G <- sim_counts(80, 60, 8)
  G[1:6, ] <- NA                       # 6 individuals with missing rate 1
  G[sample(length(G), 200)] <- NA
  G[, 3] <- c(rep(0, 40), rep(2, 40))  # no heterozygotes: fails HWE
  G[-(1:6), 4] <- 0; G[7, 4] <- 1      # MAF 1/148
  G[7:40, 5] <- NA                     # SNP missing rate > 0.3
  f <- fileset(G)
  q <- plink_qc(f, maf = 0.05, geno = 0.3, mind = 0.5, hwe = 1e-4)
  im <- rowMeans(is.na(G))
  expect_equal(q$qc$individuals$missing, unname(im))
  keep_i <- im <= 0.5
  expect_identical(q$qc$individuals$removed, unname(!keep_i))
  Gk <- G[keep_i, ]
  sm <- colMeans(is.na(Gk))
  af <- colMeans(Gk, na.rm = TRUE) / 2
  mf <- pmin(af, 1 - af)
  hp <- apply(Gk, 2, function(x) hwe_brute(sum(x == 1, na.rm = TRUE), sum(x == 2, na.rm = TRUE),
                                           sum(x == 0, na.rm = TRUE)))
  expect_equal(q$qc$snps$missing, unname(sm))
  expect_equal(q$qc$snps$maf, unname(mf), tolerance = 1e-14)
  expect_equal(q$qc$snps$hwe_p, unname(hp), tolerance = 1e-9)
  rm <- sm > 0.3 | mf < 0.05 | hp < 1e-4
  expect_identical(q$qc$snps$removed, unname(rm))
  expect_true(all(c(3, 4, 5) %in% which(rm)))
  expect_identical(q$qc$snps$reason[3:5], c("hwe", "maf", "geno"))
  expect_identical(q$p, sum(!rm))
  expect_identical(q$n, sum(keep_i))
  expect_identical(read_plink(q)$genotypes, G[keep_i, !rm])
  expect_output(print(q$qc), "individuals: 74 of 80 kept, 6 removed")
})

# ---- bad input ----------------------------------------------------------------------

test_that("bad files: each a clear error naming the file", {
  G <- sim_counts(10, 6, 9)
  f <- fileset(G)
  bed <- paste0(f, ".bed")
  bytes <- readBin(bed, "raw", 1000)
  put <- function(b) { g <- fileset(G); writeBin(b, paste0(g, ".bed")); g }
  expect_error(plink_open(put(replace(bytes, 1, as.raw(0x6d)))), "wrong magic")
  expect_error(plink_open(put(replace(bytes, 3, as.raw(0)))), "sample-major")
  expect_error(plink_open(put(replace(bytes, 3, as.raw(7)))), "unknown mode")
  expect_error(plink_open(put(bytes[1:10])), "truncated")
  expect_error(plink_open(put(c(bytes, as.raw(0)))), "too long")
  expect_error(plink_open(put(bytes[1:2])), "truncated")
  expect_error(plink_open(put(raw(0))), "wrong magic")
  # line counts of .bim / .fam that do not match the .bed
  g <- fileset(G)
  writeLines(readLines(paste0(g, ".bim"))[-1], paste0(g, ".bim"))
  expect_error(plink_open(g), "5 SNPs \\(lines of")
  g <- fileset(G)
  writeLines(readLines(paste0(g, ".fam"))[1:4], paste0(g, ".fam"))
  expect_error(plink_open(g), "line counts")
  # malformed lines
  g <- fileset(G)
  l <- readLines(paste0(g, ".bim")); l[3] <- "1 rs3 0 12"
  writeLines(l, paste0(g, ".bim"))
  expect_error(plink_open(g), "\\.bim file '.*', line 3: 4 fields, expected 6")
  l[3] <- "1 rs3 zero 12 A G"
  writeLines(l, paste0(g, ".bim"))
  expect_error(plink_open(g), "line 3: column 3 \\(cm\\) must be a number")
  l[3] <- "1 rs3 0 12.5 A G"
  writeLines(l, paste0(g, ".bim"))
  expect_error(plink_open(g), "line 3: column 4 \\(pos\\) must be a whole number")
  l[3] <- "1 rs2 0 12 A G"
  writeLines(l, paste0(g, ".bim"))
  expect_error(plink_open(g), "line 3: duplicated SNP ID \"rs2\"")
  g <- fileset(G)
  l <- readLines(paste0(g, ".fam")); l[2] <- l[1]
  writeLines(l, paste0(g, ".fam"))
  expect_error(plink_open(g), "\\.fam file '.*', line 2: duplicated individual")
  l[2] <- "a b 0 0 x -9"
  writeLines(l, paste0(g, ".fam"))
  expect_error(plink_open(g), "line 2: column 5 \\(sex\\)")
  l[2] <- ""
  writeLines(l, paste0(g, ".fam"))
  expect_error(plink_open(g), "line 2: 0 fields")
  writeLines(character(0), paste0(g, ".fam"))
  expect_error(plink_open(g), "is empty")
  # missing / unreadable files
  expect_error(plink_open(tempfile()), "does not exist")
  g <- fileset(G)
  unlink(paste0(g, ".fam"))
  expect_error(read_plink(g), "\\.fam' does not exist")
  expect_error(plink_open(3), "must be the prefix")
  if (.Platform$OS.type == "unix" && Sys.info()[["user"]] != "root") {
    g <- fileset(G)
    Sys.chmod(paste0(g, ".bed"), "000")
    expect_error(plink_open(g), "cannot be opened")
  }
  # a .bed that changes after the handle was opened: the C reader re-checks it
  g <- fileset(G)
  h <- plink_open(g)
  writeBin(bytes[1:8], paste0(g, ".bed"))
  expect_error(read_plink(h), "wrong size")
  expect_error(grm(h), "wrong size")
  # write_plink refuses anything but 0/1/2/NA
  expect_error(write_plink(tempfile(), G + 0.5), "only 0, 1, 2 and NA")
  expect_error(write_plink(tempfile(), G, bim = data.frame(a = 1)), "6 columns")
  expect_error(write_plink(tempfile(), G, fam = data.frame(1, 1, 0, 0, 0, 0)), "10 rows")
})

# ---- external references ------------------------------------------------------------

plink_bin <- function() {
  b <- Sys.which(c("plink1.9", "plink"))
  b <- b[nzchar(b)]
  if (!length(b)) skip("plink1.9 not installed (Debian package plink1.9; scripts/setup.sh)")
  b[[1]]
}

run_plink <- function(...) {
  out <- suppressWarnings(system2(plink_bin(), c(...), stdout = TRUE, stderr = TRUE))
  st <- attr(out, "status")
  if (!is.null(st) && st != 0) stop("plink failed: ", paste(out, collapse = "\n"))
  invisible(out)
}

read_raw <- function(file) {
  d <- utils::read.table(file, header = TRUE, na.strings = "NA", check.names = FALSE)
  M <- as.matrix(d[, -(1:6)])
  storage.mode(M) <- "double"
  list(M = unname(M), snps = colnames(d)[-(1:6)])
}

test_that("plink1.9 --recode A reads write_plink()'s files to the same counts", {
  pl <- plink_bin()
  G <- sim_counts(31, 45, 10, na = 40)
  f <- fileset(G)
  out <- tempfile()
  run_plink("--bfile", f, "--keep-allele-order", "--recode", "A", "--out", out)
  r <- read_raw(paste0(out, ".raw"))
  expect_identical(r$M, unname(G))
  expect_identical(r$snps, paste0(colnames(G), "_A"))   # counted allele: A1 = "A"
})

test_that("read_plink() reads plink1.9's own files (--dummy) as --recode A does", {
  pl <- plink_bin()
  d <- tempfile()
  run_plink("--dummy", 33, 57, 0.05, "--seed", 5, "--make-bed", "--out", d)
  out <- tempfile()
  run_plink("--bfile", d, "--keep-allele-order", "--recode", "A", "--out", out)
  r <- read_raw(paste0(out, ".raw"))
  g <- read_plink(d, threads = 1)
  expect_identical(unname(g$genotypes), r$M)
  expect_identical(r$snps, paste0(g$bim$snp, "_", g$bim$a1))
  expect_true(anyNA(g$genotypes))
})

test_that("grm() equals plink1.9 --make-rel square after the stated rescaling", {
  pl <- plink_bin()
  # plink: A_ik = (1/M) sum_j (x_ij - 2 f_j)(x_kj - 2 f_j) / (2 f_j (1 - f_j)), f_j the
  # allele frequency; grm(): (1/M) sum_j z_ij z_kj with z = (x - mean) / sd, sd with
  # denominator n - 1.  mean = 2 f_j, and sd^2 = n / (n - 1) 2 f_j (1 - f_j) exactly when
  # the genotype counts are in exact Hardy-Weinberg proportions (n f^2, 2 n f (1 - f),
  # n (1 - f)^2), so then plink = grm * n / (n - 1).
  n <- 100
  set.seed(12)
  fr <- sample(c(0.1, 0.2, 0.3, 0.4, 0.5), 80, replace = TRUE)
  G <- sapply(fr, function(q) sample(rep(c(2, 1, 0), round(c(n * q^2, 2 * n * q * (1 - q),
                                                             n * (1 - q)^2)))))
  dimnames(G) <- list(paste0("i", 1:n), paste0("s", 1:80))
  f <- fileset(G)
  out <- tempfile()
  run_plink("--bfile", f, "--make-rel", "square", "--out", out)
  A <- unname(as.matrix(utils::read.table(paste0(out, ".rel"))))
  K <- grm(f, threads = 1)
  expect_equal(strip(K) * n / (n - 1), A, tolerance = 1e-5)   # plink prints 6 digits
})

test_that("read_plink() agrees with genio and BEDMatrix", {
  G <- sim_counts(23, 31, 11, na = 25)
  f <- fileset(G)
  got <- FALSE
  if (requireNamespace("genio", quietly = TRUE)) {
    got <- TRUE
    g <- suppressMessages(genio::read_plink(f, verbose = FALSE))
    expect_identical(unname(t(g$X)) + 0, unname(G))
  }
  if (requireNamespace("BEDMatrix", quietly = TRUE)) {
    got <- TRUE
    b <- suppressMessages(BEDMatrix::BEDMatrix(f))
    expect_identical(unname(as.matrix(b[, ])) + 0, unname(G))
  }
  if (!got) skip("neither genio nor BEDMatrix installed")
})

test_that("fits on a kernel streamed from a file predict new individuals from a file", {
  f <- sub("\\.bed$", "", system.file("extdata", "sim.bed", package = "ntkgen"))
  skip_if(!nzchar(f), "shipped fileset not installed")
  h <- plink_open(f)
  ph <- read_pheno(h, paste0(f, ".pheno"))
  tr <- plink_open(f, individuals = 1:240)
  te <- plink_open(f, individuals = 241:300)
  K <- suppressWarnings(suppressMessages(ntk_kernel(tr, depth = 2, threads = 1)))
  fit <- ntk_lmm(ph$y[1:240], K, method = "reml")
  p_file <- suppressMessages(predict(fit, newdata = te, threads = 1))
  # the same by the in-memory path
  G <- read_plink(h)$genotypes
  K0 <- suppressWarnings(suppressMessages(ntk_kernel(G[1:240, ], depth = 2, threads = 1)))
  fit0 <- ntk_lmm(ph$y[1:240], K0, method = "reml")
  p_mem <- suppressMessages(predict(fit0, newdata = G[241:300, ], threads = 1))
  expect_equal(unname(p_file), unname(p_mem), tolerance = 1e-10)
  kf <- ntk_krr(ph$y[1:240], K, criterion = "gcv")
  expect_equal(unname(suppressMessages(predict(kf, newdata = te, threads = 1))),
               unname(suppressMessages(predict(ntk_krr(ph$y[1:240], K0, criterion = "gcv"),
                                               newdata = G[241:300, ], threads = 1))),
               tolerance = 1e-10)
})
