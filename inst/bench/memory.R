# Memory planned before it is spent (issue "Memory planned before it is spent"): every
# routine that allocates O(n^2) or more estimates its peak before allocating (R/memory.R)
# and refuses beyond getOption("ntkgen.max_kernel_gb").  This script checks the estimates
# against the measured peaks: each call runs in a fresh child R process (Rscript), after a
# warm-up call on a small problem (lazy loading, BLAS buffers) and a gc(); the peak is the
# resident memory at its highest during the call (VmHWM, reset through
# /proc/self/clear_refs just before) minus the resident memory just before (VmRSS): what
# the call allocated beyond its inputs, result included.  The estimate is the guard's own:
# the call is first made with options(ntkgen.max_kernel_gb = 0), refused, and the bytes
# the guard computed read back.  Target: every ratio estimate / measured in [1/1.3, 1.3].
# Children run with OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 and ntkgen.threads = 1, so
# that no thread's buffers enter the figures, and with MALLOC_MMAP_THRESHOLD_=131072, so
# that every block glibc frees goes back to the system at once and the resident peak is
# that of what the call holds (NTKGEN_BENCH_MALLOC=default: glibc's own, see below).
# Linux only (/proc).
#
# Run:
#   NTKGEN_LIB=/path/to/lib Rscript inst/bench/memory.R [regex of the routines to run]
# (about 9 minutes on the machine below; the regex selects cases by "routine settings").
#
# Measured 2026-12-02 (Linux, 2 cores shared with other jobs, load average 4-6, 24 GiB;
# R 4.2.2, OpenBLAS 0.3.21 pthreads, ntkgen built with OpenMP and CUDA, run on the CPU):
# 59 of 59 ratios in [1/1.3, 1.3], range 0.91 .. 1.21 (GB = 2^30 bytes):
# (the KARE / GCV rows re-measured after those criteria moved to the tridiagonal form,
# `memory.R ntk_krr`: 14 of 14 in range 0.95 .. 1.20; they needed 1.5x less memory)
#   routine      settings                                                 n  est GB meas GB ratio
#   grm          p = 1000                                              2000  0.0448  0.0447  1.00
#   grm          p = 1000                                              4000  0.1491  0.1490  1.00
#   grm          p = 1000                                              6000  0.3131  0.3129  1.00
#   grm          p = 1000, integer genotypes                           4000  0.1491  0.1490  1.00
#   ntk_kernel   analytic, depth 1                                     4000  0.1492  0.1490  1.00
#   ntk_kernel   analytic, depth 2                                     2000  0.0448  0.0447  1.00
#   ntk_kernel   analytic, depth 2                                     4000  0.1493  0.1490  1.00
#   ntk_kernel   analytic, depth 2                                     6000  0.3133  0.3131  1.00
#   ntk_kernel   analytic, depth 3, unit                               4000  0.1493  0.1492  1.00
#   ntk_kernel   K_new 1000 x n, analytic depth 2                      2000  0.0375  0.0373  1.00
#   ntk_kernel   K_new 1000 x n, analytic depth 2                      4000  0.0674  0.0671  1.00
#   ntk_kernel   empirical, width 512, depth 1                         2000  0.0698  0.0771  0.91
#   ntk_kernel   empirical, width 512, depth 1                         4000  0.1973  0.1971  1.00
#   ntk_kernel   empirical, width 512, depth 2                         3000  0.1509  0.1507  1.00
#   ntk_kernel   empirical, width 256, depth 3, n_init 2               3000  0.1375  0.1372  1.00
#   ntk_kernel   K_new 1000 x n, empirical width 512 depth 2, unit     3000  0.1099  0.1096  1.00
#   ntk_spectral tridiag                                               2000  0.0612  0.0605  1.01
#   ntk_spectral tridiag                                               4000  0.2415  0.2382  1.01
#   ntk_spectral tridiag, intercept projected                          4000  0.2416  0.2383  1.01
#   ntk_spectral eigen                                                 2000  0.0896  0.0902  0.99
#   ntk_spectral eigen                                                 3000  0.2015  0.2036  0.99
#   ntk_lmm      one kernel, minque1                                   2000  0.0613  0.0604  1.01
#   ntk_lmm      one kernel, minque1                                   4000  0.2418  0.2393  1.01
#   ntk_lmm      one kernel, REML, 20% y missing                       4000  0.1553  0.1535  1.01
#   ntk_lmm      one kernel, 3 traits                                  3000  0.1368  0.1356  1.01
#   ntk_lmm      3 traits, 3 patterns of missing y                     3000  0.2708  0.2326  1.16
#   ntk_lmm      two kernels (dense), minque1                          1000  0.1080  0.1046  1.03
#   ntk_lmm      two kernels (dense), minque1                          2000  0.4320  0.3894  1.11
#   ntk_lmm      two kernels (dense), REML, 10% y missing              2000  0.3018  0.3156  0.96
#   ntk_krr      CV, 5 folds, 41 lambdas                               2000  0.0777  0.0697  1.11
#   ntk_krr      CV, 5 folds, 41 lambdas                               4000  0.3009  0.2755  1.09
#   ntk_krr      CV, 5 folds, GLS offset, 10% y missing                3000  0.1396  0.1266  1.10
#   ntk_krr      CV, 3 traits                                          3000  0.1479  0.1409  1.05
#   ntk_krr      fixed lambda (GCV at one lambda)                      2000  0.0613  0.0604  1.01
#   ntk_krr      fixed lambda (GCV at one lambda)                      3000  0.1367  0.1354  1.01
#   ntk_krr      KARE criterion                                        2500  0.0975  0.0943  1.03
#   ntk_krr      GCV, 3 traits, 3 patterns of missing y                2500  0.1954  0.1625  1.20
#   ntk_krr      LOO criterion                                         2000  0.0944  0.0933  1.01
#   ntk_krr      LOO criterion                                         3000  0.2086  0.2083  1.00
#   mlp_fit      p = 2000, hidden 50-30, 2 epochs                      2000  0.0676  0.0662  1.02
#   mlp_fit      p = 2000, hidden 50-30, 2 epochs                      4000  0.1282  0.1272  1.01
#   ntk_kare     analytic, scale map, depth 1, 2 steps                 1000  0.0581  0.0573  1.01
#   ntk_kare     analytic, scale map, depth 1, 2 steps                 2000  0.2206  0.2209  1.00
#   ntk_kare     analytic, scale map, depths 1:2, 1 step               1500  0.1599  0.1618  0.99
#   ntk_kare     analytic, mini-batches of 300, 5 steps                2000  0.2206  0.2226  0.99
#   ntk_kare     network, width 256, depth 1, 2 steps                  1000  0.0489  0.0508  0.96
#   ntk_kare     network, width 256, depth 1, 2 steps                  2000  0.1527  0.1406  1.09
#   kare_kernel  analytic, scale map, depth 2                          4000  0.1463  0.1371  1.07
#   read_plink   p = 2000                                              4000  0.0597  0.0613  0.97
#   grm          PLINK fileset, p = 2000, streamed                     2000  0.0531  0.0543  0.98
#   grm          PLINK fileset, p = 2000, streamed                     4000  0.1361  0.1416  0.96
#   ntk_kernel   PLINK fileset, analytic depth 2, streamed             4000  0.1362  0.1416  0.96
#   ntk_kernel   PLINK fileset, empirical width 256 depth 2, streamed  3000  0.1643  0.1666  0.99
#   ntk_cv       gblup, ntk_lmm, ntk_krr; 5 folds, kernels over all    1500  0.0763  0.0729  1.05
#   ntk_cv       gblup, ntk_lmm, ntk_krr; 5 folds, kernels over all    2000  0.1342  0.1277  1.05
#   ntk_cv       gblup, rkhs, mlp; 5 folds, kernels per fold           2000  0.0671  0.0738  0.91
#   ntk_study    ntk_lmm, ntk_krr, gblup; p = 100, 1 replicate         1500  0.0622  0.0656  0.95
#   ntk_study    ntk_lmm, ntk_krr, gblup; p = 100, 1 replicate         2000  0.1092  0.1143  0.96
#   ntk_study    ntk_lmm, mlp; p = 100, 2 replicates                   2000  0.0663  0.0724  0.92
# With glibc's default (dynamic) mmap threshold, NTKGEN_BENCH_MALLOC=default, the same
# run gave 54 of 59, range 0.80 .. 1.68: blocks of up to 32 MB then come from the heap,
# which keeps what the setup freed (so a call can reuse it unseen: the ratios above 1.3,
# a K_new, the MLP, a small streamed GRM) or keeps pieces it cannot reuse (ratios down
# to 0.80, the streamed kernels of n = 4000): allocator noise of +-20%, not the estimates'.
bench_dir <- local({
  f <- grep("^--file=", commandArgs(FALSE), value = TRUE)
  if (length(f)) dirname(gsub("~+~", " ", sub("^--file=", "", f[1L]), fixed = TRUE))
  else Sys.getenv("NTKGEN_BENCH_DIR", system.file("bench", package = "ntkgen"))
})
source(file.path(bench_dir, "common.R"))
if (!file.exists("/proc/self/status")) stop("memory.R needs Linux (/proc/self/status)")
args <- commandArgs(trailingOnly = TRUE)
only <- if (length(args)) args[1L] else "."
bench_machine(1L)
work <- tempfile("ntkgen-memory-")
dir.create(work)

