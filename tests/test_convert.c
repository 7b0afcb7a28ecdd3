/* Conversion tests: every FP8 code decoded, every FP16/BF16 input encoded,
 * every FP32 bit pattern encoded, against the independent reference
 * (support/reference.c) and, for E4M3/E5M2, NVIDIA's cuda_fp8.h; the kernels
 * of every SIMD path (AVX2, AVX-512) against the scalar ones, byte for byte. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/kernels.h"
#include "fp8.h"
#include "support/isa.h"
#include "support/reference.h"
#ifdef FP8_HAVE_CUDA_ORACLE
#include "oracle/cuda_oracle.h"
#endif

static const fp8_format all_formats[] = {FP8_E4M3, FP8_E5M2, FP8_E4M3FNUZ, FP8_E5M2FNUZ};
static const fp8_saturation all_sats[] = {FP8_SATFINITE, FP8_NOSAT};
#define NFORMATS 4

static int is_ocp(fp8_format f) { return f == FP8_E4M3 || f == FP8_E5M2; }

/* The kernels of SIMD path isa (FP8_TEST_FIRST_SIMD..FP8_TEST_LAST_SIMD), or NULL where this
 * machine lacks it (test_isa_runs says so). */
static const fp8_cpu_kernels *simd_kernels(int isa)
{
    if (!test_isa_runs(isa)) return NULL;
#ifdef FP8_HAVE_AVX2_KERNELS
    if (isa == FP8_CPU_ISA_AVX2) return &fp8_cpu_kernels_avx2;
    if (isa == FP8_CPU_ISA_AVX512) return &fp8_cpu_kernels_avx512;
#endif
    return NULL;
}

static int same_value_bits(double expected, uint32_t got_f32_bits)
{
    if (isnan(expected)) return got_f32_bits == 0x7FFFFFFFu; /* positive canonical NaN */
    float g = f32_from_bits(got_f32_bits);
    return (double)g == expected && !signbit(g) == !signbit(expected);
}

START_TEST(decode_all_codes)
{
    const fp8_format fmt = all_formats[_i];
    const fp8_format_params *p = fp8_format_params_of(fmt);
    uint8_t codes[256];
    float f32_scalar[256], f32_simd[256];
    uint16_t f16_scalar[256], f16_simd[256], bf16_scalar[256], bf16_simd[256];
    for (int c = 0; c < 256; c++) codes[c] = (uint8_t)c;
    fp8_cpu_kernels_scalar.decode_f32(f32_scalar, codes, 256, p);
    fp8_cpu_kernels_scalar.decode_f16(f16_scalar, codes, 256, p);
    fp8_cpu_kernels_scalar.decode_bf16(bf16_scalar, codes, 256, p);
    for (int c = 0; c < 256; c++) {
        const double want = ref_decode((uint8_t)c, fmt);
        const uint32_t got = f32_bits(fp8_to_f32((uint8_t)c, fmt));
        ck_assert_msg(same_value_bits(want, got), "%s 0x%02x: want %a got %a (0x%08x)", fp8_format_name(fmt), c,
                      want, (double)f32_from_bits(got), got);
        ck_assert_msg(f32_bits(f32_scalar[c]) == got, "%s 0x%02x: array decode differs", fp8_format_name(fmt), c);
        const double d = fp8_to_f64((uint8_t)c, fmt);
        ck_assert(isnan(want) ? isnan(d) : (d == want && !signbit(d) == !signbit(want)));
        /* FP16 and BF16 hold every FP8 value exactly */
        const uint16_t h = fp8_to_f16((uint8_t)c, fmt), b = fp8_to_bf16((uint8_t)c, fmt);
        if (isnan(want)) {
            ck_assert_msg(h == 0x7FFF && b == 0x7FFF, "%s 0x%02x: NaN as 0x%04x / 0x%04x", fp8_format_name(fmt), c, h, b);
        } else {
            ck_assert_msg(ref_f16_value(h) == want && !signbit(ref_f16_value(h)) == !signbit(want),
                          "%s 0x%02x: f16 0x%04x", fp8_format_name(fmt), c, h);
            ck_assert_msg(ref_bf16_value(b) == want && !signbit(ref_bf16_value(b)) == !signbit(want),
                          "%s 0x%02x: bf16 0x%04x", fp8_format_name(fmt), c, b);
        }
        ck_assert(f16_scalar[c] == h && bf16_scalar[c] == b);
#ifdef FP8_HAVE_CUDA_ORACLE
        if (is_ocp(fmt)) {
            const uint16_t nv = cuda_oracle_to_f16((uint8_t)c, fmt == FP8_E5M2);
            ck_assert_msg(h == nv, "%s 0x%02x: f16 0x%04x, cuda_fp8.h 0x%04x", fp8_format_name(fmt), c, h, nv);
        }
#endif
    }
    for (int isa = FP8_TEST_FIRST_SIMD; isa <= FP8_TEST_LAST_SIMD; isa++) {
        const fp8_cpu_kernels *simd = simd_kernels(isa);
        if (!simd) continue;
        /* odd lengths and offsets exercise the vector body and the tails */
        for (size_t n = 0; n <= 256; n += 37) {
            size_t off = 256 - n;
            simd->decode_f32(f32_simd, codes + off, n, p);
            simd->decode_f16(f16_simd, codes + off, n, p);
            simd->decode_bf16(bf16_simd, codes + off, n, p);
            ck_assert_msg(memcmp(f32_simd, f32_scalar + off, n * 4) == 0, "%s decode_f32", fp8_cpu_isa_name(simd->isa));
            ck_assert_msg(memcmp(f16_simd, f16_scalar + off, n * 2) == 0, "%s decode_f16", fp8_cpu_isa_name(simd->isa));
            ck_assert_msg(memcmp(bf16_simd, bf16_scalar + off, n * 2) == 0, "%s decode_bf16", fp8_cpu_isa_name(simd->isa));
        }
    }
}
END_TEST

