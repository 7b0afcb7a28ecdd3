/* fp8-error: what FP8 quantization would cost each tensor, recipe by recipe
 * (format x block scaling x scale mode), with BF16's own error on the same
 * tensor beside it. Inputs are .npy, safetensors (DeepSeek-V3 FP8 weights
 * dequantized first), raw data, or built-in synthetic tensors. */
#define _POSIX_C_SOURCE 200809L /* fnmatch, isatty */
#include <fnmatch.h>
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
#include "common/synth.h"
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
            "  --synthetic KIND    built-in seeded data: gaussian, laplace, student-t, llm (repeatable)\n"
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
    const char *globs[MAX_LIST];
    size_t nglobs;
    const char *inputs[MAX_LIST];
    size_t ninputs;
    synth_kind synthetic[MAX_LIST];
    size_t nsynthetic;
    size_t synth_rows, synth_cols;
    uint64_t seed;
    bool have_raw, quiet;
    raw_layout raw;
    fp8_format formats[MAX_LIST];
    size_t nformats;
    scaling_choice scalings[MAX_LIST];
    size_t nscalings;
    int modes[MAX_LIST]; /* fp8_scale_mode, or -1: the block shape's default */
    size_t nmodes;
    fp8_saturation saturation;
    const char *csv_path, *json_path;
} options;

/* Splits a comma-separated list, calling parse on each item; false (and a
 * usage message) on an empty or bad item or too many. */
static bool parse_list(const char *option, const char *text, size_t *count, bool (*parse)(const char *, void *, size_t),
                       void *out)
{
    char item[128];
    const char *p = text;
    *count = 0;
    for (;;) {
        const size_t len = strcspn(p, ",");
        if (len == 0 || len >= sizeof item || *count == MAX_LIST) {
            cli_usage_error(tool, "%s: bad list '%s'", option, text);
            return false;
        }
        memcpy(item, p, len);
        item[len] = '\0';
        if (!parse(item, out, (*count)++)) {
            cli_usage_error(tool, "%s: unknown value '%s'", option, item);
            return false;
        }
        if (p[len] == '\0') return true;
        p += len + 1;
    }
}

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

static bool parse_size(const char *s, uint64_t *v)
{
    char *end;
    if (*s < '0' || *s > '9') return false;
    *v = strtoull(s, &end, 10);
    return *end == '\0';
}

/* "4096x7168" (or with commas) into a raw layout's shape. */
static bool parse_shape(const char *s, raw_layout *raw)
{
    raw->ndim = 0;
    for (const char *p = s;;) {
        char *end;
        if (raw->ndim == TENSOR_MAX_DIMS || *p < '0' || *p > '9') return false;
        raw->shape[raw->ndim++] = strtoull(p, &end, 10);
        if (*end == '\0') return true;
        if (*end != 'x' && *end != ',') return false;
        p = end + 1;
    }
}

