/* Status codes and thread counts: core, no R. */
#include "ntkgen.h"
#include "ntk_omp.h"

const char *ntk_status_message(int status)
{
  switch (status) {
  case NTK_OK:                return "success";
  case NTK_ERR_ALLOC:         return "out of memory";
  case NTK_ERR_LAPACK:        return "a LAPACK routine failed";
  case NTK_ERR_NOT_PD:        return "matrix is not positive definite";
  case NTK_ERR_ARG:           return "invalid argument";
  case NTK_ERR_INTERRUPTED:   return "interrupted by the user";
  case NTK_ERR_CUDA:          return "a CUDA call failed";
  case NTK_ERR_NO_CUDA:       return "CUDA is not available in this build or on this machine";
  case NTK_ERR_IO:            return "file could not be read";
  case NTK_ERR_SINGULAR:      return "system is singular";
  case NTK_ERR_NONFINITE:     return "a non-finite value appeared";
  default:                    return "unknown error";
  }
}

int ntk_has_openmp(void)
{
#ifdef _OPENMP
  return 1;
#else
  return 0;
#endif
}

int ntk_threads(int requested)
{
  int t = requested < 1 ? 1 : requested;
#ifdef _OPENMP
  int lim = omp_get_thread_limit();
  int np = omp_get_num_procs();
  if (lim > 0 && t > lim) t = lim;
  if (np > 0 && t > np) t = np;
#else
  t = 1;
#endif
  return t;
}
