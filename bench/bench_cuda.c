/* The CUDA backend's checks on a real GPU, as one table (bench/gpu-check.sh
 * runs it after the CUDA tests):
 *   1. bit-equality of GPU and CPU conversion and quantization on random data;
 *   2. quantization bandwidth as a fraction of a device-to-device copy measured
 *      in the same run (4096 x 7168, FP32 and BF16 input, 1x128 and 128x128);
 *   3. FP8 block-scaled GEMM TFLOP/s (1x128 x 128x128 scales, BF16 out,
 *      4096 x 7168 x 16384) beside cuBLASLt's BF16 GEMM on the same shape;
 *   4. the own mma.sync and wgmma kernels' TFLOP/s, and their error against the
 *      promotion interval (positive-mean inputs, K = 4096, against FP64)
 *      beside the CPU emulator's (fp8_gemm_f32, accum_bits 14, both models),
 *      and cuBLASLt's own error with and without fast accumulation;
 *   5. one training step (forward + backward) of a 7168 -> 7168 linear layer
 *      on 4096 tokens, BF16 recipe against the DeepSeek and per-tensor ones.
 * GPU times are the best of several runs, timed with CUDA events; the
 * bandwidth rows time batches of calls (gpu_time).
 * Without a device it says so and exits 77.
 * Usage: bench_cuda [repetitions (default 5)] */
#include <cuda_runtime_api.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fp8.h"
#include "fp8/cuda.h"

#define SKIP_EXIT_CODE 77

static int reps = 5;
static int differences, failures, goals_missed; /* differences and failed calls make the exit status 1 */

/* ---- plumbing ---- */

static void check_cuda(cudaError_t e, const char *what)
{
    if (e != cudaSuccess) {
        fprintf(stderr, "bench_cuda: %s: %s\n", what, cudaGetErrorString(e));
        exit(1);
    }
}

static void *dev_alloc(size_t bytes)
{
    void *p = NULL;
    check_cuda(cudaMalloc(&p, bytes), "cudaMalloc");
    return p;
}

static void *dev_copy_of(const void *host, size_t bytes)
{
    void *p = dev_alloc(bytes);
    check_cuda(cudaMemcpy(p, host, bytes, cudaMemcpyHostToDevice), "cudaMemcpy");
    return p;
}

static void *host_copy_of(const void *dev, size_t bytes)
{
    void *p = malloc(bytes);
    check_cuda(cudaDeviceSynchronize(), "device");
    check_cuda(cudaMemcpy(p, dev, bytes, cudaMemcpyDeviceToHost), "cudaMemcpy");
    return p;
}

typedef fp8_status (*gpu_op)(void *ctx);

/* Seconds per call of op on the default stream: the best of reps timings of
 * `batch` calls back to back (one untimed warm-up call first); a negative
 * time when op fails (fp8_cuda_last_error() says why). Short operations are
 * timed in batches, as a training step queues them: one launch timed alone
 * also counts the host's launch latency, a few microseconds. */
static double gpu_time(gpu_op op, void *ctx, int batch)
{
    if (op(ctx) != FP8_OK) return -1;
    cudaEvent_t start, stop;
    check_cuda(cudaEventCreate(&start), "cudaEventCreate");
    check_cuda(cudaEventCreate(&stop), "cudaEventCreate");
    double best = 1e300;
    for (int r = 0; r < reps; r++) {
        check_cuda(cudaEventRecord(start, NULL), "cudaEventRecord");
        for (int b = 0; b < batch; b++)
            if (op(ctx) != FP8_OK) return -1;
        check_cuda(cudaEventRecord(stop, NULL), "cudaEventRecord");
        check_cuda(cudaEventSynchronize(stop), "cudaEventSynchronize");
        float ms = 0;
        check_cuda(cudaEventElapsedTime(&ms, start, stop), "cudaEventElapsedTime");
        if (ms * 1e-3 / batch < best) best = ms * 1e-3 / batch;
    }
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
    return best;
}

static uint64_t rng_state = 88172645463325252ull;
static uint32_t rng_u32(void)
{
    rng_state ^= rng_state << 13, rng_state ^= rng_state >> 7, rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 32);
}
static double rng_uniform(void) { return (double)(rng_u32() >> 8) * 0x1p-24; }
static double rng_normal(void)
{
    return sqrt(-2 * log(rng_uniform() + 0x1p-30)) * cos(6.283185307179586 * rng_uniform());
}

