/* libfp8 internal: what the CPU layer (linear/linear.c) and the CUDA layer
 * (cuda/linear.cu) share, so both follow one specification: the blocks of
 * each recipe, how a transposed operand is made, the memory plan that sizes
 * and cuts the state and the workspace, and the BF16 rounding of operands.
 * Host C (also compiled as C++ by nvcc); the plans only add up offsets, so
 * the same plan cuts host or device memory. */
#ifndef FP8_LINEAR_RECIPE_H
#define FP8_LINEAR_RECIPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fp8/linear.h"

#include "convert/reference.h"
#include "core/internal.h"
#include "core/shape.h"

/* Blocks of an operand along its rows and its K; 0 = the whole extent. */
typedef struct fp8_linear_blocks {
    size_t rows, k;
} fp8_linear_blocks;

/* A quantized operand's codes and scale grid. */
typedef struct fp8_linear_qbuf {
    uint8_t *codes;
    float *scales;
} fp8_linear_qbuf;

/* The per-tensor histories of delayed scaling. */
enum { FP8_LINEAR_HIST_X, FP8_LINEAR_HIST_W, FP8_LINEAR_HIST_DY, FP8_LINEAR_HIST_COUNT };

static inline bool fp8_linear_is_fp8(fp8_linear_recipe r) { return r <= FP8_LINEAR_MX; }

static inline fp8_linear_blocks fp8_linear_activation_blocks(fp8_linear_recipe r)
{
    fp8_linear_blocks b = {0, 0};
    if (r == FP8_LINEAR_DEEPSEEK) b.rows = 1, b.k = 128;
    if (r == FP8_LINEAR_ROWWISE) b.rows = 1, b.k = 0;
    if (r == FP8_LINEAR_MX) b.rows = 1, b.k = 32;
    return b;
}

static inline fp8_linear_blocks fp8_linear_weight_blocks(fp8_linear_recipe r)
{
    fp8_linear_blocks b = {128, 128};
    return r == FP8_LINEAR_DEEPSEEK ? b : fp8_linear_activation_blocks(r);
}

static inline fp8_scale_mode fp8_linear_scale_mode(const fp8_linear_config *c)
{
    return c->recipe == FP8_LINEAR_MX ? FP8_SCALE_POW2_OCP_MX : c->pow2_scales ? FP8_SCALE_POW2 : FP8_SCALE_F32;
}

static inline bool fp8_linear_config_valid(const fp8_linear_config *c)
{
    return c != NULL && (unsigned)c->recipe <= (unsigned)FP8_LINEAR_FP32 && fp8_format_valid(c->format) &&
           fp8_format_valid(c->grad_format) && (c->recipe != FP8_LINEAR_DELAYED || c->amax_history_len > 0) &&
           c->gemm.accum_bits <= 24 && c->margin > -128.0f && c->margin < 128.0f &&
           (unsigned)c->amax_compute <= (unsigned)FP8_AMAX_MOST_RECENT;
}

/* How S^T (in S's blocks, transposed) is made from an FP32 matrix S, cheapest first:
 *   DUAL        the fused dual-orientation pass gives S and S^T at once (1 x b tiles, b <= 256);
 *   TRANSPOSE   S's codes and scale grid, transposed (square blocks: no re-quantization);
 *   REQUANTIZE  S quantized with the blocks swapped, then transposed (rowwise, MX).
 * `with_s`: S itself is wanted too; `per_tensor`: one given scale (delayed scaling). */
typedef enum fp8_linear_route { FP8_ROUTE_DUAL, FP8_ROUTE_TRANSPOSE, FP8_ROUTE_REQUANTIZE } fp8_linear_route;

static inline fp8_linear_route fp8_linear_route_of(fp8_linear_blocks b, bool with_s, bool per_tensor)
{
    if (per_tensor || b.rows == b.k) return FP8_ROUTE_TRANSPOSE;
    if (with_s && b.rows == 1 && b.k >= 1 && b.k <= 256) return FP8_ROUTE_DUAL;
    return FP8_ROUTE_REQUANTIZE;
}

/* ---- memory plans ---------------------------------------------------------------------------
 * A carver hands out 64-byte aligned pieces of one buffer; with no buffer it only adds up sizes,
 * so one plan both sizes a buffer and cuts it. */
typedef struct fp8_carver {
    unsigned char *base;
    size_t used;
    bool overflow;
} fp8_carver;

static inline void *fp8_carve(fp8_carver *c, size_t count, size_t elem_size)
{
    size_t bytes, at = (c->used + 63) / 64 * 64;
    if (fp8_mul_overflows(count, elem_size, &bytes) || at < c->used || __builtin_add_overflow(at, bytes, &c->used))
        c->overflow = true;
    return c->base != NULL && !c->overflow ? c->base + at : NULL;
}

/* A carver over `buffer` from its first 64-byte boundary. */
static inline fp8_carver fp8_carver_at(void *buffer, size_t used)
{
    fp8_carver c = {(unsigned char *)buffer + ((size_t) - (uintptr_t)buffer & 63u), used, false};
    return c;
}

static inline fp8_linear_qbuf fp8_carve_q(fp8_carver *c, size_t rows, size_t cols, fp8_linear_blocks b)
{
    fp8_linear_qbuf q;
    q.codes = (uint8_t *)fp8_carve(c, rows * cols, 1);
    q.scales = (float *)fp8_carve(c, rows && cols ? fp8_scale_count(rows, cols, b.rows, b.k) : 1, sizeof(float));
    return q;
}

