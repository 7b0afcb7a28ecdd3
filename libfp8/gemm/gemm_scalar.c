/* libfp8: the scalar (reference) GEMM kernels: FP32 accumulation, the
 * tensor-core accumulator emulator, packing. This file is the specification
 * of the arithmetic; other instruction sets must give the same bytes. */
#include <limits.h>
#include <math.h>
#include <string.h>

#include "convert/reference.h"
#include "gemm/gemm_kernels.h"

static size_t min_size(size_t a, size_t b) { return a < b ? a : b; }

/* The accumulator d of one output before its first promotion. */
static float initial_d(const fp8_gemm_tile *t, const float *d) { return t->beta == 0.0f ? 0.0f : t->beta * *d; }

/* The sums of one segment of n products a[k * MR + i] * b[k * NR + j], for the whole tile. */
typedef void (*segment_sums_fn)(float sums[FP8_GEMM_MR][FP8_GEMM_NR], const float *a, const float *b, size_t n,
                                const fp8_accumulator_model *m);

/* Every output: d from D (or beta), then one promotion per segment. */
static void scalar_tile(const fp8_gemm_tile *t, segment_sums_fn segment_sums)
{
    float d[FP8_GEMM_MR][FP8_GEMM_NR], sums[FP8_GEMM_MR][FP8_GEMM_NR];
    for (size_t i = 0; i < FP8_GEMM_MR; i++)
        for (size_t j = 0; j < FP8_GEMM_NR; j++) d[i][j] = t->first ? initial_d(t, &t->d[i * t->ldd + j]) : t->d[i * t->ldd + j];
    for (size_t s0 = 0, s = 0; s0 < t->kc; s0 += t->segment, s++) {
        segment_sums(sums, t->a + s0 * FP8_GEMM_MR, t->b + s0 * FP8_GEMM_NR, min_size(t->segment, t->kc - s0),
                     &t->accumulator);
        for (size_t i = 0; i < FP8_GEMM_MR; i++)
            for (size_t j = 0; j < FP8_GEMM_NR; j++)
                d[i][j] = fmaf(sums[i][j], t->a_scale[s * FP8_GEMM_MR + i] * t->b_scale[s * FP8_GEMM_NR + j], d[i][j]);
    }
    for (size_t i = 0; i < FP8_GEMM_MR; i++)
        for (size_t j = 0; j < FP8_GEMM_NR; j++) t->d[i * t->ldd + j] = d[i][j];
}

/* FP32 accumulation in k order, one rounding per product. */
static void fp32_sums(float sums[FP8_GEMM_MR][FP8_GEMM_NR], const float *a, const float *b, size_t n,
                      const fp8_accumulator_model *m)
{
    (void)m;
    for (size_t i = 0; i < FP8_GEMM_MR; i++) {
        for (size_t j = 0; j < FP8_GEMM_NR; j++) {
            float sum = 0.0f;
            for (size_t k = 0; k < n; k++) sum = fmaf(a[k * FP8_GEMM_MR + i], b[k * FP8_GEMM_NR + j], sum);
            sums[i][j] = sum;
        }
    }
}

static void scalar_tile_f32(const fp8_gemm_tile *t) { scalar_tile(t, fp32_sums); }

/* ---- the accumulator emulator (docs/gemm.md, "The accumulator emulator") ----------------------
 * Every value is held exactly as an integer times a power of two, sig * 2^exp; the FP32 inputs
 * (decoded FP8 or BF16) split as
 *     | S | EEEEEEEE | MMMMMMMMMMMMMMMMMMMMMMM |  ->  sig = +-(1.M as a 24-bit integer), exp = E - 150
 * (subnormals: sig = +-M, exp = -149), so a product is exact in 48 bits. */
typedef struct exact_value {
    int64_t sig; /* 0 means zero, whatever exp is */
    int exp;
} exact_value;

/* A packed input, split; non-finite ones keep their value for the FP32 side path. */
typedef struct split_input {
    exact_value v;
    bool finite;
    float value;
} split_input;

static split_input split_f32(float x)
{
    const uint32_t u = fp8_f32_bits(x);
    const uint32_t biased = (u >> 23) & 0xFFu, mant = u & 0x7FFFFFu;
    const int64_t mag = biased != 0 ? (int64_t)(mant | 0x800000u) : (int64_t)mant;
    return (split_input){{(u >> 31) ? -mag : mag, (biased != 0 ? (int)biased : 1) - 150}, biased != 0xFFu, x};
}

static unsigned bit_length(int64_t v)
{
    const uint64_t m = v < 0 ? (uint64_t)-v : (uint64_t)v;
    return m == 0 ? 0u : 64u - (unsigned)__builtin_clzll(m);
}

/* The exponent of the leading bit: |v| in [2^lead, 2^(lead+1)). v must be nonzero. */
static int leading_exponent(exact_value v) { return v.exp + (int)bit_length(v.sig) - 1; }

/* floor(v / 2^shift), the sign-filling right shift (written so for any C compiler: for v < 0,
 * ~v >= 0 and ~(~v >> s) = floor(v / 2^s)); a negative shift scales up (callers keep the result
 * below 2^62). */
static int64_t floor_shift(int64_t v, int shift)
{
    if (shift < 0) return v * ((int64_t)1 << -shift);
    if (shift > 62) shift = 63;
    return v >= 0 ? v >> shift : ~(~v >> shift);
}

/* v rounded toward -infinity to `bits` significant bits. */
static exact_value truncate_to_bits(exact_value v, unsigned bits)
{
    const unsigned len = bit_length(v.sig);
    if (len <= bits) return v;
    return (exact_value){floor_shift(v.sig, (int)(len - bits)), v.exp + (int)(len - bits)};
}

