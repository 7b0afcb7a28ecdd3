/* CUDA backend tests. The GPU is held to the CPU path byte for byte (the
 * CPU path is itself held to the independent reference in test_convert.c
 * and test_quantize.c) and, for conversions, to support/reference.c
 * directly: every conversion on random FP32 bit patterns with all special
 * classes and on all 2^16 FP16/BF16 inputs, all formats and saturations,
 * stochastic rounding with the CPU's random stream; quantization in every
 * block shape for FP32 and BF16 input, with odd sizes, ld > cols, non-finite
 * input, stochastic rounding, the dual pass, delayed scaling, dequantization
 * and MX storage; the GEMMs against an FP64 reference of the dequantized
 * inputs; the linear layers of every recipe against the CPU layer and an
 * FP64 reference of the same quantized operands. The long case compares all
 * 2^32 FP32 inputs.
 *
 * CUDA is initialized before the runner starts, so Check must not fork
 * (CK_NOFORK, set here). Without a usable device only the checks that need
 * none run (argument checks, FP8_ERR_NO_DEVICE and its text); the program
 * then prints a SKIP line and exits 77, which CTest counts as skipped. */
#include <check.h>
#include <cuda_runtime_api.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fp8.h"
#include "fp8/cuda.h"
#include "support/reference.h"

#define SKIP_EXIT_CODE 77

static const fp8_format all_formats[] = {FP8_E4M3, FP8_E5M2, FP8_E4M3FNUZ, FP8_E5M2FNUZ};
static const fp8_saturation all_sats[] = {FP8_SATFINITE, FP8_NOSAT};

/* ---- device memory and data ---- */

static void *dev_alloc(size_t bytes)
{
    void *p = NULL;
    ck_assert_msg(cudaMalloc(&p, bytes ? bytes : 1) == cudaSuccess, "cudaMalloc(%zu) failed", bytes);
    return p;
}

static void *dev_copy_of(const void *host, size_t bytes)
{
    void *p = dev_alloc(bytes);
    ck_assert(cudaMemcpy(p, host, bytes, cudaMemcpyHostToDevice) == cudaSuccess);
    return p;
}

/* Waits for the device, then copies back. */
static void to_host(void *host, const void *dev, size_t bytes)
{
    ck_assert_msg(cudaDeviceSynchronize() == cudaSuccess, "device fault: %s", cudaGetErrorString(cudaGetLastError()));
    ck_assert(cudaMemcpy(host, dev, bytes, cudaMemcpyDeviceToHost) == cudaSuccess);
}

static int dev_flag(const int *flag)
{
    int v = -1;
    to_host(&v, flag, sizeof v);
    return v;
}

static uint64_t rng_state;
static void rng_seed(uint64_t s) { rng_state = s * 0x9E3779B97F4A7C15ull + 1; }
static uint32_t rng_u32(void)
{
    rng_state ^= rng_state << 13, rng_state ^= rng_state >> 7, rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 32);
}
static double rng_uniform(void) { return (double)(rng_u32() >> 8) * 0x1p-24; }
static double rng_normal(void)
{
    const double u = rng_uniform() + 0x1p-30, v = rng_uniform();
    return sqrt(-2 * log(u)) * cos(6.283185307179586 * v);
}

/* FP32 bit patterns: uniformly random bits mixed with every special class
 * (zeros, subnormals, infinities, NaNs of both signs, values around each
 * format's max and its rounding midpoints, FP8 subnormal midpoints). */
static uint32_t *make_f32_patterns(size_t n, uint64_t seed)
{
    static const uint32_t specials[] = {0x00000000u, 0x80000000u, 0x00000001u, 0x807FFFFFu, 0x7F800000u, 0xFF800000u,
                                        0x7FC00000u, 0xFFC00001u, 0x7F800001u, 0x43E00000u, 0x43E80000u, 0x43F00000u,
                                        0xC3E80001u, 0x47600000u, 0x47700000u, 0x47700001u, 0x3A800000u, 0x3B000000u,
                                        0x3B400000u, 0x37800000u, 0x37C00000u, 0x43700000u, 0x43780000u, 0x7F7FFFFFu};
    rng_seed(seed);
    printf("test_cuda: FP32 patterns, seed %llu\n", (unsigned long long)seed);
    uint32_t *v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++) {
        const uint32_t r = rng_u32();
        if (i % 7 == 0)
            v[i] = specials[r % (sizeof specials / sizeof specials[0])] ^ (r & 0x80000000u);
        else if (i % 7 == 1) /* near the FP8 ranges: exponents 2^-20 .. 2^17 */
            v[i] = (r & 0x807FFFFFu) | ((uint32_t)(107 + r % 38) << 23);
        else
            v[i] = r;
    }
    return v;
}

static void assert_same_bytes(const uint8_t *got, const uint8_t *want, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++)
        if (got[i] != want[i]) ck_abort_msg("%s: element %zu: GPU 0x%02x, CPU 0x%02x", what, i, got[i], want[i]);
}

/* ---- conversion ---- */

/* Loop index: format x saturation x source (f32, bf16, f16) x misalignment (0, 1 element). */
START_TEST(encode_matches_cpu)
{
    const fp8_format fmt = all_formats[_i % 4];
    const fp8_saturation sat = all_sats[(_i / 4) % 2];
    const int source = (_i / 8) % 3, shift = _i / 24;
    const size_t n = source == 0 ? ((size_t)1 << 20) + 3 : 65536; /* 16-bit sources: every input */
    uint32_t *bits = make_f32_patterns(n + 1, 100 + (uint64_t)_i);
    uint16_t *half = malloc((n + 1) * sizeof *half);
    for (size_t i = 0; i < n; i++) half[i + (size_t)shift] = (uint16_t)i;
    uint8_t *want = malloc(n), *got = malloc(n + 1);
    const size_t elem = source == 0 ? 4 : 2;
    void *d_src = dev_copy_of(source == 0 ? (void *)bits : (void *)half, (n + 1) * elem);
    uint8_t *d_dst = dev_alloc(n + 1);
    const void *src = (const char *)d_src + (size_t)shift * elem;
    fp8_status st;
    if (source == 0) {
        ck_assert(fp8_encode_f32(want, (const float *)bits + shift, n, fmt, sat) == FP8_OK);
        st = fp8_cuda_encode_f32(d_dst + shift, src, n, fmt, sat, NULL);
    } else if (source == 1) {
        ck_assert(fp8_encode_bf16(want, half + shift, n, fmt, sat) == FP8_OK);
        st = fp8_cuda_encode_bf16(d_dst + shift, src, n, fmt, sat, NULL);
    } else {
        ck_assert(fp8_encode_f16(want, half + shift, n, fmt, sat) == FP8_OK);
        st = fp8_cuda_encode_f16(d_dst + shift, src, n, fmt, sat, NULL);
    }
    ck_assert_msg(st == FP8_OK, "%s", fp8_cuda_last_error());
    to_host(got, d_dst + shift, n);
    char what[96];
    snprintf(what, sizeof what, "%s %s source %d shift %d", fp8_format_name(fmt), sat ? "nosat" : "satfinite", source,
             shift);
    assert_same_bytes(got, want, n, what);
    for (size_t i = 0; i < 4096; i++) { /* and the independent reference, directly */
        const double x = source == 0 ? (double)f32_from_bits(bits[i + (size_t)shift])
                         : source == 1 ? ref_bf16_value(half[i + (size_t)shift])
                                       : ref_f16_value(half[i + (size_t)shift]);
        ck_assert_msg(got[i] == ref_encode(x, fmt, sat), "%s: %a: GPU 0x%02x, reference 0x%02x", what, x, got[i],
                      ref_encode(x, fmt, sat));
    }
    cudaFree(d_src);
    cudaFree(d_dst);
    free(bits), free(half), free(want), free(got);
}
END_TEST

/* Offsets that cross 2^32, where the random stream changes keys. Loop: format x saturation. */
START_TEST(encode_sr_matches_cpu)
{
    const fp8_format fmt = all_formats[_i % 4];
    const fp8_saturation sat = all_sats[_i / 4];
    const size_t n = ((size_t)1 << 18) + 1;
    const uint64_t seeds[] = {1, 0xDEADBEEFCAFEull}, offsets[] = {0, ((uint64_t)1 << 32) - 1001};
    uint32_t *bits = make_f32_patterns(n, 200 + (uint64_t)_i);
    uint8_t *want = malloc(n), *got = malloc(n);
    float *d_src = dev_copy_of(bits, n * 4);
    uint8_t *d_dst = dev_alloc(n);
    for (int k = 0; k < 2; k++) {
        ck_assert(fp8_encode_f32_sr(want, (const float *)bits, n, fmt, sat, seeds[k], offsets[k]) == FP8_OK);
        ck_assert(fp8_cuda_encode_f32_sr(d_dst, d_src, n, fmt, sat, seeds[k], offsets[k], NULL) == FP8_OK);
        to_host(got, d_dst, n);
        assert_same_bytes(got, want, n, "stochastic rounding");
    }
    cudaFree(d_src);
    cudaFree(d_dst);
    free(bits), free(want), free(got);
}
END_TEST

START_TEST(decode_matches_cpu)
{
    const fp8_format fmt = all_formats[_i];
    uint8_t codes[257];
    for (int c = 0; c < 257; c++) codes[c] = (uint8_t)c;
    uint8_t *d_codes = dev_copy_of(codes, sizeof codes);
    float *d_f32 = dev_alloc(257 * 4);
    uint16_t *d_f16 = dev_alloc(257 * 2), *d_bf16 = dev_alloc(257 * 2);
    float want32[257], got32[257];
    uint16_t want16[257], got16[257], wantb[257], gotb[257];
    ck_assert(fp8_decode_f32(want32, codes, 257, fmt) == FP8_OK);
    ck_assert(fp8_decode_f16(want16, codes, 257, fmt) == FP8_OK);
    ck_assert(fp8_decode_bf16(wantb, codes, 257, fmt) == FP8_OK);
    for (int shift = 0; shift < 2; shift++) { /* aligned, then every pointer off by one element */
        const size_t n = 257 - (size_t)shift;
        ck_assert(fp8_cuda_decode_f32(d_f32 + shift, d_codes + shift, n, fmt, NULL) == FP8_OK);
        ck_assert(fp8_cuda_decode_f16(d_f16 + shift, d_codes + shift, n, fmt, NULL) == FP8_OK);
        ck_assert(fp8_cuda_decode_bf16(d_bf16 + shift, d_codes + shift, n, fmt, NULL) == FP8_OK);
        to_host(got32, d_f32 + shift, n * 4);
        to_host(got16, d_f16 + shift, n * 2);
        to_host(gotb, d_bf16 + shift, n * 2);
        for (size_t i = 0; i < n; i++) {
            const size_t c = i + (size_t)shift;
            ck_assert_msg(f32_bits(got32[i]) == f32_bits(want32[c]), "%s 0x%02zx: f32 0x%08x, CPU 0x%08x",
                          fp8_format_name(fmt), c, f32_bits(got32[i]), f32_bits(want32[c]));
            ck_assert(got16[i] == want16[c] && gotb[i] == wantb[c]);
        }
    }
    cudaFree(d_codes), cudaFree(d_f32), cudaFree(d_f16), cudaFree(d_bf16);
}
END_TEST

/* All 2^32 FP32 inputs, in chunks, GPU against CPU. Loop: format (E4M3, E5M2) x saturation:
 * the sm_89 cvt instruction's path and the software path. */
