/* libfp8: FP8 linear layers (see fp8/linear.h).
 *
 * Every recipe is a choice of blocks for the two kinds of GEMM operand,
 * activations (X, dY) and weights (W), along each GEMM's K dimension. An
 * operand used transposed (W^T in dX = dY W; dY^T and X^T in dW = dY^T X)
 * comes from the same FP32 matrix S in one of three ways, cheapest first:
 *   - the fused dual-orientation pass, for 1 x b activation tiles;
 *   - transposing S's codes and scale grid, when S's blocks are square
 *     (128 x 128, or the whole tensor): no re-quantization;
 *   - quantizing S with the blocks swapped, then transposing (rowwise, MX).
 * Memory: the layer lives in the caller's state buffer, every call's
 * scratch in the caller's workspace, both cut by the same carving plan that
 * sizes them. */
#include <math.h>
#include <string.h>
#include <strings.h>

#include "fp8/linear.h"

#include "convert/reference.h"
#include "core/internal.h"
#include "core/shape.h"
#include "cpu/kernels.h"
#include "quantize/scale.h"

typedef struct blocks {
    size_t rows, k; /* along the operand's rows and its K; 0 = whole extent */
} blocks;

typedef struct qbuf {
    uint8_t *codes;
    float *scales;
} qbuf;

enum { HIST_X, HIST_W, HIST_DY, HIST_COUNT };

struct fp8_linear {
    fp8_linear_config cfg;
    size_t K, N, max_tokens;
    blocks act, weight;
    fp8_scale_mode scale_mode;
    /* from the forward pass, for the backward pass */
    qbuf wq;         /* FP8 recipes: W (N x K) as quantized for the forward GEMM */
    qbuf xt;         /* cache_fp8_input: X^T (K x tokens) */
    size_t forward_tokens;
    fp8_amax_history hist[HIST_COUNT];
    fp8_block_scale used[HIST_COUNT]; /* DELAYED: the scale of each tensor's last quantization */
};

static bool is_fp8(fp8_linear_recipe r) { return r <= FP8_LINEAR_MX; }

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

static blocks activation_blocks(fp8_linear_recipe r)
{
    switch (r) {
    case FP8_LINEAR_DEEPSEEK: return (blocks){1, 128};
    case FP8_LINEAR_ROWWISE: return (blocks){1, 0};
    case FP8_LINEAR_MX: return (blocks){1, 32};
    default: return (blocks){0, 0};
    }
}

static blocks weight_blocks(fp8_linear_recipe r)
{
    return r == FP8_LINEAR_DEEPSEEK ? (blocks){128, 128} : activation_blocks(r);
}

static bool config_valid(const fp8_linear_config *c)
{
    return c != NULL && (unsigned)c->recipe <= (unsigned)FP8_LINEAR_FP32 && fp8_format_valid(c->format) &&
           fp8_format_valid(c->grad_format) && (c->recipe != FP8_LINEAR_DELAYED || c->amax_history_len > 0) &&
           c->gemm.accum_bits <= 24 && c->margin > -128.0f && c->margin < 128.0f &&
           (unsigned)c->amax_compute <= (unsigned)FP8_AMAX_MOST_RECENT;
}

/* ---- memory plans ---------------------------------------------------------------------------
 * A carver hands out 64-byte aligned pieces of one buffer; with no buffer it only adds up sizes,
 * so one plan both sizes a buffer and cuts it. */
typedef struct carver {
    unsigned char *base;
    size_t used;
    bool overflow;
} carver;

static void *carve(carver *c, size_t count, size_t elem_size)
{
    size_t bytes, at = (c->used + 63) / 64 * 64;
    if (fp8_mul_overflows(count, elem_size, &bytes) || at < c->used || __builtin_add_overflow(at, bytes, &c->used))
        c->overflow = true;
    return c->base != NULL && !c->overflow ? c->base + at : NULL;
}

static qbuf carve_q(carver *c, size_t rows, size_t cols, blocks b)
{
    qbuf q;
    q.codes = carve(c, rows * cols, 1);
    q.scales = carve(c, rows && cols ? fp8_scale_count(rows, cols, b.rows, b.k) : 1, sizeof(float));
    return q;
}

/* What the layer keeps (after the struct itself). */
static void plan_state(carver *c, fp8_linear *l, const fp8_linear_config *cfg, size_t K, size_t N, size_t T)
{
    const blocks act = activation_blocks(cfg->recipe), w = weight_blocks(cfg->recipe);
    qbuf none = {NULL, NULL};
    l->wq = is_fp8(cfg->recipe) ? carve_q(c, N, K, w) : none;
    l->xt = is_fp8(cfg->recipe) && cfg->cache_fp8_input ? carve_q(c, K, T, act) : none;
    float *history = cfg->recipe == FP8_LINEAR_DELAYED ? carve(c, HIST_COUNT * cfg->amax_history_len, sizeof(float)) : NULL;
    for (int h = 0; h < HIST_COUNT; h++) l->hist[h].amax = history ? history + h * cfg->amax_history_len : NULL;
}

