/* Test oracle: NVIDIA's cuda_fp8.h host conversions, compiled as host C++.
 * Formats: 0 = E4M3, 1 = E5M2 (the only two cuda_fp8.h knows).
 * Built only where the CUDA toolkit's headers are found (FP8_HAVE_CUDA_ORACLE). */
#ifndef FP8_TEST_CUDA_ORACLE_H
#define FP8_TEST_CUDA_ORACLE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

uint8_t cuda_oracle_from_f64(double x, int e5m2, int nosat);
uint8_t cuda_oracle_from_f16(uint16_t h, int e5m2, int nosat);
uint8_t cuda_oracle_from_bf16(uint16_t h, int e5m2, int nosat);
uint16_t cuda_oracle_to_f16(uint8_t v, int e5m2);
/* dst[i] = __nv_cvt_float_to_fp8(bits(first + i)) for i < n. */
void cuda_oracle_from_f32_range(uint8_t *dst, uint32_t first_bits, size_t n, int e5m2, int nosat);
/* dst[i] = __nv_cvt_float_to_fp8(src[i]) for i < n: the plain loop users would write. */
void cuda_oracle_from_f32_array(uint8_t *dst, const float *src, size_t n, int e5m2, int nosat);
/* dst[i] = __nv_cvt_float_to_e8m0(bits(first + i), __NV_SATFINITE, round_up ? cudaRoundPosInf : cudaRoundZero). */
void cuda_oracle_e8m0_range(uint8_t *dst, uint32_t first_bits, size_t n, int round_up);

#ifdef __cplusplus
}
#endif

#endif
