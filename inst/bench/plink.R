# Benchmark of the PLINK reader and of kernels streamed from a .bed (a script, not a test).
#   Rscript inst/bench/plink.R [read|medium|big|all]     (with ntkgen installed)
# medium: a 2000 x 50 000 fileset: read_plink() against genio::read_plink and BEDMatrix
#   (as.matrix), in one run (minimum of NTKGEN_BENCH_REPS rounds, default 3); then grm()
#   and ntk_kernel() streamed from the file against the in-memory path, each in a child
#   Rscript whose peak resident memory (VmHWM) is reported.
# big: a 5000 x 500 000 fileset (.bed 625 MB; the dense matrix, 20 GB, is beyond the
#   memory guard): grm() and ntk_kernel() streamed, seconds and peak memory.
# Files are written under NTKGEN_BENCH_DIR (default tempdir()).  The library holding
# ntkgen can be given in NTKGEN_LIB.
lib <- Sys.getenv("NTKGEN_LIB")
if (nzchar(lib)) .libPaths(c(lib, .libPaths()))
suppressPackageStartupMessages(library(ntkgen))
what <- commandArgs(trailingOnly = TRUE)
what <- if (length(what)) what[1L] else "all"
reps <- as.integer(Sys.getenv("NTKGEN_BENCH_REPS", "3"))
threads <- as.integer(Sys.getenv("NTKGEN_BENCH_THREADS", "2"))
dir <- Sys.getenv("NTKGEN_BENCH_DIR", tempdir())
dir.create(dir, showWarnings = FALSE, recursive = TRUE)

cat("ntkgen PLINK benchmark\n")
cat("R:", R.version.string, "| BLAS:", extSoftVersion()[["BLAS"]], "\n")
cat("threads:", threads, "| processors:", parallel::detectCores(), "\n")
if (file.exists("/proc/loadavg")) cat("load average:", readLines("/proc/loadavg"), "\n")

# A fileset of n individuals x p SNPs, written in chunks of SNPs (allele frequencies in
# [0.05, 0.5], 0.5% missing), never holding the whole matrix.
make_fileset <- function(prefix, n, p, chunk = 2000L, seed = 1L) {
  if (file.exists(paste0(prefix, ".bed"))) return(invisible(prefix))
  set.seed(seed)
  con <- file(paste0(prefix, ".bed"), "wb")
  on.exit(close(con))
  writeBin(as.raw(c(0x6c, 0x1b, 0x01)), con)
  tmp <- tempfile()
  for (k0 in seq(1L, p, by = chunk)) {
    k <- min(chunk, p - k0 + 1L)
    af <- stats::runif(k, 0.05, 0.5)
    G <- matrix(as.double(stats::rbinom(n * k, 2, rep(af, each = n))), n, k)
    G[sample(length(G), length(G) %/% 200L)] <- NA
    .Call(ntkgen:::C_bed_write, tmp, G)               # the package's own encoder
    b <- readBin(tmp, "raw", file.size(tmp))
    writeBin(b[-(1:3)], con)
  }
  bim <- data.frame(1, sprintf("snp%d", seq_len(p)), 0, seq_len(p), "A", "G")
  fam <- data.frame(sprintf("i%d", seq_len(n)), sprintf("i%d", seq_len(n)), 0, 0, 0, -9)
  utils::write.table(bim, paste0(prefix, ".bim"), quote = FALSE, sep = "\t",
                     row.names = FALSE, col.names = FALSE)
  utils::write.table(fam, paste0(prefix, ".fam"), quote = FALSE, row.names = FALSE,
                     col.names = FALSE)
  invisible(prefix)
}

# Runs `code` (R source using `prefix`) in a child Rscript; returns its elapsed seconds
# (measured around the timed expression, in the child) and peak resident memory in MB.
child <- function(code, prefix) {
  f <- tempfile(fileext = ".R")
  writeLines(c(
    if (nzchar(lib)) sprintf(".libPaths(c('%s', .libPaths()))", lib),
    "suppressPackageStartupMessages(library(ntkgen))",
    sprintf("prefix <- '%s'; threads <- %d", prefix, threads),
    "options(ntkgen.max_kernel_gb = 16)",
    code,
    "hwm <- grep('^VmHWM', readLines('/proc/self/status'), value = TRUE)",
    "cat(sprintf('RESULT %.3f %.1f\\n', el, as.numeric(gsub('[^0-9]', '', hwm)) / 1024))"), f)
  out <- system2(file.path(R.home("bin"), "Rscript"), f, stdout = TRUE, stderr = TRUE)
  r <- grep("^RESULT", out, value = TRUE)
  if (!length(r)) { cat(out, sep = "\n"); return(c(sec = NA, mb = NA)) }
  v <- as.numeric(strsplit(r, " ")[[1L]][2:3])
  c(sec = v[1L], mb = v[2L])
}

row <- function(label, x, dense_mb = NA) {
  cat(sprintf("  %-44s %8.2f s  peak %8.0f MB%s\n", label, x[["sec"]], x[["mb"]],
              if (is.na(dense_mb)) "" else sprintf("  (dense matrix %.0f MB)", dense_mb)))
}

