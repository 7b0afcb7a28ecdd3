/* libfp8 internal: splitting large array work over threads (OpenMP where the
 * build has it). Chunks depend only on n, grain and the thread count, and
 * every kernel is elementwise, so results never depend on the split. */
#ifndef FP8_CORE_PARALLEL_H
#define FP8_CORE_PARALLEL_H

#include <stddef.h>

typedef void (*fp8_range_fn)(void *ctx, size_t begin, size_t end);

/* Runs fn over [0, n) in chunks whose starts are multiples of `grain`: on one
 * thread when n < min_parallel or only one thread is allowed, else on up to
 * fp8_num_threads() threads. */
void fp8_parallel_for(size_t n, size_t grain, size_t min_parallel, fp8_range_fn fn, void *ctx);

#endif
