/* libfp8: conversion between FP8 and FP32 / FP64 / FP16 / BF16, and E8M0 scales.
 *
 * Rounding is to nearest, ties to even, with a single rounding from the
 * source value (FP64 never goes through FP32). For FP8_E4M3 and FP8_E5M2 every
 * result equals NVIDIA's cuda_fp8.h host conversions bit for bit. See
 * docs/formats.md for the full table of special cases.
 *
 * FP16 and BF16 travel as their raw bits in uint16_t.
 *
 * Thread safety: every function here is thread-safe and reentrant.
 * Array functions read src and write dst only within [0, n); src and dst must
 * not overlap. On FP8_ERR_INVALID_ARGUMENT nothing has been written. */
#ifndef FP8_CONVERT_H
#define FP8_CONVERT_H

#include <stddef.h>
#include <stdint.h>
#include "fp8/api.h"
#include "fp8/status.h"
#include "fp8/format.h"

FP8_BEGIN_DECLS

/* Scalar conversions. An unknown fmt or sat gives the format-independent NaN
 * code 0xFF for encoders and NaN for decoders; validate with the array API. */
FP8_API uint8_t  fp8_from_f32(float x, fp8_format fmt, fp8_saturation sat);
FP8_API uint8_t  fp8_from_f64(double x, fp8_format fmt, fp8_saturation sat);
FP8_API uint8_t  fp8_from_f16(uint16_t bits, fp8_format fmt, fp8_saturation sat);
FP8_API uint8_t  fp8_from_bf16(uint16_t bits, fp8_format fmt, fp8_saturation sat);
/* Decoding is exact; every NaN decodes to the positive canonical NaN
 * (0x7FFFFFFF, 0x7FFF, 0x7FFF), as cuda_fp8.h does. */
FP8_API float    fp8_to_f32(uint8_t v, fp8_format fmt);
FP8_API double   fp8_to_f64(uint8_t v, fp8_format fmt);
FP8_API uint16_t fp8_to_f16(uint8_t v, fp8_format fmt);
FP8_API uint16_t fp8_to_bf16(uint8_t v, fp8_format fmt);

/* Array conversions, dispatched to the best CPU path (see fp8/cpu.h); every
 * path gives the same bytes. FP8_ERR_INVALID_ARGUMENT for NULL with n > 0 or
 * an unknown enum value. */
FP8_API fp8_status fp8_encode_f32(uint8_t *dst, const float *src, size_t n, fp8_format fmt, fp8_saturation sat);
FP8_API fp8_status fp8_decode_f32(float *dst, const uint8_t *src, size_t n, fp8_format fmt);
FP8_API fp8_status fp8_encode_bf16(uint8_t *dst, const uint16_t *src, size_t n, fp8_format fmt, fp8_saturation sat);
FP8_API fp8_status fp8_decode_bf16(uint16_t *dst, const uint8_t *src, size_t n, fp8_format fmt);
FP8_API fp8_status fp8_encode_f16(uint8_t *dst, const uint16_t *src, size_t n, fp8_format fmt, fp8_saturation sat);
FP8_API fp8_status fp8_decode_f16(uint16_t *dst, const uint8_t *src, size_t n, fp8_format fmt);

/* Stochastic rounding: each element rounds up with probability equal to its
 * distance from the value below, in units of the FP8 step, truncated to 32
 * bits (so the expected decoded value equals the input within 2^-32 steps).
 * Element i draws its 32 random bits from fp8_sr_random_bits(seed, offset + i)
 * alone: any split of an array into chunks (with matching offsets), any CPU
 * path and the CUDA backend give the same bytes. NaN, infinities and overflow
 * behave as in round-to-nearest. */
FP8_API fp8_status fp8_encode_f32_sr(uint8_t *dst, const float *src, size_t n, fp8_format fmt,
                                     fp8_saturation sat, uint64_t seed, uint64_t offset);
/* The 32 random bits that stochastic rounding uses for element `index`
 * under `seed` (a counter-based hash: no state). */
FP8_API uint32_t fp8_sr_random_bits(uint64_t seed, uint64_t index);

/* E8M0: an unsigned power of two 2^(v - 127), v in 0..254; 0xFF is NaN.
 * fp8_e8m0_from_f32 takes |x| (the sign is ignored), saturates (x = +-Inf and
 * overflow give 0xFE, 2^127), gives 0xFF for NaN and 0x00 (2^-127) for zero
 * and tiny values, as __nv_cvt_float_to_e8m0(x, __NV_SATFINITE, rounding). */
FP8_API uint8_t fp8_e8m0_from_f32(float x, fp8_e8m0_rounding r);
FP8_API float   fp8_e8m0_to_f32(uint8_t v);

FP8_END_DECLS

#endif /* FP8_CONVERT_H */
