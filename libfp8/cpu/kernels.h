/* libfp8 internal: the table of CPU kernels, one per instruction set.
 * The scalar table is the reference; an ISA table points every entry it does
 * not optimize at the scalar kernel (BLIS: reference first, then overrides).
 * Kernels get validated arguments and never fail. They run under the
 * default floating-point environment (round to nearest, no FTZ/DAZ): callers
 * enter it with core/fpenv.h, once per thread and call. */
#ifndef FP8_CPU_KERNELS_H
#define FP8_CPU_KERNELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/internal.h"
#include "fp8/cpu.h"

/* Widest tile of the fused dual-orientation pass (kernels stage a tile on the stack). */
#define FP8_DUAL_MAX_TILE 256

/* The pending last lines of output rows that are written in consecutive segments (q's rows tile
 * after tile, qt's rows strip after strip) with non-temporal stores, which only pay on whole
 * lines: a segment that ends inside a line leaves those bytes here, unwritten, when `out`, and
 * the next segment, seeing `in`, completes the line with its first bytes and streams it whole.
 * 64 bytes per row; rows less aligned than their segments keep every line whole this way. */
typedef struct fp8_row_carry {
    uint8_t *lines;
    bool in, out;
} fp8_row_carry;

/* One h x w tile (h, w <= FP8_DUAL_MAX_TILE) of the fused dual-orientation pass: FP32 rows ldx
 * apart, its row-wise codes q (rows ldq apart) and its column-wise codes qt, transposed (row c of
 * qt holds column c of the tile; rows ldqt apart), with the carries of q's h rows and of qt's w
 * rows when streaming. */
typedef struct fp8_dual_tile {
    const float *x;
    size_t ldx, h, w;
    uint8_t *q;
    size_t ldq;
    uint8_t *qt;
    size_t ldqt;
    fp8_row_carry q_carry, qt_carry;
} fp8_dual_tile;

/* A row segment that a scaled encode reads along the way for its amax, as amax_f32 (amax_bf16 for
 * BF16; the encode's element type) would over it: amax[g] = max(amax[g], the largest finite |x[i]|)
 * per group g of `group` elements, *nonfinite set for a NaN or infinity. Quantization passes the
 * next chunk's row, so that reading it from memory overlaps the encode's arithmetic. */
typedef struct fp8_amax_along {
    const void *x;
    size_t n, group;
    uint32_t *amax;
    bool *nonfinite;
} fp8_amax_along;

