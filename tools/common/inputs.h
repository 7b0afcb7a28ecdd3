/* The tensors a tool analyses, listed and loaded the same way by every tool:
 * files named on the command line (.npy, safetensors with DeepSeek-V3 FP8
 * weights dequantized, raw data with --dtype and --shape; --tensor GLOB
 * picks safetensors tensors) and built-in synthetic tensors (--synthetic
 * KIND, --rows, --cols, --seed). */
#ifndef FP8_TOOLS_INPUTS_H
#define FP8_TOOLS_INPUTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/synth.h"
#include "io/tensor_file.h"

#define INPUTS_MAX 64

typedef struct input_options {
    const char *globs[INPUTS_MAX];
    size_t nglobs;
    const char *paths[INPUTS_MAX];
    size_t npaths;
    const char *synthetic[INPUTS_MAX]; /* "KIND" or "KIND+MEAN" (synth_spec_parse) */
    size_t nsynthetic;
    size_t synth_rows, synth_cols;     /* default 1024 x 4096 */
    uint64_t seed;                     /* default 1 */
    bool have_dtype, have_shape;
    raw_layout raw;
} input_options;

void input_options_init(input_options *o);

/* If argv[*a] is an input option (--tensor, --dtype, --shape, --synthetic,
 * --rows, --cols, --seed), takes it and its value (advancing *a) and returns
 * FP8_CONTINUE; FP8_EXIT_USAGE after a message for a bad one; 0 when
 * argv[*a] is not an input option. */
int input_option(const char *tool, input_options *o, int argc, char **argv, int *a);

/* Adds a file to analyse; FP8_EXIT_USAGE after a message when there are too many. */
int input_add_path(const char *tool, input_options *o, const char *path);

/* After the last option: FP8_EXIT_USAGE after a message for --dtype without
 * --shape or the reverse, else FP8_CONTINUE. */
int input_options_check(const char *tool, const input_options *o);

/* One tensor to analyse: an entry of a file, or a synthetic tensor. */
typedef struct input_tensor {
    const char *name, *source; /* the tensor's name (or the file's path), and where it comes from */
    size_t file;               /* files[file] and entry, or */
    const tensor_entry *entry;
    int synthetic;             /* an index into options->synthetic, or -1 */
} input_tensor;

typedef struct input_set {
    tensor_file files[INPUTS_MAX];
    size_t nfiles;
    input_tensor *tensors; /* in the order given; a safetensors file's in natural name order */
    size_t ntensors;
} input_set;

/* Opens every file and lists the tensors to analyse: those --tensor selects
 * (all without it, less the DeepSeek `_scale_inv` companions), floating
 * point and non-empty; the others are noted on stderr ("skipping ...").
 * FP8_CONTINUE, or FP8_EXIT_BAD_INPUT after a one-line reason (a file that
 * cannot be read, a pattern that matches nothing, nothing to analyse).
 * Call input_set_close in either case. */
int input_set_open(const char *tool, const input_options *o, input_set *s);
void input_set_close(input_set *s);

/* A tensor loaded as the FP32 matrix the tools analyse (tensor_entry_matrix). */
typedef struct input_matrix {
    float *x; /* rows * cols values, malloc'ed: free() it */
    size_t rows, cols;
    unsigned ndim;
    uint64_t shape[TENSOR_MAX_DIMS];
    const char *dtype; /* as the file names it ("F32", "<f4"), or "f32" for synthetic data */
    bool dequantized;  /* a DeepSeek-V3 FP8 weight, dequantized with its scale_inv */
} input_matrix;

/* Loads (or generates) tensor i of s. FP8_CONTINUE, or FP8_EXIT_BAD_INPUT
 * after a one-line reason. */
int input_load(const char *tool, const input_options *o, const input_set *s, size_t i, input_matrix *m);

#endif
