#ifndef RNN_COPENBLAS_SHIM_H
#define RNN_COPENBLAS_SHIM_H
#include <cblas.h>
/* OpenBLAS-specific thread control (declared in OpenBLAS's cblas.h). */
#endif
