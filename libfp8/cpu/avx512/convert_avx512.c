/* libfp8: AVX-512 conversion and quantization kernels, sixteen lanes at a
 * time, giving the same bytes as the scalar reference (convert/reference.h).
 *
 * They override what pays at this width and point the rest at the AVX2
 * kernels (see the table at the end). The rounding is the AVX2 kernels' own,
 * written once for both widths (cpu/simd_convert.h), as is the decoding;
 * what AVX-512 adds:
 *   - masks: an array's last partial block of 64 is done by the same code
 *     with masked loads and stores, not by the scalar kernel;
 *   - twice the lanes, and a 512-bit pack + one dword permute per 64 codes;
 *   - NaN is found once per 64 elements (a max over four vectors) and only a
 *     block that holds one pays for a byte blend;
 *   - amax keeps NaN and infinity in its maxima (two instructions per 16
 *     elements) and reads again, for its finite maximum, only a group that
 *     held one;
 *   - quantization's encode can find another row's amax on the way
 *     (amax_walk).
 * Like every kernel they run under the default floating-point environment
 * their callers enter (core/fpenv.h). Each is specialized per format
 * (FP8_SPECIALIZE). */
#if !defined(__AVX512F__) || !defined(__AVX512BW__) || !defined(__AVX512DQ__) || !defined(__AVX512VL__)
#error "cpu/avx512 sources must be compiled with -mavx512f -mavx512bw -mavx512dq -mavx512vl"
#endif

#include <immintrin.h>

#include "convert/reference.h"
#include "cpu/kernels.h"

/* The vocabulary of cpu/simd_convert.h at this width. */
#define FP8_VI __m512i
#define FP8_VF __m512
#define FP8_V(op) _mm512_##op
#define FP8_V_AND _mm512_and_si512
#define FP8_V_OR _mm512_or_si512
#define FP8_V_AS_F _mm512_castsi512_ps
#define FP8_V_AS_I _mm512_castps_si512
#define FP8_VMASK __mmask16
#define FP8_V_GT _mm512_cmpgt_epi32_mask
#define FP8_V_EQ _mm512_cmpeq_epi32_mask
#define FP8_V_SELECT(m, a, b) _mm512_mask_blend_ps(m, a, b)
#include "cpu/simd_convert.h"

#define ALL16 ((__mmask16)0xFFFF)

/* The first n (<= 64) of 64 lanes. */
FP8_INLINE __mmask64 first_lanes64(size_t n) { return n >= 64 ? ~(__mmask64)0 : ((__mmask64)1 << n) - 1; }
FP8_INLINE __mmask16 first_lanes16(size_t n) { return (__mmask16)(n >= 16 ? 0xFFFF : (1u << n) - 1); }

/* Loaders: sixteen source elements (those of mask k; the others read as zero) -> sixteen FP32 bit
 * patterns, exactly. */
FP8_INLINE __m512i load16_f32(const void *src, __mmask16 k) { return _mm512_maskz_loadu_epi32(k, src); }
FP8_INLINE __m512i load16_bf16(const void *src, __mmask16 k)
{
    return _mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(k, src)), 16);
}
FP8_INLINE __m512i load16_f16(const void *src, __mmask16 k)
{
    return _mm512_castps_si512(_mm512_cvtph_ps(_mm256_maskz_loadu_epi16(k, src)));
}

typedef __m512i (*load16_fn)(const void *, __mmask16);

#define ABS_MASK 0x7FFFFFFF
#define INFINITY_BITS 0x7F800000

/* The signs of four vectors of FP32 bits in bit 7 of 64 bytes, in the packs' order (as codes64's
 * magnitudes): a signed pack keeps each sign (negative int32 -> negative int16 -> negative int8). */
FP8_INLINE __m512i sign_bytes64(const __m512i bits[4])
{
    return _mm512_packs_epi16(_mm512_packs_epi32(bits[0], bits[1]), _mm512_packs_epi32(bits[2], bits[3]));
}

/* Four vectors of magnitude codes (each < 2^15) -> 64 code bytes in order: saturated to the
 * format's largest code (one byte-wide min per 64), each with the sign in bit 7 of its byte of
 * sign (sign_bytes64), none on FNUZ zeros. */
