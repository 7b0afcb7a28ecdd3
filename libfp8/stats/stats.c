/* libfp8: one-pass, mergeable error statistics (see fp8/stats.h). Every
 * element goes through one step, add_pair(); the entry points differ only in
 * how they read a pair and classify the approximation. */
#include "fp8/stats.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "core/fpenv.h"
#include "core/internal.h"

/* What the approximation's storage says about y. */
typedef enum approx_kind { KIND_ZERO, KIND_SUBNORMAL, KIND_NORMAL, KIND_MAX_FINITE, KIND_NONFINITE } approx_kind;

typedef enum pair_storage { STORE_F32, STORE_F64, STORE_BF16, STORE_FP8 } pair_storage;

typedef struct pair_source {
    const void *ref, *approx;
    const uint8_t *codes;
    uint8_t code_kind[256]; /* STORE_FP8: approx_kind of every code */
    /* A value at the largest finite magnitude m saturated if |x| > |y| * this:
       1 + ulp(m) / (2 m), the midpoint above m, past which rounding overflows. */
    double overflow_ratio;
} pair_source;

/* Elements are accumulated in blocks of this many into a local accumulator
 * (whose fields the compiler keeps in registers), merged into the caller's
 * after each block: the FP64 sums' rounding grows with the number of blocks,
 * not of elements. */
#define STATS_BLOCK 4096

#define BF16_MAX_FINITE 0x1.FEp127 /* 0x7F7F */

/* 1 + ulp(max) / (2 max) for a format with `mantissa_bits` stored bits. */
static double overflow_ratio_of(double max_finite, int max_exponent, int mantissa_bits)
{
    return 1.0 + ldexp(1.0, max_exponent - mantissa_bits - 1) / max_finite;
}

/* Classification of a value by its storage format's limits; y is exactly
 * representable there (an FP32, FP64 or BF16 value). */
static inline approx_kind kind_of_value(double y, double min_normal, double max_finite)
{
    const double a = fabs(y);
    if (!(a <= max_finite)) return KIND_NONFINITE;
    if (a == max_finite) return KIND_MAX_FINITE;
    if (a >= min_normal) return KIND_NORMAL;
    return a == 0 ? KIND_ZERO : KIND_SUBNORMAL;
}

static inline void load_pair(const pair_source *s, pair_storage storage, size_t i, double *x, double *y,
                             approx_kind *kind)
{
    switch (storage) {
    case STORE_F32:
        *x = ((const float *)s->ref)[i];
        *y = ((const float *)s->approx)[i];
        *kind = kind_of_value(*y, FLT_MIN, FLT_MAX);
        break;
    case STORE_F64:
        *x = ((const double *)s->ref)[i];
        *y = ((const double *)s->approx)[i];
        *kind = kind_of_value(*y, DBL_MIN, DBL_MAX);
        break;
    case STORE_BF16: {
        /* BF16 is the top half of an FP32: | S | EEEEEEEE | MMMMMMM | */
        const uint32_t bits = (uint32_t)((const uint16_t *)s->approx)[i] << 16;
        float yf;
        memcpy(&yf, &bits, sizeof yf);
        *x = ((const float *)s->ref)[i];
        *y = yf;
        *kind = kind_of_value(*y, FLT_MIN, BF16_MAX_FINITE);
        break;
    }
    case STORE_FP8:
    default:
        *x = ((const float *)s->ref)[i];
        *y = ((const float *)s->approx)[i];
        *kind = (approx_kind)s->code_kind[s->codes[i]];
        break;
    }
}

/* floor(log2 a) for finite a > 0, from the FP64 exponent field. */
static inline int floor_log2(double a)
{
    uint64_t bits;
    memcpy(&bits, &a, sizeof bits);
    const int biased = (int)(bits >> 52);
    return biased != 0 ? biased - 1023 : ilogb(a); /* FP64 subnormals: only from add_f64 */
}

