/* Built-in synthetic tensors for the tools (fp8-error --synthetic, and the
 * standard suite of fp8-report), seeded and reproducible: element (r, c)
 * depends only on the spec, the seed, r and c, so any band of rows can be
 * generated on its own and equals the same rows of the whole. The random
 * numbers are libfp8's counter-based fp8_sr_random_bits(seed, index). */
#ifndef FP8_TOOLS_SYNTH_H
#define FP8_TOOLS_SYNTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum synth_kind {
    SYNTH_GAUSSIAN,  /* N(0, sigma^2) */
    SYNTH_LAPLACE,   /* Laplace with standard deviation sigma */
    SYNTH_STUDENT_T, /* sigma * t(dof): heavy tails */
    SYNTH_LLM        /* LLM-like activations: rows are tokens, columns channels (see below) */
} synth_kind;
#define SYNTH_KIND_COUNT 4

/* LLM-like activations (after "Massive activations in large language models",
 * Sun et al. 2024, and LLM.int8()'s outlier features):
 *   x[t][c] = sigma * g_c * z,  z ~ N(0, 1), g_c = exp(0.3 n_c) per channel,
 * where a fraction of channels are outlier channels (g_c times channel_gain),
 * and a fraction of tokens (always token 0, the attention sink) carry
 * massive activations: in the outlier channels they are +-sigma * token_gain
 * (a fixed sign per channel, 10% jitter). */
typedef struct synth_spec {
    synth_kind kind;
    uint64_t seed;
    double sigma;
    double mean;                     /* added to every element (positive-mean data: "gaussian+1") */
    unsigned dof;                    /* Student-t degrees of freedom (>= 1) */
    double outlier_channel_fraction; /* SYNTH_LLM */
    double channel_gain;
    double outlier_token_fraction;
    double token_gain;
} synth_spec;

/* Defaults: sigma 1, mean 0, dof 3, 1/128 outlier channels with gain 20, 1/512
 * outlier tokens (and token 0) with gain 500. */
synth_spec synth_spec_init(synth_kind kind, uint64_t seed);

/* Fills rows [row_begin, row_end) of a rows x cols tensor into x, row-major
 * (x holds (row_end - row_begin) * cols values). */
void synth_fill(const synth_spec *spec, float *x, size_t row_begin, size_t row_end, size_t cols);

/* "gaussian", "laplace", "student-t", "llm". */
const char *synth_kind_name(synth_kind kind);
bool synth_kind_from_name(const char *name, synth_kind *kind);

/* A spec from its name, "KIND" or "KIND+MEAN" (MEAN a non-negative decimal,
 * e.g. "gaussian+1" for N(1, 1)), with the other parameters at their
 * defaults; false when the text is neither. */
bool synth_spec_parse(const char *text, uint64_t seed, synth_spec *out);

#endif