FP8_INLINE __m512i codes64(const fp8_format_params *p, const __m512i mag[4], __m512i sign, __m512i clamp8)
{
    __m512i b = _mm512_packus_epi16(_mm512_packus_epi32(mag[0], mag[1]), _mm512_packus_epi32(mag[2], mag[3]));
    b = _mm512_min_epu8(b, clamp8);
    if (p->fnuz) sign = _mm512_maskz_mov_epi8(_mm512_test_epi8_mask(b, b), sign);
    /* b | (sign & 0x80) */
    b = _mm512_ternarylogic_epi32(b, sign, _mm512_set1_epi8((char)0x80), 0xF8);
    /* the packs work per 128-bit lane: lane L holds dwords mag0_L mag1_L mag2_L mag3_L (4 codes each) */
    return _mm512_permutexvar_epi32(_mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15), b);
}

/* The format's NaN code in the lanes whose input was a NaN (codes in natural order). */
FP8_INLINE __m512i put_nans64(const fp8_format_params *p, __m512i codes, const __m512i abs_bits[4])
{
    __mmask64 nan = 0;
    for (int v = 0; v < 4; v++)
        nan |= (__mmask64)_mm512_cmpgt_epu32_mask(abs_bits[v], _mm512_set1_epi32(INFINITY_BITS)) << (16 * v);
    return _mm512_mask_blend_epi8(nan, codes, _mm512_set1_epi8((char)p->nan_code));
}

/* How the scales of a scaled encode are laid out (see kernels.h's scale_group). */
typedef enum { SCALES_NONE, SCALES_ONE, SCALES_PER_ELEMENT, SCALES_PER_GROUP_OF_16K } scale_layout;

typedef struct scale_walk {
    scale_layout layout;
    const float *scale;
    size_t group;     /* scale_group */
    size_t group_end; /* SCALES_PER_GROUP_OF_16K: first element of the next group */
    __m512 current;   /* the scale of the group in progress (SCALES_ONE, SCALES_PER_GROUP_OF_16K) */
} scale_walk;

/* Encodes the `count` (<= 64) elements from element `i` on: src and dst point at element i.
 * Vectors wholly past count are not read (nor their scales). */
FP8_INLINE void encode64(const fp8_format_params *p, uint8_t *dst, const unsigned char *src, size_t elem_size,
                         size_t i, size_t count, load16_fn load16, scale_walk *s, const nearest_consts *k,
                         __m512i clamp8, bool stream)
{
    __m512i bits[4], a[4], mag[4];
    for (size_t v = 0; v < 4; v++) {
        if (16 * v >= count) {
            bits[v] = a[v] = mag[v] = _mm512_setzero_si512();
            continue;
        }
        bits[v] = load16(src + 16 * v * elem_size, first_lanes16(count - 16 * v));
        if (s->layout == SCALES_PER_GROUP_OF_16K && i + 16 * v == s->group_end) {
            s->current = _mm512_set1_ps(s->scale[s->group_end / s->group]);
            s->group_end += s->group;
        }
        if (s->layout != SCALES_NONE) {
            const __m512 sv = s->layout == SCALES_PER_ELEMENT
                                  ? _mm512_maskz_loadu_ps(first_lanes16(count - 16 * v), s->scale + i + 16 * v)
                                  : s->current;
            bits[v] = _mm512_castps_si512(_mm512_mul_ps(_mm512_castsi512_ps(bits[v]), sv));
        }
        a[v] = _mm512_and_si512(bits[v], _mm512_set1_epi32(ABS_MASK));
        mag[v] = magnitude_nearest(a[v], p, k);
    }
    __m512i codes = codes64(p, mag, sign_bytes64(bits), clamp8);
    /* NaN inputs (rare): one test per 64 elements */
    const __m512i largest = _mm512_max_epu32(_mm512_max_epu32(a[0], a[1]), _mm512_max_epu32(a[2], a[3]));
    if (_mm512_cmpgt_epu32_mask(largest, _mm512_set1_epi32(INFINITY_BITS))) codes = put_nans64(p, codes, a);
    if (count == 64 && stream)
        _mm512_stream_si512((__m512i *)dst, codes);
    else
        _mm512_mask_storeu_epi8(dst, first_lanes64(count), codes);
}

/* |x| as FP32 bits, for the sixteen elements of mask k (the others 0). */
FP8_INLINE __m512i abs16(const unsigned char *src, __mmask16 k, load16_fn load16)
{
    return _mm512_and_si512(load16(src, k), _mm512_set1_epi32(ABS_MASK));
}

