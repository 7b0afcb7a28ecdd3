/* fp8-error: what FP8 quantization would cost each tensor, recipe by recipe
 * (format x block scaling x scale mode), with BF16's own error on the same
 * tensor beside it. Inputs are .npy, safetensors (DeepSeek-V3 FP8 weights
 * dequantized first), raw data, or built-in synthetic tensors. */
#define _POSIX_C_SOURCE 200809L /* isatty */
#include <locale.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/analysis.h"
#include "common/cli.h"
#include "common/emit.h"
#include "common/inputs.h"
#include "fp8.h"
#include "io/tensor_file.h"

static const char *const tool = "fp8-error";

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: fp8-error [OPTIONS] INPUT...\n"
            "       fp8-error [OPTIONS] --synthetic KIND...\n"
            "For every tensor and every FP8 recipe (format x scaling x scale mode), the error of\n"
            "quantizing and dequantizing it, next to the error of rounding it to BF16.\n"
            "\n"
            "Inputs:\n"
            "  INPUT               a .npy file (v1-3; f2, f4, f8), a .safetensors file (F32, F16, BF16,\n"
            "                      F64, F8_E4M3, F8_E5M2; an F8_E4M3 NAME with a NAME_scale_inv is\n"
            "                      dequantized by its 128x128 blocks, DeepSeek-V3's layout), or raw\n"
            "                      little-endian data with --dtype and --shape\n"
            "  --tensor GLOB       only the safetensors tensors whose names match GLOB (repeatable)\n"
            "  --dtype TYPE        raw data's type: f32, f64, f16, bf16, e4m3, e5m2\n"
            "  --shape DIMS        raw data's shape, e.g. 4096x7168\n"
            "  --synthetic KIND    built-in seeded data: gaussian, laplace, student-t, llm (repeatable);\n"
            "                      KIND+MEAN adds MEAN to every value (gaussian+1: N(1, 1))\n"
            "  --rows N, --cols N  its size (default 1024 x 4096: tokens x channels for llm)\n"
            "  --seed N            its seed (default 1)\n"
            "Recipes (comma-separated lists):\n"
            "  --format LIST       e4m3, e5m2, e4m3fnuz, e5m2fnuz (default e4m3,e5m2)\n"
            "  --scaling LIST      tensor, row, column, mx32, or any RxC block such as 1x128, 128x128\n"
            "                      (0 = the whole extent); default tensor,row,1x128,128x128,mx32\n"
            "  --scale-mode LIST   default (each block shape's own: f32, or mx for 1x32), f32, pow2,\n"
            "                      mx, or all (= f32,pow2,mx); default: default\n"
            "  --saturation MODE   satfinite (default) or nosat\n"
            "Output (tensors in the order given; safetensors tensors in natural name order):\n"
            "  (stdout)            a text table per tensor, unless --quiet\n"
            "  --csv FILE          one row per tensor and recipe, BF16's figures in bf16_* columns\n"
            "  --json FILE         the same per tensor, with its log2|x| histogram; null for an\n"
            "                      infinite or undefined figure. FILE may be - for stdout.\n"
            "  --quiet             no text table (nor when --csv or --json writes to stdout)\n"
            "  --help, --version\n"
            "Exit status: 0 ok, 1 bad input (a one-line reason on stderr), 2 bad usage.\n");
}

/* ---- what to measure ---- */

#define MAX_LIST 64

typedef struct recipe {
    fp8_quant_config cfg;
    const char *scaling_label;
} recipe;

typedef struct options {
    input_options in;
    bool quiet;
    fp8_format formats[MAX_LIST];
    size_t nformats;
    scaling_choice scalings[MAX_LIST];
    size_t nscalings;
    int modes[MAX_LIST]; /* fp8_scale_mode, or -1: the block shape's default */
    size_t nmodes;
    fp8_saturation saturation;
    cli_outputs out;
} options;

