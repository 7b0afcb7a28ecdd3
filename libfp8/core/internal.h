/* libfp8 internal: error-path macros and the per-format parameters that
 * every conversion path (scalar, AVX2, CUDA) is driven by. */
#ifndef FP8_CORE_INTERNAL_H
#define FP8_CORE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "fp8/format.h"
#include "fp8/status.h"

/* Keep error paths one line long without hiding them (zstd's RETURN_ERROR_IF). */
#define FP8_RETURN_IF(cond, status) \
    do {                            \
        if (cond) return (status);  \
    } while (0)
#define FP8_FORWARD_IF_ERROR(expr)                \
    do {                                          \
        fp8_status fp8_forward_status_ = (expr);  \
        if (fp8_forward_status_ != FP8_OK)        \
            return fp8_forward_status_;           \
    } while (0)

/* Everything the conversions need to know about a format.
 *
 *   code = | S | E...E | M...M |   magnitude code = code & 0x7F
 *
 * Encoding: a finite magnitude rounds to a magnitude code; codes above
 * max_code overflow. Decoding: FNUZ's 0x80 is NaN; in OCP formats a
 * magnitude >= first_special_mag is infinity (== infinity_mag) or NaN. */
typedef struct fp8_format_params {
    fp8_format format;
    unsigned mantissa_bits;
    int bias;
    int min_exp;               /* 1 - bias: unbiased exponent of the smallest normal */
    uint32_t max_code;         /* largest finite magnitude code */
    uint32_t nan_code;         /* NaN from an FP32/FP16/BF16 NaN input */
    uint32_t f64_nan_base;     /* OCP NaN from FP64, before sign and payload (cuda_fp8.h) */
    uint32_t first_special_mag;/* 0x80 (none) for FNUZ */
    uint32_t infinity_mag;     /* 0x7C for E5M2, else 0x100 (none) */
    bool fnuz;                 /* no negative zero; 0x80 is the only NaN */
} fp8_format_params;

static inline bool fp8_format_valid(fp8_format fmt) { return (unsigned)fmt <= (unsigned)FP8_E5M2FNUZ; }
static inline bool fp8_saturation_valid(fp8_saturation sat) { return (unsigned)sat <= (unsigned)FP8_NOSAT; }

/* In the header, so that kernels specialized per format see constants.
 * With FP8_NOSAT an overflow gives max_code + 1: the NaN (E4M3 0x7F, FNUZ
 * 0x80) or infinity (E5M2 0x7C) just above the largest finite code. */
static const fp8_format_params fp8_format_params_table[] = {
    /*                              mbits bias min_exp max  nan   f64nan special inf    fnuz */
    [FP8_E4M3] = {FP8_E4M3,             3,   7,   -6,  0x7E, 0x7F, 0x7F,  0x7F,  0x100, false},
    [FP8_E5M2] = {FP8_E5M2,             2,   15,  -14, 0x7B, 0x7F, 0x7E,  0x7C,  0x7C,  false},
    [FP8_E4M3FNUZ] = {FP8_E4M3FNUZ,     3,   8,   -7,  0x7F, 0x80, 0x80,  0x80,  0x100, true},
    [FP8_E5M2FNUZ] = {FP8_E5M2FNUZ,     2,   16,  -15, 0x7F, 0x80, 0x80,  0x80,  0x100, true},
};

/* Parameters of a valid format. */
static inline const fp8_format_params *fp8_format_params_of(fp8_format fmt) { return &fp8_format_params_table[fmt]; }

/* Overflow detection on size products (rows * cols * element size). */
static inline bool fp8_mul_overflows(size_t a, size_t b, size_t *out)
{
    return __builtin_mul_overflow(a, b, out);
}

#endif /* FP8_CORE_INTERNAL_H */
