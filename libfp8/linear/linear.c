/* libfp8: FP8 linear layers (see fp8/linear.h).
 *
 * Every recipe is a choice of blocks for the two kinds of GEMM operand,
 * activations (X, dY) and weights (W), along each GEMM's K dimension. An
 * operand used transposed (W^T in dX = dY W; dY^T and X^T in dW = dY^T X)
 * comes from the same FP32 matrix S in one of three ways (linear/recipe.h,
 * shared with the CUDA layer), cheapest first:
 *   - the fused dual-orientation pass, for 1 x b activation tiles;
 *   - transposing S's codes and scale grid, when S's blocks are square
 *     (128 x 128, or the whole tensor): no re-quantization;
 *   - quantizing S with the blocks swapped, then transposing (rowwise, MX).
 * Memory: the layer lives in the caller's state buffer, every call's
 * scratch in the caller's workspace, both cut by the same carving plan that
 * sizes them (linear/recipe.h). */
#include <math.h>
#include <string.h>
#include <strings.h>

#include "fp8/linear.h"

#include "convert/reference.h"
#include "core/internal.h"
#include "core/shape.h"
#include "cpu/kernels.h"
#include "linear/recipe.h"
#include "quantize/scale.h"

typedef fp8_linear_blocks blocks;
typedef fp8_linear_qbuf qbuf;

enum { HIST_X = FP8_LINEAR_HIST_X, HIST_W = FP8_LINEAR_HIST_W, HIST_DY = FP8_LINEAR_HIST_DY, HIST_COUNT };

struct fp8_linear {
    fp8_linear_config cfg;
    size_t K, N, max_tokens;
    blocks act, weight;
    fp8_scale_mode scale_mode;
    fp8_linear_kept kept; /* W and X^T from the forward pass, delayed-scaling histories */
    size_t forward_tokens;
    fp8_amax_history hist[HIST_COUNT];
    fp8_block_scale used[HIST_COUNT]; /* DELAYED: the scale of each tensor's last quantization */
};

fp8_linear_config fp8_linear_config_init(fp8_linear_recipe recipe)
{
    fp8_linear_config c;
    memset(&c, 0, sizeof c);
    c.recipe = recipe;
    c.format = FP8_E4M3;
    c.grad_format = FP8_E4M3;
    c.pow2_scales = 0;
    c.cache_fp8_input = recipe <= FP8_LINEAR_MX; /* FP8 recipes keep X in FP8, as Transformer Engine does */
    c.gemm = fp8_gemm_config_init();
    if (recipe == FP8_LINEAR_MX) c.gemm.promote_interval = 32; /* a promotion per MX block */
    c.amax_history_len = 1024;
    c.margin = 0.0f;
    c.amax_compute = FP8_AMAX_MAX;
    return c;
}

static const char *const recipe_names[] = {"deepseek", "tensor", "delayed", "rowwise", "mx", "bf16", "fp32"};

const char *fp8_linear_recipe_name(fp8_linear_recipe recipe)
{
    return (unsigned)recipe < sizeof recipe_names / sizeof recipe_names[0] ? recipe_names[recipe] : NULL;
}

fp8_status fp8_linear_recipe_from_name(const char *name, fp8_linear_recipe *recipe)
{
    FP8_RETURN_IF(name == NULL || recipe == NULL, FP8_ERR_INVALID_ARGUMENT);
    for (unsigned r = 0; r < sizeof recipe_names / sizeof recipe_names[0]; r++)
        if (strcasecmp(name, recipe_names[r]) == 0) {
            *recipe = (fp8_linear_recipe)r;
            return FP8_OK;
        }
    return FP8_ERR_INVALID_ARGUMENT;
}

