/* The tools' shared pieces (tools/common): synthetic tensors (reproducible,
 * band-independent, with the moments and outliers they promise), BF16
 * rounding against a reference written from the definition, the banded
 * measurement against one whole-tensor pass, block-shape names, and the
 * number and string writers. The fp8-error program itself is tested by
 * cli/fp8_error.sh. */
#define _POSIX_C_SOURCE 200809L /* fmemopen */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/analysis.h"
#include "common/emit.h"
#include "common/synth.h"
#include "fp8.h"
#include "support/reference.h"

/* ---- synthetic tensors ---- */

START_TEST(synth_reproducible_and_banded)
{
    const synth_kind kind = (synth_kind)_i;
    enum { R = 64, C = 96 };
    static float whole[R * C], again[R * C], band[R * C], other[R * C];
    const synth_spec spec = synth_spec_init(kind, 7);
    synth_fill(&spec, whole, 0, R, C);
    synth_fill(&spec, again, 0, R, C);
    ck_assert(memcmp(whole, again, sizeof whole) == 0);
    /* rows 10..37 on their own equal the same rows of the whole */
    synth_fill(&spec, band, 10, 37, C);
    ck_assert(memcmp(band, whole + 10 * C, 27 * C * sizeof(float)) == 0);
    const synth_spec other_seed = synth_spec_init(kind, 8);
    synth_fill(&other_seed, other, 0, R, C);
    size_t same = 0;
    for (int i = 0; i < R * C; i++) same += whole[i] == other[i];
    ck_assert_msg(same < 10, "%s: seeds 7 and 8 agree on %zu values", synth_kind_name(kind), same);
    for (int i = 0; i < R * C; i++) ck_assert(isfinite(whole[i]));
    synth_kind parsed;
    ck_assert(synth_kind_from_name(synth_kind_name(kind), &parsed) && parsed == kind);
}
END_TEST

/* Sample moments of 2^20 values against the distributions': the mean, the
 * standard deviation and, for Laplace, the kurtosis (6). */
START_TEST(synth_moments)
{
    const size_t n = (size_t)1 << 20;
    float *x = malloc(n * sizeof *x);
    ck_assert_ptr_nonnull(x);
    static const struct { synth_kind kind; double sigma, stddev, kurtosis; } cases[] = {
        {SYNTH_GAUSSIAN, 2.0, 2.0, 3.0},
        {SYNTH_LAPLACE, 0.5, 0.5, 6.0},
        {SYNTH_STUDENT_T, 1.0, NAN, NAN}, /* dof 3: variance 3, but heavy tails make the sample's erratic */
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        synth_spec spec = synth_spec_init(cases[k].kind, 11);
        spec.sigma = cases[k].sigma;
        synth_fill(&spec, x, 0, 1, n);
        long double s1 = 0, s2 = 0, s4 = 0;
        for (size_t i = 0; i < n; i++) s1 += x[i];
        const long double mean = s1 / n;
        for (size_t i = 0; i < n; i++) {
            const long double d = x[i] - mean, d2 = d * d;
            s2 += d2;
            s4 += d2 * d2;
        }
        const double sd = (double)sqrtl(s2 / n), kurt = (double)(s4 / n / (s2 / n * s2 / n));
        printf("synth %s: mean %.4f sd %.4f kurtosis %.3f\n", synth_kind_name(cases[k].kind), (double)mean, sd, kurt);
        ck_assert(fabs((double)mean) < 0.01 * cases[k].sigma);
        if (!isnan(cases[k].stddev)) {
            ck_assert_msg(fabs(sd / cases[k].stddev - 1) < 0.01, "sd %.4f", sd);
            ck_assert_msg(fabs(kurt / cases[k].kurtosis - 1) < 0.05, "kurtosis %.3f", kurt);
        } else {
            /* Student-t(3): median |t| is 0.765 */
            size_t below = 0;
            for (size_t i = 0; i < n; i++) below += fabsf(x[i]) < 0.7649;
            ck_assert_msg(fabs((double)below / n - 0.5) < 0.005, "P(|t| < 0.765) = %.4f", (double)below / n);
        }
    }
    free(x);
}
END_TEST

