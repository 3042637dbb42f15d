#ifndef C_ALLOC_COUNTER_H
#define C_ALLOC_COUNTER_H

#include <stdint.h>

/// Number of successful allocation calls (malloc, calloc, realloc, posix_memalign, aligned_alloc, memalign,
/// valloc) made by any thread of this process since it started. Monotonic; take deltas.
uint64_t alloc_counter_allocations(void);

/// Number of free calls with a non-NULL pointer since the process started.
uint64_t alloc_counter_frees(void);

#endif
