/* GEMM tests: FP8 products against an FP64 reference computed from the
 * dequantized inputs (support/reference.c decodes), for every mix of scale
 * blocks and formats, odd shapes, padded strides, alpha and beta; the
 * accumulator emulator against an independent implementation of its model
 * in double arithmetic, and against DeepSeek-V3's figures; NaN reaching only
 * the outputs it should; bad arguments. Every result is also compared byte
 * for byte across CPU paths and thread counts. */
#include <check.h>
#include <fenv.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fp8.h"
#include "support/reference.h"

#define FP32_UNIT 0x1p-24 /* unit roundoff of FP32 */

/* ---- random data, reproducible from the printed seed ---------------------------------------- */

static uint64_t test_seed(void)
{
    const char *env = getenv("FP8_TEST_SEED");
    return env != NULL ? strtoull(env, NULL, 0) : UINT64_C(20261129);
}

typedef struct rng {
    uint64_t s;
} rng;

static rng rng_for(const char *what, unsigned variant)
{
    const uint64_t seed = test_seed();
    printf("%s[%u]: seed %llu (FP8_TEST_SEED)\n", what, variant, (unsigned long long)seed);
    return (rng){seed * 0x9E3779B97F4A7C15ull + variant + 1};
}

static uint64_t next_u64(rng *r)
{
    r->s ^= r->s << 13, r->s ^= r->s >> 7, r->s ^= r->s << 17;
    return r->s * 0x2545F4914F6CDD1Dull;
}

static double uniform(rng *r) { return (double)(next_u64(r) >> 11) * 0x1p-53; }