/* All 65,536 FP16 and BF16 inputs, each format and saturation mode. */
START_TEST(encode_all_f16_bf16)
{
    const fp8_format fmt = all_formats[_i];
    const fp8_format_params *p = fp8_format_params_of(fmt);
    uint16_t *src = malloc(65536 * 2);
    uint8_t *scalar = malloc(65536), *simd_out = malloc(65536);
    for (uint32_t i = 0; i < 65536; i++) src[i] = (uint16_t)i;
    for (int s = 0; s < 2; s++) {
        const fp8_saturation sat = all_sats[s];
        for (int kind = 0; kind < 2; kind++) { /* 0: f16, 1: bf16 */
            const char *kname = kind ? "bf16" : "f16";
            (kind ? fp8_cpu_kernels_scalar.encode_bf16 : fp8_cpu_kernels_scalar.encode_f16)(scalar, src, 65536, p, sat);
            for (uint32_t i = 0; i < 65536; i++) {
                const uint16_t h = (uint16_t)i;
                const double v = kind ? ref_bf16_value(h) : ref_f16_value(h);
                const uint8_t got = kind ? fp8_from_bf16(h, fmt, sat) : fp8_from_f16(h, fmt, sat);
                const uint8_t want = ref_encode(v, fmt, sat);
                ck_assert_msg(got == want, "%s %s sat=%d input 0x%04x (%a): want 0x%02x got 0x%02x",
                              fp8_format_name(fmt), kname, sat, h, v, want, got);
                ck_assert_msg(scalar[i] == got, "%s array 0x%04x", kname, h);
#ifdef FP8_HAVE_CUDA_ORACLE
                if (is_ocp(fmt)) {
                    const uint8_t nv = kind ? cuda_oracle_from_bf16(h, fmt == FP8_E5M2, sat == FP8_NOSAT)
                                            : cuda_oracle_from_f16(h, fmt == FP8_E5M2, sat == FP8_NOSAT);
                    ck_assert_msg(got == nv, "%s %s sat=%d input 0x%04x: cuda_fp8.h 0x%02x, ours 0x%02x",
                                  fp8_format_name(fmt), kname, sat, h, nv, got);
                }
#endif
            }
            for (int isa = FP8_TEST_FIRST_SIMD; isa <= FP8_TEST_LAST_SIMD; isa++) {
                const fp8_cpu_kernels *simd = simd_kernels(isa);
                if (!simd) continue;
                (kind ? simd->encode_bf16 : simd->encode_f16)(simd_out, src, 65536, p, sat);
                ck_assert_msg(memcmp(simd_out, scalar, 65536) == 0, "%s %s encode differs", fp8_cpu_isa_name(simd->isa), kname);
                (kind ? simd->encode_bf16 : simd->encode_f16)(simd_out, src + 3, 65533 - 40, p, sat); /* tails */
                ck_assert(memcmp(simd_out, scalar + 3, 65533 - 40) == 0);
            }
        }
    }
    free(src);
    free(scalar);
    free(simd_out);
}
END_TEST

/* Every FP32 bit pattern: the scalar kernel equals cuda_fp8.h (E4M3, E5M2)
 * or the reference (FNUZ; and E4M3/E5M2 where the toolkit is absent), and the
 * SIMD kernel equals the scalar one. The reference is piecewise constant over
 * runs of ascending bit patterns, so it is evaluated at the run boundaries
 * (found by bisection with the slow reference) and every input is checked
 * against it. Loop index: format * 2 + half of the magnitude range; each
 * covers both signs and both saturation modes. */
typedef struct {
    uint32_t end;       /* first magnitude bit pattern past this run */
    uint8_t want[2][2]; /* [sat][negative] */
} run_t;

static uint8_t ref_bits(uint32_t mag_bits, int neg, fp8_format fmt, fp8_saturation sat)
{
    const double x = (double)f32_from_bits(mag_bits);
    return ref_encode(neg ? -x : x, fmt, sat);
}

static run_t run_at(uint32_t b, fp8_format fmt)
{
    run_t r;
    for (int s = 0; s < 2; s++)
        for (int n = 0; n < 2; n++) r.want[s][n] = ref_bits(b, n, fmt, all_sats[s]);
    if (b >= 0x7F800000u) { /* infinity, then NaNs: constant per input class */
        r.end = b == 0x7F800000u ? b + 1 : 0x80000000u;
        return r;
    }
    /* the reference is monotone below infinity: bisect for the first change of the SATFINITE/positive code
       (the other three change at the same boundaries) */
    uint32_t lo = b, hi = 0x7F800000u;
    while (hi - lo > 1) {
        const uint32_t mid = lo + (hi - lo) / 2;
        if (ref_bits(mid, 0, fmt, FP8_SATFINITE) == r.want[0][0] && ref_bits(mid, 0, fmt, FP8_NOSAT) == r.want[1][0])
            lo = mid;
        else
            hi = mid;
    }
    r.end = hi;
    return r;
}

