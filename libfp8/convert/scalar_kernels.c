/* libfp8: the scalar (reference) array kernels. */
#include "convert/reference.h"
#include "cpu/kernels.h"

void fp8_scalar_encode_f32(uint8_t *dst, const float *src, size_t n, const fp8_format_params *p, fp8_saturation sat)
{
    for (size_t i = 0; i < n; i++) dst[i] = fp8_encode_f32_bits(fp8_f32_bits(src[i]), p, sat, false, 0);
}

void fp8_scalar_encode_f16(uint8_t *dst, const uint16_t *src, size_t n, const fp8_format_params *p,
                           fp8_saturation sat)
{
    for (size_t i = 0; i < n; i++) dst[i] = fp8_encode_f32_bits(fp8_f16_to_f32_bits(src[i]), p, sat, false, 0);
}

void fp8_scalar_encode_bf16(uint8_t *dst, const uint16_t *src, size_t n, const fp8_format_params *p,
                            fp8_saturation sat)
{
    for (size_t i = 0; i < n; i++) dst[i] = fp8_encode_f32_bits((uint32_t)src[i] << 16, p, sat, false, 0);
}

void fp8_scalar_encode_f32_sr(uint8_t *dst, const float *src, size_t n, const fp8_format_params *p,
                              fp8_saturation sat, uint64_t seed, uint64_t offset)
{
    for (size_t i = 0; i < n; i++) {
        const uint64_t index = offset + i;
        const uint32_t r = fp8_sr_bits(fp8_sr_key_for(seed, (uint32_t)(index >> 32)), (uint32_t)index);
        dst[i] = fp8_encode_f32_bits(fp8_f32_bits(src[i]), p, sat, true, r);
    }
}

void fp8_scalar_decode_f32(float *dst, const uint8_t *src, size_t n, const fp8_format_params *p)
{
    for (size_t i = 0; i < n; i++) dst[i] = fp8_f32_from_bits(fp8_decode_f32_bits(src[i], p));
}

void fp8_scalar_decode_f16(uint16_t *dst, const uint8_t *src, size_t n, const fp8_format_params *p)
{
    for (size_t i = 0; i < n; i++) dst[i] = fp8_f32_bits_to_f16_exact(fp8_decode_f32_bits(src[i], p));
}

void fp8_scalar_decode_bf16(uint16_t *dst, const uint8_t *src, size_t n, const fp8_format_params *p)
{
    for (size_t i = 0; i < n; i++) dst[i] = (uint16_t)(fp8_decode_f32_bits(src[i], p) >> 16);
}

const fp8_cpu_kernels fp8_cpu_kernels_scalar = {
    .isa = FP8_CPU_ISA_SCALAR,
    .encode_f32 = fp8_scalar_encode_f32,
    .encode_f16 = fp8_scalar_encode_f16,
    .encode_bf16 = fp8_scalar_encode_bf16,
    .encode_f32_sr = fp8_scalar_encode_f32_sr,
    .decode_f32 = fp8_scalar_decode_f32,
    .decode_f16 = fp8_scalar_decode_f16,
    .decode_bf16 = fp8_scalar_decode_bf16,
};
