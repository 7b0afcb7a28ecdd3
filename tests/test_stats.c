/* Error statistics (fp8/stats.h) against a slow, obvious reference: every
 * figure straight from its definition in long double, one loop per figure,
 * classification of FP8 codes from the bit layout and the reference decoder;
 * merging chunks against a single pass; edge values and bad arguments. */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fp8.h"
#include "support/reference.h"

static const fp8_format all_formats[] = {FP8_E4M3, FP8_E5M2, FP8_E4M3FNUZ, FP8_E5M2FNUZ};
#define NFORMATS 4

/* ---- seeded data ---- */

static uint64_t rng_state;
static void rng_seed(uint64_t seed) { rng_state = seed; }
static uint64_t rng_next(void) /* splitmix64 */
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static double rng_uniform(void) { return (double)(rng_next() >> 11) * 0x1p-53; }
static double rng_normal(void)
{
    const double u = rng_uniform(), v = rng_uniform();
    return sqrt(-2.0 * log(1.0 - u)) * cos(6.283185307179586 * v);
}

/* Values over a wide range of magnitudes, with zeros and, when `specials`,
 * NaN and infinities sprinkled in. */
static void fill_wide(float *x, size_t n, int specials)
{
    for (size_t i = 0; i < n; i++) {
        const uint64_t r = rng_next() % 64;
        if (specials && r == 0) x[i] = NAN;
        else if (specials && r == 1) x[i] = (i & 1) ? INFINITY : -INFINITY;
        else if (r == 2) x[i] = 0.0f;
        else x[i] = (float)(rng_normal() * ldexp(1.0, (int)(rng_next() % 48) - 30));
    }
}

/* ---- the reference ---- */

typedef enum { REF_ZERO, REF_SUBNORMAL, REF_NORMAL, REF_MAX, REF_NONFINITE } ref_kind;

typedef struct ref_stats {
    uint64_t count, finite, nonzero, nan, inf, approx_nan, approx_inf, underflow, saturated, subnormal;
    long double mse, sqnr_db, rel_l2, cosine, calc_diff, max_abs, max_rel, amax, amin;
    uint64_t hist[FP8_ERROR_HIST_BINS];
} ref_stats;

/* Every figure from its definition, each in a loop of its own. A value at
 * the largest finite magnitude `max` saturated if it lay past the midpoint
 * between max and the next value up, max + (max - below), where `below` is
 * the largest value under max. */
static void ref_compute(ref_stats *r, const double *x, const double *y, const ref_kind *kind, size_t n, long double max,
                        long double below)
{
    memset(r, 0, sizeof *r);
    r->count = n;
    long double sxx = 0, syy = 0, sxy = 0, see = 0;
    r->amin = INFINITY;
    for (size_t i = 0; i < n; i++) {
        if (isnan(x[i])) { r->nan++; continue; }
        if (isinf(x[i])) { r->inf++; continue; }
        const long double ax = fabsl((long double)x[i]);
        if (ax > r->amax) r->amax = ax;
        if (ax != 0) {
            r->nonzero++;
            if (ax < r->amin) r->amin = ax;
            int e;
            frexp(x[i], &e); /* |x| = m 2^e, m in [0.5, 1): floor(log2|x|) = e - 1 */
            int bin = e - 1 - FP8_ERROR_HIST_MIN_LOG2;
            if (bin < 0) bin = 0;
            if (bin > FP8_ERROR_HIST_BINS - 1) bin = FP8_ERROR_HIST_BINS - 1;
            r->hist[bin]++;
        }
        if (isnan(y[i])) { r->approx_nan++; r->saturated++; continue; }
        if (isinf(y[i])) { r->approx_inf++; r->saturated++; continue; }
        r->finite++;
    }
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(x[i]) || !isfinite(y[i])) continue;
        const long double xi = x[i], yi = y[i], e = xi - yi;
        sxx += xi * xi;
        syy += yi * yi;
        sxy += xi * yi;
        see += e * e;
        if (fabsl(e) > r->max_abs) r->max_abs = fabsl(e);
        if (xi != 0 && fabsl(e) / fabsl(xi) > r->max_rel) r->max_rel = fabsl(e) / fabsl(xi);
        if (xi != 0 && yi == 0) r->underflow++;
        if (kind[i] == REF_SUBNORMAL) r->subnormal++;
        if (kind[i] == REF_MAX && fabsl(xi) > max + (max - below) / 2) r->saturated++;
    }
    r->mse = see / r->finite;
    r->sqnr_db = 10 * log10l(sxx / see);
    r->rel_l2 = sqrtl(see / sxx);
    r->cosine = sxy / sqrtl(sxx * syy);
    r->calc_diff = 1 - 2 * sxy / (sxx + syy); /* DeepGEMM's formula, literally */
    if (r->nonzero == 0) r->amin = 0;
}