/* The largest finite |x| as bits over n elements; sets *nonfinite if one is NaN or infinite. */
FP8_INLINE uint32_t finite_max_bits(const unsigned char *src, size_t elem_size, size_t n, load16_fn load16,
                                    bool *nonfinite)
{
    __m512i acc = _mm512_setzero_si512();
    __mmask16 bad = 0;
    for (size_t i = 0; i < n; i += 16) {
        const __mmask16 k = first_lanes16(n - i);
        const __m512i a = abs16(src + i * elem_size, k, load16);
        const __mmask16 finite = _mm512_cmplt_epu32_mask(a, _mm512_set1_epi32(INFINITY_BITS));
        acc = _mm512_mask_max_epu32(acc, finite, acc, a);
        bad |= (__mmask16)(k & ~finite);
    }
    if (bad) *nonfinite = true;
    return (uint32_t)_mm512_reduce_max_epu32(acc);
}

/* A scaled encode's amax stream (fp8_amax_along), read 64 elements per 64 encoded so that its
 * loads, which miss the caches, overlap the encode's arithmetic. Its groups are a multiple of 16
 * long, or one, so that no vector straddles two: acc holds the maxima of |x| as bits (NaN and
 * infinity included, as in amax below) of the elements since the last group edge,
 * group_end - group; `done` have been read. */
typedef struct amax_walk {
    const fp8_amax_along *a;
    const unsigned char *src;
    size_t elem_size, done, group_end;
    __m512i acc;
} amax_walk;

/* Folds acc into the amax of the group in progress; a group that held a NaN or infinity is read
 * again for its finite maximum. */
FP8_INLINE void amax_walk_flush(amax_walk *w, load16_fn load16)
{
    const size_t g = (w->done - 1) / w->a->group;
    uint32_t m = (uint32_t)_mm512_reduce_max_epu32(w->acc);
    w->acc = _mm512_setzero_si512();
    if (m >= INFINITY_BITS) {
        const size_t start = g * w->a->group;
        m = finite_max_bits(w->src + start * w->elem_size, w->elem_size, w->done - start, load16, w->a->nonfinite);
    }
    if (m > w->a->amax[g]) w->a->amax[g] = m;
}

/* `count` (<= 16) more elements; a group that ends with them is flushed. */
FP8_INLINE void amax_walk_add(amax_walk *w, __m512i abs_bits, size_t count, load16_fn load16)
{
    w->acc = _mm512_max_epu32(w->acc, abs_bits);
    w->done += count;
    if (w->done == w->group_end) {
        amax_walk_flush(w, load16);
        w->group_end += w->a->group;
    }
}

/* The next 64 elements, if the stream has them: one maximum of four vectors where no group edge
 * falls inside them, else vector by vector. */
FP8_INLINE void amax_walk_step(amax_walk *w, load16_fn load16)
{
    if (w->done + 64 > w->a->n) return;
    const unsigned char *s = w->src + w->done * w->elem_size;
    const size_t v = 16 * w->elem_size;
    if (w->group_end - w->done >= 64) {
        const __m512i m01 = _mm512_max_epu32(abs16(s, ALL16, load16), abs16(s + v, ALL16, load16));
        const __m512i m23 = _mm512_max_epu32(abs16(s + 2 * v, ALL16, load16), abs16(s + 3 * v, ALL16, load16));
        amax_walk_add(w, _mm512_max_epu32(m01, m23), 64, load16);
    } else {
        for (size_t k = 0; k < 4; k++) amax_walk_add(w, abs16(s + k * v, ALL16, load16), 16, load16);
    }
}

/* What the encode left of the stream. */
FP8_INLINE void amax_walk_finish(amax_walk *w, load16_fn load16)
{
    while (w->done + 64 <= w->a->n) amax_walk_step(w, load16);
    while (w->done < w->a->n) {
        const size_t count = w->a->n - w->done < 16 ? w->a->n - w->done : 16;
        amax_walk_add(w, abs16(w->src + w->done * w->elem_size, first_lanes16(count), load16), count, load16);
    }
    if (w->done > w->group_end - w->a->group) amax_walk_flush(w, load16);
}

/* Encodes n elements, each times its scale unless SCALES_NONE. The first `head` elements (< 64)
 * go alone, so that streaming stores start 64-byte aligned; the caller fences them. With
 * SCALES_PER_GROUP_OF_16K the group and the head are multiples of 16, so each vector lies in one
 * group. along: NULL, or an amax stream to read on the way. */
