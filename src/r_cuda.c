/* .Call glue: CUDA availability. */
#include "r_util.h"

SEXP C_cuda_device_count(void)
{
#ifdef NTKGEN_CUDA
  return ScalarInteger(ntk_cuda_device_count());
#else
  return ScalarInteger(0);
#endif
}
