# KARE-trained NTKs (ntk_kare): (1) the cost of one analytic-mode step and of one fit at
# n = 1000, p = 100 (target: <= 10 s on 2 cores); (2) a small Ricker study, n = 1000,
# p = 20 / 50 / 100, 80/20 splits: untrained NTK-KRR, KARE-trained NTK (scale or
# rank-1/2 projection map, the candidate of smallest KARE), the
# MLP and GBLUP, median test correlation and seconds per fit; (3) network mode: seconds
# per step against n and width, and one network-mode fit (NTKGEN_BENCH_SKIP_NETWORK=1
# skips it).
#
# Run:  OPENBLAS_NUM_THREADS=2 OMP_NUM_THREADS=2 NTKGEN_BENCH_THREADS=2 \
#         NTKGEN_LIB=/path/to/lib Rscript inst/bench/kare.R [reps] [steps] [depth] [batch] [maps] [model]
#   reps   replicates per p (default 3: the study is a smoke-size comparison on a shared
#          machine; the issue's figures need >= 50)
#   steps  optimisation steps of ntk_kare() per candidate depth (default 30)
#   depth  candidate depths of ntk_kare(), e.g. "2" or "1:3" (default "2")
#   batch  individuals per step of ntk_kare() ("full" for full batch; default 256)
#   maps   candidate maps of ntk_kare(), comma-separated (default "scale,projection",
#          the projection with ranks 1 and 2; the candidate of smallest KARE is used)
#   model  phenotype model of the study (default "ricker"; e.g. "cosh")
# Options (anywhere on the line):
#   --seed=s        the study's seed (default 2024)
#   --p=20,50,100   numbers of SNPs of the study
#   --sigma_b=b     initial sigma_b of ntk_kare() (default 0; > 0 trains it); several
#                   (e.g. 0,1): candidates chosen by KARE
#   --network=w     also network mode (width w, same depth / steps / batch;
#                   --network_lr= default 0.01, --network_sigma_b= default 0) on the same
#                   replicates: the method "ntk_kare_net"
#   --out=FILE.rds  save the study's table (all replicates)
#   --skip-cost     skip parts (1) and (3)
#   --skip-study    skip part (2)
# The study prints medians and, per method, the paired difference in test correlation
# from the MLP on the same replicates (summary(st, baseline = "mlp")): mean, its SE, and
# the fraction of replicates won.
# Loader, threads and the machine line: common.R.
#
# Measured 2026-12-01 (2 cores shared with other jobs, load average 3-7; OpenBLAS 0.3.21,
# 2 BLAS + 2 OpenMP threads), `kare.R 10 150 2 256` (Ricker) and `kare.R 5 150 2 256
# scale,projection cosh`:
#   one fit n = 1000, p = 100, depth 2: 150 steps in batches of 256 6.6-7.7 s (KARE .932 ->
#   .539); full batch 1.2-1.4 s a step (30 steps 20-43 s)
#   Ricker, 10 reps, median test r at p = 20 / 50 / 100: NTK-KARE .648 / .637 / .498,
#   NTK-KRR .526 / .282 / .218, MLP .619 / .433 / .180, GBLUP .248 / .169 / .191;
#   seconds per fit NTK-KARE 17-21 (3 candidates), NTK-KRR 0.6, MLP 0.2-0.5
#   cosh, 5 reps: NTK-KARE .514 / .480 / .323, NTK-KRR .460 / .183 / -.020, MLP .535 /
#   .298 / .060, GBLUP .102 / -.049 / -.019
#   cosh, 50 reps (`kare.R 50 150 2 256 scale,projection cosh`, 5848 s at load 5-7):
#   NTK-KARE .555 / .458 / .233, NTK-KRR .531 / .293 / .055, MLP .561 / .378 / .036,
#   GBLUP .119 / .012 / .000; seconds per fit NTK-KARE 14 / 31 / 34, MLP 0.3-0.7
# Measured 2026-12-02, the two studies side by side, 1 thread each (load average ~2-4),
# seed 2025 (settings chosen on 10 replicates of seed 2024 beforehand), candidates
# sigma_b 0 and 1 x (scale map, rank-1 and rank-2 projection), depth 2, plus network mode
# (width 64, sigma_b 0, lr 0.01):
#   `kare.R 50 150 2 256 scale,projection ricker --seed=2025 --sigma_b=0,1 --network=64
#    --skip-cost` (3100 s) and the same with cosh (3136 s):
#   Ricker, median test r at p = 20 / 50 / 100: NTK-KARE .677 / .617 / .403, network
#   mode .576 / .361 / .170, NTK-KRR .502 / .304 / .187, MLP .601 / .420 / .158, GBLUP
#   .254 / .211 / .158; paired difference from the MLP, mean (SE), wins: NTK-KARE
#   +.070 (.005) 94%, +.191 (.024) 94%, +.134 (.039) 66%; network mode -.033 (.004) 6%,
#   -.042 (.018) 22%, +.018 (.015) 50%
#   cosh: NTK-KARE .622 / .463 / .131, network mode .537 / .389 / .146, NTK-KRR .530 /
#   .269 / .061, MLP .566 / .333 / .062, GBLUP .114 / .000 / .000; paired: NTK-KARE
#   +.069 (.009) 92%, +.116 (.029) 70%, +.096 (.031) 58%; network mode -.006 (.007)
#   38%, +.060 (.023) 52%, +.076 (.016) 76%
#   seconds per fit (1 thread, 2 jobs on 2 cores): NTK-KARE 16-19 (6 candidates),
#   network mode 1.8-2.1, NTK-KRR 0.3, MLP 0.1-0.3
#   `kare.R 3 150 2 256 --skip-study` (2 threads, quiet machine, load average < 1):
#   one fit n = 1000, p = 100, depth 2, scale map: 150 steps in batches of 256 3.65 s
#   (KARE .932 -> .539), 30 full-batch steps 14.0 s
#   network mode, s per step (p = 100, depth 2), width 64 / 256 / 1024: n = 500 .047 /
#   .070 / .424, n = 1000 .260 / .432 / 1.16, n = 2000 1.94 / 2.13 / 4.08, n = 4000
#   11.0 / 11.4 / 16.1; analytic mode (scale map) per step n = 500 / 1000 / 2000 / 4000:
#   .054 / .360 / 2.30 / 11.6 s, 1.74 / 2.32 / 2.20 / 1.32 x one eigen() of n x n (the
#   O(n^3) floor: .031 / .155 / 1.04 / 8.76 s); network width 64 1.26-1.86 x the floor;
#   one network fit (width 64, 100 steps, batches of 256) 2.6 s, KARE .994 -> .281,
#   test r .132 -> .164
bench_dir <- local({
  f <- grep("^--file=", commandArgs(FALSE), value = TRUE)
  if (length(f)) dirname(gsub("~+~", " ", sub("^--file=", "", f[1L]), fixed = TRUE))
  else Sys.getenv("NTKGEN_BENCH_DIR", system.file("bench", package = "ntkgen"))
})
source(file.path(bench_dir, "common.R"))  # loader, bench_time(), bench_machine(), threads
cl <- bench_args(c("seed", "p", "sigma_b", "network", "network_lr", "network_sigma_b",
                   "out"), flags = c("skip-cost", "skip-study"))