static void expect_close(const char *what, double got, long double want, double rel_tol)
{
    if (isnan(want) || isinf(want)) {
        ck_assert_msg(isnan(want) ? isnan(got) : got == (double)want, "%s: got %.17g want %.17Lg", what, got, want);
        return;
    }
    const long double diff = fabsl((long double)got - want);
    ck_assert_msg(diff <= rel_tol * fabsl(want) + 1e-300L, "%s: got %.17g want %.17Lg (rel diff %.3Lg)", what, got,
                  want, want != 0 ? diff / fabsl(want) : diff);
}

/* calc_diff by DeepGEMM's literal formula loses digits to cancellation: compare
 * it with an absolute tolerance of a few ulps of 1. */
static void expect_stats(const fp8_error_accum *acc, const ref_stats *r)
{
    fp8_error_stats s;
    ck_assert_int_eq(fp8_error_accum_finalize(acc, &s), FP8_OK);
    ck_assert_uint_eq(s.count, r->count);
    ck_assert_uint_eq(s.finite_count, r->finite);
    ck_assert_uint_eq(s.nonzero_count, r->nonzero);
    ck_assert_uint_eq(s.nan_count, r->nan);
    ck_assert_uint_eq(s.inf_count, r->inf);
    ck_assert_uint_eq(s.approx_nan_count, r->approx_nan);
    ck_assert_uint_eq(s.approx_inf_count, r->approx_inf);
    ck_assert_uint_eq(acc->underflow_count, r->underflow);
    ck_assert_uint_eq(acc->saturation_count, r->saturated);
    ck_assert_uint_eq(acc->subnormal_count, r->subnormal);
    const double finite_ref = (double)(r->count - r->nan - r->inf);
    expect_close("underflow fraction", s.underflow_fraction, r->nonzero ? (long double)r->underflow / r->nonzero : 0, 1e-15);
    expect_close("saturation fraction", s.saturation_fraction, finite_ref ? r->saturated / finite_ref : 0, 1e-15);
    expect_close("subnormal fraction", s.subnormal_fraction, finite_ref ? r->subnormal / finite_ref : 0, 1e-15);
    expect_close("mse", s.mse, r->mse, 1e-12);
    if (isfinite(r->sqnr_db)) /* a logarithm: to 1e-9 dB */
        ck_assert_msg(fabsl(s.sqnr_db - r->sqnr_db) < 1e-9L, "sqnr_db: got %.17g want %.17Lg", s.sqnr_db, r->sqnr_db);
    else
        expect_close("sqnr_db", s.sqnr_db, r->sqnr_db, 0);
    expect_close("rel_l2", s.rel_l2, r->rel_l2, 1e-12);
    expect_close("cosine", s.cosine, r->cosine, 1e-12);
    if (isfinite(r->calc_diff))
        ck_assert_msg(fabsl((long double)s.calc_diff - r->calc_diff) <= 1e-15L + 1e-12L * fabsl(r->calc_diff),
                      "calc_diff: got %.17g want %.17Lg", s.calc_diff, r->calc_diff);
    else
        expect_close("calc_diff", s.calc_diff, r->calc_diff, 0);
    expect_close("max_abs_err", s.max_abs_err, r->max_abs, 0);
    expect_close("max_rel_err", s.max_rel_err, r->max_rel, 1e-15);
    expect_close("amax", s.amax, r->amax, 0);
    expect_close("amin_nonzero", s.amin_nonzero, r->amin, 0);
    expect_close("dynamic range", s.dynamic_range_binades, r->nonzero ? log2l(r->amax / r->amin) : 0, 1e-12);
    for (int b = 0; b < FP8_ERROR_HIST_BINS; b++)
        ck_assert_msg(acc->log2_hist[b] == r->hist[b], "histogram bin 2^%d: got %llu want %llu",
                      b + FP8_ERROR_HIST_MIN_LOG2, (unsigned long long)acc->log2_hist[b],
                      (unsigned long long)r->hist[b]);
}

