/* libfp8: AVX2 conversion kernels, eight lanes at a time, giving the same
 * bytes as the scalar reference (convert/reference.h); each array's tail
 * goes to the scalar kernel.
 *
 * The kernels use floating-point adds and multiplies whose results are exact
 * or whose rounding is the one we want, so, like every kernel, they run
 * under the default floating-point environment that their callers set up
 * (core/fpenv.h): a caller's FTZ/DAZ, rounding mode or unmasked exceptions
 * cannot change a result.
 *
 * Each kernel is specialized per format (FP8_SPECIALIZE), so the format's
 * parameters are constants and tests for specials it lacks compile away. */
#if !defined(__AVX2__) || !defined(__FMA__) || !defined(__F16C__)
#error "cpu/avx2 sources must be compiled with -mavx2 -mfma -mf16c"
#endif

#include <immintrin.h>
#include <string.h>

#include "convert/reference.h"
#include "cpu/kernels.h"

/* The vocabulary of cpu/simd_convert.h at this width. */
#define FP8_VI __m256i
#define FP8_VF __m256
#define FP8_V(op) _mm256_##op
#define FP8_V_AND _mm256_and_si256
#define FP8_V_OR _mm256_or_si256
#define FP8_V_AS_F _mm256_castsi256_ps
#define FP8_V_AS_I _mm256_castps_si256
#define FP8_VMASK __m256i
#define FP8_V_GT _mm256_cmpgt_epi32
#define FP8_V_EQ _mm256_cmpeq_epi32
#define FP8_V_SELECT(m, a, b) _mm256_blendv_ps(a, b, _mm256_castsi256_ps(m))
#include "cpu/simd_convert.h"

FP8_INLINE void store256(void *dst, __m256i v, bool stream)
{
    if (stream)
        _mm256_stream_si256((__m256i *)dst, v);
    else
        _mm256_storeu_si256((__m256i *)dst, v);
}

/* ---- encoding, round to nearest even (cpu/simd_convert.h) ------------------------------------ */

FP8_INLINE __m256i encode8_nearest(__m256i bits, const fp8_format_params *p, const nearest_consts *k)
{
    const __m256i a = _mm256_and_si256(bits, _mm256_set1_epi32(0x7FFFFFFF));
    const __m256i mag = _mm256_min_epi32(magnitude_nearest(a, p, k), k->clamp);
    __m256i sign = _mm256_and_si256(_mm256_srli_epi32(bits, 24), _mm256_set1_epi32(0x80));
    if (p->fnuz) sign = _mm256_andnot_si256(_mm256_cmpeq_epi32(mag, _mm256_setzero_si256()), sign);
    const __m256i nan = _mm256_cmpgt_epi32(a, _mm256_set1_epi32(0x7F800000));
    return _mm256_blendv_epi8(_mm256_or_si256(mag, sign), _mm256_set1_epi32((int)p->nan_code), nan);
}

/* Four vectors of 32-bit codes (each < 256) -> 32 bytes in order. */
FP8_INLINE void store32_codes(uint8_t *dst, __m256i c0, __m256i c1, __m256i c2, __m256i c3, bool stream)
{
    const __m256i b = _mm256_packus_epi16(_mm256_packus_epi32(c0, c1), _mm256_packus_epi32(c2, c3));
    /* the packs work per 128-bit lane: dwords come out as c0lo c1lo c2lo c3lo | c0hi c1hi c2hi c3hi */
    store256(dst, _mm256_permutevar8x32_epi32(b, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)), stream);
}

/* Loaders: eight source elements -> eight FP32 bit patterns, exactly. */
FP8_INLINE __m256i load8_f32(const void *src) { return _mm256_loadu_si256((const __m256i *)src); }
FP8_INLINE __m256i load8_bf16(const void *src)
{
    return _mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)src)), 16);
}
FP8_INLINE __m256i load8_f16(const void *src)
{
    return _mm256_castps_si256(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)src)));
}

typedef __m256i (*load8_fn)(const void *);

/* How the scales of a scaled encode are laid out (see kernels.h's scale_group). */
typedef enum { SCALES_NONE, SCALES_ONE, SCALES_PER_ELEMENT, SCALES_PER_GROUP_OF_8K } scale_layout;

/* Encodes whole blocks of `block` elements (32, or 8 with normal stores) from element `start` on
 * (dst + start 32-byte aligned when streaming), each element times its scale unless SCALES_NONE;
 * returns the element it stopped at. With SCALES_PER_GROUP_OF_8K, scale_group and start are
 * multiples of 8, so each vector of 8 lies in one group. */
