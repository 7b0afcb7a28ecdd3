/* libfp8: the scalar (reference) GEMM kernels: FP32 accumulation, the
 * tensor-core accumulator emulator, packing. This file is the specification
 * of the arithmetic; other instruction sets must give the same bytes. */
#include <limits.h>
#include <math.h>

#include "convert/reference.h"
#include "gemm/gemm_kernels.h"

static size_t min_size(size_t a, size_t b) { return a < b ? a : b; }

/* The accumulator d of one output before its first promotion. */
static float initial_d(const fp8_gemm_tile *t, const float *d) { return t->beta == 0.0f ? 0.0f : t->beta * *d; }

/* The sum of one segment of n products a[k * MR] * b[k * NR]. */
typedef float (*segment_sum_fn)(const float *a, const float *b, size_t n, const fp8_accumulator_model *m);

/* Every output: d from D (or beta), then one promotion per segment. */
static void scalar_tile(const fp8_gemm_tile *t, segment_sum_fn segment_sum)
{
    for (size_t i = 0; i < FP8_GEMM_MR; i++) {
        for (size_t j = 0; j < FP8_GEMM_NR; j++) {
            float *out = &t->d[i * t->ldd + j];
            float d = t->first ? initial_d(t, out) : *out;
            for (size_t s0 = 0, s = 0; s0 < t->kc; s0 += t->segment, s++) {
                const float sum = segment_sum(t->a + s0 * FP8_GEMM_MR + i, t->b + s0 * FP8_GEMM_NR + j,
                                              min_size(t->segment, t->kc - s0), &t->accumulator);
                d = fmaf(sum, t->a_scale[s * FP8_GEMM_MR + i] * t->b_scale[s * FP8_GEMM_NR + j], d);
            }
            *out = d;
        }
    }
}

/* FP32 accumulation in k order, one rounding per product. */
static float fp32_segment(const float *a, const float *b, size_t n, const fp8_accumulator_model *m)
{
    (void)m;
    float sum = 0.0f;
    for (size_t k = 0; k < n; k++) sum = fmaf(a[k * FP8_GEMM_MR], b[k * FP8_GEMM_NR], sum);
    return sum;
}

static void scalar_tile_f32(const fp8_gemm_tile *t) { scalar_tile(t, fp32_segment); }

/* ---- the accumulator emulator (docs/gemm.md, "The accumulator emulator") ----------------------
 * Every value is held exactly as an integer times a power of two, sig * 2^exp; the FP32 inputs
 * (decoded FP8 or BF16) split as
 *     | S | EEEEEEEE | MMMMMMMMMMMMMMMMMMMMMMM |  ->  sig = +-(1.M as a 24-bit integer), exp = E - 150
 * (subnormals: sig = +-M, exp = -149), so a product is exact in 48 bits. */
typedef struct exact_value {
    int64_t sig; /* 0 means zero, whatever exp is */
    int exp;
} exact_value;

static exact_value split_f32(float x)
{
    const uint32_t u = fp8_f32_bits(x);
    const uint32_t biased = (u >> 23) & 0xFFu, mant = u & 0x7FFFFFu;
    const int64_t mag = biased != 0 ? (int64_t)(mant | 0x800000u) : (int64_t)mant;
    return (exact_value){(u >> 31) ? -mag : mag, (biased != 0 ? (int)biased : 1) - 150};
}

static exact_value exact_product(float x, float y)
{
    const exact_value a = split_f32(x), b = split_f32(y);
    return (exact_value){a.sig * b.sig, a.exp + b.exp};
}

static unsigned bit_length(int64_t v)
{
    const uint64_t m = v < 0 ? (uint64_t)-v : (uint64_t)v;
    return m == 0 ? 0u : 64u - (unsigned)__builtin_clzll(m);
}

/* The exponent of the leading bit: |v| in [2^lead, 2^(lead+1)). v must be nonzero. */
static int leading_exponent(exact_value v) { return v.exp + (int)bit_length(v.sig) - 1; }

/* floor(v / 2^shift), the sign-filling right shift; a negative shift scales up (callers keep the
 * result below 2^62). */
