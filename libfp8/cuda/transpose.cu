/* libfp8: matrix copies on the device (cuda/internal.cuh), transposed or
 * not, converting each element on the way: FP8 codes and FP32 values as
 * they are, FP32 to BF16 with the linear layer's rounding. One kernel: each
 * 256-thread block moves 32 x 32 tiles through shared memory (row stride 33:
 * the column reads of a transposed write hit distinct banks), so that the
 * reads and the writes are both coalesced, whichever orientation. */
#include "cuda/internal.cuh"
#include "linear/recipe.h"

namespace fp8_cuda {
namespace {

const unsigned kTile = 32, kRowsPerPass = 8; /* blockDim = (32, 8) */

template <typename I, typename O>
struct Same {
    typedef I In;
    typedef O Out;
    __device__ static Out convert(In v) { return v; }
};
struct F32ToBf16 {
    typedef float In;
    typedef uint16_t Out;
    __device__ static uint16_t convert(float v) { return fp8_linear_bf16_of(v); }
};

__device__ inline bool is_nonfinite(float v) { return (__float_as_uint(v) & 0x7F800000u) == 0x7F800000u; }
__device__ inline bool is_nonfinite(uint8_t) { return false; }

/* dst may be NULL: then the kernel only looks for non-finite values. */
template <typename Conv>
__global__ void __launch_bounds__(kTile *kRowsPerPass)
    copy_kernel(typename Conv::Out *dst, size_t ldd, const typename Conv::In *src, size_t lds, size_t rows,
                size_t cols, bool transpose, int *nonfinite)
{
    __shared__ typename Conv::Out tile[kTile][kTile + 1];
    const size_t tiles_c = ceil_div(cols, kTile), tiles = ceil_div(rows, kTile) * tiles_c;
    const unsigned tx = threadIdx.x, ty = threadIdx.y;
    bool bad = false;
    for (size_t t = blockIdx.x; t < tiles; t += gridDim.x) {
        const size_t r0 = t / tiles_c * kTile, c0 = t % tiles_c * kTile;
        for (unsigned i = ty; i < kTile; i += kRowsPerPass)
            if (r0 + i < rows && c0 + tx < cols) {
                const typename Conv::In v = src[(r0 + i) * lds + c0 + tx];
                bad = bad || is_nonfinite(v);
                tile[i][tx] = Conv::convert(v);
            }
        __syncthreads();
        if (dst != NULL)
            for (unsigned i = ty; i < kTile; i += kRowsPerPass) {
                if (!transpose && r0 + i < rows && c0 + tx < cols) dst[(r0 + i) * ldd + c0 + tx] = tile[i][tx];
                if (transpose && c0 + i < cols && r0 + tx < rows) dst[(c0 + i) * ldd + r0 + tx] = tile[tx][i];
            }
        __syncthreads(); /* the next tile overwrites this one */
    }
    if (__syncthreads_or(bad) && nonfinite != NULL && tx == 0 && ty == 0) *nonfinite = 1;
}

template <typename Conv>
fp8_status copy(typename Conv::Out *dst, size_t ldd, const typename Conv::In *src, size_t lds, size_t rows,
                size_t cols, bool transpose, int *nonfinite, cudaStream_t s)
{
    if (rows == 0 || cols == 0) return FP8_OK;
    const size_t tiles = ceil_div(rows, kTile) * ceil_div(cols, kTile);
    copy_kernel<Conv><<<grid_for(tiles, 1), dim3(kTile, kRowsPerPass), 0, s>>>(dst, ldd, src, lds, rows, cols,
                                                                               transpose, nonfinite);
    return launched("copy_kernel");
}

} // namespace

fp8_status transpose_codes(uint8_t *dst, size_t ldd, const uint8_t *src, size_t lds, size_t rows, size_t cols,
                           cudaStream_t s)
{
    return copy<Same<uint8_t, uint8_t> >(dst, ldd, src, lds, rows, cols, true, NULL, s);
}

fp8_status copy_f32(float *dst, size_t ldd, const float *src, size_t lds, size_t rows, size_t cols, bool transpose,
                    int *nonfinite, cudaStream_t s)
{
    return copy<Same<float, float> >(dst, ldd, src, lds, rows, cols, transpose, nonfinite, s);
}

fp8_status round_to_bf16(uint16_t *dst, size_t ldd, const float *src, size_t lds, size_t rows, size_t cols,
                         bool transpose, int *nonfinite, cudaStream_t s)
{
    return copy<F32ToBf16>(dst, ldd, src, lds, rows, cols, transpose, nonfinite, s);
}

fp8_status find_nonfinite_f32(const float *src, size_t lds, size_t rows, size_t cols, int *nonfinite, cudaStream_t s)
{
    return copy<Same<float, float> >(NULL, 0, src, lds, rows, cols, false, nonfinite, s);
}

} // namespace fp8_cuda