# ---- the cases: routine, settings, sizes, setup (code defining the inputs from n),
# ---- the call, and the size of the warm-up problem ---------------------------------
geno <- paste("geno <- function(n, p) { set.seed(n + p);",
              "matrix(rbinom(n * p, 2, 0.3) + 0, n, p) }")
trait <- paste("trait <- function(G) { set.seed(2);",
               "drop(scale(G[, 1:20]) %*% rnorm(20, sd = 0.2)) + rnorm(nrow(G)) }")
kern <- "G <- geno(n, 300); K <- ntk_kernel(G, depth = 1); y <- trait(G); rm(G)"
case <- function(routine, settings, ns, setup, call, small = 300L)
  list(routine = routine, settings = settings, ns = ns, setup = setup, call = call,
       small = small)
cases <- list(
  case("grm", "p = 1000", c(2000, 4000, 6000), "G <- geno(n, 1000)", "grm(G)"),
  case("grm", "p = 1000, integer genotypes", 4000,
       "G <- geno(n, 1000); storage.mode(G) <- 'integer'", "grm(G)"),
  case("ntk_kernel", "analytic, depth 1", 4000, "G <- geno(n, 1000)",
       "ntk_kernel(G, depth = 1)"),
  case("ntk_kernel", "analytic, depth 2", c(2000, 4000, 6000), "G <- geno(n, 1000)",
       "ntk_kernel(G, depth = 2)"),
  case("ntk_kernel", "analytic, depth 3, unit", 4000, "G <- geno(n, 1000)",
       "ntk_kernel(G, depth = 3, normalize = 'unit')"),
  case("ntk_kernel", "K_new 1000 x n, analytic depth 2", c(2000, 4000),
       "G <- geno(n, 1000); Z <- geno(1000, 1000)", "ntk_kernel(G, Z, depth = 2)"),
  case("ntk_kernel", "empirical, width 512, depth 1", c(2000, 4000), "G <- geno(n, 500)",
       "ntk_kernel(G, depth = 1, width = 512)"),
  case("ntk_kernel", "empirical, width 512, depth 2", 3000, "G <- geno(n, 500)",
       "ntk_kernel(G, depth = 2, width = 512)"),
  case("ntk_kernel", "empirical, width 256, depth 3, n_init 2", 3000, "G <- geno(n, 500)",
       "ntk_kernel(G, depth = 3, width = 256, n_init = 2)"),
  case("ntk_kernel", "K_new 1000 x n, empirical width 512 depth 2, unit", 3000,
       "G <- geno(n, 500); Z <- geno(1000, 500)",
       "ntk_kernel(G, Z, depth = 2, width = 512, normalize = 'unit')"),
  case("ntk_spectral", "tridiag", c(2000, 4000), kern, "ntk_spectral(K)"),
  case("ntk_spectral", "tridiag, intercept projected", 4000, kern,
       "ntk_spectral(K, X = matrix(1, n, 1))"),
  case("ntk_spectral", "eigen", c(2000, 3000), kern, "ntk_spectral(K, method = 'eigen')"),
  case("ntk_lmm", "one kernel, minque1", c(2000, 4000), kern, "ntk_lmm(y, K)"),
  case("ntk_lmm", "one kernel, REML, 20% y missing", 4000,
       paste(kern, "; y[seq(1, n, by = 5)] <- NA"), "ntk_lmm(y, K, method = 'reml')"),
  case("ntk_lmm", "one kernel, 3 traits", 3000, paste(kern, "; Y <- cbind(y, y^2, -y)"),
       "ntk_lmm(Y, K)"),
  case("ntk_lmm", "3 traits, 3 patterns of missing y", 3000,
       paste(kern, "; Y <- cbind(a = y, b = y, c = y); i <- seq_len(n %/% 10);",
             "Y[i, 2] <- NA; Y[i + n %/% 10, 3] <- NA"),
       "ntk_lmm(Y, K)"),
  case("ntk_lmm", "two kernels (dense), minque1", c(1000, 2000),
       paste(kern, "; K2 <- K^2"), "ntk_lmm(y, list(a = K, b = K2))"),
  case("ntk_lmm", "two kernels (dense), REML, 10% y missing", 2000,
       paste(kern, "; K2 <- K^2; y[seq(1, n, by = 10)] <- NA"),
       "ntk_lmm(y, list(a = K, b = K2), method = 'reml')"),
  case("ntk_krr", "CV, 5 folds, 41 lambdas", c(2000, 4000), kern, "ntk_krr(y, K)"),
  case("ntk_krr", "CV, 5 folds, GLS offset, 10% y missing", 3000,
       paste(kern, "; y[seq(1, n, by = 10)] <- NA"), "ntk_krr(y, K, offset = 'gls')"),
  case("ntk_krr", "CV, 3 traits", 3000, paste(kern, "; Y <- cbind(y, y^2, -y)"),
       "ntk_krr(Y, K)"),
  case("ntk_krr", "fixed lambda (GCV at one lambda)", c(2000, 3000), kern,
       "ntk_krr(y, K, lambda = 1, criterion = 'gcv')"),
  case("ntk_krr", "KARE criterion", 2500, kern, "ntk_krr(y, K, criterion = 'kare')"),
  case("ntk_krr", "GCV, 3 traits, 3 patterns of missing y", 2500,
       paste(kern, "; Y <- cbind(a = y, b = y, c = y); i <- seq_len(n %/% 10);",
             "Y[i, 2] <- NA; Y[i + n %/% 10, 3] <- NA"),
       "ntk_krr(Y, K, criterion = 'gcv')"),
  case("ntk_krr", "LOO criterion", c(2000, 3000), kern, "ntk_krr(y, K, criterion = 'loo')"),
  case("mlp_fit", "p = 2000, hidden 50-30, 2 epochs", c(2000, 4000),
       "G <- geno(n, 2000); y <- trait(G)", "mlp_fit(G, y, epochs = 2)"),
  case("ntk_kare", "analytic, scale map, depth 1, 2 steps", c(1000, 2000),
       "G <- geno(n, 200); y <- trait(G)", "ntk_kare(G, y, depth = 1, steps = 2)"),
  case("ntk_kare", "analytic, scale map, depths 1:2, 1 step", 1500,
       "G <- geno(n, 200); y <- trait(G)", "ntk_kare(G, y, depth = 1:2, steps = 1)"),
  case("ntk_kare", "analytic, mini-batches of 300, 5 steps", 2000,
       "G <- geno(n, 200); y <- trait(G)",
       "ntk_kare(G, y, depth = 1, steps = 5, batch = 300)"),
  case("ntk_kare", "network, width 256, depth 1, 2 steps", c(1000, 2000),
       "G <- geno(n, 200); y <- trait(G)",
       "ntk_kare(G, y, depth = 1, width = 256, steps = 2)"),
  case("kare_kernel", "analytic, scale map, depth 2", 4000,
       paste("G <- geno(n, 300); y <- trait(G); set.seed(1); i <- sample(n, 300);",
             "fit <- ntk_kare(G[i, ], y[i], depth = 2, steps = 0);",
             "fit$settings$genotypes <- G"),   # the recipe's kernel of all n individuals
       "kare_kernel(fit)"),
  case("read_plink", "p = 2000", 4000, "px <- plink_file(n, 2000)", "read_plink(px)"),
  case("grm", "PLINK fileset, p = 2000, streamed", c(2000, 4000),
       "px <- plink_file(n, 2000)", "grm(px)"),
  case("ntk_kernel", "PLINK fileset, analytic depth 2, streamed", 4000,
       "px <- plink_file(n, 2000)", "ntk_kernel(px, depth = 2)"),
  case("ntk_kernel", "PLINK fileset, empirical width 256 depth 2, streamed", 3000,
       "px <- plink_file(n, 2000)", "ntk_kernel(px, depth = 2, width = 256)"),
  case("ntk_cv", "gblup, ntk_lmm, ntk_krr; 5 folds, kernels over all", c(1500, 2000),
       "G <- geno(n, 300); y <- trait(G)",
       "ntk_cv(G, y, methods = c('gblup', 'ntk_lmm', 'ntk_krr'), progress = FALSE)"),
  case("ntk_cv", "gblup, rkhs, mlp; 5 folds, kernels per fold", 2000,
       "G <- geno(n, 300); y <- trait(G)",
       paste("ntk_cv(G, y, methods = c('gblup', 'rkhs', 'mlp'), kernels = 'fold',",
             "mlp_args = list(epochs = 2), progress = FALSE)")),
  case("ntk_study", "ntk_lmm, ntk_krr, gblup; p = 100, 1 replicate", c(1500, 2000), "",
       paste("ntk_study(n = n, p = 100, reps = 1, methods = c('ntk_lmm', 'ntk_krr', 'gblup'),",
             "seed = 1, progress = FALSE)")),
  case("ntk_study", "ntk_lmm, mlp; p = 100, 2 replicates", 2000, "",
       paste("ntk_study(n = n, p = 100, reps = 2, methods = c('ntk_lmm', 'mlp'),",
             "mlp_args = list(epochs = 2), seed = 1, progress = FALSE)"))
)

