/* Benchmark support: wall-clock timing and the memcpy baseline. Figures are
 * ratios against a baseline measured in the same run, since these machines
 * are noisy; each figure is the best of several repetitions. */
#ifndef FP8_BENCH_UTIL_H
#define FP8_BENCH_UTIL_H

#include <stddef.h>

double bench_now(void);
/* Best-of-`reps` seconds for fn(ctx). */
double bench_best(int reps, void (*fn)(void *), void *ctx);
/* Bytes moved per second (read + written) by memcpy of `bytes` bytes, split
 * into `threads` equal parts copied concurrently (1: plain memcpy). */
double bench_memcpy_rate(size_t bytes, int reps, unsigned threads);
/* Allocates and touches `bytes` (so page faults stay out of the timings); NULL on failure. */
void *bench_alloc(size_t bytes);

#endif
