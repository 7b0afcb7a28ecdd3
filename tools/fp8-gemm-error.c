/* fp8-gemm-error: how much error FP8 GEMMs add, against an FP64 truth,
 * depending on the accumulator (FP32, or the emulated tensor-core
 * accumulator at some width, promotion interval and alignment model), next
 * to a BF16 GEMM, over K and input distributions; and DeepSeek-V3's "nearly
 * 2%" put in context. The measurements are common/gemm_error.h's. */
#define _POSIX_C_SOURCE 200809L /* isatty */
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cli.h"
#include "common/emit.h"
#include "common/gemm_error.h"
#include "common/synth.h"
#include "fp8.h"

static const char *const tool = "fp8-gemm-error";

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: fp8-gemm-error [OPTIONS]\n"
            "The error of D = A B^T (A: M x K, B: N x K, drawn from synthetic distributions) computed from\n"
            "BF16 operands, or from E4M3 operands scaled per tensor with FP32 accumulation or with the emulated\n"
            "tensor-core accumulator (BITS bits, promoted to FP32 every P elements or never, each alignment\n"
            "model), against FP64 truths; and DeepSeek-V3's figure (nearly 2%% at K = 4096) in context.\n"
            "\n"
            "  --data LIST      distributions: gaussian, laplace, student-t, llm, each with an optional +MEAN\n"
            "                   (gaussian+1 is N(1, 1)); default gaussian+1,gaussian\n"
            "  --k LIST         inner dimensions, 1 to 65536; default 128,256,512,1024,2048,4096\n"
            "  --bits LIST      emulated accumulator widths, 1 to 24; default 14\n"
            "  --promote LIST   promotion intervals, 0 = never; default 0,128\n"
            "  --model LIST     accumulator models: with-sum (the running sum takes part in the alignment),\n"
            "                   products (only the products are aligned); default with-sum,products\n"
            "  --size MxN       outputs per product, at most 4096 x 4096; default 32x32\n"
            "  --mma-k N        products per accumulator step, 1 to 64; default 32 (Hopper's FP8 MMA)\n"
            "  --seed N         default 1\n"
            "  --full           the full sweep: --data gaussian+1,laplace+1,gaussian,laplace,student-t,llm\n"
            "                   --k 128,256,...,16384 --bits 10,12,...,24 --promote 0,32,64,128,256,512\n"
            "                   (minutes; options given with it override its lists)\n"
            "Output:\n"
            "  (stdout)         a text table per distribution and the DeepSeek-V3 context, unless --quiet\n"
            "  --csv FILE       one row per distribution, K and method; errors in accumulation_* (against the\n"
            "                   FP64 product of the operands the GEMM reads) and total_* (against the FP64\n"
            "                   product of the FP32 inputs) columns\n"
            "  --json FILE      the same, with the DeepSeek-V3 context; FILE may be - for stdout\n"
            "  --quiet          no text (nor when --csv or --json writes to stdout)\n"
            "  --help, --version\n"
            "Exit status: 0 ok, 1 an output that cannot be written or memory that runs out, 2 bad usage.\n");
}

#define MAX_LIST 64

typedef struct options {
    char data[MAX_LIST][48]; /* distribution names */
    size_t ndata;
    uint64_t ks[MAX_LIST];
    size_t nks;
    unsigned bits[MAX_LIST];
    size_t nbits;
    size_t promote[MAX_LIST];
    size_t npromote;
    fp8_accum_model models[2];
    size_t nmodels;
    size_t M, N;
    unsigned mma_k;
    uint64_t seed;
    bool quiet;
    cli_outputs out;
} options;

static bool parse_data(const char *s, void *out, size_t i)
{
    synth_spec spec;
    char (*names)[48] = out;
    if (strlen(s) >= sizeof names[i] || !synth_spec_parse(s, 0, &spec)) return false;
    strcpy(names[i], s);
    return true;
}
static bool parse_k(const char *s, void *out, size_t i)
{
    return cli_parse_size(s, (uint64_t *)out + i) && ((uint64_t *)out)[i] >= 1 && ((uint64_t *)out)[i] <= 65536;
}
static bool parse_bits(const char *s, void *out, size_t i)
{
    uint64_t v;
    if (!cli_parse_size(s, &v) || v < 1 || v > 24) return false;
    ((unsigned *)out)[i] = (unsigned)v;
    return true;
}
static bool parse_promote(const char *s, void *out, size_t i)
{
    uint64_t v;
    if (!cli_parse_size(s, &v) || v > 65536) return false;
    ((size_t *)out)[i] = (size_t)v;
    return true;
}
static bool parse_model(const char *s, void *out, size_t i) { return gemm_model_from_name(s, (fp8_accum_model *)out + i); }