START_TEST(encode_all_f32)
{
    const fp8_format fmt = all_formats[_i / 2];
    const fp8_format_params *p = fp8_format_params_of(fmt);
    const uint32_t first = (_i % 2) ? 0x40000000u : 0u, last = first + 0x40000000u; /* magnitude half-range */
    const uint64_t stride = test_stride();
    enum { CHUNK = 1 << 16 };
    float *src = malloc(CHUNK * 4);
    uint8_t *got = malloc(CHUNK), *simd_got = malloc(CHUNK), *nv = malloc(CHUNK);
    const fp8_cpu_kernels *simd[FP8_TEST_LAST_SIMD + 1] = {NULL};
    for (int isa = FP8_TEST_FIRST_SIMD; isa <= FP8_TEST_LAST_SIMD; isa++) simd[isa] = simd_kernels(isa);
    run_t run = run_at(first, fmt);
    uint64_t checked = 0;
    /* E4M3/E5M2 are checked against cuda_fp8.h where it is built, the FNUZ formats against the reference */
#ifdef FP8_HAVE_CUDA_ORACLE
    const int use_oracle = is_ocp(fmt);
#else
    const int use_oracle = 0;
#endif
    for (uint64_t base = first; base < last; base += (uint64_t)CHUNK * stride) {
        size_t n = 0;
        for (uint64_t b = base; b < last && n < CHUNK; b += stride) src[n++] = f32_from_bits((uint32_t)b);
        for (int neg = 0; neg < 2; neg++) {
            if (neg)
                for (size_t i = 0; i < n; i++) src[i] = -src[i];
            for (int s = 0; s < 2; s++) {
                const fp8_saturation sat = all_sats[s];
                fp8_cpu_kernels_scalar.encode_f32(got, src, n, p, sat);
                if (!use_oracle) {
                    run_t r = run;
                    for (size_t i = 0; i < n; i++) {
                        const uint32_t mag = f32_bits(src[i]) & 0x7FFFFFFFu;
                        while (mag >= r.end) r = run_at(r.end, fmt);
                        if (got[i] != r.want[s][neg])
                            ck_abort_msg("%s sat=%d input 0x%08x (%a): reference 0x%02x, scalar 0x%02x",
                                         fp8_format_name(fmt), sat, f32_bits(src[i]), (double)src[i], r.want[s][neg], got[i]);
                    }
                }
#ifdef FP8_HAVE_CUDA_ORACLE
                if (use_oracle) {
                    if (stride == 1) {
                        cuda_oracle_from_f32_range(nv, f32_bits(src[0]), n, fmt == FP8_E5M2, sat == FP8_NOSAT);
                    } else {
                        for (size_t i = 0; i < n; i++)
                            cuda_oracle_from_f32_range(nv + i, f32_bits(src[i]), 1, fmt == FP8_E5M2, sat == FP8_NOSAT);
                    }
                    for (size_t i = 0; i < n; i++)
                        if (got[i] != nv[i])
                            ck_abort_msg("%s sat=%d input 0x%08x (%a): cuda_fp8.h 0x%02x, scalar 0x%02x", fp8_format_name(fmt),
                                         sat, f32_bits(src[i]), (double)src[i], nv[i], got[i]);
                }
#endif
                for (int isa = FP8_TEST_FIRST_SIMD; isa <= FP8_TEST_LAST_SIMD; isa++) {
                    if (!simd[isa]) continue;
                    simd[isa]->encode_f32(simd_got, src, n, p, sat);
                    for (size_t i = 0; i < n; i++)
                        if (simd_got[i] != got[i])
                            ck_abort_msg("%s sat=%d input 0x%08x: scalar 0x%02x, %s 0x%02x", fp8_format_name(fmt), sat,
                                         f32_bits(src[i]), got[i], fp8_cpu_isa_name((fp8_cpu_isa)isa), simd_got[i]);
                }
                checked += n;
            }
        }
        /* advance the run state past this chunk (runs are tracked on magnitudes) */
        const uint32_t chunk_last = f32_bits(src[n - 1]) & 0x7FFFFFFFu;
        while (chunk_last >= run.end) run = run_at(run.end, fmt);
    }
    printf("%s f32 encode: %llu conversions checked (magnitudes 0x%08x..0x%08x, stride %llu)\n", fp8_format_name(fmt),
           (unsigned long long)checked, first, last - 1, (unsigned long long)stride);
    free(src);
    free(got);
    free(simd_got);
    free(nv);
}
END_TEST

/* FP64: one rounding, never through FP32. Values at and beside every
 * rounding midpoint (where FP32 double rounding would go wrong), specials,
 * and seeded random doubles over the whole exponent range. */