FP8_INLINE void encode_body(const fp8_format_params *p, uint8_t *dst, const unsigned char *src, size_t elem_size,
                            size_t n, size_t head, load16_fn load16, fp8_saturation sat, bool stream,
                            scale_walk walk, size_t prefetch_bytes, amax_walk *along)
{
    const nearest_consts k = nearest_consts_of(p, sat);
    const __m512i clamp8 = _mm512_set1_epi8((char)(p->max_code + (sat == FP8_SATFINITE ? 0 : 1)));
    if (walk.layout == SCALES_ONE || walk.layout == SCALES_PER_GROUP_OF_16K) walk.current = _mm512_set1_ps(walk.scale[0]);
    walk.group_end = walk.group;
    size_t i = 0;
    if (head > 0) {
        encode64(p, dst, src, elem_size, 0, head, load16, &walk, &k, clamp8, false);
        i = head;
    }
    for (; i + 64 <= n; i += 64) {
        const unsigned char *s = src + i * elem_size;
        if (prefetch_bytes)
            for (size_t line = 0; line < 64 * elem_size; line += 64)
                _mm_prefetch((const char *)s + prefetch_bytes + line, _MM_HINT_T0);
        encode64(p, dst + i, s, elem_size, i, 64, load16, &walk, &k, clamp8, stream);
        if (along) amax_walk_step(along, load16);
    }
    if (i < n) encode64(p, dst + i, src + i * elem_size, elem_size, i, n - i, load16, &walk, &k, clamp8, false);
    /* the loop prefetched a line per 64 bytes read; data not 64-byte aligned ends in one more */
    if (prefetch_bytes) _mm_prefetch((const char *)src + n * elem_size + prefetch_bytes - 1, _MM_HINT_T0);
    if (along) amax_walk_finish(along, load16);
}

#define FP8_ENCODE_BODY(params, ...) encode_body(params, __VA_ARGS__)

#define FP8_DEFINE_AVX512_ENCODE(name, src_type, load16)                                                      \
    static void name(uint8_t *dst, const src_type *src, size_t n, const fp8_format_params *p, fp8_saturation sat) \
    {                                                                                                         \
        const bool stream = n >= FP8_STREAM_MIN_BYTES;                                                        \
        const size_t head = stream ? stream_head(dst, 1, n, 64) : 0;                                          \
        const scale_walk none = {.layout = SCALES_NONE};                                                      \
        FP8_SPECIALIZE(p, FP8_ENCODE_BODY, dst, (const unsigned char *)src, sizeof *src, n, head, load16, sat, \
                       stream, none, FP8_PREFETCH_BYTES, NULL)                                                \
        if (stream) _mm_sfence();                                                                             \
    }

FP8_DEFINE_AVX512_ENCODE(avx512_encode_f32, float, load16_f32)
FP8_DEFINE_AVX512_ENCODE(avx512_encode_f16, uint16_t, load16_f16)
FP8_DEFINE_AVX512_ENCODE(avx512_encode_bf16, uint16_t, load16_bf16)

static void avx512_amax_f32(const float *x, size_t n, size_t group, uint32_t *amax, bool *nonfinite);
static void avx512_amax_bf16(const uint16_t *x, size_t n, size_t group, uint32_t *amax, bool *nonfinite);

/* Quantization's encode. Groups of other widths than one element, a multiple of 16 or the whole
 * row take the AVX2 kernel. Streaming stores need 64-byte aligned lines: from a 16-byte aligned q
 * (as malloc gives), the head up to the first line is whole vectors, so each vector still lies in
 * one scale group; a q less aligned than that is written with normal stores. An amax stream whose
 * groups are not a multiple of 16 (nor one group) is read first, by the amax kernel. */