START_TEST(exhaustive_f32)
{
    const fp8_format fmt = _i % 2 ? FP8_E5M2 : FP8_E4M3;
    const fp8_saturation sat = all_sats[_i / 2];
    const size_t chunk = (size_t)1 << 26;
    uint32_t *bits = malloc(chunk * 4);
    uint8_t *want = malloc(chunk), *got = malloc(chunk);
    float *d_src = dev_alloc(chunk * 4);
    uint8_t *d_dst = dev_alloc(chunk);
    for (uint64_t first = 0; first < ((uint64_t)1 << 32); first += chunk) {
        for (size_t i = 0; i < chunk; i++) bits[i] = (uint32_t)(first + i);
        ck_assert(cudaMemcpy(d_src, bits, chunk * 4, cudaMemcpyHostToDevice) == cudaSuccess);
        ck_assert(fp8_cuda_encode_f32(d_dst, d_src, chunk, fmt, sat, NULL) == FP8_OK);
        ck_assert(fp8_encode_f32(want, (const float *)bits, chunk, fmt, sat) == FP8_OK);
        to_host(got, d_dst, chunk);
        for (size_t i = 0; i < chunk; i++)
            if (got[i] != want[i])
                ck_abort_msg("%s %s: input 0x%08x: GPU 0x%02x, CPU 0x%02x", fp8_format_name(fmt),
                             sat ? "nosat" : "satfinite", bits[i], got[i], want[i]);
    }
    cudaFree(d_src), cudaFree(d_dst);
    free(bits), free(want), free(got);
}
END_TEST

/* ---- quantization ---- */

/* Rows of very different magnitudes, as in test_quantize.c; optionally some NaN and Inf. */
static float *make_matrix(size_t rows, size_t ld, uint64_t seed, int with_nonfinite)
{
    rng_seed(seed);
    float *x = malloc(rows * ld * sizeof *x);
    for (size_t r = 0; r < rows; r++) {
        const double row_scale = ldexp(1.0, (int)(rng_uniform() * 40) - 20);
        for (size_t c = 0; c < ld; c++) x[r * ld + c] = (float)(rng_normal() * row_scale);
    }
    if (with_nonfinite) {
        x[3] = NAN;
        x[(rows / 2) * ld + 7] = -INFINITY;
        x[(rows - 1) * ld] = INFINITY;
    }
    return x;
}

static uint16_t *to_bf16(const float *x, size_t n)
{
    uint16_t *b = malloc(n * sizeof *b);
    for (size_t i = 0; i < n; i++) b[i] = (uint16_t)(f32_bits(x[i]) >> 16);
    return b;
}

static void assert_same_matrix(const uint8_t *got, const uint8_t *want, size_t rows, size_t cols, size_t ld,
                               const char *what)
{
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++)
            if (got[r * ld + c] != want[r * ld + c])
                ck_abort_msg("%s: (%zu, %zu): GPU 0x%02x, CPU 0x%02x", what, r, c, got[r * ld + c], want[r * ld + c]);
}

static void assert_same_scales(const float *got, const float *want, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(f32_bits(got[i]) == f32_bits(want[i]), "%s: scale_inv[%zu]: GPU %a, CPU %a", what, i,
                      (double)got[i], (double)want[i]);
}

/* Block shapes: per tensor, per row, per column, 1x128, 128x128, MX, odd, tall, a large two-block split. */
static const size_t shapes[][2] = {{0, 0}, {1, 0}, {0, 1}, {1, 128}, {128, 128}, {1, 32}, {3, 5}, {64, 1}, {200, 0}};
#define NSHAPES (sizeof shapes / sizeof shapes[0])

typedef enum { INPUT_F32, INPUT_BF16, INPUT_F32_SR } quant_input;

/* One quantization on both sides; compares codes, scales and the non-finite report. */
static void compare_quantization(const fp8_quant_config *cfg, size_t rows, size_t cols, size_t ldx, size_t ldq,
                                 quant_input input, int with_nonfinite, uint64_t seed, const char *what)
{
    float *x = make_matrix(rows, ldx, seed, with_nonfinite);
    uint16_t *xb = to_bf16(x, rows * ldx);
    const size_t nscales = fp8_scale_count(rows, cols, cfg->block_rows, cfg->block_cols);
    uint8_t *want = calloc(rows * ldq, 1), *got = calloc(rows * ldq, 1);
    float *want_s = malloc(nscales * 4), *got_s = malloc(nscales * 4);
    void *d_x = input == INPUT_BF16 ? dev_copy_of(xb, rows * ldx * 2) : dev_copy_of(x, rows * ldx * 4);
    uint8_t *d_q = dev_copy_of(want, rows * ldq);
    float *d_s = dev_alloc(nscales * 4);
    int *d_flag = dev_alloc(sizeof(int));
    fp8_status cpu, gpu;
    const uint64_t sr_seed = seed * 31, sr_offset = seed << 20;
    if (input == INPUT_F32) {
        cpu = fp8_quantize_f32(cfg, x, rows, cols, ldx, want, ldq, want_s);
        gpu = fp8_cuda_quantize_f32(cfg, d_x, rows, cols, ldx, d_q, ldq, d_s, d_flag, NULL);
    } else if (input == INPUT_BF16) {
        cpu = fp8_quantize_bf16(cfg, xb, rows, cols, ldx, want, ldq, want_s);
        gpu = fp8_cuda_quantize_bf16(cfg, d_x, rows, cols, ldx, d_q, ldq, d_s, d_flag, NULL);
    } else {
        cpu = fp8_quantize_f32_sr(cfg, x, rows, cols, ldx, want, ldq, want_s, sr_seed, sr_offset);
        gpu = fp8_cuda_quantize_f32_sr(cfg, d_x, rows, cols, ldx, d_q, ldq, d_s, sr_seed, sr_offset, d_flag, NULL);
    }
    ck_assert_msg(gpu == FP8_OK, "%s: %s (%s)", what, fp8_status_string(gpu), fp8_cuda_last_error());
    ck_assert(cpu == FP8_OK || cpu == FP8_ERR_NONFINITE);
    to_host(got, d_q, rows * ldq);
    to_host(got_s, d_s, nscales * 4);
    assert_same_scales(got_s, want_s, nscales, what);
    assert_same_matrix(got, want, rows, cols, ldq, what);
    ck_assert_msg(dev_flag(d_flag) == (cpu == FP8_ERR_NONFINITE), "%s: non-finite flag", what);
    cudaFree(d_x), cudaFree(d_q), cudaFree(d_s), cudaFree(d_flag);
    free(x), free(xb), free(want), free(got), free(want_s), free(got_s);
}

/* Loop index: shape x format x scale mode x input; odd sizes and ld > cols. */
START_TEST(quantize_matches_cpu)
{
    const size_t shape = (size_t)_i % NSHAPES, f = ((size_t)_i / NSHAPES) % 4, mode = ((size_t)_i / NSHAPES / 4) % 3;
    const quant_input input = (quant_input)((size_t)_i / NSHAPES / 12);
    fp8_quant_config cfg = fp8_quant_config_init(all_formats[f], shapes[shape][0], shapes[shape][1]);
    cfg.scale_mode = (fp8_scale_mode)mode;
    cfg.saturation = (_i & 1) ? FP8_NOSAT : FP8_SATFINITE;
    char what[128];
    snprintf(what, sizeof what, "%zux%zu blocks, %s, mode %zu, input %d, %s", shapes[shape][0], shapes[shape][1],
             fp8_format_name(cfg.format), mode, (int)input, cfg.saturation ? "nosat" : "satfinite");
    compare_quantization(&cfg, 259, 300, 311, 305, input, _i % 5 == 0, 1000 + (uint64_t)_i, what);
}
END_TEST

/* 16-byte aligned rows (the tile kernel's wide loads and stores), for the shapes training uses: whole
 * blocks, then ragged edges (259 rows, 1002 columns: partial blocks, partial warp spans and a last load
 * of fewer than 4 FP32 or 8 BF16 elements) with NaN and Inf. Loop: shape x input x geometry. */
START_TEST(quantize_aligned_matches_cpu)
{
    static const size_t aligned_shapes[][2] = {{1, 128}, {128, 128}, {1, 32},  {1, 64}, {128, 32},
                                               {128, 64}, {0, 0},    {1, 0}};
    static const size_t geometries[][4] = {{384, 1024, 1024, 1024}, {259, 1002, 1008, 1008}};
    const size_t s = (size_t)_i % 8, g = (size_t)_i / 24;
    const quant_input input = (quant_input)(_i / 8 % 3);
    fp8_quant_config cfg = fp8_quant_config_init(g ? FP8_E5M2 : FP8_E4M3, aligned_shapes[s][0], aligned_shapes[s][1]);
    char what[96];
    snprintf(what, sizeof what, "aligned %zux%zu, %zu x %zu, input %d", aligned_shapes[s][0], aligned_shapes[s][1],
             geometries[g][0], geometries[g][1], (int)input);
    compare_quantization(&cfg, geometries[g][0], geometries[g][1], geometries[g][2], geometries[g][3], input, (int)g,
                         2000 + (uint64_t)_i, what);
}
END_TEST

/* Loop: tile widths 32, 128 (fused), 200 and 256 (two passes); non-finite input in one. */
START_TEST(dual_matches_cpu)
{
    static const size_t tiles[] = {32, 128, 200, 256};
    const size_t bc = tiles[_i % 4], rows = 301, cols = 270, ldx = 280, ldq = 275, ldqt = 310;
    fp8_quant_config cfg = fp8_quant_config_init(FP8_E4M3, 1, bc);
    float *x = make_matrix(rows, ldx, 3000 + (uint64_t)_i, _i == 1);
    const size_t ns = fp8_scale_count(rows, cols, 1, bc), nst = fp8_scale_count(cols, rows, 1, bc);
    uint8_t *q = calloc(rows * ldq, 1), *qt = calloc(cols * ldqt, 1), *gq = calloc(rows * ldq, 1),
            *gqt = calloc(cols * ldqt, 1);
    float *s = malloc(ns * 4), *st = malloc(nst * 4), *gs = malloc(ns * 4), *gst = malloc(nst * 4);
    const fp8_status cpu = fp8_quantize_dual_f32(&cfg, x, rows, cols, ldx, q, ldq, s, qt, ldqt, st);
    float *d_x = dev_copy_of(x, rows * ldx * 4);
    uint8_t *d_q = dev_copy_of(q, rows * ldq), *d_qt = dev_copy_of(qt, cols * ldqt);
    float *d_s = dev_alloc(ns * 4), *d_st = dev_alloc(nst * 4);
    int *d_flag = dev_alloc(sizeof(int));
    const fp8_status gpu = fp8_cuda_quantize_dual_f32(&cfg, d_x, rows, cols, ldx, d_q, ldq, d_s, d_qt, ldqt, d_st,
                                                      d_flag, NULL);
    ck_assert_msg(gpu == FP8_OK, "%s", fp8_cuda_last_error());
    to_host(gq, d_q, rows * ldq), to_host(gqt, d_qt, cols * ldqt);
    to_host(gs, d_s, ns * 4), to_host(gst, d_st, nst * 4);
    assert_same_matrix(gq, q, rows, cols, ldq, "dual q");
    assert_same_matrix(gqt, qt, cols, rows, ldqt, "dual qt");
    assert_same_scales(gs, s, ns, "dual scale_inv");
    assert_same_scales(gst, st, nst, "dual scale_inv_t");
    ck_assert(dev_flag(d_flag) == (cpu == FP8_ERR_NONFINITE));
    cudaFree(d_x), cudaFree(d_q), cudaFree(d_qt), cudaFree(d_s), cudaFree(d_st), cudaFree(d_flag);
    free(x), free(q), free(qt), free(gq), free(gqt), free(s), free(st), free(gs), free(gst);
}
END_TEST

