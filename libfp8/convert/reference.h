/* libfp8 internal: the scalar reference conversions. This file is the
 * specification: the AVX2 and CUDA paths must give the same bytes.
 *
 * Every encoder reduces its input to a magnitude sig * 2^(e - frac_bits)
 * (sig holding the implicit bit) and hands it to one rounding core,
 * fp8_round_magnitude(). Nothing here uses floating-point arithmetic that
 * could round or flush, so results do not depend on MXCSR (FTZ/DAZ or the
 * rounding mode). */
#ifndef FP8_CONVERT_REFERENCE_H
#define FP8_CONVERT_REFERENCE_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "core/internal.h"

/* The CUDA backend compiles these same functions for the device (nvcc
 * defines __CUDACC__); in C they are plain static inline functions. */
#if defined(__CUDACC__)
#define FP8_HOST_DEVICE __host__ __device__
#else
#define FP8_HOST_DEVICE
#endif

#define FP8_F32_CANONICAL_NAN 0x7FFFFFFFu
#define FP8_F16_CANONICAL_NAN 0x7FFFu
#define FP8_MAG_OVERFLOW 0x100u /* any magnitude above every max_code */

FP8_HOST_DEVICE static inline uint32_t fp8_f32_bits(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

FP8_HOST_DEVICE static inline float fp8_f32_from_bits(uint32_t u)
{
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* FP16 -> FP32, exact, integers only (so DAZ cannot flush FP16 subnormals).
 *   | S | EEEEE | MM MMMM MMMM |  ->  | S | EEEEEEEE | MMMMMMMMMM 0000000000000 |
 * Normals rebias the exponent by 127 - 15. A subnormal m * 2^-24 is built as
 * (float)m, exact for m < 2^10, with 24 taken off its exponent field. */
FP8_HOST_DEVICE static inline uint32_t fp8_f16_to_f32_bits(uint16_t h)
{
    const uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    const uint32_t exp = (h >> 10) & 0x1Fu, mant = h & 0x3FFu;
    if (exp == 0x1Fu) return sign | 0x7F800000u | (mant << 13);
    if (exp != 0) return sign | (((uint32_t)(h & 0x7FFFu) << 13) + ((127u - 15u) << 23));
    if (mant == 0) return sign;
    return sign | (fp8_f32_bits((float)mant) - (24u << 23));
}

/* FP32 -> FP16 for values FP16 represents exactly (every FP8 value):
 * no rounding is needed, only the subnormal shift. */
FP8_HOST_DEVICE static inline uint16_t fp8_f32_bits_to_f16_exact(uint32_t b)
{
    const uint16_t sign = (uint16_t)((b >> 16) & 0x8000u);
    const uint32_t a = b & 0x7FFFFFFFu;
    if (a > 0x7F800000u) return FP8_F16_CANONICAL_NAN;
    if (a == 0x7F800000u) return (uint16_t)(sign | 0x7C00u);
    if (a == 0) return sign;
    const int e = (int)(a >> 23) - 127;
    if (e >= -14) return (uint16_t)(sign | ((uint32_t)(e + 15) << 10) | ((a & 0x7FFFFFu) >> 13));
    return (uint16_t)(sign | (((a & 0x7FFFFFu) | 0x800000u) >> (13 - 14 - e)));
}

/* The rounding core. The magnitude sig * 2^(e - frac_bits) is divided by
 * the FP8 step at exponent e, 2^(max(e, min_exp) - mantissa_bits):
 *
 *   quotient = floor + frac,   floor = sig >> s,  frac in [0, 1)
 *   s = frac_bits - mantissa_bits + max(0, min_exp - e)
 *
 * frac is kept as a 0.64 fixed-point number (exact while s <= 64; beyond,
 * frac < 2^-11 and neither rounding can go up from its truncation).
 * Round to nearest even goes up when frac > 1/2, or frac == 1/2 and floor is
 * odd. Stochastic rounding goes up when frac32 + random32 >= 2^32, with
 * frac32 = floor(frac * 2^32): probability frac, to 2^-32.
 * The magnitude code is then ((max(e, min_exp) - min_exp) << mantissa_bits)
 * + floor + up: a carry out of the mantissa steps the exponent, and a
 * subnormal that rounds up to 2^min_exp lands on the smallest normal code. */
FP8_HOST_DEVICE static inline uint32_t fp8_round_magnitude(uint64_t sig, int e, unsigned frac_bits,
                                                           const fp8_format_params *p, bool stochastic,
                                                           uint32_t random32)
{
    const unsigned s = frac_bits - p->mantissa_bits + (e < p->min_exp ? (unsigned)(p->min_exp - e) : 0u);
    uint64_t floor, frac;
    if (s < 64) {
        floor = sig >> s;
        frac = (sig & ((UINT64_C(1) << s) - 1u)) << (64 - s);
    } else {
        floor = 0;
        frac = s - 64 < 64 ? sig >> (s - 64) : 0;
    }
    bool up;
    if (stochastic)
        up = (frac >> 32) + random32 >= (UINT64_C(1) << 32);
    else
        up = frac > (UINT64_C(1) << 63) || (frac == (UINT64_C(1) << 63) && (floor & 1u));
    const int e_step = e > p->min_exp ? e : p->min_exp;
    return ((uint32_t)(e_step - p->min_exp) << p->mantissa_bits) + (uint32_t)floor + (uint32_t)up;
}

/* Applies overflow and the sign. FNUZ has no negative zero, and its NaN
 * 0x80 already holds the sign bit. */
FP8_HOST_DEVICE static inline uint8_t fp8_finish(uint32_t mag, uint32_t sign, const fp8_format_params *p,
                                                 fp8_saturation sat)
{
    if (mag > p->max_code) mag = sat == FP8_SATFINITE ? p->max_code : p->max_code + 1u;
    if (p->fnuz && mag == 0) return 0;
    return (uint8_t)(mag | sign);
}

/* FP32 bits -> FP8. A NaN of any sign or payload gives the format's NaN
 * (cuda_fp8.h canonicalizes FP32 NaNs first). */
FP8_HOST_DEVICE static inline uint8_t fp8_encode_f32_bits(uint32_t bits, const fp8_format_params *p,
                                                          fp8_saturation sat, bool stochastic, uint32_t random32)
{
    const uint32_t sign = (bits >> 24) & 0x80u;
    const uint32_t a = bits & 0x7FFFFFFFu;
    if (a > 0x7F800000u) return (uint8_t)p->nan_code;
    uint32_t mag = FP8_MAG_OVERFLOW;
    if (a < 0x7F800000u) {
        const bool normal = a >= 0x800000u;
        const int e = normal ? (int)(a >> 23) - 127 : -126;
        const uint32_t sig = (a & 0x7FFFFFu) | (normal ? 0x800000u : 0u);
        mag = fp8_round_magnitude(sig, e, 23, p, stochastic, random32);
    }
    return fp8_finish(mag, sign, p, sat);
}

/* FP64 bits -> FP8 with one rounding. For a NaN, cuda_fp8.h keeps the sign
 * in OCP formats, and E5M2 also keeps the top two payload bits with its
 * quiet bit set (0x7E | payload); we do the same. */
FP8_HOST_DEVICE static inline uint8_t fp8_encode_f64_bits(uint64_t bits, const fp8_format_params *p,
                                                          fp8_saturation sat)
{
    const uint32_t sign = (uint32_t)(bits >> 56) & 0x80u;
    const uint64_t a = bits & UINT64_C(0x7FFFFFFFFFFFFFFF);
    const uint64_t inf = UINT64_C(0x7FF0000000000000);
    if (a > inf) {
        if (p->fnuz) return 0x80;
        const uint32_t payload = (uint32_t)(a >> (52 - p->mantissa_bits)) & ((1u << p->mantissa_bits) - 1u);
        return (uint8_t)(sign | p->f64_nan_base | payload);
    }
    uint32_t mag = FP8_MAG_OVERFLOW;
    if (a < inf) {
        const bool normal = a >= (UINT64_C(1) << 52);
        const int e = normal ? (int)(a >> 52) - 1023 : -1022;
        const uint64_t sig = (a & ((UINT64_C(1) << 52) - 1u)) | (normal ? UINT64_C(1) << 52 : 0u);
        mag = fp8_round_magnitude(sig, e, 52, p, false, 0);
    }
    return fp8_finish(mag, sign, p, sat);
}

/* FP8 -> FP32 bits, exact.
 *   normal:    | S | E..E | M..M |  ->  S, exponent E - bias + 127, mantissa M << (23 - mbits)
 *   subnormal: m * 2^(min_exp - mbits), built as (float)m (exact) with its exponent field lowered. */
FP8_HOST_DEVICE static inline uint32_t fp8_decode_f32_bits(uint8_t code, const fp8_format_params *p)
{
    const uint32_t mag = code & 0x7Fu, sign = (uint32_t)(code & 0x80u) << 24;
    if (p->fnuz && code == 0x80) return FP8_F32_CANONICAL_NAN;
    if (mag >= p->first_special_mag) return mag == p->infinity_mag ? sign | 0x7F800000u : FP8_F32_CANONICAL_NAN;
    const unsigned mbits = p->mantissa_bits;
    if (mag == 0) return sign;
    if ((mag >> mbits) == 0) return sign | (fp8_f32_bits((float)mag) - ((uint32_t)((int)mbits - p->min_exp) << 23));
    return sign | ((mag << (23 - mbits)) + ((uint32_t)(127 - p->bias) << 23));
}

/* Counter-based random bits for stochastic rounding: element `index` under
 * `seed` gets lowbias32(lowbias32(lo ^ k0) + k1), with (k0, k1) derived by
 * splitmix64 from the seed and the index's high 32 bits. 32-bit lanes keep
 * it cheap in SIMD; the two keyed rounds decorrelate seeds and streams. */
FP8_HOST_DEVICE static inline uint32_t fp8_lowbias32(uint32_t x)
{
    x ^= x >> 16;
    x *= 0x7FEB352Du;
    x ^= x >> 15;
    x *= 0x846CA68Bu;
    x ^= x >> 16;
    return x;
}

typedef struct fp8_sr_key {
    uint32_t k0, k1;
} fp8_sr_key;

FP8_HOST_DEVICE static inline fp8_sr_key fp8_sr_key_for(uint64_t seed, uint32_t index_hi)
{
    uint64_t z = seed + UINT64_C(0x9E3779B97F4A7C15) * ((uint64_t)index_hi + 1u);
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    z ^= z >> 31;
    return (fp8_sr_key){(uint32_t)z, (uint32_t)(z >> 32)};
}

FP8_HOST_DEVICE static inline uint32_t fp8_sr_bits(fp8_sr_key key, uint32_t index_lo)
{
    return fp8_lowbias32(fp8_lowbias32(index_lo ^ key.k0) + key.k1);
}

#endif /* FP8_CONVERT_REFERENCE_H */
