/* libfp8: block-scaled quantization (see fp8/quantize.h).
 *
 * Work is organised by blocks: one read of a block finds its finite amax,
 * the scale follows (quantize/scale.h), and a second read, from cache,
 * encodes it. Blocks go in chunks (four 128x128 blocks of FP32, a whole row
 * of 1x128 tiles): a chunk's amax read rides along the encoding of the chunk
 * before it, so that memory and arithmetic overlap. Blocks are independent,
 * so threads take whole block rows or block columns; a single block (per
 * tensor) is split by rows, with the amax merged by an atomic maximum.
 * Either way the bytes do not depend on the split. Every worker runs under
 * the default FP environment. */
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "fp8/convert.h"
#include "fp8/quantize.h"

#include "core/fpenv.h"
#include "core/internal.h"
#include "core/parallel.h"
#include "core/shape.h"
#include "cpu/kernels.h"
#include "quantize/scale.h"

/* Below this many elements everything runs on the calling thread. */
#define FP8_QUANT_PARALLEL_MIN ((size_t)1 << 18)
/* Quantization works through a block row in chunks of whole blocks, read once for the blocks'
 * amaxes and again, from cache, to encode. A chunk is the fewest blocks whose rows are at least
 * FP8_QUANT_CHUNK_ROW_BYTES long (whole lines, for the prefetchers) and which hold at least the
 * kernels' quant_chunk_min_bytes, but at most FP8_QUANT_CHUNK_BYTES (so that it stays in L2
 * between its two reads) and FP8_QUANT_CHUNK_BLOCKS blocks: with AVX-512, four 128 x 128 blocks
 * of FP32 or a whole row of 1 x 128 tiles. */
#define FP8_QUANT_CHUNK_ROW_BYTES ((size_t)512)
#define FP8_QUANT_CHUNK_BYTES ((size_t)1 << 20)
#define FP8_QUANT_CHUNK_BLOCKS 256
/* With streaming stores, a chunk's output rows that do not start and end on a line (a q less than
 * 64-byte aligned, as malloc gives) are encoded into L1 and written through carries
 * (fp8_row_carry), so that every line still goes out whole: for chunks of up to this many block
 * rows and this many codes per row. */
#define FP8_QUANT_CARRY_ROWS 256
#define FP8_QUANT_STAGE_BYTES 4096
/* While a chunk is encoded, the rows read for the next chunk's amaxes are prefetched this far
 * ahead (in bytes of rows, rounded up to a whole row). */
#define FP8_QUANT_FETCH_AHEAD_BYTES ((size_t)4096)
/* A pass that streams through the whole input prefetches this far ahead. */
#define FP8_STREAM_PREFETCH_ELEMENTS 1024
/* Outputs of this many bytes or more (codes, or dequantized FP32) are written with non-temporal
 * stores where the kernels have them, as memcpy does: they will not be read back before they
 * leave the caches, and a normal store would first read each line it writes. */
#define FP8_QUANT_STREAM_MIN_BYTES ((size_t)8 << 20)

fp8_quant_config fp8_quant_config_init(fp8_format fmt, size_t block_rows, size_t block_cols)
{
    fp8_quant_config c;
    c.format = fmt;
    c.saturation = FP8_SATFINITE;
    c.block_rows = block_rows;
    c.block_cols = block_cols;
    c.scale_mode = (block_rows == 1 && block_cols == 32) ? FP8_SCALE_POW2_OCP_MX : FP8_SCALE_F32;
    c.amax_floor = 1e-12f;
    return c;
}

size_t fp8_scale_count(size_t rows, size_t cols, size_t block_rows, size_t block_cols)
{
    size_t n;
    if (fp8_mul_overflows(fp8_blocks_along(rows, block_rows), fp8_blocks_along(cols, block_cols), &n)) return 0;
    return n;
}

typedef struct quant_job {
    const fp8_cpu_kernels *k;
    const fp8_format_params *p;
    fp8_saturation sat;
    fp8_scale_rule rule;
    size_t rows, cols, br, bc, nbr, nbc; /* br, bc resolved: never 0 */
    const float *xf;                     /* FP32 input, or */
    const uint16_t *xb;                  /* BF16 input */
    size_t ldx;
    uint8_t *q;
    size_t ldq;
    float *scale_inv;
    bool stream; /* q is large: non-temporal stores welcome */
    bool stochastic;
    uint64_t seed, offset;
    float fixed_scale;       /* > 0: use it instead of computing scales (delayed scaling) */
    _Atomic uint32_t amax;   /* per-tensor split: the merged amax */
    atomic_bool nonfinite;
} quant_job;

