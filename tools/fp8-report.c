/* fp8-report OUTDIR [INPUT...]: a standard suite of precision measurements,
 * written as a folder a browser opens (OUTDIR/index.html) with every
 * figure's data (CSV, JSON), gnuplot script and images (PNG, SVG) beside it:
 *   sqnr_vs_scale         SQNR, underflow and saturation vs the input's scale
 *   histograms            log2|x| of each tensor, each format's range overlaid
 *   gemm_error_vs_k       GEMM error vs K, and DeepSeek-V3's figure in context
 *   sqnr_by_granularity   SQNR of each scaling granularity, per tensor (per layer)
 *   sqnr_vs_crest_factor  SQNR vs outlier strength
 * on the given tensors, or on built-in synthetic ones. */
#define _POSIX_C_SOURCE 200809L /* isatty, mkdir */
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/analysis.h"
#include "common/cli.h"
#include "common/emit.h"
#include "common/figure.h"
#include "common/gemm_error.h"
#include "common/inputs.h"
#include "common/synth.h"
#include "fp8.h"

static const char *const tool = "fp8-report";

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: fp8-report [OPTIONS] OUTDIR [INPUT...]\n"
            "Measures what FP8 would cost the given tensors (or built-in synthetic ones: gaussian, laplace,\n"
            "student-t, llm) next to BF16, and writes OUTDIR/index.html with five figures, each as CSV, JSON,\n"
            "a gnuplot script and the PNG and SVG it draws:\n"
            "  sqnr_vs_scale         SQNR, underflow and saturation vs the input's scale, sigma 2^-16 .. 2^16,\n"
            "                        per format and scaling (a cast, per tensor, 1x128, MX)\n"
            "  histograms            log2|x| of each input tensor, each format's range overlaid\n"
            "  gemm_error_vs_k       GEMM error vs K: 14-bit accumulation with and without promotion, FP32, BF16;\n"
            "                        DeepSeek-V3's figure in context\n"
            "  sqnr_by_granularity   SQNR of each scaling granularity, per tensor (per layer for checkpoints)\n"
            "  sqnr_vs_crest_factor  SQNR vs outlier strength (amax / rms)\n"
            "\n"
            "Inputs (as fp8-error's):\n"
            "  INPUT               .npy, .safetensors (DeepSeek-V3 FP8 weights dequantized), or raw data\n"
            "  --tensor GLOB       only the safetensors tensors whose names match (repeatable)\n"
            "  --dtype TYPE, --shape DIMS   raw data's type (f32, f64, f16, bf16, e4m3, e5m2) and shape\n"
            "  --synthetic KIND    built-in data (gaussian, laplace, student-t, llm; KIND+MEAN shifts it);\n"
            "                      without any INPUT, all four\n"
            "  --rows N, --cols N  its size (default 1024 x 4096); --seed N (default 1) seeds everything\n"
            "Output:\n"
            "  --no-plots          write data and scripts only (as when gnuplot is missing)\n"
            "  --help, --version\n"
            "gnuplot (Debian: gnuplot-nox) draws the images; without it the data and scripts are written all\n"
            "the same and the page says how to draw them. Progress shows on stderr when it is a terminal.\n"
            "Exit status: 0 ok, 1 bad input or an output that cannot be written, 2 bad usage.\n");
}

typedef struct options {
    const char *outdir;
    input_options in;
    bool no_plots;
} options;

static const char *const builtin_data[] = {"gaussian", "laplace", "student-t", "llm"};

static int parse_args(int argc, char **argv, options *o)
{
    memset(o, 0, sizeof *o);
    input_options_init(&o->in);
    bool options_done = false;
    for (int a = 1; a < argc; a++) {
        const char *arg = argv[a];
        if (options_done || arg[0] != '-') {
            if (!o->outdir)
                o->outdir = arg;
            else if (input_add_path(tool, &o->in, arg) != FP8_CONTINUE)
                return FP8_EXIT_USAGE;
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            options_done = true;
        } else if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            usage(stdout);
            return FP8_EXIT_OK;
        } else if (strcmp(arg, "--version") == 0) {
            printf("fp8-report (libfp8) %s\n", fp8_version_string());
            return FP8_EXIT_OK;
        } else if (strcmp(arg, "--no-plots") == 0) {
            o->no_plots = true;
        } else {
            const int taken = input_option(tool, &o->in, argc, argv, &a);
            if (taken == 0) return cli_usage_error(tool, "unknown option '%s'", arg);
            if (taken != FP8_CONTINUE) return taken;
        }
    }
    if (!o->outdir) return cli_usage_error(tool, "no OUTDIR (the folder to write the report into)");
    if (input_options_check(tool, &o->in) != FP8_CONTINUE) return FP8_EXIT_USAGE;
    if (o->in.npaths == 0 && o->in.nsynthetic == 0)
        for (size_t k = 0; k < sizeof builtin_data / sizeof builtin_data[0]; k++) o->in.synthetic[o->in.nsynthetic++] = builtin_data[k];
    return FP8_CONTINUE;
}

/* ---- the standard recipes and styles ---- */

#define NFORMATS 2
static const fp8_format formats[NFORMATS] = {FP8_E4M3, FP8_E5M2};
#define NGRAIN 5
static const char *const granularities[NGRAIN] = {"tensor", "row", "1x128", "128x128", "mx32"};
/* colour-blind-safe colours (Okabe and Ito, and wine), one per scaling; BF16 in black */
static const char *const colours[] = {"#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#882255"};
/* a format's line: solid with circles (E4M3), dashed with squares (E5M2) */
static const char *format_style(size_t f) { return f == 0 ? "dt 1 pt 7" : "dt 2 pt 5"; }

/* ---- series: BF16, then each format with each scaling ----
 * Series s of a figure is BF16 for s = 0, else format (s - 1) / n with
 * scaling (s - 1) % n of the figure's n scalings ("cast": no scale at all). */

static size_t series_count(size_t n) { return 1 + NFORMATS * n; }
static const char *series_format(size_t s, size_t n) { return s ? fp8_format_name(formats[(s - 1) / n]) : "bf16"; }
static const char *series_scaling(size_t s, const char *const *scalings, size_t n) { return s ? scalings[(s - 1) % n] : "-"; }

/* Adds series s's (x, approximation) pairs with |x| <= limit to acc. */
static fp8_status measure_series(size_t s, const char *const *scalings, size_t n, const float *x, size_t rows, size_t cols,
                                 double limit, analysis_workspace *w, fp8_error_accum *acc)
{
    if (s == 0) return analysis_bf16_within(x, rows * cols, limit, w, acc);
    const fp8_format fmt = formats[(s - 1) / n];
    const char *scaling = scalings[(s - 1) % n];
    if (strcmp(scaling, "cast") == 0) return analysis_fp8_scaled(x, rows, cols, fmt, FP8_SATFINITE, 1.0f, limit, w, acc);
    scaling_choice sc;
    scaling_parse(scaling, &sc);
    const fp8_quant_config cfg = fp8_quant_config_init(fmt, sc.block_rows, sc.block_cols);
    return analysis_fp8_within(x, rows, cols, &cfg, limit, w, acc);
}