static ref_kind ref_kind_of_value(double y, double min_normal, double max_finite)
{
    if (!isfinite(y)) return REF_NONFINITE;
    if (y == 0) return REF_ZERO;
    if (fabs(y) < min_normal) return REF_SUBNORMAL;
    return fabs(y) == max_finite ? REF_MAX : REF_NORMAL;
}

/* ---- the cases ---- */

#define N 20000

START_TEST(f32_against_reference)
{
    const uint64_t seed = 0x5EED0001u + (uint64_t)_i;
    printf("f32_against_reference: seed %#llx\n", (unsigned long long)seed);
    rng_seed(seed);
    static float x[N], y[N];
    static double xd[N], yd[N];
    static ref_kind kind[N];
    fill_wide(x, N, 1);
    for (size_t i = 0; i < N; i++) {
        const uint64_t r = rng_next() % 100;
        if (r == 0) y[i] = NAN;                                     /* a broken approximation */
        else if (r == 1) y[i] = INFINITY;
        else if (r == 2) y[i] = FLT_MAX;
        else if (r == 3) y[i] = 0x1p-140f;                          /* an FP32 subnormal */
        else y[i] = (float)(x[i] * (1.0 + 1e-3 * rng_normal()));
        xd[i] = x[i];
        yd[i] = y[i];
        kind[i] = ref_kind_of_value(y[i], FLT_MIN, FLT_MAX);
    }
    x[7] = FLT_MAX; /* not saturated: y == x */
    y[7] = FLT_MAX;
    xd[7] = yd[7] = FLT_MAX;
    kind[7] = REF_MAX;
    ref_stats r;
    ref_compute(&r, xd, yd, kind, N, FLT_MAX, nextafterf(FLT_MAX, 0));
    fp8_error_accum acc;
    ck_assert_int_eq(fp8_error_accum_init(&acc), FP8_OK);
    ck_assert_int_eq(fp8_error_accum_add_f32(&acc, x, y, N), FP8_OK);
    expect_stats(&acc, &r);
}
END_TEST

START_TEST(f64_against_reference)
{
    const uint64_t seed = 0x5EED0002u;
    printf("f64_against_reference: seed %#llx\n", (unsigned long long)seed);
    rng_seed(seed);
    static double x[N], y[N];
    static ref_kind kind[N];
    for (size_t i = 0; i < N; i++) {
        /* magnitudes beyond FP32's (the histogram's end bins collect them), within
           the 2^+-511 whose squares FP64 sums hold */
        x[i] = rng_normal() * ldexp(1.0, (int)(rng_next() % 1000) - 500);
        if (i % 1999 == 0) x[i] = 0x1p-1060;
        y[i] = x[i] * (1.0 + 1e-9 * rng_normal());
        if (i % 997 == 0) y[i] = 0x1p-1070; /* an FP64 subnormal */
        kind[i] = ref_kind_of_value(y[i], DBL_MIN, DBL_MAX);
    }
    ref_stats r;
    ref_compute(&r, x, y, kind, N, DBL_MAX, nextafter(DBL_MAX, 0));
    fp8_error_accum acc;
    fp8_error_accum_init(&acc);
    ck_assert_int_eq(fp8_error_accum_add_f64(&acc, x, y, N), FP8_OK);
    expect_stats(&acc, &r);
    ck_assert(acc.log2_hist[0] > 0 && acc.log2_hist[FP8_ERROR_HIST_BINS - 1] > 0);
}
END_TEST