static void atomic_max_u32(_Atomic uint32_t *target, uint32_t v)
{
    uint32_t cur = atomic_load_explicit(target, memory_order_relaxed);
    while (v > cur && !atomic_compare_exchange_weak_explicit(target, &cur, v, memory_order_relaxed,
                                                             memory_order_relaxed)) {
    }
}

/* amax[b] = max(amax[b], amax of block b's columns) over rows [r0, r1) and columns [c0, c1), c0 a block edge. */
static void rows_amax(const quant_job *j, size_t r0, size_t r1, size_t c0, size_t c1, uint32_t *amax, bool *nonfinite)
{
    for (size_t r = r0; r < r1; r++) {
        if (j->xf)
            j->k->amax_f32(j->xf + r * j->ldx + c0, c1 - c0, j->bc, amax, nonfinite);
        else
            j->k->amax_bf16(j->xb + r * j->ldx + c0, c1 - c0, j->bc, amax, nonfinite);
    }
}

static size_t x_elem_size(const quant_job *j) { return j->xf ? sizeof(float) : sizeof(uint16_t); }

static const void *x_at(const quant_job *j, size_t r, size_t c)
{
    return j->xf ? (const void *)(j->xf + r * j->ldx + c) : (const void *)(j->xb + r * j->ldx + c);
}

/* Whether `bytes` bytes at d do not start and end on a line: streamed, they go through a carry. */
static bool off_lines(const void *d, size_t bytes) { return (((uintptr_t)d | ((uintptr_t)d + bytes)) & 63) != 0; }

/* Where a row's codes go: straight to q, or (stage non-NULL) to stage first and then through
 * row `row` of carry (see FP8_QUANT_CARRY_ROWS). */
typedef struct row_output {
    uint8_t *stage;
    const fp8_row_carry *carry;
    size_t row;
} row_output;

/* Encodes columns [c0, c1) of row r; column c0 + i uses scale[i / j->bc] (c0 is a block edge).
 * While it works it prefetches `prefetch_bytes` ahead of what it reads (the data the caller reads
 * next) and finds the amax of `along` (NULL: none). */
static void encode_row(const quant_job *j, size_t r, size_t c0, size_t c1, const float *scale,
                       size_t prefetch_bytes, const fp8_amax_along *along, const row_output *out)
{
    uint8_t *q = j->q + r * j->ldq + c0;
    const size_t n = c1 - c0;
    const bool staged = out->stage && off_lines(q, n);
    uint8_t *dst = staged ? out->stage : q;
    const bool stream = j->stream && !staged;
    if (j->stochastic) { /* one scale per call: split at block edges; FP32 only */
        if (along) j->k->amax_f32(along->x, along->n, along->group, along->amax, along->nonfinite);
        for (size_t c = c0; c < c1; c += j->bc) {
            const size_t w = c1 - c < j->bc ? c1 - c : j->bc;
            j->k->scaled_encode_f32_sr(dst + (c - c0), j->xf + r * j->ldx + c, w, scale[(c - c0) / j->bc], j->p,
                                       j->sat, j->seed, j->offset + r * j->cols + c);
        }
    } else if (j->xf) {
        j->k->scaled_encode_f32(dst, j->xf + r * j->ldx + c0, n, scale, j->bc, j->p, j->sat, prefetch_bytes, stream,
                                along);
    } else {
        j->k->scaled_encode_bf16(dst, j->xb + r * j->ldx + c0, n, scale, j->bc, j->p, j->sat, prefetch_bytes, stream,
                                 along);
    }
    if (staged) j->k->write_piece(q, dst, n, true, out->carry, out->row);
}

/* A chunk: blocks [b0, b1) of block row bi, which cover rows [r0, r1) and columns [c0, c1). */
typedef struct chunk {
    size_t bi, b0, b1, r0, r1, c0, c1;
} chunk;

/* The blocks [.., bi1) x [bj0, bj1) that one call of quantize_blocks works through, in chunks of
 * per_chunk blocks: along a block row, then the next. */
typedef struct chunk_order {
    size_t bi1, bj0, bj1, per_chunk;
} chunk_order;