/* One series of a plot: the rows whose column 1 (the series id) is `series`. */
static void plot_series(FILE *g, bool first, const char *csv, size_t series, const char *x, const char *y,
                        const char *style, const char *title)
{
    fprintf(g, first ? "    plot " : ", \\\n         ");
    fprintf(g, "'%s' skip 1 using %s:($1 == %zu ? %s : NaN) %s title ", first ? csv : "", x, series, y, style);
    gp_string(g, title);
}

/* A plot of y against x for BF16 and the series of formats [f0, f1): a colour per scaling, a line per format. */
static void plot_recipes(FILE *g, const char *csv, const char *x, const char *y, const char *const *scalings, size_t n,
                         size_t f0, size_t f1)
{
    static const char *const by_scaling[] = {"cast", "tensor", "row", "1x128", "128x128", "mx32"};
    plot_series(g, true, csv, 0, x, y, "with linespoints lw 2 pt 6 ps 0.6 lc rgb '#000000'", "bf16");
    for (size_t s = 1 + f0 * n; s < 1 + f1 * n; s++) {
        const char *scaling = series_scaling(s, scalings, n);
        size_t colour = 0;
        while (colour < 5 && strcmp(by_scaling[colour], scaling) != 0) colour++;
        char style[96], title[64];
        snprintf(style, sizeof style, "with linespoints lw 1.5 %s ps 0.6 lc rgb '%s'", format_style((s - 1) / n),
                 colours[colour]);
        snprintf(title, sizeof title, "%s %s%s", series_format(s, n), scaling, colour == 0 ? " (no scaling)" : "");
        plot_series(g, false, "", s, x, y, style, title);
    }
    fputc('\n', g);
}

static double stat_or_nan(double v) { return isfinite(v) ? v : NAN; }

static double percent(double fraction) { return 100.0 * fraction; }

/* ---- the report's state ---- */

typedef struct tensor_summary {
    const char *name, *source, *dtype;
    char shape[96];
    size_t group;
    fp8_error_accum input; /* the BF16 pass: its reference side describes the input */
} tensor_summary;

/* A layer of a checkpoint (or one tensor): the figures of its tensors merged. */
typedef struct group_summary {
    char name[256];
    size_t ntensors;
    fp8_error_accum series[1 + NFORMATS * NGRAIN]; /* BF16, then the formats by granularity */
} group_summary;

typedef struct report {
    const options *o;
    input_set in;
    bool show; /* progress on stderr */
    size_t step, nsteps;
    tensor_summary *tensors;
    size_t ntensors;
    group_summary *groups;
    size_t ngroups;
    gemm_deepseek_context deepseek;
    bool have_deepseek;
    char tool_line[64];
    char why[600];
} report;

static void progress(report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void progress(report *r, const char *fmt, ...)
{
    r->step++;
    if (!r->show) return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "\r\033[K%s: [%zu/%zu] ", tool, r->step, r->nsteps);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
}

/* The layer a tensor belongs to: its name up to the first dot-separated
 * component made of digits ("model.layers.12.mlp.up_proj.weight" ->
 * "model.layers.12"); the whole name when it has none. */
static void group_key(const char *name, char *out, size_t cap)
{
    snprintf(out, cap, "%s", name);
    for (const char *p = name; *p;) {
        const size_t len = strcspn(p, ".");
        if (len > 0 && strspn(p, "0123456789") == len) {
            snprintf(out, cap, "%.*s", (int)(p + len - name), name);
            return;
        }
        p += len + (p[len] == '.');
    }
}

/* The index of the group of `name` (its layer when by_layer), added if new; SIZE_MAX when out of memory. */
static size_t group_of(report *r, const char *name, bool by_layer)
{
    char key[256];
    if (by_layer)
        group_key(name, key, sizeof key);
    else
        snprintf(key, sizeof key, "%s", name);
    for (size_t g = 0; g < r->ngroups; g++)
        if (strcmp(r->groups[g].name, key) == 0) return g;
    group_summary *grown = realloc(r->groups, (r->ngroups + 1) * sizeof *grown);
    if (!grown) return SIZE_MAX;
    r->groups = grown;
    group_summary *gs = &r->groups[r->ngroups];
    memset(gs, 0, sizeof *gs);
    snprintf(gs->name, sizeof gs->name, "%s", key);
    for (size_t s = 0; s < series_count(NGRAIN); s++) fp8_error_accum_init(&gs->series[s]);
    return r->ngroups++;
}

/* ---- the input tensors: every recipe, merged per layer ---- */

static int measure_tensors(report *r, analysis_workspace *w)
{
    r->tensors = calloc(r->in.ntensors, sizeof *r->tensors);
    if (!r->tensors) return cli_input_error(tool, "out of memory");
    for (size_t i = 0; i < r->in.ntensors; i++) {
        const input_tensor *it = &r->in.tensors[i];
        progress(r, "%s", it->name);
        input_matrix m;
        int status = input_load(tool, &r->o->in, &r->in, i, &m);
        if (status != FP8_CONTINUE) return status;
        tensor_summary *t = &r->tensors[r->ntensors++];
        t->name = it->name, t->source = it->source, t->dtype = m.dtype;
        size_t len = 0;
        for (unsigned k = 0; k < m.ndim && len < sizeof t->shape; k++)
            len += (size_t)snprintf(t->shape + len, sizeof t->shape - len, "%s%llu", k ? " x " : "",
                                    (unsigned long long)m.shape[k]);
        if (m.ndim == 0) snprintf(t->shape, sizeof t->shape, "scalar");
        t->group = group_of(r, it->name, it->entry && it->entry->name); /* checkpoints by layer */
        if (t->group == SIZE_MAX) {
            free(m.x);
            return cli_input_error(tool, "out of memory");
        }
        group_summary *g = &r->groups[t->group];
        g->ntensors++;
        /* the tensor's own BF16 pass describes it (histogram, amax); every series adds to its layer's */
        fp8_error_accum_init(&t->input);
        fp8_status st = FP8_OK;
        for (size_t s = 0; s < series_count(NGRAIN) && st == FP8_OK; s++) {
            st = measure_series(s, granularities, NGRAIN, m.x, m.rows, m.cols, INFINITY, w, s ? &g->series[s] : &t->input);
            if (s == 0 && st == FP8_OK) fp8_error_accum_merge(&g->series[0], &t->input);
        }
        free(m.x);
        if (st != FP8_OK) return cli_input_error(tool, "%s: %s", it->name, fp8_status_string(st));
    }
    return FP8_CONTINUE;
}

