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

/* The standard 8 x 8 transpose: unpack pairs, shuffle quads, swap 128-bit halves. */
FP8_INLINE void transpose8(__m256 r[8])
{
    __m256 t[8], s[8];
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 8; i += 4) {
        s[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
        s[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xEE);
        s[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
        s[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
    }
    for (int i = 0; i < 4; i++) {
        r[i] = _mm256_permute2f128_ps(s[i], s[i + 4], 0x20);
        r[i + 4] = _mm256_permute2f128_ps(s[i], s[i + 4], 0x31);
    }
}

/* 8 x 8 blocks of (row, k) -> (k, row); widths of 6 store the first six lanes of each row. */
static void avx2_pack(float *dst, const float *src, size_t ld, size_t rows, size_t width, size_t kc)
{
    const __m256i first6 = _mm256_setr_epi32(-1, -1, -1, -1, -1, -1, 0, 0);
    size_t k = 0;
    for (; k + 8 <= kc; k += 8) {
        for (size_t r0 = 0; r0 < width; r0 += 8) {
            __m256 r[8];
            for (size_t i = 0; i < 8; i++)
                r[i] = r0 + i < rows ? _mm256_loadu_ps(src + (r0 + i) * ld + k) : _mm256_setzero_ps();
            transpose8(r);
            for (size_t q = 0; q < 8; q++) {
                if (width - r0 >= 8)
                    _mm256_store_ps(dst + (k + q) * width + r0, r[q]);
                else
                    _mm256_maskstore_ps(dst + (k + q) * width + r0, first6, r[q]);
            }
        }
    }
    fp8_gemm_scalar_pack(dst + k * width, src + k, ld, rows, width, kc - k);
}

const fp8_gemm_kernels fp8_gemm_kernels_avx2 = {
    .isa = FP8_CPU_ISA_AVX2,
    .tile_f32 = avx2_tile_f32,
    .tile_emulated = fp8_gemm_scalar_tile_emulated,
    .pack = avx2_pack,
    .convert = &fp8_cpu_kernels_avx2,
};