START_TEST(scaled_and_dequantize_match_cpu)
{
    const size_t rows = 130, cols = 257, ld = 260;
    fp8_quant_config cfg = fp8_quant_config_init(FP8_E4M3, 1, 128);
    float *x = make_matrix(rows, ld, 4000, 1);
    uint8_t *q = calloc(rows * ld, 1), *gq = calloc(rows * ld, 1);
    float amax, gamax, *y = calloc(rows * ld, 4), *gy = calloc(rows * ld, 4);
    const fp8_status cpu = fp8_quantize_f32_scaled(&cfg, x, rows, cols, ld, 0.75f, q, ld, &amax);
    float *d_x = dev_copy_of(x, rows * ld * 4), *d_amax = dev_alloc(4), *d_y = dev_copy_of(y, rows * ld * 4);
    uint8_t *d_q = dev_copy_of(q, rows * ld);
    int *d_flag = dev_alloc(sizeof(int));
    ck_assert(fp8_cuda_quantize_f32_scaled(&cfg, d_x, rows, cols, ld, 0.75f, d_q, ld, d_amax, d_flag, NULL) == FP8_OK);
    to_host(gq, d_q, rows * ld), to_host(&gamax, d_amax, 4);
    assert_same_matrix(gq, q, rows, cols, ld, "delayed scaling");
    ck_assert_msg(f32_bits(gamax) == f32_bits(amax), "amax: GPU %a, CPU %a", (double)gamax, (double)amax);
    ck_assert(dev_flag(d_flag) == (cpu == FP8_ERR_NONFINITE));

    /* dequantize 1x128 codes with random scales */
    const size_t ns = fp8_scale_count(rows, cols, 1, 128);
    float *s = malloc(ns * 4);
    for (size_t i = 0; i < ns; i++) s[i] = (float)ldexp(1.0 + rng_uniform(), (int)(rng_u32() % 40) - 20);
    float *d_s = dev_copy_of(s, ns * 4);
    ck_assert(fp8_dequantize_f32(&cfg, q, rows, cols, ld, s, y, ld) == FP8_OK);
    ck_assert(fp8_cuda_dequantize_f32(&cfg, d_q, rows, cols, ld, d_s, d_y, ld, NULL) == FP8_OK);
    to_host(gy, d_y, rows * ld * 4);
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++)
            ck_assert_msg(f32_bits(gy[r * ld + c]) == f32_bits(y[r * ld + c]), "dequantize (%zu, %zu): %a vs %a", r, c,
                          (double)gy[r * ld + c], (double)y[r * ld + c]);
    cudaFree(d_x), cudaFree(d_amax), cudaFree(d_y), cudaFree(d_q), cudaFree(d_flag), cudaFree(d_s);
    free(x), free(q), free(gq), free(y), free(gy), free(s);
}
END_TEST

START_TEST(e8m0_matches_cpu)
{
    const size_t n = 1000;
    float s[1000], back[1000], gback[1000];
    uint8_t e[1000], ge[1000];
    for (size_t i = 0; i < n; i++) s[i] = (float)ldexp(1.0, (int)(i % 255) - 127);
    float *d_s = dev_copy_of(s, sizeof s), *d_back = dev_alloc(sizeof back);
    uint8_t *d_e = dev_alloc(n);
    int *d_flag = dev_alloc(sizeof(int));
    ck_assert(fp8_scales_to_e8m0(e, s, n) == FP8_OK);
    ck_assert(fp8_cuda_scales_to_e8m0(d_e, d_s, n, d_flag, NULL) == FP8_OK);
    to_host(ge, d_e, n);
    ck_assert(dev_flag(d_flag) == 0);
    assert_same_bytes(ge, e, n, "to E8M0");
    e[7] = 0xFF; /* NaN code */
    ck_assert(cudaMemcpy(d_e, e, n, cudaMemcpyHostToDevice) == cudaSuccess);
    ck_assert(fp8_scales_from_e8m0(back, e, n) == FP8_ERR_NONFINITE);
    ck_assert(fp8_cuda_scales_from_e8m0(d_back, d_e, n, d_flag, NULL) == FP8_OK);
    to_host(gback, d_back, sizeof gback);
    ck_assert(dev_flag(d_flag) == 1);
    assert_same_scales(gback, back, n, "from E8M0");
    /* one value that is not a power of two: nothing written, flag set */
    s[500] = 3.0f;
    memset(ge, 0xAB, n);
    ck_assert(cudaMemcpy(d_e, ge, n, cudaMemcpyHostToDevice) == cudaSuccess);
    ck_assert(cudaMemcpy(d_s, s, sizeof s, cudaMemcpyHostToDevice) == cudaSuccess);
    ck_assert(fp8_scales_to_e8m0(e, s, n) == FP8_ERR_INVALID_ARGUMENT);
    ck_assert(fp8_cuda_scales_to_e8m0(d_e, d_s, n, d_flag, NULL) == FP8_OK);
    to_host(e, d_e, n);
    ck_assert(dev_flag(d_flag) == 1);
    for (size_t i = 0; i < n; i++) ck_assert(e[i] == 0xAB);
    cudaFree(d_s), cudaFree(d_back), cudaFree(d_e), cudaFree(d_flag);
}
END_TEST

/* ---- GEMM ---- */

/* The CPU GEMM's defaults (accum_bits 0: here the tensor cores accumulate) with the given interval. */
static fp8_gemm_config gemm_config(size_t promote_interval)
{
    fp8_gemm_config c = fp8_gemm_config_init();
    c.promote_interval = promote_interval;
    return c;
}

static int compute_capability(void)
{
    int device = 0, major = 0, minor = 0;
    ck_assert(cudaGetDevice(&device) == cudaSuccess);
    ck_assert(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device) == cudaSuccess);
    ck_assert(cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device) == cudaSuccess);
    return major * 10 + minor;
}

/* A quantized operand on both sides: the CPU's codes and scales, the same on the device. */
typedef struct {
    fp8_qmatrix host, dev;
    float *deq; /* dequantized, rows x cols, for the reference */
} test_operand;

/* rows x cols (row stride ld) of N(mean, 1) values, quantized with the given blocks. */
static test_operand make_operand(size_t rows, size_t cols, size_t ld, fp8_format fmt, size_t br, size_t bc,
                                 double mean, uint64_t seed)
{
    rng_seed(seed);
    float *x = malloc(rows * ld * sizeof *x);
    for (size_t i = 0; i < rows * ld; i++) x[i] = (float)(mean + rng_normal());
    fp8_quant_config cfg = fp8_quant_config_init(fmt, br, bc);
    const size_t ns = fp8_scale_count(rows, cols, br, bc);
    uint8_t *q = calloc(rows * ld, 1);
    float *s = malloc(ns * sizeof *s);
    ck_assert(fp8_quantize_f32(&cfg, x, rows, cols, ld, q, ld, s) == FP8_OK);
    test_operand op = {.host = {.data = q, .rows = rows, .cols = cols, .ld = ld, .format = fmt, .scale_inv = s,
                                .block_rows = br, .block_cols = bc}};
    op.dev = op.host;
    op.dev.data = dev_copy_of(q, rows * ld);
    op.dev.scale_inv = dev_copy_of(s, ns * sizeof *s);
    op.deq = malloc(rows * cols * sizeof *op.deq);
    ck_assert(fp8_dequantize_f32(&cfg, q, rows, cols, ld, s, op.deq, cols) == FP8_OK);
    free(x);
    return op;
}

static void free_operand(test_operand *op)
{
    cudaFree((void *)op->dev.data), cudaFree((void *)op->dev.scale_inv);
    free((void *)op->host.data), free((void *)op->host.scale_inv), free(op->deq);
}

static double bf16_value(uint16_t b) { return (double)f32_from_bits((uint32_t)b << 16); }

/* Checks D (FP32, or BF16 when d16) against alpha * A * B^T + beta * D0 in FP64:
 * |D - ref| <= tol * (alpha * sum |a b| + |beta D0|), plus half a BF16 ulp of ref for BF16 output.
 * Returns the largest error relative to sum |a b|. */
static double check_product(const test_operand *a, const test_operand *b, double alpha, double beta,
                            const float *d0, const void *d, int d16, size_t ldd, double tol, const char *what)
{
    const size_t M = a->host.rows, N = b->host.rows, K = a->host.cols;
    double worst = 0;
    size_t wrong = 0, first_m = 0, first_n = 0;
    double first_got = 0, first_ref = 0, first_mag = 0;
    for (size_t m = 0; m < M; m++)
        for (size_t n = 0; n < N; n++) {
            double sum = 0, mag = 0;
            for (size_t k = 0; k < K; k++) {
                const double t = (double)a->deq[m * K + k] * (double)b->deq[n * K + k];
                sum += t, mag += fabs(t);
            }
            const double c = beta != 0 ? beta * d0[m * ldd + n] : 0;
            const double ref = alpha * sum + c;
            const double got = d16 ? bf16_value(((const uint16_t *)d)[m * ldd + n]) : ((const float *)d)[m * ldd + n];
            const double bound = tol * (fabs(alpha) * mag + fabs(c)) + (d16 ? fabs(ref) * 0x1p-8 : 0) + 1e-30;
            if (!(fabs(got - ref) <= bound) && wrong++ == 0)
                first_m = m, first_n = n, first_got = got, first_ref = ref, first_mag = mag;
            if (mag > 0 && fabs(got - ref) / (fabs(alpha) * mag) > worst) worst = fabs(got - ref) / (fabs(alpha) * mag);
        }
    ck_assert_msg(wrong == 0, "%s: %zu of %zu outputs wrong, first D(%zu, %zu) = %.9g, reference %.9g (sum |ab| %.3g)",
                  what, wrong, M * N, first_m, first_n, first_got, first_ref, first_mag);
    return worst;
}

/* Scale pairs (block_rows, block_cols of A, then of B) and formats for cuBLASLt. */
static const size_t lt_scales[][4] = {{0, 0, 0, 0}, {1, 0, 1, 0}, {1, 0, 0, 0}, {1, 128, 128, 128},
                                      {128, 128, 1, 128}, {1, 128, 1, 128}};
static const fp8_format lt_formats[][2] = {{FP8_E4M3, FP8_E4M3}, {FP8_E4M3, FP8_E5M2}, {FP8_E5M2, FP8_E4M3}};

/* Loop: scale pair x formats x output (f32, bf16) x beta (0, 0.5). On sm_89 only per-tensor runs;
 * the rest must say FP8_ERR_UNSUPPORTED. */
START_TEST(cublaslt_gemm)
{
    const size_t sc = (size_t)_i % 6, f = ((size_t)_i / 6) % 3;
    const int d16 = (_i / 18) % 2;
    const double beta = _i / 36 ? 0.5 : 0.0;
    const size_t M = 256, N = 384, K = 512, ldd = N + 16;
    test_operand a = make_operand(M, K, K, lt_formats[f][0], lt_scales[sc][0], lt_scales[sc][1], 0.0, 7000 + _i);
    test_operand b = make_operand(N, K, K + 32, lt_formats[f][1], lt_scales[sc][2], lt_scales[sc][3], 0.0, 8000 + _i);
    float *d0 = malloc(M * ldd * sizeof *d0);
    uint16_t *d0_16 = malloc(M * ldd * sizeof *d0_16);
    for (size_t i = 0; i < M * ldd; i++) d0_16[i] = (uint16_t)(f32_bits((float)rng_normal()) >> 16);
    for (size_t i = 0; i < M * ldd; i++) d0[i] = (float)bf16_value(d0_16[i]);
    void *d_d = d16 ? dev_copy_of(d0_16, M * ldd * 2) : dev_copy_of(d0, M * ldd * 4);
    fp8_cuda_gemm *h = NULL;
    ck_assert_msg(fp8_cuda_gemm_create(&h) == FP8_OK, "%s", fp8_cuda_last_error());
    fp8_cuda_gemm_config cfg = fp8_cuda_gemm_config_init();
    cfg.alpha = 1.5f;
    cfg.beta = (float)beta;
    cfg.tune = _i % 4 == 0 ? 4 : 0; /* the timed choice among candidates gives the same product */
    const fp8_status st = d16 ? fp8_cuda_gemm_bf16(h, &cfg, &a.dev, &b.dev, d_d, ldd, NULL)
                              : fp8_cuda_gemm_f32(h, &cfg, &a.dev, &b.dev, d_d, ldd, NULL);
    char what[128];
    snprintf(what, sizeof what, "cuBLASLt %zux%zu x %zux%zu, %s x %s, %s out, beta %g", lt_scales[sc][0],
             lt_scales[sc][1], lt_scales[sc][2], lt_scales[sc][3], fp8_format_name(lt_formats[f][0]),
             fp8_format_name(lt_formats[f][1]), d16 ? "bf16" : "f32", beta);
    /* NVIDIA documents the vector and block scale modes for E4M3 (and the per-row mode with BF16
     * output): for E5M2 operands and per-row FP32 output cuBLASLt may have no kernel */
    const int has_e5m2 = lt_formats[f][0] == FP8_E5M2 || lt_formats[f][1] == FP8_E5M2;
    const int undocumented = sc > 0 && (has_e5m2 || (sc <= 2 && !d16));
    if (sc > 0 && compute_capability() != 90) {
        ck_assert_msg(st == FP8_ERR_UNSUPPORTED, "%s: %s", what, fp8_status_string(st));
    } else if (undocumented && st == FP8_ERR_UNSUPPORTED) {
        printf("test_cuda: %s: unsupported (%s)\n", what, fp8_cuda_last_error());
    } else {
        ck_assert_msg(st == FP8_OK, "%s: %s (%s)", what, fp8_status_string(st), fp8_cuda_last_error());
        void *got = malloc(M * ldd * 4);
        to_host(got, d_d, M * ldd * (d16 ? 2 : 4));
        check_product(&a, &b, cfg.alpha, beta, d0, got, d16, ldd, 0x1p-8, what);
        free(got);
    }
    fp8_cuda_gemm_destroy(h);
    cudaFree(d_d);
    free(d0), free(d0_16);
    free_operand(&a), free_operand(&b);
}
END_TEST

