/* libfp8: which CPU code path runs.
 *
 * The library probes the CPU once (CPUID, then XGETBV for the OS's AVX state)
 * and uses the best path it supports, capped by the environment variable
 * FP8_MAX_CPU_ISA=scalar|avx2|avx512, read once, at the first call that needs it.
 * FP8_VERBOSE=1 prints the chosen path (and a rejected FP8_MAX_CPU_ISA) to
 * stderr once. Every path produces the same bytes as the scalar reference. */
#ifndef FP8_CPU_H
#define FP8_CPU_H

#include "fp8/api.h"
#include "fp8/status.h"

FP8_BEGIN_DECLS

typedef enum fp8_cpu_isa {
    FP8_CPU_ISA_SCALAR = 0, /* portable C: the reference */
    FP8_CPU_ISA_AVX2 = 1,   /* x86-64 AVX2 + FMA + F16C */
    FP8_CPU_ISA_AVX512 = 2  /* x86-64 AVX-512 F + BW + DQ + VL (and AVX2): conversion and quantization;
                               the GEMM runs its AVX2 kernels */
} fp8_cpu_isa;

/* The best path this CPU and OS support. Thread-safe. */
FP8_API fp8_cpu_isa fp8_cpu_isa_supported(void);
/* The path in use now. Thread-safe. */
FP8_API fp8_cpu_isa fp8_cpu_isa_active(void);
/* Uses min(isa, supported) from now on, overriding FP8_MAX_CPU_ISA. Safe to
 * call from any thread; calls already running finish on the path they began.
 * FP8_ERR_INVALID_ARGUMENT for an unknown value. */
FP8_API fp8_status fp8_cpu_set_max_isa(fp8_cpu_isa isa);
/* "scalar", "avx2", "avx512"; NULL for an unknown value. */
FP8_API const char *fp8_cpu_isa_name(fp8_cpu_isa isa);
/* Parses "scalar", "avx2" or "avx512" (case-insensitive). */
FP8_API fp8_status fp8_cpu_isa_from_name(const char *name, fp8_cpu_isa *isa);

/* Threads that large array operations (>= 2^18 elements) may use. n >= 1
 * sets the number; 0 restores the default: FP8_NUM_THREADS if set, else
 * OpenMP's (OMP_NUM_THREADS, or one per core). Builds without OpenMP always
 * use one. Results never depend on the thread count. Thread-safe. */
FP8_API fp8_status fp8_set_num_threads(unsigned n);
FP8_API unsigned fp8_num_threads(void);

FP8_END_DECLS

#endif /* FP8_CPU_H */