static chunk chunk_at(const quant_job *j, const chunk_order *o, size_t bi, size_t b0)
{
    chunk c = {.bi = bi, .b0 = b0, .b1 = b0 + o->per_chunk < o->bj1 ? b0 + o->per_chunk : o->bj1};
    c.r0 = bi * j->br;
    c.r1 = c.r0 + j->br < j->rows ? c.r0 + j->br : j->rows;
    c.c0 = b0 * j->bc;
    c.c1 = c.b1 * j->bc < j->cols ? c.b1 * j->bc : j->cols;
    return c;
}

/* *next = the chunk after c; false after the last. */
static bool chunk_after(const quant_job *j, const chunk_order *o, const chunk *c, chunk *next)
{
    if (c->b1 < o->bj1)
        *next = chunk_at(j, o, c->bi, c->b1);
    else if (c->bi + 1 < o->bi1)
        *next = chunk_at(j, o, c->bi + 1, o->bj0);
    else
        return false;
    return true;
}

/* The row `steps` rows on from chunk t's first, counting through the chunks in order: its chunk
 * in *t and its index in *row; false past the last chunk. */
static bool row_steps_on(const quant_job *j, const chunk_order *o, chunk *t, size_t steps, size_t *row)
{
    while (steps >= t->r1 - t->r0) {
        steps -= t->r1 - t->r0;
        if (!chunk_after(j, o, t, t)) return false;
    }
    *row = t->r0 + steps;
    return true;
}

/* Blocks per chunk (see FP8_QUANT_CHUNK_ROW_BYTES). */
static size_t chunk_blocks(const quant_job *j)
{
    const size_t row_bytes = j->bc * x_elem_size(j), block_bytes = j->br * row_bytes;
    size_t n = (FP8_QUANT_CHUNK_ROW_BYTES + row_bytes - 1) / row_bytes;
    const size_t for_min = (j->k->quant_chunk_min_bytes + block_bytes - 1) / block_bytes;
    if (for_min > n) n = for_min;
    size_t most = FP8_QUANT_CHUNK_BYTES / block_bytes;
    if (most > FP8_QUANT_CHUNK_BLOCKS) most = FP8_QUANT_CHUNK_BLOCKS;
    if (n > most) n = most;
    return n > 0 ? n : 1;
}

/* Encodes chunk c with its blocks' scales. With a next chunk (never taller: only the last block
 * row may be short), each row's encode finds the amax of the next chunk's row of the same index on
 * the way, so that reading it from memory overlaps the encoding (which runs from cache), and
 * prefetches the row read so FP8_QUANT_FETCH_AHEAD_BYTES later. */
static void encode_chunk(const quant_job *j, const chunk_order *o, const chunk *c, const chunk *next,
                         const float *scale, uint32_t *next_amax, bool *nonfinite, row_output out)
{
    const size_t h = c->r1 - c->r0, next_h = next ? next->r1 - next->r0 : 0;
    size_t ahead_rows = 1;
    if (next) {
        const size_t row_bytes = (next->c1 - next->c0) * x_elem_size(j);
        ahead_rows = (FP8_QUANT_FETCH_AHEAD_BYTES + row_bytes - 1) / row_bytes;
    }
    for (size_t i = 0; i < h; i++) {
        const size_t r = c->r0 + i;
        out.row = i;
        if (i >= next_h) {
            encode_row(j, r, c->c0, c->c1, scale, 0, NULL, &out);
            continue;
        }
        const fp8_amax_along along = {.x = x_at(j, next->r0 + i, next->c0), .n = next->c1 - next->c0,
                                      .group = j->bc, .amax = next_amax, .nonfinite = nonfinite};
        chunk t = *next;
        size_t fetch_row, prefetch_bytes = 0;
        if (row_steps_on(j, o, &t, i + ahead_rows, &fetch_row))
            prefetch_bytes = (size_t)((const char *)x_at(j, fetch_row, t.c0) - (const char *)x_at(j, r, c->c0));
        encode_row(j, r, c->c0, c->c1, scale, prefetch_bytes, &along, &out);
    }
}

/* Blocks [bi0, bi1) x [bj0, bj1), a chunk at a time (see FP8_QUANT_CHUNK_BYTES): the first chunk's
 * amaxes from a pass of their own, every later one's while the chunk before it is encoded. */
