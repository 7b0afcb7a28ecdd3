/* libfp8 internal: the scale of one block from its amax; the specification
 * every backend follows. Run under the default FP environment (core/fpenv.h):
 * the FP32 divisions must round to nearest. */
#ifndef FP8_QUANTIZE_SCALE_H
#define FP8_QUANTIZE_SCALE_H

#include <math.h>
#include <stdint.h>

#include "convert/reference.h"
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

static inline fp8_scale_rule fp8_scale_rule_of(const fp8_format_params *p, fp8_scale_mode mode, float amax_floor)
{
    fp8_scale_rule r;
    r.mode = mode;
    r.fmax = fp8_f32_from_bits(fp8_decode_f32_bits((uint8_t)p->max_code, p));
    r.emax = (int)(p->max_code >> p->mantissa_bits) - p->bias;
    const float lowest = ldexpf(r.fmax, -126);
    r.amax_min = amax_floor > lowest ? amax_floor : lowest;
    return r;
}

/* amax_bits: the block's largest finite |x| as FP32 bits. */
static inline fp8_block_scale fp8_block_scale_of(uint32_t amax_bits, const fp8_scale_rule *r)
{
    float amax = fp8_f32_from_bits(amax_bits);
    if (!(amax >= r->amax_min)) amax = r->amax_min;
    fp8_block_scale s;
    int ef, ea;
    switch (r->mode) {
    case FP8_SCALE_POW2: {
        /* the largest k with amax * 2^k <= fmax, exactly: fmax/amax = (mf/ma) * 2^(ef-ea), mf, ma in [0.5, 1) */
        const float mf = frexpf(r->fmax, &ef), ma = frexpf(amax, &ea);
        const int k = ef - ea - (mf < ma);
        s.scale = ldexpf(1.0f, k);
        s.scale_inv = ldexpf(1.0f, -k);
        break;
    }
    case FP8_SCALE_POW2_OCP_MX: {
        (void)frexpf(amax, &ea); /* floor(log2 amax) = ea - 1 */
        int e = ea - 1 - r->emax;
        e = e < -127 ? -127 : e > 127 ? 127 : e;
        s.scale = ldexpf(1.0f, -e);
        s.scale_inv = ldexpf(1.0f, e);
        break;
    }
    default:
        s.scale = r->fmax / amax;
        s.scale_inv = amax / r->fmax;
        break;
    }
    return s;
}

#endif