static int64_t floor_shift(int64_t v, int shift)
{
    if (shift <= 0) return v * ((int64_t)1 << -shift);
    if (shift >= 62) return v < 0 ? -1 : 0;
    if (v >= 0) return v >> shift;
    return -((-v + ((int64_t)1 << shift) - 1) >> shift);
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
 * bits, a group's sum at most 32 with mma_k <= 128). */
static exact_value add_exact(exact_value x, exact_value y)
{
    if (x.sig == 0) return y;
    if (y.sig == 0) return x;
    const int hi = leading_exponent(x) > leading_exponent(y) ? leading_exponent(x) : leading_exponent(y);
    int base = x.exp < y.exp ? x.exp : y.exp;
    if (base < hi - 40) base = hi - 40;
    return (exact_value){floor_shift(x.sig, base - x.exp) + floor_shift(y.sig, base - y.exp), base};
}

static bool finite_f32(float x) { return (fp8_f32_bits(x) & 0x7F800000u) != 0x7F800000u; }

/* One segment of the emulated dot product, in groups of mma_k products. Non-finite products bypass the fixed-point datapath and are summed in FP32
 * (so NaN and infinities propagate as in FP32 arithmetic). Returns the FP32 value handed to
 * promotion: the accumulator converts exactly (it holds at most 25 significant bits, and
 * FP8 products never leave FP32's normal range). */
static float emulated_segment(const float *a, const float *b, size_t n, const fp8_accumulator_model *m)
{
    exact_value acc = {0, 0};
    float special = 0.0f;
    for (size_t g0 = 0; g0 < n; g0 += m->mma_k) {
        const size_t g1 = min_size(g0 + m->mma_k, n);
        int top = INT_MIN; /* the largest leading exponent among the group's terms */
        for (size_t k = g0; k < g1; k++) {
            const float x = a[k * FP8_GEMM_MR], y = b[k * FP8_GEMM_NR];
            if (!finite_f32(x) || !finite_f32(y)) {
                special += x * y;
                continue;
            }
            const exact_value p = exact_product(x, y);
            if (p.sig != 0 && leading_exponent(p) > top) top = leading_exponent(p);
        }
        const bool sum_aligns = m->model == FP8_ACCUM_ALIGN_WITH_SUM && acc.sig != 0;
        if (sum_aligns && leading_exponent(acc) > top) top = leading_exponent(acc);
        if (top == INT_MIN) continue; /* nothing but zeros */
        /* every term keeps the bits from 2^top down to 2^grid: `bits` bits for the largest */
        const int grid = top + 1 - (int)m->bits;
        int64_t sum = 0;
        for (size_t k = g0; k < g1; k++) {
            const float x = a[k * FP8_GEMM_MR], y = b[k * FP8_GEMM_NR];
            if (!finite_f32(x) || !finite_f32(y)) continue;
            const exact_value p = exact_product(x, y);
            if (p.sig != 0) sum += floor_shift(p.sig, grid - p.exp);
        }
        if (sum_aligns) {
            sum += floor_shift(acc.sig, grid - acc.exp);
            acc = (exact_value){sum, grid};
        } else {
            acc = add_exact(acc, (exact_value){sum, grid});
        }
        acc = truncate_to_bits(acc, m->bits);
    }
    return ldexpf((float)acc.sig, acc.exp) + special;
}

void fp8_gemm_scalar_tile_emulated(const fp8_gemm_tile *t) { scalar_tile(t, emulated_segment); }

void fp8_gemm_scalar_pack(float *dst, const float *src, size_t ld, size_t rows, size_t width, size_t kc)
{
    for (size_t k = 0; k < kc; k++)
        for (size_t i = 0; i < width; i++) dst[k * width + i] = i < rows ? src[i * ld + k] : 0.0f;
}

const fp8_gemm_kernels fp8_gemm_kernels_scalar = {
    .isa = FP8_CPU_ISA_SCALAR,
    .tile_f32 = scalar_tile_f32,
    .tile_emulated = fp8_gemm_scalar_tile_emulated,
    .pack = fp8_gemm_scalar_pack,
    .convert = &fp8_cpu_kernels_scalar,
};