/* BF16 by round to nearest even, written from the definition: the nearest of
 * the two BF16 neighbours, ties to the even one, overflow to infinity. */
static uint16_t test_bf16_rne(float x)
{
    if (isnan(x)) return 0x7FC0;
    const uint32_t b = f32_bits(x);
    const uint16_t lo = (uint16_t)(b >> 16), hi = (uint16_t)(lo + 1);
    if ((b & 0xFFFFu) == 0) return lo;
    const double vlo = ref_bf16_value(lo), d = (double)x;
    const double vhi = ref_bf16_value(hi);
    /* overflow: infinity is reached from past the midpoint of max and 2^128 */
    const double dlo = fabs(d - vlo), dhi = isinf(vhi) ? fabs(d - copysign(0x1p128, d)) : fabs(d - vhi);
    if (dlo < dhi) return lo;
    if (dhi < dlo) return hi;
    return (lo & 1) ? hi : lo;
}

START_TEST(bf16_against_reference)
{
    const uint64_t seed = 0x5EED0003u;
    printf("bf16_against_reference: seed %#llx\n", (unsigned long long)seed);
    rng_seed(seed);
    static float x[N];
    static uint16_t q[N];
    static double xd[N], yd[N];
    static ref_kind kind[N];
    fill_wide(x, N, 1);
    x[1] = FLT_MAX;         /* rounds past BF16's max: infinity, saturated */
    x[2] = 0x1.FEp127f;     /* BF16's max exactly: not saturated */
    x[3] = 0x1.FFp127f;     /* ties to even: up to infinity */
    x[4] = 0x1.FE8p127f;    /* beyond max, but rounds down to it: not saturated */
    x[5] = 0x1.234p-130f;   /* subnormals */
    x[6] = 0x1p-128f;
    x[8] = 0x1p-140f;       /* underflows */
    for (size_t i = 0; i < N; i++) {
        q[i] = test_bf16_rne(x[i]);
        xd[i] = x[i];
        yd[i] = ref_bf16_value(q[i]);
        kind[i] = ref_kind_of_value(yd[i], 0x1p-126, 0x1.FEp127);
    }
    ref_stats r;
    ref_compute(&r, xd, yd, kind, N, 0x1.FEp127, 0x1.FCp127);
    ck_assert(r.saturated >= 2 && r.subnormal >= 2 && r.underflow >= 1);
    fp8_error_accum acc;
    fp8_error_accum_init(&acc);
    ck_assert_int_eq(fp8_error_accum_add_bf16(&acc, x, q, N), FP8_OK);
    expect_stats(&acc, &r);
}
END_TEST

/* Per-tensor scaled FP8 of wide-ranging data (so that values underflow, land
 * in the subnormals and saturate), in both saturation modes. */
START_TEST(fp8_against_reference)
{
    const fp8_format fmt = all_formats[_i / 2];
    const fp8_saturation sat = _i % 2 ? FP8_NOSAT : FP8_SATFINITE;
    const uint64_t seed = 0x5EED0010u + (uint64_t)_i;
    printf("fp8_against_reference %s %s: seed %#llx\n", fp8_format_name(fmt), sat ? "nosat" : "satfinite",
           (unsigned long long)seed);
    rng_seed(seed);
    static const int bias[] = {7, 15, 8, 16};
    static const int mbits[] = {3, 2, 3, 2};
    static float x[N], y[N];
    static uint8_t q[N];
    static double xd[N], yd[N];
    static ref_kind kind[N];
    fill_wide(x, N, 1);
    const float scale = 0x1p4f, scale_inv = 0x1p-4f;
    const double max = ref_max_finite(fmt), min_normal = ldexp(1.0, 1 - bias[fmt]);
    for (size_t i = 0; i < N; i++) {
        q[i] = fp8_from_f32(x[i] * scale, fmt, sat);
        y[i] = fp8_to_f32(q[i], fmt) * scale_inv;
        xd[i] = x[i];
        yd[i] = y[i];
        const double v = ref_decode(q[i], fmt);
        const int exponent_field = (q[i] & 0x7F) >> mbits[fmt];
        kind[i] = !isfinite(v) ? REF_NONFINITE : v == 0 ? REF_ZERO : exponent_field == 0 ? REF_SUBNORMAL
                  : fabs(v) == max ? REF_MAX : REF_NORMAL;
        ck_assert(kind[i] != REF_SUBNORMAL || fabs(v) < min_normal);
    }
    ref_stats r;
    double below = 0; /* the largest value under max, from the value table */
    for (int c = 0; c < 128; c++) {
        const double v = ref_decode((uint8_t)c, fmt);
        if (isfinite(v) && v < max && v > below) below = v;
    }
    /* at this scale, saturation is past the midpoint over max, scaled back */
    ref_compute(&r, xd, yd, kind, N, max / scale, below / scale);
    ck_assert(r.underflow > 0 && r.subnormal > 0 && r.saturated > 0);
    fp8_error_accum acc;
    fp8_error_accum_init(&acc);
    ck_assert_int_eq(fp8_error_accum_add_fp8(&acc, x, q, fmt, y, N), FP8_OK);
    expect_stats(&acc, &r);
}
END_TEST

