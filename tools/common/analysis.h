/* The measurements behind the tools' rows and figures: quantize a matrix with
 * one recipe (format x block shape x scale mode), dequantize it and
 * accumulate its error statistics; or round it to BF16 and do the same. */
#ifndef FP8_TOOLS_ANALYSIS_H
#define FP8_TOOLS_ANALYSIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fp8.h"

/* A block shape as the tools name it: "tensor" (0 x 0), "row" (1 x 0),
 * "column" (0 x 1), "mx32" (1 x 32), or "RxC" (R, C >= 0; 0 = the whole
 * extent), e.g. "1x128", "128x128". */
typedef struct scaling_choice {
    size_t block_rows, block_cols;
    char label[48]; /* the name as given, for the output */
} scaling_choice;

bool scaling_parse(const char *text, scaling_choice *out);

/* "f32", "pow2", "mx"; NULL for an unknown mode. */
const char *scale_mode_name(fp8_scale_mode mode);
bool scale_mode_from_name(const char *name, fp8_scale_mode *mode);

/* BF16 by round to nearest, ties to even; NaN stays NaN (quiet), overflow
 * gives infinity. */
uint16_t bf16_from_f32(float x);

/* Buffers reused from one measurement to the next. Zero-initialize. */
typedef struct analysis_workspace {
    uint8_t *q;
    float *scale_inv, *band;
    uint16_t *bf16;
    float *kept_x; /* the pairs within a limit, packed */
    uint8_t *kept_q;
    size_t q_cap, scale_cap, band_cap, bf16_cap, kept_x_cap, kept_q_cap;
    size_t band_rows; /* of the measurement under way */
} analysis_workspace;
void analysis_workspace_free(analysis_workspace *w);

/* Quantizes x (rows x cols, row-major) with cfg, dequantizes it band by band
 * and adds every (x, dequantized) pair to acc. FP8_OK also for non-finite
 * input (it is counted by the statistics). */
fp8_status analysis_fp8(const float *x, size_t rows, size_t cols, const fp8_quant_config *cfg,
                        analysis_workspace *w, fp8_error_accum *acc);
/* The same with one fixed scale for the whole tensor (q = encode(x * scale),
 * dequantized as decode(q) / scale): delayed scaling, or a plain cast with
 * scale 1; only the pairs with |x| <= limit are added (INFINITY: all, as
 * analysis_fp8_within). */
fp8_status analysis_fp8_scaled(const float *x, size_t rows, size_t cols, fp8_format format, fp8_saturation saturation,
                               float scale, double limit, analysis_workspace *w, fp8_error_accum *acc);
/* Rounds x[0 .. n) to BF16 and adds every (x, BF16) pair to acc. */
fp8_status analysis_bf16(const float *x, size_t n, analysis_workspace *w, fp8_error_accum *acc);

/* The same, adding only the pairs whose |x| <= limit (NaN x too: they are
 * counted as such); the quantization still sees every value. What a tensor's
 * outliers cost the other values: their statistics without the outliers. */
fp8_status analysis_fp8_within(const float *x, size_t rows, size_t cols, const fp8_quant_config *cfg, double limit,
                               analysis_workspace *w, fp8_error_accum *acc);
fp8_status analysis_bf16_within(const float *x, size_t n, double limit, analysis_workspace *w, fp8_error_accum *acc);

#endif