size_t fp8_linear_state_size(const fp8_linear_config *cfg, size_t in_features, size_t out_features, size_t max_tokens)
{
    if (!config_valid(cfg)) return 0;
    fp8_linear scratch;
    carver c = {NULL, sizeof(fp8_linear) + 64, false};
    plan_state(&c, &scratch, cfg, in_features, out_features, max_tokens);
    return c.overflow ? 0 : c.used + 64;
}

fp8_status fp8_linear_init(fp8_linear **layer, void *state, size_t state_bytes, const fp8_linear_config *cfg,
                           size_t in_features, size_t out_features, size_t max_tokens)
{
    FP8_RETURN_IF(layer == NULL || state == NULL || !config_valid(cfg), FP8_ERR_INVALID_ARGUMENT);
    FP8_RETURN_IF(in_features == 0 || out_features == 0 || max_tokens == 0, FP8_ERR_INVALID_ARGUMENT);
    const size_t need = fp8_linear_state_size(cfg, in_features, out_features, max_tokens);
    FP8_RETURN_IF(need == 0 || state_bytes < need, FP8_ERR_INVALID_ARGUMENT);
    unsigned char *base = (unsigned char *)state + ((size_t)-(uintptr_t)state & 63u);
    fp8_linear *l = (fp8_linear *)base;
    memset(l, 0, sizeof *l);
    carver c = {base, sizeof(fp8_linear), false};
    plan_state(&c, l, cfg, in_features, out_features, max_tokens);
    l->cfg = *cfg;
    l->K = in_features;
    l->N = out_features;
    l->max_tokens = max_tokens;
    l->act = activation_blocks(cfg->recipe);
    l->weight = weight_blocks(cfg->recipe);
    l->scale_mode = cfg->recipe == FP8_LINEAR_MX ? FP8_SCALE_POW2_OCP_MX : cfg->pow2_scales ? FP8_SCALE_POW2 : FP8_SCALE_F32;
    if (cfg->recipe == FP8_LINEAR_DELAYED) {
        const fp8_format formats[HIST_COUNT] = {cfg->format, cfg->format, cfg->grad_format};
        for (int h = 0; h < HIST_COUNT; h++)
            FP8_FORWARD_IF_ERROR(fp8_amax_history_init(&l->hist[h], l->hist[h].amax, cfg->amax_history_len, formats[h],
                                                       cfg->amax_compute, cfg->margin));
    }
    *layer = l;
    return FP8_OK;
}

/* Scratch of one call. Every field any recipe needs; unused ones stay NULL/empty in size. */
typedef struct scratch {
    qbuf xq, dyq, dytq, wtq, xtq; /* X, dY, dY^T, W^T, X^T (when not cached) */
    uint8_t *tmp_codes;           /* a quantization with swapped blocks, before its transpose */
    float *tmp_scales;
    uint16_t *xb, *wb, *dyb, *wtb, *dytb, *xtb; /* BF16 */
    float *wtf, *dytf, *xtf, *yf;          /* FP32: transposes; an FP32 Y for the BF16-output forward */
    void *gemm;
    size_t gemm_bytes;
} scratch;

static void plan_scratch(carver *c, const fp8_linear *l, size_t T, scratch *s)
{
    const size_t K = l->K, N = l->N, big = K * N > K * T ? (K * N > N * T ? K * N : N * T) : (K * T > N * T ? K * T : N * T);
    memset(s, 0, sizeof *s);
    switch (l->cfg.recipe) {
    case FP8_LINEAR_FP32:
        s->wtf = carve(c, K * N, sizeof(float));
        s->dytf = carve(c, N * T, sizeof(float));
        s->xtf = carve(c, K * T, sizeof(float));
        break;
    case FP8_LINEAR_BF16:
        s->xb = carve(c, T * K, sizeof(uint16_t));
        s->dyb = carve(c, T * N, sizeof(uint16_t));
        s->wb = carve(c, N * K, sizeof(uint16_t));
        s->wtb = carve(c, K * N, sizeof(uint16_t));
        s->dytb = carve(c, N * T, sizeof(uint16_t));
        s->xtb = carve(c, K * T, sizeof(uint16_t));
        break;
    default:
        s->xq = carve_q(c, T, K, l->act);
        s->dyq = carve_q(c, T, N, l->act);
        s->dytq = carve_q(c, N, T, l->act);
        s->wtq = carve_q(c, K, N, l->weight);
        s->xtq = carve_q(c, K, T, l->act);
        s->tmp_codes = carve(c, big, 1);
        s->tmp_scales = carve(c, big, sizeof(float)); /* at most one scale per element */
        break;
    }
    s->yf = carve(c, T * N, sizeof(float));
    /* the GEMMs: Y (T x N x K), dX (T x K x N), dW (N x K x T) */
    const fp8_gemm_config *g = &l->cfg.gemm;
    fp8_gemm_config plain = *g;
    if (!is_fp8(l->cfg.recipe)) plain.accum_bits = 0;
    size_t bytes = fp8_gemm_workspace_size(&plain, T, N, K), b2 = fp8_gemm_workspace_size(&plain, T, K, N),
           b3 = fp8_gemm_workspace_size(&plain, N, K, T);
    bytes = bytes > b2 ? bytes : b2;
    bytes = bytes > b3 ? bytes : b3;
    s->gemm = carve(c, bytes, 1);
    s->gemm_bytes = bytes;
}

