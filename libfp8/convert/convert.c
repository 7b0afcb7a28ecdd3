/* libfp8: the public conversion API: argument checks, then the scalar
 * reference for single values and the dispatched kernels for arrays. */
#include "fp8/convert.h"

#include "convert/reference.h"
#include "core/fpenv.h"
#include "core/parallel.h"
#include "cpu/kernels.h"

#define FP8_BAD_FORMAT_CODE 0xFFu

static bool encode_args_valid(fp8_format fmt, fp8_saturation sat)
{
    return fp8_format_valid(fmt) && fp8_saturation_valid(sat);
}

uint8_t fp8_from_f32(float x, fp8_format fmt, fp8_saturation sat)
{
    if (!encode_args_valid(fmt, sat)) return FP8_BAD_FORMAT_CODE;
    return fp8_encode_f32_bits(fp8_f32_bits(x), fp8_format_params_of(fmt), sat, false, 0);
}

uint8_t fp8_from_f64(double x, fp8_format fmt, fp8_saturation sat)
{
    if (!encode_args_valid(fmt, sat)) return FP8_BAD_FORMAT_CODE;
    uint64_t bits;
    memcpy(&bits, &x, sizeof bits);
    return fp8_encode_f64_bits(bits, fp8_format_params_of(fmt), sat);
}

uint8_t fp8_from_f16(uint16_t bits, fp8_format fmt, fp8_saturation sat)
{
    if (!encode_args_valid(fmt, sat)) return FP8_BAD_FORMAT_CODE;
    return fp8_encode_f32_bits(fp8_f16_to_f32_bits(bits), fp8_format_params_of(fmt), sat, false, 0);
}

uint8_t fp8_from_bf16(uint16_t bits, fp8_format fmt, fp8_saturation sat)
{
    if (!encode_args_valid(fmt, sat)) return FP8_BAD_FORMAT_CODE;
    return fp8_encode_f32_bits((uint32_t)bits << 16, fp8_format_params_of(fmt), sat, false, 0);
}

static uint32_t decode_bits(uint8_t v, fp8_format fmt)
{
    return fp8_format_valid(fmt) ? fp8_decode_f32_bits(v, fp8_format_params_of(fmt)) : FP8_F32_CANONICAL_NAN;
}

float fp8_to_f32(uint8_t v, fp8_format fmt) { return fp8_f32_from_bits(decode_bits(v, fmt)); }
double fp8_to_f64(uint8_t v, fp8_format fmt) { return (double)fp8_to_f32(v, fmt); }
uint16_t fp8_to_f16(uint8_t v, fp8_format fmt) { return fp8_f32_bits_to_f16_exact(decode_bits(v, fmt)); }
uint16_t fp8_to_bf16(uint8_t v, fp8_format fmt) { return (uint16_t)(decode_bits(v, fmt) >> 16); }

/* Array entry points: check, then run the active kernel over chunks on
 * threads when the array is large. */
#define FP8_PARALLEL_GRAIN 4096
#define FP8_PARALLEL_MIN ((size_t)1 << 18)

typedef enum { OP_ENCODE_F32, OP_ENCODE_F16, OP_ENCODE_BF16, OP_ENCODE_F32_SR, OP_DECODE_F32, OP_DECODE_F16, OP_DECODE_BF16 } array_op;

typedef struct array_job {
    array_op op;
    void *dst;
    const void *src;
    const fp8_format_params *params;
    fp8_saturation sat;
    uint64_t seed, offset;
    const fp8_cpu_kernels *kernels;
} array_job;

static void run_range(void *ctx, size_t b, size_t e)
{
    const array_job *j = ctx;
    const fp8_cpu_kernels *k = j->kernels;
    const size_t n = e - b;
    fp8_fpenv env;
    fp8_fpenv_enter(&env);
    switch (j->op) {
    case OP_ENCODE_F32: k->encode_f32((uint8_t *)j->dst + b, (const float *)j->src + b, n, j->params, j->sat); break;
    case OP_ENCODE_F16: k->encode_f16((uint8_t *)j->dst + b, (const uint16_t *)j->src + b, n, j->params, j->sat); break;
    case OP_ENCODE_BF16: k->encode_bf16((uint8_t *)j->dst + b, (const uint16_t *)j->src + b, n, j->params, j->sat); break;
    case OP_ENCODE_F32_SR:
        k->encode_f32_sr((uint8_t *)j->dst + b, (const float *)j->src + b, n, j->params, j->sat, j->seed, j->offset + b);
        break;
    case OP_DECODE_F32: k->decode_f32((float *)j->dst + b, (const uint8_t *)j->src + b, n, j->params); break;
    case OP_DECODE_F16: k->decode_f16((uint16_t *)j->dst + b, (const uint8_t *)j->src + b, n, j->params); break;
    case OP_DECODE_BF16: k->decode_bf16((uint16_t *)j->dst + b, (const uint8_t *)j->src + b, n, j->params); break;
    }
    fp8_fpenv_leave(&env);
}