FP8_INLINE size_t encode_nearest_body(const fp8_format_params *p, uint8_t *dst, const unsigned char *src,
                                      size_t elem_size, size_t start, size_t n, size_t block, load8_fn load8,
                                      fp8_saturation sat, bool stream, scale_layout layout, const float *scale,
                                      size_t scale_group, size_t prefetch_bytes)
{
    const nearest_consts k = nearest_consts_of(p, sat);
    const bool grouped = layout == SCALES_PER_GROUP_OF_8K;
    __m256 group_scale = _mm256_set1_ps(layout == SCALES_NONE ? 1.0f : scale[grouped ? start / scale_group : 0]);
    size_t group_end = grouped ? (start / scale_group + 1) * scale_group : 0; /* first element of the next group */
    size_t i = start;
    for (; i + block <= n; i += block) {
        const unsigned char *s = src + i * elem_size;
        if (block == 32) {
            _mm_prefetch((const char *)s + prefetch_bytes, _MM_HINT_T0);
            _mm_prefetch((const char *)s + prefetch_bytes + 64, _MM_HINT_T0);
        }
        __m256i c[4];
        for (size_t v = 0; v < block / 8; v++) {
            __m256i bits = load8(s + 8 * v * elem_size);
            if (grouped && i + 8 * v == group_end) {
                group_scale = _mm256_set1_ps(scale[group_end / scale_group]);
                group_end += scale_group;
            }
            if (layout != SCALES_NONE) {
                const __m256 sv = layout == SCALES_PER_ELEMENT ? _mm256_loadu_ps(scale + i + 8 * v) : group_scale;
                bits = _mm256_castps_si256(_mm256_mul_ps(_mm256_castsi256_ps(bits), sv));
            }
            c[v] = encode8_nearest(bits, p, &k);
        }
        if (block == 32) {
            store32_codes(dst + i, c[0], c[1], c[2], c[3], stream);
        } else {
            const __m128i w = _mm_packus_epi32(_mm256_castsi256_si128(c[0]), _mm256_extracti128_si256(c[0], 1));
            _mm_storel_epi64((__m128i *)(dst + i), _mm_packus_epi16(w, w));
        }
    }
    return i;
}

#define FP8_ENCODE_BODY(params, done, ...) (*(done) = encode_nearest_body(params, __VA_ARGS__))

#define FP8_DEFINE_AVX2_ENCODE(name, src_type, load8, scalar_kernel)                                         \
    static void name(uint8_t *dst, const src_type *src, size_t n, const fp8_format_params *p, fp8_saturation sat) \
    {                                                                                                         \
        const bool stream = n >= FP8_STREAM_MIN_BYTES;                                                        \
        const size_t head = stream ? stream_head(dst, 1, n, 32) : 0;                                          \
        scalar_kernel(dst, src, head, p, sat);                                                                \
        size_t done = 0;                                                                                      \
        FP8_SPECIALIZE(p, FP8_ENCODE_BODY, &done, dst, (const unsigned char *)src, sizeof *src, head, n, 32,  \
                       load8, sat, stream, SCALES_NONE, NULL, 0, FP8_PREFETCH_BYTES)                          \
        if (stream) _mm_sfence();                                                                             \
        scalar_kernel(dst + done, src + done, n - done, p, sat);                                              \
    }

FP8_DEFINE_AVX2_ENCODE(avx2_encode_f32, float, load8_f32, fp8_scalar_encode_f32)
FP8_DEFINE_AVX2_ENCODE(avx2_encode_f16, uint16_t, load8_f16, fp8_scalar_encode_f16)
FP8_DEFINE_AVX2_ENCODE(avx2_encode_bf16, uint16_t, load8_bf16, fp8_scalar_encode_bf16)

/* A scaled encode's elements but the last n % 8 in vector code: blocks of 32 (streaming if asked)
 * up to body_end, then eights with normal stores; returns where it stopped. */
FP8_INLINE size_t scaled_encode_body(const fp8_format_params *p, uint8_t *q, const unsigned char *x,
                                     size_t elem_size, size_t n, size_t body_end, load8_fn load8, fp8_saturation sat,
                                     bool stream, scale_layout layout, const float *scale, size_t scale_group,
                                     size_t prefetch_bytes)
{
    const size_t i = encode_nearest_body(p, q, x, elem_size, 0, body_end, 32, load8, sat, stream, layout, scale,
                                         scale_group, prefetch_bytes);
    return encode_nearest_body(p, q, x, elem_size, i, n, 8, load8, sat, false, layout, scale, scale_group, 0);
}

#define FP8_SCALED_ENCODE_BODY(params, done, ...) (*(done) = scaled_encode_body(params, __VA_ARGS__))
#define FP8_SCALED_BODY(layout_value, load8)                                                                   \
    FP8_SPECIALIZE(p, FP8_SCALED_ENCODE_BODY, &done, q, (const unsigned char *)x, sizeof *x, n, body_end,       \
                   load8, sat, stream, layout_value, scale, scale_group, prefetch_bytes)

/* Quantization's encode. Groups that are not a multiple of 8 wide (odd block shapes) take the
 * scalar kernel. Streaming writes whole lines only, from a 64-byte aligned q (two 32-byte stores
 * each: a line written half by streaming and half by normal stores costs far more than either);
 * the elements after the last whole line take normal stores. Unlike AVX-512's, these kernels do
 * not peel a head to stream a less aligned q: their head, in eights, cost more than streaming
 * gained (4096 x 7168, rows 16 bytes into a line: 1x128 0.57-0.61x of memcpy against 0.61-0.64x,
 * 128x128 0.47-0.50x against 0.50-0.51x). An amax stream (along) is read after the encode. */
#define FP8_DEFINE_AVX2_SCALED_ENCODE(name, src_type, load8, scalar_kernel, amax_kernel)                              \
    void name(uint8_t *q, const src_type *x, size_t n, const float *scale, size_t scale_group,                        \
              const fp8_format_params *p, fp8_saturation sat, size_t prefetch_bytes, bool stream,                     \
              const fp8_amax_along *along)                                                                            \
    {                                                                                                                 \
        if (scale_group < n && scale_group != 1 && scale_group % 8 != 0) {                                            \
            scalar_kernel(q, x, n, scale, scale_group, p, sat, 0, false, along);                                      \
            return;                                                                                                   \
        }                                                                                                             \
        stream = stream && ((uintptr_t)q & 63) == 0;                                                                  \
        const size_t body_end = stream ? n & ~(size_t)63 : n;                                                         \
        size_t done = 0;                                                                                              \
        if (scale_group >= n)                                                                                         \
            FP8_SCALED_BODY(SCALES_ONE, load8)                                                                        \
        else if (scale_group == 1)                                                                                    \
            FP8_SCALED_BODY(SCALES_PER_ELEMENT, load8)                                                                \
        else                                                                                                          \
            FP8_SCALED_BODY(SCALES_PER_GROUP_OF_8K, load8)                                                            \
        /* the last n % 8: done is a multiple of 8, so they lie in the group of element done (groups                  \
         * of one element aside, which the scalar kernel takes as they come) */                                       \
        scalar_kernel(q + done, x + done, n - done, scale + done / scale_group, scale_group, p, sat, 0, false, NULL); \
        if (along) amax_kernel((const src_type *)along->x, along->n, along->group, along->amax, along->nonfinite);    \
    }

