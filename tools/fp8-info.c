/* fp8-info: the properties of every FP8 format, or the table of all 256
 * codes of one, as text or CSV. */
#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "common/cli.h"
#include "fp8.h"

static const char *const tool = "fp8-info";

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: fp8-info [--csv]                 properties of every format\n"
            "       fp8-info --table FORMAT [--csv]  all 256 codes of FORMAT: hex, bits, class, value\n"
            "       fp8-info --version | --help\n"
            "FORMAT: e4m3 (e4m3fn), e5m2, e4m3fnuz, e5m2fnuz.\n"
            "Exit status: 0 ok, 2 bad usage.\n");
}

static void print_properties(int csv)
{
    if (csv) {
        printf("format,exponent_bits,mantissa_bits,bias,min_exponent,max_exponent,max_finite,min_normal,"
               "min_subnormal,has_infinity,has_negative_zero,max_finite_code,nan_code,infinity_code,nan_codes\n");
    } else {
        printf("libfp8 %s, CPU path %s\n\n", fp8_version_string(), fp8_cpu_isa_name(fp8_cpu_isa_active()));
        printf("%-9s %4s %4s %4s %5s %5s %10s %12s %12s %4s %5s %5s %5s %5s %5s\n", "format", "exp", "man", "bias",
               "emin", "emax", "max", "min_normal", "min_subnorm", "inf", "-0", "max#", "nan#", "inf#", "nans");
    }
    for (unsigned f = 0; f < fp8_format_count(); f++) {
        fp8_format_info i;
        if (fp8_format_get_info((fp8_format)f, &i) != FP8_OK) continue;
        if (csv)
            printf("%s,%u,%u,%d,%d,%d,%.9g,%.9g,%.9g,%d,%d,0x%02X,0x%02X,0x%02X,%u\n", i.name, i.exponent_bits,
                   i.mantissa_bits, i.exponent_bias, i.min_exponent, i.max_exponent, i.max_finite, i.min_normal,
                   i.min_subnormal, i.has_infinity, i.has_negative_zero, i.max_finite_code, i.nan_code,
                   i.infinity_code, i.nan_code_count);
        else
            printf("%-9s %4u %4u %4d %5d %5d %10.9g %12a %12a %4s %5s  0x%02X  0x%02X  %4s %5u\n", i.name,
                   i.exponent_bits, i.mantissa_bits, i.exponent_bias, i.min_exponent, i.max_exponent, i.max_finite,
                   i.min_normal, i.min_subnormal, i.has_infinity ? "yes" : "no", i.has_negative_zero ? "yes" : "no",
                   i.max_finite_code, i.nan_code, i.has_infinity ? "0x7C" : "-", i.nan_code_count);
    }
}

static void print_table(fp8_format fmt, int csv)
{
    fp8_format_info info;
    fp8_format_get_info(fmt, &info);
    if (csv)
        printf("code,bits,class,value,hex_value\n");
    else
        printf("%s: %u exponent bits, %u mantissa bits, bias %d\n%-6s %-10s %-10s %16s %16s\n", info.name,
               info.exponent_bits, info.mantissa_bits, info.exponent_bias, "code", "bits", "class", "value", "hex");
    for (unsigned c = 0; c < 256; c++) {
        char bits[12];
        /* sign.exponent.mantissa */
        int k = 0;
        for (int b = 7; b >= 0; b--) {
            bits[k++] = (char)('0' + ((c >> b) & 1));
            if (b == 7 || b == (int)info.mantissa_bits) bits[k++] = '.';
        }
        bits[k] = '\0';
        const float v = fp8_to_f32((uint8_t)c, fmt);
        const char *cls = fp8_value_class_name(fp8_classify((uint8_t)c, fmt));
        if (csv)
            printf("0x%02X,%s,%s,%.9g,%a\n", c, bits, cls, v, v);
        else
            printf("0x%02X   %-10s %-10s %16.9g %16a\n", c, bits, cls, v, v);
    }
}

int main(int argc, char **argv)
{
    setlocale(LC_ALL, "C");
    int csv = 0;
    const char *table = NULL;
    for (int a = 1; a < argc; a++) {
        if (strcmp(argv[a], "--help") == 0 || strcmp(argv[a], "-h") == 0) {
            usage(stdout);
            return FP8_EXIT_OK;
        } else if (strcmp(argv[a], "--version") == 0) {
            printf("fp8-info (libfp8) %s\n", fp8_version_string());
            return FP8_EXIT_OK;
        } else if (strcmp(argv[a], "--csv") == 0) {
            csv = 1;
        } else if (strcmp(argv[a], "--table") == 0) {
            if (++a == argc) return cli_usage_error(tool, "--table needs a format name");
            table = argv[a];
        } else {
            return cli_usage_error(tool, "unknown argument '%s'", argv[a]);
        }
    }
    if (table) {
        fp8_format fmt;
        if (fp8_format_from_name(table, &fmt) != FP8_OK)
            return cli_usage_error(tool, "unknown format '%s' (expected e4m3, e5m2, e4m3fnuz or e5m2fnuz)", table);
        print_table(fmt, csv);
    } else {
        print_properties(csv);
    }
    return fflush(stdout) == 0 ? FP8_EXIT_OK : cli_input_error(tool, "cannot write the output");
}
