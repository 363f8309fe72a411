#' What this build of ntkgen supports
#'
#' `ntkgen_has_openmp()` reports whether the compiled code was built with OpenMP,
#' `ntkgen_has_cuda()` whether the CUDA path was compiled in (see the `configure`
#' switches in the README) and, with `device = TRUE`, whether a CUDA device is also
#' present now.
#'
#' @param device logical; also require a usable CUDA device on this machine.
#' @return A single logical.
#' @examples
#' ntkgen_has_openmp()
#' ntkgen_has_cuda()
#' @export
ntkgen_has_openmp <- function() {
  .Call(C_build_info)[1L]
}

#' @rdname ntkgen_has_openmp
#' @export
ntkgen_has_cuda <- function(device = FALSE) {
  device <- check_flag(device, "device")
  compiled <- .Call(C_build_info)[2L]
  if (!isTRUE(device) || !compiled) return(compiled)
  cuda_device_count() > 0L
}

# Number of CUDA devices visible now (0 without CUDA support compiled in).
cuda_device_count <- function() {
  if (!.Call(C_build_info)[2L]) return(0L)
  .Call(C_cuda_device_count)
}

# Default thread count: option `ntkgen.threads`, else all processors (2 under R CMD
# check, which limits cores through _R_CHECK_LIMIT_CORES_).
default_threads <- function() {
  opt <- getOption("ntkgen.threads")
  if (!is.null(opt)) return(as.integer(opt))
  if (nzchar(Sys.getenv("_R_CHECK_LIMIT_CORES_")) ||
      identical(Sys.getenv("NOT_CRAN"), "false")) return(2L)
  as.integer(.Call(C_max_threads))
}