FP8_DEFINE_AVX2_SCALED_ENCODE(fp8_avx2_scaled_encode_f32, float, load8_f32, fp8_scalar_scaled_encode_f32,
                              fp8_avx2_amax_f32)
FP8_DEFINE_AVX2_SCALED_ENCODE(fp8_avx2_scaled_encode_bf16, uint16_t, load8_bf16, fp8_scalar_scaled_encode_bf16,
                              fp8_avx2_amax_bf16)

/* ---- encoding, stochastic rounding -----------------------------------------------------------
 * fp8_round_magnitude() in 32-bit lanes, integers only: frac32 = floor(frac * 2^32) is exact for
 * s <= 32 and the scalar code's truncation for s > 32; the result goes up when frac32 + random
 * carries out of 32 bits. */
FP8_INLINE __m256i encode8_stochastic(__m256i bits, const fp8_format_params *p, __m256i clamp, __m256i random)
{
    const __m256i one = _mm256_set1_epi32(1), thirty_two = _mm256_set1_epi32(32);
    const __m256i min_exp = _mm256_set1_epi32(p->min_exp);
    const __m256i a = _mm256_and_si256(bits, _mm256_set1_epi32(0x7FFFFFFF));
    const __m256i e = _mm256_sub_epi32(_mm256_srli_epi32(a, 23), _mm256_set1_epi32(127));
    /* FP32 subnormals get a wrong implicit bit here, but s > 64 for them, so floor and frac32 are 0 */
    const __m256i sig = _mm256_or_si256(_mm256_and_si256(a, _mm256_set1_epi32(0x7FFFFF)), _mm256_set1_epi32(0x800000));
    const __m256i deficit = _mm256_max_epi32(_mm256_sub_epi32(min_exp, e), _mm256_setzero_si256());
    const __m256i s = _mm256_add_epi32(_mm256_set1_epi32(23 - (int)p->mantissa_bits), deficit);
    const __m256i floor = _mm256_srlv_epi32(sig, s); /* counts >= 32 give 0 */
    const __m256i below = _mm256_and_si256(sig, _mm256_sub_epi32(_mm256_sllv_epi32(one, s), one));
    /* exactly one of the two shift counts is in range, except s == 32 where both give sig */
    const __m256i frac32 = _mm256_or_si256(_mm256_sllv_epi32(below, _mm256_sub_epi32(thirty_two, s)),
                                           _mm256_srlv_epi32(sig, _mm256_sub_epi32(s, thirty_two)));
    const __m256i sum = _mm256_add_epi32(frac32, random);
    const __m256i no_carry = _mm256_cmpeq_epi32(_mm256_max_epu32(sum, random), sum); /* sum >= random */
    const __m256i rounded = _mm256_sub_epi32(_mm256_add_epi32(floor, one), _mm256_and_si256(no_carry, one));
    const __m256i e_step = _mm256_sub_epi32(_mm256_max_epi32(e, min_exp), min_exp);
    __m256i mag = _mm256_add_epi32(_mm256_slli_epi32(e_step, (int)p->mantissa_bits), rounded);
    mag = _mm256_min_epi32(mag, clamp);
    __m256i sign = _mm256_and_si256(_mm256_srli_epi32(bits, 24), _mm256_set1_epi32(0x80));
    if (p->fnuz) sign = _mm256_andnot_si256(_mm256_cmpeq_epi32(mag, _mm256_setzero_si256()), sign);
    const __m256i nan = _mm256_cmpgt_epi32(a, _mm256_set1_epi32(0x7F800000));
    return _mm256_blendv_epi8(_mm256_or_si256(mag, sign), _mm256_set1_epi32((int)p->nan_code), nan);
}

/* fp8_lowbias32() in lanes. */
FP8_INLINE __m256i lowbias32_8(__m256i x)
{
    x = _mm256_xor_si256(x, _mm256_srli_epi32(x, 16));
    x = _mm256_mullo_epi32(x, _mm256_set1_epi32(0x7FEB352D));
    x = _mm256_xor_si256(x, _mm256_srli_epi32(x, 15));
    x = _mm256_mullo_epi32(x, _mm256_set1_epi32((int)0x846CA68Bu));
    return _mm256_xor_si256(x, _mm256_srli_epi32(x, 16));
}

/* One segment of indices that share their high 32 bits (so one key); whole blocks of 32.
 * `scaled`: each element is first multiplied by `scale` in FP32. */
