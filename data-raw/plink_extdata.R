# Makes the small simulated PLINK fileset shipped in inst/extdata (sim.bed / .bim / .fam,
# 300 individuals x 1000 SNPs with about 1% missing genotypes, and the phenotype /
# covariate file sim.pheno).  Run from the package root with ntkgen installed:
#   Rscript data-raw/plink_extdata.R
library(ntkgen)
set.seed(2024)
n <- 300
p <- 1000
G <- simulate_genotypes(n, p, maf = c(0.05, 0.5), ld = 0.6)
y <- simulate_phenotype(G, "hyperbolic", h2 = 0.6, causal = 50)
age <- round(stats::runif(n, 20, 70))
y <- as.numeric(y) + 0.02 * (age - 45)
Gm <- G
attributes(Gm) <- list(dim = dim(G))
Gm[sample(length(Gm), round(0.01 * length(Gm)))] <- NA   # 1% missing at random
fid <- sprintf("fam%03d", (seq_len(n) + 1) %/% 2)       # pairs of individuals per family
iid <- sprintf("ind%03d", seq_len(n))
bim <- data.frame(chr = rep(1:2, each = p / 2), snp = sprintf("rs%04d", seq_len(p)),
                  cm = 0, pos = rep(seq(1000, by = 1500, length.out = p / 2), 2),
                  a1 = sample(c("A", "C"), p, TRUE), a2 = sample(c("G", "T"), p, TRUE))
fam <- data.frame(fid = fid, iid = iid, father = 0, mother = 0,
                  sex = sample(1:2, n, TRUE), pheno = round(y, 4))
write_plink("inst/extdata/sim", Gm, bim = bim, fam = fam)
ph <- data.frame(FID = fid, IID = iid, y = round(y, 4),
                 case = ifelse(y > stats::quantile(y, 0.7), 2, 1), age = age)
ph$y[c(5, 77)] <- -9                                     # two missing phenotypes
utils::write.table(ph, "inst/extdata/sim.pheno", quote = FALSE, row.names = FALSE)