/* What a layer keeps from the forward pass for the backward pass. */
typedef struct fp8_linear_kept {
    fp8_linear_qbuf wq; /* FP8 recipes: W (N x K) as quantized for the forward GEMM */
    fp8_linear_qbuf xt; /* cache_fp8_input: X^T (K x tokens) */
    float *history;     /* DELAYED: FP8_LINEAR_HIST_COUNT histories of amax_history_len */
} fp8_linear_kept;

static inline void fp8_linear_plan_kept(fp8_carver *c, fp8_linear_kept *k, const fp8_linear_config *cfg, size_t K,
                                        size_t N, size_t T)
{
    const fp8_linear_qbuf none = {NULL, NULL};
    const bool fp8 = fp8_linear_is_fp8(cfg->recipe);
    k->wq = fp8 ? fp8_carve_q(c, N, K, fp8_linear_weight_blocks(cfg->recipe)) : none;
    k->xt = fp8 && cfg->cache_fp8_input ? fp8_carve_q(c, K, T, fp8_linear_activation_blocks(cfg->recipe)) : none;
    k->history = cfg->recipe == FP8_LINEAR_DELAYED
                     ? (float *)fp8_carve(c, FP8_LINEAR_HIST_COUNT * cfg->amax_history_len, sizeof(float))
                     : NULL;
}

/* Scratch of one call: every field any recipe needs; unused ones stay NULL. */
typedef struct fp8_linear_scratch {
    fp8_linear_qbuf xq, dyq, dytq, wtq, xtq; /* X, dY, dY^T, W^T, X^T (when not cached) */
    uint8_t *tmp_codes;                      /* a quantization with swapped blocks, before its transpose */
    float *tmp_scales;
    uint16_t *xb, *wb, *dyb, *wtb, *dytb, *xtb; /* BF16 */
    float *wtf, *dytf, *xtf, *yf;               /* FP32: transposes; an FP32 Y for the BF16-output forward */
} fp8_linear_scratch;

static inline void fp8_linear_plan_scratch(fp8_carver *c, fp8_linear_scratch *s, const fp8_linear_config *cfg,
                                           size_t K, size_t N, size_t T)
{
    const fp8_linear_blocks act = fp8_linear_activation_blocks(cfg->recipe), w = fp8_linear_weight_blocks(cfg->recipe);
    const size_t kn = K * N, kt = K * T, nt = N * T;
    const size_t big = kn > kt ? (kn > nt ? kn : nt) : (kt > nt ? kt : nt);
    memset(s, 0, sizeof *s);
    switch (cfg->recipe) {
    case FP8_LINEAR_FP32:
        s->wtf = (float *)fp8_carve(c, kn, sizeof(float));
        s->dytf = (float *)fp8_carve(c, nt, sizeof(float));
        s->xtf = (float *)fp8_carve(c, kt, sizeof(float));
        break;
    case FP8_LINEAR_BF16:
        s->xb = (uint16_t *)fp8_carve(c, kt, sizeof(uint16_t));
        s->dyb = (uint16_t *)fp8_carve(c, nt, sizeof(uint16_t));
        s->wb = (uint16_t *)fp8_carve(c, kn, sizeof(uint16_t));
        s->wtb = (uint16_t *)fp8_carve(c, kn, sizeof(uint16_t));
        s->dytb = (uint16_t *)fp8_carve(c, nt, sizeof(uint16_t));
        s->xtb = (uint16_t *)fp8_carve(c, kt, sizeof(uint16_t));
        break;
    default:
        s->xq = fp8_carve_q(c, T, K, act);
        s->dyq = fp8_carve_q(c, T, N, act);
        s->dytq = fp8_carve_q(c, N, T, act);
        s->wtq = fp8_carve_q(c, K, N, w);
        s->xtq = fp8_carve_q(c, K, T, act);
        s->tmp_codes = (uint8_t *)fp8_carve(c, big, 1);
        s->tmp_scales = (float *)fp8_carve(c, big, sizeof(float)); /* at most one scale per element */
        break;
    }
    s->yf = (float *)fp8_carve(c, nt, sizeof(float));
}

/* Bytes of memory of what the layer keeps from the forward pass of X: codes and scales of X^T. */
static inline size_t fp8_linear_saved_bytes(const fp8_linear_config *cfg, size_t K, size_t tokens)
{
    if (!fp8_linear_is_fp8(cfg->recipe) || !cfg->cache_fp8_input) return 0;
    const fp8_linear_blocks act = fp8_linear_activation_blocks(cfg->recipe);
    return tokens * K + fp8_scale_count(K, tokens, act.rows, act.k) * sizeof(float);
}

/* An FP32 value rounded to BF16 (raw bits), nearest even; NaN stays NaN (quieted, sign and top payload kept). */
FP8_HOST_DEVICE static inline uint16_t fp8_linear_bf16_of(float x)
{
    const uint32_t u = fp8_f32_bits(x);
    if ((u & 0x7FFFFFFFu) > 0x7F800000u) return (uint16_t)((u >> 16) | 0x40u);
    return (uint16_t)((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);
}

#endif /* FP8_LINEAR_RECIPE_H */