/* Fast accumulation (per tensor): a looser bound, still the right product. Then what cuBLASLt
 * cannot do is refused with FP8_ERR_UNSUPPORTED and a reason, and bad operands with INVALID_ARGUMENT. */
START_TEST(cublaslt_gemm_limits)
{
    const size_t M = 128, N = 128, K = 256;
    test_operand a = make_operand(M, K, K, FP8_E4M3, 0, 0, 0.0, 9001);
    test_operand b = make_operand(N, K, K, FP8_E4M3, 0, 0, 0.0, 9002);
    float *d_d = dev_alloc(M * N * 4), *d = malloc(M * N * 4);
    fp8_cuda_gemm *h = NULL;
    ck_assert(fp8_cuda_gemm_create(&h) == FP8_OK);
    fp8_cuda_gemm_config cfg = fp8_cuda_gemm_config_init();
    cfg.fast_accum = 1;
    ck_assert_msg(fp8_cuda_gemm_f32(h, &cfg, &a.dev, &b.dev, d_d, N, NULL) == FP8_OK, "%s", fp8_cuda_last_error());
    to_host(d, d_d, M * N * 4);
    check_product(&a, &b, 1, 0, NULL, d, 0, N, 0x1p-5, "fast accumulation");
    cfg.fast_accum = 0;

    fp8_qmatrix e5 = b.dev;
    e5.format = FP8_E5M2;
    fp8_qmatrix a5 = a.dev;
    a5.format = FP8_E5M2;
    ck_assert(fp8_cuda_gemm_f32(h, &cfg, &a5, &e5, d_d, N, NULL) == FP8_ERR_UNSUPPORTED);
    ck_assert(strstr(fp8_cuda_last_error(), "E5M2") != NULL);
    fp8_qmatrix fnuz = b.dev;
    fnuz.format = FP8_E4M3FNUZ;
    ck_assert(fp8_cuda_gemm_f32(h, &cfg, &a.dev, &fnuz, d_d, N, NULL) == FP8_ERR_UNSUPPORTED);
    fp8_qmatrix odd_ld = b.dev;
    odd_ld.ld = K + 1;
    odd_ld.rows = N - 1;
    ck_assert(fp8_cuda_gemm_f32(h, &cfg, &a.dev, &odd_ld, d_d, N, NULL) == FP8_ERR_UNSUPPORTED);
    fp8_qmatrix blk_a = a.dev, blk_b = b.dev;
    blk_a.block_rows = blk_a.block_cols = blk_b.block_rows = blk_b.block_cols = 128;
    ck_assert(fp8_cuda_gemm_f32(h, &cfg, &blk_a, &blk_b, d_d, N, NULL) == FP8_ERR_UNSUPPORTED); /* BLK x BLK */
    fp8_qmatrix tile = a.dev;
    tile.block_rows = 1, tile.block_cols = 128;
    /* K blocks differ */
    ck_assert(fp8_cuda_gemm_f32(h, &cfg, &tile, &b.dev, d_d, N, NULL) == FP8_ERR_INVALID_ARGUMENT);
    fp8_qmatrix short_k = b.dev;
    short_k.cols = K - 16;
    ck_assert(fp8_cuda_gemm_f32(h, &cfg, &a.dev, &short_k, d_d, N, NULL) == FP8_ERR_INVALID_ARGUMENT);
    ck_assert(fp8_cuda_gemm_f32(h, &cfg, &a.dev, &b.dev, d_d, N - 1, NULL) == FP8_ERR_INVALID_ARGUMENT);
    ck_assert(fp8_cuda_gemm_f32(NULL, &cfg, &a.dev, &b.dev, d_d, N, NULL) == FP8_ERR_INVALID_ARGUMENT);
    cfg.tune = 33;
    ck_assert(fp8_cuda_gemm_f32(h, &cfg, &a.dev, &b.dev, d_d, N, NULL) == FP8_ERR_INVALID_ARGUMENT);
    cfg.tune = -1;
    ck_assert(fp8_cuda_gemm_f32(h, &cfg, &a.dev, &b.dev, d_d, N, NULL) == FP8_ERR_INVALID_ARGUMENT);
    fp8_cuda_gemm_destroy(h);
    cudaFree(d_d);
    free(d);
    free_operand(&a), free_operand(&b);
}
END_TEST

/* The BF16 baseline against FP64. */
START_TEST(cublaslt_bf16_gemm)
{
    const size_t M = 192, N = 320, K = 272;
    uint16_t *a = malloc(M * K * 2), *b = malloc(N * K * 2), *d = malloc(M * N * 2);
    rng_seed(9100);
    for (size_t i = 0; i < M * K; i++) a[i] = (uint16_t)(f32_bits((float)rng_normal()) >> 16);
    for (size_t i = 0; i < N * K; i++) b[i] = (uint16_t)(f32_bits((float)rng_normal()) >> 16);
    uint16_t *d_a = dev_copy_of(a, M * K * 2), *d_b = dev_copy_of(b, N * K * 2), *d_d = dev_alloc(M * N * 2);
    fp8_cuda_gemm *h = NULL;
    ck_assert(fp8_cuda_gemm_create(&h) == FP8_OK);
    fp8_cuda_gemm_config cfg = fp8_cuda_gemm_config_init();
    ck_assert_msg(fp8_cuda_bf16_gemm(h, &cfg, M, N, K, d_a, K, d_b, K, d_d, N, NULL) == FP8_OK, "%s",
                  fp8_cuda_last_error());
    to_host(d, d_d, M * N * 2);
    for (size_t m = 0; m < M; m++)
        for (size_t n = 0; n < N; n++) {
            double ref = 0, mag = 0;
            for (size_t k = 0; k < K; k++) {
                ref += bf16_value(a[m * K + k]) * bf16_value(b[n * K + k]);
                mag += fabs(bf16_value(a[m * K + k]) * bf16_value(b[n * K + k]));
            }
            const double got = bf16_value(d[m * N + n]);
            ck_assert_msg(fabs(got - ref) <= fabs(ref) * 0x1p-8 + mag * 0x1p-12, "bf16 GEMM (%zu, %zu): %g vs %g", m, n,
                          got, ref);
        }
    fp8_cuda_gemm_destroy(h);
    cudaFree(d_a), cudaFree(d_b), cudaFree(d_d);
    free(a), free(b), free(d);
}
END_TEST

/* The own mma.sync kernel. Scale pairs cutting K alike, promotion intervals, formats, odd sizes,
 * ld > cols (byte loads), beta. Loop: case x interval. */
static const struct {
    size_t a_br, a_bc, b_br, b_bc;
    fp8_format fa, fb;
} mma_cases[] = {
    {0, 0, 0, 0, FP8_E4M3, FP8_E4M3},       {1, 0, 1, 0, FP8_E4M3, FP8_E5M2},
    {1, 128, 128, 128, FP8_E4M3, FP8_E4M3}, {128, 128, 1, 128, FP8_E5M2, FP8_E4M3},
    {1, 128, 1, 128, FP8_E5M2, FP8_E5M2},   {64, 128, 3, 128, FP8_E4M3, FP8_E4M3},
};

START_TEST(mma_gemm)
{
    const size_t c = (size_t)_i % 6, interval_index = (size_t)_i / 6;
    const size_t intervals_blocked[] = {32, 64, 128}, intervals_whole[] = {0, 32, 96};
    const int blocked = mma_cases[c].a_bc == 128;
    const size_t P = blocked ? intervals_blocked[interval_index] : intervals_whole[interval_index];
    const size_t M = 200, N = 150, K = 384 + (blocked ? 0 : 17), lda = K + 3, ldd = N + 5;
    test_operand a = make_operand(M, K, lda, mma_cases[c].fa, mma_cases[c].a_br, mma_cases[c].a_bc, 0.0, 9200 + _i);
    test_operand b = make_operand(N, K, K, mma_cases[c].fb, mma_cases[c].b_br, mma_cases[c].b_bc, 0.0, 9300 + _i);
    float *d0 = malloc(M * ldd * 4), *d = malloc(M * ldd * 4);
    for (size_t i = 0; i < M * ldd; i++) d0[i] = (float)rng_normal();
    float *d_d = dev_copy_of(d0, M * ldd * 4);
    fp8_gemm_config cfg = gemm_config(P);
    cfg.alpha = 0.75f;
    cfg.beta = _i % 2 ? -1.25f : 0.0f;
    char what[128];
    snprintf(what, sizeof what, "mma case %zu, promote_interval %zu", c, P);
    ck_assert_msg(fp8_cuda_gemm_mma_f32(&cfg, &a.dev, &b.dev, d_d, ldd, NULL) == FP8_OK, "%s: %s", what,
                  fp8_cuda_last_error());
    to_host(d, d_d, M * ldd * 4);
    check_product(&a, &b, cfg.alpha, cfg.beta, d0, d, 0, ldd, P == 0 ? 0x1p-6 : 0x1p-8, what);
    cudaFree(d_d);
    free(d0), free(d);
    free_operand(&a), free_operand(&b);
}
END_TEST

START_TEST(mma_gemm_limits)
{
    test_operand a = make_operand(64, 256, 256, FP8_E4M3, 1, 128, 0.0, 9400);
    test_operand b = make_operand(64, 256, 256, FP8_E4M3, 1, 128, 0.0, 9401);
    float *d_d = dev_alloc(64 * 64 * 4);
    fp8_gemm_config cfg = gemm_config(48); /* divides no 128 block: invalid, as on the CPU */
    ck_assert(fp8_cuda_gemm_mma_f32(&cfg, &a.dev, &b.dev, d_d, 64, NULL) == FP8_ERR_INVALID_ARGUMENT);
    cfg.promote_interval = 0;
    ck_assert(fp8_cuda_gemm_mma_f32(&cfg, &a.dev, &b.dev, d_d, 64, NULL) == FP8_ERR_INVALID_ARGUMENT);
    cfg.promote_interval = 16; /* valid on the CPU, finer than one MMA */
    ck_assert(fp8_cuda_gemm_mma_f32(&cfg, &a.dev, &b.dev, d_d, 64, NULL) == FP8_ERR_UNSUPPORTED);
    cfg.promote_interval = 128;
    cfg.accum_bits = 14;
    ck_assert(fp8_cuda_gemm_mma_f32(&cfg, &a.dev, &b.dev, d_d, 64, NULL) == FP8_ERR_UNSUPPORTED);
    cfg.accum_bits = 0;
    fp8_qmatrix fnuz = b.dev;
    fnuz.format = FP8_E5M2FNUZ;
    ck_assert(fp8_cuda_gemm_mma_f32(&cfg, &a.dev, &fnuz, d_d, 64, NULL) == FP8_ERR_UNSUPPORTED);
    cudaFree(d_d);
    free_operand(&a), free_operand(&b);
}
END_TEST

/* ---- linear layers ---- */

/* The blocks each recipe quantizes with, written out here (not taken from the library): the
 * activations' and the weights', along each GEMM's K; {0, 0} is per tensor. */
typedef struct {
    size_t rows, k;
} test_blocks;