/* Returns -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, options *o)
{
    memset(o, 0, sizeof *o);
    o->synth_rows = 1024;
    o->synth_cols = 4096;
    o->seed = 1;
    o->formats[0] = FP8_E4M3, o->formats[1] = FP8_E5M2, o->nformats = 2;
    static const char *const default_scalings[] = {"tensor", "row", "1x128", "128x128", "mx32"};
    for (size_t k = 0; k < 5; k++) scaling_parse(default_scalings[k], &o->scalings[k]);
    o->nscalings = 5;
    o->modes[0] = -1, o->nmodes = 1;
    o->saturation = FP8_SATFINITE;
    bool have_dtype = false, have_shape = false, options_done = false;
    for (int a = 1; a < argc; a++) {
        const char *arg = argv[a];
        if (options_done || arg[0] != '-') {
            if (o->ninputs == MAX_LIST) return cli_usage_error(tool, "more than %d inputs", MAX_LIST);
            o->inputs[o->ninputs++] = arg;
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
        static const char *const with_value[] = {"--tensor", "--dtype", "--shape", "--synthetic", "--rows",
                                                 "--cols", "--seed", "--format", "--scaling", "--scale-mode",
                                                 "--saturation", "--csv", "--json"};
        size_t k = 0;
        while (k < sizeof with_value / sizeof with_value[0] && strcmp(arg, with_value[k]) != 0) k++;
        if (k == sizeof with_value / sizeof with_value[0]) return cli_usage_error(tool, "unknown option '%s'", arg);
        if (a + 1 == argc) return cli_usage_error(tool, "%s needs a value", arg);
        const char *v = argv[++a];
        uint64_t n;
        if (strcmp(arg, "--tensor") == 0) {
            if (o->nglobs == MAX_LIST) return cli_usage_error(tool, "more than %d --tensor patterns", MAX_LIST);
            o->globs[o->nglobs++] = v;
        } else if (strcmp(arg, "--dtype") == 0) {
            if (!tensor_dtype_from_name(v, &o->raw.dtype))
                return cli_usage_error(tool, "--dtype: unknown type '%s' (f32, f64, f16, bf16, e4m3, e5m2)", v);
            have_dtype = true;
        } else if (strcmp(arg, "--shape") == 0) {
            if (!parse_shape(v, &o->raw)) return cli_usage_error(tool, "--shape: expected sizes like 4096x7168, not '%s'", v);
            have_shape = true;
        } else if (strcmp(arg, "--synthetic") == 0) {
            if (o->nsynthetic == MAX_LIST) return cli_usage_error(tool, "more than %d --synthetic inputs", MAX_LIST);
            if (!synth_kind_from_name(v, &o->synthetic[o->nsynthetic++]))
                return cli_usage_error(tool, "--synthetic: unknown kind '%s' (gaussian, laplace, student-t, llm)", v);
        } else if (strcmp(arg, "--rows") == 0 || strcmp(arg, "--cols") == 0) {
            if (!parse_size(v, &n) || n == 0 || n > ((uint64_t)1 << 32))
                return cli_usage_error(tool, "%s: expected a size from 1 to 2^32, not '%s'", arg, v);
            *(strcmp(arg, "--rows") == 0 ? &o->synth_rows : &o->synth_cols) = (size_t)n;
        } else if (strcmp(arg, "--seed") == 0) {
            if (!parse_size(v, &o->seed)) return cli_usage_error(tool, "--seed: expected a number, not '%s'", v);
        } else if (strcmp(arg, "--format") == 0) {
            if (!parse_list(arg, v, &o->nformats, parse_format_item, o->formats)) return FP8_EXIT_USAGE;
        } else if (strcmp(arg, "--scaling") == 0) {
            if (!parse_list(arg, v, &o->nscalings, parse_scaling_item, o->scalings)) return FP8_EXIT_USAGE;
        } else if (strcmp(arg, "--scale-mode") == 0) {
            if (strcmp(v, "all") == 0) v = "f32,pow2,mx";
            if (!parse_list(arg, v, &o->nmodes, parse_mode_item, o->modes)) return FP8_EXIT_USAGE;
        } else if (strcmp(arg, "--saturation") == 0) {
            if (strcmp(v, "satfinite") != 0 && strcmp(v, "nosat") != 0)
                return cli_usage_error(tool, "--saturation: expected satfinite or nosat, not '%s'", v);
            o->saturation = strcmp(v, "nosat") == 0 ? FP8_NOSAT : FP8_SATFINITE;
        } else if (strcmp(arg, "--csv") == 0) {
            o->csv_path = v;
        } else {
            o->json_path = v;
        }
    }
    if (have_dtype != have_shape) return cli_usage_error(tool, "raw data needs both --dtype and --shape");
    o->have_raw = have_dtype;
    if (o->ninputs == 0 && o->nsynthetic == 0) return cli_usage_error(tool, "no input (give files or --synthetic KIND)");
    if (o->csv_path && o->json_path && strcmp(o->csv_path, "-") == 0 && strcmp(o->json_path, "-") == 0)
        return cli_usage_error(tool, "--csv and --json cannot both go to stdout");
    return -1;
}

/* ---- the tensors ---- */

