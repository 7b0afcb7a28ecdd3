#define _POSIX_C_SOURCE 200809L
#include "bench_util.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double bench_best(int reps, void (*fn)(void *), void *ctx)
{
    double best = 1e300;
    for (int r = 0; r < reps; r++) {
        const double t0 = bench_now();
        fn(ctx);
        const double t = bench_now() - t0;
        if (t < best) best = t;
    }
    return best;
}

void *bench_alloc(size_t bytes)
{
    void *p = aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (p) memset(p, 1, bytes);
    return p;
}

typedef struct {
    char *dst;
    const char *src;
    size_t bytes;
    unsigned threads;
} copy_job;

static void run_copy(void *ctx)
{
    copy_job *j = ctx;
    const size_t part = (j->bytes / j->threads + 63) / 64 * 64;
#ifdef _OPENMP
#pragma omp parallel for num_threads(j->threads) schedule(static)
#endif
    for (long t = 0; t < (long)j->threads; t++) {
        const size_t b = (size_t)t * part;
        if (b < j->bytes) memcpy(j->dst + b, j->src + b, j->bytes - b < part ? j->bytes - b : part);
    }
    __asm__ volatile("" ::"r"(j->dst) : "memory");
}

double bench_memcpy_rate(size_t bytes, int reps, unsigned threads)
{
    copy_job j = {bench_alloc(bytes), bench_alloc(bytes), bytes, threads ? threads : 1};
    if (!j.dst || !j.src) {
        free(j.dst);
        free((void *)j.src);
        return 0;
    }
    const double t = bench_best(reps, run_copy, &j);
    free(j.dst);
    free((void *)j.src);
    return 2.0 * (double)bytes / t;
}