# PLINK filesets, written here once per size
plink_dir <- file.path(work, "plink")
dir.create(plink_dir)
plink_helper <- sprintf(paste0(
  "plink_file <- function(n, p) { f <- file.path('%s', sprintf('g%%d_%%d', n, p)); ",
  "if (!file.exists(paste0(f, '.bed'))) write_plink(f, geno(n, p)); f }"), plink_dir)

child_script <- function(cs, n) {
  c(sprintf("bench_dir <- %s", deparse(bench_dir)),
    "suppressMessages(source(file.path(bench_dir, 'common.R')))",
    "options(ntkgen.threads = 1L)",
    "status <- function(key) {",      # bytes of a VmRSS / VmHWM line (kB)
    "  s <- grep(paste0('^', key, ':'), readLines('/proc/self/status'), value = TRUE)",
    "  1024 * as.numeric(gsub('[^0-9]', '', s)) }",
    geno, trait, plink_helper,
    sprintf(paste("setup <- function(n) { assign('n', n, globalenv());",
                  "eval(quote({%s}), globalenv()) }"), cs$setup),
    sprintf("run <- function() eval(quote(%s), globalenv())", cs$call),
    # warm-up: lazy loading, BLAS buffers (one 1024^3 product touches OpenBLAS's whole
    # packing buffer) and R's first allocations go to the baseline
    "invisible(tcrossprod(matrix(0.5, 1024, 1024)))",
    sprintf("setup(%d); invisible(suppressWarnings(suppressMessages(run())))", cs$small),
    sprintf("setup(%d)", as.integer(n)),
    # the guard's estimate, read back after a refusal at a zero limit
    "st <- ntkgen:::ntk_state; st$memory_check <- NULL",
    "old <- options(ntkgen.max_kernel_gb = 0)",
    "msg <- tryCatch({ run(); 'not refused' }, error = function(e) conditionMessage(e))",
    "options(old)",
    "est <- st$memory_check$bytes",
    "if (is.null(est) || !grepl('ntkgen.max_kernel_gb', msg)) {",
    "  cat('NO ESTIMATE:', msg, '\\n'); est <- NA }",
    "invisible(gc()); invisible(gc())",
    "cat('5', file = '/proc/self/clear_refs')",
    "r0 <- status('VmRSS')",
    "t0 <- proc.time()[['elapsed']]",
    "res <- suppressWarnings(suppressMessages(run()))",
    "sec <- proc.time()[['elapsed']] - t0",
    "peak <- status('VmHWM') - r0",
    "cat(sprintf('RESULT %.0f %.0f %.2f\\n', est, peak, sec))")
}