/* ---- sqnr_vs_scale ---- */

#define SCALE_ROWS 256
#define SCALE_COLS 512
#define SCALE_MIN_LOG2 (-16)
#define SCALE_MAX_LOG2 16
#define NSCALE_RECIPES 4
static const char *const scale_recipes[NSCALE_RECIPES] = {"cast", "tensor", "1x128", "mx32"};

static int figure_sqnr_vs_scale(report *r, figure *fig, analysis_workspace *w)
{
    static const char *const columns[] = {"series",    "format",        "scaling",        "log2_sigma", "sigma",
                                          "sqnr_db",   "underflow_pct", "saturation_pct", "subnormal_pct"};
    char title[200];
    snprintf(title, sizeof title, "SQNR, underflow and saturation vs the input's scale: N(0, sigma^2), %d x %d values",
             SCALE_ROWS, SCALE_COLS);
    if (!figure_init(fig, "sqnr_vs_scale", title, columns, 9, 1000, 1150)) return cli_input_error(tool, "out of memory");
    progress(r, "SQNR vs scale");
    float *base = malloc(sizeof(float) * SCALE_ROWS * SCALE_COLS), *x = malloc(sizeof(float) * SCALE_ROWS * SCALE_COLS);
    if (!base || !x) {
        free(base), free(x);
        return cli_input_error(tool, "out of memory");
    }
    const synth_spec spec = synth_spec_init(SYNTH_GAUSSIAN, r->o->in.seed);
    synth_fill(&spec, base, 0, SCALE_ROWS, SCALE_COLS);
    bool ok = true;
    fp8_status st = FP8_OK;
    for (size_t s = 0; s < series_count(NSCALE_RECIPES) && st == FP8_OK; s++) {
        for (int e = SCALE_MIN_LOG2; e <= SCALE_MAX_LOG2 && st == FP8_OK; e++) {
            /* a power of two scales the same values exactly */
            const float sigma = ldexpf(1.0f, e);
            for (size_t i = 0; i < SCALE_ROWS * SCALE_COLS; i++) x[i] = base[i] * sigma;
            fp8_error_accum acc;
            fp8_error_stats stats;
            fp8_error_accum_init(&acc);
            st = measure_series(s, scale_recipes, NSCALE_RECIPES, x, SCALE_ROWS, SCALE_COLS, INFINITY, w, &acc);
            fp8_error_accum_finalize(&acc, &stats);
            ok = ok && figure_number(fig, (double)s) && figure_text(fig, series_format(s, NSCALE_RECIPES)) &&
                 figure_text(fig, series_scaling(s, scale_recipes, NSCALE_RECIPES)) && figure_number(fig, e) &&
                 figure_number(fig, ldexp(1.0, e)) && figure_number(fig, stat_or_nan(stats.sqnr_db)) &&
                 figure_number(fig, percent(stats.underflow_fraction)) &&
                 figure_number(fig, percent(stats.saturation_fraction)) && figure_number(fig, percent(stats.subnormal_fraction));
        }
    }
    free(base);
    free(x);
    if (st != FP8_OK) return cli_input_error(tool, "SQNR vs scale: %s", fp8_status_string(st));
    if (!ok) return cli_input_error(tool, "out of memory");

    FILE *g = figure_script(fig);
    fprintf(g, "    set multiplot layout 3,1 title ");
    gp_string(g, title);
    fprintf(g, "\n    set lmargin at screen 0.09\n    set rmargin at screen 0.76\n"
               "    set xrange [%d:%d]\n    set xtics 2\n    set grid\n    set key outside right top\n",
            SCALE_MIN_LOG2, SCALE_MAX_LOG2);
    static const struct { const char *ylabel, *column; } panels[] = {
        {"SQNR (dB)", "$6"}, {"underflow (% of non-zero values)", "$7"}, {"saturation (% of values)", "$8"}};
    for (size_t p = 0; p < 3; p++) {
        fprintf(g, "    set ylabel '%s'\n", panels[p].ylabel);
        if (p == 2) fputs("    set xlabel 'log2 sigma (the inputs are N(0, sigma^2))'\n", g);
        if (p == 1) fputs("    unset key\n", g);
        plot_recipes(g, "sqnr_vs_scale.csv", "4", panels[p].column, scale_recipes, NSCALE_RECIPES, 0, NFORMATS);
    }
    fputs("    unset multiplot\n", g);
    return FP8_CONTINUE;
}

/* ---- histograms ---- */

#define HIST_PER_PAGE 12

/* A format's range in log2 once per-tensor scaling puts its largest value on the tensor's amax. */
typedef struct scaled_range {
    double subnormal_from, normal_from, normal_to;
} scaled_range;

static scaled_range range_of(fp8_format fmt, double amax)
{
    fp8_format_info info;
    fp8_format_get_info(fmt, &info);
    const double top = log2(amax), max = log2((double)info.max_finite);
    return (scaled_range){top - (max - log2((double)info.min_subnormal)), top - (max - log2((double)info.min_normal)), top};
}