/* Any split into chunks, accumulated apart and merged in order, gives a
 * single pass's counts, extremes and histogram exactly, its sums to rounding. */
START_TEST(merge_equals_single_pass)
{
    const uint64_t seed = 0x5EED0020u + (uint64_t)_i;
    printf("merge_equals_single_pass: seed %#llx\n", (unsigned long long)seed);
    rng_seed(seed);
    static float x[N], y[N];
    static uint8_t q[N];
    fill_wide(x, N, 1);
    for (size_t i = 0; i < N; i++) {
        q[i] = fp8_from_f32(x[i], FP8_E4M3, FP8_SATFINITE);
        y[i] = fp8_to_f32(q[i], FP8_E4M3);
    }
    fp8_error_accum whole, merged;
    fp8_error_accum_init(&whole);
    fp8_error_accum_init(&merged);
    ck_assert_int_eq(fp8_error_accum_add_fp8(&whole, x, q, FP8_E4M3, y, N), FP8_OK);
    for (size_t begin = 0; begin < N;) {
        size_t len = 1 + rng_next() % 5000;
        if (len > N - begin) len = N - begin;
        fp8_error_accum part;
        fp8_error_accum_init(&part);
        ck_assert_int_eq(fp8_error_accum_add_fp8(&part, x + begin, q + begin, FP8_E4M3, y + begin, len), FP8_OK);
        ck_assert_int_eq(fp8_error_accum_merge(&merged, &part), FP8_OK);
        begin += len;
    }
#define SAME(field) ck_assert_uint_eq(whole.field, merged.field)
    SAME(count); SAME(finite_count); SAME(nonzero_count); SAME(nan_count); SAME(inf_count);
    SAME(approx_nan_count); SAME(approx_inf_count); SAME(underflow_count); SAME(saturation_count);
    SAME(subnormal_count);
#undef SAME
    ck_assert(memcmp(whole.log2_hist, merged.log2_hist, sizeof whole.log2_hist) == 0);
    ck_assert(whole.max_abs_err == merged.max_abs_err && whole.max_rel_err == merged.max_rel_err);
    ck_assert(whole.amax == merged.amax && whole.amin_nonzero == merged.amin_nonzero);
    const double wsum[] = {whole.sum_ref_sq, whole.sum_approx_sq, whole.sum_product, whole.sum_err_sq};
    const double msum[] = {merged.sum_ref_sq, merged.sum_approx_sq, merged.sum_product, merged.sum_err_sq};
    for (int k = 0; k < 4; k++) expect_close("merged sum", msum[k], wsum[k], 1e-13);
    /* merging with itself doubles everything */
    fp8_error_accum twice = whole;
    ck_assert_int_eq(fp8_error_accum_merge(&twice, &twice), FP8_OK);
    ck_assert_uint_eq(twice.count, 2 * whole.count);
    ck_assert(twice.sum_err_sq == 2 * whole.sum_err_sq && twice.amax == whole.amax);
}
END_TEST

