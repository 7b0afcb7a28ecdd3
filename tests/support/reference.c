#include "reference.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef enum { KIND_IEEE, KIND_FN, KIND_FNUZ } ref_kind;
typedef struct {
    int ebits, mbits, bias;
    ref_kind kind;
} ref_format;

/* From the definitions: E5M2 reserves its top exponent for Inf/NaN (IEEE);
 * E4M3FN only S.1111.111 for NaN; FNUZ formats only 0x80. */
static const ref_format formats[] = {
    [FP8_E4M3] = {4, 3, 7, KIND_FN},
    [FP8_E5M2] = {5, 2, 15, KIND_IEEE},
    [FP8_E4M3FNUZ] = {4, 3, 8, KIND_FNUZ},
    [FP8_E5M2FNUZ] = {5, 2, 16, KIND_FNUZ},
};

double ref_decode(uint8_t code, fp8_format fmt)
{
    const ref_format *f = &formats[fmt];
    const int s = code >> 7, e = (code >> f->mbits) & ((1 << f->ebits) - 1), m = code & ((1 << f->mbits) - 1);
    const int emax_field = (1 << f->ebits) - 1;
    if (f->kind == KIND_FNUZ && code == 0x80) return NAN;
    if (f->kind == KIND_FN && e == emax_field && m == (1 << f->mbits) - 1) return NAN;
    if (f->kind == KIND_IEEE && e == emax_field) return m == 0 ? (s ? -INFINITY : INFINITY) : NAN;
    double v = e == 0 ? ldexp((double)m, 1 - f->bias - f->mbits) : ldexp(1.0 + ldexp((double)m, -f->mbits), e - f->bias);
    return s ? -v : v;
}

/* The code of the largest finite value, found by search once per format. */
static uint8_t max_code(fp8_format fmt)
{
    static int cached[4] = {-1, -1, -1, -1};
    if (cached[fmt] < 0) {
        uint8_t best = 0;
        for (int c = 0; c < 128; c++)
            if (isfinite(ref_decode((uint8_t)c, fmt)) && ref_decode((uint8_t)c, fmt) > ref_decode(best, fmt)) best = (uint8_t)c;
        cached[fmt] = best;
    }
    return (uint8_t)cached[fmt];
}

double ref_max_finite(fp8_format fmt) { return ref_decode(max_code(fmt), fmt); }

static uint8_t nan_code(fp8_format fmt) { return formats[fmt].kind == KIND_FNUZ ? 0x80 : 0x7F; }

uint8_t ref_encode(double x, fp8_format fmt, fp8_saturation sat)
{
    const ref_format *f = &formats[fmt];
    if (isnan(x)) return nan_code(fmt);
    const int neg = signbit(x) != 0;
    const double a = fabs(x);
    const uint8_t top = max_code(fmt);
    const double max = ref_decode(top, fmt);
    /* The value past max if the exponent range were unbounded: max + its step. */
    const double virtual_next = max + (max - ref_decode((uint8_t)(top - 1), fmt));
    int overflow = 0;
    uint8_t mag = 0;
    if (isinf(a)) {
        overflow = 1;
    } else {
        /* codes 0..top are monotone in value: find the last one <= a */
        int lo = 0, hi = top;
        while (lo < hi) {
            const int mid = (lo + hi + 1) / 2;
            if (ref_decode((uint8_t)mid, fmt) <= a) lo = mid; else hi = mid - 1;
        }
        const double v_lo = ref_decode((uint8_t)lo, fmt);
        const double v_hi = lo == top ? virtual_next : ref_decode((uint8_t)(lo + 1), fmt);
        const double midpoint = (v_lo + v_hi) / 2; /* exact: dyadics of few bits */
        int up;
        if (a == v_lo) up = 0;
        else if (a < midpoint) up = 0;
        else if (a > midpoint) up = 1;
        else up = (lo & 1) != 0; /* tie: to the even code */
        if (up && lo == top) overflow = 1;
        mag = (uint8_t)(lo + up);
    }
    if (overflow) {
        if (sat == FP8_SATFINITE) mag = top;
        else if (f->kind == KIND_FNUZ) return 0x80;
        else if (f->kind == KIND_IEEE) mag = (uint8_t)(0x7F & ~((1 << f->mbits) - 1)); /* infinity */
        else mag = 0x7F; /* NaN */
    }
    if (f->kind == KIND_FNUZ && mag == 0) return 0;
    return (uint8_t)(mag | (neg ? 0x80 : 0));
}

uint32_t f32_bits(float x)
{
    uint32_t b;
    memcpy(&b, &x, 4);
    return b;
}

float f32_from_bits(uint32_t b)
{
    float x;
    memcpy(&x, &b, 4);
    return x;
}

double ref_f16_value(uint16_t h)
{
    const int s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
    double v;
    if (e == 31) v = m ? NAN : INFINITY;
    else if (e == 0) v = ldexp(m, -24);
    else v = ldexp(1024 + m, e - 25);
    return s ? -v : v;
}

double ref_bf16_value(uint16_t h) { return (double)f32_from_bits((uint32_t)h << 16); }

uint64_t test_stride(void)
{
    const char *s = getenv("FP8_TEST_STRIDE");
    const long long v = s ? atoll(s) : 1;
    return v > 0 ? (uint64_t)v : 1;
}
