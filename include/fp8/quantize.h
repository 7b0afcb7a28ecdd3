/* libfp8: scaled quantization of matrices to FP8, from per-tensor to 1x128
 * tiles, 128x128 blocks and OCP MX, plus delayed (amax-history) scaling.
 *
 * A matrix is row-major: element (r, c) of x is x[r * ldx + c], ld >= cols.
 * It is cut into blocks of block_rows x block_cols (0 means the whole
 * extent); partial blocks at the edges are ordinary blocks. Each block b
 * gets a scale s_b that maps its largest finite magnitude (amax) onto the
 * format's range, and
 *
 *     q[r][c] = encode(x[r][c] * s_b)           (the product in FP32)
 *     x[r][c] ~= decode(q[r][c]) * scale_inv[b]
 *
 * scale_inv is row-major [ceil(rows/br)][ceil(cols/bc)]: the layout of
 * `weight_scale_inv` in DeepSeek-V3's FP8 checkpoints. Common shapes:
 *     (0, 0) per tensor    (1, 0) per row      (0, 1) per column
 *     (1, 128) 1x128 tiles (128, 128) blocks   (1, 32) OCP MX
 * Any other positive shape works too.
 *
 * Non-finite input: everything is still written (NaN codes for NaN, Inf per
 * the saturation mode, each block's scale from its finite values) and the
 * call returns FP8_ERR_NONFINITE, so training code can skip the step.
 * Invalid arguments (NULL, ld < cols, unknown enums, sizes that overflow)
 * return FP8_ERR_INVALID_ARGUMENT before anything is written.
 *
 * Results do not depend on the CPU path, the thread count or the caller's
 * floating-point environment. Thread safety: all functions are reentrant;
 * fp8_amax_history functions must not be called concurrently on one history. */
#ifndef FP8_QUANTIZE_H
#define FP8_QUANTIZE_H

#include <stddef.h>
#include <stdint.h>
#include "fp8/api.h"
#include "fp8/format.h"
#include "fp8/status.h"

FP8_BEGIN_DECLS

typedef enum fp8_scale_mode {
    /* scale = fmax / amax, scale_inv = amax / fmax, each one correctly rounded FP32 division */
    FP8_SCALE_F32 = 0,
    /* scale = the largest power of two with amax * scale <= fmax: nothing saturates
       (Transformer Engine, torchao, DeepGEMM's UE8M0 scales) */
    FP8_SCALE_POW2 = 1,
    /* OCP MX v1.0: scale_inv = 2^(floor(log2 amax) - emax), emax the element format's largest
       exponent (8 for E4M3, 15 for E5M2); values may saturate */
    FP8_SCALE_POW2_OCP_MX = 2
} fp8_scale_mode;

typedef struct fp8_quant_config {
    fp8_format format;
    fp8_saturation saturation;
    size_t block_rows, block_cols; /* 0 = the whole extent */
    fp8_scale_mode scale_mode;
    /* A block's amax is raised to at least this (and always to at least fmax * 2^-126,
       so scales stay finite and normal): all-zero and tiny blocks give finite scales. */
    float amax_floor;
} fp8_quant_config;

/* Defaults: the given format and block shape, FP8_SATFINITE, FP8_SCALE_F32
 * (FP8_SCALE_POW2_OCP_MX for 1x32 blocks), amax_floor 1e-12. */
FP8_API fp8_quant_config fp8_quant_config_init(fp8_format fmt, size_t block_rows, size_t block_cols);

/* Number of scales: ceil(rows/br) * ceil(cols/bc) with 0 meaning the whole
 * extent; 0 when rows or cols is 0 or the product overflows. */
FP8_API size_t fp8_scale_count(size_t rows, size_t cols, size_t block_rows, size_t block_cols);

FP8_API fp8_status fp8_quantize_f32(const fp8_quant_config *cfg, const float *x, size_t rows, size_t cols,
                                    size_t ldx, uint8_t *q, size_t ldq, float *scale_inv);
/* The same from BF16 input (raw bits). */
FP8_API fp8_status fp8_quantize_bf16(const fp8_quant_config *cfg, const uint16_t *x, size_t rows, size_t cols,
                                     size_t ldx, uint8_t *q, size_t ldq, float *scale_inv);
