# KARE-trained NTKs (ntk_kare): (1) the cost of one analytic-mode step and of one fit at
# n = 1000, p = 100 (target: <= 10 s on 2 cores); (2) a small Ricker study, n = 1000,
# p = 20 / 50 / 100, 80/20 splits: untrained NTK-KRR, KARE-trained NTK (scale map), the
# MLP and GBLUP, median test correlation and seconds per fit.
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
# Loader, threads and the machine line: common.R.
args <- commandArgs(trailingOnly = TRUE)
reps <- if (length(args) >= 1L) as.integer(args[1L]) else 3L
steps <- if (length(args) >= 2L) as.integer(args[2L]) else 30L
depth <- if (length(args) >= 3L) eval(parse(text = args[3L])) else 2L
batch <- if (length(args) >= 4L && args[4L] != "full") as.integer(args[4L]) else
  if (length(args) >= 4L) NULL else 256L
maps <- strsplit(if (length(args) >= 5L) args[5L] else "scale,projection", ",")[[1L]]
model <- if (length(args) >= 6L) args[6L] else "ricker"
bench_dir <- local({
  f <- grep("^--file=", commandArgs(FALSE), value = TRUE)
  if (length(f)) dirname(gsub("~+~", " ", sub("^--file=", "", f[1L]), fixed = TRUE))
  else Sys.getenv("NTKGEN_BENCH_DIR", system.file("bench", package = "ntkgen"))
})
source(file.path(bench_dir, "common.R"))  # loader, bench_time(), bench_machine(), threads
thr <- bench_threads(2L)
bench_machine(threads = thr)

## (1) cost ---------------------------------------------------------------------------
set.seed(1)
G <- simulate_genotypes(1000, 100)
y <- as.numeric(simulate_phenotype(G, "ricker", h2 = 0.5, causal = 10))
t_step <- bench_time(
  fit1 <- ntk_kare(G, y, depth = 2, steps = 1, threads = thr),
  reps = min(bench_reps, 3L))
cat(sprintf("n = 1000, p = 100: ntk_kare(depth = 2, steps = 1) %.2f s (two full evaluations: start + 1 step)\n",
            t_step))
bl <- if (is.null(batch)) "full" else batch
for (b in unique(list(batch, NULL))) {
  sb <- if (is.null(b)) min(steps, 30L) else steps   # full batch: O(n^3) a step
  t_fit <- bench_time(fit <- ntk_kare(G, y, depth = depth, steps = sb, batch = b,
                                      threads = thr), reps = 1L)
  cat(sprintf("n = 1000, p = 100: ntk_kare(depth = %s, steps = %d, batch = %s) %.2f s; KARE %.4f -> %.4f\n",
              deparse(depth), sb, if (is.null(b)) "NULL" else b, t_fit,
              fit$kare_start[[fit$chosen]], fit$kare[[fit$chosen]]))
}
cat("\n")

## (2) study --------------------------------------------------------------------------
t0 <- proc.time()[["elapsed"]]
st <- ntk_study(model = model, n = 1000, p = c(20, 50, 100), reps = reps, seed = 2024,
                methods = c("ntk_krr", "ntk_kare", "mlp", "gblup"), threads = thr,
                kare_args = list(depth = depth, steps = steps, batch = batch, map = maps,
                                 rank = 1:2),
                progress = FALSE)
total <- proc.time()[["elapsed"]] - t0
s <- summary(st)
cat(sprintf("%s study: n = 1000, %d replicate(s) per p, kare depth %s, maps %s, %d steps, batch %s, %.0f s in all\n",
            model, reps, deparse(depth), paste(maps, collapse = "+"), steps, bl, total))
wide <- function(what) round(ntkgen:::study_wide(s, what), 3)
cat("\nMedian test correlation (rows: method, columns: p)\n")
print(wide("cor_median"))
cat("\nMedian seconds per fit (NTK-KRR includes the kernel; NTK-KARE the training)\n")
print(wide("seconds_median"))
cat("\nIssue 10 (Ricker, median correlation): untrained NTK-KRR .51 / .32 / .19, MLP .61 / .45 / .13,",
    "oracle .70 at p = 20 / 50 / 100\n")
