/* libfp8: array conversions on the device (fp8/cuda.h). Each thread takes
 * runs of four elements (one 16- or 8-byte load when aligned) in a
 * grid-stride loop; encoding is encode.cuh's, decoding is reference.h's
 * exact integer decode (the hardware's FP8 -> FP16 cvt would keep NaN
 * payloads that the reference canonicalizes). */
#include "cuda/encode.cuh"

namespace fp8_cuda {
namespace {

const unsigned kThreads = 256;

template <typename Src>
__global__ void __launch_bounds__(kThreads)
encode_kernel(uint8_t *dst, const typename Src::T *src, size_t n, Encoder e, uint64_t offset, bool vector)
{
    const size_t runs = ceil_div(n, 4);
    for (size_t run = grid_first(); run < runs; run += grid_stride()) {
        const size_t i = run * 4;
        const unsigned count = n - i < 4 ? (unsigned)(n - i) : 4u;
        uint32_t v[4];
        load4<Src>(src + i, count, vector && count == 4, v);
        store_codes4(dst + i, count, vector && count == 4, encode4(e, v, offset + i));
    }
}

/* Decoded FP32 bits -> the destination type. */
struct F32Out {
    typedef float T;
    __device__ static void store4(float *d, unsigned count, bool vector, const uint32_t b[4])
    {
        if (vector)
            *reinterpret_cast<uint4 *>(d) = make_uint4(b[0], b[1], b[2], b[3]);
        else
            for (unsigned j = 0; j < count; j++) d[j] = __uint_as_float(b[j]);
    }
};
template <bool kF16>
struct Half16Out {
    typedef uint16_t T;
    __device__ static uint16_t convert(uint32_t bits)
    {
        return kF16 ? fp8_f32_bits_to_f16_exact(bits) : (uint16_t)(bits >> 16);
    }
    __device__ static void store4(uint16_t *d, unsigned count, bool vector, const uint32_t b[4])
    {
        if (vector)
            *reinterpret_cast<uint2 *>(d) = make_uint2(convert(b[0]) | (uint32_t)convert(b[1]) << 16,
                                                       convert(b[2]) | (uint32_t)convert(b[3]) << 16);
        else
            for (unsigned j = 0; j < count; j++) d[j] = convert(b[j]);
    }
};

template <typename Out>
__global__ void __launch_bounds__(kThreads)
decode_kernel(typename Out::T *dst, const uint8_t *src, size_t n, fp8_format_params p, bool vector)
{
    const size_t runs = ceil_div(n, 4);
    for (size_t run = grid_first(); run < runs; run += grid_stride()) {
        const size_t i = run * 4;
        const unsigned count = n - i < 4 ? (unsigned)(n - i) : 4u;
        const bool vec = vector && count == 4;
        uint32_t codes = 0;
        if (vec)
            codes = *reinterpret_cast<const uint32_t *>(src + i);
        else
            for (unsigned j = 0; j < count; j++) codes |= (uint32_t)src[i + j] << (8 * j);
        uint32_t b[4];
#pragma unroll
        for (unsigned j = 0; j < 4; j++) b[j] = fp8_decode_f32_bits((uint8_t)(codes >> (8 * j)), &p);
        Out::store4(dst + i, count, vec, b);
    }
}

template <typename Src>
fp8_status encode(uint8_t *dst, const typename Src::T *src, size_t n, fp8_format fmt, fp8_saturation sat,
                  bool stochastic, uint64_t seed, uint64_t offset, void *stream)
{
    FP8_RETURN_IF(!fp8_format_valid(fmt) || !fp8_saturation_valid(sat), FP8_ERR_INVALID_ARGUMENT);
    FP8_RETURN_IF(n > 0 && (dst == NULL || src == NULL), FP8_ERR_INVALID_ARGUMENT);
    if (n == 0) return FP8_OK;
    const bool vector = aligned(src, 4 * sizeof *src) && aligned(dst, 4);
    encode_kernel<Src><<<grid_for(ceil_div(n, 4), kThreads), kThreads, 0, stream_of(stream)>>>(
        dst, src, n, make_encoder(fmt, sat, stochastic, seed), offset, vector);
    return launched("encode_kernel");
}

template <typename Out>
fp8_status decode(typename Out::T *dst, const uint8_t *src, size_t n, fp8_format fmt, void *stream)
{
    FP8_RETURN_IF(!fp8_format_valid(fmt), FP8_ERR_INVALID_ARGUMENT);
    FP8_RETURN_IF(n > 0 && (dst == NULL || src == NULL), FP8_ERR_INVALID_ARGUMENT);
    if (n == 0) return FP8_OK;
    const bool vector = aligned(dst, 4 * sizeof *dst) && aligned(src, 4);
    decode_kernel<Out><<<grid_for(ceil_div(n, 4), kThreads), kThreads, 0, stream_of(stream)>>>(
        dst, src, n, *fp8_format_params_of(fmt), vector);
    return launched("decode_kernel");
}

} // namespace
} // namespace fp8_cuda

using namespace fp8_cuda;

extern "C" {

fp8_status fp8_cuda_encode_f32(uint8_t *dst, const float *src, size_t n, fp8_format fmt, fp8_saturation sat,
                               void *stream)
{
    return encode<F32Source>(dst, src, n, fmt, sat, false, 0, 0, stream);
}

fp8_status fp8_cuda_encode_bf16(uint8_t *dst, const uint16_t *src, size_t n, fp8_format fmt, fp8_saturation sat,
                                void *stream)
{
    return encode<Bf16Source>(dst, src, n, fmt, sat, false, 0, 0, stream);
}

fp8_status fp8_cuda_encode_f16(uint8_t *dst, const uint16_t *src, size_t n, fp8_format fmt, fp8_saturation sat,
                               void *stream)
{
    return encode<F16Source>(dst, src, n, fmt, sat, false, 0, 0, stream);
}

fp8_status fp8_cuda_encode_f32_sr(uint8_t *dst, const float *src, size_t n, fp8_format fmt, fp8_saturation sat,
                                  uint64_t seed, uint64_t offset, void *stream)
{
    return encode<F32Source>(dst, src, n, fmt, sat, true, seed, offset, stream);
}

fp8_status fp8_cuda_decode_f32(float *dst, const uint8_t *src, size_t n, fp8_format fmt, void *stream)
{
    return decode<F32Out>(dst, src, n, fmt, stream);
}

fp8_status fp8_cuda_decode_bf16(uint16_t *dst, const uint8_t *src, size_t n, fp8_format fmt, void *stream)
{
    return decode<Half16Out<false> >(dst, src, n, fmt, stream);
}

fp8_status fp8_cuda_decode_f16(uint16_t *dst, const uint8_t *src, size_t n, fp8_format fmt, void *stream)
{
    return decode<Half16Out<true> >(dst, src, n, fmt, stream);
}

} // extern "C"
