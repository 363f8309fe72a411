# Interrupts: every long-running export polls for Ctrl-C between blocks of its work.  The
# package's test hook (C_interrupt_after) makes the k-th poll from now report an interrupt
# as if Ctrl-C had come just then, so each routine is interrupted deterministically at
# polls spread over its whole run.  Checked each time: R's own "interrupt" condition
# reaches R (not an error, not a result), R is usable afterwards (the same call then gives
# the reference result), and the C heap holds no more than before (no leak on any exit
# path).  Latencies with real signals: inst/bench/interrupt.R.

interrupt_after <- function(k) .Call(ntkgen:::C_interrupt_after, as.integer(k))
heap_in_use <- function() {
  for (i in 1:2) invisible(gc())
  .Call(ntkgen:::C_heap_in_use)
}
count_polls <- function(f) {
  interrupt_after(1e9L)
  on.exit(interrupt_after(0L))
  f()
  1e9 - interrupt_after(0L)
}
was_interrupted <- function(f) {
  out <- tryCatch({
    f()
    "finished"
  }, interrupt = function(e) "interrupted", error = function(e) conditionMessage(e))
  interrupt_after(0L)
  out
}

# f: the call; at most `at` interrupt positions spread over its polls.  Returns the number
# of polls the call makes.
check_interrupts <- function(f, label, at = 5L) {
  ref <- f()
  np <- count_polls(f)
  expect_gt(np, 0)
  ks <- unique(round(seq(1, np, length.out = min(np, at))))
  # rounds of interrupts at these polls: the first, unmeasured, and the first calls of
  # the others may allocate for good what R compiles and caches (byte-code of the
  # handlers, a larger table of strings), a few MB that are no leak; a leak grows the heap
  # in every round, so the smaller of the growths over two measured rounds is the test
  one_round <- function() for (k in ks) {
    interrupt_after(k)
    expect_identical(was_interrupted(f), "interrupted", label = paste(label, "at poll", k))
  }
  one_round()
  h0 <- heap_in_use()
  one_round()
  h1 <- heap_in_use()
  one_round()
  h2 <- heap_in_use()
  if (!is.na(h0))
    expect_lt(min(h1 - h0, h2 - h1), 2^20, label = paste(label, ": heap growth (bytes)"))
  expect_identical(f(), ref, label = paste(label, "after the interrupts"))
  invisible(np)
}

set.seed(11)
G <- matrix(rbinom(240 * 60, 2, 0.3), 240)
y <- rnorm(240)
K <- ntk_kernel(G, depth = 2)

test_that("kernels stop at every poll and release their memory", {
  # the analytic kernel and the GRM poll between blocks of 512 columns: 1100 individuals
  G3 <- matrix(rbinom(1100 * 20, 2, 0.3), 1100)
  check_interrupts(function() ntk_kernel(G3, depth = 3), "analytic kernel")
  check_interrupts(function() ntk_kernel(G3, G3[1:50, ], depth = 2), "analytic test kernel")
  check_interrupts(function() { set.seed(1); ntk_kernel(G, width = 64, n_init = 3) },
                   "empirical kernel")
  check_interrupts(function() grm(G3), "grm")
})

test_that("the empirical network's forward pass polls between blocks of rows", {
  # 1100 individuals x width 1500, depth 2: each row costs 2 x 2 x 1500^2 flops, so the
  # pass runs in blocks of 444 rows (3 blocks, 2 polls inside the pass) before the Gram
  # blocks (which poll between layers as well)
  X <- matrix(rbinom(1100 * 20, 2, 0.3), 1100)
  f <- function() { set.seed(2); ntk_kernel(X, width = 1500, depth = 2) }
  np <- count_polls(f)
  interrupt_after(1L)
  expect_identical(was_interrupted(f), "interrupted")
  interrupt_after(2L)
  expect_identical(was_interrupted(f), "interrupted")
  expect_gte(np, 2 + 3)
})

test_that("LMM, KRR and the spectral engine stop at every poll", {
  check_interrupts(function() ntk_lmm(y, K, method = "reml"), "REML")
  check_interrupts(function() ntk_lmm(y, K, method = "iminque"), "iterated MINQUE")
  check_interrupts(function() ntk_lmm(y, list(a = K, b = grm(G)), method = "reml"),
                   "REML, two kernels")
  check_interrupts(function() ntk_krr(y, K, criterion = "cv", foldid = rep(1:5, 48)),
                   "KRR cross-validation")
  check_interrupts(function() ntk_krr(y, K, criterion = "gcv"), "KRR GCV")
  check_interrupts(function() ntk_spectral(K, method = "eigen"), "spectral (eigen)")
  check_interrupts(function() ntk_spectral(K), "spectral (tridiagonal)")
})

test_that("the MLP and KARE training stop at every poll", {
  check_interrupts(function() { set.seed(3); mlp_fit(G, y, epochs = 20, patience = 20) },
                   "mlp_fit")
  check_interrupts(function() { set.seed(4); ntk_kare(G, y, depth = 2, steps = 8) },
                   "ntk_kare, analytic")
  check_interrupts(function() {
    set.seed(5); ntk_kare(G[1:120, ], y[1:120], depth = 2, width = 32, steps = 5)
  }, "ntk_kare, network")
})

test_that("PLINK streamed kernels stop at every poll", {
  f <- tempfile()
  write_plink(f, G)
  on.exit(unlink(paste0(f, c(".bed", ".bim", ".fam"))))
  withr_block <- options(ntkgen.plink_block = 16L)   # 4 blocks of SNPs, polled between
  on.exit(options(withr_block), add = TRUE)
  check_interrupts(function() ntk_kernel(f, depth = 2), "PLINK kernel")
  check_interrupts(function() grm(f), "PLINK GRM")
  f2 <- tempfile()     # read_plink decodes 4096 SNPs at a time: 9000 SNPs, 3 blocks
  write_plink(f2, matrix(rbinom(40 * 9000, 2, 0.3), 40))
  on.exit(unlink(paste0(f2, c(".bed", ".bim", ".fam"))), add = TRUE)
  check_interrupts(function() read_plink(f2), "read_plink")
})

test_that("an interrupt stops a whole study or cross-validation, recording nothing", {
  # without the interrupt these calls record failed fits as NA and carry on; an interrupt
  # must end the call instead
  study <- function() ntk_study("ricker", n = 120, p = 20, reps = 3, methods = c("ntk_krr", "gblup"),
                                seed = 1, progress = FALSE)
  cv <- function() ntk_cv(G, y, methods = c("ntk_lmm", "ntk_krr"), nfolds = 3,
                          progress = FALSE)
  for (f in list(study, cv)) {
    np <- count_polls(f)
    expect_gt(np, 3)
    for (k in unique(round(c(1, np / 2, np)))) {
      interrupt_after(k)
      expect_identical(was_interrupted(f), "interrupted")
    }
  }
})

test_that("the hook counts and resets", {
  expect_identical(interrupt_after(0L), 0L)
  interrupt_after(5L)
  expect_identical(interrupt_after(0L), 5L)
  expect_identical(was_interrupted(function() ntk_kernel(G)), "finished")
})
