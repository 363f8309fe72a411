# The main job of ntkgen on data it simulates: the NTK of a genotype matrix against the
# genomic relationship matrix, then a small version of the paper's comparison study.
suppressPackageStartupMessages(library(ntkgen))
threads <- as.integer(Sys.getenv("NTKGEN_THREADS", "2"))
options(ntkgen.threads = threads)
cat(sprintf("ntkgen %s | BLAS: %s | OpenMP: %s | CUDA: %s | threads: %d\n\n",
            packageVersion("ntkgen"), sub(".*/([^/]+/[^/]+)$", "\\1", sessionInfo()$BLAS),
            ntkgen_has_openmp(), ntkgen_has_cuda(device = TRUE), threads))

set.seed(2026)
n <- 2000; p <- 500
G <- simulate_genotypes(n, p, maf = c(0.05, 0.5), ld = 0.5)
cat(sprintf("Simulated genotypes: %d individuals x %d SNPs (0/1/2), mean MAF %.3f\n",
            n, p, mean(attr(G, "maf"))))

tm <- function(expr) { t0 <- proc.time()[["elapsed"]]; v <- expr; list(v, proc.time()[["elapsed"]] - t0) }
r_an  <- tm(ntk_kernel(G, depth = 3))
r_emp <- tm(ntk_kernel(G, depth = 3, width = 1024))
r_grm <- tm(grm(G))
K <- r_an[[1]]; Ke <- r_emp[[1]]; A <- r_grm[[1]]
off <- function(M) M[upper.tri(M)]
cat(sprintf("\n%-34s %10s %9s %12s %12s\n", "kernel", "size", "seconds", "mean diag", "cor(off, GRM)"))
row <- function(lab, M, s) cat(sprintf("%-34s %10s %9.2f %12.3f %12.3f\n", lab,
  paste(dim(M), collapse = "x"), s, mean(diag(M)), cor(off(M), off(A))))
row("NTK analytic (depth 3)", K, r_an[[2]])
row("NTK empirical (depth 3, width 1024)", Ke, r_emp[[2]])
row("GRM", A, r_grm[[2]])
cat(sprintf("relative Frobenius distance empirical vs analytic NTK: %.3f\n",
            norm(Ke - K, "F") / norm(K, "F")))

cat("\nA small version of the paper's study (Ricker link, h2 = 0.5, n = 1000, p = 20, 50, 100, 10 replicates):\n")
set.seed(1)
st <- ntk_study(model = "ricker", n = 1000, p = c(20, 50, 100), reps = 10,
                methods = c("ntk_lmm", "ntk_krr", "gblup", "mlp"))
print(summary(st))
