# Interrupt latency: how long each long-running export takes to stop after Ctrl-C, whether
# R is usable afterwards and whether the memory the call held is released.
#
# Each case runs in a fresh child R process (Rscript); the parent waits until the child has
# entered the call, waits `delay` seconds more, sends SIGINT (what Ctrl-C sends) and reads
# back from the child: the time the "interrupt" condition reached R code (latency = that
# time - the time the signal was sent), a small ntk_kernel() call after it compared with
# its reference (R usable), and memory before the call and after the interrupt + gc():
# heap_mb, the C heap in use (every malloc arena and mmapped block: what a leak would
# grow; the call itself held tens to hundreds of MB), and rss_mb, the resident size
# (higher: the C library keeps freed heap pages for reuse rather than return them).  A
# child that has not answered 120 s after the signal is killed and reported as a hang.
# Every case is interrupted at two delays (early: in the first phase of the call, e.g.
# the forward pass of the network; late: inside the main loop).
#
# Run:  OPENBLAS_NUM_THREADS=2 OMP_NUM_THREADS=2 NTKGEN_BENCH_THREADS=2 \
#         NTKGEN_LIB=/path/to/lib Rscript inst/bench/interrupt.R [case,case,...]
# Loader, threads and the machine line: common.R.  The exception to "within a second":
# a single LAPACK call cannot be interrupted (R's interrupt is polled between calls), so
# a case whose interrupt lands inside one large decomposition stops when it returns: the
# "reml" and "spectral" cases show its size (one dsytrd/dsyevd of the kernel).
#
# Measured 2026-12-02 (2 cores, load average 1.3-3.7 from other jobs; OpenBLAS 0.3.21, 2
# BLAS + 2 OpenMP threads), latency in s at the two delays:
#   empirical (n 4000, width 4096, depth 2)  1.71 / 0.13   (before: 10.4 / 6.8)
#   analytic (n 8000, p 1000, depth 3)       0.16 / 0.06   grm (8000 x 4000)      0.71 / 0.41
#   krr_cv (n 3000, 10 folds)                1.31 / 0.05   (before: 3.2 / 2.1)
#   krr_gcv (n 4000)                         0.01 / 0.06   (before, eigenvectors: 15-34)
#   reml (n 4000)                            0.04 / 0.84   lmm_two (n 2500)       0.05 / 0.44
#   spectral eigen (n 5000)                  0.22 / 14.36  (inside one dsyevd: the exception)
#   mlp (n 5000)                             0.05 / 0.14   plink (4000 x 6000)    1.13 / 0.23
#   kare analytic (n 1500)                   0.91 / 1.08   kare network (w 512)   0.09 / 0.78
#   study                                    0.39 / 0.01   cv (n 1500)            0.06 / 2.57
# median 0.23 s; every call stopped by the interrupt, R usable after all 28; heap_mb 3.3-5.2
# in 20 cases whatever the call (also where it held hundreds of MB): a one-off of about
# 5 MB per process, not traced (a warm-up interrupt through the test hook does not absorb
# it); no per-call leak: tests/testthat/test-interrupt.R shows no growth over repeated
# interrupts of every call.
bench_dir <- local({
  f <- grep("^--file=", commandArgs(FALSE), value = TRUE)
  if (length(f)) dirname(gsub("~+~", " ", sub("^--file=", "", f[1L]), fixed = TRUE))
  else Sys.getenv("NTKGEN_BENCH_DIR", system.file("bench", package = "ntkgen"))
})
source(file.path(bench_dir, "common.R"))  # loader, bench_time(), bench_machine(), threads
thr <- bench_threads(2L)
bench_machine(threads = thr)
if (.Platform$OS.type != "unix" || !file.exists("/proc/self/status"))
  stop("interrupt.R needs Linux (signals and /proc)")