typedef struct fp8_cpu_kernels {
    fp8_cpu_isa isa;
    void (*encode_f32)(uint8_t *dst, const float *src, size_t n, const fp8_format_params *p, fp8_saturation sat);
    void (*encode_f16)(uint8_t *dst, const uint16_t *src, size_t n, const fp8_format_params *p, fp8_saturation sat);
    void (*encode_bf16)(uint8_t *dst, const uint16_t *src, size_t n, const fp8_format_params *p, fp8_saturation sat);
    /* Element i uses fp8_sr_bits for index offset + i. */
    void (*encode_f32_sr)(uint8_t *dst, const float *src, size_t n, const fp8_format_params *p, fp8_saturation sat,
                          uint64_t seed, uint64_t offset);
    void (*decode_f32)(float *dst, const uint8_t *src, size_t n, const fp8_format_params *p);
    void (*decode_f16)(uint16_t *dst, const uint8_t *src, size_t n, const fp8_format_params *p);
    void (*decode_bf16)(uint16_t *dst, const uint8_t *src, size_t n, const fp8_format_params *p);

    /* Quantization. q[i] = encode(x[i] * scale[i / scale_group]), the product in FP32:
     * scale_group 1 gives a scale per element, >= n one scale, bc one per block of bc.
     * prefetch_bytes: how far ahead of the element being read to prefetch (the data the
     * caller reads next), 0 for no prefetching. stream: q will not be read back before it leaves
     * the caches, so non-temporal stores are welcome where q is aligned for them; the caller
     * fences them (stream_fence) after its last call, as quantization encodes many short rows and
     * a fence after each cost more than the rows (128 x 128 blocks ran at half speed). along:
     * NULL, or a row segment to find the amax of on the way (see fp8_amax_along); its results are
     * as if it were read before the encode. */
    void (*scaled_encode_f32)(uint8_t *q, const float *x, size_t n, const float *scale, size_t scale_group,
                              const fp8_format_params *p, fp8_saturation sat, size_t prefetch_bytes, bool stream,
                              const fp8_amax_along *along);
    void (*scaled_encode_bf16)(uint8_t *q, const uint16_t *x, size_t n, const float *scale, size_t scale_group,
                               const fp8_format_params *p, fp8_saturation sat, size_t prefetch_bytes, bool stream,
                               const fp8_amax_along *along);
    /* The least input, in bytes, that quantization gives these kernels per chunk of blocks (see
     * quantize.c): small where scaled_encode_* reads `along` inside its loop, so that the next
     * chunk's rows lie close ahead, yet with rows long enough for the L2 streamer to follow (four
     * 128 x 128 blocks of FP32: 2 KiB rows); large where it reads it after the encode, from lines
     * the encode prefetched (long runs for the prefetchers). */
    size_t quant_chunk_min_bytes;
    /* Stochastic rounding of x[i] * scale with the random bits of index first_index + i. */
    void (*scaled_encode_f32_sr)(uint8_t *q, const float *x, size_t n, float scale, const fp8_format_params *p,
                                 fp8_saturation sat, uint64_t seed, uint64_t first_index);
    /* x[i] = decode(q[i]) * scale_inv, the product in FP32. stream: as scaled_encode_f32's, for x
     * (the caller fences). */
    void (*scaled_decode_f32)(float *x, const uint8_t *q, size_t n, float scale_inv, const fp8_format_params *p,
                              bool stream);
    /* amax[g] = max(amax[g], the largest finite |x[i]| as FP32 bits) over each group g of `group`
     * consecutive elements (group 1: per element; group >= n: one group); sets *nonfinite when an
     * element is NaN or infinite. */
    void (*amax_f32)(const float *x, size_t n, size_t group, uint32_t *amax, bool *nonfinite);
    void (*amax_bf16)(const uint16_t *x, size_t n, size_t group, uint32_t *amax, bool *nonfinite);
    /* The fused dual-orientation pass, per tile (see fp8_dual_tile): row_amax[r] and col_amax[c] as
     * amax_f32 over row r and over column c (both overwritten), from one read; sets *nonfinite when
     * an element is NaN or infinite. */
    void (*dual_amax_f32)(const fp8_dual_tile *t, uint32_t *row_amax, uint32_t *col_amax, bool *nonfinite);
    /* Then, from one load of each element, q[r * ldq + c] = encode(x[r * ldx + c] * row_scale[r]) and
     * qt[c * ldqt + r] = encode(x[r * ldx + c] * col_scale[c]). finite: the tile holds no NaN or
     * infinity (dual_amax_f32 said so). Prefetches prefetch_bytes ahead of each row of x; stream:
     * the outputs will not be read soon, non-temporal stores are welcome, and the tile's carries
     * are honoured (kernels without such stores, the scalar ones, write every byte and leave the
     * carries alone). */
    void (*dual_encode_f32)(const fp8_dual_tile *t, const float *row_scale, const float *col_scale,
                            const fp8_format_params *p, fp8_saturation sat, bool finite, size_t prefetch_bytes,
                            bool stream);
    /* n codes from src (in L1) to d, a piece of row `row` of the carry's rows (fp8_row_carry): with
     * stream, whole lines go out with non-temporal stores and partial ones through the carry; the
     * caller fences (stream_fence). Kernels without such stores write every byte and leave the
     * carry alone. */
    void (*write_piece)(uint8_t *d, const uint8_t *src, size_t n, bool stream, const fp8_row_carry *carry,
                        size_t row);
    /* Orders the non-temporal stores that this thread's scaled encodes and decodes and write_piece
     * left unfenced before its later stores (sfence); nothing where kernels have no such stores. */
    void (*stream_fence)(void);
    /* dst[c * ldd + r] = src[r * lds + c] for r < rows, c < cols. */
    void (*transpose_u8)(uint8_t *dst, size_t ldd, const uint8_t *src, size_t lds, size_t rows, size_t cols);
} fp8_cpu_kernels;

extern const fp8_cpu_kernels fp8_cpu_kernels_scalar;
#if defined(FP8_HAVE_AVX2_KERNELS)
extern const fp8_cpu_kernels fp8_cpu_kernels_avx2;
extern const fp8_cpu_kernels fp8_cpu_kernels_avx512;
#endif

/* The kernels of the active ISA (see fp8/cpu.h). */
const fp8_cpu_kernels *fp8_cpu_kernels_active(void);

/* The scalar kernels by name, for ISA tables to fall back on and to finish tails. */
void fp8_scalar_encode_f32(uint8_t *dst, const float *src, size_t n, const fp8_format_params *p, fp8_saturation sat);
void fp8_scalar_encode_f16(uint8_t *dst, const uint16_t *src, size_t n, const fp8_format_params *p,
                           fp8_saturation sat);
void fp8_scalar_encode_bf16(uint8_t *dst, const uint16_t *src, size_t n, const fp8_format_params *p,
                            fp8_saturation sat);
void fp8_scalar_encode_f32_sr(uint8_t *dst, const float *src, size_t n, const fp8_format_params *p,
                              fp8_saturation sat, uint64_t seed, uint64_t offset);