static void check_f64(double x, fp8_format fmt)
{
    for (int s = 0; s < 2; s++) {
        const uint8_t got = fp8_from_f64(x, fmt, all_sats[s]);
#ifdef FP8_HAVE_CUDA_ORACLE
        if (is_ocp(fmt)) {
            const uint8_t nv = cuda_oracle_from_f64(x, fmt == FP8_E5M2, s);
            ck_assert_msg(got == nv, "%s sat=%d f64 %a: cuda_fp8.h 0x%02x, ours 0x%02x", fp8_format_name(fmt), s, x, nv, got);
        }
#endif
        if (!isnan(x)) {
            const uint8_t want = ref_encode(x, fmt, all_sats[s]);
            ck_assert_msg(got == want, "%s sat=%d f64 %a: reference 0x%02x, ours 0x%02x", fp8_format_name(fmt), s, x, want, got);
        } else {
            ck_assert(fp8_classify(got, fmt) == FP8_CLASS_NAN);
        }
    }
}

START_TEST(encode_f64)
{
    const fp8_format fmt = all_formats[_i];
    for (int c = 0; c < 255; c++) {
        const double a = ref_decode((uint8_t)c, fmt), b = ref_decode((uint8_t)(c + 1), fmt);
        if (!isfinite(a) || !isfinite(b) || (c & 0x7F) == 0x7F) continue;
        const double mid = (a + b) / 2;
        check_f64(mid, fmt);
        check_f64(nextafter(mid, 0), fmt);
        check_f64(nextafter(mid, INFINITY), fmt);
        check_f64(nextafter(mid, -INFINITY), fmt);
        check_f64(a, fmt);
    }
    const double specials[] = {0.0, -0.0, INFINITY, -INFINITY, NAN, -NAN, 1e300, -1e300, 5e-324, -5e-324,
                               ref_max_finite(fmt) * 1.0625, ref_max_finite(fmt) * 1.03125};
    for (size_t i = 0; i < sizeof specials / sizeof specials[0]; i++) check_f64(specials[i], fmt);
    uint64_t payloads[] = {0x7FF0000000000001ull, 0xFFF0000000000001ull, 0x7FF4000000000000ull, 0xFFFC000000000000ull,
                           0x7FF8000000000000ull, 0x7FFFFFFFFFFFFFFFull};
    for (size_t i = 0; i < sizeof payloads / sizeof payloads[0]; i++) {
        double x;
        memcpy(&x, &payloads[i], 8);
        check_f64(x, fmt);
    }
    const unsigned seed = 20261128u;
    printf("encode_f64 %s: random seed %u\n", fp8_format_name(fmt), seed);
    uint64_t state = seed;
    for (int i = 0; i < 200000; i++) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        /* exponents concentrated around the FP8 range, mantissas full width */
        uint64_t bits = state;
        const int e = (int)((state >> 40) % 60) - 30 + 1023;
        bits = (bits & 0x800FFFFFFFFFFFFFull) | ((uint64_t)e << 52);
        double x;
        memcpy(&x, &bits, 8);
        check_f64(x, fmt);
    }
}
END_TEST

/* E8M0: every FP32 input, both roundings, against cuda_fp8.h (or the
 * definition via frexp where the toolkit is absent). Loop: rounding * 2 + sign half. */
static uint8_t ref_e8m0(float x, int up)
{
    if (isnan(x)) return 0xFF;
    double a = fabs((double)x);
    if (isinf(a)) return 0xFE;
    if (a == 0) return 0;
    int e;
    const double m = frexp(a, &e); /* a = m * 2^e, m in [0.5, 1) */
    int k = e - 1;                 /* floor(log2 a) */
    if (up && m != 0.5) k++;
    k += 127;
    return (uint8_t)(k < 0 ? 0 : k > 254 ? 254 : k);
}

START_TEST(e8m0_all_f32)
{
    const int up = _i / 2;
    const uint32_t first = (_i % 2) ? 0x80000000u : 0u;
    const uint64_t stride = test_stride();
    enum { CHUNK = 1 << 16 };
    uint8_t *nv = malloc(CHUNK);
    for (uint64_t base = first; base < (uint64_t)first + 0x80000000u; base += (uint64_t)CHUNK * stride) {
#ifdef FP8_HAVE_CUDA_ORACLE
        if (stride == 1) cuda_oracle_e8m0_range(nv, (uint32_t)base, CHUNK, up);
#endif
        for (uint32_t i = 0; i < CHUNK; i++) {
            const uint32_t b = (uint32_t)(base + (uint64_t)i * stride);
            const float x = f32_from_bits(b);
            const uint8_t got = fp8_e8m0_from_f32(x, up ? FP8_E8M0_ROUND_UP : FP8_E8M0_ROUND_ZERO);
#ifdef FP8_HAVE_CUDA_ORACLE
            const uint8_t want = stride == 1 ? nv[i] : ref_e8m0(x, up);
#else
            const uint8_t want = ref_e8m0(x, up);
#endif
            if (got != want) ck_abort_msg("e8m0 round_up=%d input 0x%08x (%a): want 0x%02x got 0x%02x", up, b, (double)x, want, got);
        }
    }
    free(nv);
    for (int v = 0; v < 255; v++) ck_assert(fp8_e8m0_to_f32((uint8_t)v) == (float)ldexp(1.0, v - 127));
    ck_assert(isnan(fp8_e8m0_to_f32(0xFF)));
}
END_TEST