static bool parse_format_item(const char *s, void *out, size_t i) { return fp8_format_from_name(s, (fp8_format *)out + i) == FP8_OK; }
static bool parse_scaling_item(const char *s, void *out, size_t i) { return scaling_parse(s, (scaling_choice *)out + i); }
static bool parse_mode_item(const char *s, void *out, size_t i)
{
    int *modes = out;
    fp8_scale_mode m;
    if (strcmp(s, "default") == 0) {
        modes[i] = -1;
        return true;
    }
    if (!scale_mode_from_name(s, &m)) return false;
    modes[i] = (int)m;
    return true;
}

/* Returns FP8_CONTINUE to go on, else the exit status. */
static int parse_args(int argc, char **argv, options *o)
{
    memset(o, 0, sizeof *o);
    input_options_init(&o->in);
    o->formats[0] = FP8_E4M3, o->formats[1] = FP8_E5M2, o->nformats = 2;
    static const char *const default_scalings[] = {"tensor", "row", "1x128", "128x128", "mx32"};
    for (size_t k = 0; k < 5; k++) scaling_parse(default_scalings[k], &o->scalings[k]);
    o->nscalings = 5;
    o->modes[0] = -1, o->nmodes = 1;
    o->saturation = FP8_SATFINITE;
    bool options_done = false;
    for (int a = 1; a < argc; a++) {
        const char *arg = argv[a];
        if (options_done || arg[0] != '-') {
            if (input_add_path(tool, &o->in, arg) != FP8_CONTINUE) return FP8_EXIT_USAGE;
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            options_done = true;
            continue;
        }
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            usage(stdout);
            return FP8_EXIT_OK;
        }
        if (strcmp(arg, "--version") == 0) {
            printf("fp8-error (libfp8) %s\n", fp8_version_string());
            return FP8_EXIT_OK;
        }
        if (strcmp(arg, "--quiet") == 0) {
            o->quiet = true;
            continue;
        }
        const int taken = input_option(tool, &o->in, argc, argv, &a);
        if (taken == FP8_CONTINUE) continue;
        if (taken != 0) return taken;
        static const char *const with_value[] = {"--format", "--scaling", "--scale-mode",
                                                 "--saturation", "--csv", "--json"};
        size_t k = 0;
        while (k < sizeof with_value / sizeof with_value[0] && strcmp(arg, with_value[k]) != 0) k++;
        if (k == sizeof with_value / sizeof with_value[0]) return cli_usage_error(tool, "unknown option '%s'", arg);
        if (a + 1 == argc) return cli_usage_error(tool, "%s needs a value", arg);
        const char *v = argv[++a];
        if (strcmp(arg, "--format") == 0) {
            if (!cli_parse_list(tool, arg, v, MAX_LIST, &o->nformats, parse_format_item, o->formats)) return FP8_EXIT_USAGE;
        } else if (strcmp(arg, "--scaling") == 0) {
            if (!cli_parse_list(tool, arg, v, MAX_LIST, &o->nscalings, parse_scaling_item, o->scalings)) return FP8_EXIT_USAGE;
        } else if (strcmp(arg, "--scale-mode") == 0) {
            if (strcmp(v, "all") == 0) v = "f32,pow2,mx";
            if (!cli_parse_list(tool, arg, v, MAX_LIST, &o->nmodes, parse_mode_item, o->modes)) return FP8_EXIT_USAGE;
        } else if (strcmp(arg, "--saturation") == 0) {
            if (strcmp(v, "satfinite") != 0 && strcmp(v, "nosat") != 0)
                return cli_usage_error(tool, "--saturation: expected satfinite or nosat, not '%s'", v);
            o->saturation = strcmp(v, "nosat") == 0 ? FP8_NOSAT : FP8_SATFINITE;
        } else if (strcmp(arg, "--csv") == 0) {
            o->out.csv_path = v;
        } else {
            o->out.json_path = v;
        }
    }
    if (input_options_check(tool, &o->in) != FP8_CONTINUE) return FP8_EXIT_USAGE;
    if (o->in.npaths == 0 && o->in.nsynthetic == 0) return cli_usage_error(tool, "no input (give files or --synthetic KIND)");
    if (cli_outputs_check(tool, &o->out) != FP8_CONTINUE) return FP8_EXIT_USAGE;
    return FP8_CONTINUE;
}