static test_blocks act_blocks(fp8_linear_recipe r)
{
    return r == FP8_LINEAR_DEEPSEEK ? (test_blocks){1, 128}
           : r == FP8_LINEAR_ROWWISE ? (test_blocks){1, 0}
           : r == FP8_LINEAR_MX      ? (test_blocks){1, 32}
                                     : (test_blocks){0, 0};
}

static test_blocks weight_blocks(fp8_linear_recipe r)
{
    return r == FP8_LINEAR_DEEPSEEK ? (test_blocks){128, 128} : act_blocks(r);
}

static test_blocks swapped(test_blocks b) { return (test_blocks){b.k, b.rows}; }

/* A finite FP32 value rounded to the nearest BF16 value, ties to the even one, by comparing
 * the two BF16 neighbours in FP64 (independent of the library's bit trick). */
static float bf16_nearest(float x)
{
    const uint32_t toward_zero = f32_bits(x) & 0xFFFF0000u;
    const double lo = f32_from_bits(toward_zero), hi = f32_from_bits(toward_zero + 0x10000u);
    const double dlo = fabs((double)x - lo), dhi = fabs(hi - (double)x);
    if (dlo < dhi || (dlo == dhi && ((toward_zero >> 16) & 1) == 0)) return (float)lo;
    return (float)hi;
}

/* The values the layer multiplies for S (rows x cols, lds): S quantized with blocks b and
 * dequantized (FP8 recipes), rounded to BF16, or S itself (FP32); rows x cols, or the
 * transpose (cols x rows) when `transpose`. */
static float *operand_values(fp8_linear_recipe r, const float *S, size_t rows, size_t cols, size_t lds,
                             fp8_format fmt, test_blocks b, int transpose)
{
    float *v = malloc(rows * cols * sizeof *v), *out = malloc(rows * cols * sizeof *out);
    if (r == FP8_LINEAR_FP32 || r == FP8_LINEAR_BF16) {
        for (size_t i = 0; i < rows; i++)
            for (size_t j = 0; j < cols; j++) {
                const float x = S[i * lds + j];
                v[i * cols + j] = r == FP8_LINEAR_FP32 ? x : bf16_nearest(x);
            }
    } else {
        fp8_quant_config qc = fp8_quant_config_init(fmt, b.rows, b.k);
        qc.scale_mode = r == FP8_LINEAR_MX ? FP8_SCALE_POW2_OCP_MX : FP8_SCALE_F32;
        uint8_t *q = malloc(rows * cols);
        float *s = malloc(fp8_scale_count(rows, cols, b.rows, b.k) * sizeof *s);
        ck_assert(fp8_quantize_f32(&qc, S, rows, cols, lds, q, cols, s) == FP8_OK);
        ck_assert(fp8_dequantize_f32(&qc, q, rows, cols, cols, s, v, cols) == FP8_OK);
        free(q), free(s);
    }
    if (!transpose) {
        free(out);
        return v;
    }
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < cols; j++) out[j * rows + i] = v[i * cols + j];
    free(v);
    return out;
}

/* An operand for check_product: only its shape and values are read. */
static test_operand values_operand(float *deq, size_t rows, size_t cols)
{
    test_operand op;
    memset(&op, 0, sizeof op);
    op.host.rows = rows, op.host.cols = cols;
    op.deq = deq;
    return op;
}

/* The GPU's output against the CPU layer's: |gpu - cpu| <= tol * sum |a b| (+ one BF16 ulp of
 * the CPU value for BF16 output). Both sum the same products in FP32 with promotion, in
 * different orders and on different hardware, so they differ by rounding only. */
static void assert_tracks_cpu(const test_operand *a, const test_operand *b, const void *gpu, const void *cpu,
                              size_t ldd, int d16, double tol, const char *what)
{
    const size_t M = a->host.rows, N = b->host.rows, K = a->host.cols;
    for (size_t m = 0; m < M; m++)
        for (size_t n = 0; n < N; n++) {
            double mag = 0;
            for (size_t k = 0; k < K; k++) mag += fabs((double)a->deq[m * K + k] * b->deq[n * K + k]);
            const double g = d16 ? bf16_value(((const uint16_t *)gpu)[m * ldd + n]) : ((const float *)gpu)[m * ldd + n];
            const double c = d16 ? bf16_value(((const uint16_t *)cpu)[m * ldd + n]) : ((const float *)cpu)[m * ldd + n];
            const double bound = tol * mag + (d16 ? fabs(c) * 0x1p-8 : 0) + 1e-30;
            ck_assert_msg(fabs(g - c) <= bound, "%s: (%zu, %zu): GPU %.9g, CPU layer %.9g, bound %.3g (sum |ab| %.3g)",
                          what, m, n, g, c, bound, mag);
        }
}

static const double linear_track_tol = 0x1p-10; /* GPU vs CPU layer, relative to sum |a b| */

typedef struct {
    size_t T, K, N, ldx, ldy, lddy, lddx;
} layer_shape;

static const layer_shape layer_shapes[] = {
    {256, 384, 256, 384, 256, 256, 384}, /* aligned: cuBLASLt's 1x128 and 128x128 scale modes on sm_90 */
    {136, 200, 152, 208, 160, 156, 204}, /* not multiples of 128, ld > cols */
    {97, 131, 75, 134, 77, 79, 133},     /* nothing aligned: the mma kernel (dense recipes: refused) */
};

/* Host and device copies of one step's matrices. */
typedef struct {
    float *X, *W, *dY, *dW0;
    float *d_X, *d_W, *d_dY;
} step_data;

static step_data make_step(const layer_shape *sh, double x_scale, double w_scale, double dy_scale, uint64_t seed)
{
    step_data d;
    rng_seed(seed);
    printf("test_cuda: linear step data, seed %llu\n", (unsigned long long)seed);
    d.X = malloc(sh->T * sh->ldx * sizeof(float));
    d.W = malloc(sh->N * sh->K * sizeof(float));
    d.dY = malloc(sh->T * sh->lddy * sizeof(float));
    d.dW0 = malloc(sh->N * sh->K * sizeof(float));
    for (size_t i = 0; i < sh->T * sh->ldx; i++) d.X[i] = (float)(rng_normal() * x_scale);
    for (size_t i = 0; i < sh->N * sh->K; i++) d.W[i] = (float)(rng_normal() * w_scale);
    for (size_t i = 0; i < sh->T * sh->lddy; i++) d.dY[i] = (float)(rng_normal() * dy_scale);
    for (size_t i = 0; i < sh->N * sh->K; i++) d.dW0[i] = (float)rng_normal();
    d.d_X = dev_copy_of(d.X, sh->T * sh->ldx * sizeof(float));
    d.d_W = dev_copy_of(d.W, sh->N * sh->K * sizeof(float));
    d.d_dY = dev_copy_of(d.dY, sh->T * sh->lddy * sizeof(float));
    return d;
}

static void free_step(step_data *d)
{
    cudaFree(d->d_X), cudaFree(d->d_W), cudaFree(d->d_dY);
    free(d->X), free(d->W), free(d->dY), free(d->dW0);
}

/* A CPU layer and a GPU layer of the same configuration, side by side. */
typedef struct {
    fp8_linear *cpu;
    void *cpu_state, *cpu_ws;
    size_t cpu_ws_bytes;
    fp8_cuda_linear *gpu;
    fp8_cuda_gemm *gemm;
    void *gpu_state, *gpu_ws;
    size_t gpu_ws_bytes;
    int *d_flag;
} layer_pair;

static fp8_status make_pair(layer_pair *p, const fp8_linear_config *cfg, const layer_shape *sh)
{
    memset(p, 0, sizeof *p);
    const size_t cs = fp8_linear_state_size(cfg, sh->K, sh->N, sh->T);
    p->cpu_state = malloc(cs);
    ck_assert(fp8_linear_init(&p->cpu, p->cpu_state, cs, cfg, sh->K, sh->N, sh->T) == FP8_OK);
    p->cpu_ws_bytes = fp8_linear_workspace_size(p->cpu);
    p->cpu_ws = malloc(p->cpu_ws_bytes);
    ck_assert_msg(fp8_cuda_gemm_create(&p->gemm) == FP8_OK, "%s", fp8_cuda_last_error());
    const size_t gs = fp8_cuda_linear_state_size(cfg, sh->K, sh->N, sh->T);
    ck_assert(gs > 0);
    p->gpu_state = dev_alloc(gs);
    const fp8_status st = fp8_cuda_linear_create(&p->gpu, cfg, sh->K, sh->N, sh->T, p->gemm, p->gpu_state, gs);
    if (st != FP8_OK) return st;
    p->gpu_ws_bytes = fp8_cuda_linear_workspace_size(p->gpu);
    ck_assert(p->gpu_ws_bytes > 0);
    p->gpu_ws = dev_alloc(p->gpu_ws_bytes);
    p->d_flag = dev_alloc(sizeof(int));
    return FP8_OK;
}

static void free_pair(layer_pair *p)
{
    fp8_cuda_linear_destroy(p->gpu);
    fp8_cuda_gemm_destroy(p->gemm);
    cudaFree(p->gpu_state), cudaFree(p->gpu_ws), cudaFree(p->d_flag);
    free(p->cpu_state), free(p->cpu_ws);
}

/* One training step on both layers: forward (FP32 Y, and BF16 Y in a second forward unless
 * `once`, which delayed scaling needs: each forward moves the histories on), backward with dX
 * and dW accumulated onto dW0. Compares the GPU with the CPU layer and, when `reference`, both
 * outputs of the GPU with an FP64 product of the quantized operands (check_product's bound). */
