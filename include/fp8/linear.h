/* libfp8: FP8 linear layers for training code: the three GEMMs of
 * Y = X W^T in FP8, with DeepSeek-V3's recipe as the default.
 *
 * Shapes (row-major, tokens T, in_features K, out_features N):
 *     X  T x K    W  N x K    Y  T x N    (Y = X W^T)
 *     dY T x N    dX T x K    dW N x K    (dX = dY W, dW += dY^T X)
 *
 * Recipes (fp8_linear_recipe) say how each GEMM operand is quantized along
 * its K dimension:
 *   DEEPSEEK   X and dY in 1x128 tiles, W in 128x128 blocks; the backward
 *              pass uses W through its transposed blocks (no re-quantization)
 *              and quantizes X and dY along the tokens for dW with the fused
 *              dual-orientation pass; FP32 promotion every 128 (DeepSeek-V3)
 *   TENSOR     one scale per tensor from the current amax (TE current scaling)
 *   DELAYED    one scale per tensor from an amax history (TE DelayedScaling)
 *   ROWWISE    one scale per row of every operand (torchao rowwise): the
 *              transposed operands are quantized again along the other axis
 *   MX         OCP MXFP8: 1x32 blocks along K with power-of-two scales
 *   BF16       the baseline: operands rounded to BF16, FP32 accumulation
 *   FP32       the reference: FP32 GEMMs
 *
 * Memory is the caller's: fp8_linear_state_size gives the bytes a layer keeps
 * from init to the end (delayed-scaling histories, and what the forward pass
 * leaves for the backward pass), fp8_linear_workspace_size the scratch one
 * forward or backward call needs. No call allocates.
 *
 * Use: init once; per step, fp8_linear_forward then fp8_linear_backward with
 * the same tokens and W (the backward pass reuses the quantized W and, with
 * cache_fp8_input, the quantized X of the forward pass).
 *
 * Thread safety: a layer is used by one thread at a time; different layers
 * are independent. The CPU computes every recipe; see docs/training.md. */
#ifndef FP8_LINEAR_H
#define FP8_LINEAR_H

#include <stddef.h>
#include <stdint.h>
#include "fp8/api.h"
#include "fp8/format.h"
#include "fp8/gemm.h"
#include "fp8/quantize.h"
#include "fp8/status.h"

FP8_BEGIN_DECLS

typedef enum fp8_linear_recipe {
    FP8_LINEAR_DEEPSEEK = 0,
    FP8_LINEAR_TENSOR = 1,
    FP8_LINEAR_DELAYED = 2,
    FP8_LINEAR_ROWWISE = 3,
    FP8_LINEAR_MX = 4,
    FP8_LINEAR_BF16 = 5,
    FP8_LINEAR_FP32 = 6
} fp8_linear_recipe;

typedef struct fp8_linear_config {
    fp8_linear_recipe recipe;
    fp8_format format;      /* X and W (E4M3) */
    fp8_format grad_format; /* dY (E4M3 as in DeepSeek-V3; E5M2 for TE's HYBRID) */
    int pow2_scales;        /* round every scale down to a power of two (MX always) */
    int cache_fp8_input;    /* keep X's FP8 copy for dW instead of reading FP32 X in the backward pass */
    fp8_gemm_config gemm;   /* accumulation of the FP8 GEMMs: FP32, promotion every 128 */
    size_t amax_history_len; /* DELAYED: history length (TE's default 1024) */
    float margin;            /* DELAYED: scale = fmax * 2^-margin / amax */
    fp8_amax_compute amax_compute;
} fp8_linear_config;

/* The recipe's defaults: E4M3 for X, W and dY; power-of-two scales only for
 * MX; cache_fp8_input on for the FP8 recipes; gemm = fp8_gemm_config_init()
 * (MX: promotion every 32, one per block); history 1024, margin 0, FP8_AMAX_MAX. */
FP8_API fp8_linear_config fp8_linear_config_init(fp8_linear_recipe recipe);
/* "deepseek", "tensor", "delayed", "rowwise", "mx", "bf16", "fp32"; NULL for an unknown value. */
FP8_API const char *fp8_linear_recipe_name(fp8_linear_recipe recipe);
FP8_API fp8_status fp8_linear_recipe_from_name(const char *name, fp8_linear_recipe *recipe);

typedef struct fp8_linear fp8_linear; /* lives in the caller's state memory */

/* Bytes of state for a layer of these sizes and up to max_tokens rows of X;
 * 0 for an invalid configuration or sizes that overflow. */
FP8_API size_t fp8_linear_state_size(const fp8_linear_config *cfg, size_t in_features, size_t out_features,
                                     size_t max_tokens);
/* Places a layer in `state` (any alignment, state_size bytes) and sets *layer. */
FP8_API fp8_status fp8_linear_init(fp8_linear **layer, void *state, size_t state_bytes, const fp8_linear_config *cfg,
                                   size_t in_features, size_t out_features, size_t max_tokens);
/* Scratch bytes one forward or backward call needs (for up to max_tokens). */
FP8_API size_t fp8_linear_workspace_size(const fp8_linear *layer);

/* Y = X W^T. X: tokens x K (ldx >= K), W: N x K (row-major, packed), Y: tokens x N (ldy >= N).
 * FP8_ERR_NONFINITE: X or W held NaN or Inf (Y is still written). */
FP8_API fp8_status fp8_linear_forward(fp8_linear *layer, const float *X, size_t ldx, size_t tokens, const float *W,
                                      float *Y, size_t ldy, void *workspace, size_t workspace_bytes);
/* The same with a BF16 Y (raw bits, rounded to nearest even). */
FP8_API fp8_status fp8_linear_forward_bf16(fp8_linear *layer, const float *X, size_t ldx, size_t tokens,
                                           const float *W, uint16_t *Y, size_t ldy, void *workspace,
                                           size_t workspace_bytes);

/* After a forward pass with the same tokens and W: dX = dY W (dX: tokens x K,
 * written; NULL skips it) and dW += dY^T X (dW: N x K FP32, accumulated: the
 * master gradient). X may be NULL when the layer caches its FP8 input.
 * FP8_ERR_NONFINITE: dY held NaN or Inf (outputs are still written). */
FP8_API fp8_status fp8_linear_backward(fp8_linear *layer, const float *X, size_t ldx, const float *dY, size_t lddy,
                                       size_t tokens, const float *W, float *dX, size_t lddx, float *dW,
                                       void *workspace, size_t workspace_bytes);

/* Bytes the layer keeps of X between forward and backward: FP8 codes and
 * scales when it caches its input, else 0 (the caller keeps FP32 X). Compare
 * with 4 * tokens * in_features for the memory saved. */
FP8_API size_t fp8_linear_saved_input_bytes(const fp8_linear *layer, size_t tokens);

FP8_END_DECLS

#endif /* FP8_LINEAR_H */
