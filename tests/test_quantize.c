/* Quantization tests against an independent per-block reference: scales
 * computed in double precision from the definitions in fp8/quantize.h, codes
 * from the nearest-value reference (support/reference.c). Also: every CPU
 * path and thread count give the same bytes, non-finite and degenerate
 * blocks, the fused dual-orientation pass, MX storage, delayed scaling
 * against Transformer Engine's algorithm, and statistical floors. */
#include <check.h>
#include <stdio.h>
#include <fenv.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fp8.h"
#include "support/isa.h"
#include "support/reference.h"
#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#endif

/* ---- data ---- */

static uint64_t rng_state;
static void rng_seed(uint64_t s) { rng_state = s * 0x9E3779B97F4A7C15ull + 1; }
static double rng_uniform(void) /* [0, 1) */
{
    rng_state ^= rng_state << 13, rng_state ^= rng_state >> 7, rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) * 0x1p-53;
}
static double rng_normal(void)
{
    const double u = rng_uniform() + 0x1p-60, v = rng_uniform();
    return sqrt(-2 * log(u)) * cos(6.283185307179586 * v);
}

/* Rows of very different magnitudes, so per-row and per-block scales matter. */
static float *make_matrix(size_t rows, size_t ld, uint64_t seed)
{
    rng_seed(seed);
    float *x = malloc(rows * ld * sizeof *x);
    for (size_t r = 0; r < rows; r++) {
        const double row_scale = ldexp(1.0, (int)(rng_uniform() * 40) - 20);
        for (size_t c = 0; c < ld; c++) x[r * ld + c] = (float)(rng_normal() * row_scale);
    }
    return x;
}

/* ---- the reference ---- */

typedef struct {
    double scale, scale_inv;
} ref_scale;

static ref_scale ref_block_scale(double amax, const fp8_quant_config *cfg)
{
    const double fmax = ref_max_finite(cfg->format);
    const double lowest = ldexp(fmax, -126);
    if (amax < cfg->amax_floor) amax = cfg->amax_floor;
    if (amax < lowest) amax = lowest;
    ref_scale s;
    if (cfg->scale_mode == FP8_SCALE_F32) {
        s.scale = (float)(fmax / amax); /* double rounding of a quotient to float is innocuous */
        s.scale_inv = (float)(amax / fmax);
    } else if (cfg->scale_mode == FP8_SCALE_POW2) {
        int k = 140;
        while (ldexp(amax, k) > fmax) k--;
        s.scale = ldexp(1, k);
        s.scale_inv = ldexp(1, -k);
    } else {
        int e = -200; /* floor(log2 amax) */
        while (ldexp(1, e + 1) <= amax) e++;
        int emax = 0; /* the exponent of fmax */
        while (ldexp(1, emax + 1) <= fmax) emax++;
        e -= emax;
        if (e < -127) e = -127;
        if (e > 127) e = 127;
        s.scale = ldexp(1, -e);
        s.scale_inv = ldexp(1, e);
    }
    return s;
}

static size_t ceil_div(size_t a, size_t b) { return (a + b - 1) / b; }

/* Checks q and scale_inv of one quantization of x against the reference. */
static void check_against_reference(const fp8_quant_config *cfg, const float *x, size_t rows, size_t cols, size_t ldx,
                                    const uint8_t *q, size_t ldq, const float *scale_inv, const char *what)
{
    const size_t br = cfg->block_rows ? cfg->block_rows : rows, bc = cfg->block_cols ? cfg->block_cols : cols;
    const size_t nbc = ceil_div(cols, bc);
    for (size_t bi = 0; bi * br < rows; bi++)
        for (size_t bj = 0; bj * bc < cols; bj++) {
            double amax = 0;
            for (size_t r = bi * br; r < rows && r < (bi + 1) * br; r++)
                for (size_t c = bj * bc; c < cols && c < (bj + 1) * bc; c++)
                    if (isfinite(x[r * ldx + c]) && fabs(x[r * ldx + c]) > amax) amax = fabs(x[r * ldx + c]);
            const ref_scale s = ref_block_scale(amax, cfg);
            const float got_inv = scale_inv[bi * nbc + bj];
            ck_assert_msg((double)got_inv == s.scale_inv, "%s: block (%zu,%zu) amax %a: scale_inv %a, reference %a", what,
                          bi, bj, amax, (double)got_inv, s.scale_inv);
            for (size_t r = bi * br; r < rows && r < (bi + 1) * br; r++)
                for (size_t c = bj * bc; c < cols && c < (bj + 1) * bc; c++) {
                    const float scaled = x[r * ldx + c] * (float)s.scale; /* the product in FP32 */
                    const uint8_t want = ref_encode((double)scaled, cfg->format, cfg->saturation);
                    if (q[r * ldq + c] != want)
                        ck_abort_msg("%s: (%zu,%zu) x=%a scale=%a: code 0x%02x, reference 0x%02x", what, r, c,
                                     (double)x[r * ldx + c], s.scale, q[r * ldq + c], want);
                }
        }
}

/* ---- cases ---- */

static const size_t shapes[][2] = {{0, 0}, {1, 0}, {0, 1}, {1, 128}, {128, 128}, {1, 32}, {3, 5}, {64, 1}};
#define NSHAPES (sizeof shapes / sizeof shapes[0])
static const fp8_format formats[] = {FP8_E4M3, FP8_E5M2, FP8_E4M3FNUZ, FP8_E5M2FNUZ};