/* Lists come from the command line, whose strings outlive the run; the
 * defaults are parsed from these. */
static const char *const default_lists[][2] = {
    {"--data", "gaussian+1,gaussian"}, {"--k", "128,256,512,1024,2048,4096"}, {"--bits", "14"},
    {"--promote", "0,128"},            {"--model", "with-sum,products"}};
static const char *const full_lists[][2] = {{"--data", "gaussian+1,laplace+1,gaussian,laplace,student-t,llm"},
                                            {"--k", "128,256,512,1024,2048,4096,8192,16384"},
                                            {"--bits", "10,12,14,16,18,20,22,24"},
                                            {"--promote", "0,32,64,128,256,512"}};

static bool set_list(options *o, const char *option, const char *v)
{
    if (strcmp(option, "--data") == 0) return cli_parse_list(tool, option, v, MAX_LIST, &o->ndata, parse_data, o->data);
    if (strcmp(option, "--k") == 0) return cli_parse_list(tool, option, v, MAX_LIST, &o->nks, parse_k, o->ks);
    if (strcmp(option, "--bits") == 0) return cli_parse_list(tool, option, v, MAX_LIST, &o->nbits, parse_bits, o->bits);
    if (strcmp(option, "--promote") == 0)
        return cli_parse_list(tool, option, v, MAX_LIST, &o->npromote, parse_promote, o->promote);
    return cli_parse_list(tool, option, v, 2, &o->nmodels, parse_model, o->models);
}

/* "32x32" */
static bool parse_size_pair(const char *s, size_t *m, size_t *n)
{
    char first[24];
    const size_t len = strcspn(s, "x");
    uint64_t a, b;
    if (s[len] != 'x' || len >= sizeof first) return false;
    memcpy(first, s, len);
    first[len] = '\0';
    if (!cli_parse_size(first, &a) || !cli_parse_size(s + len + 1, &b) || a < 1 || b < 1 || a > 4096 || b > 4096)
        return false;
    *m = (size_t)a, *n = (size_t)b;
    return true;
}

static int parse_args(int argc, char **argv, options *o)
{
    memset(o, 0, sizeof *o);
    o->M = o->N = 32;
    o->mma_k = 32;
    o->seed = 1;
    for (size_t k = 0; k < sizeof default_lists / sizeof default_lists[0]; k++)
        set_list(o, default_lists[k][0], default_lists[k][1]);
    for (int a = 1; a < argc; a++)
        if (strcmp(argv[a], "--full") == 0)
            for (size_t k = 0; k < sizeof full_lists / sizeof full_lists[0]; k++) set_list(o, full_lists[k][0], full_lists[k][1]);
    for (int a = 1; a < argc; a++) {
        const char *arg = argv[a];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            usage(stdout);
            return FP8_EXIT_OK;
        }
        if (strcmp(arg, "--version") == 0) {
            printf("fp8-gemm-error (libfp8) %s\n", fp8_version_string());
            return FP8_EXIT_OK;
        }
        if (strcmp(arg, "--full") == 0) continue;
        if (strcmp(arg, "--quiet") == 0) {
            o->quiet = true;
            continue;
        }
        static const char *const with_value[] = {"--data", "--k",   "--bits", "--promote", "--model", "--size",
                                                 "--mma-k", "--seed", "--csv", "--json"};
        size_t k = 0;
        while (k < sizeof with_value / sizeof with_value[0] && strcmp(arg, with_value[k]) != 0) k++;
        if (k == sizeof with_value / sizeof with_value[0])
            return arg[0] == '-' ? cli_usage_error(tool, "unknown option '%s'", arg)
                                 : cli_usage_error(tool, "unexpected argument '%s' (the data are synthetic: --data)", arg);
        if (a + 1 == argc) return cli_usage_error(tool, "%s needs a value", arg);
        const char *v = argv[++a];
        uint64_t n;
        if (k < 5) { /* the lists */
            if (!set_list(o, arg, v)) return FP8_EXIT_USAGE;
        } else if (strcmp(arg, "--size") == 0) {
            if (!parse_size_pair(v, &o->M, &o->N))
                return cli_usage_error(tool, "--size: expected MxN from 1x1 to 4096x4096, not '%s'", v);
        } else if (strcmp(arg, "--mma-k") == 0) {
            if (!cli_parse_size(v, &n) || n < 1 || n > 64) return cli_usage_error(tool, "--mma-k: expected 1 to 64, not '%s'", v);
            o->mma_k = (unsigned)n;
        } else if (strcmp(arg, "--seed") == 0) {
            if (!cli_parse_size(v, &o->seed)) return cli_usage_error(tool, "--seed: expected a number, not '%s'", v);
        } else if (strcmp(arg, "--csv") == 0) {
            o->out.csv_path = v;
        } else {
            o->out.json_path = v;
        }
    }
    if (cli_outputs_check(tool, &o->out) != FP8_CONTINUE) return FP8_EXIT_USAGE;
    return FP8_CONTINUE;
}