static inline void add_pair(fp8_error_accum *acc, double x, double y, approx_kind kind, double overflow_ratio)
{
    if (!isfinite(x)) {
        if (isnan(x))
            acc->nan_count++;
        else
            acc->inf_count++;
        return;
    }
    const double ax = fabs(x);
    if (ax > acc->amax) acc->amax = ax;
    if (ax != 0) {
        acc->nonzero_count++;
        if (ax < acc->amin_nonzero) acc->amin_nonzero = ax;
        int bin = floor_log2(ax) - FP8_ERROR_HIST_MIN_LOG2;
        bin = bin < 0 ? 0 : bin >= FP8_ERROR_HIST_BINS ? FP8_ERROR_HIST_BINS - 1 : bin;
        acc->log2_hist[bin]++;
    }
    if (!isfinite(y)) {
        if (isnan(y))
            acc->approx_nan_count++;
        else
            acc->approx_inf_count++;
        acc->saturation_count++;
        return;
    }
    acc->finite_count++;
    const double err = x - y, abs_err = fabs(err);
    acc->sum_ref_sq += x * x;
    acc->sum_approx_sq += y * y;
    acc->sum_product += x * y;
    acc->sum_err_sq += err * err;
    if (abs_err > acc->max_abs_err) acc->max_abs_err = abs_err;
    if (ax != 0) {
        /* the division only when the maximum may move */
        if (abs_err > acc->max_rel_err * ax) acc->max_rel_err = fmax(acc->max_rel_err, abs_err / ax);
        if (y == 0) acc->underflow_count++;
    }
    if (kind == KIND_SUBNORMAL)
        acc->subnormal_count++;
    else if (kind == KIND_MAX_FINITE && ax > fabs(y) * overflow_ratio)
        acc->saturation_count++;
}

static void merge_into(fp8_error_accum *into, const fp8_error_accum *from);

/* Inlined into each entry point with a constant storage, so that each gets
 * a loop of its own. */
static inline __attribute__((always_inline)) void accumulate(fp8_error_accum *acc, const pair_source *src,
                                                             pair_storage storage, size_t n)
{
    fp8_fpenv env;
    fp8_fpenv_enter(&env);
    for (size_t begin = 0; begin < n; begin += STATS_BLOCK) {
        const size_t end = n - begin < STATS_BLOCK ? n : begin + STATS_BLOCK;
        fp8_error_accum block;
        fp8_error_accum_init(&block);
        block.count = end - begin;
        for (size_t i = begin; i < end; i++) {
            double x, y;
            approx_kind kind;
            load_pair(src, storage, i, &x, &y, &kind);
            add_pair(&block, x, y, kind, src->overflow_ratio);
        }
        merge_into(acc, &block);
    }
    fp8_fpenv_leave(&env);
}

fp8_status fp8_error_accum_init(fp8_error_accum *acc)
{
    FP8_RETURN_IF(!acc, FP8_ERR_INVALID_ARGUMENT);
    memset(acc, 0, sizeof *acc);
    acc->amin_nonzero = INFINITY;
    return FP8_OK;
}

static bool add_args_valid(const fp8_error_accum *acc, const void *ref, const void *approx, size_t n)
{
    return acc && (n == 0 || (ref && approx));
}

fp8_status fp8_error_accum_add_f32(fp8_error_accum *acc, const float *ref, const float *approx, size_t n)
{
    FP8_RETURN_IF(!add_args_valid(acc, ref, approx, n), FP8_ERR_INVALID_ARGUMENT);
    const pair_source src = {.ref = ref, .approx = approx,
                             .overflow_ratio = overflow_ratio_of(FLT_MAX, FLT_MAX_EXP - 1, FLT_MANT_DIG - 1)};
    accumulate(acc, &src, STORE_F32, n);
    return FP8_OK;
}

fp8_status fp8_error_accum_add_f64(fp8_error_accum *acc, const double *ref, const double *approx, size_t n)
{
    FP8_RETURN_IF(!add_args_valid(acc, ref, approx, n), FP8_ERR_INVALID_ARGUMENT);
    const pair_source src = {.ref = ref, .approx = approx,
                             .overflow_ratio = overflow_ratio_of(DBL_MAX, DBL_MAX_EXP - 1, DBL_MANT_DIG - 1)};
    accumulate(acc, &src, STORE_F64, n);
    return FP8_OK;
}

fp8_status fp8_error_accum_add_bf16(fp8_error_accum *acc, const float *ref, const uint16_t *approx, size_t n)
{
    FP8_RETURN_IF(!add_args_valid(acc, ref, approx, n), FP8_ERR_INVALID_ARGUMENT);
    const pair_source src = {.ref = ref, .approx = approx,
                             .overflow_ratio = overflow_ratio_of(BF16_MAX_FINITE, 127, 7)};
    accumulate(acc, &src, STORE_BF16, n);
    return FP8_OK;
}

