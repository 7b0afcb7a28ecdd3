/* libfp8 internal: the scale of one block from its amax; the specification
 * every backend follows. Run under the default FP environment (core/fpenv.h):
 * the FP32 divisions must round to nearest. The CUDA backend evaluates
 * fp8_block_scale_of and fp8_pow2f on the device (FP8_HOST_DEVICE, from
 * convert/reference.h). */
#ifndef FP8_QUANTIZE_SCALE_H
#define FP8_QUANTIZE_SCALE_H

#include <stdint.h>

#include "convert/reference.h"
#include "core/shape.h"
#include "fp8/quantize.h"

typedef struct fp8_scale_rule {
    fp8_scale_mode mode;
    float fmax;     /* largest finite value of the element format */
    int emax;       /* its exponent (OCP MX's emax_elem) */
    float amax_min; /* max(amax_floor, fmax * 2^-126): keeps both scales finite and normal */
} fp8_scale_rule;

typedef struct fp8_block_scale {
    float scale, scale_inv;
} fp8_block_scale;

/* 2^k as an FP32, exactly, for k in -149 .. 127. */
FP8_HOST_DEVICE static inline float fp8_pow2f(int k)
{
    return fp8_f32_from_bits(k >= -126 ? (uint32_t)(k + 127) << 23 : UINT32_C(1) << (k + 149));
}

static inline fp8_scale_rule fp8_scale_rule_of(const fp8_format_params *p, fp8_scale_mode mode, float amax_floor)
{
    fp8_scale_rule r;
    r.mode = mode;
    r.fmax = fp8_f32_from_bits(fp8_decode_f32_bits((uint8_t)p->max_code, p));
    r.emax = (int)(p->max_code >> p->mantissa_bits) - p->bias;
    const float lowest = r.fmax * fp8_pow2f(-126); /* exact: fmax is a few-bit normal */
    r.amax_min = amax_floor > lowest ? amax_floor : lowest;
    return r;
}

/* amax_bits: the block's largest finite |x| as FP32 bits. After the floor,
 * amax is a positive normal, so its exponent and mantissa fields give
 * floor(log2 amax) and the power-of-two comparisons exactly. */
FP8_HOST_DEVICE static inline fp8_block_scale fp8_block_scale_of(uint32_t amax_bits, const fp8_scale_rule *r)
{
    float amax = fp8_f32_from_bits(amax_bits);
    if (!(amax >= r->amax_min)) amax = r->amax_min;
    const uint32_t ab = fp8_f32_bits(amax), fb = fp8_f32_bits(r->fmax);
    const int ea = (int)(ab >> 23) - 127, ef = (int)(fb >> 23) - 127; /* floor(log2) of each */
    fp8_block_scale s;
    switch (r->mode) {
    case FP8_SCALE_POW2: {
        /* the largest k with amax * 2^k <= fmax: fmax/amax = (mf/ma) * 2^(ef-ea), mf, ma in [1, 2) */
        const int k = ef - ea - ((fb & 0x7FFFFFu) < (ab & 0x7FFFFFu));
        s.scale = fp8_pow2f(k);
        s.scale_inv = fp8_pow2f(-k);
        break;
    }
    case FP8_SCALE_POW2_OCP_MX: {
        int e = ea - r->emax;
        e = e < -127 ? -127 : e > 127 ? 127 : e;
        s.scale = fp8_pow2f(-e);
        s.scale_inv = fp8_pow2f(e);
        break;
    }
    default:
        s.scale = r->fmax / amax;
        s.scale_inv = amax / r->fmax;
        break;
    }
    return s;
}

/* The checks every backend makes on a quantization config. */
static inline fp8_status fp8_quant_config_check(const fp8_quant_config *cfg)
{
    FP8_RETURN_IF(cfg == NULL || !fp8_format_valid(cfg->format) || !fp8_saturation_valid(cfg->saturation),
                  FP8_ERR_INVALID_ARGUMENT);
    FP8_RETURN_IF((unsigned)cfg->scale_mode > (unsigned)FP8_SCALE_POW2_OCP_MX, FP8_ERR_INVALID_ARGUMENT);
    FP8_RETURN_IF(!(cfg->amax_floor >= 0.0f && cfg->amax_floor <= 3.0e38f), FP8_ERR_INVALID_ARGUMENT);
    return FP8_OK;
}

/* The checks every backend makes on a quantization's or dequantization's
 * arguments: the config, the matrices x (elem_size bytes an element) and q,
 * and, for a non-empty matrix, a scale grid that exists. */
static inline fp8_status fp8_quant_args_check(const fp8_quant_config *cfg, const void *x, size_t elem_size,
                                              size_t rows, size_t cols, size_t ldx, const uint8_t *q, size_t ldq,
                                              const float *scale_inv)
{
    FP8_FORWARD_IF_ERROR(fp8_quant_config_check(cfg));
    FP8_RETURN_IF(!fp8_matrix_valid(x, rows, cols, ldx, elem_size) || !fp8_matrix_valid(q, rows, cols, ldq, 1),
                  FP8_ERR_INVALID_ARGUMENT);
    FP8_RETURN_IF(rows > 0 && cols > 0 &&
                      (scale_inv == NULL || fp8_scale_count(rows, cols, cfg->block_rows, cfg->block_cols) == 0),
                  FP8_ERR_INVALID_ARGUMENT);
    return FP8_OK;
}

#endif