static void compare_step(layer_pair *p, const fp8_linear_config *cfg, const layer_shape *sh, const step_data *d,
                         int once, int reference, const char *label)
{
    const size_t T = sh->T, K = sh->K, N = sh->N;
    const fp8_linear_recipe r = cfg->recipe;
    char what[160];
    float *y = malloc(T * sh->ldy * 4), *gy = malloc(T * sh->ldy * 4);
    uint16_t *yb = malloc(T * sh->ldy * 2), *gyb = malloc(T * sh->ldy * 2);
    float *dx = malloc(T * sh->lddx * 4), *gdx = malloc(T * sh->lddx * 4);
    float *dw = malloc(N * K * 4), *gdw = malloc(N * K * 4);
    float *d_y = dev_alloc(T * sh->ldy * 4), *d_dx = dev_alloc(T * sh->lddx * 4);
    uint16_t *d_yb = dev_alloc(T * sh->ldy * 2);
    float *d_dw = dev_copy_of(d->dW0, N * K * 4);
    memcpy(dw, d->dW0, N * K * 4);

    /* forward */
    fp8_status cs, gs;
    if (!once) {
        cs = fp8_linear_forward_bf16(p->cpu, d->X, sh->ldx, T, d->W, yb, sh->ldy, p->cpu_ws, p->cpu_ws_bytes);
        gs = fp8_cuda_linear_forward_bf16(p->gpu, d->d_X, sh->ldx, T, d->d_W, d_yb, sh->ldy, p->gpu_ws,
                                          p->gpu_ws_bytes, p->d_flag, NULL);
        ck_assert_msg(cs == FP8_OK, "%s: CPU forward_bf16: %s", label, fp8_status_string(cs));
        ck_assert_msg(gs == FP8_OK, "%s: GPU forward_bf16: %s (%s)", label, fp8_status_string(gs), fp8_cuda_last_error());
        to_host(gyb, d_yb, T * sh->ldy * 2);
        ck_assert_msg(dev_flag(p->d_flag) == 0, "%s: forward_bf16: non-finite flag set on finite input", label);
    }
    cs = fp8_linear_forward(p->cpu, d->X, sh->ldx, T, d->W, y, sh->ldy, p->cpu_ws, p->cpu_ws_bytes);
    gs = fp8_cuda_linear_forward(p->gpu, d->d_X, sh->ldx, T, d->d_W, d_y, sh->ldy, p->gpu_ws, p->gpu_ws_bytes,
                                 p->d_flag, NULL);
    ck_assert_msg(cs == FP8_OK, "%s: CPU forward: %s", label, fp8_status_string(cs));
    ck_assert_msg(gs == FP8_OK, "%s: GPU forward: %s (%s)", label, fp8_status_string(gs), fp8_cuda_last_error());
    to_host(gy, d_y, T * sh->ldy * 4);
    ck_assert_msg(dev_flag(p->d_flag) == 0, "%s: forward: non-finite flag set on finite input", label);

    /* backward */
    const int cached = fp8_linear_saved_input_bytes(p->cpu, T) > 0;
    cs = fp8_linear_backward(p->cpu, cached ? NULL : d->X, sh->ldx, d->dY, sh->lddy, T, d->W, dx, sh->lddx, dw,
                             p->cpu_ws, p->cpu_ws_bytes);
    gs = fp8_cuda_linear_backward(p->gpu, cached ? NULL : d->d_X, sh->ldx, d->d_dY, sh->lddy, T, d->d_W, d_dx,
                                  sh->lddx, d_dw, p->gpu_ws, p->gpu_ws_bytes, p->d_flag, NULL);
    ck_assert_msg(cs == FP8_OK, "%s: CPU backward: %s", label, fp8_status_string(cs));
    ck_assert_msg(gs == FP8_OK, "%s: GPU backward: %s (%s)", label, fp8_status_string(gs), fp8_cuda_last_error());
    to_host(gdx, d_dx, T * sh->lddx * 4);
    to_host(gdw, d_dw, N * K * 4);
    ck_assert_msg(dev_flag(p->d_flag) == 0, "%s: backward: non-finite flag set on finite input", label);

    /* the values each GEMM multiplies (for the bounds, and for the reference) */
    const test_blocks ab = act_blocks(r), wb = weight_blocks(r);
    const fp8_format xf = cfg->format, gf = cfg->grad_format;
    test_operand fx = values_operand(operand_values(r, d->X, T, K, sh->ldx, xf, ab, 0), T, K);
    test_operand fw = values_operand(operand_values(r, d->W, N, K, K, xf, wb, 0), N, K);
    test_operand bdy = values_operand(operand_values(r, d->dY, T, N, sh->lddy, gf, ab, 0), T, N);
    test_operand bwt = values_operand(operand_values(r, d->W, N, K, K, xf, swapped(wb), 1), K, N);
    test_operand wdyt = values_operand(operand_values(r, d->dY, T, N, sh->lddy, gf, swapped(ab), 1), N, T);
    test_operand wxt = values_operand(operand_values(r, d->X, T, K, sh->ldx, xf, swapped(ab), 1), K, T);

    snprintf(what, sizeof what, "%s: Y (FP32) vs CPU layer", label);
    assert_tracks_cpu(&fx, &fw, gy, y, sh->ldy, 0, linear_track_tol, what);
    if (!once) {
        snprintf(what, sizeof what, "%s: Y (BF16) vs CPU layer", label);
        assert_tracks_cpu(&fx, &fw, gyb, yb, sh->ldy, 1, linear_track_tol, what);
    }
    snprintf(what, sizeof what, "%s: dX vs CPU layer", label);
    assert_tracks_cpu(&bdy, &bwt, gdx, dx, sh->lddx, 0, linear_track_tol, what);
    /* dW = dY^T X + dW0: A = dY^T (N x T), B = X^T (K x T); dW0 is large next to the products, so
     * the bound allows its rounding on both sides (a few FP32 ulps) */
    snprintf(what, sizeof what, "%s: dW vs CPU layer", label);
    for (size_t n = 0; n < N; n++)
        for (size_t k = 0; k < K; k++) {
            double mag = 0;
            for (size_t t = 0; t < T; t++) mag += fabs((double)wdyt.deq[n * T + t] * wxt.deq[k * T + t]);
            const double bound = linear_track_tol * mag + fabs(d->dW0[n * K + k]) * 0x1p-21;
            ck_assert_msg(fabs((double)gdw[n * K + k] - dw[n * K + k]) <= bound,
                          "%s: (%zu, %zu): GPU %.9g, CPU layer %.9g, bound %.3g (sum |ab| %.3g)", what, n, k,
                          (double)gdw[n * K + k], (double)dw[n * K + k], bound, mag);
        }

    if (reference) {
        snprintf(what, sizeof what, "%s: Y (FP32) vs FP64 reference", label);
        check_product(&fx, &fw, 1, 0, NULL, gy, 0, sh->ldy, 0x1p-8, what);
        if (!once) {
            snprintf(what, sizeof what, "%s: Y (BF16) vs FP64 reference", label);
            check_product(&fx, &fw, 1, 0, NULL, gyb, 1, sh->ldy, 0x1p-8, what);
        }
        snprintf(what, sizeof what, "%s: dX vs FP64 reference", label);
        check_product(&bdy, &bwt, 1, 0, NULL, gdx, 0, sh->lddx, 0x1p-8, what);
        snprintf(what, sizeof what, "%s: dW (onto dW0) vs FP64 reference", label);
        check_product(&wdyt, &wxt, 1, 1, d->dW0, gdw, 0, K, 0x1p-8, what);
    }
    free(fx.deq), free(fw.deq), free(bdy.deq), free(bwt.deq), free(wdyt.deq), free(wxt.deq);
    cudaFree(d_y), cudaFree(d_dx), cudaFree(d_yb), cudaFree(d_dw);
    free(y), free(gy), free(yb), free(gyb), free(dx), free(gdx), free(dw), free(gdw);
}

/* Loop: recipe x shape. Each recipe's forward (FP32 and BF16 Y) and backward against the CPU
 * layer and an FP64 reference (delayed scaling: the CPU layer only; see linear_delayed_steps). */
START_TEST(linear_matches_cpu)
{
    const fp8_linear_recipe r = (fp8_linear_recipe)(_i % 7);
    const layer_shape *sh = &layer_shapes[_i / 7];
    const int dense = r == FP8_LINEAR_BF16 || r == FP8_LINEAR_FP32;
    fp8_linear_config cfg = fp8_linear_config_init(r);
    char label[96];
    snprintf(label, sizeof label, "linear %s, T %zu K %zu N %zu", fp8_linear_recipe_name(r), sh->T, sh->K, sh->N);
    layer_pair p;
    const fp8_status st = make_pair(&p, &cfg, sh);
    if (dense && sh->K % 8 != 0) {
        ck_assert_msg(st == FP8_ERR_UNSUPPORTED, "%s: create: %s, want FP8_ERR_UNSUPPORTED", label,
                      fp8_status_string(st));
        free_pair(&p);
        return;
    }
    ck_assert_msg(st == FP8_OK, "%s: create: %s (%s)", label, fp8_status_string(st), fp8_cuda_last_error());
    ck_assert_msg(fp8_cuda_linear_saved_input_bytes(p.gpu, sh->T) == fp8_linear_saved_input_bytes(p.cpu, sh->T),
                  "%s: saved_input_bytes", label);
    step_data d = make_step(sh, 1.0, 0.05, 1e-3, 12000 + (uint64_t)_i);
    compare_step(&p, &cfg, sh, &d, r == FP8_LINEAR_DELAYED, r != FP8_LINEAR_DELAYED, label);

    /* a NaN in X and an infinity in dY: the flag says so, as the CPU's FP8_ERR_NONFINITE */
    d.X[5] = NAN;
    d.dY[sh->lddy + 3] = INFINITY;
    ck_assert(cudaMemcpy(d.d_X, d.X, sh->T * sh->ldx * 4, cudaMemcpyHostToDevice) == cudaSuccess);
    ck_assert(cudaMemcpy(d.d_dY, d.dY, sh->T * sh->lddy * 4, cudaMemcpyHostToDevice) == cudaSuccess);
    float *d_y = dev_alloc(sh->T * sh->ldy * 4), *d_dw = dev_copy_of(d.dW0, sh->N * sh->K * 4);
    ck_assert(fp8_cuda_linear_forward(p.gpu, d.d_X, sh->ldx, sh->T, d.d_W, d_y, sh->ldy, p.gpu_ws, p.gpu_ws_bytes,
                                      p.d_flag, NULL) == FP8_OK);
    ck_assert_msg(dev_flag(p.d_flag) == 1, "%s: forward: NaN in X not flagged", label);
    d.X[5] = 0.0f; /* backward reads X again when it does not cache it: only dY is non-finite now */
    ck_assert(cudaMemcpy(d.d_X, d.X, sh->T * sh->ldx * 4, cudaMemcpyHostToDevice) == cudaSuccess);
    ck_assert(fp8_cuda_linear_backward(p.gpu, d.d_X, sh->ldx, d.d_dY, sh->lddy, sh->T, d.d_W, NULL, 0, d_dw, p.gpu_ws,
                                       p.gpu_ws_bytes, p.d_flag, NULL) == FP8_OK);
    ck_assert_msg(dev_flag(p.d_flag) == 1, "%s: backward: infinity in dY not flagged", label);
    cudaFree(d_y), cudaFree(d_dw);
    free_step(&d);
    free_pair(&p);
}
END_TEST

/* Delayed scaling over several steps whose magnitudes change: the GPU's histories and scales
 * (on the device) follow the CPU's, so every step's outputs track the CPU layer's. A short
 * history makes old amaxes fall out; loop: amax_compute x cache_fp8_input. */
START_TEST(linear_delayed_steps)
{
    const layer_shape *sh = &layer_shapes[1];
    fp8_linear_config cfg = fp8_linear_config_init(FP8_LINEAR_DELAYED);
    cfg.amax_history_len = 3;
    cfg.margin = 1.0f;
    cfg.amax_compute = _i % 2 ? FP8_AMAX_MOST_RECENT : FP8_AMAX_MAX;
    cfg.cache_fp8_input = _i / 2;
    layer_pair p;
    ck_assert_msg(make_pair(&p, &cfg, sh) == FP8_OK, "%s", fp8_cuda_last_error());
    static const double x_scales[] = {1, 8, 0.25, 0.25, 4, 1};
    for (int step = 0; step < 6; step++) {
        char label[96];
        snprintf(label, sizeof label, "delayed (%s, cache %d), step %d",
                 cfg.amax_compute == FP8_AMAX_MAX ? "max" : "most recent", cfg.cache_fp8_input, step);
        step_data d = make_step(sh, x_scales[step], 0.05 * x_scales[5 - step], 1e-3 * x_scales[(step + 2) % 6],
                                13000 + (uint64_t)(_i * 10 + step));
        compare_step(&p, &cfg, sh, &d, 1, 0, label);
        free_step(&d);
    }
    free_pair(&p);
}
END_TEST

/* Sizes and refusals, all before any device work: runs without a GPU. A DeepSeek layer's
 * create touches no device memory, so a host buffer stands in for its state and workspace
 * here (nothing is enqueued: every call below is refused first). */