args <- cl$args
opt <- function(name, default) if (is.null(cl$opts[[name]])) default else cl$opts[[name]]
seed <- as.integer(opt("seed", "2024"))
sigma_b <- as.numeric(strsplit(opt("sigma_b", "0"), ",")[[1L]])   # candidates
net_sigma_b <- as.numeric(strsplit(opt("network_sigma_b", "0"), ",")[[1L]])
ps <- as.numeric(strsplit(opt("p", "20,50,100"), ",")[[1L]])
net_width <- as.numeric(opt("network", "0"))       # > 0: network mode in the study too
net_lr <- as.numeric(opt("network_lr", "0.01"))
out_file <- opt("out", "")
skip_cost <- "skip-cost" %in% cl$flags
skip_study <- "skip-study" %in% cl$flags
reps <- if (length(args) >= 1L) as.integer(args[1L]) else 3L
steps <- if (length(args) >= 2L) as.integer(args[2L]) else 30L
depth <- if (length(args) >= 3L) eval(parse(text = args[3L])) else 2L
batch <- if (length(args) >= 4L && args[4L] != "full") as.integer(args[4L]) else
  if (length(args) >= 4L) NULL else 256L
maps <- strsplit(if (length(args) >= 5L) args[5L] else "scale,projection", ",")[[1L]]
model <- if (length(args) >= 6L) args[6L] else "ricker"
thr <- bench_threads(2L)
bench_machine(threads = thr)

