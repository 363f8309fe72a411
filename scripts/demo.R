# The main job of ntkgen on data it simulates: the NTK of a genotype matrix against the
# genomic relationship matrix, then a small version of the paper's comparison study.
suppressPackageStartupMessages(library(ntkgen))
threads <- as.integer(Sys.getenv("NTKGEN_THREADS", "2"))
options(ntkgen.threads = threads)
cat(sprintf("ntkgen %s | BLAS: %s | OpenMP: %s | CUDA: %s | threads: %d\n\n",
            packageVersion("ntkgen"), sub(".*/([^/]+/[^/]+)$", "\\1", sessionInfo()$BLAS),
            ntkgen_has_openmp(), ntkgen_has_cuda(device = TRUE), threads))

# ---- 1. a PLINK fileset: the genotypes a geneticist has (shipped: 300 x 1000, simulated)
prefix <- sub("\\.bed$", "", system.file("extdata", "sim.bed", package = "ntkgen"))
h <- plink_open(prefix)
print(h)
qc <- plink_qc(h, maf = 0.01, geno = 0.1, mind = 0.1, hwe = 1e-6)
print(qc$qc)
ph <- read_pheno(qc, paste0(prefix, ".pheno"))        # FID IID y case age, matched by ID
K <- suppressMessages(ntk_kernel(qc, depth = 2))      # streamed from the .bed, SNP blocks
fit <- ntk_lmm(ph$y, K, X = ph$age, method = "reml")
cat("\nNTK-LMM (REML) of the phenotype y with age as a covariate, kernel streamed from the .bed:\n")
print(summary(fit))
cat("\nFive-fold cross-validation on the same individuals (test correlation; kernels once over all):\n")
set.seed(3)
G <- read_plink(qc)$genotypes
print(ntk_cv(G, ph$y, X = ph$age, methods = c("gblup", "ntk_lmm", "ntk_krr", "rkhs"),
             nfolds = 5, progress = FALSE))

# ---- 2. kernels of a larger simulated cohort
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
cat("(mean diag: the kernel's scale; cor(off, GRM): correlation of its off-diagonal entries\n",
    " with the genomic relationship matrix's, i.e. how far it ranks pairs like the GRM)\n", sep = "")
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