static int figure_histograms(report *r, figure *fig, size_t page, size_t pages, const char *name)
{
    const size_t first = page * HIST_PER_PAGE;
    const size_t count = r->ntensors - first < HIST_PER_PAGE ? r->ntensors - first : HIST_PER_PAGE;
    static const char *const columns[] = {"series", "tensor", "log2_bin", "count", "percent"};
    const size_t rows = (count + 1) / 2;
    char title[200];
    snprintf(title, sizeof title, "log2|x| of each tensor, with each format's range under per-tensor scaling");
    if (pages > 1) snprintf(title + strlen(title), sizeof title - strlen(title), " (%zu of %zu)", page + 1, pages);
    if (!figure_init(fig, name, title, columns, 5, 1100, (unsigned)(60 + 300 * rows)))
        return cli_input_error(tool, "out of memory");
    bool ok = true;
    FILE *json = figure_json(fig), *g = figure_script(fig);
    fputs(",\n \"ranges\": [", json);
    fprintf(g, "    set multiplot layout %zu,2 title ", rows);
    gp_string(g, title);
    fputs("\n    set style fill solid 0.7 noborder\n    set boxwidth 1\n    set xlabel 'log2 |x|'\n"
          "    set ylabel '% of the non-zero values'\n    set logscale y\n    set format y '%g'\n    set grid ytics\n", g);
    for (size_t i = first; i < first + count; i++) {
        const tensor_summary *t = &r->tensors[i];
        fp8_error_stats s;
        fp8_error_accum_finalize(&t->input, &s);
        int lo = 1000, hi = -1000;
        double peak = 0, least = 100;
        for (int b = 0; b < FP8_ERROR_HIST_BINS; b++) {
            if (t->input.log2_hist[b] == 0) continue;
            const int bin = FP8_ERROR_HIST_MIN_LOG2 + b;
            const double pct = 100.0 * (double)t->input.log2_hist[b] / (double)t->input.nonzero_count;
            lo = bin < lo ? bin : lo, hi = bin > hi ? bin : hi;
            peak = pct > peak ? pct : peak;
            least = pct < least ? pct : least;
            ok = ok && figure_number(fig, (double)i) && figure_text(fig, t->name) && figure_number(fig, bin) &&
                 figure_number(fig, (double)t->input.log2_hist[b]) && figure_number(fig, pct);
        }
        fprintf(json, "%s\n  {\"tensor\": ", i == first ? "" : ",");
        emit_json_string(json, t->name);
        fputs(", \"amax\": ", json);
        emit_number(json, s.amax, true);
        fputs(", \"formats\": [", json);
        fputs("    unset object\n    unset label\n    unset arrow\n    set title ", g);
        gp_string(g, t->name);
        fputc('\n', g);
        if (s.amax > 0) {
            double left = lo;
            for (size_t f = 0; f < NFORMATS; f++) {
                const scaled_range sr = range_of(formats[f], s.amax);
                const double y0 = 0.93 - 0.08 * (double)f, y1 = y0 + 0.05;
                left = sr.subnormal_from < left ? sr.subnormal_from : left;
                fprintf(json, "%s{\"format\": \"%s\", \"subnormal_from_log2\": ", f ? ", " : "", fp8_format_name(formats[f]));
                emit_number(json, sr.subnormal_from, true);
                fputs(", \"normal_from_log2\": ", json);
                emit_number(json, sr.normal_from, true);
                fputs(", \"normal_to_log2\": ", json);
                emit_number(json, sr.normal_to, true);
                fputc('}', json);
                fprintf(g, "    set object %zu rect from first %.6g, graph %.2f to first %.6g, graph %.2f fc rgb '%s' "
                           "fs solid 0.35 noborder\n",
                        2 * f + 1, sr.subnormal_from, y0, sr.normal_from, y1, colours[f]);
                fprintf(g, "    set object %zu rect from first %.6g, graph %.2f to first %.6g, graph %.2f fc rgb '%s' "
                           "fs solid 0.9 noborder\n",
                        2 * f + 2, sr.normal_from, y0, sr.normal_to, y1, colours[f]);
                fprintf(g, "    set label %zu '%s' at first %.6g, graph %.3f left offset 0.5,0 font ',8'\n",
                        f + 1, fp8_format_name(formats[f]), sr.normal_to, (y0 + y1) / 2);
            }
            fprintf(g, "    set arrow 1 from first %.6g, graph 0 to first %.6g, graph 0.84 nohead dt 2 lc rgb '#444444'\n",
                    log2(s.amax), log2(s.amax));
            /* a log scale shows the rare values too; the data keep to the lower three quarters, below the ranges */
            const double bottom = least / 2, decades = log10(peak / bottom);
            fprintf(g, "    set xrange [%g:%g]\n    set yrange [%.6g:%.6g]\n    set ytics %g, 10, 100\n", floor(left) - 1,
                    (double)hi + 6, bottom, peak * pow(10.0, 0.4 * decades), pow(10.0, floor(log10(bottom))));
        } else {
            fputs("    set xrange [-1:1]\n    set yrange [0.1:1]\n    set label 1 'no non-zero value' at 0, 0.5 center\n", g);
        }
        fputs("]}", json);
        fprintf(g, "    plot '%s.csv' skip 1 using ($3 + 0.5):($1 == %zu ? $5 : NaN) with boxes lc rgb '#555555' notitle\n",
                name, i);
    }
    fputs("]", json);
    fputs("    unset multiplot\n", g);
    return ok ? FP8_CONTINUE : cli_input_error(tool, "out of memory");
}

/* ---- gemm_error_vs_k ---- */

#define GEMM_SIZE 32
#define NGEMM_DATA 2
static const char *const gemm_data[NGEMM_DATA] = {"gaussian+1", "gaussian"};
static const size_t gemm_ks[] = {128, 256, 512, 1024, 2048, 4096};
#define NGEMM_KS (sizeof gemm_ks / sizeof gemm_ks[0])
/* the GEMMs run at each K: BF16, E4M3 with FP32 accumulation, the 14-bit accumulator four ways */
static const gemm_method gemm_methods[] = {
    {GEMM_OPERANDS_BF16, 0, 0, FP8_ACCUM_ALIGN_WITH_SUM},
    {GEMM_OPERANDS_E4M3, 0, 0, FP8_ACCUM_ALIGN_WITH_SUM},
    {GEMM_OPERANDS_E4M3, GEMM_DEEPSEEK_BITS, 0, FP8_ACCUM_ALIGN_WITH_SUM},
    {GEMM_OPERANDS_E4M3, GEMM_DEEPSEEK_BITS, 0, FP8_ACCUM_ALIGN_PRODUCTS},
    {GEMM_OPERANDS_E4M3, GEMM_DEEPSEEK_BITS, GEMM_DEEPSEEK_INTERVAL, FP8_ACCUM_ALIGN_WITH_SUM},
    {GEMM_OPERANDS_E4M3, GEMM_DEEPSEEK_BITS, GEMM_DEEPSEEK_INTERVAL, FP8_ACCUM_ALIGN_PRODUCTS},
};
#define NGEMM_METHODS (sizeof gemm_methods / sizeof gemm_methods[0])
/* the curves: a method and which error of it */
static const struct { size_t method; bool total; const char *name, *style; } gemm_curves[] = {
    {0, true, "bf16 GEMM (fp32 accumulation), vs the exact product", "lw 2 dt 3 pt 6 lc rgb '#000000'"},
    {1, true, "e4m3 GEMM (fp32 accumulation), vs the exact product", "lw 2 dt 3 pt 6 lc rgb '#888888'"},
    {1, false, "e4m3, fp32 accumulation", "lw 1.5 dt 1 pt 7 lc rgb '#009e73'"},
    {2, false, "e4m3, 14-bit, never promoted, with-sum", "lw 1.5 dt 1 pt 7 lc rgb '#d55e00'"},
    {3, false, "e4m3, 14-bit, never promoted, products", "lw 1.5 dt 2 pt 5 lc rgb '#d55e00'"},
    {4, false, "e4m3, 14-bit, promoted every 128, with-sum", "lw 1.5 dt 1 pt 7 lc rgb '#0072b2'"},
    {5, false, "e4m3, 14-bit, promoted every 128, products", "lw 1.5 dt 2 pt 5 lc rgb '#0072b2'"},
};
#define NGEMM_CURVES (sizeof gemm_curves / sizeof gemm_curves[0])

