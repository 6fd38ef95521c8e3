#ifndef CDNNL_SHIM_H
#define CDNNL_SHIM_H
#include <oneapi/dnnl/dnnl.h>

// DNNL_MEMORY_ALLOCATE is a cast macro that Swift cannot import.
static inline void *cdnnl_memory_allocate(void) { return DNNL_MEMORY_ALLOCATE; }

// libgomp's OpenMP API (omp.h is not on the default include path for Swift).
int omp_get_max_threads(void);
void omp_set_num_threads(int);
#endif