/* Golden figures: per-tensor scaled FP8 of 2^20 seeded N(0, 1) samples.
 * With 3 (2) mantissa bits the quantization noise sits about 31.5 (25.5) dB
 * below the signal; the floors are a little under, the ceilings say that the
 * figure is not merely large. */
START_TEST(golden_sqnr_gaussian)
{
    static const struct { fp8_format fmt; double floor_db, ceiling_db; } golden[] = {
        {FP8_E4M3, 31.2, 31.8},
        {FP8_E5M2, 25.2, 25.8},
    };
    const size_t n = (size_t)1 << 20;
    const uint64_t seed = 0x5EED0030u;
    rng_seed(seed);
    float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
    uint8_t *q = malloc(n);
    ck_assert(x && y && q);
    for (size_t i = 0; i < n; i++) x[i] = (float)rng_normal();
    for (int g = 0; g < 2; g++) {
        const fp8_quant_config cfg = fp8_quant_config_init(golden[g].fmt, 0, 0);
        float scale_inv;
        ck_assert_int_eq(fp8_quantize_f32(&cfg, x, 1, n, n, q, n, &scale_inv), FP8_OK);
        ck_assert_int_eq(fp8_dequantize_f32(&cfg, q, 1, n, n, &scale_inv, y, n), FP8_OK);
        fp8_error_accum acc;
        fp8_error_stats s;
        fp8_error_accum_init(&acc);
        ck_assert_int_eq(fp8_error_accum_add_fp8(&acc, x, q, golden[g].fmt, y, n), FP8_OK);
        fp8_error_accum_finalize(&acc, &s);
        printf("golden %s per tensor on N(0,1), seed %#llx: SQNR %.3f dB, calc_diff %.3g, underflow %.3g\n",
               fp8_format_name(golden[g].fmt), (unsigned long long)seed, s.sqnr_db, s.calc_diff, s.underflow_fraction);
        ck_assert_msg(s.sqnr_db > golden[g].floor_db && s.sqnr_db < golden[g].ceiling_db, "SQNR %.3f dB", s.sqnr_db);
        ck_assert(s.saturation_fraction == 0); /* the amax maps onto the largest value */
    }
    free(x);
    free(y);
    free(q);
}
END_TEST

START_TEST(edge_values)
{
    fp8_error_accum acc;
    fp8_error_stats s;
    /* nothing seen: ratios undefined, fractions and extremes zero */
    fp8_error_accum_init(&acc);
    ck_assert_int_eq(fp8_error_accum_finalize(&acc, &s), FP8_OK);
    ck_assert(s.count == 0 && isnan(s.mse) && isnan(s.sqnr_db) && isnan(s.rel_l2) && isnan(s.cosine) &&
              isnan(s.calc_diff));
    ck_assert(s.underflow_fraction == 0 && s.saturation_fraction == 0 && s.amax == 0 && s.amin_nonzero == 0 &&
              s.dynamic_range_binades == 0);
    /* exact: infinite SQNR, zero error */
    const float x[4] = {1.0f, -2.0f, 0.5f, 0.0f};
    ck_assert_int_eq(fp8_error_accum_add_f32(&acc, x, x, 4), FP8_OK);
    fp8_error_accum_finalize(&acc, &s);
    ck_assert(isinf(s.sqnr_db) && s.sqnr_db > 0 && s.rel_l2 == 0 && s.calc_diff == 0 && s.cosine == 1 &&
              s.mse == 0 && s.max_rel_err == 0);
    ck_assert(s.amax == 2 && s.amin_nonzero == 0.5 && s.dynamic_range_binades == 2);
    /* an all-zero reference against a non-zero approximation: SQNR -inf */
    const float zero[2] = {0, 0}, one[2] = {1, 1};
    fp8_error_accum_init(&acc);
    fp8_error_accum_add_f32(&acc, zero, one, 2);
    fp8_error_accum_finalize(&acc, &s);
    ck_assert(isinf(s.sqnr_db) && s.sqnr_db < 0 && isinf(s.rel_l2) && s.max_rel_err == 0 && s.calc_diff == 1);
    /* only specials: counted, no error figures */
    const float specials[3] = {NAN, INFINITY, -INFINITY};
    fp8_error_accum_init(&acc);
    fp8_error_accum_add_f32(&acc, specials, specials, 3);
    fp8_error_accum_finalize(&acc, &s);
    ck_assert(s.nan_count == 1 && s.inf_count == 2 && s.finite_count == 0 && isnan(s.sqnr_db));
    /* n = 0 with NULL pointers is a valid empty call */
    ck_assert_int_eq(fp8_error_accum_add_f32(&acc, NULL, NULL, 0), FP8_OK);
    ck_assert_int_eq(fp8_error_accum_add_fp8(&acc, NULL, NULL, FP8_E4M3, NULL, 0), FP8_OK);
}
END_TEST