bl <- if (is.null(batch)) "full" else batch

## (1) cost ---------------------------------------------------------------------------
if (!skip_cost) {
set.seed(1)
G <- simulate_genotypes(1000, 100)
y <- as.numeric(simulate_phenotype(G, "ricker", h2 = 0.5, causal = 10))
t_step <- bench_time(
  fit1 <- ntk_kare(G, y, depth = 2, steps = 1, threads = thr),
  reps = min(bench_reps, 3L))
cat(sprintf("n = 1000, p = 100: ntk_kare(depth = 2, steps = 1) %.2f s (two full evaluations: start + 1 step)\n",
            t_step))
for (b in unique(list(batch, NULL))) {
  sb <- if (is.null(b)) min(steps, 30L) else steps   # full batch: O(n^3) a step
  t_fit <- bench_time(fit <- ntk_kare(G, y, depth = depth, steps = sb, batch = b,
                                      threads = thr), reps = 1L)
  cat(sprintf("n = 1000, p = 100: ntk_kare(depth = %s, steps = %d, batch = %s) %.2f s; KARE %.4f -> %.4f\n",
              deparse(depth), sb, if (is.null(b)) "NULL" else b, t_fit,
              fit$kare_start[[fit$chosen]], fit$kare[[fit$chosen]]))
}
cat("\n")
}

## (2) study --------------------------------------------------------------------------
if (!skip_study) {
t0 <- proc.time()[["elapsed"]]
st <- ntk_study(model = model, n = 1000, p = ps, reps = reps, seed = seed,
                methods = c("ntk_krr", "ntk_kare", "mlp", "gblup"), threads = thr,
                kare_args = list(depth = depth, steps = steps, batch = batch, map = maps,
                                 rank = 1:2, sigma_b = sigma_b),
                progress = FALSE)
if (net_width > 0) {
  # network mode on the same replicates (same seed: same genotypes, phenotypes, splits),
  # as the method "ntk_kare_net" of one table
  sn <- ntk_study(model = model, n = 1000, p = ps, reps = reps, seed = seed,
                  methods = "ntk_kare", threads = thr,
                  kare_args = list(depth = depth, steps = steps, batch = batch,
                                   width = net_width, lr = net_lr, sigma_b = net_sigma_b),
                  progress = FALSE)
  a <- attributes(st)
  df <- rbind(as.data.frame(unclass(st)),
              transform(as.data.frame(unclass(sn)), method = "ntk_kare_net"))
  df$method <- factor(as.character(df$method), c(levels(st$method), "ntk_kare_net"))
  st <- structure(df, class = class(st), settings = a$settings, seeds = a$seeds)
}
total <- proc.time()[["elapsed"]] - t0
if (nzchar(out_file)) saveRDS(st, out_file)
s <- summary(st, baseline = "mlp")
cat(sprintf("%s study: n = 1000, %d replicate(s) per p, seed %d, kare depth %s, maps %s, sigma_b %s, %d steps, batch %s%s, %.0f s in all\n",
            model, reps, seed, deparse(depth), paste(maps, collapse = "+"),
            paste(sigma_b, collapse = "+"), steps, bl,
            if (net_width > 0) sprintf(", network mode width %g lr %g sigma_b %s", net_width,
                                       net_lr, paste(net_sigma_b, collapse = "+")) else "",
            total))
wide <- function(what) round(ntkgen:::study_wide(s, what), 3)
cat("\nMedian test correlation (rows: method, columns: p)\n")
print(wide("cor_median"))
cat("\nPaired difference from the MLP, replicate by replicate: mean (SE), fraction of wins\n")
pd <- wide("diff_mean")
pd[] <- sprintf("%+.3f (%.3f) %.2f", wide("diff_mean"), wide("diff_se"), wide("wins"))
print(noquote(pd))
cat("\nMedian seconds per fit (NTK-KRR includes the kernel; NTK-KARE the training)\n")
print(wide("seconds_median"))
if (model == "ricker")
  cat("\nIssue 10 (Ricker, median correlation): untrained NTK-KRR .51 / .32 / .19, MLP .61 / .45 / .13,",
      "oracle .70 at p = 20 / 50 / 100\n")
}