/* Rows of different magnitudes (so the blocks' scales differ), a few values beyond E4M3's range. */
static float *random_matrix(size_t rows, size_t cols)
{
    float *x = malloc(rows * cols * sizeof *x);
    for (size_t r = 0; r < rows; r++) {
        const double scale = ldexp(1.0, (int)(rng_u32() % 24) - 12);
        for (size_t c = 0; c < cols; c++) x[r * cols + c] = (float)(rng_normal() * scale);
    }
    return x;
}

static uint16_t *to_bf16(const float *x, size_t n)
{
    uint16_t *b = malloc(n * sizeof *b);
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &x[i], 4);
        b[i] = (uint16_t)(u >> 16);
    }
    return b;
}

static void row(const char *check, const char *result, const char *goal)
{
    printf("%-58s | %-40s | %s\n", check, result, goal);
}

/* A call that failed: the row says why, the run goes on to the next check. */
static void failed_row(const char *check)
{
    char result[128];
    snprintf(result, sizeof result, "FAILED: %.118s", fp8_cuda_last_error());
    failures++;
    row(check, result, "");
}

static void goal_row(const char *check, const char *result, const char *goal, int met)
{
    char g[48];
    snprintf(g, sizeof g, "%s: %s", goal, met ? "met" : "MISSED");
    goals_missed += !met;
    row(check, result, g);
}

/* ---- 1. bit-equality ---- */

static void equality_row(const char *what, size_t differing, size_t n)
{
    char result[64];
    if (differing == 0)
        snprintf(result, sizeof result, "identical (%zu values)", n);
    else
        snprintf(result, sizeof result, "%zu of %zu DIFFER", differing, n);
    differences += differing != 0;
    row(what, result, "identical");
}

static size_t count_differing(const void *a, const void *b, size_t n, size_t elem)
{
    size_t d = 0;
    for (size_t i = 0; i < n; i++) d += memcmp((const char *)a + i * elem, (const char *)b + i * elem, elem) != 0;
    return d;
}

