/* libfp8: error statistics of an approximation against its reference, in one
 * pass, accumulated in FP64 and mergeable across chunks, so training code can
 * log the same figures the tools print (see docs/tools.md).
 *
 *     fp8_error_accum acc;
 *     fp8_error_accum_init(&acc);
 *     for each chunk: fp8_error_accum_add_fp8(&acc, x, q, FP8_E4M3, xq, n);
 *     fp8_error_stats s;
 *     fp8_error_accum_finalize(&acc, &s);       (s.sqnr_db, s.calc_diff, ...)
 *
 * Chunks may be accumulated on different threads into separate accumulators
 * and merged afterwards. Counts, extremes and the histogram of a merged
 * accumulator equal those of a single pass exactly; the FP64 sums differ by
 * rounding only (a few ulps), so merging in a fixed order gives the same
 * figures run to run.
 *
 * Which elements count where, with x the reference and y the approximation:
 *   - x NaN or infinite: counted in nan_count / inf_count, nothing else
 *     (these are the input's own specials, not an error of the approximation);
 *   - x finite, y NaN or infinite: counted in approx_nan_count /
 *     approx_inf_count and as saturated, left out of the error sums;
 *   - both finite: the error figures (MSE, SQNR, ...) are over these pairs.
 * The histogram, amax and dynamic range describe the finite x. The FP64 sums
 * hold magnitudes up to about 2^511 (FP32 data always fits).
 *
 * The add functions differ in how the approximation was stored, which is what
 * "subnormal" and "saturated" mean for it:
 *   - subnormal: y is a non-zero subnormal of its storage format (for FP8, the
 *     code is subnormal, whatever the block scale);
 *   - saturated: x lay beyond the range, so that rounding it overflowed: x
 *     is finite and y is NaN or infinite, or y is the storage format's
 *     largest finite magnitude m (for FP8, the code is +-max) and
 *     |x| > |y| (1 + ulp(m) / (2 m)), i.e. beyond the midpoint above m
 *     (464 for E4M3 at scale 1), where FP8_NOSAT gives NaN or Inf and
 *     FP8_SATFINITE clamps. A value that merely rounds down to m is not
 *     saturated.
 *
 * Results do not depend on the caller's floating-point environment.
 * Thread safety: every function is reentrant; one accumulator must not be
 * used by two threads at once. Ownership: the caller owns every buffer; no
 * function keeps a pointer. On FP8_ERR_INVALID_ARGUMENT nothing is written. */
#ifndef FP8_STATS_H
#define FP8_STATS_H

#include <stddef.h>
#include <stdint.h>
#include "fp8/api.h"
#include "fp8/format.h"
#include "fp8/status.h"

FP8_BEGIN_DECLS

/* The log2|x| histogram has one bin per binade: bin i counts the finite,
 * non-zero references with floor(log2 |x|) == FP8_ERROR_HIST_MIN_LOG2 + i,
 * i.e. 2^-149 (the smallest FP32 subnormal) up to [2^127, 2^128). FP64
 * references beyond that range fall into the first or the last bin. */
#define FP8_ERROR_HIST_MIN_LOG2 (-149)
#define FP8_ERROR_HIST_BINS 277

/* The running state. Read any field; change them only through the functions
 * below. Plain data: copy it, keep it on the stack, write it to a file. */
typedef struct fp8_error_accum {
    uint64_t count;            /* pairs seen */
    uint64_t finite_count;     /* pairs with x and y finite: the error figures' population */
    uint64_t nonzero_count;    /* finite non-zero x */
    uint64_t nan_count;        /* x NaN */
    uint64_t inf_count;        /* x infinite */
    uint64_t approx_nan_count; /* x finite, y NaN */
    uint64_t approx_inf_count; /* x finite, y infinite */
    uint64_t underflow_count;  /* x finite non-zero, y zero */
    uint64_t saturation_count; /* x finite, y clipped by the range (see above) */
    uint64_t subnormal_count;  /* x finite, y a non-zero subnormal of its format */
    double sum_ref_sq;         /* sum x^2 over finite pairs */
    double sum_approx_sq;      /* sum y^2 */
    double sum_product;        /* sum x y */
    double sum_err_sq;         /* sum (x - y)^2 */
    double max_abs_err;        /* max |x - y| */
    double max_rel_err;        /* max |x - y| / |x| over x != 0 */
    double amax;               /* max |x| over finite x */
    double amin_nonzero;       /* min |x| over finite non-zero x; +inf while there is none */
    uint64_t log2_hist[FP8_ERROR_HIST_BINS];
} fp8_error_accum;