rscript <- file.path(R.home("bin"), "Rscript")
# a fixed mmap threshold: every block above 128 KB is mapped and given back when freed, so
# that the resident peak is the peak of what the call holds, not of what glibc's heap kept
# from the setup (NTKGEN_BENCH_MALLOC=default measures with glibc's dynamic threshold)
env <- c("OPENBLAS_NUM_THREADS=1", "OMP_NUM_THREADS=1", "MKL_NUM_THREADS=1",
         if (Sys.getenv("NTKGEN_BENCH_MALLOC") != "default") "MALLOC_MMAP_THRESHOLD_=131072")
rows <- list()
t_all <- proc.time()[["elapsed"]]
line <- function(routine, settings, n, est, meas, ratio, sec)
  cat(sprintf("%-12s %-56s %5s %9s %9s %6s %5s\n", routine, settings, n, est, meas, ratio, sec))
line("routine", "settings", "n", "est. GB", "meas. GB", "ratio", "s")
for (cs in cases) {
  if (!grepl(only, paste(cs$routine, cs$settings))) next
  for (n in cs$ns) {
    f <- file.path(work, "child.R")
    writeLines(child_script(cs, n), f)
    out <- suppressWarnings(system2(rscript, f, stdout = TRUE, stderr = TRUE, env = env))
    res <- grep("^RESULT ", out, value = TRUE)
    if (!length(res)) {
      cat("FAILED:", cs$routine, cs$settings, "n =", n, "\n",
          paste(utils::tail(out, 8), collapse = "\n"), "\n")
      next
    }
    v <- as.numeric(strsplit(res[1L], " ")[[1L]][-1L])
    row <- data.frame(routine = cs$routine, settings = cs$settings, n = as.integer(n),
                      estimate_GB = v[1L] / 1024^3, measured_GB = v[2L] / 1024^3,
                      ratio = v[1L] / v[2L], seconds = v[3L], stringsAsFactors = FALSE)
    rows[[length(rows) + 1L]] <- row
    line(row$routine, row$settings, row$n, sprintf("%.4f", row$estimate_GB),
         sprintf("%.4f", row$measured_GB), sprintf("%.2f", row$ratio),
         sprintf("%.0f", row$seconds))
  }
}
tab <- do.call(rbind, rows)
if (is.null(tab)) stop("no case ran")
ok <- tab$ratio >= 1 / 1.3 & tab$ratio <= 1.3
cat(sprintf("\n%d of %d ratios estimate / measured in [1/1.3, 1.3]; range %.2f .. %.2f; %.0f s\n",
            sum(ok, na.rm = TRUE), nrow(tab), min(tab$ratio, na.rm = TRUE),
            max(tab$ratio, na.rm = TRUE), proc.time()[["elapsed"]] - t_all))
if (any(!ok, na.rm = TRUE)) {
  cat("outside the target:\n")
  print(tab[!ok & !is.na(ok), ], digits = 3, row.names = FALSE)
}
unlink(work, recursive = TRUE)