START_TEST(bad_arguments)
{
    fp8_error_accum acc, before;
    fp8_error_stats s;
    const float x[1] = {1};
    const double d[1] = {1};
    const uint16_t h[1] = {0x3F80};
    const uint8_t q[1] = {0x38};
    ck_assert_int_eq(fp8_error_accum_init(NULL), FP8_ERR_INVALID_ARGUMENT);
    fp8_error_accum_init(&acc);
    before = acc;
    ck_assert_int_eq(fp8_error_accum_add_f32(NULL, x, x, 1), FP8_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(fp8_error_accum_add_f32(&acc, NULL, x, 1), FP8_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(fp8_error_accum_add_f32(&acc, x, NULL, 1), FP8_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(fp8_error_accum_add_f64(&acc, d, NULL, 1), FP8_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(fp8_error_accum_add_bf16(&acc, x, NULL, 1), FP8_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(fp8_error_accum_add_bf16(&acc, NULL, h, 1), FP8_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(fp8_error_accum_add_fp8(&acc, x, NULL, FP8_E4M3, x, 1), FP8_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(fp8_error_accum_add_fp8(&acc, x, q, (fp8_format)4, x, 1), FP8_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(fp8_error_accum_add_fp8(&acc, x, q, (fp8_format)-1, x, 1), FP8_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(fp8_error_accum_merge(&acc, NULL), FP8_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(fp8_error_accum_merge(NULL, &acc), FP8_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(fp8_error_accum_finalize(&acc, NULL), FP8_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(fp8_error_accum_finalize(NULL, &s), FP8_ERR_INVALID_ARGUMENT);
    ck_assert(memcmp(&acc, &before, sizeof acc) == 0); /* nothing written */
}
END_TEST

static Suite *stats_suite(void)
{
    Suite *s = suite_create("stats");
    TCase *tc;
    tc = tcase_create("f32_against_reference");
    tcase_add_loop_test(tc, f32_against_reference, 0, 3);
    suite_add_tcase(s, tc);
    tc = tcase_create("f64_against_reference");
    tcase_add_test(tc, f64_against_reference);
    suite_add_tcase(s, tc);
    tc = tcase_create("bf16_against_reference");
    tcase_add_test(tc, bf16_against_reference);
    suite_add_tcase(s, tc);
    tc = tcase_create("fp8_against_reference");
    tcase_add_loop_test(tc, fp8_against_reference, 0, 2 * NFORMATS);
    suite_add_tcase(s, tc);
    tc = tcase_create("merge_equals_single_pass");
    tcase_add_loop_test(tc, merge_equals_single_pass, 0, 4);
    suite_add_tcase(s, tc);
    tc = tcase_create("golden_sqnr_gaussian");
    tcase_add_test(tc, golden_sqnr_gaussian);
    suite_add_tcase(s, tc);
    tc = tcase_create("edge_values");
    tcase_add_test(tc, edge_values);
    suite_add_tcase(s, tc);
    tc = tcase_create("bad_arguments");
    tcase_add_test(tc, bad_arguments);
    suite_add_tcase(s, tc);
    return s;
}

#include "support/main.h"
FP8_TEST_MAIN(stats_suite)
