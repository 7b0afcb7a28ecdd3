/* libfp8: choosing the CPU kernels, once.
 *
 * Probe order (as xxHash's x86 dispatcher): CPUID.1 for OSXSAVE, AVX, FMA
 * and F16C; XGETBV(0) for the OS saving XMM and YMM state; CPUID.7 for AVX2;
 * then for AVX-512 CPUID.7 for F, BW, DQ and VL, and XGETBV(0) again for the
 * opmask and ZMM state. Without the XGETBV checks a CPU that supports AVX or
 * AVX-512 under an OS that does not save those registers would crash.
 * Compiled with baseline flags only. */
#include <ctype.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include "cpu/kernels.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

static uint64_t read_xcr0(void)
{
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

/* XCR0 bits: 1 XMM, 2 YMM, 5 opmask, 6 upper halves of ZMM0-15, 7 ZMM16-31 */
#define XCR0_AVX_STATE 0x06u
#define XCR0_AVX512_STATE 0xE6u

static fp8_cpu_isa probe_isa(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return FP8_CPU_ISA_SCALAR;
    const unsigned need1 = bit_OSXSAVE | bit_AVX | bit_FMA | bit_F16C;
    if ((c & need1) != need1) return FP8_CPU_ISA_SCALAR;
    const uint64_t xcr0 = read_xcr0();
    if ((xcr0 & XCR0_AVX_STATE) != XCR0_AVX_STATE) return FP8_CPU_ISA_SCALAR;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !(b & bit_AVX2)) return FP8_CPU_ISA_SCALAR;
    const unsigned need7 = bit_AVX512F | bit_AVX512BW | bit_AVX512DQ | bit_AVX512VL;
    if ((b & need7) != need7 || (xcr0 & XCR0_AVX512_STATE) != XCR0_AVX512_STATE) return FP8_CPU_ISA_AVX2;
    return FP8_CPU_ISA_AVX512;
}
#else
static fp8_cpu_isa probe_isa(void) { return FP8_CPU_ISA_SCALAR; }
#endif

static const fp8_cpu_kernels *kernels_for(fp8_cpu_isa isa)
{
#if defined(FP8_HAVE_AVX2_KERNELS)
    if (isa == FP8_CPU_ISA_AVX2) return &fp8_cpu_kernels_avx2;
    if (isa == FP8_CPU_ISA_AVX512) return &fp8_cpu_kernels_avx512;
#endif
    (void)isa;
    return &fp8_cpu_kernels_scalar;
}

static fp8_cpu_isa supported_isa(void)
{
    static _Atomic int cached = -1;
    int isa = atomic_load_explicit(&cached, memory_order_relaxed);
    if (isa < 0) {
        isa = (int)probe_isa();
#if !defined(FP8_HAVE_AVX2_KERNELS)
        isa = FP8_CPU_ISA_SCALAR;
#endif
        atomic_store_explicit(&cached, isa, memory_order_relaxed);
    }
    return (fp8_cpu_isa)isa;
}

static _Atomic(const fp8_cpu_kernels *) active_kernels;

static bool verbose(void)
{
    const char *v = getenv("FP8_VERBOSE");
    return v != NULL && v[0] != '\0' && v[0] != '0';
}

/* The first use settles the ISA from FP8_MAX_CPU_ISA. Racing first calls
 * compute the same answer; only one stores it. */
static const fp8_cpu_kernels *initial_kernels(void)
{
    fp8_cpu_isa isa = supported_isa();
    const char *env = getenv("FP8_MAX_CPU_ISA");
    fp8_cpu_isa cap;
    bool rejected = false;
    if (env != NULL && env[0] != '\0') {
        if (fp8_cpu_isa_from_name(env, &cap) == FP8_OK) {
            if (cap < isa) isa = cap;
        } else {
            rejected = true;
        }
    }
    const fp8_cpu_kernels *expected = NULL, *chosen = kernels_for(isa);
    if (atomic_compare_exchange_strong(&active_kernels, &expected, chosen)) {
        if (verbose()) {
            if (rejected) fprintf(stderr, "libfp8: ignoring FP8_MAX_CPU_ISA=%s (expected scalar, avx2 or avx512)\n", env);
            fprintf(stderr, "libfp8: CPU path %s (supported: %s)\n", fp8_cpu_isa_name(chosen->isa),
                    fp8_cpu_isa_name(supported_isa()));
        }
        return chosen;
    }
    return expected;
}

const fp8_cpu_kernels *fp8_cpu_kernels_active(void)
{
    const fp8_cpu_kernels *k = atomic_load_explicit(&active_kernels, memory_order_acquire);
    return k != NULL ? k : initial_kernels();
}

fp8_cpu_isa fp8_cpu_isa_supported(void) { return supported_isa(); }

fp8_cpu_isa fp8_cpu_isa_active(void) { return fp8_cpu_kernels_active()->isa; }

fp8_status fp8_cpu_set_max_isa(fp8_cpu_isa isa)
{
    FP8_RETURN_IF(fp8_cpu_isa_name(isa) == NULL, FP8_ERR_INVALID_ARGUMENT);
    const fp8_cpu_isa supported = supported_isa();
    atomic_store_explicit(&active_kernels, kernels_for(isa < supported ? isa : supported), memory_order_release);
    return FP8_OK;
}

const char *fp8_cpu_isa_name(fp8_cpu_isa isa)
{
    switch (isa) {
    case FP8_CPU_ISA_SCALAR: return "scalar";
    case FP8_CPU_ISA_AVX2: return "avx2";
    case FP8_CPU_ISA_AVX512: return "avx512";
    }
    return NULL;
}

fp8_status fp8_cpu_isa_from_name(const char *name, fp8_cpu_isa *isa)
{
    FP8_RETURN_IF(name == NULL || isa == NULL, FP8_ERR_INVALID_ARGUMENT);
    for (int i = FP8_CPU_ISA_SCALAR; i <= FP8_CPU_ISA_AVX512; i++) {
        if (strcasecmp(name, fp8_cpu_isa_name((fp8_cpu_isa)i)) == 0) {
            *isa = (fp8_cpu_isa)i;
            return FP8_OK;
        }
    }
    return FP8_ERR_INVALID_ARGUMENT;
}