static void check_conversions(void)
{
    const size_t n = (size_t)1 << 24;
    uint32_t *bits = malloc(n * 4);
    for (size_t i = 0; i < n; i++) bits[i] = rng_u32(); /* every class of FP32 value */
    const float *x = (const float *)bits;
    float *d_x = dev_copy_of(x, n * 4);
    uint8_t *d_q = dev_alloc(n), *cpu = malloc(n);
    static const struct {
        fp8_format fmt;
        fp8_saturation sat;
        int stochastic;
        const char *name;
    } cases[] = {
        {FP8_E4M3, FP8_SATFINITE, 0, "encode f32 -> e4m3 satfinite (cvt instruction)"},
        {FP8_E5M2, FP8_SATFINITE, 0, "encode f32 -> e5m2 satfinite (cvt instruction)"},
        {FP8_E4M3, FP8_NOSAT, 0, "encode f32 -> e4m3 nosat (reference.h on device)"},
        {FP8_E4M3FNUZ, FP8_SATFINITE, 0, "encode f32 -> e4m3fnuz satfinite"},
        {FP8_E4M3, FP8_SATFINITE, 1, "encode f32 -> e4m3, stochastic rounding"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        fp8_status st;
        if (cases[c].stochastic) {
            fp8_encode_f32_sr(cpu, x, n, cases[c].fmt, cases[c].sat, 42, 7);
            st = fp8_cuda_encode_f32_sr(d_q, d_x, n, cases[c].fmt, cases[c].sat, 42, 7, NULL);
        } else {
            fp8_encode_f32(cpu, x, n, cases[c].fmt, cases[c].sat);
            st = fp8_cuda_encode_f32(d_q, d_x, n, cases[c].fmt, cases[c].sat, NULL);
        }
        if (st != FP8_OK) {
            failed_row(cases[c].name);
            continue;
        }
        uint8_t *gpu = host_copy_of(d_q, n);
        equality_row(cases[c].name, count_differing(gpu, cpu, n, 1), n);
        free(gpu);
    }
    /* decode every code of E4M3, 256 times over */
    uint8_t *codes = malloc(n);
    for (size_t i = 0; i < n; i++) codes[i] = (uint8_t)i;
    float *want = malloc(n * 4);
    fp8_decode_f32(want, codes, n, FP8_E4M3);
    uint8_t *d_codes = dev_copy_of(codes, n);
    float *got = NULL;
    if (fp8_cuda_decode_f32(d_x, d_codes, n, FP8_E4M3, NULL) != FP8_OK) {
        failed_row("decode e4m3 -> f32");
    } else {
        got = host_copy_of(d_x, n * 4);
        equality_row("decode e4m3 -> f32", count_differing(got, want, n, 4), n);
    }
    cudaFree(d_x), cudaFree(d_q), cudaFree(d_codes);
    free(bits), free(cpu), free(codes), free(want), free(got);
}

/* ---- 1 and 2: quantization, equality and bandwidth ---- */

/* The bandwidth rows time kBandwidthBatch calls back to back, alternating
 * between two copies of the data: a call never finds its input in the L2
 * cache (60 MB on an H200) from the call before. */
enum { kBandwidthBatch = 10, kSets = 2 };

typedef struct {
    fp8_quant_config cfg;
    size_t rows, cols;
    const void *x[kSets]; /* device; set 0 also holds the results compared with the CPU */
    int bf16;
    uint8_t *q[kSets];
    float *s[kSets];
    unsigned calls;
} quant_job;

static fp8_status run_quant(void *ctx)
{
    quant_job *j = ctx;
    const unsigned k = j->calls++ % kSets;
    return j->bf16 ? fp8_cuda_quantize_bf16(&j->cfg, j->x[k], j->rows, j->cols, j->cols, j->q[k], j->cols, j->s[k],
                                            NULL, NULL)
                   : fp8_cuda_quantize_f32(&j->cfg, j->x[k], j->rows, j->cols, j->cols, j->q[k], j->cols, j->s[k],
                                           NULL, NULL);
}

typedef struct {
    void *dst;
    const void *src[kSets];
    size_t bytes;
    unsigned calls;
} copy_job;

static fp8_status run_copy(void *ctx)
{
    copy_job *j = ctx;
    const unsigned k = j->calls++ % kSets;
    return cudaMemcpyAsync(j->dst, j->src[k], j->bytes, cudaMemcpyDeviceToDevice, NULL) == cudaSuccess ? FP8_OK
                                                                                                       : FP8_ERR_CUDA;
}

static void check_quantization(void)
{
    const size_t rows = 4096, cols = 7168, n = rows * cols;
    float *x = random_matrix(rows, cols);
    uint16_t *xb = to_bf16(x, n);
    void *d_x[kSets], *d_xb[kSets], *d_copy = dev_alloc(n * 4);
    uint8_t *d_q[kSets], *q = malloc(n);
    float *d_s[kSets], *s = malloc(n / 32 * 4 + 4);
    for (int k = 0; k < kSets; k++) {
        d_x[k] = dev_copy_of(x, n * 4), d_xb[k] = dev_copy_of(xb, n * 2);
        d_q[k] = dev_alloc(n), d_s[k] = dev_alloc(n / 32 * 4 + 4);
    }

    copy_job copy = {d_copy, {d_x[0], d_x[1]}, n * 4, 0};
    const double copy_time = gpu_time(run_copy, &copy, kBandwidthBatch);
    if (copy_time < 0) check_cuda(cudaGetLastError(), "device-to-device copy");
    const double copy_rate = 2.0 * (double)(n * 4) / copy_time;
    char result[64];
    snprintf(result, sizeof result, "%.0f GB/s (read + write)", copy_rate * 1e-9);
    row("device-to-device copy of 4096 x 7168 x 4 bytes (baseline)", result, "");

    static const struct {
        size_t br, bc;
        const char *name;
        int bandwidth_goal;
    } shapes[] = {{1, 128, "1x128", 1}, {128, 128, "128x128", 1}, {0, 0, "per-tensor", 0}, {1, 32, "MX 1x32", 0}};
    for (int bf16 = 0; bf16 < 2; bf16++)
        for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
            quant_job j = {fp8_quant_config_init(FP8_E4M3, shapes[k].br, shapes[k].bc),
                           rows,
                           cols,
                           {bf16 ? d_xb[0] : d_x[0], bf16 ? d_xb[1] : d_x[1]},
                           bf16,
                           {d_q[0], d_q[1]},
                           {d_s[0], d_s[1]},
                           0};
            const size_t ns = fp8_scale_count(rows, cols, shapes[k].br, shapes[k].bc);
            const double t = gpu_time(run_quant, &j, kBandwidthBatch);
            char what[96];
            snprintf(what, sizeof what, "quantize %s %s 4096x7168: rate / copy rate", bf16 ? "bf16" : "f32 ",
                     shapes[k].name);
            if (t < 0) {
                failed_row(what);
                continue;
            }
            const double bytes = (double)n * (bf16 ? 3 : 5) + (double)ns * 4;
            const double ratio = bytes / t / copy_rate;
            snprintf(result, sizeof result, "%.2f (%.0f GB/s)", ratio, bytes / t * 1e-9);
            if (shapes[k].bandwidth_goal)
                goal_row(what, result, ">= 0.8", ratio >= 0.8);
            else
                row(what, result, "");

            if (bf16)
                fp8_quantize_bf16(&j.cfg, xb, rows, cols, cols, q, cols, s);
            else
                fp8_quantize_f32(&j.cfg, x, rows, cols, cols, q, cols, s);
            uint8_t *gq = host_copy_of(d_q[0], n);
            float *gs = host_copy_of(d_s[0], ns * 4);
            snprintf(what, sizeof what, "  bit-equality GPU vs CPU: codes, then scales");
            equality_row(what, count_differing(gq, q, n, 1) + count_differing(gs, s, ns, 4), n + ns);
            free(gq), free(gs);
        }
    for (int k = 0; k < kSets; k++) cudaFree(d_x[k]), cudaFree(d_xb[k]), cudaFree(d_q[k]), cudaFree(d_s[k]);
    cudaFree(d_copy);
    free(x), free(xb), free(q), free(s);
}