/* x + y, exact where truncation to <= 24 bits can see it: terms below 2^(hi - 40), hi the larger
 * leading exponent, are first rounded toward -infinity to a multiple of 2^(hi - 40). That changes
 * nothing after truncate_to_bits: floor to a coarse grid of a floor to a finer grid is the floor to
 * the coarse grid, and a term that small cannot cancel the other (the running sum has at most 25
 * bits, a group's sum at most 31 with mma_k <= 64). */
static exact_value add_exact(exact_value x, exact_value y)
{
    if (x.sig == 0) return y;
    if (y.sig == 0) return x;
    const int hi = leading_exponent(x) > leading_exponent(y) ? leading_exponent(x) : leading_exponent(y);
    int base = x.exp < y.exp ? x.exp : y.exp;
    if (base < hi - 40) base = hi - 40;
    return (exact_value){floor_shift(x.sig, base - x.exp) + floor_shift(y.sig, base - y.exp), base};
}

/* One accumulator step: the group's n products a[k * MR] * b[k * NR] (exact, 48-bit), aligned to
 * the largest leading exponent among them (and the running sum's, in FP8_ACCUM_ALIGN_WITH_SUM),
 * each floored to `bits` bits below it, summed exactly into the running sum, which is then
 * floored to `bits` significant bits. Non-finite products bypass the datapath: they are summed
 * in FP32 apart (so NaN and infinities propagate as FP32 arithmetic would). */
static void accumulate_group(exact_value *acc, float *special, const split_input *a, const split_input *b, size_t n,
                             const fp8_accumulator_model *m)
{
    exact_value products[FP8_GEMM_MAX_MMA_K];
    int top = INT_MIN;
    for (size_t k = 0; k < n; k++) {
        const split_input *x = &a[k * FP8_GEMM_MR], *y = &b[k * FP8_GEMM_NR];
        products[k] = (exact_value){0, 0};
        if (!x->finite || !y->finite) {
            *special += x->value * y->value;
            continue;
        }
        products[k] = (exact_value){x->v.sig * y->v.sig, x->v.exp + y->v.exp};
        if (products[k].sig != 0 && leading_exponent(products[k]) > top) top = leading_exponent(products[k]);
    }
    const bool sum_aligns = m->model == FP8_ACCUM_ALIGN_WITH_SUM && acc->sig != 0;
    if (sum_aligns && leading_exponent(*acc) > top) top = leading_exponent(*acc);
    if (top == INT_MIN) return; /* nothing but zeros */
    /* every term keeps the bits from 2^top down to 2^grid: `bits` bits for the largest */
    const int grid = top + 1 - (int)m->bits;
    int64_t sum = 0;
    for (size_t k = 0; k < n; k++) sum += floor_shift(products[k].sig, grid - products[k].exp);
    if (sum_aligns)
        *acc = (exact_value){sum + floor_shift(acc->sig, grid - acc->exp), grid};
    else
        *acc = add_exact(*acc, (exact_value){sum, grid});
    *acc = truncate_to_bits(*acc, m->bits);
}

/* The emulated sums of one segment: the inputs of each group split once for the whole tile. The
 * FP32 value handed to promotion is exact: the accumulator holds at most 25 significant bits, and
 * FP8 products never leave FP32's normal range. */
static void emulated_sums(float sums[FP8_GEMM_MR][FP8_GEMM_NR], const float *a, const float *b, size_t n,
                          const fp8_accumulator_model *m)
{
    exact_value acc[FP8_GEMM_MR][FP8_GEMM_NR] = {{{0, 0}}};
    float special[FP8_GEMM_MR][FP8_GEMM_NR] = {{0}};
    split_input sa[FP8_GEMM_MAX_MMA_K * FP8_GEMM_MR], sb[FP8_GEMM_MAX_MMA_K * FP8_GEMM_NR];
    for (size_t g0 = 0; g0 < n; g0 += m->mma_k) {
        const size_t g = min_size(m->mma_k, n - g0);
        for (size_t k = 0; k < g * FP8_GEMM_MR; k++) sa[k] = split_f32(a[g0 * FP8_GEMM_MR + k]);
        for (size_t k = 0; k < g * FP8_GEMM_NR; k++) sb[k] = split_f32(b[g0 * FP8_GEMM_NR + k]);
        for (size_t i = 0; i < FP8_GEMM_MR; i++)
            for (size_t j = 0; j < FP8_GEMM_NR; j++) accumulate_group(&acc[i][j], &special[i][j], sa + i, sb + j, g, m);
    }
    for (size_t i = 0; i < FP8_GEMM_MR; i++)
        for (size_t j = 0; j < FP8_GEMM_NR; j++) sums[i][j] = ldexpf((float)acc[i][j].sig, acc[i][j].exp) + special[i][j];
}

void fp8_gemm_scalar_tile_emulated(const fp8_gemm_tile *t) { scalar_tile(t, emulated_sums); }

void fp8_gemm_scalar_pack(void *dst, const void *src, size_t ld, size_t rows, size_t width, size_t kc,
                          size_t elem_size)
{
    unsigned char *out = dst;
    const unsigned char *in = src;
    for (size_t k = 0; k < kc; k++) {
        for (size_t i = 0; i < width; i++) {
            unsigned char *o = out + (k * width + i) * elem_size;
            if (i < rows)
                memcpy(o, in + (i * ld + k) * elem_size, elem_size);
            else
                memset(o, 0, elem_size);
        }
    }
}

const fp8_gemm_kernels fp8_gemm_kernels_scalar = {
    .isa = FP8_CPU_ISA_SCALAR,
    .tile_f32 = scalar_tile_f32,
    .tile_emulated = fp8_gemm_scalar_tile_emulated,
    .pack = fp8_gemm_scalar_pack,
    .convert = &fp8_cpu_kernels_scalar,
};
