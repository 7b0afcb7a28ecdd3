// Host-side wrappers over cuda_fp8.h: the independent oracle for OCP conversions.
#include "cuda_oracle.h"

#include <cstring>
#include <cuda_fp8.h>

static __nv_fp8_interpretation_t interp(int e5m2) { return e5m2 ? __NV_E5M2 : __NV_E4M3; }
static __nv_saturation_t satmode(int nosat) { return nosat ? __NV_NOSAT : __NV_SATFINITE; }

extern "C" uint8_t cuda_oracle_from_f64(double x, int e5m2, int nosat)
{
    return __nv_cvt_double_to_fp8(x, satmode(nosat), interp(e5m2));
}

extern "C" uint8_t cuda_oracle_from_f16(uint16_t h, int e5m2, int nosat)
{
    __half_raw r;
    r.x = h;
    return __nv_cvt_halfraw_to_fp8(r, satmode(nosat), interp(e5m2));
}

extern "C" uint8_t cuda_oracle_from_bf16(uint16_t h, int e5m2, int nosat)
{
    __nv_bfloat16_raw r;
    r.x = h;
    return __nv_cvt_bfloat16raw_to_fp8(r, satmode(nosat), interp(e5m2));
}

extern "C" uint16_t cuda_oracle_to_f16(uint8_t v, int e5m2) { return __nv_cvt_fp8_to_halfraw(v, interp(e5m2)).x; }

extern "C" void cuda_oracle_from_f32_range(uint8_t *dst, uint32_t first_bits, size_t n, int e5m2, int nosat)
{
    for (size_t i = 0; i < n; i++) {
        const uint32_t b = first_bits + (uint32_t)i;
        float x;
        std::memcpy(&x, &b, 4);
        dst[i] = __nv_cvt_float_to_fp8(x, satmode(nosat), interp(e5m2));
    }
}

extern "C" void cuda_oracle_from_f32_array(uint8_t *dst, const float *src, size_t n, int e5m2, int nosat)
{
    for (size_t i = 0; i < n; i++) dst[i] = __nv_cvt_float_to_fp8(src[i], satmode(nosat), interp(e5m2));
}

extern "C" void cuda_oracle_e8m0_range(uint8_t *dst, uint32_t first_bits, size_t n, int round_up)
{
    for (size_t i = 0; i < n; i++) {
        const uint32_t b = first_bits + (uint32_t)i;
        float x;
        std::memcpy(&x, &b, 4);
        dst[i] = __nv_cvt_float_to_e8m0(x, __NV_SATFINITE, round_up ? cudaRoundPosInf : cudaRoundZero);
    }
}