/* BF16 and E4M3 with FP32 accumulation, then every emulated accumulator. */
static size_t make_methods(const options *o, gemm_method *methods)
{
    size_t n = 0;
    methods[n++] = (gemm_method){GEMM_OPERANDS_BF16, 0, 0, FP8_ACCUM_ALIGN_WITH_SUM};
    methods[n++] = (gemm_method){GEMM_OPERANDS_E4M3, 0, 0, FP8_ACCUM_ALIGN_WITH_SUM};
    for (size_t b = 0; b < o->nbits; b++)
        for (size_t p = 0; p < o->npromote; p++)
            for (size_t m = 0; m < o->nmodels; m++)
                methods[n++] = (gemm_method){GEMM_OPERANDS_E4M3, o->bits[b], o->promote[p], o->models[m]};
    return n;
}

/* ---- output ---- */

static void text_header(FILE *f, const options *o)
{
    fprintf(f, "fp8-gemm-error (libfp8 %s): D = A B^T, A %zu x K and B %zu x K from each distribution, seed %llu\n",
            fp8_version_string(), o->M, o->N, (unsigned long long)o->seed);
    fprintf(f, "  operands: BF16 (nearest even), or E4M3 scaled per tensor; accumulation in FP32, or in the emulated\n"
               "  tensor-core accumulator (BITS bits, %u products a step, promoted to FP32 every P or never)\n"
               "  accumulation error: against the FP64 product of the operands the GEMM reads (its own rounding)\n"
               "  total error:        against the FP64 product of the FP32 inputs (the operands' rounding too)\n",
            o->mma_k);
}

static void text_row(FILE *f, const gemm_result *r)
{
    char accumulator[16], promote[16];
    const gemm_method *m = &r->method;
    snprintf(accumulator, sizeof accumulator, m->accum_bits ? "%u-bit" : "fp32", m->accum_bits);
    snprintf(promote, sizeof promote, m->accum_bits && m->promote_interval ? "%zu" : "-", m->promote_interval);
    fprintf(f, "  %6zu  %-5s %-11s %7s  %-8s | %10.3e %10.3e | %10.3e %10.3e\n", r->K,
            m->operands == GEMM_OPERANDS_BF16 ? "bf16" : "e4m3", accumulator, m->accum_bits ? promote : "-",
            m->accum_bits ? gemm_model_name(m->model) : "-", r->accumulation.max_rel_err, r->accumulation.rel_l2,
            r->total.max_rel_err, r->total.rel_l2);
}

static void text_data_header(FILE *f, const char *data)
{
    fprintf(f, "\n%s\n  %6s  %-5s %-11s %7s  %-8s | %21s | %21s\n", data, "", "", "", "", "", "accumulation error",
            "total error");
    fprintf(f, "  %6s  %-5s %-11s %7s  %-8s | %10s %10s | %10s %10s\n", "K", "input", "accumulator", "promote", "model",
            "max rel", "rel L2", "max rel", "rel L2");
}

