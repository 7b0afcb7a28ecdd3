#define _POSIX_C_SOURCE 200809L /* fnmatch */
#include "inputs.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cli.h"

void input_options_init(input_options *o)
{
    memset(o, 0, sizeof *o);
    o->synth_rows = 1024;
    o->synth_cols = 4096;
    o->seed = 1;
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

int input_option(const char *tool, input_options *o, int argc, char **argv, int *a)
{
    static const char *const names[] = {"--tensor", "--dtype", "--shape", "--synthetic", "--rows", "--cols", "--seed"};
    const char *arg = argv[*a];
    size_t k = 0;
    while (k < sizeof names / sizeof names[0] && strcmp(arg, names[k]) != 0) k++;
    if (k == sizeof names / sizeof names[0]) return 0;
    if (*a + 1 == argc) return cli_usage_error(tool, "%s needs a value", arg);
    const char *v = argv[++*a];
    uint64_t n;
    synth_spec spec;
    if (strcmp(arg, "--tensor") == 0) {
        if (o->nglobs == INPUTS_MAX) return cli_usage_error(tool, "more than %d --tensor patterns", INPUTS_MAX);
        o->globs[o->nglobs++] = v;
    } else if (strcmp(arg, "--dtype") == 0) {
        if (!tensor_dtype_from_name(v, &o->raw.dtype))
            return cli_usage_error(tool, "--dtype: unknown type '%s' (f32, f64, f16, bf16, e4m3, e5m2)", v);
        o->have_dtype = true;
    } else if (strcmp(arg, "--shape") == 0) {
        if (!parse_shape(v, &o->raw)) return cli_usage_error(tool, "--shape: expected sizes like 4096x7168, not '%s'", v);
        o->have_shape = true;
    } else if (strcmp(arg, "--synthetic") == 0) {
        if (o->nsynthetic == INPUTS_MAX) return cli_usage_error(tool, "more than %d --synthetic inputs", INPUTS_MAX);
        if (!synth_spec_parse(v, 0, &spec))
            return cli_usage_error(tool, "--synthetic: unknown kind '%s' (gaussian, laplace, student-t, llm, "
                                         "each with an optional +MEAN)", v);
        o->synthetic[o->nsynthetic++] = v;
    } else if (strcmp(arg, "--rows") == 0 || strcmp(arg, "--cols") == 0) {
        if (!cli_parse_size(v, &n) || n == 0 || n > ((uint64_t)1 << 32))
            return cli_usage_error(tool, "%s: expected a size from 1 to 2^32, not '%s'", arg, v);
        *(strcmp(arg, "--rows") == 0 ? &o->synth_rows : &o->synth_cols) = (size_t)n;
    } else {
        if (!cli_parse_size(v, &o->seed)) return cli_usage_error(tool, "--seed: expected a number, not '%s'", v);
    }
    return FP8_CONTINUE;
}

int input_add_path(const char *tool, input_options *o, const char *path)
{
    if (o->npaths == INPUTS_MAX) return cli_usage_error(tool, "more than %d inputs", INPUTS_MAX);
    o->paths[o->npaths++] = path;
    return FP8_CONTINUE;
}

int input_options_check(const char *tool, const input_options *o)
{
    if (o->have_dtype != o->have_shape) return cli_usage_error(tool, "raw data needs both --dtype and --shape");
    return FP8_CONTINUE;
}

static bool selected(const input_options *o, const tensor_entry *e, bool *matched)
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

/* Lists every tensor to analyse in s->tensors, and those it cannot (empty,
 * or not floating point) in skipped, noted on stderr once there is
 * something to do. */
static int plan(const char *tool, const input_options *o, input_set *s, input_tensor *skipped)
{
    bool matched[INPUTS_MAX] = {false};
    size_t nskipped = 0;
    s->ntensors = 0;
    for (size_t f = 0; f < s->nfiles; f++) {
        for (size_t i = 0; i < s->files[f].count; i++) {
            const tensor_entry *e = &s->files[f].entries[i];
            if (e->name && (!selected(o, e, matched) || (o->nglobs == 0 && tensor_is_scale_inv(s->files, s->nfiles, e))))
                continue;
            const input_tensor t = {e->name ? e->name : o->paths[f], o->paths[f], f, e, -1};
            if (e->dtype == DTYPE_OTHER || e->count == 0)
                skipped[nskipped++] = t;
            else
                s->tensors[s->ntensors++] = t;
        }
    }
    for (size_t g = 0; g < o->nglobs; g++)
        if (!matched[g]) return cli_input_error(tool, "--tensor '%s' matches no tensor", o->globs[g]);
    for (size_t k = 0; k < o->nsynthetic; k++)
        s->tensors[s->ntensors++] = (input_tensor){o->synthetic[k], "synthetic", 0, NULL, (int)k};
    if (s->ntensors == 0)
        return cli_input_error(tool, "no floating-point tensor to analyse (%zu empty or not floating point)", nskipped);
    for (size_t k = 0; k < nskipped; k++)
        fprintf(stderr, "%s: %s: skipping %s%s (%s)\n", tool, skipped[k].source, skipped[k].entry->name ? "tensor " : "the data",
                skipped[k].entry->name ? skipped[k].entry->name : "",
                skipped[k].entry->count == 0 ? "empty" : skipped[k].entry->dtype_name);
    return FP8_CONTINUE;
}

int input_set_open(const char *tool, const input_options *o, input_set *s)
{
    memset(s, 0, sizeof *s);
    const raw_layout *raw = o->have_dtype ? &o->raw : NULL;
    for (; s->nfiles < o->npaths; s->nfiles++) {
        tensor_error err;
        if (tensor_file_open(&s->files[s->nfiles], o->paths[s->nfiles], raw, &err) != FP8_OK)
            return cli_input_error(tool, "%s: %s", o->paths[s->nfiles], err.message);
    }
    size_t most = o->nsynthetic;
    for (size_t f = 0; f < s->nfiles; f++) most += s->files[f].count;
    input_tensor *skipped = malloc((most ? most : 1) * sizeof *skipped);
    s->tensors = malloc((most ? most : 1) * sizeof *s->tensors);
    const int status = skipped && s->tensors ? plan(tool, o, s, skipped) : cli_input_error(tool, "out of memory");
    free(skipped);
    return status;
}

void input_set_close(input_set *s)
{
    for (size_t f = 0; f < s->nfiles; f++) tensor_file_close(&s->files[f]);
    free(s->tensors);
    memset(s, 0, sizeof *s);
}

int input_load(const char *tool, const input_options *o, const input_set *s, size_t i, input_matrix *m)
{
    const input_tensor *t = &s->tensors[i];
    memset(m, 0, sizeof *m);
    if (t->synthetic >= 0) {
        m->rows = o->synth_rows, m->cols = o->synth_cols;
        m->ndim = 2, m->shape[0] = m->rows, m->shape[1] = m->cols;
        m->dtype = "f32";
        size_t n;
        if (__builtin_mul_overflow(m->rows, m->cols, &n) || !(m->x = calloc(n, sizeof *m->x)))
            return cli_input_error(tool, "synthetic %s: out of memory for %zu x %zu values", t->name, m->rows, m->cols);
        synth_spec spec;
        synth_spec_parse(o->synthetic[t->synthetic], o->seed, &spec);
        synth_fill(&spec, m->x, 0, m->rows, m->cols);
        return FP8_CONTINUE;
    }
    const tensor_entry *e = t->entry;
    uint64_t rows, cols;
    tensor_entry_matrix(e, &rows, &cols);
    m->rows = (size_t)rows, m->cols = (size_t)cols;
    m->ndim = e->ndim;
    memcpy(m->shape, e->shape, sizeof m->shape);
    m->dtype = e->dtype_name;
    tensor_error err;
    if (tensor_load_matrix(s->files, s->nfiles, t->file, e, &m->x, &m->dequantized, &err) != FP8_OK)
        return cli_input_error(tool, "%s%s%s: %s", t->source, e->name ? ": " : "", e->name ? e->name : "", err.message);
    return FP8_CONTINUE;
}
