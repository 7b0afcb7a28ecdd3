#include "analysis.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h" /* FP8_FORWARD_IF_ERROR, fp8_mul_overflows */

/* Dequantization and BF16 rounding go through buffers of about this many values. */
#define BAND_VALUES ((size_t)1 << 16)

bool scaling_parse(const char *text, scaling_choice *out)
{
    static const struct { const char *name; size_t br, bc; } named[] = {
        {"tensor", 0, 0}, {"row", 1, 0}, {"column", 0, 1}, {"mx32", 1, 32}};
    if (strlen(text) >= sizeof out->label) return false;
    for (size_t k = 0; k < sizeof named / sizeof named[0]; k++) {
        if (strcmp(text, named[k].name) == 0) {
            out->block_rows = named[k].br;
            out->block_cols = named[k].bc;
            strcpy(out->label, text);
            return true;
        }
    }
    /* RxC: two decimal numbers */
    char *end;
    if (text[0] < '0' || text[0] > '9') return false;
    const unsigned long long br = strtoull(text, &end, 10);
    if (*end != 'x' || end[1] < '0' || end[1] > '9') return false;
    const unsigned long long bc = strtoull(end + 1, &end, 10);
    if (*end != '\0' || br > SIZE_MAX / 2 || bc > SIZE_MAX / 2) return false;
    out->block_rows = (size_t)br;
    out->block_cols = (size_t)bc;
    strcpy(out->label, text);
    return true;
}

static const char *const mode_names[] = {
    [FP8_SCALE_F32] = "f32", [FP8_SCALE_POW2] = "pow2", [FP8_SCALE_POW2_OCP_MX] = "mx"};

const char *scale_mode_name(fp8_scale_mode mode)
{
    return (unsigned)mode < sizeof mode_names / sizeof mode_names[0] ? mode_names[mode] : NULL;
}

bool scale_mode_from_name(const char *name, fp8_scale_mode *mode)
{
    for (unsigned k = 0; k < sizeof mode_names / sizeof mode_names[0]; k++) {
        if (strcmp(name, mode_names[k]) == 0) {
            *mode = (fp8_scale_mode)k;
            return true;
        }
    }
    return false;
}

/*   FP32 | S | EEEEEEEE | MMMMMMM | MMMMMMMMMMMMMMMM |  ->  BF16 | S | EEEEEEEE | MMMMMMM |
 * Adding 0x7FFF plus the lowest kept bit carries into the kept half exactly
 * when the dropped half is above the midpoint, or at it with an odd kept half;
 * a carry out of the mantissa bumps the exponent (up to infinity). */
uint16_t bf16_from_f32(float x)
{
    uint32_t b;
    memcpy(&b, &x, sizeof b);
    if ((b & 0x7FFFFFFFu) > 0x7F800000u) return (uint16_t)(b >> 16 | 0x0040u); /* NaN: keep it quiet */
    b += 0x7FFFu + (b >> 16 & 1u);
    return (uint16_t)(b >> 16);
}

void analysis_workspace_free(analysis_workspace *w)
{
    free(w->q);
    free(w->scale_inv);
    free(w->band);
    free(w->bf16);
    free(w->kept_x);
    free(w->kept_q);
    memset(w, 0, sizeof *w);
}

/* Grows *buf to hold n elements of `size` bytes. */
static bool reserve(void **buf, size_t *cap, size_t n, size_t size)
{
    if (n <= *cap) return true;
    size_t bytes;
    if (fp8_mul_overflows(n, size, &bytes)) return false;
    void *p = realloc(*buf, bytes);
    if (!p) return false;
    *buf = p;
    *cap = n;
    return true;
}

/* Dequantizes w->q (quantized from x with cfg, scales in w->scale_inv) band by
 * band and adds every (x, dequantized) pair to acc. */
static fp8_status accumulate_bands(const float *x, size_t rows, size_t cols, const fp8_quant_config *cfg, double limit,
                                   analysis_workspace *w, fp8_error_accum *acc)
{
    const size_t scales_per_block_row = fp8_scale_count(1, cols, 1, cfg->block_cols);
    for (size_t r0 = 0; r0 < rows; r0 += w->band_rows) {
        const size_t nr = rows - r0 < w->band_rows ? rows - r0 : w->band_rows;
        const float *scale_inv = w->scale_inv + (cfg->block_rows ? r0 / cfg->block_rows * scales_per_block_row : 0);
        FP8_FORWARD_IF_ERROR(fp8_dequantize_f32(cfg, w->q + r0 * cols, nr, cols, cols, scale_inv, w->band, cols));
        const float *band_x = x + r0 * cols;
        const uint8_t *band_q = w->q + r0 * cols;
        size_t kept = nr * cols;
        if (!isinf(limit)) {
            /* the pairs within the limit, packed to the front (NaN references stay: they are counted) */
            kept = 0;
            for (size_t i = 0; i < nr * cols; i++) {
                if (fabsf(band_x[i]) > limit) continue;
                w->kept_x[kept] = band_x[i], w->kept_q[kept] = band_q[i], w->band[kept] = w->band[i];
                kept++;
            }
            band_x = w->kept_x, band_q = w->kept_q;
        }
        FP8_FORWARD_IF_ERROR(fp8_error_accum_add_fp8(acc, band_x, band_q, cfg->format, w->band, kept));
    }
    return FP8_OK;
}

