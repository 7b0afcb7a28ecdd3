/* FP8 GEMM throughput against OpenBLAS sgemm on the same shapes and thread
 * count, in one run: block-scaled (A 1x128, B 128x128) FP8 with FP32
 * accumulation at M = N = K = 2048 and at the skinny M = 128, N = 7168,
 * K = 2048; the BF16 baseline GEMM; the accumulator emulator's rate.
 * Usage: bench_gemm [repetitions (default 5)]
 * OpenBLAS picks its kernels from the CPU at load time; OPENBLAS_CORETYPE
 * (Haswell, SkylakeX, ...) overrides the choice (docs/performance.md). */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "fp8.h"

typedef struct {
    size_t M, N, K;
    fp8_qmatrix A, B;
    float *a32, *b32, *d;   /* the dequantized operands, for sgemm */
    uint16_t *a16, *b16;    /* BF16 copies, for the baseline */
    fp8_gemm_config cfg;
} problem;

/* Gaussian data as E4M3 codes of x * 64, every block's scale_inv 1/64: realistic codes (few
 * subnormals) without a quantizer. */
static void fill(uint8_t *q, float *x32, uint16_t *x16, size_t n, uint64_t *s)
{
    for (size_t i = 0; i < n; i++) {
        *s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
        const double u = ((double)(*s >> 11) + 0.5) * 0x1p-53, v = (double)((*s >> 3) & 0xFFFF) * 0x1p-16;
        q[i] = fp8_from_f32((float)(64.0 * sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v)), FP8_E4M3, FP8_SATFINITE);
        x32[i] = fp8_to_f32(q[i], FP8_E4M3) / 64.0f;
        uint32_t bits; /* BF16 holds x32 exactly: it is the upper half */
        memcpy(&bits, &x32[i], sizeof bits);
        x16[i] = (uint16_t)(bits >> 16);
    }
}

static int make_problem(problem *p, size_t M, size_t N, size_t K, uint64_t seed)
{
    p->M = M, p->N = N, p->K = K;
    uint8_t *qa = bench_alloc(M * K), *qb = bench_alloc(N * K);
    const size_t sa_count = M * ((K + 127) / 128), sb_count = ((N + 127) / 128) * ((K + 127) / 128);
    float *sa = bench_alloc(sa_count * sizeof(float)), *sb = bench_alloc(sb_count * sizeof(float));
    p->a32 = bench_alloc(M * K * sizeof(float)), p->b32 = bench_alloc(N * K * sizeof(float));
    p->a16 = bench_alloc(M * K * 2), p->b16 = bench_alloc(N * K * 2);
    p->d = bench_alloc(M * N * sizeof(float));
    if (!qa || !qb || !sa || !sb || !p->a32 || !p->b32 || !p->a16 || !p->b16 || !p->d) return -1;
    for (size_t i = 0; i < sa_count; i++) sa[i] = 1.0f / 64;
    for (size_t i = 0; i < sb_count; i++) sb[i] = 1.0f / 64;
    fill(qa, p->a32, p->a16, M * K, &seed);
    fill(qb, p->b32, p->b16, N * K, &seed);
    p->A = (fp8_qmatrix){qa, M, K, K, FP8_E4M3, sa, 1, 128};
    p->B = (fp8_qmatrix){qb, N, K, K, FP8_E4M3, sb, 128, 128};
    p->cfg = fp8_gemm_config_init();
    return 0;
}

static void free_problem(problem *p)
{
    free((void *)p->A.data), free((void *)p->B.data), free((void *)p->A.scale_inv), free((void *)p->B.scale_inv);
    free(p->a32), free(p->b32), free(p->a16), free(p->b16), free(p->d);
}

static void run_fp8(void *c)
{
    problem *p = c;
    if (fp8_gemm_f32(&p->cfg, &p->A, &p->B, p->d, p->N) != FP8_OK) abort();
}

static void run_bf16(void *c)
{
    problem *p = c;
    if (fp8_bf16_gemm_f32(&p->cfg, p->M, p->N, p->K, p->a16, p->K, p->b16, p->K, p->d, p->N) != FP8_OK) abort();
}

static void run_sgemm(void *c)
{
    problem *p = c;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)p->M, (int)p->N, (int)p->K, 1.0f, p->a32, (int)p->K,
                p->b32, (int)p->K, 0.0f, p->d, (int)p->N);
}