/* What the layer keeps (after the struct itself). */
static void plan_state(fp8_carver *c, fp8_linear *l, const fp8_linear_config *cfg, size_t K, size_t N, size_t T)
{
    fp8_linear_plan_kept(c, &l->kept, cfg, K, N, T);
    for (int h = 0; h < HIST_COUNT; h++)
        l->hist[h].amax = l->kept.history ? l->kept.history + h * cfg->amax_history_len : NULL;
}

size_t fp8_linear_state_size(const fp8_linear_config *cfg, size_t in_features, size_t out_features, size_t max_tokens)
{
    if (!fp8_linear_config_valid(cfg)) return 0;
    fp8_linear scratch;
    fp8_carver c = {NULL, sizeof(fp8_linear) + 64, false};
    plan_state(&c, &scratch, cfg, in_features, out_features, max_tokens);
    return c.overflow ? 0 : c.used + 64;
}

fp8_status fp8_linear_init(fp8_linear **layer, void *state, size_t state_bytes, const fp8_linear_config *cfg,
                           size_t in_features, size_t out_features, size_t max_tokens)
{
    FP8_RETURN_IF(layer == NULL || state == NULL || !fp8_linear_config_valid(cfg), FP8_ERR_INVALID_ARGUMENT);
    FP8_RETURN_IF(in_features == 0 || out_features == 0 || max_tokens == 0, FP8_ERR_INVALID_ARGUMENT);
    const size_t need = fp8_linear_state_size(cfg, in_features, out_features, max_tokens);
    FP8_RETURN_IF(need == 0 || state_bytes < need, FP8_ERR_INVALID_ARGUMENT);
    unsigned char *base = (unsigned char *)state + ((size_t)-(uintptr_t)state & 63u);
    fp8_linear *l = (fp8_linear *)base;
    memset(l, 0, sizeof *l);
    fp8_carver c = {base, sizeof(fp8_linear), false};
    plan_state(&c, l, cfg, in_features, out_features, max_tokens);
    l->cfg = *cfg;
    l->K = in_features;
    l->N = out_features;
    l->max_tokens = max_tokens;
    l->act = fp8_linear_activation_blocks(cfg->recipe);
    l->weight = fp8_linear_weight_blocks(cfg->recipe);
    l->scale_mode = fp8_linear_scale_mode(cfg);
    if (cfg->recipe == FP8_LINEAR_DELAYED) {
        const fp8_format formats[HIST_COUNT] = {cfg->format, cfg->format, cfg->grad_format};
        for (int h = 0; h < HIST_COUNT; h++)
            FP8_FORWARD_IF_ERROR(fp8_amax_history_init(&l->hist[h], l->hist[h].amax, cfg->amax_history_len, formats[h],
                                                       cfg->amax_compute, cfg->margin));
    }
    *layer = l;
    return FP8_OK;
}

/* Scratch of one call: the shared plan, then the CPU GEMMs' workspace. */
typedef struct scratch {
    fp8_linear_scratch b; /* buffers */
    void *gemm;
    size_t gemm_bytes;
} scratch;

static void plan_scratch(fp8_carver *c, const fp8_linear *l, size_t T, scratch *s)
{
    const size_t K = l->K, N = l->N;
    fp8_linear_plan_scratch(c, &s->b, &l->cfg, K, N, T);
    /* the GEMMs: Y (T x N x K), dX (T x K x N), dW (N x K x T) */
    fp8_gemm_config plain = l->cfg.gemm;
    if (!fp8_linear_is_fp8(l->cfg.recipe)) plain.accum_bits = 0;
    size_t bytes = fp8_gemm_workspace_size(&plain, T, N, K), b2 = fp8_gemm_workspace_size(&plain, T, K, N),
           b3 = fp8_gemm_workspace_size(&plain, N, K, T);
    bytes = bytes > b2 ? bytes : b2;
    bytes = bytes > b3 ? bytes : b3;
    s->gemm = fp8_carve(c, bytes, 1);
    s->gemm_bytes = bytes;
}