START_TEST(stochastic_rounding)
{
    const fp8_format fmt = all_formats[_i];
    const fp8_format_params *p = fp8_format_params_of(fmt);
    enum { N = 1 << 16 };
    float *src = malloc(N * 4);
    uint8_t *q = malloc(N), *q2 = malloc(N);
    /* unbiased: the mean of decoded results equals the input; each result is one of the two neighbours */
    const double max = ref_max_finite(fmt);
    const double probes[] = {1.1, -1.3, 3.14159, 0.0107, max * 0.97, ldexp(1.3, -12), ldexp(0.7, -16), 250.0 / 256.0};
    for (size_t k = 0; k < sizeof probes / sizeof probes[0]; k++) {
        const float x = (float)probes[k];
        if (fabs(x) >= max) continue;
        const uint8_t near = fp8_from_f32(x, fmt, FP8_SATFINITE);
        double lo = ref_decode(near, fmt), hi = lo;
        for (int c = 0; c < 256; c++) { /* neighbours of x */
            const double v = ref_decode((uint8_t)c, fmt);
            if (!isfinite(v)) continue;
            if (v <= x && (v > lo || lo > x)) lo = v;
            if (v >= x && (v < hi || hi < x)) hi = v;
        }
        for (size_t i = 0; i < N; i++) src[i] = x;
        ck_assert(fp8_encode_f32_sr(q, src, N, fmt, FP8_SATFINITE, 0x5EEDull + k, 1000) == FP8_OK);
        double sum = 0;
        for (size_t i = 0; i < N; i++) {
            const double v = ref_decode(q[i], fmt);
            ck_assert_msg(v == lo || v == hi, "%s SR of %a gave %a, not %a or %a", fp8_format_name(fmt), (double)x, v, lo, hi);
            sum += v;
        }
        const double mean = sum / N, pup = (x - lo) / (hi - lo);
        const double sigma = (hi - lo) * sqrt(pup * (1 - pup) / N);
        ck_assert_msg(fabs(mean - x) <= 5 * sigma + 1e-12 * fabs(x), "%s SR mean %.9g for %.9g (sigma %.3g)",
                      fp8_format_name(fmt), mean, (double)x, sigma);
    }
    /* reproducible from (seed, offset + i): chunks equal the whole; SIMD equals scalar, also across 2^32 */
    uint64_t state = 12345;
    for (size_t i = 0; i < N; i++) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        src[i] = (float)ldexp((double)(int32_t)(state >> 32), -28);
    }
    const uint64_t offsets[] = {0, 77, (1ull << 32) - 1000, (5ull << 32) - 31};
    for (size_t o = 0; o < 4; o++) {
        fp8_cpu_kernels_scalar.encode_f32_sr(q, src, N, p, FP8_NOSAT, 42, offsets[o]);
        fp8_cpu_kernels_scalar.encode_f32_sr(q2, src, 1001, p, FP8_NOSAT, 42, offsets[o]);
        fp8_cpu_kernels_scalar.encode_f32_sr(q2 + 1001, src + 1001, N - 1001, p, FP8_NOSAT, 42, offsets[o] + 1001);
        ck_assert(memcmp(q, q2, N) == 0);
        for (size_t i = 0; i < N; i += 997) ck_assert(fp8_sr_random_bits(42, offsets[o] + i) == fp8_sr_random_bits(42, offsets[o] + i));
        for (int isa = FP8_TEST_FIRST_SIMD; isa <= FP8_TEST_LAST_SIMD; isa++) {
            const fp8_cpu_kernels *simd = simd_kernels(isa);
            if (!simd) continue;
            simd->encode_f32_sr(q2, src, N, p, FP8_NOSAT, 42, offsets[o]);
            ck_assert_msg(memcmp(q, q2, N) == 0, "%s SR differs at offset %llu", fp8_cpu_isa_name(simd->isa),
                          (unsigned long long)offsets[o]);
        }
    }
    /* different seeds give different streams */
    fp8_cpu_kernels_scalar.encode_f32_sr(q2, src, N, p, FP8_NOSAT, 43, 0);
    fp8_cpu_kernels_scalar.encode_f32_sr(q, src, N, p, FP8_NOSAT, 42, 0);
    ck_assert(memcmp(q, q2, N) != 0);
    free(src);
    free(q);
    free(q2);
}
END_TEST

/* Every SIMD kernel against the scalar one at every length up to 300 from four misalignments (vector
 * bodies, masked or scalar tails), on inputs of every class in every lane position: NaNs of both
 * signs and several payloads, infinities, zeros of both signs, FP32 and FP8 subnormals, FP8 ties,
 * overflow; then arrays large enough for streaming stores, from an unaligned destination. */