/* "KIND+MEAN" shifts every value by MEAN and nothing else; bad names are refused. */
START_TEST(synth_mean_shift)
{
    enum { R = 8, C = 300 };
    static float plain[R * C], shifted[R * C];
    for (int k = 0; k < SYNTH_KIND_COUNT; k++) {
        char name[64];
        snprintf(name, sizeof name, "%s+1.5", synth_kind_name((synth_kind)k));
        synth_spec spec, base;
        ck_assert(synth_spec_parse(synth_kind_name((synth_kind)k), 5, &base) && base.mean == 0 && (int)base.kind == k);
        ck_assert(synth_spec_parse(name, 5, &spec) && spec.mean == 1.5 && (int)spec.kind == k && spec.seed == 5);
        synth_fill(&base, plain, 0, R, C);
        synth_fill(&spec, shifted, 0, R, C);
        /* (float)(1.5 + v) against (float)v + 1.5: two roundings at most one ulp of the sum apart */
        for (int i = 0; i < R * C; i++)
            ck_assert_msg(fabs((double)shifted[i] - ((double)plain[i] + 1.5)) <= 1e-6 * (1.5 + fabs((double)plain[i])),
                          "%s [%d]: %a vs %a + 1.5", name, i, (double)shifted[i], (double)plain[i]);
    }
    static const char *const bad[] = {"gaussian+", "gaussian+x", "gaussian+-1", "gaussian+1e3", "cauchy+1", "+1",
                                      "gaussian+1+2", "gaussian 1", ""};
    synth_spec spec;
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) ck_assert_msg(!synth_spec_parse(bad[k], 1, &spec), "'%s'", bad[k]);
}
END_TEST

/* LLM-like activations: token 0 and the outlier channels carry the massive
 * values; everything else is of order sigma. */
START_TEST(synth_llm_outliers)
{
    enum { R = 256, C = 1024 };
    static float x[R * C];
    const synth_spec spec = synth_spec_init(SYNTH_LLM, 3);
    synth_fill(&spec, x, 0, R, C);
    size_t outlier_channels = 0, massive = 0;
    for (int c = 0; c < C; c++) {
        const float v0 = fabsf(x[c]); /* token 0 */
        if (v0 > 0.5 * spec.token_gain) outlier_channels++;
        for (int r = 0; r < R; r++) massive += fabsf(x[r * C + c]) > 0.5 * spec.token_gain;
    }
    /* about C / 128 outlier channels, each massive in token 0 and ~R/512 others */
    ck_assert_msg(outlier_channels >= 2 && outlier_channels <= 24, "%zu outlier channels", outlier_channels);
    ck_assert(massive >= outlier_channels && massive <= 4 * outlier_channels);
    /* the median magnitude stays of order sigma */
    size_t small = 0;
    for (int i = 0; i < R * C; i++) small += fabsf(x[i]) < 1.0f;
    ck_assert(small > R * C / 2);
}
END_TEST

/* ---- BF16 rounding ---- */

/* Nearest of the two BF16 neighbours from their exact values; ties to even. */
static uint16_t ref_bf16_round(float x)
{
    const uint32_t b = f32_bits(x);
    const uint16_t lo = (uint16_t)(b >> 16);
    if ((b & 0xFFFFu) == 0) return lo;
    const uint16_t hi = (uint16_t)(lo + 1);
    const double d = x, dlo = fabs(d - ref_bf16_value(lo));
    /* past the largest finite value the next step up is infinity at 2^128 */
    const double dhi = isinf(ref_bf16_value(hi)) ? fabs(d - copysign(0x1p128, d)) : fabs(d - ref_bf16_value(hi));
    return dlo < dhi ? lo : dhi < dlo ? hi : (lo & 1) ? hi : lo;
}

START_TEST(bf16_rounding)
{
    const uint64_t seed = 0xBF16u;
    printf("bf16_rounding: seed %#llx\n", (unsigned long long)seed);
    uint64_t state = seed, wrong = 0;
    /* assertions outside the loop: Check's per-assertion bookkeeping would dominate */
    for (uint64_t k = 0; k < (1u << 22); k++) {
        /* every exponent and sign, with random low bits; plus the tie patterns */
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        uint32_t b = (uint32_t)(state >> 32);
        if (k % 4 == 0) b = (b & 0xFFFF0000u) | 0x8000u;
        const float x = f32_from_bits(b);
        const uint16_t got = bf16_from_f32(x);
        const bool ok = isnan(x) ? (got & 0x7F80) == 0x7F80 && (got & 0x7F) != 0 && (got & 0x40) && (got >> 15) == (b >> 31)
                                 : got == ref_bf16_round(x);
        if (!ok && wrong++ == 0) printf("bf16_rounding: %08x gives %04x\n", b, got);
    }
    ck_assert_msg(wrong == 0, "%llu wrong roundings", (unsigned long long)wrong);
    ck_assert_uint_eq(bf16_from_f32(0x1.FFp127f), 0x7F80);  /* ties to even: up to infinity */
    ck_assert_uint_eq(bf16_from_f32(0x1.FDp127f), 0x7F7E);  /* ties to even: down */
    ck_assert_uint_eq(bf16_from_f32(-0.0f), 0x8000);
}
END_TEST