static double gflops(const problem *p, double seconds) { return 2.0 * (double)p->M * p->N * p->K / seconds / 1e9; }

/* Best-of-reps seconds of each, the repetitions interleaved so that both see the same machine. */
static void race(int reps, problem *p, void (*f)(void *), double *tf, void (*g)(void *), double *tg)
{
    *tf = *tg = 1e300;
    for (int r = 0; r < reps; r++) {
        const double a = bench_best(1, f, p), b = bench_best(1, g, p);
        *tf = a < *tf ? a : *tf;
        *tg = b < *tg ? b : *tg;
    }
}

int main(int argc, char **argv)
{
    const int reps = argc > 1 ? atoi(argv[1]) : 5;
    if (reps < 1) {
        fprintf(stderr, "usage: bench_gemm [repetitions >= 1]\n");
        return 2;
    }
    const unsigned threads = fp8_num_threads();
    openblas_set_num_threads((int)threads);
    printf("libfp8 %s, CPU path %s, %u threads; OpenBLAS %s core %s, %u threads; best of %d\n\n", fp8_version_string(),
           fp8_cpu_isa_name(fp8_cpu_isa_active()), threads, openblas_get_config(), openblas_get_corename(), threads,
           reps);
    printf("%-44s | %9s %9s | %9s %9s\n", "shape (A 1x128, B 128x128 E4M3 scales)", "ms", "GFLOP/s", "sgemm", "x sgemm");

    static const size_t shapes[][3] = {{2048, 2048, 2048}, {128, 7168, 2048}};
    for (size_t s = 0; s < 2; s++) {
        problem p;
        if (make_problem(&p, shapes[s][0], shapes[s][1], shapes[s][2], 88172645463325252ull + s) != 0) {
            fprintf(stderr, "bench_gemm: out of memory\n");
            return 1;
        }
        run_fp8(&p), run_sgemm(&p), run_bf16(&p); /* warm up: pages, thread pools */
        double t8, t32, t16, t32b;
        race(reps, &p, run_fp8, &t8, run_sgemm, &t32);
        race(reps, &p, run_bf16, &t16, run_sgemm, &t32b);
        t32 = t32b < t32 ? t32b : t32;
        char name[64];
        snprintf(name, sizeof name, "FP8 E4M3, FP32 accumulation, %zux%zux%zu", p.M, p.N, p.K);
        printf("%-44s | %9.2f %9.1f | %9.1f %9.2f\n", name, 1e3 * t8, gflops(&p, t8), gflops(&p, t32), t32 / t8);
        snprintf(name, sizeof name, "BF16 baseline, %zux%zux%zu", p.M, p.N, p.K);
        printf("%-44s | %9.2f %9.1f | %9.1f %9.2f\n", name, 1e3 * t16, gflops(&p, t16), gflops(&p, t32), t32 / t16);
        free_problem(&p);
    }

    /* The emulator: the products of a smaller problem through the modelled accumulator. */
    problem e;
    if (make_problem(&e, 192, 256, 2048, 42) != 0) return 1;
    printf("\naccumulator emulator, %zux%zux%zu, 14 bits, promotion every 128 (FP32 path on the same problem: ", e.M, e.N,
           e.K);
    const double t_fp32 = bench_best(reps, run_fp8, &e);
    printf("%.1f GFLOP/s)\n", gflops(&e, t_fp32));
    e.cfg.accum_bits = 14;
    for (int model = 0; model < 2; model++) {
        e.cfg.accum_model = (fp8_accum_model)model;
        const double t = bench_best(reps < 3 ? reps : 3, run_fp8, &e);
        printf("  %-28s %9.2f ms %9.3f GFLOP/s %9.1f ns per product per thread, %.0fx the FP32 path's time\n",
               model == FP8_ACCUM_ALIGN_WITH_SUM ? "FP8_ACCUM_ALIGN_WITH_SUM" : "FP8_ACCUM_ALIGN_PRODUCTS", 1e3 * t,
               gflops(&e, t), 1e9 * t * threads / ((double)e.M * e.N * e.K), t / t_fp32);
    }
    free_problem(&e);
    return 0;
}
