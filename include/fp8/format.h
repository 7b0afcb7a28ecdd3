/* libfp8: the FP8 formats and their properties. */
#ifndef FP8_FORMAT_H
#define FP8_FORMAT_H

#include <stdint.h>
#include "fp8/api.h"
#include "fp8/status.h"

FP8_BEGIN_DECLS

typedef enum fp8_format {
    FP8_E4M3 = 0,     /* OCP E4M3FN: bias 7, max 448, no infinity, NaN = S.1111.111 */
    FP8_E5M2 = 1,     /* OCP E5M2: bias 15, max 57344, IEEE-like infinities and NaNs */
    FP8_E4M3FNUZ = 2, /* bias 8, max 240, one NaN at 0x80, no negative zero */
    FP8_E5M2FNUZ = 3  /* bias 16, max 57344, one NaN at 0x80, no negative zero */
} fp8_format;

/* What happens to finite values beyond the largest finite value, and to infinities. */
typedef enum fp8_saturation {
    FP8_SATFINITE = 0, /* clamp to +-max (cuda_fp8.h __NV_SATFINITE) */
    FP8_NOSAT = 1      /* NaN where the format has no infinity, else infinity (__NV_NOSAT) */
} fp8_saturation;

/* Rounding of an E8M0 (power of two) block scale. */
typedef enum fp8_e8m0_rounding {
    FP8_E8M0_ROUND_ZERO = 0, /* 2^floor(log2|x|) (cudaRoundZero) */
    FP8_E8M0_ROUND_UP = 1    /* 2^ceil(log2|x|) (cudaRoundPosInf) */
} fp8_e8m0_rounding;

typedef enum fp8_value_class {
    FP8_CLASS_ZERO = 0,
    FP8_CLASS_SUBNORMAL = 1,
    FP8_CLASS_NORMAL = 2,
    FP8_CLASS_INFINITE = 3,
    FP8_CLASS_NAN = 4
} fp8_value_class;

/* The properties of one format, filled by fp8_format_get_info(). */
typedef struct fp8_format_info {
    const char *name;          /* "e4m3", "e5m2", "e4m3fnuz", "e5m2fnuz" */
    unsigned exponent_bits;
    unsigned mantissa_bits;    /* explicit (stored) mantissa bits */
    int exponent_bias;
    int min_exponent;          /* unbiased exponent of the smallest normal */
    int max_exponent;          /* unbiased exponent of the largest finite value */
    float max_finite;          /* 448, 57344, 240, 57344 */
    float min_normal;
    float min_subnormal;
    int has_infinity;          /* E5M2 only */
    int has_negative_zero;     /* OCP formats only */
    uint8_t max_finite_code;   /* code of +max_finite */
    uint8_t nan_code;          /* the NaN that conversions produce */
    uint8_t infinity_code;     /* code of +infinity; 0 where the format has none */
    unsigned nan_code_count;   /* how many of the 256 codes are NaN */
} fp8_format_info;

/* Number of formats; valid fp8_format values are 0 .. fp8_format_count() - 1. */
FP8_API unsigned fp8_format_count(void);
/* Fills *info. FP8_ERR_INVALID_ARGUMENT for an unknown format or NULL info. Thread-safe. */
FP8_API fp8_status fp8_format_get_info(fp8_format fmt, fp8_format_info *info);
/* The lower-case name ("e4m3"), or NULL for an unknown format. */
FP8_API const char *fp8_format_name(fp8_format fmt);
/* Parses a name, case-insensitively; "e4m3fn" is accepted for FP8_E4M3. */
FP8_API fp8_status fp8_format_from_name(const char *name, fp8_format *fmt);
/* The class of one code. An unknown format classifies everything as NaN. */
FP8_API fp8_value_class fp8_classify(uint8_t v, fp8_format fmt);
/* Name of a value class ("zero", "subnormal", "normal", "infinite", "nan"). */
FP8_API const char *fp8_value_class_name(fp8_value_class c);

FP8_END_DECLS

#endif /* FP8_FORMAT_H */
