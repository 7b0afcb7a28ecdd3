/* libfp8 internal: the table of CPU kernels, one per instruction set.
 * The scalar table is the reference; an ISA table points every entry it does
 * not optimize at the scalar kernel (BLIS: reference first, then overrides).
 * Kernels get validated arguments and never fail. */
#ifndef FP8_CPU_KERNELS_H
#define FP8_CPU_KERNELS_H

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

#endif /* FP8_CPU_KERNELS_H */