/* ---- 3 and 4: GEMM speed ---- */

typedef struct {
    fp8_cuda_gemm *h;
    fp8_cuda_gemm_config cfg;
    fp8_gemm_config mma_cfg;
    fp8_qmatrix a, b;
    size_t M, N, K;
    const uint16_t *a16, *b16;
    void *d;
    int kind; /* 0 FP8 cuBLASLt BF16 out, 1 BF16 cuBLASLt, 2 own mma.sync kernel, 3 own wgmma kernel (FP32 out) */
} gemm_job;

static fp8_status run_gemm(void *ctx)
{
    gemm_job *j = ctx;
    if (j->kind == 0) return fp8_cuda_gemm_bf16(j->h, &j->cfg, &j->a, &j->b, j->d, j->N, NULL);
    if (j->kind == 1)
        return fp8_cuda_bf16_gemm(j->h, &j->cfg, j->M, j->N, j->K, j->a16, j->K, j->b16, j->K, j->d, j->N, NULL);
    if (j->kind == 2) return fp8_cuda_gemm_mma_f32(&j->mma_cfg, &j->a, &j->b, j->d, j->N, NULL);
    return fp8_cuda_gemm_wgmma_f32(&j->mma_cfg, &j->a, &j->b, j->d, j->N, NULL);
}

/* Random FP8 codes (no NaN) and scales near 1 on the device. */
static fp8_qmatrix random_qmatrix(size_t rows, size_t cols, size_t br, size_t bc)
{
    uint8_t *q = malloc(rows * cols);
    for (size_t i = 0; i < rows * cols; i++) {
        const uint8_t c = (uint8_t)rng_u32();
        q[i] = (c & 0x7F) == 0x7F ? 0x3F : c;
    }
    const size_t ns = fp8_scale_count(rows, cols, br, bc);
    float *s = malloc(ns * 4);
    for (size_t i = 0; i < ns; i++) s[i] = (float)(0.5 + rng_uniform());
    fp8_qmatrix m = {.data = dev_copy_of(q, rows * cols), .rows = rows, .cols = cols, .ld = cols,
                     .format = FP8_E4M3, .scale_inv = dev_copy_of(s, ns * 4), .block_rows = br, .block_cols = bc};
    free(q), free(s);
    return m;
}

