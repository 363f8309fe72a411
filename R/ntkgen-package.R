#' ntkgen: Neural Tangent Kernels for Genetic Risk Prediction
#'
#' Neural tangent kernels (NTK) of fully connected ReLU networks over genotype
#' matrices ([ntk_kernel()], [grm()]), with a C core, OpenMP and an optional CUDA
#' path, feeding a linear mixed model and kernel ridge regression.
#'
#' Options:
#' * `ntkgen.threads`: default number of threads of the compiled code (default:
#'   all processors, or 2 under `R CMD check`).
#' * `ntkgen.max_kernel_gb`: the most memory, in GB (default 16), that one call of a
#'   routine allocating O(n^2) or more may need: [ntk_kernel()], [grm()],
#'   [ntk_kernel_like()], [ntk_spectral()], [ntk_lmm()], [ntk_krr()], [mlp_fit()],
#'   [ntk_kare()], [kare_kernel()], [read_plink()], the kernels streamed from PLINK
#'   filesets, [ntk_cv()] and [ntk_study()].  Each estimates its peak before allocating
#'   and refuses a larger one with an error giving the size needed (the estimates are
#'   checked against measured peaks by `inst/bench/memory.R`).
#' * `ntkgen.plink_block`: SNPs per block when a kernel is streamed from a PLINK
#'   `.bed` (default 1024); the work space is about `16 * n * block` bytes.
#'
#' Interrupts: every long computation polls for Ctrl-C (Esc in RStudio) between blocks
#' of its work, so it stops within about a second, releases the memory it held and
#' signals R's own `interrupt` condition: [ntk_study()] and [ntk_cv()] stop as a whole
#' rather than record the interrupted fit as failed, and [ntk_kare()] returns nothing
#' half-trained. The blocks: columns of the kernel (and, for a finite-width network, rows
#' of its forward and backward passes, each a few GFLOP), SNP blocks of a PLINK file,
#' folds and traits of a cross-validation, iterations of REML / MINQUE and of the MLP's
#' epochs, layers and steps of KARE training. The exception is a single LAPACK call,
#' which cannot be interrupted: the one decomposition of the kernel that [ntk_lmm()],
#' [ntk_krr()] and [ntk_spectral()] make (a tridiagonal or band reduction, or a full
#' eigendecomposition for `ntk_spectral(method = "eigen")` and the leave-one-out
#' criterion of [ntk_krr()]) runs to its end first: seconds at n = 4000 for the band
#' reduction, tens of seconds at n = 4000-5000 for an eigendecomposition, on 2 cores.
#' Latencies measured by `inst/bench/interrupt.R`.
#'
#' @keywords internal
#' @useDynLib ntkgen, .registration = TRUE, .fixes = "C_"
"_PACKAGE"
