/* splitmix64 (Steele, Lea, Flood 2014): a seed expands into a reproducible
 * stream; fp8-train needs nothing stronger for weights and batch order. */
#ifndef FP8_TRAIN_RNG_H
#define FP8_TRAIN_RNG_H

#include <stdint.h>

static inline uint64_t rng_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform in (0, 1]: never 0, so log() of it is finite. */
static inline double rng_uniform(uint64_t *state) { return (double)((rng_next(state) >> 11) + 1) * 0x1p-53; }

/* Uniform in [0, n), n >= 1 (the modulo bias is below 2^-40 for n < 2^24). */
static inline uint64_t rng_below(uint64_t *state, uint64_t n) { return rng_next(state) % n; }

#endif