## (3) network mode: seconds per training step (one KARE value + gradient through the
## factorised empirical NTK) against n and width; p = 100, depth 2 -------------------
if (!skip_cost && !nzchar(Sys.getenv("NTKGEN_BENCH_SKIP_NETWORK"))) {
  cat("\nNetwork mode, seconds per step (p = 100, depth 2; kernel O(n^2 w L), KARE O(n^3))\n")
  grid <- expand.grid(width = c(64L, 256L, 1024L), n = c(500L, 1000L, 2000L, 4000L))
  grid$seconds <- NA_real_
  for (i in seq_len(nrow(grid))) {
    nn <- grid$n[i]; w <- grid$width[i]
    Xs <- matrix(stats::rnorm(nn * 100), nn, 100)
    ys <- stats::rnorm(nn)
    wt <- ntkgen:::ntk_weights(100L, w, 2L)$flat
    grid$seconds[i] <- bench_time(.Call(ntkgen:::C_kare_network, Xs, wt, 2L, w, sqrt(2), 0,
                                        ys, matrix(1, nn, 1), 0.1, as.integer(thr), TRUE),
                                  reps = 2L)
  }
  print(stats::xtabs(seconds ~ n + width, grid), digits = 3)
  # analytic mode (scale map) per step against n, and the floor: one symmetric
  # eigendecomposition of an n x n matrix by R's LAPACK (eigen(), values and vectors)
  cat("\nAnalytic mode (scale map, p = 100, depth 2), seconds per step, against the",
      "LAPACK floor (eigen() of one n x n matrix)\n")
  ag <- data.frame(n = c(500L, 1000L, 2000L, 4000L))
  for (i in seq_len(nrow(ag))) {
    nn <- ag$n[i]
    Xs <- matrix(stats::rnorm(nn * 100), nn, 100)
    ys <- stats::rnorm(nn)
    ag$analytic[i] <- bench_time(.Call(ntkgen:::C_kare_analytic, Xs, 0L, rep(1, 100), 2L,
                                       sqrt(2), 0, ys, matrix(1, nn, 1), 0.1,
                                       as.integer(thr), TRUE), reps = 2L)
    S <- crossprod(matrix(stats::rnorm(nn * nn), nn)) / nn
    ag$eigen[i] <- bench_time(eigen(S, symmetric = TRUE), reps = 2L)
    rm(S)
  }
  ag$ratio <- ag$analytic / ag$eigen
  ag$network_w64_ratio <- grid$seconds[grid$width == 64L] / ag$eigen
  print(ag, digits = 3, row.names = FALSE)
  # accuracy of network mode on the Ricker case of (1), 80/20 split
  tr <- 1:800; te <- 801:1000
  set.seed(3)
  tn <- system.time(fn <- ntk_kare(G[tr, ], y[tr], depth = 2, width = 64, steps = 100,
                                   batch = 256, threads = thr))[["elapsed"]]
  set.seed(3)
  Kn0 <- ntk_kernel(G[tr, ], depth = 2, width = 64, threads = thr)
  pr <- function(K) predict(ntk_krr(y[tr], K, criterion = "kare", offset = "gls"),
                            newdata = G[te, ], threads = thr)
  cat(sprintf("network mode (width 64, depth 2, 100 steps, batches of 256): %.1f s; KARE %.3f -> %.3f; test r untrained %.3f, trained %.3f\n",
              tn, fn$kare_start[[1]], fn$kare[[1]], stats::cor(pr(Kn0), y[te]),
              stats::cor(pr(kare_kernel(fn, threads = thr)), y[te])))
}