/* ---- measurements ---- */

/* The banded measurement (bands of whole block rows) equals one whole-tensor
 * quantize, dequantize and accumulate. */
START_TEST(analysis_bands_equal_whole)
{
    static const size_t shapes[][2] = {{0, 0}, {1, 0}, {0, 1}, {1, 128}, {128, 128}, {1, 32}, {3, 5}, {1000, 7}};
    enum { R = 300, C = 700 };
    static float x[R * C], y[R * C], scale_inv[R * C];
    static uint8_t q[R * C];
    synth_spec spec = synth_spec_init(SYNTH_LLM, 5);
    synth_fill(&spec, x, 0, R, C);
    x[17] = NAN;
    analysis_workspace w = {0};
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
        const fp8_quant_config cfg = fp8_quant_config_init(FP8_E4M3, shapes[k][0], shapes[k][1]);
        fp8_error_accum banded, whole;
        fp8_error_accum_init(&banded);
        fp8_error_accum_init(&whole);
        ck_assert_int_eq(analysis_fp8(x, R, C, &cfg, &w, &banded), FP8_OK);
        ck_assert_int_eq(fp8_quantize_f32(&cfg, x, R, C, C, q, C, scale_inv), FP8_ERR_NONFINITE);
        ck_assert_int_eq(fp8_dequantize_f32(&cfg, q, R, C, C, scale_inv, y, C), FP8_OK);
        ck_assert_int_eq(fp8_error_accum_add_fp8(&whole, x, q, FP8_E4M3, y, R * C), FP8_OK);
        ck_assert_uint_eq(banded.count, whole.count);
        ck_assert_uint_eq(banded.nan_count, 1);
        ck_assert_uint_eq(banded.underflow_count, whole.underflow_count);
        ck_assert_uint_eq(banded.saturation_count, whole.saturation_count);
        ck_assert_uint_eq(banded.subnormal_count, whole.subnormal_count);
        ck_assert(banded.max_abs_err == whole.max_abs_err && banded.max_rel_err == whole.max_rel_err);
        ck_assert_msg(fabs(banded.sum_err_sq / whole.sum_err_sq - 1) < 1e-12, "%zux%zu", shapes[k][0], shapes[k][1]);
    }
    fp8_error_accum a;
    fp8_error_accum_init(&a);
    ck_assert_int_eq(analysis_bf16(x, R * C, &w, &a), FP8_OK);
    ck_assert_uint_eq(a.count, R * C);
    analysis_workspace_free(&w);
}
END_TEST

/* Within a limit: the same quantization (scales from every value), the pairs
 * with |x| above the limit left out; against a whole pass filtered here. */
START_TEST(analysis_within_limit)
{
    enum { R = 130, C = 700 };
    static float x[R * C], y[R * C], scale_inv[R * C], kx[R * C], ky[R * C];
    static uint8_t q[R * C], kq[R * C];
    static uint16_t kb[R * C];
    synth_spec spec = synth_spec_init(SYNTH_LLM, 6);
    synth_fill(&spec, x, 0, R, C);
    x[5] = NAN;
    const double limit = 8.0;
    const fp8_quant_config cfg = fp8_quant_config_init(FP8_E4M3, 1, 128);
    ck_assert_int_eq(fp8_quantize_f32(&cfg, x, R, C, C, q, C, scale_inv), FP8_ERR_NONFINITE);
    ck_assert_int_eq(fp8_dequantize_f32(&cfg, q, R, C, C, scale_inv, y, C), FP8_OK);
    size_t kept = 0;
    for (int i = 0; i < R * C; i++) {
        if (fabsf(x[i]) > limit) continue;
        kx[kept] = x[i], kq[kept] = q[i], ky[kept] = y[i], kb[kept] = bf16_from_f32(x[i]);
        kept++;
    }
    ck_assert(kept < R * C - 10); /* the massive values and outlier channels are out */
    fp8_error_accum got, want, got16, want16;
    fp8_error_accum_init(&got), fp8_error_accum_init(&want), fp8_error_accum_init(&got16), fp8_error_accum_init(&want16);
    analysis_workspace w = {0};
    ck_assert_int_eq(analysis_fp8_within(x, R, C, &cfg, limit, &w, &got), FP8_OK);
    ck_assert_int_eq(analysis_bf16_within(x, R * C, limit, &w, &got16), FP8_OK);
    analysis_workspace_free(&w);
    fp8_error_accum_add_fp8(&want, kx, kq, FP8_E4M3, ky, kept);
    fp8_error_accum_add_bf16(&want16, kx, kb, kept);
    ck_assert_uint_eq(got.count, kept);
    ck_assert_uint_eq(got.nan_count, 1);
    ck_assert_uint_eq(got16.count, kept);
    ck_assert(got.amax <= limit && got.max_abs_err == want.max_abs_err && got16.max_abs_err == want16.max_abs_err);
    ck_assert_uint_eq(got.underflow_count, want.underflow_count);
    ck_assert(fabs(got.sum_err_sq / want.sum_err_sq - 1) < 1e-12 && fabs(got16.sum_err_sq / want16.sum_err_sq - 1) < 1e-12);
}
END_TEST