/* Loop index: shape x format x mode. Odd sizes (not multiples of any block) and ld > cols. */
START_TEST(matches_reference)
{
    const size_t shape = (size_t)_i % NSHAPES, f = ((size_t)_i / NSHAPES) % 4, mode = (size_t)_i / NSHAPES / 4;
    const size_t rows = 259, cols = 300, ldx = 311, ldq = 305;
    fp8_quant_config cfg = fp8_quant_config_init(formats[f], shapes[shape][0], shapes[shape][1]);
    cfg.scale_mode = (fp8_scale_mode)mode;
    cfg.saturation = (f & 1) ? FP8_NOSAT : FP8_SATFINITE;
    float *x = make_matrix(rows, ldx, 1000 + (uint64_t)_i);
    const size_t ns = fp8_scale_count(rows, cols, cfg.block_rows, cfg.block_cols);
    uint8_t *q = malloc(rows * ldq), *q2 = malloc(rows * ldq);
    float *s = malloc(ns * sizeof *s), *s2 = malloc(ns * sizeof *s2);
    ck_assert_int_eq(fp8_quantize_f32(&cfg, x, rows, cols, ldx, q, ldq, s), FP8_OK);
    char what[96];
    snprintf(what, sizeof what, "%s %zux%zu mode %zu", fp8_format_name(formats[f]), shapes[shape][0], shapes[shape][1], mode);
    check_against_reference(&cfg, x, rows, cols, ldx, q, ldq, s, what);

    /* the same bytes on every CPU path, on one thread, and from BF16 input holding the same values */
    for (int isa = FP8_CPU_ISA_SCALAR; isa <= FP8_TEST_LAST_SIMD; isa++) {
        if (isa != FP8_CPU_ISA_SCALAR && !test_isa_runs(isa)) continue;
        fp8_cpu_set_max_isa((fp8_cpu_isa)isa);
        fp8_set_num_threads(1);
        memset(q2, 0, rows * ldq);
        ck_assert_int_eq(fp8_quantize_f32(&cfg, x, rows, cols, ldx, q2, ldq, s2), FP8_OK);
        for (size_t r = 0; r < rows; r++)
            ck_assert_msg(memcmp(q + r * ldq, q2 + r * ldq, cols) == 0, "%s: %s row %zu", what, fp8_cpu_isa_name(isa), r);
        ck_assert(memcmp(s, s2, ns * sizeof *s) == 0);
    }
    test_isa_reset();
    fp8_set_num_threads(0);
    uint16_t *xb = malloc(rows * ldx * sizeof *xb);
    for (size_t i = 0; i < rows * ldx; i++) {
        xb[i] = (uint16_t)(f32_bits(x[i]) >> 16);
        x[i] = f32_from_bits((uint32_t)xb[i] << 16);
    }
    ck_assert_int_eq(fp8_quantize_f32(&cfg, x, rows, cols, ldx, q, ldq, s), FP8_OK);
    for (int isa = FP8_CPU_ISA_SCALAR; isa <= FP8_TEST_LAST_SIMD; isa++) {
        if (isa != FP8_CPU_ISA_SCALAR && !test_isa_runs(isa)) continue;
        fp8_cpu_set_max_isa((fp8_cpu_isa)isa);
        ck_assert_int_eq(fp8_quantize_bf16(&cfg, xb, rows, cols, ldx, q2, ldq, s2), FP8_OK);
        for (size_t r = 0; r < rows; r++)
            ck_assert_msg(memcmp(q + r * ldq, q2 + r * ldq, cols) == 0, "%s: bf16 %s row %zu", what,
                          fp8_cpu_isa_name(isa), r);
        ck_assert(memcmp(s, s2, ns * sizeof *s) == 0);
    }
    test_isa_reset();
    free(xb);
    free(x);
    free(q);
    free(q2);
    free(s);
    free(s2);
}
END_TEST

/* A matrix large enough for the threaded and vectorised paths and for streaming stores: all paths
 * and thread counts agree, and every block matches the reference. x's rows are 64-byte aligned;
 * q's rows start 0, 16, 32 and 48 bytes past a line in turn (ldq = 64k + 16), so streaming takes
 * every head the kernels peel before their first whole line. */
START_TEST(large_paths_agree)
{
    const size_t shape = (size_t)_i;
    const size_t rows = 2051, cols = 4120, ld = 4160, ldq = 4176; /* rows end in 24 of a line: vectors of 8 */
    fp8_quant_config cfg = fp8_quant_config_init(FP8_E4M3, shapes[shape][0], shapes[shape][1]);
    float *x = make_matrix(rows, ld, 77 + shape);
    const size_t ns = fp8_scale_count(rows, cols, cfg.block_rows, cfg.block_cols);
    /* every path on two threads (scalar: the others' reference), then the best one on one thread */
    enum { NVARIANTS = FP8_TEST_LAST_SIMD + 2 };
    uint8_t *q[NVARIANTS] = {NULL};
    float *s[NVARIANTS] = {NULL};
    for (int v = 0; v < NVARIANTS; v++) {
        const int isa = v <= FP8_TEST_LAST_SIMD ? v : (int)fp8_cpu_isa_supported();
        if (isa != FP8_CPU_ISA_SCALAR && !test_isa_runs(isa)) continue;
        q[v] = aligned_alloc(64, (rows * ldq + 63) & ~(size_t)63);
        memset(q[v], 0xA5, rows * ldq); /* the gaps between rows must keep it */
        s[v] = malloc(ns * sizeof(float));
        fp8_cpu_set_max_isa((fp8_cpu_isa)isa);
        fp8_set_num_threads(v <= FP8_TEST_LAST_SIMD ? 2 : 1);
        ck_assert_int_eq(fp8_quantize_f32(&cfg, x, rows, cols, ld, q[v], ldq, s[v]), FP8_OK);
    }
    test_isa_reset();
    fp8_set_num_threads(0);
    for (size_t r = 0; r < rows; r++)
        for (size_t c = cols; c < ldq; c++) ck_assert_int_eq(q[0][r * ldq + c], 0xA5);
    for (int v = 1; v < NVARIANTS; v++) {
        if (!q[v]) continue;
        ck_assert_msg(memcmp(q[0], q[v], rows * ldq) == 0, "variant %d codes differ", v);
        ck_assert(memcmp(s[0], s[v], ns * sizeof(float)) == 0);
    }
    check_against_reference(&cfg, x, rows, cols, ld, q[NVARIANTS - 1], ldq, s[NVARIANTS - 1], "large");
    for (int v = 0; v < NVARIANTS; v++) {
        free(q[v]);
        free(s[v]);
    }
    free(x);
}
END_TEST

START_TEST(zero_and_tiny_blocks)
{
    const size_t rows = 4, cols = 256;
    float x[4 * 256] = {0};
    for (size_t c = 0; c < cols; c++) x[2 * cols + c] = 1e-40f; /* FP32 subnormal */
    x[3 * cols + 5] = -1e-30f;
    uint8_t q[4 * 256];
    float s[4 * 2];
    for (int mode = 0; mode < 3; mode++)
        for (int floor = 0; floor < 2; floor++) {
            fp8_quant_config cfg = fp8_quant_config_init(FP8_E4M3, 1, 128);
            cfg.scale_mode = (fp8_scale_mode)mode;
            cfg.amax_floor = floor ? 1e-4f : 0.0f;
            ck_assert_int_eq(fp8_quantize_f32(&cfg, x, rows, cols, cols, q, cols, s), FP8_OK);
            for (int i = 0; i < 8; i++) ck_assert_msg(isfinite(s[i]) && s[i] > 0, "mode %d: scale_inv %g", mode, s[i]);
            check_against_reference(&cfg, x, rows, cols, cols, q, cols, s, "zero/tiny");
            for (size_t c = 0; c < 2 * cols; c++) ck_assert_int_eq(q[c], 0);
        }
}
END_TEST

START_TEST(nonfinite_blocks)
{
    const size_t rows = 2, cols = 256;
    float x[2 * 256];
    for (size_t i = 0; i < rows * cols; i++) x[i] = (float)((int)(i % 17) - 8);
    x[3] = NAN;
    x[130] = INFINITY;
    x[300] = -INFINITY;
    uint8_t q[2 * 256];
    float s[4];
    for (int sat = 0; sat < 2; sat++) {
        fp8_quant_config cfg = fp8_quant_config_init(FP8_E4M3, 1, 128);
        cfg.saturation = (fp8_saturation)sat;
        ck_assert_int_eq(fp8_quantize_f32(&cfg, x, rows, cols, cols, q, cols, s), FP8_ERR_NONFINITE);
        ck_assert_int_eq(q[3], 0x7F);                                  /* NaN */
        ck_assert_int_eq(q[130], sat == FP8_SATFINITE ? 0x7E : 0x7F);  /* Inf: max or NaN */
        ck_assert_int_eq(q[300], sat == FP8_SATFINITE ? 0xFE : 0xFF);
        ck_assert(s[0] == 8.0f / 448.0f && s[1] == 8.0f / 448.0f); /* from the finite values: amax 8 */
        ck_assert_int_eq(q[4], fp8_from_f32(x[4] * (448.0f / 8.0f), FP8_E4M3, cfg.saturation));
    }
}
END_TEST