/* The figures, from fp8_error_accum_finalize. A ratio whose definition is
 * 0/0 (no finite pairs, an all-zero reference) is NaN; a fraction whose
 * population is empty is 0. */
typedef struct fp8_error_stats {
    uint64_t count, finite_count, nonzero_count;
    uint64_t nan_count, inf_count, approx_nan_count, approx_inf_count;
    double mse;                 /* sum (x - y)^2 / finite_count */
    double sqnr_db;             /* 10 log10(sum x^2 / sum (x - y)^2); +inf when y == x */
    double rel_l2;              /* sqrt(sum (x - y)^2 / sum x^2) */
    double cosine;              /* sum x y / sqrt(sum x^2 * sum y^2) */
    double calc_diff;           /* DeepGEMM's 1 - 2 sum x y / (sum x^2 + sum y^2), computed as the
                                   equal sum (x - y)^2 / (sum x^2 + sum y^2), which keeps its digits */
    double max_abs_err;
    double max_rel_err;
    double underflow_fraction;  /* underflow_count / nonzero_count */
    double saturation_fraction; /* saturation_count / finite x */
    double subnormal_fraction;  /* subnormal_count / finite x */
    double amax;                /* 0 when there is no finite x */
    double amin_nonzero;        /* 0 when there is no finite non-zero x */
    double dynamic_range_binades; /* log2(amax / amin_nonzero); 0 without non-zero x */
} fp8_error_stats;

/* Empties *acc. FP8_ERR_INVALID_ARGUMENT for NULL. */
FP8_API fp8_status fp8_error_accum_init(fp8_error_accum *acc);

/* Adds n pairs (ref[i], approx[i]) where the approximation is an FP32 array. */
FP8_API fp8_status fp8_error_accum_add_f32(fp8_error_accum *acc, const float *ref, const float *approx, size_t n);
/* The same in FP64 (a GEMM against an FP64 truth): subnormal and saturated refer to FP64. */
FP8_API fp8_status fp8_error_accum_add_f64(fp8_error_accum *acc, const double *ref, const double *approx,
                                           size_t n);
/* The approximation is BF16 (raw bits, as in fp8/convert.h). */
FP8_API fp8_status fp8_error_accum_add_bf16(fp8_error_accum *acc, const float *ref, const uint16_t *approx,
                                            size_t n);
/* The approximation is FP8: codes[i] in format fmt, and approx[i] its value
 * after scaling (what fp8_dequantize_f32 gives); the codes decide what is
 * subnormal and what saturated. FP8_ERR_INVALID_ARGUMENT also for an unknown
 * format. */
FP8_API fp8_status fp8_error_accum_add_fp8(fp8_error_accum *acc, const float *ref, const uint8_t *codes,
                                           fp8_format fmt, const float *approx, size_t n);

/* Adds everything `from` has seen to `into` (from may equal into).
 * FP8_ERR_INVALID_ARGUMENT for NULL. */
FP8_API fp8_status fp8_error_accum_merge(fp8_error_accum *into, const fp8_error_accum *from);

/* Computes the figures of everything added so far; acc is left as it is, so
 * accumulation may go on. FP8_ERR_INVALID_ARGUMENT for NULL. */
FP8_API fp8_status fp8_error_accum_finalize(const fp8_error_accum *acc, fp8_error_stats *out);

FP8_END_DECLS

#endif /* FP8_STATS_H */