/* Times one GEMM and prints its row: TFLOP/s, and beside a baseline (bf16 > 0)
 * the ratio, against a goal ratio when there is one (> 0). Returns TFLOP/s, 0 if it failed. */
static double gemm_row(gemm_job *j, const char *what, double bf16, double goal)
{
    const double t = gpu_time(run_gemm, j, 1);
    if (t < 0) {
        failed_row(what);
        return 0;
    }
    const double rate = 2.0 * (double)j->M * (double)j->N * (double)j->K / t * 1e-12;
    char result[64];
    if (bf16 > 0) {
        snprintf(result, sizeof result, "%.0f TFLOP/s = %.2fx BF16", rate, rate / bf16);
        char g[16];
        snprintf(g, sizeof g, ">= %.1fx", goal);
        if (goal > 0)
            goal_row(what, result, g, rate / bf16 >= goal);
        else
            row(what, result, "");
    } else {
        snprintf(result, sizeof result, "%.0f TFLOP/s", rate);
        row(what, result, "(baseline)");
    }
    return rate;
}

static void check_gemm_speed(fp8_cuda_gemm *h)
{
    const size_t M = 4096, N = 7168, K = 16384;
    gemm_job j = {.h = h, .cfg = fp8_cuda_gemm_config_init(), .M = M, .N = N, .K = K};
    j.a = random_qmatrix(M, K, 1, 128);
    j.b = random_qmatrix(N, K, 128, 128);
    uint16_t *a16 = malloc(M * K * 2), *b16 = malloc(N * K * 2);
    for (size_t i = 0; i < M * K; i++) a16[i] = (uint16_t)(0x3F80 | (rng_u32() & 0x807F)); /* +-[1, 2) */
    for (size_t i = 0; i < N * K; i++) b16[i] = (uint16_t)(0x3F80 | (rng_u32() & 0x807F));
    j.a16 = dev_copy_of(a16, M * K * 2);
    j.b16 = dev_copy_of(b16, N * K * 2);
    j.d = dev_alloc(M * N * 4);

    j.kind = 1;
    const double bf16 = gemm_row(&j, "BF16 GEMM, cuBLASLt, 4096 x 7168 x 16384, BF16 out", 0, 0);
    j.kind = 0;
    gemm_row(&j, "FP8 GEMM, cuBLASLt, 1x128 x 128x128 scales, same shape", bf16, 1.6);

    /* both again with the fastest of 16 of the heuristic's candidates (tune) */
    j.cfg.tune = 16;
    j.kind = 1;
    const double bf16_tuned = gemm_row(&j, "BF16 GEMM, cuBLASLt, tuned (fastest of 16 candidates)", 0, 0);
    j.kind = 0;
    gemm_row(&j, "FP8 GEMM, cuBLASLt, 1x128 x 128x128 scales, tuned", bf16_tuned, 1.6);
    j.cfg.tune = 0;
    /* per-tensor scales, with and without fast accumulation */
    fp8_qmatrix a = j.a, b = j.b;
    j.a.block_rows = j.a.block_cols = j.b.block_rows = j.b.block_cols = 0;
    gemm_row(&j, "FP8 GEMM, cuBLASLt, per-tensor scales", bf16, 0);
    j.cfg.fast_accum = 1;
    gemm_row(&j, "FP8 GEMM, cuBLASLt, per-tensor scales, fast accumulation", bf16, 0);
    j.cfg.fast_accum = 0;
    /* 1x128 scales on both operands, as DeepSeek-V3's weight gradient (dY^T X) has them */
    j.a = a;
    j.b = random_qmatrix(N, K, 1, 128);
    gemm_row(&j, "FP8 GEMM, cuBLASLt, 1x128 x 1x128 scales (weight gradient)", bf16, 0);
    cudaFree((void *)j.b.data), cudaFree((void *)j.b.scale_inv);
    j.b = b;

    j.kind = 2;
    j.mma_cfg = (fp8_gemm_config){.promote_interval = 128, .alpha = 1, .accum_model = FP8_ACCUM_ALIGN_WITH_SUM,
                                  .mma_k = 32};
    gemm_row(&j, "own mma.sync kernel, 1x128 x 128x128, promotion every 128", bf16, 0);
    j.kind = 3;
    gemm_row(&j, "own wgmma kernel, 1x128 x 128x128, promotion every 128", bf16, 1.6);

    cudaFree((void *)j.a.data), cudaFree((void *)j.a.scale_inv), cudaFree((void *)j.b.data);
    cudaFree((void *)j.b.scale_inv), cudaFree((void *)j.a16), cudaFree((void *)j.b16), cudaFree(j.d);
    free(a16), free(b16);
}

