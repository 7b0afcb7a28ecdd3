/* libfp8 internal: the table of CPU kernels, one per instruction set.
 * The scalar table is the reference; an ISA table points every entry it does
 * not optimize at the scalar kernel (BLIS: reference first, then overrides).
 * Kernels get validated arguments and never fail. */
#ifndef FP8_CPU_KERNELS_H
#define FP8_CPU_KERNELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/internal.h"
#include "fp8/cpu.h"

typedef struct fp8_cpu_kernels {
    fp8_cpu_isa isa;
    void (*encode_f32)(uint8_t *dst, const float *src, size_t n, const fp8_format_params *p, fp8_saturation sat);
    void (*encode_f16)(uint8_t *dst, const uint16_t *src, size_t n, const fp8_format_params *p, fp8_saturation sat);
    void (*encode_bf16)(uint8_t *dst, const uint16_t *src, size_t n, const fp8_format_params *p, fp8_saturation sat);
    /* Element i uses fp8_sr_bits for index offset + i. */
    void (*encode_f32_sr)(uint8_t *dst, const float *src, size_t n, const fp8_format_params *p, fp8_saturation sat,
                          uint64_t seed, uint64_t offset);
    void (*decode_f32)(float *dst, const uint8_t *src, size_t n, const fp8_format_params *p);
    void (*decode_f16)(uint16_t *dst, const uint8_t *src, size_t n, const fp8_format_params *p);
    void (*decode_bf16)(uint16_t *dst, const uint8_t *src, size_t n, const fp8_format_params *p);

    /* Quantization. q[i] = encode(x[i] * scale[i * scale_stride]), the product in FP32;
     * scale_stride is 0 (one scale) or 1 (a scale per element). */
    void (*scaled_encode_f32)(uint8_t *q, const float *x, size_t n, const float *scale, size_t scale_stride,
                              const fp8_format_params *p, fp8_saturation sat);
    void (*scaled_encode_bf16)(uint8_t *q, const uint16_t *x, size_t n, const float *scale, size_t scale_stride,
                               const fp8_format_params *p, fp8_saturation sat);
    /* Stochastic rounding of x[i] * scale with the random bits of index first_index + i. */
    void (*scaled_encode_f32_sr)(uint8_t *q, const float *x, size_t n, float scale, const fp8_format_params *p,
                                 fp8_saturation sat, uint64_t seed, uint64_t first_index);
    /* x[i] = decode(q[i]) * scale_inv, the product in FP32. */
    void (*scaled_decode_f32)(float *x, const uint8_t *q, size_t n, float scale_inv, const fp8_format_params *p);
    /* The largest finite |x[i]| as FP32 bits (0 if none); sets *nonfinite when an element is NaN or
     * infinite. With col_amax, also col_amax[i] = max(col_amax[i], that element's finite |x| bits). */
    uint32_t (*amax_f32)(const float *x, size_t n, uint32_t *col_amax, bool *nonfinite);
    uint32_t (*amax_bf16)(const uint16_t *x, size_t n, bool *nonfinite);
} fp8_cpu_kernels;

extern const fp8_cpu_kernels fp8_cpu_kernels_scalar;
#if defined(FP8_HAVE_AVX2_KERNELS)
extern const fp8_cpu_kernels fp8_cpu_kernels_avx2;
#endif

/* The kernels of the active ISA (see fp8/cpu.h). */
const fp8_cpu_kernels *fp8_cpu_kernels_active(void);

/* The scalar kernels by name, for ISA tables to fall back on and to finish tails. */
void fp8_scalar_encode_f32(uint8_t *dst, const float *src, size_t n, const fp8_format_params *p, fp8_saturation sat);
void fp8_scalar_encode_f16(uint8_t *dst, const uint16_t *src, size_t n, const fp8_format_params *p,
                           fp8_saturation sat);
void fp8_scalar_encode_bf16(uint8_t *dst, const uint16_t *src, size_t n, const fp8_format_params *p,
                            fp8_saturation sat);
void fp8_scalar_encode_f32_sr(uint8_t *dst, const float *src, size_t n, const fp8_format_params *p,
                              fp8_saturation sat, uint64_t seed, uint64_t offset);
void fp8_scalar_decode_f32(float *dst, const uint8_t *src, size_t n, const fp8_format_params *p);
void fp8_scalar_decode_f16(uint16_t *dst, const uint8_t *src, size_t n, const fp8_format_params *p);
void fp8_scalar_decode_bf16(uint16_t *dst, const uint8_t *src, size_t n, const fp8_format_params *p);
void fp8_scalar_scaled_encode_f32(uint8_t *q, const float *x, size_t n, const float *scale, size_t scale_stride,
                                  const fp8_format_params *p, fp8_saturation sat);
void fp8_scalar_scaled_encode_bf16(uint8_t *q, const uint16_t *x, size_t n, const float *scale, size_t scale_stride,
                                   const fp8_format_params *p, fp8_saturation sat);
void fp8_scalar_scaled_encode_f32_sr(uint8_t *q, const float *x, size_t n, float scale, const fp8_format_params *p,
                                     fp8_saturation sat, uint64_t seed, uint64_t first_index);
void fp8_scalar_scaled_decode_f32(float *x, const uint8_t *q, size_t n, float scale_inv, const fp8_format_params *p);
uint32_t fp8_scalar_amax_f32(const float *x, size_t n, uint32_t *col_amax, bool *nonfinite);
uint32_t fp8_scalar_amax_bf16(const uint16_t *x, size_t n, bool *nonfinite);

#endif /* FP8_CPU_KERNELS_H */
