/* libfp8 internal: what one CUDA source offers the others (not public).
 *   gemm_lt.cu     dense GEMMs through cuBLASLt (the BF16 and FP32 baselines)
 *   transpose.cu   matrix copies, transposed or not, converting elements
 * Arguments are the caller's to check; these functions only enqueue work. */
#ifndef FP8_CUDA_INTERNAL_CUH
#define FP8_CUDA_INTERNAL_CUH

#include "cuda/common.cuh"

namespace fp8_cuda {

/* D = alpha * A * B^T + beta * D (cfg: checked by the caller, fast_accum 0) in fp8/gemm.h's
 * layout: A (M x K, lda) and B (N x K, ldb) both of type ab (CUDA_R_16BF or CUDA_R_32F), D
 * (M x N, ldd) of type d (CUDA_R_16BF or CUDA_R_32F), FP32 accumulation (CUBLAS_COMPUTE_32F:
 * no TF32). Rows of A, B and D must start on 16-byte boundaries, else FP8_ERR_UNSUPPORTED with
 * the reason in fp8_cuda_last_error(). */
fp8_status dense_gemm(fp8_cuda_gemm *h, const fp8_cuda_gemm_config *cfg, size_t M, size_t N, size_t K,
                      cudaDataType_t ab, const void *A, size_t lda, const void *B, size_t ldb, cudaDataType_t d,
                      void *D, size_t ldd, cudaStream_t s);

/* dst = src (rows x cols, row stride lds) into dst at row stride ldd, or its transpose
 * (cols x rows) when `transpose`. The FP32 sources set *nonfinite (device, may be NULL) to 1
 * when they hold NaN or infinity, and never clear it; find_nonfinite_f32 only looks. */
fp8_status transpose_codes(uint8_t *dst, size_t ldd, const uint8_t *src, size_t lds, size_t rows, size_t cols,
                           cudaStream_t s);
fp8_status copy_f32(float *dst, size_t ldd, const float *src, size_t lds, size_t rows, size_t cols, bool transpose,
                    int *nonfinite, cudaStream_t s);
/* Each element rounded to BF16 as the CPU linear layer rounds it (linear/recipe.h). */
fp8_status round_to_bf16(uint16_t *dst, size_t ldd, const float *src, size_t lds, size_t rows, size_t cols,
                         bool transpose, int *nonfinite, cudaStream_t s);
fp8_status find_nonfinite_f32(const float *src, size_t lds, size_t rows, size_t cols, int *nonfinite, cudaStream_t s);

} // namespace fp8_cuda

#endif /* FP8_CUDA_INTERNAL_CUH */