static void csv_header(FILE *f)
{
    fputs("data,data_mean,M,N,K,operands,accumulator,accum_bits,promote_interval,accum_model,mma_k", f);
    for (int part = 0; part < 2; part++)
        for (size_t k = 0; k < GEMM_STAT_COUNT; k++) fprintf(f, ",%s_%s", part ? "total" : "accumulation", gemm_stat_names[k]);
    fputc('\n', f);
}

static void csv_row(FILE *f, const gemm_result *r, unsigned mma_k)
{
    const gemm_method *m = &r->method;
    emit_csv_field(f, r->data);
    fputc(',', f);
    emit_number(f, r->data_mean, false);
    fprintf(f, ",%zu,%zu,%zu,%s,%s,%u,%zu,%s,%u", r->M, r->N, r->K, m->operands == GEMM_OPERANDS_BF16 ? "bf16" : "e4m3",
            m->accum_bits ? "emulated" : "fp32", m->accum_bits, m->accum_bits ? m->promote_interval : 0,
            m->accum_bits ? gemm_model_name(m->model) : "", m->accum_bits ? mma_k : 0);
    for (int part = 0; part < 2; part++) {
        for (size_t k = 0; k < GEMM_STAT_COUNT; k++) {
            fputc(',', f);
            emit_number(f, gemm_stat(part ? &r->total : &r->accumulation, k), false);
        }
    }
    fputc('\n', f);
}

static void json_stats(FILE *f, const fp8_error_stats *s)
{
    fputc('{', f);
    for (size_t k = 0; k < GEMM_STAT_COUNT; k++) {
        fprintf(f, "%s\"%s\": ", k ? ", " : "", gemm_stat_names[k]);
        emit_number(f, gemm_stat(s, k), true);
    }
    fputc('}', f);
}

static void json_result(FILE *f, const gemm_result *r, unsigned mma_k, bool first)
{
    const gemm_method *m = &r->method;
    fprintf(f, "%s\n    {\"data\": ", first ? "" : ",");
    emit_json_string(f, r->data);
    fputs(", \"data_mean\": ", f);
    emit_number(f, r->data_mean, true);
    fprintf(f, ", \"M\": %zu, \"N\": %zu, \"K\": %zu, \"operands\": \"%s\", \"accumulator\": \"%s\", \"accum_bits\": %u, ",
            r->M, r->N, r->K, m->operands == GEMM_OPERANDS_BF16 ? "bf16" : "e4m3", m->accum_bits ? "emulated" : "fp32",
            m->accum_bits);
    if (m->accum_bits)
        fprintf(f, "\"promote_interval\": %zu, \"accum_model\": \"%s\", \"mma_k\": %u,\n     ", m->promote_interval,
                gemm_model_name(m->model), mma_k);
    else
        fputs("\"promote_interval\": 0, \"accum_model\": null, \"mma_k\": null,\n     ", f);
    fputs("\"accumulation\": ", f);
    json_stats(f, &r->accumulation);
    fputs(", \"total\": ", f);
    json_stats(f, &r->total);
    fputc('}', f);
}

static void json_deepseek(FILE *f, const gemm_deepseek_context *c, bool found)
{
    fputs("\"deepseek_context\": ", f);
    if (!found) {
        fputs("null", f);
        return;
    }
    fputs("{\"data\": ", f);
    emit_json_string(f, c->data);
    fprintf(f, ", \"M\": %zu, \"N\": %zu, \"K\": %zu, \"accum_bits\": %d, \"promote_interval\": %d, \"metric\": \"max_rel_err\",\n"
               "   \"unpromoted\": {\"with-sum\": ",
            c->M, c->N, c->K, GEMM_DEEPSEEK_BITS, GEMM_DEEPSEEK_INTERVAL);
    const struct { const char *name; double v; } rest[] = {
        {", \"products\": ", c->unpromoted[FP8_ACCUM_ALIGN_PRODUCTS]},
        {"}, \"promoted\": {\"with-sum\": ", c->promoted[FP8_ACCUM_ALIGN_WITH_SUM]},
        {", \"products\": ", c->promoted[FP8_ACCUM_ALIGN_PRODUCTS]},
        {"},\n   \"e4m3_fp32_accumulation\": ", c->e4m3_fp32_accumulation},
        {", \"e4m3_fp32_total\": ", c->e4m3_fp32_total},
        {", \"bf16_total\": ", c->bf16_total},
        {", \"bf16_accumulation\": ", c->bf16_accumulation},
    };
    emit_number(f, c->unpromoted[FP8_ACCUM_ALIGN_WITH_SUM], true);
    for (size_t k = 0; k < sizeof rest / sizeof rest[0]; k++) {
        fputs(rest[k].name, f);
        emit_number(f, rest[k].v, true);
    }
    fputc('}', f);
}