/* A fixed scale: each value x becomes ref_decode(ref_encode(x * s)) / s (the
 * independent reference conversion), in both formats and saturation modes,
 * with s = 1 (a plain cast) and s = 2^-5: the figures of analysis_fp8_scaled
 * equal those of the reference pairs. */
START_TEST(analysis_fixed_scale)
{
    enum { R = 200, C = 300 };
    static float x[R * C], y[R * C];
    static uint8_t q[R * C];
    synth_spec spec = synth_spec_init(SYNTH_STUDENT_T, 9);
    spec.sigma = 64; /* reaches past E4M3's range, and into its subnormals */
    synth_fill(&spec, x, 0, R, C);
    static const fp8_format formats[] = {FP8_E4M3, FP8_E5M2};
    static const float scales[] = {1.0f, 0x1p-5f};
    analysis_workspace w = {0};
    for (int f = 0; f < 2; f++) {
        for (int sat = 0; sat < 2; sat++) {
            for (int s = 0; s < 2; s++) {
                for (int i = 0; i < R * C; i++) {
                    q[i] = ref_encode((double)x[i] * scales[s], formats[f], sat ? FP8_NOSAT : FP8_SATFINITE);
                    y[i] = (float)(ref_decode(q[i], formats[f]) / scales[s]);
                }
                fp8_error_accum got, want;
                fp8_error_accum_init(&got);
                fp8_error_accum_init(&want);
                ck_assert_int_eq(analysis_fp8_scaled(x, R, C, formats[f], sat ? FP8_NOSAT : FP8_SATFINITE, scales[s], INFINITY, &w, &got),
                                 FP8_OK);
                ck_assert_int_eq(fp8_error_accum_add_fp8(&want, x, q, formats[f], y, R * C), FP8_OK);
                ck_assert_uint_eq(got.underflow_count, want.underflow_count);
                ck_assert_uint_eq(got.saturation_count, want.saturation_count);
                ck_assert_uint_eq(got.subnormal_count, want.subnormal_count);
                ck_assert_uint_eq(got.approx_nan_count + got.approx_inf_count, want.approx_nan_count + want.approx_inf_count);
                ck_assert(got.max_abs_err == want.max_abs_err);
                ck_assert(got.sum_err_sq == want.sum_err_sq || fabs(got.sum_err_sq / want.sum_err_sq - 1) < 1e-12);
                if (f == 0 && s == 0) ck_assert(got.saturation_count > 0 && got.subnormal_count > 0);
            }
        }
    }
    analysis_workspace_free(&w);
}
END_TEST

START_TEST(scaling_names)
{
    static const struct { const char *text; size_t br, bc; } good[] = {
        {"tensor", 0, 0}, {"row", 1, 0}, {"column", 0, 1}, {"mx32", 1, 32},
        {"1x128", 1, 128}, {"128x128", 128, 128}, {"0x64", 0, 64}, {"7x3", 7, 3}};
    for (size_t k = 0; k < sizeof good / sizeof good[0]; k++) {
        scaling_choice s;
        ck_assert_msg(scaling_parse(good[k].text, &s), "%s", good[k].text);
        ck_assert(s.block_rows == good[k].br && s.block_cols == good[k].bc);
        ck_assert_str_eq(s.label, good[k].text);
    }
    static const char *const bad[] = {"", "x", "1x", "x1", "1x2x3", "-1x2", "1 x 2", "rows", "1x128 ", "mx", "99999999999999999999x1"};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        scaling_choice s;
        ck_assert_msg(!scaling_parse(bad[k], &s), "'%s' accepted", bad[k]);
    }
    for (int m = 0; m < 3; m++) {
        fp8_scale_mode parsed;
        ck_assert(scale_mode_from_name(scale_mode_name((fp8_scale_mode)m), &parsed) && (int)parsed == m);
    }
    ck_assert_ptr_null(scale_mode_name((fp8_scale_mode)3));
}
END_TEST

