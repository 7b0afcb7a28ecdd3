/* libfp8 internal: run library arithmetic under the default floating-point
 * environment (round to nearest, no FTZ/DAZ, exceptions masked), whatever
 * the caller set, and give the caller's environment, sticky flags included,
 * back afterwards. The environment is per thread: enter it in every worker. */
#ifndef FP8_CORE_FPENV_H
#define FP8_CORE_FPENV_H

#include <fenv.h>

typedef struct fp8_fpenv {
    fenv_t saved;
} fp8_fpenv;

static inline void fp8_fpenv_enter(fp8_fpenv *env)
{
    fegetenv(&env->saved);
    fesetenv(FE_DFL_ENV);
}

static inline void fp8_fpenv_leave(const fp8_fpenv *env) { fesetenv(&env->saved); }

#endif