static void quantize_blocks(quant_job *j, size_t bi0, size_t bi1, size_t bj0, size_t bj1)
{
    uint32_t amax_of[2][FP8_QUANT_CHUNK_BLOCKS];
    float scale[FP8_QUANT_CHUNK_BLOCKS];
    const chunk_order o = {.bi1 = bi1, .bj0 = bj0, .bj1 = bj1, .per_chunk = chunk_blocks(j)};
    uint32_t *amax = amax_of[0], *next_amax = amax_of[1];
    _Alignas(64) uint8_t stage[FP8_QUANT_STAGE_BYTES];
    _Alignas(64) uint8_t carry_lines[FP8_QUANT_CARRY_ROWS * 64];
    const bool carried =
        j->stream && j->br <= FP8_QUANT_CARRY_ROWS && o.per_chunk * j->bc <= FP8_QUANT_STAGE_BYTES;
    fp8_fpenv env;
    fp8_fpenv_enter(&env);
    bool nonfinite = false;
    chunk c = chunk_at(j, &o, bi0, bj0), next;
    memset(amax, 0, (c.b1 - c.b0) * sizeof *amax);
    rows_amax(j, c.r0, c.r1, c.c0, c.c1, amax, &nonfinite);
    for (;;) {
        for (size_t b = c.b0; b < c.b1; b++) {
            const fp8_block_scale s = fp8_block_scale_of(amax[b - c.b0], &j->rule);
            j->scale_inv[c.bi * j->nbc + b] = s.scale_inv;
            scale[b - c.b0] = s.scale;
        }
        const bool more = chunk_after(j, &o, &c, &next);
        if (more) memset(next_amax, 0, (next.b1 - next.b0) * sizeof *next_amax);
        /* a row's first and last pieces in this range share their lines with no one else's carry */
        const fp8_row_carry carry = {carry_lines, c.b0 > bj0, c.b1 < bj1};
        const row_output out = {carried ? stage : NULL, &carry, 0};
        encode_chunk(j, &o, &c, more ? &next : NULL, scale, next_amax, &nonfinite, out);
        if (!more) break;
        c = next;
        uint32_t *done = amax;
        amax = next_amax;
        next_amax = done;
    }
    if (j->stream) j->k->stream_fence();
    if (nonfinite) atomic_store_explicit(&j->nonfinite, true, memory_order_relaxed);
    fp8_fpenv_leave(&env);
}

static void block_rows_range(void *ctx, size_t b, size_t e)
{
    quant_job *j = ctx;
    quantize_blocks(j, b, e, 0, j->nbc);
}

static void block_cols_range(void *ctx, size_t b, size_t e)
{
    quant_job *j = ctx;
    quantize_blocks(j, 0, j->nbr, b, e);
}

/* One block (per tensor), split by rows: amax, then scale, then encode. */
static void amax_rows_range(void *ctx, size_t b, size_t e)
{
    quant_job *j = ctx;
    bool nonfinite = false;
    uint32_t amax = 0;
    rows_amax(j, b, e, 0, j->cols, &amax, &nonfinite); /* one block: bc == cols */
    atomic_max_u32(&j->amax, amax);
    if (nonfinite) atomic_store_explicit(&j->nonfinite, true, memory_order_relaxed);
}

static void encode_rows_range(void *ctx, size_t b, size_t e)
{
    quant_job *j = ctx;
    fp8_fpenv env;
    fp8_fpenv_enter(&env);
    const size_t prefetch_bytes = FP8_STREAM_PREFETCH_ELEMENTS * x_elem_size(j);
    const row_output direct = {NULL, NULL, 0};
    for (size_t r = b; r < e; r++) encode_row(j, r, 0, j->cols, &j->fixed_scale, prefetch_bytes, NULL, &direct);
    if (j->stream) j->k->stream_fence();
    fp8_fpenv_leave(&env);
}