/* ---- results and their output ---- */

typedef struct recipe_result {
    const recipe *recipe;
    fp8_error_stats stats;
} recipe_result;

typedef struct tensor_result {
    const input_tensor *in;
    input_matrix m; /* the values, shape and type */
    fp8_error_accum bf16_acc; /* its reference side describes the input: histogram, amax */
    fp8_error_stats bf16;
    recipe_result *results;
    size_t nresults;
} tensor_result;

/* The statistics written for each recipe and for BF16, in CSV and JSON. */
static const struct {
    const char *name;
    size_t offset;
    bool is_count;
} stat_fields[] = {
#define STAT(name, is_count) {#name, offsetof(fp8_error_stats, name), is_count}
    STAT(sqnr_db, false),       STAT(rel_l2, false),         STAT(cosine, false),
    STAT(calc_diff, false),     STAT(mse, false),            STAT(max_abs_err, false),
    STAT(max_rel_err, false),   STAT(underflow_fraction, false), STAT(saturation_fraction, false),
    STAT(subnormal_fraction, false), STAT(finite_count, true), STAT(approx_nan_count, true),
    STAT(approx_inf_count, true),
#undef STAT
};

static void emit_stat(FILE *f, const fp8_error_stats *s, size_t k, bool json)
{
    const char *p = (const char *)s + stat_fields[k].offset;
    if (stat_fields[k].is_count) {
        uint64_t v;
        memcpy(&v, p, sizeof v);
        fprintf(f, "%llu", (unsigned long long)v);
    } else {
        double v;
        memcpy(&v, p, sizeof v);
        emit_number(f, v, json);
    }
}

