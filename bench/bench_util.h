/* Benchmark support: wall-clock timing and the memcpy baseline. Figures are
 * ratios against a baseline measured in the same run, since these machines
 * are noisy; each figure is the best of several repetitions. */
#ifndef FP8_BENCH_UTIL_H
#define FP8_BENCH_UTIL_H

#include <stddef.h>

double bench_now(void);
/* Best-of-`reps` seconds for fn(ctx). */
double bench_best(int reps, void (*fn)(void *), void *ctx);
/* The memcpy baseline of a bandwidth table: a source and a destination of `bytes` bytes. */
typedef struct bench_copy bench_copy;
bench_copy *bench_copy_new(size_t bytes); /* NULL when out of memory */
void bench_copy_free(bench_copy *copy);

/* One row of a bandwidth table: fn(ctx) timed on one thread and on all (fp8_set_num_threads),
 * each alternated with a memcpy on as many threads (the copy split into equal parts), so that a
 * kernel and its baseline see the same state of a noisy machine. Seconds are best of `reps`;
 * memcpy rates are bytes moved (read + written) per second. */
typedef struct bench_row {
    double seconds_1, seconds_all;
    double memcpy_1, memcpy_all;
} bench_row;
bench_row bench_against_memcpy(int reps, void (*fn)(void *), void *ctx, bench_copy *copy);
/* Allocates and touches `bytes` (so page faults stay out of the timings); NULL on failure. */
void *bench_alloc(size_t bytes);

#endif