FP8_INLINE size_t encode_stochastic_body(const fp8_format_params *p, uint8_t *dst, const float *src, size_t n,
                                         fp8_saturation sat, fp8_sr_key key, uint32_t first_index_lo, bool scaled,
                                         float scale)
{
    const __m256i clamp = _mm256_set1_epi32((int)p->max_code + (sat == FP8_SATFINITE ? 0 : 1));
    const __m256i k0 = _mm256_set1_epi32((int)key.k0), k1 = _mm256_set1_epi32((int)key.k1);
    const __m256 vscale = _mm256_set1_ps(scale);
    __m256i index = _mm256_add_epi32(_mm256_set1_epi32((int)first_index_lo), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256i c[4];
        for (int v = 0; v < 4; v++) {
            const __m256i random = lowbias32_8(_mm256_add_epi32(lowbias32_8(_mm256_xor_si256(index, k0)), k1));
            __m256i bits = load8_f32(src + i + 8 * v);
            if (scaled) bits = _mm256_castps_si256(_mm256_mul_ps(_mm256_castsi256_ps(bits), vscale));
            c[v] = encode8_stochastic(bits, p, clamp, random);
            index = _mm256_add_epi32(index, _mm256_set1_epi32(8));
        }
        store32_codes(dst + i, c[0], c[1], c[2], c[3], false);
    }
    return i;
}

#define FP8_STOCHASTIC_BODY(params, done, ...) (*(done) = encode_stochastic_body(params, __VA_ARGS__))

/* Walks segments of indices that share their high 32 bits (the key changes with them). */
FP8_INLINE void stochastic_loop(uint8_t *dst, const float *src, size_t n, const fp8_format_params *p,
                                fp8_saturation sat, uint64_t seed, uint64_t offset, bool scaled, float scale)
{
    for (size_t i = 0; i < n;) {
        const uint64_t index = offset + i;
        const uint64_t to_boundary = (UINT64_C(1) << 32) - (uint32_t)index;
        const size_t segment = n - i > to_boundary ? (size_t)to_boundary : n - i;
        const fp8_sr_key key = fp8_sr_key_for(seed, (uint32_t)(index >> 32));
        size_t done = 0;
        FP8_SPECIALIZE(p, FP8_STOCHASTIC_BODY, &done, dst + i, src + i, segment, sat, key, (uint32_t)index, scaled,
                       scale)
        if (scaled)
            fp8_scalar_scaled_encode_f32_sr(dst + i + done, src + i + done, segment - done, scale, p, sat, seed,
                                            index + done);
        else
            fp8_scalar_encode_f32_sr(dst + i + done, src + i + done, segment - done, p, sat, seed, index + done);
        i += segment;
    }
}

void fp8_avx2_encode_f32_sr(uint8_t *dst, const float *src, size_t n, const fp8_format_params *p,
                               fp8_saturation sat, uint64_t seed, uint64_t offset)
{
    stochastic_loop(dst, src, n, p, sat, seed, offset, false, 1.0f);
}

void fp8_avx2_scaled_encode_f32_sr(uint8_t *q, const float *x, size_t n, float scale, const fp8_format_params *p,
                                      fp8_saturation sat, uint64_t seed, uint64_t first_index)
{
    stochastic_loop(q, x, n, p, sat, seed, first_index, true, scale);
}

/* ---- decoding (cpu/simd_convert.h) ------------------------------------------------------------- */

FP8_INLINE __m256 decode8_f32(const fp8_format_params *p, const uint8_t *src)
{
    return decode_codes(p, _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)src)));
}

/* Two vectors of 32-bit values (each < 2^16) -> sixteen uint16 in order. */
/* `scaled`: each value is then multiplied by scale_inv in FP32 (dequantization). */
FP8_INLINE size_t decode_f32_body(const fp8_format_params *p, float *dst, const uint8_t *src, size_t n, bool stream,
                                  bool scaled, float scale_inv)
{
    const __m256 s = _mm256_set1_ps(scale_inv);
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        for (int v = 0; v < 2; v++) {
            __m256 f = decode8_f32(p, src + i + 8 * v);
            if (scaled) f = _mm256_mul_ps(f, s);
            store256(dst + i + 8 * v, _mm256_castps_si256(f), stream);
        }
    return i;
}

/* FP16 holds every FP8 value; the conversion is exact (FP8 NaN -> 0x7FFF). */
FP8_INLINE size_t decode_f16_body(const fp8_format_params *p, uint16_t *dst, const uint8_t *src, size_t n, bool stream)
{
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m128i lo = _mm256_cvtps_ph(decode8_f32(p, src + i), _MM_FROUND_TO_NEAREST_INT);
        const __m128i hi = _mm256_cvtps_ph(decode8_f32(p, src + i + 8), _MM_FROUND_TO_NEAREST_INT);
        store256(dst + i, _mm256_set_m128i(hi, lo), stream);
    }
    return i;
}

/* BF16 is the top half of the exact FP32. */
FP8_INLINE size_t decode_bf16_body(const fp8_format_params *p, uint16_t *dst, const uint8_t *src, size_t n, bool stream)
{
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m256i lo = _mm256_srli_epi32(_mm256_castps_si256(decode8_f32(p, src + i)), 16);
        const __m256i hi = _mm256_srli_epi32(_mm256_castps_si256(decode8_f32(p, src + i + 8)), 16);
        store256(dst + i, _mm256_permute4x64_epi64(_mm256_packus_epi32(lo, hi), 0xD8), stream);
    }
    return i;
}

#define FP8_DECODE_BODY_F32(params, done, ...) (*(done) = decode_f32_body(params, __VA_ARGS__))
#define FP8_DECODE_BODY_F16(params, done, ...) (*(done) = decode_f16_body(params, __VA_ARGS__))
#define FP8_DECODE_BODY_BF16(params, done, ...) (*(done) = decode_bf16_body(params, __VA_ARGS__))

