/* libfp8: the scalar (reference) array kernels. */
#include <string.h>

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

void fp8_scalar_scaled_encode_f32(uint8_t *q, const float *x, size_t n, const float *scale, size_t scale_group,
                                  const fp8_format_params *p, fp8_saturation sat, size_t prefetch_bytes, bool stream,
                                  const fp8_amax_along *along)
{
    (void)prefetch_bytes, (void)stream;
    if (along) fp8_scalar_amax_f32(along->x, along->n, along->group, along->amax, along->nonfinite);
    for (size_t i = 0; i < n; i++)
        q[i] = fp8_encode_f32_bits(fp8_f32_bits(x[i] * scale[i / scale_group]), p, sat, false, 0);
}

void fp8_scalar_scaled_encode_bf16(uint8_t *q, const uint16_t *x, size_t n, const float *scale, size_t scale_group,
                                   const fp8_format_params *p, fp8_saturation sat, size_t prefetch_bytes, bool stream,
                                   const fp8_amax_along *along)
{
    (void)prefetch_bytes, (void)stream;
    if (along) fp8_scalar_amax_bf16(along->x, along->n, along->group, along->amax, along->nonfinite);
    for (size_t i = 0; i < n; i++) {
        const float v = fp8_f32_from_bits((uint32_t)x[i] << 16) * scale[i / scale_group];
        q[i] = fp8_encode_f32_bits(fp8_f32_bits(v), p, sat, false, 0);
    }
}

void fp8_scalar_scaled_encode_f32_sr(uint8_t *q, const float *x, size_t n, float scale, const fp8_format_params *p,
                                     fp8_saturation sat, uint64_t seed, uint64_t first_index)
{
    for (size_t i = 0; i < n; i++) {
        const uint64_t index = first_index + i;
        const uint32_t r = fp8_sr_bits(fp8_sr_key_for(seed, (uint32_t)(index >> 32)), (uint32_t)index);
        q[i] = fp8_encode_f32_bits(fp8_f32_bits(x[i] * scale), p, sat, true, r);
    }
}

void fp8_scalar_scaled_decode_f32(float *x, const uint8_t *q, size_t n, float scale_inv, const fp8_format_params *p,
                                  bool stream)
{
    (void)stream;
    for (size_t i = 0; i < n; i++) x[i] = fp8_f32_from_bits(fp8_decode_f32_bits(q[i], p)) * scale_inv;
}

/* |x| as bits orders like |x| for finite values; NaN and infinity sit at and above 0x7F800000. */
static inline void amax_update(uint32_t bits, uint32_t *amax, bool *nonfinite)
{
    const uint32_t a = bits & 0x7FFFFFFFu;
    if (a >= 0x7F800000u)
        *nonfinite = true;
    else if (a > *amax)
        *amax = a;
}

void fp8_scalar_amax_f32(const float *x, size_t n, size_t group, uint32_t *amax, bool *nonfinite)
{
    for (size_t i = 0, g = 0, left = group; i < n; i++) {
        amax_update(fp8_f32_bits(x[i]), amax + g, nonfinite);
        if (--left == 0) g++, left = group;
    }
}

void fp8_scalar_amax_bf16(const uint16_t *x, size_t n, size_t group, uint32_t *amax, bool *nonfinite)
{
    for (size_t i = 0, g = 0, left = group; i < n; i++) {
        amax_update((uint32_t)x[i] << 16, amax + g, nonfinite);
        if (--left == 0) g++, left = group;
    }
}

void fp8_scalar_dual_amax_f32(const fp8_dual_tile *t, uint32_t *row_amax, uint32_t *col_amax, bool *nonfinite)
{
    for (size_t c = 0; c < t->w; c++) col_amax[c] = 0;
    for (size_t r = 0; r < t->h; r++) {
        row_amax[r] = 0;
        fp8_scalar_amax_f32(t->x + r * t->ldx, t->w, t->w, &row_amax[r], nonfinite);
        fp8_scalar_amax_f32(t->x + r * t->ldx, t->w, 1, col_amax, nonfinite);
    }
}

void fp8_scalar_dual_encode_f32(const fp8_dual_tile *t, const float *row_scale, const float *col_scale,
                                const fp8_format_params *p, fp8_saturation sat, bool finite, size_t prefetch_bytes,
                                bool stream)
{
    (void)finite, (void)prefetch_bytes, (void)stream;
    for (size_t r = 0; r < t->h; r++) {
        const float *x = t->x + r * t->ldx;
        fp8_scalar_scaled_encode_f32(t->q + r * t->ldq, x, t->w, &row_scale[r], t->w, p, sat, 0, false, NULL);
        for (size_t c = 0; c < t->w; c++)
            t->qt[c * t->ldqt + r] = fp8_encode_f32_bits(fp8_f32_bits(x[c] * col_scale[c]), p, sat, false, 0);
    }
}

void fp8_scalar_transpose_u8(uint8_t *dst, size_t ldd, const uint8_t *src, size_t lds, size_t rows, size_t cols)
{
    for (size_t c = 0; c < cols; c++)
        for (size_t r = 0; r < rows; r++) dst[c * ldd + r] = src[r * lds + c];
}

void fp8_scalar_write_piece(uint8_t *d, const uint8_t *src, size_t n, bool stream, const fp8_row_carry *carry,
                            size_t row)
{
    (void)stream, (void)carry, (void)row;
    memcpy(d, src, n);
}

void fp8_scalar_stream_fence(void) {}

const fp8_cpu_kernels fp8_cpu_kernels_scalar = {
    .isa = FP8_CPU_ISA_SCALAR,
    .encode_f32 = fp8_scalar_encode_f32,
    .encode_f16 = fp8_scalar_encode_f16,
    .encode_bf16 = fp8_scalar_encode_bf16,
    .encode_f32_sr = fp8_scalar_encode_f32_sr,
    .decode_f32 = fp8_scalar_decode_f32,
    .decode_f16 = fp8_scalar_decode_f16,
    .decode_bf16 = fp8_scalar_decode_bf16,
    .scaled_encode_f32 = fp8_scalar_scaled_encode_f32,
    .scaled_encode_bf16 = fp8_scalar_scaled_encode_bf16,
    .quant_chunk_min_bytes = (size_t)1 << 20,
    .scaled_encode_f32_sr = fp8_scalar_scaled_encode_f32_sr,
    .scaled_decode_f32 = fp8_scalar_scaled_decode_f32,
    .amax_f32 = fp8_scalar_amax_f32,
    .amax_bf16 = fp8_scalar_amax_bf16,
    .dual_amax_f32 = fp8_scalar_dual_amax_f32,
    .dual_encode_f32 = fp8_scalar_dual_encode_f32,
    .write_piece = fp8_scalar_write_piece,
    .stream_fence = fp8_scalar_stream_fence,
    .transpose_u8 = fp8_scalar_transpose_u8,
};
