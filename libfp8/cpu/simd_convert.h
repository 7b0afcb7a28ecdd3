/* libfp8 internal: the arithmetic of the SIMD conversions, written once for
 * every vector width. The including file (compiled with its ISA's flags)
 * first names its vocabulary:
 *   FP8_VI, FP8_VF       its 32-bit integer and FP32 vector types
 *   FP8_V(op)            the intrinsic op at its width: _mm256_##op, _mm512_##op
 *   FP8_V_AND(a, b), FP8_V_OR(a, b)   bitwise and, or of two FP8_VI
 *   FP8_V_AS_F, _AS_I    bit casts between FP8_VI and FP8_VF
 *   FP8_VMASK            its lane mask type (a vector, or an AVX-512 mask register)
 *   FP8_V_GT(a, b), FP8_V_EQ(a, b)    signed 32-bit compares of FP8_VI -> FP8_VMASK
 *   FP8_V_SELECT(m, a, b)             FP8_VF: b where m, else a
 *
 * ---- encoding, round to nearest even ----
 * normal (|x| >= 2^min_exp): integer rounding of the FP32 bits a = |x|,
 *     | 0 | EEEEEEEE | MMM MMMMMMMMMMMMMMMMMMMM |   shift = 23 - mantissa_bits
 *     code = (a + (2^(shift-1) - 1) + odd - ((127 - bias) << 23)) >> shift,  odd = (a >> shift) & 1
 *   a carry out of the mantissa steps the exponent; the rebias folds into the constant.
 * subnormal: the FP32 add |x| + 2^(min_exp - mantissa_bits + 23) lands where one unit in the
 *   last place is the FP8 subnormal step, so the hardware rounds |x| to it (ties to even), and
 *   bits(sum) - bits(magic) is the code (2^mantissa_bits when it rounds up to the smallest normal).
 *   The add needs the default FP environment (no DAZ, round to nearest), which callers enter.
 * overflow: min(code, max_code) saturates; min(code, max_code + 1) gives the NaN or infinity.
 * NaN input: the format's NaN, without sign. FNUZ: no negative zero. */
#ifndef FP8_CPU_SIMD_CONVERT_H
#define FP8_CPU_SIMD_CONVERT_H

#include "cpu/simd_common.h"

typedef struct nearest_consts {
    FP8_VI round, magic_bits, min_normal_bits, clamp;
    FP8_VF magic;
} nearest_consts;

FP8_INLINE nearest_consts nearest_consts_of(const fp8_format_params *p, fp8_saturation sat)
{
    const int shift = 23 - (int)p->mantissa_bits;
    const int magic_exp = p->min_exp - (int)p->mantissa_bits + 23;
    return (nearest_consts){
        .round = FP8_V(set1_epi32)((1 << (shift - 1)) - 1 - ((127 - p->bias) << 23)),
        .magic_bits = FP8_V(set1_epi32)((127 + magic_exp) << 23),
        .magic = FP8_V_AS_F(FP8_V(set1_epi32)((127 + magic_exp) << 23)),
        .min_normal_bits = FP8_V(set1_epi32)((127 + p->min_exp) << 23),
        .clamp = FP8_V(set1_epi32)((int)p->max_code + (sat == FP8_SATFINITE ? 0 : 1)),
    };
}

/* The magnitude code of |x| (FP32 bits a, not NaN), before saturation: below 2^15, the larger
 * of two paths, each without a select. The normal path, with an arithmetic shift, is the code for
 * a >= 2^min_exp and gives at most the subnormal code below it (a rounded pseudo-code with a zero
 * exponent field in [2^(min_exp-1), 2^min_exp), negative further down, zero included, which the
 * packs then saturate to 0); the subnormal path, of min(a, 2^min_exp), is the code below 2^min_exp
 * and gives 2^mantissa_bits, the smallest normal code, from there up. Where no nonzero a lies
 * below 2^min_exp (see least_nonzero_less_one), the normal path alone gives the same bytes for
 * half the instructions. */