/* One huge outlier per block lands exactly on +-fmax; the rest shrink. */
START_TEST(outlier_per_block)
{
    const size_t rows = 256, cols = 256;
    float *x = make_matrix(rows, cols, 5);
    for (size_t bi = 0; bi < 2; bi++)
        for (size_t bj = 0; bj < 2; bj++) x[(bi * 128 + 7) * cols + bj * 128 + 9] = (bi ^ bj) ? -1e30f : 1e30f;
    fp8_quant_config cfg = fp8_quant_config_init(FP8_E4M3, 128, 128);
    uint8_t *q = malloc(rows * cols);
    float s[4];
    ck_assert_int_eq(fp8_quantize_f32(&cfg, x, rows, cols, cols, q, cols, s), FP8_OK);
    for (size_t bi = 0; bi < 2; bi++)
        for (size_t bj = 0; bj < 2; bj++) {
            ck_assert_int_eq(q[(bi * 128 + 7) * cols + bj * 128 + 9], (bi ^ bj) ? 0xFE : 0x7E);
            ck_assert(s[bi * 2 + bj] == (float)(1e30 / 448.0) || s[bi * 2 + bj] == 1e30f / 448.0f);
        }
    check_against_reference(&cfg, x, rows, cols, cols, q, cols, s, "outliers");
    free(q);
    free(x);
}
END_TEST

/* Dequantization large enough for non-temporal stores, on every path and two threads: each element
 * is decode(q) * scale_inv exactly, with y at offsets into a line (ld odd: every offset), and the
 * gaps between y's rows untouched. */
START_TEST(dequantize_large)
{
    static const struct { size_t br, bc, y_offset, y_pad; } cases[] = {
        {1, 128, 0, 0}, {128, 128, 4, 3}, {1, 32, 1, 1}};
    const size_t br = cases[_i].br, bc = cases[_i].bc, rows = 1031, cols = 2100;
    const size_t ldy = cols + cases[_i].y_pad, y_len = cases[_i].y_offset + rows * ldy;
    float *x = make_matrix(rows, cols, 41 + (uint64_t)_i);
    fp8_quant_config cfg = fp8_quant_config_init(FP8_E4M3, br, bc);
    const size_t ns = fp8_scale_count(rows, cols, br, bc), nbc = ceil_div(cols, bc);
    uint8_t *q = malloc(rows * cols);
    float *s = malloc(ns * sizeof *s), *y_buf = aligned_alloc(64, (y_len * sizeof(float) + 63) & ~(size_t)63);
    float *y = y_buf + cases[_i].y_offset;
    ck_assert_int_eq(fp8_quantize_f32(&cfg, x, rows, cols, cols, q, cols, s), FP8_OK);
    fp8_set_num_threads(2);
    for (int isa = 0; isa <= FP8_TEST_LAST_SIMD; isa++) {
        if (isa != FP8_CPU_ISA_SCALAR && !test_isa_runs(isa)) continue;
        fp8_cpu_set_max_isa((fp8_cpu_isa)isa);
        for (size_t i = 0; i < y_len; i++) y_buf[i] = -7.0f; /* the gaps must keep it */
        ck_assert_int_eq(fp8_dequantize_f32(&cfg, q, rows, cols, cols, s, y, ldy), FP8_OK);
        for (size_t r = 0; r < rows; r++) {
            for (size_t c = 0; c < cols; c++) {
                const float want = fp8_to_f32(q[r * cols + c], FP8_E4M3) * s[(r / br) * nbc + c / bc];
                if (y[r * ldy + c] != want)
                    ck_abort_msg("case %d, %s: (%zu,%zu) = %a, want %a", _i, fp8_cpu_isa_name(isa), r, c,
                                 (double)y[r * ldy + c], (double)want);
            }
            for (size_t c = cols; c < ldy; c++) ck_assert(y[r * ldy + c] == -7.0f);
        }
    }
    test_isa_reset();
    fp8_set_num_threads(0);
    free(x);
    free(q);
    free(s);
    free(y_buf);
}
END_TEST

/* Blocks of several rows go through quantization's chunk pipeline: each chunk's amaxes are found
 * while the chunk before it is encoded (fp8_amax_along), and with non-temporal stores, output rows
 * that do not start and end on a line go through carries. On a matrix large enough to stream,
 * every path against the reference, from FP32 and from BF16: x and q at offsets into a line (ld
 * odd: every offset), a NaN and an infinity in blocks past the first chunk, one to three threads
 * (which split the block columns), a partial last block row and column, and group widths that
 * take the amax stream several steps (256) or not at all (80). */
START_TEST(blocks_large)
{
    static const struct {
        size_t br, bc, x_offset, x_pad, q_offset, q_pad;
        int threads;
        bool bf16;
    } cases[] = {
        {128, 128, 4, 0, 16, 0, 3, false},  /* x and q 16 bytes into a line, as malloc gives */
        {128, 128, 8, 3, 16, 5, 2, true},   /* BF16; rows at every offset */
        {64, 256, 0, 0, 48, 16, 1, false},  /* groups of 256 */
        {32, 80, 1, 1, 1, 1, 2, false},     /* groups of 80; chunk rows end inside a line */
    };
    const size_t br = cases[_i].br, bc = cases[_i].bc, rows = 2085, cols = 4100;
    const size_t ldx = cols + cases[_i].x_pad, ldq = cols + cases[_i].q_pad;
    fp8_quant_config cfg = fp8_quant_config_init(FP8_E4M3, br, bc);
    float *x_buf = make_matrix(rows + 1, ldx, 91 + (uint64_t)_i), *x = x_buf + cases[_i].x_offset;
    x[700 * ldx + 1000] = NAN;
    x[1500 * ldx + 3000] = -INFINITY;
    uint16_t *xb_buf = malloc((rows + 1) * ldx * sizeof *xb_buf), *xb = xb_buf + cases[_i].x_offset;
    if (cases[_i].bf16) /* x takes the values of its BF16 copy, for the reference */
        for (size_t i = 0; i < rows * ldx; i++) {
            xb[i] = (uint16_t)(f32_bits(x[i]) >> 16);
            x[i] = f32_from_bits((uint32_t)xb[i] << 16);
        }
    const size_t ns = fp8_scale_count(rows, cols, br, bc), q_bytes = cases[_i].q_offset + rows * ldq;
    enum { NPATHS = FP8_TEST_LAST_SIMD + 1 };
    uint8_t *q_buf[NPATHS] = {NULL};
    float *s[NPATHS] = {NULL};
    fp8_set_num_threads(cases[_i].threads);
    for (int isa = 0; isa < NPATHS; isa++) {
        if (isa != FP8_CPU_ISA_SCALAR && !test_isa_runs(isa)) continue;
        q_buf[isa] = aligned_alloc(64, (q_bytes + 63) & ~(size_t)63);
        memset(q_buf[isa], 0xA5, q_bytes); /* the gaps between rows must keep it */
        s[isa] = malloc(ns * sizeof(float));
        fp8_cpu_set_max_isa((fp8_cpu_isa)isa);
        uint8_t *q = q_buf[isa] + cases[_i].q_offset;
        const fp8_status st = cases[_i].bf16 ? fp8_quantize_bf16(&cfg, xb, rows, cols, ldx, q, ldq, s[isa])
                                             : fp8_quantize_f32(&cfg, x, rows, cols, ldx, q, ldq, s[isa]);
        ck_assert_msg(st == FP8_ERR_NONFINITE, "case %d, %s: status %d", _i, fp8_cpu_isa_name(isa), (int)st);
    }
    test_isa_reset();
    fp8_set_num_threads(0);
    char what[64];
    snprintf(what, sizeof what, "case %d: %zux%zu blocks", _i, br, bc);
    check_against_reference(&cfg, x, rows, cols, ldx, q_buf[0] + cases[_i].q_offset, ldq, s[0], what);
    for (size_t r = 0; r < rows; r++)
        for (size_t c = cols; c < ldq; c++) ck_assert_int_eq(q_buf[0][cases[_i].q_offset + r * ldq + c], 0xA5);
    for (int isa = 1; isa < NPATHS; isa++) {
        if (!q_buf[isa]) continue;
        ck_assert_msg(memcmp(q_buf[0], q_buf[isa], q_bytes) == 0, "%s: %s codes differ", what, fp8_cpu_isa_name(isa));
        ck_assert_msg(memcmp(s[0], s[isa], ns * sizeof(float)) == 0, "%s: %s scales differ", what,
                      fp8_cpu_isa_name(isa));
    }
    for (int isa = 0; isa < NPATHS; isa++) {
        free(q_buf[isa]);
        free(s[isa]);
    }
    free(xb_buf);
    free(x_buf);
}
END_TEST

