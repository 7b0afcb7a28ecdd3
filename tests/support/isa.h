/* Test support: the CPU paths that tests compare with the scalar reference. */
#ifndef FP8_TEST_ISA_H
#define FP8_TEST_ISA_H

#include <stdbool.h>
#include <stdio.h>

#include "fp8/cpu.h"

/* Every SIMD path, lowest first: for (int isa = FP8_TEST_FIRST_SIMD; isa <= FP8_TEST_LAST_SIMD; isa++). */
#define FP8_TEST_FIRST_SIMD FP8_CPU_ISA_AVX2
#define FP8_TEST_LAST_SIMD FP8_CPU_ISA_AVX512

/* Whether this CPU (and build) runs path `isa`. Where it does not, a SKIP line says so, once per
 * path and process, so that a machine without it never passes silently. */
static inline bool test_isa_runs(int isa)
{
    static bool said[FP8_TEST_LAST_SIMD + 1];
    if ((int)fp8_cpu_isa_supported() >= isa) return true;
    if (!said[isa]) {
        said[isa] = true;
        printf("SKIP: no %s path on this machine: its comparisons with scalar did not run\n",
               fp8_cpu_isa_name((fp8_cpu_isa)isa));
        fflush(stdout);
    }
    return false;
}

/* Back to the best path this machine has (after a test capped it). */
static inline void test_isa_reset(void) { fp8_cpu_set_max_isa(fp8_cpu_isa_supported()); }

#endif /* FP8_TEST_ISA_H */