static int figure_gemm_error(report *r, figure *fig)
{
    static const char *const columns[] = {"series", "data", "K", "curve", "against", "max_rel_err", "rel_l2"};
    const char *title = "GEMM error vs K: E4M3 per tensor, 14-bit accumulation with and without promotion, FP32, BF16";
    if (!figure_init(fig, "gemm_error_vs_k", title, columns, 7, 1200, 720)) return cli_input_error(tool, "out of memory");
    gemm_result results[NGEMM_DATA * NGEMM_KS * NGEMM_METHODS];
    size_t n = 0;
    for (size_t d = 0; d < NGEMM_DATA; d++) {
        synth_spec spec;
        synth_spec_parse(gemm_data[d], r->o->in.seed, &spec);
        for (size_t k = 0; k < NGEMM_KS; k++) {
            progress(r, "GEMM error: %s, K %zu", gemm_data[d], gemm_ks[k]);
            gemm_problem p;
            fp8_status st = gemm_problem_init(&p, &spec, GEMM_SIZE, GEMM_SIZE, gemm_ks[k]);
            for (size_t m = 0; m < NGEMM_METHODS && st == FP8_OK; m++, n++) {
                results[n] = (gemm_result){gemm_data[d], spec.mean, GEMM_SIZE, GEMM_SIZE, gemm_ks[k], gemm_methods[m], {0}, {0}};
                st = gemm_problem_measure(&p, &gemm_methods[m], 32, &results[n].total, &results[n].accumulation);
            }
            gemm_problem_free(&p);
            if (st != FP8_OK) return cli_input_error(tool, "GEMM error: %s", fp8_status_string(st));
        }
    }
    r->have_deepseek = gemm_deepseek_find(results, n, &r->deepseek);
    bool ok = true;
    for (size_t d = 0; d < NGEMM_DATA; d++) {
        for (size_t c = 0; c < NGEMM_CURVES; c++) {
            for (size_t k = 0; k < NGEMM_KS; k++) {
                const gemm_result *res = &results[(d * NGEMM_KS + k) * NGEMM_METHODS + gemm_curves[c].method];
                const fp8_error_stats *s = gemm_curves[c].total ? &res->total : &res->accumulation;
                ok = ok && figure_number(fig, (double)(d * NGEMM_CURVES + c)) && figure_text(fig, gemm_data[d]) &&
                     figure_number(fig, (double)gemm_ks[k]) && figure_text(fig, gemm_curves[c].name) &&
                     figure_text(fig, gemm_curves[c].total ? "fp32 inputs" : "operands") &&
                     figure_number(fig, stat_or_nan(s->max_rel_err)) && figure_number(fig, stat_or_nan(s->rel_l2));
            }
        }
    }
    if (!ok) return cli_input_error(tool, "out of memory");
    FILE *json = figure_json(fig), *g = figure_script(fig);
    fprintf(json, ",\n \"M\": %d, \"N\": %d, \"deepseek_context\": ", GEMM_SIZE, GEMM_SIZE);
    if (r->have_deepseek) {
        const gemm_deepseek_context *c = &r->deepseek;
        fputs("{\"data\": ", json);
        emit_json_string(json, c->data);
        fprintf(json, ", \"K\": %zu, \"unpromoted\": {\"with-sum\": ", c->K);
        emit_number(json, c->unpromoted[FP8_ACCUM_ALIGN_WITH_SUM], true);
        fputs(", \"products\": ", json);
        emit_number(json, c->unpromoted[FP8_ACCUM_ALIGN_PRODUCTS], true);
        fputs("}, \"promoted\": {\"with-sum\": ", json);
        emit_number(json, c->promoted[FP8_ACCUM_ALIGN_WITH_SUM], true);
        fputs(", \"products\": ", json);
        emit_number(json, c->promoted[FP8_ACCUM_ALIGN_PRODUCTS], true);
        fputs("}, \"bf16_total\": ", json);
        emit_number(json, c->bf16_total, true);
        fputc('}', json);
    } else {
        fputs("null", json);
    }
    fputs("    set multiplot layout 1,2 title ", g);
    gp_string(g, title);
    /* the key below both panels */
    fputs(" margins 0.07,0.98,0.30,0.91 spacing 0.08,0\n    set logscale x 2\n    set logscale y 10\n    set format y '%.0e'\n"
          "    set xlabel 'K'\n    set grid\n    set key at screen 0.5, screen 0.13 center center horizontal maxrows 4 font ',9'\n",
          g);
    static const char *const panel_titles[NGEMM_DATA] = {
        "positive mean, N(1, 1): maximum relative error, 32 x 32 outputs",
        "zero mean, N(0, 1): relative L2 error"};
    for (size_t d = 0; d < NGEMM_DATA; d++) {
        fputs("    set title ", g);
        gp_string(g, panel_titles[d]);
        fprintf(g, "\n    set ylabel '%s'\n", d == 0 ? "maximum relative error" : "relative L2 error");
        if (d == 1) fputs("    unset key\n", g);
        for (size_t c = 0; c < NGEMM_CURVES; c++) {
            char style[96];
            snprintf(style, sizeof style, "with linespoints %s", gemm_curves[c].style);
            plot_series(g, c == 0, "gemm_error_vs_k.csv", (int)(d * NGEMM_CURVES + c), "3", d == 0 ? "$6" : "$7", style,
                        gemm_curves[c].name);
        }
        /* DeepSeek-V3's figure as one more point, in the key */
        if (d == 0)
            fputs(", \\\n         '+' every ::0::0 using (4096):(0.02) with points pt 9 ps 1.8 lc rgb '#000000' "
                  "title 'DeepSeek-V3: nearly 2% at K = 4096, 14 bits, never promoted'",
                  g);
        fputc('\n', g);
    }
    fputs("    unset multiplot\n", g);
    return FP8_CONTINUE;
}

/* ---- sqnr_by_granularity ---- */