START_TEST(linear_bad_arguments)
{
    const size_t K = 256, N = 128, T = 64;
    for (int r = 0; r <= FP8_LINEAR_FP32; r++)
        for (int cache = 0; cache < 2; cache++) {
            fp8_linear_config cfg = fp8_linear_config_init((fp8_linear_recipe)r);
            cfg.cache_fp8_input = cache;
            ck_assert_msg(fp8_cuda_linear_state_size(&cfg, K, N, T) > 0, "recipe %d: state size", r);
            /* saved_input_bytes: the CPU layer's */
            const size_t cs = fp8_linear_state_size(&cfg, K, N, T);
            void *cpu_state = malloc(cs);
            fp8_linear *cpu = NULL;
            ck_assert(fp8_linear_init(&cpu, cpu_state, cs, &cfg, K, N, T) == FP8_OK);
            if (r == FP8_LINEAR_DEEPSEEK) {
                const size_t gs = fp8_cuda_linear_state_size(&cfg, K, N, T);
                unsigned char *fake_state = malloc(gs);
                fp8_cuda_linear *gpu = NULL;
                fp8_cuda_gemm *fake_gemm = (fp8_cuda_gemm *)fake_state; /* never used: nothing runs */
                ck_assert(fp8_cuda_linear_create(&gpu, &cfg, K, N, T, fake_gemm, fake_state, gs) == FP8_OK);
                ck_assert_msg(fp8_cuda_linear_saved_input_bytes(gpu, T) == fp8_linear_saved_input_bytes(cpu, T) &&
                                  fp8_cuda_linear_saved_input_bytes(gpu, 17) == fp8_linear_saved_input_bytes(cpu, 17),
                              "cache %d: saved_input_bytes differ from the CPU layer's", cache);
                const size_t wsb = fp8_cuda_linear_workspace_size(gpu);
                ck_assert(wsb > 0);
                float *f = (float *)fake_state; /* stands in for device matrices: never read */
                /* workspace too small or missing, ld < cols, too many tokens, NULL operands */
                ck_assert(fp8_cuda_linear_forward(gpu, f, K, T, f, f, N, f, wsb - 1, NULL, NULL) ==
                          FP8_ERR_INVALID_ARGUMENT);
                ck_assert(fp8_cuda_linear_forward(gpu, f, K, T, f, f, N, NULL, wsb, NULL, NULL) ==
                          FP8_ERR_INVALID_ARGUMENT);
                ck_assert(fp8_cuda_linear_forward(gpu, f, K - 1, T, f, f, N, f, wsb, NULL, NULL) ==
                          FP8_ERR_INVALID_ARGUMENT);
                ck_assert(fp8_cuda_linear_forward(gpu, f, K, T + 1, f, f, N, f, wsb, NULL, NULL) ==
                          FP8_ERR_INVALID_ARGUMENT);
                ck_assert(fp8_cuda_linear_forward_bf16(gpu, f, K, T, NULL, (uint16_t *)f, N, f, wsb, NULL, NULL) ==
                          FP8_ERR_INVALID_ARGUMENT);
                ck_assert(fp8_cuda_linear_forward_bf16(gpu, f, K, T, f, (uint16_t *)f, N - 1, f, wsb, NULL, NULL) ==
                          FP8_ERR_INVALID_ARGUMENT);
                /* backward before any forward of these tokens, and bad leading dimensions */
                ck_assert(fp8_cuda_linear_backward(gpu, f, K, f, N, T, f, f, K, f, f, wsb, NULL, NULL) ==
                          FP8_ERR_INVALID_ARGUMENT);
                ck_assert(fp8_cuda_linear_backward(gpu, f, K, f, N - 1, 0, f, f, K, f, f, wsb, NULL, NULL) ==
                          FP8_ERR_INVALID_ARGUMENT);
                ck_assert(fp8_cuda_linear_backward(gpu, f, K, f, N, 0, f, f, K - 1, f, f, wsb, NULL, NULL) ==
                          FP8_ERR_INVALID_ARGUMENT);
                ck_assert(fp8_cuda_linear_backward(gpu, f, K, f, N, 0, f, f, K, f, f, wsb - 1, NULL, NULL) ==
                          FP8_ERR_INVALID_ARGUMENT);
                ck_assert(fp8_cuda_linear_backward(NULL, f, K, f, N, 0, f, f, K, f, f, wsb, NULL, NULL) ==
                          FP8_ERR_INVALID_ARGUMENT);
                /* too-small state; no gemm handle; zero sizes; an invalid recipe */
                fp8_cuda_linear *other = NULL;
                ck_assert(fp8_cuda_linear_create(&other, &cfg, K, N, T, fake_gemm, fake_state, gs - 1) ==
                          FP8_ERR_INVALID_ARGUMENT);
                ck_assert(fp8_cuda_linear_create(&other, &cfg, K, N, T, NULL, fake_state, gs) ==
                          FP8_ERR_INVALID_ARGUMENT);
                ck_assert(fp8_cuda_linear_create(&other, &cfg, K, N, T, fake_gemm, NULL, gs) ==
                          FP8_ERR_INVALID_ARGUMENT);
                ck_assert(fp8_cuda_linear_create(&other, &cfg, 0, N, T, fake_gemm, fake_state, gs) ==
                          FP8_ERR_INVALID_ARGUMENT);
                ck_assert(fp8_cuda_linear_create(NULL, &cfg, K, N, T, fake_gemm, fake_state, gs) ==
                          FP8_ERR_INVALID_ARGUMENT);
                fp8_linear_config bad = cfg;
                bad.recipe = (fp8_linear_recipe)7;
                ck_assert(fp8_cuda_linear_state_size(&bad, K, N, T) == 0);
                ck_assert(fp8_cuda_linear_create(&other, &bad, K, N, T, fake_gemm, fake_state, gs) ==
                          FP8_ERR_INVALID_ARGUMENT);
                ck_assert(fp8_cuda_linear_state_size(&cfg, SIZE_MAX / 2, N, T) == 0); /* overflow */
                /* what the GPU cannot do: the accumulator emulator, promotion finer than one MMA */
                bad = cfg;
                bad.gemm.accum_bits = 14;
                ck_assert(fp8_cuda_linear_create(&other, &bad, K, N, T, fake_gemm, fake_state, gs) ==
                          FP8_ERR_UNSUPPORTED);
                bad = cfg;
                bad.gemm.promote_interval = 16;
                ck_assert(fp8_cuda_linear_create(&other, &bad, K, N, T, fake_gemm, fake_state, gs) ==
                          FP8_ERR_UNSUPPORTED);
                ck_assert(other == NULL);
                fp8_cuda_linear_destroy(gpu);
                fp8_cuda_linear_destroy(NULL);
                ck_assert(fp8_cuda_linear_workspace_size(NULL) == 0 && fp8_cuda_linear_saved_input_bytes(NULL, 4) == 0);
                free(fake_state);
            }
            if (r == FP8_LINEAR_BF16) { /* cuBLASLt's 16-byte rows */
                const size_t gs = fp8_cuda_linear_state_size(&cfg, 100, N, T);
                unsigned char *fake_state = malloc(gs);
                fp8_cuda_linear *gpu = NULL;
                ck_assert(fp8_cuda_linear_create(&gpu, &cfg, 100, N, T, (fp8_cuda_gemm *)fake_state, fake_state, gs) ==
                          FP8_ERR_UNSUPPORTED);
                ck_assert(strstr(fp8_cuda_last_error(), "multiples of 8") != NULL);
                free(fake_state);
            }
            free(cpu_state);
        }
}
END_TEST

/* The wgmma kernel (sm_90 only): the DeepSeek-V3 scales and the others, formats, promotion
 * intervals 0 / 128 / 256, beta, ragged M, N and K (TMA's zero fill, masked stores), lda > K,
 * per-column B scales, K = 16384. On other GPUs it must refuse with FP8_ERR_UNSUPPORTED. */
static const struct {
    size_t M, N, K, lda, ldb, a_br, a_bc, b_br, b_bc;
    fp8_format fa, fb;
    size_t P;
    float beta;
} wgmma_cases[] = {
    {256, 256, 512, 512, 512, 1, 128, 128, 128, FP8_E4M3, FP8_E4M3, 128, 0.0f},     /* DeepSeek-V3 */
    {256, 256, 512, 512, 512, 1, 128, 128, 128, FP8_E4M3, FP8_E4M3, 128, -1.25f},   /* with beta */
    {256, 384, 512, 512, 544, 0, 0, 0, 0, FP8_E4M3, FP8_E4M3, 0, 0.0f},             /* never promoted */
    {256, 384, 512, 512, 512, 0, 0, 0, 0, FP8_E4M3, FP8_E4M3, 256, 0.5f},           /* every 2 stages */
    {192, 256, 384, 384, 384, 1, 0, 1, 0, FP8_E4M3, FP8_E5M2, 128, 0.0f},           /* per row */
    {128, 256, 512, 512, 512, 128, 128, 1, 128, FP8_E5M2, FP8_E4M3, 128, 0.0f},     /* per-column B */
    {128, 128, 256, 256, 256, 1, 128, 1, 128, FP8_E5M2, FP8_E5M2, 128, 0.0f},       /* E5M2 x E5M2 */
    {200, 136, 384, 400, 384, 1, 128, 128, 128, FP8_E4M3, FP8_E4M3, 128, 0.5f},     /* ragged M, N */
    {129, 7, 128, 128, 128, 1, 0, 1, 0, FP8_E4M3, FP8_E5M2, 0, -1.0f},              /* ragged, one stage */
    {150, 100, 200, 208, 208, 1, 128, 128, 128, FP8_E4M3, FP8_E4M3, 128, 0.0f},     /* ragged K */
    {70, 260, 100, 112, 128, 0, 0, 1, 0, FP8_E5M2, FP8_E4M3, 0, 0.0f},              /* K below a stage */
    {64, 200, 384, 384, 384, 64, 128, 3, 128, FP8_E4M3, FP8_E4M3, 128, 0.0f},       /* odd blocks */
    {128, 128, 16384, 16384, 16384, 1, 128, 128, 128, FP8_E4M3, FP8_E4M3, 128, 0.0f}, /* long K */
};
#define NWGMMA (sizeof wgmma_cases / sizeof wgmma_cases[0])

START_TEST(wgmma_gemm)
{
    const size_t c = (size_t)_i, M = wgmma_cases[c].M, N = wgmma_cases[c].N, K = wgmma_cases[c].K, ldd = N + 5;
    test_operand a = make_operand(M, K, wgmma_cases[c].lda, wgmma_cases[c].fa, wgmma_cases[c].a_br,
                                  wgmma_cases[c].a_bc, 0.0, 9500 + _i);
    test_operand b = make_operand(N, K, wgmma_cases[c].ldb, wgmma_cases[c].fb, wgmma_cases[c].b_br,
                                  wgmma_cases[c].b_bc, 0.0, 9600 + _i);
    float *d0 = malloc(M * ldd * 4), *d = malloc(M * ldd * 4);
    for (size_t i = 0; i < M * ldd; i++) d0[i] = (float)rng_normal();
    float *d_d = dev_copy_of(d0, M * ldd * 4);
    fp8_gemm_config cfg = gemm_config(wgmma_cases[c].P);
    cfg.alpha = 0.75f;
    cfg.beta = wgmma_cases[c].beta;
    char what[160];
    snprintf(what, sizeof what, "wgmma case %zu (%zu x %zu x %zu, %zux%zu x %zux%zu, %s x %s, promote_interval %zu)", c,
             M, N, K, wgmma_cases[c].a_br, wgmma_cases[c].a_bc, wgmma_cases[c].b_br, wgmma_cases[c].b_bc,
             fp8_format_name(wgmma_cases[c].fa), fp8_format_name(wgmma_cases[c].fb), wgmma_cases[c].P);
    const fp8_status st = fp8_cuda_gemm_wgmma_f32(&cfg, &a.dev, &b.dev, d_d, ldd, NULL);
    const int cc = compute_capability();
    if (cc != 90) {
        ck_assert_msg(st == FP8_ERR_UNSUPPORTED, "%s on sm_%d: %s", what, cc, fp8_status_string(st));
        printf("test_cuda: %s: SKIP, needs sm_90 (%s)\n", what, fp8_cuda_last_error());
    } else {
        ck_assert_msg(st == FP8_OK, "%s: %s (%s)", what, fp8_status_string(st), fp8_cuda_last_error());
        ck_assert_msg(cudaDeviceSynchronize() == cudaSuccess, "%s: %s", what,
                      cudaGetErrorString(cudaGetLastError()));
        to_host(d, d_d, M * ldd * 4);
        check_product(&a, &b, cfg.alpha, cfg.beta, d0, d, 0, ldd, wgmma_cases[c].P == 0 ? 0x1p-6 : 0x1p-8, what);
        /* the padding between rows of D is not written */
        for (size_t m = 0; m < M; m++)
            for (size_t n = N; n < ldd; n++)
                ck_assert_msg(f32_bits(d[m * ldd + n]) == f32_bits(d0[m * ldd + n]), "%s: D(%zu, %zu) written", what,
                              m, n);
    }
    cudaFree(d_d);
    free(d0), free(d);
    free_operand(&a), free_operand(&b);
}
END_TEST

/* ---- checks that need no device ---- */