static int run(const options *o)
{
    static gemm_method methods[2 + MAX_LIST * MAX_LIST * 2];
    const size_t nmethods = make_methods(o, methods);
    const size_t nresults = o->ndata * o->nks * nmethods;
    gemm_result *results = calloc(nresults, sizeof *results);
    if (!results) return cli_input_error(tool, "out of memory");
    const bool show = isatty(STDERR_FILENO);
    cli_outputs out = o->out;
    int status = cli_outputs_open(tool, &out); /* before the work, so that a bad path fails at once */
    size_t done = 0;
    for (size_t d = 0; d < o->ndata && status < 0; d++) {
        synth_spec spec;
        synth_spec_parse(o->data[d], o->seed, &spec);
        for (size_t k = 0; k < o->nks && status < 0; k++) {
            gemm_problem p;
            fp8_status st = gemm_problem_init(&p, &spec, o->M, o->N, (size_t)o->ks[k]);
            for (size_t m = 0; m < nmethods && st == FP8_OK; m++, done++) {
                if (show) {
                    char label[96];
                    gemm_method_label(&methods[m], label, sizeof label);
                    fprintf(stderr, "\r\033[K%s: [%zu/%zu] %s, K %llu: %s", tool, done + 1, nresults, o->data[d],
                            (unsigned long long)o->ks[k], label);
                }
                gemm_result *r = &results[done];
                *r = (gemm_result){o->data[d], spec.mean, o->M, o->N, (size_t)o->ks[k], methods[m], {0}, {0}};
                st = gemm_problem_measure(&p, &methods[m], o->mma_k, &r->total, &r->accumulation);
            }
            gemm_problem_free(&p);
            if (st != FP8_OK) status = cli_input_error(tool, "%s, K %llu: %s", o->data[d], (unsigned long long)o->ks[k],
                                                       fp8_status_string(st));
        }
    }
    if (show) fputs("\r\033[K", stderr);
    gemm_deepseek_context context;
    const bool found = status < 0 && gemm_deepseek_find(results, nresults, &context);
    FILE *csv = out.csv, *json = out.json, *text = status < 0 && !o->quiet && !cli_outputs_on_stdout(&out) ? stdout : NULL;
    if (text) {
        text_header(text, o);
        for (size_t i = 0; i < nresults; i++) {
            if (i % (o->nks * nmethods) == 0) text_data_header(text, results[i].data);
            if (i % nmethods == 0 && i % (o->nks * nmethods) != 0) fputc('\n', text);
            text_row(text, &results[i]);
        }
        fputc('\n', text);
        if (found)
            gemm_deepseek_print(text, &context, "");
        else
            fprintf(text, "DeepSeek-V3 in context: not in this sweep; it needs %s.\n", GEMM_DEEPSEEK_NEEDS);
    }
    if (csv) {
        csv_header(csv);
        for (size_t i = 0; i < nresults; i++) csv_row(csv, &results[i], o->mma_k);
    }
    if (json) {
        fprintf(json, "{\"tool\": \"fp8-gemm-error\", \"libfp8\": \"%s\", \"seed\": %llu, \"results\": [",
                fp8_version_string(), (unsigned long long)o->seed);
        for (size_t i = 0; i < nresults; i++) json_result(json, &results[i], o->mma_k, i == 0);
        fputs("],\n  ", json);
        json_deepseek(json, &context, found);
        fputs("}\n", json);
    }
    status = cli_outputs_close(tool, &out, status);
    free(results);
    return status < 0 ? FP8_EXIT_OK : status;
}

int main(int argc, char **argv)
{
    setlocale(LC_ALL, "C");
    static options o;
    const int status = parse_args(argc, argv, &o);
    return status >= 0 ? status : run(&o);
}
