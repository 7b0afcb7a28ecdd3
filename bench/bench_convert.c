/* Conversion throughput against memcpy (bytes moved: read + written), on one
 * thread and on all of fp8_num_threads(), and against a loop over
 * cuda_fp8.h's __nv_cvt_float_to_fp8, all in one run.
 * Usage: bench_convert [log2_elements (default 26)] [repetitions (default 5)] */
#include <stdio.h>
#include <stdlib.h>

#include "bench_util.h"
#include "fp8.h"
#ifdef FP8_HAVE_CUDA_ORACLE
#include "oracle/cuda_oracle.h"
#endif

typedef struct {
    size_t n;
    float *f32;
    uint16_t *u16;
    uint8_t *q;
    uint64_t seed;
} job;

static void encode_f32(void *c) { job *j = c; fp8_encode_f32(j->q, j->f32, j->n, FP8_E4M3, FP8_SATFINITE); }
static void encode_bf16(void *c) { job *j = c; fp8_encode_bf16(j->q, j->u16, j->n, FP8_E4M3, FP8_SATFINITE); }
static void encode_f16(void *c) { job *j = c; fp8_encode_f16(j->q, j->u16, j->n, FP8_E4M3, FP8_SATFINITE); }
static void encode_sr(void *c) { job *j = c; fp8_encode_f32_sr(j->q, j->f32, j->n, FP8_E4M3, FP8_SATFINITE, j->seed++, 0); }
static void decode_f32(void *c) { job *j = c; fp8_decode_f32(j->f32, j->q, j->n, FP8_E4M3); }
static void decode_bf16(void *c) { job *j = c; fp8_decode_bf16(j->u16, j->q, j->n, FP8_E4M3); }
#ifdef FP8_HAVE_CUDA_ORACLE
static void nv_loop(void *c)
{
    job *j = c;
    cuda_oracle_from_f32_array(j->q, j->f32, j->n, 0, 0);
}
#endif

typedef struct {
    const char *name;
    void (*fn)(void *);
    unsigned bytes_per_element; /* read + written */
} kernel;

int main(int argc, char **argv)
{
    const int log2n = argc > 1 ? atoi(argv[1]) : 26;
    const int reps = argc > 2 ? atoi(argv[2]) : 5;
    if (log2n < 10 || log2n > 30 || reps < 1) {
        fprintf(stderr, "usage: bench_convert [log2_elements 10..30] [repetitions >= 1]\n");
        return 2;
    }
    job j = {.n = (size_t)1 << log2n, .seed = 1};
    j.f32 = bench_alloc(j.n * 4);
    j.u16 = bench_alloc(j.n * 2);
    j.q = bench_alloc(j.n);
    if (!j.f32 || !j.u16 || !j.q) {
        fprintf(stderr, "bench_convert: out of memory\n");
        return 1;
    }
    uint64_t s = 88172645463325252ull;
    for (size_t i = 0; i < j.n; i++) { /* values spread over E4M3's range, some beyond */
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        j.f32[i] = (float)((double)(int32_t)(s >> 32) * 0x1p-31 * 600.0);
        j.u16[i] = (uint16_t)(s >> 16);
    }

    bench_copy *copy = bench_copy_new(j.n * 4);
    if (!copy) {
        fprintf(stderr, "bench_convert: out of memory\n");
        return 1;
    }
    const unsigned threads = fp8_num_threads();
    printf("libfp8 %s, CPU path %s, n = 2^%d, best of %d, %u threads\n", fp8_version_string(),
           fp8_cpu_isa_name(fp8_cpu_isa_active()), log2n, reps, threads);
    printf("each row alternates its kernel with a memcpy of %zu MiB on as many threads;\n"
           "rates are bytes moved (read + written), ratios are to the memcpy of the same row\n\n",
           j.n * 4 >> 20);
    printf("%-26s | %8s %8s %9s | %8s %9s %9s | %15s\n", "E4M3, SATFINITE", "1 thread", "GB/s", "x memcpy", "all",
           "x memcpy", "x memcpy", "memcpy GB/s");
    printf("%-26s | %8s %8s %9s | %8s %9s %9s | %15s\n", "", "ns/elem", "", "1 thread", "GB/s", "1 thread", "all",
           "1 thread, all");
    const kernel kernels[] = {
        {"encode f32 -> e4m3", encode_f32, 5},      {"encode bf16 -> e4m3", encode_bf16, 3},
        {"encode f16 -> e4m3", encode_f16, 3},      {"encode f32 -> e4m3 (SR)", encode_sr, 5},
        {"decode e4m3 -> f32", decode_f32, 5},      {"decode e4m3 -> bf16", decode_bf16, 3},
    };
    double t_encode_1 = 0, t_encode_n = 0, memcpy_1 = 0;
    for (size_t k = 0; k < sizeof kernels / sizeof kernels[0]; k++) {
        const bench_row b = bench_against_memcpy(reps, kernels[k].fn, &j, copy);
        if (k == 0) t_encode_1 = b.seconds_1, t_encode_n = b.seconds_all, memcpy_1 = b.memcpy_1;
        const double r1 = (double)kernels[k].bytes_per_element * (double)j.n / b.seconds_1;
        const double rn = (double)kernels[k].bytes_per_element * (double)j.n / b.seconds_all;
        printf("%-26s | %8.3f %8.2f %9.2f | %8.2f %9.2f %9.2f | %7.2f %7.2f\n", kernels[k].name,
               1e9 * b.seconds_1 / (double)j.n, r1 / 1e9, r1 / b.memcpy_1, rn / 1e9, rn / b.memcpy_1,
               rn / b.memcpy_all, b.memcpy_1 / 1e9, b.memcpy_all / 1e9);
    }
    bench_copy_free(copy);
    fp8_cpu_set_max_isa(FP8_CPU_ISA_SCALAR);
    fp8_set_num_threads(1);
    const double t_scalar = bench_best(reps, encode_f32, &j);
    fp8_set_num_threads(0);
    fp8_cpu_set_max_isa(fp8_cpu_isa_supported());
    printf("%-26s | %8.3f %8.2f %9.2f |  (to the first row's memcpy)\n", "encode f32 -> e4m3, scalar",
           1e9 * t_scalar / (double)j.n, 5.0 * (double)j.n / t_scalar / 1e9, 5.0 * (double)j.n / t_scalar / memcpy_1);
#ifdef FP8_HAVE_CUDA_ORACLE
    const double t_nv = bench_best(reps < 2 ? reps : 2, nv_loop, &j);
    printf("\nloop over __nv_cvt_float_to_fp8: %.3f ns/elem; fp8_encode_f32 is %.1fx faster on 1 thread, %.1fx on %u\n",
           1e9 * t_nv / (double)j.n, t_nv / t_encode_1, t_nv / t_encode_n, threads);
#else
    printf("\ncuda_fp8.h not found: no comparison with __nv_cvt_float_to_fp8\n");
#endif
    free(j.f32);
    free(j.u16);
    free(j.q);
    return 0;
}