static double gaussian(rng *r)
{
    const double u = uniform(r) + 0x1p-60, v = uniform(r);
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

/* ---- quantized test operands ------------------------------------------------------------------ */

/* The quantization fp8/quantize.h specifies (FP8_SCALE_F32, FP8_SATFINITE, amax floor 1e-12):
 * used here until fp8_quantize_f32 lands. */
static void quantize(const float *x, size_t rows, size_t cols, fp8_format fmt, size_t br, size_t bc, uint8_t *q,
                     size_t ldq, float *scale_inv)
{
    const float fmax = (float)ref_max_finite(fmt);
    const size_t ebr = br == 0 ? rows : br, ebc = bc == 0 ? cols : bc;
    const size_t row_blocks = (rows + ebr - 1) / ebr, col_blocks = (cols + ebc - 1) / ebc;
    for (size_t bi = 0; bi < row_blocks; bi++) {
        for (size_t bj = 0; bj < col_blocks; bj++) {
            const size_t r1 = (bi + 1) * ebr < rows ? (bi + 1) * ebr : rows;
            const size_t c1 = (bj + 1) * ebc < cols ? (bj + 1) * ebc : cols;
            float amax = 0.0f;
            for (size_t r = bi * ebr; r < r1; r++)
                for (size_t c = bj * ebc; c < c1; c++)
                    if (isfinite(x[r * cols + c]) && fabsf(x[r * cols + c]) > amax) amax = fabsf(x[r * cols + c]);
            amax = fmaxf(fmaxf(amax, 1e-12f), fmax * 0x1p-126f);
            const float scale = fmax / amax;
            scale_inv[bi * col_blocks + bj] = amax / fmax;
            for (size_t r = bi * ebr; r < r1; r++)
                for (size_t c = bj * ebc; c < c1; c++) q[r * ldq + c] = fp8_from_f32(x[r * cols + c] * scale, fmt, FP8_SATFINITE);
        }
    }
}

typedef enum { DATA_GAUSSIAN, DATA_POSITIVE } data_kind;

typedef struct operand {
    fp8_qmatrix m;
    uint8_t *q;
    float *scale_inv;
    double *value; /* rows x cols: decode(q) * scale_inv, exact in FP64 */
} operand;

static uint8_t nan_code(fp8_format fmt) { return fmt == FP8_E4M3FNUZ || fmt == FP8_E5M2FNUZ ? 0x80 : 0x7F; }

/* Gaussian rows with magnitudes varying by 2^-3..2^3 (so scales matter), or uniform [0, 1).
 * The padding between cols and ld holds NaN codes: reading it would show. */
static operand make_operand(rng *r, size_t rows, size_t cols, size_t ld, fp8_format fmt, size_t br, size_t bc,
                            data_kind kind)
{
    operand o;
    float *x = malloc(sizeof(float) * (rows * cols + 1));
    for (size_t i = 0; i < rows; i++) {
        const double row_scale = ldexp(1.0, (int)(next_u64(r) % 7) - 3);
        for (size_t k = 0; k < cols; k++)
            x[i * cols + k] = (float)(kind == DATA_POSITIVE ? uniform(r) : gaussian(r) * row_scale);
    }
    const size_t ebr = br == 0 ? rows : br, ebc = bc == 0 ? cols : bc, col_blocks = (cols + ebc - 1) / ebc;
    const size_t nscales = (rows + ebr - 1) / ebr * col_blocks;
    o.q = malloc(rows * ld + 1);
    o.scale_inv = malloc(sizeof(float) * (nscales + 1));
    memset(o.q, nan_code(fmt), rows * ld + 1);
    quantize(x, rows, cols, fmt, br, bc, o.q, ld, o.scale_inv);
    o.value = malloc(sizeof(double) * (rows * cols + 1));
    for (size_t i = 0; i < rows; i++)
        for (size_t k = 0; k < cols; k++)
            o.value[i * cols + k] = ref_decode(o.q[i * ld + k], fmt) * (double)o.scale_inv[(i / ebr) * col_blocks + k / ebc];
    o.m = (fp8_qmatrix){o.q, rows, cols, ld, fmt, o.scale_inv, br, bc};
    free(x);
    return o;
}

static void free_operand(operand *o)
{
    free(o->q);
    free(o->scale_inv);
    free(o->value);
}

/* D filled with values for beta to scale, the padding past N with a sentinel. */
static float *make_d(rng *r, size_t M, size_t N, size_t ldd)
{
    float *d = malloc(sizeof(float) * (M * ldd + 1));
    for (size_t i = 0; i < M * ldd + 1; i++) d[i] = i % ldd < N ? (float)gaussian(r) : -12345.0f;
    return d;
}

/* Runs fp8_gemm_f32 on a CPU path, on a copy of d0; returns the copy. */
static float *gemm_on(fp8_cpu_isa isa, const fp8_gemm_config *cfg, const operand *A, const operand *B,
                      const float *d0, size_t ldd, fp8_status *status)
{
    const size_t bytes = sizeof(float) * (A->m.rows * ldd + 1);
    float *d = malloc(bytes);
    memcpy(d, d0, bytes);
    fp8_cpu_set_max_isa(isa);
    *status = fp8_gemm_f32(cfg, &A->m, &B->m, d, ldd);
    fp8_cpu_set_max_isa(FP8_CPU_ISA_AVX2);
    return d;
}

/* |D - exact| / (u * sum of |terms|), worst over D; the exact result in FP64 from the dequantized
 * inputs. Checks the padding of D kept its sentinel. */
static double worst_error_in_ulps(const fp8_gemm_config *cfg, const operand *A, const operand *B, const float *d0,
                                  const float *d, size_t ldd)
{
    const size_t M = A->m.rows, N = B->m.rows, K = A->m.cols;
    double worst = 0.0;
    for (size_t m = 0; m < M; m++) {
        for (size_t n = 0; n < N; n++) {
            double sum = 0.0, magnitude = 0.0;
            for (size_t k = 0; k < K; k++) {
                const double p = A->value[m * K + k] * B->value[n * K + k];
                sum += p;
                magnitude += fabs(p);
            }
            const double old = cfg->beta == 0.0f ? 0.0 : (double)cfg->beta * d0[m * ldd + n];
            const double exact = (double)cfg->alpha * sum + old;
            magnitude = fabs((double)cfg->alpha) * magnitude + fabs(old);
            const double err = fabs((double)d[m * ldd + n] - exact);
            ck_assert_msg(err <= 0.0 || magnitude > 0.0, "D[%zu][%zu] = %a, want 0", m, n, (double)d[m * ldd + n]);
            if (err > 0.0 && err / (magnitude * FP32_UNIT) > worst) worst = err / (magnitude * FP32_UNIT);
        }
        for (size_t n = N; n < ldd; n++) ck_assert_msg(d[m * ldd + n] == -12345.0f, "D padding written at [%zu][%zu]", m, n);
    }
    return worst;
}

/* ---- FP32 accumulation against FP64 ----------------------------------------------------------- */

static const size_t block_shapes[][2] = {{0, 0}, {1, 0}, {1, 128}, {128, 128}}; /* tensor, row, 1x128, 128x128 */
static const char *const block_names[] = {"tensor", "row", "1x128", "128x128"};
static const fp8_format format_pairs[][2] = {
    {FP8_E4M3, FP8_E4M3}, {FP8_E4M3, FP8_E5M2}, {FP8_E5M2, FP8_E4M3}, {FP8_E5M2, FP8_E5M2}};
/* M, N, K: no multiple of the 6 x 16 tile, of 128 or of the 256 K block, and some of each */
static const size_t shapes[][3] = {{1, 1, 1}, {5, 17, 33}, {13, 31, 300}, {47, 20, 129}, {64, 48, 256}, {70, 35, 515}};
#define NSHAPES (sizeof shapes / sizeof shapes[0])

/* Whether two block shapes cut K alike (0 or >= K meaning K). */
static bool k_blocks_agree(size_t bc_a, size_t bc_b, size_t K)
{
    const size_t a = bc_a == 0 || bc_a >= K ? K : bc_a, b = bc_b == 0 || bc_b >= K ? K : bc_b;
    return a == b;
}

/* Loop index: A's block shape (4) x B's block shape (4) x format pair (4). */
START_TEST(scale_mixes)
{
    const size_t *ab = block_shapes[_i / 16], *bb = block_shapes[(_i / 4) % 4];
    const fp8_format fa = format_pairs[_i % 4][0], fb = format_pairs[_i % 4][1];
    rng r = rng_for("scale_mixes", (unsigned)_i);
    double worst = 0.0;
    for (size_t s = 0; s < NSHAPES; s++) {
        const size_t M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
        const size_t lda = K + 5, ldb = K + 3, ldd = N + 7;
        operand A = make_operand(&r, M, K, lda, fa, ab[0], ab[1], DATA_GAUSSIAN);
        operand B = make_operand(&r, N, K, ldb, fb, bb[0], bb[1], DATA_GAUSSIAN);
        float *d0 = make_d(&r, M, N, ldd);
        for (int with_beta = 0; with_beta < 2; with_beta++) {
            fp8_gemm_config cfg = fp8_gemm_config_init();
            cfg.alpha = with_beta ? -1.5f : 1.0f;
            cfg.beta = with_beta ? 0.75f : 0.0f;
            fp8_status st_scalar, st_simd;
            float *d_scalar = gemm_on(FP8_CPU_ISA_SCALAR, &cfg, &A, &B, d0, ldd, &st_scalar);
            float *d_simd = gemm_on(FP8_CPU_ISA_AVX2, &cfg, &A, &B, d0, ldd, &st_simd);
            if (!k_blocks_agree(ab[1], bb[1], K)) {
                ck_assert_int_eq(st_scalar, FP8_ERR_INVALID_ARGUMENT);
                ck_assert_msg(memcmp(d_scalar, d0, sizeof(float) * (M * ldd + 1)) == 0, "D written on error");
            } else {
                ck_assert_msg(st_scalar == FP8_OK, "%s x %s %zux%zux%zu: status %d", block_names[_i / 16],
                              block_names[(_i / 4) % 4], M, N, K, st_scalar);
                const double e = worst_error_in_ulps(&cfg, &A, &B, d0, d_scalar, ldd);
                /* a sum of n terms in FP32 is typically within sqrt(n) ulps of the magnitude */
                ck_assert_msg(e <= 2.0 * sqrt((double)K) + 4.0, "%s x %s, %s x %s, %zux%zux%zu: error %.2f ulps",
                              block_names[_i / 16], block_names[(_i / 4) % 4], fp8_format_name(fa),
                              fp8_format_name(fb), M, N, K, e);
                worst = e / sqrt((double)K) > worst ? e / sqrt((double)K) : worst;
            }
            ck_assert_int_eq(st_simd, st_scalar);
            ck_assert_msg(memcmp(d_simd, d_scalar, sizeof(float) * (M * ldd + 1)) == 0,
                          "AVX2 and scalar differ: %zux%zux%zu", M, N, K);
            free(d_scalar);
            free(d_simd);
        }
        free(d0);
        free_operand(&A);
        free_operand(&B);
    }
    printf("  %s x %s, %s x %s: worst error %.3f ulps * sqrt(K)\n", block_names[_i / 16], block_names[(_i / 4) % 4],
           fp8_format_name(fa), fp8_format_name(fb), worst);
}
END_TEST

/* FNUZ formats, other promotion intervals, K shorter than a block. */
START_TEST(intervals_and_fnuz)
{
    rng r = rng_for("intervals_and_fnuz", 0);
    static const size_t intervals[] = {0, 1, 32, 64, 100, 128, 1000};
    for (size_t p = 0; p < sizeof intervals / sizeof intervals[0]; p++) {
        const size_t M = 11, N = 21, K = 200;
        const bool tiles = intervals[p] != 0 && 128 % intervals[p] == 0;
        operand A = make_operand(&r, M, K, K, FP8_E4M3FNUZ, tiles ? 1 : 0, tiles ? 128 : 0, DATA_GAUSSIAN);
        operand B = make_operand(&r, N, K, K + 1, FP8_E5M2FNUZ, tiles ? 128 : 1, tiles ? 128 : 0, DATA_GAUSSIAN);
        float *d0 = make_d(&r, M, N, N);
        fp8_gemm_config cfg = fp8_gemm_config_init();
        cfg.promote_interval = intervals[p];
        fp8_status s1, s2;
        float *d1 = gemm_on(FP8_CPU_ISA_SCALAR, &cfg, &A, &B, d0, N, &s1);
        float *d2 = gemm_on(FP8_CPU_ISA_AVX2, &cfg, &A, &B, d0, N, &s2);
        ck_assert_int_eq(s1, FP8_OK);
        ck_assert_int_eq(s2, FP8_OK);
        const double e = worst_error_in_ulps(&cfg, &A, &B, d0, d1, N);
        ck_assert_msg(e <= 2.0 * sqrt((double)K) + 4.0, "interval %zu: %.2f ulps", intervals[p], e);
        ck_assert(memcmp(d1, d2, sizeof(float) * M * N) == 0);
        free(d0);
        free(d1);
        free(d2);
        free_operand(&A);
        free_operand(&B);
    }
}
END_TEST

/* Results do not depend on the thread count (nor on the caller's rounding mode). */
START_TEST(threads_and_environment)
{
    rng r = rng_for("threads_and_environment", 0);
    const size_t M = 150, N = 262, K = 384;
    operand A = make_operand(&r, M, K, K, FP8_E4M3, 1, 128, DATA_GAUSSIAN);
    operand B = make_operand(&r, N, K, K, FP8_E4M3, 128, 128, DATA_GAUSSIAN);
    operand At = make_operand(&r, N + 300, K, K, FP8_E4M3, 1, 128, DATA_GAUSSIAN); /* M > N: split by rows */
    float *d0 = make_d(&r, N + 300, N, N);
    for (int emulate = 0; emulate < 2; emulate++) {
        fp8_gemm_config cfg = fp8_gemm_config_init();
        cfg.accum_bits = emulate ? 13 : 0;
        cfg.beta = 0.5f;
        const operand *lhs = emulate ? &A : &At;
        fp8_status st;
        fp8_set_num_threads(1);
        float *one = gemm_on(FP8_CPU_ISA_AVX2, &cfg, lhs, &B, d0, N, &st);
        ck_assert_int_eq(st, FP8_OK);
        static const unsigned counts[] = {2, 3, 7};
        for (size_t t = 0; t < 3; t++) {
            fp8_set_num_threads(counts[t]);
            float *many = gemm_on(FP8_CPU_ISA_AVX2, &cfg, lhs, &B, d0, N, &st);
            ck_assert_int_eq(st, FP8_OK);
            ck_assert_msg(memcmp(one, many, sizeof(float) * lhs->m.rows * N) == 0, "%u threads differ", counts[t]);
            free(many);
        }
        fp8_set_num_threads(0);
        fesetround(FE_UPWARD);
        float *rounded = gemm_on(FP8_CPU_ISA_AVX2, &cfg, lhs, &B, d0, N, &st);
        ck_assert_int_eq(fegetround(), FE_UPWARD);
        fesetround(FE_TONEAREST);
        ck_assert_msg(memcmp(one, rounded, sizeof(float) * lhs->m.rows * N) == 0, "the caller's rounding mode leaks in");
        free(rounded);
        free(one);
    }
    free(d0);
    free_operand(&A);
    free_operand(&B);
    free_operand(&At);
}
END_TEST

/* ---- BF16 output and the BF16 baseline -------------------------------------------------------- */

/* The BF16 nearest to x, ties to even, from the definition (neighbours compared in FP64). */
static uint16_t nearest_bf16(float x)
{
    if (isnan(x)) return 0x7FFF;
    const uint16_t lo = (uint16_t)(f32_bits(x) >> 16);
    const double vlo = ref_bf16_value(lo);
    if (vlo == (double)x || isinf(x)) return lo;
    const uint16_t hi = (uint16_t)(lo + 1); /* the next one away from zero */
    const double dlo = fabs((double)x - vlo), dhi = fabs(ref_bf16_value(hi) - (double)x);
    if (dlo != dhi) return dlo < dhi ? lo : hi;
    return (lo & 1) ? hi : lo;
}

START_TEST(bf16_output)
{
    rng r = rng_for("bf16_output", 0);
    const size_t M = 37, N = 45, K = 300, ldd = 50;
    operand A = make_operand(&r, M, K, K, FP8_E4M3, 1, 128, DATA_GAUSSIAN);
    operand B = make_operand(&r, N, K, K, FP8_E4M3, 128, 128, DATA_GAUSSIAN);
    float *d0 = make_d(&r, M, N, ldd);
    uint16_t *dh = malloc(sizeof(uint16_t) * M * ldd);
    for (size_t i = 0; i < M * ldd; i++) { /* D as BF16, and its exact FP32 widening for the FP32 run */
        dh[i] = i % ldd < N ? nearest_bf16(d0[i]) : 0xABCD;
        d0[i] = i % ldd < N ? (float)ref_bf16_value(dh[i]) : -12345.0f;
    }
    for (int with_beta = 0; with_beta < 2; with_beta++) {
        fp8_gemm_config cfg = fp8_gemm_config_init();
        cfg.beta = with_beta ? -2.0f : 0.0f;
        fp8_status st;
        float *want = gemm_on(FP8_CPU_ISA_AVX2, &cfg, &A, &B, d0, ldd, &st);
        ck_assert_int_eq(st, FP8_OK);
        for (int isa = FP8_CPU_ISA_SCALAR; isa <= FP8_CPU_ISA_AVX2; isa++) {
            uint16_t *got = malloc(sizeof(uint16_t) * M * ldd);
            memcpy(got, dh, sizeof(uint16_t) * M * ldd);
            fp8_cpu_set_max_isa((fp8_cpu_isa)isa);
            ck_assert_int_eq(fp8_gemm_bf16(&cfg, &A.m, &B.m, got, ldd), FP8_OK);
            fp8_cpu_set_max_isa(FP8_CPU_ISA_AVX2);
            for (size_t i = 0; i < M * ldd; i++) {
                const uint16_t expect = i % ldd < N ? nearest_bf16(want[i]) : 0xABCD;
                ck_assert_msg(got[i] == expect, "D[%zu]: 0x%04x, want 0x%04x (%a)", i, got[i], expect, (double)want[i]);
            }
            free(got);
        }
        free(want);
    }
    free(dh);
    free(d0);
    free_operand(&A);
    free_operand(&B);
}
END_TEST

START_TEST(bf16_baseline)
{
    rng r = rng_for("bf16_baseline", 0);
    const size_t M = 29, N = 53, K = 517, lda = 520, ldb = 530, ldd = 60;
    uint16_t *a = malloc(sizeof(uint16_t) * M * lda), *b = malloc(sizeof(uint16_t) * N * ldb);
    for (size_t i = 0; i < M * lda; i++) a[i] = i % lda < K ? nearest_bf16((float)gaussian(&r)) : 0x7FC1;
    for (size_t i = 0; i < N * ldb; i++) b[i] = i % ldb < K ? nearest_bf16((float)gaussian(&r)) : 0x7FC1;
    float *d0 = make_d(&r, M, N, ldd);
    fp8_gemm_config cfg = fp8_gemm_config_init();
    cfg.alpha = 0.5f;
    cfg.beta = 1.0f;
    float *d[2];
    for (int isa = FP8_CPU_ISA_SCALAR; isa <= FP8_CPU_ISA_AVX2; isa++) {
        d[isa] = malloc(sizeof(float) * M * ldd);
        memcpy(d[isa], d0, sizeof(float) * M * ldd);
        fp8_cpu_set_max_isa((fp8_cpu_isa)isa);
        ck_assert_int_eq(fp8_bf16_gemm_f32(&cfg, M, N, K, a, lda, b, ldb, d[isa], ldd), FP8_OK);
        fp8_cpu_set_max_isa(FP8_CPU_ISA_AVX2);
    }
    ck_assert(memcmp(d[0], d[1], sizeof(float) * M * ldd) == 0);
    double worst = 0.0;
    for (size_t m = 0; m < M; m++) {
        for (size_t n = 0; n < N; n++) {
            double sum = 0.0, magnitude = fabs((double)d0[m * ldd + n]);
            for (size_t k = 0; k < K; k++) {
                const double p = ref_bf16_value(a[m * lda + k]) * ref_bf16_value(b[n * ldb + k]);
                sum += 0.5 * p;
                magnitude += fabs(0.5 * p);
            }
            const double e = fabs((double)d[0][m * ldd + n] - (sum + d0[m * ldd + n])) / (magnitude * FP32_UNIT);
            worst = e > worst ? e : worst;
        }
        ck_assert(d[0][m * ldd + N] == -12345.0f);
    }
    printf("  bf16 baseline: worst error %.2f ulps, K = %zu\n", worst, K);
    ck_assert(worst <= 2.0 * sqrt((double)K) + 4.0);
    free(d[0]);
    free(d[1]);
    free(d0);
    free(a);
    free(b);
}
END_TEST

/* ---- NaN and infinity ------------------------------------------------------------------------- */

START_TEST(nonfinite_propagation)
{
    rng r = rng_for("nonfinite_propagation", 0);
    const size_t M = 20, N = 35, K = 260;
    const size_t bad_m = 7, bad_n = 19, inf_n = 30;
    operand A = make_operand(&r, M, K, K, FP8_E4M3, 1, 128, DATA_GAUSSIAN);
    operand B = make_operand(&r, N, K, K, FP8_E5M2, 128, 128, DATA_GAUSSIAN);
    A.q[bad_m * K + 200] = 0xFF;              /* E4M3 NaN */
    B.q[bad_n * K + 3] = 0x7F;                /* E5M2 NaN */
    B.q[inf_n * K + 150] = 0x7C;              /* E5M2 +inf: with nonzero A values, +-inf */
    for (size_t m = 0; m < M; m++) A.q[m * K + 150] = m % 2 ? 0x38 : 0xB8; /* +-1 */
    float *d0 = make_d(&r, M, N, N);
    for (size_t i = 0; i < M * N; i++) d0[i] = NAN; /* beta == 0: never read */
    for (int emulate = 0; emulate < 2; emulate++) {
        fp8_gemm_config cfg = fp8_gemm_config_init();
        cfg.accum_bits = emulate ? 14 : 0;
        fp8_status s1, s2;
        float *d1 = gemm_on(FP8_CPU_ISA_SCALAR, &cfg, &A, &B, d0, N, &s1);
        float *d2 = gemm_on(FP8_CPU_ISA_AVX2, &cfg, &A, &B, d0, N, &s2);
        ck_assert(s1 == FP8_OK && s2 == FP8_OK);
        ck_assert(memcmp(d1, d2, sizeof(float) * M * N) == 0);
        for (size_t m = 0; m < M; m++) {
            for (size_t n = 0; n < N; n++) {
                const float v = d1[m * N + n];
                if (m == bad_m || n == bad_n)
                    ck_assert_msg(isnan(v), "D[%zu][%zu] = %g, want NaN", m, n, (double)v);
                else if (n == inf_n)
                    ck_assert_msg(isinf(v) && (v > 0) == (m % 2 != 0), "D[%zu][%zu] = %g, want %sinf", m, n, (double)v,
                                  m % 2 ? "+" : "-");
                else
                    ck_assert_msg(isfinite(v), "D[%zu][%zu] = %g, want finite", m, n, (double)v);
            }
        }
        free(d1);
        free(d2);
    }
    free(d0);
    free_operand(&A);
    free_operand(&B);
}
END_TEST

/* ---- the accumulator emulator ----------------------------------------------------------------- */

/* The model of docs/gemm.md in FP64, from its text: a term floored to the grid 2^g, the sum
 * floored to n significant bits. Exact: every value here has at most 31 significant bits and the
 * one sum of two numbers that can span more rounds toward -infinity, which floors alike. */
static double floor_to_grid(double x, int g) { return ldexp(floor(ldexp(x, -g)), g); }
static int leading_exp(double x)
{
    int e;
    frexp(x, &e);
    return e - 1;
}
static double floor_to_bits(double x, unsigned n) { return x == 0.0 ? 0.0 : floor_to_grid(x, leading_exp(x) + 1 - (int)n); }

static double model_segment(const double *a, const double *b, size_t len, const fp8_gemm_config *cfg)
{
    double acc = 0.0;
    for (size_t g0 = 0; g0 < len; g0 += cfg->mma_k) {
        const size_t g1 = g0 + cfg->mma_k < len ? g0 + cfg->mma_k : len;
        const bool with_sum = cfg->accum_model == FP8_ACCUM_ALIGN_WITH_SUM && acc != 0.0;
        int top = with_sum ? leading_exp(acc) : -100000;
        bool any = with_sum;
        for (size_t k = g0; k < g1; k++)
            if (a[k] * b[k] != 0.0) {
                any = true;
                top = leading_exp(a[k] * b[k]) > top ? leading_exp(a[k] * b[k]) : top;
            }
        if (!any) continue;
        const int grid = top + 1 - (int)cfg->accum_bits;
        double products = 0.0;
        for (size_t k = g0; k < g1; k++) products += floor_to_grid(a[k] * b[k], grid);
        if (with_sum) {
            acc = floor_to_bits(floor_to_grid(acc, grid) + products, cfg->accum_bits);
        } else {
            fesetround(FE_DOWNWARD);
            volatile double sum = acc + products;
            fesetround(FE_TONEAREST);
            acc = floor_to_bits(sum, cfg->accum_bits);
        }
    }
    return acc;
}

/* The emulated GEMM from the model: segments of promote_interval, each promoted with one FMA. */
static void model_gemm(const fp8_gemm_config *cfg, const operand *A, const operand *B, const float *d0, float *d,
                       size_t ldd)
{
    const size_t M = A->m.rows, N = B->m.rows, K = A->m.cols;
    const size_t seg = cfg->promote_interval == 0 ? K : cfg->promote_interval;
    double *a = malloc(sizeof(double) * K), *b = malloc(sizeof(double) * K);
    const size_t abr = A->m.block_rows ? A->m.block_rows : M, bbr = B->m.block_rows ? B->m.block_rows : N;
    const size_t bc = A->m.block_cols && A->m.block_cols < K ? A->m.block_cols : K, kb = (K + bc - 1) / bc;
    for (size_t m = 0; m < M; m++) {
        for (size_t n = 0; n < N; n++) {
            for (size_t k = 0; k < K; k++) {
                a[k] = ref_decode(A->q[m * A->m.ld + k], A->m.format);
                b[k] = ref_decode(B->q[n * B->m.ld + k], B->m.format);
            }
            float acc = cfg->beta == 0.0f ? 0.0f : cfg->beta * d0[m * ldd + n];
            for (size_t s0 = 0; s0 < K; s0 += seg) {
                const float partial = (float)model_segment(a + s0, b + s0, s0 + seg < K ? seg : K - s0, cfg);
                const float sa = A->scale_inv[(m / abr) * kb + s0 / bc], sb = B->scale_inv[(n / bbr) * kb + s0 / bc];
                acc = fmaf(partial, (cfg->alpha * sa) * sb, acc);
            }
            d[m * ldd + n] = acc;
        }
    }
    free(a);
    free(b);
}

/* Loop index: model (2) x accumulator bits (3) x configuration (4). */
START_TEST(emulator_matches_model)
{
    static const unsigned bits[] = {10, 14, 24};
    static const struct {
        unsigned mma_k;
        size_t interval, br, bc;
        fp8_format fa, fb;
    } configs[] = {
        {32, 0, 1, 0, FP8_E4M3, FP8_E4M3},    /* per row, never promoted */
        {32, 64, 1, 128, FP8_E4M3, FP8_E5M2}, /* 1x128 x 128x128 */
        {5, 100, 0, 0, FP8_E5M2, FP8_E4M3},   /* odd groups, per tensor */
        {1, 128, 128, 128, FP8_E4M3, FP8_E4M3},
    };
    const int model = _i / 12, b = (_i / 4) % 3, c = _i % 4;
    rng r = rng_for("emulator_matches_model", (unsigned)_i);
    const size_t M = 7, N = 19, K = 333;
    operand A = make_operand(&r, M, K, K + 2, configs[c].fa, configs[c].br, configs[c].bc, DATA_GAUSSIAN);
    operand B = make_operand(&r, N, K, K, configs[c].fb, configs[c].bc ? 128 : 1, configs[c].bc, DATA_GAUSSIAN);
    float *d0 = make_d(&r, M, N, N);
    fp8_gemm_config cfg = fp8_gemm_config_init();
    cfg.accum_bits = bits[b];
    cfg.accum_model = (fp8_accum_model)model;
    cfg.mma_k = configs[c].mma_k;
    cfg.promote_interval = configs[c].interval;
    cfg.alpha = 1.25f;
    cfg.beta = c % 2 ? 0.5f : 0.0f;
    float *want = malloc(sizeof(float) * M * N);
    model_gemm(&cfg, &A, &B, d0, want, N);
    for (int isa = FP8_CPU_ISA_SCALAR; isa <= FP8_CPU_ISA_AVX2; isa++) {
        fp8_status st;
        float *got = gemm_on((fp8_cpu_isa)isa, &cfg, &A, &B, d0, N, &st);
        ck_assert_int_eq(st, FP8_OK);
        for (size_t i = 0; i < M * N; i++)
            ck_assert_msg(f32_bits(got[i]) == f32_bits(want[i]), "model %d, %u bits, config %d, D[%zu]: %a, want %a",
                          model, bits[b], c, i, (double)got[i], (double)want[i]);
        free(got);
    }
    free(want);
    free(d0);
    free_operand(&A);
    free_operand(&B);
}
END_TEST

/* A case to check by hand: 64 products, mma_k 32, 14 bits. The first group sums to 32 exactly;
 * the second holds 32 products of 2^-9. Aligned with the running sum (leading bit 2^5, so the grid
 * is 2^-8) each floors to 0; aligned among themselves they add up to 2^-4. */
START_TEST(emulator_by_hand)
{
    uint8_t a[64], b[64];
    const float one = 1.0f;
    for (int k = 0; k < 64; k++) {
        a[k] = 0x38;                   /* E4M3 1.0 */
        b[k] = k < 32 ? 0x38 : 0x01;   /* 1.0, then the smallest subnormal 2^-9 */
    }
    const fp8_qmatrix A = {a, 1, 64, 64, FP8_E4M3, &one, 0, 0}, B = {b, 1, 64, 64, FP8_E4M3, &one, 0, 0};
    fp8_gemm_config cfg = fp8_gemm_config_init();
    cfg.accum_bits = 14;
    cfg.promote_interval = 0;
    float d;
    ck_assert_int_eq(fp8_gemm_f32(&cfg, &A, &B, &d, 1), FP8_OK);
    ck_assert_msg(d == 32.0f, "with the sum: %a", (double)d);
    cfg.accum_model = FP8_ACCUM_ALIGN_PRODUCTS;
    ck_assert_int_eq(fp8_gemm_f32(&cfg, &A, &B, &d, 1), FP8_OK);
    ck_assert_msg(d == 32.0625f, "products only: %a", (double)d);
    cfg.promote_interval = 32; /* the second group starts afresh: exact */
    cfg.accum_model = FP8_ACCUM_ALIGN_WITH_SUM;
    ck_assert_int_eq(fp8_gemm_f32(&cfg, &A, &B, &d, 1), FP8_OK);
    ck_assert_msg(d == 32.0625f, "promoted every 32: %a", (double)d);
    /* negative terms round toward -infinity: 4 bits below the leading bit of 1 is a grid of 2^-3,
     * on which -2^-9 becomes -2^-3 (truncation toward zero would give 0) */
    cfg.promote_interval = 0;
    cfg.mma_k = 2;
    cfg.accum_bits = 4;
    a[0] = 0x38, b[0] = 0x38;          /* 1 */
    a[1] = 0xB8, b[1] = 0x01;          /* -1 * 2^-9 */
    const fp8_qmatrix A2 = {a, 1, 2, 64, FP8_E4M3, &one, 0, 0}, B2 = {b, 1, 2, 64, FP8_E4M3, &one, 0, 0};
    ck_assert_int_eq(fp8_gemm_f32(&cfg, &A2, &B2, &d, 1), FP8_OK);
    ck_assert_msg(d == 0.875f, "floor of a negative product: %a", (double)d);
}
END_TEST

/* DeepSeek-V3: a 14-bit accumulator at K = 4096 gives a maximum relative error near 2%, and
 * promotion every 128 removes most of it. Positive-mean inputs, per-tensor scales. */
static double max_relative_error(const fp8_gemm_config *cfg, const operand *A, const operand *B)
{
    const size_t M = A->m.rows, N = B->m.rows, K = A->m.cols;
    float *d = malloc(sizeof(float) * M * N);
    ck_assert_int_eq(fp8_gemm_f32(cfg, &A->m, &B->m, d, N), FP8_OK);
    double worst = 0.0;
    for (size_t m = 0; m < M; m++) {
        for (size_t n = 0; n < N; n++) {
            double exact = 0.0;
            for (size_t k = 0; k < K; k++) exact += A->value[m * K + k] * B->value[n * K + k];
            const double e = fabs((double)d[m * N + n] - exact) / fabs(exact);
            worst = e > worst ? e : worst;
        }
    }
    free(d);
    return worst;
}

START_TEST(deepseek_figure)
{
    const fp8_accum_model model = (fp8_accum_model)_i;
    rng r = rng_for("deepseek_figure", (unsigned)_i);
    const size_t M = 12, N = 12;
    static const size_t ks[] = {512, 1024, 2048, 4096};
    double previous = 0.0;
    for (size_t i = 0; i < 4; i++) {
        operand A = make_operand(&r, M, ks[i], ks[i], FP8_E4M3, 0, 0, DATA_POSITIVE);
        operand B = make_operand(&r, N, ks[i], ks[i], FP8_E4M3, 0, 0, DATA_POSITIVE);
        fp8_gemm_config cfg = fp8_gemm_config_init();
        cfg.accum_bits = 14;
        cfg.accum_model = model;
        cfg.promote_interval = 0;
        const double unpromoted = max_relative_error(&cfg, &A, &B);
        cfg.promote_interval = 128;
        const double promoted = max_relative_error(&cfg, &A, &B);
        cfg.accum_bits = 0;
        const double fp32 = max_relative_error(&cfg, &A, &B);
        printf("  %s, K = %4zu: max relative error %.3e unpromoted, %.3e promoted every 128, %.3e FP32\n",
               model == FP8_ACCUM_ALIGN_WITH_SUM ? "align with sum" : "align products", ks[i], unpromoted, promoted,
               fp32);
        ck_assert_msg(unpromoted > previous * 1.4, "the error must grow with K");
        ck_assert(promoted < unpromoted && fp32 < 1e-5);
        if (ks[i] == 4096) {
            /* the order of DeepSeek's "nearly 2%" (within a factor of 10), and about 10x less promoted */
            ck_assert_msg(unpromoted > 0.002 && unpromoted < 0.2, "K = 4096: %.3e", unpromoted);
            ck_assert_msg(promoted * 8.0 < unpromoted, "promotion must cut the error by about 10x");
        }
        previous = unpromoted;
        free_operand(&A);
        free_operand(&B);
    }
}
END_TEST

/* ---- arguments -------------------------------------------------------------------------------- */

/* A caller's workspace gives the same bytes as the library's own; a smaller one runs on fewer
 * threads; one too small for a thread is refused before anything is written. */
START_TEST(caller_workspace)
{
    rng r = rng_for("caller_workspace", 0);
    const size_t M = 150, N = 90, K = 384;
    operand A = make_operand(&r, M, K, K, FP8_E4M3, 1, 128, DATA_GAUSSIAN);
    operand B = make_operand(&r, N, K, K, FP8_E4M3, 128, 128, DATA_GAUSSIAN);
    float *d0 = make_d(&r, M, N, N);
    fp8_gemm_config cfg = fp8_gemm_config_init();
    cfg.beta = 0.5f;
    fp8_status st;
    float *want = gemm_on(FP8_CPU_ISA_AVX2, &cfg, &A, &B, d0, N, &st);
    ck_assert_int_eq(st, FP8_OK);
    const size_t bytes = fp8_gemm_workspace_size(&cfg, M, N, K);
    ck_assert_uint_gt(bytes, 0);
    unsigned char *ws = malloc(bytes);
    float *d = malloc(sizeof(float) * M * N);
    for (size_t part = 1; part <= 2; part++) { /* all of it, and half (fewer threads); misaligned by one byte */
        memcpy(d, d0, sizeof(float) * M * N);
        ck_assert_int_eq(fp8_gemm_f32_ws(&cfg, &A.m, &B.m, d, N, ws + 1, part == 1 ? bytes - 1 : bytes / 2 + 64), FP8_OK);
        ck_assert(memcmp(d, want, sizeof(float) * M * N) == 0);
    }
    memcpy(d, d0, sizeof(float) * M * N);
    ck_assert_int_eq(fp8_gemm_f32_ws(&cfg, &A.m, &B.m, d, N, ws, 100), FP8_ERR_INVALID_ARGUMENT);
    ck_assert(memcmp(d, d0, sizeof(float) * M * N) == 0);
    ck_assert_uint_eq(fp8_gemm_workspace_size(NULL, M, N, K), 0);
    ck_assert_uint_eq(fp8_gemm_workspace_size(&cfg, M, N, 0), 0);
    free(ws);
    free(d);
    free(want);
    free(d0);
    free_operand(&A);
    free_operand(&B);
}
END_TEST

/* The FP32 reference GEMM: within a few FP32 ulps of the FP64 product (scaled by the sum of
 * |terms|), the same bytes on every CPU path; the emulator is refused. */
START_TEST(f32_reference_gemm)
{
    rng r = rng_for("f32_reference_gemm", 0);
    const size_t M = 37, N = 53, K = 700, lda = K + 3, ldb = K + 1, ldd = N + 2;
    float *a = malloc(sizeof(float) * M * lda), *b = malloc(sizeof(float) * N * ldb);
    for (size_t i = 0; i < M * lda; i++) a[i] = (float)gaussian(&r);
    for (size_t i = 0; i < N * ldb; i++) b[i] = (float)gaussian(&r);
    float *d0 = make_d(&r, M, N, ldd), *d[2];
    fp8_gemm_config cfg = fp8_gemm_config_init();
    cfg.alpha = 0.75f;
    cfg.beta = -2.0f;
    for (int v = 0; v < 2; v++) {
        d[v] = malloc(sizeof(float) * (M * ldd + 1));
        memcpy(d[v], d0, sizeof(float) * (M * ldd + 1));
        fp8_cpu_set_max_isa(v ? FP8_CPU_ISA_AVX2 : FP8_CPU_ISA_SCALAR);
        ck_assert_int_eq(fp8_f32_gemm_f32_ws(&cfg, M, N, K, a, lda, b, ldb, d[v], ldd, NULL, 0), FP8_OK);
    }
    fp8_cpu_set_max_isa(FP8_CPU_ISA_AVX2);
    ck_assert(memcmp(d[0], d[1], sizeof(float) * (M * ldd + 1)) == 0);
    for (size_t m = 0; m < M; m++)
        for (size_t n = 0; n < N; n++) {
            double exact = -2.0 * d0[m * ldd + n], mag = fabs(exact);
            for (size_t k = 0; k < K; k++) {
                exact += 0.75 * (double)a[m * lda + k] * b[n * ldb + k];
                mag += fabs(0.75 * (double)a[m * lda + k] * b[n * ldb + k]);
            }
            ck_assert_msg(fabs(d[1][m * ldd + n] - exact) <= 8 * 0x1p-24 * mag * sqrt((double)K / 128 + 1),
                          "(%zu,%zu): %g vs %g", m, n, d[1][m * ldd + n], exact);
        }
    ck_assert(d[1][ldd - 1] == -12345.0f); /* padding untouched */
    cfg.accum_bits = 14;
    ck_assert_int_eq(fp8_f32_gemm_f32_ws(&cfg, M, N, K, a, lda, b, ldb, d[1], ldd, NULL, 0), FP8_ERR_INVALID_ARGUMENT);
    free(a);
    free(b);
    free(d0);
    free(d[0]);
    free(d[1]);
}
END_TEST

START_TEST(config_defaults)
{
    const fp8_gemm_config c = fp8_gemm_config_init();
    ck_assert_uint_eq(c.accum_bits, 0);
    ck_assert_uint_eq(c.promote_interval, 128);
    ck_assert(c.alpha == 1.0f && c.beta == 0.0f);
    ck_assert_int_eq(c.accum_model, FP8_ACCUM_ALIGN_WITH_SUM);
    ck_assert_uint_eq(c.mma_k, 32);
}
END_TEST

START_TEST(bad_arguments)
{
    enum { M = 4, N = 5, K = 300 };
    static uint8_t qa[M * K], qb[N * K];
    static const float s[64] = {1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f};
    float d[M * N];
    uint16_t dh[M * N];
    const fp8_qmatrix good_a = {qa, M, K, K, FP8_E4M3, s, 1, 128}, good_b = {qb, N, K, K, FP8_E4M3, s, 128, 128};
    const fp8_gemm_config good = fp8_gemm_config_init();
    fp8_gemm_config cfg;
    fp8_qmatrix a, b;
    for (size_t i = 0; i < M * N; i++) d[i] = 7.0f, dh[i] = 0x1234;
#define EXPECT_INVALID(setup)                                                                \
    do {                                                                                     \
        cfg = good, a = good_a, b = good_b;                                                  \
        setup;                                                                               \
        ck_assert_int_eq(fp8_gemm_f32(&cfg, &a, &b, d, N), FP8_ERR_INVALID_ARGUMENT);        \
        ck_assert_int_eq(fp8_gemm_bf16(&cfg, &a, &b, dh, N), FP8_ERR_INVALID_ARGUMENT);      \
        for (size_t i = 0; i < M * N; i++) ck_assert(d[i] == 7.0f && dh[i] == 0x1234);        \
    } while (0)
    EXPECT_INVALID(a.cols = K - 1);                          /* K differs */
    EXPECT_INVALID(a.ld = K - 1);                            /* ld < cols */
    EXPECT_INVALID(a.data = NULL);
    EXPECT_INVALID(b.scale_inv = NULL);
    EXPECT_INVALID(a.format = (fp8_format)4);
    EXPECT_INVALID(b.format = (fp8_format)-1);
    EXPECT_INVALID(a.block_cols = 64);                       /* K blocks 64 vs 128 */
    EXPECT_INVALID(a.block_cols = 0);                        /* K vs 128 */
    EXPECT_INVALID(b.block_cols = 0; b.block_rows = 1);      /* per row vs 1x128 */
    EXPECT_INVALID(cfg.promote_interval = 0);                /* K has 3 blocks: must promote */
    EXPECT_INVALID(cfg.promote_interval = 96);               /* does not divide 128 */
    EXPECT_INVALID(cfg.promote_interval = 256);
    EXPECT_INVALID(cfg.accum_bits = 25);
    EXPECT_INVALID(cfg.accum_model = (fp8_accum_model)2);
    EXPECT_INVALID(cfg.mma_k = 0);
    EXPECT_INVALID(cfg.mma_k = 65);
    EXPECT_INVALID(a.rows = SIZE_MAX / 2);                   /* (rows - 1) * ld overflows */
    ck_assert_int_eq(fp8_gemm_f32(NULL, &good_a, &good_b, d, N), FP8_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(fp8_gemm_f32(&good, NULL, &good_b, d, N), FP8_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(fp8_gemm_f32(&good, &good_a, NULL, d, N), FP8_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(fp8_gemm_f32(&good, &good_a, &good_b, NULL, N), FP8_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(fp8_gemm_f32(&good, &good_a, &good_b, d, N - 1), FP8_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(fp8_gemm_bf16(&good, &good_a, &good_b, NULL, N), FP8_ERR_INVALID_ARGUMENT);
    uint16_t h[4] = {0};
    ck_assert_int_eq(fp8_bf16_gemm_f32(&good, 2, 2, 2, NULL, 2, h, 2, d, 2), FP8_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(fp8_bf16_gemm_f32(&good, 2, 2, 2, h, 1, h, 2, d, 2), FP8_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(fp8_bf16_gemm_f32(&good, 2, 2, 2, h, 2, h, 2, d, 1), FP8_ERR_INVALID_ARGUMENT);
    for (size_t i = 0; i < M * N; i++) ck_assert(d[i] == 7.0f);
    /* valid: a divisor of the block, empty products, K = 0 (D = beta * D) */
    cfg = good;
    cfg.promote_interval = 64;
    ck_assert_int_eq(fp8_gemm_f32(&cfg, &good_a, &good_b, d, N), FP8_OK);
    a = good_a, b = good_b;
    a.rows = 0, a.data = NULL;
    ck_assert_int_eq(fp8_gemm_f32(&good, &a, &b, NULL, N), FP8_OK);
    a = good_a, b = good_b;
    a.cols = b.cols = 0;
    a.data = b.data = NULL;
    a.scale_inv = b.scale_inv = NULL;
    for (size_t i = 0; i < M * N; i++) d[i] = NAN;
    ck_assert_int_eq(fp8_gemm_f32(&good, &a, &b, d, N), FP8_OK);
    for (size_t i = 0; i < M * N; i++) ck_assert(d[i] == 0.0f && !signbit(d[i]));
    cfg = good;
    cfg.beta = 3.0f;
    for (size_t i = 0; i < M * N; i++) d[i] = 2.0f;
    ck_assert_int_eq(fp8_gemm_f32(&cfg, &a, &b, d, N), FP8_OK);
    for (size_t i = 0; i < M * N; i++) ck_assert(d[i] == 6.0f);
    /* K shorter than a block: the blocks agree whatever their size */
    a = good_a, b = good_b;
    a.cols = b.cols = 100;
    b.block_rows = 1, b.block_cols = 0;
    cfg = good;
    cfg.promote_interval = 0;
    ck_assert_int_eq(fp8_gemm_f32(&cfg, &a, &b, d, N), FP8_OK);
}
END_TEST

static Suite *gemm_suite(void)
{
    Suite *s = suite_create("gemm");
    TCase *tc = tcase_create("scale_mixes");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, scale_mixes, 0, 64);
    suite_add_tcase(s, tc);
    tc = tcase_create("intervals_and_fnuz");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, intervals_and_fnuz);
    suite_add_tcase(s, tc);
    tc = tcase_create("threads_and_environment");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, threads_and_environment);
    suite_add_tcase(s, tc);
    tc = tcase_create("bf16");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, bf16_output);
    tcase_add_test(tc, bf16_baseline);
    suite_add_tcase(s, tc);
    tc = tcase_create("nonfinite_propagation");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, nonfinite_propagation);
    suite_add_tcase(s, tc);
    tc = tcase_create("emulator");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, emulator_matches_model, 0, 24);
    tcase_add_test(tc, emulator_by_hand);
    tcase_add_loop_test(tc, deepseek_figure, 0, 2);
    suite_add_tcase(s, tc);
    tc = tcase_create("arguments");
    tcase_add_test(tc, config_defaults);
    tcase_add_test(tc, caller_workspace);
    tcase_add_test(tc, f32_reference_gemm);
    tcase_add_test(tc, bad_arguments);
    suite_add_tcase(s, tc);
    return s;
}

#include "support/main.h"
FP8_TEST_MAIN(gemm_suite)
