/* libfp8: FP8 linear layers on the device (fp8/cuda.h), the CPU layer's
 * semantics (libfp8/linear/linear.c) with device matrices.
 *
 * The recipe logic is the CPU layer's, from linear/recipe.h: the blocks of
 * each recipe, the route by which each transposed operand is made (the
 * fused dual pass, a transpose of codes and scale grid, or a quantization
 * with swapped blocks), and the carving plan of the state and the workspace,
 * here cutting device memory. The quantizations are the fp8_cuda_quantize_*
 * functions (the CPU's bytes); the GEMMs cuBLASLt's or the own mma kernel's.
 *
 * Delayed scaling lives on the device: each history has its amax buffer in
 * the state and a DelayedScale record (the scale in force and the one the
 * step used). A step quantizes with the scale in force read on the device,
 * records its amax with atomicMax, then one thread rolls the history and
 * computes the next scale as fp8_amax_history_update does. No step waits.
 *
 * Non-finite reports: every fp8_cuda_quantize_* call clears the flag it is
 * given, so each producer of a call gets its own slot in the workspace; the
 * caller's flag is the OR of the slots, written last. */
#include <math.h>
#include <stdlib.h>

#include "cuda/encode.cuh"
#include "cuda/internal.cuh"
#include "linear/recipe.h"
#include "quantize/scale.h"

namespace fp8_cuda {
namespace {

const unsigned kThreads = 256;
const unsigned kFlagSlots = 8; /* more than the quantizations of one call */
const size_t kDenseAlign = 8;  /* BF16 and FP32 recipes: cuBLASLt's 16-byte rows, in elements */

/* One delayed-scaling history's scales (device). */
struct DelayedScale {
    float scale, scale_inv;           /* in force: 1 until the first good update */
    float used_scale, used_scale_inv; /* what this step's quantization used */
    uint32_t amax_bits;               /* this step's amax, |x| as FP32 bits */
};

} // namespace
} // namespace fp8_cuda

struct fp8_cuda_linear {
    fp8_linear_config cfg;
    size_t K, N, max_tokens, forward_tokens;
    fp8_linear_blocks act, weight;
    fp8_scale_mode scale_mode;
    fp8_cuda_gemm *gemm;
    fp8_linear_kept kept;               /* device: W, X^T, histories */
    fp8_cuda::DelayedScale *delayed;     /* device: FP8_LINEAR_HIST_COUNT records */
    float numerator[FP8_LINEAR_HIST_COUNT]; /* fmax * 2^-margin: scale = numerator / amax */
};