size_t fp8_linear_workspace_size(const fp8_linear *layer)
{
    if (layer == NULL) return 0;
    scratch s;
    fp8_carver c = {NULL, 0, false};
    plan_scratch(&c, layer, layer->max_tokens, &s);
    return c.overflow ? 0 : c.used + 64;
}

static fp8_status cut_scratch(const fp8_linear *l, void *workspace, size_t bytes, scratch *s)
{
    FP8_RETURN_IF(workspace == NULL || bytes < fp8_linear_workspace_size(l), FP8_ERR_INVALID_ARGUMENT);
    fp8_carver c = fp8_carver_at(workspace, 0);
    plan_scratch(&c, l, l->max_tokens, s);
    return FP8_OK;
}

/* ---- quantized operands ---------------------------------------------------------------------- */

static fp8_status merge(fp8_status a, fp8_status b)
{
    if (a != FP8_OK && a != FP8_ERR_NONFINITE) return a;
    if (b != FP8_OK && b != FP8_ERR_NONFINITE) return b;
    return a == FP8_ERR_NONFINITE || b == FP8_ERR_NONFINITE ? FP8_ERR_NONFINITE : FP8_OK;
}

/* dst (cols x rows, packed) = the transpose of src (rows x cols, row stride lds). */
static void transpose_f32(float *dst, const float *src, size_t rows, size_t cols, size_t lds)
{
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++) dst[c * rows + r] = src[r * lds + c];
}

/* Codes and scale grid of a rows x cols quantization with blocks b, transposed into t. */
static void transpose_q(qbuf t, qbuf q, size_t rows, size_t cols, blocks b)
{
    fp8_cpu_kernels_active()->transpose_u8(t.codes, rows, q.codes, cols, rows, cols);
    const size_t grid_rows = fp8_blocks_along(rows, b.rows), grid_cols = fp8_blocks_along(cols, b.k);
    transpose_f32(t.scales, q.scales, grid_rows, grid_cols, grid_cols);
}

/* Quantizes S (rows x cols, lds) with blocks b into q (when given) and S^T (cols x rows) with
 * blocks b into qt (when given), by fp8_linear_route_of's route. h >= 0: one scale per tensor
 * from delayed-scaling history h; `record` feeds this tensor's amax to the history and moves it
 * on, else the scale of the history's last use is reused (the same codes again). */
static fp8_status quantize_operand(fp8_linear *l, const scratch *s, const float *S, size_t rows, size_t cols,
                                   size_t lds, fp8_format fmt, blocks b, int h, bool record, qbuf *q, qbuf *qt)
{
    fp8_quant_config qc = fp8_quant_config_init(fmt, b.rows, b.k);
    qc.scale_mode = l->scale_mode;
    const qbuf tmp = {s->b.tmp_codes, s->b.tmp_scales};
    const qbuf as_is = q != NULL ? *q : tmp;
    const fp8_linear_route route = fp8_linear_route_of(b, q != NULL && qt != NULL, h >= 0);
    fp8_status st = FP8_OK;
    if (h >= 0) {
        float amax;
        if (record) l->used[h] = (fp8_block_scale){l->hist[h].scale, l->hist[h].scale_inv};
        st = fp8_quantize_f32_scaled(&qc, S, rows, cols, lds, l->used[h].scale, as_is.codes, cols, &amax);
        as_is.scales[0] = l->used[h].scale_inv;
        if (record) {
            fp8_amax_history_record(&l->hist[h], amax);
            st = merge(st, fp8_amax_history_update(&l->hist[h]));
        }
    } else if (route == FP8_ROUTE_DUAL) {
        return fp8_quantize_dual_f32(&qc, S, rows, cols, lds, q->codes, cols, q->scales, qt->codes, rows, qt->scales);
    } else if (q != NULL || route == FP8_ROUTE_TRANSPOSE) {
        st = fp8_quantize_f32(&qc, S, rows, cols, lds, as_is.codes, cols, as_is.scales);
    }
    if (qt == NULL || (st != FP8_OK && st != FP8_ERR_NONFINITE)) return st;
    if (route == FP8_ROUTE_TRANSPOSE) { /* transposing the codes and scales is enough */
        transpose_q(*qt, as_is, rows, cols, b);
        return st;
    }
    qc.block_rows = b.k;
    qc.block_cols = b.rows;
    st = merge(st, fp8_quantize_f32(&qc, S, rows, cols, lds, tmp.codes, cols, tmp.scales));
    transpose_q(*qt, tmp, rows, cols, (blocks){b.k, b.rows});
    return st;
}