/* Bad arguments are refused before CUDA is touched, so this runs with or without a GPU. */
START_TEST(bad_arguments)
{
    float f[4] = {0};
    uint8_t q[4] = {0};
    void *p = (void *)f;
    fp8_quant_config cfg = fp8_quant_config_init(FP8_E4M3, 1, 128);
    ck_assert(fp8_cuda_encode_f32(NULL, f, 4, FP8_E4M3, FP8_SATFINITE, NULL) == FP8_ERR_INVALID_ARGUMENT);
    ck_assert(fp8_cuda_encode_f32(q, f, 4, (fp8_format)9, FP8_SATFINITE, NULL) == FP8_ERR_INVALID_ARGUMENT);
    ck_assert(fp8_cuda_encode_bf16(q, p, 4, FP8_E4M3, (fp8_saturation)5, NULL) == FP8_ERR_INVALID_ARGUMENT);
    ck_assert(fp8_cuda_decode_f16(p, NULL, 4, FP8_E5M2, NULL) == FP8_ERR_INVALID_ARGUMENT);
    ck_assert(fp8_cuda_encode_f32_sr(q, NULL, 1, FP8_E4M3, FP8_NOSAT, 1, 0, NULL) == FP8_ERR_INVALID_ARGUMENT);
    ck_assert(fp8_cuda_quantize_f32(NULL, f, 2, 2, 2, q, 2, f, NULL, NULL) == FP8_ERR_INVALID_ARGUMENT);
    ck_assert(fp8_cuda_quantize_f32(&cfg, f, 2, 2, 1, q, 2, f, NULL, NULL) == FP8_ERR_INVALID_ARGUMENT); /* ldx<cols */
    ck_assert(fp8_cuda_quantize_bf16(&cfg, p, 2, 2, 2, q, 2, NULL, NULL, NULL) == FP8_ERR_INVALID_ARGUMENT);
    ck_assert(fp8_cuda_quantize_f32(&cfg, f, SIZE_MAX, 2, 2, q, 2, f, NULL, NULL) == FP8_ERR_INVALID_ARGUMENT);
    cfg.amax_floor = -1.0f;
    ck_assert(fp8_cuda_quantize_f32_sr(&cfg, f, 2, 2, 2, q, 2, f, 1, 0, NULL, NULL) == FP8_ERR_INVALID_ARGUMENT);
    cfg = fp8_quant_config_init(FP8_E4M3, 2, 128);
    ck_assert(fp8_cuda_quantize_dual_f32(&cfg, f, 2, 2, 2, q, 2, f, q, 2, f, NULL, NULL) == FP8_ERR_INVALID_ARGUMENT);
    cfg = fp8_quant_config_init(FP8_E4M3, 1, 512);
    ck_assert(fp8_cuda_quantize_dual_f32(&cfg, f, 2, 2, 2, q, 2, f, q, 2, f, NULL, NULL) == FP8_ERR_UNSUPPORTED);
    ck_assert(fp8_cuda_quantize_f32_scaled(&cfg, f, 2, 2, 2, 0.0f, q, 2, f, NULL, NULL) == FP8_ERR_INVALID_ARGUMENT);
    ck_assert(fp8_cuda_dequantize_f32(&cfg, q, 2, 2, 2, NULL, f, 2, NULL) == FP8_ERR_INVALID_ARGUMENT);
    ck_assert(fp8_cuda_scales_to_e8m0(q, f, 4, NULL, NULL) == FP8_ERR_INVALID_ARGUMENT);
    ck_assert(fp8_cuda_scales_from_e8m0(NULL, q, 4, NULL, NULL) == FP8_ERR_INVALID_ARGUMENT);
    ck_assert(fp8_cuda_device_count(NULL) == FP8_ERR_INVALID_ARGUMENT);
    fp8_qmatrix qa = {.data = q, .rows = 2, .cols = 2, .ld = 2, .format = FP8_E4M3, .scale_inv = f};
    fp8_qmatrix qb = qa;
    qb.cols = 3, qb.ld = 3;
    fp8_gemm_config gc = gemm_config(128);
    ck_assert(fp8_cuda_gemm_mma_f32(&gc, &qa, &qb, f, 2, NULL) == FP8_ERR_INVALID_ARGUMENT); /* K differs */
    ck_assert(fp8_cuda_gemm_mma_f32(&gc, &qa, &qa, NULL, 2, NULL) == FP8_ERR_INVALID_ARGUMENT);
    ck_assert(fp8_cuda_gemm_mma_f32(NULL, &qa, &qa, f, 2, NULL) == FP8_ERR_INVALID_ARGUMENT);
    fp8_cuda_gemm_config lc = fp8_cuda_gemm_config_init();
    ck_assert(fp8_cuda_gemm_f32(NULL, &lc, &qa, &qa, f, 2, NULL) == FP8_ERR_INVALID_ARGUMENT);
    ck_assert(fp8_cuda_gemm_create(NULL) == FP8_ERR_INVALID_ARGUMENT);
    fp8_cuda_gemm_destroy(NULL);
    /* empty work succeeds without a device */
    ck_assert(fp8_cuda_encode_f32(NULL, NULL, 0, FP8_E4M3, FP8_SATFINITE, NULL) == FP8_OK);
}
END_TEST

/* What the wgmma kernel refuses, before it touches CUDA (so with or without a device). */
START_TEST(wgmma_gemm_limits)
{
    static _Alignas(16) uint8_t codes[2 * 4096 + 16];
    float scales[64] = {1}, out[4];
    fp8_qmatrix a = {.data = codes, .rows = 2, .cols = 256, .ld = 256, .format = FP8_E4M3, .scale_inv = scales,
                     .block_rows = 1, .block_cols = 128};
    fp8_qmatrix b = a;
    fp8_gemm_config cfg = gemm_config(64); /* valid on the CPU, finer than one stage */
    ck_assert(fp8_cuda_gemm_wgmma_f32(&cfg, &a, &b, out, 2, NULL) == FP8_ERR_UNSUPPORTED);
    ck_assert(strstr(fp8_cuda_last_error(), "128") != NULL);
    cfg.promote_interval = 48; /* divides no 128 block: invalid, as on the CPU */
    ck_assert(fp8_cuda_gemm_wgmma_f32(&cfg, &a, &b, out, 2, NULL) == FP8_ERR_INVALID_ARGUMENT);
    cfg.promote_interval = 128;
    fp8_qmatrix odd_ld = b;
    odd_ld.ld = 265; /* >= cols, not a multiple of 16 */
    ck_assert(fp8_cuda_gemm_wgmma_f32(&cfg, &a, &odd_ld, out, 2, NULL) == FP8_ERR_UNSUPPORTED);
    ck_assert(strstr(fp8_cuda_last_error(), "TMA") != NULL);
    fp8_qmatrix odd_data = a;
    odd_data.data = codes + 1;
    ck_assert(fp8_cuda_gemm_wgmma_f32(&cfg, &odd_data, &b, out, 2, NULL) == FP8_ERR_UNSUPPORTED);
    cfg.accum_bits = 14;
    ck_assert(fp8_cuda_gemm_wgmma_f32(&cfg, &a, &b, out, 2, NULL) == FP8_ERR_UNSUPPORTED);
    cfg.accum_bits = 0;
    fp8_qmatrix fnuz = b;
    fnuz.format = FP8_E4M3FNUZ;
    ck_assert(fp8_cuda_gemm_wgmma_f32(&cfg, &a, &fnuz, out, 2, NULL) == FP8_ERR_UNSUPPORTED);
    fp8_qmatrix short_k = b;
    short_k.cols = 128;
    ck_assert(fp8_cuda_gemm_wgmma_f32(&cfg, &a, &short_k, out, 2, NULL) == FP8_ERR_INVALID_ARGUMENT);
    ck_assert(fp8_cuda_gemm_wgmma_f32(&cfg, &a, &b, NULL, 2, NULL) == FP8_ERR_INVALID_ARGUMENT);
    ck_assert(fp8_cuda_gemm_wgmma_f32(&cfg, &a, &b, out, 1, NULL) == FP8_ERR_INVALID_ARGUMENT);
    ck_assert(fp8_cuda_gemm_wgmma_f32(NULL, &a, &b, out, 2, NULL) == FP8_ERR_INVALID_ARGUMENT);
    /* empty products need no device, and K = 0 needs no alignment */
    fp8_qmatrix empty = a;
    empty.rows = 0;
    ck_assert(fp8_cuda_gemm_wgmma_f32(&cfg, &empty, &b, out, 2, NULL) == FP8_OK);
}
END_TEST

/* Without a device, valid calls say so, with a reason on this thread. */
START_TEST(no_device_reported)
{
    int count = -1;
    ck_assert(fp8_cuda_device_count(&count) == FP8_ERR_NO_DEVICE);
    ck_assert(count == 0);
    ck_assert(strlen(fp8_cuda_last_error()) > 0);
    float f[4] = {1, 2, 3, 4};
    uint8_t q[4];
    const fp8_status st = fp8_cuda_encode_f32(q, f, 4, FP8_E4M3, FP8_SATFINITE, NULL);
    ck_assert_msg(st == FP8_ERR_NO_DEVICE, "encode without a device: %s (%s)", fp8_status_string(st),
                  fp8_cuda_last_error());
    printf("test_cuda: without a device, fp8_cuda_last_error() says: %s\n", fp8_cuda_last_error());
    fp8_cuda_gemm *h = (fp8_cuda_gemm *)f;
    ck_assert(fp8_cuda_gemm_create(&h) == FP8_ERR_NO_DEVICE && h == NULL);
}
END_TEST

static Suite *cuda_suite(int have_device)
{
    Suite *s = suite_create("cuda");
    TCase *tc = tcase_create("arguments");
    tcase_add_test(tc, bad_arguments);
    tcase_add_test(tc, linear_bad_arguments);
    tcase_add_test(tc, wgmma_gemm_limits);
    if (!have_device) tcase_add_test(tc, no_device_reported);
    suite_add_tcase(s, tc);
    if (!have_device) return s;

    tc = tcase_create("convert");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, encode_matches_cpu, 0, 48);
    tcase_add_loop_test(tc, encode_sr_matches_cpu, 0, 8);
    tcase_add_loop_test(tc, decode_matches_cpu, 0, 4);
    suite_add_tcase(s, tc);

    tc = tcase_create("quantize");
    tcase_set_timeout(tc, 240);
    tcase_add_loop_test(tc, quantize_matches_cpu, 0, (int)NSHAPES * 4 * 3 * 3);
    tcase_add_loop_test(tc, quantize_aligned_matches_cpu, 0, 48);
    tcase_add_loop_test(tc, dual_matches_cpu, 0, 4);
    tcase_add_test(tc, scaled_and_dequantize_match_cpu);
    tcase_add_test(tc, e8m0_matches_cpu);
    suite_add_tcase(s, tc);

    tc = tcase_create("gemm");
    tcase_set_timeout(tc, 240);
    tcase_add_loop_test(tc, cublaslt_gemm, 0, 72);
    tcase_add_test(tc, cublaslt_gemm_limits);
    tcase_add_test(tc, cublaslt_bf16_gemm);
    tcase_add_loop_test(tc, mma_gemm, 0, 18);
    tcase_add_test(tc, mma_gemm_limits);
    tcase_add_loop_test(tc, wgmma_gemm, 0, (int)NWGMMA);
    suite_add_tcase(s, tc);

    tc = tcase_create("linear");
    tcase_set_timeout(tc, 240);
    tcase_add_loop_test(tc, linear_matches_cpu, 0, 7 * 3);
    tcase_add_loop_test(tc, linear_delayed_steps, 0, 4);
    suite_add_tcase(s, tc);

    tc = tcase_create("exhaustive_f32");
    tcase_set_tags(tc, "long");
    tcase_set_timeout(tc, 600);
    tcase_add_loop_test(tc, exhaustive_f32, 0, 4);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    int devices = 0;
    const fp8_status st = fp8_cuda_device_count(&devices);
    const int have_device = st == FP8_OK;
    SRunner *runner = srunner_create(cuda_suite(have_device));
    srunner_set_fork_status(runner, CK_NOFORK); /* CUDA is initialized: a forked child must not use it */
    srunner_run_all(runner, CK_NORMAL);
    const int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    if (failed) return EXIT_FAILURE;
    if (!have_device) {
        printf("SKIP: test_cuda ran only the checks that need no device: %s (%s)\n", fp8_status_string(st),
               fp8_cuda_last_error());
        return SKIP_EXIT_CODE;
    }
    printf("test_cuda: %d CUDA device(s) of compute capability 8.9+\n", devices);
    return EXIT_SUCCESS;
}