namespace fp8_cuda {
namespace {

typedef fp8_linear_qbuf qbuf;
typedef fp8_linear_blocks blocks;

void plan_state(fp8_carver *c, fp8_linear_kept *kept, DelayedScale **delayed, const fp8_linear_config *cfg, size_t K,
                size_t N, size_t T)
{
    fp8_linear_plan_kept(c, kept, cfg, K, N, T);
    *delayed = cfg->recipe == FP8_LINEAR_DELAYED
                   ? (DelayedScale *)fp8_carve(c, FP8_LINEAR_HIST_COUNT, sizeof(DelayedScale))
                   : NULL;
}

struct Scratch {
    fp8_linear_scratch b;
    int *flags; /* kFlagSlots */
};

void plan_scratch(fp8_carver *c, const fp8_cuda_linear *l, Scratch *s)
{
    fp8_linear_plan_scratch(c, &s->b, &l->cfg, l->K, l->N, l->max_tokens);
    s->flags = (int *)fp8_carve(c, kFlagSlots, sizeof(int));
}

/* One forward or backward call: its scratch, stream and non-finite slots. */
struct Call {
    fp8_cuda_linear *l;
    Scratch s;
    cudaStream_t stream;
    bool report; /* the caller wants the non-finite flag */
    unsigned slots;
    fp8_cuda_gemm_config overwrite, accumulate; /* the dense GEMMs: beta 0, beta 1 (dW) */
};

int *next_slot(Call &c) { return c.report && c.slots < kFlagSlots ? c.s.flags + c.slots++ : NULL; }

__global__ void or_flags_kernel(int *out, const int *slots, unsigned n)
{
    int any = 0;
    for (unsigned i = 0; i < n; i++) any |= slots[i] != 0;
    *out = any;
}

/* ---- delayed scaling on the device ---- */

/* The step's scale is the one in force; the amax starts at 0. */
__global__ void delayed_begin_kernel(DelayedScale *d)
{
    d->used_scale = d->scale;
    d->used_scale_inv = d->scale_inv;
    d->amax_bits = 0;
}

/* q = encode(x * used_scale) (the product in FP32), per-tensor scale_inv = used_scale_inv;
 * amax_bits (NULL: not recorded) receives the largest finite |x|. */
__global__ void __launch_bounds__(kThreads)
delayed_quantize_kernel(const float *x, size_t rows, size_t cols, size_t ldx, const DelayedScale *d, uint8_t *q,
                        size_t ldq, float *scale_inv, uint32_t *amax_bits, int *nonfinite, Encoder enc)
{
    const float scale = d->used_scale;
    const size_t runs_per_row = ceil_div(cols, 4), runs = rows * runs_per_row;
    uint32_t amax = 0;
    bool bad = false;
    for (size_t i = grid_first(); i < runs; i += grid_stride()) {
        const size_t r = i / runs_per_row, c = (i - r * runs_per_row) * 4;
        const unsigned count = cols - c < 4 ? (unsigned)(cols - c) : 4u;
        uint32_t v[4];
        load4<F32Source>(x + r * ldx + c, count, false, v); /* missing elements load as 0 */
        amax_update(v, amax, bad);
        scale4(v, scale);
        store_codes4(q + r * ldq + c, count, false, encode4(enc, v, 0));
    }
    amax = warp_max(amax);
    bad = __any_sync(0xFFFFFFFFu, bad);
    if (threadIdx.x % 32 == 0) {
        if (amax_bits != NULL && amax != 0) atomicMax(amax_bits, amax);
        if (bad && nonfinite != NULL) *nonfinite = 1;
    }
    if (grid_first() == 0) *scale_inv = d->used_scale_inv;
}

/* fp8_amax_history_record then fp8_amax_history_update, on one thread. */
__global__ void delayed_end_kernel(DelayedScale *d, float *history, size_t length, fp8_amax_compute algo,
                                   float numerator)
{
    const float step_amax = __uint_as_float(d->amax_bits);
    if (!isnan(history[0]) && !(step_amax <= history[0])) history[0] = step_amax;
    const float latest = history[0];
    float amax = latest;
    if (algo == FP8_AMAX_MAX)
        for (size_t i = 1; i < length; i++)
            if (!isnan(amax) && !(history[i] <= amax)) amax = history[i]; /* a NaN wins */
    for (size_t i = 0; i + 1 < length; i++) history[i] = history[i + 1];
    history[length - 1] = latest;
    history[0] = 0.0f;
    if (isfinite(amax) && amax > 0.0f) {
        d->scale = __fdiv_rn(numerator, amax);
        d->scale_inv = __fdiv_rn(1.0f, d->scale);
    }
}

/* ---- quantized operands ---- */

/* Codes and scale grid of a rows x cols quantization with blocks b, transposed into t. */
fp8_status transpose_q(qbuf t, qbuf q, size_t rows, size_t cols, blocks b, cudaStream_t s)
{
    FP8_FORWARD_IF_ERROR(transpose_codes(t.codes, rows, q.codes, cols, rows, cols, s));
    const size_t grid_rows = fp8_blocks_along(rows, b.rows), grid_cols = fp8_blocks_along(cols, b.k);
    return copy_f32(t.scales, grid_rows, q.scales, grid_cols, grid_rows, grid_cols, true, NULL, s);
}

/* linear.c's quantize_operand on the device: S (rows x cols, lds) with blocks b into q (when
 * given) and S^T into qt (when given). h >= 0: delayed scaling with history h; `record` moves
 * the history on, else the step's scale is used again. */
fp8_status quantize_operand(Call &c, const float *S, size_t rows, size_t cols, size_t lds, fp8_format fmt, blocks b,
                            int h, bool record, const qbuf *q, const qbuf *qt)
{
    fp8_cuda_linear *l = c.l;
    const cudaStream_t s = c.stream;
    fp8_quant_config qc = fp8_quant_config_init(fmt, b.rows, b.k);
    qc.scale_mode = l->scale_mode;
    const qbuf tmp = {c.s.b.tmp_codes, c.s.b.tmp_scales};
    const qbuf as_is = q != NULL ? *q : tmp;
    const fp8_linear_route route = fp8_linear_route_of(b, q != NULL && qt != NULL, h >= 0);
    if (h >= 0) {
        DelayedScale *d = l->delayed + h;
        if (record) {
            delayed_begin_kernel<<<1, 1, 0, s>>>(d);
            FP8_FORWARD_IF_ERROR(launched("delayed_begin_kernel"));
        }
        delayed_quantize_kernel<<<grid_for(rows * ceil_div(cols, 4), kThreads), kThreads, 0, s>>>(
            S, rows, cols, lds, d, as_is.codes, cols, as_is.scales, record ? &d->amax_bits : NULL, next_slot(c),
            make_encoder(fmt, qc.saturation, false, 0));
        FP8_FORWARD_IF_ERROR(launched("delayed_quantize_kernel"));
        if (record) {
            delayed_end_kernel<<<1, 1, 0, s>>>(d, l->kept.history + h * l->cfg.amax_history_len,
                                               l->cfg.amax_history_len, l->cfg.amax_compute, l->numerator[h]);
            FP8_FORWARD_IF_ERROR(launched("delayed_end_kernel"));
        }
    } else if (route == FP8_ROUTE_DUAL) {
        return fp8_cuda_quantize_dual_f32(&qc, S, rows, cols, lds, q->codes, cols, q->scales, qt->codes, rows,
                                          qt->scales, next_slot(c), s);
    } else if (q != NULL || route == FP8_ROUTE_TRANSPOSE) {
        FP8_FORWARD_IF_ERROR(
            fp8_cuda_quantize_f32(&qc, S, rows, cols, lds, as_is.codes, cols, as_is.scales, next_slot(c), s));
    }
    if (qt == NULL) return FP8_OK;
    if (route == FP8_ROUTE_TRANSPOSE) return transpose_q(*qt, as_is, rows, cols, b, s);
    qc.block_rows = b.k;
    qc.block_cols = b.rows;
    FP8_FORWARD_IF_ERROR(fp8_cuda_quantize_f32(&qc, S, rows, cols, lds, tmp.codes, cols, tmp.scales, next_slot(c), s));
    const blocks swapped = {b.k, b.rows};
    return transpose_q(*qt, tmp, rows, cols, swapped, s);
}

fp8_qmatrix qmatrix(qbuf q, size_t rows, size_t cols, fp8_format fmt, blocks b)
{
    fp8_qmatrix m = {q.codes, rows, cols, cols, fmt, q.scales, b.rows, b.k};
    return m;
}

/* D = A B^T + beta D: cuBLASLt when it takes the pair and the promotion interval is its own
 * (the default 128), else the own mma kernel with the layer's promote_interval. */
fp8_status fp8_product(const Call &c, const fp8_qmatrix &A, const fp8_qmatrix &B, float beta, float *D, size_t ldd)
{
    fp8_gemm_config g = c.l->cfg.gemm;
    g.alpha = 1.0f;
    g.beta = beta;
    if (g.promote_interval == fp8_gemm_config_init().promote_interval) {
        fp8_cuda_gemm_config lc = fp8_cuda_gemm_config_init();
        lc.beta = beta;
        const fp8_status st = fp8_cuda_gemm_f32(c.l->gemm, &lc, &A, &B, D, ldd, c.stream);
        if (st != FP8_ERR_UNSUPPORTED) return st;
    }
    return fp8_cuda_gemm_mma_f32(&g, &A, &B, D, ldd, c.stream);
}

/* ---- forward ---- */

fp8_status forward_f32(Call &c, const float *X, size_t ldx, size_t T, const float *W, float *Y, size_t ldy)
{
    fp8_cuda_linear *l = c.l;
    const size_t K = l->K, N = l->N;
    const cudaStream_t s = c.stream;
    const fp8_linear_scratch &b = c.s.b;
    switch (l->cfg.recipe) {
    case FP8_LINEAR_FP32: {
        int *flag = next_slot(c);
        if (flag != NULL) {
            FP8_FORWARD_IF_ERROR(find_nonfinite_f32(X, ldx, T, K, flag, s));
            FP8_FORWARD_IF_ERROR(find_nonfinite_f32(W, K, N, K, flag, s));
        }
        return dense_gemm(l->gemm, &c.overwrite, T, N, K, CUDA_R_32F, X, ldx, W, K, CUDA_R_32F, Y, ldy, s);
    }
    case FP8_LINEAR_BF16: {
        int *flag = next_slot(c);
        FP8_FORWARD_IF_ERROR(round_to_bf16(b.xb, K, X, ldx, T, K, false, flag, s));
        FP8_FORWARD_IF_ERROR(round_to_bf16(b.wb, K, W, K, N, K, false, flag, s));
        return dense_gemm(l->gemm, &c.overwrite, T, N, K, CUDA_R_16BF, b.xb, K, b.wb, K, CUDA_R_32F, Y, ldy, s);
    }
    default: {
        const bool delayed = l->cfg.recipe == FP8_LINEAR_DELAYED;
        const fp8_format f = l->cfg.format;
        FP8_FORWARD_IF_ERROR(quantize_operand(c, W, N, K, K, f, l->weight, delayed ? FP8_LINEAR_HIST_W : -1, true,
                                              &l->kept.wq, NULL));
        FP8_FORWARD_IF_ERROR(quantize_operand(c, X, T, K, ldx, f, l->act, delayed ? FP8_LINEAR_HIST_X : -1, true,
                                              &b.xq, l->cfg.cache_fp8_input ? &l->kept.xt : NULL));
        return fp8_product(c, qmatrix(b.xq, T, K, f, l->act), qmatrix(l->kept.wq, N, K, f, l->weight), 0.0f, Y, ldy);
    }
    }
}

bool dense(const fp8_cuda_linear *l) { return !fp8_linear_is_fp8(l->cfg.recipe); }

/* The CPU layer's checks of a call, then the workspace, then cuBLASLt's rows for the dense recipes. */
fp8_status check_call(const fp8_cuda_linear *l, size_t T, const void *a, size_t lda, size_t a_cols, const void *b,
                      const void *out, size_t ld_out, size_t out_cols, const void *workspace, size_t workspace_bytes)
{
    FP8_RETURN_IF(l == NULL || T > l->max_tokens, FP8_ERR_INVALID_ARGUMENT);
    FP8_RETURN_IF(T > 0 && (a == NULL || b == NULL || out == NULL), FP8_ERR_INVALID_ARGUMENT);
    FP8_RETURN_IF(lda < a_cols || ld_out < out_cols, FP8_ERR_INVALID_ARGUMENT);
    FP8_RETURN_IF(workspace == NULL || workspace_bytes < fp8_cuda_linear_workspace_size(l), FP8_ERR_INVALID_ARGUMENT);
    return FP8_OK;
}

fp8_status check_dense_rows(const fp8_cuda_linear *l, size_t T, size_t ld1, size_t ld2, size_t ld3)
{
    if (!dense(l) || (T % kDenseAlign == 0 && ld1 % 4 == 0 && ld2 % 4 == 0 && ld3 % 4 == 0)) return FP8_OK;
    return fail_text(FP8_ERR_UNSUPPORTED, "fp8_cuda_linear",
                     "the BF16 and FP32 recipes need tokens a multiple of 8 and leading dimensions of 4");
}

Call start_call(fp8_cuda_linear *l, void *workspace, int *nonfinite, void *stream)
{
    Call c;
    c.l = l;
    fp8_carver carver = fp8_carver_at(workspace, 0);
    plan_scratch(&carver, l, &c.s);
    c.stream = stream_of(stream);
    c.report = nonfinite != NULL;
    c.slots = 0;
    c.overwrite = c.accumulate = fp8_cuda_gemm_config_init();
    c.accumulate.beta = 1.0f;
    return c;
}

/* The caller's flag from the slots (all clear at the start, each set or cleared by its producer). */
fp8_status finish_call(Call &c, fp8_status st, int *nonfinite)
{
    FP8_FORWARD_IF_ERROR(st);
    if (nonfinite == NULL) return FP8_OK;
    or_flags_kernel<<<1, 1, 0, c.stream>>>(nonfinite, c.s.flags, c.slots);
    return launched("or_flags_kernel");
}

fp8_status begin_flags(Call &c)
{
    if (c.report) FP8_CUDA_TRY(cudaMemsetAsync(c.s.flags, 0, kFlagSlots * sizeof(int), c.stream));
    return FP8_OK;
}

fp8_status backward(Call &c, const float *X, size_t ldx, const float *dY, size_t lddy, size_t T, const float *W,
                    float *dX, size_t lddx, float *dW)
{
    fp8_cuda_linear *l = c.l;
    const size_t K = l->K, N = l->N;
    const cudaStream_t s = c.stream;
    const fp8_linear_scratch &b = c.s.b;
    switch (l->cfg.recipe) {
    case FP8_LINEAR_FP32: {
        int *flag = next_slot(c);
        FP8_FORWARD_IF_ERROR(copy_f32(b.dytf, T, dY, lddy, T, N, true, flag, s));
        FP8_FORWARD_IF_ERROR(copy_f32(b.xtf, T, X, ldx, T, K, true, NULL, s));
        if (dX != NULL) {
            FP8_FORWARD_IF_ERROR(copy_f32(b.wtf, N, W, K, N, K, true, NULL, s));
            FP8_FORWARD_IF_ERROR(
                dense_gemm(l->gemm, &c.overwrite, T, K, N, CUDA_R_32F, dY, lddy, b.wtf, N, CUDA_R_32F, dX, lddx, s));
        }
        return dense_gemm(l->gemm, &c.accumulate, N, K, T, CUDA_R_32F, b.dytf, T, b.xtf, T, CUDA_R_32F, dW, K, s);
    }
    case FP8_LINEAR_BF16: {
        int *flag = next_slot(c);
        FP8_FORWARD_IF_ERROR(round_to_bf16(b.dyb, N, dY, lddy, T, N, false, flag, s));
        FP8_FORWARD_IF_ERROR(round_to_bf16(b.dytb, T, dY, lddy, T, N, true, NULL, s));
        FP8_FORWARD_IF_ERROR(round_to_bf16(b.xtb, T, X, ldx, T, K, true, NULL, s));
        if (dX != NULL) {
            FP8_FORWARD_IF_ERROR(round_to_bf16(b.wtb, N, W, K, N, K, true, NULL, s));
            FP8_FORWARD_IF_ERROR(
                dense_gemm(l->gemm, &c.overwrite, T, K, N, CUDA_R_16BF, b.dyb, N, b.wtb, N, CUDA_R_32F, dX, lddx, s));
        }
        return dense_gemm(l->gemm, &c.accumulate, N, K, T, CUDA_R_16BF, b.dytb, T, b.xtb, T, CUDA_R_32F, dW, K, s);
    }
    default: {
        const bool delayed = l->cfg.recipe == FP8_LINEAR_DELAYED, cached = l->cfg.cache_fp8_input != 0;
        const fp8_format gf = l->cfg.grad_format, xf = l->cfg.format;
        FP8_FORWARD_IF_ERROR(quantize_operand(c, dY, T, N, lddy, gf, l->act, delayed ? FP8_LINEAR_HIST_DY : -1, true,
                                              &b.dyq, &b.dytq));
        if (dX != NULL) {
            /* W^T from the forward pass's codes when its blocks are square, else W quantized along N */
            if (fp8_linear_route_of(l->weight, false, false) == FP8_ROUTE_TRANSPOSE)
                FP8_FORWARD_IF_ERROR(transpose_q(b.wtq, l->kept.wq, N, K, l->weight, s));
            else
                FP8_FORWARD_IF_ERROR(quantize_operand(c, W, N, K, K, xf, l->weight, -1, false, NULL, &b.wtq));
            FP8_FORWARD_IF_ERROR(fp8_product(c, qmatrix(b.dyq, T, N, gf, l->act), qmatrix(b.wtq, K, N, xf, l->weight),
                                             0.0f, dX, lddx));
        }
        qbuf xt = l->kept.xt;
        if (!cached) { /* X^T along the tokens, from FP32 X (with the forward pass's scale when delayed) */
            xt = b.xtq;
            FP8_FORWARD_IF_ERROR(
                quantize_operand(c, X, T, K, ldx, xf, l->act, delayed ? FP8_LINEAR_HIST_X : -1, false, NULL, &xt));
        }
        return fp8_product(c, qmatrix(b.dytq, N, T, gf, l->act), qmatrix(xt, K, T, xf, l->act), 1.0f, dW, K);
    }
    }
}

} // namespace
} // namespace fp8_cuda