static float class_sample(uint64_t *state, const fp8_format_params *p)
{
    *state = *state * 6364136223846793005ull + 1442695040888963407ull;
    const uint32_t r = (uint32_t)(*state >> 32), sign = r & 0x80000000u;
    const int fp8_step_exp = p->min_exp - (int)p->mantissa_bits; /* the FP8 subnormal step */
    switch ((r >> 8) % 9) {
    case 0: return f32_from_bits(sign | 0x7F800000u | ((r & 3) ? (r >> 10 & 0x7FFFFFu) | 1 : 0)); /* NaN or inf */
    case 1: return f32_from_bits(sign);                                                                  /* zero */
    case 2: return f32_from_bits(sign | (r >> 9 & 0x7FFFFFu));                                    /* FP32 subnormal */
    case 3: return (sign ? -1.0f : 1.0f) * ldexpf((float)(r >> 4 & 0xFF), fp8_step_exp - 1);  /* FP8 subnormals, ties */
    case 4: return (sign ? -1.0f : 1.0f) * ldexpf(1.0f + (float)(r >> 12 & 0xF) / 16, (int)(r >> 16 & 7) + 2); /* ties */
    case 5: return (sign ? -1.0f : 1.0f) * ldexpf((float)(r & 0xFFFF), (int)(r >> 24 & 15)); /* overflow */
    default: return f32_from_bits(sign | ((uint32_t)(127 + (int)(r % 40) - 24) << 23) | (r >> 9 & 0x7FFFFFu));
    }
}

START_TEST(simd_lengths_and_classes)
{
    const fp8_format fmt = all_formats[_i];
    const fp8_format_params *p = fp8_format_params_of(fmt);
    enum { MAX_N = 300, SLACK = 4 };
    const uint64_t seed = 4242 + (uint64_t)_i;
    printf("simd_lengths_and_classes %s: seed %llu\n", fp8_format_name(fmt), (unsigned long long)seed);
    uint64_t state = seed;
    float src[MAX_N + SLACK], f_want[MAX_N], f_got[MAX_N];
    uint16_t h[MAX_N + SLACK], h_want[MAX_N], h_got[MAX_N];
    uint8_t codes[MAX_N + SLACK], want[MAX_N + 1], got[MAX_N + 1];
    for (int i = 0; i < MAX_N + SLACK; i++) {
        src[i] = class_sample(&state, p);
        h[i] = (uint16_t)(i % 3 ? f32_bits(src[i]) >> 16 : (uint32_t)(state >> 20));
        codes[i] = (uint8_t)(state >> 40);
    }
    for (int isa = FP8_TEST_FIRST_SIMD; isa <= FP8_TEST_LAST_SIMD; isa++) {
        const fp8_cpu_kernels *simd = simd_kernels(isa);
        if (!simd) continue;
        const char *name = fp8_cpu_isa_name(simd->isa);
        for (int s = 0; s < 2; s++)
            for (size_t off = 0; off < SLACK; off++)
                for (size_t n = 0; n <= MAX_N; n++) {
                    got[n] = want[n] = 0x5A; /* nothing past n is written */
                    fp8_cpu_kernels_scalar.encode_f32(want, src + off, n, p, all_sats[s]);
                    simd->encode_f32(got, src + off, n, p, all_sats[s]);
                    ck_assert_msg(memcmp(got, want, n + 1) == 0, "%s encode_f32 sat=%d n=%zu off=%zu", name, s, n, off);
                    fp8_cpu_kernels_scalar.encode_bf16(want, h + off, n, p, all_sats[s]);
                    simd->encode_bf16(got, h + off, n, p, all_sats[s]);
                    ck_assert_msg(memcmp(got, want, n + 1) == 0, "%s encode_bf16 sat=%d n=%zu off=%zu", name, s, n, off);
                    fp8_cpu_kernels_scalar.encode_f16(want, h + off, n, p, all_sats[s]);
                    simd->encode_f16(got, h + off, n, p, all_sats[s]);
                    ck_assert_msg(memcmp(got, want, n + 1) == 0, "%s encode_f16 sat=%d n=%zu off=%zu", name, s, n, off);
                    if (s == 0) {
                        fp8_cpu_kernels_scalar.decode_f32(f_want, codes + off, n, p);
                        simd->decode_f32(f_got, codes + off, n, p);
                        ck_assert_msg(memcmp(f_got, f_want, n * 4) == 0, "%s decode_f32 n=%zu", name, n);
                        fp8_cpu_kernels_scalar.decode_bf16(h_want, codes + off, n, p);
                        simd->decode_bf16(h_got, codes + off, n, p);
                        ck_assert_msg(memcmp(h_got, h_want, n * 2) == 0, "%s decode_bf16 n=%zu", name, n);
                        fp8_cpu_kernels_scalar.decode_f16(h_want, codes + off, n, p);
                        simd->decode_f16(h_got, codes + off, n, p);
                        ck_assert_msg(memcmp(h_got, h_want, n * 2) == 0, "%s decode_f16 n=%zu", name, n);
                    }
                }
        /* streaming stores: outputs of 8 MiB and more, one byte off alignment */
        const size_t big = ((size_t)8 << 20) + 77;
        float *bsrc = malloc(big * 4), *bf_want = malloc(big * 4 + 4), *bf_got = malloc(big * 4 + 4);
        uint8_t *bwant = malloc(big + 1), *bgot = malloc(big + 1);
        for (size_t i = 0; i < big; i++) bsrc[i] = i % 5 ? (float)(i % 9973) * 0.0625f - 300.0f : src[i % MAX_N];
        fp8_cpu_kernels_scalar.encode_f32(bwant + 1, bsrc, big, p, FP8_SATFINITE);
        simd->encode_f32(bgot + 1, bsrc, big, p, FP8_SATFINITE);
        ck_assert_msg(memcmp(bgot + 1, bwant + 1, big) == 0, "%s encode_f32, streaming", name);
        fp8_cpu_kernels_scalar.decode_f32(bf_want + 1, bgot + 1, big / 4, p);
        simd->decode_f32(bf_got + 1, bgot + 1, big / 4, p);
        ck_assert_msg(memcmp(bf_got + 1, bf_want + 1, big / 4 * 4) == 0, "%s decode_f32, streaming", name);
        free(bsrc), free(bf_want), free(bf_got), free(bwant), free(bgot);
    }
}
END_TEST