/* Dequantization: each element within half a format step (at its scaled
 * magnitude) of the input, times scale_inv, for every non-saturated element. */
START_TEST(dequantize_error_bound)
{
    const fp8_format fmt = formats[_i];
    const size_t rows = 130, cols = 260, ld = 263;
    float *x = make_matrix(rows, ld, 9 + (uint64_t)_i);
    fp8_quant_config cfg = fp8_quant_config_init(fmt, 1, 128);
    const size_t ns = fp8_scale_count(rows, cols, 1, 128);
    uint8_t *q = malloc(rows * ld);
    float *s = malloc(ns * sizeof *s), *y = malloc(rows * ld * sizeof *y);
    ck_assert_int_eq(fp8_quantize_f32(&cfg, x, rows, cols, ld, q, ld, s), FP8_OK);
    ck_assert_int_eq(fp8_dequantize_f32(&cfg, q, rows, cols, ld, s, y, ld), FP8_OK);
    fp8_format_info info;
    fp8_format_get_info(fmt, &info);
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++) {
            const double si = s[r * 3 + c / 128], xs = fabs((double)x[r * ld + c]) / si;
            /* the FP8 step at |x * scale| */
            const double e = xs < info.min_normal ? info.min_exponent : floor(log2(xs));
            const double step = ldexp(1, (int)e - (int)info.mantissa_bits);
            const double err = fabs((double)y[r * ld + c] - (double)x[r * ld + c]);
            ck_assert_msg(err <= (0.5 * step * (1 + 1e-6) + 1e-6 * xs) * si,
                          "(%zu,%zu): x %a y %a err %g > half step %g", r, c, (double)x[r * ld + c],
                          (double)y[r * ld + c], err, 0.5 * step * si);
            ck_assert((double)y[r * ld + c] == (double)(fp8_to_f32(q[r * ld + c], fmt) * s[r * 3 + c / 128]));
        }
    free(x);
    free(q);
    free(s);
    free(y);
}
END_TEST

/* The fused pass equals two separate quantizations: of x, and of x^T. */
START_TEST(dual_orientation)
{
    const size_t sizes[][2] = {{300, 260}, {128, 128}, {1, 1}, {129, 1000}, {700, 33}};
    const size_t rows = sizes[_i][0], cols = sizes[_i][1], ldx = cols + 3, ldq = cols + 1, ldqt = rows + 5;
    float *x = make_matrix(rows, ldx, 31 + (uint64_t)_i);
    x[0] = NAN;
    float *xt = malloc(cols * rows * sizeof *xt);
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++) xt[c * rows + r] = x[r * ldx + c];
    fp8_quant_config cfg = fp8_quant_config_init(FP8_E4M3, 1, 128);
    const size_t ns = fp8_scale_count(rows, cols, 1, 128), nst = fp8_scale_count(cols, rows, 1, 128);
    uint8_t *q = malloc(rows * ldq), *qt = malloc(cols * ldqt), *q_ref = malloc(rows * cols), *qt_ref = malloc(cols * rows);
    float *s = malloc(ns * 4), *st = malloc(nst * 4), *s_ref = malloc(ns * 4), *st_ref = malloc(nst * 4);
    ck_assert_int_eq(fp8_quantize_dual_f32(&cfg, x, rows, cols, ldx, q, ldq, s, qt, ldqt, st), FP8_ERR_NONFINITE);
    ck_assert_int_eq(fp8_quantize_f32(&cfg, x, rows, cols, ldx, q_ref, cols, s_ref), FP8_ERR_NONFINITE);
    ck_assert_int_eq(fp8_quantize_f32(&cfg, xt, cols, rows, rows, qt_ref, rows, st_ref), FP8_ERR_NONFINITE);
    for (size_t r = 0; r < rows; r++) ck_assert(memcmp(q + r * ldq, q_ref + r * cols, cols) == 0);
    for (size_t c = 0; c < cols; c++) ck_assert_msg(memcmp(qt + c * ldqt, qt_ref + c * rows, rows) == 0, "qt row %zu", c);
    ck_assert(memcmp(s, s_ref, ns * 4) == 0 && memcmp(st, st_ref, nst * 4) == 0);
    check_against_reference(&cfg, xt, cols, rows, rows, qt, ldqt, st, "dual transposed");
    /* every CPU path gives the same bytes */
    uint8_t *q2 = malloc(rows * ldq), *qt2 = malloc(cols * ldqt);
    for (int isa = FP8_CPU_ISA_SCALAR; isa <= FP8_TEST_LAST_SIMD; isa++) {
        if (isa != FP8_CPU_ISA_SCALAR && !test_isa_runs(isa)) continue;
        fp8_cpu_set_max_isa((fp8_cpu_isa)isa);
        ck_assert_int_eq(fp8_quantize_dual_f32(&cfg, x, rows, cols, ldx, q2, ldq, s_ref, qt2, ldqt, st_ref),
                         FP8_ERR_NONFINITE);
        for (size_t r = 0; r < rows; r++) ck_assert_msg(memcmp(q + r * ldq, q2 + r * ldq, cols) == 0, "%s", fp8_cpu_isa_name(isa));
        for (size_t c = 0; c < cols; c++) ck_assert_msg(memcmp(qt + c * ldqt, qt2 + c * ldqt, rows) == 0, "%s", fp8_cpu_isa_name(isa));
        ck_assert(memcmp(s, s_ref, ns * 4) == 0 && memcmp(st, st_ref, nst * 4) == 0);
    }
    test_isa_reset();
    free(q2);
    free(qt2);
    /* wrong block shapes */
    fp8_quant_config bad = fp8_quant_config_init(FP8_E4M3, 128, 128);
    ck_assert_int_eq(fp8_quantize_dual_f32(&bad, x, rows, cols, ldx, q, ldq, s, qt, ldqt, st), FP8_ERR_INVALID_ARGUMENT);
    bad = fp8_quant_config_init(FP8_E4M3, 1, 512);
    ck_assert_int_eq(fp8_quantize_dual_f32(&bad, x, rows, cols, ldx, q, ldq, s, qt, ldqt, st), FP8_ERR_UNSUPPORTED);
    free(x); free(xt); free(q); free(qt); free(q_ref); free(qt_ref); free(s); free(st); free(s_ref); free(st_ref);
}
END_TEST