static fp8_qmatrix qmatrix(qbuf q, size_t rows, size_t cols, fp8_format fmt, blocks b)
{
    return (fp8_qmatrix){q.codes, rows, cols, cols, fmt, q.scales, b.rows, b.k};
}

/* ---- BF16 and FP32 helpers -------------------------------------------------------------------- */

/* dst = BF16 of src (rows x cols, lds): rows x cols at ldd, or its transpose, cols x rows at ldd. */
static void to_bf16(uint16_t *dst, size_t ldd, const float *src, size_t rows, size_t cols, size_t lds, bool transpose)
{
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++) dst[transpose ? c * ldd + r : r * ldd + c] = fp8_linear_bf16_of(src[r * lds + c]);
}

static bool nonfinite_in(const float *x, size_t rows, size_t cols, size_t ld)
{
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++)
            if (!isfinite(x[r * ld + c])) return true;
    return false;
}

/* ---- forward ---------------------------------------------------------------------------------- */

static fp8_status forward_f32(fp8_linear *l, const float *X, size_t ldx, size_t T, const float *W, float *Y,
                              size_t ldy, const scratch *s)
{
    const size_t K = l->K, N = l->N;
    fp8_gemm_config g = l->cfg.gemm;
    g.alpha = 1.0f;
    g.beta = 0.0f;
    fp8_status st = FP8_OK;
    switch (l->cfg.recipe) {
    case FP8_LINEAR_FP32:
        g.accum_bits = 0;
        st = fp8_f32_gemm_f32_ws(&g, T, N, K, X, ldx, W, K, Y, ldy, s->gemm, s->gemm_bytes);
        return merge(st, nonfinite_in(X, T, K, ldx) || nonfinite_in(W, N, K, K) ? FP8_ERR_NONFINITE : FP8_OK);
    case FP8_LINEAR_BF16:
        g.accum_bits = 0;
        to_bf16(s->b.xb, K, X, T, K, ldx, false);
        to_bf16(s->b.wb, K, W, N, K, K, false);
        st = fp8_bf16_gemm_f32_ws(&g, T, N, K, s->b.xb, K, s->b.wb, K, Y, ldy, s->gemm, s->gemm_bytes);
        return merge(st, nonfinite_in(X, T, K, ldx) || nonfinite_in(W, N, K, K) ? FP8_ERR_NONFINITE : FP8_OK);
    default: {
        const bool delayed = l->cfg.recipe == FP8_LINEAR_DELAYED;
        qbuf xq = s->b.xq;
        st = quantize_operand(l, s, W, N, K, K, l->cfg.format, l->weight, delayed ? HIST_W : -1, true, &l->kept.wq, NULL);
        st = merge(st, quantize_operand(l, s, X, T, K, ldx, l->cfg.format, l->act, delayed ? HIST_X : -1, true, &xq,
                                        l->cfg.cache_fp8_input ? &l->kept.xt : NULL));
        if (st != FP8_OK && st != FP8_ERR_NONFINITE) return st;
        const fp8_qmatrix A = qmatrix(xq, T, K, l->cfg.format, l->act), B = qmatrix(l->kept.wq, N, K, l->cfg.format, l->weight);
        return merge(st, fp8_gemm_f32_ws(&g, &A, &B, Y, ldy, s->gemm, s->gemm_bytes));
    }
    }
}