/* ---- the linear layer: one training step's three GEMMs and quantizations ---- */

typedef struct {
    fp8_cuda_linear *layer;
    const float *x, *w, *dy;
    float *y, *dx, *dw;
    size_t T, K, N;
    void *ws;
    size_t ws_bytes;
} linear_job;

static fp8_status run_linear_step(void *ctx)
{
    linear_job *j = ctx;
    const fp8_status st = fp8_cuda_linear_forward(j->layer, j->x, j->K, j->T, j->w, j->y, j->N, j->ws, j->ws_bytes,
                                                  NULL, NULL);
    if (st != FP8_OK) return st;
    return fp8_cuda_linear_backward(j->layer, j->x, j->K, j->dy, j->N, j->T, j->w, j->dx, j->K, j->dw, j->ws,
                                    j->ws_bytes, NULL, NULL);
}

/* Forward + backward of a 7168 -> 7168 layer on 4096 tokens (DeepSeek-V3's hidden size),
 * each recipe's whole step (quantizing X, W, dY included) as TFLOP/s of its 6 T K N flops. */
static void check_linear(fp8_cuda_gemm *h)
{
    const size_t T = 4096, K = 7168, N = 7168;
    float *x = random_matrix(T, K), *w = random_matrix(N, K), *dy = random_matrix(T, N);
    linear_job j = {.x = dev_copy_of(x, T * K * 4), .w = dev_copy_of(w, N * K * 4), .dy = dev_copy_of(dy, T * N * 4),
                    .y = dev_alloc(T * N * 4), .dx = dev_alloc(T * K * 4), .dw = dev_alloc(N * K * 4),
                    .T = T, .K = K, .N = N};
    check_cuda(cudaMemset(j.dw, 0, N * K * 4), "cudaMemset");
    static const fp8_linear_recipe recipes[] = {FP8_LINEAR_BF16, FP8_LINEAR_DEEPSEEK, FP8_LINEAR_TENSOR};
    double bf16 = 0;
    for (size_t r = 0; r < sizeof recipes / sizeof recipes[0]; r++) {
        char what[96];
        snprintf(what, sizeof what, "linear step 4096 x 7168 -> 7168 (fwd + bwd), %s recipe",
                 fp8_linear_recipe_name(recipes[r]));
        const fp8_linear_config cfg = fp8_linear_config_init(recipes[r]);
        const size_t state_bytes = fp8_cuda_linear_state_size(&cfg, K, N, T);
        void *state = dev_alloc(state_bytes ? state_bytes : 1);
        if (fp8_cuda_linear_create(&j.layer, &cfg, K, N, T, h, state, state_bytes) != FP8_OK) {
            failed_row(what);
            cudaFree(state);
            continue;
        }
        j.ws_bytes = fp8_cuda_linear_workspace_size(j.layer);
        j.ws = dev_alloc(j.ws_bytes ? j.ws_bytes : 1);
        const double t = gpu_time(run_linear_step, &j, 1);
        if (t < 0) {
            failed_row(what);
        } else {
            const double rate = 6.0 * (double)T * (double)K * (double)N / t * 1e-12;
            char result[64];
            if (recipes[r] == FP8_LINEAR_BF16) {
                bf16 = rate;
                snprintf(result, sizeof result, "%.2f ms, %.0f TFLOP/s", t * 1e3, rate);
            } else {
                snprintf(result, sizeof result, "%.2f ms, %.0f TFLOP/s = %.2fx BF16", t * 1e3, rate,
                         bf16 > 0 ? rate / bf16 : 0.0);
            }
            row(what, result, "");
        }
        fp8_cuda_linear_destroy(j.layer);
        cudaFree(j.ws), cudaFree(state);
    }
    cudaFree((void *)j.x), cudaFree((void *)j.w), cudaFree((void *)j.dy);
    cudaFree(j.y), cudaFree(j.dx), cudaFree(j.dw);
    free(x), free(w), free(dy);
}

