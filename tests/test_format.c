/* Format properties, names, status strings and version against the
 * definitions (support/reference.c) and the headers' macros. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "fp8.h"
#include "support/reference.h"

START_TEST(format_info_matches_definition)
{
    const fp8_format fmt = (fp8_format)_i;
    fp8_format_info info;
    ck_assert_int_eq(fp8_format_get_info(fmt, &info), FP8_OK);
    double min_normal = INFINITY, min_sub = INFINITY;
    unsigned nans = 0;
    for (int c = 0; c < 256; c++) {
        const double v = ref_decode((uint8_t)c, fmt);
        if (isnan(v)) nans++;
        else if (v > 0 && fp8_classify((uint8_t)c, fmt) == FP8_CLASS_NORMAL && v < min_normal) min_normal = v;
        else if (v > 0 && v < min_sub) min_sub = v;
        /* the class agrees with the decoded value */
        const fp8_value_class k = fp8_classify((uint8_t)c, fmt);
        if (isnan(v)) ck_assert_int_eq(k, FP8_CLASS_NAN);
        else if (isinf(v)) ck_assert_int_eq(k, FP8_CLASS_INFINITE);
        else if (v == 0) ck_assert_int_eq(k, FP8_CLASS_ZERO);
        else ck_assert(k == FP8_CLASS_NORMAL || k == FP8_CLASS_SUBNORMAL);
    }
    ck_assert(info.max_finite == ref_max_finite(fmt));
    ck_assert(ref_decode(info.max_finite_code, fmt) == info.max_finite);
    ck_assert(info.min_normal == min_normal);
    ck_assert(info.min_subnormal == min_sub);
    ck_assert_uint_eq(info.nan_code_count, nans);
    ck_assert(isnan(ref_decode(info.nan_code, fmt)));
    ck_assert_uint_eq(info.exponent_bits + info.mantissa_bits, 7);
    ck_assert_int_eq(info.min_exponent, 1 - info.exponent_bias);
    if (info.has_infinity) ck_assert(isinf(ref_decode(info.infinity_code, fmt)));
    ck_assert_int_eq(info.has_negative_zero, signbit(ref_decode(0x80, fmt)) && ref_decode(0x80, fmt) == 0);
    ck_assert_str_eq(info.name, fp8_format_name(fmt));
    fp8_format parsed;
    ck_assert_int_eq(fp8_format_from_name(info.name, &parsed), FP8_OK);
    ck_assert_int_eq(parsed, fmt);
}
END_TEST

START_TEST(published_constants)
{
    /* the numbers every FP8 user knows, from the OCP spec and the FNUZ definitions */
    const float max[] = {448.0f, 57344.0f, 240.0f, 57344.0f};
    const float min_sub[] = {0x1p-9f, 0x1p-16f, 0x1p-10f, 0x1p-17f};
    const int bias[] = {7, 15, 8, 16};
    const unsigned nan_count[] = {2, 6, 1, 1};
    for (unsigned f = 0; f < fp8_format_count(); f++) {
        fp8_format_info info;
        ck_assert_int_eq(fp8_format_get_info((fp8_format)f, &info), FP8_OK);
        ck_assert(info.max_finite == max[f]);
        ck_assert(info.min_subnormal == min_sub[f]);
        ck_assert_int_eq(info.exponent_bias, bias[f]);
        ck_assert_uint_eq(info.nan_code_count, nan_count[f]);
    }
    ck_assert_uint_eq(fp8_format_count(), 4);
}
END_TEST

START_TEST(names_and_errors)
{
    fp8_format f;
    fp8_format_info info;
    ck_assert_int_eq(fp8_format_from_name("E4M3FN", &f), FP8_OK);
    ck_assert_int_eq(f, FP8_E4M3);
    ck_assert_int_eq(fp8_format_from_name("e3m4", &f), FP8_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(fp8_format_from_name(NULL, &f), FP8_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(fp8_format_get_info((fp8_format)4, &info), FP8_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(fp8_format_get_info(FP8_E4M3, NULL), FP8_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_null(fp8_format_name((fp8_format)99));
    ck_assert_int_eq(fp8_classify(0, (fp8_format)99), FP8_CLASS_NAN);
    ck_assert_str_eq(fp8_value_class_name(FP8_CLASS_SUBNORMAL), "subnormal");
}
END_TEST

START_TEST(status_strings)
{
    /* the stable values, pinned */
    ck_assert_int_eq(FP8_OK, 0);
    ck_assert_int_eq(FP8_ERR_INVALID_ARGUMENT, 1);
    ck_assert_int_eq(FP8_ERR_UNSUPPORTED, 2);
    ck_assert_int_eq(FP8_ERR_OUT_OF_MEMORY, 3);
    ck_assert_int_eq(FP8_ERR_NONFINITE, 4);
    ck_assert_int_eq(FP8_ERR_NO_DEVICE, 5);
    ck_assert_int_eq(FP8_ERR_CUDA, 6);
    ck_assert_int_eq(FP8_ERR_IO, 7);
    ck_assert_int_eq(FP8_ERR_FILE_FORMAT, 8);
    for (int s = 0; s <= 8; s++) {
        const char *str = fp8_status_string((fp8_status)s);
        ck_assert_ptr_nonnull(str);
        ck_assert_str_ne(str, "unknown status");
        for (int t = 0; t < s; t++) ck_assert_str_ne(str, fp8_status_string((fp8_status)t));
    }
    ck_assert_str_eq(fp8_status_string((fp8_status)1000), "unknown status");
    ck_assert_str_eq(fp8_status_string((fp8_status)-3), "unknown status");
}
END_TEST

START_TEST(version)
{
    char expected[32];
    snprintf(expected, sizeof expected, "%d.%d.%d", FP8_VERSION_MAJOR, FP8_VERSION_MINOR, FP8_VERSION_PATCH);
    ck_assert_str_eq(fp8_version_string(), expected);
    ck_assert_uint_eq(fp8_version_number(), FP8_VERSION_NUMBER);
}
END_TEST

static Suite *format_suite(void)
{
    Suite *s = suite_create("format");
    TCase *tc = tcase_create("info");
    tcase_add_loop_test(tc, format_info_matches_definition, 0, 4);
    tcase_add_test(tc, published_constants);
    tcase_add_test(tc, names_and_errors);
    suite_add_tcase(s, tc);
    tc = tcase_create("status_and_version");
    tcase_add_test(tc, status_strings);
    tcase_add_test(tc, version);
    suite_add_tcase(s, tc);
    return s;
}

#include "support/main.h"
FP8_TEST_MAIN(format_suite)
