/* libfp8: AVX2/FMA GEMM kernels, giving the same bytes as the scalar
 * reference (gemm/gemm_scalar.c): each output's sum is a chain of FMAs in k
 * order, exactly as there, only 96 of them run side by side.
 *
 * The tile kernel keeps a 6 x 16 block of segment sums in 12 registers
 * (6 rows x 2 vectors of 8): per k, two loads of B, six broadcasts of A and
 * twelve FMAs. At each segment's end the sums are promoted into D, which
 * stays in L1 for the whole call. The driver sets the default MXCSR. */
#if !defined(__AVX2__) || !defined(__FMA__) || !defined(__F16C__)
#error "cpu/avx2 sources must be compiled with -mavx2 -mfma -mf16c"
#endif

#include <immintrin.h>

#include "gemm/gemm_kernels.h"

#if FP8_GEMM_MR != 6 || FP8_GEMM_NR != 16
#error "the AVX2 tile kernel is written for 6 x 16 tiles"
#endif

#define FP8_INLINE static inline __attribute__((always_inline))

/* Expands X(i) for the six rows of a tile; row i sums into the registers ci0 and ci1. */
#define FP8_TILE_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5)

static void avx2_tile_f32(const fp8_gemm_tile *t)
{
    const float *a = t->a, *b = t->b, *as = t->a_scale, *bs = t->b_scale;
    float *d = t->d;
    const size_t ldd = t->ldd;
    /* D is first needed at the end of the first segment: fetch it meanwhile */
#define FP8_PREFETCH_ROW(i) _mm_prefetch((const char *)(d + i * ldd), _MM_HINT_T0), _mm_prefetch((const char *)(d + i * ldd + 15), _MM_HINT_T0);
    FP8_TILE_ROWS(FP8_PREFETCH_ROW)
#undef FP8_PREFETCH_ROW
    if (t->first) {
        const __m256 beta = _mm256_set1_ps(t->beta), zero = _mm256_setzero_ps();
#define FP8_INIT_ROW(i)                                                                                   \
    _mm256_storeu_ps(d + i * ldd, t->beta == 0.0f ? zero : _mm256_mul_ps(beta, _mm256_loadu_ps(d + i * ldd))); \
    _mm256_storeu_ps(d + i * ldd + 8, t->beta == 0.0f ? zero : _mm256_mul_ps(beta, _mm256_loadu_ps(d + i * ldd + 8)));
        FP8_TILE_ROWS(FP8_INIT_ROW)
#undef FP8_INIT_ROW
    }
    for (size_t s0 = 0; s0 < t->kc; s0 += t->segment) {
        const size_t len = t->kc - s0 < t->segment ? t->kc - s0 : t->segment;
#define FP8_ZERO_ROW(i) __m256 c##i##0 = _mm256_setzero_ps(), c##i##1 = _mm256_setzero_ps();
        FP8_TILE_ROWS(FP8_ZERO_ROW)
#undef FP8_ZERO_ROW
#pragma GCC unroll 4
        for (size_t k = 0; k < len; k++) {
            const __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
#define FP8_FMA_ROW(i)                                  \
    {                                                   \
        const __m256 ai = _mm256_broadcast_ss(a + i);   \
        c##i##0 = _mm256_fmadd_ps(ai, b0, c##i##0);     \
        c##i##1 = _mm256_fmadd_ps(ai, b1, c##i##1);     \
    }
            FP8_TILE_ROWS(FP8_FMA_ROW)
#undef FP8_FMA_ROW
            a += FP8_GEMM_MR;
            b += FP8_GEMM_NR;
        }
        /* d = fma(sum, a_scale * b_scale, d) */
        const __m256 bs0 = _mm256_loadu_ps(bs), bs1 = _mm256_loadu_ps(bs + 8);
#define FP8_PROMOTE_ROW(i)                                                                                        \
    {                                                                                                             \
        const __m256 si = _mm256_broadcast_ss(as + i);                                                            \
        _mm256_storeu_ps(d + i * ldd, _mm256_fmadd_ps(c##i##0, _mm256_mul_ps(si, bs0), _mm256_loadu_ps(d + i * ldd))); \
        _mm256_storeu_ps(d + i * ldd + 8,                                                                         \
                         _mm256_fmadd_ps(c##i##1, _mm256_mul_ps(si, bs1), _mm256_loadu_ps(d + i * ldd + 8)));      \
    }
        FP8_TILE_ROWS(FP8_PROMOTE_ROW)
#undef FP8_PROMOTE_ROW
        as += FP8_GEMM_MR;
        bs += FP8_GEMM_NR;
    }
}

/* ---- packing: transposing codes ---------------------------------------------------------------
 * 16 rows of 32 bytes, row i in x[i], become columns: each stage interleaves pairs of registers at
 * twice the width of the last (bytes, 16-bit pairs, 32-bit quads, 64-bit eights), working in both
 * 128-bit lanes alike. Bytes (elem 1): lane 0 holds k .. k+15, lane 1 k+16 .. k+31, and x[q] ends
 * as column k+q (lane 0) and k+16+q (lane 1), rows 0..15. 16-bit elements skip the byte stage:
 * lane 0 holds k .. k+7, lane 1 k+8 .. k+15, and x[q] (q < 8) ends as rows 0..7 of column k+q
 * (lane 0) and k+8+q (lane 1), x[8+q] as rows 8..15 of the same columns. */
FP8_INLINE void interleave_stage(__m256i x[16], int unit_bytes, int step)
{
    /* register i pairs with i + step, in groups of 2 * step; outputs in order */
    __m256i y[16];
    int o = 0;
    for (int g = 0; g < 16; g += 2 * step) {
        for (int i = g; i < g + step; i++, o += 2) {
            const __m256i a = x[i], b = x[i + step];
            switch (unit_bytes) {
            case 1: y[o] = _mm256_unpacklo_epi8(a, b), y[o + 1] = _mm256_unpackhi_epi8(a, b); break;
            case 2: y[o] = _mm256_unpacklo_epi16(a, b), y[o + 1] = _mm256_unpackhi_epi16(a, b); break;
            case 4: y[o] = _mm256_unpacklo_epi32(a, b), y[o + 1] = _mm256_unpackhi_epi32(a, b); break;
            default: y[o] = _mm256_unpacklo_epi64(a, b), y[o + 1] = _mm256_unpackhi_epi64(a, b); break;
            }
        }
    }
    for (int i = 0; i < 16; i++) x[i] = y[i];
}

/* Rows 0 .. rows-1 of 32 bytes from k (in bytes); the others zero. */
FP8_INLINE void load_rows16(__m256i x[16], const unsigned char *src, size_t ld_bytes, size_t rows)
{
    for (size_t i = 0; i < 16; i++)
        x[i] = i < rows ? _mm256_loadu_si256((const __m256i *)(src + i * ld_bytes)) : _mm256_setzero_si256();
}

/* Bytes: 32 columns per step. Width 6 stores 8 bytes per column in ascending order, each
 * overwriting the previous one's spill. */
static size_t pack_bytes(unsigned char *dst, const unsigned char *src, size_t ld, size_t rows, size_t width, size_t kc)
{
    size_t k = 0;
    for (; k + 32 <= kc; k += 32) {
        __m256i x[16];
        load_rows16(x, src + k, ld, rows);
        interleave_stage(x, 1, 1), interleave_stage(x, 2, 2), interleave_stage(x, 4, 4), interleave_stage(x, 8, 8);
        for (int lane = 0; lane < 2; lane++) {
            for (size_t q = 0; q < 16; q++) {
                const __m128i column = lane ? _mm256_extracti128_si256(x[q], 1) : _mm256_castsi256_si128(x[q]);
                unsigned char *out = dst + (k + 16 * (size_t)lane + q) * width;
                if (width == FP8_GEMM_NR)
                    _mm_storeu_si128((__m128i *)out, column);
                else
                    _mm_storel_epi64((__m128i *)out, column);
            }
        }
    }
    return k;
}

/* 16-bit elements: 16 columns per step; width 6 stores 16 bytes per column, as above. */
static size_t pack_halves(unsigned char *dst, const unsigned char *src, size_t ld, size_t rows, size_t width, size_t kc)
{
    size_t k = 0;
    for (; k + 16 <= kc; k += 16) {
        __m256i x[16];
        load_rows16(x, src + 2 * k, 2 * ld, rows);
        interleave_stage(x, 2, 1), interleave_stage(x, 4, 2), interleave_stage(x, 8, 4);
        for (size_t q = 0; q < 8; q++) {
            unsigned char *out = dst + 2 * (k + q) * width, *out8 = dst + 2 * (k + 8 + q) * width;
            if (width == FP8_GEMM_NR) {
                _mm256_storeu_si256((__m256i *)out, _mm256_permute2x128_si256(x[q], x[8 + q], 0x20));
                _mm256_storeu_si256((__m256i *)out8, _mm256_permute2x128_si256(x[q], x[8 + q], 0x31));
            } else {
                _mm_storeu_si128((__m128i *)out, _mm256_castsi256_si128(x[q]));
            }
        }
        if (width != FP8_GEMM_NR)
            for (size_t q = 0; q < 8; q++)
                _mm_storeu_si128((__m128i *)(dst + 2 * (k + 8 + q) * width), _mm256_extracti128_si256(x[q], 1));
    }
    return k;
}

static void avx2_pack(void *dst, const void *src, size_t ld, size_t rows, size_t width, size_t kc, size_t elem_size)
{
    const size_t k = elem_size == 1   ? pack_bytes(dst, src, ld, rows, width, kc)
                     : elem_size == 2 ? pack_halves(dst, src, ld, rows, width, kc)
                                      : 0; /* FP32 operands (the reference GEMM): the scalar copy */
    fp8_gemm_scalar_pack((unsigned char *)dst + k * width * elem_size, (const unsigned char *)src + k * elem_size, ld,
                         rows, width, kc - k, elem_size);
}

/* ---- the accumulator emulator, eight outputs per vector ---------------------------------------
 * The model of gemm/gemm_scalar.c for FP8 operands, whose products are exact FP32 normals or zero:
 *     p = | S | E (8 bits) | M (23 bits) |  =  +-(1.M as a 24-bit integer) * 2^(E - 150)
 * With `top` the largest exponent field among the group's terms, the grid is 2^(top - 126 - bits)
 * and a term's multiple of it is the 24-bit signed significand shifted right by
 * top - E + 24 - bits >= 0, sign-filling (floor); counts of 32 and more give 0 or -1, as they
 * should. A group's sum (at most 64 terms of at most 2^24) fits in 32 bits. The running sum is
 * held as an FP32 value (it has at most 24 significant bits, or is -2^24 times a power of two).
 * Non-finite products (exponent field 255) are summed in FP32 apart, as there. */
FP8_INLINE __m256i exponent_field(__m256 x)
{
    return _mm256_and_si256(_mm256_srli_epi32(_mm256_castps_si256(x), 23), _mm256_set1_epi32(0xFF));
}

/* The multiple of the grid below x: x's signed significand shifted right by top - E + 24 - bits. */
FP8_INLINE __m256i floor_to_grid(__m256 x, __m256i top, __m256i low_bits)
{
    const __m256i u = _mm256_castps_si256(x), e = exponent_field(x);
    const __m256i live = _mm256_andnot_si256(_mm256_or_si256(_mm256_cmpeq_epi32(e, _mm256_setzero_si256()),
                                                             _mm256_cmpeq_epi32(e, _mm256_set1_epi32(0xFF))),
                                             _mm256_set1_epi32(-1));
    const __m256i sig = _mm256_and_si256(_mm256_or_si256(_mm256_and_si256(u, _mm256_set1_epi32(0x7FFFFF)),
                                                         _mm256_set1_epi32(0x800000)),
                                        live);
    return _mm256_srav_epi32(_mm256_sign_epi32(sig, u), _mm256_add_epi32(_mm256_sub_epi32(top, e), low_bits));
}

/* 2^e for exponents e in FP32's normal range, as FP32 and as FP64. */
FP8_INLINE __m256 pow2_f32(__m256i e) { return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(e, _mm256_set1_epi32(127)), 23)); }
FP8_INLINE __m256d pow2_f64(__m128i e)
{
    return _mm256_castsi256_pd(_mm256_slli_epi64(_mm256_cvtepi32_epi64(_mm_add_epi32(e, _mm_set1_epi32(1023))), 52));
}

/* x (nonzero, |x| < 2^31) floored to `bits` significant bits, times 2^grid, as FP32. The bit length
 * comes from x's FP32 conversion, one less where that rounded up to the next power of two. */
FP8_INLINE __m256 floor_to_bits(__m256i x, __m256i grid, unsigned bits)
{
    const __m256i magnitude = _mm256_abs_epi32(x);
    __m256i length = _mm256_sub_epi32(exponent_field(_mm256_cvtepi32_ps(magnitude)), _mm256_set1_epi32(126));
    const __m256i top_bit = _mm256_sllv_epi32(_mm256_set1_epi32(1), _mm256_sub_epi32(length, _mm256_set1_epi32(1)));
    length = _mm256_add_epi32(length, _mm256_cmpgt_epi32(top_bit, magnitude));
    const __m256i drop = _mm256_max_epi32(_mm256_sub_epi32(length, _mm256_set1_epi32((int)bits)), _mm256_setzero_si256());
    const __m256 kept = _mm256_cvtepi32_ps(_mm256_srav_epi32(x, drop));
    return _mm256_mul_ps(kept, pow2_f32(_mm256_add_epi32(grid, drop)));
}

/* FP8_ACCUM_ALIGN_PRODUCTS: floor_bits(acc + sum * 2^grid), in FP64 (both exact there). The FP64 sum
 * rounds to nearest; its error, from TwoSum, says whether the exact sum lies just below it, and
 * then the FP64 value just below stands in for it (no grid point lies between). */
FP8_INLINE __m256d add_and_floor_f64(__m256d acc, __m256d sum, unsigned bits)
{
    const __m256d s = _mm256_add_pd(acc, sum), bb = _mm256_sub_pd(s, acc);
    const __m256d err = _mm256_add_pd(_mm256_sub_pd(acc, _mm256_sub_pd(s, bb)), _mm256_sub_pd(sum, bb));
    const __m256i below = _mm256_castpd_si256(_mm256_cmp_pd(err, _mm256_setzero_pd(), _CMP_LT_OQ));
    /* the FP64 below s: bits - 1 for s > 0, bits + 1 for s < 0 (the sign spread over the lane) */
    const __m256i negative = _mm256_srai_epi32(_mm256_shuffle_epi32(_mm256_castpd_si256(s), 0xF5), 31);
    const __m256i step = _mm256_or_si256(_mm256_xor_si256(negative, _mm256_set1_epi32(-1)), _mm256_set1_epi64x(1));
    const __m256i t = _mm256_add_epi64(_mm256_castpd_si256(s), _mm256_and_si256(below, step));
    /* floor to `bits` bits below the leading one: scale by 2^-grid, floor, scale back */
    const __m256i lead = _mm256_sub_epi64(_mm256_srli_epi64(_mm256_and_si256(t, _mm256_set1_epi64x(0x7FF0000000000000)), 52),
                                          _mm256_set1_epi64x(1023));
    const __m256i grid = _mm256_sub_epi64(lead, _mm256_set1_epi64x((int64_t)bits - 1));
    const __m256d up = _mm256_castsi256_pd(_mm256_slli_epi64(_mm256_sub_epi64(_mm256_set1_epi64x(1023), grid), 52));
    const __m256d down = _mm256_castsi256_pd(_mm256_slli_epi64(_mm256_add_epi64(_mm256_set1_epi64x(1023), grid), 52));
    const __m256d floored = _mm256_mul_pd(_mm256_floor_pd(_mm256_mul_pd(_mm256_castsi256_pd(t), up)), down);
    return _mm256_blendv_pd(floored, _mm256_setzero_pd(), _mm256_cmp_pd(s, _mm256_setzero_pd(), _CMP_EQ_OQ));
}

/* One row i and eight columns of a tile through a whole segment; returns the promoted value. */
FP8_INLINE __m256 emulate_lanes(const float *a, const float *b, size_t n, const fp8_accumulator_model *m)
{
    const __m256i low_bits = _mm256_set1_epi32(24 - (int)m->bits);
    const __m256i infinite_field = _mm256_set1_epi32(0xFF);
    __m256 acc = _mm256_setzero_ps(), special = _mm256_setzero_ps();
    __m256 products[FP8_GEMM_MAX_MMA_K];
    for (size_t g0 = 0; g0 < n; g0 += m->mma_k) {
        const size_t g = n - g0 < m->mma_k ? n - g0 : m->mma_k;
        __m256i top = m->model == FP8_ACCUM_ALIGN_WITH_SUM ? exponent_field(acc) : _mm256_setzero_si256();
        for (size_t k = 0; k < g; k++) {
            const __m256 p = _mm256_mul_ps(_mm256_broadcast_ss(a + (g0 + k) * FP8_GEMM_MR),
                                           _mm256_load_ps(b + (g0 + k) * FP8_GEMM_NR));
            const __m256i e = exponent_field(p);
            const __m256i nonfinite = _mm256_cmpeq_epi32(e, infinite_field);
            special = _mm256_add_ps(special, _mm256_and_ps(p, _mm256_castsi256_ps(nonfinite)));
            top = _mm256_max_epi32(top, _mm256_andnot_si256(nonfinite, e));
            products[k] = p;
        }
        __m256i sum = _mm256_setzero_si256();
        for (size_t k = 0; k < g; k++) sum = _mm256_add_epi32(sum, floor_to_grid(products[k], top, low_bits));
        const __m256i grid = _mm256_sub_epi32(top, _mm256_set1_epi32(126 + (int)m->bits)); /* top - 127 + 1 - bits */
        if (m->model == FP8_ACCUM_ALIGN_WITH_SUM) {
            sum = _mm256_add_epi32(sum, floor_to_grid(acc, top, low_bits));
            acc = floor_to_bits(sum, grid, m->bits);
            acc = _mm256_andnot_ps(_mm256_castsi256_ps(_mm256_cmpeq_epi32(sum, _mm256_setzero_si256())), acc);
        } else {
            __m256d half[2];
            for (int h = 0; h < 2; h++) {
                const __m128i sum_h = h ? _mm256_extracti128_si256(sum, 1) : _mm256_castsi256_si128(sum);
                const __m128i grid_h = h ? _mm256_extracti128_si256(grid, 1) : _mm256_castsi256_si128(grid);
                const __m128 acc_h = h ? _mm256_extractf128_ps(acc, 1) : _mm256_castps256_ps128(acc);
                /* sum * 2^grid is exact in FP64 (where the grid would leave FP64's range the sum is 0) */
                const __m256d scaled = _mm256_mul_pd(_mm256_cvtepi32_pd(sum_h), pow2_f64(grid_h));
                half[h] = add_and_floor_f64(_mm256_cvtps_pd(acc_h), scaled, m->bits);
            }
            acc = _mm256_set_m128(_mm256_cvtpd_ps(half[1]), _mm256_cvtpd_ps(half[0]));
        }
    }
    return _mm256_add_ps(acc, special);
}

static void avx2_emulated_sums(float sums[FP8_GEMM_MR][FP8_GEMM_NR], const float *a, const float *b, size_t n,
                               const fp8_accumulator_model *m)
{
    if (!m->fp8_products) {
        fp8_gemm_scalar_emulated_sums(sums, a, b, n, m);
        return;
    }
    for (size_t i = 0; i < FP8_GEMM_MR; i++)
        for (size_t h = 0; h < FP8_GEMM_NR; h += 8) _mm256_storeu_ps(&sums[i][h], emulate_lanes(a + i, b + h, n, m));
}

static void avx2_tile_emulated(const fp8_gemm_tile *t) { fp8_gemm_scalar_tile(t, avx2_emulated_sums); }

const fp8_gemm_kernels fp8_gemm_kernels_avx2 = {
    .isa = FP8_CPU_ISA_AVX2,
    .tile_f32 = avx2_tile_f32,
    .tile_emulated = avx2_tile_emulated,
    .pack = avx2_pack,
    .convert = &fp8_cpu_kernels_avx2,
};