static int figure_granularity(report *r, figure *fig)
{
    static const char *const columns[] = {"series", "group_index", "group", "tensors", "format", "scaling", "sqnr_db",
                                          "underflow_pct"};
    const bool layers = r->ngroups < r->ntensors;
    char title[200];
    snprintf(title, sizeof title, "SQNR by scaling granularity, per %s", layers ? "layer (its tensors merged)" : "tensor");
    const unsigned width = r->ngroups > 12 ? (unsigned)(r->ngroups * 40 + 300 > 2400 ? 2400 : r->ngroups * 40 + 300) : 1200;
    if (!figure_init(fig, "sqnr_by_granularity", title, columns, 8, width, 640)) return cli_input_error(tool, "out of memory");
    bool ok = true;
    for (size_t s = 0; s < series_count(NGRAIN); s++) {
        for (size_t gi = 0; gi < r->ngroups; gi++) {
            const group_summary *gs = &r->groups[gi];
            fp8_error_stats stats;
            fp8_error_accum_finalize(&gs->series[s], &stats);
            ok = ok && figure_number(fig, (double)s) && figure_number(fig, (double)gi) && figure_text(fig, gs->name) &&
                 figure_number(fig, (double)gs->ntensors) && figure_text(fig, series_format(s, NGRAIN)) &&
                 figure_text(fig, series_scaling(s, granularities, NGRAIN)) && figure_number(fig, stat_or_nan(stats.sqnr_db)) &&
                 figure_number(fig, percent(stats.underflow_fraction));
        }
    }
    if (!ok) return cli_input_error(tool, "out of memory");
    FILE *g = figure_script(fig);
    fputs("    set multiplot layout 1,2 title ", g);
    gp_string(g, title);
    /* each panel keeps its own key (the formats' lines differ), in a band below it */
    fprintf(g, " margins 0.06,0.98,0.33,0.91 spacing 0.07,0\n    set xrange [-0.5:%g]\n    set ylabel 'SQNR (dB)'\n"
               "    set grid ytics\n    set key outside below center horizontal maxrows 2 font ',9'\n"
               "    set xtics rotate by -35 font ',8' (",
            (double)r->ngroups - 0.5);
    for (size_t gi = 0; gi < r->ngroups; gi++) {
        if (gi) fputs(", ", g);
        gp_string(g, r->groups[gi].name);
        fprintf(g, " %zu", gi);
    }
    fputs(")\n", g);
    for (size_t f = 0; f < NFORMATS; f++) {
        fprintf(g, "    set title '%s: one scale per ...'\n", fp8_format_name(formats[f]));
        plot_recipes(g, "sqnr_by_granularity.csv", "2", "$7", granularities, NGRAIN, f, f + 1);
    }
    fputs("    unset multiplot\n", g);
    return FP8_CONTINUE;
}

/* ---- sqnr_vs_crest_factor ---- */

#define CREST_ROWS 256
#define CREST_COLS 1024
#define CREST_MAX_LOG2_GAIN 16
#define CREST_OTHERS 8.0 /* sigma: every value but the massive ones */

static int figure_crest(report *r, figure *fig, analysis_workspace *w)
{
    static const char *const columns[] = {"series",  "outlier_gain", "outlier_strength", "crest_factor", "format",
                                          "scaling", "sqnr_db",      "others_sqnr_db",   "others_underflow_pct"};
    char title[200];
    snprintf(title, sizeof title, "SQNR vs outlier strength: LLM-like activations (%d x %d) with massive values of growing size",
             CREST_ROWS, CREST_COLS);
    if (!figure_init(fig, "sqnr_vs_crest_factor", title, columns, 9, 1200, 1000)) return cli_input_error(tool, "out of memory");
    progress(r, "SQNR vs crest factor");
    float *x = malloc(sizeof(float) * CREST_ROWS * CREST_COLS);
    if (!x) return cli_input_error(tool, "out of memory");
    /* every series at each gain, over all values and over the others (|x| <= CREST_OTHERS sigma) */
    enum { NSERIES = 1 + NFORMATS * NGRAIN, NGAINS = CREST_MAX_LOG2_GAIN + 1 }; /* NSERIES: series_count(NGRAIN) */
    static fp8_error_stats whole[NGAINS][NSERIES], others[NGAINS][NSERIES];
    double amax[NGAINS], crest[NGAINS], strength[NGAINS]; /* strength: amax / the others' rms */
    fp8_status st = FP8_OK;
    for (int e = 0; e < NGAINS && st == FP8_OK; e++) {
        /* outliers alone (no channel gains): token 0 and 1/1024 of the others carry +-gain in 1/256 of the channels */
        synth_spec spec = synth_spec_init(SYNTH_LLM, r->o->in.seed);
        spec.channel_gain = 1.0;
        spec.outlier_channel_fraction = 1.0 / 256;
        spec.outlier_token_fraction = 1.0 / 1024;
        spec.token_gain = ldexp(1.0, e);
        synth_fill(&spec, x, 0, CREST_ROWS, CREST_COLS);
        for (size_t series = 0; series < NSERIES && st == FP8_OK; series++) {
            for (int part = 0; part < 2 && st == FP8_OK; part++) {
                fp8_error_accum acc;
                fp8_error_accum_init(&acc);
                st = measure_series(series, granularities, NGRAIN, x, CREST_ROWS, CREST_COLS, part ? CREST_OTHERS : INFINITY,
                                    w, &acc);
                if (series == 0) {
                    const double rms = sqrt(acc.sum_ref_sq / (double)acc.finite_count);
                    if (part == 0)
                        amax[e] = acc.amax, crest[e] = acc.amax / rms;
                    else
                        strength[e] = amax[e] / rms;
                }
                fp8_error_accum_finalize(&acc, part ? &others[e][series] : &whole[e][series]);
            }
        }
    }
    free(x);
    if (st != FP8_OK) return cli_input_error(tool, "SQNR vs crest factor: %s", fp8_status_string(st));
    bool ok = true;
    for (size_t series = 0; series < NSERIES; series++) {
        for (int e = 0; e < NGAINS; e++) {
            ok = ok && figure_number(fig, (double)series) && figure_number(fig, ldexp(1.0, e)) && figure_number(fig, strength[e]) &&
                 figure_number(fig, crest[e]) &&
                 figure_text(fig, series_format(series, NGRAIN)) && figure_text(fig, series_scaling(series, granularities, NGRAIN)) &&
                 figure_number(fig, stat_or_nan(whole[e][series].sqnr_db)) &&
                 figure_number(fig, stat_or_nan(others[e][series].sqnr_db)) &&
                 figure_number(fig, percent(others[e][series].underflow_fraction));
        }
    }
    if (!ok) return cli_input_error(tool, "out of memory");
    FILE *g = figure_script(fig);
    fputs("    set multiplot layout 2,2 title ", g);
    gp_string(g, title);
    fputs("\n    set logscale x 2\n    set xlabel 'outlier strength: amax / rms of the other values (a crest factor)'\n    set grid\n",
          g);
    for (int part = 0; part < 2; part++) {
        for (size_t f = 0; f < NFORMATS; f++) {
            char panel[160];
            snprintf(panel, sizeof panel, "%s: %s", fp8_format_name(formats[f]),
                     part ? "the other values (|x| <= 8 sigma), what the outliers cost them"
                          : "all values (the outliers' own energy dominates)");
            fputs("    set title ", g);
            gp_string(g, panel);
            fprintf(g, "\n    set ylabel '%s'\n", part ? "SQNR of the others (dB)" : "SQNR (dB)");
            /* in the empty band between BF16's line and FP8's */
            fprintf(g, "    set key at graph 0.02, graph %.2f left top font ',8'\n", part ? 0.8 : 0.62);
            plot_recipes(g, "sqnr_vs_crest_factor.csv", "3", part ? "$8" : "$7", granularities, NGRAIN, f, f + 1);
        }
    }
    fputs("    unset multiplot\n", g);
    return FP8_CONTINUE;
}

