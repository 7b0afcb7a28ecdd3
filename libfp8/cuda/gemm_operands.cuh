/* libfp8 internal: the FP8 GEMM operands of the CUDA backend, validated as
 * libfp8/gemm/gemm.c validates them (fp8/gemm.h), with their scale blocks
 * resolved. */
#ifndef FP8_CUDA_GEMM_OPERANDS_CUH
#define FP8_CUDA_GEMM_OPERANDS_CUH

#include "core/shape.h"
#include "cuda/common.cuh"
#include "fp8/gemm.h"
#include "gemm/gemm_kernels.h"

namespace fp8_cuda {

/* Element (r, k) stands for decode(data[r * ld + k]) * scale_inv[(r / block_rows) * k_blocks + k / block_k]. */
struct Operand {
    const uint8_t *data;
    size_t rows, k, ld;
    fp8_format format;
    const float *scale_inv;
    size_t block_rows, block_k, k_blocks;
};

inline bool operand_of(const fp8_qmatrix *q, Operand *op)
{
    if (q == NULL || !fp8_format_valid(q->format) || !fp8_extent_valid(q->rows, q->cols, q->ld)) return false;
    if (q->rows != 0 && q->cols != 0 && (q->data == NULL || q->scale_inv == NULL)) return false;
    op->data = q->data;
    op->rows = q->rows;
    op->k = q->cols;
    op->ld = q->ld;
    op->format = q->format;
    op->scale_inv = q->scale_inv;
    op->block_rows = fp8_effective_block(q->block_rows, q->rows);
    op->block_k = fp8_effective_block(q->block_cols, q->cols);
    op->k_blocks = ceil_div(q->cols, op->block_k);
    return true;
}

/* fp8_gemm_f32's checks of the operands and D: both valid, the same K cut
 * into the same blocks, D addressable. */
inline fp8_status check_gemm_operands(const fp8_qmatrix *A, const fp8_qmatrix *B, const void *D, size_t ldd,
                                      Operand *a, Operand *b)
{
    FP8_RETURN_IF(!operand_of(A, a) || !operand_of(B, b) || A->cols != B->cols, FP8_ERR_INVALID_ARGUMENT);
    FP8_RETURN_IF(!fp8_extent_valid(a->rows, b->rows, ldd) || (D == NULL && a->rows != 0 && b->rows != 0),
                  FP8_ERR_INVALID_ARGUMENT);
    FP8_RETURN_IF(a->block_k != b->block_k, FP8_ERR_INVALID_ARGUMENT);
    return FP8_OK;
}

/* What the own tensor-core kernels (fp8_cuda_gemm_mma_f32, fp8_cuda_gemm_wgmma_f32) check, in
 * this order: fp8_gemm_f32's checks of cfg and the operands (FP8_ERR_INVALID_ARGUMENT), then what
 * tensor cores cannot do (FP8_ERR_UNSUPPORTED, with the reason under the name `who`): accum_bits
 * other than 0, formats other than E4M3 and E5M2, segments that are not a multiple of `granule`
 * elements of K (`granule_text` says why). *segment = the K elements summed between promotions:
 * promote_interval, or all of K (1 when K is 0) when it is 0 or covers K. */
inline fp8_status check_tensor_core_gemm(const char *who, const fp8_gemm_config *cfg, const fp8_qmatrix *A,
                                         const fp8_qmatrix *B, const void *D, size_t ldd, size_t granule,
                                         const char *granule_text, Operand *a, Operand *b, size_t *segment)
{
    const unsigned max_accum_bits = 24; /* fp8/gemm.h's limit on the emulator's accumulator */
    FP8_RETURN_IF(cfg == NULL || cfg->accum_bits > max_accum_bits || cfg->mma_k < 1 ||
                      cfg->mma_k > FP8_GEMM_MAX_MMA_K ||
                      (cfg->accum_model != FP8_ACCUM_ALIGN_WITH_SUM && cfg->accum_model != FP8_ACCUM_ALIGN_PRODUCTS),
                  FP8_ERR_INVALID_ARGUMENT);
    FP8_FORWARD_IF_ERROR(check_gemm_operands(A, B, D, ldd, a, b));
    const size_t P = cfg->promote_interval, K = a->k;
    FP8_RETURN_IF(a->k_blocks > 1 && (P == 0 || a->block_k % P != 0), FP8_ERR_INVALID_ARGUMENT);
    if (cfg->accum_bits != 0)
        return fail_text(FP8_ERR_UNSUPPORTED, who, "accum_bits must be 0: the tensor cores are the accumulator");
    const bool ocp_a = a->format == FP8_E4M3 || a->format == FP8_E5M2;
    const bool ocp_b = b->format == FP8_E4M3 || b->format == FP8_E5M2;
    if (!ocp_a || !ocp_b) return fail_text(FP8_ERR_UNSUPPORTED, who, "the tensor cores take E4M3 and E5M2 only");
    *segment = P == 0 || P >= K ? (K == 0 ? 1 : K) : P;
    if (*segment < K && *segment % granule != 0) return fail_text(FP8_ERR_UNSUPPORTED, who, granule_text);
    return FP8_OK;
}

} // namespace fp8_cuda

#endif /* FP8_CUDA_GEMM_OPERANDS_CUH */