#define FP8_DEFINE_AVX512_SCALED_ENCODE(name, src_type, load16, narrower, amax_kernel)                               \
    static void name(uint8_t *q, const src_type *x, size_t n, const float *scale, size_t scale_group,                \
                     const fp8_format_params *p, fp8_saturation sat, size_t prefetch_bytes, bool stream,             \
                     const fp8_amax_along *along)                                                                    \
    {                                                                                                                \
        scale_walk walk = {.scale = scale, .group = scale_group};                                                    \
        if (scale_group >= n)                                                                                        \
            walk.layout = SCALES_ONE;                                                                                \
        else if (scale_group == 1)                                                                                   \
            walk.layout = SCALES_PER_ELEMENT;                                                                        \
        else if (scale_group % 16 == 0)                                                                              \
            walk.layout = SCALES_PER_GROUP_OF_16K;                                                                   \
        else {                                                                                                       \
            narrower(q, x, n, scale, scale_group, p, sat, prefetch_bytes, stream, along);                            \
            return;                                                                                                  \
        }                                                                                                            \
        amax_walk along_walk, *amax_stream = NULL;                                                                   \
        if (along && (along->group % 16 == 0 || along->group >= along->n)) {                                         \
            along_walk = (amax_walk){.a = along, .src = along->x, .elem_size = sizeof *x, .group_end = along->group, \
                                     .acc = _mm512_setzero_si512()};                                                 \
            amax_stream = &along_walk;                                                                               \
        } else if (along) {                                                                                          \
            amax_kernel((const src_type *)along->x, along->n, along->group, along->amax, along->nonfinite);          \
        }                                                                                                            \
        stream = stream && ((uintptr_t)q & 15) == 0;                                                                 \
        FP8_SPECIALIZE(p, FP8_ENCODE_BODY, q, (const unsigned char *)x, sizeof *x, n,                                \
                       stream ? stream_head(q, 1, n, 64) : 0, load16, sat, stream, walk, prefetch_bytes,             \
                       amax_stream)                                                                                  \
    }

FP8_DEFINE_AVX512_SCALED_ENCODE(avx512_scaled_encode_f32, float, load16_f32, fp8_avx2_scaled_encode_f32,
                                avx512_amax_f32)
FP8_DEFINE_AVX512_SCALED_ENCODE(avx512_scaled_encode_bf16, uint16_t, load16_bf16, fp8_avx2_scaled_encode_bf16,
                                avx512_amax_bf16)

/* ---- decoding (cpu/simd_convert.h) --------------------------------------------------------------
 * Sixteen codes at a time into FP32, FP16 (exact: it holds every FP8 value; NaN -> 0x7FFF) or
 * BF16 (the top half of the exact FP32); an array's first elements up to alignment for streaming
 * stores and its last ones take masks. */
typedef enum { TO_F32, TO_F16, TO_BF16 } decode_target;

FP8_INLINE void decode16(const fp8_format_params *p, void *dst, const uint8_t *src, size_t count, decode_target to,
                         bool stream, bool scaled, __m512 scale_inv)
{
    const __mmask16 k = first_lanes16(count);
    __m512 f = decode_codes(p, _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(k, src)));
    if (scaled) f = _mm512_mul_ps(f, scale_inv);
    stream = stream && count == 16;
    if (to == TO_F32) {
        if (stream)
            _mm512_stream_ps((float *)dst, f);
        else
            _mm512_mask_storeu_ps(dst, k, f);
        return;
    }
    const __m256i h = to == TO_F16 ? _mm512_cvtps_ph(f, _MM_FROUND_TO_NEAREST_INT)
                                   : _mm512_cvtepi32_epi16(_mm512_srli_epi32(_mm512_castps_si512(f), 16));
    if (stream)
        _mm256_stream_si256((__m256i *)dst, h);
    else
        _mm256_mask_storeu_epi16(dst, k, h);
}

/* `scaled`: each value is then multiplied by scale_inv in FP32 (dequantization). stream:
 * non-temporal stores from the first vector-aligned element on; the caller fences them. */
FP8_INLINE void decode_body(const fp8_format_params *p, void *dst, const uint8_t *src, size_t n, decode_target to,
                            bool scaled, float scale_inv, bool stream)
{
    const size_t elem_size = to == TO_F32 ? 4 : 2;
    const size_t head = stream ? stream_head(dst, elem_size, n, 16 * elem_size) : 0;
    const __m512 s = _mm512_set1_ps(scale_inv);
    unsigned char *out = dst;
    if (head > 0) decode16(p, out, src, head, to, false, scaled, s);
    for (size_t i = head; i < n; i += 16)
        decode16(p, out + i * elem_size, src + i, n - i < 16 ? n - i : 16, to, stream, scaled, s);
}

#define FP8_DECODE_BODY(params, ...) decode_body(params, __VA_ARGS__)

#define FP8_DEFINE_AVX512_DECODE(name, dst_type, target)                                          \
    static void name(dst_type *dst, const uint8_t *src, size_t n, const fp8_format_params *p)     \
    {                                                                                             \
        const bool stream = n * sizeof *dst >= FP8_STREAM_MIN_BYTES;                              \
        FP8_SPECIALIZE(p, FP8_DECODE_BODY, dst, src, n, target, false, 1.0f, stream)              \
        if (stream) _mm_sfence();                                                                 \
    }