/* ---- the page ---- */

static const char *const figure_notes[] = {
    "sqnr_vs_scale", "The same N(0, 1) values scaled by sigma = 2^-16 .. 2^16. Without scaling (a cast) a format "
    "keeps its precision only inside its range: below it values underflow to zero, above it they saturate. Any "
    "scale computed from the data makes the figures independent of sigma; MX's power-of-two rule (OCP) may "
    "saturate a little. BF16 keeps FP32's range.",
    "histograms", "Where each tensor's magnitudes lie, one bar per binade, with each format's range placed as "
    "per-tensor scaling places it (its largest value on the tensor's amax, dashed): dark for normal numbers, "
    "light for subnormals (fewer significant bits). What falls left of a range becomes zero.",
    "gemm_error_vs_k", "D = A B^T with 32 x K and 32 x K operands; accumulation error against the FP64 product of the "
    "operands the GEMM reads, and, dotted, BF16's and E4M3's whole error against the FP64 product of the FP32 "
    "inputs. with-sum and products are the two readings of how Hopper's tensor cores align the running sum "
    "(docs/gemm.md); fp8-gemm-error runs the full sweep.",
    "sqnr_by_granularity", "The finer the blocks, the less one large value costs its neighbours. Tensors whose "
    "names share a prefix up to a layer number (model.layers.12) are merged into that layer.",
    "sqnr_vs_crest_factor", "LLM-like activations whose massive values grow from 1 to 65536 times the other values' "
    "rms (the outlier strength, a crest factor). Above, the whole tensor's SQNR, soon dominated by the outliers' own "
    "energy (MX's power-of-two scales clip them). Below, the SQNR of the other values: what the outliers cost them. "
    "Per-tensor scaling loses them first; per-row, 1x128 and MX blocks confine the damage.",
};

static const char *note_of(const char *name)
{
    for (size_t k = 0; k < sizeof figure_notes / sizeof figure_notes[0]; k += 2)
        if (strncmp(name, figure_notes[k], strlen(figure_notes[k])) == 0) return figure_notes[k + 1];
    return "";
}

static void html_number(FILE *h, const char *fmt, double v)
{
    if (isfinite(v))
        fprintf(h, fmt, v);
    else
        fputs(isnan(v) ? "-" : v > 0 ? "exact" : "-inf", h);
}

/* The page; plot_note, when the images were not drawn, says why and how to draw them. */
static int write_index(report *r, const figure *figs, size_t nfigs, const char *plot_note)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/index.html", r->o->outdir);
    FILE *h = fopen(path, "w");
    if (!h) return cli_input_error(tool, "cannot write '%s': %s", path, strerror(errno));
    fprintf(h, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
               "<title>FP8 precision report</title>\n<style>\n"
               "body { font-family: sans-serif; max-width: 1250px; margin: auto; padding: 1em; line-height: 1.4 }\n"
               "img { max-width: 100%%; border: 1px solid #ddd }\n"
               "pre { background: #f4f4f4; padding: 0.6em; overflow-x: auto }\n"
               "table { border-collapse: collapse; font-size: 90%% }\n"
               "td, th { padding: 2px 8px; border-bottom: 1px solid #e4e4e4; text-align: right }\n"
               "td:first-child, th:first-child { text-align: left }\n"
               ".note { background: #fff4d6; padding: 0.6em; border-left: 4px solid #e6a700 }\n"
               "</style>\n</head>\n<body>\n<h1>FP8 precision report</h1>\n<p>Made by %s: what each FP8 recipe would "
               "cost these tensors, next to BF16. Every figure is plotted from the CSV beside it (its JSON holds the same "
               "rows); its gnuplot script redraws it.</p>\n",
            r->tool_line);
    if (plot_note) {
        fputs("<p class=\"note\">", h);
        html_text(h, plot_note);
        fputs("</p>\n", h);
    }
    fputs("<h2>Contents</h2>\n<ul>\n<li><a href=\"#inputs\">Inputs</a></li>\n<li><a href=\"#summary\">SQNR by recipe</a></li>\n"
          "<li><a href=\"#deepseek\">DeepSeek-V3's accumulation figure in context</a></li>\n",
          h);
    for (size_t k = 0; k < nfigs; k++) {
        fprintf(h, "<li><a href=\"#%s\">", figs[k].name);
        html_text(h, figs[k].title);
        fputs("</a></li>\n", h);
    }
    fputs("</ul>\n<h2 id=\"inputs\">Inputs</h2>\n<table>\n<tr><th>tensor</th><th>source</th><th>type</th><th>shape</th>"
          "<th>amax</th><th>smallest |x| &gt; 0</th><th>dynamic range (binades)</th><th>NaN</th><th>Inf</th></tr>\n",
          h);
    for (size_t i = 0; i < r->ntensors; i++) {
        const tensor_summary *t = &r->tensors[i];
        fp8_error_stats s;
        fp8_error_accum_finalize(&t->input, &s);
        fputs("<tr><td>", h);
        html_text(h, t->name);
        fputs("</td><td>", h);
        html_text(h, t->source);
        fputs("</td><td>", h);
        html_text(h, t->dtype);
        fputs("</td><td>", h);
        html_text(h, t->shape);
        fprintf(h, "</td><td>%.4g</td><td>%.4g</td><td>%.1f</td><td>%llu</td><td>%llu</td></tr>\n", s.amax, s.amin_nonzero,
                s.dynamic_range_binades, (unsigned long long)s.nan_count, (unsigned long long)s.inf_count);
    }
    fputs("</table>\n", h);
    if (r->o->in.nsynthetic)
        fprintf(h, "<p>Synthetic tensors are %zu x %zu, seed %llu (see docs/tools.md, Synthetic data).</p>\n",
                r->o->in.synth_rows, r->o->in.synth_cols, (unsigned long long)r->o->in.seed);
    fprintf(h, "<h2 id=\"summary\">SQNR by recipe (dB)</h2>\n<p>Per %s; each 6 dB is one bit. Default scale modes: FP32 "
               "scales, OCP MX's power-of-two rule for mx32.</p>\n<table>\n<tr><th>%s</th>",
            r->ngroups < r->ntensors ? "layer" : "tensor", r->ngroups < r->ntensors ? "layer" : "tensor");
    for (size_t s = 0; s < series_count(NGRAIN); s++)
        fprintf(h, s ? "<th>%s %s</th>" : "<th>%s</th>", series_format(s, NGRAIN), series_scaling(s, granularities, NGRAIN));
    fputs("</tr>\n", h);
    for (size_t gi = 0; gi < r->ngroups; gi++) {
        const group_summary *gs = &r->groups[gi];
        fputs("<tr><td>", h);
        html_text(h, gs->name);
        for (size_t s = 0; s < series_count(NGRAIN); s++) {
            fp8_error_stats stats;
            fp8_error_accum_finalize(&gs->series[s], &stats);
            fputs("</td><td>", h);
            html_number(h, "%.2f", stats.sqnr_db);
        }
        fputs("</td></tr>\n", h);
    }
    fputs("</table>\n<h2 id=\"deepseek\">DeepSeek-V3's accumulation figure in context</h2>\n<pre>", h);
    if (r->have_deepseek) {
        char *text;
        size_t len;
        FILE *m = open_memstream(&text, &len);
        if (m) {
            gemm_deepseek_print(m, &r->deepseek, "");
            fclose(m);
            html_text(h, text);
            free(text);
        }
    }
    fputs("</pre>\n", h);
    for (size_t k = 0; k < nfigs; k++) {
        const char *n = figs[k].name;
        fprintf(h, "<h2 id=\"%s\">", n);
        html_text(h, figs[k].title);
        fputs("</h2>\n<p>", h);
        html_text(h, note_of(n));
        fputs("</p>\n", h);
        if (!plot_note) { /* the images are there */
            fprintf(h, "<p><a href=\"%s.svg\"><img src=\"%s.png\" alt=\"", n, n);
            html_text(h, figs[k].title);
            fputs("\"></a></p>\n", h);
        }
        fprintf(h, "<p>data: <a href=\"%s.csv\">%s.csv</a>, <a href=\"%s.json\">%s.json</a>; script: <a href=\"%s.gp\">%s.gp</a>",
                n, n, n, n, n, n);
        if (plot_note)
            fputs(" (not drawn: see above)</p>\n", h);
        else
            fprintf(h, "; images: <a href=\"%s.png\">PNG</a>, <a href=\"%s.svg\">SVG</a></p>\n", n, n);
    }
    fputs("</body>\n</html>\n", h);
    if (fclose(h) != 0) return cli_input_error(tool, "cannot write '%s'", path);
    return FP8_CONTINUE;
}

