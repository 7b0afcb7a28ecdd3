/* Seeded synthetic tensors (see synth.h). Each random quantity has its own
 * stream: a key derived from the seed, indexed by the element, channel or
 * token it belongs to. */
#include "synth.h"

#include <math.h>
#include <stdlib.h>
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
        .mean = 0.0,
        .dof = 3,
        .outlier_channel_fraction = 1.0 / 128,
        .channel_gain = 20.0,
        .outlier_token_fraction = 1.0 / 512,
        .token_gain = 500.0,
    };
    return s;
}

/* What an LLM-like tensor's column c carries, the same for every row. */
typedef struct llm_channel {
    double gain; /* exp(0.3 n_c), times channel_gain for an outlier channel */
    double sign; /* of its massive activations */
    bool outlier;
} llm_channel;

static llm_channel llm_channel_of(const synth_spec *s, size_t c)
{
    llm_channel ch;
    ch.outlier = uniform(s->seed ^ KEY_OUTLIER_CHANNEL, c) < s->outlier_channel_fraction;
    ch.gain = exp(0.3 * normal(s->seed ^ KEY_CHANNEL_GAIN, c)) * (ch.outlier ? s->channel_gain : 1.0);
    ch.sign = (fp8_sr_random_bits(s->seed ^ KEY_CHANNEL_SIGN, c) & 1) ? -1.0 : 1.0;
    return ch;
}

static bool llm_outlier_token(const synth_spec *s, size_t r)
{
    return s->outlier_token_fraction > 0 &&
           (r == 0 || uniform(s->seed ^ KEY_OUTLIER_TOKEN, r) < s->outlier_token_fraction);
}

static double llm_value(const synth_spec *s, const llm_channel *ch, bool outlier_token, uint64_t element)
{
    const double z = normal(s->seed, element);
    if (ch->outlier && outlier_token) return s->sigma * s->token_gain * (1.0 + 0.1 * z) * ch->sign;
    return s->sigma * ch->gain * z;
}

/* One element of the kinds without per-channel structure. */
static double value(const synth_spec *s, uint64_t element)
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
    case SYNTH_LLM: break; /* by channel groups, in synth_fill */
    }
    return 0;
}

/* LLM-like columns go in groups whose channel properties are computed once. */
#define CHANNEL_GROUP 256

void synth_fill(const synth_spec *spec, float *x, size_t row_begin, size_t row_end, size_t cols)
{
    if (spec->kind != SYNTH_LLM) {
        for (size_t r = row_begin; r < row_end; r++)
            for (size_t c = 0; c < cols; c++)
                x[(r - row_begin) * cols + c] = (float)(spec->mean + value(spec, (uint64_t)r * cols + c));
        return;
    }
    llm_channel ch[CHANNEL_GROUP];
    for (size_t c0 = 0; c0 < cols; c0 += CHANNEL_GROUP) {
        const size_t nc = cols - c0 < CHANNEL_GROUP ? cols - c0 : CHANNEL_GROUP;
        for (size_t k = 0; k < nc; k++) ch[k] = llm_channel_of(spec, c0 + k);
        for (size_t r = row_begin; r < row_end; r++) {
            const bool outlier_token = llm_outlier_token(spec, r);
            for (size_t k = 0; k < nc; k++)
                x[(r - row_begin) * cols + c0 + k] =
                    (float)(spec->mean + llm_value(spec, &ch[k], outlier_token, (uint64_t)r * cols + c0 + k));
        }
    }
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

bool synth_spec_parse(const char *text, uint64_t seed, synth_spec *out)
{
    char kind_name[32];
    const size_t len = strcspn(text, "+");
    synth_kind kind;
    if (len >= sizeof kind_name) return false;
    memcpy(kind_name, text, len);
    kind_name[len] = '\0';
    if (!synth_kind_from_name(kind_name, &kind)) return false;
    *out = synth_spec_init(kind, seed);
    if (text[len] == '\0') return true;
    /* "+MEAN": digits with at most one decimal point */
    const char *m = text + len + 1;
    char *end;
    if (!((*m >= '0' && *m <= '9') || *m == '.') || strspn(m, "0123456789.") != strlen(m)) return false;
    out->mean = strtod(m, &end);
    return *end == '\0' && end != m && isfinite(out->mean);
}
