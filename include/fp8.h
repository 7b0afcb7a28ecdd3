/* libfp8: FP8 numerics for mixed-precision training.
 * The umbrella header: includes every plain-C public header. CUDA entry
 * points live apart in fp8/cuda.h. */
#ifndef FP8_H
#define FP8_H

#include "fp8/version.h"
#include "fp8/status.h"
#include "fp8/format.h"
#include "fp8/convert.h"
#include "fp8/cpu.h"
#include "fp8/quantize.h"
#include "fp8/gemm.h"
#include "fp8/stats.h"
#include "fp8/linear.h"

#endif /* FP8_H */
