/* libfp8: threads for large array work. */
#include "core/parallel.h"

#include <stdatomic.h>
#include <stdlib.h>

#include "core/internal.h"
#include "fp8/cpu.h"

#ifdef _OPENMP
#include <omp.h>
#endif

static _Atomic unsigned requested_threads; /* 0: the default */

static unsigned default_threads(void)
{
    const char *env = getenv("FP8_NUM_THREADS");
    if (env != NULL) {
        char *end;
        const long v = strtol(env, &end, 10);
        if (end != env && *end == '\0' && v >= 1 && v <= 4096) return (unsigned)v;
    }
#ifdef _OPENMP
    return (unsigned)omp_get_max_threads();
#else
    return 1;
#endif
}

unsigned fp8_num_threads(void)
{
#ifdef _OPENMP
    const unsigned n = atomic_load_explicit(&requested_threads, memory_order_relaxed);
    return n != 0 ? n : default_threads();
#else
    return 1;
#endif
}

fp8_status fp8_set_num_threads(unsigned n)
{
    FP8_RETURN_IF(n > 4096, FP8_ERR_INVALID_ARGUMENT);
    atomic_store_explicit(&requested_threads, n, memory_order_relaxed);
    return FP8_OK;
}

void fp8_parallel_for(size_t n, size_t grain, size_t min_parallel, fp8_range_fn fn, void *ctx)
{
    const unsigned threads = fp8_num_threads();
    if (threads <= 1 || n < min_parallel || n <= grain) {
        fn(ctx, 0, n);
        return;
    }
    const size_t per_thread = ((n + threads - 1) / threads + grain - 1) / grain * grain;
    const long chunks = (long)((n + per_thread - 1) / per_thread);
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(static)
#endif
    for (long c = 0; c < chunks; c++) {
        const size_t begin = (size_t)c * per_thread;
        const size_t end = n - begin < per_thread ? n : begin + per_thread;
        fn(ctx, begin, end);
    }
}