size_t fp8_linear_workspace_size(const fp8_linear *layer)
{
    if (layer == NULL) return 0;
    scratch s;
    carver c = {NULL, 0, false};
    plan_scratch(&c, layer, layer->max_tokens, &s);
    return c.overflow ? 0 : c.used + 64;
}

static fp8_status cut_scratch(const fp8_linear *l, void *workspace, size_t bytes, scratch *s)
{
    FP8_RETURN_IF(workspace == NULL || bytes < fp8_linear_workspace_size(l), FP8_ERR_INVALID_ARGUMENT);
    carver c = {(unsigned char *)workspace + ((size_t)-(uintptr_t)workspace & 63u), 0, false};
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

static bool square(blocks b) { return b.rows == b.k; }

/* Quantizes S (rows x cols, lds) with blocks b into q (when given) and S^T (cols x rows) with
 * blocks b into qt (when given); see the file comment for how S^T is made. h >= 0: one scale per
 * tensor from delayed-scaling history h; `record` feeds this tensor's amax to the history and
 * moves it on, else the scale of the history's last use is reused (the same codes again). */
static fp8_status quantize_operand(fp8_linear *l, const scratch *s, const float *S, size_t rows, size_t cols,
                                   size_t lds, fp8_format fmt, blocks b, int h, bool record, qbuf *q, qbuf *qt)
{
    fp8_quant_config qc = fp8_quant_config_init(fmt, b.rows, b.k);
    qc.scale_mode = l->scale_mode;
    const qbuf tmp = {s->tmp_codes, s->tmp_scales};
    const qbuf as_is = q != NULL ? *q : tmp;
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
    } else if (q != NULL && qt != NULL && b.rows == 1 && b.k >= 1 && b.k <= 256) {
        return fp8_quantize_dual_f32(&qc, S, rows, cols, lds, q->codes, cols, q->scales, qt->codes, rows, qt->scales);
    } else if (q != NULL || square(b)) {
        st = fp8_quantize_f32(&qc, S, rows, cols, lds, as_is.codes, cols, as_is.scales);
    }
    if (qt == NULL || (st != FP8_OK && st != FP8_ERR_NONFINITE)) return st;
    if (square(b)) { /* transposing the codes and scales is enough */
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

static uint16_t bf16_of(float x) /* round to nearest even; NaN stays NaN */
{
    const uint32_t u = fp8_f32_bits(x);
    if ((u & 0x7FFFFFFFu) > 0x7F800000u) return (uint16_t)((u >> 16) | 0x40u);
    return (uint16_t)((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);
}

/* dst = BF16 of src (rows x cols, lds): rows x cols at ldd, or its transpose, cols x rows at ldd. */
static void to_bf16(uint16_t *dst, size_t ldd, const float *src, size_t rows, size_t cols, size_t lds, bool transpose)
{
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++) dst[transpose ? c * ldd + r : r * ldd + c] = bf16_of(src[r * lds + c]);
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
        to_bf16(s->xb, K, X, T, K, ldx, false);
        to_bf16(s->wb, K, W, N, K, K, false);
        st = fp8_bf16_gemm_f32_ws(&g, T, N, K, s->xb, K, s->wb, K, Y, ldy, s->gemm, s->gemm_bytes);
        return merge(st, nonfinite_in(X, T, K, ldx) || nonfinite_in(W, N, K, K) ? FP8_ERR_NONFINITE : FP8_OK);
    default: {
        const bool delayed = l->cfg.recipe == FP8_LINEAR_DELAYED;
        qbuf xq = s->xq;
        st = quantize_operand(l, s, W, N, K, K, l->cfg.format, l->weight, delayed ? HIST_W : -1, true, &l->wq, NULL);
        st = merge(st, quantize_operand(l, s, X, T, K, ldx, l->cfg.format, l->act, delayed ? HIST_X : -1, true, &xq,
                                        l->cfg.cache_fp8_input ? &l->xt : NULL));
        if (st != FP8_OK && st != FP8_ERR_NONFINITE) return st;
        const fp8_qmatrix A = qmatrix(xq, T, K, l->cfg.format, l->act), B = qmatrix(l->wq, N, K, l->cfg.format, l->weight);
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
    const fp8_status st = forward_f32(layer, X, ldx, tokens, W, s.yf, layer->N, &s);
    if (st != FP8_OK && st != FP8_ERR_NONFINITE) return st;
    to_bf16(Y, ldy, s.yf, tokens, layer->N, layer->N, false);
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
    const bool cached = is_fp8(l->cfg.recipe) && l->cfg.cache_fp8_input;
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
        transpose_f32(s.dytf, dY, T, N, lddy);
        transpose_f32(s.xtf, X, T, K, ldx);
        if (dX) {
            transpose_f32(s.wtf, W, N, K, K);
            st = merge(st, fp8_f32_gemm_f32_ws(&gx, T, K, N, dY, lddy, s.wtf, N, dX, lddx, s.gemm, s.gemm_bytes));
        }
        st = merge(st, fp8_f32_gemm_f32_ws(&gw, N, K, T, s.dytf, T, s.xtf, T, dW, K, s.gemm, s.gemm_bytes));
        return merge(st, nonfinite_in(dY, T, N, lddy) ? FP8_ERR_NONFINITE : FP8_OK);
    case FP8_LINEAR_BF16:
        gx.accum_bits = gw.accum_bits = 0;
        to_bf16(s.dyb, N, dY, T, N, lddy, false);
        to_bf16(s.dytb, T, dY, T, N, lddy, true);
        to_bf16(s.xtb, T, X, T, K, ldx, true);
        if (dX) {
            to_bf16(s.wtb, N, W, N, K, K, true);
            st = merge(st, fp8_bf16_gemm_f32_ws(&gx, T, K, N, s.dyb, N, s.wtb, N, dX, lddx, s.gemm, s.gemm_bytes));
        }
        st = merge(st, fp8_bf16_gemm_f32_ws(&gw, N, K, T, s.dytb, T, s.xtb, T, dW, K, s.gemm, s.gemm_bytes));
        return merge(st, nonfinite_in(dY, T, N, lddy) ? FP8_ERR_NONFINITE : FP8_OK);
    default: {
        const bool delayed = l->cfg.recipe == FP8_LINEAR_DELAYED;
        const fp8_format gf = l->cfg.grad_format, xf = l->cfg.format;
        st = quantize_operand(l, &s, dY, T, N, lddy, gf, l->act, delayed ? HIST_DY : -1, true, &s.dyq, &s.dytq);
        if (st != FP8_OK && st != FP8_ERR_NONFINITE) return st;
        if (dX) {
            /* W^T from the forward pass's codes when its blocks are square, else W quantized along N */
            if (square(l->weight))
                transpose_q(s.wtq, l->wq, N, K, l->weight);
            else
                st = merge(st, quantize_operand(l, &s, W, N, K, K, xf, l->weight, -1, false, NULL, &s.wtq));
            const fp8_qmatrix A = qmatrix(s.dyq, T, N, gf, l->act), B = qmatrix(s.wtq, K, N, xf, l->weight);
            st = merge(st, fp8_gemm_f32_ws(&gx, &A, &B, dX, lddx, s.gemm, s.gemm_bytes));
        }
        qbuf xt = l->xt;
        if (!cached) { /* X^T along the tokens, from FP32 X (with the forward pass's scale when delayed) */
            xt = s.xtq;
            st = merge(st, quantize_operand(l, &s, X, T, K, ldx, xf, l->act, delayed ? HIST_X : -1, false, NULL, &xt));
        }
        const fp8_qmatrix A = qmatrix(s.dytq, N, T, gf, l->act), B = qmatrix(xt, K, T, xf, l->act);
        return merge(st, fp8_gemm_f32_ws(&gw, &A, &B, dW, K, s.gemm, s.gemm_bytes));
    }
    }
}

size_t fp8_linear_saved_input_bytes(const fp8_linear *layer, size_t tokens)
{
    if (layer == NULL || !is_fp8(layer->cfg.recipe) || !layer->cfg.cache_fp8_input) return 0;
    return tokens * layer->K + fp8_scale_count(layer->K, tokens, layer->act.rows, layer->act.k) * sizeof(float);
}
