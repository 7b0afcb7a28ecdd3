/* libfp8: FP8 matrix products on the CPU with high-precision accumulation,
 * and an emulator of the tensor-core accumulator (see docs/gemm.md).
 *
 * Layout ("NT", as DeepGEMM and cuBLASLt's FP8 path): A is M x K and B is
 * N x K, both row-major; D = alpha * A * B^T + beta * D is M x N, row-major
 * with row stride ldd >= N.
 *
 * Quantized operands are what fp8_quantize_f32 writes (fp8/quantize.h):
 * element (r, c) stands for decode(data[r * ld + c]) * scale_inv[b], with
 * scale_inv row-major [ceil(rows/block_rows)][ceil(cols/block_cols)] and 0
 * meaning the whole extent. Any mix of block shapes (per tensor, per row,
 * 1x128, 128x128, ...) and of FP8 formats works, provided the two operands
 * cut K the same way: their block_cols, with 0 or anything >= K meaning K,
 * must be equal.
 *
 * The arithmetic, exactly (every path, every thread count, every caller
 * floating-point environment gives the same bytes):
 *   - K is cut into segments of promote_interval elements (the whole of K
 *     when it is 0), restarting at every scale block. Within a segment the
 *     products decode(a) * decode(b) are summed in k order: in FP32 (one FMA
 *     per product: the products of FP8 values are exact) when accum_bits is
 *     0, else in the emulated tensor-core accumulator.
 *   - Each segment's sum is promoted: d = fma(sum, (alpha * sa) * sb, d),
 *     sa and sb the scale_inv of the segment's blocks, d starting at
 *     beta * D (at +0 when beta == 0: D is then not read, and NaN in it
 *     does not propagate).
 * NaN or infinity in an operand reaches only the outputs whose dot product
 * reads it. Outputs are not checked for overflow.
 *
 * Thread safety: every function is reentrant; concurrent calls must write
 * disjoint D. Large products run on fp8_num_threads() threads. Ownership:
 * the functions read A and B, write D's M x N elements and nothing else, and
 * free any workspace before returning; D must not overlap A, B or their
 * scales. Invalid arguments return FP8_ERR_INVALID_ARGUMENT and a failed
 * allocation FP8_ERR_OUT_OF_MEMORY, both before anything is written. */
#ifndef FP8_GEMM_H
#define FP8_GEMM_H

#include <stddef.h>
#include <stdint.h>
#include "fp8/api.h"
#include "fp8/format.h"
#include "fp8/status.h"

FP8_BEGIN_DECLS

/* A quantized matrix: codes plus the scales that produced them (layout as
 * fp8_quantize_f32 writes it). data may be NULL and scale_inv is not read
 * when rows or cols is 0. */
typedef struct fp8_qmatrix {
    const uint8_t *data;
    size_t rows, cols, ld; /* ld >= cols */
    fp8_format format;
    const float *scale_inv;
    size_t block_rows, block_cols; /* 0 = the whole extent */
} fp8_qmatrix;

/* How the emulated accumulator treats the running sum: the two readings of
 * DeepSeek-V3's description of Hopper's FP8 tensor cores (docs/gemm.md).
 * In both, each group of mma_k products is aligned to the largest exponent
 * among its terms and every term is truncated (rounded toward -infinity, as
 * a sign-filling right shift does) to accum_bits bits below that exponent's
 * leading bit; after each group the running sum is truncated to accum_bits
 * significant bits. */
typedef enum fp8_accum_model {
    /* The running sum is one more term of the alignment: a large sum
     * truncates every product of the group (the larger error). */
    FP8_ACCUM_ALIGN_WITH_SUM = 0,
    /* Only the group's products are aligned; their exact sum is then added
     * to the running sum. */
    FP8_ACCUM_ALIGN_PRODUCTS = 1
} fp8_accum_model;

typedef struct fp8_gemm_config {
    unsigned accum_bits;     /* 0: FP32 accumulation; n in 1..24: emulate a tensor-core accumulator that keeps n bits */
    size_t promote_interval; /* K elements accumulated before promotion to the FP32 result; 0: never promote */
    float alpha, beta;       /* D = alpha * A * B^T + beta * D */
    /* Additions to the pinned fields, for the emulator (used when accum_bits > 0): */
    fp8_accum_model accum_model;
    unsigned mma_k; /* products per accumulator step, 1..64: one MMA's K (32 for FP8 on Hopper) */
} fp8_gemm_config;