static fp8_status run_job(quant_job *j)
{
    if (j->rows == 0 || j->cols == 0) return FP8_OK;
    const bool large = j->rows * j->cols >= FP8_QUANT_PARALLEL_MIN;
    if (j->fixed_scale > 0.0f || (large && j->nbr == 1 && j->nbc == 1)) {
        fp8_parallel_for(j->rows, 1, large ? 2 : j->rows + 1, amax_rows_range, j);
        if (j->fixed_scale <= 0.0f) {
            fp8_fpenv env;
            fp8_fpenv_enter(&env);
            const fp8_block_scale s = fp8_block_scale_of(atomic_load(&j->amax), &j->rule);
            fp8_fpenv_leave(&env);
            j->scale_inv[0] = s.scale_inv;
            j->fixed_scale = s.scale;
        }
        fp8_parallel_for(j->rows, 1, large ? 2 : j->rows + 1, encode_rows_range, j);
    } else if (j->nbr >= j->nbc) {
        fp8_parallel_for(j->nbr, 1, large ? 2 : j->nbr + 1, block_rows_range, j);
    } else {
        fp8_parallel_for(j->nbc, 1, large ? 2 : j->nbc + 1, block_cols_range, j);
    }
    return atomic_load(&j->nonfinite) ? FP8_ERR_NONFINITE : FP8_OK;
}

/* Checks the arguments and fills the job; x is FP32, or BF16 when bf16 is set. */
static fp8_status setup_job(quant_job *j, const fp8_quant_config *cfg, const void *x, bool bf16, size_t rows,
                            size_t cols, size_t ldx, uint8_t *q, size_t ldq, float *scale_inv)
{
    FP8_FORWARD_IF_ERROR(fp8_quant_args_check(cfg, x, bf16 ? sizeof(uint16_t) : sizeof(float), rows, cols, ldx, q,
                                              ldq, scale_inv));
    memset(j, 0, sizeof *j);
    j->k = fp8_cpu_kernels_active();
    j->p = fp8_format_params_of(cfg->format);
    j->sat = cfg->saturation;
    j->rule = fp8_scale_rule_of(j->p, cfg->scale_mode, cfg->amax_floor);
    j->rows = rows;
    j->cols = cols;
    j->br = cfg->block_rows == 0 || cfg->block_rows > rows ? rows : cfg->block_rows;
    j->bc = cfg->block_cols == 0 || cfg->block_cols > cols ? cols : cfg->block_cols;
    j->nbr = fp8_blocks_along(rows, cfg->block_rows);
    j->nbc = fp8_blocks_along(cols, cfg->block_cols);
    if (bf16)
        j->xb = x;
    else
        j->xf = x;
    j->ldx = ldx;
    j->q = q;
    j->ldq = ldq;
    j->scale_inv = scale_inv;
    j->stream = rows * cols >= FP8_QUANT_STREAM_MIN_BYTES;
    return FP8_OK;
}

fp8_status fp8_quantize_f32(const fp8_quant_config *cfg, const float *x, size_t rows, size_t cols, size_t ldx,
                            uint8_t *q, size_t ldq, float *scale_inv)
{
    quant_job j;
    FP8_FORWARD_IF_ERROR(setup_job(&j, cfg, x, false, rows, cols, ldx, q, ldq, scale_inv));
    return run_job(&j);
}

fp8_status fp8_quantize_bf16(const fp8_quant_config *cfg, const uint16_t *x, size_t rows, size_t cols, size_t ldx,
                             uint8_t *q, size_t ldq, float *scale_inv)
{
    quant_job j;
    FP8_FORWARD_IF_ERROR(setup_job(&j, cfg, x, true, rows, cols, ldx, q, ldq, scale_inv));
    return run_job(&j);
}

fp8_status fp8_quantize_f32_sr(const fp8_quant_config *cfg, const float *x, size_t rows, size_t cols, size_t ldx,
                               uint8_t *q, size_t ldq, float *scale_inv, uint64_t seed, uint64_t offset)
{
    quant_job j;
    FP8_FORWARD_IF_ERROR(setup_job(&j, cfg, x, false, rows, cols, ldx, q, ldq, scale_inv));
    j.stochastic = true;
    j.seed = seed;
    j.offset = offset;
    return run_job(&j);
}

fp8_status fp8_quantize_f32_scaled(const fp8_quant_config *cfg, const float *x, size_t rows, size_t cols, size_t ldx,
                                   float scale, uint8_t *q, size_t ldq, float *amax_out)
{
    FP8_RETURN_IF(cfg == NULL || !(scale > 0.0f && scale <= 3.4e38f) || amax_out == NULL, FP8_ERR_INVALID_ARGUMENT);
    fp8_quant_config per_tensor = *cfg;
    per_tensor.block_rows = per_tensor.block_cols = 0;
    quant_job j;
    float unused_scale_inv;
    FP8_FORWARD_IF_ERROR(setup_job(&j, &per_tensor, x, false, rows, cols, ldx, q, ldq, &unused_scale_inv));
    j.fixed_scale = scale;
    const fp8_status st = run_job(&j);
    *amax_out = fp8_f32_from_bits(atomic_load(&j.amax));
    return st;
}