fp8_status fp8_error_accum_add_fp8(fp8_error_accum *acc, const float *ref, const uint8_t *codes, fp8_format fmt,
                                   const float *approx, size_t n)
{
    fp8_format_info info;
    FP8_RETURN_IF(!add_args_valid(acc, ref, approx, n) || (n && !codes) || fp8_format_get_info(fmt, &info) != FP8_OK,
                  FP8_ERR_INVALID_ARGUMENT);
    static const approx_kind kind_of_class[] = {
        [FP8_CLASS_ZERO] = KIND_ZERO,         [FP8_CLASS_SUBNORMAL] = KIND_SUBNORMAL,
        [FP8_CLASS_NORMAL] = KIND_NORMAL,     [FP8_CLASS_INFINITE] = KIND_NONFINITE,
        [FP8_CLASS_NAN] = KIND_NONFINITE,
    };
    pair_source src = {.ref = ref, .approx = approx, .codes = codes,
                       .overflow_ratio = overflow_ratio_of(info.max_finite, info.max_exponent, (int)info.mantissa_bits)};
    for (unsigned c = 0; c < 256; c++) {
        const fp8_value_class cls = fp8_classify((uint8_t)c, fmt);
        const bool is_max = cls == FP8_CLASS_NORMAL && (c & 0x7Fu) == info.max_finite_code;
        src.code_kind[c] = (uint8_t)(is_max ? KIND_MAX_FINITE : kind_of_class[cls]);
    }
    accumulate(acc, &src, STORE_FP8, n);
    return FP8_OK;
}

static void merge_into(fp8_error_accum *into, const fp8_error_accum *from)
{
    const fp8_error_accum b = *from; /* from may be into */
    into->count += b.count;
    into->finite_count += b.finite_count;
    into->nonzero_count += b.nonzero_count;
    into->nan_count += b.nan_count;
    into->inf_count += b.inf_count;
    into->approx_nan_count += b.approx_nan_count;
    into->approx_inf_count += b.approx_inf_count;
    into->underflow_count += b.underflow_count;
    into->saturation_count += b.saturation_count;
    into->subnormal_count += b.subnormal_count;
    into->sum_ref_sq += b.sum_ref_sq;
    into->sum_approx_sq += b.sum_approx_sq;
    into->sum_product += b.sum_product;
    into->sum_err_sq += b.sum_err_sq;
    into->max_abs_err = fmax(into->max_abs_err, b.max_abs_err);
    into->max_rel_err = fmax(into->max_rel_err, b.max_rel_err);
    into->amax = fmax(into->amax, b.amax);
    into->amin_nonzero = fmin(into->amin_nonzero, b.amin_nonzero);
    for (int i = 0; i < FP8_ERROR_HIST_BINS; i++) into->log2_hist[i] += b.log2_hist[i];
}

fp8_status fp8_error_accum_merge(fp8_error_accum *into, const fp8_error_accum *from)
{
    FP8_RETURN_IF(!into || !from, FP8_ERR_INVALID_ARGUMENT);
    merge_into(into, from);
    return FP8_OK;
}

/* num / den where 0 / 0 is a fraction of an empty population: 0. */
static double fraction(uint64_t num, uint64_t den) { return den ? (double)num / (double)den : 0.0; }

fp8_status fp8_error_accum_finalize(const fp8_error_accum *acc, fp8_error_stats *out)
{
    FP8_RETURN_IF(!acc || !out, FP8_ERR_INVALID_ARGUMENT);
    fp8_fpenv env;
    fp8_fpenv_enter(&env);
    const double signal = acc->sum_ref_sq, noise = acc->sum_err_sq;
    const uint64_t finite_ref = acc->count - acc->nan_count - acc->inf_count;
    fp8_error_stats s = {
        .count = acc->count,
        .finite_count = acc->finite_count,
        .nonzero_count = acc->nonzero_count,
        .nan_count = acc->nan_count,
        .inf_count = acc->inf_count,
        .approx_nan_count = acc->approx_nan_count,
        .approx_inf_count = acc->approx_inf_count,
        /* IEEE division gives the documented edge values: x/0 = inf, 0/0 = NaN */
        .mse = acc->finite_count ? noise / (double)acc->finite_count : NAN,
        .sqnr_db = 10.0 * log10(signal / noise),
        .rel_l2 = sqrt(noise / signal),
        .cosine = acc->sum_product / (sqrt(signal) * sqrt(acc->sum_approx_sq)),
        .calc_diff = noise / (signal + acc->sum_approx_sq),
        .max_abs_err = acc->max_abs_err,
        .max_rel_err = acc->max_rel_err,
        .underflow_fraction = fraction(acc->underflow_count, acc->nonzero_count),
        .saturation_fraction = fraction(acc->saturation_count, finite_ref),
        .subnormal_fraction = fraction(acc->subnormal_count, finite_ref),
        .amax = acc->amax,
        .amin_nonzero = acc->nonzero_count ? acc->amin_nonzero : 0.0,
        .dynamic_range_binades = acc->nonzero_count ? log2(acc->amax) - log2(acc->amin_nonzero) : 0.0,
    };
    fp8_fpenv_leave(&env);
    *out = s;
    return FP8_OK;
}
