/* libfp8: format parameters and the public format-info query. */
#include <string.h>
#include <strings.h>

#include "fp8/format.h"
#include "core/internal.h"

static const char *const format_names[] = {
    [FP8_E4M3] = "e4m3", [FP8_E5M2] = "e5m2", [FP8_E4M3FNUZ] = "e4m3fnuz", [FP8_E5M2FNUZ] = "e5m2fnuz",
};

unsigned fp8_format_count(void) { return (unsigned)(sizeof fp8_format_params_table / sizeof fp8_format_params_table[0]); }

const char *fp8_format_name(fp8_format fmt) { return fp8_format_valid(fmt) ? format_names[fmt] : NULL; }

fp8_status fp8_format_from_name(const char *name, fp8_format *fmt)
{
    FP8_RETURN_IF(name == NULL || fmt == NULL, FP8_ERR_INVALID_ARGUMENT);
    if (strcasecmp(name, "e4m3fn") == 0) {
        *fmt = FP8_E4M3;
        return FP8_OK;
    }
    for (unsigned f = 0; f < fp8_format_count(); f++) {
        if (strcasecmp(name, format_names[f]) == 0) {
            *fmt = (fp8_format)f;
            return FP8_OK;
        }
    }
    return FP8_ERR_INVALID_ARGUMENT;
}

fp8_value_class fp8_classify(uint8_t v, fp8_format fmt)
{
    if (!fp8_format_valid(fmt)) return FP8_CLASS_NAN;
    const fp8_format_params *p = &fp8_format_params_table[fmt];
    const uint32_t mag = v & 0x7Fu;
    if (p->fnuz && v == 0x80) return FP8_CLASS_NAN;
    if (mag >= p->first_special_mag) return mag == p->infinity_mag ? FP8_CLASS_INFINITE : FP8_CLASS_NAN;
    if (mag == 0) return FP8_CLASS_ZERO;
    return (mag >> p->mantissa_bits) == 0 ? FP8_CLASS_SUBNORMAL : FP8_CLASS_NORMAL;
}

const char *fp8_value_class_name(fp8_value_class c)
{
    static const char *const names[] = {"zero", "subnormal", "normal", "infinite", "nan"};
    return (unsigned)c < sizeof names / sizeof names[0] ? names[c] : "unknown";
}

static float pow2f(int e)
{
    float x = 1.0f;
    for (; e > 0; e--) x *= 2.0f;
    for (; e < 0; e++) x *= 0.5f;
    return x;
}

fp8_status fp8_format_get_info(fp8_format fmt, fp8_format_info *info)
{
    FP8_RETURN_IF(!fp8_format_valid(fmt) || info == NULL, FP8_ERR_INVALID_ARGUMENT);
    const fp8_format_params *p = &fp8_format_params_table[fmt];
    const unsigned mbits = p->mantissa_bits;
    const int max_exp = (int)(p->max_code >> mbits) - p->bias;
    const unsigned max_mant = p->max_code & ((1u << mbits) - 1u);

    memset(info, 0, sizeof *info);
    info->name = format_names[fmt];
    info->exponent_bits = 7u - mbits;
    info->mantissa_bits = mbits;
    info->exponent_bias = p->bias;
    info->min_exponent = p->min_exp;
    info->max_exponent = max_exp;
    info->max_finite = pow2f(max_exp) * (1.0f + (float)max_mant / (float)(1u << mbits));
    info->min_normal = pow2f(p->min_exp);
    info->min_subnormal = pow2f(p->min_exp - (int)mbits);
    info->has_infinity = p->infinity_mag <= 0x7F;
    info->has_negative_zero = !p->fnuz;
    info->max_finite_code = (uint8_t)p->max_code;
    info->nan_code = (uint8_t)p->nan_code;
    info->infinity_code = info->has_infinity ? (uint8_t)p->infinity_mag : 0;
    for (unsigned c = 0; c < 256; c++) info->nan_code_count += fp8_classify((uint8_t)c, fmt) == FP8_CLASS_NAN;
    return FP8_OK;
}