/* ---- writers ---- */

static char *capture(void (*write)(FILE *, const void *), const void *arg)
{
    static char buf[1024];
    FILE *f = fmemopen(buf, sizeof buf, "w");
    ck_assert_ptr_nonnull(f);
    write(f, arg);
    fclose(f);
    return buf;
}

static void write_number(FILE *f, const void *v) { emit_number(f, *(const double *)v, false); }
static void write_number_json(FILE *f, const void *v) { emit_number(f, *(const double *)v, true); }
static void write_json_string(FILE *f, const void *s) { emit_json_string(f, s); }
static void write_csv_field(FILE *f, const void *s) { emit_csv_field(f, s); }

START_TEST(writers)
{
    const double values[] = {0.1, 1.0 / 3, 31.546, 1e-300, -2.5e300, 0x1.FFFFFFFFFFFFFp1023, 5e-324, 0.0, 123456789.0};
    for (size_t k = 0; k < sizeof values / sizeof values[0]; k++) {
        const char *text = capture(write_number, &values[k]);
        ck_assert_msg(strtod(text, NULL) == values[k], "%s", text);
        ck_assert(strlen(text) <= 24);
    }
    ck_assert_str_eq(capture(write_number, &(double){0.1}), "0.1");
    ck_assert_str_eq(capture(write_number, &(double){INFINITY}), "inf");
    ck_assert_str_eq(capture(write_number, &(double){-INFINITY}), "-inf");
    ck_assert_str_eq(capture(write_number, &(double){NAN}), "nan");
    ck_assert_str_eq(capture(write_number_json, &(double){NAN}), "null");
    ck_assert_str_eq(capture(write_number_json, &(double){INFINITY}), "null");
    ck_assert_str_eq(capture(write_json_string, "a\"b\\c\n\x01\xC3\xA9\xFFz"), "\"a\\\"b\\\\c\\u000a\\u0001\xC3\xA9\\ufffdz\"");
    ck_assert_str_eq(capture(write_csv_field, "plain.name"), "plain.name");
    ck_assert_str_eq(capture(write_csv_field, "a,b \"c\""), "\"a,b \"\"c\"\"\"");
}
END_TEST

static Suite *tools_suite(void)
{
    Suite *s = suite_create("tools");
    TCase *tc;
    tc = tcase_create("synth_reproducible_and_banded");
    tcase_add_loop_test(tc, synth_reproducible_and_banded, 0, SYNTH_KIND_COUNT);
    suite_add_tcase(s, tc);
    tc = tcase_create("synth_moments");
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, synth_moments);
    suite_add_tcase(s, tc);
    tc = tcase_create("synth_mean_shift");
    tcase_add_test(tc, synth_mean_shift);
    suite_add_tcase(s, tc);
    tc = tcase_create("synth_llm_outliers");
    tcase_add_test(tc, synth_llm_outliers);
    suite_add_tcase(s, tc);
    tc = tcase_create("bf16_rounding");
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, bf16_rounding);
    suite_add_tcase(s, tc);
    tc = tcase_create("analysis_bands_equal_whole");
    tcase_add_test(tc, analysis_bands_equal_whole);
    suite_add_tcase(s, tc);
    tc = tcase_create("analysis_within_limit");
    tcase_add_test(tc, analysis_within_limit);
    suite_add_tcase(s, tc);
    tc = tcase_create("analysis_fixed_scale");
    tcase_add_test(tc, analysis_fixed_scale);
    suite_add_tcase(s, tc);
    tc = tcase_create("scaling_names");
    tcase_add_test(tc, scaling_names);
    suite_add_tcase(s, tc);
    tc = tcase_create("writers");
    tcase_add_test(tc, writers);
    suite_add_tcase(s, tc);
    return s;
}

#include "support/main.h"
FP8_TEST_MAIN(tools_suite)