if (what %in% c("read", "medium", "all")) {
  n <- 2000L; p <- 50000L
  prefix <- file.path(dir, "bench_2000x50000")
  t0 <- proc.time()[["elapsed"]]
  make_fileset(prefix, n, p)
  cat(sprintf("\n== %d x %d fileset (.bed %.0f MB), written in %.0f s\n", n, p,
              file.size(paste0(prefix, ".bed")) / 2^20, proc.time()[["elapsed"]] - t0))
  cat("read into R: minimum of", reps, "interleaved rounds (elapsed s)\n")
  have_genio <- requireNamespace("genio", quietly = TRUE)
  have_bedm <- requireNamespace("BEDMatrix", quietly = TRUE)
  t <- matrix(NA_real_, reps, 3, dimnames = list(NULL, c("ntkgen", "genio", "BEDMatrix")))
  for (r in seq_len(reps)) {
    gc()
    t[r, 1] <- system.time(g <- read_plink(prefix, threads = threads))[["elapsed"]]
    rm(g); gc()
    if (have_genio) {
      t[r, 2] <- system.time(g <- genio::read_plink(prefix, verbose = FALSE))[["elapsed"]]
      rm(g); gc()
    }
    if (have_bedm) {
      t[r, 3] <- system.time({
        b <- suppressMessages(BEDMatrix::BEDMatrix(prefix, n = n, p = p))
        g <- as.matrix(b[, ])
      })[["elapsed"]]
      rm(g, b); gc()
    }
  }
  tt <- apply(t, 2, min)
  for (k in names(tt)) if (!is.na(tt[[k]])) cat(sprintf("  %-10s %6.2f s\n", k, tt[[k]]))
  best <- min(tt[-1], na.rm = TRUE)
  if (is.finite(best)) cat(sprintf("  ntkgen / faster of the others: %.2f\n", tt[[1]] / best))

}
if (what %in% c("medium", "all")) {
  dense <- 8 * n * p / 2^20
  cat("kernels (child processes; seconds of the kernel call; peak = VmHWM of the child)\n")
  base <- child("el <- 0", prefix)
  row("R + ntkgen loaded (baseline)", base)
  jobs <- list(
    "grm, in memory (X already read)" =
      "X <- read_plink(prefix, threads = threads)$genotypes
       el <- system.time(K <- suppressMessages(grm(X, threads = threads)))[['elapsed']]",
    "grm, streamed from the .bed" =
      "el <- system.time(K <- suppressMessages(grm(prefix, threads = threads)))[['elapsed']]",
    "ntk_kernel depth 2, in memory" =
      "X <- read_plink(prefix, threads = threads)$genotypes
       el <- system.time(K <- suppressMessages(ntk_kernel(X, threads = threads)))[['elapsed']]",
    "ntk_kernel depth 2, streamed" =
      "el <- system.time(K <- suppressMessages(ntk_kernel(prefix, threads = threads)))[['elapsed']]",
    "ntk_kernel width 256, in memory" =
      "X <- read_plink(prefix, threads = threads)$genotypes; set.seed(1)
       el <- system.time(K <- suppressMessages(ntk_kernel(X, width = 256, threads = threads)))[['elapsed']]",
    "ntk_kernel width 256, streamed" =
      "set.seed(1)
       el <- system.time(K <- suppressMessages(ntk_kernel(prefix, width = 256, threads = threads)))[['elapsed']]")
  res <- lapply(jobs, child, prefix = prefix)
  for (k in names(res)) row(k, res[[k]], if (grepl("streamed", k)) dense else NA)
  for (k in c("grm", "ntk_kernel depth 2", "ntk_kernel width 256")) {
    a <- res[[grep(paste0("^", k, ", in memory"), names(res))]]
    b <- res[[grep(paste0("^", k, ", streamed"), names(res))]]
    cat(sprintf("  %-22s streamed / in-memory time %.2f, peak %.0f vs %.0f MB\n", k,
                b[["sec"]] / a[["sec"]], b[["mb"]], a[["mb"]]))
  }
}

if (what %in% c("big", "all")) {
  n <- 5000L; p <- 500000L
  prefix <- file.path(dir, "bench_5000x500000")
  t0 <- proc.time()[["elapsed"]]
  make_fileset(prefix, n, p, chunk = 2000L, seed = 2L)
  cat(sprintf("\n== %d x %d fileset (.bed %.0f MB; dense matrix %.1f GB), written in %.0f s\n",
              n, p, file.size(paste0(prefix, ".bed")) / 2^20, 8 * n * p / 2^30,
              proc.time()[["elapsed"]] - t0))
  jobs <- list(
    "grm, streamed" =
      "el <- system.time(K <- suppressMessages(grm(prefix, threads = threads)))[['elapsed']]",
    "ntk_kernel depth 2, streamed" =
      "el <- system.time(K <- suppressMessages(ntk_kernel(prefix, threads = threads)))[['elapsed']]")
  res <- lapply(jobs, child, prefix = prefix)
  for (k in names(res)) row(k, res[[k]], 8 * n * p / 2^20)
}
