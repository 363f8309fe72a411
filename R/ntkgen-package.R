#' ntkgen: Neural Tangent Kernels for Genetic Risk Prediction
#'
#' Neural tangent kernels (NTK) of fully connected ReLU networks over genotype
#' matrices ([ntk_kernel()], [grm()]), with a C core, OpenMP and an optional CUDA
#' path, feeding a linear mixed model and kernel ridge regression.
#'
#' Options:
#' * `ntkgen.threads`: default number of threads of the compiled code (default:
#'   all processors, or 2 under `R CMD check`).
#' * `ntkgen.max_kernel_gb`: the largest kernel [ntk_kernel()] and [grm()] will
#'   allocate, in GB (default 16); larger requests are refused before allocating.
#' * `ntkgen.plink_block`: SNPs per block when a kernel is streamed from a PLINK
#'   `.bed` (default 1024); the work space is about `16 * n * block` bytes.
#'
#' @keywords internal
#' @useDynLib ntkgen, .registration = TRUE, .fixes = "C_"
"_PACKAGE"