/* ---- 4: accumulation error against the promotion interval ---- */


/* The largest |d - ref| / |ref| of n device results d. */
static double device_max_error(const float *d_d, const double *ref, size_t n)
{
    float *d = host_copy_of(d_d, n * 4);
    double err = 0;
    for (size_t e = 0; e < n; e++) err = fmax(err, fabs(d[e] - ref[e]) / fabs(ref[e]));
    free(d);
    return err;
}

/* "<who> max rel. error, promotion every <interval>" (0: never promoted). */
static void interval_label(char *what, size_t size, const char *who, size_t interval)
{
    if (interval)
        snprintf(what, size, "%s max rel. error, promotion every %zu", who, interval);
    else
        snprintf(what, size, "%s max rel. error, never promoted", who);
}
static void check_gemm_error(fp8_cuda_gemm *h)
{
    const size_t M = 128, N = 128, K = 4096;
    /* positive-mean inputs, as in DeepSeek-V3's measurement: sums grow with K */
    float *xa = malloc(M * K * 4), *xb = malloc(N * K * 4);
    for (size_t i = 0; i < M * K; i++) xa[i] = (float)rng_uniform();
    for (size_t i = 0; i < N * K; i++) xb[i] = (float)rng_uniform();
    fp8_quant_config qc = fp8_quant_config_init(FP8_E4M3, 0, 0);
    uint8_t *qa = malloc(M * K), *qb = malloc(N * K);
    float sa, sb;
    fp8_quantize_f32(&qc, xa, M, K, K, qa, K, &sa);
    fp8_quantize_f32(&qc, xb, N, K, K, qb, K, &sb);
    double *ref = malloc(M * N * sizeof *ref);
    for (size_t m = 0; m < M; m++)
        for (size_t n = 0; n < N; n++) {
            double sum = 0;
            for (size_t k = 0; k < K; k++)
                sum += (double)fp8_to_f32(qa[m * K + k], FP8_E4M3) * fp8_to_f32(qb[n * K + k], FP8_E4M3);
            ref[m * N + n] = sum * sa * sb;
        }
    fp8_qmatrix a = {.data = dev_copy_of(qa, M * K), .rows = M, .cols = K, .ld = K, .format = FP8_E4M3,
                     .scale_inv = dev_copy_of(&sa, 4)};
    fp8_qmatrix b = a;
    b.data = dev_copy_of(qb, N * K);
    b.rows = N;
    b.scale_inv = dev_copy_of(&sb, 4);
    fp8_qmatrix ha = a, hb = b; /* the same operands on the host, for the CPU emulator */
    ha.data = qa, ha.scale_inv = &sa, hb.data = qb, hb.scale_inv = &sb;
    float *d_d = dev_alloc(M * N * 4), *emulated = malloc(M * N * 4);
    static const size_t intervals[] = {32, 64, 128, 256, 512, 1024, 0};
    for (size_t i = 0; i < sizeof intervals / sizeof intervals[0]; i++) {
        fp8_gemm_config cfg = fp8_gemm_config_init();
        cfg.promote_interval = intervals[i];
        char what[96], result[64];
        interval_label(what, sizeof what, "own kernel", intervals[i]);
        if (fp8_cuda_gemm_mma_f32(&cfg, &a, &b, d_d, N, NULL) != FP8_OK) {
            failed_row(what);
            continue;
        }
        const double err = device_max_error(d_d, ref, M * N);
        double emulator_err[2] = {0, 0};
        cfg.accum_bits = 14;
        for (int model = 0; model < 2; model++) {
            cfg.accum_model = model ? FP8_ACCUM_ALIGN_PRODUCTS : FP8_ACCUM_ALIGN_WITH_SUM;
            if (fp8_gemm_f32(&cfg, &ha, &hb, emulated, N) != FP8_OK) {
                fprintf(stderr, "bench_cuda: the CPU emulator refused its configuration\n");
                exit(1);
            }
            for (size_t e = 0; e < M * N; e++)
                emulator_err[model] = fmax(emulator_err[model], fabs(emulated[e] - ref[e]) / fabs(ref[e]));
        }
        snprintf(result, sizeof result, "%.3g (emulator %.3g, %.3g)", err, emulator_err[0], emulator_err[1]);
        row(what, result, "");
        if (intervals[i] % 128 != 0) continue; /* the wgmma kernel promotes at stage ends */
        cfg.accum_bits = 0;
        cfg.accum_model = FP8_ACCUM_ALIGN_WITH_SUM;
        interval_label(what, sizeof what, "wgmma kernel", intervals[i]);
        if (fp8_cuda_gemm_wgmma_f32(&cfg, &a, &b, d_d, N, NULL) != FP8_OK) {
            failed_row(what);
            continue;
        }
        snprintf(result, sizeof result, "%.3g", device_max_error(d_d, ref, M * N));
        row(what, result, "");
    }
    /* cuBLASLt's FP8 kernels (wgmma on sm_90) on the same operands: with
     * fast accumulation the tensor cores sum all of K unpromoted */
    for (int fast = 0; fast < 2; fast++) {
        fp8_cuda_gemm_config cfg = fp8_cuda_gemm_config_init();
        cfg.fast_accum = fast;
        const char *what = fast ? "cuBLASLt max rel. error, fast accumulation (all of K unpromoted)"
                                : "cuBLASLt max rel. error, default (promoted)";
        if (fp8_cuda_gemm_f32(h, &cfg, &a, &b, d_d, N, NULL) != FP8_OK) {
            failed_row(what);
            continue;
        }
        char result[64];
        snprintf(result, sizeof result, "%.3g", device_max_error(d_d, ref, M * N));
        row(what, result, "");
    }
    free(emulated);
    cudaFree((void *)a.data), cudaFree((void *)a.scale_inv), cudaFree((void *)b.data), cudaFree((void *)b.scale_inv);
    cudaFree(d_d);
    free(xa), free(xb), free(qa), free(qb), free(ref);
}

