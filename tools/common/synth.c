/* Seeded synthetic tensors (see synth.h). Each random quantity has its own
 * stream: a key derived from the seed, indexed by the element, channel or
 * token it belongs to. */
#include "synth.h"

#include <math.h>
#include <string.h>

#include "fp8/convert.h" /* fp8_sr_random_bits */

/* Stream keys: the seed mixed with a distinct odd constant per stream. */
#define KEY_CHANNEL_GAIN 0x9E3779B97F4A7C15ull
#define KEY_OUTLIER_CHANNEL 0xBF58476D1CE4E5B9ull
#define KEY_OUTLIER_TOKEN 0x94D049BB133111EBull
#define KEY_CHANNEL_SIGN 0xD6E8FEB86659FD93ull

static const double two_pi = 6.283185307179586;

/* Uniform in (0, 1) with 53 random bits: draws 2i and 2i + 1 of the stream. */
static double uniform(uint64_t key, uint64_t i)
{
    const uint64_t hi = fp8_sr_random_bits(key, 2 * i), lo = fp8_sr_random_bits(key, 2 * i + 1);
    return ((double)(hi << 21 | lo >> 11) + 0.5) * 0x1p-53;
}

/* N(0, 1) by Box-Muller from uniforms 2i and 2i + 1. */
static double normal(uint64_t key, uint64_t i)
{
    return sqrt(-2.0 * log(uniform(key, 2 * i))) * cos(two_pi * uniform(key, 2 * i + 1));
}

synth_spec synth_spec_init(synth_kind kind, uint64_t seed)
{
    synth_spec s = {
        .kind = kind,
        .seed = seed,
        .sigma = 1.0,
        .dof = 3,
        .outlier_channel_fraction = 1.0 / 128,
        .channel_gain = 20.0,
        .outlier_token_fraction = 1.0 / 512,
        .token_gain = 500.0,
    };
    return s;
}

static double llm_value(const synth_spec *s, size_t r, size_t c, uint64_t element)
{
    const double z = normal(s->seed, element);
    const bool outlier_channel = uniform(s->seed ^ KEY_OUTLIER_CHANNEL, c) < s->outlier_channel_fraction;
    if (outlier_channel && s->outlier_token_fraction > 0 &&
        (r == 0 || uniform(s->seed ^ KEY_OUTLIER_TOKEN, r) < s->outlier_token_fraction)) {
        const double sign = (fp8_sr_random_bits(s->seed ^ KEY_CHANNEL_SIGN, c) & 1) ? -1.0 : 1.0;
        return s->sigma * s->token_gain * (1.0 + 0.1 * z) * sign;
    }
    const double gain = exp(0.3 * normal(s->seed ^ KEY_CHANNEL_GAIN, c)) * (outlier_channel ? s->channel_gain : 1.0);
    return s->sigma * gain * z;
}

static double value(const synth_spec *s, size_t r, size_t c, uint64_t element)
{
    switch (s->kind) {
    case SYNTH_GAUSSIAN: return s->sigma * normal(s->seed, element);
    case SYNTH_LAPLACE: {
        /* inverse CDF; scale b = sigma / sqrt(2) gives standard deviation sigma */
        const double u = uniform(s->seed, element) - 0.5;
        return -s->sigma / sqrt(2.0) * copysign(log(1.0 - 2.0 * fabs(u)), u);
    }
    case SYNTH_STUDENT_T: {
        /* Z / sqrt(chi2(dof) / dof), chi2 as a sum of dof squared normals */
        const unsigned dof = s->dof ? s->dof : 1;
        const uint64_t base = element * (dof + 1);
        double chi2 = 0;
        for (unsigned k = 1; k <= dof; k++) {
            const double n = normal(s->seed, base + k);
            chi2 += n * n;
        }
        return s->sigma * normal(s->seed, base) / sqrt(chi2 / dof);
    }
    case SYNTH_LLM: return llm_value(s, r, c, element);
    }
    return 0;
}

void synth_fill(const synth_spec *spec, float *x, size_t row_begin, size_t row_end, size_t cols)
{
    for (size_t r = row_begin; r < row_end; r++)
        for (size_t c = 0; c < cols; c++)
            x[(r - row_begin) * cols + c] = (float)value(spec, r, c, (uint64_t)r * cols + c);
}

static const char *const kind_names[SYNTH_KIND_COUNT] = {"gaussian", "laplace", "student-t", "llm"};

const char *synth_kind_name(synth_kind kind) { return (unsigned)kind < SYNTH_KIND_COUNT ? kind_names[kind] : NULL; }

bool synth_kind_from_name(const char *name, synth_kind *kind)
{
    for (int k = 0; k < SYNTH_KIND_COUNT; k++) {
        if (strcmp(name, kind_names[k]) == 0) {
            *kind = (synth_kind)k;
            return true;
        }
    }
    return false;
}