FP8_DEFINE_AVX512_DECODE(avx512_decode_f32, float, TO_F32)
FP8_DEFINE_AVX512_DECODE(avx512_decode_f16, uint16_t, TO_F16)
FP8_DEFINE_AVX512_DECODE(avx512_decode_bf16, uint16_t, TO_BF16)

static void avx512_scaled_decode_f32(float *x, const uint8_t *q, size_t n, float scale_inv, const fp8_format_params *p,
                                     bool stream)
{
    FP8_SPECIALIZE(p, FP8_DECODE_BODY, x, q, n, TO_F32, true, scale_inv, stream)
}

/* ---- amax ----------------------------------------------------------------------------------------
 * |x| as integer bits orders like |x| for finite values; NaN and infinity sit at and above
 * 0x7F800000. The maxima keep them (an and and a max per vector); a group whose maximum is one is
 * read again for its finite maximum (finite_max_bits), which flags them. */

/* The maximum of |x| as bits over n elements (NaN and infinity included). */
FP8_INLINE uint32_t abs_max_bits(const unsigned char *src, size_t elem_size, size_t n, load16_fn load16)
{
    __m512i acc0 = _mm512_setzero_si512(), acc1 = acc0;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        _mm_prefetch((const char *)src + i * elem_size + FP8_PREFETCH_BYTES, _MM_HINT_T0);
        if (elem_size == 4) _mm_prefetch((const char *)src + i * elem_size + FP8_PREFETCH_BYTES + 64, _MM_HINT_T0);
        acc0 = _mm512_max_epu32(acc0, abs16(src + i * elem_size, ALL16, load16));
        acc1 = _mm512_max_epu32(acc1, abs16(src + (i + 16) * elem_size, ALL16, load16));
    }
    for (; i < n; i += 16) acc0 = _mm512_max_epu32(acc0, abs16(src + i * elem_size, first_lanes16(n - i), load16));
    return (uint32_t)_mm512_reduce_max_epu32(_mm512_max_epu32(acc0, acc1));
}

/* amax[i] = max(amax[i], finite |x[i]|), per element. */
FP8_INLINE void amax_per_element(const unsigned char *src, size_t elem_size, size_t n, load16_fn load16,
                                 uint32_t *amax, bool *nonfinite)
{
    __mmask16 bad = 0;
    for (size_t i = 0; i < n; i += 16) {
        const __mmask16 k = first_lanes16(n - i);
        const __m512i a = abs16(src + i * elem_size, k, load16);
        const __mmask16 finite = _mm512_cmplt_epu32_mask(a, _mm512_set1_epi32(INFINITY_BITS));
        const __m512i acc = _mm512_maskz_loadu_epi32(k, amax + i);
        _mm512_mask_storeu_epi32(amax + i, k, _mm512_mask_max_epu32(acc, finite, acc, a));
        bad |= (__mmask16)(k & ~finite);
    }
    if (bad) *nonfinite = true;
}

#define FP8_DEFINE_AVX512_AMAX(name, src_type, load16, narrower)                                             \
    static void name(const src_type *x, size_t n, size_t group, uint32_t *amax, bool *nonfinite)             \
    {                                                                                                        \
        if (group == 1) {                                                                                    \
            amax_per_element((const unsigned char *)x, sizeof *x, n, load16, amax, nonfinite);              \
            return;                                                                                          \
        }                                                                                                    \
        if (group < n && group % 16 != 0) {                                                                  \
            narrower(x, n, group, amax, nonfinite);                                                          \
            return;                                                                                          \
        }                                                                                                    \
        for (size_t i = 0, g = 0; i < n; i += group, g++) {                                                  \
            const size_t len = n - i < group ? n - i : group;                                                \
            const unsigned char *s = (const unsigned char *)(x + i);                                         \
            uint32_t m = abs_max_bits(s, sizeof *x, len, load16);                                            \
            if (m >= INFINITY_BITS) m = finite_max_bits(s, sizeof *x, len, load16, nonfinite);               \
            if (m > amax[g]) amax[g] = m;                                                                    \
        }                                                                                                    \
    }

FP8_DEFINE_AVX512_AMAX(avx512_amax_f32, float, load16_f32, fp8_avx2_amax_f32)
FP8_DEFINE_AVX512_AMAX(avx512_amax_bf16, uint16_t, load16_bf16, fp8_avx2_amax_bf16)