/* ---- dequantization ---- */

typedef struct dequant_job {
    const fp8_cpu_kernels *k;
    const fp8_format_params *p;
    const uint8_t *q;
    size_t ldq, rows, cols, br, bc, nbc;
    const float *scale_inv;
    float *x;
    size_t ldx;
    bool stream; /* x is large: non-temporal stores welcome */
} dequant_job;

static void dequant_rows_range(void *ctx, size_t r0, size_t r1)
{
    const dequant_job *j = ctx;
    fp8_fpenv env;
    fp8_fpenv_enter(&env);
    for (size_t r = r0; r < r1; r++)
        for (size_t c0 = 0, bj = 0; c0 < j->cols; c0 += j->bc, bj++) {
            const size_t n = j->cols - c0 < j->bc ? j->cols - c0 : j->bc;
            float *x = j->x + r * j->ldx + c0;
            /* Only blocks that start a line stream. Streaming from the first whole line of others,
             * their partial lines, written normally between streamed ones, miss and hold up the
             * stores behind them: 16 bytes off a line that ran 0.61-0.75x of memcpy against
             * 0.69-0.77x with normal stores throughout, and 0.61-0.69x through carries (the
             * staging costs more than it saves at 4 bytes per element). */
            j->k->scaled_decode_f32(x, j->q + r * j->ldq + c0, n, j->scale_inv[(r / j->br) * j->nbc + bj], j->p,
                                    j->stream && ((uintptr_t)x & 63) == 0);
        }
    if (j->stream) j->k->stream_fence();
    fp8_fpenv_leave(&env);
}

fp8_status fp8_dequantize_f32(const fp8_quant_config *cfg, const uint8_t *q, size_t rows, size_t cols, size_t ldq,
                              const float *scale_inv, float *x, size_t ldx)
{
    FP8_FORWARD_IF_ERROR(fp8_quant_args_check(cfg, x, sizeof *x, rows, cols, ldx, q, ldq, scale_inv));
    if (rows == 0 || cols == 0) return FP8_OK;
    dequant_job j = {
        .k = fp8_cpu_kernels_active(), .p = fp8_format_params_of(cfg->format), .q = q, .ldq = ldq,
        .rows = rows, .cols = cols,
        .br = cfg->block_rows == 0 || cfg->block_rows > rows ? rows : cfg->block_rows,
        .bc = cfg->block_cols == 0 || cfg->block_cols > cols ? cols : cfg->block_cols,
        .nbc = fp8_blocks_along(cols, cfg->block_cols), .scale_inv = scale_inv, .x = x, .ldx = ldx,
        .stream = rows * cols * sizeof *x >= FP8_QUANT_STREAM_MIN_BYTES,
    };
    fp8_parallel_for(rows, 1, rows * cols >= FP8_QUANT_PARALLEL_MIN ? 2 : rows + 1, dequant_rows_range, &j);
    return FP8_OK;
}

/* ---- the fused dual-orientation pass ----
 * Per strip of bc rows and tile of bc columns (a bc x bc sub-block, in cache):
 *   1. one read finds each row's amax and each column's amax;
 *   2. from one more load of each element, the kernel encodes it with its row's
 *      scale into q and with its column's scale into qt (through a transpose in
 *      L1, so that qt's rows are written whole). */
typedef struct dual_job {
    quant_job base;
    uint8_t *qt;
    size_t ldqt, nstrips; /* strips of bc rows: also the block count along qt's rows */
    float *scale_inv_t;
} dual_job;

