/* The one BLAS/LAPACK preamble of the core: Fortran character-length arguments
 * (USE_FC_LEN_T + FCONE, Writing R Extensions 6.6.1) and R's BLAS/LAPACK prototypes. */
#ifndef NTK_LAPACK_H
#define NTK_LAPACK_H
#ifndef USE_FC_LEN_T
#define USE_FC_LEN_T
#endif
#include <R_ext/BLAS.h>
#include <R_ext/Lapack.h>
#ifndef FCONE
#define FCONE
#endif
#endif