START_TEST(stochastic_quantization)
{
    const size_t rows = 64, cols = 256;
    float *x = make_matrix(rows, cols, 3);
    fp8_quant_config cfg = fp8_quant_config_init(FP8_E4M3, 1, 128);
    uint8_t *q = malloc(rows * cols), *q2 = malloc(rows * cols), *ref = malloc(cols);
    float s[64 * 2], s_rn[64 * 2];
    ck_assert_int_eq(fp8_quantize_f32_sr(&cfg, x, rows, cols, cols, q, cols, s, 99, 1000), FP8_OK);
    ck_assert_int_eq(fp8_quantize_f32(&cfg, x, rows, cols, cols, q2, cols, s_rn), FP8_OK);
    ck_assert(memcmp(s, s_rn, sizeof s) == 0); /* the same scales as round to nearest */
    /* element (r, c) is the stochastic rounding of x * scale with index offset + r * cols + c */
    float scaled[256];
    for (size_t r = 0; r < rows; r++) {
        for (size_t c = 0; c < cols; c++) {
            double amax = 0;
            for (size_t k = c / 128 * 128; k < c / 128 * 128 + 128; k++) amax = fmax(amax, fabs(x[r * cols + k]));
            scaled[c] = x[r * cols + c] * (float)(448.0 / amax);
        }
        ck_assert_int_eq(fp8_encode_f32_sr(ref, scaled, cols, FP8_E4M3, FP8_SATFINITE, 99, 1000 + r * cols), FP8_OK);
        ck_assert_msg(memcmp(ref, q + r * cols, cols) == 0, "row %zu", r);
    }
    for (int isa = FP8_CPU_ISA_SCALAR; isa <= FP8_TEST_LAST_SIMD; isa++) {
        if (isa != FP8_CPU_ISA_SCALAR && !test_isa_runs(isa)) continue;
        fp8_cpu_set_max_isa((fp8_cpu_isa)isa);
        ck_assert_int_eq(fp8_quantize_f32_sr(&cfg, x, rows, cols, cols, q2, cols, s, 99, 1000), FP8_OK);
        ck_assert_msg(memcmp(q, q2, rows * cols) == 0, "%s", fp8_cpu_isa_name(isa));
    }
    test_isa_reset();
    free(x); free(q); free(q2); free(ref);
}
END_TEST

START_TEST(e8m0_storage)
{
    float s[6] = {1.0f, 0.5f, 0x1p-127f, 0x1p127f, 0x1p-126f, 1024.0f}, back[6];
    uint8_t e[6], sentinel[6];
    ck_assert_int_eq(fp8_scales_to_e8m0(e, s, 6), FP8_OK);
    const uint8_t want[6] = {127, 126, 0, 254, 1, 137};
    ck_assert(memcmp(e, want, 6) == 0);
    ck_assert_int_eq(fp8_scales_from_e8m0(back, e, 6), FP8_OK);
    ck_assert(memcmp(back, s, sizeof s) == 0);
    /* MX quantization's scales are powers of two: they always convert */
    const size_t rows = 8, cols = 96;
    float *x = make_matrix(rows, cols, 12);
    fp8_quant_config cfg = fp8_quant_config_init(FP8_E4M3, 1, 32);
    ck_assert_int_eq(cfg.scale_mode, FP8_SCALE_POW2_OCP_MX);
    uint8_t q[8 * 96], es[24];
    float sc[24], sc2[24];
    ck_assert_int_eq(fp8_quantize_f32(&cfg, x, rows, cols, cols, q, cols, sc), FP8_OK);
    ck_assert_int_eq(fp8_scales_to_e8m0(es, sc, 24), FP8_OK);
    ck_assert_int_eq(fp8_scales_from_e8m0(sc2, es, 24), FP8_OK);
    ck_assert(memcmp(sc, sc2, sizeof sc) == 0);
    free(x);
    /* not powers of two: rejected, nothing written */
    const float bad[3][1] = {{3.0f}, {0.0f}, {-2.0f}};
    for (int i = 0; i < 3; i++) {
        memset(sentinel, 0xAB, sizeof sentinel);
        float two[2] = {1.0f, bad[i][0]};
        ck_assert_int_eq(fp8_scales_to_e8m0(sentinel, two, 2), FP8_ERR_INVALID_ARGUMENT);
        ck_assert_int_eq(sentinel[0], 0xAB);
    }
    uint8_t nan_code = 0xFF;
    ck_assert_int_eq(fp8_scales_from_e8m0(back, &nan_code, 1), FP8_ERR_NONFINITE);
    ck_assert(isnan(back[0]));
}
END_TEST