static void dual_strips_range(void *ctx, size_t s0, size_t s1)
{
    dual_job *d = ctx;
    const quant_job *j = &d->base;
    const size_t bc = j->bc;
    uint32_t col_amax[FP8_DUAL_MAX_TILE], row_amax[FP8_DUAL_MAX_TILE];
    float col_scale[FP8_DUAL_MAX_TILE], row_scale[FP8_DUAL_MAX_TILE];
    /* Streaming: q's rows go on from tile to tile within a strip, qt's rows from strip to strip
     * (fp8_row_carry), when tiles are at least a line wide. Without memory for qt's carries, the
     * lines its rows share between strips are written with normal stores. */
    const bool carry = j->stream && bc >= 64;
    _Alignas(64) uint8_t q_lines[FP8_DUAL_MAX_TILE * 64];
    uint8_t *qt_lines = carry && s1 - s0 > 1 && j->cols <= SIZE_MAX / 64 ? malloc(j->cols * 64) : NULL;
    fp8_fpenv env;
    fp8_fpenv_enter(&env);
    bool any_nonfinite = false;
    for (size_t s = s0; s < s1; s++) {
        const size_t r0 = s * bc, h = j->rows - r0 < bc ? j->rows - r0 : bc;
        for (size_t bj = 0; bj < j->nbc; bj++) {
            const size_t c0 = bj * bc, w = j->cols - c0 < bc ? j->cols - c0 : bc;
            const fp8_dual_tile t = {.x = j->xf + r0 * j->ldx + c0, .ldx = j->ldx, .h = h, .w = w,
                                     .q = j->q + r0 * j->ldq + c0, .ldq = j->ldq,
                                     .qt = d->qt + c0 * d->ldqt + r0, .ldqt = d->ldqt,
                                     .q_carry = {q_lines, carry && bj > 0, carry && bj + 1 < j->nbc},
                                     .qt_carry = {qt_lines ? qt_lines + 64 * c0 : NULL, qt_lines && s > s0,
                                                  qt_lines && s + 1 < s1}};
            bool nonfinite = false;
            j->k->dual_amax_f32(&t, row_amax, col_amax, &nonfinite);
            for (size_t c = 0; c < w; c++) {
                const fp8_block_scale cs = fp8_block_scale_of(col_amax[c], &j->rule);
                col_scale[c] = cs.scale;
                d->scale_inv_t[(c0 + c) * d->nstrips + s] = cs.scale_inv;
            }
            for (size_t r = 0; r < h; r++) {
                const fp8_block_scale rs = fp8_block_scale_of(row_amax[r], &j->rule);
                row_scale[r] = rs.scale;
                j->scale_inv[(r0 + r) * j->nbc + bj] = rs.scale_inv;
            }
            /* while encoding, fetch the next tile: to the right, or the start of the next strip */
            const size_t ahead = bj + 1 < j->nbc ? w : bc * j->ldx - c0;
            j->k->dual_encode_f32(&t, row_scale, col_scale, j->p, j->sat, !nonfinite, ahead * sizeof(float),
                                  j->stream);
            any_nonfinite |= nonfinite;
        }
    }
    free(qt_lines);
    if (any_nonfinite) atomic_store_explicit(&d->base.nonfinite, true, memory_order_relaxed);
    fp8_fpenv_leave(&env);
}

fp8_status fp8_quantize_dual_f32(const fp8_quant_config *cfg, const float *x, size_t rows, size_t cols, size_t ldx,
                                 uint8_t *q, size_t ldq, float *scale_inv, uint8_t *qt, size_t ldqt,
                                 float *scale_inv_t)
{
    dual_job d;
    FP8_FORWARD_IF_ERROR(setup_job(&d.base, cfg, x, false, rows, cols, ldx, q, ldq, scale_inv));
    FP8_RETURN_IF(cfg->block_rows != 1 || cfg->block_cols == 0, FP8_ERR_INVALID_ARGUMENT);
    FP8_RETURN_IF(cfg->block_cols > FP8_DUAL_MAX_TILE, FP8_ERR_UNSUPPORTED);
    FP8_RETURN_IF(!fp8_matrix_valid(qt, cols, rows, ldqt, 1), FP8_ERR_INVALID_ARGUMENT);
    FP8_RETURN_IF(rows > 0 && cols > 0 && scale_inv_t == NULL, FP8_ERR_INVALID_ARGUMENT);
    if (rows == 0 || cols == 0) return FP8_OK;
    d.base.bc = cfg->block_cols; /* the tile edge in both directions, also when wider than the matrix */
    d.qt = qt;
    d.ldqt = ldqt;
    d.nstrips = fp8_blocks_along(rows, cfg->block_cols);
    d.scale_inv_t = scale_inv_t;
    fp8_parallel_for(d.nstrips, 1, rows * cols >= FP8_QUANT_PARALLEL_MIN ? 2 : d.nstrips + 1, dual_strips_range, &d);
    return atomic_load(&d.base.nonfinite) ? FP8_ERR_NONFINITE : FP8_OK;
}