#define FP8_DEFINE_AVX2_DECODE(name, dst_type, body, scalar_kernel)                               \
    static void name(dst_type *dst, const uint8_t *src, size_t n, const fp8_format_params *p)     \
    {                                                                                             \
        const bool stream = n * sizeof *dst >= FP8_STREAM_MIN_BYTES;                              \
        const size_t head = stream ? stream_head(dst, sizeof *dst, n, 32) : 0;                        \
        scalar_kernel(dst, src, head, p);                                                         \
        size_t done = 0;                                                                          \
        if (stream)                                                                               \
            FP8_SPECIALIZE(p, body, &done, dst + head, src + head, n - head, true)                \
        else                                                                                      \
            FP8_SPECIALIZE(p, body, &done, dst, src, n, false)                                    \
        if (stream) _mm_sfence();                                                                 \
        done += head;                                                                             \
        scalar_kernel(dst + done, src + done, n - done, p);                                       \
    }

#define FP8_DECODE_BODY_F32_UNSCALED(params, done, ...) FP8_DECODE_BODY_F32(params, done, __VA_ARGS__, false, 1.0f)

FP8_DEFINE_AVX2_DECODE(avx2_decode_f32, float, FP8_DECODE_BODY_F32_UNSCALED, fp8_scalar_decode_f32)
FP8_DEFINE_AVX2_DECODE(avx2_decode_f16, uint16_t, FP8_DECODE_BODY_F16, fp8_scalar_decode_f16)
FP8_DEFINE_AVX2_DECODE(avx2_decode_bf16, uint16_t, FP8_DECODE_BODY_BF16, fp8_scalar_decode_bf16)

/* Streams whole lines only (as the scaled encode), from the first one; the caller fences. */
static void avx2_scaled_decode_f32(float *x, const uint8_t *q, size_t n, float scale_inv, const fp8_format_params *p,
                                   bool stream)
{
    const size_t head = stream ? stream_head(x, sizeof *x, n, 64) : 0;
    fp8_scalar_scaled_decode_f32(x, q, head, scale_inv, p, false);
    size_t done = 0;
    FP8_SPECIALIZE(p, FP8_DECODE_BODY_F32, &done, x + head, q + head, n - head, stream, true, scale_inv)
    done += head;
    fp8_scalar_scaled_decode_f32(x + done, q + done, n - done, scale_inv, p, false);
}

/* ---- amax ----------------------------------------------------------------------------------------
 * |x| as integer bits orders like |x| for finite values; NaN and infinity sit at and above
 * 0x7F800000, so they are masked out of the maximum and flagged. */
FP8_INLINE __m256i finite_abs8(__m256i bits, __m256i *nonfinite)
{
    const __m256i a = _mm256_and_si256(bits, _mm256_set1_epi32(0x7FFFFFFF));
    const __m256i finite = _mm256_cmpgt_epi32(_mm256_set1_epi32(0x7F800000), a);
    *nonfinite = _mm256_or_si256(*nonfinite, _mm256_xor_si256(finite, _mm256_set1_epi32(-1)));
    return _mm256_and_si256(a, finite);
}

FP8_INLINE uint32_t hmax_u32(__m256i v)
{
    __m128i m = _mm_max_epu32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    m = _mm_max_epu32(m, _mm_shuffle_epi32(m, 0x4E));
    m = _mm_max_epu32(m, _mm_shuffle_epi32(m, 0xB1));
    return (uint32_t)_mm_cvtsi128_si32(m);
}

/* Per element (group 1), one group (group >= n) or groups of a multiple of 8; *done says how many
 * elements it did, always whole groups (or a multiple of 16 for group 1). */
FP8_INLINE void amax_body(const unsigned char *src, size_t elem_size, size_t n, size_t group, load8_fn load8,
                          uint32_t *amax, bool *nonfinite, size_t *done)
{
    __m256i bad = _mm256_setzero_si256();
    size_t i = 0;
    if (group == 1) {
        for (; i + 16 <= n; i += 16)
            for (size_t v = 0; v < 16; v += 8) {
                __m256i *acc = (__m256i *)(amax + i + v);
                _mm256_storeu_si256(acc, _mm256_max_epu32(_mm256_loadu_si256(acc),
                                                          finite_abs8(load8(src + (i + v) * elem_size), &bad)));
            }
    } else if (group >= n || group % 8 == 0) {
        const size_t step = group >= n ? n : group;
        for (size_t g = 0; i + step <= n && step >= 8; g++) {
            __m256i acc0 = _mm256_setzero_si256(), acc1 = acc0;
            size_t k = 0;
            for (; k + 16 <= step; k += 16) {
                _mm_prefetch((const char *)src + (i + k) * elem_size + FP8_PREFETCH_BYTES, _MM_HINT_T0);
                acc0 = _mm256_max_epu32(acc0, finite_abs8(load8(src + (i + k) * elem_size), &bad));
                acc1 = _mm256_max_epu32(acc1, finite_abs8(load8(src + (i + k + 8) * elem_size), &bad));
            }
            for (; k + 8 <= step; k += 8) acc0 = _mm256_max_epu32(acc0, finite_abs8(load8(src + (i + k) * elem_size), &bad));
            const uint32_t m = hmax_u32(_mm256_max_epu32(acc0, acc1));
            if (m > amax[g]) amax[g] = m;
            i += k;
            if (k < step) break; /* one group of n, not a multiple of 8: the scalar tail finishes it */
        }
    }
    if (!_mm256_testz_si256(bad, bad)) *nonfinite = true;
    *done = i;
}

