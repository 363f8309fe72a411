/* OpenMP guard (after data.table's myomp.h): stubs when compiled without OpenMP. */
#ifndef NTK_OMP_H
#define NTK_OMP_H
#ifdef _OPENMP
#include <omp.h>
#else
static inline int omp_get_thread_num(void) { return 0; }
static inline int omp_get_num_threads(void) { return 1; }
static inline int omp_get_max_threads(void) { return 1; }
static inline int omp_get_thread_limit(void) { return 1; }
static inline int omp_get_num_procs(void) { return 1; }
#endif
#endif
