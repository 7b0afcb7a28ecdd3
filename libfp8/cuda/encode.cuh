/* libfp8 internal: FP32 -> FP8 on the device, four elements at a time.
 *
 * Every result is convert/reference.h's function of the FP32 bits, compiled
 * for the device, except in one case: SATFINITE E4M3 and E5M2 round to
 * nearest, which is what sm_89's cvt.rn.satfinite.{e4m3x2,e5m2x2}.f32
 * computes. That instruction is the device half of cuda_fp8.h's
 * __nv_cvt_float_to_fp8(x, __NV_SATFINITE, ...), whose host half the CPU
 * path equals for all 2^32 inputs (tests/test_convert.c, exhaustive):
 * nearest-even from the exact value, +-Inf and overflow to +-max, signed
 * zeros kept. FP32 subnormals lie far below half the smallest FP8
 * subnormal, so whether the instruction flushed them or not they give the
 * signed zero the reference gives. NaN inputs get the reference's 0x7F
 * explicitly, whatever sign the instruction would give them. The CUDA tests
 * compare this path with the reference for all 2^32 inputs on the device.
 * Stochastic rounding and NOSAT have no such instruction on sm_89/sm_90. */
#ifndef FP8_CUDA_ENCODE_CUH
#define FP8_CUDA_ENCODE_CUH

#include "cuda/common.cuh"

namespace fp8_cuda {

enum HardwareCvt { CVT_NONE = 0, CVT_E4M3 = 1, CVT_E5M2 = 2 };

/* How one call encodes; built on the host, passed to kernels by value. */
struct Encoder {
    fp8_format_params p;
    fp8_saturation sat;
    HardwareCvt cvt;
    bool stochastic;
    uint64_t seed;
};

inline Encoder make_encoder(fp8_format fmt, fp8_saturation sat, bool stochastic, uint64_t seed)
{
    Encoder e;
    e.p = *fp8_format_params_of(fmt);
    e.sat = sat;
    e.stochastic = stochastic;
    e.seed = seed;
    e.cvt = CVT_NONE;
    if (sat == FP8_SATFINITE && !stochastic) e.cvt = fmt == FP8_E4M3 ? CVT_E4M3 : fmt == FP8_E5M2 ? CVT_E5M2 : CVT_NONE;
    return e;
}

/* Two values -> two codes, `lo`'s in bits 0-7. The PTX form
 * `cvt... d, a, b` puts a's code in the upper byte of d. */
__device__ inline uint32_t cvt_pair(HardwareCvt cvt, float lo, float hi)
{
    unsigned short d;
    if (cvt == CVT_E4M3)
        asm("cvt.rn.satfinite.e4m3x2.f32 %0, %1, %2;" : "=h"(d) : "f"(hi), "f"(lo));
    else
        asm("cvt.rn.satfinite.e5m2x2.f32 %0, %1, %2;" : "=h"(d) : "f"(hi), "f"(lo));
    return d;
}

/* Four FP32 values (as bits) -> four codes, element j in byte j, by the
 * hardware cvt (e.cvt != CVT_NONE). maybe_nan = false (the caller saw every
 * value finite) skips the NaN fix-up. */
__device__ inline uint32_t encode4_cvt(const Encoder &e, const uint32_t v[4], bool maybe_nan)
{
    uint32_t codes = cvt_pair(e.cvt, __uint_as_float(v[0]), __uint_as_float(v[1])) |
                     cvt_pair(e.cvt, __uint_as_float(v[2]), __uint_as_float(v[3])) << 16;
    if (!maybe_nan) return codes;
#pragma unroll
    for (unsigned j = 0; j < 4; j++)
        if ((v[j] & 0x7FFFFFFFu) > 0x7F800000u) codes = (codes & ~(0xFFu << (8 * j))) | e.p.nan_code << (8 * j);
    return codes;
}

/* Four FP32 values (as bits) -> four codes, element j in byte j, by any
 * encoder. first_index is element 0's stochastic-rounding index. */
__device__ inline uint32_t encode4(const Encoder &e, const uint32_t v[4], uint64_t first_index, bool maybe_nan = true)
{
    if (e.cvt != CVT_NONE) return encode4_cvt(e, v, maybe_nan);
    uint32_t codes = 0;
    if (e.stochastic) {
        /* one key per 2^32 indices: recompute only when the high half changes */
        const uint32_t hi0 = (uint32_t)(first_index >> 32);
        const fp8_sr_key key0 = fp8_sr_key_for(e.seed, hi0);
#pragma unroll
        for (unsigned j = 0; j < 4; j++) {
            const uint64_t index = first_index + j;
            const uint32_t hi = (uint32_t)(index >> 32);
            const fp8_sr_key key = hi == hi0 ? key0 : fp8_sr_key_for(e.seed, hi);
            codes |= (uint32_t)fp8_encode_f32_bits(v[j], &e.p, e.sat, true, fp8_sr_bits(key, (uint32_t)index))
                     << (8 * j);
        }
        return codes;
    }
#pragma unroll
    for (unsigned j = 0; j < 4; j++) codes |= (uint32_t)fp8_encode_f32_bits(v[j], &e.p, e.sat, false, 0) << (8 * j);
    return codes;
}

/* v[j] = bits(float(v[j]) * scale), the product in FP32 (round to nearest, subnormals kept). */
__device__ inline void scale4(uint32_t v[4], float scale)
{
#pragma unroll
    for (unsigned j = 0; j < 4; j++) v[j] = __float_as_uint(__fmul_rn(__uint_as_float(v[j]), scale));
}

} // namespace fp8_cuda

#endif /* FP8_CUDA_ENCODE_CUH */