/* The scalar tail continues where the vector body stopped, in the same group. */
#define FP8_DEFINE_AVX2_AMAX(name, src_type, elem_size, load8, scalar_kernel)                                  \
    void name(const src_type *x, size_t n, size_t group, uint32_t *amax, bool *nonfinite)             \
    {                                                                                                        \
        size_t done;                                                                                         \
        amax_body((const unsigned char *)x, elem_size, n, group, load8, amax, nonfinite, &done);              \
        const size_t g = group >= n ? 0 : done / group, into = group >= n ? done : done % group;             \
        if (done < n) {                                                                                      \
            /* finish the group in progress, then whole groups */                                            \
            const size_t rest = into ? (group - into < n - done ? group - into : n - done) : 0;              \
            scalar_kernel(x + done, rest, rest ? rest : 1, amax + g, nonfinite);                             \
            scalar_kernel(x + done + rest, n - done - rest, group, amax + g + (into ? 1 : 0), nonfinite);    \
        }                                                                                                    \
    }

FP8_DEFINE_AVX2_AMAX(fp8_avx2_amax_f32, float, 4, load8_f32, fp8_scalar_amax_f32)
FP8_DEFINE_AVX2_AMAX(fp8_avx2_amax_bf16, uint16_t, 2, load8_bf16, fp8_scalar_amax_bf16)

/* ---- the fused dual-orientation pass ---------------------------------------------------------- */

/* The maxima of |x| as bits with NaN and infinity left in (they order above every finite value):
 * three instructions per vector. A tile that turns out to hold one (rare) is done again by the
 * scalar kernel, which leaves them out. 64 columns at a time: their maxima stay in eight registers
 * down the tile's rows (a running maximum in memory would put a store and a reload on every
 * vector); the last w % 8 columns in scalar code. */
static void avx2_dual_amax_f32(const fp8_dual_tile *t, uint32_t *row_amax, uint32_t *col_amax, bool *nonfinite)
{
    const __m256i abs_mask = _mm256_set1_epi32(0x7FFFFFFF);
    const size_t w8 = t->w & ~(size_t)7;
    uint32_t largest = 0;
    for (size_t r = 0; r < t->h; r++) row_amax[r] = 0;
    for (size_t c0 = 0; c0 < w8; c0 += 64) {
        const size_t vectors = (w8 - c0) / 8 < 8 ? (w8 - c0) / 8 : 8;
        __m256i col[8];
        for (size_t v = 0; v < 8; v++) col[v] = _mm256_setzero_si256();
        for (size_t r = 0; r < t->h; r++) {
            const float *x = t->x + r * t->ldx + c0;
            __m256i acc = _mm256_setzero_si256();
            for (size_t v = 0; v < 8; v++)
                if (v < vectors) {
                    const __m256i a = _mm256_and_si256(load8_f32(x + 8 * v), abs_mask);
                    col[v] = _mm256_max_epu32(col[v], a);
                    acc = _mm256_max_epu32(acc, a);
                }
            const uint32_t m = hmax_u32(acc);
            if (m > row_amax[r]) row_amax[r] = m;
        }
        for (size_t v = 0; v < vectors; v++) _mm256_storeu_si256((__m256i *)(col_amax + c0 + 8 * v), col[v]);
    }
    for (size_t i = w8; i < t->w; i++) col_amax[i] = 0;
    for (size_t r = 0; r < t->h; r++) {
        const float *x = t->x + r * t->ldx;
        for (size_t i = w8; i < t->w; i++) {
            const uint32_t a = fp8_f32_bits(x[i]) & 0x7FFFFFFFu;
            if (a > row_amax[r]) row_amax[r] = a;
            if (a > col_amax[i]) col_amax[i] = a;
        }
        if (row_amax[r] > largest) largest = row_amax[r];
    }
    if (largest >= 0x7F800000u) fp8_scalar_dual_amax_f32(t, row_amax, col_amax, nonfinite);
}

/* Four vectors of magnitude codes (each < 2^15) -> 32 code bytes in order: saturated to the format's
 * largest code, each with the sign in bit 7 of sign_bytes (bytes in the packs' order, as the
 * magnitudes), none on FNUZ zeros. Saturating at byte width takes one instruction per 32 codes. */