/* Transformer Engine's amax_and_scale_update, restated in double precision. */
START_TEST(delayed_scaling)
{
    const size_t len = 4;
    for (int algo = 0; algo < 2; algo++) {
        float buf[4];
        fp8_amax_history h;
        ck_assert_int_eq(fp8_amax_history_init(&h, buf, len, FP8_E4M3, (fp8_amax_compute)algo, 1.0f), FP8_OK);
        double ref_hist[4] = {0, 0, 0, 0}, ref_scale = 1.0;
        const float amaxes[] = {3.0f, 10.0f, 0.0f, 2.0f, 0.5f, NAN, 7.0f, 1.0f, 0.25f};
        for (size_t step = 0; step < sizeof amaxes / sizeof amaxes[0]; step++) {
            ck_assert_int_eq(fp8_amax_history_record(&h, amaxes[step] / 2), FP8_OK);
            ck_assert_int_eq(fp8_amax_history_record(&h, amaxes[step]), FP8_OK); /* the max of a step's records */
            ref_hist[0] = amaxes[step];
            double amax = ref_hist[0];
            if (algo == FP8_AMAX_MAX)
                for (size_t i = 1; i < len; i++) amax = isnan(amax) || isnan(ref_hist[i]) ? NAN : fmax(amax, ref_hist[i]);
            const double latest = ref_hist[0];
            for (size_t i = 0; i + 1 < len; i++) ref_hist[i] = ref_hist[i + 1];
            ref_hist[len - 1] = latest;
            ref_hist[0] = 0;
            if (isfinite(amax) && amax > 0) ref_scale = (float)(448.0 * 0.5 / amax);
            const fp8_status st = fp8_amax_history_update(&h);
            ck_assert_int_eq(st, isnan(amax) ? FP8_ERR_NONFINITE : FP8_OK);
            ck_assert_msg((double)h.scale == ref_scale, "algo %d step %zu: scale %g, reference %g", algo, step, h.scale, ref_scale);
            ck_assert(h.scale_inv == 1.0f / h.scale);
            for (size_t i = 0; i < len; i++)
                ck_assert(isnan(ref_hist[i]) ? isnan(buf[i]) : (double)buf[i] == ref_hist[i]);
        }
    }
    /* quantizing with the scale in force reports the amax for the history */
    float x[5] = {1.0f, -3.0f, 2.0f, NAN, 0.5f};
    uint8_t q[5];
    float amax;
    fp8_quant_config cfg = fp8_quant_config_init(FP8_E4M3, 0, 0);
    ck_assert_int_eq(fp8_quantize_f32_scaled(&cfg, x, 1, 5, 5, 200.0f, q, 5, &amax), FP8_ERR_NONFINITE);
    ck_assert(amax == 3.0f);
    ck_assert_int_eq(q[0], fp8_from_f32(200.0f, FP8_E4M3, FP8_SATFINITE));
    ck_assert_int_eq(q[1], 0xFE); /* -600 saturates to -448 */
    ck_assert_int_eq(q[3], 0x7F);
    ck_assert_int_eq(fp8_quantize_f32_scaled(&cfg, x, 1, 5, 5, 0.0f, q, 5, &amax), FP8_ERR_INVALID_ARGUMENT);
}
END_TEST

static double sqnr_db(const float *x, const float *y, size_t n)
{
    double s = 0, e = 0;
    for (size_t i = 0; i < n; i++) {
        s += (double)x[i] * x[i];
        e += ((double)x[i] - y[i]) * ((double)x[i] - y[i]);
    }
    return 10 * log10(s / e);
}

/* N(0,1), 2^20 values: E4M3 per tensor about 31.5 dB, E5M2 about 25.5 dB; tiles never worse. */
START_TEST(statistical_floors)
{
    const size_t rows = 1024, cols = 1024, n = rows * cols;
    rng_seed(2024);
    float *x = malloc(n * 4), *y = malloc(n * 4);
    uint8_t *q = malloc(n);
    float *s = malloc(rows * 8 * 4);
    for (size_t i = 0; i < n; i++) x[i] = (float)rng_normal();
    const double floor_db[2] = {31.0, 25.0};
    for (int f = 0; f < 2; f++) {
        double per_tensor = 0;
        const size_t blocks[2][2] = {{0, 0}, {1, 128}};
        for (int b = 0; b < 2; b++) {
            fp8_quant_config cfg = fp8_quant_config_init(formats[f], blocks[b][0], blocks[b][1]);
            ck_assert_int_eq(fp8_quantize_f32(&cfg, x, rows, cols, cols, q, cols, s), FP8_OK);
            ck_assert_int_eq(fp8_dequantize_f32(&cfg, q, rows, cols, cols, s, y, cols), FP8_OK);
            const double db = sqnr_db(x, y, n);
            printf("%s %zux%zu: SQNR %.2f dB\n", fp8_format_name(formats[f]), blocks[b][0], blocks[b][1], db);
            if (b == 0) {
                per_tensor = db;
                ck_assert_msg(db > floor_db[f] && db < floor_db[f] + 1.5, "%s per-tensor SQNR %.2f dB", fp8_format_name(formats[f]), db);
            } else {
                ck_assert_msg(db >= per_tensor, "1x128 %.2f dB worse than per-tensor %.2f dB", db, per_tensor);
            }
        }
    }
    free(x); free(y); free(q); free(s);
}
END_TEST

/* A caller's floating-point environment (rounding mode, FTZ/DAZ) changes no byte. */
START_TEST(fp_environment_ignored)
{
    const size_t rows = 300, cols = 1000, n = rows * cols;
    float *x = make_matrix(rows, cols, 41);
    for (size_t i = 0; i < n; i += 7) x[i] *= 1e-38f; /* FP32 subnormals and tiny values */
    for (size_t c = 0; c < cols; c++) x[5 * cols + c] = 1e-40f * (float)(c % 13 + 1); /* a row of subnormals */
    fp8_quant_config cfg = fp8_quant_config_init(FP8_E5M2, 1, 128);
    cfg.scale_mode = FP8_SCALE_F32;
    cfg.amax_floor = 0; /* let the subnormal row get a scale near 2^126: DAZ would zero it */
    const size_t ns = fp8_scale_count(rows, cols, 1, 128);
    uint8_t *q[2], *e[2];
    float *s[2], *d[2];
    for (int v = 0; v < 2; v++) {
        q[v] = malloc(n), e[v] = malloc(n), s[v] = malloc(ns * 4), d[v] = malloc(n * 4);
        if (v == 1) {
            fesetround(FE_UPWARD);
#if defined(__x86_64__) || defined(__i386__)
            _mm_setcsr(_mm_getcsr() | 0x8040); /* FTZ | DAZ */
#endif
        }
        ck_assert_int_eq(fp8_quantize_f32(&cfg, x, rows, cols, cols, q[v], cols, s[v]), FP8_OK);
        ck_assert_int_eq(fp8_dequantize_f32(&cfg, q[v], rows, cols, cols, s[v], d[v], cols), FP8_OK);
        ck_assert_int_eq(fp8_encode_f32(e[v], x, n, FP8_E5M2, FP8_SATFINITE), FP8_OK);
        if (v == 1) {
            ck_assert_int_eq(fegetround(), FE_UPWARD); /* the caller's environment is given back */
#if defined(__x86_64__) || defined(__i386__)
            ck_assert_uint_eq(_mm_getcsr() & 0x8040, 0x8040);
#endif
            fesetround(FE_TONEAREST);
#if defined(__x86_64__) || defined(__i386__)
            _mm_setcsr(_mm_getcsr() & ~0x8040u);
#endif
        }
    }
    ck_assert(q[0][5 * cols + 3] != 0); /* the subnormal row survives quantization */
    ck_assert(memcmp(q[0], q[1], n) == 0 && memcmp(s[0], s[1], ns * 4) == 0);
    ck_assert(memcmp(d[0], d[1], n * 4) == 0 && memcmp(e[0], e[1], n) == 0);
    for (int v = 0; v < 2; v++) free(q[v]), free(e[v]), free(s[v]), free(d[v]);
    free(x);
}
END_TEST

