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
#' @keywords internal
#' @useDynLib ntkgen, .registration = TRUE, .fixes = "C_"
"_PACKAGE"