typedef struct job {
    const char *name, *source;
    size_t file;               /* files[file] and entry, or */
    const tensor_entry *entry;
    int synthetic;             /* a synth_kind, or -1 */
} job;

static bool selected(const options *o, const tensor_entry *e, bool *matched)
{
    if (o->nglobs == 0) return true;
    for (size_t g = 0; g < o->nglobs; g++) {
        if (fnmatch(o->globs[g], e->name, 0) == 0) {
            matched[g] = true;
            return true;
        }
    }
    return false;
}

/* Lists every tensor to analyse in jobs, and those it cannot (empty, or not
 * floating point) in skipped, noted on stderr once there is something to do.
 * Returns -1 to go on, else the exit status. */
static int plan(const options *o, const tensor_file *files, job *jobs, size_t *njobs, job *skipped)
{
    bool matched[MAX_LIST] = {false};
    size_t nskipped = 0;
    *njobs = 0;
    for (size_t f = 0; f < o->ninputs; f++) {
        for (size_t i = 0; i < files[f].count; i++) {
            const tensor_entry *e = &files[f].entries[i];
            if (e->name && (!selected(o, e, matched) || (o->nglobs == 0 && tensor_is_scale_inv(files, o->ninputs, e))))
                continue;
            const job j = {e->name ? e->name : o->inputs[f], o->inputs[f], f, e, -1};
            if (e->dtype == DTYPE_OTHER || e->count == 0)
                skipped[nskipped++] = j;
            else
                jobs[(*njobs)++] = j;
        }
    }
    for (size_t g = 0; g < o->nglobs; g++)
        if (!matched[g]) return cli_input_error(tool, "--tensor '%s' matches no tensor", o->globs[g]);
    for (size_t s = 0; s < o->nsynthetic; s++)
        jobs[(*njobs)++] = (job){synth_kind_name(o->synthetic[s]), "synthetic", 0, NULL, (int)o->synthetic[s]};
    if (*njobs == 0)
        return cli_input_error(tool, "no floating-point tensor to analyse (%zu empty or not floating point)", nskipped);
    for (size_t k = 0; k < nskipped; k++)
        fprintf(stderr, "%s: %s: skipping %s%s (%s)\n", tool, skipped[k].source, skipped[k].entry->name ? "tensor " : "the data",
                skipped[k].entry->name ? skipped[k].entry->name : "",
                skipped[k].entry->count == 0 ? "empty" : skipped[k].entry->dtype_name);
    return -1;
}

/* ---- results and their output ---- */

typedef struct recipe_result {
    const recipe *recipe;
    fp8_error_stats stats;
} recipe_result;

