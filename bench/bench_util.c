#define _POSIX_C_SOURCE 200809L
#include "bench_util.h"

#include "fp8.h"

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

struct bench_copy {
    char *dst;
    const char *src;
    size_t bytes;
    unsigned threads;
};

bench_copy *bench_copy_new(size_t bytes)
{
    bench_copy *c = malloc(sizeof *c);
    if (!c) return NULL;
    *c = (bench_copy){bench_alloc(bytes), bench_alloc(bytes), bytes, 1};
    if (!c->dst || !c->src) {
        bench_copy_free(c);
        return NULL;
    }
    return c;
}

void bench_copy_free(bench_copy *c)
{
    if (!c) return;
    free(c->dst);
    free((void *)c->src);
    free(c);
}

static void run_copy(void *ctx)
{
    bench_copy *j = ctx;
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

static double seconds_of(void (*fn)(void *), void *ctx)
{
    const double t0 = bench_now();
    fn(ctx);
    return bench_now() - t0;
}

static void keep_least(double *best, double t)
{
    if (t < *best) *best = t;
}

bench_row bench_against_memcpy(int reps, void (*fn)(void *), void *ctx, bench_copy *copy)
{
    const unsigned all = fp8_num_threads();
    double t1 = 1e300, tn = 1e300, c1 = 1e300, cn = 1e300;
    for (int r = 0; r < reps; r++) {
        copy->threads = 1;
        keep_least(&c1, seconds_of(run_copy, copy));
        fp8_set_num_threads(1);
        keep_least(&t1, seconds_of(fn, ctx));
        copy->threads = all;
        keep_least(&cn, seconds_of(run_copy, copy));
        fp8_set_num_threads(0);
        keep_least(&tn, seconds_of(fn, ctx));
    }
    const double moved = 2.0 * (double)copy->bytes;
    return (bench_row){t1, tn, moved / c1, moved / cn};
}