/* x = decode(q) * scale_inv of its block (the product in FP32). */
FP8_API fp8_status fp8_dequantize_f32(const fp8_quant_config *cfg, const uint8_t *q, size_t rows, size_t cols,
                                      size_t ldq, const float *scale_inv, float *x, size_t ldx);

/* Stochastic rounding: as fp8_quantize_f32, with each element rounded as
 * fp8_encode_f32_sr does, element (r, c) using random index offset + r * cols + c. */
FP8_API fp8_status fp8_quantize_f32_sr(const fp8_quant_config *cfg, const float *x, size_t rows, size_t cols,
                                       size_t ldx, uint8_t *q, size_t ldq, float *scale_inv, uint64_t seed,
                                       uint64_t offset);

/* The fused dual-orientation pass for the weight-gradient GEMM: from one read
 * of x (rows x cols), writes x in 1 x bc tiles (q: rows x cols, scale_inv
 * [rows][ceil(cols/bc)]) and x^T in 1 x bc tiles (qt: cols x rows, ldqt >= rows,
 * scale_inv_t [cols][ceil(rows/bc)]), i.e. x's bc x 1 tiles, transposed.
 * cfg->block_rows must be 1 and cfg->block_cols = bc > 0. Each output is byte
 * for byte what fp8_quantize_f32 gives for x and for x^T. */
FP8_API fp8_status fp8_quantize_dual_f32(const fp8_quant_config *cfg, const float *x, size_t rows, size_t cols,
                                         size_t ldx, uint8_t *q, size_t ldq, float *scale_inv, uint8_t *qt,
                                         size_t ldqt, float *scale_inv_t);

/* MX storage: power-of-two scale_inv values <-> E8M0 bytes (2^(v - 127)).
 * FP8_ERR_INVALID_ARGUMENT, with nothing written, if a value is not a power
 * of two in [2^-127, 2^127]. */
FP8_API fp8_status fp8_scales_to_e8m0(uint8_t *e8m0, const float *scale_inv, size_t n);
FP8_API fp8_status fp8_scales_from_e8m0(float *scale_inv, const uint8_t *e8m0, size_t n);

/* ---- per-tensor delayed scaling (Transformer Engine's DelayedScaling) ----
 * The scale used in step t comes from the amaxes of earlier steps:
 *   1. quantize with the current scale: fp8_quantize_f32_scaled(..., h->scale, ..., &amax);
 *   2. fp8_amax_history_record(h, amax);
 *   3. once per step, fp8_amax_history_update(h): amax = max over the history (FP8_AMAX_MAX)
 *      or the latest (FP8_AMAX_MOST_RECENT); scale = fmax * 2^-margin / amax if amax is
 *      finite and positive, else the last good scale is kept (and FP8_ERR_NONFINITE is
 *      returned for a non-finite amax); scale_inv = 1 / scale; then the history rolls.
 * This is TE's amax_and_scale_update: history[0] is the slot the current step
 * records into, and each update moves it to the end and clears it. */
typedef enum fp8_amax_compute { FP8_AMAX_MAX = 0, FP8_AMAX_MOST_RECENT = 1 } fp8_amax_compute;

typedef struct fp8_amax_history {
    float *amax;           /* caller-owned buffer of `length` floats */
    size_t length;
    fp8_format format;
    fp8_amax_compute algo;
    float margin;
    float scale, scale_inv; /* the scale in force; 1 until the first good update */
} fp8_amax_history;

FP8_API fp8_status fp8_amax_history_init(fp8_amax_history *h, float *buffer, size_t length, fp8_format fmt,
                                         fp8_amax_compute algo, float margin);
/* history[0] = max(history[0], amax); a NaN amax is kept (it poisons the update, as in TE). */
FP8_API fp8_status fp8_amax_history_record(fp8_amax_history *h, float amax);
FP8_API fp8_status fp8_amax_history_update(fp8_amax_history *h);

/* Per-tensor quantization with a given scale (delayed scaling): q = encode(x * scale),
 * *amax_out = the largest finite |x| (for the history). cfg's block shape is ignored. */
FP8_API fp8_status fp8_quantize_f32_scaled(const fp8_quant_config *cfg, const float *x, size_t rows, size_t cols,
                                           size_t ldx, float scale, uint8_t *q, size_t ldq, float *amax_out);

FP8_END_DECLS

#endif /* FP8_QUANTIZE_H */