/* The byte transpose of every SIMD path (the fused dual pass's and the linear layer's) against the
 * obvious loop, for shapes around 8 x 8 blocks and up to the largest dual-pass tile, with gaps
 * between rows that must stay untouched. */
START_TEST(simd_transpose_u8)
{
    static const size_t sizes[] = {1, 7, 8, 15, 16, 17, 63, 64, 65, 128, 130, 256};
    enum { NSIZES = sizeof sizes / sizeof sizes[0], GAP = 5, MAX = 256 };
    uint8_t *src = malloc(MAX * (MAX + GAP)), *want = malloc(MAX * (MAX + GAP)), *got = malloc(MAX * (MAX + GAP));
    uint64_t state = 99;
    for (size_t i = 0; i < MAX * (MAX + GAP); i++) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        src[i] = (uint8_t)(state >> 56);
    }
    for (int isa = FP8_TEST_FIRST_SIMD; isa <= FP8_TEST_LAST_SIMD; isa++) {
        const fp8_cpu_kernels *simd = simd_kernels(isa);
        if (!simd) continue;
        for (size_t a = 0; a < NSIZES; a++)
            for (size_t b = 0; b < NSIZES; b++) {
                const size_t rows = sizes[a], cols = sizes[b], lds = cols + GAP, ldd = rows + GAP;
                memset(want, 0xA5, cols * ldd);
                memset(got, 0xA5, cols * ldd);
                for (size_t r = 0; r < rows; r++)
                    for (size_t c = 0; c < cols; c++) want[c * ldd + r] = src[r * lds + c];
                simd->transpose_u8(got, ldd, src, lds, rows, cols);
                ck_assert_msg(memcmp(got, want, cols * ldd) == 0, "%s transpose_u8 %zu x %zu",
                              fp8_cpu_isa_name(simd->isa), rows, cols);
            }
    }
    free(src);
    free(want);
    free(got);
}
END_TEST