int main(int argc, char **argv)
{
    if (argc > 1) reps = atoi(argv[1]);
    if (reps < 1) {
        fprintf(stderr, "usage: bench_cuda [repetitions >= 1]\n");
        return 2;
    }
    int devices = 0;
    if (fp8_cuda_device_count(&devices) != FP8_OK) {
        printf("SKIP: bench_cuda: no usable CUDA device (%s)\n", fp8_cuda_last_error());
        return SKIP_EXIT_CODE;
    }
    int device = 0, runtime = 0, driver = 0;
    struct cudaDeviceProp prop;
    check_cuda(cudaGetDevice(&device), "cudaGetDevice");
    check_cuda(cudaGetDeviceProperties(&prop, device), "cudaGetDeviceProperties");
    cudaRuntimeGetVersion(&runtime);
    cudaDriverGetVersion(&driver);
    printf("libfp8 %s CUDA check: %s (sm_%d%d, %d SMs), CUDA runtime %d, driver %d, best of %d\n\n",
           fp8_version_string(), prop.name, prop.major, prop.minor, prop.multiProcessorCount, runtime, driver, reps);
    printf("Own-kernel error rows: 128 x 128 products, K = 4096, inputs uniform in [0, 1), per-tensor E4M3,\n"
           "max |D - FP64| / |FP64|; beside it the CPU emulator (fp8_gemm_f32, accum_bits 14, mma_k 32) with the\n"
           "running sum aligned with the products, then with the products only.\n\n");
    row("check", "result", "goal");
    printf("%.58s-+-%.40s-+-%.14s\n", "-----------------------------------------------------------",
           "----------------------------------------", "--------------");

    fp8_cuda_gemm *h = NULL;
    if (fp8_cuda_gemm_create(&h) != FP8_OK) {
        fprintf(stderr, "bench_cuda: fp8_cuda_gemm_create failed: %s\n", fp8_cuda_last_error());
        return 1;
    }
    check_conversions();
    check_quantization();
    check_gemm_speed(h);
    check_gemm_error(h);
    check_linear(h);
    fp8_cuda_gemm_destroy(h);
    printf("\n%s%s; %s\n", differences ? "GPU AND CPU DIFFER" : "GPU and CPU give the same bytes",
           failures ? "; SOME CALLS FAILED" : "", goals_missed ? "some performance goals missed" : "all performance goals met");
    return differences || failures ? 1 : 0;
}
