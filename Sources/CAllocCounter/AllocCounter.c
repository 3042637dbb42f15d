// Counting replacements for the glibc allocation entry points, linked only into gateway-bench.
//
// An executable that defines `malloc` & co. interposes them for the whole process (libswiftCore,
// Foundation and libc itself resolve these symbols to the executable first). Each wrapper forwards to
// glibc's own allocator through its exported `__libc_*` aliases, so the allocator is unchanged: memory from
// any entry point can be freed by any other. No dlsym (which itself allocates), no LD_PRELOAD, no hooks.
// The counters are relaxed atomics: exact totals, no ordering needed, a few ns per call.
#include "CAllocCounter.h"

#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *pointer, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);
extern void *__libc_valloc(size_t size);
extern void __libc_free(void *pointer);

static _Atomic uint64_t allocations;
static _Atomic uint64_t frees;

static inline void *counted(void *pointer) {
    if (pointer != NULL) atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
    return pointer;
}

uint64_t alloc_counter_allocations(void) { return atomic_load_explicit(&allocations, memory_order_relaxed); }
uint64_t alloc_counter_frees(void) { return atomic_load_explicit(&frees, memory_order_relaxed); }

void *malloc(size_t size) { return counted(__libc_malloc(size)); }

void *calloc(size_t count, size_t size) { return counted(__libc_calloc(count, size)); }

void *realloc(void *pointer, size_t size) { return counted(__libc_realloc(pointer, size)); }

void *memalign(size_t alignment, size_t size) { return counted(__libc_memalign(alignment, size)); }

void *aligned_alloc(size_t alignment, size_t size) { return counted(__libc_memalign(alignment, size)); }

void *valloc(size_t size) { return counted(__libc_valloc(size)); }

int posix_memalign(void **out, size_t alignment, size_t size) {
    // Same contract as glibc: alignment must be a power of two multiple of sizeof(void *).
    if (alignment % sizeof(void *) != 0 || (alignment & (alignment - 1)) != 0 || alignment == 0) return EINVAL;
    void *pointer = __libc_memalign(alignment, size);
    if (pointer == NULL) return ENOMEM;
    *out = counted(pointer);
    return 0;
}

void free(void *pointer) {
    if (pointer == NULL) return;
    atomic_fetch_add_explicit(&frees, 1, memory_order_relaxed);
    __libc_free(pointer);
}