/* mkdir -p */
static bool make_dir(const char *dir)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path) return false;
    for (char *p = path + 1;; p++) {
        if (*p != '/' && *p != '\0') continue;
        const char saved = *p;
        *p = '\0';
        struct stat st;
        if (stat(path, &st) == 0 ? !S_ISDIR(st.st_mode) && (errno = ENOTDIR) : mkdir(path, 0777) != 0 && errno != EEXIST)
            return false;
        *p = saved;
        if (saved == '\0') return true;
    }
}

static int run(report *r)
{
    const size_t hist_pages = (r->in.ntensors + HIST_PER_PAGE - 1) / HIST_PER_PAGE;
    figure *figs = calloc(hist_pages + 4, sizeof *figs);
    size_t nfigs = 0;
    analysis_workspace w = {0};
    int status = figs ? FP8_CONTINUE : cli_input_error(tool, "out of memory");
    r->nsteps = r->in.ntensors + 2 + NGEMM_DATA * NGEMM_KS + (r->o->no_plots ? 0 : hist_pages + 4);
    if (status < 0) status = measure_tensors(r, &w);
    if (status < 0) status = figure_sqnr_vs_scale(r, &figs[nfigs++], &w);
    for (size_t p = 0; status < 0 && p < hist_pages; p++) {
        char name[32];
        snprintf(name, sizeof name, hist_pages == 1 ? "histograms" : "histograms_%zu", p + 1);
        status = figure_histograms(r, &figs[nfigs++], p, hist_pages, name);
    }
    if (status < 0) status = figure_gemm_error(r, &figs[nfigs++]);
    if (status < 0) status = figure_granularity(r, &figs[nfigs++]);
    if (status < 0) status = figure_crest(r, &figs[nfigs++], &w);
    analysis_workspace_free(&w);
    for (size_t k = 0; status < 0 && k < nfigs; k++)
        if (!figure_write(&figs[k], r->o->outdir, r->tool_line, r->why, sizeof r->why)) status = cli_input_error(tool, "%s", r->why);
    /* the images */
    char gnuplot[4096], note[1200];
    const char *plot_note = NULL;
    if (status < 0 && r->o->no_plots) {
        snprintf(note, sizeof note, "Images not drawn (--no-plots): run 'gnuplot NAME.gp' in this folder for each figure.");
        plot_note = note;
    } else if (status < 0 && !gnuplot_find(gnuplot, sizeof gnuplot)) {
        snprintf(note, sizeof note, "gnuplot was not found, so the images are not drawn: install it (Debian: apt-get "
                                    "install gnuplot-nox) and run 'gnuplot NAME.gp' in this folder for each figure.");
        plot_note = note;
        fprintf(stderr, "%s: gnuplot not found: wrote the data and gnuplot scripts without images; to draw them: "
                        "cd %s && for f in *.gp; do gnuplot \"$f\"; done\n",
                tool, r->o->outdir);
    } else {
        for (size_t k = 0; status < 0 && k < nfigs; k++) {
            char script[96];
            snprintf(script, sizeof script, "%s.gp", figs[k].name);
            progress(r, "gnuplot %s", script);
            if (!gnuplot_run(gnuplot, r->o->outdir, script, r->why, sizeof r->why)) status = cli_input_error(tool, "%s", r->why);
        }
    }
    if (r->show) fputs("\r\033[K", stderr);
    if (status < 0) status = write_index(r, figs, nfigs, plot_note);
    for (size_t k = 0; k < nfigs; k++) figure_free(&figs[k]);
    free(figs);
    if (status < 0) printf("%s: wrote %s/index.html (%zu figures)\n", tool, r->o->outdir, nfigs);
    if (status < 0 && fflush(stdout) != 0) status = cli_input_error(tool, "cannot write the output");
    return status < 0 ? FP8_EXIT_OK : status;
}

int main(int argc, char **argv)
{
    setlocale(LC_ALL, "C");
    static options o;
    int status = parse_args(argc, argv, &o);
    if (status >= 0) return status;
    static report r;
    r.o = &o;
    r.show = isatty(STDERR_FILENO);
    snprintf(r.tool_line, sizeof r.tool_line, "fp8-report (libfp8 %s)", fp8_version_string());
    status = input_set_open(tool, &o.in, &r.in);
    if (status < 0 && !make_dir(o.outdir))
        status = cli_input_error(tool, "cannot create the folder '%s': %s", o.outdir, strerror(errno));
    if (status < 0) status = run(&r);
    input_set_close(&r.in);
    free(r.tensors);
    free(r.groups);
    return status;
}