static fp8_status check_call(const fp8_linear *l, size_t T, const void *a, size_t lda, size_t a_cols, const void *b,
                             const void *out, size_t ld_out, size_t out_cols)
{
    FP8_RETURN_IF(l == NULL || T > l->max_tokens, FP8_ERR_INVALID_ARGUMENT);
    FP8_RETURN_IF(T > 0 && (a == NULL || b == NULL || out == NULL), FP8_ERR_INVALID_ARGUMENT);
    FP8_RETURN_IF(lda < a_cols || ld_out < out_cols, FP8_ERR_INVALID_ARGUMENT);
    return FP8_OK;
}

fp8_status fp8_linear_forward(fp8_linear *layer, const float *X, size_t ldx, size_t tokens, const float *W, float *Y,
                              size_t ldy, void *workspace, size_t workspace_bytes)
{
    FP8_FORWARD_IF_ERROR(check_call(layer, tokens, X, ldx, layer ? layer->K : 0, W, Y, ldy, layer ? layer->N : 0));
    scratch s;
    FP8_FORWARD_IF_ERROR(cut_scratch(layer, workspace, workspace_bytes, &s));
    layer->forward_tokens = tokens;
    if (tokens == 0) return FP8_OK;
    return forward_f32(layer, X, ldx, tokens, W, Y, ldy, &s);
}

fp8_status fp8_linear_forward_bf16(fp8_linear *layer, const float *X, size_t ldx, size_t tokens, const float *W,
                                   uint16_t *Y, size_t ldy, void *workspace, size_t workspace_bytes)
{
    FP8_FORWARD_IF_ERROR(check_call(layer, tokens, X, ldx, layer ? layer->K : 0, W, Y, ldy, layer ? layer->N : 0));
    scratch s;
    FP8_FORWARD_IF_ERROR(cut_scratch(layer, workspace, workspace_bytes, &s));
    layer->forward_tokens = tokens;
    if (tokens == 0) return FP8_OK;
    const fp8_status st = forward_f32(layer, X, ldx, tokens, W, s.b.yf, layer->N, &s);
    if (st != FP8_OK && st != FP8_ERR_NONFINITE) return st;
    to_bf16(Y, ldy, s.b.yf, tokens, layer->N, layer->N, false);
    return st;
}

/* ---- backward --------------------------------------------------------------------------------- */