## the cases: setup (not timed, not interrupted) and the call -------------------------
cases <- list(
  empirical = list(
    setup = "X <- matrix(rbinom(4000 * 500, 2, 0.3), 4000)",
    call = "ntk_kernel(X, width = 4096, depth = 2)", delays = c(0.5, 4)),
  analytic = list(
    setup = "X <- matrix(rbinom(8000 * 1000, 2, 0.3), 8000)",
    call = "ntk_kernel(X, depth = 3)", delays = c(0.3, 2)),
  grm = list(
    setup = "X <- matrix(rbinom(8000 * 4000, 2, 0.3), 8000)",
    call = "grm(X)", delays = c(0.3, 2)),
  krr_cv = list(
    setup = paste("X <- matrix(rbinom(3000 * 300, 2, 0.3), 3000); K <- grm(X);",
                  "y <- rnorm(3000)"),
    call = "ntk_krr(y, K, criterion = 'cv', nfolds = 10)", delays = c(0.5, 4)),
  krr_gcv = list(
    setup = paste("X <- matrix(rbinom(4000 * 300, 2, 0.3), 4000); K <- grm(X);",
                  "y <- rnorm(4000)"),
    call = "ntk_krr(y, K, criterion = 'gcv')", delays = c(0.5, 3)),
  reml = list(
    setup = paste("X <- matrix(rbinom(4000 * 300, 2, 0.3), 4000); K <- grm(X);",
                  "y <- rnorm(4000)"),
    call = "ntk_lmm(y, K, method = 'reml')", delays = c(0.5, 3)),
  lmm_two = list(
    setup = paste("X <- matrix(rbinom(2500 * 300, 2, 0.3), 2500); K <- grm(X);",
                  "K2 <- ntk_kernel(X, depth = 1); y <- rnorm(2500)"),
    call = "ntk_lmm(y, list(a = K, b = K2), method = 'reml')", delays = c(0.5, 3)),
  spectral = list(
    setup = "X <- matrix(rbinom(5000 * 300, 2, 0.3), 5000); K <- grm(X)",
    call = "ntk_spectral(K, method = 'eigen')", delays = c(0.5, 3)),
  mlp = list(
    setup = "X <- matrix(rbinom(5000 * 500, 2, 0.3), 5000); y <- rnorm(5000)",
    call = "mlp_fit(X, y, epochs = 1000, patience = 1000)", delays = c(0.5, 3)),
  kare_analytic = list(
    setup = "X <- matrix(rbinom(1500 * 100, 2, 0.3), 1500); y <- rnorm(1500)",
    call = "ntk_kare(X, y, depth = 2, steps = 1000)", delays = c(0.5, 3)),
  kare_network = list(
    setup = "X <- matrix(rbinom(1500 * 100, 2, 0.3), 1500); y <- rnorm(1500)",
    call = "ntk_kare(X, y, depth = 2, width = 512, steps = 1000)", delays = c(0.5, 3)),
  plink = list(
    setup = paste("f <- tempfile(); write_plink(f, matrix(rbinom(4000 * 6000, 2, 0.3), 4000))"),
    call = "ntk_kernel(f, depth = 2)", delays = c(0.3, 2)),
  study = list(
    setup = "",
    call = "ntk_study('ricker', n = 600, p = 50, reps = 100, progress = FALSE)",
    delays = c(0.5, 4)),
  cv = list(
    setup = "X <- matrix(rbinom(1500 * 200, 2, 0.3), 1500); y <- rnorm(1500)",
    call = "ntk_cv(X, y, methods = c('ntk_lmm', 'ntk_krr', 'mlp'), reps = 20, progress = FALSE)",
    delays = c(0.5, 4))
)
args <- commandArgs(trailingOnly = TRUE)
if (length(args)) cases <- cases[strsplit(args[1L], ",")[[1L]]]

