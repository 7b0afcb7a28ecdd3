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

/* Row i of the tile: two accumulators c[2i], c[2i+1]. */
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

const fp8_gemm_kernels fp8_gemm_kernels_avx2 = {
    .isa = FP8_CPU_ISA_AVX2,
    .tile_f32 = avx2_tile_f32,
    .tile_emulated = fp8_gemm_scalar_tile_emulated,
    .pack = avx2_pack,
    .convert = &fp8_cpu_kernels_avx2,
};