using namespace fp8_cuda;

extern "C" {

size_t fp8_cuda_linear_state_size(const fp8_linear_config *cfg, size_t in_features, size_t out_features,
                                  size_t max_tokens)
{
    if (!fp8_linear_config_valid(cfg)) return 0;
    fp8_linear_kept kept;
    DelayedScale *delayed;
    fp8_carver c = {NULL, 0, false};
    plan_state(&c, &kept, &delayed, cfg, in_features, out_features, max_tokens);
    return c.overflow ? 0 : c.used + 64;
}

fp8_status fp8_cuda_linear_create(fp8_cuda_linear **layer, const fp8_linear_config *cfg, size_t in_features,
                                  size_t out_features, size_t max_tokens, fp8_cuda_gemm *gemm, void *device_state,
                                  size_t device_state_bytes)
{
    FP8_RETURN_IF(layer == NULL || gemm == NULL || device_state == NULL || !fp8_linear_config_valid(cfg),
                  FP8_ERR_INVALID_ARGUMENT);
    FP8_RETURN_IF(in_features == 0 || out_features == 0 || max_tokens == 0, FP8_ERR_INVALID_ARGUMENT);
    const size_t need = fp8_cuda_linear_state_size(cfg, in_features, out_features, max_tokens);
    FP8_RETURN_IF(need == 0 || device_state_bytes < need, FP8_ERR_INVALID_ARGUMENT);
    fp8_cuda_linear probe;
    probe.cfg = *cfg;
    probe.K = in_features, probe.N = out_features, probe.max_tokens = max_tokens;
    FP8_RETURN_IF(fp8_cuda_linear_workspace_size(&probe) == 0, FP8_ERR_INVALID_ARGUMENT);
    if (fp8_linear_is_fp8(cfg->recipe) && (cfg->gemm.accum_bits != 0 || cfg->gemm.promote_interval % 32 != 0))
        return fail_text(FP8_ERR_UNSUPPORTED, "fp8_cuda_linear_create",
                         "the GPU accumulates in its tensor cores: accum_bits must be 0 and promote_interval a "
                         "multiple of 32");
    if (!fp8_linear_is_fp8(cfg->recipe) && (in_features % kDenseAlign != 0 || out_features % kDenseAlign != 0))
        return fail_text(FP8_ERR_UNSUPPORTED, "fp8_cuda_linear_create",
                         "the BF16 and FP32 recipes need in_features and out_features multiples of 8");

    fp8_cuda_linear *l = static_cast<fp8_cuda_linear *>(calloc(1, sizeof *l));
    FP8_RETURN_IF(l == NULL, FP8_ERR_OUT_OF_MEMORY);
    l->cfg = *cfg;
    l->K = in_features, l->N = out_features, l->max_tokens = max_tokens;
    l->act = fp8_linear_activation_blocks(cfg->recipe);
    l->weight = fp8_linear_weight_blocks(cfg->recipe);
    l->scale_mode = fp8_linear_scale_mode(cfg);
    l->gemm = gemm;
    fp8_carver c = fp8_carver_at(device_state, 0);
    plan_state(&c, &l->kept, &l->delayed, cfg, in_features, out_features, max_tokens);
    if (l->delayed != NULL) {
        const fp8_format formats[FP8_LINEAR_HIST_COUNT] = {cfg->format, cfg->format, cfg->grad_format};
        DelayedScale init[FP8_LINEAR_HIST_COUNT];
        for (int h = 0; h < FP8_LINEAR_HIST_COUNT; h++) {
            const float fmax = fp8_scale_rule_of(fp8_format_params_of(formats[h]), FP8_SCALE_F32, 0.0f).fmax;
            l->numerator[h] = fmax * exp2f(-cfg->margin); /* as fp8_amax_history_update: (fmax * 2^-m) / amax */
            init[h].scale = init[h].scale_inv = init[h].used_scale = init[h].used_scale_inv = 1.0f;
            init[h].amax_bits = 0;
        }
        const size_t history_bytes = FP8_LINEAR_HIST_COUNT * cfg->amax_history_len * sizeof(float);
        cudaError_t e = cudaMemset(l->kept.history, 0, history_bytes);
        if (e == cudaSuccess) e = cudaMemcpy(l->delayed, init, sizeof init, cudaMemcpyHostToDevice);
        if (e != cudaSuccess) {
            free(l);
            return fail(e, "fp8_cuda_linear_create");
        }
    }
    *layer = l;
    return FP8_OK;
}

void fp8_cuda_linear_destroy(fp8_cuda_linear *layer) { free(layer); }

size_t fp8_cuda_linear_workspace_size(const fp8_cuda_linear *layer)
{
    if (layer == NULL) return 0;
    Scratch s;
    fp8_carver c = {NULL, 0, false};
    plan_scratch(&c, layer, &s);
    return c.overflow ? 0 : c.used + 64;
}

fp8_status fp8_cuda_linear_forward(fp8_cuda_linear *layer, const float *X, size_t ldx, size_t tokens, const float *W,
                                   float *Y, size_t ldy, void *workspace, size_t workspace_bytes, int *nonfinite,
                                   void *stream)
{
    fp8_cuda_linear *l = layer;
    FP8_FORWARD_IF_ERROR(check_call(l, tokens, X, ldx, l ? l->K : 0, W, Y, ldy, l ? l->N : 0, workspace,
                                    workspace_bytes));
    FP8_FORWARD_IF_ERROR(check_dense_rows(l, tokens, ldx, ldy, 4));
    Call c = start_call(l, workspace, nonfinite, stream);
    l->forward_tokens = tokens;
    FP8_FORWARD_IF_ERROR(begin_flags(c));
    return finish_call(c, tokens == 0 ? FP8_OK : forward_f32(c, X, ldx, tokens, W, Y, ldy), nonfinite);
}

fp8_status fp8_cuda_linear_forward_bf16(fp8_cuda_linear *layer, const float *X, size_t ldx, size_t tokens,
                                        const float *W, uint16_t *Y, size_t ldy, void *workspace,
                                        size_t workspace_bytes, int *nonfinite, void *stream)
{
    fp8_cuda_linear *l = layer;
    FP8_FORWARD_IF_ERROR(check_call(l, tokens, X, ldx, l ? l->K : 0, W, Y, ldy, l ? l->N : 0, workspace,
                                    workspace_bytes));
    FP8_FORWARD_IF_ERROR(check_dense_rows(l, tokens, ldx, 4, 4));
    Call c = start_call(l, workspace, nonfinite, stream);
    l->forward_tokens = tokens;
    FP8_FORWARD_IF_ERROR(begin_flags(c));
    fp8_status st = FP8_OK;
    if (tokens > 0) { /* FP32 Y in the workspace, then rounded as the CPU rounds it */
        st = forward_f32(c, X, ldx, tokens, W, c.s.b.yf, l->N);
        if (st == FP8_OK) st = round_to_bf16(Y, ldy, c.s.b.yf, l->N, tokens, l->N, false, NULL, c.stream);
    }
    return finish_call(c, st, nonfinite);
}

fp8_status fp8_cuda_linear_backward(fp8_cuda_linear *layer, const float *X, size_t ldx, const float *dY, size_t lddy,
                                    size_t tokens, const float *W, float *dX, size_t lddx, float *dW, void *workspace,
                                    size_t workspace_bytes, int *nonfinite, void *stream)
{
    fp8_cuda_linear *l = layer;
    FP8_FORWARD_IF_ERROR(check_call(l, tokens, dY, lddy, l ? l->N : 0, W, dW, l ? l->K : 0, l ? l->K : 0, workspace,
                                    workspace_bytes));
    FP8_RETURN_IF(tokens != l->forward_tokens, FP8_ERR_INVALID_ARGUMENT);
    const bool cached = fp8_linear_is_fp8(l->cfg.recipe) && l->cfg.cache_fp8_input;
    FP8_RETURN_IF(tokens > 0 && !cached && (X == NULL || ldx < l->K), FP8_ERR_INVALID_ARGUMENT);
    FP8_RETURN_IF(dX != NULL && lddx < l->K, FP8_ERR_INVALID_ARGUMENT);
    FP8_FORWARD_IF_ERROR(check_dense_rows(l, tokens, ldx, lddy, dX != NULL ? lddx : 4));
    Call c = start_call(l, workspace, nonfinite, stream);
    FP8_FORWARD_IF_ERROR(begin_flags(c));
    return finish_call(c, tokens == 0 ? FP8_OK : backward(c, X, ldx, dY, lddy, tokens, W, dX, lddx, dW), nonfinite);
}

size_t fp8_cuda_linear_saved_input_bytes(const fp8_cuda_linear *layer, size_t tokens)
{
    return layer == NULL ? 0 : fp8_linear_saved_bytes(&layer->cfg, layer->K, tokens);
}

} // extern "C"