/* ---- the fused dual-orientation pass ----------------------------------------------------------
 * As the AVX2 kernels: the amax keeps NaN and infinity in its maxima and a tile that holds one is
 * done again, and encoded, by the scalar kernels; the encode finds |x| and the signs once for both
 * orientations and writes q's rows and the column-wise codes to an L1 buffer, whose transpose the
 * AVX2 code writes to qt (fp8_avx2_dual_encode_with). The last columns of a tile take masks. */

/* 128 columns at a time: their maxima stay in eight registers down the tile's rows (a running
 * maximum in memory would put a store and a reload on every vector). */
static void avx512_dual_amax_f32(const fp8_dual_tile *t, uint32_t *row_amax, uint32_t *col_amax, bool *nonfinite)
{
    const __m512i abs_mask = _mm512_set1_epi32(ABS_MASK);
    __m512i largest = _mm512_setzero_si512();
    for (size_t r = 0; r < t->h; r++) row_amax[r] = 0;
    for (size_t c0 = 0; c0 < t->w; c0 += 128) {
        __m512i col[8];
        __mmask16 k[8];
        for (size_t v = 0; v < 8; v++) {
            col[v] = _mm512_setzero_si512();
            k[v] = first_lanes16(t->w - c0 > 16 * v ? t->w - c0 - 16 * v : 0);
        }
        for (size_t r = 0; r < t->h; r++) {
            const float *x = t->x + r * t->ldx + c0;
            __m512i acc = _mm512_setzero_si512();
            for (size_t v = 0; v < 8; v++) {
                const __m512i a = _mm512_and_si512(load16_f32(x + 16 * v, k[v]), abs_mask);
                col[v] = _mm512_max_epu32(col[v], a);
                acc = _mm512_max_epu32(acc, a);
            }
            const uint32_t m = (uint32_t)_mm512_reduce_max_epu32(acc);
            if (m > row_amax[r]) row_amax[r] = m;
            largest = _mm512_max_epu32(largest, acc);
        }
        for (size_t v = 0; v < 8; v++) _mm512_mask_storeu_epi32(col_amax + c0 + 16 * v, k[v], col[v]);
    }
    if ((uint32_t)_mm512_reduce_max_epu32(largest) >= INFINITY_BITS)
        fp8_scalar_dual_amax_f32(t, row_amax, col_amax, nonfinite);
}

/* The rows of a finite tile, 64 columns at a time: codes with the rows' scales to q, each row made
 * in L1 and written whole (write_piece), with the columns' scales to by_col (rows ld apart, 64-byte
 * aligned). No NaN: x * scale is finite or infinite, and the saturation handles both. The
 * subnormal path only for 64 elements where a scaled value needs it (magnitude_normal): this pass
 * rounds every element twice and is bound by its arithmetic, not by memory, and on data like
 * N(0, 1) nearly every 64 go without (its encode 15% faster from cache, the pass about 5%). */