/* ---- MX scale storage ---- */

fp8_status fp8_scales_to_e8m0(uint8_t *e8m0, const float *scale_inv, size_t n)
{
    FP8_RETURN_IF(n > 0 && (e8m0 == NULL || scale_inv == NULL), FP8_ERR_INVALID_ARGUMENT);
    /* powers of two 2^-126 .. 2^127 are normals with a zero mantissa; 2^-127 is the subnormal 0x00400000 */
    for (size_t i = 0; i < n; i++) {
        const uint32_t b = fp8_f32_bits(scale_inv[i]);
        const bool normal_pow2 = (b & 0x807FFFFFu) == 0 && b >= 0x00800000u && b < 0x7F800000u;
        FP8_RETURN_IF(!normal_pow2 && b != 0x00400000u, FP8_ERR_INVALID_ARGUMENT);
    }
    for (size_t i = 0; i < n; i++) e8m0[i] = fp8_e8m0_from_f32(scale_inv[i], FP8_E8M0_ROUND_ZERO);
    return FP8_OK;
}

fp8_status fp8_scales_from_e8m0(float *scale_inv, const uint8_t *e8m0, size_t n)
{
    FP8_RETURN_IF(n > 0 && (e8m0 == NULL || scale_inv == NULL), FP8_ERR_INVALID_ARGUMENT);
    bool nan = false;
    for (size_t i = 0; i < n; i++) {
        scale_inv[i] = fp8_e8m0_to_f32(e8m0[i]);
        nan |= e8m0[i] == 0xFF;
    }
    return nan ? FP8_ERR_NONFINITE : FP8_OK;
}

/* ---- delayed scaling ---- */

fp8_status fp8_amax_history_init(fp8_amax_history *h, float *buffer, size_t length, fp8_format fmt,
                                 fp8_amax_compute algo, float margin)
{
    FP8_RETURN_IF(h == NULL || buffer == NULL || length == 0 || !fp8_format_valid(fmt), FP8_ERR_INVALID_ARGUMENT);
    FP8_RETURN_IF((unsigned)algo > (unsigned)FP8_AMAX_MOST_RECENT || !(margin > -128.0f && margin < 128.0f),
                  FP8_ERR_INVALID_ARGUMENT);
    memset(buffer, 0, length * sizeof *buffer);
    *h = (fp8_amax_history){.amax = buffer, .length = length, .format = fmt, .algo = algo, .margin = margin,
                            .scale = 1.0f, .scale_inv = 1.0f};
    return FP8_OK;
}

fp8_status fp8_amax_history_record(fp8_amax_history *h, float amax)
{
    FP8_RETURN_IF(h == NULL || h->amax == NULL || h->length == 0, FP8_ERR_INVALID_ARGUMENT);
    if (!isnan(h->amax[0]) && !(amax <= h->amax[0])) h->amax[0] = amax; /* a NaN, once in, stays */
    return FP8_OK;
}

fp8_status fp8_amax_history_update(fp8_amax_history *h)
{
    FP8_RETURN_IF(h == NULL || h->amax == NULL || h->length == 0 || !fp8_format_valid(h->format),
                  FP8_ERR_INVALID_ARGUMENT);
    fp8_fpenv env;
    fp8_fpenv_enter(&env);
    const float latest = h->amax[0];
    float amax = latest;
    if (h->algo == FP8_AMAX_MAX)
        for (size_t i = 1; i < h->length; i++)
            if (!isnan(amax) && !(h->amax[i] <= amax)) amax = h->amax[i]; /* a NaN wins, unlike fmaxf */
    /* roll: the current slot moves to the end, the others shift forward, the slot clears */
    memmove(h->amax, h->amax + 1, (h->length - 1) * sizeof *h->amax);
    h->amax[h->length - 1] = latest;
    h->amax[0] = 0.0f;
    const fp8_format_params *p = fp8_format_params_of(h->format);
    const float fmax = fp8_f32_from_bits(fp8_decode_f32_bits((uint8_t)p->max_code, p));
    const bool good = isfinite(amax) && amax > 0.0f;
    if (good) {
        h->scale = fmax * exp2f(-h->margin) / amax;
        h->scale_inv = 1.0f / h->scale;
    }
    fp8_fpenv_leave(&env);
    return isfinite(amax) ? FP8_OK : FP8_ERR_NONFINITE;
}
