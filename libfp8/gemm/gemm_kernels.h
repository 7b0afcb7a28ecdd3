/* libfp8 internal: the GEMM's packed operands and its kernels, one table per
 * instruction set (as cpu/kernels.h for the conversions: the scalar table
 * is the reference, an ISA table overrides what it optimizes).
 *
 * The driver (gemm/gemm.c) packs A in slivers of MR rows and B in slivers of
 * NR rows, FP32, k-major: sliver[k * width + i] = operand[row0 + i][k0 + k],
 * rows past the matrix zero; it transposes the codes (FP8 or BF16) and then
 * decodes the whole sliver. A tile kernel then computes one MR x NR block of
 * D from one sliver of each. */
#ifndef FP8_GEMM_KERNELS_H
#define FP8_GEMM_KERNELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpu/kernels.h"
#include "fp8/gemm.h"

#define FP8_GEMM_MR 6  /* rows of A per tile: 6 x 2 accumulator registers of 8 lanes */
#define FP8_GEMM_NR 16 /* rows of B (columns of D) per tile */
#define FP8_GEMM_MAX_MMA_K 64 /* keeps a group's fixed-point sum below 2^31 */
#define FP8_GEMM_PACK_SLACK 16 /* bytes a pack kernel may write past its output (and then overwrite) */

/* The emulated accumulator (docs/gemm.md); bits 0 means FP32. */
typedef struct fp8_accumulator_model {
    unsigned bits;
    unsigned mma_k;
    fp8_accum_model model;
} fp8_accumulator_model;

/* One tile: D[i][j] (i < MR, j < NR, row stride ldd) accumulates kc
 * products from the slivers a (kc x MR) and b (kc x NR). The kc products are
 * cut into segments of `segment` (the last may be shorter); after each, its
 * sum is promoted: d = fma(sum, a_scale[s][i] * b_scale[s][j], d), with
 * scale rows of MR and NR floats per segment s. When `first`, d starts from
 * beta * D (+0 when beta == 0, without reading D). */
typedef struct fp8_gemm_tile {
    size_t kc, segment;
    const float *a, *b;
    const float *a_scale, *b_scale;
    float *d;
    size_t ldd;
    bool first;
    float beta;
    fp8_accumulator_model accumulator;
} fp8_gemm_tile;

typedef struct fp8_gemm_kernels {
    fp8_cpu_isa isa;
    /* FP32 accumulation: sum = fma(a, b, sum) in k order. */
    void (*tile_f32)(const fp8_gemm_tile *t);
    /* The accumulator emulator. */
    void (*tile_emulated)(const fp8_gemm_tile *t);
    /* src: `rows` rows of kc elements of elem_size bytes (1, 2 or 4), row stride ld
     * elements -> dst: kc x width, k-major (rows <= width; rows past `rows` zero).
     * width is MR or NR; dst has FP8_GEMM_PACK_SLACK bytes to spare at its end. */
    void (*pack)(void *dst, const void *src, size_t ld, size_t rows, size_t width, size_t kc, size_t elem_size);
    /* The conversions of the same instruction set, for decoding while packing. */
    const fp8_cpu_kernels *convert;
} fp8_gemm_kernels;

extern const fp8_gemm_kernels fp8_gemm_kernels_scalar;
#if defined(FP8_HAVE_AVX2_KERNELS)
extern const fp8_gemm_kernels fp8_gemm_kernels_avx2;
#endif

/* The scalar kernels by name, for ISA tables to fall back on. */
void fp8_gemm_scalar_tile_emulated(const fp8_gemm_tile *t);
void fp8_gemm_scalar_pack(void *dst, const void *src, size_t ld, size_t rows, size_t width, size_t kc,
                          size_t elem_size);

#endif /* FP8_GEMM_KERNELS_H */