fp8_status fp8_linear_backward(fp8_linear *layer, const float *X, size_t ldx, const float *dY, size_t lddy,
                               size_t tokens, const float *W, float *dX, size_t lddx, float *dW, void *workspace,
                               size_t workspace_bytes)
{
    fp8_linear *l = layer;
    FP8_FORWARD_IF_ERROR(check_call(l, tokens, dY, lddy, l ? l->N : 0, W, dW, l ? l->K : 0, l ? l->K : 0));
    FP8_RETURN_IF(tokens != l->forward_tokens, FP8_ERR_INVALID_ARGUMENT);
    const bool cached = fp8_linear_is_fp8(l->cfg.recipe) && l->cfg.cache_fp8_input;
    FP8_RETURN_IF(tokens > 0 && !cached && (X == NULL || ldx < l->K), FP8_ERR_INVALID_ARGUMENT);
    FP8_RETURN_IF(dX != NULL && lddx < l->K, FP8_ERR_INVALID_ARGUMENT);
    scratch s;
    FP8_FORWARD_IF_ERROR(cut_scratch(l, workspace, workspace_bytes, &s));
    if (tokens == 0) return FP8_OK;
    const size_t K = l->K, N = l->N, T = tokens;
    fp8_gemm_config gx = l->cfg.gemm, gw = l->cfg.gemm;
    gx.alpha = gw.alpha = 1.0f;
    gx.beta = 0.0f;
    gw.beta = 1.0f; /* dW accumulates into the master gradient */
    fp8_status st = FP8_OK;
    switch (l->cfg.recipe) {
    case FP8_LINEAR_FP32:
        gx.accum_bits = gw.accum_bits = 0;
        transpose_f32(s.b.dytf, dY, T, N, lddy);
        transpose_f32(s.b.xtf, X, T, K, ldx);
        if (dX) {
            transpose_f32(s.b.wtf, W, N, K, K);
            st = merge(st, fp8_f32_gemm_f32_ws(&gx, T, K, N, dY, lddy, s.b.wtf, N, dX, lddx, s.gemm, s.gemm_bytes));
        }
        st = merge(st, fp8_f32_gemm_f32_ws(&gw, N, K, T, s.b.dytf, T, s.b.xtf, T, dW, K, s.gemm, s.gemm_bytes));
        return merge(st, nonfinite_in(dY, T, N, lddy) ? FP8_ERR_NONFINITE : FP8_OK);
    case FP8_LINEAR_BF16:
        gx.accum_bits = gw.accum_bits = 0;
        to_bf16(s.b.dyb, N, dY, T, N, lddy, false);
        to_bf16(s.b.dytb, T, dY, T, N, lddy, true);
        to_bf16(s.b.xtb, T, X, T, K, ldx, true);
        if (dX) {
            to_bf16(s.b.wtb, N, W, N, K, K, true);
            st = merge(st, fp8_bf16_gemm_f32_ws(&gx, T, K, N, s.b.dyb, N, s.b.wtb, N, dX, lddx, s.gemm, s.gemm_bytes));
        }
        st = merge(st, fp8_bf16_gemm_f32_ws(&gw, N, K, T, s.b.dytb, T, s.b.xtb, T, dW, K, s.gemm, s.gemm_bytes));
        return merge(st, nonfinite_in(dY, T, N, lddy) ? FP8_ERR_NONFINITE : FP8_OK);
    default: {
        const bool delayed = l->cfg.recipe == FP8_LINEAR_DELAYED;
        const fp8_format gf = l->cfg.grad_format, xf = l->cfg.format;
        st = quantize_operand(l, &s, dY, T, N, lddy, gf, l->act, delayed ? HIST_DY : -1, true, &s.b.dyq, &s.b.dytq);
        if (st != FP8_OK && st != FP8_ERR_NONFINITE) return st;
        if (dX) {
            /* W^T from the forward pass's codes when its blocks are square, else W quantized along N */
            if (fp8_linear_route_of(l->weight, false, false) == FP8_ROUTE_TRANSPOSE)
                transpose_q(s.b.wtq, l->kept.wq, N, K, l->weight);
            else
                st = merge(st, quantize_operand(l, &s, W, N, K, K, xf, l->weight, -1, false, NULL, &s.b.wtq));
            const fp8_qmatrix A = qmatrix(s.b.dyq, T, N, gf, l->act), B = qmatrix(s.b.wtq, K, N, xf, l->weight);
            st = merge(st, fp8_gemm_f32_ws(&gx, &A, &B, dX, lddx, s.gemm, s.gemm_bytes));
        }
        qbuf xt = l->kept.xt;
        if (!cached) { /* X^T along the tokens, from FP32 X (with the forward pass's scale when delayed) */
            xt = s.b.xtq;
            st = merge(st, quantize_operand(l, &s, X, T, K, ldx, xf, l->act, delayed ? HIST_X : -1, false, NULL, &xt));
        }
        const fp8_qmatrix A = qmatrix(s.b.dytq, N, T, gf, l->act), B = qmatrix(xt, K, T, xf, l->act);
        return merge(st, fp8_gemm_f32_ws(&gw, &A, &B, dW, K, s.gemm, s.gemm_bytes));
    }
    }
}

size_t fp8_linear_saved_input_bytes(const fp8_linear *layer, size_t tokens)
{
    return layer == NULL ? 0 : fp8_linear_saved_bytes(&layer->cfg, layer->K, tokens);
}
