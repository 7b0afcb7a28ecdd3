/* libfp8 internal: the FP8 GEMM operands of the CUDA backend, validated as
 * libfp8/gemm/gemm.c validates them (fp8/gemm.h), with their scale blocks
 * resolved. */
#ifndef FP8_CUDA_GEMM_OPERANDS_CUH
#define FP8_CUDA_GEMM_OPERANDS_CUH

#include "core/shape.h"
#include "cuda/common.cuh"
#include "fp8/gemm.h"

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

} // namespace fp8_cuda

#endif /* FP8_CUDA_GEMM_OPERANDS_CUH */