static void shape_text(const tensor_result *t, char *buf, size_t cap)
{
    size_t len = 0;
    buf[0] = '\0';
    for (unsigned k = 0; k < t->m.ndim && len < cap; k++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%llu", k ? "x" : "", (unsigned long long)t->m.shape[k]);
    if (t->m.ndim == 0) snprintf(buf, cap, "scalar");
}

static void csv_header(FILE *f)
{
    fputs("tensor,source,dtype,dequantized,shape,rows,cols,count,nan_count,inf_count,amax,amin_nonzero,"
          "dynamic_range_binades,format,scaling,block_rows,block_cols,scale_mode,saturation",
          f);
    for (size_t k = 0; k < sizeof stat_fields / sizeof stat_fields[0]; k++) fprintf(f, ",%s", stat_fields[k].name);
    for (size_t k = 0; k < sizeof stat_fields / sizeof stat_fields[0]; k++) fprintf(f, ",bf16_%s", stat_fields[k].name);
    fputc('\n', f);
}

static void csv_rows(FILE *f, const tensor_result *t)
{
    char shape[256];
    shape_text(t, shape, sizeof shape);
    for (size_t r = 0; r < t->nresults; r++) {
        const recipe *rc = t->results[r].recipe;
        emit_csv_field(f, t->in->name);
        fputc(',', f);
        emit_csv_field(f, t->in->source);
        fprintf(f, ",%s,%d,%s,%zu,%zu,%llu,%llu,%llu,", t->m.dtype, t->m.dequantized, shape, t->m.rows, t->m.cols,
                (unsigned long long)t->bf16.count, (unsigned long long)t->bf16.nan_count,
                (unsigned long long)t->bf16.inf_count);
        emit_number(f, t->bf16.amax, false);
        fputc(',', f);
        emit_number(f, t->bf16.amin_nonzero, false);
        fputc(',', f);
        emit_number(f, t->bf16.dynamic_range_binades, false);
        fprintf(f, ",%s,%s,%zu,%zu,%s,%s", fp8_format_name(rc->cfg.format), rc->scaling_label, rc->cfg.block_rows,
                rc->cfg.block_cols, scale_mode_name(rc->cfg.scale_mode),
                rc->cfg.saturation == FP8_NOSAT ? "nosat" : "satfinite");
        for (size_t k = 0; k < sizeof stat_fields / sizeof stat_fields[0]; k++) {
            fputc(',', f);
            emit_stat(f, &t->results[r].stats, k, false);
        }
        for (size_t k = 0; k < sizeof stat_fields / sizeof stat_fields[0]; k++) {
            fputc(',', f);
            emit_stat(f, &t->bf16, k, false);
        }
        fputc('\n', f);
    }
}

static void json_stats(FILE *f, const fp8_error_stats *s)
{
    for (size_t k = 0; k < sizeof stat_fields / sizeof stat_fields[0]; k++) {
        fprintf(f, "%s\"%s\": ", k ? ", " : "", stat_fields[k].name);
        emit_stat(f, s, k, true);
    }
}

static void json_tensor(FILE *f, const tensor_result *t, bool first)
{
    fprintf(f, "%s\n    {\"name\": ", first ? "" : ",");
    emit_json_string(f, t->in->name);
    fputs(", \"source\": ", f);
    emit_json_string(f, t->in->source);
    fprintf(f, ", \"dtype\": \"%s\", \"dequantized\": %s, \"shape\": [", t->m.dtype, t->m.dequantized ? "true" : "false");
    for (unsigned k = 0; k < t->m.ndim; k++) fprintf(f, "%s%llu", k ? ", " : "", (unsigned long long)t->m.shape[k]);
    fprintf(f, "], \"rows\": %zu, \"cols\": %zu,\n     \"input\": {\"count\": %llu, \"nonzero_count\": %llu, "
               "\"nan_count\": %llu, \"inf_count\": %llu, \"amax\": ",
            t->m.rows, t->m.cols, (unsigned long long)t->bf16.count, (unsigned long long)t->bf16.nonzero_count,
            (unsigned long long)t->bf16.nan_count, (unsigned long long)t->bf16.inf_count);
    emit_number(f, t->bf16.amax, true);
    fputs(", \"amin_nonzero\": ", f);
    emit_number(f, t->bf16.amin_nonzero, true);
    fputs(", \"dynamic_range_binades\": ", f);
    emit_number(f, t->bf16.dynamic_range_binades, true);
    fprintf(f, ",\n      \"log2_histogram\": {\"min_log2\": %d, \"bins\": [", FP8_ERROR_HIST_MIN_LOG2);
    bool any = false;
    for (int b = 0; b < FP8_ERROR_HIST_BINS; b++) {
        if (t->bf16_acc.log2_hist[b] == 0) continue;
        fprintf(f, "%s[%d, %llu]", any ? ", " : "", FP8_ERROR_HIST_MIN_LOG2 + b,
                (unsigned long long)t->bf16_acc.log2_hist[b]);
        any = true;
    }
    fputs("]}},\n     \"bf16\": {", f);
    json_stats(f, &t->bf16);
    fputs("},\n     \"fp8\": [", f);
    for (size_t r = 0; r < t->nresults; r++) {
        const recipe *rc = t->results[r].recipe;
        fprintf(f, "%s\n      {\"format\": \"%s\", \"scaling\": ", r ? "," : "", fp8_format_name(rc->cfg.format));
        emit_json_string(f, rc->scaling_label);
        fprintf(f, ", \"block_rows\": %zu, \"block_cols\": %zu, \"scale_mode\": \"%s\", \"saturation\": \"%s\", ",
                rc->cfg.block_rows, rc->cfg.block_cols, scale_mode_name(rc->cfg.scale_mode),
                rc->cfg.saturation == FP8_NOSAT ? "nosat" : "satfinite");
        json_stats(f, &t->results[r].stats);
        fputc('}', f);
    }
    fputs("]}", f);
}

/* A percentage, or "0" when nothing happened. */
static void text_percent(char *buf, size_t cap, double fraction)
{
    if (fraction == 0)
        snprintf(buf, cap, "0");
    else
        snprintf(buf, cap, "%.3g%%", 100 * fraction);
}

static void text_row(FILE *f, const char *format, const char *scaling, const char *mode, const fp8_error_stats *s,
                     const fp8_error_stats *bf16)
{
    char vs[16] = "", under[16], sat[16], sub[16];
    if (bf16 && isfinite(s->sqnr_db) && isfinite(bf16->sqnr_db)) snprintf(vs, sizeof vs, "%+.2f", s->sqnr_db - bf16->sqnr_db);
    text_percent(under, sizeof under, s->underflow_fraction);
    text_percent(sat, sizeof sat, s->saturation_fraction);
    text_percent(sub, sizeof sub, s->subnormal_fraction);
    fprintf(f, "  %-9s %-9s %-5s %8.2f %8s %10.3e %10.3e %10.3e %10.3e %9s %9s %9s\n", format, scaling, mode,
            s->sqnr_db, vs, s->rel_l2, s->calc_diff, s->max_abs_err, s->max_rel_err, under, sat, sub);
}

static void text_tensor(FILE *f, const tensor_result *t)
{
    char shape[256];
    shape_text(t, shape, sizeof shape);
    fprintf(f, "\n%s  (%s, %s%s, %s)\n", t->in->name, t->in->source, t->m.dtype,
            t->m.dequantized ? " dequantized with its scale_inv" : "", shape);
    fprintf(f, "  %llu values, amax %.4g, smallest |x| %.4g, dynamic range %.1f binades, %llu NaN, %llu Inf\n",
            (unsigned long long)t->bf16.count, t->bf16.amax, t->bf16.amin_nonzero, t->bf16.dynamic_range_binades,
            (unsigned long long)t->bf16.nan_count, (unsigned long long)t->bf16.inf_count);
    fprintf(f, "  %-9s %-9s %-5s %8s %8s %10s %10s %10s %10s %9s %9s %9s\n", "format", "scaling", "mode", "SQNR dB",
            "vs BF16", "rel L2", "calc_diff", "max abs", "max rel", "underflow", "saturated", "subnormal");
    text_row(f, "bf16", "-", "-", &t->bf16, NULL);
    for (size_t r = 0; r < t->nresults; r++) {
        const recipe *rc = t->results[r].recipe;
        text_row(f, fp8_format_name(rc->cfg.format), rc->scaling_label, scale_mode_name(rc->cfg.scale_mode),
                 &t->results[r].stats, &t->bf16);
    }
}

/* ---- the measurements ---- */

static void progress(bool on, size_t tensor, size_t ntensors, const char *name, const char *what)
{
    if (on) fprintf(stderr, "\r\033[K%s: [%zu/%zu] %.40s: %s", tool, tensor + 1, ntensors, name, what);
}

static int analyse(const recipe *recipes, size_t nrecipes, tensor_result *t,
                   analysis_workspace *w, bool show, size_t index, size_t ntensors)
{
    fp8_status st;
    progress(show, index, ntensors, t->in->name, "bf16");
    fp8_error_accum_init(&t->bf16_acc);
    if ((st = analysis_bf16(t->m.x, t->m.rows * t->m.cols, w, &t->bf16_acc)) != FP8_OK)
        return cli_input_error(tool, "%s: %s", t->in->name, fp8_status_string(st));
    fp8_error_accum_finalize(&t->bf16_acc, &t->bf16);
    for (size_t r = 0; r < nrecipes; r++) {
        char what[96];
        snprintf(what, sizeof what, "%s %s %s (%zu/%zu)", fp8_format_name(recipes[r].cfg.format),
                 recipes[r].scaling_label, scale_mode_name(recipes[r].cfg.scale_mode), r + 1, nrecipes);
        progress(show, index, ntensors, t->in->name, what);
        fp8_error_accum acc;
        fp8_error_accum_init(&acc);
        if ((st = analysis_fp8(t->m.x, t->m.rows, t->m.cols, &recipes[r].cfg, w, &acc)) != FP8_OK)
            return cli_input_error(tool, "%s: %s", t->in->name, fp8_status_string(st));
        t->results[r].recipe = &recipes[r];
        fp8_error_accum_finalize(&acc, &t->results[r].stats);
    }
    t->nresults = nrecipes;
    return FP8_CONTINUE;
}

static int run(const options *o, const input_set *in)
{
    /* every recipe: format x scaling x mode */
    static recipe recipes[MAX_LIST * MAX_LIST];
    size_t nrecipes = 0;
    for (size_t f = 0; f < o->nformats; f++)
        for (size_t s = 0; s < o->nscalings; s++)
            for (size_t m = 0; m < o->nmodes; m++) {
                if (nrecipes == sizeof recipes / sizeof recipes[0]) return cli_usage_error(tool, "too many recipes");
                recipe *r = &recipes[nrecipes++];
                r->cfg = fp8_quant_config_init(o->formats[f], o->scalings[s].block_rows, o->scalings[s].block_cols);
                if (o->modes[m] >= 0) r->cfg.scale_mode = (fp8_scale_mode)o->modes[m];
                r->cfg.saturation = o->saturation;
                r->scaling_label = o->scalings[s].label;
            }
    recipe_result *results = malloc(nrecipes * sizeof *results);
    int status = results ? FP8_CONTINUE : cli_input_error(tool, "out of memory");
    cli_outputs out = o->out;
    if (status < 0) status = cli_outputs_open(tool, &out);
    FILE *csv = out.csv, *json = out.json, *text = o->quiet || cli_outputs_on_stdout(&out) ? NULL : stdout;
    const bool show = isatty(STDERR_FILENO);
    if (status < 0) {
        if (csv) csv_header(csv);
        if (json) fprintf(json, "{\"tool\": \"fp8-error\", \"libfp8\": \"%s\", \"tensors\": [", fp8_version_string());
        if (text)
            fprintf(text, "fp8-error (libfp8 %s): tensors %zu, recipes %zu, %s; BF16 = round to nearest even\n",
                    fp8_version_string(), in->ntensors, nrecipes, o->saturation == FP8_NOSAT ? "nosat" : "satfinite");
    }
    analysis_workspace w = {0};
    for (size_t i = 0; status < 0 && i < in->ntensors; i++) {
        tensor_result t = {.in = &in->tensors[i], .results = results};
        progress(show, i, in->ntensors, in->tensors[i].name, "loading");
        status = input_load(tool, &o->in, in, i, &t.m);
        if (status < 0) status = analyse(recipes, nrecipes, &t, &w, show, i, in->ntensors);
        free(t.m.x);
        if (show) fputs("\r\033[K", stderr);
        if (status >= 0) break;
        if (text) text_tensor(text, &t);
        if (csv) csv_rows(csv, &t);
        if (json) json_tensor(json, &t, i == 0);
    }
    if (json && status < 0) fputs("\n]}\n", json);
    analysis_workspace_free(&w);
    status = cli_outputs_close(tool, &out, status);
    free(results);
    return status < 0 ? FP8_EXIT_OK : status;
}

int main(int argc, char **argv)
{
    setlocale(LC_ALL, "C");
    static options o;
    int status = parse_args(argc, argv, &o);
    if (status >= 0) return status;
    static input_set in;
    status = input_set_open(tool, &o.in, &in);
    if (status < 0) status = run(&o, &in);
    input_set_close(&in);
    return status;
}