static fp8_status run_array(array_job job, size_t n)
{
    FP8_RETURN_IF(n > 0 && (job.dst == NULL || job.src == NULL), FP8_ERR_INVALID_ARGUMENT);
    job.kernels = fp8_cpu_kernels_active();
    fp8_parallel_for(n, FP8_PARALLEL_GRAIN, FP8_PARALLEL_MIN, run_range, &job);
    return FP8_OK;
}

#define FP8_DEFINE_ENCODE(name, src_type, op_code)                                                     \
    fp8_status name(uint8_t *dst, const src_type *src, size_t n, fp8_format fmt, fp8_saturation sat)  \
    {                                                                                                  \
        FP8_RETURN_IF(!encode_args_valid(fmt, sat), FP8_ERR_INVALID_ARGUMENT);                         \
        return run_array((array_job){.op = op_code, .dst = dst, .src = src,                           \
                                     .params = fp8_format_params_of(fmt), .sat = sat}, n);             \
    }

#define FP8_DEFINE_DECODE(name, dst_type, op_code)                                                     \
    fp8_status name(dst_type *dst, const uint8_t *src, size_t n, fp8_format fmt)                       \
    {                                                                                                  \
        FP8_RETURN_IF(!fp8_format_valid(fmt), FP8_ERR_INVALID_ARGUMENT);                               \
        return run_array((array_job){.op = op_code, .dst = dst, .src = src,                           \
                                     .params = fp8_format_params_of(fmt)}, n);                         \
    }

FP8_DEFINE_ENCODE(fp8_encode_f32, float, OP_ENCODE_F32)
FP8_DEFINE_ENCODE(fp8_encode_f16, uint16_t, OP_ENCODE_F16)
FP8_DEFINE_ENCODE(fp8_encode_bf16, uint16_t, OP_ENCODE_BF16)
FP8_DEFINE_DECODE(fp8_decode_f32, float, OP_DECODE_F32)
FP8_DEFINE_DECODE(fp8_decode_f16, uint16_t, OP_DECODE_F16)
FP8_DEFINE_DECODE(fp8_decode_bf16, uint16_t, OP_DECODE_BF16)

fp8_status fp8_encode_f32_sr(uint8_t *dst, const float *src, size_t n, fp8_format fmt, fp8_saturation sat,
                             uint64_t seed, uint64_t offset)
{
    FP8_RETURN_IF(!encode_args_valid(fmt, sat), FP8_ERR_INVALID_ARGUMENT);
    return run_array((array_job){.op = OP_ENCODE_F32_SR, .dst = dst, .src = src, .params = fp8_format_params_of(fmt),
                                 .sat = sat, .seed = seed, .offset = offset}, n);
}

uint32_t fp8_sr_random_bits(uint64_t seed, uint64_t index)
{
    return fp8_sr_bits(fp8_sr_key_for(seed, (uint32_t)(index >> 32)), (uint32_t)index);
}

/* E8M0 (see fp8/convert.h):  | EEEEEEEE |  value 2^(E - 127), 0xFF NaN.
 * Round to zero keeps the FP32 exponent field. Round up adds one when any
 * mantissa bit is set; FP32 subnormals lie between 2^-149 and 2^-126 and
 * round up to 2^-127 (code 0) or, above it, to 2^-126 (code 1). */
uint8_t fp8_e8m0_from_f32(float x, fp8_e8m0_rounding r)
{
    const uint32_t a = fp8_f32_bits(x) & 0x7FFFFFFFu;
    if (a > 0x7F800000u || (unsigned)r > (unsigned)FP8_E8M0_ROUND_UP) return 0xFF;
    uint32_t e = a >> 23;
    if (r == FP8_E8M0_ROUND_UP && a < 0x7F800000u) {
        if (e == 0)
            e = a > 0x00400000u;
        else
            e += (a & 0x7FFFFFu) != 0;
    }
    return (uint8_t)(e > 0xFEu ? 0xFEu : e);
}

float fp8_e8m0_to_f32(uint8_t v)
{
    if (v == 0xFF) return fp8_f32_from_bits(FP8_F32_CANONICAL_NAN);
    return fp8_f32_from_bits(v == 0 ? 0x00400000u : (uint32_t)v << 23);
}