FP8_INLINE void dual_encode_body(const fp8_format_params *p, const fp8_dual_tile *t, uint8_t *by_col, size_t ld,
                                 const float *row_scale, const float *col_scale, fp8_saturation sat,
                                 size_t prefetch_bytes, bool stream)
{
    _Alignas(64) uint8_t q_row[FP8_DUAL_MAX_TILE];
    const nearest_consts k = nearest_consts_of(p, sat);
    const __m512i clamp8 = _mm512_set1_epi8((char)(p->max_code + (sat == FP8_SATFINITE ? 0 : 1)));
    const __m512 abs_mask = _mm512_castsi512_ps(_mm512_set1_epi32(ABS_MASK));
    const __m512i below_normal = _mm512_sub_epi32(k.min_normal_bits, _mm512_set1_epi32(1));
    for (size_t r = 0; r < t->h; r++) {
        const float *x = t->x + r * t->ldx;
        uint8_t *q_col = by_col + r * ld;
        const __m512 rs = _mm512_set1_ps(row_scale[r]);
        /* the loop prefetches a line per 64 bytes ahead; a row not 64-byte aligned ends in one more */
        _mm_prefetch((const char *)(x + t->w) + prefetch_bytes - 1, _MM_HINT_T0);
        for (size_t i = 0; i < t->w; i += 64) {
            const size_t count = t->w - i < 64 ? t->w - i : 64;
            for (size_t line = 0; line < 256; line += 64)
                _mm_prefetch((const char *)(x + i) + prefetch_bytes + line, _MM_HINT_T0);
            __m512i bits[4], scaled_row[4], scaled_col[4], by_row[4], by_column[4];
            __m512i least = _mm512_set1_epi32(-1);
            for (size_t v = 0; v < 4; v++) {
                const __mmask16 kv = first_lanes16(count > 16 * v ? count - 16 * v : 0);
                bits[v] = load16_f32(x + i + 16 * v, kv);
                const __m512 a = _mm512_and_ps(_mm512_castsi512_ps(bits[v]), abs_mask);
                scaled_row[v] = _mm512_castps_si512(_mm512_mul_ps(a, rs));
                scaled_col[v] = _mm512_castps_si512(_mm512_mul_ps(a, _mm512_maskz_loadu_ps(kv, col_scale + i + 16 * v)));
                by_row[v] = magnitude_normal(scaled_row[v], p, &k);
                by_column[v] = magnitude_normal(scaled_col[v], p, &k);
                least = least_nonzero_less_one(least, _mm512_min_epu32(scaled_row[v], scaled_col[v]));
            }
            if (_mm512_cmplt_epu32_mask(least, below_normal))
                for (size_t v = 0; v < 4; v++) {
                    by_row[v] = _mm512_max_epi32(by_row[v], magnitude_subnormal(scaled_row[v], &k));
                    by_column[v] = _mm512_max_epi32(by_column[v], magnitude_subnormal(scaled_col[v], &k));
                }
            const __m512i sign = sign_bytes64(bits);
            const __m512i row_codes = codes64(p, by_row, sign, clamp8), col_codes = codes64(p, by_column, sign, clamp8);
            if (count == 64) {
                _mm512_store_si512(q_row + i, row_codes);
                _mm512_store_si512(q_col + i, col_codes);
            } else {
                _mm512_mask_storeu_epi8(q_row + i, first_lanes64(count), row_codes);
                _mm512_mask_storeu_epi8(q_col + i, first_lanes64(count), col_codes);
            }
        }
        write_piece(t->q + r * t->ldq, q_row, t->w, stream, &t->q_carry, r);
    }
}

#define FP8_DUAL_ENCODE_BODY(params, ...) dual_encode_body(params, __VA_ARGS__)

static void avx512_dual_rows(const fp8_dual_tile *t, uint8_t *by_col, size_t ld, const float *row_scale,
                             const float *col_scale, const fp8_format_params *p, fp8_saturation sat,
                             size_t prefetch_bytes, bool stream)
{
    FP8_SPECIALIZE(p, FP8_DUAL_ENCODE_BODY, t, by_col, ld, row_scale, col_scale, sat, prefetch_bytes, stream)
}

static void avx512_dual_encode_f32(const fp8_dual_tile *t, const float *row_scale, const float *col_scale,
                                   const fp8_format_params *p, fp8_saturation sat, bool finite, size_t prefetch_bytes,
                                   bool stream)
{
    fp8_avx2_dual_encode_with(t, row_scale, col_scale, p, sat, finite, prefetch_bytes, stream, avx512_dual_rows);
}

/* write_piece with 64-byte non-temporal stores. */
static void avx512_write_piece(uint8_t *d, const uint8_t *src, size_t n, bool stream, const fp8_row_carry *carry,
                               size_t row)
{
    write_piece(d, src, n, stream, carry, row);
}

const fp8_cpu_kernels fp8_cpu_kernels_avx512 = {
    .isa = FP8_CPU_ISA_AVX512,
    .encode_f32 = avx512_encode_f32,
    .encode_f16 = avx512_encode_f16,
    .encode_bf16 = avx512_encode_bf16,
    .encode_f32_sr = fp8_avx2_encode_f32_sr,
    .decode_f32 = avx512_decode_f32,
    .decode_f16 = avx512_decode_f16,
    .decode_bf16 = avx512_decode_bf16,
    .scaled_encode_f32 = avx512_scaled_encode_f32,
    .scaled_encode_bf16 = avx512_scaled_encode_bf16,
    .quant_chunk_min_bytes = (size_t)256 << 10,
    .scaled_encode_f32_sr = fp8_avx2_scaled_encode_f32_sr,
    .scaled_decode_f32 = avx512_scaled_decode_f32,
    .amax_f32 = avx512_amax_f32,
    .amax_bf16 = avx512_amax_bf16,
    .dual_amax_f32 = avx512_dual_amax_f32,
    .dual_encode_f32 = avx512_dual_encode_f32,
    .write_piece = avx512_write_piece,
    .stream_fence = fp8_avx2_stream_fence,
    .transpose_u8 = fp8_avx2_transpose_u8,
};
