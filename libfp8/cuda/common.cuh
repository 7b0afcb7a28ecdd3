/* libfp8 internal: what every CUDA source shares. Error reporting (a
 * per-thread text, see fp8_cuda_last_error), stream and launch helpers, and
 * loading and storing runs of four elements. */
#ifndef FP8_CUDA_COMMON_CUH
#define FP8_CUDA_COMMON_CUH

#include <cuda_runtime.h>
#include <stddef.h>
#include <stdint.h>

#include "fp8/cuda.h"
#include "convert/reference.h"
#include "core/internal.h"

/* Bit-exactness rests on IEEE FP32 multiplies and divides that round to
 * nearest and keep subnormals: nvcc's defaults, which fast math would change. */
#if defined(__CUDA_ARCH__) && defined(__USE_FAST_MATH__)
#error "libfp8's CUDA sources must not be compiled with --use_fast_math"
#endif

namespace fp8_cuda {

/* Records the failure for fp8_cuda_last_error and returns its status:
 * FP8_ERR_NO_DEVICE for a missing device or driver, else FP8_ERR_CUDA. */
fp8_status fail(cudaError_t e, const char *what);
/* Records a failure described by the caller (cuBLAS, capability checks). */
fp8_status fail_text(fp8_status status, const char *what, const char *detail);

/* The status of the launch just made (cudaGetLastError). */
fp8_status launched(const char *kernel);

#define FP8_CUDA_TRY(call)                                                  \
    do {                                                                    \
        const cudaError_t fp8_cuda_err_ = (call);                           \
        if (fp8_cuda_err_ != cudaSuccess) return fp8_cuda::fail(fp8_cuda_err_, #call); \
    } while (0)

inline cudaStream_t stream_of(void *stream) { return static_cast<cudaStream_t>(stream); }

__host__ __device__ inline size_t ceil_div(size_t a, size_t b) { return a / b + (a % b != 0); }

/* Grid size for `threads_needed` threads in blocks of `block`, capped: grid-stride loops cover the rest. */
inline unsigned grid_for(size_t threads_needed, unsigned block)
{
    const size_t g = ceil_div(threads_needed, block);
    return g == 0 ? 1u : g > 65535u * 16u ? 65535u * 16u : (unsigned)g;
}

/* Grid-stride loops: for (size_t i = grid_first(); i < n; i += grid_stride()). */
__device__ inline size_t grid_first() { return (size_t)blockIdx.x * blockDim.x + threadIdx.x; }
__device__ inline size_t grid_stride() { return (size_t)gridDim.x * blockDim.x; }

/* Sets a device int flag (nonfinite, invalid) to 0 before the kernels that may raise it. */
inline fp8_status clear_flag(int *flag, cudaStream_t s)
{
    if (flag != NULL) FP8_CUDA_TRY(cudaMemsetAsync(flag, 0, sizeof *flag, s));
    return FP8_OK;
}

inline bool aligned(const void *p, size_t bytes) { return (uintptr_t)p % bytes == 0; }

/* ---- element sources: FP32, BF16 and FP16, each seen as FP32 bits (exact) ---- */
struct F32Source {
    typedef float T;
    __device__ static uint32_t bits(float v) { return __float_as_uint(v); }
};
struct Bf16Source {
    typedef uint16_t T;
    __device__ static uint32_t bits(uint16_t v) { return (uint32_t)v << 16; }
};
struct F16Source {
    typedef uint16_t T;
    __device__ static uint32_t bits(uint16_t v) { return fp8_f16_to_f32_bits(v); }
};

/* Loads up to four consecutive elements as FP32 bits; `vector` (the caller
 * checked alignment and that all four exist) makes it one 16- or 8-byte load. */
template <typename Src>
__device__ inline void load4(const typename Src::T *p, unsigned count, bool vector, uint32_t v[4])
{
    if (vector) {
        if (sizeof(typename Src::T) == 4) {
            const uint4 u = *reinterpret_cast<const uint4 *>(p);
            v[0] = u.x, v[1] = u.y, v[2] = u.z, v[3] = u.w;
        } else {
            const uint2 u = *reinterpret_cast<const uint2 *>(p);
            v[0] = Src::bits((typename Src::T)(u.x & 0xFFFFu)), v[1] = Src::bits((typename Src::T)(u.x >> 16));
            v[2] = Src::bits((typename Src::T)(u.y & 0xFFFFu)), v[3] = Src::bits((typename Src::T)(u.y >> 16));
        }
        return;
    }
#pragma unroll
    for (unsigned j = 0; j < 4; j++) v[j] = j < count ? Src::bits(p[j]) : 0u;
}

/* Stores the `count` low bytes of `codes` (little-endian: byte j is element j). */
__device__ inline void store_codes4(uint8_t *q, unsigned count, bool vector, uint32_t codes)
{
    if (vector) {
        *reinterpret_cast<uint32_t *>(q) = codes;
        return;
    }
    for (unsigned j = 0; j < count; j++) q[j] = (uint8_t)(codes >> (8 * j));
}

/* amax = the largest finite |v[j]| bits seen so far (finite values order
 * like their bits); nonfinite is set by Inf or NaN. */
__device__ inline void amax_update(const uint32_t v[4], uint32_t &amax, bool &nonfinite)
{
#pragma unroll
    for (unsigned j = 0; j < 4; j++) {
        const uint32_t a = v[j] & 0x7FFFFFFFu;
        if (a >= 0x7F800000u)
            nonfinite = true;
        else
            amax = a > amax ? a : amax;
    }
}

/* A warp's maximum of an unsigned value and OR of a flag. */
__device__ inline uint32_t warp_max(uint32_t v) { return __reduce_max_sync(0xFFFFFFFFu, v); }

} // namespace fp8_cuda

#endif /* FP8_CUDA_COMMON_CUH */