/* accum_bits 0, promote_interval 128, alpha 1, beta 0,
 * accum_model FP8_ACCUM_ALIGN_WITH_SUM, mma_k 32. */
FP8_API fp8_gemm_config fp8_gemm_config_init(void);

/* D (FP32) = alpha * A * B^T + beta * D, A: M x K, B: N x K (A->cols ==
 * B->cols), D: A->rows x B->rows. FP8_ERR_INVALID_ARGUMENT for: NULL
 * pointers (D and the operands' data and scale_inv may be NULL only where
 * they would not be read), A->cols != B->cols, ld < cols, ldd < N, an
 * unknown format or accum_model, accum_bits > 24, mma_k outside 1..64, K blocks that
 * differ, or, when K has more than one block, a promote_interval that does
 * not divide the block (0 included). */
FP8_API fp8_status fp8_gemm_f32(const fp8_gemm_config *cfg, const fp8_qmatrix *A, const fp8_qmatrix *B, float *D,
                                size_t ldd);

/* The same with a BF16 D (raw bits): D is widened to FP32 for beta, the
 * result is that of fp8_gemm_f32 rounded to nearest even (NaN: 0x7FFF). */
FP8_API fp8_status fp8_gemm_bf16(const fp8_gemm_config *cfg, const fp8_qmatrix *A, const fp8_qmatrix *B, uint16_t *D,
                                 size_t ldd);

/* The baseline FP8 is compared with: a BF16 GEMM (raw bits, no scales) in
 * the same layout, D (FP32) = alpha * A * B^T + beta * D, A: M x K (row
 * stride lda >= K), B: N x K (ldb >= K). The arithmetic is fp8_gemm_f32's
 * with every scale 1: products of BF16 values are exact in FP32 (barring
 * underflow and overflow, where the FMA rounds once), and cfg works the same
 * (promote_interval splits the FP32 sums; accum_bits > 0 emulates). */
FP8_API fp8_status fp8_bf16_gemm_f32(const fp8_gemm_config *cfg, size_t M, size_t N, size_t K, const uint16_t *A,
                                     size_t lda, const uint16_t *B, size_t ldb, float *D, size_t ldd);

/* The FP32 reference in the same layout, D = alpha * A * B^T + beta * D
 * with FP32 A (M x K, lda >= K) and B (N x K, ldb >= K): one FMA per product
 * in k order, sums promoted every promote_interval as above. accum_bits must
 * be 0. workspace as for the _ws variants below (NULL: allocate). */
FP8_API fp8_status fp8_f32_gemm_f32_ws(const fp8_gemm_config *cfg, size_t M, size_t N, size_t K, const float *A,
                                       size_t lda, const float *B, size_t ldb, float *D, size_t ldd, void *workspace,
                                       size_t workspace_bytes);

/* Caller-owned workspace (for training steps that must not allocate):
 * fp8_gemm_workspace_size gives the bytes the products of this shape use on
 * fp8_num_threads() threads (0 when they need none, or for an invalid cfg);
 * the _ws variants take such a buffer (any alignment) and then allocate
 * nothing. A smaller buffer runs on fewer threads; one too small for a single
 * thread is FP8_ERR_INVALID_ARGUMENT. workspace NULL: allocate as the plain
 * functions do. The buffer must not be shared by concurrent calls. */
FP8_API size_t fp8_gemm_workspace_size(const fp8_gemm_config *cfg, size_t M, size_t N, size_t K);
FP8_API fp8_status fp8_gemm_f32_ws(const fp8_gemm_config *cfg, const fp8_qmatrix *A, const fp8_qmatrix *B, float *D,
                                   size_t ldd, void *workspace, size_t workspace_bytes);
FP8_API fp8_status fp8_bf16_gemm_f32_ws(const fp8_gemm_config *cfg, size_t M, size_t N, size_t K, const uint16_t *A,
                                        size_t lda, const uint16_t *B, size_t ldb, float *D, size_t ldd,
                                        void *workspace, size_t workspace_bytes);

FP8_END_DECLS

#endif /* FP8_GEMM_H */