typedef struct tensor_result {
    const job *job;
    const char *dtype;
    bool dequantized;
    unsigned ndim;
    uint64_t shape[TENSOR_MAX_DIMS];
    size_t rows, cols;
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
    for (unsigned k = 0; k < t->ndim && len < cap; k++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%llu", k ? "x" : "", (unsigned long long)t->shape[k]);
    if (t->ndim == 0) snprintf(buf, cap, "scalar");
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
        emit_csv_field(f, t->job->name);
        fputc(',', f);
        emit_csv_field(f, t->job->source);
        fprintf(f, ",%s,%d,%s,%zu,%zu,%llu,%llu,%llu,", t->dtype, t->dequantized, shape, t->rows, t->cols,
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
    emit_json_string(f, t->job->name);
    fputs(", \"source\": ", f);
    emit_json_string(f, t->job->source);
    fprintf(f, ", \"dtype\": \"%s\", \"dequantized\": %s, \"shape\": [", t->dtype, t->dequantized ? "true" : "false");
    for (unsigned k = 0; k < t->ndim; k++) fprintf(f, "%s%llu", k ? ", " : "", (unsigned long long)t->shape[k]);
    fprintf(f, "], \"rows\": %zu, \"cols\": %zu,\n     \"input\": {\"count\": %llu, \"nonzero_count\": %llu, "
               "\"nan_count\": %llu, \"inf_count\": %llu, \"amax\": ",
            t->rows, t->cols, (unsigned long long)t->bf16.count, (unsigned long long)t->bf16.nonzero_count,
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
    fprintf(f, "\n%s  (%s, %s%s, %s)\n", t->job->name, t->job->source, t->dtype,
            t->dequantized ? " dequantized with its scale_inv" : "", shape);
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

/* Loads or generates job j's matrix. */
static int load(const options *o, const tensor_file *files, const job *j, tensor_result *t, float **x)
{
    if (j->synthetic >= 0) {
        t->rows = o->synth_rows, t->cols = o->synth_cols;
        t->ndim = 2, t->shape[0] = t->rows, t->shape[1] = t->cols;
        t->dtype = "f32";
        size_t n;
        if (__builtin_mul_overflow(t->rows, t->cols, &n) || !(*x = calloc(n, sizeof **x)))
            return cli_input_error(tool, "synthetic %s: out of memory for %zu x %zu values", j->name, t->rows, t->cols);
        const synth_spec spec = synth_spec_init((synth_kind)j->synthetic, o->seed);
        synth_fill(&spec, *x, 0, t->rows, t->cols);
        return -1;
    }
    const tensor_entry *e = j->entry;
    uint64_t rows, cols;
    tensor_entry_matrix(e, &rows, &cols);
    t->rows = (size_t)rows, t->cols = (size_t)cols;
    t->ndim = e->ndim;
    memcpy(t->shape, e->shape, sizeof t->shape);
    t->dtype = e->dtype_name;
    tensor_error err;
    const fp8_status st = tensor_load_matrix(files, o->ninputs, j->file, e, x, &t->dequantized, &err);
    if (st != FP8_OK)
        return cli_input_error(tool, "%s%s%s: %s", j->source, e->name ? ": " : "", e->name ? e->name : "", err.message);
    return -1;
}

static int analyse(const recipe *recipes, size_t nrecipes, const float *x, tensor_result *t,
                   analysis_workspace *w, bool show, size_t index, size_t ntensors)
{
    fp8_status st;
    progress(show, index, ntensors, t->job->name, "bf16");
    fp8_error_accum_init(&t->bf16_acc);
    if ((st = analysis_bf16(x, t->rows * t->cols, w, &t->bf16_acc)) != FP8_OK)
        return cli_input_error(tool, "%s: %s", t->job->name, fp8_status_string(st));
    fp8_error_accum_finalize(&t->bf16_acc, &t->bf16);
    for (size_t r = 0; r < nrecipes; r++) {
        char what[96];
        snprintf(what, sizeof what, "%s %s %s (%zu/%zu)", fp8_format_name(recipes[r].cfg.format),
                 recipes[r].scaling_label, scale_mode_name(recipes[r].cfg.scale_mode), r + 1, nrecipes);
        progress(show, index, ntensors, t->job->name, what);
        fp8_error_accum acc;
        fp8_error_accum_init(&acc);
        if ((st = analysis_fp8(x, t->rows, t->cols, &recipes[r].cfg, w, &acc)) != FP8_OK)
            return cli_input_error(tool, "%s: %s", t->job->name, fp8_status_string(st));
        t->results[r].recipe = &recipes[r];
        fp8_error_accum_finalize(&acc, &t->results[r].stats);
    }
    t->nresults = nrecipes;
    return -1;
}

static FILE *open_output(const char *path)
{
    return strcmp(path, "-") == 0 ? stdout : fopen(path, "w");
}

static int run(const options *o, tensor_file *files)
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
    size_t max_jobs = o->nsynthetic;
    for (size_t f = 0; f < o->ninputs; f++) max_jobs += files[f].count;
    job *jobs = malloc((max_jobs ? max_jobs : 1) * sizeof *jobs), *skipped = malloc((max_jobs ? max_jobs : 1) * sizeof *jobs);
    recipe_result *results = malloc(nrecipes * sizeof *results);
    size_t njobs = 0;
    int status = jobs && skipped && results ? plan(o, files, jobs, &njobs, skipped) : cli_input_error(tool, "out of memory");
    FILE *csv = NULL, *json = NULL;
    if (status < 0 && o->csv_path && !(csv = open_output(o->csv_path)))
        status = cli_input_error(tool, "cannot write '%s'", o->csv_path);
    if (status < 0 && o->json_path && !(json = open_output(o->json_path)))
        status = cli_input_error(tool, "cannot write '%s'", o->json_path);
    const bool show = isatty(STDERR_FILENO);
    const bool to_stdout = (o->csv_path && strcmp(o->csv_path, "-") == 0) || (o->json_path && strcmp(o->json_path, "-") == 0);
    FILE *text = o->quiet || to_stdout ? NULL : stdout;
    if (status < 0) {
        if (csv) csv_header(csv);
        if (json) fprintf(json, "{\"tool\": \"fp8-error\", \"libfp8\": \"%s\", \"tensors\": [", fp8_version_string());
        if (text)
            fprintf(text, "fp8-error (libfp8 %s): tensors %zu, recipes %zu, %s; BF16 = round to nearest even\n",
                    fp8_version_string(), njobs, nrecipes, o->saturation == FP8_NOSAT ? "nosat" : "satfinite");
    }
    analysis_workspace w = {0};
    for (size_t i = 0; status < 0 && i < njobs; i++) {
        tensor_result t = {.job = &jobs[i], .results = results};
        float *x = NULL;
        progress(show, i, njobs, jobs[i].name, "loading");
        status = load(o, files, &jobs[i], &t, &x);
        if (status < 0) status = analyse(recipes, nrecipes, x, &t, &w, show, i, njobs);
        free(x);
        if (show) fputs("\r\033[K", stderr);
        if (status >= 0) break;
        if (text) text_tensor(text, &t);
        if (csv) csv_rows(csv, &t);
        if (json) json_tensor(json, &t, i == 0);
    }
    if (json && status < 0) fputs("\n]}\n", json);
    analysis_workspace_free(&w);
    if (csv && csv != stdout && fclose(csv) != 0 && status < 0) status = cli_input_error(tool, "cannot write '%s'", o->csv_path);
    if (json && json != stdout && fclose(json) != 0 && status < 0) status = cli_input_error(tool, "cannot write '%s'", o->json_path);
    if (status < 0 && fflush(stdout) != 0) status = cli_input_error(tool, "cannot write the output");
    free(jobs);
    free(skipped);
    free(results);
    return status < 0 ? FP8_EXIT_OK : status;
}

int main(int argc, char **argv)
{
    setlocale(LC_ALL, "C");
    static options o;
    int status = parse_args(argc, argv, &o);
    if (status >= 0) return status;
    static tensor_file files[MAX_LIST];
    size_t opened = 0;
    for (; opened < o.ninputs && status < 0; opened++) {
        tensor_error err;
        if (tensor_file_open(&files[opened], o.inputs[opened], o.have_raw ? &o.raw : NULL, &err) != FP8_OK) {
            status = cli_input_error(tool, "%s: %s", o.inputs[opened], err.message);
            break;
        }
    }
    if (status < 0) status = run(&o, files);
    for (size_t f = 0; f < opened; f++) tensor_file_close(&files[f]);
    return status;
}
