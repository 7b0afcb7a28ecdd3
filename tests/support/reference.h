/* Test support: an independent, slow reference for the FP8 formats, written
 * from their published definitions (OCP 8-bit floating point spec v1.0 for
 * E4M3/E5M2; the FNUZ variants as in LLVM's APFloat and ml_dtypes). It shares
 * no code with the library: decoding evaluates the definition in double
 * precision, encoding searches the sorted value table for the nearest value. */
#ifndef FP8_TEST_REFERENCE_H
#define FP8_TEST_REFERENCE_H

#include <stdint.h>
#include <stdio.h>
#include "fp8.h"

/* Decoded value of a code, as a double (NaN, +-inf, -0.0 where they exist). */
double ref_decode(uint8_t code, fp8_format fmt);
/* Nearest-even encoding of x; overflow per `sat`; a NaN gives the format's NaN. */
uint8_t ref_encode(double x, fp8_format fmt, fp8_saturation sat);
/* Largest finite value. */
double ref_max_finite(fp8_format fmt);

/* Bit helpers. */
uint32_t f32_bits(float x);
float f32_from_bits(uint32_t b);
/* Exact FP16 -> double and BF16 -> double, from the definitions. */
double ref_f16_value(uint16_t h);
double ref_bf16_value(uint16_t h);

/* Stride for the exhaustive loops: 1 unless FP8_TEST_STRIDE is set (the
 * sanitizer run samples every Nth input to stay fast). */
uint64_t test_stride(void);

#endif