child_code <- function(case, flag, out) {
  sprintf('
lib <- Sys.getenv("NTKGEN_LIB"); if (nzchar(lib)) .libPaths(c(lib, .libPaths()))
suppressPackageStartupMessages(library(ntkgen))
options(ntkgen.threads = %d)
rss <- function() {
  s <- readLines("/proc/self/status")
  as.numeric(sub("[^0-9]*([0-9]+).*", "\\\\1", grep("^VmRSS", s, value = TRUE))) / 1024
}
set.seed(1)
%s
Xs <- matrix(rbinom(40 * 10, 2, 0.3), 40); ref <- ntk_kernel(Xs)
# warm-up: the BLAS library allocates its per-thread buffers at its first large product
# and keeps them; they are not memory of the call
invisible(crossprod(matrix(runif(2000 * 500), 2000))); invisible(ntk_kernel(Xs[, 1:5]))
# and R keeps for good what it compiles on the first interrupt (byte-code of the
# handlers): one interrupt through the test hook first
Xw <- matrix(rbinom(1100 * 5, 2, 0.3), 1100); invisible(.Call(ntkgen:::C_interrupt_after, 1L))
invisible(tryCatch(ntk_kernel(Xw), interrupt = function(e) NULL))
invisible(.Call(ntkgen:::C_interrupt_after, 0L)); rm(Xw)
invisible(gc()); r0 <- rss(); h0 <- .Call(ntkgen:::C_heap_in_use)
writeLines(as.character(Sys.getpid()), "%s.tmp"); file.rename("%s.tmp", "%s")
t_start <- as.numeric(Sys.time())
st <- tryCatch({ res <- %s; "finished" }, interrupt = function(e) "interrupted",
               error = function(e) paste("error:", conditionMessage(e)))
t1 <- as.numeric(Sys.time())
res <- NULL
usable <- isTRUE(all.equal(ntk_kernel(Xs), ref))
invisible(gc()); r1 <- rss(); h1 <- .Call(ntkgen:::C_heap_in_use)
writeLines(c(st, sprintf("%%.6f", c(t_start, t1, r0, r1, (h1 - h0) / 2^20)), usable), "%s")
', thr, case$setup, flag, flag, flag, case$call, out)
}

run_case <- function(name, case, delay) {
  dir <- tempfile("intr"); dir.create(dir)
  flag <- file.path(dir, "pid"); out <- file.path(dir, "out"); scr <- file.path(dir, "c.R")
  writeLines(child_code(case, flag, out), scr)
  system2(file.path(R.home("bin"), "Rscript"), c("--vanilla", scr),
          stdout = file.path(dir, "log"), stderr = file.path(dir, "log"), wait = FALSE)
  t_wait <- Sys.time()
  while (!file.exists(flag)) {
    Sys.sleep(0.02)
    if (difftime(Sys.time(), t_wait, units = "secs") > 600) stop(name, ": setup hung")
  }
  pid <- as.integer(readLines(flag))
  Sys.sleep(delay)
  t_sig <- as.numeric(Sys.time())
  tools::pskill(pid, tools::SIGINT)
  while (!file.exists(out) && as.numeric(Sys.time()) - t_sig < 120) Sys.sleep(0.02)
  if (!file.exists(out)) {
    tools::pskill(pid, tools::SIGKILL)
    return(data.frame(case = name, delay = delay, status = "HANG", latency_s = NA,
                      usable = NA, heap_mb = NA, rss_mb = NA))
  }
  Sys.sleep(0.05)
  r <- readLines(out)
  v <- as.numeric(r[2:6])
  data.frame(case = name, delay = delay, status = r[1L],
             latency_s = round(v[2L] - t_sig, 2), usable = as.logical(r[7L]),
             heap_mb = round(v[5L], 2), rss_mb = round(v[4L] - v[3L], 1))
}

res <- do.call(rbind, lapply(names(cases), function(nm)
  do.call(rbind, lapply(cases[[nm]]$delays, function(d) run_case(nm, cases[[nm]], d)))))
print(res, row.names = FALSE)
ok <- res$status == "interrupted"
cat(sprintf(paste0("\nslowest stop: %.2f s (%s, delay %.1f s); median %.2f s; not stopped by ",
                   "the interrupt: %d; R unusable after it: %d; C heap grown > 1 MB: %d\n"),
            max(res$latency_s, na.rm = TRUE), res$case[which.max(res$latency_s)],
            res$delay[which.max(res$latency_s)], median(res$latency_s, na.rm = TRUE),
            sum(!ok), sum(!res$usable, na.rm = TRUE), sum(res$heap_mb > 1, na.rm = TRUE)))