START_TEST(bad_arguments)
{
    float x[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    uint8_t q[16];
    float s[16];
    memset(q, 0xAB, sizeof q);
    memset(s, 0xAB, sizeof s);
    fp8_quant_config cfg = fp8_quant_config_init(FP8_E4M3, 1, 2);
    ck_assert_int_eq(fp8_quantize_f32(NULL, x, 4, 4, 4, q, 4, s), FP8_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(fp8_quantize_f32(&cfg, NULL, 4, 4, 4, q, 4, s), FP8_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(fp8_quantize_f32(&cfg, x, 4, 4, 4, NULL, 4, s), FP8_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(fp8_quantize_f32(&cfg, x, 4, 4, 4, q, 4, NULL), FP8_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(fp8_quantize_f32(&cfg, x, 4, 4, 3, q, 4, s), FP8_ERR_INVALID_ARGUMENT); /* ldx < cols */
    ck_assert_int_eq(fp8_quantize_f32(&cfg, x, 4, 4, 4, q, 3, s), FP8_ERR_INVALID_ARGUMENT); /* ldq < cols */
    ck_assert_int_eq(fp8_quantize_f32(&cfg, x, SIZE_MAX / 2, 4, SIZE_MAX / 4, q, 4, s), FP8_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(fp8_quantize_f32(&cfg, x, 3, SIZE_MAX, SIZE_MAX, q, SIZE_MAX, s), FP8_ERR_INVALID_ARGUMENT);
    fp8_quant_config bad = cfg;
    bad.format = (fp8_format)9;
    ck_assert_int_eq(fp8_quantize_f32(&bad, x, 4, 4, 4, q, 4, s), FP8_ERR_INVALID_ARGUMENT);
    bad = cfg;
    bad.scale_mode = (fp8_scale_mode)3;
    ck_assert_int_eq(fp8_quantize_f32(&bad, x, 4, 4, 4, q, 4, s), FP8_ERR_INVALID_ARGUMENT);
    bad = cfg;
    bad.amax_floor = NAN;
    ck_assert_int_eq(fp8_quantize_f32(&bad, x, 4, 4, 4, q, 4, s), FP8_ERR_INVALID_ARGUMENT);
    bad.amax_floor = -1.0f;
    ck_assert_int_eq(fp8_quantize_bf16(&bad, (uint16_t *)x, 4, 4, 4, q, 4, s), FP8_ERR_INVALID_ARGUMENT);
    bad = cfg;
    bad.saturation = (fp8_saturation)5;
    ck_assert_int_eq(fp8_dequantize_f32(&bad, q, 4, 4, 4, s, x, 4), FP8_ERR_INVALID_ARGUMENT);
    for (int i = 0; i < 16; i++) ck_assert(q[i] == 0xAB);
    ck_assert(x[0] == 1 && x[15] == 16);
    /* empty matrices are fine and touch nothing */
    ck_assert_int_eq(fp8_quantize_f32(&cfg, NULL, 0, 4, 4, NULL, 4, NULL), FP8_OK);
    ck_assert_int_eq(fp8_amax_history_init(NULL, s, 4, FP8_E4M3, FP8_AMAX_MAX, 0), FP8_ERR_INVALID_ARGUMENT);
    fp8_amax_history h;
    ck_assert_int_eq(fp8_amax_history_init(&h, s, 0, FP8_E4M3, FP8_AMAX_MAX, 0), FP8_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(fp8_amax_history_init(&h, s, 4, FP8_E4M3, (fp8_amax_compute)2, 0), FP8_ERR_INVALID_ARGUMENT);
}
END_TEST

START_TEST(scale_count)
{
    ck_assert_uint_eq(fp8_scale_count(4096, 7168, 1, 128), 4096 * 56);
    ck_assert_uint_eq(fp8_scale_count(4096, 7168, 128, 128), 32 * 56);
    ck_assert_uint_eq(fp8_scale_count(300, 260, 128, 128), 3 * 3);
    ck_assert_uint_eq(fp8_scale_count(300, 260, 0, 0), 1);
    ck_assert_uint_eq(fp8_scale_count(300, 260, 1, 0), 300);
    ck_assert_uint_eq(fp8_scale_count(300, 260, 0, 1), 260);
    ck_assert_uint_eq(fp8_scale_count(0, 260, 1, 1), 0);
    ck_assert_uint_eq(fp8_scale_count(SIZE_MAX, SIZE_MAX, 1, 1), 0); /* overflow */
    fp8_quant_config c = fp8_quant_config_init(FP8_E5M2, 128, 128);
    ck_assert_int_eq(c.format, FP8_E5M2);
    ck_assert_int_eq(c.saturation, FP8_SATFINITE);
    ck_assert_int_eq(c.scale_mode, FP8_SCALE_F32);
}
END_TEST

/* got (rows x cols codes, rows ld apart, 0xA5 in the gaps) against want (rows x cols, packed);
 * element (i, j) was quantized from x[i * x_row + j * x_col]. The first difference aborts
 * (ck_assert per element would be slow). */
static void expect_codes(const char *what, const char *path, const char *name, const uint8_t *got, size_t ld,
                         const uint8_t *want, size_t rows, size_t cols, const float *x, size_t x_row, size_t x_col)
{
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < ld; j++) {
            const int w = j < cols ? want[i * cols + j] : 0xA5;
            if (got[i * ld + j] != w)
                ck_abort_msg("%s, %s: %s(%zu,%zu) = 0x%02x, want 0x%02x (x %a)", what, path, name, i, j, got[i * ld + j],
                             w, j < cols ? (double)x[i * x_row + j * x_col] : 0.0);
        }
}

/* The fused pass of x (rows x cols, ldx) on every CPU path against two separate quantizations, of
 * x and of x^T; returns the status of the fused pass. Output rows are ld apart with a gap, so that
 * writes past a row's end would show. */
static fp8_status check_dual(const fp8_quant_config *cfg, const float *x, size_t rows, size_t cols, size_t ldx,
                             size_t align, const char *what)
{
    const size_t ldq = cols + align, ldqt = rows + align;
    const size_t ns = fp8_scale_count(rows, cols, 1, cfg->block_cols), nst = fp8_scale_count(cols, rows, 1, cfg->block_cols);
    float *xt = malloc(cols * rows * sizeof *xt);
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++) xt[c * rows + r] = x[r * ldx + c];
    enum { NPATHS = FP8_TEST_LAST_SIMD + 1 };
    uint8_t *q[NPATHS], *qt[NPATHS], *q_ref = malloc(rows * cols), *qt_ref = malloc(cols * rows);
    float *s[NPATHS], *st[NPATHS], *s_ref = malloc(ns * 4), *st_ref = malloc(nst * 4);
    fp8_status st_dual[NPATHS];
    bool ran[NPATHS];
    for (int isa = 0; isa < NPATHS; isa++) { /* aligned buffers, so large ones stream */
        ran[isa] = isa == FP8_CPU_ISA_SCALAR || test_isa_runs(isa);
        if (!ran[isa]) continue;
        q[isa] = aligned_alloc(64, (rows * ldq + 63) & ~(size_t)63);
        qt[isa] = aligned_alloc(64, (cols * ldqt + 63) & ~(size_t)63);
        memset(q[isa], 0xA5, rows * ldq);
        memset(qt[isa], 0xA5, cols * ldqt);
        s[isa] = malloc(ns * 4);
        st[isa] = malloc(nst * 4);
        fp8_cpu_set_max_isa((fp8_cpu_isa)isa);
        st_dual[isa] = fp8_quantize_dual_f32(cfg, x, rows, cols, ldx, q[isa], ldq, s[isa], qt[isa], ldqt, st[isa]);
    }
    test_isa_reset();
    const fp8_status st_rows = fp8_quantize_f32(cfg, x, rows, cols, ldx, q_ref, cols, s_ref);
    const fp8_status st_cols = fp8_quantize_f32(cfg, xt, cols, rows, rows, qt_ref, rows, st_ref);
    ck_assert_msg(st_cols == st_rows, "%s: status", what);
    for (int isa = 0; isa < NPATHS; isa++) {
        if (!ran[isa]) continue;
        ck_assert_msg(st_dual[isa] == st_rows, "%s, %s: status", what, fp8_cpu_isa_name(isa));
        expect_codes(what, fp8_cpu_isa_name(isa), "q", q[isa], ldq, q_ref, rows, cols, x, ldx, 1);
        expect_codes(what, fp8_cpu_isa_name(isa), "qt", qt[isa], ldqt, qt_ref, cols, rows, x, 1, ldx);
        ck_assert_msg(memcmp(s[isa], s_ref, ns * 4) == 0 && memcmp(st[isa], st_ref, nst * 4) == 0, "%s: scales", what);
        free(q[isa]), free(qt[isa]), free(s[isa]), free(st[isa]);
    }
    free(xt), free(q_ref), free(qt_ref), free(s_ref), free(st_ref);
    return st_dual[FP8_CPU_ISA_SCALAR];
}

/* Every format, saturation and tile width (whole vectors, not, wider than the matrix), partial tiles
 * both ways, and the values that take other paths: zeros of both signs, FP32 subnormals, FP8
 * subnormals and ties (columns whose scale is set by rows 2^20 larger), overflow to the largest
 * code, and tiles holding a NaN or an infinity next to finite ones. */
START_TEST(dual_paths_agree)
{
    static const size_t widths[] = {128, 32, 100, 256, 8};
    const fp8_format fmt = formats[_i % 4];
    const fp8_saturation sat = (_i / 4) % 2 ? FP8_NOSAT : FP8_SATFINITE;
    const size_t bc = widths[_i / 8], rows = 2 * bc + 37, cols = bc + 45, ldx = cols + 3;
    const uint64_t seed = 77 + (uint64_t)_i;
    printf("dual_paths_agree %d: seed %llu\n", _i, (unsigned long long)seed);
    float *x = make_matrix(rows, ldx, seed);
    for (size_t r = 0; r < rows; r += 3) {
        x[r * ldx + r % cols] = (r % 2) ? -0.0f : 0.0f;
        x[r * ldx + (r * 7) % cols] = (r % 2 ? -1 : 1) * 0x1p-140f;                       /* FP32 subnormal */
        x[r * ldx + (r * 5) % cols] = ldexpf(1.5f, -20 + (int)(r % 9)) * (r % 2 ? -1 : 1); /* ties, small */
    }
    fp8_quant_config cfg = fp8_quant_config_init(fmt, 1, bc);
    cfg.saturation = sat;
    char what[64];
    snprintf(what, sizeof what, "format %d sat %d bc %zu finite", (int)fmt, (int)sat, bc);
    ck_assert_int_eq(check_dual(&cfg, x, rows, cols, ldx, 7, what), FP8_OK);
    /* the OCP MX scale rule takes values past the largest code: saturation, or NaN or infinity */
    cfg.scale_mode = FP8_SCALE_POW2_OCP_MX;
    snprintf(what, sizeof what, "format %d sat %d bc %zu mx", (int)fmt, (int)sat, bc);
    ck_assert_int_eq(check_dual(&cfg, x, rows, cols, ldx, 7, what), FP8_OK);
    cfg.scale_mode = FP8_SCALE_F32;
    /* a NaN in the first tile, an infinity in the last; the other tiles stay on the fast path */
    x[1 * ldx + 2] = NAN;
    x[(rows - 1) * ldx + cols - 1] = -INFINITY;
    snprintf(what, sizeof what, "format %d sat %d bc %zu nonfinite", (int)fmt, (int)sat, bc);
    ck_assert_int_eq(check_dual(&cfg, x, rows, cols, ldx, 7, what), FP8_ERR_NONFINITE);
    free(x);
}
END_TEST

/* Large enough for the non-temporal stores, whose output rows go on from tile to tile and strip to
 * strip through carries (fp8_row_carry): rows aligned, 16 bytes apart from a line (as malloc
 * gives), and at every byte offset (ld = 64k + 5) with tiles a line wide, a NaN and an infinity in
 * tiles mid-matrix, and three threads; the last strip and tile are partial. */
START_TEST(dual_large)
{
    static const struct { size_t bc, align; int threads; bool nonfinite; } cases[] = {
        {128, 0, 0, false}, {128, 16, 0, false}, {64, 5, 3, true}, {256, 48, 1, false}};
    const size_t rows = 2085, cols = 4160;
    float *x = make_matrix(rows, cols, 5 + (uint64_t)_i);
    if (cases[_i].nonfinite) {
        x[700 * cols + 1000] = NAN;
        x[1500 * cols + 3000] = INFINITY;
    }
    fp8_quant_config cfg = fp8_quant_config_init(FP8_E4M3, 1, cases[_i].bc);
    fp8_set_num_threads(cases[_i].threads);
    char what[64];
    snprintf(what, sizeof what, "large, bc %zu, ld cols + %zu", cases[_i].bc, cases[_i].align);
    ck_assert_int_eq(check_dual(&cfg, x, rows, cols, cols, cases[_i].align, what),
                     cases[_i].nonfinite ? FP8_ERR_NONFINITE : FP8_OK);
    fp8_set_num_threads(0);
    free(x);
}
END_TEST

static Suite *quantize_suite(void)
{
    Suite *s = suite_create("quantize");
    TCase *tc = tcase_create("reference");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, matches_reference, 0, (int)NSHAPES * 4 * 3);
    tcase_add_loop_test(tc, large_paths_agree, 0, (int)NSHAPES);
    tcase_add_loop_test(tc, blocks_large, 0, 4);
    tcase_add_test(tc, zero_and_tiny_blocks);
    tcase_add_test(tc, nonfinite_blocks);
    tcase_add_test(tc, outlier_per_block);
    tcase_add_loop_test(tc, dequantize_error_bound, 0, 4);
    tcase_add_loop_test(tc, dequantize_large, 0, 3);
    suite_add_tcase(s, tc);
    tc = tcase_create("variants");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, dual_orientation, 0, 5);
    tcase_add_loop_test(tc, dual_paths_agree, 0, 40);
    tcase_add_loop_test(tc, dual_large, 0, 4);
    tcase_add_test(tc, stochastic_quantization);
    tcase_add_test(tc, e8m0_storage);
    tcase_add_test(tc, delayed_scaling);
    tcase_add_test(tc, statistical_floors);
    suite_add_tcase(s, tc);
    tc = tcase_create("api");
    tcase_add_test(tc, bad_arguments);
    tcase_add_test(tc, fp_environment_ignored);
    tcase_add_test(tc, scale_count);
    suite_add_tcase(s, tc);
    return s;
}

#include "support/main.h"
FP8_TEST_MAIN(quantize_suite)