FP8_INLINE FP8_VI magnitude_normal(FP8_VI a, const fp8_format_params *p, const nearest_consts *k)
{
    const int shift = 23 - (int)p->mantissa_bits;
    const FP8_VI odd = FP8_V_AND(FP8_V(srli_epi32)(a, shift), FP8_V(set1_epi32)(1));
    return FP8_V(srai_epi32)(FP8_V(add_epi32)(FP8_V(add_epi32)(a, k->round), odd), shift);
}

FP8_INLINE FP8_VI magnitude_subnormal(FP8_VI a, const nearest_consts *k)
{
    const FP8_VF low = FP8_V_AS_F(FP8_V(min_epi32)(a, k->min_normal_bits));
    return FP8_V(sub_epi32)(FP8_V_AS_I(FP8_V(add_ps)(low, k->magic)), k->magic_bits);
}

FP8_INLINE FP8_VI magnitude_nearest(FP8_VI a, const fp8_format_params *p, const nearest_consts *k)
{
    return FP8_V(max_epi32)(magnitude_normal(a, p, k), magnitude_subnormal(a, k));
}

/* The least nonzero FP32 bits among nonnegative values so far, less one: unsigned minima of
 * bits - 1, where zero wraps to the largest value and drops out. Start from all ones; a lane
 * below bits(2^min_exp) - 1 then marks a value that needs magnitude_subnormal. */
FP8_INLINE FP8_VI least_nonzero_less_one(FP8_VI least, FP8_VI a)
{
    return FP8_V(min_epu32)(least, FP8_V(sub_epi32)(a, FP8_V(set1_epi32)(1)));
}

/* ---- decoding ----
 * No FP32 subnormal ever enters an arithmetic instruction (they take a slow microcode path):
 *   normal:    | S | E..E | M..M |  ->  (mag << (23 - mbits)) + ((127 - bias) << 23), in integers;
 *   subnormal: m * 2^(min_exp - mbits) = (1.m * 2^min_exp) - 2^min_exp, an exact subtraction of
 *              two normals (the mantissa m placed under the exponent of 2^min_exp).
 * Then the sign, and the specials. c: one code per 32-bit lane. */
FP8_INLINE FP8_VF decode_codes(const fp8_format_params *p, FP8_VI c)
{
    const int shift = 23 - (int)p->mantissa_bits;
    const FP8_VI mag = FP8_V_AND(c, FP8_V(set1_epi32)(0x7F));
    const FP8_VI sign = FP8_V(slli_epi32)(FP8_V_AND(c, FP8_V(set1_epi32)(0x80)), 24);
    const FP8_VI placed = FP8_V(slli_epi32)(mag, shift);
    const FP8_VI normal = FP8_V(add_epi32)(placed, FP8_V(set1_epi32)((127 - p->bias) << 23));
    const FP8_VF low = FP8_V_AS_F(FP8_V(set1_epi32)((127 + p->min_exp) << 23)); /* 2^min_exp */
    const FP8_VF subnormal = FP8_V(sub_ps)(FP8_V_AS_F(FP8_V_OR(placed, FP8_V_AS_I(low))), low);
    const FP8_VMASK is_sub = FP8_V_GT(FP8_V(set1_epi32)(1 << p->mantissa_bits), mag);
    FP8_VF f = FP8_V_AS_F(FP8_V_OR(FP8_V_AS_I(FP8_V_SELECT(is_sub, FP8_V_AS_F(normal), subnormal)), sign));
    const FP8_VF nan = FP8_V_AS_F(FP8_V(set1_epi32)((int)FP8_F32_CANONICAL_NAN));
    if (p->fnuz) return FP8_V_SELECT(FP8_V_EQ(c, FP8_V(set1_epi32)(0x80)), f, nan);
    if (p->infinity_mag <= 0x7F) {
        const FP8_VMASK is_inf = FP8_V_EQ(mag, FP8_V(set1_epi32)((int)p->infinity_mag));
        const FP8_VI inf = FP8_V_OR(sign, FP8_V(set1_epi32)(0x7F800000));
        f = FP8_V_SELECT(is_inf, f, FP8_V_AS_F(inf));
    }
    const int last_value = (int)p->first_special_mag - 1 + (p->infinity_mag <= 0x7F);
    return FP8_V_SELECT(FP8_V_GT(mag, FP8_V(set1_epi32)(last_value)), f, nan);
}

#endif /* FP8_CPU_SIMD_CONVERT_H */