START_TEST(bad_arguments)
{
    uint8_t q[4] = {0xAA, 0xAA, 0xAA, 0xAA};
    float f[4] = {1, 2, 3, 4};
    uint16_t h[4] = {0, 0, 0, 0};
    ck_assert_int_eq(fp8_encode_f32(NULL, f, 4, FP8_E4M3, FP8_SATFINITE), FP8_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(fp8_encode_f32(q, NULL, 4, FP8_E4M3, FP8_SATFINITE), FP8_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(fp8_encode_f32(q, f, 4, (fp8_format)7, FP8_SATFINITE), FP8_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(fp8_encode_f32(q, f, 4, FP8_E4M3, (fp8_saturation)2), FP8_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(fp8_encode_f32(q, f, 4, (fp8_format)-1, FP8_SATFINITE), FP8_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(fp8_encode_f32_sr(q, f, 4, (fp8_format)4, FP8_SATFINITE, 1, 0), FP8_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(fp8_encode_f16(q, h, 4, FP8_E5M2, (fp8_saturation)9), FP8_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(fp8_encode_bf16(q, NULL, 1, FP8_E5M2, FP8_NOSAT), FP8_ERR_INVALID_ARGUMENT);
    for (int i = 0; i < 4; i++) ck_assert_int_eq(q[i], 0xAA); /* nothing written */
    ck_assert_int_eq(fp8_decode_f32(f, q, 4, (fp8_format)5), FP8_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(fp8_decode_f16(NULL, q, 4, FP8_E4M3), FP8_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(fp8_decode_bf16(h, NULL, 4, FP8_E4M3), FP8_ERR_INVALID_ARGUMENT);
    ck_assert(f[0] == 1 && f[3] == 4 && h[0] == 0);
    /* n == 0 accepts NULL */
    ck_assert_int_eq(fp8_encode_f32(NULL, NULL, 0, FP8_E4M3, FP8_SATFINITE), FP8_OK);
    ck_assert_int_eq(fp8_decode_f32(NULL, NULL, 0, FP8_E5M2), FP8_OK);
    /* scalar functions with unknown enums return the NaN-like 0xFF / NaN rather than crash */
    ck_assert_int_eq(fp8_from_f32(1.0f, (fp8_format)9, FP8_SATFINITE), 0xFF);
    ck_assert(isnan(fp8_to_f32(0x38, (fp8_format)9)));
    ck_assert_int_eq(fp8_e8m0_from_f32(1.0f, (fp8_e8m0_rounding)3), 0xFF);
}
END_TEST

START_TEST(dispatch)
{
    const fp8_cpu_isa supported = fp8_cpu_isa_supported();
    ck_assert_int_eq(fp8_cpu_set_max_isa(FP8_CPU_ISA_SCALAR), FP8_OK);
    ck_assert_int_eq(fp8_cpu_isa_active(), FP8_CPU_ISA_SCALAR);
    for (int cap = FP8_TEST_FIRST_SIMD; cap <= FP8_TEST_LAST_SIMD; cap++) { /* min(cap, supported) */
        ck_assert_int_eq(fp8_cpu_set_max_isa((fp8_cpu_isa)cap), FP8_OK);
        ck_assert_int_eq(fp8_cpu_isa_active(), (int)supported < cap ? (int)supported : cap);
    }
    ck_assert_int_eq(fp8_cpu_isa_active(), supported);
    ck_assert_int_eq(fp8_cpu_set_max_isa((fp8_cpu_isa)7), FP8_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(fp8_cpu_isa_active(), supported);
    fp8_cpu_isa isa;
    ck_assert_int_eq(fp8_cpu_isa_from_name("AVX2", &isa), FP8_OK);
    ck_assert_int_eq(isa, FP8_CPU_ISA_AVX2);
    ck_assert_int_eq(fp8_cpu_isa_from_name("avx512", &isa), FP8_OK);
    ck_assert_int_eq(isa, FP8_CPU_ISA_AVX512);
    ck_assert_int_eq(fp8_cpu_isa_from_name("sse9", &isa), FP8_ERR_INVALID_ARGUMENT);
    ck_assert_str_eq(fp8_cpu_isa_name(FP8_CPU_ISA_SCALAR), "scalar");
    ck_assert_str_eq(fp8_cpu_isa_name(FP8_CPU_ISA_AVX512), "avx512");
    ck_assert_ptr_null(fp8_cpu_isa_name((fp8_cpu_isa)3));
    /* the public array API gives the same bytes on every path */
    enum { N = 1000 };
    float src[N];
    uint8_t a[N], b[N];
    for (int i = 0; i < N; i++) src[i] = (float)(i - 500) * 0.37f;
    fp8_cpu_set_max_isa(FP8_CPU_ISA_SCALAR);
    ck_assert(fp8_encode_f32(a, src, N, FP8_E4M3, FP8_SATFINITE) == FP8_OK);
    for (int cap = FP8_TEST_FIRST_SIMD; cap <= FP8_TEST_LAST_SIMD; cap++) {
        if (!test_isa_runs(cap)) continue;
        fp8_cpu_set_max_isa((fp8_cpu_isa)cap);
        ck_assert(fp8_encode_f32(b, src, N, FP8_E4M3, FP8_SATFINITE) == FP8_OK);
        ck_assert_msg(memcmp(a, b, N) == 0, "%s", fp8_cpu_isa_name((fp8_cpu_isa)cap));
    }
    test_isa_reset();
}
END_TEST

static Suite *convert_suite(void)
{
    Suite *s = suite_create("convert");
    TCase *tc;
    tc = tcase_create("decode_all_codes");
    tcase_add_loop_test(tc, decode_all_codes, 0, NFORMATS);
    suite_add_tcase(s, tc);
    tc = tcase_create("encode_all_f16_bf16");
    tcase_set_tags(tc, "long");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, encode_all_f16_bf16, 0, NFORMATS);
    suite_add_tcase(s, tc);
    tc = tcase_create("encode_f64");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, encode_f64, 0, NFORMATS);
    suite_add_tcase(s, tc);
    tc = tcase_create("stochastic_rounding");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, stochastic_rounding, 0, NFORMATS);
    suite_add_tcase(s, tc);
    tc = tcase_create("simd_lengths_and_classes");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, simd_lengths_and_classes, 0, NFORMATS);
    suite_add_tcase(s, tc);
    tc = tcase_create("simd_transpose_u8");
    tcase_add_test(tc, simd_transpose_u8);
    suite_add_tcase(s, tc);
    tc = tcase_create("bad_arguments");
    tcase_add_test(tc, bad_arguments);
    suite_add_tcase(s, tc);
    tc = tcase_create("dispatch");
    tcase_add_test(tc, dispatch);
    suite_add_tcase(s, tc);
    /* the exhaustive cases, one TCase per format or rounding so that CTest spreads them over cores */
    static const char *const f32_cases[NFORMATS] = {"exhaustive_f32_e4m3", "exhaustive_f32_e5m2", "exhaustive_f32_e4m3fnuz",
                                                   "exhaustive_f32_e5m2fnuz"};
    for (int f = 0; f < NFORMATS; f++) {
        tc = tcase_create(f32_cases[f]);
        tcase_set_tags(tc, "long");
        tcase_set_timeout(tc, 900);
        tcase_add_loop_test(tc, encode_all_f32, 2 * f, 2 * f + 2);
        suite_add_tcase(s, tc);
    }
    static const char *const e8m0_cases[2] = {"exhaustive_e8m0_round_zero", "exhaustive_e8m0_round_up"};
    for (int r = 0; r < 2; r++) {
        tc = tcase_create(e8m0_cases[r]);
        tcase_set_tags(tc, "long");
        tcase_set_timeout(tc, 900);
        tcase_add_loop_test(tc, e8m0_all_f32, 2 * r, 2 * r + 2);
        suite_add_tcase(s, tc);
    }
    return s;
}

#include "support/main.h"
FP8_TEST_MAIN(convert_suite)