/* Sizes the workspace for x (rows x cols) under cfg; *n is rows * cols. */
static fp8_status prepare(size_t rows, size_t cols, const fp8_quant_config *cfg, analysis_workspace *w, size_t *n)
{
    if (fp8_mul_overflows(rows, cols, n)) return FP8_ERR_INVALID_ARGUMENT;
    if (*n == 0) return FP8_OK;
    const size_t nscales = fp8_scale_count(rows, cols, cfg->block_rows, cfg->block_cols);
    /* bands of whole block rows, so each band's scales are one contiguous run */
    size_t band_rows = BAND_VALUES / cols ? BAND_VALUES / cols : 1;
    if (cfg->block_rows) band_rows = (band_rows + cfg->block_rows - 1) / cfg->block_rows * cfg->block_rows;
    if (band_rows > rows) band_rows = rows;
    w->band_rows = band_rows;
    if (!reserve((void **)&w->q, &w->q_cap, *n, 1) || !reserve((void **)&w->scale_inv, &w->scale_cap, nscales, sizeof(float)) ||
        !reserve((void **)&w->band, &w->band_cap, band_rows * cols, sizeof(float)) ||
        !reserve((void **)&w->kept_x, &w->kept_x_cap, band_rows * cols, sizeof(float)) ||
        !reserve((void **)&w->kept_q, &w->kept_q_cap, band_rows * cols, 1))
        return FP8_ERR_OUT_OF_MEMORY;
    return FP8_OK;
}

fp8_status analysis_fp8_within(const float *x, size_t rows, size_t cols, const fp8_quant_config *cfg, double limit,
                               analysis_workspace *w, fp8_error_accum *acc)
{
    size_t n;
    FP8_FORWARD_IF_ERROR(prepare(rows, cols, cfg, w, &n));
    if (n == 0) return FP8_OK;
    const fp8_status st = fp8_quantize_f32(cfg, x, rows, cols, cols, w->q, cols, w->scale_inv);
    if (st != FP8_OK && st != FP8_ERR_NONFINITE) return st;
    return accumulate_bands(x, rows, cols, cfg, limit, w, acc);
}

fp8_status analysis_fp8(const float *x, size_t rows, size_t cols, const fp8_quant_config *cfg,
                        analysis_workspace *w, fp8_error_accum *acc)
{
    return analysis_fp8_within(x, rows, cols, cfg, INFINITY, w, acc);
}

fp8_status analysis_fp8_scaled(const float *x, size_t rows, size_t cols, fp8_format format, fp8_saturation saturation,
                               float scale, double limit, analysis_workspace *w, fp8_error_accum *acc)
{
    fp8_quant_config cfg = fp8_quant_config_init(format, 0, 0);
    cfg.saturation = saturation;
    size_t n;
    float amax;
    FP8_FORWARD_IF_ERROR(prepare(rows, cols, &cfg, w, &n));
    if (n == 0) return FP8_OK;
    const fp8_status st = fp8_quantize_f32_scaled(&cfg, x, rows, cols, cols, scale, w->q, cols, &amax);
    if (st != FP8_OK && st != FP8_ERR_NONFINITE) return st;
    w->scale_inv[0] = 1.0f / scale;
    return accumulate_bands(x, rows, cols, &cfg, limit, w, acc);
}

fp8_status analysis_bf16_within(const float *x, size_t n, double limit, analysis_workspace *w, fp8_error_accum *acc)
{
    const size_t band = n < BAND_VALUES ? n : BAND_VALUES;
    if (!reserve((void **)&w->bf16, &w->bf16_cap, band, sizeof(uint16_t)) ||
        !reserve((void **)&w->kept_x, &w->kept_x_cap, band, sizeof(float)))
        return FP8_ERR_OUT_OF_MEMORY;
    for (size_t i0 = 0; i0 < n; i0 += BAND_VALUES) {
        const size_t m = n - i0 < BAND_VALUES ? n - i0 : BAND_VALUES;
        const float *band_x = x + i0;
        size_t kept = 0;
        if (isinf(limit)) {
            for (; kept < m; kept++) w->bf16[kept] = bf16_from_f32(band_x[kept]);
        } else {
            for (size_t i = 0; i < m; i++) {
                if (fabsf(band_x[i]) > limit) continue;
                w->kept_x[kept] = band_x[i];
                w->bf16[kept++] = bf16_from_f32(band_x[i]);
            }
            band_x = w->kept_x;
        }
        FP8_FORWARD_IF_ERROR(fp8_error_accum_add_bf16(acc, band_x, w->bf16, kept));
    }
    return FP8_OK;
}

fp8_status analysis_bf16(const float *x, size_t n, analysis_workspace *w, fp8_error_accum *acc)
{
    return analysis_bf16_within(x, n, INFINITY, w, acc);
}