void fp8_scalar_decode_f32(float *dst, const uint8_t *src, size_t n, const fp8_format_params *p);
void fp8_scalar_decode_f16(uint16_t *dst, const uint8_t *src, size_t n, const fp8_format_params *p);
void fp8_scalar_decode_bf16(uint16_t *dst, const uint8_t *src, size_t n, const fp8_format_params *p);
void fp8_scalar_scaled_encode_f32(uint8_t *q, const float *x, size_t n, const float *scale, size_t scale_group,
                                  const fp8_format_params *p, fp8_saturation sat, size_t prefetch_bytes, bool stream,
                                  const fp8_amax_along *along);
void fp8_scalar_scaled_encode_bf16(uint8_t *q, const uint16_t *x, size_t n, const float *scale, size_t scale_group,
                                   const fp8_format_params *p, fp8_saturation sat, size_t prefetch_bytes, bool stream,
                                   const fp8_amax_along *along);
void fp8_scalar_scaled_encode_f32_sr(uint8_t *q, const float *x, size_t n, float scale, const fp8_format_params *p,
                                     fp8_saturation sat, uint64_t seed, uint64_t first_index);
void fp8_scalar_scaled_decode_f32(float *x, const uint8_t *q, size_t n, float scale_inv, const fp8_format_params *p,
                                  bool stream);
void fp8_scalar_amax_f32(const float *x, size_t n, size_t group, uint32_t *amax, bool *nonfinite);
void fp8_scalar_amax_bf16(const uint16_t *x, size_t n, size_t group, uint32_t *amax, bool *nonfinite);
void fp8_scalar_dual_amax_f32(const fp8_dual_tile *t, uint32_t *row_amax, uint32_t *col_amax, bool *nonfinite);
void fp8_scalar_dual_encode_f32(const fp8_dual_tile *t, const float *row_scale, const float *col_scale,
                                const fp8_format_params *p, fp8_saturation sat, bool finite, size_t prefetch_bytes,
                                bool stream);
void fp8_scalar_write_piece(uint8_t *d, const uint8_t *src, size_t n, bool stream, const fp8_row_carry *carry,
                            size_t row);
void fp8_scalar_stream_fence(void);
void fp8_scalar_transpose_u8(uint8_t *dst, size_t ldd, const uint8_t *src, size_t lds, size_t rows, size_t cols);

#if defined(FP8_HAVE_AVX2_KERNELS)
/* The AVX2 kernels that the AVX-512 table falls back on, by name. */
void fp8_avx2_encode_f32_sr(uint8_t *dst, const float *src, size_t n, const fp8_format_params *p,
                            fp8_saturation sat, uint64_t seed, uint64_t offset);
void fp8_avx2_scaled_encode_f32(uint8_t *q, const float *x, size_t n, const float *scale, size_t scale_group,
                                const fp8_format_params *p, fp8_saturation sat, size_t prefetch_bytes, bool stream,
                                const fp8_amax_along *along);
void fp8_avx2_scaled_encode_bf16(uint8_t *q, const uint16_t *x, size_t n, const float *scale, size_t scale_group,
                                 const fp8_format_params *p, fp8_saturation sat, size_t prefetch_bytes, bool stream,
                                 const fp8_amax_along *along);
void fp8_avx2_scaled_encode_f32_sr(uint8_t *q, const float *x, size_t n, float scale, const fp8_format_params *p,
                                   fp8_saturation sat, uint64_t seed, uint64_t first_index);
void fp8_avx2_amax_f32(const float *x, size_t n, size_t group, uint32_t *amax, bool *nonfinite);
void fp8_avx2_amax_bf16(const uint16_t *x, size_t n, size_t group, uint32_t *amax, bool *nonfinite);
void fp8_avx2_stream_fence(void);
void fp8_avx2_transpose_u8(uint8_t *dst, size_t ldd, const uint8_t *src, size_t lds, size_t rows, size_t cols);
/* dual_encode_f32 around an ISA's row encoder, which writes the tile's q rows (streaming as asked)
 * and its column-wise codes to by_col (h rows of w codes, ld apart, 64-byte aligned); this
 * transposes those and writes them to qt. */
typedef void (*fp8_dual_rows_fn)(const fp8_dual_tile *t, uint8_t *by_col, size_t ld, const float *row_scale,
                                 const float *col_scale, const fp8_format_params *p, fp8_saturation sat,
                                 size_t prefetch_bytes, bool stream);
void fp8_avx2_dual_encode_with(const fp8_dual_tile *t, const float *row_scale, const float *col_scale,
                               const fp8_format_params *p, fp8_saturation sat, bool finite, size_t prefetch_bytes,
                               bool stream, fp8_dual_rows_fn encode_rows);
#endif

#endif /* FP8_CPU_KERNELS_H */