FP8_INLINE __m256i codes32(const fp8_format_params *p, const __m256i m[4], __m256i sign_bytes, __m256i clamp8)
{
    __m256i b = _mm256_packus_epi16(_mm256_packus_epi32(m[0], m[1]), _mm256_packus_epi32(m[2], m[3]));
    b = _mm256_min_epu8(b, clamp8);
    if (p->fnuz) sign_bytes = _mm256_andnot_si256(_mm256_cmpeq_epi8(b, _mm256_setzero_si256()), sign_bytes);
    /* the packs work per 128-bit lane: dwords come out as m0lo m1lo m2lo m3lo | m0hi m1hi m2hi m3hi */
    return _mm256_permutevar8x32_epi32(_mm256_or_si256(b, sign_bytes), _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

/* The rows of a finite tile: codes with the rows' scales to q, each row made in L1 and written
 * whole (write_piece), with the columns' scales to by_col (rows ld apart); whole blocks of 32
 * columns in vector code, the last columns in scalar code. |x| and the signs are found once for
 * both; a signed pack keeps each sign in bit 7 (negative int32 -> negative int16 -> negative int8).
 * No NaN: x * scale is finite or infinite, and the saturation handles both. The subnormal path
 * only for 32 elements where a scaled value needs it (magnitude_normal): the pass is bound by its
 * arithmetic. */
FP8_INLINE void dual_encode_body(const fp8_format_params *p, const fp8_dual_tile *t, uint8_t *by_col, size_t ld,
                                 const float *row_scale, const float *col_scale, fp8_saturation sat,
                                 size_t prefetch_bytes, bool stream)
{
    _Alignas(64) uint8_t q_row[FP8_DUAL_MAX_TILE];
    const size_t w32 = t->w & ~(size_t)31;
    const nearest_consts k = nearest_consts_of(p, sat);
    const __m256i clamp8 = _mm256_set1_epi8((char)(p->max_code + (sat == FP8_SATFINITE ? 0 : 1)));
    const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
    const __m256i below_normal = _mm256_sub_epi32(k.min_normal_bits, _mm256_set1_epi32(1));
    for (size_t r = 0; r < t->h; r++) {
        const float *x = t->x + r * t->ldx;
        uint8_t *q_col = by_col + r * ld;
        const __m256 rs = _mm256_set1_ps(row_scale[r]);
        /* the loop prefetches a line per 64 bytes ahead; a row not 64-byte aligned ends in one more */
        _mm_prefetch((const char *)(x + t->w) + prefetch_bytes - 1, _MM_HINT_T0);
        for (size_t i = 0; i < w32; i += 32) {
            _mm_prefetch((const char *)(x + i) + prefetch_bytes, _MM_HINT_T0);
            _mm_prefetch((const char *)(x + i) + prefetch_bytes + 64, _MM_HINT_T0);
            __m256i bits[4], scaled_row[4], scaled_col[4], by_row[4], by_column[4];
            __m256i least = _mm256_set1_epi32(-1);
            for (size_t v = 0; v < 4; v++) {
                bits[v] = load8_f32(x + i + 8 * v);
                const __m256 a = _mm256_and_ps(_mm256_castsi256_ps(bits[v]), abs_mask);
                scaled_row[v] = _mm256_castps_si256(_mm256_mul_ps(a, rs));
                scaled_col[v] = _mm256_castps_si256(_mm256_mul_ps(a, _mm256_loadu_ps(col_scale + i + 8 * v)));
                by_row[v] = magnitude_normal(scaled_row[v], p, &k);
                by_column[v] = magnitude_normal(scaled_col[v], p, &k);
                least = least_nonzero_less_one(least, _mm256_min_epu32(scaled_row[v], scaled_col[v]));
            }
            /* a lane where least < below_normal (unsigned) */
            if (_mm256_movemask_epi8(_mm256_cmpeq_epi32(_mm256_max_epu32(least, below_normal), least)) != -1)
                for (size_t v = 0; v < 4; v++) {
                    by_row[v] = _mm256_max_epi32(by_row[v], magnitude_subnormal(scaled_row[v], &k));
                    by_column[v] = _mm256_max_epi32(by_column[v], magnitude_subnormal(scaled_col[v], &k));
                }
            const __m256i sign = _mm256_and_si256(
                _mm256_packs_epi16(_mm256_packs_epi32(bits[0], bits[1]), _mm256_packs_epi32(bits[2], bits[3])),
                _mm256_set1_epi8((char)0x80));
            _mm256_store_si256((__m256i *)(q_row + i), codes32(p, by_row, sign, clamp8));
            _mm256_store_si256((__m256i *)(q_col + i), codes32(p, by_column, sign, clamp8));
        }
        if (w32 < t->w) {
            fp8_scalar_scaled_encode_f32(q_row + w32, x + w32, t->w - w32, &row_scale[r], t->w, p, sat, 0, false, NULL);
            fp8_scalar_scaled_encode_f32(q_col + w32, x + w32, t->w - w32, col_scale + w32, 1, p, sat, 0, false, NULL);
        }
        write_piece(t->q + r * t->ldq, q_row, t->w, stream, &t->q_carry, r);
    }
}

#define FP8_DUAL_ENCODE_BODY(params, ...) dual_encode_body(params, __VA_ARGS__)

/* A tile's dual encode around an ISA's row encoder, which writes q's rows as it makes them (each
 * from an L1 row) and the column-wise codes, in the order they are made, to by_col; their
 * transpose into by_row gives qt's rows. Each output row's piece is written whole (scattered
 * pieces of lines a row apart would be evicted and fetched again before they are complete),
 * streaming where asked. A tile with a NaN or infinity (rare) takes the scalar kernel, into the
 * same buffers. */
void fp8_avx2_dual_encode_with(const fp8_dual_tile *t, const float *row_scale, const float *col_scale,
                               const fp8_format_params *p, fp8_saturation sat, bool finite, size_t prefetch_bytes,
                               bool stream, fp8_dual_rows_fn encode_rows)
{
    _Alignas(64) uint8_t by_row[FP8_DUAL_MAX_TILE * FP8_DUAL_MAX_TILE];
    _Alignas(64) uint8_t by_col[FP8_DUAL_MAX_TILE * FP8_DUAL_MAX_TILE];
    const size_t ld = (t->w + 63) & ~(size_t)63, ld_t = (t->h + 63) & ~(size_t)63;
    const uint8_t *qt_rows = by_row;
    if (finite) {
        encode_rows(t, by_col, ld, row_scale, col_scale, p, sat, prefetch_bytes, stream);
        fp8_avx2_transpose_u8(by_row, ld_t, by_col, ld, t->h, t->w);
    } else {
        fp8_dual_tile staged = *t;
        staged.q = by_row;
        staged.ldq = ld;
        staged.qt = by_col;
        staged.ldqt = ld_t;
        fp8_scalar_dual_encode_f32(&staged, row_scale, col_scale, p, sat, finite, 0, false);
        for (size_t r = 0; r < t->h; r++) write_piece(t->q + r * t->ldq, by_row + r * ld, t->w, stream, &t->q_carry, r);
        qt_rows = by_col;
    }
    for (size_t c = 0; c < t->w; c++)
        write_piece(t->qt + c * t->ldqt, qt_rows + c * ld_t, t->h, stream, &t->qt_carry, c);
    if (stream) _mm_sfence();
}

static void avx2_dual_rows(const fp8_dual_tile *t, uint8_t *by_col, size_t ld, const float *row_scale,
                           const float *col_scale, const fp8_format_params *p, fp8_saturation sat,
                           size_t prefetch_bytes, bool stream)
{
    FP8_SPECIALIZE(p, FP8_DUAL_ENCODE_BODY, t, by_col, ld, row_scale, col_scale, sat, prefetch_bytes, stream)
}

static void avx2_dual_encode_f32(const fp8_dual_tile *t, const float *row_scale, const float *col_scale,
                                 const fp8_format_params *p, fp8_saturation sat, bool finite, size_t prefetch_bytes,
                                 bool stream)
{
    fp8_avx2_dual_encode_with(t, row_scale, col_scale, p, sat, finite, prefetch_bytes, stream, avx2_dual_rows);
}

/* ---- byte transpose, in 8 x 8 tiles ---------------------------------------------------------------
 * Interleaving bytes, then 16-bit pairs, then 32-bit quads of the rows gathers each column:
 *   unpacklo_epi8(r0, r1)   = r0c0 r1c0 r0c1 r1c1 ... r0c7 r1c7
 *   unpack*_epi16 of two    = r0..r3 of c0, c1, c2, c3 (lo) or c4..c7 (hi)
 *   unpack*_epi32 of those  = r0..r7 of two columns: one 8-byte output row each. */
void fp8_avx2_transpose_u8(uint8_t *dst, size_t ldd, const uint8_t *src, size_t lds, size_t rows, size_t cols)
{
    const size_t rows8 = rows & ~(size_t)7, cols8 = cols & ~(size_t)7;
    for (size_t r = 0; r < rows8; r += 8)
        for (size_t c = 0; c < cols8; c += 8) {
            __m128i row[8];
            for (int k = 0; k < 8; k++) row[k] = _mm_loadl_epi64((const __m128i *)(src + (r + k) * lds + c));
            const __m128i s0 = _mm_unpacklo_epi8(row[0], row[1]), s1 = _mm_unpacklo_epi8(row[2], row[3]);
            const __m128i s2 = _mm_unpacklo_epi8(row[4], row[5]), s3 = _mm_unpacklo_epi8(row[6], row[7]);
            const __m128i t0 = _mm_unpacklo_epi16(s0, s1), t1 = _mm_unpackhi_epi16(s0, s1);
            const __m128i t2 = _mm_unpacklo_epi16(s2, s3), t3 = _mm_unpackhi_epi16(s2, s3);
            const __m128i cols_pairs[4] = {_mm_unpacklo_epi32(t0, t2), _mm_unpackhi_epi32(t0, t2),
                                           _mm_unpacklo_epi32(t1, t3), _mm_unpackhi_epi32(t1, t3)};
            for (int k = 0; k < 4; k++) {
                _mm_storel_epi64((__m128i *)(dst + (c + 2 * k) * ldd + r), cols_pairs[k]);
                _mm_storel_epi64((__m128i *)(dst + (c + 2 * k + 1) * ldd + r), _mm_unpackhi_epi64(cols_pairs[k], cols_pairs[k]));
            }
        }
    /* the edges */
    fp8_scalar_transpose_u8(dst + cols8 * ldd, ldd, src + cols8, lds, rows, cols - cols8);
    fp8_scalar_transpose_u8(dst + rows8, ldd, src + rows8 * lds, lds, rows - rows8, cols8);
}

static void avx2_write_piece(uint8_t *d, const uint8_t *src, size_t n, bool stream, const fp8_row_carry *carry,
                             size_t row)
{
    write_piece(d, src, n, stream, carry, row);
}

void fp8_avx2_stream_fence(void) { _mm_sfence(); }

const fp8_cpu_kernels fp8_cpu_kernels_avx2 = {
    .isa = FP8_CPU_ISA_AVX2,
    .encode_f32 = avx2_encode_f32,
    .encode_f16 = avx2_encode_f16,
    .encode_bf16 = avx2_encode_bf16,
    .encode_f32_sr = fp8_avx2_encode_f32_sr,
    .decode_f32 = avx2_decode_f32,
    .decode_f16 = avx2_decode_f16,
    .decode_bf16 = avx2_decode_bf16,
    .scaled_encode_f32 = fp8_avx2_scaled_encode_f32,
    .scaled_encode_bf16 = fp8_avx2_scaled_encode_bf16,
    .quant_chunk_min_bytes = (size_t)1 << 20,
    .scaled_encode_f32_sr = fp8_avx2_scaled_encode_f32_sr,
    .scaled_decode_f32 = avx2_scaled_decode_f32,
    .amax_f32 = fp8_avx2_amax_f32,
    .amax_bf16 = fp8_avx2_amax_bf16,
    .dual_amax_f32 = avx2_dual_amax_f32,
    .dual_encode_f32 = avx2_dual_encode_f32,
    .write_piece = avx2_write_piece,
    .stream_fence = fp8_avx2_stream_fence,
    .transpose_u8 = fp8_avx2_transpose_u8,
};
